"""``python -m chanemu leak-demo``: the goroutine leak of the seed article, on the emulated runtime.

The article's 30-line Go program, run as written: a channel of capacity 5 whose receiver returns at
once because no exporter is configured (``flag`` is false), and a heartbeat loop that sleeps 500 ms
(``chanemu.time.sleep``), then starts a goroutine to print ``runtime.NumGoroutine()`` and send on
the channel. Once the five slots are full, every heartbeat goroutine parks in ``chansend`` with its
sudog on ``hchan.sendq`` and never wakes: the goroutine count grows by one per heartbeat.

Variants: ``--fixed`` applies the article's fix (do not send when ``flag`` is false), and
``--fixed-ctx`` the fix a Go engineer would write today: the receiver and every heartbeat sender
select on ``ctx.done()``, so cancelling the context at shutdown releases every blocked sender and
``wg.wait()`` returns with nothing left behind.

``--clock virtual`` runs the program on the virtual clock (Go's synctest bubble): the clock stands
still while any goroutine can run and jumps to the next timer when all are blocked, so
``--duration 24h`` (172,800 heartbeats, 172,795 parked senders) takes seconds of wall time, and
the goroutine dump shows the ages Go would show after a day: ``[chan send, 1439 minutes]``.

At the end the demo prints what a Go engineer would look at: the grouped goroutine profile
(``chanemu.pprof.goroutine_profile(debug=1)``, its top groups), the first goroutines of the dump,
the channel (``chanemu.inspect(ch)``), and the detectors' verdicts: ``chanemu.leak.Watch``, which
samples the profile on a runtime timer while the program runs and reports the site whose parked
goroutines keep growing, and ``chanemu.pprof.goroutine_leak_profile()`` (Go 1.26's
``goroutineleak``), which finds none here, as Go's would not: main still holds ``ch``.

``--plot FILE`` writes a PNG of the goroutine count and the RSS over clock time, the program beside
the leaking or fixed one (run alongside in a subprocess of its own, so that each RSS is its own
process's); it needs matplotlib (``pip install 'chanemu[plot]'``).
"""
import dataclasses
import functools
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time as _wall

import chanemu
import chanemu.context
import chanemu.sync
import chanemu.time
from chanemu import runtime, _traceback
from chanemu._inspect import HChanState
from chanemu._views import chan_id

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
VARIANTS = ("leak", "fixed", "ctx")
FLAGS = {"leak": "", "fixed": "--fixed", "ctx": "--fixed-ctx"}
PLOT_EXTRA = "pip install 'chanemu[plot]'"

_NS = 1_000_000_000
# Progress intervals, in clock time: the smallest that keeps the report within MAX_PROGRESS_LINES.
_PROGRESS_STEPS = (1, 10, 60, 600, 3600, 6 * 3600, 24 * 3600)

_HEADER = """\
chanemu leak-demo%(flags)s: the goroutine leak from the article, on chanemu's emulated Go runtime

The program (Go, as in the article; chanemu.leakdemo.program is the same in Python):

%(code)s
%(story)s
%(legend)s
%(watch)s

The article's Go program counts one more goroutine throughout: its pprof HTTP server. This one has
none. Each goroutine sends its heartbeat number, where the article sends 1, so you can tell the
values apart.

Running on %(impl)s, %(clock)s: %(n)s heartbeats, %(every)s.
"""

_CODE_LEAKY = """\
    ch := make(chan int, 5)          // the exporter's input channel
    flag := false                    // no exporter configured
    go func() {                      // the exporter goroutine ...
        if !flag {
            return                   // ... returns at once: nobody will ever receive from ch
        }
        for { fmt.Println("receive channel message:", <-ch) }
    }()
    for {                            // one heartbeat per tick
        i := 0
        time.Sleep(%(tick)s)
        go func() {
            fmt.Println("goroutine count:", runtime.NumGoroutine())
            i++
%(send)s
        }()
    }
"""

