"""The stack switch backend (CHANEMU_SWITCH=stack): goroutines on C stacks of their own.

The backend is chosen once, when chanemu._core is imported, so each scenario runs in a fresh
interpreter with CHANEMU_SWITCH=stack. The pure-Python twin ignores the setting (it always runs on
greenlet): both twins must print the same, which checks that the backend changes nothing a
program can see.
"""
import os
import subprocess
import sys
import textwrap

import pytest

PRELUDE = """
import gc, sys, weakref
import chanemu
from chanemu import Chan, go, run
from chanemu.runtime import gosched

def program_frames(g):
    # the frames of g's stack that are this program's (not the core twin's), innermost first
    out, f = [], g.frame
    while f is not None:
        if f.f_code.co_filename == "<string>":
            out.append(f)
        f = f.f_back
    return out

def stacks_in_use():
    # stacks the pool has handed out (stack backend); 0 on greenlet
    if chanemu.SWITCH != "stack":
        return 0
    return chanemu._impl._stack_stats()["in_use"]

def parked(g):
    for _ in range(10000):
        if g.status == "waiting":
            return
        gosched()
    raise AssertionError("never parked")
"""


def launch(src, impl="c", env=None, timeout=120):
    """Run src in a fresh interpreter on twin impl with CHANEMU_SWITCH=stack (env may override
    it): the finished process, whatever its exit."""
    env = dict(os.environ, CHANEMU_IMPL=impl, **{"CHANEMU_SWITCH": "stack", **(env or {})})
    return subprocess.run([sys.executable, "-c", src], env=env, capture_output=True, text=True,
                          timeout=timeout)


def scenario(impl, code, env=None, timeout=120):
    """Run PRELUDE + code in a fresh interpreter on twin impl with CHANEMU_SWITCH=stack; its
    stdout lines. A crash (SIGSEGV) fails the test with the interpreter's stderr."""
    p = launch(PRELUDE + textwrap.dedent(code), impl, env, timeout)
    assert p.returncode == 0, f"exit {p.returncode}\n{p.stdout}\n{p.stderr[-3000:]}"
    return p.stdout.split()


def test_switch_names_the_backend(impl_name):
    out = scenario(impl_name, """
        print(chanemu.SWITCH, chanemu._impl.SWITCH)
    """)
    assert out == (["stack", "stack"] if impl_name == "c" else ["greenlet", "greenlet"])


def test_unknown_backend_is_a_clear_error():
    p = launch("import chanemu", env={"CHANEMU_SWITCH": "fibres"}, timeout=60)
    assert p.returncode != 0
    assert "CHANEMU_SWITCH must be 'greenlet' or 'stack', not 'fibres'" in p.stderr


@pytest.mark.parametrize("value", ["lots", "0", "16k", "63k", "1025m", "1g", "-8m", " 8m", "8mb",
                                   "\u0968k"])
def test_a_stack_size_that_is_no_size_is_a_clear_error(value):
    p = launch("import chanemu", env={"CHANEMU_STACK_SIZE": value}, timeout=60)
    assert p.returncode != 0
    assert f"CHANEMU_STACK_SIZE must be a size from 64k to 1024m (bytes, or with a k or m " \
           f"suffix), not {value!r}" in p.stderr


@pytest.mark.parametrize("value,size", [("", 8 << 20), ("65536", 64 << 10), ("256k", 256 << 10),
                                        ("2M", 2 << 20), ("1024m", 1 << 30)])
def test_the_stack_size_is_the_one_asked_for(value, size):
    out = scenario("c", """
        import chanemu._core as core
        def main():
            go(lambda: None)
            gosched()
        run(main)
        print(core._stack_stats()["stack_size"])
    """, env={"CHANEMU_STACK_SIZE": value})
    assert out == [str(size)]


def test_python_recursion_in_a_goroutine_is_a_recursion_error(impl_name):
    out = scenario(impl_name, """
        def deep(n):
            return deep(n + 1)
        def main():
            c = Chan(1)
            def g():
                try:
                    deep(0)
                except RecursionError:
                    c.send("recursion")
            go(g)
            return c.recv()
        print(run(main))
    """)
    assert out == ["recursion"]


