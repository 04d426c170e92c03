"""chanemu.trace: goroutine lifetimes, parks and wake-ups as a Chrome / Perfetto trace.

    tr = chanemu.trace.start("trace.json")    # inside the program (e.g. at the top of main)
    ...
    chanemu.trace.stop()                      # writes the file; or: with chanemu.trace.start(p):

Open the file in https://ui.perfetto.dev or chrome://tracing. The runtime calls the tracer at
each scheduling event (``rt.tracer(kind, g, arg)``); the file is written at ``stop()``.

Schema (Chrome Trace Event Format, JSON object form; ``ts``/``dur`` in microseconds of the
runtime's clock since ``start()``, so a virtual clock gives virtual time):

- one process (``pid`` 1, named ``chanemu (<impl>)``); one thread row per goroutine, ``tid`` =
  goid, named ``g<goid> <function>`` (``M`` metadata events ``process_name``, ``thread_name``,
  ``thread_sort_index``);
- ``X`` slices on a goroutine's row: ``running`` (cat ``goroutine``) from when it is scheduled
  to when it parks, yields or ends; ``runnable`` (cat ``sched``) from creation, wake-up or yield
  to when it runs; and a slice named by the wait reason (``chan send``, ``select``...; cat
  ``blocked``) from park to wake-up, ``args.chans`` the ids (``chanemu._views.chan_id``, 0 for
  nil) of the channels it waits on. Slices still open at ``stop()`` end there with
  ``args.unfinished`` true;
- flow events ``s``/``f`` (``bp`` ``e``) named ``wake`` (cat ``wakeup``) from the waker's
  running slice to the woken goroutine's next running slice, and ``go`` (cat ``create``) from
  the creator to the new goroutine's first running slice; each ``id`` appears exactly twice
  (flows whose second end did not happen before ``stop()`` are left out);
- instant events ``i`` (scope ``t``): ``go`` on the creator's row (``args.goid``: the new
  goroutine), ``end`` on a goroutine's row when it ends (``args.error``: the repr of the
  exception that ended it, if any), ``preempted`` (cat ``sched``) when the scheduler made it
  yield after 10 ms of running without blocking (Go's GoPreempt; it then turns runnable as after
  a yield);
- instant events ``i`` (scope ``t``, cat ``chan``) named ``chan send``, ``chan recv`` and
  ``chan close`` on a goroutine's row when it completes a channel operation (blocking or not,
  in a select too), ``args.chan`` the channel's id and ``args.ok`` (False for a receive that
  got the zero value of a closed channel);
- a counter ``C`` named ``goroutines`` (``args.count``) at each creation and end.

Every event carries ``args.seq``, its position in the file, since a virtual clock gives many
events the same ``ts``, and ``args.ev``, the index of the runtime event it comes from (a slice:
the one that opened it), so a replay can put every change back in the order it happened. With
``states`` (the default), a ``chan`` event also carries ``args.hchan``, the channel's hchan just
after the operation, and a goroutine parking on channels adds an instant ``park`` (cat
``hchan``) whose ``args.hchans`` are those channels with its sudogs queued: the pictures the
live view's replay draws (``chanemu.liveview._state.chan_state``). A wait queue longer than
``TRACE_CAP`` (1000) is recorded by its head, with ``atleast`` set, so that each event costs a
bounded walk. Channel operations are recorded only while a trace runs (the
twin's ``set_chan_tracing`` flag; one flag read per operation otherwise).
"""
import json
import threading

import chanemu
from . import _gsnap, _traceback
from ._views import chan_id
from .liveview._state import TRACE_CAP, chan_state


def _hchans(chans):
    """The pictures of the channels a goroutine parks on, for a replay."""
    return [chan_state(c, cap=TRACE_CAP) for c in chans if chan_id(c)]

__all__ = ["start", "stop", "Trace"]

_active = {}    # id(rt) -> Trace
_lock = threading.Lock()
_chan_tracing = {}      # twin module -> number of traces that turned its chan events on


def _chan_events(impl, on):
    """Turn the twin's per-operation "chan" events on for the first trace, off after the last."""
    setter = getattr(impl, "set_chan_tracing", None)
    if setter is None:
        return
    n = _chan_tracing.get(impl, 0) + (1 if on else -1)
    _chan_tracing[impl] = n
    if (on and n == 1) or (not on and n == 0):
        setter(on)


