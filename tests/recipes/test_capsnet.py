"""The capsnet recipe on a tiny config (real Fashion-MNIST images, a few hundred of them): result.json's figures,
the pictures, the saved weights reloaded, the time limit, the config rules. The model and the routing's parity
with torch: tests/zoo/test_capsnet.py."""
import json

import numpy as np
import pytest
from helpers import skip_without_fashion_mnist

from nnzoo.recipes import ConfigError, load_run, recipe_config, recipes, run_recipe
from nnzoo.recipes.capsnet import augment_batch, evaluate

TINY = {"epochs": 1, "conv_channels": 8, "primary_types": 2, "decoder_hidden": [16, 32], "train_size": 96,
        "val_size": 64, "test_size": 100, "batch_size": 32, "perturb_images": 1}


def test_recipe_writes_its_figures_pictures_and_weights(tmp_path):
    skip_without_fashion_mnist()
    run_recipe("capsnet", out_dir=tmp_path, overrides=TINY, progress=False)
    for f in ("result.json", "history.json", "history.png", "reconstructions.png", "dimensions_0.png",
              "best.safetensors"):
        assert (tmp_path / f).is_file(), f
    result = json.loads((tmp_path / "result.json").read_text())
    test = result["test"]
    assert set(test) == {"accuracy", "error_rate", "margin_loss", "reconstruction_sse"}
    assert 0 <= test["accuracy"] <= 1 and test["error_rate"] == pytest.approx(1 - test["accuracy"])
    assert result["steps"] == 3 and result["images_seen"] == 96 and not result["stopped_by_time"]
    assert result["train_seconds"] > 0 and result["train_cpu_seconds"] > 0
    assert len(result["figures"]) == 3
    # the figures are those of the saved weights on the same 100 test images
    _, config, model = load_run(tmp_path)
    from nnzoo.recipes.capsnet import load_data
    xt, yt = load_data(config)[2]
    again = evaluate(model, xt, yt)
    assert again["accuracy"] == test["accuracy"]
    assert again["reconstruction_sse"] == pytest.approx(test["reconstruction_sse"], rel=1e-5)
    assert np.mean(again["predictions"] == yt) == test["accuracy"]


def test_max_minutes_stops_after_the_first_batch(tmp_path):
    skip_without_fashion_mnist()
    r = run_recipe("capsnet", out_dir=tmp_path, overrides={**TINY, "epochs": 3, "max_minutes": 1e-9,
                                                           "perturb_images": 0}, progress=False, test=False)
    assert r["stopped_by_time"] and r["steps"] == 1 and r["epochs"] == 1 and r["test"] is None


def test_registered_and_config_rules():
    assert "capsnet" in recipes()
    c = recipe_config("capsnet")
    assert c["routing_iterations"] == 3 and c["recon_weight"] == 0.0005 and c["primary_dim"] == 8
    for bad in ({"routing_iterations": 0}, {"lr_decay": 0.0}, {"decoder_hidden": [16]}, {"test_size": 20000},
                {"max_minutes": -1.0}, {"recon_weight": -0.1}, {"perturb_images": 11},
                {"augment": "rotate"}):
        with pytest.raises(ConfigError):
            recipe_config("capsnet", bad)


def _shifted(img, dy, dx):
    """The image moved dy rows down and dx columns right, zeros shifted in (the definition, by slicing)."""
    out = np.zeros_like(img)
    h, w = img.shape
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = img[max(-dy, 0):h - max(dy, 0),
                                                                    max(-dx, 0):w - max(dx, 0)]
    return out


@pytest.mark.parametrize("augment", ["shift2", "shift2+flip"])
def test_augmentation_is_a_bounded_shift_of_each_image_or_its_mirror(augment):
    rng = np.random.default_rng(0)
    x = rng.random((64, 1, 9, 7)).astype(np.float32) + 0.5     # no zeros inside: a shift is identifiable
    out = augment_batch(x, np.random.default_rng(1), augment)
    assert out.shape == x.shape and out.dtype == x.dtype and out.flags.c_contiguous
    shifts, flips = set(), 0
    for img, got in zip(x[:, 0], out[:, 0]):
        found = [(f, dy, dx) for f in ((False, True) if augment.endswith("flip") else (False,))
                 for dy in range(-2, 3) for dx in range(-2, 3)
                 if np.array_equal(_shifted(img[:, ::-1] if f else img, dy, dx), got)]
        # image i stays at row i (so its label, y[i], still applies) and is exactly one shift of at most 2 pixels
        assert len(found) == 1, "each output is exactly one shift (of the image or, with +flip, its mirror)"
        shifts.add(found[0][1:])
        flips += found[0][0]
    assert len(shifts) >= 15           # 64 draws of 25 offsets: the offsets are spread, not one
    if augment.endswith("flip"):
        assert 16 <= flips <= 48       # about half mirrored
    again = augment_batch(x, np.random.default_rng(1), augment)
    assert np.array_equal(out, again)  # the same generator state gives the same batch
    assert augment_batch(x, rng, "none") is x
