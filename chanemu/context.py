"""chanemu.context: Go's context package for the emulated runtime.

A Context hands a deadline, a way to cancel, and values for one request to every goroutine in
the tree of work it started. ``background()`` (and ``todo()``) is the root: never canceled, no
deadline, no values, and its ``done()`` is the nil channel, as Go's ``Done()`` returns nil.
Derived contexts:

- ``with_cancel(parent) -> (ctx, cancel)``: ``cancel()`` closes ``ctx.done()``; ``ctx.err()`` is
  then a ``Canceled`` ("context canceled").
- ``with_deadline(parent, d)`` / ``with_timeout(parent, seconds)``: also canceled, with
  ``DeadlineExceeded`` ("context deadline exceeded"), when the runtime's clock reaches the deadline
  (a runtime timer: on the virtual clock the deadline is exact).
- ``with_value(parent, key, val)``; ``ctx.value(key)`` looks up the chain.
- ``with_cancel_cause``, ``with_deadline_cause``, ``with_timeout_cause``, ``cause(ctx)``,
  ``without_cancel(parent)`` and ``after_func(ctx, f)`` as in Go 1.20-1.21.

Canceling a context cancels every context derived from it, and closing ``done()`` wakes every
goroutine receiving from it or selecting on it: ``select(recv(work), recv(ctx.done()))``. Children
are canceled in the order they were derived (Go's order is a map's). ``cancel`` functions may be
called any number of times; only the first call does anything.

Everything reaches the active twin (``chanemu._impl``) when it is called.
"""
import chanemu
from ._errors import Panic
from . import _chandir
from . import time as _time

__all__ = ["Context", "Canceled", "DeadlineExceeded", "background", "todo", "with_cancel",
           "with_cancel_cause", "with_deadline", "with_deadline_cause", "with_timeout",
           "with_timeout_cause", "with_value", "without_cancel", "after_func", "cause"]


class Canceled(Exception):
    """context.Canceled: the error ``err()`` returns when the context was canceled.
    ``str()`` is Go's message, ``"context canceled"``."""

    def __init__(self, msg="context canceled"):
        super().__init__(msg)


class DeadlineExceeded(TimeoutError):
    """context.DeadlineExceeded: the error ``err()`` returns when the context's deadline passed.
    ``str()`` is Go's message, ``"context deadline exceeded"``. A ``TimeoutError``, as Go's
    value has ``Timeout() == true``."""

    def __init__(self, msg="context deadline exceeded"):
        super().__init__(msg)

    def timeout(self):
        return True

    def temporary(self):
        return True


class Context:
    """context.Context: the interface every context implements. Subclass it to write your own.

    - ``deadline() -> (Time, True)``, or ``(None, False)`` when there is none (Go's pair).
    - ``done() -> Chan``: closed when the context is canceled; the nil channel if it never can be.
    - ``err()``: ``None`` until ``done()`` is closed, then a ``Canceled`` or ``DeadlineExceeded``.
    - ``value(key)``: the value bound to key on the chain, or ``None``.
    """
    __slots__ = ()

    def deadline(self):
        return None, False

    def done(self):
        return _nil_done()

    def err(self):
        return None

    def value(self, key):
        return None

    def __repr__(self):
        return f"<{_name(self)}>"

    def __str__(self):
        return _name(self)


def _nil_done():
    """The nil ``<-chan struct{}`` of the active twin: one view per twin, so ``done()`` of a
    never-canceled context is always the same object."""
    impl = chanemu._impl
    v = _NIL_DONE.get(impl)
    if v is None:
        v = _NIL_DONE[impl] = impl.nilchan.recv_only()
    return v


_NIL_DONE = {}


def _never_done(done):
    """A done() that can never be closed: None or the nil channel (or a view of it)."""
    return done is None or _chandir.underlying(done) is chanemu._impl.nilchan


def _name(c):
    s = getattr(c, "_string", None)
    return s() if s is not None else type(c).__qualname__


class _EmptyCtx(Context):
    """emptyCtx: the root. Nothing cancels it; it holds no value and no deadline."""
    __slots__ = ()


class _BackgroundCtx(_EmptyCtx):
    __slots__ = ()

    def _string(self):
        return "context.Background"


