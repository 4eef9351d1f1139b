"""``x ** e`` for a floating array and one Python-number exponent, the way PyTorch's CPU kernel does it.

PyTorch (ATen's ``pow_tensor_scalar``) computes the common exponents exactly as products or roots and the
rest with a vectorised ``pow``. What this file does, checked bitwise against torch 2.13 on a (32, 16, 256)
float32 tensor (``tests/ops/test_pow_scalar.py``):

=============  ===================  =============================================================
exponent       computed as          against torch
=============  ===================  =============================================================
0, 1           ones / a copy        identical
2, 3           x*x, x*x*x           identical (torch multiplies too)
-1, -2         1/x, 1/(x*x)         identical
0.5, -0.5      sqrt(x), 1/sqrt(x)   -0.5 identical; 0.5: nnzoo's sqrt is correctly rounded, torch's
                                    vectorised sqrt is 1 ulp off on ~0.7% of elements
anything else  pow(|x|, e), sign    within 1 ulp of the float64 result; torch's own pow is within
               or nan fixed after   0.6 ulp, so the two differ by one ulp on some elements
=============  ===================  =============================================================

NOTE: NumPy's float32/float64 ``power`` takes its fast SIMD loop only when every base is non-negative;
one negative base drops the whole array to the scalar ``powf`` loop, 40x slower (6.8 ms against 0.15 ms
on the tensor above, the issue-15 GELU slowdown). So the general case runs on ``|x|`` and puts back
what the sign of x changes: the sign for odd integer exponents, nan for a finite negative base under a
non-integer exponent (pow(-inf, e) with e not an integer is +inf or +0, what pow(+inf, e) gives).

Compiled paths (Numba, where ``jit.use`` allows; the NumPy code below stays the reference and fallback):
x**2 and x**3 in one pass (the same products, bitwise); on C-contiguous float32, the integer exponents
other than those in the table and the half-integers other than +-0.5 are evaluated in float64 and rounded
once: correctly rounded (bar double-rounding ties), where pow on |x| is within one ulp.
"""
import math

import numpy as np

from ..backend import xp
from . import jit

__all__ = ["scalar_pow"]

# ---- compiled paths (jit.use: Numba installed, a NumPy float array) -------------------------------------
# NOTE: measured paired on the (32, 16, 256) float32 tensor of benchmarks pow_scalar (numbers in
# benchmarks/README.md): x**3 in one pass instead of NumPy's two (1.5x), x*x 1.45x NumPy's (the same pass,
# less overhead); integer exponents other than 0..3, -1, -2
# and half-integers other than +-0.5 on float32, evaluated in float64 (|x|^n by squaring, times sqrt(|x|) for
# the half), rounded once to float32: correctly rounded but for double-rounding ties (none in 131k random
# inputs, where NumPy's and torch's pow miss on ~20%), and 2-5x faster than NumPy's pow on |x|.
_WIDE_MAX = 64  # |exponent| up to which the float64 evaluation is used (a few products per element)
_BLOCK = 512    # elements per block of the float64 evaluation: its scratch stays in L1


@jit.kernel()
def _square(x, out):
    for i in range(x.size):
        v = x[i]
        out[i] = v * v


@jit.kernel()
def _cube(x, out):
    for i in range(x.size):
        v = x[i]
        out[i] = (v * v) * v  # (x*x)*x, torch's order


@jit.kernel()
def _pow_wide(x, out, m, flags, b, r):
    """out = x^e for float32 x, in float64: |x|^m, times sqrt(|x|) (flags 1: e = +-(m + 1/2)), inverted
    (flags 2: e < 0), the sign of x put back (flags 4: odd integer e), nan for a finite negative x (flags 1).
    ``b`` and ``r``: float64 scratch of _BLOCK elements."""
    n = x.size
    for lo in range(0, n, b.size):
        hi = min(lo + b.size, n)
        xs, os = x[lo:hi], out[lo:hi]
        bb, rr = b[:hi - lo], r[:hi - lo]  # loops over whole arrays (range(a.size)) vectorise; offsets do not
        for j in range(bb.size):
            bb[j] = abs(np.float64(xs[j]))
        if flags & 1:
            for j in range(rr.size):
                rr[j] = math.sqrt(bb[j])
        else:
            for j in range(rr.size):
                rr[j] = 1.0
        k = m
        while k:  # binary powering: |x|^m in log2(m) blocked passes
            if k & 1:
                for j in range(rr.size):
                    rr[j] *= bb[j]
            k >>= 1
            if k:
                for j in range(bb.size):
                    bb[j] *= bb[j]
        if flags & 2:
            for j in range(rr.size):
                rr[j] = np.divide(1.0, rr[j])  # np.divide: IEEE 1/0 = inf, and the loop vectorises
        if flags & 4:
            for j in range(rr.size):
                os[j] = math.copysign(rr[j], np.float64(xs[j]))
        elif flags & 1:
            for j in range(rr.size):
                v = xs[j]
                os[j] = rr[j] if not (v < 0 and v != -np.inf) else np.nan  # pow(-inf, half) is |.|'s
        else:
            for j in range(rr.size):
                os[j] = rr[j]