_SEND_LEAKY = "            ch <- i                  // blocks forever once the 5 slots are full"
_SEND_FIXED = ("            if flag {                // the article's fix: no exporter, no send\n"
               "                ch <- i\n"
               "            }")

_CODE_CTX = """\
    ctx, cancel := context.WithCancel(context.Background())
    var wg sync.WaitGroup
    ch := make(chan int, 5)          // the exporter's input channel
    flag := false                    // no exporter configured
    wg.Add(1)
    go func() {                      // the exporter goroutine
        defer wg.Done()
        if !flag {
            return                   // still returns at once: nobody receives from ch
        }
        for {
            select {
            case v := <-ch:
                fmt.Println("receive channel message:", v)
            case <-ctx.Done():       // shutdown
                return
            }
        }
    }()
    for running {                    // one heartbeat per tick, until shutdown
        i := 0
        time.Sleep(%(tick)s)
        wg.Add(1)
        go func() {
            defer wg.Done()
            fmt.Println("goroutine count:", runtime.NumGoroutine())
            i++
            select {
            case ch <- i:            // parks (in select) once the 5 slots are full ...
            case <-ctx.Done():       // ... until shutdown: then it gives up and returns
            }
        }()
    }
    cancel()                         // shutdown: close ctx.Done(), waking every parked sender
    wg.Wait()                        // and wait until every goroutine has returned
"""

_STORY_LEAKY = """\
What happens: the first 5 sends fill ch's ring buffer (hchan.buf). From the 6th heartbeat on, every
heartbeat goroutine finds the buffer full and no receiver, so chansend queues a sudog on
hchan.sendq and gopark()s it with wait reason "chan send". Nothing will ever goready() it: the count
grows by one per heartbeat, forever. The production server reached over 130,000 goroutines this way.
"""

_STORY_FIXED = """\
With --fixed the heartbeat goroutine does not send when flag is false (the article's fix): it
prints, returns and is gone. The buffer stays empty and the count stays flat.
"""

_STORY_CTX = """\
With --fixed-ctx every goroutine's life is bounded by a context, the fix a Go engineer would write
today. Nobody receives from ch (the exporter still returns at once), so once the buffer is full the
heartbeat goroutines still park, now in a select over ch and ctx.Done(), with a sudog on both
channels. At shutdown cancel() closes ctx.Done(): closechan wakes every one of them, each select
takes its ctx.Done() case (dequeuing its sudog from ch's sendq), the goroutine returns, and
wg.Wait() returns with zero goroutines left behind.
"""

_LEGEND_LINES = """\
Each line: the heartbeat, the goroutine count that its goroutine printed (it counts main and
itself), then ch's hchan after it ran: qcount/dataqsiz (values buffered / slots), sendx and recvx
(the ring's send and receive indexes), and len(sendq) (goroutines parked sending)."""

_LEGEND_PROGRESS = """\
With this many heartbeats, one line per %(step)s of clock time: the clock, the heartbeats so far,
runtime.NumGoroutine() after the last one, ch's hchan (qcount/dataqsiz, sendx, recvx, len(sendq)),
and the wall time the run has taken so far."""

_LEGEND_WATCH = """\
Meanwhile chanemu.leak.Watch samples the goroutine profile %(every)s and reports a site (wait
reason and line) whose parked goroutines grew at each of %(window)d samples in a row; its report
shows up among the lines when it comes."""


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
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, not {variant!r}")
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
        from . import pprof
        profile = pprof.goroutine_profile(debug=1)      # as pprof on :6060 shows it
        res.leak_profile = pprof.goroutine_leak_profile(debug=1)
        _summary(ch, heartbeats, write, sys._getframe(), variant, res, profile)
    if variant == "ctx":
        _shutdown(ch, cancel, wg, res, write if report else None)
    if tl:
        if variant == "ctx":
            tl.sample(rt, heartbeats)       # after the shutdown
        res.timeline = tl.points
    return res


