"""Sparse COO tensors (nnzoo.sparse) against PyTorch: construction, coalescing, arithmetic, printing, errors."""
import numpy as np
import pytest
import torch

import nnzoo

IDX = [[0, 2, 0, 3]]
VALS = [[1., 2.], [3., 4.], [5., 6.], [7., 8.]]


def pair(indices=IDX, values=VALS, size=(5, 2), dtype="float32"):
    return (nnzoo.sparse_coo_tensor(indices, values, size, dtype=getattr(nnzoo, dtype)),
            torch.sparse_coo_tensor(indices, values, size, dtype=getattr(torch, dtype)))


def same(a, b):
    """Same layout, indices, values, size and coalescedness."""
    assert a.is_sparse and b.is_sparse
    assert tuple(a.shape) == tuple(b.shape) and a.is_coalesced() == b.is_coalesced()
    np.testing.assert_array_equal(a._indices().numpy(), b._indices().numpy())
    np.testing.assert_allclose(a._values().numpy(), b._values().numpy(), rtol=1e-6)


def test_metadata_like_torch():
    s, t = pair()
    assert s.is_sparse and not nnzoo.ones(2).is_sparse
    assert s.layout is nnzoo.sparse_coo and nnzoo.ones(2).layout is nnzoo.strided
    assert repr(nnzoo.sparse_coo) == "nnzoo.sparse_coo"
    assert (s._nnz(), s.sparse_dim(), s.dense_dim(), s.dim(), s.numel()) == \
           (t._nnz(), t.sparse_dim(), t.dense_dim(), t.dim(), t.numel())
    assert tuple(s.size()) == tuple(t.size()) and s.size(1) == t.size(1) and str(s.dtype) == "nnzoo.float32"
    assert s.device == nnzoo.device("cpu") and not s.is_coalesced() and not s.requires_grad and s.is_leaf


def test_coalesce_and_indices_rule():
    s, t = pair()
    same(s.coalesce(), t.coalesce())
    with pytest.raises(RuntimeError, match="uncoalesced"):
        s.indices()
    with pytest.raises(RuntimeError, match="uncoalesced"):
        s.values()
    c = s.coalesce()
    assert c.coalesce() is c
    np.testing.assert_array_equal(c.indices().numpy(), [[0, 2, 3]])
    np.testing.assert_array_equal(c.values().numpy(), [[6, 8], [3, 4], [7, 8]])


def test_two_sparse_dims_and_hybrid():
    idx = [[1, 0, 1, 2], [2, 1, 2, 0]]
    vals = np.arange(12.0).reshape(4, 3)
    s, t = pair(idx, vals, (3, 4, 3), "float64")
    same(s.coalesce(), t.coalesce())
    np.testing.assert_array_equal(s.to_dense().numpy(), t.to_dense().numpy())
    s, t = pair(idx, [1., 2., 3., 4.], (3, 4), "float64")
    same(s.coalesce(), t.coalesce())
    np.testing.assert_array_equal(s.to_dense().numpy(), t.to_dense().numpy())


def test_size_inferred_and_empty():
    s = nnzoo.sparse_coo_tensor([[0, 3]], [1., 2.])
    t = torch.sparse_coo_tensor([[0, 3]], [1., 2.])
    assert tuple(s.shape) == tuple(t.shape) == (4,)
    e = nnzoo.sparse_coo_tensor(nnzoo.zeros(1, 0, dtype=nnzoo.int64), nnzoo.zeros(0, 2), (4, 2))
    assert e._nnz() == 0 and e.is_coalesced()
    np.testing.assert_array_equal(e.to_dense().numpy(), np.zeros((4, 2)))
    np.testing.assert_array_equal(e.coalesce().to_dense().numpy(), np.zeros((4, 2)))


def test_construction_errors():
    with pytest.raises(RuntimeError, match="size is inconsistent"):
        nnzoo.sparse_coo_tensor([[0, 5]], [1., 2.], (3,))
    with pytest.raises(RuntimeError, match="nnz"):
        nnzoo.sparse_coo_tensor([[0, 1]], [1., 2., 3.], (3,))
    with pytest.raises(RuntimeError):
        nnzoo.sparse_coo_tensor([[0, 1]], [[1.], [2.]], (3, 2))


def test_to_dense_and_dense_plus_sparse():
    s, t = pair()
    np.testing.assert_array_equal(s.to_dense().numpy(), t.to_dense().numpy())
    d = np.arange(10.0, dtype=np.float32).reshape(5, 2)
    r = nnzoo.tensor(d) + s
    assert not r.is_sparse
    np.testing.assert_array_equal(r.numpy(), (torch.tensor(d) + t).numpy())
    x, y = nnzoo.tensor(d), torch.tensor(d)
    x.add_(s, alpha=-0.5)
    y.add_(t, alpha=-0.5)
    np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=1e-6)
    x.sub_(s)
    y.sub_(t)
    np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=1e-6)
    with pytest.raises(RuntimeError, match="add\\(sparse, dense\\) is not supported"):
        s + nnzoo.tensor(d)


