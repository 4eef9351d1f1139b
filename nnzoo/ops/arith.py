"""Binary arithmetic (+ - * / ** remainder, maximum/minimum, where), comparisons, casts and copies.

Operands are promoted with PyTorch's rules (``dtypes.result_type``) before the op runs, so the
forward works on arrays of one dtype; every backward reduces its gradient to the operand's shape
with the one broadcasting helper ``sum_to``.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes
from ..autograd.function import Op
from ..autograd.grad_mode import no_grad as _no_grad
from ..autograd.grad_mode import state as _grad_state
from ..backend import quiet, xp
from ..kernels.power import scalar_pow
from ..tensor import Tensor
from .reduce import sum_to

_make = Tensor._make

__all__ = ["add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "floor_divide", "remainder",
           "pow", "neg", "negative", "maximum", "minimum", "where", "clone", "eq", "ne", "lt", "le", "gt", "ge",
           "less", "less_equal", "greater", "greater_equal", "logical_and", "logical_or", "logical_xor",
           "logical_not", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_left_shift",
           "bitwise_right_shift", "equal", "isclose", "allclose"]


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
            # float op bool mask: NumPy keeps float (not for -: PyTorch refuses a bool operand)
            if da == db or (db == np.bool_ and da.kind == "f" and cls is not Sub):
                return cls.apply2(a, b)
        elif type(b) is float or type(b) is int:
            if a._data.dtype.kind == "f":  # NOTE: NumPy >= 2 keeps a float array's dtype for Python scalars
                return cls.apply(a, b)
    elif (type(a) is float or type(a) is int) and isinstance(b, Tensor) and b._data.dtype.kind == "f":
        return cls.apply(a, b)
    if cls is Sub:
        _no_bool_sub(a, b)
    a, b = _promote(a, b, cls.__name__)
    return cls.apply(a, b)


def _is_bool(x):
    return type(x) is bool or (isinstance(x, Tensor) and x._data.dtype == np.bool_)


def _no_bool_sub(a, b):
    """PyTorch refuses subtraction with a bool tensor (NumPy does too for two bool arrays)."""
    if _is_bool(a) and _is_bool(b):
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or "
                           "`logical_xor()` operator instead.")
    if _is_bool(a) or _is_bool(b):
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying "
                           "to invert a mask, use the `~` or `logical_not()` operator instead.")


class Add(Op):
    """out = a + b.  d/da = 1, d/db = 1: each side gets grad, broadcast back with sum_to."""

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
    """out = a - b.  d/da = 1, d/db = -1: grad and -grad, each broadcast back with sum_to."""

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
    """out = a * b.  d(a*b)/da = b, d(a*b)/db = a: grad * b and grad * a, broadcast back with sum_to."""

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
    """out = a / b.  d/da = 1 / b, d/db = -a / b^2: grad / b and -grad (a / b) / b, broadcast back with
    sum_to."""

    @staticmethod
    @quiet
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, grad):
        # NOTE: db = -g ((a / b) / b), in PyTorch's order: a / b^2 underflows b^2 to 0 for a subnormal b
        # (0 / 0 = nan at a = 0 where PyTorch has 0), and (g / b) (a / b) overflows g / b to inf (inf * 0)
        a, b = ctx.saved_tensors
        ga = sum_to(grad / b, a._data.shape) if ctx.needs_input_grad[0] else None
        gb = sum_to(-grad * (a / b / b), b._data.shape) if ctx.needs_input_grad[1] else None
        return ga, gb


class Pow(Op):
    """out = a^b.  d/da = b a^(b-1) (0 where b = 0), d/db = a^b log a (0 where a = 0 and b >= 0), each
    times grad and broadcast back with sum_to."""

    @staticmethod
    @quiet
    def forward(ctx, a, b):
        dt = getattr(a, "dtype", None)
        if dt is not None and dt.kind in "iu" and xp.any(xp.asarray(b) < 0):
            out = _integer_pow(a, b)
        elif dt is not None and dt.kind == "f" and xp.ndim(b) == 0:
            # NOTE: a number exponent as PyTorch's kernel: x*x, x*x*x, 1/x, sqrt, rsqrt for the common ones
            # (bitwise torch's), pow on |x| for the rest (NumPy's fast loop refuses negative bases)
            out = scalar_pow(a, b)
        else:
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


def _integer_pow(a, b):
    """Integer a ** b with some b < 0, as PyTorch: 1 ** b = 1, (-1) ** b = +-1, 0 for every other base
    (NumPy raises). A negative Python-number exponent is refused earlier, in :func:`pow`."""
    out = xp.asarray(a ** xp.maximum(b, 0))
    neg = xp.broadcast_to(xp.asarray(b) < 0, out.shape)
    minus_one = xp.where(xp.asarray(b) % 2 == 0, 1, -1).astype(out.dtype)
    special = xp.where(a == 1, 1, xp.where(a == -1, minus_one, 0)).astype(out.dtype)
    return xp.where(neg, xp.broadcast_to(special, out.shape), out)


class Remainder(Op):
    """out = a - b floor(a / b) (the sign of b).  d/da = 1, d/db = -floor(a / b), broadcast back with
    sum_to."""

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
    """out = max(a, b).  d/da = 1 where a > b, 0 where a < b, 1/2 at a tie (d/db alike), times grad and
    broadcast back with sum_to. NOTE: the halves at a tie are PyTorch's."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return xp.maximum(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return _split_grad(grad, a, b, a < b, a > b)


