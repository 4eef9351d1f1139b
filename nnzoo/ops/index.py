"""Indexing: ``t[key]`` (basic and advanced), ``t[key] = v`` outside the graph, gather/scatter, ..."""
from ..autograd.function import Op
from ..backend import xp
from ..tensor import Tensor

_make = Tensor._make

__all__ = []


def _key(key):
    """A NumPy index from a PyTorch-style key (tensors inside become arrays)."""
    if isinstance(key, tuple):
        return tuple(_key(k) for k in key)
    if isinstance(key, Tensor):
        return key._data
    if isinstance(key, list) and any(isinstance(k, Tensor) for k in key):
        return [k._data if isinstance(k, Tensor) else k for k in key]
    return key


def _is_basic(key):
    items = key if isinstance(key, tuple) else (key,)
    return all(k is None or k is Ellipsis or isinstance(k, (int, slice)) and not isinstance(k, bool)
               for k in items)


class GetItem(Op):
    @staticmethod
    def forward(ctx, x, key):
        ctx.shape, ctx.dtype, ctx.key = x.shape, x.dtype, key
        return x[key]

    @staticmethod
    def backward(ctx, grad):
        return IndexBackward.apply(grad, ctx.shape, ctx.key), None


class BasicGetItem(GetItem):
    is_view = True


class IndexBackward(Op):
    """Scatter-add of a gradient into zeros at ``key`` (the backward of indexing)."""

    @staticmethod
    def forward(ctx, grad, shape, key):
        ctx.key = key
        out = xp.zeros(shape, dtype=grad.dtype)
        if _is_basic(key):
            out[key] = grad
        else:
            xp.add.at(out, key, grad)
        return out

    @staticmethod
    def backward(ctx, grad):
        return grad[ctx.key], None, None


def getitem(input, key):
    key = _key(key)
    try:
        if _is_basic(key):
            return BasicGetItem.apply(input, key)
        return GetItem.apply(input, key)
    except IndexError as e:
        raise IndexError(f"index: {e} (tensor of shape {tuple(input.shape)})") from None


def setitem(input, key, value):
    """``input[key] = value`` in place; only outside the graph (see Tensor._inplace)."""
    key = _key(key)
    if isinstance(value, Tensor):
        if value.requires_grad and _grad_enabled():
            input._inplace("setitem", value)  # raises the graph error
        value = value._data
    if _grad_enabled() and input.requires_grad:
        input._inplace("setitem", None)
    try:
        input._data[key] = value
    except (IndexError, ValueError) as e:
        raise IndexError(f"setitem: {e} (tensor of shape {tuple(input.shape)})") from None
    input._vc[0] += 1


def _grad_enabled():
    from ..autograd.grad_mode import state
    return state.enabled
