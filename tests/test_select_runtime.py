"""select as seen in the runtime's structs: the compiler's lowerings and their wait reasons, the
sudogs a parked select leaves on every channel (pass 2) and takes back (pass 3), selectDone (two
cases of one select never both fire), send on a closed channel, and bad input.

The select being checked always runs in a goroutine of its own, so the test can look at it while
it is parked (``wait_parked``) and at what it returns once it is woken.
"""

import pytest

from conftest import in_thread, wait_parked


def spawn_select(ce, *cases, default=False):
    """go select(*cases); returns (g, out): out gets the result, or the Panic raised."""
    out = []

    def body():
        try:
            out.append(ce.select(*cases, default=default))
        except ce.Panic as p:
            out.append(p)
    return ce.go(body), out


def queues_empty(*chans):
    return all(not c.hchan.recvq and not c.hchan.sendq for c in chans)


# -- the lowerings and their wait reasons ---------------------------------------------------------

LOWERINGS = {
    # name: (cases(a, b, nil), wait reason, channels waited on)
    "no cases": (lambda a, b, nil: (), "select (no cases)", ()),
    "1 recv": (lambda a, b, nil: (b.recv_case,), "chan receive", ("b",)),
    "1 send": (lambda a, b, nil: (b.send_case,), "chan send", ("b",)),
    "1 recv nil": (lambda a, b, nil: (nil.recv_case,), "chan receive (nil chan)", None),
    "1 send nil": (lambda a, b, nil: (nil.send_case,), "chan send (nil chan)", None),
    "2 cases": (lambda a, b, nil: (a.recv_case, b.send_case), "select", ("a", "b")),
    "2 cases one nil": (lambda a, b, nil: (nil.recv_case, b.recv_case), "select", ("b",)),
    "2 cases all nil": (lambda a, b, nil: (nil.recv_case, nil.send_case), "select", None),
    "2 cases one channel": (lambda a, b, nil: (a.recv_case, a.send_case), "select", ("a",)),
    "5 cases": (lambda a, b, nil: (a.recv_case, b.recv_case, nil.send_case, a.recv_case,
                                   b.send_case), "select", ("a", "b")),
}


class Ends:
    """A channel with ready-made cases on it."""

    def __init__(self, ce, ch):
        self.ch = ch
        self.recv_case = ce.recv(ch)
        self.send_case = ce.send(ch, "v")


@pytest.mark.parametrize("name", list(LOWERINGS))
def test_wait_reason_of_lowering(ce, name):
    """select() -> block() "select (no cases)"; one case -> the plain operation's reason (nil
    variants included); two or more cases -> selectgo's "select", even when all are nil."""
    make, reason, on = LOWERINGS[name]

    def main():
        a, b, nil = Ends(ce, ce.Chan()), Ends(ce, ce.Chan()), Ends(ce, ce.nilchan)
        g, out = spawn_select(ce, *make(a, b, nil))
        wait_parked(ce, g, reason)
        for _ in range(10):
            ce.runtime.gosched()
        assert g.wait_reason == reason and out == []
        if on is not None:
            chans = {"a": a.ch, "b": b.ch}
            assert set(g.waiting_on) == {chans[k] for k in on}
            assert len(g.waiting_on) == len(on)
        ce.runtime.check_invariants()
        return True
    assert ce.run(main, seed=40)


@pytest.mark.parametrize("name", [n for n in LOWERINGS if n != "no cases"])
def test_one_case_plus_default_never_parks(ce, name):
    """With default, nothing parks (selectnbsend/selectnbrecv for one case, selectgo's pass 1
    otherwise) and nothing is left queued: the default is (-1, None, False)."""
    make, _, _ = LOWERINGS[name]

    def main():
        a, b, nil = Ends(ce, ce.Chan()), Ends(ce, ce.Chan()), Ends(ce, ce.nilchan)
        assert ce.select(*make(a, b, nil), default=True) == (-1, None, False)
        assert queues_empty(a.ch, b.ch)
        ce.runtime.check_invariants()
        return True
    assert ce.run(main, seed=41)


def test_default_only(ce):
    """select { default: } is (-1, None, False) and does not yield."""
    def main():
        ran = []
        ce.go(lambda: ran.append(1))
        assert ce.select(default=True) == (-1, None, False)
        assert ran == []        # the new goroutine did not get to run
        return True
    assert ce.run(main, seed=42)


