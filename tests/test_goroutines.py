"""Goroutine handles and the scheduler of one P: FIFO run queue plus runnext.

The orders asserted here are Go's: each was checked against Go 1.26 running a tiny program with
GOMAXPROCS=1 (the program's output is quoted in the test's docstring). In Go, newproc puts the new
goroutine in runnext, kicking the previous occupant to the tail of the run queue; goready (a
goroutine woken by a channel operation) does the same; Gosched puts the caller at the back.
"""
import re
import sys

import pytest

from conftest import wait_parked


def fq(frame):
    """A function's name as the dumps print it: module.qualname."""
    return f"{frame.f_globals['__name__']}.{frame.f_code.co_qualname}"


# -- one handle per goroutine --------------------------------------------------------------------

def test_one_handle_per_goroutine(ce):
    def main():
        c = ce.Chan()
        seen = []

        def f():
            seen.append(ce.Goroutine.current())
            c.recv()
        g = ce.go(f)
        wait_parked(ce, g, "chan receive")
        assert seen == [g] and seen[0] is g
        sg = c.hchan.recvq[0]
        assert sg.g is g
        assert [x for x in ce.runtime.goroutines() if x.goid == g.goid][0] is g
        assert ce.runtime.current() is ce.Goroutine.current()
        me = ce.Goroutine.current()
        assert me.goid == 1
        assert ce.runtime.goroutines()[0] is me
        assert isinstance(g, ce.Goroutine)
        c.send(None)
        return True
    assert ce.run(main)


def test_goids(ce):
    def main():
        gs = [ce.go(lambda: None) for _ in range(5)]
        ids = [g.goid for g in gs]
        assert ids == sorted(ids) and len(set(ids)) == 5 and ids[0] > 1
        assert [g.goid for g in ce.runtime.goroutines()] == [1] + ids
        ce.runtime.gosched()
        # goids are never reused
        g = ce.go(lambda: None)
        assert g.goid > ids[-1]
        return True
    assert ce.run(main)


def test_status_lifecycle(ce):
    def main():
        c = ce.Chan()
        inside = []

        def f():
            me = ce.Goroutine.current()
            inside.append((me.status, me.wait_reason, me.waiting_on))
            c.recv()
            ce.runtime.gosched()
            inside.append("after")
        g = ce.go(f)
        assert (g.status, g.wait_reason, g.waiting_on) == ("runnable", None, ())
        wait_parked(ce, g)
        assert inside == [("running", None, ())]
        assert g.status == "waiting"
        assert g.wait_reason == "chan receive"
        assert g.waiting_on == (c,)
        c.send(1)                   # readies g: runnable, not yet running
        assert (g.status, g.wait_reason, g.waiting_on) == ("runnable", None, ())
        ce.runtime.gosched()        # g runs, yields (runnable at the tail after main)
        assert g.status == "runnable" and inside == [("running", None, ())]
        ce.runtime.gosched()
        assert inside[-1] == "after"
        assert (g.status, g.wait_reason, g.waiting_on) == ("dead", None, ())
        assert g not in ce.runtime.goroutines()
        assert ce.runtime.num_goroutine() == 1
        assert ce.Goroutine.current().status == "running"
        return True
    assert ce.run(main)


def test_wait_reasons(ce):
    def main():
        full = ce.Chan(1)
        full.send(0)
        gs = {
            "chan send": ce.go(full.send, 1),
            "chan receive": ce.go(ce.Chan().recv),
            "chan send (nil chan)": ce.go(ce.nilchan.send, 1),
            "chan receive (nil chan)": ce.go(ce.nilchan.recv),
        }
        ce.runtime.gosched()
        for reason, g in gs.items():
            assert g.status == "waiting" and g.wait_reason == reason, (reason, g.wait_reason)
        assert gs["chan send"].waiting_on == (full,)
        assert gs["chan send (nil chan)"].waiting_on == (ce.nilchan,)
        return True
    assert ce.run(main)


