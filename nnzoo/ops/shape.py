"""Shape moves: reshape/view, transpose/permute, squeeze/unsqueeze, expand, flatten, movedim, repeat,
flip, roll, cat/stack, split/chunk/unbind/narrow, pad, tril/triu, diagonal.

Where PyTorch returns a view, so do we (``is_view``): the output shares memory and the version counter
with its input. Ops that copy in PyTorch (flip, roll, repeat, cat, pad) copy here too. The linear ops
pair up for their backward (cat <-> split, stack <-> unbind, narrow <-> constant pad, pad <-> fold,
diagonal <-> diagonal embedding), each written as an op, so every derivative is again differentiable.
"""
from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import dtypes
from .._args import shape_of
from ..autograd.function import Op
from ..backend import xp
from ..tensor import Tensor, _wrap_dim
from . import arith as _arith

_make = Tensor._make

__all__ = ["reshape", "permute", "transpose", "swapaxes", "swapdims", "t", "unsqueeze", "squeeze", "broadcast_to",
           "flatten", "unflatten", "movedim", "moveaxis", "repeat", "tile", "flip", "fliplr", "flipud", "roll",
           "cat", "concat", "concatenate", "stack", "hstack", "vstack", "row_stack", "dstack", "column_stack",
           "atleast_1d", "atleast_2d", "atleast_3d", "split", "chunk", "tensor_split", "unbind", "narrow",
           "pad", "tril", "triu", "diagonal"]


def _shape_arg(shape):
    """Accept reshape(2, 3), reshape((2, 3)) and reshape([2, 3])."""
    if len(shape) == 1 and not isinstance(shape[0], int):
        return tuple(shape[0])
    return tuple(shape)


def _infer(shape, numel, op, src):
    """Resolve one -1 in ``shape`` and check the element count, with an error naming both shapes."""
    shape = tuple(int(s) for s in shape)
    if shape.count(-1) > 1:
        raise RuntimeError(f"{op}: only one dimension can be inferred, got {shape}")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise RuntimeError(f"{op}: invalid shape dimension {s} in {shape}")
            known *= s
    if -1 in shape:
        if known == 0 or numel % known:
            raise RuntimeError(f"{op}: shape {shape} is invalid for input of shape {tuple(src)} "
                               f"({numel} elements)")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise RuntimeError(f"{op}: shape {shape} is invalid for input of shape {tuple(src)} "
                           f"({numel} elements)")
    return shape


class Reshape(Op):
    is_view = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.shape), None


def reshape(input: Tensor, *shape: int | Sequence[int], **kw: Any) -> Tensor:
    """``input`` with a new shape of the same number of elements (one dim may be -1).

    ``x.reshape(2, 3)``, ``x.reshape((2, 3))`` and ``torch.reshape(x, shape=(2, 3))`` all work.
    """
    if "shape" in kw:
        shape = (kw.pop("shape"),)
    if kw:
        raise TypeError(f"reshape(): unexpected keyword arguments {sorted(kw)}")
    shape = _infer(_shape_arg(shape), input._data.size, "reshape", input.shape)
    if shape == input._data.shape:
        return input
    return Reshape.apply(input, shape)


def view(input: Tensor, *shape: int | Sequence[int]) -> Tensor:
    """Like reshape, but an error when the memory layout would need a copy (as in PyTorch)."""
    shape = _infer(_shape_arg(shape), input._data.size, "view", input.shape)
    probe = input._data.view()
    try:
        probe.shape = shape
    except AttributeError:
        raise RuntimeError(f"view: shape {shape} is not compatible with the input's size and stride "
                           f"(input of shape {tuple(input.shape)}, strides {input.stride()}): at least "
                           "one dimension spans two contiguous subspaces. Use .reshape(...) instead.") \
            from None
    return Reshape.apply(input, shape)


class Permute(Op):
    is_view = True

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return x.transpose(dims)

    @staticmethod
    def backward(ctx, grad):
        inv = [0] * len(ctx.dims)
        for i, d in enumerate(ctx.dims):
            inv[d] = i
        return grad.permute(*inv), None


def permute(input: Tensor, *dims: int | Sequence[int], **kw: Any) -> Tensor:
    """Reorder the dims: ``out.shape[i] == input.shape[dims[i]]`` (``x.permute(1, 0)``,
    ``torch.permute(x, (1, 0))`` or ``dims=``)."""
    dims = _ints(dims, kw.pop("dims", None), "permute", "dims")
    if kw:
        raise TypeError(f"permute(): unexpected keyword arguments {sorted(kw)}")
    nd = input.ndim
    if len(dims) != nd:
        raise RuntimeError(f"permute: number of dims {len(dims)} doesn't match the input's {nd} dims "
                           f"(input shape {tuple(input.shape)})")
    dims = tuple(_wrap_dim(d, nd, "permute") for d in dims)
    if len(set(dims)) != nd:
        raise RuntimeError(f"permute: repeated dim in {dims}")
    return Permute.apply(input, dims)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dims."""
    nd = input.ndim
    if nd == 0:
        return input
    d0, d1 = _wrap_dim(dim0, nd, "transpose"), _wrap_dim(dim1, nd, "transpose")
    if d0 == d1:
        return input
    dims = list(range(nd))
    dims[d0], dims[d1] = d1, d0
    return Permute.apply(input, tuple(dims))


swapaxes = swapdims = transpose


def t(input: Tensor) -> Tensor:
    """Transpose of a tensor of at most 2 dims."""
    if input.ndim > 2:
        raise RuntimeError(f"t: expects a tensor with <= 2 dimensions, but got shape {tuple(input.shape)}")
    return transpose(input, 0, 1) if input.ndim == 2 else input


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Insert a size-1 dim at ``dim`` (in [-ndim-1, ndim])."""
    nd = input.ndim + 1
    d = _wrap_dim(dim, nd, "unsqueeze")
    shape = input.shape[:d] + (1,) + input.shape[d:]
    return Reshape.apply(input, shape)


