"""``torch.nn.parallel``: ``DataParallel`` as a CPU-only PyTorch build has it (it wraps a module and calls it
on the one device there is) and ``DistributedDataParallel``, data parallelism over the processes of an
``nnzoo.distributed`` group (MPI)."""
from .data_parallel import DataParallel, data_parallel
from .distributed import DistributedDataParallel

__all__ = ["DataParallel", "data_parallel", "DistributedDataParallel"]
