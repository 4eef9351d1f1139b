"""Recipe ``capsnet`` of :mod:`nnzoo.zoo.capsnet`: the capsule network with dynamic routing on Fashion-MNIST.

The loss (margin loss + 0.0005 x the decoder's sum of squared errors, the decoder masked by the true class)
needs the labels inside the model, so the recipe trains by its own ``fit`` loop rather than the Trainer: Adam
at ``lr`` with the learning rate multiplied by ``lr_decay`` after every epoch (the paper's TensorFlow code
decays it exponentially), batches of ``batch_size``, images in [0, 1] (the decoder's sigmoid range).
``augment``: ``none`` (the default), ``shift2`` (the paper's augmentation: each training image shifted by up to 2
pixels in each direction, zero-filled; the decoder then reconstructs the shifted image) or ``shift2+flip`` (also
mirrored left-right with probability 1/2). ``val_size`` training images are held out (``split_seed``); after
each epoch their accuracy is measured and the epoch of best validation accuracy is kept. ``train_size`` /
``test_size`` > 0 keep that many images (quick runs). ``max_minutes`` > 0 stops training at the first batch past
that wall time (what the run did is in ``result.json``: ``steps``, ``images_seen``, ``stopped_by_time``,
``train_seconds`` and ``train_cpu_seconds``: wall and process CPU time of training and validation).

``result.json``'s ``test``: ``accuracy``, ``margin_loss``, ``reconstruction_sse`` (per image, the decoder reading
the longest capsule as at test time), ``error_rate``. Files: ``best.safetensors`` (the kept weights),
``history.json`` and the pictures: the history, test images with their reconstructions, and for
``perturb_images`` test images the paper's Figure 4 (each of the winning capsule's dimensions nudged by -0.25
to 0.25 in steps of 0.05, decoded).

NOTE: the paper's widths (256-channel conv1; 32 primary capsule types of 8-D from a 256 -> 256 9x9 stride-2
conv; 8.2 M parameters) cost about 203 M multiply-adds per image, too slow for two shared CPU cores. The
defaults are narrower: a 32-channel conv1 and 8 primary capsule types of 8-D (a 32 -> 64 conv; 288 primary
capsules), 16-D digit capsules and the paper's decoder: 1.95 M parameters (1.41 M of them the decoder's),
9.1 M multiply-adds per image (the 64/16 widths, 29 M, took 5.3 ms per training image with one BLAS thread
on an idle core, and 3.5x as long as these widths under equal load; these took 10 ms per image while the
machine ran nine busy processes). Two epochs at the defaults; ``max_minutes`` keeps a run on a loaded
machine under ten minutes. Measured at these widths (``benchmarks/capsnet.py``, seed 0, one BLAS thread, load
average 8-14): validation accuracy 0.843, 0.869, 0.882, 0.894, 0.895 after epochs 1-5 (so about 0.87 at the
defaults' two epochs), test accuracy 0.887 after 5 epochs (53 minutes): short of the published 90-94% of
the full-width CapsNet trained for many more epochs.

NOTE: ``augment`` defaults to ``none`` because the shifts slowed learning in every epoch measured: with
``epochs=11 lr_decay=0.8`` (seed 0, the two runs side by side), validation accuracy after epochs 1-5 was 0.807,
0.849, 0.857, 0.868, 0.878 with ``shift2`` against 0.841, 0.870, 0.880, 0.893, 0.896 without (the ``shift2`` run
ended after epoch 5, so whether it overtakes later was not measured). The paper trained for far longer, where a
regulariser pays. That run without augmentation (``--set epochs=11 lr_decay=0.8 max_minutes=0``, seed 0, one
BLAS thread) reached validation 0.908-0.912 from epoch 7 and test accuracy 0.9028 at its best epoch (9), in
21.3 CPU minutes (55 minutes of wall time on the loaded machine).
"""
from __future__ import annotations

import copy
import functools
import json
import math
import time

import numpy as np

import nnzoo

from ..zoo.capsnet import CapsNet, margin_loss, perturb_dimensions
from . import Recipe, register

__all__ = ["DEFAULTS", "load_data", "build_model", "evaluate", "fit", "augment_batch", "CLASSES"]

CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

DEFAULTS = dict(epochs=2, lr=1e-3, lr_decay=0.9, batch_size=64, conv_channels=32, primary_types=8, primary_dim=8,
                out_dim=16, routing_iterations=3, decoder_hidden=(512, 1024), recon_weight=0.0005,
                val_size=5000, train_size=0, test_size=0, split_seed=0, max_minutes=6.0, perturb_images=3,
                eval_batch=500, augment="none")

