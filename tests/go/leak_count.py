"""Twin of leak_count.go."""
import chanemu
from chanemu import Chan, go, runtime


def request(i):
    c = Chan()
    go(lambda: c.send(i * i))
    if i % 3 == 0:
        return -1
    return c.recv()


def fixed(i):
    c = Chan(1)
    go(lambda: c.send(i * i))
    if i % 3 == 0:
        return -1
    return c.recv()


def main():
    base = runtime.num_goroutine()
    for i in range(30):
        request(i)
    runtime.gosched()
    print("leaked", runtime.num_goroutine() - base)
    for i in range(30):
        fixed(i)
    runtime.gosched()
    print("after fixed", runtime.num_goroutine() - base)
    print("sum", request(4) + request(5))


if __name__ == "__main__":
    chanemu.main(main)
