"""Recipe ``perceptron``: Rosenblatt's rule (:mod:`nnzoo.zoo.perceptron`) on its three classic tasks.

- ``separable``: ``n`` points uniform in [-1, 1]^``dim`` labelled by a random hyperplane, those closer to it
  than ``margin`` dropped. The rule runs epoch after epoch (a fresh order each) until an epoch without mistakes;
  the mistakes it made are set against Novikoff's bound (R/γ)², γ the margin of the maximum-margin separator
  (our dual coordinate ascent, :func:`~nnzoo.zoo.perceptron.max_margin`, equal to scikit-learn's ``LinearSVC``
  with the hinge loss and C = 1e6 on the augmented points).
- ``xor``: the four XOR clusters (``nnzoo.data.datasets.xor``): no line separates them, and no epoch of the
  ``max_epochs`` is free of mistakes.
- ``digits``: the 8x8 digits (the digits recipes' 70/10/20 split), ten units one-vs-rest, ``epochs`` epochs each
  in a fresh order: accuracy and training time (``benchmarks/classic_supervised.py`` sets them against
  scikit-learn's ``Perceptron``).

``task`` = ``all`` (default) runs the three. ``result.json``'s ``test``: ``accuracy`` (digits, test set),
``seconds`` (its training time), ``mistakes`` (separable, until convergence), ``mistake_bound``, ``R``,
``gamma``, ``epochs_to_converge``, ``xor_accuracy``, ``xor_fewest_mistakes`` (the fewest in one epoch), and
``xor_converged``. Pictures: the decision boundaries of the two 2-D tasks, mistakes per epoch.

    nnzoo train perceptron --set task=separable n=500 margin=0.05

Measured (defaults, seed 0, 2 loaded cores: 3.5 s of CPU): separable, 13 mistakes in 3 epochs against the bound
(1.679/0.0989)² = 288; XOR, at least 70 mistakes in every one of 200 epochs; digits 0.925 after 20 epochs.
``benchmarks/classic_supervised.py`` (3 seeds): digits 0.961 ± 0.005 against scikit-learn's 0.965 ± 0.006, at
~2.2-2.7x its CPU time (a Python pass per mistake against its Cython loop).
"""
from __future__ import annotations

import time

import numpy as np

import nnzoo

from ..zoo.perceptron import Perceptron, max_margin, novikoff_bound, signed_targets
from . import Recipe, digits_splits, register

__all__ = ["separable_data", "subset_arrays", "fit"]

TASKS = ("all", "separable", "xor", "digits")
DEFAULTS = {"task": "all", "epochs": 20, "lr": 1.0, "max_epochs": 200, "n": 200, "dim": 2, "margin": 0.1,
            "xor_noise": 0.25, "split_seed": 0}
CONSTRAINTS = {
    "task": (lambda v, c: v in TASKS, " or ".join(TASKS)),
    "margin": (lambda v, c: 0 < v < 1, "a number in (0, 1)"),
    "xor_noise": (lambda v, c: v >= 0, "a number >= 0"),
    "dim": (lambda v, c: v >= 1, "an integer >= 1"),
    "n": (lambda v, c: v >= 4, "an integer >= 4"),
}


