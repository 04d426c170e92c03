"""Twin of once_goexit.go: sync.once_func / once_value / once_values whose f calls
runtime.goexit() raise Go's nil panic on every call; f runs once."""
from chanemu import Chan, Panic, go, run, runtime, sync


def call(label, f):
    done = Chan()

    def body():
        try:
            f()
            print(label, "returned")
            print(label, "recovered:", "<nil>")
        except Panic as e:
            print(label, "recovered:", e)
        finally:
            done.send(True)

    go(body)
    done.recv()


def main():
    calls = [0]

    def f():
        calls[0] += 1
        print("f runs")
        runtime.goexit()

    once = sync.once_func(f)
    call("OnceFunc 1", once)
    call("OnceFunc 2", once)
    print("calls:", calls[0])

    def fv():
        calls[0] += 1
        runtime.goexit()
        return 7

    v = sync.once_value(fv)
    call("OnceValue 1", lambda: print("got", v()))
    call("OnceValue 2", lambda: print("got", v()))
    print("calls:", calls[0])

    def fvs():
        calls[0] += 1
        runtime.goexit()
        return 7, None

    vs = sync.once_values(fvs)
    call("OnceValues 1", lambda: print(*vs()))
    call("OnceValues 2", lambda: print(*vs()))
    print("calls:", calls[0])

    def fine_f():
        calls[0] += 1
        return 42

    fine = sync.once_value(fine_f)
    call("OnceValue that returns", lambda: print("got", fine(), fine()))
    print("calls:", calls[0])


if __name__ == "__main__":
    run(main)
