// chanemu live view: draws every channel as Go's hchan, from the debug server's pictures (live,
// pushed as server-sent events) or from a trace recorded with chanemu.trace (replay).
// Plain JavaScript, no libraries, no network beyond the page's own server.
"use strict";

const FONT = 16;              // px: readable when projected
const CHAR = 9.7;             // width of one monospace character at FONT
const PAD = 16;
const SLOT_H = 38;
const BOX_H = 34;
const ARROW = 26;             // gap between two sudogs, where the queue arrow goes
const COLORS = {held: "#cfe3ff", empty: "#ffffff", sudog: "#fff4d6", sel: "#eadcff",
                closed: "#b00020", sendx: "#b00020", recvx: "#11700f", link: "#7b3fc4"};

const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;")
  .replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const textW = (s) => String(s).length * CHAR;

function text(x, y, s, attrs) {
  return `<text x="${x}" y="${y}" ${attrs || ""}>${esc(s)}</text>`;
}

// -- one channel ------------------------------------------------------------------------------
// Returns {svg, w, h, boxes}: the drawing of one hchan from y, and where each select's sudog
// box is (to link the queues a select goroutine sits in).
function drawChan(ch, y) {
  const out = [];
  const boxes = [];
  let w = 0;
  const top = y;
  y += 24;
  out.push(text(PAD, y, `chan ${ch.id}`, 'font-weight="bold" font-size="20"'));
  let x = PAD + 110;
  const fields = [["qcount", ch.qcount], ["dataqsiz", ch.dataqsiz], ["sendx", ch.sendx],
                  ["recvx", ch.recvx], ["closed", ch.closed]];
  for (const [name, v] of fields) {
    const s = `${name}=${v}`;
    out.push(text(x, y, s, `class="field" data-field="${name}"`));
    x += textW(s) + 18;
  }
  if (ch.closed) {
    out.push(`<rect class="closed-badge" x="${x}" y="${y - 18}" width="86" height="24" rx="4" ` +
             `fill="${COLORS.closed}"/>` + text(x + 43, y, "CLOSED",
               'fill="#fff" font-weight="bold" text-anchor="middle"'));
    x += 96;
  }
  w = Math.max(w, x);
  y += 14;
  if (ch.dataqsiz > 0) {
    const r = drawRing(ch, y);
    out.push(r.svg);
    w = Math.max(w, r.w);
    y = r.y;
  } else {
    y += 22;
    const s = "buf: none (dataqsiz=0, unbuffered): a send hands its value straight to a receiver";
    out.push(text(PAD, y, s, 'fill="#444"'));
    w = Math.max(w, PAD + textW(s));
    y += 14;
  }
  for (const name of ["recvq", "sendq"]) {
    const q = drawQueue(ch, name, y, boxes);
    out.push(q.svg);
    w = Math.max(w, q.w);
    y = q.y;
  }
  y += 8;
  return {body: out.join(""), w, top, h: y - top, boxes};
}

// The channel's outline, once the drawing's width is known; dashed red when closed.
function frame(ch, d, w) {
  return `<g class="chan${ch.closed ? " closed" : ""}" data-chan="${ch.id}">` +
    `<rect x="4" y="${d.top + 2}" width="${w - 8}" height="${d.h - 4}" rx="8" fill="none" ` +
    `stroke="${ch.closed ? COLORS.closed : "#c9c9c9"}" stroke-width="${ch.closed ? 3 : 1}"` +
    `${ch.closed ? ' stroke-dasharray="10 5"' : ""}/>` + d.body + "</g>";
}

