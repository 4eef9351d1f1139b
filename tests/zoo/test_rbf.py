"""RBF networks: the Gaussian features against their formula, least-squares weights against numpy.linalg.lstsq
and the normal equations, the read-out's autograd gradient against the closed form, k-means (Lloyd's fixed
point, scikit-learn's inertia), the nearest-centre widths, Haykin's XOR."""
import numpy as np
import pytest

import nnzoo
from nnzoo.zoo.rbf import RBFNetwork, kmeans, one_hot_targets, rbf_parameter_count


def _net(seed=0, n=60, d=3, k=7, c=4):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    y = rng.integers(0, c, size=n)
    net = RBFNetwork(d, k, c)
    net.set_centres(X[rng.choice(n, k, replace=False)])
    net.set_widths(1.0)
    return net, X, y


def _features_numpy(X, C, s):
    d2 = ((X[:, None, :].astype(np.float64) - C[None].astype(np.float64)) ** 2).sum(-1)
    return np.exp(-d2 / (2 * s.astype(np.float64) ** 2))


def test_features_are_gaussians_and_widths_the_nearest_centre_rule():
    net, X, _ = _net()
    C = net.centres.numpy()
    dist = np.sqrt(((C[:, None] - C[None]) ** 2).sum(-1)) + np.diag(np.full(len(C), np.inf))
    np.testing.assert_allclose(net.widths.numpy(), dist.min(axis=1), rtol=1e-5)
    with nnzoo.no_grad():
        phi = net.features(nnzoo.tensor(X)).numpy()
    np.testing.assert_allclose(phi, _features_numpy(X, C, net.widths.numpy()), rtol=1e-4, atol=1e-6)


def test_least_squares_weights_equal_numpy_lstsq():
    net, X, y = _net(1)
    net.fit_least_squares(nnzoo.tensor(X), y)
    A = np.hstack([_features_numpy(X, net.centres.numpy(), net.widths.numpy()), np.ones((len(X), 1))])
    T = np.eye(4)[y]
    theta, *_ = np.linalg.lstsq(A, T, rcond=None)
    np.testing.assert_allclose(net.output.weight.detach().numpy(), theta[:-1].T, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(net.output.bias.detach().numpy(), theta[-1], rtol=1e-4, atol=1e-4)
    # the defining property: the residual is orthogonal to every column of [Φ 1] (the normal equations)
    W = np.vstack([net.output.weight.detach().numpy().T, net.output.bias.detach().numpy()]).astype(np.float64)
    assert np.abs(A.T @ (A @ W - T)).max() < 1e-3


def test_readout_gradient_is_the_closed_form_and_descent_reaches_least_squares():
    net, X, y = _net(2)
    Xt = nnzoo.tensor(X)
    with nnzoo.no_grad():
        phi = net.features(Xt)
    T = one_hot_targets(y, 4)
    err = net.output(phi) - T
    (0.5 * (err * err).sum() / len(X)).backward()
    E = err.detach().numpy().astype(np.float64)
    np.testing.assert_allclose(net.output.weight.grad.numpy(), E.T @ phi.numpy() / len(X), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(net.output.bias.grad.numpy(), E.sum(0) / len(X), rtol=1e-4, atol=1e-6)
    best = net.fit_least_squares(Xt, y)
    net.output.reset_parameters()
    history = net.fit_gradient(Xt, y, epochs=300, lr=0.1)
    assert history[-1] == pytest.approx(best, rel=0.05) and history[-1] >= best * (1 - 1e-4)


def test_kmeans_is_a_lloyd_fixed_point_with_scikit_learns_inertia():
    rng = np.random.default_rng(3)
    means = np.array([[0, 0], [5, 5], [0, 6], [6, 0]], dtype=np.float32)
    X = (means[rng.integers(0, 4, 400)] + rng.normal(scale=0.5, size=(400, 2))).astype(np.float32)
    C, labels, inertia, _ = kmeans(nnzoo.tensor(X), 4, generator=nnzoo.Generator().manual_seed(0))
    C, labels = C.numpy(), labels.numpy()
    for k in range(4):                                 # each centre is the mean of its points ...
        np.testing.assert_allclose(C[k], X[labels == k].mean(axis=0), rtol=1e-4, atol=1e-4)
    d2 = ((X[:, None] - C[None]) ** 2).sum(-1)          # ... and each point sits with its nearest centre
    np.testing.assert_array_equal(labels, d2.argmin(axis=1))
    assert inertia == pytest.approx(d2.min(axis=1).sum(), rel=1e-4)
    cluster = pytest.importorskip("sklearn.cluster")
    ref = cluster.KMeans(4, n_init=10, random_state=0).fit(X)
    assert inertia == pytest.approx(ref.inertia_, rel=1e-4)


def test_haykins_xor_with_two_centres_and_the_parameter_count():
    X = nnzoo.tensor([[1.0, 1.0], [-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0]])
    y = np.array([0, 0, 1, 1])
    net = RBFNetwork(2, 2, 2)
    net.set_centres(X[:2])
    net.set_widths(0.5)
    net.fit_least_squares(X, y)
    with nnzoo.no_grad():
        np.testing.assert_array_equal(net(X).argmax(dim=1).numpy(), y)
    learned = sum(p.numel() for p in net.parameters()) + net.centres.numel() + net.widths.numel()
    assert rbf_parameter_count(2, 2, 2) == learned
