"""``torch.nn.modules.container``: ``Sequential``, ``ModuleList``, ``ModuleDict``."""
from ..container import ModuleDict, ModuleList, Sequential

__all__ = ["Sequential", "ModuleList", "ModuleDict"]
