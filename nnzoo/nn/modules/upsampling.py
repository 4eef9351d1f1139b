"""``torch.nn.modules.upsampling``: ``Upsample``, ``UpsamplingNearest2d``, ``UpsamplingBilinear2d``."""
from ..pool import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d

__all__ = ["Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"]
