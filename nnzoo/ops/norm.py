"""Normalisation math: ``batch_norm``, ``layer_norm``, ``group_norm``.

Each is composed from mean / var / arithmetic (whose backwards give the gradients, double backward
included); the running-statistics update of batch norm happens outside the graph.
"""
from ..autograd.grad_mode import no_grad
from ..tensor import Tensor
from . import shape as _shape
from .reduce import mean, var
from .unary import rsqrt

__all__ = ["batch_norm", "layer_norm", "group_norm"]


def _normalise(x, dims, eps):
    """(x - mean) / sqrt(var + eps) over ``dims``, with the biased variance; also returns mean and var."""
    mu = mean(x, dims, keepdim=True)
    v = var(x, dims, keepdim=True, correction=0)
    return (x - mu) * rsqrt(v + eps), mu, v


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1,
               eps=1e-05):
    """y = (x - mean) / sqrt(var + eps) * weight + bias, statistics per channel (dim 1) over all other dims.

    In training the batch statistics are used and, when given, the running estimates are updated in
    place: running = (1 - momentum) * running + momentum * batch. Outside training the running
    estimates are used.

    NOTE: the batch is normalised with the biased variance (divide by n), but running_var is updated with
    the unbiased one (divide by n - 1), as in PyTorch.

    Shape: input (N, C, *), running_mean / running_var / weight / bias (C,).
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"batch_norm(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected an input of at least 2 dims (N, C, *), got shape "
                         f"{tuple(input.shape)}")
    c = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        if t is not None and t.numel() != c:
            raise RuntimeError(f"batch_norm: {name} of shape {tuple(t.shape)} does not match the {c} channels "
                               f"of the input of shape {tuple(input.shape)}")
    bshape = (1, c) + (1,) * (input.ndim - 2)
    dims = (0,) + tuple(range(2, input.ndim))
    if training:
        n = input.numel() // c
        if n <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size "
                             f"{input.shape}")
        y, mu, v = _normalise(input, dims, eps)
        if running_mean is not None or running_var is not None:
            with no_grad():
                m = momentum
                if running_mean is not None:
                    rm = running_mean._data
                    rm *= (1 - m)
                    rm += (m * mu._data.reshape(c)).astype(rm.dtype)
                    running_mean._vc[0] += 1
                if running_var is not None:
                    rv = running_var._data
                    rv *= (1 - m)
                    rv += (m * v._data.reshape(c) * (n / (n - 1))).astype(rv.dtype)
                    running_var._vc[0] += 1
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError("batch_norm: running_mean and running_var must be given when training=False")
        rm = _shape.reshape(running_mean.detach(), bshape)
        rv = _shape.reshape(running_var.detach(), bshape)
        y = (input - rm) * rsqrt(rv + eps)
    if weight is not None:
        y = y * _shape.reshape(weight, bshape)
    if bias is not None:
        y = y + _shape.reshape(bias, bshape)
    return y


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-05):
    """y = (x - mean) / sqrt(var + eps) * weight + bias over the last len(normalized_shape) dims
    (biased variance).

    Example::

        >>> from nnzoo.ops.norm import layer_norm
        >>> layer_norm(nnzoo.tensor([[1., 3.]]), (2,))
        tensor([[-1.0000,  1.0000]])
    """
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    normalized_shape = tuple(normalized_shape)
    k = len(normalized_shape)
    if tuple(input.shape[input.ndim - k:]) != normalized_shape or k > input.ndim:
        raise RuntimeError(f"layer_norm: given normalized_shape={list(normalized_shape)}, expected input with "
                           f"shape [*, {', '.join(map(str, normalized_shape))}], but got input of size "
                           f"{list(input.shape)}")
    dims = tuple(range(input.ndim - k, input.ndim))
    y, _, _ = _normalise(input, dims, eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-05):
    """Split the C channels into num_groups groups; normalise each (sample, group) over its channels and
    the spatial dims (biased variance); then a per-channel affine map.

    Shape: input (N, C, *), weight / bias (C,).
    """
    if input.ndim < 2:
        raise RuntimeError(f"group_norm: expected an input of at least 2 dims (N, C, *), got shape "
                           f"{tuple(input.shape)}")
    n, c = input.shape[0], input.shape[1]
    if c % num_groups:
        raise RuntimeError(f"group_norm: expected the number of channels {c} of the input of shape "
                           f"{tuple(input.shape)} to be divisible by num_groups={num_groups}")
    x = _shape.reshape(input, n, num_groups, -1)
    y, _, _ = _normalise(x, (2,), eps)
    y = _shape.reshape(y, input.shape)
    bshape = (1, c) + (1,) * (input.ndim - 2)
    if weight is not None:
        y = y * _shape.reshape(weight, bshape)
    if bias is not None:
        y = y + _shape.reshape(bias, bshape)
    return y

