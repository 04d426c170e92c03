"""The ``chanemu`` command line (also ``python -m chanemu``).

    python -m chanemu run [--clock real|virtual] [--seed N] [--pprof ADDR] [--view] [--trace FILE]
                          FILE [ARGS...]
    python -m chanemu leak-demo [--fixed | --fixed-ctx] [--clock real|virtual]
                                [--duration D | --heartbeats N] [--every-ms MS | --no-wait]
                                [--brief] [--pprof ADDR] [--view] [--plot FILE]
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
    return d.seconds()      # the CLI works in seconds


def _parser():
    p = argparse.ArgumentParser(
        prog="chanemu",
        description="Go's channel runtime (hchan, sudog, gopark/goready) emulated in Python: "
                    "watch a goroutine leak happen inside the struct.",
        epilog="The active twin is the C extension; CHANEMU_IMPL=python selects the pure-Python "
               "one.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    _add_run(sub)
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


def _seed(s):
    for base in (10, 0):            # 0: also 0x2a, as Go's strconv.ParseInt(s, 0, 64)
        try:
            return int(s, base)
        except ValueError:
            pass
    raise argparse.ArgumentTypeError(f"not a whole number: {s!r}")


def _add_run(sub):
    run = sub.add_parser(
        "run", help="run a program's main() as `go run` runs package main",
        description="Loads FILE as __main__ (sys.argv = [FILE, ARGS...]) and runs its main() as "
                    "goroutine 1, ending as a Go binary ends: status 0 when main returns "
                    "(goroutines still parked are discarded); 2 with `panic: VALUE` and the "
                    "goroutine trace on stderr for an uncaught panic or exception; 2 with "
                    "`fatal error: ...` and every goroutine's stack for a deadlock or another "
                    "fatal error; sys.exit(n) in any goroutine exits with n. GOTRACEBACK=none, "
                    "single (default), all or system decides how much trace is printed "
                    "(system: chanemu's runtime frames too).",
        epilog="FILE may call chanemu.main(main) itself under `if __name__ == \"__main__\":` "
               "(it then runs with these options); otherwise its main() is run after the "
               "module body.")
    run.add_argument("--clock", choices=("real", "virtual"), default=None,
                     help="real (default), or a fake clock that jumps to the next timer when "
                          "every goroutine is blocked (Go's synctest)")
    run.add_argument("--seed", type=_seed, metavar="N",
                     help="seed select's random choices and the scheduler: the same N gives "
                          "the same run")
    run.add_argument("--pprof", metavar="ADDR",
                     help="serve chanemu.pprof's debug endpoints on ADDR (e.g. "
                          "127.0.0.1:6060) while the program runs")
    run.add_argument("--view", action="store_true",
                     help="serve the live view of every channel (/debug/chanemu/, pause and step "
                          "from the browser) on --pprof ADDR, default 127.0.0.1:6060")
    run.add_argument("--trace", metavar="FILE",
                     help="record the program to a Chrome/Perfetto trace file (chanemu.trace)")
    run.add_argument("file", metavar="FILE", help="the program: a Python file with a main()")
    run.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS",
                     help="the program's arguments (its sys.argv[1:])")


def main(argv=None):
    """Console entry point (``chanemu``); returns the exit status."""
    args = _parser().parse_args(argv)
    if args.command == "run":
        from . import _gorun
        if args.view:
            from . import liveview
            args.pprof = liveview.cli_address(args.pprof, file=sys.stderr)
        opts = _gorun.CliOptions(clock=args.clock, seed=args.seed, pprof=args.pprof,
                                 trace=args.trace)
        return _gorun.run_file(args.file, args.args, opts)
    if args.command == "leak-demo":
        from . import leakdemo
        return leakdemo.cli.run_cli(args, _parser().error)
    if args.command == "bench":
        from . import _bench
        return _bench.run_cli(args)
    raise AssertionError(args.command)   # argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
