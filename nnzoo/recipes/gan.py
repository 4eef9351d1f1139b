"""Recipes ``gan-ring``, ``gan-grid``, ``pacgan-ring``, ``pacgan-grid``: a GAN and PacGAN (packing degree 2) on
PacGAN's 2-D mixtures, a ring of 8 Gaussians (radius 1, σ 0.01) and a grid of 25 ({−4, −2, 0, 2, 4}², σ 0.05),
with the mode-collapse metrics of VEEGAN and PacGAN.

The four differ only in ``data`` and ``pack``: the packed recipe is the GAN with its discriminator fed
``pack`` samples at once, everything else equal, so ``--set pack=3`` or ``data=grid`` turns one into another::

    nnzoo train pacgan-ring --set steps=4000 g_hidden=400 d_hidden=200 --out runs/pacgan-ring

Real samples are drawn fresh each step from the mixture with a seeded NumPy generator (``seed``); the noise
with an ``nnzoo.Generator`` seeded ``seed + 1``; the initial weights with the run's seed.

A run writes ``samples.npy`` (2,500 generator samples, float32 (2500, 2)), ``gan.pt`` (the state_dict of G and
D), ``result.json`` (``test``: ``modes`` captured, ``high_quality`` share, ``reverse_kl``, the ``counts`` per
mode; ``trajectory``: the same at each snapshot) and the pictures: the samples over the true modes, the
training curves (losses, D's outputs, modes captured), and a strip of snapshots during training.
"""
from __future__ import annotations

import time

import numpy as np

from .. import optim
from ..zoo.gan import GAN, GANConfig, grid_modes, mode_metrics, ring_modes, sample_mixture, train_gan
from . import Recipe, register

__all__ = ["build_model", "load_mixture", "fit", "lr_factor", "DEFAULTS"]

MIXTURES = {"ring": (ring_modes, 0.01), "grid": (grid_modes, 0.05)}

# NOTE: PacGAN's code trains 400 epochs of 1,000 steps (batch 100, Adam lr 1e-4, β1 0.8, G 4x400, D 3x200
# maxout-5): 400,000 steps. One nnzoo step of that model costs 45 ms of CPU (measured), 11 ms at half the widths,
# and the shared 2-core machine gave each process a fraction of a core, so the defaults are the setting that
# benchmarks/gan_modes.py verifies: half widths (G 4x200, D 3x100 maxout-5), lr 3e-4, β1 0.5, 20,000 steps
# (~220 s of CPU), the rate constant for the first half and then linearly to 0 (``decay_from`` 0.5; see
# :func:`lr_factor`). PacGAN's sizes: --set g_hidden=400 d_hidden=200 (4x the compute).
DEFAULTS = {"data": "ring", "pack": 1, "steps": 20000, "batch_size": 100, "optimizer": "adam", "lr": 3e-4,
            "beta1": 0.5, "beta2": 0.999, "decay_from": 0.5, "g_loss": "nonsaturating", "d_steps": 1, "z_dim": 2,
            "g_hidden": 200, "g_layers": 4, "batch_norm": True, "d_hidden": 100, "d_layers": 3, "pieces": 5,
            "init_std": 0.02, "n_samples": 2500, "min_count": 1, "snapshots": 6, "log_every": 50}

CONSTRAINTS = {
    "data": (lambda v, c: v in MIXTURES, "ring or grid"),
    "optimizer": (lambda v, c: v == "adam", "adam (the GAN recipes train with Adam)"),
    "g_loss": (lambda v, c: v in ("nonsaturating", "minimax"), "nonsaturating or minimax"),
    "beta1": (lambda v, c: 0 <= v < 1, "a number in [0, 1)"),
    "beta2": (lambda v, c: 0 <= v < 1, "a number in [0, 1)"),
    "decay_from": (lambda v, c: 0 <= v <= 1, "a fraction of the steps in [0, 1] (1: a constant rate)"),
    "init_std": (lambda v, c: v > 0, "a number > 0"),
    "snapshots": (lambda v, c: 1 <= v <= c["steps"], "an integer in [1, steps]"),
    "min_count": (lambda v, c: v >= 1, "an integer >= 1"),
}


def build_model(config: dict) -> GAN:
    """The :class:`~nnzoo.zoo.gan.GAN` (generator and packed discriminator) the config describes."""
    return GAN(GANConfig(z_dim=config["z_dim"], g_hidden=config["g_hidden"], g_layers=config["g_layers"],
                         batch_norm=config["batch_norm"], d_hidden=config["d_hidden"], d_layers=config["d_layers"],
                         pieces=config["pieces"], pack=config["pack"], init_std=config["init_std"]))


