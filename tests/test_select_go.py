"""Go's runtime/chan_test.go select tests, ported: TestSelfSelect, TestSelectStress,
TestSelectFairness, TestPseudoRandomSend, TestSelectDuplicateChannel, TestNonblockSelectRace,
TestNonblockSelectRace2, TestChanSendInterface; and the seed: one seed gives one sequence of
select choices, the same on both twins, and it is Go's (Fisher-Yates over wyrand's cheaprandn).

Go's sync.WaitGroup becomes a buffered ``done`` channel; its ``time.Sleep`` "to make sure a
goroutine is queued" becomes ``wait_parked``, which is exact on one P.
"""
import collections

import pytest

from conftest import wait_parked


def wait_all(done, n):
    """wg.Wait() for n goroutines that each send once on done."""
    for _ in range(n):
        done.recv()


# -- TestSelfSelect ------------------------------------------------------------------------------

@pytest.mark.parametrize("chan_cap", [0, 10])
def test_self_select(ce, chan_cap):
    """Send and receive on the same channel in one select does not crash nor deadlock, and
    (unbuffered) a select never receives its own value."""
    def main():
        done = ce.Chan(2)
        c = ce.Chan(chan_cap)
        errors = []
        counts = collections.Counter()

        def worker(p):
            try:
                for i in range(1000):
                    if p == 0 or i % 2 == 0:
                        idx, v, _ = ce.select(ce.send(c, p), ce.recv(c))
                        recvd = idx == 1
                    else:
                        idx, v, _ = ce.select(ce.recv(c), ce.send(c, p))
                        recvd = idx == 0
                    counts[p, recvd] += 1
                    if recvd and chan_cap == 0 and v == p:
                        errors.append("self receive")
                        return
            finally:
                done.send(True)
        ce.go(worker, 0)
        ce.go(worker, 1)
        wait_all(done, 2)
        assert errors == []
        assert sum(counts.values()) == 2000
        # every send met a receive (buffered: leftovers stay in the buffer)
        sends = counts[0, False] + counts[1, False]
        recvs = counts[0, True] + counts[1, True]
        assert sends - recvs == len(c)
        assert not c.hchan.recvq and not c.hchan.sendq
        ce.runtime.check_invariants()
        return True
    assert ce.run(main, seed=20)


# -- TestSelectStress ----------------------------------------------------------------------------
# Go: N = 1e5 (1e4 with -short) and GOMAXPROCS(10). Here: N = 1e4 on one P, the same shape.

SELECT_STRESS_N = 10_000


@pytest.mark.parametrize("seed", [21, 22])
def test_select_stress(ce, seed):
    N = SELECT_STRESS_N

    def main():
        c = [ce.Chan(), ce.Chan(), ce.Chan(2), ce.Chan(3)]
        # There are 4 goroutines that send N values on each of the chans,
        # + 4 goroutines that receive N values on each of the chans,
        # + 1 goroutine that sends N values on each of the chans in a single select,
        # + 1 goroutine that receives N values on each of the chans in a single select.
        # All these sends, receives and selects interact chaotically at runtime,
        # but we are careful that this whole construct does not deadlock.
        wg = ce.Chan(10)
        picked = {"send": [0] * 4, "recv": [0] * 4}

        def plain_sender(k):
            for _ in range(N):
                c[k].send(0)
            wg.send(True)

        def plain_receiver(k):
            for _ in range(N):
                c[k].recv()
            wg.send(True)

        for k in range(4):
            ce.go(plain_sender, k)
            ce.go(plain_receiver, k)

        def select_sender():
            n = [0] * 4
            c1 = list(c)
            order = [3, 2, 0, 1]        # Go's case order
            for _ in range(4 * N):
                i, _, _ = ce.select(*(ce.send(c1[k], 0) for k in order))
                k = order[i]
                n[k] += 1
                if n[k] == N:
                    c1[k] = ce.nilchan
            picked["send"] = n
            wg.send(True)

        def select_receiver():
            n = [0] * 4
            c1 = list(c)
            for _ in range(4 * N):
                k, _, _ = ce.select(*(ce.recv(ch) for ch in c1))
                n[k] += 1
                if n[k] == N:
                    c1[k] = ce.nilchan
            picked["recv"] = n
            wg.send(True)

        ce.go(select_sender)
        ce.go(select_receiver)
        wait_all(wg, 10)
        assert picked == {"send": [N] * 4, "recv": [N] * 4}
        for ch in c:
            assert len(ch) == 0 and not ch.hchan.recvq and not ch.hchan.sendq
        ce.runtime.check_invariants()
        return True
    assert ce.run(main, seed=seed)


