"""Elementwise functions of two or three tensors that tutorials reach for: atan2, hypot, logaddexp(2),
fmod, and the fused forms addcmul, addcdiv and lerp (PyTorch's ``value=``/``weight`` arguments).

The binary functions are Ops (forward on arrays, backward in Tensor ops so double backward works, each
gradient reduced to its operand's shape with ``sum_to``); the three-operand forms compose ``+ * /``.
Operands are promoted with PyTorch's rules; atan2 of integer operands gives the default float dtype, and
hypot/logaddexp(2) of two integer or bool operands raise NotImplementedError, as in PyTorch.
"""
from __future__ import annotations

import math

from .. import dtypes
from ..autograd.function import Op
from ..backend import quiet, xp
from ..tensor import Tensor
from . import arith as _arith
from . import unary as _unary
from .reduce import sum_to

_make = Tensor._make

__all__ = ["atan2", "arctan2", "hypot", "logaddexp", "logaddexp2", "fmod", "addcmul", "addcdiv", "lerp"]


def _operands(a, b, op, floating):
    """Both operands as Tensors of their common dtype (the default float dtype for an integer pair when
    ``floating``); a cast of a tensor stays differentiable."""
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(a).__name__}")
    dt = dtypes.result_type(a, b)
    if floating and not dt.is_floating_point:
        dt = dtypes.get_default_dtype()
    return _as(a, dt), _as(b, dt)


def _as(x, dt):
    if isinstance(x, Tensor):
        return x if x._data.dtype == dt.np else x.to(dt)
    return _make(xp.asarray(x, dtype=dt.np))


def _float_kernel(a, b, op):
    """PyTorch's error for hypot/logaddexp(2) of two integer or bool operands (its kernels exist for floating
    dtypes only; atan2 promotes instead)."""
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(a).__name__}")
    dt = dtypes.result_type(a, b)
    if not dt.is_floating_point:
        raise NotImplementedError(f'"{op}_cpu" not implemented for {_arith._torch_type_name(dt.np)!r} ({op} of '
                                  f'{dt} operands: convert one to a floating point dtype first)')


