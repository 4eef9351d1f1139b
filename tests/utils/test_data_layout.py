"""``nnzoo.utils.data`` mirrors ``torch.utils.data``'s module layout over ``nnzoo.data`` (the same objects)."""
import importlib

import pytest
import torch.utils.data

import nnzoo
import nnzoo.data

SUBMODULES = ["dataset", "dataloader", "sampler", "distributed"]


@pytest.mark.parametrize("sub", SUBMODULES)
def test_each_submodule_reexports_nnzoo_data_under_torch_path(sub):
    nz = importlib.import_module(f"nnzoo.utils.data.{sub}")
    th = importlib.import_module(f"torch.utils.data.{sub}")
    assert nz.__all__
    for name in nz.__all__:
        assert hasattr(th, name), f"torch.utils.data.{sub} has no {name}"
        assert getattr(nz, name) is getattr(nnzoo.data, name), name  # re-exported, not copied


def test_from_imports_as_torch_programs_write_them():
    from nnzoo.utils.data import DataLoader, Dataset, DistributedSampler, TensorDataset
    from nnzoo.utils.data.dataloader import DataLoader as DL
    from nnzoo.utils.data.dataset import Dataset as DS
    from nnzoo.utils.data.distributed import DistributedSampler as DDS
    from nnzoo.utils.data.sampler import RandomSampler
    assert DataLoader is DL and Dataset is DS and DistributedSampler is DDS
    assert RandomSampler is nnzoo.data.RandomSampler and TensorDataset is nnzoo.data.TensorDataset
    assert nnzoo.utils.data.dataloader.DataLoader is DataLoader  # reachable after `import nnzoo`


def test_the_package_has_torchs_main_names():
    main = ["Dataset", "IterableDataset", "TensorDataset", "ConcatDataset", "Subset", "random_split", "DataLoader",
            "default_collate", "get_worker_info", "Sampler", "SequentialSampler", "RandomSampler",
            "SubsetRandomSampler", "WeightedRandomSampler", "BatchSampler", "DistributedSampler"]
    for name in main:
        assert hasattr(torch.utils.data, name) and hasattr(nnzoo.utils.data, name), name
