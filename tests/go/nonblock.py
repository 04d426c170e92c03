"""Twin of nonblock.go (after go/test/chan/nonblock.go)."""
import chanemu
from chanemu import Chan, go, recv, runtime, select, send


def receiver(c, strobe):
    if c.recv() != 123:
        raise AssertionError("value")
    strobe.send(True)


def sender(c, strobe):
    c.send(234)
    strobe.send(True)


def main():
    for buffer in range(2):
        c = Chan(buffer)
        strobe = Chan()
        if c.try_recv() is not None:
            raise AssertionError("BUG: receive on empty channel")
        print(buffer, "receive would block")
        go(receiver, c, strobe)
        tries = 0
        while select(send(c, 123), default=True)[0] == -1:
            tries += 1
            runtime.gosched()
        strobe.recv()
        print(buffer, "send succeeded after", tries, "yields")

        go(sender, c, strobe)
        tries = 0
        while True:
            k, v, _ = select(recv(c), default=True)
            if k == 0:
                print(buffer, "received", v)
                break
            tries += 1
            runtime.gosched()
        strobe.recv()
        print(buffer, "receive succeeded after", tries, "yields")

        if buffer > 0:
            c.send(1)
            if c.try_send(2):
                raise AssertionError("BUG: send on full channel")
            print(buffer, "send on full would block")
            print(buffer, "drained", c.recv())


if __name__ == "__main__":
    chanemu.main(main)
