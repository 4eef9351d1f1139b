"""The compiled recurrent kernels (nnzoo/kernels/rnn.py) against their NumPy references.

- The scalar helpers (e^x, sigmoid, tanh written as range reduction and polynomials, see kernels/rnn.py)
  against long-double references, in ulp, over the whole float range, with inf, NaN and signed zeros.
- Each step kernel against its NumPy twin on the same arrays, and the whole loops forward and backward
  (``lstm_forward``/``lstm_backward``, GRU, tanh RNN) under ``jit.mode("compiled")`` against
  ``jit.mode("numpy")``: batch 1, odd sizes, variable lengths, reverse, the projection, short loops (a cell
  step) and long ones (the NumPy path folds -log2(e) into the weights there), an empty batch.
- The layers (nn.LSTM/GRU/RNN and the cells) forward and backward in both modes on non-contiguous inputs, and
  a forward in one mode with its backward in the other (the saved arrays mean the same in both).

Tolerance: the NumPy path's float operations are not all the kernels' (e^-a against 2^b with folded weights,
NumPy's tanh against the kernels'), so results agree to rounding: relative 1e-12 of the scale in float64,
1e-5 in float32. The torch parity of both paths is tests/ops/test_rnn.py and tests/nn/test_recurrent*.py
(run them with NNZOO_KERNELS=numpy and without).
"""
import numpy as np
import pytest

import nnzoo
from nnzoo import nn
from nnzoo.kernels import jit
from nnzoo.kernels import rnn as K

pytest.importorskip("numba")

TOL = {np.float32: 1e-5, np.float64: 1e-12}


def _close(got, want, dtype, what=""):
    """|got - want| <= tol * max|want| elementwise (the tolerance relative to the array's scale)."""
    assert got.dtype == want.dtype and got.shape == want.shape, what
    scale = float(np.max(np.abs(want))) if want.size else 1.0
    np.testing.assert_allclose(got, want, rtol=TOL[dtype], atol=TOL[dtype] * max(scale, 1e-30), err_msg=what)


# ---- the scalar helpers --------------------------------------------------------------------------------
def _points(dtype):
    """Dense points in [-100, 100], magnitudes down to 1e-30 of both signs, and the special values."""
    tiny = np.logspace(-30, 1.5, 20001)
    special = [0.0, -0.0, np.inf, -np.inf, np.nan, 88.5, -88.5, 100.0, -100.0, 709.5, -709.5, 1e30, -1e30]
    return np.concatenate([np.linspace(-100, 100, 40001), tiny, -tiny, special]).astype(dtype)


def _activations(x):
    """sigmoid(x) and tanh(x) from the compiled LSTM step: with gh = -0 its activations are sigma(x) for the
    gates i, f, o and tanh(x) for g."""
    n = x.size
    a = np.tile(x[:, None], (1, 4))  # H = 1: the gates i, f, g, o of row b are all x[b]
    one = lambda: np.zeros((n, 1), x.dtype)  # noqa: E731
    # gh = -0: x + (-0) is x for every x, +0 and -0 included
    K._lstm_cell(np.full_like(a, -0.0), a, one(), one(), one(), one())
    return a[:, 0], a[:, 2]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_and_tanh_to_a_few_ulp(dtype):
    x = _points(dtype)
    sig, tanh = _activations(x)
    xl = x.astype(np.longdouble)
    with np.errstate(over="ignore"):
        refs = {"sigmoid": (sig, 1 / (1 + np.exp(-xl))), "tanh": (tanh, np.tanh(xl))}
    ulp = np.finfo(dtype).eps / 2  # the unit roundoff u: 2^-24, 2^-53
    for name, (got, ref) in refs.items():
        ref_t = ref.astype(dtype)
        normal = np.isfinite(ref_t) & (np.abs(ref_t) >= np.finfo(dtype).tiny)
        err = np.abs(got[normal].astype(np.longdouble) - ref[normal]) / np.abs(ref[normal])
        assert err.max() < 4 * ulp, (name, float(err.max() / ulp), x[normal][np.argmax(err)])
        # past the normal range: within the smallest normal float of the reference (0 or a subnormal)
        sub = ~normal & ~np.isnan(ref_t)
        assert np.all(np.abs(got[sub] - ref_t[sub]) <= np.finfo(dtype).tiny), name
        np.testing.assert_array_equal(np.isnan(got), np.isnan(x), err_msg=name)
    # the saturated values are exact, and tanh keeps the sign of zero
    s, t = _activations(np.array([-np.inf, -1e30, -100, 100, 1e30, np.inf], dtype))
    np.testing.assert_array_equal(s[[0, 1, 3, 4, 5]], [0, 0, 1, 1, 1])
    np.testing.assert_array_equal(t, [-1, -1, -1, 1, 1, 1])
    _, t0 = _activations(np.array([0.0, -0.0], dtype))
    assert list(np.signbit(t0)) == [False, True]


