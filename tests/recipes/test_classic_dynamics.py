"""The recipes markov, som, esn and lsm on tiny configs: result.json's figures and pictures, the config rules."""
import json

import pytest

from nnzoo.recipes import ConfigError, recipe_config, run_recipe

QUICK = {
    "markov": {"train_chars": 20000, "eval_chars": 3000, "max_order": 3, "word_max_order": 2, "sample_length": 40},
    "som": {"map_size": 8, "iterations": 300, "sigma": 2.0},
    "esn": {"timesteps": 400, "units": 40, "warmup": 50, "generate_steps": 40},
    "lsm": {"templates": 2, "train_per_class": 5, "test_per_class": 5, "jitters": "0,4", "duration": 60},
}
KEYS = {
    "markov": ("perplexity", "word_perplexity", "order", "seconds"),
    "som": ("quantization_error", "topographic_error", "seconds"),
    "esn": ("rmse", "r2", "nrmse", "horizon", "free_run_nrmse", "seconds"),
    "lsm": ("accuracy", "baseline_accuracy", "seconds"),
}
PICTURES = {"markov": ("perplexity.png", "transition.png"), "som": ("u_matrix.png", "codebook.png"),
            "esn": ("predictions.png", "states.png"), "lsm": ("accuracy_vs_jitter.png", "raster.png")}


@pytest.mark.parametrize("name", sorted(QUICK))
def test_recipe_writes_its_figures_and_pictures(tmp_path, name):
    run_recipe(name, out_dir=tmp_path, overrides=QUICK[name], progress=False)
    saved = json.loads((tmp_path / "result.json").read_text())
    assert saved["name"] == name
    for key in KEYS[name]:
        assert saved["test"][key] is not None, key
    for picture in PICTURES[name]:
        assert (tmp_path / picture).is_file(), picture
    if name == "markov":
        rows = saved["orders"]["char"]
        assert [r["order"] for r in rows] == [1, 2, 3] and rows[2]["val"] < rows[0]["val"]
        assert saved["stationary"]["max_abs_difference"] < 1e-8 and saved["samples"]["3"].startswith("ROMEO:")
    if name == "som":
        assert 0 <= saved["test"]["topographic_error"] <= 1
    if name == "esn":
        assert saved["test"]["r2"] > 0.99
    if name == "lsm":
        assert [r["jitter"] for r in saved["by_jitter"]] == [0.0, 4.0]


@pytest.mark.parametrize("name, bad", [
    ("markov", {"smoothing": "witten_bell"}), ("markov", {"max_order": 12}), ("markov", {"level": "bytes"}),
    ("som", {"neighborhood": "mexican"}), ("som", {"sigma": 0.0}), ("som", {"init": "zeros"}),
    ("esn", {"leak_rate": 1.5}), ("esn", {"warmup": 5000}), ("esn", {"test_size": 1.0}),
    ("lsm", {"jitters": "a,b"}), ("lsm", {"jitter": 3.0}), ("lsm", {"templates": 1}),
])
def test_bad_settings_are_config_errors(name, bad):
    with pytest.raises(ConfigError):
        recipe_config(name, bad)


def test_the_maps_settings_are_minisoms_example():
    config = recipe_config("som", {"map_size": 30, "sigma": 4, "lr": 0.5, "iterations": 5000})
    assert (config["map_size"], config["sigma"], config["lr"], config["iterations"]) == (30, 4, 0.5, 5000)
    assert config["neighborhood"] == "triangle" and config["init"] == "pca" and config["standardize"]


@pytest.mark.parametrize("name", sorted(QUICK))
def test_resume_is_refused(tmp_path, name):
    with pytest.raises(ConfigError, match="resume"):
        run_recipe(name, out_dir=tmp_path, overrides=QUICK[name], progress=False, resume=True)