def squeeze(input: Tensor, dim: int | tuple[int, ...] | None = None) -> Tensor:
    """Remove size-1 dims (all of them, or those in ``dim`` that have size 1)."""
    shape = input.shape
    if dim is None:
        dims = set(range(len(shape)))
    elif isinstance(dim, int):
        dims = {_wrap_dim(dim, len(shape), "squeeze")} if shape else set()
    else:
        dims = {_wrap_dim(d, len(shape), "squeeze") for d in dim}
    new = tuple(s for i, s in enumerate(shape) if not (i in dims and s == 1))
    return input if new == shape else Reshape.apply(input, new)


def _broadcast(x, shape):
    """A read-only view of ``x`` broadcast to ``shape`` (stride 0 along the expanded dims).

    NOTE: for a C-contiguous ``x`` the view is built directly (~0.5 us); np.broadcast_to costs ~2.5 us
    a call, which shows in every backward of a reduction."""
    if type(x) is not np.ndarray or not x.flags.c_contiguous:
        return xp.broadcast_to(x, shape)
    lead = len(shape) - x.ndim
    strides = [0] * lead
    for s, n, st in zip(x.shape, shape[lead:], x.strides):
        if s != n and s != 1:
            return xp.broadcast_to(x, shape)  # not broadcastable: NumPy raises the error
        strides.append(st if s == n else 0)
    out = np.ndarray(shape, x.dtype, x, 0, tuple(strides))
    out.flags.writeable = False
    return out


class Expand(Op):
    is_view = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        return _broadcast(x, shape)

    @staticmethod
    def backward(ctx, grad):
        from .reduce import sum_to
        return sum_to(grad, ctx.shape), None


def expand(input: Tensor, *sizes: int | Sequence[int]) -> Tensor:
    """Broadcast to ``sizes`` without copying; -1 keeps a dim's size."""
    sizes = _shape_arg(sizes)
    shape = input.shape
    if len(sizes) < len(shape):
        raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal "
                           f"to the number of dimensions in the tensor ({len(shape)}); input shape "
                           f"{tuple(shape)}, sizes {tuple(sizes)}")
    lead = len(sizes) - len(shape)
    target = []
    for i, s in enumerate(sizes):
        if s == -1:
            if i < lead:
                raise RuntimeError(f"expand: -1 is not allowed in a leading, new dimension ({tuple(sizes)})")
            s = shape[i - lead]
        elif i >= lead and shape[i - lead] != 1 and shape[i - lead] != s:
            raise RuntimeError(f"expand: the expanded size of the tensor ({s}) must match the existing "
                               f"size ({shape[i - lead]}) at non-singleton dimension {i}; input shape "
                               f"{tuple(shape)}, target {tuple(sizes)}")
        target.append(int(s))
    target = tuple(target)
    return input if target == shape else Expand.apply(input, target)


def broadcast_to(input: Tensor, shape: Sequence[int]) -> Tensor:
    return expand(input, *tuple(shape))


# ---- helpers for the ops below ------------------------------------------------------------------------
def _ints(args, kw, op, what):
    """A tuple of ints from method style ``f(x, 0, 1)``, function style ``f(x, (0, 1))`` or ``what=``."""
    if kw is not None:
        if args:
            raise TypeError(f"{op}(): got {what} both positionally and as a keyword")
        args = (kw,)
    if len(args) == 1 and not isinstance(args[0], int):
        arg = args[0]
        if isinstance(arg, Tensor):
            arg = arg.tolist()
        return tuple(int(a) for a in (arg if isinstance(arg, (list, tuple)) else (arg,)))
    return tuple(int(a) for a in args)


def _seq(x):
    """An int or a sequence of ints as a tuple."""
    if isinstance(x, Tensor):
        x = x.tolist()
    return (int(x),) if not isinstance(x, (list, tuple)) else tuple(int(v) for v in x)


def _at(dim, index):
    """The NumPy key that applies ``index`` (a slice or an int) along ``dim`` only."""
    return (slice(None),) * dim + (index,)


