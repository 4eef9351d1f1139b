"""The notes' recurrent-cell variants and the generic stack (nnzoo/nn/recurrent_variants.py).

Every expectation comes from the equations written out again here, independently of the module: once on
NumPy float64 (forward values) and once in torch float64 (gradients by torch autograd, with the very same
weights), plus nnzoo's float64 finite-difference gradcheck, and special cases that pin a property
(f ≡ 1 keeps C, zero peepholes give the plain LSTM, a 1x1 ConvLSTM is an LSTM, padding = no padding).
"""
import time
from functools import partial

import numpy as np
import pytest
import torch
from numpy.lib.stride_tricks import sliding_window_view

import nnzoo
from nnzoo.autograd import gradcheck
from nnzoo.nn import init
from nnzoo.nn.linear import Linear
from nnzoo.nn.recurrent_variants import (
    Bidirectional,
    ChoGRUCell,
    ConvLSTMCell,
    CoupledLSTMCell,
    MUT1Cell,
    MUT2Cell,
    MUT3Cell,
    PeepholeLSTMCell,
    Recurrent,
)
from nnzoo.optim import Adam


# ---- the equations, written once for NumPy and torch -------------------------------------------------
def _conv_same_np(x, w):
    """Cross-correlation with zero 'same' padding (the extra row/column at the bottom/right, as torch)."""
    kh, kw = w.shape[2:]
    ph, pw = kh - 1, kw - 1
    xp = np.pad(x, ((0, 0), (0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2)))
    win = sliding_window_view(xp, (kh, kw), axis=(2, 3))  # (B, C, H, W, kh, kw)
    return np.einsum("bchwij,ocij->bohw", win, w)


class NP:
    sig = staticmethod(lambda a: 1.0 / (1.0 + np.exp(-a)))
    tanh = staticmethod(np.tanh)
    conv = staticmethod(_conv_same_np)


class TH:
    sig = staticmethod(torch.sigmoid)
    tanh = staticmethod(torch.tanh)
    conv = staticmethod(lambda x, w: torch.nn.functional.conv2d(x, w, padding="same"))


def _rows(W, k, n):
    """Gate k's block of n rows of a gate-stacked weight or bias."""
    return W[k * n:(k + 1) * n]


def ref_lstm(L, G, x, state):
    """The notes' LSTM, gates written one by one: G[gate] = (W_x, W_h, b); c = f c + i g, h = o tanh c."""
    h, c = state
    pre = {k: x @ Wx.T + h @ Wh.T + b for k, (Wx, Wh, b) in G.items()}
    i, f, o, g = L.sig(pre["i"]), L.sig(pre["f"]), L.sig(pre["o"]), L.tanh(pre["g"])
    c = f * c + i * g
    return o * L.tanh(c), c


def ref_peephole(L, P, x, state):
    h, c = state
    H = P["weight_ci"].shape[0]

    def pre(k):
        return x @ _rows(P["weight_ih"], k, H).T + h @ _rows(P["weight_hh"], k, H).T + _rows(P["bias"], k, H)

    i = L.sig(pre(0) + P["weight_ci"] * c)
    f = L.sig(pre(1) + P["weight_cf"] * c)
    g = L.tanh(pre(2))
    c_new = f * c + i * g
    o = L.sig(pre(3) + P["weight_co"] * c_new)
    return o * L.tanh(c_new), c_new


def ref_coupled(L, P, x, state):
    h, c = state
    H = P["weight_hh"].shape[1]

    def pre(k):
        return x @ _rows(P["weight_ih"], k, H).T + h @ _rows(P["weight_hh"], k, H).T + _rows(P["bias"], k, H)

    f, c_tilde, o = L.sig(pre(0)), L.tanh(pre(1)), L.sig(pre(2))
    c_new = f * c + (1 - f) * c_tilde
    return o * L.tanh(c_new), c_new


def ref_convlstm(L, P, x, state):
    h, c = state
    C = P["weight_hh"].shape[1]

    def pre(k):
        return (L.conv(x, _rows(P["weight_ih"], k, C)) + L.conv(h, _rows(P["weight_hh"], k, C))
                + _rows(P["bias"], k, C)[:, None, None])

    peep = "weight_ci" in P
    i = L.sig(pre(0) + (P["weight_ci"] * c if peep else 0))
    f = L.sig(pre(1) + (P["weight_cf"] * c if peep else 0))
    c_new = f * c + i * L.tanh(pre(2))
    o = L.sig(pre(3) + (P["weight_co"] * c_new if peep else 0))
    return o * L.tanh(c_new), c_new


