#!/usr/bin/env python3
"""Instructions per operation of a workload, by function, with valgrind's callgrind.

    python bench/profile_callgrind.py [W2 W4 ...] [--n 10000] [--impl c|python] [--top 25]

Instruction counts are stable on a noisy machine, where wall-clock times are not. For each
workload this runs the workload's function (chanemu/_bench/workloads.py, no calibration) under
``valgrind --tool=callgrind`` twice, with n and 2n operations, and subtracts the two profiles
function by function: what is left is the cost of n operations, without interpreter start-up,
imports or the program's set-up. Divided by n, that is instructions per operation (per round trip
in W2, per item in W4). Self cost (``Ir`` spent in the function's own code, not its callees) is
summed per function over recursion levels, and per object file:

    libpython3.11      the interpreter (the Python code of the workload loop, and the C API)
    _core...so         chanemu's C twin (Cython: chansend, chanrecv, selectgo, the scheduler)
    _greenlet...so     greenlet (the stack switch, and its bookkeeping)
    libc               memcpy of stack slices, malloc, ...

Needs valgrind and callgrind_annotate on PATH. Run from the source tree (or with chanemu
installed): ``python bench/profile_callgrind.py W2 W4``.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

PROGRAM = """\
import sys
from chanemu._bench import workloads
workloads.BY_ID[sys.argv[1]][2](int(sys.argv[2]))
"""

_LINE = re.compile(r"^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.*)\s+\[(.*)\]\s*$")
_PYX = re.compile(r"__pyx_[a-z0-9]+_7chanemu_5_core_")


def _demangle(fn):
    """A readable name for a Cython function: __pyx_f_7chanemu_5_core_chansend -> chansend,
    __pyx_pw_7chanemu_5_core_4Chan_3send -> Chan.send (wrapper)."""
    m = _PYX.match(fn)
    if not m:
        return fn
    kind = fn[len("__pyx_"):].split("_", 1)[0]
    rest = fn[m.end():]
    cm = re.match(r"^(\d+)(.*)$", rest)
    if cm and len(cm.group(2)) > int(cm.group(1)):
        cls = cm.group(2)[:int(cm.group(1))]
        meth = re.sub(r"^_\d+", "", cm.group(2)[int(cm.group(1)):])
        rest = f"{cls}.{meth}"
    return rest + {"pw": " (wrapper)", "tp": " (type slot)"}.get(kind[:2], "")


def _obj(path):
    base = os.path.basename(path)
    for key, name in (("libpython", "interpreter"), ("python3", "interpreter"),
                      ("_core.", "chanemu C"), ("_greenlet", "greenlet"), ("libc.", "libc"),
                      ("libm.", "libc"), ("ld-linux", "ld.so")):
        if key in base:
            return name
    return base


def profile(n, wid, impl, workdir):
    """{(function, object): self Ir} of one run with n operations."""
    out = os.path.join(workdir, f"callgrind.{wid}.{impl}.{n}.out")
    prog = os.path.join(workdir, "program.py")
    with open(prog, "w") as f:
        f.write(PROGRAM)
    env = dict(os.environ, CHANEMU_IMPL=impl, PYTHONHASHSEED="0")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                    sys.executable, prog, wid, str(n)], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    text = subprocess.run(["callgrind_annotate", "--threshold=100", out], check=True,
                          capture_output=True, text=True).stdout
    costs = {}
    for line in text.splitlines():
        m = _LINE.match(line)
        if not m or "PROGRAM TOTALS" in line:
            continue
        where = m.group(2)
        fn = where.split(":", 1)[1] if ":" in where else where
        fn = re.sub(r"'\d+$", "", fn.strip())              # recursion levels: one function
        key = (_demangle(fn), _obj(m.group(3)))
        costs[key] = costs.get(key, 0) + int(m.group(1).replace(",", ""))
    return costs


def per_op(wid, impl, n, workdir):
    a = profile(n, wid, impl, workdir)
    b = profile(2 * n, wid, impl, workdir)
    keys = set(a) | set(b)
    return {k: (b.get(k, 0) - a.get(k, 0)) / n for k in keys}


def report(wid, impl, n, diff, top):
    total = sum(diff.values())
    lines = [f"{wid} on the {impl} twin: {total:,.0f} instructions per operation "
             f"(callgrind, runs of {n:,} and {2 * n:,} operations subtracted)", ""]
    by_obj = {}
    for (_fn, obj), v in diff.items():
        by_obj[obj] = by_obj.get(obj, 0) + v
    lines.append("  by object file:")
    for obj, v in sorted(by_obj.items(), key=lambda kv: -kv[1]):
        if abs(v) >= 0.5:
            lines.append(f"    {v:9,.0f}  {100 * v / total:5.1f}%  {obj}")
    lines += ["", f"  top {top} functions (self instructions per operation):"]
    for (fn, obj), v in sorted(diff.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"    {v:9,.0f}  {100 * v / total:5.1f}%  {fn}  [{obj}]")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("workloads", nargs="*", default=["W2", "W4"],
                   help="W1 W2 W3 W4 W6 floor (default: W2 W4)")
    p.add_argument("--n", type=int, default=10_000, help="operations in the shorter run")
    p.add_argument("--impl", choices=("c", "python"), default="c")
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--keep", metavar="DIR", help="keep the callgrind.out files in DIR")
    args = p.parse_args(argv)
    for tool in ("valgrind", "callgrind_annotate"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is not on PATH")
    workdir = args.keep or tempfile.mkdtemp(prefix="chanemu-callgrind-")
    os.makedirs(workdir, exist_ok=True)
    try:
        for wid in args.workloads:
            print(report(wid, args.impl, args.n, per_op(wid, args.impl, args.n, workdir),
                         args.top), end="\n\n", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
