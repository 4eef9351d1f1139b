"""The fused recurrent ops of nnzoo.ops.rnn: equal to the composed step-by-step form (forward and backward),
float64 finite-difference gradchecks (with lengths, reverse, projection; and double backward), the
single-step cells against torch's cell functions (and through the op harness, double backward included), and
the shape errors."""
import numpy as np
import pytest
import torch
from helpers import OpCase, S, cases_params, check_op

import nnzoo
from nnzoo.autograd import gradcheck, gradgradcheck
from nnzoo.ops import rnn as R

GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}
CASES = [(m, proj) for m in R.MODES for proj in ((0, 2) if m == "LSTM" else (0,))]


def _inputs(mode, T, B, I, H, proj, seed=0, bias=True):  # noqa: E741 (I: input size, as PyTorch's docs)
    """x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr as float64 tensors that require grad (None where unused)."""
    rng = np.random.default_rng(seed)
    G, Ho = GATES[mode], proj or H

    def t(*shape):
        return nnzoo.tensor(rng.standard_normal(shape) * 0.7, requires_grad=True)
    return [t(T, B, I), t(B, Ho), t(B, H) if mode == "LSTM" else None, t(G * H, I), t(G * H, Ho),
            t(G * H) if bias else None, t(G * H) if bias else None, t(Ho, H) if proj else None]


def _per_sequence_reference(mode, args, lengths, reverse):
    """Each sequence run alone over its own length with the composed ops, zero-padded back to T."""
    x, h0, c0 = args[:3]
    T, B = x.shape[:2]
    outs, hs, cs = [], [], []
    for b in range(B):
        n = T if lengths is None else lengths[b]
        if n == 0:  # nothing to run: zero outputs, the initial state
            outs.append(nnzoo.zeros(T, 1, h0.shape[1], dtype=x.dtype))
            hs.append(h0[b:b + 1])
            if mode == "LSTM":
                cs.append(c0[b:b + 1])
            continue
        res = R.composed_layer(mode, x[:n, b:b + 1], h0[b:b + 1], None if c0 is None else c0[b:b + 1], *args[3:],
                               reverse=reverse)
        o = res[0]
        if n < T:
            o = nnzoo.cat([o, nnzoo.zeros(T - n, 1, o.shape[2], dtype=o.dtype)])
        outs.append(o)
        hs.append(res[1])
        if mode == "LSTM":
            cs.append(res[2])
    ref = [nnzoo.cat(outs, 1), nnzoo.cat(hs)]
    return ref + ([nnzoo.cat(cs)] if mode == "LSTM" else [])


@pytest.mark.parametrize("mode,proj", CASES)
@pytest.mark.parametrize("lengths", [None, [5, 4, 2], [2, 5, 3], [0, 3, 5]])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_fused_equals_composed_forward_and_backward(mode, proj, lengths, reverse, bias):
    args = _inputs(mode, 5, 3, 2, 4, proj, bias=bias)
    args2 = [None if a is None else a.detach().requires_grad_() for a in args]
    got = R.recurrent_layer(mode, *args, lengths=lengths, reverse=reverse)
    ref = _per_sequence_reference(mode, args2, lengths, reverse)
    rng = np.random.default_rng(1)
    loss = ref_loss = 0
    for a, b in zip(got, ref):
        assert a.shape == b.shape
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=1e-12)
        u = nnzoo.tensor(rng.standard_normal(a.shape))
        loss, ref_loss = loss + (a * u).sum(), ref_loss + (b * u).sum()
    loss.backward()
    ref_loss.backward()
    for i, (a, b) in enumerate(zip(args, args2)):
        if a is not None:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=1e-11, err_msg=f"input {i}")


