"""Convolution: ``conv1d``, ``conv2d``, ``conv_transpose1d``, ``conv_transpose2d``, ``unfold``, ``fold``.

The array work is in :mod:`nnzoo.kernels.conv` (window copies, one GEMM per chunk of the batch, the
row-shift layout, the scratch buffers); this file holds the ops and the argument checks.

Three ops use the kernels and are each other's backward, so double backward works: ``Conv`` (backward:
``ConvTranspose`` for the input, ``ConvWeight`` for the weight), ``ConvTranspose`` (backward: ``Conv`` and
``ConvWeight``), ``ConvWeight`` (backward: ``Conv`` and ``ConvTranspose``). A first-order backward (grad mode
off while it runs) calls the kernels directly, sharing the work between the input and weight gradients.
``Unfold`` and ``Fold`` (im2col / col2im) are each other's backward too.
"""
from __future__ import annotations

import numbers

from .._args import ntuple, shape_of
from ..autograd.function import Op
from ..autograd.grad_mode import state
from ..backend import xp
from ..kernels.conv import Spec, as4d, bias_grad, col2im, conv_backward, conv_forward, im2col, like, out_len
from ..tensor import Tensor
from . import shape as _shape

_make = Tensor._make

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "unfold", "fold"]


def _hw(shape):
    """The (H, W) of a 4-D shape; (1, L) of a 3-D one (1-D inputs run as 2-D with H = 1)."""
    return tuple(shape[2:]) if len(shape) == 4 else (1, shape[2])


# ---- the ops -----------------------------------------------------------------------------------------------
class Conv(Op):
    """y = conv(x, w) + b (x (N, C, *spatial), w (O, C/G, *k)).

    dx = conv_transpose(g, w) (col2im of W^T g);  dw = g correlated with the windows of x;  db = sum of g
    over N and the spatial dims. ``out_hw`` fixes the output size (None: the natural one)."""

    @staticmethod
    def forward(ctx, x, w, b, spec, out_hw):
        ctx.spec = spec
        ctx.save_for_backward(x, w)
        out = conv_forward(as4d(x), as4d(w), b, spec, out_hw)
        return like(out, x.ndim)

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        spec = ctx.spec
        gb = None
        if not state.enabled:  # first-order backward: one pass over the windows for both gradients
            gx, gw = conv_backward(as4d(grad._data), as4d(x._data), as4d(w._data), spec, need[0], need[1])
            gx = None if gx is None else _make(like(gx, x.ndim))
            gw = None if gw is None else _make(gw.reshape(w.shape))
            if len(need) > 2 and need[2]:
                gb = _make(bias_grad(grad._data))
            return gx, gw, gb, None, None
        gx = ConvTranspose.apply(grad, w, None, spec, _hw(x.shape)) if need[0] else None
        gw = ConvWeight.apply(grad, x, spec, tuple(w.shape)) if need[1] else None
        if len(need) > 2 and need[2]:
            gb = grad.sum((0,) + tuple(range(2, grad.ndim)))
        return gx, gw, gb, None, None


class ConvTranspose(Op):
    """y = conv_transpose(x, w) + b: the input gradient of conv (x (N, C_in, *), w (C_in, C_out/G, *k)),
    with the output size ``out_hw`` given.

    dx = conv(g, w);  dw = the weight gradient of conv with x as its output gradient and g as its input."""

    @staticmethod
    def forward(ctx, x, w, b, spec, out_hw):
        ctx.spec = spec
        ctx.save_for_backward(x, w)
        y, _ = conv_backward(as4d(x), None, as4d(w), spec, need_w=False, x_hw=out_hw)
        if b is not None:
            y += b.reshape(1, -1, 1, 1)
        return like(y, x.ndim)

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        spec = ctx.spec
        gx = gw = gb = None
        if not state.enabled:
            g4 = as4d(grad._data)
            if need[0]:
                gx = _make(like(conv_forward(g4, as4d(w._data), None, spec, _hw(x.shape)), x.ndim))
            if need[1]:
                _, gw = conv_backward(as4d(x._data), g4, as4d(w._data), spec, need_x=False)
                gw = _make(gw.reshape(w.shape))
            if len(need) > 2 and need[2]:
                gb = _make(bias_grad(grad._data))
            return gx, gw, gb, None, None
        if need[0]:
            gx = Conv.apply(grad, w, None, spec, _hw(x.shape))
        if need[1]:
            gw = ConvWeight.apply(x, grad, spec, tuple(w.shape))
        if len(need) > 2 and need[2]:
            gb = grad.sum((0,) + tuple(range(2, grad.ndim)))
        return gx, gw, gb, None, None


