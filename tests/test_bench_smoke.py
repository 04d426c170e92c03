"""The benchmark code still runs: each workload once, with a tiny n, on the twin under test.

Benchmarks are not tests: nothing here is timed or compared with a target. This only keeps
chanemu._bench (``python -m chanemu bench``) from rotting as the core changes.
"""
import pytest

from chanemu import _bench

WORKLOAD_IDS = [w[0] for w in _bench.WORKLOADS]


@pytest.mark.parametrize("wid", WORKLOAD_IDS)
def test_workload_runs_once(ce, wid):
    _, name, fn, _unit = next(w for w in _bench.WORKLOADS if w[0] == wid)
    if wid == "W4" and not _bench.has_select():
        pytest.skip("W4 select2 needs chanemu.select")
    if wid == "W5":
        out = {}
        ns = fn(16, out)
        assert out["blocked"] == 16        # every goroutine parked in chan send
    else:
        ns = fn(16)
    assert ns > 0, name


def test_table_formats():
    stats = {"median": 40.0, "min": 38.0, "max": 45.0, "reps": 5, "n": 1000}
    res = {"python": "3.11", "greenlet": "3", "machine": "x86_64, 2 CPUs",
           "protocol": {"rep_seconds": 0.3, "reps": 5, "warmup": 1, "w5_n": 100_000},
           "impls": {"c": {"W1": stats, "W2": stats, "floor": stats, "W2_ratio": 1.0,
                           "W4": {"skipped": "no select"}},
                     "python": {"error": "not available"}}}
    table = _bench.format_table(res)
    assert "W1 buffered_nonblocking" in table and "40 (38-45)" in table and "1.00x" in table
    assert "W4 skipped: no select" in table and "Python twin: not available" in table
