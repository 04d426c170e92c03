"""Twin of relay_line.go: 10000 stages pass a counter along and all exit."""
from chanemu import Chan, go, run, runtime

STAGES = 10000


def stage(in_, out):
    out.send(1 + in_.recv())


def main():
    head = Chan()
    in_ = head
    for _ in range(STAGES):
        out = Chan()
        go(stage, in_, out)
        in_ = out
    runtime.gosched()           # every stage runs once and parks on its input
    print("alive before", runtime.num_goroutine())
    head.send(0)
    print("tail read", in_.recv())
    tries = 0
    while runtime.num_goroutine() > 1 and tries < 100:
        runtime.gosched()       # (Go may preempt a stage just before it returns)
        tries += 1
    print("alive after", runtime.num_goroutine())


if __name__ == "__main__":
    run(main)
