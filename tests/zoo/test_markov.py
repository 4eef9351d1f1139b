"""Markov chains: smoothed n-gram probabilities sum to 1, add-k against a NumPy count, the stationary distribution
by power iteration against the eigenvector and the unigram frequencies, sampling."""
import math

import numpy as np
import pytest

import nnzoo
from nnzoo.zoo.markov import NGramChain, stationary_eigenvector, stationary_power, tokenize_words, transition_matrix

V = 6


def _stream(n=3000, seed=0):
    """A stream from one random first-order chain (the path drawn with ``seed``)."""
    P = np.random.default_rng(100).dirichlet(np.full(V, 0.3), size=V)
    rng = np.random.default_rng(seed)
    s = [0]
    for _ in range(n - 1):
        s.append(rng.choice(V, p=P[s[-1]]))
    return np.array(s)


@pytest.mark.parametrize("smoothing", ["kneser_ney", "add_k"])
@pytest.mark.parametrize("order", [1, 2, 4])
def test_next_symbol_probabilities_sum_to_one(smoothing, order):
    train = _stream()
    chain = NGramChain(order, V, smoothing=smoothing, k=0.5).fit(train)
    for context in ([], [3], [1, 2, 5], [5, 5, 5, 5, 5]):  # seen, unseen and padded contexts
        probs = [math.exp(float(chain.log_prob(context + [w])[-1])) for w in range(V)]
        assert sum(probs) == pytest.approx(1.0, abs=1e-12)
        assert min(probs) > 0


def test_add_k_is_the_count_formula():
    train = _stream(500)
    k = 0.3
    chain = NGramChain(2, V, smoothing="add_k", k=k).fit(train)
    c = np.zeros((V + 1, V))  # row V: the padded context of the first symbol
    np.add.at(c, (np.concatenate([[V], train[:-1]]), train), 1)
    want = (c + k) / (c.sum(1, keepdims=True) + k * V)
    test = _stream(200, seed=1)
    got = np.exp(chain.log_prob(test).numpy())
    np.testing.assert_allclose(got, want[np.concatenate([[V], test[:-1]]), test], rtol=1e-12)


def test_kneser_ney_beats_add_one_on_held_out_text_and_learns_a_cycle():
    train, held = _stream(5000), _stream(2000, seed=2)
    kn = NGramChain(3, V).fit(train).perplexity(held)
    add1 = NGramChain(3, V, smoothing="add_k", k=1.0).fit(train).perplexity(held)
    assert kn < add1
    cycle = np.tile(np.arange(V), 50)
    assert NGramChain(3, V).fit(cycle).perplexity(cycle[:60]) < 1.2  # near-deterministic after the first symbols


def test_stationary_distribution_power_iteration_equals_eigenvector():
    train = _stream(20000)
    T = transition_matrix(train, V, k=0.1)
    np.testing.assert_allclose(T.sum(1).numpy(), 1.0, rtol=1e-12)
    pi_power, iters = stationary_power(T, tol=1e-14)
    pi_eig = stationary_eigenvector(T)
    np.testing.assert_allclose(pi_power.numpy(), pi_eig.numpy(), atol=1e-10)
    np.testing.assert_allclose((pi_power @ T).numpy(), pi_power.numpy(), atol=1e-12)  # pi T = pi
    assert iters > 1
    # theory: the empirical chain's (k = 0) stationary distribution is the stream's symbol frequencies
    pi0, _ = stationary_power(transition_matrix(train, V, k=0.0), tol=1e-14)
    np.testing.assert_allclose(pi0.numpy(), np.bincount(train, minlength=V) / len(train), atol=2 / len(train))


def test_sampling_is_reproducible_and_follows_the_chain():
    cycle = np.tile(np.arange(V), 50)
    chain = NGramChain(3, V).fit(cycle)
    a = chain.sample([0, 1], 30, generator=nnzoo.Generator().manual_seed(0), temperature=0.2)
    b = chain.sample([0, 1], 30, generator=nnzoo.Generator().manual_seed(0), temperature=0.2)
    assert a == b and len(a) == 30
    assert a[:6] == [2, 3, 4, 5, 0, 1]
    with pytest.raises(ValueError, match="order"):
        NGramChain(0, V)
    with pytest.raises(ValueError, match="overflows"):
        NGramChain(6, 100_000)


def test_tokenize_words():
    assert tokenize_words("Thou art, O Romeo! Don't.") == ["thou", "art", ",", "o", "romeo", "!", "don't", "."]
