"""Binary arithmetic (+ - * / ** remainder, maximum/minimum, where), comparisons, casts and copies.

Operands are promoted with PyTorch's rules (``dtypes.result_type``) before the op runs, so the
forward works on arrays of one dtype; every backward reduces its gradient to the operand's shape
with the one broadcasting helper ``sum_to``.
"""
import numpy as np

from .. import dtypes
from ..autograd.function import Op
from ..backend import quiet, xp
from ..tensor import Tensor
from .reduce import sum_to

_make = Tensor._make

__all__ = ["add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "floor_divide", "remainder", "pow", "neg", "negative", "maximum", "minimum", "where", "clone", "eq", "ne", "lt", "le", "gt", "ge", "less", "less_equal", "greater", "greater_equal", "logical_and", "logical_or", "logical_xor", "logical_not", "bitwise_and", "bitwise_or"]


def _promote(a, b, op):
    """Both operands as Tensors/0-d arrays of the common dtype; a cast of a tensor stays differentiable."""
    dt = dtypes.result_type(a, b)
    return _to(a, dt), _to(b, dt)


def _to(x, dt):
    if type(x) is Tensor:
        return x if x._data.dtype == dt.np else cast(x, dt)
    if isinstance(x, Tensor):  # a subclass such as nn.Parameter
        return x if x._data.dtype == dt.np else cast(x, dt)
    return xp.asarray(x, dtype=dt.np)


def _binary(cls, a, b):
    if isinstance(a, Tensor):
        if isinstance(b, Tensor):
            da, db = a._data.dtype, b._data.dtype
            if da == db or (db == np.bool_ and da.kind == "f"):  # float op bool mask: NumPy keeps float
                return cls.apply2(a, b)
        elif type(b) is float or type(b) is int:
            if a._data.dtype.kind == "f":  # NOTE: NumPy >= 2 keeps a float array's dtype for Python scalars
                return cls.apply(a, b)
    elif (type(a) is float or type(a) is int) and isinstance(b, Tensor) and b._data.dtype.kind == "f":
        return cls.apply(a, b)
    a, b = _promote(a, b, cls.__name__)
    return cls.apply(a, b)




class Add(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = getattr(a, "shape", ()), getattr(b, "shape", ())  # b may be a Python scalar
        return a + b

    @staticmethod
    def backward(ctx, grad):
        sa, sb = ctx.shapes
        need_a, need_b = ctx.needs_input_grad
        return sum_to(grad, sa) if need_a else None, sum_to(grad, sb) if need_b else None


class Sub(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = getattr(a, "shape", ()), getattr(b, "shape", ())  # b may be a Python scalar
        return a - b

    @staticmethod
    def backward(ctx, grad):
        sa, sb = ctx.shapes
        gb = -sum_to(grad, sb) if ctx.needs_input_grad[1] else None
        return sum_to(grad, sa) if ctx.needs_input_grad[0] else None, gb


class Mul(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        ga = sum_to(grad * b, a._data.shape) if ctx.needs_input_grad[0] else None
        gb = sum_to(grad * a, b._data.shape) if ctx.needs_input_grad[1] else None
        return ga, gb


class Div(Op):
    @staticmethod
    @quiet
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        gb = grad / b
        ga = sum_to(gb, a._data.shape) if ctx.needs_input_grad[0] else None
        gb = sum_to(-gb * a / b, b._data.shape) if ctx.needs_input_grad[1] else None
        return ga, gb


class Pow(Op):
    @staticmethod
    @quiet
    def forward(ctx, a, b):
        out = a ** b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        ga = gb = None
        if ctx.needs_input_grad[0]:
            # NOTE: b * a^(b-1) with b == 0 is 0 everywhere, also at a == 0 (PyTorch's convention)
            ga = where(b == 0, 0.0, grad * b * a ** (b - 1))
            ga = sum_to(ga, a.shape)
        if ctx.needs_input_grad[1]:
            # NOTE: d(a^b)/db = a^b log a; at a == 0 with b >= 0 PyTorch takes 0, not nan
            gb = where((a == 0) & (b >= 0), 0.0, grad * out * _unary.log(a))
            gb = sum_to(gb, b.shape)
        return ga, gb


class Remainder(Op):
    @staticmethod
    @quiet
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return xp.mod(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        gb = sum_to(-grad * div(a, b, rounding_mode="floor"), b.shape) if ctx.needs_input_grad[1] else None
        return sum_to(grad, a.shape) if ctx.needs_input_grad[0] else None, gb


class Maximum(Op):
    """Elementwise max; NOTE: where both inputs are equal each gets half the gradient (PyTorch)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return xp.maximum(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return _split_grad(grad, a, b, a > b)


class Minimum(Op):
    """Elementwise min; NOTE: ties split the gradient in half, as in PyTorch."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return xp.minimum(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return _split_grad(grad, a, b, a < b)


def _split_grad(grad, a, b, a_wins):
    tie = (a == b).to(grad.dtype) * 0.5
    wa = a_wins.to(grad.dtype) + tie
    ga = sum_to(grad * wa, a.shape)
    gb = sum_to(grad * (1.0 - wa), b.shape)
    return ga, gb


class Neg(Op):
    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Where(Op):
    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.save_for_backward(cond)
        ctx.shapes = getattr(a, "shape", ()), getattr(b, "shape", ())  # b may be a Python scalar
        return xp.where(cond, a, b)

    @staticmethod
    def backward(ctx, grad):
        cond, = ctx.saved_tensors
        sa, sb = ctx.shapes
        zero = _make(xp.zeros((), dtype=grad._data.dtype))
        ga = sum_to(where(cond, grad, zero), sa) if ctx.needs_input_grad[1] else None
        gb = sum_to(where(cond, zero, grad), sb) if ctx.needs_input_grad[2] else None
        return None, ga, gb


class Cast(Op):
    @staticmethod
    def forward(ctx, a, np_dtype):
        ctx.src = a.dtype
        return a.astype(np_dtype)

    @staticmethod
    def backward(ctx, grad):
        return cast(grad, dtypes.from_numpy(ctx.src)), None


class Clone(Op):
    @staticmethod
    def forward(ctx, a):
        return a.copy()

    @staticmethod
    def backward(ctx, grad):
        return grad


# ---- public functions ------------------------------------------------------------------------
def add(input, other, *, alpha=1):
    """input + alpha * other, broadcasting."""
    if alpha != 1:
        other = mul(other, alpha)
    return _binary(Add, input, other)


def sub(input, other, *, alpha=1):
    """input - alpha * other, broadcasting."""
    if alpha != 1:
        other = mul(other, alpha)
    return _binary(Sub, input, other)


subtract = sub


def mul(input, other):
    """input * other, broadcasting."""
    return _binary(Mul, input, other)


multiply = mul


def div(input, other, *, rounding_mode=None):
    """input / other (true division; integers give the default float dtype).

    ``rounding_mode='trunc'`` or ``'floor'`` rounds the quotient; its gradient is zero, as in PyTorch.
    """
    if rounding_mode is None:
        dt = dtypes.result_type(input, other)
        if not dt.is_floating_point:
            dt = dtypes.get_default_dtype()
        return Div.apply(_to(input, dt), _to(other, dt))
    if rounding_mode not in ("trunc", "floor"):
        raise ValueError(f"div: rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}")
    a, b = _promote(input, other, "div")
    a = a._data if isinstance(a, Tensor) else a
    b = b._data if isinstance(b, Tensor) else b
    if a.dtype.kind == "f":
        q = xp.true_divide(a, b)
        q = xp.floor(q) if rounding_mode == "floor" else xp.trunc(q)
    elif rounding_mode == "floor":
        q = xp.floor_divide(a, b)
    else:
        q = (xp.abs(a) // xp.abs(b)) * xp.sign(a) * xp.sign(b)
    return _make(xp.asarray(q, dtype=a.dtype))


true_divide = divide = div


def floor_divide(input, other):
    return div(input, other, rounding_mode="floor")


def remainder(input, other):
    """Python-style modulo: the result has the sign of ``other``."""
    return _binary(Remainder, input, other)


def pow(input, exponent):
    """input ** exponent, broadcasting; either may be a Python number."""
    return _binary(Pow, input, exponent)


def neg(input):
    return Neg.apply(input)


negative = neg


def maximum(input, other):
    return _binary(Maximum, input, other)


def minimum(input, other):
    return _binary(Minimum, input, other)


def where(condition, input, other):
    """Elementwise ``input if condition else other``, broadcasting all three."""
    cond = condition._data if isinstance(condition, Tensor) else xp.asarray(condition)
    if cond.dtype != np.bool_:
        raise TypeError(f"where: condition must be a bool tensor, got {cond.dtype}")
    a, b = _promote(input, other, "where")
    return Where.apply(_make(cond), a, b)


def cast(input, dtype):
    """``input`` converted to ``dtype`` (differentiable between float dtypes)."""
    return Cast.apply(input, dtype.np)


def clone(input):
    return Clone.apply(input)


# ---- comparisons and logic: no gradient, computed directly ---------------------------------------
def _compare(ufunc, name):
    def compare(input, other):
        a, b = _promote(input, other, name)
        a = a._data if isinstance(a, Tensor) else a
        b = b._data if isinstance(b, Tensor) else b
        try:
            return _make(ufunc(a, b))
        except ValueError as e:
            raise RuntimeError(f"{name}: shapes {xp.shape(a)} and {xp.shape(b)}: {e}") from None
    compare.__name__ = name
    compare.__doc__ = f"Elementwise ``{name}`` as a bool tensor, broadcasting."
    return compare


eq = _compare(xp.equal, "eq")
ne = _compare(xp.not_equal, "ne")
lt = less = _compare(xp.less, "lt")
le = less_equal = _compare(xp.less_equal, "le")
gt = greater = _compare(xp.greater, "gt")
ge = greater_equal = _compare(xp.greater_equal, "ge")
logical_and = _compare(xp.logical_and, "logical_and")
logical_or = _compare(xp.logical_or, "logical_or")
logical_xor = _compare(xp.logical_xor, "logical_xor")
bitwise_and = _compare(xp.bitwise_and, "bitwise_and")
bitwise_or = _compare(xp.bitwise_or, "bitwise_or")


def logical_not(input):
    return _make(xp.logical_not(input._data))


from . import unary as _unary  # noqa: E402  (pow's backward uses log)
