"""PyTorch-habit aliases: ``nnzoo.utils.data`` is ``nnzoo.data``."""
from . import data

__all__ = ["data"]
