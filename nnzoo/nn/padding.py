"""Padding layers over ``F.pad``: ``ZeroPad1d/2d/3d``, ``ConstantPad1d/2d/3d``, ``ReflectionPad1d/2d/3d``,
``ReplicationPad1d/2d/3d``, ``CircularPad1d/2d/3d``, with PyTorch's arguments and reprs.

``padding`` is an int (the same on every side) or a tuple (left, right[, top, bottom[, front, back]]), kept as
PyTorch keeps it; negative sizes crop in the constant modes.
"""
from __future__ import annotations

from collections.abc import Sequence

from ..ops.shape import pad
from ..tensor import Tensor
from .module import Module

__all__ = ["ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d", "ConstantPad3d",
           "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d", "ReplicationPad2d",
           "ReplicationPad3d", "CircularPad1d", "CircularPad2d", "CircularPad3d"]


def _sizes(padding, n):
    """PyTorch's _pair / _quadruple / _ntuple(6): an int repeated n times, a sequence kept as a tuple."""
    if isinstance(padding, Sequence):
        return tuple(padding)
    return (padding,) * n


class _PadNd(Module):
    """F.pad(input, padding, mode) with the padding of a d-dimensional layer (2 d numbers)."""

    _mode = "constant"
    _dims = 1

    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__()
        self.padding = _sizes(padding, 2 * self._dims)

    def forward(self, input: Tensor) -> Tensor:
        return pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding: int | Sequence[int], value: float) -> None:
        super().__init__(padding)
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        return pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pad the last dim with ``value``: padding (left, right) or an int.

    Example::

        >>> from nnzoo import nn
        >>> nn.ConstantPad1d(1, 3.5)(nnzoo.zeros(1, 2))
        tensor([[3.5000, 0.0000, 0.0000, 3.5000]])
    """


class ConstantPad2d(_ConstantPadNd):
    """Pad the last 2 dims with ``value``: padding (left, right, top, bottom) or an int.

    Example::

        >>> from nnzoo import nn
        >>> nn.ConstantPad2d((1, 0, 2, 0), 1.0)(nnzoo.zeros(1, 2, 2)).shape
        nnzoo.Size([1, 4, 3])
    """

    _dims = 2


class ConstantPad3d(_ConstantPadNd):
    """Pad the last 3 dims with ``value``: padding (left, right, top, bottom, front, back) or an int.

    Example::

        >>> from nnzoo import nn
        >>> nn.ConstantPad3d(1, 0.0)(nnzoo.zeros(1, 2, 2, 2)).shape
        nnzoo.Size([1, 4, 4, 4])
    """

    _dims = 3


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad1d(_ZeroPadNd):
    """Pad the last dim with zeros: padding (left, right) or an int.

    Example::

        >>> from nnzoo import nn
        >>> nn.ZeroPad1d((1, 2))(nnzoo.ones(1, 2))
        tensor([[0., 1., 1., 0., 0.]])
    """


class ZeroPad2d(_ZeroPadNd):
    """Pad the last 2 dims with zeros: padding (left, right, top, bottom) or an int.

    Example::

        >>> from nnzoo import nn
        >>> nn.ZeroPad2d(2)(nnzoo.ones(1, 3, 3)).shape
        nnzoo.Size([1, 7, 7])
    """

    _dims = 2


class ZeroPad3d(_ZeroPadNd):
    """Pad the last 3 dims with zeros: padding (left, right, top, bottom, front, back) or an int.

    Example::

        >>> from nnzoo import nn
        >>> nn.ZeroPad3d(1)(nnzoo.ones(1, 1, 1, 1)).shape
        nnzoo.Size([1, 3, 3, 3])
    """

    _dims = 3


class ReflectionPad1d(_PadNd):
    """Pad the last dim with its mirror image (the edge not repeated): padding (left, right) or an int.

    Shape: (C, W) or (N, C, W).

    Example::

        >>> from nnzoo import nn
        >>> nn.ReflectionPad1d(2)(nnzoo.tensor([[1., 2., 3.]]))
        tensor([[3., 2., 1., 2., 3., 2., 1.]])
    """

    _mode = "reflect"


class ReflectionPad2d(ReflectionPad1d):
    """Pad the last 2 dims by reflection: padding (left, right, top, bottom) or an int.

    Shape: (C, H, W) or (N, C, H, W).

    Example::

        >>> from nnzoo import nn
        >>> nn.ReflectionPad2d(1)(nnzoo.ones(1, 3, 3)).shape
        nnzoo.Size([1, 5, 5])
    """

    _dims = 2


class ReflectionPad3d(ReflectionPad1d):
    """Pad the last 3 dims by reflection: padding (left, right, top, bottom, front, back) or an int.

    Shape: (C, D, H, W) or (N, C, D, H, W).

    Example::

        >>> from nnzoo import nn
        >>> nn.ReflectionPad3d(1)(nnzoo.ones(1, 2, 2, 2)).shape
        nnzoo.Size([1, 4, 4, 4])
    """

    _dims = 3


class ReplicationPad1d(_PadNd):
    """Pad the last dim by repeating its edge values: padding (left, right) or an int.

    Shape: (C, W) or (N, C, W).

    Example::

        >>> from nnzoo import nn
        >>> nn.ReplicationPad1d(2)(nnzoo.tensor([[1., 2.]]))
        tensor([[1., 1., 1., 2., 2., 2.]])
    """

    _mode = "replicate"


class ReplicationPad2d(ReplicationPad1d):
    """Pad the last 2 dims by repeating the edges: padding (left, right, top, bottom) or an int.

    Shape: (C, H, W) or (N, C, H, W).

    Example::

        >>> from nnzoo import nn
        >>> nn.ReplicationPad2d(1)(nnzoo.ones(1, 2, 2)).shape
        nnzoo.Size([1, 4, 4])
    """

    _dims = 2


class ReplicationPad3d(ReplicationPad1d):
    """Pad the last 3 dims by repeating the edges: padding (left, right, top, bottom, front, back) or an int.

    Shape: (C, D, H, W) or (N, C, D, H, W).

    Example::

        >>> from nnzoo import nn
        >>> nn.ReplicationPad3d(1)(nnzoo.ones(1, 1, 1, 1)).shape
        nnzoo.Size([1, 3, 3, 3])
    """

    _dims = 3


class _CircularPadNd(_PadNd):
    _mode = "circular"

    def forward(self, input: Tensor) -> Tensor:
        if input.dim() not in (self._dims + 1, self._dims + 2):
            raise ValueError(f"expected {self._dims + 1}D or {self._dims + 2}D input (got {input.dim()}D input)")
        return super().forward(input)


class CircularPad1d(_CircularPadNd):
    """Pad the last dim by wrapping around: padding (left, right) or an int.

    Shape: (C, W) or (N, C, W).

    Example::

        >>> from nnzoo import nn
        >>> nn.CircularPad1d(1)(nnzoo.tensor([[1., 2., 3.]]))
        tensor([[3., 1., 2., 3., 1.]])
    """


class CircularPad2d(_CircularPadNd):
    """Pad the last 2 dims by wrapping around: padding (left, right, top, bottom) or an int.

    Shape: (C, H, W) or (N, C, H, W).

    Example::

        >>> from nnzoo import nn
        >>> nn.CircularPad2d(1)(nnzoo.ones(1, 2, 2)).shape
        nnzoo.Size([1, 4, 4])
    """

    _dims = 2


class CircularPad3d(_CircularPadNd):
    """Pad the last 3 dims by wrapping around: padding (left, right, top, bottom, front, back) or an int.

    Shape: (C, D, H, W) or (N, C, D, H, W).

    Example::

        >>> from nnzoo import nn
        >>> nn.CircularPad3d(1)(nnzoo.ones(1, 2, 2, 2)).shape
        nnzoo.Size([1, 4, 4, 4])
    """

    _dims = 3
