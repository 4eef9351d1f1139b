"""nn.modules mirrors torch.nn.modules' module paths: every name an alias submodule exports is in its torch
namesake and is nnzoo.nn's own object; _pair and friends and consume_prefix_in_state_dict_if_present as torch's."""
import importlib

import pytest
import torch.nn as tnn
import torch.nn.modules.utils as tutils

import nnzoo
from nnzoo import nn
from nnzoo.nn.modules import utils as nutils

SUBS = ["activation", "batchnorm", "container", "conv", "distance", "dropout", "flatten", "fold", "instancenorm",
        "linear", "loss", "module", "normalization", "padding", "pixelshuffle", "pooling", "rnn", "sparse",
        "transformer", "upsampling"]


@pytest.mark.parametrize("sub", SUBS)
def test_alias_submodule_names_are_torchs_and_nnzoos_objects(sub):
    nz = importlib.import_module(f"nnzoo.nn.modules.{sub}")
    th = importlib.import_module(f"torch.nn.modules.{sub}")
    assert nz.__all__
    for name in nz.__all__:
        assert name in th.__all__, f"torch.nn.modules.{sub} has no {name}"
        assert getattr(nz, name) is getattr(nn, name)
        assert getattr(nnzoo.nn.modules, name) is getattr(nn, name)
    # and no name torch's namesake has and nnzoo.nn has is left out
    assert sorted(n for n in th.__all__ if hasattr(nn, n)) == sorted(nz.__all__)


def test_imports_as_torch_programs_write_them():
    from nnzoo.nn.modules.batchnorm import _BatchNorm
    from nnzoo.nn.modules.conv import _ConvNd
    from nnzoo.nn.modules.loss import _Loss, _WeightedLoss
    from nnzoo.nn.modules.module import Module
    from nnzoo.nn.modules.utils import _pair
    assert Module is nn.Module and issubclass(nn.MSELoss, _Loss) and issubclass(nn.NLLLoss, _WeightedLoss)
    assert issubclass(nn.Conv2d, _ConvNd) and issubclass(nn.BatchNorm2d, _BatchNorm) and _pair(3) == (3, 3)

    class MyLoss(_Loss):  # the way custom losses are written against torch
        def forward(self, input, target):
            return (input - target).abs().mean() if self.reduction == "mean" else (input - target).abs().sum()

    assert MyLoss(reduction="sum")(nnzoo.ones(3), nnzoo.zeros(3)).item() == 3.0
    assert tnn.modules.loss._Loss(reduction="sum").reduction == MyLoss(reduction="sum").reduction


@pytest.mark.parametrize("name", ["_single", "_pair", "_triple", "_quadruple"])
@pytest.mark.parametrize("value", [3, (1, 2), [4, 5, 6], "ab", 2.5])
def test_ntuple_helpers_as_torch(name, value):
    assert getattr(nutils, name)(value) == getattr(tutils, name)(value)
    assert getattr(nutils, name).__name__ == getattr(tutils, name).__name__


def test_reverse_repeat_and_consume_prefix_as_torch():
    assert nutils._reverse_repeat_tuple((1, 2, 3), 2) == tutils._reverse_repeat_tuple((1, 2, 3), 2)
    th_sd = tnn.DataParallel(tnn.Linear(2, 3)).state_dict()
    nz_sd = nn.DataParallel(nn.Linear(2, 3)).state_dict()
    tutils.consume_prefix_in_state_dict_if_present(th_sd, "module.")
    nutils.consume_prefix_in_state_dict_if_present(nz_sd, "module.")
    assert list(th_sd) == list(nz_sd) == ["weight", "bias"]
    nn.Linear(2, 3).load_state_dict(nz_sd)
