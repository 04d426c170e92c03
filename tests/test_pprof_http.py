"""chanemu.pprof.serve: the debug HTTP server, over real sockets on 127.0.0.1 (ephemeral ports).

Requests come from a helper thread while the program's main goroutine idles in the scheduler
(``obs_helpers.run_beside``), or keeps scheduling (the consistency test), so the server's
snapshots are taken at safe points. Every request has a timeout; every server is closed.
"""
import http.client
import json
import socket
import threading

import pytest

import chanemu
import chanemu.pprof
from chanemu import _pbprof

import obs_helpers
from test_pprof import shapes, release, records, blocks, worker

TIMEOUT = 20


def get(port, path, method="GET", body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        conn.request(method, path, body=body)
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        conn.close()


def raw(port, data):
    """Send raw bytes; return the status line of the answer (or b'' if the server hung up)."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    return out.split(b"\r\n", 1)[0]


def serve_program(ce, client, setup=shapes, teardown=release):
    """Run a program of the given shape, serve it, run client(port) in a thread; returns the
    client's result. The server is closed whatever happens."""
    def main():
        state = setup(ce)
        srv = chanemu.pprof.serve("127.0.0.1:0")
        try:
            assert srv.host == "127.0.0.1" and srv.port > 0
            return obs_helpers.run_beside(lambda: client(srv.port))
        finally:
            srv.close()
            teardown(ce, *state)
    return ce.run(main)


def test_index_and_profiles(ce):
    def client(port):
        out = {}
        for path in ("/debug/pprof/", "/debug/pprof/goroutine?debug=1",
                     "/debug/pprof/goroutine?debug=2", "/debug/pprof/goroutine?debug=0",
                     "/debug/pprof/goroutine", "/debug/pprof/goroutine?debug=1&chanemu=1",
                     "/debug/pprof/goroutine?debug=7",
                     "/debug/pprof/goroutineleak?debug=1", "/debug/pprof/goroutineleak?debug=2",
                     "/debug/pprof/goroutineleak", "/debug/pprof/cmdline"):
            out[path] = get(port, path)
        out["redirect"] = get(port, "/debug/pprof")
        out["head"] = get(port, "/debug/pprof/goroutine?debug=1", method="HEAD")
        return out
    out = serve_program(ce, client)

    st, h, body = out["/debug/pprof/"]
    assert st == 200 and h["Content-Type"] == "text/html; charset=utf-8"
    page = body.decode()
    for link in ("goroutine?debug=1", "goroutineleak?debug=1", "goroutine?debug=2",
                 "/debug/chanemu/chans"):
        assert link in page
    assert "<tr><td>15</td><td><a href='goroutine?debug=1'>goroutine</a></td></tr>" in page

    st, h, body = out["/debug/pprof/goroutine?debug=1"]
    assert st == 200 and h["Content-Type"] == "text/plain; charset=utf-8"
    text = body.decode()
    assert text.startswith("goroutine profile: total 15\n")
    assert sorted(r[0] for r in records(text)) == [1, 1, 1, 2, 3, 7]
    assert "# chanemu:" not in text
    assert h["X-Content-Type-Options"] == "nosniff"

    st, h, body = out["/debug/pprof/goroutine?debug=2"]
    bs = blocks(body.decode())
    assert len(bs) == 15
    assert [b[1] for b in bs if b[0] == 1] == ["sleep"]     # main, idle in the scheduler
    assert len(blocks(out["/debug/pprof/goroutine?debug=7"][2].decode())) == 15  # >= 2: stacks

    for path in ("/debug/pprof/goroutine?debug=0", "/debug/pprof/goroutine"):
        st, h, body = out[path]
        assert st == 200 and h["Content-Type"] == "application/octet-stream"
        assert h["Content-Disposition"] == 'attachment; filename="goroutine"'
        prof = _pbprof.decode(body)
        assert prof["sample_type"] == ("goroutine", "count")
        assert sum(v[0] for v, _ in prof["samples"]) == 15

    text = out["/debug/pprof/goroutine?debug=1&chanemu=1"][2].decode()
    assert "# chanemu: chan " in text and "sendq positions 1-7 of 7" not in text
    assert "sendq positions 1-5 of 5" in text and "sendq positions 1-2 of 2" in text

    text = out["/debug/pprof/goroutineleak?debug=1"][2].decode()
    assert text.startswith("goroutineleak profile: total 4\n")
    text = out["/debug/pprof/goroutineleak?debug=2"][2].decode()
    assert sum("(leaked)" in b[1] for b in blocks(text)) == 4
    st, h, body = out["/debug/pprof/goroutineleak"]
    assert h["Content-Disposition"] == 'attachment; filename="goroutineleak"'
    assert _pbprof.decode(body)["sample_type"] == ("goroutineleak", "count")

    st, h, body = out["/debug/pprof/cmdline"]
    assert st == 200 and body.split(b"\x00")[0]

    st, h, body = out["redirect"]
    assert st == 301 and h["Location"] == "/debug/pprof/"
    st, h, body = out["head"]
    assert st == 200 and body == b"" and int(h["Content-Length"]) > 0


def test_chans_json(ce):
    def setup(ce):
        state = shapes(ce)
        buffered = ce.Chan(3)
        buffered.send("x")
        buffered.send("y")
        return state + (buffered,)

    def teardown(ce, c, r, a, b, buffered):
        release(ce, c, r, a, b)

    ids = {}

    def client(port):
        st, h, body = get(port, "/debug/chanemu/chans")
        st2, h2, body2 = get(port, "/debug/chanemu/chans?max_waiters=2")
        return (st, h, json.loads(body)), (st2, json.loads(body2))

    def main():
        state = setup(ce)
        for name, ch in zip("crab", state[:4]):
            ids[name] = chanemu._views.chan_id(ch)
        ids["buffered"] = chanemu._views.chan_id(state[4])
        srv = chanemu.pprof.serve("127.0.0.1:0")
        try:
            return obs_helpers.run_beside(lambda: client(srv.port))
        finally:
            srv.close()
            teardown(ce, *state)
    (st, h, doc), (st2, doc2) = ce.run(main)
    assert st == 200 and h["Content-Type"] == "application/json"
    assert doc["impl"] == ce.IMPL and doc["num_goroutine"] == 15
    chans = {c["id"]: c for c in doc["channels"]}
    c = chans[ids["c"]]
    assert c["dataqsiz"] == 0 and c["len_sendq"] == 5 and len(c["sendq"]) == 5
    assert [s["wait_reason"] for s in c["sendq"]] == ["chan send"] * 5
    assert [s["elem"] for s in c["sendq"]] == ["1"] * 5
    goids = [s["g"] for s in c["sendq"]]
    assert goids == sorted(goids)             # FIFO: in the order they parked
    assert chans[ids["r"]]["len_recvq"] == 3
    assert [s["is_select"] for s in chans[ids["a"]]["recvq"]] == [True, True]
    assert [s["is_select"] for s in chans[ids["b"]]["sendq"]] == [True, True]
    buf = chans[ids["buffered"]]
    assert (buf["qcount"], buf["dataqsiz"], buf["sendx"], buf["recvx"]) == (2, 3, 2, 0)
    assert buf["buf"] == ["'x'", "'y'", "None"]
    assert 0 not in chans      # the nil channel is not listed
    assert st2 == 200
    c2 = {c["id"]: c for c in doc2["channels"]}[ids["c"]]
    assert len(c2["sendq"]) == 2 and c2["len_sendq"] == 5 and c2["truncated"] is True


def test_bad_requests(ce):
    def client(port):
        out = {}
        for path in ("/", "/debug", "/debug/pprof/heap", "/debug/pprof/goroutine/extra",
                     "/debug/chanemu/nope", "/debug/chanemu/chans/x", "/%ff%fe",
                     "/debug/pprof/goroutine?debug=x", "/debug/pprof/goroutine?debug=-1",
                     "/debug/pprof/goroutine?debug=1.5", "/debug/pprof/goroutine?debug=",
                     "/debug/pprof/goroutine?seconds=0", "/debug/pprof/goroutine?seconds=abc",
                     "/debug/pprof/goroutine?seconds=1&debug=1",
                     "/debug/pprof/goroutine?seconds=100000",
                     "/debug/pprof/goroutineleak?seconds=-5",
                     "/debug/chanemu/chans?max_waiters=-3",
                     "/debug/pprof/goroutine?debug=1&chanemu=yes",
                     "/debug/pprof/goroutine?debug=%00"):
            out[path] = get(port, path)
        out["POST"] = get(port, "/debug/pprof/goroutine", method="POST", body=b"x")
        out["garbage"] = raw(port, b"\x00\x01garbage\r\n\r\n")
        out["http0.9"] = raw(port, b"GET\r\n\r\n")
        out["bad version"] = raw(port, b"GET / HTTP/9.9.9\r\n\r\n")
        out["huge header"] = raw(port, b"GET /debug/pprof/ HTTP/1.1\r\nX: " + b"a" * 70000 +
                                 b"\r\n\r\n")
        out["after"] = get(port, "/debug/pprof/goroutine?debug=1")    # still serving
        return out
    out = serve_program(ce, client)
    for path in ("/", "/debug", "/debug/pprof/heap", "/debug/pprof/goroutine/extra",
                 "/debug/chanemu/nope", "/debug/chanemu/chans/x", "/%ff%fe"):
        assert out[path][0] == 404, path
    assert out["/debug/pprof/heap"][2] == b"Unknown profile\n"
    assert out["/debug/pprof/heap"][1]["X-Go-Pprof"] == "1"
    for path, st in out.items():
        if "?" in path and "debug=1&chanemu=yes" not in path:
            assert st[0] == 400, (path, st)
    assert out["/debug/pprof/goroutine?debug=1&chanemu=yes"][0] == 400
    assert out["/debug/pprof/goroutine?seconds=0"][2] == \
        b'invalid value for "seconds" - must be a positive integer\n'
    assert out["/debug/pprof/goroutine?seconds=1&debug=1"][2] == \
        b"seconds and debug params are incompatible\n"
    assert out["POST"][0] == 501
    assert out["garbage"].startswith(b"HTTP/1.") and b" 400 " in out["garbage"]
    assert b" 400 " in out["http0.9"]
    assert b" 505 " in out["bad version"] or b" 400 " in out["bad version"]
    assert b" 431 " in out["huge header"] or b" 400 " in out["huge header"]
    assert out["after"][0] == 200


def test_delta_profile(ce, monkeypatch):
    """seconds=N with debug=0: the difference between two profiles N seconds apart."""
    first = threading.Event()       # the server took its first snapshot
    take = chanemu._gsnap.take

    def spy(*args, **kwargs):
        snap = take(*args, **kwargs)
        first.set()
        return snap
    monkeypatch.setattr(chanemu._gsnap, "take", spy)

    def setup(ce):
        c = ce.Chan()

        def later():
            while not first.is_set():
                obs_helpers.sleep(0.01)
            for _ in range(3):
                ce.go(worker, c)
        ce.go(later)
        return (c,)

    def teardown(ce, c):
        for _ in range(3):
            c.recv()

    def client(port):
        return get(port, "/debug/pprof/goroutine?seconds=1")
    st, h, body = serve_program(ce, client, setup, teardown)
    assert st == 200
    assert h["Content-Disposition"] == 'attachment; filename="goroutine-delta"'
    prof = _pbprof.decode(body)
    assert prof["duration_nanos"] >= 1_000_000_000
    deltas = {tuple(f[0] for f in frames): v[0] for v, frames in prof["samples"]}
    assert deltas[("runtime.gopark", "runtime.chansend", "runtime.chansend1",
                   "test_pprof.worker")] == 3
    # the goroutine that started them ended meanwhile: a negative count for its stack
    assert -1 in deltas.values()


def test_loopback_by_default_and_clean_close(ce):
    def main():
        srv = chanemu.pprof.serve(":0")
        try:
            assert srv.host == "127.0.0.1"
            assert srv.url == f"http://127.0.0.1:{srv.port}/debug/pprof/"
            port = srv.port
            st = obs_helpers.run_beside(lambda: get(port, "/debug/pprof/goroutine?debug=1"))[0]
            assert st == 200
            thread = srv._thread
        finally:
            srv.close()
        srv.close()                 # idempotent
        assert srv.closed and not thread.is_alive()
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT).close()
        with chanemu.pprof.serve("127.0.0.1:0") as srv2:
            assert not srv2.closed
        assert srv2.closed and not srv2._thread.is_alive()
        return True
    assert ce.run(main)
    for bad in ("nocolon", "127.0.0.1:http", "127.0.0.1:70000"):
        with pytest.raises(ValueError):
            chanemu.pprof.serve(bad)


