"""nnzoo.kernels.linalg's biased GEMM (addmm_rows) and column sums (sum_rows) against NumPy's matmul + add and
a float64 sum: every layout the BLAS path takes and every one it hands back to NumPy."""
import numpy as np
import pytest

from nnzoo.kernels import linalg as L


def _ref(x, w, b):
    out = x.astype(np.float64) @ w.T.astype(np.float64)
    return out if b is None else out + b


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(256, 96), (4, 64, 96), (96,), (1, 96), (3, 0, 96)])
def test_addmm_rows_matches_numpy(dtype, shape):
    """Row-major inputs (2-D, 3-D, one row, a vector, no rows), with and without bias, big enough for the BLAS
    path (256 x 80 outputs) or not: NumPy's x @ w.T + b to float rounding."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal((80, 96)).astype(dtype)
    b = rng.standard_normal(80).astype(dtype)
    tol = 1e-4 if dtype == np.float32 else 1e-12
    for bias in (b, None, np.asarray(b[3])):
        got = L.addmm_rows(x, w, bias)
        assert got.shape == shape[:-1] + (80,) and got.dtype == dtype
        np.testing.assert_allclose(got, _ref(x, w, bias), rtol=tol, atol=tol)


def test_addmm_rows_layouts():
    """Strided rows (a column slice), a transposed weight, a weight row slice, a broadcast input, another bias
    dtype: the same values, from BLAS with leading dimensions or from NumPy's fallback."""
    rng = np.random.default_rng(1)
    big = rng.standard_normal((400, 200)).astype(np.float32)
    wt = rng.standard_normal((64, 100)).astype(np.float32)
    b = rng.standard_normal(100).astype(np.float32)
    cases = [(big[:, 10:74], rng.standard_normal((100, 64)).astype(np.float32), b),  # rows with lda 200
             (big[:, 10:74], wt.T, b),  # w^T: not unit-strided rows, NumPy's path
             (big[::2, :64], big[:100, 100:164], b),  # every other row; a weight with ldb 200
             (np.broadcast_to(big[0, :64], (256, 64)), wt.T.copy(), b),  # rows of stride 0: NumPy's path
             (big[:, :64], wt.T.copy(), b.astype(np.float64))]  # float64 bias on float32: NumPy's rules
    for x, w, bias in cases:
        want = x @ w.T
        want += bias
        got = L.addmm_rows(x, w, bias)
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)


def test_addmm_rows_special_values():
    """inf and nan in the input or bias propagate as in NumPy (BLAS's beta = 1 adds, it does not skip)."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((256, 32)).astype(np.float32)
    x[3, 4], x[7, 0] = np.inf, np.nan
    w = rng.standard_normal((96, 32)).astype(np.float32)
    b = rng.standard_normal(96).astype(np.float32)
    b[5] = np.nan
    want = x @ w.T
    want += b
    np.testing.assert_array_equal(np.isnan(L.addmm_rows(x, w, b)), np.isnan(want))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_sum_rows_matches_float64_sum(dtype):
    """Sum over every leading dim: 2-D, 3-D, non-contiguous, no rows, a vector (returned as is)."""
    rng = np.random.default_rng(3)
    a = (rng.standard_normal((6, 300, 48)) * 10).astype(dtype)
    tol = dict(rtol=1e-5, atol=1e-3) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-9)
    for arr in (a, a[0], a[:, ::3], a[:, :0], a.transpose(1, 0, 2)):
        got = L.sum_rows(arr)
        assert got.shape == (48,) and got.dtype == arr.dtype
        np.testing.assert_allclose(got, arr.astype(np.float64).reshape(-1, 48).sum(0), **tol)
    v = a[0, 0]
    assert L.sum_rows(v) is v


@pytest.mark.parametrize("n", [24, 200])
def test_rows_of_permuted_and_strided_inputs(n):
    """Leading dims in another memory order (a time-major array seen batch-major), a strided slice, a 4-D
    permutation: matmul_rows and addmm_rows equal NumPy's batched product and return C-contiguous arrays
    (as PyTorch's linear does, so ``view`` works on them), through the reordered rows (n <= k) or a copy."""
    rng = np.random.default_rng(5)
    w = rng.standard_normal((n, 96)).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    tm = rng.standard_normal((30, 40, 96)).astype(np.float32)
    four = rng.standard_normal((5, 6, 7, 96)).astype(np.float32)
    for x in (tm.transpose(1, 0, 2), tm[:, ::2], four.transpose(2, 0, 1, 3), four.transpose(1, 2, 0, 3)[:, 1:]):
        want = np.matmul(x, w.T)
        got = L.matmul_rows(x, w.T)
        assert got.shape == want.shape and got.flags.c_contiguous
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)
        got = L.addmm_rows(x, w, b)
        assert got.shape == want.shape and got.flags.c_contiguous
        np.testing.assert_allclose(got, want + b, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_reduce_to_matches_sum(dtype):
    """Undoing a broadcast by BLAS: leading dims, a middle run, trailing dims, with dims of size 1 between;
    None (the caller's own sum) for two separate runs, nothing to sum, small or non-contiguous arrays, ints."""
    rng = np.random.default_rng(6)
    a = rng.standard_normal((16, 30, 1, 64)).astype(dtype)
    tol = dict(rtol=1e-5, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-10)
    for shape in [(16, 1, 1, 64), (1, 64), (64,), (16, 30, 1, 1), (30, 1, 64), (1, 1, 1, 64), (16, 1, 1, 1)]:
        lead = a.ndim - len(shape)
        axes = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(shape) if s == 1 and a.shape[i + lead] != 1)
        got = L.reduce_to(a, shape)
        assert got is not None and got.shape == shape and got.dtype == a.dtype
        np.testing.assert_allclose(got, a.astype(np.float64).sum(axes, keepdims=True).reshape(shape), **tol)
    for arr, shape in [(a, (1, 30, 1, 1)), (a, a.shape), (a[:2, :2], (1, 64)), (a[:, ::2], (1, 64)),
                       (a.astype(np.int64), (1, 64))]:
        assert L.reduce_to(arr, shape) is None
