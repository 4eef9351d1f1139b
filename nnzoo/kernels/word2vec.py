"""word2vec's training loop (Mikolov et al. 2013, the C tool and gensim's ``word2vec_inner``) as one fused pass.

Skip-gram and CBOW, each with negative sampling and/or hierarchical softmax, trained by plain SGD one
example at a time, in word2vec.c's order. The dense path through autograd (``nnzoo.zoo.word2vec.SkipGramNS``,
``CBOWNS``) is the tested reference of one update; this file holds the loop that makes it fast.

Per training example (skip-gram: input row ``v = syn0[context]``, target the centre word; CBOW: ``v`` the mean
of the window's rows, target the centre word), with ``s = sigmoid(v . u_w)`` for each output row ``u_w``:

- negative sampling: labels 1 for the target and 0 for ``negative`` words drawn from the unigram^0.75 table
  (a drawn word equal to the target is skipped); loss ``-log s_target - sum log(1 - s_neg)``;
- hierarchical softmax: the target's Huffman path (inner nodes ``points``, bits ``codes``), label ``1 - code``;
- derivative: ``dL/dv = -sum_w (label_w - s_w) u_w``, ``dL/du_w = -(label_w - s_w) v``; the step is
  ``u_w += alpha (label_w - s_w) v`` (each output row at once, in order) and, after all outputs,
  ``syn0[context] += alpha sum_w (label_w - s_w) u_w`` (CBOW: added undivided to every context row, as
  word2vec.c and gensim do with ``cbow_mean=1``).

The corpus pass draws everything word2vec.c draws from its 48-bit linear congruential generator (``r = r *
25214903917 + 11 mod 2**48``, a draw is ``r >> 16``), in this order, per sentence: the subsampling test of
each word (kept when ``keep[w] >= draw``: gensim's ``sample_int``), then the reduced window of each kept word
(``b = draw % window``, the window is ``window - b``), then per example the negatives (``cum_table`` searched
for ``draw % total`` as gensim's ``bisect_left``). The learning rate decays linearly from ``alpha`` to
``min_alpha`` over all epochs by the share of the shard's words done. Hogwild (Recht et al. 2011): the shards
(contiguous runs of sentences) train in parallel threads on the shared matrices without locks, as word2vec.c's
and gensim's workers do.

Two paths, chosen per call by ``jit.use``: the compiled kernels (Numba, ``prange`` over shards) and the NumPy
reference (the same loop in Python with NumPy row operations, shards one after another): slow (about
10k words/s), the fallback without Numba and the reference the compiled path is tested against.
"""
from __future__ import annotations

import bisect
import math

import numpy as np

from ..backend import xp
from . import jit

__all__ = ["train_epoch", "sg_pairs", "cbow_windows", "LCG_MUL", "LCG_ADD", "LCG_MASK"]

LCG_MUL, LCG_ADD, LCG_MASK = 25214903917, 11, (1 << 48) - 1
_M, _A, _K, _S16 = np.uint64(LCG_MUL), np.uint64(LCG_ADD), np.uint64(LCG_MASK), np.uint64(16)

prange = range  # numba.prange once a compiled kernel runs (see _bind)


# ---- the per-example updates (plain Python functions: compiled by Numba as helpers, see _bind) -------------------

def _softplus(x):
    """log(1 + exp(x)) without overflow."""
    if x > 0.0:
        return x + math.log1p(math.exp(-x))
    return math.log1p(math.exp(x))


