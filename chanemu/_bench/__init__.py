"""Benchmarks: ``python -m chanemu bench``.

chanemu's two twins, the Python peers and Go itself in one run, each library in subprocesses of its
own, measured by one protocol; bench/README.md defines the workloads and the targets. The modules:

- ``workloads``: W1-W6 (and W2's greenlet floor) on chanemu's active twin;
- ``gobench``: Go's channel benchmarks (runtime/chan_test.go) under Go's names, on chanemu;
- ``peers``: W1-W6 on gevent, asyncio, trio, anyio and threads with queue.Queue;
- ``golang``: builds and runs the Go twins in bench/go/, and Go's own benchmarks in place;
- ``_measure``: the protocol (calibrated n, warm-up, median of the repetitions, min-max);
- ``report``: the table, the speed targets, the --plot chart;
- ``cli``: the command line and the child processes (``python -m chanemu._bench``).

Nothing here is a test: the suite runs each benchmark once with a tiny n
(tests/test_bench_smoke.py) so that this code cannot rot.
"""
from .cli import DESCRIPTION, add_arguments, collect, run_cli   # noqa: F401
from .report import format_table, targets                       # noqa: F401
from .workloads import WORKLOADS                                # noqa: F401
