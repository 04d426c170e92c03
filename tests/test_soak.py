"""Soak: a million channel operations, spawns and selects leave memory and reference counts where
they were; a million blocked goroutines can be created and released again.

Memory is read from /proc/self/status (VmRSS, VmHWM). Each soak first runs a warm-up round (so
free lists, the sudog cache and the allocator's arenas reach their working size), then the
measured rounds; RSS after them may exceed RSS after the warm-up by at most RSS_SLACK, far below
what one leaked object per operation would cost (a million leaked 16-byte objects is 16 MB, a
million leaked greenlets gigabytes). ``sys.getrefcount`` of every object passed through the
channels, of the channels, the case objects and the goroutine functions must be exactly what it
was before the measured rounds.

The C twin does 1,000,000 operations, the Python twin 200,000 (it is several times slower). The
million blocked goroutines run on the C twin in a subprocess (its memory is its own); CI runs
200,000 of them, twice; the million (about 90 s and 7 GiB) is marked slow and runs only when
selected: ``pytest -m slow tests/test_soak.py`` or CHANEMU_SLOW=1.
"""
import gc
import json
import os
import subprocess
import sys
import textwrap

import pytest

RSS_SLACK = 8 * 1024 * 1024      # bytes
OPS = {"c": 1_000_000, "python": 200_000}
# Under AddressSanitizer (.ci/asan) freed memory sits in a quarantine, so RSS says nothing about
# leaks: the reference counts are still checked, RSS is not, and the big subprocess is skipped.
SANITIZED = bool(os.environ.get("CHANEMU_SANITIZER"))


def rss():
    """Resident set size in bytes (VmRSS), or None where /proc is missing or meaningless."""
    if SANITIZED:
        return None
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


class Payload:
    """An object passed through the channels: its refcount must come back to where it was."""


def soak_round(ce, n_ops, payload, fns, extra):
    """About n_ops channel operations (each send, receive, select, close, spawn counts one) of
    every kind: buffered and unbuffered hand-offs, selects that pick, block and default,
    spawns, closes with parked receivers and senders, panics. Returns the count."""
    ops = 0
    c0, c1, c3 = extra["c0"], extra["c1"], extra["c3"]
    cases_r = extra["cases_r"]
    sink = extra["sink"]
    echo, closer_victim = fns
    while ops < n_ops:
        # unbuffered ping-pong with a goroutine: spawn + 2 sends + 2 receives
        ce.go(echo, c0, payload)
        c0.send(payload)
        assert c0.recv() is payload
        ops += 5
        # buffered: fill and drain, wrapping the ring
        for _ in range(3):
            c3.send(payload)
        for _ in range(3):
            c3.recv()
        ops += 6
        # non-blocking operations
        c1.try_send(payload)
        c1.try_send(payload)          # full: fails
        c1.try_recv()
        c1.try_recv()                 # empty: fails
        ops += 4
        # selects: one ready case among three, then a default
        c1.send(payload)
        k, v, ok = ce.select(*cases_r)
        assert v is payload and ok
        k, _, _ = ce.select(*cases_r, default=True)
        assert k == -1
        ops += 3
        # a select that blocks and is woken by a goroutine
        ce.go(lambda: c3.send(payload))
        k, v, _ = ce.select(*cases_r)
        assert v is payload
        ops += 3
        # close with a parked receiver and a parked sender (which panics, recovered)
        dead = ce.Chan()
        ce.go(closer_victim, dead, payload, sink)
        ce.go(dead.recv_ok)
        ce.runtime.gosched()
        dead.close()
        ce.runtime.gosched()
        ops += 6
    return ops


def _echo(c, payload):
    assert c.recv() is payload
    c.send(payload)


def _closer_victim_factory(ce):
    def victim(dead, payload, sink):
        try:
            dead.send(payload)
        except ce.Panic:
            sink.append(1)
            sink.clear()
    return victim