# ---- flatten / unflatten / movedim ---------------------------------------------------------------------
def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims ``start_dim..end_dim`` into one: (2, 3, 4) with start_dim=1 -> (2, 12).

    A view when the memory layout allows it (as in PyTorch); a 0-d input becomes shape (1,).
    """
    nd = input.ndim
    s, e = _wrap_dim(start_dim, nd, "flatten"), _wrap_dim(end_dim, nd, "flatten")
    if s > e:
        raise RuntimeError(f"flatten: start_dim ({start_dim}) cannot come after end_dim ({end_dim}) "
                           f"(input shape {shape_of(input)})")
    if nd == 0:
        return Reshape.apply(input, (1,))
    shape = input.shape
    n = 1
    for d in range(s, e + 1):
        n *= shape[d]
    return reshape(input, shape[:s] + (n,) + shape[e + 1:])


def unflatten(input: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:
    """Split dim ``dim`` into ``sizes`` (one entry may be -1): (2, 12) with dim=1, (3, 4) -> (2, 3, 4)."""
    sizes = _seq(sizes)
    nd = input.ndim
    d = _wrap_dim(dim, nd, "unflatten")
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    n = input.shape[d]
    if sizes.count(-1) > 1:
        raise RuntimeError(f"unflatten: only one dimension can be inferred, got sizes {sizes}")
    known = 1
    for s in sizes:
        if s != -1:
            known *= s
    if (-1 in sizes and (known == 0 or n % known)) or (-1 not in sizes and known != n):
        raise RuntimeError(f"unflatten: provided sizes {sizes} don't multiply up to the size of dim {d} "
                           f"({n}) of the input of shape {shape_of(input)}")
    sizes = tuple(n // known if s == -1 else s for s in sizes)
    shape = input.shape
    return Reshape.apply(input, shape[:d] + sizes + shape[d + 1:])


def movedim(input: Tensor, source: int | Sequence[int], destination: int | Sequence[int]) -> Tensor:
    """Move dims ``source`` to positions ``destination``; the others keep their order (a view)."""
    src, dst = _seq(source), _seq(destination)
    nd = input.ndim
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: source {src} and destination {dst} must have the same number of dims")
    src = tuple(_wrap_dim(d, nd, "movedim") for d in src)
    dst = tuple(_wrap_dim(d, nd, "movedim") for d in dst)
    if len(set(src)) != len(src):
        raise RuntimeError(f"movedim: repeated dim in source {src}")
    if len(set(dst)) != len(dst):
        raise RuntimeError(f"movedim: repeated dim in destination {dst}")
    perm = [None] * nd
    for s, d in zip(src, dst):
        perm[d] = s
    rest = iter(d for d in range(nd) if d not in src)
    perm = tuple(p if p is not None else next(rest) for p in perm)
    if perm == tuple(range(nd)):
        return input
    return Permute.apply(input, perm)


moveaxis = movedim


# ---- repeat / tile / flip / roll ---------------------------------------------------------------------
class Repeat(Op):
    """out = input tiled ``sizes[i]`` times along dim i (leading new dims for extra sizes).

    Backward: view the gradient as (r0, s0, r1, s1, ...) and sum over the repeat axes r_i.
    """

    @staticmethod
    def forward(ctx, x, sizes):
        ctx.shape, ctx.sizes = x.shape, sizes
        return xp.tile(x.reshape((1,) * (len(sizes) - x.ndim) + x.shape), sizes)

    @staticmethod
    def backward(ctx, grad):
        full = (1,) * (len(ctx.sizes) - len(ctx.shape)) + tuple(ctx.shape)
        split, axes = [], []
        for r, s in zip(ctx.sizes, full):
            if r != 1:
                axes.append(len(split))
                split.append(r)
            split.append(s)
        if not axes:
            return grad.reshape(ctx.shape), None
        return grad.reshape(split).sum(tuple(axes)).reshape(ctx.shape), None


def repeat(input: Tensor, *sizes: int | Sequence[int]) -> Tensor:
    """Tile ``input`` ``sizes[i]`` times along each dim (``Tensor.repeat``; copies, unlike expand)."""
    sizes = _ints(sizes, None, "repeat", "sizes")
    if len(sizes) < input.ndim:
        raise RuntimeError(f"repeat: number of repeat dims ({len(sizes)}) can not be smaller than the number "
                           f"of dims of the tensor of shape {shape_of(input)}")
    if any(s < 0 for s in sizes):
        raise RuntimeError(f"repeat: repeats must be non-negative, got {sizes}")
    return Repeat.apply(input, sizes)


def tile(input: Tensor, *dims: int | Sequence[int], **kw: Any) -> Tensor:
    """Like ``repeat``, but ``dims`` shorter than ``input.ndim`` is padded with leading 1s (``torch.tile``)."""
    dims = _ints(dims, kw.pop("dims", None), "tile", "dims")
    if kw:
        raise TypeError(f"tile(): unexpected keyword arguments {sorted(kw)}")
    dims = (1,) * (input.ndim - len(dims)) + dims
    return repeat(input, *dims)


class Flip(Op):
    """out[i] = input[n - 1 - i] along each of ``dims``; the backward flips the gradient back.

    NOTE: NumPy's flip is a view (negative strides); PyTorch's flip copies, so we copy too: a
    later in-place change of the input must not show in the result.
    """

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return xp.flip(x, dims).copy()

    @staticmethod
    def backward(ctx, grad):
        return Flip.apply(grad, ctx.dims), None


def flip(input: Tensor, *dims: int | Sequence[int], **kw: Any) -> Tensor:
    """Reverse the order of elements along ``dims``: ``x.flip(0, 1)`` or ``torch.flip(x, [0, 1])``."""
    dims = _ints(dims, kw.pop("dims", None), "flip", "dims")
    if kw:
        raise TypeError(f"flip(): unexpected keyword arguments {sorted(kw)}")
    nd = input.ndim
    wrapped = tuple(_wrap_dim(d, nd, "flip") for d in dims)
    if len(set(wrapped)) != len(wrapped):
        raise RuntimeError(f"flip: dims {dims} name a dim more than once (input shape {shape_of(input)})")
    if nd == 0:
        wrapped = ()
    return Flip.apply(input, wrapped)


def fliplr(input: Tensor) -> Tensor:
    """Flip the columns (dim 1) of a tensor of at least 2 dims."""
    if input.ndim < 2:
        raise RuntimeError(f"fliplr: input must be >= 2-d, got shape {shape_of(input)}")
    return flip(input, 1)


def flipud(input: Tensor) -> Tensor:
    """Flip the rows (dim 0) of a tensor of at least 1 dim."""
    if input.ndim < 1:
        raise RuntimeError(f"flipud: input must be >= 1-d, got shape {shape_of(input)}")
    return flip(input, 0)


class Roll(Op):
    """out[(i + shift) mod n] = input[i] along each dim (the flattened tensor when dims is None).

    Backward: roll the gradient by the opposite shifts.
    """

    @staticmethod
    def forward(ctx, x, shifts, dims):
        ctx.shifts, ctx.dims = shifts, dims
        return xp.roll(x, shifts, axis=dims)

    @staticmethod
    def backward(ctx, grad):
        neg = -ctx.shifts if ctx.dims is None else tuple(-s for s in ctx.shifts)
        return Roll.apply(grad, neg, ctx.dims), None, None


def roll(input: Tensor, shifts: int | Sequence[int], dims: int | Sequence[int] | None = None) -> Tensor:
    """Shift elements cyclically along ``dims`` (the flattened tensor when ``dims`` is None)."""
    shifts = _seq(shifts)
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(f"roll: shifts and dims must align: {len(shifts)} shifts {shifts} but no dims "
                               "(only one shift is allowed when dims is None)")
        return Roll.apply(input, shifts[0], None)
    dims = _seq(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(f"roll: shifts and dims must align: {len(shifts)} shifts {shifts}, "
                           f"{len(dims)} dims {dims}")
    nd = input.ndim
    dims = tuple(_wrap_dim(d, nd, "roll") for d in dims)
    if nd == 0:
        return Roll.apply(input, shifts[0], None)
    return Roll.apply(input, shifts, dims)


# ---- joining: cat / stack and friends ------------------------------------------------------------------
class Cat(Op):
    """out = [x_0, x_1, ...] joined along ``dim``; each input's gradient is its slice of ``grad``.

    ``skip`` marks 1-d empty inputs of shape (0,) that PyTorch lets through whatever the others'
    shapes (legacy behaviour); they add nothing and get an empty gradient.
    """

    @staticmethod
    def forward(ctx, dim, skip, *xs):
        parts = xs if skip is None else [x for x, s in zip(xs, skip) if not s]
        ctx.dim, ctx.skip = dim, skip
        ctx.bounds = _bounds([x.shape[dim] for x in parts])
        return xp.concatenate(parts, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        pieces = Split.apply(grad, ctx.dim, ctx.bounds)
        if ctx.skip is None:
            return (None, None) + pieces
        it = iter(pieces)
        empty = _make(xp.zeros(0, dtype=grad._data.dtype))
        return (None, None) + tuple(empty if s else next(it) for s in ctx.skip)


def _bounds(sizes):
    """[0, s0, s0 + s1, ...]: where consecutive pieces of the given sizes start and end."""
    b = [0]
    for s in sizes:
        b.append(b[-1] + s)
    return tuple(b)


def _tensor_list(tensors, op):
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{op}(): expected a list or tuple of Tensors, got {type(tensors).__name__}")
    if not tensors:
        raise ValueError(f"{op}(): expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}(): expected a Tensor as element {i}, got {type(t).__name__}")
    return list(tensors)


def _promote_all(tensors):
    """The tensors cast (differentiably) to their common dtype, PyTorch's promotion rule."""
    dt = tensors[0].dtype
    for t in tensors[1:]:
        if t.dtype is not dt:
            dt = dtypes.promote_types(dt, t.dtype)
    return [t if t._data.dtype == dt.np else _arith.cast(t, dt) for t in tensors]


