"""`chanemu run FILE` and `chanemu.main(fn)`: a program ends as a Go binary does.

The expected texts are what Go 1.26 prints for the same situation (checked with `go run` on
programs of our own, GOMAXPROCS=1): `panic: VALUE` + blank line + the goroutine trace, or
`fatal error: MSG` + every goroutine, exit status 2; os.Exit(n) is status n. The command runs in
a subprocess on the twin under test (CHANEMU_IMPL).
"""
import json
import os
import re
import socket
import subprocess
import sys
import textwrap

import pytest

from chanemu import _gorun

TIMEOUT = 60


CARETS = re.compile(r"\s*[~^]+\s*")


def without_carets(text):
    """text's lines less those that only underline the line above: CPython 3.13 underlines
    more source lines (`~~~~~~^^`) than 3.11 and 3.12, and prints no frame in them."""
    return [ln for ln in text.splitlines() if not CARETS.fullmatch(ln)]


def write(tmp_path, body, name="prog.py"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(body))
    return p


def chanemu_run(impl, *args, env=None, cwd=None):
    """python -m chanemu run ARGS on the twin impl: (status, stdout, stderr)."""
    e = {k: v for k, v in os.environ.items() if k != "GOTRACEBACK"}
    e["CHANEMU_IMPL"] = impl
    e.update(env or {})
    r = subprocess.run([sys.executable, "-m", "chanemu", "run", *map(str, args)], env=e,
                       cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT)
    return r.returncode, r.stdout, r.stderr


PARKED = """
    from chanemu import Chan, go, runtime, Panic

    def worker(c):
        c.recv()

    def main():
        c = Chan()
        go(worker, c)
        runtime.gosched()
        print("main", "ends")
"""


def test_main_returns_exit_0(impl_name, tmp_path):
    prog = write(tmp_path, PARKED)
    rc, out, err = chanemu_run(impl_name, prog)
    assert (rc, out, err) == (0, "main ends\n", "")


def test_uncaught_panic_exit_2_with_trace(impl_name, tmp_path):
    prog = write(tmp_path, """
        from chanemu import Panic

        def fail():
            raise Panic("boom\\nsecond line")

        def main():
            print("before")
            fail()
    """)
    rc, out, err = chanemu_run(impl_name, prog)
    assert rc == 2
    assert out == "before\n"
    lines = err.splitlines()
    assert lines[:4] == ["panic: boom", "\tsecond line", "", "goroutine 1 [running]:"]
    assert lines[4:8] == ["__main__.fail(...)", f"\t{prog}:5 +0x{_off(lines[5])}",
                          "__main__.main(...)", f"\t{prog}:9 +0x{_off(lines[7])}"]
    assert len(lines) == 8, err         # nothing of chanemu's runtime, nothing else


def _off(line):
    return line.rsplit("+0x", 1)[1]


@pytest.mark.parametrize("expr, text", [
    ("Panic(42)", "42"),
    ("Panic(1.5)", "1.5"),
    ("Panic(True)", "true"),
    ("Panic(ValueError('bad thing'))", "bad thing"),
    ("Panic(None)", "panic called with nil argument"),
    ("KeyError('k')", "KeyError: 'k'"),
    ("ZeroDivisionError('division by zero')", "ZeroDivisionError: division by zero"),
])
def test_panic_values_as_go_prints_them(impl_name, tmp_path, expr, text):
    prog = write(tmp_path, f"""
        from chanemu import Panic

        def main():
            raise {expr}
    """)
    rc, out, err = chanemu_run(impl_name, prog)
    assert rc == 2
    assert err.splitlines()[0] == f"panic: {text}"


@pytest.mark.parametrize("x, go", [
    (1.5, "1.5"), (1e21, "1e+21"), (0.1, "0.1"), (1e-7, "1e-07"), (100.0, "100"),
    (1e6, "1e+06"), (123456789.0, "1.23456789e+08"), (-2.5, "-2.5"), (0.0, "0"),
    (float("inf"), "+Inf"), (float("-inf"), "-Inf"), (float("nan"), "NaN"),
    (123456.0, "123456"), (0.0001, "0.0001"), (0.00001, "1e-05")])
def test_float_panic_values(x, go):
    """Go 1.26 prints these float64 panic values so (go run, checked one by one)."""
    assert _gorun.go_value(x) == go


