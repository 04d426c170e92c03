"""Twin of select_fair.go: select's uniform choice among ready cases."""
import chanemu
from chanemu import Chan, nilchan, recv, select, send

N = 3000


def main():
    a, b, c = Chan(1), Chan(1), Chan(1)
    counts = [0, 0, 0]
    cases = (recv(a), recv(b), recv(c))
    for _ in range(N):
        a.send(0)
        b.send(1)
        c.send(2)
        k, v, _ = select(*cases)
        counts[k] += 1
        for i, ch in enumerate((a, b, c)):
            if i != k:
                ch.recv()
    for k, n in enumerate(counts):
        print("~ three", k, n)

    sr = [0, 0]
    for _ in range(N):
        a.send(1)
        k, _, _ = select(send(b, 1), recv(a))
        sr[k] += 1
        if k == 0:
            b.recv()
            a.recv()
    print("~ sendrecv send", sr[0])
    print("~ sendrecv recv", sr[1])

    dup = [0, 0, 0]
    for _ in range(N):
        a.send(1)
        b.send(1)
        k, _, _ = select(recv(a), recv(a), recv(b))
        dup[k] += 1
        (b if k < 2 else a).recv()
    for k, n in enumerate(dup):
        print("~ duplicate", k, n)

    d = [0, 0, 0]
    for _ in range(N):
        a.send(1)
        k, _, _ = select(recv(a), send(b, 1), default=True)
        d[k] += 1          # k == -1 counts in d[2]
        if k == 1:
            b.recv()
            a.recv()
    print("~ default a", d[0])
    print("~ default b", d[1])
    print("default chosen:", d[2])

    closed = Chan(elemtype=int)
    closed.close()
    cl = [0, 0, 0]
    for _ in range(N):
        a.send(1)
        k, v, ok = select(recv(nilchan), recv(closed), recv(a), send(nilchan, 1))
        if k == 1:
            if v != 0 or ok:
                raise AssertionError("closed")
            cl[0] += 1
            a.recv()
        elif k == 2:
            cl[1] += 1
        else:
            cl[2] += 1
    print("~ closed closed", cl[0])
    print("~ closed ready", cl[1])
    print("nil chosen:", cl[2])


if __name__ == "__main__":
    chanemu.main(main, seed=7)
