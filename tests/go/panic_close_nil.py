"""Twin of panic_close_nil.go."""
import chanemu
from chanemu import Chan, nilchan


def main():
    d = Chan(1)
    d.send(1)
    print("closing nil", d.recv())
    nilchan.close()


if __name__ == "__main__":
    chanemu.main(main)
