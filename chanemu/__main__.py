"""The ``chanemu`` command line (also ``python -m chanemu``).

    python -m chanemu leak-demo [--fixed | --fixed-ctx] [--clock real|virtual]
                                [--duration D | --heartbeats N] [--every-ms MS | --no-wait]
                                [--pprof ADDR] [--plot FILE]
    python -m chanemu bench [--quick] [--json] [--plot FILE] [--load FILE]
                            [--impl c|python|both|none] [--peers LIST|none] [--only ITEMS]
"""
import argparse
import sys


def _positive_int(s):
    try:
        n = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {s!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {n}")
    return n


def _nonnegative_float(s):
    try:
        x = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {s!r}") from None
    if not x >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {s}")
    return x


def _duration(s):
    from .time import parse_duration
    try:
        d = parse_duration(s)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"{e} (examples: 24h, 1h30m, 90s, 500ms)") from None
    if d <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, not {s}")
    return d


def _parser():
    p = argparse.ArgumentParser(
        prog="chanemu",
        description="Go's channel runtime (hchan, sudog, gopark/goready) emulated in Python: "
                    "watch a goroutine leak happen inside the struct.",
        epilog="The active twin is the C extension; CHANEMU_IMPL=python selects the pure-Python "
               "one.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    demo = sub.add_parser(
        "leak-demo", help="run the goroutine-leak article's program and watch it leak",
        description="Runs the article's program on the emulated runtime: a channel of capacity 5 "
                    "whose receiver returned at once, and a heartbeat loop that starts a goroutine "
                    "each tick to print runtime.NumGoroutine() and send on the channel. Prints the "
                    "goroutine count and the channel's hchan as the leak grows (after every "
                    "heartbeat, or once per stretch of clock time in a long run), then the "
                    "grouped goroutine profile (chanemu.pprof), the first goroutines of the "
                    "dump, the channel (chanemu.inspect) and the detectors' verdicts: "
                    "chanemu.leak.Watch, which samples the profile while the program runs, and "
                    "Go 1.26's goroutineleak profile.")
    variant = demo.add_mutually_exclusive_group()
    variant.add_argument("--fixed", action="store_true",
                         help="apply the article's fix: don't send when flag is false")
    variant.add_argument("--fixed-ctx", action="store_true",
                         help="the fix a Go engineer would write today: the receiver and the "
                              "heartbeat senders select on ctx.Done(); cancelling the context at "
                              "the end releases every blocked sender")
    demo.add_argument("--clock", choices=("real", "virtual"), default="real",
                      help="real: heartbeats take wall time; virtual: a fake clock (Go's "
                           "synctest) that jumps to the next timer, so --duration 24h runs a day "
                           "of heartbeats in seconds (default: real)")
    length = demo.add_mutually_exclusive_group()
    length.add_argument("--duration", type=_duration, metavar="D",
                        help="how long the program runs, in clock time, as Go writes durations: "
                             "24h, 1h, 90s, 500ms (default: 6s on the real clock, 1h on the "
                             "virtual one)")
    length.add_argument("--heartbeats", type=_positive_int, metavar="N",
                        help="number of heartbeats instead of a duration")
    wait = demo.add_mutually_exclusive_group()
    wait.add_argument("--every-ms", type=_nonnegative_float, default=500.0, metavar="MS",
                      help="the heartbeat's time.Sleep, in milliseconds of clock time (default: "
                           "500, the article's)")
    wait.add_argument("--no-wait", action="store_true",
                      help="no sleep between heartbeats (same as --every-ms 0; give "
                           "--heartbeats, default 12)")

    demo.add_argument("--pprof", metavar="ADDR",
                      help="serve chanemu.pprof's debug endpoints (/debug/pprof/, "
                           "/debug/chanemu/chans) on ADDR, e.g. 127.0.0.1:6060, while the "
                           "program runs (best with the real clock)")
    demo.add_argument("--plot", metavar="FILE",
                      help="write a PNG of the goroutine count and the process's RSS over clock "
                           "time, this program beside the leaking one (the leak: beside the "
                           "fixed one), which runs meanwhile in a subprocess; needs matplotlib "
                           "(pip install 'chanemu[plot]')")
    demo.add_argument("--timeline-out", metavar="FILE", help=argparse.SUPPRESS)

    from . import _bench
    bench = sub.add_parser(
        "bench", help="benchmarks: W1-W6 and Go's channel benchmarks on chanemu, the Python "
                 "peers and Go, in one run",
        description=_bench.DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    _bench.add_arguments(bench)
    return p


def _pprof_address_ok(addr):
    """--pprof ADDR: say in one line, before the program runs, why it cannot be served there."""
    from . import pprof
    try:
        pprof.check_address(addr)
    except (ValueError, OSError) as e:
        why = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        print(f"chanemu leak-demo: --pprof {addr}: cannot serve there: {why}", file=sys.stderr)
        return False
    return True


def main(argv=None):
    """Console entry point (``chanemu``); returns the exit status."""
    args = _parser().parse_args(argv)
    if args.command == "leak-demo":
        from . import leakdemo
        every = 0.0 if args.no_wait else args.every_ms / 1000
        duration = args.duration
        if duration is None and args.heartbeats is None and every > 0:
            duration = 3600.0 if args.clock == "virtual" else 6.0
        if duration is not None and every <= 0:
            _parser().error("leak-demo: --duration needs a heartbeat interval (not --no-wait or "
                            "--every-ms 0): give --heartbeats")
        variant = "ctx" if args.fixed_ctx else "fixed" if args.fixed else "leak"
        if args.plot is not None and not args.plot.strip():
            _parser().error("leak-demo: --plot needs a file name")
        if args.pprof is not None and not _pprof_address_ok(args.pprof):
            return 2
        return leakdemo.main(heartbeats=args.heartbeats, every=every, variant=variant,
                             clock=args.clock, duration=duration, pprof=args.pprof,
                             plot=args.plot, timeline_out=args.timeline_out)
    if args.command == "bench":
        from . import _bench
        return _bench.run_cli(args)
    raise AssertionError(args.command)   # argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
