"""Pooling, resampling and local response normalisation: ``max_pool1d/2d``, ``max_unpool2d``,
``avg_pool1d/2d``, ``adaptive_avg_pool1d/2d``, ``adaptive_max_pool2d``, ``local_response_norm``,
``interpolate``, ``pixel_shuffle`` and ``pixel_unshuffle``.

Layout. Pooling treats every (sample, channel) plane alike, so each op views its input as a stack of
planes (P, H, W) (a 1-D op as (P, 1, L); an unbatched input is just fewer planes) and gives the output
back in the input's leading shape.

Separable windows. A max or a sum over a kh x kw rectangle is a reduction along W followed by one along
H, so every pooling op is two 1-D passes. A pass loops over the k offsets of the kernel: offset j reads
the strided slice ``a[..., j*d : j*d + s*(n_out-1) + 1 : s]`` (one element of every window) and folds it
into the result with one vectorised ufunc, so a 3x3 kernel costs 3 + 3 whole-array operations, with no
copy of the windows and no Python loop over positions. The adjoint passes (the backward) run the same
loop the other way round and slice-add into the gradient (overlapping windows accumulate correctly,
without np.add.at). Padding is a border of -inf (max) or 0 (sum) around the axis being reduced; the
ceil_mode windows that run past the input see more of that border. NOTE: this is also the fast path for
non-overlapping 2x2/2 pooling: the reshape to (P, H/2, 2, W/2, 2) and a max over axes (2, 4) is ~20x
slower in NumPy (its reductions over length-2 axes run one tiny inner loop per window), while the
slices give a handful of long vectorised loops.

Max pooling remembers, per pass, which offset won (``sel``, int8): the gradient of a window goes to its
first maximum in row-major order, as in PyTorch (first the first row holding the maximum, then the
first column of that row holding it; the W pass runs first and records, for every row, its first
maximal column). The forward's backward is a scatter through ``sel`` and the scatter's backward the
gather through it, so any order of derivative works.
"""
import math
import numbers

import numpy as np

from ..autograd.function import Op
from ..autograd.grad_mode import state
from ..backend import xp
from ..tensor import Tensor

_make = Tensor._make

__all__ = ["max_pool1d", "max_pool2d", "max_unpool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d",
           "adaptive_avg_pool2d", "adaptive_max_pool2d", "local_response_norm", "interpolate", "pixel_shuffle",
           "pixel_unshuffle"]


# ================================================================================================
# geometry: one axis of a window
# ================================================================================================
class _Axis:
    """One axis of a pooling window: kernel k, stride s, dilation d, ``lo`` padding before the input,
    ``n_in`` -> ``n_out`` positions. In padded coordinates window o covers o*s + j*d, j < k; ``hi`` is
    the padding needed after the input for the last window (negative: trailing input no window reads)."""

    __slots__ = ("k", "s", "d", "lo", "hi", "n_in", "n_out")

    def __init__(self, k, s, d, lo, n_in, n_out):
        self.k, self.s, self.d, self.lo, self.n_in, self.n_out = k, s, d, lo, n_in, n_out
        self.hi = (n_out - 1) * s + (k - 1) * d + 1 - n_in - lo

    @property
    def identity(self):
        return self.k == 1 and self.s == 1 and self.lo == 0 and self.n_out == self.n_in

    @property
    def disjoint(self):
        """No input position lies in two windows."""
        return self.s >= (self.k - 1) * self.d + 1

    def window(self, j):
        """The slice, in padded coordinates, of the j-th element of every window."""
        start = j * self.d
        return slice(start, start + self.s * (self.n_out - 1) + 1, self.s)

    def __repr__(self):
        return f"_Axis(k={self.k}, s={self.s}, d={self.d}, lo={self.lo}, n_in={self.n_in}, n_out={self.n_out})"


def _at(axis, sl):
    return (slice(None),) * axis + (sl,)


def _pad(a, axis, ax, fill):
    """``a`` with ax.lo and max(ax.hi, 0) elements of ``fill`` added before / after along ``axis``."""
    lo, hi = ax.lo, max(ax.hi, 0)
    if lo == 0 and hi == 0:
        return a
    shape = list(a.shape)
    n = shape[axis]
    shape[axis] = lo + n + hi
    out = xp.empty(shape, dtype=a.dtype)
    if lo:
        out[_at(axis, slice(0, lo))] = fill
    if hi:
        out[_at(axis, slice(lo + n, None))] = fill
    out[_at(axis, slice(lo, lo + n))] = a
    return out


def _adjoint_out(shape, axis, ax, dtype):
    """The padded output of an adjoint pass, and how many leading offsets may be written with plain
    assignment instead of added: offsets j < s (dilation 1) touch disjoint positions that, when k >= s,
    cover all of [0, s * n_out); only the tail after that needs zeros. NOTE: this saves the zero fill
    and a read-modify-write pass over the biggest array of the backward."""
    shape = list(shape)
    n = ax.lo + ax.n_in + max(ax.hi, 0)
    shape[axis] = n
    if ax.d == 1 and ax.k >= ax.s:
        out = xp.empty(shape, dtype=dtype)
        if n > ax.s * ax.n_out:
            out[_at(axis, slice(ax.s * ax.n_out, None))] = 0
        return out, ax.s
    return xp.zeros(shape, dtype=dtype), (ax.k if ax.disjoint else 0)


def _crop(a, axis, ax):
    if ax.lo == 0 and a.shape[axis] == ax.n_in:
        return a
    return a[_at(axis, slice(ax.lo, ax.lo + ax.n_in))]


