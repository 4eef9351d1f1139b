"""``torch.nn.modules.linear``: ``Bilinear``, ``Identity``, ``Linear``."""
from ..linear import Bilinear, Identity, Linear

__all__ = ["Bilinear", "Identity", "Linear"]
