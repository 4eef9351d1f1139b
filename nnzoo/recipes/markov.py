"""Recipe ``markov``: n-gram Markov chains over the characters and the words of the bundled Shakespeare corpus,
held-out perplexity per order against the char-RNN's, the first-order chain's stationary distribution, samples.

The data are the char-RNN's (:func:`nnzoo.recipes.char_rnn.shakespeare_streams`: each of the 42 works split
90/5/5 into train/validation/test, the 88-symbol vocabulary of the training split), so the perplexities are
comparable with the char-RNN's: its recorded figure (benchmarks/README.md, 3,000 steps) is a validation loss of
1.4102 nats per character, a perplexity of exp(1.4102) = 4.097. Words: the same splits tokenised by
:func:`~nnzoo.zoo.markov.tokenize_words`, the words seen fewer than ``word_min_count`` times in training mapped
to ``<unk>``.

::

    nnzoo train markov --set max_order=8 word_max_order=4 smoothing=kneser_ney

result.json's ``test``: ``perplexity`` (characters, the order with the best validation perplexity, on the test
split), ``order`` (that order), ``word_perplexity``, ``seconds`` (counting time); ``orders`` holds validation and
test perplexity per order (characters and words), ``samples`` a 500-character sample after "ROMEO:" per order,
``stationary`` the power-iteration and eigenvector distributions' agreement.
"""
from __future__ import annotations

import math
import time

import numpy as np

from ..zoo.markov import (
    SMOOTHINGS,
    NGramChain,
    stationary_eigenvector,
    stationary_power,
    tokenize_words,
    transition_matrix,
)
from . import Recipe, register
from .char_rnn import WORKS_RULE, shakespeare_vocab

__all__ = ["CHAR_RNN_VAL_LOSS", "load_data", "fit"]

# the char-RNN's recorded validation loss after 3,000 steps, nats per character (benchmarks/README.md,
# benchmarks/results/char_rnn.json: runs.nnzoo.final_val_loss); its perplexity is exp of it
CHAR_RNN_VAL_LOSS = 1.4101783688501193

DEFAULTS = {"level": "both", "max_order": 8, "word_max_order": 4, "smoothing": "kneser_ney", "k": 1.0,
            "word_min_count": 2, "sample_length": 500, "temperature": 1.0, "works": "", "train_chars": 0,
            "eval_chars": 0}

CONSTRAINTS = {
    "level": (lambda v, c: v in ("char", "word", "both"), "char, word or both"),
    "max_order": (lambda v, c: 1 <= v <= 9, "an integer in [1, 9] (longer keys overflow int64 over 88 symbols)"),
    "word_max_order": (lambda v, c: 1 <= v <= 4, "an integer in [1, 4]"),
    "smoothing": (lambda v, c: v in SMOOTHINGS, " or ".join(SMOOTHINGS)),
    "k": (lambda v, c: v > 0, "a number > 0 (the add-k pseudo-count)"),
    "temperature": (lambda v, c: v > 0, "a number > 0"),
    "sample_length": (lambda v, c: v >= 0, "an integer >= 0"),
    "works": WORKS_RULE,
    "train_chars": (lambda v, c: v == 0 or v >= 100, "0 (all) or at least 100 characters"),
    "eval_chars": (lambda v, c: v == 0 or v >= 100, "0 (all) or at least 100 characters"),
}


def load_data(config: dict) -> tuple[str, str, str]:
    """The train, validation and test texts of the config's works (cut to ``train_chars``/``eval_chars``)."""
    from ..data.datasets.shakespeare import shakespeare
    names = config["works"].split(",") if config["works"] else None
    texts = []
    for split, limit in (("train", config["train_chars"]), ("valid", config["eval_chars"]),
                         ("test", config["eval_chars"])):
        text = shakespeare(split, works=names)
        texts.append(text[:limit] if limit else text)
    return tuple(texts)


def _build(config: dict) -> None:
    return None  # the chains are built per order in fit


def _word_streams(texts, min_count):
    from collections import Counter
    words = [tokenize_words(t) for t in texts]
    counts = Counter(words[0])
    itos = ["<unk>"] + sorted(w for w, c in counts.items() if c >= min_count)
    stoi = {w: i for i, w in enumerate(itos)}
    return itos, [np.array([stoi.get(w, 0) for w in ws], dtype=np.int64) for ws in words]


