"""``torch.nn.modules.pooling``: ``MaxPool1d``, ``MaxPool2d``, ``MaxUnpool2d``, ``AvgPool1d``, ``AvgPool2d``,
``AdaptiveMaxPool2d``, ``AdaptiveAvgPool1d``, ``AdaptiveAvgPool2d``."""
from ..pool import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AdaptiveMaxPool2d,
    AvgPool1d,
    AvgPool2d,
    MaxPool1d,
    MaxPool2d,
    MaxUnpool2d,
)

__all__ = ["MaxPool1d", "MaxPool2d", "MaxUnpool2d", "AvgPool1d", "AvgPool2d", "AdaptiveMaxPool2d",
           "AdaptiveAvgPool1d", "AdaptiveAvgPool2d"]
