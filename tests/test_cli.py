"""The nnzoo command: help, datasets, train (with resume), the BLAS core-type re-exec guard, and the rule for
mistakes: one line on stderr naming the argument and what is allowed, exit status 2, no traceback."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import nnzoo
from nnzoo import cli, recipes
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


def test_train_lists_recipes(capsys, monkeypatch):
    monkeypatch.setenv("NNZOO_NO_CORETYPE", "1")
    assert cli.main(["train", "--list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in recipes.recipes())


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


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two finished runs to break copies of: logreg (1 epoch) and a tiny date translator."""
    from nnzoo.recipes import run_recipe
    root = tmp_path_factory.mktemp("runs")
    run_recipe("logreg", out_dir=root / "logreg", overrides={"epochs": 1}, progress=False)
    r = run_recipe("date-translator", out_dir=root / "dates", progress=False, overrides={
        "n_train": 128, "n_val": 32, "n_test": 32, "epochs": 1, "batch_size": 64, "locales": "en_GB",
        "formats": "d MMMM y", "embed": 8, "enc_hidden": 8, "dec_hidden": 16, "attn_hidden": 8})
    return {"logreg": root / "logreg", "dates": root / "dates", "dates_model": r["model"],
            "dates_config": r["config"]}


def test_translate_command(runs, tmp_path, capsys, monkeypatch):
    from nnzoo.recipes.seq2seq import translate
    monkeypatch.setenv("NNZOO_NO_CORETYPE", "1")
    assert cli.main(["translate", "saturday 9 may 2018", "--run", str(runs["dates"])]) == 0
    out = capsys.readouterr()
    assert out.out.strip() == translate(runs["dates_model"], runs["dates_config"], "saturday 9 may 2018")
    assert out.err == ""
    assert cli.main(["translate", "9 may 2018", "--run", str(tmp_path / "none")]) == 2
    assert "holds no finished run" in capsys.readouterr().err


