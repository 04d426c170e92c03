"""Hostile but legal Python against the core's objects: constructors called in any
order, objects reused, greenlets switched into from outside the runtime, switch failures.

Each scenario that used to crash the interpreter runs in a fresh one (a crash fails that test,
not the run) and prints what it saw; both twins must print the same.
"""
import os
import subprocess
import sys
import textwrap

import greenlet
import pytest

from conftest import wait_parked

PRELUDE = """
import gc, greenlet, operator, sys, threading
import chanemu
from chanemu import Chan, go, select, send, recv, Goroutine
from chanemu.runtime import gosched

def outcome(f, *args, **kwargs):
    try:
        r = f(*args, **kwargs)
    except BaseException as e:
        return type(e).__name__
    return r

def parked(g):
    for _ in range(10000):
        if g.status == "waiting":
            return
        gosched()
    raise AssertionError("never parked")

def current_switch():
    # what the running goroutine runs on: its greenlet, or on the stack backend its Fiber (not
    # a greenlet; reached here through the core's test hook)
    if chanemu.SWITCH == "stack":
        return chanemu._impl._current_fiber()
    return greenlet.getcurrent()

def parked_receiver():
    # a goroutine parked in c.recv(); grs gets its greenlet (fiber), got what it receives
    c = Chan()
    grs, got = [], []
    def receiver():
        grs.append(current_switch())
        got.append(c.recv())
    g = go(receiver)
    parked(g)
    return c, grs, got, g
"""