class Atan2(Op):
    """y = atan2(a, b), the angle of the point (b, a);  d/da = b / (a^2 + b^2), d/db = -a / (a^2 + b^2).

    NOTE: where a^2 + b^2 is 0 (the origin, or squares that underflow) both gradients are 0, as PyTorch's
    (0 / 0 would give nan)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return xp.arctan2(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        denom = a * a + b * b
        origin = denom._data == 0
        if origin.any():  # grad / inf = 0 there
            denom = _arith.where(origin, math.inf, denom)
        g = grad / denom
        ga = sum_to(g * b, a.shape) if ctx.needs_input_grad[0] else None
        gb = sum_to(-g * a, b.shape) if ctx.needs_input_grad[1] else None
        return ga, gb


def atan2(input: Tensor, other: Tensor | float) -> Tensor:
    """The quadrant-aware arctan(input / other), in [-pi, pi].

    Example::

        >>> nnzoo.atan2(nnzoo.tensor([1.0, 1.0]), nnzoo.tensor([1.0, -1.0]))
        tensor([0.7854, 2.3562])
    """
    return Atan2.apply(*_operands(input, other, "atan2", True))


arctan2 = atan2


class Hypot(Op):
    """y = sqrt(a^2 + b^2) without overflow;  d/da = a / y, d/db = b / y (formed as grad * a / y, as PyTorch)."""

    @staticmethod
    def forward(ctx, a, b):
        y = xp.hypot(a, b)
        ctx.save_for_backward(a, b, y)
        return y

    @staticmethod
    def backward(ctx, grad):
        a, b, y = ctx.saved_tensors
        # PyTorch's order, grad * a / y: grad / y overflows for a subnormal y (a = 1e-310, b = 0) where this
        # gives about grad
        ga = sum_to(grad * a / y, a.shape) if ctx.needs_input_grad[0] else None
        gb = sum_to(grad * b / y, b.shape) if ctx.needs_input_grad[1] else None
        return ga, gb


def hypot(input: Tensor, other: Tensor | float) -> Tensor:
    """sqrt(input^2 + other^2), the hypotenuse, computed without overflow.

    Example::

        >>> nnzoo.hypot(nnzoo.tensor([3.0, 5.0]), nnzoo.tensor([4.0, 12.0]))
        tensor([ 5., 13.])

    NOTE: two integer or bool operands raise NotImplementedError, as PyTorch's (which, unlike atan2, has no
    integer-to-float promotion for hypot).
    """
    _float_kernel(input, other, "hypot")
    return Hypot.apply(*_operands(input, other, "hypot", True))


class LogAddExp(Op):
    """y = log(e^a + e^b) (base 2 when ``base2``: log2(2^a + 2^b));
    d/da = sigmoid(c (a - b)), d/db = sigmoid(c (b - a)) with c = 1 (c = ln 2 for base 2).

    NOTE: the sigmoid form of e^a / (e^a + e^b) never overflows (PyTorch's 1 / (1 + e^(b - a)) is the same
    value)."""

    @staticmethod
    def forward(ctx, a, b, base2):
        ctx.save_for_backward(a, b)
        ctx.scale = math.log(2.0) if base2 else 1.0
        return (xp.logaddexp2 if base2 else xp.logaddexp)(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        d = a - b
        if ctx.scale != 1.0:
            d = d * ctx.scale
        ga = sum_to(grad * _unary.sigmoid(d), a.shape) if ctx.needs_input_grad[0] else None
        gb = sum_to(grad * _unary.sigmoid(-d), b.shape) if ctx.needs_input_grad[1] else None
        return ga, gb, None


def logaddexp(input: Tensor, other: Tensor | float) -> Tensor:
    """log(e^input + e^other), stable for large magnitudes.

    Example::

        >>> nnzoo.logaddexp(nnzoo.tensor([0.0, 1.0]), nnzoo.tensor([0.0, 2.0]))
        tensor([0.6931, 2.3133])

    NOTE: two integer or bool operands raise NotImplementedError, as PyTorch's.
    """
    _float_kernel(input, other, "logaddexp")
    return LogAddExp.apply(*_operands(input, other, "logaddexp", True), False)


def logaddexp2(input: Tensor, other: Tensor | float) -> Tensor:
    """log2(2^input + 2^other), stable for large magnitudes.

    Example::

        >>> nnzoo.logaddexp2(nnzoo.tensor([0.0, 3.0]), nnzoo.tensor([0.0, 3.0]))
        tensor([1., 4.])

    NOTE: two integer or bool operands raise NotImplementedError, as PyTorch's.
    """
    _float_kernel(input, other, "logaddexp2")
    return LogAddExp.apply(*_operands(input, other, "logaddexp2", True), True)


class Fmod(Op):
    """y = a - b trunc(a / b) (C's fmod: the sign of a);  d/da = 1, d/db = -trunc(a / b)."""

    @staticmethod
    @quiet
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return xp.fmod(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        ga = sum_to(grad, a.shape) if ctx.needs_input_grad[0] else None
        gb = sum_to(-grad * _arith.div(a, b, rounding_mode="trunc"), b.shape) if ctx.needs_input_grad[1] else None
        return ga, gb


def fmod(input: Tensor, other: Tensor | float) -> Tensor:
    """C-style remainder input - other * trunc(input / other): the result has the sign of input
    (``remainder`` takes the sign of other). Integer dtypes are kept; integer division by zero raises.

    Example::

        >>> nnzoo.fmod(nnzoo.tensor([-3.0, 3.0]), 2.0)
        tensor([-1.,  1.])
    """
    a, b = _operands(input, other, "fmod", False)
    if not a.dtype.is_floating_point:
        _arith._integer_divisor(a._data.dtype, b, "fmod")
    return Fmod.apply(a, b)


# ---- the fused three-operand forms ---------------------------------------------------------------------
def _same_float(*ts):
    """Whether ``ts`` are Tensors of one floating dtype (the fused Ops' case; anything else is composed)."""
    return (all(isinstance(t, Tensor) for t in ts) and ts[0]._data.dtype.kind == "f"
            and all(t._data.dtype == ts[0]._data.dtype for t in ts))


class Addcmul(Op):
    """y = x + (v t1) t2;  dy/dx = 1, dy/dt1 = v t2, dy/dt2 = v t1 (PyTorch's forward and backward formulas).

    NOTE: each gradient is formed at the broadcast shape and then summed to its operand's shape, as PyTorch's,
    so that the inf/nan pattern is PyTorch's (summing the upstream gradient first and then multiplying by an inf
    gives +-inf where PyTorch's inf - inf gives nan)."""

    @staticmethod
    @quiet
    def forward(ctx, x, t1, t2, value):
        ctx.save_for_backward(t1, t2)
        ctx.shapes, ctx.value = (x.shape, t1.shape, t2.shape), value
        prod = t1 * t1.dtype.type(value) if value != 1 else t1
        return x + prod * t2

    @staticmethod
    def backward(ctx, grad):
        t1, t2 = ctx.saved_tensors
        sx, s1, s2 = ctx.shapes
        v = ctx.value
        gx = sum_to(grad, sx) if ctx.needs_input_grad[0] else None
        g1 = sum_to(grad * (t2 * v if v != 1 else t2), s1) if ctx.needs_input_grad[1] else None
        g2 = sum_to(grad * (t1 * v if v != 1 else t1), s2) if ctx.needs_input_grad[2] else None
        return gx, g1, g2, None


class Addcdiv(Op):
    """y = x + (v t1) / t2;  dy/dx = 1, dy/dt1 = v / t2, dy/dt2 = -v t1 / (t2 t2) (PyTorch's formulas).

    NOTE: as :class:`Addcmul`, each gradient is formed at the broadcast shape before it is summed (a tensor1
    broadcast against zeros of tensor2 gets inf - inf = nan, PyTorch's answer)."""

    @staticmethod
    @quiet
    def forward(ctx, x, t1, t2, value):
        ctx.save_for_backward(t1, t2)
        ctx.shapes, ctx.value = (x.shape, t1.shape, t2.shape), value
        num = t1 * t1.dtype.type(value) if value != 1 else t1
        return x + num / t2

    @staticmethod
    def backward(ctx, grad):
        t1, t2 = ctx.saved_tensors
        sx, s1, s2 = ctx.shapes
        v = ctx.value
        gx = sum_to(grad, sx) if ctx.needs_input_grad[0] else None
        g1 = sum_to(grad * (v / t2), s1) if ctx.needs_input_grad[1] else None
        g2 = None
        if ctx.needs_input_grad[2]:
            num = t1 * v if v != 1 else t1
            g2 = sum_to(-grad * (num / (t2 * t2)), s2)
        return gx, g1, g2, None


def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: float = 1) -> Tensor:
    """input + value * tensor1 * tensor2 (broadcasting).

    Example::

        >>> nnzoo.addcmul(nnzoo.ones(2), nnzoo.tensor([1.0, 2.0]), nnzoo.tensor([3.0, 4.0]), value=0.5)
        tensor([2.5000, 5.0000])
    """
    if _same_float(input, tensor1, tensor2) and not isinstance(value, Tensor):
        return Addcmul.apply(input, tensor1, tensor2, value)
    prod = tensor1 * tensor2
    return input + (prod if value == 1 else prod * value)


def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: float = 1) -> Tensor:
    """input + value * tensor1 / tensor2 (broadcasting); integer tensor1 and tensor2 are refused, as in PyTorch.

    Example::

        >>> nnzoo.addcdiv(nnzoo.ones(2), nnzoo.tensor([1.0, 2.0]), nnzoo.tensor([4.0, 4.0]), value=2)
        tensor([1.5000, 2.0000])
    """
    if not (tensor1.dtype.is_floating_point or tensor2.dtype.is_floating_point):
        raise RuntimeError("addcdiv: integer division with addcdiv is no longer supported; divide tensor1 by "
                           "tensor2 with true_divide and add the result to input instead")
    if _same_float(input, tensor1, tensor2) and not isinstance(value, Tensor):
        return Addcdiv.apply(input, tensor1, tensor2, value)
    quot = tensor1 / tensor2
    return input + (quot if value == 1 else quot * value)


