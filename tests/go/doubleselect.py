"""Twin of doubleselect.go (port of go/test/chan/doubleselect.go)."""
import chanemu
from chanemu import Chan, go, select, send

iterations = 5000


def sender(n, c1, c2, c3, c4):
    try:
        for i in range(n):
            select(send(c1, i), send(c2, i), send(c3, i), send(c4, i))
    finally:
        # deferred calls run last-in first-out
        c4.close()
        c3.close()
        c2.close()
        c1.close()


def mux(out, in_, done):
    for v in in_:
        out.send(v)
    done.send(True)


def recver(in_):
    seen = set()
    total = 0
    for v in in_:
        if v in seen:
            print("got duplicate value: ", v)
            raise AssertionError("fail")
        seen.add(v)
        total += v
    print("received", len(seen), "sum", total)


def main():
    c1, c2, c3, c4 = Chan(), Chan(), Chan(), Chan()
    done = Chan()
    cmux = Chan()
    go(sender, iterations, c1, c2, c3, c4)
    for c in (c1, c2, c3, c4):
        go(mux, cmux, c, done)

    def closer():
        for _ in range(4):
            done.recv()
        cmux.close()

    go(closer)
    recver(cmux)


if __name__ == "__main__":
    chanemu.main(main, seed=1)
