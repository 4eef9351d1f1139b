"""word2vec (Mikolov et al. 2013): skip-gram and CBOW word vectors, with negative sampling or hierarchical softmax.

A word is a row of a lookup table (``syn0``, V x D): a dense distributed code instead of a one-hot vector. Skip-gram
learns it by predicting each word of a window from the centre word's vector (word2vec.c and gensim feed the
context word's row and predict the centre word, which is the same set of pairs); CBOW predicts the centre word
from the mean of the window's vectors. The softmax over the vocabulary is replaced by negative sampling (one
logistic regression against ``negative`` words drawn from the unigram^0.75 distribution) or by hierarchical
softmax (a path of binary decisions down a Huffman tree). Frequent words are subsampled (Mikolov's formula as
gensim computes it from ``sample``), the window is shrunk at random for each word (word2vec.c's ``b``), and the
learning rate decays linearly from ``alpha`` to ``min_alpha``.

Read top-down:

- :class:`SkipGramNS`, :class:`CBOWNS`: one training step written with nnzoo's autograd (``nn.Embedding``),
  the reference of the fused kernel (``nnzoo.kernels.word2vec``) that trains a corpus at gensim's speed;
- :func:`build_vocab`: counts, ``min_count``, subsampling thresholds, the noise table, the Huffman tree;
- :class:`Word2Vec`: gensim's names (``vector_size``, ``window``, ``min_count``, ``sample``, ``sg``, ``hs``,
  ``negative``, ``alpha``, ``min_alpha``, ``epochs``, ``workers``, ``seed``); ``.wv`` is a :class:`KeyedVectors`;
- :class:`KeyedVectors`: ``most_similar``, ``similarity``, ``analogy`` (3CosAdd, 3CosMul), ``doesnt_match``,
  the word2vec text and binary formats (gensim's ``load_word2vec_format`` reads them and the other way round),
  the evaluations (Google analogies per section with coverage; WordSim-353 Spearman);
- the bias probe of Bolukbasi et al. 2016: :func:`gender_direction`, :func:`bias_projections`.

Example::

    >>> from nnzoo.zoo.word2vec import Word2Vec
    >>> sentences = [["the", "king", "rules"], ["the", "queen", "rules"]] * 50
    >>> model = Word2Vec(sentences, vector_size=16, min_count=1, sg=1, epochs=2, workers=1, seed=0)
    >>> model.wv["king"].shape
    (16,)
"""
from __future__ import annotations

import heapq
import io
import math
import os
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .. import nn
from ..kernels import word2vec as kernel

__all__ = ["SkipGramNS", "CBOWNS", "Vocabulary", "build_vocab", "Word2Vec", "KeyedVectors", "DEFINITIONAL_PAIRS",
           "OCCUPATIONS", "gender_direction", "bias_projections", "MAX_SENTENCE_LEN"]

MAX_SENTENCE_LEN = 10000  # longer sentences are cut in pieces (gensim truncates them at this length)


# ---- one training step through autograd: the reference of the fused kernel --------------------------------------

def _softplus(x):
    # log(1 + e^x) = relu(x) + log1p(e^-|x|)
    return x.clamp(min=0) + (-x.abs()).exp().log1p()


class SkipGramNS(nn.Module):
    """Skip-gram with negative sampling: ``loss = sum_p softplus(-v_p . u_t) + sum_k softplus(v_p . u_k)``.

    ``v_p = in_embed(inputs[p])`` (the context word's vector), ``u = out_embed(words[p])``: the target (the centre
    word) in column 0, the negatives after it. The gradient is the sum over examples; one SGD step with rate
    ``alpha`` on it is word2vec.c's update of the same examples when no two examples share a row.

    Args:
        num_words, dim: the vocabulary size and the vector size.

    Shape:
        inputs: (P,), words: (P, 1 + negative) -> a scalar.
    """

    def __init__(self, num_words: int, dim: int) -> None:
        super().__init__()
        self.in_embed = nn.Embedding(num_words, dim)   # syn0, the word vectors
        self.out_embed = nn.Embedding(num_words, dim)  # syn1neg

    def forward(self, inputs, words):
        v = self.in_embed(inputs)                        # (P, D)
        u = self.out_embed(words)                        # (P, K+1, D)
        f = (u @ v.unsqueeze(-1)).squeeze(-1)            # (P, K+1)
        return _softplus(-f[:, 0]).sum() + _softplus(f[:, 1:]).sum()


