"""Differential testing between the twins, property-based: Hypothesis writes random programs and
each runs on the C extension and on the pure-Python twin with the same seed.

A program is a few channels of random capacities (the nil channel among them at times) and a
main goroutine that starts a few others; each goroutine runs a straight-line script of sends,
receives (``recv``, ``recv_ok``, non-blocking ``try_send``/``try_recv``), ``select`` with and
without default (send and receive cases, repeated channels, the nil channel, a ``time.after``
timeout), ``close``, ``range`` (bounded), ``gosched``, ``goexit`` and sleeps on the virtual clock.
A panic (``send on closed channel``, ``close of closed channel``...) is caught where it happens and
recorded, and the goroutine goes on; ``Deadlock`` or another fatal error ends the program and is
recorded.

The two runs must produce the same trace: every operation's start and outcome (value, ok, chosen
case, panic message, the virtual time after a sleep), in order, with the goroutine's goid and the
channel's ``hchan`` (ring, indices, closed flag, both wait queues with goids and elems) after
each operation; at the end of main, every goroutine's status and wait reason, and every
channel's ``hchan``; a deadlock's message and dump. ``chanemu.runtime.check_invariants()`` runs
after every operation, on both twins.

No run can hang: the scripts have no loops (range stops after a bounded number of values), so a
program ends, deadlocks or is cut short by main returning; and each run happens in a thread of
its own with a timeout, which fails the test if it passes.

Reproducible in CI: no example database, a fixed seed per twin parametrisation (each one
explores its own programs; both compare the two twins). Counterexamples that Hypothesis found and
shrank are kept below as explicit regression tests.
"""
import threading

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, seed, settings   # noqa: E402
from hypothesis import strategies as st                     # noqa: E402

import chanemu   # noqa: E402

try:
    import chanemu.time as _ctime     # the virtual clock's sleep and after (issue: time)
    HAVE_TIME = hasattr(_ctime, "sleep") and hasattr(_ctime, "after")
except ImportError:                   # pragma: no cover - before chanemu.time exists
    HAVE_TIME = False

MAX_EXAMPLES = 600           # per twin parametrisation: 1200 generated programs per test run
SEEDS = {"c": 0x7C0DE, "python": 0x9F7A1}
RUN_TIMEOUT = 60             # seconds for one program on both twins: it hangs if longer
MAX_STEPS = 1000             # operations per run: a program that does more runs away
RANGE_LIMIT = 4              # values a range op takes before it breaks out
NIL = -1                     # channel index of the nil channel


# -- the programs -----------------------------------------------------------------------------
def _op(nchans):
    c = st.integers(0, nchans - 1).flatmap(lambda i: st.sampled_from([i, i, i, i, NIL]))
    case = st.tuples(st.sampled_from(["send", "recv"]), c)
    ops = [
        st.tuples(st.just("send"), c),
        st.tuples(st.just("recv"), c),
        st.tuples(st.just("recv_ok"), c),
        st.tuples(st.just("try_send"), c),
        st.tuples(st.just("try_recv"), c),
        st.tuples(st.just("close"), c),
        st.tuples(st.just("range"), c),
        st.tuples(st.just("select"), st.lists(case, min_size=0, max_size=4), st.booleans()),
        st.just(("gosched",)),
    ]
    if HAVE_TIME:
        ops.append(st.tuples(st.just("sleep"), st.sampled_from([0, 1, 2, 5])))   # ms
        ops.append(st.tuples(st.just("select_timeout"), st.lists(case, min_size=0, max_size=2),
                             st.sampled_from([1, 3])))
    return st.one_of(*ops)


@st.composite
def programs(draw):
    nchans = draw(st.integers(1, 3))
    caps = draw(st.lists(st.sampled_from([0, 0, 1, 2, 3]), min_size=nchans, max_size=nchans))
    ngor = draw(st.integers(0, 4))
    op = _op(nchans)

    def script(first, max_size=8):
        # a script, with go statements for goroutines first, first + 1, ... inserted (some
        # twice, some never): goroutine k starts only goroutines after it, so a program
        # starts finitely many
        ops = draw(st.lists(op, max_size=max_size))
        if first < ngor:
            for k in draw(st.lists(st.integers(first, ngor - 1), max_size=2)):
                ops.insert(draw(st.integers(0, len(ops))), ("go", k))
        return ops

    # main usually starts every goroutine first (else a blocking operation of main's, the
    # most common end of a random program, would leave nothing to interleave), and ends by
    # letting the others run: a sleep (or yields), after which it records the final state
    main_ops = [("go", k) for k in range(ngor)] if draw(st.integers(0, 4)) else []
    main_ops += script(0, max_size=6)
    main_ops.append(draw(st.sampled_from(
        [("sleep", 50), ("gosched",), ("goexit",)] if HAVE_TIME else [("gosched",), ("goexit",)])))
    gors = [script(k + 1) for k in range(ngor)]
    return {"caps": caps, "main": main_ops, "gors": gors}


