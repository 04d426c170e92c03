"""chanemu.liveview over HTTP, without a browser: the picture's fields, the event stream (a park
shows up, pictures are coalesced), pause / step / resume, and what the view leaves behind.
The page itself, in headless Chromium, is tests/test_liveview_browser.py."""
import json
import re
import threading
import time

import pytest

import chanemu
import chanemu.trace
from chanemu.liveview import _live, _state

from liveview_helpers import Stream, pingpong, serve
from conftest import wait_parked


def test_picture_fields_and_queues(ce):
    """Every field of hchan by Go's name; the ring with its indices, empty slots as None; the
    queues in order, a select's sudogs marked and its goroutine on both channels."""
    def setup():
        c = ce.Chan(3)
        c.send("a")
        c.send("b")
        u = ce.Chan()
        gs = [ce.go(u.send, i) for i in range(3)]
        for g in gs:
            wait_parked(ce, g, "chan send")
        c.send("c")                          # full: the select's sends must wait
        d = ce.Chan()
        sel = ce.go(lambda: ce.select(ce.recv(d), ce.send(c, "x"), ce.send(c, "y")))
        wait_parked(ce, sel, "select")
        return c, u, gs, sel, d

    def client(prog):
        c, u, gs, sel, d = prog.env
        st = prog.state()
        assert st["impl"] == ce.IMPL and st["clock"] == "real" and st["paused"] is False
        pc, pu = prog.chan(st, c), prog.chan(st, u)
        assert {k: pc[k] for k in ("qcount", "dataqsiz", "sendx", "recvx", "closed")} == \
            {"qcount": 3, "dataqsiz": 3, "sendx": 0, "recvx": 0, "closed": 0}
        assert pc["slots"] == [[0, "'a'"], [1, "'b'"], [2, "'c'"]]
        assert pu["dataqsiz"] == 0 and pu["slots"] == []
        order = prog.do(lambda: [s.g.goid for s in u.hchan.sendq])     # park order
        assert sorted(order) == sorted(g.goid for g in gs)
        assert [s["g"] for s in pu["sendq"]["head"]] == order
        value_of = {g.goid: str(i) for i, g in enumerate(gs)}
        assert [s["elem"] for s in pu["sendq"]["head"]] == [value_of[g] for g in order]
        assert pu["recvq"] == {"len": 0, "head": [], "tail": []}
        assert prog.chan(st, d)["recvq"] == {"len": 1, "tail": [],
                                             "head": [{"g": sel.goid, "elem": None, "sel": True}]}
        assert pc["sendq"]["len"] == 2 and {s["elem"] for s in pc["sendq"]["head"]} == \
            {"'x'", "'y'"} and all(s["sel"] and s["g"] == sel.goid for s in pc["sendq"]["head"])
        rows = {g["g"]: g for g in st["goroutines"]}
        assert rows[gs[0].goid]["reason"] == "chan send"
        assert rows[gs[0].goid]["chans"] == [chanemu._views.chan_id(u)]
        assert sorted(rows[sel.goid]["chans"]) == sorted(
            [chanemu._views.chan_id(d), chanemu._views.chan_id(c)])
        prog.do(lambda: [c.recv() for _ in range(2)])      # ring: slot 2 held, then x or y
        pc = prog.chan(prog.state(), c)
        assert pc["recvx"] == 2 and pc["qcount"] == 2
        assert pc["slots"][0][1] is None or pc["slots"][0][1] in ("'x'", "'y'")
        assert pc["slots"][1][1] is None
        return True
    assert serve(ce, client, setup)


def test_picture_with_a_failed_make_kept_alive(ce):
    """A failed make whose exception is kept (here in the program's own variable; in a REPL,
    sys.last_exc) leaves nothing in the heap that breaks the picture."""
    def setup():
        try:
            ce.Chan(-1)
        except ce.Panic as e:
            kept = e                    # its traceback keeps the frames of the failed make
        return kept, ce.Chan(2)

    def client(prog):
        _, c = prog.env
        st = prog.state()
        assert "error" not in st and st["impl"] == ce.IMPL
        assert prog.chan(st, c)["dataqsiz"] == 2
        return True
    assert serve(ce, client, setup)


