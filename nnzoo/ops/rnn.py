"""Fused recurrent layers: the whole time loop of one layer and one direction of an RNN (tanh or ReLU),
LSTM (with optional projection) or GRU is one autograd op with a hand-written backprop through time;
and the single-step cells (one op per step) for RNNCell / LSTMCell / GRUCell.

Equations and gate orders are PyTorch's (x the input, h the previous hidden state, W the weights):

- RNN:  h' = tanh(W_ih x + b_ih + W_hh h + b_hh)  (or relu)
- LSTM: (i, f, g, o) = (sigma, sigma, tanh, sigma)(W_ih x + b_ih + W_hh h + b_hh) split in 4 chunks;
  c' = f * c + i * g;  h' = o * tanh(c'), and with a projection h' = W_hr (o * tanh(c'))
- GRU:  (r, z) = sigma(W_i{r,z} x + b_i{r,z} + W_h{r,z} h + b_h{r,z});
  n = tanh(W_in x + b_in + r * (W_hn h + b_hn));  h' = (1 - z) * n + z * h

How the fused op is fast (one GEMM for the input projections of all steps, the loop doing only h @ W_hh^T
and elementwise math in preallocated buffers, the weight gradients as one GEMM over the stacked states,
sigmoid as 1 / (1 + 2^b) with -log2(e) folded into the weights, and the element-wise part of each step as
one compiled kernel where Numba is installed) is in :mod:`nnzoo.kernels.rnn`, the time loops forward and
backward on arrays; this file holds the Op classes, their derivatives, the composed reference and the
public functions. The Ops do not depend on which path ran: the saved arrays mean the same in both (a
forward under ``jit.mode("compiled")`` can be differentiated under ``jit.mode("numpy")`` and back).

Variable lengths follow PyTorch's packed sequences: with the lengths sorted in decreasing order, at step
t only the first n_t = #{b : len_b > t} rows are active; the other rows keep their state (so h_T is each
sequence's state at its last valid step) and their output is 0. A reverse direction runs t = T-1 .. 0
over the same active rows, which is each sequence reversed within its own length.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._args import shape_of
from ..autograd.function import Op
from ..autograd.grad_mode import enable_grad, state
from ..backend import xp
from ..kernels import rnn as K
from ..tensor import Tensor

_make = Tensor._make

__all__ = ["rnn_tanh_layer", "rnn_relu_layer", "lstm_layer", "gru_layer", "recurrent_layer",
           "rnn_tanh_cell", "rnn_relu_cell", "lstm_cell", "gru_cell"]

MODES = ("RNN_TANH", "RNN_RELU", "LSTM", "GRU")
_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


# ---- small helpers ---------------------------------------------------------------------------------
def _grad_array(g, shape, dtype):
    """A gradient Tensor's array, or zeros when the output got no gradient."""
    return xp.zeros(shape, dtype) if g is None else g._data


# ---- the composed form (reference for tests, and the double backward) ------------------------------------
def _composed_cell(mode, x, h, c, w_ih, w_hh, b_ih, b_hh, w_hr):
    """One step of the cell written with ordinary Tensor ops: (h', c') (c' None except for LSTM)."""
    from .nn import linear
    gi = linear(x, w_ih, b_ih)
    gh = linear(h, w_hh, b_hh)
    if mode == "RNN_TANH":
        return (gi + gh).tanh(), None
    if mode == "RNN_RELU":
        return (gi + gh).relu(), None
    if mode == "LSTM":
        i, f, g, o = (gi + gh).chunk(4, 1)
        c_new = f.sigmoid() * c + i.sigmoid() * g.tanh()
        h_new = o.sigmoid() * c_new.tanh()
        if w_hr is not None:
            h_new = linear(h_new, w_hr)
        return h_new, c_new
    ir, iz, in_ = gi.chunk(3, 1)
    hr, hz, hn = gh.chunk(3, 1)
    r = (ir + hr).sigmoid()
    z = (iz + hz).sigmoid()
    n = (in_ + r * hn).tanh()
    return (1 - z) * n + z * h, None


