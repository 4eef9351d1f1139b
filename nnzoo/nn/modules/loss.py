"""``torch.nn.modules.loss``: ``L1Loss``, ``NLLLoss``, ``KLDivLoss``, ``MSELoss``, ``BCELoss``,
``BCEWithLogitsLoss``, ``SmoothL1Loss``, ``HuberLoss``, ``CrossEntropyLoss``, ``CosineEmbeddingLoss``,
``MarginRankingLoss``."""
from ..loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CosineEmbeddingLoss,
    CrossEntropyLoss,
    GaussianNLLLoss,
    HingeEmbeddingLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MarginRankingLoss,
    MSELoss,
    MultiLabelMarginLoss,
    MultiLabelSoftMarginLoss,
    MultiMarginLoss,
    NLLLoss,
    PoissonNLLLoss,
    SmoothL1Loss,
    SoftMarginLoss,
    TripletMarginLoss,
)

# the private bases PyTorch code subclasses (``as`` marks them re-exported)
from ..loss import _Loss as _Loss
from ..loss import _WeightedLoss as _WeightedLoss

__all__ = ["L1Loss", "NLLLoss", "KLDivLoss", "MSELoss", "BCELoss", "BCEWithLogitsLoss", "SmoothL1Loss", "HuberLoss",
           "CrossEntropyLoss", "CosineEmbeddingLoss", "MarginRankingLoss"]
__all__ += ["TripletMarginLoss", "SoftMarginLoss", "HingeEmbeddingLoss", "MultiLabelSoftMarginLoss",
            "MultiLabelMarginLoss", "PoissonNLLLoss", "GaussianNLLLoss", "MultiMarginLoss"]
