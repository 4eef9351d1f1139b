"""Shape ops (reshape ... diagonal, cat/stack, split/chunk/unbind, pad) against PyTorch, through the harness,
(double backward included), plus the view semantics (shared memory and version counter) and error messages."""
import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import OpCase, S, V, cases_params, check_op, check_same_result_or_error

import nnzoo

INTS = V(np.arange(6).reshape(2, 3))  # an int64 tensor: promoted by cat/stack, never differentiable


def PAD(name, inputs, *args, **kw):
    """An OpCase for nnzoo.pad against torch.nn.functional.pad with the same arguments."""
    return OpCase(name, lambda m, a: m.pad(a, *args, **kw), inputs,
                  torch_fn=lambda m, a: F.pad(a, *args, **kw))


CASES = [
    # ---- reshape / view ------------------------------------------------------------------------------
    OpCase("reshape", lambda m, a: a.reshape(4, 6), [S(2, 3, 4)]),
    OpCase("reshape_infer_tuple", lambda m, a: m.reshape(a, (-1, 3)), [S(2, 3, 4)]),
    OpCase("reshape_list", lambda m, a: a.reshape([2, -1]), [S(2, 3, 4)]),
    OpCase("reshape_shape_kw", lambda m, a: m.reshape(a, shape=(3, 8)), [S(2, 3, 4)]),
    OpCase("reshape_same_shape", lambda m, a: a.reshape(2, 3) * 2, [S(2, 3)]),
    OpCase("reshape_to_scalar", lambda m, a: a.reshape(()), [S(1, 1)]),
    OpCase("reshape_as", lambda m, a, b: a.reshape_as(b), [S(2, 6), S(3, 4, grad=False)]),
    # view of a flattened tensor needs contiguous storage: nnzoo's non-contiguous variant would raise
    OpCase("view", lambda m, a: a.view(6, 4), [S(2, 3, 4)], noncontig=False),
    OpCase("view_infer", lambda m, a: a.view(-1), [S(2, 3, 4)], noncontig=False),
    OpCase("view_split_last_dim", lambda m, a: a.view(2, 3, 2, 2), [S(2, 3, 4)]),
    OpCase("view_as", lambda m, a, b: a.view_as(b), [S(2, 6), S(12, grad=False)], noncontig=False),
    # ---- permute / transpose ---------------------------------------------------------------------------
    OpCase("permute", lambda m, a: a.permute(2, 0, 1), [S(2, 3, 4)]),
    OpCase("permute_tuple_negative", lambda m, a: m.permute(a, (1, -1, 0)), [S(2, 3, 4)]),
    OpCase("permute_dims_kw", lambda m, a: m.permute(a, dims=[1, 0]), [S(2, 3)]),
    OpCase("transpose", lambda m, a: a.transpose(0, 2), [S(2, 3, 4)]),
    OpCase("transpose_negative", lambda m, a: m.transpose(a, -1, -2), [S(2, 3, 4)]),
    OpCase("transpose_same_dim", lambda m, a: a.transpose(1, 1) * 1.5, [S(2, 3)]),
    OpCase("swapaxes", lambda m, a: m.swapaxes(a, 0, 1), [S(2, 3, 4)]),
    OpCase("swapdims", lambda m, a: a.swapdims(0, -1), [S(2, 3, 4)]),
    OpCase("t", lambda m, a: a.t(), [S(3, 4)]),
    OpCase("t_1d", lambda m, a: m.t(a) * 2, [S(4)]),
    OpCase("T", lambda m, a: a.T, [S(2, 3)]),
    OpCase("mT", lambda m, a: a.mT, [S(2, 3, 4)]),
    # ---- squeeze / unsqueeze -------------------------------------------------------------------------
    OpCase("squeeze_all", lambda m, a: a.squeeze(), [S(2, 1, 3, 1)]),
    OpCase("squeeze_dim", lambda m, a: a.squeeze(1), [S(2, 1, 3, 1)]),
    OpCase("squeeze_negative", lambda m, a: m.squeeze(a, -1), [S(2, 1, 3, 1)]),
    OpCase("squeeze_not_one", lambda m, a: a.squeeze(0) * 2, [S(2, 1, 3, 1)]),
    OpCase("squeeze_tuple", lambda m, a: a.squeeze((1, 3)), [S(2, 1, 3, 1)]),
    OpCase("squeeze_scalar", lambda m, a: a.squeeze(0) * 2, [S()]),
    OpCase("unsqueeze_0", lambda m, a: a.unsqueeze(0), [S(2, 3)]),
    OpCase("unsqueeze_last", lambda m, a: m.unsqueeze(a, -1), [S(2, 3)]),
    OpCase("unsqueeze_middle", lambda m, a: a.unsqueeze(1), [S(2, 3)]),
    OpCase("unsqueeze_negative_middle", lambda m, a: a.unsqueeze(-2), [S(2, 3)]),
    OpCase("unsqueeze_scalar", lambda m, a: a.unsqueeze(0), [S()]),
    # ---- expand / broadcast_to -----------------------------------------------------------------------
    OpCase("expand", lambda m, a: a.expand(2, 3, 4), [S(3, 1)]),
    OpCase("expand_keep", lambda m, a: a.expand(-1, 5), [S(3, 1)]),
    OpCase("expand_tuple", lambda m, a: a.expand((4, 3, 2)), [S(1, 2)]),
    OpCase("expand_as", lambda m, a, b: a.expand_as(b), [S(1, 4), S(3, 4, grad=False)]),
    OpCase("broadcast_to", lambda m, a: m.broadcast_to(a, (2, 3, 4)), [S(4)]),
    OpCase("expand_scalar", lambda m, a: a.expand(3, 2), [S()]),
    # ---- flatten / unflatten / movedim -----------------------------------------------------------------
    OpCase("flatten", lambda m, a: a.flatten(), [S(2, 3, 4)]),
    OpCase("flatten_start", lambda m, a: m.flatten(a, 1), [S(2, 3, 4)]),
    OpCase("flatten_range", lambda m, a: m.flatten(a, 1, 2), [S(2, 3, 4, 2)]),
    OpCase("flatten_negative", lambda m, a: a.flatten(-3, -2), [S(2, 3, 4, 2)]),
    OpCase("flatten_single_dim", lambda m, a: a.flatten(1, 1) * 2, [S(2, 3)]),
    OpCase("flatten_scalar", lambda m, a: m.flatten(a), [S()]),
    OpCase("unflatten", lambda m, a: a.unflatten(1, (3, 4)), [S(2, 12)]),
    OpCase("unflatten_infer", lambda m, a: m.unflatten(a, -1, (2, -1)), [S(2, 12)]),
    OpCase("unflatten_first", lambda m, a: a.unflatten(0, [1, 2, 1]), [S(2, 3)]),
    OpCase("movedim", lambda m, a: m.movedim(a, 0, -1), [S(2, 3, 4)]),
    OpCase("movedim_tuple", lambda m, a: m.movedim(a, (0, 1), (2, 0)), [S(2, 3, 4)]),
    OpCase("movedim_negative", lambda m, a: m.movedim(a, [-1], [1]), [S(2, 3, 4, 5)]),
    OpCase("moveaxis", lambda m, a: m.moveaxis(a, 1, 0), [S(2, 3, 4)]),
    # ---- repeat / tile ---------------------------------------------------------------------------------
    OpCase("repeat", lambda m, a: a.repeat(2, 3), [S(2, 3)]),
    OpCase("repeat_new_dims", lambda m, a: a.repeat(2, 1, 3), [S(2, 3)]),
    OpCase("repeat_tuple", lambda m, a: a.repeat((2, 2)), [S(3, 2)]),
    OpCase("repeat_ones", lambda m, a: a.repeat(1, 1) * 2, [S(3, 2)]),
    OpCase("repeat_zero", lambda m, a: a.repeat(0, 2), [S(3, 2)]),
    OpCase("repeat_scalar", lambda m, a: a.repeat(4), [S()]),
    OpCase("repeat_1d_to_3d", lambda m, a: a.repeat(2, 3, 2), [S(3)]),
    OpCase("tile", lambda m, a: m.tile(a, (2,)), [S(2, 3)]),
    OpCase("tile_method", lambda m, a: a.tile(2, 1, 1), [S(2, 3)]),
    OpCase("tile_dims_kw", lambda m, a: m.tile(a, dims=(3, 2)), [S(2, 3)]),
    # ---- flip / roll -----------------------------------------------------------------------------------
    OpCase("flip_method", lambda m, a: a.flip(0), [S(2, 3, 4)]),
    OpCase("flip_method_many", lambda m, a: a.flip(0, 2), [S(2, 3, 4)]),
    OpCase("flip_function_list", lambda m, a: m.flip(a, [0, 2]), [S(2, 3, 4)]),
    OpCase("flip_negative", lambda m, a: m.flip(a, (-1,)), [S(2, 3, 4)]),
    OpCase("flip_dims_kw", lambda m, a: m.flip(a, dims=[1]), [S(2, 3)]),
    OpCase("flip_no_dims", lambda m, a: m.flip(a, ()), [S(2, 3)]),
    OpCase("fliplr", lambda m, a: m.fliplr(a), [S(2, 3, 4)]),
    OpCase("flipud", lambda m, a: m.flipud(a), [S(2, 3)]),
    OpCase("roll_flat", lambda m, a: m.roll(a, 1), [S(2, 3)]),
    OpCase("roll_flat_negative", lambda m, a: a.roll(-4), [S(2, 3)]),
    OpCase("roll_dim", lambda m, a: a.roll(2, 1), [S(2, 5)]),
    OpCase("roll_many", lambda m, a: m.roll(a, (1, -2), (0, 1)), [S(3, 4)]),
    OpCase("roll_same_dim_twice", lambda m, a: m.roll(a, (1, 3), (-1, -1)), [S(3, 4)]),
    OpCase("roll_big_shift", lambda m, a: m.roll(a, 7, dims=-1), [S(2, 3)]),
    # ---- cat / stack -----------------------------------------------------------------------------------
    OpCase("cat_dim0", lambda m, a, b: m.cat([a, b]), [S(2, 3), S(4, 3)]),
    OpCase("cat_dim1", lambda m, a, b, c: m.cat((a, b, c), dim=1), [S(2, 3), S(2, 1), S(2, 4)]),
    OpCase("cat_negative_dim", lambda m, a, b: m.cat([a, b], -1), [S(2, 3, 2), S(2, 3, 3)]),
    OpCase("cat_single", lambda m, a: m.cat([a], 1), [S(2, 3)]),
    OpCase("cat_same_tensor_twice", lambda m, a: m.cat([a, a * 2, a]), [S(2, 3)]),
    OpCase("cat_promote_int", lambda m, a, b: m.cat([a, b]), [INTS, S(1, 3)]),
    OpCase("cat_promote_float64", lambda m, a: m.cat([a, a.double()], 1), [S(2, 3)], fd=False),
    OpCase("cat_skips_empty_1d", lambda m, a, e, b: m.cat([a, e, b], 1), [S(2, 3), S(0), S(2, 2)]),
    OpCase("cat_empty_piece", lambda m, a, e: m.cat([a, e]), [S(2, 3), S(0, 3)]),
    OpCase("cat_only_empty", lambda m, a, b: m.cat([a, b]), [S(0), S(0)]),
    OpCase("concat", lambda m, a, b: m.concat([a, b], dim=1), [S(2, 3), S(2, 1)]),
    OpCase("concatenate", lambda m, a, b: m.concatenate([a, b], axis=1), [S(2, 3), S(2, 1)]),
    OpCase("stack", lambda m, a, b: m.stack([a, b]), [S(2, 3), S(2, 3)]),
    OpCase("stack_dim1", lambda m, a, b, c: m.stack((a, b, c), 1), [S(2, 3), S(2, 3), S(2, 3)]),
    OpCase("stack_last", lambda m, a, b: m.stack([a, b], dim=-1), [S(2, 3), S(2, 3)]),
    OpCase("stack_scalars", lambda m, a, b: m.stack([a, b]), [S(), S()]),
    OpCase("stack_promote_int", lambda m, a, b: m.stack([a, b], 2), [INTS, S(2, 3)]),
    OpCase("hstack_1d", lambda m, a, b: m.hstack([a, b]), [S(2), S(3)]),
    OpCase("hstack_2d", lambda m, a, b: m.hstack([a, b]), [S(2, 1), S(2, 3)]),
    OpCase("vstack_1d", lambda m, a, b: m.vstack([a, b]), [S(3), S(3)]),
    OpCase("vstack_2d", lambda m, a, b: m.vstack((a, b)), [S(2, 3), S(1, 3)]),
    OpCase("row_stack", lambda m, a, b: m.row_stack((a, b)), [S(3), S(2, 3)]),
    OpCase("dstack", lambda m, a, b: m.dstack([a, b]), [S(2, 3), S(2, 3)]),
    OpCase("column_stack", lambda m, a, b, c: m.column_stack([a, b, c]), [S(2), S(2, 3), S(2)]),
    OpCase("atleast_1d", lambda m, a, b: m.atleast_1d(a, b), [S(), S(2, 3)]),
    OpCase("atleast_2d", lambda m, a, b, c: m.atleast_2d((a, b, c)), [S(), S(3), S(2, 3)]),
    OpCase("atleast_3d", lambda m, a, b, c: m.atleast_3d([a, b, c]), [S(), S(3), S(2, 3)]),
    OpCase("atleast_2d_single", lambda m, a: m.atleast_2d(a), [S(4)]),
    # ---- split / chunk / unbind / narrow -------------------------------------------------------------
    OpCase("split_int", lambda m, a: a.split(2), [S(6, 3)]),
    OpCase("split_uneven", lambda m, a: m.split(a, 2, dim=1), [S(3, 5)]),
    OpCase("split_sections", lambda m, a: m.split(a, [1, 3, 0, 1], -1), [S(2, 5)]),
    OpCase("split_bigger_than_dim", lambda m, a: a.split(10), [S(4, 2)]),
    OpCase("split_one_output_used", lambda m, a: a.split(2)[1] * 3, [S(5, 3)]),
    OpCase("chunk", lambda m, a: a.chunk(3), [S(7, 2)]),
    OpCase("chunk_fewer", lambda m, a: m.chunk(a, 4, dim=1), [S(2, 6)]),
    OpCase("chunk_negative_dim", lambda m, a: m.chunk(a, 2, -1), [S(2, 3, 4)]),
    OpCase("tensor_split_sections", lambda m, a: m.tensor_split(a, 3), [S(7, 2)]),
    OpCase("tensor_split_indices", lambda m, a: m.tensor_split(a, [1, 4], dim=1), [S(2, 6)]),
    OpCase("tensor_split_clipped", lambda m, a: m.tensor_split(a, (-2, 9)), [S(7)]),
    OpCase("tensor_split_decreasing", lambda m, a: m.tensor_split(a, [5, 1]), [S(7)]),
    OpCase("unbind", lambda m, a: a.unbind(), [S(3, 4)]),
    OpCase("unbind_dim", lambda m, a: m.unbind(a, 1), [S(2, 3, 4)]),
    OpCase("unbind_negative", lambda m, a: m.unbind(a, dim=-1), [S(2, 3, 4)]),
    OpCase("unbind_some_used", lambda m, a: a.unbind(1)[0] * a.unbind(1)[2], [S(2, 3)]),
    OpCase("narrow", lambda m, a: a.narrow(1, 1, 2), [S(3, 4)]),
    OpCase("narrow_function_negative_start", lambda m, a: m.narrow(a, -1, -3, 2), [S(3, 4)]),
    OpCase("narrow_empty", lambda m, a: a.narrow(0, 3, 0), [S(3, 4)]),
    OpCase("narrow_full", lambda m, a: a.narrow(0, 0, 3), [S(3, 4)]),
    OpCase("narrow_tensor_start", lambda m, a: a.narrow(0, m.tensor(1), 2), [S(3, 4)]),
    # ---- pad ---------------------------------------------------------------------------------------------
    PAD("pad_constant", [S(2, 3)], (1, 2)),
    PAD("pad_constant_two_dims", [S(2, 3, 4)], (1, 1, 2, 0)),
    PAD("pad_constant_value", [S(2, 3)], (1, 1, 1, 1), value=1.5),
    PAD("pad_constant_all_dims", [S(2, 3, 4)], (1, 0, 0, 2, 1, 1), mode="constant"),
    PAD("pad_constant_1d", [S(4)], [2, 3]),
    PAD("pad_constant_crop", [S(3, 5)], (-1, -2)),
    PAD("pad_constant_crop_and_pad", [S(3, 5)], (-2, 1, 1, -1)),
    PAD("pad_constant_zero", [S(3, 5)], (0, 0)),
    PAD("pad_reflect_2d_input", [S(3, 5)], (2, 3), mode="reflect"),
    PAD("pad_reflect_3d_input", [S(2, 3, 5)], (4, 1), mode="reflect"),
    PAD("pad_reflect_2d", [S(2, 3, 5)], (1, 2, 2, 1), mode="reflect"),
    PAD("pad_reflect_2d_batched", [S(2, 2, 4, 5)], (3, 0, 1, 3), mode="reflect"),
    PAD("pad_reflect_3d", [S(2, 3, 4, 5)], (1, 2, 2, 1, 1, 1), mode="reflect"),
    PAD("pad_reflect_3d_batched", [S(1, 2, 3, 3, 4)], (1, 0, 2, 2, 2, 1), mode="reflect"),
    PAD("pad_reflect_negative", [S(2, 3, 5)], (-1, 3, 2, -2), mode="reflect"),
    PAD("pad_replicate", [S(2, 3, 4)], (3, 1), mode="replicate"),
    PAD("pad_replicate_2d", [S(2, 3, 4)], (2, 5, 1, 2), mode="replicate"),
    PAD("pad_replicate_3d", [S(2, 2, 3, 4)], (1, 2, 3, 0, 0, 2), mode="replicate"),
    PAD("pad_replicate_negative", [S(2, 3, 4)], (-2, 3, 1, -1), mode="replicate"),
    PAD("pad_circular", [S(2, 3, 4)], (2, 4), mode="circular"),
    PAD("pad_circular_2d", [S(2, 3, 4)], (1, 3, 2, 1), mode="circular"),
    PAD("pad_circular_3d", [S(1, 2, 3, 3, 4)], (1, 2, 2, 1, 3, 0), mode="circular"),
    PAD("pad_circular_negative", [S(2, 3, 5)], (-1, 2, 1, -1), mode="circular"),
    PAD("pad_circular_crop_then_wrap", [S(2, 5)], (2, -2), mode="circular"),
    # ---- tril / triu / diagonal ----------------------------------------------------------------------
    OpCase("tril", lambda m, a: a.tril(), [S(4, 5)]),
    OpCase("tril_positive", lambda m, a: m.tril(a, 1), [S(4, 5)]),
    OpCase("tril_negative_batched", lambda m, a: m.tril(a, diagonal=-1), [S(2, 3, 4, 4)]),
    OpCase("triu", lambda m, a: a.triu(), [S(5, 4)]),
    OpCase("triu_positive_batched", lambda m, a: m.triu(a, 2), [S(2, 4, 5)]),
    OpCase("triu_negative", lambda m, a: a.triu(-2), [S(4, 4)]),
    OpCase("diagonal", lambda m, a: a.diagonal(), [S(4, 5)]),
    OpCase("diagonal_offset", lambda m, a: m.diagonal(a, 1), [S(4, 5)]),
    OpCase("diagonal_negative_offset", lambda m, a: m.diagonal(a, offset=-2), [S(4, 5)]),
    OpCase("diagonal_dims", lambda m, a: m.diagonal(a, 1, 0, 2), [S(3, 2, 4)]),
    OpCase("diagonal_reversed_dims", lambda m, a: a.diagonal(1, -1, 0), [S(3, 2, 4)]),
    OpCase("diagonal_batched_last", lambda m, a: a.diagonal(0, -2, -1), [S(2, 3, 4)]),
    OpCase("diagonal_offset_past_end", lambda m, a: a.diagonal(7), [S(3, 4)]),
]


