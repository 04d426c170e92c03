"""Twin of parked_kinds.go: every sender form meets every receiver form, either parked first."""
from chanemu import Chan, go, recv, run, runtime, select, send


def take_plain(c):
    return c.recv()


def take_select1(c):
    return select(recv(c))[1]


def take_select2(c):
    never = Chan()
    i, v, _ = select(recv(c), recv(never))
    if i == 1:
        raise AssertionError("never fired")
    return v


def give_plain(c, v):
    c.send(v)


def give_select1(c, v):
    select(send(c, v))


def give_select2(c, v):
    never = Chan()
    if select(send(c, v), send(never, v))[0] == 1:
        raise AssertionError("never fired")


RECEIVERS = (("plain", take_plain), ("select1", take_select1), ("select2", take_select2))
SENDERS = (("plain", give_plain), ("select1", give_select1), ("select2", give_select2))


def main():
    for r, (rname, take) in enumerate(RECEIVERS):
        for s, (sname, give) in enumerate(SENDERS):
            v = 10 * r + s
            c, got = Chan(), Chan(1)
            go(lambda take=take, c=c, got=got: got.send(take(c)))
            runtime.gosched()       # the receiver parks first
            give(c, v)
            a = got.recv()
            go(give, c, v + 100)
            runtime.gosched()       # now the sender parks first
            b = take(c)
            print(rname, "from", sname, a, b)


if __name__ == "__main__":
    run(main)
