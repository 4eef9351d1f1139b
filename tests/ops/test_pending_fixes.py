"""PyTorch parity at the edges the differential fuzzer found (the former ``PENDING_FIX`` entries of
tests/fuzz/accepted.py): each test runs the entry's inputs through nnzoo and torch, forward and input
gradients (one fixed upstream gradient), in float32 and float64, and requires the same values with the same
NaN/+inf/-inf positions. The differences that were accepted instead are documented (and checked) in
accepted.py."""
import math

import numpy as np
import pytest
import torch

import nnzoo

INF, NAN = math.inf, math.nan
DTYPES = ["float32", "float64"]
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # inf - inf, 0 * inf: the point here
TINY = {"float32": 1e-40, "float64": 1e-310}  # a subnormal of each dtype, as the fuzzer's specials


def _run(lib, fn, arrays, grad_of, upstream_seed):
    """fn's outputs and the gradients of sum(u * out) with respect to the inputs ``grad_of``."""
    ts = []
    for i, a in enumerate(arrays):
        t = lib.from_numpy(np.array(a))
        if i in grad_of:
            t.requires_grad_()
        ts.append(t)
    out = fn(lib, *ts)
    rng = np.random.default_rng(upstream_seed)
    u = rng.standard_normal(tuple(out.shape)).astype(out.detach().numpy().dtype)
    grads = lib.autograd.grad(out, [ts[i] for i in grad_of], lib.from_numpy(u), allow_unused=True) if grad_of else ()
    return [out.detach().numpy()] + [None if g is None else g.numpy() for g in grads]


def _assert_same(got, want, rtol):
    assert got.shape == want.shape and got.dtype == want.dtype
    for check in (np.isnan, np.isposinf, np.isneginf):
        np.testing.assert_array_equal(check(got), check(want))
    fin = np.isfinite(want)
    np.testing.assert_allclose(got[fin], want[fin], rtol=rtol, atol=rtol)


def check(fn, arrays, dtype, grad_of=(0,), seed=0):
    arrays = [np.asarray(a, dtype=dtype) if not (isinstance(a, np.ndarray) and a.dtype.kind in "biu") else a
              for a in arrays]
    got = _run(nnzoo, fn, arrays, grad_of, seed)
    want = _run(torch, fn, arrays, grad_of, seed)
    rtol = 1e-5 if dtype == "float32" else 1e-12
    for g, w in zip(got, want):
        if w is None:
            assert g is None or not np.any(g)
            continue
        _assert_same(g, w, rtol)


def F(lib):
    return lib.nn.functional


