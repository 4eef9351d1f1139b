"""``torch.nn.parallel`` as a CPU-only PyTorch build has it: ``DataParallel`` wraps a module and calls it on
the one device there is; ``DistributedDataParallel`` arrives with the distributed issue."""
from .data_parallel import DataParallel, data_parallel
from .distributed import DistributedDataParallel

__all__ = ["DataParallel", "data_parallel", "DistributedDataParallel"]
