"""The live view's engine: a tracer hook with a budget, coalesced snapshots, pause and step.

Cost model. A program doing millions of operations a second must not slow down because a page
is open, so the hook listens only in bursts: it is installed as ``rt.tracer`` (and the twin's
per-operation channel events turned on) for at most ``BUDGET`` events, then it removes itself.
A ticker thread installs it again every ``TICK`` and takes a snapshot at the runtime's next safe
point when something happened (see ``_due`` for how often). So a busy program pays for at most
``BUDGET`` hook calls per tick and a snapshot now and then; an idle one pays nothing; a
goroutine that parks shows up within a tick plus the time to reach a safe point.

Pause and step run on the runtime's own thread. ``pause`` queues a safe-point job (the
scheduler runs those at the top of ``schedule``) that holds the runtime thread in ``_hold``,
serving other safe-point jobs (snapshots) while it waits, until the page says resume or step.
A step lets the program go until the hook sees the event that ends it, and holds the thread
inside the hook: "step operation" ends at a completed send, receive or close or a goroutine
parking on channels (the state is the one right after it), "step schedule" when the scheduler
hands the thread to the next goroutine. Steps need the tracer slot: while ``chanemu.trace``
records, only pause and resume work.
"""
import collections
import gc
import json
import threading
import time
import weakref

from .. import _gsnap, _safepoint, trace as _trace
from . import _state

TICK = 0.05             # seconds between two snapshots while goroutines park, wake, start...
CHURN_TICK = 0.25       # ... and while only channel operations happen (buffers churning)
BUSY_TICK = 0.1         # ... and while goroutines change state at every tick, BUSY_STREAK on
BUSY_STREAK = 3
IDLE_REFRESH = 1.0      # a snapshot at least this often (activity the hook does not see)
BUDGET = 200            # events the hook records per tick before it removes itself
EVENTS_KEPT = 120       # recent events sent to the page
MAX_CHANS = 40          # channels drawn (the busiest first)
MAX_GOROUTINES = 200    # goroutines listed
CHAN_SCAN_EVERY = 2.0   # seconds between two heap scans for channels nobody waits on, or more:
SCAN_SHARE = 50         # a scan that took d seconds waits SCAN_SHARE * d before the next
COST_SHARE = 20         # a picture that took d seconds waits COST_SHARE * d before the next
SAFEPOINT_WAIT = 0.05   # how long a snapshot waits for a safe point before taking it here


class _Hook:
    """rt.tracer while the view listens. ``passive``: chanemu.trace may replace it."""
    passive = True
    __slots__ = ("view",)

    def __init__(self, view):
        self.view = view

    def __call__(self, kind, g, arg):
        self.view._on_event(kind, g, arg)


