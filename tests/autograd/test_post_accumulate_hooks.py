"""``Tensor.register_post_accumulate_grad_hook`` and ``Variable._execution_engine.queue_callback``: each scenario
runs the same code on torch and on nnzoo (``lib`` is the module) and compares what the hooks saw."""
import numpy as np
import pytest
import torch

import nnzoo


def _engine(lib):
    return lib.autograd.Variable._execution_engine


def _hooks_and_callbacks(lib):
    """A leaf with a tensor hook and two post hooks, a second leaf, and end-of-pass callbacks that queue more."""
    log = []
    w = lib.ones(3, requires_grad=True)
    b = lib.ones(3, requires_grad=True)
    w.register_hook(lambda g: log.append(("pre", g.tolist())))
    h1 = w.register_post_accumulate_grad_hook(
        lambda p: log.append(("post1", p.grad.tolist(), lib.is_grad_enabled())))
    w.register_post_accumulate_grad_hook(lambda p: log.append(("post2",)))
    b.register_post_accumulate_grad_hook(lambda p: log.append(("postb", p.grad.tolist())))

    def root_hook(g):
        eng = _engine(lib)
        eng.queue_callback(lambda: log.append(("cb1", lib.is_grad_enabled(), w.grad.tolist())))
        eng.queue_callback(lambda: (log.append("cb2"), eng.queue_callback(lambda: log.append("cb3"))))

    y = (w * 2 + w * 3 + b).sum()
    y.register_hook(root_hook)
    y.backward()
    log.append("-- grad")  # autograd.grad: callbacks run, post hooks do not (nothing is accumulated)
    y = (w * 2).sum()
    y.register_hook(root_hook)
    lib.autograd.grad(y, w)
    log.append("-- inputs")  # backward(inputs=...): only the named leaf accumulates and runs its hooks
    lib.autograd.backward((w * 2 * b).sum(), inputs=[w])
    log.append("-- removed")
    h1.remove()
    h1.remove()  # a second remove does nothing
    (w * 2).sum().backward()
    log.append("-- leaf root")
    v = lib.zeros(3, requires_grad=True)
    v.register_post_accumulate_grad_hook(lambda p: log.append(("v", p.grad.tolist())))
    v.backward(lib.ones(3))
    log.append("-- unused leaf")
    u = lib.ones(2, requires_grad=True)
    u.register_post_accumulate_grad_hook(lambda p: log.append("u"))
    (w * 2).sum().backward()
    return log


def test_post_accumulate_hooks_and_callbacks_match_torch():
    assert _hooks_and_callbacks(nnzoo) == _hooks_and_callbacks(torch)


def _sgd_in_backward(lib):
    """The hook's purpose: an optimizer step fused into backward (the hook changes the leaf in place)."""
    v = lib.zeros(3, requires_grad=True)
    v.register_post_accumulate_grad_hook(lambda p: p.add_(p.grad, alpha=-0.01))
    for _ in range(2):
        (v * lib.tensor([1.0, 2.0, 3.0]) + v * v).sum().backward()
    return v.detach().numpy().copy(), v.grad.numpy().copy()


def test_hook_may_update_the_leaf_in_place_like_torch():
    for a, b in zip(_sgd_in_backward(nnzoo), _sgd_in_backward(torch)):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def _mlp_order(lib):
    """Which parameters' hooks fire, how often, with which gradients (torch and nnzoo order the nodes alike
    here, but only the set and the gradients are a contract)."""
    lib.manual_seed(0)
    l1, l2 = lib.nn.Linear(2, 3), lib.nn.Linear(3, 1)
    seen = []
    params = list(l1.named_parameters(prefix="l1")) + list(l2.named_parameters(prefix="l2"))
    for name, p in params:
        p.register_post_accumulate_grad_hook(lambda p, name=name: seen.append((name, p.grad is not None)))
    x = lib.ones(4, 2)
    l2(lib.relu(l1(x))).sum().backward()
    return sorted(seen), len(seen)


def test_each_parameter_hook_fires_once_per_backward_like_torch():
    assert _mlp_order(nnzoo) == _mlp_order(torch)


@pytest.mark.parametrize("lib", [nnzoo, torch], ids=["nnzoo", "torch"])
def test_hook_results_other_than_none_or_the_leaf_raise(lib):
    w = lib.ones(2, requires_grad=True)
    w.register_post_accumulate_grad_hook(lambda p: p)  # the leaf itself passes (add_ returns it)
    (w * 1).sum().backward()
    h = w.register_post_accumulate_grad_hook(lambda p: lib.zeros(2))
    with pytest.raises(RuntimeError, match="post accumulate grad hooks should return None"):
        (w * 1).sum().backward()
    h.remove()
    w.register_post_accumulate_grad_hook(lambda p: 3)
    with pytest.raises(TypeError, match="expected Variable, but hook returned 'int'"):
        (w * 1).sum().backward()


@pytest.mark.parametrize("lib", [nnzoo, torch], ids=["nnzoo", "torch"])
def test_registration_errors(lib):
    w = lib.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="cannot be registered on non-leaf tensors"):
        (w * 2).register_post_accumulate_grad_hook(lambda p: None)
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        lib.ones(2).register_post_accumulate_grad_hook(lambda p: None)
    with pytest.raises(RuntimeError, match="Final callbacks can only be installed during backward pass"):
        _engine(lib).queue_callback(lambda: None)


@pytest.mark.parametrize("lib", [nnzoo, torch], ids=["nnzoo", "torch"])
def test_failing_pass_drops_its_callbacks_and_a_raising_callback_propagates(lib):
    log = []
    w = lib.ones(3, requires_grad=True)

    class Fail(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.clone()

        @staticmethod
        def backward(ctx, g):
            raise ValueError("backward fails")

    y = Fail.apply(w).sum()
    y.register_hook(lambda g: _engine(lib).queue_callback(lambda: log.append("ran")))
    with pytest.raises(ValueError, match="backward fails"):
        y.backward()
    y = (w * 2).sum()
    y.register_hook(lambda g: _engine(lib).queue_callback(lambda: (_ for _ in ()).throw(KeyError("cb"))))
    with pytest.raises(KeyError):
        y.backward()
    (w * 2).sum().backward()  # the engine is clean again
    assert log == []
    with pytest.raises(RuntimeError, match="only be installed during backward"):
        _engine(lib).queue_callback(lambda: None)


def _nested(lib):
    """A backward run from inside a hook: its callbacks run when the inner pass ends, the outer's at the end."""
    log = []
    w = lib.ones(3, requires_grad=True)

    def outer_hook(g):
        eng = _engine(lib)
        eng.queue_callback(lambda: log.append("outer-cb"))
        with lib.enable_grad():
            x = lib.ones(1, requires_grad=True)
            z = (x * 3).sum()
        z.register_hook(lambda g: eng.queue_callback(lambda: log.append("inner-cb")))
        z.backward()
        log.append("inner done")

    y = (w * 2).sum()
    y.register_hook(outer_hook)
    y.backward()
    log.append("outer done")
    return log


def test_nested_backward_callbacks_like_torch():
    assert _nested(nnzoo) == _nested(torch)


def test_tensor_hook_handle_removes_the_hook():
    for lib in (nnzoo, torch):
        w = lib.ones(2, requires_grad=True)
        h = w.register_hook(lambda g: g * 10)
        (w * 1).sum().backward()
        h.remove()
        (w * 1).sum().backward()
        assert w.grad.tolist() == [11.0, 11.0]
