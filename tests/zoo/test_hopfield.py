"""The Hopfield network: Hebb's rule against NumPy, energy descent under asynchronous updates, stored patterns as
fixed points at low load, recall of corrupted patterns."""
import numpy as np
import pytest

import nnzoo
from nnzoo.zoo.hopfield import Hopfield, async_recall_, overlap


def _patterns(p, n, seed):
    g = nnzoo.Generator().manual_seed(seed)
    return nnzoo.where(nnzoo.rand(p, n, generator=g) < 0.5, -1.0, 1.0), g


def test_hebb_rule_matches_numpy():
    xi, _ = _patterns(4, 30, 0)
    net = Hopfield(30)
    net.store(xi[:2])
    net.store(xi[2:])                                   # Hebb's rule is incremental
    x = xi.numpy().astype(np.float64)
    expected = x.T @ x / 30
    np.fill_diagonal(expected, 0)
    np.testing.assert_allclose(net.weight.numpy(), expected, atol=1e-6)
    s = xi.numpy()
    np.testing.assert_allclose(net.energy(xi).numpy(), -0.5 * np.einsum("bi,ij,bj->b", s, expected, s), rtol=1e-5)


def test_energy_never_increases_under_asynchronous_updates():
    xi, g = _patterns(12, 60, 1)                        # load 0.2: beyond capacity, so the states really move
    net = Hopfield(60)
    net.store(xi)
    start = nnzoo.where(nnzoo.rand(8, 60, generator=g) < 0.5, -1.0, 1.0)
    energies = []
    final, sweeps = net.recall(start, "async", generator=g, energies=energies)
    e = np.stack([x.numpy() for x in energies])          # (updates + 1, B)
    assert len(e) == 1 + 60 * sweeps
    assert (np.diff(e, axis=0) <= 1e-5).all()
    assert (e[-1] < e[0]).all()
    np.testing.assert_allclose(e[-1], net.energy(final).numpy(), rtol=1e-4, atol=1e-4)  # the running dE is exact
    assert bool((net(final) == final).all())             # a fixed point: one more update changes nothing


def test_stored_patterns_are_fixed_points_at_low_load():
    xi, g = _patterns(5, 200, 2)                          # P/N = 0.025, far below 0.138
    net = Hopfield(200)
    net.store(xi)
    assert bool((net(xi) == xi).all())
    final, sweeps = net.recall(xi, "async", generator=g)
    assert sweeps == 1 and bool((final == xi).all())


@pytest.mark.parametrize("mode", ["async", "sync"])
def test_recall_from_corrupted_patterns(mode):
    xi, g = _patterns(5, 200, 3)
    net = Hopfield(200)
    net.store(xi)
    flips = nnzoo.rand(5, 200, generator=g) < 0.15
    corrupted = nnzoo.where(flips, -xi, xi)
    assert float(overlap(corrupted, xi).max()) < 0.8
    final, _ = net.recall(corrupted, mode, generator=g)
    assert bool((final == xi).all())


def test_stacked_recall_equals_one_network_at_a_time():
    xi, _ = _patterns(6, 40, 4)
    stack = xi.reshape(2, 3, 40)
    nets = [Hopfield(40) for _ in range(2)]
    for net, x in zip(nets, stack):
        net.store(x)
    W = np.stack([net.weight.numpy() for net in nets])
    start, _ = _patterns(6, 40, 5)
    S = start.numpy().reshape(2, 3, 40).copy()
    async_recall_(W, S, generator=nnzoo.Generator().manual_seed(7))
    for k, net in enumerate(nets):
        one = start.numpy().reshape(2, 3, 40)[k].copy()
        async_recall_(net.weight.numpy(), one, generator=nnzoo.Generator().manual_seed(7))
        np.testing.assert_array_equal(S[k], one)


def test_bad_arguments():
    net = Hopfield(10)
    with pytest.raises(ValueError, match="patterns must be"):
        net.store(nnzoo.ones(2, 11))
    with pytest.raises(ValueError, match="mode"):
        net.recall(nnzoo.ones(1, 10), "parallel")
