"""Reductions, scans and the fused softmax / log_softmax against PyTorch, through the table-driven harness,
(double backward included), plus explicit tests of ties, zeros, infinities and error messages."""
import math
import warnings
import zlib

import numpy as np
import pytest
import torch
from helpers import OpCase, S, V, cases_params, check_op

import nnzoo

POS = dict(low=0.5, high=2.0)
INF = math.inf


def _with_zeros(shape, seed, zeros):
    """Random float values with exact zeros at the given flat positions (fixed, differentiable)."""
    a = np.random.default_rng(seed).uniform(0.5, 1.5, shape) * np.where(
        np.random.default_rng(seed + 1).random(shape) < 0.5, -1, 1)
    a.flat[list(zeros)] = 0.0
    return V(a, grad=True)


CASES = [
    # sum / mean: every dim form, keepdim, 3-D, dtype=
    OpCase("sum_all", lambda m, a: a.sum(), [S(3, 4)]),
    OpCase("sum_dim0", lambda m, a: m.sum(a, 0), [S(3, 4)]),
    OpCase("sum_dim_neg_keepdim", lambda m, a: a.sum(-1, keepdim=True), [S(2, 3, 4)]),
    OpCase("sum_dims_tuple", lambda m, a: m.sum(a, (0, 2)), [S(2, 3, 4)]),
    OpCase("sum_dims_list_keepdim", lambda m, a: a.sum([-1, 1], True), [S(2, 3, 4)]),
    OpCase("sum_empty_tuple_is_all", lambda m, a: a.sum(()), [S(2, 3, 4)]),
    OpCase("sum_dtype_float64", lambda m, a: a.sum(1, dtype=m.float64), [S(3, 4)], fd=False),
    OpCase("sum_0d", lambda m, a: a.sum(0), [S()]),
    OpCase("sum_int_to_int64", lambda m, a: a.sum(0), [V(np.arange(12, dtype=np.int32).reshape(3, 4))],
           grad=False),
    OpCase("sum_bool", lambda m, a: a.sum(), [V(np.array([True, False, True]))], grad=False),
    OpCase("mean_all", lambda m, a: a.mean(), [S(3, 4)]),
    OpCase("mean_dim1", lambda m, a: m.mean(a, 1), [S(2, 3, 4)]),
    OpCase("mean_dims_keepdim", lambda m, a: a.mean((0, -1), keepdim=True), [S(2, 3, 4)]),
    OpCase("mean_dtype_from_int", lambda m, a: m.mean(a, 0, dtype=m.float64),
           [V(np.arange(12).reshape(3, 4))], grad=False),
    # prod: all or one int dim, with zeros (one and two in a slice)
    OpCase("prod_all", lambda m, a: a.prod(), [S(2, 3, **POS)]),
    OpCase("prod_dim", lambda m, a: m.prod(a, 1), [S(2, 3, 4)]),
    OpCase("prod_dim_neg_keepdim", lambda m, a: a.prod(-1, keepdim=True), [S(2, 3, 4)]),
    OpCase("prod_dtype", lambda m, a: m.prod(a, 0, dtype=m.float64), [S(3, 4)], fd=False),
    OpCase("prod_int", lambda m, a: a.prod(1), [V(np.arange(1, 13, dtype=np.int32).reshape(3, 4))],
           grad=False),
    OpCase("prod_one_zero_per_row", lambda m, a: a.prod(1), [_with_zeros((3, 4), 0, [1, 4, 11])]),
    OpCase("prod_two_zeros_in_row", lambda m, a: a.prod(-1), [_with_zeros((3, 4), 2, [0, 2, 5])]),
    OpCase("prod_all_with_zero", lambda m, a: a.prod(), [_with_zeros((2, 3), 4, [3])]),
    OpCase("prod_all_two_zeros", lambda m, a: a.prod(), [_with_zeros((2, 3), 6, [1, 3])]),
    OpCase("prod_3d_zeros_dim0", lambda m, a: a.prod(0), [_with_zeros((3, 2, 4), 8, [0, 9, 10, 20])]),
    # max / min: full, along a dim (values, indices), with another tensor
    OpCase("max_all", lambda m, a: a.max(), [S(3, 4)]),
    OpCase("min_all", lambda m, a: m.min(a), [S(2, 3, 4)]),
    OpCase("max_dim", lambda m, a: tuple(a.max(1)), [S(3, 4)]),
    OpCase("max_dim_neg_keepdim", lambda m, a: tuple(m.max(a, -1, keepdim=True)), [S(2, 3, 4)]),
    OpCase("min_dim0", lambda m, a: tuple(m.min(a, 0)), [S(2, 3, 4)]),
    OpCase("min_dim_keepdim", lambda m, a: tuple(a.min(dim=2, keepdim=True)), [S(2, 3, 4)]),
    OpCase("max_dim_0d", lambda m, a: tuple(a.max(0)), [S()]),
    OpCase("max_other", lambda m, a, b: m.max(a, b), [S(3, 4), S(4)]),
    OpCase("min_other_method", lambda m, a, b: a.min(b), [S(3, 4), S(3, 4)]),
    OpCase("max_int", lambda m, a: tuple(a.max(0)), [V(np.array([[1, 5, 2], [4, 0, 3]]))], grad=False),
    OpCase("amax_all", lambda m, a: m.amax(a), [S(3, 4)]),
    OpCase("amax_dim", lambda m, a: a.amax(1), [S(2, 3, 4)]),
    OpCase("amax_dims_keepdim", lambda m, a: m.amax(a, (0, -1), keepdim=True), [S(2, 3, 4)]),
    OpCase("amin_dims", lambda m, a: a.amin((1, 2)), [S(2, 3, 4)]),
    OpCase("amin_neg_dim", lambda m, a: m.amin(a, -2), [S(2, 3, 4)]),
    OpCase("argmax_all", lambda m, a: m.argmax(a), [S(3, 4)], grad=False),
    OpCase("argmax_all_keepdim", lambda m, a: a.argmax(keepdim=True), [S(2, 3, 4)], grad=False),
    OpCase("argmax_dim", lambda m, a: a.argmax(1), [S(2, 3, 4)], grad=False),
    OpCase("argmin_dim_keepdim", lambda m, a: m.argmin(a, -1, keepdim=True), [S(2, 3, 4)], grad=False),
    OpCase("argmin_all", lambda m, a: a.argmin(), [S(2, 3, 4)], grad=False),
    # all / any
    OpCase("all_all", lambda m, a: m.all(a > 0), [S(3, 4)], grad=False),
    OpCase("all_dim", lambda m, a: (a > -1).all(1), [S(2, 3, 4)], grad=False),
    OpCase("any_dims_keepdim", lambda m, a: m.any(a > 1, (0, 2), keepdim=True), [S(2, 3, 4)], grad=False),
    OpCase("any_neg_dim", lambda m, a: (a > 1).any(-1), [S(2, 3, 4)], grad=False),
    OpCase("all_float_input", lambda m, a: m.all(a, 0), [V(np.array([[1.0, 0.0], [2.0, 3.0]]))], grad=False),
    OpCase("any_uint8", lambda m, a: a.any(), [V(np.array([0, 2], dtype=np.uint8))], grad=False),
    # var / std: correction / unbiased forms
    OpCase("var_all", lambda m, a: a.var(), [S(3, 4)]),
    OpCase("var_dim", lambda m, a: m.var(a, 1), [S(2, 3, 4)]),
    OpCase("var_unbiased_false", lambda m, a: a.var(-1, False), [S(2, 3, 4)]),
    OpCase("var_positional_bool", lambda m, a: a.var(False), [S(3, 4)]),
    OpCase("var_correction0_keepdim", lambda m, a: m.var(a, (0, 2), keepdim=True, correction=0),
           [S(2, 3, 4)]),
    OpCase("var_correction2", lambda m, a: a.var(1, correction=2), [S(2, 5, 3)]),
    OpCase("var_correction_float", lambda m, a: a.var(0, correction=0.5), [S(4, 3)]),
    OpCase("std_all", lambda m, a: m.std(a), [S(3, 4)]),
    OpCase("std_dims", lambda m, a: a.std([0, -1]), [S(2, 3, 4)]),
    OpCase("std_unbiased_false_keepdim", lambda m, a: m.std(a, 1, False, True), [S(2, 3, 4)]),
    OpCase("std_correction0", lambda m, a: a.std(2, correction=0), [S(2, 3, 4)]),
    # logsumexp
    OpCase("logsumexp_dim", lambda m, a: m.logsumexp(a, 1), [S(3, 4)]),
    OpCase("logsumexp_neg_keepdim", lambda m, a: a.logsumexp(-1, keepdim=True), [S(2, 3, 4)]),
    OpCase("logsumexp_dims", lambda m, a: m.logsumexp(a, (0, 2)), [S(2, 3, 4)]),
    OpCase("logsumexp_large", lambda m, a: (a * 500).logsumexp(1), [S(3, 4)],
           fwd_tol={np.float32: dict(atol=1e-4, rtol=1e-5)}),
    OpCase("logsumexp_int", lambda m, a: m.logsumexp(a, 0), [V(np.array([1, 2, 3]))], grad=False,
           dtypes=(np.float32,)),  # int input, float32 result: one run
    # norm
    OpCase("norm_fro", lambda m, a: a.norm(), [S(3, 4)]),
    OpCase("norm_fro_dims", lambda m, a: m.norm(a, "fro", (0, 2)), [S(2, 3, 4)]),
    OpCase("norm_2_dim", lambda m, a: a.norm(2, 1), [S(2, 3, 4)]),
    OpCase("norm_2_keepdim", lambda m, a: m.norm(a, p=2, dim=-1, keepdim=True), [S(2, 3, 4)]),
    OpCase("norm_1", lambda m, a: a.norm(1, 0), [S(3, 4)]),
    OpCase("norm_1_all", lambda m, a: a.norm(p=1), [S(2, 3, 4)]),
    OpCase("norm_inf", lambda m, a: a.norm(INF, 1), [S(2, 3, 4)]),
    OpCase("norm_neg_inf", lambda m, a: m.norm(a, -INF, (0, 1)), [S(2, 3, 4)]),
    OpCase("norm_0", lambda m, a: a.norm(0, 1),
           [V(np.array([[0.0, 1.5, -2.0], [0.0, 0.0, 3.0]]), grad=True)]),
    OpCase("norm_3", lambda m, a: a.norm(3, -1), [S(2, 3, 4)]),
    OpCase("norm_1_5_all", lambda m, a: m.norm(a, 1.5), [S(3, 4)]),
    OpCase("norm_0_5", lambda m, a: a.norm(0.5, 1), [S(3, 4)]),
    OpCase("norm_neg_1", lambda m, a: a.norm(-1, 1), [S(3, 4)]),
    OpCase("norm_dtype", lambda m, a: m.norm(a, 2, 1, dtype=m.float64), [S(3, 4)], fd=False),
    # scans
    OpCase("cumsum_dim0", lambda m, a: a.cumsum(0), [S(3, 4)]),
    OpCase("cumsum_neg", lambda m, a: m.cumsum(a, -1), [S(2, 3, 4)]),
    OpCase("cumsum_dim1_3d", lambda m, a: a.cumsum(1), [S(2, 3, 4)]),
    OpCase("cumsum_int", lambda m, a: m.cumsum(a, 0), [V(np.arange(6, dtype=np.int32))], grad=False),
    OpCase("cumsum_dtype", lambda m, a: m.cumsum(a, 1, dtype=m.float64), [S(3, 4)], fd=False),
    OpCase("cumprod_dim", lambda m, a: m.cumprod(a, 1), [S(3, 4)]),
    OpCase("cumprod_neg_3d", lambda m, a: m.cumprod(a, -1), [S(2, 3, 4)]),
    OpCase("cumprod_dim0_3d", lambda m, a: m.cumprod(a, 0), [S(3, 2, 4)]),
    OpCase("cumprod_zeros", lambda m, a: m.cumprod(a, 1), [_with_zeros((3, 5), 10, [1, 5, 8, 12, 14])]),
    OpCase("cumprod_zeros_dim0", lambda m, a: m.cumprod(a, 0), [_with_zeros((4, 3), 12, [3, 5, 11])]),
    # softmax / log_softmax
    OpCase("softmax_dim1", lambda m, a: m.softmax(a, 1), [S(3, 4)]),
    OpCase("softmax_neg_3d", lambda m, a: a.softmax(-1), [S(2, 3, 4)]),
    OpCase("softmax_dim0_3d", lambda m, a: a.softmax(0), [S(2, 3, 4)]),
    OpCase("softmax_large", lambda m, a: (a * 1000).softmax(1), [S(3, 4)],
           bwd_tol={np.float32: dict(atol=1e-3, rtol=1e-3)}),
    OpCase("softmax_dtype", lambda m, a: m.softmax(a, 1, dtype=m.float64), [S(3, 4)], fd=False),
    OpCase("softmax_int_dtype", lambda m, a: m.softmax(a, 0, dtype=m.float32), [V(np.array([1, 2, 3]))],
           grad=False, dtypes=(np.float32,)),
    OpCase("log_softmax_dim1", lambda m, a: m.log_softmax(a, 1), [S(3, 4)]),
    OpCase("log_softmax_neg_3d", lambda m, a: a.log_softmax(-1), [S(2, 3, 4)]),
    OpCase("log_softmax_dim1_3d", lambda m, a: m.log_softmax(a, dim=1), [S(2, 3, 4)]),
    OpCase("log_softmax_large", lambda m, a: (a * 1000).log_softmax(0), [S(3, 4)],
           fwd_tol={np.float32: dict(atol=1e-3, rtol=1e-5)}),
    OpCase("log_softmax_dtype", lambda m, a: m.log_softmax(a, -1, dtype=m.float64), [S(3, 4)], fd=False),
]


