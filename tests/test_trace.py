"""chanemu.trace: a ping-pong recorded as Chrome / Perfetto trace events that pair up."""
import collections
import io
import json

import pytest

import chanemu
import chanemu.trace

ROUNDS = 5


def ping_pong(ce, rounds=ROUNDS):
    ping, pong = ce.Chan(), ce.Chan()

    def player():
        for v in ping:
            pong.send(v + 1)
    g = ce.go(player)
    for i in range(rounds):
        ping.send(i)
        assert pong.recv() == i + 1
    ping.close()
    ce.runtime.gosched()            # the player sees the close and ends
    assert g.status == "dead"
    return chanemu._views.chan_id(ping), chanemu._views.chan_id(pong), g.goid


def load(path):
    with open(path) as f:
        return json.load(f)


def by_ph(doc, ph, **match):
    return [e for e in doc["traceEvents"]
            if e["ph"] == ph and all(e.get(k) == v for k, v in match.items())]


@pytest.mark.parametrize("clock", ["real", "virtual"])
def test_ping_pong_trace(ce, tmp_path, clock):
    path = tmp_path / "trace.json"

    def main():
        tr = chanemu.trace.start(str(path))
        ids = ping_pong(ce)
        assert chanemu.trace.stop() == str(path)
        return tr, ids
    tr, (ping, pong, player) = ce.run(main, clock=clock)
    doc = load(path)
    assert doc["displayTimeUnit"] == "ns"
    assert doc["otherData"]["impl"] == ce.IMPL and doc["otherData"]["clock"] == clock
    events = doc["traceEvents"]
    for e in events:
        assert e["ph"] in "MXsfiC" and e["pid"] == 1
        if e["ph"] != "M":
            assert e["ts"] >= 0 and isinstance(e["args"]["seq"], int)
        if e["ph"] == "X":
            assert e["dur"] >= 0
    seqs = [e["args"]["seq"] for e in events if e["ph"] != "M"]
    assert sorted(seqs) == list(range(len(seqs)))

    # metadata: the process, one named row per goroutine
    assert by_ph(doc, "M", name="process_name")[0]["args"]["name"] == f"chanemu ({ce.IMPL})"
    names = {e["tid"]: e["args"]["name"] for e in by_ph(doc, "M", name="thread_name")}
    assert names[1].startswith("g1 ")
    assert names[player] == f"g{player} test_trace.ping_pong.<locals>.player"

    # flows pair up: every id has exactly one start and one finish, on different goroutines
    flows = collections.defaultdict(list)
    for e in events:
        if e["ph"] in "sf":
            flows[e["id"]].append(e)
    assert flows
    for fid, pair in flows.items():
        assert sorted(p["ph"] for p in pair) == ["f", "s"], pair
        s = [p for p in pair if p["ph"] == "s"][0]
        f = [p for p in pair if p["ph"] == "f"][0]
        assert s["name"] == f["name"] and f["bp"] == "e" and s["tid"] != f["tid"]
        assert s["ts"] <= f["ts"]
    creates = [p for p in flows.values() if p[0]["name"] == "go"]
    assert len(creates) == 1 and {p["tid"] for p in creates[0]} == {1, player}
    wakes = [p for p in flows.values() if p[0]["name"] == "wake"]

    # parks: each blocked slice names its wait reason and channel; the wake-ups match them
    blocked = [e for e in events if e["ph"] == "X" and e["cat"] == "blocked"]
    assert {(e["name"], tuple(e["args"]["chans"])) for e in blocked} <= {
        ("chan send", (ping,)), ("chan receive", (ping,)), ("chan send", (pong,)),
        ("chan receive", (pong,))}
    assert not any(e["args"].get("unfinished") for e in blocked)
    assert len(wakes) == len(blocked)
    # every exchange of the ping-pong parks one side: both sides parked, every round
    assert len(blocked) >= 2 * ROUNDS
    assert {e["tid"] for e in blocked} == {1, player}

    # one goroutine runs at a time (one P): running slices never overlap, and each goroutine's
    # rows are a sequence of runnable -> running -> blocked/runnable slices
    running = sorted((e["ts"], e["ts"] + e["dur"], e["tid"]) for e in events
                     if e["ph"] == "X" and e["name"] == "running")
    for (a0, a1, _), (b0, b1, _) in zip(running, running[1:]):
        assert a1 <= b0 + 1e-6
    for tid in (1, player):
        rows = sorted((e["ts"], e["args"]["seq"], e) for e in events
                      if e["ph"] == "X" and e["tid"] == tid)
        for (_, _, a), (_, _, b) in zip(rows, rows[1:]):
            assert abs(a["ts"] + a["dur"] - b["ts"]) < 1e-6, (a, b)   # back to back

    # every completed channel operation, on the row of the goroutine that did it
    ops = collections.Counter((e["name"], e["tid"], e["args"]["chan"], e["args"]["ok"])
                              for e in by_ph(doc, "i") if e["cat"] == "chan")
    assert ops == {("chan send", 1, ping, True): ROUNDS, ("chan recv", 1, pong, True): ROUNDS,
                   ("chan recv", player, ping, True): ROUNDS,
                   ("chan send", player, pong, True): ROUNDS,
                   ("chan close", 1, ping, True): 1, ("chan recv", player, ping, False): 1}

    # the player's life: created by main, ended once, counted
    ends = by_ph(doc, "i", name="end")
    assert [e["tid"] for e in ends] == [player] and "error" not in ends[0]["args"]
    gos = by_ph(doc, "i", name="go")
    assert [(e["tid"], e["args"]["goid"]) for e in gos] == [(1, player)]
    counts = [e["args"]["count"] for e in by_ph(doc, "C", name="goroutines")]
    assert counts == [1, 2, 1]
    # main was running at start() and still is at stop(): its last slice is left open
    last_main = [e for e in events if e["ph"] == "X" and e["tid"] == 1][-1]
    assert last_main["name"] == "running" and last_main["args"]["unfinished"] is True


def test_trace_context_manager_file_object_and_limit(ce):
    buf = io.StringIO()

    def main():
        with chanemu.trace.start(buf, limit=10) as tr:
            ping_pong(ce, 3)
        return tr
    tr = ce.run(main)
    doc = json.loads(buf.getvalue())
    assert doc["otherData"]["events"] == 10 and doc["otherData"]["dropped"] > 0
    assert tr.stopped


def test_trace_errors(ce, tmp_path):
    def main():
        tr = chanemu.trace.start(str(tmp_path / "a.json"))
        with pytest.raises(RuntimeError):
            chanemu.trace.start(str(tmp_path / "b.json"))
        tr.stop()
        tr.stop()                                 # idempotent
        rt = chanemu._impl.current_runtime()
        assert rt.tracer is None
        if ce.IMPL == "python":
            assert chanemu._pycore.chan.tracing is False     # chan events are off again
        with pytest.raises(RuntimeError):
            chanemu.trace.stop()
        return True
    assert ce.run(main)


def test_trace_of_a_goroutine_that_raises(ce, tmp_path):
    path = tmp_path / "t.json"

    def main():
        chanemu.trace.start(str(path))

        def boom():
            raise KeyError("x")
        try:
            ce.go(boom)
            ce.runtime.gosched()
        finally:
            chanemu.trace.stop()
    with pytest.raises(KeyError):
        ce.run(main)
    doc = load(path)
    ends = by_ph(doc, "i", name="end")
    assert len(ends) == 1 and "KeyError" in ends[0]["args"]["error"]