def composed_layer(mode: str, x: Tensor, h0: Tensor, c0: Tensor | None, w_ih: Tensor, w_hh: Tensor,
                   b_ih: Tensor | None = None, b_hh: Tensor | None = None, w_hr: Tensor | None = None,
                   ns: np.ndarray | None = None, reverse: bool = False) -> tuple[Tensor, ...]:
    """The fused layer's result computed step by step with ordinary Tensor ops (slow; the reference
    the fused op is tested against, and what its double backward differentiates).

    ``ns`` are the active rows per step (sorted lengths), as in the fused op."""
    from .shape import stack
    T, B = x.shape[0], x.shape[1]
    outs = [None] * T
    h, c = h0, c0
    for t in K.steps(T, reverse):
        h_new, c_new = _composed_cell(mode, x[t], h, c, w_ih, w_hh, b_ih, b_hh, w_hr)
        if ns is not None and ns[t] < B:
            keep = _make((xp.arange(B) < ns[t]).astype(x._data.dtype)[:, None])
            outs[t] = h_new * keep
            h = h_new * keep + h * (1 - keep)
            if c is not None:
                c = c_new * keep + c * (1 - keep)
        else:
            outs[t] = h = h_new
            c = c_new
    out = stack(outs)
    return (out, h, c) if mode == "LSTM" else (out, h)


# ---- the fused ops ----------------------------------------------------------------------------------------
class _RecurrentLayer(Op):
    """Base of the fused layers. forward(x (T, B, I), h0 (B, H_out), c0 (B, H) or None, w_ih, w_hh,
    b_ih, b_hh, w_hr, ns, reverse) -> (out (T, B, H_out), h_T[, c_T]).

    The backward runs on arrays (the hand-written BPTT). When a graph is being recorded
    (``create_graph=True``), it recomputes the layer with composed Tensor ops and differentiates that
    instead, so double backward works (slowly: one graph node per elementwise op and step)."""

    mode = None

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, ns, reverse):
        outs, S = ctx._kernel(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, ns, reverse)
        # the inputs (for the double backward) and the output (a view of the saved states) are
        # version-checked, so an in-place change before backward raises instead of giving wrong grads
        _save(ctx, S, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, outs[0])
        ctx.ns, ctx.reverse = ns, reverse
        return outs

    @staticmethod
    def backward(ctx, gout, gh, gc=None):
        if state.enabled:
            return _composed_backward(ctx, (gout, gh, gc))
        S = _restore(ctx)
        x = S["x"]
        T, B = x.shape[:2]
        dt = x.dtype
        g_out = _grad_array(gout, (T, B, S["hs"].shape[2]), dt)
        g_h = _grad_array(gh, (B, S["hs"].shape[2]), dt)
        need = ctx.needs_input_grad
        res = ctx._backward_kernel(S, g_out, g_h, gc, need)
        return tuple(None if (r is None or not need[i]) else _make(r) for i, r in enumerate(res)) + (None, None)


class RNNTanhLayer(_RecurrentLayer):
    """The fused tanh RNN layer (see :class:`_RecurrentLayer`): h' = tanh(W_ih x + b_ih + W_hh h + b_hh).

    Backward (BPTT, step t from last to first, dh the carried gradient): da_t = (dh + dout_t) (1 - h_t^2);
    dh_{t-1} = da_t W_hh; then dW_ih = sum_t da_t^T x_t, dW_hh = sum_t da_t^T h_{t-1}, db = sum_t da_t,
    dx_t = da_t W_ih (:func:`nnzoo.kernels.rnn.rnn_backward`)."""

    mode = "RNN_TANH"

    @staticmethod
    def _kernel(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, ns, reverse):
        return K.rnn_forward(False, x, h0, w_ih, w_hh, b_ih, b_hh, ns, reverse)

    @staticmethod
    def _backward_kernel(S, gout, gh, gc, need):
        dx, dh0, dw_ih, dw_hh, db_ih, db_hh = K.rnn_backward(S, gout, gh, need)
        return dx, dh0, None, dw_ih, dw_hh, db_ih, db_hh, None


class RNNReluLayer(RNNTanhLayer):
    """The fused ReLU RNN layer: h' = relu(W_ih x + b_ih + W_hh h + b_hh).

    Backward as the tanh layer's with da_t = (dh + dout_t) [h_t != 0] (PyTorch's threshold_backward)."""

    mode = "RNN_RELU"

    @staticmethod
    def _kernel(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, ns, reverse):
        return K.rnn_forward(True, x, h0, w_ih, w_hh, b_ih, b_hh, ns, reverse)


