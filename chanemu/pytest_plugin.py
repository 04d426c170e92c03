"""chanemu's pytest plugin: fail tests that leave goroutines behind (goleak's VerifyNone).

Registered through the ``pytest11`` entry point, and inert unless asked:

- ``@pytest.mark.goleak`` on a test (or a class or module, through ``pytestmark``), or
- ``--chanemu-goleak`` on the command line for every test.

After the test body returns, ``chanemu.leak.verify_none`` checks the thread's current runtime
(the default runtime, in which the test itself is goroutine 1), ignoring the goroutines that
existed before the test. The marker takes ``ignore=`` (as ``verify_none``) and ``retries=``;
``@pytest.mark.goleak(check=False)`` exempts a test when the option is on. Goroutines of
``chanemu.run`` programs end with their program, so they cannot outlive a test; check those from
inside the program with ``chanemu.leak.verify_none()``. (A new-style hook wrapper: pluggy >= 1.2.)
"""
import pytest


def pytest_addoption(parser):
    group = parser.getgroup("chanemu")
    group.addoption("--chanemu-goleak", action="store_true", default=False,
                    help="fail every test that leaves chanemu goroutines behind "
                         "(chanemu.leak.verify_none after the test)")


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "goleak(ignore=(), retries=20, check=True): fail the test if it leaves chanemu "
        "goroutines behind (chanemu.leak.verify_none after the test)")


def _wanted(item):
    marker = item.get_closest_marker("goleak")
    if marker is not None:
        if not marker.kwargs.get("check", True):
            return None
        return marker.kwargs
    if item.config.getoption("chanemu_goleak", False):
        return {}
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    opts = _wanted(item)
    if opts is None:
        return (yield)
    from chanemu import leak
    before = leak.ignore_current()
    result = yield
    ignore = opts.get("ignore", ())
    if isinstance(ignore, (str, int)) or hasattr(ignore, "goid") or callable(ignore):
        ignore = [ignore]
    leak.verify_none(ignore=[before, *ignore],
                     retries=opts.get("retries", leak.DEFAULT_RETRIES))
    return result
