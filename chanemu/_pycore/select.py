"""select, in pure Python: the readable twin of src_c/select.pxi, to hold beside runtime/select.go.

``select(*cases, default=False)`` is lowered the way Go's compiler lowers a select statement
(cmd/compile/internal/walk/select.go), so wait reasons match Go's:
  no cases               -> block(): parks forever, "select (no cases)"
  one case               -> the plain channel operation ("chan receive", "chan send", ...)
  one case and default   -> selectnbsend / selectnbrecv (a non-blocking operation)
  otherwise              -> selectgo
"""
from .. import _errors
from .._traceback import pytest_hide as __tracebackhide__  # noqa: F401 (pytest)
from .._errors import Panic
from . import chan as _chan
from .chan import Chan, ZEROBUF
from .. import _chandir
from .._empty import check_elem
from .proc import (getrt, gopark, throw, unpark, park_forever, check_current, checkpreempt,
                   waitReasonSelect, waitReasonSelectNoCases)


class _Case:
    """What the C twin's scase gives both kinds of case: made once, final, and a bare
    __new__ holds no channel (select refuses it)."""
    __slots__ = ()

    def __new__(cls, *args, **kwargs):
        cas = object.__new__(cls)
        for name in cls.__slots__:
            setattr(cas, name, None)
        return cas

    def __init_subclass__(cls, **kwargs):
        if cls.__module__ != __name__:
            raise TypeError(f"type '{cls.__mro__[1].__name__}' is not an acceptable base type")
        super().__init_subclass__(**kwargs)

    def __reduce_ex__(self, protocol):
        # its channel cannot be copied either: make another case with recv(c) or send(c, v)
        raise TypeError(f"cannot pickle or copy '{type(self).__name__}' object")

    def _unset(self):
        # a select parked on this case reads its channel again when it wakes
        if self.c is not None:
            raise TypeError("select case __init__ called twice: a case is made once")


class SendCase(_Case):
    """``case c <- v``: built by ``send(c, v)``; may be reused across selects."""
    __slots__ = ("c", "elem")

    def __init__(self, c, v):
        if not isinstance(c, Chan):
            c = _chandir.for_send(c)
            if not isinstance(c, Chan):
                raise TypeError(f"send: expected a Chan, got {type(c).__name__}")
        if c.buf is ZEROBUF:
            check_elem(c, v)
        self._unset()
        self.c = c
        self.elem = v

    def __repr__(self):
        return f"send({self.c!r}, {self.elem!r})"


class RecvCase(_Case):
    """``case v, ok := <-c``: built by ``recv(c)``; may be reused across selects."""
    __slots__ = ("c",)
    elem = None         # as the C twin's: a receive case carries no value

    def __init__(self, c):
        if not isinstance(c, Chan):
            c = _chandir.for_recv(c)
            if not isinstance(c, Chan):
                raise TypeError(f"recv: expected a Chan, got {type(c).__name__}")
        self._unset()
        self.c = c

    def __repr__(self):
        return f"recv({self.c!r})"


def select(*cases, default=False):
    """Go's select statement (reflect.Select's shape): returns (index, value, ok).

    index is the chosen case's position, or -1 for the default; value, ok are the received value
    and flag for a receive case, (None, False) for a send case. Among ready cases the choice is
    uniformly random (the runtime's seeded generator).
    """
    for cas in cases:
        if type(cas) is not SendCase and type(cas) is not RecvCase or cas.c is None:
            raise TypeError(f"select: cases must be made by recv(c) or send(c, v), "
                            f"not {type(cas).__name__}")
    n = len(cases)
    if n != 1:
        checkpreempt()      # (a one-case select is a channel operation: it checks there)
    if n == 0:
        if default:
            return -1, None, False
        block()
    if n == 1:
        cas = cases[0]
        if type(cas) is SendCase:
            # selectnbsend, or the plain send of a one-case select
            if _chan.chansend(cas.c, cas.elem, not default):
                return 0, None, False
            return -1, None, False
        selected, v, ok = _chan.chanrecv(cas.c, not default)
        if selected:
            return 0, v, ok
        return -1, None, False
    if n > 65536:
        raise ValueError("select: ncases must be <= 65536")
    r = selectgo(getrt(), cases, not default)
    if _chan.tracing and r[0] >= 0:
        cas = cases[r[0]]
        _chan.trace_chan("send" if type(cas) is SendCase else "recv", cas.c,
                         True if type(cas) is SendCase else r[2])
    return r