AUGMENTATIONS = ("none", "shift2", "shift2+flip")

CONSTRAINTS = {
    "lr": (lambda v, c: v > 0, "a number > 0"),
    "lr_decay": (lambda v, c: 0 < v <= 1, "a number in (0, 1] (the learning rate's factor per epoch)"),
    "routing_iterations": (lambda v, c: v >= 1, "an integer >= 1 (the paper uses 3)"),
    "decoder_hidden": (lambda v, c: len(v) == 2 and all(int(h) >= 1 for h in v),
                       "two integers >= 1 (the decoder's hidden widths), e.g. [512, 1024]"),
    "recon_weight": (lambda v, c: v >= 0, "a number >= 0 (0: no reconstruction loss)"),
    "val_size": (lambda v, c: 1 <= v <= 30000, "an integer in [1, 30000] (training images held out)"),
    "train_size": (lambda v, c: v >= 0, "an integer >= 0 (0: all the training images left)"),
    "test_size": (lambda v, c: 0 <= v <= 10000, "an integer in [0, 10000] (0: the whole test set)"),
    "max_minutes": (lambda v, c: v >= 0, "a number >= 0 (0: no time limit)"),
    "perturb_images": (lambda v, c: 0 <= v <= 10, "an integer in [0, 10]"),
    "augment": (lambda v, c: v in AUGMENTATIONS, " or ".join(AUGMENTATIONS)),
}


@functools.lru_cache(maxsize=2)
def _fashion(train: bool):
    from ..data.datasets import FashionMNIST, fashion_mnist_root
    ds = FashionMNIST(fashion_mnist_root(), train=train)
    x = ds.data.numpy().astype(np.float32)[:, None] / 255.0                 # (N, 1, 28, 28) in [0, 1]
    return x, ds.targets.numpy().astype(np.int64)


def load_data(config: dict) -> tuple:
    """((x, y) train, (x, y) val, (x, y) test) NumPy arrays: images float32 (N, 1, 28, 28) in [0, 1], labels int64;
    ``val_size`` training images held out at random (``split_seed``), ``train_size`` / ``test_size`` > 0 keep the
    first that many of the rest and of the test set."""
    x, y = _fashion(True)
    order = np.random.default_rng(config["split_seed"]).permutation(len(x))
    val_idx, train_idx = order[:config["val_size"]], order[config["val_size"]:]
    if config["train_size"]:
        train_idx = train_idx[:config["train_size"]]
    xt, yt = _fashion(False)
    n_test = config["test_size"] or len(xt)
    return (x[train_idx], y[train_idx]), (x[val_idx], y[val_idx]), (xt[:n_test], yt[:n_test])


def build_model(config: dict) -> CapsNet:
    """The config's :class:`~nnzoo.zoo.capsnet.CapsNet`."""
    return CapsNet(conv_channels=config["conv_channels"], primary_types=config["primary_types"],
                   primary_dim=config["primary_dim"], out_dim=config["out_dim"],
                   routing_iterations=config["routing_iterations"],
                   decoder_hidden=tuple(int(h) for h in config["decoder_hidden"]),
                   recon_weight=config["recon_weight"])


def evaluate(model: CapsNet, x: np.ndarray, y: np.ndarray, batch: int = 500) -> dict:
    """Accuracy (the longest capsule), margin loss and the test-time reconstruction's sum of squared errors per
    image (the decoder reading the longest capsule) on ``(x, y)``, without gradients.

    Returns:
        ``{"accuracy", "error_rate", "margin_loss", "reconstruction_sse"}`` and ``"predictions"`` ((N,) ints).
    """
    model.eval()
    preds, margin, sse = [], 0.0, 0.0
    with nnzoo.no_grad():
        for i in range(0, len(x), batch):
            xb, yb = nnzoo.from_numpy(x[i:i + batch]), nnzoo.from_numpy(y[i:i + batch])
            lengths, _, recon = model(xb)
            n = len(yb)
            margin += margin_loss(lengths, yb, model.config.m_plus, model.config.m_minus, model.config.lam).item() * n
            sse += ((recon - xb.flatten(1)) ** 2).sum().item()
            preds.append(lengths.argmax(dim=1).numpy())
    preds = np.concatenate(preds)
    acc = float(np.mean(preds == y))
    return {"accuracy": acc, "error_rate": 1.0 - acc, "margin_loss": margin / len(x),
            "reconstruction_sse": sse / len(x), "predictions": preds}


