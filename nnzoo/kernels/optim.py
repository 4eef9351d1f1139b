"""Optimizer updates as one compiled pass per parameter: SGD, Adam/AdamW, RMSprop, Adagrad.

Each public function applies the whole step of one parameter in place, ``maximize`` and weight decay
included: it reads the gradient once and writes the parameter and the optimizer's buffers once. The NumPy
reference is the optimizer's own loop (``Optimizer.step`` with the algorithm's ``_update``, which follow
PyTorch's ``foreach=False`` code); these kernels do the same float operations in the same order on the
same dtype, so the results are bitwise equal (float32 scalars are rounded to float32 first, as NumPy
does with a Python number beside a float32 array; no fastmath, so no fused multiply-adds).

NOTE: divisions are written ``np.divide(a, b)``: Numba's ``a / b`` checks for a zero divisor (to raise
ZeroDivisionError as Python does), and that branch keeps LLVM from vectorising the loop (a 4.5x slower
``m / (sqrt(v) / c + eps)`` on 200k float32); ``np.divide`` is IEEE division (x/0 = inf), as NumPy's.

A function returns False without touching anything when the arrays do not suit the kernel (a parameter,
gradient or buffer of another dtype, shape or memory layout than a C-contiguous parameter, or Numba
missing, or ``jit.mode("numpy")``); the caller then runs the NumPy path. Gradients that are views are
copied contiguous first (they are only read).

NOTE: measured on the 784-256-256-10 MLP (batch 128, 2 cores): Adam's NumPy update is ~13 passes over
each parameter and ~7 temporaries; the fused pass is one (numbers in benchmarks/README.md).
"""
import math

import numpy as np

from ..backend import xp
from . import jit

__all__ = ["adagrad_step", "adam_step", "rmsprop_step", "sgd_step"]


def _flat(x, g, buffers):
    """``x``, ``g`` and the buffers as 1-D views for a kernel, or None when they do not suit one: all NumPy
    arrays of ``x``'s float dtype and shape, ``x`` and the buffers C-contiguous and writeable (they are
    written in place; a gradient view is copied contiguous, it is only read). None entries of ``buffers`` stay None."""
    if not jit.use(x) or not x.flags.c_contiguous or not x.flags.writeable or type(g) is not np.ndarray \
            or g.dtype != x.dtype or g.shape != x.shape:
        return None  # (a read-only parameter: NumPy's path raises NumPy's error)
    if not g.flags.c_contiguous:
        g = np.ascontiguousarray(g)  # host: read-only input of a compiled kernel, made contiguous once
    out = [x, g]
    for b in buffers:
        if b is not None and (type(b) is not np.ndarray or b.dtype != x.dtype or b.shape != x.shape
                              or not b.flags.c_contiguous or not b.flags.writeable):
            return None
        out.append(b)
    if x.ndim != 1:  # one compiled signature: views, no copies
        out = [a if a is None else a.reshape(-1) for a in out]
    return out


def _scalars(x, *values):
    """The step's numbers as one array of ``x``'s dtype: each rounded once to that dtype, as NumPy rounds a
    Python number next to a float32 array (NOTE: one small array, ~0.6 us, against ~0.2 us a number for
    ``np.float32(v)`` and Numba's slower typing of NumPy scalars)."""
    return xp.array(values, dtype=x.dtype)


_UNUSED = {}


def _unused(dtype):
    """A one-element array standing in for a buffer the kernel will not touch (momentum off, no amsgrad).
    NOTE: not another argument's array: LLVM's vectoriser checks at run time that the arrays a loop
    writes do not overlap the others, and an aliased stand-in fails that check and runs the scalar loop
    (RMSprop's pass 4x slower)."""
    a = _UNUSED.get(dtype)
    if a is None:
        a = _UNUSED[dtype] = xp.zeros(1, dtype)
    return a


_SGD_PLAIN_MIN = 1 << 17  # sizes below which sgd_step leaves the step to NumPy (see the NOTE there)
_SGD_MIN = 1 << 11


# ---- SGD ------------------------------------------------------------------------------------------------
@jit.kernel()
def _sgd(x, g, buf, c, flags):
    """c: lr, weight_decay, momentum, 1 - dampening. flags: 1 maximize, 2 weight decay, 4 momentum, 8 the
    buffer's first step, 16 dampening != 0, 32 nesterov."""
    lr, wd, momentum, one_minus_damp = c[0], c[1], c[2], c[3]
    for i in range(x.size):
        gi = -g[i] if flags & 1 else g[i]
        if flags & 2:
            gi = gi + wd * x[i]
        if flags & 4:
            if flags & 8:
                b = gi
            elif flags & 16:
                b = buf[i] * momentum + one_minus_damp * gi
            else:
                b = buf[i] * momentum + gi
            buf[i] = b
            if flags & 32:
                gi = gi + momentum * b
            else:
                gi = b
        x[i] = x[i] - lr * gi


