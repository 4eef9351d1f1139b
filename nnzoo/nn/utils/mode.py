"""``evaluating(module)``: eval mode for a block of code, the module's own mode restored afterwards.

nnzoo's addition (PyTorch has no such helper): sampling, decoding, activation maps and a Trainer's
evaluation each need the model in eval mode without changing what the caller had set.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..module import Module

__all__ = ["evaluating"]


@contextlib.contextmanager
def evaluating(module: Module) -> Iterator[Module]:
    """Put ``module`` in eval mode for the ``with`` block; its training flag (of the module itself; its
    children follow it, as ``train(mode)`` sets them) is restored on exit, also when the block raises.

    Example::

        >>> m = nnzoo.nn.Dropout()
        >>> with nnzoo.nn.utils.evaluating(m):
        ...     m.training
        False
        >>> m.training
        True
    """
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)
