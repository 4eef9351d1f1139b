"""Recipes of :mod:`nnzoo.zoo.autoencoder`: ``ae``, ``linear-ae``, ``dae``, ``sae`` and ``conv-ae``.

Data: Fashion-MNIST (``dataset=fashion-mnist``, the default: the 60,000 training images split 55,000/5,000
into training and validation with ``split_seed``, the 10,000 test images) or the 8x8 digits
(``dataset=digits``, their 70/10/20 split) for quick runs; pixels in [0, 1]. ``train_size`` and ``test_size``
> 0 keep that many images (quick runs and tests).

Each recipe trains by its own loop (the ``fit`` hook: minibatch Adam on the notes' squared loss, the
validation MSE picking the best epoch), writes ``best.safetensors`` (``load_run`` reads it), ``result.json``
with ``test`` holding its figures (``mse`` per pixel, ``bce`` per pixel, and the variant's own) and pictures:
the curves and the reconstructions; ``dae`` draws the notes' picture (rows: corrupted, predicted, clean),
``sae`` its learned features, ``linear-ae`` its principal angles to PCA.

``linear-ae`` is trained to convergence by full-batch L-BFGS (see :func:`fit_linear`), and compared with
PCA (scikit-learn's when installed, else NumPy's eigendecomposition) on the same centred data: the principal
angles between the decoder's column space and the top-k components, and the two test reconstruction errors.
"""
from __future__ import annotations

import copy
import time

import numpy as np

from .. import nn, no_grad, optim, tensor
from ..nn import functional as F
from ..random import Generator
from ..zoo.autoencoder import (
    Autoencoder,
    AutoencoderConfig,
    ConvAutoencoder,
    DenoisingAutoencoder,
    LinearAutoencoder,
    SparseAutoencoder,
    corrupt,
)
from . import ConfigError, Recipe, default_optimizer, digits_splits, register

__all__ = ["load_images", "train_autoencoder", "evaluate", "fit_linear", "principal_angles", "pca_reference",
           "gram_rows"]

DATASETS = ("fashion-mnist", "digits")
_DATA = dict(dataset="fashion-mnist", train_size=0, test_size=0)
# NOTE: measured default runtimes (benchmarks/autoencoders.py, 2 loaded cores, one BLAS thread): ae 72 s, dae 71 s,
# sae 34 s, linear-ae 110 s; conv-ae 37 s for 3 epochs of 20,000 images, hence 5 epochs of all 55,000 (~3 min).
_ADAM = dict(optimizer="adam", lr=1e-3, batch_size=128, weight_decay=0.0)


# ---- data -----------------------------------------------------------------------------------------------------

