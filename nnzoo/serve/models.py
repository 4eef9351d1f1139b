"""What the pages compute, without the web: the runs under the runs folder that each page can use, the
models loaded from them (cached), the CNN visualiser's forward pass with every layer's output, the date
translator with its attention, the Shakespeare sampler one character at a time, the gallery's rows.

Every path a client names is a run folder *relative to the runs folder*; :meth:`Runs.resolve` refuses anything
that leaves it (``..``, absolute paths, symbolic links pointing out) before a file is opened.
"""
from __future__ import annotations

import json
import os
import pathlib
import threading
from dataclasses import dataclass

import numpy as np

__all__ = ["Runs", "RunNotFound", "BadRequest", "CLASSIFIERS", "DIGIT_LABELS", "FASHION_LABELS", "classify",
           "ensure_cnn_run"]

DIGIT_LABELS = [str(d) for d in range(10)]
FASHION_LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                  "Ankle boot"]


@dataclass(frozen=True)
class Classifier:
    """How a recipe's model reads one drawing: the input side (8: the digits' 8x8 counts 0-16; 28: Fashion-MNIST's
    28x28 grey levels 0-255), the scaling its recipe trained with, and the class names."""

    size: int
    scale: float
    shift: float
    labels: tuple
    data: str


# the recipes whose runs the CNN visualiser can load: x = pixels * scale + shift, shape (1, 1, size, size)
CLASSIFIERS = {
    "cnn": Classifier(8, 1 / 16, 0.0, tuple(DIGIT_LABELS), "digits 8x8"),        # digits(): counts / 16
    "mlp": Classifier(8, 1 / 16, 0.0, tuple(DIGIT_LABELS), "digits 8x8"),
    "logreg": Classifier(8, 1 / 16, 0.0, tuple(DIGIT_LABELS), "digits 8x8"),
    "mc-dropout": Classifier(28, 1 / 127.5, -1.0, tuple(FASHION_LABELS), "Fashion-MNIST 28x28"),  # x / 127.5 - 1
}
PIXEL_MAX = {8: 16.0, 28: 255.0}
# the layers whose outputs the visualiser does not show (they pass their input through in eval mode)
_SKIPPED = ("Dropout", "Dropout2d", "Identity", "Flatten")


class BadRequest(ValueError):
    """A request the server refuses with status ``status`` (400, 413, 422) and a message."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


class RunNotFound(BadRequest):
    """A run the client named that is not a usable run folder (404)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 404)


def _read_result(folder: pathlib.Path) -> dict | None:
    try:
        result = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return result if isinstance(result, dict) and isinstance(result.get("name"), str) else None


