"""Recipes of :mod:`nnzoo.zoo.caption`: ``caption`` (Show and Tell: the image as the LSTM's first state) and
``caption-attention`` (Show, Attend and Tell: soft attention over the CNN's regions at every word).

The data are generated captioned scenes (:mod:`nnzoo.data.datasets.scenes`): 1-3 coloured shapes of two sizes in
the cells of a 3 x 3 grid on a 48 x 48 canvas, each scene with three paraphrased captions that name every item's
size, colour, kind and cell (``items=fashion`` places tinted Fashion-MNIST items instead, when the data are
there). The splits are by scene: no validation or test scene has the items of a training scene.

Training: teacher forcing (each step shows every image with one of its paraphrases, drawn at random), the
cross-entropy of the next word, Adam with a cosine decay of the learning rate over ``steps`` steps, gradient
clipping, and for the attention model the doubly stochastic regulariser with weight ``alpha_c`` (0: off). Every
``eval_every`` steps the greedy captions of the validation scenes are scored; the weights with the best
validation BLEU-4 are kept (``best.safetensors``).

Evaluation on the test scenes (result.json's ``test``): BLEU-1..4 (NLTK's ``corpus_bleu``, cumulative n-gram
weights, all three paraphrases as references) and the exact-match rate (the caption equals one of the
references) of the greedy captions, the same for beam search on the first ``beam_scenes`` test scenes
(``beam_*``), and for the attention model ``attention_in_box``: the share of the attention mass inside an item's
bounding box when the model writes the item's kind (its noun), against ``attention_chance``, the box's share of
the image (what uniform attention would give). Pictures: test scenes with their generated captions, the training
curves, and (attention) the attention map of every generated word.

NOTE: the learning rates differ: 3e-3 for the attention model, 1e-3 for Show and Tell. At 3e-3 Show and Tell
stays on the language model's plateau (loss 0.67 per word after 800 steps, test BLEU-4 0.374, no exact match,
seed 0; PyTorch from the same weights on the same batches gave the same BLEU-4 to 4 digits): the image must
reach the words through the LSTM's first state, and the decoder learns to ignore it first. On one-item scenes
(300 steps) 3e-3 left its training loss at 0.74, 1e-3 took it to 0.47 and 3e-4 to 0.81. At 1e-3 seed 0 leaves
the plateau (loss 0.46 after 800 steps), seed 2 late (0.63 at step 600), seed 1 not (0.68).

Measured (``python -m benchmarks.caption``, defaults, 800 steps of 64, one BLAS thread on the shared 2-core
machine, seeds 0-2): ``caption-attention`` test BLEU-4 0.999, exact match 99.3%, 55% of the attention mass in
the named item's box (chance: 5.2%); ``caption`` BLEU-4 0.48 +- 0.13 (0.62, 0.35, 0.48), exact match 0.1%.
"""
from __future__ import annotations

import functools
import math
import time
import warnings

import numpy as np

from .. import nn, optim
from ..autograd.arrays import array
from ..autograd.grad_mode import no_grad
from ..creation import tensor
from ..nn.utils import evaluating
from ..zoo.caption import ShowAndTell, ShowAttendTell, attention_regulariser
from . import ConfigError, Recipe, default_optimizer, register

__all__ = ["caption_scores", "attention_in_box", "scene_data", "encode_captions", "generate", "fit",
           "DEFAULTS"]

DEFAULTS = {"items": "shapes", "image_size": 48, "grid": 3, "max_items": 3, "n_train": 20000, "n_val": 300,
            "n_test": 1000, "data_seed": 0, "channels": [16, 32, 64], "coords": True, "batch_norm": True,
            "embed": 64, "hidden": 192, "attn_hidden": 96, "gate": True, "dropout": 0.0, "forget_bias": 1.0,
            "alpha_c": 0.0, "steps": 800, "batch_size": 64, "lr": 3e-3, "optimizer": "adam", "clip_grad_norm": 5.0,
            "eval_every": 100, "beam_width": 3, "beam_scenes": 200, "max_len": 32}

