"""The RBM: free energy and log Z against brute-force enumeration in NumPy, the autograd CD gradient against the
closed-form CD update, the fast step against an SGD step, AIS against the exact log Z, scikit-learn's free
energy, and learning on the digits."""
import itertools

import numpy as np
import pytest

import nnzoo
from nnzoo.zoo.rbm import RBM, cd_update


def _rbm(d, h, visible="bernoulli", seed=0, scale=1.0):
    g = nnzoo.Generator().manual_seed(seed)
    rbm = RBM(d, h, visible=visible, init_std=scale, generator=g)
    with nnzoo.no_grad():
        rbm.v_bias.normal_(generator=g)
        rbm.h_bias.normal_(generator=g)
    return rbm, g


def _params(rbm):
    return (rbm.weight.detach().numpy().astype(np.float64), rbm.v_bias.detach().numpy().astype(np.float64),
            rbm.h_bias.detach().numpy().astype(np.float64))


def _hidden_states(h):
    return np.array(list(itertools.product([0, 1], repeat=h)), dtype=np.float64)


@pytest.mark.parametrize("visible", ["bernoulli", "gaussian"])
def test_free_energy_is_minus_log_sum_over_hidden_states(visible):
    rbm, g = _rbm(5, 3, visible)
    W, b, c = _params(rbm)
    v = nnzoo.rand(4, 5, generator=g) if visible == "bernoulli" else nnzoo.randn(4, 5, generator=g)
    hs = _hidden_states(3)
    for row, fe in zip(v.numpy().astype(np.float64), rbm.free_energy(v).detach().numpy()):
        visible_term = b @ row if visible == "bernoulli" else -0.5 * ((row - b) ** 2).sum()
        energies = -(visible_term + hs @ c + hs @ W @ row)          # E(v, h) for every h
        np.testing.assert_allclose(fe, -np.log(np.exp(-energies).sum()), rtol=1e-5)


def test_exact_log_partition_bernoulli_by_brute_force():
    rbm, _ = _rbm(6, 4)
    W, b, c = _params(rbm)
    vs, hs = _hidden_states(6), _hidden_states(4)
    log_z = np.log(np.exp(vs @ b[:, None] + (hs @ c)[None, :] + vs @ W.T @ hs.T).sum())
    np.testing.assert_allclose(rbm.log_partition(chunk=5), log_z, rtol=1e-10)   # several chunks
    v = nnzoo.bernoulli(nnzoo.full((8, 6), 0.5))
    np.testing.assert_allclose(rbm.log_likelihood(v), float(-rbm.free_energy(v).double().mean()) - log_z, rtol=1e-6)


def test_exact_log_partition_gaussian_by_numerical_integration():
    rbm, _ = _rbm(1, 2, "gaussian", scale=0.7)                     # one visible unit: integrate on a grid
    W, b, c = _params(rbm)
    x = np.linspace(-30, 30, 200001)
    hs = _hidden_states(2)
    density = sum(np.exp(-0.5 * (x - b[0]) ** 2 + h @ c + (h @ W)[0] * x) for h in hs)
    np.testing.assert_allclose(rbm.log_partition(), np.log(np.trapezoid(density, x)), rtol=1e-7)


