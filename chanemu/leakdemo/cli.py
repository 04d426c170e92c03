"""The leak demo's command line: ``python -m chanemu leak-demo`` (and the ``chanemu`` script).

``add_arguments`` declares the options on the ``leak-demo`` subcommand, ``run_cli`` turns them
into a call of ``main``, and ``main`` prints the header, runs the program (``article.py``) with
``chanemu.run``, prints the report (``report.py``) and, with ``--plot``, the picture
(``plot.py``).
"""
import argparse
import functools
import sys
import time as _wall

import chanemu
import chanemu.time
from chanemu import _traceback

from .article import LINE_EACH_UP_TO, TICK, VARIANTS, _NS, program, variant_of
from .plot import Companion, plot_timelines, require_matplotlib, timeline_only
from .report import header

DESCRIPTION = ("Runs the article's program on the emulated runtime: a channel of capacity 5 "
               "whose receiver returned at once, and a heartbeat loop that starts a goroutine "
               "each tick to print runtime.NumGoroutine() and send on the channel. Prints the "
               "goroutine count and the channel's hchan as the leak grows (after every "
               "heartbeat, or once per stretch of clock time in a long run), then the grouped "
               "goroutine profile (chanemu.pprof), the first goroutines of the dump, the channel "
               "(chanemu.inspect) and the detectors' verdicts: chanemu.leak.Watch, which samples "
               "the profile while the program runs, and Go 1.26's goroutineleak profile.")


def add_arguments(demo, duration_type, positive_int, nonnegative_float):
    """The leak-demo options, on the subcommand's parser (the argument types are the command
    line's, shared with the other subcommands)."""
    which = demo.add_mutually_exclusive_group()
    for name, v in VARIANTS.items():
        if v.flag:
            which.add_argument(v.flag, dest="variant", action="store_const", const=name,
                               help=v.help)
    demo.set_defaults(variant="leak")
    demo.add_argument("--clock", choices=("real", "virtual"), default="real",
                      help="real: heartbeats take wall time; virtual: a fake clock (Go's "
                           "synctest) that jumps to the next timer, so --duration 24h runs a day "
                           "of heartbeats in seconds (default: real)")
    length = demo.add_mutually_exclusive_group()
    length.add_argument("--duration", type=duration_type, metavar="D",
                        help="how long the program runs, in clock time, as Go writes durations: "
                             "24h, 1h, 90s, 500ms (default: 6s on the real clock, 1h on the "
                             "virtual one)")
    length.add_argument("--heartbeats", type=positive_int, metavar="N",
                        help="number of heartbeats instead of a duration")
    wait = demo.add_mutually_exclusive_group()
    wait.add_argument("--every-ms", type=nonnegative_float, default=500.0, metavar="MS",
                      help="the heartbeat's time.Sleep, in milliseconds of clock time (default: "
                           "500, the article's)")
    wait.add_argument("--no-wait", action="store_true",
                      help="no sleep between heartbeats (same as --every-ms 0; give "
                           "--heartbeats, default 12)")
    demo.add_argument("--brief", action="store_true",
                      help="a three-line header (what runs, what happens, the settings) instead "
                           "of the Go source and the legend")
    demo.add_argument("--pprof", metavar="ADDR",
                      help="serve chanemu.pprof's debug endpoints (/debug/pprof/, "
                           "/debug/chanemu/chans) on ADDR, e.g. 127.0.0.1:6060, while the "
                           "program runs (best with the real clock)")
    demo.add_argument("--view", action="store_true",
                      help="serve the live view of every channel (/debug/chanemu/, pause and "
                           "step from the browser) on --pprof ADDR, default 127.0.0.1:6060")
    demo.add_argument("--plot", metavar="FILE",
                      help="write a PNG of the goroutine count and the process's RSS over clock "
                           "time, this program beside the leaking one (the leak: beside the "
                           "fixed one), which runs meanwhile in a subprocess; needs matplotlib "
                           "(pip install 'chanemu[plot]')")
    demo.add_argument("--timeline-out", metavar="FILE", help=argparse.SUPPRESS)


