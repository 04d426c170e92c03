"""chanemu.pprof: goroutine profiles in Go's text formats and in profile.proto.

The text formats are checked line by line against runtime/pprof's (printCountProfile with its
tabwriter, writeGoroutineStacks) and, when Go is installed, against the output of a Go program of
the same shape; the protobuf is read back by our decoder and by the real ``go tool pprof``.
"""
import collections
import re
import subprocess
import textwrap
import threading

import pytest

import chanemu
import chanemu.pprof
from chanemu import _gsnap, _pbprof

from conftest import wait_parked
import obs_helpers
from obs_helpers import GO, NO_GO

AT_LINE = re.compile(r"^(\d+) @( 0x[0-9a-f]+)+$")
FRAME_LINE = re.compile(r"^#\t(0x[0-9a-f]+)\t+(\S+)\+(0x[0-9a-f]+)\t+(.+):(\d+)$")
HEADER = re.compile(r"^goroutine (\d+) \[([^\]]+)\]:$")


# -- a program of a known shape (tests/test_pprof.py's twin in Go is GO_SHAPES below) ------------
def worker(c):
    c.send(1)


def receiver(c):
    c.recv()


def selector(ce, a, b):
    ce.select(ce.recv(a), ce.send(b, 1))


def forever(ce):
    ce.select()


def nilrecv(ce):
    ce.nilchan.recv()


def leak(ce):
    d = ce.Chan()
    for _ in range(2):
        ce.go(worker, d)


def shapes(ce):
    """5 senders on c, 3 receivers on r, 2 selects on a/b (main holds them all), select {},
    a nil-channel receive, and leak(): 2 senders on a channel nobody else has. 15 goroutines
    with main."""
    c, r, a, b = ce.Chan(), ce.Chan(), ce.Chan(), ce.Chan()
    for _ in range(5):
        ce.go(worker, c)
    for _ in range(3):
        ce.go(receiver, r)
    for _ in range(2):
        ce.go(selector, ce, a, b)
    ce.go(forever, ce)
    ce.go(nilrecv, ce)
    leak(ce)
    ce.runtime.gosched()
    return c, r, a, b


def release(ce, c, r, a, b):
    for _ in range(5):
        c.recv()
    for _ in range(3):
        r.send(0)
    for _ in range(2):
        a.send(0)


def records(text):
    """debug=1 text -> [(count, [pcs], [(pc, func, off, file, line)], [other lines])]."""
    lines = text.split("\n")
    out = []
    i = 1
    while i < len(lines) and lines[i]:
        m = AT_LINE.match(lines[i])
        assert m, f"bad record line {lines[i]!r}"
        count = int(m.group(1))
        pcs = [int(x, 16) for x in lines[i].split(" @ ")[1].split()]
        frames, other = [], []
        i += 1
        while lines[i]:
            fm = FRAME_LINE.match(lines[i])
            if fm:
                assert not other, "frame line after a comment line"
                frames.append((int(fm.group(1), 16), fm.group(2), int(fm.group(3), 16),
                               fm.group(4), int(fm.group(5))))
            else:
                assert lines[i].startswith("# "), lines[i]
                other.append(lines[i])
            i += 1
        out.append((count, pcs, frames, other))
        i += 1
    assert lines[i:] == [""], f"trailing text {lines[i:]!r}"
    return out


def blocks(text):
    """debug=2 text -> [(goid, state, [lines])]."""
    out = []
    for block in text.rstrip("\n").split("\n\n"):
        lines = block.split("\n")
        m = HEADER.match(lines[0])
        assert m, lines[0]
        out.append((int(m.group(1)), m.group(2), lines[1:]))
    return out


