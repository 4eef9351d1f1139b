"""The Boltzmann machine: the energy against NumPy, Gibbs sampling against the exact Boltzmann distribution
(enumeration), clamping, the Ackley-Hinton-Sejnowski rule, the encoder's connectivity."""
import itertools

import numpy as np
import pytest

import nnzoo
from nnzoo.zoo.boltzmann import BoltzmannMachine, encoder_connectivity


def _machine(n=4, seed=0, scale=1.0):
    g = nnzoo.Generator().manual_seed(seed)
    bm = BoltzmannMachine(n)
    w = nnzoo.randn(n, n, generator=g) * scale
    with nnzoo.no_grad():
        bm.weight.copy_(((w + w.t()) / 2 * bm.connectivity).unsqueeze(0))
        bm.bias.copy_(nnzoo.randn(1, n, generator=g) * scale)
    return bm, g


def _exact_statistics(bm, T=1.0, clamp=None):
    """<s_i s_j> and <s_i> under p(s) ~ exp(-E(s) / T), by enumerating the 2^N states (clamp: {unit: value})."""
    W, b = bm.weight[0].numpy().astype(np.float64), bm.bias[0].numpy().astype(np.float64)
    states = np.array(list(itertools.product([0, 1], repeat=bm.n_units)), dtype=np.float64)
    if clamp:
        keep = np.all([states[:, i] == v for i, v in clamp.items()], axis=0)
        states = states[keep]
    energy = -0.5 * np.einsum("si,ij,sj->s", states, W, states) - states @ b
    p = np.exp(-(energy - energy.min()) / T)
    p /= p.sum()
    return np.einsum("s,si,sj->ij", p, states, states), p @ states


def test_energy_matches_numpy():
    bm, g = _machine()
    s = (nnzoo.rand(1, 5, 4, generator=g) < 0.5).float()
    W, b, x = bm.weight[0].numpy(), bm.bias[0].numpy(), s[0].numpy()
    np.testing.assert_allclose(bm.energy(s)[0].numpy(), -0.5 * np.einsum("bi,ij,bj->b", x, W, x) - x @ b, rtol=1e-5)


@pytest.mark.parametrize("T", [1.0, 2.0])
def test_gibbs_sampling_reaches_the_boltzmann_distribution(T):
    bm, g = _machine(seed=1)
    start = (nnzoo.rand(1, 3000, 4, generator=g) < 0.5).float()
    _, co, act = bm.anneal(start, schedule=((10, T),), stats_sweeps=10, generator=g)
    co_exact, act_exact = _exact_statistics(bm, T)
    # 30,000 correlated samples: a standard error below 0.005; 0.02 is 4 of them
    np.testing.assert_allclose(co[0].numpy(), co_exact, atol=0.02)
    np.testing.assert_allclose(act[0].mean(0).numpy(), act_exact, atol=0.02)


def test_clamped_units_keep_their_values_and_the_rest_samples_the_conditional():
    bm, g = _machine(seed=2)
    start = (nnzoo.rand(1, 3000, 4, generator=g) < 0.5).float()
    start[..., 0] = 1.0
    start[..., 2] = 0.0
    clamp = nnzoo.tensor([1.0, 0.0, 1.0, 0.0]).reshape(1, 1, 4)
    final, co, _ = bm.anneal(start, clamp, schedule=((10, 1.0),), stats_sweeps=10, generator=g)
    assert bool((final[..., 0] == 1).all()) and bool((final[..., 2] == 0).all())
    co_exact, _ = _exact_statistics(bm, 1.0, clamp={0: 1.0, 2: 0.0})
    np.testing.assert_allclose(co[0].numpy(), co_exact, atol=0.02)


@pytest.mark.parametrize("rule", ["linear", "sign"])
def test_learning_rule(rule):
    conn = encoder_connectivity(2, 1)
    bm = BoltzmannMachine(5, conn, n_nets=2)
    g = nnzoo.Generator().manual_seed(3)
    co_p, co_m = nnzoo.rand(2, 5, 5, generator=g), nnzoo.rand(2, 5, 5, generator=g)
    co_p, co_m = (co_p + co_p.transpose(1, 2)) / 2, (co_m + co_m.transpose(1, 2)) / 2
    act_p, act_m = nnzoo.rand(2, 3, 5, generator=g), nnzoo.rand(2, 3, 5, generator=g)
    bm.learn_((co_p, act_p), (co_m, act_m), eps=0.5, rule=rule, active=nnzoo.tensor([1.0, 0.0]))
    d = (co_p - co_m)[0].numpy()
    db = (act_p.mean(1) - act_m.mean(1))[0].numpy()
    if rule == "sign":
        d, db = np.sign(d), np.sign(db)
    np.testing.assert_allclose(bm.weight[0].numpy(), 0.5 * d * conn.numpy() * (1 - np.eye(5)), rtol=1e-6)
    np.testing.assert_allclose(bm.bias[0].numpy(), 0.5 * db, rtol=1e-6)
    assert float(bm.weight[1].abs().sum()) == 0 and float(bm.bias[1].abs().sum()) == 0   # a finished run rests
    np.testing.assert_array_equal(bm.weight[0].numpy(), bm.weight[0].numpy().T)


def test_learning_moves_the_free_statistics_towards_the_clamped_ones():
    """The rule follows the gradient of KL(environment || model): a visible-only machine learns the environment's
    pair statistics (here the two units always agree)."""
    bm = BoltzmannMachine(2)
    g = nnzoo.Generator().manual_seed(4)
    env = nnzoo.tensor([[0.0, 0.0], [1.0, 1.0]]).repeat(50, 1).unsqueeze(0)           # (1, 100, 2)
    for _ in range(100):
        plus = bm.anneal(env, nnzoo.ones(1, 1, 2), schedule=((1, 1.0),), stats_sweeps=1, generator=g)[1:]
        free = (nnzoo.rand(1, 100, 2, generator=g) < 0.5).float()
        minus = bm.anneal(free, schedule=((5, 1.0),), stats_sweeps=5, generator=g)[1:]
        bm.learn_(plus, minus, eps=1.0)
    co, _ = _exact_statistics(bm)                      # untrained: they disagree half of the time
    agree = co[0, 0] + co[1, 1] - 2 * co[0, 1]        # P(s0 != s1) = <s0> + <s1> - 2 <s0 s1>
    assert agree < 0.15 and float(bm.weight[0, 0, 1]) > 1.0


def test_encoder_connectivity():
    c = encoder_connectivity(4, 2).numpy()
    v1, h, v2 = range(0, 4), range(4, 6), range(6, 10)
    assert (c == c.T).all() and (np.diag(c) == 0).all()
    assert all(c[i, j] == 0 for i in v1 for j in v2)
    assert all(c[i, j] == 1 for i in v1 for j in h) and all(c[i, j] == 1 for i in h for j in v2)
    assert c[4, 5] == 1 and c[0, 1] == 1 and c[6, 7] == 1


def test_bad_arguments():
    with pytest.raises(ValueError, match="symmetric"):
        BoltzmannMachine(3, nnzoo.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]))
    with pytest.raises(ValueError, match="rule"):
        bm = BoltzmannMachine(2)
        stats = (nnzoo.zeros(1, 2, 2), nnzoo.zeros(1, 1, 2))
        bm.learn_(stats, stats, 1.0, rule="hebb")
