"""Indexing: ``t[key]`` (basic and advanced), ``t[key] = v`` outside the graph, and the dim-wise
index ops (gather, scatter, scatter_add, index_select, index_add, masked_fill, masked_select,
take_along_dim, one_hot, nonzero).

``t[key]`` follows PyTorch, which differs from NumPy in one place: integers are applied first as
plain selections (views), so only index tensors/lists/masks are "advanced". The key is therefore
split in two steps: a *basic* NumPy key (ints, slices, None; every array replaced by ``:``) gives a
view ``v``, then an *advanced* key (``:`` plus the index arrays) is applied to ``v``. NumPy's rule
for where the broadcast index dims go (in place when the index arrays are adjacent, else in front)
is PyTorch's rule on ``v``.

Backward of advanced indexing is a scatter-add of the gradient. Duplicated indices must accumulate,
and ``np.add.at`` is slow, so the scatter is a segment sum (``nnzoo.kernels.index.segment_sum``:
``bincount`` on flat positions for narrow rows, a sort by target plus one vectorised add per duplicate
rank for wide rows). A boolean mask selects every position once, so its backward is a plain assignment.
"""
from __future__ import annotations

import math
import numbers
from collections import namedtuple
from typing import Any

import numpy as np

from .. import dtypes
from ..autograd.function import Op
from ..autograd.grad_mode import state
from ..backend import xp
from ..kernels.index import scatter_positions, segment_sum
from ..kernels.index import scatter_reduce as _scatter_kernel
from ..tensor import Tensor, _wrap_dim
from . import arith as _arith
from . import reduce as _reduce
from . import shape as _shape

_make = Tensor._make

__all__ = ["gather", "scatter", "scatter_add", "index_select", "index_add", "masked_fill",
           "masked_select", "take_along_dim", "one_hot", "nonzero", "argwhere",
           "index_copy", "index_fill", "scatter_reduce", "take", "repeat_interleave", "diag_embed", "diag",
           "diagflat", "trace", "tril_indices", "triu_indices", "rot90", "count_nonzero", "bincount", "nansum",
           "nanmean", "median", "cummax", "cummin"]


# ================================================================================================
# t[key]: parsing a PyTorch key
# ================================================================================================
_BASIC_TYPES = (int, slice, type(None), type(Ellipsis))


def _is_basic(key):
    """Only ints, slices, None and Ellipsis: NumPy's basic indexing is PyTorch's (a view)."""
    if type(key) is tuple:
        for k in key:
            if type(k) not in _BASIC_TYPES:
                return False
        return True
    return type(key) in _BASIC_TYPES


def _check_steps(key):
    for k in key if type(key) is tuple else (key,):
        if type(k) is slice and k.step is not None and k.step <= 0:
            raise ValueError("step must be greater than zero")


def _items(key):
    """The key as a tuple. A short list holding sequences, slices, None or ... is a tuple (PyTorch)."""
    if isinstance(key, tuple):
        return key
    if isinstance(key, list) and len(key) < 32:
        for k in key:
            if isinstance(k, (Tensor, list, tuple, np.ndarray, slice)) or k is None or k is Ellipsis:
                return tuple(key)
    return (key,)


def _index_array(k):
    """An index item that is neither int, slice, None nor ... as an integer or boolean array."""
    if isinstance(k, Tensor):
        arr = k._data
    elif isinstance(k, np.ndarray):
        arr = k
    elif isinstance(k, (list, tuple)):
        arr = xp.asarray([x._data if isinstance(x, Tensor) else x for x in k])
        if arr.size == 0:
            arr = arr.astype(np.int64)
    else:
        raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or byte tensors "
                         f"are valid indices (got {type(k).__name__})")
    if arr.dtype == np.uint8:  # PyTorch's deprecated byte masks
        arr = arr.astype(bool)
    if arr.dtype.kind not in "biu":
        raise IndexError(f"tensors used as indices must be long, int, byte or bool tensors (got {arr.dtype})")
    return arr


def _checked_index(arr, size, dim):
    """An integer index array for a dim of ``size`` with its negative entries wrapped."""
    arr = arr.astype(xp.intp, copy=False)
    if arr.size:
        lo, hi = int(arr.min()), int(arr.max())
        if hi >= size or lo < -size:
            raise IndexError(f"index {hi if hi >= size else lo} is out of bounds for dimension {dim} "
                             f"with size {size}")
        if lo < 0:
            arr = xp.where(arr < 0, arr + size, arr)
    return arr


class _Key:
    """A parsed key with index arrays or masks (see the module docstring).

    ``basic``: NumPy key giving the view ``v``; ``adv``: NumPy key applied to ``v``; ``axes``/``arrays``:
    the axes of ``v`` that are indexed and their integer index arrays (non-negative), or ``mask`` when
    the only advanced item is one boolean mask (then every position is selected at most once).
    """

    __slots__ = ("basic", "identity", "adv", "axes", "arrays", "mask", "vshape")

    def take(self, x):
        v = x if self.identity else x[self.basic]
        if self.mask is None and len(self.arrays) == 1:
            return xp.take(v, self.arrays[0], axis=self.axes[0])
        return v[self.adv]

    def scatter_add(self, grad, shape):
        """The adjoint of ``take``: zeros of ``shape`` with ``grad`` added at the indexed positions."""
        if self.mask is not None:
            out = xp.zeros(shape, dtype=grad.dtype)
            (out if self.identity else out[self.basic])[self.adv] = grad
            return out
        vshape, axes, k = self.vshape, self.axes, len(self.axes)
        dims = tuple(vshape[a] for a in axes)
        if k == 1:
            lin = self.arrays[0].ravel()
        else:
            lin = xp.ravel_multi_index(xp.broadcast_arrays(*self.arrays), dims).ravel()
        n, m = math.prod(dims), lin.size
        in_place = axes == list(range(axes[0], axes[0] + k))
        if in_place:  # the index dims replaced the indexed axes: grad is (pre, index dims, post)
            pre, post = vshape[:axes[0]], vshape[axes[-1] + 1:]
        else:  # the index dims came first: grad is (index dims, the other axes)
            pre, post = (), tuple(s for i, s in enumerate(vshape) if i not in axes)
        p, q = math.prod(pre), math.prod(post)
        if p > 1:  # one segment sum over (pre, indexed) rows: row i of block b goes to b * n + lin[i]
            lin = (xp.arange(p)[:, None] * n + lin).ravel()
        gv = segment_sum(grad.reshape(p * m, q), lin, p * n)
        if in_place:
            gv = gv.reshape(vshape)
        else:
            gv = xp.moveaxis(gv.reshape(dims + post), tuple(range(k)), axes)
        if self.identity:
            return gv
        out = xp.zeros(shape, dtype=grad.dtype)
        out[self.basic] = gv
        return out


