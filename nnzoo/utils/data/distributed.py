"""``torch.utils.data.distributed``: ``DistributedSampler`` (``nnzoo.data.sampler``) under PyTorch's module
path. ``num_replicas`` and ``rank`` are required until nnzoo has process groups (the distributed issue)."""
from ...data.sampler import DistributedSampler

__all__ = ["DistributedSampler"]