@cases_params(CASES)
def test_op(case):
    check_op(case)


# ---- ties: the harness's random weights u, no finite differences (the function has a kink there) ----
TIES = np.array([[1.0, 3.0, 3.0, -2.0], [-2.0, 0.5, -2.0, 0.5], [4.0, 4.0, 4.0, 4.0]])
TIE_CASES = [
    OpCase("tie_max_all", lambda m, a: a.max(), [V(TIES, grad=True)], fd=False),
    OpCase("tie_min_all", lambda m, a: a.min(), [V(TIES, grad=True)], fd=False),
    OpCase("tie_max_dim", lambda m, a: tuple(a.max(1)), [V(TIES, grad=True)], fd=False),
    OpCase("tie_min_dim_keepdim", lambda m, a: tuple(a.min(1, keepdim=True)), [V(TIES, grad=True)], fd=False),
    OpCase("tie_max_dim0", lambda m, a: tuple(a.max(0)), [V(TIES, grad=True)], fd=False),
    OpCase("tie_amax_dim", lambda m, a: a.amax(1), [V(TIES, grad=True)], fd=False),
    OpCase("tie_amin_dim", lambda m, a: a.amin(-1), [V(TIES, grad=True)], fd=False),
    OpCase("tie_amax_all", lambda m, a: a.amax(), [V(TIES, grad=True)], fd=False),
    OpCase("tie_amin_dims", lambda m, a: a.amin((0, 1)), [V(TIES, grad=True)], fd=False),
    OpCase("tie_argmax", lambda m, a: a.argmax(1), [V(TIES)], grad=False),
    OpCase("tie_argmin", lambda m, a: a.argmin(1), [V(TIES)], grad=False),
    OpCase("tie_norm_inf", lambda m, a: a.norm(INF, 1), [V(TIES, grad=True)], fd=False),
    OpCase("tie_norm_neg_inf", lambda m, a: a.norm(-INF, 1), [V(TIES, grad=True)], fd=False),
    OpCase("tie_norm_1_at_zero", lambda m, a: a.norm(1, 1), [V(TIES * (TIES > 0), grad=True)], fd=False),
]