class Trace:
    """A recording in progress (``start()`` returns it); ``stop()`` writes the file."""

    def __init__(self, path, rt, limit=None, states=True):
        self.path = path
        self.rt = rt
        self.limit = limit
        self.states = states
        self.dropped = 0
        self.events = []            # (kind, goid, ns, extra)
        self.names = {}             # goid -> function name
        self.t0 = rt.nanotime()
        self.stopped = False
        self.errors = 0
        self._impl_mod = _gsnap.twin_of(rt)
        self.impl = self._impl_mod.IMPL

    # -- the runtime's hook -------------------------------------------------------------
    def __call__(self, kind, g, arg):
        try:
            ev = self.events
            if self.limit is not None and len(ev) >= self.limit:
                self.dropped += 1
                return
            now = self.rt.nanotime()
            goid = g.goid
            if kind == "block":
                extra = (arg, tuple(chan_id(c) for c in g.waiting_on))
                if self.states:
                    extra += (_hchans(g.waiting_on),)
            elif kind == "unblock" or kind == "create":
                extra = arg.goid if arg is not None else None
                if kind == "create":
                    self.names[goid] = _name(g)
            elif kind == "end":
                extra = None if arg is None else repr(arg)
            elif kind == "chan":
                op, c, ok = arg
                extra = (op, chan_id(c), bool(ok))
                if self.states:
                    extra += (chan_state(c, cap=TRACE_CAP),)
            else:
                extra = None
            ev.append((kind, goid, now, extra))
        except Exception:       # never break the scheduler
            self.errors += 1

    # -- lifecycle ----------------------------------------------------------------------
    def stop(self):
        """Stop recording and write the trace file; returns its path."""
        with _lock:
            if self.stopped:
                return self.path
            self.stopped = True
            _active.pop(id(self.rt), None)
            _chan_events(self._impl_mod, False)
        rt = self.rt

        def unhook():
            if rt.tracer is self:
                rt.tracer = None
            return rt.nanotime(), [(g.goid, g.status, _name(g)) for g in rt.goroutines()]
        end, live = _gsnap.on_runtime(rt, unhook)
        for goid, _, name in live:
            self.names.setdefault(goid, name)
        doc = self.to_json(end)
        if hasattr(self.path, "write"):
            json.dump(doc, self.path)
        else:
            with open(self.path, "w") as f:
                json.dump(doc, f)
        return self.path

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # -- conversion ---------------------------------------------------------------------
    def to_json(self, end_ns=None):
        """The trace as a JSON-ready dict (the file's content)."""
        t0 = self.t0
        if end_ns is None:
            end_ns = self.rt.nanotime()

        def us(ns):
            return (ns - t0) / 1000.0

        out = []
        seq = [0]

        def emit(e, ev=None):
            e.setdefault("pid", 1)
            e.setdefault("args", {})["seq"] = seq[0]
            e["args"]["ev"] = at[0] if ev is None else ev
            seq[0] += 1
            out.append(e)

        state = {}      # goid -> (what, since_ns, info, ev): running | runnable | blocked
        at = [0]        # index in self.events of the event being converted
        pending_flows = {}   # goid -> [(flow name, cat, id)] to finish at its next start
        next_id = [1]
        count = [self._n_at_start]
        seen = set()

        def close(goid, ns, unfinished=False):
            st = state.pop(goid, None)
            if st is None:
                return
            what, since, info, ev = st
            e = {"ph": "X", "tid": goid, "ts": us(since), "dur": (ns - since) / 1000.0}
            if what == "running":
                e.update(name="running", cat="goroutine")
            elif what == "runnable":
                e.update(name="runnable", cat="sched")
            else:
                reason, chans = info[:2]
                e.update(name=reason or "waiting", cat="blocked", args={"chans": list(chans)})
            if unfinished:
                e.setdefault("args", {})["unfinished"] = True
            emit(e, ev)

        def flow(name, cat, from_goid, ns, to_goid):
            fid = next_id[0]
            next_id[0] += 1
            s = {"ph": "s", "name": name, "cat": cat, "id": fid, "tid": from_goid, "ts": us(ns)}
            pending_flows.setdefault(to_goid, []).append((name, cat, fid, s))

        def counter(ns, delta):
            count[0] += delta
            emit({"ph": "C", "name": "goroutines", "ts": us(ns), "tid": 0,
                  "args": {"count": count[0]}})

        first_ns = self.events[0][2] if self.events else t0
        emit({"ph": "C", "name": "goroutines", "ts": 0.0, "tid": 0,
              "args": {"count": count[0]}})
        for i, (kind, goid, ns, extra) in enumerate(self.events):
            at[0] = i
            seen.add(goid)
            if kind == "init":
                status, info = extra
                what = {"running": "running", "waiting": "blocked"}.get(status, "runnable")
                state[goid] = (what, ns, info, i)
            elif kind == "create":
                parent = extra
                state[goid] = ("runnable", ns, None, i)
                if parent is not None:
                    seen.add(parent)
                    emit({"ph": "i", "s": "t", "name": "go", "cat": "create", "tid": parent,
                          "ts": us(ns), "args": {"goid": goid}})
                    flow("go", "create", parent, ns, goid)
                counter(ns, +1)
            elif kind == "start":
                close(goid, ns)
                state[goid] = ("running", ns, None, i)
                for name, cat, fid, s in pending_flows.pop(goid, ()):
                    emit(s)
                    emit({"ph": "f", "bp": "e", "name": name, "cat": cat, "id": fid,
                          "tid": goid, "ts": us(ns)})
            elif kind == "block":
                close(goid, ns)
                state[goid] = ("blocked", ns, extra, i)
                if len(extra) > 2:
                    emit({"ph": "i", "s": "t", "name": "park", "cat": "hchan", "tid": goid,
                          "ts": us(ns), "args": {"hchans": extra[2]}})
            elif kind == "unblock":
                close(goid, ns)
                state[goid] = ("runnable", ns, None, i)
                if extra is not None and extra != goid:
                    seen.add(extra)
                    flow("wake", "wakeup", extra, ns, goid)
            elif kind == "sched" or kind == "preempt":
                close(goid, ns)
                state[goid] = ("runnable", ns, None, i)
                if kind == "preempt":
                    emit({"ph": "i", "s": "t", "name": "preempted", "cat": "sched",
                          "tid": goid, "ts": us(ns)})
            elif kind == "chan":
                op, cid, ok = extra[:3]
                args = {"chan": cid, "ok": ok}
                if len(extra) > 3:
                    args["hchan"] = extra[3]
                emit({"ph": "i", "s": "t", "name": f"chan {op}", "cat": "chan", "tid": goid,
                      "ts": us(ns), "args": args})
            elif kind == "end":
                close(goid, ns)
                args = {} if extra is None else {"error": extra}
                emit({"ph": "i", "s": "t", "name": "end", "cat": "goroutine", "tid": goid,
                      "ts": us(ns), "args": args})
                counter(ns, -1)
        for goid in sorted(state):
            close(goid, max(end_ns, first_ns), unfinished=True)

        meta = [{"ph": "M", "pid": 1, "name": "process_name",
                 "args": {"name": f"chanemu ({self.impl})"}}]
        for goid in sorted(seen):
            name = self.names.get(goid, "")
            meta.append({"ph": "M", "pid": 1, "tid": goid, "name": "thread_name",
                         "args": {"name": f"g{goid} {name}".rstrip()}})
            meta.append({"ph": "M", "pid": 1, "tid": goid, "name": "thread_sort_index",
                         "args": {"sort_index": goid}})
        return {"traceEvents": meta + out, "displayTimeUnit": "ns",
                "otherData": {"chanemu": chanemu.__version__, "impl": self.impl,
                              "clock": getattr(self.rt, "clock", "real"),
                              "events": len(self.events), "dropped": self.dropped}}

    _n_at_start = 0     # goroutines alive at start()


