"""Microbenchmarks: the cross-library workloads of bench/WORKLOADS.md on chanemu's two twins.

Each workload function runs one repetition inside ``chanemu.run`` on the active twin and returns
nanoseconds per operation, timed inside the program: the clock starts just before the goroutines
are spawned and stops after all are joined. ``measure()`` applies the protocol of WORKLOADS.md:
calibrate n so that one repetition takes about 0.3 s, run one warm-up, then 5 repetitions, each
after ``gc.collect()``, and report the median and the min-max.

``run_cli()`` (``python -m chanemu bench``) measures each twin in a subprocess of its own
(``CHANEMU_IMPL=c`` / ``python``) so they do not disturb each other, W5 in a fresh process per
repetition, and prints a table against the targets. Nothing here is a test: the suite only runs
each workload once with a tiny n (tests/test_bench_smoke.py) so this code cannot rot.
"""
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import chanemu

DESCRIPTION = """\
Runs the cross-library workloads (shared bench/WORKLOADS.md) on both twins, each twin in its own
subprocess, and prints median ns per operation (min-max) against the targets:

  W1 buffered_nonblocking  one goroutine, capacity 128: send(i) then recv(); ns per pair
  W2 pingpong_unbuffered   two goroutines, two unbuffered channels; ns per round trip
  W3 prodcons_buffered     one producer, one consumer, capacity 100; ns per item
  W4 select2               2-way select over two unbuffered channels; ns per item
                           (skipped on a twin without chanemu.select)
  W5 spawn_blocked         fresh process: 100,000 goroutines each parked sending on one unbuffered
                           channel (the article's leak); ns per spawn-and-block, RSS bytes each
  W6 fanin                 8 producers, one consumer, capacity 64; ns per item
  floor                    a bare pair of greenlet switches, W2's floor, measured in the same run

n is calibrated so one repetition takes about 0.3 s; one warm-up, then 5 repetitions after
gc.collect(). Absolute numbers drift between runs and machines: compare within one run.
"""

REP_SECONDS = 0.3        # one repetition, after calibration
REPS = 5
QUICK_REP_SECONDS = 0.1
QUICK_REPS = 3
W5_N = 100_000

# Targets of issue 2, for the C twin (ns per op; W5 also bytes per blocked goroutine).
TARGETS = {"W1": 45, "W2": 450, "W3": 70, "W5": 5000, "W5_bytes": 6000, "W6": 80,
           "W2_ratio": 1.4}
# Go 1.19, GOMAXPROCS=1, on this project's kind of machine (WORKLOADS.md): for orientation only.
GO_1P = {"W1": 33, "W2": 204, "W3": 32, "W4": 150, "W5": 1561, "W5_bytes": 2687, "W6": 33}


# -- the workloads (one repetition each, on the active twin) --------------------------------

def buffered_nonblocking(n):
    """W1: one goroutine, a channel of capacity 128: send(i) then recv(); ns per pair."""
    def main():
        c = chanemu.Chan(128)
        send, recv = c.send, c.recv
        t0 = time.perf_counter_ns()
        for i in range(n):
            send(i)
            recv()
        return time.perf_counter_ns() - t0
    return chanemu.run(main) / n


def pingpong_unbuffered(n):
    """W2: T1 ``a.send(i); b.recv()``, T2 ``b.send(a.recv())``; ns per round trip."""
    def main():
        a, b, done = chanemu.Chan(), chanemu.Chan(), chanemu.Chan(1)

        def t2():
            arecv, bsend = a.recv, b.send
            for _ in range(n):
                bsend(arecv())
            done.send(True)

        t0 = time.perf_counter_ns()
        chanemu.go(t2)
        asend, brecv = a.send, b.recv
        for i in range(n):
            asend(i)
            brecv()
        done.recv()
        return time.perf_counter_ns() - t0
    return chanemu.run(main) / n


def prodcons_buffered(n):
    """W3: one producer sends n ints into capacity 100, one consumer receives n; ns per item."""
    def main():
        c, done = chanemu.Chan(100), chanemu.Chan(2)

        def producer():
            send = c.send
            for i in range(n):
                send(i)
            done.send(True)

        def consumer():
            recv = c.recv
            for _ in range(n):
                recv()
            done.send(True)

        t0 = time.perf_counter_ns()
        chanemu.go(producer)
        chanemu.go(consumer)
        done.recv()
        done.recv()
        return time.perf_counter_ns() - t0
    return chanemu.run(main) / n