class View:
    """The live view of one runtime, shared by every page open on one debug server."""

    def __init__(self, rt, stop, values=True):
        self.rt = rt
        self.stop = stop                  # the server's closing event
        self.shown = _state.short_repr if values else _state.type_only
        self.impl = _gsnap.twin_of(rt)
        self.hook = _Hook(self)
        self.cond = threading.Condition()
        # events since the last snapshot (appended by the runtime thread, taken by whoever
        # takes a picture); the page lists the last EVENTS_KEPT, so no more are kept
        self.raw = collections.deque(maxlen=EVENTS_KEPT)
        self.events = collections.deque(maxlen=EVENTS_KEPT)
        self.seq = 0
        self.budget = 0
        self.armed = False
        self.retire = False               # the hook takes itself off at its next call
        self.slot_lock = threading.Lock()  # arming and disarming, from any thread
        self.chan_events = False
        self.dirty = True                 # something happened since the last snapshot
        self.urgent = True                # a goroutine changed state: show it within a tick
        self.wake = threading.Event()     # set with urgent: wakes the ticker early
        self.chans = weakref.WeakValueDictionary()    # chan id -> channel
        self.next_scan = 0.0
        self.cost = 0.0                   # seconds the last picture took the runtime thread
        self.state = None                 # the latest picture (a dict), with self.version
        self.version = 0
        self.clients = 0
        self.ticker = None
        self.paused = False               # the runtime thread is held in _hold
        self.where = ""                   # what it was doing when it stopped
        self.command = None               # "resume" | "step-sched" | "step-op", for _hold
        self.stop_at = None               # "op" | "sched": hold at the next such event
        self.pause_queued = False
        self.closed = False

    # -- the hook (runtime thread) ----------------------------------------------------------
    def _on_event(self, kind, g, arg):
        try:
            if self.retire:                 # another thread asked us to stop listening
                self._disarm()
                return
            self.dirty = True
            if kind != "chan" and not self.urgent:
                self.urgent = True
                self.wake.set()             # the ticker may be sleeping a CHURN_TICK
            rec = self._record(kind, g, arg)
            self.raw.append(rec)
            if self.stop_at is not None and _stops(self.stop_at, kind, arg):
                self.stop_at = None
                self._hold(rec)
                return
            self.budget -= 1
            if self.budget <= 0 and self.stop_at is None:
                self._disarm()
        except Exception:           # never break the scheduler
            self._disarm()

    def _record(self, kind, g, arg):
        self.seq += 1
        if kind == "chan":
            op, c, ok = arg
            self._know(c)
            extra = [op, _state.chan_id(c), bool(ok)]
        elif kind == "block":
            chans = [self._know(c) for c in g.waiting_on]
            extra = [arg, chans]
        elif kind in ("unblock", "create"):
            extra = arg.goid if arg is not None else None
        elif kind == "end":
            extra = None if arg is None else self.shown(arg, 60)
        else:
            extra = None
        return [self.seq, kind, g.goid, self.rt.nanotime(), extra]

    def _know(self, c):
        i = _state.chan_id(c)
        if i:
            self.chans[i] = c
        return i

    def _arm(self):
        """Listen for another BUDGET events. Any thread may: putting the hook into an empty
        slot is safe (the twins read it as None or as the hook)."""
        if self.closed:
            return
        with self.slot_lock:
            self.budget = BUDGET
            self.retire = False
            if self.rt.tracer is self.hook:
                return
            if self.rt.tracer is not None:      # a chanemu.trace recording has the slot
                self.armed = False
                return
            self.rt.tracer = self.hook
            self.armed = True
            self._chan_events(True)

    def _disarm(self):
        """Stop listening. Only the runtime's own thread (or any thread while the runtime is
        held or ended) takes the hook off ``rt.tracer``: the pure-Python twin reads that slot
        twice per event, and a None written between the two reads would break it. From
        another thread the hook is told to take itself off at its next call."""
        rt = self.rt
        with self.slot_lock:
            self.budget = 0
            if not (threading.get_ident() == rt.thread_ident or self.paused or rt.dead):
                self.retire = True
                return
            self.retire = False
            if rt.tracer is self.hook:
                rt.tracer = None
            self.armed = False
            self._chan_events(False)

    def _chan_events(self, on):
        """The twin's per-operation channel events, counted with chanemu.trace's."""
        if self.chan_events != on:
            self.chan_events = on
            with _trace._lock:
                _trace._chan_events(self.impl, on)

    # -- snapshots ------------------------------------------------------------------------
    def _on_runtime(self, fn):
        rt = self.rt
        if rt.dead or self.paused:
            return fn()                     # nothing runs: read it from here
        return _safepoint.call(rt, fn, SAFEPOINT_WAIT)

    def _take(self):
        """The picture of the moment (runs on the runtime thread at a safe point)."""
        t0 = time.thread_time()
        raw = [self.raw.popleft() for _ in range(len(self.raw))]
        rt = self.rt
        # allgs keeps creation order: the first goroutines, without sorting a million.
        gs = sorted(rt.goroutines()[:MAX_GOROUTINES], key=lambda g: g.goid)
        for g in gs:
            for c in g.waiting_on:
                self._know(c)
        scan = self._scan_heap()
        # valuerefs() copies in one step: the hook may add a channel from the runtime thread
        # while a picture is taken off it
        ranked, unreadable = _readable(
            (c for c in (r() for r in self.chans.valuerefs()) if c is not None), _state.rank)
        known = [c for _, c in sorted(ranked, key=lambda kc: kc[0])]
        chans, failed = _readable(known[:MAX_CHANS],
                                  lambda c: _state.chan_state(c, shown=self.shown))
        unreadable += failed
        gstates = [_state.goroutine_state(g, _gname(g)) for g in gs]
        if self.clients > 0 or self.paused:
            self._arm()
        # CPU time (waiting for the GIL is not cost); the heap scan has a rate of its own
        self.cost = time.thread_time() - t0 - scan
        return {"impl": self.impl.IMPL, "clock": rt.clock, "nanotime": rt.nanotime(),
                "num_goroutine": rt.num_goroutine(), "dead": bool(rt.dead),
                "nchans": len(known) - failed, "chans": [st for st, _ in chans],
                "unreadable": unreadable,
                "goroutines": gstates, "raw": raw}

    def _scan_heap(self):
        """Find the channels nobody waits on and no event named (gc.get_objects), now and
        then: at most 1/SCAN_SHARE of the time goes to it, so a large heap is scanned rarely."""
        now = time.monotonic()
        if now < self.next_scan:
            return 0.0
        t0 = time.thread_time()
        for c in _live_chans(self.impl):
            try:
                self._know(c)
            except Exception:       # unreadable: counted when the picture reads it, if ever
                pass
        took = time.thread_time() - t0
        self.next_scan = now + max(CHAN_SCAN_EVERY, took * SCAN_SHARE)
        return took

    def refresh(self):
        """Take a snapshot now and publish it to the pages."""
        self.dirty = self.urgent = False
        try:
            snap = self._on_runtime(self._take)
        except Exception as e:          # the program ended mid-way, or a racing read
            snap = dict(self.state or {}, error=f"{type(e).__name__}: {e}")
            snap["raw"] = []
        for ev in snap.pop("raw", []):
            self.events.append(_event_text(ev))
        snap.update(paused=self.paused, pausing=self.pause_queued and not self.paused,
                    where=self.where, events=list(self.events),
                    seq=self.seq, listening=self.armed, wall=time.time())
        with self.cond:
            self.state = snap
            self.version += 1
            self.cond.notify_all()
        return snap

    # -- the ticker -----------------------------------------------------------------------
    def _tick_loop(self):
        """The ticker thread: pictures while pages watch; when the last one has gone, the hook
        off the runtime, then the thread ends (unless a page came back meanwhile)."""
        while True:
            self._tick_while_watched()
            self._quiet()
            with self.cond:
                if self.clients <= 0 or self.closed or self.stop.is_set():
                    self.ticker = None
                    return

    def _tick_while_watched(self):
        """Tick while pages watch. With nothing urgent the ticker sleeps CHURN_TICK (each
        wake-up takes the GIL from the program, which costs it most on a loaded machine); an
        urgent event wakes it, and one TICK later the picture shows what came meanwhile."""
        last, streak = 0.0, 0
        while not self.closed:
            if not self.urgent:
                self.wake.wait(CHURN_TICK)
            if self.stop.wait(TICK):
                return
            self.wake.clear()
            with self.cond:
                if self.clients <= 0 and not self.paused:
                    return
            self._arm()                       # BUDGET more events per tick, pictures or not
            now = time.monotonic()
            if self._due(now - last, streak):
                streak = streak + 1 if self.urgent else 0
                last = now
                self.refresh()
            elif not self.urgent:
                streak = 0

    def _due(self, since, streak):
        """Whether to take a picture now: at the first tick after a goroutine changed state,
        but no more than one per BUSY_TICK while that goes on tick after tick (a program that
        parks all the time), one per CHURN_TICK while only buffers change, and one per
        IDLE_REFRESH anyway; never sooner than COST_SHARE times what the last one cost the
        runtime thread (a program with a million goroutines gets fewer pictures)."""
        if since < self.cost * COST_SHARE:         # a big program: pictures cost more
            return False
        if self.urgent:
            return since >= (BUSY_TICK if streak >= BUSY_STREAK else 0)
        return (self.dirty and since >= CHURN_TICK) or since >= IDLE_REFRESH

    def _quiet(self):
        """No page is watching (or the server closed): stop listening, on the runtime thread,
        where the tracer slot is read."""
        def disarm_if_idle():
            if self.closed or (self.clients <= 0 and not self.paused):
                self._disarm()
        try:
            self._on_runtime(disarm_if_idle)
        except Exception:
            pass

    def join(self):
        """A page connected: make sure the ticker runs."""
        with self.cond:
            self.clients += 1
            if self.ticker is None:
                self.ticker = threading.Thread(target=self._tick_loop, daemon=True,
                                               name="chanemu-liveview")
                self.ticker.start()
        self.dirty = self.urgent = True
        self.wake.set()

    def leave(self):
        with self.cond:
            self.clients -= 1

    def wait_version(self, seen, timeout):
        with self.cond:
            self.cond.wait_for(lambda: self.version != seen or self.closed, timeout)
            return self.version, self.state

    # -- pause and step -------------------------------------------------------------------
    def control(self, op):
        """Pause, step or resume the program; returns the new state (after a step, once the
        program has stopped again or a second has passed)."""
        if op == "pause":
            self._request_pause()
        elif op in ("resume", "step-sched", "step-op"):
            if not self.paused:
                if op == "resume":
                    return self.refresh()
                self._request_pause()
                self._wait_paused(1.0)
            seen = self.version
            with self.cond:
                self.command = op
                self.cond.notify_all()
            if op != "resume":
                self._wait_paused(1.0, after=seen)
            else:
                with self.cond:
                    self.cond.wait_for(lambda: not self.paused or self.closed, 1.0)
        else:
            raise ValueError(f"unknown op {op!r}: pause, resume, step-sched or step-op")
        self.dirty = self.urgent = True
        return self.refresh()

    def _request_pause(self):
        with self.cond:
            if self.paused or self.pause_queued:
                return
            self.pause_queued = True
        rt = self.rt
        if rt.dead:
            with self.cond:
                self.pause_queued = False
            raise ValueError("the program has ended")
        rt.safepoints.append(self._pause_job)
        rt.safepoint_pending = True
        rt.wake.set()

    def _pause_job(self):
        with self.cond:
            self.pause_queued = False
        self._hold(None)

    def _wait_paused(self, timeout, after=None):
        deadline = time.monotonic() + timeout
        with self.cond:
            while time.monotonic() < deadline and not self.closed:
                if self.paused and self.command is None and (after is None or
                                                             self.version != after):
                    return True
                self.cond.wait(0.01)
        return False

    def _hold(self, ev):
        """Hold the runtime thread here until the page says resume or step."""
        self.where = _event_text(ev)["text"] if ev else "at a scheduling point"
        self._arm()
        with self.cond:
            self.paused = True
            self.command = None
        cmd = None
        try:
            self.refresh()
            cmd = self._wait_command()
        finally:                 # an exception thrown in (Ctrl-C) lets the program go too
            with self.cond:
                self.command = None
                self.paused = False
                self.cond.notify_all()
        self.where = ""
        if cmd in ("step-op", "step-sched"):
            self.stop_at = cmd[len("step-"):]
            self._arm()
        self.dirty = self.urgent = True

    def _wait_command(self):
        """The page's next command (None when the server closes), serving the safe-point jobs
        queued meanwhile (snapshots) on this, the runtime's, thread."""
        while True:
            with self.cond:
                self.cond.wait_for(lambda: self.command is not None or self.closed
                                   or self.stop.is_set() or bool(self.rt.safepoints), 0.05)
                if self.command is not None or self.closed or self.stop.is_set():
                    return self.command
            if self.rt.safepoints:
                self.rt.run_safepoints()

    def close(self):
        """The server closes: let a held program go, stop listening."""
        self.wake.set()
        with self.cond:
            self.closed = True
            self.stop_at = None
            self.cond.notify_all()
        self._quiet()


