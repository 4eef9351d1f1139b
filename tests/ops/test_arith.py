"""Binary arithmetic, comparisons and casts against PyTorch, through the table-driven harness."""
import numpy as np
import pytest
import torch
from helpers import OpCase, S, V, cases_params, check_op
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import nnzoo

POS = dict(low=0.5, high=2.0)

CASES = [
    OpCase("add", lambda m, a, b: a + b, [S(3, 4), S(3, 4)]),
    OpCase("add_broadcast", lambda m, a, b: a + b, [S(2, 3, 4), S(4)]),
    OpCase("add_alpha", lambda m, a, b: m.add(a, b, alpha=2.5), [S(3, 4), S(1, 4)]),
    OpCase("add_scalar", lambda m, a: a + 1.5, [S(3, 4)]),
    OpCase("radd_scalar", lambda m, a: 2 + a, [S(3, 4)]),
    OpCase("sub", lambda m, a, b: a - b, [S(3, 1), S(1, 4)]),
    OpCase("rsub_scalar", lambda m, a: 1.0 - a, [S(5)]),
    OpCase("sub_alpha", lambda m, a, b: m.sub(a, b, alpha=0.5), [S(3, 4), S(3, 4)]),
    OpCase("mul", lambda m, a, b: a * b, [S(4, 3), S(4, 3)]),
    OpCase("mul_broadcast", lambda m, a, b: a * b, [S(2, 1, 3), S(4, 1)]),
    OpCase("mul_scalar", lambda m, a: a * -3.0, [S(4, 3)]),
    OpCase("div", lambda m, a, b: a / b, [S(3, 4), S(3, 4, **POS)]),
    OpCase("div_broadcast", lambda m, a, b: a / b, [S(3, 4), S(4, **POS)]),
    OpCase("rdiv_scalar", lambda m, a: 2.0 / a, [S(3, **POS)]),
    OpCase("pow_scalar", lambda m, a: a ** 3, [S(3, 4)]),
    OpCase("pow_fractional", lambda m, a: a ** 0.5, [S(3, 4, **POS)]),
    OpCase("pow_tensor", lambda m, a, b: a ** b, [S(3, 4, **POS), S(3, 4)]),
    OpCase("pow_broadcast", lambda m, a, b: m.pow(a, b), [S(2, 3, **POS), S(3)]),
    OpCase("rpow_scalar", lambda m, a: 2.0 ** a, [S(4)]),
    OpCase("neg", lambda m, a: -a, [S(3, 4)]),
    OpCase("remainder", lambda m, a, b: m.remainder(a, b), [S(3, 4), S(3, 4, **POS)]),
    OpCase("maximum", lambda m, a, b: m.maximum(a, b), [S(3, 4), S(4)]),
    OpCase("minimum", lambda m, a, b: m.minimum(a, b), [S(3, 4), S(3, 1)]),
    OpCase("where", lambda m, c, a, b: m.where(c, a, b),
           [V(np.random.default_rng(0).random((3, 4)) > 0.5), S(3, 4), S(4)]),
    OpCase("where_scalar", lambda m, c, a: m.where(c, a, 0.0),
           [V(np.random.default_rng(1).random((3, 4)) > 0.5), S(3, 4)]),
    OpCase("clone", lambda m, a: a.clone() * 2, [S(3, 4)]),
    OpCase("to_float64", lambda m, a: a.to(m.float64) * 2, [S(3, 4)]),
    # float32 rounding inside the op makes float64 finite differences meaningless here
    OpCase("mixed_float_promotion", lambda m, a, b: a.float() + b.double(), [S(3), S(3)], fd=False),
    OpCase("div_floor", lambda m, a, b: m.div(a, b, rounding_mode="floor"), [S(3, 4), S(3, 4, **POS)],
           grad=False),
    OpCase("div_trunc", lambda m, a, b: m.div(a, b, rounding_mode="trunc"), [S(3, 4), S(3, 4, **POS)],
           grad=False),
]

for _name, _op in [("eq", "__eq__"), ("ne", "__ne__"), ("lt", "__lt__"), ("le", "__le__"),
                   ("gt", "__gt__"), ("ge", "__ge__")]:
    CASES.append(OpCase(f"compare_{_name}", lambda m, a, b, op=_op: getattr(a, op)(b),
                        [V(np.array([[1.0, 2, 3], [3, 2, 1]])), V(np.array([2.0, 2, 2]))], grad=False))


@cases_params(CASES)
def test_op(case):
    check_op(case)