def augment_batch(x: np.ndarray, rng: np.random.Generator, augment: str, shift: int = 2) -> np.ndarray:
    """A new batch of images (N, C, H, W): each shifted by whole pixels drawn uniformly from [-shift, shift] in each
    direction with zeros shifted in (``shift2``), and for ``shift2+flip`` also mirrored left-right with probability
    1/2 (the flip first). ``none`` returns ``x`` itself."""
    if augment == "none":
        return x
    n, _, h, w = x.shape
    if augment.endswith("+flip"):
        flip = rng.random(n) < 0.5
        x = np.where(flip[:, None, None, None], x[..., ::-1], x)
    padded = np.pad(x, ((0, 0), (0, 0), (shift, shift), (shift, shift)))
    dy, dx = rng.integers(-shift, shift + 1, size=(2, n))
    rows = (shift - dy)[:, None] + np.arange(h)                                # (N, H) rows of the padded image
    cols = (shift - dx)[:, None] + np.arange(w)
    return np.ascontiguousarray(padded[np.arange(n)[:, None, None, None], np.arange(x.shape[1])[None, :, None, None],
                                       rows[:, None, :, None], cols[:, None, None, :]])


def fit(model: CapsNet, config: dict, data, out_dir, *, seed: int = 0, progress: bool = True, test: bool = True,
        resume: bool = False) -> dict:
    """Train with Adam and per-epoch learning-rate decay, keep the best validation epoch, test, draw (the ``fit``
    hook of the capsnet recipe)."""
    (x, y), (xv, yv), (xt, yt) = data
    rng, aug_rng = np.random.default_rng(seed), np.random.default_rng([seed, 1])
    opt = nnzoo.optim.Adam(model.parameters(), lr=config["lr"])
    sched = nnzoo.optim.lr_scheduler.ExponentialLR(opt, gamma=config["lr_decay"])
    bs, limit = config["batch_size"], config["max_minutes"] * 60.0
    history = {k: [] for k in ("epoch", "train_loss", "train_margin_loss", "train_accuracy", "val_margin_loss",
                               "val_accuracy", "lr", "time")}
    best, best_state, steps, seen, stopped = -1.0, None, 0, 0, False
    start, cpu_start = time.perf_counter(), time.process_time()
    for epoch in range(config["epochs"]):
        model.train()
        t0, lr = time.perf_counter(), opt.param_groups[0]["lr"]
        order = rng.permutation(len(x))
        total = margin_sum = correct = count = 0.0
        for i in range(0, len(x), bs):
            idx = order[i:i + bs]
            xb = nnzoo.from_numpy(augment_batch(x[idx], aug_rng, config["augment"]))
            yb = nnzoo.from_numpy(y[idx])
            loss, margin, lengths = model.loss(xb, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            n = len(idx)
            steps, seen, count = steps + 1, seen + n, count + n
            total += loss.item() * n
            margin_sum += margin.item() * n
            correct += float((lengths.argmax(dim=1).numpy() == y[idx]).sum())
            if not math.isfinite(total):
                raise FloatingPointError(f"capsnet: the loss became {total} at epoch {epoch + 1}, step {steps}; "
                                         "lower lr")
            if progress and steps % 100 == 0:
                print(f"epoch {epoch + 1} step {steps}: loss {total / count:.4f}, accuracy {correct / count:.4f}, "
                      f"{(time.perf_counter() - t0) / count * 1e3:.1f} ms/image", flush=True)
            if limit and time.perf_counter() - start > limit:
                stopped = True
                break
        sched.step()
        val = evaluate(model, xv, yv, config["eval_batch"])
        for k, v in (("epoch", epoch + 1), ("train_loss", total / count), ("train_margin_loss", margin_sum / count),
                     ("train_accuracy", correct / count), ("val_margin_loss", val["margin_loss"]),
                     ("val_accuracy", val["accuracy"]), ("lr", lr), ("time", time.perf_counter() - t0)):
            history[k].append(v)
        if progress:
            print(f"epoch {epoch + 1}: train loss {total / count:.4f}, val accuracy {val['accuracy']:.4f} "
                  f"({time.perf_counter() - t0:.0f} s)", flush=True)
        if val["accuracy"] > best:
            best, best_state, best_val = val["accuracy"], copy.deepcopy(model.state_dict()), val
        if stopped:
            break
    train_seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    model.load_state_dict(best_state)
    model.eval()
    nnzoo.save(model.state_dict(), out_dir / "best.safetensors")
    (out_dir / "history.json").write_text(json.dumps(history, indent=1))
    val = best_val
    tested = evaluate(model, xt, yt, config["eval_batch"]) if test else None
    shown, labels = (xt, yt) if tested is not None else (xv, yv)
    figures = [(str(_plot_reconstructions(model, shown, out_dir / "reconstructions.png")),
                f"{'test' if tested is not None else 'validation'} images (top) and the decoder's reconstructions "
                "from the longest capsule (bottom, with the predicted class)")]
    for k in range(config["perturb_images"]):
        hits = np.flatnonzero(labels == k)
        if not len(hits):
            continue
        path = _plot_dimensions(model, shown[hits[0]:hits[0] + 1], out_dir / f"dimensions_{k}.png", CLASSES[k])
        figures.append((str(path), f"capsule dimensions of a {CLASSES[k]}: each row nudges one dimension of the "
                                   "winning capsule from -0.25 to 0.25 in steps of 0.05 (the paper's Figure 4)"))
    figures.append((str(_plot_history(history, out_dir / "history.png")), "training history"))
    strip = lambda d: {k: v for k, v in d.items() if k != "predictions"}  # noqa: E731
    return {"epochs": len(history["epoch"]), "best_epoch": int(np.argmax(history["val_accuracy"])) + 1,
            "val": strip(val), "test": strip(tested) if tested is not None else None, "figures": figures,
            "steps": steps, "images_seen": seen, "stopped_by_time": stopped, "train_seconds": train_seconds,
            "train_cpu_seconds": cpu_seconds,
            "ms_per_image": train_seconds / max(seen, 1) * 1e3,
            "parameters": sum(p.numel() for p in model.parameters()),
            "history": history, "model": model}


# ---- pictures -------------------------------------------------------------------------------------------------

def _plot_history(history, path):
    from ..viz.plots import _figure, save_figure
    fig = _figure(figsize=(9, 3.4))
    ax = fig.add_subplot(1, 2, 1)
    ax.plot(history["epoch"], history["train_loss"], marker="o", label="train (margin + reconstruction)")
    ax.plot(history["epoch"], history["train_margin_loss"], marker="o", label="train margin")
    ax.plot(history["epoch"], history["val_margin_loss"], marker="o", label="val margin")
    ax.set_xlabel("epoch")
    ax.set_title("loss")
    ax.legend(fontsize=8)
    ax = fig.add_subplot(1, 2, 2)
    ax.plot(history["epoch"], history["train_accuracy"], marker="o", label="train")
    ax.plot(history["epoch"], history["val_accuracy"], marker="o", label="val")
    ax.set_xlabel("epoch")
    ax.set_title("accuracy")
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def _plot_reconstructions(model, x, path, n=10):
    from ..viz.plots import _figure, save_figure
    with nnzoo.no_grad():
        lengths, _, recon = model(nnzoo.from_numpy(x[:n]))
    recon, pred = recon.numpy().reshape(-1, 28, 28), lengths.argmax(dim=1).numpy()
    fig = _figure(figsize=(1.2 * n, 2.8))
    for i in range(min(n, len(x))):
        for row, img in ((0, x[i, 0]), (1, recon[i])):
            ax = fig.add_subplot(2, n, row * n + i + 1)
            ax.imshow(img, cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 1:
                ax.set_xlabel(CLASSES[pred[i]], fontsize=7)
    return save_figure(fig, path)


def _plot_dimensions(model, x, path, label):
    from ..viz.plots import _figure, save_figure
    steps = tuple(round(0.05 * k, 2) for k in range(-5, 6))
    grid = perturb_dimensions(model, nnzoo.from_numpy(x), steps).numpy()        # (D, S, 784)
    D, S = grid.shape[:2]
    tiles = grid.reshape(D, S, 28, 28).transpose(0, 2, 1, 3).reshape(D * 28, S * 28)
    fig = _figure(figsize=(0.5 * S + 1.2, 0.5 * D + 0.6))
    ax = fig.add_subplot()
    ax.imshow(tiles, cmap="gray", vmin=0, vmax=1)
    ax.set_xticks([28 * s + 14 for s in range(S)], [f"{v:+.2f}" for v in steps], fontsize=6)
    ax.set_yticks([28 * d + 14 for d in range(D)], [str(d) for d in range(D)], fontsize=6)
    ax.set_xlabel("offset added to the dimension")
    ax.set_ylabel("capsule dimension")
    ax.set_title(f"{label}: one dimension of the winning capsule perturbed", fontsize=9)
    return save_figure(fig, path)


register(Recipe(
    name="capsnet",
    description="CapsNet on Fashion-MNIST: primary capsules, dynamic routing (3 iterations), margin loss, decoder",
    build_model=build_model,
    load_data=load_data,
    defaults=dict(DEFAULTS),
    constraints=CONSTRAINTS,
    fit=fit,
))
