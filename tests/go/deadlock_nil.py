"""Twin of deadlock_nil.go."""
import chanemu
from chanemu import go, nilchan, recv, select, send


def main():
    go(lambda: nilchan.send(1))
    go(nilchan.recv)
    go(lambda: select(recv(nilchan), send(nilchan, 1)))
    print("main blocks forever")
    select()


if __name__ == "__main__":
    chanemu.main(main)