@cases_params(CASES)
def test_op(case):
    check_op(case)


# ---- views share memory (and the version counter) like PyTorch; copies do not ----------------------------
VIEWS_AND_COPIES = {
    "reshape": lambda x: x.reshape(6, 4),
    "view": lambda x: x.view(4, 6),
    "permute": lambda x: x.permute(2, 0, 1),
    "transpose": lambda x: x.transpose(0, 1),
    "unsqueeze": lambda x: x.unsqueeze(1),
    "squeeze": lambda x: x[:, :1].squeeze(1),
    "expand": lambda x: x[:1].expand(3, 3, 4),
    "flatten": lambda x: x.flatten(1),
    "unflatten": lambda x: x.unflatten(2, (2, 2)),
    "movedim": lambda x: lib_of(x).movedim(x, 0, -1),  # Tensor.movedim: not in nnzoo yet
    "narrow": lambda x: x.narrow(2, 1, 2),
    "split": lambda x: x.split(1, 1)[1],
    "chunk": lambda x: x.chunk(2, -1)[1],
    "unbind": lambda x: x.unbind(1)[2],
    "diagonal": lambda x: x.diagonal(1, 1, 2),
    "flip": lambda x: x.flip(0),
    "roll": lambda x: x.roll(1, 2),
    "repeat": lambda x: x.repeat(1, 2, 1),
    "cat": lambda x: lib_of(x).cat([x, x]),
    "stack": lambda x: lib_of(x).stack([x, x]),
    "tril": lambda x: x.tril(),
}