def _compiled_pow(x, e):
    """x ** e by a compiled kernel, or None where there is none for this exponent, dtype or layout."""
    if not jit.use(x) or not x.flags.c_contiguous:
        return None
    if e == 2.0 or e == 3.0:
        out = xp.empty_like(x)
        (_square if e == 2.0 else _cube)(x.reshape(-1), out.reshape(-1))
        return out
    if x.dtype != np.float32 or abs(e) > _WIDE_MAX:
        return None
    twice = 2 * e
    if not twice.is_integer() or e in (0.0, 1.0, 2.0, -1.0, -2.0, 0.5, -0.5):
        return None
    half = not e.is_integer()
    m = int(abs(e))  # the integer part of |e|
    flags = half * 1 | (e < 0) * 2 | (not half and m % 2 == 1) * 4
    out = xp.empty_like(x)
    b = xp.empty(_BLOCK, np.float64)
    _pow_wide(x.reshape(-1), out.reshape(-1), m, flags, b, xp.empty_like(b))
    return out


def scalar_pow(x, e):
    """``x ** e`` for a floating array ``x`` and a finite or non-finite Python number ``e``; a new array
    of ``x``'s dtype (the forward of ``pow(tensor, number)``).

    Example::

        >>> import numpy as np
        >>> scalar_pow(np.array([-2.0, 3.0], dtype=np.float32), 3)
        array([-8., 27.], dtype=float32)
    """
    e = float(e)
    dt = x.dtype
    if math.isfinite(e):
        out = _compiled_pow(x, e)
        if out is not None:
            return out
    if e == 2.0:
        return x * x
    if e == 3.0:  # (x*x)*x, torch's order; in place: one allocation
        out = xp.asarray(x * x)
        out *= x
        return out
    if e == 1.0:
        return x.copy()
    if e == 0.0:
        return xp.ones_like(x)
    if e == -1.0:
        return xp.asarray(1.0 / x, dtype=dt)
    if e == -2.0:
        out = xp.asarray(x * x)
        return xp.divide(1.0, out, out=out)
    if e == 0.5:
        # NOTE: as PyTorch, sqrt's IEEE special cases, not pow's: sqrt(-inf) = nan (pow: inf)
        return xp.sqrt(x)
    if e == -0.5:
        # NOTE: rsqrt(-0) = -inf (pow: inf), rsqrt(-inf) = nan (pow: 0), as PyTorch
        return xp.asarray(1.0 / xp.sqrt(x), dtype=dt)
    if not math.isfinite(e):
        return x ** xp.asarray(e, dtype=dt)
    out = xp.asarray(xp.power(xp.abs(x), xp.asarray(e, dtype=dt)))  # asarray: 0-d in, 0-d array out
    if e.is_integer():
        if e % 2 == 1:  # odd: the sign of x comes back (and -0 stays -0, -0 ** -3 = -inf)
            xp.copysign(out, x, out=out)
    else:  # a negative finite base to a non-integer power is nan
        # NOTE: added as sqrt(min(x, 0)) (0, or nan where x < 0): 4x faster than a masked write, whose
        # random half-true mask defeats the branch predictor; -inf (rare) is then put back
        with np.errstate(invalid="ignore"):
            out += xp.sqrt(xp.minimum(x, 0))
        if xp.isneginf(x).any():
            neginf = xp.isneginf(x)
            out[neginf] = math.inf if e > 0 else 0.0
    return out
