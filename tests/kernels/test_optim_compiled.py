"""The compiled optimizer updates (nnzoo/kernels/optim.py) against the NumPy loop they replace.

Two copies of the same parameters take the same steps from the same gradients, one under
``jit.mode("compiled")`` and one under ``jit.mode("numpy")``; parameters and every state buffer must be
bitwise equal after each step (the kernels do the NumPy path's float operations in its order). The torch
parity of the NumPy path is tests/optim/test_optim.py (run it with NNZOO_KERNELS=numpy and without).
"""
import numpy as np
import pytest

import nnzoo
from nnzoo import optim
from nnzoo.autograd.arrays import array
from nnzoo.kernels import jit
from nnzoo.kernels import optim as kopt

pytest.importorskip("numba")

CASES = [
    ("SGD", dict(lr=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1, maximize=True)),
    ("Adam", dict(lr=0.05)),
    ("Adam", dict(lr=0.05, amsgrad=True, weight_decay=0.2)),
    ("Adam", dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6, maximize=True)),
    ("Adam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)),
    ("AdamW", dict(lr=0.05, amsgrad=True, weight_decay=0.5, maximize=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, centered=True, maximize=True)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5, alpha=0.9)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.1, weight_decay=0.1, initial_accumulator_value=0.5, maximize=True)),
]
SHAPES = [(7, 5), (1,), (), (0, 3), (3, 1, 4)]


def _run(mode, name, kw, dtype, grads, transpose_grad):
    params = [nnzoo.tensor(np.linspace(-1, 1, max(1, int(np.prod(s)))).reshape(-1)[:int(np.prod(s))]
                           .reshape(s).astype(dtype), requires_grad=True) for s in SHAPES]
    opt = getattr(optim, name)(params, **kw)
    history = []
    with jit.mode(mode):
        for step_grads in grads:
            for p, g in zip(params, step_grads):
                g = g.astype(dtype)
                if transpose_grad and g.ndim == 2:  # a non-contiguous gradient view
                    g = np.ascontiguousarray(g.T).T
                p.grad = nnzoo.tensor(g)
            opt.step()
            history.append([array(p).copy() for p in params])
    buffers = [{k: array(v).copy() for k, v in opt.state[p].items()} for p in params]
    return history, buffers


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,kw", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_optimizer_step_compiled_equals_numpy(name, kw, dtype, monkeypatch):
    rng = np.random.default_rng(0)
    grads = [[rng.standard_normal(s) for s in SHAPES] for _ in range(4)]
    monkeypatch.setattr(kopt, "_SGD_MIN", 0)  # small shapes, so that SGD's kernel runs too
    monkeypatch.setattr(kopt, "_SGD_PLAIN_MIN", 0)
    ran = []

    def counting(f):
        def counted(*args, **kwargs):
            ran.append(f(*args, **kwargs))
            return ran[-1]
        return counted
    for fn in ("sgd_step", "adam_step", "rmsprop_step", "adagrad_step"):
        monkeypatch.setattr(kopt, fn, counting(getattr(kopt, fn)))
    got_h, got_b = _run("compiled", name, kw, dtype, grads, transpose_grad=True)
    assert ran and all(ran), "the compiled step did not run"
    want_h, want_b = _run("numpy", name, kw, dtype, grads, transpose_grad=False)
    for got_step, want_step in zip(got_h, want_h):
        for g, w in zip(got_step, want_step):
            assert g.dtype == w.dtype and g.shape == w.shape
            np.testing.assert_array_equal(g, w)
    for g, w in zip(got_b, want_b):
        assert g.keys() == w.keys()
        for k in g:
            np.testing.assert_array_equal(g[k], w[k], err_msg=k)


def test_kernels_step_aside_when_they_do_not_apply():
    """NumPy mode, a non-contiguous parameter or a buffer of another dtype: False, nothing written."""
    x = np.ones((3, 4), np.float32)
    g = np.ones((3, 4), np.float32)
    m, v = np.zeros_like(x), np.zeros_like(x)
    kw = dict(lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0, decoupled=False, maximize=False, step=1.0)
    with jit.mode("numpy"):
        assert not kopt.adam_step(x, g, m, v, None, **kw)
    with jit.mode("compiled"):
        assert not kopt.adam_step(x.T, g.T, m.T, v.T, None, **kw)
        assert not kopt.adam_step(x, g, m.astype(np.float64), v, None, **kw)
        assert not kopt.adam_step(x, g.astype(np.float64), m, v, None, **kw)
        assert not kopt.sgd_step(x, g, np.zeros(12, np.float32), lr=0.1, weight_decay=0, momentum=0.9,
                                 dampening=0, nesterov=False, maximize=False, first=False)
        assert not kopt.sgd_step(x, g, np.zeros_like(x), lr=0.1, weight_decay=0, momentum=0.9,
                                 dampening=0, nesterov=False, maximize=False, first=False)  # below _SGD_MIN
        ro = x.copy()
        ro.flags.writeable = False
        assert not kopt.adam_step(ro, g, m, v, None, **kw)
    np.testing.assert_array_equal(x, 1)
    np.testing.assert_array_equal(m, 0)
    with jit.mode("compiled"):
        assert kopt.adam_step(x, g, m, v, None, **kw)
    assert not (x == 1).any()


def test_subclass_with_its_own_update_keeps_it():
    """A user's subclass that overrides _update is not bypassed by the parent's compiled step."""
    class SignAdam(optim.Adam):
        def _update(self, param, grad, state, group):
            return group["lr"] * np.sign(grad)

    w = nnzoo.tensor(np.array([1.0, -2.0], np.float32), requires_grad=True)
    opt = SignAdam([w], lr=0.5)
    w.grad = nnzoo.tensor(np.array([3.0, -0.1], np.float32))
    with jit.mode("compiled"):
        opt.step()
    np.testing.assert_array_equal(array(w), [0.5, -1.5])


def test_clip_grad_norm_fast_paths_match_torch():
    """clip_grad_norm_'s NumPy fast paths (no write when nothing is clipped; max(max, -min) for the inf
    norm) against torch on float32, nan included."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    grads = [rng.standard_normal(s).astype(np.float32) for s in [(5, 7), (7,), (0,), (3, 1, 2)]]
    grads[0][1, 2] = -0.0
    for norm_type, max_norm in [(2.0, 1e6), (2.0, 0.1), (float("inf"), 1e6), (float("inf"), 0.1)]:
        gs = grads if norm_type == 2.0 else [g for g in grads if g.size]  # torch: no inf norm of an empty grad
        ours = [nnzoo.zeros(*g.shape, requires_grad=True) for g in gs]
        theirs = [torch.zeros(*g.shape, requires_grad=True) for g in gs]
        for a, b, g in zip(ours, theirs, gs):
            a.grad, b.grad = nnzoo.tensor(g.copy()), torch.tensor(g.copy())
        n1 = nnzoo.nn.utils.clip_grad_norm_(ours, max_norm, norm_type)
        n2 = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
        np.testing.assert_allclose(n1.item(), n2.item(), rtol=1e-6)
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-6)
            np.testing.assert_array_equal(np.signbit(a.grad.numpy()), np.signbit(b.grad.numpy()))
    bad = nnzoo.zeros(3, requires_grad=True)
    bad.grad = nnzoo.tensor(np.array([1.0, np.nan, -2.0], np.float32))
    assert np.isnan(nnzoo.nn.utils.clip_grad_norm_([bad], 1.0, float("inf")).item())