class ConvWeight(Op):
    """gw = the weight gradient of conv: gw[o, c, i, j] = sum g[n, o, p, q] x_pad[n, c, p*s + i*d, q*s + j*d].

    It is linear in g and in x: d g = conv(x, dgw);  d x = conv_transpose(g, dgw)."""

    @staticmethod
    def forward(ctx, g, x, spec, w_shape):
        ctx.spec = spec
        ctx.save_for_backward(g, x)
        w4 = w_shape if len(w_shape) == 4 else w_shape[:2] + (1,) + w_shape[2:]
        _, gw = conv_backward(as4d(g), as4d(x), xp.empty(w4, dtype=g.dtype), spec, need_x=False)
        return gw.reshape(w_shape)

    @staticmethod
    def backward(ctx, dgw):
        g, x = ctx.saved_tensors
        need = ctx.needs_input_grad
        spec = ctx.spec
        dg = Conv.apply(x, dgw, None, spec, _hw(g.shape)) if need[0] else None
        dx = ConvTranspose.apply(g, dgw, None, spec, _hw(x.shape)) if need[1] else None
        return dg, dx, None, None


# ---- argument handling ---------------------------------------------------------------------------------
def _check_tensor(t, op, name):
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}(): argument '{name}' must be Tensor, not {type(t).__name__}")


def _batched(input, op, nsp, what="input"):
    """(input as batched, whether it was unbatched); checks the number of dims."""
    if input.ndim == nsp + 2:
        return input, False
    if input.ndim == nsp + 1:
        return _shape.unsqueeze(input, 0), True
    raise RuntimeError(f"{op}: expected a {nsp + 1}-D (unbatched) or {nsp + 2}-D (batched) {what}, got "
                       f"{what} of shape {shape_of(input)}")


def _check_common(input, weight, bias, op, nsp, stride, dilation, groups):
    _check_tensor(input, op, "input")
    _check_tensor(weight, op, "weight")
    if weight.ndim != nsp + 2:
        raise RuntimeError(f"{op}: expected a {nsp + 2}-D weight, got weight of shape {shape_of(weight)}")
    if input._data.dtype != weight._data.dtype:
        raise RuntimeError(f"{op}: input dtype {input.dtype} and weight dtype {weight.dtype} differ (shapes "
                           f"{shape_of(input)} and {shape_of(weight)})")
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"{op}: expected a floating-point input, got {input.dtype}")
    if bias is not None:
        _check_tensor(bias, op, "bias")
        if bias._data.dtype != input._data.dtype:
            raise RuntimeError(f"{op}: bias dtype {bias.dtype} differs from the input dtype {input.dtype}")
    if not isinstance(groups, numbers.Integral) or isinstance(groups, bool):
        raise TypeError(f"{op}: groups must be an int, got {groups!r}")
    if groups < 1:
        raise RuntimeError(f"{op}: groups must be a positive integer, got {groups!r}")
    if any(s <= 0 for s in stride):
        raise RuntimeError(f"{op}: non-positive stride is not supported, got stride={stride}")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"{op}: dilation should be greater than zero, got dilation={dilation}")


def _spec(nsp, stride, padding, dilation, groups):
    """A Spec for the 4-D kernels; a 1-D conv gets a unit H dimension."""
    if nsp == 1:
        return Spec((1, stride[0]), ((0, 0), padding[0]), (1, dilation[0]), groups)
    return Spec(stride, padding, dilation, groups)