# -- debug=1 ---------------------------------------------------------------------------------
def test_debug1_go_legacy_format(ce):
    def main():
        chans = shapes(ce)
        p = chanemu.pprof.goroutine_profile(debug=1)
        release(ce, *chans)
        return p
    p = ce.run(main)
    assert p.startswith("goroutine profile: total 15\n")
    recs = records(p)
    counts = [r[0] for r in recs]
    assert counts == sorted(counts, reverse=True)
    assert sum(counts) == 15
    assert counts == [7, 3, 2, 1, 1, 1]       # worker's stack groups main's 5 and leak's 2
    by_top = {r[2][0][1].rsplit(".", 1)[-1]: r for r in recs}
    assert by_top["worker"][0] == 7
    assert by_top["receiver"][0] == 3
    assert by_top["selector"][0] == 2
    # ties sort by the "@ ..." key string, as runtime/pprof's keysByCount does
    ones = [r for r in recs if r[0] == 1]
    keys = [" ".join(f"{pc:#x}" for pc in r[1]) for r in ones]
    assert keys == sorted(keys)
    for count, pcs, frames, other in recs:
        assert not other                       # no chanemu lines unless asked
        assert frames, "a record with no frames"
        for pc, func, off, file, line in frames:
            assert not func.startswith("runtime."), "runtime frames are hidden"
            assert pc == _gsnap.func_entry(func, file) + off
        # the @ list holds return PCs: the runtime frames, the shown ones + 1, runtime.goexit
        shown = [f[0] + 1 for f in frames]
        assert pcs[-1] == _gsnap.frame_pc(_gsnap.GOEXIT_FRAME) + 1
        assert pcs[-1 - len(shown):-1] == shown
    w = by_top["worker"]
    assert len(w[1]) == 1 + 3 + 1              # gopark, chansend, chansend1 | worker | goexit
    assert w[2][0][1] == "test_pprof.worker" and w[2][0][3] == __file__
    main_rec = [r for r in recs if r[2][0][1] == "test_pprof.test_debug1_go_legacy_format.<locals>.main"]
    assert len(main_rec) == 1 and len(main_rec[0][1]) == 2      # running: main, goexit


def test_debug1_tabwriter_alignment(ce):
    """Frames of one record are aligned by text/tabwriter (tabwidth 8, padchar '\\t'): the file
    column starts at the same column on every line of a record."""
    def a_rather_long_function_name_to_push_the_column(c):
        short(c)

    def short(c):
        c.send(1)

    def main():
        c = ce.Chan()
        ce.go(a_rather_long_function_name_to_push_the_column, c)
        ce.runtime.gosched()
        p = chanemu.pprof.goroutine_profile(1)
        c.recv()
        return p
    p = ce.run(main)
    rec = [r for r in p.split("\n\n") if "short" in r][0].split("\n")
    frame_lines = [ln for ln in rec if ln.startswith("#")]
    assert len(frame_lines) == 2
    cols = {ln.expandtabs(8).index(__file__) for ln in frame_lines}
    assert len(cols) == 1, frame_lines
    for ln in frame_lines:
        assert " " not in ln.split(__file__)[0].replace("<locals>", ""), "padding is tabs"
    # the Go rule, cell by cell: width = max text + 1 rounded up to 8; tabs fill the rest
    cells = [ln.split("\t") for ln in frame_lines]
    name_w = max(len(c[2]) for c in cells) + 1
    cellw = (name_w + 7) // 8 * 8
    for ln in frame_lines:
        name = ln.split("\t")[2]
        assert ln.count("\t") == 2 + (cellw - len(name) + 7) // 8


def test_debug1_matches_pprof_tool_parser(ce, tmp_path):
    """go tool pprof parses the legacy text format (also with chanemu's comment lines)."""
    if GO is None:
        pytest.skip(NO_GO)

    def main():
        chans = shapes(ce)
        p = chanemu.pprof.goroutine_profile(1, annotate=True)
        release(ce, *chans)
        return p
    p = ce.run(main)
    assert "# chanemu:" in p
    path = tmp_path / "goroutine.txt"
    path.write_text(p)
    out = obs_helpers.pprof_tool(["-raw"], str(path))
    counts = sorted(int(m) for m in re.findall(r"^\s+(\d+): [\d ]+$", out, re.M))
    assert counts == sorted(r[0] for r in records(p))
    assert "goroutine/count" in out


# -- debug=2 ---------------------------------------------------------------------------------
def test_debug2_is_runtime_stack_format(ce):
    def main():
        chans = shapes(ce)
        p = chanemu.pprof.goroutine_profile(debug=2)
        dump = ce.runtime.stack()
        release(ce, *chans)
        return p, dump
    p, dump = ce.run(main)
    bs = blocks(p)
    assert bs[0][0] == 1 and bs[0][1] == "running"          # the caller first
    assert [b[0] for b in bs[1:]] == sorted(b[0] for b in bs[1:])
    states = collections.Counter(b[1] for b in bs)
    assert states == {"chan send": 7, "chan receive": 3, "select": 2, "select (no cases)": 1,
                      "chan receive (nil chan)": 1, "running": 1}
    for goid, state, lines in bs[1:]:
        assert lines[-2].startswith("created by test_pprof.")
        assert lines[-2].endswith(" in goroutine 1")
        assert re.match(r"^\t.+:\d+ \+0x0$", lines[-1])
        for fn, loc in zip(lines[:-2:2], lines[1:-2:2]):
            assert fn.endswith("(...)") and re.match(r"^\t.+:\d+ \+0x[0-9a-f]+$", loc)
    # every goroutine but the caller reads exactly as in runtime.stack()
    assert p.split("\n\n")[1:] == dump.split("\n\n")[1:]


