"""The runtime's timer heap (Go's runtime timers: time.go's timer and the P's timer heap).

Shared by both twins: timers are not on any hot path, and one heap means one firing order.
A timer runs ``f(arg, now)`` in the scheduler when its time comes: ``f`` must not block (it
readies goroutines, closes or sends without blocking). Stopped and reset timers leave their old
heap entries behind; an entry is live only while its generation matches the timer's.
"""
import heapq
import itertools


class Timer:
    """A runtime timer: fires f(arg, now) at ``when`` (runtime clock, ns)."""
    __slots__ = ("when", "f", "arg", "gen", "pending", "__weakref__")

    def __init__(self, f, arg):
        self.f = f
        self.arg = arg
        self.when = 0
        self.gen = 0
        self.pending = False


class TimerHeap:
    __slots__ = ("h", "seq", "live")

    def __init__(self):
        self.h = []                    # [when, seq, gen, timer]
        self.seq = itertools.count()
        self.live = 0                  # pending timers

    def __len__(self):
        return self.live

    def add(self, t, when):
        """Schedule t at when (it must not be pending)."""
        t.gen += 1
        t.when = when
        t.pending = True
        self.live += 1
        heapq.heappush(self.h, (when, next(self.seq), t.gen, t))

    def stop(self, t):
        """Unschedule t; True if it was pending (Go's Timer.Stop result)."""
        if not t.pending:
            return False
        t.pending = False
        t.gen += 1
        self.live -= 1
        return True

    def reset(self, t, when):
        """Reschedule t at when; True if it was pending (Go's Timer.Reset result)."""
        was = self.stop(t)
        self.add(t, when)
        return was

    def next_when(self):
        """The earliest pending timer's time, or None."""
        h = self.h
        while h:
            when, _, gen, t = h[0]
            if t.pending and gen == t.gen:
                return when
            heapq.heappop(h)
        return None

    def run(self, now):
        """Fire every timer due at or before now, earliest first; returns how many fired."""
        n = 0
        h = self.h
        while h:
            when, _, gen, t = h[0]
            if not (t.pending and gen == t.gen):
                heapq.heappop(h)
                continue
            if when > now:
                break
            heapq.heappop(h)
            t.pending = False
            self.live -= 1
            n += 1
            t.f(t.arg, now)
        return n

    def clear(self):
        for _, _, _, t in self.h:
            t.pending = False
        self.h.clear()
        self.live = 0
