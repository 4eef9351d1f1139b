"""torchvision's ``transforms``: callables that prepare one image (a PIL image or a Tensor (..., C, H, W)).

``Compose``, ``Lambda`` and ``Normalize`` are nnzoo's own (:mod:`nnzoo.data.transforms`); the rest take PIL
images as torchvision's datasets hand them out, and tensor images too. The random ones draw from nnzoo's
default generator, so ``torch.manual_seed`` fixes them.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image

from ...data.transforms import Compose, Lambda, Normalize
from ...dtypes import dtype as _dtype
from ...random import rand, randint
from ...tensor import Tensor
from . import functional
from .functional import InterpolationMode, get_dimensions

__all__ = ["Compose", "Lambda", "Normalize", "ToTensor", "PILToTensor", "ToPILImage", "ConvertImageDtype", "Resize",
           "CenterCrop", "RandomCrop", "RandomResizedCrop", "RandomHorizontalFlip", "RandomVerticalFlip", "Pad",
           "Grayscale", "RandomRotation", "RandomApply", "InterpolationMode", "functional"]

F = functional


class ToTensor:
    """A PIL image or an array (H, W, C) -> a float Tensor (C, H, W) in [0, 1] (8-bit images divided by 255).

    Example::

        >>> ToTensor()(Image.new("RGB", (4, 2), (255, 0, 0))).shape
        nnzoo.Size([3, 2, 4])
    """

    def __call__(self, pic: Image.Image | np.ndarray) -> Tensor:
        return F.to_tensor(pic)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class PILToTensor:
    """A PIL image -> a Tensor (C, H, W) of its values, unscaled (uint8)."""

    def __call__(self, pic: Image.Image) -> Tensor:
        return F.pil_to_tensor(pic)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class ToPILImage:
    """A Tensor (C, H, W) or an array (H, W, C) -> a PIL image (floats scaled by 255).

    Example::

        >>> ToPILImage()(nnzoo.zeros(1, 2, 3)).mode
        'L'
    """

    def __init__(self, mode: str | None = None) -> None:
        self.mode = mode

    def __call__(self, pic: Tensor | np.ndarray) -> Image.Image:
        return F.to_pil_image(pic, self.mode)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(mode={self.mode})"


class ConvertImageDtype:
    """A tensor image to ``dtype``, rescaling the values: uint8 [0, 255] <-> float [0, 1].

    Example::

        >>> ConvertImageDtype(nnzoo.float32)(nnzoo.tensor([[[255]]], dtype=nnzoo.uint8))
        tensor([[[1.]]])
    """

    def __init__(self, dtype: _dtype) -> None:
        self.dtype = dtype

    def __call__(self, image: Tensor) -> Tensor:
        if image.dtype == self.dtype:
            return image
        if image.is_floating_point() and self.dtype.is_floating_point:
            return image.to(self.dtype)
        if not image.is_floating_point() and self.dtype.is_floating_point:
            return image.to(self.dtype) / 255.0
        if image.is_floating_point():
            return (image * 255.999).to(self.dtype)   # torchvision's float -> uint8 (eps keeps 1.0 at 255)
        return image.to(self.dtype)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(dtype={self.dtype})"


class Resize:
    """Resize to ``size`` (h, w), or make the smaller edge ``size`` (an int) keeping the aspect ratio.

    Example::

        >>> Resize(14)(Image.new("L", (28, 56))).size
        (14, 28)
    """

    def __init__(self, size: int | Sequence[int],
                 interpolation: InterpolationMode | int = InterpolationMode.BILINEAR,
                 max_size: int | None = None, antialias: bool | None = True) -> None:
        if not (isinstance(size, numbers.Integral) or (isinstance(size, Sequence) and len(size) in (1, 2))):
            raise TypeError(f"Resize: size should be an int or a sequence of 1 or 2 ints, got {size!r}")
        self.size = size
        self.interpolation = interpolation
        self.max_size = max_size
        self.antialias = antialias

    def __call__(self, img: Image.Image | Tensor) -> Image.Image | Tensor:
        return F.resize(img, self.size, self.interpolation, self.max_size, self.antialias)

    def __repr__(self) -> str:
        mode = getattr(self.interpolation, "value", self.interpolation)
        return (f"{type(self).__name__}(size={self.size}, interpolation={mode}, max_size={self.max_size}, "
                f"antialias={self.antialias})")


class CenterCrop:
    """The central ``size`` window (an int for a square).

    Example::

        >>> CenterCrop(2)(nnzoo.zeros(3, 5, 5)).shape
        nnzoo.Size([3, 2, 2])
    """

    def __init__(self, size: int | Sequence[int]) -> None:
        self.size = F._size_pair(size, "CenterCrop")

    def __call__(self, img: Image.Image | Tensor) -> Image.Image | Tensor:
        return F.center_crop(img, self.size)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size})"


class Pad:
    """Pad the borders (``F.pad``).

    Example::

        >>> Pad(2)(Image.new("L", (3, 3))).size
        (7, 7)
    """

    def __init__(self, padding: int | Sequence[int], fill: float | Sequence[float] = 0,
                 padding_mode: str = "constant") -> None:
        self.padding = padding
        self.fill = fill
        self.padding_mode = padding_mode

    def __call__(self, img: Image.Image | Tensor) -> Image.Image | Tensor:
        return F.pad(img, self.padding, self.fill, self.padding_mode)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(padding={self.padding}, fill={self.fill}, padding_mode={self.padding_mode})"


def _uniform(low: float, high: float) -> float:
    return low + (high - low) * rand(1).item()


def _randint(low: int, high: int) -> int:
    return int(randint(low, high, (1,)).item())


class RandomCrop:
    """A random ``size`` window, after optional padding (torchvision's arguments).

    Example::

        >>> RandomCrop(28, padding=4)(Image.new("L", (28, 28))).size
        (28, 28)
    """

    def __init__(self, size: int | Sequence[int], padding: int | Sequence[int] | None = None,
                 pad_if_needed: bool = False, fill: float | Sequence[float] = 0,
                 padding_mode: str = "constant") -> None:
        self.size = F._size_pair(size, "RandomCrop")
        self.padding = padding
        self.pad_if_needed = pad_if_needed
        self.fill = fill
        self.padding_mode = padding_mode

    @staticmethod
    def get_params(img: Image.Image | Tensor, output_size: tuple[int, int]) -> tuple[int, int, int, int]:
        """``(top, left, height, width)`` of a random crop of ``output_size``."""
        _, h, w = get_dimensions(img)
        th, tw = output_size
        if h < th or w < tw:
            raise ValueError(f"RandomCrop: required crop size {(th, tw)} is larger than the input image size {(h, w)}")
        if (h, w) == (th, tw):
            return 0, 0, h, w
        return _randint(0, h - th + 1), _randint(0, w - tw + 1), th, tw

    def __call__(self, img: Image.Image | Tensor) -> Image.Image | Tensor:
        if self.padding is not None:
            img = F.pad(img, self.padding, self.fill, self.padding_mode)
        _, h, w = get_dimensions(img)
        if self.pad_if_needed and w < self.size[1]:
            img = F.pad(img, [self.size[1] - w, 0], self.fill, self.padding_mode)
        if self.pad_if_needed and h < self.size[0]:
            img = F.pad(img, [0, self.size[0] - h], self.fill, self.padding_mode)
        return F.crop(img, *self.get_params(img, self.size))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size}, padding={self.padding})"


class RandomResizedCrop:
    """A random crop of random area (``scale``) and aspect ratio (``ratio``), resized to ``size``.

    Example::

        >>> RandomResizedCrop(8)(Image.new("RGB", (20, 30))).size
        (8, 8)
    """

    def __init__(self, size: int | Sequence[int], scale: tuple[float, float] = (0.08, 1.0),
                 ratio: tuple[float, float] = (3.0 / 4.0, 4.0 / 3.0),
                 interpolation: InterpolationMode | int = InterpolationMode.BILINEAR,
                 antialias: bool | None = True) -> None:
        self.size = F._size_pair(size, "RandomResizedCrop")
        self.scale = scale
        self.ratio = ratio
        self.interpolation = interpolation
        self.antialias = antialias

    @staticmethod
    def get_params(img: Image.Image | Tensor, scale: Sequence[float],
                   ratio: Sequence[float]) -> tuple[int, int, int, int]:
        """torchvision's draw: up to 10 tries of area and log-uniform aspect ratio, else a central crop."""
        _, height, width = get_dimensions(img)
        area = height * width
        log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
        for _ in range(10):
            target_area = area * _uniform(scale[0], scale[1])
            aspect_ratio = math.exp(_uniform(*log_ratio))
            w = round(math.sqrt(target_area * aspect_ratio))
            h = round(math.sqrt(target_area / aspect_ratio))
            if 0 < w <= width and 0 < h <= height:
                return _randint(0, height - h + 1), _randint(0, width - w + 1), h, w
        in_ratio = width / height
        if in_ratio < min(ratio):
            w, h = width, round(width / min(ratio))
        elif in_ratio > max(ratio):
            h, w = height, round(height * max(ratio))
        else:
            w, h = width, height
        return (height - h) // 2, (width - w) // 2, h, w

    def __call__(self, img: Image.Image | Tensor) -> Image.Image | Tensor:
        i, j, h, w = self.get_params(img, self.scale, self.ratio)
        return F.resized_crop(img, i, j, h, w, self.size, self.interpolation, antialias=self.antialias)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size}, scale={self.scale}, ratio={self.ratio})"