class LSTMLayer(_RecurrentLayer):
    """The fused LSTM layer (gates i, f, g, o; optional projection W_hr).

    Backward per step, dm = dh (or dh W_hr with the projection), dc the carried cell gradient:
    do = dm tanh(c'); dc += dm o (1 - tanh(c')^2); di = dc g; df = dc c_prev; dg = dc i; dc_prev = dc f;
    through the activations sigma' = s (1 - s), tanh' = 1 - y^2; dh_prev = da W_hh; dW_hr = sum_t dh_t^T m_t
    (:func:`nnzoo.kernels.rnn.lstm_backward`)."""

    mode = "LSTM"

    @staticmethod
    def _kernel(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, ns, reverse):
        return K.lstm_forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, ns, reverse)

    @staticmethod
    def _backward_kernel(S, gout, gh, gc, need):
        B, H = S["cs"].shape[1:]
        g_c = _grad_array(gc, (B, H), S["x"].dtype)
        return K.lstm_backward(S, gout, gh, g_c, need)


class GRULayer(_RecurrentLayer):
    """The fused GRU layer (gates r, z, n; n = tanh(W_in x + b_in + r * (W_hn h + b_hn))).

    Backward per step: dn = dh (1 - z) (1 - n^2); dz = dh (h - n) z (1 - z); dr = dn (W_hn h + b_hn) r (1 - r);
    the recurrent side's n part is dn r; dh_prev = dh z + [dr, dz, dn r] W_hh
    (:func:`nnzoo.kernels.rnn.gru_backward`)."""

    mode = "GRU"

    @staticmethod
    def _kernel(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, ns, reverse):
        return K.gru_forward(x, h0, w_ih, w_hh, b_ih, b_hh, ns, reverse)

    @staticmethod
    def _backward_kernel(S, gout, gh, gc, need):
        dx, dh0, dw_ih, dw_hh, db_ih, db_hh = K.gru_backward(S, gout, gh, need)
        return dx, dh0, None, dw_ih, dw_hh, db_ih, db_hh, None


_LAYER_OPS = {"RNN_TANH": RNNTanhLayer, "RNN_RELU": RNNReluLayer, "LSTM": LSTMLayer, "GRU": GRULayer}


def _save(ctx, S, *tensors):
    """Save ``tensors`` and the kernel's buffers through save_for_backward: the engine then frees the
    buffers with the graph after backward (unless retain_graph) and checks the versions of the tensors.
    Nothing to do when no graph is recorded (the sampling loop under no_grad)."""
    if not state.enabled:
        return
    ctx.n_saved = len(tensors)
    ctx.keys = tuple(k for k, v in S.items() if isinstance(v, xp.ndarray))
    ctx.flags = {k: v for k, v in S.items() if k not in ctx.keys}
    ctx.save_for_backward(*tensors, *(S[k] for k in ctx.keys))


def _restore(ctx):
    """The kernel's saved dict back (raises if the graph was freed or a saved tensor changed in place)."""
    saved = ctx.saved_tensors
    S = dict(ctx.flags)
    S.update((k, t._data) for k, t in zip(ctx.keys, saved[ctx.n_saved:]))
    return S


def _composed_backward(ctx, grads, cell=False):
    """Double-backward path: recompute the layer with composed Tensor ops and differentiate it with a
    graph (``create_graph=True``), so the gradients are themselves differentiable. ``cell``: the op is a
    single step, its input x is (B, I) and its outputs are (h', c')."""
    from ..autograd.engine import grad as autograd_grad
    inputs = ctx.saved_tensors[:7 if cell else 8]
    need = ctx.needs_input_grad
    # proxies: grad() then stops at them instead of walking on into the graph that made the inputs
    proxies = [None if t is None else (t * 1 if need[i] else t.detach()) for i, t in enumerate(inputs)]
    with enable_grad():
        args = list(proxies) + [None] * (8 - len(proxies))
        if cell:
            args[0] = args[0].unsqueeze(0)
        outs = composed_layer(ctx.mode, *args, ns=ctx.ns, reverse=ctx.reverse)
    pairs = [(o, g) for o, g in zip(outs, grads) if g is not None]
    wanted = [i for i in range(len(proxies)) if need[i] and proxies[i] is not None]
    res = autograd_grad([o for o, _ in pairs], [proxies[i] for i in wanted],
                        grad_outputs=[g for _, g in pairs], create_graph=True, allow_unused=True)
    full = [None] * 10
    for i, r in zip(wanted, res):
        full[i] = r
    return tuple(full)


