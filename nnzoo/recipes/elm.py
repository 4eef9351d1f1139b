"""Recipe ``elm``: an extreme learning machine (:mod:`nnzoo.zoo.elm`) on Fashion-MNIST or the 8x8 digits.

The pixels (in [0, 1]) are standardised with the training set's per-pixel mean and standard deviation (plus
0.1, so that the near-constant border pixels are not blown up); ``hidden`` random units (``activation``, input
weights N(0, ``weight_scale``²/D), biases N(0, 1)); the read-out by ridge regression in closed form with penalty
``alpha``. Fashion-MNIST: the 60,000 training images, tested on the 10,000; digits: the digits recipes'
70/10/20 split.

``result.json``'s ``test``: ``accuracy``, ``train_accuracy``, ``seconds`` (the random features and the solve)
and ``hidden``; ``val`` the validation accuracy (digits). Pictures: the confusion matrix, a few random hidden
units' input weights. ``benchmarks/classic_supervised.py`` sets it against an MLP trained by backprop and
scikit-learn's ``RidgeClassifier`` on the same random features.

    nnzoo train elm --set dataset=digits hidden=1000 alpha=0.1

Measured (defaults, seed 0, 2 loaded cores: 13.5 s of CPU, 1.8 GB): Fashion-MNIST 0.860 with 2,000 units.
``benchmarks/classic_supervised.py`` (3 seeds): Fashion-MNIST 0.843 (1,000 units) and 0.871 (4,000) against
0.889 for an MLP 784-256-10 after 10 epochs of backprop; digits 0.984 to 0.994 against the MLP's 0.983.
"""
from __future__ import annotations

import math
import time

import numpy as np

import nnzoo

from ..zoo.elm import ACTIVATIONS, ELM
from . import ConfigError, Recipe, digits_splits, register
from .perceptron import subset_arrays

__all__ = ["load_data", "standardise", "fit"]

DATASETS = ("fashion_mnist", "digits")
DEFAULTS = {"dataset": "fashion_mnist", "hidden": 2000, "activation": "sigmoid", "alpha": 1.0,
            "weight_scale": 1.0, "limit": 0, "split_seed": 0}
CONSTRAINTS = {
    "dataset": (lambda v, c: v in DATASETS, " or ".join(DATASETS)),
    "activation": (lambda v, c: v in ACTIVATIONS, " or ".join(ACTIVATIONS)),
    "alpha": (lambda v, c: v > 0, "a number > 0"),
    "weight_scale": (lambda v, c: v > 0, "a number > 0"),
    "hidden": (lambda v, c: 1 <= v <= 20000, "an integer in [1, 20000]"),
    "limit": (lambda v, c: v >= 0, "an integer >= 0 (0: every training image)"),
}


def load_data(config: dict) -> tuple:
    """((X_train, y_train), (X_val, y_val) or None, (X_test, y_test)): float32 pixels in [0, 1], flattened;
    ``limit`` > 0 keeps that many training images (quick runs)."""
    if config["dataset"] == "digits":
        train, val, test = (subset_arrays(s) for s in digits_splits(config))
    else:
        from ..data.datasets import FashionMNIST, fashion_mnist_root
        try:
            root = fashion_mnist_root()
            sets = [FashionMNIST(root, train=t) for t in (True, False)]
        except (FileNotFoundError, RuntimeError) as e:
            raise ConfigError(f"run_recipe: dataset: Fashion-MNIST not found: {e}", key="dataset",
                              problem=f"fashion_mnist is not here ({e}); use dataset=digits") from None
        train, test = ((s.data.numpy().reshape(len(s.data), -1).astype(np.float32) / 255,
                        s.targets.numpy()) for s in sets)
        val = None
    if config["limit"]:
        train = (train[0][:config["limit"]], train[1][:config["limit"]])
    return train, val, test