@pytest.mark.parametrize("visible", ["bernoulli", "gaussian"])
def test_autograd_cd_gradient_equals_the_closed_form_update(visible):
    rbm, g = _rbm(7, 5, visible, scale=0.3)
    v = nnzoo.rand(6, 7, generator=g)
    loss, v_model, _ = rbm.contrastive_divergence(v, k=2, generator=g)
    loss.backward()
    expected = cd_update(rbm, v, v_model)
    for name, step in expected.items():
        np.testing.assert_allclose(getattr(rbm, name).grad.numpy(), -step.numpy(), rtol=1e-4, atol=1e-6)
    # and the closed form itself, from its definition in NumPy
    W, _, c = _params(rbm)
    vd, vm = v.numpy().astype(np.float64), v_model.numpy().astype(np.float64)
    sig = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    pd, pm = sig(vd @ W.T + c), sig(vm @ W.T + c)
    np.testing.assert_allclose(expected["weight"].numpy(), pd.T @ vd / 6 - pm.T @ vm / 6, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("persistent", [False, True])
def test_fast_step_is_an_sgd_step_on_the_cd_loss(persistent):
    rbm, g = _rbm(8, 4, scale=0.3)
    before = RBM(8, 4)
    before.load_state_dict(rbm.state_dict())
    v = nnzoo.bernoulli(nnzoo.full((5, 8), 0.4), generator=g)
    chain = nnzoo.bernoulli(nnzoo.full((5, 4), 0.5), generator=g) if persistent else None
    v_model, h = rbm.cd_step_(v, 0.1, k=1, chain=chain, generator=g)
    assert tuple(v_model.shape) == (5, 8) and tuple(h.shape) == (5, 4)
    sgd = nnzoo.optim.SGD(before.parameters(), lr=0.1)
    weights = nnzoo.cat([nnzoo.full((5,), 1 / 5), nnzoo.full((5,), -1 / 5)])
    loss = (before.free_energy(nnzoo.cat([v, v_model])) * weights).sum()   # the CD loss with the same v_model
    loss.backward()
    sgd.step()
    for name in ("weight", "v_bias", "h_bias"):
        np.testing.assert_allclose(getattr(rbm, name).detach().numpy(), getattr(before, name).detach().numpy(),
                                   rtol=1e-5, atol=1e-6)


def test_ais_estimate_is_close_to_the_exact_log_partition():
    rbm, g = _rbm(12, 5, scale=1.0)
    exact = rbm.log_partition()
    estimate, stderr = rbm.ais(n_runs=200, n_betas=500, generator=g)
    assert abs(estimate - exact) < max(0.05, 4 * stderr)


def test_free_energy_and_pseudo_likelihood_match_scikit_learn():
    neural_network = pytest.importorskip("sklearn.neural_network")
    rbm, g = _rbm(9, 4, scale=0.5)
    sk = neural_network.BernoulliRBM(n_components=4)
    sk.components_, sk.intercept_visible_, sk.intercept_hidden_ = _params(rbm)
    v = nnzoo.bernoulli(nnzoo.full((6, 9), 0.5), generator=g)
    np.testing.assert_allclose(rbm.free_energy(v).detach().numpy(), sk._free_energy(v.numpy().astype(np.float64)),
                               rtol=1e-5)
    # scikit-learn's score_samples flips one random unit per row: with 1 visible unit the unit is known
    one, _ = _rbm(1, 3, scale=0.5)
    sk1 = neural_network.BernoulliRBM(n_components=3, random_state=0)
    sk1.components_, sk1.intercept_visible_, sk1.intercept_hidden_ = _params(one)
    x = nnzoo.tensor([[0.0], [1.0]])
    np.testing.assert_allclose(one.pseudo_likelihood(x).numpy(), sk1.score_samples(x.numpy().astype(np.float64)),
                               rtol=1e-5)


def test_learns_the_digits():
    """Ten passes of CD-1 on binarised 8x8 digits lift the exact log-likelihood far above the untrained model's
    (-64 log 2) and above the best independent-pixel model."""
    from nnzoo.data.datasets import digits
    x = (digits().tensors[0].reshape(-1, 64) > 0.4).float()
    g = nnzoo.Generator().manual_seed(0)
    rbm = RBM(64, 12, generator=g)
    p = x.mean(0).clamp(1e-3, 1 - 1e-3)
    independent = float((x * p.log() + (1 - x) * (1 - p).log()).sum(1).mean())
    with nnzoo.no_grad():                                   # start from the independent model's biases
        rbm.v_bias.copy_((p / (1 - p)).log())
    for _ in range(10):
        for i in range(0, len(x), 20):
            rbm.cd_step_(x[i:i + 20], 0.1, k=1, generator=g)
    ll = rbm.log_likelihood(x)
    assert ll > independent + 1.0, (ll, independent)


def test_bad_arguments():
    with pytest.raises(ValueError, match="visible"):
        RBM(3, 2, visible="poisson")
    with pytest.raises(ValueError, match="at most 25"):
        RBM(3, 26).log_partition()
    with pytest.raises(ValueError, match="Bernoulli"):
        RBM(3, 2, visible="gaussian").ais()
