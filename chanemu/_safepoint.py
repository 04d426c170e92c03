"""Run a function on a runtime's own thread, between two operations (a safe point).

The pprof server and other observers live in other threads. A snapshot taken from there while
the runtime's thread is in the middle of a channel operation could see a half-done one (the
pure-Python twin can be preempted between any two bytecodes). So, as Go stops the world for a
goroutine profile, the observer queues its function and the runtime runs it at its next
scheduling point, or at once if it is idle waiting for a timer.
"""
import threading

import chanemu
from . import _coreapi


def on_thread(rt):
    """The caller runs on rt's thread (by serial number: a thread id can be reused by a thread
    started after rt's ended). The serial is rt's own twin's: each twin numbers threads."""
    core = _coreapi.core_of(rt)
    return core is not None and core.thread_serial() == rt.thread_serial


def call(rt, fn, timeout=1.0):
    """fn() run at rt's next safe point; returns its result or raises its exception.

    From the runtime's own thread, fn runs at once (a goroutine is always between operations).
    If the runtime does not reach a safe point within timeout seconds (its goroutine 1 is busy
    outside any channel operation, or the program has ended), fn runs here instead, holding the
    GIL: consistent for the C extension, whose operations never release it.
    """
    if on_thread(rt):
        return fn()
    box = {}
    done = threading.Event()

    def job():
        try:
            box["value"] = fn()
        except BaseException as e:   # handed to the caller below
            box["error"] = e
        finally:
            done.set()

    rt.safepoints.append(job)
    rt.safepoint_pending = True
    rt.wake.set()
    if not done.wait(timeout):
        try:
            rt.safepoints.remove(job)
        except ValueError:
            done.wait()          # the runtime took it just now: wait for it to finish
        else:
            job()
    if "error" in box:
        raise box["error"]
    return box["value"]
