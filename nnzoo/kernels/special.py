"""Special functions on arrays, and the unary activations' array backwards built on them: erf and erfc
(W. J. Cody's rational approximations, a few ulp), the standard normal CDF, the sigmoid, gelu's first-order
derivative and relu's mask product.

The Op classes (:mod:`nnzoo.ops.unary`) hold the derivatives; these take and return arrays, computing
through ``backend.xp``.

Compiled kernels (see :mod:`nnzoo.kernels.jit`; the NumPy code stays as the reference and fallback): relu's,
tanh's and the sigmoid's backward, gelu's forward and backward and the sigmoid, one pass each.
They rest on a vectorizable exp (:func:`_exp32`, :func:`_exp64`), which the softmax and attention kernels use
too.
"""
import math

import numpy as np

from ..backend import xp
from . import jit

__all__ = ["as_array", "sigmoid", "erf", "erfc", "erf_parts", "normal_cdf", "gelu_forward", "gelu_backward",
           "relu_backward", "tanh_backward", "sigmoid_backward"]

_SQRT1_2 = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def as_array(y):
    """NumPy's ufuncs return a scalar, not a 0-d array, for 0-d inputs: make it an array (so that
    ``out=`` works on it and ``save_for_backward`` keeps the very object the op returns)."""
    return y if type(y) is xp.ndarray else xp.asarray(y)


_arr = as_array


def sigmoid(x):
    """1 / (1 + e^-x) as a new array: four passes, one allocation (compiled: one pass).

    NOTE: for very negative x, e^-x overflows to inf and 1 / (1 + inf) = 0 is the correct limit, so
    this form is stable as it stands (the overflow warning is silenced); it also keeps full relative
    accuracy in both tails: sigmoid(-40) = 4.2e-18, not 0 as 0.5 + 0.5 tanh(x/2) would give."""
    if jit.use(x):
        out, flat = _out_like(x)
        _sigmoid_kernel(flat, out.reshape(-1))
        return out
    t = _arr(xp.negative(x))
    with np.errstate(over="ignore"):
        xp.exp(t, out=t)
    t += 1
    xp.divide(1, t, out=t)
    return t


def normal_cdf(x):
    """Phi(x) = erfc(-x / sqrt 2) / 2 as a new array.

    NOTE: erfc here skips Cody's exact e^(-a^2) (see _exp_neg_square), which costs a third of erfc's
    time; that only changes Phi's relative accuracy where it is below 1e-20, invisible in x Phi(x)."""
    u = _arr(x * -_SQRT1_2)
    y = erf_parts(u, True, exact_exp=False)
    y *= 0.5
    return y


def gelu_forward(x):
    """(y, Phi(x)): exact gelu y = x Phi(x) and the normal CDF it is made of (kept for the backward), as new
    arrays. Compiled: one pass (Cody's erfc in float64 for either dtype, see :func:`_erfc64`)."""
    if jit.use(x):
        y, flat = _out_like(x)
        cdf = xp.empty_like(y)
        _gelu_kernel(flat, y.reshape(-1), cdf.reshape(-1))
        return y, cdf
    cdf = normal_cdf(x)
    return cdf * x, cdf


def gelu_backward(x, cdf, grad):
    """grad * (Phi(x) + x phi(x)), phi(x) = e^(-x^2/2) / sqrt(2 pi), with Phi(x) = ``cdf`` (the forward's):
    exact gelu's first-order derivative as a new array (compiled: one pass)."""
    if _same_layout(x, cdf, grad) and jit.use(x, cdf, grad):
        out = xp.empty(x.shape, x.dtype)
        _gelu_backward_kernel(x.reshape(-1), cdf.reshape(-1), _flat(grad), out.reshape(-1))
        return out
    d = xp.square(x, out=xp.empty_like(x))  # an array even for a 0-d x
    d *= -0.5
    xp.exp(d, out=d)
    d *= _INV_SQRT_2PI
    d *= x
    d += cdf
    d *= grad
    return d