@cases_params(TIE_CASES)
def test_ties_match_torch(case):
    check_op(case)


def test_max_tie_rules_explicit():
    """max() spreads the gradient evenly over tied maxima; max(dim) sends it to the returned index."""
    vals = [1.0, 3.0, 3.0, 2.0]
    for reduce in (lambda t: t.max(), lambda t: t.max(0).values, lambda t: t.amax(0),
                   lambda t: t.min(), lambda t: t.min(0).values):
        n = nnzoo.tensor(vals, requires_grad=True)
        t = torch.tensor(vals, requires_grad=True)
        reduce(n).backward()
        reduce(t).backward()
        np.testing.assert_array_equal(n.grad.numpy(), t.grad.numpy())
    assert nnzoo.tensor(vals).max(0).indices.item() == torch.tensor(vals).max(0).indices.item()


def test_max_full_nan_gets_the_gradient():
    vals = [1.0, math.nan, 3.0, math.nan]
    n = nnzoo.tensor(vals, requires_grad=True)
    t = torch.tensor(vals, requires_grad=True)
    out_n, out_t = n.max(), t.max()
    out_n.backward()
    out_t.backward()
    assert math.isnan(out_n.item()) and math.isnan(out_t.item())
    np.testing.assert_array_equal(n.grad.numpy(), t.grad.numpy())
    assert n.argmax().item() == t.argmax().item()
    assert nnzoo.tensor(vals).max(0).indices.item() == torch.tensor(vals).max(0).indices.item()


