"""Recipes of :mod:`nnzoo.zoo.seq2seq`: ``date-translator`` (the attention GRU) and ``date-transformer``.

Human-readable dates to ISO dates (``"saturday 9 may 2018" -> "2018-05-09"``) from
:func:`~nnzoo.data.datasets.dates.dates`, character by character; tested on 1,000 freshly generated dates whose
text never occurs in training, by the exact match and the per-character accuracy of the greedy decoding.
``nnzoo translate "saturday 9 may 2018"`` runs the recipes' ``translate`` hook (:func:`translate_text`) on a
trained model. Data hyper-parameters: ``locales`` (comma-separated Babel names, '' for all 8 of
``DATE_LOCALES``), ``formats`` ('|'-separated, since CLDR patterns hold commas; '' for all 18 of
``DATE_FORMATS``), ``n_train`` / ``n_val`` / ``n_test`` and ``data_seed``. The recipes use the full mixture;
about 0.25% of its dates (en_US's M/d/yy with day and month both <= 12) read two ways, so no model reaches 100%.

Measured (``python -m benchmarks.date_translation``: 1 BLAS thread on a shared 2-core machine, defaults, seed 0):
``date-translator`` 99.6% exact match, 99.88% characters on the 1,000 test dates after 97 s of training (3 epochs);
``date-transformer`` 99.2% and 99.85% after 241 s (6 epochs).
"""
from __future__ import annotations

import functools

import numpy as np

from .. import nn
from ..creation import tensor
from ..nn.utils import evaluating
from ..tensor import Tensor
from ..zoo.seq2seq import Seq2Seq, TransformerSeq2Seq
from . import Recipe, register

__all__ = ["SequenceLoss", "token_accuracy", "translation_scores", "date_vocabs", "date_splits", "longest_date",
           "source_text", "translate", "translate_text", "attention_figure"]

_CELLS = ("gru", "lstm")


def _array(t):
    return t._data if isinstance(t, Tensor) else np.asarray(t)


# ---- loss and metrics --------------------------------------------------------------------------------------------
class SequenceLoss(nn.Module):
    """Mean cross-entropy of (B, T, V) logits against (B, T) targets over the non-padding positions."""

    def __init__(self, pad_index=0):
        super().__init__()
        self.pad_index = pad_index
        self.loss = nn.CrossEntropyLoss(ignore_index=pad_index)

    def forward(self, logits, target):
        return self.loss(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))


def token_accuracy(logits, target, pad_index=0):
    """The fraction of non-padding target tokens that are the argmax of their (teacher-forced) logits.

    Example::

        >>> from nnzoo.recipes.seq2seq import token_accuracy
        >>> token_accuracy(nnzoo.tensor([[[0.0, 1.0], [1.0, 0.0], [0.0, 1.0]]]), nnzoo.tensor([[1, 1, 0]]))
        0.5
    """
    t = _array(target)
    keep = t != pad_index
    return float((_array(logits).argmax(-1) == t)[keep].mean())


def translation_scores(predictions, targets):
    """Exact match (the fraction of predicted strings equal to their target) and per-character accuracy
    (characters of the targets that the prediction has at the same position, over all target characters;
    a prediction's missing characters count as wrong).

    Example::

        >>> from nnzoo.recipes.seq2seq import translation_scores
        >>> translation_scores(["2018-05-09", "2018-05-1"], ["2018-05-09", "2018-05-10"])
        {'exact_match': 0.5, 'char_accuracy': 0.95}
    """
    if len(predictions) != len(targets):
        raise ValueError(f"translation_scores: {len(predictions)} predictions for {len(targets)} targets")
    exact = sum(p == t for p, t in zip(predictions, targets))
    right = sum(sum(a == b for a, b in zip(p, t)) for p, t in zip(predictions, targets))
    total = sum(len(t) for t in targets)
    return {"exact_match": exact / max(len(targets), 1), "char_accuracy": right / max(total, 1)}


# ---- the date-translation data -------------------------------------------------------------------------------------
def _split(text, sep):
    return tuple(s for s in text.split(sep) if s) if text else ()


