"""Twin of deadlock_ticker.go: a ticker nobody receives from, and a 3 s timer, keep nothing
alive (Go 1.23 timer channels)."""
from chanemu import Chan, go, run, time


def main():
    ticker = time.Ticker(0.01)
    done = Chan()

    def ranger():
        n = 0
        for _ in ticker.c:
            n += 1
            if n == 3:
                break
        print("three ticks received")
        done.send(True)

    go(ranger)
    done.recv()
    timer = time.Timer(3)
    print("nobody receives from the ticker or the timer now")
    Chan().recv()
    print("unreachable", timer)


if __name__ == "__main__":
    run(main)