class Runs:
    """The runs folder: finds the runs each page can use and loads their models once (reloaded when the weights
    file changes). Thread-safe: models are run under one lock (the server's worker threads share them).

    Args:
        root: the folder ``nnzoo train --out`` wrote into (``runs``).
    """

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = pathlib.Path(root)
        self.real_root = self.root.resolve()
        self.lock = threading.RLock()
        self._models = {}           # real path -> (mtime, (recipe, config, model))
        self.notice = None          # what the server did at start (trained the digits CNN)

    # ---- paths -------------------------------------------------------------------------------------------------
    def resolve(self, run: object) -> pathlib.Path:
        """The real folder of ``run``, a path relative to the runs folder; :class:`BadRequest` (400) for anything
        that is not a plain relative path inside it."""
        if not isinstance(run, str) or not run or len(run) > 300 or "\x00" in run:
            raise BadRequest("run: expected the run's folder relative to the runs folder, e.g. \"cnn\"", 400)
        if os.path.isabs(run) or run.startswith(("/", "\\")) or ":" in run:
            raise BadRequest(f"run: {run[:80]!r} is outside the runs folder (give a path relative to it)", 400)
        real = (self.real_root / run).resolve()
        if real != self.real_root and self.real_root not in real.parents:
            raise BadRequest(f"run: {run[:80]!r} is outside the runs folder", 400)
        return real

    def relative(self, folder: pathlib.Path) -> str:
        return folder.resolve().relative_to(self.real_root).as_posix() or "."

    def file(self, path: str) -> pathlib.Path:
        """A picture inside the runs folder (``.png``, ``.svg``, ``.jpg``), for the gallery; :class:`RunNotFound`
        for anything else (outside, missing, another kind of file)."""
        try:
            real = self.resolve(path)
        except BadRequest:
            raise RunNotFound("no such picture in the runs folder") from None
        if real.suffix.lower() not in (".png", ".svg", ".jpg", ".jpeg") or not real.is_file():
            raise RunNotFound("no such picture in the runs folder")
        return real

    # ---- the runs ----------------------------------------------------------------------------------------------
    def find(self, want=None, need: str = "best.safetensors") -> list[tuple[str, dict]]:
        """``[(relative folder, result)]`` of the finished runs (result.json and the file ``need``) whose recipe is
        in ``want`` (all when None), newest first; symbolic links that leave the runs folder are skipped."""
        from ..recipes.gallery import find_runs
        out = []
        for folder, result in find_runs(self.root):
            if want is not None and result["name"] not in want:
                continue
            real = folder.resolve()
            if real != self.real_root and self.real_root not in real.parents:
                continue
            if (real / need).is_file():
                out.append((self.relative(real), result))
        return out

    def classifiers(self) -> list[dict]:
        """The runs the CNN visualiser can load, newest first: ``run``, ``recipe``, ``size``, ``data``,
        ``labels``, ``test`` (the run's test figures)."""
        from ..recipes.gallery import summarize_test
        return [{"run": rel, "recipe": r["name"], "size": CLASSIFIERS[r["name"]].size,
                 "data": CLASSIFIERS[r["name"]].data, "labels": list(CLASSIFIERS[r["name"]].labels),
                 "test": summarize_test(r.get("test"))} for rel, r in self.find(CLASSIFIERS)]

    def with_hook(self, hook: str) -> list[dict]:
        """The runs whose recipe has ``hook`` (``'translate'``, ``'sample'``), newest first."""
        from ..recipes import recipes
        names = {n for n, r in recipes().items() if getattr(r, hook) is not None}
        return [{"run": rel, "recipe": r["name"]} for rel, r in self.find(names)]

    def word_vectors(self) -> list[dict]:
        """The word2vec runs (``word2vec``, ``cbow``: their ``vectors.bin``), newest first."""
        return [{"run": rel, "recipe": r["name"]} for rel, r in self.find(WORD_VECTORS, need="vectors.bin")]

    def vectors(self, run: str | None):
        """``(relative run, KeyedVectors)`` of a word2vec run (the newest when ``run`` is None), cached."""
        from ..zoo.word2vec import KeyedVectors
        usable = self.word_vectors()
        if run is None:
            if not usable:
                raise RunNotFound(_missing("analogy", self.root))
            run = usable[0]["run"]
        real = self.resolve(run)
        rel = self.relative(real)
        if rel not in {u["run"] for u in usable}:
            raise RunNotFound(f"run: no word2vec run {run[:80]!r} in the runs folder (its runs: "
                              f"{', '.join(u['run'] for u in usable) or 'none'})")
        path = real / "vectors.bin"

        def read():
            try:
                return KeyedVectors.load_word2vec_format(path, binary=True)
            except (OSError, ValueError, UnicodeDecodeError) as e:
                raise RunNotFound(f"run: {rel}/vectors.bin cannot be read ({type(e).__name__})") from None
        return rel, self._cached(str(path), path, read)

    def _cached(self, key: str, path: pathlib.Path, load):
        """``load()``'s value, kept under ``key`` and loaded again only when ``path``'s modification time changes."""
        with self.lock:
            mtime = path.stat().st_mtime
            hit = self._models.get(key)
            if hit is None or hit[0] != mtime:
                hit = (mtime, load())
                self._models[key] = hit
        return hit[1]

    def load(self, run: str | None, kind: str):
        """``(relative run, recipe, config, model)`` of the run the client asked for, or of the newest usable one
        when ``run`` is None. ``kind``: ``'classifier'``, ``'translate'`` or ``'sample'``."""
        from ..recipes import RunError, load_run, recipes

        def usable():
            return self.classifiers() if kind == "classifier" else self.with_hook(kind)
        if run is None:
            runs = usable()
            if not runs:
                raise RunNotFound(_missing(kind, self.root))
            run = runs[0]["run"]
        real = self.resolve(run)
        rel = self.relative(real)
        # NOTE: a named run is checked in its own folder, not by scanning the runs folder (every result.json under
        # it) on each request: the visualiser names its run, and a stroke's latency is the budget
        result = _read_result(real)
        name = result["name"] if result else None
        fits = CLASSIFIERS if kind == "classifier" else \
            {n for n, r in recipes().items() if getattr(r, kind) is not None}
        if name not in fits or not (real / "best.safetensors").is_file():
            raise RunNotFound(f"run: no {_WHAT[kind]} run {run[:80]!r} in the runs folder (its runs: "
                              f"{', '.join(u['run'] for u in usable()) or 'none'})")
        def read():
            try:
                return load_run(real)
            except (FileNotFoundError, RunError, ValueError, OSError) as e:
                raise RunNotFound(f"run: {rel} cannot be loaded ({' '.join(str(e).split())[:200]})") from None
        r, config, model = self._cached(str(real), real / "best.safetensors", read)
        return rel, r, config, model


