"""``torch.nn.modules.module``: ``Module``."""
from ..module import Module

__all__ = ["Module"]
