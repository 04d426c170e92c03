"""The ``chanemu`` command line (also ``python -m chanemu``).

    python -m chanemu leak-demo [--fixed] [--heartbeats N] [--every-ms MS | --no-wait]
    python -m chanemu bench [--quick] [--json] [--impl c|python|both] [--only W1,W2,...]
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
                    "goroutine count and the channel's hchan after every heartbeat, then the "
                    "channel (chanemu.inspect) and the goroutine dump, grouped.")
    demo.add_argument("--fixed", action="store_true",
                      help="apply the article's fix: don't send when flag is false")
    demo.add_argument("--heartbeats", type=_positive_int, default=12, metavar="N",
                      help="number of heartbeats (default: 12)")
    wait = demo.add_mutually_exclusive_group()
    wait.add_argument("--every-ms", type=_nonnegative_float, default=100.0, metavar="MS",
                      help="wall-clock milliseconds between heartbeats (default: 100; the "
                           "article's program uses 500)")
    wait.add_argument("--no-wait", action="store_true",
                      help="no wait between heartbeats (same as --every-ms 0)")

    from . import _bench
    bench = sub.add_parser(
        "bench", help="microbenchmarks W1-W6 of both twins, against the targets",
        description=_bench.DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    _bench.add_arguments(bench)
    return p


def main(argv=None):
    """Console entry point (``chanemu``); returns the exit status."""
    args = _parser().parse_args(argv)
    if args.command == "leak-demo":
        from . import leakdemo
        every = 0.0 if args.no_wait else args.every_ms / 1000
        return leakdemo.main(heartbeats=args.heartbeats, every=every, fixed=args.fixed)
    if args.command == "bench":
        from . import _bench
        return _bench.run_cli(args)
    raise AssertionError(args.command)   # argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