function drawRing(ch, y) {
  const out = [];
  const width = Math.max(64, ...ch.slots.map(([, v]) => (v === null ? 0 : textW(v)) + 16));
  y += 20;
  out.push(text(PAD, y + 22 + 12, "buf", 'font-weight="bold"'));
  let x = PAD + 50;
  let prev = null;
  for (const [i, v] of ch.slots) {
    if (prev !== null && i !== prev + 1) {       // slots left out of a large ring
      out.push(text(x + 4, y + 22 + 12, "…", 'fill="#555"'));
      x += 28;
    }
    prev = i;
    const held = v !== null;
    out.push(text(x + width / 2, y + 14, `[${i}]`,
                  'text-anchor="middle" fill="#555" class="slot-index"'));
    out.push(`<rect class="slot${held ? " held" : ""}" data-slot="${i}" x="${x}" y="${y + 20}" ` +
             `width="${width}" height="${SLOT_H}" fill="${held ? COLORS.held : COLORS.empty}" ` +
             `stroke="#333"${held ? "" : ' stroke-dasharray="4 3"'}/>`);
    if (held) {
      out.push(text(x + width / 2, y + 20 + 25, v, 'text-anchor="middle"'));
    }
    let my = y + 20 + SLOT_H + 20;
    if (i === ch.sendx) {
      out.push(text(x + width / 2, my, "▲ sendx", `text-anchor="middle" class="sendx" fill="${COLORS.sendx}"`));
      my += 20;
    }
    if (i === ch.recvx) {
      out.push(text(x + width / 2, my, "▲ recvx", `text-anchor="middle" class="recvx" fill="${COLORS.recvx}"`));
    }
    x += width;
  }
  return {svg: out.join(""), w: x + 90, y: y + 20 + SLOT_H + 48};
}

function sudogLabel(s) {
  return `g${s.g}${s.sel ? " sel" : ""}${s.elem !== null && s.elem !== undefined ? " " + s.elem : ""}`;
}

function drawQueue(ch, name, y, boxes) {
  const q = ch[name];
  const out = [];
  y += 20;
  const label = `${name} (${q.atleast ? "≥ " : ""}${q.len})`;
  out.push(text(PAD, y, label, `font-weight="bold" class="qlabel" data-q="${name}"`));
  const after = PAD + textW(label) + 14;
  if (!q.len) {
    out.push(text(after, y, "empty", 'fill="#666"'));
    return {svg: out.join(""), w: after + 60, y: y + 8};
  }
  out.push(text(after, y, "first → last", 'fill="#666"'));
  let x = PAD + 16;
  y += 10;
  const items = q.head.map((s) => ({s})).concat(
    q.atleast ? [{more: null}]
      : q.tail.length ? [{more: q.len - q.head.length - q.tail.length}] : [],
    q.tail.map((s) => ({s})));
  items.forEach((it, k) => {
    if (k > 0) {          // the queue's link: this one comes after the previous
      out.push(`<line x1="${x - ARROW + 3}" y1="${y + BOX_H / 2}" x2="${x - 5}" ` +
               `y2="${y + BOX_H / 2}" stroke="#333" stroke-width="2" marker-end="url(#arrow)"/>`);
    }
    if (it.more !== undefined) {
      const s = it.more === null ? "… more …" : `… +${it.more} more …`;
      out.push(text(x, y + 23, s, 'class="more" fill="#444"'));
      x += textW(s) + ARROW;
      return;
    }
    const s = it.s;
    const lab = sudogLabel(s);
    const bw = textW(lab) + 16;
    out.push(`<g class="sudog g-${s.g}" data-g="${s.g}" data-q="${name}">` +
             `<rect class="sudog" x="${x}" y="${y}" width="${bw}" height="${BOX_H}" rx="7" ` +
             `fill="${s.sel ? COLORS.sel : COLORS.sudog}" stroke="${s.sel ? COLORS.link : "#a60"}" ` +
             `stroke-width="2"/>` + text(x + 8, y + 23, lab) + "</g>");
    if (s.sel) boxes.push({g: s.g, x: x + bw, y: y + BOX_H / 2});
    x += bw + ARROW;
  });
  return {svg: out.join(""), w: x - ARROW + PAD, y: y + BOX_H + 8};
}