def _stops(at, kind, arg):
    """Whether a step to the next "op" or "sched" ends at this event: a channel operation is a
    completed send, receive or close, or a goroutine parking on channels; a schedule is the
    scheduler handing the thread to a goroutine."""
    if at == "sched":
        return kind == "start"
    return kind == "chan" or (kind == "block" and arg in _state.CHAN_REASONS)


def _readable(chans, read):
    """(read(c), c) for each channel that can be read, and how many could not: one object the
    heap scan found broken (a subclass overriding the struct's accessors, say) costs its own
    place in the picture, never the picture."""
    out, bad = [], 0
    for c in chans:
        try:
            out.append((read(c), c))
        except Exception:
            bad += 1
    return out, bad


def _live_chans(impl):
    return [o for o in gc.get_objects() if isinstance(o, impl.Chan)]


def _gname(g):
    return _trace._name(g)


_KIND_TEXT = {"start": "runs", "sched": "yields (Gosched)", "create": "is created",
              "init": "exists"}


def _event_text(ev):
    """A raw hook record as {seq, kind, g, t, text} for the page's event list."""
    seq, kind, goid, ns, extra = ev
    if kind == "chan":
        op, cid, ok = extra
        text = f"g{goid} chan {op} on chan {cid}" + ("" if ok else " (closed, zero value)")
    elif kind == "block":
        reason, chans = extra
        on = ", ".join(f"chan {c}" for c in chans)
        text = f"g{goid} parks [{reason}]" + (f" on {on}" if on else "")
    elif kind == "unblock":
        text = f"g{goid} is readied" + (f" by g{extra}" if extra and extra != goid else "")
    elif kind == "create":
        text = f"g{goid} is created" + (f" by g{extra}" if extra else "")
    elif kind == "end":
        text = f"g{goid} ends" + (f" ({extra})" if extra else "")
    else:
        text = f"g{goid} {_KIND_TEXT.get(kind, kind)}"
    return {"seq": seq, "kind": kind, "g": goid, "t": ns, "text": text}


def dumps(state):
    return json.dumps(state, separators=(",", ":"))
