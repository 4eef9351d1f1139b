"""The index ops added for issue 15 (nnzoo/ops/index.py: index_copy, index_fill, scatter_reduce, take,
repeat_interleave, diag, diag_embed, diagflat, trace, rot90, nansum, nanmean, median, cummax, cummin, and the
non-differentiable tril/triu_indices, count_nonzero, bincount) against PyTorch through the op harness, and the
in-place forms (scatter_, scatter_add_, scatter_reduce_, index_add_, index_copy_, index_fill_)."""
import numpy as np
import pytest
import torch
from helpers import OpCase, S, V, cases_params, check_op

import nnzoo

IDX = V([2, 0])
SCAT = V([[0, 1, 2, 0], [2, 2, 1, 0], [0, 0, 0, 1]])  # scatter positions along dim 0 of a (3, 4) input


def _distinct(shape, seed):
    """Values with no ties (median/cummax indices are then unique), as a fixed Spec."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    return V(rng.permutation(n).reshape(shape) / n - 0.5 + rng.uniform(0, 1e-3, shape), grad=True)


CASES = [
    OpCase("index_copy", lambda m, x, i, s: m.index_copy(x, 0, i, s), [S(3, 4), IDX, S(2, 4)]),
    OpCase("index_copy_dim1", lambda m, x, i, s: x.index_copy(1, i, s), [S(3, 4), IDX, S(3, 2)]),
    OpCase("index_fill", lambda m, x, i: m.index_fill(x, 1, i, -1.5), [S(3, 4), IDX]),
    OpCase("index_fill_tensor_value", lambda m, x, i, v: x.index_fill(0, i, v), [S(3, 4), IDX, S()]),
    OpCase("scatter_reduce_sum", lambda m, x, i, s: m.scatter_reduce(x, 0, i, s, "sum"), [S(3, 4), SCAT, S(3, 4)]),
    OpCase("scatter_reduce_sum_no_self", lambda m, x, i, s: x.scatter_reduce(0, i, s, "sum", include_self=False),
           [S(3, 4), SCAT, S(3, 4)]),
    OpCase("scatter_reduce_mean", lambda m, x, i, s: m.scatter_reduce(x, 0, i, s, "mean"), [S(3, 4), SCAT, S(3, 4)]),
    OpCase("scatter_reduce_mean_no_self", lambda m, x, i, s: m.scatter_reduce(x, 0, i, s, "mean", include_self=False),
           [S(3, 4), SCAT, S(3, 4)]),
    OpCase("scatter_reduce_amax", lambda m, x, i, s: m.scatter_reduce(x, 0, i, s, "amax"), [S(3, 4), SCAT, S(3, 4)]),
    OpCase("scatter_reduce_amin_no_self", lambda m, x, i, s: m.scatter_reduce(x, 0, i, s, "amin", include_self=False),
           [S(3, 4), SCAT, S(3, 4)]),
    OpCase("scatter_reduce_prod", lambda m, x, i, s: m.scatter_reduce(x, 0, i, s, "prod"),
           [S(3, 4, low=0.5, high=1.5), SCAT, S(3, 4, low=0.5, high=1.5)]),
    # forward only: torch's own backward refuses a src bigger than index ("invalid gradient")
    OpCase("scatter_reduce_bigger_src", lambda m, x, i, s: m.scatter_reduce(x, 1, i, s, "sum"),
           [S(3, 4), V([[0, 3], [1, 1]]), S(3, 5)], grad=False),
    OpCase("take", lambda m, x, i: m.take(x, i), [S(3, 4), V([[0, 11], [5, 5]])]),
    OpCase("take_negative", lambda m, x, i: x.take(i), [S(3, 4), V([-1, 3])]),
    OpCase("repeat_interleave", lambda m, x: m.repeat_interleave(x, 2), [S(2, 3)]),
    OpCase("repeat_interleave_dim", lambda m, x: x.repeat_interleave(3, dim=1), [S(2, 3)]),
    OpCase("repeat_interleave_tensor", lambda m, x, r: m.repeat_interleave(x, r, dim=0), [S(3, 2), V([1, 0, 3])]),
    OpCase("diag_vector", lambda m, x: m.diag(x), [S(4)]),
    OpCase("diag_vector_offset", lambda m, x: m.diag(x, -2), [S(3)]),
    OpCase("diag_matrix", lambda m, x: x.diag(1), [S(3, 4)]),
    OpCase("diag_embed", lambda m, x: m.diag_embed(x), [S(2, 3)]),
    OpCase("diag_embed_dims", lambda m, x: m.diag_embed(x, 1, 0, 2), [S(2, 3)]),
    OpCase("diagflat", lambda m, x: m.diagflat(x, 1), [S(2, 2)]),
    OpCase("trace", lambda m, x: m.trace(x), [S(3, 4)]),
    OpCase("rot90", lambda m, x: m.rot90(x), [S(2, 3)]),
    OpCase("rot90_k2", lambda m, x: x.rot90(2, [1, 2]), [S(2, 3, 4)]),
    OpCase("rot90_k3", lambda m, x: m.rot90(x, -1, (0, 1)), [S(2, 3)]),
    OpCase("nansum", lambda m, x: m.nansum(m.where(x > -0.5, x, float("nan"))), [S(3, 4)]),
    OpCase("nansum_dim", lambda m, x: x.nansum(1, keepdim=True), [S(3, 4)]),
    OpCase("nanmean", lambda m, x: m.nanmean(x, 0), [S(3, 4)]),
    OpCase("median", lambda m, x: m.median(x), [_distinct((3, 5), 1)]),
    OpCase("median_dim", lambda m, x: m.median(x, 1), [_distinct((3, 5), 2)], dtypes=(np.float64,)),
    OpCase("median_dim_keepdim", lambda m, x: x.median(0, keepdim=True), [_distinct((4, 3), 3)],
           dtypes=(np.float64,)),
    OpCase("cummax", lambda m, x: m.cummax(x, 1), [_distinct((3, 5), 4)], dtypes=(np.float64,)),
    OpCase("cummin", lambda m, x: x.cummin(0), [_distinct((4, 3), 5)], dtypes=(np.float64,)),
]


@cases_params(CASES)
def test_op(case):
    check_op(case)


def test_nan_reductions_with_nan():
    x = np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, 2.0]])
    for fn, kw in (("nansum", {}), ("nansum", dict(dim=1)), ("nanmean", {}), ("nanmean", dict(dim=0))):
        a, b = nnzoo.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        ya, yb = getattr(nnzoo, fn)(a, **kw), getattr(torch, fn)(b, **kw)
        np.testing.assert_allclose(ya.detach().numpy(), yb.detach().numpy(), equal_nan=True)
        ya.sum().backward()
        yb.sum().backward()
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), equal_nan=True)


def test_counts_and_triangle_indices():
    x = np.array([[0.0, 1.0, 0.0], [2.0, 0.0, 3.0]])
    for dim in (None, 0, 1, (0, 1)):
        assert nnzoo.count_nonzero(nnzoo.tensor(x), dim).tolist() == torch.count_nonzero(torch.tensor(x), dim).tolist()
    v = [0, 3, 3, 1, 7]
    w = np.array([0.5, 1.0, 2.0, -1.0, 3.0])
    assert nnzoo.bincount(nnzoo.tensor(v)).tolist() == torch.bincount(torch.tensor(v)).tolist()
    assert nnzoo.bincount(nnzoo.tensor(v), minlength=10).tolist() == \
        torch.bincount(torch.tensor(v), minlength=10).tolist()
    got, want = nnzoo.bincount(nnzoo.tensor(v), nnzoo.tensor(w)), torch.bincount(torch.tensor(v), torch.tensor(w))
    assert got.dtype == nnzoo.float64 and got.tolist() == want.tolist()
    for args in ((3, 3), (4, 3, 1), (3, 5, -1), (2, 4, 2)):
        assert nnzoo.tril_indices(*args).tolist() == torch.tril_indices(*args).tolist()
        assert nnzoo.triu_indices(*args).tolist() == torch.triu_indices(*args).tolist()
    assert nnzoo.repeat_interleave(nnzoo.tensor([2, 0, 1])).tolist() == \
        torch.repeat_interleave(torch.tensor([2, 0, 1])).tolist()


def test_median_even_length_and_result_type():
    x = [4.0, 1.0, 3.0, 2.0]
    assert nnzoo.median(nnzoo.tensor(x)).item() == torch.median(torch.tensor(x)).item()
    got = nnzoo.tensor([[4.0, 1.0, 3.0, 2.0]]).median(1)
    want = torch.tensor([[4.0, 1.0, 3.0, 2.0]]).median(1)
    assert got.values.tolist() == want.values.tolist() and got.indices.tolist() == want.indices.tolist()


def test_cummax_ties_take_the_later_index():
    x = [1.0, 3.0, 3.0, 2.0, 5.0, 5.0]
    got, want = nnzoo.cummax(nnzoo.tensor(x), 0), torch.cummax(torch.tensor(x), 0)
    assert got.values.tolist() == want.values.tolist() and got.indices.tolist() == want.indices.tolist()
    got, want = nnzoo.cummin(nnzoo.tensor(x[::-1]), 0), torch.cummin(torch.tensor(x[::-1]), 0)
    assert got.values.tolist() == want.values.tolist() and got.indices.tolist() == want.indices.tolist()


INPLACE = [
    ("scatter_", lambda lib: (0, lib.tensor([[0, 1, 2, 0]]), lib.tensor([[1.0, 2.0, 3.0, 4.0]], dtype=lib.float64))),
    ("scatter_", lambda lib: (1, lib.tensor([[0], [3], [1]]), 9.0)),
    ("scatter_add_", lambda lib: (0, lib.tensor([[0, 1, 2, 0], [0, 1, 1, 0]]), lib.ones(2, 4, dtype=lib.float64))),
    ("scatter_reduce_", lambda lib: (0, lib.tensor([[0, 1, 2, 0], [0, 1, 1, 0]]), lib.ones(2, 4, dtype=lib.float64),
                                     "amax")),
    ("index_add_", lambda lib: (1, lib.tensor([0, 0]), lib.ones(3, 2, dtype=lib.float64))),
    ("index_copy_", lambda lib: (0, lib.tensor([2, 0]), lib.zeros(2, 4, dtype=lib.float64))),
    ("index_fill_", lambda lib: (1, lib.tensor([3, 1]), -2.0)),
]


@pytest.mark.parametrize("name,args", INPLACE, ids=[f"{n}-{i}" for i, (n, _) in enumerate(INPLACE)])
def test_inplace_forms(name, args):
    base = np.arange(12.0).reshape(3, 4) / 7
    x, y = nnzoo.tensor(base.copy()), torch.tensor(base.copy())
    v0 = x._version
    assert getattr(x, name)(*args(nnzoo)) is x
    getattr(y, name)(*args(torch))
    assert x._version > v0
    np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=1e-12)
    a, b = nnzoo.tensor(base.copy(), requires_grad=True), torch.tensor(base.copy(), requires_grad=True)
    ya, yb = a * 2, b * 2
    getattr(ya, name)(*args(nnzoo))
    getattr(yb, name)(*args(torch))
    (ya * ya).sum().backward()
    (yb * yb).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12)


def test_errors():
    with pytest.raises(RuntimeError, match="scatter_reduce"):
        nnzoo.scatter_reduce(nnzoo.zeros(3), 0, nnzoo.tensor([0]), nnzoo.ones(1), "max")
    with pytest.raises(RuntimeError, match="index_copy"):
        nnzoo.index_copy(nnzoo.zeros(3, 2), 0, nnzoo.tensor([0]), nnzoo.ones(2, 2))
    with pytest.raises(RuntimeError, match="diag"):
        nnzoo.diag(nnzoo.zeros(2, 2, 2))
    with pytest.raises(RuntimeError, match="trace"):
        nnzoo.trace(nnzoo.zeros(3))
    with pytest.raises(RuntimeError, match="rot90"):
        nnzoo.rot90(nnzoo.zeros(3, 3), 1, (0, 0))
    with pytest.raises(RuntimeError, match="bincount"):
        nnzoo.bincount(nnzoo.tensor([-1, 2]))
