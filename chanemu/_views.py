"""Live read-only views of a channel's hchan, written once over both twins.

A twin's Chan provides four accessors: ``_hchan_field(name)``, ``_waitq(name)`` (a list of
``(g, elem, isSelect, success, c, releasetime)`` in queue order), ``_waitq_at(name, i)`` (the
i-th such tuple, walking i links, or None) and ``_waitq_len(name)``.
"""
import itertools
import weakref

from . import _chandir

HCHAN_FIELDS = ("qcount", "dataqsiz", "buf", "elemsize", "closed", "sendx", "recvx")

_ids = weakref.WeakKeyDictionary()
_next_id = itertools.count(1)


def chan_id(c):
    """A stable small id for a channel (for dumps and JSON); 0 is the nil channel."""
    c = _chandir.underlying(c)      # a directional view is its channel's
    if c._hchan_field("isnil"):
        return 0
    try:
        i = _ids.get(c)
        if i is None:
            i = _ids[c] = next(_next_id)
        return i
    except TypeError:
        return id(c)


class SudogView:
    """One waiting goroutine in a channel's queue, as read at the moment it was listed."""
    __slots__ = ("g", "elem", "is_select", "success", "c", "releasetime")

    def __init__(self, g, elem, is_select, success, c, releasetime):
        self.g = g
        self.elem = elem
        self.is_select = bool(is_select)
        self.success = bool(success)
        self.c = c
        self.releasetime = releasetime

    def __repr__(self):
        return (f"sudog(g={self.g.goid}, elem={self.elem!r}, is_select={self.is_select}, "
                f"success={self.success})")


class WaitqView:
    """A live sequence of the sudogs in ``recvq`` or ``sendq``, first to last."""
    __slots__ = ("_c", "_name")

    def __init__(self, c, name):
        self._c = c
        self._name = name

    def __len__(self):
        return self._c._waitq_len(self._name)

    def __iter__(self):
        return iter(self._list())

    def __getitem__(self, i):
        if isinstance(i, slice):
            return self._list()[i]
        if not isinstance(i, int):
            raise TypeError(f"waitq indices must be integers, not {type(i).__name__}")
        i = int.__index__(i)
        n = len(self)
        if i < 0:
            i += n
        # out of range is decided here: the C twin's index is a C integer
        t = self._c._waitq_at(self._name, i) if 0 <= i < n else None
        if t is None:
            raise IndexError("waitq index out of range")
        return SudogView(*t)

    def __bool__(self):
        return len(self) > 0

    def _list(self):
        return [SudogView(*t) for t in self._c._waitq(self._name)]

    def __repr__(self):
        return f"waitq({self._list()!r})"


class HChanView:
    """``ch.hchan``: Go's hchan struct of a live channel. Reading it never changes it."""
    __slots__ = ("_c",)

    def __init__(self, c):
        self._c = c

    qcount = property(lambda self: self._c._hchan_field("qcount"),
                      doc="total data in the queue")
    dataqsiz = property(lambda self: self._c._hchan_field("dataqsiz"),
                        doc="size of the circular queue")
    buf = property(lambda self: self._c._hchan_field("buf"),
                   doc="the ring's slots in index order (received slots cleared to the zero value)")
    elemsize = property(lambda self: self._c._hchan_field("elemsize"),
                        doc="bytes per slot: 8, one object reference")
    closed = property(lambda self: self._c._hchan_field("closed"), doc="0 or 1")
    sendx = property(lambda self: self._c._hchan_field("sendx"), doc="send index")
    recvx = property(lambda self: self._c._hchan_field("recvx"), doc="receive index")
    recvq = property(lambda self: WaitqView(self._c, "recvq"), doc="list of recv waiters")
    sendq = property(lambda self: WaitqView(self._c, "sendq"), doc="list of send waiters")
    elemtype = property(lambda self: self._c._hchan_field("elemtype"), doc="element type")

    def __repr__(self):
        f = ", ".join(f"{n}={getattr(self, n)!r}" for n in HCHAN_FIELDS)
        return f"hchan({f}, recvq={len(self.recvq)}, sendq={len(self.sendq)})"
