"""The notes' feature-map lesson: linear predictors ``f(x) = w·φ(x)`` on hand-made features.

A linear predictor is linear in its weights, not in its input: with a feature map φ it fits curves and
draws curved decision boundaries. The lesson, runnable as ``python -m nnzoo.recipes.feature_maps [out_dir]``:

1. Regression. One 1-D data set (``regression_1d``) is split into training, validation and test parts.
   Three linear predictors ``ŷ = w·φ(x)`` with

   - φ(x) = [1, x]               (a line),
   - φ(x) = [1, x, x², x³]       (a cubic),
   - φ(x) = [1, x, sin(3x)]      (a line plus a sine),

   are fitted on the training part by gradient descent (Adam on the squared loss, nnzoo autograd), and
   checked against the closed-form least-squares solution ``w = argmin ‖Φw − y‖²``. The validation loss
   L_val chooses among them; the test loss L_test is reported once, for the chosen φ only (choosing by
   L_test would make it an optimistic estimate).
2. Classification. Logistic regression ``p(y=1 | x) = σ(w·φ(x))`` on two concentric circles: with the
   linear φ(x) = [1, x1, x2] no line separates the classes; with the quadratic
   φ(x) = [1, x1, x2, x1², x1·x2, x2²] the decision boundary φ(x)·w = 0 is a conic, and it does.

``run(out_dir)`` does both, writes the plots (PNG, matplotlib's Agg backend) and returns the numbers.
Needs matplotlib for the plots (the ``viz`` extra).

The feature maps themselves are :mod:`nnzoo.zoo.feature_maps`.
"""
import pathlib

import numpy as np

from .. import nn, optim
from ..creation import from_numpy, zeros
from ..data.datasets.toy import circles, regression_1d
from ..random import Generator, randperm
from ..zoo.feature_maps import FEATURE_MAPS, linear_features, quadratic_features

__all__ = ["FEATURE_MAPS", "linear_features", "quadratic_features", "fit", "least_squares", "fit_logistic",
           "split", "compare_feature_maps", "run"]

F = nn.functional


