"""Recipes ``word2vec`` (skip-gram) and ``cbow``: word vectors trained on Shakespeare or WikiText-2, evaluated on
Mikolov's analogy questions and WordSim-353, with the bias probe and pictures.

The hyper-parameters carry gensim's names, so a gensim user's habits work::

    nnzoo train word2vec --set vector_size=100 window=5 negative=5 sample=1e-3 min_count=5 epochs=5 hs=0 \\
        workers=2 corpus=wikitext2

``corpus`` is ``shakespeare`` (bundled), ``wikitext2`` (valid + test, read from ``$NNZOO_WIKITEXT2`` or the shared
data folder: see ``nnzoo.data.text``), ``both``, or the path of a text file with one sentence per line, tokens
separated by spaces (gensim's ``LineSentence``). ``limit`` > 0 keeps that many sentences (quick runs).

A run writes ``vectors.txt`` and ``vectors.bin`` (word2vec's text and binary formats: gensim's
``KeyedVectors.load_word2vec_format`` reads them), ``result.json`` (``test``: analogy accuracy per section and
overall on the covered questions with the coverage, WordSim-353 Spearman, words per second; nearest neighbours;
the bias probe; "queen = king + girl - boy") and the pictures: the training loss, PCA and t-SNE maps of chosen
words, the projections of occupation words on the gender direction. The evaluation files are gensim's test data
(``questions-words.txt``, ``wordsim353.tsv``, Apache-2.0): without gensim the evaluation is skipped.
"""
from __future__ import annotations

import os
import time

import numpy as np

from ..zoo.word2vec import OCCUPATIONS, Word2Vec, bias_projections, gender_direction
from . import ConfigError, Recipe, register

__all__ = ["build_model", "load_sentences", "fit", "evaluation_file", "PROBE_WORDS", "MAP_WORDS"]

PROBE_WORDS = ["king", "queen", "love", "war", "london", "city", "music", "french", "good", "three"]
MAP_WORDS = ["king", "queen", "prince", "princess", "man", "woman", "boy", "girl", "father", "mother", "son",
             "daughter", "he", "she", "his", "her", "england", "france", "london", "paris", "english", "french",
             "one", "two", "three", "four", "five", "red", "white", "black", "green", "war", "battle", "army",
             "soldier", "love", "heart", "death", "life", "sword", "crown", "god", "heaven"]

DEFAULTS = {"vector_size": 100, "window": 5, "min_count": 5, "sample": 1e-3, "negative": 5, "hs": 0,
            "ns_exponent": 0.75, "cbow_mean": 1, "alpha": 0.025, "min_alpha": 0.0001, "epochs": 5, "workers": 2,
            "corpus": "shakespeare", "limit": 0, "compute_loss": True, "tsne": True}


def _corpus_ok(value, config):
    return value in ("shakespeare", "wikitext2", "both") or os.path.isfile(value)


CONSTRAINTS = {
    "corpus": (_corpus_ok, "shakespeare, wikitext2, both, or the path of a text file (one sentence per line)"),
    "negative": (lambda v, c: v >= 0 and (v > 0 or c["hs"] == 1), "an integer >= 0 (0 needs hs=1)"),
    "hs": (lambda v, c: v in (0, 1), "0 or 1"),
    "cbow_mean": (lambda v, c: v in (0, 1), "0 or 1"),
    "sample": (lambda v, c: v >= 0, "a number >= 0 (0: no subsampling)"),
    "alpha": (lambda v, c: v > 0, "a number > 0"),
    "min_alpha": (lambda v, c: 0 <= v <= c["alpha"], "a number in [0, alpha]"),
    "ns_exponent": (lambda v, c: -2 <= v <= 2, "a number in [-2, 2]"),
    "limit": (lambda v, c: v >= 0, "an integer >= 0 (0: every sentence)"),
}


