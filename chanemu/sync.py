"""chanemu.sync: Go's sync package for goroutines of the emulated runtime.

``WaitGroup``, ``Mutex``, ``RWMutex``, ``Cond``, ``Once`` (with Go 1.21's ``once_func``,
``once_value`` and ``once_values``), ``Map`` and ``Pool``. A goroutine that has to wait parks
with Go's wait reason, so goroutine dumps show it as Go's do: ``goroutine 7 [sync.WaitGroup.Wait]:``,
``[sync.Mutex.Lock]``, ``[sync.RWMutex.RLock]``, ``[sync.RWMutex.Lock]``, ``[sync.Cond.Wait]``.

Misuse fails as in Go: a negative WaitGroup counter panics (``chanemu.Panic``), and unlocking an
unlocked Mutex or RWMutex is a fatal error (``chanemu.FatalError``, which no ``recover`` would catch
in Go). A goroutine that waits for a lock it holds waits forever: if nothing else can run, that is
the program's deadlock.

Waiters are woken first come, first served; each wake-up puts the goroutine in the scheduler's
``runnext`` slot, as Go's ``semrelease`` does. A Mutex hands ownership straight to the goroutine it
wakes (Go's starvation mode), so the order of lock holders is the order of ``lock`` calls.
Everything here reaches the active twin (``chanemu._impl``) when it is called.
"""
from collections import deque as _deque
import gc as _gc
import weakref as _weakref

import chanemu
from ._errors import Panic, FatalError, GoExit

__all__ = ["WaitGroup", "Mutex", "RWMutex", "Cond", "Once", "once_func", "once_value",
           "once_values", "Locker", "Map", "Pool"]


def _fatal(msg):
    """sync.fatal: Go's fatal error, with the calling goroutine's traceback as the dump."""
    from . import runtime
    try:
        dump = runtime.stack(all=False)
    except Exception:   # pragma: no cover - a dump must never hide the error itself
        dump = ""
    return FatalError(msg, dump)


def _wait_on(waiters, reason, obj, *, then_park=None, handed=None):
    """Queue the calling goroutine on ``waiters`` and park it (wait reason ``reason``, waiting on
    the sync object ``obj``) until someone pops it and readies it. ``then_park`` runs between the
    queueing and the park (Cond.Wait unlocks L there). If the park is thrown out of (a fatal
    error, the program's end), the goroutine leaves the queue; if it was already popped (woken,
    and maybe handed something), ``handed(gp)`` runs instead. The exception goes on."""
    impl = chanemu._impl
    gp = impl.getg()
    waiters.append(gp)
    if then_park is not None:
        then_park()
    try:
        impl.park(reason, obj)
    except BaseException:
        try:
            waiters.remove(gp)
        except ValueError:
            if handed is not None:
                handed(gp)
        raise


class _Sema:
    """A runtime semaphore (sema.go's semacquire/semrelease) for one address: a count and a FIFO
    of parked goroutines. ``release`` hands the unit straight to the first waiter, if any."""
    __slots__ = ("count", "waiters")

    def __init__(self):
        self.count = 0
        self.waiters = _deque()

    def acquire(self, reason, obj):
        """semacquire: take a unit, parking (wait reason ``reason``, waiting on the sync object
        ``obj`` that owns this semaphore) until one is released to us."""
        if self.count > 0:
            self.count -= 1
            return
        _wait_on(self.waiters, reason, obj, handed=self._give_back)

    def _give_back(self, gp):
        """Thrown out of the wait with the unit already handed to us: release it again (at the
        program's end nobody needs it any more)."""
        if not gp.runtime.dead:
            self.release()

    def release(self):
        if self.waiters:
            chanemu._impl.ready(self.waiters.popleft())
        else:
            self.count += 1


class Locker:
    """sync.Locker: anything with ``lock()`` and ``unlock()``. Lockers are context managers:
    ``with mu:`` locks and unlocks."""
    __slots__ = ()

    def lock(self):
        raise NotImplementedError

    def unlock(self):
        raise NotImplementedError

    def __enter__(self):
        self.lock()
        return self

    def __exit__(self, exc_type, exc, tb):
        self.unlock()
        return False


