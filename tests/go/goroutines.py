"""Twin of goroutines.go (port of go/test/chan/goroutines.go)."""
import chanemu
from chanemu import Chan, go, runtime


def f(left, right):
    left.send(right.recv())


def main():
    n = 10000
    leftmost = Chan()
    right = leftmost
    left = leftmost
    for _ in range(n):
        right = Chan()
        go(f, left, right)
        left = right
    runtime.gosched()
    print("goroutines", "true" if runtime.num_goroutine() >= n + 1 else "false")
    go(lambda c: c.send(1), right)
    print("got", leftmost.recv())


if __name__ == "__main__":
    chanemu.main(main)