def _conv(input, weight, bias, stride, padding, dilation, groups, op, nsp):
    _check_tensor(input, op, "input")
    x, unbatched = _batched(input, op, nsp)
    stride = ntuple(stride, nsp, op, "stride")
    dilation = ntuple(dilation, nsp, op, "dilation")
    _check_common(x, weight, bias, op, nsp, stride, dilation, groups)
    k = shape_of(weight)[2:]
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0),) * nsp
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError(f"{op}: padding='same' is not supported for strided convolutions "
                                   f"(stride={stride})")
            # NOTE: PyTorch's 'same': total padding d*(k-1) per dim, the odd one extra at the end (right/bottom)
            pads = tuple((d * (kk - 1) // 2, d * (kk - 1) - d * (kk - 1) // 2) for d, kk in zip(dilation, k))
        else:
            raise ValueError(f"{op}: invalid padding string {padding!r}, should be one of {{'valid', 'same'}}")
    else:
        p = ntuple(padding, nsp, op, "padding")
        if any(v < 0 for v in p):
            raise RuntimeError(f"{op}: negative padding is not supported, got padding={p}")
        pads = tuple((v, v) for v in p)
    c = shape_of(x)[1]
    o, cg = shape_of(weight)[:2]
    if o % groups:
        raise RuntimeError(f"{op}: weight {shape_of(weight)} has {o} output channels, which is not divisible by "
                           f"groups={groups}")
    if c != cg * groups:
        raise RuntimeError(f"{op}: input {shape_of(input)} has {c} channels but weight {shape_of(weight)} expects "
                           f"{cg * groups} (groups={groups})")
    if bias is not None and shape_of(bias) != (o,):
        raise RuntimeError(f"{op}: bias of shape {shape_of(bias)} does not match the {o} output channels of weight "
                           f"{shape_of(weight)}")
    sizes = shape_of(x)[2:]
    for dim, (size, kk, (lo, hi), d) in enumerate(zip(sizes, k, pads, dilation)):
        if size + lo + hi < d * (kk - 1) + 1:
            raise RuntimeError(f"{op}: input {shape_of(input)} padded to {size + lo + hi} along spatial dim {dim} "
                               f"is smaller than the dilated kernel size {d * (kk - 1) + 1} (kernel {k}, "
                               f"dilation {dilation})")
    out = Conv.apply(x, weight, bias, _spec(nsp, stride, pads, dilation, groups), None)
    return _shape.squeeze(out, 0) if unbatched else out


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int | tuple[int] = 1,
           padding: int | tuple[int] | str = 0, dilation: int | tuple[int] = 1, groups: int = 1) -> Tensor:
    """out[n, o, l] = bias[o] + sum_{c, k} weight[o, c, k] input_pad[n, g*C/G + c, l*stride + k*dilation]
    (cross-correlation, as in PyTorch; g the group of o).

    Args:
        input: (N, C_in, L) or unbatched (C_in, L). weight: (C_out, C_in/groups, kL). bias: (C_out,) or None.
        stride, dilation: int or (int,). padding: int, (int,), 'valid' (= 0) or 'same' (output length =
            input length; stride must be 1; the odd extra element of padding goes at the end).
        groups: split the channels into ``groups`` independent convolutions (= C_in for depthwise).

    Shape: output (N, C_out, L_out), L_out = (L + 2*padding - dilation*(kL-1) - 1) // stride + 1.

    Example::

        >>> from nnzoo.ops.conv import conv1d
        >>> conv1d(nnzoo.ones(2, 3, 10), nnzoo.ones(4, 3, 3), padding=1).shape
        nnzoo.Size([2, 4, 10])
    """
    return _conv(input, weight, bias, stride, padding, dilation, groups, "conv1d", 1)


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int | tuple[int, int] = 1,
           padding: int | tuple[int, int] | str = 0, dilation: int | tuple[int, int] = 1, groups: int = 1) -> Tensor:
    """out[n, o, p, q] = bias[o] + sum_{c, i, j} weight[o, c, i, j] input_pad[n, g*C/G + c, p*sH + i*dH,
    q*sW + j*dW] (cross-correlation, as in PyTorch).

    Args:
        input: (N, C_in, H, W) or unbatched (C_in, H, W). weight: (C_out, C_in/groups, kH, kW).
        bias: (C_out,) or None. stride, dilation: int or (int, int).
        padding: int, (int, int), 'valid' (= 0) or 'same' (output size = input size; stride must be 1;
            an odd total padding puts the extra row/column at the bottom/right, as PyTorch).
        groups: split the channels into ``groups`` independent convolutions (= C_in for depthwise).

    Shape: output (N, C_out, H_out, W_out), H_out = (H + 2*padding - dilation*(kH-1) - 1) // stride + 1.

    Example::

        >>> from nnzoo.ops.conv import conv2d
        >>> conv2d(nnzoo.ones(1, 3, 7, 7), nnzoo.ones(2, 3, 3, 3), stride=2).shape  # 7x7, 3x3, stride 2
        nnzoo.Size([1, 2, 3, 3])
    """
    return _conv(input, weight, bias, stride, padding, dilation, groups, "conv2d", 2)


