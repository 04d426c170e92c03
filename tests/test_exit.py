"""How a program ends: as Go's process exits, no code of another goroutine runs once main has
returned, a deadlock was found or a goroutine crashed (chanemu/_lifecycle.py). Each test is one
symptom of a program whose end ran discarded goroutines' code, on both twins."""
import contextlib
import gc
import signal
import sys
import threading
import time as _time

import greenlet
import pytest

import chanemu.sync
import chanemu.time

from conftest import wait_parked


def live_greenlets():
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, greenlet.greenlet))


def park_n(ce, n, out, body=None):
    """Start n goroutines parked in c.recv() inside try/finally (and a with block); returns c."""
    c = ce.Chan()

    class CM:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            out.append("exit")

    def worker(i):
        try:
            with CM():
                c.recv()
            out.append(f"after {i}")
        except BaseException:
            out.append(f"except {i}")
            raise
        finally:
            out.append(f"finally {i}")
            if body is not None:
                body(i)

    gs = [ce.go(worker, i) for i in range(n)]
    for g in gs:
        wait_parked(ce, g)
    return c


def test_main_returns_no_cleanup_runs(ce):
    out = []

    def main():
        park_n(ce, 3, out)
        out.append("main ends")

    ce.run(main)
    assert out == ["main ends"]


def test_deadlock_no_cleanup_runs(ce):
    out = []

    def main():
        c = park_n(ce, 3, out)
        try:
            c.recv()
        finally:
            out.append("main finally")

    with pytest.raises(ce.Deadlock):
        ce.run(main)
    assert out == []


def test_cond_wait_with_unlock_in_finally_exits_cleanly(ce):
    out = []

    def waiter(mu, cond):
        mu.lock()
        try:
            cond.wait()
            out.append("woken")
        finally:
            mu.unlock()

    def main():
        mu = ce.sync.Mutex()
        cond = ce.sync.Cond(mu)
        g = ce.go(waiter, mu, cond)
        wait_parked(ce, g)
        out.append("main ends")

    ce.run(main)
    assert out == ["main ends"]

    def main_deadlock():
        mu = ce.sync.Mutex()
        cond = ce.sync.Cond(mu)
        ce.go(waiter, mu, cond)
        ce.Chan().recv()

    with pytest.raises(ce.Deadlock):       # not FatalError("sync: unlock of unlocked mutex")
        ce.run(main_deadlock)


def test_waitgroup_done_in_finally_does_not_panic(ce):
    def main():
        wg = ce.sync.WaitGroup()
        c = ce.Chan()

        def worker():
            try:
                c.recv()
            finally:
                wg.done()

        for _ in range(3):
            wg.add(1)
            ce.go(worker)
        ce.runtime.gosched()
        return "done"

    assert ce.run(main) == "done"


def test_panic_runs_only_the_panicking_goroutines_cleanup(ce):
    out = []

    def main():
        park_n(ce, 2, out)

        def crasher():
            try:
                raise ce.Panic("boom")
            finally:
                out.append("crasher finally")

        ce.go(crasher)
        try:
            ce.Chan().recv()
        finally:
            out.append("main finally")

    with pytest.raises(ce.Panic, match="boom"):
        ce.run(main)
    assert out == ["crasher finally"]


def test_no_resume_and_no_wait_for_timers(ce):
    """A goroutine's cleanup would wake another and sleep: neither happens, and the end does not
    wait for the timer in real time."""
    out = []

    def main():
        c = ce.Chan()

        def woken():
            c.recv()
            out.append("resumed after main returned")

        def sleeper():
            try:
                c.recv()
            finally:
                c.send(1)
                ce.time.sleep(5)
                out.append("slept")

        for f in (woken, sleeper):
            wait_parked(ce, ce.go(f))
        c2 = ce.Chan()
        ce.time.after_func(0.001, lambda: None)
        return c2

    t0 = _time.monotonic()
    ce.run(main)
    assert _time.monotonic() - t0 < 2
    assert out == []


def test_cleanup_that_raises_leaks_nothing(ce):
    def boom(i):
        raise RuntimeError(f"cleanup {i}")

    base = live_greenlets()
    for _ in range(3):
        out = []
        ce.run(lambda: park_n(ce, 200, out, boom))
        assert out == []
    assert live_greenlets() <= base + 2


