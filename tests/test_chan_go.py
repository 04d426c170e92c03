"""Go's runtime/chan_test.go, ported: TestChan, TestMultiConsumer, TestNonblockRecvRace.

Go's tests sleep a millisecond to "make sure" a goroutine has blocked; here we poll the struct with
``wait_parked`` instead, which is exact: one P, and a goroutine is either parked or it is not.
Go's ``select { case v := <-c: ... default: }`` is ``c.try_recv()``, its send form ``c.try_send(v)``.
"""
import collections

import pytest

from conftest import wait_parked

# Go's TestChan runs capacities 0..199 (0..19 with -short); so do we, it takes about a second.
CAPS = range(200)


def test_chan_recv_from_empty_blocks(ce):
    """TestChan, block 1: a receive from an empty channel blocks; a non-blocking one does not."""
    def main():
        for cap in CAPS:
            c = ce.Chan(cap, elemtype=int)
            got = []
            g1 = ce.go(lambda: got.append(("recv1", c.recv())))
            g2 = ce.go(lambda: got.append(("recv2", c.recv_ok())))
            wait_parked(ce, g1, "chan receive")
            wait_parked(ce, g2, "chan receive")
            assert got == [], f"chan[{cap}]: receive from empty chan"
            assert len(c.hchan.recvq) == 2 and c.hchan.qcount == 0
            # Non-blocking receives do not block (either form).
            assert c.try_recv() is None, f"chan[{cap}]: receive from empty chan"
            assert c.try_recv() is None, f"chan[{cap}]: receive from empty chan"
            c.send(0)
            c.send(0)
            ce.runtime.gosched()
            assert sorted(got) == [("recv1", 0), ("recv2", (0, True))], (cap, got)
            assert g1.status == g2.status == "dead"
            assert len(c) == 0 and not c.hchan.recvq
            ce.runtime.check_invariants()
        return "ok"
    assert ce.run(main) == "ok"


def test_chan_send_to_full_blocks(ce):
    """TestChan, block 2: a send to a full channel blocks; a non-blocking one does not."""
    def main():
        for cap in CAPS:
            c = ce.Chan(cap)
            for i in range(cap):
                c.send(i)
            sent = []
            # Go sends 0; a distinct value also shows where the blocked sender's value goes.
            g = ce.go(lambda: (c.send("blocked"), sent.append(1)))
            wait_parked(ce, g, "chan send")
            assert sent == [], f"chan[{cap}]: send to full chan"
            assert not c.try_send(0), f"chan[{cap}]: send to full chan"
            assert len(c.hchan.sendq) == 1 and c.hchan.qcount == cap
            v = c.recv()
            # the head of the buffer, or straight from the sender when unbuffered
            assert v == (0 if cap else "blocked"), (cap, v)
            ce.runtime.gosched()
            assert sent == [1], f"chan[{cap}]: blocked sender not released"
            assert len(c) == cap and not c.hchan.sendq
            # the sender's value went to the tail of the ring
            assert [c.recv() for _ in range(cap)] == list(range(1, cap)) + ["blocked"][:cap]
            ce.runtime.check_invariants()
        return "ok"
    assert ce.run(main) == "ok"


def test_chan_recv_zero_from_closed(ce):
    """TestChan, block 3: buffered values survive close, then receives give 0 (ok False)."""
    def main():
        for cap in CAPS:
            c = ce.Chan(cap, elemtype=int)
            for i in range(cap):
                c.send(i)
            c.close()
            for i in range(cap):
                v = c.recv()
                assert v == i, f"chan[{cap}]: received {v}, expected {i}"
            v = c.recv()
            assert v == 0 and type(v) is int, f"chan[{cap}]: received {v!r}, expected 0"
            assert c.recv_ok() == (0, False), f"chan[{cap}]: expected 0/false"
            # and again, non-blocking: a closed channel is always ready
            assert c.try_recv() == (0, False)
        return "ok"
    assert ce.run(main) == "ok"


def test_chan_close_unblocks_receive(ce):
    """TestChan, block 4: close unblocks a blocked receiver with (0, false)."""
    def main():
        for cap in CAPS:
            c = ce.Chan(cap, elemtype=int)
            done = ce.Chan()
            g = ce.go(lambda: done.send(c.recv_ok() == (0, False)))
            wait_parked(ce, g, "chan receive")
            c.close()
            assert done.recv() is True, f"chan[{cap}]: received non zero from closed chan"
        return "ok"
    assert ce.run(main) == "ok"


