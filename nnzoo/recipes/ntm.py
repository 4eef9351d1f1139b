"""Recipes ``ntm-copy``, ``ntm-repeat-copy`` and ``ntm-recall``: the neural Turing machine
(:class:`~nnzoo.zoo.ntm.NTM`) on the algorithmic tasks of Graves et al. (2014), generated on the fly.

- **copy**: a sequence of ``length`` random ``width``-bit vectors (length uniform in ``min_len..max_len``), then a
  delimiter step (one extra input channel); the model must write the sequence back on zero input.
- **repeat copy**: the sequence, a delimiter step, then one step whose last channel holds the number of repeats
  (uniform in ``min_reps..max_reps``), normalised to mean 0 and variance 1 over that range; the output is the
  sequence repeated that many times, then an end marker on an extra output channel.
- **associative recall**: ``items`` items (uniform in ``min_items..max_items``) of ``item_len`` random ``width``-bit
  vectors, each preceded by a delimiter step (channel ``width``); then a query item between two query
  delimiters (channel ``width + 1``); the answer is the item that followed the query item.

The loss is the binary cross-entropy of the output bits (mean over bits). ``bits_per_sequence`` is the number of
output bits wrong after thresholding at 0.5, summed over the output and averaged per sequence; ``sequences_seen``
counts the training sequences. Every ``eval_every`` sequences the model is scored on a fixed validation set
spanning the training distribution; ``sequences_to_target`` is the first count where that score fell below
``target_bits`` (None if never). The copy task also scores sequences longer than trained on (``test_lengths``).

NOTE: the reference setting (the widely used PyTorch NTM) trains with batch 1, RMSprop lr 1e-4, momentum 0.9,
alpha 0.95. Batch 1 costs ~2.3 ms per time step here in Python's per-op overhead (30,000 copy sequences ~ 25
minutes on one core), so the defaults train on batches of 8 sequences of one length at lr 5e-4 (measured: copy
seed 0 fell below 0.1 bit per sequence at 12,000 sequences; batch 16 at lr 3e-4 was still at 31.6 bits after
9,000); ``sequences_seen`` counts sequences, not batches. ``stop_at_target`` (default on) ends a run at the first
validation below ``target_bits``; benchmarks/ntm.py runs three seeds.

A run writes ``result.json``, ``ntm.pt`` (the state dict) and pictures: the learning curve, the memory use on
one test sequence (the paper's Figure 6: inputs and outputs, add and read vectors, write and read weightings
over time) and, for copy, the outputs on longer sequences.
"""
from __future__ import annotations

import time

import numpy as np

import nnzoo

from .. import nn, optim
from ..nn import functional as F
from ..zoo.ntm import NTM
from . import Recipe, register

__all__ = ["CopyTask", "RepeatCopyTask", "RecallTask", "make_task", "build_model", "fit", "bits_wrong",
           "evaluate"]


# ---- tasks ----------------------------------------------------------------------------------------------------

