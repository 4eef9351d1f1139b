"""Segment sums and scatter positions: the array kernels behind every indexing backward and scatter.

Backward of advanced indexing, gather and embedding is a scatter-add of the gradient. Duplicated
indices must accumulate, and ``np.add.at`` is slow, so the scatter is a segment sum
(:func:`segment_sum`): ``bincount`` on flat positions for narrow rows, a sort by target plus one
vectorised add per duplicate rank for wide rows. Kernels take and return arrays (never Tensors).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..backend import xp
from . import jit

__all__ = ["segment_sum", "sorted_segment_reduce", "stable_argsort", "scatter_positions", "scatter_reduce",
           "coalesce_rows", "index_add_rows_"]

BINCOUNT_MAX_ROW = 32  # rows up to this width: one bincount over flat positions is fastest
RANK_PASSES_MAX = 8  # index_add_rows_: more repeats than this, and runs are summed first (fewer passes)
LONG_SEGMENT = 32  # segments longer than this are summed with ufunc.reduceat instead of rank passes


def segment_sum(values: np.ndarray, lin: np.ndarray, n: int, ufunc: Callable | None = None) -> np.ndarray:
    """``out[j] = sum(values[i] for i with lin[i] == j)``: values (m, q), lin (m,) ints in [0, n).

    Returns an (n, q) array of ``values.dtype``; rows no index points at are 0. With ``ufunc``
    (e.g. ``np.multiply``) the rows are combined with it instead and untouched rows are its identity.

    Example::

        >>> import numpy as np
        >>> segment_sum(np.array([[1.], [2.], [3.]]), np.array([0, 2, 0]), 3).ravel()
        array([4., 0., 2.])
    """
    m, q = values.shape
    if ufunc is None and values.dtype.kind == "f" and q <= BINCOUNT_MAX_ROW and m:
        # NOTE: bincount sums in float64 and we cast back: as accurate as PyTorch's float32 sums or better
        if q == 1:
            out = xp.bincount(lin, weights=values[:, 0], minlength=n)
        else:
            flat = (lin[:, None] * q + xp.arange(q)).ravel()
            out = xp.bincount(flat, weights=values.ravel(), minlength=n * q)
        return out.reshape(n, q).astype(values.dtype, copy=False)
    return sorted_segment_reduce(values, lin, n, ufunc or xp.add)


def sorted_segment_reduce(values: np.ndarray, lin: np.ndarray, n: int, ufunc: Callable) -> np.ndarray:
    """Sort the rows by target; the k-th row of every segment is combined in one vectorised pass.

    Segments are runs of equal targets after a stable sort. Pass r adds the r-th row of every segment
    that has more than r rows (targets within one pass are distinct, so fancy assignment is exact).
    The number of passes is the largest multiplicity; segments longer than ``LONG_SEGMENT`` are
    reduced with ``ufunc.reduceat`` instead, so a heavily repeated index costs one call, not many.
    """
    m, q = values.shape
    out = xp.full((n, q), ufunc.identity, dtype=values.dtype)
    if m == 0:
        return out
    order, s, starts = sorted_runs(lin, n)
    counts = xp.diff(xp.append(starts, m))
    targets = s[starts]
    long = counts > LONG_SEGMENT
    if long.any():
        rows = xp.take(values, order[xp.repeat(long, counts)], axis=0)
        lc = counts[long]
        out[targets[long]] = ufunc.reduceat(rows, xp.cumsum(lc) - lc, axis=0)
        short = ~long
        starts, counts, targets = starts[short], counts[short], targets[short]
    out[targets] = xp.take(values, order[starts], axis=0)
    r = 1
    while True:
        more = counts > r
        starts, counts, targets = starts[more], counts[more], targets[more]
        if not len(starts):
            return out
        out[targets] = ufunc(out[targets], xp.take(values, order[starts + r], axis=0))
        r += 1


def stable_argsort(lin: np.ndarray, n: int) -> np.ndarray:
    """A stable argsort of integers in [0, n).

    NOTE: NumPy's stable sort is a radix sort (linear time) only for 8/16-bit integers, about 10x
    faster than its int64 merge sort; targets below 2**32 are sorted as two 16-bit digits.
    """
    if n <= 1 << 16:
        return xp.argsort(lin.astype(np.uint16), kind="stable")
    if n <= 1 << 32:
        low = xp.argsort((lin & 0xFFFF).astype(np.uint16), kind="stable")
        high = xp.argsort((lin[low] >> 16).astype(np.uint16), kind="stable")
        return low[high]
    return xp.argsort(lin, kind="stable")


def sorted_runs(key: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(order, sorted_key, starts)`` of a non-empty integer array with values in ``[0, n)``: the stable sort
    order, the keys in that order, and where each run of equal keys starts (the segments of a sorted segment
    sum).

    Example::

        >>> import numpy as np
        >>> sorted_runs(np.array([3, 1, 3]), 5)
        (array([1, 0, 2]), array([1, 3, 3]), array([0, 1]))
    """
    order = stable_argsort(key, n)
    s = key[order]
    first = xp.empty(s.shape[0], dtype=bool)
    first[0] = True
    xp.not_equal(s[1:], s[:-1], out=first[1:])
    return order, s, xp.flatnonzero(first)