// Dashed curves joining the sudogs of one goroutine parked in a select (one per case).
function drawLinks(boxes) {
  const byG = new Map();
  for (const b of boxes) {
    if (!byG.has(b.g)) byG.set(b.g, []);
    byG.get(b.g).push(b);
  }
  const out = [];
  for (const [g, bs] of byG) {
    if (bs.length < 2) continue;
    bs.sort((a, b) => a.y - b.y);
    for (let i = 1; i < bs.length; i++) {
      const a = bs[i - 1], b = bs[i];
      const bend = Math.max(a.x, b.x) + 60;
      out.push(`<path class="select-link" data-g="${g}" d="M${a.x},${a.y} C${bend},${a.y} ` +
               `${bend},${b.y} ${b.x},${b.y}" fill="none" stroke="${COLORS.link}" ` +
               `stroke-width="2.5" stroke-dasharray="7 5"/>`);
    }
  }
  return out.join("");
}

const DEFS = '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" ' +
  'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#333"/>' +
  "</marker></defs>";

function drawAll(chans) {
  let y = 6;
  let w = 640;
  const drawn = [];
  const boxes = [];
  for (const ch of chans) {
    const d = drawChan(ch, y);
    drawn.push([ch, d]);
    boxes.push(...d.boxes);
    w = Math.max(w, d.w + 12);
    y += d.h + 10;
  }
  const links = drawLinks(boxes);
  if (links) w += 70;
  const body = drawn.map(([ch, d]) => frame(ch, d, w)).join("") + links;
  return `<svg xmlns="http://www.w3.org/2000/svg" id="hchans" width="${w}" height="${y}" ` +
    `font-family="monospace" font-size="${FONT}">${DEFS}${body}</svg>`;
}

function legend() {
  const items = [
    [`<rect x="2" y="4" width="30" height="22" fill="${COLORS.held}" stroke="#333"/>`, "slot holding a value"],
    [`<rect x="2" y="4" width="30" height="22" fill="#fff" stroke="#333" stroke-dasharray="4 3"/>`, "empty slot"],
    [`<rect x="2" y="4" width="30" height="22" rx="6" fill="${COLORS.sudog}" stroke="#a60" stroke-width="2"/>`, "sudog: a goroutine waiting"],
    [`<rect x="2" y="4" width="30" height="22" rx="6" fill="${COLORS.sel}" stroke="${COLORS.link}" stroke-width="2"/>`, "sel: waiting in a select"],
    [`<path d="M2,15 C20,0 20,30 34,15" fill="none" stroke="${COLORS.link}" stroke-width="2.5" stroke-dasharray="7 5"/>`, "one select's sudogs"],
    [`<line x1="2" y1="15" x2="30" y2="15" stroke="#333" stroke-width="2" marker-end="url(#arrow)"/>`, "queue order, first to last"],
    [`<rect x="2" y="4" width="30" height="22" rx="4" fill="${COLORS.closed}"/>`, "closed"],
  ];
  return items.map(([shape, label]) =>
    `<span><svg xmlns="http://www.w3.org/2000/svg" width="36" height="30">` +
    `${shape.includes("marker-end") ? DEFS.replace('id="arrow"', 'id="arrow-legend"') : ""}` +
    `${shape.replace("url(#arrow)", "url(#arrow-legend)")}</svg>` +
    `${esc(label)}</span>`).join("");
}

// -- the page ---------------------------------------------------------------------------------
const page = {mode: "live", live: null, replay: null, source: null,
              show: (k) => showStep(k)};
window.__chanemu = page;        // for tests and the curious

function fmtClock(ns, kind) {
  if (ns === undefined || ns === null) return "?";
  const s = ns / 1e9;
  if (kind === "virtual" || s < 1e6) return `${s.toFixed(3)} s`;
  return new Date(s * 1000).toISOString().replace("T", " ").replace("Z", "");
}