@pytest.mark.parametrize("mode,proj", CASES)
@pytest.mark.parametrize("lengths,reverse", [(None, False), ([3, 1], False), ([1, 3], True)])
def test_fused_gradcheck(mode, proj, lengths, reverse):
    args = _inputs(mode, 3, 2, 2, 3, proj, seed=2)
    idx = [i for i, a in enumerate(args) if a is not None]

    def f(*ts):
        full = list(args)
        for i, t in zip(idx, ts):
            full[i] = t
        return R.recurrent_layer(mode, *full, lengths=lengths, reverse=reverse)
    assert gradcheck(f, [args[i] for i in idx])


@pytest.mark.parametrize("mode", R.MODES)
def test_fused_double_backward(mode):
    """create_graph=True differentiates the recomputed composed graph: second derivatives are right."""
    args = _inputs(mode, 3, 2, 2, 2, 0, seed=3)
    idx = [i for i, a in enumerate(args) if a is not None]

    def f(*ts):
        full = list(args)
        for i, t in zip(idx, ts):
            full[i] = t
        res = R.recurrent_layer(mode, *full, lengths=[3, 2])
        return res[0] ** 2, res[1]
    assert gradgradcheck(f, [args[i] for i in idx])


@pytest.mark.parametrize("mode", R.MODES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bias", [True, False])
def test_cells_match_torch_cell_functions(mode, dtype, bias):
    rng = np.random.default_rng(4)
    B, I, H = 3, 2, 4  # noqa: E741 (I: input size, as PyTorch's docs)
    G = GATES[mode]
    arrays = [rng.standard_normal(s).astype(dtype) for s in [(B, I), (B, H), (B, H), (G * H, I), (G * H, H), (G * H,),
                                                             (G * H,)]]
    ours = [nnzoo.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    if not bias:
        ours[5:] = [None, None]
        theirs[5:] = [None, None]
    x, h, c, wi, wh, bi, bh = ours
    tx, th, tc, twi, twh, tbi, tbh = theirs
    if mode == "LSTM":
        got = R.lstm_cell(x, h, c, wi, wh, bi, bh)
        ref = torch.lstm_cell(tx, (th, tc), twi, twh, tbi, tbh)
    else:
        fn = {"RNN_TANH": (R.rnn_tanh_cell, torch.rnn_tanh_cell), "RNN_RELU": (R.rnn_relu_cell, torch.rnn_relu_cell),
              "GRU": (R.gru_cell, torch.gru_cell)}[mode]
        got, ref = (fn[0](x, h, wi, wh, bi, bh),), (fn[1](tx, th, twi, twh, tbi, tbh),)
    tol = dict(atol=1e-5, rtol=1e-4) if dtype == np.float32 else dict(atol=1e-12)
    loss = tloss = 0
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), **tol)
        u = rng.standard_normal(tuple(b.shape)).astype(dtype)
        loss, tloss = loss + (a * nnzoo.tensor(u)).sum(), tloss + (b * torch.tensor(u)).sum()
    loss.backward()
    tloss.backward()
    for a, b in zip(ours, theirs):
        if a is not None and b.grad is not None:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), **tol)


CELL_CASES = [
    OpCase("rnn_tanh_cell", lambda m, *a: (R.rnn_tanh_cell if m is nnzoo else torch.rnn_tanh_cell)(*a),
           [S(3, 2), S(3, 4), S(4, 2), S(4, 4), S(4), S(4)]),
    OpCase("rnn_relu_cell_no_bias", lambda m, *a: (R.rnn_relu_cell if m is nnzoo else torch.rnn_relu_cell)(*a),
           [S(3, 2), S(3, 4), S(4, 2), S(4, 4)]),
    OpCase("lstm_cell", lambda m, x, h, c, *w: (R.lstm_cell(x, h, c, *w) if m is nnzoo
                                                 else torch.lstm_cell(x, (h, c), *w)),
           [S(3, 2), S(3, 4), S(3, 4), S(16, 2), S(16, 4), S(16), S(16)]),
    OpCase("gru_cell", lambda m, *a: (R.gru_cell if m is nnzoo else torch.gru_cell)(*a),
           [S(3, 2), S(3, 4), S(12, 2), S(12, 4), S(12), S(12)]),
]


