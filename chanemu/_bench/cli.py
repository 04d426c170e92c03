"""``python -m chanemu bench``: measure every library, each in subprocesses of its own.

The parent process measures nothing. It starts ``python -m chanemu._bench suite LIB ITEMS`` once per
library and suite (chanemu's twins with ``CHANEMU_IMPL`` set, then each installed peer), one fresh
``python -m chanemu._bench w5 LIB N`` process per W5 repetition, and the Go binaries built from
bench/go/; it gathers their JSON into one result (report.py) and prints the table, or the JSON.
"""
import json
import os
import platform
import subprocess
import sys
import time

import chanemu

from . import _measure, golang, gobench, peers, report

DESCRIPTION = """\
Measures, in one run, chanemu's two twins, the installed Python peers (gevent, asyncio, trio, anyio,
threads with queue.Queue) and Go itself (bench/go/, when go is on PATH, with GOMAXPROCS=1 and 2):

  W1 buffered_nonblocking  one task, capacity 128: send(i) then recv(); ns per pair
  W2 pingpong_unbuffered   two tasks, two unbuffered channels; ns per round trip
                           (+ a bare greenlet switch pair, W2's floor)
  W3 prodcons_buffered     one producer, one consumer, capacity 100; ns per item
  W4 select2               2-way select receive over two unbuffered channels; ns per item
                           (chanemu and Go only: the peers have no select)
  W5 spawn_blocked         fresh process: 100,000 tasks (threads: 10,000) each blocked sending on
                           one unbuffered channel; ns per spawn-and-block, RSS bytes per task
  W6 fanin                 8 producers, one consumer, capacity 64; ns per item

and Go's channel benchmarks under Go's names, on chanemu's twins (their GOMAXPROCS=1 shapes) and
on Go (run in place from the toolchain's runtime package): MakeChan/Int, MakeChan/Ptr, ChanNonblocking, SelectUncontended,
SelectNonblock, ChanUncontended, ChanSync, ChanProdCons0/10/100, SelectProdCons,
ReceiveDataFromClosedChan, ChanCreation, ChanSem, ChanPopular, ChanClosed; ns/op as Go defines the op.

Each row: median ns per op (min-max), its ratio to Go GOMAXPROCS=1 and to the fastest Python peer.
n is calibrated so one repetition takes ~0.3 s; one warm-up, then 5 repetitions after gc.collect().
A full run takes about 10 minutes, --quick about one (its target verdicts are only indicative).
Compare ratios within one run. bench/README.md defines the workloads and the speed targets.
"""

W5_N, W5_N_QUICK = 100_000, 10_000
W5_N_THREADS, W5_N_THREADS_QUICK = 10_000, 2_000

ALL_LIBS = ["c", "c-stack", "python"] + peers.NAMES + ["go"]
#: chanemu's libraries: the C twin on each switch backend, and the pure-Python twin
TWIN_LIBS = ("c", "c-stack", "python")


def add_arguments(p):
    p.add_argument("--quick", action="store_true",
                   help=f"{_measure.QUICK_REPS} repetitions of ~{_measure.QUICK_REP_SECONDS} s "
                        f"instead of {_measure.REPS} of ~{_measure.REP_SECONDS} s, and W5 with "
                        f"{W5_N_QUICK:,} tasks: about a minute")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--plot", metavar="FILE",
                   help="also write a log-scale bar chart of the medians to FILE (.png, .svg, "
                        ".pdf; needs matplotlib)")
    p.add_argument("--impl", choices=("c", "python", "both", "none"), default="both",
                   help="which chanemu twins to measure (default: both)")
    p.add_argument("--switch", choices=("greenlet", "stack", "both"), default="both",
                   help="the C twin's switch backends to measure (CHANEMU_SWITCH): greenlet, "
                        "stack, or both (default; stack where this platform has it)")
    p.add_argument("--peers", metavar="LIST", type=_parse_peers, default=None,
                   help=f"comma-separated peers to measure, or none (default: every installed "
                        f"one of {', '.join(peers.NAMES)}, go)")
    p.add_argument("--only", metavar="ITEMS", type=_parse_items, default=None,
                   help="comma-separated workloads or Go benchmark names, e.g. W1,W2,ChanSync; "
                        "'workloads' is W1-W6, 'go' every Go benchmark name (default: all)")
    p.add_argument("--go-dir", metavar="DIR", default=None,
                   help="the bench/go directory with the Go twins (default: the source tree's)")
    p.add_argument("--wide", action="store_true",
                   help="keep every column of the table (min-max, the full reasons for n/a) "
                        "even if it is wider than 100 columns")
    p.add_argument("--markdown", action="store_true",
                   help="print the medians as Markdown tables, one column per library (for a "
                        "README) instead of the terminal table")
    p.add_argument("--load", metavar="FILE",
                   help="measure nothing: print the table (or --plot) of a result saved with "
                        "--json")