_WHAT = {"classifier": "image classifier", "translate": "translation", "sample": "text-writing",
         "analogy": "word-vector"}
_TRAIN = {"classifier": "cnn", "translate": "date-translator", "sample": "char-rnn", "analogy": "word2vec"}
WORD_VECTORS = ("word2vec", "cbow")


def _missing(kind: str, root: pathlib.Path) -> str:
    name = _TRAIN[kind]
    return (f"no {_WHAT[kind]} run in the runs folder; train one: nnzoo train {name} --out "
            f"{(root / name).as_posix()}")


def ensure_cnn_run(runs: Runs, overrides: dict | None = None, progress: bool = False) -> str | None:
    """Train the digits CNN (recipe ``cnn``, seconds) into ``RUNS/cnn`` when the runs folder holds no run the
    visualiser can load. Returns what was done (also kept in ``runs.notice``), or None when nothing was needed."""
    if runs.classifiers():
        return None
    from ..recipes import run_recipe
    out = runs.root / "cnn"
    if out.exists() and any(out.iterdir()):
        out = runs.root / "cnn-serve"
    result = run_recipe("cnn", out_dir=out, overrides=overrides or {}, seed=0, progress=progress)
    acc = (result.get("test") or {}).get("accuracy")
    runs.notice = (f"No image classifier was in {runs.root.as_posix()}: the server trained the digits CNN "
                   f"(nnzoo train cnn --out {out.as_posix()})"
                   + (f", test accuracy {acc:.1%}" if isinstance(acc, float) else "") + ".")
    return runs.notice


# ---- the CNN visualiser ----------------------------------------------------------------------------------------
def check_pixels(pixels: object) -> np.ndarray:
    """The drawing as a float64 (n, n) array, n = 8 (counts 0-16) or 28 (grey levels 0-255); :class:`BadRequest`
    (422) for anything else: another shape, ragged rows, non-numbers (booleans too), NaN or infinity, values out
    of range."""
    if not isinstance(pixels, list) or len(pixels) not in (8, 28):
        got = f"{len(pixels)} rows" if isinstance(pixels, list) else type(pixels).__name__
        raise BadRequest(f"pixels: expected an 8x8 (digits, counts 0-16) or 28x28 (grey levels 0-255) array of "
                         f"numbers, got {got}")
    n = len(pixels)
    for i, row in enumerate(pixels):
        if not isinstance(row, list) or len(row) != n:
            got = f"{len(row)} numbers" if isinstance(row, list) else type(row).__name__
            raise BadRequest(f"pixels: row {i} must hold {n} numbers ({n}x{n}), got {got}")
        for v in row:
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise BadRequest(f"pixels: row {i} holds a {type(v).__name__}; every pixel must be a number")
    try:
        a = np.asarray(pixels, dtype=np.float64)
    except OverflowError:           # an integer beyond float64 (JSON allows 10**400)
        raise BadRequest("pixels: a number too large to be a pixel") from None
    if not np.isfinite(a).all():
        raise BadRequest("pixels: NaN or infinite values are not pixels")
    top = PIXEL_MAX[n]
    if a.min() < 0 or a.max() > top:
        raise BadRequest(f"pixels: a {n}x{n} drawing holds values in [0, {top:g}], got [{a.min():g}, {a.max():g}]")
    return a


def _layer_record(name: str, module, out) -> dict | None:
    from ..tensor import Tensor
    if not isinstance(out, Tensor):
        return None
    a = np.asarray(out.detach()[0], dtype=np.float64)         # drop the batch of one
    if a.ndim == 3:                                           # (C, H, W): one map per channel
        maps = a
    elif a.ndim == 1:                                         # (F,): one row
        maps = a[None, None, :]
    elif a.ndim == 2:                                         # (C, L)
        maps = a[:, None, :]
    else:
        return None
    return {"name": f"{name}: {type(module).__name__}", "shape": list(a.shape),
            "maps": np.round(maps, 4).tolist()}