# ---- each step kernel against its NumPy twin ---------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n,H", [(1, 1), (3, 7), (5, 16)])
def test_step_kernels_equal_their_numpy_twins(dtype, n, H):
    rng = np.random.default_rng(n * 100 + H)
    r = lambda *s: rng.standard_normal(s).astype(dtype)  # noqa: E731
    # LSTM backward: activations in (0, 1) for the sigmoid gates and (-1, 1) for g, tanh(c)
    a = rng.uniform(0.01, 0.99, (n, 4 * H)).astype(dtype)
    a[:, 2 * H:3 * H] = rng.uniform(-0.99, 0.99, (n, H))
    tc, c_prev, dm, dc0 = rng.uniform(-1, 1, (n, H)).astype(dtype), r(n, H), r(n, H), r(n, H)
    want_d, want_dc = np.empty((n, 4 * H), dtype), dc0.copy()
    K._lstm_cell_backward_numpy(dm, a, tc, c_prev, want_dc, want_d, np.empty((n, H), dtype),
                                np.empty((n, 4 * H), dtype))
    got_d, got_dc = np.empty((n, 4 * H), dtype), dc0.copy()
    K._lstm_cell_backward(dm, a, tc, c_prev, got_dc, got_d)
    # the same float operations in the same order: equal, not just close
    np.testing.assert_array_equal(got_d, want_d)
    np.testing.assert_array_equal(got_dc, want_dc)
    # GRU backward
    a3 = rng.uniform(0.01, 0.99, (n, 3 * H)).astype(dtype)
    a3[:, 2 * H:] = rng.uniform(-0.99, 0.99, (n, H))
    dh, h_prev, gh = r(n, H), r(n, H), r(n, 3 * H)
    want = [np.empty((n, 3 * H), dtype), np.empty((n, 3 * H), dtype), np.empty((n, H), dtype)]
    K._gru_cell_backward_numpy(dh, a3, h_prev, gh, *want, np.empty((n, 2 * H), dtype))
    got = [np.empty((n, 3 * H), dtype), np.empty((n, 3 * H), dtype), np.empty((n, H), dtype)]
    K._gru_cell_backward(dh, a3, h_prev, gh, *got)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


# ---- the loops: compiled against NumPy ------------------------------------------------------------------------
def _loop(mode, kind, dtype, T, B, I, H, P, lengths, reverse, bias, seed, bwd_mode=None):  # noqa: E741
    """Run one layer's forward and backward on arrays under ``mode`` (the backward under ``bwd_mode``,
    default the same): (outputs, saved arrays, gradients)."""
    rng = np.random.default_rng(seed)
    G = {"lstm": 4, "gru": 3, "rnn": 1}[kind]
    r = lambda *s: (rng.standard_normal(s) * 0.7).astype(dtype)  # noqa: E731
    x, h0, c0 = r(T, B, I), r(B, P or H), r(B, H)
    w_ih, w_hh = r(G * H, I), r(G * H, P or H)
    b_ih, b_hh = (r(G * H), r(G * H)) if bias else (None, None)
    w_hr = r(P, H) if P else None
    ns = None
    if lengths is not None:
        ns = (np.asarray(lengths)[None, :] > np.arange(T)[:, None]).sum(1)
    with jit.mode(mode):
        if kind == "lstm":
            outs, S = K.lstm_forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, ns, reverse)
        elif kind == "gru":
            outs, S = K.gru_forward(x, h0, w_ih, w_hh, b_ih, b_hh, ns, reverse)
        else:
            outs, S = K.rnn_forward(False, x, h0, w_ih, w_hh, b_ih, b_hh, ns, reverse)
    gout, gh, gc = r(*outs[0].shape), r(*outs[1].shape), r(B, H)
    need = [True] * 8
    with jit.mode(bwd_mode or mode):
        if kind == "lstm":
            grads = K.lstm_backward(S, gout, gh, gc, need)
        elif kind == "gru":
            grads = K.gru_backward(S, gout, gh, need)
        else:
            grads = K.rnn_backward(S, gout, gh, need)
    saved = {k: v for k, v in S.items() if isinstance(v, np.ndarray) and k != "ns"}
    return outs, saved, grads


