"""chanemu.sync: WaitGroup, Mutex, RWMutex, Cond and Once on the emulated runtime.

Waiting goroutines park with Go's wait reasons, so dumps read as Go's do; misuse panics or is a
fatal error with Go's messages. Critical sections that "take time" sleep on the virtual clock, so
the interleavings below are exact and reproducible.
"""
import pytest

from conftest import wait_parked

S = 1_000_000_000


def clock_ns(ce):
    return ce._impl.current_runtime().nanotime()


# -- WaitGroup ------------------------------------------------------------------------------
def test_waitgroup_waits_for_every_goroutine(ce):
    import chanemu.sync as csync
    import chanemu.time as ctime

    def main():
        wg = csync.WaitGroup()
        done = []
        for i in range(10):
            wg.add(1)

            def w(i=i):
                ctime.sleep(i)
                done.append(i)
                wg.done()
            ce.go(w)
        wg.wait()
        return done, clock_ns(ce), ce.runtime.num_goroutine()

    done, ns, n = ce.run(main, clock="virtual")
    assert done == list(range(10))
    assert ns == 9 * S
    assert n == 1


def test_waitgroup_wait_reason_and_dump(ce):
    import chanemu.sync as csync

    def main():
        wg = csync.WaitGroup()
        wg.add(2)
        waiters = [ce.go(wg.wait) for _ in range(3)]
        for g in waiters:
            wait_parked(ce, g, "sync.WaitGroup.Wait")
            assert g.waiting_on == ()
        dump = ce.runtime.stack()
        wg.done()
        ce.runtime.gosched()
        still = [g.status for g in waiters]
        wg.done()                   # zero: every waiter wakes
        ce.runtime.gosched()
        return dump, still, [g.status for g in waiters], [g.goid for g in waiters]

    dump, still, after, goids = ce.run(main)
    for goid in goids:
        assert f"goroutine {goid} [sync.WaitGroup.Wait]:" in dump
    assert "chanemu.sync.WaitGroup.wait(...)" in dump
    assert still == ["waiting"] * 3
    assert after == ["dead"] * 3


def test_waitgroup_wait_at_zero_does_not_yield(ce):
    import chanemu.sync as csync

    def main():
        ran = []
        ce.go(ran.append, 1)
        csync.WaitGroup().wait()
        return ran

    assert ce.run(main) == []


def test_waitgroup_negative_counter_panics(ce):
    import chanemu.sync as csync

    def main():
        wg = csync.WaitGroup()
        wg.add(1)
        wg.done()
        with pytest.raises(ce.Panic) as ei:
            wg.done()
        assert str(ei.value) == "sync: negative WaitGroup counter"
        wg2 = csync.WaitGroup()
        with pytest.raises(ce.Panic, match="^sync: negative WaitGroup counter$"):
            wg2.add(-3)
        return True

    assert ce.run(main)


def test_waitgroup_negative_counter_in_a_goroutine_crashes_the_program(ce):
    import chanemu.sync as csync

    def main():
        wg = csync.WaitGroup()
        ce.go(wg.done)
        wg.wait()
        ce.runtime.gosched()

    with pytest.raises(ce.Panic) as ei:
        ce.run(main)
    assert str(ei.value) == "sync: negative WaitGroup counter"


def test_waitgroup_that_never_reaches_zero_is_a_deadlock(ce):
    import chanemu.sync as csync

    def main():
        wg = csync.WaitGroup()
        wg.add(1)
        wg.wait()

    with pytest.raises(ce.Deadlock) as ei:
        ce.run(main)
    assert "goroutine 1 [sync.WaitGroup.Wait]:" in ei.value.dump


def test_waitgroup_go(ce):
    import chanemu.sync as csync
    import chanemu.time as ctime

    def main():
        wg = csync.WaitGroup()
        out = []
        for i in range(5):
            wg.go(lambda i=i: (ctime.sleep(5 - i), out.append(i)))
        assert wg.counter == 5
        wg.wait()
        return out, clock_ns(ce)

    assert ce.run(main, clock="virtual") == ([4, 3, 2, 1, 0], 5 * S)