# -- the interpreter --------------------------------------------------------------------------
def _hchan(c):
    h = c.hchan

    def q(name):
        return tuple((sg.g.goid, sg.elem, sg.is_select) for sg in getattr(h, name))

    return (h.qcount, h.dataqsiz, h.buf, h.closed, h.sendx, h.recvx, q("recvq"), q("sendq"))


def execute(impl_name, program, run_seed):
    """Run a program on one twin: returns its trace (a list of tuples)."""
    impl = chanemu._set_impl(impl_name)
    Chan, nilchan, go, select = impl.Chan, impl.nilchan, impl.go, impl.select
    send, recv = impl.SendCase, impl.RecvCase
    check = chanemu.runtime.check_invariants
    trace = []
    steps = [0]

    def main():
        chans = [Chan(cap) for cap in program["caps"]]

        def ch(i):
            return nilchan if i == NIL else chans[i]

        def body(name, script):
            me = impl.getg().goid
            for i, op in enumerate(script):
                kind = op[0]
                val = f"{name}.{i}"
                steps[0] += 1
                if steps[0] > MAX_STEPS:
                    raise AssertionError(f"more than {MAX_STEPS} operations: a runaway program")
                trace.append(("begin", name, me, i, op))
                try:
                    if kind == "send":
                        ch(op[1]).send(val)
                        res = None
                    elif kind == "recv":
                        res = ch(op[1]).recv()
                    elif kind == "recv_ok":
                        res = ch(op[1]).recv_ok()
                    elif kind == "try_send":
                        res = ch(op[1]).try_send(val)
                    elif kind == "try_recv":
                        res = ch(op[1]).try_recv()
                    elif kind == "close":
                        ch(op[1]).close()
                        res = None
                    elif kind == "range":
                        res = []
                        for v in ch(op[1]):
                            res.append(v)
                            if len(res) == RANGE_LIMIT:
                                break
                        res = tuple(res)
                    elif kind in ("select", "select_timeout"):
                        cases = [send(ch(c), f"{val}.{j}") if d == "send" else recv(ch(c))
                                 for j, (d, c) in enumerate(op[1])]
                        if kind == "select_timeout":
                            cases.append(recv(_ctime.after(op[2] / 1000)))
                            res = select(*cases)
                            if res[0] == len(cases) - 1:
                                res = ("timeout",)
                        else:
                            res = select(*cases, default=op[2])
                    elif kind == "gosched":
                        chanemu.runtime.gosched()
                        res = None
                    elif kind == "go":
                        k = op[1]
                        g = go(body, f"g{k}", program["gors"][k])
                        res = g.goid
                    elif kind == "sleep":
                        _ctime.sleep(op[1] / 1000)
                        res = str(_ctime.now())
                    elif kind == "goexit":
                        trace.append(("goexit", name, me, i))
                        chanemu.runtime.goexit()
                    else:
                        raise AssertionError(kind)
                except impl_panic as e:
                    res = ("panic", str(e))
                check()
                state = None
                if len(op) > 1 and kind not in ("go", "sleep") and isinstance(op[1], int):
                    state = _hchan(ch(op[1]))
                trace.append(("end", name, me, i, res, state))
            trace.append(("exit", name, me))

        impl_panic = chanemu.Panic
        body("main", program["main"])
        gs = sorted(impl.goroutines(), key=lambda g: g.goid)
        trace.append(("final", tuple((g.goid, g.status, g.wait_reason) for g in gs),
                      tuple(_hchan(c) for c in chans), chanemu.runtime.num_goroutine()))
        check()

    try:
        impl.run(main, seed=run_seed, clock="virtual")
        trace.append(("returned",))
    except chanemu.FatalError as e:
        trace.append(("fatal", type(e).__name__, str(e), e.dump))
    return trace


