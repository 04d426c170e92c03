"""chanemu.time: timers on the runtime's heap, Go 1.23 timer channels, and both clocks.

Virtual-clock tests assert exact times: the clock starts at Go's synctest epoch (2000-01-01 UTC),
stands still while anything can run and jumps to the next timer when everything is blocked, so a
program's timeline is exactly reproducible. Real-clock tests only assert lower bounds on elapsed
wall time and an upper bound on CPU time (the idle runtime must sleep, not spin).
"""
import datetime as dt
import time as wall

import pytest

from conftest import wait_parked

UTC = dt.timezone.utc
S = 1_000_000_000


def at(seconds):
    """The virtual clock's datetime `seconds` after the epoch."""
    return dt.datetime(2000, 1, 1, tzinfo=UTC) + dt.timedelta(seconds=seconds)


def clock_ns(ce):
    return ce._impl.current_runtime().nanotime()


# -- the virtual clock ----------------------------------------------------------------------
def test_virtual_clock_starts_at_synctest_epoch_and_jumps(ce):
    import chanemu.time as ctime

    def main():
        t0 = ctime.now()
        assert t0 == at(0) and t0.tzinfo is not None
        assert clock_ns(ce) == 0
        ctime.sleep(3600)
        assert ctime.now() == at(3600)
        assert ctime.since(t0) == ctime.Hour and isinstance(ctime.since(t0), ctime.Duration)
        assert (ctime.now() - t0) == ctime.Hour
        ctime.sleep(0.25)
        return clock_ns(ce), ctime.until(at(7200))

    w = wall.monotonic()
    ns, left = ce.run(main, clock="virtual")
    assert wall.monotonic() - w < 5            # an hour of sleep, no wall time
    assert ns == 3600 * S + 250_000_000
    assert left == ctime_duration(3600 * S - 250_000_000)


def test_virtual_clock_exact_timestamps_of_events(ce):
    """A small program's whole timeline: who did what, at which instant of the virtual clock."""
    import chanemu.time as ctime

    def main():
        log = []
        results = ce.Chan()

        def worker(name, work):
            ctime.sleep(work)
            log.append((clock_ns(ce), f"{name} done"))
            results.send(name)

        def ticker():
            t = ctime.Ticker(1.5)
            for _ in range(3):
                v = t.c.recv()
                log.append((clock_ns(ce), f"tick {v:%H:%M:%S.%f}"))
            t.stop()

        ce.go(worker, "a", 2)
        ce.go(worker, "b", 0.5)
        ce.go(worker, "c", 3.25)
        ce.go(ticker)
        got = [results.recv() for _ in range(3)]
        log.append((clock_ns(ce), "main has all"))
        timeout = ctime.after(10)
        v = timeout.recv()
        log.append((clock_ns(ce), f"timeout {v:%H:%M:%S}"))
        return got, log, ctime.now()

    got, log, end = ce.run(main, clock="virtual")
    assert got == ["b", "a", "c"]
    assert log == [
        (500_000_000, "b done"),
        (1_500_000_000, "tick 00:00:01.500000"),
        (2_000_000_000, "a done"),
        (3_000_000_000, "tick 00:00:03.000000"),
        (3_250_000_000, "c done"),
        (3_250_000_000, "main has all"),
        (4_500_000_000, "tick 00:00:04.500000"),
        (13_250_000_000, "timeout 00:00:13"),
    ]
    assert end == at(13.25)


def test_virtual_clock_is_reproducible(ce):
    import chanemu.time as ctime

    def main():
        out = []
        c = ce.Chan()

        def w(i):
            ctime.sleep((i * 7) % 5 / 10)
            out.append((i, clock_ns(ce)))
            c.send(i)
        for i in range(20):
            ce.go(w, i)
        for _ in range(20):
            c.recv()
        return out

    assert ce.run(main, clock="virtual", seed=1) == ce.run(main, clock="virtual", seed=1)


def test_dump_shows_virtual_wait_minutes(ce):
    import chanemu.time as ctime

    def main():
        ctime.sleep(1)
        c = ce.Chan()
        g = ce.go(c.recv)
        s = ce.go(ctime.sleep, 86400)
        wait_parked(ce, g, "chan receive")
        wait_parked(ce, s, "sleep")
        ctime.sleep(5 * 60 + 30)
        dump = ce.runtime.stack()
        ctime.sleep(3 * 3600)
        dump2 = ce.runtime.stack()
        c.send(1)
        return g.goid, s.goid, dump, dump2

    g, s, dump, dump2 = ce.run(main, clock="virtual")
    assert f"goroutine {g} [chan receive, 5 minutes]:" in dump
    assert f"goroutine {s} [sleep, 5 minutes]:" in dump
    assert f"goroutine {g} [chan receive, 185 minutes]:" in dump2
    # time.Sleep shows in Go's dumps; so does chanemu.time.sleep in ours
    assert "chanemu.time.sleep(...)" in dump.split(f"goroutine {s} ")[1]