def _parse_peers(s):
    import argparse
    names = [x.strip() for x in s.split(",") if x.strip()]
    if names == ["none"]:
        return []
    bad = [x for x in names if x not in peers.NAMES + ["go"]]
    if bad or not names:
        raise argparse.ArgumentTypeError(f"unknown peer {', '.join(bad) or s!r}; choose from "
                                         f"{', '.join(peers.NAMES + ['go'])}, or none")
    return names


def _parse_items(s):
    import argparse
    out = []
    for x in (t.strip() for t in s.split(",")):
        if not x:
            continue
        if x == "workloads":
            out += ["W1", "W2", "W3", "W4", "W5", "W6"]
        elif x == "go":
            out += [b[0] for b in gobench.BENCHMARKS]
        elif x in ("W1", "W2", "W3", "W4", "W5", "W6", "floor") or x in gobench.BY_NAME:
            out.append(x)
        else:
            raise argparse.ArgumentTypeError(
                f"unknown item {x!r}; choose from W1-W6, floor, workloads, go, or Go's names: "
                f"{', '.join(b[0] for b in gobench.BENCHMARKS)}")
    if not out:
        raise argparse.ArgumentTypeError("--only: nothing to run")
    return list(dict.fromkeys(out))


# -- the child processes ----------------------------------------------------------------------

def _child_env(lib):
    # the children import the same chanemu as this process, wherever it came from
    root = os.path.dirname(os.path.dirname(os.path.abspath(chanemu.__file__)))
    path = os.environ.get("PYTHONPATH")
    env = dict(os.environ, PYTHONPATH=root + (os.pathsep + path if path else ""))
    if lib in TWIN_LIBS:
        env["CHANEMU_IMPL"] = "python" if lib == "python" else "c"
        env["CHANEMU_SWITCH"] = "stack" if lib == "c-stack" else "greenlet"
    prog = _measure._progress
    if prog:
        env[_measure.PROGRESS_ENV] = prog.env_value()
    return env


def _child(lib, args, timeout=3600, units=0):
    """Run ``python -m chanemu._bench ARGS`` and return the JSON it prints last (its stderr,
    progress lines and any traceback, passes through). ``units``: the steps it counts."""
    try:
        return _run_child(lib, args, timeout)
    finally:
        if _measure._progress:
            _measure._progress.done += units


def _run_child(lib, args, timeout):
    p = subprocess.run([sys.executable, "-m", "chanemu._bench", *args], env=_child_env(lib),
                       stdout=subprocess.PIPE, text=True, timeout=timeout)
    try:
        out = json.loads(p.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        out = {"error": f"exit status {p.returncode}, no result"}
    if p.returncode != 0 or "error" in out:
        raise RuntimeError(out.get("error") or f"exit status {p.returncode}")
    return out


def _w5(lib, n, reps, run_one):
    ns, size = [], []
    for rep in range(reps):
        _measure.progress(f"{lib:>8} W5 spawn_blocked, fresh process {rep + 1} of {reps} "
                          f"({n:,} tasks) ...")
        x = run_one()
        if x.get("blocked") != n:
            raise RuntimeError(f"W5: {x.get('blocked')} tasks blocked, not {n}")
        ns.append(x["ns"])
        if x.get("bytes") is not None:
            size.append(x["bytes"])
    return {"W5": _measure.stats(ns, n=n),
            "W5_bytes": _measure.stats(size, n=n) if size else {"skipped": "no /proc"}}


def _safe(results, fn, ids):
    """Run fn() -> {id: stats} into results; on failure mark ids as failed."""
    try:
        results.update(fn())
    except (RuntimeError, ValueError, OSError, subprocess.TimeoutExpired) as e:
        msg = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
        for i in ids:
            results.setdefault(i, {"error": msg})


# -- the run ----------------------------------------------------------------------------------

def _meta(quick, argv):
    import greenlet
    seconds, reps = _measure.protocol(quick)
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "")
    except OSError:
        pass
    return {"python": f"CPython {platform.python_version()}" if
            platform.python_implementation() == "CPython" else platform.python_version(),
            "greenlet": greenlet.__version__,
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs" + (f", {cpu}" if cpu else ""),
            "date": time.strftime("%Y-%m-%d %H:%M"), "loadavg": _loadavg(),
            "command": "python -m chanemu bench" + "".join(f" {a}" for a in argv),
            "protocol": {"rep_seconds": seconds, "reps": reps, "warmup": 1, "quick": bool(quick),
                         "w5_n": W5_N_QUICK if quick else W5_N,
                         "w5_n_threads": W5_N_THREADS_QUICK if quick else W5_N_THREADS}}


