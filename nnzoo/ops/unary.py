"""Elementwise functions of one tensor: exp/log and friends, trigonometry, the activations, ``erf``,
``clamp``, and the rounding family (whose gradient is zero, as in PyTorch).

Dtypes follow PyTorch: a float function (exp, sqrt, sigmoid, erf, ...) of an integer or bool tensor
returns the default float dtype; abs, square, sign, relu, hardtanh, clamp and the rounding functions
keep an integer dtype. The activations that live in ``torch.nn.functional`` (leaky_relu, elu, gelu,
silu, softplus, hardtanh) are exported here too; ``nnzoo.nn.functional`` re-exports them.

Every forward works on arrays and allocates as few temporaries as it can (``out=`` on a temporary
it already owns); every backward is written with Tensor ops so that double backward works. The
activations' ``inplace=True`` writes the result into the input, with PyTorch's in-place semantics
(see ``Tensor._inplace``). The array numerics that are more than a ufunc or two (erf and erfc, the normal
CDF, the sigmoid, gelu's and relu's first-order backwards) are in :mod:`nnzoo.kernels.special`.
"""
from __future__ import annotations

import math

import numpy as np

from .. import dtypes
from ..autograd.function import Op
from ..autograd.grad_mode import state
from ..backend import quiet, xp
from ..kernels import special as K
from ..kernels.special import as_array as _arr
from ..tensor import Tensor
from . import arith as _arith
from .reduce import sum_to

_make = Tensor._make

__all__ = [
    "abs", "absolute", "exp", "log", "log1p", "expm1", "log2", "log10", "sqrt", "rsqrt", "reciprocal",
    "square", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "leaky_relu", "elu", "gelu", "silu",
    "softplus", "hardtanh", "relu6", "erf", "erfc", "clamp", "clip", "clamp_min", "clamp_max",
    "sign", "floor", "ceil", "round", "trunc", "fix",
    "sinh", "cosh", "asin", "acos", "atan", "asinh", "acosh", "atanh", "arcsin", "arccos", "arctan", "arcsinh",
    "arccosh", "arctanh", "deg2rad", "rad2deg", "sinc", "frac", "logit", "nan_to_num",
]

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


def exp(input: Tensor) -> Tensor:
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


def expm1(input: Tensor) -> Tensor:
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


def log(input: Tensor) -> Tensor:
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


def log1p(input: Tensor) -> Tensor:
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


def log2(input: Tensor) -> Tensor:
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


def log10(input: Tensor) -> Tensor:
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


def sqrt(input: Tensor) -> Tensor:
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


def rsqrt(input: Tensor) -> Tensor:
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


def reciprocal(input: Tensor) -> Tensor:
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


def square(input: Tensor) -> Tensor:
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


def sin(input: Tensor) -> Tensor:
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


def cos(input: Tensor) -> Tensor:
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


def tan(input: Tensor) -> Tensor:
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
        if not state.enabled:  # first-order backward: one pass on arrays
            return _make(K.tanh_backward(y._data, grad._data))
        return grad * (1 - y * y)


def tanh(input: Tensor) -> Tensor:
    return Tanh.apply(_float(input, "tanh"))


