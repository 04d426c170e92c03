"""The life of a program, written once for both twins: run(), the end of a program, and the end of
a thread's default runtime.

Go's scheduler (run queues, gopark/goready, schedule, goexit0) is written twice, beside
runtime/proc.go, in src_c/proc.pxi and chanemu/_pycore/proc.py. Everything here is above it and
reaches a twin only through the names declared in chanemu/_coreapi.py.

How a program ends (Go's exit): when main returns, on a deadlock, or when a goroutine crashes, the
process exits and no other goroutine runs again: no deferred call, nothing after its blocking
call. A panicking goroutine's own deferred calls run while it unwinds, before the crash. Here the
program's goroutines are greenlets, and freeing a suspended greenlet normally unwinds it (greenlet
throws GreenletExit in), which runs its ``finally`` blocks and ``with`` exits. So the end
*discards* them instead: each frame of a discarded goroutine is marked doomed, and the interpreter
is asked to report every instruction those frames execute; the report raises ``Discarded``. Then
``Discarded`` is thrown into the greenlet: each handler (finally, except, with-exit) raises again on
its first instruction, so the frames unwind without running a line, and everything they held is
freed. An object's own ``__del__`` may run meanwhile (its finalizer, not the goroutine's code).

The instruction reports come from ``sys.monitoring`` (CPython 3.12+), or on 3.11 from a C trace
function in chanemu._core (``_discard_trace_on``) with ``f_trace_opcodes`` set on the doomed frames.
The core's own frames (the pure-Python twin's) are not doomed: they run their handlers, which take
the goroutine off its channel's queue, as the C twin's compiled handlers do.

``run(main, at_exit="unwind")`` is the explicit non-Go choice: the goroutines unwind, so their
finally blocks run (to release a threading.Lock or end a transaction shared with the rest of the
process); every runtime call they make raises at once, and nothing they raise comes out of run().
"""
import atexit
import gc
import inspect
import signal
import sys
import threading
import types
import warnings

import greenlet

from . import _coreapi, _hooks, _traceback
from ._errors import Discarded
from ._traceback import pytest_hide as __tracebackhide__  # noqa: F401 (pytest hides the end)

AT_EXIT = ("discard", "unwind")


# -- discarding a suspended greenlet without running its code --------------------------------------
_GENERATOR_FLAGS = inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR


def closed_by_doomed(frame, doomed):
    """A generator's frame resumed to be closed (its object freed) by a doomed frame that lets go
    of it: a ``with`` block's @contextmanager, a half-consumed generator. Its finally blocks are
    the discarded goroutine's code: it is doomed too, and ends with GeneratorExit, which close()
    takes quietly."""
    if frame.f_code.co_flags & _GENERATOR_FLAGS and frame.f_back in doomed:
        doomed[frame] = GeneratorExit
        return True
    return False


class _MonitoringTrap:
    """CPython 3.12+: INSTRUCTION events of the doomed frames' code objects raise; PY_THROW (a
    generator resumed to be closed) dooms generators that doomed frames let go of."""

    def __init__(self):
        self.tool = None
        self.codes = set()

    def arm(self, doomed):
        mon = sys.monitoring
        self.tool = next((t for t in range(5, -1, -1) if mon.get_tool(t) is None), None)
        if self.tool is None:
            raise RuntimeError("chanemu: no free sys.monitoring tool id to discard goroutines")
        mon.use_tool_id(self.tool, "chanemu-discard")

        def on_instruction(code, offset):
            exc = doomed.get(sys._getframe(1))
            if exc is not None:
                raise exc

        def on_throw(code, offset, exc):
            if closed_by_doomed(sys._getframe(1), doomed):
                self.watch(code)

        mon.register_callback(self.tool, mon.events.INSTRUCTION, on_instruction)
        mon.register_callback(self.tool, mon.events.PY_THROW, on_throw)
        mon.set_events(self.tool, mon.events.PY_THROW)
        for f in doomed:
            self.watch(f.f_code)

    def watch(self, code):
        if code not in self.codes:
            self.codes.add(code)
            sys.monitoring.set_local_events(self.tool, code, sys.monitoring.events.INSTRUCTION)

    def disarm(self):
        mon = sys.monitoring
        mon.set_events(self.tool, 0)
        for code in self.codes:
            mon.set_local_events(self.tool, code, 0)
        mon.register_callback(self.tool, mon.events.INSTRUCTION, None)
        mon.register_callback(self.tool, mon.events.PY_THROW, None)
        mon.free_tool_id(self.tool)
        self.codes = set()


