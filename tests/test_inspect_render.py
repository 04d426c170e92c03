"""chanemu.inspect(ch): the SVG / HTML rendering for notebooks."""
import xml.etree.ElementTree as ET

import pytest

from conftest import wait_parked

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg):
    root = ET.fromstring(svg)
    assert root.tag == SVG + "svg"
    return root


def texts(root):
    return [t.text for t in root.iter(SVG + "text")]


def test_ring_buffer_drawing(ce):
    def main():
        c = ce.Chan(5)
        for v in ("a", "<b>", "c&d", "e", "f"):
            c.send(v)
        c.recv()
        c.send("g")                 # wrapped: sendx == recvx == 1, the ring full
        senders = [ce.go(c.send, k) for k in (7, 8, 9)]
        wait_parked(ce, senders[-1])
        st = ce.inspect(c)
        out = st.to_svg(), st._repr_html_(), st._repr_svg_(), st
        for _ in range(8):
            c.recv()
        return out
    svg, html, svg2, st = ce.run(main)
    root = parse(svg)
    assert svg2 == svg and html.startswith('<div class="chanemu-hchan"') and svg in html
    slots = [r for r in root.iter(SVG + "rect") if r.get("class", "").startswith("slot")]
    assert len(slots) == 5 and all(r.get("class") == "slot held" for r in slots)
    t = texts(root)
    assert f"hchan #{st.id}" in t
    assert "qcount=5 dataqsiz=5 closed=0 sendx=1 recvx=1" in t
    assert "'<b>'" in t and "'c&d'" in t               # escaped in the file, intact parsed
    assert "<b>" not in svg.replace("'<b>'", "")
    assert t.count("▲ sendx") == 1 and t.count("▲ recvx") == 1
    assert [x for x in t if x and x.startswith("[")] == [f"[{i}]" for i in range(5)]
    sudogs = [r for r in root.iter(SVG + "rect") if r.get("class") == "sudog"]
    assert len(sudogs) == 3
    assert [x for x in t if x and x.startswith("g")] == [f"g{s.goid} {s.elem}" for s in st.sendq]
    assert "sendq (3)" in t and "recvq (0)" in t and "empty" in t


def test_unbuffered_and_long_queues(ce):
    def main():
        u = ce.Chan()
        gs = [ce.go(u.recv) for _ in range(20)]
        wait_parked(ce, gs[-1])
        st = ce.inspect(u)
        out = st.to_svg(max_waiters=5), st
        for _ in gs:
            u.send(0)
        return out
    svg, st = ce.run(main)
    root = parse(svg)
    t = texts(root)
    assert any(x.startswith("buf: unbuffered") for x in t if x)
    assert len([r for r in root.iter(SVG + "rect") if r.get("class") == "sudog"]) == 5
    assert "… +15 more" in t and "recvq (20)" in t
    shown = [x for x in t if x and x.startswith("g")]
    order = [s.goid for s in st.recvq]
    assert shown == [f"g{g}" for g in order[:3] + order[-2:]]      # both ends of the queue
    links = [ln for ln in root.iter(SVG + "line") if ln.get("class") == "link"]
    assert len(links) == 5                # an arrow before every item but the first
    assert_nothing_clipped(root)


def assert_nothing_clipped(root):
    """Every text fits in the drawing (monospace: about 0.6 em per character)."""
    vb = [float(v) for v in root.get("viewBox").split()]
    size = float(root.get("font-size"))
    for t in root.iter(SVG + "text"):
        w = len(t.text or "") * 0.6 * size
        x = float(t.get("x"))
        left = x - w / 2 if t.get("text-anchor") == "middle" else x
        assert left >= 0 and left + w <= vb[2], (t.text, left, w, vb)
        assert 0 < float(t.get("y")) <= vb[3]


def test_readable_when_projected(ce):
    """16 px text at scale 1 (the drawing's units are px); scale multiplies the size only; the
    unbuffered caption is whole; a legend names the colours and "sel"."""
    def main():
        u = ce.Chan()
        return ce.inspect(u)
    st = ce.run(main)
    root = parse(st.to_svg())
    assert float(root.get("font-size")) >= 16
    vb = [float(v) for v in root.get("viewBox").split()]
    assert float(root.get("width")) == round(vb[2]) and float(root.get("height")) == round(vb[3])
    big = parse(st.to_svg(scale=2))
    assert big.get("viewBox") == root.get("viewBox")
    assert abs(float(big.get("width")) - 2 * vb[2]) <= 1
    t = texts(root)
    assert ("buf: unbuffered (dataqsiz=0): a send hands its value straight to a receiver"
            in t)
    assert {"slot holding a value", "empty slot", "sel: waiting in a select",
            "queue order", "closed channel"} <= set(t)
    assert_nothing_clipped(root)
    assert "legend" not in st.to_svg(legend=False)
    for bad in (0, -1, "2", float("nan"), 100):
        with pytest.raises(ValueError):
            st.to_svg(scale=bad)
    with pytest.raises(ValueError):
        st.to_svg(max_waiters=1)


def test_closed_and_empty_slots(ce):
    """A closed channel is drawn closed (badge, red dashed outline); an empty slot is an empty
    dashed box, not "None"; a select's sudog says sel."""
    def main():
        c = ce.Chan(4)
        c.send(None)                 # received below: its slot is empty again, not "None"
        c.send(2)
        c.recv()
        full = ce.Chan(1)
        full.send(0)
        d = ce.Chan()
        g = ce.go(lambda: ce.select(ce.send(full, "x"), ce.recv(d)))
        wait_parked(ce, g)
        sel = ce.inspect(full)
        ce.inspect(d)
        d.close()
        c.close()
        return ce.inspect(c), sel
    st, sel = ce.run(main)
    root = parse(st.to_svg())
    t = texts(root)
    assert "CLOSED" in t and "qcount=1 dataqsiz=4 closed=1 sendx=2 recvx=1" in t
    assert [r for r in root.iter(SVG + "rect") if r.get("class") == "closed"]
    assert root.find(SVG + "rect").get("stroke-dasharray") == "10 5"     # the outline
    slots = [r for r in root.iter(SVG + "rect") if r.get("class", "").startswith("slot")]
    assert [r.get("class") for r in slots] == ["slot", "slot held", "slot", "slot"]
    assert all(r.get("stroke-dasharray") == "4 3" for r in slots if r.get("class") == "slot")
    assert "None" not in t and "2" in t
    assert_nothing_clipped(root)
    st = parse(sel.to_svg())
    assert [x for x in texts(st) if x and x.startswith("g")] == [f"g{sel.sendq[0].goid} sel 'x'"]
    assert "CLOSED" not in texts(st)