def _parse(shape, key):
    """Check a PyTorch key against ``shape``; returns a basic NumPy key or a :class:`_Key`."""
    items = []
    used, ellipsis = 0, False
    for k in _items(key):
        if k is None or isinstance(k, slice):
            if isinstance(k, slice) and k.step is not None and k.step.__index__() <= 0:
                raise ValueError("step must be greater than zero")
            used += k is not None
            items.append(("basic", k))
        elif k is Ellipsis:
            if ellipsis:
                raise IndexError("an index can only have a single ellipsis ('...')")
            ellipsis = True
            items.append(("...", k))
        elif isinstance(k, (bool, np.bool_)):
            items.append(("bool", bool(k)))
        elif isinstance(k, numbers.Integral):
            used += 1
            items.append(("int", int(k)))
        else:
            arr = _index_array(k)
            if arr.ndim == 0:
                if arr.dtype == bool:
                    items.append(("bool", bool(arr)))
                else:  # PyTorch treats a 0-d integer tensor as an int (a view)
                    used += 1
                    items.append(("int", int(arr)))
            else:
                used += arr.ndim if arr.dtype == bool else 1
                items.append(("mask" if arr.dtype == bool else "array", arr))
    ndim = len(shape)
    if used > ndim:
        raise IndexError(f"too many indices for tensor of dimension {ndim} (shape {tuple(shape)})")

    basic, adv = [], []  # adv: (axis of v, kind, array)
    d = a = 0  # the next dim of the tensor, the next axis of the view v
    for kind, k in items:
        if kind == "basic":
            basic.append(k)
            if k is None:
                a += 1
            else:
                d, a = d + 1, a + 1
        elif kind == "...":
            fill = ndim - used
            basic.extend([slice(None)] * fill)
            d, a = d + fill, a + fill
        elif kind == "int":
            if not -shape[d] <= k < shape[d]:
                raise IndexError(f"index {k} is out of bounds for dimension {d} with size {shape[d]}")
            basic.append(k)
            d += 1
        elif kind == "bool":  # a new axis of size 1, indexed by [0] (True) or [] (False), as in PyTorch
            basic.append(None)
            adv.append((a, "array", xp.zeros(1 if k else 0, dtype=xp.intp)))
            a += 1
        elif kind == "array":
            basic.append(slice(None))
            adv.append((a, "array", _checked_index(k, shape[d], d)))
            d, a = d + 1, a + 1
        else:  # mask
            r = k.ndim
            for j in range(r):
                if k.shape[j] != shape[d + j]:
                    raise IndexError(f"The shape of the mask {list(k.shape)} at index {j} does not match "
                                     f"the shape of the indexed tensor {list(shape)} at index {d + j}")
            basic.extend([slice(None)] * r)
            adv.append((a, "mask", k))
            d, a = d + r, a + r
    basic = tuple(basic)
    if not adv:
        return basic

    plan = _Key()
    plan.basic = basic
    plan.identity = all(type(b) is slice and b == slice(None) for b in basic)
    # host: the view's shape, read off a one-byte array broadcast to the tensor's shape
    plan.vshape = np.broadcast_to(np.empty((), dtype=np.int8), shape)[basic].shape
    if len(adv) == 1 and adv[0][1] == "mask":
        a0, _, mask = adv[0]
        plan.mask, plan.axes, plan.arrays = mask, list(range(a0, a0 + mask.ndim)), []
        plan.adv = (slice(None),) * a0 + (mask,)
        return plan
    axes, arrays = [], []
    for a0, kind, arr in adv:
        if kind == "mask":
            nz = xp.nonzero(arr)
            axes.extend(range(a0, a0 + arr.ndim))
            arrays.extend(nz)
        else:
            axes.append(a0)
            arrays.append(arr)
    try:
        xp.broadcast_shapes(*(x.shape for x in arrays))
    except ValueError:
        raise IndexError("shape mismatch: indexing tensors could not be broadcast together with shapes "
                         + ", ".join(str(list(x.shape)) for x in arrays)) from None
    plan.mask, plan.axes, plan.arrays = None, axes, arrays
    adv_key = [slice(None)] * (axes[-1] + 1)
    for ax, arr in zip(axes, arrays):
        adv_key[ax] = arr
    plan.adv = tuple(adv_key)
    return plan


# ================================================================================================
# t[key]: the ops
# ================================================================================================
class GetItem(Op):
    """``x[key]`` with a basic key (ints, slices, None, ...): a view; backward writes grad into zeros."""

    is_view = True

    @staticmethod
    def forward(ctx, x, key):
        ctx.shape, ctx.key = x.shape, key
        out = x[key]
        if type(out) is not np.ndarray:  # all ints: NumPy gives a scalar; ask for a 0-d view instead
            out = x[(*key, Ellipsis) if type(key) is tuple else (key, Ellipsis)]
        return out

    @staticmethod
    def backward(ctx, grad):
        return GetItemBackward.apply(grad, ctx.key, ctx.shape), None


class GetItemBackward(Op):
    """zeros(shape) with ``grad`` at ``key``; its own backward is ``grad[key]`` again."""

    @staticmethod
    def forward(ctx, grad, key, shape):
        ctx.key = key
        out = xp.zeros(shape, dtype=grad.dtype)
        out[key] = grad
        return out

    @staticmethod
    def backward(ctx, grad):
        return GetItem.apply(grad, ctx.key), None, None


class Index(Op):
    """``x[key]`` with index arrays or masks (a copy): ``out = v[adv]`` with ``v = x[basic]``.

    Backward: ``dx = zeros; dx[key] += grad`` with duplicates accumulating (a segment sum).
    """

    @staticmethod
    def forward(ctx, x, plan):
        ctx.shape, ctx.plan = x.shape, plan
        return plan.take(x)

    @staticmethod
    def backward(ctx, grad):
        return IndexBackward.apply(grad, ctx.plan, ctx.shape), None


class IndexBackward(Op):
    """Scatter-add of ``grad`` into zeros at an advanced key; its own backward is indexing again."""

    @staticmethod
    def forward(ctx, grad, plan, shape):
        ctx.plan = plan
        return plan.scatter_add(grad, shape)

    @staticmethod
    def backward(ctx, grad):
        return Index.apply(grad, ctx.plan), None, None


def getitem(input: Tensor, key: Any) -> Tensor:
    """``input[key]``: ints, slices (step > 0), None, ..., index tensors/lists (broadcast together), masks.

    Basic keys give views; index tensors and masks give copies, as in PyTorch.
    """
    if _is_basic(key):
        _check_steps(key)
        try:
            return GetItem.apply(input, key)
        except IndexError:
            _parse(input._data.shape, key)  # raises the PyTorch-style message
            raise
    plan = _parse(input._data.shape, key)
    if type(plan) is tuple:
        return GetItem.apply(input, plan)
    return Index.apply(input, plan)


def setitem(input: Tensor, key: Any, value: Any) -> None:
    """``input[key] = value`` in place (value: a number, array or tensor, broadcast to the selection).

    Outside the graph the values are written directly. Inside it (``input`` or ``value`` requires
    grad, grad mode on) the assignment is recorded like PyTorch's: ``input`` takes an ``IndexPut``
    node as its new history (gradient zero at the overwritten places; ``value`` gets the gradient of
    the selection). Bumps the version counter, so a backward that saved ``input`` raises.
    """
    is_tensor = isinstance(value, Tensor)
    if state.enabled and (input.requires_grad or (is_tensor and value.requires_grad)):
        if is_tensor and value._data.dtype != input._data.dtype:
            value = value.to(input.dtype)
        input._inplace("setitem", lambda t: IndexPut.apply(t, key, value))
        return
    _assign(input._data, input.dtype, key, value._data if is_tensor else value, is_tensor)
    input._vc[0] += 1


class IndexPut(Op):
    """out = x with out[key] = v.  dx = grad with zeros at key;  dv = grad[key], summed to v's shape."""

    @staticmethod
    def forward(ctx, x, key, v):
        ctx.key, ctx.vshape = key, xp.shape(v)
        out = x.copy()
        _assign(out, dtypes.from_numpy(x.dtype), key, v, False)
        return out

    @staticmethod
    def backward(ctx, grad):
        gx = IndexPut.apply(grad, ctx.key, 0.0) if ctx.needs_input_grad[0] else None
        gv = None
        if ctx.needs_input_grad[2]:
            from .reduce import sum_to
            gv = sum_to(getitem(grad, ctx.key), ctx.vshape)
        return gx, None, gv


