"""nnzoo.kernels.index against NumPy's unbuffered ufunc.at (the reference every path must reproduce)."""
import numpy as np

from nnzoo.kernels.index import segment_sum


def test_segment_sum_matches_add_at():
    """The scatter-add kernel against np.add.at on every path (bincount, rank passes, long segments)."""
    rng = np.random.default_rng(5)
    for m, n, q, dtype in [(50, 7, 1, np.float32), (200, 30, 5, np.float64), (300, 40, 64, np.float32),
                           (400, 3, 40, np.float64), (100, 20, 3, np.int64), (0, 5, 40, np.float32)]:
        lin = rng.integers(0, n, m)
        vals = (rng.standard_normal((m, q)) * 10).astype(dtype)
        want = np.zeros((n, q), dtype)
        np.add.at(want, lin, vals)
        got = segment_sum(vals, lin, n)
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)
    lin = rng.integers(0, 200_000, 3000)  # targets beyond 16 bits: the two-digit radix sort
    vals = rng.standard_normal((3000, 40))
    want = np.zeros((200_000, 40))
    np.add.at(want, lin, vals)
    np.testing.assert_allclose(segment_sum(vals, lin, 200_000), want, rtol=1e-12, atol=1e-12)
    lin = rng.integers(0, 4, 90)
    vals = rng.uniform(0.5, 1.5, (90, 40))
    want = np.ones((6, 40))
    np.multiply.at(want, lin, vals)
    np.testing.assert_allclose(segment_sum(vals, lin, 6, np.multiply), want, rtol=1e-12)
