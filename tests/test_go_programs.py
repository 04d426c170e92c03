"""Go's own channel test programs (go/test/*.go), ported: closedchan, chancap, chan/fifo,
chan/goroutines, chan/nonblock, chan/sieve1, chan/zerosize.

Each Go program is a ``main``; here each runs as ``ce.run(main)``, a fresh emulated program.
"""
import pytest

from conftest import wait_parked


def panics(ce, f, msg):
    """Go's shouldPanic: f must panic with exactly msg."""
    with pytest.raises(ce.Panic) as ei:
        f()
    assert str(ei.value) == msg
    return ei.value


# -- test/closedchan.go --------------------------------------------------------------------------
# Go wraps one chan int in three method sets: XChan (the <- operator), SChan (a one-case select)
# and SSChan (a select with an extra case on a channel that is never ready). Ours: direct calls,
# and, where the twin has select, the two select shapes.

class XChan:
    """The direct operations."""
    impl = "(<- operator)"

    def __init__(self, ce, c):
        self.ce, self.c = ce, c

    def send(self, x):
        self.c.send(x)

    def nbsend(self, x):
        return self.c.try_send(x)

    def recv(self):
        return self.c.recv()

    def nbrecv(self):
        r = self.c.try_recv()
        return (0, False) if r is None else (r[0], True)

    def recv2(self):
        return self.c.recv_ok()

    def nbrecv2(self):
        r = self.c.try_recv()
        return (0, False, False) if r is None else (r[0], r[1], True)

    def close(self):
        self.c.close()


class SChan(XChan):
    """The same through select (reflect.Select shapes): one case, plus default when non-blocking."""
    impl = "(select)"
    extra = ()

    def _cases(self, case):
        return (case,) + tuple(self.ce.recv(d) for d in self.extra)

    def send(self, x):
        i, _, _ = self.ce.select(*self._cases(self.ce.send(self.c, x)))
        assert i == 0

    def nbsend(self, x):
        i, _, _ = self.ce.select(*self._cases(self.ce.send(self.c, x)), default=True)
        return i == 0

    def recv(self):
        i, v, _ = self.ce.select(*self._cases(self.ce.recv(self.c)))
        assert i == 0
        return v

    def nbrecv(self):
        i, v, _ = self.ce.select(*self._cases(self.ce.recv(self.c)), default=True)
        return (0, False) if i == -1 else (v, True)

    def recv2(self):
        i, v, ok = self.ce.select(*self._cases(self.ce.recv(self.c)))
        assert i == 0
        return v, ok

    def nbrecv2(self):
        i, v, ok = self.ce.select(*self._cases(self.ce.recv(self.c)), default=True)
        return (0, False, False) if i == -1 else (v, ok, True)


class SSChan(SChan):
    """A larger select: an extra receive case on a channel that never becomes ready."""

    def __init__(self, ce, c):
        super().__init__(ce, c)
        self.extra = (ce.Chan(),)    # Go's dummy


MKS = {"direct": XChan, "select": SChan, "select2": SSChan}


def make_chan(ce, kind, c):
    return MKS[kind](ce, c)


def closed_test1(ce, c):
    """closedchan.go test1: every way of receiving from a closed, drained channel gives 0 (ok
    false) without blocking, three times over; sends panic and their value is discarded."""
    for _ in range(3):
        # a closed, drained channel yields the zero value at once
        assert c.recv() == 0, f"test1: recv on closed {c.impl}"
        assert c.recv2() == (0, False), f"test1: recv2 on closed {c.impl}"
        # the non-blocking forms report selected: a closed channel never makes them wait
        assert c.nbrecv() == (0, True), f"test1: recv on closed nb {c.impl}"
        assert c.nbrecv2() == (0, False, True), f"test1: recv2 on closed nb {c.impl}"

    # send should panic with the non-blocking form too
    panics(ce, lambda: c.nbsend(1), "send on closed channel")
    # the panicking send left nothing in the channel
    assert c.recv() == 0, f"test1: recv on closed got non-zero after send on closed {c.impl}"
    # similarly Send.
    panics(ce, lambda: c.send(2), "send on closed channel")
    assert c.recv() == 0, f"test1: recv on closed got non-zero after send on closed {c.impl}"


def closed_sync(ce):
    c = ce.Chan(elemtype=int)
    c.close()
    return c


def closed_async(ce):
    c = ce.Chan(2, elemtype=int)
    c.send(1)
    c.close()
    return c


def check_async1(ce, c):
    # the buffered value still comes out first (recv)
    assert c.recv() == 1, f"check_async1: Recv did not get 1 {c.impl}"
    closed_test1(ce, c)


def check_async2(ce, c):
    # the buffered value still comes out first (recv2)
    assert c.recv2() == (1, True), f"check_async2: Recv2 did not get 1, true {c.impl}"
    closed_test1(ce, c)


def check_async3(ce, c):
    # the buffered value still comes out first (nbrecv)
    assert c.nbrecv() == (1, True), f"check_async3: Nbrecv did not get 1, true {c.impl}"
    closed_test1(ce, c)