class WaitGroup:
    """sync.WaitGroup: waits for a collection of goroutines to finish.

    ``add(n)`` adds n (possibly negative) to the counter, ``done()`` is ``add(-1)``, ``wait()``
    parks the caller (wait reason ``"sync.WaitGroup.Wait"``) until the counter is zero; when it
    reaches zero every waiter is woken, first waiter first. ``go(f, *args)`` is Go 1.25's
    ``wg.Go(f)``: ``add(1)``, then f runs in a new goroutine that calls ``done()`` when f returns.
    """
    __slots__ = ("_n", "_waiters")

    def __init__(self):
        self._n = 0
        self._waiters = []

    def add(self, delta):
        """WaitGroup.Add. A counter below zero panics ``"sync: negative WaitGroup counter"``."""
        n = self._n + delta
        if n < 0:
            self._n = n
            raise Panic("sync: negative WaitGroup counter")
        self._n = n
        if n == 0 and self._waiters:
            waiters, self._waiters = self._waiters, []
            ready = chanemu._impl.ready
            for gp in waiters:
                ready(gp)

    def done(self):
        """WaitGroup.Done: decrement the counter by one."""
        self.add(-1)

    def wait(self):
        """WaitGroup.Wait: block until the counter is zero (at once if it is)."""
        if self._n == 0:
            return
        _wait_on(self._waiters, "sync.WaitGroup.Wait", self)

    def go(self, f, *args, **kwargs):
        """WaitGroup.Go (Go 1.25): run f(*args, **kwargs) in a new goroutine counted by the group.
        Returns the goroutine's handle."""
        self.add(1)

        def run():
            try:
                f(*args, **kwargs)
            finally:
                self.done()
        return chanemu.go(run)

    @property
    def counter(self):
        """The counter's current value (for inspection; Go does not export it)."""
        return self._n

    def __repr__(self):
        return f"<chanemu.sync.WaitGroup counter={self._n} waiters={len(self._waiters)}>"


class Mutex(Locker):
    """sync.Mutex: a mutual exclusion lock; the zero value (``Mutex()``) is unlocked.

    ``lock()`` parks the caller (wait reason ``"sync.Mutex.Lock"``) while another goroutine holds
    the lock; ``unlock()`` hands it to the longest waiter. Unlocking an unlocked Mutex is Go's fatal
    error ``"sync: unlock of unlocked mutex"``. A Mutex is not tied to a goroutine: one goroutine
    may lock it and another unlock it, as in Go. ``with mu:`` locks and unlocks.
    """
    __slots__ = ("_locked", "_sema")

    def __init__(self):
        self._locked = False
        self._sema = _Sema()

    def lock(self):
        """Mutex.Lock."""
        if not self._locked:
            self._locked = True
            return
        # Ownership is handed to us by unlock: _locked stays set throughout.
        self._sema.acquire("sync.Mutex.Lock", self)

    def try_lock(self):
        """Mutex.TryLock: lock if free and return True; False (never blocking) if held."""
        if self._locked:
            return False
        self._locked = True
        return True

    def unlock(self):
        """Mutex.Unlock: fatal error if the Mutex is not locked."""
        if not self._locked:
            raise _fatal("sync: unlock of unlocked mutex")
        if self._sema.waiters:
            self._sema.release()      # hand-off: the waiter owns the lock now
        else:
            self._locked = False

    def __exit__(self, exc_type, exc, tb):
        # Leaving a with block by an exception thrown into a wait must not turn into a second error.
        if exc_type is None or self._locked:
            self.unlock()
        return False

    @property
    def locked(self):
        """Whether the Mutex is held (for inspection; Go does not export it)."""
        return self._locked

    def __repr__(self):
        return (f"<chanemu.sync.Mutex {'locked' if self._locked else 'unlocked'} "
                f"waiters={len(self._sema.waiters)}>")


_RWMUTEX_MAX_READERS = 1 << 30