CONSTRAINTS = {
    "items": (lambda v, c: v in ("shapes", "fashion"), "shapes or fashion (Fashion-MNIST items: needs the data)"),
    "grid": (lambda v, c: v in (2, 3), "2 or 3"),
    "max_items": (lambda v, c: 1 <= v <= c["grid"] ** 2, "an integer in [1, grid ** 2] ({grid} ** 2)"),
    "image_size": (lambda v, c: v % 2 ** len(c["channels"]) == 0 and v >= 8 * c["grid"],
                   "an integer >= 8 * grid, a multiple of 2 ** len(channels) ({channels})"),
    "alpha_c": (lambda v, c: v >= 0, "a number >= 0 (0: no doubly stochastic regulariser)"),
    "beam_scenes": (lambda v, c: v >= 0, "an integer >= 0 (0: no beam search)"),
}


# ---- data ------------------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=4)
def _splits(items, image_size, grid, max_items, n_train, n_val, n_test, data_seed):
    from ..data.datasets.scenes import scene_splits
    return scene_splits(n_train, n_val, n_test, seed=data_seed, size=image_size, grid=grid, max_items=max_items,
                        items=items)


def scene_data(config: dict) -> tuple:
    """(train, val, test) :class:`~nnzoo.data.datasets.scenes.CaptionedScenes` of the config (cached)."""
    try:
        return _splits(config["items"], config["image_size"], config["grid"], config["max_items"],
                       config["n_train"], config["n_val"], config["n_test"], config["data_seed"])
    except FileNotFoundError as e:   # items=fashion without the data: a usage error naming where it looked
        raise ConfigError(f"run_recipe: items: {e}", key="items", problem=str(e)) from None


def _vocab(config):
    from ..data.datasets.scenes import scene_vocab
    return scene_vocab(config["items"], config["grid"])


def encode_captions(scenes, vocab) -> np.ndarray:
    """int64 (N, P, T) word ids of every paraphrase of every scene, padded with <pad> (no <bos>/<eos>)."""
    ids = [[vocab.encode(c) for c in caps] for caps in scenes.captions]
    T = max(len(c) for caps in ids for c in caps)
    out = np.full((len(ids), len(ids[0]), T), vocab.pad_index, dtype=np.int64)
    for i, caps in enumerate(ids):
        for p, c in enumerate(caps):
            out[i, p, :len(c)] = c
    return out


def _batch(ids, rows, rng, vocab):
    """words_in (<bos> caption) and words_out (caption <eos>) of one random paraphrase of each row, cut to the
    batch's longest."""
    caps = ids[rows, rng.integers(ids.shape[1], size=len(rows))]               # (B, T)
    lengths = (caps != vocab.pad_index).sum(1)
    T = int(lengths.max()) + 1
    words_in = np.full((len(rows), T), vocab.pad_index, dtype=np.int64)
    words_out = words_in.copy()
    words_in[:, 0] = vocab.bos_index
    words_in[:, 1:] = caps[:, :T - 1]
    words_out[:, :T - 1] = caps[:, :T - 1]
    words_out[np.arange(len(rows)), lengths] = vocab.eos_index
    return tensor(words_in), tensor(words_out)