def relu_backward(y, grad):
    """grad where y = relu(x) != 0, else 0 (y >= 0 or nan, so "y != 0" is PyTorch's "not (y <= 0)").

    NOTE: the 0/1 mask cast to float (through an int8 view of the bools) and multiplied in place runs ~20%
    faster than float * bool, NumPy's slow casting path (measured on 8 MB arrays). Compiled: one pass that
    selects (so an inf gradient where y = 0 gives 0, as PyTorch's threshold_backward, not 0 * inf = nan)."""
    if y.size >= _MIN_SIZE and _same_layout(y, grad) and jit.use(y, grad):
        out = xp.empty(y.shape, y.dtype)
        _relu_backward_kernel(y.reshape(-1), _flat(grad), out.reshape(-1))
        return out
    out = (y != 0).view(np.int8).astype(grad.dtype)
    out *= grad
    return out


def tanh_backward(y, grad):
    """grad * (1 - y^2), y = tanh(x): tanh's first-order derivative as a new array (compiled: one pass)."""
    if _same_layout(y, grad) and jit.use(y, grad):
        out = xp.empty(y.shape, y.dtype)
        _tanh_backward_kernel(y.reshape(-1), _flat(grad), out.reshape(-1))
        return out
    return _arr(grad * (1 - y * y))


def sigmoid_backward(y, grad):
    """grad * (y (1 - y)), y = sigmoid(x): the sigmoid's first-order derivative as a new array (compiled: one
    pass)."""
    if _same_layout(y, grad) and jit.use(y, grad):
        out = xp.empty(y.shape, y.dtype)
        _sigmoid_backward_kernel(y.reshape(-1), _flat(grad), out.reshape(-1))
        return out
    return _arr(grad * (y * (1 - y)))


# ---- erf: W. J. Cody's rational Chebyshev approximations -------------------------------------------
# Cody, "Rational Chebyshev approximations for the error function", Math. Comp. 23 (1969) 631-637,
# in the form of his CALERF routine: three ranges of |x|, each a ratio of two polynomials.
# |x| <= 0.46875:        erf(x)  = x P(x^2) / Q(x^2)
# 0.46875 < |x| <= 4:    erfc(x) = e^(-x^2) P(x) / Q(x)
# |x| > 4:               erfc(x) = e^(-x^2) / x (1/sqrt(pi) + z P(z) / Q(z)),  z = 1 / x^2
# Verified against math.erf/erfc on a dense grid in tests/ops/test_unary.py (float64: erf within
# 1e-15 relative, erfc within 2e-15, i.e. a few ulp).
_ERF_SPLIT, _ERFC_SPLIT = 0.46875, 4.0
_ERF_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
          3.20937758913846947e03, 1.85777706184603153e-1)
_ERF_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
          2.84423683343917062e03)
_ERF_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
          2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
          2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)
_ERF_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
          1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
          3.43936767414372164e03, 1.23033935480374942e03)
_ERF_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
          1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_ERF_Q = (2.56852019228982242e00, 1.87295284992346725e00, 5.27905102951428412e-1,
          6.05183413124413191e-2, 2.33520497626869185e-3)
_INV_SQRT_PI = 1.0 / math.sqrt(math.pi)


def _ratio(z, num, den, lead):
    """Horner, in place: (((lead z + num0) z + num1) z ... + num[-1]) / (((z + den0) z ...) + den[-1]),
    ``num`` and ``den`` of equal length (Cody's layout: the numerator's leading coefficient apart)."""
    n = _arr(z * lead)
    d = z.copy()
    for a, b in zip(num[:-1], den[:-1]):
        n += a
        n *= z
        d += b
        d *= z
    n += num[-1]
    d += den[-1]
    n /= d
    return n


def _erfc_tail(y):
    """erfc(y) e^(y^2) for y > 4 (Cody's third range), by Horner's rule (few elements get here)."""
    z = 1 / (y * y)
    t = _ratio(z, _ERF_P[:5], _ERF_Q, _ERF_P[5])
    t *= z
    xp.subtract(_INV_SQRT_PI, t, out=t)
    t /= y
    return t


