"""The backward engine: accumulation, graph freeing, retain_graph, long chains, hooks, errors."""
import numpy as np
import pytest
import torch

import nnzoo


def test_grad_accumulates_across_backward_calls_like_torch():
    xs = np.array([1.0, -2.0, 3.0], dtype=np.float32)
    xn = nnzoo.tensor(xs, requires_grad=True)
    xt = torch.tensor(xs, requires_grad=True)
    for _ in range(3):
        (xn * xn).sum().backward()
        (xt * xt).sum().backward()
    np.testing.assert_allclose(xn.grad.numpy(), xt.grad.numpy())


def test_second_backward_through_freed_graph_raises():
    x = nnzoo.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = nnzoo.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first, rtol=1e-6)


def test_backward_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        nnzoo.ones(3).sum().backward()


def test_non_scalar_backward_needs_gradient():
    x = nnzoo.ones(3, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="implicitly only for scalar outputs"):
        y.backward()
    g = nnzoo.tensor([1.0, 2.0, 3.0])
    y.backward(gradient=g)
    np.testing.assert_allclose(x.grad.numpy(), 2 * g.numpy())


def test_gradient_shape_mismatch_raises():
    x = nnzoo.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"gradient of shape \(2,\) given for an output of shape \(3,\)"):
        (x * 2).backward(nnzoo.ones(2))


def test_user_gradient_tensor_is_not_aliased_into_grad():
    x = nnzoo.ones(3, requires_grad=True)
    g = nnzoo.tensor([1.0, 2.0, 3.0])
    x.backward(g)
    x.grad.zero_()
    np.testing.assert_allclose(g.numpy(), [1.0, 2.0, 3.0])


def test_leaf_grads_do_not_alias_each_other():
    # add's backward hands the same gradient to both inputs; each .grad must own its memory
    a = nnzoo.zeros(3, requires_grad=True)
    b = nnzoo.zeros(3, requires_grad=True)
    (a + b).sum().backward()
    with nnzoo.no_grad():
        a.grad.mul_(5)
    np.testing.assert_allclose(b.grad.numpy(), np.ones(3))


def test_shared_subexpression_gets_summed_gradient():
    xv = np.array([0.5, -1.5], dtype=np.float64)
    xn = nnzoo.tensor(xv, requires_grad=True)
    xt = torch.tensor(xv, requires_grad=True)
    for x in (xn, xt):
        y = x.tanh()
        (y * y + y.exp() - 3 * y).sum().backward()
    np.testing.assert_allclose(xn.grad.numpy(), xt.grad.numpy(), rtol=1e-12)


def test_chain_of_100000_ops_backprops_without_recursion():
    x = nnzoo.tensor(1.0, requires_grad=True)
    y = x
    n = 100_000
    for _ in range(n):
        y = y + 1e-5 * y  # dy/dx = (1 + 1e-5)^n
    y.backward()
    np.testing.assert_allclose(x.grad.item(), (1 + 1e-5) ** n, rtol=1e-3)


def test_detach_and_no_grad_cut_the_graph():
    x = nnzoo.ones(2, requires_grad=True)
    d = (x * 3).detach()
    assert not d.requires_grad and d.grad_fn is None and d.is_leaf
    with nnzoo.no_grad():
        y = x * 2
    assert not y.requires_grad
    z = (x * d).sum()
    z.backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def test_is_leaf_and_grad_fn_names():
    x = nnzoo.ones(2, requires_grad=True)
    y = x * 2
    assert x.is_leaf and not y.is_leaf
    assert y.grad_fn.name() == "MulBackward0"
    assert "MulBackward0" in repr(y)
    assert x.grad_fn is None


def test_non_leaf_grad_is_none_unless_retained():
    x = nnzoo.ones(2, requires_grad=True)
    y = x * 2
    z = y * 3
    y.retain_grad()
    assert y.retains_grad
    z.sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), [3.0, 3.0])
    assert z.grad is None


def test_tensor_hooks_modify_gradients_like_torch():
    for m in (nnzoo, torch):
        x = m.ones(3, requires_grad=True)
        seen = []
        x.register_hook(lambda g, seen=seen: seen.append(g.clone()) or g * 10)
        y = x * 2
        y.register_hook(lambda g: g + 1)
        y.sum().backward()
        assert len(seen) == 1
        np.testing.assert_allclose(seen[0].numpy(), [4.0, 4.0, 4.0])
        np.testing.assert_allclose(x.grad.numpy(), [40.0, 40.0, 40.0])