# -- TestSelectFairness --------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [23, 24, 25])
def test_select_fairness(ce, seed):
    """Two of four cases always ready: in 10,000 trials each is chosen about half the time. Go's
    bound: within 10 sigma of the mean ("10 sigma is a lot, but we're ok with some systematic bias
    as long as it isn't too severe")."""
    trials = 10_000

    def main():
        c1 = ce.Chan(trials + 1)
        c2 = ce.Chan(trials + 1)
        for _ in range(trials + 1):
            c1.send(1)
            c2.send(2)
        c3 = ce.Chan()
        c4 = ce.Chan()
        out = ce.Chan()
        done = ce.Chan()
        wg = ce.Chan(1)

        def chooser():
            try:
                while True:
                    _, b, _ = ce.select(ce.recv(c3), ce.recv(c4), ce.recv(c1), ce.recv(c2))
                    i, _, _ = ce.select(ce.send(out, b), ce.recv(done))
                    if i == 1:
                        return
            finally:
                wg.send(True)
        ce.go(chooser)
        cnt1 = cnt2 = 0
        for _ in range(trials):
            b = out.recv()
            if b == 1:
                cnt1 += 1
            elif b == 2:
                cnt2 += 1
            else:
                raise AssertionError(f"unexpected value {b} on channel")
        # If the select in the goroutine is fair, cnt1 and cnt2 should be about the same value.
        # See if we're more than 10 sigma away from the expected value.
        mean = trials * 0.5
        stddev = (trials * 0.5 * (1 - 0.5)) ** 0.5
        assert abs(cnt1 - mean) <= 10 * stddev, \
            f"unfair select: in {trials} trials, results were {cnt1}, {cnt2}"
        done.close()
        wg.recv()
        return cnt1, cnt2
    cnt1, cnt2 = ce.run(main, seed=seed)
    assert cnt1 + cnt2 == trials


def chi_square(counts, n):
    k = len(counts)
    e = n / k
    return sum((c - e) ** 2 / e for c in counts)


@pytest.mark.parametrize("shape", ["4-recv", "mixed", "duplicates", "with-nil"])
def test_select_uniform_chi_square(ce, shape):
    """Among ready cases the choice is uniform: 20,000 selects, chi-square against the uniform
    distribution. Bound 30 for at most 3 degrees of freedom (p < 2e-6 for a fair choice; a
    biased one, e.g. always the first ready case or a 60/40 split, scores in the thousands)."""
    N = 20_000

    def main():
        a, b, c, d = ce.Chan(N), ce.Chan(N), ce.Chan(N), ce.Chan(N)
        for ch in (a, b, c):
            for _ in range(N):
                ch.send(0)
        if shape == "4-recv":
            d.send(0)
            cases = (ce.recv(a), ce.recv(b), ce.recv(c), ce.recv(d))
            ready = [0, 1, 2, 3]
        elif shape == "mixed":          # receives from full channels, sends to empty ones
            cases = (ce.recv(a), ce.send(d, 1), ce.recv(b), ce.send(ce.Chan(N), 2))
            ready = [0, 1, 2, 3]
        elif shape == "duplicates":     # cases may repeat a channel
            cases = (ce.recv(a), ce.recv(a), ce.recv(b))
            ready = [0, 1, 2]
        else:                           # nil and never-ready cases are never chosen
            cases = (ce.recv(ce.nilchan), ce.recv(a), ce.recv(ce.Chan()), ce.recv(b),
                     ce.send(ce.nilchan, 0), ce.recv(c))
            ready = [1, 3, 5]
        counts = collections.Counter()
        for _ in range(N):
            i, _, _ = ce.select(*cases)
            counts[i] += 1
            if shape == "4-recv":
                d.send(0)
        assert set(counts) == set(ready), counts
        x2 = chi_square([counts[i] for i in ready], N)
        assert x2 < 30, (x2, counts)
        return True
    assert ce.run(main, seed=26)


