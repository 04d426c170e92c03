# Go channels: the C twin of chanemu/_pycore/chan.py, to hold beside runtime/chan.go.
#
# Invariants:
#  (chan.go's hchan invariants, as this port keeps them.) recvq and sendq are never
#  both non-empty, with one exception: a select may put one goroutine on both queues
#  of one unbuffered channel (a send case and a receive case on it), and then each
#  queue holds at most as many sudogs as that select has cases on the channel, so
#  neither grows without bound.
#
# A buffered channel adds two more:
#  while the buffer holds a value (qcount > 0), no receiver waits in recvq;
#  while the buffer has a free slot (qcount < dataqsiz), no sender waits in sendq.
#
# There is no lock: one runtime runs one goroutine at a time and switches only inside gopark, so
# every function below runs atomically with respect to the other goroutines of its runtime.
# References: a slot of buf and sudog.elem own their value; sudog.c owns its channel.

cdef enum:
    elemsize = 8          # a slot holds one object reference
# makechan's bound, as Go's on linux/amd64: the buffer (elemsize * size bytes) must fit in the
# largest allocation (malloc.go's maxAlloc, 1 << 48) less the hchan header (hchanSize: 112 bytes,
# the struct rounded up to maxAlign): at most 2**45 - 14 slots.
cdef Py_ssize_t maxAlloc_slots = ((1 << 48) - 112) // elemsize


# -- waitq -----------------------------------------------------------------------------------
cdef inline void enqueue(waitq* q, sudog* sgp) noexcept:
    sgp.next = NULL
    cdef sudog* x = q.last
    if x == NULL:
        sgp.prev = NULL
        q.first = sgp
        q.last = sgp
        return
    sgp.prev = x
    x.next = sgp
    q.last = sgp


cdef inline sudog* dequeue(waitq* q) noexcept:
    cdef sudog* sgp
    cdef sudog* y
    while True:
        sgp = q.first
        if sgp == NULL:
            return NULL
        y = sgp.next
        if y == NULL:
            q.first = NULL
            q.last = NULL
        else:
            y.prev = NULL
            q.first = y
            sgp.next = NULL  # mark as removed (see dequeueSudoG)

        # A sudog queued by a select whose goroutine another case already claimed (selectDone)
        # is stale: pass over it here; that select's pass 3 unlinks the rest of its
        # sudogs.
        if sgp.isSelect:
            if (<Goroutine>sgp.g).selectDone != 0:
                continue
            (<Goroutine>sgp.g).selectDone = 1
        return sgp


cdef inline void dequeueSudoG(waitq* q, sudog* sgp) noexcept:
    """Remove sgp from anywhere in the queue in O(1) (select.go)."""
    cdef sudog* x = sgp.prev
    cdef sudog* y = sgp.next
    if x != NULL:
        if y != NULL:
            # middle of queue
            x.next = y
            y.prev = x
            sgp.next = NULL
            sgp.prev = NULL
            return
        # end of queue
        x.next = NULL
        q.last = x
        sgp.prev = NULL
        return
    if y != NULL:
        # start of queue
        y.prev = NULL
        q.first = y
        sgp.next = NULL
        return
    # No neighbour on either side (dequeueSudoG's last case): sgp is alone in the queue,
    # or it was taken off already; only q.first tells which of the two.
    if q.first == sgp:
        q.first = NULL
        q.last = NULL


cdef Py_ssize_t waitq_len(waitq* q) noexcept:
    cdef Py_ssize_t n = 0
    cdef sudog* sg = q.first
    while sg != NULL:
        n += 1
        sg = sg.next
    return n


# -- the ring buffer ---------------------------------------------------------------------------
cdef extern from *:
    """
    /* Wrap an owned reference as an object without another INCREF. */
    static CYTHON_INLINE PyObject* chanemu_steal(PyObject* o) { return o; }
    """
    object steal "chanemu_steal"(PyObject* o)
    # The slots of buf, by borrowed pointer (the list's own macros).
    PyObject* LIST_GET "PyList_GET_ITEM"(PyObject* l, Py_ssize_t i)
    void LIST_SET "PyList_SET_ITEM"(PyObject* l, Py_ssize_t i, PyObject* o)


