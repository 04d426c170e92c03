"""The interface between a core twin and everything above it.

chanemu._core (C) and chanemu._pycore (pure Python) each implement Go's scheduler and channels,
beside runtime/proc.go, chan.go and select.go. Everything else (the program's lifecycle in
chanemu/_lifecycle.py, sync, time, context, pprof, leak, trace, inspect) is written once and may
use a twin only through the names below: each twin's ``__all__`` is exactly NAMES
(tests/test_coreapi.py checks it, and that both twins' Runtime and Goroutine have the attributes
listed). The upper layer finds a twin with ``loaded_cores()`` and ``core_of(obj)``, never by
module name.
"""
import sys

# Module-level names of a twin.
NAMES = frozenset((
    "IMPL",                 # "c" or "python"
    "SWITCH",               # what goroutines run on: "greenlet", or (C twin) "stack"
    # channels and select
    "Chan", "nilchan", "select", "SendCase", "RecvCase", "check_hchan", "set_chan_tracing",
    # goroutines
    "Goroutine", "go", "gosched", "goexit", "getg", "park", "ready", "num_goroutine",
    "goroutines", "current_runtime", "check_invariants",
    # preemption: the check at runtime calls above the core (time.now), and its time slice
    "checkpreempt", "set_preempt_slice",
    # threads: a serial number per thread, never reused (a channel's owner, an observer's check)
    "thread_serial",
    # programs (the lifecycle layer drives these)
    "Runtime", "run", "run_main", "thread_runtime", "set_thread_runtime",
    # types the object-graph walk (chanemu/_reach.py) must not follow: the scheduler's own
    "OPAQUE_TYPES",
))

# Runtime attributes the upper layer reads or calls.
RUNTIME_ATTRS = frozenset((
    "dead", "is_run", "clock", "thread_ident", "thread_serial", "tracer", "safepoint_pending", "safepoints",
    "wake", "timers", "sudogs_allocated", "nanotime", "goroutines", "num_goroutine",
    "runq_snapshot", "sudogs_cached", "newtimer", "addtimer", "stoptimer", "resettimer",
    "runtimers", "run_safepoints", "check_invariants",
    "adopt_current",        # a thread's default runtime: its code becomes goroutine 1
    "end", "release",       # the end of the program (chanemu/_lifecycle.py)
))

# Goroutine attributes (the public handle).
GOROUTINE_ATTRS = frozenset((
    "goid", "status", "wait_reason", "wait_since", "waiting_obj", "waiting_on", "parent_goid",
    "start_function", "start_args", "runtime", "creation_site", "created_by", "frame", "stack",
    "current",
))

# Where the twins live. The only place that names them.
TWIN_MODULES = ("chanemu._core", "chanemu._pycore")


def loaded_cores():
    """The twins imported in this process."""
    return [sys.modules[m] for m in TWIN_MODULES if m in sys.modules]


def core_of(obj):
    """The twin that made obj (a Runtime, Goroutine or Chan), or None."""
    for core in loaded_cores():
        if isinstance(obj, (core.Runtime, core.Goroutine, core.Chan)):
            return core
    return None


def is_core_module(name):
    """Whether module name belongs to a twin (its frames are the scheduler's own)."""
    return any(name == m or name.startswith(m + ".") for m in TWIN_MODULES)
