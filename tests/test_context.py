"""chanemu.context: cancellation trees, deadlines on the runtime's clock, values.

Deadlines are runtime timers, so on the virtual clock a context times out at exactly its deadline.
"""
import datetime as dt

import pytest

from conftest import wait_parked

UTC = dt.timezone.utc
S = 1_000_000_000


def at(seconds):
    return dt.datetime(2000, 1, 1, tzinfo=UTC) + dt.timedelta(seconds=seconds)


def clock_ns(ce):
    return ce._impl.current_runtime().nanotime()


def is_closed(ch):
    """A receive from ch would not block and reports a closed channel."""
    return ch.try_recv() == (None, False)


def test_background_and_todo(ce):
    import chanemu.context as context

    def main():
        for c, name in ((context.background(), "context.Background"),
                        (context.todo(), "context.TODO")):
            assert c.done() == ce.nilchan          # Go's Done() returns a nil <-chan
            assert c.done() is c.done() and repr(c.done()) == "<<-chan nil>"
            assert c.err() is None
            assert c.deadline() == (None, False)
            assert c.value("k") is None
            assert str(c) == name
        assert context.background() is context.background()
        return True

    assert ce.run(main)


def test_with_cancel(ce):
    import chanemu.context as context

    def main():
        ctx, cancel = context.with_cancel(context.background())
        done = ctx.done()
        assert ctx.done() is done
        assert ctx.err() is None and done.try_recv() is None
        cancel()
        assert done.recv_ok() == (None, False)      # closed: a receive gives the zero value
        err = ctx.err()
        assert isinstance(err, context.Canceled) and str(err) == "context canceled"
        cancel()                                    # idempotent
        assert ctx.err() is err
        assert str(ctx) == "context.Background.WithCancel"
        return True

    assert ce.run(main)


def test_done_after_cancel_is_closed(ce):
    """Asking for done() only after the cancel still gives a closed channel (Go's closedchan)."""
    import chanemu.context as context

    def main():
        ctx, cancel = context.with_cancel(context.background())
        cancel()
        return is_closed(ctx.done())

    assert ce.run(main)


def test_cancel_wakes_every_goroutine_waiting_on_done(ce):
    import chanemu.context as context

    def main():
        ctx, cancel = context.with_cancel(context.background())
        woke = []

        def waiter(i):
            ctx.done().recv()
            woke.append(i)

        def selecter(i):
            work = ce.Chan()
            k, _, _ = ce.select(ce.recv(work), ce.recv(ctx.done()))
            woke.append((i, k))
        gs = [ce.go(waiter, i) for i in range(3)] + [ce.go(selecter, i) for i in range(3)]
        for g in gs:
            wait_parked(ce, g)
        assert [g.wait_reason for g in gs] == ["chan receive"] * 3 + ["select"] * 3
        cancel()
        ce.runtime.gosched()
        return woke, [g.status for g in gs], ce.runtime.num_goroutine()

    woke, statuses, n = ce.run(main)
    assert sorted(map(str, woke)) == sorted(map(str, [0, 1, 2, (0, 1), (1, 1), (2, 1)]))
    assert statuses == ["dead"] * 6 and n == 1


def test_cancelling_a_parent_cancels_the_whole_tree(ce):
    import chanemu.context as context

    def main():
        root, cancel_root = context.with_cancel(context.background())
        a, _ = context.with_cancel(root)
        b = context.with_value(root, "user", "gopher")
        b1, _ = context.with_timeout(b, 3600)
        b2, _ = context.with_cancel(b1)
        a1, _ = context.with_cancel(a)
        detached = context.without_cancel(b2)
        tree = [root, a, b, b1, b2, a1]
        dones = [c.done() for c in tree]
        parked = [ce.go(d.recv) for d in dones]
        for g in parked:
            wait_parked(ce, g, "chan receive")
        cancel_root()
        ce.runtime.gosched()
        errs = [c.err() for c in tree]
        return (dones, [g.status for g in parked], errs, detached.err(), detached.done(),
                b2.value("user"), detached.value("user"))

    dones, statuses, errs, derr, ddone, v, dv = ce.run(main)
    assert all(is_closed(d) for d in dones)
    assert statuses == ["dead"] * 6
    assert all(isinstance(e, ce.context.Canceled) and str(e) == "context canceled" for e in errs)
    assert len({id(e) for e in errs}) == 1      # children report their parent's error, as in Go
    assert derr is None and ddone == ce.nilchan
    assert v == "gopher" and dv == "gopher"


