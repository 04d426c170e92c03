"""The live view in a real browser: headless Chromium (Debian's chromium and chromedriver),
driven by selenium, against a running program on each twin. The fields and goroutines are on
the page, a park and a wake show up, the buttons pause and step the program, a trace replays
the same at every event forwards and backwards, and the console stays free of errors.

Skipped, with the reason, where chromium, chromedriver or selenium is missing (``.ci/run``
installs them)."""
import json
import os
import socket
import subprocess
import sys
import time

import pytest

import chanemu
import chanemu.liveview
import chanemu.trace
from chanemu._views import chan_id

import browser_helpers
from conftest import wait_parked
from liveview_helpers import pingpong, serve

WAIT = 10.0

pytestmark = pytest.mark.skipif(browser_helpers.missing() is not None,
                                reason=str(browser_helpers.missing()))


@pytest.fixture(scope="module")
def browser():
    drv = browser_helpers.chrome()
    yield drv
    drv.quit()


def until(drv, js, limit=WAIT):
    """Poll a JavaScript expression until it is truthy; returns its value and the seconds it
    took."""
    t0 = time.monotonic()
    while True:
        v = drv.execute_script("return " + js)
        if v:
            return v, time.monotonic() - t0
        if time.monotonic() - t0 > limit:
            raise AssertionError(f"never true: {js}")
        time.sleep(0.005)


def texts(drv, selector):
    return drv.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map(n => n.textContent)", selector)


def test_live_page_fields_park_and_wake(ce, browser):
    def setup():
        c = ce.Chan(3)
        c.send("a")
        c.send("b")
        return c, ce.Chan()

    def client(prog):
        c, u = prog.env
        cid, uid = chan_id(c), chan_id(u)
        browser.get(prog.base)
        sel = f'#hchans g.chan[data-chan="{cid}"]'
        until(browser, f"document.querySelector('{sel}')")
        assert texts(browser, f"{sel} text.field") == [
            "qcount=2", "dataqsiz=3", "sendx=2", "recvx=0", "closed=0"]
        assert texts(browser, f"{sel} .slot-index") == ["[0]", "[1]", "[2]"]
        assert len(texts(browser, f"{sel} rect.slot.held")) == 2
        assert texts(browser, f"{sel} .sendx") == ["▲ sendx"]
        assert texts(browser, f"{sel} .qlabel") == ["recvq (0)", "sendq (0)"]
        assert browser.find_element("id", "clock-kind").text == "real"
        assert browser.find_element("id", "impl").text == f"impl {ce.IMPL}"

        g = prog.do(lambda: ce.go(u.send, "hi"))
        box = f'#hchans g.chan[data-chan="{uid}"] g.sudog[data-g="{g.goid}"][data-q="sendq"]'
        _, took = until(browser, f"document.querySelector('{box}')")
        assert texts(browser, box) == [f"g{g.goid} 'hi'"]
        until(browser, "[...document.querySelectorAll('#goroutines li')].some(n => "
                       f"n.textContent.startsWith('g{g.goid} waiting [chan send] on chan {uid}'))")
        until(browser, "[...document.querySelectorAll('#events li')].some(n => "
                       f"n.textContent.startsWith('g{g.goid} parks [chan send] on chan {uid}'))")
        assert prog.do(u.recv) == "hi"
        until(browser, f"!document.querySelector('{box}')")
        assert browser_helpers.console_errors(browser) == []
        return took
    took = serve(ce, client, setup)
    print(f"park on the page after {took * 1000:.0f} ms (page poll included)")
    assert took < 2.0


def test_select_links_and_long_queues(ce, browser):
    """A goroutine parked in a select: its sudogs on both channels, marked sel, joined by a
    dashed link; a queue of 20 drawn by both ends with the count between."""
    def setup():
        a, b, long = ce.Chan(), ce.Chan(), ce.Chan()
        g = ce.go(lambda: ce.select(ce.recv(a), ce.send(b, "x")))
        senders = [ce.go(long.send, i) for i in range(20)]
        wait_parked(ce, g)
        for s in senders:
            wait_parked(ce, s)
        return a, b, long, g

    def client(prog):
        a, b, long, g = prog.env
        browser.get(prog.base)
        link = f'#hchans path.select-link[data-g="{g.goid}"]'
        until(browser, f"document.querySelector('{link}')")
        for ch, q in ((a, "recvq"), (b, "sendq")):
            box = (f'#hchans g.chan[data-chan="{chan_id(ch)}"] '
                   f'g.sudog[data-g="{g.goid}"][data-q="{q}"]')
            assert texts(browser, box) == [f"g{g.goid} sel" + (" 'x'" if q == "sendq" else "")]
        sel = f'#hchans g.chan[data-chan="{chan_id(long)}"]'
        e = chanemu.liveview._state.QUEUE_ENDS
        assert texts(browser, f"{sel} .more") == [f"… +{20 - 2 * e} more …"]
        assert len(texts(browser, f"{sel} g.sudog")) == 2 * e
        assert texts(browser, f"{sel} .qlabel") == ["recvq (0)", "sendq (20)"]
        assert browser_helpers.console_errors(browser) == []
        return True
    assert serve(ce, client, setup)


