"""Optimizers and utilities on sparse gradients (nn.Embedding(sparse=True)) against PyTorch."""
import math

import numpy as np
import pytest
import torch

import nnzoo

W = np.random.default_rng(0).standard_normal((10, 3))
BATCHES = [np.array([[1, 2, 1], [4, 2, 0]]), np.array([7, 1]), np.array([[9]])]


def run(L, make, steps=4, dtype="float64", padding_idx=None):
    e = L.nn.Embedding(10, 3, sparse=True, padding_idx=padding_idx, dtype=getattr(L, dtype))
    with L.no_grad():
        e.weight.copy_(L.tensor(W))
    opt = make(L, e.parameters())
    for k in range(steps):
        opt.zero_grad()
        out = e(L.tensor(BATCHES[k % len(BATCHES)]))
        (out * out).sum().backward()
        opt.step()
    return e, opt


CASES = {
    "sgd": lambda L, p: L.optim.SGD(p, lr=0.1),
    "sgd_momentum": lambda L, p: L.optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.2),
    "sgd_nesterov_max": lambda L, p: L.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, maximize=True),
    "adagrad": lambda L, p: L.optim.Adagrad(p, lr=0.1, lr_decay=0.05, initial_accumulator_value=0.1),
    "adagrad_max": lambda L, p: L.optim.Adagrad(p, lr=0.1, maximize=True),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("dtype,tol", [("float64", 1e-12), ("float32", 1e-5)])
def test_trajectory_equals_torch(name, dtype, tol):
    en, _ = run(nnzoo, CASES[name], dtype=dtype, padding_idx=2)
    et, _ = run(torch, CASES[name], dtype=dtype, padding_idx=2)
    np.testing.assert_allclose(en.weight.detach().numpy(), et.weight.detach().numpy(), rtol=tol, atol=tol)


def test_sgd_momentum_buffer_is_sparse_like_torchs():
    _, on = run(nnzoo, CASES["sgd_momentum"], steps=2)
    e = next(iter(on.state))
    buf = on.state[e]["momentum_buffer"]
    _, ot = run(torch, CASES["sgd_momentum"], steps=2)
    tbuf = ot.state[next(iter(ot.state))]["momentum_buffer"]
    assert buf.is_sparse and tbuf.is_sparse
    np.testing.assert_allclose(buf.to_dense().numpy(), tbuf.to_dense().numpy(), rtol=1e-12)


@pytest.mark.parametrize("make,msg", [
    (lambda L, p: L.optim.SGD(p, lr=0.1, weight_decay=0.1), "add\\(sparse, dense\\) is not supported"),
    (lambda L, p: L.optim.Adam(p), "Adam does not support sparse gradients, please consider SparseAdam instead"),
    (lambda L, p: L.optim.AdamW(p), "Adam does not support sparse gradients, please consider SparseAdam instead"),
    (lambda L, p: L.optim.Adagrad(p, weight_decay=0.1), "weight_decay option is not compatible with sparse"),
    (lambda L, p: L.optim.RMSprop(p), "RMSprop does not support sparse gradients"),
    (lambda L, p: L.optim.Adamax(p), "Adamax does not support sparse gradients"),
    (lambda L, p: L.optim.NAdam(p), "NAdam does not support sparse gradients"),
    (lambda L, p: L.optim.RAdam(p), "RAdam does not support sparse gradients"),
    (lambda L, p: L.optim.Adadelta(p), "Adadelta does not support sparse gradients"),
])
def test_refusals_match_torch(make, msg):
    for L in (nnzoo, torch):
        with pytest.raises(RuntimeError, match=msg):
            run(L, make, steps=1)
    e = nnzoo.nn.Embedding(10, 3, sparse=True)
    with nnzoo.no_grad():
        before = e.weight.detach().clone()
    opt = make(nnzoo, e.parameters())
    e(nnzoo.tensor([1])).sum().backward()
    with pytest.raises(RuntimeError):
        opt.step()
    np.testing.assert_array_equal(e.weight.detach().numpy(), before.numpy())


def test_zero_grad_both_ways():
    e, opt = run(nnzoo, CASES["sgd"], steps=1)
    e(nnzoo.tensor([1, 2])).sum().backward()
    opt.zero_grad(set_to_none=False)
    assert e.weight.grad.is_sparse and e.weight.grad._nnz() == 0
    e(nnzoo.tensor([3])).sum().backward()
    assert e.weight.grad._nnz() == 1
    opt.zero_grad()
    assert e.weight.grad is None


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf])
def test_clip_grad_norm_with_sparse_grads(norm_type):
    e = nnzoo.nn.Embedding(10, 3, sparse=True, _weight=nnzoo.tensor(W))
    lin = nnzoo.nn.Linear(3, 1, dtype=nnzoo.float64)
    lin(e(nnzoo.tensor([1, 1, 4]))).sum().backward()
    dense = [e.weight.grad.to_dense().numpy(), lin.weight.grad.numpy().copy(), lin.bias.grad.numpy().copy()]
    flat = np.concatenate([d.ravel() for d in dense])
    expect = np.abs(flat).max() if math.isinf(norm_type) else np.linalg.norm(flat, norm_type)
    total = nnzoo.nn.utils.clip_grad_norm_(list(e.parameters()) + list(lin.parameters()), 0.5, norm_type)
    np.testing.assert_allclose(float(total), expect, rtol=1e-12)
    coef = min(1.0, 0.5 / (expect + 1e-6))
    assert e.weight.grad.is_sparse
    np.testing.assert_allclose(e.weight.grad.to_dense().numpy(), dense[0] * coef, rtol=1e-12)
    np.testing.assert_allclose(lin.weight.grad.numpy(), dense[1] * coef, rtol=1e-12)


def test_clip_grad_value_with_sparse_grads_clamps_the_coalesced_gradient():
    # PyTorch 2.13 raises here (clamp_min_ has no SparseCPU kernel); nnzoo clamps the gradient's elements
    e = nnzoo.nn.Embedding(10, 3, sparse=True, _weight=nnzoo.tensor(W))
    (e(nnzoo.tensor([1, 1, 4])) * 3).sum().backward()
    dense = e.weight.grad.to_dense().numpy()
    nnzoo.nn.utils.clip_grad_value_(e.parameters(), 4.0)
    assert e.weight.grad.is_sparse and e.weight.grad.is_coalesced()
    np.testing.assert_allclose(e.weight.grad.to_dense().numpy(), np.clip(dense, -4, 4), rtol=1e-12)
