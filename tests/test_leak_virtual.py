"""The article's leak over a virtual day, and the context-based fix.

``chanemu.leakdemo.program`` is the article's program with ``chanemu.time.sleep(0.5)`` heartbeats.
On the virtual clock a day of it (172,800 heartbeats) runs in seconds: the clock jumps from one
heartbeat to the next, since every goroutine is blocked in between. At the end the struct is what
the production server's pprof showed, in miniature: 5 values in the buffer and one parked sender per
heartbeat since the 6th, each waiting for as long as Go would say.
"""
import io
import time as wall

import pytest

DAY_HEARTBEATS = 24 * 3600 * 2            # 172,800 heartbeats of 500 ms
S = 1_000_000_000


def test_a_virtual_day_of_the_leak_struct_level(ce):
    from chanemu import leakdemo
    seen = {}

    def check(ch):
        h = ch.hchan
        rt = ce._impl.current_runtime()
        seen["clock"] = rt.nanotime()
        seen["qcount"], seen["dataqsiz"] = h.qcount, h.dataqsiz
        seen["buf"] = h.buf
        seen["sendx"], seen["recvx"], seen["closed"] = h.sendx, h.recvx, h.closed
        seen["recvq"] = len(h.recvq)
        q = h.sendq
        seen["sendq"] = len(q)
        first, last = q[0], q[len(q) - 1]
        seen["first"] = (first.elem, first.g.wait_reason, first.g.waiting_on == (ch,),
                         first.is_select, first.c is ch)
        seen["last"] = (last.elem, last.g.wait_reason)
        seen["goroutines"] = ce.runtime.num_goroutine()
        seen["sudogs_in_use"] = ce.runtime.memstats()["sudogs_in_use"]
        seen["first_header"] = first.g.stack().split("\n", 1)[0]
        seen["last_header"] = last.g.stack().split("\n", 1)[0]
        seen["first_goid"] = first.g.goid

    out = io.StringIO()
    w = wall.perf_counter()
    res = ce.run(leakdemo.program, DAY_HEARTBEATS, 0.5, "leak", out.write, False, check,
                 clock="virtual")
    took = wall.perf_counter() - w
    assert took < 60, f"a virtual day took {took:.1f} s of wall time"

    assert seen["clock"] == 86_400 * S                      # exactly 24 h of virtual time
    assert seen["qcount"] == seen["dataqsiz"] == 5
    assert seen["buf"] == (1, 2, 3, 4, 5)
    assert (seen["sendx"], seen["recvx"], seen["closed"], seen["recvq"]) == (0, 0, 0, 0)
    assert seen["sendq"] == 172_795
    assert seen["first"] == (6, "chan send", True, False, True)
    assert seen["last"] == (172_800, "chan send")
    assert seen["goroutines"] == 172_796                    # main and every parked sender
    assert seen["sudogs_in_use"] == 172_795
    # heartbeat 6 parked at 3 s: a day later Go would print 1439 minutes; the last, just now
    assert seen["first_header"] == f"goroutine {seen['first_goid']} [chan send, 1439 minutes]:"
    assert seen["last_header"].endswith("[chan send]:")
    assert res.sendq == 172_795 and res.qcount == 5 and res.clock_ns == 86_400 * S

    text = out.getvalue()
    assert "  24:00:00     172,800     172,796   hchan: 5/5" in text
    assert text.count("\n") < 200                           # progress per hour, not per heartbeat
    assert "[chan send, 1439 minutes]" in text
    assert "goroutine profile: total 172796\n    172795 @ 0x" in text   # pprof's grouped profile
    assert "chanemu.leakdemo.article.program.<locals>.heartbeat+0x" in text


