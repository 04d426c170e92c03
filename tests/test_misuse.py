"""Bad input and misuse: each is a clear Python exception, and nothing is lost (the channel keeps
its values and waiters, the program its outcome, the interpreter its health).

Decisions recorded here, where Go has nothing to copy:
- A blocking call inside ``__del__`` is a blocking call of the goroutine that happens to drop the
  last reference: it parks that goroutine like any other. If the program ends while it is parked
  there, the program's outcome still comes out of ``run()``; the unwinding exception cannot leave
  ``__del__`` (Python reports it as unraisable), so that goroutine's code after the ``del`` runs
  on until its next blocking call, which unwinds it.
- A signal handler runs in whatever goroutine the main thread is running. From a running
  goroutine, any operation works (a blocking one parks that goroutine). While the scheduler is
  idle (every goroutine parked, the thread waiting for a timer), non-blocking operations work and
  a goroutine they make runnable runs at once, as Go's ``signal.Notify`` wakes a goroutine with a
  non-blocking send; a blocking call there is a ``RuntimeError`` (no goroutine is running), and
  the program goes on.
- ``KeyboardInterrupt`` is an exception like any other: it comes out of ``run()``, with the note
  naming the goroutine it interrupted, and with the goroutine dump in ``.dump`` (as a
  ``FatalError`` has), taken before the program's goroutines are discarded.
"""
import _thread
import enum
import gc
import os
import signal
import subprocess
import sys
import textwrap
import threading

import greenlet
import pytest

from conftest import wait_parked


def in_thread(f, *args):
    """Run f in a fresh thread (a fresh default runtime); return its result or raise its error."""
    box = {}

    def target():
        try:
            box["result"] = f(*args)
        except BaseException as e:
            box["error"] = e

    t = threading.Thread(target=target)
    t.start()
    t.join(60)
    assert not t.is_alive(), "the thread hung"
    if "error" in box:
        raise box["error"]
    return box.get("result")


def run_py(code, impl):
    """Run code in a fresh interpreter on the given twin (crash-prone scenarios)."""
    env = dict(os.environ, CHANEMU_IMPL=impl)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                          capture_output=True, text=True, timeout=120)


# -- non-channel arguments ----------------------------------------------------------------------
@pytest.mark.parametrize("bad", [5, None, "c", object(), [1]])
def test_cases_reject_non_channels(ce, bad):
    with pytest.raises(TypeError, match="expected a Chan"):
        ce.recv(bad)
    with pytest.raises(TypeError, match="expected a Chan"):
        ce.send(bad, 1)


def test_select_rejects_non_cases_before_touching_any_channel(ce):
    def main():
        c = ce.Chan(1)
        c.send("kept")
        d = ce.Chan(1)
        for cases in [("x",), (ce.recv(c), 3), (c,), (ce.send(d, 1), None), (ce.recv(c), ce.recv)]:
            with pytest.raises(TypeError, match="select: cases must be made by recv"):
                ce.select(*cases)
            with pytest.raises(TypeError, match="select: cases must be made by recv"):
                ce.select(*cases, default=True)
        # nothing lost: c still holds its value, d is still empty
        assert c.hchan.qcount == 1 and len(d) == 0
        assert c.recv() == "kept"
        ce.runtime.check_invariants()

    ce.run(main)


def test_unbound_methods_reject_non_channels(ce):
    """``Chan.send(x, v)`` with x not a channel (``map(Chan.close, things)``): TypeError."""
    for call in (lambda: ce.Chan.send(5, 1), lambda: ce.Chan.recv(None),
                 lambda: ce.Chan.close("c"), lambda: ce.Chan.try_recv(3)):
        with pytest.raises(TypeError):
            call()


def test_objects_of_the_other_twin_are_refused(ce):
    """Channels and cases of one twin do not work with the other (``_set_impl``'s rule)."""
    other_name = "python" if ce.IMPL == "c" else "c"
    try:
        other = ce._import_core(other_name)
    except ImportError:
        pytest.skip("the other twin is not available")
    oc = other.Chan(1)
    with pytest.raises(TypeError):
        ce.recv(oc)
    with pytest.raises(TypeError):
        ce.send(oc, 1)
    with pytest.raises(TypeError):
        ce.select(other.RecvCase(oc), default=True)
    assert len(oc) == 0