cdef inline object chanbuf_take(Chan c, Py_ssize_t i):
    """Move the value out of slot i, clearing the slot to the zero value (typedmemclr).
    Zero-size elements have no buffer (buf is None): the value is the zero value."""
    if c.buf is None:
        return c.zero
    cdef PyObject* v = LIST_GET(<PyObject*>c.buf, i)
    Py_INCREF(c.zero)
    LIST_SET(<PyObject*>c.buf, i, <PyObject*>c.zero)
    return steal(v)


cdef inline void chanbuf_put(Chan c, Py_ssize_t i, object v) noexcept:
    """Store v into slot i (typedmemmove), dropping the slot's previous value."""
    if c.buf is None:       # zero-size elements: nothing to store
        return
    cdef PyObject* old = LIST_GET(<PyObject*>c.buf, i)
    Py_INCREF(v)
    LIST_SET(<PyObject*>c.buf, i, <PyObject*>v)
    Py_XDECREF(old)


cdef inline bint full(Chan c) noexcept:
    """full: a send on c cannot complete now (no parked receiver, or no free slot)."""
    if c.dataqsiz == 0:
        return c.recvq.first == NULL
    return c.qcount == c.dataqsiz


cdef inline bint empty(Chan c) noexcept:
    """empty: a receive on c cannot complete now (no parked sender, or nothing buffered)."""
    if c.dataqsiz == 0:
        return c.sendq.first == NULL
    return c.qcount == 0


# -- the channel -------------------------------------------------------------------------------
@cython.final
cdef class Chan:
    """A Go channel: ``make(chan T, size)``. The struct's fields are Go's hchan.

    Send, receive and close follow runtime/chan.go step by step; ``ch.hchan`` is a live
    read-only view of the struct. It is freed only with both queues empty: every queued sudog
    holds a reference to its channel (sudog.c).
    """

    def __cinit__(self, *args, **kwargs):
        # Chan.__new__(Chan) alone is a working unbuffered channel of this thread; __init__
        # (once) gives it its size and element type.
        global chan_serials
        self.buf = []
        chan_serials += 1
        self.serial = chan_serials
        self.owner = chanemu_thread_serial()

    def __init__(self, size=0, elemtype=None):
        if self.inited or not pristine(self):
            raise TypeError("Chan.__init__ called on a channel already in use: a channel is "
                            "made once")
        makechan(self, elemtype, size)
        self.inited = True


    # -- Go operations ----------------------------------------------------------------------
    def send(self, v):
        """``c <- v``: blocks until a receiver takes v or there is room in the buffer.
        Panics "send on closed channel" if the channel is closed, or closes while we wait."""
        op_send(self, v)

    def recv(self):
        """``<-c``: the next value; on a closed, drained channel the zero value."""
        return op_recv(self)

    def recv_ok(self):
        """``v, ok := <-c``: ok is False only for the zero value of a closed, drained channel."""
        return op_recv_ok(self)

    def try_send(self, v):
        """``select { case c <- v: return True; default: return False }`` (selectnbsend)."""
        return op_try_send(self, v)

    def try_recv(self):
        """``select { case v, ok := <-c: ...; default: }``: (v, ok), or None if it would block."""
        return op_try_recv(self)

    def close(self):
        """close(c): wakes every blocked receiver (zero value, ok False) and every blocked sender
        (which panics "send on closed channel"); buffered values stay receivable."""
        op_close(self)

    def __len__(self):
        """len(c). A timer channel (hchan.timer set) presents as unbuffered: 0, as in Go 1.23+."""
        return 0 if self.timer is not None else self.qcount

    @property
    def cap(self):
        return 0 if self.timer is not None else self.dataqsiz

    def send_only(self):
        """This channel as ``chan<- T``: a view sharing the hchan that can only send and close."""
        cdef SendOnlyView v = SendOnlyView.__new__(SendOnlyView)
        v._c = self
        return v

    def recv_only(self):
        """This channel as ``<-chan T``: a view sharing the hchan that can only receive."""
        cdef RecvOnlyView v = RecvOnlyView.__new__(RecvOnlyView)
        v._c = self
        return v

    def __iter__(self):
        """``for v := range c``: ends when the channel is closed and drained."""
        return ChanRange.__new__(ChanRange, self)

    # -- looking inside -----------------------------------------------------------------------
    @property
    def hchan(self):
        return HChanView(self)

    def _hchan_field(self, str name):
        if name == "qcount":
            return self.qcount
        if name == "dataqsiz":
            return self.dataqsiz
        if name == "buf":
            return () if self.buf is None else tuple(self.buf)
        if name == "elemsize":
            return 0 if self.isnil or self.buf is None else elemsize
        if name == "closed":
            return self.closed
        if name == "sendx":
            return self.sendx
        if name == "recvx":
            return self.recvx
        if name == "elemtype":
            return self.elemtype
        if name == "isnil":
            return self.isnil
        raise AttributeError(name)

    def _waitq(self, str name):
        cdef sudog* sg = self.recvq.first if name == "recvq" else self.sendq.first
        out = []
        while sg != NULL:
            out.append((<object>sg.g, <object>sg.elem if sg.elem != NULL else None,
                        sg.isSelect, sg.success, <object>sg.c if sg.c != NULL else None,
                        sg.releasetime))
            sg = sg.next
        return out

    def _waitq_at(self, str name, Py_ssize_t i):
        cdef sudog* sg = self.recvq.first if name == "recvq" else self.sendq.first
        while sg != NULL and i > 0:
            sg = sg.next
            i -= 1
        if sg == NULL:
            return None
        return (<object>sg.g, <object>sg.elem if sg.elem != NULL else None, sg.isSelect,
                sg.success, <object>sg.c if sg.c != NULL else None, sg.releasetime)

    def _waitq_len(self, str name):
        return waitq_len(&self.recvq if name == "recvq" else &self.sendq)

    def __repr__(self):
        if self.isnil:
            return "<Chan nil>"
        return (f"<Chan {chan_id(self)} {self.qcount}/{self.dataqsiz}"
                f"{' closed' if self.closed else ''}>")