# ---- metrics ---------------------------------------------------------------------------------------------------
def caption_scores(hypotheses: list, references: list) -> dict:
    """BLEU-1..4 (NLTK's ``corpus_bleu``, cumulative uniform n-gram weights, every reference of an image used)
    and the exact-match rate (the hypothesis equals one of its image's references).

    Args:
        hypotheses: one token list per image; references: one list of token lists per image.

    Example::

        >>> from nnzoo.recipes.caption import caption_scores
        >>> s = caption_scores([["a", "red", "circle", "at", "the", "top"]],
        ...                    [[["a", "red", "circle", "at", "the", "top"], ["there", "is", "a", "red", "circle"]]])
        >>> s["bleu4"], s["exact_match"]
        (1.0, 1.0)
    """
    from nltk.translate.bleu_score import corpus_bleu
    if len(hypotheses) != len(references):
        raise ValueError(f"caption_scores: {len(hypotheses)} hypotheses for {len(references)} images")
    weights = [(1.0,), (0.5, 0.5), (1 / 3, 1 / 3, 1 / 3), (0.25, 0.25, 0.25, 0.25)]
    with warnings.catch_warnings():    # NLTK warns when an n-gram order has no match: BLEU is then 0, as meant
        warnings.simplefilter("ignore", UserWarning)
        bleu = corpus_bleu(references, hypotheses, weights=weights)
    exact = sum(any(h == r for r in refs) for h, refs in zip(hypotheses, references))
    return {**{f"bleu{n + 1}": float(b) for n, b in enumerate(bleu)},
            "exact_match": exact / max(len(hypotheses), 1)}


def _box_share(box, fsize, size):
    """(L,) the share of each of the fsize x fsize regions (row-major) that lies inside the pixel box."""
    x0, y0, x1, y1 = box
    step = size / fsize
    lo, hi = np.arange(fsize) * step, (np.arange(fsize) + 1) * step
    ox = np.clip(np.minimum(hi, x1) - np.maximum(lo, x0), 0, None) / step          # (fsize,) columns
    oy = np.clip(np.minimum(hi, y1) - np.maximum(lo, y0), 0, None) / step          # (fsize,) rows
    return (oy[:, None] * ox[None, :]).ravel()


def attention_in_box(words: list, weights: np.ndarray, items: list, kinds: tuple, size: int) -> list:
    """Where the attention is when a generated caption names an item: for the k-th kind word (noun) of the
    caption, the k-th item of the scene in reading order, if it is of that kind; the attention mass inside the
    item's box (each region's weight times the share of the region inside the box) and the box's share of the
    image (the chance level: what uniform attention gives).

    Args:
        words: the generated caption (tokens); weights: (len(words), L) its attention rows (L = f * f regions,
        row-major); items: the scene's :class:`~nnzoo.data.datasets.scenes.SceneItem` in reading order;
        kinds: the kind words; size: the canvas side in pixels.

    Returns:
        a list of (word, mass in box, box share of the image), one per matched noun.

    Example::

        >>> from nnzoo.recipes.caption import attention_in_box
        >>> from nnzoo.data.datasets.scenes import SceneItem
        >>> w = np.zeros((2, 4)); w[1, 0] = 1.0          # the noun's step looks at the top-left region only
        >>> attention_in_box(["red", "circle"], w, [SceneItem("circle", "red", "small", 0, (0, 0, 4, 4))],
        ...                  ("circle",), 8)
        [('circle', 1.0, 0.25)]
    """
    fsize = round(math.sqrt(weights.shape[1]))
    out, k = [], 0
    for t, w in enumerate(words[:len(weights)]):
        if w not in kinds:
            continue
        if k < len(items) and items[k].kind == w:
            box = items[k].box
            area = (box[2] - box[0]) * (box[3] - box[1]) / size ** 2
            out.append((w, float(weights[t] @ _box_share(box, fsize, size)), float(area)))
        k += 1
    return out


# ---- decoding ----------------------------------------------------------------------------------------------------
def generate(model, images: np.ndarray, vocab, batch: int = 250) -> tuple:
    """Greedy captions of float32 images (N, C, S, S): (token lists, attention arrays (len + 1, L) per caption
    with the <eos> step, or Nones)."""
    words, weights = [], []
    with evaluating(model), no_grad():
        for k in range(0, len(images), batch):
            tokens, alphas = model.greedy(tensor(images[k:k + batch]))
            tokens = array(tokens)
            for j, row in enumerate(tokens):
                caption = vocab.decode(row, skip_specials=True, stop_at_eos=True)
                words.append(caption)
                weights.append(None if alphas is None else array(alphas)[j, :len(caption) + 1])
    return words, weights


