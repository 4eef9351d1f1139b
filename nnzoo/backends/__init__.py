"""``torch.backends`` on nnzoo: the settable flags of PyTorch's kernel back-ends, which change nothing here.

nnzoo computes with NumPy on the CPU, so cuDNN, cuBLAS's TF32 mode, MPS and oneDNN are not there to tune; their
flags exist so that a PyTorch program sets and reads them as it does on a CPU-only PyTorch build (cuDNN and MPS
report unavailable, the defaults are PyTorch's). This module also holds the global switches PyTorch keeps next to
them: the float32 matmul precision, deterministic algorithms and the thread count.

Example::

    >>> nnzoo.backends.cudnn.benchmark = True      # accepted, as in PyTorch; nnzoo has no cuDNN
    >>> nnzoo.backends.mps.is_available()
    False
    >>> nnzoo.get_float32_matmul_precision()
    'highest'
"""
from __future__ import annotations

import os
import warnings

__all__ = ["are_deterministic_algorithms_enabled", "get_float32_matmul_precision", "get_num_interop_threads",
           "get_num_threads", "is_deterministic_algorithms_warn_only_enabled", "set_float32_matmul_precision",
           "set_num_interop_threads", "set_num_threads", "use_deterministic_algorithms"]

_PRECISIONS = ("highest", "high", "medium")
_state = {"matmul_precision": "highest", "deterministic": False, "warn_only": False, "num_threads": None,
          "interop_threads": None}


def set_float32_matmul_precision(precision: str) -> None:
    """PyTorch's float32 matmul precision ("highest", "high" or "medium"); recorded, and read back by
    ``get_float32_matmul_precision`` and ``backends.cuda.matmul.allow_tf32`` as in PyTorch. nnzoo's float32
    matmuls always run in full float32 precision (NumPy's BLAS), whatever it says. Another value warns and
    changes nothing, as in PyTorch."""
    if precision not in _PRECISIONS:
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current "
                      "set_float32_matmul_precision call has no effect.", UserWarning, stacklevel=2)
        return
    _state["matmul_precision"] = precision


def get_float32_matmul_precision() -> str:
    """The float32 matmul precision set last ("highest" by default)."""
    return _state["matmul_precision"]


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """PyTorch's switch to deterministic algorithms; recorded. nnzoo's ops are deterministic already (NumPy on
    the CPU, no atomics), so nothing changes."""
    _state["deterministic"], _state["warn_only"] = bool(mode), bool(warn_only)


def are_deterministic_algorithms_enabled() -> bool:
    return _state["deterministic"]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    return _state["warn_only"]


def _default_threads():
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        value = os.environ.get(var, "")
        if value.isdigit() and int(value) > 0:
            return int(value)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def set_num_threads(int: int) -> None:
    """Set the intra-op thread count (as ``torch.set_num_threads``): what ``get_num_threads`` reports and the
    threads nnzoo's own two-way splits may use (``nnzoo.kernels.threads``: with 1, the convolutions run on the
    caller's thread only). NOTE: NumPy's BLAS fixes its thread pool when it loads (set ``OMP_NUM_THREADS``/
    ``OPENBLAS_NUM_THREADS`` before starting Python to change it); nnzoo does not resize it here."""
    if int < 1:
        raise RuntimeError(f"set_num_threads expects a positive integer, got {int}")
    _state["num_threads"] = int
    from ..kernels import threads
    threads.set_max_threads(int)


def get_num_threads() -> int:
    """The thread count set last, else the one the environment gives NumPy's BLAS (``OMP_NUM_THREADS``, ...),
    else the number of CPUs this process may use."""
    return _state["num_threads"] or _default_threads()


def set_num_interop_threads(int: int) -> None:
    """Recorded only: nnzoo runs ops one after the other (no inter-op thread pool)."""
    if int < 1:
        raise RuntimeError(f"set_num_interop_threads expects a positive integer, got {int}")
    _state["interop_threads"] = int


def get_num_interop_threads() -> int:
    return _state["interop_threads"] or _default_threads()


from . import cpu, cuda, cudnn, mkldnn, mps, openmp  # noqa: E402
