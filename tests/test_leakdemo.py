"""``python -m chanemu leak-demo``, finished: the program's end state for each variant, the
detectors' verdicts, the command line, ``--plot`` and the option errors.

The program runs on the virtual clock throughout (a heartbeat every 500 ms of virtual time), so
every test takes a fraction of a second of wall time on either twin.
"""
import io
import json
import os
import re
import struct
import sys

import pytest

from chanemu import __main__ as cli
from chanemu import leakdemo
from chanemu.leakdemo import article

PROGRAM_FILE = article.__file__           # the program and its variants
SEND_LINE = [i for i, ln in enumerate(open(PROGRAM_FILE), 1)
             if ln.strip().startswith("ch.send(i)")]
SELECT_LINE = [i for i, ln in enumerate(open(PROGRAM_FILE), 1)
               if ln.strip().startswith("chanemu.select(chanemu.send(ch, i)")]
HEARTBEAT = "chanemu.leakdemo.article.program.<locals>.heartbeat"


def run_program(ce, heartbeats, variant, every=0.5, **kw):
    out = io.StringIO()
    res = ce.run(leakdemo.program, heartbeats, every, variant, out.write, None, None,
                 timeline=True, clock="virtual", **kw)
    return res, out.getvalue()


def counts(res):
    """The goroutine count after each heartbeat (the timeline samples every one of a short run),
    and, for --fixed-ctx, the count after the shutdown."""
    return [g for _, g, _, _ in res.timeline]


# -- the program's end state -------------------------------------------------------------
def test_the_leak_grows_by_one_per_heartbeat_after_the_fifth(ce):
    assert len(SEND_LINE) == 1
    res, text = run_program(ce, 40, "leak")
    # main alone while the 5 slots fill, then one more parked sender per heartbeat
    assert counts(res) == [1] * 5 + list(range(2, 37))
    assert [i for *_, i in res.timeline] == list(range(1, 41))
    assert [t for t, *_ in res.timeline] == [0.5 * i for i in range(1, 41)]
    assert (res.goroutines, res.qcount, res.dataqsiz, res.sendq) == (36, 5, 5, 35)
    assert res.clock_ns == 20 * 1_000_000_000

    # the detector's verdict: the heartbeat's send line, its channel and the hchan
    assert len(res.watch_reports) == 1
    rep = res.watch_reports[0]
    assert (rep.function, rep.file, rep.line) == (HEARTBEAT, PROGRAM_FILE, SEND_LINE[0])
    assert rep.wait_reason == "chan send"
    assert rep.detected_at <= 8.0                       # a few virtual seconds
    assert [n for _, n in rep.counts] == [0, 2, 4, 6]   # sampled every two heartbeats
    assert (rep.hchan.qcount, rep.hchan.dataqsiz, len(rep.hchan.sendq)) == (5, 5, 6)
    assert res.watch_interval == 1.0 and res.watch_samples == 6   # stopped once it reported
    assert res.leak_profile.startswith("goroutineleak profile: total 0\n")

    # the report: the live notice among the lines, the profile, the drawing, the verdicts
    assert (f"       ^ at 6s, chanemu.leak.Watch: [chan send] at article.py:{SEND_LINE[0]} "
            f"keeps growing: 0 -> 2 -> 4 -> 6\n") in text
    assert "goroutine profile: total 36\n    35 @ 0x" in text
    assert f"{HEARTBEAT}+0x" in text
    assert re.search(r"\n    hchan #\d+: qcount=5 dataqsiz=5 closed=0 sendx=0 recvx=0\n", text)
    assert (f"chanemu.leak.Watch: goroutines parked [chan send] at {HEARTBEAT} "
            f"({PROGRAM_FILE}:{SEND_LINE[0]}) keep growing: 0 -> 2 -> 4 -> 6") in text
    assert '(Go 1.26\'s goroutineleak): "goroutineleak profile: total 0".' in text
    assert "main, still in its loop, holds ch" in text