def _beam(model, images, vocab, width):
    words, weights = [], []
    with evaluating(model), no_grad():
        for k in range(0, len(images), 50):
            for seq, w, _ in model.beam_search(tensor(images[k:k + 50]), beam_width=width):
                words.append(vocab.decode(seq, skip_specials=True, stop_at_eos=True))
                weights.append(w)
    return words, weights


def _references(scenes):
    return [[c.split() for c in caps] for caps in scenes.captions]


# ---- the model and the training loop ----------------------------------------------------------------------------
def _build(config, attention):
    vocab = _vocab(config)
    kw = dict(vocab=len(vocab), image_size=config["image_size"], channels=tuple(config["channels"]),
              coords=config["coords"], batch_norm=config["batch_norm"], embed=config["embed"],
              hidden=config["hidden"], dropout=config["dropout"],
              forget_bias=config["forget_bias"],
              pad_index=vocab.pad_index, bos_index=vocab.bos_index, eos_index=vocab.eos_index,
              max_len=config["max_len"])
    if attention:
        return ShowAttendTell(attn_hidden=config["attn_hidden"], gate=config["gate"], **kw)
    return ShowAndTell(**kw)


def fit(model, config: dict, data, out_dir, *, seed: int = 0, progress: bool = True, test: bool = True,
        resume: bool = False) -> dict:
    """Train with teacher forcing for ``steps`` steps, keep the best validation BLEU-4, evaluate, draw (the
    ``fit`` hook of both recipes)."""
    from ..io import save
    from ..nn.utils import clip_grad_norm_
    train, val, test_set = data
    vocab = _vocab(config)
    ids = encode_captions(train, vocab)
    attention = isinstance(model, ShowAttendTell)
    rng = np.random.default_rng(seed + 1)
    optimizer = default_optimizer(config, model)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config["steps"])
    loss_fn = nn.CrossEntropyLoss(ignore_index=vocab.pad_index)
    history = {"step": [], "loss": [], "val_step": [], "val_bleu4": [], "val_exact_match": []}
    val_refs = _references(val)
    best, best_state, running, t0 = -1.0, None, [], time.perf_counter()
    model.train()
    for step in range(1, config["steps"] + 1):
        rows = rng.integers(len(train), size=config["batch_size"])
        words_in, words_out = _batch(ids, rows, rng, vocab)
        images = tensor(train.images[rows])
        if attention:
            logits, alphas = model(images, words_in, return_attention=True)
        else:
            logits, alphas = model(images, words_in), None
        loss = loss_fn(logits.reshape(-1, logits.shape[-1]), words_out.reshape(-1))
        total = loss + config["alpha_c"] * attention_regulariser(alphas, words_out, vocab.pad_index) \
            if attention and config["alpha_c"] > 0 else loss
        optimizer.zero_grad()
        total.backward()
        if config["clip_grad_norm"]:
            clip_grad_norm_(model.parameters(), config["clip_grad_norm"])
        optimizer.step()
        scheduler.step()
        running.append(float(loss))
        evaluate = step % config["eval_every"] == 0 or step == config["steps"]
        if step % 20 == 0 or evaluate:
            history["step"].append(step)
            history["loss"].append(float(np.mean(running)))
            running = []
        if evaluate:
            hyps, _ = generate(model, val.images, vocab)
            scores = caption_scores(hyps, val_refs)
            history["val_step"].append(step)
            history["val_bleu4"].append(scores["bleu4"])
            history["val_exact_match"].append(scores["exact_match"])
            if scores["bleu4"] > best:
                best = scores["bleu4"]
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            if progress:
                print(f"step {step}/{config['steps']}: loss {history['loss'][-1]:.4f}, val BLEU-4 "
                      f"{scores['bleu4']:.4f}, exact match {scores['exact_match']:.3f} "
                      f"({time.perf_counter() - t0:.0f} s)", flush=True)
            model.train()
    train_seconds = time.perf_counter() - t0
    model.load_state_dict(best_state)
    model.eval()
    save(model.state_dict(), out_dir / "best.safetensors")
    best_at = history["val_step"][int(np.argmax(history["val_bleu4"]))]
    val_result = {"bleu4": best, "exact_match": history["val_exact_match"][history["val_step"].index(best_at)],
                  "best_step": best_at}
    result = {"val": val_result, "test": None, "epochs": None, "steps": config["steps"],
              "train_seconds": train_seconds, "seconds_per_step": train_seconds / config["steps"],
              "parameters": sum(p.numel() for p in model.parameters()), "vocab_size": len(vocab),
              "history": history, "model": model, "figures": []}
    result["figures"].append((str(_plot_history(history, out_dir / "history.png", attention)),
                              "training loss and validation BLEU-4"))
    if test:
        result.update(_evaluate(model, config, test_set, vocab, attention, out_dir))
        result["figures"] += result.pop("test_figures")
    return result


