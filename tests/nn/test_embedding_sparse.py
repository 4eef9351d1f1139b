"""nn.Embedding(sparse=True) / F.embedding(sparse=True): the sparse COO weight gradient against PyTorch's."""
import numpy as np
import pytest
import torch

import nnzoo

W = np.random.default_rng(0).standard_normal((10, 3))


def both(padding_idx=None, dtype="float64", max_norm=None):
    out = []
    for L in (nnzoo, torch):
        e = L.nn.Embedding(10, 3, sparse=True, padding_idx=padding_idx, max_norm=max_norm, dtype=getattr(L, dtype))
        with L.no_grad():
            e.weight.copy_(L.tensor(W))
        out.append((L, e))
    return out


def check(g, tg, coalesced_only=False):
    assert g.is_sparse and tg.is_sparse and tuple(g.shape) == tuple(tg.shape)
    if not coalesced_only:
        assert g._nnz() == tg._nnz() and g.is_coalesced() == tg.is_coalesced()
        np.testing.assert_array_equal(g._indices().numpy(), tg._indices().numpy())
        np.testing.assert_allclose(g._values().numpy(), tg._values().numpy(), rtol=1e-12)
    c, tc = g.coalesce(), tg.coalesce()
    np.testing.assert_array_equal(c.indices().numpy(), tc.indices().numpy())
    np.testing.assert_allclose(c.values().numpy(), tc.values().numpy(), rtol=1e-12)


@pytest.mark.parametrize("padding_idx", [None, 2, -1])
@pytest.mark.parametrize("shape", [(6,), (2, 3), (1, 1), (0,)])
def test_grad_is_torchs_sparse_coo(padding_idx, shape):
    rng = np.random.default_rng(1)
    idx = rng.integers(0, 10, shape)
    if idx.size:
        idx.flat[0] = 2
        idx.flat[-1] = 9
    g = {}
    for L, e in both(padding_idx):
        out = e(L.tensor(idx))
        (out * L.tensor(np.arange(out.numel(), dtype=np.float64).reshape(out.shape))).sum().backward()
        g[L.__name__] = e.weight.grad
    check(g["nnzoo"], g["torch"])


def test_accumulates_over_two_backwards_and_with_dense_grads():
    g = {}
    for L, e in both():
        e(L.tensor([1, 1, 4])).sum().backward()
        e(L.tensor([[1, 2]])).pow(2).sum().backward()      # sparse + sparse
        s = e.weight.grad
        (e.weight * 2).sum().backward()                    # sparse .grad + dense -> dense
        d = e.weight.grad
        e.weight.grad = L.zeros(10, 3, dtype=L.float64)
        e(L.tensor([3, 3])).sum().backward()               # dense .grad + sparse -> dense, in place
        g[L.__name__] = (s, d, e.weight.grad)
    check(g["nnzoo"][0], g["torch"][0], coalesced_only=True)
    assert not g["nnzoo"][1].is_sparse and not g["nnzoo"][2].is_sparse
    np.testing.assert_allclose(g["nnzoo"][1].numpy(), g["torch"][1].numpy(), rtol=1e-12)
    np.testing.assert_allclose(g["nnzoo"][2].numpy(), g["torch"][2].numpy(), rtol=1e-12)


def test_two_lookups_of_one_table_in_one_backward():
    g = {}
    for L, e in both():
        (e(L.tensor([1, 2])) * e(L.tensor([2, 5]))).sum().backward()
        g[L.__name__] = e.weight.grad
    check(g["nnzoo"], g["torch"], coalesced_only=True)


def test_functional_form_and_autograd_grad():
    idx = np.array([[1, 2], [2, 7]])
    res = []
    for L in (nnzoo, torch):
        w = L.tensor(W, requires_grad=True)
        out = L.nn.functional.embedding(L.tensor(idx), w, sparse=True)
        gw, = L.autograd.grad((out ** 3).sum(), w)
        res.append(gw)
    check(*res)


def test_non_leaf_weight_refuses_clearly():
    # PyTorch carries the sparse gradient through w * 3 (a sparse MulBackward); nnzoo's dense ops do not take
    # sparse gradients: the backward stops with the SparseCPU error instead of a wrong result
    w = nnzoo.tensor(W, requires_grad=True)
    out = nnzoo.nn.functional.embedding(nnzoo.tensor([1, 2, 1]), w * 3, sparse=True).sum()
    with pytest.raises(NotImplementedError, match="SparseCPU"):
        out.backward()


def test_max_norm_still_renormalises():
    res = []
    for L, e in both(max_norm=1.0):
        e(L.tensor([1, 2, 1])).sum().backward()
        res.append((e.weight.detach().numpy().copy(), e.weight.grad))
    np.testing.assert_allclose(res[0][0], res[1][0], rtol=1e-6)
    check(res[0][1], res[1][1])


def test_scale_grad_by_freq_refused_as_torch():
    e = nnzoo.nn.Embedding(10, 3, sparse=True, scale_grad_by_freq=True)
    with pytest.raises(RuntimeError, match="scale_grad_by_freq not supported with sparse gradients"):
        e(nnzoo.tensor([1, 1])).sum().backward()


def test_float32_and_padding_only_batch():
    res = []
    for L, e in both(padding_idx=4, dtype="float32"):
        e(L.tensor([4, 4])).sum().backward()
        res.append(e.weight.grad)
    assert res[0]._nnz() == res[1]._nnz() == 0
    assert repr(res[0]) == repr(res[1]).replace("torch.", "nnzoo.")


def test_grad_does_not_alias_the_index_tensor():
    idx = nnzoo.tensor([1, 2])
    e = nnzoo.nn.Embedding(10, 3, sparse=True)
    e(idx).sum().backward()
    idx.numpy()[0] = 7
    assert e.weight.grad._indices().numpy().tolist() == [[1, 2]]


def test_extra_repr_and_dense_default_unchanged():
    assert "sparse=True" in repr(nnzoo.nn.Embedding(4, 2, sparse=True))
    e = nnzoo.nn.Embedding(4, 2)
    e(nnzoo.tensor([1])).sum().backward()
    assert not e.weight.grad.is_sparse