def test_the_articles_fix_stays_flat_and_nothing_grows(ce):
    res, text = run_program(ce, 40, "fixed")
    assert counts(res) == [1] * 40
    assert (res.goroutines, res.qcount, res.sendq) == (1, 0, 0)
    assert res.watch_reports == [] and res.watch_samples >= 20
    assert res.leak_profile.startswith("goroutineleak profile: total 0\n")
    assert "Watch:" not in text.split("After 40 heartbeats")[0]       # no notice in the lines
    assert "20 samples" not in text and "nothing grows" in text
    assert "goroutine profile: total 1\n    1 @ 0x" in text
    assert "No goroutine is parked on a channel." in text


def test_the_context_fix_ends_flat(ce):
    """--fixed-ctx: nobody receives, so the senders pile up in select until the shutdown, as in
    the leak (Watch says so: it is growth while the program runs); cancel() then releases every
    one of them and the count is back to main alone."""
    assert len(SELECT_LINE) == 1
    res, text = run_program(ce, 40, "ctx")
    assert counts(res) == [1] * 5 + list(range(2, 37)) + [1]      # the last: after cancel()
    assert (res.goroutines_after_cancel, res.sendq_after_cancel) == (1, 0)
    assert res.leak_profile.startswith("goroutineleak profile: total 0\n")
    [rep] = res.watch_reports
    assert (rep.function, rep.line, rep.wait_reason) == (f"{HEARTBEAT}_ctx", SELECT_LINE[0],
                                                          "select")
    assert "The same pile-up as the leak, parked in select" in text
    assert "zero goroutines left behind" in text
    assert "cancel() will release the parked senders: none of them is leaked" in text


def test_with_no_wait_the_watch_samples_by_hand(ce):
    res, text = run_program(ce, 30, "leak", every=0.0)
    assert res.clock_ns == 0                         # the virtual clock never moved
    assert res.watch_interval == 0.0
    [rep] = res.watch_reports
    assert rep.line == SEND_LINE[0] and [n for _, n in rep.counts] == [0, 1, 2, 3]
    assert "by hand" in text


def test_too_short_a_run_says_so(ce):
    res, text = run_program(ce, 6, "leak")
    assert res.watch_reports == [] and res.sendq == 1
    assert "too short to tell" in text


def test_the_profile_is_cut_to_its_top_groups():
    groups = "".join(f"{n} @ 0x{n:x}\n#\t0x1\tf{n}+0x1\tf.py:{n}\n\n" for n in (9, 7, 5, 3, 2))
    frames = "".join(f"#\t0x{k}\tg+0x{k}\tg.py:{k}\n" for k in range(10))
    text, n = leakdemo._trim_profile("goroutine profile: total 30\n" + groups
                                     + f"4 @ 0x4\n{frames}\n")
    assert n == 6
    assert text.split("\n")[:4] == ["goroutine profile: total 30", "9 @ 0x9",
                                    "#\t0x1\tf9+0x1\tf.py:9", ""]
    assert text.endswith("... 3 more groups, 9 goroutines")
    deep, _ = leakdemo._trim_profile("goroutine profile: total 4\n" + f"4 @ 0x4\n{frames}\n")
    assert deep.count("\n#\t0x") == leakdemo.PROFILE_FRAMES
    assert deep.endswith(f"#\t... {10 - leakdemo.PROFILE_FRAMES} more frames")


