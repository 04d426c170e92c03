"""The measuring protocol (bench/README.md, "How it measures"), for every library's process.

Calibrate n so that one repetition takes about ``REP_SECONDS``, run one warm-up, then ``REPS``
repetitions each after ``gc.collect()``; report the median and the min-max of the ns per operation
that each repetition returns (a benchmark function times itself, inside its scheduler, and returns
ns per operation as its benchmark defines one).
"""
import gc
import statistics
import sys
import time

REP_SECONDS = 0.3
REPS = 5
QUICK_REP_SECONDS = 0.05
QUICK_REPS = 3


def protocol(quick):
    """(seconds per repetition, repetitions) for a full or a --quick run."""
    return (QUICK_REP_SECONDS, QUICK_REPS) if quick else (REP_SECONDS, REPS)


def calibrate(fn, seconds, start=100, max_n=None):
    """The n for which one repetition of fn takes about ``seconds`` of wall time (set-up included,
    so a benchmark with costly set-up runs fewer operations rather than longer)."""
    n = max(1, start)
    while True:
        t0 = time.perf_counter()
        fn(n)
        took = time.perf_counter() - t0
        if max_n is not None and n >= max_n:
            return max_n
        if took >= seconds / 10:
            n = max(1, round(n * seconds / took))
            return min(n, max_n) if max_n is not None else n
        n *= 10 if took < seconds / 100 else 4
        if max_n is not None:
            n = min(n, max_n)


def measure(fn, quick=False, start=100, max_n=None):
    """The protocol on fn(n) -> ns per op: calibrate, warm up, repeat; the stats."""
    seconds, reps = protocol(quick)
    n = calibrate(fn, seconds, start, max_n)
    fn(n)                                   # warm-up
    xs = []
    for _ in range(reps):
        gc.collect()
        xs.append(fn(n))
    return stats(xs, n=n)


def measure_paired(fa, fb, quick=False, start=1000):
    """Measure fa and fb with their repetitions interleaved (a, b, a, b, ...), so that a change in
    the machine's load between repetitions hits both alike; returns (stats of fa, stats of fb,
    stats of the per-repetition ratio fa/fb). For a ratio such as W2 over its greenlet floor."""
    seconds, reps = protocol(quick)
    na, nb = calibrate(fa, seconds, start), calibrate(fb, seconds, start)
    fa(na)
    fb(nb)                                  # warm-up
    xa, xb = [], []
    for _ in range(reps):
        gc.collect()
        xa.append(fa(na))
        gc.collect()
        xb.append(fb(nb))
    return (stats(xa, n=na), stats(xb, n=nb),
            stats([a / b for a, b in zip(xa, xb)], paired=True))


def stats(xs, **extra):
    return dict(median=statistics.median(xs), min=min(xs), max=max(xs), reps=len(xs), **extra)


def rss():
    """VmRSS of this process in bytes (0 where /proc is missing)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


# -- progress: done/total and an ETA on stderr --------------------------------------------
# The parent plans the run in units (one per benchmark item, W5 repetition, Go step) and hands
# each child the count so far through PROGRESS_ENV ("done total start-time"), so the children's
# lines carry the same count and the same clock as the parent's.
PROGRESS_ENV = "CHANEMU_BENCH_PROGRESS"


class Progress:
    def __init__(self, total, done=0, t0=None):
        self.total = total
        self.done = done
        self.t0 = time.time() if t0 is None else t0

    @classmethod
    def from_env(cls, environ):
        try:
            done, total, t0 = environ[PROGRESS_ENV].split()
            return cls(int(total), int(done), float(t0))
        except (KeyError, ValueError):
            return None

    def env_value(self):
        return f"{self.done} {self.total} {self.t0!r}"

    def prefix(self, now=None):
        """``[done/total, ETA 1m20s]``: the ETA from the pace of the units done so far."""
        elapsed = (time.time() if now is None else now) - self.t0
        eta = "ETA ?"
        if 0 < self.done <= self.total:
            eta = f"ETA {_duration(elapsed * (self.total - self.done) / self.done)}"
        return f"[{min(self.done, self.total)}/{self.total}, {eta}]"


def _duration(seconds):
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"


_progress = None        # this process's Progress, if the run has a plan


def plan(progress_):
    """Count the steps of this process's run with ``progress_`` (None: no counts)."""
    global _progress
    _progress = progress_


def progress(msg, units=1):
    """Say on stderr that a step of ``units`` starts, with the run's count and ETA."""
    global _progress
    if _progress is None:
        import os
        _progress = Progress.from_env(os.environ) or False
    head = f"{_progress.prefix()} " if _progress else ""
    print(f"  {head}{msg}", file=sys.stderr, flush=True)
    if _progress:
        _progress.done += units