class _TodoCtx(_EmptyCtx):
    __slots__ = ()

    def _string(self):
        return "context.TODO"


_ROOTS = frozenset((_BackgroundCtx, _TodoCtx))
_background = _BackgroundCtx()
_todo = _TodoCtx()


def background():
    """context.Background: the root of every context tree."""
    return _background


def todo():
    """context.TODO: a placeholder where it is unclear which context to use."""
    return _todo


# &cancelCtxKey: value(_CANCEL_CTX_KEY) finds the innermost cancelable context of a chain.
_CANCEL_CTX_KEY = object()


class _CancelCtx(Context):
    """cancelCtx: cancel() closes its done channel and cancels every context derived from it."""
    __slots__ = ("_parent", "_done", "_done_ro", "_children", "_err", "_cause")

    def __init__(self, parent):
        if parent is None:
            raise Panic("cannot create context from nil parent")
        self._parent = parent
        self._done = None         # created lazily, closed by the first cancel
        self._done_ro = None      # the <-chan struct{} view of _done that done() returns
        self._children = {}       # set to None by the first cancel (a dict keeps their order)
        self._err = None
        self._cause = None

    def deadline(self):
        return self._parent.deadline()

    def value(self, key):
        if key is _CANCEL_CTX_KEY:
            return self
        return _value(self._parent, key)

    def done(self):
        v = self._done_ro
        if v is None:
            d = self._done = chanemu._impl.Chan()     # a receive gives None (the API contract)
            if self._err is not None:
                d.close()         # canceled before anyone asked: Go's closedchan
            v = self._done_ro = d.recv_only()
        return v

    def err(self):
        return self._err

    def _propagate(self, parent):
        """propagateCancel: tie this context to parent, so that parent's cancel reaches it."""
        if type(parent) in _ROOTS:
            return                # the usual parent, known at once never to be canceled
        done = parent.done()
        if _never_done(done):
            return                # parent is never canceled
        if done.try_recv() is not None:
            # the parent is done already: cancel this child right away
            self._cancel(False, parent.err(), cause(parent))
            return
        p = _parent_cancel_ctx(parent)
        if p is not None:
            if p._err is not None:
                self._cancel(False, p._err, p._cause)
            else:
                p._children[self] = None
            return
        # A Context of the caller's own making: watch it from a goroutine, as Go does.
        chanemu.go(_watch_parent, parent, self)

    def _cancel(self, remove_from_parent, err, cause_):
        """cancel: close done, cancel every child, and (if asked) leave the parent's children."""
        if err is None:
            raise Panic("context: internal error: missing cancel error")
        if cause_ is None:
            cause_ = err
        if self._err is not None:
            return                # already canceled
        self._err = err
        self._cause = cause_
        if self._done is not None:
            self._done.close()
        children, self._children = self._children, None
        for child in children:
            child._cancel(False, err, cause_)
        if remove_from_parent:
            _remove_child(self._parent, self)

    def _string(self):
        return _name(self._parent) + ".WithCancel"


def _watch_parent(parent, child):
    """The goroutine that propagates the cancellation of a foreign parent Context."""
    i, _, _ = chanemu.select(chanemu.recv(parent.done()), chanemu.recv(child.done()))
    if i == 0:
        child._cancel(False, parent.err(), cause(parent))


def _parent_cancel_ctx(parent):
    """parentCancelCtx: the _CancelCtx underlying parent whose done() is parent's, or None."""
    done = parent.done()
    if _never_done(done):
        return None
    p = parent.value(_CANCEL_CTX_KEY)
    if not isinstance(p, _CancelCtx):
        return None
    if p.done() is not done:
        return None
    return p


def _remove_child(parent, child):
    """removeChild: child no longer needs to hear from parent."""
    p = _parent_cancel_ctx(parent)
    if p is not None and p._children is not None:
        p._children.pop(child, None)


