"""Leak detection three ways: the goroutineleak profile (reachability), verify_none and its pytest
plugin (goleak), and Watch (growth).

The reachability corpus: small programs, leaking and not, each with the verdict Go 1.26's
goroutineleak profile gives for the same program (the leaked goroutines' wait reasons and the
functions they are parked in).
"""
import gc
import importlib.metadata
import re
import textwrap

import pytest

import chanemu
import chanemu.leak
import chanemu.pprof
from chanemu import _gsnap
from chanemu.leak import LeakError

from conftest import wait_parked
import obs_helpers


def verdict():
    """The leaked goroutines as sorted (wait reason, innermost function's name)."""
    return sorted((g.wait_reason, _gsnap.goroutine_frames(g, g.frame)[0][0].rsplit(".", 1)[-1])
                  for g in chanemu.pprof.leaked_goroutines())


# -- the corpus ------------------------------------------------------------------------------
def process_item(ch, i):
    ch.send(i)                              # parks for good once nobody receives


def process_work_items(ce, n):
    """Go 1.26 release notes' example: return early on the first result; the other senders on
    the unbuffered channel leak."""
    ch = ce.Chan()
    for i in range(n):
        ce.go(process_item, ch, i)
    return ch.recv()


def prog_early_return(ce):
    process_work_items(ce, 5)
    ce.runtime.gosched()
    return verdict(), [("chan send", "process_item")] * 4


def pool_worker(jobs):
    for _ in jobs:
        pass


def prog_idle_pool(ce):
    jobs = ce.Chan()
    for _ in range(3):
        ce.go(pool_worker, jobs)
    ce.runtime.gosched()
    got = verdict()
    jobs.close()            # main still uses jobs: the workers are idle, not leaked
    return got, []


def start_pool(ce):
    jobs = ce.Chan()
    for _ in range(3):
        ce.go(pool_worker, jobs)
    jobs.send("only job")   # ... and returns without closing jobs


def prog_abandoned_pool(ce):
    start_pool(ce)
    ce.runtime.gosched()
    return verdict(), [("chan receive", "pool_worker")] * 3


def nil_receiver(ce):
    ce.nilchan.recv()


def nil_sender(ce):
    ce.nilchan.send(1)


def block_forever(ce):
    ce.select()


def prog_nil_and_select_nothing(ce):
    ce.go(nil_receiver, ce)
    ce.go(nil_sender, ce)
    ce.go(block_forever, ce)
    ce.runtime.gosched()
    return verdict(), [("chan receive (nil chan)", "nil_receiver"),
                       ("chan send (nil chan)", "nil_sender"),
                       ("select (no cases)", "block_forever")]


GLOBAL_CHAN = {}


def recv_global(key):
    GLOBAL_CHAN[key].recv()


def prog_reachable_from_a_global(ce):
    GLOBAL_CHAN[ce.IMPL] = ce.Chan()       # reachable from a module's globals: not a leak
    ce.go(recv_global, ce.IMPL)
    ce.runtime.gosched()
    got = verdict()
    GLOBAL_CHAN[ce.IMPL].send(None)
    del GLOBAL_CHAN[ce.IMPL]
    return got, []


def sleeper_holding(ch, seconds):
    obs_helpers.sleep(seconds)
    ch.send("late")


def receiver(ch):
    ch.recv()


def start_pair(ce):
    ch = ce.Chan()
    ce.go(receiver, ch)
    ce.go(sleeper_holding, ch, 5)


def prog_reachable_from_a_sleeper(ce):
    start_pair(ce)                  # only the sleeping goroutine holds ch: it can still send
    ce.runtime.gosched()
    return verdict(), []


def relay(src, dst):
    dst.send(src.recv())


def start_chain(ce, head):
    a = ce.Chan()
    ce.go(receiver, a)              # parked on a: only relay's frame holds a
    ce.go(relay, head, a)           # parked on head: main holds head


def prog_reachable_through_a_chain(ce):
    head = ce.Chan()
    start_chain(ce, head)
    ce.runtime.gosched()
    got = verdict()                 # relay is eventually runnable, so a is reached: no leak
    head.send(1)
    return got, []


