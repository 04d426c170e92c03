"""chanemu.time: Go's time package on the emulated runtime's clock.

``sleep``, ``after``, ``tick``, ``Timer``, ``Ticker``, ``after_func``, ``now``, ``since`` and
``until`` honour the clock of the program that calls them (``run(main, clock=...)``):

- ``clock="real"`` (the default): Go's monotonic clock. A program whose goroutines all wait for a
  timer sleeps in the scheduler until the earliest one is due; it does not spin.
- ``clock="virtual"``: a fake clock in the manner of Go's ``testing/synctest`` bubbles. It starts at
  Go's synctest epoch, 2000-01-01 00:00:00 UTC, stands still while any goroutine can run, and jumps
  to the next timer when every goroutine is blocked: ``sleep(3600)`` returns at once in wall time
  and exactly one hour later on the clock.

On both clocks a program blocked with a timer pending is not deadlocked; with no timer pending and
nothing runnable it is (``chanemu.Deadlock``).

Durations are taken as float seconds (an ``int`` or a ``datetime.timedelta`` works too) or, exactly,
as a ``Duration``: Go's ``time.Duration``, an ``int`` of nanoseconds whose ``str()`` is Go's
``String()`` (``2 * Second + 500 * Millisecond`` prints ``2.5s``). ``Nanosecond`` ... ``Hour`` are
Go's constants as Durations; ``NANOSECOND`` ... ``HOUR`` the same in float seconds.
``parse_duration("1h30m")`` is Go's ``ParseDuration`` (a Duration, exact to the nanosecond);
``since``, ``until``, ``t1 - t0`` and ``t.sub(u)`` return Durations, as in Go.
``format_duration(5400)`` is ``Duration.String`` of seconds.

Timer channels behave as Go 1.23+'s: ``len(t.c)`` and ``t.c.cap`` are 0 (the channel presents as
unbuffered), and after ``stop()`` or ``reset()`` returns no stale value is ever received. The timers
themselves live on the runtime's timer heap, which the scheduler runs at every scheduling point;
as in Go 1.23, a Timer's or Ticker's timer is in the heap only while a goroutine is blocked
receiving from its channel, so one that nobody waits on keeps nothing alive (a program blocked
otherwise is deadlocked) and a receive that does not block runs it first if it is due.
Everything here reaches the active twin (``chanemu._impl``) when it is called.
"""
import datetime as _dt
import re as _re

import chanemu
from ._errors import Panic
from ._duration import (Duration, Nanosecond, Microsecond, Millisecond, Second, Minute, Hour,
                        MinDuration, MaxDuration, from_seconds, parse_duration, duration_string)

__all__ = ["sleep", "after", "tick", "after_func", "Timer", "new_timer", "Ticker", "new_ticker",
           "now", "since", "until", "Time", "EPOCH", "parse_duration", "format_duration",
           "NANOSECOND", "MICROSECOND", "MILLISECOND", "SECOND", "MINUTE", "HOUR",
           "Duration", "Nanosecond", "Microsecond", "Millisecond", "Second", "Minute", "Hour",
           "MinDuration", "MaxDuration", "from_seconds"]

# Go's Duration constants, in seconds.
NANOSECOND = 1e-9
MICROSECOND = 1e-6
MILLISECOND = 1e-3
SECOND = 1.0
MINUTE = 60.0
HOUR = 3600.0

_NS = 1_000_000_000
# The latest time a timer can be set for. Go's maxWhen is 1<<63 - 1; the scheduler uses that value
# to mean "no timer", so ours is one less: a timer "forever" away still counts as pending.
_MAX_WHEN = (1 << 63) - 2

UTC = _dt.timezone.utc
#: The virtual clock's zero: Go's synctest epoch, midnight UTC 2000-01-01 (946684800 Unix seconds).
EPOCH = _dt.datetime(2000, 1, 1, tzinfo=UTC)


