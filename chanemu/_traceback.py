"""Goroutine dumps in Go's traceback format (runtime/traceback.go), over both twins.

    goroutine 7 [chan send, 2 minutes]:
    main.worker(...)
    	/path/to/main.py:12 +0x1a
    created by main.main in goroutine 1
    	/path/to/main.py:30 +0x0

Python frames are shown in Go's shape (``module.function``, ``file:line``, and ``+0x`` the bytecode
offset); chanemu's own frames are hidden, as Go hides runtime frames.
"""
import os

_PKG_DIR = os.path.dirname(os.path.abspath(__file__))
_HIDE_DIRS = (_PKG_DIR + os.sep,)
# the greenlet package's own frames are runtime frames too
try:
    import greenlet as _greenlet
    _HIDE_DIRS += (os.path.dirname(os.path.abspath(_greenlet.__file__)) + os.sep,)
except ImportError:   # pragma: no cover
    pass

_NS_PER_MINUTE = 60_000_000_000


def hidden(filename):
    """Is this a chanemu runtime frame (hidden from dumps)?"""
    return os.path.abspath(filename).startswith(_HIDE_DIRS) and "/tests/" not in filename


def func_name(frame):
    mod = frame.f_globals.get("__name__", "?")
    return f"{mod}.{frame.f_code.co_qualname}"


def user_frames(frame):
    """(function, file, line, offset) from the innermost frame outwards, runtime frames dropped."""
    out = []
    while frame is not None:
        code = frame.f_code
        if not hidden(code.co_filename):
            out.append((func_name(frame), code.co_filename, frame.f_lineno or 0,
                        max(frame.f_lasti, 0)))
        frame = frame.f_back
    return out


def header(g, now=None):
    """``goroutine N [status, M minutes]:`` (traceback.go goroutineheader)."""
    status = g.wait_reason if g.status == "waiting" and g.wait_reason else g.status
    extra = ""
    if g.status == "waiting" and g.wait_since:
        if now is None:
            now = g_runtime_now(g)
        minutes = (now - g.wait_since) // _NS_PER_MINUTE
        if minutes >= 1:
            extra = f", {minutes} minutes"
    return f"goroutine {g.goid} [{status}{extra}]:"


def g_runtime_now(g):
    rt = getattr(g, "runtime", None)
    if rt is not None:
        return rt.nanotime()
    import time
    return time.monotonic_ns()


def frames_of(g, frame=None):
    if frame is None:
        frame = g.frame
    fr = user_frames(frame) if frame is not None else []
    if not fr and g.start_function is not None and g.status != "dead":
        # not started yet: Go shows the goroutine's entry function
        fn = g.start_function
        code = getattr(fn, "__code__", None)
        name = f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"
        if code is not None:
            fr = [(name, code.co_filename, code.co_firstlineno, 0)]
        else:
            fr = [(name, "?", 0, 0)]
    return fr


def format_goroutine(g, frame=None, now=None):
    lines = [header(g, now)]
    for func, file, line, off in frames_of(g, frame):
        lines.append(f"{func}(...)")
        lines.append(f"\t{file}:{line} +0x{off:x}")
    site = g.creation_site
    if site is not None:
        file, line, func = site
        parent = g.parent_goid
        lines.append(f"created by {func}" + (f" in goroutine {parent}" if parent else ""))
        lines.append(f"\t{file}:{line} +0x0")
    return "\n".join(lines) + "\n"


def format_all(goroutines, current=None, frame=None):
    """runtime.Stack(buf, all=true): the current goroutine first, then the others by goid."""
    gs = sorted(goroutines, key=lambda g: g.goid)
    if current is not None:
        gs = [current] + [g for g in gs if g is not current]
    parts = []
    for g in gs:
        parts.append(format_goroutine(g, frame if g is current else None))
    return "\n".join(parts)
