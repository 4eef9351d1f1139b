"""``torch.nn.modules.pixelshuffle``: ``PixelShuffle``, ``PixelUnshuffle``."""
from ..pool import PixelShuffle, PixelUnshuffle

__all__ = ["PixelShuffle", "PixelUnshuffle"]
