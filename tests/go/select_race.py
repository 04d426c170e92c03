"""Twin of select_race.go: random choices compounded with scheduling."""
from collections import Counter

import chanemu
from chanemu import Chan, go, recv, select, send

N = 2000


def trial():
    a, b = Chan(1), Chan(1)
    done = Chan()
    started = Chan()

    def producer(c):
        c.send(0)
        started.send(True)
        c.send(1)
        done.send(True)

    go(producer, a)
    go(producer, b)
    started.recv()
    started.recv()
    s = ""
    for _ in range(4):
        k, v, _ = select(recv(a), recv(b))
        s += f"{'ab'[k]}{v}"
    done.recv()
    done.recv()
    return s


def race():
    x, y = Chan(), Chan()
    out = Chan(4)

    def sender(name):
        select(send(x, name + "x"), send(y, name + "y"))

    def receiver():
        _, v, _ = select(recv(x), recv(y))
        out.send(v)

    for name in ("S", "T"):
        go(sender, name)
    for _ in range(2):
        go(receiver)
    return out.recv() + out.recv()


def main():
    counts = Counter(trial() for _ in range(N))
    for k in ("a0a1b0b1", "a0b0a1b1", "a0b0b1a1", "b0a0a1b1", "b0a0b1a1", "b0b1a0a1"):
        print("~ order", k, counts.pop(k, 0))
    for k, n in counts.items():
        print("~ order", k, n)
    rc = Counter(race() for _ in range(N))
    for k in ("SxTx", "SxTy", "SyTx", "SyTy", "TxSx", "TxSy", "TySx", "TySy"):
        if rc.get(k, 0) > 0:
            print("~ race", k, rc[k])
        rc.pop(k, None)
    for k, n in rc.items():
        print("~ race", k, n)


if __name__ == "__main__":
    chanemu.main(main, seed=11)
