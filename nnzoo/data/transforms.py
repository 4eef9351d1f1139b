"""Transforms: torchvision-style callables that prepare one sample (or a batch) of image-like data.

They work on nnzoo Tensors of shape (C, H, W), or (N, C, H, W) where that makes sense (every
transform here takes any leading dims; ``ToTensor`` converts a NumPy image). The random ones draw
from ``generator=`` (default: nnzoo's default generator, so ``nnzoo.manual_seed`` fixes them).

NOTE: as torchvision, a random crop or flip applied to a batch (N, C, H, W) draws one decision for the
whole batch; the noise transforms draw independently for every element.
"""
from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from ..autograd.arrays import array, wrap
from ..creation import as_tensor
from ..dtypes import float64
from ..ops.shape import flip
from ..random import Generator, rand, randint, randn
from ..tensor import Tensor

__all__ = ["Compose", "ToTensor", "Normalize", "RandomCrop", "RandomHorizontalFlip", "GaussianNoise",
           "MaskingNoise", "Lambda"]


def _check_tensor(x: Any, op: str, min_dims: int = 1) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    if x.ndim < min_dims:
        raise ValueError(f"{op}: expected a tensor of at least {min_dims} dims (..., H, W), got shape {tuple(x.shape)}")


def _check_float(x: Tensor, op: str) -> None:
    if not x.is_floating_point():
        raise TypeError(f"{op}: expected a floating point tensor, got {x.dtype}")


class Compose:
    """Apply transforms one after another: ``Compose([f, g])(x) == g(f(x))``.

    Example::

        >>> t = Compose([Lambda(lambda x: x + 1), Lambda(lambda x: x * 2)])
        >>> t(nnzoo.tensor([1.0]))
        tensor([4.])
    """

    def __init__(self, transforms: Iterable[Callable[[Any], Any]]) -> None:
        self.transforms = list(transforms)

    def __call__(self, img: Any) -> Any:
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self) -> str:
        lines = "".join(f"\n    {t}" for t in self.transforms)
        return f"{type(self).__name__}({lines}\n)"


class ToTensor:
    """A NumPy image (H, W, C) or (H, W) -> a Tensor (C, H, W); uint8 values are scaled to float32 in [0, 1].

    Other dtypes keep their values and dtype (only the axes move), as in torchvision. Anything NumPy can
    turn into an array (e.g. a PIL image) is accepted too.

    Example::

        >>> img = np.full((4, 5, 3), 255, dtype=np.uint8)
        >>> x = ToTensor()(img)
        >>> x.shape, x.dtype, x.max().item()
        (nnzoo.Size([3, 4, 5]), nnzoo.float32, 1.0)
    """

    def __call__(self, pic: Any) -> Tensor:
        arr = pic if isinstance(pic, np.ndarray) else np.asarray(pic)
        if arr.ndim not in (2, 3):
            raise ValueError(f"ToTensor: pic should be 2 or 3 dimensional (H, W[, C]), got shape {arr.shape}")
        if arr.ndim == 2:
            arr = arr[:, :, None]
        chw = np.ascontiguousarray(arr.transpose(2, 0, 1))
        if chw.dtype == np.uint8:
            return as_tensor(chw.astype(np.float32) / np.float32(255))
        return as_tensor(chw)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Normalize:
    """Per channel: ``out[c] = (x[c] - mean[c]) / std[c]``.

    Args:
        mean, std: one number per channel (sequences, or numbers for all channels).
        inplace: overwrite the input tensor. Default: False.

    Shape: (..., C, H, W) float tensors; the result has the input's dtype.

    Example::

        >>> x = nnzoo.ones(2, 1, 1)
        >>> Normalize(mean=[0.5, 1.0], std=[0.5, 2.0])(x).flatten()
        tensor([1., 0.])
    """

    def __init__(self, mean: float | Sequence[float], std: float | Sequence[float], inplace: bool = False) -> None:
        self.mean = mean
        self.std = std
        self.inplace = inplace

    def __call__(self, tensor: Tensor) -> Tensor:
        _check_tensor(tensor, "Normalize", 3)
        _check_float(tensor, "Normalize")
        mean = as_tensor(np.asarray(self.mean, dtype=array(tensor).dtype))
        std = as_tensor(np.asarray(self.std, dtype=array(tensor).dtype))
        if (std == 0).any().item():
            raise ValueError(f"Normalize: std evaluated to zero after conversion to {tensor.dtype}, leading to "
                             f"division by zero (std={self.std})")
        if mean.ndim == 1:
            mean = mean.reshape(-1, 1, 1)
        if std.ndim == 1:
            std = std.reshape(-1, 1, 1)
        if self.inplace:
            return tensor.sub_(mean).div_(std)
        return (tensor - mean) / std

    def __repr__(self) -> str:
        return f"{type(self).__name__}(mean={self.mean}, std={self.std})"