def test_recovered_and_repanicked(impl_name, tmp_path):
    prog = write(tmp_path, """
        import sys
        from chanemu import Panic

        def main():
            if sys.argv[1] == "repanic":
                try:
                    raise Panic("again")
                except Panic as e:
                    raise Panic("again") from e
            try:
                raise Panic("first")
            except Panic:
                raise Panic("second")
    """)
    rc, _, err = chanemu_run(impl_name, prog, "repanic")
    assert rc == 2
    assert err.splitlines()[0] == "panic: again [recovered, repanicked]"
    rc, _, err = chanemu_run(impl_name, prog, "chain")
    assert rc == 2
    assert err.splitlines()[:2] == ["panic: first [recovered]", "\tpanic: second"]


def test_panic_in_a_goroutine(impl_name, tmp_path):
    prog = write(tmp_path, """
        from chanemu import Chan, go

        def worker():
            {}["missing"]

        def main():
            go(worker)
            Chan().recv()
    """)
    rc, _, err = chanemu_run(impl_name, prog)
    assert rc == 2
    lines = err.splitlines()
    assert lines[0] == "panic: KeyError: 'missing'"
    assert re.fullmatch(r"goroutine 2 \[running\]:", lines[2])
    assert lines[3] == "__main__.worker(...)"
    assert lines[5:7] == ["created by __main__.main in goroutine 1", f"\t{prog}:8 +0x0"]
    assert "goroutine 1 [" not in err        # GOTRACEBACK=single: the crashed goroutine only


def test_deadlock_exit_2_with_every_goroutine(impl_name, tmp_path):
    prog = write(tmp_path, """
        from chanemu import Chan, go

        def worker(c):
            c.recv()

        def main():
            go(worker, Chan())
            print("blocking")
            Chan().send(1)
    """)
    rc, out, err = chanemu_run(impl_name, prog)
    assert rc == 2
    assert out == "blocking\n"
    assert err.split("\n\n") == [
        "fatal error: all goroutines are asleep - deadlock!",
        f"goroutine 1 [chan send]:\n__main__.main(...)\n\t{prog}:10 +0x{_off(err.split(chr(10))[4])}",
        f"goroutine 2 [chan receive]:\n__main__.worker(...)\n\t{prog}:5 +0x2\n"
        f"created by __main__.main in goroutine 1\n\t{prog}:8 +0x0\n"]


def test_goexit_from_main(impl_name, tmp_path):
    prog = write(tmp_path, """
        from chanemu import runtime

        def main():
            try:
                runtime.goexit()
            finally:
                print("deferred call runs")
    """)
    rc, out, err = chanemu_run(impl_name, prog)
    assert (rc, out) == (2, "deferred call runs\n")
    assert err == "fatal error: no goroutines (main called runtime.Goexit) - deadlock!\n"


def test_sys_exit_in_a_goroutine_is_os_exit(impl_name, tmp_path):
    prog = write(tmp_path, """
        import sys
        from chanemu import Chan, go

        def worker(n):
            print("worker exits", n)
            sys.exit(n)

        def main():
            go(worker, int(sys.argv[1]))
            Chan().recv()
            print("BUG: not reached")
    """)
    assert chanemu_run(impl_name, prog, 3) == (3, "worker exits 3\n", "")
    assert chanemu_run(impl_name, prog, 0) == (0, "worker exits 0\n", "")


@pytest.mark.parametrize("setting", ["none", "single", "all", "system"])
def test_gotraceback(impl_name, tmp_path, setting):
    prog = write(tmp_path, """
        from chanemu import Chan, go, runtime, Panic

        def worker(c):
            c.recv()

        def main():
            go(worker, Chan())
            runtime.gosched()
            raise Panic("boom")
    """)
    rc, _, err = chanemu_run(impl_name, prog, env={"GOTRACEBACK": setting})
    assert rc == 2
    assert err.startswith("panic: boom\n")
    goroutines = re.findall(r"^goroutine (\d+) \[([^\]]+)\]:", err, re.M)
    runtime_frames = ("_pycore" in err or ".pxi" in err or "_gorun.py" in err)
    if setting == "none":
        assert err == "panic: boom\n"
    elif setting == "single":
        assert goroutines == [("1", "running")]
    else:
        assert goroutines == [("1", "running"), ("2", "chan receive")]
    assert runtime_frames == (setting == "system")


