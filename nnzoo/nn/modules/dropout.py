"""``torch.nn.modules.dropout``: ``Dropout``, ``Dropout1d``, ``Dropout2d``, ``Dropout3d``, ``AlphaDropout``."""
from ..dropout import (
    AlphaDropout,
    Dropout,
    Dropout1d,
    Dropout2d,
    Dropout3d,
)

# the private bases PyTorch code subclasses (``as`` marks them re-exported)
from ..dropout import _DropoutNd as _DropoutNd

__all__ = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout"]