def test_dump_shows_minutes_for_a_goroutine_parked_at_the_epoch(ce):
    """The virtual clock starts at 0: a wait that began then is still a wait (this used to read
    as "not waiting" and the dump showed no minutes)."""
    import chanemu.time as ctime

    def main():
        c = ce.Chan()
        g = ce.go(c.recv)
        wait_parked(ce, g, "chan receive")
        ctime.sleep(120)
        return g.goid, ce.runtime.stack()

    g, dump = ce.run(main, clock="virtual")
    assert f"goroutine {g} [chan receive, 2 minutes]:" in dump


# -- sleep ----------------------------------------------------------------------------------
def test_sleep_parks_with_wait_reason_sleep(ce):
    import chanemu.time as ctime

    def main():
        g = ce.go(ctime.sleep, 10)
        wait_parked(ce, g, "sleep")
        assert g.waiting_on == ()
        ctime.sleep(11)
        return g.status

    assert ce.run(main, clock="virtual") == "dead"


def test_sleep_zero_or_negative_returns_without_yielding(ce):
    import chanemu.time as ctime

    def main():
        ran = []
        ce.go(ran.append, 1)
        ctime.sleep(0)
        ctime.sleep(-5)
        ctime.sleep(dt.timedelta(0))
        assert ran == []                       # Go's Sleep(d <= 0) returns at once
        ctime.sleep(dt.timedelta(milliseconds=1))
        assert ran == [1]
        return clock_ns(ce)

    assert ce.run(main, clock="virtual") == 1_000_000


def test_sleep_rejects_non_durations(ce):
    import chanemu.time as ctime

    def main():
        with pytest.raises(TypeError):
            ctime.sleep("1s")
        with pytest.raises(ValueError):
            ctime.sleep(float("nan"))
        return True

    assert ce.run(main, clock="virtual")


def test_real_clock_sleep_takes_wall_time(ce):
    import chanemu.time as ctime

    def main():
        t0 = ctime.now()
        w = wall.monotonic()
        ctime.sleep(0.05)
        return ctime.since(t0), wall.monotonic() - w, t0

    el, w, t0 = ce.run(main)
    assert el.seconds() >= 0.05 and w >= 0.05
    assert abs((dt.datetime.now(UTC) - t0).total_seconds()) < 60     # wall clock, aware UTC


def test_real_clock_idle_runtime_uses_no_cpu(ce):
    """While every goroutine waits for a timer, the thread sleeps in the scheduler: no spinning."""
    import chanemu.time as ctime

    def main():
        c = ce.Chan()
        ce.go(c.recv)                  # another goroutine blocked for good: not runnable either
        cpu = wall.process_time()
        w = wall.monotonic()
        ctime.sleep(0.5)
        return wall.process_time() - cpu, wall.monotonic() - w

    cpu, w = ce.run(main)
    assert w >= 0.5
    assert cpu < 0.1, f"{cpu:.3f} s of CPU while idle for {w:.3f} s"


def test_sleep_in_the_default_runtime(ce):
    """Outside run(), the calling thread's goroutine 1 sleeps on the real clock."""
    import chanemu.time as ctime
    done = []
    g = ce.go(lambda: done.append(ctime.now()))
    w = wall.monotonic()
    ctime.sleep(0.02)
    assert wall.monotonic() - w >= 0.02
    assert g.status == "dead" and len(done) == 1


# -- deadlock detection stays exact ---------------------------------------------------------
@pytest.mark.parametrize("clock", ["virtual", "real"])
def test_blocked_with_a_pending_timer_is_not_a_deadlock(ce, clock):
    import chanemu.time as ctime

    def main():
        c = ce.Chan()

        def late():
            ctime.sleep(0.05)
            c.send("late")
        ce.go(late)
        return c.recv()            # everything is blocked, but a timer is pending

    assert ce.run(main, clock=clock) == "late"


@pytest.mark.parametrize("clock", ["virtual", "real"])
def test_blocked_without_a_timer_is_a_deadlock(ce, clock):
    import chanemu.time as ctime

    def main():
        ctime.sleep(0.01)
        ce.Chan().recv()

    with pytest.raises(ce.Deadlock) as ei:
        ce.run(main, clock=clock)
    assert str(ei.value) == "all goroutines are asleep - deadlock!"
    assert "goroutine 1 [chan receive]:" in ei.value.dump


