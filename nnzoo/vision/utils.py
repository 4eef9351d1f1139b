"""torchvision's ``utils``: ``make_grid`` (a batch of images tiled into one) and ``save_image`` (as a PNG)."""
from __future__ import annotations

import math
import os
from typing import IO

import numpy as np
from PIL import Image

from ..autograd.arrays import array, wrap
from ..ops.shape import stack
from ..tensor import Tensor

__all__ = ["make_grid", "save_image"]


def make_grid(tensor: Tensor | list[Tensor], nrow: int = 8, padding: int = 2, normalize: bool = False,
              value_range: tuple[float, float] | None = None, scale_each: bool = False,
              pad_value: float = 0.0) -> Tensor:
    """Tile a batch (B, C, H, W) into one image (C, rows (H + padding) + padding, nrow (W + padding) + padding).

    torchvision's algorithm: grey images become 3 channels; ``normalize`` maps [low, high] (``value_range``,
    else the min and max of the batch, or of each image with ``scale_each``) to [0, 1] after clamping;
    image ``k`` goes to row ``k // nrow``, column ``k % nrow``; the gaps are ``pad_value``.

    Args:
        tensor: a batch (B, C, H, W), one image (C, H, W) or (H, W), or a list of images of one shape.
        nrow: images per row. Default: 8.
        padding: pixels between images and around the grid. Default: 2.
        normalize, value_range, scale_each: the optional rescaling to [0, 1].
        pad_value: the value of the gaps. Default: 0.

    Shape: (B, C, H, W) -> (C', ceil(B / nrow) (H + p) + p, min(nrow, B) (W + p) + p), C' = 3 if C == 1.

    Example::

        >>> make_grid(nnzoo.ones(5, 1, 4, 4), nrow=4).shape
        nnzoo.Size([3, 14, 26])
    """
    if isinstance(tensor, (list, tuple)):
        tensor = stack(list(tensor), 0)
    if not isinstance(tensor, Tensor):
        raise TypeError(f"make_grid: tensor or list of tensors expected, got {type(tensor).__name__}")
    arr = array(tensor.detach())
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim == 3:
        if arr.shape[0] == 1:
            arr = np.concatenate([arr, arr, arr], 0)
        arr = arr[None]
    if arr.ndim != 4:
        raise ValueError(f"make_grid: expected images (B, C, H, W), (C, H, W) or (H, W), got shape {arr.shape}")
    if arr.shape[1] == 1:
        arr = np.concatenate([arr, arr, arr], 1)
    if normalize:
        arr = arr.copy()
        if value_range is not None and not isinstance(value_range, tuple):
            raise TypeError("make_grid: value_range has to be a tuple (min, max) if specified")

        def norm(img: np.ndarray) -> None:
            low, high = value_range if value_range is not None else (float(img.min()), float(img.max()))
            np.clip(img, low, high, out=img)
            img -= img.dtype.type(low)
            img /= img.dtype.type(max(high - low, 1e-5))

        for img in (arr if scale_each else [arr]):
            norm(img)
    if arr.shape[0] == 1:
        return wrap(np.ascontiguousarray(arr[0]))
    nmaps, channels = arr.shape[:2]
    xmaps = min(nrow, nmaps)
    ymaps = math.ceil(nmaps / xmaps)
    height, width = arr.shape[2] + padding, arr.shape[3] + padding
    grid = np.full((channels, height * ymaps + padding, width * xmaps + padding), pad_value, dtype=arr.dtype)
    for k in range(nmaps):
        y, x = divmod(k, xmaps)
        grid[:, y * height + padding:(y + 1) * height, x * width + padding:(x + 1) * width] = arr[k]
    return wrap(grid)


def save_image(tensor: Tensor | list[Tensor], fp: str | os.PathLike | IO[bytes], format: str | None = None,
               **kwargs) -> None:
    """Save an image, or a batch as a grid (``make_grid(tensor, **kwargs)``), as a PNG (or ``format``).

    Values in [0, 1] become bytes ``clamp(255 x + 0.5, 0, 255)`` (rounded, as torchvision).

    Example::

        >>> save_image(nnzoo.rand(4, 1, 8, 8), "grid.png", nrow=2)
        >>> Image.open("grid.png").size
        (22, 22)
    """
    grid = array(make_grid(tensor, **kwargs))
    pixels = np.clip(grid * 255 + 0.5, 0, 255).astype(np.uint8).transpose(1, 2, 0)
    if pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    Image.fromarray(np.ascontiguousarray(pixels)).save(fp, format=format)
