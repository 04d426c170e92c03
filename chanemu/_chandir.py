"""Directional channel types: Go's ``chan<- T`` and ``<-chan T``.

``ch.send_only()`` and ``ch.recv_only()`` return a view sharing ch's hchan: no copy, no state of
its own. Go rejects a wrong-direction operation at compile time; here it is a ``TypeError`` whose
message carries Go's compile error, raised before anything touches the channel.

The classes here are the pure-Python twin's; the C twin has extension types of its own
(src_c/chan.pxi), registered here so that select, inspect and the helpers below know both. The
channel types themselves are untouched, so views cost ordinary channels nothing.
"""

RECV_FROM_SEND_ONLY = "invalid operation: cannot receive from send-only channel"
SEND_TO_RECV_ONLY = "invalid operation: cannot send to receive-only channel"
CLOSE_RECV_ONLY = "invalid operation: cannot close receive-only channel"


class _View:
    """What both directions share: len, cap, the hchan, identity of the underlying channel.
    A view binds the allowed operations of its channel once, as instance attributes, so
    ``view.recv()`` calls the channel's own method with no extra Python frame."""
    __slots__ = ("_c",)
    DIR = "chan"

    @property
    def cap(self):
        return self._c.cap

    def __len__(self):
        return len(self._c)

    @property
    def hchan(self):
        return self._c.hchan

    @property
    def timer(self):
        return self._c.timer

    # The accessors of chanemu._views, so inspect() and the views read the shared hchan.
    def _hchan_field(self, name):
        return self._c._hchan_field(name)

    def _waitq(self, name):
        return self._c._waitq(name)

    def _waitq_at(self, name, i):
        return self._c._waitq_at(name, i)

    def _waitq_len(self, name):
        return self._c._waitq_len(name)

    # Go compares channel values of different directions by the channel they denote.
    def __eq__(self, other):
        return self._c is underlying(other)

    def __hash__(self):
        return hash(self._c)

    def __repr__(self):
        return view_repr(self)

    def __reduce__(self):
        raise TypeError(f"cannot pickle a {self.DIR} view")


class SendOnlyView(_View):
    """``chan<- T``: send, try_send, close, len, cap. Receiving raises TypeError."""
    __slots__ = ("send", "try_send", "close")
    DIR = "chan<-"

    def __init__(self, c):
        self._c = c
        self.send = c.send
        self.try_send = c.try_send
        self.close = c.close

    def recv(self):
        raise TypeError(f"{RECV_FROM_SEND_ONLY} {self!r}")

    recv_ok = try_recv = recv

    def __iter__(self):
        raise TypeError(f"cannot range over {self!r}: receive from send-only channel")

    def send_only(self):
        return self

    def recv_only(self):
        raise TypeError(f"cannot convert {self!r} to a receive-only channel")


class RecvOnlyView(_View):
    """``<-chan T``: recv, recv_ok, try_recv, for, len, cap. Sending or closing raises TypeError."""
    __slots__ = ("recv", "recv_ok", "try_recv")
    DIR = "<-chan"

    def __init__(self, c):
        self._c = c
        self.recv = c.recv
        self.recv_ok = c.recv_ok
        self.try_recv = c.try_recv

    def __iter__(self):
        return iter(self._c)

    def send(self, v):
        raise TypeError(f"{SEND_TO_RECV_ONLY} {self!r}")

    def try_send(self, v):
        raise TypeError(f"{SEND_TO_RECV_ONLY} {self!r}")

    def close(self):
        raise TypeError(f"{CLOSE_RECV_ONLY} {self!r}")

    def recv_only(self):
        return self

    def send_only(self):
        raise TypeError(f"cannot convert {self!r} to a send-only channel")


# Every twin's view types, by direction.
_SEND_TYPES = {SendOnlyView}
_RECV_TYPES = {RecvOnlyView}


def register(send_type, recv_type):
    """Make a twin's own view types known to the helpers below (the C twin's, at import)."""
    _SEND_TYPES.add(send_type)
    _RECV_TYPES.add(recv_type)


def view_repr(v):
    inner = repr(v._c)[1:-1]
    return f"<{v.DIR} {inner.removeprefix('Chan ')}>"


def underlying(c):
    """The channel a view denotes (c itself for anything else)."""
    t = type(c)
    if t in _SEND_TYPES or t in _RECV_TYPES:
        return c._c
    return c


def direction(c):
    """Go's spelling of c's channel type: "chan", "chan<-" or "<-chan"."""
    t = type(c)
    if t in _SEND_TYPES:
        return "chan<-"
    return "<-chan" if t in _RECV_TYPES else "chan"


def for_send(c):
    """The channel a ``send(c, v)`` select case uses: a send-only view's channel; a receive-only
    view is Go's compile error. Anything else comes back unchanged for the caller to check."""
    t = type(c)
    if t in _SEND_TYPES:
        return c._c
    if t in _RECV_TYPES:
        raise TypeError(f"{SEND_TO_RECV_ONLY} {c!r}")
    return c


def for_recv(c):
    """The channel a ``recv(c)`` select case uses (see for_send)."""
    t = type(c)
    if t in _RECV_TYPES:
        return c._c
    if t in _SEND_TYPES:
        raise TypeError(f"{RECV_FROM_SEND_ONLY} {c!r}")
    return c
