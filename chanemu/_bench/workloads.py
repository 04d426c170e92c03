"""W1-W6 of bench/README.md (and W2's greenlet floor) on chanemu's active twin.

Each function runs one repetition inside ``chanemu.run`` and returns ns per operation, timed inside
the program: the clock starts just before the goroutines are spawned and stops after all are
joined. Hot loops hoist bound methods into locals, the same way for every library (peers.py).
"""
import gc
import time

import chanemu

from . import _measure


# -- the workloads (one repetition each, on the active twin) --------------------------------

def buffered_nonblocking(n):
    """W1: one goroutine, a channel of capacity 128: send(i) then recv(); ns per pair."""
    def main():
        c = chanemu.Chan(128)
        send, recv = c.send, c.recv
        t0 = time.perf_counter_ns()
        for i in range(n):
            send(i)
            recv()
        return time.perf_counter_ns() - t0
    return chanemu.run(main) / n


def pingpong_unbuffered(n):
    """W2: T1 ``a.send(i); b.recv()``, T2 ``b.send(a.recv())``; ns per round trip."""
    def main():
        a, b, done = chanemu.Chan(), chanemu.Chan(), chanemu.Chan(1)

        def t2():
            arecv, bsend = a.recv, b.send
            for _ in range(n):
                bsend(arecv())
            done.send(True)

        t0 = time.perf_counter_ns()
        chanemu.go(t2)
        asend, brecv = a.send, b.recv
        for i in range(n):
            asend(i)
            brecv()
        done.recv()
        return time.perf_counter_ns() - t0
    return chanemu.run(main) / n


def _prodcons(n, cap, producers):
    """producers goroutines each send n/producers ints into one channel of capacity cap, one
    consumer receives them all; ns per item (W3 and W6)."""
    per = max(1, n // producers)
    total = producers * per

    def main():
        c, done = chanemu.Chan(cap), chanemu.Chan(producers + 1)

        def producer():
            send = c.send
            for i in range(per):
                send(i)
            done.send(True)

        def consumer():
            recv = c.recv
            for _ in range(total):
                recv()
            done.send(True)

        t0 = time.perf_counter_ns()
        for _ in range(producers):
            chanemu.go(producer)
        chanemu.go(consumer)
        for _ in range(producers + 1):
            done.recv()
        return time.perf_counter_ns() - t0
    return chanemu.run(main) / total


def prodcons_buffered(n):
    """W3: one producer sends n ints into capacity 100, one consumer receives n; ns per item."""
    return _prodcons(n, 100, 1)


def select2(n):
    """W4: a producer alternates sends on unbuffered x and y; the consumer does n 2-way selects
    receiving from either; ns per item. Needs ``chanemu.select``."""
    select, recv = chanemu.select, chanemu.recv

    def main():
        x, y, done = chanemu.Chan(), chanemu.Chan(), chanemu.Chan(2)

        def producer():
            xsend, ysend = x.send, y.send
            for i in range(n):
                if i & 1:
                    ysend(i)
                else:
                    xsend(i)
            done.send(True)

        def consumer():
            cases = (recv(x), recv(y))
            for _ in range(n):
                select(*cases)
            done.send(True)

        t0 = time.perf_counter_ns()
        chanemu.go(producer)
        chanemu.go(consumer)
        done.recv()
        done.recv()
        return time.perf_counter_ns() - t0
    return chanemu.run(main) / n


def fanin(n):
    """W6: 8 producers each send n/8 into one channel of capacity 64, one consumer; ns per item."""
    return _prodcons(n, 64, 8)


def spawn_blocked(n, out=None):
    """W5: spawn n goroutines that each park forever sending on one unbuffered channel nobody
    reads (the article's leak); ns per spawn-and-block. Meant for a fresh process: ``out`` (a
    dict) gets ``bytes``, the growth of VmRSS over n, and ``blocked``, the length of sendq."""
    def main():
        c = chanemu.Chan()
        send = c.send
        go = chanemu.go
        gc.collect()
        rss0 = _measure.rss()
        t0 = time.perf_counter_ns()
        for i in range(n):
            go(send, i)
        chanemu.runtime.gosched()     # every goroutine runs until it parks, then main resumes
        ns = time.perf_counter_ns() - t0
        if out is not None:
            out["bytes"] = (_measure.rss() - rss0) / n if rss0 else None
            out["blocked"] = len(c.hchan.sendq)
        return ns
    return chanemu.run(main) / n


def greenlet_switch_pair(n):
    """The floor of W2: a bare pair of greenlet switches (there and back), no runtime at all."""
    import greenlet
    main = greenlet.getcurrent()

    def body():
        back = main.switch
        while True:
            back()

    there = greenlet.greenlet(body).switch
    t0 = time.perf_counter_ns()
    for _ in range(n):
        there()
    return (time.perf_counter_ns() - t0) / n


#: (id, name, function, unit) of every workload, in table order. "floor" is not a workload.
WORKLOADS = (
    ("W1", "buffered_nonblocking", buffered_nonblocking, "ns/pair"),
    ("W2", "pingpong_unbuffered", pingpong_unbuffered, "ns/round trip"),
    ("W3", "prodcons_buffered", prodcons_buffered, "ns/item"),
    ("W4", "select2", select2, "ns/item"),
    ("W5", "spawn_blocked", spawn_blocked, "ns/goroutine"),
    ("W6", "fanin", fanin, "ns/item"),
    ("floor", "greenlet_switch_pair", greenlet_switch_pair, "ns/pair"),
)
BY_ID = {w[0]: w for w in WORKLOADS}
