"""``python -m chanemu leak-demo``: the goroutine leak of the seed article, on the emulated runtime.

The article's 30-line Go program, run as written: a channel of capacity 5 whose receiver returns at
once because no exporter is configured (``flag`` is false), and a heartbeat loop that starts a
goroutine every tick to print ``runtime.NumGoroutine()`` and send on the channel. Once the five slots
are full, every heartbeat goroutine parks in ``chansend`` with its sudog on ``hchan.sendq`` and never
wakes: the goroutine count grows by one per heartbeat. ``--fixed`` applies the article's fix (do not
send when ``flag`` is false) and the count stays flat.

Timers are not emulated yet (``chanemu.time`` is a later issue), so the heartbeat interval is wall
time: ``sleep()`` below lets every runnable goroutine run, as they would during Go's
``time.Sleep``, then waits with ``time.sleep``.
"""
import collections
import sys
import time

import chanemu
from chanemu import runtime

CAPACITY = 5                  # make(chan int, 5)
DUMP_BLOCKS = 3               # goroutine blocks of the dump to print in full
ARTICLE_GOROUTINES = 130_000  # what pprof showed on the production server

_HEADER = """\
chanemu leak-demo%(variant)s: the goroutine leak from the article, on chanemu's emulated Go runtime

The program (Go, as in the article; chanemu.leakdemo.program is the same in Python):

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
        time.Sleep(tick)
        go func() {
            fmt.Println("goroutine count:", runtime.NumGoroutine())
            i++
%(send)s
        }()
    }

%(story)s
Each line: the heartbeat, the goroutine count that its goroutine printed (it counts main and
itself), then ch's hchan after it ran: qcount/dataqsiz (values buffered / slots), sendx and recvx
(the ring's send and receive indexes), and len(sendq) (goroutines parked sending).
The article's Go program counts one more goroutine throughout: its pprof HTTP server. This one has
none. Each goroutine sends its heartbeat number, where the article sends 1, so you can tell the
values apart.

Running on %(impl)s: %(n)s heartbeats, %(every)s.
"""

_SEND_LEAKY = "            ch <- i                  // blocks forever once the 5 slots are full"
_SEND_FIXED = ("            if flag {                // the article's fix: no exporter, no send\n"
               "                ch <- i\n"
               "            }")

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


def sleep(seconds):
    """Stand-in for ``time.Sleep`` until ``chanemu.time`` exists: first every goroutine that can run
    does (``runtime.gosched()``), as it would while Go's main sleeps, then the wall clock passes."""
    runtime.gosched()
    if seconds > 0:
        time.sleep(seconds)


def program(heartbeats, every, fixed, write=sys.stdout.write):
    """The article's main(), run as goroutine 1 of an emulated program, with a report: each
    heartbeat goroutine writes the start of a line (its count) and main ends it with ch's hchan;
    at the end, the channel and the goroutines. Returns the final goroutine count."""
    ch = chanemu.Chan(CAPACITY, elemtype=int)
    flag = False

    def exporter():
        if not flag:
            return                          # the early return that leaks
        while True:
            write(f"receive channel message: {ch.recv()}\n")

    chanemu.go(exporter)

    for i in range(1, heartbeats + 1):
        sleep(every)

        def heartbeat(i=i):
            write(f"{i:>4}   goroutine count: {runtime.num_goroutine():>3}")
            if fixed and not flag:
                return                      # the fix: no exporter, so do not send
            ch.send(i)                      # ch <- i: parks in chan send once the buffer is full

        chanemu.go(heartbeat)
        runtime.gosched()                   # let it run now, so the line below shows what it did
        write(_hchan_line(ch))

    _summary(ch, heartbeats, write)
    return runtime.num_goroutine()


def _hchan_line(ch):
    h = ch.hchan
    line = (f"   hchan: {h.qcount}/{h.dataqsiz}  sendx={h.sendx} recvx={h.recvx}"
            f"  len(sendq)={len(h.sendq)}")
    if h.sendq:
        g = h.sendq[-1].g
        line += f"   <- g{g.goid} parked [{g.wait_reason}]"
    return line + "\n"


def _summary(ch, heartbeats, write):
    n = runtime.num_goroutine()
    write(f"\nAfter {heartbeats} heartbeats: runtime.num_goroutine() = {n}\n")
    write("\nchanemu.inspect(ch), the channel's hchan (ring buffer and wait queues):\n\n")
    write(_indent(str(chanemu.inspect(ch))) + "\n")

    blocks = runtime.stack().rstrip("\n").split("\n\n")
    shown = blocks[:DUMP_BLOCKS]
    which = (f"the first {len(shown)} of {len(blocks)} goroutines" if len(blocks) > len(shown)
             else f"all {len(blocks)} goroutine{'s' if len(blocks) > 1 else ''}")
    write(f"\nchanemu.runtime.stack(), Go's goroutine dump: {which}\n\n")
    write(_indent("\n\n".join(shown)) + "\n")
    if len(blocks) > len(shown):
        write(f"    ... and {len(blocks) - len(shown)} more\n")

    write("\nGoroutines grouped by wait reason and creation site (what pprof's goroutine profile "
          "shows):\n\n")
    groups = collections.Counter((g.wait_reason or g.status, g.created_by)
                                 for g in runtime.goroutines())
    for (reason, site), count in groups.most_common():
        where = f"created by {site}" if site else "the program's main goroutine"
        write(f"    {count:>5}  [{reason}]  {where}\n")

    m = runtime.memstats()
    write(f"\nruntime.memstats(): in Go, {_plural(m['goroutines'], 'goroutine')} would hold about "
          f"{m['go_bytes']:,} bytes\n(a {runtime.STACK_MIN}-byte stack and a {runtime.SIZEOF_G}-byte "
          f"g each, and {m['sudogs_in_use'] + m['sudogs_cached']} sudogs of "
          f"{runtime.SIZEOF_SUDOG} bytes).\n")
    if ch.hchan.sendq:
        per_g = runtime.STACK_MIN + runtime.SIZEOF_G + runtime.SIZEOF_SUDOG
        write(f"At the article's {ARTICLE_GOROUTINES:,} parked senders that is at least "
              f"{ARTICLE_GOROUTINES * per_g / 2**20:,.0f} MiB, never freed.\n")


def _plural(n, word):
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _indent(text, pad="    "):
    return "\n".join(pad + line if line else line for line in text.split("\n"))


def main(heartbeats=12, every=0.1, fixed=False, out=None):
    """Print the header, run the program with ``chanemu.run`` and show what it left behind."""
    out = out or sys.stdout

    def write(s):
        out.write(s)
        out.flush()

    write(_HEADER % dict(
        variant=" --fixed" if fixed else "",
        send=_SEND_FIXED if fixed else _SEND_LEAKY,
        story=_STORY_FIXED if fixed else _STORY_LEAKY,
        impl=("the C extension" if chanemu.IMPL == "c" else
              "the pure-Python twin (CHANEMU_IMPL=python)"),
        n=heartbeats,
        every=f"{every * 1000:g} ms of wall time apart (the article: 500 ms)" if every else
              "no wait between them (--no-wait)"))
    write("\n   #   goroutine count      ch after the heartbeat\n")
    chanemu.run(program, heartbeats, every, fixed, write)
    return 0
