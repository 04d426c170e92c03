"""Directional channel views (chan<- T, <-chan T) and chan struct{} (chanemu.Empty), on both twins."""
import pytest

import chanemu.context
import chanemu.time

from conftest import wait_parked

MAXINT64 = (1 << 63) - 1


def hchan_tuple(ch):
    h = ch.hchan
    return (h.qcount, h.dataqsiz, h.sendx, h.recvx, h.elemsize, h.closed)


# -- directional views ----------------------------------------------------------------------------
def test_views_share_the_hchan(ce):
    c = ce.Chan(3)
    s, r = c.send_only(), c.recv_only()
    s.send(1)
    assert s.try_send(2) is True
    assert len(c) == len(s) == len(r) == 2 and c.cap == s.cap == r.cap == 3
    assert r.recv() == 1 and r.recv_ok() == (2, True) and r.try_recv() is None
    s.send(3)
    s.close()
    assert list(r) == [3] and c.hchan.closed == 1 and r.hchan.closed == 1


@pytest.mark.parametrize("op,message", [
    (lambda s, r: s.recv(), "cannot receive from send-only channel"),
    (lambda s, r: s.recv_ok(), "cannot receive from send-only channel"),
    (lambda s, r: s.try_recv(), "cannot receive from send-only channel"),
    (lambda s, r: iter(s), "receive from send-only channel"),
    (lambda s, r: r.send(1), "cannot send to receive-only channel"),
    (lambda s, r: r.try_send(1), "cannot send to receive-only channel"),
    (lambda s, r: r.close(), "cannot close receive-only channel"),
    (lambda s, r: s.recv_only(), "cannot convert"),
    (lambda s, r: r.send_only(), "cannot convert"),
])
def test_wrong_direction_is_gos_compile_error_and_changes_nothing(ce, op, message):
    c = ce.Chan(2)
    c.send("x")
    before = hchan_tuple(c)
    with pytest.raises(TypeError, match=message):
        op(c.send_only(), c.recv_only())
    assert hchan_tuple(c) == before and c.recv() == "x"


def test_views_in_select(ce):
    c = ce.Chan(1)
    s, r = c.send_only(), c.recv_only()
    assert ce.select(ce.send(s, 7), default=True) == (0, None, False)
    assert ce.select(ce.recv(r), ce.recv(ce.nilchan.recv_only())) == (0, 7, True)
    with pytest.raises(TypeError, match="cannot receive from send-only channel"):
        ce.recv(s)
    with pytest.raises(TypeError, match="cannot send to receive-only channel"):
        ce.send(r, 1)
    with pytest.raises(TypeError, match="expected a Chan"):
        ce.recv(object())


def test_blocking_through_views_wakes_the_other_side(ce):
    def main():
        c = ce.Chan()
        r = c.recv_only()
        got = []
        g = ce.go(lambda: got.append(r.recv()))
        wait_parked(ce, g, "chan receive")
        assert len(c.hchan.recvq) == 1
        c.send_only().send("hi")
        ce.runtime.gosched()
        return got

    assert ce.run(main) == ["hi"]


def test_view_identity_equality_and_inspect(ce):
    c, d = ce.Chan(2), ce.Chan(2)
    r, s = c.recv_only(), c.send_only()
    assert r == c and c == r and s == r and r != d and not (r != c) and r != "c"
    assert hash(r) == hash(c) == hash(s) and len({c, r, s}) == 1
    assert r.recv_only() is r and s.send_only() is s
    assert repr(r).startswith("<<-chan ") and repr(s).startswith("<chan<- ")
    c.send(1)
    snap = ce.inspect(r)
    assert snap.dir == "<-chan" and snap.id == ce.inspect(c).id and snap.qcount == 1
    assert ce.inspect(s).dir == "chan<-" and ce.inspect(c).dir == "chan"
    assert "(<-chan)" in str(snap) and snap.to_dict()["dir"] == "<-chan"


def test_time_and_context_channels_are_receive_only(ce):
    from chanemu._chandir import direction

    def main():
        t = chanemu.time.Timer(1)
        tk = chanemu.time.Ticker(1)
        ctx, cancel = chanemu.context.with_cancel(chanemu.context.background())
        chans = [chanemu.time.after(1), chanemu.time.tick(1), t.c, tk.c, ctx.done(),
                 chanemu.context.background().done(), chanemu.time.tick(0)]
        assert all(direction(ch) == "<-chan" for ch in chans)
        assert all(type(ch) is type(ce.Chan().recv_only()) for ch in chans)
        for ch in chans:
            with pytest.raises(TypeError, match="cannot send to receive-only channel"):
                ch.send(None)
        with pytest.raises(TypeError, match="cannot close receive-only channel"):
            ctx.done().close()
        assert ctx.done() is ctx.done()
        v = t.c.recv()
        assert isinstance(v, chanemu.time.Time) and len(t.c) == 0 and t.c.cap == 0
        tk.stop()
        cancel()
        assert ctx.done().recv_ok() == (None, False)      # the API contract's zero value
        return True

    assert ce.run(main, clock="virtual")


