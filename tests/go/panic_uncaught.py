"""Twin of panic_uncaught.go."""
import chanemu
from chanemu import Chan, go, runtime


def main():
    c = Chan()

    def sender():
        print("sender blocks")
        c.send(1)
        print("BUG: not reached")

    go(sender)
    runtime.gosched()
    print("main closes")
    c.close()
    runtime.gosched()
    print("BUG: main goes on")


if __name__ == "__main__":
    chanemu.main(main)