def _neg_update(v, syn1neg, words, n, alpha, work, want_loss, gs):
    """Negative sampling for input vector ``v``: ``words[0]`` the target (label 1), ``words[1:n]`` the
    negatives (label 0; one equal to the target is skipped). Updates the output rows, adds the input's step
    to ``work``; returns the loss (0 unless ``want_loss``). ``gs``: a scratch array of the vectors' dtype.

    NOTE: the dot product sums in the vectors' dtype (as BLAS's sdot, which gensim calls) and the step ``g`` is
    rounded to it: in float32 the row loops then run 8 lanes wide instead of converting to float64 and back.
    """
    dim = v.shape[0]
    gs[0] = 0.0
    zero = gs[0]
    loss = 0.0
    target = words[0]
    for k in range(n):
        w = words[k]
        if k > 0 and w == target:
            continue
        u = syn1neg[w]
        f = zero
        for d in range(dim):
            f += v[d] * u[d]
        label = 1.0 if k == 0 else 0.0
        gs[0] = (label - 1.0 / (1.0 + math.exp(-float(f)))) * alpha
        g = gs[0]  # in the vectors' dtype: the row updates stay in float32 SIMD lanes
        if want_loss:
            loss += _softplus(-float(f)) if k == 0 else _softplus(float(f))
        for d in range(dim):
            work[d] += g * u[d]
        for d in range(dim):
            u[d] += g * v[d]
    return loss


def _hs_update(v, syn1, points, codes, n, alpha, work, want_loss, gs):
    """Hierarchical softmax for input vector ``v`` along a Huffman path of ``n`` inner nodes ``points`` with
    bits ``codes`` (label ``1 - code``). Updates the node rows, adds the input's step to ``work``."""
    dim = v.shape[0]
    gs[0] = 0.0
    zero = gs[0]
    loss = 0.0
    for k in range(n):
        u = syn1[points[k]]
        f = zero
        for d in range(dim):
            f += v[d] * u[d]
        label = 1.0 - codes[k]
        gs[0] = (label - 1.0 / (1.0 + math.exp(-float(f)))) * alpha
        g = gs[0]
        if want_loss:
            loss += _softplus(-float(f)) if codes[k] == 0 else _softplus(float(f))
        for d in range(dim):
            work[d] += g * u[d]
        for d in range(dim):
            u[d] += g * v[d]
    return loss


def _draw_negatives(cum_table, total, words, negative, r):
    """Fill ``words[1:negative+1]`` with draws from the unigram^0.75 table; returns the generator state.

    A draw ``x = (r >> 16) % total`` picks the first word whose cumulative count is at least ``x``: word ``i``
    for ``table[i-1] < x <= table[i]``, as gensim's ``bisect_left`` (word2vec.c looks ``x`` up in a table of
    1e8 slots instead)."""
    for k in range(1, negative + 1):
        x = (r >> _S16) % total
        lo, hi = 0, cum_table.shape[0]
        while lo < hi:  # the first index whose cumulative count is at least x (gensim's bisect_left)
            mid = (lo + hi) >> 1
            if cum_table[mid] >= x:
                hi = mid
            else:
                lo = mid + 1
        words[k] = lo
        r = (r * _M + _A) & _K
    return r


