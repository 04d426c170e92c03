"""chanemu.runtime: Go's runtime package for the emulated program of the calling thread.

NumGoroutine, Gosched, Goexit, Stack, and memstats in Go-equivalent bytes; set_preemption.
"""
import sys

import chanemu
from . import _coreapi, _preempt, _traceback
from ._traceback import pytest_hide as __tracebackhide__  # noqa: F401 (pytest)

# Go-equivalent sizes on amd64 (unsafe.Sizeof of runtime.g, sudog and hchan; Go 1.25/1.26)
STACK_MIN = 2048          # stackMin: a goroutine's smallest stack
SIZEOF_G = 448
SIZEOF_SUDOG = 104        # size class 112 with Go 1.26's maybeTraceablePtr fields
SIZEOF_HCHAN = 112


def num_goroutine():
    """runtime.NumGoroutine: goroutines that exist (running, runnable or waiting)."""
    return chanemu._impl.num_goroutine()


def gosched():
    """runtime.Gosched: yield; every goroutine runnable now runs before the caller resumes."""
    chanemu._impl.gosched()


def set_preemption(on):
    """Turn preemption on (the default) or off; returns the previous setting.

    With it on, a goroutine that has run 10 ms of real time without blocking yields at its next
    runtime call (a channel operation, select, ``time.now``, ``gosched``), as Go's scheduler
    preempts a long runner. Where a program is preempted depends on the machine's speed, so a
    program that must make the same choices every time from ``run(..., seed=N)`` turns it off.
    Process-wide, for both twins, as a GODEBUG setting is.
    """
    prev = _preempt.slice_ns != _preempt.OFF
    ns = _preempt.PREEMPT_NS if on else _preempt.OFF
    _preempt.slice_ns = ns
    for twin in _coreapi.loaded_cores():
        twin.set_preempt_slice(ns)
    return prev


def goexit():
    """runtime.Goexit: end the calling goroutine; its finally blocks run."""
    chanemu._impl.goexit()


def goroutines():
    """The handles of every live goroutine, by goid."""
    return sorted(chanemu._impl.goroutines(), key=lambda g: g.goid)


def current():
    """The calling goroutine's handle."""
    return chanemu._impl.getg()


def stack(all=True):
    """runtime.Stack: the calling goroutine's traceback (all=True: every goroutine's), Go's format."""
    me = chanemu._impl.getg()
    frame = sys._getframe(1)
    if not all:
        return _traceback.format_goroutine(me, frame)
    return _traceback.format_all(chanemu._impl.goroutines(), current=me, frame=frame)


def memstats():
    """Live goroutines and sudogs, and what they would cost in a Go program (bytes)."""
    rt = chanemu._impl.current_runtime()
    n = rt.num_goroutine()
    cached = rt.sudogs_cached()
    allocated = rt.sudogs_allocated
    return {
        "goroutines": n,
        "sudogs_in_use": allocated - cached,
        "sudogs_cached": cached,
        "go_stack_bytes": n * STACK_MIN,
        "go_g_bytes": n * SIZEOF_G,
        "go_sudog_bytes": allocated * SIZEOF_SUDOG,
        "go_bytes": n * (STACK_MIN + SIZEOF_G) + allocated * SIZEOF_SUDOG,
    }


def check_invariants():
    """Check the runtime's and every waited-on channel's invariants (AssertionError if broken)."""
    chanemu._impl.check_invariants()
