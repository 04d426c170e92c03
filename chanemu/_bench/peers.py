"""W1-W6 on the Python peers: gevent, asyncio, trio, anyio and OS threads with queue.Queue.

The same shapes as workloads.py, with each library's own channel or queue and its own tasks, and
the same rules: the clock starts just before the tasks are spawned and stops after all are joined
(for the async libraries, inside the event loop), and hot loops hoist bound methods into locals.
Each function returns ns per operation; the W5 functions fill ``out`` with ``ns``, ``bytes``
(VmRSS growth over n) and ``blocked`` (how many tasks are parked), and leave through ``_finish``
(see ``run_w5``).

What stands for Go's channel (a peer without an unbuffered channel uses capacity 1, as the
workload table in bench/README.md says; none of them has a select, so W4 is skipped):

  gevent   gevent.queue.Queue(cap) for W1/W3/W6, gevent.queue.Channel() (a rendezvous) for W2/W5
  asyncio  asyncio.Queue(cap); Queue(1) for W2 and W5 (Queue(0) is unbounded)
  trio     trio.open_memory_channel(cap), 0 for W2 and W5
  anyio    anyio.create_memory_object_stream(cap), 0 for W2 and W5 (asyncio backend)
  threads  queue.Queue(cap) between OS threads; Queue(1) for W2 and W5; W5 with 10,000 threads
  runloom  runloom.Chan(cap) between fibers on one hub (runloom.run(1, main)); W4 with its select
           (it has one); it builds on CPython 3.13 here, so it is measured where it installs
"""
import functools
import time

from . import _measure

NO_SELECT = "this library has no select"

#: (peer name, module to import, what it uses), in table order.
PEERS = (
    ("gevent", "gevent", "gevent.queue.Queue / Channel"),
    ("asyncio", "asyncio", "asyncio.Queue (W2, W5: maxsize 1)"),
    ("trio", "trio", "trio memory channels"),
    ("anyio", "anyio", "anyio memory object streams (asyncio backend)"),
    ("threads", "queue", "threading + queue.Queue (W2, W5: maxsize 1; W5: 10,000 threads)"),
    ("runloom", "runloom", "runloom.Chan between fibers on one hub (its own C stacks)"),
)
NAMES = [p[0] for p in PEERS]
W5_N = {"threads": 10_000}          # tasks in W5 where the default 100,000 is too many


def version(peer):
    import importlib
    import platform
    if peer in ("asyncio", "threads"):
        return f"Python {platform.python_version()}"
    from importlib.metadata import PackageNotFoundError, version as dist_version
    try:
        return f"{peer} {dist_version(peer)}"
    except PackageNotFoundError:
        return f"{peer} {getattr(importlib.import_module(peer), '__version__', '?')}"


def missing(peer):
    """None if the peer can run, else why not."""
    import importlib
    mod = dict((p[0], p[1]) for p in PEERS)[peer]
    try:
        importlib.import_module(mod)
    except ImportError as e:
        if peer == "runloom":
            return f"not installed ({e.name or e}); pip install runloom (it builds on 3.13)"
        return f"not installed ({e.name or e}); pip install 'chanemu[bench]'"
    return None


def _clock():
    return time.perf_counter_ns()


# -- gevent -----------------------------------------------------------------------------------

def gevent_w1(n):
    from gevent.queue import Queue
    q = Queue(128)
    put, get = q.put, q.get
    t0 = _clock()
    for i in range(n):
        put(i)
        get()
    return (_clock() - t0) / n


def gevent_w2(n):
    import gevent
    from gevent.queue import Channel
    a, b = Channel(), Channel()

    def t2():
        aget, bput = a.get, b.put
        for _ in range(n):
            bput(aget())

    t0 = _clock()
    g = gevent.spawn(t2)
    aput, bget = a.put, b.get
    for i in range(n):
        aput(i)
        bget()
    g.join()
    return (_clock() - t0) / n


def gevent_w3(n):
    import gevent
    from gevent.queue import Queue
    q = Queue(100)

    def producer():
        put = q.put
        for i in range(n):
            put(i)

    def consumer():
        get = q.get
        for _ in range(n):
            get()

    t0 = _clock()
    gevent.joinall([gevent.spawn(producer), gevent.spawn(consumer)])
    return (_clock() - t0) / n