@cases_params(CELL_CASES)
def test_cells_through_the_harness(case):
    """The cells against torch's cell functions: forward, backward, finite differences and double backward
    (the fused backward's Tensor path under create_graph=True)."""
    check_op(case)


def test_cell_is_one_graph_node_per_step():
    x, h, c = nnzoo.randn(1, 3), nnzoo.randn(1, 4), nnzoo.randn(1, 4)
    w_ih, w_hh = nnzoo.randn(16, 3, requires_grad=True), nnzoo.randn(16, 4, requires_grad=True)
    h2, c2 = R.lstm_cell(x, h, c, w_ih, w_hh)
    assert h2.grad_fn is c2.grad_fn and type(h2.grad_fn) is R.LSTMCellStep
    assert h2.grad_fn.next_functions[1] is None  # h needs no grad: no edge


def test_gradcheck_of_cells():
    for mode, fn in (("RNN_TANH", R.rnn_tanh_cell), ("GRU", R.gru_cell)):
        args = _inputs(mode, 1, 2, 2, 3, 0, seed=5)
        x, h, _, wi, wh, bi, bh, _ = args
        assert gradcheck(fn, [x[0].detach().requires_grad_(), h, wi, wh, bi, bh])
    x, h, c, wi, wh, bi, bh, _ = _inputs("LSTM", 1, 2, 2, 3, 0, seed=6)
    assert gradcheck(lambda *a: R.lstm_cell(*a), [x[0].detach().requires_grad_(), h, c, wi, wh, bi, bh])


def test_float32_stays_float32():
    args = [None if a is None else nnzoo.tensor(a.detach().numpy().astype(np.float32), requires_grad=True)
            for a in _inputs("LSTM", 4, 2, 3, 5, 2)]
    out, h, c = R.recurrent_layer("LSTM", *args)
    assert out.dtype == h.dtype == c.dtype == nnzoo.float32
    (out.sum() + c.sum()).backward()
    assert all(a.grad.dtype == nnzoo.float32 for a in args if a is not None)


def test_errors_name_the_op_and_shapes():
    x, h, c, wi, wh, bi, bh, _ = _inputs("LSTM", 4, 2, 3, 5, 0)
    with pytest.raises(RuntimeError,
                       match=r"lstm: weight_ih of shape \(20, 3\) does not fit input of shape \(4, 2, 2\)"):
        R.recurrent_layer("LSTM", x[:, :, :2], h, c, wi, wh, bi, bh)
    with pytest.raises(RuntimeError, match=r"lstm: hx has shape \(3, 5\), expected \(2, 5\)"):
        R.recurrent_layer("LSTM", x, nnzoo.zeros(3, 5, dtype=nnzoo.float64), c, wi, wh, bi, bh)
    with pytest.raises(RuntimeError, match=r"lstm: expected 2 lengths"):
        R.recurrent_layer("LSTM", x, h, c, wi, wh, bi, bh, lengths=[1, 2, 3])
    with pytest.raises(RuntimeError, match=r"lengths must lie in \[0, 4\]"):
        R.recurrent_layer("LSTM", x, h, c, wi, wh, bi, bh, lengths=[5, 2])
    with pytest.raises(RuntimeError, match=r"dtype"):
        R.recurrent_layer("LSTM", x.float(), h, c, wi, wh, bi, bh)
    with pytest.raises(ValueError, match="unknown mode"):
        R.recurrent_layer("LSTMX", x, h, c, wi, wh, bi, bh)
    with pytest.raises(RuntimeError, match=r"gru_cell: hidden of shape \(2, 4\) does not fit input of shape"):
        R.gru_cell(x[0], h[:, :4], nnzoo.zeros(15, 3), nnzoo.zeros(15, 5))