# ---- the max(dim) return type ----------------------------------------------------------------------------
def test_max_dim_returns_values_indices_namedtuple():
    x = np.random.default_rng(0).standard_normal((3, 4))
    res = nnzoo.tensor(x).max(1)
    want = torch.tensor(x).max(1)
    assert isinstance(res, tuple) and len(res) == 2
    values, indices = res
    assert values is res.values and indices is res.indices and res[0] is res.values
    np.testing.assert_array_equal(values.numpy(), want.values.numpy())
    np.testing.assert_array_equal(indices.numpy(), want.indices.numpy())
    assert indices.dtype == nnzoo.int64 and indices.grad_fn is None
    assert type(nnzoo.min(nnzoo.tensor(x), 0)).__name__ == "min"
    assert "values=" in repr(res) and "indices=" in repr(res)


def test_max_dim_indices_not_differentiable():
    x = nnzoo.randn(3, 4, requires_grad=True)
    values, indices = x.max(1)
    assert values.requires_grad and not indices.requires_grad


# ---- zeros, infinities, numerics -------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:invalid value encountered")  # inf - inf = nan, as torch
def test_logsumexp_infinite_slices_match_torch():
    a = np.array([[-INF, -INF, -INF], [1.0, 2.0, 3.0], [INF, 1.0, 0.0], [-INF, 0.0, 1.0]])
    n = nnzoo.tensor(a, requires_grad=True)
    t = torch.tensor(a, requires_grad=True)
    out_n, out_t = n.logsumexp(1), t.logsumexp(1)
    np.testing.assert_array_equal(out_n.detach().numpy(), out_t.detach().numpy())
    out_n.backward(nnzoo.ones(4, dtype=nnzoo.float64))
    out_t.backward(torch.ones(4, dtype=torch.float64))
    np.testing.assert_allclose(n.grad.numpy(), t.grad.numpy(), equal_nan=True, rtol=1e-12)


