"""Twin of exit_parked.go."""
from chanemu import Chan, go, run, runtime, select
from chanemu import sync, time


def main():
    mu = sync.Mutex()
    cond = sync.Cond(mu)
    wg = sync.WaitGroup()
    c1, c2, c3 = Chan(), Chan(), Chan()

    def printer():
        try:
            c1.recv()
            print("printer resumed")
        finally:
            print("printer's deferred call")

    def waiter():
        mu.lock()
        try:
            cond.wait()
            print("waiter resumed")
        finally:
            mu.unlock()

    def doner():
        try:
            c2.send(1)
        finally:
            wg.done()

    def panicker():
        try:
            c3.recv()
        finally:
            raise RuntimeError("cleanup panics")

    def sleeper():
        try:
            try:
                select()
            finally:
                print("sleeper's deferred call")
        finally:
            time.sleep(1)

    go(printer)
    go(waiter)
    wg.add(1)
    go(doner)
    go(panicker)
    go(sleeper)
    for _ in range(5):
        runtime.gosched()
    print("main returns")


if __name__ == "__main__":
    run(main)
