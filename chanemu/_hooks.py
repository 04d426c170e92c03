"""Observers of a program's end: callbacks told which goroutines ``run()`` is about to discard.

The end of a program (``chanemu._lifecycle.end_program``) calls ``program_ended(rt)`` once,
before it discards anything, while the goroutines still sit where the end found them. With no callback registered it costs one list
test, so the core pays nothing for observers nobody uses. A callback gets ``(rt, snapshot)``
(a ``chanemu._gsnap.Snapshot``, taken on the program's thread) and must not block or run
goroutine code: the program has ended. Users: the pytest plugin (goroutines a test's programs
left parked on channels) and ``chanemu run`` (the other goroutines of a crash, for
``GOTRACEBACK=all``).
"""
import threading

_callbacks = []
_lock = threading.Lock()


def add(callback):
    """Call ``callback(rt, snapshot)`` at the end of every program, from now on."""
    with _lock:
        _callbacks.append(callback)
    return callback


def remove(callback):
    """Stop calling ``callback`` (no error if it was not registered)."""
    with _lock:
        try:
            _callbacks.remove(callback)
        except ValueError:
            pass


def program_ended(rt):
    """Called by end_program: hand the goroutines about to be discarded to the
    observers. An observer that fails is ignored: it must never stop a program's end."""
    if not _callbacks:
        return
    with _lock:
        callbacks = list(_callbacks)
    try:
        from . import _gsnap
        snap = _gsnap.collect(rt)
    except Exception:        # pragma: no cover - an observer never breaks the end
        return
    for cb in callbacks:
        try:
            cb(rt, snap)
        except Exception:
            pass
