"""Consistent snapshots of a runtime's goroutines, for the observers (pprof, leak, trace).

A snapshot is taken on the runtime's own thread between two operations: at once when the caller
is that thread, else through ``chanemu._safepoint.call`` (as Go stops the world for a goroutine
profile), so it never sees a half-done channel operation. Everything else (formatting, grouping,
encoding) works on the plain records it returns.

Stacks are Python frames in Go's shape (``module.qualname``, ``file:line``, ``+0x`` the bytecode
offset of the line), chanemu's runtime frames hidden as Go hides ``runtime.*`` frames, and the
observers' own frames (this module, pprof, leak, trace, the safe point) stripped from the top of
the stack that runs them. Go's runtime frames (``runtime.gopark``, ``runtime.chansend1``...) are
synthesised from the wait reason, identically on both twins, so ``@`` lists and profile.proto
samples have Go's shape; like Go, the text formats hide them.
"""
import os
import sys
import zlib

import chanemu
from . import _safepoint, _traceback
from ._views import chan_id

_PKG_DIR = os.path.dirname(os.path.abspath(__file__))
OBSERVER_FILES = frozenset(os.path.join(_PKG_DIR, f) for f in (
    "_gsnap.py", "_reach.py", "_pbprof.py", "pprof.py", "leak.py", "trace.py", "_safepoint.py",
    "pytest_plugin.py"))

# Go's runtime frames under a goroutine parked with each wait reason, innermost first (what
# runtime.Stack shows with GOTRACEBACK=system; Go 1.26 names). Hidden in text, kept in proto.
_RUNTIME_FRAMES = {
    "chan send": ("runtime.gopark", "runtime.chansend", "runtime.chansend1"),
    "chan send (nil chan)": ("runtime.gopark", "runtime.chansend", "runtime.chansend1"),
    "chan receive": ("runtime.gopark", "runtime.chanrecv", "runtime.chanrecv1"),
    "chan receive (nil chan)": ("runtime.gopark", "runtime.chanrecv", "runtime.chanrecv1"),
    "select": ("runtime.gopark", "runtime.selectgo"),
    "select (no cases)": ("runtime.gopark", "runtime.block"),
    "semacquire": ("runtime.gopark", "runtime.goparkunlock", "runtime.semacquire1"),
    "sync.WaitGroup.Wait": ("runtime.gopark", "runtime.goparkunlock", "runtime.semacquire1"),
    "sync.Mutex.Lock": ("runtime.gopark", "runtime.goparkunlock", "runtime.semacquire1"),
    "sync.RWMutex.RLock": ("runtime.gopark", "runtime.goparkunlock", "runtime.semacquire1"),
    "sync.RWMutex.Lock": ("runtime.gopark", "runtime.goparkunlock", "runtime.semacquire1"),
    "sync.Cond.Wait": ("runtime.gopark", "runtime.goparkunlock", "sync.runtime_notifyListWait"),
}
RUNTIME_FILE = "<chanemu>"
GOEXIT = "runtime.goexit"

# -- pseudo program counters ---------------------------------------------------------------
# Python has no PCs; pprof's formats want them. Each (function, file) gets a stable entry
# address from a hash (the same in every process and on both twins), a frame's PC is the entry
# plus the bytecode offset of its line, so identical stacks give identical PCs.
_PC_BASE = 0x400000


def func_entry(func, file):
    h = zlib.crc32(f"{func}\0{file}".encode("utf-8", "surrogatepass"))
    return _PC_BASE + (h & 0x3FFFFFF) * 16            # 16-aligned, below 0x44000000


def frame_pc(fr):
    """The PC of a frame: Go's ``#`` line address (the call); the ``@`` list holds PC+1."""
    return func_entry(fr[0], fr[1]) + fr[3]


def _runtime_frame(name):
    off = 0x10 + (zlib.crc32(name.encode()) % 0x100) * 2
    return (name, RUNTIME_FILE, 0, off, 0)


_RT_FRAMES = {name: _runtime_frame(name)
              for names in _RUNTIME_FRAMES.values() for name in names}
_RT_FRAMES[GOEXIT] = _runtime_frame(GOEXIT)
GOEXIT_FRAME = _RT_FRAMES[GOEXIT]


def runtime_frames(reason):
    """Go's runtime frames for a goroutine parked with this wait reason (innermost first)."""
    names = _RUNTIME_FRAMES.get(reason, ("runtime.gopark",))
    return tuple(_RT_FRAMES.get(n) or _runtime_frame(n) for n in names)