def test_cancelling_a_child_leaves_parent_and_siblings(ce):
    import chanemu.context as context

    def main():
        parent, cancel_parent = context.with_cancel(context.background())
        c1, cancel1 = context.with_cancel(parent)
        c2, _ = context.with_cancel(parent)
        g1, _ = context.with_cancel(c1)
        cancel1()
        out = (parent.err(), c1.err() is not None, g1.err() is not None, c2.err())
        # a canceled child leaves its parent's children: the parent holds no reference to it
        out += (c1 in parent._children, c2 in parent._children)
        cancel_parent()
        return out + (c2.err() is not None,)

    assert ce.run(main) == (None, True, True, None, False, True, True)


def test_child_of_a_canceled_parent_is_born_canceled(ce):
    import chanemu.context as context

    def main():
        parent, cancel = context.with_cancel(context.background())
        cancel()
        child, _ = context.with_cancel(parent)
        t, _ = context.with_timeout(parent, 10)
        return (is_closed(child.done()), str(child.err()), str(t.err()),
                ce._impl.current_runtime().nanotime())

    assert ce.run(main, clock="virtual") == (True, "context canceled", "context canceled", 0)


def test_with_timeout_in_virtual_time(ce):
    import chanemu.context as context

    def main():
        ctx, cancel = context.with_timeout(context.background(), 5)
        d, ok = ctx.deadline()
        assert ok and d == at(5)
        ctx.done().recv()
        woke = clock_ns(ce)
        err = ctx.err()
        cancel()                                  # after the deadline: changes nothing
        return woke, err, ctx.err() is err, str(ctx)

    woke, err, same, name = ce.run(main, clock="virtual")
    assert woke == 5 * S
    assert isinstance(err, ce.context.DeadlineExceeded) and isinstance(err, TimeoutError)
    assert str(err) == "context deadline exceeded"
    assert same
    assert name == "context.Background.WithDeadline(2000-01-01 00:00:05 +0000 UTC [0s])"


def test_deadline_in_a_select_timeout_pattern(ce):
    import chanemu.context as context
    import chanemu.time as ctime

    def main():
        ctx, cancel = context.with_timeout(context.background(), 2.5)
        results = ce.Chan()

        def slow_worker():
            ctime.sleep(10)
            results.try_send("too late")
        ce.go(slow_worker)
        i, _, _ = ce.select(ce.recv(results), ce.recv(ctx.done()))
        cancel()
        return i, str(ctx.err()), clock_ns(ce)

    assert ce.run(main, clock="virtual") == (1, "context deadline exceeded", 2_500_000_000)


def test_nested_deadlines(ce):
    import chanemu.context as context

    def main():
        outer, _ = context.with_timeout(context.background(), 10)
        later, _ = context.with_timeout(outer, 60)        # the parent's deadline is sooner
        sooner, _ = context.with_deadline(outer, at(4))
        assert later.deadline() == (at(10), True)
        assert sooner.deadline() == (at(4), True)
        assert str(later) == "context.Background.WithDeadline(2000-01-01 00:00:10 +0000 UTC " \
                             "[10s]).WithCancel"
        sooner.done().recv()
        t1 = (clock_ns(ce), str(sooner.err()), outer.err(), later.err())
        later.done().recv()
        t2 = (clock_ns(ce), str(outer.err()), str(later.err()))
        return t1, t2

    t1, t2 = ce.run(main, clock="virtual")
    assert t1 == (4 * S, "context deadline exceeded", None, None)
    assert t2 == (10 * S, "context deadline exceeded", "context deadline exceeded")


def test_deadline_in_the_past_is_exceeded_at_once(ce):
    import chanemu.context as context
    import chanemu.time as ctime

    def main():
        ctime.sleep(10)
        a, _ = context.with_deadline(context.background(), at(5))
        b, _ = context.with_timeout(context.background(), 0)
        c, _ = context.with_timeout(context.background(), -1)
        return [(is_closed(x.done()), str(x.err())) for x in (a, b, c)], clock_ns(ce)

    out, ns = ce.run(main, clock="virtual")
    assert out == [(True, "context deadline exceeded")] * 3
    assert ns == 10 * S


def test_cancel_before_the_deadline_stops_its_timer(ce):
    """Canceled early: err() is Canceled, and its timer no longer keeps the program alive."""
    import chanemu.context as context

    def main():
        ctx, cancel = context.with_timeout(context.background(), 3600)
        cancel()
        assert str(ctx.err()) == "context canceled"
        ce.Chan().recv()           # no timer pending: a deadlock right away, not in an hour

    with pytest.raises(ce.Deadlock) as ei:
        ce.run(main, clock="virtual")
    assert "minutes" not in ei.value.dump


