"""The scheduler of one Go P, in pure Python: the readable twin of src_c/proc.pxi.

Mirrors the parts of runtime/proc.go that channels need: the G registry (allgs), a FIFO run queue
with ``runnext``, ``gopark``/``goready``, ``newproc``/``goexit0`` with a free list of finished
goroutines (Go's gfput/gfget: ``gfput_current``/``gfget``), ``acquireSudog``/``releaseSudog`` with
Go's per-P cache, and Go's checkdead (``findrunnable`` reports the deadlock when nothing can run).

One Runtime is one emulated Go program with GOMAXPROCS=1. Each OS thread has its own: the default
runtime, created on first use, in which the calling greenlet is goroutine 1, and the runtimes of
``run()`` calls, each with a fresh goroutine 1 while it runs.

Invariants (checked by Runtime.check_invariants):
  Exactly one G is _Grunning: curg. Every G in runnext, runq or globrunq is _Grunnable, and every
  _Grunnable G is in exactly one of them. A _Gwaiting G is in no run queue. allgs holds every G that is not _Gdead.
"""
import itertools
import sys
import threading
import time as _time
from collections import deque

import greenlet

from .. import _errors, _handle, _preempt
from .._errors import Deadlock, GoExit
from .._timers import Timer, TimerHeap
from . import rand
from .._traceback import pytest_hide as __tracebackhide__  # noqa: F401 (pytest)

# G status (runtime2.go). Only these five are used; the numbers are Go's.
_Gidle = 0          # Goroutine.__new__ alone: never made by go(), never runs
_Grunnable = 1
_Grunning = 2
_Gwaiting = 4
_Gdead = 6
STATUS = {_Gidle: "idle", _Grunnable: "runnable", _Grunning: "running", _Gwaiting: "waiting", _Gdead: "dead"}

# waitReason strings (runtime2.go); emulate the strings, not Go's numbering.
waitReasonZero = None
waitReasonSleep = "sleep"
waitReasonChanReceiveNilChan = "chan receive (nil chan)"
waitReasonChanSendNilChan = "chan send (nil chan)"
waitReasonSelectNoCases = "select (no cases)"
waitReasonSelect = "select"
waitReasonChanReceive = "chan receive"
waitReasonChanSend = "chan send"
WAIT_REASONS = (None, "sleep", "chan receive (nil chan)", "chan send (nil chan)",
                "select (no cases)", "select", "chan receive", "chan send", "sync.Cond.Wait",
                "sync.Mutex.Lock", "sync.RWMutex.RLock", "sync.RWMutex.Lock",
                "sync.WaitGroup.Wait", "semacquire")
NO_TIMER = (1 << 63) - 1

# Python 3.11's time module lacks the constant on Linux, where the clock's id is 6.
_COARSE = getattr(_time, "CLOCK_MONOTONIC_COARSE",
                  6 if sys.platform.startswith("linux") else _time.CLOCK_MONOTONIC)
_clock_ns = _time.clock_gettime_ns

LOCAL_RUNQ_CAP = 256     # len(p.runq)
SUDOG_CACHE_CAP = 128   # len(p.sudogbuf)
GFREE_CAP = 1024        # finished goroutines kept for reuse (Go's gFree lists; ours are greenlets)


class sudog:
    """A G waiting on a channel: one per (goroutine, channel) wait, as in runtime2.go.

    g, next, prev, elem and c are protected by the channel the sudog is queued on; waitlink chains
    the sudogs of one G (select) in lock order and is only touched by that G.
    """
    __slots__ = ("g", "next", "prev", "elem", "releasetime", "isSelect", "success",
                 "waitlink", "c")

    def __init__(self):
        self.g = None
        self.next = None
        self.prev = None
        self.elem = None
        self.releasetime = 0      # Go's block-profile stamp: always 0, no block profile
        self.isSelect = False
        self.success = False
        self.waitlink = None
        self.c = None


class Goroutine:
    """A goroutine (Go's ``g``). Each goroutine has exactly one handle: this object.

    Public fields: goid, status, wait_reason, waiting_on, created_by, stack().
    """
    __slots__ = ("goid", "atomicstatus", "waitreason", "waitsince", "param", "waiting",
                 "selectDone", "parentGoid", "gopc", "startfn", "args", "kwargs", "rt", "gr",
                 "nilwait", "waitobj", "__weakref__")

    def __new__(cls, *args, **kwargs):
        # Goroutine.__new__ alone gives an idle G that belongs to no runtime (as the C twin)
        gp = object.__new__(cls)
        gp._setup(None, 0, None, None, None, 0, None)
        gp.atomicstatus = _Gidle
        return gp

    def __init__(self, *args, **kwargs):
        raise TypeError("goroutines are made by go(), not by Goroutine()")

    def __init_subclass__(cls, **kwargs):
        raise TypeError("type 'Goroutine' is not an acceptable base type")

    def __reduce_ex__(self, protocol):
        # each goroutine has exactly one handle (and the C twin's cannot be copied)
        raise TypeError(f"cannot pickle or copy '{type(self).__name__}' object")

    def _setup(self, rt, goid, fn, args, kwargs, parent, gopc):
        self.rt = rt
        self.goid = goid
        self.atomicstatus = _Grunnable
        self.waitreason = waitReasonZero
        self.waitsince = 0
        self.param = None        # the sudog whose operation completed, set by the waker
        self.waiting = None      # sudogs this G waits on, in lock order (through waitlink)
        self.selectDone = 0      # someone won the race to wake this G in a select
        self.nilwait = False     # parked on the nil channel
        self.waitobj = None      # the sync object of a park(reason, obj)
        self.parentGoid = parent
        self.gopc = gopc         # (code, lineno, module) of the go statement
        self.startfn = fn
        self.args = args
        self.kwargs = kwargs
        self.gr = None           # the greenlet running it, bound when it first runs

    # -- the public handle --------------------------------------------------------------
    @property
    def status(self):
        return STATUS[self.atomicstatus]

    @property
    def wait_reason(self):
        return self.waitreason if self.atomicstatus == _Gwaiting else None

    @property
    def wait_since(self):
        """Runtime clock (ns) when the goroutine parked, or None when it is not waiting."""
        return self.waitsince if self.atomicstatus == _Gwaiting else None

    @property
    def waiting_obj(self):
        """The sync object a goroutine parked by park(reason, obj) waits on (Go's sudog.elem of
        a semaphore wait), or None."""
        return self.waitobj if self.atomicstatus == _Gwaiting else None

    @property
    def parent_goid(self):
        return self.parentGoid

    @property
    def start_function(self):
        return self.startfn

    @property
    def start_args(self):
        """(args, kwargs) the goroutine was started with (emptied when it ends)."""
        return (self.args or (), self.kwargs or {})

    @property
    def creation_site(self):
        """(filename, lineno, function) of the go() call, or None for goroutine 1."""
        return _handle.site(self.gopc)

    @property
    def created_by(self):
        return _handle.created_by(self.gopc)

    @property
    def waiting_on(self):
        if self.atomicstatus != _Gwaiting:
            return ()
        if self.nilwait:
            from .chan import nilchan
            return (nilchan,)
        out = []
        sg = self.waiting
        while sg is not None:
            if sg.c is not None and sg.c not in out:
                out.append(sg.c)
            sg = sg.waitlink
        return tuple(out)

    @property
    def runtime(self):
        return self.rt

    @property
    def frame(self):
        """The goroutine's innermost Python frame (None if it has not started or has ended)."""
        if self.atomicstatus == _Grunning:
            return sys._getframe(1)   # the caller's: the running goroutine is the caller
        gr = self.gr
        return gr.gr_frame if gr is not None else None

    def stack(self):
        from .. import _traceback
        return _traceback.format_goroutine(self)

    @staticmethod
    def current():
        return getg()

    def __repr__(self):
        return _handle.describe(self)


