"""Twin of empty_chan.go: Chan(n, Empty) for struct{} channels."""
from chanemu import Chan, Empty, go, recv, run, select


def worker(id_, jobs, quit_, done):
    while True:
        i, j, _ = select(recv(jobs), recv(quit_))
        if i == 0:
            print("worker", id_, "job", j)
        else:
            print("worker", id_, "quits")
            done.send(Empty())
            return


def main():
    sem = Chan(1 << 50, Empty)
    for _ in range(3):
        sem.send(Empty())
    print("len", len(sem), "cap", sem.cap)
    v, ok = sem.recv_ok()
    print("got", v, str(ok).lower(), "len", len(sem))

    huge = Chan(1 << 62, Empty)
    huge.send(Empty())
    huge.close()
    for v in huge:
        print("drained", v)
    v, ok = huge.recv_ok()
    print("closed gives", v, str(ok).lower())

    jobs = Chan()
    quit_ = Chan(0, Empty)
    done = Chan(0, Empty)
    go(worker, 1, jobs.recv_only(), quit_.recv_only(), done.send_only())
    go(worker, 2, jobs.recv_only(), quit_.recv_only(), done.send_only())
    for j in range(4):
        jobs.send(j)
    quit_.close()
    done.recv()
    done.recv()
    print("all done")


if __name__ == "__main__":
    run(main)
