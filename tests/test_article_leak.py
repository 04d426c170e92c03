"""The article's leak, watched inside the struct (the story: README.md, the leak demo's tour).

The program: ``ch := make(chan int, 5)``; a receiver that returns at once because ``flag`` is false;
and a heartbeat loop that starts a goroutine sending on ``ch`` every tick. Here a heartbeat is
``go(ch.send, k)`` followed by ``runtime.gosched()`` (the tick). After five heartbeats the buffer is
full and every further sender parks in ``sendq`` for good: one more goroutine per heartbeat.

Also the buffer arithmetic of runtime/chan.go that the article walks through: the full-buffer
receive with a waiting sender (``recvx++; sendx = recvx``), the direct hand-off that bypasses the
buffer, slots cleared to the zero value (``typedmemclr``), and closechan waking everyone, LIFO.
"""
import pytest

from conftest import wait_parked

HEARTBEATS = 40


def leaky_program(ce, fixed=None):
    """The article's main, one heartbeat at a time. fixed: None (the leak), "noflag" (don't send
    when flag is false) or "drain" (the receiver drains the channel)."""
    ch = ce.Chan(5)
    flag = fixed == "drain"

    def receiver():
        if not flag:
            return            # no exporter configured: nothing will ever receive
        for _ in ch:
            pass

    ce.go(receiver)
    ce.runtime.gosched()

    def heartbeat(k):
        if fixed == "noflag":
            if flag:
                ce.go(ch.send, k)
                return "sent"
            ce.go(lambda: None)     # the heartbeat goroutine still runs, it just doesn't send
            return None
        return ce.go(ch.send, k)
    return ch, heartbeat


def test_leak_at_struct_level(ce):
    def main():
        ch, heartbeat = leaky_program(ce)
        base = ce.runtime.num_goroutine()
        senders = []
        counts = []
        for k in range(1, HEARTBEATS + 1):
            senders.append(heartbeat(k))
            ce.runtime.gosched()
            h = ch.hchan
            counts.append(ce.runtime.num_goroutine())
            assert h.dataqsiz == 5
            assert h.qcount == min(k, 5), (k, h.qcount)
            assert len(h.recvq) == 0
            assert len(h.sendq) == max(0, k - 5), (k, len(h.sendq))
            assert ce.runtime.num_goroutine() == base + max(0, k - 5)
            if k > 5:
                # the newest sender is parked at the tail of sendq, its value in its sudog
                last = h.sendq[-1]
                assert last.g is senders[-1]
                assert last.elem == k
                assert last.c is ch
                assert not last.is_select
                assert senders[-1].status == "waiting"
                assert senders[-1].wait_reason == "chan send"
                assert senders[-1].waiting_on == (ch,)
            ce.runtime.check_invariants()
        # past the buffer, the count grows by exactly one per heartbeat
        assert [b - a for a, b in zip(counts[4:], counts[5:])] == [1] * (HEARTBEATS - 5)
        h = ch.hchan
        assert h.qcount == h.dataqsiz == 5
        assert h.buf == (1, 2, 3, 4, 5)
        assert h.sendx == h.recvx == 0
        q = list(h.sendq)
        assert [sg.g for sg in q] == senders[5:], "sudog.g must be the blocked goroutines, FIFO"
        assert [sg.elem for sg in q] == list(range(6, HEARTBEATS + 1))
        assert all(sg.g.wait_reason == "chan send" for sg in q)
        # the first five senders delivered into the buffer and are gone
        assert all(g.status == "dead" for g in senders[:5])
        # the snapshot agrees with the live view
        snap = ce.inspect(ch)
        assert snap.qcount == 5 and len(snap.sendq) == HEARTBEATS - 5
        assert [s.goid for s in snap.sendq] == [g.goid for g in senders[5:]]
        assert [s.elem for s in snap.sendq] == list(range(6, HEARTBEATS + 1))
        d = snap.to_dict()
        assert d["qcount"] == 5 and len(d["sendq"]) == HEARTBEATS - 5
        assert d["sendq"][0]["g"] == senders[5].goid
        # memstats sees a sudog per parked sender
        ms = ce.runtime.memstats()
        assert ms["goroutines"] == ce.runtime.num_goroutine()
        assert ms["sudogs_in_use"] == HEARTBEATS - 5
        dump = ce.runtime.stack()
        assert dump.count("[chan send") == HEARTBEATS - 5
        return True
    assert ce.run(main)


