"""ResNet-18/34/50 with torchvision's structure (keys, shapes and parameter counts equal to torchvision's code,
written out here in torch; forward/backward parity with copied weights), torchvision's init, and the paper's
CIFAR ResNets with option A shortcuts (parameter counts computed from the architecture)."""
import math

import numpy as np
import pytest
import torch
from helpers import as_f64, check_model_parity, state_shapes
from torch import nn as tnn
from torch.nn import functional as TF

import nnzoo
from nnzoo.zoo import resnet as R


@pytest.fixture(autouse=True)
def _seeded():
    """Deterministic random weights in both libraries."""
    torch.manual_seed(0)
    nnzoo.manual_seed(0)


# ---- torchvision/models/resnet.py, written out in torch ------------------------------------------------
def t_conv3x3(i, o, stride=1):
    return tnn.Conv2d(i, o, kernel_size=3, stride=stride, padding=1, bias=False)


def t_conv1x1(i, o, stride=1):
    return tnn.Conv2d(i, o, kernel_size=1, stride=stride, bias=False)


class TBasic(tnn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1, self.bn1, self.relu = t_conv3x3(inplanes, planes, stride), tnn.BatchNorm2d(planes), tnn.ReLU()
        self.conv2, self.bn2 = t_conv3x3(planes, planes), tnn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class TBottleneck(tnn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1, self.bn1 = t_conv1x1(inplanes, planes), tnn.BatchNorm2d(planes)
        self.conv2, self.bn2 = t_conv3x3(planes, planes, stride), tnn.BatchNorm2d(planes)
        self.conv3, self.bn3 = t_conv1x1(planes, planes * 4), tnn.BatchNorm2d(planes * 4)
        self.relu, self.downsample = tnn.ReLU(), downsample

    def forward(self, x):
        out = self.relu(self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x))))))
        out = self.bn3(self.conv3(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class TResNet(tnn.Module):
    def __init__(self, block, layers, num_classes=1000):
        super().__init__()
        self.inplanes = 64
        self.conv1 = tnn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1, self.relu = tnn.BatchNorm2d(64), tnn.ReLU()
        self.maxpool = tnn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], 2)
        self.layer3 = self._make_layer(block, 256, layers[2], 2)
        self.layer4 = self._make_layer(block, 512, layers[3], 2)
        self.avgpool = tnn.AdaptiveAvgPool2d((1, 1))
        self.fc = tnn.Linear(512 * block.expansion, num_classes)

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = tnn.Sequential(t_conv1x1(self.inplanes, planes * block.expansion, stride),
                                        tnn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return tnn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


TORCHVISION = {"resnet18": (TBasic, [2, 2, 2, 2]), "resnet34": (TBasic, [3, 4, 6, 3]),
               "resnet50": (TBottleneck, [3, 4, 6, 3])}
ISSUE_COUNTS = {"resnet18": 11_689_512, "resnet50": 25_557_032}  # the issue's (torchvision's) counts


def _count(m):
    return sum(p.numel() for p in m.parameters())


@pytest.mark.parametrize("name", list(TORCHVISION))
def test_torchvision_keys_shapes_and_parameter_counts(name):
    nz = getattr(R, name)()
    with torch.device("meta"):
        th = TResNet(*TORCHVISION[name])
    assert list(nz.state_dict()) == list(th.state_dict())  # incl. running_mean/var, num_batches_tracked
    assert state_shapes(nz.state_dict()) == state_shapes(th.state_dict())
    assert _count(nz) == _count(th)
    if name in ISSUE_COUNTS:
        assert _count(nz) == ISSUE_COUNTS[name]
    assert "layer2.0.downsample.0.weight" in nz.state_dict() and "layer2.0.downsample.1.running_var" in nz.state_dict()


@pytest.mark.parametrize("train", [False, True])
def test_resnet18_matches_torch_on_a_64x64_image(train):
    th = TResNet(TBasic, [2, 2, 2, 2], num_classes=7)
    with torch.no_grad():  # non-trivial BN statistics and affine parameters, so eval mode tests them
        for m in th.modules():
            if isinstance(m, tnn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
    check_model_parity(R.resnet18(num_classes=7), th, np.random.default_rng(0).standard_normal((2, 3, 64, 64)), train)


def test_bottleneck_resnet_matches_torch():
    # a one-block-per-stage bottleneck ResNet: every bottleneck path (downsample in all four stages)
    th = TResNet(TBottleneck, [1, 1, 1, 1], num_classes=3)
    check_model_parity(R.ResNet(R.Bottleneck, [1, 1, 1, 1], num_classes=3), th,
                  np.random.default_rng(2).standard_normal((2, 3, 32, 32)), train=True)


def test_torchvision_init_and_zero_init_residual():
    m = R.ResNet(R.BasicBlock, [1, 1, 1, 1], num_classes=10)
    w = m.layer3[0].conv1.weight  # 256 x 128 x 3 x 3
    fan_out = w.shape[0] * w.shape[2] * w.shape[3]
    assert abs(float(w.std()) / math.sqrt(2.0 / fan_out) - 1) < 0.05      # kaiming_normal_, fan_out, relu
    assert abs(float(w.mean())) < 0.01 * math.sqrt(2.0 / fan_out) * 10
    for mod in m.modules():
        if isinstance(mod, nnzoo.nn.BatchNorm2d):
            assert float(mod.weight.min()) == float(mod.weight.max()) == 1.0 and float(mod.bias.abs().max()) == 0
    z = R.ResNet(R.BasicBlock, [1, 1, 1, 1], zero_init_residual=True)
    assert all(float(b.bn2.weight.abs().max()) == 0 and float(b.bn1.weight.min()) == 1
               for layer in (z.layer1, z.layer2, z.layer3, z.layer4) for b in layer)
    zb = R.ResNet(R.Bottleneck, [1, 1, 1, 1], zero_init_residual=True)
    assert all(float(b.bn3.weight.abs().max()) == 0 for layer in (zb.layer1, zb.layer4) for b in layer)
    # a zero-initialised block is the identity followed by relu
    block = z.layer1[0].eval()
    x = nnzoo.randn(1, 64, 5, 5)
    np.testing.assert_allclose(as_f64(block(x)), np.maximum(as_f64(x), 0), atol=1e-6)


def test_resnet_options():
    m = R.resnet18(num_classes=5, in_channels=1)
    assert m(nnzoo.zeros(1, 1, 64, 64)).shape == (1, 5)
    with pytest.raises(ValueError, match="BasicBlock only supports"):
        R.BasicBlock(8, 8, groups=2)
    with pytest.raises(ValueError, match="3-element"):
        R.ResNet(R.BasicBlock, [1, 1, 1, 1], replace_stride_with_dilation=[True])
    # dilation instead of stride in the last stage keeps its maps at the size of stage 3
    d = R.ResNet(R.Bottleneck, [1, 1, 1, 1], num_classes=3, replace_stride_with_dilation=[False, False, True])
    feats = {}
    d.layer4.register_forward_hook(lambda mod, args, out: feats.__setitem__("l4", out.shape))
    d.layer3.register_forward_hook(lambda mod, args, out: feats.__setitem__("l3", out.shape))
    assert d(nnzoo.zeros(1, 3, 64, 64)).shape == (1, 3)
    assert feats["l4"][2:] == feats["l3"][2:] == (4, 4)
    # grouped bottleneck (ResNeXt-style): width = planes * width_per_group / 64 * groups
    x = R.ResNet(R.Bottleneck, [1, 1, 1, 1], num_classes=3, groups=4, width_per_group=8)
    assert x.layer1[0].conv2.weight.shape == (32, 8, 3, 3)
    assert x(nnzoo.zeros(2, 3, 32, 32)).shape == (2, 3)  # batch 2: BN trains on the 1x1 maps of stage 4


# ---- the paper's CIFAR ResNets ----------------------------------------------------------------------
def cifar_count(n, num_classes=10, shortcut="A"):
    """Parameters of the 6n + 2 CIFAR ResNet from its layer list: conv 3x3 3->16 + BN, three stages of n
    basic blocks (two 3x3 convs + two BNs each) at 16/32/64 channels, the linear layer; option B adds a
    1x1 conv + BN where the width changes."""
    total = 3 * 16 * 9 + 2 * 16
    c_in = 16
    for c in (16, 32, 64):
        for _ in range(n):
            total += c_in * c * 9 + c * c * 9 + 2 * 2 * c
            if shortcut == "B" and c_in != c:
                total += c_in * c + 2 * c
            c_in = c
    return total + 64 * num_classes + num_classes


@pytest.mark.parametrize("depth, paper_millions", [(20, 0.27), (32, 0.46), (44, 0.66), (56, 0.85), (110, 1.7)])
def test_cifar_resnet_parameter_counts(depth, paper_millions):
    m = getattr(R, f"resnet{depth}")()
    n = (depth - 2) // 6
    assert _count(m) == cifar_count(n)
    assert round(_count(m) / 1e6, 2 if depth < 110 else 1) == paper_millions  # the paper's Table 6
    # depth = the weighted layers: convs and the linear layer (option A shortcuts have no weights)
    assert sum(1 for mod in m.modules() if isinstance(mod, (nnzoo.nn.Conv2d, nnzoo.nn.Linear))) == depth
    assert _count(R.CifarResNet(depth, shortcut="B")) == cifar_count(n, shortcut="B")


def test_option_a_shortcut_is_subsampling_plus_zero_channels():
    x = np.random.default_rng(3).standard_normal((2, 16, 8, 8)).astype(np.float32)
    out = as_f64(R.ZeroPadShortcut(16, 32, 2)(nnzoo.tensor(x)))
    want = np.zeros((2, 32, 4, 4))
    want[:, 8:24] = x[:, :, ::2, ::2]
    np.testing.assert_array_equal(out, want)
    assert _count(R.ZeroPadShortcut(16, 32)) == 0
    with pytest.raises(ValueError):
        R.ZeroPadShortcut(32, 16)


class TCifarResNet(tnn.Module):
    """The option A CIFAR ResNet in torch (the layout of the widely used PyTorch reimplementation)."""

    def __init__(self, n, num_classes=10):
        super().__init__()
        self.conv1, self.bn1, self.relu = t_conv3x3(3, 16), tnn.BatchNorm2d(16), tnn.ReLU()
        blocks, c_in = [], 16
        for c, stride in ((16, 1), (32, 2), (64, 2)):
            stage = []
            for i in range(n):
                down = None
                if i == 0 and (stride != 1 or c_in != c):
                    pad = (c - c_in) // 2
                    down = _Lambda(lambda x, pad=pad: TF.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, pad, pad)))
                stage.append(TBasic(c_in, c, stride if i == 0 else 1, down))
                c_in = c
            blocks.append(tnn.Sequential(*stage))
        self.layer1, self.layer2, self.layer3 = blocks
        self.avgpool, self.fc = tnn.AdaptiveAvgPool2d(1), tnn.Linear(64, num_classes)

    def forward(self, x):
        x = self.layer3(self.layer2(self.layer1(self.relu(self.bn1(self.conv1(x))))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class _Lambda(tnn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def test_cifar_resnet20_matches_torch():
    th = TCifarResNet(3, num_classes=10)
    nz = R.resnet20()
    assert list(nz.state_dict()) == list(th.state_dict())
    check_model_parity(nz, th, np.random.default_rng(4).standard_normal((2, 3, 16, 16)), train=True)


def test_cifar_resnet_shapes_and_errors():
    assert R.resnet20(num_classes=4)(nnzoo.zeros(2, 3, 32, 32)).shape == (2, 4)
    b = R.CifarResNet(8, shortcut="B")
    assert "layer2.0.downsample.0.weight" in b.state_dict() and b(nnzoo.zeros(1, 3, 8, 8)).shape == (1, 10)
    with pytest.raises(ValueError, match="6n \\+ 2"):
        R.CifarResNet(21)
    with pytest.raises(ValueError, match="shortcut"):
        R.CifarResNet(20, shortcut="C")
