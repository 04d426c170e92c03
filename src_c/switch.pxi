# The thing a goroutine runs on, and the switch between two of them: the C twin's switch backend.
#
# The scheduler (proc.pxi) knows a goroutine's "switch object" (g.gr) only through the sw_*
# functions below. Two backends, chosen once at import from CHANEMU_SWITCH:
#   greenlet (default)  g.gr is a greenlet; a switch copies the shared C stack (greenlet's C API).
#   stack               g.gr is a Fiber: the goroutine has a C stack of its own (src_c/stack.h),
#                       and a switch swaps the machine context and the interpreter state that
#                       belongs to a stack (src_c/stackswitch.h). Nothing is copied.
# A Fiber behaves as much like a greenlet as the scheduler and the lifecycle layer need: run and
# parent, switch and throw, dead, gr_frame. The thread's own stack is a Fiber too (the root), so
# that the caller of run() and goroutine 1 of a thread's default runtime are switched to alike.

cdef extern from "stack.h":
    ctypedef struct ce_stack:
        pass
    ctypedef struct ce_ctx:
        void* sp
        void* lo
        size_t size
    ctypedef struct ce_stack_stats:
        size_t mapped_bytes
        size_t in_use
        size_t free
        size_t released_bytes
    size_t ce_stack_size()
    int ce_stack_set_size(size_t size)
    ce_stack* ce_stack_get()
    void ce_stack_put(ce_stack* s)
    void ce_ctx_make(ce_ctx* ctx, ce_stack* s, void (*entry)(void*) noexcept, void* arg)
    void ce_ctx_swap(ce_ctx* frm, ce_ctx* to)
    void ce_ctx_swap_final(ce_ctx* frm, ce_ctx* to)
    void ce_stack_get_stats(ce_stack_stats* out)

cdef extern from "stackswitch.h":
    ctypedef struct ce_pystate:
        pass
    int ce_pystate_supported()
    void ce_pystate_init(ce_pystate* s)
    void ce_pystate_save(ce_pystate* s, PyThreadState* ts) noexcept
    void ce_pystate_load(ce_pystate* s, PyThreadState* ts, int own_stack) noexcept
    void ce_pystate_set_budget(PyThreadState* ts, size_t stack_size)
    PyObject* ce_pystate_frame(ce_pystate* s, PyThreadState* ts)
    void ce_pystate_free_datastack(ce_pystate* s)
    void ce_pystate_forget(ce_pystate* s)

cdef extern from *:
    """
    /* The running Fiber of this thread (borrowed: a running Fiber holds itself, the root is held
     * by the thread-state dict), and a Fiber that has just swapped away for good, whose stack
     * the next code to run on this thread gives back. */
    /* (initial-exec: read straight off the thread pointer, not through __tls_get_addr) */
    static __thread PyObject *ce_cur_fiber __attribute__((tls_model("initial-exec"))) = NULL;
    static __thread PyObject *ce_dead_fiber __attribute__((tls_model("initial-exec"))) = NULL;
    """
    PyObject* ce_cur_fiber
    PyObject* ce_dead_fiber


def _switch_backend():
    """The backend CHANEMU_SWITCH names: "greenlet" (also when unset or empty) or "stack"."""
    name = os.environ.get("CHANEMU_SWITCH", "") or "greenlet"
    if name not in ("greenlet", "stack"):
        raise ImportError(f"chanemu._core: CHANEMU_SWITCH must be 'greenlet' or 'stack', "
                          f"not {name!r}")
    if name == "stack" and not ce_pystate_supported():
        raise ImportError("chanemu._core: CHANEMU_SWITCH=stack needs CPython 3.11 to 3.13")
    return name


SWITCH = _switch_backend()
cdef bint SW_STACK = SWITCH == "stack"

