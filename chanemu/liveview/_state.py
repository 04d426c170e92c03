"""Plain, JSON-ready pictures of channels and goroutines: what the live page and a replay draw.

One shape for both: the live view takes it at a safe point, and ``chanemu.trace`` stores it in a
trace's channel events, so a replay draws the recorded moment with the same code. Long things are
cut to both ends (a queue of 10,000 sudogs is its first and last few plus a count), values are
truncated reprs, so one picture stays small whatever the program holds.
"""
from .._views import chan_id

QUEUE_ENDS = 4          # sudogs kept at each end of a long wait queue
RING_SLOTS = 32         # a ring this size or smaller is drawn whole
RING_ENDS = 12          # slots kept from recvx and before sendx in a larger ring
VALUE_CHARS = 24        # a value's repr is cut to this many characters
TRACE_CAP = 1000        # a trace's pictures walk at most this many links of a wait queue
CHAN_REASONS = frozenset(("chan send", "chan receive", "select", "chan send (nil chan)",
                          "chan receive (nil chan)", "select (no cases)"))


def short_repr(v, limit=VALUE_CHARS):
    """repr(v) cut to limit characters; a repr that raises is named, not propagated."""
    try:
        r = repr(v)
    except Exception as e:       # a user's __repr__ must not break the picture
        return f"<repr failed: {type(e).__name__}>"
    return r if len(r) <= limit else r[:limit - 1] + "…"


def type_only(v, limit=VALUE_CHARS):
    """A value when values are turned off (``serve(values=False)``): its type's name."""
    return f"<{type(v).__name__}>"


def _sudog(t, with_elem, shown):
    g, elem, is_select = t[0], t[1], t[2]
    return {"g": g.goid, "elem": shown(elem) if with_elem else None, "sel": bool(is_select)}


def _queue(c, name, ends, cap=None, shown=short_repr):
    """A wait queue as {len, head, tail}: all of it when short, else both ends. A long queue
    is read by index (a walk of the links each), never listed whole. With a cap, a queue
    longer than cap is its head alone and ``atleast`` (its length is more than len - 1): the
    walks stop at cap links."""
    with_elem = name == "sendq"
    at = c._waitq_at
    if cap is not None and at(name, cap) is not None:
        head = (at(name, i) for i in range(min(ends, cap + 1)))
        return {"len": cap + 1, "atleast": True, "tail": [],
                "head": [_sudog(t, with_elem, shown) for t in head]}
    n = c._waitq_len(name)
    if n <= 2 * ends:
        return {"len": n, "head": [_sudog(t, with_elem, shown) for t in c._waitq(name)],
                "tail": []}
    return {"len": n, "head": [_sudog(at(name, i), with_elem, shown) for i in range(ends)],
            "tail": [_sudog(at(name, i), with_elem, shown) for i in range(n - ends, n)]}


def _held(i, recvx, qcount, size):
    return (i - recvx) % size < qcount


def _slots(c, shown=short_repr):
    """[[index, repr or None], ...]: every slot of a small ring; of a large one the slots from
    recvx on and those before sendx. None marks an empty slot (not the value None)."""
    size = c._hchan_field("dataqsiz")
    if not size:
        return []
    buf = c._hchan_field("buf")
    qcount, recvx, sendx = (c._hchan_field(f) for f in ("qcount", "recvx", "sendx"))
    if size <= RING_SLOTS:
        idx = range(size)
    else:
        idx = sorted({(recvx + k) % size for k in range(RING_ENDS)}
                     | {(sendx - 1 - k) % size for k in range(RING_ENDS)})
    return [[i, shown(buf[i]) if _held(i, recvx, qcount, size) else None] for i in idx]


def chan_state(c, ends=QUEUE_ENDS, cap=None, shown=short_repr):
    """The picture of one channel's hchan, labelled with Go's field names. cap: see _queue
    (a trace records a picture at every event, so it bounds the walk; the live view does not,
    and bounds how often it looks instead). shown: how a value is written (type_only when
    the debug server was started with values=False)."""
    f = c._hchan_field
    return {"id": chan_id(c), "qcount": f("qcount"), "dataqsiz": f("dataqsiz"),
            "closed": int(f("closed")), "sendx": f("sendx"), "recvx": f("recvx"),
            "slots": _slots(c, shown), "recvq": _queue(c, "recvq", ends, cap, shown),
            "sendq": _queue(c, "sendq", ends, cap, shown)}


def rank(c):
    """Sort key of a channel: the most waiters first, then the most buffered data, then by
    id (read from the struct, before any picture is made)."""
    waiters = c._waitq_len("recvq") + c._waitq_len("sendq")
    return (-waiters, -c._hchan_field("qcount"), chan_id(c))


def goroutine_state(g, name):
    chans = [chan_id(c) for c in g.waiting_on] if g.status == "waiting" else []
    return {"g": g.goid, "status": g.status, "reason": g.wait_reason or "", "chans": chans,
            "name": name}
