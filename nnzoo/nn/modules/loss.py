"""``torch.nn.modules.loss``: ``L1Loss``, ``NLLLoss``, ``KLDivLoss``, ``MSELoss``, ``BCELoss``,
``BCEWithLogitsLoss``, ``SmoothL1Loss``, ``HuberLoss``, ``CrossEntropyLoss``, ``CosineEmbeddingLoss``,
``MarginRankingLoss``."""
from ..loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CosineEmbeddingLoss,
    CrossEntropyLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MarginRankingLoss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)

# the private bases PyTorch code subclasses (``as`` marks them re-exported)
from ..loss import _Loss as _Loss
from ..loss import _WeightedLoss as _WeightedLoss

__all__ = ["L1Loss", "NLLLoss", "KLDivLoss", "MSELoss", "BCELoss", "BCEWithLogitsLoss", "SmoothL1Loss", "HuberLoss",
           "CrossEntropyLoss", "CosineEmbeddingLoss", "MarginRankingLoss"]
