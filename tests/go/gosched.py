"""Twin of gosched.go: where runtime.gosched() puts the caller."""
import chanemu
from chanemu import Chan, go, runtime


def yielders():
    done = Chan()

    def y(i):
        for j in range(3):
            print("yielder", i, "step", j)
            runtime.gosched()
        done.send(True)

    for i in range(3):
        go(y, i)
    runtime.gosched()
    print("main resumes")
    for _ in range(3):
        done.recv()


def nested():
    done = Chan(20)

    def a():
        done.send("a")
        go(lambda: done.send("a1"))
        go(lambda: done.send("a2"))
        done.send("a end")

    def b():
        done.send("b")
        go(lambda: done.send("b1"))
        runtime.gosched()
        done.send("b end")

    go(a)
    go(b)
    runtime.gosched()
    runtime.gosched()
    done.close()
    for s in done:
        print("nested", s)


def main():
    yielders()
    nested()


if __name__ == "__main__":
    chanemu.main(main)
