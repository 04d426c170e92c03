"""chanemu.pprof: goroutine profiles in Go's formats, the goroutine leak profile, a debug server.

What Go's runtime/pprof and net/http/pprof give a Go program, for the emulated one:

- ``goroutine_profile(debug=1)``: Go's legacy text format, one record per distinct stack, most
  frequent first (``goroutine profile: total N``, ``50 @ 0x... 0x...``, ``#\t0x..\tfunc+0x..\t
  file:line``); ``debug=2``: every goroutine in the format of an unrecovered panic
  (``goroutine 7 [chan send, 5 minutes]:`` ... ``created by F in goroutine P``); ``debug=0``: a
  gzipped profile.proto (``write_goroutine_profile(path)`` writes it), which ``go tool pprof``
  reads.
- ``goroutine_leak_profile()``: the goroutines that can never run again (Go 1.26's
  ``goroutineleak`` profile; see its docstring for the rules and the limits).
- ``serve("127.0.0.1:6060")``: ``/debug/pprof/`` with the goroutine and goroutineleak profiles,
  ``/debug/chanemu/chans``, the hchan of every live channel of the program as JSON, and
  ``/debug/chanemu/``, the live view (``chanemu.liveview``: every channel drawn as it runs,
  pause and step, replay).

Stacks are Python's in Go's shape: ``module.qualname`` for functions, the bytecode offset of the
line for ``+0x``, chanemu's runtime frames hidden as Go hides ``runtime.*``; the program counters
are stable pseudo-PCs (a hash of function and file, plus the offset), so equal stacks print equal
``@`` lists and group together. Go's runtime frames (``runtime.gopark``, ``runtime.chansend1``...)
are synthesised from the wait reason: present in ``@`` lists and in profile.proto, hidden in text,
as in Go.

chanemu's extra: ``annotate=True`` adds, for each goroutine parked on channels, a
``# chanemu: chan 3 sendq 4/7 (hchan qcount=5 dataqsiz=5 closed=0)`` line: the channel (its
``chan_id``), the queue, the sudog's position in it, and the channel's state. It is a comment
line, which Go's profile parsers skip, and it is off by default so the output is Go's exactly.

Snapshots are taken on the runtime's thread between two operations (``chanemu._safepoint``), so
one asked for by the debug server never sees a half-done channel operation. The debug server
itself runs in a process of its own (``chanemu._debugserver``; see ``serve``).
"""
import os
import socket
import subprocess
import sys
import threading
import urllib.parse
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import chanemu
from . import _gsnap, _pbprof
from ._gsnap import GOEXIT_FRAME, frame_pc

__all__ = ["goroutine_profile", "write_goroutine_profile", "goroutine_leak_profile",
           "leaked_goroutines", "serve", "Server", "check_address"]


# -- grouping and the text formats ---------------------------------------------------------
def _group(records):
    """[(count, stack, members)] by distinct stack, in Go's order: count descending, then the
    ``@`` key string ascending (runtime/pprof keysByCount)."""
    groups = {}
    for r in records:
        st = r.stack()
        g = groups.get(st)
        if g is None:
            groups[st] = [r]
        else:
            g.append(r)
    out = [(len(members), st, members) for st, members in groups.items()]
    out.sort(key=lambda x: (-x[0], _at_key(x[1])))
    return out


def _at_key(stack):
    return "@" + "".join(f" {frame_pc(fr) + 1:#x}" for fr in stack + (GOEXIT_FRAME,))


def _shown(stack):
    """printStackRecord: hide runtime.goexit and the runtime frames at the top."""
    i = 0
    while i < len(stack) and stack[i][0].startswith(("runtime.", "internal/runtime/")):
        i += 1
    shown = stack[i:]
    return shown if shown else stack