def test_snapshots_are_consistent_while_goroutines_run(ce):
    """The program keeps sending and receiving while the server takes snapshots from its own
    thread: each one shows the ring buffer and the queues between two operations."""
    N = 25

    def main():
        q = ce.Chan(3)
        done = ce.Chan()
        stop = []

        def producer(k):
            i = 1
            while not stop:
                q.send(i)
                i += 1
                if i % 5 == 0:
                    ce.runtime.gosched()
            done.send(k)

        def consumer():
            for _ in q:
                pass
        for k in range(3):
            ce.go(producer, k)
        for _ in range(2):
            ce.go(consumer)
        qid = chanemu._views.chan_id(q)
        srv = chanemu.pprof.serve("127.0.0.1:0")
        box = {}

        def client():
            try:
                docs, dumps = [], []
                for _ in range(N):
                    docs.append(json.loads(get(srv.port, "/debug/chanemu/chans")[2]))
                    dumps.append(get(srv.port, "/debug/pprof/goroutine?debug=2")[2].decode())
                box["out"] = docs, dumps
            except BaseException as e:
                box["error"] = e
        t = threading.Thread(target=client)
        t.start()
        try:
            while t.is_alive():
                ce.runtime.gosched()      # busy: the safe points come with the scheduling
        finally:
            t.join()
            srv.close()
        stop.append(True)
        for _ in range(3):
            done.recv()
        q.close()
        if "error" in box:
            raise box["error"]
        return qid, box["out"]
    qid, (docs, dumps) = ce.run(main)
    for doc in docs:
        h = {c["id"]: c for c in doc["channels"]}[qid]
        n, size = h["qcount"], h["dataqsiz"]
        assert 0 <= n <= size == 3
        assert (h["recvx"] + n) % size == h["sendx"]
        held = [(h["recvx"] + i) % size for i in range(n)]
        for i, v in enumerate(h["buf"]):
            assert (v != "None") == (i in held), h        # received slots are cleared
        assert not (n > 0 and h["recvq"]), h
        assert not (n < size and h["sendq"]), h
        assert all(s["wait_reason"] == "chan send" and s["elem"] != "None" for s in h["sendq"])
        assert all(s["wait_reason"] == "chan receive" for s in h["recvq"])
    for dump in dumps:
        bs = blocks(dump)
        assert 1 <= len(bs) <= 6
        assert all(b[1] in ("running", "runnable", "chan send", "chan receive") for b in bs)


