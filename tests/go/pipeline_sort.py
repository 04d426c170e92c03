"""Twin of pipeline_sort.go: a pipeline that grows a stage per kept value sorts its input."""
from chanemu import Chan, go, run

VALUES = 300


def stage(in_, out):
    kept, ok = in_.recv_ok()
    if not ok:
        out.close()
        return
    down = up = None
    for v in in_:
        if v < kept:
            v, kept = kept, v
        if down is None:
            down, up = Chan(), Chan()
            go(stage, down, up)
        down.send(v)
    out.send(kept)
    if down is not None:
        down.close()
        for v in up:
            out.send(v)
    out.close()


def main():
    in_, out = Chan(), Chan()
    go(stage, in_, out)
    x = 12345
    for _ in range(VALUES):
        x = (x * 1103515245 + 12345) & 0xFFFFFFFF   # the Go program's uint32 sequence
        in_.send((x >> 16) % 1000)
    in_.close()
    prev, n, total = -1, 0, 0
    for v in out:
        if v < prev:
            raise AssertionError(f"out of order: {prev} then {v}")
        prev = v
        n += 1
        total += v
        if n % 50 == 0:
            print("value", n, "is", v)
    print("sorted", n, "values, sum", total)


if __name__ == "__main__":
    run(main)
