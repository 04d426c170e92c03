"""Twin of select7.go (port of go/test/chan/select7.go)."""
import chanemu
from chanemu import Chan, go, recv, runtime, select, send


def recv1(c):
    print("recv1", c.recv())


def recv2(c):
    _, v, _ = select(recv(c))
    print("recv2", v)


def recv3(c):
    c2 = Chan()
    i, v, _ = select(recv(c), recv(c2))
    if i == 0:
        print("recv3", v)


def send1(r):
    c = Chan()
    go(r, c)
    runtime.gosched()
    c.send(1)
    print("send1 done")


def send2(r):
    c = Chan()
    go(r, c)
    runtime.gosched()
    select(send(c, 2))
    print("send2 done")


def send3(r):
    c = Chan()
    go(r, c)
    runtime.gosched()
    c2 = Chan()
    select(send(c, 3), send(c2, 1))
    print("send3 done")


def main():
    for r in (recv1, recv2, recv3):
        send1(r)
        send2(r)
        send3(r)
    runtime.gosched()


if __name__ == "__main__":
    chanemu.main(main, seed=1)
