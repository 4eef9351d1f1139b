"""The compiled normalisation kernels (nnzoo/kernels/norm.py) against the NumPy paths they stand in for.

Layer norm (and group / instance norm, which normalise through it): the kernels on raw rows and the ops forward
and backward under ``jit.mode("compiled")`` and ``jit.mode("numpy")``. Batch norm in training: the compiled
path is a fused op (:class:`nnzoo.ops.norm.BatchNorm`), the NumPy path the composition of mean / var /
arithmetic; outputs, gradients, second derivatives and the running estimates must agree (float64 to 1e-12 of
the scale, float32 to 1e-5). The torch parity of both paths is tests/ops/test_norm.py, tests/nn/test_layers.py
and tests/ops/test_dual_path.py (run with NNZOO_KERNELS=numpy and without).
"""
import numpy as np
import pytest

import nnzoo
import nnzoo.nn as nn
import nnzoo.nn.functional as F
from nnzoo.kernels import jit
from nnzoo.kernels import norm as K
from nnzoo.ops.norm import BatchNorm, LayerNorm

pytest.importorskip("numba")

DTYPES = pytest.mark.parametrize("dtype", [np.float32, np.float64])
TOL = {np.float32: 1e-5, np.float64: 1e-12}


def _both(fn):
    out = {}
    for mode in ("compiled", "numpy"):
        with jit.mode(mode):
            out[mode] = fn()
    return out["compiled"], out["numpy"]


def _close(got, want, dtype, what=""):
    for i, (a, b) in enumerate(zip(got, want)):
        assert (a is None) == (b is None), f"{what} {i}"
        if a is None:
            continue
        a, b = np.asarray(a), np.asarray(b)
        assert a.dtype == b.dtype and a.shape == b.shape, f"{what} {i}: {a.dtype}{a.shape} vs {b.dtype}{b.shape}"
        scale = max(float(np.abs(b).max(initial=0.0)), 1.0)
        np.testing.assert_allclose(a, b, rtol=TOL[dtype], atol=TOL[dtype] * scale, err_msg=f"{what} {i}")


def _randn(shape, dtype, seed=0, shift=0.0):
    return (np.random.default_rng(seed).standard_normal(shape) * 2 + shift).astype(dtype)


# ---- layer norm: the kernels on arrays ------------------------------------------------------------------------
@DTYPES
@pytest.mark.parametrize("shape,k", [((4, 3, 6), 1), ((2, 3, 4), 2), ((37, 128), 1), ((1, 5), 1), ((6, 1), 1)])
@pytest.mark.parametrize("affine", ["wb", "w", "b", ""])
def test_layer_norm_kernels_equal_numpy(shape, k, affine, dtype):
    norm = shape[len(shape) - k:]
    x = _randn(shape, dtype, shift=1.0)
    w = _randn(norm, dtype, 1) if "w" in affine else None
    b = _randn(norm, dtype, 2) if "b" in affine else None
    g = _randn(shape, dtype, 3)
    need = (True, w is not None, b is not None)

    def run():
        y, mu, rstd = K.layer_norm_forward(x, w, b, k, 1e-5)
        return [y, mu, rstd, *K.layer_norm_backward(x, w, g, mu, rstd, k, need)]
    got, want = _both(run)
    if x.shape[-1] == 1:  # xhat = 0: the NumPy form leaves rounding noise times rstd = 1 / sqrt(eps) in dx, dw
        assert not got[3].any() and (got[4] is None or not got[4].any())
        got[3:5] = want[3:5]
    _close(got, want, dtype)
    # the first-order backward alone for each input, from the other path's statistics
    with jit.mode("compiled"):
        only = [K.layer_norm_backward(x, w, g, want[1], want[2], k, tuple(i == j for j in range(3)))
                for i in range(3) if need[i]]
    for grads in only:
        assert sum(a is not None for a in grads) == 1


def test_layer_norm_non_contiguous_input():
    x = _randn((6, 8), np.float64).T  # (8, 6), strided
    w, b, g = _randn(6, np.float64, 1), _randn(6, np.float64, 2), _randn((8, 6), np.float64, 3)

    def run():
        y, mu, rstd = K.layer_norm_forward(x, w, b, 1, 1e-5)
        return [y, mu, rstd, *K.layer_norm_backward(x, w, g, mu, rstd, 1, (True, True, True))]
    _close(*_both(run), np.float64)


