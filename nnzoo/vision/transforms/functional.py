"""torchvision's ``transforms.functional``: the image operations behind the transform classes.

Each takes a PIL image or a Tensor (..., C, H, W) (a uint8 or float image, any leading dims) and returns the
same kind, as torchvision does. PIL images go through Pillow; tensors through NumPy, except resizing and
rotation, which resample each channel as a float32 Pillow image (mode ``"F"``): that is the antialiased
resampling torchvision's ``antialias=True`` imitates, so a tensor and its PIL image resize alike.
"""
from __future__ import annotations

import numbers
from collections.abc import Sequence
from enum import Enum
from typing import Any

import numpy as np
from PIL import Image

from ...autograd.arrays import array, wrap
from ...data.transforms import Normalize
from ...dtypes import get_default_dtype
from ...tensor import Tensor

__all__ = ["InterpolationMode", "to_tensor", "pil_to_tensor", "to_pil_image", "normalize", "resize", "crop",
           "center_crop", "resized_crop", "pad", "hflip", "vflip", "rotate", "rgb_to_grayscale", "to_grayscale",
           "get_dimensions", "get_image_size", "get_image_num_channels"]


class InterpolationMode(Enum):
    """torchvision's interpolation names (``InterpolationMode.BILINEAR``)."""
    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


_PIL_FILTERS = {InterpolationMode.NEAREST: Image.Resampling.NEAREST,
                InterpolationMode.NEAREST_EXACT: Image.Resampling.NEAREST,
                InterpolationMode.BILINEAR: Image.Resampling.BILINEAR,
                InterpolationMode.BICUBIC: Image.Resampling.BICUBIC, InterpolationMode.BOX: Image.Resampling.BOX,
                InterpolationMode.HAMMING: Image.Resampling.HAMMING,
                InterpolationMode.LANCZOS: Image.Resampling.LANCZOS}


def _pil_filter(interpolation: InterpolationMode | int) -> int:
    if isinstance(interpolation, InterpolationMode):
        return _PIL_FILTERS[interpolation]
    return int(interpolation)   # a PIL constant, as older torchvision accepted


def _is_pil(img: Any) -> bool:
    return isinstance(img, Image.Image)


def _check_image(img: Any, op: str) -> None:
    if not (_is_pil(img) or isinstance(img, Tensor)):
        raise TypeError(f"{op}: img should be a PIL Image or a Tensor, got {type(img).__name__}")
    if isinstance(img, Tensor) and img.ndim < 2:
        raise ValueError(f"{op}: a tensor image has shape (..., H, W), got {tuple(img.shape)}")


def get_dimensions(img: Image.Image | Tensor) -> list[int]:
    """``[channels, height, width]`` of a PIL image or a tensor image.

    Example::

        >>> get_dimensions(Image.new("RGB", (5, 4))), get_dimensions(nnzoo.zeros(1, 4, 5))
        ([3, 4, 5], [1, 4, 5])
    """
    _check_image(img, "get_dimensions")
    if _is_pil(img):
        return [len(img.getbands()), img.height, img.width]
    channels = 1 if img.ndim == 2 else img.shape[-3]
    return [channels, img.shape[-2], img.shape[-1]]


def get_image_size(img: Image.Image | Tensor) -> list[int]:
    """``[width, height]`` (torchvision's order)."""
    _, h, w = get_dimensions(img)
    return [w, h]


def get_image_num_channels(img: Image.Image | Tensor) -> int:
    return get_dimensions(img)[0]


# ---- conversions ------------------------------------------------------------------------------------------

_PIL_DTYPES = {"I": np.int32, "I;16": np.int16, "I;16B": np.int16, "F": np.float32}