def test_logsumexp_is_stable():
    x = np.array([1000.0, 1000.0, -1000.0], dtype=np.float32)
    got = nnzoo.tensor(x).logsumexp(0).item()
    assert math.isfinite(got)
    np.testing.assert_allclose(got, torch.tensor(x).logsumexp(0).item(), rtol=1e-6)


def test_softmax_all_neg_inf_row_matches_torch():
    a = np.array([[-INF, -INF], [0.0, -INF]])
    for fn in ("softmax", "log_softmax"):
        got = getattr(nnzoo.tensor(a), fn)(1).numpy()
        want = getattr(torch.tensor(a), fn)(1).numpy()
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_array_equal(got[~np.isnan(got)], want[~np.isnan(want)])


def test_var_is_numerically_stable():
    x = 1e8 + np.random.default_rng(0).standard_normal(1000)
    got = nnzoo.tensor(x).var().item()
    np.testing.assert_allclose(got, np.var(x, ddof=1), rtol=1e-9)
    np.testing.assert_allclose(got, torch.tensor(x).var().item(), rtol=1e-9)
    x32 = (1e4 + np.random.default_rng(1).standard_normal(1000)).astype(np.float32)
    np.testing.assert_allclose(nnzoo.tensor(x32).std().item(), torch.tensor(x32).std().item(), rtol=1e-3)


def test_var_degrees_of_freedom_edge_cases_match_torch():
    for vals, kw in [([1.0], {}), ([1.0, 2.0], dict(correction=3)), ([1.0, 1.0], dict(correction=3))]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = torch.tensor(vals).var(**kw).item()
        with pytest.warns(UserWarning, match="degrees of freedom"):
            got = nnzoo.tensor(vals).var(**kw).item()
        assert (math.isnan(got) and math.isnan(want)) or got == want


