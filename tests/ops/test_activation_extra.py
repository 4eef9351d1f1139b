"""The activations of nnzoo/ops/activation.py (selu, celu, prelu, rrelu, glu, softmin, softsign, hardswish,
hardsigmoid, mish, threshold, hardshrink, softshrink, tanhshrink) against torch.nn.functional through the op
harness (forward, backward, finite differences, double backward), then rrelu's training-mode statistics, the
in-place forms and the errors."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from helpers import OpCase, S, cases_params, check_op

import nnzoo
import nnzoo.nn.functional as F

WIDE = dict(low=-5.0, high=5.0)


def _both(name, *args, **kw):
    """The same call in both libraries: F.<name>(inputs..., *args, **kw)."""
    def call(m, *a):
        mod = F if m is nnzoo else TF
        return getattr(mod, name)(*a, *args, **kw)
    return call


CASES = [
    OpCase("selu", _both("selu"), [S(3, 4, **WIDE)]),
    OpCase("celu", _both("celu"), [S(3, 4, **WIDE)]),
    # NOTE: alphas exact in float32: torch's celu backward uses 1.0 / float(alpha) (derivatives.yaml), which for
    # alpha = 0.7 is off the derivative of its own forward by ~1e-8 relative in float64
    OpCase("celu_alpha", _both("celu", alpha=0.75), [S(3, 4, **WIDE)]),
    OpCase("celu_alpha_3", _both("celu", 3.0), [S(5, 2, **WIDE)]),
    OpCase("prelu_shared", _both("prelu"), [S(2, 3, 4), S(1)]),
    OpCase("prelu_channels", _both("prelu"), [S(2, 3, 4), S(3)]),
    OpCase("prelu_channels_4d", _both("prelu"), [S(2, 3, 2, 2), S(3)]),
    OpCase("prelu_1d", _both("prelu"), [S(5), S(1)]),
    OpCase("rrelu_eval", _both("rrelu"), [S(3, 4)]),
    OpCase("rrelu_eval_bounds", _both("rrelu", 0.2, 0.6), [S(3, 4)]),
    OpCase("glu", _both("glu"), [S(3, 4)]),
    OpCase("glu_dim0", _both("glu", 0), [S(4, 3)]),
    OpCase("glu_dim1_3d", _both("glu", dim=1), [S(2, 6, 3)]),
    OpCase("softmin", _both("softmin", dim=1), [S(3, 4)]),
    OpCase("softmin_dim0", _both("softmin", 0), [S(3, 4)]),
    OpCase("softsign", _both("softsign"), [S(3, 4, **WIDE)]),
    OpCase("hardswish", _both("hardswish"), [S(4, 5, **WIDE)]),
    # NOTE: torch's hardsigmoid backward multiplies by the float32 constant 1.0f / 6.0f in float64 too (3e-8
    # relative off 1/6); nnzoo's gradient is the exact 1/6 (finite differences agree), hence rtol 1e-7 in float64
    OpCase("hardsigmoid", _both("hardsigmoid"), [S(4, 5, **WIDE)], bwd_tol={np.float64: dict(rtol=1e-7)},
           no_double="torch: derivative for aten::hardsigmoid_backward is not implemented"),
    OpCase("mish", _both("mish"), [S(4, 5, **WIDE)]),
    OpCase("mish_wide", _both("mish"), [S(4, 5, low=-30.0, high=30.0)]),
    OpCase("threshold", _both("threshold", 0.1, 20.0), [S(3, 4)]),
    OpCase("threshold_negative_value", _both("threshold", -0.5, -3.0), [S(3, 4)]),
    OpCase("hardshrink", _both("hardshrink"), [S(3, 4)]),
    OpCase("hardshrink_lambd", _both("hardshrink", 1.2), [S(3, 4)]),
    OpCase("softshrink", _both("softshrink"), [S(3, 4)]),
    OpCase("softshrink_lambd", _both("softshrink", 0.8), [S(3, 4)]),
    OpCase("tanhshrink", _both("tanhshrink"), [S(3, 4)]),
    OpCase("selu_0d", _both("selu"), [S()]),
    OpCase("hardswish_3d", _both("hardswish"), [S(2, 3, 4, **WIDE)]),
]


@cases_params(CASES)
def test_activation_matches_torch(case):
    check_op(case)


INPLACE = ["selu", "celu", "hardswish", "hardsigmoid", "mish"]


@pytest.mark.parametrize("name", INPLACE + ["threshold", "rrelu"])
def test_inplace_forms(name):
    """inplace=True writes into the input (same values as out of place) and back-propagates like torch."""
    args = {"threshold": (0.1, -2.0)}.get(name, ())
    x = np.random.default_rng(0).uniform(-5, 5, (3, 4))
    grads = []
    for lib, mod in ((nnzoo, F), (torch, TF)):
        leaf = lib.tensor(x, requires_grad=True)
        y = leaf * 1.0
        out = getattr(mod, name)(y, *args, inplace=True)
        assert out is y
        (out * lib.tensor(np.arange(12.0).reshape(3, 4))).sum().backward()
        grads.append((out.detach().numpy(), leaf.grad.numpy()))
    np.testing.assert_allclose(grads[0][0], grads[1][0], rtol=1e-12, atol=1e-12)
    rtol = 1e-7 if name == "hardsigmoid" else 1e-12  # torch's float32 1/6 (see the hardsigmoid case)
    np.testing.assert_allclose(grads[0][1], grads[1][1], rtol=rtol, atol=1e-12)


def test_rrelu_training_slopes():
    """Training mode: each negative element gets its own slope in [lower, upper] (uniform: mean and spread of
    U(lower, upper) within 5 standard errors), positive elements pass unchanged, and the gradient is the slope."""
    nnzoo.manual_seed(0)
    lower, upper = 0.1, 0.4
    x = -nnzoo.rand(20000, dtype=nnzoo.float64) - 0.5
    x = nnzoo.cat([x, nnzoo.tensor([1.5, 2.0], dtype=nnzoo.float64)]).requires_grad_()
    y = F.rrelu(x, lower, upper, training=True)
    y.sum().backward()
    slopes = (y / x).detach().numpy()
    neg = slopes[:-2]
    assert neg.min() >= lower and neg.max() <= upper
    n = neg.size
    sd = (upper - lower) / np.sqrt(12)
    assert abs(neg.mean() - (lower + upper) / 2) < 5 * sd / np.sqrt(n)
    assert abs(neg.std() - sd) < 5 * sd / np.sqrt(2 * n) * 1.5
    np.testing.assert_array_equal(slopes[-2:], [1.0, 1.0])
    np.testing.assert_allclose(x.grad.numpy(), slopes, rtol=1e-12)
    # a different draw each call, the same draw for the same seed
    nnzoo.manual_seed(3)
    a = F.rrelu(-nnzoo.ones(50), training=True)
    b = F.rrelu(-nnzoo.ones(50), training=True)
    nnzoo.manual_seed(3)
    c = F.rrelu(-nnzoo.ones(50), training=True)
    assert not np.array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(a.numpy(), c.numpy())


def test_errors_as_torch():
    x = nnzoo.randn(3, 5)
    with pytest.raises(RuntimeError, match="even"):
        F.glu(x)
    with pytest.raises(RuntimeError, match="channel size"):
        F.prelu(nnzoo.randn(2, 4), nnzoo.ones(3))
    with pytest.raises(RuntimeError, match="channel size"):
        F.prelu(nnzoo.randn(3), nnzoo.ones(3))
    with pytest.raises(RuntimeError, match="lambda"):
        F.softshrink(x, -0.5)
    for lib, mod in ((torch, TF),):  # the same calls raise in torch
        with pytest.raises(RuntimeError):
            mod.glu(lib.randn(3, 5))
        with pytest.raises(RuntimeError):
            mod.prelu(lib.randn(2, 4), lib.ones(3))
        with pytest.raises(RuntimeError):
            mod.softshrink(lib.randn(3), -0.5)


def test_softmin_implicit_dim_warns():
    x = np.random.default_rng(1).standard_normal((2, 3))
    with pytest.warns(UserWarning, match="Implicit dimension"):
        got = F.softmin(nnzoo.tensor(x))
    with pytest.warns(UserWarning):
        want = TF.softmin(torch.tensor(x))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)
