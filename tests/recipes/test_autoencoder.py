"""The autoencoder recipes (ae, linear-ae, dae, sae, conv-ae) on tiny configs: result.json's keys, the pictures,
ConfigError on bad settings; the linear autoencoder's training reaching PCA's subspace, and its helpers against
their definitions (the Gram rows) and scipy (principal angles)."""
import json

import numpy as np
import pytest
from helpers import skip_without_fashion_mnist

import nnzoo
from nnzoo.nn import functional as F
from nnzoo.recipes import ConfigError, load_run, recipe_config, run_recipe
from nnzoo.recipes.autoencoder import fit_linear, gram_rows, principal_angles
from nnzoo.zoo.autoencoder import LinearAutoencoder

TINY = {"train_size": 200, "test_size": 40, "epochs": 1}
CASES = {
    "ae": ({}, ["curves.png", "reconstructions.png"], ["mse", "bce"]),
    "dae": ({"corruption": "masking"}, ["curves.png", "denoising.png"],
            ["mse", "bce", "clean_input_mse", "corrupted_mse"]),
    "sae": ({"hidden_units": 16}, ["curves.png", "reconstructions.png", "features.png"],
            ["mse", "bce", "penalty", "mean_activation", "active_fraction"]),
    "conv-ae": ({"channels": [4, 8], "latent": 8}, ["curves.png", "reconstructions.png"], ["mse", "bce"]),
    "linear-ae": ({"max_iter": 50}, ["angles.png", "reconstructions.png", "curves.png"],
                  ["mse", "pca_mse", "mse_ratio", "max_principal_angle", "principal_angles"]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_recipe_writes_result_and_pictures(tmp_path, name):
    overrides, pictures, keys = CASES[name]
    if overrides.get("dataset") != "digits":
        skip_without_fashion_mnist()
    r = run_recipe(name, out_dir=tmp_path, overrides={**TINY, **overrides}, progress=False)
    saved = json.loads((tmp_path / "result.json").read_text())
    assert saved["name"] == name and set(keys) <= set(saved["test"])
    assert all(np.isfinite(saved["test"][k]) for k in keys if k not in ("principal_angles",))
    for f in pictures:
        assert (tmp_path / f).is_file(), f
        assert any(p.endswith(f) for p, _ in saved["figures"])
    _, _, model = load_run(tmp_path)     # best.safetensors holds the trained weights (linear-ae's in float64)
    for k, v in model.state_dict().items():
        np.testing.assert_allclose(v.numpy(), r["model"].state_dict()[k].detach().numpy(), rtol=1e-6, atol=1e-7)


def test_sae_l1_and_dae_gaussian_on_the_digits(tmp_path):
    r = run_recipe("sae", out_dir=tmp_path / "sae", overrides={"dataset": "digits", "epochs": 1, "sparsity": "l1",
                                                               "hidden_units": 16}, progress=False)
    assert r["test"]["penalty"] >= 0 and r["model"].sparsity == "l1"
    r = run_recipe("dae", out_dir=tmp_path / "dae", overrides={"dataset": "digits", "epochs": 1}, progress=False)
    assert r["test"]["corrupted_mse"] > 0 and (tmp_path / "dae" / "denoising.png").is_file()


@pytest.mark.parametrize("name, bad", [
    ("ae", {"dataset": "cifar"}), ("ae", {"train_size": 3}), ("dae", {"corruption": "salt"}),
    ("dae", {"mask_prob": 1.0}), ("dae", {"noise_std": 0.0}), ("sae", {"rho": 1.5}), ("sae", {"sparsity": "l2"}),
    ("sae", {"beta": -1.0}), ("linear-ae", {"latent": 784}), ("linear-ae", {"max_iter": 10}),
    ("conv-ae", {"channels": [16]}), ("ae", {"no_such_key": 1}),
])
def test_bad_settings_are_config_errors(name, bad):
    with pytest.raises(ConfigError) as e:
        recipe_config(name, bad)
    assert e.value.key == next(iter(bad))


def test_resume_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="resume"):
        run_recipe("ae", out_dir=tmp_path, overrides={"dataset": "digits", "epochs": 1}, resume=True, progress=False)


def test_gram_rows_give_the_full_batch_loss_and_gradient_of_a_linear_autoencoder():
    x = np.random.default_rng(0).standard_normal((300, 12))
    x -= x.mean(0)
    r = gram_rows(x)
    np.testing.assert_allclose(r.T @ r, x.T @ x / len(x), rtol=1e-10, atol=1e-12)
    nnzoo.manual_seed(0)
    m = LinearAutoencoder(12, 3).double()
    grads = []
    for data, scale in ((x, len(x)), (r, 1)):
        m.zero_grad()
        t = nnzoo.tensor(data)
        loss = F.mse_loss(m(t), t, reduction="sum") / scale
        loss.backward()
        grads.append((loss.item(), [p.grad.numpy().copy() for p in m.parameters()]))
    np.testing.assert_allclose(grads[0][0], grads[1][0], rtol=1e-10)
    for a, b in zip(grads[0][1], grads[1][1]):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-12)


def test_principal_angles_match_scipy():
    scipy_linalg = pytest.importorskip("scipy.linalg")
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((30, 4)), rng.standard_normal((30, 6))
    b[:, :2] = a[:, :2] + 1e-6 * rng.standard_normal((30, 2))     # two nearly shared directions: small angles
    np.testing.assert_allclose(principal_angles(a, b), scipy_linalg.subspace_angles(a, b), rtol=1e-6, atol=1e-9)


def test_linear_autoencoder_training_reaches_the_principal_subspace():
    """Baldi & Hornik: the minimiser's decoder spans the top-k eigenvectors of the covariance (here NumPy's)."""
    rng = np.random.default_rng(2)
    scales = np.linspace(3.0, 0.5, 16)         # distinct variances: a unique top-4 subspace
    x = rng.standard_normal((400, 16)) * scales @ np.linalg.qr(rng.standard_normal((16, 16)))[0]
    x -= x.mean(0)
    nnzoo.manual_seed(3)
    m = LinearAutoencoder(16, 4)
    fitted = fit_linear(m, x, max_iter=500)
    _, v = np.linalg.eigh(x.T @ x / len(x))
    top = v[:, ::-1][:, :4]
    assert principal_angles(m.decoder_weight.detach().numpy(), top).max() < 1e-4
    pca_mse = np.mean((x - x @ top @ top.T) ** 2)
    assert fitted["train_mse"] == pytest.approx(pca_mse, rel=1e-6)