BINARY = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "maximum": lambda a, b: a.maximum(b),
}


@settings(max_examples=25, deadline=None)
@given(shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=4),
       op=st.sampled_from(sorted(BINARY)))
def test_binary_broadcasting_hypothesis(shapes, op):
    fn = BINARY[op]
    check_op(OpCase(f"hyp_{op}_{shapes.input_shapes}", lambda m, a, b: fn(a, b),
                    [S(*shapes.input_shapes[0]), S(*shapes.input_shapes[1])], noncontig=False))


@settings(max_examples=15, deadline=None)
@given(shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=4))
def test_div_pow_broadcasting_hypothesis(shapes):
    a, b = shapes.input_shapes
    check_op(OpCase(f"hyp_div_{shapes.input_shapes}", lambda m, x, y: x / y,
                    [S(*a), S(*b, low=0.5, high=2.0)], noncontig=False))
    check_op(OpCase(f"hyp_pow_{shapes.input_shapes}", lambda m, x, y: x ** y,
                    [S(*a, low=0.5, high=2.0), S(*b)], noncontig=False))


@pytest.mark.parametrize("a,b", [
    (np.array([1, 2], dtype=np.int64), 2.5),
    (np.array([1, 2], dtype=np.int64), np.array([1.5, 2.5], dtype=np.float32)),
    (np.array([1, 2], dtype=np.int32), np.array([3, 4], dtype=np.int64)),
    (np.array([1.0, 2.0], dtype=np.float32), np.array(3.0, dtype=np.float64)),
    (np.array([True, False]), np.array([1, 2], dtype=np.uint8)),
    (np.array([1.0, 2.0], dtype=np.float32), 2),
    (np.array(1.0, dtype=np.float64), np.array([1, 2], dtype=np.int64)),
])
def test_type_promotion_matches_torch(a, b):
    na = nnzoo.from_numpy(a)
    ta = torch.from_numpy(a)
    nb = nnzoo.from_numpy(b) if isinstance(b, np.ndarray) else b
    tb = torch.from_numpy(b) if isinstance(b, np.ndarray) else b
    for op in (lambda x, y: x + y, lambda x, y: x * y, lambda x, y: x / y):
        got, want = op(na, nb), op(ta, tb)
        assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)


def test_int_division_is_true_division():
    got = nnzoo.tensor([1, 2, 3]) / nnzoo.tensor([2, 2, 2])
    want = torch.tensor([1, 2, 3]) / torch.tensor([2, 2, 2])
    assert got.dtype == nnzoo.float32 and np.allclose(got.numpy(), want.numpy())


def test_broadcast_error_names_op_and_shapes():
    with pytest.raises(RuntimeError, match=r"add: shapes \(3, 4\), \(5,\)"):
        nnzoo.ones(3, 4) + nnzoo.ones(5)


def test_comparisons_return_bool_without_grad():
    x = nnzoo.randn(3, requires_grad=True)
    c = x > 0
    assert c.dtype == nnzoo.bool and not c.requires_grad


def test_where_requires_bool_condition():
    with pytest.raises(TypeError, match="where: condition must be a bool tensor"):
        nnzoo.where(nnzoo.ones(3), nnzoo.ones(3), nnzoo.zeros(3))


def test_pow_gradient_conventions_at_zero():
    # d(x^0)/dx = 0 at x = 0, and d(0^y)/dy = 0 for y >= 0 (PyTorch's choices, not nan)
    for fn in (lambda m, x, y: x ** y,):
        xn = nnzoo.tensor([0.0, 0.0, 2.0], requires_grad=True)
        yn = nnzoo.tensor([0.0, 2.0, 0.0], requires_grad=True)
        xt = torch.tensor([0.0, 0.0, 2.0], requires_grad=True)
        yt = torch.tensor([0.0, 2.0, 0.0], requires_grad=True)
        fn(nnzoo, xn, yn).sum().backward()
        fn(torch, xt, yt).sum().backward()
        np.testing.assert_allclose(xn.grad.numpy(), xt.grad.numpy())
        np.testing.assert_allclose(yn.grad.numpy(), yt.grad.numpy())


# ---- found by the differential fuzzer (tests/fuzz) -----------------------------------------------------
INF, NAN = float("inf"), float("nan")


