"""Pixel shuffle: ``pixel_shuffle`` and ``pixel_unshuffle`` (sub-pixel convolution's upsampling), each a
reshape, a permute and a reshape, so every gradient comes from those shape ops.
"""
from __future__ import annotations

from ..tensor import Tensor

__all__ = ["pixel_shuffle", "pixel_unshuffle"]


def _check_tensor(x, op):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(x).__name__}")


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C r^2, H, W) -> (*, C, H r, W r): out[..., c, h r + i, w r + j] = in[..., c r^2 + i r + j, h, w].

    A reshape, a permute and a reshape (sub-pixel convolution's upsampling).

    Example::

        >>> from nnzoo.ops.pixel_shuffle import pixel_shuffle
        >>> pixel_shuffle(nnzoo.ones(1, 8, 3, 3), 2).shape
        nnzoo.Size([1, 2, 6, 6])
    """
    _check_tensor(input, "pixel_shuffle")
    r = int(upscale_factor)
    shape = tuple(input.shape)
    if input.ndim < 3:
        raise RuntimeError(f"pixel_shuffle: expected an input with at least 3 dims (*, C, H, W), got shape "
                           f"{shape}")
    if r <= 0:
        raise RuntimeError(f"pixel_shuffle: upscale_factor must be positive, got {r}")
    *lead, c, h, w = shape
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle: the channel dim {c} of the input of shape {shape} is not "
                           f"divisible by upscale_factor^2 = {r * r}")
    nl = len(lead)
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    x = x.permute(*range(nl), nl, nl + 3, nl + 1, nl + 4, nl + 2)  # (*, C, H, r, W, r)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H r, W r) -> (*, C r^2, H, W): the inverse of ``pixel_shuffle``.

    Example::

        >>> from nnzoo.ops.pixel_shuffle import pixel_unshuffle
        >>> pixel_unshuffle(nnzoo.ones(1, 2, 6, 6), 2).shape
        nnzoo.Size([1, 8, 3, 3])
    """
    _check_tensor(input, "pixel_unshuffle")
    r = int(downscale_factor)
    shape = tuple(input.shape)
    if input.ndim < 3:
        raise RuntimeError(f"pixel_unshuffle: expected an input with at least 3 dims (*, C, H, W), got shape "
                           f"{shape}")
    if r <= 0:
        raise RuntimeError(f"pixel_unshuffle: downscale_factor must be positive, got {r}")
    *lead, c, h, w = shape
    if h % r or w % r:
        raise RuntimeError(f"pixel_unshuffle: the height {h} and width {w} of the input of shape {shape} "
                           f"must be divisible by downscale_factor {r}")
    nl = len(lead)
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    x = x.permute(*range(nl), nl, nl + 2, nl + 4, nl + 1, nl + 3)  # (*, C, r, r, H, W)
    return x.reshape(*lead, c * r * r, h // r, w // r)
