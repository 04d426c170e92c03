"""The results of a run: the terminal table, the speed targets, and the --plot chart.

The workloads and the targets are defined in bench/README.md.

A run's results are a JSON-ready dict::

    {"meta": {...},                                   # machine, interpreter, protocol, date
     "libraries": {key: {"label", "version", "skipped"?}},
     "results": {key: {bench: {"median", "min", "max", "reps", "n"} | {"skipped"} | {"error"}}},
     "reference": {...}}                              # Go 1.19 figures, used when go is missing

Library keys: ``c`` and ``python`` (chanemu's twins), the peers of peers.py, ``go1`` and ``go2``
(Go with GOMAXPROCS=1 and 2, from this run), ``go1-ref`` and ``go2-ref`` (Go 1.19 as measured on
the reference machine of bench/README.md, shown only when ``go`` is not on PATH). Bench keys: W1-W6,
``W5_bytes`` (RSS bytes per blocked task), ``floor`` (a bare greenlet switch pair, measured in the
C twin's process), and Go's benchmark names.
"""
import re

from . import gobench

#: W1-W6: (id, name, unit, what one operation is)
WORKLOADS = (
    ("W1", "buffered_nonblocking", "ns/pair", "one task, capacity 128: send(i) then recv()"),
    ("W2", "pingpong_unbuffered", "ns/round trip", "two tasks, two unbuffered channels"),
    ("W3", "prodcons_buffered", "ns/item", "one producer, one consumer, capacity 100"),
    ("W4", "select2", "ns/item", "2-way select receive over two unbuffered channels"),
    ("W5", "spawn_blocked", "ns/task", "spawn a task that blocks sending forever"),
    ("W5_bytes", "memory", "bytes/task", "RSS growth per blocked task"),
    ("W6", "fanin", "ns/item", "8 producers, one consumer, capacity 64"),
)
W_IDS = [w[0] for w in WORKLOADS]

#: library key -> label, in table order
LABELS = {
    "c": "chanemu C",
    "c-stack": "chanemu C (stack)",
    "python": "chanemu Python",
    "gevent": "gevent",
    "asyncio": "asyncio",
    "trio": "trio",
    "anyio": "anyio",
    "threads": "threads",
    "runloom": "runloom",
    "go1": "Go GOMAXPROCS=1",
    "go2": "Go GOMAXPROCS=2",
    "go1-ref": "Go 1.19, 1 P (ref.)",
    "go2-ref": "Go 1.19, 2 P (ref.)",
}
GO_KEYS = ("go1", "go2", "go1-ref", "go2-ref")
#: the libraries a row's "vs best peer" compares with: every Python library but chanemu's C twin
PEER_KEYS = ("python", "gevent", "asyncio", "trio", "anyio", "threads", "runloom")

# Go 1.19.8 on a 2-vCPU AMD EPYC VM (bench/README.md's reference figures): GOMAXPROCS=1, =2.
REFERENCE = {
    "go1-ref": {"W1": 33, "W2": 204, "W3": 32, "W4": 150, "W5": 1561, "W5_bytes": 2687, "W6": 33,
                "MakeChan/Int": 28.3, "MakeChan/Ptr": 57.1, "ChanNonblocking": 4.43,
                "SelectUncontended": 67.5, "SelectNonblock": 13.05, "ChanUncontended": 4739,
                "ChanSync": 103.2, "ChanProdCons0": 219.1, "ChanProdCons10": 50.2,
                "ChanProdCons100": 33.9, "SelectProdCons": 280.3,
                "ReceiveDataFromClosedChan": 15.99, "ChanCreation": 51.8, "ChanSem": 37.1,
                "ChanPopular": 257402, "ChanClosed": 2.80},
    "go2-ref": {"W1": 32, "W2": 213, "W3": 38, "W4": 175, "W5": 1959, "W5_bytes": 2727, "W6": 35,
                "ChanNonblocking": 4.16, "SelectUncontended": 68.6, "SelectNonblock": 13.16,
                "ChanUncontended": 5064, "ChanSync": 109.8, "ChanProdCons0": 106.0,
                "ChanProdCons10": 88.5, "ChanProdCons100": 34.6, "SelectProdCons": 330.9,
                "ReceiveDataFromClosedChan": 15.81, "ChanCreation": 127.9, "ChanSem": 33.5,
                "ChanPopular": 217041, "ChanClosed": 2.08},
}


