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
import sys as _sys

from . import _coreapi

_PKG_DIR = os.path.dirname(os.path.abspath(__file__))
# The runtime's own files: hidden from dumps, as Go hides runtime.* frames. The packages above
# the core (chanemu.time, chanemu.sync, ...) stay visible, as time.Sleep and sync.(*WaitGroup).Wait
# do in Go's dumps.
_HIDE_PREFIXES = (os.path.join(_PKG_DIR, "_pycore") + os.sep,)
_HIDE_FILES = {os.path.join(_PKG_DIR, f) for f in
               ("__init__.py", "runtime.py", "_traceback.py", "_views.py", "_inspect.py",
                "_timers.py", "_errors.py", "_gorun.py", "_hooks.py", "_lifecycle.py",
                "_coreapi.py", "_chandir.py", "_empty.py")}
# The C twin's frames in a traceback name its Cython sources (src_c/chan.pxi, ...).
_CYTHON_SUFFIXES = (".pxi", ".pyx")
try:
    import greenlet as _greenlet
    _HIDE_PREFIXES += (os.path.dirname(os.path.abspath(_greenlet.__file__)) + os.sep,)
except ImportError:   # pragma: no cover
    pass

# GOTRACEBACK, as runtime1.go's setTraceback reads it: (level, all). level 0 prints no
# goroutine, 1 the user's frames, 2 the runtime's too; all: every goroutine, not only the one
# that crashed (a fatal error always prints every goroutine).
_GOTRACEBACK = {"none": (0, False), "single": (1, False), "all": (1, True),
                "system": (2, True), "crash": (2, True), "wer": (2, True)}


def gotraceback(value=None):
    """(level, all) for a GOTRACEBACK value (default: the environment's; unset is single)."""
    if value is None:
        value = os.environ.get("GOTRACEBACK", "")
    if value in _GOTRACEBACK:
        return _GOTRACEBACK[value]
    if value.isdigit():
        return (min(int(value), 2), True)       # Go: a number is a level, with all
    return (1, False)


_show_runtime = gotraceback()[0] >= 2


def show_runtime(flag):
    """Show (True) or hide chanemu's runtime frames in dumps, profiles and tracebacks, as
    GOTRACEBACK=system shows Go's runtime.* frames. Read from GOTRACEBACK at import."""
    global _show_runtime
    _show_runtime = bool(flag)
    import sys
    gsnap = sys.modules.get("chanemu._gsnap")
    if gsnap is not None:
        gsnap.forget_code()     # its per-code verdicts were taken under the other setting


_NS_PER_MINUTE = 60_000_000_000


def hidden(filename):
    """Is this a chanemu runtime frame (hidden from dumps, unless GOTRACEBACK=system)?"""
    if _show_runtime:
        return False
    return runtime_file(filename)


_WRAPPER_CODES = set()      # code of chanemu's wrappers around a user's function (see hide)


def hide(fn):
    """Decorator: fn is chanemu's wrapper around the user's function (the leak demo's pprof
    server around its main): its frame is hidden from stacks as the runtime's are."""
    _WRAPPER_CODES.add(fn.__code__)
    return fn


def hidden_code(code):
    """Is a frame running this code hidden (a runtime file, or a wrapper marked by hide)?"""
    if _show_runtime:
        return False
    return code in _WRAPPER_CODES or runtime_file(code.co_filename)


def pytest_hide(excinfo=None):
    """pytest's ``__tracebackhide__`` of the runtime's modules (both twins): a failing test's
    traceback shows the test's frames, not the scheduler's, unless GOTRACEBACK=system (or
    pytest's --fulltrace)."""
    return not _show_runtime


def runtime_file(filename):
    """Is this file chanemu's runtime (either twin, the lifecycle, greenlet)?"""
    if filename.endswith(_CYTHON_SUFFIXES):
        return True
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
        if not hidden_code(code):
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


def entry_frame(fn, site=None):
    """(function, file, line, 0) for a goroutine's entry function, shown while it has no frame
    of its own (not started yet, or parked straight inside a channel method or a builtin).

    A function without Python code (``go(ch.send, v)``, ``go(print, x)``) is read as Go reads
    ``go wg.Wait()``: the method's name (``chanemu.Chan.send``, the same on both twins) at the
    ``go()`` call site ``site`` (file, line, function), which is where the program asked for
    it. Without a site it is placed in ``<chanemu>``."""
    fn = unwrapped(fn)
    name = entry_name(fn)
    code = getattr(fn, "__code__", None)
    if code is not None and not runtime_file(code.co_filename):
        return (name, code.co_filename, code.co_firstlineno, 0)
    if site is not None:
        return (name, site[0], site[1], 0)
    return (name, "<chanemu>", 0, 0)


