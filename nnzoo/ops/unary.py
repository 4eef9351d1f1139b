"""Elementwise functions of one tensor: exp, log, the activations, rounding (zero gradient), ..."""
from ..autograd.function import Op
from ..backend import xp
from ..tensor import Tensor

_make = Tensor._make

__all__ = ["exp", "log", "relu", "sigmoid", "tanh"]


def _float(x, op):
    """Integer inputs of float functions become the default float dtype (torch.exp(int) is float)."""
    if x._data.dtype.kind == "f":
        return x
    from .. import dtypes
    return x.to(dtypes.get_default_dtype())


class Exp(Op):
    @staticmethod
    def forward(ctx, x):
        y = xp.exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        y, = ctx.saved_tensors
        return grad * y


def exp(input):
    """e ** input."""
    return Exp.apply(_float(input, "exp"))


class Log(Op):
    @staticmethod
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


class Relu(Op):
    @staticmethod
    def forward(ctx, x):
        y = xp.maximum(x, 0)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        y, = ctx.saved_tensors
        # NOTE: the gradient at exactly 0 is 0 (PyTorch's choice of subgradient)
        return grad * (y > 0)


def relu(input):
    """max(input, 0)."""
    return Relu.apply(input)


class Sigmoid(Op):
    @staticmethod
    def forward(ctx, x):
        # NOTE: split by sign so exp never overflows: 1/(1+e^-x) for x >= 0, e^x/(1+e^x) below
        e = xp.exp(-xp.abs(x))
        y = xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        y, = ctx.saved_tensors
        return grad * y * (1 - y)


def sigmoid(input):
    """1 / (1 + e^-input)."""
    return Sigmoid.apply(_float(input, "sigmoid"))


class Tanh(Op):
    @staticmethod
    def forward(ctx, x):
        y = xp.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        y, = ctx.saved_tensors
        return grad * (1 - y * y)


def tanh(input):
    return Tanh.apply(_float(input, "tanh"))