class Runtime:
    """One emulated Go program: its goroutines, its P's run queue and sudog cache, its clock."""

    def __new__(cls, seed=None, clock="real"):
        # the work is done here, as in the C twin's __cinit__: __init__ only refuses to redo it
        rt = object.__new__(cls)
        rt._setup(seed, clock)
        rt.inited = False
        return rt

    def __init__(self, seed=None, clock="real"):
        # running _setup again would drop the goroutines and queues
        if self.inited:
            raise TypeError("Runtime.__init__ called twice: a runtime is made once")
        self.inited = True

    def __reduce_ex__(self, protocol):
        # a copy would share the queues and goroutines (the C twin's cannot be copied)
        raise TypeError(f"cannot pickle or copy '{type(self).__name__}' object")

    def _setup(self, seed, clock):
        if clock not in ("real", "virtual"):
            raise ValueError(f"clock must be 'real' or 'virtual', not {clock!r}")
        self.clock = clock
        self.allgs = {}           # goid -> G, every G not dead
        self.runq = deque()       # p.runq: the P's local run queue, 256 slots as Go's
        self.globrunq = deque()   # sched.runq: the global run queue (Gosched, overflow)
        self.runnext = None
        self.curg = None
        self.goidgen = 0
        self.sudogcache = []      # p.sudogcache
        self.central_sudogcache = None   # sched.sudogcache, linked through next
        self.sudogs_allocated = 0
        self.gfree = []           # idle worker greenlets (gfput/gfget)
        self.rand = rand.Rand(seed)
        self.thread_ident = threading.get_ident()
        self.thread_serial = thread_serial()
        self.swgen = 0            # goroutine resumptions so far (Go's schedtick): tells a failed
                                  # switch apart, and starts the next time slice lazily
        self.fatal_target = None  # greenlet a fatal error is thrown into
        self.dead = False         # the program has ended: blocking calls unwind
        self.vnow = 0             # virtual clock, ns since the synctest epoch
        self.is_run = False       # a run() program (else the thread's default runtime)
        self.idle = False         # waiting in findrunnable for the next timer
        self.g0 = None            # starts fresh goroutine greenlets from a shallow stack
        self.timers = TimerHeap()
        self.timer_next = NO_TIMER   # when of the earliest pending timer (cached)
        # Safe points: other threads (the pprof server) queue functions to run on this thread
        # between two operations, as Go stops the world for a goroutine profile.
        self.safepoint_pending = False
        self.safepoints = deque()
        self.wake = threading.Event()  # interrupts an idle wait for the next timer
        # tracer(kind, g, arg): goroutine events for chanemu.trace, None when not tracing.
        # kind is "create" (arg: parent G), "start", "block" (arg: wait reason),
        # "unblock" (arg: the waker G), "sched" (gosched), "preempt" (a preemption),
        # "end" (arg: exception or None).
        self.tracer = None
        # Preemption (checkpreempt_slow): the coarse real-clock reading after which the running
        # G yields at its next runtime call; the swgen at which that slice started; when a G last
        # gave up the thread (parked, yielded, ended), where the next G's slice starts (a switch
        # reads no clock); and a count of the scheduler's own sections (timer functions, safe
        # points) in which no G yields (Go's m.locks).
        self.gaveup_at = _clock_ns(_COARSE)
        self.preempt_at = self.gaveup_at + preempt_slice
        self.slicetick = 0
        self.nopreempt = 0

    # -- clock ---------------------------------------------------------------------------
    def nanotime(self):
        if self.clock == "virtual":
            return self.vnow
        return _time.monotonic_ns()

    # -- goroutines ----------------------------------------------------------------------
    def newg(self, fn, args, kwargs, parent, gopc):
        self.goidgen += 1
        gp = object.__new__(Goroutine)      # not Goroutine.__new__: _setup does it all
        gp._setup(self, self.goidgen, fn, args, kwargs, parent, gopc)
        self.allgs[gp.goid] = gp
        return gp

    def goroutines(self):
        return list(self.allgs.values())

    def num_goroutine(self):
        return len(self.allgs)

    # -- run queues (proc.go runqput, runqputslow, globrunqget, findRunnable's order) ------
    def runqput(self, gp, next):
        """Put gp on the local run queue; with next, into runnext, kicking the old runnext to
        the tail. A full local queue moves half of itself, and gp, to the global queue."""
        if next:
            old = self.runnext
            if old is not None:
                # the kicked G is queued first: if that fails, nothing changed
                self.runqput(old, False)
            self.runnext = gp
            return
        if len(self.runq) < LOCAL_RUNQ_CAP:
            self.runq.append(gp)
            return
        self.runqputslow(gp)

    def runqputslow(self, gp):
        """runqputslow: the local queue is full; move gp and half of it to the global queue."""
        for _ in range(LOCAL_RUNQ_CAP // 2):
            self.globrunq.append(self.runq.popleft())
        self.globrunq.append(gp)

    def globrunqget(self, max):
        """Take a batch from the global queue: run the first, queue the rest locally
        (with GOMAXPROCS=1: all of it, up to max and half the local queue)."""
        n = len(self.globrunq)
        if max > 0 and n > max:
            n = max
        if n > LOCAL_RUNQ_CAP // 2:
            n = LOCAL_RUNQ_CAP // 2
        gp = self.globrunq.popleft()
        for _ in range(n - 1):
            self.runq.append(self.globrunq.popleft())
        return gp

    def getnext(self):
        """The next G to run, in findRunnable's order: runnext, the local queue, then a batch
        from the global queue. Go also reads the global queue first on every 61st schedule
        (p.schedtick%61), for fairness under preemption; that is left out here, because it
        would let a goroutine that yielded resume before goroutines that were runnable when it
        yielded, and runtime.gosched() promises (README.md) that they all run first."""
        gp = self.runnext
        if gp is not None:
            self.runnext = None
            return gp
        if self.runq:
            return self.runq.popleft()
        if self.globrunq:
            return self.globrunqget(0)
        return None

    def runqremove(self, gp):
        """Take gp off the run queues (only when a fatal error is thrown into a runnable G)."""
        if self.runnext is gp:
            self.runnext = None
        elif gp in self.runq:
            self.runq.remove(gp)
        elif gp in self.globrunq:
            self.globrunq.remove(gp)

    def runq_snapshot(self):
        """The runnable Gs: runnext, the local queue, the global queue."""
        out = [] if self.runnext is None else [self.runnext]
        return out + list(self.runq) + list(self.globrunq)

    # -- sudog cache (proc.go acquireSudog / releaseSudog) -------------------------------
    def acquireSudog(self):
        cache = self.sudogcache
        if not cache:
            # acquireSudog: an empty per-runtime cache refills from the shared list first,
            while len(cache) < SUDOG_CACHE_CAP // 2 and self.central_sudogcache is not None:
                s = self.central_sudogcache
                self.central_sudogcache = s.next
                s.next = None
                cache.append(s)
            # and only if that is empty too does a fresh sudog get allocated.
            if not cache:
                cache.append(sudog())
                self.sudogs_allocated += 1
        s = cache.pop()
        if s.elem is not None:
            throw("acquireSudog: cached sudog still holds a value")
        return s

    def releaseSudog(self, s):
        if s.elem is not None:
            throw("releaseSudog: sudog still holds a value")
        if s.isSelect:
            throw("releaseSudog: sudog still marked as a select case")
        if s.next is not None:
            throw("releaseSudog: sudog still linked (next)")
        if s.prev is not None:
            throw("releaseSudog: sudog still linked (prev)")
        if s.waitlink is not None:
            throw("releaseSudog: sudog still on a waiting list")
        if s.c is not None:
            throw("releaseSudog: sudog still names a channel")
        gp = self.curg
        if gp.param is not None:
            throw("releaseSudog: current goroutine's param is still set")
        s.g = None
        cache = self.sudogcache
        if len(cache) == SUDOG_CACHE_CAP:
            # releaseSudog: a full per-runtime cache moves half its sudogs to the shared list.
            first = last = None
            while len(cache) > SUDOG_CACHE_CAP // 2:
                p = cache.pop()
                if first is None:
                    first = p
                else:
                    last.next = p
                last = p
            last.next = self.central_sudogcache
            self.central_sudogcache = first
        cache.append(s)

    def sudogs_cached(self):
        n = len(self.sudogcache)
        s = self.central_sudogcache
        while s is not None:
            n += 1
            s = s.next
        return n

    # -- timers (time.go) -----------------------------------------------------------------
    def newtimer(self, f, arg):
        """A runtime timer that will run f(arg, now) in the scheduler; not yet scheduled."""
        return Timer(f, arg)

    def addtimer(self, t, when):
        self.timers.add(t, when)
        if t.heaped and when < self.timer_next:
            self.timer_next = when

    def stoptimer(self, t):
        was = self.timers.stop(t)
        self.timer_next = self._next_when()
        return was

    def resettimer(self, t, when):
        was = self.timers.reset(t, when)
        self.timer_next = self._next_when()
        return was

    def _next_when(self):
        when = self.timers.next_when()
        return NO_TIMER if when is None else when

    def runtimers(self, now):
        """Fire the timers due at now (checkTimers)."""
        self.nopreempt += 1
        try:
            self.timers.run(now)
        finally:
            self.nopreempt -= 1
        self.timer_next = self._next_when()

    def blocktimerchan(self, t):
        """blockTimerChan: the caller is about to park on t's channel, so t joins the heap."""
        self.timers.block(t)
        if t.heaped and not t.zombie and t.when < self.timer_next:
            self.timer_next = t.when

    def unblocktimerchan(self, t):
        """unblockTimerChan: the caller no longer waits on t's channel."""
        self.timers.unblock(t)
        self.timer_next = self._next_when()

    def maybeRunChan(self, t):
        """maybeRunChan: a receive on t's channel runs t first if it is due and unheaped."""
        if not t.pending or (t.heaped and not t.zombie):
            return
        self.nopreempt += 1
        try:
            ran = self.timers.maybe_run_chan(t, self.nanotime())
        finally:
            self.nopreempt -= 1
        if ran:
            self.timer_next = self._next_when()

    def run_safepoints(self):
        """Run the functions other threads queued for a safe point (see chanemu._safepoint)."""
        self.safepoint_pending = False
        q = self.safepoints
        self.nopreempt += 1
        try:
            while q:
                q.popleft()()
        finally:
            self.nopreempt -= 1

    # -- the program's start and end (called by chanemu._lifecycle) ------------------------
    def adopt_current(self):
        """The calling greenlet becomes goroutine 1 of this fresh runtime, running: the thread's
        own code, in its default runtime. Fatal errors are thrown into it, inside its blocking
        call. Returns goroutine 1."""
        if self.is_run or self.goidgen:
            raise RuntimeError("chanemu: a runtime runs one program")
        g1 = self.newg(None, (), {}, 0, None)
        g1.gr = greenlet.getcurrent()
        g1.atomicstatus = _Grunning
        self.curg = g1
        self.fatal_target = g1.gr
        return g1

    def end(self):
        """The program has ended: from now on nothing of it runs (gopark, gosched and go
        raise). Returns the greenlets the lifecycle layer must end: g0 first, then the
        goroutines', then the idle workers'. Run queues are emptied first, so no goroutine
        starts during the end."""
        self.dead = True
        self.runq.clear()
        self.globrunq.clear()
        self.runnext = None
        grs = [] if self.g0 is None else [self.g0]
        grs += [g.gr for g in self.allgs.values() if g.gr is not None] + self.gfree
        self.gfree = []
        self.g0 = None
        return grs

    def release(self):
        """After the end: let go of every goroutine, so nothing of the program stays reachable
        from a handle that outlives it."""
        for g in self.allgs.values():
            g.atomicstatus = _Gdead
            g.gr = None
            g.startfn = g.args = g.kwargs = None
            g.waiting = g.param = g.waitobj = None
        self.allgs.clear()
        self.curg = None
        self.runq.clear()
        self.globrunq.clear()
        self.runnext = None
        self.gfree = []
        self.g0 = None
        self.fatal_target = None
        self.timers.clear()
        self.timer_next = NO_TIMER
        self.safepoints.clear()
        self.tracer = None

    # -- invariants ----------------------------------------------------------------------
    def check_invariants(self):
        """Assert the scheduler's invariants and those of every channel a goroutine waits on."""
        from .chan import check_hchan
        running = [g for g in self.allgs.values() if g.atomicstatus == _Grunning]
        if self.curg is not None and not self.dead:
            assert running == [self.curg], f"running {running}, curg {self.curg}"
        queued = self.runq_snapshot()
        assert len(set(map(id, queued))) == len(queued), "a G is queued twice"
        for g in queued:
            assert g.atomicstatus == _Grunnable, f"{g} queued but not runnable"
        nrunnable = sum(1 for g in self.allgs.values() if g.atomicstatus == _Grunnable)
        assert nrunnable == len(queued), f"{nrunnable} runnable, {len(queued)} queued"
        for g in self.allgs.values():
            assert g.atomicstatus != _Gdead, f"dead {g} in allgs"
            sg = g.waiting
            while sg is not None:
                assert sg.g is g, "sudog on g.waiting belongs to another G"
                if sg.c is not None and g.atomicstatus == _Gwaiting:
                    check_hchan(sg.c)
                sg = sg.waitlink


def throw(msg):
    """runtime.throw: an internal invariant broke. Not recoverable, never expected."""
    raise _errors.FatalError(msg)


# -- the runtime of this thread -------------------------------------------------------------
_tls = threading.local()
_thread_serials = itertools.count(1)


def thread_serial():
    """The calling thread's serial number, handed out the first time it asks and never reused
    (a thread id can be: a thread that starts after another ended may get the same one, and the
    dead thread's channels would pass the owner check)."""
    try:
        return _tls.serial
    except AttributeError:
        s = _tls.serial = next(_thread_serials)
        return s


def getrt():
    """The calling thread's current runtime, creating the default runtime on first use."""
    rt = getattr(_tls, "rt", None)
    if rt is None:
        from .. import _lifecycle
        rt = _tls.rt = _lifecycle.default_runtime(sys.modules[__package__])
    return rt


def getg():
    rt = getrt()
    return rt.curg


def check_current(rt):
    """The caller must be the runtime's running goroutine, able to park: not a foreign
    greenlet, and not code the scheduler runs while no goroutine runs (a signal handler or a
    __del__ called from the idle wait, a timer function). Checked before anything is queued."""
    if rt.curg.atomicstatus != _Grunning:
        raise RuntimeError("chanemu: blocking call while no goroutine is running (from a signal "
                           "handler, __del__ or timer function run by the idle scheduler)")
    if greenlet.getcurrent() is not rt.curg.gr:
        raise RuntimeError("chanemu: blocking call from a greenlet that is not a goroutine of "
                           "this thread's runtime")


def raise_ended():
    """A runtime call from a goroutine of a program that has ended (unwinding at its end, or an
    object's __del__ running meanwhile): it fails at once, nothing is scheduled."""
    raise RuntimeError("chanemu: the program has ended")


# -- park and ready -------------------------------------------------------------------------
def gopark(rt, reason):
    """Park the current goroutine with a wait reason and run others until goready(gp).

    The caller has already queued gp's sudogs (if any). If an exception is thrown into the
    parked goroutine (a fatal error of the program, the program's end), gopark raises it
    and the caller must call unpark(rt, gp) and undo its queueing. (The try is the caller's,
    which has one anyway: a second here costs the hot path a few ns per park.)
    """
    gp = rt.curg
    if rt.dead:
        raise_ended()
    if gp.atomicstatus != _Grunning:
        throw("gopark: bad g status")
    gp.waitreason = reason
    # One coarse clock read for both: when gp parked (dumps read it in minutes; Go too sets
    # waitsince lazily), and when it gave up the thread (the next G's time slice starts there).
    rt.gaveup_at = now = _clock_ns(_COARSE)
    gp.waitsince = rt.vnow if rt.clock == "virtual" else now
    gp.atomicstatus = _Gwaiting
    if rt.tracer is not None:
        rt.tracer("block", gp, reason)
    schedule(rt)


def unpark(rt, gp):
    """An exception was thrown into parked gp: make it the running G again."""
    if gp.atomicstatus == _Grunnable:
        rt.runqremove(gp)
    gp.atomicstatus = _Grunning
    gp.waitreason = waitReasonZero
    gp.nilwait = False
    rt.curg = gp


def park(reason, obj=None):
    """Park the calling goroutine with one of Go's wait reasons until ready(g) (sync, sleep).
    obj is the sync object it waits on (the leak detector asks whether it is reachable)."""
    if reason not in WAIT_REASONS or reason is None:
        raise ValueError(f"unknown wait reason {reason!r}")
    rt = getrt()
    check_current(rt)
    gp = rt.curg
    gp.waitobj = obj
    try:
        gopark(rt, reason)
    except BaseException:
        unpark(rt, gp)
        raise
    finally:
        gp.waitobj = None


def park_forever(reason):
    """Block forever: a nil channel's send or receive, select {} (the goroutine can only be
    unwound by an exception thrown into it)."""
    rt = getrt()
    check_current(rt)
    gp = rt.curg
    gp.nilwait = reason != waitReasonSelectNoCases
    try:
        gopark(rt, reason)
    except BaseException:
        unpark(rt, gp)
        raise
    throw("unreachable")


def ready(gp):
    """Make a goroutine parked by park() runnable (goready)."""
    if not isinstance(gp, Goroutine):
        raise TypeError(f"ready: expected a Goroutine, got {type(gp).__name__}")
    if gp.rt is not getrt():
        raise RuntimeError(f"chanemu: goroutine {gp.goid} belongs to another runtime "
                           "(another thread's, or another run() program)")
    if not parked_by_park(gp):
        # a G parked on channels is woken by its channel, which hands it a sudog: readied
        # here it would run with its sudogs still queued
        raise RuntimeError(f"chanemu: ready: goroutine {gp.goid} is not parked by park() "
                           f"({gp.status}, {gp.wait_reason})")
    goready(gp)


def parked_by_park(gp):
    return (gp.atomicstatus == _Gwaiting and gp.waiting is None and not gp.nilwait and
            gp.waitreason not in (waitReasonSelectNoCases, waitReasonSelect,
                                  waitReasonChanReceive, waitReasonChanSend))


def goready(gp):
    """Mark gp runnable and put it in runnext (proc.go ready(gp, traceskip, next=true)).
    gp belongs to the caller's runtime: chancheck (channels) and ready() (sync) made sure."""
    rt = gp.rt
    if gp.atomicstatus != _Gwaiting:
        throw("bad g->status in ready")
    rt.runqput(gp, True)          # first: if it failed, gp would still be waiting, not lost
    gp.atomicstatus = _Grunnable
    if rt.idle:
        rt.wake.set()      # readied from a signal handler while the runtime waits for a timer
    if rt.tracer is not None:
        rt.tracer("unblock", gp, rt.curg)


def schedule(rt):
    """Switch from the current (no longer running) G to the next runnable one.

    Returns when the current G is switched back to by the runtime. Due timers run first
    (checkTimers). If nothing can run, findrunnable waits for the next timer or delivers the
    deadlock. A switch or throw into the G's greenlet from anywhere else is refused: it raises
    in the intruder and the G stays parked (resume_parked).
    """
    me = rt.curg
    try:
        if rt.safepoint_pending:
            rt.run_safepoints()
            rt.gaveup_at = _clock_ns(_COARSE)     # their time is the scheduler's, not the next G's
        if rt.timer_next != NO_TIMER:
            now = rt.nanotime()
            if rt.timer_next <= now:
                rt.runtimers(now)
                rt.gaveup_at = _clock_ns(_COARSE)
        gp = rt.getnext()
        if gp is None:
            # None: a fatal error was delivered, and later we were readied
            gp = findrunnable(rt, False)
        if gp is me:
            # Readied while we looked for work (a timer of ours fired): no switch needed (the
            # resumption is counted below: a new time slice starts lazily).
            gp.atomicstatus = _Grunning
            if rt.tracer is not None:
                rt.tracer("start", gp, None)
        elif gp is not None:
            execute(rt, gp)
    except BaseException as e:
        rt.swgen += 1
        if rt.dead or rt.curg is me:
            raise       # thrown by the runtime (fatal error, the program's end), or raised while hosting
        return resume_parked(rt, me, e)
    rt.swgen += 1
    if rt.curg is not me or me.atomicstatus != _Grunning:
        resume_parked(rt, me, None)


def resume_parked(rt, me, exc):
    """Something other than the runtime switched (or, with exc, threw) into the greenlet of
    parked (or runnable) goroutine me. Refuse it (refuse_intruder) and wait, still parked and
    on every queue it was on, until the runtime resumes me."""
    while True:
        try:
            refuse_intruder(rt, exc, me.goid)
        except _Intrusion as e:
            out = e.args[0]     # raised below, outside this handler: its context stays its own
            break
        except BaseException as e:
            rt.swgen += 1
            if rt.dead or rt.curg is me:
                raise
            exc = e
            continue
        rt.swgen += 1
        if rt.curg is me and me.atomicstatus == _Grunning:
            return
        exc = None
    raise out


def await_reuse(rt, exc=None):
    """An idle worker greenlet (on the free list) was switched back to (or, with exc, thrown
    into). The runtime does that only to run a new goroutine on it: rt.curg, bound to this
    greenlet by execute. Anything else is an intruder: refuse it and wait again."""
    out = None
    rt.swgen += 1
    while not (rt.curg is not None and rt.curg.atomicstatus == _Grunning and
               rt.curg.gr is greenlet.getcurrent()):
        try:
            refuse_intruder(rt, exc, 0)
        except _Intrusion as e:
            out = e.args[0]     # raised below, outside this handler: its context stays its own
            break
        except BaseException as e:
            rt.swgen += 1
            if rt.dead:
                raise
            exc = e
            continue
        rt.swgen += 1
        exc = None
    if out is not None:
        gfleave_current(rt)     # the worker ends with the error: it is not idle any more
        raise out


class _Intrusion(Exception):
    """refuse_intruder found no greenlet to refuse: carries the error to raise here."""


# Refusals in a row whose throw fails before it switches: then the refusal gives up.
MAX_FAILED_REFUSALS = 3


def refuse_intruder(rt, exc, goid):
    """Raise a RuntimeError in the greenlet the calling thread's program is running: the
    intruder, or the goroutine that switched into it. Returns (or raises) when this greenlet
    is switched (or thrown) into again. A throw that fails before it switches (greenlet could
    not save the stack) changed nothing: it is tried again, and after MAX_FAILED_REFUSALS such
    failures in a row the refusal gives up (give_up_refusal)."""
    trt = getrt()
    target = trt.curg.gr if trt.curg is not None else None
    who = f"goroutine {goid}'s greenlet" if goid else "an idle goroutine greenlet"
    if target is None or target.dead or target is greenlet.getcurrent():
        raise _Intrusion(refusal(who, exc))
    for _ in range(MAX_FAILED_REFUSALS):
        err = refusal(who, exc)
        try:
            inject_switch_fault()   # tests: as if greenlet could not save the stack
            greenlet.greenlet.throw(target, RuntimeError, err)
            return
        except BaseException as e:
            if err.__traceback__ is not None:
                raise   # err was raised there: the throw landed, and this was thrown in later
            if e.__context__ is None:
                e.__context__ = exc
            exc = e     # it never switched: refuse again, the switch's error as the context
    return give_up_refusal(rt, trt, refusal(who, exc), goid != 0)


def refusal(who, exc):
    """The error a refused intruder gets: exc (what it threw in, or a failed try) as context."""
    err = RuntimeError(f"chanemu: switch into {who} from outside the runtime; only the "
                       "scheduler resumes a goroutine")
    err.__context__ = exc
    return err


def give_up_refusal(rt, trt, err, parked):
    """The intruder could not be refused: every throw to it failed before it switched. Like a
    worker that cannot switch, the error becomes the program's fatal error (raise_fatal):
    goroutine 1 takes it (in its blocking call, or at its own intrusion), or run() raises it.
    If that delivery fails too (or this greenlet is the fatal target), the error comes out here,
    carrying the switch's error: the goroutine of this greenlet takes it in its blocking call,
    as a parking goroutine does (parked), or an idle worker ends with it, which hands it to the
    fatal target as g0 does. The intruding goroutine, when it is not the one that takes the
    error, is made runnable, so that one goroutine runs at a time (its switch here returns when
    the scheduler resumes it)."""
    h = trt.curg if trt is rt else None
    if h is not None and (h.atomicstatus != _Grunning or h.gr is greenlet.getcurrent()):
        h = None
    if h is not None and h.gr is not rt.fatal_target:
        make_intruder_runnable(rt, h)
    if rt.fatal_target is greenlet.getcurrent():
        raise _Intrusion(err)       # this greenlet's goroutine is the one that takes it
    try:
        raise_fatal(rt, err)
    except BaseException as e:
        if err.__traceback__ is not None:
            raise   # delivered, and later something was thrown in from outside
        # not delivered (raise_fatal gave e err as its context): it comes out here
        if parked and h is not None and h.atomicstatus == _Grunning:
            make_intruder_runnable(rt, h)
        raise _Intrusion(e) from None


def make_intruder_runnable(rt, h):
    """h, the running G as far as the runtime knows, is in fact suspended in a switch into a
    greenlet that is not its own: runnable again, so that another goroutine can run."""
    h.atomicstatus = _Grunnable
    rt.runqput(h, False)


def execute(rt, gp):
    """Make gp the running G and switch to its greenlet (a worker's, if gp is new).

    A fresh greenlet starts with the Python recursion depth of the greenlet that starts it, so
    fresh ones are started from g0, whose stack stays shallow (as Go starts goroutines from the
    scheduler's g0 stack); otherwise a chain of goroutines, each started by the previous one's
    park, would run out of recursion depth.

    If the switch itself fails (greenlet cannot save the stack: MemoryError), nothing ran: gp
    goes back to runnext, the caller is the running G again, and the error is raised in it.
    """
    me = rt.curg
    fresh = gp.gr is None
    gr = gp.gr
    if fresh:
        # New: a worker from the free list (started) or a fresh greenlet (started from g0).
        try:
            gr = gfget(rt)
            first = gr if (gr or gr.dead) else getg0(rt)
        except BaseException:
            rt.runqput(gp, True)     # back into the slot getnext emptied: cannot fail
            raise
        gp.gr = gr
        gr = first
    gp.atomicstatus = _Grunning
    rt.curg = gp
    gen = rt.swgen      # gp's resumption counts one; its time slice starts lazily (checkpreempt_slow)
    try:
        if rt.tracer is not None:
            rt.tracer("start", gp, None)
        if gr:
            # a started greenlet resumes where it switched away: it is handed nothing (as on
            # the C twin), so a goroutine resumed inside a switch of its own gets ()
            greenlet.greenlet.switch(gr)
        else:
            greenlet.greenlet.switch(gr, rt)    # a fresh g0: _g0_loop(rt)
    except BaseException:
        if rt.swgen == gen and rt.curg is gp:
            unexecute(rt, gp, me, fresh)
        raise


def unexecute(rt, gp, me, fresh):
    """execute's switch to gp never happened: gp is runnable again (next), with no worker if it
    had none, and me is the current G again."""
    if fresh:
        started = gp.gr or gp.gr.dead
        if started and len(rt.gfree) < GFREE_CAP:
            rt.gfree.append(gp.gr)
        gp.gr = None
    gp.atomicstatus = _Grunnable
    rt.curg = me
    rt.runqput(gp, True)


def getg0(rt):
    if rt.g0 is None:
        rt.g0 = greenlet.greenlet(_g0_loop, parent=rt.fatal_target)
    return rt.g0


def _g0_loop(rt):
    """g0, the scheduler's own greenlet: it starts fresh goroutine greenlets from a shallow
    stack (see execute), and it is every worker's parent, so a worker that ends hands control
    here and g0 switches to rt.curg. (A worker ending into another worker's greenlet instead
    would chain dead greenlets through their parents, and freeing a long chain recurses.)"""
    try:
        while rt.curg is not None and rt.curg.gr is not None:
            g0_switch(rt)
            rt.swgen += 1
        # no goroutine to hand over to (a worker ended during the program's end): end, into the caller
    except greenlet.GreenletExit:
        return None


def g0_switch(rt):
    """g0 switches to rt.curg's greenlet: a fresh worker it starts for a new G, or the G that runs
    after a worker ended into g0. Returns when g0 is switched back to. Until the switch lands
    nothing is lost: the G, marked running, is runnable again (a fresh worker that never started
    is dropped), and the error is the program's fatal error, which g0 delivers. An error a worker
    ended with (it could not deliver it itself) is delivered the same way."""
    gp = rt.curg
    gen = rt.swgen
    gr = gp.gr
    try:
        inject_switch_fault()
        gr.switch(gp)
    except greenlet.GreenletExit:
        raise
    except BaseException as e:
        if rt.dead:
            raise
        if rt.swgen == gen and rt.curg is gp and gp.atomicstatus == _Grunning:
            if not (gr or gr.dead):
                gp.gr = None
            gp.atomicstatus = _Grunnable
            rt.runqput(gp, True)
        err = e
    else:
        return
    g0_deliver(rt, err)


def g0_deliver(rt, exc):
    """A worker ended with an error it could not deliver (its throw failed): g0 delivers it. If
    that fails too, g0 ends with it, and greenlet hands it to g0's parent, the fatal target, which
    takes it as a delivered fatal error (a new g0 is made when one is next needed)."""
    try:
        raise_fatal(rt, exc)
    except BaseException:
        g1 = rt.allgs.get(1)
        if g1 is not None and g1.gr is rt.fatal_target:
            take_fatal(rt, g1)
        rt.g0 = None
        raise


def take_fatal(rt, g1):
    """Goroutine 1, the fatal target, is handed the fatal error: it becomes the running G. If it
    was runnable (taken off its queue; raise_fatal undoes it if its throw fails), nothing on its
    side makes it running: it may be suspended in a switch of its own (an intrusion)."""
    rt.curg = g1
    if g1.atomicstatus != _Grunnable:
        return False
    rt.runqremove(g1)
    g1.atomicstatus = _Grunning
    return True


def findrunnable(rt, exiting):
    """Nothing is in the run queue. Wait for the next timer (sleep on the real clock, jump
    there on the virtual one) and run it, until a goroutine is runnable. With no timers left,
    every goroutine is blocked for good: Go's checkdead delivers the fatal error; if this
    greenlet is switched back to after that, return None (when exiting, it went on the free
    list first and is being reused)."""
    while True:
        gp = rt.getnext()
        if gp is not None:
            rt.gaveup_at = _clock_ns(_COARSE)   # gp's slice starts after the wait, not before
            return gp
        when = rt.timer_next
        if when == NO_TIMER:
            break
        if rt.clock == "virtual":
            if when > rt.vnow:
                rt.vnow = when
        else:
            d = when - rt.nanotime()
            if d > 0:
                idle_wait(rt, d)
        if rt.safepoint_pending:
            rt.run_safepoints()
        rt.runtimers(rt.nanotime())
    if rt.dead:
        raise greenlet.GreenletExit()
    if not rt.allgs:
        exc = _errors.FatalError(_errors.E_GOEXIT_DEADLOCK, "")
    else:
        from .. import _lifecycle
        exc = Deadlock(_errors.E_DEADLOCK, _lifecycle.dump(rt))
    if exiting:
        deliver_from_worker(rt, exc)
    else:
        raise_fatal(rt, exc)
    return None


def idle_wait(rt, d):
    """The thread sleeps (no spinning) until the next timer, a safe-point request, or a
    goroutine readied meanwhile (by a signal handler: goready sets wake while idle)."""
    rt.idle = True
    try:
        rt.wake.wait(d / 1e9)
    except KeyboardInterrupt as e:
        attach_dump(rt, e)
        raise
    finally:
        rt.idle = False
    rt.wake.clear()


def attach_dump(rt, exc):
    """A KeyboardInterrupt carries the goroutine dump of the moment (the lifecycle's)."""
    from .. import _lifecycle
    _lifecycle.attach_dump(rt, exc)


def raise_fatal(rt, exc):
    """Deliver a fatal error (deadlock, a goroutine's crash) to the program's fatal target.

    In a run() program that is the caller of run(); in the default runtime it is goroutine 1,
    which is parked or runnable (it is not the caller, or this would be a plain raise).
    """
    target = rt.fatal_target
    if greenlet.getcurrent() is target:
        raise exc
    prev = rt.curg
    was_runnable = False
    g1 = rt.allgs.get(1)
    if g1 is not None and g1.gr is target:
        # Goroutine 1 takes the error inside its blocking call; it becomes the running G.
        was_runnable = take_fatal(rt, g1)
    landed = rt.curg
    gen = rt.swgen
    try:
        inject_switch_fault()
        # With its traceback: the crashed goroutine's frames stay in what the target prints.
        target.throw(type(exc), exc, exc.__traceback__)
    except BaseException as e:
        if rt.swgen == gen and not rt.dead and rt.curg is landed:
            # The throw failed before it switched (greenlet could not save the stack): nothing
            # changed. The caller raises the switch's error, carrying the fatal error with it.
            if was_runnable:
                g1.atomicstatus = _Grunnable
                rt.runqput(g1, True)
            rt.curg = prev
            if e is not exc and e.__context__ is None:
                e.__context__ = exc
        raise


# Tests only (_fail_switches): the next n switches of goexit0's hand-off, g0's, and the throws
# of raise_fatal and refuse_intruder fail before they switch, as greenlet's do when it cannot
# save the stack.
_switch_faults = [0]


def inject_switch_fault():
    if _switch_faults[0] > 0:
        _switch_faults[0] -= 1
        raise MemoryError("chanemu: injected switch failure (tests)")


def _fail_switches(n):
    """Tests: make the next n switches of goexit0's hand-off and g0, and throws of raise_fatal
    and refuse_intruder, fail before they switch, with MemoryError. Returns how many were still
    pending."""
    old, _switch_faults[0] = _switch_faults[0], int(n)
    return old


# -- goroutine lifecycle -----------------------------------------------------------------
def newproc(fn, args, kwargs, gopc):
    """go fn(*args, **kwargs): a new G in runnext (proc.go newproc runs runqput(pp, newg, true))."""
    if not callable(fn):
        raise TypeError(f"go: {type(fn).__name__!r} object is not callable")
    rt = getrt()
    if rt.dead:
        raise_ended()
    gp = rt.newg(fn, args, kwargs, rt.curg.goid, gopc)
    rt.runqput(gp, True)
    if rt.tracer is not None:
        rt.tracer("create", gp, rt.curg)
    return gp


def gfget(rt):
    """A greenlet to run a new goroutine: an idle one from the free list, or a fresh one."""
    if rt.gfree:
        return rt.gfree.pop()
    return greenlet.greenlet(_worker, parent=getg0(rt))


def _worker(gp):
    """Body of a worker greenlet: run goroutines one after another (gfput/gfget reuse them).

    Switched to with the G to run, when new or when taken from the free list.
    """
    gp.rt.swgen += 1
    try:
        while gp is not None:
            rt = gp.rt
            try:
                gp.startfn(*gp.args, **gp.kwargs)
            except GoExit:
                pass
            except BaseException as e:
                if rt.dead:
                    raise       # the program has ended: this goroutine is being discarded
                gp = crash(rt, gp, e)
                continue
            gp = goexit0(rt, gp)
    except greenlet.GreenletExit:
        # The program ended and its goroutines are being discarded.
        return None
    return None


def crash(rt, gp, exc):
    """An exception escaped goroutine gp: the program dies of it, as of a panic in Go.

    Returns the next G to run on this worker greenlet if the program goes on (default runtime).
    """
    exc.add_note(_handle.crash_note(gp.goid, gp.gopc, gp.parentGoid))
    if isinstance(exc, KeyboardInterrupt):
        attach_dump(rt, exc)
    if rt.tracer is not None:
        rt.tracer("end", gp, exc)
    gp.atomicstatus = _Gdead
    rt.allgs.pop(gp.goid, None)
    gp.gr = None
    gp.startfn = gp.args = gp.kwargs = None
    rt.gaveup_at = _clock_ns(_COARSE)
    return deliver_from_worker(rt, exc)


def deliver_from_worker(rt, exc):
    """This worker's goroutine is dead (crashed, or ended with no goroutine it could hand over
    to): it goes on the free list and delivers exc to the fatal target. Returns the next G to run
    on this worker, when it is reused. If the delivery's throw fails, the worker leaves the free
    list and ends with the error: greenlet hands it to g0, which tries again (_g0_loop)."""
    gen = rt.swgen
    intruder = None
    gfput_current(rt)
    try:
        raise_fatal(rt, exc)
    except BaseException as e:
        if rt.dead:
            raise       # the program has ended: this idle worker is being discarded
        if rt.swgen == gen:
            gfdrop_current(rt)      # the throw never landed: this worker is not idle after all
            raise
        intruder = e    # it landed, and later this idle worker was thrown into from outside
    await_reuse(rt, intruder)
    return rt.curg


def gfput_current(rt):
    if len(rt.gfree) < GFREE_CAP:
        rt.gfree.append(greenlet.getcurrent())


def gfdrop_current(rt):
    """Undo gfput_current: the running worker is not idle after all."""
    if rt.gfree and rt.gfree[-1] is greenlet.getcurrent():
        rt.gfree.pop()


def gfleave_current(rt):
    """The running worker leaves the free list, wherever it is on it."""
    me = greenlet.getcurrent()
    rt.gfree = [gr for gr in rt.gfree if gr is not me]


def goexit0(rt, gp):
    """gp's function returned: gp is dead. Returns the next G to run on this worker, or None
    when the worker greenlet should end (its end then switches to rt.curg's greenlet)."""
    if rt.tracer is not None:
        rt.tracer("end", gp, None)
    gp.atomicstatus = _Gdead
    gp.waitreason = waitReasonZero
    del rt.allgs[gp.goid]
    gp.gr = None
    gp.startfn = gp.args = gp.kwargs = None
    if rt.safepoint_pending:
        rt.run_safepoints()
    rt.gaveup_at = _clock_ns(_COARSE)
    nxt = rt.getnext()
    if nxt is None:
        nxt = findrunnable(rt, True)
        if nxt is None:
            # A fatal error was delivered from this worker, which a new goroutine then reused:
            # rt.curg.
            return rt.curg
    nxt.atomicstatus = _Grunning
    rt.curg = nxt
    return handoff(rt, gp, nxt)


def handoff(rt, gp, nxt):
    """The rest of goexit0: nxt, marked running, runs next, right here if it is new, else on its
    own greenlet, which this worker switches to after going on the free list. Returns the next
    G to run on this worker (nxt, or rt.curg when the worker is reused), or None when the worker
    ends. Until the switch lands nothing is lost: if the tracer, the free list or the switch
    itself fails (greenlet could not save the stack), nxt is runnable again and the error is the
    program's fatal error, delivered from this worker as a crash's is."""
    gen = rt.swgen
    err = None
    try:
        if rt.tracer is not None:
            rt.tracer("start", nxt, None)
        me = greenlet.getcurrent()
        if nxt.gr is None:
            # A new goroutine: run it right here, no switch needed (but a G starts: count it,
            # so that its time slice starts anew).
            nxt.gr = me
            rt.swgen += 1
            return nxt
        if len(rt.gfree) >= GFREE_CAP:
            # Free list full: end this greenlet. Its end switches to its parent, g0, which
            # switches to rt.curg (goroutine 1's greenlet, after main's Goexit, is made g0's
            # child here).
            me.parent = getg0(rt)
            return None
        rt.gfree.append(me)            # gfput: execute() switches back here with rt.curg to run
        inject_switch_fault()
        greenlet.greenlet.switch(nxt.gr)
    except BaseException as e:
        if rt.dead:
            raise       # the program has ended: this idle worker is being discarded
        err = e
    if err is None or rt.swgen != gen or rt.curg is not nxt:
        # The switch landed: this idle worker was switched back to, or thrown into (err: from
        # outside the runtime, refused there).
        await_reuse(rt, err)
        return rt.curg
    gfdrop_current(rt)
    nxt.atomicstatus = _Grunnable
    rt.curg = gp
    rt.runqput(nxt, True)
    return deliver_from_worker(rt, err)


def gosched():
    """runtime.Gosched: the caller goes on the global run queue, which is read only when the
    local queue is empty (Go's every-61st-schedule look is left out): all runnable now run first,
    and so do the timers that are due and the safe points that are asked for."""
    rt = getrt()
    if rt.dead:
        raise_ended()
    if (rt.runnext is None and not rt.runq and not rt.globrunq and not rt.safepoint_pending
            and (rt.timer_next == NO_TIMER or rt.timer_next > rt.nanotime())):
        return    # Go would run the caller again, from the global queue
    check_current(rt)
    goschedImpl(rt, "sched")


def goschedImpl(rt, kind):
    """The running G goes on the global run queue and the scheduler runs: a yield ("sched")
    or a preemption ("preempt"). Returns when the G runs again."""
    gp = rt.curg
    gp.atomicstatus = _Grunnable
    rt.globrunq.append(gp)
    rt.gaveup_at = _clock_ns(_COARSE)
    if rt.tracer is not None:
        rt.tracer(kind, gp, None)
    try:
        schedule(rt)
    except BaseException:
        unpark(rt, gp)
        raise


# The time slice after which a running G is preempted: process-wide, as a GODEBUG setting is
# (chanemu.runtime.set_preemption; _preempt.OFF turns preemption off).
preempt_slice = _preempt.slice_ns


def set_preempt_slice(ns):
    """Set the time slice, and restart the slice of this thread's running runtime with it."""
    global preempt_slice
    preempt_slice = ns
    rt = getattr(_tls, "rt", None)
    if rt is not None:
        newslice(rt)


def newslice(rt):
    """The running G's time slice starts now: it ends preempt_slice from now."""
    rt.gaveup_at = _clock_ns(_COARSE)
    rt.slicetick = rt.swgen
    rt.preempt_at = rt.gaveup_at + preempt_slice


# The coarse time at which a runtime call next looks at its runtime's time slice: at most
# PREEMPT_GATE_NS ahead, so that the check on every call is one clock read and one comparison,
# and every thread's runtime is looked at within that much of its slice's end.
PREEMPT_GATE_NS = 2_000_000
preempt_gate = [0]


def checkpreempt():
    """A runtime call's preemption check (Go's stack-guard check in a function's prologue):
    a G that has run preempt_slice (10 ms) without blocking yields here."""
    if _clock_ns(_COARSE) >= preempt_gate[0]:
        checkpreempt_slow()


def checkpreempt_slow():
    """Past the gate. A switch does not start the next G's slice (no clock read on the hot
    path): as Go's sysmon compares a P's schedtick with the one it saw last, this looks whether
    a G has started since the slice began (swgen moved). If so, the running G's slice started
    when the previous one gave up the thread (rt.gaveup_at, read where that G parked, yielded or
    ended). A G that has had its slice yields."""
    rt = getrt()
    if rt.swgen != rt.slicetick:
        rt.slicetick = rt.swgen
        rt.preempt_at = rt.gaveup_at + preempt_slice
    now = _clock_ns(_COARSE)
    if now >= rt.preempt_at:
        preempt(rt)
    else:
        preempt_gate[0] = min(rt.preempt_at, now + PREEMPT_GATE_NS)


def preempt(rt):
    """gopreempt_m: the running G yields as gosched would, unless it is not at a safe point: the
    scheduler's own sections (timer functions, safe points), a program that has ended, a call
    from a greenlet that is not the running G."""
    gp = rt.curg
    if (rt.nopreempt or rt.dead or gp is None or gp.atomicstatus != _Grunning
            or greenlet.getcurrent() is not gp.gr):
        return
    goschedImpl(rt, "preempt")


def goexit():
    """runtime.Goexit: end the calling goroutine (its finally blocks run)."""
    raise GoExit()


def caller_site(depth):
    """(code, line, module) of the frame that called go(): formatted only when looked at."""
    f = sys._getframe(depth + 1)
    return (f.f_code, f.f_lineno, f.f_globals.get("__name__", "?"))


def go(fn, *args, **kwargs):
    """go fn(*args, **kwargs): start a goroutine; returns its handle."""
    return newproc(fn, args, kwargs, caller_site(1))


def run(main, *args, **kwargs):
    """run(main, *args, seed=None, clock="real", at_exit="discard", **kwargs): run a program on
    this twin (the lifecycle, written once, is chanemu._lifecycle.run_on)."""
    from .. import _lifecycle
    return _lifecycle.run_on(sys.modules["chanemu._pycore"], main, *args, **kwargs)


def run_main(rt, main, args, kwargs):
    """Run main(*args, **kwargs) as goroutine 1 of rt, which the caller made the thread's
    runtime (chanemu._lifecycle.run_on); returns main's result, or raises what ended the program
    (a deadlock, a goroutine's crash). The caller ends the program afterwards."""
    if rt.is_run or rt.goidgen:
        raise RuntimeError("chanemu: a runtime runs one program")
    rt.is_run = True
    rt.fatal_target = greenlet.getcurrent()
    g1 = rt.newg(main, args, kwargs, 0, None)
    g1.gr = greenlet.greenlet(_main_body, parent=rt.fatal_target)
    g1.atomicstatus = _Grunning
    rt.curg = g1
    rt.gaveup_at = _clock_ns(_COARSE)      # main's time slice starts here
    result = g1.gr.switch(g1)
    if type(result) is _MainExit:
        raise result.exc
    return result


class _MainExit:
    """main raised GreenletExit: carried to run() as a value, raised there."""
    __slots__ = ("exc",)

    def __init__(self, exc):
        self.exc = exc


def _main_body(g1):
    rt = g1.rt
    rt.swgen += 1
    try:
        return g1.startfn(*g1.args, **g1.kwargs)
    except greenlet.GreenletExit as e:
        # greenlet would hand a GreenletExit to run() as main's result: wrap it (unless the
        # program has ended and main, left parked by a fatal error, is being unwound).
        if rt.dead:
            raise
        return _MainExit(e)
    except GoExit:
        # main called runtime.Goexit: the others run on; the program ends in a fatal error.
        return _worker(goexit0(rt, g1))


def thread_runtime():
    """The calling thread's current runtime, or None (none is made)."""
    return getattr(_tls, "rt", None)


def set_thread_runtime(rt):
    """Make rt (a Runtime, or None) the calling thread's current runtime."""
    if rt is not None and not isinstance(rt, Runtime):
        raise TypeError(f"expected a Runtime, got {type(rt).__name__}")
    _tls.rt = rt
