"""``torch.nn.modules.sparse``: ``Embedding``, ``EmbeddingBag``."""
from ..embedding import Embedding, EmbeddingBag

__all__ = ["Embedding", "EmbeddingBag"]
