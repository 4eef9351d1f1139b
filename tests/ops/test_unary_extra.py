"""The unary functions added for issue 15 (hyperbolic and inverse trigonometric functions, deg2rad, sinc,
frac, logit, nan_to_num) and the in-place forms of the elementwise ops, against PyTorch: the op harness
for values and gradients, then the in-place rules (same memory, version counter, history, leaf refusal)."""
import math

import numpy as np
import pytest
import torch
from helpers import OpCase, S, cases_params, check_op

import nnzoo

UNIT = dict(low=-0.9, high=0.9)

CASES = [
    OpCase("sinh", lambda m, a: m.sinh(a), [S(3, 4)]),
    OpCase("cosh", lambda m, a: m.cosh(a), [S(3, 4)]),
    OpCase("asin", lambda m, a: m.asin(a), [S(3, 4, **UNIT)]),
    OpCase("arcsin", lambda m, a: m.arcsin(a), [S(5, **UNIT)]),
    OpCase("acos", lambda m, a: m.acos(a), [S(3, 4, **UNIT)]),
    OpCase("arccos_method", lambda m, a: a.arccos(), [S(5, **UNIT)]),
    OpCase("atan", lambda m, a: m.atan(a), [S(3, 4)]),
    OpCase("arctan_method", lambda m, a: a.arctan(), [S(5)]),
    OpCase("asinh", lambda m, a: m.asinh(a), [S(3, 4)]),
    OpCase("acosh", lambda m, a: m.acosh(a), [S(3, 4, low=1.2, high=3.0)]),
    OpCase("atanh", lambda m, a: m.atanh(a), [S(3, 4, **UNIT)]),
    OpCase("arctanh_method", lambda m, a: a.arctanh(), [S(5, **UNIT)]),
    OpCase("deg2rad", lambda m, a: m.deg2rad(a), [S(3, 4)]),
    OpCase("rad2deg", lambda m, a: a.rad2deg(), [S(3, 4)]),
    OpCase("sinc", lambda m, a: m.sinc(a), [S(3, 4)]),
    OpCase("frac", lambda m, a: m.frac(a * 3), [S(3, 4)]),
    OpCase("logit", lambda m, a: m.logit(a), [S(3, 4, low=0.05, high=0.95)]),
    OpCase("logit_eps", lambda m, a: m.logit(a, eps=0.2), [S(3, 4, low=0.02, high=0.98)]),
    OpCase("nan_to_num", lambda m, a: m.nan_to_num(a), [S(3, 4)]),
    OpCase("sinh_0d", lambda m, a: a.sinh(), [S()]),
]


@cases_params(CASES)
def test_op(case):
    check_op(case)


@pytest.mark.parametrize("name", ["sinh", "cosh", "asin", "acos", "atan", "asinh", "acosh", "atanh", "deg2rad",
                                  "rad2deg", "sinc"])
def test_integer_input_gives_default_float(name):
    x = np.array([0, 1, 2, 3])
    got = getattr(nnzoo, name)(nnzoo.tensor(x))
    want = getattr(torch, name)(torch.tensor(x))
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, equal_nan=True)


def test_nan_to_num_values_and_gradient():
    x = np.array([np.nan, np.inf, -np.inf, 1.5, -2.0])
    for kw in ({}, dict(nan=1.0, posinf=7.0, neginf=-7.0)):
        a, b = nnzoo.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        ya, yb = nnzoo.nan_to_num(a, **kw), torch.nan_to_num(b, **kw)
        np.testing.assert_array_equal(ya.detach().numpy(), yb.detach().numpy())
        ya.sum().backward()
        yb.sum().backward()
        np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())
    ints = nnzoo.tensor([1, 2])
    assert nnzoo.nan_to_num(ints).tolist() == [1, 2]


def test_sinc_at_zero():
    a, b = nnzoo.tensor([0.0, 1.0], requires_grad=True), torch.tensor([0.0, 1.0], requires_grad=True)
    nnzoo.sinc(a).sum().backward()
    torch.sinc(b).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=1e-7)
    assert nnzoo.sinc(nnzoo.tensor(0.0)).item() == 1.0


def test_logit_outside_unit_interval_is_nan():
    x = [-0.5, 0.0, 1.0, 1.5]
    np.testing.assert_array_equal(nnzoo.logit(nnzoo.tensor(x)).numpy(), torch.logit(torch.tensor(x)).numpy())


