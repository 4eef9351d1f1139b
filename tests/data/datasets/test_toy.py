"""nnzoo.data.datasets.toy: the 2-D classification sets and the 1-D regression curves.

Expectations: the geometry each docstring states (radii, angles, cluster centres, the true functions),
scikit-learn's ``make_moons``/``make_circles`` for the noise-free moons and circles, and sample statistics
for the noise (with tolerances of several standard errors).
"""
import numpy as np
import pytest

import nnzoo
from nnzoo.data import TensorDataset
from nnzoo.data.datasets.toy import (
    REGRESSION_FUNCTIONS,
    adding_problem,
    blobs,
    circles,
    gaussian_ring,
    regression_1d,
    spirals,
    two_moons,
    xor,
)

SETS = {  # name -> (factory, number of classes)
    "two_moons": (two_moons, 2),
    "circles": (circles, 2),
    "spirals": (spirals, 2),
    "spirals3": (lambda n, **kw: spirals(n, classes=3, **kw), 3),
    "xor": (xor, 2),
    "blobs": (blobs, 3),
    "gaussian_ring": (gaussian_ring, 8),
}


def arrays(ds):
    X, y = ds.tensors
    return X.numpy(), y.numpy()


def same_rows(a, b, atol=1e-6):
    """``a`` and ``b`` hold the same rows, in any order."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    order = lambda m: m[np.lexsort(np.round(m, 5).T[::-1])]  # noqa: E731
    np.testing.assert_allclose(order(a), order(b), atol=atol)


@pytest.mark.parametrize("name", SETS)
@pytest.mark.parametrize("n", [64, 203])
def test_shapes_dtypes_balance(name, n):
    make, k = SETS[name]
    ds = make(n)
    assert isinstance(ds, TensorDataset) and len(ds.tensors) == 2 and len(ds) == n
    X, y = ds.tensors
    assert X.dtype == nnzoo.float32 and tuple(X.shape) == (n, 2)
    assert y.dtype == nnzoo.int64 and tuple(y.shape) == (n,)
    counts = np.bincount(y.numpy(), minlength=k)
    assert len(counts) == k and counts.sum() == n and counts.max() - counts.min() <= 1  # balanced
    assert np.isfinite(X.numpy()).all()


@pytest.mark.parametrize("name", SETS)
def test_seeded_and_shuffled(name):
    make, _ = SETS[name]
    X0, y0 = arrays(make(100, seed=3))
    X1, y1 = arrays(make(100, seed=3))
    np.testing.assert_array_equal(X0, X1)
    np.testing.assert_array_equal(y0, y1)
    assert not np.array_equal(X0, arrays(make(100, seed=4))[0])
    assert np.any(np.diff(y0) < 0)  # rows are shuffled, not grouped by class


def test_seed_none_follows_manual_seed():
    nnzoo.manual_seed(7)
    a = arrays(two_moons(50, seed=None))[0]
    b = arrays(two_moons(50, seed=None))[0]
    nnzoo.manual_seed(7)
    c = arrays(two_moons(50, seed=None))[0]
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(a, c)


def test_a_seed_does_not_touch_the_default_generator():
    nnzoo.manual_seed(1)
    want = nnzoo.rand(3)
    nnzoo.manual_seed(1)
    circles(seed=5)
    assert bool((nnzoo.rand(3) == want).all())


def test_moons_and_circles_match_sklearn_geometry():
    datasets = pytest.importorskip("sklearn.datasets")
    make_moons, make_circles = datasets.make_moons, datasets.make_circles
    for n in (100, 101):
        X, y = arrays(two_moons(n, noise=0.0))
        Xs, ys = make_moons(n, noise=0.0, shuffle=False)
        # sklearn gives the odd point to the second moon, nnzoo to the first; compare the even case exactly
        if n % 2 == 0:
            for label in (0, 1):
                same_rows(X[y == label], Xs[ys == label])
        X, y = arrays(circles(n, noise=0.0, factor=0.3))
        Xs, ys = make_circles(n, noise=0.0, factor=0.3, shuffle=False)
        if n % 2 == 0:
            for label in (0, 1):
                same_rows(X[y == label], Xs[ys == label])


def test_circles_radii():
    X, y = arrays(circles(400, noise=0.0, factor=0.4))
    r = np.linalg.norm(X, axis=1)
    np.testing.assert_allclose(r[y == 0], 1.0, atol=1e-6)
    np.testing.assert_allclose(r[y == 1], 0.4, atol=1e-6)
    X, y = arrays(circles(4000, noise=0.05, factor=0.4))
    r = np.linalg.norm(X, axis=1)
    assert abs(r[y == 0].mean() - 1.0) < 0.01 and abs(r[y == 1].mean() - 0.4) < 0.01
    with pytest.raises(ValueError, match="circles: factor must be in"):
        circles(factor=1.0)


@pytest.mark.parametrize("classes,turns", [(2, 1.5), (3, 0.75)])
def test_spirals_geometry(classes, turns):
    X, y = arrays(spirals(300, noise=0.0, turns=turns, classes=classes))
    r = np.linalg.norm(X, axis=1)
    assert r.min() > 0 and r.max() < 1
    # angle = 2π (turns · r + k / classes), modulo 2π
    diff = np.arctan2(X[:, 1], X[:, 0]) - 2 * np.pi * (turns * r + y / classes)
    np.testing.assert_allclose(np.cos(diff), 1.0, atol=1e-5)


def test_xor_labels_and_clusters():
    X, y = arrays(xor(4000, noise=0.1))
    np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] < 0).astype(np.int64))  # 10σ from the axes
    for corner in [(1, 1), (-1, -1), (1, -1), (-1, 1)]:
        near = np.linalg.norm(X - corner, axis=1) < 0.6
        assert abs(near.sum() - 1000) <= 1  # one quarter of the points per corner
        np.testing.assert_allclose(X[near].std(0), 0.1, rtol=0.1)


def test_blobs_centres_and_spread():
    X, y = arrays(blobs(3000, std=0.3, centers=3))
    angle = np.pi / 2 + 2 * np.pi * np.arange(3) / 3
    centres = 2 * np.stack([np.cos(angle), np.sin(angle)], 1)
    for k in range(3):
        np.testing.assert_allclose(X[y == k].mean(0), centres[k], atol=0.05)  # ~0.3/sqrt(1000) standard error
        np.testing.assert_allclose(X[y == k].std(0), 0.3, rtol=0.1)
    X, y = arrays(blobs(10, std=0.0, centers=[[0, 1], [2, 3]]))
    same_rows(X, [[0, 1]] * 5 + [[2, 3]] * 5)
    np.testing.assert_array_equal(X[y == 1], np.tile([2, 3], (5, 1)))
    with pytest.raises(ValueError, match=r"blobs: centers must be an int or an array of shape \(k, 2\)"):
        blobs(centers=[1, 2, 3])


def test_gaussian_ring():
    X, y = arrays(gaussian_ring(8000, std=0.02))
    angle = 2 * np.pi * np.arange(8) / 8
    centres = 2.0 * np.stack([np.cos(angle), np.sin(angle)], 1)
    nearest = np.argmin(np.linalg.norm(X[:, None] - centres[None], axis=2), axis=1)
    np.testing.assert_array_equal(nearest, y)  # the label is the mode index
    for k in range(8):
        np.testing.assert_allclose(X[y == k].mean(0), centres[k], atol=0.01)
        np.testing.assert_allclose(X[y == k].std(0), 0.02, rtol=0.1)
    X, y = arrays(gaussian_ring(60, std=0.0, modes=6, radius=3.0))
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 3.0, atol=1e-6)
    assert np.bincount(y).tolist() == [10] * 6


@pytest.mark.parametrize("kind", sorted(REGRESSION_FUNCTIONS))
def test_regression_1d_true_functions(kind):
    ds = regression_1d(kind, n=500, noise=0.0)
    x, y = ds.tensors
    assert x.dtype == y.dtype == nnzoo.float32 and tuple(x.shape) == tuple(y.shape) == (500, 1)
    xs = x.numpy().astype(np.float64)
    assert xs.min() >= -2 and xs.max() <= 2 and xs.min() < -1.9 and xs.max() > 1.9
    assert not np.all(np.diff(xs[:, 0]) >= 0)  # unsorted
    want = {"linear": 0.5 + 0.8 * xs, "quadratic": xs ** 2 - 1, "cubic": xs ** 3 - 2 * xs, "sine": np.sin(3 * xs),
            "step": (xs > 0).astype(float), "abs": np.abs(xs)}[kind]  # the docstring's formulas
    np.testing.assert_allclose(y.numpy(), want, atol=1e-5)


def test_regression_1d_noise_and_seed():
    x, y = regression_1d("sine", n=20000, noise=0.3, seed=1).tensors
    residual = y.numpy()[:, 0] - np.sin(3 * x.numpy()[:, 0].astype(np.float64))
    assert abs(residual.mean()) < 0.01 and abs(residual.std() - 0.3) < 0.01
    a, b = regression_1d("cubic", seed=2).tensors, regression_1d("cubic", seed=2).tensors
    np.testing.assert_array_equal(a[1].numpy(), b[1].numpy())


def test_argument_errors():
    with pytest.raises(ValueError, match="regression_1d: unknown kind 'cosine'"):
        regression_1d("cosine")
    with pytest.raises(ValueError, match=r"two_moons: noise must be >= 0, got -0\.1"):
        two_moons(noise=-0.1)
    with pytest.raises(ValueError, match="spirals: n must be at least 3, got 2"):
        spirals(2, classes=3)
    with pytest.raises(ValueError, match="gaussian_ring: modes must be at least 1"):
        gaussian_ring(modes=0)
    with pytest.raises(TypeError):
        xor(10.5)


def test_adding_problem_markers_and_targets():
    X, y = adding_problem(500, T=20, seed=3).tensors
    x = X.numpy()
    assert x.shape == (500, 20, 2) and x.dtype == np.float32 and y.dtype == nnzoo.float32
    markers = x[:, :, 1]
    assert np.all(markers.sum(1) == 2)
    # one marker in each half
    assert np.all(markers[:, :10].sum(1) == 1) and np.all(markers[:, 10:].sum(1) == 1)
    np.testing.assert_allclose(y.numpy(), (x[:, :, 0] * markers).sum(1), rtol=1e-6)
    assert np.all((x[:, :, 0] >= 0) & (x[:, :, 0] < 1))
    # the constant predictor 1 scores about the variance of a sum of two U(0, 1), 1/6
    assert abs(float(((y.numpy() - 1) ** 2).mean()) - 1 / 6) < 0.03
    again = adding_problem(500, T=20, seed=3).tensors[0].numpy()
    assert np.array_equal(x, again)


def test_adding_problem_rejects_short_sequences():
    with pytest.raises(ValueError, match="adding_problem: T must be at least 2"):
        adding_problem(3, T=1)
