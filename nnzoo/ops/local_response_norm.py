"""Local response normalisation: ``local_response_norm``, AlexNet's LRN (PyTorch's
``F.local_response_norm``), an average pooling of the squares along the channels.
"""
from __future__ import annotations

import math

from ..kernels.pool import Axis, unit
from ..tensor import Tensor
from .pool import AvgPool, _check_tensor

__all__ = ["local_response_norm"]


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    """b_c = a_c / (k + alpha / size * sum_{c'} a_{c'}^2)^beta, the sum over the ``size`` channels
    c - size // 2 <= c' <= c + (size - 1) // 2 (missing channels count as zeros): AlexNet's LRN,
    computed exactly as PyTorch does (an average of squares, always divided by ``size``).

    Composed from the average pooling of the squares along the channels and Tensor arithmetic, so
    every gradient comes from those ops.

    Shape: input (N, C, *) with at least 3 dims; output the same.

    Example::

        >>> from nnzoo.ops.local_response_norm import local_response_norm
        >>> local_response_norm(nnzoo.ones(1, 3, 1), 2, alpha=1.0, beta=1.0)
        tensor([[[0.6667],
                 [0.5000],
                 [0.5000]]])
    """
    _check_tensor(input, "local_response_norm")
    if input.ndim < 3:
        raise ValueError(f"local_response_norm: expected an input with 3 or more dims (N, C, *), got shape "
                         f"{tuple(input.shape)}")
    if input._data.size == 0:
        return input
    shape = tuple(input.shape)
    n, c = shape[0], shape[1]
    rest = math.prod(shape[2:])
    sq = (input * input).reshape(n, c, rest)  # (N, C, R): the channels play H, the rest W
    ac = Axis(size, 1, 1, size // 2, c, c)  # pads size // 2 before, (size - 1) // 2 after
    div = AvgPool.apply(sq, ac, unit(rest), 2, input._data.dtype.type(1.0 / size), (n, c, rest))
    div = (div.reshape(shape) * alpha + k) ** beta
    return input / div
