"""Recipes ``vae`` and ``dcign``: the variational family.

``vae``: the VAE of PyTorch's official example (pytorch/examples ``vae/main.py``: 784-400-20-400-784, ReLU,
Adam 1e-3, batch 128, 10 epochs, loss = summed binary cross-entropy + KL) on Fashion-MNIST (grey levels in
[0, 1] as ``ToTensor`` gives them). result.json's ``test.loss`` is the example's figure: the loss summed over
the 10,000 test images divided by their number, with one sample z ~ q(z|x) per image as the example draws it;
``test.iw_nll`` is −log p(x) estimated with ``iw_k`` importance samples (Burda et al.) on the first
``iw_images`` test images (``benchmarks/vae_parity.py`` does k = 5000). Pictures: samples from the prior, the
latent grid (the whole latent plane when ``latent=2``, else a slice through the two most used latent units, the
others at 0), test reconstructions, the loss curves.

``dcign``: the deep convolutional inverse graphics network (Kulkarni et al. 2015) on the generated shapes of
:mod:`nnzoo.data.datasets.shapes`, trained by the paper's scheme (see :mod:`nnzoo.zoo.dcign`). result.json:
``test.recon_bce`` and ``test.loss`` (per image), and ``disentanglement``: for each factor, how strongly its
tied latent unit follows it on random test images against the best other unit (see :func:`disentanglement`).
Pictures: latent traversals (one tied unit swept per row), reconstructions, loss curves.
"""
from __future__ import annotations

import math
import time

import numpy as np

import nnzoo

from ..zoo.vae import VAE, VAEConfig, iw_log_likelihood, kl_divergence, vae_loss
from . import ConfigError, Recipe, register

__all__ = ["load_fashion", "fit_vae", "evaluate_vae", "VAE_DEFAULTS"]

VAE_DEFAULTS = {"epochs": 10, "lr": 1e-3, "batch_size": 128, "optimizer": "adam", "hidden": 400, "latent": 20,
                "iw_k": 500, "iw_images": 1000, "train_limit": 0, "test_limit": 0}

VAE_CONSTRAINTS = {
    "optimizer": (lambda v, c: v == "adam", "adam (the official example's optimizer)"),
    "iw_images": (lambda v, c: v >= 0, "an integer >= 0 (0: no importance-weighted estimate)"),
    "train_limit": (lambda v, c: v >= 0, "an integer >= 0 (0: all 60,000 training images)"),
    "test_limit": (lambda v, c: v >= 0, "an integer >= 0 (0: all 10,000 test images)"),
}


def _no_resume(resume, name):
    if resume:
        raise ConfigError(f"run_recipe: resume: {name} trains in one go; drop --resume", key="resume",
                          problem=f"is not supported by {name}; drop --resume")


# ---- vae ------------------------------------------------------------------------------------------------------

def load_fashion(config: dict) -> tuple:
    """Fashion-MNIST as float32 arrays (N, 784) in [0, 1]: (train, None, test), the first ``train_limit`` /
    ``test_limit`` images when those are > 0."""
    from ..data.datasets import FashionMNIST, fashion_mnist_root
    try:
        root = fashion_mnist_root()
    except FileNotFoundError as e:
        raise ConfigError(f"run_recipe: data: {e}", key="data", problem=str(e)) from None

    def images(train, limit):
        x = FashionMNIST(root, train=train).data.numpy()
        x = x[:limit] if limit else x
        return (x.reshape(len(x), -1) / np.float32(255)).astype(np.float32)
    return images(True, config["train_limit"]), None, images(False, config["test_limit"])


