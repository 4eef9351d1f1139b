"""Indexing (t[key], t[key] = v) and the index ops against PyTorch, through the table-driven harness (double
backward included)."""
import warnings

import numpy as np
import pytest
import torch
from helpers import OpCase, S, V, cases_params, check_op, check_same_result_or_error

import nnzoo

_rng = np.random.default_rng(1234)


def ints(*shape, high, low=0):
    """Fixed int64 index values in [low, high)."""
    return V(_rng.integers(low, high, shape))


def mask(*shape, p=0.5):
    return V(_rng.random(shape) < p)


# ---- t[key] ---------------------------------------------------------------------------------------
GETITEM = [
    # basic indexing: views
    OpCase("int", lambda m, x: x[1], [S(3, 4)]),
    OpCase("negative_int", lambda m, x: x[-1], [S(3, 4)]),
    OpCase("int_int_0d", lambda m, x: x[1, -2], [S(3, 4)]),
    OpCase("slice", lambda m, x: x[1:3], [S(4, 3)]),
    OpCase("slice_steps", lambda m, x: x[::2, 1::2], [S(5, 6)]),
    OpCase("slice_negative_bounds", lambda m, x: x[-3:-1, :-2], [S(4, 5)]),
    OpCase("none_ellipsis", lambda m, x: x[None, ..., 1], [S(2, 3, 4)]),
    OpCase("ellipsis_middle", lambda m, x: x[1, ..., 1:], [S(2, 3, 4)]),
    OpCase("chained_views", lambda m, x: x[1:][:, 0] * 2, [S(4, 3)]),
    OpCase("slice_out_of_range_clips", lambda m, x: x[2:10], [S(4, 3)]),
    # advanced: integer index tensors and lists
    OpCase("list", lambda m, x: x[[0, 2, 2]], [S(3, 4)]),
    OpCase("tensor_duplicates", lambda m, x, i: x[i], [S(4, 3), V([0, 2, 0, 0, 1, 2])]),
    OpCase("tensor_negative", lambda m, x, i: x[i], [S(4, 3), V([-1, 0, -4, -1])]),
    OpCase("tensor_2d_index", lambda m, x, i: x[i], [S(5, 3), ints(2, 3, high=5)]),
    OpCase("tensor_int32", lambda m, x, i: x[i], [S(5, 3), V(np.array([4, 1, 1], dtype=np.int32))]),
    OpCase("tensor_0d_is_int", lambda m, x, i: x[i, :, i], [S(3, 2, 4), V(np.array(1))]),
    OpCase("middle_axis", lambda m, x, i: x[:, i], [S(3, 5, 2), ints(7, high=5)]),
    OpCase("last_axis", lambda m, x, i: x[..., i], [S(3, 2, 5), ints(2, 4, high=5, low=-5)]),
    OpCase("two_tensors_broadcast", lambda m, x, i, j: x[i, j], [S(4, 5), ints(3, 1, high=4), ints(2, high=5)]),
    OpCase("two_tensors_trailing_dims", lambda m, x, i, j: x[i, j], [S(4, 5, 3), ints(6, high=4), ints(6, high=5)]),
    OpCase("adjacent_tensors_middle", lambda m, x, i, j: x[:, i, j], [S(2, 4, 5, 3), ints(2, 3, high=4),
                                                                     ints(3, high=5)]),
    OpCase("separated_tensors_go_first", lambda m, x, i, j: x[i, :, j], [S(4, 3, 5), ints(2, 2, high=4),
                                                                        ints(2, high=5)]),
    OpCase("int_then_tensor_separated", lambda m, x, i: x[0, :, i], [S(2, 3, 4), V([0, 3, 3])]),
    OpCase("tensor_int_tensor", lambda m, x, i, j: x[i, 1, j], [S(3, 4, 5), V([0, 2, 2]), V([4, 0, 4])]),
    OpCase("tensor_none_tensor", lambda m, x, i, j: x[i, None, j], [S(3, 4, 5), V([0, 1]), V([3, 3])]),
    OpCase("mixed_slices", lambda m, x, i: x[1:, i, ::2], [S(3, 4, 5), V([3, 0, 3])]),
    OpCase("nested_list_is_tuple", lambda m, x: x[[[0, 1, 1], [2, 0, 2]]], [S(3, 4)]),
    OpCase("list_in_tuple", lambda m, x: x[1:, [0, -1, 0]], [S(3, 4)]),
    OpCase("empty_index", lambda m, x, i: x[i], [S(3, 4), V(np.zeros(0, dtype=np.int64))]),
    # wide rows (> 32 columns) take the sorted segment-sum path; > 32 repeats of one row its reduceat
    OpCase("wide_rows_duplicates", lambda m, x, i: x[i], [S(10, 40), ints(60, high=10)]),
    OpCase("wide_rows_long_segment", lambda m, x, i: x[i],
           [S(6, 40), V(np.concatenate([np.full(50, 3), [0, 5, 5, 1]]))]),
    OpCase("wide_rows_blocks", lambda m, x, i: x[:, i], [S(3, 5, 40), ints(9, high=5)]),
    OpCase("wide_rows_separated", lambda m, x, i, j: x[i, :, j], [S(4, 40, 5), ints(7, high=4),
                                                                 ints(7, high=5)]),
    # boolean masks
    OpCase("mask_full", lambda m, x, k: x[k], [S(3, 4), mask(3, 4)]),
    OpCase("mask_rows", lambda m, x, k: x[k], [S(5, 3), V([True, False, True, True, False])]),
    OpCase("mask_middle", lambda m, x, k: x[:, k], [S(2, 4, 3), V([False, True, True, False])]),
    OpCase("mask_2d_of_3d", lambda m, x, k: x[k], [S(3, 4, 2), mask(3, 4)]),
    OpCase("mask_and_tensor", lambda m, x, k, i: x[k, :, i], [S(3, 2, 4), V([True, False, True]), V([1, 3])]),
    OpCase("mask_none_selected", lambda m, x, k: x[k], [S(3, 2), V([False, False, False])]),
    OpCase("bool_list", lambda m, x: x[[True, False, True]], [S(3, 2)]),
    OpCase("bool_scalar_true", lambda m, x: x[True], [S(3, 2)]),
    OpCase("bool_scalar_false", lambda m, x: x[False], [S(3, 2)]),
    OpCase("bool_scalar_between", lambda m, x: x[[0, 1], True, [1, 0]], [S(3, 2)]),
]


