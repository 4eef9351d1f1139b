"""The GAN recipes: a tiny run writes samples.npy, gan.pt, result.json with the mode metrics and the pictures;
the config rules."""
import json

import numpy as np
import pytest

from nnzoo.recipes import ConfigError, recipe, recipe_config, run_recipe
from nnzoo.zoo.gan import grid_modes, mode_metrics

TINY = {"steps": 6, "batch_size": 16, "g_hidden": 16, "g_layers": 2, "d_hidden": 8, "d_layers": 1,
        "n_samples": 300, "snapshots": 2, "log_every": 2}


@pytest.mark.parametrize("name", ["gan-ring", "pacgan-grid"])
def test_recipe_writes_samples_metrics_and_pictures(tmp_path, name):
    r = run_recipe(name, out_dir=tmp_path, overrides=TINY, progress=False)
    for f in ("samples.npy", "gan.pt", "result.json", "samples.png", "curves.png", "snapshots.png"):
        assert (tmp_path / f).is_file(), f
    saved = json.loads((tmp_path / "result.json").read_text())
    samples = np.load(tmp_path / "samples.npy")
    assert samples.shape == (300, 2) and samples.dtype == np.float32
    test = saved["test"]
    assert set(test) >= {"modes", "high_quality", "reverse_kl", "counts"}
    k = 8 if name == "gan-ring" else 25
    assert len(test["counts"]) == k and 0 <= test["modes"] <= k and 0 <= test["high_quality"] <= 1
    if name == "pacgan-grid":      # the figures are those of the saved samples
        m = mode_metrics(samples, grid_modes(), 0.05)
        assert test["modes"] == m["modes"] and test["high_quality"] == pytest.approx(m["high_quality"])
    assert saved["config"]["pack"] == (2 if name.startswith("pacgan") else 1)
    assert [t["step"] for t in saved["trajectory"]] == [3, 6] and len(saved["figures"]) == 3
    assert r["history"]["step"] == [2, 4, 6]
    assert r["model"].discriminator.net[0].linear.in_features == 2 * saved["config"]["pack"]


def test_config_rules():
    assert recipe_config("pacgan-ring")["pack"] == 2 and recipe_config("gan-grid")["data"] == "grid"
    assert recipe("gan-ring").fit is not None
    for bad in ({"data": "moons"}, {"pack": 0}, {"g_loss": "hinge"}, {"snapshots": 10, "steps": 5},
                {"beta1": 1.0}, {"optimizer": "sgd"}):
        with pytest.raises(ConfigError):
            recipe_config("gan-ring", bad)


def test_resume_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="resume"):
        run_recipe("gan-ring", out_dir=tmp_path, overrides=TINY, progress=False, resume=True)


def test_lr_decay_matches_torch_schedule(tmp_path):
    """lr_factor against PyTorch's constant-then-linear schedule (SequentialLR of ConstantLR and LinearLR)."""
    torch = pytest.importorskip("torch")
    from nnzoo.recipes.gan import lr_factor
    steps, frac = 40, 0.5
    half = int(frac * steps)
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    sched = torch.optim.lr_scheduler.SequentialLR(opt, [
        torch.optim.lr_scheduler.ConstantLR(opt, factor=1.0, total_iters=half),
        torch.optim.lr_scheduler.LinearLR(opt, start_factor=1.0, end_factor=0.0, total_iters=steps - half)],
        milestones=[half])
    expected = []
    for _ in range(steps):
        expected.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    factor = lr_factor(steps, frac)
    assert [factor(k) for k in range(steps)] == pytest.approx(expected)
    assert [lr_factor(steps, 1.0)(k) for k in range(steps)] == [1.0] * steps
    r = run_recipe("pacgan-ring", out_dir=tmp_path, overrides={**TINY, "decay_from": 0.5}, progress=False)
    assert r["test"]["modes"] >= 0
    with pytest.raises(ConfigError):
        recipe_config("gan-ring", {"decay_from": 1.5})
