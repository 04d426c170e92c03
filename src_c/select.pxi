# select: the C twin of chanemu/_pycore/select.py, to hold beside runtime/select.go.
#
# select(*cases, default=False) is lowered the way Go's compiler lowers a select statement
# (cmd/compile/internal/walk/select.go), so wait reasons match Go's:
#   no cases               -> block(): parks forever, "select (no cases)"
#   one case               -> the plain channel operation ("chan receive", "chan send", ...)
#   one case and default   -> selectnbsend / selectnbrecv (a non-blocking operation)
#   otherwise              -> selectgo
from libc.stdlib cimport malloc, free

cdef enum:
    caseRecv = 1
    caseSend = 2
    SELECT_STACK_CASES = 32     # pollorder/lockorder on the C stack up to this many cases


cdef class scase:
    """A select case (select.go scase): a channel and, for a send, the value."""
    cdef readonly Chan c
    cdef readonly object elem
    cdef int kind

    def __init__(self):
        raise TypeError("select cases are made by recv(c) or send(c, v)")

    def __reduce_ex__(self, protocol):
        # its channel cannot be copied either: make another case with recv(c) or send(c, v)
        raise TypeError(f"cannot pickle or copy '{type(self).__name__}' object")


cdef int case_unset(scase cas) except -1:
    """A case is made once: a select parked on it reads its channel again when it wakes."""
    if cas.c is not None:
        raise TypeError("select case __init__ called twice: a case is made once")
    return 0


@cython.final
cdef class SendCase(scase):
    """``case c <- v``: built by ``send(c, v)``; may be reused across selects."""

    def __init__(self, c, v):
        if not isinstance(c, Chan):
            c = chandir_for_send(c)
            if not isinstance(c, Chan):
                raise TypeError(f"send: expected a Chan, got {type(c).__name__}")
        if (<Chan>c).buf is None:
            check_elem(c, v)
        case_unset(self)
        self.c = c
        self.elem = v
        self.kind = caseSend

    def __repr__(self):
        return f"send({self.c!r}, {self.elem!r})"


@cython.final
cdef class RecvCase(scase):
    """``case v, ok := <-c``: built by ``recv(c)``; may be reused across selects."""

    def __init__(self, c):
        if not isinstance(c, Chan):
            c = chandir_for_recv(c)
            if not isinstance(c, Chan):
                raise TypeError(f"recv: expected a Chan, got {type(c).__name__}")
        case_unset(self)
        self.c = c
        self.kind = caseRecv

    def __repr__(self):
        return f"recv({self.c!r})"


def select(*cases, bint default=False):
    """Go's select statement (reflect.Select's shape): returns (index, value, ok).

    index is the chosen case's position, or -1 for the default; value, ok are the received value
    and flag for a receive case, (None, False) for a send case. Among ready cases the choice is
    uniformly random (the runtime's seeded generator).
    """
    cdef Py_ssize_t n = len(cases), i
    cdef scase cas
    cdef bint received, selected
    for i in range(n):
        if not isinstance(cases[i], scase) or (<scase>cases[i]).c is None:
            raise TypeError(f"select: cases must be made by recv(c) or send(c, v), "
                            f"not {type(cases[i]).__name__}")
    if n != 1:
        checkpreempt_inline()    # (a one-case select is a channel operation: it checks there)
    if n == 0:
        if default:
            return (-1, None, False)
        block()
    if n == 1:
        cas = <scase>cases[0]
        if cas.kind == caseSend:
            # selectnbsend, or the plain send of a one-case select
            if chansend(cas.c, cas.elem, not default):
                return (0, None, False)
            return (-1, None, False)
        v = chanrecv(cas.c, not default, &received, &selected)
        if selected:
            return (0, v, received)
        return (-1, None, False)
    if n > 65536:
        raise ValueError("select: ncases must be <= 65536")
    r = selectgo(getrt(), cases, not default)
    if chan_tracing and r[0] >= 0:
        cas = <scase>cases[r[0]]
        trace_chan("send" if cas.kind == caseSend else "recv", cas.c,
                   True if cas.kind == caseSend else r[2])
    return r


cdef int block() except -1:
    """select {}: park forever."""
    return park_forever(waitReasonSelectNoCases)


cdef inline long long sortkey(scase cas) noexcept:
    """A channel's place in lock order. Go uses the hchan's address; ours is its creation serial,
    which orders channels the same way in both twins."""
    return cas.c.serial


cdef inline scase case_at(tuple scases, Py_ssize_t i):
    return <scase>PyTuple_GET_ITEM(scases, i)