@pytest.mark.parametrize("fixed", ["noflag", "drain"])
def test_fixed_program_stays_flat(ce, fixed):
    def main():
        ch, heartbeat = leaky_program(ce, fixed)
        ce.runtime.gosched()
        base = ce.runtime.num_goroutine()
        for k in range(1, HEARTBEATS + 1):
            heartbeat(k)
            ce.runtime.gosched()
            assert ce.runtime.num_goroutine() == base, (k, ce.runtime.num_goroutine())
            assert len(ch.hchan.sendq) == 0
            assert ch.hchan.qcount == 0
        ce.runtime.check_invariants()
        assert ce.runtime.memstats()["sudogs_in_use"] == (1 if fixed == "drain" else 0)
        return base
    # noflag: main and nothing else (the receiver returned); drain: main and the receiver
    assert ce.run(main) == (1 if fixed == "noflag" else 2)


def test_leak_then_receive_unwinds(ce):
    """Once someone receives, the leaked senders leave one by one, in FIFO order, each through
    the full-buffer path: the buffer keeps 5 values until the queue is empty."""
    def main():
        ch, heartbeat = leaky_program(ce)
        base = ce.runtime.num_goroutine()
        for k in range(1, 13):
            heartbeat(k)
            ce.runtime.gosched()
        got = []
        for i in range(12):
            got.append(ch.recv())
            ce.runtime.gosched()
            pending = max(0, 12 - 5 - (i + 1))
            assert len(ch.hchan.sendq) == pending
            assert ch.hchan.qcount == min(5, 12 - (i + 1))
            assert ce.runtime.num_goroutine() == base + pending
            ce.runtime.check_invariants()
        assert got == list(range(1, 13))
        return True
    assert ce.run(main)


def test_full_buffer_receive_with_waiting_sender(ce):
    """chanrecv -> recv on a full buffer with a blocked sender: take the head (recvx), put the
    sender's value in the same slot, which is now the tail: recvx++, sendx = recvx, qcount
    unchanged. Checked at every position of the ring."""
    def main():
        n = 4
        ch = ce.Chan(n, elemtype=int)
        # move the ring's indices round so the wrap-around is exercised too
        for start in range(n + 2):
            for i in range(n):
                ch.send(100 * start + i)
            h = ch.hchan
            r0 = h.recvx
            assert h.qcount == n and h.sendx == r0
            g = ce.go(ch.send, -start - 1)
            wait_parked(ce, g, "chan send")
            assert len(ch.hchan.sendq) == 1 and ch.hchan.sendq[0].elem == -start - 1
            v = ch.recv()
            assert v == 100 * start          # the head
            h = ch.hchan
            assert h.qcount == n              # unchanged: one out, the sender's one in
            assert h.recvx == (r0 + 1) % n
            assert h.sendx == h.recvx
            assert h.buf[r0] == -start - 1    # the sender's value, at the tail of the ring
            assert len(h.sendq) == 0
            assert g.status == "runnable"     # readied, not yet run
            ce.runtime.gosched()
            assert g.status == "dead"
            rest = [ch.recv() for _ in range(n)]
            assert rest == [100 * start + i for i in range(1, n)] + [-start - 1]
            assert ch.hchan.buf == (0,) * n   # every received slot cleared
            ce.runtime.check_invariants()
        return True
    assert ce.run(main)


def test_direct_handoff_leaves_indices(ce):
    """A send to a channel with a waiting receiver copies straight to it: the buffer, qcount,
    sendx and recvx are not touched, even for a buffered channel."""
    def main():
        ch = ce.Chan(3, elemtype=int)
        for v in (1, 2):
            ch.send(v)
            assert ch.recv() == v
        h = ch.hchan
        assert (h.sendx, h.recvx, h.qcount) == (2, 2, 0)
        before = h.buf
        got = []
        g = ce.go(lambda: got.append(ch.recv()))
        wait_parked(ce, g, "chan receive")
        assert len(ch.hchan.recvq) == 1 and ch.hchan.recvq[0].g is g
        assert ch.hchan.recvq[0].elem is None
        ch.send(42)
        h = ch.hchan
        assert (h.sendx, h.recvx, h.qcount) == (2, 2, 0)
        assert h.buf == before == (0, 0, 0)
        assert len(h.recvq) == 0
        ce.runtime.gosched()
        assert got == [42]
        # and for the unbuffered channel: a blocked sender, then a receive
        u = ce.Chan()
        g = ce.go(u.send, "direct")
        wait_parked(ce, g, "chan send")
        assert u.hchan.sendq[0].elem == "direct"
        assert u.recv() == "direct"
        h = u.hchan
        assert (h.sendx, h.recvx, h.qcount, h.buf) == (0, 0, 0, ())
        return True
    assert ce.run(main)


