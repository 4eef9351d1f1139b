"""Recipes ``dnc-repeat-copy`` and ``dnc-graph``: the differentiable neural computer (``nnzoo.zoo.dnc``) on
DeepMind's repeat-copy task and on traversing a small random graph given as triples.

``dnc-repeat-copy`` follows DeepMind's ``train.py`` and ``repeat_copy.py`` (deepmind/dnc): memory 16 x 16, 4 read
heads, one write head, LSTM 64, 4-bit patterns of 1-2 vectors repeated 1-2 times, batch 16, gradient norm clipped
at 50, the loss the masked sigmoid cross-entropy summed over bits and time and averaged over the batch. The
optimizer is Adam at 1e-3 (DeepMind's is RMSprop at 1e-4; see the NOTE on ``REPEAT_DEFAULTS``). Stage 1 trains
until the task is solved (fewer than ``solved_bits`` wrong bits per sequence on ``eval_sequences`` fresh
sequences, checked every ``eval_every`` steps) or ``steps`` run out; stage 2 (the curriculum step) goes on at
lengths ``next_min_length``-``next_max_length`` and ``next_min_repeats``-``next_max_repeats`` for ``next_steps``
steps.

``dnc-graph``: each sequence holds a fresh random directed graph on ``nodes`` nodes (node names are arbitrary
symbols, so nothing about a particular graph can be learnt), every node with ``out_degree`` out-edges carrying
distinct labels out of ``labels``. The triples (source, label, destination), one-hot, are shown one per step in a
random order; then a start node and ``min_hops``-``max_hops`` edge labels, one per step, and at each of those steps
the model must answer the node reached so far (cross-entropy over the nodes). The DNC is compared with an LSTM
of the same parameter count trained for the same steps on the same batches (``baseline=1``).

result.json's ``test``: ``bits_per_sequence`` (wrong bits after thresholding at 0.5, per sequence, on fresh
sequences), ``sequences_seen`` (training sequences until solved, or in all when not solved) and the same for the
curriculum step; ``accuracy`` (hops answered right, fresh graphs) for the graph task, with ``lstm_accuracy``.
Pictures: the loss, and one sequence's memory use over time: usage, write and read weightings, read modes and
the link matrix.
"""
from __future__ import annotations

import time

import numpy as np

import nnzoo

from .. import nn
from ..nn import functional as F
from ..zoo.dnc import DNC, DNCConfig, SequenceLSTM, lstm_hidden_for_params
from . import Recipe, register

__all__ = ["repeat_copy_batch", "graph_batch", "build_repeat_copy", "build_graph", "bits_wrong",
           "train_steps", "REPEAT_DEFAULTS", "GRAPH_DEFAULTS"]

# NOTE: DeepMind's setting is RMSprop at lr 1e-4 (eps 1e-10); Adam at 1e-3 solved stage 1 here in 2,500 steps
# (40,000 sequences, seed 0, measured), which fits a recipe's 10 minutes; RMSprop at 1e-4 was not run.
REPEAT_DEFAULTS = {"hidden_size": 64, "memory_size": 16, "word_size": 16, "num_reads": 4, "clip_value": 20.0,
                   "num_bits": 4, "min_length": 1, "max_length": 2, "min_repeats": 1, "max_repeats": 2,
                   "norm_max": 10, "next_min_length": 1, "next_max_length": 4, "next_min_repeats": 1,
                   "next_max_repeats": 3, "steps": 6000, "next_steps": 1500, "batch_size": 16, "lr": 1e-3,
                   "optimizer": "adam", "clip_grad_norm": 50.0, "eval_every": 250, "eval_sequences": 512,
                   "solved_bits": 0.1, "epochs": 1}

# NOTE: the graph defaults are CPU-sized: on 6 nodes with 3 labels (12 triples) the DNC's hop accuracy stayed at
# 0.33-0.35 (chance 1/6) for the first 1,400 steps (Adam 1e-3 batch 16, and 3e-3 batch 32), the plateau that
# content-addressed recall tasks are known for; 4 nodes and 2 labels (8 triples, chance 1/4) are the default.
GRAPH_DEFAULTS = {"hidden_size": 64, "memory_size": 16, "word_size": 16, "num_reads": 4, "clip_value": 20.0,
                  "nodes": 4, "labels": 2, "out_degree": 2, "min_hops": 1, "max_hops": 3, "steps": 2500,
                  "batch_size": 32, "lr": 3e-3, "optimizer": "adam", "clip_grad_norm": 50.0, "eval_every": 250,
                  "eval_sequences": 512, "baseline": 1, "epochs": 1}