def test_created_by(ce):
    """created_by is "function at file:line" of the go statement; goroutine 1 has none."""
    def main():
        me = sys._getframe()
        g, line = ce.go(lambda: None), sys._getframe().f_lineno
        assert g.created_by == f"{fq(me)} at {__file__}:{line}"

        def spawner():
            inner, line2 = ce.go(lambda: None), sys._getframe().f_lineno
            out.append((inner, line2, fq(sys._getframe())))
        out = []
        ce.go(spawner)
        ce.runtime.gosched()
        inner, line2, name = out[0]
        assert inner.created_by == f"{name} at {__file__}:{line2}"
        assert ce.Goroutine.current().created_by is None
        return True
    assert ce.run(main)


def test_goroutine_stack(ce):
    def main():
        c = ce.Chan()

        def blocked_here():
            c.send(1)
        g, line = ce.go(blocked_here), sys._getframe().f_lineno
        # not started yet: Go shows the entry function
        s = g.stack()
        assert s.startswith(f"goroutine {g.goid} [runnable]:\n"), s
        assert "blocked_here" in s
        wait_parked(ce, g, "chan send")
        s = g.stack()
        lines = s.splitlines()
        assert lines[0] == f"goroutine {g.goid} [chan send]:"
        assert lines[1] == f"{fq(sys._getframe())}.<locals>.blocked_here(...)"
        assert re.fullmatch(rf"\t{re.escape(__file__)}:\d+ \+0x[0-9a-f]+", lines[2]), lines[2]
        assert lines[-2] == f"created by {fq(sys._getframe())} in goroutine 1"
        assert lines[-1] == f"\t{__file__}:{line} +0x0"
        # runtime frames (chanemu's own) are hidden, as Go hides runtime frames
        assert "chanemu/" not in s.replace(__file__, "")
        assert c.recv() == 1
        return True
    assert ce.run(main)


def test_runtime_stack_format(ce):
    """runtime.stack(): Go's traceback: the caller first, [running], then the others by goid,
    each with its wait reason and `created by ... in goroutine N`."""
    def main():
        a, b = ce.Chan(), ce.Chan(1)
        b.send(0)
        g1 = ce.go(a.recv)
        g2 = ce.go(b.send, 1)

        def nested():
            g3 = ce.go(ce.nilchan.recv)
            out.append(g3)
            ce.Chan().recv()
        out = []
        g4 = ce.go(nested)
        ce.runtime.gosched()
        g3 = out[0]
        dump = ce.runtime.stack()
        headers = re.findall(r"^goroutine (\d+) \[([^\]]*)\]:$", dump, re.M)
        assert headers == [("1", "running"), (str(g1.goid), "chan receive"),
                           (str(g2.goid), "chan send"), (str(g4.goid), "chan receive"),
                           (str(g3.goid), "chan receive (nil chan)")], headers
        assert dump.count(f"in goroutine 1\n") == 3
        assert dump.count(f"in goroutine {g4.goid}\n") == 1
        # the goroutines are separated by blank lines, as Go prints them
        assert len(dump.strip().split("\n\n")) == 5
        mine = ce.runtime.stack(all=False)
        assert mine.startswith("goroutine 1 [running]:\n")
        assert "test_runtime_stack_format.<locals>.main(...)" in mine
        assert "goroutine 2 " not in mine
        a.close()
        return True
    assert ce.run(main)


# -- runnext and the FIFO run queue --------------------------------------------------------------

def test_spawn_order_runnext(ce):
    """go A; go B; go C; Gosched -> C A B. (Go: `spawn: [C A B]`.) Each go() puts the new
    goroutine in runnext and kicks the previous one to the tail of the run queue."""
    def main():
        order = []
        for n in "ABC":
            ce.go(order.append, n)
        ce.runtime.gosched()
        assert order == ["C", "A", "B"]
        order.clear()
        for n in "ABCDE":
            ce.go(order.append, n)
        ce.runtime.gosched()
        assert order == ["E", "A", "B", "C", "D"]
        order.clear()
        ce.go(order.append, "only")
        ce.runtime.gosched()
        assert order == ["only"]
        return True
    assert ce.run(main)