def test_dense_plus_sparse_records_the_graph_of_the_dense_side():
    s, _ = pair(dtype="float64")
    d = nnzoo.ones(5, 2, dtype=nnzoo.float64, requires_grad=True)
    (d + s).sum().backward()
    np.testing.assert_array_equal(d.grad.numpy(), np.ones((5, 2)))


def test_sparse_plus_sparse_concatenates():
    s, t = pair()
    r = s + s * 2
    assert r._nnz() == 8 and not r.is_coalesced()
    np.testing.assert_allclose(r.to_dense().numpy(), (t + t * 2).to_dense().numpy())
    same(r.coalesce(), (t + t * 2).coalesce())
    u = s.clone()
    u.add_(s, alpha=3)
    assert u._nnz() == 8
    np.testing.assert_allclose(u.to_dense().numpy(), (t * 4).to_dense().numpy())
    np.testing.assert_allclose((s - s).to_dense().numpy(), np.zeros((5, 2)))
    empty = nnzoo.sparse_coo_tensor(nnzoo.zeros(1, 0, dtype=nnzoo.int64), nnzoo.zeros(0, 2), (5, 2))
    assert (s + empty)._nnz() == 4
    with pytest.raises(RuntimeError, match="sizes"):
        s + nnzoo.sparse_coo_tensor([[0]], [[1., 1.]], (6, 2))


def test_scalar_arithmetic_keeps_coalescedness():
    s, t = pair()
    c, tc = s.coalesce(), t.coalesce()
    for f in (lambda a: a * 2, lambda a: 2 * a, lambda a: a / 4, lambda a: -a, lambda a: a.mul(nnzoo.tensor(3.0))
              if isinstance(a, nnzoo.Tensor) else a.mul(torch.tensor(3.0))):
        same(f(s), f(t))
        same(f(c), f(tc))
    u = s.clone()
    u.mul_(3).div_(2)
    np.testing.assert_allclose(u.to_dense().numpy(), (t * 1.5).to_dense().numpy())
    with pytest.raises(NotImplementedError, match="SparseCPU"):
        s * nnzoo.ones(5, 2)


@pytest.mark.parametrize("p", ["fro", 2, 1, float("inf"), 3])
def test_norm_is_the_coalesced_norm(p):
    s, t = pair(dtype="float64")
    np.testing.assert_allclose(s.norm(p).numpy(), t.coalesce().norm(p).numpy(), rtol=1e-12)
    np.testing.assert_allclose(s.norm().numpy(), t.norm().numpy(), rtol=1e-12)
    np.testing.assert_allclose(s.sum().numpy(), t.to_dense().sum().numpy(), rtol=1e-12)


def test_clone_detach_zero():
    s, t = pair()
    c = s.clone()
    c.mul_(0)
    assert s._values().numpy()[0, 0] == 1
    z = s.clone().zero_()
    tz = t.clone().zero_()
    assert z._nnz() == tz._nnz() == 0
    assert s.detach()._values().numpy() is not None
    s.requires_grad_()
    assert s.requires_grad and "requires_grad=True" in repr(s)


def test_repr_like_torch():
    for idx, vals, size, dt in [(IDX, VALS, (5, 2), "float32"), ([[0, 1]], [1., 2.], (3,), "float64"),
                                ([[0, 1], [1, 1]], [1., 2.], (3, 2), "float32")]:
        s, t = pair(idx, vals, size, dt)
        assert repr(s) == repr(t).replace("torch.", "nnzoo.")
    e = nnzoo.sparse_coo_tensor(nnzoo.zeros(1, 0, dtype=nnzoo.int64), nnzoo.zeros(0, 2), (4, 2))
    te = torch.sparse_coo_tensor(torch.zeros(1, 0, dtype=torch.long), torch.zeros(0, 2), (4, 2))
    assert repr(e) == repr(te).replace("torch.", "nnzoo.")


@pytest.mark.parametrize("op", ["exp", "view", "sum_dim", "matmul", "getitem", "numpy", "relu"])
def test_unsupported_ops_name_the_op_and_sparse_cpu(op):
    s, _ = pair()
    calls = {"exp": (lambda: s.exp(), "exp"), "view": (lambda: s.view(10), "view"),
             "sum_dim": (lambda: s.sum(0), "sum"), "matmul": (lambda: s @ nnzoo.ones(2, 2), "matmul"),
             "getitem": (lambda: s[0], "getitem"), "numpy": (lambda: s.numpy(), "numpy"),
             "relu": (lambda: nnzoo.relu(s), "relu")}
    fn, name = calls[op]
    with pytest.raises(NotImplementedError, match=f"{name}.*SparseCPU"):
        fn()


def test_to_sparse_round_trip():
    d = np.array([[0., 1.], [0., 0.], [2., 0.]])
    s, t = nnzoo.tensor(d).to_sparse(), torch.tensor(d).to_sparse()
    same(s, t)
    s1, t1 = nnzoo.tensor(d).to_sparse(1), torch.tensor(d).to_sparse(1)
    same(s1, t1)