def test_chan_fifo_and_multiset(ce):
    """TestChan, block 5: 100 values arrive uncorrupted in FIFO order (recv and recv_ok), then
    4 senders x 4 receivers of 1000 values each: every value is received exactly P times."""
    P, L = 4, 1000

    def main():
        for cap in CAPS:
            c = ce.Chan(cap)

            def send100():
                for i in range(100):
                    c.send(i)
            ce.go(send100)
            for i in range(100):
                v = c.recv()
                assert v == i, f"chan[{cap}]: received {v}, expected {i}"

            ce.go(send100)
            for i in range(100):
                v, ok = c.recv_ok()
                assert ok, f"chan[{cap}]: receive failed, expected {i}"
                assert v == i, f"chan[{cap}]: received {v}, expected {i}"

            def sender():
                for i in range(L):
                    c.send(i)

            done = ce.Chan()

            def receiver():
                recv = collections.Counter()
                for _ in range(L):
                    recv[c.recv()] += 1
                done.send(recv)

            for _ in range(P):
                ce.go(sender)
            for _ in range(P):
                ce.go(receiver)
            recv = collections.Counter()
            for _ in range(P):
                recv.update(done.recv())
            assert len(recv) == L, f"chan[{cap}]: received {len(recv)} values, expected {L}"
            bad = {k: n for k, n in recv.items() if n != P}
            assert not bad, f"chan[{cap}]: values received != {P} times: {bad}"
            ce.runtime.check_invariants()
            assert len(c) == 0 and not c.hchan.sendq and not c.hchan.recvq
        return ce.runtime.num_goroutine()
    assert ce.run(main) == 1


def test_chan_len_cap(ce):
    """TestChan, block 6: len/cap."""
    def main():
        for cap in CAPS:
            c = ce.Chan(cap)
            assert (len(c), c.cap) == (0, cap), f"chan[{cap}]: bad len/cap"
            for i in range(cap):
                c.send(i)
            assert (len(c), c.cap) == (cap, cap), f"chan[{cap}]: bad len/cap"
            assert c.hchan.qcount == cap and c.hchan.dataqsiz == cap
        return "ok"
    assert ce.run(main) == "ok"


def test_chan_default_runtime(ce):
    """The same basics straight from the caller (goroutine 1 of the thread's default runtime)."""
    base = ce.runtime.num_goroutine()
    for cap in (0, 1, 7):
        c = ce.Chan(cap)
        g = ce.go(lambda: [c.send(i) for i in range(20)])
        assert [c.recv() for _ in range(20)] == list(range(20))
        ce.runtime.gosched()
        assert g.status == "dead"
    assert ce.runtime.num_goroutine() == base


def test_multi_consumer(ce):
    """TestMultiConsumer: 23 workers range over q and forward to r, yielding now and then to
    mess with the FIFO-ish nature of range; the count and sum of what comes out of r match.
    Go's sizes are kept (23 workers, 271828 values); sync.WaitGroup is a channel here."""
    nwork = 23
    niter = 271828
    pn = [2, 3, 7, 11, 13, 17, 19, 23, 27, 31]

    def main():
        q = ce.Chan(nwork * 3)
        r = ce.Chan(nwork * 3)
        wg = ce.Chan(nwork)

        def worker(w):
            for v in q:
                # now and then yield mid-loop, so the workers do not take values in turn
                if pn[w % len(pn)] == v:
                    ce.runtime.gosched()
                r.send(v)
            wg.send(None)

        for i in range(nwork):
            ce.go(worker, i)

        expect = 0

        def feeder():
            nonlocal expect
            for i in range(niter):
                v = pn[i % len(pn)]
                expect += v
                q.send(v)
            q.close()            # no more work
            for _ in range(nwork):
                wg.recv()        # workers done
            r.close()            # ... so there can be no more results

        ce.go(feeder)
        n = s = 0
        for v in r:
            n += 1
            s += v
        assert n == niter and s == expect, \
            f"Expected sum {expect} (got {s}) from {niter} iter (saw {n})"
        ce.runtime.check_invariants()
        return n
    assert ce.run(main) == niter


@pytest.mark.parametrize("yield_every", [0, 1, 7])
def test_nonblock_recv_race(ce, yield_every):
    """TestNonblockRecvRace: a buffered value and then close; a non-blocking receive in another
    goroutine must always find the channel ready (the value, or the closed zero), never default.
    Go's n=10000 is kept; the goroutines either pile up (yield_every=0) or run as they go."""
    n = 10000

    def main():
        failures = []
        ran = 0

        def probe(c):
            nonlocal ran
            ran += 1
            if c.try_recv() is None:
                failures.append("chan is not ready")

        for i in range(n):
            c = ce.Chan(1)
            c.send(1)
            ce.go(probe, c)
            c.close()
            c.recv()
            if yield_every and i % yield_every == 0:
                ce.runtime.gosched()
        while ce.runtime.num_goroutine() > 1:
            ce.runtime.gosched()
        assert ran == n
        assert not failures, failures[:3]
        return True
    assert ce.run(main)