def _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, op, nsp):
    _check_tensor(input, op, "input")
    x, unbatched = _batched(input, op, nsp)
    stride = ntuple(stride, nsp, op, "stride")
    dilation = ntuple(dilation, nsp, op, "dilation")
    _check_common(x, weight, bias, op, nsp, stride, dilation, groups)
    if isinstance(padding, str):
        raise ValueError(f"{op}: padding must be an int or a tuple of ints for a transposed convolution, got "
                         f"{padding!r}")
    pad = ntuple(padding, nsp, op, "padding")
    opad = ntuple(output_padding, nsp, op, "output_padding")
    if any(v < 0 for v in pad):
        raise RuntimeError(f"{op}: negative padding is not supported, got padding={pad}")
    for op_, s, d in zip(opad, stride, dilation):
        if op_ < 0 or op_ >= max(s, d):
            raise RuntimeError(f"{op}: output padding must be smaller than either stride or dilation, got "
                               f"output_padding={opad}, stride={stride}, dilation={dilation}")
    c = shape_of(x)[1]
    cin, cg_out = shape_of(weight)[:2]
    if cin % groups:
        raise RuntimeError(f"{op}: weight {shape_of(weight)} has {cin} input channels, which is not divisible by "
                           f"groups={groups}")
    if c != cin:
        raise RuntimeError(f"{op}: input {shape_of(input)} has {c} channels but weight {shape_of(weight)} expects "
                           f"{cin} (groups={groups})")
    if bias is not None and shape_of(bias) != (cg_out * groups,):
        raise RuntimeError(f"{op}: bias of shape {shape_of(bias)} does not match the {cg_out * groups} output "
                           f"channels of weight {shape_of(weight)} (groups={groups})")
    k = shape_of(weight)[2:]
    sizes = shape_of(x)[2:]
    out = tuple((n - 1) * s - 2 * p + d * (kk - 1) + o + 1
                for n, s, p, d, kk, o in zip(sizes, stride, pad, dilation, k, opad))
    if any(v < 0 for v in out):
        raise RuntimeError(f"{op}: input {shape_of(input)} with weight {shape_of(weight)}, stride {stride}, padding "
                           f"{pad}, dilation {dilation} gives a negative output size {out}")
    if any(v == 0 for v in out):  # NOTE: PyTorch returns the empty output (every gradient 0) rather than raising
        y = (x.sum() + weight.sum() + (0.0 if bias is None else bias.sum())) * 0.0
        y = _shape.broadcast_to(y, (shape_of(x)[0], cg_out * groups) + out)
        return _shape.squeeze(y, 0) if unbatched else y
    # The weight of conv_transpose (C_in, C_out/G, *k) is the weight of the conv it transposes.
    spec = _spec(nsp, stride, tuple((p, p) for p in pad), dilation, groups)
    out_hw = out if nsp == 2 else (1,) + out
    y = ConvTranspose.apply(x, weight, bias, spec, out_hw)
    return _shape.squeeze(y, 0) if unbatched else y


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int | tuple[int] = 1,
                     padding: int | tuple[int] = 0, output_padding: int | tuple[int] = 0, groups: int = 1,
                     dilation: int | tuple[int] = 1) -> Tensor:
    """The transpose (adjoint) of conv1d, a.k.a. "deconvolution": every input element scatters
    weight[c, o, :] * x into the output at l*stride + k*dilation - padding.

    Args:
        input: (N, C_in, L) or unbatched (C_in, L). weight: (C_in, C_out/groups, kL). bias: (C_out,) or None.
        stride, padding, dilation: those of the conv being transposed. output_padding: extra length added
            at the end of the output (< stride or dilation) to pick among the sizes a strided conv maps
            to the same length.

    Shape: output (N, C_out, L_out), L_out = (L-1)*stride - 2*padding + dilation*(kL-1) + output_padding + 1.

    Example::

        >>> from nnzoo.ops.conv import conv_transpose1d
        >>> conv_transpose1d(nnzoo.ones(1, 4, 5), nnzoo.ones(4, 2, 3), stride=2).shape
        nnzoo.Size([1, 2, 11])
    """
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation,
                           "conv_transpose1d", 1)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int | tuple[int, int] = 1,
                     padding: int | tuple[int, int] = 0, output_padding: int | tuple[int, int] = 0, groups: int = 1,
                     dilation: int | tuple[int, int] = 1) -> Tensor:
    """The transpose (adjoint) of conv2d, a.k.a. "deconvolution": the input gradient of conv2d as a layer.

    Args:
        input: (N, C_in, H, W) or unbatched (C_in, H, W). weight: (C_in, C_out/groups, kH, kW).
        bias: (C_out,) or None. stride, padding, dilation: those of the conv being transposed (int or pair).
        output_padding: extra rows/cols at the bottom/right (< stride or dilation).

    Shape: output (N, C_out, H_out, W_out), H_out = (H-1)*sH - 2*pH + dH*(kH-1) + output_padding + 1.

    Example::

        >>> from nnzoo.ops.conv import conv_transpose2d
        >>> conv_transpose2d(nnzoo.ones(1, 4, 3, 3), nnzoo.ones(4, 2, 3, 3), stride=2, padding=1,
        ...                  output_padding=1).shape
        nnzoo.Size([1, 2, 6, 6])
    """
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation,
                           "conv_transpose2d", 2)