def separable_data(n: int, dim: int, margin: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points uniform in [-1, 1]^dim (float32) and their ±1 labels by a random hyperplane through a point
    near the origin; points closer to it than ``margin`` are redrawn, so the data have margin >= ``margin``."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=dim)
    w /= np.linalg.norm(w)
    b = rng.uniform(-0.3, 0.3)
    X = np.empty((0, dim))
    while len(X) < n:
        draw = rng.uniform(-1, 1, size=(2 * n, dim))
        X = np.vstack([X, draw[np.abs(draw @ w + b) >= margin]])
    X = X[:n]
    return X.astype(np.float32), np.sign(X @ w + b).astype(np.float32)


def subset_arrays(subset) -> tuple[np.ndarray, np.ndarray]:
    """(X (N, D) float32, y (N,) int64) of a Subset of a TensorDataset (the digits splits), flattened."""
    X, y = subset.dataset.tensors
    idx = np.asarray(subset.indices)
    return X.numpy()[idx].reshape(len(idx), -1), y.numpy()[idx]


def load_data(config: dict) -> dict:
    """The tasks' data: ``{"separable": (X, y), "xor": (X, y), "digits": (train, val, test)}`` as asked."""
    task, data = config["task"], {}
    if task in ("all", "separable"):
        data["separable"] = separable_data(config["n"], config["dim"], config["margin"], config["split_seed"])
    if task in ("all", "xor"):
        from ..data.datasets import xor
        X, y = xor(config["n"], noise=config["xor_noise"], seed=config["split_seed"]).tensors
        data["xor"] = (X.numpy(), np.where(y.numpy() > 0, 1.0, -1.0).astype(np.float32))
    if task in ("all", "digits"):
        data["digits"] = tuple(subset_arrays(s) for s in digits_splits(config))
    return data


def train_until_converged(model: Perceptron, X, y, max_epochs: int, rng: np.random.Generator) -> list[int]:
    """Epochs of the rule (a fresh order each) until one without mistakes or ``max_epochs``; returns the
    mistakes of each epoch."""
    Y = signed_targets(y, 1)
    history = []
    for _ in range(max_epochs):
        history.append(int(model.fit_epoch(X, Y, order=rng.permutation(len(X))).sum()))
        if history[-1] == 0:
            break
    return history


def _accuracy_binary(model, X, y) -> float:
    with nnzoo.no_grad():
        return float((model.predict(nnzoo.tensor(X)).numpy() == y).mean())


def fit(model: Perceptron, config: dict, data: dict, out_dir, *, seed: int = 0, progress: bool = True,
        test: bool = True, resume: bool = False) -> dict:
    """Train on each task asked, draw, and return the figures (the ``fit`` hook of ``perceptron``)."""
    from ..viz.plots import plot_decision_boundary
    rng = np.random.default_rng(seed)
    result_test, val, figures, histories, extra = {}, None, [], {}, {}
    for name in ("separable", "xor"):
        if name not in data:
            continue
        X, y = data[name]
        unit = Perceptron(X.shape[1], 1, lr=config["lr"])
        history = train_until_converged(unit, X, y, config["max_epochs"], rng)
        histories[name] = history
        converged = history[-1] == 0
        if name == "separable":
            u, gamma = max_margin(X, y)
            bound = novikoff_bound(X, gamma=gamma)
            result_test.update(mistakes=int(sum(history)), mistake_bound=bound["bound"], R=bound["R"],
                               gamma=bound["gamma"], epochs_to_converge=len(history) if converged else None,
                               separable_accuracy=_accuracy_binary(unit, X, y))
            extra["max_margin_separator"] = u.tolist()
            if progress:
                print(f"separable: {sum(history)} mistakes in {len(history)} epochs; Novikoff bound "
                      f"(R/γ)² = ({bound['R']:.3f}/{gamma:.4f})² = {bound['bound']:.1f}")
        else:
            result_test.update(xor_accuracy=_accuracy_binary(unit, X, y), xor_fewest_mistakes=min(history),
                               xor_converged=converged)
            if progress:
                print(f"xor: fewest mistakes in an epoch {min(history)} of {len(X)} over {len(history)} epochs")
        if X.shape[1] == 2:
            path = plot_decision_boundary(unit, X, (y > 0).astype(np.int64), out_dir / f"{name}_boundary.png",
                                          title=f"perceptron on {name} data ({sum(history)} mistakes)")
            figures.append((str(path), f"decision boundary, {name} data"))
    if "digits" in data:
        (Xtr, ytr), (Xva, yva), (Xte, yte) = data["digits"]
        Y = signed_targets(ytr, 10)
        start = time.perf_counter()
        history = [int(model.fit_epoch(Xtr, Y, order=rng.permutation(len(Xtr))).sum())
                   for _ in range(config["epochs"])]
        seconds = time.perf_counter() - start
        histories["digits"] = history
        with nnzoo.no_grad():
            accuracy = lambda X, y: float((model.predict(nnzoo.tensor(X)).numpy() == y).mean())  # noqa: E731
            val = {"accuracy": accuracy(Xva, yva)}
            result_test.update(accuracy=accuracy(Xte, yte), train_accuracy=accuracy(Xtr, ytr), seconds=seconds)
        if progress:
            print(f"digits: test accuracy {result_test['accuracy']:.4f} after {config['epochs']} epochs "
                  f"({seconds:.3f} s)")
    figures.append((str(_plot_mistakes(histories, out_dir / "mistakes.png", result_test)), "mistakes per epoch"))
    return {"epochs": config["epochs"], "val": val, "test": result_test, "figures": figures,
            "mistakes_per_epoch": histories, **extra, "history": histories, "model": model}


def _plot_mistakes(histories: dict, path, result_test: dict):
    from ..viz.plots import _figure, save_figure
    fig = _figure(figsize=(6, 3.8))
    ax = fig.add_subplot()
    for name, h in histories.items():
        ax.plot(range(1, len(h) + 1), h, marker="." if len(h) < 50 else None, label=name)
    if "mistake_bound" in result_test:
        ax.axhline(result_test["mistake_bound"], color="gray", ls="--", lw=0.8,
                   label=f"Novikoff bound on the total ({result_test['mistake_bound']:.0f})")
    ax.set_yscale("symlog")
    ax.set_ylim(bottom=0)
    ax.set_xlabel("epoch")
    ax.set_ylabel("mistakes (updates)")
    ax.set_title("Perceptron: mistakes per epoch")
    ax.legend(fontsize=8)
    return save_figure(fig, path)


register(Recipe(
    name="perceptron",
    description="Rosenblatt's perceptron: separable data vs Novikoff's bound, XOR, digits one-vs-rest",
    build_model=lambda c: Perceptron(64, 10, lr=c["lr"]),
    load_data=load_data,
    defaults=dict(DEFAULTS),
    constraints=CONSTRAINTS,
    fit=fit,
))
