"""``torch.cuda.amp``: PyTorch's deprecated aliases ``GradScaler`` and ``autocast``, which warn (FutureWarning)
and then behave as ``nnzoo.amp.GradScaler("cuda", ...)`` and ``nnzoo.autocast("cuda", ...)``: disabled with
PyTorch's warning, as nnzoo has no CUDA."""
from __future__ import annotations

import warnings

from .. import amp as _amp
from .. import dtypes
from ..amp import custom_bwd, custom_fwd

__all__ = ["GradScaler", "autocast", "custom_bwd", "custom_fwd"]


class GradScaler(_amp.GradScaler):
    """Deprecated: ``nnzoo.amp.GradScaler("cuda", ...)`` (disabled: nnzoo has no CUDA)."""

    def __init__(self, init_scale: float = 2.0 ** 16, growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True) -> None:
        warnings.warn("`torch.cuda.amp.GradScaler(args...)` is deprecated. Please use "
                      "`torch.amp.GradScaler('cuda', args...)` instead.", FutureWarning, stacklevel=2)
        super().__init__("cuda", init_scale=init_scale, growth_factor=growth_factor, backoff_factor=backoff_factor,
                         growth_interval=growth_interval, enabled=enabled)


class autocast(_amp.autocast):
    """Deprecated: ``nnzoo.autocast("cuda", ...)`` (disabled: nnzoo has no CUDA)."""

    def __init__(self, enabled: bool = True, dtype: dtypes.dtype = dtypes.float16, cache_enabled: bool = True) -> None:
        warnings.warn("`torch.cuda.amp.autocast(args...)` is deprecated. Please use "
                      "`torch.amp.autocast('cuda', args...)` instead.", FutureWarning, stacklevel=2)
        super().__init__("cuda", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)