@pytest.mark.parametrize("elemtype,zero", [(int, 0), (None, None), (str, ""), (float, 0.0)])
def test_received_slots_cleared(ce, elemtype, zero):
    """typedmemclr: a slot is reset to the zero value as it is received, so the buffer holds no
    reference to a value that has left it."""
    def main():
        ch = ce.Chan(3, elemtype=elemtype)
        assert ch.hchan.buf == (zero,) * 3
        a, b, c = object(), object(), object()
        ch.send(a)
        ch.send(b)
        assert ch.hchan.buf == (a, b, zero)
        assert ch.recv() is a
        assert ch.hchan.buf == (zero, b, zero)
        ch.send(c)
        ch.send(a)            # wraps to slot 0
        assert ch.hchan.buf == (a, b, c)
        assert (ch.hchan.sendx, ch.hchan.recvx) == (1, 1)
        assert [ch.recv() for _ in range(3)] == [b, c, a]
        assert ch.hchan.buf == (zero,) * 3
        ch.close()
        v, ok = ch.recv_ok()
        assert not ok and v == zero and type(v) is type(zero)
        return True
    assert ce.run(main)


def test_close_wakes_receivers_lifo(ce):
    """closechan readies every blocked receiver with (zero, False). It collects them in a gList
    (a stack) and readies them last-in first-out, each into runnext: so the first in recvq runs
    first, then the rest in reverse queue order. Go 1.26, GOMAXPROCS=1, prints
    [main R1false R4false R3false R2false] for this program."""
    def main():
        c = ce.Chan(elemtype=int)
        order = []
        gs = []
        for name in ("R1", "R2", "R3", "R4"):
            def r(name=name):
                v, ok = c.recv_ok()
                order.append((name, v, ok))
            gs.append(ce.go(r))
            ce.runtime.gosched()
        assert [sg.g for sg in c.hchan.recvq] == gs
        c.close()
        assert len(c.hchan.recvq) == 0 and c.hchan.closed == 1
        assert all(g.status == "runnable" for g in gs)
        order.append("main")
        ce.runtime.gosched()
        assert order == ["main", ("R1", 0, False), ("R4", 0, False), ("R3", 0, False),
                         ("R2", 0, False)]
        return True
    assert ce.run(main)


def test_close_wakes_senders_lifo(ce):
    """Blocked senders all panic "send on closed channel", in the same LIFO order; the values
    buffered before the close stay receivable. Go prints [S1 S3 S2] 10 20."""
    def main():
        d = ce.Chan(2, elemtype=int)
        d.send(10)
        d.send(20)
        order = []
        gs = []
        for name in ("S1", "S2", "S3"):
            def s(name=name):
                try:
                    d.send(1)
                except ce.Panic as e:
                    order.append((name, str(e)))
            gs.append(ce.go(s))
            ce.runtime.gosched()
        assert [sg.g for sg in d.hchan.sendq] == gs
        assert [sg.elem for sg in d.hchan.sendq] == [1, 1, 1]
        d.close()
        assert len(d.hchan.sendq) == 0
        ce.runtime.gosched()
        msg = "send on closed channel"
        assert order == [("S1", msg), ("S3", msg), ("S2", msg)]
        # the senders' values were dropped, the buffered ones were not
        assert d.hchan.buf == (10, 20) and d.hchan.qcount == 2
        assert d.recv_ok() == (10, True)
        assert d.recv_ok() == (20, True)
        assert d.recv_ok() == (0, False)
        assert ce.runtime.num_goroutine() == 1
        return True
    assert ce.run(main)


def test_close_with_buffered_values_and_receivers_later(ce):
    """Receivers that come after close drain the buffer first, then get zero values."""
    def main():
        c = ce.Chan(3)
        for v in "abc":
            c.send(v)
        c.close()
        got = []
        for _ in range(5):
            ce.go(lambda: got.append(c.recv_ok()))
        ce.runtime.gosched()
        # whichever runs first takes the head
        assert got == [("a", True), ("b", True), ("c", True), (None, False), (None, False)]
        assert list(c) == []
        return True
    assert ce.run(main)
