"""Dropout layers: active in training mode, the identity in eval mode."""
from __future__ import annotations

import warnings

from ..ops import nn as _F
from ..random import rand
from ..tensor import Tensor
from .module import Module

__all__ = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout"]


class _DropoutNd(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


def _feature_dropout(input: Tensor, p: float, training: bool, inplace: bool, batched: bool = True) -> Tensor:
    """PyTorch's ``feature_dropout``: dim 0 is the batch, dim 1 the channels (``batched=False``: dim 0 the
    channels), the rest is one channel's feature map; whole channels are zeroed with probability p, the rest
    scaled by 1 / (1 - p)."""
    if not training or p == 0.0:
        return input
    if input.ndim < (2 if batched else 1):  # PyTorch unsqueezes an unbatched input first
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    lead = 2 if batched else 1
    keep = (rand(tuple(input.shape[:lead]) + (1,) * (input.ndim - lead)) >= p).to(input.dtype)
    mask = keep * (0.0 if p == 1.0 else 1.0 / (1.0 - p))
    return input.mul_(mask) if inplace else input * mask


def _warn_dims(op: str, ndim: int, spatial: int) -> None:
    """PyTorch's deprecation warning for an input of the wrong rank to dropout2d / dropout3d (torch 2.13)."""
    warnings.warn(
        f"{op}: Received a {ndim}-D input to {op}, which is deprecated and will result in an error in a future "
        "release. To retain the behavior and silence this warning, please use dropout instead. Note that "
        f"{op} exists to provide channel-wise dropout on inputs with {spatial} spatial dimensions, a channel "
        f"dimension, and an optional batch dimension (i.e. {spatial + 1}D or {spatial + 2}D inputs).",
        stacklevel=3)


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
    """Zero whole channels of (N, C, H, W) / (C, H, W) inputs with probability p during training:
    out[n, c] = mask[n, c] * input[n, c] / (1 - p), mask[n, c] ~ Bernoulli(1 - p).

    Inputs of another rank do what PyTorch does: a UserWarning (the rank is deprecated), then dim 0 taken as
    the batch and dim 1 as the channels (a 2-D (N, C) input is dropped element by element).
    NOTE: a 3-D input is taken as unbatched (C, H, W), as ``F.dropout2d``; PyTorch warns and treats it as
    (N, C, L).

    Args:
        p: the probability of a channel being zeroed. Default: 0.5.
        inplace: zero the input in place. Default: False.

    Shape:
        - Input: (N, C, H, W) or (C, H, W)
        - Output: the input's shape

    Example::

        >>> from nnzoo import nn
        >>> nn.Dropout2d(0.5).eval()(nnzoo.ones(1, 2, 1, 1)).shape
        nnzoo.Size([1, 2, 1, 1])
    """

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim in (3, 4):
            return _F.dropout2d(input, self.p, self.training, self.inplace)
        _warn_dims("dropout2d", input.ndim, 2)
        return _feature_dropout(input, self.p, self.training, self.inplace)


class Dropout3d(_DropoutNd):
    """Zero whole channels of (N, C, D, H, W) / (C, D, H, W) inputs with probability p during training:
    out[n, c] = mask[n, c] * input[n, c] / (1 - p), mask[n, c] ~ Bernoulli(1 - p).

    Inputs of another rank warn as in PyTorch and are taken as unbatched (dim 0 the channels).

    Args:
        p: the probability of a channel being zeroed. Default: 0.5.
        inplace: zero the input in place. Default: False.

    Shape:
        - Input: (N, C, D, H, W) or (C, D, H, W)
        - Output: the input's shape

    Example::

        >>> from nnzoo import nn
        >>> nn.Dropout3d(0.5).eval()(nnzoo.ones(1, 2, 1, 1, 1)).shape
        nnzoo.Size([1, 2, 1, 1, 1])
    """

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim not in (4, 5):
            _warn_dims("dropout3d", input.ndim, 3)
        # as PyTorch: any input but a 5-D one is unbatched, its channels are dim 0
        return _feature_dropout(input, self.p, self.training, self.inplace, batched=input.ndim == 5)


class AlphaDropout(_DropoutNd):
    """Dropout that keeps SELU's zero mean and unit variance (see ``alpha_dropout``)."""

    def forward(self, input: Tensor) -> Tensor:
        return _F.alpha_dropout(input, self.p, self.training)