class CBOWNS(nn.Module):
    """CBOW with negative sampling: ``h_p = mean_j in_embed(contexts[p, j])``, ``loss = sum_p softplus(-h_p . u_t) +
    sum_k softplus(h_p . u_k)``.

    NOTE: word2vec.c and gensim (``cbow_mean=1``) add the gradient of ``h_p`` to every context row undivided: the
    fused kernel's update of a context row is ``C`` times (the window size) this module's gradient of it.

    Shape:
        contexts: (P, C), words: (P, 1 + negative) -> a scalar.
    """

    def __init__(self, num_words: int, dim: int) -> None:
        super().__init__()
        self.in_embed = nn.Embedding(num_words, dim)
        self.out_embed = nn.Embedding(num_words, dim)

    def forward(self, contexts, words):
        h = self.in_embed(contexts).mean(dim=1)          # (P, D)
        u = self.out_embed(words)                        # (P, K+1, D)
        f = (u @ h.unsqueeze(-1)).squeeze(-1)            # (P, K+1)
        return _softplus(-f[:, 0]).sum() + _softplus(f[:, 1:]).sum()


# ---- the vocabulary --------------------------------------------------------------------------------------------

@dataclass
class Vocabulary:
    """Words by descending count, with what training draws from.

    Attributes:
        words: the words, most frequent first; index: {word: row}; counts: (V,) int64.
        keep: (V,) uint64 subsampling thresholds, ``P(keep) * (2**32 - 1)`` (gensim's ``sample_int``).
        cum_table: (V,) uint64 cumulative ``count ** ns_exponent``, scaled to 2**31 - 1.
        points, codes: (V, L) int64 Huffman paths from the root (inner-node rows of ``syn1``, bits);
        codelens: (V,) int64 path lengths.
    """
    words: list
    index: dict
    counts: np.ndarray
    keep: np.ndarray
    cum_table: np.ndarray
    points: np.ndarray
    codes: np.ndarray
    codelens: np.ndarray

    def __len__(self) -> int:
        return len(self.words)


def keep_thresholds(counts: np.ndarray, sample: float) -> np.ndarray:
    """Mikolov's subsampling as gensim computes it: with ``t = sample * total`` (``sample < 1``; or ``sample``
    itself as a count), a word seen ``c`` times is kept with probability ``(sqrt(c / t) + 1) * t / c`` (at most 1).
    Returned as uint64 thresholds ``floor(P * (2**32 - 1))`` (gensim's ``sample_int``: a word is kept when its
    threshold is at least a uniform 32-bit draw); ``sample=0`` gives 2**32 for all (no draw, no subsampling)."""
    counts = np.asarray(counts, np.float64)
    if not sample:
        return np.full(len(counts), 2 ** 32, np.uint64)
    t = sample * counts.sum() if sample < 1.0 else float(int(sample * (3 + math.sqrt(5)) / 2))
    p = np.minimum((np.sqrt(counts / t) + 1.0) * (t / counts), 1.0)
    return np.floor(p * (2 ** 32 - 1)).astype(np.uint64)


def noise_table(counts: np.ndarray, ns_exponent: float = 0.75, domain: int = 2 ** 31 - 1) -> np.ndarray:
    """The cumulative noise distribution ``count ** ns_exponent`` (gensim's ``cum_table``): word ``i`` is drawn
    for a uniform integer ``x`` in ``[0, table[-1])`` when ``table[i-1] < x <= table[i]`` (gensim's ``bisect_left``)."""
    pw = np.asarray(counts, np.float64) ** ns_exponent
    return np.round(np.cumsum(pw) / pw.sum() * domain).astype(np.uint64)


