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
Pictures: latent traversals (one tied unit swept per row), reconstructions, the score matrix, loss curves.
``scheme=vae`` trains the same network as a plain VAE on random batches: the baseline of the figure.

Both recipes run NumPy's BLAS with ``blas_threads`` threads (default 1: see :func:`blas_threads`).
"""
from __future__ import annotations

import contextlib
import math
import time

import numpy as np

import nnzoo

from ..zoo.dcign import DCIGN, DCIGNConfig, clamp_latents, dcign_loss
from ..zoo.vae import VAE, VAEConfig, iw_log_likelihood, kl_divergence, vae_loss
from . import ConfigError, Recipe, register

__all__ = ["blas_threads", "load_fashion", "fit_vae", "evaluate_vae", "load_shapes", "fit_dcign", "evaluate_dcign",
           "disentanglement", "VAE_DEFAULTS", "DCIGN_DEFAULTS"]

VAE_DEFAULTS = {"epochs": 10, "lr": 1e-3, "batch_size": 128, "optimizer": "adam", "hidden": 400, "latent": 20,
                "iw_k": 500, "iw_images": 1000, "train_limit": 0, "test_limit": 0, "blas_threads": 1}

VAE_CONSTRAINTS = {
    "optimizer": (lambda v, c: v == "adam", "adam (the official example's optimizer)"),
    "iw_images": (lambda v, c: v >= 0, "an integer >= 0 (0: no importance-weighted estimate)"),
    "train_limit": (lambda v, c: v >= 0, "an integer >= 0 (0: all 60,000 training images)"),
    "test_limit": (lambda v, c: v >= 0, "an integer >= 0 (0: all 10,000 test images)"),
    "blas_threads": (lambda v, c: v >= 0, "an integer >= 0 (0: leave NumPy's BLAS threads as they are)"),
}


@contextlib.contextmanager
def blas_threads(n: int):
    """NumPy's BLAS limited to ``n`` threads while the block runs (``n`` = 0, or no threadpoolctl: unchanged).

    NOTE: measured on the shared 2-core machine (load ~20): one training step of the 784-400-20 VAE (batch 128)
    took 9 ms of CPU with one BLAS thread and 105-133 ms with OpenBLAS's two (its workers spin while they wait
    for a core), 75 ms against 340-570 ms of wall time; these layers are too small for a second thread to pay.
    The recipes' ``blas_threads`` setting (default 1) chooses.
    """
    if not n:
        yield
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=n, user_api="blas"):
        yield


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
    with blas_threads(config["blas_threads"]):
        return _fit_vae(model, config, data, out_dir, seed=seed, progress=progress, test=test)


def _fit_vae(model, config, data, out_dir, *, seed, progress, test):
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


# ---- dcign ----------------------------------------------------------------------------------------------------

DCIGN_DEFAULTS = {"steps": 2000, "lr": 1e-3, "batch_size": 64, "optimizer": "adam", "size": 32,
                  "channels": (32, 32, 64), "hidden": 256, "shape_units": 2, "scheme": "dcign",
                  "clamp_weight": 10.0, "test_images": 2000, "log_every": 100, "blas_threads": 1}

DCIGN_CONSTRAINTS = {
    "optimizer": (lambda v, c: v == "adam", "adam"),
    "size": (lambda v, c: v >= 8 and v % 8 == 0, "a multiple of 8 (three stride-2 convolutions)"),
    "channels": (lambda v, c: len(v) == 3 and all(isinstance(k, int) and k >= 1 for k in v),
                 "three integers >= 1 (the encoder's convolutions)"),
    "scheme": (lambda v, c: v in ("dcign", "vae"),
               "dcign (one factor per batch, other latents clamped) or vae (random batches: the baseline)"),
    "clamp_weight": (lambda v, c: v >= 0, "a number >= 0 (the clamped units' pull toward the batch mean)"),
    "test_images": (lambda v, c: v >= 10, "an integer >= 10"),
    "blas_threads": VAE_CONSTRAINTS["blas_threads"],
}


# NOTE: clamp_weight scales the clamped units' pull toward the batch mean against the reconstruction gradient of a
# loss summed over 1,024 pixels (the paper's "difference from the mean" has no scale of its own). Measured at 2,000
# steps, seed 0, 2,000 test shapes (tied score / best other unit): weight 1: x 0.96/0.58, y 0.97/0.65, scale
# 0.76/0.67, mean margin 0.14, test BCE 49.4; weight 10: x 0.98/0.22, y 0.97/0.42, scale 0.79/0.70, mean margin
# 0.26, BCE 44.8; the plain VAE (scheme=vae): mean margin -0.22. Default 10.


def load_shapes(config: dict) -> tuple:
    """(None, None, test): the training batches are rendered as training goes (one factor varying in each);
    the test set is ``test_images`` shapes with independent factors, from a seed of its own (``split_seed``)."""
    from ..data.datasets.shapes import shapes
    images, factors = shapes(config["test_images"], size=config["size"],
                             seed=1_000_003 + config.get("split_seed", 0)).tensors
    return None, None, (images.numpy(), factors.numpy().astype(np.float64))


def build_dcign(config: dict) -> DCIGN:
    """The DC-IGN a config describes: ``shape_units`` latent units for the shape, one for each other factor."""
    return DCIGN(DCIGNConfig(config["size"], tuple(config["channels"]), config["hidden"],
                             (config["shape_units"], 1, 1, 1, 1)))


def _dcign_step(model, x, factor, config):
    """The loss of one batch: −ELBO, plus for the dcign scheme the clamp penalty of the units not tied to
    ``factor`` (see :func:`nnzoo.zoo.dcign.clamp_latents`). Returns (loss, −ELBO, penalty)."""
    mu, logvar = model.encode(x)
    z = model.reparameterize(mu, logvar)
    penalty = None
    if factor is not None:
        active = nnzoo.zeros(model.config.latent)
        active[model.factor_units(factor)] = 1.0
        z, penalty = clamp_latents(z, active)
    elbo = dcign_loss(model.decode_logits(z), x, mu, logvar)
    loss = elbo if penalty is None else elbo + config["clamp_weight"] * penalty
    return loss, elbo, penalty


def evaluate_dcign(model: DCIGN, images: np.ndarray, batch_size: int = 500) -> dict:
    """Per-image test figures: ``loss`` (−ELBO, one z per image), ``recon_bce`` (BCE of the reconstruction from
    z = μ), ``kl``; and the means μ (N, latent) for the disentanglement figure."""
    import nnzoo.nn.functional as F
    loss = bce = kl = 0.0
    mus = []
    with nnzoo.no_grad():
        for i in range(0, len(images), batch_size):
            x = nnzoo.from_numpy(images[i:i + batch_size])
            logits, mu, logvar = model(x)
            k = kl_divergence(mu, logvar).item()
            loss += dcign_loss(logits, x, mu, logvar).item()
            kl += k
            bce += F.binary_cross_entropy_with_logits(model.decode_logits(mu), x, reduction="sum").item()
            mus.append(mu.numpy())
    n = len(images)
    return {"loss": loss / n, "recon_bce": bce / n, "kl": kl / n}, np.concatenate(mus)


def _correlation_ratio(values, groups):
    """η = sqrt(between-group variance / total variance) of ``values`` grouped by ``groups``: how much of a
    unit's variation a categorical factor explains (|Pearson r| for two groups)."""
    total = values.var()
    if total == 0:
        return 0.0
    between = sum((groups == g).mean() * (values[groups == g].mean() - values.mean()) ** 2 for g in np.unique(groups))
    return float(math.sqrt(between / total))


