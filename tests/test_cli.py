"""The nnzoo command: help, datasets, train (with resume), the BLAS core-type re-exec guard."""
import json

import numpy as np
import pytest

import nnzoo
from nnzoo import cli, zoo
from nnzoo.data.datasets import catalog
from nnzoo.viz import graph_text


def test_cli_version_and_help(capsys, monkeypatch):
    monkeypatch.setenv("NNZOO_NO_CORETYPE", "1")
    assert cli.main(["--version"]) == 0
    assert nnzoo.__version__ in capsys.readouterr().out
    assert cli.main([]) == 0
    out = capsys.readouterr().out
    assert all(cmd in out for cmd in ("tour", "datasets", "train"))
    for cmd in ("tour", "datasets", "train"):
        with pytest.raises(SystemExit) as info:
            cli.main([cmd, "--help"])
        assert info.value.code == 0
    assert "--epochs" in capsys.readouterr().out


def test_datasets_lists_and_describes_every_entry(capsys):
    assert cli.main(["datasets"]) == 0
    out = capsys.readouterr().out
    names = list(catalog())
    assert names and all(name in out for name in names)
    assert cli.main(["datasets", "digits"]) == 0
    described = capsys.readouterr().out
    assert "License" in described and "(1797, 1, 8, 8)" in described
    assert cli.main(["datasets", "no_such_set"]) == 2
    assert "digits" in capsys.readouterr().err  # the error lists the known ones


def test_train_lists_recipes_and_rejects_unknown_names(capsys, monkeypatch):
    monkeypatch.setenv("NNZOO_NO_CORETYPE", "1")
    assert cli.main(["train", "--list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in zoo.recipes())
    assert cli.main(["train", "no-such-model"]) == 2
    assert "mlp" in capsys.readouterr().err
    with pytest.raises(ValueError, match="no hyper-parameter 'widht'"):
        cli.main(["train", "logreg", "--set", "widht=3", "--no-progress"])
    with pytest.raises(SystemExit):
        cli.main(["train", "logreg", "--set", "novalue"])


def test_train_then_resume_equals_one_run(tmp_path, capsys, monkeypatch):
    """`nnzoo train logreg --epochs 2`, then `--resume --epochs 4`, gives the weights of 4 epochs in one go."""
    monkeypatch.setenv("NNZOO_NO_CORETYPE", "1")
    split, whole = tmp_path / "split", tmp_path / "whole"
    common = ["train", "logreg", "--no-progress", "--seed", "3"]
    assert cli.main(common + ["--epochs", "2", "--out", str(split)]) == 0
    assert json.loads((split / "result.json").read_text())["epochs"] == 2
    assert cli.main(common + ["--epochs", "4", "--out", str(split), "--resume"]) == 0
    assert cli.main(common + ["--epochs", "4", "--out", str(whole)]) == 0
    capsys.readouterr()
    a, b = nnzoo.load(split / "last.safetensors"), nnzoo.load(whole / "last.safetensors")
    for key in ("linear.weight", "linear.bias"):
        assert np.array_equal(a["model"][key].numpy(), b["model"][key].numpy())
    ha = json.loads((split / "history.json").read_text())
    hb = json.loads((whole / "history.json").read_text())
    assert ha["epoch"] == [1, 2, 3, 4] and ha["train_loss"] == hb["train_loss"]


def test_fast_blas_reexec_only_when_unset(monkeypatch):
    calls = []
    monkeypatch.setattr(cli.os, "execve", lambda *a: calls.append(a))
    monkeypatch.setattr(cli, "_has_avx512", lambda: True)
    monkeypatch.delenv("NNZOO_NO_CORETYPE", raising=False)
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    cli.ensure_fast_blas(["tour"])
    assert calls == []
    monkeypatch.delenv("OPENBLAS_CORETYPE")
    cli.ensure_fast_blas(["tour"])
    assert calls and calls[0][2]["OPENBLAS_CORETYPE"] == "SkylakeX" and calls[0][1][-1] == "tour"
    monkeypatch.setattr(cli, "_has_avx512", lambda: False)
    calls.clear()
    cli.ensure_fast_blas(["tour"])
    assert calls == []


def test_graph_text_draws_shared_leaves_and_names():
    x = nnzoo.tensor(2.0, requires_grad=True)
    y = nnzoo.tensor(3.0, requires_grad=True)
    text = graph_text((x + y) * x, {x: "x", y: "y"})
    lines = text.splitlines()
    assert lines[0] == "MulBackward0"
    assert sum("x (leaf" in line for line in lines) == 2 and any("y (leaf" in line for line in lines)
    assert graph_text(x, {x: "x"}) == "x (leaf, shape ())"


def test_translate_command(tmp_path, capsys, monkeypatch):
    from nnzoo.train.recipes import run_recipe
    from nnzoo.zoo.seq2seq import translate
    monkeypatch.setenv("NNZOO_NO_CORETYPE", "1")
    run = tmp_path / "dates"
    r = run_recipe("date-translator", out_dir=run, progress=False, overrides={
        "n_train": 128, "n_val": 32, "n_test": 32, "epochs": 1, "batch_size": 64, "locales": "en_GB",
        "formats": "d MMMM y", "embed": 8, "enc_hidden": 8, "dec_hidden": 16, "attn_hidden": 8})
    capsys.readouterr()
    assert cli.main(["translate", "saturday 9 may 2018", "--run", str(run)]) == 0
    assert capsys.readouterr().out.strip() == translate(r["model"], r["config"], "saturday 9 may 2018")
    assert cli.main(["translate", "9 may 2018", "--run", str(tmp_path / "none")]) == 2
    assert "holds no finished run" in capsys.readouterr().err
