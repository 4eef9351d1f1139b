"""word2vec: the fused update against the autograd step, the tables against gensim's, KeyedVectors, formats,
evaluation and the bias probe."""
import heapq

import numpy as np
import pytest

import nnzoo
from nnzoo.autograd.arrays import array
from nnzoo.kernels import jit
from nnzoo.kernels import word2vec as K
from nnzoo.zoo.word2vec import (
    CBOWNS,
    KeyedVectors,
    SkipGramNS,
    Word2Vec,
    bias_projections,
    build_vocab,
    gender_direction,
    huffman_tree,
    keep_thresholds,
    noise_table,
)


def _autograd_step(module, lr, *inputs):
    """One SGD step of ``module``'s summed loss through nnzoo's autograd (dense gradients); returns the loss."""
    module.zero_grad()
    loss = module(*inputs)
    loss.backward()
    with nnzoo.no_grad():
        for p in module.parameters():
            p -= lr * p.grad
    return float(loss)


def _disjoint(rng, V, P, k):
    """P examples whose rows are all different (so that sequential and batched SGD coincide)."""
    ids = rng.permutation(V)
    inputs = ids[:P]
    words = ids[P:P + P * (k + 1)].reshape(P, k + 1)
    return inputs, words


@pytest.mark.parametrize("mode", jit.MODES)
def test_fused_skipgram_update_equals_the_autograd_step(mode):
    rng = np.random.default_rng(0)
    V, D, P, k, lr = 60, 8, 6, 5, 0.05
    m = SkipGramNS(V, D).double()
    syn0, syn1 = array(m.in_embed.weight).copy(), array(m.out_embed.weight).copy()
    inputs, words = _disjoint(rng, V, P, k)
    loss = _autograd_step(m, lr, nnzoo.tensor(inputs), nnzoo.tensor(words))
    with jit.mode(mode):
        losses = K.sg_pairs(syn0, syn1, inputs, words, np.full(P, lr))
    np.testing.assert_allclose(losses.sum(), loss, rtol=1e-12)
    np.testing.assert_allclose(syn0, array(m.in_embed.weight), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(syn1, array(m.out_embed.weight), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("mode", jit.MODES)
def test_fused_cbow_update_equals_the_autograd_step(mode):
    rng = np.random.default_rng(1)
    V, D, P, C, k, lr = 80, 6, 4, 4, 3, 0.1
    m = CBOWNS(V, D).double()
    syn0, syn1 = array(m.in_embed.weight).copy(), array(m.out_embed.weight).copy()
    ids = rng.permutation(V)
    contexts = ids[:P * C].reshape(P, C)
    words = ids[P * C:P * C + P * (k + 1)].reshape(P, k + 1)
    # word2vec.c's CBOW update of a context row is C times the gradient of the mean: scale the input table's step
    m.zero_grad()
    loss = m(nnzoo.tensor(contexts), nnzoo.tensor(words))
    loss.backward()
    expect0 = syn0 - lr * C * array(m.in_embed.weight.grad)
    expect1 = syn1 - lr * array(m.out_embed.weight.grad)
    with jit.mode(mode):
        losses = K.cbow_windows(syn0, syn1, contexts, np.full(P, C), words, np.full(P, lr))
    np.testing.assert_allclose(losses.sum(), float(loss), rtol=1e-12)
    np.testing.assert_allclose(syn0, expect0, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(syn1, expect1, rtol=1e-12, atol=1e-14)


def test_huffman_tree_is_an_optimal_prefix_code():
    counts = np.array([50, 30, 30, 9, 7, 5, 5, 1, 1, 1])
    points, codes, lens = huffman_tree(counts)
    V = len(counts)
    assert np.isclose(sum(2.0 ** -lens), 1.0)                 # Kraft: a full binary tree
    strings = ["".join(map(str, codes[w, :lens[w]])) for w in range(V)]
    assert not any(a != b and b.startswith(a) for a in strings for b in strings)
    heap = list(counts.tolist())
    heapq.heapify(heap)
    cost = 0
    while len(heap) > 1:
        s = heapq.heappop(heap) + heapq.heappop(heap)
        cost += s
        heapq.heappush(heap, s)
    assert (counts * lens).sum() == cost                       # optimal expected length
    assert (points[:, 0] == V - 2).all()                       # every path starts at the root
    assert points.max() <= V - 2


def test_tables_equal_gensims():
    gensim = pytest.importorskip("gensim")
    rng = np.random.default_rng(0)
    sentences = [[f"w{int(i)}" for i in rng.zipf(1.3, 40) if i < 300] for _ in range(300)]
    g = gensim.models.Word2Vec(sentences, min_count=2, sample=1e-3, vector_size=4, epochs=1, workers=1, hs=1,
                               negative=0)
    v = build_vocab(sentences, min_count=2, sample=1e-3, hs=True)
    # the same words in the same rows (ties of counts included), the same counts and tables
    assert len(set(v.counts.tolist())) < len(v)  # the corpus has ties
    assert v.words == list(g.wv.index_to_key)
    np.testing.assert_array_equal(v.counts, g.wv.expandos["count"])
    np.testing.assert_array_equal(v.keep, g.wv.expandos["sample_int"].astype(np.uint64))
    g.make_cum_table()
    np.testing.assert_array_equal(v.cum_table, g.cum_table.astype(np.uint64))
    # Huffman codes: ties may be broken otherwise, the expected code length is the same (both optimal)
    assert (v.counts * v.codelens).sum() == sum(c * len(x) for c, x in zip(g.wv.expandos["count"],
                                                                            g.wv.expandos["code"]))


def test_keep_thresholds_and_noise_table():
    counts = np.array([1000, 100, 10, 1])
    keep = keep_thresholds(counts, 1e-2) / (2.0 ** 32 - 1)
    t = 1e-2 * counts.sum()
    np.testing.assert_allclose(keep, np.minimum((np.sqrt(counts / t) + 1) * t / counts, 1), atol=1e-9)
    assert (keep_thresholds(counts, 0) == 2 ** 32).all()
    table = noise_table(counts).astype(np.float64)
    p = np.diff(table, prepend=0) / table[-1]
    np.testing.assert_allclose(p, counts ** 0.75 / (counts ** 0.75).sum(), rtol=1e-6)


def _toy_vectors():
    words = ["king", "queen", "man", "woman", "boy", "girl", "apple", "he", "she"]
    rng = np.random.default_rng(0)
    person, royal, male, female, young, pron, fruit = rng.standard_normal((7, 16))
    vec = {"king": royal + person + male, "queen": royal + person + female, "man": person + male,
           "woman": person + female, "boy": person + male + young, "girl": person + female + young,
           "apple": fruit, "he": male + pron, "she": female + pron}
    return KeyedVectors(words, np.array([vec[w] + rng.standard_normal(16) * 0.05 for w in words], np.float32))


def test_keyed_vectors_queries():
    kv = _toy_vectors()
    assert kv.analogy("man", "woman", "king") == "queen"
    assert kv.analogy("boy", "girl", "king", method="3cosmul") == "queen"   # queen = king + girl - boy
    assert kv.most_similar(positive=["king", "girl"], negative=["boy"], topn=1)[0][0] == "queen"
    assert kv.doesnt_match(["king", "queen", "apple", "man"]) == "apple"
    assert kv.most_similar("queen", topn=1)[0][0] in ("king", "woman")
    n = kv.fill_norms()
    assert kv.most_similar("queen", topn=1)[0][1] == pytest.approx(max(n[i] @ n[1] for i in range(len(kv)) if i != 1))
    assert -1 <= kv.similarity("king", "apple") <= 1
    with pytest.raises(KeyError, match="not in the vocabulary"):
        kv["emperor"]


def test_bias_probe_finds_the_planted_direction():
    kv = _toy_vectors()
    direction, info = gender_direction(kv)
    assert list(info["pairs"]) == [("she", "he"), ("woman", "man"), ("girl", "boy")]
    female = kv["woman"] / np.linalg.norm(kv["woman"]) - kv["man"] / np.linalg.norm(kv["man"])
    assert direction @ female / np.linalg.norm(female) > 0.9
    proj = bias_projections(kv, ["queen", "king", "apple", "nurse"], direction)
    assert set(proj) == {"queen", "king", "apple"} and proj["queen"] > 0 > proj["king"]


@pytest.mark.parametrize("binary", [False, True])
def test_word2vec_formats_round_trip_and_gensim_reads_them(tmp_path, binary):
    kv = _toy_vectors()
    path = tmp_path / ("v.bin" if binary else "v.txt")
    kv.save_word2vec_format(path, binary=binary)
    back = KeyedVectors.load_word2vec_format(path, binary=binary)
    assert back.index_to_key == kv.index_to_key
    np.testing.assert_array_equal(back.vectors, kv.vectors)
    gensim = pytest.importorskip("gensim")
    g = gensim.models.KeyedVectors.load_word2vec_format(str(path), binary=binary)
    assert list(g.index_to_key) == kv.index_to_key
    np.testing.assert_array_equal(g.vectors, kv.vectors)
    g.save_word2vec_format(str(tmp_path / "g"), binary=binary)
    mine = KeyedVectors.load_word2vec_format(tmp_path / "g", binary=binary)
    assert mine.index_to_key == kv.index_to_key
    np.testing.assert_array_equal(mine.vectors, kv.vectors)


@pytest.fixture(scope="module")
def small_model():
    from nnzoo.data.text import shakespeare_sentences
    works = ["hamlet", "macbeth", "lear", "othello", "twelfth_night"]
    if jit.active_mode() == "numpy":   # the reference runs about 10k words/s: one play
        works = works[:1]
    sentences = shakespeare_sentences(works=works)
    return Word2Vec(sentences, vector_size=32, min_count=3, sg=1, epochs=2, workers=2, seed=0), sentences


def test_word2vec_learns_on_shakespeare(small_model):
    model, _ = small_model
    first, last = model.loss_history[0][1], model.loss_history[-1][1]
    assert last < first * 0.85
    assert model.words_per_second > 0
    if jit.active_mode() == "compiled":  # five plays: enough text for neighbours to mean something
        assert model.wv.similarity("lord", "lady") > model.wv.similarity("lord", "the")


def test_evaluation_equals_gensims(small_model, tmp_path):
    gensim = pytest.importorskip("gensim")
    from gensim.test.utils import datapath
    model, _ = small_model
    model.wv.save_word2vec_format(tmp_path / "v.bin", binary=True)
    g = gensim.models.KeyedVectors.load_word2vec_format(str(tmp_path / "v.bin"), binary=True)
    score, sections = g.evaluate_word_analogies(datapath("questions-words.txt"))
    mine = model.wv.evaluate_word_analogies(datapath("questions-words.txt"))
    total = sections[-1]
    assert mine["correct"] == len(total["correct"]) and mine["covered"] == len(total["correct"]) + len(
        total["incorrect"])
    assert mine["covered"] > 0 and mine["accuracy"] == pytest.approx(score)
    ws = g.evaluate_word_pairs(datapath("wordsim353.tsv"))
    mine_ws = model.wv.evaluate_word_pairs(datapath("wordsim353.tsv"))
    assert mine_ws["spearman"] == pytest.approx(ws[1].statistic, abs=1e-6)
    assert mine_ws["oov"] == pytest.approx(ws[2] / 100, abs=1e-9)


def test_as_module_shares_the_vectors(small_model):
    model, _ = small_model
    m = model.as_module()
    assert array(m.in_embed.weight) is model.wv.vectors or np.shares_memory(array(m.in_embed.weight),
                                                                              model.wv.vectors)
    assert isinstance(m, SkipGramNS)


def test_word2vec_refuses_nothing_to_train():
    with pytest.raises(ValueError, match="hs=0 and negative=0"):
        Word2Vec(hs=0, negative=0)
    with pytest.raises(ValueError, match="min_count"):
        Word2Vec([["a"]], min_count=2)