class Lerp(Op):
    """y = a + w (b - a) where |w| < 1/2, else b - (b - a) (1 - w) (PyTorch's two forms: exact at w = 0 and
    w = 1); dy/da = 1 - w, dy/db = w, dy/dw = b - a.

    NOTE: the two forms differ where b - a is infinite: lerp(-1e4, inf, -2) is inf - inf = nan in the second
    form, as PyTorch's."""

    @staticmethod
    @quiet
    def forward(ctx, a, b, w):
        ctx.scalar = not isinstance(w, xp.ndarray)
        if ctx.scalar:
            ctx.save_for_backward(a, b)
            ctx.w = w
        else:
            ctx.save_for_backward(a, b, w)
        diff = b - a
        if ctx.scalar:
            return a + diff * a.dtype.type(w) if abs(w) < 0.5 else b - diff * a.dtype.type(1 - w)
        return xp.where(xp.abs(w) < 0.5, a + w * diff, b - diff * (1 - w))

    @staticmethod
    def backward(ctx, grad):
        if ctx.scalar:
            (a, b), w, shape = ctx.saved_tensors, ctx.w, ()
        else:
            a, b, w = ctx.saved_tensors
            shape = w.shape
        ga = sum_to(grad * (1 - w), a.shape) if ctx.needs_input_grad[0] else None
        gb = sum_to(grad * w, b.shape) if ctx.needs_input_grad[1] else None
        gw = sum_to(grad * (b - a), shape) if not ctx.scalar and ctx.needs_input_grad[2] else None
        return ga, gb, gw


def lerp(input: Tensor, end: Tensor, weight: float | Tensor) -> Tensor:
    """Linear interpolation input + weight * (end - input) (weight a number or a broadcasting tensor); computed
    as end - (end - input) * (1 - weight) where |weight| >= 1/2, as PyTorch (exact at weight 1).

    Example::

        >>> nnzoo.lerp(nnzoo.tensor([0.0, 10.0]), nnzoo.tensor([10.0, 20.0]), 0.25)
        tensor([ 2.5000, 12.5000])
    """
    for name, t in (("input", input), ("end", end)):
        if not isinstance(t, Tensor):
            raise TypeError(f"lerp(): argument '{name}' must be Tensor, not {type(t).__name__}")
    if input.dtype != end.dtype or (isinstance(weight, Tensor) and weight.dtype != input.dtype):
        raise RuntimeError(f"lerp: expected input, end (and a tensor weight) of one dtype, got {input.dtype}, "
                           f"{end.dtype}" + (f" and {weight.dtype}" if isinstance(weight, Tensor) else ""))
    if input._data.dtype.kind != "f":
        return input + weight * (end - input)
    return Lerp.apply(input, end, weight if isinstance(weight, Tensor) else float(weight))
