"""How tensors cross process boundaries: through shared memory, never by copying their values.

Registered with ``multiprocessing``'s ``ForkingPickler`` (what a ``Queue`` and a spawned ``Process``'s
arguments go through; plain ``pickle`` still refuses tensors): a tensor is first moved into shared memory
(``Tensor.share_memory_``, as PyTorch does), then sent as its mapping's file descriptor plus dtype, shape,
strides and offset. The receiver maps the same pages, so both processes see each other's in-place writes.
A Parameter arrives as a Parameter with its ``requires_grad``; ``.grad`` is not sent (as in PyTorch).

A spawned child re-runs the parent's main script before it receives its arguments; under ``nnzoo run`` that
script imports ``torch``, so the child must map ``torch`` to nnzoo first: ``install()`` adds an entry to the
preparation data ``multiprocessing`` sends a spawned child, whose unpickling turns the mapping on there.
"""
from __future__ import annotations

import mmap
import multiprocessing.spawn
import sys
from multiprocessing.reduction import DupFd, ForkingPickler

import numpy as np

from ..autograd.arrays import array, wrap
from ..nn.parameter import Parameter
from ..tensor import Tensor, _register_mapping, _shared_mapping_of

__all__ = ["reduce_tensor", "rebuild_shared_tensor", "install"]


def reduce_tensor(t: Tensor) -> tuple:
    """The pickle recipe of ``t``: its shared mapping's descriptor and its layout in it."""
    if t.requires_grad and t.grad_fn is not None:
        raise RuntimeError("Cowardly refusing to serialize non-leaf tensor which requires_grad, since autograd "
                           "does not support crossing process boundaries.  If you just want to transfer the data, "
                           "call detach() on the tensor before serializing (e.g., putting it on the queue).")
    arr = array(t.share_memory_())
    mm, fd, start = _shared_mapping_of(arr)
    if fd < 0:   # no memfd_create on this OS: the values travel by copy
        return _rebuild_copy, (type(t), arr.copy(), t.requires_grad)
    offset = arr.__array_interface__["data"][0] - start
    return rebuild_shared_tensor, (type(t), DupFd(fd), len(mm), arr.dtype, arr.shape, arr.strides, offset,
                                   t.requires_grad)


def _as_class(cls: type, arr: np.ndarray, requires_grad: bool) -> Tensor:
    t = wrap(arr)
    if issubclass(cls, Parameter):
        return Parameter(t, requires_grad=requires_grad)
    return t.requires_grad_(requires_grad)


def rebuild_shared_tensor(cls: type, dup_fd: DupFd, size: int, dtype: np.dtype, shape: tuple[int, ...],
                          strides: tuple[int, ...], offset: int, requires_grad: bool) -> Tensor:
    """The receiving side of ``reduce_tensor``: map the descriptor's pages and view the tensor in them."""
    fd = dup_fd.detach()
    mm = mmap.mmap(fd, size)
    _register_mapping(mm, fd)
    return _as_class(cls, np.ndarray(shape, dtype, buffer=mm, offset=offset, strides=strides), requires_grad)


def _rebuild_copy(cls: type, arr: np.ndarray, requires_grad: bool) -> Tensor:
    return _as_class(cls, arr, requires_grad)


# ---- the torch -> nnzoo mapping in spawned children ------------------------------------------------------
_child_hook = None


def _map_torch_in_child() -> None:
    """Run in a spawned child while it unpickles its preparation data: ``import torch`` imports nnzoo."""
    global _child_hook
    if _child_hook is None:
        from ..run import torch_is_nnzoo
        _child_hook = torch_is_nnzoo()
        _child_hook.__enter__()   # for the child's whole life, as ``nnzoo run`` does for the parent


class _MapTorch:
    """An entry of a spawned child's preparation data whose unpickling calls ``_map_torch_in_child``."""

    def __reduce__(self) -> tuple:
        return _map_torch_in_child, ()


def _torch_is_nnzoo() -> bool:
    run = sys.modules.get("nnzoo.run")
    return run is not None and isinstance(sys.modules.get("torch"), run.AliasModule)


def install() -> None:
    """Register the tensor reducers with ``ForkingPickler`` and the torch mapping for spawned children.

    Called once when ``nnzoo.multiprocessing`` is imported (PyTorch registers its reducers the same way).
    """
    for cls in (Tensor, Parameter):
        ForkingPickler.register(cls, reduce_tensor)
    original = multiprocessing.spawn.get_preparation_data
    if getattr(original, "_nnzoo", False):
        return

    def get_preparation_data(name: str) -> dict:
        data = original(name)
        if _torch_is_nnzoo():   # unknown keys are ignored by the child's prepare(); unpickling runs this first
            data["nnzoo_map_torch"] = _MapTorch()
        return data

    get_preparation_data._nnzoo = True
    multiprocessing.spawn.get_preparation_data = get_preparation_data
