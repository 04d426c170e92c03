"""Twin of gosched_sleeper.go: gosched runs due timers when nothing else is runnable."""
from chanemu import go, run, runtime, time


def main():
    woke = [False]

    def sleeper():
        time.sleep(0.01)
        print("sleeper woke")
        woke[0] = True

    go(sleeper)
    start = time.now()
    yields = 0
    while not woke[0]:
        runtime.gosched()
        yields += 1
    d = time.since(start)
    print("main saw it after yielding:", "true" if yields > 0 else "false")
    print("at least 10ms:", "true" if d >= 10 * time.Millisecond else "false",
          "and well under a second:", "true" if d < time.Second else "false")


if __name__ == "__main__":
    run(main)