def disentanglement(mu: np.ndarray, factors: np.ndarray, model: DCIGN) -> dict:
    """How well each factor's tied units follow it on test images whose factors all vary independently.

    For each factor and each latent unit (its mean μ_j(x)), a score in [0, 1]: |Pearson r| with a continuous
    factor, the correlation ratio η with the shape (categorical). The factor's tied score is the best of its own
    units; ``best_other`` is the best of every other unit. A unit tied by the training scheme should score high
    on its factor and the others low: ``margin`` = tied − best other > 0 means the tie holds (a plain VAE has
    no reason to put a factor in any given unit). ``mean_tied`` and ``mean_margin`` average the five factors.
    """
    from ..data.datasets.shapes import FACTORS
    out = {}
    for f, name in enumerate(FACTORS):
        if name == "shape":
            scores = [_correlation_ratio(mu[:, j], factors[:, f]) for j in range(mu.shape[1])]
        else:
            scores = [0.0 if mu[:, j].std() == 0 else abs(float(np.corrcoef(mu[:, j], factors[:, f])[0, 1]))
                      for j in range(mu.shape[1])]
        tied = model.factor_units(f)
        others = [j for j in range(mu.shape[1]) if j not in tied]
        best_tied = max(tied, key=lambda j: scores[j])
        best_other = max(others, key=lambda j: scores[j])
        out[name] = {"measure": "correlation ratio" if name == "shape" else "|pearson r|", "tied_units": tied,
                     "tied": scores[best_tied], "best_other_unit": best_other, "best_other": scores[best_other],
                     "margin": scores[best_tied] - scores[best_other], "scores": scores}
    out["mean_tied"] = float(np.mean([out[n]["tied"] for n in FACTORS]))
    out["mean_margin"] = float(np.mean([out[n]["margin"] for n in FACTORS]))
    out["factors_tied_best"] = int(sum(out[n]["margin"] > 0 for n in FACTORS))
    return out