# ---- in-place forms ----------------------------------------------------------------------------------
POS = np.array([[0.3, 0.7, 0.5], [0.6, 0.4, 0.9]])  # inside (0, 1): defined for every op below
INPLACE = [
    ("abs_", ()), ("absolute_", ()), ("neg_", ()), ("negative_", ()), ("sqrt_", ()), ("rsqrt_", ()),
    ("reciprocal_", ()), ("square_", ()), ("log_", ()), ("log1p_", ()), ("log2_", ()), ("log10_", ()),
    ("exp_", ()), ("expm1_", ()), ("sin_", ()), ("cos_", ()), ("tan_", ()), ("tanh_", ()), ("sigmoid_", ()),
    ("sinh_", ()), ("cosh_", ()), ("asin_", ()), ("acos_", ()), ("atan_", ()), ("asinh_", ()),
    ("atanh_", ()), ("arcsin_", ()), ("arctan_", ()), ("erf_", ()), ("erfc_", ()), ("sign_", ()),
    ("floor_", ()), ("ceil_", ()), ("trunc_", ()), ("fix_", ()), ("frac_", ()), ("round_", ()),
    ("deg2rad_", ()), ("rad2deg_", ()), ("sinc_", ()), ("logit_", ()), ("logit_", (0.35,)),
    ("nan_to_num_", ()), ("clamp_min_", (0.5,)), ("clamp_max_", (0.5,)), ("atan2_", ("T",)),
    ("hypot_", ("T",)), ("fmod_", (0.25,)), ("remainder_", (0.25,)), ("floor_divide_", (0.25,)),
]
NO_GRAD = {"floor_divide_"}  # PyTorch has no derivative for floor_divide


def _args(lib, args):
    """``"T"`` stands for a 0-d tensor 0.5 (atan2_ and hypot_ take a tensor in PyTorch)."""
    return [lib.tensor(0.5, dtype=lib.float64) if a == "T" else a for a in args]


@pytest.mark.parametrize("name,args", INPLACE, ids=[f"{n}{a}" for n, a in INPLACE])
def test_inplace_matches_torch(name, args):
    """Same values as torch's in-place method, written into the same memory, version bumped; inside the
    graph the gradient through the in-place op equals torch's through the out-of-place op."""
    x = nnzoo.tensor(POS.copy())
    mem, v0 = x.numpy(), x._version
    out = getattr(x, name)(*_args(nnzoo, args))
    want = getattr(torch.tensor(POS.copy()), name)(*_args(torch, args))
    assert out is x and x._version > v0
    np.testing.assert_allclose(mem, want.numpy(), rtol=1e-12, atol=1e-15)
    if name in NO_GRAD:
        return
    a, b = nnzoo.tensor(POS.copy(), requires_grad=True), torch.tensor(POS.copy(), requires_grad=True)
    ya, yb = a * 1.5, b * 1.5
    getattr(ya, name)(*_args(nnzoo, args))
    # out of place: torch has no derivative for some in-place forms (asinh_)
    yb = getattr(yb, name[:-1])(*_args(torch, args))
    np.testing.assert_allclose(ya.detach().numpy(), yb.detach().numpy(), rtol=1e-12, atol=1e-15)
    u = np.arange(6.0).reshape(2, 3)
    (ya * nnzoo.tensor(u)).sum().backward()
    (yb * torch.tensor(u)).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_inplace_refuses_a_leaf_that_requires_grad():
    w = nnzoo.tensor([0.5, 0.25], requires_grad=True)
    with pytest.raises(RuntimeError, match="sqrt_"):
        w.sqrt_()
    with nnzoo.no_grad():
        w.sqrt_()
    np.testing.assert_allclose(w.detach().numpy(), np.sqrt([0.5, 0.25]))


def test_inplace_after_save_raises_at_backward():
    """exp saves its output: changing that output in place makes backward refuse, as in PyTorch."""
    a = nnzoo.tensor([0.5, 0.25], requires_grad=True)
    y = a.exp()
    y.sin_()
    with pytest.raises(RuntimeError):
        y.sum().backward()


def test_inplace_float_op_on_integer_tensor_raises():
    with pytest.raises(RuntimeError):
        nnzoo.tensor([1, 4]).sqrt_()
    with pytest.raises(RuntimeError):
        torch.tensor([1, 4]).sqrt_()


def test_views_see_the_inplace_write():
    x = nnzoo.tensor([[1.0, 4.0], [9.0, 16.0]])
    row = x[1]
    x.sqrt_()
    assert row.tolist() == [3.0, 4.0]
    assert math.isclose(x.sum().item(), 10.0)
