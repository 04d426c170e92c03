# cython: language_level=3
"""chanemu._core: Go's channel runtime in C (Cython on greenlet's C API).

One extension assembled from the sources beside this file:
  switch.pxi what a goroutine runs on (a greenlet, or a Fiber with its own C stack) and the
             switch between two (CHANEMU_SWITCH picks the backend once, at import)
  proc.pxi   the scheduler of one P: G registry, run queue with runnext, gopark/goready,
             the sudog cache, goroutine free list, deadlock detection
  chan.pxi   hchan, waitq, chansend, chanrecv, send, recv, closechan
  select.pxi select cases, selectgo with its three passes, the compiler's lowerings
  discard.pxi the C trace function that discards a goroutine's frames on CPython 3.11
The structs are declared in _core.pxd. The pure-Python twin, chanemu/_pycore/, mirrors every
function here under the same name.
"""
cimport cython
from cpython.ref cimport PyObject, Py_INCREF, Py_DECREF, Py_XDECREF, Py_XINCREF, Py_CLEAR
from cpython.mem cimport PyMem_Malloc, PyMem_Free
from cpython.tuple cimport PyTuple_GET_ITEM
from libc.string cimport memset
from libc.stdint cimport int64_t, uint64_t, uint32_t

from greenlet_capi cimport (PyGreenlet, PyGreenlet_Switch, PyGreenlet_GetCurrent,
                            PyGreenlet_Throw, PyGreenlet_Import,
                            PyGreenlet_STARTED)

import os
import sys
import threading
from weakref import ref as weakref_ref
from collections import deque

import greenlet
from greenlet import GreenletExit

from chanemu._errors import (Panic, FatalError, Deadlock, GoExit, E_MAKECHAN_SIZE,
                             E_SEND_CLOSED, E_CLOSE_CLOSED, E_CLOSE_NIL, E_DEADLOCK,
                             E_GOEXIT_DEADLOCK)
from chanemu._views import HChanView, chan_id
from chanemu._chandir import (for_send as chandir_for_send, for_recv as chandir_for_recv,
                              underlying as chandir_underlying, view_repr as chandir_view_repr,
                              register as chandir_register, RECV_FROM_SEND_ONLY,
                              SEND_TO_RECV_ONLY, CLOSE_RECV_ONLY)
from chanemu._empty import Empty, EMPTY, MAX_ZEROSIZE_CAP, check_elem
from chanemu._traceback import pytest_hide as __tracebackhide__   # hides our frames in pytest
from chanemu._timers import Timer, TimerHeap
from chanemu import _preempt, _handle

cdef extern from "greenlet.h":
    void** _PyGreenlet_API

PyGreenlet_Import()
if _PyGreenlet_API == NULL:
    # every switch goes through this table: without it, fail the import, not the first switch
    raise ImportError("chanemu._core: greenlet's C API (greenlet._C_API) did not load")

IMPL = "c"
DEBUG = bool(CHANEMU_DEBUG)

include "proc.pxi"
include "chan.pxi"
include "select.pxi"
include "discard.pxi"


# The interface the upper layer uses (chanemu/_coreapi.py NAMES; tests/test_coreapi.py).
__all__ = ["IMPL", "Chan", "nilchan", "select", "SendCase", "RecvCase", "check_hchan",
           "set_chan_tracing", "Goroutine", "go", "gosched", "goexit", "getg", "park", "ready",
           "num_goroutine", "goroutines", "current_runtime", "check_invariants", "Runtime",
           "run", "run_main", "thread_runtime", "set_thread_runtime", "OPAQUE_TYPES",
           "checkpreempt", "set_preempt_slice", "thread_serial", "SWITCH"]

# The scheduler's own types: the object-graph walk of the leak detector does not follow them.
OPAQUE_TYPES = (Goroutine, Runtime, Fiber)


def getg():
    return getrt().curg


def num_goroutine():
    return len(getrt().allgs)


def goroutines():
    return list(getrt().allgs.values())


def current_runtime():
    return getrt()


def thread_serial():
    """The calling thread's serial number (never reused): a channel's ``owner``, a runtime's
    ``thread_serial``."""
    return chanemu_thread_serial()


def check_invariants():
    getrt().check_invariants()