def test_a_broken_channel_costs_its_own_place_not_the_picture(ce, monkeypatch):
    """A channel whose struct cannot be read (here, reading it is made to fail) is left out of
    the picture and counted; every other channel is still in it."""
    bad_ids = set()
    real_rank, real_state = _state.rank, _state.chan_state

    def failing(real):
        def read(c, *a, **kw):
            if chanemu._views.chan_id(c) in bad_ids:
                raise RuntimeError("unreadable on purpose")
            return real(c, *a, **kw)
        return read

    def setup():
        bad, worse, good = ce.Chan(1), ce.Chan(1), ce.Chan(2)
        bad.send(1)
        g = ce.go(bad.send, 2)               # parks: the picture meets bad through g too
        wait_parked(ce, g, "chan send")
        good.send("kept")
        bad_ids.update({chanemu._views.chan_id(bad), chanemu._views.chan_id(worse)})
        return bad, worse, good

    monkeypatch.setattr(_state, "rank", failing(real_rank))
    monkeypatch.setattr(_state, "chan_state", failing(real_state))

    def client(prog):
        bad, worse, good = prog.env
        st = prog.state()
        assert "error" not in st, st.get("error")
        assert prog.chan(st, good)["slots"] == [[0, "'kept'"], [1, None]]
        assert st["unreadable"] == 2
        assert not {c["id"] for c in st["chans"]} & bad_ids
        return True
    assert serve(ce, client, setup)


def test_long_queue_and_ring_both_ends(ce):
    """A queue of 50 is its first and last QUEUE_ENDS sudogs and its length; a large ring
    keeps the slots from recvx on and those before sendx."""
    n = 50

    def setup():
        u = ce.Chan()
        gs = [ce.go(u.send, i) for i in range(n)]
        for g in gs:
            wait_parked(ce, g)
        big = ce.Chan(1000)
        for i in range(600):
            big.send(i)
        for _ in range(500):
            big.recv()
        return u, gs, big

    def client(prog):
        u, gs, big = prog.env
        st = prog.state()
        q = prog.chan(st, u)["sendq"]
        e = _state.QUEUE_ENDS
        order = prog.do(lambda: [s.g.goid for s in u.hchan.sendq])     # park order
        assert q["len"] == n == len(order)
        assert [s["g"] for s in q["head"]] == order[:e]
        assert [s["g"] for s in q["tail"]] == order[-e:]
        b = prog.chan(st, big)
        idx = [i for i, _ in b["slots"]]
        assert idx[0] == 500 and 599 in idx and len(idx) <= 2 * _state.RING_ENDS
        assert dict(b["slots"])[500] == "500"
        return True
    assert serve(ce, client, setup)


def test_short_repr_is_safe():
    class Bad:
        def __repr__(self):
            raise RuntimeError("no")
    assert _state.short_repr(Bad()) == "<repr failed: RuntimeError>"
    assert len(_state.short_repr("x" * 100)) == _state.VALUE_CHARS


def test_stream_shows_a_park_and_a_wake(ce):
    """A goroutine that parks is on the stream within a tick (under 100 ms unloaded; asserted
    with room for a loaded machine), with its event; its wake-up takes it off the queue."""
    def setup():
        return ce.Chan()

    def client(prog):
        u = prog.env
        s = Stream(prog)
        try:
            s.next()
            g = prog.do(lambda: ce.go(u.send, "hello"))
            st, took = s.wait_for(lambda st: (prog.chan(st, u) or {}).get("sendq", {})
                                  .get("len") == 1)
            assert prog.chan(st, u)["sendq"]["head"][0] == {"g": g.goid, "elem": "'hello'",
                                                          "sel": False}
            # its event: in this picture, or the next when the picture was taken off the
            # runtime thread between the enqueue and the hook's call
            s.wait_for(lambda st: any(e["text"].startswith(f"g{g.goid} parks [chan send]")
                                      for e in st["events"]))
            assert took < 1.0, took
            assert prog.do(u.recv) == "hello"
            s.wait_for(lambda st: prog.chan(st, u)["sendq"]["len"] == 0)
            s.wait_for(lambda st: any(e["text"] == f"g{g.goid} is readied by g1"
                                      for e in st["events"]))
            return took
        finally:
            s.close()
    took = serve(ce, client, setup)
    print(f"park seen on the stream after {took * 1000:.0f} ms")


def test_stream_is_coalesced_on_a_busy_program(ce):
    """Goroutines switching as fast as they can: at most one picture per tick reaches the page,
    and the hook records at most BUDGET events per tick."""
    counter, stop = [0], [False]

    def client(prog):
        s = Stream(prog)
        try:
            s.next()
            t0 = time.monotonic()
            pics = []
            while time.monotonic() - t0 < 1.0:
                pics.append(s.next())
            return pics, time.monotonic() - t0
        finally:
            s.close()
            stop[0] = True
    pics, dt = serve(ce, client, lambda: pingpong(ce, counter, stop))
    assert counter[0] > 100                  # the program ran meanwhile
    assert 2 <= len(pics) <= dt / _live.TICK + 3, len(pics)
    recorded = pics[-1]["seq"] - pics[0]["seq"]
    assert recorded <= _live.BUDGET * (dt / _live.TICK + 2), recorded