def pil_to_tensor(pic: Image.Image) -> Tensor:
    """A PIL image -> a Tensor (C, H, W) of its values, unscaled (uint8 for 8-bit modes).

    Example::

        >>> pil_to_tensor(Image.new("L", (3, 2), 7))
        tensor([[[7, 7, 7],
                 [7, 7, 7]]], dtype=nnzoo.uint8)
    """
    if not _is_pil(pic):
        raise TypeError(f"pil_to_tensor: pic should be a PIL Image, got {type(pic).__name__}")
    arr = np.array(pic, dtype=_PIL_DTYPES.get(pic.mode, np.uint8), copy=True)
    if pic.mode == "1":
        arr = arr * np.uint8(255)
    arr = arr.reshape(pic.height, pic.width, -1)
    return wrap(np.ascontiguousarray(arr.transpose(2, 0, 1)))


def to_tensor(pic: Image.Image | np.ndarray) -> Tensor:
    """A PIL image or a NumPy array (H, W[, C]) -> a Tensor (C, H, W); 8-bit values become floats in [0, 1].

    Math: ``out = pic / 255`` for uint8 (and 8-bit PIL modes); other dtypes keep their values.

    Example::

        >>> to_tensor(Image.new("L", (2, 1), 255))
        tensor([[[1., 1.]]])
    """
    if _is_pil(pic):
        out = array(pil_to_tensor(pic))
    elif isinstance(pic, np.ndarray):
        if pic.ndim not in (2, 3):
            raise ValueError(f"to_tensor: pic should be 2 or 3 dimensional (H, W[, C]), got shape {pic.shape}")
        hwc = pic[:, :, None] if pic.ndim == 2 else pic
        out = np.ascontiguousarray(hwc.transpose(2, 0, 1))
    else:
        raise TypeError(f"to_tensor: pic should be a PIL Image or an ndarray, got {type(pic).__name__}")
    if out.dtype == np.uint8:
        dtype = get_default_dtype().np
        return wrap(out.astype(dtype) / dtype.type(255))
    return wrap(out)


_MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}


def to_pil_image(pic: Tensor | np.ndarray, mode: str | None = None) -> Image.Image:
    """A Tensor (C, H, W) or an array (H, W, C) -> a PIL image; floats are scaled by 255 (``mul(255).byte()``).

    Example::

        >>> img = to_pil_image(nnzoo.ones(3, 2, 4))
        >>> img.mode, img.size, img.getpixel((0, 0))
        ('RGB', (4, 2), (255, 255, 255))
    """
    if isinstance(pic, Tensor):
        if pic.ndim not in (2, 3):
            raise ValueError(f"to_pil_image: pic should be 2 or 3 dimensional (C, H, W), got {tuple(pic.shape)}")
        arr = array(pic)
        arr = arr[None] if arr.ndim == 2 else arr
        arr = arr.transpose(1, 2, 0)
    elif isinstance(pic, np.ndarray):
        if pic.ndim not in (2, 3):
            raise ValueError(f"to_pil_image: pic should be 2 or 3 dimensional (H, W, C), got {pic.shape}")
        arr = pic[:, :, None] if pic.ndim == 2 else pic
    else:
        raise TypeError(f"to_pil_image: pic should be a Tensor or an ndarray, got {type(pic).__name__}")
    if np.issubdtype(arr.dtype, np.floating) and mode != "F":
        arr = (arr * 255).astype(np.uint8)   # NOTE: truncation, as torchvision's mul(255).byte()
    channels = arr.shape[2]
    if channels == 1:
        arr = arr[:, :, 0]
        default = {np.dtype(np.uint8): "L", np.dtype(np.int16): "I;16", np.dtype(np.int32): "I",
                   np.dtype(np.float32): "F"}.get(arr.dtype)
    else:
        default = _MODES.get(channels) if arr.dtype == np.uint8 else None
    mode = mode or default
    if mode is None:
        raise TypeError(f"to_pil_image: input type {arr.dtype} with {channels} channels is not supported")
    return Image.fromarray(np.ascontiguousarray(arr), mode=mode)


def normalize(tensor: Tensor, mean: Sequence[float], std: Sequence[float], inplace: bool = False) -> Tensor:
    """Per channel ``out[c] = (tensor[c] - mean[c]) / std[c]`` (a float tensor (..., C, H, W))."""
    return Normalize(mean, std, inplace)(tensor)


# ---- geometry ---------------------------------------------------------------------------------------------