class _Watching:
    """chanemu.leak.Watch over the program: on a runtime timer every two heartbeats of clock
    time (by hand when the clock does not move), stopped once it has reported."""

    def __init__(self, every, heartbeats, write, lines):
        from . import leak
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


def _draw_chan(ch):
    """chanemu.inspect(ch) drawn; a long sendq shows its first and last few sudogs."""
    h = ch.hchan
    n = len(h.sendq)
    if n <= 2 * QUEUE_SHOWN + 2:
        return str(chanemu.inspect(ch))
    # All of a sendq of 100,000 sudogs would make a line megabytes long: draw the struct without
    # it (HChanState is what inspect() returns), then the two ends of the queue.
    snap = HChanState(id=chan_id(ch), qcount=h.qcount, dataqsiz=h.dataqsiz, buf=h.buf,
                      elemsize=h.elemsize, closed=h.closed, sendx=h.sendx, recvx=h.recvx)
    lines = str(snap).split("\n")[:-1]
    q = list(h.sendq)

    def sg(s):
        return f"[g{s.g.goid}{' sel' if s.is_select else ''} {s.elem!r}]"
    first = " -> ".join(sg(s) for s in q[:QUEUE_SHOWN])
    last = " -> ".join(sg(s) for s in q[-QUEUE_SHOWN:])
    lines.append(f"  sendq ({n:,}): {first} -> ... {n - 2 * QUEUE_SHOWN:,} more ... -> {last}")
    return "\n".join(lines)


def _dump_head(n, frame):
    """The first n blocks of runtime.stack(): the current goroutine (from frame: the program's
    main), then the lowest goids (formatting every block of 100,000 goroutines just to show three
    would take a while)."""
    me = runtime.current()
    blocks = [_traceback.format_goroutine(me, frame).rstrip("\n")]
    for g in runtime.goroutines():
        if len(blocks) >= n:
            break
        if g is not me:
            blocks.append(g.stack().rstrip("\n"))
    return blocks


def _summary(ch, heartbeats, write, frame, variant, res, profile):
    n = runtime.num_goroutine()
    clock = chanemu._impl.current_runtime().clock
    span = (chanemu.time.format_duration(res.clock_ns / _NS) if clock == "virtual" else
            f"{res.clock_ns / _NS:.2f}s")
    write(f"\nAfter {heartbeats:,} heartbeats ({span} of {clock} time): "
          f"runtime.num_goroutine() = {n:,}\n")

    profile, groups = _trim_profile(profile)
    which = (f"the top {PROFILE_GROUPS} of {groups} groups" if groups > PROFILE_GROUPS
             else f"{_plural(groups, 'group')}")
    write(f"\nchanemu.pprof.goroutine_profile(debug=1), what pprof showed on the server's :6060: "
          f"the goroutines\ngrouped by stack, the most frequent first ({which}):\n\n")
    write(_indent(profile) + "\n")

    shown = _dump_head(DUMP_BLOCKS, frame)
    which = (f"the first {len(shown)} of {n:,} goroutines" if n > len(shown)
             else f"all {n} goroutines" if n > 1 else "its only goroutine")
    write(f"\nchanemu.runtime.stack(), Go's goroutine dump (goroutine?debug=2): {which}\n\n")
    write(_indent("\n\n".join(shown)) + "\n")
    if n > len(shown):
        write(f"    ... and {n - len(shown):,} more\n")

    write("\nchanemu.inspect(ch), the channel's hchan (ring buffer and wait queues):\n\n")
    write(_indent(_draw_chan(ch)) + "\n")

    _verdicts(write, variant, res, clock)
    _memstats(ch, write, variant)


