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
    def to_svg(self, max_waiters=8, max_slots=64, scale=1.0, legend=True):
        """An SVG drawing, sized to be read when projected (16 px text at ``scale`` 1): the
        ring with slot indices (held slots shaded, empty ones dashed, ``sendx`` and ``recvx``
        under their slots), the two wait queues first to last with arrows (a long queue by
        both ends, ``+N more`` between), the closed state, and a legend."""
        if not (isinstance(scale, (int, float)) and 0 < scale <= 16):
            raise ValueError(f"to_svg: scale must be a number in (0, 16], not {scale!r}")
        if isinstance(max_waiters, bool) or not isinstance(max_waiters, int) or max_waiters < 2:
            raise ValueError(f"to_svg: max_waiters must be an int >= 2, not {max_waiters!r}")
        return _svg(self, max_waiters, max_slots, scale, legend)

    def _repr_svg_(self):
        return self.to_svg()

    def _repr_html_(self):
        return (f'<div class="chanemu-hchan" title="{_esc(str(self))}">'
                f"{self.to_svg()}</div>")


# Drawing units are px at scale 1; the monospace advance at 16 px is about 9.6 px.
_FONT, _CHAR, _PAD = 16, 9.8, 16
_SLOT_H, _BOX_H, _GAP = 38, 34, 28
_HELD, _SUDOG, _SEL, _RED, _GREEN = "#cfe3ff", "#fff4d6", "#eadcff", "#b00020", "#11700f"
_DASHED_FRAME, _DASHED_SLOT = ' stroke-dasharray="10 5"', ' stroke-dasharray="4 3"'
_ARROW_DEF = ('<defs><marker id="chanemu-arrow" viewBox="0 0 10 10" refX="9" refY="5" '
              'markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" '
              'fill="#333"/></marker></defs>')


