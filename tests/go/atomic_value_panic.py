"""Twin of atomic_value_panic.go."""
from chanemu import atomic, run


def main():
    v = atomic.Value()
    v.store(1)
    print("stored", v.load())
    v.store("one")
    print("unreachable")


if __name__ == "__main__":
    run(main)
