"""The compiled elementwise kernels of nnzoo/kernels/special.py (the exp they rest on, relu's, tanh's and the
sigmoid's backward, gelu forward and backward, the sigmoid) against their NumPy references, on
the kernels and through the ops forward and backward, in one process (``jit.mode``).

The torch parity of both paths is tests/ops/test_unary.py and tests/nn/ (run with NNZOO_KERNELS=numpy and
without)."""
import numpy as np
import pytest
from helpers import both_modes as _both

import nnzoo
import nnzoo.nn.functional as F
from nnzoo.kernels import jit
from nnzoo.kernels import special as K

pytest.importorskip("numba")

TOL = {np.float32: 1e-5, np.float64: 1e-12}
SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-30, -1e-30, 40.0, -40.0, 88.5, -88.5, -103.5, 700.0, -744.0]



def _close(got, want, dtype, rel=False):
    """Equal to rounding (relative to the scale of ``want``, or elementwise with ``rel``); non-finite values
    where the reference has them."""
    got, want = (got if isinstance(got, tuple) else (got,)), (want if isinstance(want, tuple) else (want,))
    for g, w in zip(got, want):
        assert g.shape == w.shape and g.dtype == w.dtype
        fin = np.isfinite(w)
        np.testing.assert_array_equal(g[~fin], w[~fin])
        if fin.any():
            if rel:
                np.testing.assert_allclose(g[fin], w[fin], rtol=TOL[dtype], atol=0)
            else:
                np.testing.assert_allclose(g[fin], w[fin], rtol=0, atol=TOL[dtype] * np.abs(w[fin]).max())


def _inputs(dtype):
    rng = np.random.default_rng(0)
    dense = (rng.standard_normal((37, 67)) * 4).astype(dtype)  # above _MIN_SIZE; the views below it
    return [dense, dense[:, ::3], dense.T, dense[0, :1].reshape(()), np.zeros((0, 3), dtype),
            np.array(SPECIAL, dtype)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_exp_matches_numpy_to_an_ulp(dtype):
    x = np.concatenate([np.linspace(-110 if dtype == np.float32 else -750, 90 if dtype == np.float32 else 711,
                                    200_001), np.array(SPECIAL)]).astype(dtype)
    out = np.empty_like(x)
    exp = K._exp32 if dtype == np.float32 else K._exp64

    @jit.kernel()
    def _map(x, out):
        for i in range(x.size):
            out[i] = exp(x[i])
    _map.options = dict(_map.options, cache=False)
    _map(x, out)
    with np.errstate(over="ignore"):
        want = np.exp(x)
    normal = np.abs(want) >= np.finfo(dtype).tiny
    np.testing.assert_array_equal(out[~np.isfinite(want)], want[~np.isfinite(want)])
    np.testing.assert_allclose(out[normal], want[normal], rtol=3 * np.finfo(dtype).eps, atol=0)
    sub = ~normal & np.isfinite(want)  # subnormal results: within one unit of the smallest subnormal
    assert np.all(np.abs(out[sub] - want[sub]) <= 2 * np.finfo(dtype).smallest_subnormal)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_elementwise_kernels_equal_numpy(dtype):
    for x in _inputs(dtype):
        g = np.cos(np.arange(x.size)).reshape(x.shape).astype(dtype)
        with np.errstate(all="ignore"):
            _close(*_both(K.sigmoid, x), dtype, rel=True)
            _close(*_both(K.gelu_forward, x), dtype)
            cdf = K.normal_cdf(x)
            xc, cc = np.ascontiguousarray(x), np.ascontiguousarray(cdf)
            _close(*_both(K.gelu_backward, xc, cc, g), dtype)
            y = np.maximum(np.ascontiguousarray(x), 0)
            _close(*_both(K.relu_backward, y, g), dtype)
            _close(*_both(K.tanh_backward, np.tanh(xc), g), dtype)
            _close(*_both(K.sigmoid_backward, K.sigmoid(xc), g), dtype)
    assert K._gelu_kernel._compiled is not None and K._relu_backward_kernel._compiled is not None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_cdf_against_erfc_in_float64(dtype):
    """Phi(x) from the compiled Cody erfc against math.erfc (float64), relative, over every range."""
    import math
    x = np.concatenate([np.linspace(-38, 9, 4001), [-0.6, -0.66, 0.66, -5.65, 5.65]]).astype(dtype)
    with jit.mode("compiled"):
        _, cdf = K.gelu_forward(x)
    want = np.array([0.5 * math.erfc(-float(v) / math.sqrt(2)) for v in x])
    ok = want > (1e-30 if dtype == np.float32 else 1e-300)
    # (float64: within a^2 eps, a = |x| / sqrt 2, as the NumPy form: e^(-a^2) without Cody's exact split)
    np.testing.assert_allclose(cdf[ok], want[ok].astype(dtype), rtol=TOL[dtype])


def _grads(fn, x):
    res = []
    for mode in ("compiled", "numpy"):
        with jit.mode(mode):
            t = nnzoo.tensor(x, requires_grad=True)
            out = fn(t)
            w = nnzoo.tensor(np.cos(np.arange(out.numel())).reshape(tuple(out.shape)).astype(x.dtype))
            (out * w).sum().backward()
            res.append((out.detach().numpy(), t.grad.numpy()))
    return res


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["relu", "gelu", "sigmoid", "tanh"])
def test_ops_forward_backward_both_modes(name, dtype):
    x = (np.random.default_rng(1).standard_normal((26, 45)) * 3).astype(dtype)
    fns = {"relu": F.relu, "gelu": F.gelu, "sigmoid": nnzoo.sigmoid, "tanh": nnzoo.tanh}
    for inp in (x, x[:, ::2], x[0]):
        (yc, gc), (yn, gn) = _grads(fns[name], inp)
        _close(yc, yn, dtype)
        _close(gc, gn, dtype)


@pytest.mark.parametrize("name", ["tanh", "sigmoid"])
def test_first_order_array_backward_equals_graph_backward(name):
    """tanh's and the sigmoid's first-order backward on arrays (compiled) equal their Tensor form (the one a
    double backward records), as tests/ops/test_dual_path.py checks for the other dual-path ops."""
    x = np.random.default_rng(2).standard_normal((7, 9))
    grads = []
    for create_graph in (False, True):
        t = nnzoo.tensor(x, requires_grad=True)
        (g,) = nnzoo.autograd.grad((getattr(nnzoo, name)(t) * nnzoo.tensor(np.sin(x))).sum(), [t],
                                   create_graph=create_graph)
        grads.append(g.detach().numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-14, atol=0)