def test_std_gradient_zero_where_std_is_zero():
    a = np.array([[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]])
    n = nnzoo.tensor(a, requires_grad=True)
    t = torch.tensor(a, requires_grad=True)
    n.std(1).sum().backward()
    t.std(1).sum().backward()
    np.testing.assert_allclose(n.grad.numpy(), t.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("p", [2, "fro", 1, 3, 1.5, 0.5, INF])
def test_norm_gradient_at_zero_vector_matches_torch(p):
    n = nnzoo.zeros(2, 3, dtype=nnzoo.float64, requires_grad=True)
    t = torch.zeros(2, 3, dtype=torch.float64, requires_grad=True)
    n.norm(p, 1).sum().backward()
    t.norm(p, 1).sum().backward()
    np.testing.assert_array_equal(n.grad.numpy(), t.grad.numpy())


@pytest.mark.parametrize("p", [0.5, 1.5, 3, -1])
def test_norm_gradient_with_zero_elements_matches_torch(p):
    a = np.array([[0.0, 1.0, -2.0], [3.0, 0.0, 0.5]])
    n = nnzoo.tensor(a, requires_grad=True)
    t = torch.tensor(a, requires_grad=True)
    n.norm(p, 1).sum().backward()
    t.norm(p, 1).sum().backward()
    np.testing.assert_allclose(n.norm(p, 1).detach().numpy(), t.norm(p, 1).detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(n.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-15)


# ---- fused softmax / log_softmax vs the composed form, in nnzoo itself -----------------------------------
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("dtype", [nnzoo.float32, nnzoo.float64])
def test_fused_softmax_matches_composed_form(dim, dtype):
    x = np.random.default_rng(3).standard_normal((2, 3, 4)) * 3
    u = np.random.default_rng(4).standard_normal((2, 3, 4))
    tol = dict(rtol=1e-5, atol=1e-6) if dtype is nnzoo.float32 else dict(rtol=1e-12, atol=1e-14)
    composed = {
        "softmax": lambda t: (t - t.logsumexp(dim, keepdim=True)).exp(),
        "log_softmax": lambda t: t - t.logsumexp(dim, keepdim=True),
    }
    for name, ref in composed.items():
        xf = nnzoo.tensor(x, dtype=dtype, requires_grad=True)
        xc = nnzoo.tensor(x, dtype=dtype, requires_grad=True)
        yf = getattr(nnzoo, name)(xf, dim)
        yc = ref(xc)
        assert yf.dtype == yc.dtype == dtype
        np.testing.assert_allclose(yf.detach().numpy(), yc.detach().numpy(), **tol)
        w = nnzoo.tensor(u, dtype=dtype)
        (yf * w).sum().backward()
        (yc * w).sum().backward()
        np.testing.assert_allclose(xf.grad.numpy(), xc.grad.numpy(), **tol)


def test_softmax_is_one_graph_node():
    x = nnzoo.randn(3, 4, requires_grad=True)
    for fn in (nnzoo.softmax, nnzoo.log_softmax):
        y = fn(x, 1)
        assert all(e is None or type(e[0]).__name__ == "AccumulateGrad" for e in y.grad_fn.next_functions)


# ---- argument forms and dtypes ------------------------------------------------------------------------
def test_result_dtypes_match_torch():
    i32 = np.arange(1, 7, dtype=np.int32).reshape(2, 3)
    b = np.array([[True, False, True], [True, True, True]])
    for arr in (i32, b):
        n, t = nnzoo.tensor(arr), torch.tensor(arr)
        for fn in (lambda x: x.sum(), lambda x: x.sum(0), lambda x: x.prod(), lambda x: x.cumsum(1),
                   lambda x: x.max(), lambda x: x.amax(1), lambda x: x.max(1)[0], lambda x: x.all(),
                   lambda x: x.any(1)):
            got, want = fn(n), fn(t)
            assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
            np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert nnzoo.tensor(i32).argmax(1).dtype == nnzoo.int64


def test_cumprod_int():
    a = np.arange(1, 7, dtype=np.int32)
    got, want = nnzoo.cumprod(nnzoo.tensor(a), 0), torch.cumprod(torch.tensor(a), 0)
    assert got.dtype == nnzoo.int64
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_zero_dim_inputs_match_torch():
    for fn in (lambda m, x: x.sum(0), lambda m, x: x.mean(-1), lambda m, x: x.prod(0), lambda m, x: x.max(),
               lambda m, x: x.max(0)[0], lambda m, x: x.max(0)[1], lambda m, x: x.amax(),
               lambda m, x: x.argmax(0),
               lambda m, x: x.softmax(0), lambda m, x: x.log_softmax(0), lambda m, x: x.cumsum(0),
               lambda m, x: m.cumprod(x, 0), lambda m, x: x.logsumexp(0), lambda m, x: x.norm(),
               lambda m, x: x.var(correction=0), lambda m, x: x.std(0, correction=0)):
        got, want = fn(nnzoo, nnzoo.tensor(1.5)), fn(torch, torch.tensor(1.5))
        assert got.shape == tuple(want.shape)
        np.testing.assert_allclose(got.numpy(), want.numpy())


def test_empty_reductions_match_torch():
    e = np.zeros((0, 3), dtype=np.float32)
    for fn in (lambda x: x.sum(0), lambda x: x.prod(0), lambda x: x.mean(0), lambda x: x.logsumexp(0),
               lambda x: x.max(1)[0], lambda x: x.amax(1), lambda x: x.cumsum(0), lambda x: x.all(0),
               lambda x: x.any(), lambda x: x.norm(2, 0), lambda x: x.softmax(0)):
        got, want = fn(nnzoo.tensor(e)), fn(torch.tensor(e))
        assert got.shape == tuple(want.shape)
        np.testing.assert_allclose(got.numpy(), want.numpy())


# ---- errors ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,call", [
    ("sum", lambda x: x.sum(3)), ("mean", lambda x: x.mean((0, -4))), ("prod", lambda x: x.prod(5)),
    ("max", lambda x: x.max(3)), ("min", lambda x: x.min(-4)), ("amax", lambda x: x.amax(3)),
    ("amin", lambda x: x.amin((0, 7))), ("argmax", lambda x: x.argmax(3)), ("argmin", lambda x: x.argmin(-5)),
    ("all", lambda x: x.all(3)), ("any", lambda x: x.any(4)), ("var", lambda x: x.var(3)),
    ("std", lambda x: x.std((1, 9))), ("logsumexp", lambda x: x.logsumexp(3)),
    ("norm", lambda x: x.norm(2, 3)),
    ("cumsum", lambda x: x.cumsum(3)), ("cumprod", lambda x: nnzoo.cumprod(x, -4)),
    ("softmax", lambda x: x.softmax(3)), ("log_softmax", lambda x: x.log_softmax(-4)),
])
def test_dim_out_of_range_names_the_op(name, call):
    with pytest.raises(IndexError, match=rf"^{name}: dimension out of range .*\[-3, 2\], but got"):
        call(nnzoo.randn(2, 3, 4))


def test_repeated_dims_error():
    with pytest.raises(RuntimeError, match="sum: dim 0 appears multiple times"):
        nnzoo.randn(2, 3).sum((0, -2))
    with pytest.raises(RuntimeError, match="amax: dim 1 appears multiple times"):
        nnzoo.randn(2, 3).amax((1, 1))