def _resample_channels(img: Tensor, size: tuple[int, int], apply) -> Tensor:
    """Apply ``apply(pil_image) -> pil_image`` to every (H, W) plane of a tensor image as a float32 image."""
    arr = array(img)
    planes = arr.reshape(-1, *arr.shape[-2:]).astype(np.float32)
    out = np.stack([np.asarray(apply(Image.fromarray(p, mode="F"))) for p in planes]) if len(planes) else \
        np.zeros((0, size[0], size[1]), np.float32)
    out = out.reshape(*arr.shape[:-2], *out.shape[-2:])
    if arr.dtype == np.uint8:
        return wrap(np.clip(np.round(out), 0, 255).astype(np.uint8))
    return wrap(out.astype(arr.dtype if np.issubdtype(arr.dtype, np.floating) else np.float32))


def _output_size(h: int, w: int, size: int | Sequence[int], max_size: int | None) -> tuple[int, int]:
    """torchvision's rule: an int (or a 1-sequence) is the smaller edge's length, the aspect ratio kept."""
    if isinstance(size, numbers.Integral) or len(size) == 1:
        requested = int(size if isinstance(size, numbers.Integral) else size[0])
        short, long = (w, h) if w <= h else (h, w)
        new_short, new_long = requested, int(requested * long / short)
        if max_size is not None:
            if max_size <= requested:
                raise ValueError(f"resize: max_size = {max_size} must be strictly greater than the requested size "
                                 f"for the smaller edge size = {size}")
            if new_long > max_size:
                new_short, new_long = int(max_size * new_short / new_long), max_size
        return (new_long, new_short) if w <= h else (new_short, new_long)
    if max_size is not None:
        raise ValueError("resize: max_size is only supported when size is an int (the smaller edge)")
    return int(size[0]), int(size[1])


def resize(img: Image.Image | Tensor, size: int | Sequence[int],
           interpolation: InterpolationMode | int = InterpolationMode.BILINEAR, max_size: int | None = None,
           antialias: bool | None = True) -> Image.Image | Tensor:
    """Resize to ``size`` = (h, w), or make the smaller edge ``size`` (an int) keeping the aspect ratio.

    Example::

        >>> resize(Image.new("L", (8, 4)), 2).size, resize(nnzoo.ones(3, 4, 8), [2, 3]).shape
        ((4, 2), nnzoo.Size([3, 2, 3]))
    """
    _check_image(img, "resize")
    _, h, w = get_dimensions(img)
    oh, ow = _output_size(h, w, size, max_size)
    if (oh, ow) == (h, w):
        return img
    resample = _pil_filter(interpolation)
    if _is_pil(img):
        return img.resize((ow, oh), resample)
    return _resample_channels(img, (oh, ow), lambda p: p.resize((ow, oh), resample))


def pad(img: Image.Image | Tensor, padding: int | Sequence[int], fill: float | Sequence[float] = 0,
        padding_mode: str = "constant") -> Image.Image | Tensor:
    """Pad the borders: ``padding`` an int (all sides), (left/right, top/bottom) or (left, top, right, bottom).

    Modes as NumPy's: ``constant`` (with ``fill``), ``edge``, ``reflect``, ``symmetric``.

    Example::

        >>> pad(nnzoo.ones(1, 2, 2), [1, 0]).tolist()
        [[[0.0, 1.0, 1.0, 0.0], [0.0, 1.0, 1.0, 0.0]]]
    """
    _check_image(img, "pad")
    if isinstance(padding, numbers.Integral):
        left = top = right = bottom = int(padding)
    else:
        p = [int(v) for v in padding]
        if len(p) == 1:
            p = p * 4
        elif len(p) == 2:
            p = [p[0], p[1], p[0], p[1]]
        elif len(p) != 4:
            raise ValueError(f"pad: padding must be an int or a 1, 2 or 4 element sequence, got {len(p)} elements")
        left, top, right, bottom = p
    if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
        raise ValueError(f"pad: padding_mode should be 'constant', 'edge', 'reflect' or 'symmetric', "
                         f"got {padding_mode!r}")
    if _is_pil(img):
        arr = np.asarray(img)
        widths = [(top, bottom), (left, right)] + [(0, 0)] * (arr.ndim - 2)
        if padding_mode == "constant":
            out = _pad_constant(arr, widths, fill, channel_axis=2)
        else:
            out = np.pad(arr, widths, mode=padding_mode)
        return Image.fromarray(out, mode=img.mode)
    arr = array(img)
    widths = [(0, 0)] * (arr.ndim - 2) + [(top, bottom), (left, right)]
    if padding_mode == "constant":
        return wrap(_pad_constant(arr, widths, fill, channel_axis=arr.ndim - 3 if arr.ndim >= 3 else None))
    return wrap(np.pad(arr, widths, mode=padding_mode))