def test_with_timeout_on_the_real_clock(ce):
    import time as wall
    import chanemu.context as context

    def main():
        ctx, cancel = context.with_timeout(context.background(), 0.05)
        w = wall.monotonic()
        ctx.done().recv()
        took = wall.monotonic() - w
        cancel()
        d, ok = ctx.deadline()
        return took, str(ctx.err()), ok, d.tzinfo is not None

    took, err, ok, aware = ce.run(main)
    assert took >= 0.05 and err == "context deadline exceeded" and ok and aware


def test_values(ce):
    import chanemu.context as context

    def main():
        class Key:
            pass
        k = Key()
        a = context.with_value(context.background(), "user", "alice")
        b, cancel = context.with_cancel(a)
        c = context.with_value(b, k, 42)
        d = context.with_value(c, "user", "bob")            # shadows
        out = (d.value("user"), c.value("user"), d.value(k), d.value(Key()), d.value("none"))
        cancel()
        out += (d.value("user"), str(d.err()))                # values survive cancellation
        assert str(a) == "context.Background.WithValue(user, alice)"
        with pytest.raises(ce.Panic, match="^nil key$"):
            context.with_value(a, None, 1)
        with pytest.raises(ce.Panic, match="^key is not comparable$"):
            context.with_value(a, [], 1)
        with pytest.raises(ce.Panic, match="^cannot create context from nil parent$"):
            context.with_cancel(None)
        return out

    assert ce.run(main) == ("bob", "alice", 42, None, None, "bob", "context canceled")


def test_cancel_cause(ce):
    import chanemu.context as context

    def main():
        ctx, cancel = context.with_cancel_cause(context.background())
        child, _ = context.with_cancel(ctx)
        assert context.cause(ctx) is None
        why = ValueError("backend gone")
        cancel(why)
        cancel(KeyError("second"))                 # only the first cancel counts
        out = [str(ctx.err()), context.cause(ctx) is why, context.cause(child) is why]
        plain, cancel2 = context.with_cancel(context.background())
        cancel2()
        out.append(str(context.cause(plain)))      # no cause given: the error itself
        t, _ = context.with_timeout_cause(context.background(), 1, RuntimeError("slow"))
        t.done().recv()
        out += [str(t.err()), str(context.cause(t))]
        out.append(context.cause(context.background()))
        return out

    assert ce.run(main, clock="virtual") == [
        "context canceled", True, True, "context canceled", "context deadline exceeded", "slow",
        None]


def test_after_func(ce):
    import chanemu.context as context

    def main():
        ctx, cancel = context.with_cancel(context.background())
        ran = []
        me = ce.runtime.current()
        stop1 = context.after_func(ctx, lambda: ran.append(ce.runtime.current() is not me))
        stop2 = context.after_func(ctx, lambda: ran.append("stopped"))
        assert stop2() is True and stop2() is False
        cancel()
        ce.runtime.gosched()
        out = (list(ran), stop1())
        # on an already canceled context f runs at once (in a new goroutine)
        context.after_func(ctx, lambda: ran.append("late"))
        ce.runtime.gosched()
        return out, ran

    (first, stop_after), ran = ce.run(main)
    assert first == [True] and stop_after is False
    assert ran == [True, "late"]


def test_a_foreign_context_implementation_as_parent(ce):
    """A parent Context of the user's own making is watched from a goroutine, as Go does."""
    import chanemu.context as context

    def main():
        class Mine(context.Context):
            def __init__(self):
                self.ch = ce.Chan()
                self.e = None

            def done(self):
                return self.ch

            def err(self):
                return self.e

            def value(self, key):
                return "mine" if key == "who" else None

        p = Mine()
        child, _ = context.with_cancel(p)
        assert child.value("who") == "mine"
        ce.runtime.gosched()
        p.e = context.Canceled()
        p.ch.close()
        child.done().recv()
        return str(child.err())

    assert ce.run(main) == "context canceled"


def test_worker_pool_stops_on_cancel(ce):
    """The usual shape: workers loop on select(jobs, ctx.done()) and all return on cancel."""
    import chanemu.context as context
    import chanemu.sync as csync
    import chanemu.time as ctime

    def main():
        ctx, cancel = context.with_cancel(context.background())
        jobs = ce.Chan()
        wg = csync.WaitGroup()
        handled = []

        def worker(w):
            while True:
                i, job, _ = ce.select(ce.recv(jobs), ce.recv(ctx.done()))
                if i == 1:
                    return
                ctime.sleep(1)
                handled.append((w, job))
        for w in range(3):
            wg.go(worker, w)
        for j in range(7):
            jobs.send(j)
        cancel()
        wg.wait()
        return sorted(j for _, j in handled), ce.runtime.num_goroutine()

    assert ce.run(main, clock="virtual") == (list(range(7)), 1)
