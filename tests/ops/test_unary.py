"""Elementwise functions of one tensor (nnzoo/ops/unary.py) against PyTorch: the table-driven
harness for every op and option (double backward included), then erf's accuracy, dtype rules, the gradients
at kinks and ties, and error messages."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import OpCase, S, V, cases_params, check_op

import nnzoo
from nnzoo.ops import unary

POS = dict(low=0.5, high=2.0)


def _f(name, **kw):
    """torch_fn for the nn.functional activations nnzoo exports at top level."""
    return lambda m, *a: getattr(F, name)(*a, **kw)


CASES = [
    # ---- exponentials, logarithms, powers
    OpCase("abs", lambda m, a: m.abs(a), [S(3, 4)]),
    OpCase("abs_method", lambda m, a: abs(a).sum(1) + a.abs()[:, 0], [S(3, 4)]),
    OpCase("absolute", lambda m, a: m.absolute(a), [S(5)]),
    OpCase("exp", lambda m, a: m.exp(a), [S(3, 4)]),
    OpCase("exp_method_0d", lambda m, a: a.exp(), [S()]),
    OpCase("log", lambda m, a: m.log(a), [S(3, 4, **POS)]),
    OpCase("log1p", lambda m, a: m.log1p(a), [S(3, 4, low=-0.5, high=2.0)]),
    OpCase("log1p_small", lambda m, a: m.log1p(a * 1e-9), [S(3, 4)], fd_tol=dict(atol=1e-6, rtol=1e-4)),
    OpCase("expm1", lambda m, a: m.expm1(a), [S(3, 4)]),
    OpCase("expm1_small", lambda m, a: m.expm1(a * 1e-9), [S(3, 4)], fd_tol=dict(atol=1e-6, rtol=1e-4)),
    OpCase("log2", lambda m, a: m.log2(a), [S(3, 4, **POS)]),
    OpCase("log10", lambda m, a: m.log10(a), [S(3, 4, **POS)]),
    OpCase("sqrt", lambda m, a: m.sqrt(a), [S(3, 4, **POS)]),
    OpCase("rsqrt", lambda m, a: m.rsqrt(a), [S(3, 4, **POS)]),
    OpCase("rsqrt_0d", lambda m, a: m.rsqrt(a), [S(low=0.5, high=2.0)]),
    OpCase("reciprocal", lambda m, a: m.reciprocal(a), [S(3, 4, **POS)]),
    OpCase("reciprocal_negative", lambda m, a: m.reciprocal(-a), [S(3, 4, **POS)]),
    OpCase("square", lambda m, a: m.square(a), [S(3, 4)]),
    # ---- trigonometry
    OpCase("sin", lambda m, a: m.sin(a), [S(3, 4)]),
    OpCase("cos", lambda m, a: m.cos(a), [S(3, 4)]),
    OpCase("tan", lambda m, a: m.tan(a), [S(3, 4, low=-1.2, high=1.2)]),
    OpCase("tanh", lambda m, a: m.tanh(a), [S(3, 4)]),
    # ---- sigmoid and the activations
    OpCase("sigmoid", lambda m, a: m.sigmoid(a), [S(3, 4)]),
    OpCase("sigmoid_wide", lambda m, a: m.sigmoid(a), [S(4, 5, low=-30.0, high=30.0)]),
    OpCase("sigmoid_0d", lambda m, a: a.sigmoid(), [S()]),
    OpCase("relu", lambda m, a: m.relu(a), [S(3, 4)]),
    OpCase("relu_method", lambda m, a: a.relu(), [S(2, 3, 4)]),
    OpCase("leaky_relu", lambda m, a: m.leaky_relu(a), [S(3, 4)], torch_fn=_f("leaky_relu")),
    OpCase("leaky_relu_slope", lambda m, a: m.leaky_relu(a, 0.2), [S(3, 4)],
           torch_fn=_f("leaky_relu", negative_slope=0.2)),
    OpCase("leaky_relu_slope_above_1", lambda m, a: m.leaky_relu(a, negative_slope=1.5), [S(3, 4)],
           torch_fn=_f("leaky_relu", negative_slope=1.5)),
    OpCase("leaky_relu_negative_slope", lambda m, a: m.leaky_relu(a, negative_slope=-0.3), [S(3, 4)],
           torch_fn=_f("leaky_relu", negative_slope=-0.3)),
    OpCase("elu", lambda m, a: m.elu(a), [S(3, 4)], torch_fn=_f("elu")),
    OpCase("elu_alpha", lambda m, a: m.elu(a, alpha=0.5), [S(3, 4)], torch_fn=_f("elu", alpha=0.5)),
    OpCase("elu_alpha_2", lambda m, a: m.elu(a, 2.0), [S(3, 4, low=-4.0, high=4.0)],
           torch_fn=_f("elu", alpha=2.0)),
    OpCase("elu_alpha_0", lambda m, a: m.elu(a, 0.0), [S(3, 4)], torch_fn=_f("elu", alpha=0.0)),
    OpCase("elu_alpha_negative", lambda m, a: m.elu(a, -0.7), [S(3, 4)], torch_fn=_f("elu", alpha=-0.7)),
    OpCase("gelu", lambda m, a: m.gelu(a), [S(3, 4)], torch_fn=_f("gelu")),
    OpCase("gelu_wide", lambda m, a: m.gelu(a), [S(5, 6, low=-9.0, high=9.0)], torch_fn=_f("gelu")),
    OpCase("gelu_tanh", lambda m, a: m.gelu(a, approximate="tanh"), [S(3, 4)],
           torch_fn=_f("gelu", approximate="tanh")),
    OpCase("gelu_tanh_wide", lambda m, a: m.gelu(a, approximate="tanh"), [S(5, 6, low=-9.0, high=9.0)],
           torch_fn=_f("gelu", approximate="tanh")),
    OpCase("gelu_0d", lambda m, a: m.gelu(a), [S()], torch_fn=_f("gelu")),
    OpCase("silu", lambda m, a: m.silu(a), [S(3, 4)], torch_fn=_f("silu")),
    OpCase("silu_wide", lambda m, a: m.silu(a), [S(4, 5, low=-30.0, high=30.0)], torch_fn=_f("silu")),
    OpCase("softplus", lambda m, a: m.softplus(a), [S(3, 4)], torch_fn=_f("softplus")),
    OpCase("softplus_beta", lambda m, a: m.softplus(a, beta=2.0), [S(3, 4)],
           torch_fn=_f("softplus", beta=2.0)),
    OpCase("softplus_beta_half", lambda m, a: m.softplus(a, 0.5), [S(3, 4, low=-8.0, high=8.0)],
           torch_fn=_f("softplus", beta=0.5)),
    # inputs on both sides of the threshold: linear above it, smooth below
    OpCase("softplus_threshold", lambda m, a: m.softplus(a, threshold=1.0), [S(4, 5, low=-3.0, high=3.0)],
           torch_fn=_f("softplus", threshold=1.0)),
    OpCase("softplus_beta_threshold", lambda m, a: m.softplus(a, beta=2.0, threshold=3.0),
           [S(4, 5, low=-3.0, high=3.0)], torch_fn=_f("softplus", beta=2.0, threshold=3.0)),
    OpCase("softplus_default_threshold_region", lambda m, a: m.softplus(a), [S(4, 5, low=15.0, high=25.0)],
           torch_fn=_f("softplus")),
    OpCase("logsigmoid", lambda m, a: unary.logsigmoid(a), [S(3, 4)], torch_fn=_f("logsigmoid")),
    OpCase("logsigmoid_wide", lambda m, a: unary.logsigmoid(a), [S(4, 5, low=-60.0, high=60.0)],
           torch_fn=_f("logsigmoid")),
    OpCase("softplus_very_negative", lambda m, a: m.softplus(a), [S(3, 4, low=-60.0, high=-30.0)],
           torch_fn=_f("softplus")),
    OpCase("hardtanh", lambda m, a: m.hardtanh(a), [S(3, 4, low=-3.0, high=3.0)], torch_fn=_f("hardtanh")),
    OpCase("hardtanh_bounds", lambda m, a: m.hardtanh(a, -0.5, 2.0), [S(3, 4, low=-3.0, high=3.0)],
           torch_fn=_f("hardtanh", min_val=-0.5, max_val=2.0)),
    OpCase("relu6", lambda m, a: m.relu6(a * 4), [S(3, 4, low=-1.0, high=2.5)],
           torch_fn=lambda m, a: F.relu6(a * 4)),
    # ---- erf
    OpCase("erf", lambda m, a: m.erf(a), [S(3, 4)]),
    OpCase("erf_wide", lambda m, a: m.erf(a), [S(5, 6, low=-6.0, high=6.0)]),
    OpCase("erfc", lambda m, a: m.erfc(a), [S(3, 4)]),
    OpCase("erfc_wide", lambda m, a: m.erfc(a), [S(5, 6, low=-6.0, high=9.0)]),
    OpCase("erf_0d", lambda m, a: m.erf(a), [S()]),
    # ---- clamp: number bounds, one bound, tensor bounds (broadcasting, both ways), min > max
    OpCase("clamp", lambda m, a: m.clamp(a, -0.5, 0.5), [S(3, 4)]),
    OpCase("clamp_min_only", lambda m, a: m.clamp(a, min=-0.2), [S(3, 4)]),
    OpCase("clamp_max_only", lambda m, a: m.clamp(a, max=0.3), [S(3, 4)]),
    OpCase("clamp_int_bounds", lambda m, a: m.clamp(a, -1, 1), [S(3, 4)]),
    OpCase("clamp_min_above_max", lambda m, a: m.clamp(a, 1.0, -1.0), [S(3, 4)]),
    OpCase("clamp_method", lambda m, a: a.clamp(-0.5, 0.5) + a.clamp(min=0.1) + a.clamp(max=-0.1), [S(3, 4)]),
    OpCase("clip", lambda m, a: m.clip(a, -0.5, 0.5), [S(3, 4)]),
    OpCase("clip_method", lambda m, a: a.clip(max=0.5), [S(3, 4)]),
    OpCase("clamp_min_fn", lambda m, a: m.clamp_min(a, 0.1), [S(3, 4)]),
    OpCase("clamp_max_fn", lambda m, a: m.clamp_max(a, 0.1), [S(3, 4)]),
    OpCase("clamp_0d", lambda m, a: m.clamp(a, -0.1, 0.1), [S()]),
    OpCase("clamp_tensor_bounds", lambda m, a, lo, hi: m.clamp(a, lo, hi),
           [S(3, 4), S(3, 4, low=-1.0, high=0.0), S(3, 4, low=0.0, high=1.0)]),
    OpCase("clamp_tensor_bounds_crossing", lambda m, a, lo, hi: m.clamp(a, lo, hi),  # some lo > hi
           [S(4, 5), S(4, 5), S(4, 5)]),
    OpCase("clamp_tensor_broadcast", lambda m, a, lo, hi: m.clamp(a, lo, hi),
           [S(3, 4), S(4, low=-1.0, high=0.0), S(3, 1, low=0.0, high=1.0)]),
    # torch's own backward fails when the bounds broadcast the input to a bigger shape: forward only
    # here, the gradient by finite differences below
    OpCase("clamp_tensor_bounds_bigger", lambda m, a, lo, hi: m.clamp(a, min=lo, max=hi),
           [S(4), S(3, 4, low=-1.0, high=0.0), S(2, 1, 1, low=0.0, high=1.0)], grad=False),
    OpCase("clamp_tensor_min_only", lambda m, a, lo: m.clamp(a, min=lo), [S(3, 4), S(3, 4)]),
    OpCase("clamp_tensor_max_only", lambda m, a, hi: m.clamp(a, max=hi), [S(3, 4), S(1, 4)]),
    OpCase("clamp_tensor_method", lambda m, a, lo: a.clamp(lo), [S(3, 4), S(4)]),
    OpCase("clamp_tensor_bound_no_grad", lambda m, a, lo: m.clamp(a, lo), [S(3, 4), V(np.zeros(4))]),
    # ---- rounding: zero gradient
    OpCase("sign", lambda m, a: m.sign(a), [S(3, 4)]),
    OpCase("sign_method", lambda m, a: a.sign() * a, [S(3, 4)]),
    OpCase("floor", lambda m, a: m.floor(a * 3), [S(3, 4)]),
    OpCase("ceil", lambda m, a: m.ceil(a * 3), [S(3, 4)]),
    OpCase("trunc", lambda m, a: m.trunc(a * 3), [S(3, 4)]),
    OpCase("fix", lambda m, a: m.fix(a * 3), [S(3, 4)]),
    OpCase("round", lambda m, a: m.round(a * 3), [S(3, 4)]),
    OpCase("round_half_to_even", lambda m, a: m.round(a),
           [V(np.array([[0.5, 1.5, 2.5], [-0.5, -1.5, -2.5]]))]),
    OpCase("round_decimals", lambda m, a: m.round(a, decimals=2), [S(3, 4)]),
    OpCase("round_decimals_negative", lambda m, a: m.round(a * 1000, decimals=-1), [S(3, 4)]),
    OpCase("round_method", lambda m, a: a.floor() + a.ceil() + a.round(decimals=1), [S(3, 4)]),
    OpCase("rounding_in_graph", lambda m, a: m.floor(a * 2) * a + m.sign(a) * a, [S(3, 4)]),
]


@cases_params(CASES)
def test_op(case):
    check_op(case)


# ---- erf accuracy ---------------------------------------------------------------------------------
def test_erf_matches_math_erf_on_dense_grid():
    x = np.concatenate([np.linspace(-7.0, 7.0, 140001), np.linspace(-0.5, 0.5, 10001),
                        np.linspace(3.9, 4.1, 2001), np.geomspace(1e-300, 1e-3, 1001)])
    want = np.array([math.erf(v) for v in x])
    got = nnzoo.erf(nnzoo.from_numpy(x)).numpy()
    rel = np.abs(got - want) / np.maximum(np.abs(want), np.finfo(np.float64).tiny)
    assert rel.max() < 1.5e-15, f"erf: max relative error {rel.max():.3g} at x = {x[rel.argmax()]!r}"


def test_erfc_matches_math_erfc_on_dense_grid():
    x = np.concatenate([np.linspace(-6.0, 0.0, 60001), np.linspace(0.0, 26.5, 265001)])
    want = np.array([math.erfc(v) for v in x])
    got = nnzoo.erfc(nnzoo.from_numpy(x)).numpy()
    ok = want > 0
    rel = np.abs(got - want)[ok] / want[ok]
    assert rel.max() < 3e-15, f"erfc: max relative error {rel.max():.3g} at x = {x[ok][rel.argmax()]!r}"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_erf_erfc_match_torch_including_special_values(dtype):
    x = np.concatenate([np.linspace(-10.0, 10.0, 20001), np.linspace(-40, 40, 801),
                        [0.0, -0.0, np.inf, -np.inf, np.nan, 0.46875, -0.46875, 4.0, -4.0, 30.0, 1e30]])
    x = x.astype(dtype)
    for name in ("erf", "erfc"):
        got = getattr(nnzoo, name)(nnzoo.from_numpy(x)).numpy()
        want = getattr(torch, name)(torch.from_numpy(x)).numpy()
        assert got.dtype == want.dtype
        ulp = np.finfo(dtype).eps
        np.testing.assert_allclose(got, want, rtol=16 * ulp, atol=2 * ulp, equal_nan=True, err_msg=name)
        np.testing.assert_array_equal(np.signbit(got[:2]), np.signbit(want[:2]), err_msg=f"{name}(+-0)")


def test_erf_float16_and_shapes():
    x = np.linspace(-3, 3, 24).reshape(2, 3, 4)
    got = nnzoo.erf(nnzoo.from_numpy(x.astype(np.float16)))
    assert got.dtype == nnzoo.float16 and tuple(got.shape) == (2, 3, 4)
    np.testing.assert_allclose(got.numpy(), torch.erf(torch.from_numpy(x.astype(np.float16))).numpy(),
                               atol=2e-3)
    # more elements than one internal block, non-contiguous
    big = np.random.default_rng(0).standard_normal((300, 200)).T
    np.testing.assert_allclose(nnzoo.erf(nnzoo.from_numpy(big)).numpy(),
                               torch.erf(torch.from_numpy(big)).numpy(), rtol=1e-14, atol=1e-15)


# ---- dtypes ----------------------------------------------------------------------------------------
_DTYPE_OPS = {
    "abs": lambda m, x: m.abs(x), "exp": lambda m, x: m.exp(x), "log1p": lambda m, x: m.log1p(x),
    "expm1": lambda m, x: m.expm1(x), "sqrt": lambda m, x: m.sqrt(x), "rsqrt": lambda m, x: m.rsqrt(x),
    "reciprocal": lambda m, x: m.reciprocal(x), "square": lambda m, x: m.square(x),
    "sin": lambda m, x: m.sin(x), "tanh": lambda m, x: m.tanh(x), "sigmoid": lambda m, x: m.sigmoid(x),
    "erf": lambda m, x: m.erf(x), "log2": lambda m, x: m.log2(x), "relu": lambda m, x: m.relu(x),
    "sign": lambda m, x: m.sign(x), "floor": lambda m, x: m.floor(x), "ceil": lambda m, x: m.ceil(x),
    "round": lambda m, x: m.round(x), "trunc": lambda m, x: m.trunc(x),
    "clamp_int": lambda m, x: m.clamp(x, -1, 2), "clamp_float_bound": lambda m, x: m.clamp(x, -1.5, 2),
    "clamp_min_only": lambda m, x: m.clamp(x, min=1),
    "clamp_float_tensor_bound": lambda m, x: m.clamp(x, m.tensor([0.5])),
    "clamp_int32_tensor_bound": lambda m, x: m.clamp(x, max=m.tensor([1, 2, 3, 4], dtype=m.int32)),
    "hardtanh": lambda m, x: (m if m is nnzoo else F).hardtanh(x),
    "hardtanh_float_limits": lambda m, x: (m if m is nnzoo else F).hardtanh(x, -0.5, 2.5),
    "leaky_relu": lambda m, x: (m if m is nnzoo else F).leaky_relu(x),
    "gelu": lambda m, x: (m if m is nnzoo else F).gelu(x),
    "softplus": lambda m, x: (m if m is nnzoo else F).softplus(x),
}


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool"])
@pytest.mark.parametrize("op", sorted(_DTYPE_OPS))
def test_integer_and_bool_inputs_follow_torch(op, dtype):
    values = np.array([-2, 0, 3, 1]) if dtype != "uint8" else np.array([254, 0, 3, 1])
    arr = values.astype(dtype)
    fn = _DTYPE_OPS[op]
    with np.errstate(all="ignore"):
        try:
            want = fn(torch, torch.from_numpy(arr))
        except (RuntimeError, NotImplementedError, ValueError, TypeError):
            with pytest.raises((RuntimeError, NotImplementedError, ValueError, TypeError)):
                fn(nnzoo, nnzoo.from_numpy(arr))
            return
        got = fn(nnzoo, nnzoo.from_numpy(arr))
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1], f"{op}({dtype})"
    np.testing.assert_allclose(got.numpy().astype(np.float64), want.numpy().astype(np.float64),
                               rtol=1e-6, equal_nan=True)


def test_integer_input_takes_the_default_float_dtype():
    x = nnzoo.tensor([1, 2, 3])
    assert nnzoo.exp(x).dtype == nnzoo.float32
    nnzoo.set_default_dtype(nnzoo.float64)
    try:
        assert nnzoo.sigmoid(x).dtype == nnzoo.float64
        assert nnzoo.erf(x).dtype == nnzoo.float64
    finally:
        nnzoo.set_default_dtype(nnzoo.float32)


@pytest.mark.parametrize("name", ["exp", "log1p", "sigmoid", "tanh", "erf", "gelu", "silu", "softplus", "elu",
                                  "relu", "abs", "sign", "round"])
def test_float16_keeps_dtype(name):
    x = np.linspace(-0.9, 3, 14).astype(np.float16)
    th = getattr(torch, name, None) or getattr(F, name)
    got = getattr(nnzoo, name)(nnzoo.from_numpy(x))
    want = th(torch.from_numpy(x))
    assert got.dtype == nnzoo.float16 and want.dtype == torch.float16
    np.testing.assert_allclose(got.numpy().astype(np.float32), want.numpy().astype(np.float32),
                               atol=4e-3, rtol=4e-3)


# ---- kinks, ties, special points: the exact subgradients PyTorch uses ------------------------------
KINKS = [
    ("abs_at_zero", lambda m, x: m.abs(x), [0.0, -0.0, 1.0, -1.0]),
    ("relu_at_zero", lambda m, x: m.relu(x), [0.0, -0.0, 1.0, -1.0]),
    ("leaky_relu_at_zero", lambda m, x: (m if m is nnzoo else F).leaky_relu(x, 0.1), [0.0, -0.0, 2.0, -2.0]),
    ("elu_at_zero", lambda m, x: (m if m is nnzoo else F).elu(x, alpha=2.0), [0.0, -0.0, 1.0, -1.0]),
    ("hardtanh_at_bounds", lambda m, x: (m if m is nnzoo else F).hardtanh(x, -1.0, 2.0),
     [-1.0, 2.0, 0.0, -3.0, 3.0]),
    ("relu6_at_bounds", lambda m, x: (m if m is nnzoo else F).relu6(x), [0.0, 6.0, 3.0, 7.0]),
    ("clamp_at_bounds", lambda m, x: m.clamp(x, -1.0, 2.0), [-1.0, 2.0, 0.0, -3.0, 3.0]),
    ("clamp_min_at_bound", lambda m, x: m.clamp(x, min=1.0), [1.0, 0.0, 2.0]),
    ("clamp_max_at_bound", lambda m, x: m.clamp(x, max=1.0), [1.0, 0.0, 2.0]),
    ("clamp_min_above_max", lambda m, x: m.clamp(x, 2.0, -1.0), [-1.0, 2.0, 0.0, 3.0, -3.0]),
    ("softplus_at_threshold", lambda m, x: (m if m is nnzoo else F).softplus(x, beta=2.0, threshold=4.0),
     [2.0, 2.0 + 1e-12, 2.0 - 1e-12, 1.0, 3.0]),
    ("sqrt_at_zero", lambda m, x: m.sqrt(x), [0.0, 1.0]),
    ("rsqrt_at_zero", lambda m, x: m.rsqrt(x), [0.0, 1.0]),
    ("log_at_zero", lambda m, x: m.log(x), [0.0, 1.0]),
    ("reciprocal_at_zero", lambda m, x: m.reciprocal(x), [0.0, -0.0]),
    ("sigmoid_extremes", lambda m, x: m.sigmoid(x), [-800.0, -50.0, 50.0, 800.0]),
    ("silu_extremes", lambda m, x: (m if m is nnzoo else F).silu(x), [-800.0, -50.0, 50.0, 800.0]),
    ("tanh_extremes", lambda m, x: m.tanh(x), [-800.0, 800.0]),
    ("erf_extremes", lambda m, x: m.erf(x), [-30.0, 30.0, np.inf, -np.inf]),
    ("gelu_extremes", lambda m, x: (m if m is nnzoo else F).gelu(x), [-40.0, 40.0, 0.0]),
    ("softplus_extremes", lambda m, x: (m if m is nnzoo else F).softplus(x), [-800.0, 800.0]),
    # issue 13: elu's gradient at +inf was nan (0 * inf); logsigmoid's at 0 must be sigmoid(-0) = 1/2.
    # (elu at nan: our gradient is nan, torch's 1; see Elu's NOTE)
    ("elu_at_infinities", lambda m, x: (m if m is nnzoo else F).elu(x), [np.inf, -np.inf, 0.0, -0.0, 50.0]),
    ("elu_alpha_at_infinities", lambda m, x: (m if m is nnzoo else F).elu(x, alpha=0.5),
     [np.inf, -np.inf, 0.0, -0.0, 50.0]),
    ("elu_negative_alpha_at_infinities", lambda m, x: (m if m is nnzoo else F).elu(x, alpha=-0.5),
     [np.inf, -np.inf, 0.0, -0.0, 50.0]),
    ("softplus_at_zero_and_infinities", lambda m, x: (m if m is nnzoo else F).softplus(x),
     [0.0, -0.0, np.inf, -np.inf, np.nan]),
    ("logsigmoid_at_zero_and_infinities", lambda m, x: (unary.logsigmoid if m is nnzoo else F.logsigmoid)(x),
     [0.0, -0.0, np.inf, -np.inf, np.nan, 800.0, -800.0, 50.0, -50.0]),
    ("sign_nan_and_zero", lambda m, x: m.sign(x), [np.nan, 0.0, -0.0, np.inf, -np.inf]),
    ("nan_through_piecewise_linear",
     lambda m, x: m.abs(x) + m.relu(x) + m.clamp(x, -1, 1) + (m if m is nnzoo else F).hardtanh(x)
     + (m if m is nnzoo else F).leaky_relu(x) + m.clamp(x, min=0.0), [np.nan, 0.5]),
]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name,fn,values", KINKS, ids=[k[0] for k in KINKS])
def test_gradient_at_kinks_matches_torch(name, fn, values, dtype):
    arr = np.array(values, dtype=np.float64 if dtype == torch.float64 else np.float32)
    xn = nnzoo.from_numpy(arr.copy()).requires_grad_()
    xt = torch.from_numpy(arr.copy()).requires_grad_()
    with np.errstate(all="ignore"):
        yn = fn(nnzoo, xn)
        yt = fn(torch, xt)
        yn.sum().backward()
        yt.sum().backward()
    got, want = yn.detach().numpy(), yt.detach().numpy()
    np.testing.assert_array_equal(got, want, err_msg=f"{name}: forward")
    if name.startswith(("abs", "sign")):  # abs(-0.0) is +0.0, sign(-0.0) is -0.0
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want), err_msg=f"{name}: sign of zero")
    np.testing.assert_allclose(xn.grad.numpy(), xt.grad.numpy(), rtol=1e-6, atol=0, equal_nan=True,
                               err_msg=f"{name}: gradient")


def test_clamp_tensor_bounds_gradient_routing_matches_torch():
    # every case of torch's rule: x inside, below, above, at each bound, lo == hi, lo > hi
    x = [-2.0, 0.0, 0.5, 1.0, 2.0, 3.0, -1.0, 5.0, 0.3]
    lo = [0.0, 0.0, 1.0, 1.0, 2.0, 4.0, 0.0, 0.0, 0.3]
    hi = [1.0, 0.0, 0.5, 0.0, 2.0, 2.0, 0.0, 0.0, 0.3]
    for which in ("both", "min", "max"):
        results = []
        for m in (nnzoo, torch):
            ts = [m.tensor(v, dtype=m.float64, requires_grad=True) for v in (x, lo, hi)]
            kw = {"both": dict(min=ts[1], max=ts[2]), "min": dict(min=ts[1]), "max": dict(max=ts[2])}[which]
            y = m.clamp(ts[0], **kw)
            (y * m.arange(1.0, 10.0, dtype=m.float64)).sum().backward()
            results.append([y.detach().numpy()] + [None if t.grad is None else t.grad.numpy() for t in ts])
        for k, (got, want) in enumerate(zip(*results)):
            what = "output" if k == 0 else f"gradient of input {k - 1}"
            if want is None:
                assert got is None or not np.any(got), f"clamp {which}: {what}: torch has none"
            else:
                np.testing.assert_array_equal(got, want, err_msg=f"clamp {which}: {what}")


def test_clamp_tensor_bounds_bigger_than_input_gradcheck():
    rng = np.random.default_rng(5)
    x = nnzoo.tensor(rng.standard_normal(4), dtype=nnzoo.float64, requires_grad=True)
    lo = nnzoo.tensor(rng.uniform(-1, 0, (3, 4)), dtype=nnzoo.float64, requires_grad=True)
    hi = nnzoo.tensor(rng.uniform(0, 1, (2, 1, 1)), dtype=nnzoo.float64, requires_grad=True)
    assert nnzoo.autograd.gradcheck(lambda a, b, c: nnzoo.clamp(a, b, c), (x, lo, hi))


def test_relu_gradient_at_zero_is_zero_and_abs_at_zero_is_zero():
    x = nnzoo.zeros(3, requires_grad=True)
    (nnzoo.relu(x) + nnzoo.abs(x)).sum().backward()
    xt = torch.zeros(3, requires_grad=True)
    (torch.relu(xt) + torch.abs(xt)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())


def test_rounding_ops_give_zero_gradient_not_none():
    for name in ("sign", "floor", "ceil", "round", "trunc"):
        x = nnzoo.tensor([0.3, -1.7, 2.5], requires_grad=True)
        y = getattr(nnzoo, name)(x)
        assert y.requires_grad
        y.sum().backward()
        xt = torch.tensor([0.3, -1.7, 2.5], requires_grad=True)
        getattr(torch, name)(xt).sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())


def test_round_decimals_matches_torch_on_halfway_cases():
    vals = np.array([0.125, 0.375, 1.005, 2.675, -0.125, 12.5, 25.0, 35.0, 1234.5, 0.05, 0.15])
    for dtype in (np.float32, np.float64):
        for d in (-2, -1, 0, 1, 2, 3):
            got = nnzoo.round(nnzoo.from_numpy(vals.astype(dtype)), decimals=d).numpy()
            want = torch.round(torch.from_numpy(vals.astype(dtype)), decimals=d).numpy()
            np.testing.assert_array_equal(got, want, err_msg=f"round(decimals={d}) {np.dtype(dtype).name}")


# ---- double backward: the harness checks every case above; this one keeps a regression explicit --------
def test_double_backward_of_0d_exp_keeps_the_output_path():
    x = nnzoo.tensor(0.7, dtype=nnzoo.float64, requires_grad=True)
    g, = nnzoo.autograd.grad(nnzoo.exp(x) * nnzoo.sigmoid(x), x, create_graph=True)
    gg, = nnzoo.autograd.grad(g, x)
    xt = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    gt, = torch.autograd.grad(torch.exp(xt) * torch.sigmoid(xt), xt, create_graph=True)
    ggt, = torch.autograd.grad(gt, xt)
    np.testing.assert_allclose(gg.numpy(), ggt.numpy(), rtol=1e-12)


# ---- the forward never touches its input, and never returns it -----------------------------------------
_ALL_FLOAT_OPS = [
    "abs", "exp", "log1p", "expm1", "sqrt", "rsqrt", "reciprocal", "square", "sin", "cos", "tan", "tanh",
    "sigmoid", "relu", "leaky_relu", "elu", "gelu", "silu", "softplus", "hardtanh", "relu6", "erf", "erfc",
    "sign", "floor", "ceil", "round", "trunc",
]


@pytest.mark.parametrize("name", _ALL_FLOAT_OPS)
def test_forward_leaves_input_alone(name):
    arr = np.random.default_rng(3).uniform(0.1, 3.0, (40, 30)).T  # non-contiguous, positive
    before = arr.copy()
    x = nnzoo.from_numpy(arr)
    y = getattr(nnzoo, name)(x)
    np.testing.assert_array_equal(arr, before)
    assert not np.shares_memory(y.numpy(), arr)
    if name == "gelu":
        nnzoo.gelu(x, approximate="tanh")
        np.testing.assert_array_equal(arr, before)
    assert not np.shares_memory(nnzoo.clamp(x, 0.5, 1.0).numpy(), arr)
    assert not np.shares_memory(nnzoo.clamp(x, nnzoo.tensor(0.5, dtype=nnzoo.float64)).numpy(), arr)


def test_integer_rounding_returns_a_copy():
    x = nnzoo.tensor([1, 2, 3])
    for name in ("floor", "ceil", "round", "trunc", "sign"):
        y = getattr(nnzoo, name)(x)
        assert y.dtype == nnzoo.int64 and not np.shares_memory(y.numpy(), x.numpy())


# ---- errors --------------------------------------------------------------------------------------------
def test_clamp_needs_a_bound():
    with pytest.raises(RuntimeError, match="clamp: at least one of 'min' or 'max' must not be None"):
        nnzoo.clamp(nnzoo.ones(3))


def test_clamp_tensor_bound_shape_error_names_shapes():
    with pytest.raises(RuntimeError, match=r"\(3,\), \(4,\)"):
        nnzoo.clamp(nnzoo.ones(3), nnzoo.zeros(4))


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(RuntimeError, match="gelu: approximate argument must be either 'none' or 'tanh'"):
        nnzoo.gelu(nnzoo.ones(3), approximate="erf")


def test_hardtanh_rejects_min_above_max():
    with pytest.raises(ValueError, match="hardtanh: min_val cannot be greater than max_val"):
        nnzoo.hardtanh(nnzoo.ones(3), 2.0, 1.0)


def test_activations_reject_integer_tensors_like_torch():
    for name in ("leaky_relu", "elu", "gelu", "silu", "softplus"):
        with pytest.raises(NotImplementedError, match=f"{name}: not implemented for nnzoo.int64"):
            getattr(nnzoo, name)(nnzoo.tensor([1, 2]))


def test_non_tensor_input_is_a_type_error():
    with pytest.raises(TypeError, match=r"exp\(\): argument 'input' must be Tensor, not float"):
        nnzoo.exp(2.0)
    with pytest.raises(TypeError, match=r"clamp\(\): argument 'input' must be Tensor, not list"):
        nnzoo.clamp([1.0], 0.0)


def test_bool_inputs_rejected_where_torch_rejects_them():
    with pytest.raises(RuntimeError, match="relu: bool tensors are not supported"):
        nnzoo.relu(nnzoo.tensor([True, False]))
    with pytest.raises(RuntimeError, match="abs: bool tensors are not supported"):
        nnzoo.abs(nnzoo.tensor([True]))


def test_round_decimals_on_integers_is_not_implemented():
    with pytest.raises(NotImplementedError, match=r"round: decimals=1 is not implemented for nnzoo\.int64"):
        nnzoo.round(nnzoo.tensor([1, 2]), decimals=1)


def test_all_names_exported():
    from nnzoo.ops import unary
    for name in unary.__all__:
        assert getattr(nnzoo, name) is getattr(unary, name)


def test_domain_edges_are_silent_like_torch():
    # PyTorch returns -inf / inf / nan without a warning; so does nnzoo (NumPy alone would warn)
    import warnings
    zero = nnzoo.tensor([0.0, -1.0])
    cases = [lambda m, t: m.log(t), lambda m, t: m.log2(t), lambda m, t: m.log10(t),
             lambda m, t: m.log1p(t - 1), lambda m, t: m.sqrt(t), lambda m, t: m.rsqrt(t),
             lambda m, t: m.reciprocal(t), lambda m, t: 1.0 / t, lambda m, t: t ** -1.0,
             lambda m, t: m.remainder(t, t)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for fn in cases:
            got = fn(nnzoo, zero).numpy()
            want = fn(torch, torch.tensor([0.0, -1.0])).numpy()
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("slope", [0.0, 0.01, -0.5, 1.5])
def test_leaky_relu_at_infinities_matches_torch(slope):
    """Found by the fuzzer: with slope 0, max(inf, 0 * inf) was nan; PyTorch's x > 0 ? x : slope x gives inf."""
    x = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 2.0, -2.0])
    res = []
    for lib in (nnzoo, torch):
        xt = lib.tensor(x, requires_grad=True)
        y = lib.nn.functional.leaky_relu(xt, slope)
        res.append((y.detach().numpy(), lib.autograd.grad(y, xt, grad_outputs=lib.ones_like(y))[0].numpy()))
    for got, want in zip(*res):
        np.testing.assert_array_equal(got, want)
