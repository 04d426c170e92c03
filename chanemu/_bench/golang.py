"""Go itself in the same run: builds bench/go/ for our workloads, and Go's own benchmarks in place.

``bench/go/main.go`` holds the Go twins of W1-W6 and times them with the same protocol as the
Python side (calibrate, warm-up, median of the repetitions; W5 in a fresh process each time).
Go's channel benchmarks are not copied: they run from the toolchain's own runtime package, as
``go test -run '^$' -bench '^Benchmark(ChanSync|...)$' runtime`` does (the test binary is built
once with ``go test -c runtime`` and run from $(go env GOROOT)/src/runtime), with
``-test.count`` repetitions; go test calibrates b.N itself to the ``-test.benchtime``. Both run
with GOMAXPROCS=1 and GOMAXPROCS=2.
"""
import os
import re
import shutil
import statistics
import subprocess
import tempfile

from . import _measure

GO_DIR_ENV = "CHANEMU_BENCH_GO_DIR"


def go_dir(explicit=None):
    """bench/go of the source tree this chanemu comes from (or $CHANEMU_BENCH_GO_DIR)."""
    if explicit:
        return explicit
    if os.environ.get(GO_DIR_ENV):
        return os.environ[GO_DIR_ENV]
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return os.path.join(here, "bench", "go")


def missing(directory):
    """None if Go can run, else why not."""
    if not shutil.which("go"):
        return "go is not on PATH"
    if not os.path.isfile(os.path.join(directory, "main.go")):
        return f"{directory} has no main.go (bench/go/ ships with the source tree)"
    return None


def _env(procs=None):
    env = dict(os.environ, GOTOOLCHAIN="local")
    if procs is not None:
        env["GOMAXPROCS"] = str(procs)
    return env


class GoBench:
    """Builds the two binaries once, into a temporary directory, and runs them."""

    def __init__(self, directory):
        self.dir = directory
        self.tmp = tempfile.mkdtemp(prefix="chanemu-bench-go-")
        self.main = os.path.join(self.tmp, "chanemu-bench")
        self.test = os.path.join(self.tmp, "runtime.test")     # Go's own runtime tests
        self.version = subprocess.run(["go", "version"], capture_output=True, text=True,
                                      env=_env()).stdout.strip()

    def build(self):
        for args in (["go", "build", "-o", self.main, "."],
                     ["go", "test", "-c", "-o", self.test, "runtime"]):
            p = subprocess.run(args, cwd=self.dir, capture_output=True, text=True, env=_env(),
                               timeout=600)
            if p.returncode != 0:
                raise RuntimeError(f"{' '.join(args)} failed: {p.stderr.strip()[-2000:]}")

    def close(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def workloads(self, procs, ids, quick):
        """W1-W4, W6 (not W5) with GOMAXPROCS=procs: {id: stats}."""
        import json
        seconds, reps = _measure.protocol(quick)
        p = subprocess.run([self.main, "-only", ",".join(ids), "-rep", str(seconds),
                            "-reps", str(reps)], capture_output=True, text=True,
                           env=_env(procs), timeout=1800)
        if p.returncode != 0:
            raise RuntimeError(f"chanemu-bench failed: {p.stderr.strip()[-2000:]}")
        out = json.loads(p.stdout.strip().splitlines()[-1])
        return {k: v for k, v in out.items() if k in ids}

    def w5(self, procs, n):
        """One fresh process of W5: {"ns", "bytes", "blocked"}."""
        import json
        p = subprocess.run([self.main, "-w5", str(n)], capture_output=True, text=True,
                           env=_env(procs), timeout=600)
        if p.returncode != 0:
            raise RuntimeError(f"chanemu-bench -w5 failed: {p.stderr.strip()[-2000:]}")
        return json.loads(p.stdout.strip().splitlines()[-1])

    def benchmarks(self, names, quick, cpus=(1, 2)):
        """Go's benchmarks by name, with -test.cpu 1,2: {procs: {name: stats}}."""
        seconds, reps = _measure.protocol(quick)
        tops = sorted({n.split("/")[0] for n in names})
        pattern = "^Benchmark(" + "|".join(map(re.escape, tops)) + ")$"
        p = subprocess.run([self.test, "-test.run", "^$", "-test.bench", pattern,
                            "-test.benchtime", f"{seconds}s", "-test.count", str(reps),
                            "-test.cpu", ",".join(map(str, cpus))],
                           cwd=_runtime_dir(), capture_output=True, text=True, env=_env(),
                           timeout=3600)
        if p.returncode != 0:
            raise RuntimeError(f"go test -bench failed: {(p.stdout + p.stderr).strip()[-2000:]}")
        return parse_bench(p.stdout, names, cpus)


def _runtime_dir():
    """$(go env GOROOT)/src/runtime: where `go test runtime` runs its binary."""
    root = subprocess.run(["go", "env", "GOROOT"], capture_output=True, text=True,
                          env=_env()).stdout.strip()
    return os.path.join(root, "src", "runtime")


_LINE = re.compile(r"^Benchmark(\S+?)(?:-(\d+))?\s+(\d+)\s+([\d.]+) ns/op")


def parse_bench(text, names, cpus=(1, 2)):
    """go test -bench output -> {procs: {name: stats}}; a name without "-N" ran with 1 P."""
    samples = {}
    for line in text.splitlines():
        m = _LINE.match(line.strip())
        if not m:
            continue
        name, procs = m.group(1), int(m.group(2) or 1)
        samples.setdefault(procs, {}).setdefault(name, []).append(
            (float(m.group(4)), int(m.group(3))))
    out = {}
    for procs in cpus:
        got = samples.get(procs, {})
        out[procs] = {}
        for name in names:
            xs = got.get(name)
            if xs:
                ns = [x for x, _ in xs]
                out[procs][name] = _measure.stats(ns, n=int(statistics.median([n for _, n in xs])))
    return out