class _Interrupt:
    """Raises SIGINT when freed: a Ctrl-C arriving while the program ends."""

    def __del__(self):
        signal.raise_signal(signal.SIGINT)


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                    reason="SIGINT is handled on the main thread")
def test_ctrl_c_during_the_end_leaks_nothing(ce):
    base = live_greenlets()
    out = []

    def main():
        c = ce.Chan()

        def holder(x):
            try:
                c.recv()
            finally:
                out.append("finally")

        ce.go(holder, _Interrupt())
        for _ in range(100):
            ce.go(holder, None)
        ce.runtime.gosched()

    with pytest.raises(KeyboardInterrupt):
        ce.run(main)
    assert out == []
    assert live_greenlets() <= base + 2
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def runtimes_alive(ce):
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, ce._impl.Runtime))


def test_thread_end_gives_goroutines_back(ce):
    out = []
    errors = []

    def thread_body():
        try:
            park_n(ce, 50, out)
        except BaseException as e:   # pragma: no cover - reported below
            errors.append(e)

    def one_thread():
        t = threading.Thread(target=thread_body)
        t.start()
        t.join()

    one_thread()
    base_g, base_rt = live_greenlets(), runtimes_alive(ce)
    for _ in range(10):
        one_thread()
    assert errors == []
    assert out == []
    assert live_greenlets() <= base_g + 2
    assert runtimes_alive(ce) <= base_rt + 1


def test_discard_skips_every_kind_of_handler(ce):
    out = []

    class Owned:
        def __del__(self):
            try:
                out.append("del")     # an object's own finalizer runs, with its handlers
            finally:
                out.append("del finally")

    def gen(c):
        try:
            yield c.recv()
        finally:
            out.append("gen finally")

    def deep(c, n):
        try:
            return deep(c, n - 1) if n else c.recv()
        finally:
            out.append("deep finally")

    def main():
        c = ce.Chan()
        shapes = [
            lambda: list(gen(c)),
            lambda: list(map(lambda _: c.recv(), [1])),
            lambda: sorted([1, 2], key=lambda _: c.recv()),
            lambda: deep(c, 50),
        ]
        for f in shapes:
            def body(f=f, o=Owned()):
                try:
                    f()
                except Exception:
                    out.append("except")
                finally:
                    out.append("finally")
            wait_parked(ce, ce.go(body))

    ce.run(main)
    gc.collect()
    assert out == ["del", "del finally"] * 4


def test_trace_function_is_kept(ce):
    seen = []

    def tracer(frame, event, arg):
        return None

    old = sys.gettrace()
    sys.settrace(tracer)
    try:
        ce.run(lambda: park_n(ce, 2, seen))
        assert sys.gettrace() is tracer
    finally:
        sys.settrace(old)
    assert seen == []


def test_at_exit_unwind_runs_cleanup_harmlessly(ce):
    out = []

    def cleanup(i):
        out.append(f"cleanup {i}")
        if i == 0:
            ce.Chan().recv()        # a runtime call from a discarded goroutine raises at once
        if i == 1:
            raise ValueError("does not come out of run()")

    def main():
        park_n(ce, 3, out, cleanup)
        return "main"

    assert ce.run(main, at_exit="unwind") == "main"
    assert sorted(x for x in out if x.startswith("finally")) == ["finally 0", "finally 1",
                                                                  "finally 2"]
    assert "cleanup 2" in out and not any(x.startswith("after") for x in out)


def test_at_exit_is_validated(ce):
    with pytest.raises(ValueError, match="at_exit"):
        ce.run(lambda: None, at_exit="go")


def test_runtime_calls_after_the_end_raise(ce):
    """A handle kept past the end: the runtime is dead, its goroutines gone."""
    def main():
        g = ce.go(lambda: ce.Chan().recv())
        wait_parked(ce, g)
        return g, ce._impl.current_runtime()

    g, rt = ce.run(main)
    assert rt.dead and g.status == "dead" and rt.num_goroutine() == 0


