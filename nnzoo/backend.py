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


# ---- the C allocator ------------------------------------------------------------------------------------
# NOTE: NumPy takes every array's memory from glibc's malloc. By default glibc serves blocks over 128 KB with
# fresh mmap'd pages (raising that threshold as blocks are freed) and hands freed memory at the top of the heap
# back to the OS once 128 KB or more sit there. A training step allocates and frees the same 1-30 MB
# activations and gradients every time, so each step re-faults them page by page: ~6,600 page faults a step
# of the small-VGG benchmark, 12-15% of its time (measured 129 -> 112 ms). Serving blocks up to 32 MB (glibc's
# maximum) from the heap and keeping up to 1 GB of freed memory in the process removes them all. The price is a
# process that keeps its peak memory instead of returning it between steps, as PyTorch's caching allocators do.
# NNZOO_MALLOC_TUNING=0 in the environment (before importing nnzoo) leaves malloc alone.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def tune_allocator(mmap_threshold=32 << 20, trim_threshold=1 << 30):
    """Ask glibc's malloc to reuse freed array memory instead of returning it to the OS (see the NOTE above).

    Called once when nnzoo is imported, unless ``NNZOO_MALLOC_TUNING=0``. Setting either threshold turns off
    glibc's own dynamic adjustment, so both are always set together.

    Returns:
        True when both settings were accepted (Linux with glibc), False otherwise (other C libraries or
        systems: nothing is changed).

    Example::

        >>> from nnzoo.backend import tune_allocator
        >>> tune_allocator() in (True, False)
        True
    """
    import ctypes
    import sys
    if not sys.platform.startswith("linux"):
        return False
    try:
        # the process's own symbols, libc's among them (ctypes.util.find_library would run ldconfig in a
        # subprocess on every import: ~4 ms)
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(mallopt(_M_MMAP_THRESHOLD, int(mmap_threshold))) and \
        bool(mallopt(_M_TRIM_THRESHOLD, int(trim_threshold)))


def _tune_on_import():
    import os
    if os.environ.get("NNZOO_MALLOC_TUNING", "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    return tune_allocator()


allocator_tuned = _tune_on_import()