def test_annotations(ce):
    def main():
        chans = shapes(ce)
        c, r, a, b = chans
        p1 = chanemu.pprof.goroutine_profile(1, annotate=True)
        p2 = chanemu.pprof.goroutine_profile(2, annotate=True)
        ids = [chanemu._views.chan_id(x) for x in chans]
        release(ce, *chans)
        return p1, p2, ids
    p1, p2, (c, r, a, b) = ce.run(main)
    notes = [ln for ln in p1.split("\n") if ln.startswith("# chanemu:")]
    assert (f"# chanemu: chan {c} sendq positions 1-5 of 5 "
            f"(hchan qcount=0 dataqsiz=0 closed=0)") in notes
    assert f"# chanemu: chan {r} recvq positions 1-3 of 3 (hchan qcount=0 dataqsiz=0 closed=0)" \
        in notes
    assert f"# chanemu: chan {a} recvq positions 1-2 of 2 (hchan qcount=0 dataqsiz=0 closed=0)" \
        in notes
    assert f"# chanemu: chan {b} sendq positions 1-2 of 2 (hchan qcount=0 dataqsiz=0 closed=0)" \
        in notes
    assert "# chanemu: nil chan: 1 goroutine never ready" in notes
    records(p1)     # still parses as Go's format
    bs = blocks(p2)
    senders = [b_ for b_ in bs if b_[2] and f"chan {c} sendq" in b_[2][0]]
    assert [b_[2][0] for b_ in senders] == [
        f"# chanemu: chan {c} sendq {i}/5 (hchan qcount=0 dataqsiz=0 closed=0)"
        for i in range(1, 6)]
    sel = [b_ for b_ in bs if b_[1] == "select"]
    assert len(sel) == 2
    for goid, state, lines in sel:      # one line per channel of the select
        assert lines[0].startswith(f"# chanemu: chan {a} recvq ")
        assert lines[1].startswith(f"# chanemu: chan {b} sendq ")
    nil = [b_ for b_ in bs if b_[1] == "chan receive (nil chan)"][0]
    assert nil[2][0] == "# chanemu: nil chan: never ready"


def test_wait_minutes_on_the_virtual_clock(ce):
    def main():
        obs_helpers.sleep(1)    # wait_since 0 means "not known", as in Go: park after t=0
        c = ce.Chan()
        g = ce.go(worker, c)
        wait_parked(ce, g)
        obs_helpers.sleep(150)
        p = chanemu.pprof.goroutine_profile(2)
        c.recv()
        return p
    p = ce.run(main, clock="virtual")
    assert "[chan send, 2 minutes]:" in p


def test_identical_on_both_twins():
    """Both twins print the same profile for the same program: same stacks, same PCs."""
    def program(ce):
        def main():
            chans = shapes(ce)
            out = (chanemu.pprof.goroutine_profile(1),
                   chanemu.pprof.goroutine_profile(2))
            release(ce, *chans)
            return out
        return ce.run(main)
    was = chanemu.IMPL
    try:
        outs = {}
        for impl in ("c", "python"):
            chanemu._set_impl(impl)
            outs[impl] = program(chanemu)
    finally:
        chanemu._set_impl(was)
    assert outs["c"][0] == outs["python"][0]
    assert outs["c"][1] == outs["python"][1]


# -- the profile from another thread ------------------------------------------------------------
def test_profile_from_another_thread_at_a_safe_point(ce):
    def main():
        chans = shapes(ce)
        rt = chanemu._impl.current_runtime()
        p = obs_helpers.run_beside(lambda: chanemu.pprof.goroutine_profile(2, rt=rt))
        release(ce, *chans)
        return p
    p = ce.run(main)
    bs = blocks(p)
    assert len(bs) == 15
    main_block = [b for b in bs if b[0] == 1][0]
    assert main_block[1] == "sleep"       # parked on its timer, serving the safe point
    assert main_block[2][0] == "obs_helpers.sleep(...)"
    assert any("test_profile_from_another_thread_at_a_safe_point.<locals>.main" in ln
               for ln in main_block[2])
    assert not any("chanemu/pprof.py" in ln or "_safepoint" in ln for ln in p.split("\n"))


