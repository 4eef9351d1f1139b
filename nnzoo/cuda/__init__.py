"""``torch.cuda`` on nnzoo: what a CPU-only PyTorch build answers.

nnzoo computes on the CPU, so, as PyTorch built without CUDA: ``is_available()`` is False and ``device_count()``
0; the seeding calls (``manual_seed``, ``manual_seed_all``, ``seed``, ``seed_all``) do nothing, so a script may
call them unconditionally; the memory counters read 0 and ``empty_cache()`` does nothing; anything that needs a
device (``synchronize``, ``current_device``, ``get_device_name``, ``set_device``, ...) raises PyTorch's
``AssertionError("Torch not compiled with CUDA enabled")`` (nnzoo's is also a RuntimeError).
``nnzoo.cuda.amp`` holds the deprecated ``GradScaler`` and ``autocast`` aliases.

Example::

    >>> device = "cuda" if nnzoo.cuda.is_available() else "cpu"
    >>> device, nnzoo.cuda.device_count()
    ('cpu', 0)
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, NoReturn

from .._device import NotCompiledError

__all__ = ["current_device", "current_stream", "device", "device_count", "empty_cache", "get_device_capability",
           "get_device_name", "get_device_properties", "get_rng_state", "get_rng_state_all", "init", "initial_seed",
           "ipc_collect", "is_available", "is_bf16_supported", "is_initialized", "manual_seed", "manual_seed_all",
           "max_memory_allocated", "max_memory_reserved", "mem_get_info", "memory_allocated", "memory_reserved",
           "memory_stats", "reset_peak_memory_stats", "seed", "seed_all", "set_device", "set_rng_state",
           "set_rng_state_all", "synchronize", "Stream", "Event"]


def _not_compiled(*args: Any, **kwargs: Any) -> NoReturn:
    raise NotCompiledError("Torch not compiled with CUDA enabled (nnzoo runs on the CPU; nnzoo.cuda.is_available() "
                           "is False)")


def is_available() -> bool:
    """False: nnzoo has no CUDA device."""
    return False


def device_count() -> int:
    return 0


def is_initialized() -> bool:
    return False


def is_bf16_supported(including_emulation: bool = True) -> bool:
    """False, as on a CPU-only PyTorch build (no CUDA device to ask)."""
    return False


# ---- seeding: harmless, as on a CPU-only PyTorch build ------------------------------------------------------
def manual_seed(seed: int) -> None:
    """Does nothing (there is no CUDA generator); seed the CPU with ``nnzoo.manual_seed``."""


def manual_seed_all(seed: int) -> None:
    """Does nothing (there is no CUDA generator)."""


def seed() -> None:
    """Does nothing (there is no CUDA generator)."""


def seed_all() -> None:
    """Does nothing (there is no CUDA generator)."""


def get_rng_state_all() -> list:
    return []


def set_rng_state_all(new_states: Any) -> None:
    """Does nothing (there is no CUDA generator)."""


default_generators: tuple = ()


# ---- memory: nothing allocated -----------------------------------------------------------------------------
def memory_allocated(device: Any = None) -> int:
    return 0


def max_memory_allocated(device: Any = None) -> int:
    return 0


def memory_reserved(device: Any = None) -> int:
    return 0


def max_memory_reserved(device: Any = None) -> int:
    return 0


def memory_stats(device: Any = None) -> OrderedDict:
    return OrderedDict()


def empty_cache() -> None:
    """Does nothing (no CUDA caching allocator)."""


def get_arch_list() -> list[str]:
    return []


# ---- what needs a device: PyTorch's CPU-build error --------------------------------------------------------
# NOTE: PyTorch's CPU build raises AttributeError (a missing torch._C binding) from set_device and
# reset_peak_memory_stats; nnzoo raises the not-compiled error there too, the one a reader can act on.
init = synchronize = current_device = get_device_name = get_device_properties = get_device_capability = \
    initial_seed = get_rng_state = set_rng_state = mem_get_info = set_per_process_memory_fraction = \
    ipc_collect = current_stream = default_stream = set_device = reset_peak_memory_stats = \
    reset_max_memory_allocated = _not_compiled


class device:
    """``with nnzoo.cuda.device(0):``: can be made, and raises on entry as PyTorch's CPU build does."""

    def __init__(self, device: Any) -> None:
        self.idx = device if isinstance(device, int) else -1

    def __enter__(self) -> NoReturn:
        raise RuntimeError("PyTorch was compiled without CUDA support (nnzoo runs on the CPU)")

    def __exit__(self, *exc: Any) -> None:
        return None


class Stream:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("torch.cuda.Stream requires CUDA support (nnzoo runs on the CPU)")


class Event:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("torch.cuda.Event requires CUDA support (nnzoo runs on the CPU)")


from . import amp  # noqa: E402
