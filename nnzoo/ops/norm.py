"""Normalisation math: ``batch_norm``, ``layer_norm``, ``group_norm``, ``instance_norm``.

``batch_norm`` is composed from mean / var / arithmetic (whose backwards give the gradients, double backward
included) on the NumPy path; in training with the compiled kernels (:func:`nnzoo.kernels.jit.use`) it is one
fused op, :class:`BatchNorm`, with a hand-written backward. The running-statistics update happens outside the
graph. ``layer_norm`` and the normalisation step of ``group_norm`` are one fused op, :class:`LayerNorm`, whose
backward is written by hand.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

from ..autograd.function import Op
from ..autograd.grad_mode import no_grad, state
from ..backend import xp
from ..kernels import norm as K
from ..tensor import Tensor
from . import shape as _shape
from .reduce import mean, var
from .unary import rsqrt

__all__ = ["batch_norm", "layer_norm", "group_norm", "instance_norm"]

_make = Tensor._make


def _normalise(x, dims, eps):
    """(x - mean) / sqrt(var + eps) over ``dims``, with the biased variance; also returns mean and var."""
    mu = mean(x, dims, keepdim=True)
    v = var(x, dims, keepdim=True, correction=0)
    return (x - mu) * rsqrt(v + eps), mu, v


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None, weight: Tensor | None = None,
               bias: Tensor | None = None, training: bool = False, momentum: float = 0.1,
               eps: float = 1e-05) -> Tensor:
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
        if K.batch_norm_compiled(input._data, *(None if t is None else t._data for t in (weight, bias))):
            return _batch_norm_fused(input, running_mean, running_var, weight, bias, momentum, eps, n)
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


# ---- batch norm in training: one fused op (compiled kernels) ---------------------------------------------
class BatchNorm(Op):
    """y = (x - mean) * rstd * w + b, statistics per channel (dim 1) over all other dims, rstd = 1 / sqrt(var
    + eps) (biased variance). With xhat = (x - mean) * rstd and n values per channel, per channel:

        dx = w * rstd * (g - mean(g) - xhat * mean(g * xhat));  dw = sum of g * xhat;  db = sum of g.

    The array code is :func:`nnzoo.kernels.norm.batch_norm_forward` / ``batch_norm_backward``: one compiled pass
    over each channel forward (two-pass statistics in float64, the normalised output) and one backward (the two
    sums, then dx). ``stats`` (a list) receives the batch's (mean, var) for the running estimates. A backward
    under ``create_graph=True`` recomputes the gradients in Tensor ops (:func:`_batch_norm_backward_graph`), so
    double backward works.
    NOTE: the composed form records ~12 nodes, each a whole-array pass forward and more backward. BatchNorm2d(32)
    forward + backward on (64, 32, 16, 16) float32, CPU time on one thread (the shared 2-core machine ran at load
    6-9, so wall times were noise), medians of 15 alternating rounds in one process: this op 0.97 ms, the
    composed form 6.6 ms (6.9x, quartiles 6.3-7.2x), PyTorch 2.13 on one thread 1.82 ms (1.9x this op's time,
    quartiles 1.8-2.0x). The kernels alone: ~0.3 ms forward, ~0.4 ms backward.
    """

    torch_name = "NativeBatchNormBackward0"

    @staticmethod
    def forward(ctx, x, w, b, eps, stats):
        y, mean, var = K.batch_norm_forward(x, w, b, eps)
        ctx.eps, ctx.mean, ctx.rstd = eps, mean, 1.0 / xp.sqrt(var + eps)
        ctx.save_for_backward(x, w)
        stats.extend((mean, var))
        return y

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        if not state.enabled:  # first-order backward: plain arrays, no graph to build
            grads = K.batch_norm_backward(x._data, None if w is None else w._data, grad._data, ctx.mean,
                                          ctx.rstd, need)
            grads = tuple(None if a is None else _make(a) for a in grads)
        else:
            grads = _batch_norm_backward_graph(x, w, grad, ctx.eps, need)
        return grads + (None, None)


def _batch_norm_backward_graph(x, w, g, eps, need):
    """BatchNorm's gradients in Tensor ops, recomputing xhat from x: a backward that is itself differentiable."""
    dims = (0,) + tuple(range(2, x.ndim))
    bshape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    xhat, _, v = _normalise(x, dims, eps)
    gx = gw = gb = None
    if need[0]:
        gx = rsqrt(v + eps) * (g - mean(g, dims, keepdim=True) - xhat * mean(g * xhat, dims, keepdim=True))
        if w is not None:
            gx = gx * _shape.reshape(w, bshape)
    if need[1]:
        gw = (g * xhat).sum(dims)
    if len(need) > 2 and need[2]:
        gb = g.sum(dims)
    return gx, gw, gb