def _assign(data, dtype, key, val, from_tensor):
    """``data[key] = val`` with PyTorch's indexing rules and error messages."""
    if _is_basic(key):
        _check_steps(key)
        target, k = data, key
    else:
        plan = _parse(data.shape, key)
        if type(plan) is tuple:
            target, k = data, plan
        else:
            if from_tensor and val.dtype != data.dtype:
                raise RuntimeError(f"setitem: index put requires the source and destination dtypes match, got "
                                   f"{dtype} for the destination and {dtypes.from_numpy(val.dtype)} for the "
                                   "source")
            target, k = (data if plan.identity else data[plan.basic]), plan.adv
    try:
        target[k] = val
    except IndexError:
        _parse(data.shape, key)
        raise
    except ValueError as e:
        if not data.flags.writeable:
            raise RuntimeError("setitem: unsupported operation: more than one element of the written-to "
                               "tensor refers to a single memory location (an expanded tensor); clone() "
                               "it first") from None
        raise RuntimeError(f"setitem: value of shape {tuple(xp.shape(val))} can't be assigned to the "
                           f"selection {target[k].shape} of a tensor of shape {tuple(data.shape)}: {e}") \
            from None


# ================================================================================================
# gather / scatter family
# ================================================================================================
def _int_index(index, op):
    arr = index._data if isinstance(index, Tensor) else xp.asarray(index)
    if arr.dtype.kind not in "iu" or arr.dtype == np.uint8:
        raise RuntimeError(f"{op}(): Expected dtype int32/int64 for index, got {arr.dtype}")
    return arr.astype(xp.intp, copy=False)


def _check_dim_index(op, input, dim, index, src=None):
    """Validate (input, dim, index[, src]) the way gather/scatter need; returns (dim, index array).

    index has input's number of dims, ``index.size(d) <= input.size(d)`` for ``d != dim``, its
    values lie in ``[0, input.size(dim))``, and (scatter) ``index.size(d) <= src.size(d)``.
    """
    shape = input._data.shape
    ndim = len(shape)
    dim = _wrap_dim(dim, ndim, op)
    idx = _int_index(index, op)
    if idx.ndim != ndim and max(idx.ndim, ndim) > 1:
        raise RuntimeError(f"{op}(): index tensor must have the same number of dimensions as input tensor, "
                           f"got index of shape {tuple(idx.shape)} and input of shape {tuple(shape)}")
    sshape = None if src is None else src._data.shape
    if sshape is not None and len(sshape) != idx.ndim and max(idx.ndim, len(sshape)) > 1:
        raise RuntimeError(f"{op}(): index tensor must have the same number of dimensions as src tensor, "
                           f"got index of shape {tuple(idx.shape)} and src of shape {tuple(sshape)}")
    ishape, xshape = idx.shape or (1,), shape or (1,)
    if any(i > s for d, (i, s) in enumerate(zip(ishape, xshape)) if d != dim) or \
            (sshape is not None and any(i > s for i, s in zip(ishape, sshape or (1,)))):
        more = "" if sshape is None else f" and to be no larger than src {tuple(sshape)}"
        raise RuntimeError(f"{op}(): expected index {tuple(idx.shape)} to be no larger than input "
                           f"{tuple(shape)} apart from dimension {dim}{more}")
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        n = xshape[dim]
        if lo < 0 or hi >= n:
            raise RuntimeError(f"{op}(): index {lo if lo < 0 else hi} is out of bounds for dimension {dim} "
                               f"with size {n}")
    return dim, idx


def _region(shape):
    """The slices selecting the leading ``shape`` block of a bigger array."""
    return tuple(slice(0, s) for s in shape)


def _row_pick(shape, dim, idx):
    """A 2-D gather along dim 1 whose index covers every row: x[i, idx[i, j]]."""
    return len(shape) == 2 and dim == 1 and idx.ndim == 2 and idx.shape[0] == shape[0]


def _rows(n):
    return xp.arange(n)[:, None]


def _fibres(idx_shape, dim):
    """The block of the input that an index of ``idx_shape`` addresses: all of ``dim``, the leading
    ``idx_shape[d]`` entries of every other dim."""
    return tuple(slice(None) if d == dim else slice(0, s) for d, s in enumerate(idx_shape))