# -- TestPseudoRandomSend ------------------------------------------------------------------------

@pytest.mark.parametrize("chan_cap", [0, 100])
def test_pseudo_random_send(ce, chan_cap):
    """Two send cases on one channel: both values must show up (more than n/10 of each). With an
    unbuffered channel the select parks with two sudogs on one queue, and which one the receiver
    takes first is decided by lock order, which keeps poll order among duplicates."""
    n = 100

    def main():
        c = ce.Chan(chan_cap)
        l = [None] * n
        m = ce.Chan()           # Go's locked sync.Mutex: unlocked by the receiver when done

        def receiver():
            for i in range(n):
                ce.runtime.gosched()
                l[i] = c.recv()
            m.send(None)
        ce.go(receiver)
        for _ in range(n):
            ce.select(ce.send(c, 1), ce.send(c, 0))
        m.recv()   # wait
        n0 = sum((i + 1) % 2 for i in l)
        n1 = sum(l)
        assert n0 > n // 10 and n1 > n // 10, \
            f"Want pseudorandom, got {n0} zeros and {n1} ones (chan cap {chan_cap})"
        return True
    for seed in (27, 28):
        assert ce.run(main, seed=seed)


def test_pseudo_random_send_parks_twice_on_one_queue(ce):
    """TestPseudoRandomSend's unbuffered shape, seen in the struct: the parked select has two
    sudogs on c.sendq, one per case, both is_select, carrying the two values."""
    def main():
        c = ce.Chan()
        res = []
        g = ce.go(lambda: res.append(ce.select(ce.send(c, 1), ce.send(c, 0))))
        wait_parked(ce, g, "select")
        q = list(c.hchan.sendq)
        assert [sg.g for sg in q] == [g, g] and all(sg.is_select for sg in q)
        assert sorted(sg.elem for sg in q) == [0, 1]
        assert g.waiting_on == (c,)
        first = q[0].elem
        assert c.recv() == first       # the receiver takes the head of the queue ...
        ce.runtime.gosched()
        assert res == [(0 if first == 1 else 1, None, False)]
        assert not c.hchan.sendq       # ... and the other sudog left with pass 3
        ce.runtime.check_invariants()
        return True
    assert ce.run(main, seed=29)


# -- TestSelectDuplicateChannel ------------------------------------------------------------------

def test_select_duplicate_channel(ce):
    """This test makes sure we can queue a G on the same channel multiple times."""
    def main():
        c = ce.Chan()
        d = ce.Chan()
        e = ce.Chan()

        # goroutine A
        def a():
            ce.select(ce.recv(c), ce.recv(c), ce.recv(d))
            e.send(9)
        ga = ce.go(a)
        wait_parked(ce, ga, "select")   # make sure goroutine A gets queued first on c
        assert [sg.g for sg in c.hchan.recvq] == [ga, ga]

        # goroutine B
        gb = ce.go(lambda: c.recv())
        wait_parked(ce, gb, "chan receive")   # make sure B gets queued on c before continuing
        assert [sg.g for sg in c.hchan.recvq] == [ga, ga, gb]

        d.send(7)   # wake up A, it dequeues itself from c. This operation used to corrupt c.recvq.
        assert e.recv() == 9   # A tells us it's done
        assert [sg.g for sg in c.hchan.recvq] == [gb]
        ce.runtime.check_invariants()
        # wake up B. This operation used to fail because c.recvq was corrupted (it tries to wake
        # up an already running G instead of B)
        c.send(8)
        ce.runtime.gosched()
        assert ga.status == gb.status == "dead"
        assert not c.hchan.recvq and not d.hchan.recvq
        return True
    assert ce.run(main, seed=30)


