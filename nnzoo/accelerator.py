"""``torch.accelerator`` on nnzoo: no accelerator, as on a CPU-only PyTorch build.

``is_available()`` is False, ``current_accelerator()`` None and ``device_count()`` 0, so the usual
``device = torch.accelerator.current_accelerator() if torch.accelerator.is_available() else "cpu"`` picks the
CPU; calls that need an accelerator raise PyTorch's RuntimeError.

Example::

    >>> nnzoo.accelerator.is_available(), nnzoo.accelerator.current_accelerator()
    (False, None)
"""
from __future__ import annotations

from typing import Any, NoReturn

from ._device import _NO_ACCELERATOR
from ._device import device as _Device

__all__ = ["current_accelerator", "current_device_index", "device_count", "empty_cache", "is_available",
           "max_memory_allocated", "memory_allocated", "set_device_index", "synchronize"]


def is_available() -> bool:
    return False


def current_accelerator(check_available: bool = False) -> _Device | None:
    """None: nnzoo has no accelerator (PyTorch's CPU build says the same)."""
    return None


def device_count() -> int:
    return 0


def _no_accelerator(*args: Any, **kwargs: Any) -> NoReturn:
    raise RuntimeError(_NO_ACCELERATOR)


current_device_index = current_device_idx = set_device_index = set_device_idx = synchronize = \
    current_stream = set_stream = empty_cache = memory_allocated = max_memory_allocated = memory_reserved = \
    max_memory_reserved = _no_accelerator
