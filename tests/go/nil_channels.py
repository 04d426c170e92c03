"""Twin of nil_channels.go."""
import chanemu
from chanemu import Chan, go, nilchan, recv, select, send


def main():
    print("len", len(nilchan), "cap", nilchan.cap)
    i, _, _ = select(send(nilchan, 1), default=True)
    print("BUG: sent on nil") if i == 0 else print("send on nil would block")
    i, v, _ = select(recv(nilchan), default=True)
    print("BUG: received", v) if i == 0 else print("receive on nil would block")
    ready = Chan(1)
    for i in range(5):
        ready.send(i)
        k, v, _ = select(recv(nilchan), send(nilchan, i), recv(ready))
        if k == 2:
            print("only the ready case:", v)
        else:
            print("BUG: nil case chosen")
    started = Chan()

    def s():
        started.send(True)
        nilchan.send(1)
        print("BUG")

    def r():
        started.send(True)
        nilchan.recv()
        print("BUG")

    def blk():
        started.send(True)
        select()
        print("BUG")

    go(s)
    go(r)
    go(blk)
    for _ in range(3):
        started.recv()
    c = Chan()
    go(lambda: c.send(42))
    k, v, _ = select(recv(nilchan), recv(c))
    print("late case:", v) if k == 1 else print("BUG")
    print("main returns with goroutines parked on nil")


if __name__ == "__main__":
    chanemu.main(main, seed=1)