def classify(runs: Runs, pixels: object, run: str | None = None) -> dict:
    """``POST /api/cnn``: the drawing through a classifier run, every layer's output recorded by forward hooks.

    Returns:
        dict: ``layers`` (``[{"name", "shape", "maps"}]`` in the order the layers ran; ``maps`` is a list of 2-D
        arrays, one per channel; a vector layer is one 1 x F map), ``probs`` (softmax of the logits), ``top``
        (the first and second guesses, ``{"label", "prob"}``), ``run``, ``input`` (the array the model read).
    """
    from .. import tensor
    from ..autograd.grad_mode import no_grad
    from ..nn.functional import softmax
    a = check_pixels(pixels)
    rel, r, _, model = runs.load(run, "classifier")
    spec = CLASSIFIERS[r.name]
    if a.shape[0] != spec.size:
        raise BadRequest(f"pixels: the run {rel} ({r.name}) reads {spec.data} drawings, got {a.shape[0]}x{a.shape[0]}")
    x = tensor((a * spec.scale + spec.shift).astype(np.float32)[None, None])    # (1, 1, n, n)
    layers = []

    def recorder(name, module):
        def hook(mod, args, out):
            rec = _layer_record(name, module, out)
            if rec is not None:
                layers.append(rec)
        return hook

    with runs.lock:
        leaves = [(n, m) for n, m in model.named_modules()
                  if n and not list(m.children()) and type(m).__name__ not in _SKIPPED]
        handles = [m.register_forward_hook(recorder(n, m)) for n, m in leaves]
        try:
            model.eval()
            with no_grad():
                logits = model(x)
        finally:
            for h in handles:
                h.remove()
    probs = np.asarray(softmax(logits, dim=1).detach()[0], dtype=np.float64)
    order = np.argsort(-probs)[:2]
    return {"layers": layers, "probs": np.round(probs, 6).tolist(),
            "top": [{"label": spec.labels[i], "prob": round(float(probs[i]), 6)} for i in order],
            "run": rel, "recipe": r.name, "input": np.round(a, 4).tolist()}


# ---- the playgrounds -------------------------------------------------------------------------------------------
def translate(runs: Runs, text: object, run: str | None = None) -> dict:
    """``POST /api/translate``: a date translated by a seq2seq run, with its attention weights (output
    characters x input characters; None for the Transformer)."""
    from ..recipes.seq2seq import decode_batch, source_text
    if not isinstance(text, str) or not text.strip():
        raise BadRequest("text: give a date to translate, e.g. \"saturday 9 may 2018\"")
    if len(text) > 200:
        raise BadRequest(f"text: at most 200 characters, got {len(text)}")
    rel, r, config, model = runs.load(run, "translate")
    clean, notes = source_text(config, text)
    if not clean:
        raise BadRequest(f"text: nothing left to translate: {'; '.join(notes)}")
    with runs.lock:
        outputs, weights = decode_batch(model, [clean], config)
    out = outputs[0]
    tokens = list(out) + ["<eos>"]              # the decoder's steps: each character, then the end of sequence
    attention = None
    if weights is not None:
        w = np.asarray(weights.detach() if hasattr(weights, "detach") else weights, dtype=np.float64)[0]
        w = w[:len(tokens), :len(clean)]        # a decoder stopped by its length cap wrote no <eos>
        tokens = tokens[:len(w)]
        attention = np.round(w, 4).tolist()
    return {"translation": out, "source": clean, "notes": notes, "attention": attention,
            "output_tokens": tokens, "run": rel, "recipe": r.name}


def check_sample_request(body: dict) -> dict:
    """The sampler's settings, checked: ``prompt`` (1-500 characters), ``length`` (1-2000), ``temperature``
    (0-5, 0 greedy), ``top_k`` (None or >= 1), ``seed`` (None or 0..2**63-1)."""
    prompt = body.get("prompt", "\n")
    if not isinstance(prompt, str) or not 1 <= len(prompt) <= 500:
        raise BadRequest("prompt: 1 to 500 characters of text")
    out = {"prompt": prompt}
    for key, lo, hi, default, kind in (("length", 1, 2000, 300, int), ("temperature", 0.0, 5.0, 0.8, float),
                                       ("top_k", 1, 10_000, None, int), ("seed", 0, 2 ** 63 - 1, None, int)):
        v = body.get(key, default)
        if v is None:
            out[key] = None
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)) or (kind is int and not float(v).is_integer()) \
                or not lo <= v <= hi or v != v:
            raise BadRequest(f"{key}: expected {'an integer' if kind is int else 'a number'} in [{lo}, {hi}]")
        out[key] = kind(v)
    return out


