"""The compiled pooling kernels (nnzoo/kernels/pool.py) against the NumPy passes they stand in for.

Each case runs the same call under ``jit.mode("compiled")`` and ``jit.mode("numpy")``: the kernels on raw planes
(max pooling's values, winners as PyTorch's flat indices, the scatter and gather through them; 2x2 average
pooling and its spread), then the ops forward and backward, double backward included, through the public API.
Max pooling must agree exactly (it only selects: the same winner, NaN and -inf rules included); the 2x2 average
sums in the NumPy path's order. The torch parity of both paths is tests/ops/test_pool.py and tests/nn/test_pool.py
(run with NNZOO_KERNELS=numpy and without).
"""
import numpy as np
import pytest

import nnzoo
import nnzoo.nn.functional as F
from nnzoo.kernels import jit
from nnzoo.kernels import pool as KP

pytest.importorskip("numba")

DTYPES = pytest.mark.parametrize("dtype", [np.float32, np.float64])
TOL = {np.float32: 1e-5, np.float64: 1e-12}


def _axes(shape, k, s, p, d, ceil):
    """The Axis of each spatial size, with PyTorch's output size (the rule of nnzoo.ops.pool._pool_axes)."""
    axes = []
    for n in shape:
        o = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil else 0)) // s + 1
        if ceil and (o - 1) * s >= n + p:
            o -= 1
        axes.append(KP.Axis(k, s, d, p, n, o))
    return axes


def _planes(shape, dtype, seed=0, special=True):
    """Random planes with ties, a NaN, -inf rows and a plane of -inf only (the winner rules' corner cases)."""
    rng = np.random.default_rng(seed)
    x = np.round(rng.standard_normal(shape) * 2).astype(dtype)  # rounded: many ties
    if special and shape[0] >= 3 and shape[1] >= 3:
        x[0, 1, 1] = np.nan
        x[1, :2, :] = -np.inf
        x[2] = -np.inf
    return x


def _both(fn):
    """fn() under the compiled kernels and under the NumPy path."""
    out = {}
    for mode in ("compiled", "numpy"):
        with jit.mode(mode):
            out[mode] = fn()
    return out["compiled"], out["numpy"]


# (kernel, stride, padding, dilation, ceil_mode): the 2x2 fast path, then the general kernel's layouts
MAX = [(2, 2, 0, 1, False), (2, 1, 0, 1, False), (2, 2, 1, 1, True), (2, 3, 0, 2, False), (3, 2, 1, 1, False),
       (3, 2, 1, 1, True), (3, 1, 1, 2, False), (1, 1, 0, 1, False), (4, 3, 2, 1, True), (2, 3, 1, 2, True)]


@DTYPES
@pytest.mark.parametrize("k,s,p,d,ceil", MAX, ids=[f"{c}" for c in MAX])
@pytest.mark.parametrize("shape", [(4, 7, 9), (3, 8, 8), (1, 5, 1)], ids=["odd", "even", "column"])
@pytest.mark.parametrize("build", ["serial", "parallel"])
def test_max_pool_kernels_equal_the_numpy_passes(shape, k, s, p, d, ceil, dtype, build, monkeypatch):
    if shape[2] == 1 and (k - 1) * d + 1 > 1 + 2 * p:
        pytest.skip("window larger than the padded column")
    monkeypatch.setattr(KP, "_PARALLEL_MIN", 0 if build == "parallel" else 1 << 62)  # the build taken by size
    x = _planes(shape, dtype)
    ah, aw = _axes(shape[1:], k, s, p, d, ceil)
    g = np.random.default_rng(1).standard_normal((shape[0], ah.n_out, aw.n_out)).astype(dtype)
    v = np.random.default_rng(2).standard_normal(shape).astype(dtype)

    def run():
        out, sel = KP.max_pool(x, ah, aw, True)
        untracked, _ = KP.max_pool(x, ah, aw, False)
        return (out, untracked, KP.flat_indices(sel, ah, aw, shape[0]), KP.max_pool_scatter(g, sel, ah, aw),
                KP.max_pool_gather(v, sel, ah, aw))
    got, want = _both(run)
    np.testing.assert_array_equal(got[0], want[0])  # NaN where NumPy has NaN, -inf where it has -inf
    np.testing.assert_array_equal(got[1], want[0])
    np.testing.assert_array_equal(got[2], want[2])
    assert got[2].dtype == np.int64
    np.testing.assert_allclose(got[3], want[3], rtol=TOL[dtype], atol=0)  # overlapping windows: sums
    np.testing.assert_array_equal(got[4], want[4])
    assert got[0].dtype == got[3].dtype == got[4].dtype == np.dtype(dtype)


