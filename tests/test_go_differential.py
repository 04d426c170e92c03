"""Differential testing against Go: every program in tests/go/ runs as real Go and as its chanemu
twin (the .py file of the same name), on both implementations, and the two must agree.

The twins run as Go programs run: ``python -m chanemu run tests/go/NAME.py`` in a subprocess on
the twin under test (CHANEMU_IMPL), its exit status and first stderr line compared with the Go
binary's. Each Go program says how to compare in a header line ``// mode: ...``:

- ``deterministic``: identical stdout, and both exit 0 with nothing on stderr.
- ``deadlock``: identical stdout; both exit 2 with the same first stderr line, ``fatal error: all
  goroutines are asleep - deadlock!``, and the two goroutine dumps that follow list the same wait
  reasons (``[chan receive]``, ``[select]``...).
- ``fatal``: as deadlock, for another fatal error (``no goroutines (main called runtime.Goexit) -
  deadlock!``).
- ``panic``: identical stdout; both exit 2 with the same first stderr line ``panic: MSG``, then a
  blank line and a ``goroutine N [running]:`` trace.
- ``random``: lines ``~ NAME KEY COUNT`` are the counts of outcomes of a random choice (select's)
  over repeated trials; every other line must be identical. For each NAME both sides ran the same
  number of trials N, saw the same set of KEYs (the support), and for each KEY the two observed
  frequencies differ by at most 6 standard deviations of the difference of two independent
  binomial frequencies with the pooled rate p: ``|f_go - f_ce| <= 6 * sqrt(2 p (1 - p) / N)``.
  The twins run with a fixed seed (``chanemu.main(main, seed=...)``); Go's run is random, so a false failure has probability below
  1e-8 per key. (The programs give every outcome a rate of at least 10% and N >= 2000, so the
  support of either side misses a key with probability below 1e-90.)

A program that needs Go's preemption to go on (a goroutine spinning without blocking) says so in
a header line ``// preempt: on``; its twin runs with chanemu's preemption on, the others with it
off (on a loaded machine a 10 ms real-time slice could end midway in any program, where Go never
comes near it, and reorder its output).

The module says ``go 1.23``, so the Go programs get Go 1.23's timer channels, as chanemu has them.

Go runs with GOMAXPROCS=1 (one P: the scheduler chanemu emulates) and GOFLAGS unset. All programs
are compiled by a single ``go build`` of a throwaway module (one package per program) into a
session-wide directory, with Go's default build cache (about 20 s with a cold cache, 0.2 s warm),
and each runs once per session; the twins run once per twin, with a timeout against hangs. Skipped, with the reason, when ``go`` is not on PATH.

The Go programs print through ``say``, a raw write(2): fmt.Println's write is a system call that
can lose the P to another thread under load, and the printer then comes back through the global
run queue, which reorders the transcript; a raw system call keeps the P. With it, every
deterministic program printed the same transcript in 60 runs on a machine loaded by two busy
processes. The programs that sleep space their deadlines 200 ms apart.

The programs are ours. Where Go's own tree tests the same property (its test/chan programs),
those run in place from the toolchain, beside ours (``test_go_original_runs_in_place``).
"""
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

GODIR = Path(__file__).parent / "go"
PROGRAMS = sorted(p.stem for p in GODIR.glob("*.go"))
HANG_TIMEOUT = 120        # seconds; a twin that runs longer hangs: dump the stacks and stop


def mode_of(name):
    for line in (GODIR / f"{name}.go").read_text().splitlines()[:30]:
        m = re.match(r"//\s*mode:\s*(\w+)", line)
        if m:
            return m.group(1)
    raise AssertionError(f"tests/go/{name}.go has no '// mode: ...' header line")


def needs_preemption(name):
    head = (GODIR / f"{name}.go").read_text().splitlines()[:30]
    return any(re.match(r"//\s*preempt:\s*on\s*$", line) for line in head)


