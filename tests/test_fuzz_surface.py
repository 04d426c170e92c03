"""A fuzzer of the object surface: random calls on everything a program can reach.

Hypothesis draws a list of operations; each picks an object from a pool (channels of every kind,
select cases, goroutine handles, the runtime, hchan/waitq/sudog views, timers, contexts, sync
objects, objects of an ended program and of another thread) and calls one of its methods or
dunders with arguments drawn from the pool and a few plain values, directly or from a new
goroutine. Values whose __del__ and weakref callbacks make calls of their own are sent along.
The program runs on the virtual clock (a blocking call either completes or the program
deadlocks), on both twins: they must agree, operation by operation, on what raised. Anything
else that goes wrong here is a crash of the interpreter, which the ASan and UBSan builds of CI
turn into a report.
"""
import copy
import os
import pickle
import threading
import traceback
import weakref

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import chanemu
import chanemu.context
import chanemu.sync
import chanemu.time

EXAMPLES = int(os.environ.get("CHANEMU_FUZZ_EXAMPLES", "5000"))

PLAIN = (None, 0, 1, -1, 2, 1 << 70, "x", 1.5, True, b"", (), 0.001)

NAMES = {
    "Chan": ("send", "recv", "recv_ok", "try_send", "try_recv", "close", "cap", "hchan",
             "__len__", "__iter__", "__init__", "__repr__", "owner", "serial", "timer",
             "send_only", "recv_only"),
    "case": ("__init__", "__repr__", "c", "elem"),
    "Goroutine": ("status", "wait_reason", "wait_since", "waiting_obj", "parent_goid",
                  "start_function", "start_args", "runtime", "creation_site", "created_by",
                  "waiting_on", "frame", "stack", "current", "__repr__", "__init__", "goid"),
    "Runtime": ("goroutines", "num_goroutine", "nanotime", "sudogs_cached", "check_invariants",
                "runq_snapshot", "run_safepoints", "newtimer", "stoptimer", "__init__",
                "dead", "is_run", "clock", "thread_serial", "sudogs_allocated"),
    "view": ("qcount", "dataqsiz", "buf", "elemsize", "closed", "sendx", "recvx", "recvq",
             "sendq", "__repr__", "__len__", "__getitem__", "__iter__", "g", "elem",
             "is_select", "success", "c", "releasetime"),
    "ctx": ("done", "err", "value", "deadline", "__repr__"),
    "timer": ("c", "stop", "reset"),
    "sync": ("lock", "unlock", "try_lock", "rlock", "runlock", "try_rlock", "add", "done",
             "wait", "do", "signal", "broadcast", "locked"),
    "callable": ("__call__",),
}
# what a Bomb's __del__ calls: reads only
BOMB_NAMES = ("__repr__", "hchan", "cap", "__len__", "status", "waiting_on", "dir", "hash")
# what any object gets too: the dunders and builtins every object answers
COMMON = ("__new__", "copy", "pickle", "weakref", "hash", "eq", "bool", "iter_next", "dir",
          "sizeof", "ready", "select2", "select_default", "go")


ENDS = []      # how each program that ended early ended (for a failure's message)
RUNS = []      # one entry per example run


class Bomb:
    """A value whose __del__ makes a call of its own (on a pooled object) when it is dropped:
    from a receive, a close, the program's end, or the collector."""
    fired = []

    def __init__(self, target, name, args):
        self.call = (target, name, args)
        self.rt = chanemu._impl.current_runtime()
        self.own = chanemu.Chan(1)

    def __del__(self):
        target, name, args = self.call
        if self.rt.dead or chanemu._impl.current_runtime() is not self.rt:
            return      # collected after its program ended: not another program's business
        try:
            call(target, name, args, [])
            self.own.try_send(self)
            Bomb.fired.append("ok")
        except BaseException as e:      # noqa: B036  (anything: from __del__ it is only noise)
            Bomb.fired.append(type(e).__name__)


