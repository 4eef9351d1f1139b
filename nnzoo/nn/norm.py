"""Normalisation layers: ``BatchNorm1d``, ``BatchNorm2d``, ``InstanceNorm1d/2d/3d``, ``LayerNorm``, ``GroupNorm``."""
from __future__ import annotations

import numbers
import warnings
from collections.abc import Sequence

from .. import creation, dtypes
from ..autograd.arrays import array, assign_, bump_version
from ..ops.norm import batch_norm, group_norm, instance_norm, layer_norm
from ..tensor import Tensor
from . import init
from .module import Module
from .parameter import Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm", "InstanceNorm1d", "InstanceNorm2d",
           "InstanceNorm3d"]



def _affine_parameters(module, shape, enabled, bias, dtype, device):
    """The per-feature affine map every norm layer has: ``weight`` (and ``bias`` unless bias=False) of
    ``shape``, or both registered as None."""
    if enabled:
        module.weight = Parameter(creation.empty(shape, dtype=dtype, device=device))
        if bias:
            module.bias = Parameter(creation.empty(shape, dtype=dtype, device=device))
        else:
            module.register_parameter("bias", None)
    else:
        module.register_parameter("weight", None)
        module.register_parameter("bias", None)


def _reset_affine(module):
    """PyTorch's initialisation of that map: weight 1, bias 0."""
    if module.weight is not None:
        init.ones_(module.weight)
    if module.bias is not None:
        init.zeros_(module.bias)


