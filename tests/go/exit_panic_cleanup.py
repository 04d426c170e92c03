"""Twin of exit_panic_cleanup.go."""
from chanemu import Chan, Panic, go, run, runtime


def main():
    c = Chan()

    def parked():
        try:
            c.recv()
        finally:
            print("parked goroutine's deferred call")

    def panicking():
        try:
            runtime.gosched()
            raise Panic("boom")
        finally:
            print("panicking goroutine's deferred call")

    go(parked)
    go(panicking)
    try:
        runtime.gosched()
        print("main parks")
        c.recv()
    finally:
        print("main's deferred call")


if __name__ == "__main__":
    run(main)
