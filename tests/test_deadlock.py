"""Deadlock detection (Go's checkdead), crashes of goroutines, and the nil channel.

Go's messages, checked against Go 1.26 with GOMAXPROCS=1:

    fatal error: all goroutines are asleep - deadlock!

    goroutine 1 [chan receive]:
    main.main()
    ...
    goroutine 18 [chan send (nil chan)]:
    ...
    created by main.main in goroutine 1

and, when main called runtime.Goexit and every other goroutine has ended,
``fatal error: no goroutines (main called runtime.Goexit) - deadlock!``.
"""
import re
import threading

import pytest

from conftest import wait_parked

DEADLOCK = "all goroutines are asleep - deadlock!"


def dump_headers(dump):
    """The ``goroutine N [state]:`` lines of a dump, as {goid: state}."""
    return {int(m.group(1)): m.group(2)
            for m in re.finditer(r"^goroutine (\d+) \[([^\]]*)\]:$", dump, re.M)}


def test_main_blocked_on_receive(ce):
    def main():
        ce.Chan().recv()
    with pytest.raises(ce.Deadlock) as ei:
        ce.run(main)
    e = ei.value
    assert isinstance(e, ce.FatalError)
    assert str(e) == DEADLOCK
    assert "goroutine 1 [chan receive]:" in e.dump
    assert dump_headers(e.dump) == {1: "chan receive"}
    # the dump shows where main was blocked, as Go's traceback does
    assert "test_main_blocked_on_receive.<locals>.main" in e.dump
    assert __file__ in e.dump


def test_main_blocked_on_send(ce):
    def main():
        ce.Chan(2).send(1)
        ce.Chan(1).send(2)
        c = ce.Chan(1)
        c.send(3)
        c.send(4)     # full: blocks forever
    with pytest.raises(ce.Deadlock) as ei:
        ce.run(main)
    assert str(ei.value) == DEADLOCK
    assert dump_headers(ei.value.dump) == {1: "chan send"}


def test_all_goroutines_asleep(ce):
    """Several goroutines blocked on different channels (and the nil channel): each is in the
    dump with its wait reason, and with `created by ... in goroutine 1`."""
    gids = {}

    def main():
        a, b, c = ce.Chan(), ce.Chan(1), ce.Chan()
        b.send(0)
        gids["recv"] = ce.go(a.recv).goid
        gids["send"] = ce.go(b.send, 1).goid
        gids["nilsend"] = ce.go(ce.nilchan.send, 1).goid
        gids["nilrecv"] = ce.go(ce.nilchan.recv).goid
        gids["main"] = ce.Goroutine.current().goid
        c.recv()

    with pytest.raises(ce.Deadlock) as ei:
        ce.run(main)
    e = ei.value
    assert str(e) == DEADLOCK
    assert dump_headers(e.dump) == {
        gids["main"]: "chan receive",
        gids["recv"]: "chan receive",
        gids["send"]: "chan send",
        gids["nilsend"]: "chan send (nil chan)",
        gids["nilrecv"]: "chan receive (nil chan)",
    }
    assert gids["main"] == 1
    assert e.dump.count("in goroutine 1") == 4, e.dump
    # Go lists goroutine 1 first, then the others by goid
    order = [int(m) for m in re.findall(r"^goroutine (\d+) ", e.dump, re.M)]
    assert order == sorted(order) and order[0] == 1


def test_deadlock_after_activity(ce):
    """A program that does real work first, then ends with everyone asleep."""
    def main():
        c = ce.Chan()
        done = ce.Chan()

        def worker():
            for v in c:
                done.send(v * 2)
        ce.go(worker)
        total = 0
        for i in range(100):
            c.send(i)
            total += done.recv()
        assert total == 9900
        done.recv()    # the worker is waiting on c, main on done: deadlock
    with pytest.raises(ce.Deadlock) as ei:
        ce.run(main)
    assert set(dump_headers(ei.value.dump).values()) == {"chan receive"}
    assert len(dump_headers(ei.value.dump)) == 2


def test_nil_chan_parked_goroutine_is_not_deadlock(ce):
    """A goroutine parked forever on the nil channel does not stop main from returning: the
    program ends when main does, and run() returns main's result."""
    def main():
        gs = ce.go(ce.nilchan.send, 1)
        gr = ce.go(ce.nilchan.recv)
        wait_parked(ce, gs, "chan send (nil chan)")
        wait_parked(ce, gr, "chan receive (nil chan)")
        assert gs.waiting_on == (ce.nilchan,) and gr.waiting_on == (ce.nilchan,)
        assert ce.runtime.num_goroutine() == 3
        return "main's result"
    assert ce.run(main) == "main's result"


def test_nil_chan_ops(ce):
    def main():
        n = ce.nilchan
        assert len(n) == 0 and n.cap == 0
        assert n.try_send(1) is False
        assert n.try_recv() is None
        with pytest.raises(ce.Panic) as ei:
            n.close()
        assert str(ei.value) == "close of nil channel"
        return True
    assert ce.run(main)