class _TimerCtx(_CancelCtx):
    """timerCtx: a cancelCtx with a deadline, canceled by a runtime timer when it passes."""
    __slots__ = ("_deadline", "_when", "_timer", "_rt")

    def __init__(self, parent, deadline, when):
        super().__init__(parent)
        self._deadline = deadline
        self._when = when
        self._timer = None
        self._rt = None

    def deadline(self):
        return self._deadline, True

    def _cancel(self, remove_from_parent, err, cause_):
        super()._cancel(False, err, cause_)
        if remove_from_parent:
            # timerCtx.cancel: unlink from the parent's children set when asked to.
            _remove_child(self._parent, self)
        t = self._timer
        if t is not None:
            self._timer = None
            self._rt.stoptimer(t)

    def _string(self):
        rt = self._rt or chanemu._impl.current_runtime()
        left = (self._when - rt.nanotime()) / 1e9
        return (f"{_name(self._parent)}.WithDeadline({_go_time(self._deadline)} "
                f"[{_time.format_duration(left)}])")


def _go_time(d):
    """Time.String for a UTC time: 2000-01-01 00:00:05.5 +0000 UTC."""
    d = d.astimezone(_time.UTC)
    frac = f".{d.microsecond:06d}".rstrip("0") if d.microsecond else ""
    return f"{d:%Y-%m-%d %H:%M:%S}{frac} +0000 UTC"


def _deadline_fired(arg, now):
    c, cause_ = arg
    c._cancel(True, DeadlineExceeded(), cause_)


class _ValueCtx(Context):
    """valueCtx: carries one key-value pair; other keys go to the parent."""
    __slots__ = ("_parent", "_key", "_val")

    def __init__(self, parent, key, val):
        self._parent = parent
        self._key = key
        self._val = val

    def deadline(self):
        return self._parent.deadline()

    def done(self):
        return self._parent.done()

    def err(self):
        return self._parent.err()

    def value(self, key):
        return _value(self, key)

    def _string(self):
        return f"{_name(self._parent)}.WithValue({_stringify(self._key)}, {_stringify(self._val)})"


class _WithoutCancelCtx(Context):
    """withoutCancelCtx: the parent's values, never its cancellation or deadline."""
    __slots__ = ("_parent",)

    def __init__(self, parent):
        self._parent = parent

    def value(self, key):
        return _value(self, key)

    def _string(self):
        return _name(self._parent) + ".WithoutCancel"


class _AfterFuncCtx(_CancelCtx):
    """afterFuncCtx: once the parent is done, starts a goroutine that calls f."""
    __slots__ = ("_f", "_once")

    def __init__(self, parent, f):
        super().__init__(parent)
        self._f = f
        self._once = False

    def _cancel(self, remove_from_parent, err, cause_):
        super()._cancel(False, err, cause_)
        if remove_from_parent:
            _remove_child(self._parent, self)
        if not self._once:
            self._once = True
            chanemu.go(self._f)


def _value(c, key):
    """value: walk up the chain (iteratively, as Go does) until a context knows key."""
    while True:
        if isinstance(c, _ValueCtx):
            if key is c._key or key == c._key:
                return c._val
            c = c._parent
        elif isinstance(c, _CancelCtx):
            if key is _CANCEL_CTX_KEY:
                return c
            c = c._parent
        elif isinstance(c, _WithoutCancelCtx):
            if key is _CANCEL_CTX_KEY:
                return None       # a WithoutCancel ctx has no cause: Cause(ctx) is None
            c = c._parent
        elif isinstance(c, _EmptyCtx):
            return None
        else:
            return c.value(key)


def _stringify(v):
    if v is None:
        return "<nil>"
    if isinstance(v, str):
        return v
    if type(v).__str__ is not object.__str__:
        return str(v)
    return type(v).__name__


def _check_parent(parent):
    if parent is None:
        raise Panic("cannot create context from nil parent")
    if not isinstance(parent, Context):
        raise TypeError(f"a parent context must be a chanemu.context.Context, "
                        f"not {type(parent).__name__}")


def _cancel_func(c, doc="context.CancelFunc: cancel the context and its children (idempotent)."):
    def cancel():
        c._cancel(True, Canceled(), None)
    cancel.__doc__ = doc
    return cancel


def with_cancel(parent):
    """context.WithCancel: a child of parent and the function that cancels it.

    ``ctx.done()`` is closed when ``cancel()`` is called or parent's ``done()`` is closed,
    whichever happens first. Call ``cancel`` when the work is done, to release what the context
    holds (its place among the parent's children).
    """
    _check_parent(parent)
    c = _CancelCtx(parent)
    c._propagate(parent)
    return c, _cancel_func(c)