@pytest.mark.parametrize("cases,reason", [("none", "select (no cases)"), ("two", "select")])
def test_main_blocked_in_select_is_a_deadlock(ce, cases, reason):
    """Go: "fatal error: all goroutines are asleep - deadlock!" with goroutine 1 [select] (or
    [select (no cases)]) in the dump."""
    def main():
        if cases == "none":
            ce.select()
        else:
            ce.select(ce.recv(ce.Chan()), ce.send(ce.Chan(), 1))
    with pytest.raises(ce.Deadlock) as ei:
        ce.run(main, seed=43)
    assert str(ei.value) == "all goroutines are asleep - deadlock!"
    assert f"goroutine 1 [{reason}]:" in ei.value.dump


# -- pass 2 and pass 3 in the structs -------------------------------------------------------------

@pytest.mark.parametrize("waker", ["send-to-a", "recv-from-b", "close-c", "send-to-dup"])
def test_parked_select_in_the_structs(ce, waker):
    """While parked: every involved channel's queue holds one sudog per case, is_select True,
    with the goroutine and (for a send case) its value; waiting_on lists every channel once, in
    lock order. After the wakeup: the chosen case's result, and no sudog left anywhere."""
    def main():
        a, b, c, d = ce.Chan(elemtype=int), ce.Chan(), ce.Chan(elemtype=int), ce.Chan()
        cases = (ce.recv(c), ce.send(b, "to-b"), ce.recv(ce.nilchan), ce.recv(a), ce.recv(d),
                 ce.recv(d))
        before = ce.runtime.memstats()["sudogs_in_use"]
        g, out = spawn_select(ce, *cases)
        wait_parked(ce, g, "select")
        # one sudog per non-nil case
        assert ce.runtime.memstats()["sudogs_in_use"] == before + 5
        for ch, q, n in ((a, "recvq", 1), (b, "sendq", 1), (c, "recvq", 1), (d, "recvq", 2)):
            sgs = list(getattr(ch.hchan, q))
            assert len(sgs) == n, (q, sgs)
            for sg in sgs:
                assert sg.g is g and sg.is_select is True and sg.c is ch
                assert sg.elem == ("to-b" if ch is b else None)
            other = ch.hchan.sendq if q == "recvq" else ch.hchan.recvq
            assert not other
        # waiting_on: every channel once, in lock order (the order the channels were made)
        assert g.waiting_on == (a, b, c, d)
        assert ce.nilchan not in g.waiting_on
        ce.runtime.check_invariants()

        if waker == "send-to-a":
            a.send(7)
            want = {(3, 7, True)}
        elif waker == "recv-from-b":
            assert b.recv() == "to-b"
            want = {(1, None, False)}
        elif waker == "close-c":
            c.close()
            want = {(0, 0, False)}              # the zero value of elemtype=int
        else:
            d.send("dd")
            want = {(4, "dd", True), (5, "dd", True)}
        assert g.status == "runnable"
        ce.runtime.gosched()
        assert g.status == "dead" and len(out) == 1 and out[0] in want, out
        assert queues_empty(a, b, c, d)
        assert ce.runtime.memstats()["sudogs_in_use"] == before
        ce.runtime.check_invariants()
        return True
    assert ce.run(main, seed=44)


def test_many_cases(ce):
    """A select of 100 cases (past any small fixed-size order arrays) parks on 100 channels and
    leaves 99 of them clean when the last one fires."""
    def main():
        chans = [ce.Chan() for _ in range(100)]
        cases = [ce.recv(ch) for ch in reversed(chans)]
        g, out = spawn_select(ce, *cases)
        wait_parked(ce, g, "select")
        assert g.waiting_on == tuple(chans)
        assert all([sg.g for sg in ch.hchan.recvq] == [g] for ch in chans)
        chans[0].send("last")
        ce.runtime.gosched()
        assert out == [(99, "last", True)]
        assert queues_empty(*chans)
        # and non-blocking: exactly the one ready case is found among 100
        ready = ce.Chan(1)
        ready.send("r")
        cases2 = cases[:50] + [ce.recv(ready)] + cases[50:]
        assert ce.select(*cases2, default=True) == (50, "r", True)
        assert ce.select(*cases2, default=True) == (-1, None, False)
        ce.runtime.check_invariants()
        return True
    assert ce.run(main, seed=45)