def _both(fn):
    """fn(lib) in nnzoo and torch: (nnzoo result, torch result), or the exception types when either raises."""
    out = []
    for lib in (nnzoo, torch):
        try:
            out.append(fn(lib))
        except Exception as e:
            out.append(type(e))
    return out


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("call", [lambda m, a, b: m.div(a, b, rounding_mode="floor"), lambda m, a, b: a // b,
                                  lambda m, a, b: m.floor_divide(a, b),
                                  lambda m, a, b: m.div(a, b, rounding_mode="trunc")])
def test_rounding_division_of_floats_matches_torch_at_the_edges(dtype, call):
    """Floor division is PyTorch's fmod-based algorithm: inf // x is nan, -1e-40 // inf is -1, 3 // 0.1 is 29."""
    a = [1.0, -1.0, 5.0, -5.0, 0.0, -1e-40, INF, -7.5, 7.5, 3.0, -3.0, NAN, 1e4, -0.0]
    b = [0.0, 0.0, INF, INF, 0.0, INF, -1e4, 2.0, -2.0, 0.1, 0.1, 1.0, -INF, 3.0]
    got, want = _both(lambda m: call(m, m.tensor(a, dtype=getattr(m, dtype)),
                                     m.tensor(b, dtype=getattr(m, dtype))).numpy())
    np.testing.assert_array_equal(got, want)
    assert np.array_equal(np.signbit(got), np.signbit(want))


@pytest.mark.parametrize("call", [lambda m, a, b: m.div(a, b, rounding_mode="floor"),
                                  lambda m, a, b: m.div(a, b, rounding_mode="trunc"), lambda m, a, b: a % b,
                                  lambda m, a, b: m.remainder(a, b[-1].item())])
def test_integer_division_by_zero_and_bool_operands_raise(call):
    """As PyTorch: integer division by zero raises (NumPy returns 0 with a warning), bool operands too."""
    got, want = _both(lambda m: call(m, m.tensor([7, -7]), m.tensor([2, -3])).numpy())
    np.testing.assert_array_equal(got, want)
    for a, b in [([7, -7], [2, 0]), ([True, False], [True, True])]:
        got, want = _both(lambda m, a=a, b=b: call(m, m.tensor(a), m.tensor(b)).numpy())
        assert got is RuntimeError and want in (RuntimeError, NotImplementedError), (a, b, got, want)


@pytest.mark.parametrize("call", [lambda m, a, b: a - b, lambda m, a, b: m.sub(a, b), lambda m, a, b: 1.5 - b,
                                  lambda m, a, b: m.sub(a, b, alpha=2), lambda m, a, b: b - 1])
def test_subtraction_with_a_bool_tensor_raises(call):
    for a in ([1.0, 2.0], [1, 2], [True, True]):
        got, want = _both(lambda m, a=a: call(m, m.tensor(a), m.tensor([True, False])))
        assert got is RuntimeError or got is TypeError, (a, got)
        assert want is RuntimeError


def test_add_alpha_keeps_bool_and_rejects_float_alpha_for_integers():
    got, want = _both(lambda m: m.add(m.tensor([True, False]), m.tensor([True, True]), alpha=2).numpy())
    assert got.dtype == want.dtype == np.bool_ and np.array_equal(got, want)
    got, want = _both(lambda m: m.add(m.tensor([1, 2]), m.tensor([1, 2]), alpha=0.5))
    assert got is want is RuntimeError


def test_rounding_division_is_differentiable_with_zero_gradient():
    """As in PyTorch: the output requires grad and the gradient is zero (shaped as each input)."""
    for lib in (nnzoo, torch):
        a = lib.tensor([1.5, -2.5], requires_grad=True)
        b = lib.tensor(2.0, requires_grad=True)
        q = lib.div(a, b, rounding_mode="trunc")
        assert q.requires_grad
        ga, gb = lib.autograd.grad(q.sum(), [a, b])
        assert tuple(ga.shape) == (2,) and tuple(gb.shape) == () and not ga.numpy().any() and gb.item() == 0