# ---- the public layer functions ---------------------------------------------------------------------------
def _check(cond, msg):
    """Raise RuntimeError(msg()) unless cond; msg is a lambda, so passing checks format nothing."""
    if not cond:
        raise RuntimeError(msg())


def recurrent_layer(mode: str, input: Tensor, hx: Tensor, cx: Tensor | None, w_ih: Tensor, w_hh: Tensor,
                    b_ih: Tensor | None = None, b_hh: Tensor | None = None, w_hr: Tensor | None = None,
                    lengths: Tensor | Sequence[int] | None = None, reverse: bool = False) -> tuple[Tensor, ...]:
    """One layer, one direction of a recurrent network over a whole sequence, as one fused op.

    Args:
        mode: 'RNN_TANH', 'RNN_RELU', 'LSTM' or 'GRU'.
        input: (T, B, I). hx: (B, H_out) initial hidden state; cx: (B, H) initial cell state (LSTM only,
            else None).
        w_ih: (G*H, I); w_hh: (G*H, H_out); b_ih, b_hh: (G*H,) or None; w_hr: (H_out, H) projection
            (LSTM only) or None. G = 1, 4, 3 for RNN, LSTM, GRU.
        lengths: None, or the B sequence lengths (any order): step t of sequence b is used only if
            t < lengths[b]; its output there is 0 and h_T (c_T) is its state at its last valid step.
        reverse: run from the last (valid) step to the first.

    Returns:
        (output (T, B, H_out), h_T (B, H_out)), plus c_T (B, H) for LSTM.

    Example::

        >>> from nnzoo.ops.rnn import recurrent_layer
        >>> x, h = nnzoo.randn(5, 2, 3), nnzoo.zeros(2, 4)
        >>> out, h_t = recurrent_layer("RNN_TANH", x, h, None, nnzoo.randn(4, 3), nnzoo.randn(4, 4))
        >>> out.shape, bool((out[-1] == h_t).all())
        (nnzoo.Size([5, 2, 4]), True)
    """
    if mode not in _LAYER_OPS:
        raise ValueError(f"recurrent_layer: unknown mode {mode!r}; expected one of {MODES}")
    name = mode.lower()
    _check(input.ndim == 3, lambda: f"{name}: input must be (T, B, I), got shape {shape_of(input)}")
    T, B, I = shape_of(input)  # noqa: E741 (I: the input size, PyTorch's name)
    _check(T > 0, lambda: f"{name}: expected sequence length to be larger than 0, got input of shape {shape_of(input)}")
    G = _GATES[mode]
    _check(w_ih.ndim == 2 and w_ih.shape[1] == I and w_ih.shape[0] % G == 0,
           lambda: f"{name}: weight_ih of shape {shape_of(w_ih)} does not fit input of shape {shape_of(input)}: "
           f"expected ({G}*hidden_size, {I})")
    H = w_ih.shape[0] // G
    H_out = w_hr.shape[0] if w_hr is not None else H
    _check(shape_of(w_hh) == (G * H, H_out), lambda: f"{name}: weight_hh has shape {shape_of(w_hh)}, expected "
           f"{(G * H, H_out)}")
    if w_hr is not None:
        _check(mode == "LSTM" and shape_of(w_hr) == (H_out, H),
               lambda: f"{name}: weight_hr of shape {shape_of(w_hr)} must be (proj_size, {H}) and is LSTM only")
    for bname, b in (("bias_ih", b_ih), ("bias_hh", b_hh)):
        _check(b is None or shape_of(b) == (G * H,),
               lambda b=b, bname=bname: f"{name}: {bname} has shape {shape_of(b)}, expected {(G * H,)}")
    _check(shape_of(hx) == (B, H_out), lambda: f"{name}: hx has shape {shape_of(hx)}, expected {(B, H_out)} for "
           f"input of shape {shape_of(input)}")
    if mode == "LSTM":
        _check(cx is not None and shape_of(cx) == (B, H), lambda: f"{name}: cx has shape "
               f"{None if cx is None else shape_of(cx)}, expected {(B, H)}")
    else:
        cx = None
    dt = input._data.dtype
    for t in (hx, cx, w_ih, w_hh, b_ih, b_hh, w_hr):
        _check(t is None or t._data.dtype == dt, lambda t=t: f"{name}: input dtype {input.dtype} and a state or "
               f"weight of dtype {None if t is None else t.dtype} (shape {None if t is None else shape_of(t)}) differ")
    op = _LAYER_OPS[mode]
    if lengths is None:
        return op.apply(input, hx, cx, w_ih, w_hh, b_ih, b_hh, w_hr, None, bool(reverse))
    # the lengths (B ints), the batch order and the active rows per step (ns, T ints) are host index arithmetic
    # host: the B lengths
    lens = np.asarray(lengths._data if isinstance(lengths, Tensor) else lengths).astype(np.int64)
    _check(lens.shape == (B,), lambda: f"{name}: expected {B} lengths for input of shape {shape_of(input)}, got "
           f"shape {lens.shape}")
    _check(bool(((lens >= 0) & (lens <= T)).all()), lambda: f"{name}: lengths must lie in [0, {T}], got "
           f"{lens.tolist()}")
    order = None
    if np.any(lens[:-1] < lens[1:]):  # host: not sorted decreasingly: sort the batch, run, unsort
        order = np.argsort(-lens, kind="stable")  # host: the batch order
        lens = lens[order]
        idx = _make(xp.asarray(order))
        input = input.index_select(1, idx)
        hx = hx.index_select(0, idx)
        cx = cx.index_select(0, idx) if cx is not None else None
    ns = (lens[None, :] > np.arange(T)[:, None]).sum(1)  # host: the active rows of each step
    res = op.apply(input, hx, cx, w_ih, w_hh, b_ih, b_hh, w_hr, None if (ns == B).all() else ns, bool(reverse))
    if order is None:
        return res
    inv = _make(xp.asarray(np.argsort(order)))  # host: the inverse order
    return (res[0].index_select(1, inv),) + tuple(r.index_select(0, inv) for r in res[1:])


