"""Go's channel benchmarks (runtime/chan_test.go) under Go's names and shapes, on chanemu.

Each function mirrors ``BenchmarkX(b)`` with ``b.N = n`` on the active twin, inside
``chanemu.run``, and returns ns per op with Go's definition of an op (so ChanUncontended is 100
sends and 100 receives, ChanPopular is 1,000 wake-ups). chanemu schedules goroutines as on one P,
so these are Go's GOMAXPROCS=1 shapes: where Go calls ``b.RunParallel``, its body runs once, on the
main goroutine (``-cpu 1`` runs one such goroutine); where Go starts GOMAXPROCS producer/consumer
pairs, one pair runs. ``select { case <-c: default: }`` is ``c.try_recv()`` and
``select { case c <- v: default: }`` is ``c.try_send(v)``: Go's compiler lowers both to the same
non-blocking chanrecv/chansend (selectnbrecv/selectnbsend).

The time is measured as ``go test`` measures it: from the start of the benchmark function to its
end, after any set-up that Go's benchmark excludes with ``b.ResetTimer``.
"""
import time

import chanemu

CALLS_PER_SCHED = 1000          # Go's CallsPerSched in benchmarkChanSync / ChanProdCons


def _run(main):
    return chanemu.run(main)


def make_chan_int(n):
    """MakeChan/Int: ``x = make(chan int, 8)``; a receive from it when closed gives 0."""
    Chan = chanemu.Chan

    def main():
        t0 = time.perf_counter_ns()
        x = None
        for _ in range(n):
            x = Chan(8, int)
        x.close()
        return time.perf_counter_ns() - t0
    return _run(main) / n


def make_chan_ptr(n):
    """MakeChan/Ptr: ``x = make(chan *byte, 8)``; chanemu's slot is one object reference, a
    pointer, and the zero value None is nil."""
    Chan = chanemu.Chan

    def main():
        t0 = time.perf_counter_ns()
        x = None
        for _ in range(n):
            x = Chan(8)
        x.close()
        return time.perf_counter_ns() - t0
    return _run(main) / n


def chan_nonblocking(n):
    """ChanNonblocking: ``select { case <-myc: default: }`` on an empty unbuffered channel."""
    def main():
        myc = chanemu.Chan()
        try_recv = myc.try_recv
        t0 = time.perf_counter_ns()
        for _ in range(n):
            try_recv()
        return time.perf_counter_ns() - t0
    return _run(main) / n


def select_uncontended(n):
    """SelectUncontended: private cap-1 channels; op = a 2-case select receive, then a send to the
    other channel."""
    select, recv = chanemu.select, chanemu.recv

    def main():
        myc1, myc2 = chanemu.Chan(1), chanemu.Chan(1)
        myc1.send(0)
        send1, send2 = myc1.send, myc2.send
        cases = (recv(myc1), recv(myc2))
        t0 = time.perf_counter_ns()
        for _ in range(n):
            if select(*cases)[0] == 0:
                send2(0)
            else:
                send1(0)
        return time.perf_counter_ns() - t0
    return _run(main) / n


def select_nonblock(n):
    """SelectNonblock: op = 4 non-blocking selects: receive from an unbuffered channel, send to
    an unbuffered one, receive from an empty cap-1 one, send to a (soon full) cap-1 one."""
    def main():
        myc1, myc2 = chanemu.Chan(), chanemu.Chan()
        myc3, myc4 = chanemu.Chan(1), chanemu.Chan(1)
        r1, s2, r3, s4 = myc1.try_recv, myc2.try_send, myc3.try_recv, myc4.try_send
        t0 = time.perf_counter_ns()
        for _ in range(n):
            r1()
            s2(0)
            r3()
            s4(0)
        return time.perf_counter_ns() - t0
    return _run(main) / n


def chan_uncontended(n):
    """ChanUncontended: a private cap-100 channel; op = 100 sends, then 100 receives."""
    C = 100

    def main():
        myc = chanemu.Chan(C)
        send, recv = myc.send, myc.recv
        r = range(C)
        t0 = time.perf_counter_ns()
        for _ in range(n):
            for _ in r:
                send(0)
            for _ in r:
                recv()
        return time.perf_counter_ns() - t0
    return _run(main) / n


