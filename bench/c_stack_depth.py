"""How much C stack a recursion to CPython's recursion limit needs, per pattern and version: the
figure behind the default goroutine stack size in src_c/stack.c.

For each Python given on the command line (default: this one) and each way of recursing, finds
by bisection the smallest thread stack (threading.stack_size) on which the recursion runs until
RecursionError instead of crashing. Each try runs in a fresh subprocess (a too-small stack ends
it with SIGSEGV). The figure includes the thread's own start-up frames (the "plain" row: pure
Python recursion, which 3.11+ runs without C recursion).

    python bench/c_stack_depth.py ~/.pyenv/versions/3.1[123]*/bin/python3
"""
import subprocess
import sys

CHILD = r'''
import sys, threading
pattern, size = sys.argv[1], int(sys.argv[2])

def plain(n):
    return plain(n + 1)

def through_map(n):
    return list(map(through_map, [n + 1]))

def through_sorted_key(n):
    return sorted([n + 1], key=through_sorted_key)

class Node:
    def __init__(self, n):
        Node(n + 1)

def through_init(n):
    Node(n)

class Shown:
    def __repr__(self):
        return repr(Shown())

def through_repr(n):
    repr(Shown())

body = globals()[pattern]
ended = []

def run():
    try:
        body(0)
    except RecursionError:
        ended.append(True)

threading.stack_size(size)
t = threading.Thread(target=run)
t.start()
t.join()
sys.exit(0 if ended else 3)
'''

PATTERNS = ("plain", "through_map", "through_init", "through_repr", "through_sorted_key")
LOW, HIGH, STEP = 32 << 10, 64 << 20, 8 << 10


def recursion_fits(python, pattern, size):
    run = subprocess.run([python, "-c", CHILD, pattern, str(size)], capture_output=True,
                         timeout=120)
    return run.returncode == 0


def smallest_stack(python, pattern):
    """Bytes, or None if even HIGH crashes."""
    lo, hi = LOW, HIGH
    if not recursion_fits(python, pattern, hi):
        return None
    while hi - lo > STEP:
        mid = (lo + hi) // 2 // 4096 * 4096
        if recursion_fits(python, pattern, mid):
            hi = mid
        else:
            lo = mid
    return hi


def version(python):
    out = subprocess.run([python, "-c", "import sys; print(sys.version.split()[0])"],
                         capture_output=True, text=True, timeout=60)
    return out.stdout.strip()


def main(pythons):
    print(f"{'python':<8} {'pattern':<20} {'C stack to reach the limit':>28}")
    for python in pythons:
        v = version(python)
        for pattern in PATTERNS:
            got = smallest_stack(python, pattern)
            shown = f"> {HIGH >> 20} MiB" if got is None else f"{got >> 10} KiB"
            print(f"{v:<8} {pattern:<20} {shown:>28}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or [sys.executable])
