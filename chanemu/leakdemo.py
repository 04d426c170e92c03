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
"""
import collections
import dataclasses
import sys
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
VARIANTS = ("leak", "fixed", "ctx")

_NS = 1_000_000_000
# Progress intervals, in clock time: the smallest that keeps the report within MAX_PROGRESS_LINES.
_PROGRESS_STEPS = (1, 10, 60, 600, 3600, 6 * 3600, 24 * 3600)

_HEADER = """\
chanemu leak-demo%(flags)s: the goroutine leak from the article, on chanemu's emulated Go runtime

The program (Go, as in the article; chanemu.leakdemo.program is the same in Python):

%(code)s
%(story)s
%(legend)s
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


def program(heartbeats, every=TICK, variant="leak", write=sys.stdout.write, lines=None,
            check=None):
    """The article's main(), run as goroutine 1 of an emulated program, with a report.

    ``every`` is the heartbeat's ``time.Sleep`` (seconds, on the program's clock); ``variant`` is
    "leak" (the article's program), "fixed" (the article's fix) or "ctx" (context-based fix).
    With ``lines`` (default: up to LINE_EACH_UP_TO heartbeats), each heartbeat goroutine writes the
    start of a line (its count) and main ends it with ch's hchan; otherwise main writes a progress
    line per interval of clock time. ``check(ch)``, if given, is called inside the program after
    the last heartbeat, before the report (the tests look at the struct there). Returns a
    ``Result``.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, not {variant!r}")
    if lines is None:
        lines = heartbeats <= LINE_EACH_UP_TO
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

    h = ch.hchan
    rt = chanemu._impl.current_runtime()
    oldest = h.sendq[0].g.stack().split("\n", 1)[0] if h.sendq else ""
    res = Result(variant, heartbeats, rt.nanotime(), runtime.num_goroutine(), h.qcount,
                 h.dataqsiz, len(h.sendq), runtime.memstats()["sudogs_in_use"], oldest)
    if check is not None:
        check(ch)
    _summary(ch, heartbeats, write, sys._getframe(), variant)
    if variant == "ctx":
        _shutdown(ch, cancel, wg, res, write)
    return res


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


def _summary(ch, heartbeats, write, frame, variant="leak"):
    n = runtime.num_goroutine()
    write(f"\nAfter {heartbeats:,} heartbeats: runtime.num_goroutine() = {n:,}\n")
    write("\nchanemu.inspect(ch), the channel's hchan (ring buffer and wait queues):\n\n")
    write(_indent(_draw_chan(ch)) + "\n")

    shown = _dump_head(DUMP_BLOCKS, frame)
    which = (f"the first {len(shown)} of {n:,} goroutines" if n > len(shown)
             else f"all {n} goroutine{'s' if n > 1 else ''}")
    write(f"\nchanemu.runtime.stack(), Go's goroutine dump: {which}\n\n")
    write(_indent("\n\n".join(shown)) + "\n")
    if n > len(shown):
        write(f"    ... and {n - len(shown):,} more\n")

    write("\nGoroutines grouped by wait reason and creation site (what pprof's goroutine profile "
          "shows):\n\n")
    groups = collections.Counter((g.wait_reason or g.status, g.creation_site)
                                 for g in chanemu._impl.goroutines())
    for (reason, site), count in groups.most_common():
        where = (f"created by {site[2]} at {site[0]}:{site[1]}" if site else
                 "the program's main goroutine")
        write(f"    {count:>7,}  [{reason}]  {where}\n")

    _memstats(ch, write, variant)


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
         variant=None, lines=None, pprof=None):
    """Print the header, run the program with ``chanemu.run`` and show what it left behind.

    Give either ``duration`` (seconds of clock time: ``duration // every`` heartbeats) or
    ``heartbeats`` (default 12). ``variant`` ("leak", "fixed", "ctx") overrides ``fixed``.
    ``pprof``: an address ("127.0.0.1:6060") to serve chanemu.pprof's endpoints on while it runs.
    """
    out = out or sys.stdout
    if variant is None:
        variant = "fixed" if fixed else "leak"
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, not {variant!r}")
    if duration is not None:
        if every <= 0:
            raise ValueError("a duration needs a positive heartbeat interval")
        heartbeats = round(duration * _NS) // round(every * _NS)
    elif heartbeats is None:
        heartbeats = 12
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
    span = chanemu.time.format_duration(heartbeats * every)
    write(_HEADER % dict(
        flags=flags, code=code, legend=legend,
        story={"leak": _STORY_LEAKY, "fixed": _STORY_FIXED, "ctx": _STORY_CTX}[variant],
        impl=("the C extension" if chanemu.IMPL == "c" else
              "the pure-Python twin (CHANEMU_IMPL=python)"),
        clock=("the virtual clock (time stands still while anything can run, then jumps to the "
               "next timer)" if clock == "virtual" else "the real clock"),
        n=f"{heartbeats:,}",
        every=(f"{tick} apart ({span} of {clock} time; the article: 500ms)" if every > 0 else
               "no wait between them (--no-wait)")))
    if lines:
        write("\n   #   goroutine count      ch after the heartbeat\n")
    else:
        write("\n")
    t0 = _wall.perf_counter()
    prog = program if pprof is None else _served(pprof, program, write)
    res = chanemu.run(prog, heartbeats, every, variant, write, lines, clock=clock)
    wall = _wall.perf_counter() - t0
    if clock == "virtual" and every > 0:
        parked = res.goroutines - 1 if variant != "ctx" else 0
        end = (f" (the program's end included: discarding {parked:,} parked goroutines)"
               if parked else "")
        write(f"\n{chanemu.time.format_duration(res.clock_ns / _NS)} of virtual time in "
              f"{wall:.1f} s of wall time{end}.\n")
    return 0


def _served(addr, fn, write):
    """fn, run with chanemu.pprof's debug server on addr (--pprof), as the article's program
    serves net/http/pprof on :6060."""
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