def evaluate_vae(model: VAE, x: np.ndarray, batch_size: int = 1000) -> dict:
    """Per-image test figures with one z ~ q(z|x) per image (the official example's test loop): ``loss``
    (BCE + KL), ``recon_bce`` and ``kl``."""
    bce = kl = 0.0
    model.eval()
    with nnzoo.no_grad():
        for i in range(0, len(x), batch_size):
            xb = nnzoo.from_numpy(x[i:i + batch_size])
            recon, mu, logvar = model(xb)
            k = kl_divergence(mu, logvar).item()
            bce += vae_loss(recon, xb, mu, logvar).item() - k
            kl += k
    model.train()
    n = len(x)
    return {"loss": (bce + kl) / n, "recon_bce": bce / n, "kl": kl / n}


def fit_vae(model: VAE, config: dict, data, out_dir, *, seed: int = 0, progress: bool = True, test: bool = True,
            resume: bool = False) -> dict:
    """Train the VAE as the official example does (shuffled batches, Adam, −ELBO summed over the batch), then
    test, estimate the importance-weighted likelihood and draw (the ``fit`` hook of ``vae``)."""
    _no_resume(resume, "vae")
    x_train, _, x_test = data
    opt = nnzoo.optim.Adam(model.parameters(), lr=config["lr"])
    rng = np.random.default_rng(seed)
    bs = config["batch_size"]
    history = {"epoch": [], "train_loss": [], "test_loss": [], "seconds": []}
    for epoch in range(config["epochs"]):
        t0, total = time.perf_counter(), 0.0
        for idx in np.array_split(rng.permutation(len(x_train)), range(bs, len(x_train), bs)):
            xb = nnzoo.from_numpy(x_train[idx])
            recon, mu, logvar = model(xb)
            loss = vae_loss(recon, xb, mu, logvar)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
        seconds = time.perf_counter() - t0
        history["epoch"].append(epoch + 1)
        history["train_loss"].append(total / len(x_train))
        history["seconds"].append(seconds)
        history["test_loss"].append(evaluate_vae(model, x_test)["loss"] if test else None)
        if progress:
            tl = history["test_loss"][-1]
            print(f"epoch {epoch + 1}/{config['epochs']}: train loss {history['train_loss'][-1]:.2f}"
                  + (f", test loss {tl:.2f}" if tl is not None else "") + f" per image ({seconds:.1f} s)")
    result_test = None
    if test:
        result_test = evaluate_vae(model, x_test)
        k, m = config["iw_k"], min(config["iw_images"], len(x_test))
        if m:
            t0 = time.perf_counter()
            ll = iw_log_likelihood(model, nnzoo.from_numpy(x_test[:m]), k=k,
                                   generator=nnzoo.Generator().manual_seed(seed + 1)).numpy()
            result_test.update({"iw_nll": float(-ll.mean()), "iw_nll_sem": float(ll.std(ddof=1) / math.sqrt(m))
                                if m > 1 else None, "iw_k": k, "iw_images": m,
                                "iw_seconds": time.perf_counter() - t0})
        else:
            result_test.update({"iw_nll": None, "iw_k": k, "iw_images": 0})
    from ..io import save
    save(model.state_dict(), out_dir / "best.safetensors")
    gen = nnzoo.Generator().manual_seed(seed + 2)
    figures = [
        (str(_plot_samples(model, out_dir / "samples.png", gen)), "64 samples: z ~ N(0, I), the decoder's means"),
        (str(_plot_latent_grid(model, x_test, out_dir / "latent_grid.png")),
         "the decoder over a grid of the latent plane (Gaussian quantiles)"),
        (str(_plot_reconstructions(model, x_test, out_dir / "reconstructions.png")),
         "test images (top) and their reconstructions from μ(x) (bottom)"),
        (str(_plot_curves(history, out_dir / "loss.png", "VAE on Fashion-MNIST: −ELBO per image")),
         "training and test loss per image (summed BCE + KL)"),
    ]
    return {"epochs": config["epochs"], "val": None, "test": result_test, "figures": figures,
            "epoch_seconds": history["seconds"], "history": history, "model": model}


