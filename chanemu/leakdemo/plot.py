"""``--plot``: the goroutine count and the process's RSS over clock time, as a PNG.

The picture puts the program beside another variant (the leak beside its fix), which runs at the
same time in a subprocess of its own, so that each RSS is its own process's: ``Companion`` starts
it (``--timeline-out``, ``timeline_only``) and reads its timeline back. matplotlib is imported
only to draw, after the runs.
"""
import functools
import json
import os
import subprocess
import sys
import tempfile

import chanemu
import chanemu.time

from .article import ARTICLE_GOROUTINES, TICK, VARIANTS, _plural, program

PLOT_EXTRA = "pip install 'chanemu[plot]'"

def timeline_only(heartbeats, every, variant, clock, path):
    """Run the program without a report and write its timeline to path as JSON."""
    from chanemu import leak, pprof  # noqa: F401  (as the reporting run imports: RSS alike)

    def quiet(s):
        pass
    res = chanemu.run(functools.partial(program, watch=False, report=False, timeline=True),
                      heartbeats, every, variant, quiet, False, clock=clock)
    doc = {"variant": variant, "clock": clock, "impl": chanemu.IMPL, "heartbeats": heartbeats,
           "every": every, "timeline": res.timeline}
    with open(path, "w") as f:
        json.dump(doc, f)
    return 0


class Companion:
    """The other program of the --plot picture, run in a subprocess of its own (its RSS is its
    own), on the same twin and clock, side by side with this one."""

    def __init__(self, variant, heartbeats, every, clock):
        self.variant = variant
        fd, self.path = tempfile.mkstemp(prefix="chanemu-leakdemo-", suffix=".json")
        os.close(fd)
        cmd = [sys.executable, "-m", "chanemu", "leak-demo", "--clock", clock,
               "--heartbeats", str(heartbeats), "--every-ms", repr(every * 1000),
               "--timeline-out", self.path]
        if VARIANTS[variant].flag:
            cmd.append(VARIANTS[variant].flag)
        env = dict(os.environ, CHANEMU_IMPL=chanemu.IMPL)
        self.proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)

    def result(self):
        err = self.proc.communicate()[1]
        if self.proc.returncode != 0:
            raise RuntimeError(f"--plot: the {VARIANTS[self.variant].name} failed "
                               f"(exit {self.proc.returncode}):\n{err}")
        with open(self.path) as f:
            return [tuple(p) for p in json.load(f)["timeline"]]

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()
        try:
            os.unlink(self.path)
        except OSError:
            pass


def require_matplotlib():
    """Fail early, without importing it (an import would weigh on the RSS being plotted), if
    matplotlib is missing."""
    import importlib.util
    try:
        found = importlib.util.find_spec("matplotlib") is not None
    except (ImportError, ValueError):       # ValueError: sys.modules["matplotlib"] is None
        found = False
    if not found:
        raise SystemExit("chanemu leak-demo: --plot needs matplotlib, which is not installed: "
                         f"{PLOT_EXTRA}")


