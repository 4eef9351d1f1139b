"""Pooling, resampling and local response normalisation layers: ``MaxPool1d/2d``, ``MaxUnpool2d``,
``AvgPool1d/2d``, ``AdaptiveAvgPool1d/2d``, ``AdaptiveMaxPool2d``, ``LocalResponseNorm``, ``Upsample``,
``UpsamplingNearest2d``, ``UpsamplingBilinear2d``, ``PixelShuffle``, ``PixelUnshuffle``.

None of them has parameters; each stores its options under PyTorch's attribute names (so ``repr`` matches
PyTorch's) and calls the function of the same name in ``nnzoo.ops`` (``pool``, ``interpolate``,
``local_response_norm``, ``pixel_shuffle``). ``LocalResponseNorm`` lives here rather than in norm.py because it
is an average pooling of squares along the channels.
"""
from __future__ import annotations

from .._args import ntuple
from ..ops.interpolate import interpolate
from ..ops.local_response_norm import local_response_norm
from ..ops.pixel_shuffle import pixel_shuffle, pixel_unshuffle
from ..ops.pool import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_max_pool2d,
    avg_pool1d,
    avg_pool2d,
    max_pool1d,
    max_pool2d,
    max_unpool2d,
)
from ..tensor import Tensor
from .module import Module

__all__ = ["MaxPool1d", "MaxPool2d", "MaxUnpool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d",
           "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "LocalResponseNorm", "Upsample", "UpsamplingNearest2d",
           "UpsamplingBilinear2d", "PixelShuffle", "PixelUnshuffle"]