def test_chanemu_main_in_a_script(impl_name, tmp_path):
    """chanemu.main(main) makes `python prog.py` end as Go; under `chanemu run` the command
    line's --seed wins over the script's own."""
    prog = write(tmp_path, """
        import chanemu
        from chanemu import Chan, select, recv

        def main():
            a, b = Chan(1), Chan(1)
            picks = []
            for _ in range(40):
                a.send(0)
                b.send(1)
                picks.append(select(recv(a), recv(b))[0])
                (b if picks[-1] == 0 else a).recv()
            print("".join(map(str, picks)))
            raise chanemu.Panic("done")

        if __name__ == "__main__":
            chanemu.main(main, seed=1)
    """)
    env = dict(os.environ, CHANEMU_IMPL=impl_name)
    env.pop("GOTRACEBACK", None)
    r = subprocess.run([sys.executable, str(prog)], env=env, capture_output=True, text=True,
                       timeout=TIMEOUT)
    assert r.returncode == 2
    assert r.stderr.startswith("panic: done\n\ngoroutine 1 [running]:\n__main__.main(...)\n")
    rc1, out1, _ = chanemu_run(impl_name, prog)
    assert (rc1, out1) == (2, r.stdout)           # the script's seed
    runs = {chanemu_run(impl_name, "--seed", 2, prog)[1] for _ in range(2)}
    assert len(runs) == 1                         # the same seed: the same choices
    assert runs != {out1}                         # 40 choices: another seed differs


def test_argv_and_virtual_clock(impl_name, tmp_path):
    prog = write(tmp_path, """
        import sys
        from chanemu import time

        def main():
            t0 = time.now()
            time.sleep(3600)
            print(sys.argv[1:], time.since(t0))
    """)
    rc, out, err = chanemu_run(impl_name, "--clock", "virtual", prog, "a", "--seed", "b")
    assert (rc, out, err) == (0, "['a', '--seed', 'b'] 1h0m0s\n", "")


def test_trace_and_pprof(impl_name, tmp_path):
    with socket.socket() as s:                 # a free port, let go just before the run
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    prog = write(tmp_path, f"""
        from urllib.request import urlopen
        from chanemu import Chan, go, runtime

        def main():
            c = Chan()
            go(c.send, 5)
            runtime.gosched()
            url = "http://127.0.0.1:{port}/debug/pprof/goroutine?debug=2"
            print(urlopen(url, timeout=30).read().decode())
    """)
    trace = tmp_path / "trace.json"
    rc, out, err = chanemu_run(impl_name, "--pprof", f"127.0.0.1:{port}", "--trace", trace,
                               prog)
    assert rc == 0, err
    assert "serving http://127.0.0.1:" in err
    g1, g2 = out.strip().split("\n\n")
    # goroutine 1's stack ends at the user's main: no wrapper of the command line's
    assert g1.splitlines()[-2:] == ["__main__.main(...)", f"\t{prog}:10 +0x{_off(g1)}"]
    assert g2.splitlines()[:3] == ["goroutine 2 [chan send]:", "chanemu.Chan.send(...)",
                                   f"\t{prog}:7 +0x0"]
    names = {e["args"]["name"] for e in json.loads(trace.read_text())["traceEvents"]
             if e.get("name") == "thread_name"}
    assert "__main__.main" in " ".join(names)


def test_view_serves_the_live_page(impl_name, tmp_path):
    """--view serves the live view on --pprof's address and says where on stderr, so the
    program's stdout stays its own."""
    with socket.socket() as s:                 # a free port, let go just before the run
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    prog = write(tmp_path, f"""
        from urllib.request import urlopen

        def main():
            page = urlopen("http://127.0.0.1:{port}/debug/chanemu/", timeout=30).read().decode()
            print("qcount" in page or "hchan" in page)
    """)
    rc, out, err = chanemu_run(impl_name, "--view", "--pprof", f"127.0.0.1:{port}", prog)
    assert (rc, out) == (0, "True\n"), err
    assert f"live view: open http://127.0.0.1:{port}/debug/chanemu/ in a browser" in err


