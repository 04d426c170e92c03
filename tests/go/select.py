"""Twin of select.go (port of go/test/chan/select.go)."""
import chanemu
from chanemu import Chan, nilchan, select, send

counter = 0
shift = 0


def GetValue():
    global counter
    counter += 1
    return 1 << shift


def Send(a, b):
    global shift
    i = 0
    while True:
        # Go evaluates every case's channel and value before choosing.
        idx, _, _ = select(send(a, GetValue()), send(b, GetValue()), default=True)
        if idx == 0:
            i += 1
            a = nilchan
        elif idx == 1:
            i += 1
            b = nilchan
        else:
            break
        shift += 1
    return i


def main():
    a = Chan(1)
    b = Chan(1)
    print("sent", Send(a, b))
    av, bv = a.recv(), b.recv()
    print("values", av | bv)
    print("sent", Send(a, nilchan))
    print("counter", counter)


if __name__ == "__main__":
    chanemu.main(main, seed=1)
