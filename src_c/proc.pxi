# The scheduler of one Go P: the C twin of chanemu/_pycore/proc.py.
#
# Mirrors the parts of runtime/proc.go that channels need: the G registry (allgs), a FIFO run
# queue with runnext, gopark/goready, newproc/goexit0 with a free list of finished goroutines'
# greenlets (gfput_current/gfget), acquireSudog/releaseSudog with Go's per-P cache, and checkdead's
# deadlock report (findrunnable delivers it when nothing can run).
#
# Invariants (Runtime.check_invariants):
#   Exactly one G is _Grunning: curg. Every G in runnext, runq or globrunq is _Grunnable, and every
#   _Grunnable G is in exactly one of them. allgs holds every G that is not _Gdead.
#
# Switching: gopark switches straight from the parking goroutine's greenlet (or fiber, with
# CHANEMU_SWITCH=stack) to the next runnable one through switch.pxi's sw_* functions; there is no
# hub on the hot path. Fatal errors (deadlock, an
# exception escaping a goroutine) are thrown into the runtime's fatal target: the caller of run(),
# or goroutine 1 of the thread's default runtime.

cdef extern from "Python.h":
    ctypedef struct PyThreadState:
        uint64_t id         # unique per thread state, never reused (PyThreadState_GetID, inlined)
        uint64_t context_ver    # bumped by every greenlet switch (switch.pxi's current cache)
    PyThreadState* PyThreadState_Get()
    PyObject* PyThreadState_GetDict()
    unsigned long PyThread_get_thread_ident()
    PyObject* PyEval_GetFrame()

cdef extern from *:
    """
    /* The calling thread's state without PyThreadState_Get's NULL check: the runtime's hot
       paths run holding the GIL, so there is one. (Read on every park and switch.) */
    #if PY_VERSION_HEX >= 0x030D0000
    #define ce_tstate() PyThreadState_GetUnchecked()
    #else
    #define ce_tstate() _PyThreadState_UncheckedGet()
    #endif
    """
    PyThreadState* ce_tstate() noexcept

cdef extern from "Python.h":
    void PyErr_Fetch(PyObject** t, PyObject** v, PyObject** tb)
    void PyErr_Restore(PyObject* t, PyObject* v, PyObject* tb)

cdef extern from "greenlet.h":
    # the same call as PyGreenlet_Switch, its NULL checked by the caller (no try block)
    PyObject* greenlet_switch "PyGreenlet_Switch"(PyGreenlet* g, PyObject* args, PyObject* kw)

include "switch.pxi"

cdef extern from "Python.h":
    ctypedef struct PyFrameObject
    int PyFrame_GetLineNumber(PyFrameObject* f)

cdef extern from "clock.h":
    int64_t chanemu_monotonic_ns() nogil
    int64_t chanemu_coarse_ns() nogil
    uint32_t chanemu_cheaprand(uint64_t* state) nogil
    uint32_t chanemu_cheaprandn(uint64_t* state, uint32_t n) nogil
    int64_t chanemu_preempt_deadline
    unsigned long long chanemu_thread_serial() nogil

# G status (runtime2.go). Only these four are used; the numbers are Go's.
cdef enum:
    _Gidle = 0          # Goroutine.__new__ alone: never made by go(), never runs
    _Grunnable = 1
    _Grunning = 2
    _Gwaiting = 4
    _Gdead = 6

cdef int64_t NO_TIMER = 0x7FFFFFFFFFFFFFFF
# The time slice after which a running G is preempted: process-wide, as a GODEBUG setting is
# (chanemu.runtime.set_preemption; _preempt.OFF turns preemption off).
cdef int64_t preempt_slice = _preempt.slice_ns

cdef enum:
    LOCAL_RUNQ_CAP = 256      # len(p.runq)
    SUDOG_CACHE_CAP = 128     # len(p.sudogbuf)
    GFREE_CAP = 1024          # idle worker greenlets kept for reuse
    MAX_FAILED_REFUSALS = 3   # refusals in a row whose throw fails before it switches: give up

# waitReason: Go's strings, our numbering (emulate strings, not numbers).
cdef enum:
    waitReasonZero = 0
    waitReasonSleep
    waitReasonChanReceiveNilChan
    waitReasonChanSendNilChan
    waitReasonSelectNoCases
    waitReasonSelect
    waitReasonChanReceive
    waitReasonChanSend
    waitReasonSyncCondWait
    waitReasonSyncMutexLock
    waitReasonSyncRWMutexRLock
    waitReasonSyncRWMutexLock
    waitReasonSyncWaitGroupWait
    waitReasonSemacquire
    waitReasonCount

WAIT_REASONS = (None, "sleep", "chan receive (nil chan)", "chan send (nil chan)",
                "select (no cases)", "select", "chan receive", "chan send", "sync.Cond.Wait",
                "sync.Mutex.Lock", "sync.RWMutex.RLock", "sync.RWMutex.Lock",
                "sync.WaitGroup.Wait", "semacquire")
STATUS = {_Gidle: "idle", _Grunnable: "runnable", _Grunning: "running", _Gwaiting: "waiting", _Gdead: "dead"}

cdef tuple _EMPTY = ()


# -- gqueue: a FIFO ring of runnable Gs ------------------------------------------------------
cdef int gq_init(gqueue* q, Py_ssize_t cap) except -1:
    q.buf = <PyObject**>PyMem_Malloc(cap * sizeof(PyObject*))
    if q.buf == NULL:
        raise MemoryError()
    q.head = q.size = 0
    q.cap = cap
    return 0


cdef int gq_reserve(gqueue* q, Py_ssize_t want) except -1:
    """Grow q to hold want Gs (only the global queue grows: the local one overflows into it).
    On MemoryError q is unchanged."""
    cdef Py_ssize_t i, n = q.cap
    cdef PyObject** buf
    if want <= n:
        return 0
    while n < want:
        n *= 2
    buf = <PyObject**>PyMem_Malloc(n * sizeof(PyObject*))
    if buf == NULL:
        raise MemoryError()
    for i in range(q.size):
        buf[i] = q.buf[(q.head + i) % q.cap]
    PyMem_Free(q.buf)
    q.buf = buf
    q.head = 0
    q.cap = n
    return 0


cdef inline int gq_put(gqueue* q, Goroutine gp) except -1:
    if q.size == q.cap:
        gq_reserve(q, q.size + 1)
    q.buf[(q.head + q.size) % q.cap] = <PyObject*>gp
    q.size += 1
    return 0


cdef inline PyObject* gq_get(gqueue* q) noexcept:
    cdef PyObject* gp
    if q.size == 0:
        return NULL
    gp = q.buf[q.head]
    q.head = (q.head + 1) % q.cap
    q.size -= 1
    return gp


cdef bint gq_remove(gqueue* q, Goroutine gp) noexcept:
    cdef Py_ssize_t i, j
    for i in range(q.size):
        if q.buf[(q.head + i) % q.cap] == <PyObject*>gp:
            for j in range(i, q.size - 1):
                q.buf[(q.head + j) % q.cap] = q.buf[(q.head + j + 1) % q.cap]
            q.size -= 1
            return True
    return False


cdef list gq_list(gqueue* q):
    cdef Py_ssize_t i
    return [<object>q.buf[(q.head + i) % q.cap] for i in range(q.size)]