def _loadavg():
    try:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def collect(items, impls, peer_names, quick, go_directory=None, argv=()):
    """Measure everything asked for; returns the JSON-ready result of report.py."""
    res = {"meta": _meta(quick, argv), "libraries": {}, "results": {}}
    _, reps = _measure.protocol(quick)
    w5n = W5_N_QUICK if quick else W5_N
    w_items = [i for i in items if i in ("W1", "W2", "W3", "W4", "W6", "floor")]
    g_items = [i for i in items if i in gobench.BY_NAME]
    want_w5 = "W5" in items
    _measure.plan(_measure.Progress(_units(impls, peer_names, w_items, g_items, want_w5, reps,
                                           go_directory)))

    for impl in impls:
        res["libraries"][impl] = {"label": report.LABELS[impl],
                                  "version": f"chanemu {chanemu.__version__} ({_what(impl)})"}
        why = _twin_missing(impl)
        if why:
            res["libraries"][impl]["skipped"] = f"not available: {why}"
            continue
        r = res["results"][impl] = {}
        mine = _twin_items(impl, w_items)
        quick_arg = ["--quick"] if quick else []
        if mine:
            _safe(r, lambda: _child(impl, ["suite", impl, ",".join(mine)] + quick_arg,
                                    units=len(mine)), mine)
        if g_items:
            _safe(r, lambda: _child(impl, ["suite", impl, ",".join(g_items)] + quick_arg,
                                    units=len(g_items)), g_items)
        if want_w5:
            _safe(r, lambda: _w5(impl, w5n, reps,
                                 lambda: _child(impl, ["w5", impl, str(w5n)], timeout=900)),
                  ["W5", "W5_bytes"])

    for peer in [p for p in peer_names if p != "go"]:
        why = peers.missing(peer)
        res["libraries"][peer] = {"label": report.LABELS[peer]}
        if why:
            res["libraries"][peer]["skipped"] = why
            continue
        res["libraries"][peer]["version"] = peers.version(peer)
        r = res["results"][peer] = {}
        mine = [i for i in w_items if i in peers.FUNCS[peer]]
        if mine:
            _safe(r, lambda: _child(peer, ["suite", peer, ",".join(mine)]
                                    + (["--quick"] if quick else []), units=len(mine)), mine)
        if "W4" in w_items and "W4" not in peers.FUNCS[peer]:
            r["W4"] = {"skipped": peers.NO_SELECT}
        if want_w5:
            n = (W5_N_THREADS_QUICK if quick else W5_N_THREADS) if peer == "threads" else w5n
            _safe(r, lambda: _w5(peer, n, reps,
                                 lambda: _child(peer, ["w5", peer, str(n)], timeout=900)),
                  ["W5", "W5_bytes"])

    go_items = [i for i in w_items if i != "floor"]
    if "go" in peer_names and (go_items or g_items or want_w5):
        _collect_go(res, go_items, g_items, want_w5, w5n, reps, quick, go_directory)
    res["meta"]["loadavg_end"] = _loadavg()
    return res


def _twin_items(impl, w_items):
    """What a twin measures of w_items: each pairs its W2 with a floor of its own, a greenlet
    switch pair, which is not the stack backend's floor, so it is not measured there."""
    return [i for i in w_items if not (impl == "c-stack" and i == "floor")]


