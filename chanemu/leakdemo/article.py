"""The article's program and its variants, run as goroutine 1 of an emulated Go program.

``program`` is the article's main(): a channel of capacity 5 whose receiver returns at once, and a
heartbeat loop that starts a goroutine per tick to print ``runtime.num_goroutine()`` and send on
the channel. ``VARIANTS`` is the one table of the variants (the article's program, its fix, the
context fix): their command-line flags, names and colours. While the program runs, the helpers
here watch it (``chanemu.leak.Watch``), sample its timeline for ``--plot`` and print progress
lines; the end report is in ``report.py``.
"""
import dataclasses
import os
import sys
import time as _wall

import chanemu
import chanemu.context
import chanemu.sync
import chanemu.time
from chanemu import runtime

CAPACITY = 5                  # make(chan int, 5)
TICK = 0.5                    # time.Sleep(500 * time.Millisecond), as in the article
DUMP_BLOCKS = 3               # goroutine blocks of the dump to print in full
ARTICLE_GOROUTINES = 130_000  # what pprof showed on the production server
LINE_EACH_UP_TO = 60          # up to this many heartbeats, one line each; beyond, progress lines
MAX_PROGRESS_LINES = 48
QUEUE_SHOWN = 4               # sudogs of a long sendq drawn at each end
PROFILE_GROUPS = 3            # groups of the goroutine profile printed (the most frequent first)
PROFILE_FRAMES = 6            # frames printed per group
WATCH_WINDOW = 3              # Watch reports a site that grew at each of this many samples
TIMELINE_POINTS = 500         # about this many samples of the goroutine count and RSS (--plot)

_NS = 1_000_000_000
# Progress intervals, in clock time: the smallest that keeps the report within MAX_PROGRESS_LINES.
_PROGRESS_STEPS = (1, 10, 60, 600, 3600, 6 * 3600, 24 * 3600)


@dataclasses.dataclass(frozen=True)
class Variant:
    """One variant of the program: how the command line selects it and how it is named."""
    flag: str                     #: its command-line flag ("" for the article's program)
    name: str                     #: what the report and --plot call it
    label: str                    #: its line's label on the --plot chart
    color: str                    #: its line's colour on the --plot chart
    help: str = ""                #: the flag's --help text


#: The variants, in the order the command line offers them.
VARIANTS = {
    "leak": Variant("", "leaking program", "the article's program", "#c0392b"),
    "fixed": Variant("--fixed", "fixed program (--fixed)", "--fixed, the article's fix", "#27ae60",
                     "apply the article's fix: don't send when flag is false"),
    "ctx": Variant("--fixed-ctx", "context fix (--fixed-ctx)", "--fixed-ctx", "#2471a3",
                   "the fix a Go engineer would write today: the receiver and the heartbeat "
                   "senders select on ctx.Done(); cancelling the context at the end releases "
                   "every blocked sender"),
}


def variant_of(variant):
    """The Variant named ``variant``; a ValueError names the valid ones."""
    try:
        return VARIANTS[variant]
    except (KeyError, TypeError):
        raise ValueError(f"variant must be one of {tuple(VARIANTS)}, not {variant!r}") from None


@dataclasses.dataclass
class Result:
    """What ``program`` saw at the end (the leaky variants: with the goroutines still parked;
    ``--fixed-ctx``: before and after the shutdown)."""
    variant: str
    heartbeats: int
    clock_ns: int                 #: the program's runtime clock at the end of the heartbeats
    goroutines: int               #: runtime.num_goroutine() after the last heartbeat
    qcount: int
    dataqsiz: int
    sendq: int                    #: len(hchan.sendq) after the last heartbeat
    sudogs_in_use: int
    oldest_sender: str = ""       #: the dump header of the first parked sender, if any
    goroutines_before_cancel: int = -1  #: --fixed-ctx: before cancel()
    goroutines_after_cancel: int = -1   #: --fixed-ctx: after cancel() and wg.wait()
    sendq_after_cancel: int = -1
    watch_reports: list = dataclasses.field(default_factory=list)
    #: chanemu.leak.GrowthReport of each growing site Watch reported (none: nothing grew)
    watch_samples: int = 0        #: samples Watch took
    watch_interval: float = 0.0   #: seconds of clock time between them (0: sampled by hand)
    watch_error: object = None    #: the exception that stopped Watch's timer, if one did
    leak_profile: str = ""        #: goroutine_leak_profile(debug=1) at the end
    timeline: list = dataclasses.field(default_factory=list)
    #: [(clock seconds, goroutines, RSS bytes or None, heartbeats so far)], about
    #: TIMELINE_POINTS of them