class Minimum(Op):
    """out = min(a, b).  d/da = 1 where a < b, 0 where a > b, 1/2 at a tie (d/db alike), times grad and
    broadcast back with sum_to. NOTE: ties split the gradient in half, as in PyTorch."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return xp.minimum(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return _split_grad(grad, a, b, a > b, a < b)


def _split_grad(grad, a, b, a_loses, b_loses):
    """Each side's gradient: all of it, none where it loses, half at a tie.
    NOTE: with a NaN no comparison holds and *both* sides get the whole gradient (PyTorch's masks)."""
    tie = (a == b).to(grad.dtype) * 0.5
    wa = 1.0 - a_loses.to(grad.dtype) - tie
    wb = 1.0 - b_loses.to(grad.dtype) - tie
    ga = sum_to(grad * wa, a.shape)
    gb = sum_to(grad * wb, b.shape)
    return ga, gb


class Neg(Op):
    """out = -a.  d/da = -1: the gradient is -grad."""

    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Where(Op):
    """out = a where cond else b.  d/da = cond, d/db = not cond (grad selected, zero elsewhere), broadcast
    back with sum_to; cond gets no gradient."""

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
    """out = a converted to another dtype.  d/da = 1: grad cast back to a's dtype."""

    @staticmethod
    def forward(ctx, a, np_dtype):
        ctx.src = a.dtype
        return a.astype(np_dtype)

    @staticmethod
    def backward(ctx, grad):
        return cast(grad, dtypes.from_numpy(ctx.src)), None


class Clone(Op):
    """out = a copy of a.  d/da = 1: grad passes through."""

    @staticmethod
    def forward(ctx, a):
        return a.copy()

    @staticmethod
    def backward(ctx, grad):
        return grad


# ---- public functions ------------------------------------------------------------------------
def _scaled(other, alpha, input, op):
    """alpha * other in the dtype the op will have (a bool op stays bool, as in PyTorch)."""
    dt = dtypes.result_type(input, other)
    if not dt.is_floating_point and isinstance(alpha, float):
        raise RuntimeError(f"{op}: for integral input tensors, argument alpha must not be a floating point number")
    if dt == dtypes.bool:
        return logical_and(other, bool(alpha))
    if not isinstance(other, Tensor):
        return other * alpha
    out = mul(other, alpha)
    return out if out.dtype == dt else cast(out, dt)  # bool * 2 is int64; the op's dtype decides


def write_out(op: str, result: Tensor, out: Tensor | None) -> Tensor:
    """PyTorch's ``out=`` argument: ``result`` copied into ``out`` (resized first when its shape differs), and
    ``out`` returned; ``result`` itself when ``out`` is None.

    As in PyTorch, ``out=`` does not record a gradient: it raises RuntimeError when grad mode is on and an
    argument requires grad, and when ``result``'s dtype cannot be cast to ``out``'s (a float result into an
    integer ``out``, a number into a bool one).
    """
    if out is None:
        return result
    if not isinstance(out, Tensor):
        raise TypeError(f"{op}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if result.requires_grad or (out.requires_grad and _grad_state.enabled):
        raise RuntimeError(f"{op}(): functions with out=... arguments don't support automatic differentiation, "
                           "but one of the arguments requires grad.")
    src, dst = result._data.dtype, out._data.dtype
    if (src.kind in "fc" and dst.kind not in "fc") or (src.kind != "b" and dst.kind == "b"):
        raise RuntimeError(f"{op}: result type {result.dtype} can't be cast to the desired output type {out.dtype}")
    if tuple(out.shape) != tuple(result.shape):  # PyTorch resizes out
        out._data = xp.empty(result._data.shape, dst)
    with _no_grad():
        out.copy_(result)
    return out


def add(input: Tensor | float, other: Tensor | float, *, alpha: float = 1, out: Tensor | None = None) -> Tensor:
    """input + alpha * other, broadcasting (into ``out`` when given)."""
    if alpha != 1:
        other = _scaled(other, alpha, input, "add")
    result = _binary(Add, input, other)
    return result if out is None else write_out("add", result, out)


def sub(input: Tensor | float, other: Tensor | float, *, alpha: float = 1, out: Tensor | None = None) -> Tensor:
    """input - alpha * other, broadcasting (into ``out`` when given)."""
    if alpha != 1:
        _no_bool_sub(input, other)
        other = _scaled(other, alpha, input, "sub")
    result = _binary(Sub, input, other)
    return result if out is None else write_out("sub", result, out)


subtract = sub


def mul(input: Tensor | float, other: Tensor | float, *, out: Tensor | None = None) -> Tensor:
    """input * other, broadcasting (into ``out`` when given).

    Example::

        >>> out = nnzoo.empty(2)
        >>> nnzoo.mul(nnzoo.tensor([1., 2.]), 3, out=out) is out, out
        (True, tensor([3., 6.]))
    """
    result = _binary(Mul, input, other)
    return result if out is None else write_out("mul", result, out)


multiply = mul


class RoundedDiv(Op):
    """out = trunc(a / b) or floor(a / b).  d/da = d/db = 0 (a step function; PyTorch's zero gradient).

    NOTE: float floor division is PyTorch's (and Python's) algorithm, not floor(a / b): q = (a - fmod(a, b))
    / b, minus 1 where the remainder's sign differs from b's, rounded to the nearest integer; so
    inf // x is nan and -1e-40 // inf is -1 (the remainder then has b's sign, as ``remainder`` says).
    """

    @staticmethod
    @quiet
    def forward(ctx, a, b, mode):
        ctx.shapes = a.shape, b.shape
        if a.dtype.kind == "f":
            return _floor_divide_float(a, b) if mode == "floor" else xp.asarray(xp.trunc(a / b), dtype=a.dtype)
        if mode == "floor":
            return xp.asarray(xp.floor_divide(a, b), dtype=a.dtype)
        return xp.asarray((xp.abs(a) // xp.abs(b)) * xp.sign(a) * xp.sign(b), dtype=a.dtype)

    @staticmethod
    def backward(ctx, grad):
        (sa, sb), dt = ctx.shapes, grad._data.dtype
        return (_make(xp.zeros(sa, dt)) if ctx.needs_input_grad[0] else None,
                _make(xp.zeros(sb, dt)) if ctx.needs_input_grad[1] else None, None)


def _floor_divide_float(a, b):
    mod = xp.fmod(a, b)
    q = (a - mod) / b
    q = q - ((mod != 0) & ((b < 0) != (mod < 0)))
    fq = xp.floor(q)
    fq = fq + (q - fq > 0.5)
    out = xp.where(q == 0, xp.copysign(0.0, a / b), fq)
    return xp.asarray(xp.where(b == 0, a / b, out), dtype=a.dtype)


def _integer_divisor(dt, b, op):
    """PyTorch refuses integer division by zero, and bool operands, in the rounding divisions (the
    operands' common dtype ``dt``, a NumPy dtype)."""
    if dt == np.bool_:
        raise RuntimeError(f"{op}: not implemented for 'Bool'")
    if dt.kind in "iu" and xp.any(xp.asarray(b._data if isinstance(b, Tensor) else b) == 0):
        raise RuntimeError(f"{op}: ZeroDivisionError (integer division by zero)")


def div(input: Tensor | float, other: Tensor | float, *, rounding_mode: str | None = None,
        out: Tensor | None = None) -> Tensor:
    """input / other (into ``out`` when given); see ``_div``."""
    result = _div(input, other, rounding_mode)
    return result if out is None else write_out("div", result, out)


def _div(input: Tensor | float, other: Tensor | float, rounding_mode: str | None = None) -> Tensor:
    """input / other (true division; integers give the default float dtype).

    ``rounding_mode='trunc'`` or ``'floor'`` rounds the quotient; its gradient is zero, as in PyTorch
    (integer division by zero raises, as in PyTorch).
    """
    if rounding_mode is None:
        dt = dtypes.result_type(input, other)
        if not dt.is_floating_point:
            dt = dtypes.get_default_dtype()
        return Div.apply(_to(input, dt), _to(other, dt))
    if rounding_mode not in ("trunc", "floor"):
        raise ValueError(f"div: rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}")
    dt = dtypes.result_type(input, other)
    if not dt.is_floating_point:
        _integer_divisor(dt.np, other, f"div(rounding_mode={rounding_mode!r})")
    a, b = _promote(input, other, "div")
    return RoundedDiv.apply(a, b, rounding_mode)


true_divide = divide = div


def floor_divide(input: Tensor | float, other: Tensor | float) -> Tensor:
    return div(input, other, rounding_mode="floor")


def remainder(input: Tensor | float, other: Tensor | float) -> Tensor:
    """Python-style modulo: the result has the sign of ``other`` (integer division by zero raises, as in
    PyTorch)."""
    dt = dtypes.result_type(input, other)
    if not dt.is_floating_point:
        _integer_divisor(dt.np, other, "remainder")
    return _binary(Remainder, input, other)


def pow(input: Tensor | float, exponent: Tensor | float) -> Tensor:
    """input ** exponent, broadcasting; either may be a Python number. Integer tensors to negative tensor
    powers give PyTorch's integers (0 unless the base is +-1); to a negative Python int they raise."""
    if type(exponent) is int and exponent < 0 and isinstance(input, Tensor) and input._data.dtype.kind in "biu":
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    if _is_bool(exponent) and _is_bool(input):  # as PyTorch: bool ** bool only with a Python bool exponent
        if type(exponent) is not bool:
            raise RuntimeError("pow: not implemented for 'Bool' (both operands bool)")
        return _make(input._data.copy() if exponent else xp.ones_like(input._data))
    return _binary(Pow, input, exponent)


def neg(input: Tensor) -> Tensor:
    return Neg.apply(input)


negative = neg


def maximum(input: Tensor, other: Tensor | float) -> Tensor:
    return _binary(Maximum, input, other)


def minimum(input: Tensor, other: Tensor | float) -> Tensor:
    return _binary(Minimum, input, other)


def where(condition: Tensor, input: Tensor | float, other: Tensor | float) -> Tensor:
    """Elementwise ``input if condition else other``, broadcasting all three."""
    cond = condition._data if isinstance(condition, Tensor) else xp.asarray(condition)
    if cond.dtype != np.bool_:
        raise TypeError(f"where: condition must be a bool tensor, got {cond.dtype}")
    a, b = _promote(input, other, "where")
    return Where.apply(_make(cond), a, b)


def cast(input: Tensor, dtype: dtypes.dtype) -> Tensor:
    """``input`` converted to ``dtype`` (differentiable between float dtypes)."""
    return Cast.apply(input, dtype.np)


def clone(input: Tensor) -> Tensor:
    return Clone.apply(input)


# ---- comparisons and logic: no gradient, computed directly ---------------------------------------
def _compare(ufunc, name):
    def compare(input: Tensor | int | float | bool, other: Tensor | int | float | bool) -> Tensor:
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


def logical_not(input: Tensor) -> Tensor:
    """``not input`` elementwise, as a bool tensor (any dtype: nonzero is True)."""
    return _make(xp.logical_not(input._data))


# ---- whole-tensor comparisons: equal, isclose, allclose (no gradient) ----------------------------------
def _tensor_arg(op: str, name: str, pos: int, x: object) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument '{name}' (position {pos}) must be Tensor, not {type(x).__name__}")
    return x


def equal(input: Tensor, other: Tensor) -> bool:
    """``True`` when both tensors have the same shape and the same values (nan is never equal to nan).

    No broadcasting: tensors of different shapes are not equal. Different dtypes are compared after
    PyTorch's promotion (``equal(tensor([1.]), tensor([1]))`` is True).

    Example::

        >>> nnzoo.equal(nnzoo.tensor([1.0, 2.0]), nnzoo.tensor([1, 2])), nnzoo.equal(nnzoo.ones(2), nnzoo.ones(1))
        (True, False)
    """
    a, b = _tensor_arg("equal", "input", 1, input)._data, _tensor_arg("equal", "other", 2, other)._data
    if a.shape != b.shape:
        return False
    dt = dtypes.result_type(input, other).np
    return bool(xp.all(xp.equal(a.astype(dt, copy=False), b.astype(dt, copy=False))))


def isclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
    """``|input - other| <= atol + rtol * |other|`` elementwise (or equal, inf included), as a bool tensor.

    PyTorch's rules: both tensors of one dtype (else RuntimeError), broadcasting, ``rtol`` and ``atol`` at
    least 0; ``equal_nan=True`` counts two nans as close. Integer and bool tensors are compared in the
    default float dtype, float tensors in their own.

    Args:
        input, other: the tensors to compare (broadcastable, same dtype).
        rtol: relative tolerance. atol: absolute tolerance.
        equal_nan: whether nan is close to nan.

    Shape:
        the broadcast shape of ``input`` and ``other``.

    Example::

        >>> nnzoo.isclose(nnzoo.tensor([1.0, 2.0, float("nan")]), nnzoo.tensor([1.0, 2.1, float("nan")]))
        tensor([ True, False, False])
    """
    a, b = _tensor_arg("isclose", "input", 1, input)._data, _tensor_arg("isclose", "other", 2, other)._data
    if a.dtype != b.dtype:
        raise RuntimeError(f"isclose: {_torch_type_name(a.dtype)} did not match {_torch_type_name(b.dtype)}")
    if rtol < 0:
        raise RuntimeError(f"rtol must be greater than or equal to zero, but got {rtol}")
    if atol < 0:
        raise RuntimeError(f"atol must be greater than or equal to zero, but got {atol}")
    try:
        shape = xp.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise RuntimeError(f"isclose: shapes {a.shape} and {b.shape} do not broadcast") from None
    close = xp.equal(a, b)
    floating = a.dtype.kind == "f" or input.is_floating_point()
    if equal_nan and floating:
        close |= xp.isnan(a) & xp.isnan(b)
    if rtol == 0 and atol == 0:
        return _make(xp.broadcast_to(close, shape).copy())
    if not floating:   # NOTE: integers are compared in the default float dtype (no wrap-around), as in PyTorch
        a, b = (x.astype(dtypes.get_default_dtype().np) for x in (a, b))
    with np.errstate(over="ignore", invalid="ignore"):
        allowed = atol + xp.abs(rtol * b)
        actual = xp.abs(a - b)
        close |= xp.isfinite(actual) & (actual <= allowed)
    return _make(close)


def allclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    """``isclose(input, other, rtol, atol, equal_nan).all()`` as a Python bool (the same rules and errors).

    Example::

        >>> nnzoo.allclose(nnzoo.tensor([1.0, 2.0]), nnzoo.tensor([1.0, 2.0 + 1e-6])), nnzoo.allclose(
        ...     nnzoo.tensor([1.0]), nnzoo.tensor([1.1]), atol=0.2)
        (True, True)
    """
    return bool(xp.all(isclose(input, other, rtol, atol, equal_nan)._data))


# ---- bitwise: integer and bool tensors, no gradient --------------------------------------------------
# On bool tensors and, or, xor and not are the logical ones; the shifts refuse bool (as PyTorch). Shifts by
# a negative amount or by the type's width or more give 0 (<<) or the sign fill (>>), in NumPy as in PyTorch.
_TORCH_TYPE_NAME = {"float16": "Half", "float32": "Float", "float64": "Double", "bool": "Bool"}
_TORCH_INT_NAME = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
                   "bfloat16": "BFloat16"}


def _torch_type_name(dt: np.dtype) -> str:
    """PyTorch's scalar-type name of a NumPy dtype ('Float', 'Long', ...)."""
    return _TORCH_TYPE_NAME.get(dt.name) or _TORCH_INT_NAME.get(dt.name, dt.name)


def _not_implemented(kernel: str, dt: dtypes.dtype) -> NotImplementedError:
    """PyTorch's error for a bitwise op on a dtype it has no kernel for (a RuntimeError subclass)."""
    return NotImplementedError(f'"{kernel}_cpu" not implemented for {_TORCH_TYPE_NAME.get(dt.name, dt.name)!r}')


def _bitwise(ufunc, name, kernel, symbol, example, bool_ok=True):
    def bitwise(input: Tensor | int | bool, other: Tensor | int | bool) -> Tensor:
        dt = dtypes.result_type(input, other)
        if dt.is_floating_point or (dt == dtypes.bool and not bool_ok):
            raise _not_implemented(kernel, dt)
        a, b = _to(input, dt), _to(other, dt)
        a = a._data if isinstance(a, Tensor) else a
        b = b._data if isinstance(b, Tensor) else b
        try:
            return _make(ufunc(a, b))
        except ValueError as e:
            raise RuntimeError(f"{name}: shapes {xp.shape(a)} and {xp.shape(b)}: {e}") from None
    bitwise.__name__ = bitwise.__qualname__ = name
    bitwise.__doc__ = (f"``input {symbol} other`` bit by bit on integer{' and bool' if bool_ok else ''} tensors "
                       "(PyTorch's promotion, broadcasting); float tensors raise NotImplementedError.\n\n"
                       "    Example::\n\n"
                       f"        >>> nnzoo.{name}(nnzoo.tensor([12, -12]), 2)\n        {example}\n")
    return bitwise


bitwise_and = _bitwise(xp.bitwise_and, "bitwise_and", "bitwise_and", "&", "tensor([0, 0])")
bitwise_or = _bitwise(xp.bitwise_or, "bitwise_or", "bitwise_or", "|", "tensor([ 14, -10])")
bitwise_xor = _bitwise(xp.bitwise_xor, "bitwise_xor", "bitwise_xor", "^", "tensor([ 14, -10])")
bitwise_left_shift = _bitwise(xp.left_shift, "bitwise_left_shift", "lshift", "<<", "tensor([ 48, -48])",
                              bool_ok=False)
bitwise_right_shift = _bitwise(xp.right_shift, "bitwise_right_shift", "rshift", ">>", "tensor([ 3, -3])",
                               bool_ok=False)


def bitwise_not(input: Tensor) -> Tensor:
    """``~input``: every bit flipped on an integer tensor (``~x == -x - 1`` for signed ones), logical not
    on a bool tensor; float tensors raise NotImplementedError, as in PyTorch.

    Example::

        >>> nnzoo.bitwise_not(nnzoo.tensor([1, 2])), ~nnzoo.tensor([True, False])
        (tensor([-2, -3]), tensor([False,  True]))
    """
    if input._data.dtype.kind == "f":
        raise _not_implemented("bitwise_not", input.dtype)
    return _make(xp.invert(input._data))


from . import unary as _unary  # noqa: E402  (pow's backward uses log)