def fit_dcign(model: DCIGN, config: dict, data, out_dir, *, seed: int = 0, progress: bool = True,
              test: bool = True, resume: bool = False) -> dict:
    """Train the DC-IGN for ``steps`` batches, each varying one factor drawn at random (the dcign scheme) or all
    of them (the vae baseline); then test, score the disentanglement and draw (the ``fit`` hook of ``dcign``)."""
    with blas_threads(config["blas_threads"]):
        return _fit_dcign(model, config, data, out_dir, seed=seed, progress=progress, test=test)


def _fit_dcign(model, config, data, out_dir, *, seed, progress, test):
    from ..data.datasets.shapes import FACTORS, one_factor_batch, render_shapes, sample_factors
    _, _, (test_images, test_factors) = data
    opt = nnzoo.optim.Adam(model.parameters(), lr=config["lr"])
    rng = np.random.default_rng(seed)
    bs, size, every = config["batch_size"], config["size"], config["log_every"]
    history = {"step": [], "train_loss": [], "clamp_penalty": [], "test_loss": []}
    run_loss = run_pen = 0.0
    t0 = time.perf_counter()
    for step in range(1, config["steps"] + 1):
        if config["scheme"] == "dcign":
            factor = int(rng.integers(len(FACTORS)))
            images, _ = one_factor_batch(factor, bs, rng, size)
        else:
            factor, images = None, render_shapes(sample_factors(bs, rng), size)
        x = nnzoo.from_numpy(images[:, None])
        loss, elbo, penalty = _dcign_step(model, x, factor, config)
        opt.zero_grad()
        loss.backward()
        opt.step()
        run_loss += elbo.item() / bs
        run_pen += penalty.item() / bs if penalty is not None else 0.0
        if step % every == 0 or step == config["steps"]:
            n = every if step % every == 0 else step % every
            history["step"].append(step)
            history["train_loss"].append(run_loss / n)
            history["clamp_penalty"].append(run_pen / n)
            history["test_loss"].append(evaluate_dcign(model, test_images[:500])[0]["loss"] if test else None)
            if progress:
                print(f"step {step}/{config['steps']}: train −ELBO {run_loss / n:.2f}, clamp penalty "
                      f"{run_pen / n:.3f} per image, test −ELBO {history['test_loss'][-1] or float('nan'):.2f} "
                      f"({time.perf_counter() - t0:.0f} s)")
            run_loss = run_pen = 0.0
    train_seconds = time.perf_counter() - t0
    scores, mu = evaluate_dcign(model, test_images)
    dis = disentanglement(mu, test_factors, model)
    from ..io import save
    save(model.state_dict(), out_dir / "best.safetensors")
    figures = [
        (str(_plot_traversals(model, test_images, mu, out_dir / "traversals.png")),
         "latent traversals: each row sweeps one tied unit (5th to 95th percentile of its μ on test images)"),
        (str(_plot_dcign_reconstructions(model, test_images, out_dir / "reconstructions.png")),
         "test shapes (top) and their reconstructions from μ(x) (bottom)"),
        (str(_plot_disentanglement(dis, out_dir / "disentanglement.png", config["scheme"])),
         "score of every latent unit against every factor (tied units boxed)"),
        (str(_plot_steps(history, out_dir / "loss.png")), "−ELBO per image during training, clamp penalty"),
    ]
    if progress:
        print("disentanglement (tied / best other): " + ", ".join(
            f"{n} {dis[n]['tied']:.2f}/{dis[n]['best_other']:.2f}" for n in FACTORS))
    return {"epochs": None, "steps": config["steps"], "val": None, "test": scores if test else None,
            "disentanglement": dis, "train_seconds": train_seconds, "figures": figures, "history": history,
            "model": model}


