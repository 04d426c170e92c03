"""Twin of deadlock_main_recv.go."""
import chanemu
from chanemu import Chan, go


def main():
    c = Chan()
    done = Chan()

    def worker():
        print("worker ran")
        done.send(True)

    go(worker)
    done.recv()
    print("main waits")
    c.recv()


if __name__ == "__main__":
    chanemu.main(main)
