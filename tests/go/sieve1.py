"""Twin of sieve1.go (port of go/test/chan/sieve1.go)."""
import chanemu
from chanemu import Chan, go


def Generate(ch):
    i = 2
    while True:
        ch.send(i)
        i += 1


def Filter(in_, out, prime):
    for i in in_:
        if i % prime != 0:
            out.send(i)


def Sieve(primes):
    ch = Chan()
    go(Generate, ch)
    while True:
        prime = ch.recv()
        primes.send(prime)
        ch1 = Chan()
        go(Filter, ch, ch1, prime)
        ch = ch1


def main():
    primes = Chan()
    go(Sieve, primes)
    for _ in range(60):
        print(primes.recv())


if __name__ == "__main__":
    chanemu.main(main)