class Gather(Op):
    """``out[i][j][k] = x[index[i][j][k]][j][k]`` (dim 0). Backward: scatter-add grad at index."""

    @staticmethod
    def forward(ctx, x, dim, idx):
        ctx.shape, ctx.dim, ctx.idx = x.shape, dim, idx
        if _row_pick(x.shape, dim, idx):  # NOTE: the cross-entropy pattern, as one fancy index (~3x faster)
            return x[_rows(idx.shape[0]), idx]
        return xp.take_along_axis(x[_fibres(idx.shape, dim)], idx, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        return GatherBackward.apply(grad, ctx.dim, ctx.idx, ctx.shape), None, None


class GatherBackward(Op):
    """zeros(shape) with ``grad`` added at the gathered positions; its backward is gather again."""

    @staticmethod
    def forward(ctx, grad, dim, idx, shape):
        ctx.dim, ctx.idx = dim, idx
        if idx.shape[dim] == 1 and _row_pick(shape, dim, idx):
            out = xp.zeros(shape, dtype=grad.dtype)
            out[_rows(idx.shape[0]), idx] = grad
            return out
        if idx.shape[dim] == 1:  # one entry per fibre: targets are distinct, assignment is exact
            out = xp.zeros(shape, dtype=grad.dtype)
            xp.put_along_axis(out[_fibres(idx.shape, dim)], idx, grad, axis=dim)
            return out
        lin = scatter_positions(idx, dim, shape)
        return segment_sum(xp.broadcast_to(grad, idx.shape).reshape(-1, 1), lin, math.prod(shape)).reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return Gather.apply(grad, ctx.dim, ctx.idx), None, None, None


def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:
    """``out[i][j][k] = input[index[i][j][k]][j][k]`` along ``dim`` (here 0); out has index's shape.

    Args:
        input: the source tensor.
        dim: the dim to index along.
        index: int64/int32 tensor with input's number of dims, ``index.size(d) <= input.size(d)``
            for ``d != dim``.

    Example::

        >>> nnzoo.gather(nnzoo.tensor([[1., 2.], [3., 4.]]), 1, nnzoo.tensor([[0, 0], [1, 0]]))
        tensor([[1., 1.],
                [4., 3.]])
    """
    dim, idx = _check_dim_index("gather", input, dim, index)
    if input._data.ndim == 0 or idx.ndim == 0:
        out = Gather.apply(input.reshape(-1), 0, idx.reshape(-1))
        return out.reshape(idx.shape)
    return Gather.apply(input, dim, idx)


class Scatter(Op):
    """``out = x`` with ``out[index[i][j]][j] = src[i][j]`` (dim 0); src is an array or a scalar.

    Backward: the gradient of x is grad with the overwritten positions zeroed; that of src is
    ``grad.gather(dim, index)`` (zero outside index's block when src is bigger).
    """

    @staticmethod
    def forward(ctx, x, dim, idx, src):
        ctx.dim, ctx.idx = dim, idx
        ctx.src_shape = src.shape if isinstance(src, np.ndarray) else None
        out = x.copy()
        val = src[_region(idx.shape)] if isinstance(src, np.ndarray) else src
        xp.put_along_axis(out[_fibres(idx.shape, dim)], idx, val, axis=dim)
        return out

    @staticmethod
    def backward(ctx, grad):
        gx = Scatter.apply(grad, ctx.dim, ctx.idx, 0) if ctx.needs_input_grad[0] else None
        gs = None
        if ctx.src_shape is not None and ctx.needs_input_grad[3]:
            gs = _pad_to(Gather.apply(grad, ctx.dim, ctx.idx), ctx.src_shape)
        return gx, None, None, gs


class ScatterAdd(Op):
    """``out = x`` with ``out[index[i][j]][j] += src[i][j]`` (dim 0), duplicates accumulating.

    Backward: x gets grad unchanged; src gets ``grad.gather(dim, index)`` (zero-padded to src's shape).
    """

    @staticmethod
    def forward(ctx, x, dim, idx, src):
        ctx.dim, ctx.idx, ctx.src_shape = dim, idx, src.shape
        return _scatter_kernel(x, dim, idx, src[_region(idx.shape)])

    @staticmethod
    def backward(ctx, grad):
        gs = _pad_to(Gather.apply(grad, ctx.dim, ctx.idx), ctx.src_shape) if ctx.needs_input_grad[3] else None
        return grad, None, None, gs


class ScatterReduce(Op):
    """``scatter(..., reduce='add'|'multiply')``; like PyTorch, it has no derivative."""

    @staticmethod
    def forward(ctx, x, dim, idx, src, ufunc):
        ctx.reduce = ufunc.__name__
        if isinstance(src, np.ndarray):
            src = src[_region(idx.shape)]
        return _scatter_kernel(x, dim, idx, xp.asarray(src, dtype=x.dtype), ufunc)

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError(f"scatter: the derivative of scatter with reduce ({ctx.reduce}) is not implemented "
                           "(as in PyTorch); use scatter_add, which is differentiable")


def _pad_to(g, shape):
    """``g`` placed in the leading block of zeros of ``shape`` (identity when the shapes agree)."""
    if tuple(g.shape) == tuple(shape):
        return g
    return GetItemBackward.apply(g, _region(g.shape), shape)


def _scatter_src(op, input, src):
    if src._data.dtype != input._data.dtype:
        raise RuntimeError(f"{op}(): expected src dtype {src.dtype} to be equal to input dtype {input.dtype}")
    return src


def scatter(input: Tensor, dim: int, index: Tensor, src: Tensor | float | None = None, *, value: float | None = None,
            reduce: str | None = None) -> Tensor:
    """Out-of-place ``input.scatter_``: ``out[index[i][j]][j] = src[i][j]`` along ``dim`` (here 0).

    Args:
        src: tensor of input's dtype with ``index.size(d) <= src.size(d)``, or a number (then = value).
        value: a number written at every index position (instead of src).
        reduce: None, ``'add'`` or ``'multiply'`` to combine with the existing values (no gradient).

    Example::

        >>> nnzoo.scatter(nnzoo.zeros(2, 3), 1, nnzoo.tensor([[2], [0]]), value=1.0)
        tensor([[0., 0., 1.],
                [1., 0., 0.]])
    """
    if src is not None and not isinstance(src, Tensor):
        src, value = None, src
    if (src is None) == (value is None):
        raise TypeError("scatter(): give exactly one of src (a tensor) and value (a number)")
    if reduce not in (None, "add", "multiply"):
        raise RuntimeError(f"scatter(): reduce argument must be either add or multiply, got {reduce!r}")
    dim, idx = _check_dim_index("scatter", input, dim, index, src)
    if src is not None:
        _scatter_src("scatter", input, src)
    flat = input._data.ndim == 0
    x = input.reshape(1) if flat else input
    if flat or idx.ndim == 0:
        idx = idx.reshape(-1)
        if src is not None and src._data.ndim == 0:
            src = src.reshape(1)
    if value is not None:
        value = value._data if isinstance(value, Tensor) else value
        value = x._data.dtype.type(value)  # a NumPy scalar (not an array: Scatter tells them apart)
    if reduce is not None:
        out = ScatterReduce.apply(x, dim, idx, value if src is None else src,
                                  xp.add if reduce == "add" else xp.multiply)
    else:
        out = Scatter.apply(x, dim, idx, value if src is None else src)
    return out.reshape(()) if flat else out


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """Out-of-place ``input.scatter_add_``: ``out[index[i][j]][j] += src[i][j]`` (dim 0), duplicates add up.

    Example::

        >>> nnzoo.scatter_add(nnzoo.zeros(3), 0, nnzoo.tensor([0, 2, 0]), nnzoo.tensor([1., 2., 3.]))
        tensor([4., 0., 2.])
    """
    dim, idx = _check_dim_index("scatter_add", input, dim, index, src)
    _scatter_src("scatter_add", input, src)
    if input._data.ndim == 0 or idx.ndim == 0:
        out = ScatterAdd.apply(input.reshape(-1), 0, idx.reshape(-1), src.reshape(-1))
        return out.reshape(input.shape)
    return ScatterAdd.apply(input, dim, idx, src)


# ================================================================================================
# index_select / index_add
# ================================================================================================
def _vector_index(op, input, dim, index):
    shape = input._data.shape
    dim = _wrap_dim(dim, len(shape), op)
    idx = _int_index(index, op)
    if idx.ndim > 1:
        raise IndexError(f"{op}(): index is supposed to be a vector, got index of shape {tuple(idx.shape)}")
    idx = idx.reshape(-1)
    n = shape[dim] if shape else 1
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        bad = int(idx.min()) if idx.min() < 0 else int(idx.max())
        raise RuntimeError(f"{op}(): index {bad} is out of bounds for dimension {dim} with size {n} "
                           f"(input of shape {tuple(shape)})")
    return dim, idx


def _dim_key(shape, dim, idx):
    """The :class:`_Key` of ``x[:, ..., idx]`` with ``idx`` on ``dim`` (already checked)."""
    return _parse(shape, (slice(None),) * dim + (idx,))


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """The entries of ``input`` at positions ``index`` (a vector) along ``dim``.

    Example::

        >>> nnzoo.index_select(nnzoo.tensor([[1., 2., 3.]]), 1, nnzoo.tensor([2, 0]))
        tensor([[3., 1.]])
    """
    dim, idx = _vector_index("index_select", input, dim, index)
    if input._data.ndim == 0:
        return Index.apply(input.reshape(1), _dim_key((1,), 0, idx)).reshape(())
    return Index.apply(input, _dim_key(input._data.shape, dim, idx))


class IndexAdd(Op):
    """``out = x`` with ``out[..., index[i], ...] += alpha * src[..., i, ...]`` along one dim.

    Backward: x gets grad; src gets ``alpha * grad.index_select(dim, index)``.
    """

    @staticmethod
    def forward(ctx, x, src, plan, alpha):
        ctx.plan, ctx.alpha = plan, alpha
        if alpha != 1:
            src = src * xp.asarray(alpha, dtype=src.dtype)
        return x + plan.scatter_add(src, x.shape)

    @staticmethod
    def backward(ctx, grad):
        gs = None
        if ctx.needs_input_grad[1]:
            gs = Index.apply(grad, ctx.plan)
            if ctx.alpha != 1:
                gs = gs * ctx.alpha
        return grad, gs, None, None


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha: float = 1) -> Tensor:
    """Out-of-place ``input.index_add_``: adds ``alpha * source`` slices at ``index`` along ``dim``.

    Example::

        >>> nnzoo.index_add(nnzoo.zeros(3), 0, nnzoo.tensor([0, 0, 2]), nnzoo.tensor([1., 2., 3.]))
        tensor([3., 0., 3.])
    """
    dim, idx = _vector_index("index_add", input, dim, index)
    shape, sshape = tuple(input._data.shape), tuple(source._data.shape)
    if input._data.ndim == 0:
        return index_add(input.reshape(1), 0, idx, source.reshape(-1), alpha=alpha).reshape(())
    if len(sshape) != len(shape) or any(a != b for d, (a, b) in enumerate(zip(shape, sshape)) if d != dim) \
            or sshape[dim] != idx.size:
        raise RuntimeError(f"index_add(): source of shape {sshape} does not fit input of shape {shape} with "
                           f"{idx.size} indices along dim {dim} (source.size(dim) must be the number of "
                           "indices, the other sizes must match)")
    if source._data.dtype != input._data.dtype:
        raise RuntimeError(f"index_add(): input ({input.dtype}) and source ({source.dtype}) must have the "
                           "same dtype")
    return IndexAdd.apply(input, source, _dim_key(shape, dim, idx), alpha)