def _batch_norm_fused(input, running_mean, running_var, weight, bias, momentum, eps, n):
    """batch_norm in training through :class:`BatchNorm`, then the running estimates as the composed path
    updates them (unbiased variance for running_var)."""
    stats = []
    y = BatchNorm.apply(input, weight, bias, eps, stats)
    mu, v = stats
    m = momentum
    if running_mean is not None:
        rm = running_mean._data
        rm *= (1 - m)
        rm += (m * mu).astype(rm.dtype)
        running_mean._vc[0] += 1
    if running_var is not None:
        rv = running_var._data
        rv *= (1 - m)
        rv += (m * v * (n / (n - 1))).astype(rv.dtype)
        running_var._vc[0] += 1
    return y


# ---- layer norm: one fused op ----------------------------------------------------------------------
class LayerNorm(Op):
    """y = (x - mean) * rstd * w + b over the last k dims, rstd = 1 / sqrt(var + eps) (biased variance).

    The input is seen as M rows of the N = prod(normalized_shape) elements normalised together. With
    xhat = (x - mean) * rstd and gw = g * w (g alone without a weight), per row:

        dx = rstd * (gw - mean(gw) - xhat * mean(gw * xhat));  dw = sum over rows of g * xhat;  db = sum of g.

    NOTE: fused (its array code is :mod:`nnzoo.kernels.norm`). The composed form (:func:`_layer_norm_composed`:
    mean, var, rsqrt, sub, mul, mul, add) records seven graph nodes, each with its own backward and temporaries.
    Here the forward is 2 row reductions and 4 elementwise passes over (M, N) arrays, the first-order backward 5
    reductions and 6 passes, on arrays: row sums are BLAS matrix-vector products (x @ ones is ~4x faster than
    x.sum(1)), temporaries are reused in place, and the forward saves only x, w and the (M,) mean and rstd. The
    statistics stay in the input's dtype (float32 sums for float32, as PyTorch on the CPU), with the two-pass
    variance sum((x - mean)^2) / N.
    Measured forward + backward, float32, one thread, perf_counter medians (range over 7 alternating rounds)
    in one process, on a shared 2-core machine, PyTorch 2.13:
        (2048, 128): composed 1.72 ms (1.59-1.93), fused 0.73 ms (0.68-0.75), PyTorch 0.30 ms (0.29-0.42);
        (2048, 512): composed 10.3 ms (9.7-10.7), fused 4.1 ms (3.5-6.4), PyTorch 1.21 ms (1.15-1.28).
    The gap left to PyTorch (2.2-2.5x, 3.4x) is NumPy's one-ufunc-one-pass model: PyTorch's kernel reads x
    twice forward and g, x once backward; here each of the ~17 steps is its own pass, and a broadcasting
    ufunc (x * w, x * rstd[:, None]) runs at about half the speed of a same-shape one. Parity with the
    composed form (first and second derivatives) is tested in tests/ops/test_norm.py.
    The compiled kernels (where :func:`nnzoo.kernels.jit.use` allows) read x three times from cache forward and
    g, x twice backward, one row at a time: on (2048, 128) float32 the forward 0.13-0.14 ms against the NumPy
    path's 0.35 ms, the backward (dx, dw, db) 0.25-0.26 ms against 0.68-0.72 ms (kernels alone, medians of
    30 calls, shared 2-core machine under load).
    """

    @staticmethod
    def forward(ctx, x, w, b, k, eps):
        y, mu, rstd = K.layer_norm_forward(x, w, b, k, eps)
        ctx.k, ctx.eps, ctx.mu, ctx.rstd = k, eps, mu, rstd
        ctx.save_for_backward(x, w)
        return y

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        if not state.enabled:  # first-order backward: plain arrays, no graph to build
            grads = K.layer_norm_backward(x._data, None if w is None else w._data, grad._data, ctx.mu, ctx.rstd,
                                          ctx.k, need)
            grads = tuple(None if a is None else _make(a) for a in grads)
        else:
            grads = _layer_norm_backward_graph(x, w, grad, ctx.k, ctx.eps, need)
        return grads + (None, None)


