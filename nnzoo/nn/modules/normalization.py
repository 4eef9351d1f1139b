"""``torch.nn.modules.normalization``: ``LocalResponseNorm``, ``LayerNorm``, ``GroupNorm``."""
from ..norm import GroupNorm, LayerNorm
from ..pool import LocalResponseNorm

__all__ = ["LocalResponseNorm", "LayerNorm", "GroupNorm"]
