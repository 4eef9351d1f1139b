"""Pooling: ``max_pool1d/2d``, ``max_unpool2d``, ``avg_pool1d/2d``, ``adaptive_avg_pool1d/2d`` and
``adaptive_max_pool2d``.

The array work (the separable window passes, the first-maximum bookkeeping, the plane gathers and
scatters; compiled one-pass max pooling and 2x2 average pooling where Numba runs) is in
:mod:`nnzoo.kernels.pool`; this file holds the ops and the argument checks. Every op views its input as a
stack of planes (P, H, W) (a 1-D op as (P, 1, L)) and gives the output back in the input's leading shape.
``interpolate``, ``local_response_norm`` and ``pixel_shuffle`` have files of their own.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .._args import ntuple
from ..autograd.function import Op
from ..autograd.grad_mode import state
from ..backend import xp
from ..kernels import pool as _k
from ..kernels.pool import Axis, planes, unit
from ..tensor import Tensor

_make = Tensor._make

__all__ = ["max_pool1d", "max_pool2d", "max_unpool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d",
           "adaptive_avg_pool2d", "adaptive_max_pool2d"]


# ================================================================================================
# argument checks and output sizes
# ================================================================================================
def _check_tensor(x, op, name="input"):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument '{name}' must be Tensor, not {type(x).__name__}")


def _check_planes(input, op, nd, need_float=True):
    """input is (C, *spatial) or (N, C, *spatial) with nd spatial dims and no empty non-batch dim."""
    _check_tensor(input, op)
    shape = tuple(input.shape)
    names = "L" if nd == 1 else "H, W"
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{op}: expected a {nd + 1}-D (C, {names}) or {nd + 2}-D (N, C, {names}) input, "
                           f"got shape {shape}")
    if any(n == 0 for n in shape[-nd - 1:]):
        raise RuntimeError(f"{op}: expected an input with non-empty channel and spatial dims, got shape "
                           f"{shape}")
    if need_float and input._data.dtype.kind != "f":
        raise RuntimeError(f"{op}: expected a floating-point input, got {input.dtype} (shape {shape})")
    return shape


def _show(t):
    """(3,) as 3 for the messages of the 1-D ops."""
    return t[0] if len(t) == 1 else t


def _pool_axes(op, shape, nd, kernel_size, stride, padding, dilation, ceil_mode):
    """The Axis of each spatial dim, with PyTorch's checks and output size:
    out = floor_or_ceil((n + 2p - d(k-1) - 1) / s) + 1, and in ceil_mode the last window must start
    inside the input or the left padding (else it is dropped)."""
    k = ntuple(kernel_size, nd, op, "kernel_size")
    s = k if stride is None or (not isinstance(stride, numbers.Integral) and len(stride) == 0) \
        else ntuple(stride, nd, op, "stride")
    p = ntuple(padding, nd, op, "padding")
    d = ntuple(dilation, nd, op, "dilation")
    for name, v, low in (("kernel_size", k, 1), ("stride", s, 1), ("dilation", d, 1), ("padding", p, 0)):
        if any(i < low for i in v):
            raise RuntimeError(f"{op}: {name} must be {'non-negative' if low == 0 else 'positive'}, "
                               f"got {_show(v)}")
    if any(pi > ki // 2 for pi, ki in zip(p, k)):
        raise RuntimeError(f"{op}: padding {_show(p)} should be at most half of kernel_size {_show(k)}")
    sizes = shape[-nd:]
    outs = []
    for n, ki, si, pi, di in zip(sizes, k, s, p, d):
        span = di * (ki - 1) + 1
        o = (n + 2 * pi - span + (si - 1 if ceil_mode else 0)) // si + 1
        if ceil_mode and (o - 1) * si >= n + pi:
            o -= 1
        outs.append(o)
    if any(o < 1 for o in outs):
        spans = tuple(di * (ki - 1) + 1 for ki, di in zip(k, d))
        what = f"kernel {_show(k)}" + (f" (dilated: {_show(spans)})" if any(di > 1 for di in d) else "")
        padded = tuple(n + 2 * pi for n, pi in zip(sizes, p))
        raise RuntimeError(f"{op}: {what} is larger than the padded input {_show(padded)} (input of shape "
                           f"{shape}, padding {_show(p)})")
    return [Axis(ki, si, di, pi, n, o) for ki, si, di, pi, n, o in zip(k, s, d, p, sizes, outs)]


# ================================================================================================
# max pooling
# ================================================================================================
class MaxPool(Op):
    """out[p, i, j] = max of plane p over window (i, j) (the W pass, then the H pass).

    d out[p, i, j] / d x[p, h, w] = 1 where (h, w) is the window's first maximum (row-major), else 0: the
    backward scatters each window's gradient there (:class:`MaxPoolBackward`). ``track`` (grad is needed)
    makes the forward record the winners; without it the forward is only the maxima. With the compiled
    kernels the forward is one pass that records each winner's flat position, and the backward one
    scatter-add through them (:func:`nnzoo.kernels.pool.max_pool`).
    """

    @staticmethod
    def forward(ctx, x, ah, aw, nd, out_shape, track):
        out, sel = _k.max_pool(planes(x, nd), ah, aw, track)
        ctx.sel, ctx.axes, ctx.nd, ctx.shape = sel, (ah, aw), nd, x.shape
        return out.reshape(out_shape)

    @staticmethod
    def backward(ctx, grad):
        return MaxPoolBackward.apply(grad, ctx.sel, ctx.axes, ctx.nd, ctx.shape), None, None, None, None, None


class MaxPoolBackward(Op):
    """dx = zeros with each window's gradient added at its first maximum: the H scatter, then the W
    scatter (the forward's passes in reverse). Linear in g; its backward gathers through the same winners
    (:class:`MaxPoolGather`)."""

    @staticmethod
    def forward(ctx, g, sel, axes, nd, shape):
        ah, aw = axes
        ctx.sel, ctx.axes, ctx.nd, ctx.out_shape = sel, axes, nd, g.shape
        return _k.max_pool_scatter(planes(g, nd), sel, ah, aw).reshape(shape)

    @staticmethod
    def backward(ctx, gg):
        return MaxPoolGather.apply(gg, ctx.sel, ctx.axes, ctx.nd, ctx.out_shape), None, None, None, None


class MaxPoolGather(Op):
    """out = x at each window's recorded maximum (max pooling with the winners fixed): the adjoint of
    :class:`MaxPoolBackward`, needed for second derivatives. Linear in x; backward: the scatter."""

    @staticmethod
    def forward(ctx, x, sel, axes, nd, out_shape):
        ah, aw = axes
        ctx.sel, ctx.axes, ctx.nd, ctx.shape = sel, axes, nd, x.shape
        return _k.max_pool_gather(planes(x, nd), sel, ah, aw).reshape(out_shape)

    @staticmethod
    def backward(ctx, grad):
        return MaxPoolBackward.apply(grad, ctx.sel, ctx.axes, ctx.nd, ctx.shape), None, None, None, None


def _max_pool(input, op, nd, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    shape = _check_planes(input, op, nd, need_float=False)
    axes = _pool_axes(op, shape, nd, kernel_size, stride, padding, dilation, ceil_mode)
    ah, aw = (unit(1), axes[0]) if nd == 1 else axes
    out_shape = shape[:-nd] + tuple(a.n_out for a in axes)
    recording = input.requires_grad and state.enabled
    if not return_indices:
        return MaxPool.apply(input, ah, aw, nd, out_shape, recording)
    if recording:
        out = MaxPool.apply(input, ah, aw, nd, out_shape, True)
        sel = out.grad_fn.sel
    else:  # the same passes on the arrays, keeping the winners
        res, sel = _k.max_pool(planes(input._data, nd), ah, aw, True)
        out = _make(res.reshape(out_shape))
    idx = _k.flat_indices(sel, ah, aw, math.prod(shape[:-nd]))
    return out, _make(idx.reshape(out_shape))


def max_pool1d(input: Tensor, kernel_size: int | tuple[int], stride: int | tuple[int] | None = None,
               padding: int | tuple[int] = 0, dilation: int | tuple[int] = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """out[n, c, l] = max_{j < k} input[n, c, l * stride - padding + j * dilation] (padding is -inf).

    Args:
        kernel_size, stride (default: kernel_size), padding (at most kernel_size // 2), dilation: ints.
        ceil_mode: round the output length up (the last window must start inside the input or the
            left padding). return_indices: also return the position of each maximum along L.

    Shape: input (N, C, L) or (C, L); output (N, C, L_out) or (C, L_out) with
    L_out = floor((L + 2 padding - dilation (kernel_size - 1) - 1) / stride) + 1 (ceil in ceil_mode).

    Example::

        >>> from nnzoo.ops.pool import max_pool1d
        >>> max_pool1d(nnzoo.tensor([[[1., 3., 2., 0.]]]), 2)
        tensor([[[3., 2.]]])
    """
    return _max_pool(input, "max_pool1d", 1, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(input: Tensor, kernel_size: int | tuple[int, int], stride: int | tuple[int, int] | None = None,
               padding: int | tuple[int, int] = 0, dilation: int | tuple[int, int] = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """out[n, c, i, j] = max over the window at (i * stride - padding, j * stride - padding) of
    input[n, c] (kernel_size elements per dim, dilation apart; padding is -inf).

    Backward: each window's gradient goes to its first maximum in row-major order, as in PyTorch.

    Args:
        kernel_size, stride (default: kernel_size), padding (at most half the kernel), dilation: an int
            or a pair (h, w).
        ceil_mode: round the output size up (the last window must start inside the input or the
            left padding). return_indices: also return, for each output, the flat index h * W + w of
            its maximum in the input plane (what ``max_unpool2d`` takes).

    Shape: input (N, C, H, W) or (C, H, W); output (N, C, H_out, W_out) or (C, H_out, W_out) with
    H_out = floor((H + 2 padding - dilation (kernel - 1) - 1) / stride) + 1 (ceil in ceil_mode).

    Example::

        >>> from nnzoo.ops.pool import max_pool2d
        >>> max_pool2d(nnzoo.arange(16.).reshape(1, 1, 4, 4), 2)
        tensor([[[[ 5.,  7.],
                  [13., 15.]]]])
    """
    return _max_pool(input, "max_pool2d", 2, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


# ================================================================================================
# gathering and scattering by flat plane indices (adaptive max pooling, max unpooling)
# ================================================================================================
class PlaneGather(Op):
    """out[p, m] = x[p, idx[p, m]], x seen as planes (P, H*W). d out[p, m] / d x[p, idx[p, m]] = 1:
    the backward is a scatter-add (duplicates sum)."""

    @staticmethod
    def forward(ctx, x, idx, out_shape):
        ctx.idx, ctx.shape = idx, x.shape
        return _k.plane_gather(x, idx).reshape(out_shape)

    @staticmethod
    def backward(ctx, grad):
        return PlaneScatter.apply(grad, ctx.idx, ctx.shape, True), None, None


class PlaneScatter(Op):
    """out = zeros(shape) seen as planes (P, H*W), with v[p, m] put at idx[p, m]: added up where an index
    repeats when ``accumulate`` (the adjoint of the gather), else the last write wins (max_unpool2d).
    Linear in v; backward: the gather."""

    @staticmethod
    def forward(ctx, v, idx, shape, accumulate):
        ctx.idx, ctx.shape = idx, v.shape
        size = math.prod(shape) // max(idx.shape[0], 1)
        return _k.plane_scatter(v, idx, size, accumulate).reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return PlaneGather.apply(grad, ctx.idx, ctx.shape), None, None, None


def _unpool_size(op, shape, k, s, p, output_size):
    default = [(n - 1) * si - 2 * pi + ki for n, ki, si, pi in zip(shape[-2:], k, s, p)]
    if output_size is None:
        sizes = default
    else:
        sizes = [int(v) for v in output_size]
        if len(sizes) == 4:
            sizes = sizes[2:]
        if len(sizes) != 2:
            raise ValueError(f"{op}: output_size should be a sequence of 2 or 4 elements, got {output_size}")
        for dim, (o, dflt, si) in enumerate(zip(sizes, default, s)):
            if not dflt - si < o < dflt + si:
                raise ValueError(f'{op}: invalid output_size "{output_size}" (dim {dim} must be between '
                                 f"{dflt - si} and {dflt + si})")
    if any(o <= 0 for o in sizes):
        raise RuntimeError(f"{op}: output size {tuple(sizes)} must be positive (input of shape {tuple(shape)})")
    return sizes


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] | None = None, padding: int | tuple[int, int] = 0,
                 output_size: tuple[int, ...] | None = None) -> Tensor:
    """The partial inverse of ``max_pool2d``: zeros with input[n, c, i, j] placed at the flat position
    indices[n, c, i, j] of its output plane.

    Args:
        indices: the indices returned by ``max_pool2d(..., return_indices=True)``.
        kernel_size, stride (default kernel_size), padding: those of the max pooling.
        output_size: (H, W) or (N, C, H, W), to undo a pooling whose input size was ambiguous.

    Shape: input and indices (N, C, H, W) or (C, H, W); output (N, C, H_out, W_out) with
    H_out = (H - 1) stride - 2 padding + kernel_size unless output_size is given.

    Example::

        >>> from nnzoo.ops.pool import max_pool2d, max_unpool2d
        >>> out, idx = max_pool2d(nnzoo.tensor([[[[1., 2.], [4., 3.]]]]), 2, return_indices=True)
        >>> max_unpool2d(out, idx, 2)
        tensor([[[[0., 0.],
                  [4., 0.]]]])
    """
    op = "max_unpool2d"
    shape = _check_planes(input, op, 2)
    _check_tensor(indices, op, "indices")
    if tuple(indices.shape) != shape or indices._data.dtype.kind not in "iu":
        raise RuntimeError(f"{op}: expected integer indices of the input's shape {shape}, got {indices.dtype} "
                           f"indices of shape {tuple(indices.shape)}")
    k = ntuple(kernel_size, 2, op, "kernel_size")
    s = k if stride is None else ntuple(stride, 2, op, "stride")
    p = ntuple(padding, 2, op, "padding")
    ho, wo = _unpool_size(op, shape, k, s, p, output_size)
    n_planes = math.prod(shape[:-2])
    idx = indices._data.reshape(n_planes, -1).astype(xp.intp, copy=False)
    if idx.size and (idx.min() < 0 or idx.max() >= ho * wo):
        bad = idx.min() if idx.min() < 0 else idx.max()
        raise RuntimeError(f"{op}: found an invalid max index {bad} (output planes are of size {ho}x{wo})")
    return PlaneScatter.apply(input, idx, shape[:-2] + (ho, wo), False)


# ================================================================================================
# average pooling
# ================================================================================================
class AvgPool(Op):
    """out = (window sums: the W pass, then the H pass) * scale, scale = 1 / divisor (a number, or an
    (H_out, W_out) array when the windows' divisors differ).

    d out[p, i, j] / d x[p, h, w] = scale[i, j] for every (h, w) in window (i, j): the backward spreads
    grad * scale over each window (:class:`AvgPoolBackward`)."""

    @staticmethod
    def forward(ctx, x, ah, aw, nd, scale, out_shape):
        ctx.axes, ctx.nd, ctx.scale, ctx.shape = (ah, aw), nd, scale, x.shape
        return _k.avg_pool(planes(x, nd), ah, aw, scale).reshape(out_shape)

    @staticmethod
    def backward(ctx, grad):
        return AvgPoolBackward.apply(grad, ctx.axes, ctx.nd, ctx.scale, ctx.shape), None, None, None, None, None


class AvgPoolBackward(Op):
    """dx: grad * scale spread over each window's inputs (the H pass, then the W pass; overlapping
    windows add up). Linear in grad: its backward is the average pooling again."""

    @staticmethod
    def forward(ctx, g, axes, nd, scale, shape):
        ah, aw = axes
        ctx.axes, ctx.nd, ctx.scale, ctx.out_shape = axes, nd, scale, g.shape
        return _k.avg_pool_spread(planes(g, nd), ah, aw, scale).reshape(shape)

    @staticmethod
    def backward(ctx, gg):
        ah, aw = ctx.axes
        return AvgPool.apply(gg, ah, aw, ctx.nd, ctx.scale, ctx.out_shape), None, None, None, None


def _avg_pool(input, op, nd, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    shape = _check_planes(input, op, nd)
    axes = _pool_axes(op, shape, nd, kernel_size, stride, padding, 1, ceil_mode)
    ah, aw = (unit(1), axes[0]) if nd == 1 else axes
    out_shape = shape[:-nd] + tuple(a.n_out for a in axes)
    dtype = input._data.dtype
    if divisor_override is not None:
        if divisor_override == 0:
            raise RuntimeError(f"{op}: divisor_override must not be zero")
        scale = dtype.type(1.0 / divisor_override)
    else:
        div = _k.divisors(ah, count_include_pad)[:, None] * _k.divisors(aw, count_include_pad)[None, :]
        scale = dtype.type(1.0 / div.flat[0]) if xp.all(div == div.flat[0]) else (1.0 / div).astype(dtype)
    return AvgPool.apply(input, ah, aw, nd, scale, out_shape)


def avg_pool1d(input: Tensor, kernel_size: int | tuple[int], stride: int | tuple[int] | None = None,
               padding: int | tuple[int] = 0, ceil_mode: bool = False, count_include_pad: bool = True) -> Tensor:
    """out[n, c, l] = mean of input[n, c, l * stride - padding + j], j < kernel_size (zero padding).

    Args:
        kernel_size, stride (default: kernel_size), padding (at most kernel_size // 2): ints.
        ceil_mode: round the output length up. count_include_pad: count the padding zeros in the mean.

    Shape: input (N, C, L) or (C, L); output (N, C, L_out) or (C, L_out),
    L_out = floor((L + 2 padding - kernel_size) / stride) + 1 (ceil in ceil_mode).

    Example::

        >>> from nnzoo.ops.pool import avg_pool1d
        >>> avg_pool1d(nnzoo.tensor([[[1., 3., 2., 0.]]]), 2)
        tensor([[[2., 1.]]])
    """
    return _avg_pool(input, "avg_pool1d", 1, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def avg_pool2d(input: Tensor, kernel_size: int | tuple[int, int], stride: int | tuple[int, int] | None = None,
               padding: int | tuple[int, int] = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    """out[n, c, i, j] = sum of input[n, c] over the window at (i * stride - padding, j * stride - padding),
    divided by the window's size (zero padding).

    Args:
        kernel_size, stride (default: kernel_size), padding (at most half the kernel): int or (h, w).
        ceil_mode: round the output size up (windows past the input are clipped).
        count_include_pad: divide by the window's size including padding (default) or only its input
            elements. divisor_override: divide every sum by this number instead.

    Shape: input (N, C, H, W) or (C, H, W); output (N, C, H_out, W_out) or (C, H_out, W_out) with
    H_out = floor((H + 2 padding - kernel) / stride) + 1 (ceil in ceil_mode).

    Example::

        >>> from nnzoo.ops.pool import avg_pool2d
        >>> avg_pool2d(nnzoo.arange(16.).reshape(1, 1, 4, 4), 2)
        tensor([[[[ 2.5000,  4.5000],
                  [10.5000, 12.5000]]]])
    """
    return _avg_pool(input, "avg_pool2d", 2, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


# ================================================================================================
# adaptive pooling
# ================================================================================================
def _adaptive_sizes(op, shape, nd, output_size):
    sizes = (output_size,) * nd if output_size is None or isinstance(output_size, numbers.Integral) \
        else tuple(output_size)
    if len(sizes) == 1 and nd > 1:
        sizes = sizes * nd
    if len(sizes) != nd:
        raise RuntimeError(f"{op}: output_size must be an int or a tuple of {nd}, got {output_size}")
    sizes = tuple(n if o is None else int(o) for o, n in zip(sizes, shape[-nd:]))
    if any(o < 0 for o in sizes) or (any(o == 0 for o in sizes) and math.prod(shape)):
        raise RuntimeError(f"{op}: output_size {_show(sizes)} must be positive (input of shape {shape})")
    return sizes


class Separable(Op):
    """out = A_h x A_w^T for every plane x (a linear map along each axis; None: that axis unchanged).
    d out / d x is the same map transposed: the backward is this op with A_h^T and A_w^T (its own
    adjoint, so every order works). Inf and NaN stay in their windows (see :func:`nnzoo.kernels.pool.separable`)."""

    @staticmethod
    def forward(ctx, x, mh, mw, nd, out_shape):
        ctx.m, ctx.nd, ctx.shape = (mh, mw), nd, x.shape
        return _k.separable(planes(x, nd), mh, mw).reshape(out_shape)

    @staticmethod
    def backward(ctx, grad):
        mh, mw = ctx.m
        return Separable.apply(grad, None if mh is None else mh.T, None if mw is None else mw.T, ctx.nd,
                               ctx.shape), None, None, None, None


def _adaptive_avg(input, op, nd, output_size):
    shape = _check_planes(input, op, nd)
    sizes = _adaptive_sizes(op, shape, nd, output_size)
    out_shape = shape[:-nd] + sizes
    ins = shape[-nd:]
    if all(n % o == 0 for n, o in zip(ins, sizes)):  # equal windows: plain average pooling (k = s = n / o)
        axes = [Axis(n // o, n // o, 1, 0, n, o) for n, o in zip(ins, sizes)]
        ah, aw = (unit(1), axes[0]) if nd == 1 else axes
        scale = input._data.dtype.type(1.0 / math.prod(a.k for a in axes))
        return AvgPool.apply(input, ah, aw, nd, scale, out_shape)
    dtype = input._data.dtype
    mats = [None if n == o else _k.mean_matrix(n, o, dtype) for n, o in zip(ins, sizes)]
    mh, mw = (None, mats[0]) if nd == 1 else mats
    return Separable.apply(input, mh, mw, nd, out_shape)


def adaptive_avg_pool1d(input: Tensor, output_size: int | tuple[int]) -> Tensor:
    """out[n, c, i] = mean of input[n, c, start_i:end_i], start_i = floor(i L / L_out),
    end_i = ceil((i + 1) L / L_out): L_out windows that cover the input whatever its length.

    Shape: input (N, C, L) or (C, L); output (N, C, L_out) or (C, L_out).

    Example::

        >>> from nnzoo.ops.pool import adaptive_avg_pool1d
        >>> adaptive_avg_pool1d(nnzoo.tensor([[[1., 2., 3., 4., 5.]]]), 2)
        tensor([[[2., 4.]]])
    """
    return _adaptive_avg(input, "adaptive_avg_pool1d", 1, output_size)


def adaptive_avg_pool2d(input: Tensor, output_size: int | tuple[int | None, int | None]) -> Tensor:
    """out[n, c, i, j] = mean of input[n, c] over rows [floor(i H / H_out), ceil((i + 1) H / H_out)) and
    the columns likewise.

    Args:
        output_size: H_out, or (H_out, W_out) where None keeps the input's size.

    Shape: input (N, C, H, W) or (C, H, W); output (N, C, H_out, W_out) or (C, H_out, W_out).

    Example::

        >>> from nnzoo.ops.pool import adaptive_avg_pool2d
        >>> adaptive_avg_pool2d(nnzoo.ones(2, 3, 7, 5), (1, None)).shape
        nnzoo.Size([2, 3, 1, 5])
    """
    return _adaptive_avg(input, "adaptive_avg_pool2d", 2, output_size)


def adaptive_max_pool2d(input: Tensor, output_size: int | tuple[int | None, int | None],
                        return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """out[n, c, i, j] = max of input[n, c] over rows [floor(i H / H_out), ceil((i + 1) H / H_out)) and
    the columns likewise. Backward: each window's gradient goes to its first maximum.

    Args:
        output_size: H_out, or (H_out, W_out) where None keeps the input's size.
        return_indices: also return the flat index h * W + w of each maximum in its input plane.

    Shape: input (N, C, H, W) or (C, H, W); output (N, C, H_out, W_out) or (C, H_out, W_out).

    Example::

        >>> from nnzoo.ops.pool import adaptive_max_pool2d
        >>> adaptive_max_pool2d(nnzoo.arange(9.).reshape(1, 3, 3), 2)
        tensor([[[4., 5.],
                 [7., 8.]]])
    """
    op = "adaptive_max_pool2d"
    shape = _check_planes(input, op, 2, need_float=False)
    ho, wo = _adaptive_sizes(op, shape, 2, output_size)
    out_shape = shape[:-2] + (ho, wo)
    x3 = planes(input._data, 2)
    idx = _k.adaptive_argmax(x3, ho, wo).reshape(x3.shape[0], ho * wo)
    out = PlaneGather.apply(input, idx, out_shape)
    if return_indices:
        return out, _make(idx.reshape(out_shape).astype(np.int64, copy=False))
    return out
