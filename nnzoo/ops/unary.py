"""Elementwise functions of one tensor: exp/log and friends, trigonometry, the activations, ``erf``,
``clamp``, and the rounding family (whose gradient is zero, as in PyTorch).

Dtypes follow PyTorch: a float function (exp, sqrt, sigmoid, erf, ...) of an integer or bool tensor
returns the default float dtype; abs, square, sign, relu, hardtanh, clamp and the rounding functions
keep an integer dtype. The activations that live in ``torch.nn.functional`` (leaky_relu, elu, gelu,
silu, softplus, hardtanh) are exported here too; ``nnzoo.nn.functional`` re-exports them.

Every forward works on arrays and allocates as few temporaries as it can (``out=`` on a temporary
it already owns); every backward is written with Tensor ops so that double backward works. The
activations' ``inplace=True`` writes the result into the input, with PyTorch's in-place semantics
(see ``Tensor._inplace``).
"""
import math

import numpy as np

from .. import dtypes
from ..autograd.function import Op
from ..autograd.grad_mode import state
from ..backend import quiet, xp
from ..tensor import Tensor
from . import arith as _arith
from .reduce import sum_to

_make = Tensor._make

__all__ = [
    "abs", "absolute", "exp", "log", "log1p", "expm1", "log2", "log10", "sqrt", "rsqrt", "reciprocal",
    "square", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "leaky_relu", "elu", "gelu", "silu",
    "softplus", "hardtanh", "relu6", "erf", "erfc", "clamp", "clip", "clamp_min", "clamp_max",
    "sign", "floor", "ceil", "round", "trunc", "fix",
]

_SQRT1_2 = math.sqrt(0.5)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_GELU_TANH_C = 0.044715


# ---- argument helpers ------------------------------------------------------------------------------
def _tensor(x, op):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(x).__name__}")
    return x


def _float(x, op):
    """Integer inputs of float functions become the default float dtype (torch.exp(int) is float)."""
    if not isinstance(x, Tensor):
        _tensor(x, op)
    if x._data.dtype.kind == "f":
        return x
    return x.to(dtypes.get_default_dtype())


def _float_only(x, op):
    """The nn.functional activations are defined for floating point tensors only (as in PyTorch)."""
    _tensor(x, op)
    if x._data.dtype.kind != "f":
        raise NotImplementedError(f"{op}: not implemented for {x.dtype} tensors; convert the input "
                                  "to a floating point dtype first (e.g. x.float())")
    return x


def _no_bool(x, op):
    _tensor(x, op)
    if x._data.dtype == np.bool_:
        raise RuntimeError(f"{op}: bool tensors are not supported")
    return x


def _arr(y):
    """NumPy's ufuncs return a scalar, not a 0-d array, for 0-d inputs: make it an array (so that
    ``out=`` works on it and ``save_for_backward`` keeps the very object the op returns)."""
    return y if type(y) is np.ndarray else xp.asarray(y)


def _at_least(x, lo):
    """max(x, lo) for a number lo. NOTE: for large float arrays np.clip with an infinite upper bound
    runs ~3x faster than np.maximum with a scalar (NumPy 2.x); for small ones its Python wrapper costs
    more than it saves (~2 us), so np.maximum takes those."""
    return xp.clip(x, lo, xp.inf) if x.dtype.kind == "f" and x.size > 4096 else xp.maximum(x, lo)


def _at_most(x, hi):
    """min(x, hi) for a number hi (see _at_least)."""
    return xp.clip(x, -xp.inf, hi) if x.dtype.kind == "f" and x.size > 4096 else xp.minimum(x, hi)


def _mask(cond, like):
    """A bool Tensor as 0/1 in ``like``'s dtype, for gradients that switch on a condition.

    NOTE: backward multiplies by this mask instead of selecting with ``where``: NumPy's select runs
    ~10x slower on the random masks activations produce. The only difference: an inf/nan incoming
    gradient becomes nan (0 * inf) where PyTorch would give 0."""
    return cond.to(like.dtype)