def test_in_place_change_of_the_output_before_backward_is_caught():
    x, h, c, wi, wh, bi, bh, _ = _inputs("LSTM", 3, 2, 2, 3, 0)
    out, _hn, cn = R.recurrent_layer("LSTM", x, h, c, wi, wh, bi, bh)
    loss = out.sum() + cn.sum()  # sum saves nothing: the check is the fused op's own
    with nnzoo.no_grad():
        out.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        loss.backward()
    out, _hn, cn = R.recurrent_layer("LSTM", x, h, c, wi, wh, bi, bh)
    loss = out.sum()
    with nnzoo.no_grad():
        wh.mul_(2.0)  # e.g. an optimizer step between forward and backward
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        loss.backward()


def test_second_backward_through_a_freed_graph_raises():
    x, h, _c, wi, wh, bi, bh, _ = _inputs("GRU", 3, 2, 2, 3, 0)
    out, _hn = R.recurrent_layer("GRU", x, h, None, wi, wh, bi, bh)
    loss = out.sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        loss.backward()
    wh.grad = None
    out, _hn = R.recurrent_layer("GRU", x, h, None, wi, wh, bi, bh)
    loss = out.sum()
    loss.backward(retain_graph=True)  # the buffers stay: a second backward accumulates the same again
    first = wh.grad.numpy().copy()
    loss.backward()
    np.testing.assert_allclose(wh.grad.numpy(), 2 * first, atol=1e-12)


@pytest.mark.parametrize("mode,proj", CASES)
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("lengths", [None, []])
def test_empty_batch_gives_empty_outputs_and_zero_weight_gradients(mode, proj, reverse, lengths):
    """B = 0: outputs (T, 0, H_out) and states (0, H), empty input gradients; the weight gradients are
    sums over no examples, so 0 (equal to the composed form's)."""
    args = _inputs(mode, 3, 0, 2, 4, proj)
    outs = R.recurrent_layer(mode, *args, lengths=lengths, reverse=reverse)
    Ho = proj or 4
    assert [tuple(o.shape) for o in outs] == [(3, 0, Ho), (0, Ho)] + ([(0, 4)] if mode == "LSTM" else [])
    sum(o.sum() for o in outs).backward()
    for a in args:
        if a is not None:
            assert a.grad is not None and a.grad.shape == a.shape
            np.testing.assert_array_equal(a.grad.numpy(), np.zeros(a.shape))


@pytest.mark.parametrize("mode", R.MODES)
def test_empty_sequence_is_an_error_naming_the_shape(mode):
    args = _inputs(mode, 0, 2, 3, 4, 0)
    with pytest.raises(RuntimeError,
                       match=r": expected sequence length to be larger than 0, got input of shape \(0, 2, 3\)"):
        R.recurrent_layer(mode, *args)


@pytest.mark.parametrize("fn,G,lstm", [(R.rnn_tanh_cell, 1, False), (R.rnn_relu_cell, 1, False),
                                       (R.lstm_cell, 4, True), (R.gru_cell, 3, False)])
def test_cell_functions_with_empty_batch(fn, G, lstm):
    x, h, c, w_ih, w_hh, b_ih, b_hh, _ = _inputs("LSTM" if lstm else "GRU", 1, 0, 3, 4, 0)
    w_ih, w_hh = nnzoo.randn(G * 4, 3, requires_grad=True), nnzoo.randn(G * 4, 4, requires_grad=True)
    b_ih, b_hh = nnzoo.randn(G * 4, requires_grad=True), nnzoo.randn(G * 4, requires_grad=True)
    res = fn(x[0], h, c, w_ih, w_hh, b_ih, b_hh) if lstm else fn(x[0], h, w_ih, w_hh, b_ih, b_hh)
    res = res if lstm else (res,)
    assert [tuple(r.shape) for r in res] == [(0, 4)] * len(res)
    sum(r.sum() for r in res).backward()
    assert x.grad.shape == (1, 0, 3)
    for w in (w_ih, w_hh, b_ih, b_hh):
        np.testing.assert_array_equal(w.grad.numpy(), np.zeros(w.shape))