class RWMutex(Locker):
    """sync.RWMutex: a reader/writer lock, with Go's algorithm (rwmutex.go).

    Any number of readers (``rlock``/``runlock``) or one writer (``lock``/``unlock``). Once a writer
    is waiting, new readers wait too (wait reason ``"sync.RWMutex.RLock"``), so a writer is never
    starved; the writer waits for the readers already in (``"sync.RWMutex.Lock"``) and for other
    writers (``"sync.Mutex.Lock"``, on the inner mutex, as in Go). Unlocking what is not locked is a
    fatal error: ``"sync: Unlock of unlocked RWMutex"``, ``"sync: RUnlock of unlocked RWMutex"``.
    ``with rw:`` takes the write lock; ``with rw.rlocker():`` the read lock.
    """
    __slots__ = ("_w", "_writer_sem", "_reader_sem", "_reader_count", "_reader_wait")

    def __init__(self):
        self._w = Mutex()               # held if there are pending writers
        self._writer_sem = _Sema()      # for writers to wait for completing readers
        self._reader_sem = _Sema()      # for readers to wait for completing writers
        self._reader_count = 0          # number of pending readers (negative: a writer is in)
        self._reader_wait = 0           # number of departing readers the writer waits for

    def rlock(self):
        """RWMutex.RLock."""
        self._reader_count += 1
        if self._reader_count < 0:
            # RWMutex.RLock: a writer holds or awaits the lock; queue behind it.
            self._reader_sem.acquire("sync.RWMutex.RLock", self)

    def try_rlock(self):
        """RWMutex.TryRLock: True if the read lock was taken, without blocking."""
        if self._reader_count < 0:
            return False
        self._reader_count += 1
        return True

    def runlock(self):
        """RWMutex.RUnlock."""
        r = self._reader_count - 1
        if r < 0:
            if r + 1 == 0 or r + 1 == -_RWMUTEX_MAX_READERS:
                raise _fatal("sync: RUnlock of unlocked RWMutex")
            self._reader_count = r
            # RWMutex.RUnlock: a writer is waiting on the readers still inside.
            self._reader_wait -= 1
            if self._reader_wait == 0:
                # Whoever leaves last lets that writer in.
                self._writer_sem.release()
            return
        self._reader_count = r

    def lock(self):
        """RWMutex.Lock."""
        # RWMutex.Lock: writers take turns through the inner mutex;
        self._w.lock()
        # a negative reader count tells new readers that a writer is waiting.
        r = self._reader_count
        self._reader_count -= _RWMUTEX_MAX_READERS
        # Readers already inside must leave before the writer enters.
        if r != 0:
            self._reader_wait += r
            if self._reader_wait != 0:
                self._writer_sem.acquire("sync.RWMutex.Lock", self)

    def try_lock(self):
        """RWMutex.TryLock: True if the write lock was taken, without blocking."""
        if not self._w.try_lock():
            return False
        if self._reader_count != 0:
            self._w.unlock()
            return False
        self._reader_count = -_RWMUTEX_MAX_READERS
        return True

    def unlock(self):
        """RWMutex.Unlock."""
        r = self._reader_count + _RWMUTEX_MAX_READERS
        if r >= _RWMUTEX_MAX_READERS:
            raise _fatal("sync: Unlock of unlocked RWMutex")
        # Put the reader count back above zero: readers may enter again.
        self._reader_count = r
        # Let in the readers that queued while we wrote.
        for _ in range(r):
            self._reader_sem.release()
        # Then the next writer may take the inner mutex.
        self._w.unlock()

    def rlocker(self):
        """RWMutex.RLocker: a Locker whose lock/unlock are this RWMutex's rlock/runlock."""
        return _RLocker(self)

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None or self._reader_count < 0:
            self.unlock()
        return False

    def __repr__(self):
        if self._reader_count < 0:
            state = f"write-locked, {self._reader_count + _RWMUTEX_MAX_READERS} readers waiting"
        else:
            state = f"{self._reader_count} readers"
        return f"<chanemu.sync.RWMutex {state}>"


class _RLocker(Locker):
    __slots__ = ("rw",)

    def __init__(self, rw):
        self.rw = rw

    def lock(self):
        self.rw.rlock()

    def unlock(self):
        self.rw.runlock()