# A goroutine's stack when CHANEMU_STACK_SIZE does not say: a thread's (8 MiB), so that a
# recursion to CPython's default limit fits through any C function, as on a thread. (On 3.11 a
# level through sorted()'s key takes 2.4-5 KiB; stackswitch.h cuts a limit set above what the
# stack holds.) Untouched pages cost address space only.
DEFAULT_STACK_BYTES = 8 << 20
# The smallest CHANEMU_STACK_SIZE a goroutine can do useful work in: 16 levels of the budget
# (CE_BYTES_PER_LEVEL each), which on 3.11 is also its Python recursion limit. The largest
# keeps a slab of stacks within what a 64-bit address space maps comfortably.
MIN_STACK_BYTES = 64 << 10
MAX_STACK_BYTES = 1 << 30


def _stack_bytes(value):
    """The stack size CHANEMU_STACK_SIZE names: bytes, or KiB / MiB with a k or m suffix;
    the default when unset or empty. A typo fails the import, as CHANEMU_SWITCH's does: a
    program silently given another stack than it asked for would recurse differently."""
    if not value:
        return DEFAULT_STACK_BYTES
    digits, shift = value, 0
    if value[-1] in "kKmM":
        digits, shift = value[:-1], 10 if value[-1] in "kK" else 20
    if not (digits.isascii() and digits.isdigit()) or \
            not MIN_STACK_BYTES <= int(digits) << shift <= MAX_STACK_BYTES:
        raise ImportError(f"chanemu._core: CHANEMU_STACK_SIZE must be a size from 64k to 1024m "
                          f"(bytes, or with a k or m suffix), not {value!r}")
    return int(digits) << shift


if SW_STACK:
    ce_stack_set_size(_stack_bytes(os.environ.get("CHANEMU_STACK_SIZE", "")))

cdef enum:
    FIBER_NEW = 0       # made, not yet switched to
    FIBER_ACTIVE = 1    # running, or switched out somewhere in its run
    FIBER_DEAD = 2      # its run returned or raised

cdef str _ROOT_KEY = "chanemu._core.rootfiber"


@cython.final
cdef class Fiber:
    """A goroutine's own C stack and the interpreter state that goes with it (the stack switch
    backend's greenlet). Fiber(run, parent): switching to it the first time calls run(*args) on
    a fresh stack; when run ends, its result (or exception) goes to parent, as with a greenlet."""
    cdef ce_ctx ctx
    cdef ce_stack* stack
    cdef ce_pystate st
    cdef object run
    cdef Fiber _parent
    cdef int state
    cdef bint root
    cdef bint running           # its thread's current fiber (read by fiber_abandon elsewhere)
    cdef object home            # the greenlet current on this fiber (foreign-greenlet check)
    cdef unsigned long thread_ident
    cdef tuple xargs            # what the switch to it carries
    cdef object xexc            # what a throw into it raises there
    cdef object __weakref__

    def __cinit__(self):
        ce_pystate_init(&self.st)
        self.thread_ident = PyThread_get_thread_ident()

    def __init__(self, run=None, parent=None):
        if not callable(run):
            raise TypeError("Fiber: run must be callable")
        self.run = run
        self.parent = parent if parent is not None else fiber_current()

    def __dealloc__(self):
        # A fiber is freed switched out: never started, dead (its stack already given back), or
        # abandoned while suspended (fiber_abandon: its stack went back, its frames are left).
        # The root goes when its thread's state dict is cleared, which may run code afterwards
        # (a finalizer ending the thread's program): that code gets a new root.
        global ce_cur_fiber
        if ce_cur_fiber == <PyObject*>self:
            ce_cur_fiber = NULL
        if self.stack != NULL and self.state == FIBER_DEAD:
            ce_stack_put(self.stack)
        ce_pystate_free_datastack(&self.st)

    @property
    def parent(self):
        return self._parent

    @parent.setter
    def parent(self, value):
        cdef Fiber p
        if self.root:
            raise ValueError("the root fiber has no parent")
        if value is None:
            raise ValueError("a fiber's parent cannot be None")
        if not isinstance(value, Fiber):
            # (the lifecycle layer names the caller by greenlet.getcurrent(): the current fiber)
            if value is not greenlet.getcurrent():
                raise TypeError(f"a fiber's parent must be a Fiber, not {type(value).__name__}")
            value = fiber_current()
        p = value
        if p.thread_ident != self.thread_ident:
            raise ValueError("a fiber's parent must belong to the same thread")
        while p is not None:
            if p is self:
                raise ValueError("cyclic parent chain")
            p = p._parent
        self._parent = value

    @property
    def dead(self):
        return self.state == FIBER_DEAD

    def __bool__(self):
        return self.state == FIBER_ACTIVE

    @property
    def gr_frame(self):
        """The innermost frame of a switched-out fiber (None while it runs, before it starts
        and after it ends, as greenlet's)."""
        if self.state != FIBER_ACTIVE or <PyObject*>self == ce_cur_fiber:
            return None
        cdef PyObject* f = ce_pystate_frame(&self.st, PyThreadState_Get())
        if f == NULL:
            return None
        return steal_ref(f)

    def switch(self, *args):
        return fiber_transfer(self, args, None)

    def throw(self, typ=GreenletExit, val=None, tb=None):
        if isinstance(typ, BaseException):
            exc = typ
        elif val is None:
            exc = typ()
        elif isinstance(val, BaseException):
            exc = val
        else:
            exc = typ(val)
        if tb is not None:
            exc = exc.with_traceback(tb)
        return fiber_transfer(self, None, exc)

    def __repr__(self):
        what = "root" if self.root else ("new", "active", "dead")[self.state]
        return f"<chanemu Fiber {what} at {id(self):#x}>"