def test_timer_nobody_waits_for_does_not_postpone_the_deadlock(ce):
    """Go 1.23: a timer channel nobody blocks on is not in the timer heap, so the deadlock comes
    at once (before 1.23 it came when the timer fired, an hour of virtual time later)."""
    import chanemu.time as ctime
    seen = []

    def main():
        ctime.sleep(1)
        ctime.after(3600)               # fires into a channel nobody reads
        seen.append(ctime.now())
        ce.Chan().recv()

    w = wall.monotonic()
    with pytest.raises(ce.Deadlock) as ei:
        ce.run(main, clock="virtual")
    assert wall.monotonic() - w < 5
    assert "goroutine 1 [chan receive]:" in ei.value.dump
    assert seen == [ctime.EPOCH + dt.timedelta(seconds=1)]


def test_stopped_timer_does_not_keep_the_program_alive(ce):
    import chanemu.time as ctime

    def main():
        t = ctime.Timer(3600)
        assert t.stop()
        ce.Chan().recv()

    with pytest.raises(ce.Deadlock):
        ce.run(main, clock="virtual")


# -- Timer: ordering, stop and reset --------------------------------------------------------
def test_timers_fire_in_time_order(ce):
    import chanemu.time as ctime

    def main():
        fired = []
        done = ce.Chan()
        durations = [5, 1, 4, 2, 3, 0.5, 7, 6]

        def wait(d, t):
            v = t.c.recv()
            fired.append((d, clock_ns(ce), v))
            done.send(None)
        for d in durations:
            ce.go(wait, d, ctime.Timer(d))
        for _ in durations:
            done.recv()
        return fired

    fired = ce.run(main, clock="virtual")
    assert [d for d, _, _ in fired] == sorted([5, 1, 4, 2, 3, 0.5, 7, 6])
    for d, ns, v in fired:
        assert ns == round(d * S)          # received the instant it fired
        assert v == at(d)                  # the value is the time it fired


def test_timer_channel_presents_as_unbuffered(ce):
    import chanemu.time as ctime

    def main():
        t = ctime.Timer(1)
        assert len(t.c) == 0 and t.c.cap == 0
        ctime.sleep(2)                     # fired: the value waits in the hidden slot
        assert len(t.c) == 0 and t.c.cap == 0
        assert t.c.try_recv() == (at(1), True)
        assert t.c.try_recv() is None
        return True

    assert ce.run(main, clock="virtual")


def test_timer_stop_return_values(ce):
    import chanemu.time as ctime

    def main():
        out = {}
        t = ctime.Timer(1)
        out["stop pending"] = t.stop()
        out["stop again"] = t.stop()
        ctime.sleep(2)
        out["nothing sent after stop"] = t.c.try_recv()

        t = ctime.Timer(1)
        t.c.recv()
        out["stop after receive"] = t.stop()

        # Go 1.23: fired but not received is still "active"; stop discards the value
        t = ctime.Timer(1)
        ctime.sleep(2)
        out["stop fired unreceived"] = t.stop()
        out["no stale value after stop"] = t.c.try_recv()
        out["stop after that"] = t.stop()
        return out

    assert ce.run(main, clock="virtual") == {
        "stop pending": True, "stop again": False, "nothing sent after stop": None,
        "stop after receive": False,
        "stop fired unreceived": True, "no stale value after stop": None,
        "stop after that": False,
    }


def test_timer_reset_return_values_and_no_stale_value(ce):
    import chanemu.time as ctime

    def main():
        out = []
        t = ctime.Timer(1)
        out.append(t.reset(5))                      # pending: True; now due at 5
        out.append((t.c.recv(), clock_ns(ce)))
        out.append(t.reset(1))                      # expired and received: False
        out.append((t.c.recv(), clock_ns(ce)))
        ctime.sleep(3)                              # now 9; fires at 7, value unreceived
        t.reset(2)                                  # must discard the 7 s value
        out.append(t.c.try_recv())
        out.append((t.c.recv(), clock_ns(ce)))
        t2 = ctime.Timer(1)
        ctime.sleep(1.5)
        out.append(t2.reset(1))                     # fired, unreceived: True (Go 1.23)
        out.append(t2.stop())
        out.append(t2.reset(0))                     # stopped: False; due now
        out.append((t2.c.recv(), clock_ns(ce)))
        return out

    assert ce.run(main, clock="virtual") == [
        True, (at(5), 5 * S),
        False, (at(6), 6 * S),
        None, (at(11), 11 * S),
        True, True, False, (at(12.5), 12_500_000_000),
    ]