def lib_of(x):
    return torch if isinstance(x, torch.Tensor) else nnzoo


@pytest.mark.parametrize("name", sorted(VIEWS_AND_COPIES))
def test_view_semantics_match_torch(name):
    """Change the base under no_grad: the change shows in a view exactly when it does in PyTorch."""
    fn = VIEWS_AND_COPIES[name]
    base = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    results = []
    for lib in (nnzoo, torch):
        x = lib.tensor(base, requires_grad=True)
        with lib.no_grad():
            xb = x.detach() if lib is torch else x
            y = fn(x)
            before = y.detach().clone()
            xb.mul_(2.0)
            xb[0, 0, 0] = 100.0
        results.append((before.numpy(), y.detach().numpy().copy()))
    (nb, na), (tb, ta) = results
    np.testing.assert_allclose(nb, tb, rtol=1e-6)
    np.testing.assert_allclose(na, ta, rtol=1e-6)


@pytest.mark.parametrize("name", ["narrow", "split", "unbind", "diagonal", "permute", "view"])
def test_writes_through_a_view_reach_the_base(name):
    fn = VIEWS_AND_COPIES[name]
    base = np.random.default_rng(1).standard_normal((2, 3, 4)).astype(np.float32)
    out = []
    for lib in (nnzoo, torch):
        x = lib.tensor(base)
        y = fn(x)
        y.add_(10.0)
        out.append(x.numpy().copy())
    np.testing.assert_allclose(out[0], out[1])


