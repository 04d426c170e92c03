"""Twin of panic_close_nil.go."""
from chanemu import Chan, nilchan, run


def main():
    d = Chan(1)
    d.send(1)
    print("closing nil", d.recv())
    nilchan.close()


if __name__ == "__main__":
    run(main)