# -- Python frames in Go's shape -----------------------------------------------------------
_HIDDEN = object()
_code_info = {}        # code -> (function, file, firstlineno) or _HIDDEN / _OBSERVER
_OBSERVER = object()
_offsets = {}          # (code, lasti) -> bytecode offset of the line
_CACHE_MAX = 20000


def forget_code():
    """Drop the per-code verdicts (after chanemu._traceback.show_runtime changed)."""
    _code_info.clear()


def _info(code, frame):
    info = _code_info.get(code)
    if info is None:
        if len(_code_info) > _CACHE_MAX:
            _code_info.clear()
        fn = code.co_filename
        path = os.path.abspath(fn)
        if path in OBSERVER_FILES:
            info = _OBSERVER
        elif _traceback.hidden_code(code):
            info = _HIDDEN
        else:
            mod = frame.f_globals.get("__name__", "?")
            info = (f"{mod}.{code.co_qualname}", fn, code.co_firstlineno)
        _code_info[code] = info
    return info


def is_observer_frame(frame):
    return _info(frame.f_code, frame) is _OBSERVER


def _offset(code, lasti):
    key = (code, lasti)
    off = _offsets.get(key)
    if off is None:
        if len(_offsets) > _CACHE_MAX:
            _offsets.clear()
        off = _offsets[key] = _traceback.line_offset(code, lasti)
    return off


def frames_from(frame):
    """(function, file, line, offset, start_line) of each visible frame, innermost first.

    Runtime frames (chanemu's core, greenlet) are hidden as in dumps; observer frames too."""
    out = []
    while frame is not None:
        code = frame.f_code
        info = _code_info.get(code) or _info(code, frame)
        if info is not _HIDDEN and info is not _OBSERVER:
            out.append((info[0], info[1], frame.f_lineno or 0, _offset(code, frame.f_lasti),
                        info[2]))
        frame = frame.f_back
    return tuple(out)


def strip_top(frame):
    """The first frame outward that is neither an observer's nor the runtime's: where the
    goroutine running an observer (directly, in a safe point, in a timer) really is."""
    while frame is not None:
        info = _info(frame.f_code, frame)
        if info is not _HIDDEN and info is not _OBSERVER:
            return frame
        frame = frame.f_back
    return None


class Where:
    """Whose Python stack is executing on the runtime's thread right now, and where.

    On the runtime's thread that is the goroutine ``getg()`` (running, or parking, yielding, or
    idle in the scheduler when we are in a safe point or a timer); from another thread (the
    safe point timed out) the running goroutine's stack is read with sys._current_frames."""
    __slots__ = ("g", "frame", "on_thread", "rt")

    def __init__(self, rt):
        self.rt = rt
        self.on_thread = _safepoint.on_thread(rt)
        self.g = None
        self.frame = None
        if self.on_thread and not rt.dead:
            try:
                if chanemu._impl.current_runtime() is rt:
                    self.g = chanemu._impl.getg()
            except Exception:   # pragma: no cover - no goroutine context
                self.g = None
            self.frame = strip_top(sys._getframe())

    def frame_of(self, g):
        """The innermost Python frame of goroutine g (None: not started or gone)."""
        if g is self.g:
            return self.frame
        if g.status == "running":
            if self.on_thread:
                return None
            f = sys._current_frames().get(self.rt.thread_ident)
            return strip_top(f)
        try:
            return g.frame
        except Exception:       # pragma: no cover - defensive: a twin without the frame
            return None


def goroutine_frames(g, frame):
    fr = frames_from(frame) if frame is not None else ()
    if not fr and g.start_function is not None and g.status != "dead":
        func, file, line, off = _traceback.entry_frame(g.start_function, g.creation_site)
        fr = ((func, file, line, off, line),)
    return fr


# -- records -------------------------------------------------------------------------------
class GRecord:
    """One goroutine at snapshot time (plain data; ``g`` is the live handle)."""
    __slots__ = ("g", "goid", "status", "reason", "since", "frames", "created", "parent",
                 "waits", "leaked")

    def stack(self, with_runtime=True):
        """Frames innermost first, with Go's runtime frames for a parked goroutine."""
        if with_runtime and self.status == "waiting":
            return runtime_frames(self.reason) + self.frames
        return self.frames

    def header(self, now):
        """``goroutine N [status (leaked), M minutes]:`` (traceback.go goroutineheader)."""
        status = self.reason if self.status == "waiting" and self.reason else self.status
        if self.leaked:
            status += " (leaked)"
        if self.status == "waiting" and self.since is not None:
            minutes = (now - self.since) // 60_000_000_000
            if minutes >= 1:
                status += f", {minutes} minutes"
        return f"goroutine {self.goid} [{status}]:"

    def top(self):
        return self.frames[0] if self.frames else None


