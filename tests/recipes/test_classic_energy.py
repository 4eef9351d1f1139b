"""The recipes hopfield, boltzmann, rbm and dbn on tiny configs: result.json's figures, the pictures, the config
rules."""
import json

import pytest
from helpers import skip_without_fashion_mnist

from nnzoo.recipes import ConfigError, recipe_config, run_recipe

QUICK = {
    "hopfield": {"n_min": 40, "n_max": 80, "n_step": 40, "load_min": 0.05, "load_max": 0.35, "load_step": 0.15,
                 "patterns_per_point": 20, "dataset": "digits", "n_images": 2, "noise": 0.1},
    "boltzmann": {"runs": 2, "max_cycles": 4, "check_every": 2, "anneals": 2, "test_chains": 2},
    "rbm": {"n_components": 8, "n_iter": 1, "batch_size": 50, "fashion_hidden": 4, "fashion_train": 300,
            "fashion_epochs": 1, "ais_runs": 10, "ais_betas": 20},
    "dbn": {"hidden": [8], "pretrain_epochs": 1, "pretrain_batch": 500, "n_labelled": 200, "n_val": 200,
            "epochs": 1, "batch_size": 50},
}
FIGURES = {"hopfield": ("capacity", "capacity_theory", "recalled_at_theory", "image_recall", "image_recall_sync",
                        "seconds"),
           "boltzmann": ("success_rate", "median_cycles", "seconds"),
           "rbm": ("accuracy", "pseudo_likelihood", "log_likelihood", "log_likelihood_ais", "ais_gap", "seconds"),
           "dbn": ("accuracy", "accuracy_random", "accuracy_gain", "seconds")}
PICTURES = {"hopfield": ("capacity.png", "recall.png", "energy.png"),
            "boltzmann": ("learning_curve.png", "solution.png"),
            "rbm": ("digits_filters.png", "digits_samples.png", "fashion_filters.png", "fashion_samples.png"),
            "dbn": ("learning_curves.png", "filters.png")}


@pytest.mark.parametrize("name", list(QUICK))
def test_recipe_runs_and_writes_its_figures(tmp_path, name):
    if name in ("rbm", "dbn"):
        pytest.importorskip("sklearn")
        skip_without_fashion_mnist()
    run_recipe(name, out_dir=tmp_path, overrides=QUICK[name], progress=False)
    saved = json.loads((tmp_path / "result.json").read_text())
    assert saved["name"] == name and saved["best_epoch"] is None
    for key in FIGURES[name]:
        assert key in saved["test"], key
    for f in PICTURES[name]:
        assert (tmp_path / f).is_file(), f
    assert len(saved["figures"]) == len(PICTURES[name])
    test = saved["test"]
    if name == "hopfield":
        assert test["capacity_theory"] == 0.138 and 0 <= test["image_recall"] <= 1
    elif name == "rbm":
        assert 0 <= test["accuracy"] <= 1 and test["log_likelihood"] < 0
        assert test["ais_gap"] == pytest.approx(test["log_likelihood_ais"] - test["log_likelihood"])
    elif name == "dbn":
        assert 0 < test["accuracy"] <= 1 and 0 < test["accuracy_random"] <= 1
    else:
        assert 0 <= test["success_rate"] <= 1


@pytest.mark.parametrize("name,bad", [
    ("hopfield", {"noise": 0.6}), ("hopfield", {"dataset": "cifar"}), ("hopfield", {"n_min": 200, "n_max": 100}),
    ("boltzmann", {"rule": "hebb"}), ("boltzmann", {"eps": -1.0}), ("boltzmann", {"runs": 0}),
    ("rbm", {"update": "exact"}), ("rbm", {"fashion_hidden": 30}), ("rbm", {"learning_rate": 0.0}),
    ("dbn", {"hidden": [0]}), ("dbn", {"update": "sgd"}), ("dbn", {"n_labelled": 60000}),
])
def test_bad_settings_are_config_errors(name, bad):
    with pytest.raises(ConfigError):
        recipe_config(name, bad)


@pytest.mark.parametrize("name", list(QUICK))
def test_resume_is_refused(tmp_path, name):
    with pytest.raises(ConfigError, match="resume"):
        run_recipe(name, out_dir=tmp_path, overrides=QUICK[name], progress=False, resume=True)
