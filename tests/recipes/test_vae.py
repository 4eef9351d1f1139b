"""The vae and dcign recipes on tiny configs: result.json keys, pictures, weights load_run reads back, the
config rules."""
import json

import numpy as np
import pytest
from helpers import skip_without_fashion_mnist

from nnzoo.recipes import ConfigError, load_run, recipe_config, run_recipe

VAE_QUICK = {"epochs": 1, "hidden": 32, "train_limit": 256, "test_limit": 100, "iw_k": 20, "iw_images": 10}


@pytest.mark.parametrize("latent", [2, 3])
def test_vae_recipe_writes_result_pictures_and_weights(tmp_path, latent):
    skip_without_fashion_mnist()
    r = run_recipe("vae", out_dir=tmp_path, overrides={**VAE_QUICK, "latent": latent}, progress=False)
    saved = json.loads((tmp_path / "result.json").read_text())
    test = saved["test"]
    assert set(test) >= {"loss", "recon_bce", "kl", "iw_nll", "iw_k", "iw_images"}
    assert test["iw_k"] == 20 and test["iw_images"] == 10
    np.testing.assert_allclose(test["loss"], test["recon_bce"] + test["kl"], rtol=1e-9)
    assert test["kl"] > 0 and 0 < test["iw_nll"] < 784 * np.log(2) * 4       # finite, in nats per image
    for f in ("samples.png", "latent_grid.png", "reconstructions.png", "loss.png"):
        assert (tmp_path / f).is_file(), f
    assert len(saved["figures"]) == 4 and len(r["history"]["train_loss"]) == 1
    _, config, model = load_run(tmp_path)
    assert config["latent"] == latent and model.fc21.out_features == latent


def test_vae_config_rules():
    assert recipe_config("vae")["batch_size"] == 128 and recipe_config("vae", {"iw_images": 0})["iw_images"] == 0
    for bad in ({"latent": 0}, {"iw_k": 0}, {"optimizer": "sgd"}, {"iw_images": -1}, {"lr": -1.0}):
        with pytest.raises(ConfigError):
            recipe_config("vae", bad)


DCIGN_QUICK = {"steps": 4, "batch_size": 8, "size": 16, "channels": (4, 4, 8), "hidden": 16, "test_images": 40,
               "log_every": 2}


@pytest.mark.parametrize("scheme", ["dcign", "vae"])
def test_dcign_recipe_writes_result_pictures_and_weights(tmp_path, scheme):
    r = run_recipe("dcign", out_dir=tmp_path, overrides={**DCIGN_QUICK, "scheme": scheme}, progress=False)
    saved = json.loads((tmp_path / "result.json").read_text())
    assert set(saved["test"]) == {"loss", "recon_bce", "kl"} and saved["steps"] == 4
    dis = saved["disentanglement"]
    for name in ("shape", "scale", "rotation", "x", "y"):
        d = dis[name]
        assert 0 <= d["tied"] <= 1 and 0 <= d["best_other"] <= 1 and d["best_other_unit"] not in d["tied_units"]
        np.testing.assert_allclose(d["margin"], d["tied"] - d["best_other"])
        assert len(d["scores"]) == 6
    assert dis["shape"]["tied_units"] == [0, 1] and 0 <= dis["factors_tied_best"] <= 5
    for f in ("traversals.png", "reconstructions.png", "disentanglement.png", "loss.png"):
        assert (tmp_path / f).is_file(), f
    assert r["history"]["step"] == [2, 4]
    assert (r["history"]["clamp_penalty"][-1] > 0) == (scheme == "dcign")
    _, config, model = load_run(tmp_path)
    assert config["size"] == 16 and model.config.latent == 6


def test_dcign_config_rules():
    assert recipe_config("dcign")["scheme"] == "dcign"
    for bad in ({"size": 20}, {"scheme": "beta"}, {"channels": (4, 4)}, {"clamp_weight": -1.0}, {"steps": 0},
                {"test_images": 5}):
        with pytest.raises(ConfigError):
            recipe_config("dcign", bad)
