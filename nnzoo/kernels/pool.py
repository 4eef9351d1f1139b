"""Pooling kernels: the array code of ``nnzoo.ops.pool`` (and of ``local_response_norm``, an average pooling
along the channels). Arrays in, arrays out; the Op classes and the argument checks live in ``nnzoo.ops.pool``.

Layout. Pooling treats every (sample, channel) plane alike, so each op views its input as a stack of
planes (P, H, W) (a 1-D op as (P, 1, L); an unbatched input is just fewer planes, see :func:`planes`) and
gives the output back in the input's leading shape.

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

Compiled kernels (where :func:`nnzoo.kernels.jit.use` allows; the passes above stay the reference and the
fallback): max pooling is one pass over each plane that keeps each window's winner as its flat position
(PyTorch's index), its backward one scatter-add and the gather one pass, prange over planes; 2x2 windows take
an unrolled, branch-free body. 2x2 average pooling and its spread are one pass each; other average windows
keep the NumPy passes (the general compiled form was slower: numbers at :func:`_avg_pool_2x2_kernel`).
"""
from __future__ import annotations

import functools
import math

import numpy as np

from ..backend import xp
from . import jit, threads
from .jit import prange

__all__ = ["Axis", "planes", "unit", "fresh", "whole", "first_max", "max_pool", "max_pool_scatter", "max_pool_gather",
           "avg_pool", "avg_pool_spread", "divisors", "flat_indices", "plane_gather", "plane_scatter",
           "adaptive_bounds", "mean_matrix", "separable", "adaptive_argmax"]


# NOTE: a max-pool kernel call over fewer than this many input elements runs its serial build (one thread):
# the CIFAR Net's pools (384, 28, 28) and (1024, 10, 10) at two threads, paired step against the parallel
# build: 1.11x [1.07, 1.27]; alone, (1024, 10, 10) forward 56 us serial against 140 us on two Numba threads
# (the launch and the second core's wake-up cost more than the work). VGG's (2048, 32, 32) stays parallel
# (1.6 ms against 2.1 ms serial).
_PARALLEL_MIN = 1 << 20


def _build(k, size):
    """The kernel build for a call over ``size`` input elements: serial below _PARALLEL_MIN or inside a
    ``threads.pair`` half, parallel otherwise."""
    return k.serial if size < _PARALLEL_MIN or threads.in_pair() else k.parallel