REPEAT_CONSTRAINTS = {
    "max_length": (lambda v, c: v >= c["min_length"], "an integer >= min_length ({min_length})"),
    "max_repeats": (lambda v, c: v >= c["min_repeats"], "an integer >= min_repeats ({min_repeats})"),
    "next_max_length": (lambda v, c: v >= c["next_min_length"], "an integer >= next_min_length ({next_min_length})"),
    "next_max_repeats": (lambda v, c: v >= c["next_min_repeats"],
                         "an integer >= next_min_repeats ({next_min_repeats})"),
    "next_steps": (lambda v, c: v >= 0, "an integer >= 0 (0: no curriculum step)"),
    "norm_max": (lambda v, c: v >= c["max_repeats"] and v >= c["next_max_repeats"],
                 "a number >= max_repeats and next_max_repeats"),
    "solved_bits": (lambda v, c: v > 0, "a number > 0"),
    "clip_value": (lambda v, c: v >= 0, "a number >= 0 (0: no clipping)"),
    "optimizer": (lambda v, c: v in ("adam", "rmsprop"), "adam or rmsprop"),
}

GRAPH_CONSTRAINTS = {
    "nodes": (lambda v, c: v >= 2, "an integer >= 2"),
    "out_degree": (lambda v, c: 1 <= v <= c["labels"], "an integer in [1, labels ({labels})]"),
    "memory_size": (lambda v, c: v >= c["nodes"] * c["out_degree"],
                    "an integer >= nodes * out_degree (one slot per triple)"),
    "max_hops": (lambda v, c: v >= c["min_hops"], "an integer >= min_hops ({min_hops})"),
    "baseline": (lambda v, c: v in (0, 1), "0 or 1 (train the same-size LSTM too)"),
    "clip_value": (lambda v, c: v >= 0, "a number >= 0 (0: no clipping)"),
    "optimizer": (lambda v, c: v in ("adam", "rmsprop"), "adam or rmsprop"),
}


# ---- data -----------------------------------------------------------------------------------------------------

def repeat_copy_batch(rng: np.random.Generator, batch: int, num_bits: int, min_length: int, max_length: int,
                      min_repeats: int, max_repeats: int, norm_max: float = 10) -> tuple:
    """A batch of DeepMind's repeat-copy task, time-major.

    Each sequence: a start flag, the pattern (length uniform in [min_length, max_length], random bits), a step
    whose last channel holds repeats / norm_max; then the target: the pattern ``repeats`` times and an end flag.

    Returns:
        obs (T, B, num_bits + 2), target (T, B, num_bits + 1), mask (T, B) float32 arrays (mask: 1 where the
        output is scored), as numpy.
    """
    lengths = rng.integers(min_length, max_length + 1, batch)
    repeats = rng.integers(min_repeats, max_repeats + 1, batch)
    total = lengths * (repeats + 1) + 3
    steps = int(total.max())
    obs = np.zeros((steps, batch, num_bits + 2), np.float32)
    target = np.zeros((steps, batch, num_bits + 1), np.float32)
    mask = np.zeros((steps, batch), np.float32)
    for b, (n, r) in enumerate(zip(lengths, repeats)):
        pattern = rng.integers(0, 2, (n, num_bits)).astype(np.float32)
        obs[0, b, num_bits] = 1                                   # start flag
        obs[1:n + 1, b, :num_bits] = pattern
        obs[n + 1, b, num_bits + 1] = r / norm_max                # the number of repeats
        target[n + 2:n + 2 + n * r, b, :num_bits] = np.tile(pattern, (r, 1))
        target[n + 2 + n * r, b, num_bits] = 1                    # end flag
        mask[n + 2:n + 3 + n * r, b] = 1
    return obs, target, mask