def _pair(size: int | Sequence[int], name: str) -> tuple[int, int]:
    if isinstance(size, numbers.Integral):
        return int(size), int(size)
    size = tuple(size)
    if len(size) == 1:
        return size[0], size[0]
    if len(size) != 2:
        raise ValueError(f"RandomCrop: {name} should be an int or a sequence of 1 or 2 ints, got {size}")
    return size


def _pad_hw(x: Tensor, left: int, top: int, right: int, bottom: int, fill: float, mode: str) -> Tensor:
    """Pad the last two dims (H, W) of ``x``; modes as torchvision: constant, edge, reflect, symmetric."""
    widths = [(0, 0)] * (x.ndim - 2) + [(top, bottom), (left, right)]
    arr = array(x)
    if mode == "constant":
        return wrap(np.pad(arr, widths, mode="constant", constant_values=fill))
    return wrap(np.pad(arr, widths, mode=mode))


class RandomCrop:
    """Crop a random ``size`` window from the last two dims (H, W), after optional padding.

    Args:
        size: the crop's (h, w), or an int for a square.
        padding: pad the borders first: an int (all sides), (left/right, top/bottom) or
            (left, top, right, bottom). Default: None.
        pad_if_needed: pad a side (by the shortfall, on both ends) when the input is smaller than
            ``size``. Default: False.
        fill: the value of ``padding_mode='constant'``. Default: 0.
        padding_mode: ``'constant'``, ``'edge'`` (repeat the border), ``'reflect'`` (mirror without
            the border) or ``'symmetric'`` (mirror with it). Default: ``'constant'``.
        generator: the Generator to draw the offsets from (default: nnzoo's default generator).

    Shape: (..., H, W) -> (..., h, w). The crop offsets ``i`` (row) and ``j`` (column) are uniform in
    ``[0, H - h]`` and ``[0, W - w]`` of the padded input; the result is not differentiable when padded.

    Example::

        >>> x = nnzoo.arange(16.0).reshape(1, 4, 4)
        >>> RandomCrop(4, padding=2)(x).shape
        nnzoo.Size([1, 4, 4])
    """

    def __init__(self, size: int | Sequence[int], padding: int | Sequence[int] | None = None,
                 pad_if_needed: bool = False, fill: float = 0, padding_mode: str = "constant", *,
                 generator: Generator | None = None) -> None:
        self.size = _pair(size, "size")
        if padding is not None and not isinstance(padding, numbers.Integral):
            if len(padding) not in (1, 2, 4):
                raise ValueError(f"RandomCrop: padding should be an int or a sequence of 1, 2 or 4 ints, got {padding}")
        if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
            raise ValueError(f"RandomCrop: padding_mode should be 'constant', 'edge', 'reflect' or 'symmetric', got "
                             f"{padding_mode!r}")
        if not isinstance(fill, numbers.Real):
            raise TypeError(f"RandomCrop: fill should be a number for tensors, got {fill!r}")
        self.padding = padding
        self.pad_if_needed = pad_if_needed
        self.fill = fill
        self.padding_mode = padding_mode
        self.generator = generator

    def _sides(self) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) of ``padding``."""
        p = self.padding
        if isinstance(p, numbers.Integral):
            return p, p, p, p
        p = tuple(p)
        if len(p) == 1:
            return p * 4
        if len(p) == 2:
            return p[0], p[1], p[0], p[1]
        return p

    def get_params(self, img: Tensor) -> tuple[int, int, int, int]:
        """The random crop ``(i, j, h, w)`` for ``img`` (already padded)."""
        height, width = img.shape[-2:]
        th, tw = self.size
        if height < th or width < tw:
            raise ValueError(f"RandomCrop: required crop size {(th, tw)} is larger than the input image size "
                             f"{(height, width)} (input shape {tuple(img.shape)}); pass pad_if_needed=True to pad it")
        if height == th and width == tw:
            return 0, 0, height, width
        i = randint(0, height - th + 1, (1,), generator=self.generator).item()
        j = randint(0, width - tw + 1, (1,), generator=self.generator).item()
        return i, j, th, tw

    def __call__(self, img: Tensor) -> Tensor:
        _check_tensor(img, "RandomCrop", 2)
        if self.padding is not None:
            img = _pad_hw(img, *self._sides(), self.fill, self.padding_mode)
        height, width = img.shape[-2:]
        if self.pad_if_needed and width < self.size[1]:
            d = self.size[1] - width
            img = _pad_hw(img, d, 0, d, 0, self.fill, self.padding_mode)
        if self.pad_if_needed and height < self.size[0]:
            d = self.size[0] - height
            img = _pad_hw(img, 0, d, 0, d, self.fill, self.padding_mode)
        i, j, h, w = self.get_params(img)
        return img[..., i:i + h, j:j + w]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """Mirror the last dim (W) with probability ``p``; otherwise return the input itself.

    Args:
        p: the probability of flipping. Default: 0.5.
        generator: the Generator to draw from (default: nnzoo's default generator).

    Example::

        >>> RandomHorizontalFlip(p=1.0)(nnzoo.tensor([[1, 2, 3]]))
        tensor([[3, 2, 1]])
    """

    def __init__(self, p: float = 0.5, *, generator: Generator | None = None) -> None:
        if not 0 <= p <= 1:
            raise ValueError(f"RandomHorizontalFlip: p should be a probability in [0, 1], got {p}")
        self.p = p
        self.generator = generator

    def __call__(self, img: Tensor) -> Tensor:
        _check_tensor(img, "RandomHorizontalFlip", 1)
        if rand(1, generator=self.generator).item() < self.p:
            return flip(img, -1)
        return img

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p})"


class GaussianNoise:
    """Add independent normal noise to every element: ``x + mean + sigma * z``, ``z ~ N(0, 1)``.

    Args:
        mean: the noise's mean. Default: 0.
        sigma: the noise's standard deviation. Default: 0.1.
        clip: None or False (no clipping), True (clamp to [0, 1], torchvision's default) or
            ``(low, high)``. Default: None.
        generator: the Generator to draw from (default: nnzoo's default generator).

    Shape: any float tensor; the result has its shape and dtype.

    Example::

        >>> x = GaussianNoise(sigma=0.5, clip=(0.0, 1.0))(nnzoo.zeros(1000))
        >>> x.min().item() >= 0.0, x.max().item() <= 1.0
        (True, True)
    """

    def __init__(self, mean: float = 0.0, sigma: float = 0.1, clip: bool | tuple[float, float] | None = None, *,
                 generator: Generator | None = None) -> None:
        if sigma < 0:
            raise ValueError(f"GaussianNoise: sigma shouldn't be negative, got {sigma}")
        self.mean = mean
        self.sigma = sigma
        self.clip = (0.0, 1.0) if clip is True else (None if clip is False else clip)
        self.generator = generator

    def __call__(self, x: Tensor) -> Tensor:
        _check_tensor(x, "GaussianNoise", 0)
        _check_float(x, "GaussianNoise")
        out = x + (randn(x.shape, generator=self.generator, dtype=x.dtype) * self.sigma + self.mean)
        if self.clip is not None:
            out = out.clamp(*self.clip)
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}(mean={self.mean}, sigma={self.sigma}, clip={self.clip})"


class MaskingNoise:
    """Zero every element independently with probability ``p``: the denoising autoencoder's corruption.

    Unlike dropout, the kept elements are not rescaled. On average a fraction ``p`` of the input is
    zeroed (each element is a Bernoulli draw, so the exact count varies).

    Args:
        p: the probability of zeroing an element. Default: 0.25.
        generator: the Generator to draw from (default: nnzoo's default generator).

    Example::

        >>> MaskingNoise(p=1.0)(nnzoo.ones(3))
        tensor([0., 0., 0.])
    """

    def __init__(self, p: float = 0.25, *, generator: Generator | None = None) -> None:
        if not 0 <= p <= 1:
            raise ValueError(f"MaskingNoise: p should be a probability in [0, 1], got {p}")
        self.p = p
        self.generator = generator

    def __call__(self, x: Tensor) -> Tensor:
        _check_tensor(x, "MaskingNoise", 0)
        # NOTE: float64 uniforms, so that p is resolved finely (rand < p is exactly Bernoulli(p) to 2**-53)
        drop = rand(x.shape, generator=self.generator, dtype=float64) < self.p
        return x.masked_fill(drop, 0)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p})"


class Lambda:
    """A user function as a transform.

    Example::

        >>> Lambda(lambda x: x * 10)(nnzoo.tensor([1, 2]))
        tensor([10, 20])
    """

    def __init__(self, lambd: Callable[[Any], Any]) -> None:
        if not callable(lambd):
            raise TypeError(f"Lambda: argument lambd should be callable, got {type(lambd).__name__!r}")
        self.lambd = lambd

    def __call__(self, img: Any) -> Any:
        return self.lambd(img)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