# ---- the 1-D passes: forward reductions and their adjoints ------------------------------------------------
def _max_pass(a, axis, ax, track):
    """Max over the windows along ``axis``; with ``track`` also ``sel``, the offset of each window's first
    maximum (int8 below 128 offsets)."""
    if ax.identity:
        return a, None
    fill = -np.inf if a.dtype.kind == "f" else np.iinfo(a.dtype).min
    a = _pad(a, axis, ax, fill)
    out, sel = _first_max([a[_at(axis, ax.window(j))] for j in range(ax.k)], track)
    if sel is not None and ax.lo:
        # NOTE: where every input value of a window is -inf (the fill) the first maximum is a padding tap; the
        # winner becomes the window's first input tap, where PyTorch's search starts (index and gradient)
        start = np.arange(ax.n_out) * ax.s - ax.lo
        first = np.where(start < 0, (-start + ax.d - 1) // ax.d, 0)  # first tap j inside the input
        first = np.where(first < ax.k, first, 0).astype(sel.dtype)  # a window wholly in the padding: unchanged
        shape = [1] * sel.ndim
        shape[axis] = ax.n_out
        sel = xp.maximum(sel, first.reshape(shape))
    return out, sel


def _first_max(parts, track):
    """The elementwise maximum of the arrays ``parts`` and, with ``track``, the index of the first part
    that holds it.

    NOTE: np.maximum propagates NaN, as PyTorch. The winners are found after the maxima, from the
    equalities part_j == max with boolean ops (np.copyto(..., where=) and np.where cost ~5x more):
    sel = sum_{j < k-1} [part_0 != max and ... and part_j != max], the index of the first equal part.
    Where the maximum is NaN the winner is the *last* NaN part: PyTorch's pooling kernels take every NaN
    they meet as the new maximum (``val > maxval || isnan(val)``), so separable passes (columns, then
    rows) pick the last NaN in row-major order, as they do."""
    k = len(parts)
    if k == 1:
        return parts[0].copy(), (xp.zeros(parts[0].shape, dtype=np.int8) if track else None)
    cur = xp.maximum(parts[0], parts[1])
    for xs in parts[2:]:
        xp.maximum(cur, xs, out=cur)
    if not track:
        return cur, None
    later = xp.not_equal(parts[0], cur)  # the maximum is in a later part
    if k == 2:
        sel = later.view(np.int8)
    else:
        sel = later.astype(np.int8 if k <= 127 else np.int32)
        for xs in parts[1:-1]:
            xp.greater(later, xp.equal(xs, cur), out=later)  # later and not here
            sel += later.view(np.int8)
    if cur.dtype.kind == "f" and xp.isnan(cur).any():
        for j, xs in enumerate(parts):
            sel[xp.isnan(xs)] = j
    return cur, sel


def _scatter_pass(g, sel, axis, ax):
    """Adjoint of a tracked max pass: each window's gradient goes to the input position ``sel`` chose.

    NOTE: per offset, mask = float(sel == j) in one reused buffer, then g * mask written (disjoint
    windows) or added (overlapping) into that offset's strided slice. Reusing the buffers matters:
    every fresh large array costs its page faults again, and float * bool is NumPy's slow casting path."""
    if ax.identity:
        return g
    out, n_assign = _adjoint_out(g.shape, axis, ax, g.dtype)
    mask = part = None
    for j in range(ax.k):
        dst = out[_at(axis, ax.window(j))]
        if ax.k == 1:
            dst[...] = g
            continue
        mask = xp.equal(sel, j, out=mask)
        if part is None:
            part = mask.astype(g.dtype)
        else:
            xp.copyto(part, mask)
        if j < n_assign:
            xp.multiply(g, part, out=dst)
        else:
            xp.multiply(g, part, out=part)
            dst += part
    return _crop(out, axis, ax)


def _gather_pass(a, sel, axis, ax):
    """The adjoint of :func:`_scatter_pass`: pick, per window, the element ``sel`` chose."""
    if ax.identity:
        return a
    a = _pad(a, axis, ax, 0)
    out = None
    for j in range(ax.k):
        part = a[_at(axis, ax.window(j))] * (sel == j)
        out = part if out is None else xp.add(out, part, out=out)
    return out


def _whole(ax):
    """One window over the whole axis."""
    return ax.k == ax.n_in and ax.n_out == 1 and ax.lo == 0


def _sum_pass(a, axis, ax):
    """Sum over the windows along ``axis`` (zero padding)."""
    if ax.identity:
        return a
    if _whole(ax):  # one window over everything: a plain reduction
        return a.sum(axis=axis, keepdims=True)
    a = _pad(a, axis, ax, 0)
    out = a[_at(axis, ax.window(0))].copy()
    for j in range(1, ax.k):
        out += a[_at(axis, ax.window(j))]
    return out


def _spread_pass(g, axis, ax):
    """Adjoint of :func:`_sum_pass`: every window's gradient added to each of its input positions."""
    if ax.identity:
        return g
    if _whole(ax):
        return xp.broadcast_to(g, g.shape[:axis] + (ax.n_in,) + g.shape[axis + 1:]).copy()
    out, n_assign = _adjoint_out(g.shape, axis, ax, g.dtype)
    for j in range(ax.k):
        dst = out[_at(axis, ax.window(j))]
        if j < n_assign:
            dst[...] = g
        else:
            dst += g
    return _crop(out, axis, ax)


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


def _tuple(v, n, op, name):
    """An int or a sequence of 1 or n ints, as n ints (PyTorch's _single / _pair)."""
    if isinstance(v, numbers.Integral):
        return (int(v),) * n
    v = tuple(v)
    if len(v) == 1:
        return (int(v[0]),) * n
    if len(v) != n or not all(isinstance(i, numbers.Integral) for i in v):
        raise RuntimeError(f"{op}: {name} must be an int or a tuple of {n} ints, got {v}")
    return tuple(int(i) for i in v)


def _show(t):
    """(3,) as 3 for the messages of the 1-D ops."""
    return t[0] if len(t) == 1 else t


def _pool_axes(op, shape, nd, kernel_size, stride, padding, dilation, ceil_mode):
    """The _Axis of each spatial dim, with PyTorch's checks and output size:
    out = floor_or_ceil((n + 2p - d(k-1) - 1) / s) + 1, and in ceil_mode the last window must start
    inside the input or the left padding (else it is dropped)."""
    k = _tuple(kernel_size, nd, op, "kernel_size")
    s = k if stride is None or (not isinstance(stride, numbers.Integral) and len(stride) == 0) \
        else _tuple(stride, nd, op, "stride")
    p = _tuple(padding, nd, op, "padding")
    d = _tuple(dilation, nd, op, "dilation")
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
    return [_Axis(ki, si, di, pi, n, o) for ki, si, di, pi, n, o in zip(k, s, d, p, sizes, outs)]


def _planes(x, nd):
    """View x (*, H, W) as planes (P, H, W); with nd=1, x (*, L) as (P, 1, L)."""
    if nd == 1:
        return x.reshape((-1, 1) + x.shape[-1:])
    return x.reshape((-1,) + x.shape[-2:])


def _unit(n):
    """The axis a 1-D op pools along H: size 1, nothing to do."""
    return _Axis(1, 1, 1, 0, n, n)


def _fresh(out, x):
    """``out`` if it is a new array, else a copy (an op's output must not alias its input)."""
    return out.copy() if np.may_share_memory(out, x) else out


# ================================================================================================
# max pooling
# ================================================================================================
class MaxPool(Op):
    """out[p, i, j] = max of plane p over window (i, j) (the W pass, then the H pass).

    Backward: each window's gradient goes to its first maximum (:class:`MaxPoolBackward`). ``track``
    (grad is needed) makes the forward record the winners; without it the forward is only the maxima.
    """

    @staticmethod
    def forward(ctx, x, ah, aw, nd, out_shape, track):
        x3 = _planes(x, nd)
        r, wsel = _max_pass(x3, 2, aw, track)
        out, hsel = _max_pass(r, 1, ah, track)
        ctx.sel, ctx.axes, ctx.nd, ctx.shape = (hsel, wsel), (ah, aw), nd, x.shape
        return _fresh(out, x).reshape(out_shape)

    @staticmethod
    def backward(ctx, grad):
        return MaxPoolBackward.apply(grad, ctx.sel, ctx.axes, ctx.nd, ctx.shape), None, None, None, None, None


class MaxPoolBackward(Op):
    """dx = zeros with each window's gradient added at its first maximum: the H scatter, then the W
    scatter (the forward's passes in reverse). Its backward gathers through the same winners."""

    @staticmethod
    def forward(ctx, g, sel, axes, nd, shape):
        (hsel, wsel), (ah, aw) = sel, axes
        ctx.sel, ctx.axes, ctx.nd, ctx.out_shape = sel, axes, nd, g.shape
        r = _scatter_pass(_planes(g, nd), hsel, 1, ah)
        return _fresh(_scatter_pass(r, wsel, 2, aw), g).reshape(shape)

    @staticmethod
    def backward(ctx, gg):
        return MaxPoolGather.apply(gg, ctx.sel, ctx.axes, ctx.nd, ctx.out_shape), None, None, None, None


class MaxPoolGather(Op):
    """out = x at each window's recorded maximum (max pooling with the winners fixed): the adjoint of
    :class:`MaxPoolBackward`, needed for second derivatives."""

    @staticmethod
    def forward(ctx, x, sel, axes, nd, out_shape):
        (hsel, wsel), (ah, aw) = sel, axes
        ctx.sel, ctx.axes, ctx.nd, ctx.shape = sel, axes, nd, x.shape
        r = _gather_pass(_planes(x, nd), wsel, 2, aw)
        return _fresh(_gather_pass(r, hsel, 1, ah), x).reshape(out_shape)

    @staticmethod
    def backward(ctx, grad):
        return MaxPoolBackward.apply(grad, ctx.sel, ctx.axes, ctx.nd, ctx.shape), None, None, None, None


def _flat_indices(sel, ah, aw, n_planes):
    """PyTorch's indices from the winners: row * W + col of each window's maximum in its input plane.

    NOTE: a window whose every input value is -inf takes its first input element (:func:`_max_pass` moves
    the winner off the padding, as PyTorch's search starts there). A window lying entirely in the padding
    gets the nearest input element by clipping (PyTorch: an index past the row)."""
    hsel, wsel = sel
    ho, wo = ah.n_out, aw.n_out
    row = np.arange(ho).reshape(1, ho, 1) * ah.s - ah.lo
    if hsel is not None:
        row = row + hsel.astype(np.int64) * ah.d
    row = np.clip(np.broadcast_to(row, (n_planes, ho, wo)), 0, ah.n_in - 1)
    col = np.arange(wo).reshape(1, 1, wo) * aw.s - aw.lo
    if wsel is not None:
        col = col + np.take_along_axis(wsel, row, axis=1).astype(np.int64) * aw.d
    col = np.clip(col, 0, aw.n_in - 1)
    return row * aw.n_in + col


def _max_pool(input, op, nd, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    shape = _check_planes(input, op, nd, need_float=False)
    axes = _pool_axes(op, shape, nd, kernel_size, stride, padding, dilation, ceil_mode)
    ah, aw = (_unit(1), axes[0]) if nd == 1 else axes
    out_shape = shape[:-nd] + tuple(a.n_out for a in axes)
    recording = input.requires_grad and state.enabled
    if not return_indices:
        return MaxPool.apply(input, ah, aw, nd, out_shape, recording)
    if recording:
        out = MaxPool.apply(input, ah, aw, nd, out_shape, True)
        sel = out.grad_fn.sel
    else:  # the same passes on the arrays, keeping the winners
        x = input._data
        r, wsel = _max_pass(_planes(x, nd), 2, aw, True)
        res, hsel = _max_pass(r, 1, ah, True)
        out, sel = _make(_fresh(res, x).reshape(out_shape)), (hsel, wsel)
    idx = _flat_indices(sel, ah, aw, math.prod(shape[:-nd]))
    return out, _make(idx.reshape(out_shape))


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
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


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
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
    """out[p, m] = x[p, idx[p, m]], x seen as planes (P, H*W). Backward: a scatter-add (duplicates sum)."""

    @staticmethod
    def forward(ctx, x, idx, out_shape):
        ctx.idx, ctx.shape = idx, x.shape
        planes = x.reshape(idx.shape[0], math.prod(x.shape) // max(idx.shape[0], 1))
        return xp.take_along_axis(planes, idx, axis=1).reshape(out_shape)

    @staticmethod
    def backward(ctx, grad):
        return PlaneScatter.apply(grad, ctx.idx, ctx.shape, True), None, None


class PlaneScatter(Op):
    """out = zeros(shape) seen as planes (P, H*W), with v[p, m] put at idx[p, m]: added up where an index
    repeats when ``accumulate`` (the adjoint of the gather: np.bincount, no np.add.at), else the last
    write wins (max_unpool2d). Backward: the gather."""

    @staticmethod
    def forward(ctx, v, idx, shape, accumulate):
        ctx.idx, ctx.shape = idx, v.shape
        n_planes, size = idx.shape[0], math.prod(shape) // max(idx.shape[0], 1)
        if accumulate:
            lin = (idx + (np.arange(n_planes) * size)[:, None]).reshape(-1)
            out = xp.bincount(lin, weights=v.reshape(-1), minlength=n_planes * size).astype(v.dtype, copy=False)
            return out.reshape(shape)
        out = xp.zeros((n_planes, size), dtype=v.dtype)
        xp.put_along_axis(out, idx, v.reshape(n_planes, -1), axis=1)
        return out.reshape(shape)

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


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
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
    k = _tuple(kernel_size, 2, op, "kernel_size")
    s = k if stride is None else _tuple(stride, 2, op, "stride")
    p = _tuple(padding, 2, op, "padding")
    ho, wo = _unpool_size(op, shape, k, s, p, output_size)
    n_planes = math.prod(shape[:-2])
    idx = indices._data.reshape(n_planes, -1).astype(np.intp, copy=False)
    if idx.size and (idx.min() < 0 or idx.max() >= ho * wo):
        bad = idx.min() if idx.min() < 0 else idx.max()
        raise RuntimeError(f"{op}: found an invalid max index {bad} (output planes are of size {ho}x{wo})")
    return PlaneScatter.apply(input, idx, shape[:-2] + (ho, wo), False)


# ================================================================================================
# average pooling
# ================================================================================================
class AvgPool(Op):
    """out = (window sums: the W pass, then the H pass) * scale, scale = 1 / divisor (a number, or an
    (H_out, W_out) array when the windows' divisors differ). Backward: :class:`AvgPoolBackward`."""

    @staticmethod
    def forward(ctx, x, ah, aw, nd, scale, out_shape):
        ctx.axes, ctx.nd, ctx.scale, ctx.shape = (ah, aw), nd, scale, x.shape
        x3 = _planes(x, nd)
        if _whole(ah) and _whole(aw):  # global average pooling: one GEMV (NOTE: ~50x numpy's sum here)
            p, h, w = x3.shape
            return (x3.reshape(p, h * w) @ xp.full(h * w, scale, dtype=x.dtype)).reshape(out_shape)
        out = _fresh(_sum_pass(_sum_pass(x3, 2, aw), 1, ah), x)
        out *= scale
        return out.reshape(out_shape)

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
        if _whole(ah) and _whole(aw):
            n = ah.n_in * aw.n_in
            return xp.broadcast_to((g * scale).reshape(-1, 1), (g.size, n)).reshape(shape)
        g3 = _planes(g, nd) * scale
        return _spread_pass(_spread_pass(g3, 1, ah), 2, aw).reshape(shape)

    @staticmethod
    def backward(ctx, gg):
        ah, aw = ctx.axes
        return AvgPool.apply(gg, ah, aw, ctx.nd, ctx.scale, ctx.out_shape), None, None, None, None


def _divisors(ax, count_include_pad):
    """PyTorch's divisor of each window along one axis: with count_include_pad the window clipped to the
    input plus padding (only ceil_mode windows lose anything), else clipped to the input."""
    start = np.arange(ax.n_out) * ax.s - ax.lo
    end = np.minimum(start + ax.k, ax.n_in + ax.lo)
    if count_include_pad:
        return end - start
    return np.minimum(end, ax.n_in) - np.maximum(start, 0)


def _avg_pool(input, op, nd, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    shape = _check_planes(input, op, nd)
    axes = _pool_axes(op, shape, nd, kernel_size, stride, padding, 1, ceil_mode)
    ah, aw = (_unit(1), axes[0]) if nd == 1 else axes
    out_shape = shape[:-nd] + tuple(a.n_out for a in axes)
    dtype = input._data.dtype
    if divisor_override is not None:
        if divisor_override == 0:
            raise RuntimeError(f"{op}: divisor_override must not be zero")
        scale = dtype.type(1.0 / divisor_override)
    else:
        div = _divisors(ah, count_include_pad)[:, None] * _divisors(aw, count_include_pad)[None, :]
        scale = dtype.type(1.0 / div.flat[0]) if np.all(div == div.flat[0]) else (1.0 / div).astype(dtype)
    return AvgPool.apply(input, ah, aw, nd, scale, out_shape)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
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


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
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


def _adaptive_bounds(n_in, n_out):
    """PyTorch's windows: start = floor(i n_in / n_out), end = ceil((i + 1) n_in / n_out)."""
    i = np.arange(n_out)
    return (i * n_in) // n_out, -((-(i + 1) * n_in) // n_out)


def _mean_matrix(n_in, n_out, dtype):
    """A (n_out, n_in) with A[i, start_i:end_i] = 1 / (end_i - start_i): the windows' means as a matrix."""
    start, end = _adaptive_bounds(n_in, n_out)
    pos = np.arange(n_in)
    inside = (pos >= start[:, None]) & (pos < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


class Separable(Op):
    """out = A_h x A_w^T for every plane x (a linear map along each axis; None: that axis unchanged).
    Backward: the same op with the transposed matrices (its own adjoint, so every order works).

    NOTE: with inf or NaN in x the GEMMs would multiply them by the matrices' zeros (0 * inf = NaN in every
    window); then each output sums only its window's entries (:func:`_window_map`), as PyTorch's kernels do."""

    @staticmethod
    def forward(ctx, x, mh, mw, nd, out_shape):
        ctx.m, ctx.nd, ctx.shape = (mh, mw), nd, x.shape
        y = _planes(x, nd)
        finite = bool(xp.isfinite(y).all())
        if mw is not None:
            p, h, w = y.shape
            if finite:
                y = (y.reshape(-1, w) @ mw.T).reshape(p, h, mw.shape[0])  # one GEMM over all rows
            else:
                y = _window_map(y, mw, 2)
        if mh is not None:
            y = xp.matmul(mh, y) if finite else _window_map(y, mh, 1)
        return _fresh(y, x).reshape(out_shape)

    @staticmethod
    def backward(ctx, grad):
        mh, mw = ctx.m
        return Separable.apply(grad, None if mh is None else mh.T, None if mw is None else mw.T, ctx.nd,
                               ctx.shape), None, None, None, None


def _window_map(y, m, axis):
    """``y`` with ``axis`` mapped by the matrix ``m`` (out, in), each output summing only the non-zero
    entries of its row (the window), one output position at a time: no 0 * inf from outside the window."""
    y = xp.moveaxis(y, axis, -1)
    out = xp.empty(y.shape[:-1] + (m.shape[0],), dtype=y.dtype)
    for r in range(m.shape[0]):
        cols = xp.nonzero(m[r])[0]
        out[..., r] = y[..., cols] @ m[r, cols]
    return xp.moveaxis(out, -1, axis)


def _adaptive_avg(input, op, nd, output_size):
    shape = _check_planes(input, op, nd)
    sizes = _adaptive_sizes(op, shape, nd, output_size)
    out_shape = shape[:-nd] + sizes
    ins = shape[-nd:]
    if all(n % o == 0 for n, o in zip(ins, sizes)):  # equal windows: plain average pooling (k = s = n / o)
        axes = [_Axis(n // o, n // o, 1, 0, n, o) for n, o in zip(ins, sizes)]
        ah, aw = (_unit(1), axes[0]) if nd == 1 else axes
        scale = input._data.dtype.type(1.0 / math.prod(a.k for a in axes))
        return AvgPool.apply(input, ah, aw, nd, scale, out_shape)
    dtype = input._data.dtype
    mats = [None if n == o else _mean_matrix(n, o, dtype) for n, o in zip(ins, sizes)]
    mh, mw = (None, mats[0]) if nd == 1 else mats
    return Separable.apply(input, mh, mw, nd, out_shape)


def adaptive_avg_pool1d(input, output_size):
    """out[n, c, i] = mean of input[n, c, start_i:end_i], start_i = floor(i L / L_out),
    end_i = ceil((i + 1) L / L_out): L_out windows that cover the input whatever its length.

    Shape: input (N, C, L) or (C, L); output (N, C, L_out) or (C, L_out).

    Example::

        >>> from nnzoo.ops.pool import adaptive_avg_pool1d
        >>> adaptive_avg_pool1d(nnzoo.tensor([[[1., 2., 3., 4., 5.]]]), 2)
        tensor([[[2., 4.]]])
    """
    return _adaptive_avg(input, "adaptive_avg_pool1d", 1, output_size)


def adaptive_avg_pool2d(input, output_size):
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


def _window_table(n_in, n_out):
    """(n_out, k_max) input positions of each adaptive window, short windows padded with their last
    position (a repeat never beats an earlier equal value under the first-maximum rule)."""
    start, end = _adaptive_bounds(n_in, n_out)
    k = int((end - start).max())
    return np.minimum(start[:, None] + np.arange(k), end[:, None] - 1)


def _adaptive_argmax(x3, ho, wo):
    """Flat index (row * W + col) of the first maximum (row-major) of each adaptive window, separably:
    per row and column window the first maximal column, then per row window the first maximal row
    (each window position j of the W pass is one np.take of the columns iw[:, j])."""
    p, h, w = x3.shape
    iw, ih = _window_table(w, wo), _window_table(h, ho)
    colmax, cs = _first_max([xp.take(x3, iw[:, j], axis=2) for j in range(iw.shape[1])], True)
    col = iw[np.arange(wo), cs]  # (P, H, W_out): the first maximal column of each row's window
    _, rs = _first_max([xp.take(colmax, ih[:, i], axis=1) for i in range(ih.shape[1])], True)
    row = ih[np.arange(ho)[:, None], rs]  # (P, H_out, W_out)
    return row * w + np.take_along_axis(col, row, axis=1)


def adaptive_max_pool2d(input, output_size, return_indices=False):
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
    x3 = _planes(input._data, 2)
    idx = _adaptive_argmax(x3, ho, wo).reshape(x3.shape[0], ho * wo)
    out = PlaneGather.apply(input, idx, out_shape)
    if return_indices:
        return out, _make(idx.reshape(out_shape).astype(np.int64, copy=False))
    return out


# ================================================================================================
# local response normalisation
# ================================================================================================
def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """b_c = a_c / (k + alpha / size * sum_{c'} a_{c'}^2)^beta, the sum over the ``size`` channels
    c - size // 2 <= c' <= c + (size - 1) // 2 (missing channels count as zeros): AlexNet's LRN,
    computed exactly as PyTorch does (an average of squares, always divided by ``size``).

    Composed from the average pooling of the squares along the channels and Tensor arithmetic, so
    every gradient comes from those ops.

    Shape: input (N, C, *) with at least 3 dims; output the same.

    Example::

        >>> from nnzoo.ops.pool import local_response_norm
        >>> local_response_norm(nnzoo.ones(1, 3, 1), 2, alpha=1.0, beta=1.0)
        tensor([[[0.6667],
                 [0.5000],
                 [0.5000]]])
    """
    _check_tensor(input, "local_response_norm")
    if input.ndim < 3:
        raise ValueError(f"local_response_norm: expected an input with 3 or more dims (N, C, *), got shape "
                         f"{tuple(input.shape)}")
    if input._data.size == 0:
        return input
    shape = tuple(input.shape)
    n, c = shape[0], shape[1]
    rest = math.prod(shape[2:])
    sq = (input * input).reshape(n, c, rest)  # (N, C, R): the channels play H, the rest W
    ac = _Axis(size, 1, 1, size // 2, c, c)  # pads size // 2 before, (size - 1) // 2 after
    div = AvgPool.apply(sq, ac, _unit(rest), 2, input._data.dtype.type(1.0 / size), (n, c, rest))
    div = (div.reshape(shape) * alpha + k) ** beta
    return input / div


# ================================================================================================
# interpolation
# ================================================================================================
class Resample(Op):
    """out = sum_t w_t * x[idx_t] along W, then along H: each axis a list of taps (idx, w) (nearest: one
    tap, w None; linear: two), or None (unchanged). Backward: :class:`ResampleBackward`."""

    @staticmethod
    def forward(ctx, x, th, tw, nd, out_shape):
        ctx.taps, ctx.nd, ctx.shape = (th, tw), nd, x.shape
        out = _resample_pass(_resample_pass(_planes(x, nd), 2, tw), 1, th)
        return _fresh(out, x).reshape(out_shape)

    @staticmethod
    def backward(ctx, grad):
        th, tw = ctx.taps
        return ResampleBackward.apply(grad, th, tw, ctx.nd, ctx.shape), None, None, None, None


class ResampleBackward(Op):
    """dx: the adjoint of :class:`Resample`: w_t * grad summed into the input positions idx_t (segment
    sums with np.add.reduceat, as the tap indices are sorted). Its backward is Resample again."""

    @staticmethod
    def forward(ctx, g, th, tw, nd, shape):
        ctx.taps, ctx.nd, ctx.out_shape = (th, tw), nd, g.shape
        n_h, n_w = (1, shape[-1]) if nd == 1 else shape[-2:]
        out = _resample_adjoint(_resample_adjoint(_planes(g, nd), 1, th, n_h), 2, tw, n_w)
        return _fresh(out, g).reshape(shape)

    @staticmethod
    def backward(ctx, gg):
        th, tw = ctx.taps
        return Resample.apply(gg, th, tw, ctx.nd, ctx.out_shape), None, None, None, None


def _weights_along(w, axis):
    return w if axis == 2 else w[:, None]


def _resample_pass(a, axis, taps):
    if taps is None:
        return a
    out = None
    for idx, w in taps:
        part = xp.take(a, idx, axis=axis)
        if w is not None:
            part *= _weights_along(w, axis)
        out = part if out is None else xp.add(out, part, out=out)
    return out


def _segment_sum_axis(v, idx, n, axis):
    """out[..., i, ...] = sum of v[..., m, ...] over m with idx[m] == i, for a sorted ``idx``."""
    starts = np.flatnonzero(np.diff(idx, prepend=-1))
    sums = xp.add.reduceat(v, starts, axis=axis)
    if len(starts) == n:  # every input position is used: they are 0..n-1 in order
        return sums
    shape = list(v.shape)
    shape[axis] = n
    out = xp.zeros(shape, dtype=v.dtype)
    out[_at(axis, idx[starts])] = sums
    return out


_DENSE_MAX = 1 << 16  # largest n_in * n_out whose adjoint runs as one dense GEMM


def _tap_matrix(taps, n_in, dtype):
    """The (n_out, n_in) matrix of the taps: M[o, idx_t[o]] += w_t[o] (a bincount, repeats add up)."""
    n_out = len(taps[0][0])
    rows = np.arange(n_out) * n_in
    lin = np.concatenate([rows + idx for idx, _ in taps])
    wts = np.concatenate([np.ones(n_out) if w is None else w for _, w in taps])
    return np.bincount(lin, weights=wts, minlength=n_out * n_in).reshape(n_out, n_in).astype(dtype)


def _resample_adjoint(g, axis, taps, n_in):
    """sum_t of w_t * g added into the input positions idx_t along ``axis``.

    NOTE: for small axes (n_in * n_out <= 65536: every image-sized case) this is g times the dense tap
    matrix, one BLAS call, ~10x faster than segment sums of 1-4 elements; bigger axes use
    np.add.reduceat over the runs of equal (sorted) indices."""
    if taps is None:
        return g
    n_out = g.shape[axis]
    if n_in * n_out <= _DENSE_MAX:
        m = _tap_matrix(taps, n_in, g.dtype)
        if axis == 2:
            p, h, _ = g.shape
            return (g.reshape(-1, n_out) @ m).reshape(p, h, n_in)
        return xp.matmul(m.T, g)
    out = None
    for idx, w in taps:
        part = _segment_sum_axis(g if w is None else g * _weights_along(w, axis), idx, n_in, axis)
        out = part if out is None else xp.add(out, part, out=out)
    return out


def _nearest_taps(n_in, n_out, scale, exact):
    """PyTorch's nearest source index: floor(dst * s) (nearest-exact: floor((dst + 0.5) * s)), capped at
    n_in - 1, with s = 1 / scale_factor when one was given, else n_in / n_out.
    NOTE: PyTorch computes s and the product in float32; so do we, or some indices would differ. A given
    scale_factor is used even when the size does not change (7 x 1.1 -> 7 repeats an element)."""
    if n_out == n_in and not scale:
        return None
    s = np.float32(1.0 / scale) if scale else np.float32(n_in) / np.float32(n_out)
    if exact:
        src = np.floor(((np.arange(n_out) + 0.5) * np.float64(s)).astype(np.float32))
    else:
        src = np.floor(np.arange(n_out, dtype=np.float32) * s)
    return ((np.minimum(src.astype(np.intp), n_in - 1), None),)


def _linear_taps(n_in, n_out, scale, align_corners, dtype):
    """PyTorch's linear interpolation along one axis, computed in the input's dtype: the source position
    src = dst * (n_in - 1) / (n_out - 1) with align_corners, else max((dst + 0.5) * s - 0.5, 0) with
    s = 1 / scale_factor or n_in / n_out; taps floor(src) and the next one, weights 1 - lambda, lambda."""
    if n_out == n_in:
        return None
    t = dtype.type
    dst = np.arange(n_out, dtype=dtype)
    if align_corners:
        s = t(n_in - 1) / t(n_out - 1) if n_out > 1 else t(0)
        src = s * dst
    else:
        s = t(1.0 / scale) if scale else t(n_in) / t(n_out)
        src = np.maximum(s * (dst + t(0.5)) - t(0.5), t(0))
    i0 = np.minimum(np.floor(src).astype(np.intp), n_in - 1)
    lam1 = np.clip(src - i0, 0, 1).astype(dtype)
    i1 = np.minimum(i0 + 1, n_in - 1)
    return ((i0, (t(1) - lam1).astype(dtype)), (i1, lam1))


_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "area")


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resample (N, C, L) or (N, C, H, W) inputs to ``size`` or by ``scale_factor``.

    Modes: 'nearest' (PyTorch's: source floor(dst * in / out)), 'nearest-exact' (floor((dst + 0.5) *
    in / out)), 'linear' (3-D input), 'bilinear' (4-D input), 'area' (adaptive average pooling).

    Args:
        size: the output's spatial size (int or tuple). scale_factor: a float or tuple; the output is
            floor(in * scale_factor), and the scale itself (not in / out) maps positions unless
            recompute_scale_factor=True.
        align_corners: linear modes only: map the corner pixels' centres onto each other
            (src = dst (in - 1) / (out - 1)) instead of the pixel areas (default False).

    Shape: (N, C, L) -> (N, C, L_out); (N, C, H, W) -> (N, C, H_out, W_out).

    Example::

        >>> from nnzoo.ops.pool import interpolate
        >>> interpolate(nnzoo.tensor([[[1., 2.]]]), scale_factor=2)
        tensor([[[1., 1., 2., 2.]]])
        >>> interpolate(nnzoo.tensor([[[1., 2.]]]), size=4, mode="linear")
        tensor([[[1.0000, 1.2500, 1.7500, 2.0000]]])
    """
    op = "interpolate"
    _check_tensor(input, op)
    shape = tuple(input.shape)
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("interpolate: align_corners option can only be set with the interpolating modes: "
                             "linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    if mode not in _MODES:
        raise NotImplementedError(f"interpolate: mode {mode!r} is not implemented (nnzoo has: "
                                  f"{', '.join(_MODES)})")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not implemented")
    nd = input.ndim - 2
    if nd not in (1, 2):
        raise NotImplementedError(f"interpolate: expected a 3-D (N, C, L) or 4-D (N, C, H, W) input, got shape "
                                  f"{shape}")
    if mode == "linear" and nd != 1 or mode == "bilinear" and nd != 2:
        want = "3D" if mode == "linear" else "4D"
        raise NotImplementedError(f"interpolate: got {nd + 2}D input (shape {shape}), but {mode} mode needs "
                                  f"{want} input")
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"interpolate: expected a floating-point input, got {input.dtype}")
    ins = shape[2:]
    if size is not None and scale_factor is not None:
        raise ValueError("interpolate: only one of size or scale_factor should be defined")
    if size is not None:
        if recompute_scale_factor:
            raise ValueError("interpolate: recompute_scale_factor is not meaningful with an explicit size.")
        sizes = tuple(size) if isinstance(size, (list, tuple)) else (size,) * nd
        if len(sizes) != nd:
            raise ValueError(f"interpolate: input with spatial dims {list(ins)} and output size {size}: they "
                             "must have the same number of spatial dims")
        outs, scales = tuple(int(o) for o in sizes), (None,) * nd
    elif scale_factor is not None:
        scales = tuple(scale_factor) if isinstance(scale_factor, (list, tuple)) else (scale_factor,) * nd
        if len(scales) != nd:
            raise ValueError(f"interpolate: input with spatial dims {list(ins)} and scale_factor "
                             f"{scale_factor}: they must have the same number of spatial dims")
        outs = tuple(int(math.floor(float(n) * float(s))) for n, s in zip(ins, scales))
        if recompute_scale_factor or mode == "area":
            scales = (None,) * nd
    else:
        raise ValueError("interpolate: either size or scale_factor should be defined")
    if any(o <= 0 for o in outs) or any(n <= 0 for n in ins):
        raise RuntimeError(f"interpolate: input and output sizes should be greater than 0, but got input "
                           f"{ins} and output {outs}")
    if mode == "area":
        return _adaptive_avg(input, "interpolate", nd, outs)
    dtype = input._data.dtype
    if mode in ("linear", "bilinear"):
        taps = [_linear_taps(n, o, s, align_corners, dtype) for n, o, s in zip(ins, outs, scales)]
    else:
        taps = [_nearest_taps(n, o, s, mode == "nearest-exact") for n, o, s in zip(ins, outs, scales)]
    th, tw = (None, taps[0]) if nd == 1 else taps
    return Resample.apply(input, th, tw, nd, shape[:2] + outs)


# ================================================================================================
# pixel shuffle
# ================================================================================================
def pixel_shuffle(input, upscale_factor):
    """(*, C r^2, H, W) -> (*, C, H r, W r): out[..., c, h r + i, w r + j] = in[..., c r^2 + i r + j, h, w].

    A reshape, a permute and a reshape (sub-pixel convolution's upsampling).

    Example::

        >>> from nnzoo.ops.pool import pixel_shuffle
        >>> pixel_shuffle(nnzoo.ones(1, 8, 3, 3), 2).shape
        nnzoo.Size([1, 2, 6, 6])
    """
    _check_tensor(input, "pixel_shuffle")
    r = int(upscale_factor)
    shape = tuple(input.shape)
    if input.ndim < 3:
        raise RuntimeError(f"pixel_shuffle: expected an input with at least 3 dims (*, C, H, W), got shape "
                           f"{shape}")
    if r <= 0:
        raise RuntimeError(f"pixel_shuffle: upscale_factor must be positive, got {r}")
    *lead, c, h, w = shape
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle: the channel dim {c} of the input of shape {shape} is not "
                           f"divisible by upscale_factor^2 = {r * r}")
    nl = len(lead)
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    x = x.permute(*range(nl), nl, nl + 3, nl + 1, nl + 4, nl + 2)  # (*, C, H, r, W, r)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H r, W r) -> (*, C r^2, H, W): the inverse of ``pixel_shuffle``.

    Example::

        >>> from nnzoo.ops.pool import pixel_unshuffle
        >>> pixel_unshuffle(nnzoo.ones(1, 2, 6, 6), 2).shape
        nnzoo.Size([1, 8, 3, 3])
    """
    _check_tensor(input, "pixel_unshuffle")
    r = int(downscale_factor)
    shape = tuple(input.shape)
    if input.ndim < 3:
        raise RuntimeError(f"pixel_unshuffle: expected an input with at least 3 dims (*, C, H, W), got shape "
                           f"{shape}")
    if r <= 0:
        raise RuntimeError(f"pixel_unshuffle: downscale_factor must be positive, got {r}")
    *lead, c, h, w = shape
    if h % r or w % r:
        raise RuntimeError(f"pixel_unshuffle: the height {h} and width {w} of the input of shape {shape} "
                           f"must be divisible by downscale_factor {r}")
    nl = len(lead)
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    x = x.permute(*range(nl), nl, nl + 2, nl + 4, nl + 1, nl + 3)  # (*, C, r, r, H, W)
    return x.reshape(*lead, c * r * r, h // r, w // r)