def _layer_norm_backward_graph(x, w, g, k, eps, need):
    """LayerNorm's gradients in Tensor ops, recomputing xhat from x: a backward that is itself
    differentiable (double backward)."""
    dims = tuple(range(x.ndim - k, x.ndim))
    lead = tuple(range(x.ndim - k))
    xhat, _, v = _normalise(x, dims, eps)
    gx = gw = gb = None
    if need[0]:
        gwt = g if w is None else g * w
        rstd = rsqrt(v + eps)
        gx = rstd * (gwt - mean(gwt, dims, keepdim=True) - xhat * mean(gwt * xhat, dims, keepdim=True))
    if need[1]:
        gw = (g * xhat).sum(lead) if lead else g * xhat
    if len(need) > 2 and need[2]:
        gb = g.sum(lead) if lead else g
    return gx, gw, gb


def _layer_norm_composed(input, k, weight, bias, eps):
    """layer_norm composed from mean / var / arithmetic: the reference the fused op is tested against."""
    y, _, _ = _normalise(input, tuple(range(input.ndim - k, input.ndim)), eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def _fusable(input, *params):
    """The fused op handles float32 / float64 with weight and bias of the input's dtype; anything else
    (float16, mixed dtypes) takes the composed path, which promotes as the arithmetic ops do."""
    dt = input._data.dtype
    return dt.kind == "f" and dt.itemsize >= 4 and input.numel() > 0 and \
        all(p is None or p._data.dtype == dt for p in params)


def layer_norm(input: Tensor, normalized_shape: int | Sequence[int], weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-05) -> Tensor:
    """y = (x - mean) / sqrt(var + eps) * weight + bias over the last len(normalized_shape) dims
    (biased variance).

    Args:
        input: the tensor to normalise; normalized_shape: its trailing dims to normalise over (int or
        tuple); weight, bias: of shape normalized_shape, or None; eps: added to the variance.

    Shape: input (*, *normalized_shape); output the same.

    Example::

        >>> from nnzoo.ops.norm import layer_norm
        >>> layer_norm(nnzoo.tensor([[1., 3.]]), (2,))
        tensor([[-1.0000,  1.0000]])
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"layer_norm(): argument 'input' must be Tensor, not {type(input).__name__}")
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    normalized_shape = tuple(normalized_shape)
    k = len(normalized_shape)
    if k > input.ndim or tuple(input.shape[input.ndim - k:]) != normalized_shape:
        raise RuntimeError(f"layer_norm: given normalized_shape={list(normalized_shape)}, expected input with "
                           f"shape [*, {', '.join(map(str, normalized_shape))}], but got input of size "
                           f"{list(input.shape)}")
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and tuple(p.shape) != normalized_shape:
            raise RuntimeError(f"layer_norm: expected {name} of the same shape as normalized_shape="
                               f"{list(normalized_shape)}, but got {name} of shape {list(p.shape)} (input "
                               f"{list(input.shape)})")
    if k == 0 or not _fusable(input, weight, bias):
        return _layer_norm_composed(input, k, weight, bias, eps)
    return LayerNorm.apply(input, weight, bias, k, eps)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-05) -> Tensor:
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
    if n * c // num_groups * math.prod(input.shape[2:]) == 1:  # PyTorch's _verify_batch_size, as it calls it
        raise ValueError(f"group_norm: expected more than 1 value per channel when training, got input of "
                         f"shape {tuple(input.shape)} with num_groups={num_groups}")
    # the group size spelled out, not -1: the batch may be empty
    x = _shape.reshape(input, n, num_groups, (c // num_groups) * math.prod(input.shape[2:]))
    if _fusable(input) and x.shape[2] > 0:  # the statistics and their backward: LayerNorm's, without affine
        y = LayerNorm.apply(x, None, None, 1, eps)
    else:
        y, _, _ = _normalise(x, (2,), eps)
    y = _shape.reshape(y, input.shape)
    bshape = (1, c) + (1,) * (input.ndim - 2)
    if weight is not None:
        y = y * _shape.reshape(weight, bshape)
    if bias is not None:
        y = y + _shape.reshape(bias, bshape)
    return y



def instance_norm(input: Tensor, running_mean: Tensor | None = None, running_var: Tensor | None = None,
                  weight: Tensor | None = None, bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-05) -> Tensor:
    """y = (x - mean) / sqrt(var + eps) * weight + bias, statistics per (sample, channel) over the spatial dims.

    With ``use_input_stats`` each instance is normalised with its own statistics (biased variance; the fused
    :class:`LayerNorm` over the flattened spatial dims, as ``group_norm`` with one channel per group) and, when
    given, the running estimates move towards the instances' statistics averaged over the batch:
    running = (1 - momentum) * running + momentum * mean over N (unbiased variance for running_var), as PyTorch.
    Otherwise the running estimates normalise (``batch_norm`` in eval mode).

    Shape: input (N, C, *) with at least one spatial dim; running_mean / running_var / weight / bias (C,).

    Example::

        >>> from nnzoo.ops.norm import instance_norm
        >>> instance_norm(nnzoo.tensor([[[1., 3.], [2., 2.]]]))
        tensor([[[-1.0000,  1.0000],
                 [ 0.0000,  0.0000]]])
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"instance_norm(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input.ndim < 3:
        raise ValueError(f"instance_norm: expected an input of at least 3 dims (N, C, *), got shape "
                         f"{tuple(input.shape)}")
    if not use_input_stats:
        return batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)
    n, c = input.shape[0], input.shape[1]
    spatial = math.prod(input.shape[2:])
    if spatial == 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size {input.shape}")
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        if t is not None and t.numel() != c:
            raise RuntimeError(f"instance_norm: {name} of shape {tuple(t.shape)} does not match the {c} channels "
                               f"of the input of shape {tuple(input.shape)}")
    x = _shape.reshape(input, n, c, spatial)
    if _fusable(input) and spatial > 0:
        y = LayerNorm.apply(x, None, None, 1, eps)
    else:
        y, _, _ = _normalise(x, (2,), eps)
    if (running_mean is not None or running_var is not None) and n > 0:
        a = x._data
        m = momentum
        if running_mean is not None:
            rm = running_mean._data
            rm *= (1 - m)
            rm += (m * a.mean(2).mean(0)).astype(rm.dtype)
            running_mean._vc[0] += 1
        if running_var is not None:
            rv = running_var._data
            rv *= (1 - m)
            rv += (m * a.var(2, ddof=1).mean(0)).astype(rv.dtype)
            running_var._vc[0] += 1
    y = _shape.reshape(y, input.shape)
    bshape = (1, c) + (1,) * (input.ndim - 2)
    if weight is not None:
        y = y * _shape.reshape(weight, bshape)
    if bias is not None:
        y = y + _shape.reshape(bias, bshape)
    return y