# ================================================================================================
# masks
# ================================================================================================
def _bool_mask(op, mask):
    arr = mask._data if isinstance(mask, Tensor) else xp.asarray(mask)
    if arr.dtype != np.bool_:
        raise RuntimeError(f"{op}: only boolean masks are supported, but got mask with dtype {arr.dtype}")
    return arr


def _broadcast(op, a, b, what=("input", "mask")):
    try:
        return xp.broadcast_shapes(a, b)
    except ValueError:
        raise RuntimeError(f"{op}: {what[0]} of shape {tuple(a)} and {what[1]} of shape {tuple(b)} are not "
                           "broadcastable") from None


class MaskedFill(Op):
    """``out = value where mask else x`` (broadcast). Backward: x gets grad where not mask, value the
    sum of grad where mask."""

    @staticmethod
    def forward(ctx, x, mask, value):
        ctx.shape, ctx.mask = x.shape, mask
        ctx.value_dtype = value.dtype if isinstance(value, np.ndarray) else None
        return xp.where(mask, xp.asarray(value, dtype=x.dtype), x)

    @staticmethod
    def backward(ctx, grad):
        zero = _make(xp.zeros((), dtype=grad._data.dtype))
        mask = _make(ctx.mask)
        gx = _reduce.sum_to(_arith.where(mask, zero, grad), ctx.shape) if ctx.needs_input_grad[0] else None
        gv = None
        if ctx.value_dtype is not None and ctx.needs_input_grad[2]:
            gv = _reduce.sum(_arith.where(mask, grad, zero))
            if gv._data.dtype != ctx.value_dtype:
                gv = gv.to(dtypes.from_numpy(ctx.value_dtype))
        return gx, None, gv


def masked_fill(input: Tensor, mask: Tensor, value: float | Tensor) -> Tensor:
    """``value`` where ``mask`` is True, ``input`` elsewhere; mask broadcasts (value: number or 0-d tensor).

    Example::

        >>> nnzoo.masked_fill(nnzoo.tensor([1., 2., 3.]), nnzoo.tensor([True, False, True]), 0.0)
        tensor([0., 2., 0.])
    """
    m = _bool_mask("masked_fill", mask)
    _broadcast("masked_fill", input._data.shape, m.shape)
    if isinstance(value, Tensor):
        if value._data.ndim != 0:
            raise RuntimeError(f"masked_fill: only supports a 0-dimensional value tensor, but got a tensor of "
                               f"shape {tuple(value.shape)}")
        if not value.requires_grad or not state.enabled:
            value = value._data
    elif not isinstance(value, (numbers.Number, np.generic)):
        raise TypeError(f"masked_fill: value must be a number or a 0-d tensor, got {type(value).__name__}")
    dt = input._data.dtype
    if dt.kind in "iu":  # as PyTorch: a float value is truncated, but one out of the integer range is refused
        v = value._data if isinstance(value, Tensor) else value
        # host: the kind of one scalar value
        if np.asarray(v).dtype.kind == "f" and not (np.iinfo(dt).min <= float(v) <= np.iinfo(dt).max):
            raise RuntimeError(f"masked_fill: value {float(v)} cannot be converted to type {dt} without overflow")
    return MaskedFill.apply(input, m, value)


def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """The entries of ``input`` where ``mask`` is True as a 1-D tensor (input and mask broadcast).

    Example::

        >>> nnzoo.masked_select(nnzoo.tensor([[1., 2.], [3., 4.]]), nnzoo.tensor([True, False]))
        tensor([1., 3.])
    """
    m = _bool_mask("masked_select", mask)
    shape = _broadcast("masked_select", input._data.shape, m.shape)
    x = input if tuple(input._data.shape) == shape else _shape.expand(input, *shape)
    return Index.apply(x, _parse(shape, (xp.broadcast_to(m, shape),)))


def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    """``gather`` with broadcasting: input and indices broadcast over every dim but ``dim``;
    ``dim=None`` indexes the flattened input with the flattened indices.

    Example::

        >>> x = nnzoo.tensor([[10., 30., 20.], [60., 40., 50.]])
        >>> nnzoo.take_along_dim(x, x.argmax(1, keepdim=True), 1)
        tensor([[30.],
                [60.]])
    """
    idx = _int_index(indices, "take_along_dim")
    if dim is None:
        return gather(input.reshape(-1), 0, idx.reshape(-1))
    shape = tuple(input._data.shape)
    if idx.ndim != len(shape):
        raise RuntimeError(f"take_along_dim(): input and indices should have the same number of dimensions, "
                           f"got input of shape {shape} and indices of shape {tuple(idx.shape)}")
    dim = _wrap_dim(dim, len(shape), "take_along_dim")
    s1, s2 = list(shape), list(idx.shape)
    s1[dim] = s2[dim] = 1
    common = list(_broadcast("take_along_dim", tuple(s1), tuple(s2), ("input", "indices")))
    common[dim] = idx.shape[dim]
    idx = xp.broadcast_to(idx, common)
    common[dim] = shape[dim]
    x = input if tuple(common) == shape else _shape.expand(input, *common)
    return gather(x, dim, idx)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """``out[..., c] = 1 if tensor[...] == c else 0`` (int64, shape ``tensor.shape + (num_classes,)``);
    ``num_classes=-1`` takes ``tensor.max() + 1`` (``torch.nn.functional.one_hot``).

    Example::

        >>> one_hot(nnzoo.tensor([0, 2]), 3)
        tensor([[1, 0, 0],
                [0, 0, 1]])
    """
    arr = tensor._data if isinstance(tensor, Tensor) else xp.asarray(tensor)
    if arr.dtype != np.int64:
        raise RuntimeError(f"one_hot is only applicable to index tensor of type LongTensor (int64), got {arr.dtype}")
    if num_classes == -1:
        if arr.size == 0:
            raise RuntimeError("one_hot: can not infer total number of classes from an empty tensor")
        num_classes = int(arr.max()) + 1
    if arr.size:
        if arr.min() < 0:
            raise RuntimeError(f"one_hot: class values must be non-negative, got {int(arr.min())}")
        if arr.max() >= num_classes:
            raise RuntimeError(f"one_hot: class values must be smaller than num_classes ({num_classes}), "
                               f"got {int(arr.max())}")
    return _make((arr[..., None] == xp.arange(num_classes)).astype(np.int64))


def nonzero(input: Tensor, *, as_tuple: bool = False) -> Tensor | tuple[Tensor, ...]:
    """The indices of the non-zero entries: an (n, ndim) int64 tensor, or with ``as_tuple`` one 1-D
    tensor per dim (not differentiable).

    Example::

        >>> nnzoo.nonzero(nnzoo.tensor([[0., 1.], [2., 0.]]))
        tensor([[0, 1],
                [1, 0]])
    """
    arr = input._data
    if as_tuple:
        if arr.ndim == 0:
            return (_make(xp.flatnonzero(arr.reshape(1)).astype(np.int64)),)
        return tuple(_make(i.astype(np.int64, copy=False)) for i in xp.nonzero(arr))
    return _make(xp.argwhere(arr).astype(np.int64, copy=False))


