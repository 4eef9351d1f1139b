"""``torch.nn.modules.distance``: ``PairwiseDistance``, ``CosineSimilarity``."""
from ..distance import CosineSimilarity, PairwiseDistance

__all__ = ["PairwiseDistance", "CosineSimilarity"]
