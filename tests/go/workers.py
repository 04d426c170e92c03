"""Twin of workers.go: a worker pool's fan-out and fan-in."""
import chanemu
from chanemu import Chan, go


def main():
    jobs = Chan(4)
    results = Chan()
    quit = Chan()

    def worker(w):
        for j in jobs:
            print("worker", w, "takes job", j)
            results.send(f"job {j} by {w} = {j * j}")
        print("worker", w, "stops")
        quit.send(True)

    for w in range(1, 4):
        go(worker, w)

    def feeder():
        for j in range(1, 10):
            jobs.send(j)
            print("queued", j)
        jobs.close()
        print("all queued")

    go(feeder)
    for _ in range(9):
        print(results.recv())
    for _ in range(3):
        quit.recv()


if __name__ == "__main__":
    chanemu.main(main)