def select2(n):
    """W4: a producer alternates sends on unbuffered x and y; the consumer does n 2-way selects
    receiving from either; ns per item. Needs ``chanemu.select``."""
    select, recv = chanemu.select, chanemu.recv

    def main():
        x, y, done = chanemu.Chan(), chanemu.Chan(), chanemu.Chan(2)

        def producer():
            xsend, ysend = x.send, y.send
            for i in range(n):
                if i & 1:
                    ysend(i)
                else:
                    xsend(i)
            done.send(True)

        def consumer():
            cases = (recv(x), recv(y))
            for _ in range(n):
                select(*cases)
            done.send(True)

        t0 = time.perf_counter_ns()
        chanemu.go(producer)
        chanemu.go(consumer)
        done.recv()
        done.recv()
        return time.perf_counter_ns() - t0
    return chanemu.run(main) / n


def fanin(n):
    """W6: 8 producers each send n/8 into one channel of capacity 64, one consumer; ns per item."""
    per = max(1, n // 8)
    total = 8 * per

    def main():
        c, done = chanemu.Chan(64), chanemu.Chan(9)

        def producer():
            send = c.send
            for i in range(per):
                send(i)
            done.send(True)

        def consumer():
            recv = c.recv
            for _ in range(total):
                recv()
            done.send(True)

        t0 = time.perf_counter_ns()
        for _ in range(8):
            chanemu.go(producer)
        chanemu.go(consumer)
        for _ in range(9):
            done.recv()
        return time.perf_counter_ns() - t0
    return chanemu.run(main) / total


def spawn_blocked(n, out=None):
    """W5: spawn n goroutines that each park forever sending on one unbuffered channel nobody
    reads (the article's leak); ns per spawn-and-block. Meant for a fresh process: ``out`` (a
    dict) gets ``bytes``, the growth of VmRSS over n, and ``blocked``, the length of sendq."""
    def main():
        c = chanemu.Chan()
        send = c.send
        go = chanemu.go
        gc.collect()
        rss0 = _rss()
        t0 = time.perf_counter_ns()
        for i in range(n):
            go(send, i)
        chanemu.runtime.gosched()     # every goroutine runs until it parks, then main resumes
        ns = time.perf_counter_ns() - t0
        if out is not None:
            out["bytes"] = (_rss() - rss0) / n if rss0 else None
            out["blocked"] = len(c.hchan.sendq)
        return ns
    return chanemu.run(main) / n


def greenlet_switch_pair(n):
    """The floor of W2: a bare pair of greenlet switches (there and back), no runtime at all."""
    import greenlet
    main = greenlet.getcurrent()

    def body():
        back = main.switch
        while True:
            back()

    there = greenlet.greenlet(body).switch
    t0 = time.perf_counter_ns()
    for _ in range(n):
        there()
    return (time.perf_counter_ns() - t0) / n


def _rss():
    """VmRSS of this process in bytes (0 where /proc is missing)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


#: (id, name, function, unit) of every workload, in table order. "floor" is not a workload.
WORKLOADS = (
    ("W1", "buffered_nonblocking", buffered_nonblocking, "ns/pair"),
    ("W2", "pingpong_unbuffered", pingpong_unbuffered, "ns/round trip"),
    ("W3", "prodcons_buffered", prodcons_buffered, "ns/item"),
    ("W4", "select2", select2, "ns/item"),
    ("W5", "spawn_blocked", spawn_blocked, "ns/goroutine"),
    ("W6", "fanin", fanin, "ns/item"),
    ("floor", "greenlet_switch_pair", greenlet_switch_pair, "ns/pair"),
)
_BY_ID = {w[0]: w for w in WORKLOADS}


def has_select():
    """Whether the active twin has ``select`` (W4 needs it)."""
    return hasattr(chanemu, "select") and hasattr(chanemu, "recv")


# -- measuring ------------------------------------------------------------------------------

def calibrate(fn, seconds):
    """The n for which one repetition of fn takes about ``seconds``."""
    n = 1000
    while True:
        took = fn(n) * n / 1e9
        if took >= seconds / 10:
            return max(1, round(n * seconds / took))
        n *= 10 if took < seconds / 100 else 4


def measure(fn, quick=False):
    """WORKLOADS.md's protocol: calibrate, one warm-up, then the repetitions after gc.collect()."""
    seconds, reps = (QUICK_REP_SECONDS, QUICK_REPS) if quick else (REP_SECONDS, REPS)
    n = calibrate(fn, seconds)
    fn(n)                                   # warm-up
    xs = []
    for _ in range(reps):
        gc.collect()
        xs.append(fn(n))
    return _stats(xs, n=n)


def _stats(xs, **extra):
    return dict(median=statistics.median(xs), min=min(xs), max=max(xs), reps=len(xs), **extra)


def _suite(ids, quick):
    """In-process measurements of the active twin (everything but W5, which needs fresh
    processes); progress goes to stderr."""
    out = {}
    for wid in ids:
        if wid == "W5":
            continue
        _, name, fn, _unit = _BY_ID[wid]
        if wid == "W4" and not has_select():
            out[wid] = {"skipped": "this twin has no chanemu.select"}
            continue
        print(f"  {chanemu.IMPL:>6} {wid} {name} ...", file=sys.stderr, flush=True)
        out[wid] = measure(fn, quick)
    return out


def _child_env(impl):
    # the children import the same chanemu as this process, wherever it came from
    root = os.path.dirname(os.path.dirname(os.path.abspath(chanemu.__file__)))
    path = os.environ.get("PYTHONPATH")
    return dict(os.environ, CHANEMU_IMPL=impl,
                PYTHONPATH=root + (os.pathsep + path if path else ""))


def _child(impl, args, progress=False, timeout=900):
    """Run ``python -m chanemu._bench ARGS`` with the given twin and return the JSON it prints.

    With ``progress`` its stderr (progress lines, a traceback) passes through."""
    p = subprocess.run([sys.executable, "-m", "chanemu._bench", *args], env=_child_env(impl),
                       stdout=subprocess.PIPE, stderr=None if progress else subprocess.PIPE,
                       text=True, timeout=timeout)
    try:
        out = json.loads(p.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        out = {"error": f"exit status {p.returncode}, no result"}
    if p.returncode != 0 or "error" in out:
        raise RuntimeError(f"the {impl} benchmark process failed: {out.get('error')}")
    return out


def _available(impl):
    try:
        chanemu._import_core(impl)
        return None
    except ImportError as e:
        return f"not available: {e}"


def _measure_w5(impl, reps):
    ns, size = [], []
    for rep in range(reps):
        print(f"  {impl:>6} W5 spawn_blocked, fresh process {rep + 1} of {reps} ...",
              file=sys.stderr, flush=True)
        x = _child(impl, ["--w5", str(W5_N)])
        ns.append(x["ns"])
        if x["bytes"] is not None:
            size.append(x["bytes"])
    return (_stats(ns, n=W5_N),
            _stats(size, n=W5_N) if size else {"skipped": "no /proc/self/status"})


def _measure_impl(impl, ids, quick):
    suite = [i for i in ids if i != "W5"]
    r = {}
    if suite:
        r = _child(impl, ["--child", ",".join(suite)] + (["--quick"] if quick else []),
                   progress=True)
    if "W5" in ids:
        try:
            r["W5"], r["W5_bytes"] = _measure_w5(impl, QUICK_REPS if quick else REPS)
        except (RuntimeError, ValueError, IndexError, subprocess.TimeoutExpired) as e:
            r["W5"] = {"error": str(e)}
    return r


def collect(impls, ids, quick):
    """Measure the twins, each in subprocesses of its own; returns a JSON-ready dict."""
    import greenlet
    res = {"python": platform.python_version(), "greenlet": greenlet.__version__,
           "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
           "protocol": {"rep_seconds": QUICK_REP_SECONDS if quick else REP_SECONDS,
                        "reps": QUICK_REPS if quick else REPS, "warmup": 1, "w5_n": W5_N},
           "targets": TARGETS, "go_gomaxprocs1": GO_1P, "impls": {}}
    for impl in impls:
        why = _available(impl)
        if why:
            res["impls"][impl] = {"error": why}
            continue
        try:
            r = _measure_impl(impl, ids, quick)
        except (RuntimeError, ValueError, IndexError, subprocess.TimeoutExpired) as e:
            r = {"error": str(e)}
        if "W2" in r and "floor" in r and "median" in r["W2"]:
            r["W2_ratio"] = r["W2"]["median"] / r["floor"]["median"]
        res["impls"][impl] = r
    return res


# -- the table ------------------------------------------------------------------------------

_IMPL_NAMES = {"c": "C extension", "python": "Python twin"}


def _cell(r, key):
    x = r.get(key) if isinstance(r, dict) else None
    if x is None:
        return ""
    if isinstance(x, float):                 # a ratio
        return f"{x:.2f}x"
    if "skipped" in x:
        return "skipped"
    if "error" in x:
        return "failed"
    return f"{x['median']:,.0f} ({x['min']:,.0f}-{x['max']:,.0f})"


def format_table(res):
    impls = list(res["impls"])
    rows = []
    for wid, name, _fn, unit in WORKLOADS:
        if wid == "floor":
            continue
        rows.append((f"{wid} {name}", unit, wid))
        if wid == "W2":
            rows.append(("   W2 / greenlet floor", "ratio", "W2_ratio"))
        if wid == "W5":
            rows.append(("   W5 memory", "bytes/goroutine", "W5_bytes"))
    rows.append(("floor: greenlet switch pair", "ns/pair", "floor"))
    rows = [r for r in rows if any(r[2] in res["impls"][i] for i in impls)]

    head = ["workload", "unit"] + [f"{_IMPL_NAMES.get(i, i)} median (min-max)" for i in impls]
    head += ["target (C)", "Go 1.19, 1 P"]
    body = []
    for label, unit, key in rows:
        t = TARGETS.get(key)
        target = "" if t is None else (f"<= {t}x" if key == "W2_ratio" else f"<= {t:,}")
        go = GO_1P.get(key)
        body.append([label, unit] + [_cell(res["impls"][i], key) for i in impls]
                    + [target, "" if go is None else f"{go:,}"])
    widths = [max(len(r[k]) for r in [head] + body) for k in range(len(head))]

    def line(cells):
        return "  ".join(c.ljust(w) if k < 2 else c.rjust(w)
                         for k, (c, w) in enumerate(zip(cells, widths))).rstrip()

    p = res["protocol"]
    w5 = (f" (W5: {p['reps']} fresh processes of {p['w5_n']:,} goroutines)"
          if any("W5" in res["impls"][i] for i in impls) else "")
    out = [f"chanemu bench: Python {res['python']}, greenlet {res['greenlet']}, {res['machine']}",
           f"median of {p['reps']} repetitions of ~{p['rep_seconds']} s after one warm-up{w5}", "",
           line(head), line(["-" * w for w in widths])]
    out += [line(r) for r in body]
    notes = []
    for i in impls:
        r = res["impls"][i]
        if "error" in r:
            notes.append(f"{_IMPL_NAMES.get(i, i)}: {r['error']}")
        for wid, x in r.items():
            if isinstance(x, dict) and "skipped" in x:
                notes.append(f"{wid} skipped: {x['skipped']}")
            elif isinstance(x, dict) and "error" in x:
                notes.append(f"{wid} on the {_IMPL_NAMES.get(i, i)}: {x['error']}")
    out += [""] + [f"note: {n}" for n in dict.fromkeys(notes)]
    out.append("Targets are issue 2's, for the C extension. The Go column was measured on this\n"
               "project's kind of machine (WORKLOADS.md), not in this run: it is there for scale.")
    return "\n".join(out)


# -- command line ---------------------------------------------------------------------------

def add_arguments(p):
    p.add_argument("--quick", action="store_true",
                   help=f"{QUICK_REPS} repetitions of ~{QUICK_REP_SECONDS} s instead of {REPS} "
                        f"of ~{REP_SECONDS} s")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--impl", choices=("c", "python", "both"), default="both",
                   help="which twin to measure (default: both)")
    p.add_argument("--only", metavar="IDS", type=_parse_ids, default=None,
                   help="comma-separated workload ids to run, e.g. W1,W2 (default: all, and the "
                        "floor)")


def _parse_ids(s):
    ids = [x.strip() for x in s.split(",") if x.strip()]
    bad = [x for x in ids if x not in _BY_ID]
    if bad or not ids:
        import argparse
        raise argparse.ArgumentTypeError(f"unknown workload {', '.join(bad) or s!r}; choose from "
                                         f"{', '.join(_BY_ID)}")
    return ids


def run_cli(args):
    """``python -m chanemu bench``; returns the exit status."""
    ids = args.only or list(_BY_ID)
    if "W2" in ids and "floor" not in ids:
        ids.append("floor")                  # W2's ratio needs it, measured in the same run
    impls = ["c", "python"] if args.impl == "both" else [args.impl]
    print("chanemu bench: measuring, a minute or so (progress below) ...",
          file=sys.stderr, flush=True)
    res = collect(impls, ids, args.quick)
    print(json.dumps(res, indent=2) if args.json else format_table(res))
    return 0 if any("error" not in r for r in res["impls"].values()) else 1


def _main(argv):
    """The measuring subprocesses: ``--child IDS [--quick]`` and ``--w5 N``; JSON on stdout."""
    try:
        if argv[:1] == ["--w5"]:
            n = int(argv[1])
            out = {}
            out["ns"] = spawn_blocked(n, out)
            if out["blocked"] != n:
                raise AssertionError(f"W5: {out['blocked']} goroutines in sendq, not {n}")
        elif argv[:1] == ["--child"]:
            out = _suite(argv[1].split(","), "--quick" in argv)
        else:
            raise SystemExit("usage: python -m chanemu bench (this module is its worker)")
    except Exception as e:
        import traceback
        traceback.print_exc()
        notes = "".join(f" ({n})" for n in getattr(e, "__notes__", ()))
        print(json.dumps({"error": f"{type(e).__name__}: {e}{notes}"}))
        return 1
    out["impl"] = chanemu.IMPL
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
