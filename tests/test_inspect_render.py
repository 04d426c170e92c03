"""chanemu.inspect(ch): the SVG / HTML rendering for notebooks."""
import xml.etree.ElementTree as ET

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
    assert t.count("sendx") == 1 and t.count("recvx") == 1
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
