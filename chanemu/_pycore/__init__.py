"""The pure-Python twin of the core (CHANEMU_IMPL=python): read it beside runtime/chan.go.

Exports the narrow interface both twins provide; everything above it is written once.
"""
from .proc import (Goroutine, Runtime, getrt, getg, go, run, gosched, goexit, gopark, goready,
                   park, ready, throw, thread_serial)
from .chan import Chan, nilchan, check_hchan, set_chan_tracing
from .select import select, SendCase, RecvCase

IMPL = "python"


def num_goroutine():
    return getrt().num_goroutine()


def goroutines():
    return getrt().goroutines()


def current_runtime():
    return getrt()


def check_invariants():
    getrt().check_invariants()