# The channel operations as the methods see them (Chan's and its views'): the runtime call, then
# the trace event when tracing is on.
cdef inline int op_send(Chan c, object v) except -1:
    chansend(c, v, True)
    if chan_tracing:
        trace_chan("send", c, True)
    return 0


cdef inline object op_recv(Chan c):
    cdef bint received
    v = chanrecv(c, True, &received, NULL)
    if chan_tracing:
        trace_chan("recv", c, received)
    return v


cdef inline object op_recv_ok(Chan c):
    cdef bint received
    v = chanrecv(c, True, &received, NULL)
    if chan_tracing:
        trace_chan("recv", c, received)
    return (v, received)


cdef inline object op_try_send(Chan c, object v):
    cdef bint sent = chansend(c, v, False) == 1
    if chan_tracing and sent:
        trace_chan("send", c, True)
    return sent


cdef inline object op_try_recv(Chan c):
    cdef bint received, selected
    v = chanrecv(c, False, &received, &selected)
    if not selected:
        return None
    if chan_tracing:
        trace_chan("recv", c, received)
    return (v, received)


cdef inline int op_close(Chan c) except -1:
    closechan(c)
    if chan_tracing:
        trace_chan("close", c, True)
    return 0


@cython.final
cdef class ChanRange:
    """The iterator of ``for v in ch``: Go's ``for v := range c``."""
    cdef Chan c

    def __cinit__(self, Chan c not None):
        self.c = c

    def __iter__(self):
        return self

    def __next__(self):
        cdef bint received
        v = chanrecv(self.c, True, &received, NULL)
        if chan_tracing:
            trace_chan("recv", self.c, received)
        if not received:
            raise StopIteration
        return v


