"""``torch.multiprocessing``: Python's ``multiprocessing`` with tensors that cross processes in shared memory.

Every name of ``multiprocessing`` is here (``Process``, ``Queue``, ``Pool``, ``get_context``,
``set_start_method``, ``cpu_count``, ...), plus PyTorch's ``spawn``/``start_processes`` and its sharing
strategies. ``Tensor.share_memory_()`` and ``Module.share_memory()`` move values into shared memory:

- with the **fork** start method (Linux's default), a child started afterwards maps the same pages, so a
  child's in-place update of a shared parameter (an optimizer step: Hogwild training) is seen by the parent;
- with **spawn** (and forkserver), a child gets its arguments pickled. Importing this module registers
  reducers with ``multiprocessing``'s pickler that send a tensor's shared-memory file descriptor, not its
  values (PyTorch's "file_descriptor" strategy), so a spawned child shares the memory as well; a tensor that
  is not shared yet is moved into shared memory as it is sent. Where the OS has no ``memfd_create`` the values
  are copied instead (the child then trains its own copy). Plain ``pickle`` still refuses tensors.

Under ``nnzoo run`` a spawned child re-runs the program's main script with ``torch`` mapped to nnzoo too.

Example::

    >>> import nnzoo.multiprocessing as mp
    >>> mp.get_sharing_strategy(), sorted(mp.get_all_sharing_strategies())
    ('file_descriptor', ['file_descriptor', 'file_system'])
"""
from __future__ import annotations

import multiprocessing
from multiprocessing import *  # noqa: F403

from . import reductions
from .spawn import (
    ProcessContext,
    ProcessException,
    ProcessExitedException,
    ProcessRaisedException,
    SpawnContext,
    spawn,
    start_processes,
)

__all__ = ["set_sharing_strategy", "get_sharing_strategy", "get_all_sharing_strategies", "spawn",
           "start_processes", "ProcessContext", "SpawnContext", "ProcessException", "ProcessRaisedException",
           "ProcessExitedException", *multiprocessing.__all__]

_STRATEGIES = frozenset({"file_descriptor", "file_system"})
_strategy = "file_descriptor"


def set_sharing_strategy(new_strategy: str) -> None:
    """Choose how shared tensors are passed (PyTorch's CPU names). nnzoo passes a file descriptor either way."""
    global _strategy
    if new_strategy not in _STRATEGIES:
        raise AssertionError(f"sharing strategy must be one of {sorted(_STRATEGIES)}, got {new_strategy!r}")
    _strategy = new_strategy


def get_sharing_strategy() -> str:
    """The current sharing strategy ("file_descriptor" by default, as PyTorch on Linux)."""
    return _strategy


def get_all_sharing_strategies() -> set[str]:
    """The sharing strategies this platform supports: {"file_descriptor", "file_system"}."""
    return set(_STRATEGIES)


reductions.install()