def run_cli(args, error):
    """Run the demo for parsed ``args``; ``error(message)`` reports a usage error (and exits)."""
    every = 0.0 if args.no_wait else args.every_ms / 1000
    duration = args.duration
    if duration is None and args.heartbeats is None and every > 0:
        duration = 3600.0 if args.clock == "virtual" else 6.0
    if duration is not None and every <= 0:
        error("leak-demo: --duration needs a heartbeat interval (not --no-wait or "
              "--every-ms 0): give --heartbeats")
    if args.plot is not None and not args.plot.strip():
        error("leak-demo: --plot needs a file name")
    if args.view:
        from chanemu import liveview
        args.pprof = liveview.cli_address(args.pprof)
    if args.pprof is not None and not _pprof_address_ok(args.pprof):
        return 2
    return main(heartbeats=args.heartbeats, every=every, variant=args.variant, clock=args.clock,
                duration=duration, brief=args.brief, pprof=args.pprof, plot=args.plot,
                timeline_out=args.timeline_out)


def _pprof_address_ok(addr):
    """--pprof ADDR: say in one line, before the program runs, why it cannot be served there."""
    from chanemu import pprof
    try:
        pprof.check_address(addr)
    except (ValueError, OSError) as e:
        why = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        print(f"chanemu leak-demo: --pprof {addr}: cannot serve there: {why}", file=sys.stderr)
        return False
    return True


def main(heartbeats=None, every=TICK, out=None, *, variant="leak", clock="real", duration=None,
         lines=None, brief=False, pprof=None, plot=None, timeline_out=None):
    """Print the header, run the program with ``chanemu.run`` and show what it left behind.

    ``variant`` is "leak" (the article's program), "fixed" or "ctx" (see ``VARIANTS``). Give
    either ``duration`` (seconds of clock time: ``duration // every`` heartbeats) or
    ``heartbeats`` (default 12). ``brief``: a three-line header instead of the full one.
    ``pprof``: an address ("127.0.0.1:6060") to serve chanemu.pprof's endpoints on while it runs.
    ``plot``: a PNG file to write the goroutine count and RSS over clock time to, this program
    beside the leaking one (or, for the leak, beside the fixed one), which runs meanwhile in a
    subprocess; needs matplotlib. ``timeline_out``: run quietly and write the timeline as JSON
    there instead of reporting (what that subprocess does). Returns the exit status, 0.
    """
    out = out or sys.stdout
    variant_of(variant)
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
        return timeline_only(heartbeats, every, variant, clock, timeline_out)
    if plot is not None:
        require_matplotlib()               # before the run, not after it
    if lines is None:
        lines = heartbeats <= LINE_EACH_UP_TO

    def write(s):
        out.write(s)
        out.flush()

    write(header(variant, heartbeats, every, clock, lines, brief))
    other = None
    if plot is not None:
        other = Companion("fixed" if variant == "leak" else "leak", heartbeats, every, clock)
        write(f"\n--plot: the {VARIANTS[other.variant].name} runs meanwhile in a subprocess, for the "
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
                  f"{' beside '.join(VARIANTS[v].name for v, _ in runs)}).\n")
    finally:
        if other is not None:
            other.close()
    return 0


def _served(addr, fn, write):
    """fn, run with chanemu.pprof's debug server on addr (--pprof), as the article's program
    serves net/http/pprof on :6060."""
    @_traceback.hide            # goroutine 1's stack starts at the program's main, not here
    def served(*args):
        from chanemu import pprof
        srv = pprof.serve(addr)
        write(f"pprof: serving {srv.url} while the program runs (goroutine?debug=1|2, "
              f"goroutineleak, /debug/chanemu/chans)\n")
        try:
            return fn(*args)
        finally:
            srv.close()
    return served