def test_views_share_the_version_counter():
    x = nnzoo.randn(4, 6)
    views = [x.view(6, 4), x.t(), x.narrow(0, 1, 2), x.diagonal(), *x.split(2), *x.unbind(1)]
    x.add_(1.0)
    assert all(v._version == x._version == 1 for v in views)
    copies = [x.flip(0), x.roll(1), nnzoo.cat([x]), x.repeat(2, 1), nnzoo.pad(x, (1, 1))]
    x.add_(1.0)
    assert all(c._version == 0 for c in copies)


def test_saved_view_modified_in_place_is_detected():
    a = nnzoo.randn(3, 4, requires_grad=True)
    x = a * 1.0
    y = x.unbind(0)[1]
    z = (y * y).sum()
    with nnzoo.no_grad():
        x.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        z.backward()


# ---- gradient flow of the multi-output ops ---------------------------------------------------------------
def test_unbind_many_steps_and_stack_back():
    """An RNN-sized unbind: one node, unused steps get zero gradient, no recursion."""
    T = 10_000
    x = nnzoo.randn(T, 3, requires_grad=True)
    steps = x.unbind(0)
    assert len(steps) == T and steps[0].grad_fn is steps[-1].grad_fn
    h = nnzoo.stack([s * 2.0 for s in steps[::2]])  # (T/2, 3)
    start = time.perf_counter()
    h.sum().backward()
    elapsed = time.perf_counter() - start
    want = np.zeros((T, 3), dtype=np.float32)
    want[::2] = 2.0
    np.testing.assert_array_equal(x.grad.numpy(), want)
    assert elapsed < 10, f"backward through {T} unbind steps took {elapsed:.1f}s"


