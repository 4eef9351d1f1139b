"""Markov chains (MC): n-gram language models over characters or words, the first-order transition matrix and
its stationary distribution.

An order-n chain predicts the next symbol from the n - 1 before it: P(w_t | w_{t-n+1} .. w_{t-1}). Trained by
counting: the maximum-likelihood estimate is c(h, w) / c(h) (c: counts in the training stream, h the context).
Held-out text holds n-grams never seen, so the counts are smoothed:

- ``add_k`` (Laplace for k = 1, Lidstone otherwise): P(w | h) = (c(h, w) + k) / (c(h) + k V);
- ``kneser_ney`` (interpolated Kneser-Ney, Chen & Goodman 1998): a discount D is taken from every seen count and
  the mass it frees goes to the next lower order, whose counts are *continuation* counts N1+(. h' w) (how many
  distinct symbols precede h' w) rather than raw counts::

      P_m(w | h) = max(c_m(h, w) - D_m, 0) / c_m(h) + D_m N1+(h .) / c_m(h) * P_{m-1}(w | h')
      P_0(w) = 1 / V,    D_m = n1 / (n1 + 2 n2)  (n_r: how many m-grams have count r)

  where c_m is the raw count at the top order and the continuation count below it, and an unseen context
  (c_m(h) = 0) hands everything to P_{m-1}.

A first-order chain is a V x V row-stochastic transition matrix T (T[i, j] = P(j | i)); its stationary
distribution pi = pi T is found by power iteration (pi <- pi T until it stops moving) or as the left eigenvector
of T for eigenvalue 1 (the two agree: tested).

Read top-down: :class:`NGramChain` (fit, log_prob, perplexity, next_distribution, sample),
:func:`transition_matrix`, :func:`stationary_power`, :func:`stationary_eigenvector`, :func:`tokenize_words`.

Example::

    >>> import nnzoo
    >>> from nnzoo.zoo.markov import NGramChain
    >>> stream = nnzoo.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1])
    >>> chain = NGramChain(order=3, vocab_size=3).fit(stream)
    >>> round(chain.perplexity(nnzoo.tensor([0, 1, 2, 0, 1])), 2) < 1.5
    True
"""
from __future__ import annotations

import math
import re

import numpy as np

from ..autograd.grad_mode import no_grad
from ..creation import ones, tensor
from ..ops.arith import where
from ..tensor import Tensor

__all__ = ["NGramChain", "transition_matrix", "stationary_power", "stationary_eigenvector", "tokenize_words",
           "SMOOTHINGS"]

SMOOTHINGS = ("kneser_ney", "add_k")


def _as_ids(tokens) -> np.ndarray:
    """A 1-D int64 array of symbol ids from a tensor, an array or a list (host: counting is done on the host)."""
    if isinstance(tokens, Tensor):
        return tokens.numpy().astype(np.int64).ravel()
    return np.asarray(tokens, dtype=np.int64).ravel()