def test_reduction_argument_errors():
    x = nnzoo.randn(2, 3)
    with pytest.raises(TypeError, match=r"prod\(\): dim must be a single int"):
        x.prod((0, 1))
    with pytest.raises(RuntimeError, match="max\\(\\): Expected reduction dim to be specified"):
        nnzoo.ones(0).max()
    with pytest.raises(RuntimeError, match="amin\\(\\): Expected reduction dim to be specified"):
        nnzoo.ones(0).amin()
    with pytest.raises(IndexError, match="max\\(\\): Expected reduction dim 1 to have non-zero size"):
        nnzoo.ones(2, 0).max(1)
    with pytest.raises(IndexError, match="amin\\(\\): Expected reduction dim 1 to have non-zero size"):
        nnzoo.ones(2, 0).amin((0, 1))
    with pytest.raises(IndexError, match="argmax\\(\\): Expected reduction dim to be specified"):
        nnzoo.ones(0).argmax()
    with pytest.raises(RuntimeError, match="var\\(\\): std and var only support floating point"):
        nnzoo.tensor([1, 2]).var()
    with pytest.raises(TypeError, match="std\\(\\): pass either unbiased or correction"):
        x.std(unbiased=True, correction=1)
    with pytest.raises(RuntimeError, match="mean\\(\\): could not infer output dtype"):
        nnzoo.tensor([1, 2]).mean()
    with pytest.raises(RuntimeError, match="norm: expected a floating point tensor"):
        nnzoo.tensor([1, 2]).norm()
    with pytest.raises(RuntimeError, match="norm: p='fro' takes at most 2 dims"):
        nnzoo.ones(2, 2, 2).norm("fro", (0, 1, 2))
    with pytest.raises(NotImplementedError, match="nuc"):
        x.norm("nuc")
    with pytest.raises(RuntimeError, match="softmax: expected a floating point input"):
        nnzoo.tensor([1, 2]).softmax(0)
    with pytest.raises(RuntimeError, match="log_softmax: expected a floating point input"):
        nnzoo.tensor([1, 2]).log_softmax(0)
    with pytest.raises(TypeError, match="cumsum: dim must be a single int"):
        x.cumsum((0, 1))


def test_all_public_functions_exported():
    from nnzoo.ops import reduce
    for name in reduce.__all__:
        assert getattr(nnzoo, name) is getattr(reduce, name)


CUMPROD_SPECIAL = [((1,), 0), ((), 0), ((4, 1), 1), ((1, 3), 0), ((6,), 0), ((3, 5), 1), ((5, 3), 0),
                   ((2, 3, 4), 2), ((2, 4, 3), -2)]


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("shape,dim", CUMPROD_SPECIAL, ids=str)
def test_cumprod_gradient_with_zeros_and_infinities_matches_torch(shape, dim, create_graph):
    """cumprod's gradient where the input holds 0, inf and -inf, against torch: along a dimension of
    length 1 (or a 0-d input) it is the incoming gradient even at inf (issue 13: it was inf / inf =
    nan); otherwise torch's rule, nan where torch's own arithmetic meets 0 * inf. ``create_graph``
    takes the O(n^2) path that is differentiable again."""
    rng = np.random.default_rng(zlib.crc32(f"{shape}{dim}".encode()))
    values = np.array([0.0, np.inf, -np.inf, 2.0, -0.5, 1.5, 3.0, 0.0])
    for trial in range(14):
        x = np.full(shape, values[trial]) if trial < 3 else rng.choice(values, size=shape)  # all 0, inf, -inf
        u = rng.standard_normal(shape)
        grads = []
        for lib in (nnzoo, torch):
            xt = lib.tensor(x, requires_grad=True)
            with np.errstate(all="ignore"):
                y = lib.cumprod(xt, dim)
                g, = lib.autograd.grad((y * lib.tensor(u)).sum(), [xt], create_graph=create_graph)
            grads.append(g.detach().numpy())
        np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12, atol=0, equal_nan=True,
                                   err_msg=f"x = {x.tolist()}, dim {dim}")


# ---- found by the differential fuzzer (tests/fuzz) -----------------------------------------------------
@pytest.mark.parametrize("p", [1, INF, -INF])
def test_norm_gradient_at_nan_matches_torch(p):
    """The 1- and inf-norms send no gradient to NaN elements (PyTorch's sgn(nan) is 0), and a NaN inf-norm
    shares its gradient among its NaN elements: zeros, not 0/0 = nan everywhere."""
    x = np.array([[np.nan, 1.0, -2.0], [3.0, -1.0, 0.5], [np.nan, np.nan, 1.0]])
    u = np.array([1.5, -0.5, 2.0])
    grads = []
    for lib in (nnzoo, torch):
        xt = lib.tensor(x, requires_grad=True)
        g, = lib.autograd.grad(lib.norm(xt, p, 1), xt, grad_outputs=lib.tensor(u))
        grads.append(g.numpy())
    np.testing.assert_array_equal(grads[0], grads[1])


