"""nnzoo/ops/norm.py: the fused LayerNorm op (layer_norm, group_norm's statistics) against PyTorch through the
table-driven harness (forward, backward, finite differences, non-contiguous inputs, float32 and float64, double
backward), and against the composed form it replaces (first and second derivatives)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from helpers import OpCase, S, cases_params, check_op

import nnzoo
from nnzoo.ops import norm as NN
from nnzoo.ops.norm import LayerNorm, _layer_norm_composed


def _ln(shape, affine="wb", eps=1e-5):
    """layer_norm over ``shape`` in either library; ``affine`` says which of weight / bias are passed."""
    def fn(m, x, *p):
        w = p[0] if "w" in affine else None
        b = p[-1] if "b" in affine else None
        return (NN.layer_norm if m is nnzoo else TF.layer_norm)(x, shape, w, b, eps)
    return fn


CASES = [
    OpCase("ln_1d", _ln((6,)), [S(4, 3, 6), S(6), S(6)]),
    OpCase("ln_2d", _ln((3, 6)), [S(4, 3, 6), S(3, 6), S(3, 6)]),
    OpCase("ln_3d", _ln((2, 3, 4)), [S(2, 2, 3, 4), S(2, 3, 4), S(2, 3, 4)]),
    OpCase("ln_whole_input", _ln((5, 3)), [S(5, 3), S(5, 3), S(5, 3)]),
    OpCase("ln_vector", _ln((7,)), [S(7), S(7), S(7)], noncontig=False),
    OpCase("ln_noaffine", _ln((5,), "", eps=1e-3), [S(3, 4, 5)]),
    OpCase("ln_weight_only", _ln((5,), "w"), [S(6, 5), S(5)]),
    OpCase("ln_bias_only", _ln((2, 5), "b"), [S(3, 2, 5), S(2, 5)],
           no_double="torch's layer_norm double backward fails with a bias and no weight (an undefined weight "
                     "Tensor); test_fused_matches_composed_first_and_second_derivatives covers it"),
    # dx is 0 exactly; torch's float32 kernel leaves rounding noise times rstd = 1 / sqrt(eps) ~ 316
    OpCase("ln_one_element", _ln((1,)), [S(4, 1), S(1), S(1)], bwd_tol={np.float32: dict(atol=1e-4)}),
    OpCase("ln_frozen_input", _ln((5,)), [S(6, 5, grad=False), S(5), S(5)]),
    OpCase("ln_frozen_params", _ln((5,)), [S(6, 5), S(5, grad=False), S(5, grad=False)]),
    OpCase("ln_2d_noaffine", _ln((2, 3), ""), [S(2, 2, 3)]),
    OpCase("group_norm", lambda m, x, w, b: (NN.group_norm if m is nnzoo else TF.group_norm)(x, 2, w, b),
           [S(3, 6, 5), S(6), S(6)]),
    OpCase("group_norm_4d_noaffine", lambda m, x: (NN.group_norm if m is nnzoo else TF.group_norm)(x, 3, eps=1e-3),
           [S(2, 6, 3, 2)]),
    OpCase("group_norm_weight_only", lambda m, x, w: (NN.group_norm if m is nnzoo else TF.group_norm)(x, 2, w),
           [S(2, 4, 3), S(4)]),
]


@cases_params(CASES)
def test_op(case):
    check_op(case)


def _leaves(arrays, dtype=np.float64):
    return [nnzoo.tensor(a.astype(dtype), requires_grad=True) for a in arrays]


@pytest.mark.parametrize("shape,k,affine", [((4, 3, 6), 1, "wb"), ((2, 3, 4), 2, ""), ((3, 2, 2, 3), 3, "w"),
                                            ((5, 4), 1, "b")])
def test_fused_matches_composed_first_and_second_derivatives(shape, k, affine):
    """The fused op against the composed form it replaces (float64): outputs, gradients, and the
    gradients of a function of the gradients (double backward)."""
    rng = np.random.default_rng(k)
    norm = shape[len(shape) - k:]
    arrays = [rng.standard_normal(shape) * 2 + 1] + [rng.standard_normal(norm) for _ in affine]
    u = rng.standard_normal(shape)
    results = []
    for fused in (True, False):
        ts = _leaves(arrays)
        w = ts[1] if "w" in affine else None
        b = ts[-1] if "b" in affine else None
        y = NN.layer_norm(ts[0], norm, w, b) if fused else _layer_norm_composed(ts[0], k, w, b, 1e-5)
        assert isinstance(y.grad_fn, LayerNorm) == fused  # the fused path is the one taken, not a fallback
        grads = nnzoo.autograd.grad((y * nnzoo.tensor(u)).sum() + (y ** 3).sum(), ts, create_graph=True)
        second = nnzoo.autograd.grad(sum((g * g * g).sum() for g in grads), ts)
        results.append([y] + list(grads) + list(second))
    for got, want in zip(*results):
        np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("shape,shift", [((64, 512), 0.0), ((8, 4096), 0.0), ((32, 128), 30.0)])
def test_float32_numerics_match_torch(shape, shift):
    """float32 statistics are summed in float32, as PyTorch does on the CPU: results agree with torch's to
    float32 rounding, also for long rows and a mean (30) that dwarfs the spread (1). The float64 result
    says how far each library is from the exact values."""
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(shape) + shift).astype(np.float32)
    w = rng.standard_normal(shape[-1]).astype(np.float32)
    b = rng.standard_normal(shape[-1]).astype(np.float32)
    g = rng.standard_normal(shape).astype(np.float32)
    out = {}
    for lib, dtype in ((nnzoo, np.float32), (torch, np.float32), (nnzoo, np.float64)):
        ts = [lib.tensor(a.astype(dtype), requires_grad=True) for a in (x, w, b)]
        y = (NN.layer_norm if lib is nnzoo else TF.layer_norm)(ts[0], (shape[-1],), ts[1], ts[2])
        y.backward(lib.tensor(g.astype(dtype)))
        out[lib.__name__, dtype] = [np.asarray(t.detach().numpy(), np.float64) for t in [y] + [t.grad for t in ts]]
    exact = out["nnzoo", np.float64]
    for i, what in enumerate(["output", "dx", "dw", "db"]):
        scale = np.abs(exact[i]).max()
        err_nz = np.abs(out["nnzoo", np.float32][i] - exact[i]).max() / scale
        err_th = np.abs(out["torch", np.float32][i] - exact[i]).max() / scale
        # within 4x of torch's own float32 error (plus a few float32 ulps): the same numerics, not better luck
        assert err_nz <= 4 * err_th + 4e-7 * (1 + shift), f"{what}: nnzoo {err_nz:.2e}, torch {err_th:.2e}"


def test_group_norm_uses_the_fused_statistics():
    x = nnzoo.randn(2, 4, 3, requires_grad=True)
    y = NN.group_norm(x, 2)
    node, seen = y.grad_fn, []
    while node is not None and not isinstance(node, LayerNorm):  # reshape back, then the fused op
        seen.append(type(node).__name__)
        node = node.next_functions[0][0] if node.next_functions and node.next_functions[0] else None
    assert isinstance(node, LayerNorm), seen


def test_fallbacks_keep_working():
    """float16 and mixed dtypes take the composed path (which promotes, as the arithmetic ops do)."""
    x = np.random.default_rng(0).standard_normal((3, 4))
    y16 = NN.layer_norm(nnzoo.tensor(x.astype(np.float16)), (4,))
    assert y16.dtype == nnzoo.float16
    np.testing.assert_allclose(y16.numpy(), TF.layer_norm(torch.tensor(x), (4,)).numpy(), atol=5e-3)
    ym = NN.layer_norm(nnzoo.tensor(x.astype(np.float32)), (4,), nnzoo.ones(4, dtype=nnzoo.float64))
    np.testing.assert_allclose(ym.numpy(), TF.layer_norm(torch.tensor(x), (4,)).numpy(), atol=1e-5)


def test_saved_input_changed_in_place_raises():
    x = nnzoo.randn(3, 4, requires_grad=True)
    h = x * 1.0
    y = NN.layer_norm(h, (4,))
    with nnzoo.no_grad():
        h.add_(1.0)
    with pytest.raises(RuntimeError, match="in-place"):
        y.sum().backward()


def test_errors_name_the_op_and_shapes():
    with pytest.raises(RuntimeError, match=r"layer_norm.*\[4\].*\[2, 3\]"):
        NN.layer_norm(nnzoo.ones(2, 3), (4,))
    with pytest.raises(RuntimeError, match=r"layer_norm.*weight.*\[3\].*\[2\]"):
        NN.layer_norm(nnzoo.ones(2, 3), (3,), nnzoo.ones(2))
    with pytest.raises(RuntimeError, match=r"layer_norm.*\[5, 3\]"):
        NN.layer_norm(nnzoo.ones(3), (5, 3))
    with pytest.raises(TypeError, match="layer_norm"):
        NN.layer_norm(np.ones((2, 3)), (3,))


@pytest.mark.parametrize("shape,groups", [((0, 1), 1), ((0, 4, 3), 2), ((0, 6, 2, 2), 3)])
def test_group_norm_empty_batch(shape, groups):
    """Found by the fuzzer: an empty batch raised (a reshape of 0 elements with -1)."""
    grads = []
    for lib in (nnzoo, torch):
        x = lib.zeros(*shape, requires_grad=True)
        w = lib.ones(shape[1], requires_grad=True)
        y = lib.nn.functional.group_norm(x, groups, w, w)
        assert tuple(y.shape) == shape
        y.sum().backward()
        grads.append((x.grad.numpy(), w.grad.numpy()))
    for got, want in zip(*grads):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("shape,groups", [((1, 1), 1), ((1, 2), 2), ((1, 3, 1), 3), ((1, 2), 1), ((2, 1), 1)])
def test_group_norm_one_value_per_group_check_as_torch(shape, groups):
    """PyTorch's F.group_norm raises when (N C / G) * spatial size is 1 (its _verify_batch_size); nnzoo too."""
    outcome = []
    for lib in (nnzoo, torch):
        try:
            outcome.append(tuple(lib.nn.functional.group_norm(lib.ones(*shape), groups).shape))
        except ValueError:
            outcome.append(ValueError)
    assert outcome[0] == outcome[1]
