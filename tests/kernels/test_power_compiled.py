"""The compiled paths of nnzoo.kernels.power.scalar_pow against its NumPy reference (``jit.mode("numpy")``).

x**2 and x**3 are the same products in the same order: bitwise equal. The other integer and half-integer
exponents on float32 are evaluated in float64 and rounded once, so they equal the float64 reference
rounded to float32, and sit within one ulp of the NumPy path (pow on |x|, itself within one ulp); the
IEEE special values (0, -0, inf, -inf, nan, negative bases) are identical. Torch parity is
tests/ops/test_pow_scalar.py (run with NNZOO_KERNELS=numpy and without).
"""
import numpy as np
import pytest

import nnzoo
from nnzoo.kernels import jit, power

pytest.importorskip("numba")

SPECIAL = [0.0, -0.0, np.inf, -np.inf, np.nan, -1.0, 1.0, -2.0, 1e-40, -1e-40, 3e38, -3e38, 1e-20, 1e20]
WIDE = (4, 5, 7, -3, -4, -5, 1.5, 2.5, -1.5, -2.5, 10.5, 64)


def _input(dtype, shape=(5, 7, 33)):
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    x.flat[:len(SPECIAL)] = np.asarray(SPECIAL, dtype=dtype)
    return x


def _both(x, e):
    with np.errstate(all="ignore"):
        with jit.mode("compiled"):
            got = power.scalar_pow(x, e)
        with jit.mode("numpy"):
            want = power.scalar_pow(x, e)
    return np.asarray(got), np.asarray(want)


def _same_class(got, want):
    for cls in (np.isnan, np.isinf, lambda a: a == 0, lambda a: np.signbit(a) & ~np.isnan(a)):
        np.testing.assert_array_equal(cls(got), cls(want))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("e", [2, 3])
def test_square_and_cube_bitwise(dtype, e):
    for x in (_input(dtype), _input(dtype, (1,)), _input(dtype, ())[()] * np.ones((), dtype), np.ones((0, 3), dtype)):
        got, want = _both(x, e)
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


@pytest.mark.parametrize("e", WIDE)
def test_float32_exponents_evaluated_in_float64(e):
    x = _input(np.float32)
    got, want = _both(x, e)
    assert got.dtype == np.float32 and got.shape == x.shape
    _same_class(got, want)
    with np.errstate(all="ignore"):
        exact = np.power(x.astype(np.float64), float(e))
        exact[(x < 0) & np.isfinite(x) & (float(e) % 1 != 0)] = np.nan
        exact = exact.astype(np.float32)
    fin = np.isfinite(want) & (want != 0)
    np.testing.assert_array_equal(got[fin], exact[fin])  # one rounding of the float64 value
    ulps = np.abs(got[fin].astype(np.float64) - want[fin]) / np.spacing(np.abs(want[fin]))
    assert ulps.max(initial=0) <= 1.0


def test_layouts_and_dtypes_that_keep_numpy():
    """Non-contiguous input and float64 (for the float64-evaluated exponents) take the NumPy path."""
    x = _input(np.float32, (6, 9)).T
    for e in (3, 4, 1.5):
        got, want = _both(x, e)
        np.testing.assert_array_equal(got, want)
    x = _input(np.float64)
    for e in (4, -3, 1.5):
        got, want = _both(x, e)
        np.testing.assert_array_equal(got, want)
    got, want = _both(_input(np.float32, (0, 4)), 1.5)
    assert got.shape == want.shape == (0, 4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("e", [2, 3, 4, -3, 1.5, -2.5])
def test_pow_op_forward_backward_both_modes(dtype, e):
    """Tensor ** number forward and backward give the same values in both modes."""
    x = np.abs(np.random.default_rng(1).standard_normal((1, 4, 9))).astype(dtype) + dtype(0.5)
    out = {}
    for m in ("compiled", "numpy"):
        with jit.mode(m):
            t = nnzoo.tensor(x, requires_grad=True)
            y = t ** e
            y.sum().backward()
            out[m] = (y.detach().numpy(), t.grad.numpy())
    rtol = 1e-6 if dtype == np.float32 else 1e-14
    for got, want in zip(out["compiled"], out["numpy"]):
        np.testing.assert_allclose(got, want, rtol=rtol)