# ---- the ops that normalise through the LayerNorm op: layer_norm, group_norm, instance_norm -------------------
def _grads(fn, arrays, dtype, create_graph):
    """(outputs, first derivatives, and with create_graph the derivatives of sum(grad^2) w.r.t. the inputs)."""
    ts = [nnzoo.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    y = fn(*ts)
    u = nnzoo.tensor(np.random.default_rng(9).standard_normal(tuple(y.shape)).astype(dtype))
    grads = nnzoo.autograd.grad((y * u).sum(), ts, create_graph=create_graph)
    out = [y.detach().numpy()] + [g.detach().numpy() for g in grads]
    if create_graph:
        second = nnzoo.autograd.grad(sum((g * g).sum() for g in grads), ts, allow_unused=True)
        out += [None if s is None else s.numpy() for s in second]
    return out


NORM_OPS = [
    ("layer_norm", (3, 5, 16), lambda x, w, b: F.layer_norm(x, (16,), w, b), True),
    ("layer_norm_2d", (2, 3, 4, 5), lambda x, w, b: F.layer_norm(x, (4, 5), w, b), True),
    ("layer_norm_noaffine", (7, 9), lambda x: F.layer_norm(x, (9,)), False),
    ("group_norm", (2, 6, 3, 5), lambda x, w, b: F.group_norm(x, 3, w, b), True),
    ("instance_norm", (2, 3, 4, 5), lambda x: F.instance_norm(x), False),
]


@DTYPES
@pytest.mark.parametrize("create_graph", [False, True], ids=["backward", "double"])
@pytest.mark.parametrize("name,shape,fn,affine", NORM_OPS, ids=[o[0] for o in NORM_OPS])
def test_layer_norm_family_ops_compiled_equal_numpy(name, shape, fn, affine, create_graph, dtype):
    arrays = [_randn(shape, np.float64, shift=0.5)]
    if affine:
        p = shape[1] if name == "group_norm" else shape[-2:] if name == "layer_norm_2d" else shape[-1]
        arrays += [_randn(p, np.float64, 1), _randn(p, np.float64, 2)]
    _close(*_both(lambda: _grads(fn, arrays, dtype, create_graph)), dtype, name)


# ---- batch norm in training: the fused op against the composed one ---------------------------------------------
@DTYPES
@pytest.mark.parametrize("shape", [(64, 8, 4, 4), (5, 3), (1, 4, 7), (2, 3, 2, 3, 2)])
def test_batch_norm_kernels_equal_their_numpy_twins(shape, dtype):
    c = shape[1]
    x, g = _randn(shape, dtype, shift=3.0), _randn(shape, dtype, 1)
    w, b = _randn(c, dtype, 2), _randn(c, dtype, 3)
    for wb in ((w, b), (None, None), (w, None)):
        def run(wb=wb):
            y, mean, var = K.batch_norm_forward(x, *wb, 1e-5)
            rstd = 1.0 / np.sqrt(var + 1e-5)
            return [y, mean, var, *K.batch_norm_backward(x, wb[0], g, mean, rstd, (True, True, True))]
        _close(*_both(run), dtype)


BN_CASES = [((6, 3), "wb"), ((2, 3, 4, 2), "wb"), ((4, 5, 7), "w"), ((3, 2, 5, 5), ""), ((1, 3, 3, 3), "b")]


@DTYPES
@pytest.mark.parametrize("create_graph", [False, True], ids=["backward", "double"])
@pytest.mark.parametrize("shape,affine", BN_CASES, ids=[f"{s}-{a}" for s, a in BN_CASES])
def test_batch_norm_training_compiled_equal_composed(shape, affine, create_graph, dtype):
    c = shape[1]
    arrays = [_randn(shape, np.float64, shift=1.0)] + [_randn(c, np.float64, i + 1) for i in range(len(affine))]

    def fn(x, *p):
        w = p[0] if "w" in affine else None
        b = p[-1] if "b" in affine else None
        return F.batch_norm(x, None, None, w, b, training=True)
    _close(*_both(lambda: _grads(fn, arrays, dtype, create_graph)), dtype, "batch_norm")


@DTYPES
def test_batch_norm_running_statistics_and_node(dtype):
    """BatchNorm2d modules in training: the same outputs, gradients and running estimates (unbiased variance)
    in both modes, several steps; the compiled path records one node named as PyTorch's."""
    x = _randn((4, 3, 5, 5), dtype, shift=2.0)

    def run():
        nnzoo.manual_seed(0)
        m = nn.BatchNorm2d(3).to(dtype=nnzoo.float64 if dtype == np.float64 else nnzoo.float32)
        out = []
        for step in range(3):
            t = nnzoo.tensor(x * (step + 1), requires_grad=True)
            y = m(t)
            y.sum().backward() if step else (y * y).sum().backward()
            out += [y.detach().numpy(), t.grad.numpy(), m.running_mean.numpy().copy(), m.running_var.numpy().copy()]
        out += [m.weight.grad.numpy(), m.bias.grad.numpy(), np.array(m.num_batches_tracked.item())]
        return out, type(y.grad_fn), y.grad_fn.name()
    (got, node, name), (want, node_np, _) = _both(run)
    _close(got, want, dtype, "BatchNorm2d")
    assert node is BatchNorm and name == "NativeBatchNormBackward0"
    assert node_np is not BatchNorm


def test_batch_norm_fallbacks():
    """float16 and mixed dtypes compose (as the NumPy path); eval mode uses the running estimates."""
    x = _randn((4, 3, 2), np.float64)
    with jit.mode("compiled"):
        y16 = F.batch_norm(nnzoo.tensor(x.astype(np.float16), requires_grad=True), None, None, training=True)
        assert y16.dtype == nnzoo.float16 and not isinstance(y16.grad_fn, BatchNorm)
        ym = F.batch_norm(nnzoo.tensor(x.astype(np.float32), requires_grad=True), None, None,
                          nnzoo.ones(3, dtype=nnzoo.float64), training=True)
        assert not isinstance(ym.grad_fn, BatchNorm)
        ye = F.batch_norm(nnzoo.tensor(x, requires_grad=True), nnzoo.zeros(3, dtype=nnzoo.float64),
                          nnzoo.ones(3, dtype=nnzoo.float64), training=False)
        assert not isinstance(ye.grad_fn, BatchNorm)
        np.testing.assert_allclose(ye.detach().numpy(), x / np.sqrt(1 + 1e-5), rtol=1e-12)


def test_fused_ops_switch_paths_between_forward_and_backward():
    """A forward under one mode and its backward under the other (the kernels' NumPy twins take the compiled
    forward's statistics, and the other way round)."""
    x = _randn((4, 3, 6), np.float64, shift=1.0)
    w = _randn(3, np.float64, 1)
    results = []
    for fwd, bwd in (("compiled", "numpy"), ("numpy", "compiled"), ("compiled", "compiled")):
        ts = [nnzoo.tensor(x, requires_grad=True), nnzoo.tensor(w, requires_grad=True)]
        with jit.mode(fwd):
            y = F.batch_norm(ts[0], None, None, ts[1], training=True) + F.layer_norm(ts[0], (6,))
        with jit.mode(bwd):
            (y * y).sum().backward()
        results.append([y.detach().numpy()] + [t.grad.numpy() for t in ts])
    for other in results[:2]:
        _close(other, results[2], np.float64)


def test_layer_norm_group_norm_empty_batch():
    for fn in (lambda x: F.layer_norm(x, (4,)), lambda x: F.group_norm(x, 2)):
        got, want = _both(lambda fn=fn: _grads(fn, [np.zeros((0, 4, 4))], np.float32, False))
        _close(got, want, np.float32)


def test_layer_norm_node_is_the_fused_op_in_both_modes():
    for mode in ("compiled", "numpy"):
        with jit.mode(mode):
            y = F.layer_norm(nnzoo.randn(3, 4, requires_grad=True), (4,))
            assert isinstance(y.grad_fn, LayerNorm)
