"""``torch.backends.openmp``: nnzoo itself starts no OpenMP threads (NumPy's BLAS has its own pool)."""
from __future__ import annotations


def is_available() -> bool:
    return False
