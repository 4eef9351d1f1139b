// Playgrounds: the date translator (POST /api/translate) and the Shakespeare sampler (POST /api/sample, streamed).
"use strict";

function fillRuns(select, list) {
  select.textContent = "";
  for (const r of list) select.append(el("option", {value: r.run}, r.run + " (" + r.recipe + ")"));
  select.hidden = list.length < 2;
}

api("/api/runs").then(info => {
  fillRuns(document.getElementById("translate-run"), info.translate);
  fillRuns(document.getElementById("sample-run"), info.sample);
  document.getElementById("translate-status").textContent = info.translate.length ? "" :
    "No translation run in " + info.runs_dir + ": train one with nnzoo train date-translator --out " + info.runs_dir + "/date-translator (about 10 minutes on 2 cores).";
  document.getElementById("sample-status").textContent = info.sample.length ? "" :
    "No text-writing run in " + info.runs_dir + ": train one with nnzoo train char-rnn --out " + info.runs_dir + "/char-rnn (or char-gpt).";
  fillRuns(document.getElementById("analogy-run"), info.analogy);
  document.getElementById("analogy-status").textContent = info.analogy.length ? "" :
    "No word2vec run in " + info.runs_dir + ": train one with nnzoo train word2vec --out " + info.runs_dir + "/word2vec.";
  document.getElementById("analogy").disabled = !info.analogy.length;
  document.getElementById("translate").disabled = !info.translate.length;
  document.getElementById("sample").disabled = !info.sample.length;
}).catch(e => showError("error", e.message));

document.getElementById("translate-form").addEventListener("submit", async e => {
  e.preventDefault();
  try {
    const a = await api("/api/translate", {text: document.getElementById("date").value, run: document.getElementById("translate-run").value || null});
    document.getElementById("translation").textContent = a.translation;
    document.getElementById("translate-notes").textContent = a.notes.join("; ");
    drawAttention(a);
    showError("error", "");
  } catch (err) { showError("error", err.message); }
});

function drawAttention(a) {
  const table = document.getElementById("attention");
  table.textContent = "";
  if (!a.attention) { table.append(el("caption", {"class": "muted"}, "(this model has no single attention map)")); return; }
  const head = el("tr");
  head.append(el("th"));
  for (const ch of a.source) head.append(el("th", {}, ch === " " ? "␣" : ch));
  table.append(head);
  a.attention.forEach((row, i) => {
    const tr = el("tr");
    tr.append(el("th", {}, a.output_tokens[i] === "<eos>" ? "⟨eos⟩" : a.output_tokens[i]));
    row.forEach(w => {
      const td = el("td", {title: fmt(w)});
      const rgb = VIRIDIS[Math.round(255 * Math.min(1, Math.max(0, w)))];
      td.style.background = "rgb(" + rgb.join(",") + ")";
      tr.append(td);
    });
    table.append(tr);
  });
}

document.getElementById("sample-form").addEventListener("submit", async e => {
  e.preventDefault();
  const out = document.getElementById("sample-out");
  const button = document.getElementById("sample");
  const topk = document.getElementById("topk").value;
  const body = {prompt: document.getElementById("prompt").value, temperature: Number(document.getElementById("temperature").value),
                length: Number(document.getElementById("length").value), top_k: topk ? Number(topk) : null,
                run: document.getElementById("sample-run").value || null};
  button.disabled = true;
  out.textContent = body.prompt;
  try {
    const response = await fetch("/api/sample", {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
    if (!response.ok) { const err = await response.json(); throw new Error(err.error); }
    const reader = response.body.getReader(), decoder = new TextDecoder();
    for (;;) {
      const {value, done} = await reader.read();
      if (done) break;
      out.textContent += decoder.decode(value, {stream: true});
    }
    showError("error", "");
  } catch (err) { showError("error", err.message); }
  button.disabled = false;
});

document.getElementById("analogy-form").addEventListener("submit", async e => {
  e.preventDefault();
  const out = document.getElementById("analogy-out");
  try {
    const a = await api("/api/analogy", {a: document.getElementById("word-a").value, b: document.getElementById("word-b").value,
                                         c: document.getElementById("word-c").value, run: document.getElementById("analogy-run").value || null});
    out.textContent = "";
    for (const x of a.answers) out.append(el("li", {}, x.word + "  (" + fmt(x.similarity) + ")"));
    showError("error", "");
  } catch (err) { showError("error", err.message); }
});
