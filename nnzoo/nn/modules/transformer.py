"""``torch.nn.modules.transformer``: ``Transformer``, ``TransformerEncoder``, ``TransformerDecoder``,
``TransformerEncoderLayer``, ``TransformerDecoderLayer``."""
from ..transformer import (
    Transformer,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)

__all__ = ["Transformer", "TransformerEncoder", "TransformerDecoder", "TransformerEncoderLayer",
           "TransformerDecoderLayer"]
