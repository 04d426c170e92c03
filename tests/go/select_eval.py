"""Twin of select_eval.go: every case is evaluated once, in order; nil cases never win."""
from chanemu import Chan, nilchan, recv, run, select, send

log = []


def ch(name, c):
    log.append("chan " + name)
    return c


def val(name, v):
    log.append("value " + name)
    return v


def evaluation_order():
    full = Chan(1, elemtype=int)
    full.send(0)
    room = Chan(1, elemtype=int)
    quiet = Chan(elemtype=int)
    i, _, _ = select(send(ch("full", full), val("full", 1)),
                     recv(ch("none", nilchan)),
                     send(ch("room", room), val("room", 2)),
                     recv(ch("quiet", quiet)))
    print({0: "BUG: sent to a full channel", 1: "BUG: received from nil", 2: "sent to room",
           3: "BUG: received from a channel nobody sends on"}[i])
    print("evaluated", len(log), "[" + " ".join(log) + "]")


def each_once():
    chans = [Chan(1), Chan(1), Chan(1)]
    sends = 0
    round_ = 0
    while True:
        i, _, _ = select(*(send(c, round_) for c in chans), default=True)
        if i == -1:
            print("rounds", round_, "sends", sends)
            return
        chans[i] = nilchan
        sends += 1
        round_ += 1


def main():
    evaluation_order()
    each_once()


if __name__ == "__main__":
    run(main, seed=5)