def build_model(config: dict, sg: int = 1) -> Word2Vec:
    """A :class:`~nnzoo.zoo.word2vec.Word2Vec` with the config's hyper-parameters (its vocabulary comes in fit)."""
    return Word2Vec(vector_size=config["vector_size"], window=config["window"], min_count=config["min_count"],
                    sample=config["sample"], sg=sg, hs=config["hs"], negative=config["negative"],
                    ns_exponent=config["ns_exponent"], cbow_mean=config["cbow_mean"], alpha=config["alpha"],
                    min_alpha=config["min_alpha"], epochs=config["epochs"], workers=config["workers"],
                    compute_loss=config["compute_loss"])


def load_sentences(config: dict) -> list[list[str]]:
    """The sentences of the config's ``corpus`` (``limit`` of them when > 0)."""
    from ..data.text import corpus_sentences
    try:
        return corpus_sentences(config["corpus"], limit=config["limit"] or None)
    except FileNotFoundError as e:  # WikiText-2 not found: a usage error naming where it looked
        raise ConfigError(f"run_recipe: corpus: {e}", key="corpus", problem=str(e)) from None


def evaluation_file(name: str) -> str | None:
    """The path of gensim's test file ``name`` (``questions-words.txt``, ``wordsim353.tsv``), or None without
    gensim."""
    try:
        from gensim.test.utils import datapath
    except ImportError:
        return None
    path = datapath(name)
    return path if os.path.isfile(path) else None


def evaluate(wv) -> dict:
    """Analogy accuracy (per section and overall, on the covered questions, with the coverage) and WordSim-353
    Spearman of the vectors ``wv``; None for a file that is not there."""
    questions, wordsim = evaluation_file("questions-words.txt"), evaluation_file("wordsim353.tsv")
    return {"analogy": wv.evaluate_word_analogies(questions) if questions else None,
            "wordsim": wv.evaluate_word_pairs(wordsim) if wordsim else None}


def fit(model: Word2Vec, config: dict, sentences, out_dir, *, seed: int = 0, progress: bool = True,
        test: bool = True, resume: bool = False) -> dict:
    """Train, save the vectors, evaluate, probe and draw (the ``fit`` hook of the word2vec recipes)."""
    model.seed = seed + 1
    t0 = time.perf_counter()
    model.build_vocab(sentences)
    vocab_seconds = time.perf_counter() - t0
    words = sum(len(s) for s in sentences)

    def report(epoch, seconds, loss):
        if progress:
            print(f"epoch {epoch + 1}/{config['epochs']}: {words / seconds:,.0f} words/s, loss {loss:.4f}")
    model.train(sentences, callback=report)
    wv = model.wv
    wv.save_word2vec_format(out_dir / "vectors.txt", binary=False)
    wv.save_word2vec_format(out_dir / "vectors.bin", binary=True)
    scores = evaluate(wv) if test else {"analogy": None, "wordsim": None}
    analogy, wordsim = scores["analogy"], scores["wordsim"]
    result_test = {
        "analogy_accuracy": analogy["accuracy"] if analogy else None,
        "analogy_coverage": analogy["coverage"] if analogy else None,
        "analogy_covered": analogy["covered"] if analogy else None,
        "analogy_sections": {k: {"accuracy": v["accuracy"], "coverage": v["coverage"], "covered": v["covered"]}
                             for k, v in analogy["sections"].items()} if analogy else None,
        "wordsim_spearman": wordsim["spearman"] if wordsim else None,
        "wordsim_pairs": wordsim["pairs"] if wordsim else None,
        "words_per_second": model.words_per_second,
    }
    neighbours = {w: [(n, round(s, 3)) for n, s in wv.most_similar(w, topn=8)] for w in PROBE_WORDS if w in wv}
    queen = (wv.most_similar(positive=["king", "girl"], negative=["boy"], topn=5)
             if all(w in wv for w in ("king", "girl", "boy")) else None)
    figures = [(str(_plot_loss(model, out_dir / "loss.png")), "training loss (mean per example)")]
    figures.append((str(_plot_map(wv, out_dir / "pca.png", "pca")), "PCA of chosen words"))
    if config["tsne"]:
        figures.append((str(_plot_map(wv, out_dir / "tsne.png", "tsne", seed=seed)), "t-SNE of chosen words"))
    bias = None
    try:
        direction, info = gender_direction(wv)
    except ValueError:
        direction = None
    if direction is not None:
        proj = bias_projections(wv, OCCUPATIONS, direction)
        bias = {"pairs": [f"{a}-{b}" for a, b in info["pairs"]], "explained": info["explained"][:3],
                "projections": dict(sorted(proj.items(), key=lambda kv: kv[1]))}
        figures.append((str(_plot_bias(proj, out_dir / "bias.png")), "occupations on the gender direction"))
    return {"epochs": config["epochs"], "val": None, "test": result_test, "figures": figures,
            "vocab_size": len(wv), "corpus_words": words, "train_seconds": model.train_seconds,
            "vocab_seconds": vocab_seconds, "neighbours": neighbours,
            "queen = king + girl - boy": queen, "bias": bias,
            "history": {"loss": model.loss_history}, "model": model}


