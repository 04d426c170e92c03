"""Twin of select_losers.go: only ready cases win, and a losing case leaves no sudog behind."""
from chanemu import Chan, go, nilchan, recv, run, runtime, select, send


def ready_only(rounds):
    ready = Chan(1)
    idle = Chan()
    won = 0
    for i in range(rounds):
        ready.send(i)
        j, v, _ = select(recv(idle), recv(ready))
        if j == 0:
            raise AssertionError("idle case won")
        won += v == i
    print("ready case won", won, "of", rounds)


def none_left_behind():
    x, y = Chan(), Chan()
    report = Chan(3)

    def selector():
        j, v, _ = select(recv(x), recv(y))
        report.send(f"select took {'xy'[j]} {v}")

    go(selector)
    runtime.gosched()
    for name in ("first", "second"):
        go(lambda name=name: report.send(f"{name} receiver took x {x.recv()}"))
        runtime.gosched()
    y.send(1)
    x.send(2)
    x.send(3)
    for line in sorted(report.recv() for _ in range(3)):   # report order is not the point
        print(line)


def defaults():
    select(default=True)
    print("a select with only a default runs it")
    if select(send(nilchan, 1), default=True)[0] == 0:
        raise AssertionError("sent on nil")
    print("a send on nil with a default takes the default")


def main():
    ready_only(50)
    none_left_behind()
    defaults()


if __name__ == "__main__":
    run(main, seed=7)