def _stat(res, lib, bench):
    x = res["results"].get(lib, {}).get(bench)
    return x if isinstance(x, dict) and "median" in x else None


def _median(res, lib, bench):
    x = _stat(res, lib, bench)
    return None if x is None else x["median"]


def go1_key(res):
    """The Go GOMAXPROCS=1 library of this run, or the reference when Go did not run here."""
    return "go1" if "go1" in res["results"] else "go1-ref"


def w2_floor(res, lib):
    """W2 over the greenlet switch pair: the median of the per-repetition ratios when the two were
    measured interleaved in lib's process, else the ratio of the medians."""
    x = _stat(res, lib, "W2_floor")
    if x is not None:
        return x["median"]
    fl = _median(res, "c", "floor") or _median(res, "python", "floor")
    return _ratio(_median(res, lib, "W2"), fl)


def best_peer(res, bench):
    """(key, median) of the fastest Python peer on bench, or (None, None)."""
    xs = [(_median(res, k, bench), k) for k in PEER_KEYS if _median(res, k, bench) is not None]
    if not xs:
        return None, None
    m, k = min(xs)
    return k, m


def _ratio(x, y):
    return None if x is None or not y else x / y


def _fmt(x):
    if x is None:
        return ""
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def _fmt_ratio(r):
    return "" if r is None else (f"{r:.2f}x" if r < 100 else f"{r:,.0f}x")


def _rows(res, bench, libs):
    """The table rows of one bench: [library, median, min-max, vs Go 1P, vs best peer]."""
    go1 = _median(res, go1_key(res), bench)
    _, peer = best_peer(res, bench)
    rows = []
    for lib in libs:
        x = res["results"].get(lib, {}).get(bench)
        if x is None:
            continue
        label = LABELS.get(lib, lib)
        if "median" not in x:
            why = x.get("skipped") or f"failed: {x.get('error')}"
            rows.append([label, "n/a", why, "", ""])
            continue
        mm = "" if x.get("min") is None else f"{_fmt(x['min'])}-{_fmt(x['max'])}"
        rows.append([label, _fmt(x["median"]), mm, _fmt_ratio(_ratio(x["median"], go1)),
                     _fmt_ratio(_ratio(x["median"], peer))])
    return rows


def _lib_order(res):
    keys = list(res["results"])
    order = [k for k in LABELS if k in keys]
    return order + [k for k in keys if k not in order]


WIDTH = 100     # the terminal table's width without --wide


def format_table(res, wide=False):
    """The terminal table: W1-W6 across libraries, then Go's benchmark names, then the targets.

    Fits WIDTH columns unless ``wide``: the min-max column is left out, a reason for n/a
    becomes a numbered note under its table, and long lines of text are wrapped."""
    return _format_table(res, wide)


def _narrow_rows(rows, notes):
    """Rows without the min-max column; an n/a row's reason goes to notes as ``[k]``."""
    out = []
    for r in rows:
        if r is None:
            out.append(None)
            continue
        r = list(r)
        if r[2] == "n/a" and r[3]:
            notes.append(r[3])
            r[2] = f"n/a [{len(notes)}]"
        out.append(r[:3] + r[4:])
    return out


def _wrap(lines):
    import textwrap
    out = []
    for ln in "\n".join(lines).split("\n"):
        if len(ln) > WIDTH:
            out += textwrap.wrap(ln, WIDTH, subsequent_indent="    ")
        else:
            out.append(ln)
    return out


