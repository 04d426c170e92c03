#!/usr/bin/env python3
"""What an open live view (/debug/chanemu/) costs a busy program.

    python bench/liveview_overhead.py [--impl c|python|both] [--reps 7] [--seconds 0.4]
                                      [--client browser|sse]

One program serves the debug server and runs two loops, each timed in repetitions that
alternate between no page attached and a page attached: W1's loop (one goroutine, a channel of
capacity 128, ``send(i); recv()``, no scheduling at all) and W2's (two goroutines trading a
value over unbuffered channels, a park and a wake-up each way). The page is headless Chromium
showing the live view (``--client browser``, the default when chromium and selenium are here)
or a reader of the same server-sent event stream (``--client sse``). Prints the median ns per
operation of each and the slowdown. Timings are wall clock: run it on a quiet machine.
"""
import argparse
import os
import socket
import statistics
import sys
import threading
import time

try:
    import chanemu  # noqa: F401
except ImportError:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import chanemu
import chanemu.pprof
import chanemu.time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tests"))


def w1(n):
    c = chanemu.Chan(128)
    send, recv = c.send, c.recv
    t = _clocks()
    for i in range(n):
        send(i)
        recv()
    return _per_op(t, n)


def w2(n):
    a, b, done = chanemu.Chan(), chanemu.Chan(), chanemu.Chan(1)

    def echo():
        for _ in range(n):
            b.send(a.recv())
        done.send(True)
    t = _clocks()
    chanemu.go(echo)
    for i in range(n):
        a.send(i)
        b.recv()
    done.recv()
    return _per_op(t, n)


def _clocks():
    """Wall time, the program thread's CPU time, the whole process's CPU time (every thread:
    the server's, the view's ticker, the program's)."""
    return (time.perf_counter_ns(), time.thread_time_ns(), time.process_time_ns())


def _per_op(t0, n):
    return tuple((b - a) / n for a, b in zip(t0, _clocks()))


class SSEClient:
    """Reads the page's event stream in a thread of its own, as the browser would."""

    def __init__(self, port):
        self.port = port
        self.sock = None
        self.pictures = 0

    def attach(self):
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        self.sock.sendall(b"GET /debug/chanemu/events HTTP/1.0\r\n\r\n")
        threading.Thread(target=self._read, args=(self.sock.makefile("rb"),),
                         daemon=True).start()

    def _read(self, f):
        try:
            for line in f:
                if line.startswith(b"data: "):
                    self.pictures += 1
        except (OSError, ValueError):
            pass

    def detach(self):
        self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()

    def quit(self):
        pass


class BrowserClient:
    def __init__(self, port):
        import browser_helpers
        self.url = f"http://127.0.0.1:{port}/debug/chanemu/"
        self.drv = browser_helpers.chrome()
        self.pictures = 0

    def attach(self):
        self.drv.get(self.url)
        for _ in range(500):
            if self.drv.execute_script("return !!(window.__chanemu && window.__chanemu.live)"):
                return
            time.sleep(0.01)

    def detach(self):
        self.drv.get("about:blank")

    def quit(self):
        self.drv.quit()


def in_thread(fn):
    """fn() in a helper thread while goroutine 1 sleeps on the runtime's timers (so the view
    can take its snapshots at safe points meanwhile)."""
    t = threading.Thread(target=fn, daemon=True)
    t.start()
    while t.is_alive():
        chanemu.time.sleep(0.01)


def calibrate(loop, seconds):
    n = 1000
    while True:
        ns = loop(n)[0]
        if ns * n >= seconds * 1e9 * 0.25:
            return max(1000, int(seconds * 1e9 / ns))
        n *= 4


def measure(impl, reps, seconds, client_kind):
    chanemu._set_impl(impl)

    def main():
        srv = chanemu.pprof.serve("127.0.0.1:0")
        client = (BrowserClient if client_kind == "browser" else SSEClient)(srv.port)
        out = {}
        try:
            for name, loop in (("W1", w1), ("W2", w2)):
                n = calibrate(loop, seconds)
                off, on = [], []
                for _ in range(reps):
                    off.append(loop(n))
                    in_thread(client.attach)
                    chanemu.time.sleep(0.2)         # the page is up and receiving
                    on.append(loop(n))
                    in_thread(client.detach)
                out[name] = ([statistics.median(x[k] for x in off) for k in range(3)],
                             [statistics.median(x[k] for x in on) for k in range(3)], n)
        finally:
            client.quit()
            srv.close()
        return out
    return chanemu.run(main)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--impl", choices=("c", "python", "both"), default="both")
    p.add_argument("--reps", type=int, default=7)
    p.add_argument("--seconds", type=float, default=0.4, help="per timed repetition")
    p.add_argument("--client", choices=("browser", "sse"), default=None)
    args = p.parse_args(argv)
    client = args.client
    if client is None:
        import browser_helpers
        client = "sse" if browser_helpers.missing() else "browser"
    impls = ("c", "python") if args.impl == "both" else (args.impl,)
    print(f"client: {client}; median of {args.reps} alternating repetitions")
    print("ns per op, median without a page -> with one (slowdown): wall time; CPU time of the "
          "program's thread; CPU time of the whole process (server and view threads too)")
    for impl in impls:
        for name, (off, on, n) in measure(impl, args.reps, args.seconds, client).items():
            cols = "  ".join(f"{k} {a:8.1f} -> {b:8.1f} ({100 * (b / a - 1):+5.1f}%)"
                             for k, a, b in zip(("wall", "thread", "process"), off, on))
            print(f"{impl:6} {name}  {cols}  n={n}")


if __name__ == "__main__":
    main()
