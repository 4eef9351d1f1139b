"""The temporal convolutional network: causality (perturbing the future changes nothing, and every gradient
d out_t / d x_t' with t' > t is exactly zero), the receptive field measured from gradients, and torch parity
with the paper's pad-both-sides-then-trim ("Chomp1d") formulation."""
import numpy as np
import pytest
import torch
from torch import nn as tnn

import nnzoo
from nnzoo.zoo.tcn import TCN, CausalConv1d, TemporalBlock, TemporalConvNet


@pytest.fixture(autouse=True)
def _seeded():
    """Deterministic random weights in both libraries."""
    torch.manual_seed(0)
    nnzoo.manual_seed(0)


def _np(t):
    return np.asarray(t.detach().numpy() if isinstance(t, torch.Tensor) else t.detach(), dtype=np.float64)


@pytest.mark.parametrize("kernel_size, channels", [(2, [4, 4, 4]), (3, [3, 5])])
def test_output_never_depends_on_later_inputs(kernel_size, channels):
    m = TCN(input_size=2, output_size=3, num_channels=channels, kernel_size=kernel_size, dropout=0.3).eval()
    L = 16
    x = np.random.default_rng(0).standard_normal((2, 2, L)).astype(np.float32)
    base = _np(m(nnzoo.tensor(x)))                        # (N, L, out)
    for t in range(L - 1):
        y = x.copy()
        y[..., t + 1:] += np.random.default_rng(t + 1).standard_normal(y[..., t + 1:].shape).astype(np.float32)
        out = _np(m(nnzoo.tensor(y)))
        np.testing.assert_array_equal(out[:, :t + 1], base[:, :t + 1])   # the past: bit for bit the same
        assert np.abs(out[:, t + 1:] - base[:, t + 1:]).max() > 0        # the future did change


def _jacobian_support(model, L, c_in):
    """J[t, t'] = any |d out[n, :, t] / d x[n, :, t']| > 0 over a batch, from one backward pass per step t."""
    x = nnzoo.tensor(np.random.default_rng(1).standard_normal((8, c_in, L)), requires_grad=True)
    support = np.zeros((L, L), dtype=bool)
    for t in range(L):
        x.grad = None
        out = model(x)                                    # (N, C, L) for the stack
        out[..., t].sum().backward()
        support[t] = np.abs(_np(x.grad)).sum(axis=(0, 1)) > 0
    return support


@pytest.mark.parametrize("kernel_size, blocks", [(2, 3), (3, 2)])
def test_gradients_to_the_future_are_zero_and_the_receptive_field_is_as_reported(kernel_size, blocks):
    stack = TemporalConvNet(2, [8] * blocks, kernel_size=kernel_size, dropout=0.0).double()
    rf = stack.receptive_field
    assert rf == 1 + 2 * (kernel_size - 1) * sum(2 ** i for i in range(blocks))
    L = rf + 4
    support = _jacobian_support(stack, L, 2)
    for t in range(L):
        assert support[t, t], f"output {t} ignores input {t}"
        assert not support[t, t + 1:].any(), f"output {t} depends on a later input"
        # the receptive field: the input rf - 1 steps back still matters, none further back does
        # (within the field a ReLU can silence a path, so only its two ends are pinned down)
        if t >= rf - 1:
            assert support[t, t - rf + 1], f"output {t} ignores input {t - rf + 1}"
        assert not support[t, :max(0, t - rf + 1)].any(), f"output {t} sees past its receptive field"


class TorchChompBlock(tnn.Module):
    """The paper's code (locuslab/TCN TemporalBlock) without weight norm: padding (k-1)d on both sides, then
    Chomp1d drops the last (k-1)d steps."""

    def __init__(self, n_in, n_out, k, d):
        super().__init__()
        p = (k - 1) * d
        self.p = p
        self.conv1 = tnn.Conv1d(n_in, n_out, k, padding=p, dilation=d)
        self.conv2 = tnn.Conv1d(n_out, n_out, k, padding=p, dilation=d)
        self.downsample = tnn.Conv1d(n_in, n_out, 1) if n_in != n_out else None

    def forward(self, x):
        out = torch.relu(self.conv1(x)[:, :, :-self.p])
        out = torch.relu(self.conv2(out)[:, :, :-self.p])
        res = x if self.downsample is None else self.downsample(x)
        return torch.relu(out + res)


@pytest.mark.parametrize("n_in, n_out, k, d", [(3, 5, 2, 1), (4, 4, 3, 4)])
def test_temporal_block_matches_the_chomp_formulation(n_in, n_out, k, d):
    th = TorchChompBlock(n_in, n_out, k, d).double()
    nz = TemporalBlock(n_in, n_out, k, d, dropout=0.0).double()
    assert list(nz.state_dict()) == list(th.state_dict())
    nz.load_state_dict(th.state_dict())
    x = np.random.default_rng(2).standard_normal((2, n_in, 11))
    xt, xn = torch.tensor(x, requires_grad=True), nnzoo.tensor(x, requires_grad=True)
    yt, yn = th(xt), nz(xn)
    np.testing.assert_allclose(_np(yn), _np(yt), rtol=1e-10, atol=1e-12)
    u = np.random.default_rng(3).standard_normal(tuple(yt.shape))
    (yt * torch.tensor(u)).sum().backward()
    (yn * nnzoo.tensor(u)).sum().backward()
    np.testing.assert_allclose(_np(xn.grad), _np(xt.grad), rtol=1e-10, atol=1e-12)
    params_t = dict(th.named_parameters())
    for name, p in nz.named_parameters():
        np.testing.assert_allclose(_np(p.grad), _np(params_t[name].grad), rtol=1e-10, atol=1e-12, err_msg=name)


def test_causal_conv1d_is_a_left_padded_conv1d():
    conv = CausalConv1d(2, 3, kernel_size=3, dilation=2)
    assert conv.left_pad == 4 and isinstance(conv, nnzoo.nn.Conv1d)
    x = nnzoo.randn(1, 2, 9)
    want = nnzoo.nn.functional.conv1d(nnzoo.nn.functional.pad(x, (4, 0)), conv.weight, conv.bias, dilation=2)
    np.testing.assert_allclose(_np(conv(x)), _np(want), rtol=1e-6)


def test_shapes_and_init():
    m = TCN(input_size=3, output_size=7, num_channels=[8, 8, 6], kernel_size=2, dropout=0.1)
    assert m(nnzoo.zeros(4, 3, 25)).shape == (4, 25, 7)
    assert m.receptive_field == 1 + 2 * 1 * (1 + 2 + 4) == 15
    blocks = list(m.tcn.network)
    assert [b.dilation for b in blocks] == [1, 2, 4]
    assert blocks[0].downsample is not None and blocks[1].downsample is None and blocks[2].downsample is not None
    assert abs(float(blocks[0].conv1.weight.std()) - 0.01) < 0.005  # the paper's N(0, 0.01) init