def block():
    """select {}: park forever."""
    park_forever(waitReasonSelectNoCases)


def sortkey(c):
    """A channel's place in lock order. Go uses the hchan's address; ours is its creation serial,
    which orders channels the same way in both twins."""
    return c.serial


def selectgo(rt, scases, block):
    """selectgo implements the select statement. Returns (casi, value, recvOK): casi is -1 only
    for a non-blocking select that found nothing ready."""
    ncases = len(scases)

    # selectgo: shuffle the cases into pollorder
    pollorder = [0] * ncases
    norder = 0
    for i in range(ncases):
        cas = scases[i]
        # A nil channel can never be ready: leave its case out of both orders.
        if cas.c.isnil:
            continue
        _chan.chancheck(cas.c)
        if cas.c.timer is not None:
            rt.maybeRunChan(cas.c.timer)
        j = rt.rand.cheaprandn(norder + 1)
        pollorder[norder] = pollorder[j]
        pollorder[j] = i
        norder += 1
    pollorder = pollorder[:norder]

    # selectgo: order the cases by channel identity into lockorder.
    lockorder = heapsort_lockorder(scases, pollorder)

    # selectgo pass 1: in pollorder, find a case that can proceed right now.
    for casi in pollorder:
        cas = scases[casi]
        c = cas.c
        if type(cas) is RecvCase:
            sg = c.sendq.dequeue()
            if sg is not None:
                # a sender is parked: take its value
                return casi, _chan.recv(c, sg), True
            if c.qcount > 0:
                # a buffered value is waiting
                v = c.buf[c.recvx]
                c.buf[c.recvx] = c.zero
                c.recvx += 1
                if c.recvx == c.dataqsiz:
                    c.recvx = 0
                c.qcount -= 1
                return casi, v, True
            if c.closed != 0:
                # closed and drained: zero value, not received
                return casi, c.zero, False
        else:
            if c.closed != 0:
                # sending to a closed channel panics
                raise Panic(_errors.E_SEND_CLOSED)
            sg = c.recvq.dequeue()
            if sg is not None:
                # a receiver is parked: hand it our value
                _chan.send(c, sg, cas.elem)
                return casi, None, False
            if c.qcount < c.dataqsiz:
                # the buffer has a free slot
                c.buf[c.sendx] = cas.elem
                c.sendx += 1
                if c.sendx == c.dataqsiz:
                    c.sendx = 0
                c.qcount += 1
                return casi, None, False

    if not block:
        return -1, None, False

    # selectgo pass 2: nothing ready; queue one sudog on every case's channel.
    check_current(rt)
    gp = rt.curg
    if gp.waiting is not None:
        throw("gp.waiting != nil")
    last = None
    for casei in lockorder:
        cas = scases[casei]
        c = cas.c
        sg = rt.acquireSudog()
        sg.g = gp
        sg.isSelect = True
        # Go must set elem and link sg into gp.waiting with no stack growth in between;
        # greenlets never move a stack, so here it is just the order Go uses.
        sg.elem = cas.elem if type(cas) is SendCase else None
        sg.c = c
        # gp.waiting links our sudogs in lockorder, the order pass 3 walks them.
        if last is None:
            gp.waiting = sg
        else:
            last.waitlink = sg
        last = sg
        if type(cas) is SendCase:
            c.sendq.enqueue(sg)
        else:
            c.recvq.enqueue(sg)
        if c.timer is not None:
            rt.blocktimerchan(c.timer)

    # park until one case's peer (or a close) wakes us
    gp.param = None
    try:
        gopark(rt, waitReasonSelect)
    except BaseException:
        abandon_select(rt, gp, scases, lockorder)
        unblock_timers(rt, scases, lockorder)
        raise
    gp.selectDone = 0
    sg = gp.param
    gp.param = None

    # selectgo pass 3: we were woken by one case; take our sudogs off the queues
    # of all the others, or they would pile up on channels that never fire,
    # and note which case won.
    casi = -1
    cas = None
    caseSuccess = False
    recvd = None
    sglist = gp.waiting
    # Drop every sudog's elem and channel before the waiting list is cut loose.
    sg1 = gp.waiting
    while sg1 is not None:
        sg1.isSelect = False
        if sg1 is sg:
            recvd = sg1.elem          # the value a sender handed to our receive case
        sg1.elem = None
        sg1.c = None
        sg1 = sg1.waitlink
    gp.waiting = None

    for casei in lockorder:
        k = scases[casei]
        if sg is sglist:
            # The winning sudog: whoever woke us already took it off its queue.
            casi = casei
            cas = k
            caseSuccess = sglist.success
        else:
            c = k.c
            if type(k) is SendCase:
                c.sendq.dequeueSudoG(sglist)
            else:
                c.recvq.dequeueSudoG(sglist)
        sgnext = sglist.waitlink
        sglist.waitlink = None
        rt.releaseSudog(sglist)
        sglist = sgnext

    unblock_timers(rt, scases, lockorder)
    if cas is None:
        throw("selectgo: bad wakeup")

    if type(cas) is SendCase:
        if not caseSuccess:
            # send on closed channel (the channel closed while we waited)
            raise Panic(_errors.E_SEND_CLOSED)
        return casi, None, False
    if caseSuccess:
        return casi, recvd, True
    return casi, cas.c.zero, False