C_RECURSIONS = {
    # every level goes through C: a slot wrapper calling __getattr__ again
    "getattr": """
        class Loop:
            def __getattr__(self, name):
                return getattr(self, name + "x")
        def deep():
            return Loop().a
    """,
    # every level is a sort whose key function sorts again
    "sorted": """
        def key(x):
            return sorted([x, x], key=key)
        def deep():
            return key(1)
    """,
    # every level is a C iterator (map) calling back into Python
    "map": """
        def step(n):
            return list(map(step, [n + 1]))
        def deep():
            return step(0)
    """,
}


@pytest.mark.parametrize("kind", sorted(C_RECURSIONS))
def test_c_recursion_in_a_goroutine_is_a_recursion_error(impl_name, kind):
    """Recursion through C code uses the goroutine's own C stack: it must end in RecursionError
    before the stack does (a SIGSEGV fails the scenario), and the goroutine then runs on."""
    out = scenario(impl_name, C_RECURSIONS[kind] + """
        def main():
            c = Chan()
            def g():
                try:
                    deep()
                except RecursionError:
                    c.send("recursion")
                c.send("after")
            go(g)
            return [c.recv(), c.recv()]
        print(*run(main))
    """)
    assert out == ["recursion", "after"]


def test_recursion_limit_raised_meanwhile_applies_to_parked_goroutines(impl_name):
    """A goroutine keeps its depth, not its remaining budget: a limit changed while it is parked
    holds when it runs again."""
    out = scenario(impl_name, """
        def depth_reached():
            n = [0]
            def deep():
                n[0] += 1
                deep()
            try:
                deep()
            except RecursionError:
                pass
            return n[0]
        def main():
            c, done = Chan(), Chan()
            def g():
                c.recv()
                done.send(depth_reached())
            go(g)
            gosched()
            sys.setrecursionlimit(300)
            c.send(None)
            return done.recv()
        print(run(main) < 300)
    """)
    assert out == ["True"]


def test_program_end_runs_no_code_of_a_parked_goroutine(impl_name):
    """The end discards a parked goroutine: no finally runs, and what its frames held is freed."""
    out = scenario(impl_name, """
        class Held:
            pass
        ran, refs = [], []
        def main():
            c = Chan()
            def g():
                held = Held()
                refs.append(weakref.ref(held))
                try:
                    c.recv()
                finally:
                    ran.append("finally")
            for _ in range(3):
                go(g)
            gosched()
            return "main returned"
        print(run(main), ran, [r() is None for r in refs])
    """)
    assert out == ["main", "returned", "[]", "[True,", "True,", "True]"]


def test_parked_goroutine_is_introspectable(impl_name):
    """A parked goroutine's innermost frame, its traceback and the dump read the same on both
    backends."""
    out = scenario(impl_name, """
        def waiter(c):
            local_marker = 42
            c.recv()
        def main():
            c = Chan()
            g = go(waiter, c)
            parked(g)
            frames = program_frames(g)
            f = frames[0]
            print(f.f_code.co_name, f.f_locals["local_marker"], len(frames))
            print("waiter" in g.stack(), "chan receive" in g.stack())
            print(program_frames(g)[0] is f)
            c.send(None)
            gosched()
            print(g.status, g.frame)
        run(main)
    """)
    assert out == ["waiter", "42", "1", "True", "True", "True", "dead", "None"]


def test_goroutine_one_of_default_runtime_is_introspectable(impl_name):
    """Goroutine 1 of a thread's default runtime runs on the thread's own stack; parked, it is
    seen from another goroutine like any other."""
    out = scenario(impl_name, """
        seen = []
        def main_waits(c):
            c.recv()
        c = Chan()
        g1 = chanemu._impl.getg()
        def look():
            seen.append(program_frames(g1)[0].f_code.co_name)
            c.send(None)
        go(look)
        main_waits(c)
        print(seen)
    """)
    assert out == ["['main_waits']"]


def test_exception_being_handled_is_per_goroutine(impl_name):
    """sys.exc_info() inside an except block survives a park, and does not leak into the
    goroutine that runs meanwhile."""
    out = scenario(impl_name, """
        def main():
            c, d = Chan(), Chan()
            out = []
            def a():
                try:
                    raise KeyError("a")
                except KeyError:
                    c.recv()
                    out.append(repr(sys.exc_info()[1]))
                d.send(None)
            def b():
                out.append(repr(sys.exc_info()[1]))
                c.send(None)
            go(a)
            gosched()
            go(b)
            d.recv()
            return out
        print(*run(main))
    """)
    assert out == ["None", "KeyError('a')"]


