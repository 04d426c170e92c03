"""Twin of runnext.go: the order in which new and readied goroutines run."""
import chanemu
from chanemu import Chan, go, runtime


def spawnOrder():
    done = Chan()

    def f(i):
        print("spawned", i, "runs")
        done.send(i)

    for i in range(5):
        go(f, i)
    for _ in range(5):
        print("done from", done.recv())


def wakeups():
    c = Chan()
    out = Chan(20)

    def w(i):
        v = c.recv()
        out.send(f"woken {i} with {v}")

    for i in range(3):
        go(w, i)
    runtime.gosched()
    for i in range(3):
        c.send(100 + i)
        out.send(f"main sent {100 + i}")
    runtime.gosched()
    out.close()
    for s in out:
        print(s)


def pingpong():
    ping = Chan()
    pong = Chan()

    def server():
        for v in ping:
            print("ping", v)
            pong.send(v + 1)
        pong.close()

    go(server)
    v = 0
    for _ in range(5):
        ping.send(v)
        v = pong.recv()
        print("pong", v)
    ping.close()
    _, ok = pong.recv_ok()
    print("pong open", "true" if ok else "false")


def main():
    spawnOrder()
    wakeups()
    pingpong()


if __name__ == "__main__":
    chanemu.main(main)