def argwhere(input: Tensor) -> Tensor:
    """``nonzero(input)``: the (n, ndim) indices of the non-zero entries."""
    return nonzero(input)


# ================================================================================================
# more dim-wise index ops (issue 15): index_copy, index_fill, scatter_reduce, take, repeat_interleave
# ================================================================================================
def _along(idx, dim, shape):
    """The vector ``idx`` as a gather/scatter index of ``shape`` (``shape[dim] == idx.size``): idx on ``dim``,
    broadcast along every other dim."""
    view = [1] * len(shape)
    view[dim] = idx.size
    return xp.broadcast_to(idx.reshape(view), shape)


def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """Out-of-place ``input.index_copy_``: the slices of ``input`` at ``index`` along ``dim`` replaced by those of
    ``source`` (``source.size(dim) == len(index)``). Gradients: input's is zero at the replaced slices; source's
    is the gradient at them.

    Example::

        >>> nnzoo.index_copy(nnzoo.zeros(3, 2), 0, nnzoo.tensor([2, 0]), nnzoo.tensor([[1., 2.], [3., 4.]]))
        tensor([[3., 4.],
                [0., 0.],
                [1., 2.]])
    """
    dim, idx = _vector_index("index_copy", input, dim, index)
    shape, sshape = tuple(input._data.shape), tuple(source._data.shape)
    if input._data.ndim == 0:
        return index_copy(input.reshape(1), 0, idx, source.reshape(-1)).reshape(())
    if len(sshape) != len(shape) or any(a != b for d, (a, b) in enumerate(zip(shape, sshape)) if d != dim) \
            or sshape[dim] != idx.size:
        raise RuntimeError(f"index_copy(): source of shape {sshape} does not fit input of shape {shape} with "
                           f"{idx.size} indices along dim {dim}")
    _scatter_src("index_copy", input, source)
    return Scatter.apply(input, dim, _along(idx, dim, sshape), source)


def index_fill(input: Tensor, dim: int, index: Tensor, value: float | Tensor) -> Tensor:
    """Out-of-place ``input.index_fill_``: the slices of ``input`` at ``index`` along ``dim`` set to ``value``
    (a number or a 0-d tensor, which gets the sum of their gradient).

    Example::

        >>> nnzoo.index_fill(nnzoo.zeros(2, 3), 1, nnzoo.tensor([0, 2]), -1.0)
        tensor([[-1.,  0., -1.],
                [-1.,  0., -1.]])
    """
    dim, idx = _vector_index("index_fill", input, dim, index)
    if input._data.ndim == 0:
        return index_fill(input.reshape(1), 0, idx, value).reshape(())
    shape = list(input._data.shape)
    shape[dim] = idx.size
    full = _along(idx, dim, tuple(shape))
    if isinstance(value, Tensor):
        if value._data.ndim != 0:
            raise RuntimeError(f"index_fill(): only supports a 0-dimensional value tensor, but got tensor with "
                               f"{value._data.ndim} dimension(s)")
        if value.requires_grad:
            return Scatter.apply(input, dim, full, value.to(input.dtype).expand(*shape))
        value = value.item()
    return Scatter.apply(input, dim, full, input._data.dtype.type(value))


_REDUCES = ("sum", "prod", "mean", "amax", "amin")


def _identity(reduce, dt):
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    big = np.inf if dt.kind == "f" else np.iinfo(dt).max  # host: the dtype's limit
    return -big if reduce == "amax" and dt.kind == "f" else (np.iinfo(dt).min if reduce == "amax" else big)  # host