def rnn_tanh_layer(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
                   b_hh: Tensor | None = None, lengths: Tensor | Sequence[int] | None = None,
                   reverse: bool = False) -> tuple[Tensor, Tensor]:
    """``recurrent_layer('RNN_TANH', ...)``: (output, h_T)."""
    return recurrent_layer("RNN_TANH", input, hx, None, w_ih, w_hh, b_ih, b_hh, None, lengths, reverse)


def rnn_relu_layer(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
                   b_hh: Tensor | None = None, lengths: Tensor | Sequence[int] | None = None,
                   reverse: bool = False) -> tuple[Tensor, Tensor]:
    """``recurrent_layer('RNN_RELU', ...)``: (output, h_T)."""
    return recurrent_layer("RNN_RELU", input, hx, None, w_ih, w_hh, b_ih, b_hh, None, lengths, reverse)


def lstm_layer(input: Tensor, hx: Tensor, cx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
               b_hh: Tensor | None = None, w_hr: Tensor | None = None, lengths: Tensor | Sequence[int] | None = None,
               reverse: bool = False) -> tuple[Tensor, Tensor, Tensor]:
    """``recurrent_layer('LSTM', ...)``: (output, h_T, c_T)."""
    return recurrent_layer("LSTM", input, hx, cx, w_ih, w_hh, b_ih, b_hh, w_hr, lengths, reverse)


def gru_layer(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
              b_hh: Tensor | None = None, lengths: Tensor | Sequence[int] | None = None,
              reverse: bool = False) -> tuple[Tensor, Tensor]:
    """``recurrent_layer('GRU', ...)``: (output, h_T)."""
    return recurrent_layer("GRU", input, hx, None, w_ih, w_hh, b_ih, b_hh, None, lengths, reverse)


