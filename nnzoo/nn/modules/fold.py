"""``torch.nn.modules.fold``: ``Fold``, ``Unfold``."""
from ..conv import Fold, Unfold

__all__ = ["Fold", "Unfold"]