def unblock_timers(rt, scases, lockorder):
    """unblockTimerChan for every case on a timer channel (pass 2 blocked them)."""
    for casei in lockorder:
        c = scases[casei].c
        if c.timer is not None:
            rt.unblocktimerchan(c.timer)


def abandon_select(rt, gp, scases, lockorder):
    """An exception was thrown into a goroutine parked in select: run it again, undo pass 2."""
    unpark(rt, gp)
    won = gp.param
    gp.param = None
    gp.selectDone = 0
    sglist = gp.waiting
    gp.waiting = None
    for casei in lockorder:
        k = scases[casei]
        if sglist is not won:
            if type(k) is SendCase:
                k.c.sendq.dequeueSudoG(sglist)
            else:
                k.c.recvq.dequeueSudoG(sglist)
        sgnext = sglist.waitlink
        sglist.waitlink = None
        sglist.isSelect = False
        sglist.elem = None
        sglist.c = None
        sglist.next = sglist.prev = None
        rt.releaseSudog(sglist)
        sglist = sgnext


def heapsort_lockorder(scases, pollorder):
    """Sort the cases by channel (sortkey) with a heap sort, as Go does: n log n time and a
    constant footprint. The heap is fed in pollorder, so cases on one channel stay shuffled."""
    norder = len(pollorder)
    lockorder = [0] * norder
    for i in range(norder):
        j = i
        # Feed the heap from pollorder, so cases sharing a channel keep a random order.
        c = scases[pollorder[i]].c
        while j > 0 and sortkey(scases[lockorder[(j - 1) // 2]].c) < sortkey(c):
            k = (j - 1) // 2
            lockorder[j] = lockorder[k]
            j = k
        lockorder[j] = pollorder[i]
    for i in range(norder - 1, -1, -1):
        o = lockorder[i]
        c = scases[o].c
        lockorder[i] = lockorder[0]
        j = 0
        while True:
            k = j * 2 + 1
            if k >= i:
                break
            if k + 1 < i and sortkey(scases[lockorder[k]].c) < sortkey(scases[lockorder[k + 1]].c):
                k += 1
            if sortkey(c) < sortkey(scases[lockorder[k]].c):
                lockorder[j] = lockorder[k]
                j = k
                continue
            break
        lockorder[j] = o
    return lockorder