# ---- max pooling ---------------------------------------------------------------------------------------
class _MaxPoolNd(Module):
    def __init__(self, kernel_size: int | tuple[int, ...], stride: int | tuple[int, ...] | None = None,
                 padding: int | tuple[int, ...] = 0, dilation: int | tuple[int, ...] = 1, return_indices: bool = False,
                 ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """out[n, c, l] = max_{j < k} input[n, c, l * stride - padding + j * dilation] (see ``F.max_pool1d``).

    Shape: input (N, C, L) or (C, L); output (N, C, L_out) with
    L_out = floor((L + 2 padding - dilation (kernel_size - 1) - 1) / stride) + 1 (ceil in ceil_mode).

    Example::

        >>> from nnzoo import nn
        >>> nn.MaxPool1d(3, stride=2)(nnzoo.randn(20, 16, 50)).shape
        nnzoo.Size([20, 16, 24])
    """

    def forward(self, input: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        return max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                             ceil_mode=self.ceil_mode, return_indices=self.return_indices)


class MaxPool2d(_MaxPoolNd):
    """The maximum of each kernel_size window, moved by stride (see ``F.max_pool2d``).

    Args:
        kernel_size, stride (default: kernel_size), padding (-inf, at most half the kernel), dilation:
            int or (h, w). return_indices: also return the argmax indices (for ``MaxUnpool2d``).
            ceil_mode: round the output size up.

    Shape: input (N, C, H, W) or (C, H, W); output (N, C, H_out, W_out) with
    H_out = floor((H + 2 padding - dilation (kernel - 1) - 1) / stride) + 1 (ceil in ceil_mode).

    Example::

        >>> from nnzoo import nn
        >>> nn.MaxPool2d(2, 2)(nnzoo.randn(4, 6, 28, 28)).shape
        nnzoo.Size([4, 6, 14, 14])
    """

    def forward(self, input: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        return max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                             ceil_mode=self.ceil_mode, return_indices=self.return_indices)


class MaxUnpool2d(Module):
    """The partial inverse of ``MaxPool2d``: each value put back at its argmax, zeros elsewhere.

    Shape: input and indices (N, C, H, W); output (N, C, H_out, W_out) with
    H_out = (H - 1) stride - 2 padding + kernel_size, or ``output_size`` given to ``forward``.

    Example::

        >>> from nnzoo import nn
        >>> pool, unpool = nn.MaxPool2d(2, return_indices=True), nn.MaxUnpool2d(2)
        >>> unpool(*pool(nnzoo.randn(1, 1, 4, 4))).shape
        nnzoo.Size([1, 1, 4, 4])
    """

    def __init__(self, kernel_size: int | tuple[int, int], stride: int | tuple[int, int] | None = None,
                 padding: int | tuple[int, int] = 0) -> None:
        super().__init__()
        name = type(self).__name__
        self.kernel_size = ntuple(kernel_size, 2, name, "kernel_size")
        self.stride = ntuple(stride if stride is not None else kernel_size, 2, name, "stride")
        self.padding = ntuple(padding, 2, name, "padding")

    def forward(self, input: Tensor, indices: Tensor, output_size: tuple[int, ...] | None = None) -> Tensor:
        return max_unpool2d(input, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


# ---- average pooling -----------------------------------------------------------------------------------
class AvgPool1d(Module):
    """The mean of each kernel_size window along L (see ``F.avg_pool1d``).

    Shape: input (N, C, L) or (C, L); output (N, C, L_out), L_out = floor((L + 2 padding - kernel_size) /
    stride) + 1 (ceil in ceil_mode).

    Example::

        >>> from nnzoo import nn
        >>> nn.AvgPool1d(3, stride=2)(nnzoo.tensor([[[1., 2, 3, 4, 5, 6, 7]]]))
        tensor([[[2., 4., 6.]]])
    """

    def __init__(self, kernel_size: int | tuple[int], stride: int | tuple[int] | None = None,
                 padding: int | tuple[int] = 0, ceil_mode: bool = False, count_include_pad: bool = True) -> None:
        super().__init__()
        name = type(self).__name__
        self.kernel_size = ntuple(kernel_size, 1, name, "kernel_size")
        self.stride = ntuple(stride if stride is not None else kernel_size, 1, name, "stride")
        self.padding = ntuple(padding, 1, name, "padding")
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, input: Tensor) -> Tensor:
        return avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                             self.count_include_pad)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(Module):
    """The mean of each kernel_size window (see ``F.avg_pool2d``).

    Args:
        kernel_size, stride (default: kernel_size), padding (zeros): int or (h, w). ceil_mode: round the
        output size up. count_include_pad: count the padding in the divisor. divisor_override: divide by
        this instead.

    Shape: input (N, C, H, W) or (C, H, W); output (N, C, H_out, W_out),
    H_out = floor((H + 2 padding - kernel) / stride) + 1 (ceil in ceil_mode).

    Example::

        >>> from nnzoo import nn
        >>> nn.AvgPool2d(2)(nnzoo.ones(1, 1, 4, 4))
        tensor([[[[1., 1.],
                  [1., 1.]]]])
    """

    def __init__(self, kernel_size: int | tuple[int, int], stride: int | tuple[int, int] | None = None,
                 padding: int | tuple[int, int] = 0, ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: int | None = None) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                             self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


