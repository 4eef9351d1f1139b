"""In-place ops inside the graph behave as in PyTorch: recorded, history rebased, memory shared;
changing a tensor that a node saved makes that backward raise instead of giving wrong numbers."""
import numpy as np
import pytest
import torch

import nnzoo

CASES = {
    "add_": lambda m, x, w: (x * 2).add_(w),
    "iadd_residual": lambda m, x, w: _iadd(x * 3, w),
    "sub_alpha": lambda m, x, w: (x * 2).sub_(w, alpha=0.5),
    "mul_scalar": lambda m, x, w: (x * 2).mul_(3.0),
    "mul_tensor": lambda m, x, w: (x * 2).mul_(w),
    "div_tensor": lambda m, x, w: (x + 3).div_(w * w + 1),
    "pow_": lambda m, x, w: (x * 1.5).pow_(2),
    "relu_": lambda m, x, w: (x * w).relu_(),
    "sigmoid_": lambda m, x, w: (x * w).sigmoid_(),
    "tanh_": lambda m, x, w: (x + w).tanh_(),
    "exp_": lambda m, x, w: (x * 0.5).exp_() * w,
    "clamp_": lambda m, x, w: (x * w).clamp_(-0.5, 0.5),
    "masked_fill_": lambda m, x, w: (x * w).masked_fill_(x > 0, 0.25),
    "fill_": lambda m, x, w: (x * w).fill_(2.0) + x,
    "zero_": lambda m, x, w: (x * w).zero_() + w,
    "copy_from_graph": lambda m, x, w: (x * 2).copy_(w * 3),
    "into_constant": lambda m, x, w: _iadd(m.zeros(3, dtype=x.dtype), x * w),
    "twice": lambda m, x, w: (x * 2).mul_(w).add_(x),
}


def _iadd(a, b):
    a += b
    return a


@pytest.mark.parametrize("name", sorted(CASES))
def test_inplace_in_graph_matches_torch(name):
    fn = CASES[name]
    rng = np.random.default_rng(abs(hash(name)) % 2 ** 32)
    xv, wv, gv = rng.standard_normal(3), rng.standard_normal(3), rng.standard_normal(3)
    res = []
    for m in (nnzoo, torch):
        x = m.tensor(xv, requires_grad=True)
        w = m.tensor(wv, requires_grad=True)
        out = fn(m, x, w)
        (out * m.tensor(gv)).sum().backward()
        res.append([out.detach().numpy()] + [None if g is None else g.numpy() for g in (x.grad, w.grad)])
    for a, b in zip(res[0], res[1]):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_inplace_result_has_new_grad_fn_and_bumped_version():
    x = nnzoo.ones(3, requires_grad=True)
    y = x * 2
    v0 = y._version
    y.add_(1)
    assert y.grad_fn.name() == "AddBackward0" and y._version == v0 + 1


def test_inplace_on_a_saved_output_raises_like_torch():
    for m in (nnzoo, torch):
        x = m.tensor([0.5, 1.0], requires_grad=True)
        y = x.exp()  # exp saves its output
        y.add_(1)
        with pytest.raises(RuntimeError, match=r"modified by an inplace operation|modified by an in-place"):
            y.sum().backward()


def test_inplace_change_is_seen_by_views():
    x = nnzoo.ones(2, 3, requires_grad=True)
    y = x * 1
    row = y[0]
    y.add_(4)
    np.testing.assert_allclose(row.detach().numpy(), [5.0, 5.0, 5.0])


def test_leaf_requiring_grad_cannot_change_in_place():
    w = nnzoo.ones(3, requires_grad=True)
    for op in (lambda t: t.add_(1), lambda t: t.zero_(), lambda t: t.relu_(), lambda t: t.fill_(2.0)):
        with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
            op(w)
    with nnzoo.no_grad():
        w.zero_()
    assert w.is_leaf and w.requires_grad and not w.detach().numpy().any()


SETITEM_KEYS = {
    "int": lambda m: 1,
    "slice": lambda m: slice(1, 3),
    "tuple": lambda m: (slice(None), 0),
    "index_tensor": lambda m: m.tensor([0, 2]),
    "mask": lambda m: m.tensor([True, False, True, False]),
}


@pytest.mark.parametrize("key", sorted(SETITEM_KEYS))
@pytest.mark.parametrize("value_kind", ["number", "tensor"])
def test_setitem_in_graph_matches_torch(key, value_kind):
    rng = np.random.default_rng(3)
    xv, gv = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    res = []
    for m in (nnzoo, torch):
        x = m.tensor(xv, requires_grad=True)
        y = x * 2
        k = SETITEM_KEYS[key](m)
        sel_shape = tuple(y[k].shape)
        v = m.tensor(np.linspace(-1, 1, int(np.prod(sel_shape))).reshape(sel_shape), requires_grad=True) \
            if value_kind == "tensor" else 0.5
        y[k] = v
        (y * m.tensor(gv)).sum().backward()
        res.append([y.detach().numpy(), x.grad.numpy()] + ([v.grad.numpy()] if value_kind == "tensor" else []))
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_setitem_on_leaf_requiring_grad_raises():
    w = nnzoo.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        w[0] = 2.0


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "elu", "hardtanh", "relu6", "silu"])
def test_functional_inplace_flag_changes_the_input_like_torch(name):
    import torch.nn.functional as TF

    import nnzoo.nn.functional as F
    xv = np.array([-1.5, -0.2, 0.3, 2.0])
    res = []
    for m, fn in ((nnzoo, getattr(F, name)), (torch, getattr(TF, name))):
        x = m.tensor(xv, requires_grad=True)
        y = x * 1.5
        out = fn(y, inplace=True)
        assert out is y
        (y * y).sum().backward()
        res.append((y.detach().numpy(), x.grad.numpy()))
    np.testing.assert_allclose(res[0][0], res[1][0], rtol=1e-12)
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-12)