# ---- unfold / fold: im2col and col2im as ops ----------------------------------------------------------------
class Unfold(Op):
    """cols[n, (c, i, j), (p, q)] = x_pad[n, c, p*sH + i*dH, q*sW + j*dW];  backward: fold (col2im)."""

    @staticmethod
    def forward(ctx, x, k, dilation, padding, stride):
        ctx.args = (k, dilation, padding, stride)
        ctx.hw = x.shape[2:]
        return im2col(x, k, dilation, padding, stride)

    @staticmethod
    def backward(ctx, grad):
        k, dilation, padding, stride = ctx.args
        return Fold.apply(grad, ctx.hw, k, dilation, padding, stride), None, None, None, None


class Fold(Op):
    """out = col2im(cols): each column's kh*kw values summed back at their window positions;
    backward: unfold."""

    @staticmethod
    def forward(ctx, cols, out_hw, k, dilation, padding, stride):
        ctx.args = (k, dilation, padding, stride)
        return col2im(cols, out_hw, k, dilation, padding, stride)

    @staticmethod
    def backward(ctx, grad):
        return (Unfold.apply(grad, *ctx.args),) + (None,) * 5


def _fold_args(kernel_size, dilation, padding, stride, op):
    k = ntuple(kernel_size, 2, op, "kernel_size")
    d = ntuple(dilation, 2, op, "dilation")
    p = ntuple(padding, 2, op, "padding")
    s = ntuple(stride, 2, op, "stride")
    if any(v <= 0 for v in k + d + s) or any(v < 0 for v in p):
        raise RuntimeError(f"{op}: kernel_size, dilation and stride must be positive and padding non-negative, "
                           f"got kernel_size={k}, dilation={d}, padding={p}, stride={s}")
    return k, d, p, s


