"""``torch.nn.modules.container``: ``Sequential``, ``ModuleList``, ``ModuleDict``."""
from ..container import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential

__all__ = ["Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"]
