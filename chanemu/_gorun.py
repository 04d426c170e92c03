"""Run a program as ``go run`` runs ``package main``: ``chanemu run FILE`` and ``chanemu.main(fn)``.

The program is ``chanemu.run(main)``; what this module adds is the end of the process as a Go
binary ends it (runtime/panic.go printpanics, proc.go's fatal errors, traceback.go's dumps):

- main returns: exit status 0 (goroutines still parked are discarded by ``run()``);
- an uncaught panic (``chanemu.Panic``, or any other exception, whose value reads
  ``TypeName: message``): ``panic: VALUE``, a blank line and the goroutine trace; status 2;
- a fatal error (deadlock, ``main called runtime.Goexit``...): ``fatal error: MSG`` and the dump
  of every goroutine; status 2;
- ``sys.exit(n)`` in any goroutine: status n, as ``os.Exit(n)``.

``GOTRACEBACK`` (none, single, all, system) decides how much trace follows the message.
"""
import os
import re
import sys
import threading

from . import _errors, _hooks, _traceback

EXIT_CRASH = 2          # a Go binary's status after a panic or a fatal error
EXIT_INTERRUPT = 130    # killed by SIGINT, as a shell reports it

# What ``chanemu run``'s command line asked for, while it loads FILE: a chanemu.main(fn) in
# FILE runs with these (the command line wins over the script's own keywords).
_cli = threading.local()


class _Program:
    """One program's settings and the observers it runs with."""

    def __init__(self, pprof=None, trace=None, err=None):
        self.pprof = pprof
        self.trace = trace
        self.err = err
        self.server = None        # pprof.Server, started inside the program
        self.tracer = None        # trace.Trace
        self.ended = None         # the goroutines at the program's end (a _gsnap.Snapshot)
        self.thread = threading.get_ident()

    def on_end(self, rt, snap):
        if threading.get_ident() == self.thread and self.ended is None:
            self.ended = snap

    def entry(self, fn):
        """Goroutine 1's function: start the observers from inside the program, then main.
        Its frame is chanemu's (hidden) and it reads as fn (``__wrapped__``), so goroutine
        1's stack starts at the user's main, in dumps, profiles and traces."""
        def entry():
            self.start_observers()
            return fn()
        entry.__wrapped__ = fn
        return entry

    def start_observers(self):
        if self.pprof is not None:
            from . import pprof
            self.server = pprof.serve(self.pprof)
            self._say(f"chanemu: pprof: serving {self.server.url} while the program runs")
        if self.trace is not None:
            from . import trace
            self.tracer = trace.start(self.trace)

    def close_observers(self):
        try:
            if self.tracer is not None:
                self.tracer.stop()          # writes the trace file
        finally:
            if self.server is not None:
                self.server.close()

    def _say(self, text):
        (self.err or sys.stderr).write(text + "\n")


def main(fn, *, clock=None, seed=None, pprof=None, trace=None):
    """Run ``fn()`` as goroutine 1 of a program and end the process as a Go binary would:
    ``if __name__ == "__main__": chanemu.main(main)``. Never returns (raises SystemExit with
    the status). Under ``chanemu run`` the command line's ``--clock``, ``--seed``, ``--pprof``
    and ``--trace`` win over these keywords."""
    if not callable(fn):
        raise TypeError(f"chanemu.main: {type(fn).__name__!r} object is not callable")
    cli = getattr(_cli, "options", None)
    if cli is not None:
        cli.ran = True
        clock = cli.clock or clock
        seed = cli.seed if cli.seed is not None else seed
        pprof = cli.pprof or pprof
        trace = cli.trace or trace
    status = execute(fn, clock=clock or "real", seed=seed, pprof=pprof, trace=trace)
    raise SystemExit(status)


def execute(fn, *, clock="real", seed=None, pprof=None, trace=None, err=None):
    """Run the program and report its end on ``err`` (stderr) as Go does; returns the status."""
    import chanemu
    prog = _Program(pprof, trace, err)
    _hooks.add(prog.on_end)
    try:
        try:
            chanemu.run(prog.entry(fn), seed=seed, clock=clock)
        finally:
            _hooks.remove(prog.on_end)
            prog.close_observers()
    except BaseException as e:           # noqa: B036 - every end of a program is reported
        return report(e, prog.ended, err)
    _flush(sys.stdout)
    return 0


def report(exc, ended=None, err=None):
    """Print how the program ended with exc, as a Go binary does; returns the exit status."""
    err = err or sys.stderr
    _flush(sys.stdout)                   # the program's output comes first, as in Go
    if isinstance(exc, SystemExit):
        return exit_status(exc, err)
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPT
    level, all_ = _traceback.gotraceback()
    if isinstance(exc, _errors.FatalError):
        text = fatal_text(exc, level, ended)
    else:
        text = panic_text(exc, level, all_, ended)
    err.write(text)
    _flush(err)
    return EXIT_CRASH


