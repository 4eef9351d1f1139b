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
"""
import math

import numpy as np

from ..backend import xp

__all__ = ["scalar_pow"]


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