def with_cancel_cause(parent):
    """context.WithCancelCause: like ``with_cancel``, but ``cancel(cause)`` records a cause that
    ``cause(ctx)`` returns (``err()`` is still ``Canceled``). ``cancel()`` or ``cancel(None)``
    makes the cause ``Canceled``."""
    _check_parent(parent)
    c = _CancelCtx(parent)
    c._propagate(parent)

    def cancel(cause=None):
        c._cancel(True, Canceled(), cause)
    return c, cancel


def cause(c):
    """context.Cause: why c was canceled: the cause given to a ``with_cancel_cause`` cancel, else
    ``c.err()``; None while c is not canceled."""
    cc = c.value(_CANCEL_CTX_KEY)
    if not isinstance(cc, _CancelCtx):
        return c.err()
    return cc._cause


def with_deadline(parent, d):
    """context.WithDeadline: a child of parent canceled (``DeadlineExceeded``) when the runtime's
    clock reaches d, an aware ``datetime`` (e.g. from ``chanemu.time.now()``), or when cancel() is
    called or parent is canceled. A parent deadline earlier than d wins: then this is
    ``with_cancel(parent)``."""
    return with_deadline_cause(parent, d, None)


def with_deadline_cause(parent, d, cause):
    """context.WithDeadlineCause: ``with_deadline``, with ``cause`` as the cause when the deadline
    passes."""
    _check_parent(parent)
    rt = chanemu._impl.current_runtime()
    return _with_deadline(rt, parent, d, _time._ns_of(rt, d), cause)


def _with_deadline(rt, parent, d, when, cause_):
    cur, ok = parent.deadline()
    if ok and _time._ns_of(rt, cur) < when:
        # WithDeadline: the parent ends first, so a plain cancel context is enough.
        return with_cancel(parent)
    if not isinstance(d, _time.Time):
        d = _time._time_at(rt, when)
    c = _TimerCtx(parent, d, when)
    c._propagate(parent)
    if when <= rt.nanotime():
        c._cancel(True, DeadlineExceeded(), cause_)     # deadline has already passed
        return c, _cancel_func(c)
    if c._err is None:
        c._rt = rt
        c._timer = rt.newtimer(_deadline_fired, (c, cause_))
        rt.addtimer(c._timer, when)
    return c, _cancel_func(c)


def with_timeout(parent, timeout):
    """context.WithTimeout: ``with_deadline(parent, now() + timeout)``, timeout in seconds."""
    return with_timeout_cause(parent, timeout, None)


def with_timeout_cause(parent, timeout, cause):
    """context.WithTimeoutCause: ``with_timeout`` with a cause for the deadline."""
    _check_parent(parent)
    rt = chanemu._impl.current_runtime()
    ns = _time._dur_ns(timeout)
    when = min(rt.nanotime() + ns, _time._MAX_WHEN)
    return _with_deadline(rt, parent, _time._time_at(rt, when), when, cause)


def with_value(parent, key, val):
    """context.WithValue: a child of parent in which ``value(key)`` is val. key must not be None
    (panics ``"nil key"``) and must be hashable (``"key is not comparable"``)."""
    _check_parent(parent)
    if key is None:
        raise Panic("nil key")
    try:
        hash(key)
    except TypeError:
        raise Panic("key is not comparable") from None
    return _ValueCtx(parent, key, val)


def without_cancel(parent):
    """context.WithoutCancel: parent's values, but never canceled and with no deadline."""
    _check_parent(parent)
    return _WithoutCancelCtx(parent)


def after_func(ctx, f):
    """context.AfterFunc: run f() in its own goroutine once ctx is canceled (at once, if it is).

    Returns ``stop()``, which prevents the call: True if it did, False if f has already been
    started or stop was already called.
    """
    if not callable(f):
        raise TypeError(f"after_func: {type(f).__name__!r} object is not callable")
    a = _AfterFuncCtx(ctx, f)
    a._propagate(ctx)

    def stop():
        if a._once:
            return False
        a._once = True
        a._cancel(True, Canceled(), None)
        return True
    return stop
