"""``import nnzoo.nn.functional as F``: the functions live in ``nnzoo/functional.py``."""
from ..functional import *  # noqa: F403
from ..functional import __all__
from ..ops.embedding import embedding_bag

__all__ = [*__all__, "embedding_bag"]
