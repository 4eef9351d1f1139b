"""Layer norm (and group norm's normalisation) and batch norm in training on arrays: the statistics and the
normalised values forward, the hand-written first-order backward.

The Ops (:class:`nnzoo.ops.norm.LayerNorm`, :class:`nnzoo.ops.norm.BatchNorm`) and their derivatives are in
:mod:`nnzoo.ops.norm`; there the measurements of the fused forms against the composed ones and PyTorch.

Layer norm has two paths: NumPy (row sums as BLAS products, ~17 whole-array passes) and, where
:func:`nnzoo.kernels.jit.use` allows, compiled kernels that make one pass over each row forward and backward.
Batch norm in training is composed of Tensor ops on the NumPy path (:func:`nnzoo.ops.norm.batch_norm`); the
compiled kernels here fuse it, one pass over each channel forward and backward; :func:`batch_norm_forward`
and :func:`batch_norm_backward` keep a NumPy twin of each as their reference.
"""
import math

import numpy as np

from ..backend import xp
from . import jit

__all__ = ["layer_norm_forward", "layer_norm_backward", "batch_norm_compiled", "batch_norm_forward",
           "batch_norm_backward"]


def _flat(a, n):
    """a as a C-contiguous (-1, n) array (a copy only when it is not contiguous)."""
    return xp.ascontiguousarray(a).reshape(-1, n)


def _vec(a, n, dtype):
    """a as a contiguous (n,) array; None as an empty one (the kernels test ``.size``: one compiled version
    serves every combination of present and absent arrays, where None arguments would each need their own)."""
    return xp.empty(0, dtype=dtype) if a is None else xp.ascontiguousarray(a).reshape(n)


def _out(shape, dtype, need):
    """A fresh output array, or an empty one of the same rank when it is not needed."""
    return xp.empty(shape if need else (0,) * len(shape), dtype=dtype)


def layer_norm_forward(x, w, b, k, eps):
    """y = (x - mean) * rstd * w + b over the last ``k`` dims of ``x`` (w, b arrays or None), as a fresh
    array: (y, mean (M,), rstd (M,)), M the number of rows normalised; mean and rstd in x's dtype."""
    n = math.prod(x.shape[x.ndim - k:])
    if jit.use(x, *[a for a in (w, b) if a is not None]):
        x2 = _flat(x, n)
        m = x2.shape[0]
        y = xp.empty((m, n), dtype=x.dtype)
        mu = xp.empty(m, dtype=x.dtype)
        rstd = xp.empty(m, dtype=x.dtype)
        _layer_norm_forward_kernel(x2, _vec(w, n, x.dtype), _vec(b, n, x.dtype), float(eps), y, mu, rstd)
        return y.reshape(x.shape), mu, rstd
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
    if g.dtype == x.dtype and jit.use(x, g, mu, rstd, *([] if w is None else [w])):
        return _layer_norm_backward_compiled(x, w, g, mu, rstd, shape, need)
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


def _layer_norm_backward_compiled(x, w, g, mu, rstd, shape, need):
    m, n = mu.shape[0], math.prod(shape)
    nblocks = max(1, min(m, _CHUNKS))
    need_b = len(need) > 2 and need[2]
    dx = _out((m, n), x.dtype, need[0])
    pw = xp.zeros((nblocks, n) if need[1] else (0, 0), dtype=np.float64)
    pb = xp.zeros((nblocks, n) if need_b else (0, 0), dtype=np.float64)
    _layer_norm_backward_kernel(_flat(x, n), _vec(w, n, x.dtype), _flat(g, n), mu, rstd, dx, pw, pb, nblocks)
    return (dx.reshape(x.shape) if need[0] else None,
            pw.sum(0).astype(x.dtype).reshape(shape) if need[1] else None,
            pb.sum(0).astype(x.dtype).reshape(shape) if need_b else None)


# ---- batch norm in training ----------------------------------------------------------------------------------
def batch_norm_compiled(x, w, b):
    """Whether the compiled batch norm kernels take these arrays (NumPy float32/float64, weight and bias of
    the input's dtype or None): otherwise the caller composes batch norm from Tensor ops."""
    params = [a for a in (w, b) if a is not None]
    return all(a.dtype == x.dtype for a in params) and jit.use(x, *params)


def _channels(x):
    """x (B, C, *) as a C-contiguous (B, C, L)."""
    return xp.ascontiguousarray(x).reshape(x.shape[0], x.shape[1], -1)