def graph_batch(rng: np.random.Generator, batch: int, nodes: int, labels: int, out_degree: int, min_hops: int,
                max_hops: int) -> tuple:
    """A batch of graph traversals, time-major.

    Input per step: [source one-hot (nodes), label one-hot (labels), destination one-hot (nodes), triple flag,
    query flag]. The ``nodes * out_degree`` triples come first in a random order; then at each query step the
    label to follow (the first query step also carries the start node in the source slot). Targets: the node
    reached after each hop.

    Returns:
        obs (T, B, 2 nodes + labels + 2) float32, target (T, B) int64 (0 where not scored), mask (T, B) float32.
    """
    n_triples = nodes * out_degree
    hops = rng.integers(min_hops, max_hops + 1, batch)
    steps = n_triples + int(hops.max())
    width = 2 * nodes + labels + 2
    obs = np.zeros((steps, batch, width), np.float32)
    target = np.zeros((steps, batch), np.int64)
    mask = np.zeros((steps, batch), np.float32)
    for b in range(batch):
        edges = {}                                                # (source, label) -> destination
        for s in range(nodes):
            for lab in rng.choice(labels, out_degree, replace=False):
                edges[(s, int(lab))] = int(rng.integers(nodes))
        triples = list(edges.items())
        for t, i in enumerate(rng.permutation(n_triples)):
            (s, lab), d = triples[i]
            obs[t, b, [s, nodes + lab, nodes + labels + d, width - 2]] = 1
        node = int(rng.integers(nodes))
        obs[n_triples, b, node] = 1                               # the start node
        for h in range(hops[b]):
            lab = int(rng.choice([lab for (s, lab) in edges if s == node]))
            node = edges[(node, lab)]
            t = n_triples + h
            obs[t, b, nodes + lab] = 1
            obs[t, b, width - 1] = 1
            target[t, b], mask[t, b] = node, 1
    return obs, target, mask


# ---- models ---------------------------------------------------------------------------------------------------

def _dnc(config: dict, input_size: int, output_size: int) -> DNC:
    return DNC(DNCConfig(input_size=input_size, output_size=output_size, hidden_size=config["hidden_size"],
                         memory_size=config["memory_size"], word_size=config["word_size"],
                         num_reads=config["num_reads"], clip_value=config["clip_value"]))


def build_repeat_copy(config: dict) -> DNC:
    """The DNC for repeat copy: num_bits + 2 inputs (pattern, start flag, repeats), num_bits + 1 outputs."""
    return _dnc(config, config["num_bits"] + 2, config["num_bits"] + 1)


def build_graph(config: dict) -> DNC:
    """The DNC for graph traversal: 2 nodes + labels + 2 inputs, one logit per node."""
    return _dnc(config, 2 * config["nodes"] + config["labels"] + 2, config["nodes"])


def build_graph_lstm(config: dict, params: int) -> SequenceLSTM:
    """The baseline LSTM for graph traversal with about ``params`` parameters."""
    i, o = 2 * config["nodes"] + config["labels"] + 2, config["nodes"]
    return SequenceLSTM(i, o, lstm_hidden_for_params(i, o, params))


def _param_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# ---- losses and scores ----------------------------------------------------------------------------------------

def copy_loss(logits: nnzoo.Tensor, target: nnzoo.Tensor, mask: nnzoo.Tensor) -> nnzoo.Tensor:
    """DeepMind's masked sigmoid cross-entropy: summed over bits and scored steps, averaged over the batch."""
    xent = F.binary_cross_entropy_with_logits(logits, target, reduction="none").sum(-1)  # (T, B)
    return (xent * mask).sum() / logits.shape[1]


def graph_loss(logits: nnzoo.Tensor, target: nnzoo.Tensor, mask: nnzoo.Tensor) -> nnzoo.Tensor:
    """Cross-entropy over the nodes at the scored steps, averaged over them."""
    t, b, n = logits.shape
    ce = F.cross_entropy(logits.reshape(t * b, n), target.reshape(t * b), reduction="none")
    m = mask.reshape(t * b)
    return (ce * m).sum() / m.sum()


def bits_wrong(logits: np.ndarray, target: np.ndarray, mask: np.ndarray) -> float:
    """Wrong bits per sequence after thresholding sigmoid(logits) at 0.5, over the scored steps."""
    wrong = ((logits > 0) != (target > 0.5)).sum(-1) * mask     # (T, B)
    return float(wrong.sum() / logits.shape[1])