def test_split_unused_outputs_get_zero_gradient():
    x = nnzoo.randn(7, 2, requires_grad=True)
    xt = torch.tensor(x.detach().numpy(), requires_grad=True)
    for t in (x, xt):
        _, b, _, _ = t.split(2)
        (b * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())


def test_cat_gives_empty_gradient_to_skipped_empty_tensors():
    e = nnzoo.zeros(0, dtype=nnzoo.float64, requires_grad=True)
    a = nnzoo.randn(2, 3, requires_grad=True)
    y = nnzoo.cat([a, e])
    assert y.dtype == nnzoo.float64  # a skipped empty tensor still takes part in the dtype promotion
    y.sum().backward()
    assert e.grad.shape == (0,) and e.grad.dtype == nnzoo.float64
    assert a.grad.dtype == nnzoo.float32


@pytest.mark.parametrize("dtypes", [
    (np.int64, np.float32), (np.int32, np.int64), (np.bool_, np.uint8), (np.int8, np.uint8),
    (np.float16, np.int64), (np.float32, np.float64),
])
def test_cat_and_stack_dtype_promotion_matches_torch(dtypes):
    arrays = [np.ones((2, 3), dtype=d) for d in dtypes]
    for op in ("cat", "stack"):
        got = getattr(nnzoo, op)([nnzoo.from_numpy(a) for a in arrays])
        want = getattr(torch, op)([torch.from_numpy(a) for a in arrays])
        assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
        np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_chunk_and_split_piece_shapes_match_torch():
    for shape, call in [((0,), lambda m, x: m.chunk(x, 3)), ((0,), lambda m, x: m.split(x, 2)),
                        ((6,), lambda m, x: m.chunk(x, 4)), ((5,), lambda m, x: m.chunk(x, 4)),
                        ((5, 0), lambda m, x: m.split(x, 0, 1)), ((7,), lambda m, x: m.tensor_split(x, 3)),
                        ((2, 0), lambda m, x: m.unbind(x, 1))]:
        got = [tuple(p.shape) for p in call(nnzoo, nnzoo.zeros(*shape))]
        want = [tuple(p.shape) for p in call(torch, torch.zeros(*shape))]
        assert got == want, (shape, got, want)


