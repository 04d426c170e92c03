"""The debug server under a burst: 400 concurrent requests from loopback against a program with
5,000 parked goroutines, all answered within 30 s, while the program keeps its own pace.

The program's main goroutine ping-pongs with a partner over an unbuffered channel (its
throughput: round trips per second of wall time), first unscraped, then while a client thread
opens every connection at once. Also: a request line with no headers is dropped on time without
holding the server, and the server only shows the program that started it.
"""
import gc
import http.client
import json
import os
import selectors
import socket
import subprocess
import sys
import threading
import time

import chanemu
import chanemu.pprof

PATHS = ("/debug/pprof/goroutine?debug=1", "/debug/pprof/goroutine?debug=2",
         "/debug/pprof/goroutine?debug=0", "/debug/chanemu/chans")


def fetch(port, path, timeout):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, len(r.read())
    finally:
        conn.close()


def burst(port, n, deadline):
    """n concurrent GETs over PATHS, every connection opened at once, from one thread (a light
    client: the program's machine has two cores). [(status or "timeout"/"reset", seconds)]."""
    sel = selectors.DefaultSelector()
    t0 = time.monotonic()
    out = [None] * n
    for i in range(n):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        req = f"GET {PATHS[i % len(PATHS)]} HTTP/1.0\r\nHost: x\r\n\r\n".encode()
        sel.register(s, selectors.EVENT_WRITE, [i, req, bytearray()])
    left = n
    while left and time.monotonic() - t0 < deadline:
        for key, ev in sel.select(timeout=0.5):
            s, (i, req, buf) = key.fileobj, key.data
            try:
                if ev & selectors.EVENT_WRITE:
                    s.send(req)
                    sel.modify(s, selectors.EVENT_READ, key.data)
                    continue
                chunk = s.recv(1 << 16)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                chunk = None
            if chunk:
                buf += chunk
                continue
            status = buf.split(b" ", 2)[1] if chunk == b"" and buf.startswith(b"HTTP/") else b""
            out[i] = (int(status) if status.isdigit() else "reset", time.monotonic() - t0)
            sel.unregister(s)
            s.close()
            left -= 1
    for key in list(sel.get_map().values()):
        out[key.data[0]] = ("timeout", time.monotonic() - t0)
        key.fileobj.close()
    return out


def pingpong(ce, stop):
    """Round trips between main and a partner until stop() says so; returns their number."""
    c = ce.Chan()
    n = 0

    def partner():
        for v in c:
            c.send(v)
    ce.go(partner)
    while not stop():
        c.send(n)
        c.recv()
        n += 1
    c.close()
    return n


def quiet_rate(ce, seconds):
    t0 = time.monotonic()
    n = pingpong(ce, lambda: time.monotonic() - t0 > seconds)
    return n / (time.monotonic() - t0)


def load(ce, parked=5000, requests=400, window=3.0, deadline=30.0):
    """Run the scenario; returns a dict of figures."""
    def main():
        receivers, senders = ce.Chan(), ce.Chan()
        for i in range(parked):
            if i % 2:
                ce.go(receivers.recv)
            else:
                ce.go(senders.send, i)
        ce.runtime.gosched()
        assert ce.runtime.num_goroutine() == parked + 1
        gc.collect()
        srv = chanemu.pprof.serve("127.0.0.1:0")
        try:
            quiet_rate(ce, window / 4)          # warm up
            before = quiet_rate(ce, window / 2)
            # the client is another process, as a scraper is: its threads do not compete
            # with the program for this interpreter's GIL
            client = subprocess.Popen(
                [sys.executable, "-c", f"import test_pprof_load as t, json; print(json.dumps("
                 f"t.burst({srv.port}, {requests}, {deadline})))"],
                cwd=os.path.dirname(__file__), stdout=subprocess.PIPE, text=True)
            t1 = time.monotonic()
            busy = pingpong(ce, lambda: client.poll() is not None)
            took = time.monotonic() - t1
            results = json.loads(client.communicate(timeout=deadline)[0])
            after = quiet_rate(ce, window / 2)
            return {"quiet_rate": (before + after) / 2, "busy_rate": busy / took, "took": took,
                    "results": results}
        finally:
            srv.close()
    return ce.run(main)


