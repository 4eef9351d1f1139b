"""nnzoo.recipes.runner: run_recipe's configs (checked against the defaults' types, the common ranges and a
recipe's constraints), the default optimizer and scheduler hooks, the test set left alone when asked, the files
a run writes, resuming, load_run's errors."""
import json
import re
import shutil

import pytest

import nnzoo
from nnzoo import recipes
from nnzoo.io import CheckpointError
from nnzoo.recipes import (
    ConfigError,
    RunError,
    default_optimizer,
    load_run,
    plateau_scheduler,
    recipe_config,
    run_recipe,
)


def test_default_optimizer_follows_the_config():
    model = nnzoo.nn.Linear(2, 1)
    sgd = default_optimizer({"optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 1e-4}, model)
    assert isinstance(sgd, nnzoo.optim.SGD) and sgd.defaults["momentum"] == 0.9
    assert [p for g in sgd.param_groups for p in g["params"]] == list(model.parameters())
    assert isinstance(default_optimizer({"optimizer": "Adam", "lr": 1e-3}, model), nnzoo.optim.Adam)
    assert isinstance(default_optimizer({"optimizer": "adamw", "lr": 1e-3}, model), nnzoo.optim.AdamW)
    with pytest.raises(ValueError, match="unknown optimizer 'lbfgs'"):
        default_optimizer({"optimizer": "lbfgs", "lr": 1.0}, model)


def test_the_default_scheduler_is_the_plateau_policy_on_the_monitor():
    opt = default_optimizer({"optimizer": "sgd", "lr": 0.1}, nnzoo.nn.Linear(2, 1))
    assert plateau_scheduler({"plateau_patience": 0}, opt, 10) == (None, "epoch")
    assert plateau_scheduler({"plateau_patience": None}, opt, 10) == (None, "epoch")
    sched, interval = plateau_scheduler({"plateau_patience": 3}, opt, 10, mode="max")
    assert isinstance(sched, nnzoo.optim.lr_scheduler.ReduceLROnPlateau) and interval == "epoch"
    assert (sched.mode, sched.factor, sched.patience) == ("max", 0.1, 3)
    # a recipe without hooks gets these two, the plateau on its monitor's mode
    r = recipes.recipe("mlp")
    assert r.make_optimizer is default_optimizer and r.make_scheduler.keywords == {"mode": "max"}
    assert recipes.recipe("char-gpt").make_scheduler.__module__ == "nnzoo.recipes.gpt"


def test_run_writes_its_files_and_can_skip_the_test_set(tmp_path):
    r = run_recipe("logreg", out_dir=tmp_path, overrides={"epochs": 2, "plateau_patience": 1}, progress=False,
                   test=False)
    assert r["test"] is None and r["epochs"] == 2 and set(r["val"]) == {"loss", "accuracy"}
    for name in ("best.safetensors", "last.safetensors", "history.json", "history.png", "result.json"):
        assert (tmp_path / name).exists()
    saved = json.loads((tmp_path / "result.json").read_text())
    assert saved["config"]["epochs"] == 2 and saved["test"] is None
    with pytest.raises(ValueError, match=r"takes .*batch_size"):
        run_recipe("logreg", out_dir=tmp_path, overrides={"batchsize": 8})


def test_every_recipe_takes_its_own_defaults():
    for name, r in recipes.recipes().items():
        assert recipe_config(name) == {**r.defaults, **recipe_config(name)}


@pytest.mark.parametrize("name,overrides,key,words", [
    ("mlp", {"epochs": 0}, "epochs", "an integer >= 1"),
    ("mlp", {"epochs": 2.0}, "epochs", "an integer >= 1"),
    ("mlp", {"epochs": True}, "epochs", "an integer >= 1"),
    ("mlp", {"lr": float("inf")}, "lr", "a finite number > 0"),
    ("mlp", {"lr": 10 ** 400}, "lr", "a finite number > 0"),
    ("mlp", {"lr": "0.1"}, "lr", "a finite number > 0"),
    ("mlp", {"batch_size": 0}, "batch_size", "an integer >= 1"),
    ("mlp", {"optimizer": "lbfgs"}, "optimizer", "sgd or adam or adamw"),
    ("mlp", {"weight_decay": -1e-4}, "weight_decay", ">= 0"),
    ("logreg", {"momentum": 1.0}, "momentum", "[0, 1)"),
    ("mlp", {"dropout": -0.1}, "dropout", "[0, 1)"),
    ("mlp", {"hidden": [64, 2.5]}, "hidden", "a list of integers >= 1"),
    ("mlp", {"hidden": 64}, "hidden", "a list of integers >= 1"),
    ("mlp", {"clip_grad_norm": -1}, "clip_grad_norm", "> 0, or null"),
    ("mlp", {"split_seed": 2 ** 63}, "split_seed", "[0, 2**63)"),
    ("rnn-digits", {"bidirectional": "yes"}, "bidirectional", "true or false"),
    ("rnn-digits", {"layers": 0}, "layers", "an integer >= 1"),
    ("rnn-digits", {"cell": None}, "cell", "rnn or lstm or gru"),
    ("char-rnn", {"cell": "transformer"}, "cell", "rnn or lstm or gru"),
    ("char-rnn", {"eval_chars": 63, "batch_size": 32}, "eval_chars", "2 x batch_size characters (batch_size is 32)"),
    ("char-gpt", {"n_embd": 102}, "n_embd", "a multiple of n_head (4)"),
    ("char-gpt", {"train_chars": 64}, "train_chars", "block_size (64)"),
    ("char-gpt", {"optimizer": "sgd"}, "optimizer", "adamw (nanoGPT's optimizer)"),
    ("char-gpt", {"plateau_patience": 2}, "plateau_patience", "0 or null"),
    ("char-gpt", {"beta2": 1.0}, "beta2", "a number in [0, 1)"),
    ("char-gpt", {"warmup_iters": 200, "epochs": 1}, "warmup_iters",
     "fewer than the iterations (epochs x eval_interval: 1 x 200)"),
    ("char-gpt", {"min_lr": 2e-3}, "min_lr", "at most lr (0.001)"),
    ("date-translator", {"cell": "rnn"}, "cell", "gru or lstm"),
    ("date-translator", {"n_val": 0}, "n_val", "an integer >= 1"),
    ("date-translator", {"data_seed": -1}, "data_seed", "an integer >= 0"),
    ("date-transformer", {"d_model": 30}, "d_model", "a multiple of nhead (4)"),
    ("date-transformer", {"norm_first": 1}, "norm_first", "true or false"),
])
def test_a_value_a_recipe_cannot_take_is_a_config_error_naming_the_key(name, overrides, key, words):
    with pytest.raises(ConfigError) as info:
        recipe_config(name, overrides)
    assert info.value.key == key and words in info.value.problem and words in str(info.value)
    assert isinstance(info.value, ValueError)


def test_values_are_checked_against_the_defaults_types_and_kept():
    config = recipe_config("mlp", {"lr": 1, "hidden": [32], "clip_grad_norm": None, "plateau_patience": 2,
                                   "optimizer": "Adam"})
    assert config["lr"] == 1.0 and isinstance(config["lr"], float)   # a float takes an int
    assert config["hidden"] == [32] and config["clip_grad_norm"] is None and config["plateau_patience"] == 2
    assert recipe_config("mlp", {"hidden": []})["hidden"] == []       # no hidden layer: a linear model
    assert recipe_config("char-rnn", {"embed": 0})["embed"] == 0      # 0: one-hot inputs
    assert recipe_config("char-rnn", {"train_chars": 0})["train_chars"] == 0
    assert recipe_config("date-translator", {"locales": "en_GB,fr_FR", "formats": "d MMMM y|short"})


def test_a_recipes_constraints_replace_the_derived_rule():
    from nnzoo.recipes.runner import _config
    r = recipes.Recipe(name="toy", description="", build_model=None, load_data=None, loss=None,
                   defaults={"epochs": 1, "lr": 0.1, "batch_size": 8, "width": 16, "heads": 2, "seed_like": 3},
                   constraints={"seed_like": (lambda v, c: v >= -1, "an integer >= -1 (-1: random)"),
                                "width": (lambda v, c: v % c["heads"] == 0, "a multiple of heads ({heads})")})
    assert _config(r, {"seed_like": -1})["seed_like"] == -1   # the derived rule (>= 1) is replaced
    with pytest.raises(ConfigError, match=r"seed_like must be an integer >= -1 \(-1: random\), got -2"):
        _config(r, {"seed_like": -2})
    with pytest.raises(ConfigError, match=r"width must be a multiple of heads \(3\), got 16"):
        _config(r, {"heads": 3})
    with pytest.raises(ConfigError, match="heads must be an integer >= 1, got 0"):   # before width reads it
        _config(r, {"heads": 0})
    with pytest.raises(ConfigError, match="width must be a multiple of heads"):    # the type check stays
        _config(r, {"width": "16"})


def test_run_recipe_checks_its_other_arguments_before_writing(tmp_path):
    with pytest.raises(ConfigError) as info:
        run_recipe("logreg", out_dir=tmp_path / "out", overrides={"epochs": 1}, seed=-1, progress=False)
    assert info.value.key == "seed" and not (tmp_path / "out").exists()
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError) as info:
        run_recipe("logreg", out_dir=blocker / "out", overrides={"epochs": 1}, progress=False)
    assert info.value.key == "out_dir" and "is a file, not a folder" in info.value.problem


def test_resume_refuses_another_models_checkpoint(tmp_path):
    run_recipe("mlp", out_dir=tmp_path, overrides={"epochs": 1, "hidden": [8]}, progress=False, test=False)
    with pytest.raises(ConfigError) as info:
        run_recipe("mlp", out_dir=tmp_path, overrides={"epochs": 2, "hidden": [16]}, resume=True, progress=False)
    assert info.value.key == "resume" and "--set hidden=[8]" in info.value.problem
    with pytest.raises(ConfigError, match="is from a run of 'mlp', not 'logreg'"):
        run_recipe("logreg", out_dir=tmp_path, overrides={"epochs": 2}, resume=True, progress=False)
    (tmp_path / "last.safetensors").write_bytes(b"\x00" * 10)
    with pytest.raises(CheckpointError, match=r"last\.safetensors"):
        run_recipe("mlp", out_dir=tmp_path, overrides={"epochs": 2, "hidden": [8]}, resume=True, progress=False)


def test_load_run_says_what_is_wrong_with_a_damaged_run(tmp_path):
    good = tmp_path / "good"
    run_recipe("logreg", out_dir=good, overrides={"epochs": 1}, progress=False, test=False)
    assert load_run(good)[0].name == "logreg"
    cases = [("result.json", b"{", "is damaged (JSONDecodeError"),
             ("result.json", b"[1, 2]", "needs a recipe 'name' and a 'config'"),
             ("result.json", b'{"name": "nosuch", "config": {}}', "names no model called 'nosuch'"),
             ("result.json", b'{"name": "logreg", "config": {"lr": -1}}', "lr must be a finite number > 0"),
             ("result.json", b'{"name": "mlp", "config": {}}', "does not fit the 'mlp' model")]
    for k, (name, content, words) in enumerate(cases):
        run = tmp_path / f"bad{k}"
        shutil.copytree(good, run)
        (run / name).write_bytes(content)
        with pytest.raises(RunError, match=re.escape(words)):
            load_run(run)
    shutil.copytree(good, tmp_path / "weights")
    (tmp_path / "weights" / "best.safetensors").write_bytes(b"\x00" * 10)
    with pytest.raises(CheckpointError, match=r"best\.safetensors"):
        load_run(tmp_path / "weights")


def test_best_epoch_never_picks_a_nan_epoch():
    """``min``/``max`` over a list holding NaN depend on where the NaN is; a NaN epoch is never the best."""
    from nnzoo.recipes.runner import _best_epoch
    nan = float("nan")
    history = {"epoch": [1, 2, 3], "val_loss": [nan, 0.5, 0.7], "val_accuracy": [0.2, nan, 0.1]}
    assert _best_epoch(history, "val_loss", "min") == 2
    assert _best_epoch(history, "val_accuracy", "max") == 1
    assert _best_epoch({"epoch": [1, 2], "val_loss": [nan, nan]}, "val_loss", "min") == 2
