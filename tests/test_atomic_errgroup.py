"""chanemu.atomic, chanemu.errgroup, sync.Map and sync.Pool, on both twins."""
import gc

import pytest

import chanemu.atomic as atomic
import chanemu.context as context
import chanemu.errgroup as errgroup
import chanemu.sync as csync

from conftest import wait_parked


# -- atomic -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls,lo,hi", [
    (atomic.Int32, -(1 << 31), (1 << 31) - 1), (atomic.Int64, -(1 << 63), (1 << 63) - 1),
    (atomic.Uint32, 0, (1 << 32) - 1), (atomic.Uint64, 0, (1 << 64) - 1),
])
def test_integers_wrap_as_gos_fixed_size_integers(cls, lo, hi):
    a = cls(hi)
    assert a.add(1) == lo and a.load() == lo
    assert a.add(-1) == hi
    assert a.swap(5) == hi and a.load() == 5
    assert a.compare_and_swap(4, 6) is False and a.load() == 5
    assert a.compare_and_swap(5, 6) is True and a.load() == 6
    assert a.and_(3) == 6 and a.load() == 2
    assert a.or_(5) == 2 and a.load() == 7
    a.store(lo)
    assert a.load() == lo
    for bad in (hi + 1, lo - 1):
        with pytest.raises(OverflowError):
            a.store(bad)
    for bad in (1.0, "1", True, None):
        with pytest.raises(TypeError):
            a.store(bad)
    assert a.load() == lo and repr(a) == f"<atomic.{cls.__name__} {lo}>"


def test_uint_subtracts_with_a_negative_delta_like_gos_complement():
    u = atomic.Uint32(3)
    assert u.add(-5) == (1 << 32) - 2          # Go: x.Add(^uint32(4))
    assert atomic.Uint64().or_(-1) == 0 and atomic.Uint64(0).add(-1) == (1 << 64) - 1


def test_bool_and_pointer():
    b = atomic.Bool()
    assert b.load() is False and b.swap(True) is False and b.load() is True
    assert b.compare_and_swap(False, False) is False and b.compare_and_swap(True, False) is True
    with pytest.raises(TypeError):
        b.store(1)
    x, y = [1], [1]
    p = atomic.Pointer()
    assert p.load() is None and p.compare_and_swap(None, x) is True
    assert p.compare_and_swap(y, y) is False           # equal, but another object
    assert p.swap(y) is x and p.load() is y


def test_value_panics_as_go():
    v = atomic.Value()
    assert v.load() is None
    with pytest.raises(chanemu_panic(), match="^sync/atomic: store of nil value into Value$"):
        v.store(None)
    v.store(1)
    with pytest.raises(chanemu_panic(),
                       match="^sync/atomic: store of inconsistently typed value into Value$"):
        v.store("one")
    with pytest.raises(chanemu_panic(),
                       match="^sync/atomic: swap of inconsistently typed value into Value$"):
        v.swap(1.0)
    with pytest.raises(chanemu_panic(), match="^sync/atomic: swap of nil value into Value$"):
        v.swap(None)
    with pytest.raises(chanemu_panic(),
                       match="^sync/atomic: compare and swap of nil value into Value$"):
        v.compare_and_swap(1, None)
    with pytest.raises(chanemu_panic(),
                       match="^sync/atomic: compare and swap of inconsistently typed values$"):
        v.compare_and_swap(1, "x")
    with pytest.raises(chanemu_panic(), match="^sync/atomic: compare and swap of "
                                              "inconsistently typed value into Value$"):
        v.compare_and_swap("a", "b")
    assert v.swap(2) == 1 and v.compare_and_swap(3, 4) is False
    assert v.compare_and_swap(2, 4) is True and v.load() == 4
    w = atomic.Value()
    assert w.compare_and_swap(1, 2) is False and w.compare_and_swap(None, 2) is True


def chanemu_panic():
    import chanemu
    return chanemu.Panic


# -- errgroup ---------------------------------------------------------------------------------------
def test_wait_returns_the_first_error_and_cancels_the_context(ce):
    def main():
        g, ctx = errgroup.with_context(context.background())
        order = []
        first, second = ValueError("first"), KeyError("second")

        def fail(e, gate):
            if gate is not None:
                gate.recv()
            order.append(str(e))
            raise e

        def watcher():
            ctx.done().recv()
            order.append("canceled")

        gate = ce.Chan()
        g.go(watcher)
        g.go(fail, first, None)
        g.go(fail, second, gate)
        g.go(lambda: None)
        ce.runtime.gosched()
        assert ctx.err() is not None and context.cause(ctx) is first
        gate.send(None)
        err = g.wait()
        return err is first, order

    same, order = ce.run(main)
    assert same and order == ["first", "canceled", "'second'"]