# -- chan struct{} ----------------------------------------------------------------------------------
def test_empty_is_one_value():
    from chanemu import Empty
    assert Empty() is Empty() and Empty() == Empty() and str(Empty()) == "{}"
    assert repr(Empty()) == "Empty()"
    with pytest.raises(TypeError):
        class Sub(Empty):
            pass


def test_zero_size_channel_allocates_nothing_for_any_go_size(ce):
    for n in (0, 1, 1 << 44, 1 << 50, MAXINT64):
        c = ce.Chan(n, ce.Empty)
        assert c.cap == n and c.hchan.elemsize == 0 and c.hchan.buf == ()
        ce._impl.check_hchan(c)
    with pytest.raises(ce.Panic, match="makechan: size out of range"):
        ce.Chan(MAXINT64 + 1, ce.Empty)
    with pytest.raises(ce.Panic, match="makechan: size out of range"):
        ce.Chan(-1, ce.Empty)
    assert ce.Chan(3).hchan.elemsize == 8


def test_zero_size_buffer_moves_count_and_indices_as_go(ce):
    E = ce.Empty()
    c = ce.Chan(3, ce.Empty)
    for _ in range(3):
        c.send(E)
    assert hchan_tuple(c) == (3, 3, 0, 0, 0, 0)
    assert c.recv() is E and hchan_tuple(c) == (2, 3, 0, 1, 0, 0)
    c.send(E)
    assert hchan_tuple(c) == (3, 3, 1, 1, 0, 0)
    ce._impl.check_hchan(c)
    c.close()
    assert [v for v in c] == [E, E, E]
    assert c.recv_ok() == (E, False)


def test_zero_size_full_channel_with_a_blocked_sender(ce):
    # recv from a full buffer while a sender waits: the sender's value takes the freed slot
    # (runtime/chan.go recv), here with no slot at all.
    def main():
        E = ce.Empty()
        c = ce.Chan(2, ce.Empty)
        c.send(E)
        c.send(E)
        g = ce.go(c.send, E)
        wait_parked(ce, g, "chan send")
        assert c.recv() is E
        state = hchan_tuple(c)
        ce._impl.check_hchan(c)
        i, v, ok = ce.select(ce.recv(c), ce.recv(ce.Chan()))
        return state, (i, v is E, ok), hchan_tuple(c)

    state, sel, after = ce.run(main)
    assert state == (2, 2, 1, 1, 0, 0)
    assert sel == (0, True, True) and after == (1, 2, 1, 0, 0, 0)


def test_zero_size_channel_takes_only_empty(ce):
    c = ce.Chan(1, ce.Empty)
    for bad in (None, 0, (), object()):
        with pytest.raises(TypeError, match="struct"):
            c.send(bad)
        with pytest.raises(TypeError, match="struct"):
            c.try_send(bad)
        with pytest.raises(TypeError, match="struct"):
            ce.send(c, bad)
        with pytest.raises(TypeError, match="struct"):
            c.send_only().send(bad)
    assert len(c) == 0
    u = ce.Chan(0, ce.Empty)
    assert u.try_send(ce.Empty()) is False and u.hchan.elemsize == 0


def test_zero_size_unbuffered_handoff_and_inspect(ce):
    def main():
        c = ce.Chan(0, ce.Empty)
        g = ce.go(c.send, ce.Empty())
        wait_parked(ce, g, "chan send")
        snap = ce.inspect(c)
        assert "hchan" in str(snap) and snap.to_svg().startswith("<svg")
        big = ce.Chan(1 << 50, ce.Empty)
        big.send(ce.Empty())
        s = str(ce.inspect(big))
        assert "zero-size" in s and "elemsize=0" in ce.inspect(big).to_svg()
        return c.recv(), snap.elemsize, len(snap.sendq)

    v, elemsize, waiting = ce.run(main)
    assert v is ce.Empty() and elemsize == 0 and waiting == 1


def test_leak_detection_sees_channels_through_views(ce):
    import chanemu.pprof as pprof

    def main():
        held, lost = ce.Chan(), ce.Chan()
        ce.go(held.send_only().send, 1)
        g = ce.go(lost.recv_only().recv)
        keep = held.recv_only()          # main can still receive: its sender is not leaked
        del lost
        wait_parked(ce, g, "chan receive")
        prof = pprof.goroutine_leak_profile()
        keep.recv()
        return prof

    prof = ce.run(main)
    assert "goroutineleak profile: total 1" in prof and "Chan.recv" in prof


def test_view_operations_are_traced_as_the_channels(ce):
    def main():
        rt = ce._impl.current_runtime()
        events = []
        rt.tracer = lambda kind, g, arg: (kind == "chan" and
                                          events.append((arg[0], arg[1] is c, arg[2])))
        ce._impl.set_chan_tracing(True)
        try:
            s, r = c.send_only(), c.recv_only()
            s.send(1)
            s.try_send(2)
            r.recv()
            r.try_recv()
            s.close()
            r.recv_ok()
        finally:
            ce._impl.set_chan_tracing(False)
            rt.tracer = None
        return events

    c = ce.Chan(1)
    assert ce.run(main) == [("send", True, True), ("recv", True, True), ("close", True, True),
                            ("recv", True, False)]