def test_case_subclasses_are_refused(ce):
    c = ce.Chan(1)
    c.send(1)
    try:
        class MyRecv(ce.recv):
            pass
    except TypeError:
        return          # the C twin's case types are final
    with pytest.raises(TypeError):
        ce.select(MyRecv(c), default=True)
    assert len(c) == 1


def test_ready_rejects_non_goroutines(ce):
    with pytest.raises(TypeError):
        ce._impl.ready(5)
    with pytest.raises(TypeError):
        ce._impl.ready(None)


# -- sizes, values, callables --------------------------------------------------------------------
class _Index:
    def __index__(self):
        return 3


@pytest.mark.parametrize("size", [True, False, 1.0, 2.5, "3", None, 1j, _Index(), b"1"])
def test_chan_size_must_be_an_int(ce, size):
    with pytest.raises(TypeError, match="Chan size must be an int"):
        ce.Chan(size)


@pytest.mark.parametrize("size", [-1, -2**100, 2**45 - 13, 2**45 - 1, 2**45 + 1, 2**64, 2**100])
def test_chan_size_out_of_range_panics(ce, size):
    with pytest.raises(ce.Panic) as ei:
        ce.Chan(size)
    assert str(ei.value) == "makechan: size out of range"


def test_chan_size_int_subclass_is_a_plain_int(ce):
    """An int subclass (IntEnum) is accepted, and the struct holds a plain int, as Go's does."""
    class Size(enum.IntEnum):
        TWO = 2

    c = ce.Chan(Size.TWO)
    assert c.cap == 2 and type(c.cap) is int
    assert type(c.hchan.dataqsiz) is int


def test_send_without_a_value(ce):
    def main():
        c = ce.Chan(1)
        with pytest.raises(TypeError):
            c.send()
        with pytest.raises(TypeError):
            c.try_send()
        with pytest.raises(TypeError):
            ce.send(c)
        assert len(c) == 0 and c.try_send(None) and c.recv() is None

    ce.run(main)


@pytest.mark.parametrize("fn", [5, None, "f", [print]])
def test_go_and_run_need_a_callable(ce, fn):
    def main():
        n = ce.runtime.num_goroutine()
        with pytest.raises(TypeError, match="not callable"):
            ce.go(fn)
        assert ce.runtime.num_goroutine() == n
        return "ok"

    assert ce.run(main) == "ok"
    with pytest.raises(TypeError, match="not callable"):
        ce.run(fn)


def test_goroutine_called_with_wrong_arguments_crashes_the_program(ce):
    def main():
        ce.go(lambda x: x)
        ce.Chan().recv()

    with pytest.raises(TypeError, match="missing 1 required positional argument") as ei:
        ce.run(main)
    assert any("raised in goroutine 2" in n for n in ei.value.__notes__)


# -- threads and runtimes ------------------------------------------------------------------------
def test_channel_used_from_another_thread(ce):
    def main():
        c = ce.Chan(2)
        c.send("kept")
        g = ce.go(c.send, "also kept")
        ce.runtime.gosched()
        full = ce.Chan(0)
        parked = ce.go(full.recv)
        wait_parked(ce, parked, "chan receive")
        for op in (lambda: c.send(1), c.recv, lambda: c.try_send(1), c.try_recv, c.close,
                   lambda: ce.select(ce.recv(c), ce.recv(full)), lambda: full.send(1)):
            with pytest.raises(RuntimeError, match="belongs to one thread's program"):
                in_thread(op)
        # nothing lost
        assert g.status == "dead" and c.hchan.qcount == 2 and not c.hchan.closed
        assert parked.status == "waiting" and len(full.hchan.recvq) == 1
        full.send("woken")
        assert [c.recv(), c.recv()] == ["kept", "also kept"]
        ce.runtime.check_invariants()

    ce.run(main)


def test_channel_with_waiters_of_another_runtime(ce):
    """A channel made in a thread's default runtime, with a goroutine of that runtime parked on
    it, used by a run() program of the same thread: RuntimeError; the waiter is still there."""
    def scenario():
        c = ce.Chan()
        g = ce.go(c.recv)
        wait_parked(ce, g, "chan receive")

        def prog():
            with pytest.raises(RuntimeError, match="another runtime"):
                c.send("x")
            with pytest.raises(RuntimeError, match="another runtime"):
                c.close()
            return "prog done"

        assert ce.run(prog) == "prog done"
        assert g.status == "waiting" and len(c.hchan.recvq) == 1
        c.send("from its own runtime")
        ce.runtime.gosched()
        assert g.status == "dead"
        return True

    assert in_thread(scenario)