def _go_env():
    """The environment for go and the programs: no GO* variable of the caller's (GOFLAGS,
    GOMAXPROCS, GODEBUG...) except where the toolchain and its caches live."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GO")}
    for k in ("GOROOT", "GOPATH", "GOCACHE", "GOMODCACHE"):
        if k in os.environ:
            env[k] = os.environ[k]
    env["GOTOOLCHAIN"] = "local"        # never fetch a toolchain
    return env


@pytest.fixture(scope="session")
def go_binaries(tmp_path_factory):
    """Build every program in tests/go/ with one `go build`; returns {name: binary path}."""
    go = shutil.which("go")
    if go is None:
        pytest.skip("`go` is not on PATH: the differential tests against Go need a Go toolchain")
    root = tmp_path_factory.mktemp("godiff")
    src = root / "src"
    src.mkdir()
    (src / "go.mod").write_text("module chanemudiff\n\ngo 1.23\n")
    for name in PROGRAMS:
        (src / name).mkdir()
        shutil.copy(GODIR / f"{name}.go", src / name / "main.go")
    env = _go_env()
    cache = subprocess.run([go, "env", "GOCACHE"], env=env, capture_output=True, text=True)
    gocache = cache.stdout.strip()
    if cache.returncode != 0 or not gocache or gocache == "off":
        env["GOCACHE"] = str(root / "gocache")       # no usable default cache: one of our own
    bindir = root / "bin"
    bindir.mkdir()
    r = subprocess.run([go, "build", "-o", str(bindir) + os.sep, "./..."], cwd=src, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"go build failed:\n{r.stderr}"
    return {name: bindir / name for name in PROGRAMS}


_go_results = {}


def go_result(go_binaries, name):
    """Run the Go program once per session (GOMAXPROCS=1): (returncode, stdout, stderr)."""
    if name not in _go_results:
        env = _go_env()
        env["GOMAXPROCS"] = "1"
        r = subprocess.run([str(go_binaries[name])], env=env, capture_output=True, text=True,
                           timeout=120)
        _go_results[name] = (r.returncode, r.stdout, r.stderr)
    return _go_results[name]


def run_twin(impl, name, preempt=True):
    """``chanemu run tests/go/NAME.py`` on twin impl, as Go runs its binary (GOTRACEBACK and
    GOMAXPROCS unset; preemption on unless told): (returncode, stdout, stderr)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GO")}
    env["CHANEMU_IMPL"] = impl
    env["CHANEMU_PREEMPT"] = "on" if preempt else "off"
    r = subprocess.run([sys.executable, "-m", "chanemu", "run", str(GODIR / f"{name}.py")],
                       env=env, capture_output=True, text=True, timeout=HANG_TIMEOUT)
    return r.returncode, r.stdout, r.stderr


def wait_reasons(dump):
    """The wait reasons of the goroutines in a Go-format dump, sorted ("chan receive", ...)."""
    reasons = re.findall(r"^goroutine \d+ \[([^\]]*)\]:", dump, re.M)
    return sorted(r.split(",")[0] for r in reasons)


def distributions(text):
    """Split a random program's stdout into (other lines, {name: {key: count}})."""
    lines, dists = [], {}
    for line in text.splitlines():
        if line.startswith("~ "):
            _, dname, key, count = line.split()
            dists.setdefault(dname, {})[key] = int(count)
        else:
            lines.append(line)
    return lines, dists


def compare_distributions(go_d, ce_d):
    assert go_d.keys() == ce_d.keys(), "different distributions printed"
    for dname in go_d:
        g, c = go_d[dname], ce_d[dname]
        assert g.keys() == c.keys(), f"{dname}: support differs: Go {sorted(g)} vs chanemu {sorted(c)}"
        n = sum(g.values())
        assert n == sum(c.values()), f"{dname}: different numbers of trials"
        for key in g:
            p = (g[key] + c[key]) / (2 * n)
            bound = 6 * math.sqrt(2 * p * (1 - p) / n)
            diff = abs(g[key] - c[key]) / n
            assert diff <= bound + 1e-12, (
                f"{dname}[{key}]: Go {g[key]}/{n} vs chanemu {c[key]}/{n}: "
                f"|difference| {diff:.4f} > bound {bound:.4f}")


