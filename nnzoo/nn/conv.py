"""Convolution layers: ``Conv1d``, ``Conv2d``, ``ConvTranspose1d``, ``ConvTranspose2d``, ``Unfold``, ``Fold``.

The layers own the parameters (PyTorch's names, shapes and initialisation) and call ``nnzoo.ops.conv``."""
from __future__ import annotations

import math

from .. import creation
from .._args import ntuple
from ..ops.conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d, fold, unfold
from ..ops.shape import pad
from ..tensor import Tensor
from . import init
from .module import Module
from .parameter import Parameter

__all__ = ["Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d", "Unfold", "Fold"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """What every convolution layer shares: arguments, parameters, initialisation and repr."""

    _n = 2  # spatial dims

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, transposed,
                 output_padding, groups, bias, padding_mode, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        n = self._n
        if not isinstance(groups, int) or groups <= 0:
            raise ValueError(f"{name}: groups must be a positive integer, got {groups!r}")
        if in_channels % groups != 0:
            raise ValueError(f"{name}: in_channels must be divisible by groups (in_channels={in_channels}, "
                             f"groups={groups})")
        if out_channels % groups != 0:
            raise ValueError(f"{name}: out_channels must be divisible by groups (out_channels={out_channels}, "
                             f"groups={groups})")
        # NOTE: PyTorch's layers keep a sequence as given (Conv2d(3, 4, [3]) has kernel_size (3,)) and leave the
        # checks to the forward; ntuple expands a 1-element sequence and raises at once, with the forward's errors
        # (TypeError for a non-int, RuntimeError for a wrong length)
        kernel_size = ntuple(kernel_size, n, name, "kernel_size")
        stride = ntuple(stride, n, name, "stride")
        dilation = ntuple(dilation, n, name, "dilation")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: invalid padding string {padding!r}, should be one of "
                                 "{'same', 'valid'}")
            if padding == "same" and any(s != 1 for s in stride):
                raise ValueError(f"{name}: padding='same' is not supported for strided convolutions "
                                 f"(stride={stride})")
        else:
            padding = ntuple(padding, n, name, "padding")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {_PADDING_MODES}, but got "
                             f"padding_mode={padding_mode!r}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.transposed = transposed
        self.output_padding = ntuple(output_padding, n, name, "output_padding")
        self.groups = groups
        self.padding_mode = padding_mode
        # F.pad's argument for the non-zero padding modes: last dim first, (before, after) per dim
        if isinstance(padding, str):
            rev = [0, 0] * n
            if padding == "same":
                for d, k, i in zip(dilation, kernel_size, range(n - 1, -1, -1)):
                    total = d * (k - 1)
                    rev[2 * i], rev[2 * i + 1] = total // 2, total - total // 2
        else:
            rev = tuple(p for p in reversed(padding) for _ in range(2))
        self._reversed_padding_repeated_twice = rev
        if transposed:
            shape = (in_channels, out_channels // groups) + kernel_size
        else:
            shape = (out_channels, in_channels // groups) + kernel_size
        self.weight = Parameter(creation.empty(*shape, dtype=dtype, device=device))
        if bias:
            self.bias = Parameter(creation.empty(out_channels, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """PyTorch's default: weight ~ kaiming_uniform_(a=sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
        bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = weight.size(1) * prod(kernel_size)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * len(self.padding):
            s += f", padding={self.padding}"
        if self.dilation != (1,) * len(self.dilation):
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * len(self.output_padding):
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class _Conv(_ConvNd):
    _fn = None

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, ...],
                 stride: int | tuple[int, ...] = 1, padding: int | tuple[int, ...] | str = 0,
                 dilation: int | tuple[int, ...] = 1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device=None, dtype=None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, False, 0, groups,
                         bias, padding_mode, device, dtype)

    def _conv_forward(self, input, weight, bias):
        fn = type(self)._fn
        if self.padding_mode != "zeros":
            x = pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return fn(x, weight, bias, self.stride, 0, self.dilation, self.groups)
        return fn(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def forward(self, input: Tensor) -> Tensor:
        return self._conv_forward(input, self.weight, self.bias)


class Conv1d(_Conv):
    """out[n, o, l] = bias[o] + sum_{c, k} weight[o, c, k] input[n, c, l*stride + k*dilation - padding].

    Args:
        in_channels, out_channels: channels of input and output. kernel_size, stride, dilation: int or (int,).
        padding: int, (int,), 'valid' or 'same' (output length = input length; stride 1 only).
        groups: in_channels and out_channels split into this many independent convolutions.
        bias: learn an additive bias (default True).
        padding_mode: 'zeros' (default), 'reflect', 'replicate' or 'circular'.

    Shape: input (N, C_in, L) or (C_in, L); output (N, C_out, L_out),
    L_out = (L + 2*padding - dilation*(kernel_size-1) - 1) // stride + 1. ``weight`` is
    (C_out, C_in/groups, kernel_size), ``bias`` (C_out,).

    Initialisation (PyTorch's): weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
    fan_in = C_in/groups * kernel_size.

    Example::

        >>> from nnzoo import nn
        >>> nn.Conv1d(16, 33, 3, stride=2)(nnzoo.randn(20, 16, 50)).shape
        nnzoo.Size([20, 33, 24])
    """

    _n = 1
    _fn = staticmethod(conv1d)


class Conv2d(_Conv):
    """out[n, o, p, q] = bias[o] + sum_{c, i, j} weight[o, c, i, j] input[n, c, p*sH + i*dH - pH, q*sW + j*dW - pW].

    Args:
        in_channels, out_channels: channels of input and output. kernel_size, stride, dilation: int or pair.
        padding: int, pair, 'valid' or 'same' (output size = input size; stride 1 only).
        groups: in_channels and out_channels split into this many independent convolutions
            (groups = in_channels: depthwise).
        bias: learn an additive bias (default True).
        padding_mode: 'zeros' (default), 'reflect', 'replicate' or 'circular'.

    Shape: input (N, C_in, H, W) or (C_in, H, W); output (N, C_out, H_out, W_out),
    H_out = (H + 2*pH - dH*(kH-1) - 1) // sH + 1. ``weight`` is (C_out, C_in/groups, kH, kW), ``bias`` (C_out,).

    Initialisation (PyTorch's): weight ~ kaiming_uniform_(a=sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
    bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = C_in/groups * kH * kW.

    Example::

        >>> from nnzoo import nn
        >>> conv = nn.Conv2d(3, 6, 5)  # the notes' CIFAR Net: 32x32 -> 28x28
        >>> conv(nnzoo.randn(4, 3, 32, 32)).shape
        nnzoo.Size([4, 6, 28, 28])
    """

    _n = 2
    _fn = staticmethod(conv2d)


class _ConvTransposeNd(_ConvNd):
    _fn = None

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, ...],
                 stride: int | tuple[int, ...] = 1, padding: int | tuple[int, ...] = 0,
                 output_padding: int | tuple[int, ...] = 0, groups: int = 1, bias: bool = True,
                 dilation: int | tuple[int, ...] = 1, padding_mode: str = "zeros", device=None, dtype=None) -> None:
        name = type(self).__name__
        if padding_mode != "zeros":
            raise ValueError(f'{name}: only "zeros" padding mode is supported, got padding_mode={padding_mode!r}')
        if isinstance(padding, str):
            raise ValueError(f"{name}: padding must be an int or a tuple of ints, got {padding!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, True, output_padding,
                         groups, bias, padding_mode, device, dtype)

    def _output_padding(self, input, output_size):
        """output_padding from a requested output size (PyTorch's rule): the size must lie in
        [min, min + stride - 1], min = (L_in - 1)*stride - 2*padding + dilation*(k - 1) + 1."""
        if output_size is None:
            return self.output_padding
        n = self._n
        lead = 2 if input.dim() == n + 2 else 1
        output_size = tuple(output_size)
        if len(output_size) == lead + n:
            output_size = output_size[lead:]
        if len(output_size) != n:
            raise ValueError(f"{type(self).__name__}: for {input.dim()}-D input, output_size must have {n} or "
                             f"{lead + n} elements (got {len(output_size)})")
        mins = [(input.shape[lead + d] - 1) * self.stride[d] - 2 * self.padding[d]
                + self.dilation[d] * (self.kernel_size[d] - 1) + 1 for d in range(n)]
        maxs = [lo + self.stride[d] - 1 for d, lo in enumerate(mins)]
        for size, lo, hi in zip(output_size, mins, maxs):
            if size < lo or size > hi:
                raise ValueError(f"{type(self).__name__}: requested an output size of {list(output_size)}, but "
                                 f"valid sizes range from {mins} to {maxs} (for an input of "
                                 f"{list(input.shape[lead:])})")
        return tuple(int(size) - lo for size, lo in zip(output_size, mins))

    def forward(self, input: Tensor, output_size: list[int] | tuple[int, ...] | None = None) -> Tensor:
        output_padding = self._output_padding(input, output_size)
        return type(self)._fn(input, self.weight, self.bias, self.stride, self.padding, output_padding,
                              self.groups, self.dilation)


class ConvTranspose1d(_ConvTransposeNd):
    """The transpose of Conv1d ("deconvolution"): each input element scatters weight[c, o, :] times itself
    into the output at l*stride + k*dilation - padding.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias: as Conv1d (only
            padding_mode='zeros'). output_padding: extra length at the end of the output (< stride or
            dilation). ``forward(input, output_size=None)``: output_size picks output_padding instead.

    Shape: input (N, C_in, L) or (C_in, L); output (N, C_out, L_out),
    L_out = (L-1)*stride - 2*padding + dilation*(kernel_size-1) + output_padding + 1. ``weight`` is
    (C_in, C_out/groups, kernel_size), ``bias`` (C_out,).

    Initialisation (PyTorch's): U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = weight.size(1) * kernel_size
    = C_out/groups * kernel_size.

    Example::

        >>> from nnzoo import nn
        >>> nn.ConvTranspose1d(16, 8, 3, stride=2)(nnzoo.randn(2, 16, 10)).shape
        nnzoo.Size([2, 8, 21])
    """

    _n = 1
    _fn = staticmethod(conv_transpose1d)


class ConvTranspose2d(_ConvTransposeNd):
    """The transpose of Conv2d ("deconvolution"): the input gradient of a Conv2d used as a layer, e.g. to
    upsample in decoders and GAN generators.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias: as Conv2d (only
            padding_mode='zeros'). output_padding: extra rows/cols at the bottom/right (< stride or
            dilation). ``forward(input, output_size=None)``: output_size picks output_padding instead.

    Shape: input (N, C_in, H, W) or (C_in, H, W); output (N, C_out, H_out, W_out),
    H_out = (H-1)*sH - 2*pH + dH*(kH-1) + output_padding + 1. ``weight`` is (C_in, C_out/groups, kH, kW).

    Initialisation (PyTorch's): U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = C_out/groups * kH * kW.

    Example::

        >>> from nnzoo import nn
        >>> up = nn.ConvTranspose2d(16, 8, 3, stride=2, padding=1)
        >>> x = nnzoo.randn(1, 16, 12, 12)
        >>> up(x, output_size=[1, 8, 24, 24]).shape
        nnzoo.Size([1, 8, 24, 24])
    """

    _n = 2
    _fn = staticmethod(conv_transpose2d)


class Unfold(Module):
    """im2col: extracts sliding blocks, ``F.unfold(input, kernel_size, dilation, padding, stride)``.

    Shape: input (N, C, H, W) or (C, H, W); output (N, C*kH*kW, L), L the number of blocks.

    Example::

        >>> from nnzoo import nn
        >>> nn.Unfold(kernel_size=(2, 3))(nnzoo.randn(2, 5, 3, 4)).shape
        nnzoo.Size([2, 30, 4])
    """

    def __init__(self, kernel_size: int | tuple[int, int], dilation: int | tuple[int, int] = 1,
                 padding: int | tuple[int, int] = 0, stride: int | tuple[int, int] = 1) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input: Tensor) -> Tensor:
        return unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding}, "
                f"stride={self.stride}")


class Fold(Module):
    """col2im: sums sliding blocks back into an image, ``F.fold(input, output_size, kernel_size, ...)``.

    Shape: input (N, C*kH*kW, L) or (C*kH*kW, L); output (N, C, H, W) with (H, W) = output_size.

    Example::

        >>> from nnzoo import nn
        >>> nn.Fold(output_size=(4, 5), kernel_size=(2, 2))(nnzoo.randn(1, 3 * 2 * 2, 12)).shape
        nnzoo.Size([1, 3, 4, 5])
    """

    def __init__(self, output_size: int | tuple[int, int], kernel_size: int | tuple[int, int],
                 dilation: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
                 stride: int | tuple[int, int] = 1) -> None:
        super().__init__()
        self.output_size = output_size
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input: Tensor) -> Tensor:
        return fold(input, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self):
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")