def _plot_traversals(model, images, mu, path, columns=9, base=0):
    from ..data.datasets.shapes import FACTORS
    lo, hi = np.percentile(mu, 5, axis=0), np.percentile(mu, 95, axis=0)
    rows, labels = [], []
    for f, name in enumerate(FACTORS):
        for j in model.factor_units(f):
            z = np.repeat(mu[base:base + 1], columns, axis=0)
            z[:, j] = np.linspace(lo[j], hi[j], columns)
            rows.append(np.concatenate([images[base].reshape(1, -1), _decode(model, z).reshape(columns, -1)]))
            labels.append(f"{name} (z{j})")
    side = model.config.size
    return _show(path, _tile(np.concatenate(rows), columns + 1, side),
                 "DC-IGN latent traversals (first column: the test image)", ylabels=labels, side=side)


def _plot_dcign_reconstructions(model, images, path, n=12):
    with nnzoo.no_grad():
        mu, _ = model.encode(nnzoo.from_numpy(images[:n]))
        recon = model.decode(mu).numpy()
    side = model.config.size
    return _show(path, _tile(np.concatenate([images[:n].reshape(n, -1), recon.reshape(n, -1)]), n, side),
                 "test shapes and reconstructions")


def _plot_disentanglement(dis, path, scheme):
    from matplotlib.patches import Rectangle

    from ..data.datasets.shapes import FACTORS
    from ..viz.plots import _figure, save_figure
    scores = np.array([dis[n]["scores"] for n in FACTORS])
    fig = _figure(figsize=(1.0 + 0.6 * scores.shape[1], 3.2))
    ax = fig.add_subplot()
    im = ax.imshow(scores, vmin=0, vmax=1, cmap="viridis")
    for f, n in enumerate(FACTORS):
        for j in range(scores.shape[1]):
            ax.text(j, f, f"{scores[f, j]:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if scores[f, j] < 0.6 else "black")
        for j in dis[n]["tied_units"]:
            ax.add_patch(Rectangle((j - 0.5, f - 0.5), 1, 1, fill=False, edgecolor="red", lw=2))
    ax.set_yticks(range(len(FACTORS)), FACTORS)
    ax.set_xticks(range(scores.shape[1]), [f"z{j}" for j in range(scores.shape[1])])
    ax.set_title(f"{scheme}: |r| (η for shape) of each unit's μ with each factor", fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.03)
    return save_figure(fig, path)


def _plot_steps(history, path):
    from ..viz.plots import _figure, save_figure
    fig = _figure(figsize=(6, 3.5))
    ax = fig.add_subplot()
    ax.plot(history["step"], history["train_loss"], label="train −ELBO")
    if history["test_loss"] and history["test_loss"][0] is not None:
        ax.plot(history["step"], history["test_loss"], label="test −ELBO (500 images)")
    ax.set_xlabel("step")
    ax.set_ylabel("nats per image")
    ax.set_yscale("log")
    if any(history["clamp_penalty"]):
        ax2 = ax.twinx()
        ax2.plot(history["step"], history["clamp_penalty"], color="tab:red", lw=0.8, label="clamp penalty")
        ax2.set_ylabel("clamp penalty per image", color="tab:red")
    ax.legend(loc="upper right")
    ax.set_title("DC-IGN on generated shapes", fontsize=10)
    return save_figure(fig, path)


register(Recipe(
    name="dcign",
    description="DC-IGN (Kulkarni et al. 2015): convolutional VAE with latents tied to factors on generated shapes",
    build_model=build_dcign,
    load_data=load_shapes,
    defaults=dict(DCIGN_DEFAULTS),
    constraints=DCIGN_CONSTRAINTS,
    fit=fit_dcign,
))