# -- the command line --------------------------------------------------------------------
def test_cli_leak_on_the_virtual_clock(ce, capsys):
    assert cli.main(["leak-demo", "--clock", "virtual", "--duration", "45s"]) == 0
    out = capsys.readouterr().out
    twin = ("the C extension" if ce.IMPL == "c" else
            "the pure-Python twin (CHANEMU_IMPL=python)")
    assert f"Running on {twin}, the virtual clock" in out
    assert "90 heartbeats, 500ms apart (45s of virtual time" in out
    assert f"   0:00:06  Watch: [chan send] at article.py:{SEND_LINE[0]} keeps growing" in out
    assert "   0:00:45          90          86   hchan: 5/5  sendx=0 recvx=0  len(sendq)=85" in out
    assert "After 90 heartbeats (45s of virtual time): runtime.num_goroutine() = 86" in out
    assert "\n    goroutine profile: total 86\n    85 @ 0x" in out
    assert "goroutine 8 [chan send]:" in out
    assert re.search(r"\n    hchan #\d+: qcount=5 dataqsiz=5 closed=0 sendx=0 recvx=0\n", out)
    assert "      buf: |1|2|3|4|5|\n" in out
    assert "sendq (85): [g8 6] -> [g9 7] -> [g10 8] -> [g11 9] -> ... 77 more ... ->" in out
    assert (f"    chanemu.leak.Watch: goroutines parked [chan send] at {HEARTBEAT} "
            f"({PROGRAM_FILE}:{SEND_LINE[0]}) keep growing: 0 -> 2 -> 4 -> 6 (at 6 s)"
            in out)
    assert '"goroutineleak profile: total 0"' in out
    assert "45s of virtual time in" in out
    # the output reads in this order
    order = ["Running on", "Watch: [chan send]", "0:00:45", "goroutine profile: total 86",
             "goroutine 8 [chan send]", "buf: |1|2|3|4|5|", "The detectors' verdicts",
             "chanemu.leak.Watch: goroutines parked", "goroutineleak profile: total 0",
             "runtime.memstats()"]
    assert [out.index(s) for s in order] == sorted(out.index(s) for s in order)


@pytest.mark.parametrize("flag", ["--fixed", "--fixed-ctx"])
def test_cli_fixed_variants(ce, capsys, flag):
    assert cli.main(["leak-demo", flag, "--clock", "virtual", "--duration", "10s"]) == 0
    out = capsys.readouterr().out
    assert f"chanemu leak-demo {flag} --clock virtual:" in out
    lines = [ln for ln in out.splitlines() if "goroutine count:" in ln and "hchan:" in ln]
    assert len(lines) == 20
    if flag == "--fixed":
        assert all(ln.split("goroutine count:")[1].split()[0] == "2" for ln in lines)
        assert "goroutine profile: total 1\n" in out and "nothing grows" in out
        assert "keep growing" not in out
    else:
        assert "goroutine profile: total 16\n" in out            # before the shutdown
        assert "runtime.num_goroutine() = 1 (main alone): zero goroutines left behind" in out


def test_cli_on_the_real_clock(ce, capsys):
    assert cli.main(["leak-demo", "--heartbeats", "3", "--every-ms", "20"]) == 0
    out = capsys.readouterr().out
    assert "3 heartbeats, 20ms apart (60ms of real time" in out
    assert "goroutine profile: total 1\n" in out and "nothing grows" in out
    assert "every 40ms of real time, on a runtime timer" in out


def test_cli_timeline_out(ce, tmp_path, capsys):
    path = tmp_path / "tl.json"
    assert cli.main(["leak-demo", "--clock", "virtual", "--heartbeats", "8",
                     "--timeline-out", str(path)]) == 0
    assert capsys.readouterr().out == ""                         # quiet: the subprocess of --plot
    doc = json.loads(path.read_text())
    assert doc["variant"] == "leak" and doc["impl"] == ce.IMPL
    assert [p[1] for p in doc["timeline"]] == [1, 1, 1, 1, 1, 2, 3, 4]


