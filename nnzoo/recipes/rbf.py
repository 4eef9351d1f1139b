"""Recipe ``rbf``: radial basis function networks (:mod:`nnzoo.zoo.rbf`) on XOR, two moons and the 8x8 digits,
each set against an MLP with the same number of parameters trained by backprop (nnzoo, Adam, cross-entropy).

- ``xor``: the four XOR clusters (``nnzoo.data.datasets.xor``, ``n`` points to train, as many to test) with
  Haykin's two centres at (1, 1) and (-1, -1) (widths: ``xor_width_scale`` = 0.5 of the nearest-centre
  distance, Haykin's σ² = 1/2 on the unit square). Also reported: k-means with 2 centres (it splits XOR along
  an axis, so two differently labelled corners share features: at most 3/4 right) and with 4.
- ``moons``: two moons (noise ``moons_noise``), ``moons_centres`` centres by k-means.
- ``digits``: the digits recipes' 70/10/20 split, ``centres`` centres by k-means.

Each task's output weights are fitted twice: by least squares (closed form) and by Adam on the same squared
error (``gd_epochs`` full-batch steps at ``gd_lr``); widths by the nearest-centre rule times ``width_scale``.
The MLP has one hidden layer of h ReLU units, h chosen so that h(D + 1) + (h + 1)C is closest to the RBF
network's K·D + K + (K + 1)C; it trains ``mlp_epochs`` epochs of minibatches of ``batch_size`` at ``lr``.

``result.json``'s ``test``: ``accuracy``, ``accuracy_gradient``, ``mlp_accuracy``, ``seconds`` (k-means +
widths + least squares), ``seconds_gradient`` (the read-out's descent), ``mlp_seconds``, ``parameters`` and
``mlp_parameters`` of the last task run (digits for ``task=all``), and the same prefixed by the task's name for
every task (``xor_accuracy``, ``moons_accuracy``, ...). Pictures: decision boundaries of the 2-D tasks with the
centres and their widths, the digits centres as images, the read-out's descent against the least-squares
optimum.

    nnzoo train rbf --set task=digits centres=200 width_scale=1.5

Measured (defaults, seed 0, 2 loaded cores: 7.6 s of CPU): XOR 0.965 (k-means with 2 centres 0.49, with 4
1.0), two moons 0.975, digits 0.986 by least squares and 0.981 by gradient, the equal-size MLP 0.992.
``benchmarks/classic_supervised.py`` (3 seeds): digits 0.981 ± 0.007 (least squares) against the MLP's
0.978 ± 0.012, fitted in 0.06x the MLP's training time.
"""
from __future__ import annotations

import math
import time

import numpy as np

import nnzoo

from .. import nn
from ..zoo.mlp import MLP
from ..zoo.rbf import RBFNetwork, rbf_parameter_count
from . import ConfigError, Recipe, digits_splits, register
from .perceptron import subset_arrays

__all__ = ["load_data", "fit", "train_mlp", "equal_parameter_width", "accuracy"]

TASKS = ("all", "xor", "moons", "digits")
DEFAULTS = {"task": "all", "centres": 100, "moons_centres": 20, "width_scale": 1.0, "xor_width_scale": 0.5,
            "n": 400, "moons_noise": 0.2, "xor_noise": 0.25, "gd_epochs": 300, "gd_lr": 0.05,
            "mlp_epochs": 100, "lr": 3e-3, "batch_size": 64, "kmeans_iterations": 100, "split_seed": 0}
CONSTRAINTS = {
    "task": (lambda v, c: v in TASKS, " or ".join(TASKS)),
    "width_scale": (lambda v, c: v > 0, "a number > 0"),
    "xor_width_scale": (lambda v, c: v > 0, "a number > 0"),
    "moons_noise": (lambda v, c: v >= 0, "a number >= 0"),
    "xor_noise": (lambda v, c: v >= 0, "a number >= 0"),
    "gd_lr": (lambda v, c: v > 0, "a number > 0"),
    "centres": (lambda v, c: 2 <= v <= 1000, "an integer in [2, 1000]"),
    "moons_centres": (lambda v, c: 2 <= v <= c["n"], "an integer in [2, n ({n})]"),
    "n": (lambda v, c: v >= 8, "an integer >= 8"),
}


def load_data(config: dict) -> dict:
    """``{task: ((X_train, y_train), (X_val, y_val) or None, (X_test, y_test))}`` as float32 / int64 arrays."""
    from ..data.datasets import two_moons, xor
    task, data, seed = config["task"], {}, config["split_seed"]
    for name, make, noise in (("xor", xor, config["xor_noise"]), ("moons", two_moons, config["moons_noise"])):
        if task in ("all", name):
            train = make(config["n"], noise=noise, seed=2 * seed).tensors
            test = make(config["n"], noise=noise, seed=2 * seed + 1).tensors
            data[name] = ((train[0].numpy(), train[1].numpy()), None, (test[0].numpy(), test[1].numpy()))
    if task in ("all", "digits"):
        data["digits"] = tuple(subset_arrays(s) for s in digits_splits(config))
    return data