def _evaluate(model, config, scenes, vocab, attention, out_dir):
    """The test figures and pictures (greedy on every test scene, beam search on the first ``beam_scenes``)."""
    from ..data.datasets.scenes import FASHION_KINDS, SHAPE_KINDS
    refs = _references(scenes)
    hyps, weights = generate(model, scenes.images, vocab)
    test = caption_scores(hyps, refs)
    n_beam = min(config["beam_scenes"], len(scenes))
    if n_beam:
        beam_hyps, _ = _beam(model, scenes.images[:n_beam], vocab, config["beam_width"])
        test.update({f"beam_{k}": v for k, v in caption_scores(beam_hyps, refs[:n_beam]).items()})
        test["beam_scenes"], test["beam_width"] = n_beam, config["beam_width"]
    out = {"examples": [{"caption": " ".join(h), "references": scenes.captions[i]} for i, h in
                        enumerate(hyps[:12])]}
    figures = [(str(_plot_captions(scenes, hyps, out_dir / "captions.png")),
                "test scenes (never seen in training) with their greedy captions (green: equals a reference)")]
    if attention:
        kinds = SHAPE_KINDS if scenes.kinds == "shapes" else FASHION_KINDS
        hits = [m for i in range(len(scenes)) for m in attention_in_box(hyps[i], weights[i], scenes.items[i], kinds,
                                                                        scenes.size)]
        mass, chance = np.array([h[1] for h in hits]), np.array([h[2] for h in hits])
        test["attention_in_box"] = float(mass.mean()) if len(hits) else None
        test["attention_chance"] = float(chance.mean()) if len(hits) else None
        test["attention_nouns"] = len(hits)
        test["attention_above_chance"] = float((mass > chance).mean()) if len(hits) else None
        for k, i in enumerate(_attention_examples(scenes, hyps)):
            path = _plot_attention(scenes, i, hyps[i], weights[i], out_dir / f"attention_{k}.png", kinds)
            figures.append((str(path), f"attention per generated word: {' '.join(hyps[i])}"))
    out["test"], out["test_figures"] = test, figures
    return out


def _attention_examples(scenes, hyps, n=3):
    """Test scenes to draw: the first with 3, 2 and 1 items (what exists), then the first scenes."""
    picked = []
    for count in (3, 2, 1):
        i = next((i for i in range(len(scenes)) if len(scenes.items[i]) == count), None)
        if i is not None:
            picked.append(i)
    return (picked + [i for i in range(len(scenes)) if i not in picked])[:n]


