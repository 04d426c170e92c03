"""Helpers for the observability tests (pprof, leak, trace): a timer-based sleep and Go.

``sleep`` parks the calling goroutine on a runtime timer ("sleep", like time.Sleep), so the
runtime is idle in its scheduler meanwhile and serves safe points at once (the debug server's
snapshots). It works on the virtual clock too, where it takes no wall time.
"""
import os
import shutil
import subprocess
import threading

import chanemu


def _wake(g, now):
    chanemu._impl.ready(g)


def sleep(seconds):
    """time.Sleep on the runtime's timers: park "sleep" until the runtime clock passes."""
    rt = chanemu._impl.current_runtime()
    g = chanemu._impl.getg()
    t = rt.newtimer(_wake, g)
    rt.addtimer(t, rt.nanotime() + int(seconds * 1e9))
    chanemu._impl.park("sleep")


def run_beside(fn, step=0.01, limit=60.0):
    """Run fn() in a thread while the calling goroutine idles in the scheduler (parked on
    timers, so safe points are served at once); returns fn's result or raises its error."""
    box = {}

    def body():
        try:
            box["value"] = fn()
        except BaseException as e:      # handed back below
            box["error"] = e
    t = threading.Thread(target=body, daemon=True)
    t.start()
    rt = chanemu._impl.current_runtime()
    deadline = rt.nanotime() + int(limit * 1e9) if rt.clock == "real" else None
    while t.is_alive():
        if deadline is not None and rt.nanotime() > deadline:
            raise AssertionError(f"helper thread still running after {limit} s")
        sleep(step)
    t.join()
    if "error" in box:
        raise box["error"]
    return box.get("value")


GO = shutil.which("go")
NO_GO = "the Go toolchain (go) is not on PATH"


def go_env():
    env = dict(os.environ)
    env.setdefault("GOFLAGS", "-mod=mod")
    env["GOTOOLCHAIN"] = "local"      # never download a toolchain
    return env


def go_run(tmp, source, env_extra=None, timeout=300):
    """Build and run a one-file Go program in directory tmp; returns its stdout."""
    os.makedirs(tmp, exist_ok=True)
    with open(os.path.join(tmp, "main.go"), "w") as f:
        f.write(source)
    with open(os.path.join(tmp, "go.mod"), "w") as f:
        f.write("module shapes\n\ngo 1.23\n")
    env = go_env()
    env.update(env_extra or {})
    exe = os.path.join(tmp, "shapes")
    subprocess.run([GO, "build", "-o", exe, "."], cwd=tmp, env=env, check=True,
                   capture_output=True, timeout=timeout)
    env["GOMAXPROCS"] = "1"
    p = subprocess.run([exe], cwd=tmp, env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout


def pprof_tool(args, path, timeout=300):
    """`go tool pprof <args> <path>` output (text)."""
    env = go_env()
    p = subprocess.run([GO, "tool", "pprof", *args, path], env=env, capture_output=True,
                       text=True, timeout=timeout)
    assert p.returncode == 0, p.stderr
    return p.stdout