def test_the_context_fix_leaves_zero_goroutines_behind(ce):
    """Senders park in select on ch and ctx.done(); cancel() releases every one of them."""
    from chanemu import leakdemo
    heartbeats = 7200                                       # an hour of virtual time
    seen = {}

    def check(ch):
        h = ch.hchan
        seen["sendq"] = len(h.sendq)
        seen["all_select"] = all(sg.is_select for sg in h.sendq)
        seen["reasons"] = {g.wait_reason for g in ce.runtime.goroutines()} - {None}
        seen["goroutines"] = ce.runtime.num_goroutine()

    def main():
        res = leakdemo.program(heartbeats, 0.5, "ctx", io.StringIO().write, False, check)
        left = [g for g in ce.runtime.goroutines() if g is not ce.runtime.current()]
        return res, left, ce.runtime.memstats()

    res, left, mem = ce.run(main, clock="virtual")
    # before the shutdown: the same pile-up as the leak, parked in select instead of chan send
    assert seen == {"sendq": heartbeats - 5, "all_select": True, "reasons": {"select"},
                    "goroutines": heartbeats - 4}
    # after cancel() and wg.wait(): nothing left
    assert res.goroutines_after_cancel == 1
    assert res.sendq_after_cancel == 0
    assert left == []
    assert mem["goroutines"] == 1 and mem["sudogs_in_use"] == 0


def test_the_articles_fix_stays_flat(ce):
    from chanemu import leakdemo

    def check(ch):
        assert ch.hchan.qcount == 0 and len(ch.hchan.sendq) == 0
        assert ce.runtime.num_goroutine() == 1

    res = ce.run(leakdemo.program, 3600, 0.5, "fixed", io.StringIO().write, False, check,
                 clock="virtual")
    assert res.goroutines == 1 and res.clock_ns == 1800 * S


@pytest.mark.parametrize("variant", ["leak", "fixed", "ctx"])
def test_demo_report_per_heartbeat(ce, variant):
    """The short report: one line per heartbeat, then the struct, the dump and the groups."""
    from chanemu import leakdemo
    out = io.StringIO()
    assert leakdemo.main(heartbeats=8, every=0.5, variant=variant, clock="virtual", out=out) == 0
    text = out.getvalue()
    assert "Running on" in text and "8 heartbeats, 500ms apart (4s of virtual time" in text
    assert "time.Sleep(500 * time.Millisecond)" in text
    lines = [ln for ln in text.splitlines() if "goroutine count:" in ln and "hchan:" in ln]
    assert len(lines) == 8
    if variant == "fixed":
        assert lines[-1].endswith("hchan: 0/5  sendx=0 recvx=0  len(sendq)=0")
    else:
        assert lines[-1].endswith(f"len(sendq)=3   <- g{8 + 2} parked "
                                  f"[{'select' if variant == 'ctx' else 'chan send'}]")
    if variant == "ctx":
        assert "zero goroutines left behind" in text
        assert "context.WithCancel(context.Background())" in text


def test_demo_with_a_duration_on_the_virtual_clock(ce):
    from chanemu import leakdemo
    out = io.StringIO()
    leakdemo.main(duration=90, every=0.5, clock="virtual", out=out)
    text = out.getvalue()
    assert "180 heartbeats" in text
    assert "   0:01:30         180         176   hchan: 5/5" in text
    assert "sendq (175): [g8 6] -> [g9 7] -> [g10 8] -> [g11 9] -> ... 167 more ... -> " \
           "[g179 177] -> [g180 178] -> [g181 179] -> [g182 180]" in text
    assert "1m30s of virtual time in" in text


def test_demo_on_the_real_clock(ce):
    from chanemu import leakdemo
    out = io.StringIO()
    w = wall.monotonic()
    leakdemo.main(heartbeats=3, every=0.02, out=out)
    assert wall.monotonic() - w >= 0.06
    assert "3 heartbeats, 20ms apart" in out.getvalue()


def test_duration_option_parsing():
    import argparse
    from chanemu import __main__ as cli
    assert cli._duration("24h") == 86400.0
    assert cli._duration("90s") == 90.0
    assert cli._duration("500ms") == 0.5
    for bad in ("1d", "0s", "-1h", "soon"):
        with pytest.raises(argparse.ArgumentTypeError):
            cli._duration(bad)
