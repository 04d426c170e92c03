"""chanemu.leak: find goroutines a program or a test leaves behind.

- ``verify_none(ignore=...)``: uber-go/goleak's ``VerifyNone``: fails (``LeakError``, an
  AssertionError) naming every goroutine still alive besides the caller and the program's main
  goroutine, with its stack in Go's format. Before failing it retries a bounded number of times,
  yielding to the scheduler between tries (``runtime.gosched()``, which runs every goroutine
  runnable at that moment), so goroutines that are about to finish get to.
  ``ignore_top_function``, ``ignore_any_function``, ``ignore_created_by`` and
  ``ignore_current`` are goleak's options.
- A pytest plugin (``chanemu.pytest_plugin``, registered through the ``pytest11`` entry point):
  ``@pytest.mark.goleak`` on a test, or ``--chanemu-goleak`` for every test, runs
  ``verify_none`` after the test against the thread's default runtime, ignoring the goroutines
  that existed before it.
- ``Watch``: samples the goroutine profile at an interval of the runtime's clock and reports the
  sites (wait reason and innermost frame) whose count of parked goroutines keeps growing, with
  the channel they wait on and its hchan. A heuristic: it finds leaks that reachability cannot,
  such as the article's (the channel stays reachable from main), and a backlog that grows for
  ``window`` intervals in a row and then drains would be reported too.
"""
import weakref

import chanemu
from . import _gsnap
from ._views import chan_id
from ._duration import Duration
from .pprof import _format_record

__all__ = ["verify_none", "find", "LeakError", "ignore_top_function", "ignore_any_function",
           "ignore_created_by", "ignore_current", "Watch", "GrowthReport", "Discarded"]

DEFAULT_RETRIES = 20     # goleak's _defaultRetries


class LeakError(AssertionError):
    """Goroutines were left behind. ``goroutines``: their snapshot records (goid, status,
    reason, frames, ``g`` the handle)."""

    def __init__(self, message, goroutines=()):
        super().__init__(message)
        self.goroutines = list(goroutines)


# -- options (goleak's) --------------------------------------------------------------------
class _Option:
    __slots__ = ("_pred", "_desc")

    def __init__(self, pred, desc):
        self._pred = pred
        self._desc = desc

    def __call__(self, rec):
        return self._pred(rec)

    def __repr__(self):
        return self._desc


def ignore_top_function(name):
    """Ignore goroutines whose innermost frame is in function ``name`` (``module.qualname``, as
    the dumps print it, e.g. ``"myapp.server.accept_loop"``)."""
    return _Option(lambda r: bool(r.frames) and r.frames[0][0] == name,
                   f"ignore_top_function({name!r})")


def ignore_any_function(name):
    """Ignore goroutines with function ``name`` anywhere on their stack."""
    return _Option(lambda r: any(fr[0] == name for fr in r.frames),
                   f"ignore_any_function({name!r})")


def ignore_created_by(name):
    """Ignore goroutines started (``go()``) from function ``name``."""
    return _Option(lambda r: r.created is not None and r.created[2] == name,
                   f"ignore_created_by({name!r})")


def ignore_current(rt=None):
    """Ignore the goroutines that exist now (goleak's IgnoreCurrent)."""
    rt = _gsnap.resolve(rt)
    ids = frozenset(_gsnap.on_runtime(rt, lambda: [g.goid for g in rt.goroutines()]))
    return _Option(lambda r: r.goid in ids, f"ignore_current({len(ids)} goroutines)")


def _predicates(ignore):
    if ignore is None:
        return []
    if isinstance(ignore, (str, int)) or hasattr(ignore, "goid") or callable(ignore):
        ignore = [ignore]
    preds = []
    ids = set()
    for item in ignore:
        if isinstance(item, _Option):
            preds.append(item)
        elif isinstance(item, str):
            preds.append(ignore_top_function(item))
        elif isinstance(item, int) and not isinstance(item, bool):
            ids.add(item)
        elif hasattr(item, "goid"):
            ids.add(item.goid)
        elif callable(item):
            preds.append(lambda r, f=item: bool(f(r.g)))
        else:
            raise TypeError(f"ignore: expected a goroutine, a goid, a function name, an "
                            f"ignore_* option or a callable, not {type(item).__name__}")
    if ids:
        preds.append(lambda r: r.goid in ids)
    return preds