def test_soak_operations_keep_memory_and_refcounts_flat(ce):
    n_ops = OPS[ce.IMPL]
    payload = Payload()
    result = {}

    def main():
        extra = {"c0": ce.Chan(), "c1": ce.Chan(1), "c3": ce.Chan(3), "sink": []}
        extra["cases_r"] = (ce.recv(extra["c0"]), ce.recv(extra["c1"]), ce.recv(extra["c3"]))
        fns = (_echo, _closer_victim_factory(ce))
        soak_round(ce, n_ops // 10, payload, fns, extra)          # warm-up
        gc.collect()
        watched = [payload, fns[0], fns[1], *extra["cases_r"], extra["c0"], extra["c1"],
                   extra["c3"]]
        refs = [sys.getrefcount(o) for o in watched]
        before = rss()
        done = soak_round(ce, n_ops, payload, fns, extra)
        gc.collect()
        after = rss()
        result.update(done=done, before=before, after=after, n=ce.runtime.num_goroutine(),
                      refs=refs, refs_after=[sys.getrefcount(o) for o in watched],
                      mem=ce.runtime.memstats())
        ce.runtime.check_invariants()

    ce.run(main)
    if result["before"] is not None:
        print(f"\n{ce.IMPL}: {result['done']} operations; RSS {result['before'] / 2**20:.1f} MiB "
              f"-> {result['after'] / 2**20:.1f} MiB")
    assert result["done"] >= n_ops
    assert result["refs_after"] == result["refs"], "a reference leaked"
    assert result["n"] == 1, "goroutines left behind"
    assert result["mem"]["sudogs_in_use"] == 0
    if result["before"] is not None:
        assert result["after"] - result["before"] <= RSS_SLACK, (
            f"RSS grew by {(result['after'] - result['before']) / 2**20:.1f} MiB over "
            f"{result['done']} operations")


def test_soak_programs_keep_memory_flat(ce):
    """Many short programs, each with parked goroutines discarded at its end: the runtimes,
    their goroutines and their channels are freed."""
    n = 20_000 if ce.IMPL == "c" else 5_000
    payload = Payload()

    def prog():
        c = ce.Chan()
        for _ in range(3):
            ce.go(c.send, payload)       # parked senders, discarded when prog returns
        ce.go(c.recv)
        ce.runtime.gosched()
        return c.recv() is payload

    for _ in range(n // 10):
        assert ce.run(prog)
    gc.collect()
    refs = sys.getrefcount(payload)
    before = rss()
    for _ in range(n):
        assert ce.run(prog)
    gc.collect()
    after = rss()
    assert sys.getrefcount(payload) == refs
    if before is not None:
        assert after - before <= RSS_SLACK, f"RSS grew by {(after - before) / 2**20:.1f} MiB"


# -- a million blocked goroutines ---------------------------------------------------------------
BLOCKED = textwrap.dedent("""
    import gc, json, sys, time
    import chanemu

    def status():
        out = {}
        with open("/proc/self/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM"):
                    out[k] = int(v.split()[0]) * 1024
        return out

    n, rounds = int(sys.argv[1]), int(sys.argv[2])
    report = {"n": n, "start": status(), "rounds": []}

    def main(rep):
        c = chanemu.Chan()
        done = chanemu.Chan(n)

        def worker():
            done.send(c.recv_ok()[1])

        t0 = time.perf_counter()
        for _ in range(n):
            chanemu.go(worker)
        chanemu.runtime.gosched()
        t1 = time.perf_counter()
        rep["parked"] = chanemu.runtime.num_goroutine() - 1
        rep["recvq"] = len(c.hchan.recvq)
        rep["create_s"] = t1 - t0
        rep["blocked"] = status()
        c.close()
        chanemu.runtime.gosched()
        t2 = time.perf_counter()
        rep["release_s"] = t2 - t1
        rep["left"] = chanemu.runtime.num_goroutine() - 1
        rep["done"] = len(done)
        rep["released"] = status()

    for _ in range(rounds):
        rep = {}
        chanemu.run(main, rep)
        gc.collect()
        rep["end"] = status()
        report["rounds"].append(rep)
    print(json.dumps(report))
""")


def blocked_goroutines(n, rounds):
    """n goroutines parked on one channel and released by its close, `rounds` times in one
    process: each round must free what the one before it used (RSS flat from round to round;
    the allocator keeps some of the first round's memory, which later rounds reuse)."""
    env = dict(os.environ, CHANEMU_IMPL="c")
    r = subprocess.run([sys.executable, "-c", BLOCKED, str(n), str(rounds)], env=env,
                       capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stderr[-3000:]
    rep = json.loads(r.stdout.strip().splitlines()[-1])
    for i, rd in enumerate(rep["rounds"]):
        assert rd["parked"] == n and rd["recvq"] == n
        assert rd["left"] == 0 and rd["done"] == n
        print(f"\n{n} blocked goroutines, round {i + 1}: created and parked in "
              f"{rd['create_s']:.1f} s, released in {rd['release_s']:.1f} s; peak RSS "
              f"{rd['released']['VmHWM'] / 2**20:.0f} MiB, RSS blocked "
              f"{rd['blocked']['VmRSS'] / 2**20:.0f} MiB, after release "
              f"{rd['released']['VmRSS'] / 2**20:.0f} MiB, after the program "
              f"{rd['end']['VmRSS'] / 2**20:.0f} MiB")
        assert rd["released"]["VmRSS"] < rd["blocked"]["VmRSS"]
    first, last = rep["rounds"][0], rep["rounds"][-1]
    assert last["end"]["VmRSS"] - first["end"]["VmRSS"] <= 64 * 2**20, "memory grows per round"
    assert last["end"]["VmHWM"] - first["end"]["VmHWM"] <= 64 * 2**20, "peak grows per round"
    return rep


def _skip_unless_release_c(ce):
    if ce.IMPL != "c":
        pytest.skip("the C twin's scale: one subprocess, run once")
    if getattr(ce._impl, "DEBUG", False):
        # the debug build checks every invariant after every operation, over every parked
        # goroutine: quadratic here (200,000 take six minutes)
        pytest.skip("the debug build's invariant checks are O(parked goroutines) per operation")


@pytest.mark.skipif(SANITIZED, reason="memory figures mean nothing under a sanitizer")
def test_200k_blocked_goroutines(ce):
    _skip_unless_release_c(ce)
    blocked_goroutines(200_000, rounds=2)


@pytest.mark.slow
def test_1m_blocked_goroutines(ce, request):
    """About 90 s and 7 GiB: run with ``pytest -m slow`` (or CHANEMU_SLOW=1)."""
    if "slow" not in (request.config.option.markexpr or "") and not os.environ.get("CHANEMU_SLOW"):
        pytest.skip("slow: select it with -m slow or CHANEMU_SLOW=1")
    _skip_unless_release_c(ce)
    blocked_goroutines(1_000_000, rounds=2)
