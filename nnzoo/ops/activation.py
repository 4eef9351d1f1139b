"""The activations of ``torch.nn.functional`` beyond the basic ones in :mod:`nnzoo.ops.unary`: ``selu``,
``celu``, ``prelu``, ``rrelu``, ``glu``, ``softmin``, ``softsign``, ``hardswish``, ``hardsigmoid``, ``mish``,
``threshold``, ``hardshrink``, ``softshrink``, ``tanhshrink``.

Most are composed of existing ops (elu, clamp, where, softplus, tanh, softmax, ...), whose backwards give the
gradients and the second derivatives; the compositions are chosen so that the gradient at the kinks is
PyTorch's (noted where it matters). ``hardswish`` and ``hardsigmoid`` are Ops of their own (PyTorch's branchwise
gradients at +-inf and nan, one pass forward). ``inplace=True`` writes the result into the input with PyTorch's
in-place semantics; the composed forms work on a copy of the input so that nothing their graph saved is
overwritten.
"""
from __future__ import annotations

import warnings

from .. import dtypes
from ..autograd.function import Op
from ..autograd.grad_mode import state
from ..backend import quiet, xp
from ..random import Generator, _gen
from ..tensor import Tensor
from . import arith as _arith
from . import reduce as _reduce
from . import shape as _shape
from .unary import _float_only, elu, expm1, leaky_relu, relu, softplus, tanh

_make = Tensor._make

__all__ = ["selu", "celu", "prelu", "rrelu", "glu", "softmin", "softsign", "hardswish", "hardsigmoid", "mish",
           "threshold", "hardshrink", "softshrink", "tanhshrink"]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _inplace(input, name, fn):
    """``fn(input)`` written into ``input`` (PyTorch's ``name``): the composed graph is built on a copy, so the
    tensors its nodes saved are not the ones overwritten."""
    return input._inplace(name, lambda t: fn(_arith.clone(t)))


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale * (max(0, x) + min(0, alpha (e^x - 1))), alpha = 1.6732632..., scale = 1.0507009... (self-normalising).

    Example::

        >>> from nnzoo.ops.activation import selu
        >>> selu(nnzoo.tensor([-1., 0., 1.]))
        tensor([-1.1113,  0.0000,  1.0507])
    """
    if inplace:
        return _inplace(input, "selu_", selu)
    return elu(_float_only(input, "selu"), _SELU_ALPHA) * _SELU_SCALE


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, alpha (e^(x / alpha) - 1)).

    NOTE: x / alpha is computed as x * (1 / alpha), as PyTorch; the exponential branch sees min(x, 0) only, so a
    large positive x cannot overflow it.

    Example::

        >>> from nnzoo.ops.activation import celu
        >>> celu(nnzoo.tensor([-1., 2.]), alpha=2.0)
        tensor([-0.7869,  2.0000])
    """
    if alpha == 0:
        raise RuntimeError("celu: ZeroDivisionError: alpha must not be 0")
    if inplace:
        return _inplace(input, "celu_", lambda t: celu(t, alpha))
    x = _float_only(input, "celu")
    return relu(x) + expm1(x.clamp_max(0.0) * (1.0 / alpha)) * alpha


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x where x > 0, weight * x elsewhere; ``weight`` has one element or one per channel (dim 1).

    Args:
        input: (N, C, *) or any shape when weight has one element; weight: (1,) or (C,) (learned slopes).

    Example::

        >>> from nnzoo.ops.activation import prelu
        >>> prelu(nnzoo.tensor([[-2., 3.]]), nnzoo.tensor([0.25]))
        tensor([[-0.5000,  3.0000]])
    """
    x = _float_only(input, "prelu")
    if not isinstance(weight, Tensor):
        raise TypeError(f"prelu(): argument 'weight' must be Tensor, not {type(weight).__name__}")
    n = weight.numel()
    if n != 1:
        c = x.shape[1] if x.ndim >= 2 else 1
        if x.ndim == 0 or n != c:
            raise RuntimeError(f"prelu: mismatch of parameter numbers and input channel size. Found parameter "
                               f"numbers = {n} and channel size = {c} (input of shape {tuple(x.shape)})")
        if weight.ndim != 1:
            raise RuntimeError(f"prelu: expected weight to be a 1-D tensor of {c} elements, got shape "
                               f"{tuple(weight.shape)}")
        w = _shape.reshape(weight, (1, c) + (1,) * (x.ndim - 2))
    else:
        w = _shape.reshape(weight, ())
    return _arith.where(x._data > 0, x, w * x)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False, *, generator: Generator | None = None) -> Tensor:
    """Randomised leaky ReLU: x where x > 0, a * x elsewhere, with a ~ U(lower, upper) drawn per element in
    training, and a = (lower + upper) / 2 otherwise.

    Example::

        >>> from nnzoo.ops.activation import rrelu
        >>> rrelu(nnzoo.tensor([-1., 2.]), 0.1, 0.3)
        tensor([-0.2000,  2.0000])
    """
    x = _float_only(input, "rrelu")
    if lower > upper:
        raise RuntimeError(f"rrelu: lower bound {lower} should be less than or equal to the upper bound {upper}")
    if not training:
        return leaky_relu(x, (lower + upper) / 2, inplace)
    # the slopes: one draw per element from the generator; 1 where x > 0 (PyTorch tests x <= 0)
    a = x._data
    noise = _gen(generator).uniform(lower, upper, a.shape).astype(a.dtype, copy=False)
    noise = xp.where(a <= 0, noise, a.dtype.type(1))
    slopes = _make(noise)
    if inplace:
        return input._inplace("rrelu_", lambda t: t * slopes)
    return x * slopes


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """Gated linear unit: a * sigmoid(b), where a and b are the two halves of ``input`` along ``dim``.

    Shape: input (*, 2M, *); output (*, M, *).

    Example::

        >>> from nnzoo.ops.activation import glu
        >>> glu(nnzoo.tensor([1., 2., 0., 0.]))
        tensor([0.5000, 1.0000])
    """
    x = _float_only(input, "glu")
    if x.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    d = dim + x.ndim if dim < 0 else dim
    if not 0 <= d < x.ndim:
        raise IndexError(f"glu: dim {dim} is out of range for an input of shape {tuple(x.shape)}")
    n = x.shape[d]
    if n % 2:
        raise RuntimeError(f"glu: halving dimension must be even, but dimension {d} is size {n} "
                           f"(input of shape {tuple(x.shape)})")
    a, b = _shape.split(x, n // 2, d)
    return a * b.sigmoid()


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: dtypes.dtype | None = None) -> Tensor:
    """exp(-x_i) / sum_j exp(-x_j) along ``dim``: softmax(-x).

    Example::

        >>> from nnzoo.ops.activation import softmin
        >>> softmin(nnzoo.tensor([1., 2., 3.]), dim=0)
        tensor([0.6652, 0.2447, 0.0900])
    """
    if dim is None:
        warnings.warn("Implicit dimension choice for softmin has been deprecated. Change the call to include "
                      "dim=X as an argument.", stacklevel=_stacklevel)
        dim = 0 if input.ndim in (0, 1, 3) else 1
    return _reduce.softmax(-input, dim, dtype)


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|).

    Example::

        >>> from nnzoo.ops.activation import softsign
        >>> softsign(nnzoo.tensor([-1., 3.]))
        tensor([-0.5000,  0.7500])
    """
    return input / (input.abs() + 1)


