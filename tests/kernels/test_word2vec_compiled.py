"""The compiled word2vec kernels against their NumPy reference (nnzoo.kernels.word2vec), through jit.mode."""
import numpy as np
import pytest

from nnzoo.kernels import jit
from nnzoo.kernels import word2vec as K
from nnzoo.zoo.word2vec import build_vocab, encode, shard_bounds

numba = pytest.importorskip("numba")

TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-14)}


@pytest.fixture
def one_thread():
    """Hogwild off: one Numba thread runs the shards one after another, in order, as the reference does."""
    jit.use(np.zeros(1))
    K._bind()  # nnzoo's Numba set-up (its thread count) first, so that it does not undo the one thread below
    old = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(old)


def _corpus(n_sent=12, seed=0, vocab=40):
    rng = np.random.default_rng(seed)
    zipf = 1.0 / np.arange(1, vocab + 1)
    words = [f"w{i}" for i in range(vocab)]
    return [[words[i] for i in rng.choice(vocab, size=rng.integers(0, 30), p=zipf / zipf.sum())]
            for _ in range(n_sent)]


def _tables(sentences, dim, dtype, hs, negative, seed=0, sample=1e-2):
    v = build_vocab(sentences, min_count=1, sample=sample, hs=hs)
    rng = np.random.default_rng(seed)
    V = len(v)
    syn0 = ((rng.random((V, dim)) - 0.5) / dim).astype(dtype)
    syn1neg = (rng.standard_normal((V, dim)) * 0.1).astype(dtype) if negative else np.zeros((1, dim), dtype)
    syn1 = (rng.standard_normal((max(V - 1, 1), dim)) * 0.1).astype(dtype) if hs else np.zeros((1, dim), dtype)
    return v, syn0, syn1neg, syn1


def _run(sentences, mode, dtype, sg, hs, negative, workers, dim=7, epochs=2, cbow_mean=True):
    v, syn0, syn1neg, syn1 = _tables(sentences, dim, dtype, hs, negative)
    corpus, starts = encode(sentences, v)
    bounds = shard_bounds(starts, workers)
    seeds = np.arange(1, workers + 1, dtype=np.uint64) * np.uint64(12345)
    losses = []
    with jit.mode(mode):
        for epoch in range(epochs):
            loss, count = K.train_epoch(syn0, syn1neg, syn1, corpus, starts, bounds, v.keep, v.cum_table, v.points,
                                        v.codes, v.codelens, sg=sg, hs=hs, negative=negative, window=3,
                                        cbow_mean=cbow_mean, alpha=0.05, min_alpha=0.001, epoch=epoch,
                                        epochs=epochs, seeds=seeds, buckets=4)
            losses.append((loss, count))
    return syn0, syn1neg, syn1, seeds, losses


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sg,hs,negative,cbow_mean", [(1, 0, 5, 1), (1, 1, 0, 1), (1, 1, 3, 1), (0, 0, 5, 1),
                                                      (0, 1, 0, 1), (0, 0, 4, 0)])
@pytest.mark.parametrize("workers", [1, 3])
def test_train_epoch_compiled_equals_reference(dtype, sg, hs, negative, cbow_mean, workers, one_thread):
    sentences = _corpus()
    a = _run(sentences, "compiled", dtype, sg, hs, negative, workers, cbow_mean=cbow_mean)
    b = _run(sentences, "numpy", dtype, sg, hs, negative, workers, cbow_mean=cbow_mean)
    for x, y in zip(a[:3], b[:3]):
        np.testing.assert_allclose(x, y, **TOL[dtype])
    np.testing.assert_array_equal(a[3], b[3])                 # the same number of draws
    for (la, ca), (lb, cb) in zip(a[4], b[4]):
        np.testing.assert_array_equal(ca, cb)
        np.testing.assert_allclose(la, lb, rtol=1e-5 if dtype == np.float32 else 1e-10)
    assert sum(c.sum() for _, c in a[4]) > 0


def test_train_epoch_one_sentence_of_one_word_and_empty_corpus(one_thread):
    for sentences in ([["a"]], [["a", "b"], [], ["b"]]):
        for sg in (0, 1):
            a = _run(sentences, "compiled", np.float64, sg, 1, 2, 1)
            b = _run(sentences, "numpy", np.float64, sg, 1, 2, 1)
            for x, y in zip(a[:3], b[:3]):
                np.testing.assert_allclose(x, y, **TOL[np.float64])
    v, syn0, syn1neg, syn1 = _tables([["a"]], 4, np.float32, 0, 2)
    before = syn0.copy()
    for mode in jit.MODES:
        with jit.mode(mode):
            _, count = K.train_epoch(syn0, syn1neg, syn1, np.zeros(0, np.int64), np.zeros(1, np.int64),
                                     np.zeros(2, np.int64), v.keep, v.cum_table, v.points, v.codes, v.codelens,
                                     sg=True, hs=False, negative=2, window=2, cbow_mean=True, alpha=0.1,
                                     min_alpha=0.1, epoch=0, epochs=1, seeds=np.ones(1, np.uint64))
        assert count.sum() == 0
    np.testing.assert_array_equal(syn0, before)