def kind_of(ce, obj):
    impl = ce._impl
    if isinstance(obj, impl.Chan):
        return "Chan"
    if isinstance(obj, (impl.SendCase, impl.RecvCase)):
        return "case"
    if isinstance(obj, impl.Goroutine):
        return "Goroutine"
    if isinstance(obj, impl.Runtime):
        return "Runtime"
    if type(obj).__module__ == "chanemu._views":
        return "view"
    if isinstance(obj, chanemu.context.Context):
        return "ctx"
    if isinstance(obj, (chanemu.time.Timer, chanemu.time.Ticker)):
        return "timer"
    if type(obj).__module__ == "chanemu.sync":
        return "sync"
    if callable(obj) and not isinstance(obj, type):
        return "callable"
    return None


def quietly(f, *args):
    """f(*args) from a weakref callback: what it raises is only noise there."""
    try:
        f(*args)
    except BaseException:      # noqa: B036
        pass


def call(obj, name, args, pool):
    """obj.name(*args), or the builtin the name stands for; returns the result."""
    ce = chanemu
    if name == "__new__":
        return type(obj).__new__(type(obj), *args)
    if name == "copy":
        return copy.copy(obj)
    if name == "pickle":
        return pickle.dumps(obj)
    if name == "weakref":
        target = args[0] if args else obj
        return weakref.ref(obj, lambda r: quietly(call, target, "try_recv", (), pool)
                           if kind_of(ce, target) == "Chan" else None)
    if name == "hash":
        return hash(obj)
    if name == "eq":
        return obj == (args[0] if args else obj)
    if name == "bool":
        return bool(obj)
    if name == "iter_next":
        return next(iter(obj))
    if name == "dir":
        return len(dir(obj))
    if name == "sizeof":
        return obj.__sizeof__()
    if name == "ready":
        return ce._impl.ready(obj)
    if name == "select2":
        return ce.select(ce.recv(obj), *(ce.send(a, obj) for a in args[:1]))
    if name == "select_default":
        return ce.select(ce.recv(obj), ce.send(obj, args[0] if args else 1), default=True)
    if name == "go":
        inner = args[0] if args and callable(args[0]) else obj.__repr__
        return ce.go(inner, *args[1:2])
    if name == "__call__":
        return obj(*args)
    attr = getattr(obj, name)
    if callable(attr) and not isinstance(attr, (type, chanemu._impl.Chan)):
        return attr(*args)
    return attr


def program(ce, ops, log, graveyard):
    """The operations, run as main of a virtual-clock program; each outcome goes to log."""
    entered = []

    def main():
        # goroutine 1's start_function is reachable: calling it again would recurse to a
        # depth the twins do not share (their frames differ in size)
        if entered:
            raise RuntimeError("main called again")
        entered.append(1)
        a, b = ce.Chan(), ce.Chan(2)
        closed = ce.Chan(1)
        closed.send("kept")
        closed.close()
        ctx, cancel = chanemu.context.with_cancel(chanemu.context.background())
        tctx, tcancel = chanemu.context.with_timeout(ctx, 0.5)
        pool = [a, b, closed, ce.nilchan, ce.Chan.__new__(ce.Chan), ce.recv(a),
                ce.send(b, "v"), ce.recv.__new__(ce.recv), ce._impl.getg(),
                ce._impl.current_runtime(), a.hchan, a.hchan.recvq, b.hchan.sendq,
                ctx, tctx, cancel, tcancel, chanemu.time.new_timer(0.25),
                chanemu.time.new_timer(0.1), chanemu.sync.Mutex(), chanemu.sync.WaitGroup(),
                chanemu.sync.Once(), chanemu.sync.RWMutex(), chanemu.sync.Cond(chanemu.sync.Mutex()),
                ce.go(a.recv), ce.go(b.send, 1)] + graveyard
        try:
            ce.runtime.gosched()
            for op in ops:
                run_op(ce, pool, op, log)
            graveyard[:] = [o for o in pool[:26] if kind_of(ce, o) in
                            ("Chan", "Goroutine", "case", "view", "ctx")][:12]
        finally:
            # goroutines' closures hold the pool: break the cycle now, so that the Bombs of
            # this program go off in it (not later, in the other twin's)
            pool.clear()
    try:
        ce.run(main, clock="virtual", seed=7)
    except BaseException as e:     # noqa: B036  (a deadlock, a goroutine's exception: the end)
        log.append(("end", type(e).__name__))
        ENDS.append("".join(traceback.format_exception(e))[-3000:])