def test_int_and_bool_tensors_pass_through_shape_ops():
    x = np.arange(24).reshape(2, 3, 4)
    ops = [lambda m, t: t.flip(1), lambda m, t: t.roll(1, 2), lambda m, t: t.repeat(2, 1, 1),
           lambda m, t: m.cat([t, t], 2), lambda m, t: m.stack([t, t]), lambda m, t: t.tril(),
           lambda m, t: t.diagonal(0, 1, 2), lambda m, t: m.movedim(t, 0, 2),
           lambda m, t: t.narrow(1, 1, 1), lambda m, t: m.pad(t, (1, 1), value=7)]
    for fn in ops:
        for arr in (x, x % 2 == 0):
            got = fn(nnzoo, nnzoo.from_numpy(arr))
            want = fn(torch, torch.from_numpy(arr)) if fn is not ops[-1] else \
                F.pad(torch.from_numpy(arr), (1, 1), value=7)
            assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
            np.testing.assert_array_equal(got.numpy(), want.numpy())


# ---- error messages: name the op and the shapes -------------------------------------------------------------
ERRORS = [
    (lambda: nnzoo.zeros(2, 3).t().view(6), RuntimeError, r"view: shape \(6,\) is not compatible.*\(3, 2\)"),
    (lambda: nnzoo.zeros(2, 3).view(4, -1), RuntimeError, r"view: shape \(4, -1\) is invalid .* \(2, 3\)"),
    (lambda: nnzoo.zeros(2, 3).reshape(-1, -1), RuntimeError, "reshape: only one dimension can be inferred"),
    (lambda: nnzoo.zeros(2, 3).reshape(5), RuntimeError, r"reshape: shape \(5,\) is invalid .* \(2, 3\)"),
    (lambda: nnzoo.zeros(2, 3).permute(0), RuntimeError, r"permute: number of dims 1 .* \(2, 3\)"),
    (lambda: nnzoo.zeros(2, 3).permute(0, 0), RuntimeError, "permute: repeated dim"),
    (lambda: nnzoo.zeros(2, 3).transpose(0, 2), IndexError, "transpose: dimension out of range"),
    (lambda: nnzoo.zeros(2, 3, 4).t(), RuntimeError, r"t: expects a tensor with <= 2 dimensions.*\(2, 3, 4\)"),
    (lambda: nnzoo.zeros(2, 3).unsqueeze(3), IndexError, "unsqueeze: dimension out of range"),
    (lambda: nnzoo.zeros(2, 1).squeeze(5), IndexError, "squeeze: dimension out of range"),
    (lambda: nnzoo.zeros(2, 3).expand(2, 4), RuntimeError, r"expand: .*size \(3\) at non-singleton dimension 1"),
    (lambda: nnzoo.zeros(2, 3).expand(3), RuntimeError, r"expand: the number of sizes provided \(1\)"),
    (lambda: nnzoo.zeros(2, 3).expand(-1, 2, 3), RuntimeError, "expand: -1 is not allowed"),
    (lambda: nnzoo.zeros(2, 3, 4).flatten(2, 1), RuntimeError, r"flatten: start_dim .* \(2, 3, 4\)"),
    (lambda: nnzoo.zeros(2, 12).unflatten(1, (5, -1)), RuntimeError,
     r"unflatten: provided sizes \(5, -1\) don't multiply up to the size of dim 1 \(12\)"),
    (lambda: nnzoo.zeros(2, 12).unflatten(1, ()), RuntimeError, "unflatten: sizes must be non-empty"),
    (lambda: nnzoo.movedim(nnzoo.zeros(2, 3, 4), (0, 1), (2,)), RuntimeError, "movedim: source"),
    (lambda: nnzoo.movedim(nnzoo.zeros(2, 3, 4), (0, 0), (2, 1)), RuntimeError, "movedim: repeated dim in source"),
    (lambda: nnzoo.zeros(2, 3).repeat(2), RuntimeError, r"repeat: number of repeat dims \(1\).*\(2, 3\)"),
    (lambda: nnzoo.zeros(2, 3).flip(0, 0), RuntimeError, r"flip: dims \(0, 0\)"),
    (lambda: nnzoo.zeros(2, 3).flip(2), IndexError, "flip: dimension out of range"),
    (lambda: nnzoo.roll(nnzoo.zeros(2, 3), (1, 2)), RuntimeError, "roll: shifts and dims must align"),
    (lambda: nnzoo.roll(nnzoo.zeros(2, 3), (1, 2), 0), RuntimeError, "roll: shifts and dims must align"),
    (lambda: nnzoo.cat([nnzoo.zeros(2, 3), nnzoo.zeros(4)]), RuntimeError,
     r"cat: tensors must have the same number of dims, got \(2, 3\) and \(4,\)"),
    (lambda: nnzoo.cat([nnzoo.zeros(2, 3), nnzoo.zeros(4, 4)], 1), RuntimeError,
     r"cat: sizes of tensors must match except in dim 1, got \(2, 3\) and \(4, 4\)"),
    (lambda: nnzoo.cat([nnzoo.zeros(()), nnzoo.zeros(2)]), RuntimeError,
     r"cat: zero-dimensional tensor \(at position 0\)"),
    (lambda: nnzoo.cat([]), ValueError, "cat.*non-empty"),
    (lambda: nnzoo.cat(nnzoo.zeros(2, 3)), TypeError, "cat.*list or tuple of Tensors"),
    (lambda: nnzoo.cat([nnzoo.zeros(2), 3]), TypeError, "cat.*element 1"),
    (lambda: nnzoo.cat([nnzoo.zeros(2, 3), nnzoo.zeros(2, 3)], 2), IndexError, "cat: dimension out of range"),
    (lambda: nnzoo.stack([nnzoo.zeros(2, 3), nnzoo.zeros(2, 4)]), RuntimeError,
     r"stack: expects each tensor to be equal size, but got \(2, 3\) at entry 0 and \(2, 4\) at entry 1"),
    (lambda: nnzoo.stack([]), ValueError, "stack.*non-empty"),
    (lambda: nnzoo.stack([nnzoo.zeros(2, 3)], 3), IndexError, "stack: dimension out of range"),
    (lambda: nnzoo.zeros(5).split([2, 2]), RuntimeError, r"split: split sizes \[2, 2\] must sum exactly to 5"),
    (lambda: nnzoo.zeros(5).split([2, -1, 4]), RuntimeError, "split: split sizes must be non-negative"),
    (lambda: nnzoo.zeros(5).split(0), RuntimeError, "split: split_size must be positive"),
    (lambda: nnzoo.zeros(()).split(1), RuntimeError, "split: expects at least a 1-dimensional tensor"),
    (lambda: nnzoo.zeros(5).chunk(0), RuntimeError, "chunk: expects `chunks` to be greater than 0"),
    (lambda: nnzoo.zeros(()).chunk(2), RuntimeError, "chunk: expects at least a 1-dimensional tensor"),
    (lambda: nnzoo.zeros(()).unbind(), IndexError, "unbind: dimension specified as 0"),
    (lambda: nnzoo.zeros(6).narrow(0, 5, 3), RuntimeError,
     r"narrow: start \(5\) \+ length \(3\) exceeds dimension size \(6\)"),
    (lambda: nnzoo.zeros(6).narrow(0, -7, 1), IndexError, "narrow: start out of range"),
    (lambda: nnzoo.zeros(6).narrow(0, 2, -1), RuntimeError, "narrow: length must be non-negative"),
    (lambda: nnzoo.zeros(()).narrow(0, 0, 1), RuntimeError, "narrow: cannot be applied to a 0-dim tensor"),
    (lambda: nnzoo.pad(nnzoo.zeros(2, 3), (1, 1, 1)), RuntimeError, "pad: padding length must be divisible by 2"),
    (lambda: nnzoo.pad(nnzoo.zeros(2, 3), (1,) * 6), RuntimeError, r"pad: padding length .* shape \(2, 3\)"),
    (lambda: nnzoo.pad(nnzoo.zeros(2, 3), (-2, -2)), RuntimeError, "pad: padding \\(-2, -2\\) of dim 1 crops"),
    (lambda: nnzoo.pad(nnzoo.zeros(2, 3), (1, 1), mode="foo"), NotImplementedError,
     "pad: unrecognised padding mode 'foo'"),
    (lambda: nnzoo.pad(nnzoo.zeros(3), (1, 1), mode="reflect"), NotImplementedError,
     r"pad: padding size 2 is not supported for a 1-d input \(shape \(3,\)\)"),
    (lambda: nnzoo.pad(nnzoo.zeros(2, 3), (1, 1, 1, 1), mode="replicate"), NotImplementedError,
     "pad: padding size 4 is not supported for a 2-d input"),
    (lambda: nnzoo.pad(nnzoo.zeros(2, 3), (3, 1), mode="reflect"), RuntimeError,
     r"pad: padding \(3, 1\) of dim 1 should be less than the dim's size 3"),
    (lambda: nnzoo.pad(nnzoo.zeros(2, 3), (4, 1), mode="circular"), RuntimeError,
     "pad: padding \\(4, 1\\) of dim 1 \\(size 3\\) wraps around more than once"),
    (lambda: nnzoo.pad(nnzoo.zeros(2, 3), (1, 1), mode="reflect", value=1.0), RuntimeError,
     "pad: padding mode 'reflect' doesn't take a value"),
    (lambda: nnzoo.pad(nnzoo.zeros(0, 3), (1, 1), mode="reflect"), RuntimeError,
     r"pad: mode 'reflect' needs non-empty dims .* \(0, 3\)"),
    (lambda: nnzoo.zeros(3).tril(), RuntimeError, r"tril: input tensor must have at least 2 dimensions.*\(3,\)"),
    (lambda: nnzoo.zeros(3).triu(), RuntimeError, "triu: input tensor must have at least 2 dimensions"),
    (lambda: nnzoo.zeros(2, 3, 4).diagonal(0, 1, 1), RuntimeError, "diagonal: dimensions cannot be identical"),
    (lambda: nnzoo.zeros(3).diagonal(), IndexError, "diagonal: dimension out of range"),
]


