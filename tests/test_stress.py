"""A randomized stress test of channels and the scheduler, checked after every operation.

Several goroutines do random sends, receives, non-blocking sends and receives, closes and yields
over several channels of capacities 0..3, while main does non-blocking operations only, so the
program can never deadlock: main is always runnable. After every operation the runtime's
invariants are checked (``runtime.check_invariants()``), and the public view of every channel is
checked against chan.go's header invariants. At the end every channel is closed and drained and a
conservation law is checked:

* every value whose send completed is received exactly once (by a receive, or by the final
  drain), and no value whose send panicked is ever received;
* the values one receiver gets on one channel from one sender come in that sender's order.

Every value is unique: (sender, sequence number). The schedule is deterministic, so the same seed
gives the same run, on either twin.
"""
import collections
import random

import pytest

CAPS = (0, 0, 1, 2, 3)


def check_chan_view(ce, ch):
    """chan.go's invariants, through the public read-only view."""
    h = ch.hchan
    assert 0 <= h.qcount <= h.dataqsiz
    assert len(ch) == h.qcount and ch.cap == h.dataqsiz
    nsend, nrecv = len(h.sendq), len(h.recvq)
    assert not (nsend and nrecv), "both wait queues non-empty without select"
    if h.dataqsiz:
        assert h.sendx == (h.recvx + h.qcount) % h.dataqsiz
        if h.qcount > 0:
            assert nrecv == 0, "qcount > 0 but receivers wait"
        if h.qcount < h.dataqsiz:
            assert nsend == 0, "room in the buffer but senders wait"
        for i in range(h.dataqsiz - h.qcount):
            assert h.buf[(h.sendx + i) % h.dataqsiz] is None, "empty slot not cleared"
    else:
        assert h.qcount == h.sendx == h.recvx == 0
    if h.closed:
        assert nsend == 0 and nrecv == 0, "closed channel with waiters"
    for sg in h.sendq:
        assert sg.c is ch and sg.g.status == "waiting" and sg.g.wait_reason == "chan send"
        assert sg.elem is not None
    for sg in h.recvq:
        assert sg.c is ch and sg.g.status == "waiting" and sg.g.wait_reason == "chan receive"