def start_cycle(ce):
    a, b = ce.Chan(), ce.Chan()
    ce.go(relay, a, b)              # parked on a; its frame holds b
    ce.go(relay, b, a)              # parked on b; its frame holds a


def prog_cycle_of_parked_goroutines(ce):
    start_cycle(ce)
    ce.runtime.gosched()
    return verdict(), [("chan receive", "relay")] * 2


def reply_waiter(requests):
    reply = chanemu._impl.Chan()
    requests.send(reply)            # a buffered request channel: this does not block
    reply.recv()


def prog_reply_channel_in_a_buffer(ce):
    requests = ce.Chan(4)
    for _ in range(2):
        ce.go(reply_waiter, requests)
    ce.runtime.gosched()
    got = verdict()                 # the reply channels sit in requests' buffer: reachable
    for _ in range(2):
        requests.recv().send("ok")
    return got, []


def start_waiter_on_timer(ce):
    ch = ce.Chan()
    rt = chanemu._impl.current_runtime()
    t = rt.newtimer(lambda c, now: c.close(), ch)
    rt.addtimer(t, rt.nanotime() + 10**9)
    ce.go(receiver, ch)             # only the pending timer holds ch: it will close it


def prog_reachable_from_a_timer(ce):
    start_waiter_on_timer(ce)
    ce.runtime.gosched()
    got = verdict()
    obs_helpers.sleep(2)
    return got, []


def start_holding_handle(ce):
    ch = ce.Chan()
    return ce.go(receiver, ch)      # the caller keeps the goroutine's handle, not ch


def prog_handle_does_not_keep_channels(ce):
    g = start_holding_handle(ce)
    ce.runtime.gosched()
    got = verdict()
    assert g.status == "waiting"
    return got, [("chan receive", "receiver")]


def late_sender(ch):
    ch.send(1)


def prog_runnable_arguments_are_roots(ce):
    ch = ce.Chan()
    g = ce.go(receiver, ch)
    wait_parked(ce, g)
    ce.go(late_sender, ch)          # not started yet: its arguments hold ch
    del ch
    got = verdict()
    ce.runtime.gosched()
    return got, []


def selector(a, b):
    chanemu._impl.select(chanemu._impl.RecvCase(a), chanemu._impl.RecvCase(b))


def start_selects(ce, kept):
    ce.go(selector, kept, ce.Chan())        # one case reachable: not leaked
    ce.go(selector, ce.Chan(), ce.Chan())   # no case reachable: leaked
    ce.go(selector, chanemu._impl.nilchan, ce.Chan())   # a nil case never counts


def prog_select(ce):
    kept = ce.Chan()
    start_selects(ce, kept)
    ce.runtime.gosched()
    got = verdict()
    kept.send(1)
    return got, [("select", "selector")] * 2


def prog_buffered_sender_reachable_by_elem(ce):
    """A goroutine parked sending a channel value: the channel it sends is reachable through
    the sudog's elem once the channel it is parked on is."""
    outer = ce.Chan()

    def send_inner():
        inner = ce.Chan()
        ce.go(receiver, inner)
        outer.send(inner)           # parked; outer is main's
    ce.go(send_inner)
    ce.runtime.gosched()
    got = verdict()
    outer.recv().send(0)
    return got, []


def heartbeat_loop(ce, beats, every):
    """The article's heartbeat, in a function that returns after a few beats: once it has
    returned, nothing holds ch any more."""
    ch = ce.Chan(5)

    def exporter():
        return                      # flag is false: the early return

    ce.go(exporter)
    for i in range(beats):
        obs_helpers.sleep(every)

        def heartbeat(i=i):
            ch.send(i)
        ce.go(heartbeat)


def prog_article_heartbeat_returned(ce):
    heartbeat_loop(ce, 12, 0.5)
    ce.runtime.gosched()
    return verdict(), [("chan send", "heartbeat")] * 7


def prog_article_as_written(ce):
    """The article's program as written: main still holds ch (its loop sends through the
    closures it makes), so ch is reachable and the goroutineleak profile is silent, in Go as
    here. Go's documented limit; Watch reports this one."""
    ch = ce.Chan(5)
    ce.go(lambda: None)             # the exporter, returned at once
    for i in range(12):
        obs_helpers.sleep(0.5)

        def heartbeat(i=i):
            ch.send(i)
        ce.go(heartbeat)
    ce.runtime.gosched()
    assert len(ch.hchan.sendq) == 7
    return verdict(), []


