"""Timer channels as Go 1.23's, gosched and preemption, makechan's bound, once_func with goexit.

Both twins (the ``ce`` fixture). Tests that need preemption are marked ``preemption``
(tests/conftest.py turns it off for the others); they spin for tens of milliseconds of real time
and assert only what holds however loaded the machine is (an upper bound of seconds).
"""
import datetime as dt
import json
import time as wall

import pytest

S = 1_000_000_000


def at(seconds):
    import chanemu.time as ctime
    return ctime.EPOCH + dt.timedelta(seconds=seconds)


# -- timer channels: in the heap only while a goroutine blocks on them ----------------------------
@pytest.mark.parametrize("clock", ["real", "virtual"])
@pytest.mark.parametrize("make", ["ticker", "timer", "after", "tick"])
def test_unwatched_timer_channel_does_not_delay_the_deadlock(ce, clock, make):
    import chanemu.time as ctime
    makers = {"ticker": lambda: ctime.Ticker(0.01), "timer": lambda: ctime.Timer(3),
              "after": lambda: ctime.after(3), "tick": lambda: ctime.tick(0.01)}

    def main():
        keep = makers[make]()           # referenced, and still nobody receives from it
        ce.Chan().recv()
        return keep

    w = wall.monotonic()
    with pytest.raises(ce.Deadlock) as ei:
        ce.run(main, clock=clock)
    assert wall.monotonic() - w < 1.0
    assert str(ei.value) == "all goroutines are asleep - deadlock!"
    assert "goroutine 1 [chan receive]:" in ei.value.dump


@pytest.mark.parametrize("clock", ["real", "virtual"])
def test_waiter_sleep_and_after_func_keep_the_program_alive(ce, clock):
    import chanemu.time as ctime

    def main():
        t = ctime.Timer(0.02)
        got = ce.Chan()
        ce.go(lambda: got.send(t.c.recv() is not None))     # a waiter on the timer's channel
        ctime.after_func(0.03, lambda: got.send("after_func"))
        ce.go(lambda: (ctime.sleep(0.04), got.send("sleep")))
        return [got.recv() for _ in range(3)]

    assert ce.run(main, clock=clock) == [True, "after_func", "sleep"]


def test_timer_is_heaped_only_while_a_goroutine_blocks_on_it(ce):
    import chanemu.time as ctime

    def main():
        rt = ce._impl.current_runtime()
        t = ctime.Timer(10)
        assert len(rt.timers) == 0
        g = ce.go(t.c.recv)
        ce.runtime.gosched()
        assert g.wait_reason == "chan receive" and len(rt.timers) == 1
        assert t.stop() is True
        assert len(rt.timers) == 0
        t.reset(1)                      # the waiter is still there: heaped again
        assert len(rt.timers) == 1
        ctime.sleep(2)                  # the timer fires into the waiter
        assert g.status == "dead" and len(rt.timers) == 0
        return t.stop()

    assert ce.run(main, clock="virtual") is False


def test_select_that_leaves_a_timer_does_not_postpone_the_deadlock(ce):
    """The losing timer case becomes a zombie: dropped, not waited for."""
    import chanemu.time as ctime

    def main():
        t = ctime.Timer(3600)
        c = ce.Chan()
        ce.go(c.send, 1)
        i, v, _ = ce.select(ce.recv(t.c), ce.recv(c))       # blocks, then c wins
        assert (i, v) == (1, 1)
        ce.Chan().recv()

    w = wall.monotonic()
    with pytest.raises(ce.Deadlock):
        ce.run(main, clock="real")
    assert wall.monotonic() - w < 1.0


@pytest.mark.parametrize("op", ["try_recv", "select_default", "recv"])
def test_receive_runs_a_due_timer_nobody_waited_on(ce, op):
    """maybeRunChan: the value of a timer that came due unwatched is there when one looks, and
    it carries the time the timer was due."""
    import chanemu.time as ctime

    def main():
        t = ctime.Timer(1)
        ctime.sleep(2.5)
        assert t.c.hchan.qcount == 0 and len(t.c) == 0      # nothing ran it yet
        if op == "try_recv":
            v, ok = t.c.try_recv()
        elif op == "select_default":
            _, v, ok = ce.select(ce.recv(t.c), default=True)
        else:
            v, ok = t.c.recv_ok()
        return v, ok, t.stop(), t.c.try_recv()

    assert ce.run(main, clock="virtual") == (at(1), True, False, None)


