"""Twin of chandir.go: send_only() and recv_only() views of one channel, on the virtual clock."""
from chanemu import Chan, Empty, go, recv, run, select, send
from chanemu import time


def produce(out, n):
    for i in range(1, n + 1):
        out.send(i * i)
        print("produced", i * i, "len", len(out), "cap", out.cap)
    out.close()


def consume(in_, done):
    total = 0
    for v in in_:
        print("consumed", v)
        total += v
    print("sum", total)
    done.send(Empty())


def main():
    c = Chan(2)
    done = Chan(0, Empty)
    go(produce, c.send_only(), 5)
    go(consume, c.recv_only(), done.send_only())
    done.recv()

    a = Chan(1)
    ra, sa = a.recv_only(), a.send_only()
    for _ in range(2):
        i, _, _ = select(send(sa, "x"), default=True)
        if i == 0:
            print("sent x", len(ra))
        else:
            print("full", len(sa), ra.cap)
    i, v, ok = select(recv(ra), recv(time.after(200 * time.Millisecond)))
    print("received", v, str(ok).lower()) if i == 0 else print("timeout")
    i, v, _ = select(recv(ra), recv(time.after(200 * time.Millisecond)))
    print("BUG", v) if i == 0 else print("timeout: nothing left")
    i, _, _ = select(recv(time.tick(0)), default=True)     # time.Tick(0) is a nil <-chan
    print("BUG: nil ready") if i == 0 else print("a nil receive-only channel is never ready")
    tick = time.tick(200 * time.Millisecond)
    for i in range(2):
        tick.recv()
        print("tick", i)


if __name__ == "__main__":
    run(main, clock="virtual")