# -- directional views -------------------------------------------------------------------------
# The C twin's chan<- T and <-chan T (chanemu/_chandir.py has the Python twin's, and the messages):
# extension types, so making a view (every time.after, Timer, ctx.done()) costs an allocation,
# and an operation one forwarding call.
cdef class ChanView:
    """What both directions share: len, cap, the hchan, and the identity of the channel."""
    cdef readonly Chan _c

    def __init__(self, *args):
        raise TypeError("channel views are made by ch.send_only() and ch.recv_only()")

    @property
    def cap(self):
        return self._c.cap

    def __len__(self):
        return len(self._c)

    @property
    def hchan(self):
        return self._c.hchan

    @property
    def timer(self):
        return self._c.timer

    def _hchan_field(self, str name):
        return self._c._hchan_field(name)

    def _waitq(self, str name):
        return self._c._waitq(name)

    def _waitq_at(self, str name, Py_ssize_t i):
        return self._c._waitq_at(name, i)

    def _waitq_len(self, str name):
        return self._c._waitq_len(name)

    def __eq__(self, other):
        return self._c is chandir_underlying(other)

    def __ne__(self, other):
        return self._c is not chandir_underlying(other)

    def __hash__(self):
        return hash(self._c)

    def __repr__(self):
        return chandir_view_repr(self)

    def __reduce__(self):
        raise TypeError(f"cannot pickle a {self.DIR} view")


@cython.final
cdef class SendOnlyView(ChanView):
    """``chan<- T``: send, try_send, close, len, cap. Receiving raises TypeError."""
    DIR = "chan<-"

    def send(self, v):
        op_send(self._c, v)

    def try_send(self, v):
        return op_try_send(self._c, v)

    def close(self):
        op_close(self._c)

    def recv(self):
        raise TypeError(f"{RECV_FROM_SEND_ONLY} {self!r}")

    def recv_ok(self):
        raise TypeError(f"{RECV_FROM_SEND_ONLY} {self!r}")

    def try_recv(self):
        raise TypeError(f"{RECV_FROM_SEND_ONLY} {self!r}")

    def __iter__(self):
        raise TypeError(f"cannot range over {self!r}: receive from send-only channel")

    def send_only(self):
        return self

    def recv_only(self):
        raise TypeError(f"cannot convert {self!r} to a receive-only channel")


@cython.final
cdef class RecvOnlyView(ChanView):
    """``<-chan T``: recv, recv_ok, try_recv, for, len, cap. Sending or closing raises TypeError."""
    DIR = "<-chan"

    def recv(self):
        return op_recv(self._c)

    def recv_ok(self):
        return op_recv_ok(self._c)

    def try_recv(self):
        return op_try_recv(self._c)

    def __iter__(self):
        return ChanRange.__new__(ChanRange, self._c)

    def send(self, v):
        raise TypeError(f"{SEND_TO_RECV_ONLY} {self!r}")

    def try_send(self, v):
        raise TypeError(f"{SEND_TO_RECV_ONLY} {self!r}")

    def close(self):
        raise TypeError(f"{CLOSE_RECV_ONLY} {self!r}")

    def recv_only(self):
        return self

    def send_only(self):
        raise TypeError(f"cannot convert {self!r} to a send-only channel")


chandir_register(SendOnlyView, RecvOnlyView)


cdef long long chan_serials = 0

# chanemu.trace turns this on: completed channel operations become "chan" events of the
# runtime's tracer. One flag for every runtime, read once per operation.
cdef bint chan_tracing = False


def set_chan_tracing(on):
    global chan_tracing
    chan_tracing = bool(on)


cdef int trace_chan(str op, Chan c, bint ok) except -1:
    cdef Runtime rt = getrt()
    if rt.tracer is not None:
        rt.tracer("chan", rt.curg, (op, c, ok))
    return 0


cdef inline int chancheck(Chan c) except -1:
    """A channel belongs to the program of the thread that made it. Go has one program per
    process; here each thread has its own runtime, and one channel cannot join two of them.
    Checked before an operation changes anything: the thread always (cheap), and when
    goroutines wait on c, that they belong to the caller's runtime (so the queues of a channel
    only ever hold one runtime's goroutines)."""
    if c.owner != chanemu_thread_serial():
        return raise_other_thread(c)
    cdef sudog* sg = c.recvq.first if c.recvq.first != NULL else c.sendq.first
    if sg != NULL and (<Goroutine>sg.g).rt is not getrt():
        return raise_other_runtime(c)
    return 0