def test_pause_step_resume_buttons(ce, browser):
    counter, stop = [0], [False]

    def client(prog):
        try:
            browser.get(prog.base)
            until(browser, "document.getElementById('conn').textContent === 'live'")
            state = "document.getElementById('run-state').textContent"
            browser.find_element("id", "pause").click()
            until(browser, f"{state}.startsWith('paused')")
            n = counter[0]
            time.sleep(0.15)
            assert counter[0] == n
            browser.find_element("id", "step-op").click()
            where, _ = until(browser, f"{state}.includes('chan') && {state}")
            assert where.startswith("paused g") and counter[0] - n <= 1, where
            browser.find_element("id", "step-sched").click()
            until(browser, f"/^paused g\\d+ runs$/.test({state})")
            browser.find_element("id", "resume").click()
            until(browser, f"{state} === 'running'")
            deadline = time.monotonic() + WAIT
            while counter[0] < n + 10 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert counter[0] >= n + 10
            assert browser_helpers.console_errors(browser) == []
            return True
        finally:
            stop[0] = True
    assert serve(ce, client, lambda: pingpong(ce, counter, stop))


def _record(ce, path):
    """A small story: g parks sending on u, the buffered c fills, main takes from u (g wakes),
    c is closed."""
    def main():
        u, c = ce.Chan(), ce.Chan(2)
        chanemu.trace.start(str(path))
        g = ce.go(u.send, "v")
        wait_parked(ce, g)
        c.send(1)
        c.send(2)
        u.recv()
        c.close()
        chanemu.trace.stop()
        return chan_id(u), chan_id(c), g.goid
    return ce.run(main)


def test_replay_scrubs_forwards_and_backwards(ce, browser, tmp_path):
    path = tmp_path / "trace.json"
    uid, cid, g = _record(ce, path)

    def client(prog):
        browser.get(prog.base)
        browser.find_element("id", "tab-replay").click()
        browser.find_element("id", "trace-file").send_keys(str(path))
        n, _ = until(browser, "window.__chanemu.replay && window.__chanemu.replay.steps.length")
        pics = []
        for k in range(n):
            browser.execute_script("window.__chanemu.show(arguments[0])", k)
            pics.append(browser.find_element("id", "chans").get_attribute("innerHTML"))
        for k in reversed(range(n)):           # backwards: the same picture at each event
            browser.execute_script("window.__chanemu.show(arguments[0])", k)
            assert browser.find_element("id", "chans").get_attribute("innerHTML") == pics[k]
        parked = [k for k, p in enumerate(pics) if f'data-g="{g}" data-q="sendq"' in p]
        assert parked, "the park never shows"
        closed = [k for k, p in enumerate(pics) if 'class="chan closed"' in p]
        assert closed and closed[0] > parked[0] and closed[-1] == n - 1
        assert f'data-g="{g}" data-q="sendq"' not in pics[-1]       # woken by the receive
        browser.execute_script("window.__chanemu.show(0)")
        browser.find_element("id", "rp-next").click()
        assert browser.find_element("id", "rp-pos").text.startswith(f"event 2 / {n}:")
        browser.find_element("id", "rp-last").click()
        assert browser.find_element("id", "rp-pos").text.startswith(f"event {n} / {n}:")
        browser.find_element("id", "rp-prev").click()
        assert browser.find_element("id", "rp-pos").text.startswith(f"event {n - 1} / {n}:")
        assert browser_helpers.console_errors(browser) == []
        return True
    assert serve(ce, client)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_leak_demo_view_screenshot(ce, browser, tmp_path):
    """``leak-demo --view``: the page on the leaking program shows the sendq growing; a
    screenshot is taken (kept in CHANEMU_SCREENSHOT_DIR when set, for the README)."""
    port = _free_port()
    env = dict(os.environ, CHANEMU_IMPL=ce.IMPL)
    proc = subprocess.Popen([sys.executable, "-m", "chanemu", "leak-demo", "--view", "--pprof",
                             f"127.0.0.1:{port}", "--heartbeats", "60", "--every-ms", "60"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    try:
        first = proc.stdout.readline().decode()
        assert f"http://127.0.0.1:{port}/debug/chanemu/" in first
        deadline = time.monotonic() + WAIT
        while True:
            try:
                browser.get(f"http://127.0.0.1:{port}/debug/chanemu/")
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        sendq = "document.querySelector('#hchans .qlabel[data-q=\"sendq\"]')"
        until(browser, f"{sendq} && parseInt({sendq}.textContent.match(/\\((\\d+)\\)/)[1]) >= 12",
              limit=30)
        shot = tmp_path / "liveview.png"
        browser.save_screenshot(str(shot))
        keep = os.environ.get("CHANEMU_SCREENSHOT_DIR")
        if keep:
            browser.save_screenshot(os.path.join(keep, f"liveview-leak-{ce.IMPL}.png"))
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
        assert browser_helpers.console_errors(browser) == []
        browser.get("about:blank")          # the stream closes before the program ends
    finally:
        out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out.decode()[-2000:]


def test_replay_of_a_capped_queue(ce, browser, tmp_path, monkeypatch):
    """A queue recorded past TRACE_CAP replays as its head and "≥ N"."""
    monkeypatch.setattr(chanemu.trace, "TRACE_CAP", 3)
    path = tmp_path / "trace.json"

    def main():
        u = ce.Chan()
        chanemu.trace.start(str(path))
        for i in range(6):
            wait_parked(ce, ce.go(u.send, i))
        chanemu.trace.stop()
        return chan_id(u)
    uid = ce.run(main)

    def client(prog):
        browser.get(prog.base)
        browser.find_element("id", "tab-replay").click()
        browser.find_element("id", "trace-file").send_keys(str(path))
        until(browser, "window.__chanemu.replay && window.__chanemu.replay.steps.length")
        browser.find_element("id", "rp-last").click()
        sel = f'#hchans g.chan[data-chan="{uid}"]'
        assert texts(browser, f"{sel} .qlabel") == ["recvq (0)", "sendq (≥ 4)"]
        assert texts(browser, f"{sel} .more") == ["… more …"]
        assert len(texts(browser, f"{sel} g.sudog")) == 4
        assert browser_helpers.console_errors(browser) == []
        return True
    assert serve(ce, client)