@pytest.mark.parametrize("call,exc,match", ERRORS, ids=[f"error{i}" for i in range(len(ERRORS))])
def test_error_messages(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_errors_raise_where_torch_raises():
    """Every failing call above has a PyTorch twin that fails too (spot checks of the semantics)."""
    for call in [lambda: torch.zeros(2, 3).t().view(6), lambda: torch.cat([torch.zeros(2, 3), torch.zeros(4)]),
                 lambda: torch.zeros(6).narrow(0, 5, 3), lambda: F.pad(torch.zeros(3), (1, 1), mode="reflect"),
                 lambda: F.pad(torch.zeros(2, 3), (3, 1), mode="reflect"),
                 lambda: torch.zeros(5).split([2, 2]), lambda: torch.zeros(3).tril()]:
        with pytest.raises((RuntimeError, NotImplementedError, IndexError)):
            call()


@pytest.mark.parametrize("shape,pad", [((0, 4, 3), (1, 1, 1, 1)), ((0, 4, 3), (3, 3, 3, -1)), ((2, 0, 3), (1, 1)),
                                       ((2, 0, 4, 3), (1, 1, 1, 1)), ((3, 0), (0, 0))])
def test_circular_pad_takes_empty_dims_as_torch(shape, pad):
    """Found by the fuzzer: PyTorch's circular mode (slices and cat) pads tensors with empty dims that are not
    padded; reflect and replicate refuse them in both libraries."""
    res = []
    for lib in (nnzoo, torch):
        x = lib.zeros(shape, requires_grad=True)
        y = lib.nn.functional.pad(x, pad, mode="circular")
        res.append((tuple(y.shape), tuple(lib.autograd.grad(y.sum(), x)[0].shape)))
    assert res[0] == res[1]


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 1e30, 2.5, -1.5])
@pytest.mark.parametrize("dtype", ["int64", "int32", "float32"])
def test_constant_pad_value_out_of_an_integer_range_raises_as_torch(value, dtype):
    """Found by the fuzzer: NaN, inf or an out-of-range value padding an integer tensor raises in PyTorch (NumPy's
    cast gave -2**63); finite values are truncated in both."""
    for pad in [(1, 1), (0, 0), (1, -1)]:  # (0, 0): nothing is filled, nothing is refused
        check_same_result_or_error(
            lambda lib, pad=pad: lib.nn.functional.pad(lib.ones(2, dtype=getattr(lib, dtype)), pad, value=value))


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_non_constant_pad_of_bool_tensors_as_torch(mode):
    """Found by the fuzzer: PyTorch's reflect and replicate kernels refuse bool tensors; circular pads them."""
    check_same_result_or_error(
        lambda lib: lib.nn.functional.pad(lib.tensor([[True, False, True]]), (1, 1), mode=mode),
        NotImplementedError)