def huffman_tree(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The Huffman tree of the counts (gensim's construction: the two lightest nodes merge, the first popped is
    the left child, bit 0). Returns ``(points, codes, codelens)``: for each word, the V - 1 inner nodes on its
    path from the root (row ``node - V`` of ``syn1``) and the bit taken at each."""
    V = len(counts)
    if V < 2:
        return np.zeros((V, 1), np.int64), np.zeros((V, 1), np.int64), np.zeros(V, np.int64)
    heap = [(int(c), i) for i, c in enumerate(counts)]
    heapq.heapify(heap)
    left, right = np.empty(V - 1, np.int64), np.empty(V - 1, np.int64)
    for k in range(V - 1):
        c1, i1 = heapq.heappop(heap)
        c2, i2 = heapq.heappop(heap)
        left[k], right[k] = i1, i2
        heapq.heappush(heap, (c1 + c2, V + k))
    paths, bits = {}, {}
    stack = [(2 * V - 2, [], [])]
    while stack:   # iterative walk from the root
        node, code, point = stack.pop()
        if node < V:
            paths[node], bits[node] = point, code
            continue
        point = point + [node - V]
        stack.append((int(left[node - V]), code + [0], point))
        stack.append((int(right[node - V]), code + [1], point))
    L = max(len(p) for p in paths.values())
    points, codes = np.zeros((V, L), np.int64), np.zeros((V, L), np.int64)
    codelens = np.zeros(V, np.int64)
    for w in range(V):
        n = len(paths[w])
        points[w, :n], codes[w, :n], codelens[w] = paths[w], bits[w], n
    return points, codes, codelens


def build_vocab(sentences: Iterable[Sequence[str]], min_count: int = 5, sample: float = 1e-3,
                ns_exponent: float = 0.75, hs: bool = False) -> Vocabulary:
    """The vocabulary of ``sentences``: words seen at least ``min_count`` times, most frequent first, with the
    subsampling thresholds, the noise table and (``hs``) the Huffman tree.

    NOTE: ties of counts in the reverse order of first appearance, as gensim 4's ``sort_by_descending_frequency``
    (``np.lexsort((-indices, -counts))`` over the words in order of first appearance), so that row ``i`` is the
    same word on both sides.
    """
    counts = Counter()
    for s in sentences:
        counts.update(s)
    seen = [w for w, c in counts.items() if c >= min_count]  # in order of first appearance
    words = [seen[i] for i in sorted(range(len(seen)), key=lambda i: (-counts[seen[i]], -i))]
    if not words:
        raise ValueError(f"word2vec: no word occurs min_count={min_count} times; lower min_count or give more text")
    c = np.array([counts[w] for w in words], np.int64)
    if hs:
        points, codes, codelens = huffman_tree(c)
    else:
        points, codes, codelens = np.zeros((len(c), 1), np.int64), np.zeros((len(c), 1), np.int64), \
            np.zeros(len(c), np.int64)
    return Vocabulary(words, {w: i for i, w in enumerate(words)}, c, keep_thresholds(c, sample),
                      noise_table(c, ns_exponent), points, codes, codelens)


def encode(sentences: Iterable[Sequence[str]], vocab: Vocabulary) -> tuple[np.ndarray, np.ndarray]:
    """The sentences as word indices end to end (words outside the vocabulary dropped, as gensim does before the
    window is placed; sentences cut at ``MAX_SENTENCE_LEN``; empty ones dropped): ``(corpus, starts)``."""
    index = vocab.index
    ids, starts = [], [0]
    for s in sentences:
        row = [index[w] for w in s if w in index]
        for a in range(0, len(row), MAX_SENTENCE_LEN):
            piece = row[a:a + MAX_SENTENCE_LEN]
            ids.extend(piece)
            starts.append(starts[-1] + len(piece))
    return np.array(ids, np.int64), np.array(starts, np.int64)


# NOTE: gensim's job size (MAX_WORDS_IN_BATCH). The corpus is cut into jobs of about this many words which the
# workers take in turn, so the two threads train neighbouring text at once, as gensim's do. Measured
# (benchmarks/README.md, issue 17): WikiText-2 CBOW analogy accuracy over 10 seeds 0.0077 with the corpus cut in
# two halves (one per thread) against gensim's 0.0096; 0.0090 with these jobs.
JOB_WORDS = 10000


def shard_bounds(starts: np.ndarray, workers: int) -> np.ndarray:
    """Sentence indices cutting the corpus into ``workers`` runs of about equal numbers of words."""
    n = len(starts) - 1
    targets = np.linspace(0, starts[-1], workers + 1)
    b = np.searchsorted(starts, targets).clip(0, n)
    b[0], b[-1] = 0, n
    return np.maximum.accumulate(b).astype(np.int64)


# ---- the model ---------------------------------------------------------------------------------------------------

class Word2Vec:
    """word2vec with gensim's names and defaults; trains when given sentences.

    Args:
        sentences: lists of tokens (gensim's ``corpus_iterable``); None to call :meth:`build_vocab` and
            :meth:`train` later.
        vector_size (int): D. window (int): the largest distance between centre and context (shrunk at random
            per word). min_count (int): rarer words are dropped. sample (float): the subsampling threshold
            (0: none). sg (int): 1 skip-gram, 0 CBOW. hs (int): 1 hierarchical softmax. negative (int):
            negatives per example (0: none). ns_exponent (float): the noise distribution's power. cbow_mean (int):
            1 averages the context vectors, 0 sums them. alpha, min_alpha: the linear learning-rate schedule.
            epochs (int). workers (int): Hogwild threads (taking the corpus's ~10,000-word jobs in turn).
            seed (int): the initial vectors and the draws. compute_loss (bool): record the training loss.
        dtype: float32 (default) or float64.

    Attributes:
        wv (KeyedVectors): the word vectors (``syn0``, shared, not copied). syn1neg, syn1: the output vectors.
        loss_history: ``[(epoch + progress, mean loss per example)]`` (``buckets`` per epoch).
        train_seconds, words_per_second: the last :meth:`train`'s time and corpus words (before subsampling,
        times epochs) per second.
    """

    def __init__(self, sentences: Iterable[Sequence[str]] | None = None, *, vector_size: int = 100, window: int = 5,
                 min_count: int = 5, sample: float = 1e-3, sg: int = 0, hs: int = 0, negative: int = 5,
                 ns_exponent: float = 0.75, cbow_mean: int = 1, alpha: float = 0.025, min_alpha: float = 0.0001,
                 epochs: int = 5, workers: int = 3, seed: int = 1, compute_loss: bool = True,
                 dtype=np.float32) -> None:
        if not (hs or negative):
            raise ValueError("Word2Vec: hs=0 and negative=0 train nothing; set hs=1 or negative >= 1")
        self.vector_size, self.window, self.min_count, self.sample = vector_size, window, min_count, sample
        self.sg, self.hs, self.negative, self.ns_exponent = int(sg), int(hs), int(negative), ns_exponent
        self.cbow_mean, self.alpha, self.min_alpha, self.epochs = int(cbow_mean), alpha, min_alpha, epochs
        self.workers, self.seed, self.compute_loss, self.dtype = max(1, int(workers)), seed, compute_loss, dtype
        self.vocab, self.wv, self.syn1neg, self.syn1 = None, None, None, None
        self.loss_history, self.train_seconds, self.words_per_second = [], 0.0, 0.0
        if sentences is not None:
            sentences = sentences if isinstance(sentences, (list, tuple)) else list(sentences)
            self.build_vocab(sentences)
            self.train(sentences)

    def build_vocab(self, sentences: Iterable[Sequence[str]]) -> Word2Vec:
        """Count the words, build the tables and initialise the vectors: ``syn0`` uniform in ``[-1, 1) / D``
        (gensim 4's range; word2vec.c's is half of it), the output vectors zero."""
        self.vocab = build_vocab(sentences, self.min_count, self.sample, self.ns_exponent, bool(self.hs))
        V, D = len(self.vocab), self.vector_size
        rng = np.random.default_rng(self.seed)
        syn0 = ((rng.random((V, D)) * 2.0 - 1.0) / D).astype(self.dtype)
        self.wv = KeyedVectors(self.vocab.words, syn0, counts=self.vocab.counts)
        self.syn1neg = np.zeros((V if self.negative else 1, D), self.dtype)
        self.syn1 = np.zeros((max(V - 1, 1) if self.hs else 1, D), self.dtype)
        return self

    def train(self, sentences: Iterable[Sequence[str]], epochs: int | None = None, buckets: int = 20,
              callback=None) -> Word2Vec:
        """Train on ``sentences`` for ``epochs`` (default: the model's), in place, with the fused kernel.

        ``callback(epoch, seconds, mean_loss)`` is called after each epoch."""
        if self.wv is None:
            raise RuntimeError("Word2Vec.train: call build_vocab(sentences) first")
        epochs = self.epochs if epochs is None else epochs
        corpus, starts = encode(sentences, self.vocab)
        jobs = max(self.workers, -(-int(starts[-1]) // JOB_WORDS))
        bounds = shard_bounds(starts, jobs)
        seeds = np.array([(self.seed * 1000003 + 7919 * t + 1) & kernel.LCG_MASK for t in range(jobs)], np.uint64)
        v = self.vocab
        start = time.perf_counter()
        for epoch in range(epochs):
            t0 = time.perf_counter()
            loss, count = kernel.train_epoch(
                self.wv.vectors, self.syn1neg, self.syn1, corpus, starts, bounds, v.keep, v.cum_table, v.points,
                v.codes, v.codelens, sg=bool(self.sg), hs=bool(self.hs), negative=self.negative, window=self.window,
                cbow_mean=bool(self.cbow_mean), alpha=self.alpha, min_alpha=self.min_alpha, epoch=epoch,
                epochs=epochs, seeds=seeds, buckets=buckets, compute_loss=self.compute_loss, workers=self.workers)
            loss, count = loss.sum(axis=0), count.sum(axis=0)
            if self.compute_loss:
                self.loss_history += [(epoch + (b + 1) / buckets, float(loss[b] / count[b]))
                                      for b in range(buckets) if count[b]]
            if callback is not None:
                callback(epoch, time.perf_counter() - t0, float(loss.sum() / max(count.sum(), 1)))
        self.train_seconds = time.perf_counter() - start
        self.words_per_second = len(corpus) * epochs / max(self.train_seconds, 1e-9)
        self.wv.fill_norms(force=True)
        return self

    def as_module(self) -> nn.Module:
        """A :class:`SkipGramNS` (sg=1) or :class:`CBOWNS` whose embeddings share this model's ``syn0`` and
        ``syn1neg`` (no copy): for training with autograd and an nnzoo optimizer."""
        from ..autograd.arrays import wrap
        V, D = self.wv.vectors.shape
        m = (SkipGramNS if self.sg else CBOWNS)(V, D)
        m.in_embed = nn.Embedding(V, D, _weight=wrap(self.wv.vectors))
        m.out_embed = nn.Embedding(V, D, _weight=wrap(self.syn1neg))
        return m


# ---- the word vectors ----------------------------------------------------------------------------------------------

def _normalise(a):
    n = np.linalg.norm(a, axis=-1, keepdims=True)
    return a / np.where(n == 0, 1, n)


class KeyedVectors:
    """Words and their vectors, with gensim's ``KeyedVectors`` methods.

    Args:
        words: the words in row order. vectors: (V, D). counts: optional (V,) counts (kept in the files' order).

    Example::

        >>> import numpy as np
        >>> kv = KeyedVectors(["a", "b", "c"], np.eye(3, dtype=np.float32))
        >>> kv.similarity("a", "b"), "a" in kv
        (0.0, True)
    """

    def __init__(self, words: Sequence[str], vectors: np.ndarray, counts: np.ndarray | None = None) -> None:
        self.index_to_key = list(words)
        self.key_to_index = {w: i for i, w in enumerate(self.index_to_key)}
        self.vectors = vectors
        self.counts = counts
        self._norms = None
        if len(self.key_to_index) != len(self.index_to_key) or vectors.shape[0] != len(self.index_to_key):
            raise ValueError(f"KeyedVectors: {len(self.index_to_key)} words (unique: {len(self.key_to_index)}) "
                             f"for {vectors.shape[0]} vectors")

    @property
    def vector_size(self) -> int:
        return self.vectors.shape[1]

    def __len__(self) -> int:
        return len(self.index_to_key)

    def __contains__(self, word: str) -> bool:
        return word in self.key_to_index

    def __getitem__(self, word):
        if isinstance(word, str):
            return self.vectors[self._index(word)]
        return self.vectors[[self._index(w) for w in word]]

    def _index(self, word):
        try:
            return self.key_to_index[word]
        except KeyError:
            raise KeyError(f"KeyedVectors: word {word!r} not in the vocabulary ({len(self)} words)") from None

    def fill_norms(self, force: bool = False) -> np.ndarray:
        """The unit-length vectors (float32 or the vectors' dtype), computed once (``force``: again)."""
        if self._norms is None or force:
            self._norms = _normalise(self.vectors)
        return self._norms

    def get_vector(self, word: str, norm: bool = False) -> np.ndarray:
        return (self.fill_norms() if norm else self.vectors)[self._index(word)]

    def similarity(self, w1: str, w2: str) -> float:
        """Cosine similarity of two words."""
        n = self.fill_norms()
        return float(n[self._index(w1)] @ n[self._index(w2)])

    def most_similar(self, positive=(), negative=(), topn: int = 10,
                     restrict_vocab: int | None = None) -> list[tuple[str, float]]:
        """The ``topn`` words nearest (cosine) to the mean of the unit vectors of ``positive`` minus those of
        ``negative`` (3CosAdd), the given words excluded. A single word may be given as a str."""
        positive = [positive] if isinstance(positive, str) else list(positive)
        negative = [negative] if isinstance(negative, str) else list(negative)
        n = self.fill_norms()
        limit = len(self) if restrict_vocab is None else min(restrict_vocab, len(self))
        q = sum(n[self._index(w)] for w in positive) - sum((n[self._index(w)] for w in negative), 0)
        q = _normalise(np.asarray(q, np.float64))
        scores = n[:limit] @ q
        for w in positive + negative:
            i = self.key_to_index[w]
            if i < limit:
                scores[i] = -np.inf
        top = np.argsort(-scores, kind="stable")[:topn]
        return [(self.index_to_key[i], float(scores[i])) for i in top]

    def most_similar_cosmul(self, positive=(), negative=(), topn: int = 10) -> list[tuple[str, float]]:
        """3CosMul (Levy and Goldberg 2014): ``prod_p cos'(w, p) / (prod_n cos'(w, n) + 1e-6)``, with cosines
        shifted to ``[0, 1]`` by ``(1 + cos) / 2``."""
        positive = [positive] if isinstance(positive, str) else list(positive)
        negative = [negative] if isinstance(negative, str) else list(negative)
        n = self.fill_norms()
        pos = [(1 + n @ n[self._index(w)]) / 2 for w in positive]
        neg = [(1 + n @ n[self._index(w)]) / 2 for w in negative]
        scores = np.prod(pos, axis=0) / (np.prod(neg, axis=0) + 1e-6)
        for w in positive + negative:
            scores[self.key_to_index[w]] = -np.inf
        top = np.argsort(-scores, kind="stable")[:topn]
        return [(self.index_to_key[i], float(scores[i])) for i in top]

    def analogy(self, a: str, b: str, c: str, method: str = "3cosadd", topn: int = 1):
        """``a`` is to ``b`` as ``c`` is to ?: the word nearest ``b - a + c`` (``method='3cosadd'``) or by
        3CosMul; the three words excluded. Returns the word (``topn=1``) or a list of (word, score)."""
        if method == "3cosadd":
            found = self.most_similar(positive=[b, c], negative=[a], topn=topn)
        elif method == "3cosmul":
            found = self.most_similar_cosmul(positive=[b, c], negative=[a], topn=topn)
        else:
            raise ValueError(f"analogy: method must be '3cosadd' or '3cosmul', got {method!r}")
        return found[0][0] if topn == 1 else found

    def doesnt_match(self, words: Sequence[str]) -> str:
        """The word furthest from the mean of the others' unit vectors (gensim: from the mean of all)."""
        words = [w for w in words if w in self]
        if not words:
            raise ValueError("doesnt_match: none of the words is in the vocabulary")
        n = self.fill_norms()[[self.key_to_index[w] for w in words]]
        mean = _normalise(n.mean(axis=0))
        return words[int(np.argmin(n @ mean))]

    # -- the word2vec formats (word2vec.c's -binary 0 and 1) --

    def save_word2vec_format(self, path: str | os.PathLike, binary: bool = False) -> None:
        """Write ``"V D"`` then one line per word: the word and its D numbers (text), or the word, a space and
        D little-endian float32 (binary, each vector followed by a newline as word2vec.c writes)."""
        V, D = self.vectors.shape
        vecs = np.asarray(self.vectors, np.float32)
        with open(path, "wb") as f:
            f.write(f"{V} {D}\n".encode())
            if binary:
                data = vecs.astype("<f4")
                for w, row in zip(self.index_to_key, data):
                    f.write(w.encode("utf-8") + b" " + row.tobytes() + b"\n")
            else:
                fmt = " ".join(["%.9g"] * D)
                f.write("".join(f"{w} {fmt % tuple(row)}\n" for w, row in zip(self.index_to_key, vecs.tolist()))
                        .encode("utf-8"))

    @classmethod
    def load_word2vec_format(cls, path: str | os.PathLike, binary: bool = False,
                             limit: int | None = None) -> KeyedVectors:
        """Read a file in the word2vec text or binary format (gensim's and word2vec.c's); float32 vectors."""
        with open(path, "rb") as f:
            data = f.read()
        nl = data.index(b"\n")
        V, D = (int(x) for x in data[:nl].split())
        V = V if limit is None else min(V, limit)
        words, vecs, pos = [], np.empty((V, D), np.float32), nl + 1
        if binary:
            for i in range(V):
                sp = data.index(b" ", pos)
                words.append(data[pos:sp].decode("utf-8").lstrip("\n"))
                vecs[i] = np.frombuffer(data, "<f4", D, sp + 1)
                pos = sp + 1 + 4 * D
        else:
            lines = io.BytesIO(data[pos:])
            for i in range(V):
                parts = lines.readline().decode("utf-8").rstrip("\n").split(" ")
                words.append(parts[0])
                vecs[i] = [float(x) for x in parts[1:D + 1]]
        return cls(words, vecs)

    # -- evaluation --

    def evaluate_word_analogies(self, path: str | os.PathLike, restrict_vocab: int = 300000,
                                case_insensitive: bool = True, method: str = "3cosadd") -> dict:
        """Mikolov's analogy questions (``questions-words.txt``: ``: section`` lines, then ``a b c d``), as gensim
        scores them: a question counts when its four words are among the ``restrict_vocab`` most frequent (it
        is covered); it is right when the word nearest ``b - a + c`` (3CosAdd, the three excluded) is ``d``.

        Returns:
            dict: ``accuracy`` (right / covered), ``correct``, ``covered``, ``questions``, ``coverage`` (covered /
            questions), and ``sections``: {name: the same four numbers and ``accuracy``} (the ``total`` over all).
        """
        limit = min(restrict_vocab, len(self))
        lookup = {}
        for i in range(limit - 1, -1, -1):  # the most frequent spelling wins, as gensim's case folding
            w = self.index_to_key[i]
            lookup[w.upper() if case_insensitive else w] = i
        sections, order = {}, []
        name = None
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.startswith(":"):
                    name = line[1:].strip()
                    order.append(name)
                    sections[name] = []
                    continue
                q = line.split()
                if len(q) != 4 or name is None:
                    continue
                sections[name].append([x.upper() if case_insensitive else x for x in q])
        n = self.fill_norms()[:limit]
        out = {}
        right_all = covered_all = total_all = 0
        for name in order:
            qs = sections[name]
            idx = np.array([[lookup[w] for w in q] for q in qs if all(w in lookup for w in q)], np.int64)
            idx = idx.reshape(-1, 4)
            right = 0
            for s in range(0, len(idx), 512):
                chunk = idx[s:s + 512]
                if method == "3cosadd":
                    scores = (n[chunk[:, 1]] - n[chunk[:, 0]] + n[chunk[:, 2]]) @ n.T
                else:
                    cos = [(1 + n[chunk[:, k]] @ n.T) / 2 for k in range(3)]
                    scores = cos[1] * cos[2] / (cos[0] + 1e-6)
                rows = np.arange(len(chunk))[:, None]
                scores[rows, chunk[:, :3]] = -np.inf
                right += int((scores.argmax(axis=1) == chunk[:, 3]).sum())
            out[name] = {"accuracy": right / len(idx) if len(idx) else None, "correct": right,
                         "covered": len(idx), "questions": len(qs), "coverage": len(idx) / max(len(qs), 1)}
            right_all, covered_all, total_all = right_all + right, covered_all + len(idx), total_all + len(qs)
        return {"accuracy": right_all / covered_all if covered_all else None, "correct": right_all,
                "covered": covered_all, "questions": total_all, "coverage": covered_all / max(total_all, 1),
                "sections": out}

    def evaluate_word_pairs(self, path: str | os.PathLike, case_insensitive: bool = True) -> dict:
        """Word-pair similarity (WordSim-353: ``word1 word2 score`` per line, ``#`` comments) as gensim scores it:
        the Spearman (and Pearson) correlation of the cosine similarities with the human scores over the pairs
        whose two words are in the vocabulary. Returns ``spearman``, ``pearson``, ``pairs``, ``oov`` (share of
        pairs skipped)."""
        lookup = {}
        for i in range(len(self) - 1, -1, -1):
            w = self.index_to_key[i]
            lookup[w.upper() if case_insensitive else w] = i
        n = self.fill_norms()
        sims, gold, total = [], [], 0
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.startswith("#") or not line.strip():
                    continue
                parts = line.split("\t") if "\t" in line else line.split()
                if len(parts) < 3:
                    continue
                a, b = (parts[0].upper(), parts[1].upper()) if case_insensitive else (parts[0], parts[1])
                total += 1
                if a in lookup and b in lookup:
                    sims.append(float(n[lookup[a]] @ n[lookup[b]]))
                    gold.append(float(parts[2]))
        return {"spearman": _spearman(sims, gold), "pearson": float(np.corrcoef(sims, gold)[0, 1]) if len(sims) > 1
                else None, "pairs": len(sims), "oov": 1 - len(sims) / max(total, 1)}


def _ranks(x):
    """Ranks from 1 with ties averaged."""
    x = np.asarray(x, np.float64)
    order = np.argsort(x, kind="stable")
    ranks = np.empty(len(x))
    ranks[order] = np.arange(1, len(x) + 1)
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, ranks)
    return sums[inverse] / counts[inverse]


def _spearman(a, b):
    if len(a) < 2:
        return None
    return float(np.corrcoef(_ranks(a), _ranks(b))[0, 1])


# ---- the bias probe (Bolukbasi et al. 2016) ------------------------------------------------------------------------

DEFINITIONAL_PAIRS = [("she", "he"), ("her", "his"), ("woman", "man"), ("mary", "john"), ("herself", "himself"),
                      ("daughter", "son"), ("mother", "father"), ("gal", "guy"), ("girl", "boy"), ("female", "male")]
OCCUPATIONS = ["nurse", "teacher", "secretary", "dancer", "singer", "maid", "servant", "housekeeper", "actress",
               "actor", "writer", "poet", "artist", "doctor", "lawyer", "judge", "engineer", "scientist",
               "professor", "soldier", "captain", "officer", "general", "commander", "architect", "merchant",
               "farmer", "priest", "bishop", "president", "minister", "manager", "player", "coach", "pilot",
               "sailor", "king", "queen", "prince", "princess"]


def gender_direction(kv: KeyedVectors, pairs: Sequence[tuple[str, str]] = DEFINITIONAL_PAIRS) -> tuple[np.ndarray,
                                                                                                       dict]:
    """Bolukbasi et al.'s gender direction: the first principal component of the definitional pairs' unit vectors,
    each pair centred on its mean (the PCA of their differences); oriented so that ``she - he`` projects > 0.

    Returns:
        (direction (D,) unit vector, info): info holds the ``pairs`` used (both words in the vocabulary), the
        ``explained`` variance ratios of the first components.
    """
    used = [(a, b) for a, b in pairs if a in kv and b in kv]
    if not used:
        raise ValueError("gender_direction: none of the definitional pairs is in the vocabulary")
    n = kv.fill_norms().astype(np.float64)
    rows = []
    for a, b in used:
        va, vb = n[kv.key_to_index[a]], n[kv.key_to_index[b]]
        centre = (va + vb) / 2
        rows += [va - centre, vb - centre]
    _, s, vt = np.linalg.svd(np.array(rows), full_matrices=False)
    direction = vt[0]
    a, b = used[0]
    if (n[kv.key_to_index[a]] - n[kv.key_to_index[b]]) @ direction < 0:
        direction = -direction
    var = s ** 2
    return direction, {"pairs": used, "explained": (var / var.sum())[:10].tolist()}


def bias_projections(kv: KeyedVectors, words: Sequence[str], direction: np.ndarray) -> dict[str, float]:
    """The cosine of each word (in the vocabulary) with ``direction``: > 0 leans to the first word of the pairs
    (she), < 0 to the second (he)."""
    n = kv.fill_norms()
    return {w: float(n[kv.key_to_index[w]] @ direction) for w in words if w in kv}
