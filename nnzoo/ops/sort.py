"""Sorting and selection along a dim: ``sort``, ``argsort``, ``msort``, ``topk``, ``kthvalue``.

Each op returns (values, indices); the gradient of the values goes back to the positions the indices
name (a scatter into zeros, :class:`nnzoo.ops.index.GatherBackward`, whose own backward is a gather, so
double backward works); the int64 indices are not differentiable.

NOTE: order. Every op here runs one stable sort: equal values keep their index order (ascending index
first, in both directions), and nan counts as the largest value (last ascending, first descending), as
PyTorch. PyTorch's CPU ``sort`` is stable too, so ``sort``/``argsort`` give torch's indices exactly. Its
``topk`` and ``kthvalue`` select with a partial sort whose order among equal values is unspecified (torch
2.13 returns [4, 7, 5] for the top 3 of [1, 3, 3, 2, 3, 3, 0, 3]; nnzoo [1, 2, 4]): the values always
agree, the indices wherever the selected values are distinct. Where they tie, the gradient goes to
nnzoo's indices. ``sorted=False`` returns them sorted (PyTorch leaves the order unspecified).

NOTE: speed. ``topk`` sorts the whole dim (n log n) rather than partitioning: one stable sort keeps the
tie rule above deterministic; a 50,257-way vocabulary row sorts in about 3 ms.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..autograd.function import Op
from ..backend import xp
from ..tensor import Tensor, _wrap_dim
from .index import GatherBackward

__all__ = ["sort", "argsort", "msort", "topk", "kthvalue"]

# What the functions return, as torch.return_types.sort / topk / kthvalue: (values, indices) namedtuples
sort_result = namedtuple("sort", ["values", "indices"])
topk_result = namedtuple("topk", ["values", "indices"])
kthvalue_result = namedtuple("kthvalue", ["values", "indices"])


def _order(x, d, descending):
    """Stable argsort of ``x`` along ``d`` (int64); descending keeps ties in ascending index order and puts nan
    first (sorting the reversed array ascending and reversing the answer does both)."""
    if not descending:
        return xp.argsort(x, axis=d, kind="stable").astype(np.int64, copy=False)
    rev = xp.argsort(xp.flip(x, d), axis=d, kind="stable")
    return (x.shape[d] - 1 - xp.flip(rev, d)).astype(np.int64, copy=False)


class _Select(Op):
    """Base of the selections: out = x[idx] along ``d``; dx = zeros with g put at idx (the indices are distinct
    along d, so put, not add)."""

    @staticmethod
    def backward(ctx, grad, grad_indices=None):
        if not ctx.shape:  # a 0-d input: its one element is the output
            return grad.reshape(()), None, None, None, None
        g = grad if ctx.keepdim else grad.unsqueeze(ctx.d)
        return GatherBackward.apply(g, ctx.d, ctx.idx, ctx.shape), None, None, None, None


class Sort(_Select):
    """(values, indices) = x sorted along ``d`` (stable). dx = g put back at the indices (inverse permutation)."""

    @staticmethod
    def forward(ctx, x, d, descending):
        ctx.shape, ctx.d, ctx.keepdim = x.shape, d, True
        if x.ndim == 0:
            return x.copy(), xp.zeros((), dtype=np.int64)
        ctx.idx = _order(x, d, descending)
        return xp.take_along_axis(x, ctx.idx, axis=d), ctx.idx


class Topk(_Select):
    """(values, indices) of the ``k`` largest (``largest``) or smallest along ``d``, sorted.
    dx = g put at the indices, 0 elsewhere."""

    @staticmethod
    def forward(ctx, x, k, d, largest):
        ctx.shape, ctx.d, ctx.keepdim = x.shape, d, True
        if x.ndim == 0:
            return x.copy(), xp.zeros((), dtype=np.int64)  # k = 0 too, as PyTorch
        idx = xp.take(_order(x, d, largest), xp.arange(k), axis=d)
        ctx.idx = idx
        return xp.take_along_axis(x, idx, axis=d), idx


class Kthvalue(_Select):
    """(values, indices) of the ``k``-th smallest element along ``d`` (1-based).
    dx = g put at the index, 0 elsewhere."""

    @staticmethod
    def forward(ctx, x, k, d, keepdim):
        ctx.shape, ctx.d, ctx.keepdim = x.shape, d, keepdim
        if x.ndim == 0:
            return x.copy(), xp.zeros((), dtype=np.int64)
        idx = xp.take(_order(x, d, False), xp.arange(k - 1, k), axis=d)
        ctx.idx = idx
        values = xp.take_along_axis(x, idx, axis=d)
        if not keepdim:
            values, idx = xp.squeeze(values, d), xp.squeeze(idx, d)
        return values, idx


def _dim(input, dim, op):
    return _wrap_dim(int(dim), input.ndim, op)


def _pair(result, values, indices):
    # detach: the int64 indices are not part of the graph (no grad_fn), as in PyTorch
    return result(values, indices.detach())


def sort(input: Tensor, dim: int = -1, descending: bool = False, *, stable: bool = False) -> tuple[Tensor, Tensor]:
    """(values, indices) of ``input`` sorted along ``dim``: values = input.gather(dim, indices).

    Always stable (equal values keep their order; ``stable`` is accepted for PyTorch's signature); nan sorts as
    the largest value. Gradient: each value's gradient goes back to where it came from.

    Args:
        input: the tensor to sort.
        dim: the dim to sort along (default the last).
        descending: largest first.
        stable: accepted; the sort is always stable.

    Shape:
        values and indices (int64) have ``input``'s shape.

    Example::

        >>> nnzoo.sort(nnzoo.tensor([3., 1., 2.]), descending=True)
        sort(values=tensor([3., 2., 1.]), indices=tensor([0, 2, 1]))
    """
    d = _dim(input, dim, "sort")
    return _pair(sort_result, *Sort.apply(input, d, bool(descending)))


def argsort(input: Tensor, dim: int = -1, descending: bool = False, *, stable: bool = False) -> Tensor:
    """The indices (int64) that sort ``input`` along ``dim``: ``sort(input, dim, descending).indices``.

    Example::

        >>> nnzoo.argsort(nnzoo.tensor([3., 1., 2.]))
        tensor([1, 2, 0])
    """
    d = _dim(input, dim, "argsort")
    if input.ndim == 0:
        return Tensor._make(xp.zeros((), dtype=np.int64))
    return Tensor._make(_order(input._data, d, bool(descending)))


def msort(input: Tensor) -> Tensor:
    """``input`` sorted along its first dim: ``sort(input, dim=0).values``.

    Example::

        >>> nnzoo.msort(nnzoo.tensor([[3., 1.], [1., 2.]]))
        tensor([[1., 1.],
                [3., 2.]])
    """
    return sort(input, 0).values


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> tuple[Tensor, Tensor]:
    """(values, indices) of the ``k`` largest (or, with ``largest=False``, smallest) elements along ``dim``.

    values = input.gather(dim, indices), ordered largest first (smallest first for ``largest=False``); ties keep
    index order (see the module's NOTE on PyTorch's order among ties). Gradient: g at the selected positions.

    Args:
        input: the tensor.
        k: how many elements, ``0 <= k <= input.size(dim)``.
        dim: the dim to select along (default the last).
        largest: the largest (True) or the smallest (False).
        sorted: accepted; the result is always sorted.

    Shape:
        values and indices (int64) have ``input``'s shape with ``k`` at ``dim``.

    Example::

        >>> v, i = nnzoo.topk(nnzoo.tensor([1., 5., 3., 4.]), 2)
        >>> v, i
        (tensor([5., 4.]), tensor([1, 3]))
    """
    d = _dim(input, dim, "topk")
    n = input.shape[d] if input.ndim else 1
    k = int(k)
    if not 0 <= k <= n:
        raise RuntimeError(f"topk(): selected index k out of range: k = {k}, but input.size({dim}) = {n}")
    return _pair(topk_result, *Topk.apply(input, k, d, bool(largest)))


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False) -> tuple[Tensor, Tensor]:
    """(values, indices) of the ``k``-th smallest element (1-based) along ``dim``.

    Ties: the index is that of the k-th element of a stable sort (see the module's NOTE). Gradient: g at the
    selected position.

    Args:
        input: the tensor.
        k: which smallest, ``1 <= k <= input.size(dim)``.
        dim: the dim (default the last).
        keepdim: keep ``dim`` with size 1.

    Shape:
        ``input``'s shape without ``dim`` (with size 1 there if ``keepdim``).

    Example::

        >>> nnzoo.kthvalue(nnzoo.tensor([4., 1., 3., 2.]), 2)
        kthvalue(values=tensor(2.), indices=tensor(3))
    """
    d = _dim(input, dim, "kthvalue")
    n = input.shape[d] if input.ndim else 1
    k = int(k)
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {dim}: k = {k}, but "
                           f"input.size({dim}) = {n}")
    return _pair(kthvalue_result, *Kthvalue.apply(input, k, d, bool(keepdim)))
