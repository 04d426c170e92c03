"""The debug server's own process: every HTTP request parsed and every answer rendered here.

Why a process. In the program's process, the server's threads took the GIL from the program's
thread for every request (parsing, rendering the dump of thousands of goroutines, writing it):
a scraped program kept a third to four fifths of its pace. Here they compete for a core, not for
the GIL. The program's side (chanemu._debugagent) only takes snapshots at a safe point and
ships them as plain tuples.

``chanemu.pprof.Server`` binds the listening socket, starts ``python -m chanemu._debugserver
CTRL LISTEN`` (two inherited descriptors: the control socket, one end of a socketpair, and the
listening socket) and sends the configuration as the first message. Messages are pickles
behind an 8-byte length, both ways; only the program writes to this pipe, so they are trusted.

- process to program: ``(id, "snap", (key,))``, a snapshot (see ``Shared`` for how requests
  share them); ``(id, "route", (path, query))``, a live view request, run in the program
  (the live view's hook and pause live there); ``(id, "cancel", None)``, its page went away.
- program to process: ``(id, "ok", value)``, ``(id, "err", (kind, text))``,
  ``(id, "stream", head)`` then ``(id, "chunk", bytes)``... ``(id, "end", None)``; and
  ``("close",)``: shut the connections and exit.

The process exits when the control socket reaches EOF (the program ended, however it ended),
and on Linux when the thread that started it ends (PR_SET_PDEATHSIG).
"""
import html
import io
import json
import os
import pickle
import queue
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

_HEAD = struct.Struct("!Q")
NICE = 10               # the server's process runs at this lower priority than the program


# -- the wire ------------------------------------------------------------------------------
def send_msg(sock, lock, msg):
    data = pickle.dumps(msg, protocol=pickle.HIGHEST_PROTOCOL)
    with lock:
        sock.sendall(_HEAD.pack(len(data)))
        sock.sendall(data)


def recv_msg(sock):
    """The next message, or None at EOF (or when the socket is shut down)."""
    try:
        head = _recv_exact(sock, _HEAD.size)
        if head is None:
            return None
        body = _recv_exact(sock, _HEAD.unpack(head)[0])
    except OSError:
        return None
    return None if body is None else pickle.loads(body)


def _recv_exact(sock, n):
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = sock.recv_into(view[got:])
        if k == 0:
            return None
        got += k
    return buf


