"""Twin of select_once.go: one select commits exactly one case; every value arrives once."""
from chanemu import Chan, go, nilchan, recv, run, select, send

COUNT = 4000


def produce(x, y, z):
    for v in range(COUNT):
        select(send(x, v), send(y, v), send(z, v))
    x.close()
    y.close()
    z.close()


def select_both(x, y, sink, finished):
    chans = [x, y]            # a closed channel becomes nil: its case never wins again
    while chans[0] is not nilchan or chans[1] is not nilchan:
        i, v, ok = select(recv(chans[0]), recv(chans[1]))
        if not ok:
            chans[i] = nilchan
            continue
        sink.send(v)
    finished.send("select consumer")


def range_one(z, sink, finished):
    for v in z:
        sink.send(v)
    finished.send("range consumer")


def main():
    x, y, z = Chan(), Chan(), Chan()
    sink = Chan()
    finished = Chan(2)
    go(produce, x, y, z)
    go(select_both, x, y, sink, finished)
    go(range_one, z, sink, finished)
    seen = [False] * COUNT
    distinct = total = done = 0
    while done < 2:
        i, v, _ = select(recv(sink), recv(finished))
        if i == 0:
            if seen[v]:
                raise AssertionError(f"value delivered twice: {v}")
            seen[v] = True
            distinct += 1
            total += v
        else:
            done += 1
    print("distinct", distinct, "of", COUNT, "sum", total, "want", COUNT * (COUNT - 1) // 2)


if __name__ == "__main__":
    run(main, seed=3)