# -- verify_none ---------------------------------------------------------------------------
def _leftovers(rt, preds):
    me = None
    snap = _gsnap.take(rt)
    cur = snap.current
    if cur is not None:
        me = cur.goid
    out = []
    for r in snap.records:
        if r.goid == me or r.goid == 1:
            continue
        if any(p(r) for p in preds):
            continue
        out.append(r)
    return out, snap.now


def _message(recs, now):
    parts = []
    for r in recs:
        state = r.reason if r.status == "waiting" and r.reason else r.status
        top = r.frames[0][0] if r.frames else "?"
        parts.append(f"Goroutine {r.goid} in state {state}, with {top} on top of the stack:\n"
                     + _format_record(r, now))
    return "found unexpected goroutines:\n" + "\n".join(parts)


def find(ignore=(), *, rt=None):
    """The goroutines left besides the caller and goroutine 1, after ``ignore``; no retries.
    Returns snapshot records (``goid``, ``status``, ``reason``, ``frames``, ``g``)."""
    return _leftovers(_gsnap.resolve(rt), _predicates(ignore))[0]


def verify_none(ignore=(), *, retries=DEFAULT_RETRIES, rt=None):
    """Fail (LeakError) if goroutines other than the caller and the program's main goroutine
    are alive, after ``ignore``.

    ``ignore``: goroutine handles or goids, function names (as ``ignore_top_function``),
    ``ignore_*`` options, or callables taking a goroutine handle; one or an iterable of them.
    Retries up to ``retries`` times, each after a ``runtime.gosched()`` (every goroutine
    runnable at that moment runs first), so goroutines on their way out finish; it never
    sleeps. Goroutines parked on timers do not advance meanwhile.
    """
    rt = _gsnap.resolve(rt)
    preds = _predicates(ignore)
    for i in range(retries + 1):
        left, now = _leftovers(rt, preds)
        if not left:
            return
        if i == retries or not _can_yield(rt):
            break
        chanemu._impl.gosched()
    raise LeakError(_message(left, now), left)


def _can_yield(rt):
    from . import _safepoint
    return (_safepoint.on_thread(rt) and not rt.dead
            and chanemu._impl.current_runtime() is rt)


# -- goroutines a program's end discarded --------------------------------------------------
def _on_channel(r):
    """Parked on a channel operation or a select (the wait reasons of chan.go and select.go)."""
    return r.status == "waiting" and bool(r.reason) and r.reason.startswith(("chan ", "select"))


class Discarded:
    """Collects the goroutines that ``run()`` discarded while they were parked on channels, in
    the programs that end between ``start()`` and ``stop()`` (a ``with`` block).

    In Go a test's goroutines outlive the test function and goleak sees them; a ``chanemu.run``
    program discards its parked goroutines when main returns, so nothing is left to see
    afterwards. This observer sees them at the program's end instead. ``all_threads``: also
    programs that end on other threads (default: the thread that started the collection); the
    goroutines those programs already had at ``start()`` are left out (goleak's
    IgnoreCurrent: what was running before the test is not the test's).
    """

    def __init__(self, all_threads=False):
        import threading
        self.all_threads = all_threads
        self.thread = threading.get_ident()
        self.records = []         # (snapshot record, the program's clock at its end)
        self._before = {}         # id -> handle of the goroutines alive at start (all_threads)

    def _on_end(self, rt, snap):
        import threading
        if not self.all_threads and threading.get_ident() != self.thread:
            return
        self.records.extend((r, snap.now) for r in snap.records
                            if _on_channel(r) and self._before.get(id(r.g)) is not r.g)

    def start(self):
        from . import _hooks
        if self.all_threads:
            self._before = {id(g): g for g in _running_goroutines()}
        _hooks.add(self._on_end)
        return self

    def stop(self):
        from . import _hooks
        _hooks.remove(self._on_end)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def verify(self, ignore=()):
        """Fail (LeakError) if a collected goroutine is not ignored (``ignore`` as for
        ``verify_none``)."""
        preds = _predicates(ignore)
        left = [(r, now) for r, now in self.records if not any(p(r) for p in preds)]
        if left:
            raise LeakError(_discarded_message(left), [r for r, _ in left])