# -- TestNonblockSelectRace, TestNonblockSelectRace2 ---------------------------------------------
# Go: n = 100000 (1000 with -short); 10000 here.

NONBLOCK_RACE_N = 10_000


def test_nonblock_select_race(ce):
    """A select with default must not take the default when one of its channels is ready: c1
    was ready, then c2 is made ready before c1 is drained."""
    def main():
        done = ce.Chan(1)
        for _ in range(NONBLOCK_RACE_N):
            c1 = ce.Chan(1)
            c2 = ce.Chan(1)
            c1.send(1)

            def f():
                i, _, _ = ce.select(ce.recv(c1), ce.recv(c2), default=True)
                done.send(i != -1)
            ce.go(f)
            c2.send(1)
            ce.select(ce.recv(c1), default=True)
            assert done.recv(), "no chan is ready"
        return True
    assert ce.run(main, seed=31)


def test_nonblock_select_race2(ce):
    """The same with c2 closed instead of sent to."""
    def main():
        done = ce.Chan(1)
        for _ in range(NONBLOCK_RACE_N):
            c1 = ce.Chan(1)
            c2 = ce.Chan()
            c1.send(1)

            def f():
                i, _, _ = ce.select(ce.recv(c1), ce.recv(c2), default=True)
                done.send(i != -1)
            ce.go(f)
            c2.close()
            ce.select(ce.recv(c1), default=True)
            assert done.recv(), "no chan is ready"
        return True
    assert ce.run(main, seed=32)


# -- TestChanSendInterface -----------------------------------------------------------------------

def test_chan_send_interface(ce):
    """Sending an interface value (any object) in selects with default, to a full channel."""
    class MT:
        pass

    def main():
        m = MT()
        c = ce.Chan(1)
        c.send(m)
        assert ce.select(ce.send(c, m), default=True) == (-1, None, False)
        assert ce.select(ce.send(c, m), ce.send(c, MT()), default=True) == (-1, None, False)
        assert c.recv() is m
        assert ce.select(ce.send(c, m), ce.send(c, MT()), default=True)[0] in (0, 1)
        return True
    assert ce.run(main, seed=33)


# -- the seed ------------------------------------------------------------------------------------

def seed_program(ce):
    """A program whose output is the sequence of select choices: non-blocking selects over ready
    buffered channels (with nil and duplicate cases), blocking selects woken by goroutines, and
    TestPseudoRandomSend's duplicate-channel send."""
    def main():
        out = []
        chans = [ce.Chan(1000) for _ in range(5)]
        for ch in chans:
            for i in range(300):
                ch.send(i)
        cases = [ce.recv(ch) for ch in chans] + [ce.recv(chans[0]), ce.recv(ce.nilchan)]
        for _ in range(200):
            out.append(ce.select(*cases)[0])
        for n in range(2, 7):
            for _ in range(20):
                out.append(ce.select(*cases[:n], default=True)[0])
        # blocking: two sends on one unbuffered channel, and a select woken by a goroutine
        c = ce.Chan()
        for _ in range(50):
            ce.go(c.recv)
            out.append(ce.select(ce.send(c, 0), ce.send(c, 1), ce.recv(ce.Chan()))[0])
        x, y = ce.Chan(), ce.Chan()
        for i in range(50):
            ce.go(lambda: ce.select(ce.send(x, "x"), ce.send(y, "y")))
            ce.go(lambda: ce.select(ce.send(x, "x2"), ce.send(y, "y2")))
            ce.runtime.gosched()
            out.append(ce.select(ce.recv(x), ce.recv(y))[1])
            out.append(ce.select(ce.recv(x), ce.recv(y))[1])
        return out
    return main