def test_too_many_cases_same_on_both_twins(ce):
    """Go's limit is 65536 cases (reflect.Select panics "too many cases (max 65536)"; selectgo
    indexes cases with uint16). Whatever the twin does past it, both must do the same: refuse."""
    def main():
        ch = ce.Chan()
        case = ce.recv(ch)
        ok = ce.select(*([case] * 65536), default=True)
        assert ok == (-1, None, False)
        with pytest.raises((ValueError, ce.Panic)):
            ce.select(*([case] * 65537), default=True)
        assert queues_empty(ch)
        return True
    assert ce.run(main, seed=46)


# -- selectDone: the winner --------------------------------------------------------------------------
# Once one case of a parked select has fired, the select's other sudogs stay queued until the
# goroutine runs pass 3; waitq.dequeue skips them (and drops them from the queue) meanwhile.

def test_select_done_stale_sudog_is_skipped_by_send(ce):
    def main():
        a, b = ce.Chan(), ce.Chan()
        g, out = spawn_select(ce, ce.recv(a), ce.recv(b))
        wait_parked(ce, g, "select")
        got = []
        h = ce.go(lambda: got.append(b.recv()))
        wait_parked(ce, h, "chan receive")
        assert [sg.g for sg in b.hchan.recvq] == [g, h]
        a.send(1)                 # g wins through a; it has not run yet
        assert g.status == "runnable"
        assert [sg.g for sg in b.hchan.recvq] == [g, h]   # pass 3 has not run
        b.send(2)                 # must skip g's stale sudog and go to h
        assert [sg.g for sg in b.hchan.recvq] == []
        ce.runtime.gosched()
        assert out == [(0, 1, True)] and got == [2]
        assert queues_empty(a, b)
        ce.runtime.check_invariants()
        return True
    assert ce.run(main, seed=47)


def test_select_done_stale_sudog_is_no_receiver(ce):
    """A non-blocking send finds no receiver where only a won select's sudog waits."""
    def main():
        a, b = ce.Chan(), ce.Chan()
        g, out = spawn_select(ce, ce.recv(a), ce.recv(b))
        wait_parked(ce, g, "select")
        a.send(1)
        assert b.try_send(2) is False
        assert ce.select(ce.send(b, 3), ce.send(ce.Chan(), 4), default=True) == (-1, None, False)
        ce.runtime.gosched()
        assert out == [(0, 1, True)]
        assert queues_empty(a, b)
        ce.runtime.check_invariants()
        return True
    assert ce.run(main, seed=48)


def test_select_done_close_skips_stale_sudog(ce):
    """close(b) after a already won: the select reports a's case, not b's close."""
    def main():
        a, b = ce.Chan(), ce.Chan()
        g, out = spawn_select(ce, ce.recv(a), ce.recv(b))
        wait_parked(ce, g, "select")
        a.send(1)
        b.close()
        ce.runtime.gosched()
        assert out == [(0, 1, True)]
        assert queues_empty(a, b)
        ce.runtime.check_invariants()
        return True
    assert ce.run(main, seed=49)


def test_select_done_send_case_loses_to_recv_case(ce):
    """A select with a send case and a receive case: once a sender filled the receive case, a
    receiver must not also take the send case's value."""
    def main():
        a, b = ce.Chan(), ce.Chan()
        g, out = spawn_select(ce, ce.recv(a), ce.send(b, "from-select"))
        wait_parked(ce, g, "select")
        a.send("to-select")
        assert b.try_recv() is None
        ce.runtime.gosched()
        assert out == [(0, "to-select", True)]
        assert queues_empty(a, b)
        return True
    assert ce.run(main, seed=50)