CORPUS = [prog_early_return, prog_idle_pool, prog_abandoned_pool, prog_nil_and_select_nothing,
          prog_reachable_from_a_global, prog_reachable_from_a_sleeper,
          prog_reachable_through_a_chain, prog_cycle_of_parked_goroutines,
          prog_reply_channel_in_a_buffer, prog_reachable_from_a_timer,
          prog_handle_does_not_keep_channels, prog_runnable_arguments_are_roots, prog_select,
          prog_buffered_sender_reachable_by_elem, prog_article_heartbeat_returned,
          prog_article_as_written]


@pytest.mark.parametrize("prog", CORPUS, ids=[p.__name__[5:] for p in CORPUS])
def test_leak_corpus(ce, prog):
    got, want = ce.run(prog, ce, clock="virtual")
    assert got == sorted(want)


def test_leak_profile_matches_the_detector(ce):
    def main():
        process_work_items(ce, 6)
        start_cycle(ce)
        ce.runtime.gosched()
        return (chanemu.pprof.goroutine_leak_profile(1),
                [g.goid for g in chanemu.pprof.leaked_goroutines()])
    text, goids = ce.run(main)
    assert text.startswith(f"goroutineleak profile: total {len(goids)}\n") and len(goids) == 7
    assert "\n5 @ " in text and "\n2 @ " in text


def test_main_in_select_nothing_is_not_reported(ce):
    """Go reverts main blocked in select {} (it is how Go programs wait forever)."""
    seen = []

    def observer():
        seen.append(verdict())

    def main():
        ce.go(observer)
        ce.go(block_forever, ce)
        ce.select()
    with pytest.raises(ce.Deadlock):
        ce.run(main)
    assert seen == [[("select (no cases)", "block_forever")]]


def test_leak_detection_from_another_thread(ce):
    def main():
        process_work_items(ce, 3)
        ce.runtime.gosched()        # the two others run and park
        rt = chanemu._impl.current_runtime()
        gs = obs_helpers.run_beside(lambda: chanemu.pprof.leaked_goroutines(rt))
        return [g.wait_reason for g in gs]
    assert ce.run(main) == ["chan send", "chan send"]


# -- verify_none -----------------------------------------------------------------------------
def finishing(ce, steps):
    for _ in range(steps):
        ce.runtime.gosched()


def test_verify_none_passes_and_fails(ce):
    def main():
        chanemu.leak.verify_none()                    # nothing but main
        ce.go(finishing, ce, 5)                       # on its way out: the retries let it end
        chanemu.leak.verify_none()
        c = ce.Chan()
        g = ce.go(process_item, c, 1)
        wait_parked(ce, g)
        with pytest.raises(LeakError) as ei:
            chanemu.leak.verify_none()
        err = ei.value
        assert isinstance(err, AssertionError)
        assert [r.goid for r in err.goroutines] == [g.goid]
        msg = str(err)
        assert msg.startswith("found unexpected goroutines:\n")
        assert (f"Goroutine {g.goid} in state chan send, with test_leak.process_item on top "
                f"of the stack:\ngoroutine {g.goid} [chan send]:\n"
                f"test_leak.process_item(...)\n") in msg
        assert "created by test_leak.test_verify_none_passes_and_fails.<locals>.main" in msg
        c.recv()
        chanemu.leak.verify_none()
        return True
    assert ce.run(main)


def test_verify_none_ignores(ce):
    def main():
        c = ce.Chan()
        g = ce.go(process_item, c, 1)
        h = ce.go(receiver, ce.Chan())
        ce.runtime.gosched()
        opts = chanemu.leak
        for ignore in ([g, h], [g.goid, h.goid], ["test_leak.process_item", h],
                       [opts.ignore_top_function("test_leak.receiver"), g],
                       [opts.ignore_any_function("test_leak.receiver"), g.goid],
                       opts.ignore_created_by(
                           "test_leak.test_verify_none_ignores.<locals>.main"),
                       lambda handle: handle.wait_reason.startswith("chan "),
                       [opts.ignore_current()]):
            chanemu.leak.verify_none(ignore=ignore)
        with pytest.raises(LeakError) as ei:
            chanemu.leak.verify_none(ignore=[g])
        assert [r.goid for r in ei.value.goroutines] == [h.goid]
        assert [r.goid for r in chanemu.leak.find(ignore=h)] == [g.goid]
        with pytest.raises(TypeError):
            chanemu.leak.verify_none(ignore=[1.5])
        c.recv()
        return True
    assert ce.run(main)