def load_images(config: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train, val, test) images of the config's ``dataset`` as float32 arrays (N, 1, side, side) in [0, 1]."""
    if config["dataset"] == "digits":
        x = None
        parts = []
        for subset in digits_splits(config):
            if x is None:
                x = subset.dataset.tensors[0].numpy()
            parts.append(x[np.asarray(subset.indices)].astype(np.float32))
        train, val, test = parts
    else:
        from ..data.datasets import FashionMNIST, fashion_mnist_root
        try:
            root = fashion_mnist_root()
            full = FashionMNIST(root, train=True).data.numpy()
            test = FashionMNIST(root, train=False).data.numpy()
        except (FileNotFoundError, RuntimeError) as e:
            raise ConfigError(f"run_recipe: dataset: Fashion-MNIST not found ({e}); use dataset=digits",
                              key="dataset", problem=f"Fashion-MNIST not found ({e}); use dataset=digits") from None
        order = np.random.default_rng(config.get("split_seed", 0)).permutation(len(full))
        train, val = full[order[:-5000]], full[order[-5000:]]
    if config["train_size"]:
        train, val = train[:config["train_size"]], val[:max(1, config["train_size"] // 10)]
    if config["test_size"]:
        test = test[:config["test_size"]]
    if config["dataset"] != "digits":   # uint8 pixels to [0, 1], after the cut (quick runs convert little)
        train, val, test = (a[:, None].astype(np.float32) / np.float32(255.0) for a in (train, val, test))
    return train, val, test


# ---- training and evaluation ----------------------------------------------------------------------------------

def _batches(n, batch_size, rng):
    order = rng.permutation(n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


def evaluate(model: nn.Module, images: np.ndarray, inputs: np.ndarray | None = None,
             batch_size: int = 1000) -> dict[str, float]:
    """Reconstruction errors of ``model`` on ``images`` (the targets; ``inputs``, e.g. corrupted copies, go
    in when given): ``mse`` (mean squared error per pixel) and ``bce`` (binary cross-entropy per pixel, for
    outputs in [0, 1]; None otherwise), in eval mode without gradients."""
    inputs = images if inputs is None else inputs
    se = ce = 0.0
    bounded = True
    model.eval()
    with no_grad():
        for i in range(0, len(images), batch_size):
            x, t = tensor(inputs[i:i + batch_size]), tensor(images[i:i + batch_size])
            y = model(x)
            se += F.mse_loss(y, t, reduction="sum").item()
            y_np = y.numpy()
            bounded = bounded and bool(y_np.min() >= 0 and y_np.max() <= 1)
            if bounded:
                ce += F.binary_cross_entropy(y, t, reduction="sum").item()
    n = images.size
    return {"mse": se / n, "bce": ce / n if bounded else None}


def train_autoencoder(model: nn.Module, config: dict, train: np.ndarray, val: np.ndarray, *, seed: int = 0,
                      progress: bool = True, penalty=None,
                      val_inputs: np.ndarray | None = None) -> tuple[dict, int]:
    """Minibatch training on L = mean ||f(x) - x||² (+ the penalty when given: ``penalty(model, x)`` returns
    (f(x), the term), e.g. the sparsity term) with the config's optimizer; the weights of the epoch of least
    validation MSE (of ``model(val_inputs)`` against ``val`` when given, e.g. corrupted copies) are kept. A
    denoising model corrupts its input itself in training mode; the target stays clean.

    Returns:
        (history: ``epoch``, ``train_loss``, ``val_mse``, ``seconds`` per epoch; the best epoch).
    """
    optimizer = default_optimizer(config, model)
    rng = np.random.default_rng(seed)
    history = {"epoch": [], "train_loss": [], "val_mse": [], "seconds": []}
    best, best_state = float("inf"), None
    for epoch in range(1, config["epochs"] + 1):
        start, total, count = time.perf_counter(), 0.0, 0
        model.train()
        for idx in _batches(len(train), config["batch_size"], rng):
            x = tensor(train[idx])
            if penalty is None:
                loss = F.mse_loss(model(x), x)
            else:
                y, extra = penalty(model, x)
                loss = F.mse_loss(y, x) + extra
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total, count = total + loss.item() * len(idx), count + len(idx)
        val_mse = evaluate(model, val, val_inputs)["mse"]
        history["epoch"].append(epoch)
        history["train_loss"].append(total / count)
        history["val_mse"].append(val_mse)
        history["seconds"].append(time.perf_counter() - start)
        if progress:
            print(f"epoch {epoch}/{config['epochs']}: train loss {total / count:.5f}, val mse {val_mse:.5f} "
                  f"({history['seconds'][-1]:.1f} s)", flush=True)
        if val_mse < best:
            best, best_state = val_mse, copy.deepcopy(model.state_dict())
    model.load_state_dict(best_state)
    model.eval()
    return history, history["epoch"][history["val_mse"].index(best)]


def _save(model, out):
    from ..io import save
    save(model.state_dict(), out / "best.safetensors")


def _side(config):
    return 8 if config["dataset"] == "digits" else 28


def _fit_trained(model, config, data, out, *, seed, progress, test, resume, penalty=None, title=""):
    """The shared ``fit`` of ``ae``, ``sae``, ``conv-ae``: train, save, test, draw."""
    train, val, test_images = data
    history, best_epoch = train_autoencoder(model, config, train, val, seed=seed, progress=progress,
                                            penalty=penalty)
    _save(model, out)
    result_test = evaluate(model, test_images) if test else None
    figures = [(_plot_curves(history, out / "curves.png", title), "training loss and validation MSE per epoch")]
    with no_grad():
        shown = test_images[:10]
        recon = model(tensor(shown)).numpy()
    figures.append((_plot_rows([("test image", shown), ("reconstruction", recon)], out / "reconstructions.png",
                                f"{title}: test reconstructions"), "test images and their reconstructions"))
    return {"epochs": config["epochs"], "best_epoch": best_epoch, "val": {"mse": min(history["val_mse"])},
            "test": result_test, "figures": figures, "train_seconds": sum(history["seconds"]),
            "history": history, "model": model}


# ---- ae -------------------------------------------------------------------------------------------------------

def _mlp_config(config):
    side = _side(config)
    return AutoencoderConfig(in_features=side * side, hidden=tuple(config["hidden"]), latent=config["latent"],
                             activation="relu", output="sigmoid")


def _fit_ae(model, config, data, out, *, seed=0, progress=True, test=True, resume=False):
    return _fit_trained(model, config, data, out, seed=seed, progress=progress, test=test, resume=resume,
                        title="AE")


# ---- dae ------------------------------------------------------------------------------------------------------

def _noise_level(config):
    return config["noise_std"] if config["corruption"] == "gaussian" else config["mask_prob"]


def _build_dae(config):
    return DenoisingAutoencoder(_mlp_config(config), config["corruption"], _noise_level(config))


def _fit_dae(model, config, data, out, *, seed=0, progress=True, test=True, resume=False):
    """Train on corrupted inputs with clean targets; test on corrupted test images (a fixed noise draw)."""
    train, val, test_images = data
    gen = Generator().manual_seed(seed + 1)
    # the validation set is corrupted once, so that the best epoch is the best denoiser
    val_in = corrupt(tensor(val), config["corruption"], _noise_level(config), generator=gen).numpy()
    history, best_epoch = train_autoencoder(model, config, train, val, seed=seed, progress=progress,
                                            val_inputs=val_in)
    _save(model, out)
    test_in = corrupt(tensor(test_images), config["corruption"], _noise_level(config), generator=gen).numpy()
    result_test = None
    if test:
        denoised, clean = evaluate(model, test_images, test_in), evaluate(model, test_images)
        result_test = {"mse": denoised["mse"], "bce": denoised["bce"], "clean_input_mse": clean["mse"],
                       "corrupted_mse": float(np.mean((test_in - test_images) ** 2))}
    with no_grad():
        pred = model(tensor(test_in[:10])).numpy()
    name = f"{config['corruption']} {'σ' if config['corruption'] == 'gaussian' else 'p'} = {_noise_level(config)}"
    figures = [(_plot_curves(history, out / "curves.png", "DAE"), "training loss and validation MSE per epoch"),
               (_plot_rows([("corrupted", np.clip(test_in[:10], 0, 1)), ("predicted", pred),
                            ("clean", test_images[:10])], out / "denoising.png", f"DAE ({name}): test images"),
                "the notes' picture: corrupted input, prediction, clean image")]
    return {"epochs": config["epochs"], "best_epoch": best_epoch, "val": {"mse": min(history["val_mse"])},
            "test": result_test, "figures": figures, "train_seconds": sum(history["seconds"]),
            "history": history, "model": model}


# ---- sae ------------------------------------------------------------------------------------------------------

def _build_sae(config):
    side = _side(config)
    weight = config["beta"] if config["sparsity"] == "kl" else config["l1_weight"]
    return SparseAutoencoder(side * side, config["hidden_units"], config["sparsity"], config["rho"], weight)


def _sae_penalty(model, x):
    """(f(x), penalty / d): added to the per-pixel MSE, the loss is (||f(x) - x||² + penalty) / d per image,
    the penalty weighed against the summed squared error of an image as in Ng's sparse-autoencoder notes."""
    y, code = model.forward_with_code(x)
    return y, model.penalty(code) / x[0].numel()


def _fit_sae(model, config, data, out, *, seed=0, progress=True, test=True, resume=False):
    result = _fit_trained(model, config, data, out, seed=seed, progress=progress, test=test, resume=resume,
                          penalty=_sae_penalty, title=f"sparse AE ({config['sparsity']})")
    test_images = data[2]
    with no_grad():
        codes = np.concatenate([model.encode(tensor(test_images[i:i + 1000])).numpy()
                                for i in range(0, len(test_images), 1000)])
        penalty = model.penalty(tensor(codes)).item()
    if result["test"] is not None:
        result["test"].update({"penalty": penalty, "mean_activation": float(codes.mean()),
                               "active_fraction": float((codes > 0.1).mean())})
    side = _side(config)
    w = model.encoder[0].weight.detach().numpy()
    result["figures"].append((_plot_features(w[:100].reshape(-1, side, side), out / "features.png",
                                             f"sparse AE ({config['sparsity']}): encoder filters"),
                              "the learned features: rows of the encoder's weight as images"))
    return result


# ---- conv-ae --------------------------------------------------------------------------------------------------

def _build_conv(config):
    return ConvAutoencoder(_side(config), tuple(config["channels"]), config["latent"])


def _fit_conv(model, config, data, out, *, seed=0, progress=True, test=True, resume=False):
    return _fit_trained(model, config, data, out, seed=seed, progress=progress, test=test, resume=resume,
                        title="conv AE")


# ---- linear-ae ------------------------------------------------------------------------------------------------

def gram_rows(x: np.ndarray) -> np.ndarray:
    """Rows R (d, d) with RᵀR = xᵀx / N: the upper Cholesky factor of the second-moment matrix of x (N, d).

    For any linear map A, Σ_i ||A x_i||² / N = Σ_j ||A r_j||², so the full-batch loss and gradient of a linear,
    bias-free autoencoder on the N rows of x equal those on the d rows of R: training on R *is* full-batch
    training on x, at d instead of N rows per step.

    NOTE: xᵀx is only semidefinite when a pixel is constant (the 8x8 digits' corners); then a jitter
    1e-12·trace/d is added to its diagonal (a relative change of the loss below 1e-11).
    """
    x = np.asarray(x, dtype=np.float64)
    g = x.T @ x / len(x)
    try:
        return np.linalg.cholesky(g).T
    except np.linalg.LinAlgError:
        jitter = 1e-12 * np.trace(g) / len(g)
        return np.linalg.cholesky(g + jitter * np.eye(len(g))).T


def principal_angles(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The principal angles (radians, largest first) between the column spaces of a (d, k) and b (d, l).

    From the sines: the singular values of (I - Q_b Q_bᵀ) Q_a (accurate for small angles, as
    scipy.linalg.subspace_angles), with Q_a, Q_b orthonormal bases from QR.
    """
    qa, _ = np.linalg.qr(np.asarray(a, dtype=np.float64))
    qb, _ = np.linalg.qr(np.asarray(b, dtype=np.float64))
    if qa.shape[1] < qb.shape[1]:
        qa, qb = qb, qa
    sines = np.linalg.svd(qb - qa @ (qa.T @ qb), compute_uv=False)
    return np.sort(np.arcsin(np.clip(sines, 0.0, 1.0)))[::-1]


def pca_reference(train: np.ndarray, k: int) -> tuple[np.ndarray, str]:
    """The top-k principal directions (d, k) of the centred rows ``train``: scikit-learn's PCA
    (``svd_solver='covariance_eigh'``, exact) when installed, else NumPy's ``eigh`` of the covariance.

    Returns:
        (components as columns, which implementation).
    """
    try:
        from sklearn.decomposition import PCA
    except ImportError:
        _, v = np.linalg.eigh(np.asarray(train, dtype=np.float64).T @ train / len(train))
        return v[:, ::-1][:, :k], "numpy"
    return PCA(k, svd_solver="covariance_eigh").fit(train).components_.T.astype(np.float64), "scikit-learn"


def fit_linear(model: LinearAutoencoder, train: np.ndarray, *, max_iter: int = 2000, history_size: int = 20,
               tol: float = 1e-12) -> dict:
    """Train the linear autoencoder to convergence: full-batch L-BFGS (strong-Wolfe line search) in float64
    on L = mean ||W_d W_e x - x||² over the centred rows ``train`` (N, d), computed on :func:`gram_rows`.

    NOTE: why not minibatch Adam: the 10th principal direction is learned at the rate of the eigengap
    λ10 - λ11 (0.22 against λ1 = 19.8 on Fashion-MNIST): minibatch Adam (batch 1000, cosine schedule, 30
    epochs, 7 minutes on the loaded machine) stopped at a largest principal angle of 0.20 rad. Full-batch
    L-BFGS in float64 reaches < 1e-3 rad; float32 stalls near 0.03 rad (the loss differences the line search
    needs fall below its rounding). The encoder starts as the decoder's transpose (balanced: W_e = W_dᵀ), which
    the gradient flow of this loss keeps balanced; from the default unbalanced start L-BFGS crawled.

    Returns:
        ``{"evaluations"`` (of the loss and gradient), ``"train_mse"``, ``"loss"`` (after each 50 iterations)``}``.
    """
    model.double()
    with no_grad():
        model.encoder[0].weight.copy_(model.decoder[0].weight.t())
    d = train.shape[1]
    r = tensor(gram_rows(train))
    opt = optim.LBFGS(model.parameters(), lr=1, max_iter=50, history_size=history_size,
                      line_search_fn="strong_wolfe", tolerance_grad=0.0, tolerance_change=0.0)

    evaluations = [0]

    def closure():
        evaluations[0] += 1
        opt.zero_grad()
        loss = F.mse_loss(model(r), r, reduction="sum") / d
        loss.backward()
        return loss

    losses = []
    for _ in range(max(1, max_iter // 50)):
        opt.step(closure)
        with no_grad():
            losses.append(float(F.mse_loss(model(r), r, reduction="sum").item() / d))
        if len(losses) > 1 and losses[-2] - losses[-1] <= tol * losses[-1]:
            break
    return {"evaluations": evaluations[0], "train_mse": losses[-1], "loss": losses}


def _fit_linear(model, config, data, out, *, seed=0, progress=True, test=True, resume=False):
    """linear-ae: centre, train to convergence, compare with PCA on the same data."""
    train, _, test_images = data
    d, k = train[0].size, config["latent"]
    x = train.reshape(len(train), d).astype(np.float64)
    mean = x.mean(0)
    x -= mean
    xt = test_images.reshape(len(test_images), d).astype(np.float64) - mean
    start = time.perf_counter()
    fitted = fit_linear(model, x, max_iter=config["max_iter"])
    train_seconds = time.perf_counter() - start
    if progress:
        print(f"L-BFGS: train mse {fitted['train_mse']:.6f} ({train_seconds:.1f} s)", flush=True)
    _save(model, out)
    components, source = pca_reference(x, k)
    angles = principal_angles(model.decoder_weight.detach().numpy(), components)
    with no_grad():
        recon = model(tensor(xt)).numpy()
    pca_recon = xt @ components @ components.T
    mse, pca_mse = float(np.mean((recon - xt) ** 2)), float(np.mean((pca_recon - xt) ** 2))
    result_test = {"mse": mse, "pca_mse": pca_mse, "mse_ratio": mse / pca_mse,
                   "max_principal_angle": float(angles.max()), "principal_angles": angles.tolist(),
                   "pca": source} if test else None
    side = _side(config)
    shown = [(a[:10] + mean).reshape(-1, side, side) for a in (xt, recon, pca_recon)]
    figures = [(_plot_angles(angles, out / "angles.png"), "principal angles between the decoder's span and PCA's"),
               (_plot_rows([("test image", shown[0]), ("linear AE", shown[1]), (f"PCA (k={k})", shown[2])],
                           out / "reconstructions.png", f"linear AE vs PCA, k = {k}"),
                "test images, the linear AE's and PCA's reconstructions"),
               (_plot_loss(fitted["loss"], out / "curves.png"), "L-BFGS training loss")]
    return {"epochs": None, "val": None, "test": result_test, "figures": figures, "train_seconds": train_seconds,
            "history": {"loss": fitted["loss"]}, "model": model}


# ---- pictures -------------------------------------------------------------------------------------------------

def _plot_rows(rows, path, title):
    from ..viz.plots import _figure, save_figure
    n = len(rows[0][1])
    fig = _figure(figsize=(1.1 * n + 1.2, 1.15 * len(rows) + 0.4))
    axes = fig.subplots(len(rows), n, squeeze=False)
    for r, (label, images) in enumerate(rows):
        for c in range(n):
            ax = axes[r][c]
            ax.imshow(np.asarray(images[c]).reshape(images[c].shape[-2:]), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r][0].set_ylabel(label, fontsize=8)
    fig.suptitle(title, fontsize=10)
    return str(save_figure(fig, path))


def _plot_features(w, path, title):
    from ..viz.plots import _figure, save_figure
    n = len(w)
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    fig = _figure(figsize=(cols * 0.75, rows * 0.75 + 0.4))
    axes = fig.subplots(rows, cols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i < n:
            lim = np.abs(w[i]).max() or 1.0
            ax.imshow(w[i], cmap="gray", vmin=-lim, vmax=lim)
    fig.suptitle(title, fontsize=10)
    return str(save_figure(fig, path))


def _plot_curves(history, path, title):
    from ..viz.plots import _figure, save_figure
    fig = _figure(figsize=(6, 3.5))
    ax = fig.add_subplot()
    ax.plot(history["epoch"], history["train_loss"], "o-", label="train loss")
    ax.plot(history["epoch"], history["val_mse"], "s-", label="validation MSE")
    ax.set_xlabel("epoch")
    ax.set_ylabel("per pixel")
    ax.set_yscale("log")
    ax.legend()
    ax.set_title(title)
    return str(save_figure(fig, path))


def _plot_loss(losses, path):
    from ..viz.plots import _figure, save_figure
    fig = _figure(figsize=(6, 3.5))
    ax = fig.add_subplot()
    ax.plot(np.arange(1, len(losses) + 1) * 50, losses)
    ax.set_xlabel("L-BFGS iterations (at most)")
    ax.set_ylabel("training MSE per pixel")
    ax.set_yscale("log")
    ax.set_title("linear AE: full-batch L-BFGS")
    return str(save_figure(fig, path))


def _plot_angles(angles, path):
    from ..viz.plots import _figure, save_figure
    fig = _figure(figsize=(6, 3.5))
    ax = fig.add_subplot()
    ax.bar(np.arange(1, len(angles) + 1), angles)
    ax.axhline(0.05, color="r", lw=0.8, label="0.05 rad")
    ax.set_xlabel("principal angle (largest first)")
    ax.set_ylabel("radians")
    ax.set_yscale("log")
    ax.legend()
    ax.set_title("decoder span vs PCA's top-k subspace")
    return str(save_figure(fig, path))


# ---- registration ---------------------------------------------------------------------------------------------

_DATASET_RULE = {"dataset": (lambda v, c: v in DATASETS, " or ".join(DATASETS)),
                 "train_size": (lambda v, c: v == 0 or v >= 10, "an integer >= 10, or 0 for all"),
                 "test_size": (lambda v, c: v == 0 or v >= 10, "an integer >= 10, or 0 for all")}
_LATENT = {"latent": (lambda v, c: 1 <= v < (64 if c["dataset"] == "digits" else 784),
                      "an integer >= 1 and below the pixels per image (k of PCA)")}

register(Recipe(
    name="ae",
    description="MLP autoencoder 784-256-32-256-784 (ReLU, sigmoid output), squared loss, on Fashion-MNIST",
    build_model=lambda c: Autoencoder(_mlp_config(c)),
    load_data=load_images,
    defaults=dict(_DATA, **_ADAM, epochs=10, hidden=[256], latent=32),
    constraints=_DATASET_RULE,
    fit=_fit_ae,
))

register(Recipe(
    name="linear-ae",
    description="linear autoencoder (k = 10) trained to convergence: its decoder spans PCA's subspace",
    build_model=lambda c: LinearAutoencoder(_side(c) ** 2, c["latent"]),
    load_data=load_images,
    defaults=dict(_DATA, latent=10, max_iter=1500),
    constraints={**_DATASET_RULE, **_LATENT,
                 "max_iter": (lambda v, c: v >= 50, "an integer >= 50 (L-BFGS iterations)")},
    fit=_fit_linear,
))

register(Recipe(
    name="dae",
    description="denoising autoencoder 784-256-64-256-784: corrupted input (gaussian or masking), clean target",
    build_model=_build_dae,
    load_data=load_images,
    defaults=dict(_DATA, **_ADAM, epochs=10, hidden=[256], latent=64, corruption="gaussian", noise_std=0.5,
                  mask_prob=0.5),
    constraints={**_DATASET_RULE,
                 "corruption": (lambda v, c: v in ("gaussian", "masking"), "gaussian or masking"),
                 "noise_std": (lambda v, c: v > 0, "a number > 0 (gaussian corruption's σ)"),
                 "mask_prob": (lambda v, c: 0 < v < 1, "a number in (0, 1) (the masked fraction)")},
    fit=_fit_dae,
))

register(Recipe(
    name="sae",
    description="sparse autoencoder 784-196-784 (KL penalty toward ρ = 0.05, or L1), its features as images",
    build_model=_build_sae,
    load_data=load_images,
    # NOTE: l1_weight measured on Fashion-MNIST (10 epochs; share of test codes > 0.1, test MSE): 0.01: 64%, 0.0058;
    # 0.03: 45%, 0.0068; 0.1: 22%, 0.0093 with many dead units (noise filters). The KL default: mean code 0.059.
    defaults=dict(_DATA, **_ADAM, epochs=10, hidden_units=196, sparsity="kl", rho=0.05, beta=3.0, l1_weight=1e-2),
    constraints={**_DATASET_RULE,
                 "sparsity": (lambda v, c: v in ("kl", "l1"), "kl or l1"),
                 "rho": (lambda v, c: 0 < v < 1, "a number in (0, 1)"),
                 "beta": (lambda v, c: v >= 0, "a number >= 0"),
                 "l1_weight": (lambda v, c: v >= 0, "a number >= 0")},
    fit=_fit_sae,
))

register(Recipe(
    name="conv-ae",
    description="deconvolutional network: stride-2 convolutions, transposed-convolution decoder, on Fashion-MNIST",
    build_model=_build_conv,
    load_data=load_images,
    defaults=dict(_DATA, **_ADAM, epochs=5, channels=[16, 32], latent=64),
    constraints={**_DATASET_RULE,
                 "channels": (lambda v, c: len(v) == 2, "a list of two integers >= 1, e.g. [16, 32]")},
    fit=_fit_conv,
))