def batch_norm_forward(x, w, b, eps):
    """Batch norm with the batch's statistics: (y, mean, var), y = (x - mean) / sqrt(var + eps) * w + b as a
    fresh array of x's shape, mean and the biased var per channel (dim 1, over all other dims) as float64 (C,)
    arrays; w, b: (C,) arrays or None. Compiled where :func:`batch_norm_compiled` says so, else NumPy."""
    c = x.shape[1]
    if batch_norm_compiled(x, w, b):
        x3 = _channels(x)
        y = xp.empty(x3.shape, dtype=x.dtype)
        mean = xp.empty(c, dtype=np.float64)
        var = xp.empty(c, dtype=np.float64)
        w1, b1 = _vec(w, c, x.dtype), _vec(b, c, x.dtype)
        if x3.shape[2] == 1:
            _batch_norm_rows_forward_kernel(x3.reshape(x.shape[0], c), w1, b1, float(eps), y.reshape(x.shape[0], c),
                                            mean, var, _ROW_BLOCK)
        else:
            _batch_norm_forward_kernel(x3, w1, b1, float(eps), y, mean, var)
        return y.reshape(x.shape), mean, var
    x3 = x.reshape(x.shape[0], c, -1).astype(np.float64)
    mean = x3.mean(axis=(0, 2))
    xc = x3 - mean[:, None]
    var = (xc * xc).mean(axis=(0, 2))
    k = 1.0 / xp.sqrt(var + eps)
    if w is not None:
        k = k * w
    y = xc * k[:, None] + (0.0 if b is None else b[:, None])
    return y.astype(x.dtype).reshape(x.shape), mean, var


def batch_norm_backward(x, w, g, mean, rstd, need):
    """BatchNorm's first-order gradients (dx, dw, db) on arrays, None where ``need`` says no; ``mean`` and
    ``rstd`` the forward's float64 (C,) statistics: dw = sum g xhat, db = sum g (per channel, xhat = (x - mean)
    rstd), dx = w rstd (g - mean(g) - xhat mean(g xhat)). Compiled where the arrays allow it, else NumPy."""
    c = x.shape[1]
    need_b = len(need) > 2 and need[2]
    if g.dtype == x.dtype and batch_norm_compiled(x, w, None):
        x3, g3 = _channels(x), _channels(g)
        dx = _out(x3.shape, x.dtype, need[0])
        dw = _out((c,), np.float64, need[1])
        db = _out((c,), np.float64, need_b)
        if x3.shape[2] == 1:
            _batch_norm_rows_backward_kernel(x3.reshape(x.shape[0], c), _vec(w, c, x.dtype),
                                             g3.reshape(x.shape[0], c), mean, rstd,
                                             dx.reshape(dx.shape[0], dx.shape[1]), dw, db, _ROW_BLOCK)
        else:
            _batch_norm_backward_kernel(x3, _vec(w, c, x.dtype), g3, mean, rstd, dx, dw, db)
        dx = dx.reshape(x.shape) if need[0] else None
    else:
        x3 = x.reshape(x.shape[0], c, -1).astype(np.float64)
        g3 = g.reshape(x3.shape).astype(np.float64)
        xhat = (x3 - mean[:, None]) * rstd[:, None]
        sg, sgx = g3.sum(axis=(0, 2)), (g3 * xhat).sum(axis=(0, 2))
        dw, db = sgx, sg
        dx = None
        if need[0]:
            k = rstd if w is None else rstd * w
            cnt = x3.shape[0] * x3.shape[2]
            dx = (k[:, None] * (g3 - (sg / cnt)[:, None] - xhat * (sgx / cnt)[:, None])).reshape(x.shape)
    return (None if dx is None or not need[0] else dx.astype(x.dtype, copy=False),
            None if dw is None or not need[1] else dw.astype(x.dtype),
            None if db is None or not need_b else db.astype(x.dtype))


# ================================================================================================
# compiled kernels (Numba): layer norm over rows, batch norm over channels, one pass each
# ================================================================================================
# NOTE: fastmath={"reassoc"} only: it lets LLVM split the sums into vector lanes (a row sum of float32 in 0.14 ms
# per million elements against 0.58 ms for the sequential loop, NumPy's sum 0.19 ms), as NumPy's pairwise sums
# reorder them; no flag about NaN, inf or signed zeros, so those propagate as in the NumPy path. The statistics
# are accumulated in float64 whatever the input (free here: the lanes hide the conversion), so a float32 result
# is the float64 one rounded once: it matches the NumPy path's float32 sums to ~1e-6.
# NOTE: one thread (no prange): at the workloads' sizes a second thread did not pay. Measured with
# numba.set_num_threads(1) and (2) alternating in one process on the shared 2-core machine (load 6-9): layer norm
# (2048, 128) float32 forward 0.31 ms on one thread, 0.60 ms on two, backward 0.34 against 0.54 ms; batch norm
# (64, 32, 16, 16) forward 0.32 against 0.32 ms, backward 0.43 against 0.43 ms (a parallel region waits for its
# slowest thread, and on a busy machine that thread is often descheduled).
_REASSOC = {"reassoc"}
_ROW_BLOCK = 64  # batch norm on (B, C): channels per block
_CHUNKS = 16  # layer norm backward: dw and db summed per block of rows, then over the blocks (any thread count)


