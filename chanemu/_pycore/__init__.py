"""The pure-Python twin of the core (CHANEMU_IMPL=python): read it beside runtime/chan.go.

Exports the interface both twins provide (chanemu/_coreapi.py); everything above it is written once.
"""
from . import proc
from .proc import (Goroutine, Runtime, getg, go, run, gosched, goexit, park, ready,
                   run_main, thread_runtime, set_thread_runtime, checkpreempt,
                   set_preempt_slice, thread_serial, _fail_switches)
from .chan import Chan, nilchan, check_hchan, set_chan_tracing
from .select import select, SendCase, RecvCase

IMPL = "python"
# What goroutines run on: this twin, the readable one, always uses greenlet (CHANEMU_SWITCH
# chooses the C twin's backend only).
SWITCH = "greenlet"

# The interface the upper layer uses (chanemu/_coreapi.py NAMES; tests/test_coreapi.py).
__all__ = ["IMPL", "Chan", "nilchan", "select", "SendCase", "RecvCase", "check_hchan",
           "set_chan_tracing", "Goroutine", "go", "gosched", "goexit", "getg", "park", "ready",
           "num_goroutine", "goroutines", "current_runtime", "check_invariants", "Runtime",
           "run", "run_main", "thread_runtime", "set_thread_runtime", "OPAQUE_TYPES",
           "checkpreempt", "set_preempt_slice", "thread_serial", "SWITCH"]

# The scheduler's own types: the object-graph walk of the leak detector does not follow them.
OPAQUE_TYPES = (Goroutine, Runtime, proc.sudog)


def num_goroutine():
    return proc.getrt().num_goroutine()


def goroutines():
    return proc.getrt().goroutines()


def current_runtime():
    return proc.getrt()


def check_invariants():
    proc.getrt().check_invariants()