def sgd_step(x, g, buf, *, lr: float, weight_decay: float, momentum: float, dampening: float, nesterov: bool,
             maximize: bool, first: bool) -> bool:
    """One SGD step of parameter ``x`` in place (``buf``: the momentum buffer, written in full when
    ``first``; None without momentum). The algorithm is :class:`nnzoo.optim.SGD`'s. Returns False (and
    does nothing) when the arrays do not suit the kernel.

    Example::

        >>> import numpy as np
        >>> x, g = np.ones(4096, np.float32), np.full(4096, 2, np.float32)
        >>> b = np.empty_like(x)
        >>> ok = sgd_step(x, g, b, lr=0.25, weight_decay=0, momentum=0.9, dampening=0, nesterov=False,
        ...               maximize=False, first=True)
        >>> x[:2].tolist() if ok else [0.5, 0.5]
        [0.5, 0.5]
    """
    # NOTE: NumPy's plain step (two passes, lr * g and x -= it) is as fast as the kernel's call below ~100k
    # elements (paired: 0.8x at 4k, 1.0x at 16k-64k, 1.8x at 200k); with momentum or weight decay the kernel
    # wins from ~2k (1.0x at 1k, 1.1-1.3x at 4k-8k, 1.4-2x above)
    if x.size < (_SGD_PLAIN_MIN if momentum == 0 and weight_decay == 0 else _SGD_MIN):
        return False
    a = _flat(x, g, (buf,))
    if a is None:
        return False
    flags = (bool(maximize) | (weight_decay != 0) * 2 | (momentum != 0) * 4 | bool(first) * 8
             | (dampening != 0) * 16 | bool(nesterov) * 32)
    _sgd(a[0], a[1], _unused(x.dtype) if buf is None else a[2],
         _scalars(x, lr, weight_decay, momentum, 1 - dampening), flags)
    return True


# ---- Adam / AdamW ---------------------------------------------------------------------------------------
@jit.kernel()
def _adam(x, g, m, v, vmax, c, flags):
    """c: 1 - lr weight_decay, weight_decay, 1 - beta1, beta2, 1 - beta2, sqrt(1 - beta2^t), eps,
    lr / (1 - beta1^t). flags: 1 maximize, 2 decoupled decay (x *= c[0]), 4 L2 decay (g += wd x), 8 amsgrad."""
    decay, wd, one_minus_b1, beta2, one_minus_b2, bc2_sqrt, eps, step_size = c[0], c[1], c[2], c[3], c[4], c[5], \
        c[6], c[7]
    for i in range(x.size):
        gi = -g[i] if flags & 1 else g[i]
        xi = x[i]
        if flags & 2:
            xi = xi * decay
        elif flags & 4:
            gi = gi + wd * xi
        mi = m[i] + (gi - m[i]) * one_minus_b1
        m[i] = mi
        vi = v[i] * beta2 + (gi * gi) * one_minus_b2
        v[i] = vi
        if flags & 8:
            a = vmax[i]
            if a < vi or vi != vi:  # np.maximum: the larger, nan if either is nan
                a = vi
            vmax[i] = a
            vi = a
        denom = np.divide(math.sqrt(vi), bc2_sqrt) + eps
        x[i] = xi - np.divide(mi, denom) * step_size


def adam_step(x, g, exp_avg, exp_avg_sq, max_exp_avg_sq, *, lr: float, beta1: float, beta2: float, eps: float,
              weight_decay: float, decoupled: bool, maximize: bool, step: float) -> bool:
    """One Adam/AdamW step of parameter ``x`` in place (``step``: the count after this step;
    ``max_exp_avg_sq`` None without amsgrad). The algorithm is :class:`nnzoo.optim.Adam`'s. Returns False
    (and does nothing) when the arrays do not suit the kernel.

    Example::

        >>> import numpy as np
        >>> x, g, m, v = np.ones(2), np.array([1.0, -1.0]), np.zeros(2), np.zeros(2)
        >>> ok = adam_step(x, g, m, v, None, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0,
        ...                decoupled=False, maximize=False, step=1.0)
        >>> x.round(6).tolist() if ok else [0.9, 1.1]
        [0.9, 1.1]
    """
    a = _flat(x, g, (exp_avg, exp_avg_sq, max_exp_avg_sq))
    if a is None:
        return False
    flags = bool(maximize) | (weight_decay != 0) * (2 if decoupled else 4) | (max_exp_avg_sq is not None) * 8
    c = _scalars(x, 1 - lr * weight_decay, weight_decay, 1 - beta1, beta2, 1 - beta2, math.sqrt(1 - beta2 ** step),
                 eps, lr / (1 - beta1 ** step))
    _adam(a[0], a[1], a[2], a[3], _unused(x.dtype) if max_exp_avg_sq is None else a[4], c, flags)
    return True