def test_contextvars_are_per_goroutine(impl_name):
    out = scenario(impl_name, """
        import contextvars
        var = contextvars.ContextVar("var", default="unset")
        def main():
            c, d = Chan(), Chan()
            out = []
            def a():
                var.set("a")
                c.recv()
                out.append(var.get())
                d.send(None)
            def b():
                out.append(var.get())
                var.set("b")
                c.send(None)
            go(a)
            gosched()
            go(b)
            d.recv()
            return out
        print(*run(main))
    """)
    assert out == ["unset", "a"]


def test_trace_function_set_meanwhile_sees_goroutines(impl_name):
    """The trace function is the thread's: set while a goroutine is parked, it sees that
    goroutine's calls once it runs again."""
    out = scenario(impl_name, """
        calls = []
        def tracer(frame, event, arg):
            if event == "call" and frame.f_code.co_name == "marked":
                calls.append(frame.f_code.co_name)
            return None
        def marked():
            return 1
        def main():
            c, d = Chan(), Chan()
            def g():
                c.recv()
                marked()
                d.send(None)
            go(g)
            gosched()
            sys.settrace(tracer)
            c.send(None)
            d.recv()
            sys.settrace(None)
            return calls
        print(run(main))
    """)
    assert out == ["['marked']"]


def test_greenlet_inside_a_goroutine(impl_name):
    """A goroutine may use greenlet inside itself (a library built on it): switches there work,
    and blocking from a greenlet that is not the goroutine is refused, as on greenlet."""
    out = scenario(impl_name, """
        import greenlet
        def main():
            c = Chan(1)
            out = []
            def g():
                def child(x):
                    y = greenlet.getcurrent().parent.switch(x + 1)
                    return y * 10
                k = greenlet.greenlet(child)
                out.append(k.switch(1))
                out.append(k.switch(3))
                try:
                    greenlet.greenlet(c.recv).switch()
                except RuntimeError as e:
                    out.append("not a goroutine" in str(e))
                c.send("done")
            go(g)
            out.append(c.recv())
            return out
        print(*run(main))
    """)
    assert out == ["2", "30", "True", "done"]


def test_greenlet_kept_in_its_goroutine_across_parks(impl_name):
    """A greenlet resumed only by the goroutine that started it works on both backends, however
    often that goroutine parks between two switches into it, and however deep (through C) it
    parks; so does a greenlet started and resumed on the thread's own stack around run()."""
    out = scenario(impl_name, """
        import greenlet
        def counter():
            n = 0
            while True:
                n += greenlet.getcurrent().parent.switch(n)
        outside = greenlet.greenlet(counter)
        outside.switch()
        def main():
            c, res = Chan(), Chan(2)
            def user(k):
                g = greenlet.greenlet(counter)
                g.switch()
                total = 0
                for i in range(20):
                    total = g.switch(k)
                    list(map(lambda _: c.recv(), [0]))      # parks a C level deeper
                res.send(total)
            go(user, 1)
            go(user, 2)
            for i in range(40):
                c.send(i)
            return sorted([res.recv(), res.recv()])
        print(*run(main), outside.switch(5))
    """)
    assert out == ["20", "40", "5"]


# A greenlet started in goroutine a and resumed from goroutine b. greenlet copies it back to the
# addresses it started at, in a's stack: whether b's stack lies above or below a's decides how it
# would crash (at once, or when a resumes), so the program runs with both orders of go().
HOPPER = """
import greenlet
def main():
    ch, done = Chan(), Chan()
    def a():
        def body():
            greenlet.getcurrent().parent.switch("started")
            return "finished"
        g = greenlet.greenlet(body)
        print("a:", g.switch())
        list(map(lambda _: ch.send(g), [0]))
        done.send("a")
    def b():
        g = ch.recv()
        print("b:", g.switch())
        done.send("b")
    {spawn}
    print(done.recv(), done.recv())
run(main)
"""


@pytest.mark.parametrize("spawn", ["go(a); go(b)", "go(b); go(a)"])
def test_greenlet_resumed_from_another_goroutine_is_a_fatal_error(spawn):
    """On the stack backend the switch cannot be refused (greenlet calls nobody before it), so
    the runtime stops the process right after it, before the overwritten stack runs, with a
    fatal error that names the greenlet and both goroutines; exit status 2 as Go's. (On the
    greenlet backend the same program gets a RuntimeError: tests/test_harden.py.)"""
    p = launch(PRELUDE + HOPPER.format(spawn=spawn), timeout=60)
    a, b = (2, 3) if spawn.startswith("go(a)") else (3, 2)
    assert p.returncode == 2, p.stderr[-2000:]
    assert p.stdout.split() == ["a:", "started"]
    assert p.stderr.startswith("fatal error: greenlet resumed on another goroutine's stack\n")
    assert f"was started on goroutine {a} and resumed from goroutine {b}." in p.stderr
    assert f"the stack of goroutine {a} has just been overwritten" in p.stderr
    assert "\ngoroutine 1 [chan receive]:\n" in p.stderr      # the goroutines, as Go dumps them
    assert f"\ngoroutine {b} [running]:\n" in p.stderr
    assert f"\ngoroutine {a} [" not in p.stderr     # where its frames begin was on its stack


