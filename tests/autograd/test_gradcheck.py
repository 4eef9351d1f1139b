"""nnzoo.autograd.gradcheck: passes correct gradients, catches wrong ones."""
import numpy as np
import pytest

import nnzoo
from nnzoo.autograd.gradcheck import GradcheckError


def _wrong_square():
    class WrongSquare(nnzoo.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):
            x, = ctx.saved_tensors
            return grad * 2.01 * x  # 0.5% off
    return WrongSquare


def test_gradcheck_passes_for_builtin_ops():
    a = nnzoo.randn(3, 4, dtype=nnzoo.float64, requires_grad=True)
    b = nnzoo.randn(4, 2, dtype=nnzoo.float64, requires_grad=True)
    assert nnzoo.autograd.gradcheck(lambda x, y: (x @ y).tanh() * 2, (a, b))
    assert nnzoo.autograd.gradcheck(lambda x, y: (x @ y).exp(), (a, b), fast_mode=True)


def test_gradcheck_catches_a_wrong_gradient():
    op = _wrong_square()
    x = nnzoo.tensor([1.0, -2.0, 3.0], dtype=nnzoo.float64, requires_grad=True)
    with pytest.raises(GradcheckError, match="Jacobian mismatch"):
        nnzoo.autograd.gradcheck(op.apply, (x,))
    assert nnzoo.autograd.gradcheck(op.apply, (x,), raise_exception=False) is False
    with pytest.raises(GradcheckError):
        nnzoo.autograd.gradcheck(op.apply, (x,), fast_mode=True)


def test_gradcheck_leaves_inputs_unchanged():
    x = nnzoo.randn(5, dtype=nnzoo.float64, requires_grad=True)
    before = x.detach().numpy().copy()
    nnzoo.autograd.gradcheck(lambda t: t.exp(), (x,))
    np.testing.assert_array_equal(x.detach().numpy(), before)


def test_gradcheck_multiple_outputs_and_non_differentiable_inputs():
    x = nnzoo.randn(3, dtype=nnzoo.float64, requires_grad=True)
    c = nnzoo.randn(3, dtype=nnzoo.float64)
    assert nnzoo.autograd.gradcheck(lambda t, k: (t * k, t.exp()), (x, c))


def test_gradcheck_warns_on_float32():
    x = nnzoo.randn(3, requires_grad=True)
    with pytest.warns(UserWarning, match="not float64"):
        nnzoo.autograd.gradcheck(lambda t: t * 2, (x,), eps=1e-2, atol=1e-2, rtol=1e-2)


def test_gradcheck_needs_an_input_with_grad():
    with pytest.raises(ValueError, match="no input requires grad"):
        nnzoo.autograd.gradcheck(lambda t: t * 2, (nnzoo.ones(2),))


def test_gradgradcheck_second_derivatives():
    x = nnzoo.randn(4, dtype=nnzoo.float64, requires_grad=True)
    assert nnzoo.autograd.gradgradcheck(lambda t: (t.tanh() * t.exp()), (x,))