# -- time.Time ------------------------------------------------------------------------------
class Time(_dt.datetime):
    """time.Time: an aware UTC ``datetime`` that also carries the runtime's monotonic reading.

    As in Go, ``now()`` reads both clocks: the wall clock for the date and time you see, and the
    runtime's monotonic clock (``_mono``, ns) that ``since``, ``until`` and ``t1 - t0`` use when
    both operands have one. Adding or subtracting a ``timedelta`` keeps the reading (Go's
    ``t.Add``). On the virtual clock the two agree exactly: the time is ``EPOCH`` plus the clock.
    """
    __slots__ = ("_mono", "_clock")

    def __add__(self, other):
        if isinstance(other, Duration):       # t.Add(d), to the nanosecond on the monotonic clock
            return self._add_ns(int(other))
        r = super().__add__(other)
        if isinstance(other, _dt.timedelta) and isinstance(r, Time):
            m = getattr(self, "_mono", None)
            if m is not None:
                r._mono = m + _td_ns(other)
                r._clock = self._clock
        return r

    __radd__ = __add__

    def __sub__(self, other):
        if isinstance(other, _dt.timedelta):
            return self.__add__(-other)
        if isinstance(other, Duration):
            return self._add_ns(-int(other))
        if isinstance(other, Time):
            return self.sub(other)
        return super().__sub__(other)

    def _add_ns(self, ns):
        r = super().__add__(_dt.timedelta(microseconds=ns // 1000))
        m = getattr(self, "_mono", None)
        if m is not None and isinstance(r, Time):
            r._mono = m + ns
            r._clock = self._clock
        return r

    def add(self, d):
        """t.Add(d): this time plus d (a Duration, or seconds) (a ``Time``)."""
        return self._add_ns(_dur_ns(d))

    def sub(self, u):
        """t.Sub(u): the Duration t - u (from the monotonic readings when both have one),
        saturating at the ends of Duration's range as Go's does."""
        a, b = getattr(self, "_mono", None), getattr(u, "_mono", None)
        if a is None or b is None or self._clock != getattr(u, "_clock", None):
            a, b = _td_ns(_dt.datetime.__sub__(self, u)), 0
        return Duration(max(int(MinDuration), min(int(MaxDuration), a - b)))


def _make_time(d, mono, clock):
    t = Time(d.year, d.month, d.day, d.hour, d.minute, d.second, d.microsecond, UTC)
    t._mono = mono
    t._clock = clock
    return t


def _time_at(rt, when):
    """The Time of runtime clock reading ``when`` (ns)."""
    if rt.clock == "virtual":
        return _make_time(EPOCH + _dt.timedelta(microseconds=when // 1000), when, "virtual")
    delta = rt.nanotime() - when
    wall = _dt.datetime.now(UTC) - _dt.timedelta(microseconds=delta // 1000)
    return _make_time(wall, when, "real")


def _ns_of(rt, t):
    """The runtime clock reading (ns) of the time t (a Time or an aware datetime)."""
    if not isinstance(t, _dt.datetime):
        raise TypeError(f"expected a datetime, got {type(t).__name__}")
    if t.tzinfo is None or t.utcoffset() is None:
        raise TypeError("a naive datetime has no place on the clock: use an aware one "
                        "(datetime.timezone.utc)")
    mono = getattr(t, "_mono", None)
    if mono is not None and getattr(t, "_clock", None) == rt.clock:
        return mono
    if rt.clock == "virtual":
        return _td_ns(t - EPOCH)
    return rt.nanotime() + _td_ns(t - _dt.datetime.now(UTC))


def _td_ns(td):
    return (td.days * 86_400 + td.seconds) * _NS + td.microseconds * 1000


def _dur_ns(d):
    """A duration (a Duration, exactly; float or int seconds; a timedelta) in integer ns."""
    if isinstance(d, Duration):
        return int(d)
    if isinstance(d, _dt.timedelta):
        return _td_ns(d)
    if isinstance(d, int):
        return d * _NS
    if isinstance(d, float):
        if d != d:
            raise ValueError("duration is NaN")
        if d >= 9.3e9:
            return 1 << 63
        if d <= -9.3e9:
            return -(1 << 63)
        return round(d * _NS)
    try:
        return _dur_ns(float(d))
    except (TypeError, ValueError):
        raise TypeError(f"a duration is seconds (a number) or a timedelta, "
                        f"not {type(d).__name__}") from None


def _when(rt, ns):
    """Go's when(d): the clock reading d from now, clamped to the timer range."""
    now = rt.nanotime()
    if ns <= 0:
        return now
    return min(now + ns, _MAX_WHEN)


def _rt():
    return chanemu._impl.current_runtime()


# -- the clock ------------------------------------------------------------------------------
def now():
    """time.Now: the current time, an aware UTC ``Time`` (a ``datetime``).

    Virtual clock: ``EPOCH`` plus the clock. Real clock: the wall clock, with the monotonic reading
    that ``since`` uses. A runtime call: a goroutine that has run 10 ms without blocking yields
    here (preemption).
    """
    chanemu._impl.checkpreempt()
    rt = _rt()
    n = rt.nanotime()
    if rt.clock == "virtual":
        return _make_time(EPOCH + _dt.timedelta(microseconds=n // 1000), n, "virtual")
    return _make_time(_dt.datetime.now(UTC), n, "real")


def since(t):
    """time.Since: the Duration elapsed since t (from the monotonic clock when t came from
    ``now()``)."""
    rt = _rt()
    return _saturated(rt.nanotime() - _ns_of(rt, t))


def until(t):
    """time.Until: the Duration until t (negative once t has passed)."""
    rt = _rt()
    return _saturated(_ns_of(rt, t) - rt.nanotime())


def _saturated(ns):
    return Duration(max(int(MinDuration), min(int(MaxDuration), ns)))


# -- sleep ----------------------------------------------------------------------------------
def _goroutine_ready(arg, now):
    # goroutineReady: the sleeper's timer fired.
    ready, gp = arg
    ready(gp)


def sleep(d):
    """time.Sleep: the caller parks (wait reason ``"sleep"``) until d seconds have passed.

    A duration of zero or less returns at once, without yielding, as in Go. On the virtual clock
    the sleep takes no wall time: the clock jumps once every goroutine is blocked.
    """
    ns = _dur_ns(d)
    if ns <= 0:
        return
    impl = chanemu._impl
    rt = impl.current_runtime()
    t = rt.newtimer(_goroutine_ready, (impl.ready, impl.getg()))
    rt.addtimer(t, _when(rt, ns))
    try:
        impl.park("sleep")
    except BaseException:
        rt.stoptimer(t)
        raise


# -- Timer and Ticker -----------------------------------------------------------------------
def _send_time(tm, now):
    # sendTime: a non-blocking send of the time the timer was due (Go: Now().Add(-delta)).
    # A ticker first moves its next time on by whole periods, so it never drifts.
    rt = tm._rt
    when = tm._when
    period = tm._period
    if period:
        nxt = when + period * (1 + (now - when) // period)
        tm._when = min(nxt, _MAX_WHEN)
        rt.addtimer(tm._t, tm._when)
    tm._ch.try_send(_time_at(rt, when))


def _go_func(tm, now):
    # goFunc: an AfterFunc timer runs f in its own goroutine.
    _spawn(tm._f)


def _spawn(f):
    chanemu.go(f)


class Timer:
    """time.Timer: a single event. ``Timer(d)`` is ``time.NewTimer(d)``.

    When the timer expires, the current time is sent on ``c`` (unless the timer was made by
    ``after_func``, whose ``c`` is the nil channel and which runs f in its own goroutine instead).
    ``c`` presents as unbuffered, as in Go 1.23+: ``len(t.c) == t.c.cap == 0``.
    """
    __slots__ = ("c", "_ch", "_rt", "_t", "_f", "_when", "_period", "__weakref__")

    def __init__(self, d, _f=None, _period=0):
        impl = chanemu._impl
        rt = impl.current_runtime()
        self._rt = rt
        self._f = _f
        self._period = _period
        if _f is None:
            c = impl.Chan(1)
            t = rt.newtimer(_send_time, self)
            # Go 1.23: in the runtime's heap only while a goroutine blocks on c (chanemu._timers).
            t.ischan = True
            c.timer = t
            self._set_chan(c)
        else:
            t = rt.newtimer(_go_func, self)
            self._set_chan(impl.nilchan)
        self._t = t
        self._when = _when(rt, _dur_ns(d))
        rt.addtimer(t, self._when)

    def _set_chan(self, c):
        # The timer sends on _ch; its users get c, the receive-only view (Go's <-chan Time).
        self._ch = c
        self.c = c.recv_only()

    def _drain(self):
        # timerchandrain: discard a value sent but not received, so none is ever seen stale.
        # Called before the timer changes: the receive runs a due timer nobody waited on (Go's
        # maybeRunChan), so that value is discarded too, where Go's would not be sent at all.
        return self._f is None and self.c.try_recv() is not None

    def stop(self):
        """Timer.Stop: the timer will not fire after this.

        True when this call is what kept it from firing; False when it had fired already (its
        value received, or its function started) or had been stopped before. As in Go 1.23+, a value that was
        sent but not yet received is discarded, and that counts as stopping the timer: True.
        """
        drained = self._drain()
        return self._rt.stoptimer(self._t) or drained

    def reset(self, d):
        """Timer.Reset: make the timer expire after d seconds; returns True if it had been active
        (the same rule as ``stop``). No value from before the reset is received after it."""
        rt = self._rt
        drained = self._drain()
        self._when = _when(rt, _dur_ns(d))
        return rt.resettimer(self._t, self._when) or drained

    def __repr__(self):
        state = "pending" if self._t.pending else "stopped or fired"
        return f"<chanemu.time.Timer {state}, due at {self._when} ns>"


def new_timer(d):
    """time.NewTimer: same as ``Timer(d)``."""
    return Timer(d)


def after_func(d, f):
    """time.AfterFunc: after d seconds, run f() in its own goroutine. Returns the Timer, whose
    ``stop()`` cancels the call (True if it did) and whose ``c`` is the nil channel."""
    if not callable(f):
        raise TypeError(f"after_func: {type(f).__name__!r} object is not callable")
    return Timer(d, _f=f)


def after(d):
    """time.After: a channel on which the current time is sent after d seconds
    (``Timer(d).c``). The usual timeout: ``select(recv(work), recv(after(1)))``."""
    return Timer(d).c


class Ticker(Timer):
    """time.Ticker: sends the time on ``c`` every d seconds. ``Ticker(d)`` is ``time.NewTicker(d)``.

    Ticks never drift: tick n is due at start + n*d whatever the receiver does, and ticks that a
    slow receiver misses are dropped (the channel holds at most one). d must be positive.
    """
    __slots__ = ()

    def __init__(self, d):
        ns = _dur_ns(d)
        if ns <= 0:
            raise Panic("non-positive interval for NewTicker")
        super().__init__(d, _period=ns)

    def stop(self):
        """Ticker.Stop: no more ticks are sent, and none sent before is received after it."""
        super().stop()

    def reset(self, d):
        """Ticker.Reset: stop the ticker and restart it with period d (next tick d from now)."""
        ns = _dur_ns(d)
        if ns <= 0:
            raise Panic("non-positive interval for Ticker.Reset")
        self._period = ns
        super().reset(d)

    def __repr__(self):
        return f"<chanemu.time.Ticker every {format_duration(self._period / _NS)}>"


def new_ticker(d):
    """time.NewTicker: same as ``Ticker(d)``."""
    return Ticker(d)


def tick(d):
    """time.Tick: the channel of a new Ticker(d); the nil channel if d <= 0, as in Go."""
    if _dur_ns(d) <= 0:
        return chanemu._impl.nilchan.recv_only()
    return Ticker(d).c


# -- Duration formatting ------------------------------------------------------------------
def format_duration(d):
    """Duration.String of d (a Duration exactly, or seconds): "1h0m0s", "1.5s", "500ms"."""
    return duration_string(_dur_ns(d))
