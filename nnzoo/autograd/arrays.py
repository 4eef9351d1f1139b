"""The sanctioned way for code above the ops (nn, optim, data, io) to reach the array behind a tensor.

A Tensor keeps its values in a private NumPy array (``Tensor._data``) and counts in-place writes in a
version counter that autograd checks before it uses a saved tensor. Layer code sometimes needs the array
itself, outside the graph; it goes through these five functions instead of the private attributes, so
that the day the storage changes (a CuPy array, a device buffer) one file changes with it:

- ``array(t)``: the array behind ``t``, no copy (a read, or the ``out=`` of an in-place NumPy call);
- ``as_array(x)``: the same for a Tensor, ``np.asarray(x)`` for anything else (masks, lengths, indices);
- ``wrap(arr)``: a tensor over ``arr``, no copy (a leaf, not tracked unless ``requires_grad``);
- ``assign_(t, values)``: write ``values`` into ``t`` in place (cast to its dtype), bumping its version
  as an in-place op does, so that a graph that saved ``t`` before the write refuses to backpropagate;
- ``bump_version(t)``: bump the version after writing into ``array(t)`` directly (``np.clip(a, lo, hi,
  out=a)``), the one-pass form for hot paths where ``assign_`` would allocate a temporary.

When nn code may use them: where PyTorch works under ``no_grad`` on ``.data`` or with in-place ops
outside autograd: initialisation (``nn.init``, ``reset_parameters``), buffer updates (BatchNorm's running
statistics), gradient clipping, ``zero_grad``, state-dict loading and dtype casts; and to turn masks and
lengths, which never carry gradients, into arrays. Never in a forward computation that must be
differentiated: that goes through the ops, which record the graph.

They are plain functions with no checks, one call each, for the hot paths (``clip_grad_norm_``, the
running statistics). ``Parameter`` (a Tensor subclass that fills its own slots) and ``Tensor`` itself
are the only code that touches the private attributes in nn. ``creation`` and ``random`` sit beside
``Tensor`` (they are how tensors are made, and this module imports ``Tensor`` after them), so they keep
``Tensor._make``; ``data``, ``io`` and ``train`` go through these functions.
The optimizers use them too (each ``_update`` reads its state buffers with ``array``), except the inner loop
of ``Optimizer.step``, the one place that writes parameters, which reads ``_data`` directly for speed (its
NOTE says what that measured).

Example::

    >>> from nnzoo.autograd.arrays import array, assign_, wrap
    >>> t = wrap(np.zeros(3, dtype=np.float32))
    >>> v = t._version
    >>> assign_(t, [1, 2, 3])
    tensor([1., 2., 3.])
    >>> t._version - v, array(t).dtype
    (1, dtype('float32'))
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor

__all__ = ["array", "as_array", "wrap", "assign_", "bump_version"]

_make = Tensor._make


def array(t: Tensor) -> np.ndarray:
    """The array behind ``t``, shared (writes to it change ``t``; follow them with ``bump_version``)."""
    return t._data


def as_array(x) -> np.ndarray:
    """``array(x)`` for a Tensor, ``np.asarray(x)`` for anything else (a list, a NumPy array)."""
    return x._data if isinstance(x, Tensor) else np.asarray(x)


def wrap(arr, requires_grad: bool = False) -> Tensor:
    """A leaf tensor over ``arr`` without copying (anything else is turned into an array first)."""
    return _make(arr, requires_grad)


def assign_(t: Tensor, values) -> Tensor:
    """Write ``values`` (an array, a scalar, anything that broadcasts to ``t``) into ``t`` in place, cast
    to its dtype, and bump its version; returns ``t``. Outside the graph: call it under ``no_grad``
    semantics (it records nothing)."""
    np.copyto(t._data, values, casting="unsafe")
    t._vc[0] += 1
    return t


def bump_version(t: Tensor) -> Tensor:
    """Count an in-place write made through ``array(t)`` (as every in-place op does); returns ``t``."""
    t._vc[0] += 1
    return t