cdef extern from *:
    """
    /* For Cython: raise the exception already set (a C call returned NULL with it). */
    static int ce_error_set(void) { return -1; }
    """
    int raise_current "ce_error_set"() except -1


cdef void set_error(BaseException e) noexcept:
    """Set e (with its traceback) as the exception a NULL return reports."""
    t = type(e)
    tb = e.__traceback__
    Py_INCREF(t)
    Py_INCREF(e)
    if tb is not None:
        Py_INCREF(tb)
    PyErr_Restore(<PyObject*>t, <PyObject*>e, <PyObject*>tb if tb is not None else NULL)


cdef inline object steal_ref(PyObject* o):
    """A new reference, owned from now on by the object returned."""
    obj = <object>o
    Py_DECREF(obj)
    return obj


cdef Fiber fiber_root():
    """The calling thread's root fiber: its own stack, running whatever called into the runtime."""
    cdef PyObject* d = PyThreadState_GetDict()
    cdef Fiber f = (<dict>d).get(_ROOT_KEY) if d != NULL else None
    if f is None:
        f = Fiber.__new__(Fiber)
        f.root = True
        f.state = FIBER_ACTIVE
        f.running = True
        f.home = greenlet.getcurrent()
        ce_pystate_set_budget(PyThreadState_Get(), ce_stack_size())
        if d != NULL:
            (<dict>d)[_ROOT_KEY] = f
        watch_greenlet_homes()
    return f


cdef inline Fiber fiber_current():
    global ce_cur_fiber
    cdef Fiber root
    if ce_cur_fiber == NULL:
        root = fiber_root()       # held by the thread-state dict
        ce_cur_fiber = <PyObject*>root
    return <Fiber>ce_cur_fiber


cdef int fiber_start(Fiber f) except -1:
    """f's first switch-in: a stack for it, its context set to enter fiber_entry."""
    cdef ce_stack* s = ce_stack_get()
    if s == NULL:
        raise MemoryError("chanemu: no memory for a goroutine stack")
    f.stack = s
    ce_ctx_make(&f.ctx, s, fiber_entry, <void*>f)
    f.state = FIBER_ACTIVE
    Py_INCREF(f)         # its running stack holds it until it ends (reap_dead)
    if f.home is None:
        f.home = greenlet.getcurrent()
    return 0