def _pad_constant(arr: np.ndarray, widths: list[tuple[int, int]], fill: Any, channel_axis: int | None) -> np.ndarray:
    if isinstance(fill, numbers.Number) or channel_axis is None or channel_axis >= arr.ndim:
        value = fill if isinstance(fill, numbers.Number) else fill[0]
        return np.pad(arr, widths, mode="constant", constant_values=value)
    fills = list(fill)   # one value per channel
    out = np.empty([n + a + b for n, (a, b) in zip(arr.shape, widths)], dtype=arr.dtype)
    shape = [1] * arr.ndim
    shape[channel_axis] = len(fills)
    out[...] = np.asarray(fills, dtype=arr.dtype).reshape(shape)
    out[tuple(slice(a, a + n) for n, (a, _) in zip(arr.shape, widths))] = arr
    return out


def crop(img: Image.Image | Tensor, top: int, left: int, height: int, width: int) -> Image.Image | Tensor:
    """The (height, width) window at (top, left); the parts outside the image are zeros, as torchvision.

    Example::

        >>> crop(nnzoo.arange(16).reshape(4, 4), 1, 1, 2, 2)
        tensor([[ 5,  6],
                [ 9, 10]])
    """
    _check_image(img, "crop")
    if _is_pil(img):
        return img.crop((left, top, left + width, top + height))
    _, h, w = get_dimensions(img)
    right, bottom = left + width, top + height
    if left < 0 or top < 0 or right > w or bottom > h:
        padding = [max(-left, 0), max(-top, 0), max(right - w, 0), max(bottom - h, 0)]
        img = pad(img, padding, 0)
        top, left = max(top, 0), max(left, 0)
    return img[..., top:top + height, left:left + width]


def _size_pair(size: int | Sequence[int], name: str) -> tuple[int, int]:
    if isinstance(size, numbers.Integral):
        return int(size), int(size)
    size = tuple(int(s) for s in size)
    if len(size) == 1:
        return size[0], size[0]
    if len(size) != 2:
        raise ValueError(f"{name}: size should be an int or a sequence of 1 or 2 ints, got {size}")
    return size


