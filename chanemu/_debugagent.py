"""The program's side of the debug server: one thread that answers the server's process.

It does as little as it can in the program's process: a snapshot taken at a safe point
(``chanemu._gsnap``), turned into tuples and pickled to the server's process, which renders
it. It waits on the pipe the rest of the time (without the GIL). The server's process decides
when to ask (it shares snapshots between requests and spaces them), so a burst of requests
costs the program one snapshot per duty period, not one GIL handoff per request.

The live view stays here (its tracer hook and its pause hold the program's thread): a live
view request runs in a short-lived thread of its own, and an event stream is relayed in
chunks until the page goes away. Wire format: see chanemu._debugserver.
"""
import threading
import time

from . import _debugserver, _gsnap
from ._debugserver import recv_msg, send_msg


class Agent:
    """start() starts the server's process, from the agent's own thread: on Linux that
    process gets SIGKILL when the thread that started it ends (PR_SET_PDEATHSIG), and this
    thread lives exactly as long as the server. Its result is ``proc``; its error is raised
    here."""

    def __init__(self, server, sock, start):
        self.server = server
        self.sock = sock
        self.proc = None
        self.start_error = None
        started = threading.Event()
        self.wlock = threading.Lock()
        self.lock = threading.Lock()
        self.streams = {}               # id -> Event set when its page went away
        self.done = False
        self.snapshots = 0              # answered so far, and the seconds they took here
        self.snapshot_seconds = 0.0
        self.thread = threading.Thread(target=self._run, args=(start, started), daemon=True,
                                       name=f"chanemu-pprof {server.host}:{server.port}")
        self.thread.start()
        started.wait()
        if self.start_error is not None:
            self.thread.join()
            raise self.start_error

    # -- the thread ---------------------------------------------------------------------------
    def _run(self, start, started):
        """Start the server's process, then serve its requests until it closes the pipe."""
        try:
            self.proc = start()
        except BaseException as e:      # raised in __init__, on the caller's thread
            self.start_error = e
            return
        finally:
            started.set()
        while True:
            msg = recv_msg(self.sock)
            if msg is None:
                break
            rid, op, args = msg
            if op == "snap":
                t0 = time.perf_counter()
                self._answer(rid, lambda: snapshot(self.server, args[0]))
                self.snapshots += 1
                self.snapshot_seconds += time.perf_counter() - t0
            elif op == "route":
                threading.Thread(target=self._route, args=(rid, *args), daemon=True,
                                 name="chanemu-pprof liveview").start()
            elif op == "cancel":
                self._cancel(rid)
        with self.lock:
            self.done = True
            cancels = list(self.streams.values())
        for ev in cancels:
            ev.set()

    def _answer(self, rid, fn):
        try:
            msg = (rid, "ok", fn())
        except Exception as e:          # reported to the request, which answers with it
            msg = (rid, "err", _error_of(e))
        self._send(msg)

    def _send(self, msg):
        try:
            send_msg(self.sock, self.wlock, msg)
            return True
        except OSError:                 # the server's process has gone
            return False

    # -- the live view ------------------------------------------------------------------------
    def _route(self, rid, path, q):
        from . import liveview
        try:
            status, body, ctype, extra = liveview.route(self.server, path, q)
        except Exception as e:
            self._send((rid, "err", _error_of(e)))
            return
        if not hasattr(body, "stream"):
            self._send((rid, "ok", (status, body, ctype, extra)))
            return
        cancel = threading.Event()
        with self.lock:
            if self.done:
                return
            self.streams[rid] = cancel
        try:
            if self._send((rid, "stream", (status, ctype, extra))):
                body.stream(_Pipe(self, rid, cancel))
            self._send((rid, "end", None))
        finally:
            with self.lock:
                self.streams.pop(rid, None)

    def _cancel(self, rid):
        with self.lock:
            ev = self.streams.get(rid)
        if ev is not None:
            ev.set()

    # -- closing ------------------------------------------------------------------------------
    def send_close(self):
        self._send(("close",))

    def close(self):
        """After the server's process has ended: the pipe closed, the thread joined."""
        try:
            self.sock.shutdown(2)
        except OSError:
            pass
        self.thread.join(5)
        self.sock.close()


class _Pipe:
    """The file a live view stream writes to: chunks to the server's process; OSError once
    the page has gone (as a socket would)."""

    def __init__(self, agent, rid, cancel):
        self.agent = agent
        self.rid = rid
        self.cancel = cancel

    def write(self, data):
        if self.cancel.is_set() or not self.agent._send((self.rid, "chunk", bytes(data))):
            raise OSError("the page went away")
        return len(data)

    def flush(self):
        if self.cancel.is_set():
            raise OSError("the page went away")


def _error_of(e):
    from . import pprof
    for cls, kind in ((pprof._BadRequest, "bad"), (pprof._NotFound, "notfound"),
                      (pprof._Unavailable, "unavailable")):
        if isinstance(e, cls):
            return kind, str(e)
    return "error", f"{type(e).__name__}: {e}"


def snapshot(server, key):
    """What the server's process asked for, as plain data. key: ("g", waits) the goroutines,
    ("leak", waits) the same with the leak detector's verdicts, ("chans", max_waiters) the
    channels' document, ("count",) the number of goroutines."""
    from . import pprof
    rt = server._rt
    kind = key[0]
    if kind == "count":
        return _gsnap.on_runtime(rt, rt.num_goroutine)
    if kind == "chans":
        return pprof._chans_listing(rt, key[1], server.values)
    if kind not in ("g", "leak"):
        raise ValueError(f"unknown snapshot {key!r}")
    snap = _gsnap.take(rt, waits=bool(key[1]), leaks=kind == "leak")
    return _debugserver.pack_snapshot(snap, _gsnap.twin_of(rt).IMPL)