def test_bad_files(impl_name, tmp_path):
    rc, out, err = chanemu_run(impl_name, tmp_path / "missing.py")
    assert rc == 1 and "missing.py" in err
    nomain = write(tmp_path, "x = 1\n", "nomain.py")
    rc, out, err = chanemu_run(impl_name, nomain)
    assert rc == 1 and "function main is undeclared" in err
    broken = write(tmp_path, "def main(:\n", "broken.py")
    rc, out, err = chanemu_run(impl_name, broken)
    assert rc == 1 and "SyntaxError" in err
    loadfail = write(tmp_path, "raise ValueError('at load')\ndef main(): pass\n", "load.py")
    rc, out, err = chanemu_run(impl_name, loadfail)
    assert rc == 2 and err.startswith("panic: ValueError: at load\n")


def test_old_style_script_runs_once(impl_name, tmp_path):
    """A script that calls run(main) itself is not run a second time."""
    prog = write(tmp_path, """
        from chanemu import run

        def main():
            print("main runs")

        if __name__ == "__main__":
            run(main)
    """)
    assert chanemu_run(impl_name, prog) == (0, "main runs\n", "")


# -- tracebacks raised to user code --------------------------------------------------------
def test_uncaught_deadlock_prints_no_runtime_frames(impl_name, tmp_path):
    """A deadlock in a script (as in the REPL) prints the user's line, not the scheduler's."""
    prog = write(tmp_path, """
        from chanemu import Chan
        Chan().recv()
    """)
    env = dict(os.environ, CHANEMU_IMPL=impl_name)
    env.pop("GOTRACEBACK", None)
    r = subprocess.run([sys.executable, str(prog)], env=env, capture_output=True, text=True,
                       timeout=TIMEOUT)
    assert r.returncode == 1
    assert without_carets(r.stderr) == [
        "Traceback (most recent call last):",
        f'  File "{prog}", line 3, in <module>',
        "    Chan().recv()",
        "chanemu.Deadlock: all goroutines are asleep - deadlock!"]
    env["GOTRACEBACK"] = "system"
    r = subprocess.run([sys.executable, str(prog)], env=env, capture_output=True, text=True,
                       timeout=TIMEOUT)
    assert (".pxi" in r.stderr) or ("_pycore" in r.stderr)


def test_crash_traceback_keeps_the_goroutines_frames(ce):
    """The exception out of run() carries the frames of the goroutine it escaped from."""
    import traceback

    def deep():
        raise ValueError("in a goroutine")

    def main():
        ce.go(deep)
        ce.Chan().recv()

    with pytest.raises(ValueError) as ei:
        ce.run(main)
    names = [f.name for f in traceback.extract_tb(ei.value.__traceback__)]
    assert "deep" in names


def test_go_on_a_channel_method_reads_as_go(ce):
    def main():
        c = ce.Chan()
        g = ce.go(c.send, 1); line = sys._getframe().f_lineno   # noqa: E702
        ce.runtime.gosched()
        return g.stack(), line

    stack, line = ce.run(main)
    assert stack.splitlines()[:3] == ["goroutine 2 [chan send]:", "chanemu.Chan.send(...)",
                                      f"\t{__file__}:{line} +0x0"]


def test_program_end_hook_sees_discarded_goroutines(ce):
    from chanemu import _hooks
    seen = []

    def hook(rt, snap):
        seen.append(sorted((r.goid, r.status, r.reason) for r in snap.records
                           if r.status != "running"))

    def main():
        c = ce.Chan()
        ce.go(c.recv)
        ce.go(ce.Chan().send, 1)
        ce.runtime.gosched()

    _hooks.add(hook)
    try:
        ce.run(main)
    finally:
        _hooks.remove(hook)
    ce.run(main)                        # removed: not called again
    assert seen == [[(2, "waiting", "chan receive"), (3, "waiting", "chan send")]]


pytest_plugins = ["pytester"]


