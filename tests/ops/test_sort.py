"""sort, argsort, msort, topk and kthvalue against PyTorch: the op harness (forward, backward, finite
differences, double backward) on tie-free inputs, then ties, nan, 0-d inputs and errors."""
import numpy as np
import pytest
import torch
from helpers import OpCase, S, cases_params, check_op

import nnzoo


def _values(fn):
    return lambda m, a: fn(m, a)[0]


CASES = [
    OpCase("sort_last", _values(lambda m, a: m.sort(a)), [S(3, 5)]),
    OpCase("sort_dim0_descending", _values(lambda m, a: m.sort(a, 0, descending=True)), [S(4, 3)]),
    OpCase("sort_stable_kw", _values(lambda m, a: m.sort(a, dim=1, stable=True)), [S(2, 4, 3)]),
    OpCase("sort_method", _values(lambda m, a: a.sort(-2)), [S(2, 4, 3)]),
    OpCase("msort", lambda m, a: m.msort(a), [S(4, 3)]),
    OpCase("topk_last", _values(lambda m, a: m.topk(a, 2)), [S(3, 5)]),
    OpCase("topk_smallest_dim0", _values(lambda m, a: m.topk(a, 3, dim=0, largest=False)), [S(4, 3)]),
    OpCase("topk_method_all", _values(lambda m, a: a.topk(4, 1)), [S(2, 4, 3)]),
    OpCase("topk_k0", _values(lambda m, a: a.topk(0)), [S(2, 3)]),
    OpCase("kthvalue_last", _values(lambda m, a: m.kthvalue(a, 2)), [S(3, 5)]),
    OpCase("kthvalue_keepdim_dim0", _values(lambda m, a: m.kthvalue(a, 3, 0, keepdim=True)), [S(4, 3)]),
    OpCase("kthvalue_method", _values(lambda m, a: a.kthvalue(1, dim=1)), [S(2, 4, 3)]),
    OpCase("topk_0d", _values(lambda m, a: a.topk(1)), [S()]),
    OpCase("sort_0d", _values(lambda m, a: a.sort()), [S()]),
    OpCase("kthvalue_0d", _values(lambda m, a: a.kthvalue(1)), [S()]),
]


@cases_params(CASES)
def test_sort_ops(case):
    check_op(case)


def _both(fn):
    return fn(nnzoo), fn(torch)


@pytest.mark.parametrize("call", [
    lambda m, x: m.topk(x, 3), lambda m, x: m.topk(x, 3, 0), lambda m, x: m.topk(x, 2, largest=False),
    lambda m, x: x.sort(), lambda m, x: x.sort(0, descending=True), lambda m, x: m.kthvalue(x, 2),
    lambda m, x: x.kthvalue(4, 0, keepdim=True)])
def test_indices_and_return_type_without_ties(call):
    x = np.random.default_rng(1).permutation(40).astype(np.float32).reshape(5, 8)
    got, want = call(nnzoo, nnzoo.tensor(x)), call(torch, torch.tensor(x))
    assert type(got).__name__ == type(want).__name__.split(".")[-1]
    assert got._fields == ("values", "indices") and got.values is got[0] and got.indices is got[1]
    np.testing.assert_array_equal(got.values.numpy(), want.values.numpy())
    np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())
    assert got.indices.dtype == nnzoo.int64 and got.indices.grad_fn is None


def test_sort_and_argsort_with_ties_are_torchs_stable_order():
    """PyTorch's CPU sort is stable in both directions; nan is the largest value."""
    x = np.array([[1, 3, 3, 2, 3, 3, 0, 3], [np.nan, 1, np.nan, 1, -np.inf, np.inf, 1, 0]], dtype=np.float32)
    for desc in (False, True):
        got, want = _both(lambda m, desc=desc: m.sort(m.tensor(x), descending=desc))
        np.testing.assert_array_equal(got.values.numpy(), want.values.numpy())
        np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())
        got, want = _both(lambda m, desc=desc: m.argsort(m.tensor(x), descending=desc, stable=True))
        np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_topk_and_kthvalue_with_ties_agree_on_values():
    """Among equal values torch's topk/kthvalue order is its partial sort's (unspecified); nnzoo's is the stable
    sort's. The values agree, and nnzoo's indices point at them."""
    x = np.array([1, 3, 3, 2, 3, 3, 0, 3, np.nan, 3], dtype=np.float32)
    for k in range(1, 11):
        for largest in (True, False):
            got, want = _both(lambda m, k=k, largest=largest: m.topk(m.tensor(x), k, largest=largest))
            np.testing.assert_array_equal(got.values.numpy(), want.values.numpy())
            np.testing.assert_array_equal(x[got.indices.numpy()], got.values.numpy())
        got, want = _both(lambda m, k=k: m.kthvalue(m.tensor(x), k))
        np.testing.assert_array_equal(got.values.numpy(), want.values.numpy())
        np.testing.assert_array_equal(x[got.indices.numpy()], got.values.numpy())


def test_integer_input_and_gradient_of_topk():
    got, want = _both(lambda m: m.topk(m.tensor([[4, 1, 7], [2, 9, 3]]), 2))
    np.testing.assert_array_equal(got.values.numpy(), want.values.numpy())
    np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())
    x = np.random.default_rng(2).standard_normal((3, 6))
    grads = []
    for m in (nnzoo, torch):
        t = m.tensor(x, requires_grad=True)
        (m.topk(t, 2)[0] * m.tensor([[1.0, 2.0]])).sum().backward()
        grads.append(t.grad.numpy())
    np.testing.assert_array_equal(*grads)


@pytest.mark.parametrize("call", [lambda m: m.topk(m.ones(3), 4), lambda m: m.topk(m.ones(3), -1),
                                  lambda m: m.kthvalue(m.ones(3), 0), lambda m: m.kthvalue(m.ones(3), 4),
                                  lambda m: m.sort(m.ones(3), 1)])
def test_errors_as_torch(call):
    errors = []
    for m in (nnzoo, torch):
        with pytest.raises(Exception) as info:
            call(m)
        errors.append(info.type)
    assert errors[0] is errors[1]