@cases_params(GETITEM)
def test_getitem(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch's non-tuple-sequence deprecation
        check_op(case)


def _random_key(rng, shape):
    """A random PyTorch key for ``shape``: ints, slices, None, ..., index arrays (one common shape)
    and masks, in random order. Returns the items with arrays as NumPy (converted per library)."""
    ishape = tuple(rng.integers(1, 4, rng.integers(1, 3)))
    items, dim, used_ellipsis = [], 0, False
    while dim < len(shape):
        r = rng.random()
        n = shape[dim]
        if r < 0.15:
            items.append(int(rng.integers(-n, n)))
            dim += 1
        elif r < 0.35:
            start, stop = sorted(rng.integers(-n, n + 1, 2))
            items.append(slice(int(start), int(stop), int(rng.integers(1, 3))))
            dim += 1
        elif r < 0.45:
            items.append(None)
        elif r < 0.5 and not used_ellipsis and dim < len(shape) - 1:
            items.append(Ellipsis)
            used_ellipsis = True
            dim = len(shape) - 1  # leave the last dim to a later item
        elif r < 0.85:
            items.append(rng.integers(-n, n, ishape))
            dim += 1
        else:
            items.append(rng.random(n) < 0.6)
            dim += 1
    return items


def _convert(lib, items):
    out = []
    for k in items:
        out.append(lib.from_numpy(np.array(k)) if isinstance(k, np.ndarray) else k)
    return tuple(out)


@pytest.mark.parametrize("seed", range(40))
def test_getitem_random_keys(seed):
    """Random mixes of every key kind on a 3-D tensor, forward and gradients against PyTorch."""
    rng = np.random.default_rng(seed)
    shape = (4, 3, 5)
    items = _random_key(rng, shape)
    n_masks = sum(isinstance(k, np.ndarray) and k.dtype == bool for k in items)
    if n_masks > 1 or (n_masks and any(isinstance(k, np.ndarray) and k.dtype != bool for k in items)):
        # mask sizes would have to broadcast with the index arrays; keep one kind per key
        items = [slice(None) if isinstance(k, np.ndarray) and k.dtype == bool else k for k in items]
    check_op(OpCase(f"random_key_{seed}", lambda m, x: x[_convert(m, items)], [S(*shape)], noncontig=False))


def test_basic_indexing_gives_views_sharing_the_version_counter():
    x = nnzoo.arange(12.0).reshape(3, 4)
    for view in (x[1], x[1:, ::2], x[None, ..., 0], x[0, 0]):
        assert np.shares_memory(view.numpy(), x.numpy())
        assert view._version == x._version
    y = x[1]
    y[0] = 100.0
    assert x[1, 0].item() == 100.0 and x._version == 1


def test_advanced_indexing_copies():
    x = nnzoo.arange(12.0).reshape(3, 4)
    for out in (x[[0, 1]], x[x > 3], x[nnzoo.tensor([2]), 1:]):
        assert not np.shares_memory(out.numpy(), x.numpy())


# ---- errors of t[key], with the exception type PyTorch raises ----------------------------------------
@pytest.mark.parametrize("key,exc,match", [
    (5, IndexError, "index 5 is out of bounds for dimension 0 with size 3"),
    ((0, -5), IndexError, "index -5 is out of bounds for dimension 1 with size 4"),
    ([0, 3], IndexError, "index 3 is out of bounds for dimension 0 with size 3"),
    ((slice(None), np.array([1, -5])), IndexError, "index -5 is out of bounds for dimension 1 with size 4"),
    ((0, 0, 0), IndexError, "too many indices for tensor of dimension 2"),
    (slice(None, None, -1), ValueError, "step must be greater than zero"),
    (np.array([True, False]), IndexError, r"shape of the mask \[2\] at index 0 does not match"),
    (([0, 1], [0, 1, 2]), IndexError, r"shape mismatch: .* \[2\], \[3\]"),
    (np.array([0.5]), IndexError, "tensors used as indices must be long, int, byte or bool"),
    (1.5, IndexError, "only integers, slices"),
])
def test_getitem_errors(key, exc, match):
    def conv(lib, k):
        if isinstance(k, np.ndarray):
            return lib.from_numpy(k)
        if isinstance(k, tuple):
            return tuple(conv(lib, a) for a in k)
        return k
    with pytest.raises(exc):
        torch.zeros(3, 4)[conv(torch, key)]
    with pytest.raises(exc, match=match):
        nnzoo.zeros(3, 4)[conv(nnzoo, key)]


def test_two_ellipses_are_refused():
    # NOTE: PyTorch accepts x[..., 0, ...] (each ... expanding as if it were the only one); NumPy and
    # nnzoo refuse the ambiguous key
    with pytest.raises(IndexError, match="single ellipsis"):
        nnzoo.zeros(3, 4)[..., 0, ...]


# ---- t[key] = value ------------------------------------------------------------------------------------
SETITEM = [
    (lambda m: 1, lambda m: 5.0),
    (lambda m: (slice(1, None), slice(None, None, 2)), lambda m: -1.0),
    (lambda m: (Ellipsis, 0), lambda m: m.arange(3.0)),
    (lambda m: (None, 1), lambda m: m.ones(1, 4)),  # leading size-1 dims of the value are dropped
    (lambda m: [0, 2], lambda m: m.tensor([[1.0, 2, 3, 4]])),
    (lambda m: m.tensor([2, -1, 0]), lambda m: 7.0),
    (lambda m: (m.tensor([0, 1]), m.tensor([3, 3])), lambda m: m.tensor([8.0, 9.0])),
    (lambda m: (0, m.tensor([0, 1])), lambda m: m.tensor(5.0)),
    (lambda m: m.tensor([True, False, True]), lambda m: m.tensor([1.0, 2, 3, 4])),
    (lambda m: m.arange(12).reshape(3, 4) > 6, lambda m: 0.0),
    (lambda m: (slice(None), m.tensor([True, False, True, False])), lambda m: m.tensor([[1.0], [2], [3]])),
]


@pytest.mark.parametrize("k", range(len(SETITEM)))
def test_setitem_matches_torch(k):
    key, value = SETITEM[k]
    results = []
    for lib in (nnzoo, torch):
        x = lib.arange(12.0).reshape(3, 4)
        before = x._version
        x[key(lib)] = value(lib)
        assert x._version > before
        results.append(x.numpy().copy())
    np.testing.assert_array_equal(results[0], results[1])


def test_setitem_int_and_separated_tensor_like_torch():
    results = []
    for lib in (nnzoo, torch):
        x = lib.arange(24.0).reshape(2, 3, 4)
        x[0, :, [0, 1]] = lib.tensor([[1.0, 2.0]] * 3)  # the int is a plain selection: (3, 2), not (2, 3)
        results.append(x.numpy().copy())
    np.testing.assert_array_equal(results[0], results[1])


def test_setitem_int_tensor_casts_like_torch():
    a, b = nnzoo.zeros(3, dtype=nnzoo.int64), torch.zeros(3, dtype=torch.int64)
    a[0], b[0] = 1.7, 1.7
    a[1:] = nnzoo.tensor([2.9, -1.2])  # a basic selection copies with a cast
    b[1:] = torch.tensor([2.9, -1.2])
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    for lib, t in ((torch, b), (nnzoo, a)):  # index put (advanced) needs the same dtype
        with pytest.raises(RuntimeError, match=r"(?i)index put requires the source and destination dtypes"):
            t[lib.tensor([1, 2])] = lib.tensor([2.9, -1.2])


def test_setitem_in_the_graph_is_recorded():
    # a leaf that requires grad is refused; other tensors record the assignment (tests/test_inplace.py
    # checks the gradients against torch)
    x = nnzoo.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="setitem: a leaf tensor that requires grad"):
        x[0] = 1.0
    y = x * 2
    y[1:] = 0.0
    assert y.grad_fn.name() == "IndexPutBackward0"
    z = nnzoo.zeros(3)
    z[0] = x[1]
    assert z.requires_grad and z.grad_fn is not None
    with nnzoo.no_grad():  # outside the graph it is allowed (e.g. initialising a parameter)
        x[0] = 1.0
        z[0] = x[1]
    assert x[0].item() == 1.0 and x._version == 1 and z[0].item() == x[1].item()