# ---- pictures --------------------------------------------------------------------------------------------------
def _plot_history(history, path, attention):
    from ..viz.plots import _figure, save_figure
    fig = _figure(figsize=(9, 3.5))
    ax1, ax2 = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    ax1.plot(history["step"], history["loss"])
    ax1.set_xlabel("step")
    ax1.set_ylabel("cross-entropy per word")
    ax1.set_yscale("log")
    ax1.set_title("training loss (teacher forcing)")
    ax2.plot(history["val_step"], history["val_bleu4"], marker="o", label="BLEU-4")
    ax2.plot(history["val_step"], history["val_exact_match"], marker="s", label="exact match")
    ax2.set_xlabel("step")
    ax2.set_ylim(0, 1)
    ax2.legend()
    ax2.set_title(f"{'Show, Attend and Tell' if attention else 'Show and Tell'}: validation (greedy)")
    return save_figure(fig, path)


def _wrap(text, width=34):
    words, lines, line = text.split(), [], ""
    for w in words:
        if line and len(line) + 1 + len(w) > width:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    return "\n".join(lines + [line])


def _plot_captions(scenes, hyps, path, n=8):
    from ..viz.plots import _figure, save_figure
    n = min(n, len(scenes))
    fig = _figure(figsize=(3.0 * min(n, 4), 3.6 * math.ceil(n / 4)))
    for k in range(n):
        ax = fig.add_subplot(math.ceil(n / 4), min(n, 4), k + 1)
        ax.imshow(scenes.images[k].transpose(1, 2, 0))
        ok = any(hyps[k] == c.split() for c in scenes.captions[k])
        ax.set_title(_wrap(" ".join(hyps[k])), fontsize=7, color="tab:green" if ok else "tab:red")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return save_figure(fig, path)


def _plot_attention(scenes, i, words, weights, path, kinds):
    """The scene, then one panel per generated word (and <eos>) with its attention map over the image (regions
    drawn bilinearly, one colour scale for the caption, the items over it); the named item's box on its noun's
    panel."""
    from matplotlib.patches import Rectangle

    from ..viz.plots import _figure, save_figure
    image = scenes.images[i].transpose(1, 2, 0)
    size = scenes.size
    f = round(math.sqrt(weights.shape[1]))
    items_rgba = np.concatenate([image, image.max(-1, keepdims=True)], -1)
    top = max(float(weights.max()), 1e-6)      # one colour scale for all the words of the caption
    labels = list(words) + ["<eos>"]
    panels = 1 + len(labels)
    cols = min(8, panels)
    rows = math.ceil(panels / cols)
    fig = _figure(figsize=(1.6 * cols, 1.8 * rows))
    ax = fig.add_subplot(rows, cols, 1)
    ax.imshow(image)
    ax.set_title("scene", fontsize=8)
    ax.axis("off")
    k_item = 0
    for t, word in enumerate(labels[:len(weights)]):
        ax = fig.add_subplot(rows, cols, t + 2)
        ax.imshow(weights[t].reshape(f, f), cmap="inferno", extent=(-0.5, size - 0.5, size - 0.5, -0.5), vmin=0,
                  vmax=top, interpolation="bilinear")
        ax.imshow(items_rgba)                  # the items drawn over the map, the background left transparent
        if word in kinds:                      # a noun: the box of the item it names (as attention_in_box)
            if k_item < len(scenes.items[i]) and scenes.items[i][k_item].kind == word:
                x0, y0, x1, y1 = scenes.items[i][k_item].box
                ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, ec="cyan", lw=1))
            k_item += 1
        ax.set_title(word, fontsize=8)
        ax.axis("off")
    fig.tight_layout()
    return save_figure(fig, path)


for _name, _attention, _what in (
        ("caption", False, "Show and Tell: CNN features as the LSTM's first state"),
        ("caption-attention", True, "Show, Attend and Tell: LSTM with soft attention over the CNN's regions")):
    register(Recipe(
        name=_name,
        description=f"image captioning of generated scenes, {_what}",
        build_model=(lambda attention: lambda config: _build(config, attention))(_attention),
        load_data=scene_data,
        defaults={**DEFAULTS, "lr": 3e-3 if _attention else 1e-3},
        constraints=CONSTRAINTS,
        fit=fit,
    ))
