"""Plots of training: history curves and 2-D decision boundaries, saved as PNG files.

Figures are made with ``matplotlib.figure.Figure`` and its Agg canvas directly, never through
``pyplot``: nothing global changes (no backend switch, no open-figure registry), and it works without a
display. matplotlib is imported when a plot is made (``pip install matplotlib``).
"""
import json
import os

import numpy as np

__all__ = ["plot_history", "history_figure", "plot_decision_boundary", "decision_boundary_figure",
           "save_figure"]

_SKIP = ("epoch", "lr", "time", "skipped_batches")


def _figure(**kwargs):
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("nnzoo.viz plots need the 'matplotlib' package: pip install matplotlib") from None
    return Figure(**kwargs)


def save_figure(fig, path, dpi=100):
    """Write a matplotlib figure to ``path`` (format from the extension, e.g. ``.png``); returns ``path``.

    Missing parent folders are created.

    Example::

        >>> from matplotlib.figure import Figure
        >>> fig = Figure(); _ = fig.add_subplot().plot([0, 1], [1, 0])
        >>> save_figure(fig, "line.png")
        'line.png'
    """
    parent = os.path.dirname(os.path.abspath(os.fspath(path)))
    os.makedirs(parent, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path


def _as_history(history):
    """A dict of per-epoch lists from a dict, a Trainer (``.history``) or a ``history.json`` path."""
    if isinstance(history, (str, os.PathLike)):
        with open(history) as f:
            history = json.load(f)
    history = getattr(history, "history", history)
    if not isinstance(history, dict):
        raise TypeError(f"plot_history: expected a dict of lists, a Trainer or a history.json path, got "
                        f"{type(history).__name__}")
    return history


def _series(history):
    """``{name: {'train': values, 'val': values}}`` for every numeric quantity in a history.

    Understands the Trainer's ``train_x`` / ``val_x`` keys and Keras' ``x`` / ``val_x``.
    """
    def numeric(values):
        # None is a NaN/inf that history.json wrote as null: a gap in the curve, not a dropped curve
        return isinstance(values, (list, tuple)) and any(v is not None for v in values) and \
            all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in values)

    series = {}
    for key, values in history.items():
        if key in _SKIP or not numeric(values):
            continue
        if key.startswith("val_"):
            name, split = key[4:], "val"
        elif key.startswith("train_"):
            name, split = key[6:], "train"
        else:
            name, split = key, "train"
        series.setdefault(name, {})[split] = [float("nan") if v is None else float(v) for v in values]
    # the loss first, then the metrics in the order they were logged
    return dict(sorted(series.items(), key=lambda kv: kv[0] != "loss"))