# (the errors out of line: the checks above stay small enough to inline into every operation)
cdef int raise_other_thread(Chan c) except -1:
    raise RuntimeError(f"chanemu: channel {c!r} was made in thread #{c.owner} and used in "
                       f"thread #{chanemu_thread_serial()}; a channel belongs to one "
                       "thread's program")


cdef int raise_other_runtime(Chan c) except -1:
    raise RuntimeError(f"chanemu: channel {c!r} has goroutines of another runtime waiting "
                       "on it (a run() program, or the thread's default runtime); a channel "
                       "cannot be shared between programs")


cdef bint pristine(Chan c) noexcept:
    """Nothing was ever done with c: __init__ may still give it a size."""
    return (c.qcount == 0 and c.closed == 0 and c.recvq.first == NULL and c.sendq.first == NULL
            and c.timer is None and not c.isnil)


cdef int makechan(Chan c, object elemtype, object size) except -1:
    cdef Py_ssize_t n
    if isinstance(size, bool) or not isinstance(size, int):
        raise TypeError(f"Chan size must be an int, not {type(size).__name__}")
    # a plain int before any comparison: an int subclass's own __lt__ or __gt__ could lie
    size = int.__index__(size)
    if size < 0 or size_out_of_range(elemtype, size):
        raise Panic(E_MAKECHAN_SIZE)
    n = size
    zero = zero_value(elemtype)
    buf = None if elemtype is Empty else [zero] * n     # zero-size elements: no buffer at all
    c.dataqsiz = n
    c.elemtype = elemtype
    c.zero = zero
    c.buf = buf
    return 0


cdef bint size_out_of_range(object elemtype, object size) except -1:
    """makechan's bound: the buffer within maxAlloc; zero-size elements take no memory, so any
    size an int holds."""
    if elemtype is Empty:
        return size > MAX_ZEROSIZE_CAP
    return size > maxAlloc_slots


cdef object zero_value(object elemtype):
    if elemtype is None:
        return None
    if not callable(elemtype):
        raise TypeError(f"elemtype must be a type (called for the zero value), not {elemtype!r}")
    return elemtype()


cdef int chansend(Chan c, object ep, bint block) except -1:
    """Send ep on c: 1 if sent, 0 if block is False and the send cannot proceed immediately.
    A send on a closed channel panics."""
    cdef Runtime rt
    cdef Goroutine gp
    cdef sudog* sg
    cdef sudog* mysg
    # A call that is about to park yields anyway: only one that can complete at once checks for
    # preemption (the parking side of a hand-off reads no clock).
    if not (block and c.closed == 0 and full(c)):
        checkpreempt_inline()
    if c.isnil:
        if not block:
            return 0
        park_forever(waitReasonChanSendNilChan)
    chancheck(c)
    if c.buf is None and ep is not EMPTY:
        check_elem(c, ep)

    # chansend/chanrecv's early exit: a non-blocking call that cannot proceed returns at once.
    if not block and c.closed == 0 and full(c):
        return 0

    if c.closed != 0:
        raise Panic(E_SEND_CLOSED)

    sg = dequeue(&c.recvq)
    if sg != NULL:
        # chansend step 1: a receiver is parked. The value goes straight into its sudog,
        # never through the buffer, even when the channel has one.
        send(c, sg, ep)
        return 1

    if c.qcount < c.dataqsiz:
        # chansend step 2: the buffer has room; store the value at sendx and advance it.
        chanbuf_put(c, c.sendx, ep)
        c.sendx += 1
        if c.sendx == c.dataqsiz:
            c.sendx = 0
        c.qcount += 1
        debug_check(c)
        return 1

    if not block:
        return 0

    # chansend step 3: park on sendq; a later receiver takes the value and wakes us.
    rt = getrt()
    check_current(rt)
    gp = rt.curg
    mysg = acquire_sudog(rt)
    Py_INCREF(ep)
    mysg.elem = <PyObject*>ep
    mysg.waitlink = NULL
    mysg.g = <PyObject*>gp
    mysg.isSelect = False
    Py_INCREF(c)
    mysg.c = <PyObject*>c
    gp.waiting = mysg
    gp.param = NULL
    enqueue(&c.sendq, mysg)
    # (gopark's -1 checked here and its undo out of line, in park_failed: a try block in this
    # function would cost every park its set-up)
    if (<gopark_nocheck>gopark)(rt, waitReasonChanSend) < 0:
        return park_failed(rt, gp, c, &c.sendq, mysg, False)

    # back from gopark: a receiver or closechan woke us
    if mysg != gp.waiting:
        throw("G waiting list is corrupted")
    gp.waiting = NULL
    cdef bint closed = not mysg.success
    gp.param = NULL
    Py_CLEAR(mysg.c)
    release_sudog(rt, mysg)
    if closed:
        if c.closed == 0:
            throw("chansend: spurious wakeup")
        raise Panic(E_SEND_CLOSED)
    return 1


