"""``torch.nn.modules.batchnorm``: ``BatchNorm1d``, ``BatchNorm2d``."""
from ..norm import (
    BatchNorm1d,
    BatchNorm2d,
)

# the private bases PyTorch code subclasses (``as`` marks them re-exported)
from ..norm import _BatchNorm as _BatchNorm

__all__ = ["BatchNorm1d", "BatchNorm2d"]