def _train_shard(syn0, syn1neg, syn1, corpus, starts, s0, s1, keep, cum_table, points, codes, codelens,
                 sg, hs, negative, window, cbow_mean, alpha0, alpha1, epoch, epochs, r, loss_row, count_row,
                 want_loss, buf, reduced, words, neu1, work, gs):
    """Train sentences ``s0:s1``; returns the generator state. ``loss_row``/``count_row`` (buckets over the
    epoch's progress) collect the loss and the number of examples. The learning rate follows the epoch's
    progress at the shard's sentences (the share of the corpus's words before them), as gensim's per job."""
    dim = syn0.shape[1]
    nb = loss_row.shape[0]
    total_words = starts[starts.shape[0] - 1] - starts[0]
    total = cum_table[cum_table.shape[0] - 1] if negative > 0 else np.uint64(1)
    for s in range(s0, s1):
        done = starts[s] - starts[0]
        frac = done / max(total_words, 1)
        alpha = alpha0 - (alpha0 - alpha1) * (epoch + frac) / epochs
        if alpha < alpha1:
            alpha = alpha1
        bucket = min(int(frac * nb), nb - 1)
        m = 0
        for p in range(starts[s], starts[s + 1]):  # subsampling
            w = corpus[p]
            if keep[w] < np.uint64(4294967296):
                draw = r >> _S16
                r = (r * _M + _A) & _K
                if keep[w] < draw:
                    continue
            buf[m] = w
            m += 1
        for i in range(m):  # reduced windows
            reduced[i] = np.int64((r >> _S16) % np.uint64(window))
            r = (r * _M + _A) & _K
        loss = 0.0
        count = 0
        for i in range(m):
            target = buf[i]
            b = reduced[i]
            j0 = max(i - window + b, 0)
            j1 = min(i + window + 1 - b, m)
            if sg:
                for j in range(j0, j1):
                    if j == i:
                        continue
                    v = syn0[buf[j]]
                    for d in range(dim):
                        work[d] = 0.0
                    if hs:
                        loss += _hs_update(v, syn1, points[target], codes[target], codelens[target], alpha, work,
                                           want_loss, gs)
                    if negative > 0:
                        words[0] = target
                        r = _draw_negatives(cum_table, total, words, negative, r)
                        loss += _neg_update(v, syn1neg, words, negative + 1, alpha, work, want_loss, gs)
                    for d in range(dim):
                        v[d] += work[d]
                    count += 1
            else:
                c = 0
                for d in range(dim):
                    neu1[d] = 0.0
                for j in range(j0, j1):
                    if j != i:
                        row = syn0[buf[j]]
                        for d in range(dim):
                            neu1[d] += row[d]
                        c += 1
                if c == 0:
                    continue
                if cbow_mean:
                    for d in range(dim):
                        neu1[d] /= c
                for d in range(dim):
                    work[d] = 0.0
                if hs:
                    loss += _hs_update(neu1, syn1, points[target], codes[target], codelens[target], alpha, work,
                                       want_loss, gs)
                if negative > 0:
                    words[0] = target
                    r = _draw_negatives(cum_table, total, words, negative, r)
                    loss += _neg_update(neu1, syn1neg, words, negative + 1, alpha, work, want_loss, gs)
                if not cbow_mean:
                    for d in range(dim):
                        work[d] /= c
                for j in range(j0, j1):
                    if j != i:
                        row = syn0[buf[j]]
                        for d in range(dim):
                            row[d] += work[d]
                count += 1
        loss_row[bucket] += loss
        count_row[bucket] += count
    return r


# ---- compiled kernels --------------------------------------------------------------------------------------------

_HELPERS = ("_softplus", "_neg_update", "_hs_update", "_draw_negatives", "_train_shard")
_py = {name: globals()[name] for name in _HELPERS}  # the plain functions (the reference path calls these)


def _bind():
    """Compile the helpers as Numba functions and bind ``prange`` before a kernel is first compiled (Numba reads
    the module's globals when it compiles; ``import nnzoo`` must not import numba, so this happens lazily)."""
    global prange
    if prange is range:
        import numba
        g = globals()
        for name in _HELPERS:
            # NOTE: fastmath reassoc+contract only: the dot products and row updates may be summed in any order
            # (BLAS's sdot/saxpy, which gensim calls, do so too); no assumptions on NaN or infinity
            g[name] = numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})(_py[name])
        prange = numba.prange


@jit.kernel(parallel=True)
def _train_kernel(syn0, syn1neg, syn1, corpus, starts, bounds, keep, cum_table, points, codes, codelens, sg, hs,
                  negative, window, cbow_mean, alpha0, alpha1, epoch, epochs, seeds, loss_out, count_out, want_loss,
                  max_len, workers):
    """One epoch over every job, ``workers`` Hogwild threads, worker t taking jobs t, t + workers, ..."""
    dim = syn0.shape[1]
    jobs = bounds.shape[0] - 1
    for t in prange(workers):
        buf = np.empty(max_len, np.int64)
        reduced = np.empty(max_len, np.int64)
        words = np.empty(negative + 1, np.int64)
        neu1 = np.empty(dim, syn0.dtype)
        work = np.empty(dim, syn0.dtype)
        gs = np.empty(1, syn0.dtype)
        for j in range(t, jobs, workers):
            seeds[j] = _train_shard(syn0, syn1neg, syn1, corpus, starts, bounds[j], bounds[j + 1], keep, cum_table,
                                    points, codes, codelens, sg, hs, negative, window, cbow_mean, alpha0, alpha1,
                                    epoch, epochs, seeds[j], loss_out[j], count_out[j], want_loss, buf, reduced,
                                    words, neu1, work, gs)