class Snapshot:
    __slots__ = ("records", "now", "current", "impl", "chans", "leaked")

    def by_goid(self):
        return {r.goid: r for r in self.records}


class Wait:
    """Where a goroutine's sudog sits: chan id, queue name, 1-based position, queue length,
    and the channel's qcount/dataqsiz/closed (None for a nil-channel wait)."""
    __slots__ = ("cid", "queue", "pos", "qlen", "qcount", "dataqsiz", "closed")

    def __init__(self, cid, queue, pos, qlen, qcount, dataqsiz, closed):
        self.cid = cid
        self.queue = queue
        self.pos = pos
        self.qlen = qlen
        self.qcount = qcount
        self.dataqsiz = dataqsiz
        self.closed = closed

    def __str__(self):
        if self.queue is None:
            return "nil chan: never ready"
        return (f"chan {self.cid} {self.queue} {self.pos}/{self.qlen} "
                f"(hchan qcount={self.qcount} dataqsiz={self.dataqsiz} closed={self.closed})")


def on_runtime(rt, fn):
    """fn() on rt's thread at a safe point (at once when called there, or the program ended)."""
    if rt.dead or _safepoint.on_thread(rt):
        return fn()
    return _safepoint.call(rt, fn)


def resolve(rt):
    return rt if rt is not None else chanemu._impl.current_runtime()


def take(rt=None, *, waits=False, leaks=False, filter=None):
    """A Snapshot of rt's goroutines (default: the calling thread's runtime), taken at a safe
    point. waits: where each sudog sits in its queue; leaks: run the leak detector too."""
    rt = resolve(rt)
    return on_runtime(rt, lambda: collect(rt, waits=waits, leaks=leaks, filter=filter))


def collect(rt, *, waits=False, leaks=False, filter=None):
    """The snapshot, on rt's thread (call through ``take``)."""
    where = Where(rt)
    gs = sorted(rt.goroutines(), key=lambda g: g.goid)
    snap = Snapshot()
    snap.now = rt.nanotime()
    snap.impl = chanemu.IMPL
    snap.current = None
    leaked = set()
    if leaks:
        from . import _reach
        leaked = _reach.leaked_goids(rt, gs, where)
    snap.leaked = leaked
    positions = _positions(gs) if waits else {}
    recs = []
    for g in gs:
        if filter is not None and not filter(g, g.goid in leaked):
            continue
        r = GRecord()
        r.g = g
        r.goid = g.goid
        r.status = g.status
        r.reason = g.wait_reason
        r.since = g.wait_since
        r.frames = goroutine_frames(g, where.frame_of(g))
        r.created = g.creation_site
        r.parent = g.parent_goid
        r.waits = positions.get(g.goid, ())
        r.leaked = g.goid in leaked
        if r.status == "running":
            snap.current = r
        recs.append(r)
    snap.records = recs
    return snap


def _positions(gs):
    """goid -> [Wait], from one walk over each waited-on channel's queues."""
    out = {}
    chans = {}
    nil_waiters = []
    for g in gs:
        if g.status != "waiting":
            continue
        for c in g.waiting_on:
            cid = chan_id(c)
            if cid == 0:
                nil_waiters.append(g.goid)
            else:
                chans[cid] = c
    for cid in sorted(chans):
        c = chans[cid]
        qcount = c._hchan_field("qcount")
        dataqsiz = c._hchan_field("dataqsiz")
        closed = c._hchan_field("closed")
        for qname in ("recvq", "sendq"):
            q = c._waitq(qname)
            n = len(q)
            for i, t in enumerate(q):
                out.setdefault(t[0].goid, []).append(
                    Wait(cid, qname, i + 1, n, qcount, dataqsiz, closed))
    for goid in nil_waiters:
        out.setdefault(goid, []).append(Wait(0, None, 0, 0, 0, 0, 0))
    return out


def twin_of(rt):
    """The core module (twin) a runtime belongs to."""
    from . import _coreapi
    return _coreapi.core_of(rt) or chanemu._impl


def live_chans(rt=None):
    """Every live channel of rt's twin (default: the active one), found with gc.get_objects;
    the nil channel left out."""
    import gc
    chan_type = (twin_of(rt) if rt is not None else chanemu._impl).Chan
    out = [o for o in gc.get_objects() if isinstance(o, chan_type)]
    return sorted((c for c in out if chan_id(c) != 0), key=chan_id)
