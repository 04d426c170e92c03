"""The ``chanemu`` command line (also ``python -m chanemu``).

    python -m chanemu leak-demo [--fixed | --fixed-ctx] [--clock real|virtual]
                                [--duration D | --heartbeats N] [--every-ms MS | --no-wait]
                                [--brief] [--pprof ADDR] [--plot FILE]
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

    from . import leakdemo
    demo = sub.add_parser(
        "leak-demo", help="run the goroutine-leak article's program and watch it leak",
        description=leakdemo.cli.DESCRIPTION)
    leakdemo.cli.add_arguments(demo, _duration, _positive_int, _nonnegative_float)

    from . import _bench
    bench = sub.add_parser(
        "bench", help="benchmarks: W1-W6 and Go's channel benchmarks on chanemu, the Python "
                 "peers and Go, in one run",
        description=_bench.DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    _bench.add_arguments(bench)
    return p


def main(argv=None):
    """Console entry point (``chanemu``); returns the exit status."""
    args = _parser().parse_args(argv)
    if args.command == "leak-demo":
        from . import leakdemo
        return leakdemo.cli.run_cli(args, _parser().error)
    if args.command == "bench":
        from . import _bench
        return _bench.run_cli(args)
    raise AssertionError(args.command)   # argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