// Replace a part of the page only when its drawing changed: a busy program's pictures often
// differ in the clock alone, and redrawing costs the machine the program runs on.
const drawnHTML = {};
function setHTML(id, html) {
  if (drawnHTML[id] === html) return;
  drawnHTML[id] = html;
  $(id).innerHTML = html;
}

function render(st) {
  $("impl").textContent = st.impl ? `impl ${st.impl}` : "";
  $("clock-kind").textContent = st.clock || "?";
  $("clock").textContent = fmtClock(st.nanotime, st.clock);
  $("ngo").textContent = st.num_goroutine ?? "?";
  $("nch").textContent = st.nchans ?? (st.chans || []).length;
  const chans = st.chans || [];
  let html = chans.length ? drawAll(chans) : '<p class="empty-note">no live channels</p>';
  if ((st.nchans || 0) > chans.length) {
    html += `<p class="empty-note">${st.nchans - chans.length} more channels not drawn (the busiest are first)</p>`;
  }
  if (st.unreadable) {
    html += `<p class="empty-note">${st.unreadable} channels could not be read (left out)</p>`;
  }
  setHTML("chans", html);
  const evs = st.events || [];
  setHTML("events", evs.slice().reverse().map((e) =>
    `<li class="${e.current ? "current" : ""}" data-seq="${e.seq}">${esc(e.text)}</li>`).join(""));
  setHTML("goroutines", (st.goroutines || []).map((g) => {
    const on = g.chans && g.chans.length ? ` on ${g.chans.map((c) => "chan " + c).join(", ")}` : "";
    const why = g.reason ? ` [${g.reason}]` : "";
    return `<li data-g="${g.g}" class="g-row">g${g.g} ${esc(g.status)}${esc(why)}${esc(on)}` +
      `${g.name ? " " + esc(g.name) : ""}</li>`;
  }).join(""));
  if (page.mode === "live") {
    const rs = $("run-state");
    rs.textContent = st.dead ? "the program has ended"
      : st.paused ? `paused ${st.where || ""}`
      : st.pausing ? "pausing at the next scheduling point…" : "running";
    rs.classList.toggle("paused", !!st.paused);
  }
}

// Hovering a goroutine in the list outlines each of its sudogs.
document.addEventListener("mouseover", (ev) => {
  const row = ev.target.closest && ev.target.closest("[data-g]");
  document.querySelectorAll(".hl").forEach((n) => n.classList.remove("hl"));
  if (row) document.querySelectorAll(`g.sudog.g-${row.dataset.g}`).forEach((n) => n.classList.add("hl"));
});

// -- live ----------------------------------------------------------------------------------------
function connect() {
  const src = new EventSource("/debug/chanemu/events");
  page.source = src;
  src.addEventListener("state", (ev) => {
    page.live = JSON.parse(ev.data);
    $("conn").textContent = "live";
    $("conn").classList.add("ok");
    if (page.mode === "live") render(page.live);
  });
  src.onerror = () => {
    $("conn").textContent = "reconnecting…";
    $("conn").classList.remove("ok");
  };
}

async function control(op) {
  try {
    const r = await fetch(`/debug/chanemu/control?op=${op}`, {method: "POST"});
    if (!r.ok) {
      $("run-state").textContent = `${op}: ${(await r.text()).trim()}`;
      return;
    }
    page.live = await r.json();
    if (page.mode === "live") render(page.live);
  } catch (e) {
    $("run-state").textContent = `${op}: ${e}`;
  }
}

for (const op of ["pause", "step-op", "step-sched", "resume"]) {
  $(op).addEventListener("click", () => control(op));
}

// -- replay --------------------------------------------------------------------------------------
// A trace (chanemu.trace's Chrome format) as a list of steps, one per runtime event (args.ev),
// each a list of changes; the state at a step is the changes up to it applied in order.
// Checkpoints every CHECK steps make scrubbing backwards as fast as forwards.
const CHECK = 200;