def test_goroutine_of_one_runtime_woken_from_another(ce):
    def scenario():
        parked = []

        def sleeper():
            ce._impl.park("sync.Mutex.Lock")
            parked.append("woken")

        g = ce.go(sleeper)
        wait_parked(ce, g, "sync.Mutex.Lock")
        with pytest.raises(RuntimeError, match="belongs to another runtime"):
            ce.run(lambda: ce._impl.ready(g))
        assert g.status == "waiting"
        ce._impl.ready(g)               # from its own runtime: fine
        ce.runtime.gosched()
        return parked

    assert in_thread(scenario) == ["woken"]


def test_foreign_greenlet_cannot_block(ce):
    """A plain greenlet inside a goroutine is not a goroutine: blocking there is refused;
    non-blocking operations are fine."""
    def main():
        c = ce.Chan(1)
        with pytest.raises(RuntimeError, match="not a goroutine"):
            greenlet.greenlet(c.recv).switch()
        assert greenlet.greenlet(lambda: (c.send(1), c.recv())[1]).switch() == 1
        ce.runtime.check_invariants()
        return "ok"

    assert ce.run(main) == "ok"


# -- run() nesting and life after run() ----------------------------------------------------------
def test_run_inside_run(ce):
    def main():
        c = ce.Chan()
        g = ce.go(c.send, "still here")
        with pytest.raises(RuntimeError, match="does not nest"):
            ce.run(lambda: 1)

        def inner():
            with pytest.raises(RuntimeError, match="does not nest"):
                ce.run(lambda: 1)
            return "inner ok"

        ce.go(inner)
        ce.runtime.gosched()
        assert c.recv() == "still here"
        ce.runtime.gosched()
        assert g.status == "dead"
        return "outer ok"

    assert ce.run(main) == "outer ok"


def test_run_from_a_goroutine_of_the_default_runtime(ce):
    def scenario():
        out = []
        g = ce.go(lambda: out.append(ce.run(lambda: "inner run")))
        ce.runtime.gosched()
        return out, g.status

    assert in_thread(scenario) == (["inner run"], "dead")


def test_handles_and_channels_after_run_returned(ce):
    kept = {}

    def main():
        c = ce.Chan(2)
        c.send("buffered")
        u = ce.Chan()
        kept.update(c=c, u=u, g=ce.go(u.recv), done=ce.go(lambda: None))
        ce.runtime.gosched()
        assert kept["g"].status == "waiting"
        return "ended"

    assert ce.run(main) == "ended"
    g, done = kept["g"], kept["done"]
    assert (g.status, g.wait_reason, tuple(g.waiting_on)) == ("dead", None, ())
    assert (done.status, done.wait_reason) == ("dead", None)
    assert "goroutine 2" in g.stack()
    with pytest.raises(RuntimeError):
        ce._impl.ready(g)
    # the parked receiver was taken off u's queue when the program ended; c kept its value
    assert len(kept["u"].hchan.recvq) == 0
    assert ce.run(lambda: (kept["c"].recv(), kept["u"].try_send(1))) == ("buffered", False)


# -- exceptions out of goroutines ----------------------------------------------------------------
class CustomBase(BaseException):
    pass


BASE_EXCEPTIONS = [lambda: SystemExit(3), lambda: GeneratorExit(), lambda: CustomBase("custom"),
                   lambda: KeyboardInterrupt(), lambda: greenlet.GreenletExit()]


@pytest.mark.parametrize("make", BASE_EXCEPTIONS,
                         ids=["SystemExit", "GeneratorExit", "CustomBase", "KeyboardInterrupt",
                              "GreenletExit"])
def test_goroutine_raising_base_exception(ce, make):
    exc = make()

    def boom():
        raise exc

    def main():
        c = ce.Chan()
        for _ in range(3):
            ce.go(c.recv)          # parked when the crash comes
        ce.go(boom)
        c.recv()

    with pytest.raises(type(exc)) as ei:
        ce.run(main)
    assert ei.value is exc
    assert any("raised in goroutine 5" in n for n in ei.value.__notes__)
    assert ce.run(lambda: "interpreter fine") == "interpreter fine"


