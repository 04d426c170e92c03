"""Go channels, in pure Python: the readable twin of src_c/chan.pxi, to hold beside runtime/chan.go.

Invariants:
 (chan.go's hchan invariants, as this port keeps them.) recvq and sendq are never
 both non-empty, with one exception: a select may put one goroutine on both queues
 of one unbuffered channel (a send case and a receive case on it), and then each
 queue holds at most as many sudogs as that select has cases on the channel, so
 neither grows without bound.

A buffered channel adds two more:
 while the buffer holds a value (qcount > 0), no receiver waits in recvq;
 while the buffer has a free slot (qcount < dataqsiz), no sender waits in sendq.

There is no lock: one runtime runs one goroutine at a time and switches only inside gopark, so
every function below runs atomically with respect to the other goroutines of its runtime.
"""
from .. import _errors
from .._errors import Panic
from .. import _views
from .. import _chandir
from .._empty import Empty, EMPTY, MAX_ZEROSIZE_CAP, check_elem
from .._traceback import pytest_hide as __tracebackhide__  # noqa: F401 (pytest)
from .proc import (getrt, gopark, goready, throw, unpark, park_forever, check_current,
                   checkpreempt_slow, preempt_gate, _clock_ns, _COARSE, _Gwaiting,
                   thread_serial, _tls,
                   waitReasonChanSend, waitReasonChanReceive,
                   waitReasonChanSendNilChan, waitReasonChanReceiveNilChan)

import itertools

# Channels' creation serials: select's lock order (Go sorts by hchan address). Shared by the
# twins' order of creation, so both order a select's cases identically.
_serials = itertools.count(1)

# makechan's bound, as Go's on linux/amd64: the buffer (elemsize * size bytes) must fit in the
# largest allocation (malloc.go's maxAlloc, 1 << 48) less the hchan header (hchanSize: 112 bytes,
# the struct rounded up to maxAlign). With 8-byte slots: at most 2**45 - 14 slots.
maxAlloc = 1 << 48
hchanSize = 112
elemsize = 8          # a slot holds one object reference


class waitq:
    """A FIFO of sudogs, doubly linked through sudog.next/prev."""
    __slots__ = ("first", "last")

    def __init__(self):
        self.first = None
        self.last = None

    def enqueue(self, sgp):
        sgp.next = None
        x = self.last
        if x is None:
            sgp.prev = None
            self.first = sgp
            self.last = sgp
            return
        sgp.prev = x
        x.next = sgp
        self.last = sgp

    def dequeue(self):
        while True:
            sgp = self.first
            if sgp is None:
                return None
            y = sgp.next
            if y is None:
                self.first = None
                self.last = None
            else:
                y.prev = None
                self.first = y
                sgp.next = None  # mark as removed (see dequeueSudoG)

            # A sudog queued by a select whose goroutine another case already claimed
            # (selectDone) is stale: pass over it here; that select's pass 3 unlinks the
            # rest of its sudogs.
            if sgp.isSelect:
                if sgp.g.selectDone != 0:
                    continue
                sgp.g.selectDone = 1
            return sgp

    def dequeueSudoG(self, sgp):
        """Remove sgp from anywhere in the queue in O(1) (select.go)."""
        x = sgp.prev
        y = sgp.next
        if x is not None:
            if y is not None:
                # middle of queue
                x.next = y
                y.prev = x
                sgp.next = None
                sgp.prev = None
                return
            # end of queue
            x.next = None
            self.last = x
            sgp.prev = None
            return
        if y is not None:
            # start of queue
            y.prev = None
            self.first = y
            sgp.next = None
            return
        # No neighbour on either side (dequeueSudoG's last case): sgp is alone in the queue,
        # or it was taken off already; only q.first tells which of the two.
        if self.first is sgp:
            self.first = None
            self.last = None

    def __iter__(self):
        sg = self.first
        while sg is not None:
            yield sg
            sg = sg.next