def test_gosched_round_robin(ce):
    """Each of X, Y, Z appends, yields, appends. Go prints
    [main Z1 X1 Y1 main2 Z2 X2 Y2]."""
    def main():
        order = []
        done = ce.Chan(3)
        for n in "XYZ":
            def f(n=n):
                order.append(n + "1")
                ce.runtime.gosched()
                order.append(n + "2")
                done.send(True)
            ce.go(f)
        order.append("main")
        ce.runtime.gosched()
        order.append("main2")
        for _ in range(3):
            done.recv()
        assert order == ["main", "Z1", "X1", "Y1", "main2", "Z2", "X2", "Y2"]
        return True
    assert ce.run(main)


def test_gosched_runs_goroutines_spawned_meanwhile(ce):
    """A goroutine spawned during the round goes to runnext, so it runs before the yielder
    comes back; one that yields goes behind it. Go prints [A B main A2]."""
    def main():
        order = []

        def a():
            order.append("A")
            ce.go(order.append, "B")
            ce.runtime.gosched()
            order.append("A2")
        ce.go(a)
        ce.runtime.gosched()
        order.append("main")
        ce.runtime.gosched()
        assert order == ["A", "B", "main", "A2"]
        return True
    assert ce.run(main)


def test_gosched_alone_returns(ce):
    """Nothing else runnable: gosched returns at once, and parked goroutines stay parked."""
    def main():
        g = ce.go(ce.Chan().recv)
        ce.runtime.gosched()
        assert g.status == "waiting"
        for _ in range(10):
            ce.runtime.gosched()
        assert g.status == "waiting" and ce.Goroutine.current().status == "running"
        return True
    assert ce.run(main)


def test_ready_goes_to_runnext(ce):
    """A receiver woken by a send goes to runnext, ahead of goroutines already runnable.
    Go prints [recv1 X Y]."""
    def main():
        order = []
        c = ce.Chan()
        ce.go(lambda: order.append(f"recv{c.recv()}"))
        ce.runtime.gosched()
        ce.go(order.append, "X")
        ce.go(order.append, "Y")
        c.send(1)
        ce.runtime.gosched()
        assert order == ["recv1", "X", "Y"]
        return True
    assert ce.run(main)


def test_ready_kicks_runnext(ce):
    """The woken receiver takes runnext from a just-spawned goroutine, which goes to the tail;
    the sender keeps running. Go prints [other main-after-send r7 later]."""
    def main():
        order = []
        e = ce.Chan()
        ce.go(lambda: order.append(f"r{e.recv()}"))
        ce.go(order.append, "other")
        ce.runtime.gosched()
        ce.go(order.append, "later")
        e.send(7)
        order.append("main-after-send")
        ce.runtime.gosched()
        assert order == ["other", "main-after-send", "r7", "later"]
        return True
    assert ce.run(main)


def test_ready_blocked_sender_on_receive(ce):
    """A receive from a full buffer readies the blocked sender into runnext. Go prints
    [got0 sender-done X] 1."""
    def main():
        order = []
        d = ce.Chan(1)
        d.send(0)

        def sender():
            d.send(1)
            order.append("sender-done")
        ce.go(sender)
        ce.runtime.gosched()
        ce.go(order.append, "X")
        order.append(f"got{d.recv()}")
        ce.runtime.gosched()
        assert order == ["got0", "sender-done", "X"] and len(d) == 1
        return True
    assert ce.run(main)


def test_blocking_runs_the_next(ce):
    """A goroutine that blocks hands the P to runnext first, then to the FIFO queue; a
    goroutine it readies goes to runnext, ahead of those already queued."""
    def main():
        order = []
        for n in "ABC":
            ce.go(order.append, n)      # runnext C, then kicked: queue A B C
        c2 = ce.Chan()
        ce.go(lambda: (order.append("D"), c2.send(None)))
        c2.recv()       # main blocks: D runs (runnext); its send readies main into runnext
        order.append("main")
        assert order == ["D", "main"]
        ce.runtime.gosched()
        assert order == ["D", "main", "A", "B", "C"]
        return True
    assert ce.run(main)