def test_setitem_bumps_version_so_saved_tensor_backward_raises():
    x = nnzoo.randn(4, requires_grad=True)
    y = x.exp()  # exp saves its output for backward
    with nnzoo.no_grad():
        y[0] = 1.0
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.sum().backward()


def test_setitem_through_a_view_bumps_the_base():
    x = nnzoo.randn(3, 4, requires_grad=True)
    y = x.exp()
    v = y[1]  # a view of y sharing its version counter
    with nnzoo.no_grad():
        v[0] = 0.0
    assert y[1, 0].item() == 0.0
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.sum().backward()


def test_setitem_errors():
    x = nnzoo.zeros(3, 4)
    with pytest.raises(IndexError, match="index 3 is out of bounds for dimension 0 with size 3"):
        x[3] = 1.0
    with pytest.raises(IndexError, match="index 7 is out of bounds for dimension 1 with size 4"):
        x[:, [0, 7]] = 1.0
    with pytest.raises(RuntimeError, match=r"setitem: value of shape \(2, 4\)"):
        x[0] = nnzoo.ones(2, 4)
    with pytest.raises(RuntimeError):
        torch.zeros(3, 4)[0] = torch.ones(2, 4)
    e = nnzoo.zeros(1, 4).expand(3, 4)
    with pytest.raises(RuntimeError, match="more than one element"):
        e[0, 0] = 1.0


