"""``DataParallel`` as PyTorch behaves with no GPU (``torch.nn.parallel.data_parallel``)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..module import Module

__all__ = ["DataParallel", "data_parallel"]


class DataParallel(Module):
    """Wraps ``module`` for single-process data parallelism over GPUs; with no GPU (nnzoo's case, as a
    CPU-only PyTorch build) it holds the module and ``forward`` calls it unchanged: out = module(*inputs).

    As in PyTorch, the wrapped module is the child ``module``, so ``state_dict`` keys carry the prefix
    ``module.`` (save ``model.module.state_dict()`` for keys without it), and ``device_ids`` is ``[]``.

    Args:
        module: the module to wrap.
        device_ids: the GPUs to use (ignored with no GPU, as in PyTorch).
        output_device: the GPU that gathers the outputs (ignored likewise).
        dim: the dimension the batch is split along (ignored likewise).

    Shape:
        - Input and output: those of ``module``

    Example::

        >>> from nnzoo import nn
        >>> model = nn.DataParallel(nn.Linear(2, 3))
        >>> list(model.state_dict())
        ['module.weight', 'module.bias']
        >>> model(nnzoo.ones(4, 2)).shape
        nnzoo.Size([4, 3])
    """

    def __init__(self, module: Module, device_ids: Sequence[int] | None = None, output_device: int | None = None,
                 dim: int = 0) -> None:
        super().__init__()
        # NOTE: PyTorch returns here when no GPU is found, without setting dim or output_device
        self.module = module
        self.device_ids: list[int] = []

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        return self.module(*inputs, **kwargs)


def data_parallel(module: Module, inputs: Any, device_ids: Sequence[int] | None = None,
                  output_device: int | None = None, dim: int = 0, module_kwargs: Any | None = None) -> Any:
    """The functional form of :class:`DataParallel`. Without a GPU PyTorch raises, and so does nnzoo (call the
    module itself, or wrap it in ``DataParallel``, which runs it on the CPU).

    Example::

        >>> from nnzoo import nn
        >>> data_parallel(nn.Linear(2, 3), nnzoo.ones(1, 2))
        Traceback (most recent call last):
            ...
        RuntimeError: device type could not be determined
    """
    raise RuntimeError("device type could not be determined")
