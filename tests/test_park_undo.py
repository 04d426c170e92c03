"""A send or receive whose park is ended by an exception (here the deadlock a thread's default
runtime raises into goroutine 1 at its blocking call) undoes the park: its sudog comes off the
channel's queue and goes back to the cache, a time channel's timer stops counting it as
blocked, and the runtime and the channel keep working. (The C twin does this out of line, in
chan.pxi's park_failed, so that a park's normal path sets up no try block.)"""
from conftest import in_thread


def parked_op_deadlocks(ce, op):
    """op() blocks forever; return the error it raised and the sudogs in use afterwards."""
    try:
        op()
    except ce.Deadlock as e:
        err = e
    else:
        raise AssertionError("the blocking operation returned")
    ce.runtime.check_invariants()
    return err, ce.runtime.memstats()["sudogs_in_use"]


def test_send_undone_by_exception(ce):
    def body():
        c = ce.Chan()
        err, in_use = parked_op_deadlocks(ce, lambda: c.send("v"))
        assert not c.hchan.sendq and not c.hchan.recvq and in_use == 0
        assert c.try_recv() is None          # the value left with the sender: nothing queued
        b = ce.Chan(1)
        b.send(1)
        return err, b.recv()
    err, v = in_thread(body)
    assert isinstance(err, ce.Deadlock) and v == 1


def test_recv_undone_by_exception(ce):
    def body():
        c = ce.Chan()
        err, in_use = parked_op_deadlocks(ce, c.recv)
        assert not c.hchan.sendq and not c.hchan.recvq and in_use == 0
        assert c.try_send(5) is False         # no receiver left queued on it
        return err
    assert isinstance(in_thread(body), ce.Deadlock)


def test_timer_chan_recv_undone_by_exception(ce):
    def body():
        import chanemu.time as ctime
        tm = ctime.new_timer(3600 * 10**9)
        tm.stop()                             # never fires: the receive below blocks forever
        c = tm._ch                            # the channel behind the receive-only tm.c
        err, in_use = parked_op_deadlocks(ce, tm.c.recv)
        assert not c.hchan.recvq and in_use == 0
        assert c.timer.blocked == 0           # the park's block on the timer is undone too
        return err
    assert isinstance(in_thread(body), ce.Deadlock)