def test_seed_same_sequence_on_both_twins(ce):
    """run(main, seed=N): the same seed gives the same sequence of choices, on either twin; a
    different seed gives a different sequence."""
    import chanemu
    start = chanemu.IMPL
    results = {}
    try:
        for impl in ("c", "python"):
            try:
                chanemu._set_impl(impl)
            except ImportError:
                pytest.skip("the C extension is not built")
            for seed in (1, 2, 12345, 2 ** 64 - 1):
                results[impl, seed] = chanemu.run(seed_program(chanemu), seed=seed)
                # the same seed again, the same choices
                assert chanemu.run(seed_program(chanemu), seed=seed) == results[impl, seed]
    finally:
        chanemu._set_impl(start)
    for seed in (1, 2, 12345, 2 ** 64 - 1):
        assert results["c", seed] == results["python", seed], seed
    seqs = [tuple(results["c", s]) for s in (1, 2, 12345, 2 ** 64 - 1)]
    assert len(set(seqs)) == len(seqs)
    # and the choices are spread over every ready case
    assert set(results["python", 1][:200]) == {0, 1, 2, 3, 4, 5}


def test_seed_none_is_random(ce):
    """Without a seed, two runs (almost surely) choose differently."""
    seqs = {tuple(ce.run(seed_program(ce))) for _ in range(3)}
    assert len(seqs) > 1


class GoRand:
    """Go's cheaprand (wyrand, as on amd64) and cheaprandn, written here from runtime/rand.go as
    an independent oracle. The state starts at the seed (chanemu's seeding)."""
    M64 = (1 << 64) - 1

    def __init__(self, seed):
        self.s = seed & self.M64

    def cheaprandn(self, n):
        self.s = (self.s + 0xa0761d6478bd642f) & self.M64
        prod = self.s * (self.s ^ 0xe7037ed1a0b428db)
        hi, lo = prod >> 64, prod & self.M64
        r = (hi ^ lo) & 0xFFFFFFFF               # uint32(hi ^ lo)
        return (r * n) >> 32


def go_pollorder(rnd, cases_nil):
    """select.go's pollorder: Fisher-Yates (inside-out) over the non-nil cases."""
    pollorder = []
    for i, isnil in enumerate(cases_nil):
        if isnil:
            continue        # Omit cases without channels from the poll and lock orders.
        j = rnd.cheaprandn(len(pollorder) + 1)
        pollorder.append(None)
        pollorder[-1] = pollorder[j]
        pollorder[j] = i
    return pollorder


@pytest.mark.parametrize("seed", [0, 7, 99, 2 ** 63 + 5])
def test_pollorder_is_gos(ce, seed):
    """Pass 1 polls the cases in Go's pollorder and takes the first that can proceed: with the
    generator mirrored here, every choice of a run is predicted exactly (nil cases draw no random
    number; 1-case selects draw none either, being plain operations)."""
    shapes = [
        # (is nil, is ready) per case
        [(False, True), (False, True)],
        [(False, True), (False, True), (False, True), (False, True), (False, True)],
        [(True, False), (False, True), (False, False), (False, True), (True, False)],
        [(False, False), (False, False), (False, True)],
        [(False, True)],
        [(True, False), (False, True), (True, False)],
    ]

    def main():
        ready = ce.Chan(100_000)
        for _ in range(100_000):
            ready.send(0)
        chans = {True: ready, False: ce.Chan()}
        got = []
        for rep in range(300):
            shape = shapes[rep % len(shapes)]
            cases = [ce.recv(ce.nilchan) if isnil else ce.recv(chans[isready])
                     for isnil, isready in shape]
            got.append(ce.select(*cases, default=True)[0])
        return got

    got = ce.run(main, seed=seed)
    rnd = GoRand(seed)
    want = []
    for rep in range(300):
        shape = shapes[rep % len(shapes)]
        if len(shape) == 1:
            want.append(0 if shape[0][1] else -1)
            continue
        order = go_pollorder(rnd, [isnil for isnil, _ in shape])
        want.append(next((i for i in order if shape[i][1]), -1))
    assert got == want


