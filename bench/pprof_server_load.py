#!/usr/bin/env python3
"""What a burst of scrapes costs a busy program: the debug server under 400 concurrent requests.

    python bench/pprof_server_load.py [--impl c|python|both] [--reps 5] [--requests 400]
                                      [--parked 5000] [--bursts 1]

The scenario of tests/test_pprof_load.py: a program with 5,000 parked goroutines whose main
goroutine ping-pongs with a partner over an unbuffered channel serves the debug server; another
process opens every connection at once (debug=1, debug=2, proto and /debug/chanemu/chans, a
quarter each). Each repetition prints the program's pace (round trips per second) unscraped
(before and after, averaged), its pace while scraped as a share of that, how long the burst
took and how many requests were answered with 200.

The control: the same burst against a server in another process (at the debug server's
priority) that answers with the same bytes without asking the program anything. On a small
machine the scraper's and the server's processes take cores from the program whatever the
server does; the control's figure is that cost alone, so the gap between the two is what
chanemu's server costs. The direct figure is printed too: the time the program's process spent
answering snapshots, as a share of the burst (--bursts N: N bursts one after the other, a
period long enough for the snapshots' duty cycle to show). The ratios are taken within one
repetition, so a machine whose load changes between repetitions moves both figures together;
the spread over the repetitions is printed at the end. Timings are wall clock: say how loaded
the machine was.
"""
import argparse
import os
import statistics
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
try:
    import chanemu  # noqa: F401
except ImportError:
    sys.path.insert(0, _ROOT)
import chanemu

sys.path.insert(0, os.path.join(_ROOT, "tests"))
import test_pprof_load  # noqa: E402  (the scenario is the test's)


def one(requests, parked, bursts):
    r = test_pprof_load.load(chanemu, parked=parked, requests=requests, control=True,
                             bursts=bursts)
    statuses = [st for st, _ in r["results"]]
    return {"quiet": r["quiet_rate"], "busy": r["busy_rate"],
            "ratio": r["busy_rate"] / r["quiet_rate"], "took": r["took"],
            "last": max(t for _, t in r["results"]), "ok": statuses.count(200),
            "n": len(statuses), "snaps": r["snapshots"], "snap_s": r["snapshot_seconds"],
            "server_cpu": r["server_cpu"], "control": r["control_rate"] / r["quiet_rate"],
            "share": r["busy_share"], "share0": r["quiet_share"]}


def run(impl, reps, requests, parked, bursts):
    chanemu._set_impl(impl)
    print(f"{chanemu.IMPL}: {parked} parked goroutines, {bursts} x {requests} concurrent "
          f"requests")
    rows = []
    for i in range(reps):
        f = one(requests, parked, bursts)
        rows.append(f)
        print(f"  rep {i + 1}: unscraped {f['quiet']:8.0f} round trips/s; scraped "
              f"{f['ratio']:6.1%} of that, against the control {f['control']:6.1%}; "
              f"{f['ok']}/{f['n']} answered 200, the last after {f['last']:.2f} s", flush=True)
        print(f"         {f['snaps']} snapshots took {f['snap_s'] * 1000:.0f} ms "
              f"({f['snap_s'] / f['took']:.1%}) of the {f['took']:.2f} s scraped; the program's "
              f"thread had a core {f['share']:.0%} of the time ({f['share0']:.0%} unscraped); "
              f"the server's process used {f['server_cpu'] or 0:.2f} s of CPU", flush=True)
    for what, key in (("scraped / unscraped", "ratio"), ("control / unscraped", "control"),
                      ("snapshot time / scraped", None)):
        xs = [r[key] if key else r["snap_s"] / r["took"] for r in rows]
        print(f"  {what}: median {statistics.median(xs):.1%}, min {min(xs):.1%}, "
              f"max {max(xs):.1%}")
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--impl", choices=("c", "python", "both"), default="both")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--parked", type=int, default=5000)
    ap.add_argument("--bursts", type=int, default=1,
                    help="bursts one after the other while scraped (a longer period shows the "
                         "snapshots' duty cycle)")
    a = ap.parse_args(argv)
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}, "
          f"{os.cpu_count()} cores")
    for impl in (("c", "python") if a.impl == "both" else (a.impl,)):
        run(impl, a.reps, a.requests, a.parked, a.bursts)


if __name__ == "__main__":
    main()