def check_async4(ce, c):
    # the buffered value still comes out first (nbrecv2)
    assert c.nbrecv2() == (1, True, True), f"check_async4: Nbrecv2 did not get 1, true, true {c.impl}"
    closed_test1(ce, c)


@pytest.mark.parametrize("kind", list(MKS))
def test_closedchan_sync(ce, kind):
    def main():
        closed_test1(ce, make_chan(ce, kind, closed_sync(ce)))
        return True
    assert ce.run(main)


@pytest.mark.parametrize("kind", list(MKS))
@pytest.mark.parametrize("testclosed", [check_async1, check_async2, check_async3, check_async4],
                         ids=lambda f: f.__name__)
def test_closedchan_async(ce, kind, testclosed):
    def main():
        testclosed(ce, make_chan(ce, kind, closed_async(ce)))
        return True
    assert ce.run(main)


def test_closedchan_close_panics(ce):
    def main():
        panics(ce, ce.nilchan.close, "close of nil channel")
        ch = ce.Chan()
        ch.close()
        panics(ce, ch.close, "close of closed channel")
        # a failed close changes nothing
        assert ch.hchan.closed == 1 and ch.recv_ok() == (None, False)
        return True
    assert ce.run(main)


# -- test/chancap.go -----------------------------------------------------------------------------

def test_chancap(ce):
    def main():
        c = ce.Chan(10)
        assert (len(c), c.cap) == (0, 10), "chan len/cap want 0 10"
        for i in range(3):
            c.send(i)
        assert (len(c), c.cap) == (3, 10), "chan len/cap want 3 10"
        c = ce.Chan()
        assert (len(c), c.cap) == (0, 0), "chan len/cap want 0 0"
        return True
    assert ce.run(main)


@pytest.mark.parametrize("size", [
    -1,
    -(2 ** 63),
    -(2 ** 100),           # Python ints are unbounded; still a Go panic, not OverflowError
    2 ** 45 - 13,          # the first size with size*8 > maxAlloc - hchanSize (2**48 - 112)
    2 ** 45 - 1,
    2 ** 45 + 1,
    2 ** 59,               # chancap.go: mem > maxAlloc
    2 ** 63 - 1,           # chancap.go: elem.size*cap overflows
    2 ** 64,
    2 ** 100,
], ids=str)
def test_chancap_size_out_of_range(ce, size):
    panics(ce, lambda: ce.Chan(size), "makechan: size out of range")
    panics(ce, lambda: ce.Chan(size, elemtype=int), "makechan: size out of range")


@pytest.mark.parametrize("size", [1.0, 2.5, "3", None, [1], 3j])
def test_chancap_size_not_int(ce, size):
    with pytest.raises(TypeError):
        ce.Chan(size)


def test_chancap_is_keyword(ce):
    c = ce.Chan(size=4, elemtype=int)
    assert c.cap == 4 and c.hchan.dataqsiz == 4 and c.hchan.buf == (0, 0, 0, 0)
    assert ce.Chan().cap == 0


# -- test/chan/fifo.go ---------------------------------------------------------------------------
FIFO_N = 10


def test_fifo_asynch(ce):
    def main():
        ch = ce.Chan(FIFO_N)
        for i in range(FIFO_N):
            ch.send(i)
        for i in range(FIFO_N):
            assert ch.recv() == i, "bad receive"
        return True
    assert ce.run(main)


@pytest.mark.parametrize("n", [FIFO_N, 1000])
def test_fifo_synch(ce, n):
    """A chain of links takes values off one unbuffered channel strictly in turn: each link
    waits for its turn on `in`, takes one value (which must be its index), and passes the turn
    on. Go's N=10, and a longer chain too."""
    def chain(ch, val, in_, out):
        in_.recv()
        v = ch.recv()
        if v != val:
            raise AssertionError(f"link {val} received {v}")
        out.send(1)

    def main():
        ch = ce.Chan()
        in_ = ce.Chan()
        start = in_
        for i in range(n):
            out = ce.Chan()
            ce.go(chain, ch, i, in_, out)
            in_ = out
        start.send(0)
        for i in range(n):
            ch.send(i)
        in_.recv()
        ce.runtime.gosched()
        return ce.runtime.num_goroutine()
    assert ce.run(main) == 1


# -- test/chan/goroutines.go ---------------------------------------------------------------------

def test_goroutines_torture(ce):
    """10,000 goroutines linked by channels pass one value end to end, then all exit."""
    n = 10000

    def f(left, right):
        left.send(right.recv())

    def main():
        leftmost = ce.Chan()
        right = left = leftmost
        for _ in range(n):
            right = ce.Chan()
            ce.go(f, left, right)
            left = right
        ce.runtime.gosched()
        # every link is up and parked on its right-hand channel
        assert ce.runtime.num_goroutine() == n + 1
        gs = ce.runtime.goroutines()
        assert sum(g.wait_reason == "chan receive" for g in gs) == n
        ce.go(lambda c: c.send(1), right)
        assert leftmost.recv() == 1
        ce.runtime.gosched()
        assert ce.runtime.num_goroutine() == 1, "chain not torn down"
        ce.runtime.check_invariants()
        return True
    assert ce.run(main)