@jit.kernel(fastmath=_REASSOC)
def _layer_norm_forward_kernel(x, w, b, eps, y, mu, rstd):
    """Per row i of x (M, N): mu[i] = mean, rstd[i] = 1 / sqrt(mean((x - mu)^2) + eps) (two passes, summed in
    float64, stored in x's dtype), y[i] = (x[i] - mu[i]) * rstd[i] * w + b (w, b: (N,) arrays, or empty: none)
    in x's dtype, as the NumPy path. NOTE: the element-wise step in float32 for float32 input: 0.12 ms against 0.23 ms
    in float64 on (2048, 128)."""
    m, n = x.shape
    for i in range(m):
        s = 0.0
        for j in range(n):
            s += x[i, j]
        mean = s / n
        q = 0.0
        for j in range(n):
            d = x[i, j] - mean
            q += d * d
        mu[i] = mean
        rstd[i] = 1.0 / np.sqrt(q / n + eps)
        mi, r = mu[i], rstd[i]
        if w.size == 0:
            if b.size == 0:
                for j in range(n):
                    y[i, j] = (x[i, j] - mi) * r
            else:
                for j in range(n):
                    y[i, j] = (x[i, j] - mi) * r + b[j]
        else:
            if b.size == 0:
                for j in range(n):
                    y[i, j] = (x[i, j] - mi) * r * w[j]
            else:
                for j in range(n):
                    y[i, j] = (x[i, j] - mi) * r * w[j] + b[j]


@jit.kernel(fastmath=_REASSOC)
def _layer_norm_backward_kernel(x, w, g, mu, rstd, dx, pw, pb, nblocks):
    """LayerNorm's gradients row by row, xhat = (x - mu) rstd and gw = g w (g without a weight):
    dx[i] = rstd (gw - mean(gw) - xhat mean(gw xhat)) (the two means summed in float64); and for the blocks of
    rows b (``nblocks`` blocks of consecutive rows), pw[b] = sum over its rows of g xhat, pb[b] = sum of g
    (float64). dx, pw, pb: arrays, or empty when not needed."""
    m, n = x.shape
    per = (m + nblocks - 1) // nblocks
    t = x.dtype.type
    for blk in range(nblocks):
        for i in range(blk * per, min(m, (blk + 1) * per)):
            mean, r = mu[i], rstd[i]
            if dx.size != 0:
                s1 = 0.0
                s2 = 0.0
                if w.size == 0:
                    for j in range(n):
                        gv = g[i, j]
                        s1 += gv
                        s2 += gv * (x[i, j] - mean)
                else:
                    for j in range(n):
                        gv = g[i, j] * w[j]
                        s1 += gv
                        s2 += gv * (x[i, j] - mean)
                a = t(s1 / n)
                c = t(s2 * r * r / n)  # mean(gw xhat) rstd
                if w.size == 0:
                    for j in range(n):
                        dx[i, j] = r * (g[i, j] - a - (x[i, j] - mean) * c)
                else:
                    for j in range(n):
                        dx[i, j] = r * (g[i, j] * w[j] - a - (x[i, j] - mean) * c)
            if pw.size != 0:
                for j in range(n):
                    pw[blk, j] += g[i, j] * ((x[i, j] - mean) * r)
            if pb.size != 0:
                for j in range(n):
                    pb[blk, j] += g[i, j]


@jit.kernel(fastmath=_REASSOC)
def _batch_norm_forward_kernel(x, w, b, eps, y, mean, var):
    """Per channel c of x (B, C, L): mean[c], var[c] = the mean and biased variance over (B, L) (two passes,
    float64), y[:, c] = (x[:, c] - mean[c]) * k + h in x's dtype, k = w[c] / sqrt(var[c] + eps), h = b[c]
    (w, b: (C,) arrays, or empty: none)."""
    nb, nc, nl = x.shape
    cnt = nb * nl
    t = x.dtype.type
    for c in range(nc):
        s = 0.0
        for i in range(nb):
            for j in range(nl):
                s += x[i, c, j]
        mu = s / cnt
        q = 0.0
        for i in range(nb):
            for j in range(nl):
                d = x[i, c, j] - mu
                q += d * d
        v = q / cnt
        mean[c] = mu
        var[c] = v
        k = 1.0 / np.sqrt(v + eps)
        if w.size != 0:
            k = k * w[c]
        h = t(0.0)
        if b.size != 0:
            h = b[c]
        mt, kt = t(mu), t(k)
        for i in range(nb):
            for j in range(nl):
                y[i, c, j] = (x[i, c, j] - mt) * kt + h


