"""The compiled perceptron epoch (nnzoo.kernels.perceptron) against its NumPy reference and the rule itself."""
import numpy as np
import pytest

from nnzoo.kernels import jit
from nnzoo.kernels import perceptron as K

pytest.importorskip("numba")

DTYPES = [np.float32, np.float64]


def _data(n, d, c, seed, exact=False):
    """Inputs (N, D) and ±1 one-vs-rest targets (N, C) (C = 1: a single unit). ``exact``: digits-like pixels
    k/16, whose dot products with the integer-step weights are exact in float64 (and float32 here: small sums)."""
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 17, size=(n, d)) / 16 if exact else rng.normal(size=(n, d))
    labels = rng.integers(0, max(c, 2), size=n)
    Y = np.where(labels > 0, 1.0, -1.0)[:, None] if c == 1 else np.where(labels[:, None] == np.arange(c), 1.0, -1.0)
    return X, Y


def _run(mode, X, Y, dtype, epochs=3, lr=1.0, orders=None, W0=None, b0=None):
    C, D = Y.shape[1], X.shape[1]
    W = np.zeros((C, D), dtype) if W0 is None else W0.astype(dtype)
    b = np.zeros(C, dtype) if b0 is None else b0.astype(dtype)
    counts = []
    with jit.mode(mode):
        for e in range(epochs):
            counts.append(K.epoch(X, Y, W, b, lr, None if orders is None else orders[e]))
    return W, b, np.array(counts)


def _rule(X, Y, dtype, epochs, lr=1.0, orders=None):
    """Rosenblatt's rule written out one example at a time, in float64 (the reference of both paths)."""
    W, b = np.zeros((Y.shape[1], X.shape[1])), np.zeros(Y.shape[1])
    counts = []
    for e in range(epochs):
        m = np.zeros(Y.shape[1], np.int64)
        for i in (range(len(X)) if orders is None else orders[e]):
            wrong = Y[i] * (W @ X[i] + b) <= 0
            W += np.outer(lr * Y[i] * wrong, X[i])
            b += lr * Y[i] * wrong
            m += wrong
        counts.append(m)
    return W, b, np.array(counts)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n,d,c", [(200, 64, 10), (150, 7, 1), (90, 3, 4)])
def test_compiled_equals_numpy_reference(dtype, n, d, c):
    X, Y = _data(n, d, c, seed=n + d + c)
    rng = np.random.default_rng(0)
    orders = [rng.permutation(n) for _ in range(4)]
    Wc, bc, mc = _run("compiled", X, Y, dtype, epochs=4, lr=0.5, orders=orders)
    Wn, bn, mn = _run("numpy", X, Y, dtype, epochs=4, lr=0.5, orders=orders)
    # the two sum each dot product in a different order (BLAS against input order): a decision can differ only
    # for a score within rounding of 0, which these draws do not produce
    np.testing.assert_array_equal(mc, mn)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(Wc, Wn, **tol)
    np.testing.assert_allclose(bc, bn, **tol)
    assert Wc.dtype == dtype and bc.dtype == dtype


@pytest.mark.parametrize("dtype", DTYPES)
def test_both_paths_equal_the_rule_exactly(dtype):
    X, Y = _data(300, 20, 4, seed=3, exact=True)
    rng = np.random.default_rng(1)
    orders = [rng.permutation(300) for _ in range(3)]
    W, b, m = _rule(X, Y, dtype, 3, orders=orders)
    for mode in jit.MODES:
        Wk, bk, mk = _run(mode, X, Y, dtype, epochs=3, orders=orders)
        np.testing.assert_array_equal(mk, m)
        np.testing.assert_array_equal(Wk, W.astype(dtype))
        np.testing.assert_array_equal(bk, b.astype(dtype))


def test_equals_scikit_learn_perceptron_in_both_modes():
    sk = pytest.importorskip("sklearn.linear_model")
    X, Y = _data(300, 20, 4, seed=5, exact=True)
    y = Y.argmax(1)
    ref = sk.Perceptron(max_iter=4, tol=None, shuffle=False).fit(X, y)     # same order every epoch
    for mode in jit.MODES:
        W, b, _ = _run(mode, X, Y, np.float64, epochs=4)
        np.testing.assert_array_equal(W, ref.coef_)
        np.testing.assert_array_equal(b, ref.intercept_)


@pytest.mark.parametrize("dtype", DTYPES)
def test_edge_cases_agree(dtype):
    X, Y = _data(40, 5, 3, seed=7, exact=True)
    rng = np.random.default_rng(2)
    W0, b0 = rng.integers(-3, 4, size=(3, 5)) / 4, rng.integers(-3, 4, size=3) / 4
    cases = {
        "no examples": (X[:0], Y[:0], None),
        "one example": (X[:1], Y[:1], None),
        "a subset, repeats and negative indices": (X, Y, np.array([3, -1, 3, 0, -40, 17])),
        "a boolean mask": (X, Y, np.arange(40) % 3 == 0),
        "non-contiguous float64 inputs": (np.asfortranarray(X), Y[:, ::-1], None),
        "a NaN input (no update, as y * nan <= 0 is false)": (np.where(np.arange(40)[:, None] == 5, np.nan, X),
                                                              Y, None),
    }
    for name, (x, y, order) in cases.items():
        out = {}
        for mode in jit.MODES:
            W, b = W0.astype(dtype), b0.astype(dtype)
            with jit.mode(mode):
                m = K.epoch(x, y, W, b, 0.25, order)
            out[mode] = (W, b, m)
        for a, e in zip(out["compiled"], out["numpy"]):
            np.testing.assert_array_equal(a, e, err_msg=name)
    W, b = W0.astype(dtype), b0.astype(dtype)
    with jit.mode("compiled"):
        assert K.epoch(X[:0], Y[:0], W, b).tolist() == [0, 0, 0]
    np.testing.assert_array_equal(W, W0.astype(dtype))


def test_bad_arguments_raise_in_both_modes():
    X, Y = _data(10, 4, 2, seed=0)
    for mode in jit.MODES:
        with jit.mode(mode):
            with pytest.raises(IndexError):
                K.epoch(X, Y, np.zeros((2, 4)), np.zeros(2), order=np.array([0, 10]))
            with pytest.raises(ValueError):
                K.epoch(X, Y[:, :1], np.zeros((2, 4)), np.zeros(2))