cdef int park_forever(int reason) except -1:
    """Block forever: a nil channel's send or receive, select {} (the goroutine can only be
    unwound by an exception thrown into it)."""
    cdef Runtime rt = getrt()
    check_current(rt)
    cdef Goroutine gp = rt.curg
    gp.nilwait = reason != waitReasonSelectNoCases
    try:
        gopark(rt, reason)
    except BaseException:
        unpark(rt, gp)
        raise
    throw("unreachable")


ctypedef int (*gopark_nocheck)(Runtime, int) noexcept


cdef int park_failed(Runtime rt, Goroutine gp, Chan c, waitq* q, sudog* mysg,
                     bint timer) except -1:
    """gopark raised (its exception is set) in a goroutine parked on q: the park is undone
    (abandon, and the timer channel's block count for a receive) as the exception goes on up.
    Always returns -1."""
    try:
        raise_current()
    finally:
        # (a finally: the exception, and its context, stay what gopark raised)
        if timer and c.timer is not None:
            rt.unblocktimerchan(c.timer)
        abandon(rt, gp, q, mysg)
    return -1


cdef int abandon(Runtime rt, Goroutine gp, waitq* q, sudog* mysg) except -1:
    """An exception was thrown into gp, parked on q (a fatal error of the program, or its end,
    which runs this core handler and none of the program's): make it run again, take its sudog off the queue if no one dequeued it, and
    release it."""
    unpark(rt, gp)
    if gp.param == NULL:
        dequeueSudoG(q, mysg)
    gp.waiting = NULL
    gp.param = NULL
    Py_CLEAR(mysg.elem)
    Py_CLEAR(mysg.c)
    mysg.next = mysg.prev = NULL
    release_sudog(rt, mysg)
    return 0


cdef inline int send(Chan c, sudog* sg, object ep) except -1:
    """send: chansend's hand-off to a receiver already parked on c (so the buffer is empty).
    The receiver parked in sg gets ep in its sudog (Go's sendDirect) and goready makes it
    runnable. The caller took sg off c's queue already; sendx and recvx do not move."""
    cdef Goroutine gp = <Goroutine>sg.g
    Py_INCREF(ep)
    Py_XDECREF(sg.elem)
    sg.elem = <PyObject*>ep      # sendDirect: the receiver reads it from its sudog
    gp.param = sg
    sg.success = True
    goready(gp)
    debug_check(c)
    return 0


cdef int closechan(Chan c) except -1:
    cdef sudog* sg
    cdef Goroutine gp
    if c.isnil:
        raise Panic(E_CLOSE_NIL)
    chancheck(c)
    if c.closed != 0:
        raise Panic(E_CLOSE_CLOSED)
    c.closed = 1
    glist = []
    dropped = []

    # closechan: wake every parked receiver; each gets the zero value, not received
    while True:
        sg = dequeue(&c.recvq)
        if sg == NULL:
            break
        Py_CLEAR(sg.elem)       # the receiver gets the zero value
        gp = <Goroutine>sg.g
        gp.param = sg
        sg.success = False
        glist.append(gp)

    # closechan: wake every parked sender; each raises the send-on-closed panic
    while True:
        sg = dequeue(&c.sendq)
        if sg == NULL:
            break
        if sg.elem != NULL:
            # The sender's value is dropped, but only once the channel is consistent again:
            # its __del__ could run arbitrary code.
            dropped.append(steal(sg.elem))
            sg.elem = NULL
        gp = <Goroutine>sg.g
        gp.param = sg
        sg.success = False
        glist.append(gp)

    # closechan's last step: make every woken G runnable (glist pops last in, first out).
    while glist:
        goready(glist.pop())
    debug_check(c)
    return 0


