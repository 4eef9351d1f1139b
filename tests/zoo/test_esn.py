"""Echo state network: the spectral radius is as set, the ridge readout equals the NumPy closed form and
reservoirpy's Ridge, the state update is the leaky-tanh equation, the Mackey-Glass generator is reservoirpy's,
and the network predicts the series."""
import numpy as np
import pytest

import nnzoo
from nnzoo.recipes.esn import forecasting_split, mackey_glass, regression_scores
from nnzoo.zoo.esn import ESN, ridge_readout, spectral_radius


@pytest.mark.parametrize("rho", [0.5, 1.25])
def test_spectral_radius_is_as_set(rho):
    esn = ESN(60, spectral_radius=rho, rc_connectivity=0.2, seed=1)
    assert spectral_radius(esn.W) == pytest.approx(rho, rel=1e-10)
    assert np.max(np.abs(np.linalg.eigvals(esn.W.numpy()))) == pytest.approx(rho, rel=1e-10)
    nonzero = (esn.W_in.numpy() != 0).mean()
    assert set(np.unique(np.abs(esn.W_in.numpy()))) <= {0.0, 1.0} and 0 < nonzero < 0.3


def test_ridge_readout_is_the_closed_form():
    rng = np.random.default_rng(0)
    X, Y, lam = rng.normal(size=(200, 30)), rng.normal(size=(200, 2)), 1e-2
    W, b = ridge_readout(nnzoo.tensor(X), nnzoo.tensor(Y), lam)
    Xa = np.hstack([X, np.ones((200, 1))])  # closed form with an unpenalised bias: centre, solve, recover b
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    W_np = np.linalg.solve(Xc.T @ Xc + lam * np.eye(30), Xc.T @ Yc)
    np.testing.assert_allclose(W.numpy(), W_np, rtol=1e-9)
    np.testing.assert_allclose(b.numpy(), Y.mean(0) - X.mean(0) @ W_np, rtol=1e-9)
    # ... which is the minimiser of ||Y - X W - b||^2 + lam ||W||^2: its gradient vanishes there
    R = Y - Xa @ np.vstack([W.numpy(), b.numpy()])
    np.testing.assert_allclose(-X.T @ R + lam * W.numpy(), 0, atol=1e-9)
    np.testing.assert_allclose(R.sum(0), 0, atol=1e-9)
    W0, b0 = ridge_readout(nnzoo.tensor(X), nnzoo.tensor(Y), lam, fit_bias=False)
    np.testing.assert_allclose(W0.numpy(), np.linalg.solve(X.T @ X + lam * np.eye(30), X.T @ Y), rtol=1e-9)
    assert float(b0.abs().sum()) == 0
    rpy = pytest.importorskip("reservoirpy.nodes")
    ridge = rpy.Ridge(ridge=lam).fit(X, Y)
    np.testing.assert_allclose(W.numpy(), ridge.Wout, rtol=1e-8)
    np.testing.assert_allclose(b.numpy(), np.ravel(ridge.bias), rtol=1e-8)


def test_state_update_is_the_leaky_tanh_equation():
    esn = ESN(20, spectral_radius=0.9, leak_rate=0.3, input_connectivity=0.5, bias_scaling=0.1, seed=2)
    u = np.random.default_rng(1).normal(size=(15, 1))
    states = esn.run_reservoir(u).numpy()
    W, Win, b = esn.W.numpy(), esn.W_in.numpy(), esn.bias.numpy()
    x = np.zeros(20)
    for t in range(15):
        x = 0.7 * x + 0.3 * np.tanh(W @ x + Win @ u[t] + b)
        np.testing.assert_allclose(states[t], x, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(esn.state.numpy(), x, rtol=1e-12)


def test_mackey_glass_is_reservoirpys():
    datasets = pytest.importorskip("reservoirpy.datasets")
    np.testing.assert_array_equal(mackey_glass(500), datasets.mackey_glass(500))
    np.testing.assert_array_equal(mackey_glass(300, tau=30, seed=3), datasets.mackey_glass(300, tau=30, seed=3))
    s = mackey_glass(400)
    for got, want in zip(forecasting_split(s, 0.2), datasets.to_forecasting(s, test_size=0.2)):
        np.testing.assert_array_equal(got, want)


def test_predicts_mackey_glass_and_generates():
    s = mackey_glass(800)
    x_tr, x_te, y_tr, y_te = forecasting_split(s, 0.2)
    esn = ESN(100, spectral_radius=1.25, leak_rate=0.3, ridge=1e-5, seed=0).fit(x_tr, y_tr, warmup=100)
    scores = regression_scores(y_te, esn.predict(x_te).numpy())
    naive = regression_scores(y_te, x_te)  # predict x(t+1) = x(t)
    assert scores["nrmse"] < 0.1 * naive["nrmse"] and scores["r2"] > 0.999
    esn.fit(x_tr, y_tr, warmup=100)
    gen = esn.generate(20, y_tr[-1]).numpy()[:, 0]
    assert np.abs(gen - s[len(x_tr) + 1:len(x_tr) + 21, 0]).max() < 0.1 * s.std()


def test_array_loop_equals_the_tensor_loop():
    u = np.random.default_rng(2).normal(size=(40, 1))
    a = ESN(30, spectral_radius=1.1, leak_rate=0.4, bias_scaling=0.2, seed=4)
    b = ESN(30, spectral_radius=1.1, leak_rate=0.4, bias_scaling=0.2, seed=4)
    for part in (u, u[:5]):  # the second call continues from the state the first left
        np.testing.assert_allclose(a.run_reservoir(part).numpy(), b.run_reservoir_tensors(part).numpy(), rtol=1e-12,
                                   atol=1e-15)
    assert a.run_reservoir(u[:0]).shape == (0, 30)