def run_op(ce, pool, op, log):
    how, who, what, argsel = op
    obj = pool[who % len(pool)]
    names = NAMES.get(kind_of(ce, obj), ()) + COMMON
    name = names[what % len(names)]
    everything = list(PLAIN) + pool
    nargs = argsel % 3
    args = tuple(everything[(argsel // 3 // len(everything) ** i) % len(everything)]
                 for i in range(nargs))
    if how % 7 == 0:
        # A Bomb rides in as the value: its __del__ calls something later. The twins drop
        # values at different moments, so what it calls must not change what later calls see:
        # it reads a pooled object, and sends on a channel of its own.
        args = (Bomb(pool[(who + 1) % len(pool)], BOMB_NAMES[what % len(BOMB_NAMES)], ()),
                ) + args
    if how % 5 == 1:
        # from a goroutine of its own (so a blocking call parks it, not main)
        def body():
            try:
                call(obj, name, args, pool)
            except BaseException as e:      # noqa: B036
                if isinstance(e, (chanemu.FatalError,)):
                    raise
        pool.append(ce.go(body))
        log.append((name, "go"))
        return
    if how % 5 == 2:
        ce.runtime.gosched()
        log.append(("gosched", "ok"))
        return
    try:
        r = call(obj, name, args, pool)
    except chanemu.FatalError:
        raise
    except BaseException as e:       # noqa: B036  (GoExit and GreenletExit are outcomes too)
        log.append((name, type(e).__name__))
        if type(e).__name__ in ("GreenletExit", "KeyboardInterrupt", "SystemExit"):
            raise
        return
    log.append((name, "ok"))
    if kind_of(ce, r) is not None and len(pool) < 60:
        pool.append(r)


OP = st.tuples(st.integers(0, 34), st.integers(0, 200), st.integers(0, 200),
               st.integers(0, 10 ** 6))

_foreign = {}


def foreign_objects(impl):
    """Objects of another thread's program (made once per twin): a channel with a value, a
    case on it, its ended goroutine's handle."""
    if impl not in _foreign:
        box = []

        def make():
            chanemu._set_impl(impl)
            c = chanemu.Chan(1)
            c.send(1)
            g = chanemu.go(lambda: None)
            chanemu.runtime.gosched()
            box.extend([c, chanemu.recv(c), g])
        t = threading.Thread(target=make)
        t.start()
        t.join(30)
        _foreign[impl] = box
    return list(_foreign[impl])


@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(ops=st.lists(OP, min_size=1, max_size=24))
def _fuzz(impl_name, ops):
    RUNS.append(1)
    logs = {}
    ENDS.clear()
    for impl in ("c", "python"):
        chanemu._set_impl(impl)
        graveyard = foreign_objects(impl)
        log = logs[impl] = []
        program(chanemu, ops, log, graveyard)
        program(chanemu, ops[::-1], log, graveyard)      # again, with the first's leftovers
        chanemu._impl.check_invariants()
    chanemu._set_impl(impl_name)
    assert logs["c"] == logs["python"], first_difference(logs["c"], logs["python"], ops)


def first_difference(c, py, ops):
    for i, (x, y) in enumerate(zip(c, py)):
        if x != y:
            return (f"twins differ at outcome {i}: C {x}, Python {y} (ops {ops})\n"
                    + "\n".join(ENDS[-2:]))
    return f"twins differ in length: C {len(c)}, Python {len(py)}"


def test_fuzz_object_surface(ce, impl_name):
    RUNS.clear()
    _fuzz(impl_name)
    assert len(RUNS) >= EXAMPLES      # thousands of programs, not a handful


def test_bomb_fires_from_del(ce):
    """The fuzzer's __del__ path works: a Bomb dropped by close() makes its call."""
    Bomb.fired.clear()
    c = ce.Chan(1)

    def main():
        d = ce.Chan(1)
        c2 = ce.Chan(1)
        c2.send(Bomb(d, "try_send", (5,)))
        c2.close()
        c2.recv()
        return d.try_recv()
    assert ce.run(main) == (5, True)      # (the test's own Bomb may write anywhere)
    assert Bomb.fired == ["ok"]
    assert c.try_recv() is None