@pytest.mark.parametrize("make", BASE_EXCEPTIONS,
                         ids=["SystemExit", "GeneratorExit", "CustomBase", "KeyboardInterrupt",
                              "GreenletExit"])
def test_main_raising_base_exception(ce, make):
    """An exception escaping main comes out of run() as itself, never as run()'s result."""
    exc = make()

    def main():
        c = ce.Chan()
        ce.go(c.recv)
        ce.runtime.gosched()
        raise exc

    with pytest.raises(type(exc)) as ei:
        ce.run(main)
    assert ei.value is exc


def test_recursion_deep_inside_a_goroutine(ce):
    limit = sys.getrecursionlimit()

    def rec(n):
        return rec(n + 1)

    def main():
        c = ce.Chan()
        ce.go(c.recv)
        ce.go(rec, 0)
        c.recv()

    with pytest.raises(RecursionError) as ei:
        ce.run(main)
    assert any("raised in goroutine 3" in n for n in ei.value.__notes__)
    assert sys.getrecursionlimit() == limit

    # the interpreter is fine after, and goroutines can recurse deeply and block at depth
    def deep(n, c):
        if n == 0:
            return c.recv()
        return deep(n - 1, c)

    def main2():
        c = ce.Chan()
        out = ce.Chan(1)
        ce.go(lambda: out.send(deep(limit // 2, c)))
        ce.runtime.gosched()
        c.send("at depth")
        return out.recv()

    assert ce.run(main2) == "at depth"


# -- closing during a select ----------------------------------------------------------------------
def test_close_during_select(ce):
    def main():
        a, b, s = ce.Chan(elemtype=int), ce.Chan(elemtype=int), ce.Chan()
        results = []

        def selector():
            results.append(ce.select(ce.recv(a), ce.recv(b), ce.recv(b), ce.send(s, "v")))

        def sender_selector():
            try:
                ce.select(ce.send(s, "v"), ce.recv(a))
            except ce.Panic as e:
                results.append(str(e))

        g1 = ce.go(selector)
        wait_parked(ce, g1, "select")
        b.close()                           # a repeated channel
        assert g1.status == "runnable"      # woken by the close, not yet running
        ce.runtime.gosched()
        assert results[0][0] in (1, 2) and results[0][1:] == (0, False), results
        # no sudog left behind on the other channels
        assert len(a.hchan.recvq) == 0 and len(s.hchan.sendq) == 0
        g2 = ce.go(sender_selector)
        wait_parked(ce, g2, "select")
        s.close()
        ce.runtime.gosched()
        assert results[1] == "send on closed channel"
        assert len(a.hchan.recvq) == 0 and g2.status == "dead"
        ce.runtime.check_invariants()

    ce.run(main, seed=3)


# -- __del__ -------------------------------------------------------------------------------------
class Finalized:
    def __init__(self, c, log):
        self.c, self.log = c, log

    def __del__(self):
        self.log.append(("del got", self.c.recv()))


def test_blocking_call_in_del_parks_the_goroutine(ce):
    def main():
        c = ce.Chan()
        log = []
        ce.go(lambda: (log.append("sender runs"), c.send("value")))
        obj = Finalized(c, log)
        del obj                     # __del__ parks main until the sender runs
        log.append("after del")
        return log

    assert ce.run(main) == ["sender runs", ("del got", "value"), "after del"]


@pytest.mark.parametrize("at_exit", ["discard", "unwind"])
def test_program_ending_while_parked_in_del(ce, at_exit):
    """The program deadlocks while main is parked inside __del__: run() raises the Deadlock.
    The exception that ends main cannot leave __del__ (Python reports it as unraisable). When
    main is discarded (Go's end) nothing of main runs after that: its next instruction raises
    again. When it is unwound (at_exit="unwind"), main's code after the ``del`` runs on, and its
    next blocking call fails at once. Nothing of it survives the program either way."""
    from chanemu._errors import Discarded
    unraisable = []
    after = []
    old = sys.unraisablehook
    sys.unraisablehook = lambda u: unraisable.append(u.exc_type)
    try:
        def main():
            c = ce.Chan()
            obj = Finalized(c, [])
            del obj                 # blocks forever: the program deadlocks inside __del__
            after.append("ran on after the end")
            c.recv()                # a blocking call of an ended program: raises at once
            after.append("BUG: parked again")

        with pytest.raises(ce.Deadlock):
            ce.run(main, at_exit=at_exit)
        gc.collect()
    finally:
        sys.unraisablehook = old
    if at_exit == "discard":
        assert unraisable == [Discarded]
        assert after == []
    else:
        assert unraisable == [greenlet.GreenletExit]
        assert after == ["ran on after the end"]
    assert ce.run(lambda: "interpreter fine") == "interpreter fine"


# -- signal handlers -----------------------------------------------------------------------------
needs_sigusr1 = pytest.mark.skipif(not hasattr(signal, "SIGUSR1") or
                                   threading.current_thread() is not threading.main_thread(),
                                   reason="needs SIGUSR1 and the main thread")


class _Handler:
    def __init__(self, f):
        self.f = f
        self.log = []

    def __call__(self, signum, frame):
        try:
            self.log.append(("ok", self.f()))
        except BaseException as e:
            self.log.append(("raised", type(e).__name__, str(e)))

    def __enter__(self):
        self.old = signal.signal(signal.SIGUSR1, self)
        return self

    def __exit__(self, *exc):
        signal.signal(signal.SIGUSR1, self.old)


@needs_sigusr1
def test_signal_handler_in_a_running_goroutine(ce):
    def main():
        c = ce.Chan(1)
        d = ce.Chan()
        ce.go(d.send, "from g")
        with _Handler(lambda: (c.try_send("sig"), d.recv())) as h:
            os.kill(os.getpid(), signal.SIGUSR1)     # the handler runs here, in main
        return h.log, c.try_recv()

    assert ce.run(main) == ([("ok", (True, "from g"))], ("sig", True))


def _signal_when_idle(ce, g, reason="sleep"):
    """A thread that sends SIGUSR1 once goroutine g (main) is parked with the given reason."""
    def watch():
        for _ in range(100_000):
            if g.wait_reason == reason:
                os.kill(os.getpid(), signal.SIGUSR1)
                return
            threading.Event().wait(0.001)

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    return t


@needs_sigusr1
def test_signal_handler_wakes_a_goroutine_while_idle(ce):
    """signal.Notify's way: the handler's non-blocking send wakes a goroutine at once, even
    though the scheduler is idle, waiting for main's 3-second timer."""
    from chanemu import time as ctime

    def main():
        c = ce.Chan(1)
        done = ce.Chan(1)
        ce.go(lambda: done.send(("woken by", c.recv())))
        ce.runtime.gosched()
        with _Handler(lambda: c.try_send("signal")) as h:
            _signal_when_idle(ce, ce.runtime.current(), "select")
            k, v, _ = ce.select(ce.recv(done), ce.recv(ctime.after(3)))
        return h.log, k, v

    log, k, v = ce.run(main)
    assert log == [("ok", True)]
    assert (k, v) == (0, ("woken by", "signal")), "the woken goroutine waited for the timer"


@needs_sigusr1
def test_blocking_call_in_signal_handler_while_idle(ce):
    """No goroutine is running while the scheduler idles: a blocking call from a handler that
    runs then is a RuntimeError, and the program goes on unharmed."""
    from chanemu import time as ctime

    def main():
        d = ce.Chan()
        with _Handler(d.recv) as h:
            _signal_when_idle(ce, ce.runtime.current())
            ctime.sleep(0.5)
        ce.runtime.check_invariants()
        return h.log

    log = ce.run(main)
    assert len(log) == 1 and log[0][:2] == ("raised", "RuntimeError"), log


# -- KeyboardInterrupt ---------------------------------------------------------------------------
def _interrupt_when(pred, real_signal=True):
    """A thread that interrupts the main thread once pred() holds: with a real SIGINT (which
    also interrupts a blocking wait, as Ctrl-C does), or with _thread.interrupt_main()."""
    def watch():
        for _ in range(100_000):
            if pred():
                if real_signal:
                    os.kill(os.getpid(), signal.SIGINT)
                else:
                    _thread.interrupt_main()
                return
            threading.Event().wait(0.001)

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    return t


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                    reason="KeyboardInterrupt is delivered to the main thread")
def test_keyboard_interrupt_while_goroutines_are_parked(ce):
    """Ctrl-C while every goroutine is parked and the scheduler waits for a timer: run() raises
    KeyboardInterrupt at once, the interpreter is fine, a new program runs."""
    from chanemu import time as ctime

    def main():
        c = ce.Chan()
        for _ in range(3):
            ce.go(c.recv)
        ce.runtime.gosched()
        me = ce.runtime.current()
        _interrupt_when(lambda: me.wait_reason == "sleep")
        ctime.sleep(60)

    with pytest.raises(KeyboardInterrupt):
        ce.run(main)
    assert ce.run(lambda: "interpreter fine") == "interpreter fine"


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                    reason="KeyboardInterrupt is delivered to the main thread")
def test_keyboard_interrupt_carries_the_goroutine_dump(ce):
    """The dump of the interrupted program is obtainable: ``.dump``, as a FatalError has."""
    from chanemu import time as ctime

    def main():
        c = ce.Chan()
        for _ in range(3):
            ce.go(c.recv)
        ce.runtime.gosched()
        me = ce.runtime.current()
        _interrupt_when(lambda: me.wait_reason == "sleep")
        ctime.sleep(60)

    with pytest.raises(KeyboardInterrupt) as ei:
        ce.run(main)
    dump = getattr(ei.value, "dump", None)
    assert dump is not None, "KeyboardInterrupt out of run() carries no goroutine dump"
    assert dump.count("[chan receive") == 3 and "goroutine 1 [sleep" in dump


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                    reason="KeyboardInterrupt is delivered to the main thread")
def test_keyboard_interrupt_in_a_busy_goroutine(ce):
    def spin(flag):
        flag.append("spinning")
        while True:
            pass

    def main():
        c = ce.Chan()
        ce.go(c.recv)
        flag = []
        ce.go(spin, flag)
        _interrupt_when(lambda: flag, real_signal=False)
        c.recv()

    with pytest.raises(KeyboardInterrupt) as ei:
        ce.run(main)
    assert any("raised in goroutine 3" in n for n in ei.value.__notes__)
    assert ce.run(lambda: "interpreter fine") == "interpreter fine"