def _locales_formats(config):
    from ..data.datasets.dates import DATE_FORMATS, DATE_LOCALES
    locales, formats = _split(config.get("locales", ""), ","), _split(config.get("formats", ""), "|")
    return locales or DATE_LOCALES, formats or DATE_FORMATS


@functools.lru_cache(maxsize=8)
def date_vocabs(locales, formats):
    """(source, target) character vocabularies of the date task, a function of the locales and formats only
    (so a trained model's vocabularies are rebuilt from its config): the characters of every 5th day of 2000
    (all months, all weekdays, all digits) written in every locale and format, lower-cased; and '0'-'9', '-'.
    Both have the specials <pad> <unk> <bos> <eos> at 0-3.

    Example::

        >>> from nnzoo.recipes.seq2seq import date_vocabs
        >>> src, tgt = date_vocabs(("en_GB",), ("d MMMM y",))
        >>> tgt.itos[4:], "y" in src, src.encode("9 may 2018")[:2] == [src["9"], src[" "]]
        (['-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], True, True)
    """
    import datetime

    from babel import Locale
    from babel.dates import format_date

    from ..data import Vocab
    days = [datetime.date(2000, 1, 1) + datetime.timedelta(days=5 * k) for k in range(73)]
    text = "".join(format_date(d, fmt, locale=Locale.parse(loc)).lower()
                   for loc in locales for fmt in formats for d in days)
    return Vocab.chars(text), Vocab(sorted("0123456789-"), tokenizer="char")


def _fresh(n, seed, locales, formats, unseen):
    """n pairs from dates(seed, seed + 1000, ...) whose source text is not in ``unseen``."""
    from ..data.datasets.dates import dates
    out, k = [], 0
    while len(out) < n:
        out += [p for p in dates(2 * n, seed=seed + 1000 * k, locales=locales, formats=formats) if p[0] not in unseen]
        k += 1
    return out[:n]


@functools.lru_cache(maxsize=4)
def _date_pairs(n_train, n_val, n_test, data_seed, locales, formats):
    from ..data.datasets.dates import dates
    train = dates(n_train, seed=data_seed, locales=locales, formats=formats)
    seen = {s for s, _ in train}
    val = _fresh(n_val, data_seed + 1, locales, formats, seen)
    test = _fresh(n_test, data_seed + 2, locales, formats, seen | {s for s, _ in val})
    return train, val, test


def date_splits(config):
    """(train, val, test) lists of (text, iso) pairs: ``n_train`` dates drawn with ``data_seed``; validation
    and test sets of fresh dates (other seeds) whose text occurs in no earlier split (checked here)."""
    locales, formats = _locales_formats(config)
    return _date_pairs(config["n_train"], config["n_val"], config["n_test"], config["data_seed"], locales, formats)


def _encode_pairs(pairs, src_vocab, tgt_vocab):
    """TensorDataset of src (N, L) padded, lengths (N,), tgt_in (N, T) = <bos> y, tgt_out (N, T) = y <eos>."""
    from ..data import TensorDataset
    src = [src_vocab.encode(s) for s, _ in pairs]
    tgt = [tgt_vocab.encode(t) for _, t in pairs]
    L, T = max(map(len, src)), max(map(len, tgt)) + 1
    S = np.full((len(pairs), L), src_vocab.pad_index, dtype=np.int64)
    Ti = np.full((len(pairs), T), tgt_vocab.pad_index, dtype=np.int64)
    To = Ti.copy()
    for k, (s, t) in enumerate(zip(src, tgt)):
        S[k, :len(s)] = s
        Ti[k, :len(t) + 1] = [tgt_vocab.bos_index] + t
        To[k, :len(t) + 1] = t + [tgt_vocab.eos_index]
    lengths = np.array([len(s) for s in src], dtype=np.int64)
    return TensorDataset(tensor(S), tensor(lengths), tensor(Ti), tensor(To))


