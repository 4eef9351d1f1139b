"""``torch.amp``: automatic mixed precision as PyTorch behaves without a GPU.

``autocast`` is a documented no-op that keeps float32 (nnzoo runs no op in a lower precision);
``GradScaler("cuda")`` disables itself with PyTorch's warning, ``GradScaler("cpu")`` scales as PyTorch's does.
"""
from .autocast_mode import (
    autocast,
    custom_bwd,
    custom_fwd,
    get_autocast_dtype,
    is_autocast_available,
    is_autocast_enabled,
)
from .grad_scaler import GradScaler

__all__ = ["GradScaler", "autocast", "custom_bwd", "custom_fwd", "get_autocast_dtype", "is_autocast_available",
           "is_autocast_enabled"]
