"""Interpolation kernels: the array code of ``nnzoo.ops.interpolate``. Arrays in, arrays out.

Resampling is separable: along each axis the output is a sum of taps, out[o] = sum_t w_t[o] x[idx_t[o]]
(nearest: one tap of weight 1; linear: two), applied along W and then along H to planes (P, H, W). The
adjoint adds w_t * g back into the positions idx_t: a GEMM with the dense tap matrix for image-sized axes,
segment sums over the sorted indices for long ones.
"""
from __future__ import annotations

import numpy as np

from ..backend import xp
from .pool import fresh

__all__ = ["nearest_taps", "linear_taps", "resample", "resample_adjoint"]


def _at(axis, sl):
    return (slice(None),) * axis + (sl,)


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
    starts = xp.flatnonzero(xp.diff(idx, prepend=-1))
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
    rows = xp.arange(n_out) * n_in
    lin = xp.concatenate([rows + idx for idx, _ in taps])
    wts = xp.concatenate([xp.ones(n_out) if w is None else w for _, w in taps])
    return xp.bincount(lin, weights=wts, minlength=n_out * n_in).reshape(n_out, n_in).astype(dtype)


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


def nearest_taps(n_in: int, n_out: int, scale: float | None, exact: bool):
    """PyTorch's nearest source index: floor(dst * s) (nearest-exact: floor((dst + 0.5) * s)), capped at
    n_in - 1, with s = 1 / scale_factor when one was given, else n_in / n_out.
    NOTE: PyTorch computes s and the product in float32; so do we, or some indices would differ. A given
    scale_factor is used even when the size does not change (7 x 1.1 -> 7 repeats an element)."""
    if n_out == n_in and not scale:
        return None
    s = np.float32(1.0 / scale) if scale else np.float32(n_in) / np.float32(n_out)
    if exact:
        src = xp.floor(((xp.arange(n_out) + 0.5) * np.float64(s)).astype(np.float32))
    else:
        src = xp.floor(xp.arange(n_out, dtype=np.float32) * s)
    return ((xp.minimum(src.astype(xp.intp), n_in - 1), None),)


def linear_taps(n_in: int, n_out: int, scale: float | None, align_corners: bool, dtype):
    """PyTorch's linear interpolation along one axis, computed in the input's dtype: the source position
    src = dst * (n_in - 1) / (n_out - 1) with align_corners, else max((dst + 0.5) * s - 0.5, 0) with
    s = 1 / scale_factor or n_in / n_out; taps floor(src) and the next one, weights 1 - lambda, lambda."""
    if n_out == n_in:
        return None
    t = dtype.type
    dst = xp.arange(n_out, dtype=dtype)
    if align_corners:
        s = t(n_in - 1) / t(n_out - 1) if n_out > 1 else t(0)
        src = s * dst
    else:
        s = t(1.0 / scale) if scale else t(n_in) / t(n_out)
        src = xp.maximum(s * (dst + t(0.5)) - t(0.5), t(0))
    i0 = xp.minimum(xp.floor(src).astype(xp.intp), n_in - 1)
    lam1 = xp.clip(src - i0, 0, 1).astype(dtype)
    i1 = xp.minimum(i0 + 1, n_in - 1)
    return ((i0, (t(1) - lam1).astype(dtype)), (i1, lam1))


def resample(x3: np.ndarray, th, tw) -> np.ndarray:
    """The planes x3 (P, H, W) resampled along W by the taps tw, then along H by th (None: unchanged),
    as a new array."""
    return fresh(_resample_pass(_resample_pass(x3, 2, tw), 1, th), x3)


def resample_adjoint(g3: np.ndarray, th, tw, n_h: int, n_w: int) -> np.ndarray:
    """The adjoint of :func:`resample`: g3 (P, H_out, W_out) taken back to planes (P, n_h, n_w)."""
    return fresh(_resample_adjoint(_resample_adjoint(g3, 1, th, n_h), 2, tw, n_w), g3)