def test_pause_step_resume(ce):
    """Pause holds the program at a scheduling point; step-op lets exactly one channel
    operation through, step-sched one schedule; resume lets it go."""
    counter, stop = [0], [False]

    def client(prog):
        try:
            st = prog.control("pause")
            assert st["paused"] is True and st["where"] == "at a scheduling point"
            n = counter[0]
            time.sleep(0.1)
            assert counter[0] == n and prog.state()["paused"] is True
            st = prog.control("step-op")
            assert st["paused"] is True and ("chan" in st["where"]), st["where"]
            assert counter[0] - n <= 1
            runs = []
            for _ in range(4):                   # one goroutine after another
                st = prog.control("step-sched")
                assert st["paused"] is True and re.fullmatch(r"g\d+ runs", st["where"]), st
                runs.append(st["where"])
            assert len(set(runs)) >= 2, runs
            assert counter[0] - n <= 3
            st = prog.control("resume")
            assert st["paused"] is False
            deadline = time.monotonic() + 5
            while counter[0] < n + 10 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert counter[0] >= n + 10
            return True
        finally:
            stop[0] = True
    assert serve(ce, client, lambda: pingpong(ce, counter, stop))


def test_control_rejects_bad_requests(ce):
    def client(prog):
        assert prog.request("control?op=pause")[0] == 400          # a GET
        st, _, body = prog.request("control?op=explode", "POST")
        assert st == 400 and b"unknown op" in body
        assert prog.request("static/secret.py")[0] == 404
        assert prog.request("static/../../pprof.py")[0] == 404
        assert prog.request("nope")[0] == 404
        st, _, body = prog.request("control?op=resume", "POST",
                                   {"Origin": "http://evil.example"})
        assert st == 400 and b"another origin" in body                # a cross-site form
        here = f"http://127.0.0.1:{prog.srv.port}"
        assert prog.request("control?op=resume", "POST", {"Origin": here})[0] == 200
        st, hdr, body = prog.request("")
        assert st == 200 and hdr["Content-Type"].startswith("text/html") and b"view.js" in body
        st, hdr, body = prog.request("static/view.js")
        assert st == 200 and hdr["Content-Type"].startswith("text/javascript")
        return True
    assert serve(ce, client)


def test_closing_the_server_lets_a_paused_program_go(ce):
    counter, stop = [0], [False]

    def client(prog):
        prog.control("pause")
        n = counter[0]
        prog.srv.close()
        deadline = time.monotonic() + 5
        while counter[0] < n + 10 and time.monotonic() < deadline:
            time.sleep(0.01)
        stop[0] = True
        return counter[0] - n
    assert serve(ce, client, lambda: pingpong(ce, counter, stop)) >= 10


def test_page_gone_hook_removed_and_trace_takes_over(ce, tmp_path):
    """While a page watches, chanemu.trace can still start (it takes the tracer slot); once the
    last page has gone the view's hook is off the runtime."""
    path = tmp_path / "t.json"
    counter, stop = [0], [False]

    def client(prog):
        s = Stream(prog)
        s.next()
        s.next()
        tr = prog.do(lambda: chanemu.trace.start(str(path)))
        prog.do(lambda: chanemu.trace.stop())
        assert tr.events
        s.close()
        view = prog.srv._liveview
        deadline = time.monotonic() + 5
        while (view.clients or view.ticker) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert view.clients == 0 and view.ticker is None
        assert prog.do(lambda: prog.rt.tracer) is None
        stop[0] = True
        return prog.do(lambda: prog.rt.tracer)
    assert serve(ce, client, lambda: pingpong(ce, counter, stop)) is None
    assert json.loads(path.read_text())["traceEvents"]


