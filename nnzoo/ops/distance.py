"""Norms and distances between vectors: ``normalize``, ``cosine_similarity``, ``pairwise_distance``, ``pdist``
(``torch.nn.functional``'s), composed of the norm, division and indexing ops (their backwards give the gradients
and second derivatives; a zero vector's norm has gradient 0, as PyTorch's); pdist's distance of a pair is an
Op of its own with the formulas of PyTorch's pdist kernel (its p = inf gradient, and nan/inf, differ from a
norm's)."""
from __future__ import annotations

import math

from ..autograd.function import Op
from ..backend import quiet, xp
from ..tensor import Tensor, _wrap_dim
from . import arith as _arith
from . import index as _index
from .reduce import norm

_make = Tensor._make

__all__ = ["normalize", "cosine_similarity", "pairwise_distance", "pdist"]


def _check(x, op, name="input"):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument '{name}' must be Tensor, not {type(x).__name__}")
    if x._data.dtype.kind != "f":
        raise RuntimeError(f"{op}: expected a floating point {name}, got {x.dtype}")
    return x


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out: Tensor | None = None) -> Tensor:
    """x / max(||x||_p, eps) along ``dim``.

    Args:
        input: any shape; p: the norm's exponent; dim: the dim normalised; eps: the smallest denominator.

    Shape: output as input.

    Example::

        >>> from nnzoo.ops.distance import normalize
        >>> normalize(nnzoo.tensor([[3., 4.]]))
        tensor([[0.6000, 0.8000]])
    """
    _check(input, "normalize")
    denom = norm(input, p, dim, keepdim=True).clamp_min(eps)
    result = input / denom
    if out is not None:
        out.copy_(result)
        return out
    return result


def _through(value, clamped):
    """``clamped``'s values with ``value``'s gradient (PyTorch clamps the norms of cosine_similarity in place under
    no_grad, so the gradient is the unclamped norm's)."""
    return value + (clamped - value).detach()


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """sum(x1 / max(||x1||, eps) * x2 / max(||x2||, eps)) along ``dim`` (x1 and x2 broadcast).

    NOTE: each vector is divided by its norm before the product (PyTorch's order since 1.12: the result stays
    in [-1, 1]); the norms are clamped at eps for the values only, their gradient is the unclamped norm's, as
    PyTorch's in-place no_grad clamp.

    Shape: x1, x2 broadcastable, (*, D, *) with D along ``dim``; output without that dim.

    Example::

        >>> from nnzoo.ops.distance import cosine_similarity
        >>> cosine_similarity(nnzoo.tensor([[1., 0.]]), nnzoo.tensor([[1., 1.]]))
        tensor([0.7071])
    """
    _check(x1, "cosine_similarity", "x1")
    _check(x2, "cosine_similarity", "x2")
    try:
        shape = tuple(xp.broadcast_shapes(tuple(x1.shape), tuple(x2.shape)))
    except ValueError:
        raise RuntimeError(f"cosine_similarity: the shapes of x1 {tuple(x1.shape)} and x2 {tuple(x2.shape)} do "
                           "not broadcast") from None
    if tuple(x1.shape) != shape:
        x1 = x1.expand(*shape)
    if tuple(x2.shape) != shape:
        x2 = x2.expand(*shape)
    d = _wrap_dim(dim, len(shape), "cosine_similarity")
    n1 = norm(x1, 2, d, keepdim=True)
    n2 = norm(x2, 2, d, keepdim=True)
    n1 = _through(n1, n1.clamp_min(eps))
    n2 = _through(n2, n2.clamp_min(eps))
    return ((x1 / n1) * (x2 / n2)).sum(d)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Tensor:
    """||x1 - x2 + eps||_p over the last dim (x1 and x2 broadcast).

    Shape: x1, x2 (N, D) or (D,) (or broadcastable); output (N,) (keepdim: (N, 1)).

    Example::

        >>> from nnzoo.ops.distance import pairwise_distance
        >>> pairwise_distance(nnzoo.tensor([[0., 0.]]), nnzoo.tensor([[3., 4.]]), eps=0.0)
        tensor([5.])
    """
    _check(x1, "pairwise_distance", "x1")
    _check(x2, "pairwise_distance", "x2")
    last = max(x1.ndim, x2.ndim) - 1
    if last < 0:
        raise RuntimeError("pairwise_distance: expected inputs with at least 1 dim, got two scalars")
    return norm(x1 - x2 + eps, p, last, keepdim)


