"""AlexNet (the notes' list) and torchvision's AlexNet: torch parity with copied weights at a small input,
state_dict keys and shapes equal to the same architecture written in torch, parameter counts."""
import numpy as np
import pytest
import torch
from helpers import state_shapes
from torch import nn as tnn

import nnzoo
from nnzoo.zoo.alexnet import AlexNet, TorchvisionAlexNet, alexnet


@pytest.fixture(autouse=True)
def _seeded():
    """Deterministic random weights in both libraries."""
    torch.manual_seed(0)
    nnzoo.manual_seed(0)


def torch_alexnet_notes(num_classes, s, groups=1):
    """The notes' AlexNet in torch (s: the last maps' size), laid out as nnzoo's."""
    lrn = dict(size=5, alpha=1e-4, beta=0.75, k=2.0)
    m = tnn.Module()
    m.features = tnn.Sequential(
        tnn.Conv2d(3, 96, 11, stride=4), tnn.ReLU(), tnn.LocalResponseNorm(**lrn), tnn.MaxPool2d(3, 2),
        tnn.Conv2d(96, 256, 5, padding=2, groups=groups), tnn.ReLU(), tnn.LocalResponseNorm(**lrn),
        tnn.MaxPool2d(3, 2),
        tnn.Conv2d(256, 384, 3, padding=1), tnn.ReLU(),
        tnn.Conv2d(384, 384, 3, padding=1, groups=groups), tnn.ReLU(),
        tnn.Conv2d(384, 256, 3, padding=1, groups=groups), tnn.ReLU(), tnn.MaxPool2d(3, 2))
    m.classifier = tnn.Sequential(
        tnn.Dropout(0.5), tnn.Linear(256 * s * s, 4096), tnn.ReLU(), tnn.Dropout(0.5), tnn.Linear(4096, 4096),
        tnn.ReLU(), tnn.Linear(4096, num_classes))
    m.forward = lambda x: m.classifier(torch.flatten(m.features(x), 1))
    return m


def torchvision_alexnet(num_classes=1000):
    """torchvision.models.alexnet's architecture (torchvision/models/alexnet.py), written out."""
    m = tnn.Module()
    m.features = tnn.Sequential(
        tnn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2), tnn.ReLU(inplace=True),
        tnn.MaxPool2d(kernel_size=3, stride=2),
        tnn.Conv2d(64, 192, kernel_size=5, padding=2), tnn.ReLU(inplace=True), tnn.MaxPool2d(kernel_size=3, stride=2),
        tnn.Conv2d(192, 384, kernel_size=3, padding=1), tnn.ReLU(inplace=True),
        tnn.Conv2d(384, 256, kernel_size=3, padding=1), tnn.ReLU(inplace=True),
        tnn.Conv2d(256, 256, kernel_size=3, padding=1), tnn.ReLU(inplace=True), tnn.MaxPool2d(kernel_size=3, stride=2))
    m.avgpool = tnn.AdaptiveAvgPool2d((6, 6))
    m.classifier = tnn.Sequential(
        tnn.Dropout(p=0.5), tnn.Linear(256 * 6 * 6, 4096), tnn.ReLU(inplace=True), tnn.Dropout(p=0.5),
        tnn.Linear(4096, 4096), tnn.ReLU(inplace=True), tnn.Linear(4096, num_classes))
    m.forward = lambda x: m.classifier(torch.flatten(m.avgpool(m.features(x)), 1))
    return m


def _close(got, want, what, rtol):
    """max |got - want| <= rtol * max |want| (in the arrays' own dtype: the classifier has 55M weights)."""
    got = got.detach() if isinstance(got, nnzoo.Tensor) else got
    got, want = np.asarray(got), want.detach().numpy()
    assert got.shape == want.shape, what
    err, scale = np.abs(got - want).max(), np.abs(want).max()
    assert err <= rtol * scale, f"{what}: max difference {err:.3g}, scale {scale:.3g}"


def _check_parity(nz, th, x, double=True):
    """Same weights: the same outputs (eval mode: no dropout) and the same input and weight gradients.
    float64 by default; float32 (tolerance 1e-4 of each array's scale) for the big ones, to save memory."""
    nz.load_state_dict(th.state_dict())
    if double:
        nz.double(), th.double()
    else:
        x = x.astype(np.float32)
    nz.eval(), th.eval()
    rtol = 1e-9 if double else 1e-4
    xt, xn = torch.tensor(x, requires_grad=True), nnzoo.tensor(x, requires_grad=True)
    yt, yn = th(xt), nz(xn)
    _close(yn, yt, "output", rtol)
    u = np.random.default_rng(1).standard_normal(tuple(yt.shape)).astype(x.dtype)
    (yt * torch.tensor(u)).sum().backward()
    (yn * nnzoo.tensor(u)).sum().backward()
    _close(xn.grad, xt.grad, "input grad", rtol)
    params_t = dict(th.named_parameters())
    for name, p in nz.named_parameters():
        _close(p.grad, params_t[name].grad, name, rtol)


@pytest.mark.parametrize("groups", [1, 2])
def test_notes_alexnet_matches_torch_at_a_small_input(groups):
    # 67x67 is the smallest input the notes' stack takes: 67 -> 15 -> 7 -> 7 -> 3 -> 3 -> 1
    nz = AlexNet(num_classes=5, input_size=67, groups=groups)
    th = torch_alexnet_notes(5, 1, groups)
    assert list(nz.state_dict()) == list(th.state_dict())
    assert state_shapes(nz.state_dict()) == state_shapes(th.state_dict())
    _check_parity(nz, th, np.random.default_rng(0).standard_normal((2, 3, 67, 67)))


def test_notes_alexnet_classifier_input_follows_the_input_size():
    def side(n):  # conv1 (n - 11) // 4 + 1, then three 3x3/2 pools
        for k, st in [(11, 4), (3, 2), (3, 2), (3, 2)]:
            n = (n - k) // st + 1
        return n

    assert side(227) == 6
    for n in (67, 99, 131):
        assert AlexNet(num_classes=10, input_size=n, dropout=0.0).classifier[1].in_features == 256 * side(n) ** 2
    with pytest.raises(ValueError, match="too small"):
        AlexNet(input_size=66)


def test_notes_alexnet_parameter_count_at_227():
    nz = AlexNet()
    with torch.device("meta"):
        th = torch_alexnet_notes(1000, 6)
        th2 = torch_alexnet_notes(1000, 6, groups=2)
    assert state_shapes(nz.state_dict()) == state_shapes(th.state_dict())
    assert sum(p.numel() for p in nz.parameters()) == sum(p.numel() for p in th.parameters())
    # the paper's two-GPU network has "60 million parameters"
    assert 60e6 < sum(p.numel() for p in th2.parameters()) < 61e6


def test_torchvision_alexnet_keys_count_and_parity():
    nz = alexnet()
    assert isinstance(nz, TorchvisionAlexNet)
    th = torchvision_alexnet()
    assert list(nz.state_dict()) == list(th.state_dict())
    assert state_shapes(nz.state_dict()) == state_shapes(th.state_dict())
    # torchvision's documented count for alexnet (AlexNet_Weights.IMAGENET1K_V1.meta["num_params"])
    assert sum(p.numel() for p in nz.parameters()) == sum(p.numel() for p in th.parameters()) == 61_100_840
    _check_parity(nz, th, np.random.default_rng(2).standard_normal((1, 3, 63, 63)), double=False)