def _graph_accuracy(logits: np.ndarray, target: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    right = (logits.argmax(-1) == target) * mask                 # (T, B)
    per_hop = float(right.sum() / mask.sum())
    whole = float(((right.sum(0) == mask.sum(0))).mean())
    return per_hop, whole


# ---- training -------------------------------------------------------------------------------------------------

def _optimizer(config: dict, model: nn.Module):
    if config["optimizer"] == "rmsprop":
        return nnzoo.optim.RMSprop(model.parameters(), lr=config["lr"], eps=1e-10)
    return nnzoo.optim.Adam(model.parameters(), lr=config["lr"])


def train_steps(model: nn.Module, optimizer, batches, loss_fn, steps: int, clip: float | None,
                evaluate=None, eval_every: int = 0, stop=None, progress: bool = False, label: str = "") -> dict:
    """Train ``model`` on ``steps`` batches from ``batches()`` (obs, target, mask numpy arrays).

    ``evaluate()`` runs every ``eval_every`` steps and its value is recorded; training stops early when
    ``stop(value)`` is true.

    Returns:
        {"loss": [(step, mean loss since last record)], "eval": [(step, value)], "steps": steps run,
         "seconds": training seconds (evaluation excluded)}.
    """
    history = {"loss": [], "eval": [], "steps": 0, "seconds": 0.0}
    total, count, seconds = 0.0, 0, 0.0
    model.train()
    for step in range(1, steps + 1):
        obs, target, mask = batches()
        t0 = time.perf_counter()
        out, _ = model(nnzoo.from_numpy(obs))
        loss = loss_fn(out, nnzoo.from_numpy(target), nnzoo.from_numpy(mask))
        optimizer.zero_grad()
        loss.backward()
        if clip:
            nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        seconds += time.perf_counter() - t0
        total, count = total + loss.item(), count + 1
        history["steps"] = step
        if eval_every and step % eval_every == 0:
            history["loss"].append((step, total / count))
            total, count = 0.0, 0
            if evaluate is not None:
                value = evaluate()
                history["eval"].append((step, value))
                if progress:
                    print(f"{label} step {step}: loss {history['loss'][-1][1]:.4f}, eval {value}")
                if stop is not None and stop(value):
                    break
    history["seconds"] = seconds
    return history


def _run_eval(model, batch):
    with nnzoo.no_grad():
        model.eval()
        out, _ = model(nnzoo.from_numpy(batch[0]))
        model.train()
    return out.numpy()


def _eval_batches(rng, make, sequences, chunk=128):
    out, left = [], sequences
    while left > 0:
        out.append(make(rng, min(chunk, left)))
        left -= chunk
    return out


# ---- fit hooks ------------------------------------------------------------------------------------------------

def fit_repeat_copy(model: DNC, config: dict, data, out_dir, *, seed: int = 0, progress: bool = True,
                    test: bool = True, resume: bool = False) -> dict:
    """Stage 1 until solved (or ``steps``), then the curriculum step; evaluate on fresh sequences, draw."""
    rng = np.random.default_rng(seed)
    c = config

    def maker(lo, hi, rlo, rhi):
        return lambda g, b: repeat_copy_batch(g, b, c["num_bits"], lo, hi, rlo, rhi, c["norm_max"])
    small = maker(c["min_length"], c["max_length"], c["min_repeats"], c["max_repeats"])
    large = maker(c["next_min_length"], c["next_max_length"], c["next_min_repeats"], c["next_max_repeats"])
    eval_rng = np.random.default_rng(seed + 10_000)
    val_small = _eval_batches(eval_rng, small, c["eval_sequences"])
    val_large = _eval_batches(eval_rng, large, c["eval_sequences"])

    def score(batches):
        return sum(bits_wrong(_run_eval(model, b), b[1], b[2]) * b[0].shape[1] for b in batches) / sum(
            b[0].shape[1] for b in batches)

    optimizer = _optimizer(c, model)
    h1 = train_steps(model, optimizer, lambda: small(rng, c["batch_size"]), copy_loss, c["steps"],
                     c["clip_grad_norm"], evaluate=lambda: score(val_small), eval_every=c["eval_every"],
                     stop=lambda v: v < c["solved_bits"], progress=progress, label="stage 1")
    solved = bool(h1["eval"]) and h1["eval"][-1][1] < c["solved_bits"]
    h2 = {"loss": [], "eval": [], "steps": 0, "seconds": 0.0}
    if c["next_steps"]:
        h2 = train_steps(model, optimizer, lambda: large(rng, c["batch_size"]), copy_loss, c["next_steps"],
                         c["clip_grad_norm"], evaluate=lambda: score(val_large), eval_every=c["eval_every"],
                         stop=lambda v: v < c["solved_bits"], progress=progress, label="stage 2")
    test_rng = np.random.default_rng(seed + 20_000)
    result_test = None
    if test:
        result_test = {
            "bits_per_sequence": score(_eval_batches(test_rng, small, c["eval_sequences"])),
            "sequences_seen": h1["steps"] * c["batch_size"], "solved": solved,
            "next_bits_per_sequence": score(_eval_batches(test_rng, large, c["eval_sequences"])),
            "next_sequences_seen": h2["steps"] * c["batch_size"],
            "next_solved": bool(h2["eval"]) and h2["eval"][-1][1] < c["solved_bits"],
            "seconds_per_step": (h1["seconds"] + h2["seconds"]) / max(1, h1["steps"] + h2["steps"]),
        }
    figures = [(str(_plot_curves(h1, h2, out_dir / "loss.png", "bits wrong per sequence (fresh)")),
                "training loss and wrong bits per sequence on fresh sequences (stage 1, then the curriculum step)")]
    example = large(np.random.default_rng(seed + 30_000), 1) if c["next_steps"] else small(
        np.random.default_rng(seed + 30_000), 1)
    figures.append((str(_plot_memory(model, example, out_dir / "memory.png", "repeat copy")),
                    "one sequence: input, target and output; usage, write and read weightings over time; the "
                    "link matrix at the end"))
    nnzoo.save(model.state_dict(), out_dir / "model.pt")
    return {"epochs": 1, "val": {"stage1": h1["eval"][-1][1] if h1["eval"] else None,
                                 "stage2": h2["eval"][-1][1] if h2["eval"] else None},
            "test": result_test, "figures": figures, "parameters": _param_count(model),
            "history": {"stage1": h1, "stage2": h2}, "model": model}


def fit_graph(model: DNC, config: dict, data, out_dir, *, seed: int = 0, progress: bool = True,
              test: bool = True, resume: bool = False) -> dict:
    """Train the DNC (and, with ``baseline``, the same-size LSTM on the same batches); evaluate, draw."""
    c = config

    def make(g, b):
        return graph_batch(g, b, c["nodes"], c["labels"], c["out_degree"], c["min_hops"], c["max_hops"])
    val = _eval_batches(np.random.default_rng(seed + 10_000), make, c["eval_sequences"])
    tests = _eval_batches(np.random.default_rng(seed + 20_000), make, c["eval_sequences"])

    def score(m, batches):
        right = whole = n = 0.0
        for b in batches:
            hop, seq = _graph_accuracy(_run_eval(m, b), b[1], b[2])
            k = float(b[2].sum())
            right, whole, n = right + hop * k, whole + seq * b[0].shape[1], n + k
        return float(right / n), float(whole / sum(b[0].shape[1] for b in batches))

    models = {"dnc": model}
    if c["baseline"]:
        models["lstm"] = build_graph_lstm(c, _param_count(model))
    histories, result_test = {}, {}
    for name, m in models.items():
        rng = np.random.default_rng(seed)          # the same training batches for both models
        histories[name] = train_steps(m, _optimizer(c, m), lambda g=rng: make(g, c["batch_size"]), graph_loss,
                                      c["steps"], c["clip_grad_norm"], evaluate=lambda m=m: score(m, val)[0],
                                      eval_every=c["eval_every"], progress=progress, label=name)
        hop, seq = score(m, tests) if test else (None, None)
        prefix = "" if name == "dnc" else "lstm_"
        result_test.update({f"{prefix}accuracy": hop, f"{prefix}sequence_accuracy": seq,
                            f"{prefix}parameters": _param_count(m),
                            f"{prefix}seconds_per_step": histories[name]["seconds"] / max(1, histories[name]["steps"])})
    figures = [(str(_plot_curves(histories["dnc"], histories.get("lstm"), out_dir / "loss.png", "hop accuracy (fresh)",
                                 labels=("DNC", "LSTM"))), "training loss and hop accuracy on fresh graphs")]
    figures.append((str(_plot_memory(model, make(np.random.default_rng(seed + 30_000), 1), out_dir / "memory.png",
                                     "graph traversal", categorical=True)),
                    "one graph: input, target and output; usage, write and read weightings over time; the link "
                    "matrix at the end"))
    nnzoo.save(model.state_dict(), out_dir / "model.pt")
    return {"epochs": 1, "val": {"accuracy": histories["dnc"]["eval"][-1][1] if histories["dnc"]["eval"] else None},
            "test": result_test if test else None, "figures": figures,
            "steps": {k: h["steps"] for k, h in histories.items()},
            "history": histories, "model": model}


# ---- pictures -------------------------------------------------------------------------------------------------

def _plot_curves(h1, h2, path, eval_label, labels=("stage 1", "curriculum step")):
    from ..viz.plots import _figure, save_figure
    fig = _figure(figsize=(10, 3.5))
    ax1, ax2 = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    offset = 0 if labels[1] == "LSTM" else h1["steps"]
    for h, lab, off in ((h1, labels[0], 0), (h2, labels[1], offset)):
        if h and h["loss"]:
            s, v = zip(*h["loss"])
            ax1.plot(np.array(s) + off, v, label=lab)
        if h and h["eval"]:
            s, v = zip(*h["eval"])
            ax2.plot(np.array(s) + off, v, label=lab)
    ax1.set_xlabel("step")
    ax1.set_ylabel("training loss")
    ax1.set_yscale("log")
    ax2.set_xlabel("step")
    ax2.set_ylabel(eval_label)
    for ax in (ax1, ax2):
        ax.legend()
    return save_figure(fig, path)


def _plot_memory(model, batch, path, title, categorical=False):
    from ..viz.plots import _figure, save_figure
    obs, target, mask = batch
    model.trace = []
    out = _run_eval(model, batch)
    trace, model.trace = model.trace, None
    get = lambda k: np.stack([s[k].numpy()[0] for s in trace])  # noqa: E731  (T, ...) of the first sequence
    usage, write, read, modes = get("usage"), get("write_weights"), get("read_weights"), get("read_modes")
    link = trace[-1]["link"].numpy()[0]
    fig = _figure(figsize=(13, 8))
    ax = fig.add_subplot(3, 3, 1)
    ax.imshow(obs[:, 0].T, aspect="auto", cmap="Greys", interpolation="nearest")
    ax.set_title("input")
    ax = fig.add_subplot(3, 3, 2)
    if categorical:
        ax.plot(np.where(mask[:, 0] > 0, target[:, 0], np.nan), "o", label="target")
        ax.plot(np.where(mask[:, 0] > 0, out[:, 0].argmax(-1), np.nan), "x", label="output")
        ax.set_xlim(-0.5, len(mask) - 0.5)
        ax.legend(fontsize=7)
        ax.set_title("target node and answer per step")
    else:
        ax.imshow(target[:, 0].T, aspect="auto", cmap="Greys", interpolation="nearest")
        ax.set_title("target")
        ax = fig.add_subplot(3, 3, 3)
        ax.imshow((1 / (1 + np.exp(-out[:, 0])) * mask[:, :1]).T, aspect="auto", cmap="Greys",
                  interpolation="nearest", vmin=0, vmax=1)
        ax.set_title("output (sigmoid, masked)")
    for i, (data, name) in enumerate(((usage, "usage u_t"), (write, "write weighting w^w_t"),
                                      (read.max(1), "read weightings w^r_t (max over heads)"))):
        ax = fig.add_subplot(3, 3, 4 + i)
        ax.imshow(data.T, aspect="auto", cmap="viridis", interpolation="nearest", vmin=0, vmax=1)
        ax.set_xlabel("step")
        ax.set_ylabel("slot")
        ax.set_title(name)
    ax = fig.add_subplot(3, 3, 7)
    for k, name in enumerate(("backward", "content", "forward")):
        ax.plot(modes[:, :, k].mean(1), label=name)
    ax.set_title("read modes (mean over heads)")
    ax.set_xlabel("step")
    ax.legend(fontsize=7)
    ax = fig.add_subplot(3, 3, 8)
    ax.imshow(link, cmap="viridis", interpolation="nearest", vmin=0, vmax=max(1e-6, float(link.max())))
    ax.set_title("link matrix L_T[i, j] (row i after j)")
    ax = fig.add_subplot(3, 3, 9)
    ax.imshow(read[:, 0].T, aspect="auto", cmap="viridis", interpolation="nearest", vmin=0, vmax=1)
    ax.set_title("read weighting, head 0")
    ax.set_xlabel("step")
    fig.suptitle(f"DNC, {title}")
    fig.tight_layout()
    return save_figure(fig, path)


def _no_data(config: dict) -> None:
    return None   # the sequences are generated in the fit hooks, from the run's seed


register(Recipe(
    name="dnc-repeat-copy",
    description="differentiable neural computer on DeepMind's repeat-copy task (memory 16x16, 4 read heads, LSTM 64)",
    build_model=build_repeat_copy,
    load_data=_no_data,
    defaults=dict(REPEAT_DEFAULTS),
    constraints=REPEAT_CONSTRAINTS,
    fit=fit_repeat_copy,
))

register(Recipe(
    name="dnc-graph",
    description="differentiable neural computer traversing small random graphs given as triples, vs an LSTM",
    build_model=build_graph,
    load_data=_no_data,
    defaults=dict(GRAPH_DEFAULTS),
    constraints=GRAPH_CONSTRAINTS,
    fit=fit_graph,
))