def test_profile_from_another_thread_while_the_runtime_is_busy(ce):
    """If the runtime's thread does not reach a safe point (here it blocks outside chanemu),
    the snapshot is taken from the caller's thread after the safe point's timeout, and the
    running goroutine's stack is read from that thread's frames."""
    def main():
        chans = shapes(ce)
        rt = chanemu._impl.current_runtime()
        out = {}
        done = threading.Event()

        def observer():
            out["p"] = chanemu.pprof.goroutine_profile(2, rt=rt)
            done.set()
        t = threading.Thread(target=observer)
        t.start()
        assert done.wait(30)        # the thread's own work, outside any chanemu operation
        t.join()
        release(ce, *chans)
        return out["p"]
    p = ce.run(main)
    bs = blocks(p)
    main_block = [b for b in bs if b[0] == 1][0]
    assert main_block[1] == "running"
    assert any("while_the_runtime_is_busy.<locals>.main" in ln for ln in main_block[2])


def test_bad_debug_values(ce):
    for bad in (-1, "1", 1.0, True, None):
        with pytest.raises(ValueError):
            chanemu.pprof.goroutine_profile(bad)


def test_contract_pprof_text(ce):
    def main():
        c = ce.Chan()
        for _ in range(50):
            ce.go(c.send, 1)
        ce.runtime.gosched()
        p = chanemu.pprof.goroutine_profile(debug=1)
        assert p.startswith("goroutine profile: total 51"), p[:200]
        assert "\n50 @ " in p, p[:500]
        p2 = chanemu.pprof.goroutine_profile(debug=2)
        assert p2.count("[chan send") == 50
        for _ in range(50):
            c.recv()
        return True
    assert ce.run(main)


# -- profile.proto ---------------------------------------------------------------------------
def test_proto_read_back(ce, tmp_path):
    path = tmp_path / "goroutine.pb.gz"

    def main():
        chans = shapes(ce)
        n = chanemu.pprof.write_goroutine_profile(str(path))
        raw = chanemu.pprof.goroutine_profile(0)
        text = chanemu.pprof.goroutine_profile(1)
        release(ce, *chans)
        return n, raw, text
    n, raw, text = ce.run(main)
    assert n == 15
    assert isinstance(raw, bytes) and raw[:2] == b"\x1f\x8b"
    prof = _pbprof.decode(path.read_bytes())
    assert prof["sample_type"] == ("goroutine", "count")
    assert prof["period_type"] == ("goroutine", "count") and prof["period"] == 1
    assert prof["time_nanos"] > 0
    assert prof["strings"][0] == ""
    assert prof["comments"] == [f"chanemu {chanemu.__version__} ({ce.IMPL})"]
    assert len(prof["mappings"]) == 1 and prof["mappings"][0][7] == 1    # has_functions
    assert sum(v[0] for v, _ in prof["samples"]) == 15
    by_leaf = {}
    for vals, frames in prof["samples"]:
        names = [f[0] for f in frames]
        assert "runtime.goexit" not in names
        by_leaf[tuple(names)] = vals[0]
    assert by_leaf[("runtime.gopark", "runtime.chansend", "runtime.chansend1",
                    "test_pprof.worker")] == 7
    assert by_leaf[("runtime.gopark", "runtime.chanrecv", "runtime.chanrecv1",
                    "test_pprof.receiver")] == 3
    assert by_leaf[("runtime.gopark", "runtime.selectgo", "test_pprof.selector")] == 2
    assert by_leaf[("runtime.gopark", "runtime.block", "test_pprof.forever")] == 1
    # same samples as the text format, same PCs at the locations
    text_counts = sorted(r[0] for r in records(text))
    assert sorted(v[0] for v, _ in prof["samples"]) == text_counts
    for vals, frames in prof["samples"]:
        for func, file, line, addr in frames:
            assert 0 <= addr - _gsnap.func_entry(func, file) < 0x10000
    worker_fn = [f for f in prof["functions"].values()
                 if prof["strings"][f[2]] == "test_pprof.worker"][0]
    assert prof["strings"][worker_fn[4]] == __file__
    assert worker_fn[5] == worker.__code__.co_firstlineno