# Not tracked by the cyclic GC: a leak of 100,000 goroutines would otherwise be traversed by every
# full collection. No cycle through a G outlives it: a live G is held by allgs, and a dead or
# discarded one drops its function, arguments, greenlet and sudogs (goexit0, crash, the end of the program).
@cython.no_gc
@cython.final
cdef class Goroutine:
    """A goroutine (Go's g). Each goroutine has exactly one handle: this object."""

    def __init__(self):
        raise TypeError("goroutines are made by go(), not by Goroutine()")

    @property
    def status(self):
        return STATUS[self.atomicstatus]

    @property
    def wait_reason(self):
        return WAIT_REASONS[self.waitreason] if self.atomicstatus == _Gwaiting else None

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
    def runtime(self):
        return self.rt

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
            return (nilchan,)
        out = []
        cdef sudog* sg = self.waiting
        while sg != NULL:
            if sg.c != NULL and <object>sg.c not in out:
                out.append(<object>sg.c)
            sg = sg.waitlink
        return tuple(out)

    @property
    def frame(self):
        """The goroutine's innermost Python frame (None if it has not started or has ended)."""
        if self.atomicstatus == _Grunning:
            # The caller's frame: the running goroutine is the caller (a C property adds none).
            try:
                return sys._getframe(0)
            except ValueError:
                return None
        if self.gr is None:
            return None
        return sw_frame(self.gr)

    def stack(self):
        from chanemu import _traceback
        return _traceback.format_goroutine(self)

    @staticmethod
    def current():
        return getrt().curg

    def __repr__(self):
        return _handle.describe(self)