@jit.kernel()
def _sg_pairs_kernel(syn0, syn1neg, inputs, words, alphas, losses):
    dim = syn0.shape[1]
    work = np.empty(dim, syn0.dtype)
    for p in range(inputs.shape[0]):
        v = syn0[inputs[p]]
        for d in range(dim):
            work[d] = 0.0
        losses[p] = _neg_update(v, syn1neg, words[p], words.shape[1], alphas[p], work, True, work[:1].copy())
        for d in range(dim):
            v[d] += work[d]


@jit.kernel()
def _cbow_windows_kernel(syn0, syn1neg, contexts, lengths, words, alphas, losses, cbow_mean):
    dim = syn0.shape[1]
    work = np.empty(dim, syn0.dtype)
    neu1 = np.empty(dim, syn0.dtype)
    for p in range(contexts.shape[0]):
        c = lengths[p]
        for d in range(dim):
            neu1[d] = 0.0
        for j in range(c):
            row = syn0[contexts[p, j]]
            for d in range(dim):
                neu1[d] += row[d]
        if cbow_mean:
            for d in range(dim):
                neu1[d] /= c
        for d in range(dim):
            work[d] = 0.0
        losses[p] = _neg_update(neu1, syn1neg, words[p], words.shape[1], alphas[p], work, True, neu1[:1].copy())
        if not cbow_mean:
            for d in range(dim):
                work[d] /= c
        for j in range(c):
            row = syn0[contexts[p, j]]
            for d in range(dim):
                row[d] += work[d]


# ---- the NumPy reference -----------------------------------------------------------------------------------------

def _softplus_np(x):
    return x + math.log1p(math.exp(-x)) if x > 0.0 else math.log1p(math.exp(x))


def _neg_update_np(v, syn1neg, words, alpha, work):
    loss = 0.0
    for k, w in enumerate(words):
        if k > 0 and w == words[0]:
            continue
        u = syn1neg[w]
        f = float(v @ u)
        label = 1.0 if k == 0 else 0.0
        g = (label - 1.0 / (1.0 + math.exp(-f))) * alpha
        loss += _softplus_np(-f) if k == 0 else _softplus_np(f)
        work += g * u
        u += g * v   # in place: u is a row of syn1neg
    return loss


def _hs_update_np(v, syn1, points, codes, alpha, work):
    loss = 0.0
    for p, code in zip(points, codes):
        u = syn1[p]
        f = float(v @ u)
        g = (1.0 - code - 1.0 / (1.0 + math.exp(-f))) * alpha
        loss += _softplus_np(-f) if code == 0 else _softplus_np(f)
        work += g * u
        u += g * v
    return loss