class _BatchNorm(Module):
    """y = (x - mean) / sqrt(var + eps) * weight + bias per channel.

    Training mode normalises with the batch statistics and updates ``running_mean`` / ``running_var``:
    running = (1 - momentum) * running + momentum * batch, or the cumulative average over all batches
    so far when ``momentum=None``; ``num_batches_tracked`` counts the batches. Eval mode (and
    ``track_running_stats=False`` never: it always uses batch statistics) uses the running estimates.

    NOTE: the batch is normalised with the biased variance (divide by n) while running_var accumulates
    the unbiased one (divide by n - 1), exactly as PyTorch.
    """

    _expected_dims = ()

    def __init__(self, num_features: int, eps: float = 1e-05, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device: str | None = None, dtype: dtypes.dtype | None = None, *,
                 bias: bool = True) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        _affine_parameters(self, num_features, affine, bias, dtype, device)
        if track_running_stats:
            self.register_buffer("running_mean", creation.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", creation.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", creation.tensor(0, dtype=dtypes.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            assign_(self.running_mean, 0)
            assign_(self.running_var, 1)
            assign_(self.num_batches_tracked, 0)

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        _reset_affine(self)

    def _check_input_dim(self, input):
        if input.dim() not in self._expected_dims:
            want = " or ".join(f"{d}D" for d in self._expected_dims)
            raise ValueError(f"expected {want} input (got {input.dim()}D input)")

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            tracked = array(self.num_batches_tracked)
            tracked += 1
            bump_version(self.num_batches_tracked)
            factor = 1.0 / float(tracked) if self.momentum is None else self.momentum
        use_batch = self.training or (self.running_mean is None and self.running_var is None)
        track = not self.training or self.track_running_stats
        return batch_norm(input, self.running_mean if track else None, self.running_var if track else None,
                          self.weight, self.bias, use_batch, factor, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, C) or (N, C, L) inputs (statistics per channel C).

    Example::

        >>> from nnzoo import nn
        >>> nn.BatchNorm1d(4)(nnzoo.randn(8, 4)).shape
        nnzoo.Size([8, 4])
    """

    _expected_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch norm over (N, C, H, W) inputs (statistics per channel C).

    Example::

        >>> from nnzoo import nn
        >>> nn.BatchNorm2d(3)(nnzoo.randn(2, 3, 4, 4)).shape
        nnzoo.Size([2, 3, 4, 4])
    """

    _expected_dims = (4,)


class _InstanceNorm(_BatchNorm):
    """y = (x - mean) / sqrt(var + eps) * weight + bias per (sample, channel), over the spatial dims.

    PyTorch's defaults: no affine map and no running statistics. With ``track_running_stats=True`` training
    updates ``running_mean`` / ``running_var`` towards the batch average of the instances' statistics and eval
    mode normalises with them (``num_batches_tracked`` is registered, as PyTorch, and not counted). An unbatched
    input (C, *) is taken as a batch of one.
    """

    _no_batch_dim = 2

    def __init__(self, num_features: int, eps: float = 1e-05, momentum: float = 0.1, affine: bool = False,
                 track_running_stats: bool = False, device: str | None = None, dtype: dtypes.dtype | None = None, *,
                 bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)

    def _check_input_dim(self, input):
        if input.dim() not in (self._no_batch_dim, self._no_batch_dim + 1):
            raise ValueError(f"expected {self._no_batch_dim}D or {self._no_batch_dim + 1}D input "
                             f"(got {input.dim()}D input)")

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        feature_dim = input.dim() - self._no_batch_dim
        if input.size(feature_dim) != self.num_features:
            if self.affine:
                raise ValueError(f"expected input's size at dim={feature_dim} to match num_features "
                                 f"({self.num_features}), but got: {input.size(feature_dim)}.")
            warnings.warn(f"input's size at dim={feature_dim} does not match num_features. You can silence this "
                          "warning by not passing in num_features, which is not used because affine=False",
                          stacklevel=2)
        unbatched = input.dim() == self._no_batch_dim
        x = input.unsqueeze(0) if unbatched else input
        y = instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                          self.training or not self.track_running_stats,
                          self.momentum if self.momentum is not None else 0.0, self.eps)
        return y.squeeze(0) if unbatched else y


class InstanceNorm1d(_InstanceNorm):
    """Instance norm over (N, C, L) or (C, L) inputs (statistics per sample and channel, over L).

    Example::

        >>> from nnzoo import nn
        >>> nn.InstanceNorm1d(4)(nnzoo.randn(8, 4, 10)).shape
        nnzoo.Size([8, 4, 10])
    """


class InstanceNorm2d(_InstanceNorm):
    """Instance norm over (N, C, H, W) or (C, H, W) inputs (statistics per sample and channel, over H, W).

    Example::

        >>> from nnzoo import nn
        >>> nn.InstanceNorm2d(3, affine=True)(nnzoo.randn(2, 3, 4, 4)).shape
        nnzoo.Size([2, 3, 4, 4])
    """

    _no_batch_dim = 3


class InstanceNorm3d(_InstanceNorm):
    """Instance norm over (N, C, D, H, W) or (C, D, H, W) inputs.

    Example::

        >>> from nnzoo import nn
        >>> nn.InstanceNorm3d(2)(nnzoo.randn(1, 2, 3, 3, 3)).shape
        nnzoo.Size([1, 2, 3, 3, 3])
    """

    _no_batch_dim = 4


class LayerNorm(Module):
    """y = (x - mean) / sqrt(var + eps) * weight + bias over the last dims given by ``normalized_shape``.

    Example::

        >>> from nnzoo import nn
        >>> nn.LayerNorm(8)(nnzoo.randn(2, 5, 8)).shape
        nnzoo.Size([2, 5, 8])
    """

    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-05, elementwise_affine: bool = True,
                 bias: bool = True, device: str | None = None, dtype: dtypes.dtype | None = None) -> None:
        super().__init__()
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        _affine_parameters(self, self.normalized_shape, elementwise_affine, bias, dtype, device)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_affine(self)

    def forward(self, input: Tensor) -> Tensor:
        return layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class GroupNorm(Module):
    """Normalise each sample over groups of num_channels / num_groups channels (and the spatial dims),
    then a per-channel affine map.

    Example::

        >>> from nnzoo import nn
        >>> nn.GroupNorm(2, 6)(nnzoo.randn(4, 6, 5)).shape
        nnzoo.Size([4, 6, 5])
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-05, affine: bool = True,
                 device: str | None = None, dtype: dtypes.dtype | None = None, *, bias: bool = True) -> None:
        super().__init__()
        if num_channels % num_groups != 0:
            raise ValueError("num_channels must be divisible by num_groups")
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        _affine_parameters(self, num_channels, affine, bias, dtype, device)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_affine(self)

    def forward(self, input: Tensor) -> Tensor:
        return group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")