def _exp_neg_square(a, out):
    """e^(-a^2) into ``out`` (a >= 0), to full relative accuracy.

    NOTE: a^2 rounds with a relative error of eps, which e^(-a^2) turns into a relative error of
    a^2 eps (5e-14 at a = 26 in float64, 5e-6 at a = 9 in float32). Cody's fix: split a = s + r with
    s a multiple of 1/16, so s^2 is exact, and e^(-a^2) = e^(-s^2) e^(-(a - s)(a + s))."""
    s = a * 16
    xp.trunc(s, out=s)
    s /= 16
    r = a + s
    xp.subtract(a, s, out=out)
    out *= r
    xp.negative(out, out=out)
    xp.exp(out, out=out)
    xp.square(s, out=s)
    xp.negative(s, out=s)
    xp.exp(s, out=s)
    out *= s
    return out


def _power_rows():
    """The two main ranges as one matrix over the powers a^0 .. a^8 of a = |x|. Rows: numerator and
    denominator of the small range (polynomials in z = a^2, so only even powers), then of the middle
    range; one matrix product then evaluates all four polynomials.

    NOTE: every coefficient is positive and a >= 0, so the power form sums positive terms: as accurate
    as Horner's rule (no cancellation), with 7 multiplications and one small GEMM instead of ~50 passes
    over the data."""
    rows = xp.zeros((4, 9))
    rows[0, 8::-2] = (_ERF_A[4],) + _ERF_A[:4]  # coefficient of a^8, a^6, ..., a^0
    rows[1, 8::-2] = (1.0,) + _ERF_B
    rows[2, 8::-1] = (_ERF_C[8],) + _ERF_C[:8]
    rows[3, 8::-1] = (1.0,) + _ERF_D
    return {np.dtype(np.float64): rows, np.dtype(np.float32): rows.astype(np.float32)}


_ERF_ROWS = _power_rows()
_ERF_BLOCK_BYTES = 1 << 17  # per block of x: small enough for its temporaries to stay in cache
_SIGN_BIT = {np.dtype(np.float32): (np.uint32, np.uint32(1 << 31)),
             np.dtype(np.float64): (np.uint64, np.uint64(1 << 63))}


def _erf_block(x, out, complement, exact_exp):
    """erf (or erfc) of a contiguous 1-d block ``x`` into ``out``: the whole algorithm on a block small
    enough that every temporary stays in the CPU cache."""
    a = xp.abs(x)
    xp.clip(a, 0.0, 30.0, out=a)  # erfc has underflowed by 30 in every dtype; keeps inf out, nan in
    powers = xp.empty((9, a.size), dtype=x.dtype)
    powers[0] = 1
    powers[1] = a
    for k in range(2, 9):
        xp.multiply(powers[k - 1], a, out=powers[k])
    poly = _ERF_ROWS[x.dtype] @ powers
    e_small = poly[0]
    e_small /= poly[1]
    e_small *= a  # erf(|x|), right for |x| <= 0.46875
    ec = poly[2]
    ec /= poly[3]  # erfc(|x|) e^(x^2), right for 0.46875 < |x| <= 4
    far = a > _ERFC_SPLIT
    if far.any():
        idx = xp.flatnonzero(far)
        ec.put(idx, _erfc_tail(a.take(idx)))
    e = powers[2]  # a^2, no longer needed as a power
    if complement and exact_exp:
        _exp_neg_square(a, e)
    else:  # the rounding of a^2 costs erfc a relative error of a^2 eps: invisible in erf = 1 - erfc
        xp.negative(e, out=e)
        xp.exp(e, out=e)
    ec *= e  # erfc(|x|) beyond the small range
    small = a <= _ERF_SPLIT
    e_small *= small
    xp.logical_not(small, out=small)
    xp.subtract(1, ec, out=out)
    out *= small
    out += e_small  # erf(|x|), >= 0 everywhere
    # erf is odd: give the result the sign bit of x (np.copysign is ~10x slower than two integer ops)
    itype, bit = _SIGN_BIT[x.dtype]
    signs = xp.bitwise_and(x.view(itype), bit)
    xp.bitwise_or(out.view(itype), signs, out=out.view(itype))
    if complement:
        # erfc(x) = erfc(|x|) for x > 0.46875 (no cancellation), 1 - erf(x) elsewhere (then >= 0.49)
        pos = x > _ERF_SPLIT
        xp.subtract(1, out, out=out)
        out *= xp.logical_not(pos, out=small)
        ec *= pos
        out += ec
    return out