LOOPS = [
    # kind, T, B, I, H, P, lengths, reverse, bias
    ("lstm", 6, 3, 5, 7, None, None, False, True),
    ("lstm", 1, 1, 3, 4, None, None, False, True),  # a cell step (a short loop)
    ("lstm", 7, 4, 2, 5, 3, [7, 5, 5, 2], True, False),  # projection, lengths, reverse
    ("lstm", 5, 0, 3, 4, None, None, False, True),  # an empty batch
    ("gru", 6, 3, 5, 7, None, None, False, True),
    ("gru", 1, 1, 3, 4, None, None, True, False),
    ("gru", 7, 4, 2, 5, None, [7, 6, 3, 0], False, True),
    ("rnn", 6, 3, 5, 7, None, None, False, True),
    ("rnn", 7, 4, 2, 5, None, [7, 6, 3, 1], True, False),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", LOOPS, ids=[f"{c[0]}-{i}" for i, c in enumerate(LOOPS)])
def test_loops_compiled_equal_numpy(case, dtype):
    kind, T, B, I, H, P, lengths, reverse, bias = case  # noqa: E741
    args = (kind, dtype, T, B, I, H, P, lengths, reverse, bias, len(kind) * 7 + T)
    got = _loop("compiled", *args)
    want = _loop("numpy", *args)
    for g, w in zip(got[0], want[0]):
        _close(g, w, dtype, "outputs")
    for k in ("hs", "cs"):
        if k in want[1]:
            _close(got[1][k], want[1][k], dtype, k)
    # the per-step arrays saved for the backward, on the active rows (the others are never read: acts keeps
    # the input projections there, which the NumPy path scales by -log2(e) in a long loop; tcs is unset),
    # and of GRU's W_hh h + b_hh the n part (the backward's; a long NumPy loop scales the r and z parts)
    active = np.ones((T, B), bool) if lengths is None else np.asarray(lengths)[None, :] > np.arange(T)[:, None]
    if "ghs" in want[1]:
        got[1]["ghs"], want[1]["ghs"] = got[1]["ghs"][..., 2 * H:], want[1]["ghs"][..., 2 * H:]
    for k in ("acts", "tcs", "ms", "ghs"):
        if want[1].get(k) is not None:
            _close(got[1][k][active], want[1][k][active], dtype, k)
    for i, (g, w) in enumerate(zip(got[2], want[2])):
        assert (g is None) == (w is None), i
        if w is not None:
            _close(g, w, dtype, f"gradient {i}")
    # a forward in one mode and its backward in the other (jit.mode switched in between)
    for fwd, bwd in (("compiled", "numpy"), ("numpy", "compiled")):
        mixed = _loop(fwd, *args, bwd_mode=bwd)
        for g, w in zip(mixed[2], want[2]):
            if w is not None:
                _close(g, w, dtype, f"{fwd} forward, {bwd} backward")


# ---- the layers ---------------------------------------------------------------------------------------------
def _layer_run(mode, make, dtype, shape, state_shapes, seed):
    """Forward and backward of a fresh layer from ``make`` on a non-contiguous input: (outputs, grads)."""
    nnzoo.manual_seed(0)
    layer = make().to(getattr(nnzoo, np.dtype(dtype).name))
    rng = np.random.default_rng(seed)
    x = nnzoo.tensor(rng.standard_normal((shape[1], shape[0]) + shape[2:]).astype(dtype), requires_grad=True)
    xt = x.transpose(0, 1)  # of shape ``shape``: a non-contiguous view
    states = [nnzoo.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True) for s in state_shapes]
    with jit.mode(mode):
        if not states:
            out = layer(xt)
        elif len(states) == 1:
            out = layer(xt, states[0])
        else:
            out = layer(xt, tuple(states))
        flat = []
        for o in (out if isinstance(out, tuple) else (out,)):
            flat.extend(o if isinstance(o, tuple) else (o,))
        loss = sum((o * nnzoo.tensor(np.cos(np.arange(o.numel())).reshape(o.shape).astype(dtype))).sum()
                   for o in flat)
        loss.backward()
    grads = [x.grad] + [s.grad for s in states] + [p.grad for p in layer.parameters()]
    return [o.detach().numpy() for o in flat], [g.numpy() for g in grads]


LAYERS = [
    ("LSTM", lambda: nn.LSTM(3, 5, num_layers=2), (6, 2, 3), [(2, 2, 5), (2, 2, 5)]),
    ("LSTM-bi-proj", lambda: nn.LSTM(3, 5, bidirectional=True, proj_size=2), (4, 3, 3), []),
    ("GRU", lambda: nn.GRU(3, 5, num_layers=2, bidirectional=True), (6, 1, 3), [(4, 1, 5)]),
    ("RNN", lambda: nn.RNN(3, 5), (5, 2, 3), [(1, 2, 5)]),
    ("LSTMCell", lambda: nn.LSTMCell(3, 5), (2, 3), [(2, 5), (2, 5)]),
    ("GRUCell", lambda: nn.GRUCell(3, 5), (1, 3), [(1, 5)]),
    ("RNNCell", lambda: nn.RNNCell(3, 5), (3, 3), [(3, 5)]),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,make,shape,states", LAYERS, ids=[c[0] for c in LAYERS])
def test_layers_compiled_equal_numpy(name, make, shape, states, dtype):
    got = _layer_run("compiled", make, dtype, shape, states, 3)
    want = _layer_run("numpy", make, dtype, shape, states, 3)
    for g, w in zip(got[0] + got[1], want[0] + want[1]):
        _close(g, w, dtype, name)


def test_numpy_mode_runs_no_kernel(monkeypatch):
    """Under jit.mode("numpy") the loops never call a compiled kernel (the reference stays the reference)."""
    def boom(*args):
        raise AssertionError("a compiled kernel ran in NumPy mode")
    for name in ("_lstm_cell", "_lstm_cell_backward", "_gru_cell", "_gru_cell_backward", "_rnn_tanh_cell_backward"):
        monkeypatch.setattr(K, name, boom)
    for kind in ("lstm", "gru", "rnn"):
        _loop("numpy", kind, np.float32, 5, 2, 3, 4, None, None, False, True, 0)