cdef object selectgo(Runtime rt, tuple scases, bint block):
    """selectgo implements the select statement. Returns (casi, value, recvOK): casi is -1 only
    for a non-blocking select that found nothing ready."""
    cdef Py_ssize_t ncases = len(scases)
    cdef int stackorder[2 * SELECT_STACK_CASES]
    cdef int* order0 = stackorder
    if ncases > SELECT_STACK_CASES:
        order0 = <int*>malloc(2 * ncases * sizeof(int))
        if order0 == NULL:
            raise MemoryError()
    try:
        return selectgo_ordered(rt, scases, block, order0, order0 + ncases)
    finally:
        if order0 != stackorder:
            free(order0)


cdef object selectgo_ordered(Runtime rt, tuple scases, bint block, int* pollorder,
                             int* lockorder):
    cdef Py_ssize_t ncases = len(scases), i, casi, casei
    cdef int norder = 0, j
    cdef scase cas
    cdef scase k
    cdef Chan c
    cdef sudog* sg
    cdef sudog* sg1
    cdef sudog* last
    cdef sudog* sglist
    cdef sudog* sgnext
    cdef Goroutine gp
    cdef bint caseSuccess

    # selectgo: shuffle the cases into pollorder
    for i in range(ncases):
        cas = case_at(scases, i)
        # A nil channel can never be ready: leave its case out of both orders.
        if cas.c.isnil:
            continue
        chancheck(cas.c)
        if cas.c.timer is not None:
            rt.maybeRunChan(cas.c.timer)
        j = chanemu_cheaprandn(&rt.randstate, norder + 1)
        pollorder[norder] = pollorder[j]
        pollorder[j] = i
        norder += 1

    # selectgo: order the cases by channel identity into lockorder.
    heapsort_lockorder(scases, pollorder, lockorder, norder)

    # selectgo pass 1: in pollorder, find a case that can proceed right now.
    for i in range(norder):
        casi = pollorder[i]
        cas = case_at(scases, casi)
        c = cas.c
        if cas.kind == caseRecv:
            sg = dequeue(&c.sendq)
            if sg != NULL:
                # a sender is parked: take its value
                v = recv(c, sg)
                return (casi, v, True)
            if c.qcount > 0:
                # a buffered value is waiting
                v = chanbuf_take(c, c.recvx)
                c.recvx += 1
                if c.recvx == c.dataqsiz:
                    c.recvx = 0
                c.qcount -= 1
                debug_check(c)
                return (casi, v, True)
            if c.closed != 0:
                # closed and drained: zero value, not received
                return (casi, c.zero, False)
        else:
            if c.closed != 0:
                # sending to a closed channel panics
                raise Panic(E_SEND_CLOSED)
            sg = dequeue(&c.recvq)
            if sg != NULL:
                # a receiver is parked: hand it our value
                send(c, sg, cas.elem)
                return (casi, None, False)
            if c.qcount < c.dataqsiz:
                # the buffer has a free slot
                chanbuf_put(c, c.sendx, cas.elem)
                c.sendx += 1
                if c.sendx == c.dataqsiz:
                    c.sendx = 0
                c.qcount += 1
                debug_check(c)
                return (casi, None, False)

    if not block:
        return (-1, None, False)

    # selectgo pass 2: nothing ready; queue one sudog on every case's channel.
    check_current(rt)
    gp = rt.curg
    if gp.waiting != NULL:
        throw("gp.waiting != nil")
    last = NULL
    for i in range(norder):
        casei = lockorder[i]
        cas = case_at(scases, casei)
        c = cas.c
        sg = acquire_sudog(rt)
        sg.g = <PyObject*>gp
        sg.isSelect = True
        # Go must set elem and link sg into gp.waiting with no stack growth in between;
        # greenlets never move a stack, so here it is just the order Go uses.
        if cas.kind == caseSend:
            Py_INCREF(cas.elem)
            sg.elem = <PyObject*>cas.elem
        else:
            sg.elem = NULL
        Py_INCREF(c)
        sg.c = <PyObject*>c
        # gp.waiting links our sudogs in lockorder, the order pass 3 walks them.
        if last == NULL:
            gp.waiting = sg
        else:
            last.waitlink = sg
        last = sg
        if cas.kind == caseSend:
            enqueue(&c.sendq, sg)
        else:
            enqueue(&c.recvq, sg)
        if c.timer is not None:
            rt.blocktimerchan(c.timer)

    # park until one case's peer (or a close) wakes us
    gp.param = NULL
    cdef bint woken = False
    try:
        gopark(rt, waitReasonSelect)
        woken = True
    finally:
        if not woken:       # (see chansend's)
            abandon_select(rt, gp, scases, lockorder, norder)
            unblock_timers(rt, scases, lockorder, norder)
    gp.selectDone = 0
    sg = gp.param
    gp.param = NULL

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
    while sg1 != NULL:
        sg1.isSelect = False
        if sg1 == sg and sg1.elem != NULL:
            recvd = <object>sg1.elem      # the value a sender handed to our receive case
        Py_CLEAR(sg1.elem)
        Py_CLEAR(sg1.c)
        sg1 = sg1.waitlink
    gp.waiting = NULL

    for i in range(norder):
        casei = lockorder[i]
        k = case_at(scases, casei)
        if sg == sglist:
            # The winning sudog: whoever woke us already took it off its queue.
            casi = casei
            cas = k
            caseSuccess = sglist.success
        else:
            if k.kind == caseSend:
                dequeueSudoG(&k.c.sendq, sglist)
            else:
                dequeueSudoG(&k.c.recvq, sglist)
        sgnext = sglist.waitlink
        sglist.waitlink = NULL
        release_sudog(rt, sglist)
        sglist = sgnext

    unblock_timers(rt, scases, lockorder, norder)
    if cas is None:
        throw("selectgo: bad wakeup")
    if CHANEMU_DEBUG:
        for i in range(norder):
            debug_check(case_at(scases, lockorder[i]).c)

    if cas.kind == caseSend:
        if not caseSuccess:
            # send on closed channel (the channel closed while we waited)
            raise Panic(E_SEND_CLOSED)
        return (casi, None, False)
    if caseSuccess:
        return (casi, recvd, True)
    return (casi, cas.c.zero, False)