def test_greenlet_started_outside_any_goroutine_stops_the_process_if_resumed_in_one():
    """The thread's own stack is a stack of its own too. A greenlet started there before run()
    and resumed from a goroutine never lets the program run on: greenlet itself gives up first
    here (the slice it would save spans from the goroutine's stack to the thread's, far apart:
    it fails to save it and aborts, "Fatal Python error: g_switchstack"); had it got through,
    the runtime's fatal error would stop the process."""
    code = PRELUDE + """
import greenlet
g = greenlet.greenlet(lambda: greenlet.getcurrent().parent.switch("out") and None)
print(g.switch())
def main():
    g.switch()
    print("ran on")
run(main)
"""
    p = launch(code, timeout=60)
    assert p.returncode != 0
    assert p.stdout.split() == ["out"]
    assert ("was started on the thread's own stack (outside any goroutine) and resumed from "
            "goroutine 1." in p.stderr or "Fatal Python error: g_switchstack" in p.stderr), \
        p.stderr[-2000:]


def test_the_watch_forgets_a_greenlet_when_it_goes(impl_name):
    """The stack backend's watch holds no greenlet and keeps no entry for a freed one: 2,000
    greenlets started and dropped in 20 goroutines leave it as it was."""
    out = scenario(impl_name, """
        import greenlet
        core = chanemu._impl
        known = getattr(core, "_greenlet_homes", lambda: 0)
        before = known()
        def main():
            done = Chan(20)
            def user():
                for _ in range(100):
                    g = greenlet.greenlet(lambda: greenlet.getcurrent().parent.switch())
                    g.switch()          # started, suspended: freed (killed) below, in place
                    del g
                done.send(None)
            for _ in range(20):
                go(user)
            for _ in range(20):
                done.recv()
        run(main)
        gc.collect()
        print(known() - before)
    """)
    assert out == ["0"]


def test_the_watch_passes_greenlet_events_on_to_the_trace_it_replaced(impl_name):
    """A trace function set before chanemu's (a debugger's, gevent's) still sees every switch."""
    out = scenario(impl_name, """
        import greenlet
        seen = []
        greenlet.settrace(lambda event, args: seen.append(event))
        def main():
            g = greenlet.greenlet(lambda: greenlet.getcurrent().parent.switch(1))
            return g.switch()
        print(run(main), seen.count("switch") >= 2)
    """)
    assert out == ["1", "True"]


def test_thousand_goroutines_parked_deep(impl_name):
    """1,000 goroutines each parked under 40 Python levels and 20 C levels (map calling back
    into Python) all resume with their stacks intact; their stacks go back to the pool."""
    out = scenario(impl_name, """
        N = 1000
        def down(c, n):
            if n == 0:
                return c.recv()
            if n <= 20:
                return list(map(lambda m: down(c, m), [n - 1]))[0] + 1
            return down(c, n - 1) + 1
        def main():
            c, done = Chan(), Chan(N)
            for _ in range(N):
                go(lambda: done.send(down(c, 60)))
            gosched()
            parked_n = sum(g.status == "waiting" for g in chanemu._impl.goroutines())
            for i in range(N):
                c.send(i)
            total = sum(done.recv() for _ in range(N))
            return parked_n, total
        parked_n, total = run(main)
        print(parked_n, total == sum(range(1000)) + 1000 * 60)
        core = chanemu._impl
        if chanemu.SWITCH == "stack":
            s = core._stack_stats()
            print(s["in_use"] <= 2)
        else:
            print(True)
    """)
    assert out == ["1000", "True", "True"]