def test_verify_none_retries_are_bounded_and_never_sleep(ce):
    def main():
        stop = []

        def spinner():
            while not stop:
                ce.runtime.gosched()
        ce.go(spinner)
        rt = chanemu._impl.current_runtime()
        t0 = rt.nanotime()
        with pytest.raises(LeakError) as ei:
            chanemu.leak.verify_none(retries=7)
        assert rt.nanotime() == t0          # the virtual clock never moved: no sleeping
        assert "in state runnable" in str(ei.value)
        ce.go(finishing, ce, 3)
        with pytest.raises(LeakError):
            chanemu.leak.verify_none(retries=0)
        stop.append(True)
        chanemu.leak.verify_none(retries=10)
        return True
    assert ce.run(main, clock="virtual")


def test_verify_none_in_the_default_runtime(ce):
    """Outside run(), the caller is goroutine 1 of the thread's default runtime."""
    before = chanemu.leak.ignore_current()
    c = ce.Chan()
    g = ce.go(process_item, c, 1)
    ce.runtime.gosched()
    with pytest.raises(LeakError):
        chanemu.leak.verify_none(ignore=before)
    c.recv()
    chanemu.leak.verify_none(ignore=before)
    assert g.status == "dead"


# -- the pytest plugin, through pytester ---------------------------------------------------
pytest_plugins = ["pytester"]

PLUGIN_TESTS = textwrap.dedent("""\
    import pytest
    import chanemu

    def park(c):
        c.send(1)

    LEFT = []

    @pytest.mark.goleak
    def test_leaks():
        c = chanemu.Chan()
        LEFT.append(c)
        chanemu.go(park, c)

    @pytest.mark.goleak
    def test_clean():
        c = chanemu.Chan()
        chanemu.go(park, c)
        c.recv()

    def test_unmarked_leak():
        c = chanemu.Chan()
        LEFT.append(c)
        chanemu.go(park, c)

    @pytest.mark.goleak(ignore="test_plugin_inner.park")
    def test_ignored_leak():
        c = chanemu.Chan()
        LEFT.append(c)
        chanemu.go(park, c)

    @pytest.mark.goleak(check=False)
    def test_exempt_leak():
        c = chanemu.Chan()
        LEFT.append(c)
        chanemu.go(park, c)
    """)


def _entry_point_installed():
    return any(ep.value == "chanemu.pytest_plugin"
               for ep in importlib.metadata.entry_points(group="pytest11"))


def _run_inner(pytester, monkeypatch, ce, *args):
    monkeypatch.setenv("CHANEMU_IMPL", ce.IMPL)
    pytester.makepyfile(test_plugin_inner=PLUGIN_TESTS)
    extra = [] if _entry_point_installed() else ["-p", "chanemu.pytest_plugin"]
    return pytester.runpytest_subprocess(*extra, "-p", "no:cacheprovider", "-q", *args,
                                         timeout=120)


def test_plugin_entry_point_is_declared():
    import tomllib
    import os
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(here, "pyproject.toml"), "rb") as f:
        meta = tomllib.load(f)
    assert meta["project"]["entry-points"]["pytest11"] == {"chanemu": "chanemu.pytest_plugin"}


def test_plugin_marker(ce, pytester, monkeypatch):
    r = _run_inner(pytester, monkeypatch, ce)
    r.assert_outcomes(passed=4, failed=1)
    out = r.stdout.str()
    assert "FAILED test_plugin_inner.py::test_leaks" in out
    assert "found unexpected goroutines:" in out
    assert "with test_plugin_inner.park on top of the stack" in out


