"""Twin of syncmap_pool.go: chanemu.sync.Map and Pool."""
from chanemu import run
from chanemu.sync import Map, Pool


def go_str(v):
    """fmt's %v of the values printed here."""
    if v is None:
        return "<nil>"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, list):
        return "[" + " ".join(go_str(x) for x in v) + "]"
    return str(v)


def say(*vals):
    print(*(go_str(v) for v in vals))


def main():
    m = Map()
    say(*m.load("a"))
    say(*m.load_or_store("a", 1))
    say(*m.load_or_store("a", 2))
    say(*m.swap("a", 3))
    say(*m.swap("b", 4))
    say(m.compare_and_swap("a", 3.0, 5), m.compare_and_swap("a", 3, 5),
        m.compare_and_swap("zz", None, 1))
    say(m.compare_and_delete("a", 4), m.compare_and_delete("a", 5),
        m.compare_and_delete("zz", None))
    m.store("c", 6)
    say(*m.load_and_delete("c"))
    say(*m.load_and_delete("c"))
    m.delete("nothing")
    for k in "xyz":
        m.store(k, k + k)
    keys = []
    m.range(lambda k, v: keys.append(f"{k}={v}") or True)
    say(sorted(keys))
    n = 0

    def count(k, v):
        nonlocal n
        n += 1
        return n < 2
    m.range(count)
    say("stopped after", n)
    m.clear()
    say(*m.load("b"))

    made = 0

    def new():
        nonlocal made
        made += 1
        return f"new{made}"
    p = Pool(new=new)
    p.put("a")
    p.put("b")
    p.put("c")
    say(p.get(), p.get(), p.get(), p.get(), p.get())
    say(Pool().get() is None)


if __name__ == "__main__":
    run(main)