def test_leak_demo_serves_pprof(ce):
    """python -m chanemu leak-demo --pprof ADDR serves the endpoints while the program runs."""
    import os
    import re
    import subprocess
    import sys
    env = dict(os.environ, CHANEMU_IMPL=ce.IMPL)
    p = subprocess.Popen([sys.executable, "-m", "chanemu", "leak-demo", "--duration", "60s",
                          "--every-ms", "100", "--pprof", "127.0.0.1:0"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        url = None
        for line in p.stdout:
            m = re.search(r"pprof: serving (http://127\.0\.0\.1:(\d+)/debug/pprof/)", line)
            if m:
                url, port = m.group(1), int(m.group(2))
                break
        assert url, p.stderr.read()
        st, h, body = get(port, "/debug/pprof/goroutine?debug=1")
        assert st == 200 and body.startswith(b"goroutine profile: total ")
        assert b"chanemu.leakdemo.article.program" in body
        st, h, body = get(port, "/debug/chanemu/chans")
        doc = json.loads(body)
        assert st == 200 and [c["dataqsiz"] for c in doc["channels"]] == [5]
    finally:
        p.terminate()           # the demo would run for a minute: stop it, we have seen it
        p.communicate(timeout=TIMEOUT)


def test_close_ends_idle_connections_and_requests_in_progress(ce, monkeypatch):
    first = threading.Event()
    take = chanemu._gsnap.take

    def spy(*args, **kwargs):
        snap = take(*args, **kwargs)
        first.set()
        return snap
    monkeypatch.setattr(chanemu._gsnap, "take", spy)

    def main():
        import time
        srv = chanemu.pprof.serve("127.0.0.1:0")
        idle = socket.create_connection(("127.0.0.1", srv.port), timeout=TIMEOUT)
        box = {}

        def client():
            try:
                box["r"] = get(srv.port, "/debug/pprof/goroutine?seconds=50")
            except (OSError, http.client.HTTPException) as e:     # cut off: fine too
                box["r"] = e
        t = threading.Thread(target=client)
        t.start()
        while not first.is_set():           # the delta's first snapshot is taken
            obs_helpers.sleep(0.01)
        t0 = time.monotonic()
        srv.close()
        took = time.monotonic() - t0
        t.join(TIMEOUT)
        assert not t.is_alive()
        assert idle.recv(100) == b""        # the idle connection was shut down
        idle.close()
        return took, box["r"]
    took, r = ce.run(main)
    assert took < 10                        # not the 50 s of the delta, not the 30 s timeout
    assert isinstance(r, (OSError, http.client.HTTPException)) or r[0] == 503
