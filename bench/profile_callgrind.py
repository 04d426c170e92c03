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

The profile is read straight from callgrind's output file, every cost line of it: code inlined
from another source file (a header's inline function, say) counts under the function it was
inlined into, and the per-function costs add up to the program's total. (Reading
``callgrind_annotate``'s listing instead loses every line that does not repeat its object file.)

Needs valgrind on PATH. Run from the source tree (or with chanemu installed):
``python bench/profile_callgrind.py W2 W4``.
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

_NAME_ID = re.compile(r"\((\d+)\)(?: (.*))?$")
# Name lines of the callgrind format, and the table each one's compressed "(id)" names live in:
# the object and the function in effect (ob=, fn=), and a call's target (cob=, cfn=).
_NAMED = {"ob": "ob", "cob": "ob", "fn": "fn", "cfn": "fn"}
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
    elif cm:                  # a module-level def: Cython numbers it (23select -> select)
        rest = cm.group(2)
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
    costs = {}
    for (fn, obj), ir in self_costs(out).items():
        fn = re.sub(r"'\d+$", "", fn or "???")            # recursion levels: one function
        key = (_demangle(fn), _obj(obj or "???"))
        costs[key] = costs.get(key, 0) + ir
    return costs


def self_costs(path):
    """{(function, object file): self Ir} of a callgrind.out file. Every cost line counts under
    the function in effect (so inlined code, fi=/fe=, counts where it was inlined); the line after
    a calls= line is the call's inclusive cost, which belongs to the callee, and is skipped."""
    names = {"ob": {}, "fn": {}}
    cur = {"ob": None, "fn": None}
    costs = {}
    call_cost_next = False
    with open(path) as f:
        for line in f:
            if call_cost_next:
                call_cost_next = False
                continue
            if line[:1].isdigit() or line[:1] in "+-*":        # "<position> <Ir>"
                parts = line.split()
                if len(parts) > 1:
                    key = (cur["fn"], cur["ob"])
                    costs[key] = costs.get(key, 0) + int(parts[1])
            elif line.startswith("calls="):
                call_cost_next = True
            else:
                kind, eq, value = line.partition("=")
                if eq and kind in _NAMED:
                    name = _resolve(names[_NAMED[kind]], value.strip())
                    if kind in cur:                            # ob=, fn=: the new context
                        cur[kind] = name
    return costs


def _resolve(table, value):
    """A name of the compressed format: "(7) name" defines id 7, "(7)" refers back to it."""
    m = _NAME_ID.match(value)
    if not m:
        return value
    if m.group(2) is not None:
        table[m.group(1)] = m.group(2)
    return table.get(m.group(1), m.group(1))


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
    if not shutil.which("valgrind"):
        raise SystemExit("valgrind is not on PATH")
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
