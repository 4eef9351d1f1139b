// The CNN visualiser: draw, reduce the drawing as the data set was made, POST /api/cnn, draw every layer.
"use strict";

const pad = document.getElementById("pad");
const ctx = pad.getContext("2d", {willReadFrequently: true});
const reducedCanvas = document.getElementById("reduced");
const runSelect = document.getElementById("run");
let runs = [];               // from /api/runs
let size = 8;                // the input side the chosen run reads (8: digits counts, 28: Fashion-MNIST grey)
let drawing = false, last = null;
let dirty = false, requestId = 0, rendered = 0;
let version = 0, sentVersion = -1, shownVersion = -1;            // the drawing's version (one more per segment drawn), the last sent
let strokeEnd = null, strokeVersion = 0;       // when the last stroke ended, and the drawing's version then
// what the latency benchmark reads: stroke end -> page drawn, and each update's request and drawing times (ms)
const stats = window.nnzooStats = {latencies: [], updates: 0, requestMs: [], drawMs: [], alreadyShown: 0};

function clearPad() {
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, pad.width, pad.height);
}

// ---- drawing: pointer events (mouse, pen and touch alike) ----
function point(e) {
  const r = pad.getBoundingClientRect();
  return [(e.clientX - r.left) * pad.width / r.width, (e.clientY - r.top) * pad.height / r.height];
}
function line(a, b) {
  version += 1;
  ctx.strokeStyle = "#000"; ctx.lineWidth = pad.width / 13; ctx.lineCap = "round"; ctx.lineJoin = "round";
  ctx.beginPath(); ctx.moveTo(a[0], a[1]); ctx.lineTo(b[0], b[1]); ctx.stroke();
}
pad.addEventListener("pointerdown", e => {
  e.preventDefault();
  if (pad.setPointerCapture && e.pointerId !== undefined) { try { pad.setPointerCapture(e.pointerId); } catch (err) { /* synthetic events */ } }
  drawing = true; last = point(e); line(last, last); send();
});
pad.addEventListener("pointermove", e => {
  if (!drawing) return;
  e.preventDefault();
  const p = point(e); line(last, p); last = p; send();
});
function endStroke(e) {
  if (!drawing) return;
  drawing = false;
  strokeEnd = performance.now();
  strokeVersion = version;      // the page is up to date once an answer for this drawing (or a later one) is drawn
  if (shownVersion >= version) {              // the answer for the whole stroke was drawn before the button went up
    stats.alreadyShown += 1;
    recordStroke(0);
  } else if (sentVersion !== version) {
    send(true);
  }                                           // else the request in flight holds the whole stroke
}
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);
pad.addEventListener("pointerleave", endStroke);
document.getElementById("clear").addEventListener("click", () => { clearPad(); version += 1; send(true); });

