"""``torch.backends.mkldnn``: oneDNN's flags. nnzoo does not use oneDNN (NumPy's BLAS does the matmuls), so
``is_available()`` is False and ``enabled`` changes nothing."""
from __future__ import annotations

enabled = True
deterministic = False


def is_available() -> bool:
    return False