# -- test/chan/nonblock.go -----------------------------------------------------------------------
# Go's version retries a failed non-blocking operation after waiting on a 10us ticker and three
# Gosched calls, up to 10000 times. Without timers the wait is the three Gosched calls alone, which
# on one P is enough for the other goroutine to reach its blocking operation.
MAX_TRIES = 10000


def _sleep(ce):
    ce.runtime.gosched()
    ce.runtime.gosched()
    ce.runtime.gosched()


def _receiver(want):
    def receiver(c, strobe):
        if c.recv() != want:
            raise AssertionError(f"{want!r} value")
        strobe.send(True)
    return receiver


def _sender(value):
    def sender(c, strobe):
        c.send(value)
        strobe.send(True)
    return sender


NONBLOCK_KINDS = [        # (name, elemtype, value the main sends, value the sender goroutine sends)
    ("i32", int, 123, 234),
    ("i64", int, 123456, 234567),
    ("b", bool, True, True),
    ("s", str, "hello", "hello again"),
]


@pytest.mark.parametrize("buffer", [0, 1])
def test_nonblock(ce, buffer):
    def main():
        sync = ce.Chan()
        chans = {name: ce.Chan(buffer, elemtype=t) for name, t, _, _ in NONBLOCK_KINDS}
        for name, _, _, _ in NONBLOCK_KINDS:
            assert chans[name].try_recv() is None, f"blocked {name}sender"
        tries_log = []
        for name, _, mine, theirs in NONBLOCK_KINDS:
            c = chans[name]
            ce.go(_receiver(mine), c, sync)
            tries = 0
            while not c.try_send(mine):
                tries += 1
                assert tries <= MAX_TRIES, f"{name}receiver buffer={buffer}"
                _sleep(ce)
            tries_log.append(tries)
            sync.recv()

            ce.go(_sender(theirs), c, sync)
            if buffer > 0:
                sync.recv()
            tries = 0
            while True:
                r = c.try_recv()
                if r is not None:
                    break
                tries += 1
                assert tries <= MAX_TRIES, f"{name}sender buffer={buffer}"
                _sleep(ce)
            tries_log.append(tries)
            v, ok = r
            assert ok and v == theirs, f"{name}sender value"
            if buffer == 0:
                sync.recv()
        # One P: the new goroutine has not run when main first tries, so an unbuffered channel
        # needs exactly one retry; a buffered one never does.
        assert tries_log == ([1, 1] if buffer == 0 else [0, 0]) * len(NONBLOCK_KINDS), tries_log
        return True
    assert ce.run(main)


# -- test/chan/sieve1.go -------------------------------------------------------------------------
PRIMES = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83,
          89, 97]


def test_sieve1(ce):
    """The classical inefficient concurrent prime sieve: a chain of divisibility filters."""
    def generate(ch):
        i = 2
        while True:
            ch.send(i)        # Send 'i' to channel 'ch'.
            i += 1

    def filter_(in_, out, prime):
        for i in in_:         # Loop over values received from 'in'.
            if i % prime != 0:
                out.send(i)

    def sieve(primes):
        ch = ce.Chan()
        ce.go(generate, ch)
        while True:
            prime = ch.recv()
            primes.send(prime)
            ch1 = ce.Chan()
            ce.go(filter_, ch, ch1, prime)
            ch = ch1

    def main():
        primes = ce.Chan()
        ce.go(sieve, primes)
        got = [primes.recv() for _ in PRIMES]
        assert got == PRIMES
        # generator, sieve, and one filter per prime found so far, all blocked, plus main
        ce.runtime.gosched()
        assert ce.runtime.num_goroutine() == 1 + 1 + 1 + len(PRIMES)
        return got
    # The program ends when main returns: the filters still parked are discarded.
    assert ce.run(main) == PRIMES


# -- test/chan/zerosize.go -----------------------------------------------------------------------

@pytest.mark.parametrize("elemtype", [tuple, bytes, type(None), None], ids=str)
def test_zerosize(ce, elemtype):
    """Channels of a zero-sized type (struct{}, [0]byte) can be made, buffered or not. A slot
    holds one object reference here, so elemsize is 8 either way."""
    def main():
        z = elemtype() if elemtype is not None else None
        c0 = ce.Chan(elemtype=elemtype)
        c1 = ce.Chan(1, elemtype=elemtype)
        assert c0.cap == 0 and c1.cap == 1
        assert c1.hchan.elemsize == 8
        g = ce.go(c0.send, z)
        assert c0.recv() == z
        c1.send(z)
        assert len(c1) == 1 and c1.recv() == z
        c0.close()
        c1.close()
        assert c0.recv_ok() == (z, False) and c1.recv_ok() == (z, False)
        ce.runtime.gosched()
        assert g.status == "dead"
        return True
    assert ce.run(main)