def test_trace_records_channel_states(ce, tmp_path):
    """A trace's channel events carry the hchan after the operation, a park the hchans with
    the sudog queued, and every event the index of the runtime event it comes from."""
    path = tmp_path / "t.json"

    def main():
        c = ce.Chan(2)
        tr = chanemu.trace.start(str(path))
        c.send(1)
        g = ce.go(c.send, 2)
        while g.status != "dead":
            ce.runtime.gosched()
        h = ce.go(c.send, 3)
        wait_parked(ce, h)
        chanemu.trace.stop()
        return chanemu._views.chan_id(c), g.goid, h.goid, tr
    cid, g, h, tr = ce.run(main)
    doc = json.loads(path.read_text())
    evs = [e for e in doc["traceEvents"] if e["ph"] != "M"]
    sends = [e for e in evs if e.get("cat") == "chan"]
    assert [e["args"]["hchan"]["qcount"] for e in sends] == [1, 2]
    assert sends[-1]["args"]["hchan"]["slots"] == [[0, "1"], [1, "2"]]
    parks = [e for e in evs if e.get("cat") == "hchan"]
    assert [e["tid"] for e in parks] == [h]
    q = parks[0]["args"]["hchans"][0]
    assert q["id"] == cid and q["sendq"]["head"] == [{"g": h, "elem": "3", "sel": False}]
    assert all(0 <= e["args"]["ev"] < len(tr.events) for e in evs)


def test_trace_without_states(ce, tmp_path):
    path = tmp_path / "t.json"

    def main():
        c = ce.Chan(1)
        chanemu.trace.start(str(path), states=False)
        c.send(1)
        chanemu.trace.stop()
    ce.run(main)
    evs = json.loads(path.read_text())["traceEvents"]
    ops = [e for e in evs if e.get("cat") == "chan"]
    assert ops and "hchan" not in ops[0]["args"]


def test_cli_view_flag(capsys):
    from chanemu.__main__ import _parser
    from chanemu import liveview
    assert _parser().parse_args(["leak-demo", "--view"]).view is True
    assert liveview.cli_address(None) == "127.0.0.1:6060"
    assert "http://127.0.0.1:6060/debug/chanemu/" in capsys.readouterr().out
    with pytest.raises(ValueError):
        liveview.cli_address("nonsense")


def test_pause_waits_for_a_scheduling_point(ce):
    """A goroutine busy outside the scheduler cannot be paused at once: the page says the pause
    is pending, and the program stops at the first scheduling point after."""
    def client(prog):
        spinning = threading.Event()
        busy = threading.Thread(target=prog.do, args=(lambda: _spin(3.0, spinning),))
        busy.start()
        assert spinning.wait(10)            # goroutine 1 is away from the scheduler now
        st = prog.control("pause")
        assert st["paused"] is False and st["pausing"] is True
        deadline = time.monotonic() + 10
        while not prog.state()["paused"] and time.monotonic() < deadline:
            time.sleep(0.02)
        busy.join()
        assert prog.state()["paused"] is True
        assert prog.control("resume")["paused"] is False
        return True
    assert serve(ce, client)


def _spin(seconds, started):
    started.set()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def test_picture_rate_follows_its_cost(ce):
    """A picture that cost the runtime thread d seconds is followed by the next one no sooner
    than COST_SHARE * d later, whatever happens; cheap ones follow the tick rules."""
    def main():
        return _live.View(chanemu._impl.current_runtime(), threading.Event())
    v = ce.run(main)
    v.urgent, v.dirty = True, True
    assert v._due(_live.TICK, 0) and not v._due(_live.TICK, _live.BUSY_STREAK)
    v.cost = 0.1
    assert not v._due(0.1 * _live.COST_SHARE - 0.01, 0) and v._due(0.1 * _live.COST_SHARE, 0)
    v.cost, v.urgent = 0.0, False
    assert not v._due(_live.CHURN_TICK - 0.01, 0) and v._due(_live.CHURN_TICK, 0)
    v.dirty = False
    assert not v._due(_live.IDLE_REFRESH - 0.01, 0) and v._due(_live.IDLE_REFRESH, 0)


def test_trace_states_of_long_queues_are_capped(ce, tmp_path, monkeypatch):
    """Past TRACE_CAP sudogs a recorded queue is its head and a lower bound on its length, so
    recording an event never walks a whole long queue."""
    monkeypatch.setattr(chanemu.trace, "TRACE_CAP", 3)
    path = tmp_path / "t.json"

    def main():
        u = ce.Chan()
        chanemu.trace.start(str(path))
        gs = []
        for i in range(6):
            gs.append(ce.go(u.send, i))
            wait_parked(ce, gs[-1])
        chanemu.trace.stop()
        return [s.g.goid for s in u.hchan.sendq]
    order = ce.run(main)
    parks = [e["args"]["hchans"][0]["sendq"] for e in json.loads(path.read_text())["traceEvents"]
             if e.get("cat") == "hchan"]
    assert [q["len"] for q in parks] == [1, 2, 3, 4, 4, 4]
    assert [bool(q.get("atleast")) for q in parks] == [False] * 3 + [True] * 3
    assert [s["g"] for s in parks[-1]["head"]] == order[:4] and parks[-1]["tail"] == []