# ---- gather / scatter / scatter_add ----------------------------------------------------------------------
def _perm_rows(n_rows, n_cols, k):
    """k distinct positions per row (scatter with duplicates is nondeterministic in PyTorch)."""
    return V(np.stack([_rng.permutation(n_cols)[:k] for _ in range(n_rows)]))


INDEX_OPS = [
    OpCase("gather_dim0", lambda m, x, i: m.gather(x, 0, i), [S(4, 3), ints(6, 3, high=4)]),
    OpCase("gather_dim1_duplicates", lambda m, x, i: m.gather(x, 1, i), [S(3, 5), V([[0, 0, 4], [1, 1, 1],
                                                                                     [4, 3, 0]])]),
    OpCase("gather_smaller_index", lambda m, x, i: x.gather(-1, i), [S(4, 5), ints(2, 7, high=5)]),
    OpCase("gather_3d_middle", lambda m, x, i: m.gather(x, 1, i), [S(3, 4, 5), ints(2, 6, 5, high=4)]),
    OpCase("gather_one_per_fibre", lambda m, x, i: m.gather(x, 1, i), [S(6, 5), ints(6, 1, high=5)]),
    OpCase("gather_1d", lambda m, x, i: m.gather(x, 0, i), [S(5), V([4, 0, 0, 2, 4, 4])]),
    OpCase("gather_0d_index", lambda m, x, i: m.gather(x, 0, i), [S(5), V(np.array(3))]),
    OpCase("scatter_src", lambda m, x, i, s: m.scatter(x, 1, i, s), [S(3, 5), _perm_rows(3, 5, 3), S(3, 3)]),
    OpCase("scatter_src_dim0", lambda m, x, i, s: x.scatter(0, i, s), [S(4, 3), V([[0, 3, 1], [2, 0, 3]]),
                                                                       S(2, 3)]),
    OpCase("scatter_src_bigger", lambda m, x, i, s: m.scatter(x, 1, i, s), [S(3, 5), _perm_rows(2, 5, 2), S(3, 4)],
           # PyTorch's backward fails when src is bigger than index; slicing src first is the same math
           torch_fn=lambda m, x, i, s: m.scatter(x, 1, i, s[:2, :2])),
    OpCase("scatter_value", lambda m, x, i: m.scatter(x, 1, i, value=-2.5), [S(3, 5), ints(3, 4, high=5)]),
    OpCase("scatter_number_as_src", lambda m, x, i: x.scatter(0, i, 1.5), [S(3, 4), ints(2, 4, high=3)]),
    OpCase("scatter_add", lambda m, x, i, s: m.scatter_add(x, 1, i, s), [S(3, 5), ints(3, 8, high=5), S(3, 8)]),
    OpCase("scatter_add_dim0_bigger_src", lambda m, x, i, s: x.scatter_add(0, i, s),
           [S(3, 4), ints(5, 2, high=3), S(6, 4)],
           torch_fn=lambda m, x, i, s: x.scatter_add(0, i, s[:5, :2])),
    OpCase("scatter_add_3d", lambda m, x, i, s: m.scatter_add(x, 2, i, s), [S(2, 3, 4), ints(2, 3, 9, high=4),
                                                                           S(2, 3, 9)]),
    OpCase("scatter_reduce_add", lambda m, x, i, s: m.scatter(x, 1, i, s, reduce="add"),
           [S(3, 5), ints(3, 6, high=5), S(3, 6)], grad=False),
    OpCase("scatter_reduce_multiply", lambda m, x, i, s: m.scatter(x, 0, i, s, reduce="multiply"),
           [S(3, 4), ints(5, 4, high=3), S(5, 4)], grad=False),
    OpCase("scatter_value_reduce_add", lambda m, x, i: m.scatter(x, 1, i, 2.0, reduce="add"),
           [S(3, 5), ints(3, 6, high=5)], grad=False),
    OpCase("index_select_dim0", lambda m, x, i: m.index_select(x, 0, i), [S(4, 3), V([3, 0, 3, 3])]),
    OpCase("index_select_dim1", lambda m, x, i: x.index_select(-1, i), [S(2, 5, 3), V([2, 2, 0])]),
    OpCase("index_select_wide", lambda m, x, i: x.index_select(0, i), [S(6, 50), ints(20, high=6)]),
    OpCase("index_select_0d_index", lambda m, x, i: x.index_select(1, i), [S(3, 4), V(np.array(2))]),
    OpCase("index_add", lambda m, x, i, s: m.index_add(x, 1, i, s), [S(3, 4), V([0, 3, 0]), S(3, 3)]),
    OpCase("index_add_alpha", lambda m, x, i, s: m.index_add(x, 0, i, s, alpha=-0.5),
           [S(4, 2), ints(7, high=4), S(7, 2)]),
    OpCase("masked_fill", lambda m, x, k: m.masked_fill(x, k, -1.5), [S(3, 4), mask(3, 4)]),
    OpCase("masked_fill_broadcast_mask", lambda m, x, k: x.masked_fill(k, 0.0), [S(3, 4), mask(4)]),
    OpCase("masked_fill_broadcast_input", lambda m, x, k: m.masked_fill(x, k, 2.0), [S(3, 1), mask(3, 4)]),
    OpCase("masked_fill_tensor_value", lambda m, x, k, v: m.masked_fill(x, k, v), [S(3, 4), mask(3, 4), S()]),
    OpCase("masked_fill_int_input", lambda m, x, k: m.masked_fill(x, k, 2.7),
           [V(np.arange(6).reshape(2, 3)), mask(2, 3)], grad=False),
    OpCase("masked_select", lambda m, x, k: m.masked_select(x, k), [S(3, 4), mask(3, 4)]),
    OpCase("masked_select_broadcast", lambda m, x, k: m.masked_select(x, k), [S(3, 1), mask(2, 1, 4)]),
    OpCase("take_along_dim", lambda m, x, i: m.take_along_dim(x, i, 1), [S(3, 5), ints(3, 4, high=5)]),
    OpCase("take_along_dim_flat", lambda m, x, i: x.take_along_dim(i), [S(3, 4), ints(7, high=12)]),
    OpCase("take_along_dim_broadcast", lambda m, x, i: m.take_along_dim(x, i, -1), [S(3, 1, 4),
                                                                                     ints(1, 5, 2, high=4)]),
    OpCase("take_along_dim_argmax", lambda m, x: m.take_along_dim(x, x.argmax(1, keepdim=True), 1), [S(4, 6)]),
    OpCase("one_hot", lambda m, t: m.one_hot(t, 5), [V([[0, 4], [2, 2]])],
           torch_fn=lambda m, t: m.nn.functional.one_hot(t, 5), grad=False),
    OpCase("one_hot_inferred", lambda m, t: m.one_hot(t), [V([3, 0, 1])],
           torch_fn=lambda m, t: m.nn.functional.one_hot(t), grad=False),
    OpCase("one_hot_0d", lambda m, t: m.one_hot(t, 3), [V(np.array(1))],
           torch_fn=lambda m, t: m.nn.functional.one_hot(t, 3), grad=False),
    OpCase("nonzero", lambda m, x: m.nonzero(x), [V([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]])], grad=False),
    OpCase("nonzero_as_tuple", lambda m, x: x.nonzero(as_tuple=True), [V([[0.0, 1.5], [2.0, 0.0]])],
           grad=False),
    OpCase("nonzero_0d", lambda m, x: m.nonzero(x), [V(np.array(3.0))], grad=False),
    OpCase("nonzero_0d_as_tuple", lambda m, x: m.nonzero(x, as_tuple=True), [V(np.array(0.0))], grad=False),
    OpCase("argwhere", lambda m, x: m.argwhere(x), [V([[0, 1], [1, 1]])], grad=False),
]


