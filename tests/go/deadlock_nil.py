"""Twin of deadlock_nil.go."""
from chanemu import go, nilchan, recv, run, select, send


def main():
    go(lambda: nilchan.send(1))
    go(nilchan.recv)
    go(lambda: select(recv(nilchan), send(nilchan, 1)))
    print("main blocks forever")
    select()


if __name__ == "__main__":
    run(main)