def test_max_pool_compiled_winners_mixed_with_the_numpy_backward():
    """Winners recorded by the compiled forward (flat positions) serve the NumPy scatter and gather too (a mode
    switched between forward and backward)."""
    x = _planes((3, 6, 7), np.float64, special=False)
    ah, aw = _axes((6, 7), 3, 2, 1, 1, False)
    with jit.mode("compiled"):
        out, sel = KP.max_pool(x, ah, aw, True)
    g = np.random.default_rng(3).standard_normal(out.shape)
    with jit.mode("numpy"):
        _, sel_np = KP.max_pool(x, ah, aw, True)
        np.testing.assert_array_equal(KP.max_pool_scatter(g, sel, ah, aw), KP.max_pool_scatter(g, sel_np, ah, aw))
        np.testing.assert_array_equal(KP.max_pool_gather(x, sel, ah, aw), out)


def test_max_pool_gather_of_minus_inf_is_not_nan():
    """The compiled gather picks the winner; the NumPy gather multiplies every tap by a 0/1 mask, so a -inf
    that did not win turns into NaN there (-inf * 0): the compiled path is right, and the op only gathers
    gradients (finite) in practice."""
    x = np.array([[[1.0, -np.inf], [0.0, 2.0]]])
    ah, aw = _axes((2, 2), 2, 2, 0, 1, False)
    with jit.mode("compiled"):
        _, sel = KP.max_pool(x, ah, aw, True)
        assert KP.max_pool_gather(x, sel, ah, aw).ravel().tolist() == [2.0]


@DTYPES
@pytest.mark.parametrize("k,s,p,ceil", [(2, 2, 0, False), (2, 1, 0, False), (2, 2, 0, True), (2, 2, 1, False),
                                        (3, 2, 1, False)])
def test_avg_pool_kernels_equal_the_numpy_passes(k, s, p, ceil, dtype):
    """2x2 windows inside the input take the kernels (bitwise the NumPy sums); others keep the NumPy passes."""
    x = _planes((3, 7, 6), dtype, special=False)
    ah, aw = _axes((7, 6), k, s, p, 1, ceil)
    div = KP.divisors(ah, True)[:, None] * KP.divisors(aw, True)[None, :]
    for scale in (dtype(1 / k ** 2), (1.0 / div).astype(dtype)):
        g = np.random.default_rng(4).standard_normal((3, ah.n_out, aw.n_out)).astype(dtype)
        got, want = _both(lambda g=g, sc=scale: (KP.avg_pool(x, ah, aw, sc), KP.avg_pool_spread(g, ah, aw, sc)))
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_allclose(got[1], want[1], rtol=TOL[dtype], atol=0)