def test_go_tool_pprof_reads_it(ce, tmp_path):
    """The real `go tool pprof -top` and `-traces` read the profile: same counts, same names."""
    if GO is None:
        pytest.skip(NO_GO)
    path = tmp_path / "goroutine.pb.gz"

    def main():
        chans = shapes(ce)
        chanemu.pprof.write_goroutine_profile(str(path))
        release(ce, *chans)
    ce.run(main)
    top = obs_helpers.pprof_tool(["-top"], str(path))
    assert "Type: goroutine" in top
    assert f"chanemu {chanemu.__version__} ({ce.IMPL})" in top
    assert re.search(r"Showing nodes accounting for 15, 100% of 15 total", top), top
    rows = {}
    for m in re.finditer(r"^\s+(\d+)\s+[\d.]+%\s+[\d.]+%\s+(\d+)\s+[\d.]+%\s+(\S+)$", top, re.M):
        rows[m.group(3)] = (int(m.group(1)), int(m.group(2)))
    assert rows["runtime.gopark"] == (14, 14)       # flat: every parked goroutine
    assert rows["test_pprof.worker"] == (0, 7)
    assert rows["test_pprof.receiver"] == (0, 3)
    assert rows["test_pprof.selector"] == (0, 2)
    assert rows["test_pprof.forever"] == (0, 1)
    assert rows["test_pprof.nilrecv"] == (0, 1)
    assert rows["runtime.chansend1"] == (0, 7)
    assert rows["test_pprof.test_go_tool_pprof_reads_it.<locals>.main"] == (1, 1)

    traces = obs_helpers.pprof_tool(["-traces"], str(path))
    stacks = {}
    for chunk in traces.split("-----------+-------------------------------------------------------")[1:]:
        lines = [ln.strip() for ln in chunk.strip().split("\n") if ln.strip()]
        if not lines:
            continue
        count, first = lines[0].split(None, 1)
        stacks[tuple([first] + lines[1:])] = int(count)
    assert stacks[("runtime.gopark", "runtime.chansend", "runtime.chansend1",
                   "test_pprof.worker")] == 7
    assert stacks[("runtime.gopark", "runtime.selectgo", "test_pprof.selector")] == 2
    assert sum(stacks.values()) == 15


# -- against real Go -------------------------------------------------------------------------
GO_SHAPES = textwrap.dedent("""\
    package main

    import (
    \t"fmt"
    \t"os"
    \t"runtime"
    \t"runtime/pprof"
    )

    func worker(c chan int)       { c <- 1 }
    func receiver(c chan int)     { <-c }
    func selector(a, b chan int)  { select { case <-a: case b <- 1: } }
    func forever()                { select {} }
    func nilrecv()                { var n chan int; <-n }

    func leak() {
    \td := make(chan int)
    \tfor i := 0; i < 2; i++ {
    \t\tgo worker(d)
    \t}
    }

    func main() {
    \tc, r, a, b := make(chan int), make(chan int), make(chan int), make(chan int)
    \tfor i := 0; i < 5; i++ {
    \t\tgo worker(c)
    \t}
    \tfor i := 0; i < 3; i++ {
    \t\tgo receiver(r)
    \t}
    \tfor i := 0; i < 2; i++ {
    \t\tgo selector(a, b)
    \t}
    \tgo forever()
    \tgo nilrecv()
    \tleak()
    \tfor i := 0; i < 100; i++ { // GOMAXPROCS=1: every goroutine runs until it parks
    \t\truntime.Gosched()
    \t}
    \tpprof.Lookup("goroutine").WriteTo(os.Stdout, 1)
    \tfmt.Println("=====")
    \tpprof.Lookup("goroutine").WriteTo(os.Stdout, 2)
    \tfmt.Println("=====")
    \tif p := pprof.Lookup("goroutineleak"); p != nil {
    \t\tp.WriteTo(os.Stdout, 1)
    \t}
    \tfmt.Println("=====")
    \truntime.KeepAlive(c)
    \truntime.KeepAlive(r)
    \truntime.KeepAlive(a)
    \truntime.KeepAlive(b)
    }
    """)


@pytest.fixture(scope="session")
def go_shapes(tmp_path_factory):
    """Go's output for GO_SHAPES: (debug=1, debug=2, goroutineleak debug=1 or None)."""
    if GO is None:
        pytest.skip(NO_GO)
    tmp = str(tmp_path_factory.mktemp("goshapes"))
    try:   # the goroutineleak profile is an experiment in Go 1.26
        out = obs_helpers.go_run(tmp, GO_SHAPES, {"GOEXPERIMENT": "goroutineleakprofile"})
    except subprocess.CalledProcessError:
        out = obs_helpers.go_run(tmp, GO_SHAPES)
    d1, d2, leakp, _ = out.split("=====\n")
    return d1, d2, leakp or None