def test_burst_of_400_against_5000_parked(ce):
    r = load(ce)
    statuses = [st for st, _ in r["results"]]
    assert statuses == [200] * 400, {s: statuses.count(s) for s in set(statuses)}
    assert max(t for _, t in r["results"]) < 30
    # The program keeps running while scraped. The goal is 80% of its unscraped pace; on a
    # loaded 2-core machine the GIL handoffs to the server's threads cost far more than that
    # (figures in the README), so this only guards against starving it (one snapshot per
    # request did). A handoff costs the same time on either switch backend, but the stack
    # backend's unscraped pace is about 2.4x greenlet's (3.12: 3.5M against 1.4M round trips/s,
    # busy 0.70M against 0.51M), so its floor is lower by as much.
    floor = 0.08 if ce.SWITCH == "stack" else 0.2
    assert r["busy_rate"] > floor * r["quiet_rate"], {k: v for k, v in r.items() if k != "results"}


def test_half_sent_request_does_not_hold_the_server(ce, monkeypatch):
    monkeypatch.setattr(chanemu.pprof._Handler, "timeout", 1)
    monkeypatch.setattr(chanemu.pprof, "MAX_WORKERS", 2)

    def main():
        srv = chanemu.pprof.serve("127.0.0.1:0")
        stalled = []
        try:
            for _ in range(4):          # more than the workers: each stalls one
                s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
                s.sendall(b"GET /debug/pprof/ HTTP/1.1\r\n")
                stalled.append(s)

            def client():
                t0 = time.monotonic()
                st = fetch(srv.port, "/debug/pprof/goroutine?debug=1", 20)[0]
                ends = [s.recv(100) for s in stalled]      # dropped: b"" (or an answer)
                return st, time.monotonic() - t0, ends
            from obs_helpers import run_beside
            return run_beside(client)
        finally:
            for s in stalled:
                s.close()
            srv.close()
    st, took, ends = ce.run(main)
    assert st == 200 and took < 10
    assert all(e == b"" or e.startswith(b"HTTP/1.") for e in ends)


def test_shows_only_its_own_program_and_values_can_be_hidden(ce):
    """A channel of another thread's program is not listed; values are cut reprs, or types."""
    other = {}
    ready, done = threading.Event(), threading.Event()

    def other_program():
        c = ce.Chan(1)
        c.send("Secret(api_key='s3cr3t')")
        other["id"] = chanemu._views.chan_id(c)
        ready.set()
        done.wait(30)
    t = threading.Thread(target=other_program)
    t.start()
    ready.wait(30)

    def main(values):
        c = ce.Chan(2)
        c.send("x" * 500)
        srv = chanemu.pprof.serve("127.0.0.1:0", values=values)
        try:
            from obs_helpers import run_beside
            st, body = run_beside(lambda: _get_json(srv.port))
        finally:
            srv.close()
        return st, body, chanemu._views.chan_id(c)
    try:
        for values in (True, False):
            st, doc, mine = ce.run(main, values)
            ids = [c["id"] for c in doc["channels"]]
            assert st == 200 and mine in ids and other["id"] not in ids
            assert "s3cr3t" not in json.dumps(doc)
            buf = {c["id"]: c for c in doc["channels"]}[mine]["buf"]
            if values:
                assert len(buf[0]) == chanemu.pprof.VALUE_REPR_MAX and buf[0].endswith("...")
            else:
                assert buf == ["<str>", "<NoneType>"] and doc["values"] is False
    finally:
        done.set()
        t.join(30)


def _get_json(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conn.request("GET", "/debug/chanemu/chans")
        r = conn.getresponse()
        return r.status, json.loads(r.read())
    finally:
        conn.close()


def test_leak_demo_pprof_bad_or_busy_address_says_so_first(ce):
    import os
    import subprocess
    import sys
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    env = dict(os.environ, CHANEMU_IMPL=ce.IMPL)
    try:
        for addr, why in ((f"127.0.0.1:{busy.getsockname()[1]}", "in use"),
                          ("127.0.0.1:http", "bad port"), ("nocolon", "not host:port"),
                          ("192.0.2.1:6060", "assign requested address")):
            p = subprocess.run([sys.executable, "-m", "chanemu", "leak-demo", "--heartbeats",
                                "1000", "--pprof", addr], env=env, capture_output=True,
                               text=True, timeout=60)
            assert p.returncode == 2 and p.stdout == "", (addr, p.stdout)
            lines = p.stderr.splitlines()
            assert len(lines) == 1 and addr in lines[0] and why in lines[0].lower(), lines
    finally:
        busy.close()