def test_div_gradient_by_a_subnormal_divisor_matches_torch():
    """db = -g ((a / b) / b) in PyTorch's order: no 0 / 0 from b * b underflowing, no inf * 0."""
    a, b, u = [INF, 1.0, -0.0, 2.0], [-1e-310, -1e-310, -1e-310, 1e-300], [0.7, 0.7, -1.3, 2.0]
    got, want = _both(lambda m: m.autograd.grad(
        m.tensor(a, dtype=m.float64) / (bt := m.tensor(b, dtype=m.float64, requires_grad=True)), bt,
        grad_outputs=m.tensor(u, dtype=m.float64))[0].numpy())
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("op", ["maximum", "minimum"])
def test_maximum_minimum_gradient_at_nan_and_ties_matches_torch(op):
    """With a NaN no comparison holds and both operands get the whole gradient (PyTorch's masks); ties halve."""
    a = [NAN, 1.0, NAN, 2.0, -1.0, 3.0]
    b = [1.0, NAN, NAN, 2.0, 5.0, -3.0]
    u = [0.5, -1.5, 2.0, 3.0, 1.0, -1.0]
    res = []
    for lib in (nnzoo, torch):
        at, bt = lib.tensor(a, requires_grad=True), lib.tensor(b, requires_grad=True)
        res.append([g.numpy() for g in lib.autograd.grad(getattr(lib, op)(at, bt), [at, bt],
                                                         grad_outputs=lib.tensor(u))])
    for got, want in zip(*res):
        np.testing.assert_array_equal(got, want)


def test_integer_pow_with_negative_exponents_matches_torch():
    """Tensor exponents: 1 ** -k = 1, (-1) ** -k = +-1, every other base 0 (NumPy raised); a negative Python int
    exponent raises in both, empty tensors included."""
    base = [-2, -1, 0, 1, 2, 3] * 3
    exp = [-1] * 6 + [-2] * 6 + [-3] * 6
    for dt in ("int64", "int32"):
        got, want = _both(lambda m, dt=dt: m.pow(m.tensor(base, dtype=getattr(m, dt)),
                                                 m.tensor(exp, dtype=getattr(m, dt))).numpy())
        np.testing.assert_array_equal(got, want)
    got, want = _both(lambda m: m.pow(m.tensor([True, False] * 2), m.tensor([-1, -1, 0, 0])).numpy())
    np.testing.assert_array_equal(got, want)
    got, want = _both(lambda m: (2 ** m.tensor([-1, 2])).numpy())
    np.testing.assert_array_equal(got, want)
    for x in ([2, 3], [], [True]):
        got, want = _both(lambda m, x=x: m.tensor(x, dtype=m.bool if x == [True] else m.int64) ** -2)
        assert got is want is RuntimeError


def test_pow_of_two_bools_raises_as_torch():
    """bool tensor ** bool tensor raises in PyTorch; with a Python bool exponent it is x ** False = True, x ** True
    = x, in bool."""
    got, want = _both(lambda m: m.pow(m.tensor([True, False]), m.tensor(True)))
    assert got is RuntimeError and want is NotImplementedError
    for e in (False, True):
        got, want = _both(lambda m, e=e: (m.tensor([True, False]) ** e).numpy())
        assert got.dtype == want.dtype == np.bool_ and np.array_equal(got, want)
    got, want = _both(lambda m: m.pow(m.tensor([True, False]), m.tensor([2, 0])).numpy())
    np.testing.assert_array_equal(got, want)


def test_alpha_keeps_the_ops_dtype_and_python_bool_subtraction_raises():
    got, want = _both(lambda m: m.add(m.tensor([1, 2], dtype=m.int32), m.tensor([True, False]), alpha=2).numpy())
    assert got.dtype == want.dtype == np.int32 and np.array_equal(got, want)
    for call in (lambda m: m.tensor([1.0, 2.0]) - True, lambda m: True - m.tensor([1.0]),
                 lambda m: m.sub(m.tensor([1.0]), True, alpha=0.5)):
        got, want = _both(call)
        assert got is want is RuntimeError


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("exponent", [0.5, -0.5])
def test_pow_half_exponents_are_sqrt_and_rsqrt_as_torch(dtype, exponent):
    """Found by the fuzzer: PyTorch computes x ** 0.5 as sqrt and x ** -0.5 as rsqrt, whose special cases differ
    from IEEE pow's: (-inf) ** 0.5 = nan (pow: inf), (-0) ** -0.5 = -inf (pow: inf), (-inf) ** -0.5 = nan."""
    x = [INF, -INF, 0.0, -0.0, NAN, 4.0, -4.0, 1e-40, 1e-310]
    res = []
    for lib in (nnzoo, torch):
        xt = lib.tensor(x, dtype=getattr(lib, dtype), requires_grad=True)
        y = xt ** exponent
        res.append((y.detach().numpy(), lib.autograd.grad(y, xt, grad_outputs=lib.ones_like(y))[0].numpy()))
    for got, want in zip(*res):
        np.testing.assert_array_equal(got, want)