# ---- adaptive pooling ----------------------------------------------------------------------------------
class AdaptiveAvgPool1d(Module):
    """Average over output_size windows that cover the input whatever its length (see
    ``F.adaptive_avg_pool1d``).

    Example::

        >>> from nnzoo import nn
        >>> nn.AdaptiveAvgPool1d(5)(nnzoo.randn(1, 64, 8)).shape
        nnzoo.Size([1, 64, 5])
    """

    def __init__(self, output_size: int | tuple[int | None, ...]) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return adaptive_avg_pool1d(input, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveAvgPool2d(Module):
    """Average over an output_size grid of windows that cover the input whatever its size (None in
    output_size keeps that dim): ``AdaptiveAvgPool2d((1, 1))`` is global average pooling.

    Example::

        >>> from nnzoo import nn
        >>> nn.AdaptiveAvgPool2d((5, 7))(nnzoo.randn(1, 64, 8, 9)).shape
        nnzoo.Size([1, 64, 5, 7])
    """

    def __init__(self, output_size: int | tuple[int | None, ...]) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveMaxPool2d(Module):
    """Maximum over an output_size grid of windows that cover the input (see ``F.adaptive_max_pool2d``).

    Example::

        >>> from nnzoo import nn
        >>> nn.AdaptiveMaxPool2d((None, 7))(nnzoo.randn(1, 64, 10, 9)).shape
        nnzoo.Size([1, 64, 10, 7])
    """

    def __init__(self, output_size: int | tuple[int | None, int | None], return_indices: bool = False) -> None:
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices

    def forward(self, input: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        return adaptive_max_pool2d(input, self.output_size, self.return_indices)

    def extra_repr(self):
        return f"output_size={self.output_size}"


# ---- local response normalisation ------------------------------------------------------------------------
class LocalResponseNorm(Module):
    """b_c = a_c / (k + alpha / size * sum of a_{c'}^2 over the size channels around c)^beta: AlexNet's
    LRN (the paper uses size=5, alpha=1e-4, beta=0.75, k=2). See ``F.local_response_norm``.

    Shape: input (N, C, *); output the same.

    Example::

        >>> from nnzoo import nn
        >>> nn.LocalResponseNorm(2)(nnzoo.randn(32, 5, 24, 24)).shape
        nnzoo.Size([32, 5, 24, 24])
    """

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k

    def forward(self, input: Tensor) -> Tensor:
        return local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


# ---- upsampling -------------------------------------------------------------------------------------------
class Upsample(Module):
    """Resample (N, C, L) or (N, C, H, W) inputs to ``size`` or by ``scale_factor`` (see ``F.interpolate``).

    Args:
        size, scale_factor: one of them. mode: 'nearest' (default), 'nearest-exact', 'linear', 'bilinear',
        'area'. align_corners: linear modes only. recompute_scale_factor: use in / out instead of the
        given scale to map positions.

    Example::

        >>> from nnzoo import nn
        >>> nn.Upsample(scale_factor=2, mode="nearest")(nnzoo.tensor([[[[1., 2.]]]]))
        tensor([[[[1., 1., 2., 2.],
                  [1., 1., 2., 2.]]]])
    """

    def __init__(self, size: int | tuple[int, ...] | None = None, scale_factor: float | tuple[float, ...] | None = None,
                 mode: str = "nearest", align_corners: bool | None = None,
                 recompute_scale_factor: bool | None = None) -> None:
        super().__init__()
        self.name = type(self).__name__
        self.size = size
        if isinstance(scale_factor, tuple):
            self.scale_factor = tuple(float(f) for f in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input: Tensor) -> Tensor:
        return interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                              recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self):
        info = f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None else f"size={self.size!r}"
        return info + f", mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """``Upsample(size, scale_factor, mode='nearest')`` for 4-D inputs.

    Example::

        >>> from nnzoo import nn
        >>> nn.UpsamplingNearest2d(scale_factor=2)(nnzoo.ones(1, 1, 2, 2)).shape
        nnzoo.Size([1, 1, 4, 4])
    """

    def __init__(self, size: int | tuple[int, int] | None = None,
                 scale_factor: float | tuple[float, float] | None = None) -> None:
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """``Upsample(size, scale_factor, mode='bilinear', align_corners=True)`` for 4-D inputs.

    Example::

        >>> from nnzoo import nn
        >>> nn.UpsamplingBilinear2d(size=3)(nnzoo.tensor([[[[0., 2.], [4., 6.]]]]))
        tensor([[[[0., 1., 2.],
                  [2., 3., 4.],
                  [4., 5., 6.]]]])
    """

    def __init__(self, size: int | tuple[int, int] | None = None,
                 scale_factor: float | tuple[float, float] | None = None) -> None:
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


# ---- pixel shuffle ----------------------------------------------------------------------------------------
class PixelShuffle(Module):
    """(*, C r^2, H, W) -> (*, C, H r, W r) (see ``F.pixel_shuffle``).

    Example::

        >>> from nnzoo import nn
        >>> nn.PixelShuffle(3)(nnzoo.randn(1, 9, 4, 4)).shape
        nnzoo.Size([1, 1, 12, 12])
    """

    def __init__(self, upscale_factor: int) -> None:
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self):
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """(*, C, H r, W r) -> (*, C r^2, H, W), the inverse of ``PixelShuffle``.

    Example::

        >>> from nnzoo import nn
        >>> nn.PixelUnshuffle(3)(nnzoo.randn(1, 1, 12, 12)).shape
        nnzoo.Size([1, 9, 4, 4])
    """

    def __init__(self, downscale_factor: int) -> None:
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self):
        return f"downscale_factor={self.downscale_factor}"
