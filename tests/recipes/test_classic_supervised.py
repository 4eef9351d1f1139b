"""The recipes perceptron, rbf and elm on tiny configs: result.json's figures, the pictures, the config rules."""
import json

import pytest

from nnzoo.recipes import ConfigError, recipe_config, run_recipe

pytest.importorskip("sklearn")          # the digits come from scikit-learn's bundled copy


def _saved(path):
    saved = json.loads((path / "result.json").read_text())
    for caption_path, _ in saved["figures"]:
        assert (path / caption_path.rsplit("/", 1)[-1]).is_file(), caption_path
    return saved


def test_perceptron_recipe(tmp_path):
    r = run_recipe("perceptron", out_dir=tmp_path, progress=False,
                   overrides={"epochs": 2, "n": 60, "max_epochs": 30})
    test = _saved(tmp_path)["test"]
    assert test["mistakes"] <= test["mistake_bound"] and test["epochs_to_converge"] >= 1
    assert test["xor_converged"] is False and test["xor_fewest_mistakes"] > 0
    assert 0.5 < test["accuracy"] <= 1 and test["seconds"] > 0
    for f in ("separable_boundary.png", "xor_boundary.png", "mistakes.png"):
        assert (tmp_path / f).is_file()
    assert len(r["history"]["digits"]) == 2


def test_rbf_recipe(tmp_path):
    run_recipe("rbf", out_dir=tmp_path, progress=False,
               overrides={"centres": 20, "n": 60, "moons_centres": 6, "gd_epochs": 5, "mlp_epochs": 1})
    test = _saved(tmp_path)["test"]
    for task in ("xor", "moons", "digits"):
        for key in ("accuracy", "accuracy_gradient", "mlp_accuracy", "seconds", "parameters", "mlp_parameters"):
            assert f"{task}_{key}" in test
    assert test["accuracy"] == test["digits_accuracy"] > 0.5
    assert abs(test["mlp_parameters"] - test["parameters"]) <= 64 + 1 + 10   # one hidden unit's worth
    for f in ("xor_boundary.png", "moons_boundary.png", "digits_centres.png", "readout_descent.png"):
        assert (tmp_path / f).is_file()


def test_elm_recipe(tmp_path):
    run_recipe("elm", out_dir=tmp_path, progress=False, overrides={"dataset": "digits", "hidden": 200})
    saved = _saved(tmp_path)
    assert saved["test"]["accuracy"] > 0.8 and saved["test"]["hidden"] == 200 and saved["val"]["accuracy"] > 0.8
    assert (tmp_path / "confusion.png").is_file() and (tmp_path / "hidden_units.png").is_file()


@pytest.mark.parametrize("name,bad", [("perceptron", {"task": "mnist"}), ("perceptron", {"margin": 1.5}),
                                      ("rbf", {"width_scale": 0.0}), ("rbf", {"centres": 1}),
                                      ("elm", {"activation": "softsign"}), ("elm", {"alpha": -1.0}),
                                      ("elm", {"hidden": 0})])
def test_bad_settings_are_config_errors(name, bad):
    with pytest.raises(ConfigError):
        recipe_config(name, bad)


def test_resume_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="resume"):
        run_recipe("perceptron", out_dir=tmp_path, overrides={"task": "separable"}, progress=False, resume=True)