class Cond:
    """sync.Cond: a condition variable; ``Cond(L)`` is ``sync.NewCond(L)``, L a Locker.

    ``wait()`` unlocks L, parks the caller (wait reason ``"sync.Cond.Wait"``) until ``signal`` or
    ``broadcast`` wakes it, and locks L again before it returns. ``signal()`` wakes the longest
    waiter, ``broadcast()`` all of them, in the order they began to wait.
    """
    __slots__ = ("L", "_waiters")

    def __init__(self, L):
        self.L = L
        self._waiters = _deque()

    def wait(self):
        """Cond.Wait."""
        # runtime_notifyListAdd, unlock L, then park: a signal between the two is not lost
        _wait_on(self._waiters, "sync.Cond.Wait", self, then_park=self.L.unlock)
        self.L.lock()

    def signal(self):
        """Cond.Signal: ready the goroutine that has waited longest (none waiting: no-op)."""
        if self._waiters:
            chanemu._impl.ready(self._waiters.popleft())

    def broadcast(self):
        """Cond.Broadcast: wake every waiting goroutine."""
        waiters, self._waiters = self._waiters, _deque()
        ready = chanemu._impl.ready
        for gp in waiters:
            ready(gp)


class Once:
    """sync.Once: ``do(f)`` calls f the first time it is called for this Once, and never again.

    Concurrent callers wait (on the inner Mutex, ``"sync.Mutex.Lock"``) until the first call
    returns. If f raises (panics), Once considers it returned: later ``do`` calls do nothing, as in
    Go. A call of ``do`` from inside f waits for itself forever, as Go's does.
    """
    __slots__ = ("_done", "_m")

    def __init__(self):
        self._done = False
        self._m = Mutex()

    def do(self, f):
        """Once.Do."""
        if self._done:
            return
        self._do_slow(f)

    def _do_slow(self, f):
        self._m.lock()
        try:
            if not self._done:
                try:
                    f()
                finally:
                    self._done = True
        finally:
            self._m.unlock()

    @property
    def done(self):
        """Whether f has been called (for inspection)."""
        return self._done


def once_values(f):
    """sync.OnceValues (Go 1.21): a function that calls f once and returns its result every time.

    If f raises, every call raises the same exception. (``once_value`` is the same thing; Python
    has one kind of return value.)

    If f calls ``runtime.goexit()``, Go 1.26's OnceFunc finds no panic to keep and panics with
    nil: the first call and every later one raise ``Panic("panic called with nil argument")``
    (uncaught, it crashes the program, as in Go). One difference: in Go the first call's goroutine
    still exits after a ``recover``; here a caller that catches that Panic goes on.
    """
    once = Once()
    box = []

    def call():
        try:
            box.append((True, f()))
        except Exception as e:      # a panic: kept, and raised again by every call
            box.append((False, e))
        except GoExit:
            box.append((False, None))   # Go's d.p: recover() saw no panic
            raise _nil_panic(f, "runtime.goexit()") from None

    def g():
        if not box:
            once.do(call)
        if not box:      # f was stopped by a BaseException of Python's (KeyboardInterrupt...)
            raise Panic("sync: function passed to once_values did not return")
        ok, v = box[0]
        if ok:
            return v
        if v is None:
            raise _nil_panic(f, "runtime.goexit() the first time")
        raise v
    g.__name__ = g.__qualname__ = f"once_values({getattr(f, '__qualname__', 'f')})"
    return g


def _nil_panic(f, why):
    """Go's panic(nil) (a *runtime.PanicNilError since Go 1.21), as OnceFunc raises it when f
    ended its goroutine instead of returning or panicking."""
    e = Panic("panic called with nil argument")
    e.add_note(f"sync: {getattr(f, '__qualname__', 'the function')} passed to once_func/"
               f"once_value/once_values called {why}")
    return e


def once_value(f):
    """sync.OnceValue (Go 1.21): see ``once_values``."""
    return once_values(f)


def once_func(f):
    """sync.OnceFunc (Go 1.21): a function that calls f only once; if f raises, every call raises
    the same exception. Returns None."""
    g = once_values(f)

    def h():
        g()
    h.__name__ = h.__qualname__ = f"once_func({getattr(f, '__qualname__', 'f')})"
    return h


# -- Map and Pool ---------------------------------------------------------------------------
def _go_equal(a, b):
    """Go's == on two interface values: the same dynamic type and equal."""
    return type(a) is type(b) and (a is b or a == b)