class _PairDistance(Op):
    """pdist's distance of each pair, a row of d = x_i - x_j, with PyTorch's pdist kernel's formulas:

    - p = 0: y = sum min(ceil|d_k|, 1) (the count of nonzero coordinates), dy/dd = 0;
    - p = 1: y = sum |d_k|, dy/dd_k = sign(d_k);
    - p = 2: y = sqrt(sum d_k^2), dy/dd_k = d_k / y;
    - p = inf: y = max |d_k|, dy/dd_k = sign(d_k) where |d_k| == y, else 0: every coordinate attaining the max
      gets the whole gradient (torch.norm's backward, and nnzoo's, split it among them);
    - other p: y = (sum |d_k|^p)^(1/p), dy/dd_k = d_k |d_k|^(p-2) / y^(p-1) (sign(d_k) |d_k|^(p-1) / y^(p-1)
      for p < 2, and 0 at d_k = 0 for p < 1);

    the gradient is 0 for a pair at distance 0 (p = 2 and the general p).

    NOTE: nan and inf go through these formulas as in PyTorch: a nan coordinate makes its pair's distance nan
    (also for p = 0, whose count would skip it) and that pair's gradient nan (sign(nan) = nan, and for p = inf
    1 - min(1, ceil(||d_k| - y|)) is nan when |d_k| = y = inf); a norm's backward masks some of these."""

    @staticmethod
    @quiet
    def forward(ctx, d, p):
        a = xp.abs(d)
        if p == 0:
            y = xp.minimum(xp.ceil(a), 1).sum(axis=1)
        elif p == 1:
            y = a.sum(axis=1)
        elif p == 2:
            y = xp.sqrt((d * d).sum(axis=1))
        elif p == math.inf:
            y = xp.max(a, axis=1, initial=0)
        else:
            y = (a ** p).sum(axis=1) ** (1.0 / p)
        ctx.save_for_backward(d, y)
        ctx.p = p
        return y.astype(d.dtype, copy=False)

    @staticmethod
    @quiet
    def backward(ctx, grad):
        d, y = ctx.saved_tensors
        p = ctx.p
        g = grad.unsqueeze(1)
        if p == 0:
            return _make(xp.zeros_like(d._data)), None
        if p == 1:
            return g * _make(xp.sign(d._data)), None  # sign(nan) = nan
        if p == math.inf:
            e = xp.abs(xp.abs(d._data) - y._data[:, None])
            coef = xp.where(xp.isnan(e), xp.nan, e == 0) * xp.sign(d._data)
            return g * _make(coef.astype(d._data.dtype, copy=False)), None
        yy = y.unsqueeze(1)
        if p == 2:
            coef = d / yy
        elif p < 2:
            coef = _make(xp.sign(d._data)) * d.abs() ** (p - 1) / yy ** (p - 1)
            if p < 1:  # |0|^(p - 1) = inf: a zero coordinate gets 0, as PyTorch
                zero = d._data == 0
                if zero.any():
                    coef = _arith.where(zero, 0.0, coef)
        else:
            coef = d * d.abs() ** (p - 2) / yy ** (p - 1)
        at_zero = (y._data == 0)[:, None]
        if at_zero.any():
            coef = _arith.where(xp.broadcast_to(at_zero, coef.shape), 0.0, coef)
        return g * coef, None


def pdist(input: Tensor, p: float = 2.0) -> Tensor:
    """The p-norm distances between all pairs of rows i < j of a 2-D input, in row-major order of (i, j):
    the upper triangle of cdist(input, input) without its diagonal.

    Shape: input (N, M); output (N (N - 1) / 2,).

    Example::

        >>> from nnzoo.ops.distance import pdist
        >>> pdist(nnzoo.tensor([[0., 0.], [3., 4.], [0., 1.]]))
        tensor([5.0000, 1.0000, 4.2426])
    """
    _check(input, "pdist")
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D (shape {tuple(input.shape)})")
    if p < 0:
        raise RuntimeError(f"pdist only supports non-negative p values, got {p}")
    n = input.shape[0]
    i, j = xp.triu_indices(n, 1)
    rows_i = _index.index_select(input, 0, _make(i.astype(xp.int64)))
    rows_j = _index.index_select(input, 0, _make(j.astype(xp.int64)))
    return _PairDistance.apply(_arith.sub(rows_i, rows_j), float(p))
