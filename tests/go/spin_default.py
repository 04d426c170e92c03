"""Twin of spin_default.go: a goroutine spinning on select with default is preempted after
10 ms, so main's sleep returns."""
from chanemu import Chan, go, recv, run, select, time


def main():
    done = Chan()
    result = Chan()

    def spinner():
        spins = 0
        while True:
            i, _, _ = select(recv(done), default=True)
            if i == 0:
                result.send(spins)
                return
            spins += 1

    go(spinner)
    start = time.now()
    time.sleep(0.02)
    print("main's sleep returned; at least 20ms:", "true" if time.since(start) >= 20 * time.Millisecond else "false")
    done.close()
    print("the spinner spun:", "true" if result.recv() > 0 else "false")


if __name__ == "__main__":
    run(main)