def test_unwatched_ticker_skips_the_ticks_it_missed(ce):
    import chanemu.time as ctime

    def main():
        tk = ctime.Ticker(1)
        ctime.sleep(3.5)
        first = tk.c.recv()             # run now: the tick due at 1 s; the next is due at 4 s
        second = tk.c.recv()
        tk.stop()
        return first, second, ctime.now()

    assert ce.run(main, clock="virtual") == (at(1), at(4), at(4))


def test_stop_and_reset_of_an_unwatched_due_timer(ce):
    """Go 1.23: a timer due but never run counts as pending: Stop and Reset return True, and no
    value from before them is ever received."""
    import chanemu.time as ctime

    def main():
        t = ctime.Timer(1)
        ctime.sleep(2)
        out = [t.stop(), t.c.try_recv(), t.reset(1), t.c.try_recv()]
        ctime.sleep(2)
        out += [t.reset(5), t.c.try_recv(), t.c.recv()]
        return out

    assert ce.run(main, clock="virtual") == [True, None, False, None, True, None, at(9)]


def test_heap_stays_small_under_block_unblock_churn(ce):
    """Blocking on a timer's channel and leaving it 5,000 times reuses one heap entry."""
    import chanemu.time as ctime

    def main():
        rt = ce._impl.current_runtime()
        t = ctime.Timer(3600)
        c = ce.Chan()

        def sender():
            for i in range(5000):
                c.send(i)
        ce.go(sender)
        for i in range(5000):
            assert ce.select(ce.recv(t.c), ce.recv(c))[1] == i
        return len(rt.timers.h), len(rt.timers), t.stop()

    size, heaped, stopped = ce.run(main)
    assert size <= 2 and heaped == 0 and stopped is True


def test_timer_stop_in_a_loop_does_not_grow_the_heap(ce):
    import chanemu.time as ctime

    def main():
        rt = ce._impl.current_runtime()
        timers = [ctime.after_func(3600, lambda: None) for _ in range(10)]
        for _ in range(2000):
            for t in timers:
                t.reset(3600)
        return len(rt.timers.h), len(rt.timers)

    size, heaped = ce.run(main)
    assert heaped == 10 and size <= 4 * 10 + 64


# -- gosched ------------------------------------------------------------------------------------
def test_gosched_loop_waits_for_a_sleeper(ce):
    """gosched runs due timers even when nothing else is runnable (Go ends in ~10 ms)."""
    import chanemu.time as ctime

    def main():
        woke = []
        ce.go(lambda: (ctime.sleep(0.01), woke.append(True)))
        start = wall.monotonic()
        while not woke:
            ce.runtime.gosched()
        return wall.monotonic() - start

    elapsed = ce.run(main)
    assert 0.009 <= elapsed < 2.0


def test_gosched_with_nothing_due_returns_at_once(ce):
    def main():
        events = []
        rt = ce._impl.current_runtime()
        rt.tracer = lambda kind, g, arg: events.append(kind)
        for _ in range(100):
            ce.runtime.gosched()
        rt.tracer = None
        return events

    assert ce.run(main) == []


# -- preemption ---------------------------------------------------------------------------------
def _spinners(ce):
    """One step of a spinning loop per kind of runtime call: True once done is closed."""
    import chanemu.time as ctime
    own = ce.Chan(1)

    def closed(done):
        return done.hchan.closed != 0

    def self_send(done):
        own.send(1)
        own.recv()
        return closed(done)

    return {
        "select_default": lambda done: ce.select(ce.recv(done), default=True)[0] == 0,
        "try_recv": lambda done: done.try_recv() is not None,
        "try_send": lambda done: not own.try_send(1) and own.try_recv() and closed(done),
        "nil_select": lambda done: ce.select(ce.recv(ce.nilchan), default=True) and closed(done),
        "empty_select": lambda done: ce.select(default=True) and closed(done),
        "buffered_self": self_send,
        "time_now": lambda done: ctime.now() and closed(done),
        "gosched": lambda done: ce.runtime.gosched() or closed(done),
    }


@pytest.mark.preemption
@pytest.mark.parametrize("how", ["select_default", "try_recv", "try_send", "nil_select",
                                 "empty_select", "buffered_self", "time_now", "gosched"])
def test_spinning_goroutine_is_preempted(ce, how):
    _spin_test(ce, how)