def spawn(ctrl, listener):
    """Start the server's process on these two sockets (ctrl: its end of the control pipe).
    fork+exec of a fresh interpreter: nothing of the program's threads is copied."""
    import chanemu
    root = os.path.dirname(os.path.dirname(os.path.abspath(chanemu.__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    fds = (ctrl.fileno(), listener.fileno())
    proc = subprocess.Popen([sys.executable, "-m", "chanemu._debugserver", *map(str, fds)],
                            pass_fds=fds, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, env=env, close_fds=True)
    return proc


# -- the link to the program ------------------------------------------------------------------
class Remote(Exception):
    """An error the program's side reported that is none of the HTTP ones."""


def _error(kind, text):
    from . import pprof
    cls = {"bad": pprof._BadRequest, "notfound": pprof._NotFound,
           "unavailable": pprof._Unavailable}.get(kind, Remote)
    return cls(text)


class Link:
    """This end of the control socket: requests out, answers routed to their askers by id."""

    def __init__(self, sock):
        self.sock = sock
        self.wlock = threading.Lock()
        self.lock = threading.Lock()
        self.next_id = 0
        self.waiting = {}               # id -> SimpleQueue of (kind, value)
        self.closed = False

    def open(self, op, *args):
        q = queue.SimpleQueue()
        with self.lock:
            if self.closed:
                raise _error("unavailable", "the server is closing")
            self.next_id += 1
            rid = self.next_id
            self.waiting[rid] = q
        try:
            self.send((rid, op, args))
        except BaseException:
            self.forget(rid)
            raise
        return rid, q

    def send(self, msg):
        try:
            send_msg(self.sock, self.wlock, msg)
        except OSError:
            raise _error("unavailable", "the program has gone") from None

    def forget(self, rid):
        with self.lock:
            self.waiting.pop(rid, None)

    def call(self, op, *args, timeout):
        rid, q = self.open(op, *args)
        try:
            kind, value = q.get(timeout=timeout)
        except queue.Empty:
            raise _error("unavailable", "chanemu: the program did not answer in time") from None
        finally:
            self.forget(rid)
        if kind == "err":
            raise _error(*value)
        return value

    def run(self):
        """Route the program's messages until it closes the link (or ends)."""
        while True:
            msg = recv_msg(self.sock)
            if msg is None or msg[0] == "close":
                break
            rid, kind, value = msg
            with self.lock:
                q = self.waiting.get(rid)
            if q is not None:
                q.put((kind, value))
        with self.lock:
            self.closed = True
            waiting = list(self.waiting.values())
        for q in waiting:
            q.put(("err", ("unavailable", "the server is closing")))


# -- shared snapshots --------------------------------------------------------------------------
class _Flight:
    __slots__ = ("done", "value", "error")

    def __init__(self):
        self.done = threading.Event()
        self.value = self.error = None


class Shared:
    """Snapshots shared between requests. A snapshot pauses the program, so a burst of
    requests must not take one each. A request is answered with the last snapshot of its kind
    if it is younger than max_age, or if a newer one is being taken or may not be taken yet;
    otherwise it takes a new one (requests with nothing to answer meanwhile wait for it).
    Snapshots are taken one at a time, spaced so that they take at most ``duty`` of the time:
    after one that took t (the program's side, from the request to the answer), none for
    t * (1/duty - 1)."""

    def __init__(self, fetch, stop, duty, min_age, wait):
        self.fetch = fetch              # key -> value, from the program
        self.stop = stop
        self.duty = duty
        self.min_age = self.max_age = min_age
        self.wait = wait
        self.lock = threading.Lock()
        self.flights = {}               # key -> _Flight being computed
        self.done = {}                  # key -> (monotonic time taken, result)
        self.one = threading.Lock()     # one snapshot at a time
        self.next_at = 0.0              # monotonic time before which no new snapshot starts

    def get(self, key):
        with self.lock:
            now = time.monotonic()
            hit = self.done.get(key)
            fl = self.flights.get(key)
            if hit is not None and (now - hit[0] < self.max_age or fl is not None or
                                    now < self.next_at):
                return hit[1]       # fresh enough, or a newer one is on its way
            lead = fl is None
            if lead:
                fl = self.flights[key] = _Flight()
        if lead:
            self._lead(key, fl)
        elif not fl.done.wait(self.wait):
            raise _error("unavailable", "chanemu: the snapshot took too long")
        if fl.error is not None:
            raise fl.error
        return fl.value

    def fresh(self, key):
        """A snapshot taken after this call (a delta profile's ends), within the duty cycle."""
        with self.one:
            value = self._paced(key)
        with self.lock:
            self.done[key] = (time.monotonic(), value)
        return value

    def _lead(self, key, fl):
        try:
            with self.one:
                fl.value = self._paced(key)
        except BaseException as e:      # handed to every request waiting for this one
            fl.error = e
        with self.lock:
            del self.flights[key]
            if fl.error is None:
                self.done[key] = (time.monotonic(), fl.value)
        fl.done.set()

    def _paced(self, key):
        """fetch(key) once the duty cycle allows (holding self.one)."""
        pause = self.next_at - time.monotonic()
        if pause > 0 and self.stop.wait(pause):
            raise _error("unavailable", "the server is closing")
        t0 = time.monotonic()
        try:
            return self.fetch(key)
        finally:
            took = time.monotonic() - t0
            self.next_at = time.monotonic() + took * (1 / self.duty - 1)
            self.max_age = max(self.min_age, took / self.duty)


# -- snapshots as plain data -------------------------------------------------------------------
def pack_snapshot(snap, impl):
    """A _gsnap.Snapshot as tuples (what the program's side sends: cheap to pickle)."""
    recs = [(r.goid, r.status, r.reason, r.since, r.frames, r.created, r.parent,
             tuple((w.cid, w.queue, w.pos, w.qlen, w.qcount, w.dataqsiz, w.closed)
                   for w in r.waits), r.leaked) for r in snap.records]
    cur = snap.current.goid if snap.current is not None else None
    return (impl, snap.now, cur, recs)


def unpack_snapshot(data):
    from ._gsnap import GRecord, Snapshot, Wait
    impl, now, cur, recs = data
    snap = Snapshot()
    snap.impl, snap.now, snap.current = impl, now, None
    snap.records = []
    snap.chans = snap.leaked = None
    for goid, status, reason, since, frames, created, parent, waits, leaked in recs:
        r = GRecord()
        r.g = None
        r.goid, r.status, r.reason, r.since, r.frames = goid, status, reason, since, frames
        r.created, r.parent, r.leaked = created, parent, leaked
        r.waits = tuple(Wait(*w) for w in waits)
        if goid == cur:
            snap.current = r
        snap.records.append(r)
    return snap


# -- the site ------------------------------------------------------------------------------------
class Site:
    """The routes, rendered here from the program's snapshots."""

    def __init__(self, link, cfg):
        self.link = link
        self.cfg = cfg
        self.stop = threading.Event()
        self.shared = Shared(self._fetch, self.stop, cfg["duty"], cfg["min_age"], cfg["wait"])
        self.renders = {}               # what was asked -> (the snapshot, its answer)
        self.render_lock = threading.Lock()

    def _rendered(self, what, snap, render):
        """render(), once per snapshot: the requests that share a snapshot share its answer
        (a dump of 5,000 goroutines is rendered once, not once per request). One at a time:
        they are CPU work under this process's GIL anyway."""
        with self.render_lock:
            hit = self.renders.get(what)
            if hit is not None and hit[0] is snap:
                return hit[1]
            out = render()
            self.renders[what] = (snap, out)
            return out

    def _fetch(self, key):
        value = self.link.call("snap", key, timeout=self.cfg["wait"])
        return unpack_snapshot(value) if key[0] in ("g", "leak") else value

    def _route(self, path, q):
        from . import pprof
        if path == "/debug/pprof":
            return 301, "", "text/plain; charset=utf-8", [("Location", "/debug/pprof/")]
        if path == "/debug/pprof/":
            return 200, self._index(), "text/html; charset=utf-8", []
        if path.startswith("/debug/pprof/"):
            name = path[len("/debug/pprof/"):]
            if name in ("goroutine", "goroutineleak"):
                return self._profile(name, q)
            if name == "cmdline":
                return 200, "\x00".join(self.cfg["argv"]), "text/plain; charset=utf-8", []
            raise pprof._NotFound("Unknown profile")
        if path == "/debug/chanemu/chans":
            return self._chans(q)
        if path.startswith("/debug/chanemu/"):
            return self._liveview(path, q)
        raise pprof._NotFound("404 page not found")

    def _index(self):
        from .pprof import _DESCRIPTIONS
        counts = self.shared.get(("count",))
        rows = [("cmdline", None), ("goroutine", counts), ("goroutineleak", None)]
        b = io.StringIO()
        b.write("<html>\n<head>\n<title>/debug/pprof/</title>\n<style>\n.profile-name{\n"
                "\tdisplay:inline-block;\n\twidth:6rem;\n}\n</style>\n</head>\n<body>\n"
                "/debug/pprof/ (chanemu, %s)\n<br>\n<p>Set debug=1 as a query parameter to "
                "export in legacy text format</p>\n<br>\nTypes of profiles available:\n<table>\n"
                "<thead><td>Count</td><td>Profile</td></thead>\n" % html.escape(self.cfg["impl"]))
        for name, count in rows:
            b.write(f"<tr><td>{'' if count is None else count}</td><td><a href='{name}?debug=1'>"
                    f"{name}</a></td></tr>\n")
        b.write("</table>\n<a href=\"goroutine?debug=2\">full goroutine stack dump</a>\n<br>\n"
                "<a href=\"/debug/chanemu/chans\">the program's live channels' hchans (JSON)</a>\n<br>\n"
                "<a href=\"/debug/chanemu/\">live view: every channel, drawn as it runs</a>\n"
                "<br>\n"
                "<p>\nProfile Descriptions:\n<ul>\n")
        for name, _ in rows:
            b.write(f"<li><div class=profile-name>{name}: </div> "
                    f"{html.escape(_DESCRIPTIONS[name])}</li>\n")
        b.write("</ul>\n</p>\n</body>\n</html>")
        return b.getvalue()

    def _profile(self, name, q):
        from . import pprof
        debug = pprof._int_param(q, "debug", 0)
        annotate = pprof._int_param(q, "chanemu", 0) > 0
        leak = name == "goroutineleak"
        if q.get("seconds") is not None:
            return self._delta(name, q, debug)
        debug = min(debug, 2)
        snap = self.shared.get(("leak" if leak else "g", annotate and debug > 0))
        body = self._rendered((name, debug, annotate), snap,
                              lambda: _render_profile(name, snap, debug, annotate))
        if debug == 0:
            return (200, body, "application/octet-stream",
                    [("Content-Disposition", f'attachment; filename="{name}"')])
        return 200, body, "text/plain; charset=utf-8", []

    def _delta(self, name, q, debug):
        from . import pprof, _pbprof
        try:
            sec = int(q["seconds"], 10)
        except ValueError:
            sec = 0
        if sec <= 0:
            raise pprof._BadRequest('invalid value for "seconds" - must be a positive integer')
        if debug != 0:
            raise pprof._BadRequest("seconds and debug params are incompatible")
        if sec > self.cfg["max_delta"]:
            raise pprof._BadRequest(
                f'"seconds" exceeds the server\'s limit of {self.cfg["max_delta"]}')
        leak = name == "goroutineleak"
        key = ("leak" if leak else "g", False)

        def counts():
            snap = self.shared.fresh(key)
            recs = [r for r in snap.records if r.leaked] if leak else snap.records
            return {st: n for n, st, _ in pprof._group(recs)}
        t0 = time.monotonic_ns()
        c0 = counts()
        if self.stop.wait(sec):
            raise pprof._Unavailable("the server is closing")
        c1 = counts()
        dur = time.monotonic_ns() - t0
        samples = []
        for st in list(c1) + [s for s in c0 if s not in c1]:
            d = c1.get(st, 0) - c0.get(st, 0)
            if d:
                samples.append((d, st))
        data = _pbprof.encode(name, samples, program=f"chanemu-{self.cfg['impl']}",
                              comments=pprof._comments(self.cfg["impl"]), duration_nanos=dur)
        return (200, data, "application/octet-stream",
                [("Content-Disposition", f'attachment; filename="{name}-delta"')])

    def _chans(self, q):
        from . import pprof
        limit = pprof._int_param(q, "max_waiters", self.cfg["max_waiters"])
        doc = self.shared.get(("chans", limit))
        body = self._rendered(("chans", limit), doc,
                              lambda: json.dumps(doc, indent=1).encode("utf-8"))
        return 200, body, "application/json", []

    def _liveview(self, path, q):
        """The page and its files from here; the rest (state, events, control) from the
        program, where the live view runs."""
        from . import liveview
        rest = path[len(liveview.PREFIX):]
        if rest in ("", "index.html") or rest.startswith("static/"):
            return liveview.route(None, path, q)
        rid, answers = self.link.open("route", path, q)
        try:
            kind, value = answers.get(timeout=self.cfg["wait"])
        except queue.Empty:
            self.link.forget(rid)
            self.link.send((rid, "cancel", None))
            raise _error("unavailable", "chanemu: the program did not answer in time") from None
        if kind == "stream":
            status, ctype, extra = value
            return status, _Relay(self.link, rid, answers), ctype, extra
        self.link.forget(rid)
        if kind == "err":
            raise _error(*value)
        return value


def _render_profile(name, snap, debug, annotate):
    """A goroutine or goroutineleak profile of a snapshot, as bytes."""
    from . import pprof
    records = snap.records
    if name == "goroutineleak" and debug < 2:
        records = [r for r in records if r.leaked]
    if debug == 0:
        return pprof._proto(name, records, impl=snap.impl)
    if debug == 1:
        return pprof._count_text(name, records, annotate).encode("utf-8")
    return pprof._stacks_text(snap, annotate).encode("utf-8")


class _Relay:
    """A stream the program writes (the live view's events), copied to the client; when the
    client goes away, the program is told to stop."""

    def __init__(self, link, rid, answers):
        self.link = link
        self.rid = rid
        self.answers = answers

    def stream(self, wfile):
        try:
            if wfile is None:
                return
            while True:
                kind, value = self.answers.get()
                if kind != "chunk":
                    return
                wfile.write(value)
                wfile.flush()
        except OSError:
            pass                # the page went away
        finally:
            self.link.forget(self.rid)
            try:
                self.link.send((self.rid, "cancel", None))
            except Exception:   # the program has gone: nothing to tell
                pass


# -- the process ------------------------------------------------------------------------------
def _die_with_parent(ppid):
    """On Linux, SIGKILL when the thread that started us ends; then check that the program
    did not end before the signal was armed."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)     # PR_SET_PDEATHSIG
        except (OSError, AttributeError):    # pragma: no cover - no prctl: the pipe suffices
            pass
    if os.getppid() != ppid:
        os._exit(0)


def _http_server(listener, site, cfg):
    from . import pprof
    pprof.MAX_WORKERS = cfg["max_workers"]
    pprof._Handler.timeout = cfg["timeout"]
    cls = pprof._HTTPServer6 if listener.family == socket.AF_INET6 else pprof._HTTPServer
    cls.request_queue_size = cfg["backlog"]
    httpd = cls(listener.getsockname()[:2], pprof._Handler, bind_and_activate=False)
    httpd.socket.close()
    httpd.socket = listener
    httpd.server_address = listener.getsockname()
    httpd.server_activate()
    httpd.owner = site
    return httpd


def main(argv):
    signal.signal(signal.SIGINT, signal.SIG_IGN)     # Ctrl-C is the program's to handle
    ctrl = socket.socket(fileno=int(argv[0]))
    listener = socket.socket(fileno=int(argv[1]))
    cfg = recv_msg(ctrl)
    if cfg is None:
        return
    _die_with_parent(cfg["ppid"])
    try:
        os.nice(NICE)       # on a busy machine the program gets the cores first
    except (AttributeError, OSError):     # pragma: no cover - no nice here
        pass
    link = Link(ctrl)
    site = Site(link, cfg)
    httpd = _http_server(listener, site, cfg)
    t = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True)
    t.start()
    link.run()              # until the program says close, or its end of the pipe closes
    site.stop.set()
    httpd.close_all()
    sys.stderr.flush()
    os._exit(0)             # handler threads may be blocked on clients: do not wait for them


if __name__ == "__main__":
    main(sys.argv[1:])
