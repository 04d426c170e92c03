"""The benchmark code still runs: each benchmark once, with a tiny n.

Benchmarks are not tests: nothing here is timed or compared with a target. This only keeps
chanemu._bench (``python -m chanemu bench``) from rotting as the core changes: W1-W6 and Go's
benchmark names on the twin under test (the ``ce`` fixture), W1-W6 on each installed peer, the
go test output parser, and the table.
"""
import importlib.util
import json
import re
import os
import shutil

import pytest

from chanemu._bench import gobench, golang, peers, report, workloads

WORKLOAD_IDS = [w[0] for w in workloads.WORKLOADS]


@pytest.mark.parametrize("wid", WORKLOAD_IDS)
def test_workload_runs_once(ce, wid):
    _, name, fn, _unit = workloads.BY_ID[wid]
    if wid == "W5":
        out = {}
        ns = fn(16, out)
        assert out["blocked"] == 16        # every goroutine parked in chan send
    else:
        ns = fn(16)
    assert ns > 0, name


@pytest.mark.parametrize("name", [b[0] for b in gobench.BENCHMARKS])
def test_go_benchmark_runs_once(ce, name):
    _, fn, _start, _max, _what = gobench.BY_NAME[name]
    # ChanSync and the ProdCons shapes work in blocks of 1,000 calls: n below that is one block
    n = 2 if name == "ChanPopular" else 16
    assert fn(n) > 0, name


def _peer_cases():
    for peer in peers.NAMES:
        mod = dict((p[0], p[1]) for p in peers.PEERS)[peer]
        mark = pytest.mark.skipif(importlib.util.find_spec(mod) is None,
                                  reason=f"{peer} is not installed")
        for wid in sorted(peers.FUNCS[peer]):
            yield pytest.param(peer, wid, marks=mark, id=f"{peer}-{wid}")


@pytest.mark.parametrize("peer,wid", list(_peer_cases()))
def test_peer_workload_runs_once(peer, wid):
    if wid == "W5":
        out = {}
        ns = peers.run_w5(peer, 8, out)
        assert out["blocked"] == 8
    else:
        ns = peers.FUNCS[peer][wid](16)
    assert ns > 0


def test_go_bench_output_parses():
    text = """goos: linux
BenchmarkMakeChan/Int        \t 1000\t        38.5 ns/op
BenchmarkMakeChan/Int-2      \t 1000\t        40.5 ns/op
BenchmarkChanSync            \t 2000\t       103.2 ns/op
BenchmarkChanSync            \t 2000\t       101.0 ns/op
BenchmarkChanSync            \t 2000\t       109.9 ns/op
BenchmarkChanSync-2          \t 2000\t       110.0 ns/op
PASS
"""
    got = golang.parse_bench(text, ["MakeChan/Int", "ChanSync"])
    assert got[1]["ChanSync"]["median"] == 103.2 and got[1]["ChanSync"]["min"] == 101.0
    assert got[1]["ChanSync"]["reps"] == 3 and got[2]["ChanSync"]["reps"] == 1
    assert got[2]["MakeChan/Int"]["median"] == 40.5


@pytest.mark.skipif(shutil.which("go") is None or golang.missing(golang.go_dir()) is not None,
                    reason="go is not on PATH, or bench/go is missing")
def test_go_twins_build():
    gb = golang.GoBench(golang.go_dir())
    try:
        gb.build()
        x = gb.w5(1, 100)
        assert x["blocked"] == 100 and x["ns"] > 0
        # Go's own benchmarks, run in place from the toolchain's runtime package
        got = gb.benchmarks(["MakeChan/Int", "ChanSync"], quick=True, cpus=(1,))
        assert got[1]["ChanSync"]["median"] > 0 and got[1]["MakeChan/Int"]["median"] > 0
    finally:
        gb.close()


def _stats(m):
    return {"median": m, "min": m * 0.9, "max": m * 1.1, "reps": 5, "n": 1000}


def _result():
    return {"meta": {"python": "CPython 3.11", "greenlet": "3", "machine": "x86_64, 2 CPUs",
                    "date": "2026-11-27 00:00", "loadavg": "0.10", "command": "",
                    "protocol": {"rep_seconds": 0.3, "reps": 5, "warmup": 1, "w5_n": 100_000,
                                 "w5_n_threads": 10_000}},
           "libraries": {"c": {}, "python": {}, "trio": {"skipped": "not installed"},
                         "go": {"skipped": "go is not on PATH"}},
           "results": {"c": {"W1": _stats(40.0), "W2": _stats(400.0), "floor": _stats(250.0),
                             "W4": {"error": "boom"}, "ChanSync": _stats(300.0)},
                       "python": {"W1": _stats(400.0), "W2": _stats(4000.0)},
                       "gevent": {"W1": _stats(100.0), "W4": {"skipped": peers.NO_SELECT}},
                       "go1-ref": {"W1": {"median": 33, "min": None, "max": None, "reps": 0}}}}