def _spin_test(ce, how):
    import chanemu.time as ctime

    def main():
        stop = _spinners(ce)[how]
        done = ce.Chan()
        result = ce.Chan(1)

        def spinner():
            n = 0
            give_up = wall.monotonic() + 10     # a failure, not a hang, if never preempted
            while not stop(done):
                n += 1
                if wall.monotonic() > give_up:
                    n = -1
                    break
            result.send(n)
        ce.go(spinner)
        ctime.sleep(0.02)
        done.close()
        return result.recv()

    w = wall.monotonic()
    assert ce.run(main) > 0
    assert wall.monotonic() - w < 5.0


@pytest.mark.preemption
def test_preemption_is_traced(ce, tmp_path):
    import chanemu.time as ctime
    import chanemu.trace as ctrace
    path = tmp_path / "t.json"

    def main():
        done = ce.Chan()
        with ctrace.start(str(path)):
            g = ce.go(lambda: [None for _ in iter(lambda: done.try_recv() is not None, True)])
            ctime.sleep(0.03)
            done.close()
            ce.runtime.gosched()
        return g.goid

    goid = ce.run(main)
    events = json.loads(path.read_text())["traceEvents"]
    pre = [e for e in events if e.get("name") == "preempted"]
    assert pre and all(e["tid"] == goid and e["cat"] == "sched" for e in pre)


@pytest.mark.preemption
def test_virtual_clock_stands_still_while_a_spinner_is_preempted(ce):
    """Preemption is by real time on either clock; the virtual clock does not move while
    anything can run."""
    import chanemu.time as ctime

    def main():
        seen = set()
        others = []
        ce.go(lambda: [others.append(1) or ce.runtime.gosched() for _ in range(3)])
        give_up = wall.monotonic() + 10
        while len(others) < 3 and wall.monotonic() < give_up:
            seen.add(ctime.now())       # each preemption lets the other append once
        return seen, len(others)

    seen, ran = ce.run(main, clock="virtual")
    assert seen == {at(0)}
    assert ran == 3          # the other goroutine ran while main spun: main was preempted


@pytest.mark.preemption
def test_preempted_goroutine_goes_behind_the_runnable_ones(ce):
    def main():
        order = []
        c = ce.Chan(1)
        ce.go(lambda: order.append("other"))
        start = wall.monotonic()
        while wall.monotonic() - start < 0.03:     # past the 10 ms slice, without a call
            pass
        c.try_send(1)                               # the next runtime call yields
        order.append("main")
        return order

    assert ce.run(main) == ["other", "main"]


@pytest.mark.preemption
def test_each_goroutine_gets_a_whole_time_slice(ce):
    """A switch does not read the clock (the slice starts lazily, at the first look after it):
    still, a goroutine that starts late in another's slice gets a whole slice of its own. Here
    with a 60 ms slice: main spins 45 ms, then parks; the spinner that runs next must spin about
    60 ms more, not the 15 ms left of main's slice, before it yields to the goroutine it made.
    (The coarse clock's resolution is a few ms; load only makes the spins longer.)"""
    ce._impl.set_preempt_slice(60_000_000)
    own = ce.Chan(1)
    spun = []

    def spinner(done):
        start = wall.monotonic()
        ran = []
        ce.go(ran.append, 1)
        give_up = start + 10
        while not ran and wall.monotonic() < give_up:
            own.try_recv()                      # a runtime call: where a preemption happens
        spun.append(wall.monotonic() - start)
        done.send(None)

    def main():
        done = ce.Chan()
        ce.go(spinner, done)
        start = wall.monotonic()
        while wall.monotonic() - start < 0.045:
            own.try_recv()
        done.recv()

    ce.run(main)
    assert 0.045 < spun[0] < 10


def test_preemption_off_keeps_the_schedule(ce):
    """set_preemption(False) (the tests' default): no yield however long a goroutine runs."""
    assert ce.runtime.set_preemption(False) is False

    def main():
        order = []
        ce.go(lambda: order.append("other"))
        start = wall.monotonic()
        while wall.monotonic() - start < 0.03:
            ce.Chan(1).try_recv()
        order.append("main")
        ce.runtime.gosched()
        return order

    assert ce.run(main) == ["main", "other"]