class CopyTask:
    """Copy: ``length`` random ``width``-bit vectors, a delimiter step, then the same vectors as the target.

    ``batch(rng, size, length)`` -> (inputs (length + 1, size, width + 1), targets (length, size, width)),
    float32; one length per batch (drawn when None).
    """

    def __init__(self, width: int = 8, min_len: int = 1, max_len: int = 20) -> None:
        self.width, self.min_len, self.max_len = width, min_len, max_len
        self.input_size, self.output_size = width + 1, width

    def draw(self, rng) -> tuple:
        return (int(rng.integers(self.min_len, self.max_len + 1)),)

    def grid(self, rng) -> list:
        """The settings a validation or test set covers: every length once."""
        return [(n,) for n in range(self.min_len, self.max_len + 1)]

    def batch(self, rng, size: int, length: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        length = self.draw(rng)[0] if length is None else length
        seq = rng.integers(0, 2, (length, size, self.width)).astype(np.float32)
        x = np.zeros((length + 1, size, self.width + 1), np.float32)
        x[:length, :, :self.width] = seq
        x[length, :, self.width] = 1.0                                           # delimiter
        return x, seq


class RepeatCopyTask:
    """Repeat copy: the sequence, a delimiter, the normalised number of repeats; the target is the sequence
    ``reps`` times, then an end marker (output channel ``width``).

    ``batch(rng, size, length, reps)`` -> (inputs (length + 2, size, width + 2), targets (length * reps + 1, size,
    width + 1)).
    """

    def __init__(self, width: int = 8, min_len: int = 1, max_len: int = 10, min_reps: int = 1,
                 max_reps: int = 10) -> None:
        self.width, self.min_len, self.max_len, self.min_reps, self.max_reps = width, min_len, max_len, min_reps, \
            max_reps
        self.input_size, self.output_size = width + 2, width + 1
        k = max_reps - min_reps + 1
        self.reps_mean, self.reps_std = (min_reps + max_reps) / 2, max(np.sqrt((k * k - 1) / 12), 1.0)

    def draw(self, rng) -> tuple:
        return (int(rng.integers(self.min_len, self.max_len + 1)), int(rng.integers(self.min_reps, self.max_reps + 1)))

    def grid(self, rng) -> list:
        """20 (length, repeats) pairs drawn from the training distribution."""
        return [self.draw(rng) for _ in range(20)]

    def batch(self, rng, size: int, length: int | None = None, reps: int | None = None):
        d = self.draw(rng)
        length = d[0] if length is None else length
        reps = d[1] if reps is None else reps
        seq = rng.integers(0, 2, (length, size, self.width)).astype(np.float32)
        x = np.zeros((length + 2, size, self.width + 2), np.float32)
        x[:length, :, :self.width] = seq
        x[length, :, self.width] = 1.0                                           # delimiter
        x[length + 1, :, self.width + 1] = (reps - self.reps_mean) / self.reps_std
        y = np.zeros((length * reps + 1, size, self.width + 1), np.float32)
        y[:length * reps, :, :self.width] = np.tile(seq, (reps, 1, 1))
        y[-1, :, self.width] = 1.0                                               # end marker
        return x, y


class RecallTask:
    """Associative recall: ``items`` delimited items of ``item_len`` vectors, a query item between query
    delimiters; the target is the item after the query item.

    ``batch(rng, size, items)`` -> (inputs (items * (item_len + 1) + item_len + 2, size, width + 2), targets
    (item_len, size, width)).
    """

    def __init__(self, width: int = 6, item_len: int = 3, min_items: int = 2, max_items: int = 6) -> None:
        self.width, self.item_len, self.min_items, self.max_items = width, item_len, min_items, max_items
        self.input_size, self.output_size = width + 2, width

    def draw(self, rng) -> tuple:
        return (int(rng.integers(self.min_items, self.max_items + 1)),)

    def grid(self, rng) -> list:
        """Each number of items, repeated to about 20 settings."""
        n = self.max_items - self.min_items + 1
        return [(k,) for k in range(self.min_items, self.max_items + 1)] * max(1, 20 // n)

    def batch(self, rng, size: int, items: int | None = None):
        items = self.draw(rng)[0] if items is None else items
        w, L = self.width, self.item_len
        data = rng.integers(0, 2, (items, L, size, w)).astype(np.float32)
        x = np.zeros((items * (L + 1) + L + 2, size, w + 2), np.float32)
        for i in range(items):
            x[i * (L + 1), :, w] = 1.0                                           # item delimiter
            x[i * (L + 1) + 1:(i + 1) * (L + 1), :, :w] = data[i]
        q = rng.integers(0, items - 1, size)                                     # the query: an item with a next
        start = items * (L + 1)
        x[start, :, w + 1] = 1.0
        x[start + 1:start + 1 + L, :, :w] = data[q, :, np.arange(size)].transpose(1, 0, 2)
        x[start + 1 + L, :, w + 1] = 1.0
        y = data[q + 1, :, np.arange(size)].transpose(1, 0, 2).copy()           # (L, size, w)
        return x, y


_TASKS = {"copy": CopyTask, "repeat-copy": RepeatCopyTask, "recall": RecallTask}


def make_task(config: dict):
    """The task a config names (``task``), with its sizes."""
    t = config["task"]
    if t == "copy":
        return CopyTask(config["width"], config["min_len"], config["max_len"])
    if t == "repeat-copy":
        return RepeatCopyTask(config["width"], config["min_len"], config["max_len"], config["min_reps"],
                              config["max_reps"])
    return RecallTask(config["width"], config["item_len"], config["min_items"], config["max_items"])


def build_model(config: dict) -> NTM:
    """An :class:`~nnzoo.zoo.ntm.NTM` sized for the config's task."""
    task = make_task(config)
    return NTM(input_size=task.input_size, output_size=task.output_size, controller=config["controller"],
               controller_size=config["controller_size"], memory_n=config["memory_n"], memory_m=config["memory_m"],
               read_heads=config["read_heads"], write_heads=config["write_heads"], shift_range=config["shift_range"])


# ---- training and evaluation ----------------------------------------------------------------------------------

def bits_wrong(logits, y: np.ndarray) -> np.ndarray:
    """Bits wrong per sequence after thresholding the outputs at 0.5 (logit 0): (B,) from logits (T, B, Y)."""
    pred = logits.detach().numpy() > 0
    return (pred != (y > 0.5)).sum(axis=(0, 2))


def evaluate(model: NTM, batches: list) -> dict:
    """Mean loss and bits wrong per sequence over a list of (inputs, targets) batches."""
    bits, loss, n = 0.0, 0.0, 0
    with nnzoo.no_grad():
        for x, y in batches:
            logits = model(nnzoo.tensor(x), y.shape[0])
            loss += F.binary_cross_entropy_with_logits(logits, nnzoo.tensor(y)).item() * y.shape[1]
            bits += float(bits_wrong(logits, y).sum())
            n += y.shape[1]
    return {"bits_per_sequence": bits / n, "loss": loss / n, "sequences": n}


def _batches(task, rng, size, settings):
    return [task.batch(rng, size, *s) for s in settings]


def make_optimizer(config: dict, model: NTM) -> optim.Optimizer:
    """RMSprop (momentum, alpha as the reference setting) or Adam at ``lr``."""
    if config["optimizer"] == "adam":
        return optim.Adam(model.parameters(), lr=config["lr"])
    return optim.RMSprop(model.parameters(), lr=config["lr"], momentum=config["momentum"], alpha=config["alpha"])


def fit(model: NTM, config: dict, task, out_dir, *, seed: int = 0, progress: bool = True, test: bool = True,
        resume: bool = False) -> dict:
    """Train on ``sequences`` generated sequences in batches of ``batch_size`` (the ``fit`` hook), evaluate every
    ``eval_every`` sequences, then test and draw."""
    rng = np.random.default_rng(seed)
    val = _batches(task, np.random.default_rng(10_000 + seed), config["eval_batch"], task.grid(rng))
    opt = make_optimizer(config, model)
    bsz, total = config["batch_size"], config["sequences"]
    history = {"sequences": [], "loss": [], "bits_per_sequence": [], "val_sequences": [], "val_bits_per_sequence": [],
               "val_loss": []}
    seen, next_eval, reached, t0 = 0, config["eval_every"], None, time.perf_counter()
    while seen < total:
        x, y = task.batch(rng, bsz)
        logits = model(nnzoo.tensor(x), y.shape[0])
        loss = F.binary_cross_entropy_with_logits(logits, nnzoo.tensor(y))
        opt.zero_grad()
        loss.backward()
        if config["clip_value"]:
            nn.utils.clip_grad_value_(model.parameters(), config["clip_value"])
        opt.step()
        seen += bsz
        history["sequences"].append(seen)
        history["loss"].append(loss.item())
        history["bits_per_sequence"].append(float(bits_wrong(logits, y).mean()))
        if seen >= next_eval or seen >= total:
            next_eval += config["eval_every"]
            v = evaluate(model, val)
            history["val_sequences"].append(seen)
            history["val_bits_per_sequence"].append(v["bits_per_sequence"])
            history["val_loss"].append(v["loss"])
            if reached is None and v["bits_per_sequence"] < config["target_bits"]:
                reached = seen
            if progress:
                print(f"{seen:>7} sequences  loss {v['loss']:.4f}  bits/sequence {v['bits_per_sequence']:.3f}  "
                      f"({time.perf_counter() - t0:.0f} s)", flush=True)
            if config["stop_at_target"] and reached is not None:
                break
    train_seconds = time.perf_counter() - t0
    nnzoo.save(model.state_dict(), out_dir / "ntm.pt")
    result_val = {"bits_per_sequence": history["val_bits_per_sequence"][-1], "loss": history["val_loss"][-1]}
    trng = np.random.default_rng(20_000 + seed)
    tested = evaluate(model, _batches(task, trng, config["test_batch"], task.grid(trng))) if test else None
    result_test = None
    if tested is not None:
        result_test = {"bits_per_sequence": tested["bits_per_sequence"], "loss": tested["loss"],
                       "sequences_seen": seen, "sequences_to_target": reached, "test_sequences": tested["sequences"]}
    figures = [(str(_plot_curve(history, config, out_dir / "learning_curve.png")),
                "bits wrong per sequence against sequences seen (training batches and the validation set)")]
    long = None
    if isinstance(task, CopyTask) and test and config["test_lengths"]:
        long = {}
        for n in config["test_lengths"]:
            long[str(n)] = evaluate(model, [task.batch(trng, config["test_batch"], n)])["bits_per_sequence"]
        result_test["bits_per_sequence_long"] = float(np.mean(list(long.values())))
        result_test["bits_per_sequence_by_length"] = long
        figures.append((str(_plot_generalisation(model, task, config, out_dir / "generalisation.png")),
                        "copy outputs for sequences longer than trained on (targets above, outputs below)"))
    x, y = _example(task, config, np.random.default_rng(30_000 + seed))
    figures.append((str(_plot_memory(model, x, y, out_dir / "memory.png", config["task"])),
                    "memory use on one sequence: add and read vectors, write and read weightings over time"))
    return {"epochs": None, "val": result_val, "test": result_test, "figures": figures,
            "train_seconds": train_seconds, "sequences_seen": seen,
            "seconds_per_1000_sequences": 1000 * train_seconds / max(seen, 1),
            "history": history, "model": model}


def _example(task, config, rng):
    """The sequence the memory picture shows: the longest training setting."""
    if isinstance(task, CopyTask):
        return task.batch(rng, 1, task.max_len)
    if isinstance(task, RepeatCopyTask):
        return task.batch(rng, 1, min(task.max_len, 5), min(task.max_reps, 3))
    return task.batch(rng, 1, task.max_items)


# ---- pictures -------------------------------------------------------------------------------------------------

def _plot_curve(history, config, path):
    from ..viz.plots import _figure, save_figure
    fig = _figure(figsize=(6.5, 3.8))
    ax = fig.add_subplot()
    s, b = np.asarray(history["sequences"]), np.asarray(history["bits_per_sequence"])
    if len(b):
        k = max(1, min(len(b) // 20, 50))
        smooth = np.convolve(b, np.ones(k) / k, mode="valid")
        ax.plot(s[k - 1:], smooth, lw=1, label=f"training (mean of {k} batches)")
    ax.plot(history["val_sequences"], history["val_bits_per_sequence"], "o-", ms=3, label="validation")
    ax.axhline(config["target_bits"], color="k", lw=0.6, ls="--", label=f"{config['target_bits']} bit")
    ax.set_yscale("symlog", linthresh=0.1)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("sequences seen")
    ax.set_ylabel("bits wrong per sequence")
    ax.set_title(f"NTM {config['task']}: batch {config['batch_size']}, {config['optimizer']} lr {config['lr']:g}")
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def _plot_generalisation(model, task, config, path):
    from ..viz.plots import _figure, save_figure
    lengths = [n for n in (10, 20, 30, 50) if n >= task.min_len] + [max(config["test_lengths"])]
    lengths = sorted(set(lengths))
    rng = np.random.default_rng(1)
    fig = _figure(figsize=(2 + 0.09 * sum(lengths), 3.2))
    axes = fig.subplots(2, len(lengths), squeeze=False, gridspec_kw={"width_ratios": lengths})
    for j, n in enumerate(lengths):
        x, y = task.batch(rng, 1, n)
        with nnzoo.no_grad():
            out = nnzoo.sigmoid(model(nnzoo.tensor(x), n)).numpy()[:, 0]
        wrong = int(((out > 0.5) != (y[:, 0] > 0.5)).sum())
        axes[0, j].imshow(y[:, 0].T, cmap="gray_r", vmin=0, vmax=1, aspect="auto", interpolation="nearest")
        axes[1, j].imshow(out.T, cmap="gray_r", vmin=0, vmax=1, aspect="auto", interpolation="nearest")
        axes[0, j].set_title(f"length {n}: {wrong} bits wrong", fontsize=8)
        for ax in axes[:, j]:
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].set_ylabel("targets", fontsize=8)
    axes[1, 0].set_ylabel("outputs", fontsize=8)
    fig.suptitle(f"copy: trained on lengths {task.min_len}-{task.max_len}", fontsize=9)
    return save_figure(fig, path)


def _plot_memory(model, x, y, path, name):
    """The paper's Figure 6: inputs and outputs, then add and read vectors, then write and read weightings."""
    from ..viz.plots import _figure, save_figure
    with nnzoo.no_grad():
        logits, info = model(nnzoo.tensor(x), y.shape[0], trace=True)
    out = nnzoo.sigmoid(logits).numpy()[:, 0]
    t_in, t_out = x.shape[0], y.shape[0]
    T = t_in + t_out
    inputs = np.zeros((T, x.shape[2]))
    inputs[:t_in] = x[:, 0]
    outputs = np.zeros((T, y.shape[2]))
    outputs[t_in:] = out
    ww = info["write_weights"].numpy()[:, 0, 0] if "write_weights" in info and info["write_weights"].shape[2] else None
    rw = info["read_weights"].numpy()[:, 0, 0]
    reads = info["reads"].numpy()[:, 0, 0]
    adds = info["adds"].numpy()[:, 0, 0] if "adds" in info else np.zeros_like(reads)
    used = np.flatnonzero(np.maximum(rw.max(0), ww.max(0) if ww is not None else 0) > 0.02)
    lo, hi = (used.min(), used.max() + 1) if len(used) else (0, rw.shape[1])
    lo, hi = max(0, lo - 2), min(rw.shape[1], hi + 2)
    fig = _figure(figsize=(9, 7), layout="constrained")
    axes = fig.subplots(3, 2, gridspec_kw={"height_ratios": [1, 1.2, 2]})
    panels = [(inputs, "inputs"), (outputs, "outputs"), (adds, "adds (write vectors)"), (reads, "reads"),
              (ww[:, lo:hi] if ww is not None else np.zeros((T, hi - lo)), "write weightings"),
              (rw[:, lo:hi], "read weightings")]
    for ax, (a, title) in zip(axes.ravel(), panels):
        ax.imshow(a.T, aspect="auto", interpolation="nearest", cmap="gray_r" if "weight" in title or title in (
            "inputs", "outputs") else "RdBu_r", origin="lower" if "weight" in title else "upper")
        ax.set_title(title, fontsize=9)
        ax.axvline(t_in - 0.5, color="tab:red", lw=0.6)
        ax.set_yticks([])
    for ax in axes[2]:
        ax.set_xlabel("time")
        ax.set_ylabel(f"location {lo}-{hi - 1}", fontsize=8)
    fig.suptitle(f"NTM {name}: memory use (red line: end of the input)", fontsize=10)
    return save_figure(fig, path)


# ---- registration ---------------------------------------------------------------------------------------------

MODEL = {"controller": "lstm", "controller_size": 100, "memory_n": 128, "memory_m": 20, "read_heads": 1,
         "write_heads": 1, "shift_range": 1}
TRAIN = {"optimizer": "rmsprop", "lr": 1e-4, "momentum": 0.9, "alpha": 0.95, "clip_value": 10.0,
         "batch_size": 1, "sequences": 30_000, "eval_every": 1000, "eval_batch": 8, "test_batch": 16,
         "target_bits": 0.1, "stop_at_target": True, "clip_grad_norm": None}
COPY = {"task": "copy", "width": 8, "min_len": 1, "max_len": 20, "test_lengths": [30, 35, 40, 45, 50]}
REPEAT = {"task": "repeat-copy", "width": 8, "min_len": 1, "max_len": 10, "min_reps": 1, "max_reps": 10}
RECALL = {"task": "recall", "width": 6, "item_len": 3, "min_items": 2, "max_items": 6}


def _lengths_ok(v, c):
    return isinstance(v, list) and all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in v)


CONSTRAINTS = {
    "controller": (lambda v, c: v in ("lstm", "feedforward"), "lstm or feedforward"),
    "optimizer": (lambda v, c: v in ("rmsprop", "adam"), "rmsprop or adam"),
    "momentum": (lambda v, c: 0 <= v < 1, "a number in [0, 1)"),
    "alpha": (lambda v, c: 0 < v < 1, "a number in (0, 1)"),
    "clip_value": (lambda v, c: v >= 0, "a number >= 0 (0: no clipping)"),
    "target_bits": (lambda v, c: v > 0, "a number > 0"),
    "write_heads": (lambda v, c: v >= 0, "an integer >= 0"),
    "shift_range": (lambda v, c: 0 <= v and 2 * v + 1 <= c["memory_n"], "an integer >= 0 with 2 S + 1 <= memory_n"),
    "max_len": (lambda v, c: v >= c["min_len"], "an integer >= min_len ({min_len})"),
    "max_reps": (lambda v, c: v >= c["min_reps"], "an integer >= min_reps ({min_reps})"),
    "min_items": (lambda v, c: v >= 2, "an integer >= 2 (a query needs a next item)"),
    "max_items": (lambda v, c: v >= c["min_items"], "an integer >= min_items ({min_items})"),
    "test_lengths": (_lengths_ok, "a list of integers >= 1 (may be empty)"),
}


for _name, _task, _extra, _what in (
        ("ntm-copy", "copy", {**COPY, "batch_size": 8, "lr": 5e-4}, "copy (8-bit vectors, lengths 1-20)"),
        ("ntm-repeat-copy", "repeat-copy", {**REPEAT, "batch_size": 8, "lr": 5e-4, "sequences": 20_000},
         "repeat copy (lengths 1-10, 1-10 repeats)"),
        ("ntm-recall", "recall", {**RECALL, "batch_size": 8, "lr": 5e-4, "sequences": 30_000},
         "associative recall (2-6 items of 3 six-bit vectors)")):
    register(Recipe(
        name=_name,
        description=f"neural Turing machine (LSTM controller, 128 x 20 memory) on {_what}",
        build_model=build_model,
        load_data=make_task,
        defaults={**MODEL, **TRAIN, **_extra},
        constraints={**CONSTRAINTS, "task": ((lambda t: lambda v, c: v == t)(_task), f"{_task} (this recipe's task)")},
        fit=fit,
    ))