cdef object fiber_transfer(Fiber target, tuple args, object exc):
    """Switch from the running fiber to target, carrying args (or raising exc there). Returns
    (or raises) what the next switch back to the caller carries."""
    cdef Fiber cur = fiber_current()
    if target is cur:
        if exc is not None:
            raise exc
        return _unpack(args)
    if target.thread_ident != cur.thread_ident:
        raise RuntimeError("chanemu: cannot switch to a fiber of another thread")
    if target.state == FIBER_DEAD:
        raise RuntimeError("chanemu: cannot switch to a fiber that has ended")
    if target.state == FIBER_NEW:
        if exc is not None:
            # as greenlet: thrown into before it started, it ends without running
            target.state = FIBER_DEAD
            target.run = None
            if isinstance(exc, GreenletExit):
                return exc
            raise exc
        fiber_start(target)
    target.xargs = args
    target.xexc = exc
    swap_to(cur, target)
    cdef PyObject* r = fiber_resumed(cur)
    if r == NULL:
        raise_current()
    return steal_ref(r)


cdef PyObject* sw_switch_fiber(Fiber target) noexcept:
    """The scheduler's switch (no arguments, nothing thrown): fiber_transfer without Python's
    exception machinery on the way. NULL with the exception set, as greenlet's C API."""
    cdef Fiber cur = <Fiber>ce_cur_fiber
    if ce_cur_fiber == NULL or target.state != FIBER_ACTIVE or target is cur:
        return fiber_transfer_noexc(target)
    target.xargs = _EMPTY
    swap_to(cur, target)
    return fiber_resumed(cur)


cdef PyObject* fiber_transfer_noexc(Fiber target) noexcept:
    """fiber_transfer(target, (), None) for the cases off sw_switch_fiber's path (a first switch
    to a fiber, an error), its exception set for a NULL return."""
    try:
        r = fiber_transfer(target, _EMPTY, None)
    except BaseException as e:
        set_error(e)
        return NULL
    Py_INCREF(r)
    return <PyObject*>r


cdef inline void swap_to(Fiber cur, Fiber target) noexcept:
    """The switch itself: interpreter state out of cur and into target, then the C stacks."""
    global ce_cur_fiber
    cdef PyThreadState* ts = PyThreadState_Get()
    ce_pystate_save(&cur.st, ts)
    ce_pystate_load(&target.st, ts, not target.root)
    ce_cur_fiber = <PyObject*>target
    cur.running = False
    target.running = True
    ce_ctx_swap(&cur.ctx, &target.ctx)


cdef PyObject* fiber_resumed(Fiber cur) noexcept:
    """cur runs again: give back a stack that ended meanwhile, then take what was carried here:
    a new reference, or NULL with the exception that was thrown in set."""
    cdef PyObject* exc
    cdef PyObject* args
    reap_dead()
    if cur.xexc is not None:
        exc = <PyObject*>cur.xexc
        Py_INCREF(<object>exc)
        cur.xexc = None
        cur.xargs = None
        set_error(<BaseException>exc)
        Py_DECREF(<object>exc)
        return NULL
    args = <PyObject*>cur.xargs
    if args == <PyObject*>_EMPTY:
        # the scheduler's switches carry nothing: no tuple work on the hot path
        cur.xargs = None
        Py_INCREF(_EMPTY)
        return <PyObject*>_EMPTY
    value = _unpack(cur.xargs)
    cur.xargs = None
    Py_INCREF(value)
    return <PyObject*>value


cdef inline object _unpack(tuple args):
    if args is None or len(args) == 0:
        return ()
    if len(args) == 1:
        return args[0]
    return args


cdef void reap_dead() noexcept:
    """The fiber that last swapped away for good: its stack and data stack go back."""
    global ce_dead_fiber
    cdef PyObject* d = ce_dead_fiber
    cdef Fiber f
    if d == NULL:
        return
    ce_dead_fiber = NULL
    f = <Fiber>d
    ce_stack_put(f.stack)
    f.stack = NULL
    ce_pystate_free_datastack(&f.st)
    Py_DECREF(f)      # fiber_start's reference


