"""Twin of try_ops.go: non-blocking operations fail exactly when the blocking form would park."""
from chanemu import Chan, Panic, go, nilchan, recv, run, runtime, select, send


def go_bool(b):
    return "true" if b else "false"


def try_send(c, v):
    return go_bool(select(send(c, v), default=True)[0] == 0)


def try_recv(c):
    i, v, ok = select(recv(c), default=True)
    if i == -1:
        return 0, "false", "false"
    return v, go_bool(ok), "true"


def lonely_unbuffered():
    c = Chan(elemtype=int)
    v, ok, done = try_recv(c)
    print("alone: send", try_send(c, 1), "recv", v, ok, done)


def parked_partners():
    c = Chan(elemtype=int)
    got = Chan(1)
    go(lambda: got.send(c.recv()))
    runtime.gosched()           # the receiver parks on c
    print("parked receiver: send", try_send(c, 7), "it got", got.recv())
    go(lambda: c.send(8))
    runtime.gosched()           # the sender parks on c
    v, ok, done = try_recv(c)
    print("parked sender: recv", v, ok, done)


def buffered():
    c = Chan(2, elemtype=int)
    print("buffer of 2: sends", try_send(c, 1), try_send(c, 2), try_send(c, 3))
    for i in range(3):
        v, ok, done = try_recv(c)
        print("buffer of 2: recv", i, v, ok, done)


def closed():
    c = Chan(1, elemtype=int)
    c.send(9)
    c.close()
    for i in range(2):
        v, ok, done = try_recv(c)
        print("closed: recv", i, v, ok, done)
    try:
        try_send(c, 10)
    except Panic as e:
        print("closed: send recovered", e)


def nil_channel():
    v, ok, done = try_recv(nilchan)
    print("nil: send", try_send(nilchan, 1), "recv", v, ok, done)


def main():
    lonely_unbuffered()
    parked_partners()
    buffered()
    closed()
    nil_channel()


if __name__ == "__main__":
    run(main)
