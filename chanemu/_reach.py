"""Go 1.26's goroutine leak detection, over the Python object graph (see pprof.goroutine_leak_profile).

Go marks from the runnable goroutines' stacks and the globals only; a goroutine parked on a
channel that got marked is *eventually runnable*, so its stack becomes a root too; marking goes on
to a fixed point, and the goroutines still parked on unmarked channels are leaked: nothing that
can ever run can reach their channels (golang/proposal design 74609, runtime/mgc.go
findGoroutineLeaks). Here the heap is Python's: the objects gc.get_referents reaches, the locals of
goroutine frames (frame.f_locals, which includes closure cells), and what a channel holds (its
buffered values and its blocked senders' values). Goroutine handles, greenlets, runtimes and
sudogs are not followed: a goroutine is reached only by becoming a root, as a G's stack in Go.
"""
import gc
import sys
import threading
import types

from ._views import chan_id

CHAN_WAITS = frozenset(("chan send", "chan receive", "select"))
NEVER_RUNNABLE = frozenset(("chan send (nil chan)", "chan receive (nil chan)", "select (no cases)"))

_CHAN, _BARRIER, _FRAME, _PLAIN = range(4)


def _kinds():
    """Type classifiers for the twins loaded in this process (through the core interface)."""
    from . import _coreapi
    chans, barriers = [], []
    try:
        import greenlet
        barriers.append(greenlet.greenlet)
    except ImportError:     # pragma: no cover
        pass
    for core in _coreapi.loaded_cores():
        chans.append(core.Chan)
        barriers += core.OPAQUE_TYPES
    return tuple(chans), tuple(barriers)


def _chan_referents(c):
    """What a channel keeps reachable: its buffered values, its blocked senders' values (Go's
    sudog.elem), and its timer if it is a timer channel."""
    out = list(c._hchan_field("buf"))
    for t in c._waitq("sendq"):
        out.append(t[1])
    timer = getattr(c, "timer", None)
    if timer is not None:
        out.append(timer)
    return out


class _Marker:
    def __init__(self):
        self.chan_types, self.barrier_types = _kinds()
        self.kind = {types.FrameType: _FRAME}
        self.seen = {}          # id -> object (kept alive so ids are not reused meanwhile)
        self.marked = set()     # ids of reached channels
        self.stack = []

    def _classify(self, t):
        if self.chan_types and issubclass(t, self.chan_types):
            k = _CHAN
        elif issubclass(t, self.barrier_types):
            k = _BARRIER
        elif issubclass(t, types.FrameType):
            k = _FRAME
        else:
            k = _PLAIN
        self.kind[t] = k
        return k

    def push_goroutine(self, g, frame):
        # The handle itself is a barrier; a root goroutine contributes what it holds (its
        # function, arguments) and its stack.
        args, kwargs = g.start_args
        self.stack.append(g.start_function)
        self.stack.extend(args)
        self.stack.extend(kwargs.values())
        if frame is not None:
            self.stack.append(frame)

    def run(self):
        from ._gsnap import is_observer_frame
        seen = self.seen
        stack = self.stack
        kind = self.kind
        get_referents = gc.get_referents
        is_tracked = gc.is_tracked
        while stack:
            o = stack.pop()
            i = id(o)
            if i in seen:
                continue
            t = type(o)
            k = kind.get(t)
            if k is None:
                k = self._classify(t)
            if k == _PLAIN:
                if not is_tracked(o):
                    continue    # atoms and containers of atoms lead nowhere
                seen[i] = o
                stack.extend(get_referents(o))
            elif k == _CHAN:
                seen[i] = o
                if chan_id(o) != 0:
                    self.marked.add(i)
                    stack.extend(_chan_referents(o))
            elif k == _FRAME:
                seen[i] = o
                back = o.f_back
                if back is not None:
                    stack.append(back)
                if not is_observer_frame(o):
                    # A live frame's locals are not gc referents (they are roots of the
                    # thread); f_locals reads them, closure cells included.
                    try:
                        stack.extend(o.f_locals.values())
                    except Exception:    # pragma: no cover - defensive
                        pass
                    stack.extend(get_referents(o))
            # _BARRIER: not followed


def leaked_goids(rt, gs, where):
    """The goids of rt's leaked goroutines among gs (a list of handles). Run on rt's thread."""
    m = _Marker()
    pending = []     # (g, channel ids) parked on channels not yet reached
    leaked = []
    for g in gs:
        if g.status == "waiting":
            reason = g.wait_reason
            if reason in NEVER_RUNNABLE:
                # nil-channel waits and select {} make goroutines unrunnable by definition,
                # except main blocked in select {} (Go reverts it: not reported).
                if not (g.goid == 1 and reason == "select (no cases)"):
                    leaked.append(g)
                continue
            if reason in CHAN_WAITS:
                pending.append((g, [id(c) for c in g.waiting_on if chan_id(c) != 0]))
                continue
            # sleep, sync waits and the rest: eventually runnable (no false positives; see
            # goroutine_leak_profile's limits)
        m.push_goroutine(g, where.frame_of(g))

    # The globals (every module's namespace), pending runtime timers, and the stacks of the
    # process's other threads (not goroutines of this runtime, but live code all the same).
    for mod in list(sys.modules.values()):
        d = getattr(mod, "__dict__", None)
        if d is not None:
            m.stack.append(d)
    # Only timers that fire by themselves: a channel timer nobody waits on is not one (Go 1.23).
    m.stack.extend(rt.timers.roots())
    me = threading.get_ident()
    for ident, frame in sys._current_frames().items():
        if ident != rt.thread_ident and ident != me:
            m.stack.append(frame)
    if not where.on_thread:
        m.stack.append(sys._getframe())     # this thread's callers (observer frames skipped)

    while True:
        m.run()
        marked = m.marked
        still = []
        woke = False
        for g, ids in pending:
            if any(i in marked for i in ids):
                m.push_goroutine(g, where.frame_of(g))
                woke = True
            else:
                still.append((g, ids))
        pending = still
        if not woke:
            break
    leaked.extend(g for g, _ in pending)
    return {g.goid for g in leaked}
