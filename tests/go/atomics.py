"""Twin of atomics.go: chanemu.atomic."""
from chanemu import atomic, go, run
from chanemu import runtime
from chanemu.sync import WaitGroup


class Config:
    def __init__(self, name):
        self.name = name


def lower(*vals):
    return [str(v).lower() if isinstance(v, bool) else v for v in vals]


def main():
    hits = atomic.Int64()
    wg = WaitGroup()

    def work():
        try:
            for i in range(100):
                hits.add(1)
                if i % 10 == 0:
                    runtime.gosched()
        finally:
            wg.done()
    for _ in range(4):
        wg.add(1)
        go(work)
    wg.wait()
    print("hits", hits.load())

    u32 = atomic.Uint32()
    print("uint32 wraps", u32.add(-1), u32.add(2))
    i32 = atomic.Int32()
    i32.store(2147483647)
    print("int32 wraps", i32.add(1))
    u64 = atomic.Uint64()
    print("uint64", u64.add(-1), u64.swap(10), u64.load())
    print("cas", *lower(u64.compare_and_swap(9, 1), u64.compare_and_swap(10, 12)), u64.load())
    print("and/or", u64.and_(6), u64.or_(1), u64.load())

    mx = atomic.Int64()
    for v in (3, 9, 4, 11, 2):
        while True:
            cur = mx.load()
            if v <= cur or mx.compare_and_swap(cur, v):
                break
    print("max", mx.load())

    b = atomic.Bool()
    print("bool", *lower(b.load(), b.swap(True), b.compare_and_swap(True, False), b.load()))

    p = atomic.Pointer()
    c1 = Config("one")
    print("pointer nil", *lower(p.load() is None, p.compare_and_swap(None, c1)), p.load().name)
    print("pointer cas other", *lower(p.compare_and_swap(Config("one"), c1)),
          p.swap(Config("two")).name, p.load().name)

    v = atomic.Value()
    print("value", *lower(v.load() is None, v.compare_and_swap(None, "a")), v.load())
    print("value", v.swap("b"), *lower(v.compare_and_swap("a", "c"), v.compare_and_swap("b", "c")),
          v.load())


if __name__ == "__main__":
    run(main)
