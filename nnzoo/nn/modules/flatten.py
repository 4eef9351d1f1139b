"""``torch.nn.modules.flatten``: ``Flatten``, ``Unflatten``."""
from ..flatten import Flatten, Unflatten

__all__ = ["Flatten", "Unflatten"]