def _units(impls, peer_names, w_items, g_items, want_w5, reps, go_directory):
    """How many steps the run has: one per item measured in a child, per W5 process, per Go
    step; what is skipped (a missing twin, peer or go) counts nothing."""
    total = 0
    for impl in impls:
        try:
            chanemu._import_core("python" if impl == "python" else "c")
        except ImportError:
            continue
        total += len(_twin_items(impl, w_items)) + len(g_items) + (reps if want_w5 else 0)
    for peer in [p for p in peer_names if p != "go"]:
        if not peers.missing(peer):
            total += len([i for i in w_items if i in peers.FUNCS[peer]])
            total += reps if want_w5 else 0
    go_items = [i for i in w_items if i != "floor"]
    if "go" in peer_names and (go_items or g_items or want_w5):
        if not golang.missing(golang.go_dir(go_directory)):
            total += 1 + 2 * (bool(go_items) + (reps if want_w5 else 0)) + bool(g_items)
    return total


def _collect_go(res, w_items, g_items, want_w5, w5n, reps, quick, directory):
    d = golang.go_dir(directory)
    why = golang.missing(d)
    if why:
        res["libraries"]["go"] = {"label": "Go", "skipped": f"{why}; the Go rows are the "
                                  "reference figures of bench/README.md (Go 1.19, not this run)"}
        for key in ("go1-ref", "go2-ref"):
            ref = report.REFERENCE[key]
            items = w_items + (["W5", "W5_bytes"] if want_w5 else []) + g_items
            res["results"][key] = {i: {"median": ref[i], "min": None, "max": None, "reps": 0}
                                   for i in items if i in ref}
        return
    gb = golang.GoBench(d)
    res["libraries"]["go"] = {"label": "Go", "version": gb.version}
    r1 = res["results"]["go1"] = {}
    r2 = res["results"]["go2"] = {}
    try:
        _measure.progress(f"{'go':>8} building {d} ...")
        try:
            gb.build()
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            res["libraries"]["go"]["error"] = str(e)
            del res["results"]["go1"], res["results"]["go2"]
            return
        for procs, r in ((1, r1), (2, r2)):
            if w_items:
                _measure.progress(f"{'go':>8} GOMAXPROCS={procs} {','.join(w_items)} ...")
                _safe(r, lambda: gb.workloads(procs, w_items, quick), w_items)
            if want_w5:
                _safe(r, lambda: _w5(f"go{procs}", w5n, reps, lambda: gb.w5(procs, w5n)),
                      ["W5", "W5_bytes"])
        if g_items:
            _measure.progress(f"{'go':>8} go test -bench, -cpu 1,2, {len(g_items)} "
                              f"benchmarks ...")
            try:
                got = gb.benchmarks(g_items, quick)
                r1.update(got[1])
                r2.update(got[2])
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                for r in (r1, r2):
                    r.update({i: {"error": str(e).strip().splitlines()[-1]} for i in g_items})
    finally:
        gb.close()


def run_cli(args):
    """``python -m chanemu bench``; returns the exit status."""
    if args.load:
        with open(args.load) as f:
            res = json.load(f)
        print(_render(res, args))
        if args.plot:
            report.plot(res, args.plot)
        return 0
    items = args.only or (["W1", "W2", "W3", "W4", "W5", "W6"]
                          + [b[0] for b in gobench.BENCHMARKS])
    if "W2" in items and "floor" not in items:
        items.append("floor")                # W2's ratio needs it, measured in the same run
    impls = {"both": ["c", "python"], "none": []}.get(args.impl, [args.impl])
    if "c" in impls:
        backends = {"greenlet": ["c"], "stack": ["c-stack"], "both": ["c", "c-stack"]}
        impls[impls.index("c"):impls.index("c") + 1] = backends[args.switch]
    peer_names = peers.NAMES + ["go"] if args.peers is None else args.peers
    argv = [a for a in sys.argv[1:] if a != "bench"] if sys.argv[1:2] == ["bench"] else []
    print("chanemu bench: measuring (progress below) ...", file=sys.stderr, flush=True)
    if args.plot:                            # fail before the run, not after it
        try:
            import matplotlib  # noqa: F401
        except ImportError as e:
            raise SystemExit(f"--plot needs matplotlib, which is not installed ({e}); "
                             "pip install 'chanemu[plot]' or pip install matplotlib") from None
    res = collect(items, impls, peer_names, args.quick, args.go_dir, argv)
    print(_render(res, args))
    if args.plot:
        report.plot(res, args.plot)
        print(f"chanemu bench: wrote {args.plot}", file=sys.stderr)
    return 0 if res["results"] else 1