# ---- single-step cells -----------------------------------------------------------------------------------
class _CellStep:
    """Mixin: the fused layer run for one step, x (B, I) -> h' (B, H) [, c' (B, H)], one op per step.
    The output is the final state itself, so its gradient goes in as the gradient of h_T."""

    @staticmethod
    def forward(ctx, x, h, c, w_ih, w_hh, b_ih, b_hh):
        outs, S = ctx._kernel(x[None], h, c, w_ih, w_hh, b_ih, b_hh, None, None, False)
        _save(ctx, S, x, h, c, w_ih, w_hh, b_ih, b_hh)
        ctx.ns, ctx.reverse = None, False
        return outs[1] if len(outs) == 2 else outs[1:]

    @staticmethod
    def backward(ctx, gh, gc=None):
        if state.enabled:
            return _composed_backward(ctx, (None, gh, gc), cell=True)[:7]
        S = _restore(ctx)
        x = S["x"]
        B = x.shape[1]
        dt = x.dtype
        P = S["hs"].shape[2]
        need = (ctx.needs_input_grad[:7]) + [False]
        res = ctx._backward_kernel(S, xp.zeros((1, B, P), dt), gh._data, gc, need)
        out = [None if (r is None or not need[i]) else _make(r) for i, r in enumerate(res[:7])]
        if out[0] is not None:
            out[0] = _make(res[0][0])
        return tuple(out)


class RNNTanhCellStep(_CellStep, RNNTanhLayer):
    """One step of the tanh RNN cell as one op."""


class RNNReluCellStep(_CellStep, RNNReluLayer):
    """One step of the ReLU RNN cell as one op."""


class LSTMCellStep(_CellStep, LSTMLayer):
    """One step of the LSTM cell as one op: (h', c')."""


class GRUCellStep(_CellStep, GRULayer):
    """One step of the GRU cell as one op."""


def _cell_checks(name, input, hx, w_ih, w_hh, G):
    _check(input.ndim == 2 and input.shape[1] == w_ih.shape[1],
           lambda: f"{name}: input of shape {shape_of(input)} does not fit weight_ih of shape {shape_of(w_ih)}: "
           f"expected (batch, {w_ih.shape[1]})")
    H = w_hh.shape[1]
    _check(shape_of(hx) == (input.shape[0], H), lambda: f"{name}: hidden of shape {shape_of(hx)} does not fit input of "
           f"shape {shape_of(input)}: expected {(input.shape[0], H)}")
    _check(w_ih.shape[0] == G * H and shape_of(w_hh) == (G * H, H), lambda: f"{name}: weight_ih {shape_of(w_ih)} and "
           f"weight_hh {shape_of(w_hh)} do not fit hidden size {H}")


def rnn_tanh_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
                  b_hh: Tensor | None = None) -> Tensor:
    """h' = tanh(W_ih x + b_ih + W_hh h + b_hh), one op. input (B, I), hx (B, H) -> (B, H).

    Example::

        >>> from nnzoo.ops.rnn import rnn_tanh_cell
        >>> rnn_tanh_cell(nnzoo.ones(2, 3), nnzoo.zeros(2, 4), nnzoo.zeros(4, 3), nnzoo.zeros(4, 4))
        tensor([[0., 0., 0., 0.],
                [0., 0., 0., 0.]])
    """
    _cell_checks("rnn_tanh_cell", input, hx, w_ih, w_hh, 1)
    return RNNTanhCellStep.apply(input, hx, None, w_ih, w_hh, b_ih, b_hh)


def rnn_relu_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
                  b_hh: Tensor | None = None) -> Tensor:
    """h' = relu(W_ih x + b_ih + W_hh h + b_hh), one op. input (B, I), hx (B, H) -> (B, H)."""
    _cell_checks("rnn_relu_cell", input, hx, w_ih, w_hh, 1)
    return RNNReluCellStep.apply(input, hx, None, w_ih, w_hh, b_ih, b_hh)


def lstm_cell(input: Tensor, hx: Tensor, cx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
              b_hh: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """One LSTM step, one op: (h', c') with c' = f c + i g, h' = o tanh(c'); input (B, I), hx, cx (B, H)."""
    _cell_checks("lstm_cell", input, hx, w_ih, w_hh, 4)
    _check(shape_of(cx) == shape_of(hx),
           lambda: f"lstm_cell: cx of shape {shape_of(cx)} and hx of shape {shape_of(hx)} differ")
    return LSTMCellStep.apply(input, hx, cx, w_ih, w_hh, b_ih, b_hh)


def gru_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
             b_hh: Tensor | None = None) -> Tensor:
    """One GRU step, one op: h' = (1 - z) n + z h; input (B, I), hx (B, H) -> (B, H)."""
    _cell_checks("gru_cell", input, hx, w_ih, w_hh, 3)
    return GRUCellStep.apply(input, hx, None, w_ih, w_hh, b_ih, b_hh)