def _trim_profile(text):
    """A debug=1 profile cut to its first PROFILE_GROUPS groups (Go sorts them by count) and
    PROFILE_FRAMES frames per group; returns it and the number of groups."""
    lines = text.rstrip("\n").split("\n")
    blocks, cur = [], []
    for ln in lines[1:]:
        if ln:
            cur.append(ln)
        elif cur:
            blocks.append(cur)
            cur = []
    if cur:
        blocks.append(cur)
    out = [lines[0]]
    for b in blocks[:PROFILE_GROUPS]:
        frames = b[1:]
        out.append(b[0])
        out.extend(frames[:PROFILE_FRAMES])
        if len(frames) > PROFILE_FRAMES:
            out.append(f"#\t... {len(frames) - PROFILE_FRAMES} more frames")
        out.append("")
    rest = blocks[PROFILE_GROUPS:]
    if rest:
        count = sum(int(b[0].split(" ", 1)[0]) for b in rest)
        out.append(f"... {_plural(len(rest), 'more group')}, {_plural(count, 'goroutine')}")
    return "\n".join(out).rstrip("\n"), len(blocks)


def _para(text, width=99):
    return textwrap.fill(" ".join(text.split()), width) + "\n"


def _verdicts(write, variant, res, clock):
    """What chanemu.leak.Watch reported while the program ran, and what
    chanemu.pprof.goroutine_leak_profile() said at the end."""
    reps = res.watch_reports
    if res.watch_interval:
        how = (f"every {chanemu.time.format_duration(res.watch_interval)} of {clock} time, on a "
               f"runtime timer")
    else:
        how = ("every few heartbeats, by hand (with no wait between heartbeats the clock stands "
               "still)")
    write("\nThe detectors' verdicts.\n\n")
    if res.watch_error is not None:
        write(f"chanemu.leak.Watch failed and stopped sampling: {res.watch_error!r}\n")
    if reps:
        at = (f"At {_clock(round(reps[0].detected_at * _NS))} (sample {res.watch_samples})"
              if res.watch_interval else f"After sample {res.watch_samples}")
        write(_para(f"chanemu.leak.Watch sampled the goroutine profile {how}. {at} it reported "
                    f"this, and the demo stopped it there: sampling a profile that grows by a "
                    f"goroutine per heartbeat would soon cost more than the program.") + "\n")
        for r in reps:
            write(_indent(str(r)) + "\n")
        if variant == "ctx":
            write("\n" + _para("The same pile-up as the leak, parked in select: until the "
                               "shutdown the context fix holds the senders too. The difference "
                               "is that cancel() releases every one of them (below)."))
    else:
        write(_para(f"chanemu.leak.Watch sampled the goroutine profile {how}, "
                    f"{_plural(res.watch_samples, 'time')}: nothing grows (no site gained "
                    f"parked goroutines at {WATCH_WINDOW} samples in a row)."))
        if variant == "leak" and res.sendq:
            write(_para(f"The run was too short to tell: the senders start parking at "
                        f"heartbeat {CAPACITY + 1}, and the watch needs {WATCH_WINDOW + 1} "
                        f"samples that grow. Give it a longer --duration."))

    header = res.leak_profile.split("\n", 1)[0]
    write(f"\nchanemu.pprof.goroutine_leak_profile() (Go 1.26's goroutineleak): \"{header}\".\n")
    try:
        leaked = int(header.rsplit(" ", 1)[1])
    except (IndexError, ValueError):
        leaked = -1
    if leaked > 0:
        write(_indent(_trim_profile(res.leak_profile)[0]) + "\n")
    elif variant == "leak" and res.sendq:
        write(_para("Go's would say the same: main, still in its loop, holds ch, so the parked "
                    "senders count as reachable (the detector's documented limit); Watch catches "
                    "this leak by its growth."))
    elif variant == "ctx" and res.sendq:
        write(_para("Main holds ch and ctx, and cancel() will release the parked senders: none "
                    "of them is leaked."))
    else:
        write("No goroutine is parked on a channel.\n")