def test_table_formats():
    res = _result()
    table = report.format_table(res, wide=True)
    assert "W1 buffered_nonblocking" in table and "36.0-44.0" in table
    assert "1.21x" in table                  # 40 / Go's 33
    assert "0.40x" in table                  # 40 / gevent's 100, the best peer
    assert "1.60x" in table                  # W2 / the greenlet floor: over the 1.4x target
    assert "this library has no select" in table and "failed: boom" in table
    assert "trio: not installed" in table and "(ref.)" in table
    assert "ChanSync" in table and "NOT MET" in table
    md = report.format_markdown(res)
    assert "| W1 buffered_nonblocking (ns/pair) | 40.0 | 400 | 100 | 33.0 | 1.21x | 0.40x |" in md
    assert "| W2 / floor | 1.60x | 16.00x |" in md
    # one short --quick run cannot decide a target: its verdicts say so
    res["meta"]["protocol"]["quick"] = True
    quick = report.format_table(res)
    assert "NOT MET" not in quick and "not met (indicative)" in quick
    assert "indicative only" in quick


def test_table_fits_100_columns():
    """Without --wide the table leaves out min-max and moves the n/a reasons to numbered notes;
    with it, every column is kept (the 124-column table of before)."""
    res = _result()
    res["results"]["c"]["W4"] = {"error": "a failure whose message is long " * 4}
    narrow = report.format_table(res)
    assert max(len(ln) for ln in narrow.splitlines()) <= 100
    assert "36.0-44.0" not in narrow and "min-max" not in narrow.split("library")[1]
    assert re.search(r"gevent\s+n/a \[(\d)\]$", narrow, re.M)
    k = re.search(r"gevent\s+n/a \[(\d)\]", narrow).group(1)
    assert f"[{k}] this library has no select" in narrow
    wide = report.format_table(res, wide=True)
    assert max(len(ln) for ln in wide.splitlines()) > 100 and "36.0-44.0" in wide


def test_progress_counts_and_eta():
    from chanemu._bench import _measure
    p = _measure.Progress(total=10, done=0, t0=1000.0)
    assert p.prefix(now=1000.0) == "[0/10, ETA ?]"
    p.done = 4
    assert p.prefix(now=1040.0) == "[4/10, ETA 1m00s]"      # 10 s a step, 6 to go
    q = _measure.Progress.from_env({_measure.PROGRESS_ENV: p.env_value()})
    assert (q.done, q.total, q.t0) == (4, 10, 1000.0)
    assert _measure.Progress.from_env({}) is None


def test_bench_cli_shows_progress(tmp_path):
    """The smallest real run: one item on the C twin (its default switch backend), no peers:
    stderr counts it."""
    import subprocess
    import sys
    r = subprocess.run([sys.executable, "-m", "chanemu", "bench", "--quick", "--impl", "c",
                        "--switch", "greenlet", "--peers", "none", "--only", "W1"],
                       capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    assert re.search(r"\[0/1, ETA \?\]\s+c W1 \.\.\.", r.stderr), r.stderr
    assert max(len(ln) for ln in r.stdout.splitlines()) <= 100


def test_bench_cli_counts_each_switch_backend(tmp_path):
    """--switch both: the C twin's W2 on each backend counts a step, and the stack backend's
    measures no greenlet floor (a pair of greenlet switches is not its floor)."""
    import subprocess
    import sys
    r = subprocess.run([sys.executable, "-m", "chanemu", "bench", "--quick", "--impl", "c",
                        "--switch", "both", "--peers", "none", "--only", "W2", "--json"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert re.search(r"\[0/3, ETA \?\]\s+c W2 and floor", r.stderr), r.stderr
    res = json.loads(r.stdout)
    assert "median" in res["results"]["c-stack"]["W2"]
    assert "floor" not in res["results"]["c-stack"] and "floor" in res["results"]["c"]


def _profile_callgrind():
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "bench", "profile_callgrind.py")
    spec = importlib.util.spec_from_file_location("profile_callgrind", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_callgrind_profile_counts_every_line(tmp_path):
    """Inlined lines (fi=/fe=) count under their function, compressed names resolve, and a
    call's inclusive cost is not the caller's self cost: the self costs add up to the total."""
    out = tmp_path / "callgrind.out"
    out.write_text("""\
version: 1
positions: line
events: Ir
summary: 1111

ob=(1) /lib/libpython3.11.so
fl=(1) ceval.c
fn=(1) _PyEval_EvalFrameDefault
10 100
fi=(2) object.h
3 20
fe=(1)
11 1
cob=(2) /x/_core.so
cfl=(3) chan.pyx
cfn=(2) chansend
calls=1 50
12 990
ob=(2)
fl=(3)
fn=(2)
50 900
fi=(2)
4 80
+1 10
ob=(1)
fl=(1)
fn=(1)
13 0
totals: 1111
""")
    costs = _profile_callgrind().self_costs(str(out))
    assert costs == {("_PyEval_EvalFrameDefault", "/lib/libpython3.11.so"): 121,
                     ("chansend", "/x/_core.so"): 990}
    assert sum(costs.values()) == 1111