def go_lockorder(pollorder, keys):
    """select.go's lockorder: a heap sort of the pollorder by channel (sortkey), which is not
    stable, so cases on one channel keep a pollorder-dependent order."""
    lockorder = [0] * len(pollorder)
    for i in range(len(lockorder)):
        j = i
        # Start with the pollorder to permute cases on the same channel.
        c = keys[pollorder[i]]
        while j > 0 and keys[lockorder[(j - 1) // 2]] < c:
            k = (j - 1) // 2
            lockorder[j] = lockorder[k]
            j = k
        lockorder[j] = pollorder[i]
    for i in range(len(lockorder) - 1, -1, -1):
        o = lockorder[i]
        c = keys[o]
        lockorder[i] = lockorder[0]
        j = 0
        while True:
            k = j * 2 + 1
            if k >= i:
                break
            if k + 1 < i and keys[lockorder[k]] < keys[lockorder[k + 1]]:
                k += 1
            if c < keys[lockorder[k]]:
                lockorder[j] = lockorder[k]
                j = k
                continue
            break
        lockorder[j] = o
    return lockorder


@pytest.mark.parametrize("seed", [3, 1234])
def test_lockorder_is_gos(ce, seed):
    """Pass 2 queues the sudogs in Go's lock order: a select parked with several send cases on
    one channel (and cases on channels made before and after it) is served, by a receiver that
    comes later, the case that Go's heap sort of Go's pollorder puts first among that channel's
    cases. Channels sort by creation (chanemu's sortkey stands in for the hchan address)."""
    def main():
        before, c, after = ce.Chan(), ce.Chan(), ce.Chan()
        got = []
        for rep in range(150):
            ndup = 2 + rep % 4
            cases = [ce.send(c, k) for k in range(ndup)]
            cases.insert(rep % (ndup + 1), ce.recv(after))
            cases.insert(rep % 3, ce.send(before, "b"))
            ce.go(lambda: got.append(c.recv()))     # runs once main has parked
            i, v, ok = ce.select(*cases)
            assert cases[i].c is c and got[-1] == cases[i].elem
            assert not before.hchan.sendq and not after.hchan.recvq
            got[-1] = i
        return got

    got = ce.run(main, seed=seed)
    rnd = GoRand(seed)
    want = []
    for rep in range(150):
        ndup = 2 + rep % 4
        kinds = ["c"] * ndup
        kinds.insert(rep % (ndup + 1), "after")
        kinds.insert(rep % 3, "before")
        keys = [{"before": 0, "c": 1, "after": 2}[k] for k in kinds]
        lock = go_lockorder(go_pollorder(rnd, [False] * len(kinds)), keys)
        want.append(next(i for i in lock if kinds[i] == "c"))
    assert got == want


def test_duplicate_cases_queue_in_random_order(ce):
    """The order a select's cases on one channel wait in is random (lock order keeps poll order
    among them): a receiver arriving after the select parked takes either send case. 400 trials:
    each at least 100 times (the mean is 200, sigma 10: the bound is 10 sigma)."""
    def main():
        c = ce.Chan()
        counts = collections.Counter()
        for _ in range(400):
            ce.go(c.recv)
            i, _, _ = ce.select(ce.send(c, 0), ce.send(c, 1))
            counts[i] += 1
        return counts
    counts = ce.run(main, seed=35)
    assert min(counts[0], counts[1]) >= 100, counts
