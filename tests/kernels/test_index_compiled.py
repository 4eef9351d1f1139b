"""The compiled sparse-row kernels of kernels/index.py (scatter-add of a sparse update, coalescing) against their
NumPy references, and the sparse ops built on them in both modes."""
import numpy as np
import pytest

from nnzoo.kernels import index as K
from nnzoo.kernels import jit

pytest.importorskip("numba")

TOL = {np.float32: 1e-5, np.float64: 1e-12}


def _case(rng, m, n, q, dtype, zipf=False):
    ids = (rng.zipf(1.3, m) % n) if zipf else rng.integers(0, n, m)
    return ids.astype(np.intp), rng.standard_normal((m, q)).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m,n,q,zipf", [(0, 5, 3, False), (1, 1, 1, False), (7, 3, 5, False), (300, 40, 9, True),
                                        (64, 1000, 17, False)])
@pytest.mark.parametrize("alpha", [1.0, -0.025])
def test_index_add_rows_matches_numpy(dtype, m, n, q, zipf, alpha):
    rng = np.random.default_rng(m + n + q)
    ids, vals = _case(rng, m, n, q, dtype, zipf)
    x0 = rng.standard_normal((n, q)).astype(dtype)
    out = {}
    for mode in jit.MODES:
        x = x0.copy()
        with jit.mode(mode):
            K.index_add_rows_(x, ids, vals, alpha)
        out[mode] = x
    loop = x0.copy()
    a = vals.dtype.type(alpha)
    for i, r in enumerate(ids):
        loop[r] += a * vals[i]
    np.testing.assert_array_equal(out["compiled"], loop)  # the compiled loop is the sequential order itself
    scale = max(1.0, float(np.abs(loop).max()) if loop.size else 1.0)
    np.testing.assert_allclose(out["numpy"], loop, rtol=0, atol=TOL[dtype] * scale * 10)


def test_index_add_rows_non_contiguous_values_and_target():
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 10, 40).astype(np.intp)
    vals = rng.standard_normal((40, 12))[:, ::2]  # non-contiguous
    res = []
    for mode in jit.MODES:
        x = np.zeros((10, 6))
        with jit.mode(mode):
            K.index_add_rows_(x, ids, vals, 2.0)
        res.append(x)
    np.testing.assert_allclose(res[0], res[1], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m,n,q,zipf", [(0, 5, 3, False), (1, 4, 2, False), (50, 7, 3, False), (500, 100, 11, True)])
def test_coalesce_rows_matches_numpy(dtype, m, n, q, zipf):
    rng = np.random.default_rng(m * 3 + q)
    ids, vals = _case(rng, m, n, q, dtype, zipf)
    res = {}
    for mode in jit.MODES:
        with jit.mode(mode):
            res[mode] = K.coalesce_rows(ids, vals, n)
    np.testing.assert_array_equal(res["compiled"][0], res["numpy"][0])
    np.testing.assert_array_equal(res["compiled"][0], np.unique(ids))
    np.testing.assert_allclose(res["compiled"][1], res["numpy"][1], rtol=TOL[dtype] * 10, atol=TOL[dtype] * 10)
    dense = np.zeros((n, q), dtype)
    for i, r in enumerate(ids):
        dense[r] += vals[i]
    np.testing.assert_allclose(res["compiled"][1], dense[np.unique(ids)], rtol=TOL[dtype] * 10,
                               atol=TOL[dtype] * 10)


def test_coalesce_rows_hybrid_values_take_numpy_path():
    ids = np.array([2, 0, 2])
    vals = np.arange(12.0).reshape(3, 2, 2)
    k, v = K.coalesce_rows(ids, vals, 3)
    np.testing.assert_array_equal(k, [0, 2])
    np.testing.assert_array_equal(v, [vals[1], vals[0] + vals[2]])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sparse_embedding_sgd_step_in_both_modes(dtype):
    import nnzoo
    rng = np.random.default_rng(3)
    w0 = rng.standard_normal((50, 7)).astype(dtype)
    idx = rng.integers(0, 50, (2, 33))
    res = {}
    for mode in jit.MODES:
        with jit.mode(mode):
            e = nnzoo.nn.Embedding(50, 7, sparse=True, _weight=nnzoo.tensor(w0.copy()))
            opt = nnzoo.optim.SGD(e.parameters(), lr=0.1, momentum=0.5)
            for _ in range(3):
                opt.zero_grad()
                (e(nnzoo.tensor(idx)) ** 2).sum().backward()
                opt.step()
            res[mode] = (e.weight.detach().numpy().copy(), e.weight.grad.to_dense().numpy())
    tol = 1e-5 if dtype == "float32" else 1e-12
    for a, b in zip(res["compiled"], res["numpy"]):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
