"""Recipe ``som``: a Kohonen self-organising map of the 8x8 digits, MiniSom's documented example.

MiniSom's digits example: the 1,797 digits standardised per pixel (scikit-learn's ``scale``: zero mean, unit
population variance, constant pixels left at 0), a 30 x 30 map, sigma 4, learning rate 0.5, the triangle
neighbourhood, PCA initialisation, 5,000 single-sample updates in random order; MiniSom reports a quantisation
error of 3.046. The map is trained and measured on all the digits, as there::

    nnzoo train som --set map_size=30 sigma=4 lr=0.5 iterations=5000 neighborhood=triangle

result.json's ``test``: ``quantization_error``, ``topographic_error``, ``seconds`` (training time); the pictures:
the U-matrix with each unit's most frequent digit, and the codebook (each unit's weights as an 8 x 8 image).
"""
from __future__ import annotations

import time

import numpy as np

from ..zoo.som import DECAYS, NEIGHBORHOODS, SOM
from . import Recipe, register

__all__ = ["load_data", "standardize", "build_model", "fit"]

DEFAULTS = {"map_size": 30, "sigma": 4.0, "lr": 0.5, "iterations": 5000, "neighborhood": "triangle",
            "decay": "asymptotic", "init": "pca", "standardize": True}

CONSTRAINTS = {
    "sigma": (lambda v, c: v > 0, "a number > 0 (grid units)"),
    "lr": (lambda v, c: v > 0, "a number > 0"),
    "neighborhood": (lambda v, c: v in NEIGHBORHOODS, " or ".join(NEIGHBORHOODS)),
    "decay": (lambda v, c: v in DECAYS, " or ".join(DECAYS)),
    "init": (lambda v, c: v in ("pca", "random"), "pca or random"),
}


def standardize(x: np.ndarray) -> np.ndarray:
    """Each column to zero mean and unit population variance; a constant column is only centred (scikit-learn's
    ``scale``)."""
    std = x.std(axis=0)
    return (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)


def load_data(config: dict) -> tuple:
    """(samples (N, 64) float64, labels (N,)): all the 8x8 digits, standardised when ``standardize``."""
    from ..data.datasets import digits
    images, labels = digits().tensors
    x = images.numpy().reshape(len(labels), -1).astype(np.float64)
    return (standardize(x) if config["standardize"] else x), labels.numpy()


def build_model(config: dict, seed: int = 0) -> SOM:
    """A ``map_size`` x ``map_size`` :class:`~nnzoo.zoo.som.SOM` of 64-dimensional weights."""
    return SOM(config["map_size"], config["map_size"], 64, sigma=config["sigma"], learning_rate=config["lr"],
               neighborhood=config["neighborhood"], decay=config["decay"], seed=seed)


def fit(model: SOM, config: dict, data, out_dir, *, seed: int = 0, progress: bool = True, test: bool = True,
        resume: bool = False) -> dict:
    """Initialise, train one sample at a time, measure, draw (the som recipe's ``fit`` hook)."""
    x, labels = data
    model = build_model(config, seed=seed)
    if config["init"] == "pca":
        model.pca_init(x)
    else:
        from ..random import Generator
        model.random_init(x, generator=Generator().manual_seed(seed))
    t0 = time.perf_counter()
    model.train(x, config["iterations"])
    seconds = time.perf_counter() - t0
    qe, te = model.quantization_error(x), model.topographic_error(x)
    if progress:
        print(f"{config['iterations']} updates in {seconds:.2f} s: quantisation error {qe:.4f}, "
              f"topographic error {te:.4f}")
    figures = [(str(_plot_umatrix(model, x, labels, out_dir / "u_matrix.png")),
                "U-matrix with each unit's most frequent digit"),
               (str(_plot_codebook(model, out_dir / "codebook.png")), "the units' weights as 8x8 images")]
    result_test = {"quantization_error": qe, "topographic_error": te, "seconds": seconds}
    return {"epochs": 1, "val": None, "test": result_test if test else None, "figures": figures,
            "train_seconds": seconds, "samples": len(labels), "model": model,
            "reference": {"library": "MiniSom", "quantization_error": 3.046,
                          "source": "MiniSom's digits example (30x30, sigma 4, lr 0.5, 5,000 iterations)"}}


# ---- pictures -------------------------------------------------------------------------------------------------

def _plot_umatrix(model, x, labels, path):
    from ..viz.plots import _figure, save_figure
    fig = _figure(figsize=(7, 7))
    ax = fig.add_subplot()
    ax.imshow(model.u_matrix().numpy().T, cmap="bone_r", origin="lower")
    win = model.winners(x).numpy()
    import matplotlib.pyplot as plt
    for unit in np.unique(win):
        digit = np.bincount(labels[win == unit], minlength=10).argmax()
        i, j = divmod(int(unit), model.y)
        ax.text(i, j, str(digit), color=plt.cm.tab10(digit), ha="center", va="center", fontsize=7,
                fontweight="bold")
    ax.set_title(f"SOM {model.x}x{model.y} on the digits: U-matrix and winning digits")
    return save_figure(fig, path)


def _plot_codebook(model, path):
    from ..viz.plots import _figure, save_figure
    w = model.weights.numpy()  # (X, Y, 64)
    X, Y = w.shape[:2]
    tiles = w.reshape(X, Y, 8, 8).transpose(1, 2, 0, 3).reshape(Y * 8, X * 8)
    fig = _figure(figsize=(7, 7))
    ax = fig.add_subplot()
    ax.imshow(tiles, cmap="gray_r", origin="lower")
    ax.set_axis_off()
    ax.set_title("codebook: each unit's weights")
    return save_figure(fig, path)


register(Recipe(
    name="som",
    description="Kohonen self-organising map of the digits (MiniSom's example: 30x30, sigma 4, lr 0.5, 5,000 steps)",
    build_model=build_model,
    load_data=load_data,
    defaults=dict(DEFAULTS),
    constraints=CONSTRAINTS,
    fit=fit,
))