def test_after_func_runs_in_its_own_goroutine(ce):
    import chanemu.time as ctime

    def main():
        ran = []
        me = ce.runtime.current()

        def f():
            ran.append((ce.runtime.current() is not me, clock_ns(ce)))
        t = ctime.after_func(2, f)
        assert t.c == ce.nilchan
        stopped = ctime.after_func(1, lambda: ran.append("never"))
        assert stopped.stop() is True
        ctime.sleep(3)
        out = (list(ran), t.stop(), t.reset(1))
        ctime.sleep(2)
        return out, ran

    (first, stop_after, reset_after), ran = ce.run(main, clock="virtual")
    assert first == [(True, 2 * S)]
    assert stop_after is False and reset_after is False
    assert ran == [(True, 2 * S), (True, 4 * S)]       # the reset ran it once more


# -- after in select: the timeout pattern ---------------------------------------------------
def test_after_in_select_times_out(ce):
    import chanemu.time as ctime

    def main():
        work = ce.Chan()
        i, v, ok = ce.select(ce.recv(work), ce.recv(ctime.after(0.5)))
        return i, v, ok, clock_ns(ce)

    assert ce.run(main, clock="virtual") == (1, at(0.5), True, 500_000_000)


def test_after_in_select_loses_to_work(ce):
    import chanemu.time as ctime

    def main():
        work = ce.Chan()

        def producer():
            ctime.sleep(0.2)
            work.send("result")
        ce.go(producer)
        i, v, ok = ce.select(ce.recv(work), ce.recv(ctime.after(0.5)))
        t = clock_ns(ce)
        ctime.sleep(10)         # the losing timer fires later into its own channel: harmless
        return i, v, ok, t

    assert ce.run(main, clock="virtual") == (0, "result", True, 200_000_000)


def test_timeout_loop_pattern(ce):
    """for { select { case v := <-c: ...; case <-time.After(d): return } }"""
    import chanemu.time as ctime

    def main():
        c = ce.Chan()

        def producer():
            for k in range(5):
                ctime.sleep(0.1 * (k + 1))
                c.send(k)
        ce.go(producer)
        got = []
        while True:
            i, v, _ = ce.select(ce.recv(c), ce.recv(ctime.after(0.45)))
            if i == 1:
                return got, clock_ns(ce)
            got.append((v, clock_ns(ce)))

    got, end = ce.run(main, clock="virtual")
    assert got == [(0, 100_000_000), (1, 300_000_000), (2, 600_000_000), (3, 1_000_000_000)]
    assert end == 1_450_000_000          # the 5th send would come at 1.5 s


def test_after_in_select_real_clock(ce):
    import chanemu.time as ctime

    def main():
        w = wall.monotonic()
        i, _, _ = ce.select(ce.recv(ce.Chan()), ce.recv(ctime.after(0.05)))
        took = wall.monotonic() - w
        ready = ce.Chan(1)
        ready.send("now")
        j, v, _ = ce.select(ce.recv(ready), ce.recv(ctime.after(30)))
        return i, took, j, v

    i, took, j, v = ce.run(main)
    assert i == 1 and took >= 0.05
    assert (j, v) == (0, "now")


# -- Ticker ---------------------------------------------------------------------------------
def test_tick_is_drift_free_in_virtual_time(ce):
    """Each tick is due at start + n*d, however long the receiver takes between ticks."""
    import chanemu.time as ctime

    def main():
        c = ctime.tick(1)
        got = []
        for n in range(1, 11):
            v = c.recv()
            got.append((clock_ns(ce), v))
            ctime.sleep(0.3 + n / 100)         # work that takes a while, never a whole period
        return got

    got = ce.run(main, clock="virtual")
    assert got == [(n * S, at(n)) for n in range(1, 11)]


def test_ticker_drops_ticks_for_a_slow_receiver(ce):
    import chanemu.time as ctime

    def main():
        t = ctime.Ticker(1)
        got = []
        for _ in range(4):
            got.append((clock_ns(ce), t.c.recv()))
            ctime.sleep(2.5)                   # misses ticks: at most one waits in the channel
        t.stop()
        return got

    got = ce.run(main, clock="virtual")
    # tick 1 at 1 s; the receiver sleeps to 3.5 s: tick 2 waits, tick 3 is dropped; ...
    assert got == [(0, at(1)), (3_500_000_000, at(2)), (6_000_000_000, at(4)),
                   (8_500_000_000, at(7))]


