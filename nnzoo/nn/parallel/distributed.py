"""``DistributedDataParallel``: its name only, until the distributed issue brings process groups."""
from __future__ import annotations

from typing import Any

from ..module import Module

__all__ = ["DistributedDataParallel"]


class DistributedDataParallel(Module):
    """Multi-process data parallelism. nnzoo has no process groups yet (``torch.distributed`` arrives with the
    distributed issue), so constructing one raises the error PyTorch raises before ``init_process_group``,
    with the reason.

    Example::

        >>> from nnzoo import nn
        >>> nn.parallel.DistributedDataParallel(nn.Linear(2, 2))
        Traceback (most recent call last):
            ...
        ValueError: DistributedDataParallel: Default process group has not been initialized ...
    """

    def __init__(self, module: Module, *args: Any, **kwargs: Any) -> None:
        raise ValueError("DistributedDataParallel: Default process group has not been initialized (nnzoo has no "
                         "process groups yet: torch.distributed arrives with the distributed issue). On one process, "
                         "use the module itself or nn.DataParallel")