@pytest.mark.parametrize("op", ["send", "recv", "recv_ok", "range"])
def test_main_blocked_on_nil_chan_is_deadlock(ce, op):
    reason = "chan send (nil chan)" if op == "send" else "chan receive (nil chan)"

    def main():
        n = ce.nilchan
        if op == "send":
            n.send(1)
        elif op == "recv":
            n.recv()
        elif op == "recv_ok":
            n.recv_ok()
        else:
            for _ in n:
                pass
    with pytest.raises(ce.Deadlock) as ei:
        ce.run(main)
    assert dump_headers(ei.value.dump) == {1: reason}


def test_deadlock_default_runtime(ce):
    """Outside run(), the caller is goroutine 1: the deadlock is raised straight into it, and the
    runtime is still usable afterwards (the caller is running, nothing is left queued)."""
    base = ce.runtime.num_goroutine()
    me = ce.Goroutine.current()
    c = ce.Chan()
    with pytest.raises(ce.Deadlock) as ei:
        c.recv()
    assert str(ei.value) == DEADLOCK
    assert f"goroutine {me.goid} [chan receive]:" in ei.value.dump
    # the failed receive left nothing behind
    assert not c.hchan.recvq
    assert me.status == "running" and me.wait_reason is None
    assert ce.Goroutine.current() is me
    ce.runtime.check_invariants()
    # and the runtime works
    g = ce.go(c.send, 42)
    assert c.recv() == 42
    ce.runtime.gosched()
    assert g.status == "dead"
    assert ce.runtime.num_goroutine() == base


def in_fresh_thread(fn):
    """Run fn in a new thread: it gets a fresh default runtime (one per thread), in which fn's
    caller is goroutine 1, and whatever fn leaves behind cannot disturb other tests."""
    out = {}

    def target():
        try:
            out["value"] = fn()
        except BaseException as e:     # re-raised in the test's thread
            out["error"] = e
    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(timeout=60)
    assert not t.is_alive(), "thread hung"
    if "error" in out:
        raise out["error"]
    return out["value"]


def test_deadlock_default_runtime_with_others_blocked(ce):
    """Other goroutines asleep too: all are in the dump; after the deadlock they are still
    parked, and can be woken (here by close) and run to completion: the runtime stays usable.

    Regression: the last goroutine to park is the one whose schedule() finds nothing runnable;
    the Deadlock is thrown into goroutine 1 from that goroutine's greenlet, which stays suspended
    inside findrunnable(). Woken later, it used to come back with no G to run and crash with
    AttributeError 'NoneType' object has no attribute 'atomicstatus' (pure-Python twin). Go has
    no equivalent (a deadlock is fatal there), but chanemu's contract is that the default runtime
    stays usable after a Deadlock.
    """
    def body():
        me = ce.Goroutine.current()
        assert me.goid == 1       # a fresh thread: a fresh default runtime
        a, b = ce.Chan(), ce.Chan()
        ga = ce.go(a.recv_ok)
        gb = ce.go(b.recv_ok)
        with pytest.raises(ce.Deadlock) as ei:
            ce.Chan().send(2)
        headers = dump_headers(ei.value.dump)
        assert headers == {1: "chan send", ga.goid: "chan receive", gb.goid: "chan receive"}
        assert ga.status == gb.status == "waiting"
        assert me.status == "running"
        ce.runtime.check_invariants()
        a.close()
        b.close()
        ce.runtime.gosched()
        assert ga.status == gb.status == "dead"
        assert ce.runtime.num_goroutine() == 1
        return True
    assert in_fresh_thread(body)


def test_deadlock_default_runtime_twice(ce):
    """Two deadlocks in a row in one default runtime, each detected by goroutine 1 itself."""
    def body():
        for _ in range(2):
            with pytest.raises(ce.Deadlock):
                ce.Chan().recv()
        c = ce.Chan(1)
        c.send(1)
        assert c.recv() == 1
        return ce.runtime.num_goroutine()
    assert in_fresh_thread(body) == 1


class Boom(Exception):
    pass


def test_goroutine_exception_escapes_run(ce):
    """An exception escaping a goroutine crashes the program: run() raises the very exception,
    with a note naming the goroutine and where it was created."""
    boom = Boom("x")
    info = {}

    def bad():
        raise boom

    def main():
        g = ce.go(bad)
        info["goid"] = g.goid
        info["created_by"] = g.created_by
        ce.Chan().recv()

    with pytest.raises(Boom) as ei:
        ce.run(main)
    e = ei.value
    assert e is boom
    notes = getattr(e, "__notes__", [])
    assert any(f"goroutine {info['goid']}" in n for n in notes), notes
    assert any(info["created_by"] in n for n in notes), notes


def test_goroutine_exception_while_main_runnable(ce):
    """The crash ends the program even though main is not blocked, only yielding; main does not
    get to run again."""
    after = []

    def main():
        ce.go(lambda: 1 / 0)
        ce.runtime.gosched()
        after.append("main resumed")
        return "finished"

    with pytest.raises(ZeroDivisionError) as ei:
        ce.run(main)
    assert after == []
    assert any("goroutine 2" in n for n in ei.value.__notes__)


