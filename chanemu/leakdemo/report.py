"""What the demo prints around the program: the header before it, the report after it.

The header shows the program as Go source (the variant's), says what to expect and explains the
columns; ``--brief`` cuts it to three lines. The report, once the heartbeats stop, is what a Go
engineer would look at: the grouped goroutine profile, the first goroutines of the dump, the
channel's hchan, the detectors' verdicts, the memory Go would hold, and for ``--fixed-ctx`` the
shutdown.
"""
import textwrap

import chanemu
import chanemu.time
from chanemu import runtime, _traceback
from chanemu._inspect import HChanState
from chanemu._views import chan_id

from .article import (ARTICLE_GOROUTINES, CAPACITY, DUMP_BLOCKS, PROFILE_FRAMES, PROFILE_GROUPS,
                      QUEUE_SHOWN, VARIANTS, WATCH_WINDOW, _NS, _clock, _plural,
                      _progress_step_ns)

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
    ctx, cancel := context.WithCancel(context.Background())   // ends at shutdown
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


_BRIEF = {
    "leak": "Each heartbeat starts a goroutine that sends on a 5-slot channel nobody receives from: "
            "from the 6th on, each parks in chan send for good.",
    "fixed": "With --fixed the heartbeat goroutine does not send (no exporter): it prints and "
             "returns, and the count stays flat.",
    "ctx": "With --fixed-ctx the senders park in a select with ctx.Done(), and cancel() at "
           "shutdown releases every one of them.",
}

_BRIEF_HEADER = """\
chanemu leak-demo%(flags)s: the goroutine leak from the article, on chanemu's emulated Go runtime
%(story)s
Running on %(impl)s, %(clock)s: %(n)s heartbeats, %(every)s.
"""


def header(variant, heartbeats, every, clock, lines, brief=False):
    """The text printed before the program runs: the variant's Go source, what happens, the
    columns and the run's settings; with ``brief``, the title, what happens and the settings."""
    flags = VARIANTS[variant].flag
    flags = f" {flags}" if flags else ""
    if clock != "real":
        flags += f" --clock {clock}"
    tick = chanemu.time.format_duration(every)
    span = chanemu.time.format_duration(heartbeats * every)
    settings = dict(
        flags=flags,
        impl=("the C extension" if chanemu.IMPL == "c" else
              "the pure-Python twin (CHANEMU_IMPL=python)"),
        clock=("the virtual clock (time stands still while anything can run, then jumps to the "
               "next timer)" if clock == "virtual" else "the real clock"),
        n=f"{heartbeats:,}",
        every=(f"{tick} apart ({span} of {clock} time; the article: 500ms)" if every > 0 else
               "no wait between them (--no-wait)"))
    if brief:
        return _BRIEF_HEADER % dict(settings, story=_para(_BRIEF[variant]).rstrip("\n"))
    return _HEADER % dict(settings, code=go_source(variant, every),
                          legend=_legend(heartbeats, every, lines),
                          story={"leak": _STORY_LEAKY, "fixed": _STORY_FIXED,
                                 "ctx": _STORY_CTX}[variant],
                          watch=_para(_LEGEND_WATCH % dict(
                              window=WATCH_WINDOW,
                              every=(f"every {chanemu.time.format_duration(2 * every)} of clock "
                                     f"time (a runtime timer)" if every > 0 else
                                     "every few heartbeats"))).rstrip("\n"))


def go_source(variant, every=0.5):
    """The variant's program as Go source, as the header prints it (and README.md shows it)."""
    go_tick = _go_duration(every)
    if variant == "ctx":
        return _CODE_CTX % dict(tick=go_tick)
    return _CODE_LEAKY % dict(tick=go_tick,
                              send=_SEND_FIXED if variant == "fixed" else _SEND_LEAKY)


def _legend(heartbeats, every, lines):
    if lines:
        return _LEGEND_LINES
    step = _progress_step_ns(heartbeats, round(every * _NS))
    return _LEGEND_PROGRESS % dict(step=chanemu.time.format_duration(step / _NS))


def _go_duration(seconds):
    """The Go expression for a duration, as the article writes it: 500 * time.Millisecond."""
    ns = round(seconds * _NS)
    for unit, name in ((3600 * _NS, "time.Hour"), (60 * _NS, "time.Minute"), (_NS, "time.Second"),
                       (1_000_000, "time.Millisecond"), (1_000, "time.Microsecond")):
        if ns >= unit and ns % unit == 0:
            k = ns // unit
            return name if k == 1 else f"{k} * {name}"
    return f"{ns} * time.Nanosecond" if ns else "0"


def summary(ch, heartbeats, write, frame, variant, res, profile):
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


def shutdown_report(ch, res, took, write):
    """--fixed-ctx: what the shutdown (cancel(), then wg.wait()) left behind."""
    h = ch.hchan
    left = res.goroutines_after_cancel - 1
    write(f"\nShutdown: cancel(), then wg.wait(): {res.goroutines_before_cancel - 1:,} goroutines "
          f"woke up and returned ({took:.2f} s of wall time).\n"
          f"runtime.num_goroutine() = {res.goroutines_after_cancel} (main alone): "
          f"{'zero' if left == 0 else left} goroutine{'' if left == 1 else 's'} left behind.\n\n")
    write(_indent(_draw_chan(ch)) + "\n")
    write(f"\nThe {h.qcount} values in the buffer are garbage once ch is unreachable; no goroutine "
          "is parked on ch any more.\n")


def _indent(text, pad="    "):
    return "\n".join(pad + line if line else line for line in text.split("\n"))