def _latent_usage(model, x):
    """Mean KL per latent unit over ``x``: how much each unit is used."""
    with nnzoo.no_grad():
        mu, logvar = model.encode(nnzoo.from_numpy(x[:2000]))
    mu, logvar = mu.numpy(), logvar.numpy()
    return (-0.5 * (1 + logvar - mu ** 2 - np.exp(logvar))).mean(axis=0)


# ---- pictures (shared by both recipes) ----------------------------------------------------------------------

def _tile(images, nrow, side):
    """(n, side*side) -> one (rows*side, nrow*side) mosaic, 1-pixel white gaps."""
    images = np.asarray(images).reshape(-1, side, side)
    rows = math.ceil(len(images) / nrow)
    out = np.ones((rows * (side + 1) - 1, nrow * (side + 1) - 1), dtype=np.float32)
    for i, im in enumerate(images):
        r, c = divmod(i, nrow)
        out[r * (side + 1):r * (side + 1) + side, c * (side + 1):c * (side + 1) + side] = im
    return out


def _show(path, mosaic, title, size=6.0, ylabels=None, side=None):
    from ..viz.plots import _figure, save_figure
    fig = _figure(figsize=(size, size * mosaic.shape[0] / mosaic.shape[1] + 0.5))
    ax = fig.add_subplot()
    ax.imshow(mosaic, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    if ylabels:
        ax.set_yticks([(side + 1) * i + side / 2 for i in range(len(ylabels))], ylabels)
    else:
        ax.set_yticks([])
    ax.set_title(title, fontsize=10)
    return save_figure(fig, path)


def _decode(model, z):
    with nnzoo.no_grad():
        return model.decode(nnzoo.from_numpy(np.asarray(z, dtype=np.float32))).numpy()


def _plot_samples(model, path, generator):
    z = nnzoo.randn(64, model.config.latent, generator=generator)
    return _show(path, _tile(_decode(model, z.numpy()), 8, 28), "VAE samples, z ~ N(0, I)")


def _plot_latent_grid(model, x, path, n=15):
    from statistics import NormalDist
    q = np.array([NormalDist().inv_cdf(p) for p in np.linspace(0.05, 0.95, n)], dtype=np.float32)
    latent = model.config.latent
    dims = (0, 1) if latent == 2 else tuple(int(d) for d in np.argsort(_latent_usage(model, x))[::-1][:2])
    z = np.zeros((n * n, latent), dtype=np.float32)
    z[:, dims[0]] = np.tile(q, n)
    z[:, dims[1]] = np.repeat(q[::-1], n)
    what = "the latent plane" if latent == 2 else f"latent units {dims[0]} (across) and {dims[1]} (down), others 0"
    return _show(path, _tile(_decode(model, z), n, 28), f"VAE decoder over {what}", size=7)


def _plot_reconstructions(model, x, path, n=12):
    with nnzoo.no_grad():
        mu, _ = model.encode(nnzoo.from_numpy(x[:n]))
        recon = model.decode(mu).numpy()
    return _show(path, _tile(np.concatenate([x[:n], recon]), n, 28), "test images and reconstructions")


def _plot_curves(history, path, title):
    from ..viz.plots import _figure, save_figure
    fig = _figure(figsize=(6, 3.5))
    ax = fig.add_subplot()
    for key in [k for k in history if k.endswith("loss")]:
        ys = history[key]
        if ys and ys[0] is not None:
            ax.plot(history["epoch"], ys, marker="o", label=key.replace("_", " "))
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss per image (nats)")
    ax.set_title(title, fontsize=10)
    ax.legend()
    return save_figure(fig, path)


register(Recipe(
    name="vae",
    description="VAE 784-400-20-400-784 (PyTorch's official example: summed BCE + KL, Adam) on Fashion-MNIST",
    build_model=lambda c: VAE(VAEConfig(784, c["hidden"], c["latent"])),
    load_data=load_fashion,
    defaults=dict(VAE_DEFAULTS),
    constraints=VAE_CONSTRAINTS,
    fit=fit_vae,
))
