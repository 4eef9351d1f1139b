"""The zoo gallery: the chart's cells, the choice of run per cell, the Markdown page, `nnzoo gallery`."""
import importlib
import json
import os
import subprocess
import sys

import pytest

from nnzoo.recipes import recipes
from nnzoo.recipes.gallery import CELLS, find_runs, gallery, write_markdown

# the chart's cells as the syllabus lists them (section 2 of SYLLABUS.md)
SYLLABUS = ("perceptron, feed-forward, radial basis network, deep feed-forward, RNN, LSTM, GRU, autoencoder, "
            "variational AE, denoising AE, sparse AE, Markov chain, Hopfield network, Boltzmann machine, restricted "
            "BM, deep belief network, deep convolutional network, deconvolutional network, deep convolutional "
            "inverse graphics network, GAN, liquid state machine, extreme learning machine, echo state network, "
            "deep residual network, differentiable neural computer, neural Turing machine, capsule network, "
            "Kohonen network, attention network").split(", ")


def test_every_cell_of_the_chart_once():
    assert len(CELLS) == len(SYLLABUS) and len({c.abbr for c in CELLS}) == len(CELLS)


def test_cells_name_registered_recipes_and_importable_models():
    known = recipes()
    for cell in CELLS:
        assert all(name in known for name in cell.recipes), cell
        if cell.coming:
            assert cell.model is None and not cell.recipes
            continue
        module, _, attr = cell.model.rpartition(".")
        try:
            obj = importlib.import_module(f"nnzoo.{cell.model}")
        except ImportError:
            obj = getattr(importlib.import_module(f"nnzoo.{module}"), attr)
        assert obj is not None


def _run(folder, name, test, config=None, picture=True, mtime=None):
    folder.mkdir(parents=True)
    figures = []
    if picture:
        (folder / "curve.png").write_bytes(b"\x89PNG\r\n\x1a\n")
        figures = [["elsewhere/curve.png", "a curve"]]   # recorded path gone: found by name in the folder
    (folder / "result.json").write_text(json.dumps({"name": name, "config": config or {}, "test": test,
                                                    "figures": figures}))
    if mtime is not None:
        os.utime(folder / "result.json", (mtime, mtime))


def test_gallery_takes_the_newest_matching_run(tmp_path):
    _run(tmp_path / "old", "rnn-digits", {"accuracy": 0.5}, {"cell": "gru"}, mtime=1_000)
    _run(tmp_path / "new", "rnn-digits", {"accuracy": 0.9}, {"cell": "gru"}, mtime=2_000)
    _run(tmp_path / "lstm", "rnn-digits", {"accuracy": 0.7}, {"cell": "lstm"}, mtime=3_000)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "result.json").write_text("{not json")
    assert [f.name for f, _ in find_runs(tmp_path)] == ["lstm", "new", "old"]
    rows = {r["abbr"]: r for r in gallery(tmp_path)}
    assert rows["GRU"]["run"].endswith("new") and rows["GRU"]["result"] == "rnn-digits: accuracy 0.9 (cell=gru)"
    assert rows["GRU"]["picture"].name == "curve.png"
    assert rows["RNN"]["run"] is None and "nnzoo train rnn-digits --set cell=rnn" in rows["RNN"]["result"]
    assert rows["NTM"]["run"] is None and rows["NTM"]["result"] == "not run here: nnzoo train ntm-copy"


def test_markdown_page_copies_the_pictures(tmp_path):
    _run(tmp_path / "runs" / "a", "logreg", {"accuracy": 0.25}, picture=True)
    _run(tmp_path / "runs" / "b", "mlp", {"accuracy": 0.75, "note": "text is left out"}, {"hidden": [256, 256]})
    page = write_markdown(gallery(tmp_path / "runs"), tmp_path / "docs")
    text = page.read_text()
    assert text.count("\n| ") == len(CELLS) + 1          # the header row and one row per cell
    assert "mlp: accuracy 0.75 |" in text and "![DFF](img/dff-curve.png)" in text  # the defaults: no settings
    assert (tmp_path / "docs" / "img" / "dff-curve.png").is_file()


def test_cli_gallery(tmp_path):
    _run(tmp_path / "runs" / "a", "mlp", {"accuracy": 0.5}, {"hidden": [256]})
    cmd = [sys.executable, "-m", "nnzoo", "gallery", "--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "d")]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0 and "1 with a recorded run" in done.stdout, done.stderr
    assert "| FF | Feed forward |" in (tmp_path / "d" / "README.md").read_text()
    bad = subprocess.run(cmd[:5] + [str(tmp_path / "nothing")], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.startswith("nnzoo gallery: argument --runs:")
    assert "Traceback" not in bad.stderr


@pytest.mark.parametrize("abbr", ["NTM", "DNC", "CN"])
def test_the_last_cells_are_built_and_name_their_first_recipe(abbr):
    cell = next(c for c in CELLS if c.abbr == abbr)
    row = next(r for r in gallery() if r["abbr"] == abbr)
    assert cell.coming is None and cell.model is not None
    assert row["result"] == f"not run here: nnzoo train {cell.recipes[0]}"