def unwrapped(fn):
    """The function a decorator (functools.wraps) wraps: what the goroutine runs, for Go."""
    for _ in range(100):
        inner = getattr(fn, "__wrapped__", None)
        if inner is None or not callable(inner):
            break
        fn = inner
    return fn


def entry_name(fn):
    """``module.qualname`` of a goroutine's entry function; chanemu's core reads the same on
    both twins (``chanemu.Chan.send``, ``chanemu.select``)."""
    fn = unwrapped(fn)
    self = getattr(fn, "__self__", None)
    if self is not None and type(self).__module__.startswith("chanemu._"):
        cls = type(self).__name__.lstrip("_")
        # the nil channel is a Chan too (a subclass in Python), and a view's method is its
        # channel's (the Python twin's views hand out the channel's bound methods)
        if cls.endswith("Chan") or cls.endswith("OnlyView"):
            cls = "Chan"
        return f"chanemu.{cls}.{getattr(fn, '__name__', '?')}"
    mod = getattr(fn, "__module__", None)
    if self is not None and not isinstance(self, type(fn)) and mod is None:
        mod = type(self).__module__          # a builtin method: list.append of a list
    mod = mod or type(fn).__module__
    if mod and _coreapi.is_core_module(mod):
        # a function of the core itself (go(select)): the same on both twins
        return f"chanemu.{getattr(fn, '__name__', '?')}"
    name = getattr(fn, "__qualname__", None) or type(fn).__qualname__
    return f"{mod}.{name}"


def frames_of(g, frame=None):
    if frame is None:
        frame = g.frame
        if frame is None and g.status in ("waiting", "runnable") and _parks_here(g):
            # g parked and the scheduler runs on its stack (it found the deadlock): its
            # frames are this call's callers.
            frame = _sys._getframe(1)
    fr = user_frames(frame) if frame is not None else []
    if not fr and g.start_function is not None and g.status != "dead":
        fr = [entry_frame(g.start_function, g.creation_site)]
    return fr


def _parks_here(g):
    """Is g the goroutine whose stack is executing now (parking, or in the scheduler)?"""
    twin = _coreapi.core_of(g)
    try:
        return twin is not None and twin.getg() is g
    except Exception:        # no runtime on this thread
        return False


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


# -- tracebacks raised to user code --------------------------------------------------------
def user_traceback(tb):
    """The traceback ``tb`` without chanemu's runtime frames (Cython and Python twins,
    greenlet), as Go's tracebacks hide runtime.* frames; ``tb`` itself when nothing is hidden
    or GOTRACEBACK=system. The frames are the same objects; only the chain is new."""
    if _show_runtime:
        return tb
    kept = []
    t = tb
    while t is not None:
        if not hidden_code(t.tb_frame.f_code):
            kept.append(t)
        t = t.tb_next
    if tb is None or len(kept) == _tb_len(tb):
        return tb
    import types
    out = None
    for t in reversed(kept):
        out = types.TracebackType(out, t.tb_frame, t.tb_lasti, t.tb_lineno)
    return out


def _tb_len(tb):
    n = 0
    while tb is not None:
        n += 1
        tb = tb.tb_next
    return n


def _hide_runtime_frames(exc, seen=None):
    """Strip runtime frames from exc's traceback and from those of its cause and context."""
    seen = set() if seen is None else seen
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        try:
            exc.__traceback__ = user_traceback(exc.__traceback__)
        except Exception:        # pragma: no cover - an exception type that refuses
            pass
        for sub in getattr(exc, "exceptions", ()) or ():
            if isinstance(sub, BaseException):
                _hide_runtime_frames(sub, seen)
        exc = exc.__cause__ or exc.__context__


def _excepthook(exctype, value, tb):
    if value is not None:
        _hide_runtime_frames(value)
        tb = value.__traceback__
    _next_hook(exctype, value, tb)


_next_hook = None


def install_excepthook():
    """Print uncaught exceptions (scripts, the REPL) without chanemu's runtime frames: a
    deadlock in the REPL shows the user's line, not eight frames of the scheduler. Only
    replaces Python's own hook; a hook someone else installed is left alone."""
    global _next_hook, _next_thread_hook
    import sys
    import threading
    if sys.excepthook is sys.__excepthook__:
        _next_hook = sys.excepthook
        sys.excepthook = _excepthook
    if threading.excepthook is threading.__excepthook__:     # a thread's uncaught exception
        _next_thread_hook = threading.excepthook
        threading.excepthook = _thread_excepthook


_next_thread_hook = None


def _thread_excepthook(args):
    if args.exc_value is not None:
        _hide_runtime_frames(args.exc_value)
        args = type(args)((args.exc_type, args.exc_value, args.exc_value.__traceback__,
                           args.thread))
    _next_thread_hook(args)
