"""Layer norm (and group norm's normalisation) on arrays: the row statistics and the normalised rows
forward, the hand-written first-order backward.

The Op (:class:`nnzoo.ops.norm.LayerNorm`) and its derivative are in :mod:`nnzoo.ops.norm`; there the
measurements of the fused form against the composed one and PyTorch.
"""
import math

from ..backend import xp

__all__ = ["layer_norm_forward", "layer_norm_backward"]


def layer_norm_forward(x, w, b, k, eps):
    """y = (x - mean) * rstd * w + b over the last ``k`` dims of ``x`` (w, b arrays or None), as a fresh
    array: (y, mean (M,), rstd (M,)), M the number of rows normalised."""
    n = math.prod(x.shape[x.ndim - k:])
    mu, rstd, y = _row_stats(x.reshape(-1, n), eps)  # y: a fresh (M, N) array holding xhat
    if w is not None:
        y *= w.reshape(n)
    if b is not None:
        y += b.reshape(n)
    return y.reshape(x.shape), mu, rstd


def _row_stats(x2, eps):
    """Mean and rstd = 1 / sqrt(var + eps) of each row of x2 (M, N), and xhat = (x2 - mean) * rstd as a
    fresh array. NOTE: the two-pass variance (the centred x is needed for xhat anyway), so no cancellation
    when |mean| >> std."""
    n = x2.shape[1]
    mu = xp.matmul(x2, xp.ones(n, dtype=x2.dtype))  # (M,) row sums by BLAS
    mu *= 1.0 / n
    xc = xp.subtract(x2, mu[:, None])  # (M, N) fresh
    v = xp.vecdot(xc, xc)  # (M,) sum of squares
    v *= 1.0 / n
    v += eps
    rstd = xp.sqrt(v, out=v)
    xp.reciprocal(rstd, out=rstd)
    xc *= rstd[:, None]
    return mu, rstd, xc


def layer_norm_backward(x, w, g, mu, rstd, k, need):
    """LayerNorm's gradients (dx, dw, db) on arrays (None where ``need`` says no), for a backward that
    records nothing; ``mu`` and ``rstd`` the forward's (M,) statistics, ``k`` the number of normalised dims.

    NOTE: dx is computed as rstd * gw + A * x + C, with per-row A = -rstd^3 (s2 - mean s1) / N and
    C = rstd (rstd^2 mean (s2 - mean s1) - s1) / N, where s1 = sum(gw) and s2 = sum(gw * x): the form of
    PyTorch's CPU kernel. It needs no xhat array (one pass less than the xhat form) and matches PyTorch's
    rounding; like it, dx loses ~log10(|mean| / std) digits when the mean dwarfs the spread.
    """
    shape = x.shape[x.ndim - k:]  # normalized_shape
    m, n = mu.shape[0], math.prod(shape)
    x2, g2 = x.reshape(m, n), g.reshape(m, n)
    w1 = None if w is None else w.reshape(n)
    gx = gw = gb = None
    q = None  # g * x, (M, N)
    if need[1] or (need[0] and w1 is not None):
        q = xp.multiply(g2, x2)
    if need[1]:  # dw = sum_i g (x - mean) rstd = rstd @ (g x) - (mean rstd) @ g
        gw = xp.matmul(rstd, q)
        gw -= xp.matmul(mu * rstd, g2)
        gw = gw.reshape(shape)
    if len(need) > 2 and need[2]:
        gb = xp.matmul(xp.ones(m, dtype=g2.dtype), g2).reshape(shape)
    if need[0]:
        if w1 is not None:
            s1 = xp.matmul(g2, w1)  # sum_j g w
            s2 = xp.matmul(q, w1)  # sum_j g w x
            d = xp.multiply(g2, w1)
            d *= rstd[:, None]
        else:
            s1 = xp.matmul(g2, xp.ones(n, dtype=g2.dtype))
            s2 = xp.vecdot(g2, x2)
            d = xp.multiply(g2, rstd[:, None])
        inv_n = 1.0 / n
        a = (s1 * mu - s2) * (rstd * rstd * rstd) * inv_n  # (M,)
        c = -a * mu - s1 * rstd * inv_n
        t = xp.multiply(x2, a[:, None], out=q) if q is not None else xp.multiply(x2, a[:, None])
        d += t
        d += c[:, None]
        gx = d.reshape(x.shape)
    return gx, gw, gb