def stress(ce, seed, nworkers=6, worker_ops=300, main_ops=600):
    """Run one randomized program; returns its event log (deterministic for a seed)."""
    log = []

    def main():
        chans = [ce.Chan(cap) for cap in CAPS]   # the current channel in each slot
        all_chans = list(chans)
        chan_no = {id(c): i for i, c in enumerate(all_chans)}
        sent_ok = set()          # values whose send completed
        panicked = set()         # values whose send panicked
        received = []            # values received with ok
        last_seen = {}           # (receiver, chan, sender) -> last seq received
        stopping = False

        def check():
            ce.runtime.check_invariants()
            for c in chans:
                check_chan_view(ce, c)

        def note_recv(who, c, v, ok):
            if not ok:
                assert v is None, f"closed receive gave {v!r}"
                return
            assert v is not None
            received.append(v)
            key = (who, chan_no[id(c)], v[0])
            assert last_seen.get(key, -1) < v[1], f"{who} got {v} out of order on {key}"
            last_seen[key] = v[1]

        def do_close(who, i):
            c = chans[i]
            try:
                c.close()
            except ce.Panic as e:
                assert str(e) == "close of closed channel"
                log.append((who, "close", chan_no[id(c)], "panic"))
                return
            log.append((who, "close", chan_no[id(c)], "ok"))
            try:
                c.close()
            except ce.Panic as e:
                assert str(e) == "close of closed channel"
            else:
                raise AssertionError("second close did not panic")
            # replace it, so the program keeps going on an open channel in this slot
            n = ce.Chan(c.cap)
            chan_no[id(n)] = len(all_chans)
            all_chans.append(n)
            chans[i] = n

        def worker(w):
            rng = random.Random(seed * 1000 + w)
            seq = 0
            for _ in range(worker_ops):
                if stopping:
                    break
                i = rng.randrange(len(chans))
                c = chans[i]
                if rng.random() < 0.1:
                    # now and then an older channel, most likely closed: its buffered values
                    # stay receivable, then zero values; sends on it panic
                    c = rng.choice(all_chans)
                n = chan_no[id(c)]
                op = rng.random()
                if op < 0.25:
                    v = (w, seq)
                    seq += 1
                    try:
                        c.send(v)
                    except ce.Panic as e:
                        assert str(e) == "send on closed channel"
                        panicked.add(v)
                        log.append((w, "send", n, v, "panic"))
                    else:
                        sent_ok.add(v)
                        log.append((w, "send", n, v))
                elif op < 0.40:
                    v, ok = c.recv_ok()
                    note_recv(w, c, v, ok)
                    log.append((w, "recv", n, v, ok))
                elif op < 0.50:
                    v = c.recv()
                    note_recv(w, c, v, v is not None)
                    log.append((w, "recv1", n, v))
                elif op < 0.65:
                    v = (w, seq)
                    seq += 1
                    try:
                        r = c.try_send(v)
                    except ce.Panic as e:
                        assert str(e) == "send on closed channel"
                        panicked.add(v)
                        r = "panic"
                    if r is True:
                        sent_ok.add(v)
                    log.append((w, "try_send", n, v, r))
                elif op < 0.80:
                    r = c.try_recv()
                    if r is not None:
                        note_recv(w, c, *r)
                    log.append((w, "try_recv", n, r))
                elif op < 0.99:
                    ce.runtime.gosched()
                    log.append((w, "gosched"))
                else:
                    do_close(w, i)
                check()
            log.append((w, "done"))

        rng = random.Random(seed)
        for w in range(nworkers):
            ce.go(worker, w)
        seq = 0
        for _ in range(main_ops):
            i = rng.randrange(len(chans))
            c = chans[i]
            n = chan_no[id(c)]
            op = rng.random()
            if op < 0.30:
                v = ("m", seq)
                seq += 1
                try:
                    r = c.try_send(v)
                except ce.Panic:
                    panicked.add(v)
                    r = "panic"
                if r is True:
                    sent_ok.add(v)
                log.append(("m", "try_send", n, v, r))
            elif op < 0.60:
                r = c.try_recv()
                if r is not None:
                    note_recv("m", c, *r)
                log.append(("m", "try_recv", n, r))
            elif op < 0.995:
                ce.runtime.gosched()
            else:
                do_close("m", i)
            log.append(("m", "goroutines", ce.runtime.num_goroutine(),
                        tuple((len(x), len(x.hchan.sendq), len(x.hchan.recvq)) for x in chans)))
            check()

        # wind down: the workers stop at their next operation; close everything so that the
        # blocked ones wake (receivers with ok False, senders with a panic)
        stopping = True
        rounds = 0
        while True:
            for c in all_chans:
                if not c.hchan.closed:
                    c.close()
            check()
            if ce.runtime.num_goroutine() == 1:
                break
            ce.runtime.gosched()
            rounds += 1
            assert rounds < 100, "workers did not wind down"
        drained = []
        for c in all_chans:
            check_chan_view(ce, c)
            drained.extend(c)              # range: the buffered values, then the end
            assert c.hchan.qcount == 0 and c.hchan.buf == (None,) * c.cap
        everything = received + drained
        assert len(everything) == len(set(everything)), "a value was received twice"
        assert set(everything) == sent_ok, (
            f"lost: {sorted(sent_ok - set(everything))[:5]}, "
            f"invented: {sorted(set(everything) - sent_ok)[:5]}")
        assert not (panicked & sent_ok)
        ce.runtime.check_invariants()
        ms = ce.runtime.memstats()
        assert ms["goroutines"] == 1 and ms["sudogs_in_use"] == 0
        log.append(("summary", len(received), len(drained), len(panicked), len(all_chans)))
        return log

    return ce.run(main, seed=seed)


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_stress(ce, seed):
    log = stress(ce, seed)
    summary = log[-1]
    _, nreceived, ndrained, npanicked, nchans = summary
    # the run did something worth checking
    assert nreceived > 200, summary
    kinds = collections.Counter(e[1] for e in log if isinstance(e[0], int))
    assert kinds["send"] > 50 and kinds["recv"] > 50 and kinds["try_recv"] > 50, kinds


def test_stress_blocking_heavy(ce):
    """More goroutines, more blocking: fewer channels, so queues grow long."""
    log = stress(ce, 99, nworkers=12, worker_ops=150, main_ops=400)
    assert log[-1][1] > 100


def test_stress_is_deterministic(ce):
    """One P and no randomness in the scheduler: the same seed gives the same run."""
    assert stress(ce, 7, worker_ops=100, main_ops=200) == stress(ce, 7, worker_ops=100,
                                                                 main_ops=200)


def test_stress_same_schedule_on_both_twins(ce, impl_name):
    """The C extension schedules exactly as the pure-Python twin does: same seed, same log."""
    if impl_name == "python":
        pytest.skip("compares the C extension against the Python twin")
    log_c = stress(ce, 11, worker_ops=200, main_ops=400)
    ce._set_impl("python")
    try:
        log_py = stress(ce, 11, worker_ops=200, main_ops=400)
    finally:
        ce._set_impl(impl_name)
    assert len(log_c) == len(log_py)
    for i, (a, b) in enumerate(zip(log_c, log_py)):
        assert a == b, f"first difference at event {i}: C {a} vs Python {b}"