def program(heartbeats, every=TICK, variant="leak", write=sys.stdout.write, lines=None,
            check=None, *, watch=True, report=True, timeline=False):
    """The article's main(), run as goroutine 1 of an emulated program, with a report.

    ``every`` is the heartbeat's ``time.Sleep`` (seconds, on the program's clock); ``variant`` is
    "leak" (the article's program), "fixed" (the article's fix) or "ctx" (context-based fix).
    With ``lines`` (default: up to LINE_EACH_UP_TO heartbeats), each heartbeat goroutine writes the
    start of a line (its count) and main ends it with ch's hchan; otherwise main writes a progress
    line per interval of clock time. ``check(ch)``, if given, is called inside the program after
    the last heartbeat, before the report (the tests look at the struct there).

    ``watch``: run ``chanemu.leak.Watch`` meanwhile, sampling every two heartbeats of clock time
    (by hand, every few heartbeats, when ``every`` is 0: the clock does not move); it is stopped
    once it has reported, since sampling a profile that grows by a goroutine per heartbeat every
    second would soon cost more than the program. ``report``: write the end report (the profile,
    the dump, the channel, the verdicts). ``timeline``: record the goroutine count and the
    process's RSS about TIMELINE_POINTS times (``Result.timeline``, for ``--plot``).
    Returns a ``Result``.
    """
    variant_of(variant)
    if lines is None:
        lines = heartbeats <= LINE_EACH_UP_TO
    rt = chanemu._impl.current_runtime()
    t0 = rt.nanotime()
    ch = chanemu.Chan(CAPACITY, elemtype=int)
    flag = False
    if variant == "ctx":
        ctx, cancel = chanemu.context.with_cancel(chanemu.context.background())
        wg = chanemu.sync.WaitGroup()

    def exporter():
        if not flag:
            return                          # the early return that leaks
        while True:
            write(f"receive channel message: {ch.recv()}\n")

    def exporter_ctx():
        try:
            if not flag:
                return                      # still no exporter
            while True:
                i, v, _ = chanemu.select(chanemu.recv(ch), chanemu.recv(ctx.done()))
                if i == 1:
                    return                  # shutdown
                write(f"receive channel message: {v}\n")
        finally:
            wg.done()

    def heartbeat(i):
        count = runtime.num_goroutine()     # fmt.Println("goroutine count:", ...)
        if lines:
            write(f"{i:>4}   goroutine count: {count:>3}")
        if variant == "fixed" and not flag:
            return                          # the fix: no exporter, so do not send
        ch.send(i)                          # ch <- i: parks in chan send once the buffer is full

    def heartbeat_ctx(i):
        try:
            count = runtime.num_goroutine()
            if lines:
                write(f"{i:>4}   goroutine count: {count:>3}")
            chanemu.select(chanemu.send(ch, i), chanemu.recv(ctx.done()))
        finally:
            wg.done()

    if variant == "ctx":
        wg.add(1)
        chanemu.go(exporter_ctx)
    else:
        chanemu.go(exporter)

    w = _Watching(every, heartbeats, write, lines) if watch else None
    tl = _Timeline(heartbeats, t0) if timeline else None
    progress = None if lines else _Progress(heartbeats, every, write)
    for i in range(1, heartbeats + 1):
        chanemu.time.sleep(every)
        if variant == "ctx":
            wg.add(1)
            chanemu.go(heartbeat_ctx, i)
        else:
            chanemu.go(heartbeat, i)
        runtime.gosched()                   # let it run now, so the report shows what it did
        if lines:
            write(_hchan_line(ch))
        else:
            progress.heartbeat(i, ch)
        if w:
            w.heartbeat(i)
        if tl:
            tl.heartbeat(i, rt, i == heartbeats)

    h = ch.hchan
    oldest = h.sendq[0].g.stack().split("\n", 1)[0] if h.sendq else ""
    res = Result(variant, heartbeats, rt.nanotime() - t0, runtime.num_goroutine(), h.qcount,
                 h.dataqsiz, len(h.sendq), runtime.memstats()["sudogs_in_use"], oldest)
    if w:
        w.finish(res)
    if check is not None:
        check(ch)
    if report:
        from chanemu import pprof
        from .report import summary
        profile = pprof.goroutine_profile(debug=1)      # as pprof on :6060 shows it
        res.leak_profile = pprof.goroutine_leak_profile(debug=1)
        summary(ch, heartbeats, write, sys._getframe(), variant, res, profile)
    if variant == "ctx":
        took = _shutdown(ch, cancel, wg, res)
        if report:
            from .report import shutdown_report
            shutdown_report(ch, res, took, write)
    if tl:
        if variant == "ctx":
            tl.sample(rt, heartbeats)       # after the shutdown
        res.timeline = tl.points
    return res


def _shutdown(ch, cancel, wg, res):
    """--fixed-ctx: cancel the context and wait for every goroutine; the wall time it took."""
    res.goroutines_before_cancel = runtime.num_goroutine()
    t0 = _wall.perf_counter()
    cancel()
    wg.wait()
    took = _wall.perf_counter() - t0
    res.goroutines_after_cancel = runtime.num_goroutine()
    res.sendq_after_cancel = len(ch.hchan.sendq)
    return took