class Hardswish(Op):
    """y = x relu6(x + 3) / 6;  dy/dx = 0 for x <= -3, x / 3 + 1/2 strictly between, 1 for x >= 3 (PyTorch's
    branches).

    NOTE: the gradient is chosen branch by branch, as PyTorch's backward, so x = +-inf gets 1 or 0 (the
    product rule of the composed form gave inf * 0 = nan there); at a nan input it is nan (PyTorch's vectorised
    loop; its scalar tail passes the incoming gradient: accepted.py's special_value_simd_tail)."""

    @staticmethod
    @quiet
    def forward(ctx, x):
        ctx.save_for_backward(x)
        y = xp.add(x, x.dtype.type(3), out=xp.empty_like(x))  # an array for 0-d x too
        xp.clip(y, 0, 6, out=y)
        y *= x  # -inf * 0 = nan, as PyTorch
        y /= x.dtype.type(6)
        return y

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        a = x._data
        if not state.enabled:  # first order: the slope on arrays, two masked writes (nan stays nan)
            d = xp.divide(a, a.dtype.type(3), out=xp.empty_like(a))  # an array for 0-d x too
            d += a.dtype.type(0.5)
            xp.putmask(d, a <= -3, 0)
            xp.putmask(d, a >= 3, 1)
            d *= grad._data
            return _make(d)
        # -inf would make x / 3 + 1/2 infinite: at and below -3 the slope is read at -1.5 (where it is 0)
        low = a <= -3
        t = _arith.where(low, -1.5, x) if low.any() else x
        d = _arith.where(a >= 3, 1.0, t / 3.0 + 0.5)
        return grad * d


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * relu6(x + 3) / 6 (MobileNetV3); gradient 0 up to -3, x / 3 + 1/2 between, 1 from 3 on.

    Example::

        >>> from nnzoo.ops.activation import hardswish
        >>> hardswish(nnzoo.tensor([-4., 0., 1., 4.]))
        tensor([-0.0000,  0.0000,  0.6667,  4.0000])
    """
    if inplace:
        return _inplace(input, "hardswish_", hardswish)
    return Hardswish.apply(_float_only(input, "hardswish"))


class Hardsigmoid(Op):
    """y = relu6(x + 3) / 6;  dy/dx = 1/6 strictly between -3 and 3, 0 elsewhere and at nan (PyTorch's test
    -3 < x < 3).

    NOTE: the slope is the exact 1/6 of the input's dtype. PyTorch's backward multiplies by the float32
    constant 1.0f / 6.0f even for float64 (a relative difference of 3e-8): accepted.py's hardsigmoid_slope."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        y = xp.add(x, x.dtype.type(3), out=xp.empty_like(x))
        xp.clip(y, 0, 6, out=y)
        y /= x.dtype.type(6)
        return y

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        a = x._data
        inside = (a > -3) & (a < 3)
        return grad * _make(inside.astype(grad._data.dtype)) / 6.0


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6; gradient 1/6 strictly between -3 and 3, 0 elsewhere (as PyTorch).

    Example::

        >>> from nnzoo.ops.activation import hardsigmoid
        >>> hardsigmoid(nnzoo.tensor([-4., 0., 1.5]))
        tensor([0.0000, 0.5000, 0.7500])
    """
    if inplace:
        return _inplace(input, "hardsigmoid_", hardsigmoid)
    return Hardsigmoid.apply(_float_only(input, "hardsigmoid"))


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * tanh(softplus(x)).

    Example::

        >>> from nnzoo.ops.activation import mish
        >>> mish(nnzoo.tensor([-1., 0., 1.]))
        tensor([-0.3034,  0.0000,  0.8651])
    """
    if inplace:
        return _inplace(input, "mish_", mish)
    x = _float_only(input, "mish")
    return x * tanh(softplus(x))


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, ``value`` elsewhere; gradient 1 where x > threshold, else 0.

    Example::

        >>> from nnzoo.ops.activation import threshold
        >>> threshold(nnzoo.tensor([0.5, 2.]), 1.0, -1.0)
        tensor([-1.,  2.])
    """
    if inplace:
        return _inplace(input, "threshold_", lambda t: _threshold(t, threshold, value))
    return _threshold(input, threshold, value)


def _threshold(input, th, value):
    if not isinstance(input, Tensor):
        raise TypeError(f"threshold(): argument 'input' must be Tensor, not {type(input).__name__}")
    return _arith.where(~(input._data <= th), input, value)  # NOTE: nan stays nan, as PyTorch


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x where |x| > lambd, 0 elsewhere.

    Example::

        >>> from nnzoo.ops.activation import hardshrink
        >>> hardshrink(nnzoo.tensor([-1., 0.2, 0.7]))
        tensor([-1.0000,  0.0000,  0.7000])
    """
    x = _float_only(input, "hardshrink")
    a = x._data
    return _arith.where(~((a >= -lambd) & (a <= lambd)), x, 0.0)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x - lambd above lambd, x + lambd below -lambd, 0 between: x - clamp(x, -lambd, lambd).

    NOTE: the clamp's gradient is 1 at the bounds (inclusive), so the gradient here is 0 at |x| = lambd,
    PyTorch's.

    Example::

        >>> from nnzoo.ops.activation import softshrink
        >>> softshrink(nnzoo.tensor([-1., 0.2, 0.75]))
        tensor([-0.5000,  0.0000,  0.2500])
    """
    x = _float_only(input, "softshrink")
    if lambd < 0:
        raise RuntimeError(f"softshrink: lambda must be greater or equal to 0, but found to be {lambd}.")
    return x - x.clamp(-lambd, lambd)


def tanhshrink(input: Tensor) -> Tensor:
    """x - tanh(x).

    Example::

        >>> from nnzoo.ops.activation import tanhshrink
        >>> tanhshrink(nnzoo.tensor([0., 1.]))
        tensor([0.0000, 0.2384])
    """
    return input - tanh(input)
