"""chanemu's pytest plugin: fail tests that leave goroutines behind (goleak's VerifyNone).

Registered through the ``pytest11`` entry point, and inert unless asked:

- ``@pytest.mark.goleak`` on a test (or a class or module, through ``pytestmark``), or
- ``--chanemu-goleak`` on the command line for every test.

After the test body returns, ``chanemu.leak.verify_none`` checks the thread's current runtime
(the default runtime, in which the test itself is goroutine 1), ignoring the goroutines that
existed before the test (goleak's IgnoreCurrent). The goroutines that ``chanemu.run`` programs
of the test discarded at their end while parked on channels are reported too (in Go they
would outlive the test function, and goleak would see them). The marker takes ``ignore=`` (as
``verify_none``: function names, ``ignore_top_function``, ``ignore_any_function``,
``ignore_created_by``...; it applies to both kinds), ``retries=``, ``discarded=`` (``True``:
programs the test ran on its own thread, ``"all"``: on any thread, leaving out the goroutines
programs already had when the test began; ``False``: none) and
``check=False`` (exempts a test when the option is on). A failure shows goleak's message and
the goroutines' stacks, nothing of this plugin. (A new-style hook wrapper: pluggy >= 1.2.)
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
    discarded = _discarded_watch(leak, opts.get("discarded", True))
    try:
        result = yield
    finally:
        if discarded is not None:
            discarded.stop()
    _check(leak, opts, before, discarded)
    return result


def _discarded_watch(leak, mode):
    if mode not in (True, False, "all"):
        raise pytest.UsageError(f"goleak(discarded=...) must be True, False or 'all', "
                                f"not {mode!r}")
    if mode is False:
        return None
    return leak.Discarded(all_threads=(mode == "all")).start()


def _check(leak, opts, before, discarded):
    """goleak's verdict, reported as a plain failure: the message and the goroutines' stacks,
    no traceback through this plugin."""
    ignore = opts.get("ignore", ())
    if isinstance(ignore, (str, int)) or hasattr(ignore, "goid") or callable(ignore):
        ignore = [ignore]
    failures = []
    try:
        leak.verify_none(ignore=[before, *ignore],
                         retries=opts.get("retries", leak.DEFAULT_RETRIES))
    except leak.LeakError as e:
        failures.append(str(e))
    if discarded is not None:
        try:
            discarded.verify(ignore=ignore)
        except leak.LeakError as e:
            failures.append(str(e))
    if failures:
        pytest.fail("\n\n".join(failures), pytrace=False)
