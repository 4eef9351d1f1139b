"""``pow(tensor, number)`` through nnzoo.kernels.power: values against torch 2.13, bitwise where torch's
kernel is exact (products, reciprocals, rsqrt) and within one ulp elsewhere; gradients through the harness."""
import numpy as np
import pytest
import torch
from helpers import OpCase, S, cases_params, check_op

import nnzoo
from nnzoo.kernels.power import scalar_pow

EXACT = (0, 1, 2, 3, -1, -2, -0.5)  # torch: ones, copy, x*x, x*x*x, 1/x, 1/(x*x), rsqrt
OTHER = (0.5, 1.5, 2.5, 4, 5, -3, -4, 0.25, 7.0, -1.5, 1e10)
SPECIAL = [0.0, -0.0, np.inf, -np.inf, np.nan, -1.0, 1.0, -2.0, 1e-40, -1e-40, 3e38, -3e38]


def _input(dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 16, 64)).astype(dtype)
    x.flat[:len(SPECIAL)] = SPECIAL
    return x


def _ulps(got, want):
    """Distance in units of the last place of ``want`` (0 where both are the same, nan included)."""
    same = (got == want) | (np.isnan(got) & np.isnan(want))
    d = ~same
    if not d.any():
        return 0.0
    if not (np.isfinite(got[d]) & np.isfinite(want[d])).all():
        return np.inf
    return float(np.max(np.abs(got[d].astype(np.float64) - want[d]) / np.spacing(np.abs(want[d]))))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("exponent", EXACT)
def test_exact_exponents_are_bitwise_torch(dtype, exponent):
    x = _input(dtype)
    with np.errstate(all="ignore"):
        got = (nnzoo.tensor(x) ** exponent).numpy()
    want = (torch.from_numpy(x) ** exponent).numpy()
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("exponent", OTHER)
def test_other_exponents_within_one_ulp_of_torch(dtype, exponent):
    """NOTE: torch's sqrt (x ** 0.5) and its vectorised pow are not correctly rounded; nnzoo's sqrt is, and its
    pow(|x|, e) is within one ulp of the float64 result, so both sit within one ulp of each other; the IEEE
    special values (0, -0, inf, -inf, nan, negative bases) are identical."""
    x = _input(dtype)
    with np.errstate(all="ignore"):
        got = (nnzoo.tensor(x) ** exponent).numpy()
    want = (torch.from_numpy(x) ** exponent).numpy()
    for cls in (np.isnan, np.isinf, lambda a: a == 0, lambda a: np.signbit(a) & ~np.isnan(a)):  # a nan's sign is noise
        np.testing.assert_array_equal(cls(got), cls(want))
    assert _ulps(got, want) <= 1.0


@pytest.mark.parametrize("exponent", [3, 4, 1.5, -3])
def test_against_float64_reference(exponent):
    """Within one ulp of the exact result rounded once (float64 pow, then float32)."""
    x = _input(np.float32)
    with np.errstate(all="ignore"):
        got = scalar_pow(x, exponent)
        want = np.power(x.astype(np.float64), float(exponent)).astype(np.float32)
    assert _ulps(got, want) <= 1.0


def test_zero_dim_and_noncontiguous():
    x = np.arange(-6, 6, dtype=np.float32).reshape(3, 4).T  # non-contiguous
    for e in (2, 3, 1.5, 4, -3):
        with np.errstate(all="ignore"):
            got = (nnzoo.tensor(x) ** e).numpy()
            assert _ulps(got, (torch.from_numpy(x) ** e).numpy()) <= 1.0
            assert float(nnzoo.tensor(-2.0) ** e) == pytest.approx(float(torch.tensor(-2.0) ** e), nan_ok=True)


POS = dict(low=0.5, high=2.0)
CASES = [OpCase(f"pow_{e}", lambda m, a, e=e: a ** e, [S(3, 4, **(POS if not float(e).is_integer() else {}))])
         for e in (2, 3, 4, -1, -2, 0.5, -0.5, 1.5, 2.5)]
CASES += [OpCase("pow_method_3", lambda m, a: a.pow(3.0), [S(2, 5)]),
          OpCase("pow_tensor_exponent_0d", lambda m, a, b: a ** b, [S(3, 4, **POS), S()])]


@cases_params(CASES)
def test_pow_scalar_op(case):
    check_op(case)
