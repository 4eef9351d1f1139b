"""Neural-network building blocks (``nnzoo.nn``); for now the functional interface ``nn.functional``."""
from . import functional

__all__ = ["functional"]
