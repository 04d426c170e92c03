"""The runtime's timer heap (Go's runtime timers: time.go's timer and the P's timer heap).

Shared by both twins: timers are not on any hot path, and one heap means one firing order.
A timer runs ``f(arg, now)`` in the scheduler when its time comes: ``f`` must not block (it
readies goroutines, closes or sends without blocking).

A timer is *pending* while it has a time to fire (``when``) and has neither fired nor been
stopped; it is *heaped* while it has an entry in the heap. Other timers (sleep, after_func) are
heaped whenever they are pending. A channel timer (``ischan``: time.Timer, time.Ticker) is heaped
only while a goroutine is blocked on its channel, as in Go 1.23 (time.go's isChan timers,
chan.go's blockTimerChan/unblockTimerChan): nobody waiting means nothing can be woken by it, so it
must not keep the program alive or hide a deadlock. A receive that does not block runs it if it is
due (``maybe_run_chan``, Go's maybeRunChan), so the value is there when somebody looks.

Stopped and reset timers leave their old heap entries behind: an entry is live only while its
generation matches the timer's. When the last waiter leaves, a channel timer's entry becomes a
*zombie* (as in Go): it stays in the heap, so that the next waiter can take it back without a
push, and is dropped, not run, when it reaches the top.
"""
import heapq
import itertools


class Timer:
    """A runtime timer: fires f(arg, now) at ``when`` (runtime clock, ns)."""
    __slots__ = ("when", "f", "arg", "gen", "pending", "heaped", "zombie", "ischan", "blocked",
                 "__weakref__")

    def __init__(self, f, arg):
        self.f = f
        self.arg = arg
        self.when = 0
        self.gen = 0
        self.pending = False
        self.heaped = False      # has the live entry (gen matches) in the heap
        self.zombie = False      # heaped, but nobody waits on its channel: drop it at the top
        self.ischan = False      # feeds a channel (set by chanemu.time before scheduling it)
        self.blocked = 0         # goroutines blocked on its channel


class TimerHeap:
    __slots__ = ("h", "seq", "live", "zombies")

    def __init__(self):
        self.h = []                    # [when, seq, gen, timer]
        self.seq = itertools.count()
        self.live = 0                  # heaped timers (zombies included)
        self.zombies = 0

    def __len__(self):
        """Heaped timers that will fire: what keeps a program alive."""
        return self.live - self.zombies

    def _push(self, t):
        t.heaped = True
        self.live += 1
        heapq.heappush(self.h, (t.when, next(self.seq), t.gen, t))
        if len(self.h) > 64 and len(self.h) > 4 * self.live:
            self._compact()

    def _compact(self):
        # Entries of stopped and reset timers pile up under a loop that resets a timer faster
        # than it fires; keep the heap proportional to the timers that are in it.
        # In place: run() may be iterating over this list (a timer's f adds timers).
        self.h[:] = [e for e in self.h if e[3].heaped and e[2] == e[3].gen]
        heapq.heapify(self.h)

    def _unheap(self, t):
        """Forget t's entry (it stays in the heap, dead: its generation no longer matches)."""
        t.gen += 1
        if t.heaped:
            t.heaped = False
            self.live -= 1
            if t.zombie:
                t.zombie = False
                self.zombies -= 1

    def _drop_top(self, t):
        """t's entry was popped from the top without running it."""
        t.heaped = False
        self.live -= 1
        if t.zombie:
            t.zombie = False
            self.zombies -= 1

    def add(self, t, when):
        """Schedule t at when (replacing any schedule it had)."""
        self._unheap(t)
        t.when = when
        t.pending = True
        if not t.ischan or t.blocked > 0:
            self._push(t)

    def stop(self, t):
        """Unschedule t; True if it was pending (Go's Timer.Stop result)."""
        was = t.pending
        t.pending = False
        self._unheap(t)
        return was

    def reset(self, t, when):
        """Reschedule t at when; True if it was pending (Go's Timer.Reset result)."""
        was = t.pending
        self.add(t, when)
        return was

    def block(self, t):
        """blockTimerChan: a goroutine is about to block on t's channel; t must be heaped."""
        t.blocked += 1
        if t.zombie:
            t.zombie = False
            self.zombies -= 1
        elif t.pending and not t.heaped:
            self._push(t)

    def unblock(self, t):
        """unblockTimerChan: a goroutine blocked on t's channel is no longer blocked."""
        if t.blocked <= 0:
            raise RuntimeError("chanemu: timer data corruption (unblock without block)")
        t.blocked -= 1
        if t.blocked == 0 and t.heaped and not t.zombie:
            t.zombie = True
            self.zombies += 1

    def maybe_run_chan(self, t, now):
        """maybeRunChan: run a channel timer that nobody waits on, if it is due; True if it ran.
        (A heaped timer is the heap's to run, unless it is a zombie: then it is ours.)"""
        if not t.pending or t.when > now or (t.heaped and not t.zombie):
            return False
        self._unheap(t)
        t.pending = False
        t.f(t.arg, now)
        return True

    def next_when(self):
        """The earliest heaped timer's time, or None (dead and zombie entries are dropped)."""
        h = self.h
        while h:
            when, _, gen, t = h[0]
            if gen == t.gen and t.heaped:
                if not t.zombie:
                    return when
                self._drop_top(t)
            heapq.heappop(h)
        return None

    def run(self, now):
        """Fire every heaped timer due at or before now, earliest first; returns how many fired."""
        n = 0
        h = self.h
        while h:
            when, _, gen, t = h[0]
            if not (gen == t.gen and t.heaped):
                heapq.heappop(h)
                continue
            if t.zombie:
                heapq.heappop(h)
                self._drop_top(t)
                continue
            if when > now:
                break
            heapq.heappop(h)
            self._drop_top(t)
            t.pending = False
            n += 1
            t.f(t.arg, now)
        return n

    def roots(self):
        """The timers that will fire by themselves (heaped, not zombies): the leak detector's
        roots."""
        return [t for _, _, gen, t in self.h if gen == t.gen and t.heaped and not t.zombie]

    def clear(self):
        for _, _, _, t in self.h:
            t.pending = False
            t.heaped = t.zombie = False
        self.h.clear()
        self.live = 0
        self.zombies = 0
