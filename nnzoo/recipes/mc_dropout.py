"""Recipe ``mc-dropout`` of :mod:`nnzoo.zoo.mc_dropout`: dropout as an ensemble at prediction time.

The Fashion-MNIST classifier with dropout (:class:`~nnzoo.zoo.mc_dropout.FashionCNN`) is trained through the
Trainer on 55,000 training images (5,000 held out for validation, ``split_seed``), Adam at 1e-3, batches of 128,
the epoch of lowest validation loss kept. Then the 10,000 test images are predicted twice:

- weight scaling: the usual eval mode (every unit kept);
- MC dropout: the mean softmax of ``mc_samples`` = T passes with dropout on (the rest in eval mode).

``result.json``'s ``test`` holds the Trainer's ``loss`` and ``accuracy`` (weight scaling) and, for each
prediction, ``accuracy``, ``ece`` (``ece_bins`` = 15 equal-width bins) and ``nll``: ``test.weight_scaling`` and
``test.mc_dropout`` (with ``samples``). Pictures: the training history and the reliability diagrams of both.

NOTE: measured with these defaults over seeds 0, 1, 2 (``benchmarks/mc_dropout.py``): weight scaling accuracy
0.876 ± 0.003, ECE 0.013 ± 0.005, NLL 0.335 ± 0.006; MC dropout (T = 30) accuracy 0.874 ± 0.003, ECE 0.049 ±
0.003, NLL 0.357 ± 0.008. After 3 epochs with p = 0.5 in both FC layers the eval-mode network is already well
calibrated, and MC averaging makes it underconfident (accuracy above confidence in every bin of the diagram):
still so after 12 epochs (weight scaling ECE 0.010 ± 0.005, MC dropout 0.039 ± 0.008; accuracy 0.905 vs 0.904).

Images are scaled to [-1, 1] (the range of the DCGAN's tanh output: the ``dcgan`` recipe reads a run of this
recipe as its Fréchet distance's feature extractor). ``train_size`` / ``test_size`` > 0 keep that many images
(quick runs).
"""
from __future__ import annotations

import functools

import numpy as np

from .. import nn
from ..data import TensorDataset
from ..random import manual_seed
from ..zoo.mc_dropout import FashionCNN, expected_calibration_error, mc_predict, nll, predict_proba, reliability_bins
from . import Recipe, register

__all__ = ["fashion_images", "load_data", "build_model", "evaluate", "DEFAULTS"]

DEFAULTS = dict(epochs=3, lr=1e-3, batch_size=128, optimizer="adam", weight_decay=0.0, channels=(16, 32),
                hidden=128, dropout=0.5, mc_samples=30, ece_bins=15, val_size=5000, train_size=0, test_size=0,
                mc_seed=0, split_seed=0)


@functools.lru_cache(maxsize=2)
def _fashion(train: bool):
    from ..data.datasets import FashionMNIST, fashion_mnist_root
    ds = FashionMNIST(fashion_mnist_root(), train=train)
    x = ds.data.numpy().astype(np.float32) / 127.5 - 1.0          # (N, 28, 28) in [-1, 1]
    return x[:, None], ds.targets.numpy().astype(np.int64)        # (N, 1, 28, 28), (N,)


def fashion_images(train: bool) -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST's training (60,000) or test (10,000) images as float32 (N, 1, 28, 28) arrays in [-1, 1]
    (x / 127.5 - 1) and their int64 labels; read once per process (the arrays are shared: do not write)."""
    return _fashion(bool(train))


def load_data(config: dict) -> tuple:
    """(train, val, test) TensorDatasets: ``val_size`` training images held out at random (``split_seed``),
    ``train_size`` / ``test_size`` > 0 keep the first that many of the rest and of the test set."""
    import nnzoo
    x, y = fashion_images(True)
    order = np.random.default_rng(config["split_seed"]).permutation(len(x))
    val_idx, train_idx = order[:config["val_size"]], order[config["val_size"]:]
    if config["train_size"]:
        train_idx = train_idx[:config["train_size"]]
    xt, yt = fashion_images(False)
    n_test = config["test_size"] or len(xt)
    as_set = lambda a, b: TensorDataset(nnzoo.from_numpy(np.ascontiguousarray(a)),  # noqa: E731
                                        nnzoo.from_numpy(np.ascontiguousarray(b)))
    return as_set(x[train_idx], y[train_idx]), as_set(x[val_idx], y[val_idx]), as_set(xt[:n_test], yt[:n_test])


def build_model(config: dict) -> FashionCNN:
    """The config's :class:`~nnzoo.zoo.mc_dropout.FashionCNN`."""
    return FashionCNN(channels=tuple(config["channels"]), hidden=config["hidden"], dropout=config["dropout"])