def run_twins(program, run_seed):
    """execute() the program on both twins, in a thread of its own (so each run has a fresh
    runtime and a hang cannot stop the test session): fails if it does not end in time."""
    box = {}

    def target():
        try:
            box["c"] = execute("c", program, run_seed)
            box["python"] = execute("python", program, run_seed)
        except BaseException as e:      # an unexpected error: report it in the test
            box["error"] = e

    t = threading.Thread(target=target, daemon=True, name="twins")
    t.start()
    t.join(RUN_TIMEOUT)
    if t.is_alive():
        pytest.fail(f"the {'python' if 'c' in box else 'c'} twin hung (> {RUN_TIMEOUT} s) on "
                    f"{program!r}, seed {run_seed}")
    if "error" in box:
        raise box["error"]
    return box["c"], box["python"]


def compare_twins(program, run_seed, restore):
    try:
        tc, tp = run_twins(program, run_seed)
    finally:
        chanemu._set_impl(restore)
    for i, (a, b) in enumerate(zip(tc, tp)):
        assert a == b, (f"twins diverge at event {i}:\n  C:      {a!r}\n  Python: {b!r}\n"
                        f"program {program!r}, seed {run_seed}\n"
                        f"common prefix ends with {tc[max(0, i - 3):i]!r}")
    assert len(tc) == len(tp), f"traces differ in length: {len(tc)} vs {len(tp)}"
    return tc


# -- the property -----------------------------------------------------------------------------
def test_twins_agree_on_random_programs(ce):
    """Random programs, run on both twins with the same seed: identical traces (see above)."""
    if not _available("c"):
        pytest.skip("the C extension is not built: nothing to compare the Python twin with")
    restore = ce.IMPL

    @seed(SEEDS[ce.IMPL])
    @settings(max_examples=MAX_EXAMPLES, database=None, deadline=None, derandomize=False,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.function_scoped_fixture])
    @given(program=programs(), run_seed=st.integers(0, 2**32 - 1))
    def prop(program, run_seed):
        compare_twins(program, run_seed, restore)

    prop()


def _available(name):
    try:
        chanemu._import_core(name)
        return True
    except ImportError:
        return False


# -- explicit programs ---------------------------------------------------------------------------
# Hypothesis has found no divergence between the twins (about 20,000 programs explored while this
# file was written, 1,200 per CI run). Its one counterexample was a bug of the generator (a
# goroutine starting itself: an endless program, now impossible by construction). What stays
# here are hand-written programs for the paths that random ones reach rarely; a counterexample
# found later goes here too, shrunk, with a comment on the bug it guards.
CORPUS = [
    pytest.param(
        # one goroutine selects to send and to receive on the same unbuffered channel (the one
        # case where both queues of a channel are non-empty), and a partner completes one side
        {"caps": [0], "main": [("go", 0), ("gosched",), ("send", 0), ("sleep", 50)],
         "gors": [[("select", [("send", 0), ("recv", 0), ("recv", 0)], False)]]},
        1, id="select-both-directions-same-channel"),
    pytest.param(
        # close while goroutines wait in selects over several channels, then drain
        {"caps": [0, 2, 0],
         "main": [("go", 0), ("go", 1), ("go", 2), ("gosched",), ("close", 0), ("send", 1),
                  ("close", 1), ("sleep", 50)],
         "gors": [[("select", [("recv", 0), ("send", 2), ("recv", 1)], False), ("range", 1)],
                  [("select", [("send", 0), ("recv", 2)], False)],
                  [("select", [("recv", 2), ("recv", 0), ("send", 1)], False), ("recv_ok", 0)]]},
        7, id="close-during-selects"),
    pytest.param(
        # a timeout keeps the program alive past everyone else blocking; then a deadlock
        {"caps": [0, 1], "main": [("go", 0), ("select_timeout", [("recv", 0)], 3), ("recv", 0)],
         "gors": [[("send", 1), ("select", [("send", -1), ("recv", -1)], False)]]},
        3, id="timeout-then-deadlock"),
    pytest.param(
        # main's Goexit: the others run to the end, then "no goroutines" is fatal
        {"caps": [0, 1], "main": [("go", 0), ("go", 1), ("goexit",)],
         "gors": [[("send", 0), ("close", 1)], [("recv", 0), ("range", 1), ("close", 1)]]},
        5, id="main-goexit"),
]


@pytest.mark.parametrize("program,run_seed", CORPUS)
def test_twins_agree_on_explicit_programs(ce, program, run_seed):
    if not _available("c"):
        pytest.skip("the C extension is not built")
    compare_twins(program, run_seed, ce.IMPL)