def scenario(impl, code):
    """Run PRELUDE + code in a fresh interpreter on the given twin; its stdout lines."""
    env = dict(os.environ, CHANEMU_IMPL=impl)
    src = PRELUDE + textwrap.dedent(code) + "\nchanemu.runtime.check_invariants()\n"
    p = subprocess.run([sys.executable, "-c", src], env=env, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, f"exit {p.returncode}\n{p.stdout}\n{p.stderr[-3000:]}"
    return p.stdout.split()


# -- constructors: once, in any order ------------------------------------------------------------
def test_chan_second_init_keeps_buffered_value(impl_name):
    out = scenario(impl_name, """
        c = Chan(1)
        c.send("v")
        print(outcome(c.__init__, 4000000), c.cap, len(c), c.recv())
        print(outcome(c.__init__), outcome(Chan.__init__, chanemu.nilchan, 3))
    """)
    assert out == ["TypeError", "1", "1", "v", "TypeError", "TypeError"]


def test_chan_second_init_keeps_parked_receiver(impl_name):
    out = scenario(impl_name, """
        c = Chan()
        got = []
        g = go(lambda: got.append(c.recv_ok()))
        parked(g)
        print(outcome(c.__init__, 1))
        c.close()
        gosched()
        print(got, g.status)
    """)
    assert out == ["TypeError", "[(None,", "False)]", "dead"]


def test_chan_new_alone_is_a_working_channel(impl_name):
    out = scenario(impl_name, """
        c = Chan.__new__(Chan)
        print(c.cap, len(c), c.try_recv(), c.try_send(1))
        go(c.send, 5)
        print(c.recv())
        d = Chan.__new__(Chan)
        d.__init__(2)                 # the first __init__ still sizes it
        print(d.cap, outcome(d.__init__, 3))
    """)
    assert out == ["0", "0", "None", "False", "5", "2", "TypeError"]


def test_chan_size_of_a_lying_int(impl_name):
    out = scenario(impl_name, """
        class Liar(int):
            def __lt__(self, o): return False
            def __gt__(self, o): return False
            def __le__(self, o): return True
            def __ge__(self, o): return True
            def __eq__(self, o): return True
            __hash__ = int.__hash__
        print(outcome(Chan, Liar(-1)), outcome(Chan, Liar(1 << 60)), Chan(Liar(3)).cap)
        class Idx:
            def __index__(self): return 2
        print(outcome(Chan, Idx()), outcome(Chan, 1.5), outcome(Chan, True))
    """)
    assert out == ["Panic", "Panic", "3", "TypeError", "TypeError", "TypeError"]


def test_final_types_refuse_subclasses(impl_name):
    out = scenario(impl_name, """
        for base in (Chan, send, recv, Goroutine):
            try:
                type("X", (base,), {})
                print("subclassed")
            except TypeError:
                print("TypeError")
    """)
    assert out == ["TypeError"] * 4


def test_select_case_reinit_while_parked(impl_name):
    out = scenario(impl_name, """
        a, b, x = Chan(), Chan(), Chan()
        ca = recv(a)
        got = []
        g = go(lambda: got.append(select(ca, recv(b))))
        parked(g)
        print(outcome(ca.__init__, x), outcome(send(a, 1).__init__, x, 2))
        a.send(7)
        gosched()
        print(got, len(a.hchan.recvq), len(b.hchan.recvq))
        a2 = Chan(1)
        print(outcome(a2.send, 3), outcome(a2.recv))
    """)
    assert out == ["TypeError", "TypeError", "[(0,", "7,", "True)]", "0", "0", "None", "3"]


def test_select_case_new_alone(impl_name):
    out = scenario(impl_name, """
        a, b = Chan(1), Chan(1)
        r = recv.__new__(recv)
        s = send.__new__(send)
        print(outcome(select, r, recv(b)), outcome(select, s, recv(b), default=True),
              outcome(select, r, default=True), outcome(repr, r) != "", r.c, s.elem)
        r.__init__(a)                    # the first __init__ still makes it
        a.send(1)
        print(select(r, recv(b)), outcome(r.__init__, b))
    """)
    assert out == ["TypeError", "TypeError", "TypeError", "True", "None", "None",
                   "(0,", "1,", "True)", "TypeError"]


def test_goroutine_and_runtime_constructors(impl_name):
    out = scenario(impl_name, """
        print(outcome(Goroutine), outcome(Goroutine, 1, 2))
        g = Goroutine.__new__(Goroutine)
        print(g.status, g.wait_reason, g.waiting_on, g.frame, g.runtime, g.start_args)
        print(outcome(chanemu._impl.ready, g))
        rt = chanemu._impl.current_runtime()
        print(outcome(rt.__init__), outcome(rt.__init__, 1, "virtual"), rt.num_goroutine())
        bare = type(rt).__new__(type(rt))
        print(bare.num_goroutine(), bare.goroutines(), outcome(bare.check_invariants))
        it = iter(Chan())
        print(outcome(type(it), None) if chanemu.IMPL == "c" else "TypeError")
    """)
    assert out == ["TypeError", "TypeError", "idle", "None", "()", "None", "None", "((),",
                   "{})", "RuntimeError", "TypeError", "TypeError", "1", "0", "[]", "None",
                   "TypeError"]


# -- greenlets switched into from outside the runtime -----------------------------------------
INTRUDE = """
c, grs, got, g = parked_receiver()
"""


def test_switch_into_parked_goroutine_is_refused(impl_name):
    out = scenario(impl_name, INTRUDE + textwrap.dedent("""
        print(outcome(grs[0].switch), outcome(grs[0].switch, 1, 2))
        print(outcome(grs[0].throw, ValueError), outcome(grs[0].throw, greenlet.GreenletExit))
        print(g.status, g.wait_reason, len(c.hchan.recvq), got)
        chanemu.runtime.check_invariants()
        c.send(7)
        gosched()
        print(got, g.status, len(c.hchan.recvq))
    """))
    assert out == ["RuntimeError", "RuntimeError", "RuntimeError", "RuntimeError",
                   "waiting", "chan", "receive", "1", "[]", "[7]", "dead", "0"]


def test_switch_from_another_goroutine_raises_there(impl_name):
    out = scenario(impl_name, INTRUDE + textwrap.dedent("""
        seen = []
        def intruder():
            seen.append(outcome(grs[0].switch))
            seen.append(outcome(grs[0].throw, KeyError))
        h = go(intruder)
        gosched()
        print(seen, h.status, g.status)
        c.send(1)
        gosched()
        print(got)
    """))
    assert out == ["['RuntimeError',", "'RuntimeError']", "dead", "waiting", "[1]"]


def test_child_greenlet_ending_into_parked_goroutine(impl_name):
    """A greenlet made by a goroutine has it as parent: its end switches into the goroutine."""
    if impl_name == "c" and os.environ.get("CHANEMU_SWITCH") == "stack":
        pytest.skip("stack backend: a goroutine is not a greenlet, so a greenlet made in it has "
                    "the thread's greenlet as parent (tests/test_switch_stack.py)")
    out = scenario(impl_name, """
        c = Chan()
        kids, got = [], []
        def receiver():
            kids.append(greenlet.greenlet(lambda: "done"))
            got.append(c.recv())
        g = go(receiver)
        parked(g)
        print(outcome(kids[0].switch), kids[0].dead, g.status)
        c.send(2)
        gosched()
        print(got)
    """)
    assert out == ["RuntimeError", "True", "waiting", "[2]"]


def test_switch_into_idle_worker_is_refused(impl_name):
    out = scenario(impl_name, """
        grs = []
        g = go(lambda: grs.append(current_switch()))
        gosched()
        print(g.status, outcome(grs[0].switch), outcome(grs[0].throw, ValueError))
        c = Chan()
        h = go(c.send, 9)
        print(c.recv(), h.status if h.status == "dead" else (gosched(), h.status)[1])
    """)
    assert out == ["dead", "RuntimeError", "RuntimeError", "9", "dead"]


@pytest.mark.parametrize("end", ["return", "crash"])
def test_throw_into_idle_worker_first_is_refused(impl_name, end):
    """A throw, before any switch, into the idle worker of a goroutine that ended (handing over to
    goroutine 1) or crashed (delivering its error to goroutine 1) raises RuntimeError in the
    thrower, and the worker stays idle and is reused."""
    out = scenario(impl_name, f"""
        grs = []
        def body():
            grs.append(current_switch())
            if {end == "crash"}:
                raise ValueError("boom")
        g = go(body)
        print(outcome(gosched), g.status)
        print(outcome(grs[0].throw, KeyError), outcome(grs[0].switch), grs[0].dead)
        chanemu.runtime.check_invariants()
        c = Chan()
        h = go(c.send, 9)
        print(c.recv(), h.status if h.status == "dead" else (gosched(), h.status)[1])
    """)
    first = "ValueError" if end == "crash" else "None"
    assert out == [first, "dead", "RuntimeError", "RuntimeError", "False", "9", "dead"]


def test_switch_into_run_program_goroutine(impl_name):
    out = scenario(impl_name, """
        def main():
            c, grs, got, g = parked_receiver()
            r = [outcome(grs[0].switch), outcome(grs[0].throw, ValueError)]
            c.send("x")
            gosched()
            return r + got
        print(chanemu.run(main))
    """)
    assert out == ["['RuntimeError',", "'RuntimeError',", "'x']"]


# -- switch and wake paths are transactional --------------------------------------------------
def test_failed_switch_loses_nothing(ce):
    """If execute fails before its switch lands (here: the tracer raises at "start"; greenlet
    failing to save the stack takes the same path), the target is runnable again, the parking
    goroutine is the running one, and its operation is undone."""
    rt = ce._impl.current_runtime()
    c = ce.Chan()
    got = []
    g = ce.go(lambda: got.append(c.recv()))
    events = []

    def tracer(kind, gp, arg):
        events.append(kind)
        if kind == "start":
            raise MemoryError("switch failed")
    rt.tracer = tracer
    try:
        with pytest.raises(MemoryError):
            c.send(1)
    finally:
        rt.tracer = None
    assert events == ["block", "start"]
    assert g.status == "runnable"
    assert len(c.hchan.sendq) == 0 and len(c.hchan.recvq) == 0
    assert ce.runtime.current().status == "running"
    ce.runtime.check_invariants()
    wait_parked(ce, g, "chan receive")
    c.send(2)
    ce.runtime.gosched()
    assert got == [2] and g.status == "dead"


def test_channels_of_a_dead_thread_stay_foreign(ce):
    """Thread identity is a serial never reused: a channel made by a thread that ended is
    another thread's for every thread started after it."""
    import threading
    made = []
    for _ in range(20):
        t = threading.Thread(target=lambda: made.append(ce.Chan(1)))
        t.start()
        t.join()
    errors = []

    def use():
        for c in made:
            try:
                c.try_send(1)
            except RuntimeError as e:
                errors.append(str(e))
    t = threading.Thread(target=use)
    t.start()
    t.join()
    assert len(errors) == len(made)
    assert all("belongs to one thread's program" in e for e in errors)
    assert len({c.owner for c in made}) == len(made)


def test_ready_refuses_goroutines_parked_on_channels(impl_name):
    """ready(g) is for goroutines parked by park(): one parked on a channel (or in a select, or
    on the nil channel) is woken by its channel, which hands it its sudog."""
    out = scenario(impl_name, INTRUDE + textwrap.dedent("""
        a, b = Chan(), Chan()
        s = go(select, recv(a), recv(b))
        n = go(chanemu.nilchan.recv)
        parked(s)
        parked(n)
        ready = chanemu._impl.ready
        print(outcome(ready, g), outcome(ready, s), outcome(ready, n), g.status, s.status)
        print(len(c.hchan.recvq), len(a.hchan.recvq), len(b.hchan.recvq))
        import chanemu.sync
        wg = chanemu.sync.WaitGroup()
        wg.add(1)
        w = go(wg.wait)
        parked(w)
        wg.done()
        gosched()
        print(w.status)
        c.send(1)
        a.send(2)
        gosched()
        print(got, s.status)
    """))
    assert out == ["RuntimeError", "RuntimeError", "RuntimeError", "waiting", "waiting",
                   "1", "1", "1", "dead", "[1]", "dead"]


# -- switches that fail: goexit0's hand-over, g0's, raise_fatal's throws -------------------------
# _fail_switches(n) makes the next n of those switches fail before they switch, with the
# MemoryError greenlet raises when it cannot save a stack. Whatever fails, every goroutine stays
# accounted for (allgs, run queues, statuses: check_invariants), the error comes out of a
# goroutine's blocking call (or run()), and the runtime goes on.
FAIL = """
fail = chanemu._impl._fail_switches
def chain(e):
    # the exception's type, then those of its context chain
    out = []
    while e is not None:
        out.append(type(e).__name__)
        e = e.__context__
    return "<".join(out)
def raised(f, *args):
    try:
        f(*args)
    except BaseException as e:
        return chain(e)
    return "nothing"
def handoff_setup():
    # b parked on cb; a sends to it and ends: a's goexit0 hands the worker over to b
    cb = Chan()
    got = []
    b = go(lambda: got.append(cb.recv()))
    parked(b)
    a = go(cb.send, "x")
    return a, b, got
def warm():
    # idle started workers on the free list: a new goroutine then starts without g0's switch
    c = Chan()
    ws = [go(c.recv) for _ in range(3)]
    for w in ws:
        parked(w)
    c.close()
    gosched()
warm()
def still_runs():
    # goroutines still start, run and end; the failure left nothing pending
    c = Chan()
    h = go(c.send, 5)
    print(c.recv(), raised(gosched), h.status, fail(0), chanemu.runtime.num_goroutine())
"""


def test_failed_handoff_at_goroutine_end_loses_nothing(impl_name):
    """goexit0 switches from the ended goroutine's worker to the next G's greenlet. If that
    switch fails, the next G is runnable again, and the error is the program's fatal error:
    goroutine 1 takes it in its blocking call (in a run() program, run() raises it)."""
    out = scenario(impl_name, FAIL + textwrap.dedent("""
        a, b, got = handoff_setup()
        fail(1)
        print(raised(gosched), a.status, b.status, got, fail(0))
        chanemu.runtime.check_invariants()
        gosched()
        print(got, b.status)
        still_runs()
        def prog():
            a, b, got = handoff_setup()
            fail(1)
            gosched()
        print(raised(chanemu.run, prog), fail(0))
        still_runs()
    """))
    assert out == ["MemoryError", "dead", "runnable", "[]", "0", "['x']", "dead",
                   "5", "nothing", "dead", "0", "1", "MemoryError", "0",
                   "5", "nothing", "dead", "0", "1"]


def test_handoff_tracer_failure_loses_nothing(impl_name):
    """The hand-over's "start" trace event raising takes the same path as a failed switch."""
    out = scenario(impl_name, FAIL + textwrap.dedent("""
        a, b, got = handoff_setup()
        rt = chanemu._impl.current_runtime()
        def tracer(kind, gp, arg):
            if kind == "start" and gp is b:
                rt.tracer = None
                raise KeyError("tracer")
        rt.tracer = tracer
        print(raised(gosched), a.status, b.status, got)
        chanemu.runtime.check_invariants()
        gosched()
        print(got, b.status)
        still_runs()
    """))
    assert out == ["KeyError", "dead", "runnable", "[]", "['x']", "dead",
                   "5", "nothing", "dead", "0", "1"]


@pytest.mark.parametrize("faults", [1, 2])
def test_failed_crash_delivery_loses_nothing(impl_name, faults):
    """A goroutine crashes and raise_fatal's throw to goroutine 1 fails: the worker ends with the
    error, g0 delivers it (and if g0's throw fails too, g0 ends with it and greenlet hands it to
    goroutine 1). Goroutine 1 gets the switch's error, the crash as its context."""
    out = scenario(impl_name, FAIL + textwrap.dedent(f"""
        def boom():
            raise ValueError("boom")
        fail({faults})
        a = go(boom)
        print(raised(gosched), a.status, fail(0), chanemu.runtime.num_goroutine())
        chanemu.runtime.check_invariants()
        still_runs()
        still_runs()
    """))
    chain = "<".join(["MemoryError"] * faults + ["ValueError"])
    assert out == [chain, "dead", "0", "1"] + ["5", "nothing", "dead", "0", "1"] * 2


def test_failed_deadlock_delivery_raises_in_the_parking_goroutine(impl_name):
    """The last goroutine to park finds a deadlock; raise_fatal's throw to goroutine 1 fails.
    Nothing changed: the error comes out of that goroutine's own blocking call, the deadlock as
    its context, and the goroutine runs on (here it returns, and the deadlock is delivered)."""
    out = scenario(impl_name, FAIL + textwrap.dedent("""
        c, d = Chan(), Chan()
        seen = []
        def waiter():
            seen.append(raised(d.recv))
        w = go(waiter)
        fail(1)
        print(raised(c.recv), seen, w.status, fail(0), len(d.hchan.recvq))
        chanemu.runtime.check_invariants()
        still_runs()
    """))
    assert out == ["Deadlock", "['MemoryError<Deadlock']", "dead", "0", "0",
                   "5", "nothing", "dead", "0", "1"]


def test_failed_deadlock_delivery_from_an_ended_goroutine(impl_name):
    """A goroutine ends and nothing can run: its worker delivers the deadlock, and that throw
    fails. g0 delivers the error instead."""
    out = scenario(impl_name, FAIL + textwrap.dedent("""
        c = Chan()
        h = go(lambda: None)
        fail(1)
        print(raised(c.recv), h.status, fail(0), len(c.hchan.recvq))
        chanemu.runtime.check_invariants()
        still_runs()
    """))
    assert out == ["MemoryError<Deadlock", "dead", "0", "0",
                   "5", "nothing", "dead", "0", "1"]


def test_failed_start_of_a_fresh_worker_loses_nothing(impl_name):
    """A new goroutine with no idle worker gets a fresh greenlet, which g0 starts. If g0's switch
    fails, the goroutine is runnable again with no worker, and goroutine 1 gets the error."""
    out = scenario(impl_name, FAIL.replace("\nwarm()\n", "\n") + textwrap.dedent("""
        fail(1)
        h = go(lambda: None)
        print(raised(gosched), h.status, fail(0), chanemu.runtime.num_goroutine())
        chanemu.runtime.check_invariants()
        gosched()
        print(h.status)
        still_runs()
    """))
    assert out == ["MemoryError", "runnable", "0", "2", "dead", "5", "nothing", "dead", "0", "1"]


# -- a refusal whose throw keeps failing -------------------------------------------------------
# A switch into a parked goroutine's greenlet (or an idle worker's) is refused by a throw into
# the intruder. If that throw fails before it switches, it is tried again, MAX_FAILED_REFUSALS
# (3) times in a row; then the refusal gives up: the error becomes the program's fatal error, and
# if that delivery fails too, it comes out of the goroutine switched into (a parked one: in its
# blocking call; an idle worker ends with it).
REFUSE = FAIL + """
def receiver_parked():
    c = Chan()
    grs, got = [], []
    def receiver():
        grs.append(current_switch())
        try:
            got.append(c.recv())
        except BaseException as e:
            got.append("recv:" + chain(e))
    g = go(receiver)
    parked(g)
    return c, grs, got, g
def intrude(gr):
    # a switch into gr: what it returned (the scheduler resumed the intruder) or raised
    try:
        return "returned:%r" % (gr.switch(),)
    except BaseException as e:
        return chain(e)
"""


@pytest.mark.parametrize("faults", [3, 4])
def test_failed_refusals_of_goroutine_one_give_up(impl_name, faults):
    """Goroutine 1 switches into a parked goroutine and every refusal fails: after three, the
    refusal is the fatal error, which goroutine 1 takes at its own switch; if that fails too, the
    parked goroutine takes it in its blocking call, and goroutine 1's switch returns when the
    scheduler resumes it."""
    out = scenario(impl_name, REFUSE + textwrap.dedent(f"""
        c, grs, got, g = receiver_parked()
        fail({faults})
        print(intrude(grs[0]), fail(0), g.status, got)
        chanemu.runtime.check_invariants()
        if g.status == "waiting":
            c.send(7)
            gosched()
        print(got, g.status, len(c.hchan.recvq))
        still_runs()
    """))
    refused = "RuntimeError<MemoryError<MemoryError<MemoryError"
    if faults == 3:
        assert out == [refused, "0", "waiting", "[]", "[7]", "dead", "0",
                       "5", "nothing", "dead", "0", "1"]
    else:
        took = "['recv:MemoryError<" + refused + "']"
        assert out == ["returned:()", "0", "dead", took, took, "dead", "0",
                       "5", "nothing", "dead", "0", "1"]


@pytest.mark.parametrize("faults", [3, 4])
def test_failed_refusals_of_another_goroutine_give_up(impl_name, faults):
    """Another goroutine intrudes: after three failed refusals, goroutine 1 takes the fatal
    error in its blocking call (if that fails too, the parked goroutine takes it), and the
    intruder is runnable again: its switch returns when the scheduler resumes it."""
    out = scenario(impl_name, REFUSE + textwrap.dedent(f"""
        c, grs, got, g = receiver_parked()
        seen = []
        def intruder():
            fail({faults})
            seen.append(intrude(grs[0]))
        h = go(intruder)
        print(raised(gosched), fail(0), h.status, g.status, got)
        chanemu.runtime.check_invariants()
        gosched()
        print(seen, h.status)
        if g.status == "waiting":
            c.send(8)
            gosched()
        print(got, g.status, len(c.hchan.recvq))
        chanemu.runtime.check_invariants()
        still_runs()
    """))
    refused = "RuntimeError<MemoryError<MemoryError<MemoryError"
    if faults == 3:
        assert out == [refused, "0", "runnable", "waiting", "[]", "['returned:()']", "dead",
                       "[8]", "dead", "0", "5", "nothing", "dead", "0", "1"]
    else:
        took = "['recv:MemoryError<" + refused + "']"
        assert out == ["nothing", "0", "runnable", "dead", took, "['returned:()']", "dead",
                       took, "dead", "0", "5", "nothing", "dead", "0", "1"]


@pytest.mark.parametrize("faults", [3, 4])
def test_failed_refusals_of_idle_worker_give_up(impl_name, faults):
    """Goroutine 1 switches into an idle worker and every refusal fails: after three,
    goroutine 1 takes the fatal error at its switch and the worker stays idle; if that fails
    too, the worker leaves the free list and ends with the error, which reaches goroutine 1."""
    out = scenario(impl_name, REFUSE + textwrap.dedent(f"""
        grs = []
        go(lambda: grs.append(current_switch()))
        gosched()
        fail({faults})
        print(intrude(grs[0]), fail(0), grs[0].dead)
        chanemu.runtime.check_invariants()
        still_runs()
    """))
    refused = "RuntimeError<MemoryError<MemoryError<MemoryError"
    took = refused if faults == 3 else "MemoryError<" + refused
    assert out == [took, "0", str(faults == 4), "5", "nothing", "dead", "0", "1"]


def test_failed_refusals_in_a_run_program_end_it(impl_name):
    """In a run() program the given-up refusal is the program's fatal error: run() raises it."""
    out = scenario(impl_name, REFUSE + textwrap.dedent("""
        def main():
            c, grs, got, g = receiver_parked()
            fail(3)
            grs[0].switch()
            return "switch returned"
        print(raised(chanemu.run, main), fail(0))
        still_runs()
    """))
    assert out == ["RuntimeError<MemoryError<MemoryError<MemoryError", "0",
                   "5", "nothing", "dead", "0", "1"]


def test_refusals_that_always_fail_end(impl_name):
    """Every switch fails from now on: the intrusion still ends (no endless retry), with the
    error out of goroutine 1's switch or of the parked goroutine's blocking call."""
    out = scenario(impl_name, REFUSE + textwrap.dedent("""
        c, grs, got, g = receiver_parked()
        fail(1000)
        r = intrude(grs[0])
        left = fail(0)
        print(0 < left < 1000, "MemoryError" in r or "MemoryError" in str(got))
    """).replace("\nchanemu.runtime.check_invariants()\n", "\n"))
    assert out == ["True", "True"]