def test_ticker_stop_and_reset(ce):
    import chanemu.time as ctime

    def main():
        t = ctime.Ticker(1)
        ctime.sleep(1.5)                 # tick at 1 s waits unreceived
        t.reset(2)                       # discards it; next ticks at 3.5, 5.5
        assert t.c.try_recv() is None
        a = (t.c.recv(), t.c.recv())
        t.stop()
        assert t.stop() is None          # Ticker.Stop returns nothing
        ctime.sleep(10)
        b = t.c.try_recv()               # stopped: nothing sent
        return a, b

    assert ce.run(main, clock="virtual") == ((at(3.5), at(5.5)), None)


def test_ticker_panics_on_non_positive_interval(ce):
    import chanemu.time as ctime

    def main():
        with pytest.raises(ce.Panic, match="^non-positive interval for NewTicker$"):
            ctime.Ticker(0)
        t = ctime.Ticker(1)
        with pytest.raises(ce.Panic, match="^non-positive interval for Ticker.Reset$"):
            t.reset(-1)
        t.stop()
        assert ctime.tick(0) == ce.nilchan          # Go's Tick returns nil for d <= 0
        return True

    assert ce.run(main, clock="virtual")


# -- Time values ----------------------------------------------------------------------------
def test_time_values_carry_the_monotonic_reading(ce):
    import chanemu.time as ctime

    def main():
        t0 = ctime.now()
        t1 = t0 + dt.timedelta(seconds=90)
        assert isinstance(t1, ctime.Time) and t1 == at(90)
        assert ctime.until(t1) == 90 * ctime.Second
        assert t1.sub(t0) == 90 * ctime.Second and t0.add(1.5) == at(1.5)
        assert t1 - t0 == 90 * ctime.Second and t0 + 90 * ctime.Second == t1
        ctime.sleep(100)
        assert ctime.since(t1) == 10 * ctime.Second
        assert ctime.since(at(50)) == 50 * ctime.Second   # a plain aware datetime works too
        with pytest.raises(TypeError):
            ctime.since(dt.datetime(2000, 1, 1))     # naive: no place on the clock
        return True

    assert ce.run(main, clock="virtual")


def test_now_on_the_real_clock_is_aware_utc(ce):
    import chanemu.time as ctime

    def main():
        t = ctime.now()
        return t, ctime.since(t)

    t, el = ce.run(main)
    assert t.tzinfo is not None and t.utcoffset() == dt.timedelta(0)
    assert abs((dt.datetime.now(UTC) - t).total_seconds()) < 60
    assert 0 <= el < 5 * ctime_duration(S)


def ctime_duration(ns):
    import chanemu.time as ctime
    return ctime.Duration(ns)


# -- Durations ------------------------------------------------------------------------------
@pytest.mark.parametrize("text,seconds", [
    ("24h", 86400.0), ("1h", 3600.0), ("90s", 90.0), ("500ms", 0.5), ("1h30m", 5400.0),
    ("-1.5h", -5400.0), ("2h45m0.5s", 9900.5), ("1.5us", 1.5e-6), ("3\u00b5s", 3e-6),
    ("100ns", 1e-7), ("0", 0.0), ("+5s", 5.0), (".5s", 0.5), ("1.s", 1.0),
])
def test_parse_duration(text, seconds):
    import chanemu.time as ctime
    d = ctime.parse_duration(text)
    assert isinstance(d, ctime.Duration) and d == round(seconds * S)


@pytest.mark.parametrize("text,message", [
    ("", 'time: invalid duration ""'), ("1", 'time: missing unit in duration "1"'),
    ("1d", 'time: unknown unit "d" in duration "1d"'), (".s", 'time: invalid duration ".s"'),
    ("-", 'time: invalid duration "-"'), ("3000000h", 'time: invalid duration "3000000h"'),
])
def test_parse_duration_errors_are_gos(text, message):
    import chanemu.time as ctime
    with pytest.raises(ValueError) as ei:
        ctime.parse_duration(text)
    assert str(ei.value) == message


@pytest.mark.parametrize("seconds,text", [
    (0, "0s"), (1e-9, "1ns"), (1.1e-6, "1.1\u00b5s"), (0.0022, "2.2ms"), (0.5, "500ms"),
    (3.3, "3.3s"), (64.5, "1m4.5s"), (3600, "1h0m0s"), (86400, "24h0m0s"), (5400, "1h30m0s"),
    (-90, "-1m30s"),
])
def test_format_duration_is_gos_string(seconds, text):
    import chanemu.time as ctime
    assert ctime.format_duration(seconds) == text