# ---- the ops, forward and backward (double backward included), through the public API -----------------------
OPS = [
    ("max_pool2d", (2, 3, 8, 8), dict(kernel_size=2)),
    ("max_pool2d", (1, 2, 9, 7), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ("max_pool2d", (3, 5, 6), dict(kernel_size=2, stride=1, dilation=2)),  # unbatched
    ("max_pool1d", (2, 3, 11), dict(kernel_size=3, stride=2, padding=1)),
    ("avg_pool2d", (2, 3, 8, 6), dict(kernel_size=2)),
    ("avg_pool2d", (1, 2, 7, 7), dict(kernel_size=2, ceil_mode=True, count_include_pad=False)),
    ("avg_pool2d", (2, 2, 5, 6), dict(kernel_size=2, stride=1, divisor_override=3)),
    ("avg_pool1d", (2, 3, 10), dict(kernel_size=2)),
]


def _op_run(name, x_arr, kw, g_arr, transpose):
    x = nnzoo.tensor(x_arr, requires_grad=True)
    xin = x.transpose(-1, -2).contiguous().transpose(-1, -2) if transpose else x  # a non-contiguous input
    y = getattr(F, name)(xin, **kw)
    u = nnzoo.tensor(g_arr, requires_grad=True)
    (gx,) = nnzoo.autograd.grad((y * u).sum(), [x], create_graph=True)
    (gg,) = nnzoo.autograd.grad((gx * gx).sum(), [u])  # through the backward's backward (max: the gather)
    y2 = getattr(F, name)(nnzoo.tensor(x_arr, requires_grad=True), **kw)
    y2.backward(nnzoo.tensor(g_arr))
    return [y.detach().numpy(), gx.detach().numpy(), gg.numpy()]


@DTYPES
@pytest.mark.parametrize("transpose", [False, True], ids=["contiguous", "strided"])
@pytest.mark.parametrize("name,shape,kw", OPS, ids=[f"{o[0]}-{i}" for i, o in enumerate(OPS)])
def test_ops_forward_backward_double_backward_compiled_equal_numpy(name, shape, kw, transpose, dtype):
    rng = np.random.default_rng(5)
    x = (rng.permutation(int(np.prod(shape))).reshape(shape) / 8.0).astype(dtype)  # no ties
    with jit.mode("numpy"):
        out_shape = getattr(F, name)(nnzoo.tensor(x), **kw).shape
    g = rng.standard_normal(tuple(out_shape)).astype(dtype)
    got, want = _both(lambda: _op_run(name, x, kw, g, transpose))
    for a, b in zip(got, want):
        assert a.dtype == b.dtype == np.dtype(dtype)
        np.testing.assert_allclose(a, b, rtol=TOL[dtype], atol=TOL[dtype] * max(1.0, np.abs(b).max()))


@DTYPES
def test_max_pool2d_indices_and_unpool_compiled_equal_numpy(dtype):
    x = _planes((2, 3, 7, 8), dtype, special=False)  # ties: the first maximum wins in both paths

    def run():
        out, idx = F.max_pool2d(nnzoo.tensor(x, requires_grad=True), 3, 2, 1, return_indices=True)
        out2, idx2 = F.max_pool2d(nnzoo.tensor(x), 2, return_indices=True)  # no grad: the untracked branch
        return out.detach().numpy(), idx.numpy(), out2.numpy(), idx2.numpy(), F.max_unpool2d(out2, idx2, 2).numpy()
    got, want = _both(run)
    for a, b in zip(got, want):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


def test_empty_batch():
    for name in ("max_pool2d", "avg_pool2d"):
        got, want = _both(lambda name=name: _op_run(name, np.zeros((0, 3, 4, 4), np.float32), dict(kernel_size=2),
                                                    np.zeros((0, 3, 2, 2), np.float32), False))
        for a, b in zip(got, want):
            assert a.shape == b.shape


def test_nan_and_minus_inf_windows_through_the_op():
    """PyTorch's rules through the op: a NaN wins its window (the last NaN when several), ties go to the first
    maximum in row-major order; gradients follow the indices."""
    x = np.array([[[[1.0, np.nan, 3.0, 0.0], [np.nan, 2.0, -np.inf, -np.inf]],
                   [[5.0, 5.0, 0.0, 7.0], [5.0, 1.0, 7.0, 7.0]]]], dtype=np.float32)

    def run():
        t = nnzoo.tensor(x, requires_grad=True)
        out, idx = F.max_pool2d(t, 2, return_indices=True)
        out.backward(nnzoo.ones_like(out))
        return out.detach().numpy(), idx.numpy(), t.grad.numpy()
    got, want = _both(run)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)
    assert got[1].ravel().tolist() == [4, 2, 0, 3]