class ScatterReduceTwo(Op):
    """``out = x`` with every ``src[i][j]`` combined into ``out[index[i][j]][j]`` (dim 0) by ``reduce``: sum,
    prod, mean, amax or amin; ``include_self=False`` leaves x's values out where anything is scattered.

    Backward (``keep`` = 1 where x's value takes part, n = the number of values combined there):
    sum: dx = g keep, dsrc = g[index];  mean: dx = g keep / n, dsrc = (g / n)[index];
    prod: dx = g out / x keep, dsrc = (g out)[index] / src (inputs without zeros);
    amax/amin: the gradient shared evenly among the values equal to the result (PyTorch's rule).
    """

    @staticmethod
    def forward(ctx, x, src, dim, idx, reduce, include_self):
        lin = scatter_positions(idx, dim, x.shape)
        out = x.copy()
        flat = out.reshape(-1)
        touched = xp.zeros(x.size, dtype=bool)
        touched[lin] = True
        if not include_self:
            flat[touched] = _identity(reduce, x.dtype)
        ufunc = {"sum": xp.add, "mean": xp.add, "prod": xp.multiply, "amax": xp.maximum, "amin": xp.minimum}[reduce]
        ufunc.at(flat, lin, src.reshape(-1))
        keep = xp.logical_or(~touched, include_self).reshape(x.shape)
        count = (xp.bincount(lin, minlength=x.size).reshape(x.shape) + keep).astype(x.dtype)
        if reduce == "mean":
            if x.dtype.kind == "f":
                out /= count
            else:
                out //= count.astype(x.dtype)
        ctx.dim, ctx.idx, ctx.reduce = dim, idx, reduce
        ctx.keep, ctx.count = keep, count
        ctx.save_for_backward(x, src, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, src, out = ctx.saved_tensors
        dim, idx, reduce = ctx.dim, ctx.idx, ctx.reduce
        keep = _make(ctx.keep.astype(grad._data.dtype))
        if reduce == "sum":
            return grad * keep, Gather.apply(grad, dim, idx), None, None, None, None
        if reduce == "mean":
            g = grad / _make(ctx.count)
            return g * keep, Gather.apply(g, dim, idx), None, None, None, None
        if reduce == "prod":
            if (x._data == 0).any() or (src._data == 0).any():
                raise NotImplementedError("scatter_reduce: the gradient of reduce='prod' with zeros among the "
                                          "inputs is not implemented in nnzoo")
            g = grad * out
            return g / x * keep, Gather.apply(g, dim, idx) / src, None, None, None, None
        out_at = xp.take_along_axis(out._data[_fibres(idx.shape, dim)], idx, axis=dim)
        eq_x = (x._data == out._data) & ctx.keep
        eq_src = src._data == out_at
        n = eq_x.astype(grad._data.dtype)
        n += GatherBackward.apply(_make(eq_src.astype(n.dtype)), dim, idx, x._data.shape)._data
        g = grad / _make(xp.maximum(n, 1))
        return (g * _make(eq_x.astype(n.dtype)), Gather.apply(g, dim, idx) * _make(eq_src.astype(n.dtype)),
                None, None, None, None)


def scatter_reduce(input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                   include_self: bool = True) -> Tensor:
    """Out-of-place ``input.scatter_reduce_``: every ``src[i][j]`` combined into ``out[index[i][j]][j]`` (dim 0)
    with ``reduce`` ('sum', 'prod', 'mean', 'amax', 'amin'); ``include_self=False`` leaves input's values out
    where anything is scattered (positions nothing is scattered to keep input's value).

    Example::

        >>> x, i = nnzoo.tensor([5., 5., 5.]), nnzoo.tensor([0, 0, 2])
        >>> nnzoo.scatter_reduce(x, 0, i, nnzoo.tensor([1., 8., 2.]), 'amax')
        tensor([8., 5., 5.])
        >>> nnzoo.scatter_reduce(x, 0, i, nnzoo.tensor([1., 8., 2.]), 'mean', include_self=False)
        tensor([4.5000, 5.0000, 2.0000])
    """
    if reduce not in _REDUCES:
        raise RuntimeError(f"scatter_reduce(): reduce argument must be one of {', '.join(_REDUCES)}, got {reduce!r}")
    dim, idx = _check_dim_index("scatter_reduce", input, dim, index, src)
    _scatter_src("scatter_reduce", input, src)
    if input._data.ndim == 0 or idx.ndim == 0:
        out = scatter_reduce(input.reshape(-1), 0, _make(idx.reshape(-1)), src.reshape(-1), reduce,
                             include_self=include_self)
        return out.reshape(input.shape)
    if tuple(src._data.shape) != tuple(idx.shape):
        src = src[_region(idx.shape)]
    return ScatterReduceTwo.apply(input, src, dim, idx, reduce, bool(include_self))


def take(input: Tensor, index: Tensor) -> Tensor:
    """The elements of ``input`` read as a 1-D tensor at ``index`` (any shape; the result has its shape).

    Example::

        >>> nnzoo.take(nnzoo.tensor([[4., 3.], [5., 6.]]), nnzoo.tensor([0, 3]))
        tensor([4., 6.])
    """
    idx = _int_index(index, "take")
    n = input._data.size
    if idx.size and (idx.min() < -n or idx.max() >= n):
        bad = int(idx.min()) if idx.min() < -n else int(idx.max())
        raise IndexError(f"take(): index {bad} out of range for tensor of size {tuple(input.shape)}")
    flat = input.reshape(-1)
    return getitem(flat, _make(xp.where(idx < 0, idx + n, idx)))


def repeat_interleave(input: Tensor, repeats: int | Tensor | None = None, dim: int | None = None, *,
                      output_size: int | None = None) -> Tensor:
    """Each element (each slice along ``dim``; of the flattened input when dim is None) repeated ``repeats``
    times in place (``repeats`` a number or one count per element). ``repeat_interleave(counts)`` alone gives
    ``arange(len(counts))`` repeated by counts.

    Example::

        >>> nnzoo.repeat_interleave(nnzoo.tensor([1., 2.]), 2)
        tensor([1., 1., 2., 2.])
        >>> nnzoo.repeat_interleave(nnzoo.tensor([[1., 2.], [3., 4.]]), nnzoo.tensor([1, 2]), dim=0)
        tensor([[1., 2.],
                [3., 4.],
                [3., 4.]])
    """
    if repeats is None:  # the index form
        counts = _int_index(input, "repeat_interleave")
        if counts.ndim != 1 or (counts.size and counts.min() < 0):
            raise RuntimeError("repeat_interleave: repeats must be a 1-D tensor of non-negative counts")
        return _make(xp.repeat(xp.arange(counts.size, dtype=np.int64), counts))
    if dim is None:
        input, dim = input.reshape(-1), 0
    dim = _wrap_dim(dim, input.ndim, "repeat_interleave")
    n = input.shape[dim] if input.ndim else 1
    if isinstance(repeats, Tensor):
        reps = _int_index(repeats, "repeat_interleave").reshape(-1)
        if reps.size == 1:
            reps = xp.full(n, int(reps[0]))
    else:
        reps = xp.full(n, int(repeats))
    if reps.size != n:
        raise RuntimeError(f"repeat_interleave: repeats must have the same size as input along dim {dim}: "
                           f"{reps.size} repeats, input of shape {tuple(input.shape)}")
    if reps.size and reps.min() < 0:
        raise RuntimeError("repeat_interleave: repeats can not be negative")
    if output_size is not None and int(reps.sum()) != output_size:
        raise RuntimeError(f"repeat_interleave: output_size {output_size} differs from sum(repeats) {int(reps.sum())}")
    if input.ndim == 0:
        input = input.reshape(1)
    return index_select(input, dim, _make(xp.repeat(xp.arange(n, dtype=np.int64), reps)))


# ================================================================================================
# diagonals and triangles: diag, diag_embed, diagflat, trace, tril_indices, triu_indices, rot90
# ================================================================================================
def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Matrices over the new dims (dim1, dim2) whose ``offset`` diagonal holds input's last dim, zeros elsewhere.

    Shape: (..., n) -> (..., n + |offset|, n + |offset|) with dim1, dim2 placed as asked.

    Example::

        >>> nnzoo.diag_embed(nnzoo.tensor([1., 2.]))
        tensor([[1., 0.],
                [0., 2.]])
    """
    nd = input.ndim + 1
    d1, d2 = _wrap_dim(dim1, nd, "diag_embed"), _wrap_dim(dim2, nd, "diag_embed")
    if d1 == d2:
        raise RuntimeError(f"diag_embed: diagonal dimensions cannot be identical {dim1}, {dim2}")
    if input.ndim == 0:
        raise RuntimeError("diag_embed: expected an input of at least one dimension")
    m = input.shape[-1] + abs(int(offset))
    shape = list(input.shape[:-1])
    for d in sorted((d1, d2)):
        shape.insert(d, m)
    return _shape.DiagonalBackward.apply(input, tuple(shape), int(offset), d1, d2)


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """A 1-D input: the square matrix with it on the ``diagonal``-th diagonal; a 2-D input: that diagonal.

    Example::

        >>> nnzoo.diag(nnzoo.tensor([1., 2.]), 1)
        tensor([[0., 1., 0.],
                [0., 0., 2.],
                [0., 0., 0.]])
        >>> nnzoo.diag(nnzoo.tensor([[1., 2.], [3., 4.]]))
        tensor([1., 4.])
    """
    if input.ndim == 1:
        return diag_embed(input, diagonal, 0, 1)
    if input.ndim == 2:
        return _shape.diagonal(input, diagonal, 0, 1)
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D")


def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    """``diag(input.flatten(), offset)``.

    Example::

        >>> nnzoo.diagflat(nnzoo.tensor([[1., 2.]])).shape
        nnzoo.Size([2, 2])
    """
    return diag_embed(input.reshape(-1), offset, 0, 1)


def trace(input: Tensor) -> Tensor:
    """The sum of the main diagonal of a 2-D input.

    Example::

        >>> nnzoo.trace(nnzoo.tensor([[1., 2.], [3., 4.]]))
        tensor(5.)
    """
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    return _shape.diagonal(input, 0, 0, 1).sum()


def _tri_indices(row, col, offset, dtype, upper):
    r, c = xp.nonzero((xp.triu if upper else xp.tril)(xp.ones((row, col), dtype=bool), offset))
    return _make(xp.stack([r, c]).astype((dtype or dtypes.int64).np))


def tril_indices(row: int, col: int, offset: int = 0, *, dtype: dtypes.dtype | None = None,
                 device: Any = None, layout: Any = None) -> Tensor:
    """The (2, N) row and column indices of the lower triangle (on and below the ``offset`` diagonal) of a
    row x col matrix, row by row.

    Example::

        >>> nnzoo.tril_indices(3, 3)
        tensor([[0, 1, 1, 2, 2, 2],
                [0, 0, 1, 0, 1, 2]])
    """
    return _tri_indices(row, col, offset, dtype, False)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype: dtypes.dtype | None = None,
                 device: Any = None, layout: Any = None) -> Tensor:
    """The (2, N) row and column indices of the upper triangle (on and above the ``offset`` diagonal).

    Example::

        >>> nnzoo.triu_indices(3, 3, 1)
        tensor([[0, 0, 1],
                [1, 2, 2]])
    """
    return _tri_indices(row, col, offset, dtype, True)


def rot90(input: Tensor, k: int = 1, dims: tuple[int, int] | list[int] = (0, 1)) -> Tensor:
    """Rotate by 90 degrees k times in the plane of ``dims``, from the first dim towards the second.

    Example::

        >>> nnzoo.rot90(nnzoo.tensor([[1., 2.], [3., 4.]]))
        tensor([[2., 4.],
                [1., 3.]])
    """
    if len(dims) != 2:
        raise RuntimeError(f"rot90: expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.ndim < 2:
        raise RuntimeError(f"rot90: expected total dims >= 2, but got total dims = {input.ndim}")
    d0, d1 = _wrap_dim(dims[0], input.ndim, "rot90"), _wrap_dim(dims[1], input.ndim, "rot90")
    if d0 == d1:
        raise RuntimeError(f"rot90: expected rotation dims to be different, but got dim0 = {d0} and dim1 = {d1}")
    k %= 4
    if k == 1:
        return _shape.flip(input, d1).transpose(d0, d1)
    if k == 2:
        return _shape.flip(input, d0, d1)
    if k == 3:
        return _shape.flip(input, d0).transpose(d0, d1)
    return input.clone()


# ================================================================================================
# counting and the nan-skipping reductions: count_nonzero, bincount, nansum, nanmean, median, cummax, cummin
# ================================================================================================
def count_nonzero(input: Tensor, dim: int | tuple[int, ...] | None = None) -> Tensor:
    """The number of non-zero entries (over ``dim``), as int64.

    Example::

        >>> nnzoo.count_nonzero(nnzoo.tensor([[0., 1.], [2., 3.]]), dim=0)
        tensor([1, 2])
    """
    if isinstance(dim, int):
        dim = _wrap_dim(dim, input.ndim, "count_nonzero")
    elif dim is not None:
        dim = tuple(_wrap_dim(d, input.ndim, "count_nonzero") for d in dim)
    return _make(xp.asarray(xp.count_nonzero(input._data, axis=dim), dtype=np.int64))


def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """How often each value 0, 1, ... occurs in the 1-D non-negative int ``input`` (summing ``weights``
    instead of ones when given); length max(input) + 1, at least ``minlength``. Not differentiable.

    Example::

        >>> nnzoo.bincount(nnzoo.tensor([0, 2, 2, 5]))
        tensor([1, 0, 2, 0, 0, 1])
    """
    arr = _int_index(input, "bincount")
    if arr.ndim != 1:
        raise RuntimeError(f"bincount only supports 1-d non-negative integral inputs, got shape {tuple(arr.shape)}")
    if arr.size and arr.min() < 0:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if weights is None:
        return _make(xp.bincount(arr, minlength=minlength).astype(np.int64))
    w = weights._data
    out = xp.bincount(arr, weights=w, minlength=minlength)
    return _make(out.astype(w.dtype if w.dtype.kind == "f" else np.float64))


class NanToZero(Op):
    """y = 0 where x is nan, else x;  dy/dx = 1 - isnan(x), multiplied (not selected: an inf gradient at a nan
    position becomes nan, as in PyTorch's nansum and nanmean)."""

    @staticmethod
    def forward(ctx, x):
        ctx.mask = ~xp.isnan(x)
        return xp.where(ctx.mask, x, 0)

    @staticmethod
    def backward(ctx, grad):
        return grad * _make(ctx.mask.astype(grad._data.dtype))


def nansum(input: Tensor, dim: int | tuple[int, ...] | None = None, keepdim: bool = False, *,
           dtype: dtypes.dtype | None = None) -> Tensor:
    """The sum treating nan as zero (their gradient is zero).

    Example::

        >>> nnzoo.nansum(nnzoo.tensor([1., float('nan'), 2.]))
        tensor(3.)
    """
    if input._data.dtype.kind != "f":
        return _reduce.sum(input, dim, keepdim, dtype=dtype)
    return _reduce.sum(NanToZero.apply(input), dim, keepdim, dtype=dtype)


def nanmean(input: Tensor, dim: int | tuple[int, ...] | None = None, keepdim: bool = False, *,
            dtype: dtypes.dtype | None = None) -> Tensor:
    """The mean of the non-nan entries (nan where all are nan).

    Example::

        >>> nnzoo.nanmean(nnzoo.tensor([1., float('nan'), 2.]))
        tensor(1.5000)
    """
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"nanmean(): expected input to have floating point dtype but got {input.dtype}")
    count = nansum(_make((~xp.isnan(input._data)).astype(input._data.dtype)), dim, keepdim)
    return nansum(input, dim, keepdim, dtype=dtype) / count


def median(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """The lower median (the ((n - 1) // 2)-th smallest value): of all elements when dim is None, else
    (values, indices) along ``dim``. The gradient goes to the selected element.

    Example::

        >>> nnzoo.median(nnzoo.tensor([4., 1., 3., 2.]))
        tensor(2.)
        >>> nnzoo.median(nnzoo.tensor([[4., 1., 3.], [0., 9., 5.]]), 1)
        median(values=tensor([3., 5.]), indices=tensor([2, 2]))
    """
    if dim is None:
        flat = input.reshape(-1)
        if flat.shape[0] == 0:
            return _make(xp.asarray(xp.nan, dtype=input._data.dtype))
        return _sort.kthvalue(flat, (flat.shape[0] - 1) // 2 + 1, 0).values
    d = _wrap_dim(dim, input.ndim, "median")
    n = input.shape[d] if input.ndim else 1
    values, indices = _sort.kthvalue(input, (n - 1) // 2 + 1, d, keepdim)
    return median_result(values, indices)


class CumExtreme(Op):
    """(values, indices) of the running maximum (minimum) along ``d``; a later equal value takes over the index
    (PyTorch's rule). dx = the gradient scatter-added at the indices."""

    @staticmethod
    def forward(ctx, x, d, largest):
        if x.ndim == 0:
            ctx.d, ctx.idx, ctx.shape = 0, xp.zeros(1, dtype=np.int64), (1,)
            return x.copy(), xp.zeros((), dtype=np.int64)
        values = (xp.maximum if largest else xp.minimum).accumulate(x, axis=d)
        pos = xp.arange(x.shape[d]).reshape([-1 if i == d else 1 for i in range(x.ndim)])
        hit = (x == values) | xp.isnan(x)
        idx = xp.maximum.accumulate(xp.where(hit, pos, 0), axis=d).astype(np.int64)
        ctx.d, ctx.idx, ctx.shape = d, idx, x.shape
        return values, idx

    @staticmethod
    def backward(ctx, grad, grad_indices=None):
        g = grad.reshape(ctx.idx.shape) if grad.ndim == 0 else grad
        out = GatherBackward.apply(g, ctx.d, ctx.idx, ctx.shape)
        return (out.reshape(grad.shape) if grad.ndim == 0 else out), None, None


def _cum_extreme(input, dim, largest, result):
    d = _wrap_dim(dim, input.ndim, result.__name__)
    values, indices = CumExtreme.apply(input, d, largest)
    return result(values, indices.detach())


def cummax(input: Tensor, dim: int) -> tuple[Tensor, Tensor]:
    """(values, indices) of the running maximum along ``dim``.

    Example::

        >>> nnzoo.cummax(nnzoo.tensor([1., 3., 2., 5.]), 0)
        cummax(values=tensor([1., 3., 3., 5.]), indices=tensor([0, 1, 1, 3]))
    """
    return _cum_extreme(input, dim, True, cummax_result)


def cummin(input: Tensor, dim: int) -> tuple[Tensor, Tensor]:
    """(values, indices) of the running minimum along ``dim``.

    Example::

        >>> nnzoo.cummin(nnzoo.tensor([3., 1., 2., 0.]), 0)
        cummin(values=tensor([3., 1., 1., 0.]), indices=tensor([0, 1, 1, 3]))
    """
    return _cum_extreme(input, dim, False, cummin_result)


median_result = namedtuple("median", ["values", "indices"])
cummax_result = namedtuple("cummax", ["values", "indices"])
cummin_result = namedtuple("cummin", ["values", "indices"])

from . import sort as _sort  # noqa: E402  (sort imports this module's GatherBackward)