# ================================================================================================
# geometry: one axis of a window
# ================================================================================================
class Axis:
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
        return f"Axis(k={self.k}, s={self.s}, d={self.d}, lo={self.lo}, n_in={self.n_in}, n_out={self.n_out})"


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
    fill = -xp.inf if a.dtype.kind == "f" else np.iinfo(a.dtype).min
    a = _pad(a, axis, ax, fill)
    out, sel = first_max([a[_at(axis, ax.window(j))] for j in range(ax.k)], track)
    if sel is not None and ax.lo:
        # NOTE: where every input value of a window is -inf (the fill) the first maximum is a padding tap; the
        # winner becomes the window's first input tap, where PyTorch's search starts (index and gradient)
        start = xp.arange(ax.n_out) * ax.s - ax.lo
        first = xp.where(start < 0, (-start + ax.d - 1) // ax.d, 0)  # first tap j inside the input
        first = xp.where(first < ax.k, first, 0).astype(sel.dtype)  # a window wholly in the padding: unchanged
        shape = [1] * sel.ndim
        shape[axis] = ax.n_out
        sel = xp.maximum(sel, first.reshape(shape))
    return out, sel


def first_max(parts, track):
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


def whole(ax):
    """One window over the whole axis."""
    return ax.k == ax.n_in and ax.n_out == 1 and ax.lo == 0


def _sum_pass(a, axis, ax):
    """Sum over the windows along ``axis`` (zero padding)."""
    if ax.identity:
        return a
    if whole(ax):  # one window over everything: a plain reduction
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
    if whole(ax):
        return xp.broadcast_to(g, g.shape[:axis] + (ax.n_in,) + g.shape[axis + 1:]).copy()
    out, n_assign = _adjoint_out(g.shape, axis, ax, g.dtype)
    for j in range(ax.k):
        dst = out[_at(axis, ax.window(j))]
        if j < n_assign:
            dst[...] = g
        else:
            dst += g
    return _crop(out, axis, ax)


def planes(x, nd):
    """View x (*, H, W) as planes (P, H, W); with nd=1, x (*, L) as (P, 1, L)."""
    if nd == 1:
        return x.reshape((-1, 1) + x.shape[-1:])
    return x.reshape((-1,) + x.shape[-2:])


def unit(n):
    """The axis a 1-D op pools along H: size 1, nothing to do."""
    return Axis(1, 1, 1, 0, n, n)


def fresh(out, x):
    """``out`` if it is a new array, else a copy (an op's output must not alias its input)."""
    return out.copy() if xp.may_share_memory(out, x) else out


def flat_indices(sel, ah, aw, n_planes):
    """PyTorch's indices from the winners: row * W + col of each window's maximum in its input plane.

    NOTE: a window whose every input value is -inf takes its first input element (:func:`_max_pass` moves
    the winner off the padding, as PyTorch's search starts there). A window lying entirely in the padding
    gets the nearest input element by clipping (PyTorch: an index past the row). The compiled forward's
    winners are these positions already."""
    if not isinstance(sel, tuple):
        idx = sel.astype(np.int64)
        if idx.size and idx.min() < 0:  # windows wholly in the padding: their start, clipped
            rfirst, _, _ = _taps(ah)
            cfirst, _, _ = _taps(aw)
            idx = xp.where(idx >= 0, idx, rfirst[:, None] * aw.n_in + cfirst[None, :])
        return idx
    hsel, wsel = sel
    ho, wo = ah.n_out, aw.n_out
    row = xp.arange(ho).reshape(1, ho, 1) * ah.s - ah.lo
    if hsel is not None:
        row = row + hsel.astype(np.int64) * ah.d
    row = xp.clip(xp.broadcast_to(row, (n_planes, ho, wo)), 0, ah.n_in - 1)
    col = xp.arange(wo).reshape(1, 1, wo) * aw.s - aw.lo
    if wsel is not None:
        col = col + xp.take_along_axis(wsel, row, axis=1).astype(np.int64) * aw.d
    col = xp.clip(col, 0, aw.n_in - 1)
    return row * aw.n_in + col


def divisors(ax, count_include_pad):
    """PyTorch's divisor of each window along one axis: with count_include_pad the window clipped to the
    input plus padding (only ceil_mode windows lose anything), else clipped to the input."""
    start = xp.arange(ax.n_out) * ax.s - ax.lo
    end = xp.minimum(start + ax.k, ax.n_in + ax.lo)
    if count_include_pad:
        return end - start
    return xp.minimum(end, ax.n_in) - xp.maximum(start, 0)


def adaptive_bounds(n_in, n_out):
    """PyTorch's windows: start = floor(i n_in / n_out), end = ceil((i + 1) n_in / n_out)."""
    i = xp.arange(n_out)
    return (i * n_in) // n_out, -((-(i + 1) * n_in) // n_out)


def mean_matrix(n_in, n_out, dtype):
    """A (n_out, n_in) with A[i, start_i:end_i] = 1 / (end_i - start_i): the windows' means as a matrix."""
    start, end = adaptive_bounds(n_in, n_out)
    pos = xp.arange(n_in)
    inside = (pos >= start[:, None]) & (pos < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def _window_map(y, m, axis):
    """``y`` with ``axis`` mapped by the matrix ``m`` (out, in), each output summing only the non-zero
    entries of its row (the window), one output position at a time: no 0 * inf from outside the window."""
    y = xp.moveaxis(y, axis, -1)
    out = xp.empty(y.shape[:-1] + (m.shape[0],), dtype=y.dtype)
    for r in range(m.shape[0]):
        cols = xp.nonzero(m[r])[0]
        out[..., r] = y[..., cols] @ m[r, cols]
    return xp.moveaxis(out, -1, axis)


def _window_table(n_in, n_out):
    """(n_out, k_max) input positions of each adaptive window, short windows padded with their last
    position (a repeat never beats an earlier equal value under the first-maximum rule)."""
    start, end = adaptive_bounds(n_in, n_out)
    k = int((end - start).max())
    return xp.minimum(start[:, None] + xp.arange(k), end[:, None] - 1)


def adaptive_argmax(x3, ho, wo):
    """Flat index (row * W + col) of the first maximum (row-major) of each adaptive window, separably:
    per row and column window the first maximal column, then per row window the first maximal row
    (each window position j of the W pass is one np.take of the columns iw[:, j])."""
    _, h, w = x3.shape
    iw, ih = _window_table(w, wo), _window_table(h, ho)
    colmax, cs = first_max([xp.take(x3, iw[:, j], axis=2) for j in range(iw.shape[1])], True)
    col = iw[xp.arange(wo), cs]  # (P, H, W_out): the first maximal column of each row's window
    _, rs = first_max([xp.take(colmax, ih[:, i], axis=1) for i in range(ih.shape[1])], True)
    row = ih[xp.arange(ho)[:, None], rs]  # (P, H_out, W_out)
    return row * w + xp.take_along_axis(col, row, axis=1)


# ================================================================================================
# whole ops on planes (P, H, W): what the Op classes of nnzoo.ops.pool call
# ================================================================================================
def max_pool(x3: np.ndarray, ah: Axis, aw: Axis, track: bool) -> tuple[np.ndarray, tuple]:
    """(out, sel): the maxima of the windows of the planes x3 (the W pass, then the H pass) as a new array,
    and with ``track`` the winners (hsel, wsel) of each pass (None where not tracked or an axis is the
    identity).

    The compiled kernel (:func:`_max_pool_kernel`, one pass) records instead the flat position r * W + c of
    each window's winner, an (P, H_out, W_out) array: the scatter, the gather and :func:`flat_indices` take
    either form."""
    if jit.use(x3):
        rfirst, rcount, rfull = _taps(ah)
        cfirst, ccount, cfull = _taps(aw)
        two = ah.k == aw.k == 2 and rfull and cfull
        if two or track:  # NOTE: untracked, other windows are faster in NumPy (3x3/2 pad 1: 13 ms against 20)
            x3 = xp.ascontiguousarray(x3)
            n_planes, h, w = x3.shape
            out = xp.empty((n_planes, ah.n_out, aw.n_out), dtype=x3.dtype)
            idx = xp.empty(out.shape if track else (1, 1, 1), dtype=np.int32 if h * w < 2 ** 31 else np.int64)
            if two:
                _build(_max_pool_2x2_kernel, x3.size)(x3, rfirst, ah.d, cfirst, aw.d, out, idx, track)
            else:
                _build(_max_pool_kernel, x3.size)(x3, rfirst, rcount, ah.d, cfirst, ccount, aw.d, out, idx, track)
            return out, (idx if track else (None, None))
    r, wsel = _max_pass(x3, 2, aw, track)
    out, hsel = _max_pass(r, 1, ah, track)
    return fresh(out, x3), (hsel, wsel)


def max_pool_scatter(g3: np.ndarray, sel: tuple, ah: Axis, aw: Axis) -> np.ndarray:
    """The adjoint of :func:`max_pool`: each window's gradient in g3 added at its first maximum (the H
    scatter, then the W scatter; or, for the compiled forward's flat positions, one scatter-add)."""
    if not isinstance(sel, tuple):
        n_planes, size, n_out = g3.shape[0], ah.n_in * aw.n_in, ah.n_out * aw.n_out
        idx = sel.reshape(n_planes, n_out)
        if jit.use(g3):
            out = xp.empty((n_planes, size), dtype=g3.dtype)
            _build(_max_pool_scatter_kernel, out.size)(xp.ascontiguousarray(g3).reshape(n_planes, n_out), idx, out)
        else:
            g2 = g3.reshape(n_planes, n_out)
            if idx.size and idx.min() < 0:  # windows wholly in the padding: no gradient
                g2, idx = xp.where(idx >= 0, g2, 0), xp.maximum(idx, 0)
            out = plane_scatter(g2, idx, size, True)
        return out.reshape(n_planes, ah.n_in, aw.n_in)
    hsel, wsel = sel
    return fresh(_scatter_pass(_scatter_pass(g3, hsel, 1, ah), wsel, 2, aw), g3)


def max_pool_gather(x3: np.ndarray, sel: tuple, ah: Axis, aw: Axis) -> np.ndarray:
    """The adjoint of :func:`max_pool_scatter`: x3 at each window's recorded maximum."""
    if not isinstance(sel, tuple):
        n_planes, size = x3.shape[0], ah.n_in * aw.n_in
        idx = sel.reshape(n_planes, ah.n_out * aw.n_out)
        if jit.use(x3):
            out = xp.empty(idx.shape, dtype=x3.dtype)
            _max_pool_gather_kernel(xp.ascontiguousarray(x3).reshape(n_planes, size), idx, out)
        else:
            out = xp.take_along_axis(x3.reshape(n_planes, size), xp.maximum(idx, 0), axis=1)
            if idx.size and idx.min() < 0:
                out[idx < 0] = 0
        return out.reshape(n_planes, ah.n_out, aw.n_out)
    hsel, wsel = sel
    return fresh(_gather_pass(_gather_pass(x3, wsel, 2, aw), hsel, 1, ah), x3)


def avg_pool(x3: np.ndarray, ah: Axis, aw: Axis, scale) -> np.ndarray:
    """The window sums of the planes x3 (the W pass, then the H pass) times ``scale`` (a number, or an
    (H_out, W_out) array), as a new array."""
    if whole(ah) and whole(aw):  # global average pooling: one GEMV (NOTE: ~50x numpy's sum here)
        p, h, w = x3.shape
        return (x3.reshape(p, h * w) @ xp.full(h * w, scale, dtype=x3.dtype)).reshape(p, 1, 1)
    if ah.k == aw.k == 2 and jit.use(x3):
        rfirst, _, rfull = _taps(ah)
        cfirst, _, cfull = _taps(aw)
        if rfull and cfull:
            out = xp.empty((x3.shape[0], ah.n_out, aw.n_out), dtype=x3.dtype)
            _avg_pool_2x2_kernel(xp.ascontiguousarray(x3), rfirst, cfirst, _scale2(scale, out), out)
            return out
    out = fresh(_sum_pass(_sum_pass(x3, 2, aw), 1, ah), x3)
    out *= scale
    return out


def avg_pool_spread(g3: np.ndarray, ah: Axis, aw: Axis, scale) -> np.ndarray:
    """The adjoint of :func:`avg_pool`: g3 * scale spread over each window's inputs (the H pass, then the W
    pass; overlapping windows add up), planes (P, H, W)."""
    if whole(ah) and whole(aw):
        p = g3.shape[0]
        return xp.broadcast_to((g3 * scale).reshape(-1, 1), (g3.size, ah.n_in * aw.n_in)).reshape(p, ah.n_in, aw.n_in)
    if ah.k == aw.k == 2 and jit.use(g3):
        rfirst, _, rfull = _taps(ah)
        cfirst, _, cfull = _taps(aw)
        if rfull and cfull:
            out = xp.empty((g3.shape[0], ah.n_in, aw.n_in), dtype=g3.dtype)
            _avg_pool_2x2_spread_kernel(xp.ascontiguousarray(g3), rfirst, cfirst, _scale2(scale, g3), out)
            return out
    return _spread_pass(_spread_pass(g3 * scale, 1, ah), 2, aw)


def _scale2(scale, out):
    """The (H_out, W_out) scale of each window, in out's dtype (a number broadcast)."""
    shape = out.shape[1:]
    if isinstance(scale, np.ndarray) and scale.shape == shape:
        return scale.astype(out.dtype, copy=False)
    return xp.full(shape, scale, dtype=out.dtype)


def plane_gather(x: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """out[p, m] = x[p, idx[p, m]], x seen as planes (P, H*W) with P = idx.shape[0]."""
    planes_ = x.reshape(idx.shape[0], math.prod(x.shape) // max(idx.shape[0], 1))
    return xp.take_along_axis(planes_, idx, axis=1)


def plane_scatter(v: np.ndarray, idx: np.ndarray, size: int, accumulate: bool) -> np.ndarray:
    """out (P, size) = zeros with v[p, m] put at idx[p, m]: added up where an index repeats when
    ``accumulate`` (a bincount, no np.add.at), else the last write wins."""
    n_planes = idx.shape[0]
    if accumulate:
        lin = (idx + (xp.arange(n_planes) * size)[:, None]).reshape(-1)
        out = xp.bincount(lin, weights=v.reshape(-1), minlength=n_planes * size).astype(v.dtype, copy=False)
        return out.reshape(n_planes, size)
    out = xp.zeros((n_planes, size), dtype=v.dtype)
    xp.put_along_axis(out, idx, v.reshape(n_planes, -1), axis=1)
    return out


def separable(x3: np.ndarray, mh: np.ndarray | None, mw: np.ndarray | None) -> np.ndarray:
    """out = mh @ x @ mw^T for every plane x of x3 (None: that axis unchanged), as a new array.

    NOTE: with inf or NaN in x the GEMMs would multiply them by the matrices' zeros (0 * inf = NaN in every
    window); then each output sums only its window's entries (:func:`_window_map`), as PyTorch's kernels do."""
    y = x3
    finite = bool(xp.isfinite(y).all())
    if mw is not None:
        p, h, w = y.shape
        if finite:
            y = (y.reshape(-1, w) @ mw.T).reshape(p, h, mw.shape[0])  # one GEMM over all rows
        else:
            y = _window_map(y, mw, 2)
    if mh is not None:
        y = xp.matmul(mh, y) if finite else _window_map(y, mh, 1)
    return fresh(y, x3)


# ================================================================================================
# compiled kernels (Numba): one pass over the planes each, prange over planes
# ================================================================================================


def _taps(ax):
    """(first, count, full) of :func:`_axis_taps`, cached per axis geometry (the same every step)."""
    return _axis_taps(ax.k, ax.s, ax.d, ax.lo, ax.n_in, ax.n_out)


@functools.lru_cache(maxsize=256)
def _axis_taps(k, s, d, lo, n_in, n_out):
    """Per output position of one axis, the window's taps inside the input: ``first``, the position of the
    first one (a window lying wholly in the padding: its start clipped to the input), and ``count``; the taps
    are first, first + d, ... (int64 arrays of n_out); ``full``: every window has its k taps inside."""
    start = xp.arange(n_out, dtype=np.int64) * s - lo
    j0 = xp.where(start < 0, (-start + d - 1) // d, 0)
    j1 = xp.minimum((n_in - start + d - 1) // d, k)
    count = xp.maximum(j1 - j0, 0)
    first = xp.where(count > 0, start + j0 * d, xp.clip(start, 0, n_in - 1))
    return first, count, bool((count == k).all())


@jit.kernel(parallel=True)
def _max_pool_kernel(x, rfirst, rcount, dh, cfirst, ccount, dw, out, idx, track):
    """out[p, i, j] = max of plane p over window (i, j) (its input taps: rows rfirst[i] + a dh, a < rcount[i],
    columns likewise), and with ``track`` idx[p, i, j] = its flat position r * W + c: the first maximum in
    row-major order, or the last NaN (PyTorch's ``val > max || isnan(val)``); a window of -inf only keeps its
    first input position, a window wholly in the padding gets -1 (:func:`flat_indices` reports its start
    clipped to the plane, as the NumPy path)."""
    n_planes, w = x.shape[0], x.shape[2]
    ho, wo = out.shape[1], out.shape[2]
    for p in prange(n_planes):
        for oi in range(ho):
            for oj in range(wo):
                best = rfirst[oi] * w + cfirst[oj]
                if rcount[oi] == 0 or ccount[oj] == 0:
                    best = -1  # no input under the window: -inf, and no gradient
                m = -np.inf
                r = rfirst[oi]
                for _ in range(rcount[oi]):
                    c = cfirst[oj]
                    for _ in range(ccount[oj]):
                        v = x[p, r, c]
                        t = (v > m) | (v != v)
                        m = v if t else m
                        best = r * w + c if t else best
                        c += dw
                    r += dh
                out[p, oi, oj] = m
                if track:
                    idx[p, oi, oj] = best


@jit.kernel(parallel=True)
def _max_pool_2x2_kernel(x, rfirst, dh, cfirst, dw, out, idx, track):
    """:func:`_max_pool_kernel` for 2x2 windows that all lie inside the input (any stride and dilation).

    NOTE: the four taps unrolled and branch-free: 0.8-1.1 ms against 5.4 ms for the loops over the taps on
    (2048, 32, 32) float32 (the select's dependency chain bounds a window, not memory; unrolled, the windows
    overlap in the pipeline). NumPy's separable passes take 2.7 ms with the winners, 1.0 ms without."""
    n_planes, w = x.shape[0], x.shape[2]
    ho, wo = out.shape[1], out.shape[2]
    for p in prange(n_planes):
        for oi in range(ho):
            r0 = rfirst[oi]
            r1 = r0 + dh
            for oj in range(wo):
                c0 = cfirst[oj]
                c1 = c0 + dw
                m = x[p, r0, c0]
                best = r0 * w + c0
                v = x[p, r0, c1]
                t = (v > m) | (v != v)
                m = v if t else m
                best = r0 * w + c1 if t else best
                v = x[p, r1, c0]
                t = (v > m) | (v != v)
                m = v if t else m
                best = r1 * w + c0 if t else best
                v = x[p, r1, c1]
                t = (v > m) | (v != v)
                m = v if t else m
                best = r1 * w + c1 if t else best
                out[p, oi, oj] = m
                if track:
                    idx[p, oi, oj] = best


@jit.kernel(parallel=True)
def _max_pool_scatter_kernel(g, idx, out):
    """out[p] = zeros with g[p, m] added at idx[p, m] (out (P, H*W), g and idx (P, M); idx -1: nowhere)."""
    n_planes, size = out.shape
    for p in prange(n_planes):
        for i in range(size):
            out[p, i] = 0
        for m in range(g.shape[1]):
            k = idx[p, m]
            if k >= 0:
                out[p, k] += g[p, m]


@jit.kernel(parallel=True)
def _max_pool_gather_kernel(x, idx, out):
    """out[p, m] = x[p, idx[p, m]] (x (P, H*W), idx and out (P, M); idx -1: 0)."""
    for p in prange(out.shape[0]):
        for m in range(out.shape[1]):
            k = idx[p, m]
            out[p, m] = x[p, k] if k >= 0 else 0


@jit.kernel(parallel=True)
def _avg_pool_2x2_kernel(x, rfirst, cfirst, scale, out):
    """out[p, i, j] = ((x[r, c] + x[r, c + 1]) + (x[r + 1, c] + x[r + 1, c + 1])) * scale[i, j] for 2x2 windows
    inside the input, r = rfirst[i], c = cfirst[j]: the NumPy path's sums in its order (the W pass, then the
    H pass), so the same bits.

    NOTE: 2x2 windows only: 0.6-1.1 ms against NumPy's 1.8-2.4 ms on (2048, 32, 32) float32; the general form
    (loops over the taps, any window) took 2.9 ms against NumPy's 2.9 ms forward and 6.9 against 2.3 ms for
    the spread, so other windows keep the NumPy passes."""
    ho, wo = out.shape[1], out.shape[2]
    for p in prange(x.shape[0]):
        for oi in range(ho):
            r0 = rfirst[oi]
            r1 = r0 + 1
            for oj in range(wo):
                c0 = cfirst[oj]
                c1 = c0 + 1
                out[p, oi, oj] = ((x[p, r0, c0] + x[p, r0, c1]) + (x[p, r1, c0] + x[p, r1, c1])) * scale[oi, oj]


@jit.kernel(parallel=True)
def _avg_pool_2x2_spread_kernel(g, rfirst, cfirst, scale, out):
    """out = g[p, i, j] * scale[i, j] at the four positions of each 2x2 window; positions no window covers
    are zero (windows overlap only with stride 1, then their shares add up)."""
    ho, wo = g.shape[1], g.shape[2]
    for p in prange(g.shape[0]):
        for r in range(out.shape[1]):
            for c in range(out.shape[2]):
                out[p, r, c] = 0
        for oi in range(ho):
            r0 = rfirst[oi]
            r1 = r0 + 1
            for oj in range(wo):
                c0 = cfirst[oj]
                c1 = c0 + 1
                v = g[p, oi, oj] * scale[oi, oj]
                out[p, r0, c0] += v
                out[p, r0, c1] += v
                out[p, r1, c0] += v
                out[p, r1, c1] += v


_max_pool_kernel = threads.split_aware(_max_pool_kernel)
_max_pool_2x2_kernel = threads.split_aware(_max_pool_2x2_kernel)
_max_pool_scatter_kernel = threads.split_aware(_max_pool_scatter_kernel)