@jit.kernel(fastmath=_REASSOC)
def _batch_norm_backward_kernel(x, w, g, mean, rstd, dx, dw, db):
    """BatchNorm's gradients per channel c, xhat = (x - mean) rstd over (B, L): dw[c] = sum g xhat,
    db[c] = sum g (float64), dx = w rstd (g - mean(g) - xhat mean(g xhat)) in x's dtype. dx, dw, db: arrays, or
    empty when not needed."""
    nb, nc, nl = x.shape
    cnt = nb * nl
    t = x.dtype.type
    for c in range(nc):
        mu = mean[c]
        r = rstd[c]
        mt = t(mu)
        sg = 0.0
        sgx = 0.0
        for i in range(nb):
            for j in range(nl):
                gv = g[i, c, j]
                sg += gv
                sgx += gv * (x[i, c, j] - mt)
        if dw.size != 0:
            dw[c] = sgx * r
        if db.size != 0:
            db[c] = sg
        if dx.size != 0:
            k = r
            if w.size != 0:
                k = r * w[c]
            kt, a, q = t(k), t(sg / cnt), t(sgx * r * r / cnt)
            for i in range(nb):
                for j in range(nl):
                    dx[i, c, j] = kt * (g[i, c, j] - a - (x[i, c, j] - mt) * q)


@jit.kernel()
def _batch_norm_rows_forward_kernel(x, w, b, eps, y, mean, var, block):
    """:func:`_batch_norm_forward_kernel` for x (B, C) (one value per channel and sample): blocks of ``block``
    channels at a time, each sweeping the rows with a float64 accumulator per channel (contiguous along C)."""
    nb, nc = x.shape
    t = x.dtype.type
    for blk in range((nc + block - 1) // block):
        c0 = blk * block
        c1 = min(nc, c0 + block)
        s = np.zeros(c1 - c0)
        for i in range(nb):
            for c in range(c0, c1):
                s[c - c0] += x[i, c]
        for c in range(c0, c1):
            mean[c] = s[c - c0] / nb
            s[c - c0] = 0.0
        for i in range(nb):
            for c in range(c0, c1):
                d = x[i, c] - mean[c]
                s[c - c0] += d * d
        mt = np.empty(c1 - c0, dtype=x.dtype)
        kt = np.empty(c1 - c0, dtype=x.dtype)
        ht = np.zeros(c1 - c0, dtype=x.dtype)
        for c in range(c0, c1):
            var[c] = s[c - c0] / nb
            k = 1.0 / np.sqrt(var[c] + eps)
            if w.size != 0:
                k = k * w[c]
            if b.size != 0:
                ht[c - c0] = b[c]
            mt[c - c0] = t(mean[c])
            kt[c - c0] = t(k)
        for i in range(nb):
            for c in range(c0, c1):
                y[i, c] = (x[i, c] - mt[c - c0]) * kt[c - c0] + ht[c - c0]


@jit.kernel()
def _batch_norm_rows_backward_kernel(x, w, g, mean, rstd, dx, dw, db, block):
    """:func:`_batch_norm_backward_kernel` for x (B, C), by blocks of channels as the forward."""
    nb, nc = x.shape
    t = x.dtype.type
    for blk in range((nc + block - 1) // block):
        c0 = blk * block
        c1 = min(nc, c0 + block)
        mt = np.empty(c1 - c0, dtype=x.dtype)
        for c in range(c0, c1):
            mt[c - c0] = t(mean[c])
        sg = np.zeros(c1 - c0)
        sgx = np.zeros(c1 - c0)
        for i in range(nb):
            for c in range(c0, c1):
                gv = g[i, c]
                sg[c - c0] += gv
                sgx[c - c0] += gv * (x[i, c] - mt[c - c0])
        for c in range(c0, c1):
            if dw.size != 0:
                dw[c] = sgx[c - c0] * rstd[c]
            if db.size != 0:
                db[c] = sg[c - c0]
        if dx.size != 0:
            kt = np.empty(c1 - c0, dtype=x.dtype)
            at = np.empty(c1 - c0, dtype=x.dtype)
            qt = np.empty(c1 - c0, dtype=x.dtype)
            for c in range(c0, c1):
                r = rstd[c]
                k = r
                if w.size != 0:
                    k = r * w[c]
                kt[c - c0] = t(k)
                at[c - c0] = t(sg[c - c0] / nb)
                qt[c - c0] = t(sgx[c - c0] * r * r / nb)
            for i in range(nb):
                for c in range(c0, c1):
                    dx[i, c] = kt[c - c0] * (g[i, c] - at[c - c0] - (x[i, c] - mt[c - c0]) * qt[c - c0])
