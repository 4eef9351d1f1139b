"""Interpolation: ``interpolate`` (nearest, nearest-exact, linear, bilinear, area), PyTorch's
``F.interpolate``.

Nearest and linear resampling are one op (:class:`Resample`) whose taps, per axis, say which input
positions each output reads and with what weights (computed as PyTorch computes them, see
:mod:`nnzoo.kernels.interpolate`); 'area' is adaptive average pooling.
"""
from __future__ import annotations

import math

from ..autograd.function import Op
from ..kernels.interpolate import linear_taps, nearest_taps, resample, resample_adjoint
from ..kernels.pool import planes
from ..tensor import Tensor
from .pool import _adaptive_avg, _check_tensor

__all__ = ["interpolate"]


class Resample(Op):
    """out = sum_t w_t * x[idx_t] along W, then along H: each axis a list of taps (idx, w) (nearest: one
    tap, w None; linear: two), or None (unchanged).

    d out[o] / d x[i] = sum of w_t[o] over the taps t with idx_t[o] = i: the backward adds w_t * grad into
    the positions idx_t (:class:`ResampleBackward`)."""

    @staticmethod
    def forward(ctx, x, th, tw, nd, out_shape):
        ctx.taps, ctx.nd, ctx.shape = (th, tw), nd, x.shape
        return resample(planes(x, nd), th, tw).reshape(out_shape)

    @staticmethod
    def backward(ctx, grad):
        th, tw = ctx.taps
        return ResampleBackward.apply(grad, th, tw, ctx.nd, ctx.shape), None, None, None, None


class ResampleBackward(Op):
    """dx: the adjoint of :class:`Resample`, w_t * grad summed into the input positions idx_t. Linear in
    grad: its backward is Resample again."""

    @staticmethod
    def forward(ctx, g, th, tw, nd, shape):
        ctx.taps, ctx.nd, ctx.out_shape = (th, tw), nd, g.shape
        n_h, n_w = (1, shape[-1]) if nd == 1 else shape[-2:]
        return resample_adjoint(planes(g, nd), th, tw, n_h, n_w).reshape(shape)

    @staticmethod
    def backward(ctx, gg):
        th, tw = ctx.taps
        return Resample.apply(gg, th, tw, ctx.nd, ctx.out_shape), None, None, None, None


_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "area")


def interpolate(input: Tensor, size: int | tuple[int, ...] | None = None,
                scale_factor: float | tuple[float, ...] | None = None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resample (N, C, L) or (N, C, H, W) inputs to ``size`` or by ``scale_factor``.

    Modes: 'nearest' (PyTorch's: source floor(dst * in / out)), 'nearest-exact' (floor((dst + 0.5) *
    in / out)), 'linear' (3-D input), 'bilinear' (4-D input), 'area' (adaptive average pooling).

    Args:
        size: the output's spatial size (int or tuple). scale_factor: a float or tuple; the output is
            floor(in * scale_factor), and the scale itself (not in / out) maps positions unless
            recompute_scale_factor=True.
        align_corners: linear modes only: map the corner pixels' centres onto each other
            (src = dst (in - 1) / (out - 1)) instead of the pixel areas (default False).

    Shape: (N, C, L) -> (N, C, L_out); (N, C, H, W) -> (N, C, H_out, W_out).

    Example::

        >>> from nnzoo.ops.interpolate import interpolate
        >>> interpolate(nnzoo.tensor([[[1., 2.]]]), scale_factor=2)
        tensor([[[1., 1., 2., 2.]]])
        >>> interpolate(nnzoo.tensor([[[1., 2.]]]), size=4, mode="linear")
        tensor([[[1.0000, 1.2500, 1.7500, 2.0000]]])
    """
    op = "interpolate"
    _check_tensor(input, op)
    shape = tuple(input.shape)
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("interpolate: align_corners option can only be set with the interpolating modes: "
                             "linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    if mode not in _MODES:
        raise NotImplementedError(f"interpolate: mode {mode!r} is not implemented (nnzoo has: "
                                  f"{', '.join(_MODES)})")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not implemented")
    nd = input.ndim - 2
    if nd not in (1, 2):
        raise NotImplementedError(f"interpolate: expected a 3-D (N, C, L) or 4-D (N, C, H, W) input, got shape "
                                  f"{shape}")
    if (mode == "linear" and nd != 1) or (mode == "bilinear" and nd != 2):
        want = "3D" if mode == "linear" else "4D"
        raise NotImplementedError(f"interpolate: got {nd + 2}D input (shape {shape}), but {mode} mode needs "
                                  f"{want} input")
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"interpolate: expected a floating-point input, got {input.dtype}")
    ins = shape[2:]
    if size is not None and scale_factor is not None:
        raise ValueError("interpolate: only one of size or scale_factor should be defined")
    if size is not None:
        if recompute_scale_factor:
            raise ValueError("interpolate: recompute_scale_factor is not meaningful with an explicit size.")
        sizes = tuple(size) if isinstance(size, (list, tuple)) else (size,) * nd
        if len(sizes) != nd:
            raise ValueError(f"interpolate: input with spatial dims {list(ins)} and output size {size}: they "
                             "must have the same number of spatial dims")
        outs, scales = tuple(int(o) for o in sizes), (None,) * nd
    elif scale_factor is not None:
        scales = tuple(scale_factor) if isinstance(scale_factor, (list, tuple)) else (scale_factor,) * nd
        if len(scales) != nd:
            raise ValueError(f"interpolate: input with spatial dims {list(ins)} and scale_factor "
                             f"{scale_factor}: they must have the same number of spatial dims")
        outs = tuple(math.floor(float(n) * float(s)) for n, s in zip(ins, scales))
        if recompute_scale_factor or mode == "area":
            scales = (None,) * nd
    else:
        raise ValueError("interpolate: either size or scale_factor should be defined")
    if any(o <= 0 for o in outs) or any(n <= 0 for n in ins):
        raise RuntimeError(f"interpolate: input and output sizes should be greater than 0, but got input "
                           f"{ins} and output {outs}")
    if mode == "area":
        return _adaptive_avg(input, "interpolate", nd, outs)
    dtype = input._data.dtype
    if mode in ("linear", "bilinear"):
        taps = [linear_taps(n, o, s, align_corners, dtype) for n, o, s in zip(ins, outs, scales)]
    else:
        taps = [nearest_taps(n, o, s, mode == "nearest-exact") for n, o, s in zip(ins, outs, scales)]
    th, tw = (None, taps[0]) if nd == 1 else taps
    return Resample.apply(input, th, tw, nd, shape[:2] + outs)