cdef class Runtime:
    """One emulated Go program: its goroutines, its P's run queue and sudog cache, its clock."""

    def __cinit__(self, seed=None, clock="real"):
        if clock not in ("real", "virtual"):
            raise ValueError(f"clock must be 'real' or 'virtual', not {clock!r}")
        if seed is None:
            seed = int.from_bytes(os.urandom(8), "little")
        elif isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int or None, not {type(seed).__name__}")
        self.randstate = <uint64_t>(seed & 0xFFFFFFFFFFFFFFFF)
        self.clock = clock
        self.virtual = clock == "virtual"
        self.allgs = {}
        self.gfree = []
        gq_init(&self.runq, LOCAL_RUNQ_CAP)
        gq_init(&self.globrunq, 64)
        self.thread_ident = PyThread_get_thread_ident()
        self.timers = TimerHeap()
        self.timer_next = NO_TIMER
        self.safepoints = deque()
        self.wake = threading.Event()
        newslice(self)
        self.thread_serial = chanemu_thread_serial()

    def __init__(self, seed=None, clock="real"):
        # __cinit__ did the work; running it again would drop the goroutines and queues
        if self.inited:
            raise TypeError("Runtime.__init__ called twice: a runtime is made once")
        self.inited = True

    def __dealloc__(self):
        cdef sudog* s
        cdef int i
        PyMem_Free(self.runq.buf)
        PyMem_Free(self.globrunq.buf)
        for i in range(self.nsudogcache):
            PyMem_Free(self.sudogcache[i])
        while self.central != NULL:
            s = self.central
            self.central = s.next
            PyMem_Free(s)

    # -- clock ------------------------------------------------------------------------------
    cpdef int64_t nanotime(self):
        if self.virtual:
            return self.vnow
        return chanemu_monotonic_ns()

    # -- registry ---------------------------------------------------------------------------
    def goroutines(self):
        return list(self.allgs.values())

    def num_goroutine(self):
        return len(self.allgs)

    # -- run queues (proc.go runqput, runqputslow, globrunqget, findRunnable's order) ---------
    cdef int runqput(self, Goroutine gp, bint next) except -1:
        """Put gp on the local run queue; with next, into runnext, kicking the old runnext to
        the tail. A full local queue moves half of itself, and gp, to the global queue."""
        if next:
            return runqput_next(self, gp)
        if self.runq.size < LOCAL_RUNQ_CAP:
            return gq_put(&self.runq, gp)
        return self.runqputslow(gp)

    cdef int runqputslow(self, Goroutine gp) except -1:
        """runqputslow: the local queue is full; move gp and half of it to the global queue."""
        cdef Py_ssize_t i
        # room first, so that the moves below cannot fail halfway
        gq_reserve(&self.globrunq, self.globrunq.size + LOCAL_RUNQ_CAP // 2 + 1)
        for i in range(LOCAL_RUNQ_CAP // 2):
            gq_put(&self.globrunq, <Goroutine>gq_get(&self.runq))
        return gq_put(&self.globrunq, gp)

    cdef Goroutine globrunqget(self, Py_ssize_t max):
        """Take a batch from the global queue: run the first, queue the rest locally
        (with GOMAXPROCS=1: all of it, up to max and half the local queue)."""
        cdef Py_ssize_t n = self.globrunq.size
        if max > 0 and n > max:
            n = max
        if n > LOCAL_RUNQ_CAP // 2:
            n = LOCAL_RUNQ_CAP // 2
        cdef Goroutine gp = <Goroutine>gq_get(&self.globrunq)
        while n > 1:
            gq_put(&self.runq, <Goroutine>gq_get(&self.globrunq))
            n -= 1
        return gp

    cdef Goroutine getnext(self):
        """The next G to run, in findRunnable's order: runnext, the local queue, then a batch
        from the global queue. Go also reads the global queue first on every 61st schedule
        (p.schedtick%61), for fairness under preemption; that is left out here, because it
        would let a goroutine that yielded resume before goroutines that were runnable when it
        yielded, and runtime.gosched() promises (README.md) that they all run first."""
        return runq_getnext(self)

    cdef Goroutine getnext_queued(self):
        """getnext when runnext is empty: the local queue, then the global one."""
        if self.runq.size > 0:
            return <Goroutine>gq_get(&self.runq)
        if self.globrunq.size > 0:
            return self.globrunqget(0)
        return None

    cdef void runqremove(self, Goroutine gp):
        """Take gp off the run queues (only when a fatal error is thrown into a runnable G)."""
        if self.runnext is gp:
            self.runnext = None
        elif not gq_remove(&self.runq, gp):
            gq_remove(&self.globrunq, gp)

    def runq_snapshot(self):
        """The runnable Gs: runnext, the local queue, the global queue."""
        out = [] if self.runnext is None else [self.runnext]
        out += gq_list(&self.runq)
        out += gq_list(&self.globrunq)
        return out

    # -- sudog cache (proc.go acquireSudog / releaseSudog) ------------------------------------
    # (the work is in acquire_sudog and release_sudog below, which the hot paths call inlined)
    cdef sudog* acquireSudog(self) except NULL:
        return acquire_sudog(self)

    cdef int releaseSudog(self, sudog* s) except -1:
        return release_sudog(self, s)

    cdef int sudog_refill(self) except -1:
        """acquireSudog's empty cache: refill it from the shared list first, and only if that is
        empty too allocate a fresh sudog."""
        cdef sudog* s
        while self.nsudogcache < SUDOG_CACHE_CAP // 2 and self.central != NULL:
            s = self.central
            self.central = s.next
            s.next = NULL
            self.sudogcache[self.nsudogcache] = s
            self.nsudogcache += 1
        if self.nsudogcache == 0:
            s = <sudog*>PyMem_Malloc(sizeof(sudog))
            if s == NULL:
                raise MemoryError()
            memset(s, 0, sizeof(sudog))
            self.sudogcache[0] = s
            self.nsudogcache = 1
            self.sudogs_allocated += 1
        return 0

    cdef void sudog_spill(self) noexcept:
        """releaseSudog's full cache: half of its sudogs move to the shared list."""
        cdef sudog* first = NULL
        cdef sudog* last = NULL
        cdef sudog* p
        while self.nsudogcache > SUDOG_CACHE_CAP // 2:
            self.nsudogcache -= 1
            p = self.sudogcache[self.nsudogcache]
            if first == NULL:
                first = p
            else:
                last.next = p
            last = p
        last.next = self.central
        self.central = first

    def sudogs_cached(self):
        cdef long long n = self.nsudogcache
        cdef sudog* s = self.central
        while s != NULL:
            n += 1
            s = s.next
        return n

    # -- timers (time.go) ----------------------------------------------------------------------
    def newtimer(self, f, arg):
        """A runtime timer that will run f(arg, now) in the scheduler; not yet scheduled."""
        return Timer(f, arg)

    def addtimer(self, t, int64_t when):
        self.timers.add(t, when)
        if t.heaped and when < self.timer_next:
            self.timer_next = when

    def stoptimer(self, t):
        was = self.timers.stop(t)
        self.timer_next = self.next_when()
        return was

    def resettimer(self, t, int64_t when):
        was = self.timers.reset(t, when)
        self.timer_next = self.next_when()
        return was

    cdef int64_t next_when(self) except? -1:
        when = self.timers.next_when()
        return NO_TIMER if when is None else when

    def runtimers(self, int64_t now):
        """Fire the timers due at now (checkTimers)."""
        self.nopreempt += 1
        try:
            self.timers.run(now)
        finally:
            self.nopreempt -= 1
        self.timer_next = self.next_when()

    def blocktimerchan(self, t):
        """blockTimerChan: the caller is about to park on t's channel, so t joins the heap."""
        self.timers.block(t)
        if t.heaped and not t.zombie and t.when < self.timer_next:
            self.timer_next = t.when

    def unblocktimerchan(self, t):
        """unblockTimerChan: the caller no longer waits on t's channel."""
        self.timers.unblock(t)
        self.timer_next = self.next_when()

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
            self.timer_next = self.next_when()

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

    # -- the program's start and end (called by chanemu._lifecycle) -------------------------
    def adopt_current(self):
        """The calling greenlet becomes goroutine 1 of this fresh runtime, running: the thread's
        own code, in its default runtime. Fatal errors are thrown into it, inside its blocking
        call. Returns goroutine 1."""
        if self.is_run or self.goidgen:
            raise RuntimeError("chanemu: a runtime runs one program")
        cdef Goroutine g1 = newg(self, None, _EMPTY, None, 0, None)
        g1.gr = sw_current()
        g1.atomicstatus = _Grunning
        self.curg = g1
        self.fatal_target = g1.gr
        return g1

    def end(self):
        """The program has ended: from now on nothing of it runs (gopark, gosched and go raise).
        Returns the greenlets the lifecycle layer must end: g0 first, then the goroutines', then
        the idle workers'. Run queues are emptied first, so no goroutine starts during the end.
        Called from another thread than the program's, the greenlets cannot be ended there: on
        the stack backend their C stacks are written off at once (sw_abandon)."""
        cdef Goroutine g
        self.dead = True
        self.runq.size = self.globrunq.size = 0
        self.runnext = None
        grs = [] if self.g0 is None else [self.g0]
        me = sw_current()
        grs += [g.gr for g in self.allgs.values() if g.gr is not None and g.gr is not me]
        grs += self.gfree
        self.gfree = []
        self.g0 = None
        if PyThread_get_thread_ident() != self.thread_ident:
            # Ended from another thread (its own has gone): they can never run again, and on
            # the stack backend their C stacks would stay taken; they go back now.
            for gr in grs:
                sw_abandon(gr)
        return grs

    def release(self):
        """After the end: let go of every goroutine, so nothing of the program stays reachable from
        a handle that outlives it (and the Runtime -> allgs -> G -> Runtime cycle is broken: G is
        not tracked by the cyclic GC)."""
        cdef Goroutine g
        for g in self.allgs.values():
            g.atomicstatus = _Gdead
            g.gr = None
            g.startfn = g.args = g.kwargs = None
            g.waitobj = None
            g.waiting = g.param = NULL
        self.allgs.clear()
        self.curg = None
        self.runq.size = self.globrunq.size = 0
        self.runnext = None
        self.gfree = []
        self.g0 = None
        self.fatal_target = None
        self.timers.clear()
        self.timer_next = NO_TIMER
        self.safepoints.clear()
        self.tracer = None

    # -- invariants ---------------------------------------------------------------------------
    def check_invariants(self):
        """Assert the scheduler's invariants and those of every channel a goroutine waits on."""
        cdef Goroutine g
        cdef sudog* sg
        running = []
        nrunnable = 0
        for g in self.allgs.values():
            if g.atomicstatus == _Grunning:
                running.append(g)
            elif g.atomicstatus == _Grunnable:
                nrunnable += 1
        if self.curg is not None and not self.dead:
            assert running == [self.curg], f"running {running}, curg {self.curg}"
        queued = self.runq_snapshot()
        assert len(set(map(id, queued))) == len(queued), "a G is queued twice"
        for g in queued:
            assert g.atomicstatus == _Grunnable, f"{g} queued but not runnable"
        assert nrunnable == len(queued), f"{nrunnable} runnable, {len(queued)} queued"
        for g in self.allgs.values():
            assert g.atomicstatus != _Gdead, f"dead {g} in allgs"
            sg = g.waiting
            while sg != NULL:
                assert sg.g == <PyObject*>g, "sudog on g.waiting belongs to another G"
                if sg.c != NULL and g.atomicstatus == _Gwaiting:
                    check_hchan(<Chan>sg.c)
                sg = sg.waitlink


# -- the run queue's and sudog cache's hot paths -----------------------------------------------
# Module functions, not Runtime's methods: a method is called through the type's vtable, which
# the C compiler cannot inline; these inline into every park and ready. The methods of the same
# names call them, so there is one implementation.
cdef inline int runqput_next(Runtime rt, Goroutine gp) except -1:
    """runqput(gp, next=True): gp into runnext, the G it kicks out to the tail of the queue."""
    if rt.runnext is not None:
        # the kicked G is queued first: if that fails, nothing changed
        rt.runqput(rt.runnext, False)
    rt.runnext = gp
    return 0


cdef inline Goroutine runq_getnext(Runtime rt):
    """Runtime.getnext: runnext first, else the queues (getnext_queued)."""
    cdef Goroutine gp = rt.runnext
    if gp is not None:
        rt.runnext = None
        return gp
    return rt.getnext_queued()


cdef inline sudog* acquire_sudog(Runtime rt) except NULL:
    """acquireSudog: a sudog off the per-runtime cache (refilled when empty)."""
    cdef sudog* s
    if rt.nsudogcache == 0:
        rt.sudog_refill()
    rt.nsudogcache -= 1
    s = rt.sudogcache[rt.nsudogcache]
    if s.elem != NULL:
        throw("acquireSudog: cached sudog still holds a value")
    return s


cdef inline int release_sudog(Runtime rt, sudog* s) except -1:
    """releaseSudog: s back onto the per-runtime cache (half of a full cache spills first). A
    sudog still in use is a fatal error (bad_release names what is wrong with it)."""
    # (the pointers or-ed together: one test and branch for five of the checks)
    if ((<size_t>s.elem | <size_t>s.next | <size_t>s.prev | <size_t>s.waitlink | <size_t>s.c)
            or s.isSelect or (rt.curg is not None and rt.curg.param != NULL)):
        return bad_release(rt, s)
    s.g = NULL
    if rt.nsudogcache == SUDOG_CACHE_CAP:
        rt.sudog_spill()
    rt.sudogcache[rt.nsudogcache] = s
    rt.nsudogcache += 1
    return 0


cdef int bad_release(Runtime rt, sudog* s) except -1:
    """release_sudog's checks, out of line: the first one that fails throws."""
    if s.elem != NULL:
        throw("releaseSudog: sudog still holds a value")
    if s.isSelect:
        throw("releaseSudog: sudog still marked as a select case")
    if s.next != NULL:
        throw("releaseSudog: sudog still linked (next)")
    if s.prev != NULL:
        throw("releaseSudog: sudog still linked (prev)")
    if s.waitlink != NULL:
        throw("releaseSudog: sudog still on a waiting list")
    if s.c != NULL:
        throw("releaseSudog: sudog still names a channel")
    throw("releaseSudog: current goroutine's param is still set")


cdef int throw(str msg) except -1:
    """runtime.throw: an internal invariant broke. Not recoverable, never expected."""
    raise FatalError(msg)


# -- the runtime of this thread ------------------------------------------------------------
# The thread's runtime lives in its thread-state dict. The last thread looked up is cached by
# its thread state's address and unique id (an ended thread's address can be reused, its id
# cannot); the cache holds the runtime, not the dict, so a thread's dict, and with it the
# lifecycle's thread-end holder, is freed when the thread ends.
cdef str _RT_KEY = "chanemu._core.runtime"
cdef PyThreadState* _cache_ts = NULL
cdef unsigned long long _cache_tsid = 0
cdef Runtime _cache_rt = None


cdef inline Runtime getrt():
    """The calling thread's current runtime, creating the default runtime on first use."""
    cdef PyThreadState* ts = ce_tstate()
    if ts == _cache_ts and ts.id == _cache_tsid:
        return _cache_rt
    return getrt_slow(ts)


cdef Runtime getrt_slow(PyThreadState* ts):
    global _cache_ts, _cache_tsid, _cache_rt
    cdef PyObject* d = PyThreadState_GetDict()
    if d == NULL:
        raise RuntimeError("chanemu: no thread state")
    rt = (<dict>d).get(_RT_KEY)
    if rt is None:
        from chanemu import _lifecycle
        rt = _lifecycle.default_runtime(sys.modules["chanemu._core"])
        (<dict>d)[_RT_KEY] = rt
    _cache_ts = ts
    _cache_tsid = ts.id
    _cache_rt = rt
    return rt


cdef void set_thread_rt(object rt):
    """Make rt (or no runtime, for None) the calling thread's current runtime."""
    global _cache_ts, _cache_rt
    cdef PyObject* d = PyThreadState_GetDict()
    if rt is None:
        (<dict>d).pop(_RT_KEY, None)
    else:
        (<dict>d)[_RT_KEY] = rt
    _cache_ts = NULL
    _cache_rt = None


cdef Runtime thread_rt_or_none():
    cdef PyObject* d = PyThreadState_GetDict()
    return (<dict>d).get(_RT_KEY)


def thread_runtime():
    """The calling thread's current runtime, or None (none is made)."""
    return thread_rt_or_none()


def set_thread_runtime(rt):
    """Make rt (a Runtime, or None) the calling thread's current runtime."""
    if rt is not None and not isinstance(rt, Runtime):
        raise TypeError(f"expected a Runtime, got {type(rt).__name__}")
    set_thread_rt(rt)


cdef Goroutine newg(Runtime rt, object fn, tuple args, dict kwargs, long long parent, object gopc):
    # The global queue can hold every G, so that readying one never allocates (and never fails
    # with the G off every queue): the room is taken here, where a failure changes nothing.
    gq_reserve(&rt.globrunq, len(rt.allgs) + 1)
    cdef Goroutine gp = Goroutine.__new__(Goroutine)
    rt.goidgen += 1
    gp.goid = rt.goidgen
    gp.atomicstatus = _Grunnable
    gp.parentGoid = parent
    gp.gopc = gopc
    gp.startfn = fn
    gp.args = args
    gp.kwargs = kwargs
    gp.rt = rt
    rt.allgs[gp.goid] = gp
    return gp




cdef inline int check_current(Runtime rt) except -1:
    """The caller must be the runtime's running goroutine, able to park: not a foreign
    greenlet, and not code the scheduler runs while no goroutine runs (a signal handler or a
    __del__ called from the idle wait, a timer function). Checked before anything is queued.
    (Every park runs it: no reference is taken, and the errors are raised out of line.)"""
    if rt.curg.atomicstatus != _Grunning:
        return raise_not_running()
    if not sw_is_current_p(<PyObject*>rt.curg.gr):
        return raise_not_goroutine()
    return 0


cdef int raise_not_running() except -1:
    raise RuntimeError("chanemu: blocking call while no goroutine is running (from a signal "
                       "handler, __del__ or timer function run by the idle scheduler)")


cdef int raise_not_goroutine() except -1:
    raise RuntimeError("chanemu: blocking call from a greenlet that is not a goroutine of "
                       "this thread's runtime")


cdef int raise_ended() except -1:
    """A runtime call from a goroutine of a program that has ended (unwinding at its end, or an
    object's __del__ running meanwhile): it fails at once, nothing is scheduled."""
    raise RuntimeError("chanemu: the program has ended")


# -- park and ready ------------------------------------------------------------------------
cdef int gopark(Runtime rt, int reason) except -1:
    """Park the current goroutine with a wait reason and run others until goready(gp).

    The caller has already queued gp's sudogs (if any). If an exception is thrown into the
    parked goroutine (a fatal error of the program, the program's end), gopark raises it
    and the caller must call unpark(rt, gp) and undo its queueing. (The try is the caller's,
    which has one anyway: a second here costs the hot path a few ns per park.)
    """
    # (rt.curg read where it is used, not held in a local: no reference counting per park)
    if rt.dead:
        raise_ended()
    if rt.curg.atomicstatus != _Grunning:
        throw("gopark: bad g status")
    rt.curg.waitreason = reason
    # One coarse clock read (see clock.h) for both: when the G parked (dumps read it in
    # minutes), and when it gave up the thread (the next G's time slice starts there).
    rt.gaveup_at = chanemu_coarse_ns()
    rt.curg.waitsince = rt.vnow if rt.virtual else rt.gaveup_at
    rt.curg.atomicstatus = _Gwaiting
    if rt.tracer is not None:
        rt.tracer("block", rt.curg, WAIT_REASONS[reason])
    return schedule(rt)


cdef void unpark(Runtime rt, Goroutine gp):
    """An exception was thrown into parked gp: make it the running G again."""
    if gp.atomicstatus == _Grunnable:
        rt.runqremove(gp)
    gp.atomicstatus = _Grunning
    gp.waitreason = waitReasonZero
    gp.nilwait = False
    rt.curg = gp


cdef dict WAIT_REASON_INDEX = {r: i for i, r in enumerate(WAIT_REASONS) if r is not None}


def park(reason, obj=None):
    """Park the calling goroutine with one of Go's wait reasons until ready(g) (sync, sleep).
    obj is the sync object it waits on (the leak detector asks whether it is reachable)."""
    cdef int i = WAIT_REASON_INDEX.get(reason, -1) if isinstance(reason, str) else -1
    if i < 0:
        raise ValueError(f"unknown wait reason {reason!r}")
    cdef Runtime rt = getrt()
    check_current(rt)
    cdef Goroutine gp = rt.curg
    gp.waitobj = obj
    try:
        gopark(rt, i)
    except BaseException:
        unpark(rt, gp)
        raise
    finally:
        gp.waitobj = None


def ready(gp):
    """Make a goroutine parked by park() runnable (goready)."""
    if not isinstance(gp, Goroutine):
        raise TypeError(f"ready: expected a Goroutine, got {type(gp).__name__}")
    if (<Goroutine>gp).rt is not getrt():
        raise RuntimeError(f"chanemu: goroutine {gp.goid} belongs to another runtime "
                           "(another thread's, or another run() program)")
    if not parked_by_park(<Goroutine>gp):
        # a G parked on channels is woken by its channel, which hands it a sudog: readied
        # here it would run with its sudogs still queued
        raise RuntimeError(f"chanemu: ready: goroutine {gp.goid} is not parked by park() "
                           f"({gp.status}, {gp.wait_reason})")
    goready(<Goroutine>gp)


cdef inline bint parked_by_park(Goroutine gp) noexcept:
    return (gp.atomicstatus == _Gwaiting and gp.waiting == NULL and not gp.nilwait and
            gp.waitreason != waitReasonSelectNoCases and gp.waitreason != waitReasonSelect and
            gp.waitreason != waitReasonChanReceive and gp.waitreason != waitReasonChanSend)


cdef inline int goready(Goroutine gp) except -1:
    """Mark gp runnable and put it in runnext (proc.go ready(gp, traceskip, next=true)).
    gp belongs to the caller's runtime: chancheck (channels) and ready() (sync) made sure."""
    cdef Runtime rt = gp.rt
    if gp.atomicstatus != _Gwaiting:
        throw("bad g->status in ready")
    runqput_next(rt, gp)          # first: if it failed, gp would still be waiting, not lost
    gp.atomicstatus = _Grunnable
    if rt.idle:
        rt.wake.set()      # readied from a signal handler while the runtime waits for a timer
    if rt.tracer is not None:
        rt.tracer("unblock", gp, rt.curg)
    return 0


cdef inline int schedule(Runtime rt) except -1:
    """Switch from the current (no longer running) G to the next runnable one.

    Returns 0 when the current G is switched back to by the runtime. Due timers run first
    (checkTimers). If nothing can run, findrunnable waits for the next timer or delivers the
    deadlock. A switch or throw into the G's greenlet from anywhere else is refused: it raises
    in the intruder and the G stays parked (resume_parked).
    """
    cdef Goroutine me = rt.curg
    # (schedule1 called as a C function whose -1 is checked here, so that the hot path has no
    # try block, which saves the handled exception on entry: every park paid for it)
    if (<schedule1_nocheck>schedule1)(rt, me) < 0:
        return schedule_raised(rt, me)
    rt.swgen += 1
    if rt.curg is not me or me.atomicstatus != _Grunning:
        return resume_parked(rt, me, None)
    return 0


ctypedef int (*schedule1_nocheck)(Runtime, Goroutine) noexcept


cdef int schedule_raised(Runtime rt, Goroutine me) except -1:
    """schedule1 raised (its exception is set), in the G that parked: as the runtime threw it
    (a fatal error, the program's end) or as it was raised while hosting, it goes on up;
    thrown in by anything else, it is refused and the G stays parked (resume_parked)."""
    try:
        raise_current()
    except BaseException as e:
        rt.swgen += 1
        if rt.dead or rt.curg is me:
            raise
        return resume_parked(rt, me, e)


cdef inline int schedule1(Runtime rt, Goroutine me) except -1:
    cdef int64_t now
    if rt.safepoint_pending:
        rt.run_safepoints()
        rt.gaveup_at = chanemu_coarse_ns()      # their time is the scheduler's, not the next G's
    if rt.timer_next != NO_TIMER:
        now = rt.nanotime()
        if rt.timer_next <= now:
            rt.runtimers(now)
            rt.gaveup_at = chanemu_coarse_ns()
    cdef Goroutine gp = runq_getnext(rt)
    if gp is None:
        gp = findrunnable(rt, False)
        if gp is None:
            return 0      # a fatal error was delivered, and later we were readied
    if gp is me:
        # Readied while we looked for work (a timer of ours fired), or yielded with nothing
        # else to run: no switch needed.
        gp.atomicstatus = _Grunning
        if rt.tracer is not None:
            rt.tracer("start", gp, None)
        return 0      # schedule counts the resumption (swgen): a new time slice starts lazily
    return execute(rt, gp, me)


cdef int resume_parked(Runtime rt, Goroutine me, object exc) except -1:
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
            return 0
        exc = None
    raise out


cdef int await_reuse(Runtime rt, object exc=None) except -1:
    """An idle worker greenlet (on the free list) was switched back to (or, with exc, thrown
    into). The runtime does that only to run a new goroutine on it: rt.curg, bound to this
    greenlet by execute. Anything else is an intruder: refuse it and wait again."""
    out = None
    rt.swgen += 1
    while not (rt.curg is not None and rt.curg.atomicstatus == _Grunning and
               sw_is_current(rt.curg.gr)):
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
    return 0


class _Intrusion(Exception):
    """refuse_intruder found no greenlet to refuse: carries the error to raise here."""


cdef int refuse_intruder(Runtime rt, object exc, long long goid) except -1:
    """Raise a RuntimeError in the greenlet the calling thread's program is running: the
    intruder, or the goroutine that switched into it. Returns (or raises) when this greenlet
    is switched (or thrown) into again. A throw that fails before it switches (greenlet could
    not save the stack) changed nothing: it is tried again, and after MAX_FAILED_REFUSALS such
    failures in a row the refusal gives up (give_up_refusal)."""
    cdef Runtime trt = getrt()
    target = trt.curg.gr if trt.curg is not None else None
    who = f"goroutine {goid}'s greenlet" if goid else "an idle goroutine greenlet"
    if target is None or target.dead or sw_is_current(target):
        raise _Intrusion(refusal(who, exc))
    for _ in range(MAX_FAILED_REFUSALS):
        err = refusal(who, exc)
        try:
            inject_switch_fault()   # tests: as if greenlet could not save the stack
            sw_throw(target, err)
            return 0
        except BaseException as e:
            if err.__traceback__ is not None:
                raise   # err was raised there: the throw landed, and this was thrown in later
            if e.__context__ is None:
                e.__context__ = exc
            exc = e     # it never switched: refuse again, the switch's error as the context
    return give_up_refusal(rt, trt, refusal(who, exc), goid != 0)


cdef object refusal(str who, object exc):
    """The error a refused intruder gets: exc (what it threw in, or a failed try) as context."""
    err = RuntimeError(f"chanemu: switch into {who} from outside the runtime; only the "
                       "scheduler resumes a goroutine")
    err.__context__ = exc
    return err


cdef int give_up_refusal(Runtime rt, Runtime trt, object err, bint parked) except -1:
    """The intruder could not be refused: every throw to it failed before it switched. Like a
    worker that cannot switch, the error becomes the program's fatal error (raise_fatal):
    goroutine 1 takes it (in its blocking call, or at its own intrusion), or run() raises it.
    If that delivery fails too (or this greenlet is the fatal target), the error comes out here,
    carrying the switch's error: the goroutine of this greenlet takes it in its blocking call,
    as a parking goroutine does (parked), or an idle worker ends with it, which hands it to the
    fatal target as g0 does. The intruding goroutine, when it is not the one that takes the
    error, is made runnable, so that one goroutine runs at a time (its switch here returns when
    the scheduler resumes it)."""
    cdef Goroutine h = trt.curg if trt is rt else None
    if h is not None and (h.atomicstatus != _Grunning or sw_is_current(h.gr)):
        h = None
    if h is not None and h.gr is not rt.fatal_target:
        make_intruder_runnable(rt, h)
    if sw_is_current(rt.fatal_target):
        raise _Intrusion(err)       # this greenlet's goroutine is the one that takes it
    try:
        raise_fatal(rt, err)
    except BaseException as e:
        if err.__traceback__ is not None:
            raise   # delivered, and later something was thrown in from outside
        # not delivered (raise_fatal gave e err as its context): it comes out here
        if parked and h is not None and h.atomicstatus == _Grunning:
            make_intruder_runnable(rt, h)
        raise _Intrusion(e)
    return 0


cdef int make_intruder_runnable(Runtime rt, Goroutine h) except -1:
    """h, the running G as far as the runtime knows, is in fact suspended in a switch into a
    greenlet that is not its own: runnable again, so that another goroutine can run."""
    h.atomicstatus = _Grunnable
    rt.runqput(h, False)
    return 0


cdef inline int execute(Runtime rt, Goroutine gp, Goroutine me) except -1:
    """Make gp the running G and switch to its greenlet (a worker's, if gp is new).

    A fresh greenlet starts with the Python recursion depth of the greenlet that starts it, so
    fresh ones are started from g0, whose stack stays shallow (as Go starts goroutines from the
    scheduler's g0 stack); otherwise a chain of goroutines, each started by the previous one's
    park, would run out of recursion depth.

    If the switch itself fails (greenlet cannot save the stack: MemoryError), nothing ran: gp
    goes back to runnext, me (the caller) is the running G again, and the error is raised in it.
    """
    cdef unsigned long long gen
    cdef bint fresh = gp.gr is None
    # (the rare parts, a new goroutine's worker and the tracer's event, are functions of their
    # own: their try blocks would cost every switch their set-up)
    gr = bind_worker(rt, gp) if fresh else gp.gr
    gp.atomicstatus = _Grunning
    rt.curg = gp
    gen = rt.swgen      # gp's resumption counts one; its time slice starts lazily (checkpreempt_slow)
    # No try block on this path (it costs every switch): the switch's NULL is checked here.
    if rt.tracer is not None:
        trace_start(rt, gp, me, fresh)
    cdef PyObject* r = sw_switch(gr)
    if r == NULL:
        if rt.swgen == gen and rt.curg is gp:
            unexecute_keeping_error(rt, gp, me, fresh)
        return -1
    Py_DECREF(<object>r)
    return 0


cdef object bind_worker(Runtime rt, Goroutine gp):
    """execute's new goroutine gp gets a worker: one from the free list (started) or a fresh
    greenlet, which is started from g0. Returns what execute switches to (the worker, or g0)."""
    try:
        gr = gfget(rt)
        # (a fiber starts with a fresh recursion depth of its own: no need of g0)
        first = gr if SW_STACK or sw_started(gr) else getg0(rt)
        if SW_STACK and not sw_started(gr):
            inject_switch_fault()   # tests: as if no stack could be had for the new fiber
    except BaseException:
        rt.runqput(gp, True)     # back into the slot getnext emptied: cannot fail
        raise
    gp.gr = gr
    return first


cdef int trace_start(Runtime rt, Goroutine gp, Goroutine me, bint fresh) except -1:
    """execute's "start" event; if the tracer raises, the switch to gp does not happen."""
    try:
        rt.tracer("start", gp, None)
    except BaseException:
        unexecute(rt, gp, me, fresh)
        raise
    return 0


cdef void unexecute_keeping_error(Runtime rt, Goroutine gp, Goroutine me, bint fresh) noexcept:
    """unexecute, with the switch's exception set aside meanwhile."""
    cdef PyObject* t
    cdef PyObject* v
    cdef PyObject* tb
    PyErr_Fetch(&t, &v, &tb)
    try:
        unexecute(rt, gp, me, fresh)
    except BaseException:
        pass            # cannot fail (runnext is free); the switch's error is the one to raise
    PyErr_Restore(t, v, tb)


cdef int unexecute(Runtime rt, Goroutine gp, Goroutine me, bint fresh) except -1:
    """execute's switch to gp never happened: gp is runnable again (next), with no worker if it
    had none, and me is the current G again."""
    if fresh:
        if sw_started(gp.gr) and len(rt.gfree) < GFREE_CAP:
            rt.gfree.append(gp.gr)
        gp.gr = None
    gp.atomicstatus = _Grunnable
    rt.curg = me
    return rt.runqput(gp, True)


cdef object getg0(Runtime rt):
    if rt.g0 is None:
        rt.g0 = sw_new(_g0_loop, rt.fatal_target)
    return rt.g0


def _g0_loop(*_):
    """g0, the scheduler's own greenlet: it starts fresh goroutine greenlets from a shallow
    stack (see execute), and it is every worker's parent, so a worker that ends hands control
    here and g0 switches to rt.curg. (A worker ending into another worker's greenlet instead
    would chain dead greenlets through their parents, and freeing a long chain recurses.)"""
    cdef Runtime rt = getrt()
    try:
        while rt.curg is not None and rt.curg.gr is not None:
            g0_switch(rt)
            rt.swgen += 1
        # no goroutine to hand over to (a worker ended during the program's end): end, into the caller
    except GreenletExit:
        return None


cdef int g0_switch(Runtime rt) except -1:
    """g0 switches to rt.curg's greenlet: a fresh worker it starts for a new G, or the G that runs
    after a worker ended into g0. Returns when g0 is switched back to. Until the switch lands
    nothing is lost: the G, marked running, is runnable again (a fresh worker that never started
    is dropped), and the error is the program's fatal error, which g0 delivers. An error a worker
    ended with (it could not deliver it itself) is delivered the same way."""
    cdef Goroutine gp = rt.curg
    cdef unsigned long long gen = rt.swgen
    gr = gp.gr
    try:
        inject_switch_fault()
        sw_switch_obj(gr)
    except GreenletExit:
        raise
    except BaseException as e:
        if rt.dead:
            raise
        if rt.swgen == gen and rt.curg is gp and gp.atomicstatus == _Grunning:
            if not sw_started(gr):
                gp.gr = None
            gp.atomicstatus = _Grunnable
            rt.runqput(gp, True)
        err = e
    else:
        return 0
    return g0_deliver(rt, err)


cdef int g0_deliver(Runtime rt, object exc) except -1:
    """A worker ended with an error it could not deliver (its throw failed): g0 delivers it. If
    that fails too, g0 ends with it, and greenlet hands it to g0's parent, the fatal target, which
    takes it as a delivered fatal error (a new g0 is made when one is next needed)."""
    try:
        return raise_fatal(rt, exc)
    except BaseException:
        g0_gives_up(rt)
        raise


cdef Goroutine findrunnable(Runtime rt, bint exiting):
    """Nothing is in the run queue. Wait for the next timer (sleep on the real clock, jump
    there on the virtual one) and run it, until a goroutine is runnable. With no timers left,
    every goroutine is blocked for good: Go's checkdead delivers the fatal error; if this
    greenlet is switched back to after that, return None (when exiting, it went on the free
    list first and is being reused)."""
    cdef Goroutine gp
    cdef int64_t when, d
    while True:
        gp = rt.getnext()
        if gp is not None:
            rt.gaveup_at = chanemu_coarse_ns()   # gp's slice starts after the wait, not before
            return gp
        when = rt.timer_next
        if when == NO_TIMER:
            break
        if rt.virtual:
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
        raise GreenletExit()
    if not rt.allgs:
        exc = FatalError(E_GOEXIT_DEADLOCK, "")
    else:
        from chanemu import _lifecycle
        exc = Deadlock(E_DEADLOCK, _lifecycle.dump(rt))
    if exiting:
        deliver_from_worker(rt, exc)
    else:
        raise_fatal(rt, exc)
    return None


cdef int idle_wait(Runtime rt, int64_t d) except -1:
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
    return 0


cdef int attach_dump(Runtime rt, object exc) except -1:
    """A KeyboardInterrupt carries the goroutine dump of the moment (the lifecycle's)."""
    from chanemu import _lifecycle
    _lifecycle.attach_dump(rt, exc)
    return 0


cdef int raise_fatal(Runtime rt, object exc) except -1:
    """Deliver a fatal error (deadlock, a goroutine's crash) to the program's fatal target.

    In a run() program that is the caller of run(); in the default runtime it is goroutine 1,
    which takes the error inside its blocking call and runs on. Returns 0 if this greenlet is
    later switched back to (it was readied, or reused from the free list).
    """
    cdef Goroutine g1
    cdef unsigned long long gen
    target = rt.fatal_target
    if sw_is_current(target):
        raise exc
    cdef bint was_runnable = False
    prev = rt.curg
    g1 = rt.allgs.get(1)
    if g1 is not None and g1.gr is target:
        was_runnable = take_fatal(rt, g1)
    landed = rt.curg
    gen = rt.swgen
    try:
        inject_switch_fault()
        # With its traceback: the crashed goroutine's frames stay in what the target prints.
        sw_throw(target, exc)
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
    return 0


# Tests only (_fail_switches): the next n switches of goexit0's hand-off, g0's, and the throws
# of raise_fatal and refuse_intruder fail before they switch, as greenlet's do when it cannot
# save the stack.
cdef int switch_faults = 0


cdef int inject_switch_fault() except -1:
    global switch_faults
    if switch_faults > 0:
        switch_faults -= 1
        raise MemoryError("chanemu: injected switch failure (tests)")
    return 0


def _fail_switches(int n):
    """Tests: make the next n switches of goexit0's hand-off and g0, and throws of raise_fatal
    and refuse_intruder, fail before they switch, with MemoryError. Returns how many were still
    pending."""
    global switch_faults
    old = switch_faults
    switch_faults = n
    return old


# -- goroutine lifecycle ---------------------------------------------------------------------
cdef object gfget(Runtime rt):
    """A greenlet to run a new goroutine: an idle one from the free list, or a fresh one."""
    if rt.gfree:
        return rt.gfree.pop()
    return sw_new(_worker, getg0(rt))


def _worker(*_):
    """Body of a worker greenlet: run goroutines one after another (gfput/gfget reuse it).

    Switched to when rt.curg is the G to run: new, or reusing this greenlet from the free list.
    """
    cdef Runtime rt = getrt()
    cdef Goroutine gp = rt.curg
    rt.swgen += 1
    try:
        while gp is not None:
            rt = gp.rt
            try:
                if gp.kwargs:
                    gp.startfn(*gp.args, **gp.kwargs)
                else:
                    gp.startfn(*gp.args)
            except GoExit:
                pass
            except BaseException as e:
                if rt.dead:
                    raise       # the program has ended: this goroutine is being discarded
                gp = crash(rt, gp, e)
                continue
            gp = goexit0(rt, gp)
    except GreenletExit:
        # The program ended and its goroutines are being discarded.
        return None
    return None


cdef Goroutine crash(Runtime rt, Goroutine gp, object exc):
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
    rt.gaveup_at = chanemu_coarse_ns()
    return deliver_from_worker(rt, exc)


cdef Goroutine deliver_from_worker(Runtime rt, object exc):
    """This worker's goroutine is dead (crashed, or ended with no goroutine it could hand over
    to): it goes on the free list and delivers exc to the fatal target. Returns the next G to run
    on this worker, when it is reused. If the delivery's throw fails, the worker leaves the free
    list and ends with the error: greenlet hands it to g0, which tries again (_g0_loop).

    On the stack backend g0 has usually never run (fresh fibers start without it), and a fiber
    ending into a g0 that never ran hands the error straight on to the fatal target, as greenlet
    does with a thrown-into greenlet that never started: so the worker makes g0's second try
    itself, and if that fails too it does what g0 would before ending (g0_deliver)."""
    cdef unsigned long long gen
    cdef int tries = 2 if SW_STACK and (rt.g0 is None or not sw_started(rt.g0)) else 1
    while True:
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
                if e is not exc:
                    e.__context__ = exc     # the error carries the fatal error it failed to deliver
                tries -= 1
                if tries > 0:
                    exc = e
                    continue
                if SW_STACK:
                    g0_gives_up(rt)
                raise
            intruder = e    # it landed, and later this idle worker was thrown into from outside
        await_reuse(rt, intruder)
        return rt.curg


cdef void g0_gives_up(Runtime rt) noexcept:
    """What g0_deliver does when its try fails too: goroutine 1, the fatal target, takes the
    error it is handed as the delivered fatal error; a new g0 is made when one is next needed."""
    cdef Goroutine g1 = rt.allgs.get(1)
    if g1 is not None and g1.gr is rt.fatal_target:
        take_fatal(rt, g1)
    rt.g0 = None


cdef bint take_fatal(Runtime rt, Goroutine g1) noexcept:
    """Goroutine 1, the fatal target, is handed the fatal error: it becomes the running G. If it
    was runnable (taken off its queue; raise_fatal undoes it if its throw fails), nothing on its
    side makes it running: it may be suspended in a switch of its own (an intrusion)."""
    rt.curg = g1
    if g1.atomicstatus != _Grunnable:
        return False
    rt.runqremove(g1)
    g1.atomicstatus = _Grunning
    return True


cdef void gfput_current(Runtime rt):
    if len(rt.gfree) < GFREE_CAP:
        rt.gfree.append(sw_current())


cdef void gfdrop_current(Runtime rt) noexcept:
    """Undo gfput_current: the running worker is not idle after all."""
    cdef Py_ssize_t n = len(rt.gfree)
    if n and sw_is_current(rt.gfree[n - 1]):
        rt.gfree.pop()


cdef void gfleave_current(Runtime rt):
    """The running worker leaves the free list, wherever it is on it."""
    me = sw_current()
    rt.gfree = [gr for gr in rt.gfree if gr is not me]


cdef Goroutine goexit0(Runtime rt, Goroutine gp):
    """gp's function returned: gp is dead. Returns the next G to run on this worker, or None
    when the worker greenlet should end (its end then switches to rt.curg's greenlet)."""
    cdef Goroutine nxt
    if rt.tracer is not None:
        rt.tracer("end", gp, None)
    gp.atomicstatus = _Gdead
    gp.waitreason = waitReasonZero
    del rt.allgs[gp.goid]
    gp.gr = None
    gp.startfn = gp.args = gp.kwargs = None
    if rt.safepoint_pending:
        rt.run_safepoints()
    rt.gaveup_at = chanemu_coarse_ns()
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


cdef Goroutine handoff(Runtime rt, Goroutine gp, Goroutine nxt):
    """The rest of goexit0: nxt, marked running, runs next, right here if it is new, else on its
    own greenlet, which this worker switches to after going on the free list. Returns the next
    G to run on this worker (nxt, or rt.curg when the worker is reused), or None when the worker
    ends. Until the switch lands nothing is lost: if the tracer, the free list or the switch
    itself fails (greenlet could not save the stack), nxt is runnable again and the error is the
    program's fatal error, delivered from this worker as a crash's is."""
    cdef unsigned long long gen = rt.swgen
    err = None
    try:
        if rt.tracer is not None:
            rt.tracer("start", nxt, None)
        me = sw_current()
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
        sw_switch_obj(nxt.gr)
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


cdef object caller_site():
    """(code, line, module) of the innermost Python frame: where go() was called."""
    cdef PyFrameObject* f = <PyFrameObject*>PyEval_GetFrame()
    if f == NULL:
        return None
    frame = <object><PyObject*>f
    return (frame.f_code, PyFrame_GetLineNumber(f), frame.f_globals.get("__name__", "?"))


def go(fn, *args, **kwargs):
    """go fn(*args, **kwargs): start a goroutine; returns its handle.

    As Go's newproc does, the new goroutine goes into runnext: it runs next when the caller
    blocks or yields.
    """
    if not callable(fn):
        raise TypeError(f"go: {type(fn).__name__!r} object is not callable")
    cdef Runtime rt = getrt()
    if rt.dead:
        raise_ended()
    gp = newg(rt, fn, args, kwargs, rt.curg.goid, caller_site())
    rt.runqput(gp, True)
    if rt.tracer is not None:
        rt.tracer("create", gp, rt.curg)
    return gp


def gosched():
    """runtime.Gosched: the caller goes on the global run queue, which is read only when the
    local queue is empty (Go's every-61st-schedule look is left out): all runnable now run first,
    and so do the timers that are due and the safe points that are asked for."""
    cdef Runtime rt = getrt()
    if rt.dead:
        raise_ended()
    if (rt.runnext is None and rt.runq.size == 0 and rt.globrunq.size == 0
            and not rt.safepoint_pending
            and (rt.timer_next == NO_TIMER or rt.timer_next > rt.nanotime())):
        return    # Go would run the caller again, from the global queue
    check_current(rt)
    goschedImpl(rt, "sched")


cdef int goschedImpl(Runtime rt, str kind) except -1:
    """The running G goes on the global run queue and the scheduler runs: a yield ("sched")
    or a preemption ("preempt"). Returns when the G runs again."""
    cdef Goroutine gp = rt.curg
    gp.atomicstatus = _Grunnable
    gq_put(&rt.globrunq, gp)
    rt.gaveup_at = chanemu_coarse_ns()
    if rt.tracer is not None:
        rt.tracer(kind, gp, None)
    try:
        schedule(rt)
    except BaseException:
        unpark(rt, gp)
        raise
    return 0


def set_preempt_slice(int64_t ns):
    """Set the time slice, and restart the slice of this thread's running runtime with it."""
    global preempt_slice
    preempt_slice = ns
    cdef Runtime rt = thread_rt_or_none()
    if rt is not None:
        newslice(rt)


cdef void newslice(Runtime rt) noexcept:
    """The running G's time slice starts now: it ends preempt_slice from now."""
    global chanemu_preempt_deadline
    rt.gaveup_at = chanemu_coarse_ns()
    rt.slicetick = rt.swgen
    rt.preempt_at = rt.gaveup_at + preempt_slice
    chanemu_preempt_deadline = rt.preempt_at


cdef inline int checkpreempt_inline() except -1:
    """A runtime call's preemption check (Go's stack-guard check in a function's prologue):
    a G that has run preempt_slice (10 ms) without blocking yields here. One coarse clock read
    (vDSO) against the thread's copy of the deadline."""
    if chanemu_coarse_ns() >= chanemu_preempt_deadline:
        return checkpreempt_slow(getrt())
    return 0


cdef int checkpreempt_slow(Runtime rt) except -1:
    """Past the thread's deadline. A switch does not start the next G's slice (no clock read on
    the hot path): as Go's sysmon compares a P's schedtick with the one it saw last, this looks
    whether a G has started since the slice began (swgen moved). If so, the running G's slice
    started when the previous one gave up the thread (rt.gaveup_at, read where that G parked,
    yielded or ended). A G that has had its slice yields."""
    global chanemu_preempt_deadline
    if rt.swgen != rt.slicetick:
        rt.slicetick = rt.swgen
        rt.preempt_at = rt.gaveup_at + preempt_slice
    chanemu_preempt_deadline = rt.preempt_at     # (the copy may have been another runtime's)
    if chanemu_coarse_ns() >= rt.preempt_at:
        return preempt(rt)
    return 0


def checkpreempt():
    """The preemption check of a runtime call of the layer above (time.now)."""
    checkpreempt_inline()


cdef int preempt(Runtime rt) except -1:
    """gopreempt_m: the running G yields as gosched would, unless it is not at a safe point: the
    scheduler's own sections (timer functions, safe points), a program that has ended, a call
    from a greenlet that is not the running G."""
    cdef Goroutine gp = rt.curg
    if (rt.nopreempt or rt.dead or gp is None or gp.atomicstatus != _Grunning
            or not sw_is_current(gp.gr)):
        return 0
    return goschedImpl(rt, "preempt")


def goexit():
    """runtime.Goexit: end the calling goroutine (its finally blocks run)."""
    raise GoExit()


def run_main(Runtime rt, main, tuple args, dict kwargs):
    """Run main(*args, **kwargs) as goroutine 1 of rt, which the caller made the thread's
    runtime (chanemu._lifecycle.run); returns main's result, or raises what ended the program
    (a deadlock, a goroutine's crash). The caller ends the program afterwards."""
    if rt.is_run or rt.goidgen:
        raise RuntimeError("chanemu: a runtime runs one program")
    rt.is_run = True
    rt.fatal_target = sw_current()
    cdef Goroutine g1 = newg(rt, main, args, kwargs, 0, None)
    g1.gr = sw_new(_main_body, rt.fatal_target)
    g1.atomicstatus = _Grunning
    rt.curg = g1
    rt.gaveup_at = chanemu_coarse_ns()      # main's time slice starts here
    result = g1.gr.switch()
    if type(result) is _MainExit:
        raise (<_MainExit>result).exc
    return result


@cython.final
cdef class _MainExit:
    """main raised GreenletExit: carried to run() as a value, raised there."""
    cdef object exc

    def __cinit__(self, exc):
        self.exc = exc


def _main_body(*_):
    cdef Runtime rt = getrt()
    cdef Goroutine g1 = rt.curg
    rt.swgen += 1
    try:
        if g1.kwargs:
            return g1.startfn(*g1.args, **g1.kwargs)
        return g1.startfn(*g1.args)
    except GreenletExit as e:
        # greenlet would hand a GreenletExit to run() as main's result: wrap it (unless the
        # program has ended and main, left parked by a fatal error, is being unwound).
        if rt.dead:
            raise
        return _MainExit(e)
    except GoExit:
        # main called runtime.Goexit: the others run on; the program ends in a fatal error.
        nxt = goexit0(rt, g1)
        if nxt is None:
            return None
        return _worker()


def run(main, *args, **kwargs):
    """run(main, *args, seed=None, clock="real", at_exit="discard", **kwargs): run a program on
    this twin (the lifecycle, written once, is chanemu._lifecycle.run_on)."""
    from chanemu import _lifecycle
    return _lifecycle.run_on(sys.modules["chanemu._core"], main, *args, **kwargs)
