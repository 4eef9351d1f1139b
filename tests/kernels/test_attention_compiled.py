"""The compiled attention kernels (nnzoo/kernels/attention.py: the probabilities, the scores' gradient) against
their NumPy references, on the kernels and through scaled_dot_product_attention and MultiheadAttention forward
and backward, in one process (``jit.mode``).

The torch parity of both paths is tests/ops/test_attention.py, tests/nn/test_attention.py and
tests/nn/test_transformer.py (run with NNZOO_KERNELS=numpy and without)."""
import numpy as np
import pytest
from helpers import both_modes as _both

import nnzoo
import nnzoo.nn.functional as F
from nnzoo.kernels import attention as K
from nnzoo.kernels import jit

pytest.importorskip("numba")

TOL = {np.float32: 1e-5, np.float64: 1e-12}



def _close(got, want, dtype):
    got, want = (got if isinstance(got, tuple) else (got,)), (want if isinstance(want, tuple) else (want,))
    for g, w in zip(got, want):
        if w is None:
            assert g is None
            continue
        assert g.shape == w.shape and g.dtype == w.dtype
        fin = np.isfinite(w)
        np.testing.assert_array_equal(g[~fin], w[~fin])
        if fin.any():
            np.testing.assert_allclose(g[fin], w[fin], rtol=0, atol=TOL[dtype] * max(np.abs(w[fin]).max(), 1e-30))


def _qkv(dtype, b=(2, 3), lq=5, s=7, e=4, ev=6, seed=0):
    rng = np.random.default_rng(seed)
    return tuple(rng.standard_normal(b + shape).astype(dtype) for shape in ((lq, e), (s, e), (s, ev)))


def _masks(dtype, lq=5, s=7):
    rng = np.random.default_rng(2)
    boolean = rng.random((lq, s)) > 0.3
    boolean[1] = False  # a fully masked row
    additive = np.where(rng.random((3, lq, s)) > 0.3, 0.0, -np.inf).astype(dtype)
    additive[0, 2] = -np.inf
    return [None, boolean, additive, rng.standard_normal((lq, s)).astype(dtype)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_probabilities_equal_numpy(dtype):
    q, k, _ = _qkv(dtype)
    for mask in _masks(dtype):
        for safe in (True, False):
            with np.errstate(all="ignore"):
                _close(*_both(K.probabilities, q, k, mask, 0.37, safe), dtype)
    qt = np.ascontiguousarray(np.swapaxes(q, 0, 1)).swapaxes(0, 1)  # non-contiguous batch dims
    _close(*_both(K.probabilities, qt, k, None, 1.0, True), dtype)
    _close(*_both(K.probabilities, q[:1, :1, :1], k[:1, :1], None, 0.5, True), dtype)  # batch 1, one query
    assert K._probabilities_kernel._compiled is not None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sdpa_backward_equals_numpy(dtype):
    q, k, v = _qkv(dtype)
    rng = np.random.default_rng(4)
    g = rng.standard_normal((2, 3, 5, 6)).astype(dtype)
    keep = ((rng.random((2, 3, 5, 7)) > 0.25) / 0.75).astype(dtype)
    shapes = (q.shape, k.shape, v.shape, (5, 7))
    for mask in (None, _masks(dtype)[3]):
        p = K.probabilities(q, k, mask, 0.5, True)
        for kp in (None, keep):
            for gw in (None, rng.standard_normal(p.shape).astype(dtype)):
                for need in ((True, True, True, False), (True, False, False, mask is not None),
                             (False, True, True, True)):
                    if need[3] and mask is None:
                        continue
                    _close(*_both(K.sdpa_backward, q, k, v, p, kp, g, gw, 0.5, shapes, need), dtype)
    assert K._score_grad_kernel._compiled is not None


def _sdpa_grads(dtype, **kw):
    res = []
    for mode in ("compiled", "numpy"):
        with jit.mode(mode):
            ts = [nnzoo.tensor(a, requires_grad=True) for a in _qkv(dtype)]
            nnzoo.manual_seed(5)
            out = F.scaled_dot_product_attention(*ts, **kw)
            out.backward(nnzoo.tensor(np.cos(np.arange(out.numel())).reshape(tuple(out.shape)).astype(dtype)))
            res.append([out.detach().numpy()] + [t.grad.numpy() for t in ts])
    return res


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kw", [{}, {"is_causal": True}, {"dropout_p": 0.3}, {"scale": 0.2, "dropout_p": 0.5}],
                         ids=str)
def test_sdpa_op_both_modes(kw, dtype):
    got, want = _sdpa_grads(dtype, **kw)
    for g, w in zip(got, want):
        _close(g, w, dtype)


@pytest.mark.parametrize("need_weights", [True, False])
def test_multihead_attention_both_modes(need_weights):
    res = []
    for mode in ("compiled", "numpy"):
        with jit.mode(mode):
            nnzoo.manual_seed(0)
            mha = nnzoo.nn.MultiheadAttention(8, 2, batch_first=True)
            x = nnzoo.tensor(np.random.default_rng(1).standard_normal((3, 5, 8)).astype(np.float32),
                             requires_grad=True)
            pad = nnzoo.tensor(np.array([[False] * 5, [False] * 3 + [True] * 2, [False] * 4 + [True]]))
            out, w = mha(x, x, x, key_padding_mask=pad, need_weights=need_weights)
            (out.sum() + (w.sum() if w is not None else 0)).backward()
            res.append([out.detach().numpy(), x.grad.numpy(), mha.in_proj_weight.grad.numpy()])
    for g, w in zip(*res):
        _close(g, w, np.float32)