def chan_sync(n):
    """ChanSync (benchmarkChanSync, work 0): 2 goroutines ping-pong on one unbuffered channel in
    blocks of 1,000 calls; op = one call, that is one hand-off (half a round trip)."""
    procs = 2
    blocks = max(procs, n // CALLS_PER_SCHED // procs * procs)

    def main():
        left = [blocks]                       # Go's atomic N (one P: a plain counter)
        c, myc = chanemu.Chan(procs), chanemu.Chan()
        send, recv = myc.send, myc.recv

        def worker():
            while True:
                left[0] -= 1
                i = left[0]
                if i < 0:
                    break
                if i % 2 == 0:
                    for _ in range(CALLS_PER_SCHED):
                        recv()
                        send(0)
                else:
                    for _ in range(CALLS_PER_SCHED):
                        send(0)
                        recv()
            c.send(True)

        t0 = time.perf_counter_ns()
        for _ in range(procs):
            chanemu.go(worker)
        for _ in range(procs):
            c.recv()
        return time.perf_counter_ns() - t0
    return _run(main) / (blocks * CALLS_PER_SCHED)


def _prod_cons(n, size):
    """benchmarkChanProdCons(b, size, 0) with GOMAXPROCS=1: one producer sending blocks of
    1,000 ones and then a 0, one consumer receiving until the 0; op = one item."""
    blocks = max(1, n // CALLS_PER_SCHED)

    def main():
        left = [blocks]
        c, myc = chanemu.Chan(2), chanemu.Chan(size)

        def producer():
            send = myc.send
            while True:
                left[0] -= 1
                if left[0] < 0:
                    break
                for _ in range(CALLS_PER_SCHED):
                    send(1)
            send(0)
            c.send(False)

        def consumer():
            recv = myc.recv
            while recv() != 0:
                pass
            c.send(False)

        t0 = time.perf_counter_ns()
        chanemu.go(producer)
        chanemu.go(consumer)
        c.recv()
        c.recv()
        return time.perf_counter_ns() - t0
    return _run(main) / (blocks * CALLS_PER_SCHED)


def chan_prod_cons0(n):
    """ChanProdCons0: producer and consumer on an unbuffered channel; op = one item."""
    return _prod_cons(n, 0)


def chan_prod_cons10(n):
    """ChanProdCons10: the same on a channel of capacity 10."""
    return _prod_cons(n, 10)


def chan_prod_cons100(n):
    """ChanProdCons100: the same on a channel of capacity 100."""
    return _prod_cons(n, 100)


def select_prod_cons(n, work=100):
    """SelectProdCons with GOMAXPROCS=1: the producer sends each item through a 3-case select
    (send on ``myc`` of capacity 128, receive from ``time.After(time.Hour)``, receive from a
    channel never closed), the consumer receives through the same 3-case select; both do Go's
    100 iterations of local work (``foo *= 2; foo /= 2``) per item. op = one item."""
    from chanemu import time as ctime
    select, recv, send = chanemu.select, chanemu.recv, chanemu.send
    blocks = max(1, n // CALLS_PER_SCHED)
    r = range(work)

    def main():
        left = [blocks]
        c, myc, myclose = chanemu.Chan(2), chanemu.Chan(128), chanemu.Chan()

        def producer():
            foo = 0
            mytimer = ctime.after(ctime.HOUR)
            cases = (send(myc, 1), recv(mytimer), recv(myclose))
            while True:
                left[0] -= 1
                if left[0] < 0:
                    break
                for _ in range(CALLS_PER_SCHED):
                    for _ in r:
                        foo *= 2
                        foo //= 2
                    select(*cases)
            myc.send(0)
            c.send(foo == 42)

        def consumer():
            foo = 0
            mytimer = ctime.after(ctime.HOUR)
            cases = (recv(myc), recv(mytimer), recv(myclose))
            while True:
                i, v, _ok = select(*cases)
                if i == 0 and v == 0:
                    break
                for _ in r:
                    foo *= 2
                    foo //= 2
            c.send(foo == 42)

        t0 = time.perf_counter_ns()
        chanemu.go(producer)
        chanemu.go(consumer)
        c.recv()
        c.recv()
        return time.perf_counter_ns() - t0
    return _run(main) / (blocks * CALLS_PER_SCHED)


def local_work_100(n):
    """Not a Go benchmark: the 100 iterations of ``foo *= 2; foo //= 2`` that SelectProdCons does
    per item on each side, timed alone (twice, as one item costs both sides' work), so you can
    see how much of the SelectProdCons row is the interpreter's arithmetic."""
    r = range(100)
    foo = 0
    t0 = time.perf_counter_ns()
    for _ in range(2 * n):
        for _ in r:
            foo *= 2
            foo //= 2
    return (time.perf_counter_ns() - t0) / n


def receive_data_from_closed_chan(n):
    """ReceiveDataFromClosedChan: drain n values of ``struct{}`` (None) from a closed buffered
    channel with ``for range ch``; the filling is excluded (Go's b.ResetTimer). op = one receive."""
    def main():
        ch = chanemu.Chan(n)
        send = ch.send
        for _ in range(n):
            send(None)
        ch.close()
        t0 = time.perf_counter_ns()
        for _ in ch:
            pass
        return time.perf_counter_ns() - t0
    return _run(main) / n


def chan_creation(n):
    """ChanCreation: ``myc := make(chan int, 1); myc <- 0; <-myc``."""
    Chan = chanemu.Chan

    def main():
        t0 = time.perf_counter_ns()
        for _ in range(n):
            myc = Chan(1, int)
            myc.send(0)
            myc.recv()
        return time.perf_counter_ns() - t0
    return _run(main) / n


def chan_sem(n):
    """ChanSem: a channel of capacity GOMAXPROCS (1) as a semaphore; op = a send and a receive."""
    def main():
        myc = chanemu.Chan(1)
        send, recv = myc.send, myc.recv
        t0 = time.perf_counter_ns()
        for _ in range(n):
            send(None)
            recv()
        return time.perf_counter_ns() - t0
    return _run(main) / n


def chan_popular(n):
    """ChanPopular: 1,000 goroutines each do n 2-case selects receiving from a shared channel c
    (never sent on) or their own d; main sends to every d in turn, n times. op = 1,000 sends,
    each waking a select that dequeues itself from c's popular recvq. The spawning is timed, as
    in Go."""
    N = 1000
    select, recv = chanemu.select, chanemu.recv

    def main():
        c = chanemu.Chan()
        done = chanemu.Chan(N)
        a = []

        def waiter(d):
            cases = (recv(c), recv(d))
            for _ in range(n):
                select(*cases)
            done.send(None)

        t0 = time.perf_counter_ns()
        for _ in range(N):
            d = chanemu.Chan()
            a.append(d.send)
            chanemu.go(waiter, d)
        for _ in range(n):
            for dsend in a:
                dsend(True)
        for _ in range(N):
            done.recv()                      # wg.Wait()
        return time.perf_counter_ns() - t0
    return _run(main) / n


def chan_closed(n):
    """ChanClosed: ``select { case <-c: default: b.Error(...) }`` on a closed channel; the
    default must never run."""
    def main():
        c = chanemu.Chan()
        c.close()
        try_recv = c.try_recv
        t0 = time.perf_counter_ns()
        for _ in range(n):
            try_recv()
        t = time.perf_counter_ns() - t0
        if try_recv() is None:
            raise AssertionError("ChanClosed: the default case ran")
        return t
    return _run(main) / n


#: (Go's name, function, calibration start n, largest n or None, what one op is), in Go's order.
BENCHMARKS = (
    ("MakeChan/Int", make_chan_int, 1000, None, "make(chan int, 8)"),
    ("MakeChan/Ptr", make_chan_ptr, 1000, None, "make(chan *byte, 8)"),
    ("ChanNonblocking", chan_nonblocking, 1000, None,
     "non-blocking receive from an empty unbuffered channel"),
    ("SelectUncontended", select_uncontended, 1000, None,
     "2-case select receive + a send, private cap-1 channels"),
    ("SelectNonblock", select_nonblock, 1000, None, "4 non-blocking selects"),
    ("ChanUncontended", chan_uncontended, 10, None, "100 sends + 100 receives, cap 100"),
    ("ChanSync", chan_sync, 4000, None, "one unbuffered hand-off between 2 goroutines"),
    ("ChanProdCons0", chan_prod_cons0, 1000, None, "one item, producer/consumer, cap 0"),
    ("ChanProdCons10", chan_prod_cons10, 1000, None, "one item, producer/consumer, cap 10"),
    ("ChanProdCons100", chan_prod_cons100, 1000, None, "one item, producer/consumer, cap 100"),
    ("SelectProdCons", select_prod_cons, 1000, None,
     "one item through 3-case selects at both ends, 2 x 100 iterations of local work"),
    ("SelectProdCons local work", local_work_100, 100, None,
     "not Go's: SelectProdCons's local work alone (2 x 100 iterations)"),
    ("ReceiveDataFromClosedChan", receive_data_from_closed_chan, 1000, 2_000_000,
     "one receive from a closed buffered channel (for range)"),
    ("ChanCreation", chan_creation, 1000, None, "make(chan int, 1), a send, a receive"),
    ("ChanSem", chan_sem, 1000, None, "a send + a receive on a cap-1 channel"),
    ("ChanPopular", chan_popular, 1, None,
     "1,000 sends, each waking a 2-case select among 1,000 on one channel"),
    ("ChanClosed", chan_closed, 1000, None, "non-blocking receive from a closed channel"),
)
BY_NAME = {b[0]: b for b in BENCHMARKS}
