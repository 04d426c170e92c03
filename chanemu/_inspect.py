"""chanemu.inspect(ch): an immutable snapshot of a channel's hchan, drawn the way chan.go thinks."""
from dataclasses import dataclass, field

from ._views import chan_id


@dataclass(frozen=True)
class SudogState:
    """One sudog of a wait queue at snapshot time."""
    goid: int                 #: the waiting goroutine's goid
    elem: object              #: a blocked sender's value (None for a receiver)
    is_select: bool           #: the goroutine waits in a select (one sudog per case)
    success: bool             #: set by the waker: a value was delivered (False: closed)
    releasetime: int          #: block-profiling timestamp, 0 when not profiling
    wait_reason: str = ""     #: the goroutine's wait reason

    def to_dict(self):
        return {"g": self.goid, "elem": repr(self.elem), "is_select": self.is_select,
                "success": self.success, "releasetime": self.releasetime,
                "wait_reason": self.wait_reason}


@dataclass(frozen=True)
class HChanState:
    """A channel's hchan at one moment. Fields are Go's."""
    id: int                   #: stable id of the channel (0 is the nil channel)
    qcount: int               #: total data in the queue
    dataqsiz: int             #: size of the circular queue
    buf: tuple                #: the ring's slots in index order
    elemsize: int             #: bytes per slot (8: one object reference)
    closed: int               #: 0 or 1
    sendx: int                #: send index: the slot the next buffered send fills
    recvx: int                #: receive index: the slot the next receive takes
    recvq: tuple = field(default=())   #: SudogState of each blocked receiver, first to last
    sendq: tuple = field(default=())   #: SudogState of each blocked sender, first to last

    def to_dict(self):
        """JSON-ready: goroutines as goids, the channel as its id, values by repr."""
        return {"id": self.id, "qcount": self.qcount, "dataqsiz": self.dataqsiz,
                "buf": [repr(v) for v in self.buf], "elemsize": self.elemsize,
                "closed": self.closed, "sendx": self.sendx, "recvx": self.recvx,
                "recvq": [s.to_dict() for s in self.recvq],
                "sendq": [s.to_dict() for s in self.sendq]}

    def __str__(self):
        lines = [f"hchan #{self.id}: qcount={self.qcount} dataqsiz={self.dataqsiz} "
                 f"closed={self.closed} sendx={self.sendx} recvx={self.recvx}"]
        if self.dataqsiz:
            cells = [_cell(v) for v in self.buf]
            width = max(len(c) for c in cells)
            cells = [c.center(width) for c in cells]
            lines.append("  buf: |" + "|".join(cells) + "|")
            marks = []
            for i in range(self.dataqsiz):
                m = ("s" if i == self.sendx else "") + ("r" if i == self.recvx else "")
                marks.append(m.center(width))
            lines.append("        " + " ".join(marks) + "   (s = sendx, r = recvx)")
        else:
            lines.append("  buf: (unbuffered)")
        for name, q in (("recvq", self.recvq), ("sendq", self.sendq)):
            if q:
                items = " -> ".join(f"[g{s.goid}{' sel' if s.is_select else ''}"
                                    f"{'' if name == 'recvq' else ' ' + _cell(s.elem)}]" for s in q)
                lines.append(f"  {name} ({len(q)}): {items}")
            else:
                lines.append(f"  {name}: empty")
        return "\n".join(lines)


def _cell(v, limit=12):
    r = repr(v)
    return r if len(r) <= limit else r[:limit - 1] + "…"


def inspect(ch):
    """An immutable HChanState snapshot of ch's hchan (see ``ch.hchan`` for the live view)."""
    if not hasattr(ch, "_hchan_field"):
        raise TypeError(f"inspect: expected a Chan, got {type(ch).__name__}")
    h = ch.hchan

    def sudogs(q):
        return tuple(SudogState(s.g.goid, s.elem, s.is_select, s.success, s.releasetime,
                                s.g.wait_reason or "") for s in q)
    return HChanState(chan_id(ch), h.qcount, h.dataqsiz, h.buf, h.elemsize, h.closed,
                      h.sendx, h.recvx, sudogs(h.recvq), sudogs(h.sendq))
