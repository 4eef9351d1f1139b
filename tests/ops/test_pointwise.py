"""Binary and three-operand elementwise functions (nnzoo/ops/pointwise.py: atan2, hypot, logaddexp(2), fmod,
addcmul, addcdiv, lerp) and the scaled matrix sums (addmm, addmv, addbmm, baddbmm in nnzoo/ops/linalg.py)
against PyTorch through the op harness, plus their edge cases (beta = 0 ignores input, integer rules,
errors)."""
import numpy as np
import pytest
import torch
from helpers import OpCase, S, cases_params, check_op

import nnzoo

POS = dict(low=0.5, high=2.0)

CASES = [
    OpCase("atan2", lambda m, a, b: m.atan2(a, b), [S(3, 4), S(3, 4)]),
    OpCase("atan2_broadcast", lambda m, a, b: m.arctan2(a, b), [S(3, 1), S(4)]),
    OpCase("atan2_method", lambda m, a, b: a.atan2(b), [S(2, 3), S(2, 3)]),
    OpCase("hypot", lambda m, a, b: m.hypot(a, b), [S(3, 4), S(3, 4)]),
    OpCase("hypot_broadcast", lambda m, a, b: a.hypot(b), [S(2, 1, 3), S(4, 1)]),
    OpCase("logaddexp", lambda m, a, b: m.logaddexp(a, b), [S(3, 4), S(3, 4)]),
    OpCase("logaddexp_wide", lambda m, a, b: m.logaddexp(a * 8, b), [S(3, 4), S(4)]),
    OpCase("logaddexp2", lambda m, a, b: m.logaddexp2(a, b), [S(3, 4), S(1, 4)]),
    OpCase("fmod", lambda m, a, b: m.fmod(a * 3, b), [S(3, 4), S(3, 4, **POS)]),
    OpCase("fmod_scalar", lambda m, a: m.fmod(a * 3, 0.7), [S(3, 4)]),
    OpCase("fmod_method_negative", lambda m, a, b: (a * 3).fmod(-b), [S(3, 4), S(4, **POS)]),
    OpCase("addcmul", lambda m, a, b, c: m.addcmul(a, b, c), [S(3, 4), S(3, 4), S(3, 4)]),
    OpCase("addcmul_value", lambda m, a, b, c: m.addcmul(a, b, c, value=-0.5), [S(3, 4), S(4), S(3, 1)]),
    OpCase("addcmul_method", lambda m, a, b, c: a.addcmul(b, c, value=2), [S(2, 3), S(2, 3), S(2, 3)]),
    OpCase("addcdiv", lambda m, a, b, c: m.addcdiv(a, b, c), [S(3, 4), S(3, 4), S(3, 4, **POS)]),
    OpCase("addcdiv_value", lambda m, a, b, c: a.addcdiv(b, c, value=0.1), [S(3, 4), S(3, 1), S(4, **POS)]),
    OpCase("lerp_scalar", lambda m, a, b: m.lerp(a, b, 0.3), [S(3, 4), S(3, 4)]),
    OpCase("lerp_scalar_above_half", lambda m, a, b: a.lerp(b, 0.8), [S(3, 4), S(4)]),
    OpCase("lerp_tensor", lambda m, a, b, w: m.lerp(a, b, w), [S(3, 4), S(3, 4), S(3, 4, low=0.0, high=1.0)]),
    OpCase("lerp_tensor_broadcast", lambda m, a, b, w: a.lerp(b, w), [S(3, 4), S(4), S(3, 1)]),
    OpCase("addmm", lambda m, a, b, c: m.addmm(a, b, c), [S(3, 5), S(3, 4), S(4, 5)]),
    OpCase("addmm_beta_alpha", lambda m, a, b, c: m.addmm(a, b, c, beta=0.5, alpha=-2), [S(5), S(3, 4), S(4, 5)]),
    OpCase("addmm_method", lambda m, a, b, c: a.addmm(b, c, alpha=3), [S(3, 5), S(3, 4), S(4, 5)]),
    OpCase("addmm_beta0", lambda m, a, b, c: m.addmm(a, b, c, beta=0), [S(3, 5), S(3, 4), S(4, 5)]),
    OpCase("addmv", lambda m, a, b, c: m.addmv(a, b, c, beta=2, alpha=0.5), [S(3), S(3, 4), S(4)]),
    OpCase("addbmm", lambda m, a, b, c: m.addbmm(a, b, c, beta=0.5, alpha=2), [S(3, 5), S(2, 3, 4), S(2, 4, 5)]),
    OpCase("baddbmm", lambda m, a, b, c: m.baddbmm(a, b, c), [S(2, 3, 5), S(2, 3, 4), S(2, 4, 5)]),
    OpCase("baddbmm_broadcast", lambda m, a, b, c: a.baddbmm(b, c, beta=-1, alpha=0.5),
           [S(3, 5), S(2, 3, 4), S(2, 4, 5)]),
]


