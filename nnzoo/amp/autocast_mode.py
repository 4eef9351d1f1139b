"""``torch.autocast`` on nnzoo: a context (and decorator) that keeps float32.

NOTE: nnzoo does not autocast. PyTorch's autocast runs chosen ops (matmul, conv, linear) in float16/bfloat16
inside the context; nnzoo's ops compute in the dtype of their inputs, and its bfloat16 is a storage dtype, so
``autocast`` here is an honest no-op: everything inside stays float32, exactly as outside. The checks and
warnings are PyTorch's: ``autocast("cuda")`` warns that CUDA is not available and disables itself (as on a
CPU-only PyTorch build), ``autocast("cpu", dtype=torch.float64)`` warns that the dtype is not supported, an
unknown device type raises. ``is_autocast_enabled()`` says False throughout, which is what nnzoo does.
"""
from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

from .. import dtypes
from .._device import device as _device_cls

__all__ = ["autocast", "custom_bwd", "custom_fwd", "get_autocast_dtype", "is_autocast_available",
           "is_autocast_enabled"]

# the device types PyTorch can autocast on (torch.amp.is_autocast_available)
_AUTOCAST_TYPES = ("cpu", "cuda", "xpu", "ipu", "hpu", "xla", "mps", "mtia", "maia", "privateuseone")


def is_autocast_available(device_type: str) -> bool:
    """Whether PyTorch has autocast for ``device_type`` (the names; nnzoo's autocast is a no-op everywhere)."""
    return device_type in _AUTOCAST_TYPES


def get_autocast_dtype(device_type: str) -> dtypes.dtype:
    """The lower-precision dtype PyTorch's autocast uses on ``device_type`` by default (bfloat16 on the CPU,
    float16 elsewhere)."""
    return dtypes.bfloat16 if device_type == "cpu" else dtypes.float16


def is_autocast_enabled(device_type: str | None = None) -> bool:
    """False: nnzoo never runs ops in a lower precision inside ``autocast`` (see the module doc)."""
    return False


class autocast:
    """``with nnzoo.autocast(device_type="cpu", dtype=nnzoo.bfloat16):`` runs its body unchanged, in float32.

    PyTorch's signature and checks (see the module doc for why nnzoo casts nothing): CUDA is not available, so
    ``autocast("cuda")`` warns and is disabled, as on a CPU-only PyTorch build; on the CPU only bfloat16 and
    float16 are accepted (another dtype warns and disables it). Usable as a decorator too.

    Args:
        device_type (str): "cpu", "cuda", ... (a device type, not a device).
        dtype (dtype, optional): the lower precision dtype (default: bfloat16 on the CPU, float16 elsewhere).
        enabled (bool): whether autocasting would be on. Default: True.
        cache_enabled (bool, optional): PyTorch's weight-cast cache (nothing to cache here).

    Example::

        >>> with nnzoo.autocast(device_type="cpu", dtype=nnzoo.bfloat16):
        ...     y = nnzoo.ones(2, 2) @ nnzoo.ones(2, 2)
        >>> y.dtype
        nnzoo.float32
    """

    def __init__(self, device_type: str, dtype: dtypes.dtype | None = None, enabled: bool = True,
                 cache_enabled: bool | None = None) -> None:
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        self.fast_dtype = get_autocast_dtype(device_type) if dtype is None else dtype
        self.device = device_type
        if not is_autocast_available(device_type):
            _device_cls(device_type)  # an unknown name: the device parser's error, as PyTorch's
            raise RuntimeError(f"User specified an unsupported autocast device_type '{device_type}'")
        self._cache_enabled = True if cache_enabled is None else cache_enabled
        if enabled:
            if device_type == "cuda":
                warnings.warn("CUDA is not available or torch_xla is imported. Disabling autocast.", stacklevel=2)
                enabled = False
            elif self.fast_dtype not in (dtypes.bfloat16, dtypes.float16):
                name = device_type.upper()
                warnings.warn(f"In {name} autocast, but the target dtype is not supported. Disabling autocast.\n"
                              f"{name} Autocast only supports dtypes of nnzoo.bfloat16, nnzoo.float16 currently.",
                              stacklevel=2)
                enabled = False
        self._enabled = enabled

    def __enter__(self) -> autocast:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def __call__(self, func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self:
                return func(*args, **kwargs)
        return wrapper


def custom_fwd(fwd: Callable | None = None, *, device_type: str, cast_inputs: dtypes.dtype | None = None) -> Callable:
    """``torch.amp.custom_fwd`` for a custom Function's forward: with autocast a no-op, the function itself."""
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)
    return fwd


def custom_bwd(bwd: Callable | None = None, *, device_type: str) -> Callable:
    """``torch.amp.custom_bwd`` for a custom Function's backward: the function itself."""
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)
    return bwd