def unfold(input: Tensor, kernel_size: int | tuple[int, int], dilation: int | tuple[int, int] = 1,
           padding: int | tuple[int, int] = 0, stride: int | tuple[int, int] = 1) -> Tensor:
    """im2col: every sliding kernel_size block of the (zero-padded) input as a column.

    out[n, c*kH*kW + i*kW + j, p*W_out + q] = input_pad[n, c, p*sH + i*dH, q*sW + j*dW].

    Args:
        input: (N, C, H, W) or unbatched (C, H, W). kernel_size, dilation, padding, stride: int or pair.

    Shape: output (N, C*kH*kW, L), L = H_out * W_out with H_out = (H + 2*pH - dH*(kH-1) - 1) // sH + 1.

    Example::

        >>> from nnzoo.ops.conv import unfold
        >>> unfold(nnzoo.ones(2, 3, 4, 5), kernel_size=(2, 3)).shape
        nnzoo.Size([2, 18, 9])
    """
    op = "unfold"
    _check_tensor(input, op, "input")
    if input.ndim not in (3, 4):
        raise RuntimeError(f"{op}: expected a 3-D (unbatched) or 4-D (batched) input, got shape {shape_of(input)}")
    k, d, p, s = _fold_args(kernel_size, dilation, padding, stride, op)
    x = input if input.ndim == 4 else _shape.unsqueeze(input, 0)
    h, w = shape_of(x)[2:]
    oh, ow = out_len(h, k[0], s[0], p[0], p[0], d[0]), out_len(w, k[1], s[1], p[1], p[1], d[1])
    if oh <= 0 or ow <= 0:
        raise RuntimeError(f"{op}: input {shape_of(input)} with kernel_size={k}, dilation={d}, padding={p}, "
                           f"stride={s} gives no block (output size {oh} x {ow})")
    out = Unfold.apply(x, k, d, p, s)
    return out if input.ndim == 4 else _shape.squeeze(out, 0)


def fold(input: Tensor, output_size: int | tuple[int, int], kernel_size: int | tuple[int, int],
         dilation: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
         stride: int | tuple[int, int] = 1) -> Tensor:
    """col2im, the adjoint of unfold: sums each column's kH*kW values back into their block of the output
    (overlapping blocks add up).

    Args:
        input: (N, C*kH*kW, L) or unbatched (C*kH*kW, L). output_size: (H, W) of the output (int or pair).
        kernel_size, dilation, padding, stride: those of the unfold it inverts; L must equal H_out * W_out.

    Shape: output (N, C, H, W).

    Example::

        >>> from nnzoo.ops.conv import fold, unfold
        >>> fold(unfold(nnzoo.ones(1, 1, 3, 3), 2), (3, 3), 2)  # how many 2x2 blocks cover each pixel
        tensor([[[[1., 2., 1.],
                  [2., 4., 2.],
                  [1., 2., 1.]]]])
    """
    op = "fold"
    _check_tensor(input, op, "input")
    if input.ndim not in (2, 3):
        raise RuntimeError(f"{op}: expected a 2-D (unbatched) or 3-D (batched) input, got shape {shape_of(input)}")
    hw = ntuple(output_size, 2, op, "output_size")
    k, d, p, s = _fold_args(kernel_size, dilation, padding, stride, op)
    x = input if input.ndim == 3 else _shape.unsqueeze(input, 0)
    ckk, length = shape_of(x)[1:]
    if ckk % (k[0] * k[1]):
        raise RuntimeError(f"{op}: expected size of input's dim 1 ({ckk}, input shape {shape_of(input)}) to be "
                           f"divisible by the product of kernel_size {k} = {k[0] * k[1]}")
    oh, ow = out_len(hw[0], k[0], s[0], p[0], p[0], d[0]), out_len(hw[1], k[1], s[1], p[1], p[1], d[1])
    if oh <= 0 or ow <= 0 or oh * ow != length:
        raise RuntimeError(f"{op}: given output_size={hw}, kernel_size={k}, dilation={d}, padding={p}, "
                           f"stride={s}, expected the last dim of input {shape_of(input)} to be {max(oh, 0)} * "
                           f"{max(ow, 0)} = {max(oh, 0) * max(ow, 0)} blocks, but got {length}")
    out = Fold.apply(x, hw, k, d, p, s)
    return out if input.ndim == 3 else _shape.squeeze(out, 0)
