"""Twin of makechan_bound.go: Chan(n) panics once n slots of 8 bytes would not fit in Go's
largest allocation less the channel header."""
from chanemu import Chan, Panic, run


def attempt(label, n):
    try:
        c = Chan(n)
    except Panic as e:
        print(label, "panics:", e)
        return
    print(label, "makes a channel of cap", c.cap)


def main():
    attempt("1<<45 - 13", (1 << 45) - 13)
    attempt("1<<45 - 1", (1 << 45) - 1)
    attempt("1<<45", 1 << 45)
    attempt("1<<62", 1 << 62)
    attempt("-1", -1)
    attempt("-(1<<62)", -(1 << 62))
    attempt("1000", 1000)
    attempt("0", 0)


if __name__ == "__main__":
    run(main)