def test_without_a_discard_trap_the_end_unwinds_harmlessly(ce, monkeypatch):
    """Where the interpreter offers no way to discard frames (CPython 3.11 without chanemu._core),
    the end unwinds: cleanup runs, but its runtime calls fail at once and nothing it raises comes
    out of run()."""
    from chanemu import _lifecycle
    monkeypatch.setattr(_lifecycle, "_new_trap", False)
    assert not _lifecycle.can_discard()
    out = []

    def cleanup(i):
        ce.Chan().recv()

    def main():
        park_n(ce, 3, out, cleanup)
        return "main"

    assert ce.run(main) == "main"
    assert sorted(x for x in out if x.startswith("finally")) == ["finally 0", "finally 1",
                                                                  "finally 2"]


def test_runtime_count_flat_after_threads(ce):
    """The C twin kept one Runtime per ended thread (Runtime -> allgs -> G -> Runtime, and G is
    not tracked by the cyclic GC): the thread's end now breaks the cycle."""
    def body():
        c = ce.Chan()
        for _ in range(20):
            ce.go(c.recv)
        ce.runtime.gosched()

    before = runtimes_alive(ce)     # earlier tests' may still be held (a fixture, a trace)
    for _ in range(30):
        t = threading.Thread(target=body)
        t.start()
        t.join()
    assert runtimes_alive(ce) <= before + 1     # at most the last one looked up, not 30


def test_never_started_goroutine_never_starts(ce):
    """A goroutine made but not yet run when main returns is discarded like the parked ones (the
    twins once differed: one emptied the run queues after discarding, and started it)."""
    out = []

    def main():
        ce.go(out.append, "started")
        return "main"

    assert ce.run(main) == "main"
    assert ce.run(main, at_exit="unwind") == "main"
    assert out == []


@pytest.mark.parametrize("call", ["go", "gosched", "send"])
def test_runtime_calls_of_an_unwinding_goroutine_raise_at_once(ce, call):
    errors = []

    def main():
        c = ce.Chan()

        def worker():
            try:
                c.recv()
            finally:
                try:
                    if call == "go":
                        ce.go(print, "BUG")
                    elif call == "gosched":
                        ce.runtime.gosched()
                    else:
                        ce.Chan().send(1)
                except RuntimeError as e:
                    errors.append(str(e))

        wait_parked(ce, ce.go(worker))
        ce.go(lambda: None)            # something runnable: gosched would switch

    ce.run(main, at_exit="unwind")
    assert errors == ["chanemu: the program has ended"]


def test_generators_of_a_discarded_goroutine_do_not_run(ce):
    """A @contextmanager's finally, a half-consumed generator's finally, an ExitStack's context
    managers: they belong to the discarded goroutine, and are closed without running when its
    frames are freed (the generator's close() is satisfied, nothing is reported)."""
    out = []
    unraisable = []

    @contextlib.contextmanager
    def cm(tag):
        try:
            yield
        finally:
            out.append(tag)

    def gen():
        try:
            yield 1
            yield 2
        finally:
            out.append("generator")

    def main():
        c = ce.Chan()

        def with_cm():
            with cm("with"):
                c.recv()

        def exit_stack():
            with contextlib.ExitStack() as st:
                st.enter_context(cm("exit stack"))
                c.recv()

        def held():
            x = cm("held")
            x.__enter__()
            g = gen()
            next(g)
            c.recv()

        for f in (with_cm, exit_stack, held):
            wait_parked(ce, ce.go(f))

    old = sys.unraisablehook
    sys.unraisablehook = unraisable.append
    try:
        ce.run(main)
        gc.collect()
    finally:
        sys.unraisablehook = old
    assert out == []
    assert unraisable == []


def test_a_failing_discard_warns_and_unwinds(ce, monkeypatch):
    """If discarding fails (say no sys.monitoring tool id is free), the end says so and unwinds
    the goroutines rather than leave them to the garbage collector."""
    from chanemu import _lifecycle

    class Broken:
        def arm(self, doomed):
            raise RuntimeError("no tool id")

        def disarm(self):
            pass

    _lifecycle.can_discard()
    monkeypatch.setattr(_lifecycle, "_new_trap", Broken)
    out = []

    def main():
        park_n(ce, 2, out)

    with pytest.warns(RuntimeWarning, match="could not discard"):
        ce.run(main)
    assert sorted(x for x in out if x.startswith("finally")) == ["finally 0", "finally 1"]
