"""The check that a blocking call comes from the running goroutine, right after the runtime's own
switches. On the C twin's greenlet backend the check reads a cache of greenlet's current greenlet
that a switch keeps warm (src_c/switch.pxi); these tests switch greenlets behind the runtime's back
at the moments the cache is warmest, and in ways that bump or share the thread's contextvars
context, and expect the same answers as the Python twin, which asks greenlet every time."""
import contextvars

import greenlet
import pytest


def _pingpong(ce, a, b, n):
    """n hand-offs each way between the caller and a partner goroutine: every park switches."""
    def partner():
        for _ in range(n):
            b.send(a.recv())

    ce.go(partner)
    for i in range(n):
        a.send(i)
        assert b.recv() == i


def test_foreign_greenlet_refused_right_after_switches(ce):
    """Each round trip ends with the goroutine resumed by the runtime's switch; a greenlet it
    starts at once and blocks in is refused, every time, and nothing is queued."""
    def main():
        a, b, c = ce.Chan(), ce.Chan(), ce.Chan()
        refused = 0
        for _ in range(20):
            _pingpong(ce, a, b, 3)
            with pytest.raises(RuntimeError, match="not a goroutine"):
                greenlet.greenlet(c.recv).switch()
            refused += 1
            assert len(c.hchan.recvq) == 0
        ce.runtime.check_invariants()
        return refused

    assert ce.run(main) == 20


def test_blocking_again_after_a_foreign_greenlet_returns(ce):
    """A foreign greenlet that switches back into the goroutine leaves it able to block."""
    def main():
        a, b = ce.Chan(), ce.Chan()
        me = greenlet.getcurrent()
        visits = []

        def visitor():
            visits.append(1)
            me.switch()          # back into the goroutine, this greenlet left suspended

        _pingpong(ce, a, b, 2)
        g = greenlet.greenlet(visitor)
        g.switch()
        _pingpong(ce, a, b, 2)   # parks twice, from the goroutine's own greenlet
        g.switch()               # let the visitor end
        assert g.dead
        return len(visits)

    assert ce.run(main) == 1


def test_blocking_inside_context_run(ce):
    """Entering and leaving a contextvars context (which the cache's version also counts) does not
    stop a goroutine from blocking, inside it or after it."""
    var = contextvars.ContextVar("v", default=0)

    def main():
        a, b = ce.Chan(), ce.Chan()
        ctx = contextvars.copy_context()

        def inside():
            var.set(7)
            _pingpong(ce, a, b, 3)
            return var.get()

        assert ctx.run(inside) == 7
        _pingpong(ce, a, b, 3)
        return var.get()

    assert ce.run(main) == 0


def test_foreign_greenlet_sharing_the_goroutine_context_refused(ce):
    """A foreign greenlet given the goroutine's own contextvars context is still not the goroutine."""
    def main():
        a, b, c = ce.Chan(), ce.Chan(), ce.Chan()
        var = contextvars.ContextVar("w")
        var.set(1)                      # the goroutine's greenlet now has a context of its own
        _pingpong(ce, a, b, 2)
        g = greenlet.greenlet(c.send)
        g.gr_context = greenlet.getcurrent().gr_context
        with pytest.raises(RuntimeError, match="not a goroutine"):
            g.switch("x")
        assert len(c.hchan.sendq) == 0
        _pingpong(ce, a, b, 2)
        return var.get()

    assert ce.run(main) == 1


def test_foreign_greenlet_in_another_goroutine_refused(ce):
    """Goroutine 2 starts a greenlet right after being resumed by goroutine 1's park: refused, and
    both goroutines go on exchanging."""
    def main():
        a, b, c = ce.Chan(), ce.Chan(), ce.Chan()
        out = ce.Chan(1)

        def second():
            n = 0
            for _ in range(5):
                v = a.recv()
                try:
                    greenlet.greenlet(c.recv).switch()
                except RuntimeError:
                    n += 1
                b.send(v)
            out.send(n)

        ce.go(second)
        for i in range(5):
            a.send(i)
            assert b.recv() == i
        return out.recv()

    assert ce.run(main) == 5


def test_the_cache_is_in_use_where_expected(ce):
    """The tests above exercise the cache only if it is on: on the C twin's greenlet backend it
    must be (greenlet 3 bumps context_ver in every switch); the stack backend has no use for it.
    The Python twin asks greenlet every time."""
    if ce.IMPL != "c":
        assert not hasattr(ce._impl, "_gl_cache_on")
        return
    assert ce._impl._gl_cache_on() == (ce.SWITCH == "greenlet")