@pytest.mark.parametrize("fn", ["var", "std"])
@pytest.mark.parametrize("shape,dim,correction", [((), -1, 2), ((), None, 1), ((2,), None, 2), ((2,), None, 3),
                                                  ((3,), None, 3), ((2,), 0, 3), ((2,), 0, 2), ((1,), None, 1),
                                                  ((2, 2), (0, 1), 4)])
def test_var_std_gradient_with_correction_at_least_n_matches_torch(fn, shape, dim, correction):
    """With N <= correction PyTorch's backward takes 2 / dof as inf when no dim is given or the input is 0-d
    (nan where x == mean, inf elsewhere, whatever the sign of x - mean), and 2 / dof literally otherwise."""
    x = np.arange(max(1, int(np.prod(shape))), dtype=np.float64).reshape(shape) + 0.5
    grads = []
    for lib in (nnzoo, torch):
        xt = lib.tensor(x, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y = getattr(lib, fn)(xt, dim, correction=correction)
            g, = lib.autograd.grad(y, xt, grad_outputs=lib.full_like(y, -1.5))
        grads.append(g.numpy())
    np.testing.assert_array_equal(grads[0], grads[1])


@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_argmax_argmin_reject_bool_as_torch(name):
    for lib in (nnzoo, torch):
        with pytest.raises(RuntimeError, match="bool"):
            getattr(lib, name)(lib.tensor([True, False]), 0)


@pytest.mark.parametrize("p", [0.5, 1, 2, 3, INF])
def test_norm_gradient_of_a_zero_dim_nan(p):
    """A 0-d NaN (sign(nan) = 0 on a NumPy scalar, not an array)."""
    grads = []
    for lib in (nnzoo, torch):
        x = lib.tensor(float("nan"), requires_grad=True)
        grads.append(lib.autograd.grad(lib.norm(x, p), x)[0].numpy())
    np.testing.assert_array_equal(grads[0], grads[1])


@pytest.mark.parametrize("dtype,v", [("float32", 1e-40), ("float64", 1e-310), ("float32", 1e-20), ("float64", 1e200)])
@pytest.mark.parametrize("p", [2, 3, 0.5, 1, INF, -1.0, "fro"])
def test_norm_of_one_element_and_tiny_norms_match_torch(dtype, v, p):
    """Found by the fuzzer: the norm of one element is |x| (PyTorch too), not (|x|^p)^(1/p), which underflows
    to 0 for a subnormal; the 2-norm's gradient is g * (x / norm), not (g / norm) * x (1 / 1e-40 overflows)."""
    for shape, dim in [((), None), ((1,), None), ((2, 1), 1), ((1, 3, 1), (0, 2)), ((2, 2), 1)]:
        res = []
        for lib in (nnzoo, torch):
            x = lib.full(shape, -v, dtype=getattr(lib, dtype), requires_grad=True)
            y = lib.norm(x, p, dim)
            g, = lib.autograd.grad(y, x, grad_outputs=lib.ones_like(y))
            res.append((y.detach().numpy(), g.numpy()))
        for got, want in zip(*res):
            np.testing.assert_allclose(got, want, rtol=1e-6, equal_nan=True, err_msg=f"{shape} {dim}")


@pytest.mark.parametrize("create_graph", [False, True])
def test_prod_gradient_with_two_zeros_and_infinities_matches_torch(create_graph):
    """Found by the fuzzer: PyTorch's full-product backward returns zeros outright when two or more elements are
    0 (without create_graph), where the exclusive products would give 0 * inf = nan next to an inf or NaN."""
    x = np.array([[1e4, 1e-310, 0.0, 1.0, np.nan], [-1e4, 1e4, -1.0, 1e4, INF], [-INF, -1.0, -0.0, np.nan, INF]])
    grads = []
    for lib in (nnzoo, torch):
        xt = lib.tensor(x, requires_grad=True)
        g, = lib.autograd.grad(lib.prod(xt), xt, create_graph=create_graph)
        grads.append(g.detach().numpy())
    np.testing.assert_array_equal(grads[0], grads[1])


def test_var_gradient_with_correction_at_least_n_at_an_infinite_mean():
    """PyTorch's rule compares x == mean (inf == inf: nan), not x - mean == 0 (inf - inf = nan != 0)."""
    grads = []
    for lib in (nnzoo, torch):
        x = lib.tensor([[[INF], [-1e4]]], dtype=lib.float64, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y = lib.var(x, None, correction=2, keepdim=True)
            grads.append(lib.autograd.grad(y, x, grad_outputs=lib.full_like(y, -1.0))[0].numpy())
    np.testing.assert_array_equal(grads[0], grads[1])
