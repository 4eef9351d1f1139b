"""The mc-dropout recipe on a tiny config: result.json's test figures for both predictions, the pictures, the
config rules. The model and the calibration figures: tests/zoo/test_mc_dropout.py."""
import json

import numpy as np
import pytest
from helpers import skip_without_fashion_mnist

from nnzoo.recipes import ConfigError, load_run, recipe_config, run_recipe
from nnzoo.zoo.mc_dropout import expected_calibration_error, predict_proba

TINY = {"epochs": 1, "channels": [4, 8], "hidden": 16, "train_size": 256, "val_size": 128, "test_size": 200,
        "batch_size": 64, "mc_samples": 3}


def test_recipe_writes_both_predictions_figures_and_the_reliability_diagram(tmp_path):
    skip_without_fashion_mnist()
    r = run_recipe("mc-dropout", out_dir=tmp_path, overrides=TINY, progress=False)
    for f in ("result.json", "reliability.png", "history.png", "best.safetensors"):
        assert (tmp_path / f).is_file(), f
    test = json.loads((tmp_path / "result.json").read_text())["test"]
    assert {"loss", "accuracy", "weight_scaling", "mc_dropout"} <= set(test)
    for name in ("weight_scaling", "mc_dropout"):
        assert set(test[name]) >= {"accuracy", "ece", "nll"}
        assert 0 <= test[name]["accuracy"] <= 1 and 0 <= test[name]["ece"] <= 1 and test[name]["nll"] > 0
    assert test["mc_dropout"]["samples"] == 3
    # weight scaling's figures are those of the saved model in eval mode on the same 200 test images
    _, _, model = load_run(tmp_path)
    x, y = r["test_set"].tensors[0], r["test_set"].tensors[1].numpy()
    p = predict_proba(model, x)
    assert test["weight_scaling"]["accuracy"] == pytest.approx(np.mean(p.argmax(1) == y))
    assert test["weight_scaling"]["ece"] == pytest.approx(expected_calibration_error(p, y, 15), abs=1e-6)
    assert test["accuracy"] == test["weight_scaling"]["accuracy"]


def test_config_rules():
    assert recipe_config("mc-dropout")["mc_samples"] == 30 and recipe_config("mc-dropout")["ece_bins"] == 15
    for bad in ({"channels": [4]}, {"mc_samples": 0}, {"test_size": 20000}, {"dropout": 1.0}, {"ece_bins": 0}):
        with pytest.raises(ConfigError):
            recipe_config("mc-dropout", bad)