def scatter_positions(idx: np.ndarray, dim: int, shape: tuple[int, ...]) -> np.ndarray:
    """Flat positions in a C-ordered ``shape`` array of ``out[i_0..index[i]..i_n]`` for every index entry."""
    strides = [1] * len(shape)
    for d in range(len(shape) - 2, -1, -1):
        strides[d] = strides[d + 1] * shape[d + 1]
    lin = idx * strides[dim]
    for d, size in enumerate(idx.shape):
        if d != dim and size > 1:
            lin += (xp.arange(size) * strides[d]).reshape((-1,) + (1,) * (idx.ndim - d - 1))
    return lin.ravel()


def scatter_reduce(x: np.ndarray, dim: int, idx: np.ndarray, src: np.ndarray,
                   ufunc: Callable | None = None) -> np.ndarray:
    """``ufunc``-combine (default: add) ``src`` (index-shaped) into ``x`` at the scatter positions."""
    src = xp.broadcast_to(src, idx.shape)
    seg = segment_sum(src.reshape(-1, 1), scatter_positions(idx, dim, x.shape), x.size, ufunc)
    return (ufunc or xp.add)(x, seg.reshape(x.shape))


# ---- sparse COO rows: coalescing and the scatter-add of a sparse update ------------------------------------
def coalesce_rows(key: np.ndarray, values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Sum the rows of ``values`` (nnz, ...) that share a ``key`` (nnz,) ints in [0, n): returns the sorted
    distinct keys and their summed rows, duplicates summed in their order of appearance (a sorted segment sum:
    a stable sort by key, then one ``add.reduceat``; no ``np.add.at``).

    Example::

        >>> import numpy as np
        >>> k, v = coalesce_rows(np.array([3, 1, 3]), np.array([[1.], [2.], [4.]]), 5)
        >>> k, v.ravel()
        (array([1, 3]), array([2., 5.]))
    """
    m = key.shape[0]
    if m == 0:
        return key.copy(), values.copy()
    order, sk, starts = sorted_runs(key, n)
    if values.ndim == 2 and jit.use(values) and values.flags.c_contiguous:
        out = xp.empty((starts.shape[0], values.shape[1]), dtype=values.dtype)
        _gather_segment_sums(values, order, starts, out)
        return sk[starts], out
    rows = xp.take(values, order, axis=0)
    if starts.shape[0] == m:  # no duplicates: the rows in key order
        return sk, rows
    return sk[starts], xp.add.reduceat(rows, starts, axis=0)


@jit.kernel()
def _gather_segment_sums(values, order, starts, out):
    """out[s] = the sum, in order, of values[order[starts[s]:starts[s + 1]]] (one pass, no gathered copy)."""
    m = order.shape[0]
    ns = starts.shape[0]
    q = values.shape[1]
    for s in range(ns):
        a = starts[s]
        b = starts[s + 1] if s + 1 < ns else m
        r = order[a]
        for j in range(q):
            out[s, j] = values[r, j]
        for i in range(a + 1, b):
            r = order[i]
            for j in range(q):
                out[s, j] += values[r, j]


def index_add_rows_(x: np.ndarray, idx: np.ndarray, values: np.ndarray, alpha: float = 1.0) -> None:
    """``x[idx[i]] += alpha * values[i]`` for every i, in place, repeated indices accumulating in order (what
    ``dense.add_(sparse, alpha)`` does): x (n, q), idx (m,) ints in [0, n), values (m, q).

    The compiled path is that loop (PyTorch's order of additions). The NumPy path sorts by index (stable) and adds
    the r-th row of every run of equal indices in pass r (the loop's order of additions) while no index repeats
    more than ``RANK_PASSES_MAX`` times; otherwise it sums each run first (``add.reduceat``) and adds the sums
    (``x + (a + b)`` instead of ``(x + a) + b``: equal to rounding).

    NOTE: compiled loop vs the NumPy passes, SGNS's output table (10k x 100 float32, 6,144 rows of which ~4,600
    distinct): see benchmarks/README.md (sgns_step) for the measured ratio.
    """
    m = idx.shape[0]
    if m == 0:
        return
    if jit.use(x, values) and x.flags.c_contiguous and x.ndim == 2 and values.dtype == x.dtype:
        # alpha as a scalar of the values' dtype: alpha * v rounds as NumPy's (float32 stays float32)
        _index_add_rows(x, idx, values, values.dtype.type(alpha))
        return
    if alpha != 1:
        values = values * xp.asarray(alpha, dtype=values.dtype)  # x + (alpha * v), as PyTorch's add_(sparse)
    order, s, starts = sorted_runs(idx, x.shape[0])
    if starts.shape[0] == m:  # distinct indices: one fancy add
        x[idx] += values
        return
    counts = xp.diff(xp.append(starts, m))
    targets = s[starts]
    if counts.max() > RANK_PASSES_MAX:  # a frequent index: sum each run first (one reduceat), then add once
        x[targets] += xp.add.reduceat(xp.take(values, order, axis=0), starts, axis=0)
        return
    r = 0
    while starts.shape[0]:
        x[targets] += xp.take(values, order[starts + r], axis=0)
        r += 1
        more = counts > r
        starts, counts, targets = starts[more], counts[more], targets[more]


@jit.kernel()
def _index_add_rows(x, idx, values, alpha):
    """x[idx[i]] += alpha * values[i], in order."""
    q = x.shape[1]
    if alpha == 1:
        for i in range(idx.shape[0]):
            r = idx[i]
            for j in range(q):
                x[r, j] += values[i, j]
    else:
        for i in range(idx.shape[0]):
            r = idx[i]
            for j in range(q):
                x[r, j] += alpha * values[i, j]
