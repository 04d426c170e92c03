"""Twin of interleave.go: the exact interleaving of producers and consumers."""
import chanemu
from chanemu import Chan, go


def producer(c, n, done):
    for i in range(n):
        c.send(i)
        print("  sent", i, "len", len(c))
    c.close()
    print("  closed")
    done.send(True)


def consumer(name, c, done):
    for v in c:
        print("  ", name, "got", v)
    print("  ", name, "saw close")
    done.send(True)


def main():
    for size in range(4):
        print("cap", size)
        c = Chan(size)
        done = Chan()
        go(producer, c, 6, done)
        go(consumer, "A", c, done)
        go(consumer, "B", c, done)
        done.recv()
        done.recv()
        done.recv()
    print("two producers, one consumer, cap 1")
    c = Chan(1)
    done = Chan()

    def p(name, base):
        for i in range(4):
            c.send(base + i)
            print(f"  {name} sent", base + i)
        done.send(True)

    go(p, "P1", 10)
    go(p, "P2", 20)
    for _ in range(8):
        print("  main got", c.recv())
    done.recv()
    done.recv()


if __name__ == "__main__":
    chanemu.main(main)