cdef void fiber_abandon(Fiber f) noexcept:
    """Called from another thread: f, suspended on its own thread, will never run again (its
    program was ended from here, or its thread is gone). Resuming it here is impossible (the C
    frames on its stack belong to its thread's state) and running its code is not allowed, so it
    is written off as it stands: its C stack goes back to the pool (the pool is shared by all
    threads), and it counts as ended. Its Python frames are left untouched, and so is what they
    hold: a frame object made while it was parked may still point into its data stack, which
    must therefore outlive it. A fiber running now (its thread is busy in it), a root (a
    thread's own stack) and a fiber that never started or has ended are left alone."""
    if (f.root or f.running or f.state != FIBER_ACTIVE
            or f.thread_ident == PyThread_get_thread_ident()):
        return
    f.state = FIBER_DEAD
    ce_pystate_forget(&f.st)     # nothing may read the frame pointer into the returned stack
    ce_stack_put(f.stack)
    f.stack = NULL
    f.xargs = None
    f.xexc = None
    Py_DECREF(f)      # fiber_start's reference (its stack's own references are lost with it)


cdef void fiber_entry(void* arg) noexcept:
    """The bottom of every fiber's stack: run, then swap away for good to the parent that
    fiber_run chose. Holds no Python reference of its own (this function never returns)."""
    global ce_cur_fiber, ce_dead_fiber
    cdef PyObject* f = <PyObject*>arg
    cdef PyObject* p = fiber_run(f)
    cdef PyThreadState* ts = PyThreadState_Get()
    ce_dead_fiber = f
    ce_pystate_save(&(<Fiber>f).st, ts)      # its data stack, freed by reap_dead
    ce_pystate_load(&(<Fiber>p).st, ts, not (<Fiber>p).root)
    ce_cur_fiber = p
    (<Fiber>f).running = False
    (<Fiber>p).running = True
    ce_ctx_swap_final(&(<Fiber>f).ctx, &(<Fiber>p).ctx)


cdef PyObject* fiber_run(PyObject* arg) noexcept:
    """Run the fiber's function; hand its result (or exception) to the first parent still
    alive (started here if it never ran) and return that parent (borrowed: an active fiber is
    held by its running stack or, the root, by its thread)."""
    cdef Fiber f = <Fiber>arg
    cdef Fiber p
    reap_dead()
    args = f.xargs
    f.xargs = None
    run = f.run
    f.run = None
    result = None
    exc = f.xexc
    f.xexc = None
    if exc is None:
        try:
            result = run(*args)
        except GreenletExit as e:
            result = e        # greenlet's rule: a GreenletExit is the parent's value
        except BaseException as e:
            exc = e
    run = args = None
    f.state = FIBER_DEAD
    p = f._parent
    while p.state == FIBER_DEAD:
        p = p._parent
    f._parent = None
    if p.state == FIBER_NEW:
        try:
            fiber_start(p)
            if exc is None:
                p.xargs = result if type(result) is tuple else (result,)
                result = None
        except BaseException as e:
            exc = e      # it cannot start: the error goes further up
            p = p._parent
            while p.state != FIBER_ACTIVE:
                p = p._parent
    if p.xargs is None:
        p.xargs = (result,) if exc is None else None
    p.xexc = exc
    return <PyObject*>p


# -- the interface the scheduler uses ---------------------------------------------------------
cdef inline object sw_new(object run, object parent):
    """A switch object that runs run() when first switched to and ends into parent."""
    if SW_STACK:
        return Fiber(run, parent)
    return greenlet.greenlet(run, parent=parent)


cdef inline object sw_current():
    if SW_STACK:
        return fiber_current()
    return greenlet.getcurrent()


cdef inline bint sw_is_current(object gr) noexcept:
    """Whether gr is what runs now."""
    return sw_is_current_p(<PyObject*>gr)