def cat(tensors: Sequence[Tensor], dim: int = 0, *, axis: int | None = None) -> Tensor:
    """Join tensors along an existing dim: (2, 3) and (4, 3) with dim=0 -> (6, 3).

    Args:
        tensors: a list/tuple of tensors with equal shapes except along ``dim``; dtypes are promoted as
            in PyTorch (int64 + float32 -> float32); 1-d empty tensors of shape (0,) are skipped.
        dim: the dim to join along (negative counts from the end).

    Example::

        >>> nnzoo.cat([nnzoo.zeros(2, 3), nnzoo.ones(1, 3)]).shape
        nnzoo.Size([3, 3])
    """
    if axis is not None:
        dim = axis
    tensors = _promote_all(_tensor_list(tensors, "cat"))
    for i, t in enumerate(tensors):
        if t.ndim == 0:
            raise RuntimeError(f"cat: zero-dimensional tensor (at position {i}) cannot be concatenated")
    skip = [t.ndim == 1 and t.shape[0] == 0 for t in tensors]
    kept = [t for t, s in zip(tensors, skip) if not s]
    if not kept:  # only (0,) tensors: the result is empty too
        return Cat.apply(0, None, *tensors)
    ref = kept[0]
    nd = ref.ndim
    d = _wrap_dim(dim, nd, "cat")
    for t in kept[1:]:
        if t.ndim != nd:
            raise RuntimeError(f"cat: tensors must have the same number of dims, got {shape_of(ref)} and "
                               f"{shape_of(t)}")
        for k in range(nd):
            if k != d and t.shape[k] != ref.shape[k]:
                raise RuntimeError(f"cat: sizes of tensors must match except in dim {d}, got {shape_of(ref)} "
                                   f"and {shape_of(t)} (dim {k}: {ref.shape[k]} vs {t.shape[k]})")
    return Cat.apply(d, tuple(skip) if any(skip) else None, *tensors)


def concat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Alias of :func:`cat`."""
    return cat(tensors, dim)


def concatenate(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Alias of :func:`cat` (NumPy's argument name ``axis``)."""
    return cat(tensors, axis)