@cases_params(INDEX_OPS)
@pytest.mark.filterwarnings("ignore:The reduce argument of torch.scatter")
def test_index_ops(case):
    check_op(case)


def test_scatter_reduce_has_no_derivative_like_torch():
    for lib in (nnzoo, torch):
        x = lib.randn(3, 4, requires_grad=True)
        out = lib.scatter(x, 1, lib.tensor([[0, 0], [1, 2], [3, 3]]), 2.0, reduce="multiply")
        with pytest.raises(RuntimeError):
            out.sum().backward()


def test_scatter_gradient_to_input_is_zero_where_overwritten():
    x = nnzoo.randn(3, 4, requires_grad=True)
    idx = nnzoo.tensor([[0, 2], [1, 1], [3, 0]])
    nnzoo.scatter(x, 1, idx, value=0.0).sum().backward()
    want = np.ones((3, 4))
    np.put_along_axis(want, idx.numpy(), 0.0, axis=1)
    np.testing.assert_array_equal(x.grad.numpy(), want)


def test_index_ops_on_integer_tensors():
    x = np.arange(12).reshape(3, 4)
    idx = np.array([[0, 0, 3], [1, 2, 1]])
    src = np.arange(6).reshape(2, 3) * 10
    for fn in (lambda m, a, i, s: m.scatter_add(a, 1, i[:, :2], s),
               lambda m, a, i, s: m.gather(a, 1, i),
               lambda m, a, i, s: m.index_add(a, 0, m.tensor([2, 2]), s[:, :1].expand(2, 4).contiguous()),
               lambda m, a, i, s: m.scatter(a, 1, i, s, reduce="multiply")):
        got = fn(nnzoo, *(nnzoo.from_numpy(a) for a in (x, idx, src)))
        want = fn(torch, *(torch.from_numpy(a) for a in (x, idx, src)))
        assert got.dtype == nnzoo.int64
        np.testing.assert_array_equal(got.numpy(), want.numpy())