@pytest.mark.parametrize("setting", ["single", "system"])
def test_pytest_traceback_shows_the_test_not_the_scheduler(impl_name, pytester, monkeypatch,
                                                            setting):
    """A test whose program deadlocks: pytest's traceback holds the test's frames only (the
    runtime's modules carry __tracebackhide__), unless GOTRACEBACK=system."""
    monkeypatch.setenv("CHANEMU_IMPL", impl_name)
    monkeypatch.setenv("GOTRACEBACK", setting)
    pytester.makepyfile(test_deadlocks="""
        import chanemu

        def main():
            chanemu.Chan().recv()

        def test_it():
            chanemu.run(main)
    """)
    r = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q", timeout=120)
    r.assert_outcomes(failed=1)
    out = r.stdout.str()
    assert "Deadlock: all goroutines are asleep - deadlock!" in out
    runtime_shown = "_pycore" in out or ".pxi" in out
    assert runtime_shown == (setting == "system")


def test_wrappers_of_main_are_hidden(ce):
    """The leak demo's --pprof wrapper around main (marked with _traceback.hide) is not in
    goroutine 1's stack, in dumps and in the profile, as Go shows main.main at the bottom."""
    from chanemu import leakdemo, pprof

    def prog():
        return ce.runtime.stack(all=False), pprof.goroutine_profile(debug=2)

    said = []
    stack, profile = ce.run(leakdemo.cli._served("127.0.0.1:0", prog, said.append))
    assert said and "serving" in said[0]
    for text in (stack, profile.split("\n\n")[0]):
        assert "served" not in text
        assert text.splitlines()[-2].endswith("test_gorun.test_wrappers_of_main_are_hidden"
                                              ".<locals>.prog(...)"), text


def test_other_fatal_errors(impl_name, tmp_path):
    """sync's fatal error, as Go 1.26 prints `var m sync.Mutex; m.Unlock()` with another
    goroutine parked: the message and the goroutine that hit it; GOTRACEBACK=none: the message."""
    prog = write(tmp_path, """
        from chanemu import Chan, go, runtime, sync

        def main():
            go(Chan().recv)
            runtime.gosched()
            sync.Mutex().unlock()
    """)
    rc, _, err = chanemu_run(impl_name, prog)
    assert rc == 2
    assert err.startswith("fatal error: sync: unlock of unlocked mutex\n\ngoroutine 1 [running]:\n")
    assert f"__main__.main(...)\n\t{prog}:7 +0x" in err and "goroutine 2" not in err
    for text in (prog, write(tmp_path, "from chanemu import Chan\ndef main(): Chan().recv()\n",
                             "dl.py")):
        rc, _, err = chanemu_run(impl_name, text, env={"GOTRACEBACK": "none"})
        assert rc == 2 and err.count("\n") == 1 and err.startswith("fatal error: ")


def test_interrupt_ends_as_a_signal(impl_name, tmp_path):
    """Ctrl-C: a Go binary dies of SIGINT (status 130 in a shell), printing nothing."""
    import signal
    prog = write(tmp_path, """
        from chanemu import time

        def main():
            print("ready", flush=True)
            time.sleep(60)
    """)
    env = dict(os.environ, CHANEMU_IMPL=impl_name)
    p = subprocess.Popen([sys.executable, "-m", "chanemu", "run", str(prog)], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline() == "ready\n"
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=TIMEOUT)
    finally:
        p.kill()
    assert (p.returncode, err) == (130, "")


def test_seed_option_spellings(impl_name, tmp_path):
    prog = write(tmp_path, "def main():\n    print('ok')\n")
    for seed in ("010", "0x2a", "-3"):
        assert chanemu_run(impl_name, "--seed", seed, prog)[:2] == (0, "ok\n")
    rc, _, err = chanemu_run(impl_name, "--seed", "x", prog)
    assert rc == 2 and "not a whole number" in err          # argparse's usage error


def test_uncaught_deadlock_in_a_thread_prints_no_runtime_frames(impl_name, tmp_path):
    prog = write(tmp_path, """
        import threading
        from chanemu import Chan

        def blocks():
            Chan().recv()

        t = threading.Thread(target=blocks)
        t.start()
        t.join()
    """)
    env = dict(os.environ, CHANEMU_IMPL=impl_name)
    env.pop("GOTRACEBACK", None)
    r = subprocess.run([sys.executable, str(prog)], env=env, capture_output=True, text=True,
                       timeout=TIMEOUT)
    lines = without_carets(r.stderr)
    assert lines[-3:] == [f'  File "{prog}", line 6, in blocks', "    Chan().recv()",
                          "chanemu.Deadlock: all goroutines are asleep - deadlock!"]
    assert ".pxi" not in r.stderr and "_pycore" not in r.stderr