cdef int unblock_timers(Runtime rt, tuple scases, int* lockorder, int norder) except -1:
    """unblockTimerChan for every case on a timer channel (pass 2 blocked them)."""
    cdef int i
    cdef scase k
    for i in range(norder):
        k = case_at(scases, lockorder[i])
        if k.c.timer is not None:
            rt.unblocktimerchan(k.c.timer)
    return 0


cdef int abandon_select(Runtime rt, Goroutine gp, tuple scases, int* lockorder,
                        int norder) except -1:
    """An exception was thrown into a goroutine parked in select: run it again, undo pass 2."""
    unpark(rt, gp)
    cdef sudog* won = gp.param
    cdef sudog* sglist = gp.waiting
    cdef sudog* sgnext
    cdef scase k
    cdef int i
    gp.param = NULL
    gp.selectDone = 0
    gp.waiting = NULL
    for i in range(norder):
        k = case_at(scases, lockorder[i])
        if sglist != won:
            if k.kind == caseSend:
                dequeueSudoG(&k.c.sendq, sglist)
            else:
                dequeueSudoG(&k.c.recvq, sglist)
        sgnext = sglist.waitlink
        sglist.waitlink = NULL
        sglist.isSelect = False
        Py_CLEAR(sglist.elem)
        Py_CLEAR(sglist.c)
        sglist.next = sglist.prev = NULL
        release_sudog(rt, sglist)
        sglist = sgnext
    return 0


cdef void heapsort_lockorder(tuple scases, int* pollorder, int* lockorder, int norder) noexcept:
    """Sort the cases by channel (sortkey) with a heap sort, as Go does: n log n time and a
    constant footprint. The heap is fed in pollorder, so cases on one channel stay shuffled."""
    cdef int i, j, k, o
    cdef long long key
    for i in range(norder):
        j = i
        # Feed the heap from pollorder, so cases sharing a channel keep a random order.
        key = sortkey(case_at(scases, pollorder[i]))
        while j > 0 and sortkey(case_at(scases, lockorder[(j - 1) // 2])) < key:
            k = (j - 1) // 2
            lockorder[j] = lockorder[k]
            j = k
        lockorder[j] = pollorder[i]
    for i in range(norder - 1, -1, -1):
        o = lockorder[i]
        key = sortkey(case_at(scases, o))
        lockorder[i] = lockorder[0]
        j = 0
        while True:
            k = j * 2 + 1
            if k >= i:
                break
            if k + 1 < i and (sortkey(case_at(scases, lockorder[k])) <
                              sortkey(case_at(scases, lockorder[k + 1]))):
                k += 1
            if key < sortkey(case_at(scases, lockorder[k])):
                lockorder[j] = lockorder[k]
                j = k
                continue
            break
        lockorder[j] = o