def test_goroutine_panic_escapes_run(ce):
    """A Go panic in a goroutine (send on closed channel) is a crash too."""
    def main():
        c = ce.Chan()
        c.close()
        ce.go(c.send, 1)
        ce.Chan().recv()
    with pytest.raises(ce.Panic) as ei:
        ce.run(main)
    assert str(ei.value) == "send on closed channel"
    assert ei.value.__notes__


def test_goroutine_exception_default_runtime(ce):
    """In the default runtime the exception is raised into goroutine 1 at its next yield or
    blocking call, with the note, and the runtime goes on. (In a fresh thread, so a failure
    cannot leave the test thread's default runtime in a bad state.)"""
    boom = Boom("y")

    def bad():
        raise boom

    def body():
        assert ce.Goroutine.current().goid == 1
        g = ce.go(bad)
        with pytest.raises(Boom) as ei:
            ce.runtime.gosched()
        assert ei.value is boom
        assert any(f"goroutine {g.goid}" in n for n in ei.value.__notes__)
        assert g.status == "dead"
        assert ce.runtime.num_goroutine() == 1
        ce.runtime.check_invariants()

        # at a blocking call this time
        c = ce.Chan()
        g2 = ce.go(bad)
        with pytest.raises(Boom):
            c.recv()
        assert not c.hchan.recvq
        assert ce.runtime.num_goroutine() == 1
        g3 = ce.go(c.send, "still works")
        assert c.recv() == "still works"
        ce.runtime.gosched()
        assert g2.status == g3.status == "dead"
        return ce.runtime.num_goroutine()
    assert in_fresh_thread(body) == 1


def test_goroutine_exception_default_runtime_main_thread(ce):
    """The same in the test thread's own default runtime (the REPL case)."""
    base = ce.runtime.num_goroutine()
    g = ce.go(lambda: {}["missing"])
    with pytest.raises(KeyError) as ei:
        ce.runtime.gosched()
    assert any(f"goroutine {g.goid}" in n for n in ei.value.__notes__)
    assert ce.runtime.num_goroutine() == base
    c = ce.Chan(1)
    ce.go(c.send, 5)
    assert c.recv() == 5


def test_goexit_in_main_with_others_blocked(ce):
    """main calls runtime.Goexit while another goroutine is blocked: Go runs main's deferred
    calls, then dies of 'all goroutines are asleep' (goroutine 1 is gone from the dump)."""
    ran = []

    def main():
        c = ce.Chan()
        g = ce.go(c.recv)
        wait_parked(ce, g, "chan receive")
        try:
            ce.runtime.goexit()
        finally:
            ran.append("deferred")

    with pytest.raises(ce.Deadlock) as ei:
        ce.run(main)
    assert ran == ["deferred"]
    assert str(ei.value) == DEADLOCK
    headers = dump_headers(ei.value.dump)
    assert 1 not in headers
    assert list(headers.values()) == ["chan receive"]


def test_goexit_in_main_others_finish(ce):
    """main calls Goexit; the others run to completion: 'no goroutines (main called
    runtime.Goexit) - deadlock!'."""
    ran = []

    def other(c):
        ce.runtime.gosched()
        ran.append("other")
        c.send("from other")   # buffered: does not block

    def main():
        c = ce.Chan(1)
        ce.go(other, c)
        try:
            ce.runtime.goexit()
        finally:
            ran.append("deferred")

    with pytest.raises(ce.FatalError) as ei:
        ce.run(main)
    assert str(ei.value) == "no goroutines (main called runtime.Goexit) - deadlock!"
    assert ran == ["deferred", "other"]


def test_goexit_in_main_others_keep_running(ce):
    """After main's Goexit the program goes on with the others, as in Go; they can still
    communicate, and the end is a fatal error once nothing is left to run."""
    log = []

    def ping(c, d):
        for i in range(3):
            c.send(i)
            log.append(("pong", d.recv()))

    def pong(c, d):
        for _ in range(3):
            d.send(c.recv() * 10)

    def main():
        c, d = ce.Chan(), ce.Chan()
        ce.go(ping, c, d)
        ce.go(pong, c, d)
        ce.runtime.goexit()

    with pytest.raises(ce.FatalError) as ei:
        ce.run(main)
    assert "main called runtime.Goexit" in str(ei.value)
    assert log == [("pong", 0), ("pong", 10), ("pong", 20)]


def test_run_after_deadlock_is_fresh(ce):
    """A deadlocked run() leaves nothing behind: the next run() starts at goroutine 1 again."""
    def bad():
        ce.go(ce.Chan().recv)
        ce.Chan().send(1)

    def good():
        g = ce.go(lambda: None)
        return ce.Goroutine.current().goid, g.goid, ce.runtime.num_goroutine()

    with pytest.raises(ce.Deadlock):
        ce.run(bad)
    assert ce.run(good) == (1, 2, 2)
