"""``torch.utils.data``'s layout over ``nnzoo.data``: the same objects (re-exported, not copied), so
``from nnzoo.utils.data import DataLoader`` and ``from nnzoo.utils.data.dataloader import DataLoader`` both work.

Submodules as in PyTorch: ``dataset``, ``dataloader``, ``sampler``, ``distributed``.
"""
from ...data import *  # noqa: F403
from ...data import __all__
from . import dataloader, dataset, distributed, sampler
