"""A program that serves the live view while a client thread looks at it and, through ``do``,
asks the program's goroutine 1 to act (start a goroutine, receive...) between two looks."""
import http.client
import json
import queue
import threading
import time

import chanemu
import chanemu.pprof

import obs_helpers

TIMEOUT = 20


class Program:
    """Handed to the client: ``base`` URL, ``srv``, ``rt``, ``env`` (what setup returned), and
    ``do(fn)``, which runs fn on goroutine 1 and returns its result."""

    def __init__(self):
        self.jobs = queue.Queue()

    def do(self, fn):
        box = {}
        done = threading.Event()
        self.jobs.put((fn, box, done))
        if not done.wait(TIMEOUT):
            raise AssertionError("the program did not run the job (paused?)")
        if "error" in box:
            raise box["error"]
        return box.get("value")

    def drain(self):
        while True:
            try:
                fn, box, done = self.jobs.get_nowait()
            except queue.Empty:
                return
            try:
                box["value"] = fn()
            except BaseException as e:      # handed to the client
                box["error"] = e
            done.set()

    # -- HTTP -------------------------------------------------------------------------------
    def request(self, path, method="GET", headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.srv.port, timeout=TIMEOUT)
        try:
            conn.request(method, "/debug/chanemu/" + path, headers=headers or {})
            r = conn.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            conn.close()

    def state(self):
        st, _, body = self.request("state")
        assert st == 200, body
        return json.loads(body)

    def control(self, op):
        st, _, body = self.request(f"control?op={op}", "POST")
        assert st == 200, body
        return json.loads(body)

    def chan(self, state, ch):
        cid = chanemu._views.chan_id(ch)
        found = [c for c in state["chans"] if c["id"] == cid]
        return found[0] if found else None


class Stream:
    """The page's server-sent event stream, read from a test: ``next(timeout)`` is the next
    picture (a dict)."""

    def __init__(self, prog):
        self.conn = http.client.HTTPConnection("127.0.0.1", prog.srv.port, timeout=TIMEOUT)
        self.conn.request("GET", "/debug/chanemu/events")
        self.resp = self.conn.getresponse()
        assert self.resp.status == 200
        assert self.resp.getheader("Content-Type") == "text/event-stream"

    def next(self):
        data = None
        while True:
            line = self.resp.fp.readline()
            if not line:
                raise EOFError("the stream ended")
            line = line.rstrip(b"\n")
            if line.startswith(b"data: "):
                data = line[len(b"data: "):]
            elif line == b"" and data is not None:
                return json.loads(data)

    def wait_for(self, pred, limit=5.0):
        """The first picture for which pred holds, and the seconds it took."""
        t0 = time.monotonic()
        while True:
            st = self.next()
            if pred(st):
                return st, time.monotonic() - t0
            if time.monotonic() - t0 > limit:
                raise AssertionError("no such picture within the limit")

    def close(self):
        self.resp.close()           # the response holds the socket open, not only conn
        self.conn.close()


def serve(ce, client, setup=None, clock="real", busy=None):
    """Run a program that serves the debug server; client(prog) runs in a thread meanwhile.
    busy: goroutines to start first (they keep the scheduler switching). Returns client's
    result."""
    prog = Program()

    def main():
        srv = chanemu.pprof.serve("127.0.0.1:0")
        prog.srv = srv
        prog.rt = chanemu._impl.current_runtime()
        prog.base = f"http://127.0.0.1:{srv.port}/debug/chanemu/"
        try:
            prog.env = setup() if setup else None
            box = {}

            def body():
                try:
                    box["value"] = client(prog)
                except BaseException as e:      # handed back below
                    box["error"] = e
            t = threading.Thread(target=body, daemon=True)
            t.start()
            while t.is_alive():
                prog.drain()
                obs_helpers.sleep(0.01)
            prog.drain()
            if "error" in box:
                raise box["error"]
            return box.get("value")
        finally:
            srv.close()
    return ce.run(main, clock=clock)


def pingpong(ce, counter, stop):
    """Two goroutines trading a value forever (until stop[0]): the scheduler never rests."""
    a, b = ce.Chan(), ce.Chan()

    def ping():
        while not stop[0]:
            a.send(counter[0])
            b.recv()

    def pong():
        while not stop[0]:
            a.recv()
            counter[0] += 1
            b.send(None)
    ce.go(ping)
    ce.go(pong)
    return a, b