def standardise(train: np.ndarray, *others: np.ndarray, eps: float = 0.1) -> list[np.ndarray]:
    """(x - μ) / (σ + eps) with the training set's per-feature μ and σ, for ``train`` and each of ``others``."""
    mu, sd = train.mean(axis=0), train.std(axis=0) + eps
    return [((x - mu) / sd).astype(np.float32) for x in (train, *others)]


def fit(model: ELM, config: dict, data: tuple, out_dir, *, seed: int = 0, progress: bool = True,
        test: bool = True, resume: bool = False) -> dict:
    """Draw the hidden layer, fit the read-out, test (the ``fit`` hook of ``elm``)."""
    (Xtr, ytr), val_split, (Xte, yte) = data
    parts = standardise(Xtr, Xte, *([val_split[0]] if val_split else []))
    Xtr_t, Xte_t = nnzoo.tensor(parts[0]), nnzoo.tensor(parts[1])
    classes = int(max(ytr.max(), yte.max())) + 1
    model = ELM(Xtr.shape[1], config["hidden"], classes, activation=config["activation"], alpha=config["alpha"],
                weight_scale=config["weight_scale"], generator=nnzoo.Generator().manual_seed(seed))
    start = time.perf_counter()
    model.fit(Xtr_t, ytr)
    seconds = time.perf_counter() - start

    def predict(X):
        with nnzoo.no_grad():
            return np.concatenate([model(X[i:i + 8192]).argmax(dim=1).numpy() for i in range(0, len(X), 8192)])
    predicted = predict(Xte_t)
    result_test = {"accuracy": float((predicted == yte).mean()),
                   "train_accuracy": float((predict(Xtr_t) == ytr).mean()), "seconds": seconds,
                   "hidden": config["hidden"]}
    val = ({"accuracy": float((predict(nnzoo.tensor(parts[2])) == val_split[1]).mean())} if val_split else None)
    if progress:
        print(f"ELM {config['hidden']} {config['activation']} units on {config['dataset']}: test accuracy "
              f"{result_test['accuracy']:.4f}, fitted in {seconds:.2f} s")
    figures = [(str(_plot_confusion(yte, predicted, classes, out_dir / "confusion.png", result_test["accuracy"])),
                "confusion matrix, test set"),
               (str(_plot_units(model, out_dir / "hidden_units.png")), "input weights of random hidden units")]
    return {"epochs": 1, "val": val, "test": result_test, "figures": figures, "history": None, "model": model}


def _plot_confusion(y, predicted, classes, path, acc):
    from ..viz.plots import _figure, save_figure
    m = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(m, (y, predicted), 1)
    fig = _figure(figsize=(5, 4.5))
    ax = fig.add_subplot()
    im = ax.imshow(m, cmap="Blues")
    fig.colorbar(im, ax=ax)
    for (i, j), v in np.ndenumerate(m):
        ax.text(j, i, str(v), ha="center", va="center", fontsize=6)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"ELM: test accuracy {acc:.4f}")
    return save_figure(fig, path)


def _plot_units(model, path, count=16):
    from ..viz.plots import _figure, save_figure
    w = model.hidden.weight.numpy()[:count]
    side = math.isqrt(w.shape[1])
    fig = _figure(figsize=(8, 2.2))
    for i in range(len(w)):
        ax = fig.add_subplot(2, (len(w) + 1) // 2, i + 1)
        ax.imshow(w[i].reshape(side, -1), cmap="RdBu")
        ax.set_axis_off()
    fig.suptitle("ELM: random input weights of the first hidden units (never trained)")
    return save_figure(fig, path)


register(Recipe(
    name="elm",
    description="extreme learning machine (random hidden layer, ridge read-out in closed form) on Fashion-MNIST "
                "or digits",
    build_model=lambda c: ELM(784 if c["dataset"] == "fashion_mnist" else 64, 1, 10),
    load_data=load_data,
    defaults=dict(DEFAULTS),
    constraints=CONSTRAINTS,
    fit=fit,
))