class Stack(Op):
    """out[..., i, ...] = x_i with a new dim at ``dim``; the backward unbinds the gradient."""

    @staticmethod
    def forward(ctx, dim, *xs):
        ctx.dim = dim
        return xp.stack(xs, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        return (None,) + Unbind.apply(grad, ctx.dim)


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join equal-shape tensors along a new dim: three (2, 3) tensors with dim=1 -> (2, 3, 3).

    Example::

        >>> nnzoo.stack([nnzoo.zeros(2, 3), nnzoo.ones(2, 3)], dim=1).shape
        nnzoo.Size([2, 2, 3])
    """
    tensors = _promote_all(_tensor_list(tensors, "stack"))
    ref = tensors[0]
    for i, t in enumerate(tensors[1:], 1):
        if t.shape != ref.shape:
            raise RuntimeError(f"stack: expects each tensor to be equal size, but got {shape_of(ref)} at entry 0 "
                               f"and {shape_of(t)} at entry {i}")
    d = _wrap_dim(dim, ref.ndim + 1, "stack")
    return Stack.apply(d, *tensors)


def _atleast(tensors, n):
    """Reshape every tensor to at least ``n`` dims, as numpy's atleast_{n}d."""
    single = len(tensors) == 1 and isinstance(tensors[0], Tensor)
    if len(tensors) == 1 and not single:
        tensors = tuple(tensors[0])
    out = []
    for t in tensors:
        s = tuple(t.shape)
        if len(s) < n:
            if n == 1 or len(s) == 0:
                s = (1,) * (n - len(s)) + s
            elif n == 2:
                s = (1,) + s
            else:  # n == 3: (k,) -> (1, k, 1); (m, k) -> (m, k, 1)
                s = (1,) + s + (1,) if len(s) == 1 else s + (1,)
            t = reshape(t, s)
        out.append(t)
    return out[0] if single else tuple(out)


def atleast_1d(*tensors: Tensor) -> Tensor | tuple[Tensor, ...]:
    """Each tensor with at least 1 dim (a 0-d tensor becomes shape (1,))."""
    return _atleast(tensors, 1)


def atleast_2d(*tensors: Tensor) -> Tensor | tuple[Tensor, ...]:
    """Each tensor with at least 2 dims: (k,) -> (1, k)."""
    return _atleast(tensors, 2)


def atleast_3d(*tensors: Tensor) -> Tensor | tuple[Tensor, ...]:
    """Each tensor with at least 3 dims: (k,) -> (1, k, 1), (m, k) -> (m, k, 1)."""
    return _atleast(tensors, 3)


def hstack(tensors: Sequence[Tensor]) -> Tensor:
    """Join horizontally: along dim 0 for 1-d tensors, dim 1 otherwise."""
    tensors = atleast_1d(tuple(_tensor_list(tensors, "hstack")))
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors: Sequence[Tensor]) -> Tensor:
    """Join vertically (dim 0), after making every tensor at least 2-d."""
    return cat(atleast_2d(tuple(_tensor_list(tensors, "vstack"))), 0)


row_stack = vstack


def dstack(tensors: Sequence[Tensor]) -> Tensor:
    """Join along the third dim (dim 2), after making every tensor at least 3-d."""
    return cat(atleast_3d(tuple(_tensor_list(tensors, "dstack"))), 2)


def column_stack(tensors: Sequence[Tensor]) -> Tensor:
    """Join as columns: 0-d and 1-d tensors become (k, 1) columns, then cat along dim 1."""
    tensors = [reshape(t, (t.numel(), 1)) if t.ndim <= 1 else t
               for t in _tensor_list(tensors, "column_stack")]
    return cat(tensors, 1)


# ---- splitting: split / chunk / unbind / narrow -----------------------------------------------------------
class Split(Op):
    """Views of consecutive pieces x[b_k:b_{k+1}] along ``dim``; the backward concatenates their gradients.

    One op with many outputs (not one slicing op per piece): the engine hands backward one gradient
    per output, zeros for unused ones.
    """

    is_view = True

    @staticmethod
    def forward(ctx, x, dim, bounds):
        ctx.dim = dim
        return tuple(x[_at(dim, slice(a, b))] for a, b in itertools.pairwise(bounds))

    @staticmethod
    def backward(ctx, *grads):
        return Cat.apply(ctx.dim, None, *grads), None, None


def _need_dims(input, op):
    if input.ndim == 0:
        raise RuntimeError(f"{op}: expects at least a 1-dimensional tensor, got a 0-d tensor")