def center_crop(img: Image.Image | Tensor, output_size: int | Sequence[int]) -> Image.Image | Tensor:
    """The central ``output_size`` window (zero-padded first when the image is smaller).

    Example::

        >>> center_crop(nnzoo.arange(16).reshape(1, 4, 4), 2)
        tensor([[[ 5,  6],
                 [ 9, 10]]])
    """
    _check_image(img, "center_crop")
    ch, cw = _size_pair(output_size, "center_crop")
    _, h, w = get_dimensions(img)
    if cw > w or ch > h:
        padding = [(cw - w) // 2 if cw > w else 0, (ch - h) // 2 if ch > h else 0,
                   (cw - w + 1) // 2 if cw > w else 0, (ch - h + 1) // 2 if ch > h else 0]
        img = pad(img, padding, fill=0)
        _, h, w = get_dimensions(img)
        if (h, w) == (ch, cw):
            return img
    top = round((h - ch) / 2.0)
    left = round((w - cw) / 2.0)
    return crop(img, top, left, ch, cw)


def resized_crop(img: Image.Image | Tensor, top: int, left: int, height: int, width: int, size: int | Sequence[int],
                 interpolation: InterpolationMode | int = InterpolationMode.BILINEAR,
                 antialias: bool | None = True) -> Image.Image | Tensor:
    """``resize(crop(img, top, left, height, width), size)``."""
    return resize(crop(img, top, left, height, width), size, interpolation, antialias=antialias)


def hflip(img: Image.Image | Tensor) -> Image.Image | Tensor:
    """Mirror left-right (the last dim of a tensor)."""
    _check_image(img, "hflip")
    if _is_pil(img):
        return img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return img.flip(-1)


def vflip(img: Image.Image | Tensor) -> Image.Image | Tensor:
    """Mirror top-bottom (dim -2 of a tensor)."""
    _check_image(img, "vflip")
    if _is_pil(img):
        return img.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    return img.flip(-2)


def rotate(img: Image.Image | Tensor, angle: float, interpolation: InterpolationMode | int = InterpolationMode.NEAREST,
           expand: bool = False, center: Sequence[int] | None = None,
           fill: float | Sequence[float] | None = None) -> Image.Image | Tensor:
    """Rotate by ``angle`` degrees counter-clockwise about ``center`` (default: the image centre).

    Example::

        >>> rotate(nnzoo.tensor([[[1.0, 2.0], [3.0, 4.0]]]), 180).tolist()
        [[[4.0, 3.0], [2.0, 1.0]]]
    """
    _check_image(img, "rotate")
    resample = _pil_filter(interpolation)
    if _is_pil(img):
        fillcolor = tuple(int(v) for v in fill) if isinstance(fill, Sequence) else fill
        return img.rotate(angle, resample=resample, expand=expand, center=center, fillcolor=fillcolor)
    value = 0.0 if fill is None else float(fill if isinstance(fill, numbers.Number) else fill[0])
    probe = Image.new("F", (img.shape[-1], img.shape[-2])).rotate(angle, expand=expand, center=center)
    return _resample_channels(img, (probe.height, probe.width), lambda p: p.rotate(
        angle, resample=resample, expand=expand, center=center, fillcolor=value))


def rgb_to_grayscale(img: Image.Image | Tensor, num_output_channels: int = 1) -> Image.Image | Tensor:
    """ITU-R 601-2 luma: ``L = 0.2989 R + 0.587 G + 0.114 B``, repeated ``num_output_channels`` (1 or 3) times.

    Example::

        >>> rgb_to_grayscale(nnzoo.tensor([[[1.0]], [[0.0]], [[0.0]]])).item()
        0.2989000082015991
    """
    _check_image(img, "rgb_to_grayscale")
    if num_output_channels not in (1, 3):
        raise ValueError(f"rgb_to_grayscale: num_output_channels should be 1 or 3, got {num_output_channels}")
    if _is_pil(img):
        gray = img.convert("L")
        return gray if num_output_channels == 1 else Image.merge("RGB", [gray, gray, gray])
    arr = array(img)
    if arr.ndim < 3 or arr.shape[-3] not in (1, 3):
        raise TypeError(f"rgb_to_grayscale: expected a (..., 1 or 3, H, W) image, got shape {arr.shape}")
    if arr.shape[-3] == 1:
        gray = arr
    else:
        r, g, b = arr[..., 0, :, :], arr[..., 1, :, :], arr[..., 2, :, :]
        work = r.dtype if np.issubdtype(r.dtype, np.floating) else np.dtype(np.float32)
        gray = (work.type(0.2989) * r.astype(work) + work.type(0.587) * g.astype(work)
                + work.type(0.114) * b.astype(work))
        gray = gray.astype(arr.dtype)[..., None, :, :]   # NOTE: truncated for integer images, as torchvision
    if num_output_channels == 3:
        gray = np.repeat(gray, 3, axis=-3)
    return wrap(np.ascontiguousarray(gray))


def to_grayscale(img: Image.Image, num_output_channels: int = 1) -> Image.Image:
    """A PIL image in grey (``rgb_to_grayscale`` for PIL images)."""
    if not _is_pil(img):
        raise TypeError(f"to_grayscale: img should be a PIL Image, got {type(img).__name__}")
    return rgb_to_grayscale(img, num_output_channels)