def _memstats(ch, write, variant="leak"):
    m = runtime.memstats()
    write(f"\nruntime.memstats(): in Go, {_plural(m['goroutines'], 'goroutine')} would hold about "
          f"{m['go_bytes']:,} bytes\n(a {runtime.STACK_MIN}-byte stack and a "
          f"{runtime.SIZEOF_G}-byte g each, and {m['sudogs_in_use'] + m['sudogs_cached']:,} "
          f"sudogs of {runtime.SIZEOF_SUDOG} bytes).\n")
    parked = len(ch.hchan.sendq)
    if parked:
        per_g = runtime.STACK_MIN + runtime.SIZEOF_G + runtime.SIZEOF_SUDOG
        until = (", until the shutdown frees it" if variant == "ctx" else ", never freed")
        write(f"At the article's {ARTICLE_GOROUTINES:,} parked senders that is at least "
              f"{ARTICLE_GOROUTINES * per_g / 2**20:,.0f} MiB{until}.\n")


def _shutdown(ch, cancel, wg, res, write):
    """--fixed-ctx: cancel the context and wait for every goroutine, then show what is left."""
    before = runtime.num_goroutine()
    t0 = _wall.perf_counter()
    cancel()
    wg.wait()
    took = _wall.perf_counter() - t0
    h = ch.hchan
    res.goroutines_after_cancel = runtime.num_goroutine()
    res.sendq_after_cancel = len(h.sendq)
    left = res.goroutines_after_cancel - 1
    if write is None:
        return
    write(f"\nShutdown: cancel(), then wg.wait(): {before - 1:,} goroutines woke up and returned "
          f"({took:.2f} s of wall time).\n"
          f"runtime.num_goroutine() = {res.goroutines_after_cancel} (main alone): "
          f"{'zero' if left == 0 else left} goroutine{'' if left == 1 else 's'} left behind.\n\n")
    write(_indent(_draw_chan(ch)) + "\n")
    write(f"\nThe {h.qcount} values in the buffer are garbage once ch is unreachable; no goroutine "
          "is parked on ch any more.\n")


def _plural(n, word):
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def _indent(text, pad="    "):
    return "\n".join(pad + line if line else line for line in text.split("\n"))