def _tabwrite(rows):
    """text/tabwriter as runtime/pprof sets it up (minwidth 1, tabwidth 8, padding 1, padchar
    '\\t'), for a block of rows with the same number of cells; the last cell is not a column."""
    if not rows:
        return []
    ncol = len(rows[0]) - 1
    widths = [max(1, max(len(r[j]) + 1 for r in rows)) for j in range(ncol)]
    cellw = [(w + 7) // 8 * 8 for w in widths]
    out = []
    for r in rows:
        parts = []
        for j in range(ncol):
            parts.append(r[j] + "\t" * ((cellw[j] - len(r[j]) + 7) // 8))
        parts.append(r[-1])
        out.append("".join(parts))
    return out


def _ranges(nums):
    nums = sorted(set(nums))
    out = []
    i = 0
    while i < len(nums):
        j = i
        while j + 1 < len(nums) and nums[j + 1] == nums[j] + 1:
            j += 1
        out.append(str(nums[i]) if i == j else f"{nums[i]}-{nums[j]}")
        i = j + 1
    if len(out) > 8:
        out = out[:8] + ["..."]
    return ",".join(out)


def _group_notes(members):
    """``# chanemu:`` lines for a group: per channel and queue, the positions of its sudogs."""
    per = {}
    nil = 0
    for r in members:
        for w in r.waits:
            if w.queue is None:
                nil += 1
                continue
            per.setdefault((w.cid, w.queue), (w, []))[1].append(w.pos)
    lines = []
    for (cid, queue), (w, pos) in sorted(per.items()):
        lines.append(f"# chanemu: chan {cid} {queue} positions {_ranges(pos)} of {w.qlen} "
                     f"(hchan qcount={w.qcount} dataqsiz={w.dataqsiz} closed={w.closed})")
    if nil:
        lines.append(f"# chanemu: nil chan: {nil} goroutine{'s' if nil > 1 else ''} never ready")
    return lines


def _count_text(name, records, annotate=False):
    """printCountProfile with debug=1: Go's legacy text format."""
    lines = [f"{name} profile: total {len(records)}"]
    for count, stack, members in _group(records):
        lines.append(f"{count} {_at_key(stack)}")
        rows = [["#", f"{frame_pc(fr):#x}", f"{fr[0]}+{fr[3]:#x}", f"{fr[1]}:{fr[2]}"]
                for fr in _shown(stack)]
        lines.extend(_tabwrite(rows))
        if annotate:
            lines.extend(_group_notes(members))
        lines.append("")
    return "\n".join(lines) + "\n"


def _format_record(r, now, annotate=False):
    lines = [r.header(now)]
    if annotate:
        lines.extend(f"# chanemu: {w}" for w in r.waits)
    for func, file, line, off, _ in r.frames:
        lines.append(f"{func}(...)")
        lines.append(f"\t{file}:{line} +0x{off:x}")
    if r.created is not None:
        file, line, func = r.created
        lines.append(f"created by {func}" + (f" in goroutine {r.parent}" if r.parent else ""))
        lines.append(f"\t{file}:{line} +0x0")
    return "\n".join(lines) + "\n"


def _stacks_text(snap, annotate=False):
    """writeGoroutineStacks (debug=2): runtime.Stack(all): the running goroutine first."""
    recs = snap.records
    if snap.current is not None:
        recs = [snap.current] + [r for r in recs if r is not snap.current]
    return "\n".join(_format_record(r, snap.now, annotate) for r in recs)


def _comments(impl=None):
    return [f"chanemu {chanemu.__version__} ({impl or chanemu.IMPL})"]


def _proto(name, records, duration_nanos=0, impl=None):
    """gzipped profile.proto; impl names the twin (the debug server's process renders for a
    program whose twin it does not load)."""
    impl = impl or chanemu.IMPL
    return _pbprof.encode(name, [(n, st) for n, st, _ in _group(records)],
                          program=f"chanemu-{impl}", comments=_comments(impl),
                          duration_nanos=duration_nanos)


def _check_debug(debug):
    if isinstance(debug, bool) or not isinstance(debug, int) or debug < 0:
        raise ValueError(f"debug must be 0, 1 or 2 (or more: 2), not {debug!r}")


# -- public API ----------------------------------------------------------------------------
def goroutine_profile(debug=1, *, annotate=False, rt=None):
    """The goroutine profile of the calling thread's program (or of runtime rt), as Go writes it.

    debug=1: Go's legacy text format (``str``); debug=2 (or more): every goroutine's stack in the
    format of an unrecovered panic (``str``); debug=0: gzipped profile.proto (``bytes``).
    annotate=True adds ``# chanemu:`` lines naming the channel each goroutine is parked on and
    its sudog's position in the queue (text formats only).
    """
    _check_debug(debug)
    snap = _gsnap.take(rt, waits=annotate and debug > 0)
    if debug == 0:
        return _proto("goroutine", snap.records)
    if debug == 1:
        return _count_text("goroutine", snap.records, annotate)
    return _stacks_text(snap, annotate)


def write_goroutine_profile(path, *, rt=None):
    """Write the goroutine profile as a gzipped profile.proto (``go tool pprof`` reads it).
    path: a file name or a binary file object. Returns the number of goroutines."""
    snap = _gsnap.take(rt)
    data = _proto("goroutine", snap.records)
    if hasattr(path, "write"):
        path.write(data)
    else:
        with open(path, "wb") as f:
            f.write(data)
    return len(snap.records)


def goroutine_leak_profile(debug=1, *, annotate=False, rt=None):
    """Go 1.26's ``goroutineleak`` profile: the goroutines that can never run again.

    debug=1: ``goroutineleak profile: total N`` and the leaked goroutines grouped by stack, as
    ``goroutine_profile`` (``str``); debug=2: every goroutine, the leaked ones marked
    ``[chan send (leaked)]``, as Go does (``str``); debug=0: gzipped profile.proto (``bytes``).

    The rules are Go's (runtime/mgc.go, findGoroutineLeaks): marking starts from the globals
    (every module's namespace in ``sys.modules``) and the stacks of the goroutines that can run
    (running, runnable, sleeping, or parked on anything but a channel), plus pending runtime
    timers and the stacks of the process's other threads. A goroutine parked on channels (send,
    receive, select) becomes a root as soon as one of its channels is marked: someone may still
    complete its operation. Marking goes on to a fixed point; the goroutines left parked on
    channels nothing reached are leaked. Waits on the nil channel and ``select()`` with no cases
    always count (except main's ``select {}``, as in Go). Objects are followed with
    ``gc.get_referents``, frames through their locals (closure cells included), channels through
    their buffered values and their blocked senders' values; goroutine handles are not followed
    (holding a handle does not keep a goroutine's channels alive).

    Limits. Like Go's detector, which "may fail to identify leaks caused by blocking on
    operations over concurrency primitives reachable through global variables or the local
    variables of runnable goroutines", it is sound rather than complete: a channel that a
    runnable goroutine or a global can still reach keeps its waiters off the report even if no
    code will ever use it again. The article's leak is one (main's frame holds the channel);
    ``chanemu.leak.Watch`` finds that one by its growth. Goroutines parked in ``sync``
    primitives, or sleeping, count as runnable (the object they wait on is not visible here).
    Soundness holds for the references the detector can see: a reference held only on Python's
    evaluation stack (a temporary passed to a call in progress, the iterator of
    ``for v in make_chan():`` in a goroutine that is runnable) or only by a C object that does
    not report its references to the gc is not seen, and a channel known only there would be
    taken for unreachable. Every call scans what is reachable: milliseconds to a second,
    depending on the size of the heap.
    """
    _check_debug(debug)
    if debug >= 2:
        snap = _gsnap.take(rt, waits=annotate, leaks=True)
        return _stacks_text(snap, annotate)
    snap = _gsnap.take(rt, waits=annotate and debug > 0, leaks=True,
                       filter=lambda g, leaked: leaked)
    if debug == 0:
        return _proto("goroutineleak", snap.records)
    return _count_text("goroutineleak", snap.records, annotate)


def leaked_goroutines(rt=None):
    """The handles of the leaked goroutines (see goroutine_leak_profile), by goid."""
    rt = _gsnap.resolve(rt)

    def find():
        from . import _reach
        gs = sorted(rt.goroutines(), key=lambda g: g.goid)
        ids = _reach.leaked_goids(rt, gs, _gsnap.Where(rt))
        return [g for g in gs if g.goid in ids]
    return _gsnap.on_runtime(rt, find)


# -- the debug server ----------------------------------------------------------------------
# The server runs in a process of its own (chanemu._debugserver): HTTP and rendering there, so
# the program's thread never waits for the GIL behind them. The program keeps a thread
# (chanemu._debugagent) that answers the server's requests for snapshots.
_DESCRIPTIONS = {
    "cmdline": "The command line invocation of the current program",
    "goroutine": "Stack traces of all current goroutines. Use debug=2 as a query parameter to "
                 "export in the same format as an unrecovered panic.",
    "goroutineleak": "Stack traces of all leaked goroutines. Use debug=2 as a query parameter to "
                     "export in the same format as an unrecovered panic.",
}
MAX_DELTA_SECONDS = 60
DEFAULT_MAX_WAITERS = 1000
MAX_WORKERS = 8             # requests served at once; the others queue (LISTEN_BACKLOG)
LISTEN_BACKLOG = 1024
VALUE_REPR_MAX = 80         # a channel value is shown as its repr cut to this many characters
# A snapshot stops the program (it is taken on its thread, at a safe point): one at a time, at
# most SNAPSHOT_DUTY of the time, and a request made within max(SNAPSHOT_MIN_AGE s, the pause
# that taking one again would need) of the last one of its kind shares that last one.
SNAPSHOT_DUTY = 0.1
SNAPSHOT_MIN_AGE = 0.5
SNAPSHOT_WAIT = 60          # a request waits this long for a snapshot another one is taking
CLOSE_WAIT = 5              # close() waits this long for the server's process to end


class _BadRequest(Exception):
    pass


class _NotFound(Exception):
    pass


class _Unavailable(Exception):
    pass


def _int_param(q, name, default, lo=0):
    v = q.get(name)
    if v is None:
        return default
    try:
        n = int(v, 10)
    except ValueError:
        n = None
    if n is None or n < lo or v.strip() != v:
        raise _BadRequest(f'invalid value for "{name}" - must be an integer >= {lo}')
    return n


class _Handler(BaseHTTPRequestHandler):
    server_version = "chanemu-pprof"
    # One request per connection: nothing lingers once the server is closed.
    protocol_version = "HTTP/1.0"
    default_request_version = "HTTP/1.0"    # answer garbage with a status line, not HTTP/0.9
    # A client that stalls mid-request (a request line and no headers) or mid-answer is
    # dropped after this long: it holds one of the server's MAX_WORKERS for no longer.
    timeout = 5

    def log_message(self, format, *args):     # quiet, as net/http/pprof is
        pass

    def do_GET(self):
        self._serve(head=False)

    def do_HEAD(self):
        self._serve(head=True)

    def do_POST(self):          # only the live view's controls (chanemu.liveview) take one
        if not urllib.parse.urlsplit(self.path).path.startswith("/debug/chanemu/"):
            return self.send_error(HTTPStatus.NOT_IMPLEMENTED,
                                   f"Unsupported method ({self.command!r})")
        self._serve(head=False)

    # -- plumbing --------------------------------------------------------------------------
    def _send(self, status, body, ctype, extra=(), head=False):
        if isinstance(body, str):
            body = body.encode("utf-8")
        if hasattr(body, "stream"):         # server-sent events: written as they come
            return self._send_stream(status, body, ctype, extra, head)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _send_stream(self, status, body, ctype, extra, head):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if head:
            return body.stream(None)        # lets the program's side go
        self.wfile.flush()
        body.stream(self.wfile)

    def _error(self, status, text, head=False):
        self._send(status, text + "\n", "text/plain; charset=utf-8", [("X-Go-Pprof", "1")],
                   head)

    def _serve(self, head):
        try:
            url = urllib.parse.urlsplit(self.path)
            path = urllib.parse.unquote(url.path)
            q = {}
            for k, v in urllib.parse.parse_qsl(url.query, keep_blank_values=True):
                q.setdefault(k, v)      # the first value, as Go's FormValue
            q[":method"] = self.command
            q[":origin"], q[":host"] = self.headers.get("Origin"), self.headers.get("Host")
            status, body, ctype, extra = self.server.owner._route(path, q)
        except _BadRequest as e:
            return self._error(HTTPStatus.BAD_REQUEST, str(e), head)
        except _NotFound as e:
            return self._error(HTTPStatus.NOT_FOUND, str(e), head)
        except _Unavailable as e:
            return self._error(HTTPStatus.SERVICE_UNAVAILABLE, str(e), head)
        except Exception as e:     # a bug, or the program ended: say so, keep serving
            return self._error(HTTPStatus.INTERNAL_SERVER_ERROR,
                               f"chanemu: {type(e).__name__}: {e}", head)
        self._send(status, body, ctype, extra, head)


class _HTTPServer(ThreadingHTTPServer):
    """The HTTP side, in the debug server's process, on a socket the program bound."""
    daemon_threads = True
    allow_reuse_address = True
    # Connections wait in the kernel's listen queue while every worker is busy (the default, 5,
    # drops a burst of clients on the floor).
    request_queue_size = LISTEN_BACKLOG

    def server_activate(self):
        self.conns = set()              # open connections, shut down at close
        self.conns_lock = threading.Lock()
        self.slots = threading.BoundedSemaphore(MAX_WORKERS)
        self.closing = False
        super().server_activate()

    def process_request(self, request, client_address):
        # At most MAX_WORKERS handler threads: the accept loop waits for a free one, and the
        # connections behind it wait in the listen queue.
        while not self.slots.acquire(timeout=0.05):
            if self.closing:
                self.shutdown_request(request)
                return
        with self.conns_lock:
            self.conns.add(request)
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()

    def handle_error(self, request, client_address):
        # a client that hung up, or a connection shut down at close: nothing to report
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)

    def shutdown_request(self, request):
        with self.conns_lock:
            self.conns.discard(request)
        super().shutdown_request(request)

    def close_all(self):
        """No new connections; the open ones shut down (their handlers see EOF or EPIPE)."""
        self.closing = True
        with self.conns_lock:
            conns = list(self.conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.server_close()


class _HTTPServer6(_HTTPServer):
    address_family = socket.AF_INET6


def _parse_addr(addr):
    if isinstance(addr, tuple):
        host, port = addr
    else:
        host, sep, port = str(addr).rpartition(":")
        if not sep:
            raise ValueError(f"serve: address {addr!r} is not host:port")
        try:
            port = int(port)
        except ValueError:
            raise ValueError(f"serve: bad port in {addr!r}") from None
    host = host.strip("[]") or "127.0.0.1"     # ":6060" binds loopback, not every interface
    if not 0 <= port <= 65535:
        raise ValueError(f"serve: port {port} out of range")
    return host, port


def _listen(host, port, backlog):
    """A listening socket on host:port, as the server's process will use it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, port))
        s.listen(backlog)
    except BaseException:
        s.close()
        raise
    return s


def check_address(addr):
    """Raise ValueError (malformed) or OSError (cannot bind: in use, not an address of this
    machine, no permission) if serve(addr) would fail; the port is free again on return."""
    host, port = _parse_addr(addr)
    _listen(host, port, 1).close()


class Server:
    """The debug HTTP server (see ``serve``): ``url``, ``host``, ``port``, ``close()``; a
    context manager.

    The program binds the socket (so a bad or busy address raises here, and ``port`` is known
    at once) and starts ``python -m chanemu._debugserver`` with it; that process serves HTTP
    and renders every answer. The program keeps one thread (``_thread``) that answers the
    process's requests for snapshots and runs the live view (chanemu._debugagent)."""

    def __init__(self, addr, rt, values=True):
        from . import _debugagent, _debugserver
        host, port = _parse_addr(addr)
        self._rt = rt
        self.values = bool(values)
        self._closed = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._liveview = None
        listener = _listen(host, port, LISTEN_BACKLOG)
        self.host, self.port = listener.getsockname()[:2]
        mine, theirs = socket.socketpair()
        try:
            _debugserver.send_msg(mine, threading.Lock(), self._config())    # its first message
            self._agent = _debugagent.Agent(
                self, mine, lambda: _debugserver.spawn(theirs, listener))
        except BaseException:
            mine.close()
            raise
        finally:
            theirs.close()
            listener.close()        # the server's process holds it now
        self._proc = self._agent.proc
        self._thread = self._agent.thread

    def _config(self):
        """What the server's process needs to know (its limits read now, so a test or a
        caller may change them before serve())."""
        return {"ppid": os.getpid(), "argv": list(sys.argv), "impl": _gsnap.twin_of(self._rt).IMPL,
                "max_workers": MAX_WORKERS, "backlog": LISTEN_BACKLOG,
                "timeout": _Handler.timeout, "duty": SNAPSHOT_DUTY,
                "min_age": SNAPSHOT_MIN_AGE, "wait": SNAPSHOT_WAIT,
                "max_delta": MAX_DELTA_SECONDS, "max_waiters": DEFAULT_MAX_WAITERS}

    @property
    def url(self):
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/debug/pprof/"

    def close(self):
        """Stop serving: the server's process shuts its connections down (requests in
        progress end) and exits, a program paused from the live view goes on, the agent
        thread is joined; idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._stop.set()
        if self._liveview is not None:
            self._liveview.close()          # a program paused from the page goes on
        self._agent.send_close()
        try:
            self._proc.wait(CLOSE_WAIT)
        except subprocess.TimeoutExpired:   # pragma: no cover - a wedged server process
            self._proc.kill()
            self._proc.wait()
        self._agent.close()

    @property
    def closed(self):
        return self._closed

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"<chanemu.pprof.Server {self.url}{' closed' if self._closed else ''}>"


# -- what the program's side sends ------------------------------------------------------------
def _value_text(v):
    """A channel value as the server shows it: its repr, cut to VALUE_REPR_MAX characters."""
    try:
        r = repr(v)
    except Exception as e:      # a broken __repr__ is the value's problem, not the server's
        return f"<{type(v).__name__}: repr raised {type(e).__name__}>"
    if len(r) > VALUE_REPR_MAX:
        r = r[:VALUE_REPR_MAX - 3] + "..."
    return r


def _value_hidden(v):
    """Values turned off (serve(values=False)): the type only."""
    return f"<{type(v).__name__}>"


def _chan_json(st, limit, shown):
    """An HChanState as JSON for /debug/chanemu/chans: queues cut to limit sudogs, values
    through shown()."""
    def sudogs(q):
        return [{"g": s.goid, "elem": shown(s.elem), "is_select": s.is_select,
                 "success": s.success, "releasetime": s.releasetime,
                 "wait_reason": s.wait_reason} for s in q[:limit]]
    return {"id": st.id, "qcount": st.qcount, "dataqsiz": st.dataqsiz,
            "buf": [shown(v) for v in st.buf], "elemsize": st.elemsize, "closed": st.closed,
            "sendx": st.sendx, "recvx": st.recvx,
            "recvq": sudogs(st.recvq), "sendq": sudogs(st.sendq),
            "len_recvq": len(st.recvq), "len_sendq": len(st.sendq),
            "truncated": len(st.recvq) > limit or len(st.sendq) > limit}


def _chans_listing(rt, limit, values):
    """/debug/chanemu/chans's document: only this program's channels (those made by its
    thread, not every thread's), values as cut reprs or types. Taken at a safe point."""
    shown = _value_text if values else _value_hidden

    def listing():
        mine = [c for c in _gsnap.live_chans(rt) if c.owner == rt.thread_serial]
        out = [_chan_json(chanemu.inspect(c), limit, shown) for c in mine]
        return {"impl": _gsnap.twin_of(rt).IMPL, "num_goroutine": rt.num_goroutine(),
                "nanotime": rt.nanotime(), "values": bool(values), "channels": out}
    return _gsnap.on_runtime(rt, listing)


def serve(addr="127.0.0.1:6060", *, rt=None, values=True):
    """Serve Go's debug endpoints for this program over HTTP, from a process of its own.

    ``addr`` is ``"host:port"`` (a missing host means 127.0.0.1: loopback by default; port 0
    picks a free port, see ``server.port``). The server observes ``rt``, by default the calling
    thread's current runtime: call it from inside the program (e.g. at the top of ``main`` run
    by ``chanemu.run``). Returns a ``Server``; ``close()`` it (or use ``with``).

    Endpoints: ``/debug/pprof/`` (index), ``/debug/pprof/goroutine?debug=0|1|2`` (0: gzipped
    profile.proto; ``seconds=N`` with debug=0: a delta profile), ``/debug/pprof/goroutineleak``
    (same parameters), ``/debug/pprof/cmdline``, ``/debug/chanemu/chans`` (JSON: the hchan of
    every live channel made by the program's thread, with its queues, ``max_waiters`` sudogs
    per queue, default 1000). Add ``chanemu=1`` to a text profile for the ``# chanemu:``
    lines. ``/debug/chanemu/`` is the live view's page, with its routes under it (see
    ``chanemu.liveview``). Unknown paths answer 404, bad parameters 400.

    Only the observed program is shown: its goroutines, and the channels made by its thread.
    Channel values (``buf`` slots, blocked senders' values) appear in ``/debug/chanemu/chans``
    as their ``repr`` cut to VALUE_REPR_MAX characters; ``values=False`` shows only their type.

    The HTTP server is another process (``python -m chanemu._debugserver``): it parses the
    requests and renders every answer, and asks the program only for snapshots, which it
    shares between concurrent requests and spaces so that taking them costs the program at
    most SNAPSHOT_DUTY of its time. Bursts are bounded: MAX_WORKERS requests served at once,
    the rest queued (LISTEN_BACKLOG), a stalled client dropped after ``_Handler.timeout``
    seconds. The process ends with the program (its control pipe closes; on Linux also the
    parent-death signal, armed for the server's own thread in the program) and at
    ``close()``.
    """
    return Server(addr, _gsnap.resolve(rt), values)