def test_no_error_wait_is_none_and_still_cancels(ce):
    def main():
        g, ctx = errgroup.with_context(context.background())
        hits = atomic.Int64()
        for i in range(10):
            g.go(hits.add, i)
        assert ctx.err() is None
        err = g.wait()
        return err, hits.load(), str(ctx.err()), context.cause(ctx)

    err, hits, cerr, cause = ce.run(main)
    assert err is None and hits == 45 and cerr == "context canceled"
    assert str(cause) == "context canceled"


def test_a_returned_exception_is_an_error(ce):
    def main():
        g = errgroup.Group()
        boom = RuntimeError("returned")
        g.go(lambda: boom)
        g.go(lambda: 42)          # not an error
        return g.wait() is boom

    assert ce.run(main)


def test_set_limit_bounds_active_goroutines(ce):
    def main():
        g = errgroup.Group()
        g.set_limit(2)
        release = ce.Chan(0, ce.Empty)
        active, peak = atomic.Int32(), atomic.Int32()

        def work():
            n = active.add(1)
            if n > peak.load():
                peak.store(n)
            release.recv()
            active.add(-1)

        assert g.try_go(work) and g.try_go(work)
        assert g.try_go(work) is False
        with pytest.raises(ce.Panic, match="errgroup: modify limit while 2 goroutines"):
            g.set_limit(5)
        starter = ce.go(lambda: [g.go(work) for _ in range(3)])
        wait_parked(ce, starter, "chan send")
        for _ in range(5):
            release.send(ce.Empty())
        assert g.wait() is None
        g.set_limit(-1)
        assert all(g.try_go(lambda: None) for _ in range(10))
        return peak.load(), g.wait()

    assert ce.run(main) == (2, None)


def test_a_panic_is_not_an_error(ce):
    def main():
        g = errgroup.Group()
        g.go(lambda: (_ for _ in ()).throw(ce.Panic("bad")))
        g.wait()

    with pytest.raises(ce.Panic, match="bad"):
        ce.run(main)


def test_go_rejects_non_callables(ce):
    g = errgroup.Group()
    with pytest.raises(TypeError):
        g.go(3)
    with pytest.raises(TypeError):
        g.set_limit(1.5)


# -- sync.Map and sync.Pool ---------------------------------------------------------------------------
def test_map_operations_are_gos():
    m = csync.Map()
    assert m.load("a") == (None, False)
    assert m.load_or_store("a", 1) == (1, False) and m.load_or_store("a", 2) == (1, True)
    assert m.swap("a", 3) == (1, True) and m.swap("b", 4) == (None, False)
    assert m.compare_and_swap("a", 3.0, 5) is False        # another type: not equal in Go
    assert m.compare_and_swap("a", 3, 5) is True and m.load("a") == (5, True)
    assert m.compare_and_swap("zz", None, 1) is False
    assert m.compare_and_delete("a", 4) is False and m.compare_and_delete("a", 5) is True
    assert m.compare_and_delete("zz", None) is False
    m.store("c", 6)
    assert m.load_and_delete("c") == (6, True) and m.load_and_delete("c") == (None, False)
    m.delete("nothing")
    for k in "xyz":
        m.store(k, k.upper())
    seen = []

    def visit(k, v):
        seen.append((k, v))
        m.delete("z")             # f may change the map
        return k != "x"
    m.range(visit)
    assert seen == [("b", 4), ("x", "X")]
    m.clear()
    assert m.load("b") == (None, False)
    with pytest.raises(TypeError):
        m.store([], 1)


def test_pool_order_new_and_gc_victims():
    made = []
    p = csync.Pool(new=lambda: made.append(1) or "new")
    for x in "abc":
        p.put(x)
    p.put(None)
    assert [p.get() for _ in range(4)] == ["a", "c", "b", "new"] and len(made) == 1
    assert csync.Pool().get() is None
    for x in "abc":
        p.put(x)
    gc.collect()                                   # survivors move to the victim cache
    assert p.get() == "a" and p.get() == "b"
    gc.collect()
    gc.collect()                                   # and the next collection drops them
    assert p.get() == "new"
    with pytest.raises(TypeError):
        csync.Pool(new=3)
