"""Every test runs on both twins: the C extension and the pure-Python reference.

Use the ``ce`` fixture (the ``chanemu`` package with the twin under test active) and reach the API
through it at call time: ``ce.Chan(5)``, ``ce.go(f)``, ``ce.runtime.num_goroutine()``.

The one exception is a layer below both twins, with no Python side to compare (the C stacks and
context swap of the stack switch backend): such tests are marked ``below_twins`` and take no
``ce`` fixture.
"""
import os
import signal
import threading

import pytest

import chanemu

IMPLS = {"c-extension": "c", "pure-python": "python"}


def pytest_report_header(config):
    # CHANEMU_SWITCH=stack runs the C twin's goroutines on C stacks of their own
    return f"chanemu switch backend (C twin): {os.environ.get('CHANEMU_SWITCH') or 'greenlet'}"

# The programs the tests start in subprocesses run with preemption off too (see _preemption).
os.environ["CHANEMU_PREEMPT"] = "off"

# The Ctrl-C tests need Python's own SIGINT handler, here and in the programs they start. A shell
# without job control (a CI script's `cmd &`, nohup) starts the suite with SIGINT ignored, and
# Python then installs no handler: an interrupt would never come and a test would spin forever.
# A handler, unlike an ignored signal, does not pass on to the processes started from here.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _available(name):
    try:
        chanemu._import_core(name)
        return True
    except ImportError:
        return False


@pytest.fixture(params=list(IMPLS), scope="session")
def impl_name(request):
    name = IMPLS[request.param]
    if name == "c" and not _available("c") and os.environ.get("CHANEMU_ALLOW_NO_C"):
        pytest.skip("C extension not built (CHANEMU_ALLOW_NO_C is set)")
    return name


@pytest.fixture(autouse=True)
def _preemption(request):
    """Preemption (a goroutine that has run 10 ms of real time yields at its next runtime call)
    makes where a goroutine yields depend on the machine's load, and most tests check exact
    schedules: it is off unless a test is marked ``preemption`` (or turns it on itself)."""
    on = request.node.get_closest_marker("preemption") is not None
    prev = chanemu.runtime.set_preemption(on)
    yield
    chanemu.runtime.set_preemption(prev)


@pytest.fixture
def ce(impl_name):
    """chanemu with the twin under test active."""
    chanemu._set_impl(impl_name)
    yield chanemu


def wait_parked(ce, g, reason=None, limit=100_000):
    """Yield until goroutine g is parked (optionally with the given wait reason). Polls the struct,
    never sleeps: each gosched lets every runnable goroutine run."""
    for _ in range(limit):
        if g.status == "waiting" and (reason is None or g.wait_reason == reason):
            return
        ce.runtime.gosched()
    raise AssertionError(f"goroutine {g.goid} never parked (status {g.status}, "
                         f"reason {g.wait_reason})")


def in_thread(body, timeout=60):
    """Run body() in a fresh thread (which gets a default runtime of its own) and return what it
    returned; what it raised is raised here."""
    box = {}

    def thread():
        try:
            box["out"] = body()
        except BaseException as e:   # reported to the test's thread
            box["exc"] = e
    t = threading.Thread(target=thread)
    t.start()
    t.join(timeout)
    assert not t.is_alive()
    if "exc" in box:
        raise box["exc"]
    return box["out"]