def _lookup(keys: np.ndarray, values: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """``values`` at the positions of ``queries`` in the sorted ``keys``; 0 where a query is absent."""
    if len(keys) == 0:
        return np.zeros(len(queries), dtype=values.dtype)
    pos = np.clip(np.searchsorted(keys, queries), 0, len(keys) - 1)
    return np.where(keys[pos] == queries, values[pos], 0)


class _Level:
    """The counts of one order m (context length m - 1): m-gram keys and counts, context totals, the number of
    distinct followers of each context, and the discount."""

    def __init__(self, keys: np.ndarray, counts: np.ndarray, base: int, discount: float | None):
        self.keys, self.counts = keys, counts.astype(np.float64)
        ctx, inverse = np.unique(keys // base, return_inverse=True)
        self.ctx_keys = ctx
        self.ctx_totals = np.bincount(inverse, weights=self.counts, minlength=len(ctx))
        self.ctx_types = np.bincount(inverse, minlength=len(ctx)).astype(np.float64)
        if discount is None:  # D = n1 / (n1 + 2 n2) (Ney, Essen & Kneser 1994)
            n1, n2 = np.sum(counts == 1), np.sum(counts == 2)
            discount = n1 / (n1 + 2 * n2) if n1 + n2 > 0 else 0.5
        self.discount = float(discount)


class NGramChain:
    """An order-``order`` Markov chain over ``vocab_size`` symbols, fitted by counting and smoothed.

    Args:
        order: n, the n-gram length (1: unigram; 2: the first-order chain P(w_t | w_{t-1}); ...).
        vocab_size: V, the number of symbols (ids 0..V-1).
        smoothing: ``'kneser_ney'`` (interpolated, one discount per order) or ``'add_k'``.
        k: the pseudo-count of add-k smoothing.
        discount: a fixed Kneser-Ney discount for every order (None: n1 / (n1 + 2 n2) per order).

    The first ``order - 1`` positions of a stream see a context padded with an extra symbol (id V) that is never
    predicted, so every position of a stream is scored.
    """

    def __init__(self, order: int, vocab_size: int, smoothing: str = "kneser_ney", k: float = 1.0,
                 discount: float | None = None):
        if order < 1:
            raise ValueError(f"NGramChain: order must be >= 1, got {order}")
        if smoothing not in SMOOTHINGS:
            raise ValueError(f"NGramChain: smoothing must be one of {SMOOTHINGS}, got {smoothing!r}")
        self.order, self.vocab_size, self.smoothing, self.k, self.fixed_discount = (
            order, vocab_size, smoothing, k, discount)
        self.base = vocab_size + 1  # the pad symbol has id V
        if order * math.log2(self.base) > 62:
            raise ValueError(f"NGramChain: order {order} over {vocab_size} symbols overflows the int64 n-gram keys "
                             f"(base ** order must stay below 2 ** 62)")
        self.levels: list[_Level] = []

    # ---- counting ------------------------------------------------------------------------------------------------
    def _keys(self, ids: np.ndarray, m: int) -> np.ndarray:
        """The m-gram key ending at every position of ``ids`` (context padded with id V): sum_j t_{i-j} B^j."""
        padded = np.concatenate([np.full(self.order - 1, self.vocab_size, dtype=np.int64), ids])
        start = self.order - 1
        keys = np.zeros(len(ids), dtype=np.int64)
        for j in range(m - 1, -1, -1):  # oldest symbol first: the highest digit
            keys = keys * self.base + padded[start - j:start - j + len(ids)]
        return keys

    def fit(self, tokens) -> NGramChain:
        """Count the m-grams of the training stream ``tokens`` for m = 1..order (the Kneser-Ney continuation
        counts below the top order). Returns self."""
        ids = _as_ids(tokens)
        if len(ids) and (ids.min() < 0 or ids.max() >= self.vocab_size):
            raise ValueError(f"NGramChain.fit: ids must lie in [0, {self.vocab_size}), got [{ids.min()}, {ids.max()}]")
        top_keys, top_counts = np.unique(self._keys(ids, self.order), return_counts=True)
        levels = [None] * (self.order + 1)
        levels[self.order] = _Level(top_keys, top_counts, self.base, self.fixed_discount)
        above = top_keys  # the distinct (m+1)-grams (padded contexts included: every m-gram has a left neighbour)
        for m in range(self.order - 1, 0, -1):
            if self.smoothing == "kneser_ney":  # N1+(. h w): distinct (m+1)-grams ending in the m-gram h w
                keys, counts = np.unique(above % self.base ** m, return_counts=True)
                above = np.unique(self._keys(ids, m)) if m > 1 else None
            else:
                keys, counts = np.unique(self._keys(ids, m), return_counts=True)
            levels[m] = _Level(keys, counts, self.base, self.fixed_discount)
        self.levels = levels
        return self

    # ---- probabilities -------------------------------------------------------------------------------------------
    def _prob(self, gram_keys: list[np.ndarray]) -> Tensor:
        """P(w | h) for m-gram keys given per order (``gram_keys[m]`` for m = 1..order), as a float64 tensor."""
        if not self.levels:
            raise RuntimeError("NGramChain: call fit before asking for probabilities")
        n = len(gram_keys[self.order])
        V = self.vocab_size
        with no_grad():
            if self.smoothing == "add_k":
                lv = self.levels[self.order]
                c = tensor(_lookup(lv.keys, lv.counts, gram_keys[self.order]))
                ch = tensor(_lookup(lv.ctx_keys, lv.ctx_totals, gram_keys[self.order] // self.base))
                return (c + self.k) / (ch + self.k * V)
            p = ones(n, dtype=c_dtype()) / V  # P_0: uniform
            for m in range(1, self.order + 1):
                lv = self.levels[m]
                q = gram_keys[m]
                c = tensor(_lookup(lv.keys, lv.counts, q))  # (n,) c_m(h, w)
                ctx = q // self.base
                ch = tensor(_lookup(lv.ctx_keys, lv.ctx_totals, ctx))  # (n,) c_m(h)
                types = tensor(_lookup(lv.ctx_keys, lv.ctx_types, ctx))  # (n,) N1+(h .)
                seen = ch > 0
                safe = where(seen, ch, ones(n, dtype=c_dtype()))
                d = lv.discount
                p = where(seen, (c - d).clamp(min=0) / safe + d * types / safe * p, p)
            return p

    def log_prob(self, tokens) -> Tensor:
        """ln P(w_t | context) at every position of the stream ``tokens`` (float64, shape (T,)); the context of
        the first positions is padded."""
        ids = _as_ids(tokens)
        keys = [None] + [self._keys(ids, m) for m in range(1, self.order + 1)]
        return self._prob(keys).log()

    def perplexity(self, tokens) -> float:
        """exp of the mean negative log-likelihood per symbol of the stream ``tokens``."""
        return math.exp(-float(self.log_prob(tokens).mean()))

    def next_distribution(self, context) -> Tensor:
        """P(. | context): a (V,) float64 tensor summing to 1 (the last order - 1 ids of ``context`` are used)."""
        ctx = list(_as_ids(context))[-(self.order - 1):] if self.order > 1 else []
        ctx = [self.vocab_size] * (self.order - 1 - len(ctx)) + ctx
        w = np.arange(self.vocab_size, dtype=np.int64)
        keys = [None]
        for m in range(1, self.order + 1):
            prefix = 0
            for s in ctx[len(ctx) - (m - 1):] if m > 1 else []:
                prefix = prefix * self.base + s
            keys.append(prefix * self.base + w)
        p = self._prob(keys)
        return p / p.sum()

    def sample(self, context, length: int, generator=None, temperature: float = 1.0) -> list[int]:
        """``length`` ids drawn one after the other from P(. | the last order - 1 ids), starting after
        ``context``; ``temperature`` != 1 sharpens or flattens each distribution (p ** (1 / temperature))."""
        from ..random import multinomial
        out = list(_as_ids(context))
        for _ in range(length):
            p = self.next_distribution(out)
            if temperature != 1.0:
                p = p ** (1.0 / temperature)
            out.append(int(multinomial(p, 1, generator=generator).item()))
        return out[len(out) - length:]

    def __repr__(self) -> str:
        return f"NGramChain(order={self.order}, vocab_size={self.vocab_size}, smoothing={self.smoothing!r})"


def c_dtype():
    """The dtype of the chain's probabilities (float64: log-likelihoods summed over 250 K symbols)."""
    from ..dtypes import float64
    return float64


# ---- the first-order chain: transition matrix and stationary distribution -----------------------------------------

def transition_matrix(tokens, vocab_size: int, k: float = 0.0) -> Tensor:
    """The V x V row-stochastic matrix T[i, j] = (c(i, j) + k) / (c(i) + k V) of the first-order chain of the
    stream ``tokens`` (float64). A symbol that is never followed (k = 0) gets a uniform row.

    Shape: (V, V); each row sums to 1.
    """
    ids = _as_ids(tokens)
    counts = np.bincount(ids[:-1] * vocab_size + ids[1:], minlength=vocab_size * vocab_size)
    c = tensor(counts.reshape(vocab_size, vocab_size).astype(np.float64)) + k  # (V, V)
    rows = c.sum(1, keepdim=True)  # (V, 1)
    uniform = ones(vocab_size, vocab_size, dtype=c.dtype) / vocab_size
    return where(rows > 0, c / where(rows > 0, rows, ones(vocab_size, 1, dtype=c.dtype)), uniform)


def stationary_power(T: Tensor, tol: float = 1e-12, max_iter: int = 100_000) -> tuple[Tensor, int]:
    """The stationary distribution pi = pi T of the row-stochastic ``T`` by power iteration from the uniform
    distribution: pi <- pi T until the L1 change is below ``tol``. Converges for an irreducible aperiodic chain,
    geometrically at the rate of T's second eigenvalue modulus.

    Returns:
        (pi: (V,) tensor summing to 1, the number of iterations).
    """
    V = T.shape[0]
    pi = ones(V, dtype=T.dtype) / V
    with no_grad():
        for it in range(1, max_iter + 1):
            nxt = pi @ T
            nxt = nxt / nxt.sum()
            if float((nxt - pi).abs().sum()) < tol:
                return nxt, it
            pi = nxt
    return pi, max_iter


def stationary_eigenvector(T: Tensor) -> Tensor:
    """The stationary distribution as the left eigenvector of ``T`` for its eigenvalue closest to 1, normalised
    to sum to 1.

    NOTE: nnzoo has no eigen-solver yet; this one runs LAPACK's ``geev`` on the host (``numpy.linalg.eig``) on
    the V x V matrix.
    """
    values, vectors = np.linalg.eig(T.numpy().T)  # host: eigen-decomposition (no nnzoo.linalg yet)
    v = np.real(vectors[:, np.argmin(np.abs(values - 1.0))])
    return tensor(v / v.sum())


# ---- words ----------------------------------------------------------------------------------------------------------

_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)*|[^\sA-Za-z]")


def tokenize_words(text: str, lower: bool = True) -> list[str]:
    """Words (letters with inner apostrophes) and single punctuation marks of ``text``, lower-cased."""
    return _WORD.findall(text.lower() if lower else text)