def test_default_runtime_scheduling(ce):
    """The same orders in the default runtime, where the caller is goroutine 1."""
    base = ce.runtime.num_goroutine()
    order = []
    for n in "ABC":
        ce.go(order.append, n)
    ce.runtime.gosched()
    assert order == ["C", "A", "B"]
    assert ce.runtime.num_goroutine() == base
    assert ce.Goroutine.current().status == "running"


# -- goexit ------------------------------------------------------------------------------------

def test_goexit_runs_finally(ce):
    def main():
        log = []
        c = ce.Chan()

        def inner():
            try:
                ce.runtime.goexit()
            finally:
                log.append("inner finally")
            log.append("not reached")

        def f():
            try:
                try:
                    inner()
                except Exception:       # goexit is not an Exception: not caught here
                    log.append("caught")
                log.append("not reached either")
            finally:
                log.append("outer finally")
                c.send("done")           # may still block in a deferred call, as in Go
        g = ce.go(f)
        assert c.recv() == "done"
        ce.runtime.gosched()
        assert log == ["inner finally", "outer finally"]
        assert g.status == "dead"
        assert ce.runtime.num_goroutine() == 1
        return True
    assert ce.run(main)


def test_goexit_releases_nothing_it_does_not_hold(ce):
    """A goroutine that exits leaves the channels as they were."""
    def main():
        c = ce.Chan(2)
        c.send(1)

        def f():
            c.send(2)
            ce.runtime.goexit()
        ce.go(f)
        ce.runtime.gosched()
        assert c.hchan.qcount == 2 and c.hchan.buf == (1, 2)
        assert ce.runtime.num_goroutine() == 1
        ce.runtime.check_invariants()
        return True
    assert ce.run(main)


# -- many goroutines -----------------------------------------------------------------------------

def test_many_parked_goroutines(ce):
    """Thousands of goroutines parked at once, each started when the previous one parked.

    Regression: a fresh greenlet inherits the Python recursion depth of the greenlet that starts
    it, so a chain of goroutines each started from the previous one's park ran out of recursion
    depth after about 120 (RecursionError). Go's test/chan/goroutines.go does 10,000.
    """
    n = 5000

    def main():
        c = ce.Chan()
        for _ in range(n):
            ce.go(c.recv)
        ce.runtime.gosched()
        assert ce.runtime.num_goroutine() == n + 1
        c.close()
        ce.runtime.gosched()
        assert ce.runtime.num_goroutine() == 1
        return True
    assert ce.run(main)


# -- memstats ------------------------------------------------------------------------------------

def test_memstats(ce):
    def main():
        keys = {"goroutines", "sudogs_in_use", "sudogs_cached", "go_stack_bytes", "go_g_bytes",
                "go_sudog_bytes", "go_bytes"}
        ms = ce.runtime.memstats()
        assert keys <= set(ms)
        assert ms["goroutines"] == 1 and ms["sudogs_in_use"] == 0
        c = ce.Chan()
        k = 7
        for i in range(k):
            ce.go(c.send, i)
        ce.runtime.gosched()
        ms = ce.runtime.memstats()
        assert ms["goroutines"] == k + 1 == ce.runtime.num_goroutine()
        assert ms["sudogs_in_use"] == k
        assert ms["go_stack_bytes"] == (k + 1) * 2048      # Go's minimum stack, 2 KiB
        assert ms["go_bytes"] == ms["go_stack_bytes"] + ms["go_g_bytes"] + ms["go_sudog_bytes"]
        assert ms["go_g_bytes"] > 0 and ms["go_sudog_bytes"] > 0
        for _ in range(k):
            c.recv()
        ce.runtime.gosched()
        ms = ce.runtime.memstats()
        assert ms["goroutines"] == 1
        assert ms["sudogs_in_use"] == 0
        assert ms["sudogs_cached"] >= k        # released to the per-P cache, reused next time
        before = ms["sudogs_cached"] + ms["sudogs_in_use"]
        ce.go(c.send, 0)
        ce.runtime.gosched()
        ms = ce.runtime.memstats()
        assert ms["sudogs_in_use"] == 1 and ms["sudogs_cached"] + 1 == before
        c.recv()
        return True
    assert ce.run(main)