function buildReplay(doc) {
  const evs = (doc.traceEvents || []).filter((e) => e.ph !== "M");
  const names = {};
  for (const e of doc.traceEvents || []) {
    if (e.ph === "M" && e.name === "thread_name") names[e.tid] = e.args.name;
  }
  const at = (e) => (e.args && e.args.ev !== undefined ? e.args.ev : e.args ? e.args.seq : 0);
  const byEv = new Map();
  const add = (k, ch) => {
    if (!byEv.has(k)) byEv.set(k, {ev: k, ts: ch.ts, changes: []});
    byEv.get(k).changes.push(ch);
  };
  for (const e of evs) {
    const a = e.args || {};
    if (e.ph === "X") {
      const st = e.cat === "blocked" ? "waiting" : e.name;
      add(at(e), {ts: e.ts, kind: "g", g: e.tid, status: st,
                  reason: e.cat === "blocked" ? e.name : "", chans: a.chans || []});
    } else if (e.ph === "i" && e.cat === "chan") {
      add(at(e), {ts: e.ts, kind: "op", g: e.tid, text: `g${e.tid} ${e.name} on chan ${a.chan}` +
                  (a.ok === false ? " (closed, zero value)" : ""), hchans: a.hchan ? [a.hchan] : []});
    } else if (e.ph === "i" && e.cat === "hchan") {
      add(at(e), {ts: e.ts, kind: "hchans", hchans: a.hchans || []});
    } else if (e.ph === "i" && e.name === "end") {
      add(at(e), {ts: e.ts, kind: "end", g: e.tid, text: `g${e.tid} ends`});
    } else if (e.ph === "i" && e.name === "go") {
      add(at(e), {ts: e.ts, kind: "go", g: e.tid, text: `g${e.tid} starts g${a.goid}`});
    }
  }
  const steps = [...byEv.values()].sort((a, b) => a.ev - b.ev);
  for (const s of steps) s.text = stepText(s);
  const other = doc.otherData || {};
  const rp = {steps, names, clock: other.clock || "?", impl: other.impl || "", checks: [], pos: 0,
              hasStates: evs.some((e) => e.cat === "hchan" || (e.args && e.args.hchan))};
  let st = {gs: {}, chans: {}};
  for (let i = 0; i < steps.length; i++) {
    if (i % CHECK === 0) rp.checks.push(JSON.stringify(st));
    apply(st, steps[i]);
  }
  return rp;
}

function stepText(s) {
  const op = s.changes.find((c) => c.text);
  if (op) return op.text;
  const g = s.changes.find((c) => c.kind === "g");
  if (!g) return "channel state";
  if (g.status === "waiting") {
    return `g${g.g} parks [${g.reason}]` + (g.chans.length ? ` on ${g.chans.map((c) => "chan " + c).join(", ")}` : "");
  }
  return `g${g.g} ${g.status === "running" ? "runs" : g.status}`;
}

function apply(st, step) {
  for (const c of step.changes) {
    if (c.kind === "g") st.gs[c.g] = {status: c.status, reason: c.reason, chans: c.chans};
    else if (c.kind === "end") st.gs[c.g] = {status: "dead", reason: "", chans: []};
    if (c.hchans) for (const h of c.hchans) st.chans[h.id] = h;
  }
  st.ts = step.ts;
}

function stateAt(rp, k) {
  const base = Math.floor(k / CHECK);
  const st = JSON.parse(rp.checks[base]);
  for (let i = base * CHECK; i <= k; i++) apply(st, rp.steps[i]);
  return st;
}

// A recorded hchan keeps the sudogs of that moment; one whose goroutine has since been woken
// (a select's other cases are dequeued when it resumes) is dropped from the picture.
function prune(q, gs) {
  const keep = (s) => !gs[s.g] || gs[s.g].status === "waiting";
  const head = q.head.filter(keep);
  const tail = q.tail.filter(keep);
  return {len: q.len - (q.head.length - head.length) - (q.tail.length - tail.length), head, tail,
          atleast: q.atleast};
}