def _running_goroutines():
    """Every goroutine of every live program, on any thread (the runtimes are found through
    the garbage collector; their goroutine lists are read without stopping them)."""
    import gc
    from . import _coreapi
    kinds = tuple(m.Runtime for m in _coreapi.loaded_cores())
    out = []
    for rt in [o for o in gc.get_objects() if isinstance(o, kinds)]:
        try:
            out += list(rt.goroutines())
        except Exception:          # a runtime being torn down meanwhile: nothing to keep
            pass
    return out


def _discarded_message(left):
    parts = []
    for r, now in left:
        top = r.frames[0][0] if r.frames else "?"
        parts.append(f"Goroutine {r.goid} in state {r.reason}, with {top} on top of the stack:\n"
                     + _format_record(r, now))
    return ("found goroutines that run() discarded at the end of their program, parked on "
            "channels:\n" + "\n".join(parts))


# -- Watch ---------------------------------------------------------------------------------
class GrowthReport:
    """A site whose parked goroutines kept growing (see ``Watch``)."""

    def __init__(self, site, reason, counts, chan, hchan, detected_at):
        self.function, self.file, self.line = site
        self.wait_reason = reason
        self.counts = counts            #: [(seconds since the watch started, count)]
        self._chan = chan               # weakref or None: the report keeps no channel alive
        self.hchan = hchan              #: chanemu.HChanState at detection, or None
        self.chan_id = hchan.id if hchan is not None else None
        self.detected_at = detected_at  #: runtime seconds since the watch started

    @property
    def chan(self):
        """The channel they wait on (None if it has been collected or there is none)."""
        return self._chan() if self._chan is not None else None

    @property
    def count(self):
        return self.counts[-1][1]

    def __str__(self):
        hist = " -> ".join(str(n) for _, n in self.counts)
        out = (f"chanemu.leak.Watch: goroutines parked [{self.wait_reason}] at {self.function} "
               f"({self.file}:{self.line}) keep growing: {hist} "
               f"(at {self.detected_at:g} s)")
        if self.hchan is not None:
            out += "\n" + "\n".join("    " + ln for ln in str(self.hchan).split("\n"))
        return out

    def __repr__(self):
        return (f"<GrowthReport {self.function} {self.file}:{self.line} [{self.wait_reason}] "
                f"count={self.count}>")


