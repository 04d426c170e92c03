"""Twin of fifo.go (port of go/test/chan/fifo.go)."""
import chanemu
from chanemu import Chan, go

N = 10


def AsynchFifo():
    ch = Chan(N)
    for i in range(N):
        ch.send(i)
    for i in range(N):
        v = ch.recv()
        print("async", i, v)


def Chain(ch, val, in_, out):
    in_.recv()
    v = ch.recv()
    print("chain", val, "got", v)
    if v != val:
        raise AssertionError(val)
    out.send(1)


def SynchFifo():
    ch = Chan()
    in_ = Chan()
    start = in_
    for i in range(N):
        out = Chan()
        go(Chain, ch, i, in_, out)
        in_ = out
    start.send(0)
    for i in range(N):
        ch.send(i)
        print("sent", i)
    in_.recv()
    print("done")


def main():
    AsynchFifo()
    SynchFifo()


if __name__ == "__main__":
    chanemu.main(main)