def _esc(s):
    return (str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def _tw(s):
    """Width of a text at the drawing's font size."""
    return len(str(s)) * _CHAR


def _text(x, y, s, attrs=""):
    return f'<text x="{x:.0f}" y="{y:.0f}" {attrs}>{_esc(s)}</text>'


def _svg(h, max_waiters, max_slots, scale, legend):
    out = []
    y = _PAD + 18
    head = (f"qcount={h.qcount} dataqsiz={h.dataqsiz} closed={h.closed} sendx={h.sendx} "
            f"recvx={h.recvx}")
    title = f"hchan #{h.id}"
    out.append(_text(_PAD, y, title, 'font-weight="bold"'))
    x = _PAD + _tw(title) + 16
    out.append(_text(x, y, head))
    width = x + _tw(head)
    if h.closed:
        bx = width + 14
        out.append(f'<rect class="closed" x="{bx:.0f}" y="{y - 18}" width="86" height="24" '
                   f'rx="4" fill="{_RED}"/>' +
                   _text(bx + 43, y, "CLOSED", 'fill="#fff" font-weight="bold" '
                         'text-anchor="middle"'))
        width = bx + 86
    y += 10
    if h.zerosize:
        note = (f"buf: none (zero-size elements, elemsize=0): {h.qcount} held, only the "
                "count and indices move")
        ring, w, y = [_text(_PAD, y + 22, note, 'fill="#444"')], _PAD + _tw(note), y + 34
    elif h.dataqsiz:
        ring, w, y = _svg_ring(h, y, max_slots)
    else:
        note = "buf: unbuffered (dataqsiz=0): a send hands its value straight to a receiver"
        ring, w, y = [_text(_PAD, y + 22, note, 'fill="#444"')], _PAD + _tw(note), y + 34
    out += ring
    width = max(width, w)
    for name, q in (("recvq", h.recvq), ("sendq", h.sendq)):
        part, w, y = _svg_queue(name, q, y, max_waiters)
        out += part
        width = max(width, w)
    if legend:
        part, w, y = _svg_legend(y + 6)
        out += part
        width = max(width, w)
    width += _PAD
    height = y + _PAD
    frame = (f'<rect x="2" y="2" width="{width - 4:.0f}" height="{height - 4:.0f}" rx="8" '
             f'fill="#fff" stroke="{_RED if h.closed else "#bbb"}" '
             f'stroke-width="{3 if h.closed else 1}"'
             f'{_DASHED_FRAME if h.closed else ""}/>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width * scale:.0f}" '
            f'height="{height * scale:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
            f'font-family="monospace" font-size="{_FONT}">{_ARROW_DEF}{frame}'
            + "".join(out) + "</svg>")


def _svg_ring(h, y, max_slots):
    """The ring: an index above each slot, the value in it (nothing in an empty slot),
    sendx and recvx under theirs. Returns (parts, right edge, bottom)."""
    out = []
    held = {(h.recvx + i) % h.dataqsiz for i in range(h.qcount)}
    shown = min(h.dataqsiz, max_slots)
    cells = [_cell(h.buf[i], 10) if i in held else "" for i in range(shown)]
    cw = max(64, max(_tw(c) for c in cells) + 16)
    top = y + 26
    out.append(_text(_PAD, top + 25, "buf", 'font-weight="bold"'))
    x0 = _PAD + 48
    for i in range(shown):
        x = x0 + i * cw
        is_held = i in held
        out.append(_text(x + cw / 2, top - 6, f"[{i}]", 'class="index" text-anchor="middle" '
                         'fill="#555"'))
        out.append(f'<rect class="slot{" held" if is_held else ""}" x="{x:.0f}" y="{top}" '
                   f'width="{cw:.0f}" height="{_SLOT_H}" fill="{_HELD if is_held else "#fff"}" '
                   f'stroke="#333"{"" if is_held else _DASHED_SLOT}/>')
        if is_held:
            out.append(_text(x + cw / 2, top + 25, cells[i], 'text-anchor="middle"'))
        below = top + _SLOT_H + 20
        if i == h.sendx:
            out.append(_text(x + cw / 2, below, "▲ sendx",
                             f'class="sendx" text-anchor="middle" fill="{_RED}"'))
            below += 20
        if i == h.recvx:
            out.append(_text(x + cw / 2, below, "▲ recvx",
                             f'class="recvx" text-anchor="middle" fill="{_GREEN}"'))
    right = x0 + shown * cw + 40
    if shown < h.dataqsiz:
        more = f"… {h.dataqsiz - shown} more slots"
        out.append(_text(x0 + shown * cw + 8, top + 25, more))
        right += _tw(more)
    return out, right, top + _SLOT_H + 48


def _svg_queue(name, q, y, max_waiters):
    """One wait queue, first to last, arrows between; a long one by both ends with the count
    left out between them. Returns (parts, right edge, bottom)."""
    out = []
    y += 22
    label = f"{name} ({len(q)})"
    out.append(_text(_PAD, y, label, 'font-weight="bold"'))
    after = _PAD + _tw(label) + 14
    if not q:
        out.append(_text(after, y, "empty", 'fill="#555"'))
        return out, after + _tw("empty"), y + 8
    out.append(_text(after, y, "first → last", 'fill="#555"'))
    first = (max_waiters + 1) // 2
    items = list(q) if len(q) <= max_waiters else (
        list(q[:first]) + [len(q) - max_waiters] + list(q[len(q) - (max_waiters - first):]))
    x, top = _PAD + 16, y + 10
    for k, it in enumerate(items):
        if k:
            out.append(f'<line class="link" x1="{x - _GAP + 3:.0f}" y1="{top + _BOX_H / 2:.0f}" '
                       f'x2="{x - 4:.0f}" y2="{top + _BOX_H / 2:.0f}" stroke="#333" '
                       f'stroke-width="2" marker-end="url(#chanemu-arrow)"/>')
        if isinstance(it, int):
            more = f"… +{it} more"
            out.append(_text(x, top + 23, more, 'class="more"'))
            x += _tw(more) + _GAP
            continue
        lab = f"g{it.goid}" + (" sel" if it.is_select else "")
        if name == "sendq":
            lab += " " + _cell(it.elem, 10)
        w = _tw(lab) + 16
        out.append(f'<rect class="sudog" x="{x:.0f}" y="{top}" width="{w:.0f}" '
                   f'height="{_BOX_H}" rx="7" fill="{_SEL if it.is_select else _SUDOG}" '
                   f'stroke="{"#7b3fc4" if it.is_select else "#a60"}" stroke-width="2"/>'
                   + _text(x + 8, top + 23, lab))
        x += w + _GAP
    return out, x - _GAP, top + _BOX_H + 6


_LEGEND = (("held", "slot holding a value"), ("empty", "empty slot"),
           ("sudog", "sudog: a waiting goroutine"), ("sel", "sel: waiting in a select"),
           ("arrow", "queue order"), ("closed", "closed channel"))


def _svg_legend(y):
    """A key to the colours and marks. Returns (parts, right edge, bottom)."""
    out = [f'<line x1="{_PAD}" y1="{y}" x2="{_PAD + 200}" y2="{y}" stroke="#ddd"/>']
    x, y = _PAD, y + 26
    shapes = {
        "held": f'fill="{_HELD}" stroke="#333"', "empty": 'fill="#fff" stroke="#333" '
        'stroke-dasharray="4 3"', "sudog": f'rx="6" fill="{_SUDOG}" stroke="#a60" '
        'stroke-width="2"', "sel": f'rx="6" fill="{_SEL}" stroke="#7b3fc4" stroke-width="2"',
        "closed": f'rx="4" fill="{_RED}"'}
    right = x
    for key, label in _LEGEND:
        w = 40 + _tw(label) + 18
        if x + w > 640 and x > _PAD:          # wrap: keep the key narrow
            x, y = _PAD, y + 28
        if key == "arrow":
            out.append(f'<line class="legend" x1="{x}" y1="{y - 5}" x2="{x + 28}" y2="{y - 5}" '
                       f'stroke="#333" stroke-width="2" marker-end="url(#chanemu-arrow)"/>')
        else:
            out.append(f'<rect class="legend" x="{x}" y="{y - 17}" width="30" height="22" '
                       f'{shapes[key]}/>')
        out.append(_text(x + 38, y, label, 'class="legend"'))
        x += w
        right = max(right, x)
    return out, right, y + 8


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
