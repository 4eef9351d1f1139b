"""Distances as modules: ``CosineSimilarity`` and ``PairwiseDistance``; the math is in ``nnzoo.ops.distance``."""
from __future__ import annotations

from ..ops import distance as _distance
from ..tensor import Tensor
from .module import Module

__all__ = ["CosineSimilarity", "PairwiseDistance"]


class CosineSimilarity(Module):
    """sum(x1 / max(||x1||, eps) * x2 / max(||x2||, eps)) along ``dim``.

    Shape: x1, x2 (*, D, *) broadcastable, D along ``dim``; output without that dim.

    Example::

        >>> from nnzoo import nn
        >>> nn.CosineSimilarity()(nnzoo.randn(4, 8), nnzoo.randn(4, 8)).shape
        nnzoo.Size([4])
    """

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim = dim
        self.eps = eps

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return _distance.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """||x1 - x2 + eps||_p over the last dim.

    Shape: x1, x2 (N, D) or (D,); output (N,) or () (keepdim: a trailing 1).

    Example::

        >>> from nnzoo import nn
        >>> nn.PairwiseDistance()(nnzoo.randn(4, 8), nnzoo.randn(4, 8)).shape
        nnzoo.Size([4])
    """

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm = p
        self.eps = eps
        self.keepdim = keepdim

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return _distance.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)
