"""Recipe ``dcgan`` of :mod:`nnzoo.zoo.dcgan`: a DCGAN on Fashion-MNIST, scored by a Fréchet distance whose
features come from nnzoo's own Fashion-MNIST classifier.

Training (the paper's settings): the 60,000 training images scaled to [-1, 1], ``steps`` alternating steps of
D and G (:func:`~nnzoo.zoo.dcgan.dcgan_step`) on batches of 64, Adam(2e-4, betas (0.5, 0.999)), the
non-saturating generator loss with BCE-with-logits. The batches (a fresh permutation per pass) and the noise z
come from NumPy (:func:`batch_plan`, seeded by the run's seed), so a PyTorch twin can be fed the same ones
(``benchmarks/dcgan_parity.py``).

The Fréchet distance: the penultimate features (fc1's ReLU, 128-d) of a trained ``mc-dropout`` classifier in eval
mode, a Gaussian fitted to the 10,000 test images' (``fid_real`` > 0: the first that many) and one to
``fid_samples`` = 10,000 generated images' features, d² = ||μ_r - μ_g||² + Tr(Σ_r + Σ_g - 2 (Σ_r Σ_g)^{1/2}).
``classifier`` names the run folder of an ``mc-dropout`` run (``nnzoo train mc-dropout --out runs/mc-dropout``);
when empty, the recipe first trains one quickly (``classifier_epochs`` epochs, in ``OUT/classifier``) and says
so. This is not the Inception FID: its values are comparable only between runs scored with the same classifier.
``test.fid_real_train`` scores as many real training images the same way, the floor a perfect generator would reach.

A run writes ``result.json`` (``test.fid``), ``samples.npy`` (2,500 generator samples, float32 (2500, 1, 28,
28) in [-1, 1]), ``dcgan.safetensors`` (both players' weights), and the pictures: sample grids during training
(a fixed z), the final grid, the loss curves.

NOTE: measured with the defaults (seed 0, the classifier trained first: 1 epoch, test accuracy 0.839): Fréchet
distance 24.2 against a real-vs-real floor of 0.16; 257 s of CPU time in all (user + sys, one BLAS thread; the
wall time was 15 min on the 2-core machine shared by ~20 processes). Against PyTorch from the same weights,
batches and z (``benchmarks/dcgan_parity.py``, 2000 steps): 24.05 vs 24.22 (PyTorch's other seeds: 23.1, 20.4).
"""
from __future__ import annotations

import json
import pathlib
import time

import numpy as np

import nnzoo

from .. import optim
from ..autograd.grad_mode import no_grad
from ..random import manual_seed
from ..zoo.dcgan import DCGAN, dcgan_init_, dcgan_step, frechet_distance, gaussian_stats
from . import ConfigError, Recipe, register
from .mc_dropout import fashion_images

__all__ = ["DEFAULTS", "build_model", "load_data", "batch_plan", "features", "load_classifier", "fit",
           "image_grid"]

DEFAULTS = dict(steps=2000, batch_size=64, lr=2e-4, beta1=0.5, nz=64, ngf=32, ndf=32, classifier="",
                classifier_epochs=1, fid_samples=10000, fid_real=0, n_samples=2500, sample_every=500)


def _classifier_ok(value, config):
    return value == "" or (pathlib.Path(value) / "result.json").is_file()


CONSTRAINTS = {
    "classifier": (_classifier_ok, "the folder of an mc-dropout run (with result.json), or empty to train one "
                                   "first"),
    "lr": (lambda v, c: v > 0, "a finite number > 0"),
    "beta1": (lambda v, c: 0 <= v < 1, "a number in [0, 1)"),
    "fid_samples": (lambda v, c: v >= 2, "an integer >= 2 (generated images scored)"),
    "fid_real": (lambda v, c: v == 0 or 2 <= v <= 10000, "0 (all 10,000 test images) or an integer in [2, 10000]"),
    "n_samples": (lambda v, c: v >= 1, "an integer >= 1 (samples written to samples.npy)"),
    "sample_every": (lambda v, c: v >= 0, "an integer >= 0 (steps between sample grids; 0: none)"),
}


def build_model(config: dict) -> DCGAN:
    """The config's :class:`~nnzoo.zoo.dcgan.DCGAN` (both players, the paper's initialisation)."""
    return DCGAN(nz=config["nz"], ngf=config["ngf"], ndf=config["ndf"])


def load_data(config: dict) -> tuple:
    """(train images, None, test images): Fashion-MNIST as float32 (N, 1, 28, 28) arrays in [-1, 1]."""
    return fashion_images(True)[0], None, fashion_images(False)[0]


