"use strict";
api("/api/runs").then(info => {
  document.getElementById("notice").textContent = info.notice || "";
  document.getElementById("runs-dir").textContent = "Runs folder: " + info.runs_dir + " (" + info.cnn.length + " image classifier, " +
    info.translate.length + " translator, " + info.sample.length + " text-writing runs)";
}).catch(e => showError("notice", e.message));
