"""chanemu.liveview: every live channel of the program, drawn as hchan is, in a browser.

The debug server (``chanemu.pprof.serve``) serves it under ``/debug/chanemu/``:

- ``/debug/chanemu/``: the page (plain HTML, JavaScript and SVG from ``static/``; no network);
- ``/debug/chanemu/state``: the current picture as JSON (channels, goroutines, recent events,
  clock, paused or not);
- ``/debug/chanemu/events``: the same, pushed as server-sent events whenever it changes
  (coalesced: at most one picture per ``TICK``);
- ``/debug/chanemu/control?op=pause|resume|step-sched|step-op`` (POST, refused when the
  browser says it comes from a page of another origin): pause the program at its next
  scheduling point, step one schedule or one channel operation, resume;
- ``/debug/chanemu/static/<file>``: the page's script and style.

The page also replays a trace recorded with ``chanemu.trace`` (opened from a local file in the
browser): the same drawing at any event, forwards and backwards.
"""
import os
import time

from ..pprof import _BadRequest, _NotFound
from ._live import View, dumps

__all__ = ["route", "View"]

_STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
          ".css": "text/css; charset=utf-8"}
KEEPALIVE = 10.0        # seconds between two comment lines on an idle event stream
PREFIX = "/debug/chanemu/"


def view_of(server):
    """The View of a debug server's runtime, made at the first request."""
    v = getattr(server, "_liveview", None)
    if v is None:
        with server._lock:
            v = getattr(server, "_liveview", None)
            if v is None:
                v = server._liveview = View(server._rt, server._stop, server.values)
    return v


def route(server, path, q):
    """(status, body, content type, extra headers) for a path under /debug/chanemu/; a body with
    a ``stream(wfile)`` method is written by the server as it goes (server-sent events)."""
    rest = path[len(PREFIX):]
    if rest in ("", "index.html"):
        return 200, _static("index.html"), _TYPES[".html"], _NO_CACHE
    if rest.startswith("static/"):
        name = rest[len("static/"):]
        return 200, _static(name), _TYPES[os.path.splitext(name)[1]], _NO_CACHE
    if rest == "state":
        return 200, dumps(view_of(server).refresh()), "application/json", _NO_CACHE
    if rest == "events":
        return 200, _Stream(view_of(server)), "text/event-stream", _NO_CACHE
    if rest == "control":
        if q.get(":method", "POST") != "POST":
            raise _BadRequest("control takes a POST")
        _same_origin(q)
        op = q.get("op", "")
        try:
            return 200, dumps(view_of(server).control(op)), "application/json", _NO_CACHE
        except ValueError as e:
            raise _BadRequest(str(e)) from None
    raise _NotFound("404 page not found")


_NO_CACHE = [("Cache-Control", "no-store")]
DEFAULT_ADDR = "127.0.0.1:6060"


def cli_address(addr=None, file=None):
    """``--view`` on the command line: the debug server's address (``--pprof``'s, or
    127.0.0.1:6060), after saying where the page will be (on ``file``, stdout by default;
    ``chanemu run`` says it on stderr, so the program's own output stays its own)."""
    from ..pprof import _parse_addr
    addr = addr or DEFAULT_ADDR
    host, port = _parse_addr(addr)
    host = f"[{host}]" if ":" in host else host
    print(f"live view: open http://{host}:{port}{PREFIX} in a browser while the program runs",
          file=file, flush=True)
    return addr


def _same_origin(q):
    """A page from another site may POST here (a form needs no permission): a request whose
    Origin is not this server's, as the browser reached it, is refused."""
    origin, host = q.get(":origin"), q.get(":host")
    if origin is not None and origin != f"http://{host}":
        raise _BadRequest(f"control: refused a request from another origin ({origin})")


def _static(name):
    if name not in ("index.html", "view.js", "view.css"):
        raise _NotFound("404 page not found")
    with open(os.path.join(_STATIC, name), "rb") as f:
        return f.read()


class _Stream:
    """A server-sent event stream of the view's pictures; ends when the page or server goes."""

    def __init__(self, view):
        self.view = view

    def stream(self, wfile):
        v = self.view
        v.join()
        try:
            seen = -1
            last = time.monotonic()
            while not v.stop.is_set() and not v.closed:
                version, state = v.wait_version(seen, KEEPALIVE)
                if version != seen and state is not None:
                    seen = version
                    wfile.write(b"event: state\ndata: " + dumps(state).encode() + b"\n\n")
                    last = time.monotonic()
                elif time.monotonic() - last >= KEEPALIVE:
                    wfile.write(b": keepalive\n\n")
                    last = time.monotonic()
                wfile.flush()
        except OSError:
            pass                # the page went away
        finally:
            v.leave()