def history_figure(history, title=None, include_lr=False):
    """A figure with one subplot per quantity (loss, then each metric), train and validation curves.

    Args:
        history: a dict of per-epoch lists (``trainer.history``), a Trainer, or a ``history.json`` path.
        title (str, optional): the figure's title.
        include_lr (bool): add a subplot of the learning rate (log scale). Default: False.

    Returns:
        matplotlib.figure.Figure
    """
    history = _as_history(history)
    series = _series(history)
    if include_lr and "lr" in history:
        series["lr"] = {"lr": [float(v) for v in history["lr"]]}
    if not series:
        raise ValueError(f"plot_history: nothing to plot in a history with keys {sorted(history)}")
    n = len(series)
    cols = min(n, 3)
    rows = -(-n // cols)
    fig = _figure(figsize=(4.2 * cols, 3.2 * rows), layout="constrained")
    for i, (name, curves) in enumerate(series.items()):
        ax = fig.add_subplot(rows, cols, i + 1)
        for split, values in curves.items():
            epochs = history.get("epoch")
            x = epochs if isinstance(epochs, list) and len(epochs) == len(values) else range(1, len(values) + 1)
            ax.plot(list(x), values, marker="o" if len(values) < 30 else None, markersize=3, label=split)
        ax.set_title(name)
        ax.set_xlabel("epoch")
        if name == "lr":
            ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
        if len(curves) > 1 or name != "lr":
            ax.legend()
    if title:
        fig.suptitle(title)
    return fig


def plot_history(history, path, title=None, include_lr=False, dpi=100):
    """Plot a training history (see :func:`history_figure`) to ``path`` (e.g. a PNG); returns ``path``.

    Example::

        >>> h = {"epoch": [1, 2, 3], "train_loss": [1.0, 0.6, 0.4], "val_loss": [1.1, 0.8, 0.7],
        ...      "train_accuracy": [0.5, 0.7, 0.8], "val_accuracy": [0.45, 0.6, 0.65]}
        >>> plot_history(h, "history.png")
        'history.png'
    """
    return save_figure(history_figure(history, title, include_lr), path, dpi)


def _predict_labels(model_fn, points, threshold):
    """Class labels of ``points`` (an (M, 2) float32 array) from ``model_fn``'s outputs."""
    from .. import no_grad, tensor
    with no_grad():
        out = model_fn(tensor(points))
    out = np.asarray(out)
    if out.ndim == 2 and out.shape[1] > 1:
        return out.argmax(axis=1)
    out = out.reshape(len(points))
    if out.dtype.kind == "f":
        return (out > threshold).astype(np.int64)
    return out.astype(np.int64)


def decision_boundary_figure(model_fn, X, y, resolution=200, threshold=0.0, title=None, margin=0.5):
    """A figure of a 2-D classifier's decision regions with the data points on top.

    Args:
        model_fn (callable): maps a float32 Tensor of points ``(M, 2)`` to class scores ``(M, C)``
            (argmax), one logit per point ``(M,)`` / ``(M, 1)`` (class 1 where ``> threshold``), or labels.
            A model is called under ``no_grad``; put it in eval mode first if it has dropout.
        X (Tensor or array): points ``(N, 2)``. y (Tensor or array): their labels ``(N,)``.
        resolution (int): grid points per axis. Default: 200.
        threshold (float): for one-output models. Default: 0.0 (logits; use 0.5 for probabilities).
        title (str, optional): the axes' title.
        margin (float): space around the data, in data units. Default: 0.5.
    """
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y).ravel()
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"plot_decision_boundary: X must have shape (N, 2), got {X.shape}")
    if len(y) != len(X):
        raise ValueError(f"plot_decision_boundary: X has {len(X)} points but y has {len(y)} labels")
    lo, hi = X.min(axis=0) - margin, X.max(axis=0) + margin
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)  # (resolution**2, 2)
    labels = _predict_labels(model_fn, grid, threshold).reshape(gx.shape)
    classes = np.union1d(np.unique(labels), np.unique(y)).astype(np.int64)
    fig = _figure(figsize=(5, 4.5), layout="constrained")
    ax = fig.add_subplot()
    cmap = "tab10" if len(classes) <= 10 else "tab20"
    # NOTE: levels at half-integers put every integer label in its own colour band
    levels = np.arange(classes.min(), classes.max() + 2) - 0.5
    ax.contourf(gx, gy, labels, levels=levels, cmap=cmap, alpha=0.3, vmin=levels[0], vmax=levels[-1])
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap=cmap, vmin=levels[0], vmax=levels[-1], s=12, edgecolors="k",
               linewidths=0.3)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    if title:
        ax.set_title(title)
    return fig


def plot_decision_boundary(model_fn, X, y, path, resolution=200, threshold=0.0, title=None, dpi=100):
    """Plot a 2-D classifier's decision regions and the data (see :func:`decision_boundary_figure`) to
    ``path``; returns ``path``.

    Example::

        >>> X = nnzoo.randn(50, 2); y = (X[:, 0] + X[:, 1] > 0).long()
        >>> plot_decision_boundary(lambda p: p[:, 0] + p[:, 1], X, y, "boundary.png", resolution=50)
        'boundary.png'
    """
    return save_figure(decision_boundary_figure(model_fn, X, y, resolution, threshold, title), path, dpi)