class Watch:
    """Samples the grouped goroutine profile every ``interval`` (seconds, or a Duration) of the
    runtime's clock (virtual or real) and reports sites whose parked-goroutine count grew at each
    of the last ``window`` samples.

    A site is a wait reason and the innermost frame (function, file, line). Each report
    (``GrowthReport``, in ``reports``, and passed to ``on_report`` if given) names the site, its
    counts, the channel most of its goroutines wait on and that channel's hchan. Each site is
    reported once.

    ``start()`` (or ``with Watch(...):``) arms a runtime timer in the program of the calling
    thread (or ``rt``); samples are taken in the scheduler, between two operations, and no
    goroutine is added. The timer re-arms only while the program has something else to do
    (runnable goroutines or pending timers), so a deadlock is still reported as one.
    ``sample()`` takes one sample by hand.
    """

    def __init__(self, interval=1.0, *, window=3, on_report=None, rt=None):
        if not interval > 0:
            raise ValueError(f"interval must be positive, not {interval!r}")
        if window < 1:
            raise ValueError(f"window must be at least 1, not {window!r}")
        # A Duration counts nanoseconds: take it as the seconds it means, not as a float.
        self.interval = interval.seconds() if isinstance(interval, Duration) else float(interval)
        self.window = int(window)
        self.on_report = on_report
        self.reports = []
        self.samples = 0
        self.error = None
        self._rt = rt
        self._rt_given = rt is not None
        self._history = {}      # site key -> [counts], the last window+1 samples
        self._reported = set()
        self._timer = None
        self._t0 = None
        self._last_t = None     # time of the previous sample

    # -- lifecycle -----------------------------------------------------------------------
    def start(self):
        rt = self._rt = _gsnap.resolve(self._rt)

        def arm():
            if self._timer is not None:
                raise RuntimeError("Watch already started")
            self._t0 = rt.nanotime()
            self._timer = rt.newtimer(Watch._fire, weakref.ref(self))
            rt.addtimer(self._timer, self._t0 + int(self.interval * 1e9))
        _gsnap.on_runtime(rt, arm)
        return self

    def stop(self):
        """Disarm the timer and let go of the runtime (reports stay)."""
        rt = self._rt
        t = self._timer
        self._timer = None
        if t is not None and rt is not None and not rt.dead:
            _gsnap.on_runtime(rt, lambda: rt.stoptimer(t))
        if not self._rt_given:
            self._rt = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @staticmethod
    def _fire(ref, now):
        self = ref()
        if self is None or self._timer is None:
            return
        rt = self._rt
        try:
            self.sample()
        except Exception as e:      # never let an observer break the scheduler
            self.error = e
            self._timer = None
            return
        if self._timer is not None and _busy(rt):
            rt.addtimer(self._timer, now + int(self.interval * 1e9))

    # -- sampling ------------------------------------------------------------------------
    def sample(self):
        """Take one sample now; returns the new reports."""
        rt = self._rt = _gsnap.resolve(self._rt)
        if self._t0 is None:
            self._t0 = rt.nanotime()
        return _gsnap.on_runtime(rt, self._sample)

    def _sample(self):
        rt = self._rt
        snap = _gsnap.collect(rt)
        t = (snap.now - self._t0) / 1e9
        self.samples += 1
        counts = {}
        members = {}
        for r in snap.records:
            if r.status != "waiting" or not r.frames:
                continue
            fr = r.frames[0]
            key = (r.reason, fr[0], fr[1], fr[2])
            counts[key] = counts.get(key, 0) + 1
            members.setdefault(key, []).append(r)
        hist = self._history
        last = self._last_t
        self._last_t = t
        for key in set(hist) | set(counts):
            h = hist.get(key)
            if h is None:
                # a new site: it had none at the previous sample
                h = hist[key] = [] if last is None else [(last, 0)]
            h.append((t, counts.get(key, 0)))
            del h[:-(self.window + 1)]
            if not counts.get(key) and all(n == 0 for _, n in h):
                del hist[key]
        new = []
        for key, h in hist.items():
            if key in self._reported or len(h) < self.window + 1:
                continue
            if all(h[i][1] < h[i + 1][1] for i in range(len(h) - 1)):
                self._reported.add(key)
                new.append(self._report(key, list(h), members.get(key, ()), t))
        for rep in new:
            self.reports.append(rep)
            if self.on_report is not None:
                self.on_report(rep)
        return new

    def _report(self, key, counts, members, t):
        reason, func, file, line = key
        tally = {}
        chans = {}
        for r in members:
            for c in r.g.waiting_on:
                cid = chan_id(c)
                if cid:
                    tally[cid] = tally.get(cid, 0) + 1
                    chans[cid] = c
        chan = hchan = None
        if tally:
            cid = max(tally, key=lambda k: (tally[k], -k))
            c = chans[cid]
            hchan = chanemu.inspect(c)
            try:
                chan = weakref.ref(c)
            except TypeError:   # pragma: no cover
                chan = None
        return GrowthReport((func, file, line), reason, counts, chan, hchan, t)


def _busy(rt):
    """Something besides the watch keeps the program going: pending timers or a goroutine
    that can run. (Else the watch's timer would hide a deadlock.)"""
    if len(rt.timers):
        return True
    return any(g.status in ("runnable", "running") for g in rt.goroutines())