def gevent_w6(n):
    import gevent
    from gevent.queue import Queue
    per = max(1, n // 8)
    q = Queue(64)

    def producer():
        put = q.put
        for i in range(per):
            put(i)

    def consumer():
        get = q.get
        for _ in range(8 * per):
            get()

    t0 = _clock()
    gevent.joinall([gevent.spawn(producer) for _ in range(8)] + [gevent.spawn(consumer)])
    return (_clock() - t0) / (8 * per)


def gevent_w5(n, out):
    import gc
    import gevent
    from gevent.queue import Channel
    ch = Channel()
    spawn, put = gevent.spawn, ch.put
    gc.collect()
    rss0 = _measure.rss()
    t0 = _clock()
    for i in range(n):
        spawn(put, i)
    while len(ch.putters) < n:
        gevent.sleep(0)
    ns = _clock() - t0
    out["bytes"] = (_measure.rss() - rss0) / n if rss0 else None
    out["blocked"] = len(ch.putters)
    try:
        _finish(out, ns / n)
    finally:                                 # without a FINISH hook: let them all end
        for _ in range(n):
            ch.get()


# -- asyncio ----------------------------------------------------------------------------------

def _asyncio_run(coro):
    import asyncio
    return asyncio.run(coro)


def asyncio_w1(n):
    import asyncio

    async def main():
        q = asyncio.Queue(128)
        put, get = q.put, q.get
        t0 = _clock()
        for i in range(n):
            await put(i)
            await get()
        return _clock() - t0
    return _asyncio_run(main()) / n


def asyncio_w2(n):
    import asyncio

    async def main():
        a, b = asyncio.Queue(1), asyncio.Queue(1)

        async def t2():
            aget, bput = a.get, b.put
            for _ in range(n):
                await bput(await aget())

        t0 = _clock()
        task = asyncio.create_task(t2())
        aput, bget = a.put, b.get
        for i in range(n):
            await aput(i)
            await bget()
        await task
        return _clock() - t0
    return _asyncio_run(main()) / n


def asyncio_w3(n):
    import asyncio

    async def main():
        q = asyncio.Queue(100)

        async def producer():
            put = q.put
            for i in range(n):
                await put(i)

        async def consumer():
            get = q.get
            for _ in range(n):
                await get()

        t0 = _clock()
        await asyncio.gather(producer(), consumer())
        return _clock() - t0
    return _asyncio_run(main()) / n


def asyncio_w6(n):
    import asyncio
    per = max(1, n // 8)

    async def main():
        q = asyncio.Queue(64)

        async def producer():
            put = q.put
            for i in range(per):
                await put(i)

        async def consumer():
            get = q.get
            for _ in range(8 * per):
                await get()

        t0 = _clock()
        await asyncio.gather(*[producer() for _ in range(8)], consumer())
        return _clock() - t0
    return _asyncio_run(main()) / (8 * per)


def asyncio_w5(n, out):
    import asyncio
    import gc

    async def main():
        q = asyncio.Queue(1)          # no rendezvous in asyncio: the first put fills the slot
        create_task, put = asyncio.create_task, q.put
        tasks = []                    # the loop holds tasks weakly
        gc.collect()
        rss0 = _measure.rss()
        t0 = _clock()
        for i in range(n):
            tasks.append(create_task(put(i)))
        while len(q._putters) < n - 1:
            await asyncio.sleep(0)
        ns = _clock() - t0
        out["bytes"] = (_measure.rss() - rss0) / n if rss0 else None
        out["blocked"] = len(q._putters) + 1        # the one in the slot is parked in spirit
        _finish(out, ns / n)
    _asyncio_run(main())


# -- trio and anyio: one shape for both ------------------------------------------------------
# Both give a memory channel as a (send side, receive side) pair with .send/.receive/.statistics,
# tasks started in a task group (trio's nursery), run(main) and sleep(0); only the names differ.

def _structured(peer):
    """(open a memory channel of capacity cap, open a task group, run, sleep) for trio or anyio
    (anyio on its default asyncio backend)."""
    if peer == "trio":
        import trio
        return trio.open_memory_channel, trio.open_nursery, trio.run, trio.sleep
    import anyio
    return anyio.create_memory_object_stream, anyio.create_task_group, anyio.run, anyio.sleep


def _structured_w1(peer, n):
    channel, _group, run, _sleep = _structured(peer)

    async def main():
        s, r = channel(128)
        send, receive = s.send, r.receive
        t0 = _clock()
        for i in range(n):
            await send(i)
            await receive()
        return _clock() - t0
    return run(main) / n


def _structured_w2(peer, n):
    channel, group, run, _sleep = _structured(peer)

    async def main():
        a_s, a_r = channel(0)
        b_s, b_r = channel(0)

        async def t2():
            areceive, bsend = a_r.receive, b_s.send
            for _ in range(n):
                await bsend(await areceive())

        t0 = _clock()
        async with group() as tg:
            tg.start_soon(t2)
            asend, breceive = a_s.send, b_r.receive
            for i in range(n):
                await asend(i)
                await breceive()
        return _clock() - t0
    return run(main) / n


def _structured_pc(peer, n, cap, producers):
    """W3 (1 producer, capacity 100) and W6 (8 producers, capacity 64): ns per item."""
    channel, group, run, _sleep = _structured(peer)
    per = max(1, n // producers)

    async def main():
        s, r = channel(cap)

        async def producer():
            send = s.send
            for i in range(per):
                await send(i)

        async def consumer():
            receive = r.receive
            for _ in range(producers * per):
                await receive()

        t0 = _clock()
        async with group() as tg:
            for _ in range(producers):
                tg.start_soon(producer)
            tg.start_soon(consumer)
        return _clock() - t0
    return run(main) / (producers * per)


def _structured_w5(peer, n, out):
    import gc
    channel, group, run, sleep = _structured(peer)

    async def main():
        s, _r = channel(0)
        async with group() as tg:
            start_soon, send, stats = tg.start_soon, s.send, s.statistics
            gc.collect()
            rss0 = _measure.rss()
            t0 = _clock()
            for i in range(n):
                start_soon(send, i)
            while stats().tasks_waiting_send < n:
                await sleep(0)
            ns = _clock() - t0
            out["bytes"] = (_measure.rss() - rss0) / n if rss0 else None
            out["blocked"] = stats().tasks_waiting_send
            _finish(out, ns / n)
    run(main)


def _structured_funcs(peer):
    """The W1-W6 functions of trio or anyio, as FUNCS lists them."""
    return {"W1": functools.partial(_structured_w1, peer),
            "W2": functools.partial(_structured_w2, peer),
            "W3": functools.partial(_structured_pc, peer, cap=100, producers=1),
            "W5": functools.partial(_structured_w5, peer),
            "W6": functools.partial(_structured_pc, peer, cap=64, producers=8)}


# -- OS threads and queue.Queue ---------------------------------------------------------------

def threads_w1(n):
    import queue
    q = queue.Queue(128)
    put, get = q.put, q.get
    t0 = _clock()
    for i in range(n):
        put(i)
        get()
    return (_clock() - t0) / n


def threads_w2(n):
    import queue
    import threading
    a, b = queue.Queue(1), queue.Queue(1)

    def t2():
        aget, bput = a.get, b.put
        for _ in range(n):
            bput(aget())

    t0 = _clock()
    t = threading.Thread(target=t2)
    t.start()
    aput, bget = a.put, b.get
    for i in range(n):
        aput(i)
        bget()
    t.join()
    return (_clock() - t0) / n


def _threads_pc(n, cap, producers):
    import queue
    import threading
    per = max(1, n // producers)
    q = queue.Queue(cap)

    def producer():
        put = q.put
        for i in range(per):
            put(i)

    def consumer():
        get = q.get
        for _ in range(producers * per):
            get()

    t0 = _clock()
    ts = [threading.Thread(target=producer) for _ in range(producers)]
    ts.append(threading.Thread(target=consumer))
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return (_clock() - t0) / (producers * per)


def threads_w3(n):
    return _threads_pc(n, 100, 1)


def threads_w6(n):
    return _threads_pc(n, 64, 8)


def threads_w5(n, out):
    import gc
    import queue
    import threading
    q = queue.Queue(1)
    put, waiters = q.put, q.not_full._waiters
    gc.collect()
    rss0 = _measure.rss()
    t0 = _clock()
    for i in range(n):
        threading.Thread(target=put, args=(i,), daemon=True).start()
    while len(waiters) < n - 1:
        time.sleep(0.0005)
    ns = _clock() - t0
    out["bytes"] = (_measure.rss() - rss0) / n if rss0 else None
    out["blocked"] = len(waiters) + 1
    try:
        _finish(out, ns / n)
    finally:                                 # without a FINISH hook: let them all end
        for _ in range(n):
            q.get()


# -- runloom ----------------------------------------------------------------------------------
# Fibers with C stacks of their own and an assembly switch: the peer of chanemu's stack backend.
# Each workload runs as runloom.run(1, main): one hub, the shape of Go with GOMAXPROCS=1.

def _runloom_main(body):
    """Run body() as the root fiber of a one-hub runloom program; returns what it returned."""
    import runloom
    res = {}

    def main():
        res["v"] = body()
    runloom.run(1, main)
    return res["v"]


def runloom_w1(n):
    import runloom

    def body():
        c = runloom.Chan(128)
        send, recv = c.send, c.recv
        t0 = _clock()
        for i in range(n):
            send(i)
            recv()
        return _clock() - t0
    return _runloom_main(body) / n


def runloom_w2(n):
    import runloom

    def body():
        a, b = runloom.Chan(0), runloom.Chan(0)

        def t2():
            arecv, bsend = a.recv, b.send
            for _ in range(n):
                bsend(arecv())

        t0 = _clock()
        runloom.fiber(t2)
        asend, brecv = a.send, b.recv
        for i in range(n):
            asend(i)
            brecv()
        return _clock() - t0
    return _runloom_main(body) / n


def _runloom_pc(n, cap, producers):
    import runloom
    per = max(1, n // producers)

    def body():
        c, done = runloom.Chan(cap), runloom.Chan(0)

        def producer():
            send = c.send
            for i in range(per):
                send(i)

        def consumer():
            recv = c.recv
            for _ in range(producers * per):
                recv()
            done.send(None)

        t0 = _clock()
        for _ in range(producers):
            runloom.fiber(producer)
        runloom.fiber(consumer)
        done.recv()
        return _clock() - t0
    return _runloom_main(body) / (producers * per)


def runloom_w3(n):
    return _runloom_pc(n, 100, 1)


def runloom_w6(n):
    return _runloom_pc(n, 64, 8)


def runloom_w4(n):
    import runloom

    def body():
        x, y = runloom.Chan(0), runloom.Chan(0)

        def producer():
            xs, ys = x.send, y.send
            for i in range(0, n - 1, 2):
                xs(i)
                ys(i)
            if n % 2:
                xs(n)

        t0 = _clock()
        runloom.fiber(producer)
        select, cases = runloom.select, [("recv", x), ("recv", y)]
        for _ in range(n):
            select(cases)
        return _clock() - t0
    return _runloom_main(body) / n


def runloom_w5(n, out):
    import gc
    import runloom

    def body():
        ch = runloom.Chan(0)
        started = [0]

        def sender(i):
            started[0] += 1
            ch.send(i)

        fiber, yield_ = runloom.fiber, runloom.yield_
        gc.collect()
        rss0 = _measure.rss()
        t0 = _clock()
        for i in range(n):
            fiber(sender, i)
        while started[0] < n:            # one hub, FIFO: each started sender is parked by the
            yield_()                     # time every one has started and the root runs again
        yield_()
        ns = _clock() - t0
        out["bytes"] = (_measure.rss() - rss0) / n if rss0 else None
        out["blocked"] = started[0]
        try:
            _finish(out, ns / n)
        except _Exit:                    # without a FINISH hook: let them all end, then leave
            for _ in range(n):           # through _Exit from outside runloom (which would
                ch.recv()                # report an exception escaping a fiber)
            return _Exit
    if _runloom_main(body) is _Exit:
        raise _Exit()


class _Exit(BaseException):
    """Carries W5's result out of the library's scheduler when no finish hook is set."""


#: Called with W5's ``out`` while every task is still parked. The fresh W5 process sets it to print
#: the result and leave at once (os._exit), rather than wait for 100,000 tasks to be cancelled or
#: threads to be joined; unset (the smoke test), W5 leaves through _Exit and the library cleans up.
FINISH = None


def _finish(out, ns):
    out["ns"] = ns
    if FINISH is not None:
        FINISH(out)
    raise _Exit()


def run_w5(peer, n, out):
    """W5 for a peer in this (fresh) process; out gets ns, bytes and blocked. Returns ns."""
    try:
        FUNCS[peer]["W5"](n, out)
    except BaseException as e:               # task groups wrap _Exit in an ExceptionGroup
        if not all(isinstance(x, _Exit) for x in _leaves(e)):
            raise
    return out["ns"]


def _leaves(e):
    """The exceptions inside an ExceptionGroup (task groups wrap _Exit in one)."""
    subs = getattr(e, "exceptions", None)
    if not subs:
        return [e]
    return [x for s in subs for x in _leaves(s)]


#: peer -> workload id -> function (W5 functions take (n, out)); W4 is missing everywhere.
FUNCS = {
    "gevent": {"W1": gevent_w1, "W2": gevent_w2, "W3": gevent_w3, "W5": gevent_w5,
               "W6": gevent_w6},
    "asyncio": {"W1": asyncio_w1, "W2": asyncio_w2, "W3": asyncio_w3, "W5": asyncio_w5,
                "W6": asyncio_w6},
    "trio": _structured_funcs("trio"),
    "anyio": _structured_funcs("anyio"),
    "threads": {"W1": threads_w1, "W2": threads_w2, "W3": threads_w3, "W5": threads_w5,
                "W6": threads_w6},
    "runloom": {"W1": runloom_w1, "W2": runloom_w2, "W3": runloom_w3, "W4": runloom_w4,
                "W5": runloom_w5, "W6": runloom_w6},
}