# ---- sigmoid and the smooth activations ------------------------------------------------------------
class Sigmoid(Op):
    """y = 1 / (1 + e^-x);  dy/dx = y (1 - y)."""

    @staticmethod
    def forward(ctx, x):
        y = K.sigmoid(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        y, = ctx.saved_tensors
        if not state.enabled:  # first-order backward: one pass on arrays
            return _make(K.sigmoid_backward(y._data, grad._data))
        return grad * (y * (1 - y))


def sigmoid(input: Tensor) -> Tensor:
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


def silu(input: Tensor, inplace: bool = False) -> Tensor:
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


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
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


def logsigmoid(input: Tensor) -> Tensor:
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


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
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


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
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
        y, cdf = K.gelu_forward(x)
        ctx.cdf = cdf  # NOTE: kept for a first-order backward: Phi(x) costs as much as the rest of the layer
        return y

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        if not state.enabled and ctx.approximate != "tanh":  # first order: reuse the forward's Phi(x)
            return Tensor._make(K.gelu_backward(x._data, ctx.cdf, grad._data)), None
        if ctx.approximate == "tanh":
            x2 = x * x
            t = tanh((x2 * _GELU_TANH_C + 1) * x * _SQRT_2_OVER_PI)
            inner = (x2 * (3 * _GELU_TANH_C) + 1) * _SQRT_2_OVER_PI
            d = (t + 1) * 0.5 + x * (1 - t * t) * inner * 0.5
        else:
            pdf = exp(x * x * -0.5) * _INV_SQRT_2PI
            d = NormalCdf.apply(x) + x * pdf
        return grad * d, None


class NormalCdf(Op):
    """Phi(x), the standard normal CDF (gelu's backward);  dPhi/dx = phi(x) = e^(-x^2/2) / sqrt(2 pi)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return K.normal_cdf(x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * (exp(x * x * -0.5) * _INV_SQRT_2PI)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x) (Phi: standard normal CDF); ``approximate='tanh'`` uses the tanh approximation."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"gelu: approximate argument must be either 'none' or 'tanh', got {approximate!r}")
    return Gelu.apply(_float_only(input, "gelu"), approximate)


class Erf(Op):
    """y = erf x = 2/sqrt(pi) int_0^x e^(-t^2) dt;  dy/dx = 2/sqrt(pi) e^(-x^2)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return K.erf(x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * (exp(-(x * x)) * _TWO_OVER_SQRT_PI)


def erf(input: Tensor) -> Tensor:
    """The error function, accurate to a few ulp (W. J. Cody's rational approximations)."""
    return Erf.apply(_float(input, "erf"))


class Erfc(Op):
    """y = erfc x = 1 - erf x (without the cancellation);  dy/dx = -2/sqrt(pi) e^(-x^2)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return K.erfc(x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * (exp(-(x * x)) * -_TWO_OVER_SQRT_PI)


def erfc(input: Tensor) -> Tensor:
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


def abs(input: Tensor) -> Tensor:
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
            return _make(K.relu_backward(y._data, grad._data))
        return grad * _make(y._data != 0)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
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


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
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


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
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


def clamp(input: Tensor, min: float | Tensor | None = None, max: float | Tensor | None = None) -> Tensor:
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


def clamp_min(input: Tensor, min: float | Tensor) -> Tensor:
    return clamp(input, min=min)


def clamp_max(input: Tensor, max: float | Tensor) -> Tensor:
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


def sign(input: Tensor) -> Tensor:
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


def floor(input: Tensor) -> Tensor:
    """Largest integer <= input (integer dtypes are kept); zero gradient."""
    return _rounding(Floor, input, "floor")


def ceil(input: Tensor) -> Tensor:
    """Smallest integer >= input (integer dtypes are kept); zero gradient."""
    return _rounding(Ceil, input, "ceil")


def trunc(input: Tensor) -> Tensor:
    """Round toward zero (integer dtypes are kept); zero gradient."""
    return _rounding(Trunc, input, "trunc")


fix = trunc


def round(input: Tensor, *, decimals: int = 0) -> Tensor:
    """Round half to even, to ``decimals`` decimal places (negative: tens, hundreds, ...);
    zero gradient. Integer inputs are returned as a copy when decimals == 0."""
    _no_bool(input, "round")
    if input._data.dtype.kind != "f":
        if decimals != 0:
            raise NotImplementedError(f"round: decimals={decimals} is not implemented for {input.dtype} "
                                      "tensors (as in PyTorch); convert to a float dtype first")
        return _make(input._data.copy())
    return Round.apply(input, decimals)


# ---- hyperbolic and inverse trigonometric functions -------------------------------------------------
class Sinh(Op):
    """y = sinh x;  dy/dx = cosh x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return xp.sinh(x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * cosh(x)


def sinh(input: Tensor) -> Tensor:
    """The hyperbolic sine (e^x - e^-x) / 2.

    Example::

        >>> nnzoo.sinh(nnzoo.tensor([0.0, 1.0]))
        tensor([0.0000, 1.1752])
    """
    return Sinh.apply(_float(input, "sinh"))


class Cosh(Op):
    """y = cosh x;  dy/dx = sinh x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return xp.cosh(x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * sinh(x)


def cosh(input: Tensor) -> Tensor:
    """The hyperbolic cosine (e^x + e^-x) / 2.

    Example::

        >>> nnzoo.cosh(nnzoo.tensor([0.0, 1.0]))
        tensor([1.0000, 1.5431])
    """
    return Cosh.apply(_float(input, "cosh"))


class Asin(Op):
    """y = arcsin x;  dy/dx = 1 / sqrt(1 - x^2) (nan outside [-1, 1], as in PyTorch)."""

    @staticmethod
    @quiet
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return xp.arcsin(x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * rsqrt(1 - x * x)


def asin(input: Tensor) -> Tensor:
    """The inverse sine, in [-pi/2, pi/2] (nan outside [-1, 1]).

    Example::

        >>> nnzoo.asin(nnzoo.tensor([0.0, 1.0]))
        tensor([0.0000, 1.5708])
    """
    return Asin.apply(_float(input, "asin"))


class Acos(Op):
    """y = arccos x;  dy/dx = -1 / sqrt(1 - x^2)."""

    @staticmethod
    @quiet
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return xp.arccos(x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return -grad * rsqrt(1 - x * x)


def acos(input: Tensor) -> Tensor:
    """The inverse cosine, in [0, pi] (nan outside [-1, 1]).

    Example::

        >>> nnzoo.acos(nnzoo.tensor([1.0, 0.0]))
        tensor([0.0000, 1.5708])
    """
    return Acos.apply(_float(input, "acos"))


class Atan(Op):
    """y = arctan x;  dy/dx = 1 / (1 + x^2)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return xp.arctan(x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad / (x * x + 1)


def atan(input: Tensor) -> Tensor:
    """The inverse tangent, in (-pi/2, pi/2).

    Example::

        >>> nnzoo.atan(nnzoo.tensor([0.0, 1.0]))
        tensor([0.0000, 0.7854])
    """
    return Atan.apply(_float(input, "atan"))


class Asinh(Op):
    """y = arsinh x;  dy/dx = 1 / sqrt(x^2 + 1)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return xp.arcsinh(x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * rsqrt(x * x + 1)


def asinh(input: Tensor) -> Tensor:
    """The inverse hyperbolic sine log(x + sqrt(x^2 + 1)).

    Example::

        >>> nnzoo.asinh(nnzoo.tensor([0.0, 1.0]))
        tensor([0.0000, 0.8814])
    """
    return Asinh.apply(_float(input, "asinh"))


class Acosh(Op):
    """y = arcosh x;  dy/dx = 1 / sqrt(x^2 - 1) (nan below 1, as in PyTorch)."""

    @staticmethod
    @quiet
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return xp.arccosh(x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * rsqrt(x * x - 1)


def acosh(input: Tensor) -> Tensor:
    """The inverse hyperbolic cosine log(x + sqrt(x^2 - 1)), for x >= 1.

    Example::

        >>> nnzoo.acosh(nnzoo.tensor([1.0, 2.0]))
        tensor([0.0000, 1.3170])
    """
    return Acosh.apply(_float(input, "acosh"))


class Atanh(Op):
    """y = artanh x;  dy/dx = 1 / (1 - x^2) (inf at +-1, nan outside)."""

    @staticmethod
    @quiet
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return xp.arctanh(x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad / (1 - x * x)


def atanh(input: Tensor) -> Tensor:
    """The inverse hyperbolic tangent log((1 + x) / (1 - x)) / 2, for -1 < x < 1.

    Example::

        >>> nnzoo.atanh(nnzoo.tensor([0.0, 0.5]))
        tensor([0.0000, 0.5493])
    """
    return Atanh.apply(_float(input, "atanh"))


arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh


def deg2rad(input: Tensor) -> Tensor:
    """input * pi / 180.

    Example::

        >>> nnzoo.deg2rad(nnzoo.tensor([180.0, 90.0]))
        tensor([3.1416, 1.5708])
    """
    return _float(input, "deg2rad") * (math.pi / 180.0)


def rad2deg(input: Tensor) -> Tensor:
    """input * 180 / pi.

    Example::

        >>> nnzoo.rad2deg(nnzoo.tensor([math.pi, -math.pi / 2]))
        tensor([180., -90.])
    """
    return _float(input, "rad2deg") * (180.0 / math.pi)


class Sinc(Op):
    """y = sin(pi x) / (pi x), 1 at x = 0;  dy/dx = (cos(pi x) pi x - sin(pi x)) / (pi x^2), 0 at x = 0."""

    @staticmethod
    @quiet
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return xp.sinc(x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        px = x * math.pi
        d = (px * cos(px) - sin(px)) / (px * x)
        zero = x == 0
        if zero._data.any():
            d = _arith.where(zero, 0.0, d)
        return grad * d


def sinc(input: Tensor) -> Tensor:
    """The normalised sinc sin(pi x) / (pi x), with sinc(0) = 1.

    Example::

        >>> nnzoo.sinc(nnzoo.tensor([0.0, 0.5, 1.5]))
        tensor([ 1.0000,  0.6366, -0.2122])
    """
    return Sinc.apply(_float(input, "sinc"))


def frac(input: Tensor) -> Tensor:
    """input - trunc(input): the fractional part, with input's sign; gradient 1.

    Example::

        >>> nnzoo.frac(nnzoo.tensor([1.5, -2.25]))
        tensor([ 0.5000, -0.2500])
    """
    _no_bool(input, "frac")
    return input - trunc(input)


class Logit(Op):
    """y = log(z / (1 - z)), z = x clamped to [eps, 1 - eps] when eps is given;
    dy/dx = 1 / (x (1 - x)), and 0 where x lies outside [eps, 1 - eps]; without eps, nan outside [0, 1]
    (PyTorch's rules).

    NOTE: without eps the denominator is |x (1 - x)|, so that at x = 0 and 1 the gradient is g * inf with the
    sign of g, as PyTorch's (x = -0 gave x (1 - x) = -0 and the opposite sign)."""

    @staticmethod
    @quiet
    def forward(ctx, x, eps):
        ctx.save_for_backward(x)
        ctx.eps = eps
        z = x if eps is None else xp.clip(x, eps, 1.0 - eps)
        return xp.log(z / (1 - z))

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        denom = x * (1 - x)
        g = grad / (denom.abs() if ctx.eps is None else denom)
        lo, hi, fill = (0.0, 1.0, math.nan) if ctx.eps is None else (ctx.eps, 1.0 - ctx.eps, 0.0)
        outside = _arith.logical_or(x < lo, x > hi)  # a nan x is not outside: g / nan = nan, as PyTorch
        return _arith.where(outside, fill, g), None


def logit(input: Tensor, eps: float | None = None) -> Tensor:
    """log(z / (1 - z)) with z = input clamped to [eps, 1 - eps] when eps is given (else nan outside [0, 1]).

    Example::

        >>> nnzoo.logit(nnzoo.tensor([0.25, 0.5, 0.75]))
        tensor([-1.0986,  0.0000,  1.0986])
    """
    return Logit.apply(_float(input, "logit"), eps)


class NanToNum(Op):
    """nan -> nan, +inf -> posinf, -inf -> neginf;  dy/dx = 1 where x is finite, else 0 (PyTorch's rule)."""

    @staticmethod
    def forward(ctx, x, nan, posinf, neginf):
        ctx.save_for_backward(x)
        return xp.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * _mask(_make(xp.isfinite(x._data)), grad), None, None, None


def nan_to_num(input: Tensor, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> Tensor:
    """nan replaced by ``nan``, +-inf by ``posinf``/``neginf`` (default: the dtype's largest/lowest value).

    Example::

        >>> nnzoo.nan_to_num(nnzoo.tensor([float('nan'), float('inf'), -1.0]), posinf=9.0)
        tensor([ 0.,  9., -1.])
    """
    _tensor(input, "nan_to_num")
    if input._data.dtype.kind != "f":
        return _make(input._data.copy())
    return NanToNum.apply(input, nan, posinf, neginf)