class Map:
    """sync.Map: a map safe for concurrent use. Keys must be hashable (Go: comparable).

    Results come as Go's pairs: ``load(k) -> (value, ok)``, ``load_or_store(k, v) -> (actual,
    loaded)``, ``load_and_delete(k) -> (value, loaded)``, ``swap(k, v) -> (previous, loaded)``;
    a missing value is None. ``compare_and_swap`` and ``compare_and_delete`` compare as Go
    compares interface values (same type, equal) and are False for a missing key. ``range(f)``
    calls f(key, value) for each entry, in insertion order, until f returns False.
    """
    __slots__ = ("_m",)

    def __init__(self):
        self._m = {}

    def load(self, key):
        m = self._m
        if key in m:
            return m[key], True
        return None, False

    def store(self, key, value):
        self._m[key] = value

    def load_or_store(self, key, value):
        m = self._m
        if key in m:
            return m[key], True
        m[key] = value
        return value, False

    def load_and_delete(self, key):
        m = self._m
        if key in m:
            return m.pop(key), True
        return None, False

    def delete(self, key):
        self._m.pop(key, None)

    def swap(self, key, value):
        m = self._m
        loaded = key in m
        previous = m.get(key)
        m[key] = value
        return previous, loaded

    def compare_and_swap(self, key, old, new):
        m = self._m
        if key not in m or not _go_equal(m[key], old):
            return False
        m[key] = new
        return True

    def compare_and_delete(self, key, old):
        m = self._m
        if key not in m or not _go_equal(m[key], old):
            return False
        del m[key]
        return True

    def range(self, f):
        """Map.Range: f(key, value) for each entry until f returns False. f may store and delete
        (it sees the map as it was when range began, then each entry's current value)."""
        for key in list(self._m):
            if key not in self._m:
                continue          # deleted by f meanwhile
            if f(key, self._m[key]) is False:
                return

    def clear(self):
        """Map.Clear (Go 1.23): delete every entry."""
        self._m.clear()

    def __repr__(self):
        return f"<chanemu.sync.Map len={len(self._m)}>"


class Pool:
    """sync.Pool: a cache of reusable objects. ``get()`` takes one, or returns ``new()`` when the
    pool is empty (None if ``new`` is not set); ``put(x)`` adds one (None is ignored, as Go
    ignores nil).

    The order is Go's with one P: a private slot, then a shared stack. ``put`` fills the private
    slot if it is empty, else pushes on the stack; ``get`` takes the private object, else the
    latest pushed. As Go's, a pool gives no guarantee to keep what it holds: each garbage
    collection moves the pool's objects to a victim cache, and the next one drops them.
    """
    __slots__ = ("new", "_private", "_shared", "_vprivate", "_vshared", "__weakref__")

    def __init__(self, new=None):
        if new is not None and not callable(new):
            raise TypeError(f"Pool: new must be callable, not {type(new).__name__}")
        self.new = new
        self._private = None
        self._shared = _deque()
        self._vprivate = None        # the victim cache: what survived the last collection
        self._vshared = _deque()
        _pools.add(self)

    def put(self, x):
        if x is None:
            return
        if self._private is None:
            self._private = x
        else:
            self._shared.append(x)       # pushHead

    def get(self):
        x, self._private = self._private, None
        if x is None and self._shared:
            x = self._shared.pop()       # popHead
        if x is None:
            x = self._get_victim()
        if x is None and self.new is not None:
            x = self.new()
        return x

    def _get_victim(self):
        x, self._vprivate = self._vprivate, None
        if x is None and self._vshared:
            x = self._vshared.popleft()  # popTail, as getSlow takes from another cache
        return x

    def _age(self):
        """poolCleanup: this collection's survivors become the victims; the old victims go."""
        self._vprivate, self._vshared = self._private, self._shared
        self._private, self._shared = None, _deque()

    def __repr__(self):
        held = (len(self._shared) + len(self._vshared) + (self._private is not None)
                + (self._vprivate is not None))
        return f"<chanemu.sync.Pool held={held}>"


def _pool_cleanup(phase, info):
    if phase == "start" and info.get("generation") == 2:
        for p in list(_pools):
            p._age()


_pools = _weakref.WeakSet()
_gc.callbacks.append(_pool_cleanup)