def main(heartbeats=None, every=TICK, fixed=False, out=None, *, clock="real", duration=None,
         variant=None, lines=None, pprof=None, plot=None, timeline_out=None):
    """Print the header, run the program with ``chanemu.run`` and show what it left behind.

    Give either ``duration`` (seconds of clock time: ``duration // every`` heartbeats) or
    ``heartbeats`` (default 12). ``variant`` ("leak", "fixed", "ctx") overrides ``fixed``.
    ``pprof``: an address ("127.0.0.1:6060") to serve chanemu.pprof's endpoints on while it runs.
    ``plot``: a PNG file to write the goroutine count and RSS over clock time to, this program
    beside the leaking one (or, for the leak, beside the fixed one), which runs meanwhile in a
    subprocess; needs matplotlib. ``timeline_out``: run quietly and write the timeline as JSON
    there instead of reporting (what that subprocess does).
    """
    out = out or sys.stdout
    if variant is None:
        variant = "fixed" if fixed else "leak"
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, not {variant!r}")
    if clock not in ("real", "virtual"):
        raise ValueError(f"clock must be 'real' or 'virtual', not {clock!r}")
    if duration is not None:
        if every <= 0:
            raise ValueError("a duration needs a positive heartbeat interval")
        heartbeats = round(duration * _NS) // round(every * _NS)
        if heartbeats < 1:
            raise ValueError("the duration is shorter than one heartbeat")
    elif heartbeats is None:
        heartbeats = 12
    if timeline_out is not None:
        return _timeline_only(heartbeats, every, variant, clock, timeline_out)
    if plot is not None:
        _require_matplotlib()              # before the run, not after it
    if lines is None:
        lines = heartbeats <= LINE_EACH_UP_TO

    def write(s):
        out.write(s)
        out.flush()

    flags = {"leak": "", "fixed": " --fixed", "ctx": " --fixed-ctx"}[variant]
    if clock != "real":
        flags += f" --clock {clock}"
    tick = chanemu.time.format_duration(every)
    go_tick = _go_duration(every)
    if variant == "ctx":
        code = _CODE_CTX % dict(tick=go_tick)
    else:
        code = _CODE_LEAKY % dict(tick=go_tick,
                                  send=_SEND_FIXED if variant == "fixed" else _SEND_LEAKY)
    if lines:
        legend = _LEGEND_LINES
    else:
        step = _progress_step_ns(heartbeats, round(every * _NS))
        legend = _LEGEND_PROGRESS % dict(step=chanemu.time.format_duration(step / _NS))
    watch = _para(_LEGEND_WATCH % dict(
        window=WATCH_WINDOW,
        every=(f"every {chanemu.time.format_duration(2 * every)} of clock time (a runtime "
               f"timer)" if every > 0 else "every few heartbeats"))).rstrip("\n")
    span = chanemu.time.format_duration(heartbeats * every)
    write(_HEADER % dict(
        flags=flags, code=code, legend=legend, watch=watch,
        story={"leak": _STORY_LEAKY, "fixed": _STORY_FIXED, "ctx": _STORY_CTX}[variant],
        impl=("the C extension" if chanemu.IMPL == "c" else
              "the pure-Python twin (CHANEMU_IMPL=python)"),
        clock=("the virtual clock (time stands still while anything can run, then jumps to the "
               "next timer)" if clock == "virtual" else "the real clock"),
        n=f"{heartbeats:,}",
        every=(f"{tick} apart ({span} of {clock} time; the article: 500ms)" if every > 0 else
               "no wait between them (--no-wait)")))
    other = None
    if plot is not None:
        other = _Companion("fixed" if variant == "leak" else "leak", heartbeats, every, clock)
        write(f"\n--plot: the {_NAMES[other.variant]} runs meanwhile in a subprocess, for the "
              "picture.\n")
    if lines:
        write("\n   #   goroutine count      ch after the heartbeat\n")
    else:
        write("\n")
    try:
        t0 = _wall.perf_counter()
        prog = functools.partial(program, timeline=plot is not None)
        if pprof is not None:
            prog = _served(pprof, prog, write)
        res = chanemu.run(prog, heartbeats, every, variant, write, lines, clock=clock)
        wall = _wall.perf_counter() - t0
        if clock == "virtual" and every > 0:
            parked = res.goroutines - 1 if variant != "ctx" else 0
            end = (f" (the program's end included: discarding {parked:,} parked goroutines)"
                   if parked else "")
            write(f"\n{chanemu.time.format_duration(res.clock_ns / _NS)} of virtual time in "
                  f"{wall:.1f} s of wall time{end}.\n")
        if other is not None:
            runs = [(variant, res.timeline), (other.variant, other.result())]
            if variant != "leak":
                runs.reverse()              # the leak first, in red
            plot_timelines(runs, plot, clock=clock, impl=chanemu.IMPL, every=every)
            write(f"\n--plot: wrote {plot} (goroutines and RSS over {clock} time, "
                  f"{' beside '.join(_NAMES[v] for v, _ in runs)}).\n")
    finally:
        if other is not None:
            other.close()
    return 0


_NAMES = {"leak": "leaking program", "fixed": "fixed program (--fixed)",
          "ctx": "context fix (--fixed-ctx)"}


def _timeline_only(heartbeats, every, variant, clock, path):
    """Run the program without a report and write its timeline to path as JSON."""
    from . import leak, pprof  # noqa: F401  (what the reporting run imports: the RSS start alike)

    def quiet(s):
        pass
    res = chanemu.run(functools.partial(program, watch=False, report=False, timeline=True),
                      heartbeats, every, variant, quiet, False, clock=clock)
    doc = {"variant": variant, "clock": clock, "impl": chanemu.IMPL, "heartbeats": heartbeats,
           "every": every, "timeline": res.timeline}
    with open(path, "w") as f:
        json.dump(doc, f)
    return 0