def _render(res, args):
    if args.json:
        return json.dumps(res, indent=2)
    if args.markdown:
        return report.format_markdown(res)
    return report.format_table(res, wide=getattr(args, "wide", False))


# -- what the children run --------------------------------------------------------------------

def _what(lib):
    if lib == "python":
        return "pure-Python twin"
    return "C twin, " + ("stack switch" if lib == "c-stack" else "greenlet switch")


def _twin_missing(lib):
    """None if this twin (and switch backend) loads here, else why not: asked in a child, since
    the switch backend is chosen once per process."""
    code = ("import chanemu,sys; chanemu._import_core(sys.argv[1]); "
            "from chanemu._bench import cli; cli._check_switch(sys.argv[2])")
    p = subprocess.run([sys.executable, "-c", code, "python" if lib == "python" else "c", lib],
                       env=_child_env(lib), capture_output=True, text=True, timeout=120)
    if p.returncode == 0:
        return None
    lines = p.stderr.strip().splitlines()
    return lines[-1] if lines else f"exit status {p.returncode}"


def _check_switch(lib):
    """In a child: the C twin runs on the switch backend this library stands for."""
    if lib not in ("c", "c-stack"):
        return
    want = "stack" if lib == "c-stack" else "greenlet"
    got = chanemu._import_core("c").SWITCH
    if got != want:
        raise RuntimeError(f"the C twin runs on the {got} switch, not {want} "
                           f"(CHANEMU_SWITCH={os.environ.get('CHANEMU_SWITCH')!r})")


def _suite(lib, items, quick):
    from . import workloads
    out = {}
    _check_switch(lib)
    paired = lib in ("c", "python") and "W2" in items and "floor" in items
    for item in items:
        if paired and item in ("W2", "floor"):
            if item == "W2":                 # W2 and its floor, repetitions interleaved
                _measure.progress(f"{lib:>8} W2 and floor, interleaved ...", units=2)
                try:
                    out["W2"], out["floor"], out["W2_floor"] = _measure.measure_paired(
                        workloads.pingpong_unbuffered, workloads.greenlet_switch_pair, quick)
                except Exception as e:
                    import traceback
                    traceback.print_exc()
                    out["W2"] = out["floor"] = {"error": f"{type(e).__name__}: {e}"}
            continue
        try:
            if lib in TWIN_LIBS:
                if item in gobench.BY_NAME:
                    name, fn, start, max_n, _what = gobench.BY_NAME[item]
                else:
                    fn, start, max_n = workloads.BY_ID[item][2], 1000, None
            else:
                fn, start, max_n = peers.FUNCS[lib][item], 1000, None
            _measure.progress(f"{lib:>8} {item} ...")
            out[item] = _measure.measure(fn, quick, start, max_n)
        except Exception as e:               # one item's failure does not hide the others
            import traceback
            traceback.print_exc()
            out[item] = {"error": f"{type(e).__name__}: {e}"}
    return out


def child_main(argv):
    """``python -m chanemu._bench suite LIB ITEMS [--quick]`` and ``... w5 LIB N``; prints JSON."""
    try:
        if argv[:1] == ["suite"]:
            out = _suite(argv[1], argv[2].split(","), "--quick" in argv)
        elif argv[:1] == ["w5"]:
            lib, n = argv[1], int(argv[2])
            out = {}
            if lib in TWIN_LIBS:
                from . import workloads
                _check_switch(lib)
                out["ns"] = workloads.spawn_blocked(n, out)
            else:
                def finish(o):
                    print(json.dumps(o), flush=True)
                    os._exit(0)
                peers.FINISH = finish
                peers.run_w5(lib, n, out)
        else:
            raise SystemExit("usage: python -m chanemu bench (this module is its worker)")
    except Exception as e:
        import traceback
        traceback.print_exc()
        notes = "".join(f" ({n})" for n in getattr(e, "__notes__", ()))
        print(json.dumps({"error": f"{type(e).__name__}: {e}{notes}"}))
        return 1
    print(json.dumps(out))
    return 0
