"""VGG-11/13/16/19 (+BN) with torchvision's structure: state_dict keys and shapes equal to torchvision's code
(written out here in torch), VGG-16's parameter count, torch parity of a small VGG, the issue's SmallVGG."""
import math

import numpy as np
import pytest
import torch
from helpers import as_f64, check_model_parity, state_shapes
from torch import nn as tnn

import nnzoo
from nnzoo.zoo import vgg as V


@pytest.fixture(autouse=True)
def _seeded():
    """Deterministic random weights in both libraries."""
    torch.manual_seed(0)
    nnzoo.manual_seed(0)


# ---- torchvision/models/vgg.py, written out in torch (with nnzoo's keyword extensions hidden/pool_size) ----
class TorchVGG(tnn.Module):
    def __init__(self, features, num_classes=1000, dropout=0.5, hidden=4096, pool_size=7, width=512):
        super().__init__()
        self.features = features
        self.avgpool = tnn.AdaptiveAvgPool2d((pool_size, pool_size))
        self.classifier = tnn.Sequential(
            tnn.Linear(width * pool_size * pool_size, hidden), tnn.ReLU(True), tnn.Dropout(p=dropout),
            tnn.Linear(hidden, hidden), tnn.ReLU(True), tnn.Dropout(p=dropout), tnn.Linear(hidden, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def torch_make_layers(cfg, batch_norm=False):
    layers, in_channels = [], 3
    for v in cfg:
        if v == "M":
            layers += [tnn.MaxPool2d(kernel_size=2, stride=2)]
        else:
            conv2d = tnn.Conv2d(in_channels, v, kernel_size=3, padding=1)
            layers += [conv2d, tnn.BatchNorm2d(v), tnn.ReLU(inplace=True)] if batch_norm else [conv2d, tnn.ReLU(True)]
            in_channels = v
    return tnn.Sequential(*layers)


TORCHVISION_CFGS = {  # torchvision's cfgs, copied
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}
MODELS = {"vgg11": ("A", False), "vgg11_bn": ("A", True), "vgg13": ("B", False), "vgg13_bn": ("B", True),
          "vgg16": ("D", False), "vgg16_bn": ("D", True), "vgg19": ("E", False), "vgg19_bn": ("E", True)}


def test_configurations_are_torchvisions():
    assert V.cfgs == TORCHVISION_CFGS
    # the paper's depths: weight layers = convs + 3 fully connected
    assert {c: sum(v != "M" for v in cfg) + 3 for c, cfg in V.cfgs.items()} == {"A": 11, "B": 13, "D": 16, "E": 19}


def test_vgg16_has_torchvisions_keys_and_138357544_parameters():
    nz = V.vgg16()
    with torch.device("meta"):
        th = TorchVGG(torch_make_layers(TORCHVISION_CFGS["D"]))
    assert list(nz.state_dict()) == list(th.state_dict())
    assert state_shapes(nz.state_dict()) == state_shapes(th.state_dict())
    n = sum(p.numel() for p in nz.parameters())
    assert n == sum(p.numel() for p in th.parameters()) == 138_357_544  # the issue's (torchvision's) count
    # torchvision's init: linear weights N(0, 0.01), conv weights kaiming normal with fan_out
    w = nz.classifier[0].weight
    assert abs(float(w.std()) - 0.01) < 1e-4 and float(nz.classifier[0].bias.abs().max()) == 0
    conv = nz.features[0].weight
    fan_out = conv.shape[0] * conv.shape[2] * conv.shape[3]
    assert abs(float(conv.std()) / math.sqrt(2 / fan_out) - 1) < 0.1


@pytest.mark.parametrize("name", list(MODELS))
def test_every_configuration_has_torchvisions_feature_keys(name):
    cfg, bn = MODELS[name]
    # the features stack of each model (the classifier is VGG's, checked on vgg16 above; building all
    # eight 130M-parameter models would only repeat it)
    nz = V.make_layers(V.cfgs[cfg], batch_norm=bn)
    with torch.device("meta"):
        th = torch_make_layers(TORCHVISION_CFGS[cfg], bn)
    assert state_shapes(nz.state_dict()) == state_shapes(th.state_dict())
    assert list(nz.state_dict()) == list(th.state_dict())
    assert getattr(V, name).__doc__


@pytest.mark.parametrize("bn", [False, True])
@pytest.mark.parametrize("train", [False, True])
def test_small_vgg_matches_torch(bn, train):
    # pool_size 3 on 2x2 maps also checks the adaptive pool's overlapping, upsampling bins
    cfg = [8, "M", 16, 16, "M"]
    nz = V.VGG(V.make_layers(cfg, batch_norm=bn), num_classes=5, dropout=0.0, hidden=32, pool_size=3).double()
    th = TorchVGG(torch_make_layers(cfg, bn), num_classes=5, dropout=0.0, hidden=32, pool_size=3, width=16).double()
    assert list(nz.state_dict()) == list(th.state_dict())
    check_model_parity(nz, th, np.random.default_rng(0).standard_normal((3, 3, 8, 8)), train)


def test_small_vgg_is_the_issues_benchmark_network():
    m = V.SmallVGG()
    th = tnn.Sequential()
    th.features = tnn.Sequential(
        tnn.Conv2d(3, 32, 3, padding=1), tnn.ReLU(), tnn.Conv2d(32, 32, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Conv2d(32, 64, 3, padding=1), tnn.ReLU(), tnn.Conv2d(64, 64, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2))
    th.classifier = tnn.Sequential(tnn.Linear(4096, 256), tnn.ReLU(), tnn.Linear(256, 10))
    assert state_shapes(m.state_dict()) == state_shapes(th.state_dict())
    m.load_state_dict(th.state_dict())
    x = np.random.default_rng(2).standard_normal((2, 3, 32, 32)).astype(np.float32)
    want = th.classifier(torch.flatten(th.features(torch.tensor(x)), 1))
    np.testing.assert_allclose(as_f64(m(nnzoo.tensor(x))), as_f64(want), atol=1e-5)


def test_classifier_width_comes_from_the_last_conv():
    m = V.VGG(V.make_layers([4, "M", 6]), num_classes=3, hidden=8, pool_size=1)
    assert m.classifier[0].in_features == 6
    assert m(nnzoo.zeros(1, 3, 4, 4)).shape == (1, 3)
    with pytest.raises(ValueError, match="no Conv2d"):
        V.VGG(nnzoo.nn.Sequential(nnzoo.nn.ReLU()))
