"""``torch.nn.modules.conv``: ``Conv1d``, ``Conv2d``, ``ConvTranspose1d``, ``ConvTranspose2d``."""
from ..conv import (
    Conv1d,
    Conv2d,
    ConvTranspose1d,
    ConvTranspose2d,
)

# the private bases PyTorch code subclasses (``as`` marks them re-exported)
from ..conv import _ConvNd as _ConvNd
from ..conv import _ConvTransposeNd as _ConvTransposeNd

__all__ = ["Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d"]