def _format_table(res, wide):
    m = res["meta"]
    libs = _lib_order(res)
    head = ["", "library", "median", "min-max", "vs Go 1P", "vs best peer"]
    out_rows = []                                    # None = a blank separator

    def group(title, subtitle, bench, extra=()):
        rows = _rows(res, bench, libs)
        if not rows:
            return
        if out_rows:
            out_rows.append(None)
        for k, r in enumerate(list(rows) + list(extra)):
            first = title if k == 0 else (subtitle if k == 1 else "")
            out_rows.append([first] + r)

    for wid, name, unit, _what in WORKLOADS:
        extra = []
        if wid == "W2":
            fl = _stat(res, "c", "floor") or _stat(res, "python", "floor")
            if fl:
                extra.append(["greenlet switch pair", _fmt(fl["median"]),
                              f"{_fmt(fl['min'])}-{_fmt(fl['max'])}",
                              _fmt_ratio(_ratio(fl["median"], _median(res, go1_key(res), "W2"))),
                              ""])
                for lib in ("c", "python"):
                    r = w2_floor(res, lib)
                    if r is not None:
                        x = _stat(res, lib, "W2_floor")
                        mm = f"{x['min']:.2f}-{x['max']:.2f}" if x else ""
                        extra.append([f"{LABELS[lib]} W2 / floor", f"{r:.2f}x", mm, "", ""])
        group("W5 memory" if wid == "W5_bytes" else f"{wid} {name}", unit, wid, extra)
    w_rows = out_rows[:]
    out_rows.clear()
    for name, _fn, _start, _max, what in gobench.BENCHMARKS:
        group(name, "ns/op", name)
    g_rows = out_rows
    w_notes, g_notes = [], []
    if not wide:
        head = head[:3] + head[4:]
        w_rows = _narrow_rows(w_rows, w_notes)
        g_rows = _narrow_rows(g_rows, g_notes)

    body = [r for r in w_rows + g_rows if r is not None]
    widths = [max([len(head[k])] + [len(r[k]) for r in body]) for k in range(len(head))]
    widths[0] = max(widths[0], 22)

    def line(cells):
        return "  ".join(c.ljust(w) if k in (0, 1) or (wide and k == 3 and cells[2] == "n/a")
                         else c.rjust(w) for k, (c, w) in enumerate(zip(cells, widths))).rstrip()

    def notes(found):
        return [f"[{k}] {why}" for k, why in enumerate(found, 1)]

    def block(rows):
        return [line(r) if r is not None else "" for r in rows]

    p = m["protocol"]
    out = [f"chanemu bench: {m['python']}, greenlet {m['greenlet']}, {m['machine']}",
           f"{m['date']}; load average {m['loadavg']} at the start"
           + (f", {m['loadavg_end']} at the end" if m.get("loadavg_end") else ""),
           f"median (min-max) of {p['reps']} repetitions of ~{p['rep_seconds']} s after one "
           f"warm-up; W5: {p['reps']} fresh processes of {p['w5_n']:,} tasks "
           f"(threads: {p['w5_n_threads']:,})",
           "vs Go 1P: this row / Go GOMAXPROCS=1;  vs best peer: this row / the fastest Python "
           "peer (every Python library but chanemu C)"]
    if "go1-ref" in res["results"]:
        out.append("Go rows marked (ref.) were not measured in this run: Go 1.19 on a 2-vCPU "
                   "AMD EPYC VM (reference figures, bench/README.md).")
    if w_rows:
        out += ["", "Cross-library workloads W1-W6 (defined in bench/README.md)", "",
                line(head), line(["-" * w for w in widths])] + block(w_rows)
        out += [""] + notes(w_notes) if w_notes else []
    if g_rows:
        out += ["", "Go's channel benchmarks (Go's runtime package), ns/op as Go defines the op; "
                "chanemu runs the GOMAXPROCS=1 shapes", "",
                line(head), line(["-" * w for w in widths])] + block(g_rows)
        out += [""] + notes(g_notes) if g_notes else []
    t = format_targets(res)
    if t:
        out += ["", t]
    lib_notes = [f"{LABELS.get(k, k)}: {v['skipped']}" for k, v in res["libraries"].items()
                 if v.get("skipped")]
    lib_notes += [f"{LABELS.get(k, k)}: {v['error']}" for k, v in res["libraries"].items()
                  if v.get("error")]
    if lib_notes:
        out += [""] + [f"note: {n}" for n in lib_notes]
    return "\n".join(out if wide else _wrap(out))