# -- Mutex ----------------------------------------------------------------------------------
def test_mutex_mutual_exclusion_and_fifo_order(ce):
    import chanemu.sync as csync
    import chanemu.time as ctime

    def main():
        mu = csync.Mutex()
        wg = csync.WaitGroup()
        log = []
        inside = [0]

        def worker(name):
            mu.lock()
            inside[0] += 1
            assert inside[0] == 1
            log.append((clock_ns(ce), name, "in"))
            ctime.sleep(1)                  # hold the lock for a second of clock time
            inside[0] -= 1
            mu.unlock()
            wg.done()
        for name in "abcd":
            wg.add(1)
            ce.go(worker, name)
        wg.wait()
        return log

    # d was started last, so it ran first (Go's runnext); then a, b, c in their run-queue order.
    # Each takes the lock in the order it asked for it, one second after the previous holder.
    assert ce.run(main, clock="virtual") == [
        (0, "d", "in"), (1 * S, "a", "in"), (2 * S, "b", "in"), (3 * S, "c", "in")]


def test_mutex_wait_reason_and_dump(ce):
    import chanemu.sync as csync

    def main():
        mu = csync.Mutex()
        mu.lock()
        g = ce.go(mu.lock)
        wait_parked(ce, g, "sync.Mutex.Lock")
        dump = ce.runtime.stack()
        assert mu.locked
        mu.unlock()                 # hands the lock to g
        ce.runtime.gosched()
        assert g.status == "dead" and mu.locked
        assert not mu.try_lock()
        mu.unlock()
        return g.goid, dump

    goid, dump = ce.run(main)
    assert f"goroutine {goid} [sync.Mutex.Lock]:" in dump


def test_mutex_try_lock(ce):
    import chanemu.sync as csync

    def main():
        mu = csync.Mutex()
        assert mu.try_lock() is True
        assert mu.try_lock() is False
        mu.unlock()
        assert mu.try_lock() is True
        mu.unlock()
        return True

    assert ce.run(main)


def test_mutex_with_statement(ce):
    import chanemu.sync as csync

    def main():
        mu = csync.Mutex()
        with mu:
            assert mu.locked
        assert not mu.locked
        with pytest.raises(KeyError):
            with mu:
                raise KeyError("x")
        assert not mu.locked
        return True

    assert ce.run(main)


def test_unlock_of_unlocked_mutex_is_a_fatal_error(ce):
    import chanemu.sync as csync

    def main():
        csync.Mutex().unlock()

    with pytest.raises(ce.FatalError) as ei:
        ce.run(main)
    assert str(ei.value) == "sync: unlock of unlocked mutex"
    assert not isinstance(ei.value, ce.Panic)
    assert "goroutine 1 [running]:" in ei.value.dump


def test_unlock_of_unlocked_mutex_in_a_goroutine_crashes_the_program(ce):
    import chanemu.sync as csync

    def main():
        mu = csync.Mutex()
        ce.go(mu.unlock)
        ce.runtime.gosched()

    with pytest.raises(ce.FatalError) as ei:
        ce.run(main)
    assert str(ei.value) == "sync: unlock of unlocked mutex"


def test_mutex_relocked_by_its_holder_is_a_deadlock(ce):
    import chanemu.sync as csync

    def main():
        mu = csync.Mutex()
        mu.lock()
        mu.lock()

    with pytest.raises(ce.Deadlock) as ei:
        ce.run(main)
    assert "goroutine 1 [sync.Mutex.Lock]:" in ei.value.dump


def test_mutex_unlocked_by_another_goroutine(ce):
    """A Go Mutex is not tied to a goroutine."""
    import chanemu.sync as csync

    def main():
        mu = csync.Mutex()
        mu.lock()
        ce.go(mu.unlock)
        mu.lock()                   # parks until the goroutine unlocks
        mu.unlock()
        return True

    assert ce.run(main)