class Chan:
    """A Go channel: ``make(chan T, size)``. The struct's fields are Go's hchan.

    Send, receive and close follow runtime/chan.go step by step; ``ch.hchan`` is a live read-only
    view of the struct.
    """
    __slots__ = ("qcount", "dataqsiz", "buf", "closed", "elemtype", "zero", "sendx", "recvx",
                 "recvq", "sendq", "isnil", "serial", "timer", "owner", "inited", "__weakref__")

    def __new__(cls, *args, **kwargs):
        # Chan.__new__(Chan) alone is a working unbuffered channel of this thread (as the C
        # twin's __cinit__ makes it); __init__ (once) gives it its size and element type.
        c = object.__new__(cls)
        c.serial = next(_serials)
        c.owner = thread_serial()
        c.inited = False
        c.qcount = c.dataqsiz = c.closed = c.sendx = c.recvx = 0
        c.elemtype = c.zero = c.timer = None
        c.buf = []
        c.recvq = waitq()
        c.sendq = waitq()
        c.isnil = False
        return c

    def __init__(self, size=0, elemtype=None):
        if self.inited or not pristine(self):
            raise TypeError("Chan.__init__ called on a channel already in use: a channel is "
                            "made once")
        makechan(self, elemtype, size)
        self.inited = True

    def __reduce_ex__(self, protocol):
        # a copy would share the wait queues (the C twin's struct cannot be copied at all)
        raise TypeError(f"cannot pickle or copy '{type(self).__name__}' object")

    def __init_subclass__(cls, **kwargs):
        # final, as the C twin's Chan: only the nil channel's class derives from it
        if cls.__name__ != "_NilChan" or cls.__module__ != __name__:
            raise TypeError("type 'Chan' is not an acceptable base type")
        super().__init_subclass__(**kwargs)

    # -- Go operations ---------------------------------------------------------------------
    def send(self, v):
        """``c <- v``: blocks until a receiver takes v or there is room in the buffer.
        Panics "send on closed channel" if the channel is closed, or closes while we wait."""
        chansend(self, v, True)
        if tracing:
            trace_chan("send", self, True)

    def recv(self):
        """``<-c``: the next value; on a closed, drained channel the zero value."""
        _, v, ok = chanrecv(self, True)
        if tracing:
            trace_chan("recv", self, ok)
        return v

    def recv_ok(self):
        """``v, ok := <-c``: ok is False only for the zero value of a closed, drained channel."""
        _, v, ok = chanrecv(self, True)
        if tracing:
            trace_chan("recv", self, ok)
        return v, ok

    def try_send(self, v):
        """``select { case c <- v: return True; default: return False }`` (selectnbsend)."""
        sent = chansend(self, v, False)
        if tracing and sent:
            trace_chan("send", self, True)
        return sent

    def try_recv(self):
        """``select { case v, ok := <-c: ...; default: }``: (v, ok), or None if it would block."""
        selected, v, ok = chanrecv(self, False)
        if not selected:
            return None
        if tracing:
            trace_chan("recv", self, ok)
        return (v, ok)

    def close(self):
        """close(c): wakes every blocked receiver (zero value, ok False) and every blocked sender
        (which panics "send on closed channel"); buffered values stay receivable."""
        closechan(self)
        if tracing:
            trace_chan("close", self, True)

    def __len__(self):
        """len(c). A timer channel (hchan.timer set) presents as unbuffered: 0, as in Go 1.23+."""
        return 0 if self.timer is not None else self.qcount

    @property
    def cap(self):
        return 0 if self.timer is not None else self.dataqsiz

    def send_only(self):
        """This channel as ``chan<- T``: a view sharing the hchan that can only send and close."""
        return _chandir.SendOnlyView(self)

    def recv_only(self):
        """This channel as ``<-chan T``: a view sharing the hchan that can only receive."""
        return _chandir.RecvOnlyView(self)

    def __iter__(self):
        """``for v := range c``: ends when the channel is closed and drained."""
        while True:
            _, v, ok = chanrecv(self, True)
            if tracing:
                trace_chan("recv", self, ok)
            if not ok:
                return
            yield v

    # -- looking inside --------------------------------------------------------------------
    @property
    def hchan(self):
        return _views.HChanView(self)

    def _hchan_field(self, name):
        if name == "buf":
            return tuple(self.buf)
        if name == "elemsize":
            return 0 if self.isnil or self.buf is ZEROBUF else elemsize
        return getattr(self, name)

    def _waitq(self, name):
        q = self.recvq if name == "recvq" else self.sendq
        return [(sg.g, sg.elem, sg.isSelect, sg.success, sg.c, sg.releasetime) for sg in q]

    def _waitq_at(self, name, i):
        sg = (self.recvq if name == "recvq" else self.sendq).first
        while sg is not None and i > 0:
            sg = sg.next
            i -= 1
        if sg is None:
            return None
        return (sg.g, sg.elem, sg.isSelect, sg.success, sg.c, sg.releasetime)

    def _waitq_len(self, name):
        q = self.recvq if name == "recvq" else self.sendq
        n = 0
        sg = q.first
        while sg is not None:
            n += 1
            sg = sg.next
        return n

    def __repr__(self):
        if self.isnil:
            return "<Chan nil>"
        return f"<Chan {_views.chan_id(self)} {self.qcount}/{self.dataqsiz}{' closed' if self.closed else ''}>"