# ---- pictures -------------------------------------------------------------------------------------------------

def _plot_loss(model, path):
    from ..viz.plots import _figure, save_figure
    fig = _figure(figsize=(6, 3.5))
    ax = fig.add_subplot()
    if model.loss_history:
        x, y = zip(*model.loss_history)
        ax.plot(x, y)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss per example")
    ax.set_title("word2vec training loss")
    return save_figure(fig, path)


def _plot_map(wv, path, method, seed=0):
    from ..viz.plots import _figure, save_figure
    words = [w for w in MAP_WORDS if w in wv]
    fig = _figure(figsize=(7, 6))
    ax = fig.add_subplot()
    if len(words) >= 3:
        x = wv.fill_norms()[[wv.key_to_index[w] for w in words]].astype(np.float64)
        if method == "pca":
            x = x - x.mean(axis=0)
            u, s, _ = np.linalg.svd(x, full_matrices=False)
            xy = u[:, :2] * s[:2]
        else:
            from sklearn.manifold import TSNE
            xy = TSNE(n_components=2, perplexity=min(10, len(words) - 1), random_state=seed,
                      init="pca").fit_transform(x)
        ax.scatter(xy[:, 0], xy[:, 1], s=8)
        for w, (a, b) in zip(words, xy):
            ax.annotate(w, (a, b), fontsize=8)
    ax.set_title(f"{'PCA' if method == 'pca' else 't-SNE'} of {len(words)} word vectors")
    return save_figure(fig, path)


def _plot_bias(proj, path):
    from ..viz.plots import _figure, save_figure
    items = sorted(proj.items(), key=lambda kv: kv[1])
    fig = _figure(figsize=(6, max(3, 0.22 * len(items))))
    ax = fig.add_subplot()
    ax.barh(range(len(items)), [v for _, v in items], color=["tab:blue" if v < 0 else "tab:red" for _, v in items])
    ax.set_yticks(range(len(items)), [w for w, _ in items], fontsize=8)
    ax.axvline(0, color="k", lw=0.5)
    ax.set_xlabel("cosine with the gender direction (he <  > she)")
    ax.set_title("Bias probe (Bolukbasi et al. 2016)")
    return save_figure(fig, path)


for _name, _sg, _what in (("word2vec", 1, "skip-gram"), ("cbow", 0, "CBOW")):
    register(Recipe(
        name=_name,
        description=f"word2vec {_what} with negative sampling (gensim's hyper-parameters) on Shakespeare or WikiText-2",
        build_model=(lambda sg: lambda config: build_model(config, sg=sg))(_sg),
        load_data=load_sentences,
        defaults=dict(DEFAULTS),
        constraints=CONSTRAINTS,
        fit=fit,
    ))