# -- RWMutex --------------------------------------------------------------------------------
def test_rwmutex_readers_share_writers_exclude(ce):
    import chanemu.sync as csync
    import chanemu.time as ctime

    def main():
        rw = csync.RWMutex()
        wg = csync.WaitGroup()
        log = []

        def reader(name, start):
            ctime.sleep(start)
            rw.rlock()
            log.append((clock_ns(ce) // (S // 10), name, "in"))
            ctime.sleep(1)
            rw.runlock()
            wg.done()

        def writer(name, start):
            ctime.sleep(start)
            rw.lock()
            log.append((clock_ns(ce) // (S // 10), name, "in"))
            ctime.sleep(1)
            rw.unlock()
            wg.done()
        wg.add(5)
        ce.go(reader, "r1", 0)
        ce.go(reader, "r2", 0.1)      # shares with r1
        ce.go(writer, "w1", 0.2)      # waits for r1 and r2
        ce.go(reader, "r3", 0.3)      # a writer is pending: waits behind w1
        ce.go(writer, "w2", 0.4)      # waits for w1 on the inner mutex
        wg.wait()
        return log

    assert ce.run(main, clock="virtual") == [
        (0, "r1", "in"), (1, "r2", "in"),
        (11, "w1", "in"),             # r2 leaves at 1.1 s
        (21, "r3", "in"),             # w1's unlock lets the waiting reader in first
        (31, "w2", "in"),
    ]


def test_rwmutex_wait_reasons(ce):
    import chanemu.sync as csync

    def main():
        rw = csync.RWMutex()
        rw.rlock()
        w1 = ce.go(rw.lock)
        wait_parked(ce, w1, "sync.RWMutex.Lock")       # waits for the reader
        r = ce.go(rw.rlock)
        wait_parked(ce, r, "sync.RWMutex.RLock")       # waits behind the pending writer
        w2 = ce.go(rw.lock)
        wait_parked(ce, w2, "sync.Mutex.Lock")         # waits for w1 on rw's inner mutex
        assert not rw.try_rlock() and not rw.try_lock()
        dump = ce.runtime.stack()
        rw.runlock()                                   # w1 gets the lock
        ce.runtime.gosched()
        assert w1.status == "dead" and r.status == "waiting"
        rw.unlock()                                    # (w1's) -> r reads; w2 waits for r
        ce.runtime.gosched()
        assert r.status == "dead" and w2.status == "waiting"
        assert w2.wait_reason == "sync.RWMutex.Lock"
        rw.runlock()                                   # (r's) -> w2 writes
        ce.runtime.gosched()
        assert w2.status == "dead"
        rw.unlock()
        assert rw.try_lock()
        rw.unlock()
        assert rw.try_rlock()
        rw.runlock()
        return dump, w1.goid, r.goid, w2.goid

    dump, w1, r, w2 = ce.run(main)
    assert f"goroutine {w1} [sync.RWMutex.Lock]:" in dump
    assert f"goroutine {r} [sync.RWMutex.RLock]:" in dump
    assert f"goroutine {w2} [sync.Mutex.Lock]:" in dump


@pytest.mark.parametrize("op,message", [
    ("unlock", "sync: Unlock of unlocked RWMutex"),
    ("runlock", "sync: RUnlock of unlocked RWMutex"),
])
def test_rwmutex_misuse_is_a_fatal_error(ce, op, message):
    import chanemu.sync as csync

    def main():
        getattr(csync.RWMutex(), op)()

    with pytest.raises(ce.FatalError) as ei:
        ce.run(main)
    assert str(ei.value) == message


def test_rwmutex_rlocker_and_with(ce):
    import chanemu.sync as csync

    def main():
        rw = csync.RWMutex()
        with rw.rlocker():
            with rw.rlocker():
                assert not rw.try_lock()
        with rw:
            assert not rw.try_rlock()
        assert rw.try_lock()
        rw.unlock()
        return True

    assert ce.run(main)


# -- Cond -----------------------------------------------------------------------------------
def test_cond_signal_and_broadcast(ce):
    import chanemu.sync as csync

    def main():
        mu = csync.Mutex()
        cond = csync.Cond(mu)
        ready = [False]
        woke = []

        def waiter(name):
            with mu:
                while not ready[0]:
                    cond.wait()
                woke.append(name)
        gs = [ce.go(waiter, n) for n in "abc"]
        for g in gs:
            wait_parked(ce, g, "sync.Cond.Wait")
        dump = ce.runtime.stack()
        cond.signal()                 # wakes a; the condition is still false: a waits again
        ce.runtime.gosched()
        assert woke == [] and all(g.wait_reason == "sync.Cond.Wait" for g in gs)
        with mu:
            ready[0] = True
            cond.broadcast()
        ce.runtime.gosched()
        cond.signal()                 # no waiters: nothing happens
        return woke, dump

    woke, dump = ce.run(main)
    assert sorted(woke) == ["a", "b", "c"]
    assert dump.count("[sync.Cond.Wait]") == 3


def test_cond_producer_consumer(ce):
    import chanemu.sync as csync
    import chanemu.time as ctime

    def main():
        mu = csync.Mutex()
        nonempty = csync.Cond(mu)
        q = []
        got = []
        wg = csync.WaitGroup()

        def consumer():
            for _ in range(5):
                mu.lock()
                while not q:
                    nonempty.wait()
                got.append((q.pop(0), clock_ns(ce)))
                mu.unlock()
            wg.done()
        wg.add(1)
        ce.go(consumer)
        for i in range(5):
            ctime.sleep(1)
            with mu:
                q.append(i)
                nonempty.signal()
        wg.wait()
        return got

    assert ce.run(main, clock="virtual") == [(i, (i + 1) * S) for i in range(5)]


# -- Once -----------------------------------------------------------------------------------
def test_once_runs_f_once_and_others_wait_for_it(ce):
    import chanemu.sync as csync
    import chanemu.time as ctime

    def main():
        once = csync.Once()
        calls = []
        returned = []

        def init():
            calls.append(clock_ns(ce))
            ctime.sleep(2)            # a slow initialisation

        def user(name):
            once.do(init)
            returned.append((name, clock_ns(ce)))
        gs = []
        for n in "abc":
            gs.append(ce.go(user, n))
            ce.runtime.gosched()
        wait_parked(ce, gs[0], "sleep")
        wait_parked(ce, gs[1], "sync.Mutex.Lock")    # waits on Once's mutex, as in Go
        wait_parked(ce, gs[2], "sync.Mutex.Lock")
        wg = csync.WaitGroup()
        wg.add(1)
        ce.go(lambda: (ctime.sleep(3), wg.done()))
        wg.wait()
        once.do(init)
        return calls, returned, once.done

    calls, returned, done = ce.run(main, clock="virtual")
    assert calls == [0]
    assert returned == [("a", 2 * S), ("b", 2 * S), ("c", 2 * S)]
    assert done


def test_once_is_done_even_if_f_panics(ce):
    import chanemu.sync as csync

    def main():
        once = csync.Once()
        calls = []

        def boom():
            calls.append(1)
            raise ce.Panic("boom")
        with pytest.raises(ce.Panic, match="boom"):
            once.do(boom)
        once.do(boom)                 # Go: Once considers a panicking f returned
        once.do(lambda: calls.append(2))
        return calls

    assert ce.run(main) == [1]


def test_once_func_value_values(ce):
    import chanemu.sync as csync

    def main():
        n = []

        def compute():
            n.append(1)
            return 42
        v = csync.once_value(compute)
        assert v() == 42 and v() == 42 and n == [1]
        pair = csync.once_values(lambda: (1, "a"))
        assert pair() == (1, "a")

        def bad():
            n.append(2)
            raise ValueError("bad")
        f = csync.once_func(bad)
        for _ in range(3):
            with pytest.raises(ValueError, match="bad"):
                f()                   # the same panic on every call; f ran once
        assert n == [1, 2]
        return True

    assert ce.run(main)