def erf_parts(x, complement, exact_exp=True):
    """erf(x), or erfc(x) when ``complement``, for a float array (float16 is computed in float32).

    Cody's ranges: |x| <= 0.46875 (erf), 0.46875 < |x| <= 4 (erfc), |x| > 4 (erfc). NOTE on speed:
    a masked select or boolean indexing runs ~10x slower in NumPy than arithmetic on the random masks
    real data gives, so both main ranges are evaluated on every element and blended by multiplying
    with 0/1 masks (exact: one of the two terms is exactly 0); only the rare |x| > 4 is gathered by
    index. The work runs in blocks of 64 KiB so that its temporaries stay in cache (2x faster)."""
    if x.dtype == np.float16:
        return erf_parts(x.astype(np.float32), complement, exact_exp).astype(np.float16)
    flat = xp.ascontiguousarray(x).reshape(-1)
    out = xp.empty_like(flat)
    step = _ERF_BLOCK_BYTES // flat.itemsize
    for i in range(0, flat.size, step):
        _erf_block(flat[i:i + step], out[i:i + step], complement, exact_exp)
    return out.reshape(x.shape)


def erf(x):
    """erf(x) of a float array, a new array."""
    return erf_parts(x, False)


def erfc(x):
    """erfc(x) = 1 - erf(x) of a float array, without the cancellation: a new array."""
    return erf_parts(x, True)


# ---- compiled kernels ----------------------------------------------------------------------------------
# NOTE: measured paired against the NumPy forms (one process, float32 unless said, 32K-1M elements, a loaded
# two-core machine): relu's backward 1.4-1.7x, tanh's and the sigmoid's 2.3-2.9x, the sigmoid 1.3-1.9x, gelu's
# backward 1.5-2.7x, gelu's forward 6-10x (float64 5.7x; float32's NumPy erf multiplies a 4 x 9 matrix by
# 9 x 16384 blocks, which a threaded OpenBLAS makes 15x slower under load). Through the ops, forward +
# backward: gelu 4.0x, tanh 1.46x, relu 1.24x at (2048, 512). Tried and dropped: relu's forward (np.clip is one
# pass already: 1.0-1.2x at 1M+ elements), dropout's mask (1.5x on the mask, 1.04x on F.dropout, whose draw
# dominates), and threads (prange over blocks of 16K: 0.1-0.7x on the shared cores).
# NOTE: fastmath={"contract"} lets LLVM fuse a * b + c into one FMA (one rounding instead of two): no
# reassociation, no assumptions about nan or inf, so results stay within rounding of the NumPy reference.
_FM = {"contract"}
# NOTE: below ~1000 elements relu's backward (a select) gains nothing from a kernel: Numba's dispatch of
# three arrays costs as much as NumPy's passes (measured paired: 0.84-1.0x at 16-256 elements, 1.5x at
# 1024). The kernels with more arithmetic win at every size.
_MIN_SIZE = 1024


def _same_layout(*arrays):
    """Whether the arrays share shape and dtype and (all but the last, the incoming gradient, which
    :func:`_flat` copies when it must) are C-contiguous: one flat loop serves them all."""
    a = arrays[0]
    return all(b.shape == a.shape and b.dtype == a.dtype for b in arrays) and \
        all(b.flags.c_contiguous for b in arrays[:-1])


def _flat(a):
    """a as a flat C-contiguous array (a view when it is one already)."""
    return xp.ascontiguousarray(a).reshape(-1)


def _out_like(x):
    """(a new C-contiguous array of x's shape and dtype, x as a contiguous flat array)."""
    return xp.empty(x.shape, x.dtype), xp.ascontiguousarray(x).reshape(-1)


