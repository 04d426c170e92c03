"""Soak of the end of programs: many programs that each end with many parked goroutines (some
whose cleanup would raise or block, some ended while a Ctrl-C arrives), and threads that end with
goroutines parked in their default runtime. Live greenlets, gc-tracked objects and RSS stay flat.

CI runs a small version (about ten seconds); the issue's figures (1,000 programs x 1,000 parked
goroutines, 100 threads) run with ``pytest -m slow tests/test_exit_soak.py``.
"""
import gc
import os
import signal
import threading

import greenlet
import pytest

from test_soak import RSS_SLACK, rss

GC_SLACK = 2_000         # gc-tracked objects: caches and interned strings may settle a little
# greenlet frees the main greenlet of an ended thread lazily, from its own queue: the last one or
# two may still be there (dead, "thread exited"); a leak would be thousands.
GREENLET_SLACK = 2


class _Interrupt:
    """Raises SIGINT when freed, that is while its goroutine is discarded: Ctrl-C during the end."""

    def __del__(self):
        signal.raise_signal(signal.SIGINT)


def census():
    gc.collect()
    objs = gc.get_objects()
    live = sum(1 for o in objs if isinstance(o, greenlet.greenlet))
    return live, len(objs), rss()


def parked_program(ce, n, interrupt):
    """main starts n goroutines that park with cleanup pending, then returns."""
    def main():
        c, d = ce.Chan(), ce.Chan()

        def raiser(payload):
            try:
                c.recv()
            finally:
                raise RuntimeError("cleanup raises")

        def blocker(payload):
            try:
                d.send(payload)
            finally:
                ce.Chan().recv()        # cleanup that would block

        for i in range(n):
            ce.go(raiser if i % 2 else blocker, [i])
        if interrupt:
            ce.go(raiser, _Interrupt())
        ce.runtime.gosched()
        assert ce.runtime.num_goroutine() == n + 1 + interrupt
    return main


def run_programs(ce, programs, per, sigint_every):
    interrupted = 0
    for k in range(programs):
        interrupt = sigint_every and threading.current_thread() is threading.main_thread() \
            and k % sigint_every == sigint_every - 1
        try:
            ce.run(parked_program(ce, per, bool(interrupt)))
        except KeyboardInterrupt:
            interrupted += 1
    return interrupted


def run_threads(ce, threads, per):
    failures = []

    def body():
        try:
            c = ce.Chan()
            for _ in range(per):
                ce.go(c.recv)
            ce.runtime.gosched()
            if ce.runtime.num_goroutine() != per + 1:
                failures.append(ce.runtime.num_goroutine())
        except BaseException as e:     # reported below
            failures.append(e)

    for _ in range(threads):
        t = threading.Thread(target=body)
        t.start()
        t.join()
    assert failures == []


def soak(ce, programs, per, sigint_every, threads, per_thread):
    run_programs(ce, 3, per, sigint_every and 3)        # warm-up: free lists, arenas, caches
    run_threads(ce, 2, per_thread)
    before = census()
    interrupted = run_programs(ce, programs, per, sigint_every)
    run_threads(ce, threads, per_thread)
    after = census()
    return before, after, interrupted


def check_flat(before, after):
    (g0, o0, r0), (g1, o1, r1) = before, after
    assert g1 <= g0 + GREENLET_SLACK, f"live greenlets {g0} -> {g1}"
    assert o1 <= o0 + GC_SLACK, f"gc objects {o0} -> {o1}"
    if r0 is not None and r1 is not None:
        assert r1 <= r0 + RSS_SLACK, f"RSS {r0 >> 20} MB -> {r1 >> 20} MB"


def test_end_soak_ci(ce):
    before, after, interrupted = soak(ce, programs=40, per=200, sigint_every=8,
                                      threads=10, per_thread=200)
    if threading.current_thread() is threading.main_thread():
        assert interrupted == 5
    check_flat(before, after)


@pytest.mark.slow
def test_end_soak_full(ce, capsys, request):
    """Several minutes: run with ``pytest -m slow`` (or CHANEMU_SLOW=1)."""
    if "slow" not in (request.config.option.markexpr or "") and not os.environ.get("CHANEMU_SLOW"):
        pytest.skip("slow: select it with -m slow or CHANEMU_SLOW=1")
    before, after, interrupted = soak(ce, programs=1000, per=1000, sigint_every=50,
                                      threads=100, per_thread=1000)
    with capsys.disabled():
        print(f"\n[{ce.IMPL}] 1,000 programs x 1,000 parked, {interrupted} interrupted, "
              f"100 threads x 1,000 parked: greenlets {before[0]} -> {after[0]}, "
              f"gc objects {before[1]} -> {after[1]}, "
              f"RSS {before[2] and before[2] >> 20} MB -> {after[2] and after[2] >> 20} MB")
    check_flat(before, after)