def _zeros(grad):
    """The gradient of the piecewise-constant functions: zeros (PyTorch returns zeros, not None)."""
    return _make(xp.zeros_like(grad._data))


# ---- exponentials and logarithms ---------------------------------------------------------------
class Exp(Op):
    """y = e^x;  dy/dx = y."""

    @staticmethod
    def forward(ctx, x):
        y = _arr(xp.exp(x))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        y, = ctx.saved_tensors
        return grad * y


def exp(input):
    """e ** input."""
    return Exp.apply(_float(input, "exp"))


class Expm1(Op):
    """y = e^x - 1;  dy/dx = y + 1.

    NOTE: ``expm1`` keeps full relative accuracy for small x, where exp(x) - 1 cancels to noise."""

    @staticmethod
    def forward(ctx, x):
        y = _arr(xp.expm1(x))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        y, = ctx.saved_tensors
        return grad * (y + 1)


def expm1(input):
    """e ** input - 1, accurate for small inputs."""
    return Expm1.apply(_float(input, "expm1"))


class Log(Op):
    """y = ln x;  dy/dx = 1 / x (nan below 0, -inf at 0, as in PyTorch)."""

    @staticmethod
    @quiet
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return xp.log(x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad / x


def log(input):
    """Natural logarithm (nan below 0, -inf at 0, as in PyTorch)."""
    return Log.apply(_float(input, "log"))


class Log1P(Op):
    """y = ln(1 + x);  dy/dx = 1 / (1 + x).

    NOTE: ``log1p`` keeps full relative accuracy for small x, where log(1 + x) loses the low bits of
    x when forming 1 + x."""

    @staticmethod
    @quiet
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return xp.log1p(x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad / (x + 1)


def log1p(input):
    """ln(1 + input), accurate for small inputs."""
    return Log1P.apply(_float(input, "log1p"))


class Log2(Op):
    """y = log2 x;  dy/dx = 1 / (x ln 2)."""

    @staticmethod
    @quiet
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return xp.log2(x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad / (x * math.log(2.0))


def log2(input):
    return Log2.apply(_float(input, "log2"))


class Log10(Op):
    """y = log10 x;  dy/dx = 1 / (x ln 10)."""

    @staticmethod
    @quiet
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return xp.log10(x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad / (x * math.log(10.0))


def log10(input):
    return Log10.apply(_float(input, "log10"))


# ---- powers --------------------------------------------------------------------------------------
class Sqrt(Op):
    """y = sqrt(x);  dy/dx = 1 / (2 y) (inf at 0, as in PyTorch)."""

    @staticmethod
    @quiet
    def forward(ctx, x):
        y = _arr(xp.sqrt(x))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        y, = ctx.saved_tensors
        return grad / (y * 2)


def sqrt(input):
    return Sqrt.apply(_float(input, "sqrt"))


class Rsqrt(Op):
    """y = 1 / sqrt(x);  dy/dx = -y^3 / 2."""

    @staticmethod
    @quiet
    def forward(ctx, x):
        y = _arr(xp.sqrt(x))
        xp.divide(1, y, out=y)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        y, = ctx.saved_tensors
        return grad * (y * y * y) * -0.5


def rsqrt(input):
    """1 / sqrt(input)."""
    return Rsqrt.apply(_float(input, "rsqrt"))


class Reciprocal(Op):
    """y = 1 / x;  dy/dx = -y^2."""

    @staticmethod
    @quiet
    def forward(ctx, x):
        y = _arr(xp.divide(1, x))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        y, = ctx.saved_tensors
        return -grad * (y * y)


def reciprocal(input):
    """1 / input (integers give the default float dtype)."""
    return Reciprocal.apply(_float(input, "reciprocal"))


class Square(Op):
    """y = x^2;  dy/dx = 2 x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return xp.square(x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * (x * 2)


def square(input):
    """input * input; integer dtypes are kept (bool becomes int64), as in PyTorch."""
    _tensor(input, "square")
    if input._data.dtype == np.bool_:
        input = input.to(dtypes.int64)
    return Square.apply(input)


# ---- trigonometry and the hyperbolic tangent ---------------------------------------------------
class Sin(Op):
    """dy/dx = cos x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return xp.sin(x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * cos(x)


def sin(input):
    return Sin.apply(_float(input, "sin"))


class Cos(Op):
    """dy/dx = -sin x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return xp.cos(x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return -grad * sin(x)


def cos(input):
    return Cos.apply(_float(input, "cos"))


class Tan(Op):
    """dy/dx = 1 + tan^2 x."""

    @staticmethod
    def forward(ctx, x):
        y = _arr(xp.tan(x))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        y, = ctx.saved_tensors
        return grad * (y * y + 1)


def tan(input):
    return Tan.apply(_float(input, "tan"))


class Tanh(Op):
    """dy/dx = 1 - y^2."""

    @staticmethod
    def forward(ctx, x):
        y = _arr(xp.tanh(x))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        y, = ctx.saved_tensors
        return grad * (1 - y * y)


def tanh(input):
    return Tanh.apply(_float(input, "tanh"))


# ---- sigmoid and the smooth activations ------------------------------------------------------------
def _sigmoid_array(x):
    """1 / (1 + e^-x) as a new array: four passes, one allocation.

    NOTE: for very negative x, e^-x overflows to inf and 1 / (1 + inf) = 0 is the correct limit, so
    this form is stable as it stands (the overflow warning is silenced); it also keeps full relative
    accuracy in both tails: sigmoid(-40) = 4.2e-18, not 0 as 0.5 + 0.5 tanh(x/2) would give."""
    t = _arr(xp.negative(x))
    with np.errstate(over="ignore"):
        xp.exp(t, out=t)
    t += 1
    xp.divide(1, t, out=t)
    return t


class Sigmoid(Op):
    """y = 1 / (1 + e^-x);  dy/dx = y (1 - y)."""

    @staticmethod
    def forward(ctx, x):
        y = _sigmoid_array(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        y, = ctx.saved_tensors
        return grad * (y * (1 - y))


def sigmoid(input):
    """1 / (1 + e^-input), stable for large |input|."""
    return Sigmoid.apply(_float(input, "sigmoid"))


class Silu(Op):
    """y = x sigmoid(x);  dy/dx = s (1 + x (1 - s)) with s = sigmoid(x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        # x / (1 + e^-x): e^-x may overflow to inf for very negative x, giving the correct limit -0
        t = _arr(xp.negative(x))
        with np.errstate(over="ignore"):
            xp.exp(t, out=t)
        t += 1
        xp.divide(x, t, out=t)
        return t

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        s = sigmoid(x)
        return grad * (s * (x * (1 - s) + 1))


def silu(input, inplace=False):
    """x * sigmoid(x) (also called swish)."""
    if inplace:
        return input._inplace("silu_", silu)
    return Silu.apply(_float_only(input, "silu"))


class Softplus(Op):
    """y = log(1 + e^(beta x)) / beta, and y = x where beta x > threshold;
    dy/dx = sigmoid(beta x), and 1 above the threshold.

    NOTE: like PyTorch the function switches to the identity where beta * x > threshold (strictly).
    Below it we compute max(z, 0) + log1p(e^-|z|) (z = beta x), which never overflows, even for a
    large threshold where PyTorch's log1p(exp(z)) gives inf, keeps relative accuracy for very negative
    z (where it is ~e^z), and agrees with PyTorch to rounding everywhere else."""

    @staticmethod
    def forward(ctx, x, beta, threshold):
        ctx.save_for_backward(x)
        ctx.beta, ctx.threshold = beta, threshold
        z = x * beta if beta != 1 else x
        y = _arr(xp.abs(z))
        xp.negative(y, out=y)
        xp.exp(y, out=y)
        xp.log1p(y, out=y)
        y += _at_least(z, 0)
        if beta != 1:
            y /= beta
        above = z > threshold
        if above.any():  # rare in practice, and a masked copy is slow: only when needed
            xp.copyto(y, x, where=above)
        return y

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        z = x * ctx.beta if ctx.beta != 1 else x
        d = sigmoid(z)
        above = z > ctx.threshold
        if above._data.any():
            d = _arith.where(above, 1.0, d)
        return grad * d, None, None


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + e^(beta * input)) / beta, linear where beta * input > threshold."""
    return Softplus.apply(_float_only(input, "softplus"), beta, threshold)


class LogSigmoid(Op):
    """y = log sigmoid(x) = -softplus(-x);  dy/dx = sigmoid(-x) = 1 - sigmoid(x).

    NOTE: computed as min(x, 0) - log1p(e^-|x|): no overflow for any x, no log(0), and full relative
    accuracy for large x (where y ~ -e^-x). As one op its derivative is sigmoid(-x) everywhere; a
    composition of relu(-x) and abs(x) would take their subgradient 0 at x = 0 and give 0 instead of
    1/2 there (the binary cross-entropy's old wrong gradient at a zero logit)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        y = _arr(xp.abs(x))
        xp.negative(y, out=y)
        xp.exp(y, out=y)
        xp.log1p(y, out=y)
        xp.subtract(_at_most(x, 0), y, out=y)
        return y

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * sigmoid(-x)


def logsigmoid(input):
    """log(1 / (1 + e^-input)), stable for any input (``torch.nn.functional.logsigmoid``).

    Example::

        >>> from nnzoo.ops.unary import logsigmoid
        >>> logsigmoid(nnzoo.tensor([0., -2., 3.]))
        tensor([-0.6931, -2.1269, -0.0486])
    """
    return LogSigmoid.apply(_float_only(input, "logsigmoid"))


class LeakyRelu(Op):
    """y = x for x > 0, negative_slope * x otherwise;  dy/dx = 1 or negative_slope.

    NOTE: at x == 0 the gradient is negative_slope (PyTorch's choice: the test is x > 0)."""

    @staticmethod
    def forward(ctx, x, slope):
        ctx.save_for_backward(x)
        ctx.slope = slope
        y = _arr(x * slope)
        if slope == 0:  # NOTE: 0 * inf = nan would win max(inf, nan); PyTorch's x > 0 ? x : 0 * x keeps inf
            return xp.where(x > 0, x, y)
        # max(x, slope x) is x for x > 0 and slope x below when slope <= 1 (min when slope > 1)
        (xp.maximum if slope <= 1 else xp.minimum)(x, y, out=y)
        return y

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        pos = _mask(x > 0, x)
        return grad * (pos + (1 - pos) * ctx.slope), None


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """max(0, x) + negative_slope * min(0, x)."""
    if inplace:
        return input._inplace("leaky_relu_", lambda t: leaky_relu(t, negative_slope))
    return LeakyRelu.apply(_float_only(input, "leaky_relu"), negative_slope)


class Elu(Op):
    """y = x for x > 0, alpha (e^x - 1) otherwise;  dy/dx = 1, or alpha e^x = y + alpha.

    NOTE: at x == 0 the gradient is alpha (PyTorch tests x <= 0 for the exponential branch). The
    forward is max(x, 0) + alpha expm1(min(x, 0)): no select, expm1 exact for small |x|, and large x
    cannot overflow. For alpha >= 0 the backward is min(y, 0) + alpha (+ (1 - alpha) where x > 0):
    y <= 0 exactly on the exponential branch, so this is y + alpha there and 1 above, with no 0 * inf
    at x = +inf (a mask product gave nan there) and no select (3x slower); a negative alpha (y >= 0
    on both branches) takes the select. At a nan input the gradient is nan; PyTorch passes the
    incoming gradient."""

    @staticmethod
    def forward(ctx, x, alpha):
        y = _arr(_at_most(x, 0))
        xp.expm1(y, out=y)
        if alpha != 1:
            y *= alpha
        y += _at_least(x, 0)
        ctx.save_for_backward(x, y)
        ctx.alpha = alpha
        return y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        if ctx.alpha < 0:
            return grad * _arith.where((x <= 0)._data, y + ctx.alpha, 1.0), None
        d = y.clamp_max(0.0) + ctx.alpha
        if ctx.alpha != 1:
            d = d + _mask(x > 0, x) * (1.0 - ctx.alpha)
        return grad * d, None


def elu(input, alpha=1.0, inplace=False):
    """x for x > 0, alpha * (e^x - 1) otherwise."""
    if inplace:
        return input._inplace("elu_", lambda t: elu(t, alpha))
    return Elu.apply(_float_only(input, "elu"), alpha)


class Gelu(Op):
    """Exact: y = x Phi(x), Phi the standard normal CDF = erfc(-x / sqrt 2) / 2;
    dy/dx = Phi(x) + x phi(x), phi(x) = e^(-x^2/2) / sqrt(2 pi).

    Tanh approximation: y = x (1 + tanh u) / 2 with u = sqrt(2/pi) (x + 0.044715 x^3);
    dy/dx = (1 + t) / 2 + x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2) / 2 with t = tanh u.

    NOTE: Phi is computed as erfc(-x/sqrt 2)/2 rather than (1 + erf(x/sqrt 2))/2, which keeps relative
    accuracy for very negative x (PyTorch's formula cancels there; the two agree to ~1e-16 absolute)."""

    @staticmethod
    def forward(ctx, x, approximate):
        ctx.save_for_backward(x)
        ctx.approximate = approximate
        if approximate == "tanh":
            u = _arr(x * x)
            u *= _GELU_TANH_C
            u += 1
            u *= x
            u *= _SQRT_2_OVER_PI
            xp.tanh(u, out=u)
            u += 1
            u *= x
            u *= 0.5
            return u
        cdf = _normal_cdf_array(x)
        ctx.cdf = cdf  # NOTE: kept for a first-order backward: Phi(x) costs as much as the rest of the layer
        return cdf * x

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        if not state.enabled and ctx.approximate != "tanh":  # first order: reuse the forward's Phi(x)
            xa = x._data
            d = xp.square(xa, out=xp.empty_like(xa))  # an array even for a 0-d x
            d *= -0.5
            xp.exp(d, out=d)
            d *= _INV_SQRT_2PI
            d *= xa
            d += ctx.cdf
            d *= grad._data
            return Tensor._make(d), None
        if ctx.approximate == "tanh":
            x2 = x * x
            t = tanh((x2 * _GELU_TANH_C + 1) * x * _SQRT_2_OVER_PI)
            inner = (x2 * (3 * _GELU_TANH_C) + 1) * _SQRT_2_OVER_PI
            d = (t + 1) * 0.5 + x * (1 - t * t) * inner * 0.5
        else:
            pdf = exp(x * x * -0.5) * _INV_SQRT_2PI
            d = NormalCdf.apply(x) + x * pdf
        return grad * d, None


def _normal_cdf_array(x):
    """Phi(x) = erfc(-x / sqrt 2) / 2 as a new array.

    NOTE: erfc here skips Cody's exact e^(-a^2) (see _exp_neg_square), which costs a third of erfc's
    time; that only changes Phi's relative accuracy where it is below 1e-20, invisible in x Phi(x)."""
    u = _arr(x * -_SQRT1_2)
    y = _erf_parts(u, True, exact_exp=False)
    y *= 0.5
    return y


class NormalCdf(Op):
    """Phi(x), the standard normal CDF (gelu's backward);  dPhi/dx = phi(x) = e^(-x^2/2) / sqrt(2 pi)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _normal_cdf_array(x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * (exp(x * x * -0.5) * _INV_SQRT_2PI)


def gelu(input, approximate="none"):
    """x * Phi(x) (Phi: standard normal CDF); ``approximate='tanh'`` uses the tanh approximation."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"gelu: approximate argument must be either 'none' or 'tanh', got {approximate!r}")
    return Gelu.apply(_float_only(input, "gelu"), approximate)


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
    rows = np.zeros((4, 9))
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


def _erf_parts(x, complement, exact_exp=True):
    """erf(x), or erfc(x) when ``complement``, for a float array (float16 is computed in float32).

    Cody's ranges: |x| <= 0.46875 (erf), 0.46875 < |x| <= 4 (erfc), |x| > 4 (erfc). NOTE on speed:
    a masked select or boolean indexing runs ~10x slower in NumPy than arithmetic on the random masks
    real data gives, so both main ranges are evaluated on every element and blended by multiplying
    with 0/1 masks (exact: one of the two terms is exactly 0); only the rare |x| > 4 is gathered by
    index. The work runs in blocks of 64 KiB so that its temporaries stay in cache (2x faster)."""
    if x.dtype == np.float16:
        return _erf_parts(x.astype(np.float32), complement, exact_exp).astype(np.float16)
    flat = xp.ascontiguousarray(x).reshape(-1)
    out = xp.empty_like(flat)
    step = _ERF_BLOCK_BYTES // flat.itemsize
    for i in range(0, flat.size, step):
        _erf_block(flat[i:i + step], out[i:i + step], complement, exact_exp)
    return out.reshape(x.shape)


def _erf_array(x):
    return _erf_parts(x, False)


def _erfc_array(x):
    return _erf_parts(x, True)


class Erf(Op):
    """y = erf x = 2/sqrt(pi) int_0^x e^(-t^2) dt;  dy/dx = 2/sqrt(pi) e^(-x^2)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _erf_array(x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * (exp(-(x * x)) * _TWO_OVER_SQRT_PI)


def erf(input):
    """The error function, accurate to a few ulp (W. J. Cody's rational approximations)."""
    return Erf.apply(_float(input, "erf"))


class Erfc(Op):
    """y = erfc x = 1 - erf x (without the cancellation);  dy/dx = -2/sqrt(pi) e^(-x^2)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _erfc_array(x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * (exp(-(x * x)) * -_TWO_OVER_SQRT_PI)


def erfc(input):
    """1 - erf(input), accurate also where erf(input) is close to 1."""
    return Erfc.apply(_float(input, "erfc"))


# ---- piecewise linear: abs, relu, hardtanh, clamp -------------------------------------------------
class Abs(Op):
    """y = |x|;  dy/dx = sign(x).

    NOTE: the subgradient at 0 is 0 (PyTorch's choice), and so is the gradient at nan."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return xp.abs(x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * sign(x)


def abs(input):
    """|input|; integer dtypes are kept."""
    return Abs.apply(_no_bool(input, "abs"))


absolute = abs


class Relu(Op):
    """y = max(x, 0);  dy/dx = 1 for x > 0, else 0.

    NOTE: the gradient at exactly 0 is 0 (PyTorch's choice of subgradient); like PyTorch we test
    ``y <= 0``, so a nan input passes its gradient through."""

    @staticmethod
    def forward(ctx, x):
        y = _arr(_at_least(x, 0))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        y, = ctx.saved_tensors
        # y >= 0 or nan, so "y != 0" is PyTorch's "not (y <= 0)" in one pass; a constant bool mask
        if not state.enabled:  # first-order backward: the product on arrays
            # NOTE: the 0/1 mask cast to float (through an int8 view of the bools) and multiplied in place
            # runs ~20% faster than float * bool, NumPy's slow casting path (measured on 8 MB arrays)
            out = (y._data != 0).view(np.int8).astype(grad._data.dtype)
            out *= grad._data
            return _make(out)
        return grad * _make(y._data != 0)


def relu(input, inplace=False):
    """max(input, 0); integer dtypes are kept."""
    if inplace:
        return input._inplace("relu_", relu)
    _tensor(input, "relu")
    if input._data.dtype == np.bool_:
        raise RuntimeError("relu: bool tensors are not supported")
    return Relu.apply(input)


class Hardtanh(Op):
    """y = clamp(x, min_val, max_val);  dy/dx = 1 strictly inside (min_val, max_val), else 0.

    NOTE: unlike clamp, the gradient at exactly min_val or max_val is 0 (PyTorch's hardtanh tests
    x <= min_val or x >= max_val); nan passes its gradient through, as in PyTorch."""

    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.save_for_backward(x)
        ctx.lo, ctx.hi = lo, hi
        return xp.clip(x, lo, hi)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        inside = _arith.logical_not(_arith.logical_or(x <= ctx.lo, x >= ctx.hi))
        return grad * _mask(inside, grad), None, None


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """clamp(input, min_val, max_val), with zero gradient at the bounds; integer dtypes are kept."""
    if inplace:
        return input._inplace("hardtanh_", lambda t: hardtanh(t, min_val, max_val))
    _no_bool(input, "hardtanh")
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val cannot be greater than max_val, got {min_val} > {max_val}")
    if input._data.dtype.kind != "f":
        # integer input: the limits are truncated to integers first and the dtype is kept (PyTorch)
        lo, hi = int(min_val), int(max_val)
        if input._data.dtype.kind == "u" and (lo < 0 or hi < 0):
            raise RuntimeError("hardtanh: cannot do hardtanh on an unsigned type with negative limits")
        return _make(xp.clip(input._data, lo, hi))
    return Hardtanh.apply(input, min_val, max_val)


def relu6(input, inplace=False):
    """min(max(input, 0), 6): hardtanh(input, 0, 6)."""
    return hardtanh(input, 0.0, 6.0, inplace)


class Clamp(Op):
    """Number bounds: y = min(max(x, lo), hi);  dy/dx = 1 for lo <= x <= hi, else 0.

    NOTE: at exactly a bound the gradient is 1 (PyTorch's clamp tests x >= min and x <= max, unlike
    hardtanh); nan gets 0; with min > max every output is max and every gradient 0."""

    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.save_for_backward(x)
        ctx.lo, ctx.hi = lo, hi
        if hi is None:
            return _at_least(x, lo)
        if lo is None:
            return _at_most(x, hi)
        return xp.clip(x, lo, hi)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        lo, hi = ctx.lo, ctx.hi
        if hi is None:
            inside = x >= lo
        elif lo is None:
            inside = x <= hi
        else:
            inside = _arith.logical_and(x >= lo, x <= hi)
        return grad * _mask(inside, grad), None, None


class ClampTensor(Op):
    """Tensor bounds (broadcast with x): y = min(max(x, lo), hi).

    Gradients, as PyTorch routes them: x gets it where lo <= x <= hi; lo where x < lo and lo < hi;
    hi where x > hi or hi < lo. NOTE: where lo == hi and x lies outside, nobody gets the gradient
    (PyTorch's rule, kept for parity)."""

    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.save_for_backward(x, lo, hi)
        ctx.shapes = x.shape, None if lo is None else lo.shape, None if hi is None else hi.shape
        if lo is None:
            return xp.minimum(x, hi)
        y = _arr(xp.maximum(x, lo))
        if hi is not None:
            if y.shape == xp.broadcast_shapes(y.shape, hi.shape):
                xp.minimum(y, hi, out=y)
            else:
                y = xp.minimum(y, hi)
        return y

    @staticmethod
    def backward(ctx, grad):
        x, lo, hi = ctx.saved_tensors
        sx, slo, shi = ctx.shapes
        need = ctx.needs_input_grad
        land, lor = _arith.logical_and, _arith.logical_or
        gx = glo = ghi = None
        if need[0]:
            if lo is None:
                inside = x <= hi
            elif hi is None:
                inside = x >= lo
            else:
                inside = land(x >= lo, x <= hi)
            gx = sum_to(grad * _mask(inside, grad), sx)
        if lo is not None and need[1]:
            below = x < lo if hi is None else land(x < lo, lo < hi)
            glo = sum_to(grad * _mask(below, grad), slo)
        if hi is not None and need[2]:
            above = x > hi if lo is None else lor(x > hi, hi < lo)
            ghi = sum_to(grad * _mask(above, grad), shi)
        return gx, glo, ghi


def clamp(input, min=None, max=None):
    """Limit every element to [min, max]; either bound may be None, a number, or a Tensor
    (broadcasting with input, and receiving gradient where it is the active bound).

    The result dtype is PyTorch's promotion of input with the bounds (int input, float bound: float).
    """
    _tensor(input, "clamp")
    if min is None and max is None:
        raise RuntimeError("clamp: at least one of 'min' or 'max' must not be None")
    bounds = [b for b in (min, max) if b is not None]
    dt = dtypes.result_type(input, *bounds)
    if input._data.dtype != dt.np:
        input = input.to(dt)
    if not any(isinstance(b, Tensor) for b in bounds):
        if dt.np.kind in "iub":
            # NOTE: PyTorch converts number bounds to the integer dtype first, wrapping as C does:
            # clamp(uint8 tensor, -1, 2) has min 255 (and so gives 2 everywhere)
            min = None if min is None else xp.asarray(min).astype(dt.np)
            max = None if max is None else xp.asarray(max).astype(dt.np)
        return Clamp.apply(input, min, max)
    lo = None if min is None else _bound(min, dt)
    hi = None if max is None else _bound(max, dt)
    return ClampTensor.apply(input, lo, hi)


def _bound(b, dt):
    if isinstance(b, Tensor):
        return b if b._data.dtype == dt.np else b.to(dt)
    return _make(xp.asarray(b, dtype=dt.np))


clip = clamp


def clamp_min(input, min):
    return clamp(input, min=min)


def clamp_max(input, max):
    return clamp(input, max=max)


# ---- piecewise constant: zero gradient everywhere ---------------------------------------------------
class _ZeroGrad(Op):
    """Base of the rounding family: PyTorch defines their gradient as zeros (not None)."""

    @staticmethod
    def backward(ctx, grad):
        return _zeros(grad)


class Sign(_ZeroGrad):
    """-1, 0 or +1. NOTE: sign(nan) is 0, as in PyTorch (NumPy gives nan)."""

    @staticmethod
    def forward(ctx, x):
        y = _arr(xp.sign(x))
        if y.dtype.kind == "f":
            nan = xp.isnan(y)
            if nan.any():
                xp.copyto(y, 0, where=nan)
        return y


def sign(input):
    """-1, 0 or +1 per element (sign(nan) = 0); the dtype is kept, bool included."""
    _tensor(input, "sign")
    if input._data.dtype == np.bool_:
        return _make(input._data.copy())
    return Sign.apply(input)


class Floor(_ZeroGrad):
    @staticmethod
    def forward(ctx, x):
        return xp.floor(x)


class Ceil(_ZeroGrad):
    @staticmethod
    def forward(ctx, x):
        return xp.ceil(x)


class Trunc(_ZeroGrad):
    @staticmethod
    def forward(ctx, x):
        return xp.trunc(x)


class Round(_ZeroGrad):
    """Round half to even, to ``decimals`` places: rint(x * 10^d) / 10^d (NumPy's and PyTorch's rule)."""

    @staticmethod
    def forward(ctx, x, decimals):
        return xp.rint(x) if decimals == 0 else xp.round(x, decimals)

    @staticmethod
    def backward(ctx, grad):
        return _zeros(grad), None


def _rounding(cls, input, op):
    _no_bool(input, op)
    if input._data.dtype.kind != "f":  # integers are already whole: a copy, as in PyTorch
        return _make(input._data.copy())
    return cls.apply(input)


def floor(input):
    """Largest integer <= input (integer dtypes are kept); zero gradient."""
    return _rounding(Floor, input, "floor")


def ceil(input):
    """Smallest integer >= input (integer dtypes are kept); zero gradient."""
    return _rounding(Ceil, input, "ceil")


def trunc(input):
    """Round toward zero (integer dtypes are kept); zero gradient."""
    return _rounding(Trunc, input, "trunc")


fix = trunc


def round(input, *, decimals=0):
    """Round half to even, to ``decimals`` decimal places (negative: tens, hundreds, ...);
    zero gradient. Integer inputs are returned as a copy when decimals == 0."""
    _no_bool(input, "round")
    if input._data.dtype.kind != "f":
        if decimals != 0:
            raise NotImplementedError(f"round: decimals={decimals} is not implemented for {input.dtype} "
                                      "tensors (as in PyTorch); convert to a float dtype first")
        return _make(input._data.copy())
    return Round.apply(input, decimals)