def _train_numpy(syn0, syn1neg, syn1, corpus, starts, bounds, keep, cum_table, points, codes, codelens, sg, hs,
                 negative, window, cbow_mean, alpha0, alpha1, epoch, epochs, seeds, loss_out, count_out):
    """The reference of ``_train_kernel``: the same draws and updates, in Python, shard after shard."""
    nb = loss_out.shape[1]
    total = int(cum_table[-1]) if negative > 0 else 1
    cum = cum_table.tolist()
    dim = syn0.shape[1]
    for t in range(len(bounds) - 1):
        r = int(seeds[t])

        def draw():
            nonlocal r
            x = r >> 16
            r = (r * LCG_MUL + LCG_ADD) & LCG_MASK
            return x
        s0, s1 = int(bounds[t]), int(bounds[t + 1])
        total_words = int(starts[-1] - starts[0])
        for s in range(s0, s1):
            frac = int(starts[s] - starts[0]) / max(total_words, 1)
            alpha = max(alpha0 - (alpha0 - alpha1) * (epoch + frac) / epochs, alpha1)
            bucket = min(int(frac * nb), nb - 1)
            kept = [int(w) for w in corpus[starts[s]:starts[s + 1]] if keep[w] >= 2 ** 32 or keep[w] >= draw()]
            reduced = [draw() % window for _ in kept]
            loss, count = 0.0, 0
            for i, target in enumerate(kept):
                b = reduced[i]
                lo, hi = max(i - window + b, 0), min(i + window + 1 - b, len(kept))
                ctx = [kept[j] for j in range(lo, hi) if j != i]
                path = (points[target, :codelens[target]], codes[target, :codelens[target]])
                if sg:
                    for c in ctx:
                        v, work = syn0[c], xp.zeros(dim, syn0.dtype)
                        if hs:
                            loss += _hs_update_np(v, syn1, *path, alpha, work)
                        if negative:
                            negs = [target] + [bisect.bisect_left(cum, draw() % total) for _ in range(negative)]
                            loss += _neg_update_np(v, syn1neg, negs, alpha, work)
                        v += work
                        count += 1
                elif ctx:
                    neu1 = syn0[ctx].sum(axis=0)
                    if cbow_mean:
                        neu1 /= len(ctx)
                    work = xp.zeros(dim, syn0.dtype)
                    if hs:
                        loss += _hs_update_np(neu1, syn1, *path, alpha, work)
                    if negative:
                        negs = [target] + [bisect.bisect_left(cum, draw() % total) for _ in range(negative)]
                        loss += _neg_update_np(neu1, syn1neg, negs, alpha, work)
                    if not cbow_mean:
                        work /= len(ctx)
                    for c in ctx:
                        syn0[c] += work
                    count += 1
            loss_out[t, bucket] += loss
            count_out[t, bucket] += count
        seeds[t] = r


# ---- the public functions ------------------------------------------------------------------------------------------