def _leaf(func):
    return func.rsplit(".", 1)[-1]


def test_same_structure_as_go(ce, go_shapes):
    go1, go2, _ = go_shapes

    def main():
        chans = shapes(ce)
        out = (chanemu.pprof.goroutine_profile(1), chanemu.pprof.goroutine_profile(2))
        release(ce, *chans)
        return out
    py1, py2 = ce.run(main)

    # debug=1: the header, the records' counts, and the function parked in each record
    assert go1.split("\n")[0] == py1.split("\n")[0] == "goroutine profile: total 15"

    def shape1(text, skip_main):
        # Go keeps main's and leak()'s workers apart (worker is inlined into two different
        # go-statement wrappers, so the PCs differ); Python has no inlining: one stack.
        out = collections.Counter()
        for count, pcs, frames, other in records(text):
            if not skip_main(frames):
                out[_leaf(frames[0][1])] += count
        return sorted((n, leaf) for leaf, n in out.items())
    go_shape = shape1(go1, lambda fr: fr[-1][1] == "runtime.main")
    py_shape = shape1(py1, lambda fr: fr[0][1].endswith("<locals>.main"))
    assert go_shape == py_shape == sorted([(7, "worker"), (3, "receiver"), (2, "selector"),
                                           (1, "forever"), (1, "nilrecv")])
    # the @ lists: a parked goroutine's has its runtime frames before the shown ones and
    # runtime.goexit last, in Go and here alike
    for text in (go1, py1):
        for count, pcs, frames, other in records(text):
            if _leaf(frames[0][1]) == "worker":
                assert len(pcs) == 3 + len(frames) + 1

    # debug=2: headers, wait reasons, created-by lines
    def shape2(text):
        out = collections.Counter()
        for goid, state, lines in blocks(text):
            created = [ln for ln in lines if ln.startswith("created by ")]
            if state == "running":
                out[("running", None)] += 1
                continue
            leaf = _leaf(lines[0].split("(")[0])
            c = _leaf(created[0].split()[2]) if created else None
            c = "main" if c == "shapes" else c      # shapes() is main's body here
            out[(state, leaf, c, created[0].endswith(" in goroutine 1"))] += 1
        return out
    assert shape2(go2) == shape2(py2)
    assert blocks(go2)[0][1] == blocks(py2)[0][1] == "running"


def test_leak_profile_same_verdicts_as_go(ce, go_shapes):
    _, _, goleak = go_shapes
    if not goleak:
        pytest.skip("this Go does not build with GOEXPERIMENT=goroutineleakprofile")

    def main():
        chans = shapes(ce)
        p = chanemu.pprof.goroutine_leak_profile(1)
        release(ce, *chans)
        return p
    p = ce.run(main)
    assert goleak.split("\n")[0] == p.split("\n")[0] == "goroutineleak profile: total 4"

    def shape(text):
        out = collections.Counter()
        for count, _, frames, _ in records(text):
            out[_leaf(frames[0][1])] += count
        return sorted((n, leaf) for leaf, n in out.items())
    assert shape(goleak) == shape(p) == [(1, "forever"), (1, "nilrecv"), (2, "worker")]


# -- the goroutineleak profile's formats ---------------------------------------------------
def test_leak_profile_formats(ce):
    def main():
        chans = shapes(ce)
        out = (chanemu.pprof.goroutine_leak_profile(1),
               chanemu.pprof.goroutine_leak_profile(2),
               chanemu.pprof.goroutine_leak_profile(0),
               chanemu.pprof.goroutine_leak_profile(1, annotate=True))
        release(ce, *chans)
        return out
    p1, p2, p0, pa = ce.run(main)
    assert p1.startswith("goroutineleak profile: total 4\n")
    bs = blocks(p2)
    assert len(bs) == 15        # every goroutine, as Go's debug=2 leak profile
    leaked = {b[1] for b in bs if "(leaked)" in b[1]}
    assert leaked == {"chan send (leaked)", "select (no cases) (leaked)",
                      "chan receive (nil chan) (leaked)"}
    assert sum("(leaked)" in b[1] for b in bs) == 4
    prof = _pbprof.decode(p0)
    assert prof["sample_type"] == ("goroutineleak", "count")
    assert sum(v[0] for v, _ in prof["samples"]) == 4
    assert "# chanemu: chan" in pa and "sendq positions 1-2 of 2" in pa
