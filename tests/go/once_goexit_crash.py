"""Twin of once_goexit_crash.go: an uncaught nil panic from once_func crashes the program."""
from chanemu import Chan, go, run, runtime, sync


def main():
    def f():
        print("f runs")
        runtime.goexit()

    once = sync.once_func(f)
    done = Chan()

    def body():
        once()
        done.send(True)

    go(body)
    done.recv()
    print("main is never woken")


if __name__ == "__main__":
    run(main)