def test_backward_with_inputs_accumulates_only_into_those():
    a = nnzoo.ones(2, requires_grad=True)
    b = nnzoo.ones(2, requires_grad=True)
    (a * b * 3).sum().backward(inputs=[a])
    np.testing.assert_allclose(a.grad.numpy(), [3.0, 3.0])
    assert b.grad is None


def test_grad_does_not_touch_dot_grad_and_reports_unused():
    a = nnzoo.ones(2, requires_grad=True)
    b = nnzoo.ones(2, requires_grad=True)
    y = (a * 4).sum()
    ga, = nnzoo.autograd.grad(y, a, retain_graph=True)
    np.testing.assert_allclose(ga.numpy(), [4.0, 4.0])
    assert a.grad is None
    with pytest.raises(RuntimeError, match="was not used"):
        nnzoo.autograd.grad(y, [a, b], retain_graph=True)
    ga, gb = nnzoo.autograd.grad(y, [a, b], allow_unused=True)
    assert gb is None


def test_grad_of_non_leaf_input():
    x = nnzoo.tensor([1.0, 2.0], requires_grad=True)
    h = x * x
    y = (h * 3).sum()
    gh, = nnzoo.autograd.grad(y, h)
    np.testing.assert_allclose(gh.numpy(), [3.0, 3.0])


@pytest.mark.parametrize("order", [2, 3])
def test_higher_order_gradients_match_torch(order):
    xv = np.array([0.3, -1.2, 2.0])
    outs = []
    for m in (nnzoo, torch):
        x = m.tensor(xv, requires_grad=True)
        y = (x.sin() * x ** 3 + x.exp() * x.tanh()).sum()
        g = y
        for _ in range(order):
            g, = m.autograd.grad(g.sum() if g.ndim else g, x, create_graph=True)
        outs.append(g.detach().numpy())
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-10)


def test_create_graph_backward_gives_differentiable_grad():
    # gradient penalty pattern: || d out / d x ||^2 differentiated w.r.t. the weights
    rng = np.random.default_rng(0)
    xv, wv = rng.standard_normal((4, 3)), rng.standard_normal((3, 2))
    res = []
    for m in (nnzoo, torch):
        x = m.tensor(xv, requires_grad=True)
        w = m.tensor(wv, requires_grad=True)
        out = (x @ w).tanh().sum()
        gx, = m.autograd.grad(out, x, create_graph=True)
        penalty = (gx * gx).sum()
        penalty.backward()
        res.append(w.grad.numpy())
    np.testing.assert_allclose(res[0], res[1], rtol=1e-10)


def test_inplace_change_of_saved_tensor_raises():
    x = nnzoo.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    z = (y * 2).sum() + y.sum()
    with nnzoo.no_grad():
        y.mul_(2)  # exp saved y for its backward
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        z.backward()


def test_inplace_on_leaf_requiring_grad_raises_outside_no_grad():
    w = nnzoo.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        w += 1
    with nnzoo.no_grad():
        w -= 0.5
    np.testing.assert_allclose(w.numpy(force=True), [0.5] * 3)
    assert w.requires_grad and w.is_leaf


def test_inplace_version_counter_and_zero_fill():
    w = nnzoo.ones(3, requires_grad=True)
    v0 = w._version
    w.grad = nnzoo.ones(3)
    w.grad.zero_()
    with nnzoo.no_grad():
        w.fill_(2.0)
    assert w._version == v0 + 1
    np.testing.assert_allclose(w.detach().numpy(), [2.0] * 3)
    np.testing.assert_allclose(w.grad.numpy(), [0.0] * 3)


def test_inplace_cast_error_is_clear():
    t = nnzoo.tensor([1, 2, 3])
    with pytest.raises(RuntimeError, match="can't be cast"):
        t += 0.5


def test_sgd_step_under_no_grad_keeps_leaf():
    rng = np.random.default_rng(1)
    wv = rng.standard_normal(5).astype(np.float32)
    res = []
    for m in (nnzoo, torch):
        w = m.tensor(wv, requires_grad=True)
        for _ in range(3):
            loss = ((w * w).sum() - 1) ** 2
            loss.backward()
            with m.no_grad():
                w -= 0.1 * w.grad
            w.grad = None
        res.append(w.detach().numpy())
    np.testing.assert_allclose(res[0], res[1], rtol=1e-5)
