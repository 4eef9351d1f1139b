"""``torch.distributed`` as a PyTorch build without distributed support has it: a stub until issue 22.

nnzoo has no process groups yet (issue 22 builds them, over MPI). Until then ``is_available()`` and
``is_initialized()`` are False, the names a program imports at its top (``init_process_group``,
``destroy_process_group``, ``ReduceOp``, ...) exist, and calling any collective or group function raises a
``RuntimeError`` that says so. A program that, like nanoGPT's ``train.py``, imports them and calls them only
when launched by ``torchrun`` (``RANK`` set) runs unchanged on one process.

Example::

    >>> import nnzoo.distributed as dist
    >>> dist.is_available(), dist.is_initialized()
    (False, False)
    >>> dist.init_process_group(backend="gloo")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    RuntimeError: torch.distributed.init_process_group: nnzoo has no distributed backend yet (issue 22); ...
"""
from __future__ import annotations

import enum
import os
from typing import Any, NoReturn

__all__ = ["is_available", "is_initialized", "is_nccl_available", "is_gloo_available", "is_mpi_available",
           "is_torchelastic_launched", "ReduceOp", "Backend", "GroupMember", "group",
           "init_process_group", "destroy_process_group", "new_group", "get_rank", "get_world_size",
           "get_backend", "get_process_group_ranks", "barrier", "monitored_barrier", "all_reduce", "reduce",
           "broadcast", "all_gather", "all_gather_into_tensor", "gather", "scatter", "reduce_scatter",
           "reduce_scatter_tensor", "all_to_all", "all_to_all_single", "send", "recv", "isend", "irecv",
           "broadcast_object_list", "all_gather_object", "gather_object", "scatter_object_list"]


def _unavailable(name: str) -> NoReturn:
    raise RuntimeError(f"torch.distributed.{name}: nnzoo has no distributed backend yet (issue 22); "
                           "torch.distributed.is_available() is False, so run the program in one process "
                           "(without torchrun)")


def is_available() -> bool:
    """False: this build has no distributed backend (PyTorch's answer on a build without distributed)."""
    return False


def is_initialized() -> bool:
    """False: no default process group can exist without a backend."""
    return False


def is_nccl_available() -> bool:
    return False


def is_gloo_available() -> bool:
    return False


def is_mpi_available() -> bool:
    return False


def is_torchelastic_launched() -> bool:
    """Whether the process was started by ``torchrun`` (it sets ``TORCHELASTIC_RUN_ID``), as in PyTorch."""
    return os.getenv("TORCHELASTIC_RUN_ID") is not None


class ReduceOp(enum.Enum):
    """The reductions of ``all_reduce``/``reduce`` (``dist.ReduceOp.SUM``), named as in PyTorch."""
    SUM = 0
    AVG = 1
    PRODUCT = 2
    MIN = 3
    MAX = 4
    BAND = 5
    BOR = 6
    BXOR = 7
    PREMUL_SUM = 8


class Backend(str):
    """Backend names as PyTorch spells them (``Backend.GLOO == "gloo"``); none is usable here."""
    UNDEFINED = "undefined"
    GLOO = "gloo"
    NCCL = "nccl"
    UCC = "ucc"
    MPI = "mpi"

    def __new__(cls, name: str) -> Backend:
        return super().__new__(cls, name.lower())


class GroupMember:
    """``GroupMember.WORLD`` (the default group: None until ``init_process_group``) and ``NON_GROUP_MEMBER``."""
    WORLD = None
    NON_GROUP_MEMBER = -100


class group:  # PyTorch's name, lower case
    """``dist.group.WORLD``: the default group, None while no process group exists."""
    WORLD = None


def _stub(name: str, doc: str):
    def call(*args: Any, **kwargs: Any) -> NoReturn:
        _unavailable(name)
    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"{doc} Raises RuntimeError: nnzoo has no distributed backend yet (issue 22)."
    return call


init_process_group = _stub("init_process_group", "Join the default process group.")
destroy_process_group = _stub("destroy_process_group", "Leave and destroy a process group.")
new_group = _stub("new_group", "A process group over a subset of the ranks.")
get_rank = _stub("get_rank", "This process's rank in a group.")
get_world_size = _stub("get_world_size", "The number of processes in a group.")
get_backend = _stub("get_backend", "The backend of a group.")
get_process_group_ranks = _stub("get_process_group_ranks", "The global ranks of a group.")
barrier = _stub("barrier", "Wait until every process of the group reaches it.")
monitored_barrier = _stub("monitored_barrier", "A barrier that names the ranks that do not reach it.")
all_reduce = _stub("all_reduce", "Reduce a tensor over all processes, every process getting the result.")
reduce = _stub("reduce", "Reduce a tensor over all processes onto one.")
broadcast = _stub("broadcast", "Send one process's tensor to all.")
all_gather = _stub("all_gather", "Gather every process's tensor into a list on every process.")
all_gather_into_tensor = _stub("all_gather_into_tensor", "Gather every process's tensor into one tensor.")
gather = _stub("gather", "Gather every process's tensor onto one.")
scatter = _stub("scatter", "Send one tensor of a list to each process.")
reduce_scatter = _stub("reduce_scatter", "Reduce a list of tensors, then scatter the results.")
reduce_scatter_tensor = _stub("reduce_scatter_tensor", "Reduce a tensor, then scatter its chunks.")
all_to_all = _stub("all_to_all", "Each process sends a tensor to each other.")
all_to_all_single = _stub("all_to_all_single", "Each process sends a chunk of one tensor to each other.")
send = _stub("send", "Send a tensor to a rank.")
recv = _stub("recv", "Receive a tensor from a rank.")
isend = _stub("isend", "Send a tensor to a rank without waiting.")
irecv = _stub("irecv", "Receive a tensor from a rank without waiting.")
broadcast_object_list = _stub("broadcast_object_list", "Send picklable objects from one process to all.")
all_gather_object = _stub("all_gather_object", "Gather a picklable object from every process.")
gather_object = _stub("gather_object", "Gather picklable objects onto one process.")
scatter_object_list = _stub("scatter_object_list", "Send one picklable object to each process.")
