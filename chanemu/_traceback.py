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

from . import _coreapi

_PKG_DIR = os.path.dirname(os.path.abspath(__file__))
# The runtime's own files: hidden from dumps, as Go hides runtime.* frames. The packages above
# the core (chanemu.time, chanemu.sync, ...) stay visible, as time.Sleep and sync.(*WaitGroup).Wait
# do in Go's dumps.
_HIDE_PREFIXES = (os.path.join(_PKG_DIR, "_pycore") + os.sep,)
_HIDE_FILES = {os.path.join(_PKG_DIR, f) for f in
               ("__init__.py", "runtime.py", "_traceback.py", "_views.py", "_inspect.py",
                "_timers.py", "_errors.py")}
try:
    import greenlet as _greenlet
    _HIDE_PREFIXES += (os.path.dirname(os.path.abspath(_greenlet.__file__)) + os.sep,)
except ImportError:   # pragma: no cover
    pass

_NS_PER_MINUTE = 60_000_000_000


def hidden(filename):
    """Is this a chanemu runtime frame (hidden from dumps)?"""
    path = os.path.abspath(filename)
    return path in _HIDE_FILES or path.startswith(_HIDE_PREFIXES)


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
                        line_offset(code, frame.f_lasti)))
        frame = frame.f_back
    return out


def line_offset(code, lasti):
    """The bytecode offset where the executing line starts: Go's ``+0x`` pc offset, made stable
    (the exact instruction of a suspended call differs with the callee's implementation)."""
    # co_lines() splits a line into several ranges (one per source position): the line starts
    # at the first range of the run of ranges that carry its number.
    run_start, run_line = 0, None
    for start, end, line in code.co_lines():
        if line != run_line:
            run_start, run_line = start, line
        if start <= lasti < end:
            return run_start
    return max(lasti, 0)


def header(g, now=None):
    """``goroutine N [status, M minutes]:`` (traceback.go goroutineheader)."""
    status = g.wait_reason if g.status == "waiting" and g.wait_reason else g.status
    extra = ""
    if g.status == "waiting" and g.wait_since is not None:
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


def entry_frame(fn):
    """(function, file, line, 0) for a goroutine's entry function, shown while it has no frame
    of its own (not started yet, or parked straight inside a channel method: ``go(ch.send, v)``).
    Channel methods read the same on both twins: ``chanemu.Chan.send`` in ``<chanemu>``."""
    self = getattr(fn, "__self__", None)
    if self is not None and type(self).__module__.startswith("chanemu._"):
        cls = type(self).__name__.lstrip("_")
        if cls.endswith("Chan"):       # the nil channel is a Chan too (a subclass in Python)
            cls = "Chan"
        return (f"chanemu.{cls}.{fn.__name__}", "<chanemu>", 0, 0)
    mod = getattr(fn, "__module__", None) or type(fn).__module__
    if mod and _coreapi.is_core_module(mod):
        # a function of the core itself (go(select)): the same on both twins
        return (f"chanemu.{getattr(fn, '__name__', '?')}", "<chanemu>", 0, 0)
    code = getattr(fn, "__code__", None)
    name = getattr(fn, "__qualname__", None) or type(fn).__qualname__
    if code is not None:
        return (f"{mod}.{name}", code.co_filename, code.co_firstlineno, 0)
    return (f"{mod}.{name}", "?", 0, 0)


def frames_of(g, frame=None):
    if frame is None:
        frame = g.frame
    fr = user_frames(frame) if frame is not None else []
    if not fr and g.start_function is not None and g.status != "dead":
        fr = [entry_frame(g.start_function)]
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