def test_two_selects_race_on_shared_channels(ce):
    """Two parked selects on the same two channels; each value goes to exactly one of them."""
    def main():
        a, b = ce.Chan(), ce.Chan()
        g1, out1 = spawn_select(ce, ce.recv(a), ce.recv(b))
        wait_parked(ce, g1, "select")
        g2, out2 = spawn_select(ce, ce.recv(b), ce.recv(a))
        wait_parked(ce, g2, "select")
        assert [sg.g for sg in a.hchan.recvq] == [g1, g2]
        assert [sg.g for sg in b.hchan.recvq] == [g1, g2]
        a.send("x")         # g1 (first in a's queue)
        b.send("y")         # g1's sudog on b is stale: g2
        assert a.try_send("z") is False
        ce.runtime.gosched()
        assert out1 == [(0, "x", True)] and out2 == [(0, "y", True)]
        assert queues_empty(a, b)
        ce.runtime.check_invariants()
        return True
    assert ce.run(main, seed=51)


# -- closed channels ---------------------------------------------------------------------------------

def test_send_case_on_closed_channel_panics(ce):
    """Pass 1 finds the closed channel: panic, even with other ready cases or a default; and
    nothing is left queued."""
    def main():
        closed, ready = ce.Chan(), ce.Chan(1)
        closed.close()
        for default in (False, True):
            for cases in ((ce.send(closed, 1), ce.recv(ce.Chan())),
                          (ce.send(closed, 1),),
                          (ce.send(closed, 1), ce.send(ce.nilchan, 2))):
                with pytest.raises(ce.Panic) as ei:
                    ce.select(*cases, default=default)
                assert str(ei.value) == "send on closed channel"
        # with a ready case too, the closed send panics whenever it is polled first
        outcomes = set()
        for _ in range(64):
            try:
                i, _, _ = ce.select(ce.send(closed, 1), ce.send(ready, 2))
                outcomes.add(i)
                ready.recv()
            except ce.Panic as p:
                assert str(p) == "send on closed channel"
                outcomes.add("panic")
        assert outcomes == {1, "panic"}
        assert queues_empty(closed, ready)
        return True
    assert ce.run(main, seed=52)


@pytest.mark.parametrize("ncases", [1, 2, 3])
def test_send_case_closed_while_parked_panics(ce, ncases):
    """closechan wakes a select parked on a send case with success == False: the select panics
    "send on closed channel" (as a plain send does), and its other sudogs are released."""
    def main():
        c, other = ce.Chan(), ce.Chan()
        cases = [ce.send(c, 1), ce.recv(other), ce.recv(ce.nilchan)][:ncases]
        g, out = spawn_select(ce, *cases)
        wait_parked(ce, g, "chan send" if ncases == 1 else "select")
        assert [sg.is_select for sg in c.hchan.sendq] == [ncases > 1]
        c.close()
        ce.runtime.gosched()
        assert g.status == "dead"
        assert len(out) == 1 and isinstance(out[0], ce.Panic), out
        assert str(out[0]) == "send on closed channel"
        assert queues_empty(c, other)
        ce.runtime.check_invariants()
        return True
    assert ce.run(main, seed=53)


def test_recv_case_closed_while_parked(ce):
    """A receive case on a channel closed while parked returns (i, zero value, False)."""
    def main():
        c, other = ce.Chan(elemtype=int), ce.Chan(elemtype=str)
        g, out = spawn_select(ce, ce.send(other, "x"), ce.recv(c))
        wait_parked(ce, g, "select")
        c.close()
        ce.runtime.gosched()
        assert out == [(1, 0, False)]
        g, out = spawn_select(ce, ce.recv(ce.Chan()), ce.recv(other))
        wait_parked(ce, g, "select")
        other.close()
        ce.runtime.gosched()
        assert out == [(1, "", False)]
        return True
    assert ce.run(main, seed=54)


# -- pass 1 details ------------------------------------------------------------------------------------

def test_pass1_recv_from_full_buffer_with_waiting_sender(ce):
    """Go's recv: the select takes the buffer's head and the parked sender's value moves into the
    freed slot (the ring stays in order)."""
    def main():
        c = ce.Chan(2)
        c.send(1)
        c.send(2)
        s = ce.go(c.send, 3)
        wait_parked(ce, s, "chan send")
        assert ce.select(ce.recv(c), ce.recv(ce.Chan())) == (0, 1, True)
        assert s.status == "runnable" and not c.hchan.sendq
        assert c.hchan.qcount == 2 and [c.recv(), c.recv()] == [2, 3]
        return True
    assert ce.run(main, seed=55)


