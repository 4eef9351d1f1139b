"""Toy data sets for linear and nonlinear predictors: 2-D classification sets and 1-D regression curves.

Every set is generated with NumPy from its own seeded nnzoo ``Generator`` (``seed=None`` draws from
nnzoo's default generator instead, which ``nnzoo.manual_seed`` controls), so the same arguments give the
same data. Classes are balanced (their sizes differ by at most one) and the rows are shuffled, so any
contiguous split holds every class.

Classification sets return ``TensorDataset(X, y)`` with ``X`` float32 (n, 2) and ``y`` int64 (n,);
``regression_1d`` returns ``TensorDataset(x, y)`` with float32 (n, 1) tensors.

=================  ===========================================================  =======================
set                geometry (before the Gaussian ``noise``/``std`` is added)    separable by
=================  ===========================================================  =======================
``two_moons``      two interleaved half circles of radius 1                     a nonlinear boundary
``circles``        two concentric circles, radii 1 and ``factor``               a circle (quadratic φ)
``spirals``        ``classes`` interleaved spiral arms of ``turns`` turns       a deep network
``xor``            four clusters at (±1, ±1), label 1 where the signs differ    a quadratic φ (x1·x2)
``blobs``          Gaussian clusters on a circle of radius 2                    a linear predictor
``gaussian_ring``  ``modes`` Gaussians on a circle (the GAN ring of 8)          (a generative target)
=================  ===========================================================  =======================
"""
from __future__ import annotations

import math
import operator

import numpy as np

from ...creation import from_numpy
from ...random import Generator, _gen, default_generator
from ..dataset import TensorDataset

__all__ = ["two_moons", "circles", "spirals", "xor", "blobs", "gaussian_ring", "regression_1d",
           "adding_problem", "REGRESSION_FUNCTIONS"]


def _rng(seed):
    """The NumPy generator behind a fresh nnzoo Generator seeded with ``seed`` (None: the default one)."""
    return _gen(default_generator if seed is None else Generator().manual_seed(seed))


def _check_n(n, op, at_least=1):
    n = operator.index(n)
    if n < at_least:
        raise ValueError(f"{op}: n must be at least {at_least}, got {n}")
    return n


def _check_nonneg(value, name, op):
    if not value >= 0:
        raise ValueError(f"{op}: {name} must be >= 0, got {value}")