# chanemu.trace turns this on: completed channel operations become "chan" events of the
# runtime's tracer. One flag for every runtime, read once per operation.
tracing = False


def set_chan_tracing(on):
    global tracing
    tracing = bool(on)


def trace_chan(op, c, ok):
    rt = getrt()
    if rt.tracer is not None:
        rt.tracer("chan", rt.curg, (op, c, ok))


def pristine(c):
    """Nothing was ever done with c: __init__ may still give it a size."""
    return (c.qcount == 0 and c.closed == 0 and c.recvq.first is None and c.sendq.first is None
            and c.timer is None and not c.isnil)


def makechan(c, elemtype, size):
    """Size and element type of a channel fresh from Chan.__new__ (serial, owner, queues)."""
    if isinstance(size, bool) or not isinstance(size, int):
        raise TypeError(f"Chan size must be an int, not {type(size).__name__}")
    # a plain int before any comparison: an int subclass's own __lt__ or __gt__ could lie
    size = int.__index__(size)
    if size < 0 or size_out_of_range(elemtype, size):
        raise Panic(_errors.E_MAKECHAN_SIZE)
    zero = zero_value(elemtype)
    buf = ZEROBUF if elemtype is Empty else [zero] * size   # zero-size elements: no buffer
    c.dataqsiz = size
    c.elemtype = elemtype
    c.zero = zero
    c.buf = buf


def size_out_of_range(elemtype, size):
    """makechan's bound: the buffer's bytes within maxAlloc; zero-size elements take no memory,
    so any size an int holds."""
    if elemtype is Empty:
        return size > MAX_ZEROSIZE_CAP
    return size * elemsize > maxAlloc - hchanSize


class ZeroBuf:
    """The buffer of a channel of zero-size elements: no slots at all. A store keeps nothing and
    a load yields the one Empty() value, so the ring's code runs unchanged (the indices still
    move, as in Go)."""
    __slots__ = ()

    def __getitem__(self, i):
        return Empty()

    def __setitem__(self, i, v):
        pass

    def __iter__(self):
        return iter(())


ZEROBUF = ZeroBuf()


def zero_value(elemtype):
    if elemtype is None:
        return None
    if not callable(elemtype):
        raise TypeError(f"elemtype must be a type (called for the zero value), not {elemtype!r}")
    return elemtype()


def chancheck(c):
    """A channel belongs to the program of the thread that made it. Go has one program per
    process; here each thread has its own runtime, and one channel cannot join two of them.
    Checked before an operation changes anything: the thread always, and when goroutines wait
    on c, that they belong to the caller's runtime (so the queues of a channel only ever hold
    one runtime's goroutines)."""
    # thread_serial(), inlined: 0 (no serial) for a thread that never asked for one
    if c.owner != getattr(_tls, "serial", 0):
        me = thread_serial()
        if c.owner != me:
            raise RuntimeError(f"chanemu: channel {c!r} was made in thread #{c.owner} and used "
                               f"in thread #{me}; a channel belongs to one thread's program")
    sg = c.recvq.first or c.sendq.first
    if sg is not None and sg.g.rt is not getrt():
        raise RuntimeError(f"chanemu: channel {c!r} has goroutines of another runtime waiting "
                           "on it (a run() program, or the thread's default runtime); a channel "
                           "cannot be shared between programs")