def test_translate_drops_unknown_characters_and_cuts_long_texts(runs, capsys, monkeypatch):
    """Characters outside the source vocabulary are dropped and a text longer than any date the recipe's data
    holds is cut, each said on one stderr line; exit 0 while something is left, 2 when nothing is."""
    from nnzoo.recipes.seq2seq import longest_date, translate
    monkeypatch.setenv("NNZOO_NO_CORETYPE", "1")
    run, model, config = str(runs["dates"]), runs["dates_model"], runs["dates_config"]
    assert cli.main(["translate", "Saturday 9 May 2018 \U0001F600", "--run", run]) == 0
    out = capsys.readouterr()
    assert out.out.strip() == translate(model, config, "saturday 9 may 2018")
    assert out.err.count("\n") == 1 and "dropped 1 character" in out.err and "\U0001F600" in out.err
    limit = longest_date(("en_GB",), ("d MMMM y",)) + 10
    assert cli.main(["translate", "9 may 2018 " * 1000, "--run", run]) == 0
    out = capsys.readouterr()
    assert out.err.count("\n") == 1 and f"first {limit} characters" in out.err
    assert out.out.strip() == translate(model, config, ("9 may 2018 " * 10)[:limit].rstrip())
    assert cli.main(["translate", "\U0001F600\u00df \u20ac", "--run", run]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nothing left to translate" in err


def _damage(src, dst, name, content):
    shutil.copytree(src, dst)
    (dst / name).write_bytes(content)
    return dst


# Bad invocations: (argv, words the one stderr line must hold). "{out}" is an output folder that must not be
# created; "{file}" a regular file; "{logreg}" a finished logreg run; "{none}" a folder that does not exist.
BAD = [
    (["train", "mlp", "--epochs", "0", "--out", "{out}"], ["--epochs", ">= 1"]),
    (["train", "mlp", "--epochs", "-3", "--out", "{out}"], ["--epochs", ">= 1"]),
    (["train", "mlp", "--epochs", "abc", "--out", "{out}"], ["--epochs", "invalid int"]),
    (["train", "mlp", "--lr", "-1", "--out", "{out}"], ["--lr", "> 0"]),
    (["train", "mlp", "--lr", "nan", "--out", "{out}"], ["--lr", "finite", "nan"]),
    (["train", "mlp", "--lr", "inf", "--out", "{out}"], ["--lr", "finite", "inf"]),
    (["train", "mlp", "--batch-size", "0", "--out", "{out}"], ["--batch-size", ">= 1"]),
    (["train", "mlp", "--seed", str(2 ** 80), "--out", "{out}"], ["--seed", "2**63"]),
    (["train", "mlp", "--seed", "-1", "--out", "{out}"], ["--seed", "2**63"]),
    (["train", "nosuch", "--out", "{out}"], ["MODEL", "nosuch", "mlp"]),
    (["train", "mlp", "--set", "nosuchkey=1", "--out", "{out}"], ["--set nosuchkey", "dropout"]),
    (["train", "mlp", "--set", "novalue", "--out", "{out}"], ["--set", "KEY=VALUE"]),
    (["train", "mlp", "--set", "dropout=abc", "--out", "{out}"], ["--set dropout", "[0, 1)", "'abc'"]),
    (["train", "mlp", "--set", "dropout=1.5", "--out", "{out}"], ["--set dropout", "[0, 1)"]),
    (["train", "mlp", "--set", "hidden=abc", "--out", "{out}"], ["--set hidden", "list of integers"]),
    (["train", "mlp", "--set", "hidden=[64,0]", "--out", "{out}"], ["--set hidden", "list of integers >= 1"]),
    (["train", "rnn-digits", "--set", "hidden=[1,2]", "--out", "{out}"], ["--set hidden", "an integer >= 1"]),
    (["train", "mlp", "--set", "optimizer=nosuch", "--out", "{out}"], ["--set optimizer", "adamw"]),
    (["train", "mlp", "--set", "lr=abc", "--out", "{out}"], ["--set lr", "> 0"]),
    (["train", "mlp", "--set", "lr=NaN", "--out", "{out}"], ["--set lr", "finite"]),
    (["train", "mlp", "--set", "epochs=1.5", "--out", "{out}"], ["--set epochs", "integer"]),
    (["train", "mlp", "--set", "batch_size=-1", "--out", "{out}"], ["--set batch_size", ">= 1"]),
    (["train", "mlp", "--set", "weight_decay=-1", "--out", "{out}"], ["--set weight_decay", ">= 0"]),
    (["train", "logreg", "--set", "momentum=2", "--out", "{out}"], ["--set momentum", "[0, 1)"]),
    (["train", "mlp", "--set", "clip_grad_norm=0", "--out", "{out}"], ["--set clip_grad_norm", "> 0"]),
    (["train", "mlp", "--set", "plateau_patience=-1", "--out", "{out}"], ["--set plateau_patience", ">= 0"]),
    (["train", "mlp", "--set", "split_seed=1.5", "--out", "{out}"], ["--set split_seed", "integer"]),
    (["train", "rnn-digits", "--set", "cell=nosuch", "--out", "{out}"], ["--set cell", "lstm"]),
    (["train", "rnn-digits", "--set", "bidirectional=1", "--out", "{out}"], ["--set bidirectional", "true"]),
    (["train", "cnn", "--set", "channels=[8]", "--out", "{out}"], ["--set channels", "two integers"]),
    (["train", "char-rnn", "--set", "works=nosuch", "--out", "{out}"], ["--set works", "hamlet"]),
    (["train", "char-rnn", "--set", "embed=-1", "--out", "{out}"], ["--set embed", "one-hot"]),
    (["train", "char-rnn", "--set", "train_chars=10", "--out", "{out}"], ["--set train_chars", "batch_size is 32"]),
    (["train", "char-gpt", "--set", "n_head=3", "--out", "{out}"], ["--set n_embd", "multiple of n_head (3)"]),
    (["train", "date-translator", "--set", "locales=xx_XX", "--out", "{out}"], ["--set locales", "en_GB"]),
    (["train", "date-translator", "--set", "formats=zzz", "--out", "{out}"], ["--set formats", "Babel"]),
    (["train", "date-translator", "--set", "teacher_forcing=2", "--out", "{out}"], ["--set teacher_forcing"]),
    (["train", "date-transformer", "--set", "positions=abc", "--out", "{out}"], ["--set positions", "learned"]),
    (["train", "logreg", "--epochs", "1", "--out", "{file}/sub"], ["--out", "is a file"]),
    (["train", "logreg", "--epochs", "1", "--out", "{file}"], ["--out", "is a file"]),
    (["train", "mlp", "--epochs", "2", "--resume", "--out", "{logreg}"], ["--resume", "'logreg'"]),
    (["train", "logreg", "--epochs", "2", "--resume", "--out", "{logreg:last.safetensors}"],
     ["--resume", "last.safetensors", "not a valid", "delete"]),
    (["tour", "--out", "{file}/sub"], ["--out", "is a file"]),
    (["datasets", "nosuch"], ["nosuch", "digits"]),
    (["sample", "--temperature", "inf", "--run", "{none}"], ["--temperature", "finite"]),
    (["sample", "--temperature", "nan", "--run", "{none}"], ["--temperature", "finite"]),
    (["sample", "--temperature", "-1", "--run", "{none}"], ["--temperature", ">= 0"]),
    (["sample", "--length", "-1", "--run", "{none}"], ["--length", ">= 0"]),
    (["sample", "--top-k", "0", "--run", "{none}"], ["--top-k", ">= 1"]),
    (["sample", "--seed", str(2 ** 64), "--run", "{none}"], ["--seed", "2**63"]),
    (["sample", "--run", "{none}"], ["--run", "no finished run"]),
    (["sample", "--run", "{logreg}"], ["--run", "'logreg'", "writes text"]),
    (["sample", "--run", "{logreg:result.json}"], ["--run", "result.json", "damaged"]),
    (["translate", "", "--run", "{none}"], ["TEXT", "nothing to translate"]),
    (["translate", "   ", "--run", "{none}"], ["TEXT", "nothing to translate"]),
    (["translate", "9 may 2018", "--run", "{none}"], ["--run", "no finished run"]),
    (["translate", "9 may 2018", "--run", "{logreg}"], ["--run", "not a translation model"]),
    (["translate", "9 may 2018", "--run", "{dates:result.json}"], ["--run", "result.json", "damaged"]),
    (["translate", "9 may 2018", "--run", "{dates:result.json=name}"], ["--run", "'name'", "'config'"]),
    (["translate", "9 may 2018", "--run", "{dates:result.json=recipe}"], ["--run", "no model called 'nosuch'"]),
    (["translate", "9 may 2018", "--run", "{dates:result.json=config}"], ["--run", "embed", "integer"]),
    (["translate", "9 may 2018", "--run", "{dates:best.safetensors}"], ["--run", "best.safetensors", "not a valid"]),
    (["nosuchcommand"], ["COMMAND", "invalid choice"]),
    (["train", "mlp", "--nosuchflag"], ["--nosuchflag"]),
]
_BROKEN = {"": b"{not json", "name": b'{"config": {}}', "recipe": b'{"name": "nosuch", "config": {}}',
           "config": b'{"name": "date-translator", "config": {"embed": "x"}}'}


def _arg(text, tmp_path, runs):
    """An argument of BAD with its placeholder filled in (a damaged copy of a run made where asked)."""
    if "{" not in text:
        return text
    name = text[text.index("{") + 1:text.index("}")]
    if ":" in name:   # {run:file} or {run:file=how}: a copy of the run with that file damaged
        run, _, damage = name.partition(":")
        file, _, how = damage.partition("=")
        content = _BROKEN[how] if file == "result.json" else b"\x00" * 20
        path = _damage(runs[run], tmp_path / f"broken-{run}", file, content)
    elif name == "file":
        path = tmp_path / "a-file"
        path.write_text("not a folder")
    else:
        path = {"out": tmp_path / "out", "none": tmp_path / "none"}.get(name) or runs[name]
    return text.replace("{" + name + "}", str(path))


def _snapshot(root):
    return {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("argv,words", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_a_bad_invocation_gets_one_line_and_status_2(argv, words, runs, tmp_path, capsys, monkeypatch):
    """Every user mistake: exit status 2, exactly one line on stderr naming the argument and what is allowed,
    nothing on stdout, and nothing written (no output folder made, no run changed)."""
    monkeypatch.setenv("NNZOO_NO_CORETYPE", "1")
    argv = [_arg(a, tmp_path, runs) for a in argv]
    before, runs_before = _snapshot(tmp_path), _snapshot(runs["logreg"].parent)
    try:
        status = cli.main(argv)
    except SystemExit as e:   # argparse's own errors
        status = e.code
    out = capsys.readouterr()
    assert status == 2
    assert out.out == "" and out.err.count("\n") == 1 and out.err.endswith("\n"), out.err
    assert out.err.startswith(f"nnzoo {argv[0] if argv[0] in cli_commands() else ''}".rstrip())
    for word in words:
        assert word in out.err, (word, out.err)
    assert "Traceback" not in out.err
    assert _snapshot(tmp_path) == before and _snapshot(runs["logreg"].parent) == runs_before
    assert not (tmp_path / "out").exists()


def cli_commands():
    return ("tour", "datasets", "train", "sample", "translate")


@pytest.mark.parametrize("argv", [["train", "mlp", "--lr", "-1", "--out", "{out}"],
                                  ["train", "mlp", "--epochs", "abc"],
                                  ["translate", "", "--run", "{none}"]])
def test_the_real_command_exits_2_without_a_traceback(argv, tmp_path):
    argv = [a.replace("{out}", str(tmp_path / "out")).replace("{none}", str(tmp_path / "none")) for a in argv]
    env = dict(os.environ, NNZOO_NO_CORETYPE="1", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-m", "nnzoo", *argv], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert not (tmp_path / "out").exists()


def test_resume_with_other_hyper_parameters_names_them(runs, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("NNZOO_NO_CORETYPE", "1")
    out = tmp_path / "mlp"
    assert cli.main(["train", "mlp", "--epochs", "1", "--set", "hidden=[8]", "--no-progress", "--out", str(out)]) == 0
    capsys.readouterr()
    before = _snapshot(out)
    assert cli.main(["train", "mlp", "--epochs", "2", "--resume", "--no-progress", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--resume" in err and "--set hidden=[8]" in err
    assert _snapshot(out) == before


def test_resume_without_a_checkpoint_trains_from_scratch(tmp_path, capsys, monkeypatch):
    """--resume in a new folder trains from the start; what the Trainer says about it is one line."""
    monkeypatch.setenv("NNZOO_NO_CORETYPE", "1")
    out = tmp_path / "new"
    assert cli.main(["train", "logreg", "--epochs", "1", "--resume", "--no-progress", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert json.loads((out / "result.json").read_text())["epochs"] == 1
    assert all(line.startswith("nnzoo train: ") for line in captured.err.splitlines())


def test_a_diverged_run_exits_1_with_one_line(tmp_path, capsys, monkeypatch):
    """NonFiniteError from the Trainer: one line with where it diverged, the kept checkpoint and a hint."""
    from nnzoo.train import NonFiniteError
    monkeypatch.setenv("NNZOO_NO_CORETYPE", "1")

    def diverge(*args, **kwargs):
        raise NonFiniteError("Trainer: non-finite values ... (long)", epoch=3, step=70, batch=4, what="linear.weight",
                             checkpoint=str(tmp_path / "last.safetensors"))

    monkeypatch.setattr(recipes, "run_recipe", diverge)
    assert cli.main(["train", "logreg", "--lr", "0.5", "--out", str(tmp_path)]) == 1
    out = capsys.readouterr()
    assert out.out == "" and out.err.count("\n") == 1
    for word in ("diverged", "epoch 3, batch 5 of the epoch", "gradient of 'linear.weight'", "last.safetensors",
                 "--lr", "0.5"):
        assert word in out.err, word


def test_the_result_is_printed_as_strict_json(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("NNZOO_NO_CORETYPE", "1")
    monkeypatch.setattr(recipes, "run_recipe", lambda *a, **k: {"test": {"loss": float("nan"), "accuracy": 0.5},
                                                               "out_dir": str(tmp_path)})
    assert cli.main(["train", "logreg", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out

    def not_json(constant):
        raise AssertionError(f"{constant} is not JSON")

    assert json.loads(printed[:printed.rindex("}") + 1], parse_constant=not_json)["loss"] is None


def test_run_command_is_listed_and_runs_a_program(tmp_path, capsys, monkeypatch):
    """`nnzoo run SCRIPT ARGS...`: listed by --help; its arguments after SCRIPT go to the program untouched."""
    monkeypatch.setenv("NNZOO_NO_CORETYPE", "1")
    assert cli.main([]) == 0
    assert "nnzoo run SCRIPT [ARGS...]" in capsys.readouterr().out
    assert cli.main(["run", "--help"]) == 0
    assert capsys.readouterr().out.startswith("usage: nnzoo run SCRIPT [ARGS...]")
    prog = tmp_path / "prog.py"
    prog.write_text("import sys, torch\nprint(sys.argv[1:], torch.arange(3).sum().item())\n")
    assert cli.main(["run", str(prog), "--epochs", "2", "--help"]) == 0
    assert capsys.readouterr().out == "['--epochs', '2', '--help'] 3\n"
    assert cli.main(["run", str(tmp_path / "missing.py")]) == 2
    assert capsys.readouterr().err.startswith("nnzoo run: can't open file")
    assert cli.main(["run"]) == 2


def test_set_takes_several_pairs_after_one_flag_and_repeated_flags():
    from nnzoo import cli
    args = cli._parser().parse_args(["train", "mlp", "--set", "epochs=2", "lr=0.5", "--set", "corpus=x y"])
    assert cli._parse_set(args.set) == {"epochs": 2, "lr": 0.5, "corpus": "x y"}