@cases_params(CASES)
def test_op(case):
    check_op(case)


def test_beta_zero_ignores_nan_in_input():
    a = np.full((2, 2), np.nan)
    m1, m2 = np.ones((2, 3)), np.ones((3, 2))
    got = nnzoo.addmm(nnzoo.tensor(a), nnzoo.tensor(m1), nnzoo.tensor(m2), beta=0)
    want = torch.addmm(torch.tensor(a), torch.tensor(m1), torch.tensor(m2), beta=0)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


@pytest.mark.parametrize("fn", ["atan2", "hypot", "logaddexp", "logaddexp2"])
def test_float_functions_of_integers(fn):
    a, b = [1, -2, 3], [2, 2, -1]
    if fn != "atan2":  # PyTorch has no integer hypot/logaddexp kernels; nnzoo raises the same error
        for lib in (torch, nnzoo):
            with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
                getattr(lib, fn)(lib.tensor(a), lib.tensor(b))
        return
    got = getattr(nnzoo, fn)(nnzoo.tensor(a), nnzoo.tensor(b))
    want = getattr(torch, fn)(torch.tensor(a), torch.tensor(b))
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)


def test_fmod_integers_and_sign():
    a, b = [-7, 7, -7, 7], [3, 3, -3, -3]
    got = nnzoo.fmod(nnzoo.tensor(a), nnzoo.tensor(b))
    want = torch.fmod(torch.tensor(a), torch.tensor(b))
    assert got.dtype == nnzoo.int64
    assert got.tolist() == want.tolist()
    with pytest.raises(RuntimeError, match="ZeroDivision"):
        nnzoo.fmod(nnzoo.tensor([1, 2]), 0)
    assert nnzoo.fmod(nnzoo.tensor([-7.5]), 2).tolist() == torch.fmod(torch.tensor([-7.5]), 2).tolist()


def test_logaddexp_extremes():
    x = [1000.0, -1000.0, float("inf"), float("-inf")]
    got = nnzoo.logaddexp(nnzoo.tensor(x), nnzoo.tensor(x))
    want = torch.logaddexp(torch.tensor(x), torch.tensor(x))
    np.testing.assert_allclose(got.numpy(), want.numpy())


def test_errors():
    with pytest.raises(RuntimeError, match="addcdiv"):
        nnzoo.addcdiv(nnzoo.ones(2), nnzoo.tensor([1, 2]), nnzoo.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="addmm"):
        nnzoo.addmm(nnzoo.ones(4, 4), nnzoo.ones(2, 3), nnzoo.ones(3, 2))
    with pytest.raises(RuntimeError, match="mm"):
        nnzoo.addmm(nnzoo.ones(2, 2), nnzoo.ones(2, 3), nnzoo.ones(2, 2))
    with pytest.raises(RuntimeError, match="lerp"):
        nnzoo.lerp(nnzoo.ones(2), nnzoo.ones(2, dtype=nnzoo.float64), 0.5)


def test_inplace_fused_forms():
    """addcmul_/addcdiv_/lerp_/addmm_/addmv_/addbmm_/baddbmm_ write into the tensor, as torch's do."""
    rng = np.random.default_rng(0)
    a, b, c = rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), rng.uniform(0.5, 2, (3, 4))
    m, v = rng.standard_normal((3, 5)), rng.standard_normal(5)
    m1, m2 = rng.standard_normal((2, 3, 5)), rng.standard_normal((2, 5, 4))
    calls = [("addcmul_", (b, c), dict(value=0.5)), ("addcdiv_", (b, c), dict(value=2)), ("lerp_", (b, 0.3), {}),
             ("addmm_", (m, rng.standard_normal((5, 4))), dict(beta=0.5)), ("addbmm_", (m1, m2), dict(alpha=2))]
    for name, args, kw in calls:
        x, y = nnzoo.tensor(a.copy()), torch.tensor(a.copy())
        wrap = [nnzoo.tensor(t) if isinstance(t, np.ndarray) else t for t in args]
        twrap = [torch.tensor(t) if isinstance(t, np.ndarray) else t for t in args]
        assert getattr(x, name)(*wrap, **kw) is x
        getattr(y, name)(*twrap, **kw)
        np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=1e-12, err_msg=name)
    x, y = nnzoo.tensor(a[:, 0].copy()), torch.tensor(a[:, 0].copy())
    x.addmv_(nnzoo.tensor(m), nnzoo.tensor(v), alpha=2)
    y.addmv_(torch.tensor(m), torch.tensor(v), alpha=2)
    np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=1e-12)
    x, y = nnzoo.tensor(m1 @ m2), torch.tensor(m1 @ m2)
    x.baddbmm_(nnzoo.tensor(m1), nnzoo.tensor(m2), beta=2)
    y.baddbmm_(torch.tensor(m1), torch.tensor(m2), beta=2)
    np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=1e-12)