def sample_stream(runs: Runs, settings: dict, run: str | None = None):
    """The run, and a generator of the sampled text one character at a time (``POST /api/sample``).

    A char-RNN carries its state from character to character; other models (the char-GPT) are asked for one
    more character of the text so far, cropped to their context."""
    from ..random import Generator
    rel, r, config, model = runs.load(run, "sample")
    generator = Generator().manual_seed(settings["seed"]) if settings["seed"] is not None else None

    def rnn_chars():        # a char-RNN: the prompt once, then one step per character with the state carried
        from .. import tensor
        from ..autograd.grad_mode import no_grad
        from ..recipes.char_rnn import config_works, shakespeare_vocab
        from ..zoo.generate import encode_prompt, sample_next
        vocab = shakespeare_vocab(config_works(config))
        ids, specials = encode_prompt(vocab, settings["prompt"])
        with runs.lock, no_grad():
            model.eval()
            logits, state = model(tensor(ids).reshape(-1, 1))          # (len(prompt), 1, V)
            last = logits[-1, 0]
        for _ in range(settings["length"]):
            with runs.lock, no_grad():
                nxt = sample_next(last, settings["temperature"], settings["top_k"], generator, exclude=specials)
                logits, state = model(tensor([[nxt]]), state)           # (1, 1, V)
                last = logits[0, 0]
            yield vocab.decode([nxt])

    def chars():            # any other model: one more character of the text so far, cropped to its context
        text = settings["prompt"]
        context = int(config.get("block_size", 0) or 0) or 400
        for _ in range(settings["length"]):
            with runs.lock:
                piece = r.sample(model, config, text[-context:], 1, settings["temperature"], settings["top_k"],
                                 generator)
            ch = piece[len(text[-context:]):]
            text += ch
            yield ch
    from ..zoo.char_rnn import CharRNN
    return rel, r.name, (rnn_chars() if isinstance(model, CharRNN) else chars())


def analogy(runs: Runs, body: dict, run: str | None = None) -> dict:
    """``POST /api/analogy``: ``a`` is to ``b`` as ``c`` is to ...? The ``topn`` words nearest to
    b - a + c (3CosAdd over unit vectors, gensim's ``most_similar(positive=[b, c], negative=[a])``)."""
    words = []
    for key in ("a", "b", "c"):
        w = body.get(key)
        if not isinstance(w, str) or not w.strip() or len(w) > 50:
            raise BadRequest(f"{key}: a word (1-50 characters), e.g. a=boy, b=king, c=girl")
        words.append(w.strip())
    topn = body.get("topn", 5)
    if isinstance(topn, bool) or not isinstance(topn, int) or not 1 <= topn <= 50:
        raise BadRequest("topn: an integer in [1, 50]")
    rel, kv = runs.vectors(run)
    missing = [w for w in words if w not in kv]
    if missing:
        raise BadRequest(f"not in the vocabulary of {rel}: {', '.join(missing)} (its {len(kv)} words are lower "
                         "case)")
    a, b, c = words
    found = kv.most_similar(positive=[b, c], negative=[a], topn=topn)
    return {"answers": [{"word": w, "similarity": round(s, 6)} for w, s in found], "run": rel}


def gallery_rows(runs: Runs) -> list[dict]:
    """``GET /api/gallery``: the rows of :func:`nnzoo.recipes.gallery.gallery` over the runs folder, each
    picture as a path relative to the runs folder (None when the run's picture lies outside it)."""
    from ..recipes.gallery import gallery
    rows = []
    for row in gallery(runs.root):
        picture = None
        if row["picture"] is not None:
            real = pathlib.Path(row["picture"]).resolve()
            if runs.real_root in real.parents:
                picture = real.relative_to(runs.real_root).as_posix()
        run = row["run"]
        rows.append({**row, "picture": picture, "run": runs.relative(pathlib.Path(run)) if run else None})
    return rows
