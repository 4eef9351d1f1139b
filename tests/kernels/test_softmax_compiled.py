"""The compiled softmax / log_softmax / cross-entropy kernels (nnzoo/kernels/softmax.py) against their NumPy
references, on the kernels and through the ops forward and backward, in one process (``jit.mode``).

The torch parity of both paths is tests/ops/test_reduce.py and tests/ops/test_loss.py (run with
NNZOO_KERNELS=numpy and without)."""
import numpy as np
import pytest
from helpers import both_modes as _both

import nnzoo
import nnzoo.nn.functional as F
from nnzoo.kernels import jit
from nnzoo.kernels import softmax as K

pytest.importorskip("numba")

TOL = {np.float32: 1e-5, np.float64: 1e-12}
SHAPES = [(1, 1), (1, 7), (5, 65), (3, 2, 64), (2, 1000), (9,)]



def _close(got, want, dtype):
    """Equal to rounding relative to the scale of ``want``; nan and inf where the reference has them."""
    got, want = (got if isinstance(got, tuple) else (got,)), (want if isinstance(want, tuple) else (want,))
    for g, w in zip(got, want):
        assert g.shape == w.shape and g.dtype == w.dtype
        fin = np.isfinite(w)
        np.testing.assert_array_equal(g[~fin], w[~fin])
        if fin.any():
            scale = max(np.abs(w[fin]).max(), 1e-30)
            np.testing.assert_allclose(g[fin], w[fin], rtol=0, atol=TOL[dtype] * scale)


def _data(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) * 4).astype(dtype), rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_softmax_kernels_equal_numpy(shape, dtype):
    x, g = _data(shape, dtype)
    d = x.ndim - 1
    _close(*_both(K.softmax, x, d), dtype)
    _close(*_both(K.log_softmax, x, d), dtype)
    _close(*_both(K.softmax_backward, g, K.softmax(x, d), d), dtype)
    _close(*_both(K.log_softmax_backward, g, K.log_softmax(x, d), d), dtype)
    assert K._softmax_kernel._compiled is not None  # the compiled path ran


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_kernels_special_values_and_layouts(dtype):
    x = np.array([[1, 2, 3], [-np.inf] * 3, [np.nan, 1, 2], [np.inf, 1, 2], [-np.inf, 0, 1], [80, -80, 0]], dtype)
    with np.errstate(all="ignore"):
        _close(*_both(K.softmax, x, 1), dtype)
        _close(*_both(K.log_softmax, x, 1), dtype)
    big, _ = _data((6, 20), dtype)
    for view in (big[:, ::2], np.ascontiguousarray(big.T).T[:, :7], big.reshape(3, 2, 20).transpose(1, 0, 2)):
        assert not view.flags.c_contiguous
        _close(*_both(K.softmax, view, view.ndim - 1), dtype)
        gv = np.cos(view)  # a contiguous gradient of the view's shape
        _close(*_both(K.log_softmax_backward, gv, view, view.ndim - 1), dtype)
        _close(*_both(K.softmax_backward, view, gv, view.ndim - 1), dtype)
    empty = np.zeros((0, 4), dtype)
    _close(*_both(K.softmax, empty, 1), dtype)  # the NumPy path takes empty arrays


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n,c", [(1, 1), (128, 10), (7, 65), (3, 1000)])
def test_cross_entropy_kernels_equal_numpy(n, c, dtype):
    x, _ = _data((n, c), dtype)
    t = np.random.default_rng(1).integers(0, c, n)
    _close(*_both(K.cross_entropy_rows, x, t), dtype)
    _, lse = K.cross_entropy_rows(x, t)
    for coef in (np.asarray(0.25, dtype), np.linspace(-1, 1, n).astype(dtype)):
        _close(*_both(K.cross_entropy_backward, x, lse, t, coef), dtype)
    xs = np.ascontiguousarray(np.repeat(x, 2, axis=1))[:, ::2]  # a strided view
    _close(*_both(K.cross_entropy_rows, xs, t), dtype)


def _grads(fn, x, *args):
    """fn's output and the input gradient of sum(out * w), under both modes."""
    res = []
    for mode in ("compiled", "numpy"):
        with jit.mode(mode):
            t = nnzoo.tensor(x, requires_grad=True)
            out = fn(t, *args)
            w = nnzoo.tensor(np.cos(np.arange(out.numel())).reshape(tuple(out.shape)).astype(x.dtype))
            (out * w).sum().backward()
            res.append((out.detach().numpy(), t.grad.numpy()))
    return res


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 5), (4, 33), (2, 3, 16)], ids=str)
def test_softmax_ops_forward_backward_both_modes(shape, dtype):
    x, _ = _data(shape, dtype)
    for fn in (F.softmax, F.log_softmax):
        (yc, gc), (yn, gn) = _grads(lambda t, f=fn: f(t, dim=-1), x)
        _close(yc, yn, dtype)
        _close(gc, gn, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kw", [{}, {"reduction": "sum"}, {"reduction": "none"}, {"ignore_index": 2},
                                {"weight": True}, {"weight": True, "ignore_index": 1, "reduction": "none"}],
                         ids=str)
def test_cross_entropy_op_both_modes(kw, dtype):
    x, _ = _data((9, 5), dtype)
    t = nnzoo.tensor(np.array([0, 1, 2, 3, 4, 2, 1, 0, 2]))
    kw = dict(kw)
    if kw.pop("weight", False):
        kw["weight"] = nnzoo.tensor(np.linspace(0.5, 2, 5).astype(dtype))
    (yc, gc), (yn, gn) = _grads(lambda inp: F.cross_entropy(inp, t, **kw), x)
    loss = F.cross_entropy(nnzoo.tensor(x, requires_grad=True), t, **kw)
    assert repr(loss.grad_fn) == "<CrossEntropyIndicesBackward0>"  # still the fused op
    _close(yc, yn, dtype)
    _close(gc, gn, dtype)