def _load(config):
    src_vocab, tgt_vocab = date_vocabs(*_locales_formats(config))
    return tuple(_encode_pairs(p, src_vocab, tgt_vocab) for p in date_splits(config))


def _loaders(config, data, seed):
    from ..data import DataLoader
    from ..random import Generator
    train, val, test = data
    return (DataLoader(train, batch_size=config["batch_size"], shuffle=True, generator=Generator().manual_seed(seed)),
            DataLoader(val, batch_size=500), DataLoader(test, batch_size=500))


def _batch(batch):
    """((src, lengths, tgt_in), tgt_out) with src cut to the batch's longest source."""
    src, lengths, tgt_in, tgt_out = batch
    return (src[:, :int(_array(lengths).max())], lengths, tgt_in), tgt_out


def _vocabs(config):
    return date_vocabs(*_locales_formats(config))


def _build_attention(config):
    src, tgt = _vocabs(config)
    return Seq2Seq(src_vocab=len(src), tgt_vocab=len(tgt), embed=config["embed"], enc_hidden=config["enc_hidden"],
                   dec_hidden=config["dec_hidden"], attn_hidden=config["attn_hidden"], cell=config["cell"],
                   teacher_forcing=config["teacher_forcing"], pad_index=src.pad_index, bos_index=tgt.bos_index,
                   eos_index=tgt.eos_index, max_len=12)


def _build_transformer(config):
    src, tgt = _vocabs(config)
    return TransformerSeq2Seq(src_vocab=len(src), tgt_vocab=len(tgt), d_model=config["d_model"],
                              nhead=config["nhead"], layers=config["layers"],
                              dim_feedforward=config["dim_feedforward"], dropout=config["dropout"],
                              norm_first=config["norm_first"], positions=config["positions"],
                              pad_index=src.pad_index, bos_index=tgt.bos_index, eos_index=tgt.eos_index, max_len=12)


def decode_batch(model, texts: list[str], config: dict):
    """Greedy translations of a list of texts, and the attention weights (None for the Transformer)."""
    src_vocab, tgt_vocab = _vocabs(config)
    ds = _encode_pairs([(t.lower(), "") for t in texts], src_vocab, tgt_vocab)
    src, lengths = ds.tensors[0], ds.tensors[1]
    with evaluating(model):
        out = model.greedy(src, lengths)
    tokens, weights = out if isinstance(out, tuple) else (out, None)
    return tgt_vocab.decode(tokens, skip_specials=True, stop_at_eos=True), weights


@functools.lru_cache(maxsize=8)
def longest_date(locales, formats):
    """The length of the longest date text the locales and formats write (lower-cased): every month with
    every weekday and a two-digit day (the 22nd-28th of each month of 2000), so the longest month and
    weekday names meet: 38 for the date recipes' defaults (all locales and formats)."""
    import datetime

    from babel import Locale
    from babel.dates import format_date
    days = [datetime.date(2000, month, day) for month in range(1, 13) for day in range(22, 29)]
    return max(len(format_date(d, fmt, locale=Locale.parse(loc))) for loc in locales for fmt in formats for d in days)


# how many characters beyond the longest date the recipes write ``source_text`` keeps (spellings of a
# date a little longer than the trained formats); more is cut
_SOURCE_MARGIN = 10