// ---- the reduction ----
// ink in [0, 1] of the pad (1 = black), its bounding box, drawn into an n x n canvas scaled to fit `box` pixels
function inkBox() {
  const img = ctx.getImageData(0, 0, pad.width, pad.height).data;
  let x0 = pad.width, y0 = pad.height, x1 = -1, y1 = -1;
  for (let y = 0; y < pad.height; y++) for (let x = 0; x < pad.width; x++) {
    if (img[(y * pad.width + x) * 4] < 200) { if (x < x0) x0 = x; if (x > x1) x1 = x; if (y < y0) y0 = y; if (y > y1) y1 = y; }
  }
  return x1 < 0 ? null : [x0, y0, x1 - x0 + 1, y1 - y0 + 1];
}
function fitInto(n, box) {
  const c = document.createElement("canvas"); c.width = n; c.height = n;
  const g = c.getContext("2d", {willReadFrequently: true});
  g.fillStyle = "#fff"; g.fillRect(0, 0, n, n);
  const b = inkBox();
  if (b) {
    const s = box / Math.max(b[2], b[3]), w = b[2] * s, h = b[3] * s;
    g.imageSmoothingEnabled = true; g.imageSmoothingQuality = "high";
    g.drawImage(pad, b[0], b[1], b[2], b[3], (n - w) / 2, (n - h) / 2, w, h);
  }
  const d = g.getImageData(0, 0, n, n).data, ink = new Float32Array(n * n);
  for (let i = 0; i < n * n; i++) ink[i] = 1 - d[i * 4] / 255;
  return ink;
}
// digits: the UCI recipe, a 32x32 bitmap (the digit scaled to fill the box), counted in 4x4 blocks -> 8x8 counts 0..16
function reduceDigits() {
  const bits = fitInto(32, 32).map(v => (v >= 0.5 ? 1 : 0));
  const out = [];
  for (let r = 0; r < 8; r++) {
    const row = [];
    for (let c = 0; c < 8; c++) {
      let s = 0;
      for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) s += bits[(r * 4 + y) * 32 + c * 4 + x];
      row.push(s);
    }
    out.push(row);
  }
  return out;
}
// Fashion-MNIST: 28x28 grey levels 0..255 (light object on black), the drawing scaled into the central 24x24
function reduceFashion() {
  const ink = fitInto(28, 24), out = [];
  for (let r = 0; r < 28; r++) out.push(Array.from(ink.slice(r * 28, r * 28 + 28), v => Math.round(v * 255)));
  return out;
}
function showReduced(pixels) {
  const n = pixels.length, top = n === 8 ? 16 : 255;
  reducedCanvas.width = n; reducedCanvas.height = n;
  const g = reducedCanvas.getContext("2d"), img = g.createImageData(n, n);
  for (let i = 0; i < n * n; i++) {
    const v = 255 - Math.round(pixels[Math.floor(i / n)][i % n] / top * 255);
    img.data.set([v, v, v, 255], i * 4);
  }
  g.putImageData(img, 0, 0);
}

// ---- the request: while drawing at most one in flight (a change meanwhile sends again when it returns); the end
// of a stroke sends at once, and an answer older than the one drawn is dropped ----
let pending = 0, lastDrawn = 0, timer = null, renderFrom = 0;
// While drawing, the next update waits GAP_MS after the last answer was drawn; the end of a stroke never waits.
// NOTE: measured on the shared 2-core machine (load 8-9, 4 rounds of 40 strokes at 60 Hz, alternating): stroke end to
// page drawn p95 165 ms with no gap (1278 requests), 108 ms with 80 ms (559): with a gap, the end of a stroke less
// often finds a request for an older drawing in flight that it must wait behind. ?gap=MS overrides it.
const GAP_MS = Number(new URLSearchParams(location.search).get("gap") ?? 80);
async function send(force) {
  if (pending && !force) { dirty = true; return; }
  const wait = force ? 0 : GAP_MS - (performance.now() - lastDrawn);
  if (wait > 0) {
    if (!timer) timer = setTimeout(() => { timer = null; send(); }, wait);
    return;
  }
  if (timer) { clearTimeout(timer); timer = null; }
  if (force) renderFrom = requestId + 1;      // answers to older requests still in flight are not drawn
  pending += 1; dirty = false;
  const id = ++requestId, v = version;
  sentVersion = v;
  const pixels = size === 8 ? reduceDigits() : reduceFashion();
  showReduced(pixels);
  try {
    const t0 = performance.now();
    const answer = await api("/api/cnn", {pixels: pixels, run: runSelect.value || null});
    const t1 = performance.now();
    if (id > rendered && id >= renderFrom) {
      render(answer, id, v);
      lastDrawn = performance.now();
      stats.requestMs.push(t1 - t0); stats.drawMs.push(lastDrawn - t1);
    }
    showError("error", "");
  } catch (e) {
    showError("error", e.message);
  } finally {
    pending -= 1;
    if (dirty && !pending) send();
  }
}

function render(answer, id, v) {
  const labels = answer.top;
  for (const [k, g] of [["guess1", labels[0]], ["guess2", labels[1]]]) {
    const node = document.getElementById(k);
    node.querySelector(".label").textContent = g.label;
    node.querySelector(".prob").textContent = (100 * g.prob).toFixed(1) + "%";
  }
  renderProbs(answer.probs, labels[0].label);
  renderLayers(answer.layers);
  rendered = id;
  stats.updates += 1;
  document.body.dataset.updates = String(stats.updates);
  shownVersion = v;
  if (strokeEnd !== null && v >= strokeVersion) recordStroke(performance.now() - strokeEnd);
}

