"""``torch.nn.modules.instancenorm``: ``InstanceNorm1d``, ``InstanceNorm2d``, ``InstanceNorm3d``."""
from ..norm import InstanceNorm1d, InstanceNorm2d, InstanceNorm3d

__all__ = ["InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"]