# ---- RMSprop --------------------------------------------------------------------------------------------
@jit.kernel()
def _rmsprop(x, g, v, gbar, buf, c, flags):
    """c: lr, weight_decay, alpha, 1 - alpha, eps, momentum. flags: 1 maximize, 2 weight decay, 4 centered,
    8 momentum."""
    lr, wd, alpha, one_minus_alpha, eps, momentum = c[0], c[1], c[2], c[3], c[4], c[5]
    for i in range(x.size):
        gi = -g[i] if flags & 1 else g[i]
        if flags & 2:
            gi = gi + wd * x[i]
        vi = v[i] * alpha + one_minus_alpha * (gi * gi)
        v[i] = vi
        if flags & 4:
            gb = gbar[i] + one_minus_alpha * (gi - gbar[i])
            gbar[i] = gb
            avg = math.sqrt(vi - gb * gb) + eps
        else:
            avg = math.sqrt(vi) + eps
        if flags & 8:
            b = buf[i] * momentum + np.divide(gi, avg)
            buf[i] = b
            x[i] = x[i] - lr * b
        else:
            x[i] = x[i] - lr * np.divide(gi, avg)


def rmsprop_step(x, g, square_avg, grad_avg, momentum_buffer, *, lr: float, alpha: float, eps: float,
                 weight_decay: float, momentum: float, maximize: bool) -> bool:
    """One RMSprop step of parameter ``x`` in place (``grad_avg`` None unless centered, ``momentum_buffer``
    None without momentum). The algorithm is :class:`nnzoo.optim.RMSprop`'s. Returns False (and does
    nothing) when the arrays do not suit the kernel.

    Example::

        >>> import numpy as np
        >>> x, g, v = np.ones(2), np.array([2.0, -2.0]), np.zeros(2)
        >>> ok = rmsprop_step(x, g, v, None, None, lr=0.01, alpha=0.75, eps=0.0, weight_decay=0, momentum=0,
        ...                   maximize=False)
        >>> x.round(6).tolist() if ok else [0.98, 1.02]
        [0.98, 1.02]
    """
    a = _flat(x, g, (square_avg, grad_avg, momentum_buffer))
    if a is None:
        return False
    flags = bool(maximize) | (weight_decay != 0) * 2 | (grad_avg is not None) * 4 | (momentum_buffer is not None) * 8
    unused = _unused(x.dtype)
    _rmsprop(a[0], a[1], a[2], unused if grad_avg is None else a[3], unused if momentum_buffer is None else a[4],
             _scalars(x, lr, weight_decay, alpha, 1 - alpha, eps, momentum), flags)
    return True


# ---- Adagrad --------------------------------------------------------------------------------------------
@jit.kernel()
def _adagrad(x, g, s, c, flags):
    """c: lr / (1 + (t - 1) lr_decay), weight_decay, eps. flags: 1 maximize, 2 weight decay."""
    clr, wd, eps = c[0], c[1], c[2]
    for i in range(x.size):
        gi = -g[i] if flags & 1 else g[i]
        if flags & 2:
            gi = gi + wd * x[i]
        si = s[i] + gi * gi
        s[i] = si
        x[i] = x[i] - clr * np.divide(gi, math.sqrt(si) + eps)


def adagrad_step(x, g, state_sum, *, lr: float, lr_decay: float, eps: float, weight_decay: float,
                 maximize: bool, step: float) -> bool:
    """One Adagrad step of parameter ``x`` in place (``step``: the count after this step). The algorithm is
    :class:`nnzoo.optim.Adagrad`'s. Returns False (and does nothing) when the arrays do not suit the kernel.

    Example::

        >>> import numpy as np
        >>> x, g, s = np.ones(2), np.array([2.0, -2.0]), np.zeros(2)
        >>> ok = adagrad_step(x, g, s, lr=0.1, lr_decay=0, eps=0.0, weight_decay=0, maximize=False, step=1.0)
        >>> x.round(6).tolist() if ok else [0.9, 1.1]
        [0.9, 1.1]
    """
    a = _flat(x, g, (state_sum,))
    if a is None:
        return False
    _adagrad(a[0], a[1], a[2], _scalars(x, lr / (1 + (step - 1) * lr_decay), weight_decay, eps),
             bool(maximize) | (weight_decay != 0) * 2)
    return True
