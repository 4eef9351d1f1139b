"""The one place that chooses the array module.

Every op computes through ``xp``. NumPy today; a CuPy backend later swaps this module's choice,
not the ops.
"""
import functools

import numpy as np

xp = np


def quiet(forward):
    """Run ``forward`` with NumPy's floating-point warnings off: log(0), x / 0, sqrt(-1) return
    -inf/inf/nan silently, as in PyTorch. NOTE: np.errstate costs ~1 us a call, so only the ops
    that can divide by zero or leave their domain use this."""
    @functools.wraps(forward)
    def wrapper(*args):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return forward(*args)
    return wrapper