cdef object chanrecv(Chan c, bint block, bint* received, bint* selected):
    """chanrecv: receive on c and return the value; *received is False when the value is the
    zero value of a closed channel. A non-blocking call that finds nothing sets *selected False."""
    cdef Runtime rt
    cdef Goroutine gp
    cdef sudog* sg
    cdef sudog* mysg
    if selected != NULL:
        selected[0] = True
    received[0] = False
    if not (block and c.closed == 0 and empty(c)):     # (as in chansend)
        checkpreempt_inline()
    if c.isnil:
        if not block:
            selected[0] = False
            return None
        park_forever(waitReasonChanReceiveNilChan)
    chancheck(c)

    if c.timer is not None:
        getrt().maybeRunChan(c.timer)

    # chansend/chanrecv's early exit: a non-blocking call that cannot proceed returns at once.
    if not block and empty(c):
        if c.closed == 0:
            selected[0] = False
            return c.zero
        # Closed and empty here, and with one goroutine running at a time nothing can arrive
        # before we return: the zero value, not received.
        return c.zero

    if c.closed != 0:
        if c.qcount == 0:
            return c.zero
        # Closed, but values are still buffered: fall through and drain them first.
    else:
        # chanrecv step 1 (open channel): is a sender parked on sendq?
        sg = dequeue(&c.sendq)
        if sg != NULL:
            # Yes. Unbuffered: take its value from its sudog. Buffered: the buffer must be
            # full, so take the oldest buffered value and put the sender's value in the slot
            # just freed, which is the tail of the ring (recvx and sendx coincide
            # when the ring is full). recv does both.
            received[0] = True
            return recv(c, sg)

    if c.qcount > 0:
        # chanrecv step 2: take the oldest buffered value
        v = chanbuf_take(c, c.recvx)
        c.recvx += 1
        if c.recvx == c.dataqsiz:
            c.recvx = 0
        c.qcount -= 1
        received[0] = True
        debug_check(c)
        return v

    if not block:
        selected[0] = False
        return c.zero

    # chanrecv step 3: nothing to take; park on recvq until a sender or close wakes us.
    rt = getrt()
    check_current(rt)
    gp = rt.curg
    mysg = acquire_sudog(rt)
    mysg.elem = NULL
    mysg.waitlink = NULL
    gp.waiting = mysg
    mysg.g = <PyObject*>gp
    mysg.isSelect = False
    Py_INCREF(c)
    mysg.c = <PyObject*>c
    gp.param = NULL
    enqueue(&c.recvq, mysg)
    if c.timer is not None:
        rt.blocktimerchan(c.timer)
    if (<gopark_nocheck>gopark)(rt, waitReasonChanReceive) < 0:       # (see chansend's)
        park_failed(rt, gp, c, &c.recvq, mysg, True)
        return None

    # back from gopark: a sender or closechan has filled in our sudog
    if mysg != gp.waiting:
        throw("G waiting list is corrupted")
    if c.timer is not None:
        rt.unblocktimerchan(c.timer)
    gp.waiting = NULL
    cdef bint success = mysg.success
    if success:
        v = steal(mysg.elem)
    else:
        Py_XDECREF(mysg.elem)
        v = c.zero
    mysg.elem = NULL
    gp.param = NULL
    Py_CLEAR(mysg.c)
    release_sudog(rt, mysg)
    received[0] = success
    return v