def ref_cho_gru(L, P, x, h):
    H = P["weight_hh"].shape[1]
    Wx = {k: _rows(P["weight_ih"], n, H) for n, k in enumerate("rzh")}
    Wh = {k: _rows(P["weight_hh"], n, H) for n, k in enumerate("rzh")}
    b = {k: _rows(P["bias"], n, H) for n, k in enumerate("rzh")}
    r = L.sig(x @ Wx["r"].T + h @ Wh["r"].T + b["r"])
    z = L.sig(x @ Wx["z"].T + h @ Wh["z"].T + b["z"])
    h_tilde = L.tanh(x @ Wx["h"].T + (r * h) @ Wh["h"].T + b["h"])
    return z * h + (1 - z) * h_tilde


def ref_mut1(L, P, x, h):
    z = L.sig(x @ P["weight_xz"].T + P["bias_z"])
    r = L.sig(x @ P["weight_xr"].T + h @ P["weight_hr"].T + P["bias_r"])
    return L.tanh((r * h) @ P["weight_hh"].T + L.tanh(x) + P["bias_h"]) * z + h * (1 - z)


def ref_mut2(L, P, x, h):
    z = L.sig(x @ P["weight_xz"].T + h @ P["weight_hz"].T + P["bias_z"])
    r = L.sig(x + h @ P["weight_hr"].T + P["bias_r"])
    return L.tanh((r * h) @ P["weight_hh"].T + x @ P["weight_xh"].T + P["bias_h"]) * z + h * (1 - z)


def ref_mut3(L, P, x, h):
    z = L.sig(x @ P["weight_xz"].T + L.tanh(h) @ P["weight_hz"].T + P["bias_z"])
    r = L.sig(x @ P["weight_xr"].T + h @ P["weight_hr"].T + P["bias_r"])
    return L.tanh((r * h) @ P["weight_hh"].T + x @ P["weight_xh"].T + P["bias_h"]) * z + h * (1 - z)


# name: (factory, reference step, input shape per step without batch, has (h, c))
B, T = 3, 4
CELLS = {
    "peephole": (lambda: PeepholeLSTMCell(4, 5), ref_peephole, (4,), True),
    "coupled": (lambda: CoupledLSTMCell(4, 5), ref_coupled, (4,), True),
    "convlstm": (lambda: ConvLSTMCell(2, 3, kernel_size=3), ref_convlstm, (2, 5, 4), True),
    "convlstm_even_peep": (lambda: ConvLSTMCell(2, 3, kernel_size=(2, 3), peephole_shape=(4, 5)), ref_convlstm,
                           (2, 4, 5), True),
    "cho_gru": (lambda: ChoGRUCell(4, 5), ref_cho_gru, (4,), False),
    "mut1": (lambda: MUT1Cell(5, 5), ref_mut1, (5,), False),
    "mut2": (lambda: MUT2Cell(5, 5), ref_mut2, (5,), False),
    "mut3": (lambda: MUT3Cell(4, 5), ref_mut3, (4,), False),
}


def _make_cell(name, seed=0, std=0.6):
    """A float64 cell with weights ~ N(0, std) (larger than the default init, so gates saturate unevenly)."""
    nnzoo.manual_seed(seed)
    cell = CELLS[name][0]().double()
    with nnzoo.no_grad():
        for p in cell.parameters():
            init.normal_(p, 0.0, std)
    return cell


def _params_np(cell):
    return {k: p.detach().numpy().copy() for k, p in cell.named_parameters()}


def _data(name, seed=1):
    rng = np.random.default_rng(seed)
    cell = CELLS[name][0]()
    xs = rng.standard_normal((T, B) + CELLS[name][2])
    hshape = (B, cell.hidden_size) + CELLS[name][2][1:]
    h0 = rng.standard_normal(hshape) * 0.5
    c0 = rng.standard_normal(hshape) * 0.5 if CELLS[name][3] else None
    return xs, h0, c0


def _run_nnzoo(cell, xs, h0, c0):
    """States after each step, starting from (h0, c0) (or h0)."""
    state = (h0, c0) if c0 is not None else h0
    out = []
    for t in range(xs.shape[0]):
        state = cell(xs[t], state)
        out.append(state)
    return out


def _as_tuple(s):
    return s if isinstance(s, tuple) else (s,)


