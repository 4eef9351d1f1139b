"""The fused attention core on arrays: the probabilities softmax(q k^T * scale + mask), made once in one
(..., L, S) buffer rewritten in place, and the backward from them.

The Op (:class:`nnzoo.ops.attention.ScaledDotProductAttention`), its derivative and the dropout are in
:mod:`nnzoo.ops.attention`; these are the array loops it calls when no graph is recorded.
"""
import contextlib
import math

import numpy as np

from ..backend import xp

__all__ = ["probabilities", "sdpa_backward", "sum_to_array"]

_NO_ERRSTATE = contextlib.nullcontext()


def sum_to_array(a, shape):
    """Sum the array ``a`` down to ``shape`` (undo a broadcast), as ``sum_to`` does for Tensors."""
    if a.shape == tuple(shape):
        return a
    lead = a.ndim - len(shape)
    kept = tuple(i + lead for i, s in enumerate(shape) if s == 1 and a.shape[i + lead] != 1)
    out = a.sum(axis=tuple(range(lead)) + kept, keepdims=True)
    return out.reshape(shape)


def _row_sums(a):
    """sum over the last dim, keepdims.

    NOTE: NumPy's sum reduces short contiguous rows (64 keys) one row at a time; einsum's sum-of-products
    loop runs over all of them at once: 0.05 ms instead of 0.22 ms for (32, 4, 64, 64) float32 (a GEMV with
    a vector of ones is as fast single-threaded but stalls when OpenBLAS threads it on a busy machine)."""
    return xp.einsum("...j->...", a)[..., None]


def probabilities(q, k, mask, scale, safe):
    """P = softmax(q k^T * scale + mask) over the keys, in one (..., L, S) array written in place.

    ``mask``: None, a bool array (True = take part) or a float array added to the scores, broadcastable
    to (..., L, S). With ``safe`` a row whose scores are all -inf gives probabilities 0 (PyTorch's SDPA);
    without, NaN (a plain softmax)."""
    s = xp.matmul(q, xp.swapaxes(k, -1, -2))  # (..., L, S)
    s *= s.dtype.type(scale)
    if mask is not None:
        full = xp.broadcast_shapes(s.shape, mask.shape)
        if full != s.shape:  # the mask has batch dims q and k lack
            s = xp.broadcast_to(s, full).copy()
        if mask.dtype == np.bool_:
            xp.copyto(s, -xp.inf, where=~mask)
        else:
            s += mask
    m = s.max(axis=-1, keepdims=True)
    finite = math.isfinite(m.sum())
    if not finite and safe:
        dead = m == -xp.inf  # fully masked rows: probabilities 0, not NaN
        m[dead] = 0
    with np.errstate(invalid="ignore") if not finite else _NO_ERRSTATE:
        s -= m
        xp.exp(s, out=s)
        den = _row_sums(s)
        if not finite and safe:
            den[dead] = 1
        s /= den
    return s


def sdpa_backward(q, k, v, p, keep, g, gw, scale, shapes, need):
    """The gradients (dq, dk, dv, dmask) of out = (P * keep) v from P (the probabilities), the output's
    gradient ``g`` and the weights' ``gw`` (or None); ``keep`` dropout's kept-and-rescaled mask (or None),
    ``shapes`` those of q, k, v and the mask (each gradient is summed down to its input's shape), ``need``
    which of q, k, v, mask want one (None for the others):
        dv = Pd^T g;  dPd = g v^T + gw;  dP = dPd * keep;  dS = P * (dP - sum(dP * P, keys));
        dmask = dS;  dq = dS k * scale;  dk = dS^T q * scale."""
    sq, sk, sv, sm = shapes
    gq = gk = gv = gm = None
    if need[2]:
        pd = p if keep is None else p * keep
        gv = sum_to_array(xp.matmul(xp.swapaxes(pd, -1, -2), g), sv)
    if need[0] or need[1] or need[3]:
        ds = xp.matmul(g, xp.swapaxes(v, -1, -2))  # dPd, (..., L, S)
        if gw is not None:
            ds += gw
        if keep is not None:
            ds *= keep
        ds *= p
        r = _row_sums(ds)
        ds -= p * r  # dS = P * (dP - sum(dP * P))
        if need[3]:
            gm = sum_to_array(ds, sm)
            gm = gm.copy() if gm is ds else gm  # ds is scaled in place next
        ds *= ds.dtype.type(scale)
        if need[0]:
            gq = sum_to_array(xp.matmul(ds, k), sq)
        if need[1]:
            gk = sum_to_array(xp.matmul(xp.swapaxes(ds, -1, -2), q), sk)
    return gq, gk, gv, gm
