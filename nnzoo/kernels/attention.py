"""The fused attention core on arrays: the probabilities softmax(q k^T * scale + mask), made once in one
(..., L, S) buffer rewritten in place, and the backward from them.

The Op (:class:`nnzoo.ops.attention.ScaledDotProductAttention`), its derivative and the dropout are in
:mod:`nnzoo.ops.attention`; these are the array loops it calls when no graph is recorded.

Compiled kernels (see :mod:`nnzoo.kernels.jit`; the NumPy code stays as the reference and fallback): the
scale and softmax of the scores row by row in place (:func:`_probabilities_kernel`) and the softmax part of the
backward (:func:`_score_grad_kernel`), each one pass over the (..., L, S) array; the matrix products stay
with BLAS. NOTE: scaled_dot_product_attention forward + backward at (32, 4, 64, 32), float32: 1.46x faster
than on NumPy (paired, one process); the probabilities' e^x in place through ``_exp_row_`` (one array, so the
loop vectorises) made the kernel 3.6x faster again (1.96 -> 0.54 ms a call) and transformer_step 0.80x -> 0.88x
of PyTorch.
"""
import contextlib
import math

import numpy as np

from ..backend import xp
from . import jit
from .softmax import _exp_row_, _row_dot, _row_max, _row_sum
from .special import _FM

__all__ = ["joined_last", "matmul_like", "probabilities", "sdpa_backward", "shared_grads", "sum_to_array"]

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


def _matmul_t(a, b):
    """a @ b^T (b's last two dims swapped) for batched arrays.

    NOTE: NumPy's batched matmul is ~2x slower when its right operand is a transposed view: (32, 4, 64, 32) @
    (32, 4, 32, 64) took 487 us with k^T a view of the Transformer's packed q/k/v rows, 429 us with k^T copied
    contiguous first (the copy included); g v^T in the backward 494 -> 378 us (two threads, one process). A
    transposed left operand costs nothing (P^T g, dS^T q: 289-303 us either way), so only the right one is copied."""
    bt = xp.swapaxes(b, -1, -2)
    if bt.ndim >= 3 and bt.strides[-1] != bt.itemsize and type(bt) is np.ndarray:
        bt = xp.ascontiguousarray(bt)
    return xp.matmul(a, bt)


def matmul_like(a, b, like, shape, out=None):
    """a @ b summed down to ``shape`` (the gradient of the input ``like``, or the attention's output with
    ``like`` = q): when no sum is needed it is written into an array laid out in memory as ``like`` is (NumPy's
    ``empty_like`` order K).

    NOTE: the Transformer's q, k, v are (B, H, T, D) views of (B, T, H, D) rows; a gradient in that memory order
    reshapes back to (B, T, H * D) as a view, where a (B, H, T, D)-contiguous one was copied (~90 us each, three a
    layer, and the output's merge of the heads once more); matmul writes the strided output at the same speed (292
    against 287 us). ``out``: the array to write (from :func:`shared_grads`), used when no sum is needed."""
    full = xp.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + (a.shape[-2], b.shape[-1])
    if full != tuple(shape) or type(like) is not np.ndarray or like.dtype != xp.result_type(a, b):
        return sum_to_array(xp.matmul(a, b), shape)
    if out is None:
        if like.flags.c_contiguous:
            return xp.matmul(a, b)
        out = xp.empty_like(like, order="K")
    return xp.matmul(a, b, out=out)


def shared_grads(q, k, v):
    """Three arrays for dq, dk, dv in one fresh array laid out as the array q, k and v are views of, each in its
    input's place (same offset and strides), or None when q, k, v are not disjoint views of one C-contiguous array
    of their dtype. NOTE: the Transformer's q, k, v are column blocks of one packed projection (B, T, 3E); their
    gradients in one such array need no concatenation (:func:`joined_last`): one (B, T, 3E) copy fewer a layer."""
    base = q.base
    if base is None or k.base is not base or v.base is not base or type(base) is not np.ndarray \
            or not base.flags.c_contiguous or not q.dtype == k.dtype == v.dtype == base.dtype \
            or q is k or k is v or q is v:
        return None
    try:
        if xp.shares_memory(q, k, max_work=1000) or xp.shares_memory(k, v, max_work=1000) \
                or xp.shares_memory(q, v, max_work=1000):
            return None
    except np.exceptions.TooHardError:  # host: NumPy's exception for an overlap test beyond max_work
        return None
    buf = xp.empty(base.shape, base.dtype)
    start = base.ctypes.data
    return tuple(xp.ndarray(a.shape, a.dtype, buffer=buf, offset=a.ctypes.data - start, strides=a.strides)
                 for a in (q, k, v))


def joined_last(parts):
    """The array whose last dim is the concatenation of ``parts`` (arrays of one shape and strides) when they
    already are its consecutive blocks in memory (a view of their common base, no copy), else None."""
    a0 = parts[0]
    base = a0.base
    if base is None or not a0.ndim or type(a0) is not np.ndarray:
        return None
    step = a0.strides[-1]
    width = a0.shape[-1]
    for i, a in enumerate(parts):
        if type(a) is not np.ndarray or a.base is not base or a.shape != a0.shape or a.strides != a0.strides \
                or a.dtype != a0.dtype or a.ctypes.data != a0.ctypes.data + i * width * step:
            return None
    shape = a0.shape[:-1] + (width * len(parts),)
    if type(base) is np.ndarray and base.flags.c_contiguous:
        return xp.ndarray(shape, a0.dtype, buffer=base, offset=a0.ctypes.data - base.ctypes.data, strides=a0.strides)
    return xp.lib.stride_tricks.as_strided(a0, shape, a0.strides)


