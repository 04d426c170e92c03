"""Twin of panics.go: Go's channel panics and their messages."""
import chanemu
from chanemu import Chan, Panic, go, nilchan, recv, runtime, select, send


def b(x):
    return "true" if x else "false"


def attempt(name, f):
    try:
        f()
    except Panic as e:
        print(name, "->", e)
    else:
        print(name, "->", "<nil>")


def main():
    c = Chan(1, elemtype=int)
    attempt("close nil", nilchan.close)
    attempt("close", c.close)
    attempt("close closed", c.close)
    attempt("send closed", lambda: c.send(1))

    def nb():
        if select(send(c, 1), default=True)[0] == -1:
            print("BUG: default")
    attempt("nonblocking send closed", nb)

    def sel():
        d = Chan()
        select(send(c, 1), recv(d))
    attempt("select send closed", sel)

    def rc():
        v, ok = c.recv_ok()
        print("got", v, b(ok))
    attempt("receive closed", rc)

    u = Chan()
    done = Chan()

    def s1():
        attempt("blocked sender", lambda: u.send(1))
        done.send(True)

    def s2():
        def f():
            other = Chan()
            select(send(u, 2), recv(other))
        attempt("blocked select sender", f)
        done.send(True)

    go(s1)
    go(s2)
    runtime.gosched()
    u.close()
    done.recv()
    done.recv()

    def both():
        x = Chan()
        x.close()
        for _ in range(20):
            select(recv(x), send(x, 1))
        print("BUG: 20 receives in a row")
    attempt("select recv and send closed", both)


if __name__ == "__main__":
    chanemu.main(main, seed=1)