cdef inline bint sw_is_current_p(PyObject* gr) noexcept:
    """sw_is_current, for a caller that holds no reference of its own to gr. (Each backend's
    path is a call of its own, so that the greenlet path compiles as it did before the stack
    backend.)"""
    if SW_STACK:
        return fiber_is_current(<object>gr)
    cdef PyThreadState* ts = ce_tstate()
    cdef PyObject* known = gl_known_current(ts)
    if known != NULL:
        return known == gr
    return gl_ask(gr, ts)


# greenlet_is_current, called through a pointer that gcc cannot prove constant, so that it is
# not inlined into sw_is_current_p's callers (check_current, on every park, stays small)
ctypedef bint (*gl_ask_t)(PyObject*, PyThreadState*) noexcept
cdef gl_ask_t gl_ask = greenlet_is_current


# The greenlet backend's cache of greenlet's current greenlet, so that the check every park
# makes (check_current) is a few loads and not PyGreenlet_GetCurrent's thread-local look-up,
# checks and reference counting. It holds "gl.cur was current when the thread state's
# context_ver was gl.ver". greenlet bumps context_ver in every switch, as it installs the
# target's contextvars context, before the target runs; nothing ever lowers it. So while the
# version is unchanged no greenlet has switched on this thread and gl.cur is still current
# (alive: greenlet holds its current greenlet). Anything else that bumps it (Context.run) only
# sends the next check to the exact, slower path. gl.cur is a borrowed pointer, only compared.
# The thread state (pointer and never-reused id) guards against a thread state that replaced
# another on the same thread. GL_CACHE is off if greenlet does not bump the version (checked
# at import by gl_cache_works): then every check takes the exact path.
cdef extern from *:
    """
    /* one struct, so that the hot path finds all of it from one thread-pointer offset */
    typedef struct { PyObject *cur; uint64_t ver; void *ts; uint64_t tsid; } ce_glcache;
    static __thread ce_glcache ce_gl __attribute__((tls_model("initial-exec"))) = {NULL, 0, NULL, 0};
    """
    ctypedef struct ce_glcache:
        PyObject* cur
        uint64_t ver
        PyThreadState* ts
        uint64_t tsid
    ce_glcache gl "ce_gl"

cdef bint GL_CACHE = False


cdef bint greenlet_is_current(PyObject* gr, PyThreadState* ts) noexcept:
    """sw_is_current's exact path: ask greenlet, and remember the answer's greenlet."""
    cdef PyGreenlet* cur = PyGreenlet_GetCurrent()
    if cur == NULL:
        return False        # greenlet is being finalized
    gl_remember(<PyObject*>cur, ts)
    cdef bint same = <PyObject*>cur == gr
    Py_DECREF(<object>cur)
    return same


cdef inline void gl_remember(PyObject* cur, PyThreadState* ts) noexcept:
    """cur is the current greenlet now: cache it (see above)."""
    global gl
    if GL_CACHE:
        gl.cur = cur
        gl.ver = ts.context_ver
        gl.ts = ts
        gl.tsid = ts.id


cdef inline PyObject* gl_known_current(PyThreadState* ts) noexcept:
    """The current greenlet if the cache still knows it, else NULL (borrowed)."""
    if ts.context_ver == gl.ver and ts == gl.ts and ts.id == gl.tsid:
        return gl.cur
    return NULL


cdef inline PyObject* greenlet_switch_keep(PyGreenlet* target) noexcept:
    """greenlet_switch(target) with no arguments, keeping the cache warm: code running again
    on the caller's stack runs in the caller's greenlet, so if the cache knew the caller before
    the switch, it knows it again when the switch returns (with the version of then)."""
    cdef PyThreadState* ts = ce_tstate()
    cdef PyObject* me = gl_known_current(ts)
    cdef PyObject* r = greenlet_switch(target, <PyObject*>_EMPTY, NULL)
    if me != NULL:
        gl_remember(me, ts)
    return r


cdef bint gl_cache_works() except -1:
    """Whether a greenlet switch bumps the thread state's context_ver (so the current cache may
    be used): one switch into a throwaway greenlet (running int(), which returns at once) and
    back."""
    cdef PyThreadState* ts = PyThreadState_Get()
    cdef uint64_t before = ts.context_ver
    greenlet.greenlet(int).switch()
    return ts.context_ver >= before + 2