class _TraceTrap:
    """CPython 3.11: chanemu._core's C trace function raises on an OPCODE event of a doomed frame
    (f_trace_opcodes makes the frame report each instruction), and on a CALL event dooms a
    generator that a doomed frame lets go of (closed_by_doomed)."""

    def __init__(self, core):
        self.core = core
        self.saved = None
        self.doomed = None

    def arm(self, doomed):
        self.doomed = doomed
        for f in doomed:
            f.f_trace_opcodes = True
        self.saved = self.core._discard_trace_on(doomed, closed_by_doomed)

    def disarm(self):
        self.core._discard_trace_off(self.saved)
        for f in self.doomed:
            # A generator that someone else still holds reports opcodes no more.
            f.f_trace_opcodes = False
        self.doomed = None


def _trap_factory():
    """How this interpreter can discard frames, or None (then the end unwinds, harmlessly)."""
    if hasattr(sys, "monitoring"):
        return _MonitoringTrap
    try:
        from . import _core
    except ImportError:
        return None
    return lambda: _TraceTrap(_core)


_new_trap = None           # made on first use: chanemu._core imports this module
_discard_lock = threading.RLock()   # sys.monitoring tool ids are per process


def can_discard():
    """Whether this interpreter can end a program as Go does (else at_exit="discard" unwinds)."""
    global _new_trap
    if _new_trap is None:
        _new_trap = _trap_factory() or False
    return _new_trap is not False


class _Search:
    """What finding the doomed frames of many goroutines computes once, not per frame: which
    module names are the twins' (a program's goroutines mostly share a few modules), and the
    types the generator search does not follow."""

    def __init__(self):
        self.core = {}
        self.stop = _NOT_FOLLOWED + tuple(t for core in _coreapi.loaded_cores()
                                          for t in (core.Chan, *core.OPAQUE_TYPES)) + (
                                              greenlet.greenlet,)

    def is_core(self, frame):
        name = frame.f_globals.get("__name__", "")
        core = self.core.get(name)
        if core is None:
            core = self.core[name] = _coreapi.is_core_module(name)
        return core


def _doomed_frames(gr, doomed, search):
    """Add the frames of a suspended greenlet that belong to the program (not to the core twin)
    to doomed (frame -> the exception its next instruction raises), with the suspended
    generators their locals hold (freed later, with the exception's traceback)."""
    f = gr.gr_frame
    while f is not None:
        if not search.is_core(f):
            doomed[f] = Discarded
            _doom_local_generators(f, doomed, search.stop)
        f = f.f_back


# How far the search for a discarded goroutine's suspended generators goes from its locals (an
# ExitStack holding a @contextmanager is seven references deep) and how many objects it reads.
_GEN_DEPTH = 8
_GEN_BUDGET = 2000
_NOT_FOLLOWED = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType,
                 types.CodeType, types.FrameType, str, bytes, int, float)


def _doom_local_generators(frame, doomed, stop):
    """Suspended generators that the frame's locals hold, directly or through containers and
    objects (not through functions, modules, frames, greenlets, channels or the core's types:
    stop): they are closed when the frame is freed, after its unwinding, and their finally
    blocks are the goroutine's code."""
    seen = set()
    todo = [(v, 0) for v in frame.f_locals.values()]
    while todo and len(seen) < _GEN_BUDGET:
        obj, depth = todo.pop()
        if id(obj) in seen or isinstance(obj, stop):
            continue
        seen.add(id(obj))
        if inspect.isgenerator(obj):
            if obj.gi_frame is not None and not obj.gi_running:
                doomed[obj.gi_frame] = GeneratorExit
            continue
        if depth < _GEN_DEPTH:
            todo.extend((r, depth + 1) for r in gc.get_referents(obj))


def _let_go(frame):
    """Free an unwound frame's locals now."""
    frame.clear()
    if sys.version_info < (3, 13):
        # Reading f_locals (the generator search did) left a snapshot dict in the frame, which
        # clear() keeps; reading it again syncs it with the cleared locals, emptying it.
        frame.f_locals


