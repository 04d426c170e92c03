"""Twin of deadlock_range.go."""
import chanemu
from chanemu import Chan, go


def main():
    c = Chan(2)

    def producer(p):
        for i in range(2):
            c.send(p * 10 + i)

    for p in range(3):
        go(producer, p)
    n = 0
    for v in c:
        print("got", v)
        n += 1
    print("BUG: range ended after", n)


if __name__ == "__main__":
    chanemu.main(main)
