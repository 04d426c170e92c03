"""Twin of deadlock_cycle.go."""
import chanemu
from chanemu import Chan, go, recv, select, send


def main():
    a, b, c = Chan(), Chan(), Chan(1)
    done = Chan()

    def g1():
        a.recv()
        b.send(1)
        done.send(True)

    def g2():
        b.recv()
        a.send(1)
        done.send(True)

    def g3():
        c.send(1)
        select(send(c, 2), recv(a))
        done.send(True)

    def g4():
        c.send(3)
        c.send(4)
        done.send(True)

    for g in (g1, g2, g3, g4):
        go(g)
    print("main waits for four goroutines")
    done.recv()


if __name__ == "__main__":
    chanemu.main(main, seed=1)