def load_mixture(config: dict) -> tuple[np.ndarray, float]:
    """The mixture's (modes (K, 2), σ): the ring of 8 (radius 1, σ 0.01) or the grid of 25 (σ 0.05).

    NOTE: ``nnzoo.data.datasets.gaussian_ring`` is a fixed data set split evenly over the modes (Unrolled GAN's
    radius 2, σ 0.02); the GAN recipes draw a fresh batch each step instead, as PacGAN's stream does."""
    make, sigma = MIXTURES[config["data"]]
    return make(), sigma


def lr_factor(steps: int, decay_from: float):
    """The learning-rate factor of update k (0-based) for ``LambdaLR``: 1 until ``decay_from · steps``, then
    linearly to 0 at ``steps`` (1 throughout when ``decay_from`` is 1).

    NOTE: Adam's constant-rate jitter limits how close G's samples sit to the modes (PacGAN's "high quality":
    within 3σ = 0.03 of a mode on the ring): with a linear decay over the second half of 20,000 steps
    (benchmarks/gan_modes.py --decay-from 0.5) PacGAN2 on the ring measured 97.2% and 94.2% high-quality samples
    on seeds 0 and 1 against 93.3% and 74.9% at a constant rate, all 8 modes either way (benchmarks/README.md)."""
    def factor(k: int) -> float:
        return 1.0 if k < decay_from * steps else (steps - k) / ((1.0 - decay_from) * steps)
    return factor


def fit(model: GAN, config: dict, data, out_dir, *, seed: int = 0, progress: bool = True, test: bool = True,
        resume: bool = False) -> dict:
    """Train with :func:`~nnzoo.zoo.gan.train_gan`, then sample, measure and draw (the ``fit`` hook)."""
    import nnzoo
    modes, sigma = data
    rng = np.random.default_rng(seed)
    noise_gen = nnzoo.Generator().manual_seed(seed + 1)
    eval_z = nnzoo.Generator().manual_seed(seed + 2)
    betas = (config["beta1"], config["beta2"])
    opt_g = optim.Adam(model.generator.parameters(), lr=config["lr"], betas=betas)
    opt_d = optim.Adam(model.discriminator.parameters(), lr=config["lr"], betas=betas)
    steps = config["steps"]
    schedulers = [optim.lr_scheduler.LambdaLR(opt, lr_factor(steps, config["decay_from"]))
                  for opt in (opt_g, opt_d)] if config["decay_from"] < 1 else []
    marks = {round(steps * (i + 1) / config["snapshots"]) for i in range(config["snapshots"])}
    snapshots, trajectory = [], []
    t0 = time.perf_counter()

    def on_step(step, history):
        for s in schedulers:      # the rate of update step + 1
            s.step()
        if step in marks:
            x = model.sample(config["n_samples"], generator=eval_z.manual_seed(seed + 2)).numpy()
            m = mode_metrics(x, modes, sigma, config["min_count"])
            snapshots.append((step, x))
            trajectory.append({"step": step, **{k: m[k] for k in ("modes", "high_quality", "reverse_kl")}})
            if progress:
                print(f"step {step}/{steps}: {m['modes']}/{len(modes)} modes, high quality {m['high_quality']:.3f}, "
                      f"reverse KL {m['reverse_kl']:.3f} ({time.perf_counter() - t0:.0f} s)", flush=True)

    history = train_gan(
        model.generator, model.discriminator,
        lambda n: nnzoo.from_numpy(sample_mixture(modes, sigma, n, rng)),
        lambda n: nnzoo.randn(n, config["z_dim"], generator=noise_gen),
        steps=steps, batch_size=config["batch_size"], opt_g=opt_g, opt_d=opt_d, pack=config["pack"],
        g_loss=config["g_loss"], d_steps=config["d_steps"], callback=on_step, log_every=config["log_every"])
    train_seconds = time.perf_counter() - t0
    samples = snapshots[-1][1]
    np.save(out_dir / "samples.npy", samples)
    nnzoo.save(model.state_dict(), out_dir / "gan.pt")
    metrics = mode_metrics(samples, modes, sigma, config["min_count"])
    title = f"{'PacGAN' + str(config['pack']) if config['pack'] > 1 else 'GAN'} on the {config['data']}"
    figures = [
        (str(_plot_samples(samples, modes, sigma, metrics, out_dir / "samples.png", title)),
         f"{len(samples)} generator samples (black) over the modes and their 3σ circles (red)"),
        (str(_plot_curves(history, trajectory, len(modes), out_dir / "curves.png", title)),
         "training curves: losses, D's mean output on real and generated packs, modes captured"),
        (str(_plot_strip(snapshots, modes, sigma, out_dir / "snapshots.png", title)),
         "generator samples during training"),
    ]
    return {"epochs": None, "val": None, "test": metrics, "figures": figures, "steps": steps,
            "train_seconds": train_seconds, "ms_per_step": 1000 * train_seconds / steps,
            "trajectory": trajectory, "history": history, "model": model}