def _name(g):
    fn = g.start_function
    if fn is None:
        return "main" if g.goid == 1 else ""
    try:
        return _traceback.entry_name(fn)
    except Exception:       # pragma: no cover
        return ""


def start(path, *, rt=None, limit=None, states=True):
    """Start recording the program of the calling thread (or runtime ``rt``) to ``path`` (a file
    name or a text file object), written at ``stop()``. ``limit``: at most this many events are
    kept (the rest are counted in ``otherData.dropped``). Returns the Trace (a context
    manager). ``states``: each channel event and each park on channels also records the
    channels' hchan (``args.hchan``, ``args.hchans`` of a ``park`` event, cat ``hchan``), cut to
    both ends of long queues, so the live view's replay draws every moment; False for a
    smaller, faster recording."""
    rt = _gsnap.resolve(rt)
    tr = Trace(path, rt, limit, states)

    def hook():
        if rt.tracer is not None and not getattr(rt.tracer, "passive", False):
            raise RuntimeError("chanemu.trace: this runtime is already being traced")
        if rt.tracer is not None:       # the live view listens: the recording takes over
            rt.tracer = None
        tr._n_at_start = rt.num_goroutine()
        for g in sorted(rt.goroutines(), key=lambda g: g.goid):
            tr.names[g.goid] = _name(g)
            info = None
            if g.status == "waiting":
                info = (g.wait_reason, tuple(chan_id(c) for c in g.waiting_on))
            tr.events.append(("init", g.goid, tr.t0, (g.status, info)))
        rt.tracer = tr
    with _lock:
        _gsnap.on_runtime(rt, hook)
        _active[id(rt)] = tr
        _chan_events(tr._impl_mod, True)
    return tr


def stop(rt=None):
    """Stop the trace of the calling thread's runtime (or ``rt``; or, if it has none, the only
    trace running) and write its file. Returns the path."""
    with _lock:
        if rt is None:
            try:
                rt = chanemu._impl.current_runtime()
            except Exception:      # pragma: no cover
                rt = None
        tr = _active.get(id(rt)) if rt is not None else None
        if tr is None and len(_active) == 1:
            tr = next(iter(_active.values()))
    if tr is None:
        raise RuntimeError("chanemu.trace: no trace is running")
    return tr.stop()
