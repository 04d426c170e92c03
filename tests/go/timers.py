"""Twin of timers.go, on the virtual clock."""
import chanemu
from chanemu import Chan, go, recv, select
from chanemu import time

unit = 0.2


def main():
    done = Chan()

    def sleeper(d):
        time.sleep(d * unit)
        done.send(f"slept {d}")

    for d in (3, 1, 2):
        go(sleeper, d)
    for _ in range(3):
        print(done.recv())

    work = Chan()
    start = Chan()

    def worker():
        start.recv()
        work.send(1)

    go(worker)
    k, v, _ = select(recv(work), recv(time.after(unit / 4)))
    print("BUG: work", v) if k == 0 else print("timeout: the worker waits for start")
    start.send(True)
    k, v, _ = select(recv(work), recv(time.after(10 * unit)))
    print("work", v) if k == 0 else print("BUG: timeout")

    t = time.Timer(unit)
    print("stopped", "true" if t.stop() else "false")
    k, _, _ = select(recv(t.c), recv(time.after(2 * unit)))
    print("BUG: stopped timer fired") if k == 0 else print("stopped timer stayed silent")


if __name__ == "__main__":
    chanemu.main(main, clock="virtual")
