"""Twin of errgroup.go: chanemu.errgroup."""
from chanemu import Chan, Empty, context, errgroup, go, recv, run, select


def go_str(v):
    return "<nil>" if v is None else str(v)


def main():
    g, ctx = errgroup.with_context(context.background())
    results = [""] * 5

    def task(i):
        if i == 2:
            print("task", i, "fails")
            raise RuntimeError("task 2 failed")
        k, _, _ = select(recv(ctx.done()), default=True)
        results[i] = "canceled" if k == 0 else "ran"
        print("task", i, results[i])

    for i in range(5):
        g.go(task, i)
    err = g.wait()
    print("wait:", go_str(err), "| ctx:", go_str(ctx.err()), "| cause:",
          go_str(context.cause(ctx)))
    print("[" + " ".join(results) + "]")

    g2, ctx2 = errgroup.with_context(context.background())
    g2.set_limit(2)
    release = Chan(0, Empty)
    active = peak = 0

    def work():
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        release.recv()
        active -= 1

    print("try", *(str(g2.try_go(work)).lower() for _ in range(3)))

    def releaser():
        for _ in range(4):
            release.send(Empty())
    go(releaser)
    g2.go(work)
    g2.go(work)
    print("wait:", go_str(g2.wait()), "peak", peak, "| ctx:", go_str(ctx2.err()), "| cause:",
          go_str(context.cause(ctx2)))


if __name__ == "__main__":
    run(main)