def _split(n, k):
    """Class sizes for ``n`` samples over ``k`` classes: as equal as possible, the first ones larger."""
    return [n // k + (i < n % k) for i in range(k)]


def _classification(parts, rng, noise):
    """Stack ``[(points (m, 2), label), ...]``, add Gaussian noise, shuffle; X float32, y int64."""
    X = np.concatenate([p for p, _ in parts])
    y = np.concatenate([np.full(len(p), label, dtype=np.int64) for p, label in parts])
    X = X + noise * rng.standard_normal(X.shape)
    order = rng.permutation(len(y))
    return TensorDataset(from_numpy(X[order].astype(np.float32)), from_numpy(y[order]))


def two_moons(n: int = 200, noise: float = 0.1, seed: int | None = 0) -> TensorDataset:
    """Two interleaving half circles (sklearn's ``make_moons`` geometry), labels 0 (upper) and 1 (lower).

    Class 0: ``(cos t, sin t)``, class 1: ``(1 - cos t, 0.5 - sin t)``, ``t`` evenly spaced in [0, π];
    then Gaussian noise of standard deviation ``noise`` on each coordinate.

    Args:
        n (int): number of points. Default: 200.
        noise (float): standard deviation of the Gaussian noise. Default: 0.1.
        seed (int, optional): the seed; None draws from nnzoo's default generator. Default: 0.

    Returns:
        TensorDataset: ``X`` float32 (n, 2), ``y`` int64 (n,).

    Example::

        >>> X, y = two_moons(100, noise=0.0).tensors
        >>> tuple(X.shape), X.dtype, y.dtype, int(y.sum())
        ((100, 2), nnzoo.float32, nnzoo.int64, 50)
    """
    n = _check_n(n, "two_moons", 2)
    _check_nonneg(noise, "noise", "two_moons")
    rng = _rng(seed)
    n0, n1 = _split(n, 2)
    t0, t1 = np.linspace(0, math.pi, n0), np.linspace(0, math.pi, n1)
    upper = np.stack([np.cos(t0), np.sin(t0)], 1)
    lower = np.stack([1 - np.cos(t1), 0.5 - np.sin(t1)], 1)
    return _classification([(upper, 0), (lower, 1)], rng, noise)


def circles(n: int = 200, noise: float = 0.05, seed: int | None = 0, factor: float = 0.5) -> TensorDataset:
    """Two concentric circles (sklearn's ``make_circles`` geometry), labels 0 (outer) and 1 (inner).

    Label 0 on the circle of radius 1, label 1 on the circle of radius ``factor``, points evenly spaced
    in angle; then Gaussian noise.

    Args:
        n (int): number of points. Default: 200.
        noise (float): standard deviation of the Gaussian noise. Default: 0.05.
        seed (int, optional): the seed; None draws from nnzoo's default generator. Default: 0.
        factor (float): the inner radius, in [0, 1). Default: 0.5.

    Returns:
        TensorDataset: ``X`` float32 (n, 2), ``y`` int64 (n,).

    Example::

        >>> X, y = circles(8, noise=0.0, factor=0.5).tensors
        >>> sorted(round(r, 3) for r in X.norm(dim=1).tolist())
        [0.5, 0.5, 0.5, 0.5, 1.0, 1.0, 1.0, 1.0]
    """
    n = _check_n(n, "circles", 2)
    _check_nonneg(noise, "noise", "circles")
    if not 0 <= factor < 1:
        raise ValueError(f"circles: factor must be in [0, 1), got {factor}")
    rng = _rng(seed)
    n0, n1 = _split(n, 2)
    a0 = np.linspace(0, 2 * math.pi, n0, endpoint=False)
    a1 = np.linspace(0, 2 * math.pi, n1, endpoint=False)
    outer = np.stack([np.cos(a0), np.sin(a0)], 1)
    inner = factor * np.stack([np.cos(a1), np.sin(a1)], 1)
    return _classification([(outer, 0), (inner, 1)], rng, noise)


def spirals(n: int = 200, noise: float = 0.05, seed: int | None = 0, turns: float = 1.5,
            classes: int = 2) -> TensorDataset:
    """``classes`` interleaved spiral arms around the origin, one per class.

    Arm ``k`` has points at radius ``r = t`` and angle ``2π (turns · t + k / classes)`` for ``t`` evenly
    spaced in (0, 1) (``t_j = (j + 1/2) / m`` for the arm's ``m`` points); then Gaussian noise.

    Args:
        n (int): number of points. Default: 200.
        noise (float): standard deviation of the Gaussian noise. Default: 0.05.
        seed (int, optional): the seed; None draws from nnzoo's default generator. Default: 0.
        turns (float): how many times each arm winds around the origin. Default: 1.5.
        classes (int): number of arms (and classes). Default: 2.

    Returns:
        TensorDataset: ``X`` float32 (n, 2), ``y`` int64 (n,) in 0 .. classes-1.

    Example::

        >>> X, y = spirals(300, classes=3).tensors
        >>> tuple(X.shape), np.bincount(y.numpy()).tolist()
        ((300, 2), [100, 100, 100])
    """
    classes = operator.index(classes)
    if classes < 1:
        raise ValueError(f"spirals: classes must be at least 1, got {classes}")
    n = _check_n(n, "spirals", classes)
    _check_nonneg(noise, "noise", "spirals")
    rng = _rng(seed)
    parts = []
    for k, m in enumerate(_split(n, classes)):
        t = (np.arange(m) + 0.5) / m
        angle = 2 * math.pi * (turns * t + k / classes)
        parts.append((np.stack([t * np.cos(angle), t * np.sin(angle)], 1), k))
    return _classification(parts, rng, noise)


def xor(n: int = 200, noise: float = 0.25, seed: int | None = 0) -> TensorDataset:
    """The XOR problem: four Gaussian clusters at (±1, ±1), label 1 where the two signs differ.

    Clusters (1, -1) and (-1, 1) have label 1, (1, 1) and (-1, -1) label 0. No line separates the
    classes; the product x1·x2 does.

    Args:
        n (int): number of points. Default: 200.
        noise (float): standard deviation of each cluster. Default: 0.25.
        seed (int, optional): the seed; None draws from nnzoo's default generator. Default: 0.

    Returns:
        TensorDataset: ``X`` float32 (n, 2), ``y`` int64 (n,).

    Example::

        >>> X, y = xor(8, noise=0.0).tensors
        >>> bool(((X[:, 0] * X[:, 1] < 0).long() == y).all())
        True
    """
    n = _check_n(n, "xor", 4)
    _check_nonneg(noise, "noise", "xor")
    rng = _rng(seed)
    parts = []
    for label, corners in ((0, [(1, 1), (-1, -1)]), (1, [(1, -1), (-1, 1)])):
        size = _split(n, 2)[label]
        for corner, m in zip(corners, _split(size, 2)):
            parts.append((np.tile(np.asarray(corner, dtype=np.float64), (m, 1)), label))
    return _classification(parts, rng, noise)


def blobs(n: int = 200, std: float = 0.5, seed: int | None = 0, centers: int = 3) -> TensorDataset:
    """Isotropic Gaussian clusters, one per class (like sklearn's ``make_blobs``).

    Args:
        n (int): number of points. Default: 200.
        std (float): standard deviation of each cluster (this set's noise). Default: 0.5.
        seed (int, optional): the seed; None draws from nnzoo's default generator. Default: 0.
        centers (int or array-like (k, 2)): the number of clusters, placed evenly on a circle of radius 2
            (the first at angle π/2), or their coordinates. Default: 3.

    Returns:
        TensorDataset: ``X`` float32 (n, 2), ``y`` int64 (n,) in 0 .. k-1 (the cluster index).

    Example::

        >>> X, y = blobs(300, std=0.0, centers=[[0, 0], [5, 5]]).tensors
        >>> sorted(set(map(tuple, X.tolist())))
        [(0.0, 0.0), (5.0, 5.0)]
    """
    _check_nonneg(std, "std", "blobs")
    if isinstance(centers, (int, np.integer)):
        k = operator.index(centers)
        if k < 1:
            raise ValueError(f"blobs: centers must be at least 1, got {k}")
        angle = math.pi / 2 + 2 * math.pi * np.arange(k) / k
        coords = 2.0 * np.stack([np.cos(angle), np.sin(angle)], 1)
    else:
        coords = np.asarray(centers, dtype=np.float64)
        if coords.ndim != 2 or coords.shape[1] != 2 or len(coords) < 1:
            raise ValueError(f"blobs: centers must be an int or an array of shape (k, 2), got shape {coords.shape}")
    n = _check_n(n, "blobs", len(coords))
    rng = _rng(seed)
    parts = [(np.tile(c, (m, 1)), k) for k, (c, m) in enumerate(zip(coords, _split(n, len(coords))))]
    return _classification(parts, rng, std)


def gaussian_ring(n: int = 800, std: float = 0.02, seed: int | None = 0, modes: int = 8,
                  radius: float = 2.0) -> TensorDataset:
    """The GAN ring: ``modes`` Gaussians on a circle, labelled by mode index (8 of std 0.02 at radius 2).

    The target distribution GAN papers train on (Metz et al. 2017, "Unrolled GANs"). Mode ``k`` is
    centred at ``radius · (cos 2πk/modes, sin 2πk/modes)``.

    Args:
        n (int): number of points. Default: 800.
        std (float): standard deviation of each mode. Default: 0.02.
        seed (int, optional): the seed; None draws from nnzoo's default generator. Default: 0.
        modes (int): number of Gaussians. Default: 8.
        radius (float): radius of the ring. Default: 2.0.

    Returns:
        TensorDataset: ``X`` float32 (n, 2), ``y`` int64 (n,) in 0 .. modes-1.

    Example::

        >>> X, y = gaussian_ring().tensors
        >>> tuple(X.shape), round(X.norm(dim=1).mean().item(), 1)
        ((800, 2), 2.0)
    """
    modes = operator.index(modes)
    if modes < 1:
        raise ValueError(f"gaussian_ring: modes must be at least 1, got {modes}")
    _check_nonneg(std, "std", "gaussian_ring")
    n = _check_n(n, "gaussian_ring", modes)
    angle = 2 * math.pi * np.arange(modes) / modes
    coords = radius * np.stack([np.cos(angle), np.sin(angle)], 1)
    rng = _rng(seed)
    parts = [(np.tile(c, (m, 1)), k) for k, (c, m) in enumerate(zip(coords, _split(n, modes)))]
    return _classification(parts, rng, std)


# The true functions of regression_1d, on x in [-2, 2].
REGRESSION_FUNCTIONS = {
    "linear": lambda x: 0.5 + 0.8 * x,
    "quadratic": lambda x: x ** 2 - 1,
    "cubic": lambda x: x ** 3 - 2 * x,
    "sine": lambda x: np.sin(3 * x),
    "step": lambda x: (x > 0).astype(np.float64),  # the Heaviside step H(x)
    "abs": lambda x: np.abs(x),
}


def regression_1d(kind: str = "cubic", n: int = 100, noise: float = 0.1, seed: int | None = 0) -> TensorDataset:
    """A 1-D regression set: ``x`` uniform in [-2, 2], ``y = f(x) + noise · ε`` with ε standard normal.

    The true functions ``f`` (``REGRESSION_FUNCTIONS[kind]``): ``'linear'`` 0.5 + 0.8x, ``'quadratic'``
    x² − 1, ``'cubic'`` x³ − 2x, ``'sine'`` sin(3x), ``'step'`` H(x) (1 for x > 0, else 0), ``'abs'`` |x|.

    Args:
        kind (str): which true function. Default: ``'cubic'``.
        n (int): number of points. Default: 100.
        noise (float): standard deviation of the noise on ``y``. Default: 0.1.
        seed (int, optional): the seed; None draws from nnzoo's default generator. Default: 0.

    Returns:
        TensorDataset: ``x`` float32 (n, 1) (unsorted), ``y`` float32 (n, 1).

    Example::

        >>> x, y = regression_1d("sine", n=50, noise=0.0).tensors
        >>> tuple(x.shape), bool(((y - (3 * x).sin()).abs() < 1e-6).all())
        ((50, 1), True)
    """
    if kind not in REGRESSION_FUNCTIONS:
        raise ValueError(f"regression_1d: unknown kind {kind!r}; choose one of {sorted(REGRESSION_FUNCTIONS)}")
    n = _check_n(n, "regression_1d")
    _check_nonneg(noise, "noise", "regression_1d")
    rng = _rng(seed)
    x = rng.uniform(-2.0, 2.0, size=(n, 1))
    y = REGRESSION_FUNCTIONS[kind](x) + noise * rng.standard_normal((n, 1))
    return TensorDataset(from_numpy(x.astype(np.float32)), from_numpy(y.astype(np.float32)))


def adding_problem(n: int = 1000, T: int = 100, seed: int | None = 0) -> TensorDataset:
    """The adding problem (Hochreiter & Schmidhuber 1997; in the form of Le, Jaitly & Hinton 2015): a long-lag
    task for recurrent networks. Each sequence has T steps of two features: a value drawn from U(0, 1) and a
    marker that is 1 at exactly two steps (one in the first half, one in the second) and 0 elsewhere. The
    target is the sum of the two marked values.

    Predicting the constant 1 (the target's mean) gives a mean squared error of 1/6 (the variance of a sum of
    two U(0, 1)); beating it needs the first marked value carried across up to T steps.

    Args:
        n (int): number of sequences. Default: 1000.
        T (int): sequence length (>= 2). Default: 100.
        seed (int, optional): the seed; None draws from nnzoo's default generator. Default: 0.

    Returns:
        TensorDataset: ``X`` float32 (n, T, 2) (batch first: value, marker), ``y`` float32 (n,).

    Example::

        >>> X, y = adding_problem(4, T=10).tensors
        >>> tuple(X.shape), bool(((X[:, :, 0] * X[:, :, 1]).sum(1) == y).all())
        ((4, 10, 2), True)
    """
    n = _check_n(n, "adding_problem")
    T = operator.index(T)
    if T < 2:
        raise ValueError(f"adding_problem: T must be at least 2, got {T}")
    rng = _rng(seed)
    values = rng.random((n, T)).astype(np.float32)
    half = T // 2
    first = rng.integers(0, half, n)
    second = rng.integers(half, T, n)
    markers = np.zeros((n, T), dtype=np.float32)
    markers[np.arange(n), first] = 1
    markers[np.arange(n), second] = 1
    X = np.stack([values, markers], axis=2)
    y = (values * markers).sum(axis=1, dtype=np.float32)
    return TensorDataset(from_numpy(X), from_numpy(y))