def split(tensor: Tensor, split_size_or_sections: int | Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
    """Split into views along ``dim``: pieces of ``split_size`` (the last may be smaller) or of the
    given section sizes, which must sum to the dim's size.

    Example::

        >>> [tuple(p.shape) for p in nnzoo.zeros(5, 2).split(2)]
        [(2, 2), (2, 2), (1, 2)]
    """
    _need_dims(tensor, "split")
    d = _wrap_dim(dim, tensor.ndim, "split")
    n = tensor.shape[d]
    if isinstance(split_size_or_sections, (list, tuple)) or (
            isinstance(split_size_or_sections, Tensor) and split_size_or_sections.ndim == 1):
        sizes = _seq(split_size_or_sections)
        if any(s < 0 for s in sizes):
            raise RuntimeError(f"split: split sizes must be non-negative, got {list(sizes)}")
        if sum(sizes) != n:
            raise RuntimeError(f"split: split sizes {list(sizes)} must sum exactly to {n}, the size of dim {d} "
                               f"of the input of shape {shape_of(tensor)}")
    else:
        size = int(split_size_or_sections)
        if size < 0 or (size == 0 and n != 0):
            raise RuntimeError(f"split: split_size must be positive (or 0 for an empty dim), got {size} for "
                               f"dim {d} of size {n} (input shape {shape_of(tensor)})")
        if n == 0:
            sizes = (0,)
        else:
            sizes = (size,) * (n // size) + ((n % size,) if n % size else ())
    return Split.apply(tensor, d, _bounds(sizes))


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """Split into ``chunks`` views of size ceil(n / chunks) along ``dim`` (fewer if they run out)."""
    _need_dims(input, "chunk")
    chunks = int(chunks)
    if chunks <= 0:
        raise RuntimeError(f"chunk: expects `chunks` to be greater than 0, got {chunks}")
    d = _wrap_dim(dim, input.ndim, "chunk")
    n = input.shape[d]
    if n == 0:
        return Split.apply(input, d, (0,) * (chunks + 1))
    size = -(-n // chunks)
    return split(input, size, d)


def tensor_split(input: Tensor, indices_or_sections: int | Sequence[int] | Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    """Split along ``dim`` into ``sections`` near-equal views (the first n % sections one longer),
    or at the given indices (NumPy's ``array_split``)."""
    _need_dims(input, "tensor_split")
    d = _wrap_dim(dim, input.ndim, "tensor_split")
    n = input.shape[d]
    ios = indices_or_sections
    if isinstance(ios, (list, tuple)) or (isinstance(ios, Tensor) and ios.ndim == 1):
        cuts = [slice(i).indices(n)[1] for i in _seq(ios)]
        if any(b < a for a, b in itertools.pairwise(cuts)):  # decreasing indices: pieces overlap
            starts, stops = [0] + cuts, cuts + [n]
            return tuple(narrow(input, d, a, max(b - a, 0)) for a, b in zip(starts, stops))
        return Split.apply(input, d, (0,) + tuple(cuts) + (n,))
    k = int(ios)
    if k <= 0:
        raise RuntimeError(f"tensor_split: number of sections must be larger than 0, got {k}")
    q, r = divmod(n, k)
    return Split.apply(input, d, _bounds([q + 1] * r + [q] * (k - r)))


class Unbind(Op):
    """Views x[..., i, ...] along ``dim``, one per index; the backward stacks their gradients.

    One op for all slices: an RNN unbinds thousands of time steps.
    """

    is_view = True

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        return tuple(xp.moveaxis(x, dim, 0))

    @staticmethod
    def backward(ctx, *grads):
        return Stack.apply(ctx.dim, *grads), None


def unbind(input: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    """The slices along ``dim`` as a tuple of views, with that dim removed."""
    if input.ndim == 0:
        raise IndexError(f"unbind: dimension specified as {dim} but the tensor has no dimensions")
    return Unbind.apply(input, _wrap_dim(dim, input.ndim, "unbind"))


class Narrow(Op):
    """out = x[..., start:start + length, ...] along ``dim`` (a view); the backward zero-pads the gradient."""

    is_view = True

    @staticmethod
    def forward(ctx, x, dim, start, length):
        widths = [(0, 0)] * x.ndim
        widths[dim] = (start, x.shape[dim] - start - length)
        ctx.widths = tuple(widths)
        return x[_at(dim, slice(start, start + length))]

    @staticmethod
    def backward(ctx, grad):
        return ConstantPad.apply(grad, ctx.widths, 0), None, None, None


def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """Elements ``start .. start + length - 1`` along ``dim``, as a view (``start`` may be negative)."""
    if input.ndim == 0:
        raise RuntimeError("narrow: cannot be applied to a 0-dim tensor")
    d = _wrap_dim(dim, input.ndim, "narrow")
    n = input.shape[d]
    start, length = int(start), int(length)
    if length < 0:
        raise RuntimeError(f"narrow: length must be non-negative, got {length}")
    if not -n <= start <= n:
        raise IndexError(f"narrow: start out of range (expected to be in range of [{-n}, {n}], "
                         f"but got {start}) for dim {d} of size {n}")
    if start < 0:
        start += n
    if start + length > n:
        raise RuntimeError(f"narrow: start ({start}) + length ({length}) exceeds dimension size ({n}) of "
                           f"dim {d} (input shape {shape_of(input)})")
    return Narrow.apply(input, d, start, length)


# ---- padding ---------------------------------------------------------------------------------------------
class ConstantPad(Op):
    """out = ``value`` everywhere, with ``input`` placed at offset ``lo`` in each dim.

    ``widths`` holds (lo, hi) per dim; a negative width crops. Backward: the same op with the
    widths negated (and value 0) cuts the gradient of the input's region back out.
    """

    @staticmethod
    def forward(ctx, x, widths, value):
        ctx.widths = widths
        shape = tuple(n + lo + hi for n, (lo, hi) in zip(x.shape, widths))
        out = xp.full(shape, value, dtype=x.dtype)
        src = _crop(x.shape, widths)
        if all(s.stop > s.start for s in src):  # else the crops remove all of x: nothing to copy
            dst = tuple(slice(max(lo, 0), m - max(hi, 0)) for m, (lo, hi) in zip(shape, widths))
            out[dst] = x[src]
        return out

    @staticmethod
    def backward(ctx, grad):
        return ConstantPad.apply(grad, tuple((-lo, -hi) for lo, hi in ctx.widths), 0), None, None


_NP_PAD_MODE = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _crop(shape, widths):
    """Slices that remove the negative widths from an array of ``shape``."""
    return tuple(slice(max(-lo, 0), n - max(-hi, 0)) for n, (lo, hi) in zip(shape, widths))


class Pad(Op):
    """Reflect / replicate / circular padding of the dims with non-zero (lo, hi) in ``widths``.

    Like PyTorch, negative widths crop: reflect and replicate pad first and then crop, circular
    crops first and then wraps. Backward: :class:`PadFold`, the adjoint, which adds the gradient
    of each border back onto the input elements it was copied from.
    """

    @staticmethod
    def forward(ctx, x, widths, mode):
        ctx.widths, ctx.mode, ctx.shape = widths, mode, x.shape
        pos = [(max(lo, 0), max(hi, 0)) for lo, hi in widths]
        if mode == "circular":
            return xp.pad(x[_crop(x.shape, widths)], pos, mode="wrap")
        out = xp.pad(x, pos, mode=_NP_PAD_MODE[mode])
        return out[_crop(out.shape, widths)]

    @staticmethod
    def backward(ctx, grad):
        return PadFold.apply(grad, ctx.widths, ctx.mode, ctx.shape), None, None


class PadFold(Op):
    """The adjoint of :class:`Pad`: fold a padded gradient back onto the input's shape with slice-adds.

    Per padded dim with borders (l, r) around a core of size n:
    reflect   core[1 : l+1] += flip(g[:l]),     core[n-1-r : n-1] += flip(g[l+n:])
    replicate core[0] += sum(g[:l]),            core[n-1] += sum(g[l+n:])
    circular  core[n-l : n] += g[:l],           core[:r] += g[l+n:]
    Its backward is :class:`Pad` again (both are linear), so any order of derivative works.
    """

    @staticmethod
    def forward(ctx, g, widths, mode, shape):
        ctx.widths, ctx.mode = widths, mode
        pos = [(max(lo, 0), max(hi, 0)) for lo, hi in widths]
        if mode != "circular" and any(lo < 0 or hi < 0 for lo, hi in widths):
            full = xp.zeros(tuple(n + lo + hi for n, (lo, hi) in zip(shape, pos)), dtype=g.dtype)
            full[_crop(full.shape, widths)] = g
            g = full
        folded = False
        for d, (lo, hi) in enumerate(pos):
            if lo or hi:
                g = _fold(g, d, lo, hi, mode)
                folded = True
        if mode == "circular" and any(lo < 0 or hi < 0 for lo, hi in widths):
            full = xp.zeros(shape, dtype=g.dtype)
            full[_crop(shape, widths)] = g
            return full
        return g if folded else g.copy()

    @staticmethod
    def backward(ctx, grad):
        return Pad.apply(grad, ctx.widths, ctx.mode), None, None, None


def _fold(g, d, lo, hi, mode):
    """One dim of PadFold (see its docstring); returns a new array, ``g`` is left alone."""
    n = g.shape[d] - lo - hi
    core = g[_at(d, slice(lo, lo + n))].copy()
    left, right = g[_at(d, slice(0, lo))], g[_at(d, slice(lo + n, None))]
    if mode == "reflect":
        if lo:
            core[_at(d, slice(1, lo + 1))] += xp.flip(left, d)
        if hi:
            core[_at(d, slice(n - 1 - hi, n - 1))] += xp.flip(right, d)
    elif mode == "replicate":
        if lo:
            core[_at(d, slice(0, 1))] += left.sum(axis=d, keepdims=True)
        if hi:
            core[_at(d, slice(n - 1, n))] += right.sum(axis=d, keepdims=True)
    else:  # circular
        if lo:
            core[_at(d, slice(n - lo, n))] += left
        if hi:
            core[_at(d, slice(0, hi))] += right
    return core


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad (or, with negative sizes, crop) the last dims: ``torch.nn.functional.pad``.

    Args:
        pad: (left, right) for the last dim, then (top, bottom) for the one before, and so on:
            ``pad=(1, 1, 2, 0)`` pads the last dim by 1 on both sides and the one before by 2 on top.
        mode: ``'constant'`` (fill with ``value``; negative sizes crop), ``'reflect'`` (mirror without
            repeating the edge), ``'replicate'`` (repeat the edge), ``'circular'`` (wrap around).
            The last three pad 1, 2 or 3 trailing dims of a tensor with 1 or 2 more dims than that.
        value: the fill value of ``'constant'`` mode (default 0).

    Example::

        >>> nnzoo.pad(nnzoo.ones(2, 3), (1, 1)).shape  # also nnzoo.nn.functional.pad
        nnzoo.Size([2, 5])
    """
    sizes = _seq(pad)
    nd = input.ndim
    shape = shape_of(input)
    if len(sizes) % 2:
        raise RuntimeError(f"pad: padding length must be divisible by 2, got {len(sizes)} ({sizes})")
    k = len(sizes) // 2
    if k > nd:
        raise RuntimeError(f"pad: padding length should be less than or equal to two times the input's "
                           f"number of dims, got padding {sizes} for input shape {shape}")
    widths = [(0, 0)] * nd
    for i in range(k):
        widths[nd - 1 - i] = (sizes[2 * i], sizes[2 * i + 1])
    widths = tuple(widths)
    if mode == "constant":
        for d, (n, (lo, hi)) in enumerate(zip(shape, widths)):
            if n - max(-lo, 0) - max(-hi, 0) < 0:
                raise RuntimeError(f"pad: padding ({lo}, {hi}) of dim {d} crops more than its size {n} "
                                   f"(input shape {shape})")
        dt = input._data.dtype
        if value is not None and dt.kind in "iu" and isinstance(value, float) and any(w > 0 for w in sizes) \
                and not np.iinfo(dt).min <= value <= np.iinfo(dt).max:  # NaN too, as PyTorch (when it pads)
            raise RuntimeError(f"pad: value {value} cannot be converted to type {dt} without overflow")
        return ConstantPad.apply(input, widths, 0 if value is None else value)
    if mode not in _NP_PAD_MODE:
        raise NotImplementedError(f"pad: unrecognised padding mode {mode!r} (expected 'constant', 'reflect', "
                                  "'replicate' or 'circular')")
    if value is not None and value != 0:
        raise RuntimeError(f"pad: padding mode {mode!r} doesn't take a value argument (got {value})")
    if mode in ("reflect", "replicate") and input._data.dtype == np.bool_:
        raise NotImplementedError(f"pad: mode {mode!r} is not implemented for bool tensors (as in PyTorch)")
    if not (1 <= k <= 3 and nd in (k + 1, k + 2)):
        raise NotImplementedError(
            f"pad: padding size {len(sizes)} is not supported for a {nd}-d input (shape {shape}) in mode "
            f"{mode!r}; non-constant padding supports 2-d or 3-d input for padding size 2 (pads the last "
            "dim), 3-d or 4-d for 4 (last 2 dims), 4-d or 5-d for 6 (last 3 dims)")
    for d in range(nd - k - 1, nd):
        if shape[d] == 0 and mode != "circular":  # PyTorch's circular mode (slices and cat) takes empty dims
            raise RuntimeError(f"pad: mode {mode!r} needs non-empty dims besides the batch dim, got input "
                               f"shape {shape}")
    for d in range(nd - k, nd):
        lo, hi = widths[d]
        n = shape[d]
        if mode == "reflect" and (lo >= n or hi >= n):
            raise RuntimeError(f"pad: padding ({lo}, {hi}) of dim {d} should be less than the dim's size "
                               f"{n} in mode 'reflect' (input shape {shape})")
        if mode == "circular":
            m = n - max(-lo, 0) - max(-hi, 0)
            if lo > m or hi > m or m < 0:
                raise RuntimeError(f"pad: padding ({lo}, {hi}) of dim {d} (size {n}) wraps around more than "
                                   f"once in mode 'circular' (input shape {shape})")
        elif n + lo + hi < 0:
            raise RuntimeError(f"pad: padding ({lo}, {hi}) of dim {d} (size {n}) gives a negative output size "
                               f"(input shape {shape})")
    if all(lo == 0 and hi == 0 for lo, hi in widths):
        return ConstantPad.apply(input, widths, 0)  # a copy, as PyTorch
    return Pad.apply(input, widths, mode)


# ---- triangles and diagonals -----------------------------------------------------------------------------
class Triangle(Op):
    """tril: out[..., i, j] = x[..., i, j] if j - i <= k else 0 (triu: j - i >= k); backward: the same mask."""

    @staticmethod
    def forward(ctx, x, k, upper):
        ctx.k, ctx.upper = k, upper
        return xp.triu(x, k) if upper else xp.tril(x, k)

    @staticmethod
    def backward(ctx, grad):
        return Triangle.apply(grad, ctx.k, ctx.upper), None, None


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dims (elements with j - i <= diagonal); the rest zero."""
    if input.ndim < 2:
        raise RuntimeError(f"tril: input tensor must have at least 2 dimensions, got shape {shape_of(input)}")
    return Triangle.apply(input, int(diagonal), False)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dims (elements with j - i >= diagonal); the rest zero."""
    if input.ndim < 2:
        raise RuntimeError(f"triu: input tensor must have at least 2 dimensions, got shape {shape_of(input)}")
    return Triangle.apply(input, int(diagonal), True)


class Diagonal(Op):
    """out[..., i] = x[.., i, .., i + offset, ..] over dims (dim1, dim2), appended as the last dim (a view).

    Backward: :class:`DiagonalBackward` writes the gradient onto the diagonal of zeros.
    """

    is_view = True

    @staticmethod
    def forward(ctx, x, offset, dim1, dim2):
        ctx.shape, ctx.args = x.shape, (offset, dim1, dim2)
        out = xp.diagonal(x, offset, dim1, dim2)
        if x.flags.writeable:  # NumPy marks diagonal views read-only; PyTorch's are writable
            out.flags.writeable = True
        return out

    @staticmethod
    def backward(ctx, grad):
        return (DiagonalBackward.apply(grad, ctx.shape, *ctx.args),) + (None,) * 3


class DiagonalBackward(Op):
    """Zeros of ``shape`` with ``g`` on the (offset, dim1, dim2) diagonal; its backward is Diagonal."""

    @staticmethod
    def forward(ctx, g, shape, offset, dim1, dim2):
        ctx.args = (offset, dim1, dim2)
        out = xp.zeros(shape, dtype=g.dtype)
        diag = xp.diagonal(out, offset, dim1, dim2)
        diag.flags.writeable = True
        diag[...] = g
        return out

    @staticmethod
    def backward(ctx, grad):
        return (Diagonal.apply(grad, *ctx.args),) + (None,) * 4


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal of the matrices over dims (dim1, dim2), as a view with those dims replaced by one last
    dim; ``offset`` > 0 is above the main diagonal, < 0 below."""
    nd = input.ndim
    d1, d2 = _wrap_dim(dim1, nd, "diagonal"), _wrap_dim(dim2, nd, "diagonal")
    if d1 == d2:
        raise RuntimeError(f"diagonal: dimensions cannot be identical, got dim1={dim1}, dim2={dim2}")
    return Diagonal.apply(input, int(offset), d1, d2)