def targets(res):
    """The C twin's speed targets (listed in bench/README.md): [(what, value, target, met)];
    value None when a figure is missing."""
    c = lambda b: _median(res, "c", b)                     # noqa: E731
    go1 = lambda b: _median(res, go1_key(res), b)          # noqa: E731
    out = []
    for wid, limit in (("W1", 1.4), ("W3", 2.5), ("W6", 2.5)):
        r = _ratio(c(wid), go1(wid))
        out.append((f"{wid} / Go 1P", r, f"<= {limit}x", r is not None and r <= limit))
    r = w2_floor(res, "c")
    out.append(("W2 / greenlet switch pair", r, "<= 1.4x", r is not None and r <= 1.4))
    r = _ratio(c("W4"), c("W2"))
    out.append(("W4 / W2", r, "<= 2x", r is not None and r <= 2))
    out.append(("W5 ns per blocked goroutine", c("W5"), "<= 5,000",
                c("W5") is not None and c("W5") <= 5000))
    out.append(("W5 bytes per blocked goroutine", c("W5_bytes"), "<= 6,000",
                c("W5_bytes") is not None and c("W5_bytes") <= 6000))
    for wid in ("W1", "W2", "W3", "W4", "W5", "W6"):
        k, peer = best_peer(res, wid)
        r = _ratio(c(wid), peer)
        if r is not None:
            out.append((f"{wid} / best peer ({LABELS[k]})", r, "< 1x", r < 1))
    return out + stack_targets(res)


def stack_targets(res):
    """The stack switch backend's targets (issue 16, bench/README.md), when it was measured:
    W2 at or below Go GOMAXPROCS=1 (within 1.1x on CPython 3.13+), below runloom's W2, and
    the other workloads no slower than on the greenlet backend."""
    if "c-stack" not in res.get("results", {}):
        return []
    s = lambda b: _median(res, "c-stack", b)               # noqa: E731
    g = lambda b: _median(res, "c", b)                     # noqa: E731
    py = res.get("meta", {}).get("python", "")
    m = re.search(r"(\d+)\.(\d+)", py)
    limit = 1.1 if m and (int(m.group(1)), int(m.group(2))) >= (3, 13) else 1.0
    out = []
    r = _ratio(s("W2"), _median(res, go1_key(res), "W2"))
    out.append(("W2 stack / Go 1P", r, f"<= {limit}x", r is not None and r <= limit))
    r = _ratio(s("W2"), _median(res, "runloom", "W2"))
    if r is not None:
        out.append(("W2 stack / runloom", r, "< 1x", r < 1))
    for wid in ("W1", "W3", "W4", "W5", "W6"):
        r = _ratio(s(wid), g(wid))
        if r is not None:
            out.append((f"{wid} stack / greenlet", r, "<= 1x", r <= 1))
    return out


def format_targets(res):
    """The targets block; after --quick (one short run) the verdicts are marked indicative."""
    if "c" not in res["results"]:
        return ""
    quick = res.get("meta", {}).get("protocol", {}).get("quick", False)
    rows = []
    for what, value, target, met in targets(res):
        if value is None:
            v, verdict = "n/a", "not measured"
        else:
            v = f"{value:.2f}x" if "x" in target else f"{value:,.0f}"
            verdict = "met" if met else "NOT MET"
            if quick:
                verdict = ("met" if met else "not met") + " (indicative)"
        rows.append((what, v, target, verdict))
    w = [max(len(r[k]) for r in rows) for k in range(4)]
    lines = ["Speed targets for chanemu C (bench/README.md; ratios within this run)"]
    if quick:
        lines[0] += ": --quick, so indicative only; a full run decides"
    lines += [f"  {a.ljust(w[0])}  {b.rjust(w[1])}  {c.ljust(w[2])}  {d}" for a, b, c, d in rows]
    return "\n".join(lines)