def full(c):
    """full: a send on c cannot complete now (no parked receiver, or no free slot)."""
    if c.dataqsiz == 0:
        return c.recvq.first is None
    return c.qcount == c.dataqsiz


def empty(c):
    """empty: a receive on c cannot complete now (no parked sender, or nothing buffered)."""
    if c.dataqsiz == 0:
        return c.sendq.first is None
    return c.qcount == 0


def chansend(c, ep, block):
    """Send ep on c. If block is False and the send cannot proceed immediately, return False.
    A send on a closed channel panics."""
    if not isinstance(c, Chan):      # an unbound method called on something else
        raise TypeError(f"expected a Chan, got {type(c).__name__}")
    # A call that is about to park yields anyway: only one that can complete at once checks for
    # preemption (the parking side of a hand-off reads no clock). full(c), inlined.
    if not (block and c.closed == 0 and (c.recvq.first is None if c.dataqsiz == 0
                                         else c.qcount == c.dataqsiz)):
        if _clock_ns(_COARSE) >= preempt_gate[0]:     # checkpreempt(), inlined
            checkpreempt_slow()
    if c.isnil:
        if not block:
            return False
        park_forever(waitReasonChanSendNilChan)
    chancheck(c)
    if c.buf is ZEROBUF and ep is not EMPTY:
        check_elem(c, ep)

    # chansend/chanrecv's early exit: a non-blocking call that cannot proceed returns at once.
    if not block and c.closed == 0 and full(c):
        return False

    if c.closed != 0:
        raise Panic(_errors.E_SEND_CLOSED)

    sg = c.recvq.dequeue()
    if sg is not None:
        # chansend step 1: a receiver is parked. The value goes straight into its sudog,
        # never through the buffer, even when the channel has one.
        send(c, sg, ep)
        return True

    if c.qcount < c.dataqsiz:
        # chansend step 2: the buffer has room; store the value at sendx and advance it.
        c.buf[c.sendx] = ep
        c.sendx += 1
        if c.sendx == c.dataqsiz:
            c.sendx = 0
        c.qcount += 1
        return True

    if not block:
        return False

    # chansend step 3: park on sendq; a later receiver takes the value and wakes us.
    rt = getrt()
    check_current(rt)
    gp = rt.curg
    mysg = rt.acquireSudog()
    mysg.elem = ep
    mysg.waitlink = None
    mysg.g = gp
    mysg.isSelect = False
    mysg.c = c
    gp.waiting = mysg
    gp.param = None
    c.sendq.enqueue(mysg)
    try:
        gopark(rt, waitReasonChanSend)
    except BaseException:
        abandon(rt, gp, c.sendq, mysg)
        raise

    # back from gopark: a receiver or closechan woke us
    if mysg is not gp.waiting:
        throw("G waiting list is corrupted")
    gp.waiting = None
    closed = not mysg.success
    gp.param = None
    mysg.c = None
    rt.releaseSudog(mysg)
    if closed:
        if c.closed == 0:
            throw("chansend: spurious wakeup")
        raise Panic(_errors.E_SEND_CLOSED)
    return True


def abandon(rt, gp, q, mysg):
    """An exception was thrown into gp, parked on q (a fatal error of the program, or its end,
    which runs this core handler and none of the program's): make it run again, take its sudog off the queue if no one dequeued it, and
    release it."""
    unpark(rt, gp)
    if gp.param is None:
        q.dequeueSudoG(mysg)
    gp.waiting = None
    gp.param = None
    mysg.elem = None
    mysg.c = None
    mysg.next = mysg.prev = None
    rt.releaseSudog(mysg)