class RandomHorizontalFlip:
    """Mirror left-right with probability ``p``.

    Example::

        >>> RandomHorizontalFlip(p=1.0)(nnzoo.tensor([[[1, 2]]]))
        tensor([[[2, 1]]])
    """

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def __call__(self, img: Image.Image | Tensor) -> Image.Image | Tensor:
        return F.hflip(img) if rand(1).item() < self.p else img

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p})"


class RandomVerticalFlip(RandomHorizontalFlip):
    """Mirror top-bottom with probability ``p``."""

    def __call__(self, img: Image.Image | Tensor) -> Image.Image | Tensor:
        return F.vflip(img) if rand(1).item() < self.p else img


class Grayscale:
    """To grey (ITU-R 601-2 luma), with 1 or 3 output channels.

    Example::

        >>> Grayscale(num_output_channels=3)(Image.new("RGB", (2, 2))).mode
        'RGB'
    """

    def __init__(self, num_output_channels: int = 1) -> None:
        self.num_output_channels = num_output_channels

    def __call__(self, img: Image.Image | Tensor) -> Image.Image | Tensor:
        return F.rgb_to_grayscale(img, self.num_output_channels)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(num_output_channels={self.num_output_channels})"


class RandomRotation:
    """Rotate by an angle drawn uniformly from ``degrees`` (a number d means (-d, d)).

    Example::

        >>> RandomRotation(10)(Image.new("L", (28, 28))).size
        (28, 28)
    """

    def __init__(self, degrees: float | Sequence[float],
                 interpolation: InterpolationMode | int = InterpolationMode.NEAREST,
                 expand: bool = False, center: Sequence[int] | None = None,
                 fill: float | Sequence[float] = 0) -> None:
        if isinstance(degrees, numbers.Number):
            if degrees < 0:
                raise ValueError(f"RandomRotation: if degrees is a single number, it must be positive, got {degrees}")
            degrees = (-float(degrees), float(degrees))
        elif len(degrees) != 2:
            raise ValueError(f"RandomRotation: degrees should be a number or a sequence of 2 numbers, got {degrees}")
        self.degrees = [float(d) for d in degrees]
        self.interpolation = interpolation
        self.expand = expand
        self.center = center
        self.fill = fill

    @staticmethod
    def get_params(degrees: Sequence[float]) -> float:
        return _uniform(float(degrees[0]), float(degrees[1]))

    def __call__(self, img: Image.Image | Tensor) -> Image.Image | Tensor:
        angle = self.get_params(self.degrees)
        fill = self.fill
        if isinstance(fill, numbers.Number) and isinstance(img, Image.Image):
            fill = [fill] * len(img.getbands()) if len(img.getbands()) > 1 else fill
        return F.rotate(img, angle, self.interpolation, self.expand, self.center, fill)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(degrees={self.degrees}, expand={self.expand}, fill={self.fill})"


class RandomApply:
    """Apply the list of ``transforms`` with probability ``p``."""

    def __init__(self, transforms: Sequence[Any], p: float = 0.5) -> None:
        self.transforms = list(transforms)
        self.p = p

    def __call__(self, img: Any) -> Any:
        if self.p < rand(1).item():
            return img
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p}, transforms={self.transforms})"