def format_markdown(res):
    """The medians as two Markdown tables, one column per library (for the README): W1-W6 with
    the C twin's ratios to Go GOMAXPROCS=1 and to the best Python peer, then Go's benchmarks."""
    libs = _lib_order(res)
    go1 = go1_key(res)

    def table(benches, first, label):
        shown = [lib for lib in libs if any(_stat(res, lib, b) for b in benches)]
        if not shown:
            return []
        head = [first] + [LABELS.get(lib, lib) for lib in shown] + ["C / Go 1P", "C / best peer"]
        out = ["| " + " | ".join(head) + " |",
               "|---|" + "---:|" * (len(head) - 1)]
        for b in benches:
            cells = []
            for lib in shown:
                x = res["results"].get(lib, {}).get(b)
                cells.append(_fmt(x["median"]) if x and "median" in x else
                             ("n/a" if x and "skipped" in x else ""))
            if not any(c not in ("", "n/a") for c in cells):
                continue
            k, peer = best_peer(res, b)
            r1 = _fmt_ratio(_ratio(_median(res, "c", b), _median(res, go1, b)))
            r2 = _fmt_ratio(_ratio(_median(res, "c", b), peer))
            out.append("| " + " | ".join([label(b)] + cells + [r1, r2]) + " |")
            if b == "W2" and (_stat(res, "c", "floor")):
                fl = _median(res, "c", "floor")
                row = [f"{_fmt(fl)} (greenlet switch pair)" if lib == "c" else "" for lib in shown]
                out.append("| W2 floor | " + " | ".join(row) + " | | |")
                rr = [f"{w2_floor(res, lib):.2f}x" if lib in ("c", "python")
                      and w2_floor(res, lib) else "" for lib in shown]
                out.append("| W2 / floor | " + " | ".join(rr) + " | | |")
        return out

    names = {w[0]: f"{w[0]} {w[1]} ({w[2]})" for w in WORKLOADS}
    names["W5_bytes"] = "W5 memory (bytes/task)"
    m = res["meta"]
    out = [f"Median ns per operation; {m['python']}, greenlet {m['greenlet']}, {m['machine']}, "
           f"{m['date']} (load average {m['loadavg']} at the start"
           + (f", {m['loadavg_end']} at the end" if m.get("loadavg_end") else "")
           + f"); `{m.get('command', '')}`.", ""]
    out += table(W_IDS, "workload", lambda b: names[b])
    g = table([b[0] for b in gobench.BENCHMARKS], "Go benchmark (ns/op)", lambda b: b)
    if g:
        out += [""] + g
    return "\n".join(out)


def plot(res, path):
    """A log-scale grouped bar chart of the medians: W1-W6 by library, and Go's benchmark names
    by library. Needs matplotlib (``pip install 'chanemu[plot]'``)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise SystemExit(f"--plot needs matplotlib, which is not installed ({e}); "
                         "pip install 'chanemu[plot]' or pip install matplotlib") from None
    libs = _lib_order(res)
    panels = [("Cross-library workloads W1-W6 (ns per op)",
               [w for w in W_IDS if w != "W5_bytes"]),
              ("Go's channel benchmarks, GOMAXPROCS=1 shapes (ns/op)",
               [b[0] for b in gobench.BENCHMARKS])]
    panels = [(t, [b for b in bs if any(_median(res, lib, b) for lib in libs)])
              for t, bs in panels]
    panels = [(t, bs) for t, bs in panels if bs]
    if not panels:
        raise SystemExit("--plot: nothing was measured")
    colors = plt.get_cmap("tab10").colors
    color = {lib: colors[k % len(colors)] for k, lib in enumerate(libs)}
    fig, axes = plt.subplots(len(panels), 1, figsize=(14, 5.5 * len(panels)), squeeze=False)
    for ax, (title, benches) in zip(axes[:, 0], panels):
        shown = [lib for lib in libs if any(_median(res, lib, b) for b in benches)]
        width = 0.85 / max(1, len(shown))
        for k, lib in enumerate(shown):
            xs, ys = [], []
            for i, b in enumerate(benches):
                y = _median(res, lib, b)
                if y:
                    xs.append(i + (k - (len(shown) - 1) / 2) * width)
                    ys.append(y)
            ax.bar(xs, ys, width, label=LABELS.get(lib, lib), color=color[lib])
        ax.set_yscale("log")
        ax.set_xticks(range(len(benches)))
        ax.set_xticklabels(benches, rotation=30 if len(benches) > 7 else 0, ha="right"
                           if len(benches) > 7 else "center", fontsize=8)
        ax.set_ylabel("ns per op (log scale)")
        ax.set_title(title)
        ax.grid(axis="y", which="both", alpha=0.3)
        ax.legend(fontsize=8, ncol=min(len(shown), 5))
    m = res["meta"]
    fig.suptitle(f"chanemu bench: {m['python']}, {m['machine']}, {m['date']}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
