"""User-defined ops through nnzoo.autograd.Function, used exactly like torch.autograd.Function."""
import numpy as np
import pytest
import torch

import nnzoo


def _make_cube(lib):
    class Cube(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, scale):
            ctx.scale = scale
            ctx.save_for_backward(x)
            return x * x * x * scale

        @staticmethod
        def backward(ctx, grad):
            x, = ctx.saved_tensors
            return grad * 3 * x * x * ctx.scale, None
    return Cube


def test_custom_function_matches_torch():
    xv = np.array([0.5, -1.0, 2.0])
    res = []
    for lib in (nnzoo, torch):
        cube = _make_cube(lib)
        x = lib.tensor(xv, requires_grad=True)
        y = cube.apply(x, 2.0)
        y.sum().backward()
        res.append((y.detach().numpy(), x.grad.numpy()))
    np.testing.assert_allclose(res[0][0], res[1][0])
    np.testing.assert_allclose(res[0][1], res[1][1])


def test_custom_function_passes_gradcheck():
    cube = _make_cube(nnzoo)
    x = nnzoo.randn(4, dtype=nnzoo.float64, requires_grad=True)
    assert nnzoo.autograd.gradcheck(lambda t: cube.apply(t, 1.5), (x,))


def test_custom_function_forward_runs_without_grad_and_output_gets_node():
    seen = {}

    class Probe(nnzoo.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            seen["grad_enabled"] = nnzoo.is_grad_enabled()
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return grad * 2

    x = nnzoo.ones(3, requires_grad=True)
    y = Probe.apply(x)
    assert seen["grad_enabled"] is False
    assert y.requires_grad and y.grad_fn.name() == "ProbeBackward0"
    assert nnzoo.is_grad_enabled()


def test_custom_function_wrong_gradient_shape_is_reported():
    class Bad(nnzoo.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.sum()

        @staticmethod
        def backward(ctx, grad):
            return nnzoo.ones(7)

    x = nnzoo.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"BadBackward0: backward returned a gradient of shape \(7,\)"):
        Bad.apply(x).backward()


def test_custom_function_needs_input_grad_and_multiple_outputs():
    class SplitHalves(nnzoo.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            ctx.flags = ctx.needs_input_grad
            return x + y, x - y

        @staticmethod
        def backward(ctx, ga, gb):
            return ga + gb, ga - gb

    x = nnzoo.ones(2, requires_grad=True)
    y = nnzoo.ones(2)
    s, _d = SplitHalves.apply(x, y)
    assert list(s.grad_fn.flags) == [True, False]
    (s * 3).sum().backward()  # d unused: its gradient is materialised as zeros
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def test_mark_non_differentiable():
    class ArgmaxWithValue(nnzoo.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            idx = x.argmax()
            value = x.max()
            ctx.mark_non_differentiable(idx)
            ctx.save_for_backward(x, idx)
            return value, idx

        @staticmethod
        def backward(ctx, gv, gi):
            x, idx = ctx.saved_tensors
            g = nnzoo.zeros_like(x)
            g[idx.item()] = gv.item()
            return g

    x = nnzoo.tensor([1.0, 5.0, 2.0], requires_grad=True)
    v, i = ArgmaxWithValue.apply(x)
    assert not i.requires_grad and v.requires_grad
    v.backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 1.0, 0.0])
