"""Reductions along dims (sum, mean, ...), plus ``sum_to``: the one place broadcasting is undone."""
from .. import dtypes
from ..autograd.function import Op
from ..backend import xp
from ..tensor import Tensor, _wrap_dim

_make = Tensor._make

__all__ = ["sum", "mean"]


def sum_to(grad, shape):
    """Sum ``grad`` down to ``shape`` (undoing a broadcast): every binary op's backward calls this."""
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    dims = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(shape) if s == 1 and grad.shape[i + lead] != 1)
    out = sum(grad, dims, keepdim=True) if dims else grad
    return out.reshape(shape) if lead else out


def _dims(dim, ndim, op):
    """Normalise ``dim`` (None, int, or sequence) to a sorted tuple of non-negative dims."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, int):
        return (_wrap_dim(dim, ndim, op),)
    return tuple(sorted(_wrap_dim(d, ndim, op) for d in dim))


class Sum(Op):
    @staticmethod
    def forward(ctx, x, dims, keepdim):
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        return xp.sum(x, axis=dims, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        if not ctx.keepdim and ctx.dims:
            grad = grad.reshape(_keep_shape(ctx.shape, ctx.dims))
        return grad.expand(ctx.shape), None, None


def _keep_shape(shape, dims):
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


def sum(input, dim=None, keepdim=False, *, dtype=None):
    """Sum over ``dim`` (all dims when None); integer and bool inputs sum to int64 as in PyTorch."""
    if dtype is not None:
        input = input.to(dtype)
    elif input._data.dtype.kind in "biu":
        input = input.to(dtypes.int64)
    return Sum.apply(input, _dims(dim, input.ndim, "sum"), keepdim)


def mean(input, dim=None, keepdim=False, *, dtype=None):
    """Mean over ``dim`` (all dims when None); floating point inputs only, as in PyTorch."""
    if dtype is not None:
        input = input.to(dtype)
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be floating point, "
                           f"got {input.dtype}")
    dims = _dims(dim, input.ndim, "mean")
    n = 1
    for d in dims:
        n *= input.shape[d]
    return Sum.apply(input, dims, keepdim) / n if n else Sum.apply(input, dims, keepdim) * float("nan")
