"""The neural Turing machine: addressing by its defining properties, and the whole model (forward, gradients,
RMSprop training) against the same NTM written in PyTorch from the same weights."""
import numpy as np
import pytest
import torch

import nnzoo
from benchmarks.ntm import TorchNTM  # the benchmark's PyTorch twin is the oracle
from nnzoo.zoo.ntm import NTM, address

SMALL = dict(input_size=5, output_size=4, controller_size=12, memory_n=10, memory_m=6)


def _pair(seed=0, **kw):
    nnzoo.manual_seed(seed)
    ours = NTM(**{**SMALL, **kw}).double()
    theirs = TorchNTM(**{**SMALL, **kw}).double()
    theirs.load_state_dict({k: torch.from_numpy(v.detach().numpy().copy()) for k, v in ours.state_dict().items()})
    return ours, theirs


def _batch(rng, t=4, b=3):
    seq = rng.integers(0, 2, (t, b, 4)).astype(np.float64)
    x = np.zeros((t + 1, b, 5))
    x[:t, :, :4] = seq
    x[t, :, 4] = 1
    return x, seq


@pytest.mark.parametrize("kw", [{}, {"controller": "feedforward", "read_heads": 2, "write_heads": 2,
                                     "shift_range": 2}])
def test_forward_and_gradients_match_torch(kw):
    ours, theirs = _pair(**kw)
    x, y = _batch(np.random.default_rng(1))
    a = ours(nnzoo.tensor(x), y.shape[0])
    b = theirs(torch.tensor(x), y.shape[0])
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-10, atol=1e-12)
    nnzoo.nn.functional.binary_cross_entropy_with_logits(a, nnzoo.tensor(y)).backward()
    torch.nn.functional.binary_cross_entropy_with_logits(b, torch.tensor(y)).backward()
    grads = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), grads[name].grad.numpy(), rtol=1e-8, atol=1e-12, err_msg=name)


def test_rmsprop_training_follows_torch():
    """The reference optimiser (RMSprop, here at lr 1e-3 to move faster; momentum 0.9, alpha 0.95, gradient
    values clipped at 10) from the same weights on the same batches: the losses agree step by step and the
    weights at the end."""
    ours, theirs = _pair(seed=3)
    opt_a = nnzoo.optim.RMSprop(ours.parameters(), lr=1e-3, momentum=0.9, alpha=0.95)
    opt_b = torch.optim.RMSprop(theirs.parameters(), lr=1e-3, momentum=0.9, alpha=0.95)
    rng = np.random.default_rng(2)
    bce_a = nnzoo.nn.functional.binary_cross_entropy_with_logits
    bce_b = torch.nn.functional.binary_cross_entropy_with_logits
    la, lb = [], []
    for _ in range(8):
        x, y = _batch(rng, t=int(rng.integers(1, 5)))
        loss_a = bce_a(ours(nnzoo.tensor(x), y.shape[0]), nnzoo.tensor(y))
        loss_b = bce_b(theirs(torch.tensor(x), y.shape[0]), torch.tensor(y))
        opt_a.zero_grad()
        loss_a.backward()
        nnzoo.nn.utils.clip_grad_value_(ours.parameters(), 10.0)
        opt_a.step()
        opt_b.zero_grad()
        loss_b.backward()
        torch.nn.utils.clip_grad_value_(theirs.parameters(), 10.0)
        opt_b.step()
        la.append(loss_a.item())
        lb.append(loss_b.item())
    np.testing.assert_allclose(la, lb, rtol=1e-8)
    theirs_now = theirs.state_dict()
    for name, p in ours.state_dict().items():
        np.testing.assert_allclose(p.numpy(), theirs_now[name].numpy(), rtol=1e-7, atol=1e-10, err_msg=name)


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_address_stages_against_numpy():
    """Content (softmax of beta * cosine), interpolation, circular shift, sharpening, each as the paper's equation
    in NumPy (the shift as an explicit sum over i - j mod N)."""
    rng = np.random.default_rng(0)
    b, h, n, m, s_range = 2, 3, 7, 4, 1
    k, mem = rng.normal(size=(b, h, m)), rng.normal(size=(b, n, m))
    beta, g, gamma = rng.uniform(0.5, 5, (b, h, 1)), rng.uniform(0, 1, (b, h, 1)), rng.uniform(1, 3, (b, h, 1))
    s, w_prev = _softmax(rng.normal(size=(b, h, 3))), _softmax(rng.normal(size=(b, h, n)))
    got = address(*(nnzoo.tensor(a) for a in (k, beta, g, s, gamma, w_prev, mem)),
                  NTM.make_shift_index(n, s_range)).numpy()
    cos = np.einsum("bhm,bnm->bhn", k, mem) / (np.linalg.norm(k, axis=-1)[..., None]
                                               * np.linalg.norm(mem, axis=-1)[:, None, :])
    wg = g * _softmax(beta * cos) + (1 - g) * w_prev
    shifted = np.zeros_like(wg)
    for i in range(n):
        for j, shift in enumerate((-1, 0, 1)):
            shifted[..., i] += wg[..., (i - shift) % n] * s[..., j]
    sharp = shifted ** gamma
    np.testing.assert_allclose(got, sharp / sharp.sum(-1, keepdims=True), rtol=1e-6)