# ---- pictures -------------------------------------------------------------------------------------------------

def _limits(modes, sigma):
    r = np.abs(modes).max() + max(10 * sigma, 0.5)
    return -r, r


def _draw(ax, x, modes, sigma, size=2):
    import matplotlib.patches as mpatches
    lo, hi = _limits(modes, sigma)
    ax.scatter(x[:, 0], x[:, 1], s=size, c="k", alpha=0.3, linewidths=0)
    for m in modes:
        ax.add_patch(mpatches.Circle(m, 3 * sigma, fill=False, color="tab:red", lw=0.8))
    ax.scatter(modes[:, 0], modes[:, 1], s=6, c="tab:red", marker="x", linewidths=0.8)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal")


def _plot_samples(x, modes, sigma, metrics, path, title):
    from ..viz.plots import _figure, save_figure
    fig = _figure(figsize=(5, 5))
    ax = fig.add_subplot()
    _draw(ax, x, modes, sigma)
    ax.set_title(f"{title}: {metrics['modes']}/{len(modes)} modes, {100 * metrics['high_quality']:.1f}% high "
                 f"quality, rev. KL {metrics['reverse_kl']:.2f}", fontsize=8)
    return save_figure(fig, path)


def _plot_curves(history, trajectory, k, path, title):
    from ..viz.plots import _figure, save_figure
    fig = _figure(figsize=(12, 3.5))
    a, b, c = fig.subplots(1, 3)
    a.plot(history["step"], history["d_loss"], label="D loss")
    a.plot(history["step"], history["g_loss"], label="G loss")
    a.axhline(2 * np.log(2), color="gray", lw=0.5, ls="--")
    a.set_xlabel("step")
    a.legend()
    a.set_title(f"{title}: losses", fontsize=9)
    b.plot(history["step"], history["d_real"], label="D(real)")
    b.plot(history["step"], history["d_fake"], label="D(G(z))")
    b.axhline(0.5, color="gray", lw=0.5, ls="--")
    b.set_xlabel("step")
    b.legend()
    b.set_title("discriminator's mean output", fontsize=9)
    steps = [t["step"] for t in trajectory]
    c.plot(steps, [t["modes"] for t in trajectory], "o-", label="modes captured")
    c.set_ylim(0, k + 0.5)
    c.set_xlabel("step")
    c2 = c.twinx()
    c2.plot(steps, [100 * t["high_quality"] for t in trajectory], "s--", color="tab:orange", label="% high quality")
    c2.set_ylim(0, 100)
    c.set_title("modes (o) and % high-quality samples (s)", fontsize=9)
    return save_figure(fig, path)


def _plot_strip(snapshots, modes, sigma, path, title):
    from ..viz.plots import _figure, save_figure
    fig = _figure(figsize=(2.2 * len(snapshots), 2.4))
    axes = fig.subplots(1, len(snapshots), squeeze=False)[0]
    for ax, (step, x) in zip(axes, snapshots):
        _draw(ax, x, modes, sigma, size=1)
        ax.set_title(f"step {step}", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title, fontsize=9)
    return save_figure(fig, path)


for _name, _data, _pack, _what in (("gan-ring", "ring", 1, "GAN"), ("gan-grid", "grid", 1, "GAN"),
                                   ("pacgan-ring", "ring", 2, "PacGAN2"), ("pacgan-grid", "grid", 2, "PacGAN2")):
    register(Recipe(
        name=_name,
        description=f"{_what} on the 2-D {'ring of 8' if _data == 'ring' else 'grid of 25'} Gaussians "
                    "(PacGAN's setting): modes captured, high-quality share, reverse KL",
        build_model=build_model,
        load_data=load_mixture,
        defaults={**DEFAULTS, "data": _data, "pack": _pack},
        constraints=CONSTRAINTS,
        fit=fit,
    ))
