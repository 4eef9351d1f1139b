"""``nn.Parameter``: a Tensor that a Module registers as one of its parameters.

A Tensor subclass, so its constructor fills the Tensor slots itself (the array and the version counter it
shares with ``data``): the one place in nn that writes them, with ``Tensor`` itself (see
``nnzoo.autograd.arrays`` for everything else)."""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor


class Parameter(Tensor):
    """A Tensor that is a module parameter: assigning it to a Module attribute registers it, and it
    requires grad by default. It shares memory with the tensor it is made from.

    Example::

        >>> from nnzoo import nn
        >>> p = nn.Parameter(nnzoo.zeros(2))
        >>> p.requires_grad
        True
    """

    __slots__ = ()

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True) -> None:
        if data is None:
            arr = np.empty((0,), dtype=np.float32)
            vc = [0]
        elif isinstance(data, Tensor):
            arr, vc = data._data, data._vc
        else:
            raise TypeError(f"Parameter: expected a Tensor, got {type(data).__name__}")
        self._data = arr
        self.requires_grad = False
        self.grad = None
        self.grad_fn = None
        self._output_nr = 0
        self._vc = vc
        self._accum = None
        if requires_grad:
            self.requires_grad_()

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()
