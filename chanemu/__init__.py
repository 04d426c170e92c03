"""chanemu: Go's channel runtime, emulated faithfully enough to watch a goroutine leak in the struct.

``chanemu`` loads the C extension (``chanemu._core``); ``CHANEMU_IMPL=python`` selects the
pure-Python twin (``chanemu._pycore``), which mirrors runtime/chan.go function by function.
``chanemu.IMPL`` says which one is loaded ("c" or "python"). ``chanemu.SWITCH`` says what its
goroutines run on: "greenlet", or with ``CHANEMU_SWITCH=stack`` (C twin only) "stack", a C stack
of each goroutine's own.
"""
import os as _os
import warnings as _warnings

from ._errors import Panic, FatalError, Deadlock
from ._empty import Empty

__version__ = "0.1.0"

_PUBLIC = ("Chan", "nilchan", "go", "run", "Goroutine", "select")


def _import_core(name):
    if name == "c":
        from . import _core
        return _core
    if name == "python":
        from . import _pycore
        return _pycore
    raise ImportError(f"CHANEMU_IMPL must be 'c' or 'python', not {name!r}")


def _load_default():
    want = _os.environ.get("CHANEMU_IMPL")
    if want:
        return _import_core(want)
    try:
        return _import_core("c")
    except ImportError as e:   # a source checkout without a build: say so, then go on in Python
        here = _os.path.dirname(__file__)
        if not any(f.startswith("_core.") for f in _os.listdir(here)):
            e = (f"chanemu._core is not built in {here}; run `python -m pip install -e .` "
                 "there, or run from outside the source tree")
        _warnings.warn(f"chanemu: the C extension did not load ({e}); using the pure-Python twin",
                       RuntimeWarning, stacklevel=3)
        return _import_core("python")


def _set_impl(name):
    """Switch the active twin ("c" or "python") for this process: rebinds the public names.

    For the test suite, which runs every test on both twins in one process. Objects made by one
    twin keep working with that twin only.
    """
    global _impl, IMPL, SWITCH
    _impl = _import_core(name)
    IMPL = _impl.IMPL
    SWITCH = _impl.SWITCH
    g = globals()
    for n in _PUBLIC:
        g[n] = getattr(_impl, n)
    g["send"] = _impl.SendCase     # send(c, v): a select case
    g["recv"] = _impl.RecvCase     # recv(c): a select case
    return _impl


_impl = None
IMPL = None
SWITCH = None
_set_impl(_load_default().IMPL)

from . import runtime            # noqa: E402  (the upper layer reads _impl at call time)
from ._inspect import inspect, HChanState   # noqa: E402
from ._gorun import main          # noqa: E402  (chanemu.main(fn): run a program as `go run`)
from . import _traceback as _tb    # noqa: E402
_tb.install_excepthook()          # uncaught exceptions print without the runtime's frames