GL_CACHE = not SW_STACK and gl_cache_works()


def _gl_cache_on():
    """For tests: whether the greenlet backend's current cache is in use."""
    return GL_CACHE


cdef bint fiber_is_current(object gr) noexcept:
    """A fiber running a greenlet of its own (not the one it was entered with) is not itself:
    a goroutine's switch object is current only while the goroutine's own code runs."""
    if <PyObject*>gr != ce_cur_fiber or ce_cur_fiber == NULL:
        return False
    cdef PyGreenlet* cur = PyGreenlet_GetCurrent()
    cdef bint same = <PyObject*>cur == <PyObject*>(<Fiber>gr).home
    Py_XDECREF(<PyObject*>cur)
    return same


cdef inline bint sw_started(object gr):
    if SW_STACK:
        return (<Fiber>gr).state != FIBER_NEW
    return PyGreenlet_STARTED(<PyGreenlet*>gr)


cdef inline PyObject* sw_switch(object gr) noexcept:
    """Switch to gr with no arguments: a new reference to what the switch back carries, or NULL
    with the exception set (the caller checks, so that the hot path has no try block)."""
    if SW_STACK:
        return sw_switch_fiber(<Fiber>gr)
    return greenlet_switch_keep(<PyGreenlet*>gr)


cdef object sw_switch_obj(object gr):
    """sw_switch, raising what the switch back raises."""
    cdef PyObject* r = sw_switch(gr)
    if r == NULL:
        raise_current()
    return steal_ref(r)


cdef inline object sw_throw(object gr, object exc):
    """Raise exc (with its traceback) in gr at its switch point; returns what the switch back to
    the caller carries."""
    if SW_STACK:
        return fiber_transfer(<Fiber>gr, None, exc)
    exctype = type(exc)
    tb = exc.__traceback__
    return PyGreenlet_Throw(<PyGreenlet*>gr, <PyObject*>exctype, <PyObject*>exc,
                            <PyObject*>tb if tb is not None else NULL)


cdef inline object sw_frame(object gr):
    """The innermost frame of switched-out gr (greenlet's gr_frame; a Fiber reads its own)."""
    return gr.gr_frame


cdef void sw_abandon(object gr) noexcept:
    """The stack backend: gr, a switch object of another thread's program, is written off (see
    fiber_abandon). greenlet does the same by itself when a greenlet of an ended thread is freed."""
    if SW_STACK and type(gr) is Fiber:
        fiber_abandon(<Fiber>gr)


def _current_fiber():
    """For tests: the running fiber (stack backend), as greenlet.getcurrent() for greenlets."""
    return fiber_current() if SW_STACK else None


def _stack_stats():
    """The stack pool's figures (stack backend): bytes mapped, stacks in use and free, bytes
    given back to the kernel."""
    cdef ce_stack_stats s
    ce_stack_get_stats(&s)
    return {"mapped_bytes": s.mapped_bytes, "in_use": s.in_use, "free": s.free,
            "released_bytes": s.released_bytes, "stack_size": ce_stack_size()}


# -- greenlets inside goroutines (stack backend) ---------------------------------------------
# greenlet keeps a suspended greenlet as a slice of the C stack it started on, copied back to the
# same addresses when it is resumed. Here each goroutine has a stack of its own, so a greenlet
# started in one goroutine and resumed from another is copied back over the first one's stack
# (parked, or handed to a new goroutine since), which then crashes when it next runs, far from
# the cause. greenlet calls nobody before a switch, so the switch cannot be refused as on the
# greenlet backend; its trace function runs right after it. There the runtime stops the process,
# as Go's runtime does on a corrupted stack: a fatal error naming the greenlet and both
# goroutines, exit status 2. (The check costs nothing on the runtime's own switches: fibers are
# not greenlets.)

