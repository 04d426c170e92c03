"""The debug server's process: HTTP and rendering happen outside the program's process, it
ends with the program however the program ends, and close() ends it at once."""
import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import chanemu
import chanemu.pprof

import obs_helpers

TIMEOUT = 20


def gone(pid):
    """Whether process pid has ended (a zombie nobody reaped yet counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True
    except OSError:         # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False


def wait_gone(pid, limit=TIMEOUT):
    deadline = time.monotonic() + limit
    while not gone(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)        # polling another process's state: nothing to wake us
    return True


def get(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def test_served_from_another_process_closed_at_once(ce):
    def main():
        srv = chanemu.pprof.serve("127.0.0.1:0")
        try:
            pid = srv._proc.pid
            st, body = obs_helpers.run_beside(
                lambda: get(srv.port, "/debug/pprof/goroutine?debug=1"))
        finally:
            srv.close()
        return pid, st, body, srv._proc.returncode, srv._thread.is_alive()
    pid, st, body, code, agent_alive = ce.run(main)
    assert pid != os.getpid()
    assert st == 200 and body.startswith(b"goroutine profile: total 1\n")
    assert code == 0 and not agent_alive       # it exited on close(), the agent ended
    assert gone(pid)


PROGRAM = r"""
import sys, chanemu, chanemu.pprof
def main():
    srv = chanemu.pprof.serve("127.0.0.1:0")
    c = chanemu.Chan()
    chanemu.go(c.recv)
    print(srv._proc.pid, srv.port, flush=True)
    sys.stdin.readline()        # runs until killed (or told)
chanemu.run(main)
"""


def test_no_orphan_when_the_program_is_killed(ce):
    """SIGKILL gives the program no chance to close(): the server's process sees its pipe end
    (and, on Linux, the parent-death signal) and exits; its port is free again."""
    env = dict(os.environ, CHANEMU_IMPL=ce.IMPL)
    prog = subprocess.Popen([sys.executable, "-c", PROGRAM], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=env)
    try:
        pid, port = map(int, prog.stdout.readline().split())
        st, body = get(port, "/debug/pprof/goroutine?debug=1")
        assert st == 200 and b"goroutine profile: total 2" in body
        prog.send_signal(signal.SIGKILL)
        prog.wait(TIMEOUT)
        assert wait_gone(pid), f"the server's process {pid} outlived its program"
    finally:
        if prog.poll() is None:
            prog.kill()
            prog.wait()


def test_no_orphan_when_the_program_exits_without_close(ce):
    """A program that ends without closing its server (sys.exit from anywhere): the process
    ends with the interpreter."""
    env = dict(os.environ, CHANEMU_IMPL=ce.IMPL)
    prog = subprocess.Popen([sys.executable, "-c", PROGRAM.replace(
        "sys.stdin.readline()", "sys.stdin.readline(); import os; os._exit(0)")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    try:
        pid, port = map(int, prog.stdout.readline().split())
        assert get(port, "/debug/pprof/")[0] == 200
        prog.stdin.write("\n")
        prog.stdin.flush()
        assert prog.wait(TIMEOUT) == 0
        assert wait_gone(pid), f"the server's process {pid} outlived its program"
    finally:
        if prog.poll() is None:
            prog.kill()
            prog.wait()


def test_a_server_that_cannot_start_raises_and_frees_its_port(ce, monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-such-python"))
    before = {t.name for t in threading.enumerate()}

    def main():
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        try:
            chanemu.pprof.serve(f"127.0.0.1:{port}")
        except OSError as e:
            err = e
        else:
            raise AssertionError("serve started without a server process")
        chanemu.pprof.check_address(f"127.0.0.1:{port}")    # the port is free again
        return err
    assert isinstance(ce.run(main), FileNotFoundError)
    assert {t.name for t in threading.enumerate()} <= before


class _Clock:
    """A fake monotonic clock for Shared: fetches and pauses move it, nothing sleeps."""

    def __init__(self):
        self.now = 100.0

    def monotonic(self):
        return self.now

    def wait(self, seconds):            # Shared's stop event: never set, the pause passes
        self.now += seconds
        return False


def test_snapshots_shared_and_paced_to_the_duty_cycle(ce, monkeypatch):
    """A request every 5 ms for 10 s, each snapshot taking 20 ms of the program: the requests
    share snapshots, and the snapshots take at most 10% of the time (plus the first one)."""
    from chanemu import _debugserver
    clock = _Clock()
    monkeypatch.setattr(_debugserver, "time", clock)
    taken = []

    def fetch(key):
        clock.now += 0.020
        taken.append(clock.now)
        return len(taken)
    shared = _debugserver.Shared(fetch, clock, duty=0.1, min_age=0.0, wait=60)
    start = clock.now
    answers = []
    while clock.now - start < 10:
        answers.append(shared.get(("g", False)))
        clock.now += 0.005
    spent = 0.020 * len(taken)
    assert len(answers) > 10 * len(taken)              # shared: far fewer than asked
    assert spent <= 0.1 * (clock.now - start) + 0.020, (len(taken), clock.now - start)
    assert answers == sorted(answers) and answers[-1] == len(taken)
    gaps = [b - a for a, b in zip(taken, taken[1:])]
    assert min(gaps) >= 0.020 + 0.020 * 9 - 1e-9      # none sooner than 9 times its cost