# ---- fitting -------------------------------------------------------------------------------------------
def fit(features, y, steps=500, lr=0.1):
    """Fit ``ŷ = features @ w`` to ``y`` by Adam on the mean squared error, from ``w = 0``.

    Args:
        features (Tensor): Φ, shape (n, d).
        y (Tensor): targets, shape (n, 1).
        steps (int): full-batch Adam steps. Default: 500.
        lr (float): Adam's learning rate. Default: 0.1.

    Returns:
        Tensor: ``w``, shape (d, 1) (detached).

    Example::

        >>> Phi = nnzoo.tensor([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]])
        >>> w = fit(Phi, nnzoo.tensor([[1.0], [3.0], [5.0]]))        # y = 1 + 2x
        >>> [round(v, 3) for v in w.flatten().tolist()]
        [1.0, 2.0]
    """
    w = zeros(features.shape[1], 1, requires_grad=True)  # (d, 1)
    opt = optim.Adam([w], lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        loss = F.mse_loss(features @ w, y)  # (n, d) @ (d, 1) -> (n, 1)
        loss.backward()
        opt.step()
    return w.detach()


def least_squares(features, y):
    """The closed-form least-squares weights ``argmin_w ‖Φw − y‖²`` (NumPy ``lstsq`` in float64).

    Returns:
        Tensor: ``w`` float32, shape (d, 1).

    Example::

        >>> Phi = nnzoo.tensor([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]])
        >>> least_squares(Phi, nnzoo.tensor([[1.0], [3.0], [5.0]])).flatten()
        tensor([1., 2.])
    """
    w, *_ = np.linalg.lstsq(features.numpy().astype(np.float64), y.numpy().astype(np.float64), rcond=None)
    return from_numpy(w.astype(np.float32))


def fit_logistic(features, y, steps=500, lr=0.1):
    """Logistic regression ``p(y=1 | x) = σ(φ(x)·w)``: Adam on the binary cross-entropy, from ``w = 0``.

    Args:
        features (Tensor): Φ, shape (n, d).
        y (Tensor): 0/1 labels, shape (n,), any dtype.

    Returns:
        Tensor: ``w``, shape (d,) (detached); the decision boundary is ``φ(x)·w = 0``.
    """
    w = zeros(features.shape[1], requires_grad=True)  # (d,)
    target = y.float()
    opt = optim.Adam([w], lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(features @ w, target)  # logits (n,)
        loss.backward()
        opt.step()
    return w.detach()


def split(n, fractions=(0.5, 0.25, 0.25), seed=0):
    """Random index tensors for a train/validation/test split of ``n`` samples (the test part takes the
    rest, so the three sizes add up to ``n``).

    Example::

        >>> [len(i) for i in split(10)]
        [5, 2, 3]
    """
    perm = randperm(n, generator=Generator().manual_seed(seed))
    n_train, n_val = int(fractions[0] * n), int(fractions[1] * n)
    return perm[:n_train], perm[n_train:n_train + n_val], perm[n_train + n_val:]


def compare_feature_maps(kind="sine", n=120, noise=0.1, seed=0, steps=500):
    """Fit every φ of ``FEATURE_MAPS`` to ``regression_1d(kind, n, noise, seed)``, choose by validation.

    Returns:
        dict: ``train_loss``, ``val_loss``, ``weights``, ``lstsq_weights`` (each a dict over the φ names),
        ``chosen`` (the φ with the lowest validation loss), ``test_loss`` (the chosen φ's only), and the
        data: ``x``/``y`` Tensors and the ``train``/``val``/``test`` index Tensors.

    Example::

        >>> compare_feature_maps("cubic", steps=300)["chosen"]
        '[1, x, x², x³]'
    """
    x, y = regression_1d(kind, n=n, noise=noise, seed=seed).tensors  # (n, 1), (n, 1)
    train, val, test = split(n, seed=seed)
    out = {"kind": kind, "x": x, "y": y, "train": train, "val": val, "test": test,
           "train_loss": {}, "val_loss": {}, "weights": {}, "lstsq_weights": {}}
    for name, phi in FEATURE_MAPS.items():
        w = fit(phi(x[train]), y[train], steps=steps)
        out["weights"][name] = w
        out["lstsq_weights"][name] = least_squares(phi(x[train]), y[train])
        out["train_loss"][name] = F.mse_loss(phi(x[train]) @ w, y[train]).item()
        out["val_loss"][name] = F.mse_loss(phi(x[val]) @ w, y[val]).item()
    chosen = min(out["val_loss"], key=out["val_loss"].get)
    out["chosen"] = chosen
    # NOTE: L_test is computed once, for the chosen φ only: it estimates how the chosen model generalises
    out["test_loss"] = F.mse_loss(FEATURE_MAPS[chosen](x[test]) @ out["weights"][chosen], y[test]).item()
    return out


def _accuracy(features, w, y):
    return ((features @ w > 0).long() == y).float().mean().item()


# ---- plots (matplotlib, Agg; no pyplot, so no global state and no window) --------------------------------
def _figure(width, height):
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("feature_maps: the plots need matplotlib: pip install matplotlib "
                          "(or pip install nnzoo[viz])") from None
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def _plot_fits(reg, path, dpi):
    fig = _figure(10, 4.5)
    ax = fig.add_subplot()
    fig.subplots_adjust(left=0.07, right=0.66)
    x, y = reg["x"].numpy()[:, 0], reg["y"].numpy()[:, 0]
    for part, style in (("train", dict(c="tab:blue", label="train")), ("val", dict(c="tab:orange", label="validation")),
                        ("test", dict(c="tab:gray", marker="x", label="test"))):
        idx = reg[part].numpy()
        ax.scatter(x[idx], y[idx], s=14, **style)
    grid = np.linspace(-2, 2, 200, dtype=np.float32)[:, None]  # (200, 1)
    for name, phi in FEATURE_MAPS.items():
        curve = (phi(from_numpy(grid)) @ reg["weights"][name]).numpy()[:, 0]
        chosen = name == reg["chosen"]
        ax.plot(grid[:, 0], curve, lw=2.5 if chosen else 1.2, ls="-" if chosen else "--",
                label=f"φ = {name}: L_val {reg['val_loss'][name]:.3f}" + ("  (chosen)" if chosen else ""))
    ax.set_title(f"w·φ(x) on '{reg['kind']}' data; chosen by L_val, L_test = {reg['test_loss']:.3f}")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.savefig(path, dpi=dpi)


def _plot_boundary(X, y, weights, path, dpi):
    fig = _figure(9, 4.5)
    lim = float(np.abs(X.numpy()).max()) * 1.1
    g = np.linspace(-lim, lim, 200, dtype=np.float32)
    xx, yy = np.meshgrid(g, g)
    grid = from_numpy(np.stack([xx.ravel(), yy.ravel()], 1))  # (200*200, 2)
    for i, (title, (phi, w, acc)) in enumerate(weights.items()):
        ax = fig.add_subplot(1, len(weights), i + 1)
        score = (phi(grid) @ w).numpy().reshape(xx.shape)
        ax.contourf(xx, yy, score > 0, levels=[-0.5, 0.5, 1.5], colors=["tab:blue", "tab:orange"], alpha=0.15)
        ax.contour(xx, yy, score, levels=[0.0], colors="k")
        pts, lab = X.numpy(), y.numpy()
        ax.scatter(pts[lab == 0, 0], pts[lab == 0, 1], s=10, c="tab:blue")
        ax.scatter(pts[lab == 1, 0], pts[lab == 1, 1], s=10, c="tab:orange")
        ax.set_title(f"{title}\nφ(x)·w = 0; test accuracy {acc:.2f}", fontsize=9)
        ax.set_aspect("equal")
    fig.savefig(path, dpi=dpi)


def run(out_dir, seed=0, quick=False, kind="sine"):
    """The whole lesson: choose φ by validation on 1-D data, then logistic regression with a quadratic φ
    on circles; writes ``feature_maps_fits.png`` and ``feature_maps_boundary.png`` into ``out_dir``.

    Args:
        out_dir (str or Path): where the plots go (created if needed).
        seed (int): seeds the data and the splits. Default: 0.
        quick (bool): fewer optimisation steps and smaller plots (for tests). Default: False.
        kind (str): the true curve of the regression data (see ``regression_1d``). Default: ``'sine'``.

    Returns:
        dict: ``train_loss``/``val_loss`` (per φ), ``chosen``, ``test_loss`` (the chosen φ's), ``weights``
        and ``lstsq_weights`` (per φ, lists), ``accuracy`` (test accuracy of the quadratic-φ classifier),
        ``linear_accuracy`` (the same with φ = [1, x1, x2]), ``plots`` (the PNG paths).

    Example::

        >>> r = run("out", quick=True)
        >>> r["chosen"], r["accuracy"] > 0.9, r["linear_accuracy"] < 0.7
        ('[1, x, sin(3x)]', True, True)
    """
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    steps, dpi = (300, 60) if quick else (1000, 110)

    reg = compare_feature_maps(kind, n=120, noise=0.1, seed=seed, steps=steps)

    X, y = circles(n=300, noise=0.08, seed=seed, factor=0.5).tensors  # (300, 2), (300,)
    train, _, test = split(len(y), fractions=(0.6, 0.0, 0.4), seed=seed)
    classifiers = {}
    for title, phi in (("φ(x) = [1, x1, x2]", linear_features),
                       ("φ(x) = [1, x1, x2, x1², x1x2, x2²]", quadratic_features)):
        w = fit_logistic(phi(X[train]), y[train], steps=steps)
        classifiers[title] = (phi, w, _accuracy(phi(X[test]), w, y[test]))
    (_, _, acc_lin), (_, w_quad, acc_quad) = classifiers.values()

    fits_png, boundary_png = out_dir / "feature_maps_fits.png", out_dir / "feature_maps_boundary.png"
    _plot_fits(reg, fits_png, dpi)
    _plot_boundary(X[test], y[test], classifiers, boundary_png, dpi)

    def as_lists(ws):
        return {k: v.flatten().tolist() for k, v in ws.items()}

    return {"kind": kind, "train_loss": reg["train_loss"], "val_loss": reg["val_loss"], "chosen": reg["chosen"],
            "test_loss": reg["test_loss"], "weights": as_lists(reg["weights"]),
            "lstsq_weights": as_lists(reg["lstsq_weights"]), "accuracy": acc_quad, "linear_accuracy": acc_lin,
            "classifier_weights": w_quad.tolist(), "plots": {"fits": str(fits_png), "boundary": str(boundary_png)}}


def main(argv=None):
    """``python -m nnzoo.recipes.feature_maps [out_dir]``: run the lesson and print its numbers."""
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", nargs="?", default="feature_maps_out")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kind", default="sine")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    r = run(args.out_dir, seed=args.seed, quick=args.quick, kind=args.kind)
    print(f"data: regression_1d({args.kind!r}); linear predictors w·φ(x)")
    for name in FEATURE_MAPS:
        mark = "  <- chosen by L_val" if name == r["chosen"] else ""
        print(f"  φ = {name:<16} L_train {r['train_loss'][name]:.4f}  L_val {r['val_loss'][name]:.4f}{mark}")
    print(f"  L_test of the chosen φ: {r['test_loss']:.4f}")
    print(f"logistic regression on circles: test accuracy {r['accuracy']:.3f} with the quadratic φ, "
          f"{r['linear_accuracy']:.3f} with φ = [1, x1, x2]")
    print("plots:", *r["plots"].values())


if __name__ == "__main__":
    main()