# exp(x) = 2^n e^r, n = round(x / ln 2), r = x - n ln 2 in [-ln2/2, ln2/2] (n ln 2 in two parts, Cody and
# Waite, so that r is exact), e^r by its Taylor polynomial (degree 7 for float32, 12 for float64: truncation
# below a tenth of an ulp) and 2^n built in the exponent bits, in two factors so that subnormal results and
# the overflow to inf come out right.
_LOG2E = 1.4426950408889634
_LN2_HI64, _LN2_LO64 = 6.93147180369123816490e-01, 1.90821492927058770002e-10  # fdlibm's split
_LN2_HI32, _LN2_LO32 = 0.693359375, -2.12194440e-4  # Cephes' split for float32


@jit.helper(fastmath=_FM)
def _exp64(x):
    """e^x of a float64, branch-free (vectorizes), within 1 ulp of NumPy's: 0 below -745.2, inf above
    709.8, nan for nan.

    NOTE: Numba's math.exp calls libm one element at a time (10x slower than NumPy's SIMD exp); this form
    compiles to SIMD code, 2-3x NumPy's exp alone but fused into the loops that use it."""
    x = -746.0 if x < -746.0 else x  # selects that keep nan (a comparison with nan is false)
    x = 710.0 if x > 710.0 else x
    nf = np.floor(x * _LOG2E + 0.5)
    r = x - nf * _LN2_HI64 - nf * _LN2_LO64
    p = 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    nf = nf if nf == nf else 0.0  # nan: any n (p is nan already)
    n = np.int64(nf)
    h = n >> 1
    return p * np.int64((h + 1023) << 52).view(np.float64) * np.int64((n - h + 1023) << 52).view(np.float64)


@jit.helper(fastmath=_FM)
def _exp32(x):
    """e^x of a float32 in float32 arithmetic, as :func:`_exp64` (0 below -103.97, inf above 88.72)."""
    lo, hi = np.float32(-104.0), np.float32(89.0)
    x = lo if x < lo else x
    x = hi if x > hi else x
    nf = np.floor(x * np.float32(_LOG2E) + np.float32(0.5))
    r = x - nf * np.float32(_LN2_HI32) - nf * np.float32(_LN2_LO32)
    p = np.float32(1.0 / 5040.0)
    p = p * r + np.float32(1.0 / 720.0)
    p = p * r + np.float32(1.0 / 120.0)
    p = p * r + np.float32(1.0 / 24.0)
    p = p * r + np.float32(1.0 / 6.0)
    p = p * r + np.float32(0.5)
    p = p * r + np.float32(1.0)
    p = p * r + np.float32(1.0)
    nf = nf if nf == nf else np.float32(0.0)
    n = np.int32(nf)
    h = n >> 1
    return p * np.int32((h + 127) << 23).view(np.float32) * np.int32((n - h + 127) << 23).view(np.float32)


@jit.kernel(fastmath=_FM)
def _relu_backward_kernel(y, g, out):
    """out = g where y != 0, else 0 (flat arrays)."""
    zero = g.dtype.type(0)
    for i in range(y.size):
        out[i] = g[i] if y[i] != 0 else zero


@jit.kernel(fastmath=_FM)
def _tanh_backward_kernel(y, g, out):
    """out = g (1 - y^2) (flat arrays)."""
    one = y.dtype.type(1)
    for i in range(y.size):
        out[i] = g[i] * (one - y[i] * y[i])


@jit.kernel(fastmath=_FM)
def _sigmoid_backward_kernel(y, g, out):
    """out = g (y (1 - y)) (flat arrays)."""
    one = y.dtype.type(1)
    for i in range(y.size):
        out[i] = g[i] * (y[i] * (one - y[i]))


@jit.kernel(fastmath=_FM)
def _sigmoid_kernel(x, out):
    """out = 1 / (1 + e^-x) (flat arrays)."""
    if x.itemsize == 4:
        one = np.float32(1.0)
        for i in range(x.size):
            out[i] = one / (one + _exp32(-x[i]))
    else:
        for i in range(x.size):
            out[i] = 1.0 / (1.0 + _exp64(-x[i]))


