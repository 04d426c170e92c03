"""Twin of goexit_deadlock.go."""
import chanemu
from chanemu import Chan, go, runtime


def main():
    c = Chan(3)
    for i in range(3):
        c.send(i)

    def worker():
        for _ in range(3):
            print("drained", c.recv())
        print("worker ends")

    go(worker)
    try:
        runtime.goexit()
    finally:
        print("main's deferred call runs")


if __name__ == "__main__":
    chanemu.main(main)