# -- crash-prone scenarios, each in a subprocess -------------------------------------------------
def test_allocation_failure_is_a_memory_error(ce):
    """make(chan T, 2**45 - 14) is within Go's limit (size * 8 <= maxAlloc - hchanSize) and
    cannot be allocated: a MemoryError, in a subprocess in case the allocation takes the
    interpreter down. One slot more, or 2**45 - 1, is Go's panic."""
    r = run_py("""
        import chanemu
        for n in (2**45 - 14, 2**44, 2**45 - 13, 2**45 - 1):
            try:
                chanemu.Chan(n)
            except MemoryError:
                print("MemoryError")
            except chanemu.Panic as e:
                print(str(e).replace(" ", "_"))
        print(chanemu.run(lambda: "fine after"))
    """, ce.IMPL)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == (["MemoryError"] * 2 + ["makechan:_size_out_of_range"] * 2
                                + ["fine", "after"])


def test_threads_dying_with_parked_goroutines(ce):
    """Threads end with goroutines parked in their default runtimes: each thread's end discards
    them, which takes them off their channel's queue. The channels are then used from the main
    thread, and collected: clear errors, no crash."""
    r = run_py("""
        import gc, threading, chanemu
        chans = []
        def worker():
            c = chanemu.Chan()
            chans.append(c)
            for _ in range(50):
                chanemu.go(c.recv)
            chanemu.runtime.gosched()
        for _ in range(4):
            t = threading.Thread(target=worker)
            t.start()
            t.join()
        gc.collect()
        c = chans[0]
        print(len(c.hchan.recvq))
        for op in (lambda: c.try_send(1), c.close, lambda: chanemu.run(lambda: c.send(1))):
            try:
                op()
            except RuntimeError:
                print("RuntimeError")
        del chans, c, op
        gc.collect()
        print(chanemu.run(lambda: "fine"))
    """, ce.IMPL)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["0", "RuntimeError", "RuntimeError", "RuntimeError", "fine"]