def _throw_into(gr, exc_type):
    """Throw exc_type into gr, which then ends into the caller. Returns what came out of it if
    that was something to pass on (a KeyboardInterrupt), else None."""
    try:
        gr.parent = greenlet.getcurrent()
    except ValueError:
        pass       # the caller runs inside gr's own tree: gr ends into its old parent
    try:
        gr.throw(exc_type)
    except KeyboardInterrupt as e:
        return e
    except BaseException:
        pass       # Discarded, GreenletExit, or what an unwinding goroutine raised: dropped
    return None


def _live(grs):
    me = greenlet.getcurrent()
    return [gr for gr in grs if gr is not None and gr is not me and gr and not gr.dead]


def discard(grs):
    """End the suspended greenlets grs without running any of their code. Returns a
    KeyboardInterrupt that arrived meanwhile, or None."""
    pending = None
    grs = _live(grs)
    if not grs:
        return None
    with _discard_lock:
        doomed = {}
        search = _Search()
        for gr in grs:
            _doomed_frames(gr, doomed, search)
        trap = _new_trap()
        trap.arm(doomed)
        try:
            for gr in grs:
                pending = _throw_into(gr, Discarded) or pending
            # Let go of what the goroutines' frames hold while still armed: the generators
            # their locals held are closed now, and stay doomed. (A frame can outlive its
            # unwinding: a traceback kept in C still points at it.)
            for f in [f for f, exc in doomed.items() if exc is Discarded]:
                del doomed[f]
                _let_go(f)
        finally:
            trap.disarm()
            doomed.clear()
    return pending


def unwind(grs):
    """End the suspended greenlets grs by unwinding them (their finally blocks run). Returns a
    KeyboardInterrupt that arrived meanwhile, or None."""
    pending = None
    for gr in _live(grs):
        pending = _throw_into(gr, greenlet.GreenletExit) or pending
    return pending


# -- the end of a program ------------------------------------------------------------------------
class _SigintHeld:
    """Holds Ctrl-C while a program ends (main thread, default handler only): the end finishes,
    then the KeyboardInterrupt comes out. Otherwise it could stop the end half way and leave
    goroutines to be unwound by the garbage collector."""

    def __init__(self):
        self.caught = False
        self.installed = False

    def __enter__(self):
        # (not current_thread(): in a thread's end it would register a dummy thread)
        if threading.get_ident() == threading.main_thread().ident:
            try:
                if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
                    signal.signal(signal.SIGINT, self._hold)
                    self.installed = True
            except (ValueError, OSError):
                pass
        return self

    def _hold(self, signum, frame):
        self.caught = True

    def __exit__(self, *exc):
        if self.installed:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        return False


def end_program(rt, at_exit="discard"):
    """The program of rt has ended: no goroutine of it runs again. Its goroutines are discarded
    (or unwound, with at_exit="unwind"), then the runtime lets go of them. A KeyboardInterrupt
    that arrived during the end is raised once everything is freed."""
    _hooks.program_ended(rt)     # observers see the goroutines where the end found them
    with _SigintHeld() as held:
        grs = rt.end()       # dead from now on: gopark, gosched, go raise at once
        pending = None
        try:
            pending = _end_goroutines(grs, at_exit)
        finally:
            grs = None
            try:
                _stop_trace(rt)
            finally:
                rt.release()
    if held.caught and pending is None:
        pending = KeyboardInterrupt()
    if pending is not None:
        raise pending


def _end_goroutines(grs, at_exit):
    """Discard (or unwind) the greenlets grs. Returns a KeyboardInterrupt to raise afterwards, or
    None. Whatever discarding could not end is unwound, never left to the garbage collector
    (which would unwind it later, at a random moment)."""
    pending = None
    if at_exit == "discard" and can_discard():
        try:
            pending = discard(grs)
        except KeyboardInterrupt as e:
            pending = e
        except Exception as e:
            warnings.warn(f"chanemu: could not discard the program's goroutines ({e!r}); "
                          "unwinding them instead", RuntimeWarning, stacklevel=2)
    try:
        return unwind(grs) or pending
    except KeyboardInterrupt as e:
        return pending or e