def send(c, sg, ep):
    """send: chansend's hand-off to a receiver already parked on c (so the buffer is empty).
    The receiver parked in sg gets ep in its sudog (Go's sendDirect),
    then goready puts it back on the run queue.
    The caller took sg off c's queue already. sendx and recvx do not move (direct hand-off)."""
    sg.elem = ep     # sendDirect: the receiver reads it from its sudog
    gp = sg.g
    gp.param = sg
    sg.success = True
    goready(gp)


def closechan(c):
    if not isinstance(c, Chan):      # an unbound method called on something else
        raise TypeError(f"expected a Chan, got {type(c).__name__}")
    if c.isnil:
        raise Panic(_errors.E_CLOSE_NIL)
    chancheck(c)
    if c.closed != 0:
        raise Panic(_errors.E_CLOSE_CLOSED)
    c.closed = 1
    glist = []
    dropped = []

    # closechan: wake every parked receiver; each gets the zero value, not received
    while True:
        sg = c.recvq.dequeue()
        if sg is None:
            break
        sg.elem = c.zero
        gp = sg.g
        gp.param = sg
        sg.success = False
        glist.append(gp)

    # closechan: wake every parked sender; each raises the send-on-closed panic
    while True:
        sg = c.sendq.dequeue()
        if sg is None:
            break
        # The sender's value is dropped, but only once the channel is consistent again: its
        # __del__ could run arbitrary code.
        dropped.append(sg.elem)
        sg.elem = None
        gp = sg.g
        gp.param = sg
        sg.success = False
        glist.append(gp)

    # closechan's last step: make every woken G runnable (glist pops last in, first out).
    while glist:
        goready(glist.pop())


def chanrecv(c, block):
    """chanrecv: receive on c, as (selected, value, received). A non-blocking call that finds
    nothing gives (False, zero, False); a closed, drained channel gives (True, zero, False);
    a value gives (True, value, True)."""
    if not isinstance(c, Chan):      # an unbound method called on something else
        raise TypeError(f"expected a Chan, got {type(c).__name__}")
    # (as in chansend; empty(c), inlined)
    if not (block and c.closed == 0 and (c.sendq.first is None if c.dataqsiz == 0
                                         else c.qcount == 0)):
        if _clock_ns(_COARSE) >= preempt_gate[0]:     # checkpreempt(), inlined
            checkpreempt_slow()
    if c.isnil:
        if not block:
            return False, None, False
        park_forever(waitReasonChanReceiveNilChan)
    chancheck(c)

    if c.timer is not None:
        getrt().maybeRunChan(c.timer)

    # chansend/chanrecv's early exit: a non-blocking call that cannot proceed returns at once.
    if not block and empty(c):
        if c.closed == 0:
            return False, c.zero, False
        # Closed and empty here. Go looks at the buffer a second time because a send may race
        # in on another thread; here one goroutine runs at a time, so the check cannot change.
        if empty(c):
            return True, c.zero, False

    if c.closed != 0:
        if c.qcount == 0:
            return True, c.zero, False
        # Closed, but values are still buffered: fall through and drain them first.
    else:
        # chanrecv step 1 (open channel): is a sender parked on sendq?
        sg = c.sendq.dequeue()
        if sg is not None:
            # Yes. Unbuffered: take its value from its sudog. Buffered: the buffer must be
            # full, so take the oldest buffered value and put the sender's value in the slot
            # just freed, which is the tail of the ring (recvx and sendx coincide
            # when the ring is full). recv does both.
            return True, recv(c, sg), True

    if c.qcount > 0:
        # chanrecv step 2: take the oldest buffered value
        v = c.buf[c.recvx]
        c.buf[c.recvx] = c.zero      # typedmemclr
        c.recvx += 1
        if c.recvx == c.dataqsiz:
            c.recvx = 0
        c.qcount -= 1
        return True, v, True

    if not block:
        return False, c.zero, False

    # chanrecv step 3: nothing to take; park on recvq until a sender or close wakes us.
    rt = getrt()
    check_current(rt)
    gp = rt.curg
    mysg = rt.acquireSudog()
    mysg.elem = None
    mysg.waitlink = None
    gp.waiting = mysg
    mysg.g = gp
    mysg.isSelect = False
    mysg.c = c
    gp.param = None
    c.recvq.enqueue(mysg)
    if c.timer is not None:
        rt.blocktimerchan(c.timer)
    try:
        gopark(rt, waitReasonChanReceive)
    except BaseException:
        if c.timer is not None:
            rt.unblocktimerchan(c.timer)
        abandon(rt, gp, c.recvq, mysg)
        raise

    # back from gopark: a sender or closechan has filled in our sudog
    if mysg is not gp.waiting:
        throw("G waiting list is corrupted")
    if c.timer is not None:
        rt.unblocktimerchan(c.timer)
    gp.waiting = None
    success = mysg.success
    v = mysg.elem if success else c.zero
    mysg.elem = None
    gp.param = None
    mysg.c = None
    rt.releaseSudog(mysg)
    return True, v, success


