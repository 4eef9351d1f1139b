// The zoo gallery: GET /api/gallery, pictures served from the runs folder.
"use strict";
api("/api/gallery").then(info => {
  const body = document.querySelector("#gallery tbody");
  for (const row of info.rows) {
    const tr = el("tr", {id: "cell-" + row.abbr});
    const picture = el("td");
    if (row.picture) {
      const url = "/api/runs-file/" + row.picture.split("/").map(encodeURIComponent).join("/");
      picture.append(el("img", {src: url, alt: row.abbr + " picture", loading: "lazy"}));
    }
    tr.append(el("td", {}, row.abbr), el("td", {}, row.name), el("td", {}, row.model), el("td", {}, row.task),
              el("td", {}, row.result), picture);
    body.append(tr);
  }
  document.body.dataset.rows = String(info.rows.length);
}).catch(e => showError("error", e.message));
api("/api/runs").then(info => { document.getElementById("runs-dir").textContent = info.runs_dir; }).catch(() => {});