@pytest.mark.parametrize("call,exc,match", [
    (lambda m: m.gather(m.zeros(2, 3, 4), 1, m.tensor([[0, 1], [1, 0]])), RuntimeError,
     r"gather\(\): index tensor must have the same number of dimensions as input.*\(2, 2\).*\(2, 3, 4\)"),
    (lambda m: m.gather(m.zeros(2, 3), 1, m.tensor([[5]])), RuntimeError,
     "index 5 is out of bounds for dimension 1 with size 3"),
    (lambda m: m.gather(m.zeros(2, 3), 1, m.tensor([[-1]])), RuntimeError,
     "index -1 is out of bounds for dimension 1 with size 3"),
    (lambda m: m.gather(m.zeros(2, 3), 1, m.zeros(3, 3, dtype=m.int64)), RuntimeError,
     r"expected index \(3, 3\) to be no larger than input \(2, 3\) apart from dimension 1"),
    (lambda m: m.gather(m.zeros(2, 3), 1, m.zeros(1, 1)), RuntimeError, "Expected dtype int32/int64"),
    (lambda m: m.gather(m.zeros(2, 3), 2, m.zeros(1, 1, dtype=m.int64)), IndexError, "out of range"),
    (lambda m: m.scatter(m.zeros(2, 3), 1, m.zeros(2, 2, dtype=m.int64), m.ones(2, 1)), RuntimeError,
     r"no larger than src \(2, 1\)"),
    (lambda m: m.scatter(m.zeros(2, 3), 1, m.zeros(2, 2, dtype=m.int64), m.ones(2, 2, dtype=m.float64)),
     RuntimeError, "src dtype"),
    (lambda m: m.scatter(m.zeros(2, 3), 1, m.zeros(2, 2, dtype=m.int64), m.ones(2, 2), reduce="max"),
     RuntimeError, "reduce argument must be either add or multiply"),
    (lambda m: m.scatter_add(m.zeros(2, 3), 1, m.tensor([[3]]), m.ones(1, 1)), RuntimeError,
     "index 3 is out of bounds for dimension 1 with size 3"),
    (lambda m: m.index_select(m.zeros(3, 4), 1, m.tensor([[2]])), IndexError, "index_select.*vector"),
    (lambda m: m.index_select(m.zeros(3, 4), 1, m.tensor([4])), RuntimeError,
     r"index_select\(\): index 4 is out of bounds"),
    (lambda m: m.index_select(m.zeros(3, 4), 1, m.tensor([1.0])), RuntimeError, "int32"),
    (lambda m: m.index_add(m.zeros(3, 4), 1, m.tensor([0, 0]), m.ones(3, 3)), RuntimeError,
     r"index_add\(\): source of shape \(3, 3\)"),
    (lambda m: m.masked_fill(m.zeros(3), m.tensor([1, 0, 1]), 1.0), RuntimeError, "boolean masks"),
    (lambda m: m.masked_fill(m.zeros(3), m.tensor([True, False, True]), m.tensor([1.0])), RuntimeError,
     "0-dimensional value tensor"),
    (lambda m: m.masked_fill(m.zeros(3), m.tensor([True, False]), 1.0), RuntimeError,
     r"masked_fill: input of shape \(3,\) and mask of shape \(2,\)"),
    (lambda m: m.take_along_dim(m.zeros(3, 4), m.tensor([0]), 1), RuntimeError,
     "same number of dimensions"),
])
def test_index_op_errors(call, exc, match):
    with pytest.raises(exc):
        call(torch)
    with pytest.raises(exc, match=match):
        call(nnzoo)


@pytest.mark.parametrize("args,match", [
    (([0, 3], 3), "smaller than num_classes"),
    (([0, -1], 3), "non-negative"),
    (([], -1), "empty"),
])
def test_one_hot_errors(args, match):
    values, n = args
    with pytest.raises(RuntimeError):
        torch.nn.functional.one_hot(torch.tensor(values, dtype=torch.int64), n)
    with pytest.raises(RuntimeError, match=match):
        nnzoo.one_hot(nnzoo.tensor(values, dtype=nnzoo.int64), n)
    with pytest.raises(RuntimeError, match="LongTensor"):
        nnzoo.one_hot(nnzoo.tensor([0, 1], dtype=nnzoo.int32))


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 1e30, 2.5, -2.7])
@pytest.mark.parametrize("as_tensor", [False, True])
def test_masked_fill_of_an_integer_tensor_with_a_float_value(value, as_tensor):
    """Found by the fuzzer: as PyTorch, a float value is truncated, but NaN, inf or one out of the integer range
    raises (NumPy's cast gave -2**63)."""
    check_same_result_or_error(lambda lib: lib.tensor([1, 2]).masked_fill(
        lib.tensor([True, False]), lib.tensor(value, dtype=lib.float64) if as_tensor else value))