def recv(c, sg):
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
    if c.dataqsiz == 0:
        v = sg.elem         # recvDirect
    else:
        # The ring is full, so the slot we read from (recvx)
        # is also the one the sender would write next:
        # swap the sender's value into it and step both
        # indices together.
        v = c.buf[c.recvx]
        c.buf[c.recvx] = sg.elem
        c.recvx += 1
        if c.recvx == c.dataqsiz:
            c.recvx = 0
        c.sendx = c.recvx  # c.sendx = (c.sendx+1) % c.dataqsiz
    sg.elem = None
    gp = sg.g
    gp.param = sg
    sg.success = True
    goready(gp)
    return v


def check_hchan(c):
    """The file-header invariants, plus the ring's arithmetic and the queues' back pointers."""
    if c.isnil:
        return
    assert 0 <= c.qcount <= c.dataqsiz, f"qcount {c.qcount} dataqsiz {c.dataqsiz}"
    if c.dataqsiz > 0:
        assert c.sendx == (c.recvx + c.qcount) % c.dataqsiz, "sendx != recvx + qcount"
        assert 0 <= c.recvx < c.dataqsiz
        if c.qcount > 0:
            assert c.recvq.first is None, "qcount > 0 but recvq is not empty"
        if c.qcount < c.dataqsiz:
            assert c.sendq.first is None, "qcount < dataqsiz but sendq is not empty"
        for i in range(0 if c.buf is ZEROBUF else c.dataqsiz - c.qcount):
            j = (c.sendx + i) % c.dataqsiz
            assert c.buf[j] is c.zero, f"slot {j} not cleared"
    else:
        assert c.sendx == c.recvx == c.qcount == 0
    for q in (c.sendq, c.recvq):
        prev = None
        for sg in q:
            assert sg.prev is prev, "broken prev link"
            assert sg.c is c, "sudog in queue points at another channel"
            # A queued G is parked, unless another case of its select already won it
            # (selectDone) and it has not yet run pass 3 to take this sudog back.
            assert sg.g.atomicstatus == _Gwaiting or (sg.isSelect and sg.g.selectDone), \
                f"{sg.g} in a queue but not waiting"
            w = sg.g.waiting
            while w is not None and w is not sg:
                w = w.waitlink
            assert w is sg, "sudog missing from its goroutine's wait list"
            prev = sg
        assert q.last is prev, "waitq.last is not the last sudog"
    if c.sendq.first is not None and c.recvq.first is not None:
        # Only one goroutine in a select can wait on both queues of a channel.
        assert all(sg.isSelect for sg in c.sendq), "senders and receivers both wait on the channel"


class _NilChan(Chan):
    """The nil channel: blocks forever, never selected, close panics."""
    __slots__ = ()

    def __init__(self):
        if self.inited:
            raise TypeError("Chan.__init__ called on a channel already in use: a channel is "
                            "made once")
        makechan(self, None, 0)
        self.isnil = True
        self.inited = True
        self.serial = 0


nilchan = _NilChan()
