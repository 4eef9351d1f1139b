// The backprop stepper: POST /api/backprop, then reveal the forward values node by node and the backward
// gradients gate by gate (local x upstream = product on each edge), as the lecture draws circuits.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
let trace = null, step = 0;

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

async function load(body) {
  try {
    trace = await api("/api/backprop", body);
    showError("error", "");
    step = 0;
    draw();
  } catch (e) { showError("error", e.message); }
}

// steps: 1..F reveal nodes in forward order; F+1..F+B run the op nodes' backward in backward order
function counts() { return [trace.forward.length, trace.backward.length]; }

function revealed() {
  const [F] = counts();
  const fwd = new Set(trace.forward.slice(0, Math.min(step, F)));
  const bwd = new Set(trace.backward.slice(0, Math.max(0, step - F)));
  return [fwd, bwd];
}

function draw() {
  const g = document.getElementById("graph");
  g.textContent = "";
  const [F, B] = counts();
  const [fwd, bwd] = revealed();
  const layers = Math.max(...trace.nodes.map(n => n.layer)) + 1;
  const pos = trace.nodes.map(n => n.pos);
  const lo = Math.min(...pos), hi = Math.max(...pos);
  const W = 250, H = 110, boxW = 96, boxH = 40, left = 30, topPad = 40, right = 110;
  const width = left + right + (layers - 1) * W + boxW, height = topPad * 2 + (hi - lo) * H + boxH;
  g.setAttribute("viewBox", "0 0 " + width + " " + height);
  g.style.height = Math.min(height, 700) + "px";
  const at = n => [left + n.layer * W, topPad + (n.pos - lo) * H];
  const edgeDone = e => bwd.has(e.target);
  // edges
  for (const e of trace.edges) {
    const s = trace.nodes[e.source], t = trace.nodes[e.target];
    const [x1, y1] = at(s), [x2, y2] = at(t);
    const ax = x1 + boxW, ay = y1 + boxH / 2, bx = x2, by = y2 + boxH / 2 + (e.input - 0.5) * 12 * (trace.edges.filter(f => f.target === e.target).length > 1 ? 1 : 0);
    g.append(svg("line", {x1: ax, y1: ay, x2: bx, y2: by, "data-edge": e.id}));
    const mx = (ax + bx) / 2, my = (ay + by) / 2;
    if (fwd.has(e.source)) g.append(svg("text", {x: mx, y: my - 6, "text-anchor": "middle", "class": "fwd", id: "val-" + e.id}, fmt(e.value)));
    if (edgeDone(e)) {
      const text = e.local === null ? fmt(e.product) : fmt(e.local) + " × " + fmt(e.upstream) + " = " + fmt(e.product);
      g.append(svg("text", {x: mx, y: my + 14, "text-anchor": "middle", "class": "bwd", id: "grad-edge-" + e.id}, text));
    }
  }
  // nodes
  for (const n of trace.nodes) {
    const [x, y] = at(n);
    const grp = svg("g", {"class": "node " + n.kind + (bwd.has(n.id) ? " done" : ""), id: "node-" + n.id});
    grp.append(svg("rect", {x: x, y: y, width: boxW, height: boxH, rx: n.kind === "leaf" ? 3 : 14}));
    grp.append(svg("text", {x: x + boxW / 2, y: y + 17, "text-anchor": "middle"}, n.kind === "leaf" ? n.name : n.symbol));
    grp.append(svg("text", {x: x + boxW / 2, y: y + 31, "text-anchor": "middle", "class": "name"}, n.kind === "leaf" ? "leaf" : n.name));
    if (fwd.has(n.id) && n.id === trace.output) grp.append(svg("text", {x: x + boxW + 8, y: y + boxH / 2 - 4, "class": "fwd"}, "= " + fmt(n.value)));
    if (n.id === trace.output && step > F) grp.append(svg("text", {x: x + boxW + 8, y: y + boxH / 2 + 14, "class": "bwd"}, "grad " + fmt(n.grad)));
    g.append(grp);
  }
  // the inputs' gradients: known once every edge leaving the leaf is done
  const body = document.querySelector("#grads tbody");
  body.textContent = "";
  for (const n of trace.nodes.filter(m => m.kind === "leaf")) {
    const out = trace.edges.filter(e => e.source === n.id);
    const done = out.every(edgeDone) && step > F;
    const tr = el("tr");
    tr.append(el("td", {}, n.name), el("td", {}, fwd.has(n.id) ? fmt(n.value) : ""),
              el("td", {"class": "grad", id: "grad-" + n.name}, done ? fmt(n.grad) : ""));
    body.append(tr);
  }
  let phase;
  if (step === 0) phase = "press Next step: forward first";
  else if (step <= F) phase = "forward: " + step + " of " + F + " values";
  else if (step < F + B) phase = "backward: " + (step - F) + " of " + B + " gates";
  else phase = "done: the gradients are in the table";
  document.getElementById("phase").textContent = phase;
  document.getElementById("next").disabled = step >= F + B;
  document.getElementById("prev").disabled = step === 0;
}

document.getElementById("next").addEventListener("click", () => { if (trace) { step += 1; draw(); } });
document.getElementById("prev").addEventListener("click", () => { if (trace && step > 0) { step -= 1; draw(); } });
document.getElementById("reset").addEventListener("click", () => { if (trace) { step = 0; draw(); } });
document.getElementById("all").addEventListener("click", () => { if (trace) { step = trace.forward.length + trace.backward.length; draw(); } });
document.getElementById("expr-form").addEventListener("submit", e => {
  e.preventDefault();
  load({expression: document.getElementById("expr").value});
});

api("/api/circuits").then(info => {
  const box = document.getElementById("circuits");
  for (const [name, c] of Object.entries(info.circuits)) {
    const b = el("button", {"class": "secondary", id: "circuit-" + name, type: "button"}, c.title);
    b.addEventListener("click", () => {
      const values = Object.entries(c.values).map(([k, v]) => k + "=" + v).join(", ");
      document.getElementById("expr").value = c.expression + "; " + values;
      load({circuit: name});
    });
    box.append(b);
  }
  document.getElementById("functions").textContent = Object.keys(info.functions).join(", ");
  load({circuit: "add-mul"});
}).catch(e => showError("error", e.message));