def test_pass1_send_to_parked_receiver_and_select(ce):
    """A select's send case hands its value straight to a parked receiver, a plain one or one
    parked in another select."""
    def main():
        c = ce.Chan()
        got = []
        r = ce.go(lambda: got.append(c.recv()))
        wait_parked(ce, r, "chan receive")
        assert ce.select(ce.send(c, "a"), ce.recv(ce.Chan())) == (0, None, False)
        g, out = spawn_select(ce, ce.recv(ce.Chan()), ce.recv(c))
        wait_parked(ce, g, "select")
        assert ce.select(ce.recv(ce.Chan()), ce.send(c, "b")) == (1, None, False)
        ce.runtime.gosched()
        assert got == ["a"] and out == [(1, "b", True)]
        assert queues_empty(c)
        return True
    assert ce.run(main, seed=56)


def test_case_objects_are_reusable(ce):
    """Cases built once, reused in a loop: the send case sends the value it was built with
    each time; a case object is not consumed by a select."""
    def main():
        c = ce.Chan(3)
        sc, rc = ce.send(c, "s"), ce.recv(c)
        for _ in range(3):
            assert ce.select(sc, default=True) == (0, None, False)
        assert ce.select(sc, default=True) == (-1, None, False)
        assert [ce.select(rc, default=True) for _ in range(4)] == \
            [(0, "s", True)] * 3 + [(-1, None, False)]
        g, out = spawn_select(ce, rc, rc)
        wait_parked(ce, g, "select")
        assert ce.select(sc, ce.send(ce.nilchan, 0)) == (0, None, False)
        ce.runtime.gosched()
        assert out[0][1:] == ("s", True)
        return True
    assert ce.run(main, seed=57)


# -- an exception thrown into a parked select --------------------------------------------------------

def test_exception_into_parked_select_undoes_pass_2(ce):
    """In a thread's default runtime, a deadlock is raised into goroutine 1 at its blocking call:
    here, while it is parked in select. Its sudogs must come off every queue."""
    box = {}

    def thread():
        a, b = ce.Chan(), ce.Chan()
        try:
            ce.select(ce.recv(a), ce.send(b, 1), ce.recv(a))
        except ce.Deadlock as e:
            box["err"] = e
        box["clean"] = queues_empty(a, b)
        # the runtime is usable afterwards: a non-blocking select, a buffered round trip
        c = ce.Chan(1)
        assert ce.select(ce.send(c, 5), ce.recv(a)) == (0, None, False)
        assert ce.select(ce.recv(c), ce.recv(a)) == (0, 5, True)
        ce.runtime.check_invariants()
        box["ok"] = True
    in_thread(thread)
    assert isinstance(box.get("err"), ce.Deadlock)
    assert box["clean"] and box["ok"]


# -- bad input ------------------------------------------------------------------------------------

def test_select_rejects_non_cases(ce):
    def main():
        c = ce.Chan(1)
        c.send(1)
        for bad in (1, None, c, "recv", (c,), ce.recv):
            with pytest.raises(TypeError):
                ce.select(bad)
            with pytest.raises(TypeError):
                ce.select(ce.recv(c), bad)
            with pytest.raises(TypeError):
                ce.select(ce.recv(ce.Chan()), bad, default=True)
        # nothing happened: no value taken, nothing queued
        assert len(c) == 1 and queues_empty(c)
        return True
    assert ce.run(main, seed=58)


def test_case_constructors_reject_non_channels(ce):
    def main():
        c = ce.Chan()
        for bad in (3, None, "c", [c], c.hchan):
            with pytest.raises(TypeError):
                ce.recv(bad)
            with pytest.raises(TypeError):
                ce.send(bad, 1)
        with pytest.raises(TypeError):
            ce.send(c)                 # send without a value
        with pytest.raises(TypeError):
            ce.recv()
        with pytest.raises(TypeError):
            ce.recv(c, 1)
        # the nil channel is a channel
        ce.recv(ce.nilchan)
        ce.send(ce.nilchan, 1)
        return True
    assert ce.run(main, seed=59)


def test_select_rejects_unknown_keywords(ce):
    def main():
        with pytest.raises(TypeError):
            ce.select(ce.recv(ce.Chan()), block=False)
        return True
    assert ce.run(main, seed=60)
