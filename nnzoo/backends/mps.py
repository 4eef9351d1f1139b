"""``torch.backends.mps``: Apple's Metal back-end, absent in nnzoo (as on a PyTorch build without it)."""
from __future__ import annotations


def is_available() -> bool:
    return False


def is_built() -> bool:
    return False