def source_text(config, text):
    """``text`` made fit for a date model trained with ``config``: lower-cased, runs of white space made one
    space, characters outside the source vocabulary dropped, and the rest cut to ``longest_date`` of the
    config's locales and formats plus 10 characters (a bound on what the recipe's data can hold).

    Returns:
        (str, list of str): the text to translate (maybe empty) and notes on what was dropped or cut.

    Example::

        >>> from nnzoo.recipes.seq2seq import source_text
        >>> source_text({"locales": "en_GB", "formats": "d MMMM y"}, "Saturday 9 May 2018 ☺")
        ('saturday 9 may 2018', ["dropped 1 character outside the model's vocabulary: '☺'"])
    """
    src_vocab, _ = _vocabs(config)
    clean = " ".join(str(text).lower().split())
    unknown = [ch for ch in clean if ch != " " and ch not in src_vocab]
    notes = []
    if unknown:
        kinds = list(dict.fromkeys(unknown))
        shown = ", ".join(map(repr, kinds[:8])) + (f" and {len(kinds) - 8} more" if len(kinds) > 8 else "")
        notes.append(f"dropped {len(unknown)} character{'s' if len(unknown) > 1 else ''} outside the model's "
                     f"vocabulary: {shown}")
        clean = " ".join("".join(ch for ch in clean if ch == " " or ch in src_vocab).split())
    limit = longest_date(*_locales_formats(config)) + _SOURCE_MARGIN
    if len(clean) > limit:
        notes.append(f"cut the text to its first {limit} characters (the longest date the model was trained on "
                     f"has {limit - _SOURCE_MARGIN}): {clean[:limit]!r}")
        clean = clean[:limit].rstrip()
    return clean, notes


