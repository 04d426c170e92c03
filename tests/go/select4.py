"""Twin of select4.go (ports of go/test/chan/select4.go, select6.go and select8.go)."""
import chanemu
from chanemu import Chan, go, recv, select, send


def select4():
    c = Chan(1)
    c1 = Chan()
    c.send(42)
    i, v, _ = select(recv(c1), recv(c))
    if i == 0:
        print("BUG: c1", v)
    else:
        print("select4 got", v)


def select6():
    c1, c2, c3 = Chan(), Chan(), Chan()

    def first():
        c1.recv()
        print("select6: first reader of c1")

    def second():
        i, _, _ = select(recv(c1), recv(c2))
        if i == 0:
            raise AssertionError("dummy")
        print("select6: c2 won")
        c3.send(True)
        c1.recv()
        print("select6: second reader of c1")

    go(first)
    go(second)
    go(lambda: c2.send(True))
    c3.recv()
    c1.send(True)
    c1.send(True)
    print("select6 done")


def select8():
    ch = Chan(elemtype=int)

    def sender():
        while True:
            ch.send(5)

    go(sender)
    _, v, _ = select(recv(ch))
    print("select8 a", v)
    select(default=True)
    print("select8 b default")
    i, v, _ = select(recv(ch), default=True)
    print("select8 c", v) if i == 0 else print("select8 c default")
    i, v, _ = select(recv(ch), send(ch, 10), default=True)
    if i == 0:
        print("select8 d", v)
    elif i == 1:
        raise AssertionError("unreachable")
    else:
        print("select8 d default")


def main():
    select4()
    select6()
    select8()


if __name__ == "__main__":
    chanemu.main(main, seed=1)