@jit.helper(fastmath=_FM)
def _normal_cdf64(x):
    """Phi(x) = erfc(-x / sqrt 2) / 2 of a float64 by Cody's three ranges (as :func:`erf_parts` with
    exact_exp=False), branch-free: every range's rational function as one ratio num / den, chosen by
    selects, then one division.

    Ranges of a = |u|, u = -x / sqrt 2: a <= 0.46875: erf(a) = a P(a^2) / Q(a^2), erfc(u) = 1 -+ erf(a);
    a <= 4: erfc(a) = e^(-a^2) R(a) / S(a); beyond: erfc(a) = e^(-a^2) (Q(z) / sqrt(pi) + z P(z)) / (a Q(z)),
    z = 1 / a^2; erfc(u) = 2 - erfc(a) for u < 0 in the last two."""
    u = x * -0.7071067811865476
    a = abs(u)
    a = 30.0 if a > 30.0 else a  # erfc has underflowed; keeps inf out, nan in
    z = a * a
    # small range, polynomials in z
    ns = ((((1.85777706184603153e-1 * z + 3.16112374387056560e00) * z + 1.13864154151050156e02) * z
           + 3.77485237685302021e02) * z + 3.20937758913846947e03) * a
    ds = (((z + 2.36012909523441209e01) * z + 2.44024637934444173e02) * z + 1.28261652607737228e03) * z \
        + 2.84423683343917062e03
    # middle range, polynomials in a
    nm = (((((((2.15311535474403846e-8 * a + 5.64188496988670089e-1) * a + 8.88314979438837594e00) * a
              + 6.61191906371416295e01) * a + 2.98635138197400131e02) * a + 8.81952221241769090e02) * a
           + 1.71204761263407058e03) * a + 2.05107837782607147e03) * a + 1.23033935479799725e03
    dm = (((((((a + 1.57449261107098347e01) * a + 1.17693950891312499e02) * a + 5.37181101862009858e02) * a
             + 1.62138957456669019e03) * a + 3.29079923573345963e03) * a + 4.36261909014324716e03) * a
          + 3.43936767414372164e03) * a + 1.23033935480374942e03
    # tail, polynomials in w = 1 / a^2
    w = 1.0 / (z if z > 16.0 else 16.0)
    qt = ((((w + 2.56852019228982242e00) * w + 1.87295284992346725e00) * w + 5.27905102951428412e-1) * w
          + 6.05183413124413191e-2) * w + 2.33520497626869185e-3
    pt = ((((1.63153871373020978e-2 * w + 3.05326634961232344e-1) * w + 3.60344899949804439e-1) * w
           + 1.25781726111229246e-1) * w + 1.60837851487422766e-2) * w + 6.58749161529837803e-4
    nt = qt * 0.5641895835477563 - w * pt
    dt = qt * a
    small = a <= 0.46875
    tail = a > 4.0
    num = ns if small else (nt if tail else nm)
    den = ds if small else (dt if tail else dm)
    ratio = num / den  # erf(a) in the small range, erfc(a) e^(a^2) beyond
    e = _exp64(-z)
    far = ratio * e  # erfc(a)
    far = far if u > 0 else 2.0 - far
    near = 1.0 - ratio if u > 0 else 1.0 + ratio
    return 0.5 * (near if small else far)


@jit.kernel(fastmath=_FM)
def _gelu_kernel(x, y, cdf):
    """cdf = Phi(x), y = x Phi(x) (flat arrays; float32 computed in float64)."""
    for i in range(x.size):
        v = np.float64(x[i])
        c = _normal_cdf64(v)
        cdf[i] = c
        y[i] = v * c


@jit.kernel(fastmath=_FM)
def _gelu_backward_kernel(x, cdf, g, out):
    """out = g (Phi(x) + x e^(-x^2/2) / sqrt(2 pi)) (flat arrays)."""
    if x.itemsize == 4:
        c = np.float32(_INV_SQRT_2PI)
        h = np.float32(-0.5)
        for i in range(x.size):
            v = x[i]
            out[i] = g[i] * (cdf[i] + v * (_exp32(v * v * h) * c))
    else:
        for i in range(x.size):
            v = x[i]
            out[i] = g[i] * (cdf[i] + v * (_exp64(v * v * -0.5) * _INV_SQRT_2PI))