def test_plugin_option(ce, pytester, monkeypatch):
    r = _run_inner(pytester, monkeypatch, ce, "--chanemu-goleak")
    r.assert_outcomes(passed=3, failed=2)
    out = r.stdout.str()
    assert "FAILED test_plugin_inner.py::test_leaks" in out
    assert "FAILED test_plugin_inner.py::test_unmarked_leak" in out


# -- Watch -----------------------------------------------------------------------------------
def article(ce, seconds, fixed, watch):
    """The article's program on the virtual clock: a heartbeat every 0.5 s for `seconds`."""
    ch = ce.Chan(5)
    flag = False

    def exporter():
        if not flag:
            return
        for v in ch:
            print("receive channel message:", v)
    ce.go(exporter)
    with watch:
        for i in range(int(seconds * 2)):
            obs_helpers.sleep(0.5)

            def heartbeat():
                ce.runtime.num_goroutine()
                if fixed and not flag:
                    return
                ch.send(1)                                  # HEARTBEAT SEND
            ce.go(heartbeat)
    return ch


HEARTBEAT_LINE = [i for i, ln in enumerate(open(__file__).read().split("\n"), 1)
                  if ln.strip().endswith("# HEARTBEAT SEND")][0]


def test_watch_names_the_heartbeat_send(ce):
    reports = []

    def main():
        w = chanemu.leak.Watch(1.0, on_report=reports.append)
        ch = article(ce, 12, False, w)
        return w, chanemu._views.chan_id(ch), ch
    w, cid, ch = ce.run(main, clock="virtual")
    assert w.error is None and w.samples >= 10
    assert len(reports) == 1 and w.reports == reports
    rep = reports[0]
    assert (rep.file, rep.line, rep.wait_reason) == (__file__, HEARTBEAT_LINE, "chan send")
    assert rep.function.endswith("article.<locals>.heartbeat")
    assert rep.detected_at <= 8.0                    # within a few virtual seconds
    counts = [n for _, n in rep.counts]
    assert len(counts) == 4 and counts == sorted(set(counts))
    assert rep.chan_id == cid and rep.chan is ch
    assert (rep.hchan.qcount, rep.hchan.dataqsiz) == (5, 5)
    assert len(rep.hchan.sendq) == rep.count
    text = str(rep)
    assert f"{__file__}:{HEARTBEAT_LINE}" in text and "qcount=5 dataqsiz=5" in text


def test_watch_is_silent_on_the_fixed_program(ce):
    def main():
        w = chanemu.leak.Watch(1.0)
        article(ce, 12, True, w)
        return w
    w = ce.run(main, clock="virtual")
    assert w.samples >= 10 and w.reports == [] and w.error is None


def test_watch_does_not_hide_a_deadlock(ce):
    def main():
        chanemu.leak.Watch(0.5).start()
        ce.Chan().recv()
    with pytest.raises(ce.Deadlock):
        ce.run(main, clock="virtual")


def test_watch_manual_samples_and_a_stable_pool(ce):
    def main():
        jobs = ce.Chan()
        w = chanemu.leak.Watch(1.0, window=2)
        for k in range(3):
            ce.go(pool_worker, jobs)
            ce.runtime.gosched()
            w.sample()
        assert len(w.reports) == 1                    # 1 -> 2 -> 3: growing
        for _ in range(3):
            assert w.sample() == []                   # reported once
        w2 = chanemu.leak.Watch(1.0, window=2)
        for _ in range(4):
            w2.sample()                               # 3 -> 3 -> 3: a stable pool
        jobs.close()
        return w.reports[0], w2.reports
    rep, none = ce.run(main)
    assert rep.wait_reason == "chan receive" and rep.function == "test_leak.pool_worker"
    assert [n for _, n in rep.counts] == [1, 2, 3] and none == []
    for bad in (0, -1):
        with pytest.raises(ValueError):
            chanemu.leak.Watch(bad)
    with pytest.raises(ValueError):
        chanemu.leak.Watch(1, window=0)


def test_watch_keeps_no_channel_alive(ce):
    def main():
        w = chanemu.leak.Watch(1.0, window=1)
        c = ce.Chan()
        w.sample()
        g = ce.go(process_item, c, 1)
        wait_parked(ce, g)
        w.sample()
        assert w.reports[0].chan is c
        c.recv()
        w.stop()
        return w
    w = ce.run(main)
    gc.collect()
    assert w.reports[0].chan is None and w.reports[0].hchan is not None