function replayView(rp, k) {
  const st = stateAt(rp, k);
  const chans = Object.values(st.chans).map((h) => Object.assign({}, h, {
    recvq: prune(h.recvq, st.gs), sendq: prune(h.sendq, st.gs)}));
  chans.sort((a, b) => a.id - b.id);
  const gs = Object.entries(st.gs).filter(([, g]) => g.status !== "dead")
    .map(([g, s]) => ({g: +g, status: s.status, reason: s.reason, chans: s.chans,
                       name: (rp.names[g] || "").replace(/^g\d+ ?/, "")}));
  const lo = Math.max(0, k - 40);
  const events = rp.steps.slice(lo, k + 1).map((s, i) => ({seq: lo + i, text: s.text,
                                                           current: lo + i === k}));
  return {impl: rp.impl, clock: rp.clock, nanotime: (st.ts || 0) * 1000, chans,
          nchans: chans.length, goroutines: gs, num_goroutine: gs.length, events};
}

function showStep(k) {
  const rp = page.replay;
  if (!rp || !rp.steps.length) return;
  k = Math.max(0, Math.min(rp.steps.length - 1, k));
  rp.pos = k;
  $("rp-slider").value = String(k);
  $("rp-pos").textContent = `event ${k + 1} / ${rp.steps.length}: ${rp.steps[k].text}` +
    (rp.hasStates ? "" : " (no channel states in this trace: recorded with states=False)");
  page.replayState = replayView(rp, k);
  render(page.replayState);
}

function loadTrace(textData) {
  const doc = JSON.parse(textData);
  page.replay = buildReplay(doc);
  const n = page.replay.steps.length;
  $("rp-slider").max = String(Math.max(0, n - 1));
  $("rp-slider").disabled = n === 0;
  if (!n) $("rp-pos").textContent = "this trace has no events";
  showStep(0);
}

$("trace-file").addEventListener("change", (ev) => {
  const f = ev.target.files[0];
  if (!f) return;
  const rd = new FileReader();
  rd.onload = () => {
    try {
      loadTrace(rd.result);
    } catch (e) {
      $("rp-pos").textContent = `not a chanemu trace: ${e.message}`;
    }
  };
  rd.readAsText(f);
});
$("rp-slider").addEventListener("input", (ev) => showStep(+ev.target.value));
$("rp-prev").addEventListener("click", () => showStep(page.replay ? page.replay.pos - 1 : 0));
$("rp-next").addEventListener("click", () => showStep(page.replay ? page.replay.pos + 1 : 0));
$("rp-first").addEventListener("click", () => showStep(0));
$("rp-last").addEventListener("click", () => showStep(page.replay ? page.replay.steps.length - 1 : 0));
document.addEventListener("keydown", (ev) => {
  if (page.mode !== "replay" || ev.target.tagName === "INPUT" && ev.target.type !== "range") return;
  if (ev.key === "ArrowLeft") { showStep(page.replay ? page.replay.pos - 1 : 0); ev.preventDefault(); }
  if (ev.key === "ArrowRight") { showStep(page.replay ? page.replay.pos + 1 : 0); ev.preventDefault(); }
});

function setMode(mode) {
  page.mode = mode;
  $("tab-live").classList.toggle("on", mode === "live");
  $("tab-replay").classList.toggle("on", mode === "replay");
  $("live-bar").hidden = mode !== "live";
  $("replay-bar").hidden = mode !== "replay";
  if (mode === "live" && page.live) render(page.live);
  if (mode === "replay") {
    if (page.replay) showStep(page.replay.pos);
    else render({chans: [], goroutines: [], events: []});
  }
}
$("tab-live").addEventListener("click", () => setMode("live"));
$("tab-replay").addEventListener("click", () => setMode("replay"));

$("legend").innerHTML = legend();
connect();
