"""Norms and distances between vectors: ``normalize``, ``cosine_similarity``, ``pairwise_distance``, ``pdist``
(``torch.nn.functional``'s), composed of the norm, division and indexing ops (their backwards give the gradients
and second derivatives; a zero vector's norm has gradient 0, as PyTorch's)."""
from __future__ import annotations

from ..backend import xp
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
    return norm(_arith.sub(rows_i, rows_j), p, 1)