@pytest.mark.parametrize("kind", sorted(C_RECURSIONS))
@pytest.mark.parametrize("stack_mb", [2, 8])
def test_recursion_limit_above_what_the_stack_holds(kind, stack_mb):
    """C twin only: with a recursion limit far above what a goroutine's stack holds (greenlet,
    on the thread's stack, would crash here), the stack backend's cut ends a deep C recursion
    in RecursionError, on small stacks too."""
    out = scenario("c", C_RECURSIONS[kind] + """
        sys.setrecursionlimit(1_000_000)
        def main():
            c = Chan()
            def g():
                try:
                    deep()
                except RecursionError:
                    c.send("recursion")
            go(g)
            return c.recv()
        print(run(main))
    """, env={"CHANEMU_STACK_SIZE": str(stack_mb << 20)})
    assert out == ["recursion"]


def test_thread_end_discards_its_goroutines(impl_name):
    """A thread's default runtime ends with the thread: its parked goroutines (on stacks of their
    own) are discarded there, no finally runs, what they held is freed, and their stacks go back."""
    out = scenario(impl_name, """
        import threading
        class Held:
            pass
        ran, refs = [], []
        def body():
            c = Chan()
            def g():
                held = Held()
                refs.append(weakref.ref(held))
                try:
                    c.recv()
                finally:
                    ran.append("finally")
            for _ in range(5):
                go(g)
            gosched()
        for _ in range(3):
            t = threading.Thread(target=body)
            t.start()
            t.join()
        gc.collect()
        print(ran, sum(r() is None for r in refs))
        if chanemu.SWITCH == "stack":
            print(chanemu._impl._stack_stats()["in_use"] <= 2)
        else:
            print(True)
    """)
    assert out == ["[]", "15", "True"]


def test_runtime_ended_from_another_thread_gives_its_stacks_back(impl_name):
    """A thread's default runtime ended on another thread (its end holder outlived the thread
    and was freed elsewhere): its parked goroutines and idle workers cannot run there, so they
    are written off without running a line, and their C stacks go back to the pool: the count of
    stacks in use returns to where it was before the thread started."""
    out = scenario(impl_name, """
        import threading
        from chanemu import _lifecycle
        ran, holders = [], []
        def body():
            c = Chan()
            def parked_forever():
                try:
                    c.recv()
                finally:
                    ran.append("finally")
            for _ in range(5):
                go(parked_forever)
            for _ in range(3):
                go(lambda: None)     # ends: its worker waits on the idle list
            gosched()
            gosched()
            twin = type(chanemu._impl.thread_runtime()).__module__
            holders.append(_lifecycle._thread_end.holders[twin])
            holders.append(stacks_in_use())
        base = stacks_in_use()
        t = threading.Thread(target=body)
        t.start()
        t.join()
        holder, during = holders
        del holders[:]
        rt = holder.rt
        del holder              # finish() runs here, on the main thread
        gc.collect()
        grew = during > base if chanemu.SWITCH == "stack" else True
        print(grew, rt.dead, stacks_in_use() == base, ran)
    """)
    assert out == ["True", "True", "True", "[]"]


def test_goroutine_running_when_its_program_is_ended_elsewhere_keeps_its_stack(impl_name):
    """Another thread ends a program while one of its goroutines runs (blocked outside the
    runtime, in a lock): that goroutine's stack is not given back (others reuse freed stacks
    meanwhile), so it runs on intact; the parked one's is given back at once."""
    out = scenario(impl_name, """
        import threading
        entered, release = threading.Event(), threading.Event()
        rts, out = [], []
        def body():
            c = Chan()
            def busy():
                data = list(range(50))
                entered.set()
                release.wait()
                out.append(sum(data))
            go(busy)
            go(c.recv)
            rts.append(chanemu._impl.thread_runtime())
            try:
                gosched()
            except BaseException:
                pass      # its program was ended meanwhile: what it raises here is not the point
        base = stacks_in_use()
        t = threading.Thread(target=body)
        t.start()
        entered.wait()
        rt = rts.pop()
        during = stacks_in_use()
        rt.end()
        rt.release()
        after_end = stacks_in_use()
        def churn():
            # goroutines of another program take (and write over) the stacks that went back
            def deep(n, c):
                return c.recv() if n == 0 else deep(n - 1, c) + 1
            def main():
                c = Chan()
                for _ in range(20):
                    go(deep, 50, c)
                gosched()
                for _ in range(20):
                    c.send(1)
            run(main)
        churn()
        release.set()
        t.join()
        gc.collect()
        stack = chanemu.SWITCH == "stack"
        print(out, not stack or during - after_end == 1, stacks_in_use() == base)
    """)
    assert out == ["[1225]", "True", "True"]