cdef inline object recv(Chan c, sudog* sg):
    """recv: chanrecv's take-over from a sender parked on c (a buffer, if any, is full).
    It does two things:
     1. the parked sender sg hands its value over (into the buffer or to us)
        and goready makes it runnable again;
     2. the value the current goroutine receives is returned.
    Unbuffered channel: what the sender hands over is what we return.
    Buffered channel: we return the oldest buffered value, and the
    sender's value takes its place at the tail of the
    ring.
    The caller took sg off c's queue already."""
    cdef Goroutine gp = <Goroutine>sg.g
    cdef PyObject* old
    if c.dataqsiz == 0:
        v = steal(sg.elem)      # recvDirect
    elif c.buf is None:
        # Zero-size elements: nothing moves through the (absent) slot, only the indices.
        v = steal(sg.elem)
        c.recvx += 1
        if c.recvx == c.dataqsiz:
            c.recvx = 0
        c.sendx = c.recvx
    else:
        # The ring is full, so the slot we read from (recvx)
        # is also the one the sender would write next:
        # swap the sender's value into it and step both
        # indices together.
        old = LIST_GET(<PyObject*>c.buf, c.recvx)
        LIST_SET(<PyObject*>c.buf, c.recvx, sg.elem)     # the slot takes the sudog's reference
        v = steal(old)
        c.recvx += 1
        if c.recvx == c.dataqsiz:
            c.recvx = 0
        c.sendx = c.recvx  # c.sendx = (c.sendx+1) % c.dataqsiz
    sg.elem = NULL
    gp.param = sg
    sg.success = True
    goready(gp)
    debug_check(c)
    return v


cdef extern from *:
    """
    #ifndef CHANEMU_DEBUG
    #define CHANEMU_DEBUG 0
    #endif
    """
    const int CHANEMU_DEBUG


cdef inline int debug_check(Chan c) except -1:
    """In the debug build (CHANEMU_DEBUG=1): check c's invariants after every operation.
    A broken invariant is a FatalError naming it."""
    if CHANEMU_DEBUG:
        try:
            check_hchan(c)
        except AssertionError as e:
            raise FatalError(f"chanemu: hchan invariant broken: {e}") from e
    return 0


def check_hchan(Chan c):
    """The file-header invariants, plus the ring's arithmetic and the queues' back pointers."""
    cdef sudog* sg
    cdef sudog* prev
    cdef sudog* w
    cdef waitq* q
    cdef Py_ssize_t i, j
    if c.isnil:
        return
    assert 0 <= c.qcount <= c.dataqsiz, f"qcount {c.qcount} dataqsiz {c.dataqsiz}"
    if c.dataqsiz > 0:
        assert c.sendx == (c.recvx + c.qcount) % c.dataqsiz, "sendx != recvx + qcount"
        assert 0 <= c.recvx < c.dataqsiz
        if c.qcount > 0:
            assert c.recvq.first == NULL, "qcount > 0 but recvq is not empty"
        if c.qcount < c.dataqsiz:
            assert c.sendq.first == NULL, "qcount < dataqsiz but sendq is not empty"
        for i in range(0 if c.buf is None else c.dataqsiz - c.qcount):
            j = (c.sendx + i) % c.dataqsiz
            assert c.buf[j] is c.zero, f"slot {j} not cleared"
    else:
        assert c.sendx == 0 and c.recvx == 0 and c.qcount == 0
    for i in range(2):
        q = &c.sendq if i == 0 else &c.recvq
        prev = NULL
        sg = q.first
        while sg != NULL:
            assert sg.prev == prev, "broken prev link"
            assert sg.c == <PyObject*>c, "sudog in queue points at another channel"
            # A queued G is parked, unless another case of its select already won it
            # (selectDone) and it has not yet run pass 3 to take this sudog back.
            assert ((<Goroutine>sg.g).atomicstatus == _Gwaiting or
                    (sg.isSelect and (<Goroutine>sg.g).selectDone != 0)), \
                "a G in a queue is not waiting"
            w = (<Goroutine>sg.g).waiting
            while w != NULL and w != sg:
                w = w.waitlink
            assert w == sg, "sudog missing from its goroutine's wait list"
            prev = sg
            sg = sg.next
        assert q.last == prev, "waitq.last is not the last sudog"
    if c.sendq.first != NULL and c.recvq.first != NULL:
        # Only one goroutine in a select can wait on both queues of a channel.
        sg = c.sendq.first
        while sg != NULL:
            assert sg.isSelect, "senders and receivers both wait on the channel"
            sg = sg.next


cdef Chan make_nilchan():
    cdef Chan c = Chan.__new__(Chan)
    makechan(c, None, 0)
    c.isnil = True
    c.inited = True
    c.serial = 0
    return c


nilchan = make_nilchan()
