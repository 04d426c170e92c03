"""chanemu.errgroup: golang.org/x/sync/errgroup on the emulated runtime.

A ``Group`` runs functions in goroutines and collects the first error. Go's ``func() error``
becomes a function that either raises an exception or returns one (``return err``); either is
that goroutine's error (any other return value is ignored), and ``wait()`` returns the first of them (the exception object) or None.
A ``chanemu.Panic`` is not an error: as in Go, it takes the program down.

- ``Group()`` is ready to use (Go's zero Group).
- ``g.go(f, *args)``: run f in a new goroutine, first waiting for a free slot when a limit is set.
- ``g.try_go(f, *args)``: the same only if a slot is free now; returns whether it started f.
- ``g.set_limit(n)``: at most n goroutines active at once (a negative n: no limit). Changing
  the limit while goroutines are active panics, as in Go.
- ``g.wait()``: block until every goroutine has returned; the first error or None.
- ``with_context(ctx) -> (group, ctx)``: ctx is canceled (its cause the error) by the first error,
  or when ``wait`` returns, whichever comes first.
"""
import chanemu
from ._empty import Empty
from ._errors import Panic
from . import context as _context
from . import sync as _sync

__all__ = ["Group", "with_context"]


class Group:
    """errgroup.Group: a collection of goroutines working on subtasks of one task."""
    __slots__ = ("_wg", "_sem", "_err", "_failed", "_cancel")

    def __init__(self):
        self._wg = _sync.WaitGroup()
        self._sem = None          # a chan struct{} of the limit's size; None: no limit
        self._err = None
        self._failed = False      # the first error is recorded (errOnce)
        self._cancel = None       # with_context's cancel-with-cause

    def go(self, f, *args, **kwargs):
        """Group.Go: run f in a new goroutine; blocks while the limit's slots are all taken."""
        _check_callable(f, "go")
        if self._sem is not None:
            self._sem.send(Empty())
        self._start(f, args, kwargs)

    def try_go(self, f, *args, **kwargs):
        """Group.TryGo: run f in a new goroutine only if the limit allows it now."""
        _check_callable(f, "try_go")
        if self._sem is not None and not self._sem.try_send(Empty()):
            return False
        self._start(f, args, kwargs)
        return True

    def set_limit(self, n):
        """Group.SetLimit: at most n active goroutines (n < 0: no limit)."""
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"set_limit: expected an int, not {type(n).__name__}")
        if n < 0:
            self._sem = None
            return
        if self._sem is not None and len(self._sem) != 0:
            raise Panic(f"errgroup: modify limit while {len(self._sem)} goroutines in the group "
                        "are still active")
        self._sem = chanemu.Chan(n, Empty)

    def wait(self):
        """Group.Wait: block until all the goroutines have returned; the first error or None."""
        self._wg.wait()
        if self._cancel is not None:
            self._cancel(self._err)
        return self._err

    def _start(self, f, args, kwargs):
        self._wg.add(1)
        chanemu.go(self._run, f, args, kwargs)

    def _run(self, f, args, kwargs):
        try:
            err = _call(f, args, kwargs)
            if err is not None:
                self._record(err)
        finally:
            self._done()

    def _record(self, err):
        if self._failed:
            return
        self._failed = True
        self._err = err
        if self._cancel is not None:
            self._cancel(err)

    def _done(self):
        if self._sem is not None:
            self._sem.recv()
        self._wg.done()

    def __repr__(self):
        limit = "none" if self._sem is None else self._sem.cap
        return (f"<chanemu.errgroup.Group active={self._wg.counter} limit={limit} "
                f"err={self._err!r}>")


def _call(f, args, kwargs):
    """f's error: the exception it raised or returned, else None. A Panic goes on up."""
    try:
        r = f(*args, **kwargs)
    except Panic:
        raise
    except Exception as e:
        return e
    return r if isinstance(r, BaseException) else None     # other results are ignored


def _check_callable(f, name):
    if not callable(f):
        raise TypeError(f"{name}: {type(f).__name__!r} object is not callable")


def with_context(ctx):
    """errgroup.WithContext: a new Group and a context derived from ctx, canceled (with the
    error as its cause) by the first error of the group's goroutines or when wait returns."""
    ctx, cancel = _context.with_cancel_cause(ctx)
    g = Group()
    g._cancel = cancel
    return g, ctx