def probabilities(q, k, mask, scale, safe):
    """P = softmax(q k^T * scale + mask) over the keys, in one (..., L, S) array written in place.

    ``mask``: None, a bool array (True = take part) or a float array added to the scores, broadcastable
    to (..., L, S). With ``safe`` a row whose scores are all -inf gives probabilities 0 (PyTorch's SDPA);
    without, NaN (a plain softmax)."""
    s = _matmul_t(q, k)  # (..., L, S)
    if mask is None and s.size and jit.use(s):  # scale and softmax in one pass
        s = xp.ascontiguousarray(s)  # matmul keeps the batch dims' order of non-contiguous q and k
        _probabilities_kernel(s.reshape(-1, s.shape[-1]), scale, safe)
        return s
    s *= s.dtype.type(scale)
    if mask is not None:
        full = xp.broadcast_shapes(s.shape, mask.shape)
        if full != s.shape:  # the mask has batch dims q and k lack
            s = xp.broadcast_to(s, full).copy()
        if mask.dtype == np.bool_:
            xp.copyto(s, -xp.inf, where=~mask)
        else:
            s += mask
    if s.size and jit.use(s):  # the mask applied: the softmax in one pass
        s = xp.ascontiguousarray(s)
        _probabilities_kernel(s.reshape(-1, s.shape[-1]), 1.0, safe)
        return s
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
    outs = (None, None, None)
    if need[0] and need[1] and need[2] and q.shape == sq and k.shape == sk and v.shape == sv:
        outs = shared_grads(q, k, v) or outs
    if need[2]:
        pd = p if keep is None else p * keep
        gv = matmul_like(xp.swapaxes(pd, -1, -2), g, v, sv, outs[2])
    if need[0] or need[1] or need[3]:
        ds = _matmul_t(g, v)  # dPd, (..., L, S)
        if gw is not None:
            ds += gw
        fused = ds.shape == p.shape and p.size and (keep is None or keep.shape == p.shape) and \
            (jit.use(ds, p) if keep is None else jit.use(ds, p, keep)) and ds.dtype == p.dtype
        if fused:  # the keep mask, the softmax's backward and (without a mask gradient) the scale in one pass
            ds = xp.ascontiguousarray(ds)
            rows = p.shape[-1]
            _score_grad_kernel(ds.reshape(-1, rows), xp.ascontiguousarray(p).reshape(-1, rows),
                               None if keep is None else xp.ascontiguousarray(keep, dtype=p.dtype).reshape(-1, rows),
                               1.0 if need[3] else scale)
        else:
            if keep is not None:
                ds *= keep
            ds *= p
            r = _row_sums(ds)
            ds -= p * r  # dS = P * (dP - sum(dP * P))
        if need[3]:
            gm = sum_to_array(ds, sm)
            gm = gm.copy() if gm is ds else gm  # ds is scaled in place next
        if need[3] or not fused:
            ds *= ds.dtype.type(scale)
        if need[0]:
            gq = matmul_like(ds, k, q, sq, outs[0])
        if need[1]:
            gk = matmul_like(xp.swapaxes(ds, -1, -2), q, k, sk, outs[1])
    return gq, gk, gv, gm


# ---- compiled kernels ------------------------------------------------------------------------------------
@jit.kernel(fastmath=_FM)
def _probabilities_kernel(s, scale, safe):
    """Each row of s (n, S) becomes softmax(row * scale), in place (scale 1: no scaling pass); with ``safe``
    a row whose max is -inf (every key masked) becomes 0 instead of nan."""
    one = s.dtype.type(1)
    sc = s.dtype.type(scale)
    for i in range(s.shape[0]):
        r = s[i]
        if scale != 1.0:
            for j in range(r.size):
                r[j] *= sc
        m = _row_max(r)
        if safe and m == -np.inf:
            r[:] = 0
            continue
        _exp_row_(r, m)
        inv = one / _row_sum(r)
        for j in range(r.size):
            r[j] *= inv


@jit.kernel(fastmath=_FM)
def _score_grad_kernel(ds, p, keep, scale):
    """The scores' gradient from the probabilities' in place, row by row: ds = dPd (* keep); t = ds * p;
    ds = (t - p * sum(t)) * scale."""
    sc = ds.dtype.type(scale)
    for i in range(ds.shape[0]):
        d = ds[i]
        pr = p[i]
        if keep is not None:
            kr = keep[i]
            for j in range(d.size):
                d[j] *= kr[j]
        r = _row_dot(d, pr)
        if scale != 1.0:
            for j in range(d.size):
                d[j] = (d[j] * pr[j] - pr[j] * r) * sc
        else:
            for j in range(d.size):
                d[j] = d[j] * pr[j] - pr[j] * r