def evaluate(model: nn.Module, x, labels: np.ndarray, samples: int, n_bins: int = 15, seed: int = 0) -> dict:
    """Weight scaling against MC dropout on ``(x, labels)``: each one's ``accuracy``, ``ece`` and ``nll``, and
    their probabilities (``probs``) for the pictures.

    Args:
        model: the trained classifier. x: (N, 1, 28, 28) tensor. labels: (N,) ints.
        samples: T, MC dropout's passes. n_bins: the ECE's bins. seed: seeds the dropout masks.

    Returns:
        ``{"weight_scaling": {...}, "mc_dropout": {..., "samples": T}}``, each with ``accuracy``, ``ece``,
        ``nll`` and ``probs`` ((N, K) float64).
    """
    manual_seed(seed)
    out = {"weight_scaling": {"probs": predict_proba(model, x)},
           "mc_dropout": {"probs": mc_predict(model, x, samples=samples), "samples": samples}}
    for d in out.values():
        p = d["probs"]
        d.update(accuracy=float(np.mean(p.argmax(axis=1) == labels)),
                 ece=expected_calibration_error(p, labels, n_bins), nll=nll(p, labels))
    return out


def _finish(model, config, data, out_dir):
    """The finish hook: test both predictions, draw their reliability diagrams."""
    test_set = data[2]
    x, labels = test_set.tensors[0], test_set.tensors[1].numpy()
    scores = evaluate(model, x, labels, config["mc_samples"], config["ece_bins"], seed=config["mc_seed"])
    path = _plot_reliability(scores, labels, config["ece_bins"], out_dir / "reliability.png")
    ws = scores["weight_scaling"]
    test = {"loss": ws["nll"], "accuracy": ws["accuracy"]}
    for name, d in scores.items():
        test[name] = {k: v for k, v in d.items() if k != "probs"}
    return {"test": test, "figures": [(str(path), "reliability diagrams: weight scaling and MC dropout")]}


def _plot_reliability(scores, labels, n_bins, path):
    from ..viz.plots import _figure, save_figure
    fig = _figure(figsize=(9, 4.2))
    for i, (name, title) in enumerate((("weight_scaling", "weight scaling"), ("mc_dropout", "MC dropout"))):
        d = scores[name]
        bins = reliability_bins(d["probs"], labels, n_bins)
        ax = fig.add_subplot(1, 2, i + 1)
        lo, width = bins["edges"][:-1], np.diff(bins["edges"])
        full = bins["count"] > 0
        acc, conf = np.nan_to_num(bins["accuracy"]), np.nan_to_num(bins["confidence"])
        ax.bar(lo, acc, width=width, align="edge", edgecolor="k", label="accuracy")
        ax.bar(lo[full], np.abs(conf - acc)[full], bottom=np.minimum(conf, acc)[full], width=width[full],
               align="edge", color="tab:red", alpha=0.35, edgecolor="tab:red", label="gap to mean confidence")
        ax.plot([0, 1], [0, 1], "k--", lw=0.8)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("confidence")
        ax.set_ylabel("accuracy")
        extra = f", T={d['samples']}" if name == "mc_dropout" else ""
        ax.set_title(f"{title}{extra}: acc {d['accuracy']:.3f}, ECE {d['ece']:.4f}, NLL {d['nll']:.3f}", fontsize=9)
        ax.legend(loc="upper left", fontsize=8)
    return save_figure(fig, path)


register(Recipe(
    name="mc-dropout",
    description="Fashion-MNIST CNN with dropout; MC dropout (mean of T passes) vs weight scaling: accuracy, ECE, NLL",
    build_model=build_model,
    load_data=load_data,
    loss=nn.CrossEntropyLoss,
    defaults=dict(DEFAULTS),
    metrics=("accuracy",),
    monitor=("val_loss", "min"),
    finish=_finish,
    constraints={
        "channels": (lambda v, c: len(v) == 2, "two integers >= 1 (the conv stages' widths), e.g. [16, 32]"),
        "val_size": (lambda v, c: 1 <= v <= 30000, "an integer in [1, 30000] (training images held out)"),
        "train_size": (lambda v, c: v >= 0, "an integer >= 0 (0: all the training images left)"),
        "test_size": (lambda v, c: 0 <= v <= 10000, "an integer in [0, 10000] (0: the whole test set)"),
        "ece_bins": (lambda v, c: v >= 1, "an integer >= 1"),
    },
))