@pytest.mark.preemption
def test_no_preemption_inside_a_timer_function(ce):
    """A timer's function runs in the scheduler's own section (Go's m.locks > 0): a channel
    operation in it does not preempt, however long it has run. Here a receive runs a due timer
    (maybeRunChan) whose function takes 20 ms before it sends: the runnable goroutine must not run
    in the middle of it."""
    import chanemu.time as ctime

    def main():
        log = []
        c = ce.Chan(1)
        rt = ce._impl.current_runtime()

        def fire(arg, now):
            log.append("f start")
            wall.sleep(0.02)
            c.try_send("v")
            log.append("f done")
        t = rt.newtimer(fire, None)
        t.ischan = True
        c.timer = t
        rt.addtimer(t, rt.nanotime())
        ctime.sleep(0.001)              # a fresh time slice
        ce.go(log.append, "other")
        got = c.try_recv()
        log.append("main")
        ce.runtime.gosched()
        return got, log

    got, log = ce.run(main)
    assert got == ("v", True)
    i = log.index("f start")
    assert log[i + 1] == "f done" and "other" in log
    assert log.index("main") > i


# -- makechan's bound -------------------------------------------------------------------------------
class _Liar(int):
    """An int subclass that lies in every comparison and arithmetic it can."""

    def __lt__(self, other):
        return False

    def __gt__(self, other):
        return False

    def __ge__(self, other):
        return True

    def __le__(self, other):
        return True

    def __mul__(self, other):
        return 0

    __rmul__ = __mul__

    def __index__(self):
        return 1


@pytest.mark.parametrize("size", [-5, 2**45 - 13, 2**50, 2**70])
def test_makechan_lying_int_subclass_out_of_range(ce, size):
    with pytest.raises(ce.Panic) as ei:
        ce.Chan(_Liar(size))
    assert str(ei.value) == "makechan: size out of range"


def test_makechan_lying_int_subclass_uses_its_value(ce):
    c = ce.Chan(_Liar(3))
    assert c.cap == 3 and type(c.hchan.dataqsiz) is int


def _chans_in_frames(exc, chan_type):
    """The channels the frames of exc's traceback hold in their locals."""
    import traceback
    return [v for frame, _ in traceback.walk_tb(exc.__traceback__)
            for v in frame.f_locals.values() if isinstance(v, chan_type)]


class _NoZero:
    """An element type whose zero value cannot be made."""

    def __init__(self):
        raise ZeroDivisionError("no zero value")


@pytest.mark.parametrize("args, exc", [((-1,), "Panic"), (("3",), TypeError),
                                       ((1, 42), TypeError), ((1, _NoZero), ZeroDivisionError)])
def test_failed_make_leaves_no_channel_behind(ce, args, exc):
    """A bad make leaves no half-built channel: the exception, kept (pytest's ExceptionInfo,
    sys.last_exc in a REPL), holds at most the whole unbuffered channel Chan.__new__ made, which
    a heap scan (pprof, the live view) reads like any other."""
    from chanemu import _views
    with pytest.raises(ce.Panic if exc == "Panic" else exc) as ei:
        ce.Chan(*args)
    for c in _chans_in_frames(ei.value, ce._impl.Chan):
        h = c.hchan
        assert (h.qcount, h.dataqsiz, h.closed, len(h.recvq), len(h.sendq)) == (0, 0, 0, 0, 0)
        assert _views.chan_id(c) and repr(c)


# -- once_func / once_value / once_values with runtime.goexit ----------------------------------------
@pytest.mark.parametrize("kind", ["once_func", "once_value", "once_values"])
def test_once_with_goexit_panics_with_nil_every_call(ce, kind):
    import chanemu.sync as csync

    def main():
        calls = []

        def f():
            calls.append(1)
            ce.runtime.goexit()
        once = getattr(csync, kind)(f)
        out = []
        for _ in range(3):
            done = ce.Chan()

            def body():
                try:
                    once()
                    out.append("returned")
                except ce.Panic as e:
                    out.append(str(e))
                finally:
                    done.send(True)
            ce.go(body)
            done.recv()
        return out, len(calls)

    out, ncalls = ce.run(main)
    assert out == ["panic called with nil argument"] * 3 and ncalls == 1


def test_once_func_goexit_uncaught_crashes_the_program(ce):
    import chanemu.sync as csync

    def main():
        once = csync.once_func(ce.runtime.goexit)
        ce.go(once)
        ce.Chan().recv()

    with pytest.raises(ce.Panic) as ei:
        ce.run(main)
    assert str(ei.value) == "panic called with nil argument"