def plot_timelines(runs, path, *, clock="virtual", impl=None, every=TICK):
    """Write a PNG of the goroutine count (top) and the RSS (bottom) over clock time.

    runs: [(variant, [(seconds, goroutines, rss bytes or None, heartbeats), ...])] (as
    ``Result.timeline``), drawn on the same axes; x is the clock, or the heartbeats when the clock
    did not move (no wait between heartbeats). The legends give each program's end values.
    Uses matplotlib's object API (no pyplot, no global backend); needs matplotlib.
    """
    require_matplotlib()
    try:
        from matplotlib.figure import Figure
        from matplotlib.ticker import FuncFormatter, MaxNLocator
    except ImportError as e:
        raise SystemExit(f"chanemu leak-demo: --plot needs matplotlib, which failed to import "
                         f"({e}): {PLOT_EXTRA}") from None

    runs = [(v, tl) for v, tl in runs if tl]
    span = max((p[0] for _, tl in runs for p in tl), default=0.0)
    col = 0
    if span == 0 or every <= 0:
        unit, scale, col = "heartbeats", 1.0, 3
    elif span >= 3 * 3600:
        unit, scale = "hours", 3600.0
    elif span >= 180:
        unit, scale = "minutes", 60.0
    else:
        unit, scale = "seconds", 1.0

    fig = Figure(figsize=(10, 7.2), dpi=110)
    ax_g, ax_m = fig.subplots(2, 1, sharex=True)
    top = mtop = 0
    for variant, tl in runs:
        xs = [p[col] / scale for p in tl]
        gs = [p[1] for p in tl]
        top = max(top, max(gs))
        # the leak on top, thinner: a fix that piles up as well (--fixed-ctx) shows around it
        kw = dict(color=VARIANTS[variant].color, linewidth=2 if variant == "leak" else 3.5,
                  zorder=3 if variant == "leak" else 2, alpha=1 if variant == "leak" else 0.8)
        if variant == "ctx" and max(gs) > gs[-1]:
            end = f"{_plural(max(gs), 'goroutine')}, then {gs[-1]:,} after cancel()"
        else:
            end = _plural(gs[-1], "goroutine") + (" and growing" if variant == "leak" else "")
        ax_g.plot(xs, gs, label=f"{VARIANTS[variant].label}: {end}", **kw)
        mem = [(x, p[2] / 2**20, p[1]) for x, p in zip(xs, tl) if p[2] is not None]
        if mem:
            peak = max(mem, key=lambda m: m[2])         # where the most goroutines were
            note = f"{VARIANTS[variant].label}: {peak[1]:,.0f} MiB"
            if peak[2] - mem[0][2] >= 1000:
                per = (peak[1] - mem[0][1]) * 2**20 / (peak[2] - mem[0][2])
                note += f", {per / 1024:,.1f} KiB more per goroutine"
            ax_m.plot([m[0] for m in mem], [m[1] for m in mem], label=note, **kw)
            mtop = max(mtop, max(m[1] for m in mem))
    if top >= ARTICLE_GOROUTINES / 2:
        ax_g.axhline(ARTICLE_GOROUTINES, color="#7f8c8d", linestyle="--", linewidth=1)
        ax_g.text(0, ARTICLE_GOROUTINES, f" pprof on the production server: over "
                  f"{ARTICLE_GOROUTINES:,}", ha="left", va="bottom", color="#555", fontsize=9)
    thousands = FuncFormatter(lambda v, _: f"{v:,.0f}")
    ax_g.yaxis.set_major_formatter(thousands)
    ax_m.yaxis.set_major_formatter(thousands)
    ax_g.set_ylabel("runtime.NumGoroutine()")
    ax_m.set_ylabel("RSS of the process (MiB)")
    ax_m.set_xlabel("heartbeats" if col else f"{clock} clock time ({unit})")
    ax_g.set_ylim(0, max(top, 1) * 1.15 + 1)
    ax_m.set_ylim(0, max(mtop, 1) * 1.25)
    ax_m.set_xlim(left=0)
    ax_m.xaxis.set_major_locator(MaxNLocator(nbins=12, steps=[1, 2, 3, 4, 5, 6, 10]))
    for ax in (ax_g, ax_m):
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper left", fontsize=9)
    if not mtop:
        ax_m.text(0.5, 0.5, "the RSS could not be read on this platform", ha="center",
                  va="center", transform=ax_m.transAxes, color="#555")
    who = {"c": "C extension", "python": "pure-Python twin"}.get(impl, impl or "")
    beat = (f"a heartbeat every {chanemu.time.format_duration(every)}" if every > 0 else
            "heartbeats with no wait")
    shown = round(span) if span >= 60 else round(span, 1)
    howlong = (f"{max(p[3] for _, tl in runs for p in tl):,} heartbeats" if col else
               f"{chanemu.time.format_duration(shown)} of {clock} time")
    fig.suptitle(f"chanemu leak-demo: {beat}, {howlong}" + (f" ({who})" if who else ""),
                 fontsize=12)
    ax_g.set_title("each program in a process of its own", fontsize=9, color="#555")
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path