def test_shift_moves_the_focus_by_one_and_a_one_hot_write_sets_a_row():
    """With the gate closed (g = 0) and all shift weight on +1, the weighting moves one slot on, wrapping round;
    a write head focused on one slot with erase 1 replaces that row by the add vector and leaves the others."""
    n = 6
    w_prev = np.zeros((1, 1, n))
    w_prev[0, 0, n - 1] = 1.0
    zeros = nnzoo.zeros(1, 1, 1, dtype=nnzoo.float64)
    w = address(nnzoo.zeros(1, 1, 3, dtype=nnzoo.float64), zeros + 1, zeros, nnzoo.tensor([[[0.0, 0.0, 1.0]]]),
                zeros + 1, nnzoo.tensor(w_prev), nnzoo.randn(1, n, 3, dtype=nnzoo.float64), NTM.make_shift_index(n, 1))
    np.testing.assert_allclose(w.numpy()[0, 0], np.eye(n)[0], atol=1e-12)
    # the write through the model's step: one-hot weighting, erase = 1 (sigmoid of a large number)
    model = NTM(input_size=1, output_size=1, controller_size=4, memory_n=n, memory_m=3).double()
    mem = nnzoo.randn(1, n, 3, dtype=nnzoo.float64)
    add = np.array([0.5, -1.0, 2.0])
    with nnzoo.no_grad():
        bias = np.zeros(model.heads.out_features)
        hw = model.head_width
        bias[hw + 4] = -50.0                                              # write head: gate closed (keep w_prev)
        bias[hw + 5:hw + 8] = [-50.0, 50.0, -50.0]                        # all shift weight on 0
        bias[hw + 8] = -50.0                                              # gamma = 1
        bias[2 * hw:2 * hw + 3] = 50.0                                    # erase = 1
        bias[2 * hw + 3:] = add
        model.heads.bias.copy_(nnzoo.tensor(bias))
        model.heads.weight.zero_()
        w0 = np.zeros((1, 2, n))
        w0[0, 1, 2] = 1.0                                                 # write head on slot 2
        state = (model.h0.expand(1, -1), model.c0.expand(1, -1), nnzoo.zeros(1, 3, dtype=nnzoo.float64),
                 nnzoo.tensor(w0), mem)
        _, _, new = model.step(nnzoo.zeros(1, 1, dtype=nnzoo.float64), state)
    expected = mem.numpy().copy()
    expected[0, 2] = add
    np.testing.assert_allclose(new[4].numpy(), expected, atol=1e-9)


def test_shapes_trace_and_bad_config():
    model = NTM(**SMALL, read_heads=2, write_heads=1)
    logits, info = model(nnzoo.zeros(3, 2, 5), out_len=4, trace=True)
    assert tuple(logits.shape) == (4, 2, 4)
    assert tuple(info["read_weights"].shape) == (7, 2, 2, 10) and tuple(info["write_weights"].shape) == (7, 2, 1, 10)
    assert tuple(info["reads"].shape) == (7, 2, 2, 6) and tuple(info["adds"].shape) == (7, 2, 1, 6)
    np.testing.assert_allclose(info["read_weights"].numpy().sum(-1), 1, rtol=1e-5)
    with pytest.raises(ValueError, match="controller"):
        NTM(controller="gru")
