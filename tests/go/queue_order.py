"""Twin of queue_order.go: channels are first in, first out (ring, parked receivers, parked senders)."""
from chanemu import Chan, go, run, runtime


def go_list(xs):
    """Go's %v of an []int."""
    return "[" + " ".join(str(x) for x in xs) + "]"


def ring_wraps():
    c = Chan(5)
    nxt = want = 0
    for put, take in ((5, 3), (3, 4), (4, 2), (2, 5)):
        for _ in range(put):
            c.send(nxt)
            nxt += 1
        got = []
        for _ in range(take):
            v = c.recv()
            if v != want:
                raise AssertionError("ring out of order")
            want += 1
            got.append(v)
        print("ring put", put, "took", go_list(got), "left", len(c))


def receivers_in_line(k):
    c = Chan()
    got = Chan(k)
    for ident in range(k):
        go(lambda ident=ident: got.send((ident, c.recv())))
        runtime.gosched()
    for i in range(k):
        c.send(10 + i)
    by_id = [0] * k
    for _ in range(k):
        ident, v = got.recv()
        by_id[ident] = v
    print("receivers got", go_list(by_id))


def senders_in_line(k):
    c = Chan(1)
    c.send(-1)
    for ident in range(k):
        go(lambda ident=ident: c.send(100 + ident))
        runtime.gosched()
    print("drained", go_list([c.recv() for _ in range(k + 1)]))


def main():
    ring_wraps()
    receivers_in_line(6)
    senders_in_line(6)


if __name__ == "__main__":
    run(main)