def _stop_trace(rt):
    """A trace (chanemu.trace) still recording when its program ends is stopped, which writes
    its file: the end is its last moment."""
    tracer = rt.tracer
    stop = getattr(tracer, "stop", None)
    if stop is not None:
        stop()


def check_at_exit(at_exit):
    if at_exit not in AT_EXIT:
        raise ValueError(f"run: at_exit must be 'discard' (Go's) or 'unwind', not {at_exit!r}")


# -- fatal errors --------------------------------------------------------------------------------
def dump(rt):
    """Every goroutine of rt's program, as Go prints them at a fatal error (a deadlock's message)."""
    return _traceback.format_all(rt.goroutines())


def attach_dump(rt, exc):
    """A KeyboardInterrupt stops the program: like a FatalError it carries the goroutine dump
    of the moment (``.dump``), as Go prints one on SIGQUIT."""
    if getattr(exc, "dump", None) is None:
        try:
            exc.dump = dump(rt)
        except BaseException:
            pass    # the exception goes on without its dump rather than being replaced


# -- run -------------------------------------------------------------------------------------------
def run_on(core, main, *args, seed=None, clock="real", at_exit="discard", **kwargs):
    """Run main(*args, **kwargs) as goroutine 1 of a fresh runtime of the twin core, and return
    its result (each twin's run() is this, bound to the twin).

    The program ends when main returns: goroutines still parked are discarded as Go's are at exit
    (none of their code runs again). A deadlock or an exception escaping a goroutine comes out of
    run(), after the end. at_exit="unwind" unwinds them instead (not Go's; see this module).
    """
    if not callable(main):
        raise TypeError(f"run: {type(main).__name__!r} object is not callable")
    check_at_exit(at_exit)
    prev = core.thread_runtime()
    if prev is not None and prev.is_run:
        raise RuntimeError("chanemu: run() called inside a running program (run() does not nest)")
    rt = core.Runtime(seed, clock)
    core.set_thread_runtime(rt)
    try:
        return core.run_main(rt, main, args, kwargs)
    finally:
        # The end first: discarded goroutines end inside their own (dead) program.
        try:
            end_program(rt, at_exit)
        finally:
            core.set_thread_runtime(prev)


# -- the end of a thread -----------------------------------------------------------------------------
class _ThreadEnd:
    """Held by a thread-local: when the thread ends, the thread's default runtime ends with it,
    and its parked goroutines are discarded (Go's process would not run them again either)."""
    __slots__ = ("rt", "__weakref__")

    def __init__(self, rt):
        self.rt = rt

    def __del__(self):
        self.finish()

    def finish(self):
        rt, self.rt = self.rt, None
        if rt is None or rt.dead:
            return
        try:
            if threading.get_ident() == rt.thread_ident:
                end_program(rt, "discard")
            else:
                # Freed late, from another thread: the greenlets of an ended thread cannot run,
                # and greenlet frees them without running them.
                rt.end()
                rt.release()
        except BaseException:
            pass     # a thread's end has nobody to report to


# One holder per twin: each twin has its own default runtime per thread (the test suite runs
# both in one process), and a new holder replacing another twin's would end that twin's runtime.
_thread_end = threading.local()
_main_thread_end = {}
_atexit_registered = []


def _end_main_thread():
    """At interpreter exit the main thread's default runtimes end before the interpreter frees
    their goroutines' greenlets (which would unwind them)."""
    while _main_thread_end:
        _main_thread_end.popitem()[1].finish()


def default_runtime(core):
    """The calling thread's default runtime on the twin core, made at its first runtime call
    outside run(): the thread's own code becomes goroutine 1, which takes the program's fatal
    errors inside its blocking calls (there is no run() to raise them from), and the runtime
    ends when the thread does. The twin keeps it as the thread's runtime."""
    rt = core.Runtime()
    rt.adopt_current()
    default_runtime_made(rt)
    return rt


def default_runtime_made(rt):
    """A thread made its default runtime: end it when the thread ends."""
    twin = type(rt).__module__
    holders = getattr(_thread_end, "holders", None)
    if holders is None:
        holders = _thread_end.holders = {}
    holder = holders[twin] = _ThreadEnd(rt)
    if threading.get_ident() == threading.main_thread().ident:
        if not _atexit_registered:
            atexit.register(_end_main_thread)
            _atexit_registered.append(True)
        _main_thread_end[twin] = holder