def fit(model, config: dict, data, out_dir, *, seed: int = 0, progress: bool = True, test: bool = True,
        resume: bool = False) -> dict:
    """Count every order, score the validation and test texts, sample, draw (the markov recipe's ``fit`` hook)."""
    from ..random import Generator
    train, val, tst = data
    vocab = shakespeare_vocab(config["works"] or None)
    V = len(vocab)
    char_streams = [vocab.encode(t, as_tensor=True) for t in (train, val, tst)]
    orders, samples, seconds = {"char": [], "word": []}, {}, 0.0
    best = None
    if config["level"] in ("char", "both"):
        prompt = vocab.encode("ROMEO:")
        for n in range(1, config["max_order"] + 1):
            t0 = time.perf_counter()
            chain = NGramChain(n, V, smoothing=config["smoothing"], k=config["k"]).fit(char_streams[0])
            seconds += time.perf_counter() - t0
            row = {"order": n, "val": chain.perplexity(char_streams[1]),
                   "test": chain.perplexity(char_streams[2]) if test else None, "seconds": time.perf_counter() - t0}
            orders["char"].append(row)
            if best is None or row["val"] < best["val"]:
                best = row
            if config["sample_length"]:
                ids = chain.sample(prompt, config["sample_length"], generator=Generator().manual_seed(seed),
                                   temperature=config["temperature"])
                samples[str(n)] = "ROMEO:" + vocab.decode(ids)
            if progress:
                print(f"char order {n}: validation perplexity {row['val']:.3f}, {row['seconds']:.1f} s")
    word = None
    if config["level"] in ("word", "both"):
        itos, streams = _word_streams(data, config["word_min_count"])
        for n in range(1, config["word_max_order"] + 1):
            t0 = time.perf_counter()
            chain = NGramChain(n, len(itos), smoothing=config["smoothing"], k=config["k"]).fit(streams[0])
            seconds += time.perf_counter() - t0
            row = {"order": n, "val": chain.perplexity(streams[1]), "test": chain.perplexity(streams[2]) if test
                   else None}
            orders["word"].append(row)
            if word is None or row["val"] < word["val"]:
                word = row
                if config["sample_length"]:
                    ids = chain.sample([], min(100, config["sample_length"]), generator=Generator().manual_seed(seed))
                    samples["words"] = " ".join(itos[i] for i in ids)
            if progress:
                print(f"word order {n}: validation perplexity {row['val']:.2f} ({len(itos)} words)")
    # the first-order character chain: transition matrix and stationary distribution, two ways
    T = transition_matrix(char_streams[0], V, k=0.0)
    pi_power, iters = stationary_power(T)
    pi_eig = stationary_eigenvector(T)
    unigram = np.bincount(char_streams[0].numpy(), minlength=V) / len(char_streams[0])
    stationary = {"power_iterations": iters, "max_abs_difference": float((pi_power - pi_eig).abs().max()),
                  "max_abs_difference_to_unigram": float(np.abs(pi_power.numpy() - unigram).max())}
    figures = []
    if orders["char"]:
        figures.append((str(_plot_orders(orders["char"], out_dir / "perplexity.png")),
                        "held-out perplexity per order vs the char-RNN"))
    figures.append((str(_plot_chain(T, pi_power, pi_eig, vocab, out_dir / "transition.png")),
                    "transition matrix and stationary distribution"))
    result_test = None
    if test:
        result_test = {"perplexity": best["test"] if best else None, "order": best["order"] if best else None,
                       "word_perplexity": word["test"] if word else None,
                       "word_order": word["order"] if word else None, "seconds": seconds}
    return {"epochs": 1, "val": {"perplexity": best["val"] if best else None}, "test": result_test,
            "figures": figures, "orders": orders, "samples": samples, "stationary": stationary,
            "char_rnn_reference": {"val_loss_nats": CHAR_RNN_VAL_LOSS, "perplexity": math.exp(CHAR_RNN_VAL_LOSS),
                                   "source": "benchmarks/README.md (char-rnn, 3,000 steps, validation split)"}}


# ---- pictures -------------------------------------------------------------------------------------------------

def _plot_orders(rows, path):
    from ..viz.plots import _figure, save_figure
    fig = _figure(figsize=(6, 4))
    ax = fig.add_subplot()
    n = [r["order"] for r in rows]
    ax.plot(n, [r["val"] for r in rows], "o-", label="n-gram, validation")
    if rows[0]["test"] is not None:
        ax.plot(n, [r["test"] for r in rows], "s--", label="n-gram, test")
    ax.axhline(math.exp(CHAR_RNN_VAL_LOSS), color="k", ls=":", label="char-RNN (LSTM, validation)")
    ax.set_yscale("log")
    from matplotlib.ticker import NullFormatter, ScalarFormatter
    ax.yaxis.set_major_formatter(ScalarFormatter())
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_yticks([3, 4, 5, 7, 10, 15, 20, 30])
    ax.set_xlabel("order n")
    ax.set_ylabel("perplexity per character")
    ax.set_title("Markov chains on Shakespeare")
    ax.legend()
    return save_figure(fig, path)


def _plot_chain(T, pi_power, pi_eig, vocab, path):
    from ..viz.plots import _figure, save_figure
    fig = _figure(figsize=(11, 4.5))
    ax = fig.add_subplot(1, 2, 1)
    ax.imshow(np.log10(T.numpy() + 1e-6), cmap="viridis")
    ax.set_title("log10 P(next | current), first-order chain")
    ax.set_xlabel("next symbol id")
    ax.set_ylabel("current symbol id")
    ax = fig.add_subplot(1, 2, 2)
    p, e = pi_power.numpy(), pi_eig.numpy()
    top = np.argsort(p)[::-1][:25]
    x = np.arange(len(top))
    ax.bar(x - 0.2, p[top], width=0.4, label="power iteration")
    ax.bar(x + 0.2, e[top], width=0.4, label="eigenvector")
    ax.set_xticks(x, [repr(vocab.itos[i])[1:-1] for i in top], fontsize=7)
    ax.set_title("stationary distribution (25 most likely)")
    ax.legend()
    return save_figure(fig, path)


register(Recipe(
    name="markov",
    description="n-gram Markov chains (Kneser-Ney) over Shakespeare's characters and words, vs the char-RNN",
    build_model=_build,
    load_data=load_data,
    defaults=dict(DEFAULTS),
    constraints=CONSTRAINTS,
    fit=fit,
))
