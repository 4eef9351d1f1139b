"""Dropout layers: active in training mode, the identity in eval mode."""
from __future__ import annotations

from ..ops import nn as _F
from ..tensor import Tensor
from .module import Module

__all__ = ["Dropout", "Dropout1d", "Dropout2d", "AlphaDropout"]


class _DropoutNd(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zero each element with probability p during training, scaling the rest by 1 / (1 - p).

    Example::

        >>> from nnzoo import nn
        >>> nn.Dropout(0.5).eval()(nnzoo.ones(3))
        tensor([1., 1., 1.])
    """

    def forward(self, input: Tensor) -> Tensor:
        return _F.dropout(input, self.p, self.training, self.inplace)


class Dropout1d(_DropoutNd):
    """Zero whole channels of (N, C, L) / (C, L) inputs with probability p during training."""

    def forward(self, input: Tensor) -> Tensor:
        return _F.dropout1d(input, self.p, self.training, self.inplace)


class Dropout2d(_DropoutNd):
    """Zero whole channels of (N, C, H, W) / (C, H, W) inputs with probability p during training."""

    def forward(self, input: Tensor) -> Tensor:
        return _F.dropout2d(input, self.p, self.training, self.inplace)


class AlphaDropout(_DropoutNd):
    """Dropout that keeps SELU's zero mean and unit variance (see ``alpha_dropout``)."""

    def forward(self, input: Tensor) -> Tensor:
        return _F.alpha_dropout(input, self.p, self.training)
