"""chanemu.inspect(ch): an immutable snapshot of a channel's hchan, drawn the way chan.go thinks."""
from dataclasses import dataclass, field

from ._views import chan_id
from . import _chandir


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
    dir: str = "chan"         #: the channel type's direction as inspected: chan, chan<- or <-chan

    @property
    def zerosize(self):
        """Zero-size elements (``chan struct{}``): no buffer at all, only qcount and the indices."""
        return self.elemsize == 0 and self.id != 0

    def to_dict(self):
        """JSON-ready: goroutines as goids, the channel as its id, values by repr."""
        return {"id": self.id, "qcount": self.qcount, "dataqsiz": self.dataqsiz,
                "buf": [repr(v) for v in self.buf], "elemsize": self.elemsize,
                "closed": self.closed, "sendx": self.sendx, "recvx": self.recvx,
                "recvq": [s.to_dict() for s in self.recvq],
                "sendq": [s.to_dict() for s in self.sendq], "dir": self.dir}

    def __str__(self):
        lines = [f"hchan #{self.id}{_dir_note(self)}: qcount={self.qcount} "
                 f"dataqsiz={self.dataqsiz} closed={self.closed} sendx={self.sendx} "
                 f"recvx={self.recvx}"]
        if self.zerosize:
            lines.append(f"  buf: (none: zero-size elements, {self.qcount} held)")
        elif self.dataqsiz:
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


    # -- notebooks ----------------------------------------------------------------------------
    def to_svg(self, max_waiters=12, max_slots=64):
        """An SVG drawing: the ring buffer (held slots shaded, ``sendx`` above its slot,
        ``recvx`` below its slot) and the two wait queues, first to last."""
        return _svg(self, max_waiters, max_slots)

    def _repr_svg_(self):
        return self.to_svg()

    def _repr_html_(self):
        return (f'<div class="chanemu-hchan" title="{_esc(str(self))}">'
                f"{self.to_svg()}</div>")


_CELL_W, _CELL_H, _PAD = 64, 30, 12


def _esc(s):
    return (str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def _svg(h, max_waiters, max_slots):
    out = []
    y = _PAD + 14
    out.append(f'<text x="{_PAD}" y="{y}" font-weight="bold">hchan #{h.id}</text>'
               f'<text x="{_PAD + 90}" y="{y}">qcount={h.qcount} dataqsiz={h.dataqsiz} '
               f'closed={h.closed} sendx={h.sendx} recvx={h.recvx}</text>')
    width = 480
    y += 24
    if h.zerosize:
        out.append(f'<text x="{_PAD}" y="{y + 8}" fill="#555">buf: none (zero-size elements, '
                   f'elemsize=0): {h.qcount} held, only the count and indices move</text>')
        y += 26
    elif h.dataqsiz:
        held = {(h.recvx + i) % h.dataqsiz for i in range(h.qcount)}
        shown = min(h.dataqsiz, max_slots)
        top = y + 16
        for i in range(shown):
            x = _PAD + i * _CELL_W
            fill = "#cfe3ff" if i in held else "#ffffff"
            out.append(f'<rect class="slot{" held" if i in held else ""}" x="{x}" y="{top}" '
                       f'width="{_CELL_W}" height="{_CELL_H}" fill="{fill}" stroke="#333"/>'
                       f'<text x="{x + _CELL_W / 2}" y="{top + 19}" text-anchor="middle">'
                       f'{_esc(_cell(h.buf[i], 9))}</text>')
            if i == h.sendx:
                out.append(f'<text class="sendx" x="{x + _CELL_W / 2}" y="{top - 4}" '
                           f'text-anchor="middle" fill="#b00">sendx</text>')
            if i == h.recvx:
                out.append(f'<text class="recvx" x="{x + _CELL_W / 2}" y="{top + _CELL_H + 14}" '
                           f'text-anchor="middle" fill="#070">recvx</text>')
        if shown < h.dataqsiz:
            out.append(f'<text x="{_PAD + shown * _CELL_W + 6}" y="{top + 19}">'
                       f'… {h.dataqsiz - shown} more slots</text>')
        width = max(width, 2 * _PAD + shown * _CELL_W + 140)
        y = top + _CELL_H + 30
    else:
        out.append(f'<text x="{_PAD}" y="{y + 8}" fill="#555">buf: unbuffered '
                   f'(dataqsiz=0): a send hands its value straight to a receiver</text>')
        y += 26
    for name, q in (("recvq", h.recvq), ("sendq", h.sendq)):
        out.append(f'<text x="{_PAD}" y="{y + 19}">{name} ({len(q)})</text>')
        x = _PAD + 90
        for s in q[:max_waiters]:
            label = f"g{s.goid}" + (" sel" if s.is_select else "")
            if name == "sendq":
                label += " " + _cell(s.elem, 8)
            w = 10 + 7 * len(label)
            out.append(f'<rect class="sudog" x="{x}" y="{y}" width="{w}" height="{_CELL_H - 2}" '
                       f'rx="6" fill="#fff4d6" stroke="#a60"/><text x="{x + 5}" y="{y + 19}">'
                       f'{_esc(label)}</text>')
            x += w + 14
        if len(q) > max_waiters:
            out.append(f'<text x="{x}" y="{y + 19}">… +{len(q) - max_waiters} more</text>')
            x += 110
        if not q:
            out.append(f'<text x="{x}" y="{y + 19}" fill="#555">empty</text>')
        width = max(width, x + _PAD)
        y += _CELL_H + 8
    height = y + _PAD
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height}" '
            f'font-family="monospace" font-size="12">' + "".join(out) + "</svg>")


def _dir_note(h):
    return "" if h.dir == "chan" else f" ({h.dir})"


def _cell(v, limit=12):
    r = repr(v)
    return r if len(r) <= limit else r[:limit - 1] + "…"


def inspect(ch):
    """An immutable HChanState snapshot of ch's hchan (see ``ch.hchan`` for the live view)."""
    if not hasattr(ch, "_hchan_field"):
        raise TypeError(f"inspect: expected a Chan, got {type(ch).__name__}")
    direction = _chandir.direction(ch)
    ch = _chandir.underlying(ch)
    h = ch.hchan

    def sudogs(q):
        return tuple(SudogState(s.g.goid, s.elem, s.is_select, s.success, s.releasetime,
                                s.g.wait_reason or "") for s in q)
    return HChanState(chan_id(ch), h.qcount, h.dataqsiz, h.buf, h.elemsize, h.closed,
                      h.sendx, h.recvx, sudogs(h.recvq), sudogs(h.sendq), direction)
