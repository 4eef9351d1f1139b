"""Generated shapes with known generative factors (dSprites-like): the data of the DCIGN recipe.

One white shape on a black square image. Five factors make each image, every one known:

============  ===============================  =================================================================
factor        values                           meaning
============  ===============================  =================================================================
``shape``     0, 1, 2                          square, ellipse (axes 1 : 0.5), equilateral triangle
``scale``     uniform in [0.5, 1]              half-size 0.45 · scale of the image's half-width
``rotation``  uniform in [−π/6, π/6]           radians, counter-clockwise on screen; a 60° range, below every
                                               shape's symmetry (square 90°, triangle 120°, ellipse 180°), so
                                               each rotation gives a different image
``x``, ``y``  uniform in [−0.45, 0.45]         the centre, in units of the half-width (x to the right, y down)
============  ===============================  =================================================================

Images are rendered with NumPy: each pixel is the fraction of its ``supersample``² sub-pixel centres that fall
inside the shape (grey edges, values in [0, 1]). Everything is drawn from a seeded generator, so the same
arguments give the same images.
"""
from __future__ import annotations

import math
import operator

import numpy as np

from ...creation import from_numpy
from ...random import Generator, _gen, default_generator
from ..dataset import TensorDataset

__all__ = ["FACTORS", "SHAPES", "FACTOR_RANGES", "render_shapes", "sample_factors", "one_factor_batch", "shapes"]

FACTORS = ("shape", "scale", "rotation", "x", "y")
SHAPES = ("square", "ellipse", "triangle")
FACTOR_RANGES = {"shape": (0, len(SHAPES) - 1), "scale": (0.5, 1.0), "rotation": (-math.pi / 6, math.pi / 6),
                 "x": (-0.45, 0.45), "y": (-0.45, 0.45)}
BASE_HALF_SIZE = 0.45


def _rng(seed):
    """The NumPy generator behind a fresh nnzoo Generator seeded with ``seed`` (None: the default one)."""
    return _gen(default_generator if seed is None else Generator().manual_seed(seed))


def _inside(shape, u, v):
    """Whether the points (u, v) of the shape's own frame (unit size) lie in the shape ``shape`` (0, 1, 2)."""
    if shape == 0:                                   # square, half-side 0.8 (about the disc's area)
        return np.maximum(np.abs(u), np.abs(v)) <= 0.8
    if shape == 1:                                   # ellipse with semi-axes 1 and 0.5
        return u * u + 4 * v * v <= 1
    s = math.sqrt(3) / 2                             # triangle, circumradius 1, a vertex pointing up (v < 0)
    return (v <= 0.5) & (s * u - 0.5 * v <= 0.5) & (-s * u - 0.5 * v <= 0.5)


def render_shapes(factors: np.ndarray, size: int = 32, supersample: int = 2) -> np.ndarray:
    """Images of the rows of ``factors`` (n, 5) in the order of :data:`FACTORS`.

    Args:
        factors: (n, 5) shape index, scale, rotation, x, y.
        size: side of the square images in pixels.
        supersample: sub-pixels per side averaged into one pixel (anti-aliasing).

    Returns:
        float32 (n, size, size) in [0, 1].
    """
    factors = np.asarray(factors, dtype=np.float32).reshape(-1, len(FACTORS))
    side = size * supersample
    grid = ((np.arange(side) + 0.5) / side * 2 - 1).astype(np.float32)     # sub-pixel centres in [-1, 1]
    gy, gx = np.meshgrid(grid, grid, indexing="ij")                  # rows: y (down), columns: x
    out = np.empty((len(factors), size, size), dtype=np.float32)
    for i0 in range(0, len(factors), 256):
        f = factors[i0:i0 + 256]
        shape, scale, rot, x, y = (f[:, j, None, None] for j in range(5))
        dx, dy = gx - x, gy - y                                      # (m, side, side)
        c, s = np.cos(rot), np.sin(rot)
        r = BASE_HALF_SIZE * scale
        u, v = (c * dx - s * dy) / r, (s * dx + c * dy) / r         # undo the rotation: the shape's frame
        mask = np.zeros(dx.shape, dtype=bool)
        for k in range(len(SHAPES)):
            rows = shape[:, 0, 0] == k
            if rows.all():
                mask = _inside(k, u, v)
            elif rows.any():
                mask[rows] = _inside(k, u[rows], v[rows])
        m = len(f)
        out[i0:i0 + m] = mask.reshape(m, size, supersample, size, supersample).mean(axis=(2, 4))
    return out


def sample_factors(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` factor rows drawn independently: a uniform shape and uniform continuous factors in their ranges."""
    f = np.empty((n, len(FACTORS)))
    f[:, 0] = rng.integers(0, len(SHAPES), n)
    for j, name in enumerate(FACTORS[1:], start=1):
        lo, hi = FACTOR_RANGES[name]
        f[:, j] = rng.uniform(lo, hi, n)
    return f


def one_factor_batch(factor: int | str, n: int, rng: np.random.Generator, size: int = 32) -> tuple:
    """A DCIGN training batch: ``n`` images in which only ``factor`` varies (drawn independently per image), the
    other four fixed at one random draw shared by the batch (Kulkarni et al. 2015, section 3.1).

    Returns:
        (images float32 (n, size, size), factors float64 (n, 5)).
    """
    j = FACTORS.index(factor) if isinstance(factor, str) else operator.index(factor)
    f = np.repeat(sample_factors(1, rng), n, axis=0)
    f[:, j] = sample_factors(n, rng)[:, j]
    return render_shapes(f, size), f


def shapes(n: int = 10000, size: int = 32, seed: int | None = 0) -> TensorDataset:
    """``n`` images with independently drawn factors.

    Args:
        n: number of images.
        size: side in pixels.
        seed: seeds the draw (None: nnzoo's default generator, which ``nnzoo.manual_seed`` controls).

    Returns:
        ``TensorDataset(images, factors)``: images float32 (n, 1, size, size) in [0, 1], factors float32 (n, 5)
        in the order of :data:`FACTORS`.

    Example::

        >>> images, factors = shapes(4, seed=0).tensors
        >>> images.shape, factors.shape
        (nnzoo.Size([4, 1, 32, 32]), nnzoo.Size([4, 5]))
    """
    n = operator.index(n)
    if n < 1 or operator.index(size) < 8:
        raise ValueError(f"shapes: n must be >= 1 and size >= 8, got n={n}, size={size}")
    f = sample_factors(n, _rng(seed))
    images = render_shapes(f, size)[:, None]
    return TensorDataset(from_numpy(images), from_numpy(f.astype(np.float32)))