def test_hogwild_threads_train(one_thread):
    """Two threads on two shards (races allowed): the loss falls as with one."""
    numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
    sentences = _corpus(n_sent=40)
    _, _, _, _, losses = _run(sentences, "compiled", np.float32, 1, 0, 5, 2, epochs=3)
    first = losses[0][0].sum() / losses[0][1].sum()
    last = losses[-1][0].sum() / losses[-1][1].sum()
    assert np.isfinite(last) and last < first


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_explicit_examples_compiled_equals_reference(dtype):
    rng = np.random.default_rng(1)
    V, D, P, k = 13, 5, 9, 3
    syn0 = rng.standard_normal((V, D)).astype(dtype)
    syn1 = rng.standard_normal((V, D)).astype(dtype)
    inputs = rng.integers(0, V, 2 * P)[::2]                   # non-contiguous
    words = np.asfortranarray(rng.integers(0, V, (P, k + 1)))
    alphas = rng.random(P) * 0.1
    contexts = rng.integers(0, V, (P, 6))
    lengths = rng.integers(1, 7, P)
    out = {}
    for mode in jit.MODES:
        a0, a1 = syn0.copy(), syn1.copy()
        c0, c1 = syn0.copy(), syn1.copy()
        with jit.mode(mode):
            l1 = K.sg_pairs(a0, a1, inputs, words, alphas)
            l2 = K.cbow_windows(c0, c1, contexts, lengths, words, alphas, cbow_mean=True)
            l3 = K.cbow_windows(c0, c1, contexts[:1], lengths[:1], words[:1], alphas[:1], cbow_mean=False)
        out[mode] = (a0, a1, c0, c1, l1, l2, l3)
    for x, y in zip(out["compiled"], out["numpy"]):
        np.testing.assert_allclose(x, y, **TOL[dtype])
    for mode in jit.MODES:   # no examples: nothing changes
        a0 = syn0.copy()
        with jit.mode(mode):
            assert K.sg_pairs(a0, syn1.copy(), inputs[:0], words[:0], alphas[:0]).shape == (0,)
        np.testing.assert_array_equal(a0, syn0)


@pytest.mark.parametrize("compiled", [False, True])
def test_negative_draw_is_gensims_bisect_left(compiled):
    """A draw ``x = (r >> 16) % total`` equal to a cumulative count ``table[i]`` picks word ``i`` (gensim's
    ``bisect_left`` in ``word2vec_inner.pyx``: the first index with ``table[idx] >= x``), not ``i + 1``; the NumPy
    reference path draws with ``bisect.bisect_left`` likewise."""
    import bisect
    v = build_vocab(_corpus(40, vocab=30), min_count=1)
    cum = v.cum_table
    total = cum[-1]
    if compiled:
        K._bind()
    draw = K._draw_negatives if compiled else K._py["_draw_negatives"]
    xs = [0, int(cum[0]), int(cum[0]) + 1, int(cum[3]), int(cum[3]) - 1, int(cum[-2]), int(total) - 1]
    for x in xs:
        words = np.zeros(2, np.int64)
        with np.errstate(over="ignore"):  # the plain-Python helper wraps uint64 products as the LCG intends
            r = draw(cum, total, words, 1, np.uint64(x << 16))  # the first draw is (r >> 16) % total = x
        assert words[1] == bisect.bisect_left(cum.tolist(), x) == np.searchsorted(cum, x, side="left"), x
        assert r == (x << 16) * K.LCG_MUL + K.LCG_ADD & K.LCG_MASK
    assert [bisect.bisect_left(cum.tolist(), x) for x in xs[1:3]] == [0, 1]  # the boundary case itself


@pytest.mark.parametrize("sg", [0, 1])
def test_workers_take_the_jobs_in_turn(sg, one_thread):
    """workers=2 over 4 jobs: worker 0 trains jobs 0, 2 and worker 1 jobs 1, 3 (on one Numba thread: 0, 2, 1, 3),
    each job at the learning rate of its place in the whole corpus: the NumPy reference job by job in that order."""
    sentences = _corpus(n_sent=24)
    v, syn0, syn1neg, syn1 = _tables(sentences, 6, np.float64, 0, 4)
    corpus, starts = encode(sentences, v)
    bounds = shard_bounds(starts, 4)
    seeds = np.arange(1, 5, dtype=np.uint64) * np.uint64(777)
    kw = dict(sg=bool(sg), hs=False, negative=4, window=3, cbow_mean=True, alpha=0.05, min_alpha=0.001, epoch=1,
              epochs=3, buckets=4)
    ref = [syn0.copy(), syn1neg.copy(), syn1.copy()]
    ref_seeds = seeds.copy()
    with jit.mode("numpy"):
        for j in (0, 2, 1, 3):
            s = ref_seeds[j:j + 1]
            K.train_epoch(*ref, corpus, starts, bounds[j:j + 2], v.keep, v.cum_table, v.points, v.codes, v.codelens,
                          seeds=s, **kw)
            ref_seeds[j] = s[0]
    with jit.mode("compiled"):
        K.train_epoch(syn0, syn1neg, syn1, corpus, starts, bounds, v.keep, v.cum_table, v.points, v.codes,
                      v.codelens, seeds=seeds, workers=2, **kw)
    for x, y in zip((syn0, syn1neg, syn1), ref):
        np.testing.assert_allclose(x, y, **TOL[np.float64])
    np.testing.assert_array_equal(seeds, ref_seeds)
    assert not np.allclose(syn0, _tables(sentences, 6, np.float64, 0, 4)[1])   # it trained