def train_epoch(syn0: np.ndarray, syn1neg: np.ndarray, syn1: np.ndarray, corpus: np.ndarray, starts: np.ndarray,
                bounds: np.ndarray, keep: np.ndarray, cum_table: np.ndarray, points: np.ndarray, codes: np.ndarray,
                codelens: np.ndarray, *, sg: bool, hs: bool, negative: int, window: int, cbow_mean: bool,
                alpha: float, min_alpha: float, epoch: int, epochs: int, seeds: np.ndarray, buckets: int = 20,
                compute_loss: bool = True, workers: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One epoch of word2vec over a corpus, in place on ``syn0``/``syn1neg``/``syn1``.

    Args:
        syn0: (V, D) input vectors (the word vectors). syn1neg: (V, D) output vectors of negative sampling
            (unused when ``negative`` is 0: any (1, D) array). syn1: (V - 1, D) Huffman inner-node vectors
            (unused when ``hs`` is false: any (1, D) array). The three share one float dtype.
        corpus: (N,) int64 word indices of all sentences, end to end (words outside the vocabulary removed).
        starts: (S + 1,) int64 offsets of the sentences in ``corpus``.
        bounds: (W + 1,) int64 sentence indices cutting the corpus into W jobs (runs of sentences).
        keep: (V,) uint64 subsampling thresholds (``keep_probability * (2**32 - 1)``; ``2**32``: no draw, kept).
        cum_table: (V,) uint64 cumulative unigram^0.75 counts (the noise distribution).
        points, codes: (V, L) int64 Huffman paths (inner-node indices, bits); codelens: (V,) int64 lengths.
        sg: skip-gram (True) or CBOW. hs: hierarchical softmax. negative: negatives per example (0: none).
        window: the largest window; cbow_mean: CBOW averages (True) or sums the context vectors.
        alpha, min_alpha: the learning rate decays linearly from ``alpha`` to ``min_alpha`` over all epochs.
        epoch, epochs: this epoch (from 0) and the number of epochs.
        seeds: (W,) uint64 generator states, one per job, advanced in place.
        buckets: the loss is summed in this many buckets of the epoch's progress.
        compute_loss: sum the loss (costs a log per output row in the compiled path).
        workers: Hogwild threads (default W: one job each); worker t trains jobs t, t + workers, ... in order,
            so the workers move through the corpus side by side, as gensim's workers take its 10,000-word jobs
            in turn. The NumPy reference trains the jobs one after another.

    Returns:
        (loss, count): (W, buckets) float64 summed loss and int64 number of training examples.
    """
    W = len(bounds) - 1
    loss = xp.zeros((W, buckets))
    count = xp.zeros((W, buckets), np.int64)
    if jit.use(syn0, syn1neg, syn1):
        _bind()
        max_len = int(xp.max(xp.diff(starts))) if len(starts) > 1 else 1
        _train_kernel(syn0, syn1neg, syn1, corpus, starts, bounds, keep, cum_table, points, codes, codelens,
                      bool(sg), bool(hs), int(negative), int(window), bool(cbow_mean), float(alpha),
                      float(min_alpha), int(epoch), int(epochs), seeds, loss, count, bool(compute_loss),
                      max(max_len, 1), max(1, min(W, W if workers is None else int(workers))))
    else:
        _train_numpy(syn0, syn1neg, syn1, corpus, starts, bounds, keep, cum_table, points, codes, codelens, sg, hs,
                     negative, window, cbow_mean, alpha, min_alpha, epoch, epochs, seeds, loss, count)
    return loss, count


def sg_pairs(syn0: np.ndarray, syn1neg: np.ndarray, inputs: np.ndarray, words: np.ndarray,
             alphas: np.ndarray) -> np.ndarray:
    """Skip-gram negative-sampling SGD on explicit examples, one after another, in place.

    Example ``p``: input row ``syn0[inputs[p]]``, target ``words[p, 0]``, negatives ``words[p, 1:]``, rate
    ``alphas[p]`` (the update of the module docstring). Returns the (P,) float64 losses before each update.
    """
    losses = xp.zeros(len(inputs))
    if jit.use(syn0, syn1neg):
        _bind()
        _sg_pairs_kernel(syn0, syn1neg, xp.asarray(inputs, np.int64), xp.ascontiguousarray(words, np.int64),
                         xp.asarray(alphas, np.float64), losses)
        return losses
    dim = syn0.shape[1]
    for p in range(len(inputs)):
        work = xp.zeros(dim, syn0.dtype)
        losses[p] = _neg_update_np(syn0[inputs[p]], syn1neg, [int(w) for w in words[p]], float(alphas[p]), work)
        syn0[inputs[p]] += work
    return losses


def cbow_windows(syn0: np.ndarray, syn1neg: np.ndarray, contexts: np.ndarray, lengths: np.ndarray,
                 words: np.ndarray, alphas: np.ndarray, cbow_mean: bool = True) -> np.ndarray:
    """CBOW negative-sampling SGD on explicit examples, one after another, in place.

    Example ``p``: context rows ``contexts[p, :lengths[p]]`` (averaged, or summed when ``cbow_mean`` is
    false), target ``words[p, 0]``, negatives ``words[p, 1:]``, rate ``alphas[p]``. Returns the losses.
    """
    losses = xp.zeros(len(contexts))
    if jit.use(syn0, syn1neg):
        _bind()
        _cbow_windows_kernel(syn0, syn1neg, xp.ascontiguousarray(contexts, np.int64), xp.asarray(lengths, np.int64),
                             xp.ascontiguousarray(words, np.int64), xp.asarray(alphas, np.float64), losses,
                             bool(cbow_mean))
        return losses
    dim = syn0.shape[1]
    for p in range(len(contexts)):
        ctx = [int(c) for c in contexts[p, :lengths[p]]]
        neu1 = syn0[ctx].sum(axis=0)
        if cbow_mean:
            neu1 /= len(ctx)
        work = xp.zeros(dim, syn0.dtype)
        losses[p] = _neg_update_np(neu1, syn1neg, [int(w) for w in words[p]], float(alphas[p]), work)
        if not cbow_mean:
            work /= len(ctx)
        for c in ctx:
            syn0[c] += work
    return losses