function recordStroke(ms) {
  stats.latencies.push(ms);
  strokeEnd = null;
  document.body.dataset.strokes = String(stats.latencies.length);
}

function currentLabels() {
  const r = runs.find(x => x.run === runSelect.value);
  return r ? r.labels : [];
}
function renderProbs(probs, best) {
  const box = document.getElementById("probs");
  const names = currentLabels();
  if (box.children.length !== probs.length * 3) {
    box.textContent = "";
    probs.forEach((p, i) => {
      box.append(el("span", {}, names[i] || String(i)), el("div", {"class": "bar"}), el("span", {"class": "muted"}));
    });
  }
  probs.forEach((p, i) => {
    const bar = box.children[i * 3 + 1];
    bar.style.width = Math.max(1, 100 * p) + "%";
    bar.classList.toggle("top1", (names[i] || String(i)) === best);
    box.children[i * 3 + 2].textContent = (100 * p).toFixed(1) + "%";
  });
}

// one panel per layer; canvases are kept between updates and repainted
let layerKey = "";
function renderLayers(layers) {
  const box = document.getElementById("layers");
  const key = layers.map(l => l.name + l.shape.join("x")).join("|");
  if (key !== layerKey) {
    box.textContent = "";
    for (const layer of layers) {
      const panel = el("div", {"class": "layer"});
      panel.append(el("h3", {}, layer.name + "  " + layer.shape.join("×")));
      const maps = el("div", {"class": "maps"});
      const shown = Math.min(layer.maps.length, 64);
      for (let m = 0; m < shown; m++) {
        const h = layer.maps[m].length, w = layer.maps[m][0].length;
        const c = el("canvas", {width: w, height: h});
        if (h === 1) c.className = "vector";
        else { const px = Math.max(20, Math.min(56, Math.round(56 * 8 / Math.max(h, 8) * Math.min(1, h / 4)))); c.style.width = px + "px"; c.style.height = px * h / w + "px"; }
        maps.append(c);
      }
      panel.append(maps);
      box.append(panel);
    }
    layerKey = key;
  }
  layers.forEach((layer, li) => {
    let lo = Infinity, hi = -Infinity;
    for (const m of layer.maps) for (const r of m) for (const v of r) { if (v < lo) lo = v; if (v > hi) hi = v; }
    const span = hi > lo ? hi - lo : 1;
    const canvases = box.children[li].querySelectorAll("canvas");
    canvases.forEach((c, m) => {
      const map = layer.maps[m], h = map.length, w = map[0].length;
      const g = c.getContext("2d"), img = g.createImageData(w, h);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
        const rgb = VIRIDIS[Math.round(255 * (map[y][x] - lo) / span)];
        img.data.set([rgb[0], rgb[1], rgb[2], 255], (y * w + x) * 4);
      }
      g.putImageData(img, 0, 0);
    });
  });
}

// ---- the runs ----
async function loadRuns() {
  try {
    const info = await api("/api/runs");
    runs = info.cnn;
    document.getElementById("notice").textContent = info.notice || "";
    runSelect.textContent = "";
    for (const r of runs) runSelect.append(el("option", {value: r.run}, r.run + " (" + r.recipe + ", " + r.data + (r.test ? ", " + r.test : "") + ")"));
    if (!runs.length) showError("error", "No image classifier in " + info.runs_dir + ": train one with nnzoo train cnn --out " + info.runs_dir + "/cnn");
    chooseRun();
  } catch (e) { showError("error", e.message); }
}
function chooseRun() {
  const r = runs.find(x => x.run === runSelect.value);
  size = r ? r.size : 8;
  document.getElementById("reduced-label").textContent = size === 8 ? "8x8 counts 0-16 (4x4 blocks of a 32x32 bitmap)" : "28x28 grey levels 0-255";
  document.getElementById("probs").textContent = "";
  layerKey = "";
  clearPad();
  if (r) send(true);
}
runSelect.addEventListener("change", chooseRun);
clearPad();
loadRuns();