def batch_plan(n: int, steps: int, batch_size: int, nz: int, seed: int):
    """The batches and the noise of a run, from NumPy: yields ``(indices, z)`` for each step, ``indices`` a
    batch of a fresh permutation of range(n) per pass (the last incomplete batch of a pass dropped), ``z`` a
    float32 (batch_size, nz) standard normal draw. The same seed gives the same plan (the parity benchmark feeds
    it to both libraries)."""
    rng = np.random.default_rng(seed)
    per_pass = n // batch_size
    if per_pass < 1:
        raise ValueError(f"batch_plan: {n} images make no batch of {batch_size}")
    order, k = None, per_pass
    for _ in range(steps):
        if k == per_pass:
            order, k = rng.permutation(n), 0
        idx = order[k * batch_size:(k + 1) * batch_size]
        k += 1
        yield idx, rng.standard_normal((batch_size, nz)).astype(np.float32)


def features(classifier, x: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """The classifier's penultimate features (``classifier.features``, eval mode) of images ``x`` ((N, 1, 28,
    28) in [-1, 1]) as a float64 (N, d) array."""
    classifier.eval()
    out = []
    with no_grad():
        for i in range(0, len(x), batch_size):
            out.append(classifier.features(nnzoo.from_numpy(np.ascontiguousarray(x[i:i + batch_size]))).numpy())
    return np.concatenate(out).astype(np.float64)


def generate(G, n: int, nz: int, seed: int, batch_size: int = 500) -> np.ndarray:
    """``n`` images of the generator in eval mode (batch norm's running statistics) from z ~ N(0, I) drawn by
    NumPy (``seed``): float32 (n, C, 28, 28). The generator is put back in train mode."""
    rng = np.random.default_rng(seed)
    G.eval()
    out = []
    try:
        with no_grad():
            for i in range(0, n, batch_size):
                z = rng.standard_normal((min(batch_size, n - i), nz)).astype(np.float32)
                out.append(G(nnzoo.from_numpy(z)).numpy())
    finally:
        G.train()
    return np.concatenate(out)


def load_classifier(config: dict, out_dir: pathlib.Path, seed: int, progress: bool) -> tuple:
    """The feature extractor: the ``mc-dropout`` run the config names, or one trained now in
    ``out_dir/classifier``. Returns (model, info dict for result.json)."""
    from . import load_run, run_recipe
    if config["classifier"]:
        folder = pathlib.Path(config["classifier"])
        r, _, model = load_run(folder)
        if r.name != "mc-dropout":
            problem = f"{str(folder)!r} is a run of {r.name!r}; name an mc-dropout run"
            raise ConfigError(f"run_recipe('dcgan'): classifier {problem}", key="classifier", problem=problem)
        test = json.loads((folder / "result.json").read_text()).get("test") or {}
        return model, {"run": str(folder), "trained_here": False, "test_accuracy": test.get("accuracy")}
    folder = out_dir / "classifier"
    print(f"dcgan: no classifier run given (--set classifier=FOLDER); training one first "
          f"({config['classifier_epochs']} epoch(s) of mc-dropout) in {folder}")
    run = run_recipe("mc-dropout", out_dir=folder, overrides={"epochs": config["classifier_epochs"], "mc_samples": 10},
                     seed=seed, progress=progress)
    return run["model"], {"run": str(folder), "trained_here": True, "test_accuracy": run["test"]["accuracy"]}


def fit(model: DCGAN, config: dict, data, out_dir, *, seed: int = 0, progress: bool = True, test: bool = True,
        resume: bool = False) -> dict:
    """Train the DCGAN, write its samples and pictures, score it (the ``fit`` hook of the ``dcgan`` recipe)."""
    train_x, _, test_x = data
    out_dir = pathlib.Path(out_dir)
    classifier, classifier_info = load_classifier(config, out_dir, seed, progress) if test else (None, None)
    manual_seed(seed)
    dcgan_init_(model)
    G, D, nz = model.generator, model.discriminator, config["nz"]
    betas = (config["beta1"], 0.999)
    opt_g = optim.Adam(G.parameters(), lr=config["lr"], betas=betas)
    opt_d = optim.Adam(D.parameters(), lr=config["lr"], betas=betas)
    fixed_z = np.random.default_rng(seed + 7).standard_normal((64, nz)).astype(np.float32)
    history = {k: [] for k in ("loss_d", "loss_g", "d_real", "d_fake")}
    figures, every = [], config["sample_every"]
    start = time.perf_counter()
    for step, (idx, z) in enumerate(batch_plan(len(train_x), config["steps"], config["batch_size"], nz, seed), 1):
        real = nnzoo.from_numpy(train_x[np.sort(idx)])
        logs = dcgan_step(G, D, opt_g, opt_d, real, nnzoo.from_numpy(z))
        for k, v in logs.items():
            history[k].append(v)
        if progress and (step % 100 == 0 or step == config["steps"]):
            print(f"step {step}/{config['steps']}: loss_d {logs['loss_d']:.3f} loss_g {logs['loss_g']:.3f} "
                  f"D(x) {logs['d_real']:.2f} D(G(z)) {logs['d_fake']:.2f} ({time.perf_counter() - start:.0f}s)")
        if every and step % every == 0 and step != config["steps"]:
            path = _save_grid(_fixed_samples(G, fixed_z), out_dir / f"samples_step{step:05d}.png",
                              f"DCGAN samples after {step} steps")
            figures.append((str(path), f"samples (fixed z) after {step} steps"))
    train_seconds = time.perf_counter() - start
    figures.append((str(_save_grid(_fixed_samples(G, fixed_z), out_dir / "samples.png",
                                   f"DCGAN samples after {config['steps']} steps")),
                    f"samples (fixed z) after {config['steps']} steps"))
    figures.append((str(_plot_losses(history, out_dir / "losses.png")), "losses and D's outputs per step"))
    samples = generate(G, config["n_samples"], nz, seed + 1)
    np.save(out_dir / "samples.npy", samples)
    nnzoo.save(model.state_dict(), out_dir / "dcgan.safetensors")
    result_test = None
    if test:
        t0 = time.perf_counter()
        fake = generate(G, config["fid_samples"], nz, seed + 2)
        n_real = config["fid_real"] or len(test_x)
        real_stats = gaussian_stats(features(classifier, test_x[:n_real]))
        fid = frechet_distance(*real_stats, *gaussian_stats(features(classifier, fake)))
        floor_idx = np.random.default_rng(seed + 3).choice(len(train_x), size=min(n_real, len(train_x)),
                                                           replace=False)
        floor = frechet_distance(*real_stats, *gaussian_stats(features(classifier, train_x[np.sort(floor_idx)])))
        result_test = {"fid": fid, "fid_samples": config["fid_samples"], "fid_real": n_real,
                       "fid_real_train": floor, "fid_seconds": time.perf_counter() - t0}
    return {"epochs": None, "steps": config["steps"], "val": None, "test": result_test, "figures": figures,
            "train_seconds": train_seconds, "seconds_per_step": train_seconds / config["steps"],
            "classifier": classifier_info, "final": {k: v[-1] for k, v in history.items()},
            "history": history, "model": model}


# ---- pictures -------------------------------------------------------------------------------------------------

def image_grid(images: np.ndarray, nrow: int = 8, pad: int = 2) -> np.ndarray:
    """Images (N, 1, H, W) in [-1, 1] tiled into one (rows * (H + pad) + pad, nrow * (W + pad) + pad) array in
    [0, 1] (torchvision's ``make_grid`` layout, padding white)."""
    n, _, h, w = images.shape
    rows = -(-n // nrow)
    grid = np.ones((rows * (h + pad) + pad, nrow * (w + pad) + pad), dtype=np.float32)
    for i, img in enumerate(images):
        r, c = divmod(i, nrow)
        grid[pad + r * (h + pad):pad + r * (h + pad) + h, pad + c * (w + pad):pad + c * (w + pad) + w] = \
            (np.clip(img[0], -1, 1) + 1) / 2
    return grid


def _fixed_samples(G, z):
    G.eval()
    try:
        with no_grad():
            return G(nnzoo.from_numpy(z)).numpy()
    finally:
        G.train()


def _save_grid(images, path, title):
    from ..viz.plots import _figure, save_figure
    fig = _figure(figsize=(5, 5.3))
    ax = fig.add_subplot()
    ax.imshow(image_grid(images), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(title, fontsize=10)
    return save_figure(fig, path)


def _smooth(v, k=25):
    v = np.asarray(v, dtype=np.float64)
    if len(v) < k:
        return np.arange(1, len(v) + 1), v
    return np.arange(k, len(v) + 1), np.convolve(v, np.ones(k) / k, mode="valid")


def _plot_losses(history, path):
    from ..viz.plots import _figure, save_figure
    fig = _figure(figsize=(10, 3.8))
    ax = fig.add_subplot(1, 2, 1)
    for k, label in (("loss_d", "L_D (real + fake)"), ("loss_g", "L_G (non-saturating)")):
        ax.plot(*_smooth(history[k]), label=label)
    ax.set_xlabel("step")
    ax.set_ylabel("BCE (moving mean of 25 steps)")
    ax.legend()
    ax.set_title("DCGAN losses")
    ax = fig.add_subplot(1, 2, 2)
    ax.plot(*_smooth(history["d_real"]), label="σ(D(x)), real")
    ax.plot(*_smooth(history["d_fake"]), label="σ(D(G(z))), generated")
    ax.set_ylim(0, 1)
    ax.set_xlabel("step")
    ax.legend()
    ax.set_title("the discriminator's outputs")
    return save_figure(fig, path)


register(Recipe(
    name="dcgan",
    description="DCGAN (Radford et al. 2016) on Fashion-MNIST; Fréchet distance with nnzoo's own classifier's features",
    build_model=build_model,
    load_data=load_data,
    defaults=dict(DEFAULTS),
    constraints=CONSTRAINTS,
    fit=fit,
))
