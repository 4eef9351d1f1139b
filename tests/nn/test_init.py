"""nn.init against torch.nn.init: gains and fans equal, bounds equal, moments equal statistically (the random
streams differ, so samples are compared by their distribution), and every layer's default initialisation."""
import math

import numpy as np
import pytest
import torch
import torch.nn as tnn

import nnzoo
from nnzoo import nn
from nnzoo.nn import init


def test_calculate_gain_matches_torch():
    for name in ["linear", "conv2d", "sigmoid", "tanh", "relu", "selu", "leaky_relu"]:
        assert init.calculate_gain(name) == pytest.approx(tnn.init.calculate_gain(name))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(tnn.init.calculate_gain("leaky_relu", 0.2))
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")


@pytest.mark.parametrize("shape", [(3, 4), (8, 3, 5, 5), (2, 6, 7)])
def test_fans_match_torch(shape):
    assert init._calculate_fan_in_and_fan_out(nnzoo.empty(shape)) == \
        tnn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    with pytest.raises(ValueError):
        init._calculate_fan_in_and_fan_out(nnzoo.empty(3))


SHAPE = (200, 300)  # 60000 samples: moments to ~1%

CASES = [
    ("uniform_", dict(a=-0.3, b=0.7)),
    ("normal_", dict(mean=0.5, std=2.0)),
    ("trunc_normal_", dict(mean=0.1, std=1.0, a=-0.5, b=1.5)),
    ("xavier_uniform_", dict(gain=2.0)),
    ("xavier_normal_", dict(gain=0.5)),
    ("kaiming_uniform_", dict(a=math.sqrt(5))),
    ("kaiming_uniform_", dict(mode="fan_out", nonlinearity="relu")),
    ("kaiming_normal_", dict(nonlinearity="relu")),
    ("kaiming_normal_", dict(a=0.1, mode="fan_out")),
]


@pytest.mark.parametrize("name,kw", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_distribution_matches_torch(name, kw):
    a = getattr(init, name)(nnzoo.empty(SHAPE), **kw, generator=nnzoo.Generator().manual_seed(1)).numpy()
    b = getattr(tnn.init, name)(torch.empty(SHAPE, dtype=torch.float64), **kw,
                                generator=torch.Generator().manual_seed(1)).numpy()
    assert a.dtype == np.float32
    scale = b.std()
    assert abs(a.mean() - b.mean()) < 0.03 * scale + 1e-12
    assert abs(a.std() - b.std()) < 0.02 * scale
    if "uniform" in name or "trunc" in name:  # same bounds: both samples reach them
        np.testing.assert_allclose([a.min(), a.max()], [b.min(), b.max()], atol=0.01 * scale)


def test_generator_makes_draws_reproducible():
    x = init.kaiming_uniform_(nnzoo.empty(3, 4), generator=nnzoo.Generator().manual_seed(5))
    y = init.kaiming_uniform_(nnzoo.empty(3, 4), generator=nnzoo.Generator().manual_seed(5))
    assert np.array_equal(x.numpy(), y.numpy())


def test_constant_ones_zeros_eye_and_no_grad():
    p = nn.Parameter(nnzoo.empty(3, 4))
    assert init.constant_(p, 0.5) is p and np.all(p.detach().numpy() == 0.5)
    assert p.grad_fn is None and p.requires_grad  # filled outside the graph
    init.ones_(p)
    assert np.all(p.detach().numpy() == 1)
    init.zeros_(p)
    assert not p.detach().numpy().any()
    np.testing.assert_array_equal(init.eye_(nnzoo.empty(3, 4)).numpy(), tnn.init.eye_(torch.empty(3, 4)).numpy())


@pytest.mark.parametrize("shape", [(5, 8), (8, 5), (4, 2, 3)])
def test_orthogonal(shape):
    w = init.orthogonal_(nnzoo.empty(shape, dtype=nnzoo.float64), gain=2.0).numpy().reshape(shape[0], -1)
    small = min(w.shape)
    gram = w @ w.T if w.shape[0] == small else w.T @ w
    np.testing.assert_allclose(gram, 4.0 * np.eye(small), atol=1e-10)
    with pytest.raises(ValueError):
        init.orthogonal_(nnzoo.empty(3))


def _bound_check(nz_t, th_t):
    """Both samples lie within the same bound and reach it (large tensors)."""
    a, b = nz_t.detach().numpy(), th_t.detach().numpy()
    bound = np.abs(b).max()
    assert np.abs(a).max() <= bound * 1.01 and np.abs(a).max() >= bound * 0.97
    assert abs(a.std() - b.std()) < 0.03 * b.std()


def test_default_layer_initialisations_follow_torch():
    _bound_check(nn.Linear(400, 300).weight, tnn.Linear(400, 300).weight)
    _bound_check(nn.Linear(50, 3000).bias, tnn.Linear(50, 3000).bias)
    b_nz, b_th = nn.Bilinear(40, 5, 300), tnn.Bilinear(40, 5, 300)
    _bound_check(b_nz.weight, b_th.weight)
    # the bias has the weight's bound 1/sqrt(in1_features) (300 samples: bound only)
    assert np.abs(b_nz.bias.detach().numpy()).max() <= np.abs(b_th.weight.detach().numpy()).max() * 1.01
    # Embedding: N(0, 1) like torch's; both samples' std and mean agree with it within 0.02 (60,000 draws)
    e_nz, e_th = nn.Embedding(300, 200), tnn.Embedding(300, 200)
    for w in (e_nz.weight.detach().numpy(), e_th.weight.detach().numpy()):
        assert abs(w.std() - 1) < 0.02 and abs(w.mean()) < 0.02
    for ctor in (lambda m: m.BatchNorm1d(5), lambda m: m.LayerNorm(5), lambda m: m.GroupNorm(1, 5)):
        for (n, p), (_, q) in zip(ctor(nn).state_dict().items(), ctor(tnn).state_dict().items()):
            np.testing.assert_array_equal(p.numpy(), q.numpy(), err_msg=n)