def _png_size(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_cli_plot_writes_a_png(ce, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    png = tmp_path / "leak.png"
    assert cli.main(["leak-demo", "--clock", "virtual", "--duration", "30s",
                     "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "--plot: the fixed program (--fixed) runs meanwhile in a subprocess" in out
    assert f"--plot: wrote {png} (goroutines and RSS over virtual time, leaking program " \
           f"beside fixed program (--fixed))." in out
    data = png.read_bytes()
    w, h = _png_size(data)
    assert (w, h) == (1100, 792) and data.endswith(b"IEND\xaeB`\x82")


def test_plot_draws_what_it_is_given(tmp_path):
    pytest.importorskip("matplotlib")
    leak = [(0.5 * i, max(1, i - 4), 20_000_000 + 8_000 * i, i) for i in range(1, 3000)]
    ctx = leak[:-1] + [(leak[-1][0], 1, 20_000_000, leak[-1][3])]
    path = leakdemo.plot_timelines([("leak", leak), ("ctx", ctx)], str(tmp_path / "p.png"),
                                   clock="real", impl="python")
    assert _png_size(open(path, "rb").read()) == (1100, 792)
    nowait = [(0.0, max(1, i - 4), None, i) for i in range(1, 50)]   # no RSS, no clock
    path = leakdemo.plot_timelines([("leak", nowait), ("fixed", [(0.0, 1, None, 49)])],
                                   str(tmp_path / "q.png"), every=0)
    assert _png_size(open(path, "rb").read())[0] == 1100


def test_plot_without_matplotlib_fails_first_naming_the_extra(ce, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(SystemExit) as e:
        cli.main(["leak-demo", "--clock", "virtual", "--plot", "never.png"])
    assert "--plot needs matplotlib" in str(e.value)
    assert "pip install 'chanemu[plot]'" in str(e.value)
    assert capsys.readouterr().out == ""                     # before the run, not after it
    assert not os.path.exists("never.png")


@pytest.mark.parametrize("argv, message", [
    (["--duration", "0s"], "must be positive"),
    (["--duration", "soon"], "invalid duration"),
    (["--duration", "1d"], "unknown unit"),
    (["--heartbeats", "0"], "must be at least 1"),
    (["--heartbeats", "many"], "not a whole number"),
    (["--every-ms", "-5"], "must be 0 or more"),
    (["--every-ms", "fast"], "not a number"),
    (["--clock", "sundial"], "invalid choice: 'sundial'"),
    (["--fixed", "--fixed-ctx"], "not allowed with argument"),
    (["--duration", "1h", "--heartbeats", "3"], "not allowed with argument"),
    (["--no-wait", "--every-ms", "5"], "not allowed with argument"),
    (["--no-wait", "--duration", "1h"], "--duration needs a heartbeat interval"),
    (["--plot", " "], "--plot needs a file name"),
    (["--plot"], "expected one argument"),
    (["--leak-forever"], "unrecognized arguments"),
])
def test_bad_options_are_argparse_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["leak-demo", *argv])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "usage: chanemu" in err and message in err


# -- the package's shape: one variants table, one variant argument, a brief header --------------
def test_one_variants_table_drives_the_flags_and_main(ce, capsys):
    assert list(leakdemo.VARIANTS) == ["leak", "fixed", "ctx"]
    assert [v.flag for v in leakdemo.VARIANTS.values()] == ["", "--fixed", "--fixed-ctx"]
    with pytest.raises(ValueError, match=r"variant must be one of \('leak', 'fixed', 'ctx'\)"):
        leakdemo.main(heartbeats=1, every=0, variant="fast", out=io.StringIO())
    with pytest.raises(TypeError):
        leakdemo.main(heartbeats=1, fixed=True)          # one variant argument, not two
    with pytest.raises(ValueError, match="variant must be one of"):
        ce.run(leakdemo.program, 1, 0, "fast", io.StringIO().write)
    assert capsys.readouterr().out == ""


def test_brief_header_is_three_lines(ce, capsys):
    assert cli.main(["leak-demo", "--brief", "--clock", "virtual", "--heartbeats", "2"]) == 0
    out = capsys.readouterr().out
    head = out.split("\n\n", 1)[0].splitlines()
    assert len(head) <= 4 and head[0].startswith("chanemu leak-demo --clock virtual:")
    assert head[-1].startswith("Running on") and "2 heartbeats" in head[-1]
    assert "time.Sleep(" not in out                   # no Go source in the brief header
    assert "   1   goroutine count:" in out


def test_header_shows_the_variants_go_source(ce):
    full = leakdemo.header("fixed", 12, 0.5, "real", True)
    assert leakdemo.go_source("fixed") in full
    assert "if flag {" in leakdemo.go_source("fixed") and "if flag {" not in leakdemo.go_source("leak")
    assert "ctx.Done()" in leakdemo.go_source("ctx")