cdef str _WATCH_KEY = "chanemu._core.greenlethomes"
# id(started greenlet) -> (a weak reference to it, the fiber it started on, that goroutine's id).
# Keyed by id, not a WeakKeyDictionary: every greenlet switch looks it up. The reference's
# callback removes the entry when the greenlet goes, before its address can be reused.
cdef dict _gl_homes = {}


cdef class _GreenletHomes:
    """A thread's greenlet trace function (stack backend). Passes every event on to the trace
    function it replaced (a debugger's, gevent's)."""
    cdef object prev

    def __call__(self, event, args):
        if event == "switch" or event == "throw":
            check_greenlet_home(args[1])
        if self.prev is not None:
            self.prev(event, args)


cdef int watch_greenlet_homes() except -1:
    """Watch the calling thread's greenlet switches (once per thread: from its root fiber's
    creation, before any goroutine runs on it). A greenlet started before that ran on the
    thread's own stack, the root's, which is where it is first seen, unless it is first resumed
    from a goroutine: that one switch goes unchecked."""
    cdef PyObject* d = PyThreadState_GetDict()
    if d == NULL or (<dict>d).get(_WATCH_KEY) is not None:
        return 0
    t = _GreenletHomes()
    t.prev = greenlet.settrace(t)
    (<dict>d)[_WATCH_KEY] = t
    return 0


cdef int check_greenlet_home(object target) except -1:
    """target has just been switched to, on the running fiber's stack. A greenlet belongs to the
    fiber it is first seen on (it starts there); seen on another, it is a fatal error."""
    if target.parent is None:
        return 0            # a thread's main greenlet: no slice of it was saved by address
    cdef Fiber here = fiber_current()
    cdef object key = id(target)
    home = _gl_homes.get(key)
    if home is None or (<tuple>home)[0]() is not target:
        _gl_homes[key] = (weakref_ref(target, lambda _, key=key: _gl_homes.pop(key, None)),
                          here, _goid_here())
    elif (<tuple>home)[1] is not here:
        greenlet_left_home(target, (<tuple>home)[1], (<tuple>home)[2], _goid_here())
    return 0


cdef void greenlet_left_home(object target, Fiber home, long long started,
                             long long resumed) noexcept:
    """The fatal error: home's stack has been overwritten, nothing may run any more."""
    def where(goid):
        return f"goroutine {goid}" if goid else "the thread's own stack (outside any goroutine)"
    msg = (f"fatal error: greenlet resumed on another goroutine's stack\n\n"
           f"{target!r} was started on {where(started)} and resumed from {where(resumed)}.\n"
           f"With CHANEMU_SWITCH=stack each goroutine runs on a C stack of its own, and greenlet "
           f"copies a greenlet's stack back to the addresses it started at: the stack of "
           f"{where(started)} has just been overwritten. Keep a greenlet in the goroutine that "
           f"started it, or use the default switch backend (greenlet), which refuses such a "
           f"switch with a RuntimeError.\n")
    try:
        # the goroutines as Go prints them at a fatal error, but for the one on home's stack:
        # where its frames begin is read from that stack, now overwritten
        from chanemu import _traceback
        rt = thread_runtime()
        gs = [g for g in rt.goroutines() if (<Goroutine>g).gr is not home]
        msg += (f"\nEvery goroutine but the one on that stack (its frames cannot be read):\n\n"
                + _traceback.format_all(gs))
    except BaseException:
        pass
    try:
        sys.stdout.flush()
    except BaseException:
        pass
    try:
        sys.stderr.write(msg)
        sys.stderr.flush()
    except BaseException:
        pass
    os._exit(2)


def _greenlet_homes():
    """For tests: how many greenlets the stack backend's watch knows (started, not yet freed)."""
    return len(_gl_homes)


cdef long long _goid_here() except? -1:
    """The running goroutine's id on this thread's current runtime, or 0 (none runs)."""
    cdef Runtime rt = thread_rt_or_none()
    if rt is None or rt.curg is None:
        return 0
    return rt.curg.goid


if SW_STACK:
    watch_greenlet_homes()     # the importing thread: greenlets it starts from now on are known