class _Companion:
    """The other program of the --plot picture, run in a subprocess of its own (its RSS is its
    own), on the same twin and clock, side by side with this one."""

    def __init__(self, variant, heartbeats, every, clock):
        self.variant = variant
        fd, self.path = tempfile.mkstemp(prefix="chanemu-leakdemo-", suffix=".json")
        os.close(fd)
        cmd = [sys.executable, "-m", "chanemu", "leak-demo", "--clock", clock,
               "--heartbeats", str(heartbeats), "--every-ms", repr(every * 1000),
               "--timeline-out", self.path]
        if FLAGS[variant]:
            cmd.append(FLAGS[variant])
        env = dict(os.environ, CHANEMU_IMPL=chanemu.IMPL)
        self.proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)

    def result(self):
        err = self.proc.communicate()[1]
        if self.proc.returncode != 0:
            raise RuntimeError(f"--plot: the {_NAMES[self.variant]} failed "
                               f"(exit {self.proc.returncode}):\n{err}")
        with open(self.path) as f:
            return [tuple(p) for p in json.load(f)["timeline"]]

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()
        try:
            os.unlink(self.path)
        except OSError:
            pass


def _require_matplotlib():
    """Fail early, without importing it (an import would weigh on the RSS being plotted), if
    matplotlib is missing."""
    import importlib.util
    try:
        found = importlib.util.find_spec("matplotlib") is not None
    except (ImportError, ValueError):       # ValueError: sys.modules["matplotlib"] is None
        found = False
    if not found:
        raise SystemExit("chanemu leak-demo: --plot needs matplotlib, which is not installed: "
                         f"{PLOT_EXTRA}")


