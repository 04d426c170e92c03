"""Twin of close_wakes.go: who close wakes, and in which order they run."""
import chanemu
from chanemu import Chan, Panic, go, recv, runtime, select


def b(x):
    return "true" if x else "false"


def receivers():
    c = Chan(elemtype=int)
    done = Chan(10)

    def r(i):
        v, ok = c.recv_ok()
        print("receiver", i, v, b(ok))
        done.send(i)

    for i in range(5):
        go(r, i)
    runtime.gosched()
    c.close()
    print("closed")
    for _ in range(5):
        done.recv()


def senders():
    c = Chan()
    done = Chan(10)

    def s(i):
        err = None
        try:
            c.send(i)
        except Panic as e:
            err = e
        finally:
            print("sender", i, "recovered:", "<nil>" if err is None else err)
            done.send(i)

    for i in range(4):
        go(s, i)
    runtime.gosched()
    print("received", c.recv())
    c.close()
    print("closed")
    for _ in range(3):
        done.recv()


def selects():
    a = Chan(elemtype=int)
    bb = Chan(elemtype=int)
    done = Chan()

    def sel(i):
        k, v, ok = select(recv(a), recv(bb))
        print("select", i, "ab"[k], v, b(ok))
        done.send(True)

    for i in range(3):
        go(sel, i)
    runtime.gosched()
    bb.send(7)
    print("sent 7 on b")
    a.close()
    print("closed a")
    for _ in range(3):
        done.recv()


def buffered():
    c = Chan(3, elemtype=int)
    c.send(1)
    c.send(2)
    c.close()
    for _ in range(4):
        v, ok = c.recv_ok()
        print("buffered", v, b(ok), len(c), c.cap)
    for v in c:
        print("range got", v)
    print("range over closed channel ends")


def main():
    receivers()
    senders()
    selects()
    buffered()


if __name__ == "__main__":
    chanemu.main(main, seed=1)
