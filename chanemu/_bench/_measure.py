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


def progress(msg):
    print(f"  {msg}", file=sys.stderr, flush=True)