def plot_timelines(runs, path, *, clock="virtual", impl=None, every=TICK):
    """Write a PNG of the goroutine count (top) and the RSS (bottom) over clock time.

    runs: [(variant, [(seconds, goroutines, rss bytes or None, heartbeats), ...])] (as
    ``Result.timeline``), drawn on the same axes; x is the clock, or the heartbeats when the clock
    did not move (no wait between heartbeats). The legends give each program's end values.
    Uses matplotlib's object API (no pyplot, no global backend); needs matplotlib.
    """
    _require_matplotlib()
    try:
        from matplotlib.figure import Figure
        from matplotlib.ticker import FuncFormatter, MaxNLocator
    except ImportError as e:
        raise SystemExit(f"chanemu leak-demo: --plot needs matplotlib, which failed to import "
                         f"({e}): {PLOT_EXTRA}") from None

    runs = [(v, tl) for v, tl in runs if tl]
    span = max((p[0] for _, tl in runs for p in tl), default=0.0)
    col = 0
    if span == 0 or every <= 0:
        unit, scale, col = "heartbeats", 1.0, 3
    elif span >= 3 * 3600:
        unit, scale = "hours", 3600.0
    elif span >= 180:
        unit, scale = "minutes", 60.0
    else:
        unit, scale = "seconds", 1.0
    colors = {"leak": "#c0392b", "fixed": "#27ae60", "ctx": "#2471a3"}
    names = {"leak": "the article's program", "fixed": "--fixed, the article's fix",
             "ctx": "--fixed-ctx"}

    fig = Figure(figsize=(10, 7.2), dpi=110)
    ax_g, ax_m = fig.subplots(2, 1, sharex=True)
    top = mtop = 0
    for variant, tl in runs:
        xs = [p[col] / scale for p in tl]
        gs = [p[1] for p in tl]
        top = max(top, max(gs))
        # the leak on top, thinner: a fix that piles up as well (--fixed-ctx) shows around it
        kw = dict(color=colors[variant], linewidth=2 if variant == "leak" else 3.5,
                  zorder=3 if variant == "leak" else 2, alpha=1 if variant == "leak" else 0.8)
        if variant == "ctx" and max(gs) > gs[-1]:
            end = f"{_plural(max(gs), 'goroutine')}, then {gs[-1]:,} after cancel()"
        else:
            end = _plural(gs[-1], "goroutine") + (" and growing" if variant == "leak" else "")
        ax_g.plot(xs, gs, label=f"{names[variant]}: {end}", **kw)
        mem = [(x, p[2] / 2**20, p[1]) for x, p in zip(xs, tl) if p[2] is not None]
        if mem:
            peak = max(mem, key=lambda m: m[2])         # where the most goroutines were
            note = f"{names[variant]}: {peak[1]:,.0f} MiB"
            if peak[2] - mem[0][2] >= 1000:
                per = (peak[1] - mem[0][1]) * 2**20 / (peak[2] - mem[0][2])
                note += f", {per / 1024:,.1f} KiB more per goroutine"
            ax_m.plot([m[0] for m in mem], [m[1] for m in mem], label=note, **kw)
            mtop = max(mtop, max(m[1] for m in mem))
    if top >= ARTICLE_GOROUTINES / 2:
        ax_g.axhline(ARTICLE_GOROUTINES, color="#7f8c8d", linestyle="--", linewidth=1)
        ax_g.text(0, ARTICLE_GOROUTINES, f" pprof on the production server: over "
                  f"{ARTICLE_GOROUTINES:,}", ha="left", va="bottom", color="#555", fontsize=9)
    thousands = FuncFormatter(lambda v, _: f"{v:,.0f}")
    ax_g.yaxis.set_major_formatter(thousands)
    ax_m.yaxis.set_major_formatter(thousands)
    ax_g.set_ylabel("runtime.NumGoroutine()")
    ax_m.set_ylabel("RSS of the process (MiB)")
    ax_m.set_xlabel("heartbeats" if col else f"{clock} clock time ({unit})")
    ax_g.set_ylim(0, max(top, 1) * 1.15 + 1)
    ax_m.set_ylim(0, max(mtop, 1) * 1.25)
    ax_m.set_xlim(left=0)
    ax_m.xaxis.set_major_locator(MaxNLocator(nbins=12, steps=[1, 2, 3, 4, 5, 6, 10]))
    for ax in (ax_g, ax_m):
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper left", fontsize=9)
    if not mtop:
        ax_m.text(0.5, 0.5, "the RSS could not be read on this platform", ha="center",
                  va="center", transform=ax_m.transAxes, color="#555")
    who = {"c": "C extension", "python": "pure-Python twin"}.get(impl, impl or "")
    beat = (f"a heartbeat every {chanemu.time.format_duration(every)}" if every > 0 else
            "heartbeats with no wait")
    shown = round(span) if span >= 60 else round(span, 1)
    howlong = (f"{max(p[3] for _, tl in runs for p in tl):,} heartbeats" if col else
               f"{chanemu.time.format_duration(shown)} of {clock} time")
    fig.suptitle(f"chanemu leak-demo: {beat}, {howlong}" + (f" ({who})" if who else ""),
                 fontsize=12)
    ax_g.set_title("each program in a process of its own", fontsize=9, color="#555")
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path


def _served(addr, fn, write):
    """fn, run with chanemu.pprof's debug server on addr (--pprof), as the article's program
    serves net/http/pprof on :6060."""
    @_traceback.hide            # goroutine 1's stack starts at the program's main, not here
    def served(*args):
        from . import pprof
        srv = pprof.serve(addr)
        write(f"pprof: serving {srv.url} while the program runs (goroutine?debug=1|2, "
              f"goroutineleak, /debug/chanemu/chans)\n")
        try:
            return fn(*args)
        finally:
            srv.close()
    return served


def _go_duration(seconds):
    """The Go expression for a duration, as the article writes it: 500 * time.Millisecond."""
    ns = round(seconds * _NS)
    for unit, name in ((3600 * _NS, "time.Hour"), (60 * _NS, "time.Minute"), (_NS, "time.Second"),
                       (1_000_000, "time.Millisecond"), (1_000, "time.Microsecond")):
        if ns >= unit and ns % unit == 0:
            k = ns // unit
            return name if k == 1 else f"{k} * {name}"
    return f"{ns} * time.Nanosecond" if ns else "0"