# ---- activations ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("lambd", [0.5, 1.0, 0.0])
def test_hardshrink_gradient_at_lambd(dtype, lambd):
    """PyTorch's forward and backward both keep x where |x| > lambd: the gradient at |x| == lambd is 0."""
    x = [-lambd, lambd, -1.0, 1.0, 0.5, -0.5, 2.0, 0.0, INF, -INF]
    check(lambda m, t: F(m).hardshrink(t, lambd), [x], dtype)
    check(lambda m, t: F(m).softshrink(t, lambd), [x], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_hardswish_at_infinities_and_kinks(dtype):
    """hardswish'(inf) = 1 and hardswish'(-inf) = 0 (the product-rule form gave inf * 0 = NaN); at -3 the
    gradient is 0 and at 3 it is 1 (PyTorch's branches); the fuzzer's case [[0, -0.754], ..., [inf, 1]]."""
    x = [INF, -INF, 3.0, -3.0, 2.9, -2.9, 0.0, 1.0, 1e4, -1e4, TINY[dtype], 1.4711581, 0.41868753]
    check(lambda m, t: F(m).hardswish(t), [x], dtype)
    check(lambda m, t: F(m).hardswish(t), [[[0.0, -0.75400326], [-0.03755937, 1.47115811], [0.41868753, 1.1466787],
                                            [INF, 1.0]]], dtype)
    for x0 in (1e4, 0.37719065, -INF):  # 0-d inputs (the fuzzer's 0-d 1e4 case)
        check(lambda m, t: F(m).hardswish(t), [x0], dtype)
        if dtype == "float32" or abs(x0) > 3:  # inside, float64: PyTorch's float32 1/6 (test below)
            check(lambda m, t: F(m).hardsigmoid(t), [x0], dtype)


def test_hardswish_second_derivative_is_one_third_inside():
    x = nnzoo.tensor([-4.0, -3.0, -1.0, 0.5, 2.0, 3.0, 5.0], dtype=nnzoo.float64, requires_grad=True)
    g, = nnzoo.autograd.grad(F(nnzoo).hardswish(x).sum(), x, create_graph=True)
    gg, = nnzoo.autograd.grad(g.sum(), x)
    np.testing.assert_array_equal(gg.numpy(), [0, 0, 1 / 3, 1 / 3, 1 / 3, 0, 0])


@pytest.mark.parametrize("dtype", DTYPES)
def test_hardsigmoid_gradient_at_nan_and_bounds(dtype):
    """0 at NaN, +-3 and +-inf (PyTorch's -3 < x < 3); the float64 slope is nnzoo's exact 1/6 (PyTorch's is the
    float32 constant 1.0f / 6.0f: accepted.py's hardsigmoid_float32_slope), compared to 4e-8 there."""
    x = np.array([NAN, INF, -INF, 3.0, -3.0, 2.9, -2.9, 0.0, 1e4], dtype=dtype)
    got = _run(nnzoo, lambda m, t: F(m).hardsigmoid(t), [x], (0,), 1)
    want = _run(torch, lambda m, t: F(m).hardsigmoid(t), [x], (0,), 1)
    _assert_same(got[0], want[0], 1e-6)
    _assert_same(got[1], want[1], 1e-6 if dtype == "float32" else 4e-8)
    u = np.random.default_rng(1).standard_normal(x.shape).astype(dtype)
    inside = (x > -3) & (x < 3)
    np.testing.assert_array_equal(got[1], np.where(inside, u / 6, 0).astype(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_selu_gradient_at_minus_inf(dtype):
    check(lambda m, t: F(m).selu(t), [[-INF, INF, -1e4, 1e4, 0.0, -1.0, 1.0, TINY[dtype]]], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_logit_gradient_at_0_and_1(dtype):
    """g * inf with the sign of g at x = 0 and 1 (the fuzzer's nnzoo gave -inf where PyTorch gave +inf)."""
    check(lambda m, t: m.logit(t), [[0.0, 1.0, 0.0, 1.0, 0.5, 2.0, -1.0, 0.25]], dtype, seed=2)


# ---- pointwise -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
def test_atan2_gradient_at_origin_and_underflow(dtype):
    """Both gradients 0 where a^2 + b^2 is 0 (the origin, or squares that underflow), as PyTorch's."""
    t = TINY[dtype]
    a = [0.0, -0.0, 0.0, t, -t, 1e-30, 1.0, -INF, INF]
    b = [0.0, 0.0, -0.0, 0.0, 0.0, 1e-30, 2.0, -t, 2.0]
    check(lambda m, x, y: m.atan2(x, y), [a, b], dtype, grad_of=(0, 1))


@pytest.mark.parametrize("dtype", DTYPES)
def test_atan2_inf_against_subnormal_broadcast(dtype):
    """The fuzzer's case: a = [-inf, -subnormal] broadcast against b = [[-1], [0], [1]]."""
    check(lambda m, x, y: m.atan2(x, y), [[-INF, -TINY[dtype]], [[-1.0], [0.0], [1.0]]], dtype, grad_of=(0, 1),
          seed=50058)


@pytest.mark.parametrize("dtype", DTYPES)
def test_addcmul_inf_times_subnormal_broadcast(dtype):
    """The fuzzer's case: each gradient formed at the broadcast shape, then summed (inf - inf = NaN)."""
    t = TINY[dtype]
    arrays = [[[[NAN]], [[-t]]], [-INF], [[[-t, t, 0.0]]]]
    check(lambda m, a, b, c: m.addcmul(a, b, c, value=1), arrays, dtype, grad_of=(0, 1, 2), seed=3760690699)
    check(lambda m, a, b, c: m.addcmul(a, b, c, value=-2.0), arrays, dtype, grad_of=(0, 1, 2), seed=1)


@pytest.mark.parametrize("dtype", DTYPES)
def test_addcdiv_by_zero_broadcast(dtype):
    """The fuzzer's case (tensor2 holds zeros, tensor1 broadcast): tensor1's gradient is NaN where +-inf terms
    meet in the sum, as PyTorch's."""
    a = [[[-1., -1., -1., 0.], [2., -1., 0., 0.], [0., 1., 0., 2.], [2., -1., -2., -2.]]]
    b = [[[2.], [1.], [1.], [-1.]], [[1.], [2.], [1.], [2.]], [[2.], [1.], [-2.], [-1.]], [[-1.], [2.], [0.], [-1.]]]
    c = [[[-1.], [0.], [2.], [-2.]]]
    check(lambda m, x, y, z: m.addcdiv(x, y, z, value=1), [a, b, c], dtype, grad_of=(0, 1, 2), seed=4294967294)
    check(lambda m, x, y, z: m.addcdiv(x, y, z, value=0.5), [a, b, c], dtype, grad_of=(0, 1, 2), seed=5)


@pytest.mark.parametrize("dtype", DTYPES)
def test_lerp_two_forms(dtype):
    """lerp(-1e4, inf, -2) is NaN (PyTorch's end - (end - input)(1 - w) for |w| >= 1/2); w = 1 gives end
    exactly; a tensor weight picks the form per element."""
    a, b = [-1e4, 1.0, -INF, 0.0, 0.1, 3.0], [INF, INF, INF, -INF, 0.7, -2.0]
    for w in (-2.0, 0.5, 1.0, 0.25, 0.0, -0.49):
        check(lambda m, x, y, w=w: m.lerp(x, y, w), [a, b], dtype, grad_of=(0, 1))
    check(lambda m, x, y, z: m.lerp(x, y, z), [a, b, [-2.0, 0.5, 0.7, 1.0, 0.49, -0.5]], dtype, grad_of=(0, 1, 2))
    check(lambda m, x, y, z: m.lerp(x, y, z), [[-1e4], [INF], [INF]], dtype, grad_of=(0, 1, 2), seed=10871991)


@pytest.mark.parametrize("dtype", DTYPES)
def test_hypot_gradient_at_subnormal_result(dtype):
    """The long fuzzer's case: hypot(-subnormal, -0) is subnormal and grad / y overflowed; PyTorch forms
    grad * a / y (finite)."""
    t = TINY[dtype]
    a = [[[[INF, -INF], [-t, 1e4], [-0.0, -1.0]]], [[[-0.0, -1.0], [-INF, -INF], [INF, -0.0]]]]
    check(lambda m, x, y: m.hypot(x, y), [a, [[[[-0.0]]], [[[0.0]]]]], dtype, grad_of=(0, 1), seed=253467)


@pytest.mark.parametrize("fn", ["hypot", "logaddexp", "logaddexp2"])
@pytest.mark.parametrize("dtypes", [("int64", "int64"), ("bool", "bool"), ("int32", "bool")])
def test_float_kernels_refuse_integer_pairs(fn, dtypes):
    a, b = np.array([1, 0, 1]).astype(dtypes[0]), np.array([1, 1, 0]).astype(dtypes[1])
    with pytest.raises(NotImplementedError) as want:
        getattr(torch, fn)(torch.from_numpy(a), torch.from_numpy(b))
    with pytest.raises(NotImplementedError) as got:
        getattr(nnzoo, fn)(nnzoo.from_numpy(a), nnzoo.from_numpy(b))
    assert str(want.value).split(" (")[0] in str(got.value)  # '"hypot_cpu" not implemented for 'Long''
    # one float operand: both compute
    check(lambda m, x, y: getattr(m, fn)(x.float(), y), [a.astype("float32"), b], "float32", grad_of=())


# ---- distances and losses ------------------------------------------------------------------------------------
PDIST_CASES = [
    [[1., 2.], [3., 4.], [0., 0.]],
    [[1., NAN, 3.], [0., 0., 0.]],
    [[INF, 1.], [0., 2.], [1., 1.]],
    [[INF, INF], [0., 2.], [-INF, 1.]],
    [[-1.], [1.], [-1e-30], [-1e-30], [NAN]],          # the fuzzer's p = 1 case (subnormal -> tiny here)
    [[-INF], [NAN], [-1e-30], [-1.]],                  # the fuzzer's p = 0 case
    [[2., -2., 2.], [0., 0., 0.], [1., 0., 5.]],       # ties of the max |difference|
    [[0., 1., 2., -1.], [-1., -2., -2., -2.], [-2., 2., 1., 2.], [0., 1., 2., 1.]],
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [0.0, 1.0, 2.0, 3.0, 0.5, 1.5, INF])
@pytest.mark.parametrize("case", range(len(PDIST_CASES)))
def test_pdist_special_values_and_inf_subgradient(dtype, p, case):
    """PyTorch's pdist kernel: p = inf gives every maximal coordinate the whole gradient; a NaN coordinate
    makes its pairs NaN (p = 0 too) and their gradients NaN; |d| = dist = inf gives NaN."""
    check(lambda m, t: F(m).pdist(t, p), [PDIST_CASES[case]], dtype, seed=case)


def test_pdist_double_backward():
    x = nnzoo.randn(4, 3, dtype=nnzoo.float64, generator=nnzoo.Generator().manual_seed(0), requires_grad=True)
    for p in (1.0, 2.0, 3.0, 1.5, INF):
        assert nnzoo.autograd.gradgradcheck(lambda t, p=p: F(nnzoo).pdist(t, p), (x,))


@pytest.mark.parametrize("dtype", DTYPES)
def test_multilabel_margin_inf_left_out(dtype):
    """The fuzzer's case: no listed target (-1 first), an inf input: PyTorch's loss is 0 (no term), not
    inf * 0 = NaN; a NaN term (z > 0 false) adds nothing either."""
    x = [0.78865521, INF, -1.0, 0.57253423]
    check(lambda m, a, t: F(m).multilabel_margin_loss(a, t, reduction="none"), [x, np.array([-1, -1, 1, 1])], dtype)
    check(lambda m, a, t: F(m).multilabel_margin_loss(a, t), [[[NAN, 1.0, 0.5], [INF, 0.0, 2.0]],
                                                             np.array([[1, -1, 0], [0, 2, -1]])], dtype)
    # the long fuzzer's case: z = (1 - x[1]) + x[2] = subnormal > 0 is a term (x[2] - x[1] + 1 rounds to 0)
    t = TINY[dtype]
    x = [[1.0, NAN, -1.0, 0.0], [-1e4, 0.0, -INF, 1.0], [1e4, -1e4, t, -1.0], [INF, 1.0, t, -t]]
    target = np.array([[-1, 2, 1, 1], [-1, 2, -1, 2], [3, 0, 2, 3], [0, 1, -1, 2]])
    check(lambda m, a, y: F(m).multilabel_margin_loss(a, y, reduction="none"), [x, target], dtype, seed=11084)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [1, 2])
def test_multi_margin_nan_and_inf_terms(dtype, p):
    """The fuzzer's case: x = [[-1e4, -inf, inf], [-0, nan, nan]], targets 2: every term is -inf, inf - inf or
    NaN, none positive: the loss and the gradients are 0, as PyTorch's."""
    x = [[-1e4, -INF, INF], [-0.0, NAN, NAN]]
    check(lambda m, a, t: F(m).multi_margin_loss(a, t, p=p), [x, np.array([2, 2])], dtype, seed=3)
    # the long fuzzer's case: (margin - x[y]) + x[i] = subnormal > 0 is a term
    check(lambda m, a, t: F(m).multi_margin_loss(a, t, p=p, reduction="sum"), [[-INF, 1.0, TINY[dtype]],
                                                                             np.array(1)], dtype, seed=6263)
    w = np.array([0.5, 1.0, 2.0], dtype=dtype)
    check(lambda m, a, t: F(m).multi_margin_loss(a, t, p=p, weight=m.from_numpy(w.copy()), reduction="none"),
          [[[1.0, 2.0, 0.5], [NAN, 0.1, 0.3]], np.array([0, 2])], dtype, seed=4)


@pytest.mark.parametrize("margin", [0.0, -1.0])
def test_triplet_margin_not_positive_raises(margin):
    a = np.ones((2, 3), dtype="float32")
    with pytest.raises(ValueError, match="margin must be greater than 0") as want:
        F(torch).triplet_margin_loss(*(torch.from_numpy(a) for _ in range(3)), margin=margin)
    with pytest.raises(ValueError) as got:
        F(nnzoo).triplet_margin_loss(*(nnzoo.from_numpy(a) for _ in range(3)), margin=margin)
    assert str(got.value) == str(want.value)
    with pytest.raises(ValueError):
        nnzoo.nn.TripletMarginLoss(margin=margin)(*(nnzoo.from_numpy(a) for _ in range(3)))