PLUGIN_RUN_TESTS = textwrap.dedent("""\
    import threading
    import pytest
    import chanemu
    import chanemu.leak

    def park(c):
        c.send(1)

    def leaky_main():
        chanemu.go(park, chanemu.Chan())
        chanemu.runtime.gosched()

    def clean_main():
        c = chanemu.Chan()
        chanemu.go(park, c)
        c.recv()

    @pytest.mark.goleak
    def test_run_leaks():
        chanemu.run(leaky_main)

    @pytest.mark.goleak
    def test_run_clean():
        chanemu.run(clean_main)

    @pytest.mark.goleak(ignore="test_plugin_run.park")
    def test_run_ignored():
        chanemu.run(leaky_main)

    @pytest.mark.goleak(ignore=chanemu.leak.ignore_created_by("test_plugin_run.leaky_main"))
    def test_run_ignored_creator():
        chanemu.run(leaky_main)

    @pytest.mark.goleak(discarded=False)
    def test_run_not_checked():
        chanemu.run(leaky_main)

    @pytest.mark.goleak
    def test_other_thread_not_mine():
        t = threading.Thread(target=chanemu.run, args=(leaky_main,))
        t.start()
        t.join()

    @pytest.mark.goleak(discarded="all")
    def test_other_thread_all():
        t = threading.Thread(target=chanemu.run, args=(leaky_main,))
        t.start()
        t.join()

    BACKGROUND = {}

    @pytest.fixture
    def background_program():
        # a program started before the test, on another thread, ending during the test
        started, end = threading.Event(), threading.Event()

        def main():
            chanemu.go(park, chanemu.Chan())
            chanemu.runtime.gosched()
            started.set()
            end.wait()
        t = threading.Thread(target=chanemu.run, args=(main,))
        t.start()
        started.wait()

        def finish():
            end.set()
            t.join()
        yield finish
        finish()

    @pytest.mark.goleak(discarded="all")
    def test_what_ran_before_is_ignored(background_program):
        background_program()            # it ends, discarding its parked goroutine, in the test
        chanemu.run(clean_main)
    """)


def test_plugin_reports_goroutines_run_discarded(ce, pytester, monkeypatch):
    monkeypatch.setenv("CHANEMU_IMPL", ce.IMPL)
    pytester.makepyfile(test_plugin_run=PLUGIN_RUN_TESTS)
    extra = [] if _entry_point_installed() else ["-p", "chanemu.pytest_plugin"]
    r = pytester.runpytest_subprocess(*extra, "-p", "no:cacheprovider", "-q", timeout=120)
    r.assert_outcomes(passed=6, failed=2)
    out = r.stdout.str()
    assert "FAILED test_plugin_run.py::test_run_leaks" in out
    assert "FAILED test_plugin_run.py::test_other_thread_all" in out
    assert "found goroutines that run() discarded at the end of their program" in out
    assert "Goroutine 2 in state chan send, with test_plugin_run.park on top of the stack" in out


def test_plugin_failure_shows_no_plugin_code(ce, pytester, monkeypatch):
    """A failing check prints goleak's message and the goroutine's stack, nothing else."""
    r = _run_inner(pytester, monkeypatch, ce, "-k", "test_leaks")
    r.assert_outcomes(failed=1)
    out = r.stdout.str()
    start = out.index("___ test_leaks ___")
    end = out.index("short test summary")
    body = out[start:end].splitlines()[1:]
    body = [ln for ln in body if ln.strip() and not ln.startswith("=")]
    assert body[0] == "found unexpected goroutines:"
    assert body[1].startswith("Goroutine ") and "test_plugin_inner.park on top" in body[1]
    assert re.fullmatch(r"goroutine \d+ \[chan send\]:", body[2])
    assert body[3] == "test_plugin_inner.park(...)"
    assert body[4].startswith(f"\t{pytester.path / 'test_plugin_inner.py'}:5 +0x")
    assert "pytest_plugin" not in out and "verify_none" not in out and "def " not in out
    assert len(body) <= 8, body