def translate(model: nn.Module, config: dict, text: str) -> str:
    """The model's (greedy) translation of one text: ``translate(model, config, "saturday 9 may 2018")`` ->
    ``'2018-05-09'`` for a trained date translator (``config`` is the run's, for the vocabularies)."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"translate: expected a non-empty str, got {text!r}")
    return decode_batch(model, [text.strip()], config)[0][0]


def translate_text(model: nn.Module, config: dict, text: str) -> tuple[str, list[str]]:
    """The recipes' ``translate`` hook (``nnzoo translate``): :func:`source_text` then :func:`translate`.

    Returns:
        (the translation, notes on what :func:`source_text` dropped or cut).

    Raises:
        ValueError: ``'nothing left to translate: NOTES'`` when no character of ``text`` is left.
    """
    clean, notes = source_text(config, text)
    if not clean:
        raise ValueError(f"nothing left to translate: {'; '.join(notes)}")
    return translate(model, config, clean), notes


def attention_figure(weights, source, output, title=None):
    """A heat-map of attention weights (output characters x input characters) as a matplotlib Figure.

    Args:
        weights: (len(output), >= len(source)) array; source, output: the strings (or token lists).
    """
    from ..viz.plots import _figure
    w = np.asarray(weights)[:len(output), :len(source)]
    output = list(output)[:w.shape[0]]
    fig = _figure(figsize=(max(3.0, 0.28 * len(source) + 1.0), max(2.5, 0.28 * len(output) + 1.0)))
    ax = fig.add_subplot()
    im = ax.imshow(w, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(source)), [("␣" if ch == " " else ch) for ch in source])
    ax.set_yticks(range(len(output)), output)
    ax.set_xlabel("input characters")
    ax.set_ylabel("output characters")
    if title:
        ax.set_title(title, fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return fig


def _finish(model, config, data, out_dir):
    """Greedy exact match and character accuracy on the test (and validation) dates, examples, heat-maps."""
    from ..viz.plots import save_figure
    train_pairs, val_pairs, test_pairs = date_splits(config)
    seen = {s for s, _ in train_pairs}
    if any(s in seen for s, _ in test_pairs) or any(s in seen for s, _ in val_pairs):
        raise RuntimeError("date recipe: a test or validation date also occurs in the training set")
    result = {}
    for name, pairs in (("val", val_pairs), ("test", test_pairs)):
        preds = []
        for k in range(0, len(pairs), 500):
            preds += decode_batch(model, [s for s, _ in pairs[k:k + 500]], config)[0]
        scores = translation_scores(preds, [t for _, t in pairs])
        result[f"{name}_exact_match"], result[f"{name}_char_accuracy"] = scores["exact_match"], scores["char_accuracy"]
        if name == "test":
            result["test_errors"] = [(s, t, p) for (s, t), p in zip(pairs, preds) if p != t][:20]
    examples = [test_pairs[k][0] for k in range(0, len(test_pairs), max(1, len(test_pairs) // 6))][:6]
    examples = ["saturday 9 may 2018"] + examples
    outputs, weights = decode_batch(model, examples, config)
    result["examples"] = list(zip(examples, outputs))
    result["parameters"] = sum(p.numel() for p in model.parameters())
    figures = []
    if weights is not None:
        for k in range(min(4, len(examples))):
            out = outputs[k] + "⟨eos⟩"
            fig = attention_figure(_array(weights)[k], examples[k], list(outputs[k]) + ["<eos>"],
                                   title=f"{examples[k]!r} -> {outputs[k]!r}")
            path = save_figure(fig, out_dir / f"attention_{k}.png")
            figures.append((str(path), f"attention: {examples[k]!r} -> {out}"))
    result["figures"] = figures
    return result


_DATA_DEFAULTS = {"locales": "", "formats": "", "n_train": 50000, "n_val": 1000, "n_test": 1000, "data_seed": 0}


def _known_locales(text, config=None):
    from babel import Locale
    try:
        return all(Locale.parse(name) for name in _split(text, ","))
    except Exception:   # babel's UnknownLocaleError and ValueError for a malformed name
        return False


def _writable_formats(text, config):
    """Every format writes a date in every locale of the config (Babel fails on, e.g., time-zone fields)."""
    import datetime

    from babel.dates import format_date
    locales, formats = _locales_formats(config) if _known_locales(config.get("locales", "")) else ((), ())
    try:
        return all(format_date(datetime.date(2000, 9, 27), f, locale=loc) for loc in locales for f in formats)
    except Exception:   # whatever Babel raises for a pattern it cannot write
        return False


def _data_rules():
    """The data hyper-parameters with rules of their own (see Recipe.constraints)."""
    from ..data.datasets.dates import DATE_FORMATS, DATE_LOCALES
    return {"locales": (_known_locales, f"'' (all of {','.join(DATE_LOCALES)}) or comma-separated Babel locale "
                                        "names, e.g. en_GB,fr_FR"),
            "formats": (_writable_formats, f"'' (the {len(DATE_FORMATS)} default formats) or |-separated Babel "
                                           "date formats, e.g. 'd MMMM y|short'")}

register(Recipe(
    name="date-translator",
    description="human-readable dates -> ISO dates: bi-GRU encoder, GRU decoder with Bahdanau attention",
    build_model=_build_attention,
    load_data=_load,
    loss=SequenceLoss,
    defaults={**_DATA_DEFAULTS, "embed": 32, "enc_hidden": 64, "dec_hidden": 128, "attn_hidden": 64, "cell": "gru",
              "teacher_forcing": 1.0, "epochs": 3, "lr": 3e-3, "batch_size": 128, "optimizer": "adam",
              "clip_grad_norm": 1.0},
    metrics=(token_accuracy,),
    loaders=_loaders,
    trainer_options={"batch_fn": _batch},
    finish=_finish,
    translate=translate_text,
    constraints={**_data_rules(), "cell": (lambda v, c: v in _CELLS, " or ".join(_CELLS)),
                 "teacher_forcing": (lambda v, c: 0 <= v <= 1, "a number in [0, 1]")},
))

register(Recipe(
    name="date-transformer",
    description="human-readable dates -> ISO dates with a Transformer encoder-decoder",
    build_model=_build_transformer,
    load_data=_load,
    loss=SequenceLoss,
    defaults={**_DATA_DEFAULTS, "d_model": 64, "nhead": 4, "layers": 2, "dim_feedforward": 256, "dropout": 0.0,
              "norm_first": True, "positions": "sinusoidal", "epochs": 6, "lr": 2e-3, "batch_size": 128,
              "optimizer": "adam", "clip_grad_norm": 1.0},
    metrics=(token_accuracy,),
    loaders=_loaders,
    trainer_options={"batch_fn": _batch},
    finish=_finish,
    translate=translate_text,
    constraints={**_data_rules(), "positions": (lambda v, c: v in ("sinusoidal", "learned"), "sinusoidal or learned"),
                 "d_model": (lambda v, c: v >= 1 and v % c["nhead"] == 0,
                             "an integer >= 1, a multiple of nhead ({nhead})")},
))