def exit_status(exc, err):
    """sys.exit(code): as Python reports it (None is 0, a non-integer is printed, status 1)."""
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF          # what the OS keeps of it (sys.exit(-1) is 255)
    err.write(f"{code}\n")
    return 1


def _flush(f):
    try:
        f.flush()
    except Exception:         # a closed or broken stream: nothing more to say there
        pass


# -- panic values, as runtime/error.go printpanicval prints them ---------------------------
def panic_value(exc):
    """The text after ``panic: `` for an uncaught exception."""
    if isinstance(exc, _errors.Panic):
        if len(exc.args) == 1:
            return go_value(exc.args[0])
        if not exc.args:
            return "panic called with nil argument"        # Go 1.21's PanicNilError
        return str(exc)
    msg = str(exc)
    name = type(exc).__name__
    return printindented(f"{name}: {msg}" if msg else name)


def go_value(v):
    """A panic value as Go prints it: strings plain (continued lines indented), errors by
    their message, numbers and booleans in Go's spelling."""
    if v is None:
        return "panic called with nil argument"
    if isinstance(v, str):
        return printindented(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return go_float(v)
    if isinstance(v, BaseException):
        return printindented(str(v))                      # an error: its Error()
    return printindented(repr(v))


def printindented(s):
    """Continuation lines of a panic value start with a tab (panic.go printindented)."""
    return s.replace("\n", "\n\t")


def go_float(x):
    """A float64 as Go's runtime prints a panic value: the shortest digits, in %e form when
    the exponent is below -4 or at least 6 (strconv's 'g' with shortest precision)."""
    if x != x:
        return "NaN"
    if x in (float("inf"), float("-inf")):
        return "+Inf" if x > 0 else "-Inf"
    if x == 0:
        return "-0" if str(x).startswith("-") else "0"
    from decimal import Decimal
    sign = "-" if x < 0 else ""
    t = Decimal(repr(abs(x))).normalize().as_tuple()      # repr: the shortest round trip
    ds = "".join(map(str, t.digits))
    point = len(ds) + t.exponent                          # digits before the decimal point
    exp10 = point - 1
    if exp10 < -4 or exp10 >= 6:
        body = ds[0] + ("." + ds[1:] if len(ds) > 1 else "")
        return f"{sign}{body}e{'-' if exp10 < 0 else '+'}{abs(exp10):02d}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{ds}"
    if point >= len(ds):
        return f"{sign}{ds}{'0' * (point - len(ds))}"
    return f"{sign}{ds[:point]}.{ds[point:]}"


def panic_lines(exc):
    """``panic: V`` for exc and the exceptions it was raised while handling, oldest first
    (printpanics): one caught and then raised again with the same value reads
    ``[recovered, repanicked]``; one replaced by another, ``[recovered]``."""
    chain = []
    seen = set()
    e = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        chain.append(e)
        e = e.__cause__ if e.__cause__ is not None else (
            None if e.__suppress_context__ else e.__context__)
    chain.reverse()
    out = []
    i = 0
    while i < len(chain):
        e = chain[i]
        val = panic_value(e)
        nxt = chain[i + 1] if i + 1 < len(chain) else None
        if nxt is not None and type(nxt) is type(e) and panic_value(nxt) == val:
            out.append(f"panic: {val} [recovered, repanicked]")
            i += 2
            continue
        out.append(f"panic: {val}" + (" [recovered]" if nxt is not None else ""))
        i += 1
    return "\n\t".join(out) + "\n"


# -- traces --------------------------------------------------------------------------------
_NOTE = re.compile(r"chanemu: raised in goroutine (\d+)"
                   r"(?:, created by (.+?) at (.+):(\d+)(?: in goroutine (\d+))?)?$")


def crash_site(exc):
    """(goid, (file, line, function, parent goid or None) or None) of the goroutine exc
    escaped from, read from the note the runtime adds to it; goroutine 1 when there is none."""
    for note in getattr(exc, "__notes__", ()) or ():
        m = _NOTE.match(note)
        if m:
            created = None
            if m.group(2) is not None:
                parent = int(m.group(5)) if m.group(5) else None
                created = (m.group(3), int(m.group(4)), m.group(2), parent)
            return int(m.group(1)), created
    return 1, None


def program_frames(tb):
    """The frames of exc's traceback inside the program, innermost first, in Go's shape:
    everything outside the first runtime frame (the caller of run(), the script that called
    chanemu.main) is not the goroutine's; runtime frames are hidden unless GOTRACEBACK=system."""
    entries = []
    inside = False
    while tb is not None:
        code = tb.tb_frame.f_code
        if not inside:
            inside = _traceback.runtime_file(code.co_filename)
        elif not _traceback.hidden_code(code):
            mod = tb.tb_frame.f_globals.get("__name__", "?")
            name = code.co_qualname
            if not name.startswith(mod + "."):         # Cython's already carry the module
                name = f"{mod}.{name}"
            entries.append((name, code.co_filename, tb.tb_lineno or 0,
                            _traceback.line_offset(code, tb.tb_lasti)))
        tb = tb.tb_next
    entries.reverse()
    return entries


def crashed_goroutine(exc, status="running"):
    """The crashed goroutine's trace block, as traceback.go prints the one that panicked."""
    goid, created = crash_site(exc)
    lines = [f"goroutine {goid} [{status}]:"]
    for func, file, line, off in program_frames(exc.__traceback__):
        lines.append(f"{func}(...)")
        lines.append(f"\t{file}:{line} +0x{off:x}")
    if created is not None:
        file, line, func, parent = created
        lines.append(f"created by {func}" + (f" in goroutine {parent}" if parent else ""))
        lines.append(f"\t{file}:{line} +0x0")
    return goid, "\n".join(lines) + "\n"


def others(ended, skip):
    """Every other goroutine at the program's end, as the dump prints them."""
    if ended is None:
        return []
    from .pprof import _format_record
    return [_format_record(r, ended.now) for r in ended.records
            if r.goid != skip and r.status != "dead"]


def panic_text(exc, level, all_, ended):
    text = panic_lines(exc)
    if level == 0:
        return text
    goid, block = crashed_goroutine(exc)
    blocks = [block] + (others(ended, goid) if all_ else [])
    return text + "\n" + "\n".join(blocks)


def fatal_text(exc, level, ended):
    text = f"fatal error: {exc}\n"
    if level == 0:
        return text
    if exc.dump:
        return text + "\n" + exc.dump
    if isinstance(exc, _errors.Deadlock) or str(exc) == _errors.E_GOEXIT_DEADLOCK:
        return text                     # no goroutine left to show
    goid, block = crashed_goroutine(exc)
    return text + "\n" + "\n".join([block] + others(ended, goid))    # fatal: every goroutine


# -- chanemu run FILE ----------------------------------------------------------------------
class CliOptions:
    def __init__(self, clock=None, seed=None, pprof=None, trace=None):
        self.clock = clock
        self.seed = seed
        self.pprof = pprof
        self.trace = trace
        self.ran = False            # FILE ran a program itself (chanemu.main, or run())


def run_file(path, args, options, err=None):
    """``chanemu run FILE ARGS``: load FILE as __main__ (sys.argv = [FILE, *ARGS]), then run
    its main() as goroutine 1; returns the exit status."""
    err = err or sys.stderr
    try:
        code = _compile(os.path.abspath(path))
    except OSError as e:
        err.write(f"chanemu run: {path}: {e.strerror or e}\n")
        return 1
    except SyntaxError:
        import traceback
        traceback.print_exc(limit=0, file=err)      # as `go run` reports a build error
        return 1
    mod = _main_module(path)
    sys.argv = [path, *args]
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    _cli.options = options
    ended_here = []
    thread = threading.get_ident()
    watch = _hooks.add(lambda rt, snap: ended_here.append(rt)
                       if threading.get_ident() == thread else None)
    try:
        exec(code, mod.__dict__)
    except BaseException as e:       # noqa: B036 - SystemExit from chanemu.main lands here too
        return report(e, None, err)
    finally:
        _hooks.remove(watch)
        _cli.options = None
    if options.ran or ended_here:
        _flush(sys.stdout)
        return 0                     # FILE ran its program itself (run(main) in its body)
    fn = mod.__dict__.get("main")
    if not callable(fn):
        err.write(f"chanemu run: {path}: function main is undeclared in the main module\n")
        return 1
    return execute(fn, clock=options.clock or "real", seed=options.seed,
                   pprof=options.pprof, trace=options.trace, err=err)


def _compile(path):
    import tokenize
    with tokenize.open(path) as f:   # compiled under its absolute path, as Go prints files
        source = f.read()
    return compile(source, path, "exec", dont_inherit=True)


def _main_module(path):
    """A fresh __main__ module for FILE, as ``python FILE`` makes one."""
    import builtins
    import types
    mod = types.ModuleType("__main__")
    mod.__file__ = path
    mod.__builtins__ = builtins
    mod.__spec__ = None
    sys.modules["__main__"] = mod
    return mod
