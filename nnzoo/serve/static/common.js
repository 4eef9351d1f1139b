// nnzoo serve: helpers shared by the pages (no dependencies).
"use strict";

// POST (or GET when body is undefined) JSON; resolves to the parsed answer, rejects with the server's message.
async function api(path, body) {
  const init = body === undefined ? {} : {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)};
  const response = await fetch(path, init);
  let data = null;
  try { data = await response.json(); } catch (e) { data = null; }
  if (!response.ok) throw new Error((data && data.error) || (response.status + " " + response.statusText));
  return data;
}

// A number as the notes write it: integers plainly, others with 4 significant digits.
function fmt(v) {
  if (v === null || v === undefined) return "";
  if (Array.isArray(v)) return "[" + v.map(fmt).join(", ") + "]";
  if (Math.abs(v - Math.round(v)) < 1e-9) return String(Math.round(v));
  return String(Number(v.toPrecision(4)));
}

function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

// viridis, 5 stops, interpolated into a 256-entry table of [r, g, b]
const VIRIDIS = (() => {
  const stops = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  const table = [];
  for (let i = 0; i < 256; i++) {
    const t = i / 255 * (stops.length - 1), k = Math.min(Math.floor(t), stops.length - 2), f = t - k;
    table.push(stops[k].map((c, j) => Math.round(c + f * (stops[k + 1][j] - c))));
  }
  return table;
})();

function showError(id, message) {
  const node = document.getElementById(id);
  if (node) node.textContent = message || "";
}