def test_every_program_has_a_twin():
    assert len(PROGRAMS) >= 20
    for name in PROGRAMS:
        assert (GODIR / f"{name}.py").exists(), f"tests/go/{name}.go has no twin {name}.py"
        mode_of(name)


@pytest.mark.parametrize("name", PROGRAMS)
def test_go_differential(impl_name, go_binaries, name):
    mode = mode_of(name)
    # Preemption (after 10 ms of real time) is on only for the programs that need it to go on
    # (a "// preempt: on" header line): on a loaded machine it could preempt any other program
    # midway where Go, a hundred times faster, never is, and reorder its output.
    rc, go_out, go_err = go_result(go_binaries, name)
    ce_rc, ce_out, ce_err = run_twin(impl_name, name, preempt=needs_preemption(name))
    if mode in ("deterministic", "random"):
        assert rc == 0, f"Go program failed (exit {rc}):\n{go_err}"
        assert (ce_rc, ce_err) == (0, ""), f"twin failed (exit {ce_rc}):\n{ce_err}"
        if mode == "deterministic":
            assert ce_out == go_out
        else:
            go_lines, go_d = distributions(go_out)
            ce_lines, ce_d = distributions(ce_out)
            assert ce_lines == go_lines
            assert go_d, "a random program prints at least one distribution"
            compare_distributions(go_d, ce_d)
        return
    assert ce_out == go_out
    assert rc == 2, f"Go exit status {rc}, expected 2 ({mode}):\n{go_err}"
    assert ce_rc == rc, f"twin's exit status {ce_rc}, Go's {rc}:\n{ce_err}"
    first, _, dump = go_err.partition("\n")
    ce_first, _, ce_dump = ce_err.partition("\n")
    assert ce_first == first, ce_err
    if mode in ("deadlock", "fatal"):
        assert first.startswith("fatal error: "), go_err
        if mode == "deadlock":
            assert first == "fatal error: all goroutines are asleep - deadlock!"
            assert wait_reasons(ce_dump) == wait_reasons(dump), ce_err
    elif mode == "panic":
        assert first.startswith("panic: "), go_err
        assert re.match(r"\ngoroutine \d+ \[running\]:\n", ce_dump), ce_err
    else:
        raise AssertionError(f"unknown mode {mode!r} in tests/go/{name}.go")


# Go's own test programs for the same properties run in place, from the toolchain's tree, beside
# our programs: we never copy them, and they must pass on the Go we compare against.
GO_ORIGINALS = {
    "fifo.go": "queue_order",
    "doubleselect.go": "select_once",
    "goroutines.go": "relay_line",
    "nonblock.go": "try_ops",
    "select.go": "select_eval",
    "select4.go": "select_losers",
    "select6.go": "select_losers",
    "select8.go": "select_losers",
    "select7.go": "parked_kinds",
    "sieve1.go": "pipeline_sort",
}


@pytest.fixture(scope="session")
def go_test_chan():
    """$(go env GOROOT)/test/chan, or a skip saying why it is not there."""
    go = shutil.which("go")
    if go is None:
        pytest.skip("`go` is not on PATH: Go's own test programs cannot run")
    r = subprocess.run([go, "env", "GOROOT"], env=_go_env(), capture_output=True, text=True,
                       timeout=60)
    where = Path(r.stdout.strip()) / "test" / "chan"
    if r.returncode != 0 or not where.is_dir():
        pytest.skip(f"the Go toolchain ships no test/chan directory ({where})")
    return go, where


@pytest.mark.parametrize("original", sorted(GO_ORIGINALS))
def test_go_original_runs_in_place(go_test_chan, original):
    ours = GO_ORIGINALS[original]
    assert (GODIR / f"{ours}.go").exists() and (GODIR / f"{ours}.py").exists(), \
        f"{original}'s property has no program of ours ({ours})"
    go, where = go_test_chan
    env = _go_env()
    env["GOMAXPROCS"] = "1"
    r = subprocess.run([go, "run", str(where / original)], env=env, cwd=where,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"go run {original} failed (exit {r.returncode}):\n{r.stderr}"
