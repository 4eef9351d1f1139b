"""The perceptron: Rosenblatt's rule step by step, the fast epoch equal to the steps, scikit-learn's Perceptron
weights, Novikoff's bound on separable data, no convergence on XOR, the maximum-margin separator."""
import numpy as np
import pytest

import nnzoo
from nnzoo.zoo.perceptron import Perceptron, max_margin, novikoff_bound, signed_targets


def _separable(n, dim, margin, seed):
    """Points uniform in the cube, labelled by a known unit hyperplane (w, b); those within ``margin`` dropped."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=dim)
    w /= np.linalg.norm(w)
    b = 0.1
    X = rng.uniform(-1, 1, size=(4 * n, dim))
    X = X[np.abs(X @ w + b) >= margin][:n]
    return X, np.sign(X @ w + b), np.append(w, b)


def test_step_is_rosenblatts_rule():
    rng = np.random.default_rng(0)
    p = Perceptron(5, 3, lr=0.5)
    W0, b0 = rng.normal(size=(3, 5)), rng.normal(size=3)
    p.weight.data = nnzoo.tensor(W0, dtype=nnzoo.float32)
    p.bias.data = nnzoo.tensor(b0, dtype=nnzoo.float32)
    W0, b0 = p.weight.numpy().copy(), p.bias.numpy().copy()
    x = rng.normal(size=5).astype(np.float32)
    y = np.array([1.0, -1.0, 1.0], dtype=np.float32)
    with nnzoo.no_grad():
        wrong = p.step(nnzoo.tensor(x), nnzoo.tensor(y)).numpy()
    # the rule, written out unit by unit
    for c in range(3):
        erred = y[c] * (W0[c] @ x + b0[c]) <= 0
        assert wrong[c] == erred
        np.testing.assert_allclose(p.weight.numpy()[c], W0[c] + 0.5 * y[c] * x * erred, rtol=1e-6)
        np.testing.assert_allclose(p.bias.numpy()[c], b0[c] + 0.5 * y[c] * erred, rtol=1e-6)


@pytest.mark.parametrize("chunk", [1, 7, 64])
def test_fast_epoch_equals_the_steps(chunk):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 6)).astype(np.float32)
    y = rng.integers(0, 4, size=120)
    Y = signed_targets(y, 4)
    fast, slow = Perceptron(6, 4), Perceptron(6, 4)
    order = rng.permutation(120)
    for _ in range(3):
        mistakes = fast.fit_epoch(X, Y, order=order, chunk=chunk)
        counted = np.zeros(4, dtype=np.int64)
        with nnzoo.no_grad():
            for i in order:
                counted += slow.step(nnzoo.tensor(X[i]), Y[int(i)]).numpy()
        np.testing.assert_array_equal(mistakes, counted)
        np.testing.assert_allclose(fast.weight.numpy(), slow.weight.numpy(), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(fast.bias.numpy(), slow.bias.numpy(), rtol=1e-6, atol=1e-6)


def test_one_vs_rest_equals_scikit_learns_perceptron():
    sklearn = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(5)
    X = rng.integers(0, 17, size=(300, 20)) / 16       # digits-like pixels: sums stay exact in float64
    y = rng.integers(0, 4, size=300)
    ref = sklearn.Perceptron(max_iter=4, tol=None, shuffle=False).fit(X, y)   # same order every epoch
    p = Perceptron(20, 4).double()
    for _ in range(4):
        p.fit_epoch(X, signed_targets(y, 4))
    np.testing.assert_allclose(p.weight.numpy(), ref.coef_, atol=1e-12)
    np.testing.assert_allclose(p.bias.numpy(), ref.intercept_, atol=1e-12)
    with nnzoo.no_grad():
        np.testing.assert_array_equal(p.predict(nnzoo.tensor(X)).numpy(), ref.predict(X))


@pytest.mark.parametrize("seed,dim,margin", [(0, 2, 0.05), (1, 2, 0.2), (2, 5, 0.1), (3, 10, 0.05)])
def test_novikoff_bound_holds(seed, dim, margin):
    X, y, u = _separable(300, dim, margin, seed)
    known = novikoff_bound(X, u=u, y=y)            # the generating plane: its margin <= the best one
    best = novikoff_bound(X, y=y)                  # the maximum-margin plane
    assert known["gamma"] > 0 and best["gamma"] >= known["gamma"] - 1e-9
    p = Perceptron(dim)
    rng = np.random.default_rng(seed)
    total = 0
    for _ in range(1000):
        m = int(p.fit_epoch(X, signed_targets(y, 1), order=rng.permutation(len(X))).sum())
        total += m
        if m == 0:
            break
    assert m == 0, "the rule must converge on separable data"
    assert total <= best["bound"] <= known["bound"]
    with nnzoo.no_grad():
        assert (p.predict(nnzoo.tensor(X.astype(np.float32))).numpy() == y).all()


def test_max_margin_equals_linear_svc():
    svm = pytest.importorskip("sklearn.svm")
    X, y, _ = _separable(80, 2, 0.1, 4)
    u, gamma = max_margin(X, y)
    A = np.hstack([X, np.ones((len(X), 1))])
    ref = svm.LinearSVC(loss="hinge", C=1e6, fit_intercept=False, max_iter=1_000_000, tol=1e-10).fit(A, y)
    v = ref.coef_[0] / np.linalg.norm(ref.coef_[0])
    np.testing.assert_allclose(u, v, atol=1e-4)
    assert gamma == pytest.approx(float((A * y[:, None] @ v).min()), abs=1e-5)


def test_xor_never_converges():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    y = np.array([-1, 1, 1, -1], dtype=np.float32)
    p = Perceptron(2)
    mistakes = [int(p.fit_epoch(X, signed_targets(y, 1)).sum()) for _ in range(100)]
    assert min(mistakes) > 0
    assert novikoff_bound(X, y=y)["bound"] == float("inf")