def accuracy(model: nn.Module, X: np.ndarray, y: np.ndarray) -> float:
    """The fraction of ``X`` whose largest output is the label ``y``."""
    with nnzoo.no_grad():
        return float((model(nnzoo.tensor(X)).argmax(dim=1).numpy() == y).mean())


def equal_parameter_width(target: int, in_features: int, out_features: int) -> int:
    """The hidden width h of a one-hidden-layer MLP whose h(D + 1) + (h + 1)C parameters are closest to
    ``target``."""
    return max(1, round((target - out_features) / (in_features + 1 + out_features)))


def train_mlp(X: np.ndarray, y: np.ndarray, hidden: int, classes: int, epochs: int, lr: float, batch_size: int,
              seed: int) -> tuple[MLP, float]:
    """An MLP D-h-C (ReLU) trained by backprop with nnzoo (Adam, softmax cross-entropy, minibatches in a fresh
    order each epoch). Returns (model, training seconds)."""
    nnzoo.manual_seed(seed)
    model = MLP(X.shape[1], (hidden,), classes)
    opt = nnzoo.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    Xt, yt = nnzoo.tensor(X), nnzoo.tensor(y).long()
    g = nnzoo.Generator().manual_seed(seed)
    start = time.perf_counter()
    for _ in range(epochs):
        order = nnzoo.randperm(len(X), generator=g)
        for i in range(0, len(X), batch_size):
            idx = order[i:i + batch_size]
            loss = loss_fn(model(Xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    seconds = time.perf_counter() - start
    model.eval()
    return model, seconds


def _fit_task(name, config, splits, seed, generator, out_dir, figures, progress):
    """Both read-outs and the MLP on one task; returns its figures (unprefixed names), the descent's history
    and the network with the least-squares read-out."""
    (Xtr, ytr), _, (Xte, yte) = splits
    D, C = Xtr.shape[1], int(max(ytr.max(), yte.max())) + 1
    K = {"xor": 2, "moons": config["moons_centres"], "digits": config["centres"]}[name]
    if K > len(Xtr):
        raise ConfigError(f"run_recipe('rbf'): centres must be <= the {len(Xtr)} training points of {name}",
                          key="centres", problem=f"must be <= the {len(Xtr)} training points, got {K}")
    X = nnzoo.tensor(Xtr)
    net = RBFNetwork(D, K, C)
    start = time.perf_counter()
    out = {}
    if name == "xor":                                   # Haykin's centres: the two class-0 corners
        net.set_centres(nnzoo.tensor([[1.0, 1.0], [-1.0, -1.0]]))
        net.set_widths(config["xor_width_scale"])
    else:
        km = net.fit_centres(X, generator=generator, iterations=config["kmeans_iterations"])
        out["kmeans_inertia"] = km["inertia"]
        net.set_widths(config["width_scale"])
    ls_loss = net.fit_least_squares(X, ytr)
    out["seconds"] = time.perf_counter() - start
    out["accuracy"] = accuracy(net, Xte, yte)
    out["train_accuracy"] = accuracy(net, Xtr, ytr)
    out["least_squares_loss"] = ls_loss
    # the same read-out by gradient descent (from a fresh Linear), the centres and widths kept
    gd = RBFNetwork(D, K, C)
    gd.load_state_dict(net.state_dict())
    nnzoo.manual_seed(seed)
    gd.output.reset_parameters()
    start = time.perf_counter()
    descent = gd.fit_gradient(X, ytr, epochs=config["gd_epochs"], lr=config["gd_lr"])
    out["seconds_gradient"] = time.perf_counter() - start
    out["accuracy_gradient"] = accuracy(gd, Xte, yte)
    out["gradient_loss"] = descent[-1]
    out["parameters"] = rbf_parameter_count(D, K, C)
    h = equal_parameter_width(out["parameters"], D, C)
    mlp, out["mlp_seconds"] = train_mlp(Xtr, ytr, h, C, config["mlp_epochs"], config["lr"], config["batch_size"],
                                        seed)
    out["mlp_accuracy"] = accuracy(mlp, Xte, yte)
    out["mlp_hidden"], out["mlp_parameters"] = h, sum(p.numel() for p in mlp.parameters())
    if name == "xor":                                   # what k-means would have given
        for k in (2, 4):
            alt = RBFNetwork(D, k, C)
            alt.fit_centres(X, generator=generator)
            alt.set_widths(config["xor_width_scale"])
            alt.fit_least_squares(X, ytr)
            out[f"kmeans{k}_accuracy"] = accuracy(alt, Xte, yte)
    if progress:
        print(f"{name}: RBF ({K} centres, {out['parameters']} parameters) least squares "
              f"{out['accuracy']:.4f} in {out['seconds']:.2f} s, gradient {out['accuracy_gradient']:.4f} in "
              f"{out['seconds_gradient']:.2f} s; MLP {D}-{h}-{C} ({out['mlp_parameters']} parameters) "
              f"{out['mlp_accuracy']:.4f} in {out['mlp_seconds']:.2f} s")
    if D == 2:
        figures.append((str(_plot_boundary(net, Xtr, ytr, out_dir / f"{name}_boundary.png",
                                           f"RBF on {name}: {K} centres, test accuracy {out['accuracy']:.3f}")),
                        f"decision boundary and centres (circles: one width), {name}"))
    else:
        figures.append((str(_plot_centres(net, out_dir / f"{name}_centres.png")), f"the k-means centres, {name}"))
    return out, descent, net


def fit(model: RBFNetwork | None, config: dict, data: dict, out_dir, *, seed: int = 0, progress: bool = True,
        test: bool = True, resume: bool = False) -> dict:
    """Fit every task asked (the ``fit`` hook of ``rbf``)."""
    generator = nnzoo.Generator().manual_seed(seed)
    result_test, figures, descents = {}, [], {}
    for name in ("xor", "moons", "digits"):
        if name not in data:
            continue
        out, descent, model = _fit_task(name, config, data[name], seed, generator, out_dir, figures, progress)
        descents[name] = (descent, out["least_squares_loss"])
        result_test.update({f"{name}_{k}": v for k, v in out.items()})
    result_test.update(out)                             # the last task's figures, unprefixed
    figures.append((str(_plot_descent(descents, out_dir / "readout_descent.png")),
                    "the read-out by gradient descent against the least-squares optimum"))
    return {"epochs": config["gd_epochs"], "val": None, "test": result_test, "figures": figures,
            "history": {k: v[0] for k, v in descents.items()}, "model": model}


# ---- pictures -------------------------------------------------------------------------------------------------

def _plot_boundary(net, X, y, path, title):
    from ..viz.plots import decision_boundary_figure, save_figure
    fig = decision_boundary_figure(net, X, y, title=title)
    ax = fig.axes[0]
    c, s = net.centres.numpy(), net.widths.numpy()
    ax.scatter(c[:, 0], c[:, 1], marker="x", c="k", s=40)
    from matplotlib.patches import Circle
    for (a, b), r in zip(c, s):
        ax.add_patch(Circle((a, b), r, fill=False, lw=0.6, ls="--", color="k"))
    return save_figure(fig, path)


def _plot_centres(net, path):
    from ..viz.plots import _figure, save_figure
    c = net.centres.numpy()
    side = math.isqrt(c.shape[1])
    shown = min(len(c), 100)
    cols = 10
    rows = (shown + cols - 1) // cols
    fig = _figure(figsize=(cols * 0.8, rows * 0.8 + 0.4))
    for i in range(shown):
        ax = fig.add_subplot(rows, cols, i + 1)
        ax.imshow(c[i].reshape(side, -1), cmap="gray_r")
        ax.set_axis_off()
    fig.suptitle(f"RBF centres by k-means ({len(c)}; {shown} shown)")
    return save_figure(fig, path)


def _plot_descent(descents, path):
    from ..viz.plots import _figure, save_figure
    fig = _figure(figsize=(6, 3.8))
    ax = fig.add_subplot()
    for i, (name, (h, best)) in enumerate(descents.items()):
        colour = f"C{i}"
        ax.plot(range(1, len(h) + 1), h, color=colour, label=f"{name}: gradient (Adam)")
        ax.axhline(best, color=colour, ls="--", lw=0.8, label=f"{name}: least squares")
    ax.set_yscale("log")
    ax.set_xlabel("epoch (full batch)")
    ax.set_ylabel("½ mean squared error")
    ax.set_title("RBF read-out: gradient descent vs closed form")
    ax.legend(fontsize=7)
    return save_figure(fig, path)


register(Recipe(
    name="rbf",
    description="RBF network (k-means centres, nearest-centre widths, least squares / gradient read-out) on "
                "XOR, two moons, digits, against an MLP of equal size",
    build_model=lambda c: RBFNetwork(64, c["centres"], 10),
    load_data=load_data,
    defaults=dict(DEFAULTS),
    constraints=CONSTRAINTS,
    fit=fit,
))