# ---- forward against the NumPy equations -------------------------------------------------------------
@pytest.mark.parametrize("name", list(CELLS))
def test_cell_forward_matches_numpy_equations(name):
    cell = _make_cell(name)
    ref = CELLS[name][1]
    P = _params_np(cell)
    xs, h0, c0 = _data(name)
    states = _run_nnzoo(cell, nnzoo.tensor(xs), nnzoo.tensor(h0), None if c0 is None else nnzoo.tensor(c0))
    s = (h0, c0) if c0 is not None else h0
    for t in range(T):
        s = ref(NP, P, xs[t], s)
        for got, want in zip(_as_tuple(states[t]), _as_tuple(s)):
            assert got.dtype == nnzoo.float64
            np.testing.assert_allclose(got.detach().numpy(), want, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(cell.output(states[t]).detach().numpy(), _as_tuple(s)[0], rtol=1e-12, atol=1e-12)


# ---- gradients against torch autograd of the same equations ------------------------------------------
@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")  # torch's, for the (2, 3) kernel
@pytest.mark.parametrize("name", list(CELLS))
def test_cell_gradients_match_torch_equations(name):
    cell = _make_cell(name)
    ref = CELLS[name][1]
    xs, h0, c0 = _data(name)
    rng = np.random.default_rng(2)
    # loss = sum over steps of u_t . h_t (+ v_t . c_t): every step's state feeds the loss
    x_n = nnzoo.tensor(xs, requires_grad=True)
    h_n = nnzoo.tensor(h0, requires_grad=True)
    c_n = None if c0 is None else nnzoo.tensor(c0, requires_grad=True)
    states = _run_nnzoo(cell, x_n, h_n, c_n)
    us = [[rng.standard_normal(p.shape) for p in _as_tuple(s)] for s in states]
    loss = sum((p * nnzoo.tensor(u)).sum() for s, uu in zip(states, us) for p, u in zip(_as_tuple(s), uu))
    loss.backward()

    P = {k: torch.tensor(v, requires_grad=True) for k, v in _params_np(cell).items()}
    x_t = torch.tensor(xs, requires_grad=True)
    h_t = torch.tensor(h0, requires_grad=True)
    c_t = None if c0 is None else torch.tensor(c0, requires_grad=True)
    s = (h_t, c_t) if c0 is not None else h_t
    total = 0
    for t in range(T):
        s = ref(TH, P, x_t[t], s)
        total = total + sum((p * torch.tensor(u)).sum() for p, u in zip(_as_tuple(s), us[t]))
    total.backward()

    np.testing.assert_allclose(loss.item(), total.item(), rtol=1e-12)
    for k, p in cell.named_parameters():
        np.testing.assert_allclose(p.grad.detach().numpy(), P[k].grad.detach().numpy(), rtol=1e-9, atol=1e-11,
                                   err_msg=k)
    np.testing.assert_allclose(x_n.grad.detach().numpy(), x_t.grad.detach().numpy(), rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(h_n.grad.detach().numpy(), h_t.grad.detach().numpy(), rtol=1e-9, atol=1e-11)
    if c0 is not None:
        np.testing.assert_allclose(c_n.grad.detach().numpy(), c_t.grad.detach().numpy(), rtol=1e-9, atol=1e-11)


# ---- float64 finite differences ----------------------------------------------------------------------
@pytest.mark.parametrize("name", list(CELLS))
def test_cell_gradcheck_three_steps(name):
    cell = _make_cell(name, std=0.5)
    xs, h0, c0 = _data(name)
    B2 = 2  # a smaller batch: the full Jacobian is checked column by column
    x = nnzoo.tensor(xs[:3, :B2], requires_grad=True)
    h = nnzoo.tensor(h0[:B2], requires_grad=True)
    c = None if c0 is None else nnzoo.tensor(c0[:B2], requires_grad=True)
    params = list(cell.parameters())

    def fn(x, h, *rest):  # the parameters are perturbed in place by gradcheck; the cell reads them
        c = rest[0] if c0 is not None else None
        final = _run_nnzoo(cell, x, h, c)[-1]
        return _as_tuple(final)

    inputs = (x, h) + ((c,) if c is not None else ()) + tuple(params)
    assert gradcheck(fn, inputs, fast_mode=True, n_directions=4, atol=1e-7, rtol=1e-5)
    # and the full Jacobian with respect to the inputs and states
    assert gradcheck(lambda x, h, *rest: fn(x, h, *rest), (x, h) + ((c,) if c is not None else ()),
                     atol=1e-7, rtol=1e-5)


# ---- special cases -----------------------------------------------------------------------------------
def test_coupled_lstm_with_forget_gate_one_keeps_the_cell_state():
    cell = _make_cell("coupled")
    H = cell.hidden_size
    with nnzoo.no_grad():  # f = σ(0 · [x; h] + 50) == 1.0 exactly in float64, so 1 − f == 0
        cell.weight_ih[:H] = 0.0
        cell.weight_hh[:H] = 0.0
        cell.bias[:H] = 50.0
    xs, h0, c0 = _data("coupled")
    states = _run_nnzoo(cell, nnzoo.tensor(xs), nnzoo.tensor(h0), nnzoo.tensor(c0))
    for _, c in states:
        np.testing.assert_array_equal(c.detach().numpy(), c0)
    # while h still moves with the input (the output gate is not constant), so the check is not vacuous
    assert not np.allclose(states[0][0].detach().numpy(), states[1][0].detach().numpy())


def _lstm_gates_from_stacked(P, H):
    """The stacked (i, f, g, o) rows as the notes' per-gate (W_x, W_h, b)."""
    return {k: (_rows(P["weight_ih"], n, H), _rows(P["weight_hh"], n, H), _rows(P["bias"], n, H))
            for n, k in enumerate("ifgo")}


def test_peephole_with_zero_peepholes_is_the_plain_lstm():
    cell = _make_cell("peephole")
    with nnzoo.no_grad():
        for p in (cell.weight_ci, cell.weight_cf, cell.weight_co):
            init.zeros_(p)
    P = _params_np(cell)
    H = cell.hidden_size
    xs, h0, c0 = _data("peephole")
    states = _run_nnzoo(cell, nnzoo.tensor(xs), nnzoo.tensor(h0), nnzoo.tensor(c0))
    # the notes' LSTM, with no peephole terms at all
    G = _lstm_gates_from_stacked(P, H)
    s = (h0, c0)
    for t in range(T):
        s = ref_lstm(NP, G, xs[t], s)
        np.testing.assert_allclose(states[t][0].detach().numpy(), s[0], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(states[t][1].detach().numpy(), s[1], rtol=1e-12, atol=1e-12)
    # and PyTorch's LSTMCell with the same weights (same gate order; the one bias as bias_ih)
    tc = torch.nn.LSTMCell(4, H).double()
    with torch.no_grad():
        tc.weight_ih.copy_(torch.tensor(P["weight_ih"]))
        tc.weight_hh.copy_(torch.tensor(P["weight_hh"]))
        tc.bias_ih.copy_(torch.tensor(P["bias"]))
        tc.bias_hh.zero_()
        hc = (torch.tensor(h0), torch.tensor(c0))
        for t in range(T):
            hc = tc(torch.tensor(xs[t]), hc)
    np.testing.assert_allclose(states[-1][0].detach().numpy(), hc[0].detach().numpy(), rtol=1e-12, atol=1e-12)
    # with nonzero peepholes the cell differs (the peepholes are used)
    with nnzoo.no_grad():
        init.constant_(cell.weight_cf, 0.5)
    h_peep = cell(nnzoo.tensor(xs[0]), (nnzoo.tensor(h0), nnzoo.tensor(c0)))[0].detach().numpy()
    assert not np.allclose(h_peep, states[0][0].detach().numpy())


@pytest.mark.parametrize("k,hw", [(3, (5, 4)), ((2, 3), (4, 6)), (1, (3, 3)), (4, (7, 2))])
def test_convlstm_keeps_the_image_size(k, hw):
    cell = ConvLSTMCell(3, 6, kernel_size=k)
    x = nnzoo.randn(2, 3, *hw)
    h, c = cell(x)
    h, c = cell(x, (h, c))
    assert tuple(h.shape) == (2, 6) + hw and tuple(c.shape) == (2, 6) + hw
    assert tuple(cell.weight_ih.shape) == (24, 3) + ((k, k) if isinstance(k, int) else k)


def test_convlstm_1x1_kernel_on_1x1_image_is_an_lstm():
    nnzoo.manual_seed(3)
    cell = ConvLSTMCell(4, 5, kernel_size=1).double()
    with nnzoo.no_grad():
        for p in cell.parameters():
            init.normal_(p, 0.0, 0.6)
    P = {k: v.reshape(v.shape[:2]) if v.ndim == 4 else v for k, v in _params_np(cell).items()}  # as matrices
    xs, _, _ = _data("peephole")  # (T, B, 4) vectors
    rng = np.random.default_rng(4)
    h0, c0 = rng.standard_normal((B, 5)), rng.standard_normal((B, 5))
    img = lambda a: nnzoo.tensor(a[..., None, None])  # noqa: E731  (B, C) -> (B, C, 1, 1)
    states = _run_nnzoo(cell, img(xs), img(h0), img(c0))
    G = _lstm_gates_from_stacked(P, 5)
    s = (h0, c0)
    for t in range(T):
        s = ref_lstm(NP, G, xs[t], s)
        np.testing.assert_allclose(states[t][0].detach().numpy()[..., 0, 0], s[0], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(states[t][1].detach().numpy()[..., 0, 0], s[1], rtol=1e-12, atol=1e-12)


def test_cho_gru_differs_from_pytorch_gru_unless_reset_is_one():
    """The two GRU forms share weights (same rows); they agree when r ≡ 1 and differ otherwise."""
    cell = _make_cell("cho_gru")
    P = _params_np(cell)
    H = cell.hidden_size
    xs, h0, _ = _data("cho_gru")
    tg = torch.nn.GRUCell(4, H).double()

    def torch_gru(P):
        with torch.no_grad():
            tg.weight_ih.copy_(torch.tensor(P["weight_ih"]))
            tg.weight_hh.copy_(torch.tensor(P["weight_hh"]))
            tg.bias_ih.copy_(torch.tensor(P["bias"]))
            tg.bias_hh.zero_()
            return tg(torch.tensor(xs[0]), torch.tensor(h0)).detach().numpy()

    ours = cell(nnzoo.tensor(xs[0]), nnzoo.tensor(h0)).detach().numpy()
    assert not np.allclose(ours, torch_gru(P), atol=1e-6)
    with nnzoo.no_grad():  # r = σ(0 + 50) == 1: r ⊙ h = h, and W (r ⊙ h) = r ⊙ (W h)
        cell.weight_ih[:H] = 0.0
        cell.weight_hh[:H] = 0.0
        cell.bias[:H] = 50.0
    P = _params_np(cell)
    np.testing.assert_allclose(cell(nnzoo.tensor(xs[0]), nnzoo.tensor(h0)).detach().numpy(), torch_gru(P),
                               rtol=1e-12, atol=1e-12)


# ---- Recurrent ---------------------------------------------------------------------------------------
def _ref_stack(cells, xs, lengths, bidirectional, merge):
    """The stack on NumPy, sequence by sequence with no padding at all: for each b the first lengths[b]
    steps run forwards and, reversed, backwards; outputs past the length are zero."""
    refs = {PeepholeLSTMCell: ref_peephole, ChoGRUCell: ref_cho_gru, MUT3Cell: ref_mut3}
    D = 2 if bidirectional else 1
    num_layers = len(cells) // D
    Tn, Bn = xs.shape[:2]
    out = np.zeros((Tn, Bn, cells[0].hidden_size * (D if merge == "concat" else 1)))
    finals = [[None] * Bn for _ in cells]
    for b in range(Bn):
        seq = xs[:lengths[b], b:b + 1]  # (L, 1, I)
        for layer in range(num_layers):
            dirs = []
            for d in range(D):
                k = layer * D + d
                cell = cells[k]
                ref, P = refs[type(cell)], _params_np(cell)
                h0 = np.zeros((1, cell.hidden_size))
                s = (h0, h0.copy()) if isinstance(cell, PeepholeLSTMCell) else h0
                order = range(len(seq)) if d == 0 else range(len(seq) - 1, -1, -1)
                hs = [None] * len(seq)
                for t in order:
                    s = ref(NP, P, seq[t], s)
                    hs[t] = _as_tuple(s)[0]
                finals[k][b] = s
                dirs.append(np.stack(hs))
            seq = np.concatenate(dirs, -1) if merge == "concat" else sum(dirs)
        out[:lengths[b], b] = seq[:, 0]
    return out, finals


@pytest.mark.parametrize("cell_cls", [PeepholeLSTMCell, ChoGRUCell, MUT3Cell])
@pytest.mark.parametrize("merge", ["concat", "sum"])
@pytest.mark.parametrize("use_lengths", [False, True])
def test_recurrent_matches_unpadded_numpy_stack(cell_cls, merge, use_lengths):
    nnzoo.manual_seed(5)
    rnn = Recurrent(partial(cell_cls, hidden_size=4), num_layers=2, bidirectional=True, merge=merge,
                    input_size=3).double()
    Tn, Bn = 6, 4
    xs = np.random.default_rng(6).standard_normal((Tn, Bn, 3))
    lengths = [6, 3, 1, 5] if use_lengths else [Tn] * Bn
    out, finals = rnn(nnzoo.tensor(xs), lengths=lengths if use_lengths else None)
    want_out, want_finals = _ref_stack(list(rnn.cells), xs, lengths, True, merge)
    np.testing.assert_allclose(out.detach().numpy(), want_out, rtol=1e-11, atol=1e-12)
    assert len(finals) == 4
    for k, f in enumerate(finals):
        for part, part_ref in zip(_as_tuple(f), zip(*[_as_tuple(s) for s in want_finals[k]])):
            np.testing.assert_allclose(part.detach().numpy(), np.concatenate(part_ref), rtol=1e-11, atol=1e-12)


def test_recurrent_padded_final_state_equals_unpadded_run():
    """Padding must not change anything: the padded batch's final states equal each sequence run alone."""
    nnzoo.manual_seed(7)
    rnn = Recurrent(partial(PeepholeLSTMCell, hidden_size=5), num_layers=2, bidirectional=True,
                    input_size=3).double()
    rng = np.random.default_rng(8)
    lengths = [7, 2, 4]
    seqs = [rng.standard_normal((L, 1, 3)) for L in lengths]
    padded = np.zeros((7, 3, 3))
    padded[:, 1:] = 99.0  # garbage in the padding: it must be ignored
    for b, s in enumerate(seqs):
        padded[:lengths[b], b] = s[:, 0]
    out, finals = rnn(nnzoo.tensor(padded), lengths=nnzoo.tensor(lengths))
    for b, s in enumerate(seqs):
        out_b, finals_b = rnn(nnzoo.tensor(s))
        np.testing.assert_allclose(out.detach().numpy()[:lengths[b], b], out_b.detach().numpy()[:, 0],
                                   rtol=1e-12, atol=1e-13)
        np.testing.assert_array_equal(out.detach().numpy()[lengths[b]:, b], 0.0)
        for f, fb in zip(finals, finals_b):
            for p, pb in zip(f, fb):
                np.testing.assert_allclose(p.detach().numpy()[b], pb.detach().numpy()[0], rtol=1e-12, atol=1e-13)


def test_merge_sum_is_the_sum_of_the_directions():
    nnzoo.manual_seed(9)
    fwd, bwd = ChoGRUCell(3, 4).double(), ChoGRUCell(3, 4).double()
    x = nnzoo.tensor(np.random.default_rng(10).standard_normal((5, 2, 3)))
    cat_out, _ = Bidirectional(fwd, bwd, merge="concat")(x)
    sum_out, sum_states = Bidirectional(fwd, bwd, merge="sum")(x)
    assert tuple(cat_out.shape) == (5, 2, 8) and tuple(sum_out.shape) == (5, 2, 4)
    both = cat_out.detach().numpy()
    np.testing.assert_allclose(sum_out.detach().numpy(), both[..., :4] + both[..., 4:], rtol=1e-13)
    # each direction alone: the forward half is the forward cell's run, the backward half the reversed run
    one_way, _ = Recurrent(fwd)(x)
    rev, (h_bwd,) = Recurrent(bwd)(nnzoo.flip(x, (0,)))
    np.testing.assert_allclose(cat_out.detach().numpy()[..., :4], one_way.detach().numpy(), rtol=1e-13)
    np.testing.assert_allclose(cat_out.detach().numpy()[..., 4:], rev.detach().numpy()[::-1], rtol=1e-13)
    np.testing.assert_allclose(sum_states[1].detach().numpy(), h_bwd.detach().numpy(), rtol=1e-13)


def test_recurrent_batch_first_and_initial_states():
    nnzoo.manual_seed(11)
    rnn = Recurrent(partial(CoupledLSTMCell, hidden_size=4), num_layers=2, input_size=3).double()
    rnn_bf = Recurrent(rnn.cells, num_layers=2, batch_first=True)  # a ModuleList of cells works too
    rng = np.random.default_rng(12)
    x = rng.standard_normal((5, 2, 3))
    s0 = [(nnzoo.tensor(rng.standard_normal((2, 4))), nnzoo.tensor(rng.standard_normal((2, 4))))
          for _ in range(2)]
    out, finals = rnn(nnzoo.tensor(x), s0)
    out_bf, finals_bf = rnn_bf(nnzoo.tensor(x.transpose(1, 0, 2)), s0)
    np.testing.assert_allclose(out_bf.detach().numpy(), out.detach().numpy().transpose(1, 0, 2), rtol=1e-13)
    for f, g in zip(finals, finals_bf):
        np.testing.assert_allclose(f[0].detach().numpy(), g[0].detach().numpy(), rtol=1e-13)
    # the initial states matter
    out0, _ = rnn(nnzoo.tensor(x))
    assert not np.allclose(out0.detach().numpy(), out.detach().numpy())


def test_recurrent_convlstm_stack():
    nnzoo.manual_seed(13)
    rnn = Recurrent(partial(ConvLSTMCell, hidden_channels=3, kernel_size=3), num_layers=2, bidirectional=True,
                    input_size=2, batch_first=True)
    assert rnn.cells[2].input_size == 6  # layer 1 reads both directions' channels
    out, finals = rnn(nnzoo.randn(2, 4, 2, 5, 6), lengths=[4, 2])
    assert tuple(out.shape) == (2, 4, 6, 5, 6)
    assert tuple(finals[3][1].shape) == (2, 3, 5, 6)
    np.testing.assert_array_equal(out.detach().numpy()[1, 2:], 0.0)


def test_recurrent_dropout_between_layers():
    nnzoo.manual_seed(14)
    rnn = Recurrent(partial(ChoGRUCell, hidden_size=6), num_layers=2, dropout=1.0, input_size=3)
    x = nnzoo.randn(4, 2, 3)
    out_train, _ = rnn(x)
    # p = 1 zeroes everything between the layers: layer 1 sees a zero sequence
    layer1_on_zeros, _ = Recurrent(rnn.cells[1])(nnzoo.zeros(4, 2, 6))
    np.testing.assert_allclose(out_train.detach().numpy(), layer1_on_zeros.detach().numpy(), rtol=1e-6)
    rnn.eval()  # no dropout in evaluation mode
    out_eval, _ = rnn(x)
    no_drop, _ = Recurrent(list(rnn.cells), num_layers=2)(x)
    np.testing.assert_allclose(out_eval.detach().numpy(), no_drop.detach().numpy(), rtol=1e-6)
    assert not np.allclose(out_eval.detach().numpy(), out_train.detach().numpy())


@pytest.mark.parametrize("merge", ["concat", "sum"])
def test_recurrent_gradcheck_two_layers_bidirectional_with_lengths(merge):
    nnzoo.manual_seed(15)
    rnn = Recurrent(partial(PeepholeLSTMCell, hidden_size=3), num_layers=2, bidirectional=True, merge=merge,
                    input_size=2).double()
    x = nnzoo.tensor(np.random.default_rng(16).standard_normal((4, 3, 2)), requires_grad=True)
    h0 = [(nnzoo.zeros(3, 3, dtype=nnzoo.float64, requires_grad=True),
           nnzoo.zeros(3, 3, dtype=nnzoo.float64, requires_grad=True)) for _ in range(4)]
    lengths = [4, 2, 3]

    def fn(x, *rest):
        out, finals = rnn(x, [(h0[k][0], h0[k][1]) for k in range(4)], lengths=lengths)
        return (out,) + tuple(p for f in finals for p in f)

    flat_h0 = tuple(p for s in h0 for p in s)
    assert gradcheck(fn, (x,) + flat_h0 + tuple(rnn.parameters()), fast_mode=True, n_directions=3,
                     atol=1e-7, rtol=1e-5)


def test_recurrent_gradcheck_gru_stack_full_jacobian_of_input():
    nnzoo.manual_seed(17)
    rnn = Recurrent(partial(ChoGRUCell, hidden_size=2), num_layers=2, bidirectional=True, merge="sum",
                    input_size=2).double()
    x = nnzoo.tensor(np.random.default_rng(18).standard_normal((3, 2, 2)), requires_grad=True)

    def fn(x):
        out, finals = rnn(x, lengths=[3, 2])
        return (out,) + tuple(finals)

    assert gradcheck(fn, (x,), atol=1e-7, rtol=1e-5)


# ---- errors ------------------------------------------------------------------------------------------
def test_errors_name_the_cell_and_the_shapes():
    with pytest.raises(ValueError, match=r"PeepholeLSTMCell: expected input of shape \(batch, 4\), got \(2, 3\)"):
        PeepholeLSTMCell(4, 5)(nnzoo.randn(2, 3))
    with pytest.raises(ValueError, match=r"ChoGRUCell: state h must have shape \(2, 5\).*got \(2, 4\)"):
        ChoGRUCell(4, 5)(nnzoo.randn(2, 4), nnzoo.randn(2, 4))
    with pytest.raises(TypeError, match="CoupledLSTMCell: state must be a tuple"):
        CoupledLSTMCell(4, 5)(nnzoo.randn(2, 4), nnzoo.randn(2, 5))
    with pytest.raises(ValueError, match="MUT1Cell: input_size must equal hidden_size"):
        MUT1Cell(3, 5)
    with pytest.raises(ValueError, match="MUT2Cell: input_size must equal hidden_size"):
        MUT2Cell(3, 5)
    with pytest.raises(ValueError, match=r"ConvLSTMCell: expected input of shape \(batch, 2, 4, 4\)"):
        ConvLSTMCell(2, 3, peephole_shape=(4, 4))(nnzoo.randn(1, 2, 5, 5))
    with pytest.raises(ValueError, match="Recurrent: one cell serves one layer"):
        Recurrent(ChoGRUCell(2, 3), num_layers=2)
    with pytest.raises(ValueError, match="Recurrent: a cell factory needs input_size"):
        Recurrent(partial(ChoGRUCell, hidden_size=3))
    with pytest.raises(ValueError, match="Recurrent: merge must be"):
        Recurrent(ChoGRUCell(2, 3), merge="mean")
    with pytest.raises(ValueError, match="layer 1's cell takes input_size=3, but layer 0 outputs 6"):
        Recurrent([ChoGRUCell(2, 3), ChoGRUCell(2, 3), ChoGRUCell(3, 3), ChoGRUCell(3, 3)], num_layers=2,
                  bidirectional=True)
    rnn = Recurrent(ChoGRUCell(2, 3))
    with pytest.raises(ValueError, match=r"Recurrent: lengths must lie in \[1, T=4\]"):
        rnn(nnzoo.randn(4, 2, 2), lengths=[5, 1])
    with pytest.raises(ValueError, match="Recurrent: lengths must be B=2 integers"):
        rnn(nnzoo.randn(4, 2, 2), lengths=[4, 1, 2])
    with pytest.raises(ValueError, match=r"Recurrent: expected input of shape \(T, B, \*\), got \(4, 2\)"):
        rnn(nnzoo.randn(4, 2))


def test_default_init_is_uniform_one_over_sqrt_hidden():
    nnzoo.manual_seed(19)
    H = 16
    for cell in (PeepholeLSTMCell(8, H), CoupledLSTMCell(8, H), ChoGRUCell(8, H), MUT1Cell(H, H), MUT2Cell(H, H),
                 MUT3Cell(8, H)):
        values = np.concatenate([p.detach().numpy().ravel() for p in cell.parameters()])
        bound = 1 / np.sqrt(H)
        assert np.abs(values).max() <= bound
        assert np.abs(values).max() > 0.95 * bound  # it fills the range (thousands of draws)
    conv = ConvLSTMCell(2, 4, kernel_size=3)
    values = np.concatenate([p.detach().numpy().ravel() for p in conv.parameters()])
    assert np.abs(values).max() <= 1 / np.sqrt(4 * 9)


# ---- learning ----------------------------------------------------------------------------------------
def _adding_batch(rng, n, Tn=10):
    """The adding problem: values in [0, 1] and two markers (one in each half); target = sum of the marked."""
    vals = rng.uniform(0, 1, (Tn, n))
    marks = np.zeros((Tn, n))
    first = rng.integers(0, Tn // 2, n)
    second = rng.integers(Tn // 2, Tn, n)
    marks[first, np.arange(n)] = 1
    marks[second, np.arange(n)] = 1
    x = np.stack([vals, marks], -1).astype(np.float32)  # (T, n, 2)
    y = (vals * marks).sum(0, keepdims=True).T.astype(np.float32)  # (n, 1)
    return nnzoo.tensor(x), nnzoo.tensor(y)


def test_mut3_learns_the_adding_problem():
    nnzoo.manual_seed(20)
    rng = np.random.default_rng(21)
    rnn = Recurrent(MUT3Cell(2, 16))
    head = Linear(16, 1)
    opt = Adam(list(rnn.parameters()) + list(head.parameters()), lr=1e-2)
    x_val, y_val = _adding_batch(rng, 512)
    # baseline: the best constant predictor (the targets' mean) has the targets' variance as its MSE
    baseline = float(((y_val - y_val.mean()) ** 2).mean())

    def val_loss():
        with nnzoo.no_grad():
            out, _ = rnn(x_val)
            return float(((head(out[-1]) - y_val) ** 2).mean())

    start = time.perf_counter()
    for _ in range(250):
        x, y = _adding_batch(rng, 64)
        out, _ = rnn(x)
        loss = ((head(out[-1]) - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    final = val_loss()
    elapsed = time.perf_counter() - start
    # 0.5 * baseline is what a model reading only one of the two marked values reaches (Var U(0,1) = 1/12
    # of the sum's 1/6); below a quarter it uses both (measured: about 0.01-0.02 * baseline over 5 seeds)
    assert final < 0.25 * baseline, (final, baseline)
    assert elapsed < 30, elapsed  # a smoke test, not a benchmark: generous for a shared machine
