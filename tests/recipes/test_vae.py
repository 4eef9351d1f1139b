"""The vae and dcign recipes on tiny configs: result.json keys, pictures, weights load_run reads back, the
config rules."""
import json

import numpy as np
import pytest

from nnzoo.recipes import ConfigError, load_run, recipe_config, run_recipe

VAE_QUICK = {"epochs": 1, "hidden": 32, "train_limit": 256, "test_limit": 100, "iw_k": 20, "iw_images": 10}


@pytest.mark.parametrize("latent", [2, 3])
def test_vae_recipe_writes_result_pictures_and_weights(tmp_path, latent):
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