class _Watching:
    """chanemu.leak.Watch over the program: on a runtime timer every two heartbeats of clock
    time (by hand when the clock does not move), stopped once it has reported."""

    def __init__(self, every, heartbeats, write, lines):
        from chanemu import leak
        self.write = write
        self.lines = lines
        self.noticed = False
        self.by_hand = every <= 0
        # Two heartbeats per sample: the count of a leaking site grows at every sample even when
        # the real clock jitters.
        self.interval = 0.0 if self.by_hand else 2 * every
        self.stride = max(1, heartbeats // 50)
        self.watch = leak.Watch(self.interval or 1.0, window=WATCH_WINDOW)
        if not self.by_hand:
            self.watch.start()

    def heartbeat(self, i):
        w = self.watch
        if self.by_hand and not w.reports and i % self.stride == 0:
            w.sample()
        if w.reports and not self.noticed:
            self.noticed = True
            w.stop()
            self._notice(w.reports[0], i)

    def _notice(self, rep, i):
        hist = " -> ".join(f"{n:,}" for _, n in rep.counts)
        text = (f"Watch: [{rep.wait_reason}] at {os.path.basename(rep.file)}:{rep.line} keeps "
                f"growing: {hist}")
        if self.lines:
            when = (f"after heartbeat {i}" if self.by_hand else
                    f"at {chanemu.time.format_duration(round(rep.detected_at, 1))}")
            self.write(f"       ^ {when}, chanemu.leak.{text}\n")
        else:
            at = f"#{i:,}" if self.by_hand else _clock(round(rep.detected_at * _NS))
            self.write(f"{at:>10}  {text}\n")

    def finish(self, res):
        w = self.watch
        if not w.reports:
            w.sample()      # the end of the run: one more (it can only add a report)
            if w.reports:
                self.heartbeat(res.heartbeats)
        w.stop()
        res.watch_reports = list(w.reports)
        res.watch_samples = w.samples
        res.watch_interval = self.interval
        res.watch_error = w.error


def _rss():
    """The process's resident set size in bytes (Linux: now; elsewhere: the peak so far), or
    None."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        pass
    try:
        import resource
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


class _Timeline:
    """The goroutine count and the RSS over clock time, about TIMELINE_POINTS samples."""

    def __init__(self, heartbeats, t0):
        self.stride = max(1, heartbeats // TIMELINE_POINTS)
        self.t0 = t0
        self.points = []

    def heartbeat(self, i, rt, last=False):
        if i % self.stride == 0 or last:
            self.sample(rt, i)

    def sample(self, rt, i):
        self.points.append(((rt.nanotime() - self.t0) / _NS, runtime.num_goroutine(), _rss(), i))


class _Progress:
    """Progress lines for long runs: one per interval of clock time."""

    def __init__(self, heartbeats, every, write):
        self.write = write
        self.every_ns = round(every * _NS)
        self.step_ns = _progress_step_ns(heartbeats, self.every_ns)
        self.heartbeats = heartbeats
        self.bucket = 0
        self.wall0 = _wall.perf_counter()
        write(f"{'clock':>10}  {'heartbeats':>10}  {'goroutines':>10}   ch after the heartbeat"
              f"{'':24}wall time\n")

    def heartbeat(self, i, ch):
        b = (i * self.every_ns) // self.step_ns
        if b > self.bucket or i == self.heartbeats:
            self.bucket = b
            h = ch.hchan
            clock = _clock(i * self.every_ns)
            self.write(f"{clock:>10}  {i:>10,}  {runtime.num_goroutine():>10,}   "
                       f"hchan: {h.qcount}/{h.dataqsiz}  sendx={h.sendx} recvx={h.recvx}  "
                       f"len(sendq)={len(h.sendq):<9,} "
                       f"{_wall.perf_counter() - self.wall0:6.1f} s\n")


def _progress_step_ns(heartbeats, every_ns):
    """The smallest of _PROGRESS_STEPS that keeps a run within MAX_PROGRESS_LINES lines."""
    total = heartbeats * every_ns
    step = next((s * _NS for s in _PROGRESS_STEPS if total <= s * _NS * MAX_PROGRESS_LINES),
                _PROGRESS_STEPS[-1] * _NS)
    return max(step, every_ns)


def _clock(ns):
    s = ns // _NS
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def _hchan_line(ch):
    h = ch.hchan
    line = (f"   hchan: {h.qcount}/{h.dataqsiz}  sendx={h.sendx} recvx={h.recvx}"
            f"  len(sendq)={len(h.sendq)}")
    if h.sendq:
        g = h.sendq[-1].g
        line += f"   <- g{g.goid} parked [{g.wait_reason}]"
    return line + "\n"


def _plural(n, word):
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"
