"""Fused recurrent layers: the whole time loop of one layer and one direction of an RNN (tanh or ReLU),
LSTM (with optional projection) or GRU is one autograd op with a hand-written backprop through time;
and the single-step cells (one op per step) for RNNCell / LSTMCell / GRUCell.

Equations and gate orders are PyTorch's (x the input, h the previous hidden state, W the weights):

- RNN:  h' = tanh(W_ih x + b_ih + W_hh h + b_hh)  (or relu)
- LSTM: (i, f, g, o) = (sigma, sigma, tanh, sigma)(W_ih x + b_ih + W_hh h + b_hh) split in 4 chunks;
  c' = f * c + i * g;  h' = o * tanh(c'), and with a projection h' = W_hr (o * tanh(c'))
- GRU:  (r, z) = sigma(W_i{r,z} x + b_i{r,z} + W_h{r,z} h + b_h{r,z});
  n = tanh(W_in x + b_in + r * (W_hn h + b_hn));  h' = (1 - z) * n + z * h

How the fused op is fast (the cuDNN recipe, in NumPy):

- the input projections of all T steps are ONE GEMM, (T*B, I) @ (I, G); the Python loop only does
  h @ W_hh^T and elementwise math, written into preallocated buffers with ``out=``;
- the backward walks the steps in reverse, keeping only dh (and dc) as the carried state; the gradients
  of the pre-activations of every step are stacked in one (T*B, G) buffer, so dW_hh, dW_ih, the biases
  and dx are each ONE GEMM (or sum) after the loop;
- sigmoid(a) = 1 / (1 + e^-a), PyTorch's form, over the whole gate block at once (exp, add, divide on a
  contiguous block; the tanh gate's columns then get their tanh): a long loop folds -log2(e) into the
  sigmoid gates' rows of the copies of W_ih, W_hh and the biases it makes anyway, so that each step takes
  2^b, ~2x cheaper than e^-a in NumPy's float32 (e^-a to a relative ~|a| u, the size the rounding of a
  itself gives it); a short loop (a cell step) negates the block and takes e^-a, PyTorch's numbers.
  NOTE: the old 0.5 tanh(a / 2) + 0.5 (one tanh over the block) has an absolute error of ~2^-25, not a
  relative one: small gates (a < 0) came out up to 100% off in float32 (2e-6 relative at sigmoid = 0.011,
  0.7% at a = -13.7, 0 below a = -17 where PyTorch gives e^a), which the weight gradients multiplied by
  1e4-sized states or lost in cancellation (found by the differential fuzzer).

Variable lengths follow PyTorch's packed sequences: with the lengths sorted in decreasing order, at step
t only the first n_t = #{b : len_b > t} rows are active; the other rows keep their state (so h_T is each
sequence's state at its last valid step) and their output is 0. A reverse direction runs t = T-1 .. 0
over the same active rows, which is each sequence reversed within its own length.
"""
import contextlib
import functools

import numpy as np

from ..autograd.function import Op
from ..autograd.grad_mode import enable_grad, state
from ..backend import xp
from ..tensor import Tensor

_make = Tensor._make

__all__ = ["rnn_tanh_layer", "rnn_relu_layer", "lstm_layer", "gru_layer", "recurrent_layer",
           "rnn_tanh_cell", "rnn_relu_cell", "lstm_cell", "gru_cell"]

MODES = ("RNN_TANH", "RNN_RELU", "LSTM", "GRU")
_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


# ---- small helpers on arrays ------------------------------------------------------------------------
def _steps(T, reverse):
    """The time steps in processing order."""
    return range(T - 1, -1, -1) if reverse else range(T)


def _active_steps(T, reverse, ns, B, *states):
    """The forward loop's steps with their active rows: yields ``(t, n, prevs, news)`` for each step that has
    active rows, ``prevs``/``news`` the views ``state[t + p]``/``state[t + q]`` of each (T+1, B, .) buffer in
    ``states``. Rows n: (sequences already ended) carry their state over; a step with n = 0 is skipped."""
    p, q = _prev_next(reverse)
    for t in _steps(T, reverse):
        n = B if ns is None else ns[t]
        prevs, news = [s[t + p] for s in states], [s[t + q] for s in states]
        if n < B:
            for prev, new in zip(prevs, news):
                new[n:] = prev[n:]
        if n:
            yield t, n, prevs, news


def _prev_next(reverse):
    """Offsets into the (T+1, B, H) state buffer: step t reads state[t + p] and writes state[t + q]."""
    return (1, 0) if reverse else (0, 1)


def _project(x, w_ih, b_ih, b_hh=None, scale_h=None):
    """The input projections of all steps in one GEMM: (T, B, I) -> (T, B, G), biases added. With
    ``scale_h`` = H, those of the sigmoid gates come out times -log2(e) (:func:`_scaled_gates`)."""
    T, B, I = x.shape
    G = w_ih.shape[0]
    if scale_h is not None:
        w_ih = _scaled_gates(w_ih, scale_h)
    a = xp.matmul(x.reshape(T * B, I), w_ih.T)
    if b_ih is not None:
        b = b_ih if b_hh is None else b_ih + b_hh
        a += b if scale_h is None else _scaled_gates(b, scale_h)  # one pass over the (T*B, G) block
    return a.reshape(T, B, G)  # G spelled out: with B = 0, -1 cannot be inferred


def _scaled_gates(w, H):
    """A copy of ``w`` (the gate rows of a weight, or a bias) with the sigmoid gates' rows times -log2(e), so
    that a long loop's pre-activations b give the sigmoid as 1 / (1 + 2^b): all rows but 2H:3H, the tanh
    gate (LSTM's g, GRU's n)."""
    out = np.multiply(w, w.dtype.type(-np.log2(np.e)))
    out[2 * H:3 * H] = w[2 * H:3 * H]
    return out


def _folds(T):
    """Whether a loop of T steps folds -log2(e) into copies of the weights (:func:`_scaled_gates`; ~0.1 ms
    for LSTM(256, 256)) and takes 2^b, rather than negating each step's gate block and taking e^-a (a short
    loop: a cell step at batch 1 would pay ~10x for the copies). NOTE: NumPy's float32 exp2 is ~2x faster
    than its exp (7.7 against 15 us on a (32, 1024) block), as fast as the old form's tanh."""
    return T > 4


def _recurrent_weight(w_hh, T, H=None):
    """W_hh^T for the loop's h @ W_hh^T: a C-contiguous copy when the loop is long enough to repay it, with
    the sigmoid gates' columns scaled when H is given (:func:`_scaled_gates`).
    NOTE: measured ~10% faster per (32, 256) @ (256, 1024) GEMM than the transposed view."""
    if not _folds(T):
        return w_hh.T
    return np.ascontiguousarray((w_hh if H is None else _scaled_gates(w_hh, H)).T)


def _loop_errstate(fold):
    """The context of a kernel's time loop. e^-a overflows for a < -88 (float32), giving the right limit
    (sigmoid 0): a long loop silences NumPy's warning once around it; a short one lets it through (README:
    NumPy's RuntimeWarnings), as np.errstate costs a cell step at batch 1 about as much as its gate math."""
    return np.errstate(over="ignore") if fold else contextlib.nullcontext()


@functools.lru_cache(maxsize=64)
def _derivative_vectors(H, dtype, sig_cols):
    """Per-column constants for the derivative of a gate block's activations y: k + y * (m - y) with
    k = 1 / 0 and m = 0 / 1 on tanh / sigmoid columns (tanh: 1 - y^2; sigmoid: y (1 - y), PyTorch's form:
    1 - y is exact, where y - y^2 would lose digits as y nears 1)."""
    n = len(sig_cols)
    k = np.ones(n * H, dtype)
    m = np.zeros(n * H, dtype)
    for j, is_sig in enumerate(sig_cols):
        if is_sig:
            cols = slice(j * H, (j + 1) * H)
            k[cols], m[cols] = 0.0, 1.0
    for v in (k, m):
        v.flags.writeable = False  # cached and shared
    return k, m


def _out_mask(out_all, ns, B):
    """out[t, b] = state[t, b] for active rows (b < n_t), 0 for the rest (a new array)."""
    T = len(ns)
    mask = (np.arange(B)[None, :] < ns[:, None]).astype(out_all.dtype)
    return out_all * mask.reshape(T, B, 1)


def _grad_array(g, shape, dtype):
    """A gradient Tensor's array, or zeros when the output got no gradient."""
    return np.zeros(shape, dtype) if g is None else g._data


# ---- RNN (tanh / relu) --------------------------------------------------------------------------------
def _rnn_forward(relu, x, h0, w_ih, w_hh, b_ih, b_hh, ns, reverse):
    T, B, _ = x.shape
    H = h0.shape[1]
    a_all = _project(x, w_ih, b_ih, b_hh)
    hs = np.empty((T + 1, B, H), x.dtype)
    hs[T if reverse else 0] = h0
    whh_t = _recurrent_weight(w_hh, T)
    tmp = np.empty((B, H), x.dtype)
    for t, n, (h_prev,), (h_new,) in _active_steps(T, reverse, ns, B, hs):
        a = a_all[t, :n]
        a += xp.matmul(h_prev[:n], whh_t, out=tmp[:n])
        if relu:
            np.maximum(a, 0, out=h_new[:n])
        else:
            np.tanh(a, out=h_new[:n])
    out_all = hs[:T] if reverse else hs[1:]
    out = out_all if ns is None else _out_mask(out_all, ns, B)
    h_t = hs[0 if reverse else T].copy()
    saved = dict(x=x, hs=hs, w_ih=w_ih, w_hh=w_hh, relu=relu, ns=ns, reverse=reverse, bias=b_ih is not None)
    return (out, h_t), saved


def _rnn_backward(S, gout, gh, need):
    """BPTT of the tanh / relu RNN.

    NOTE: relu's derivative is PyTorch's threshold_backward: the gradient is zeroed where h' <= 0 and passed
    elsewhere, NaN states included (h' = max(a, 0) is >= 0 or NaN, so the mask is h' != 0; h' > 0 would stop
    the gradient at a NaN state). The loop applies it as a product with the mask, as fast as the old h' > 0
    test, but where the gradient is +-inf or NaN at a masked position that product is NaN instead of 0. It
    can only then put a NaN into the pre-activation gradients, so when they hold one the loop is run again
    with a select (np.where; a relu layer of 256 at T=100 is ~18% slower with it on every step); otherwise
    the product's result is the exact one."""
    da_all, dh = _rnn_bptt(S, gout, gh, select=False)
    if S["relu"] and da_all.size and np.isnan(da_all.max()):  # max propagates NaN: one pass, < 1.5% of a step
        da_all, dh = _rnn_bptt(S, gout, gh, select=True)
    x, hs = S["x"], S["hs"]
    h_prev = hs[1:] if S["reverse"] else hs[:x.shape[0]]
    return _weight_grads(S, x, da_all, da_all, h_prev, dh, need)


def _rnn_bptt(S, gout, gh, select):
    """The reverse time loop: (the pre-activation gradients (T, B, H), dh0). ``select``: relu's mask applied
    with np.where (exact for non-finite gradients) instead of a product (see :func:`_rnn_backward`)."""
    x, hs, w_hh, ns, reverse = S["x"], S["hs"], S["w_hh"], S["ns"], S["reverse"]
    T, B, _ = x.shape
    H = hs.shape[2]
    p, q = _prev_next(reverse)
    dh = gh.astype(x.dtype, copy=True)
    da_all = np.zeros((T, B, H), x.dtype) if ns is not None else np.empty((T, B, H), x.dtype)
    for t in _steps(T, not reverse):
        n = B if ns is None else ns[t]
        if n == 0:
            continue
        dhn = dh[:n]
        dhn += gout[t, :n]
        h_new = hs[t + q, :n]
        da = da_all[t, :n]
        if S["relu"]:
            if select:
                da[...] = np.where(h_new != 0, dhn, 0)
            else:
                np.multiply(dhn, h_new != 0, out=da)
        else:  # d tanh = 1 - h'^2
            np.multiply(h_new, h_new, out=da)
            np.subtract(1, da, out=da)
            da *= dhn
        xp.matmul(da, w_hh, out=dhn)
    return da_all, dh


def _weight_grads(S, x, dgi, dgh, h_prev, dh0, need):
    """The GEMMs after the loop: dx, dW_ih, dW_hh, db_ih, db_hh from the stacked pre-activation grads
    (dgi for the input side, dgh for the recurrent side; the same array except in GRU)."""
    T, B, I = x.shape
    G = dgi.shape[2]
    dgi2 = dgi.reshape(T * B, G)
    dgh2 = dgh.reshape(T * B, G)
    dx = xp.matmul(dgi2, S["w_ih"]).reshape(T, B, I) if need[0] else None
    dw_ih = xp.matmul(dgi2.T, x.reshape(T * B, I)) if need[3] else None
    dw_hh = xp.matmul(dgh2.T, h_prev.reshape(T * B, h_prev.shape[-1])) if need[4] else None
    db_ih = dgi2.sum(0) if S["bias"] and need[5] else None
    db_hh = (db_ih if dgh is dgi and db_ih is not None else dgh2.sum(0)) if S["bias"] and need[6] else None
    return dx, dh0, dw_ih, dw_hh, db_ih, db_hh


# ---- LSTM -----------------------------------------------------------------------------------------------
def _lstm_forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, ns, reverse):
    T, B, _ = x.shape
    H, P = c0.shape[1], h0.shape[1]
    dt = x.dtype
    # pre-activations, those of the sigmoid gates i, f, o scaled (_folds), turned into activations in place
    fold = _folds(T)
    acts = _project(x, w_ih, b_ih, b_hh, H if fold else None)
    hs = np.empty((T + 1, B, P), dt)
    cs = np.empty((T + 1, B, H), dt)
    tcs = np.empty((T, B, H), dt)  # tanh(c_t)
    # o * tanh(c_t) before the projection (zeros: with lengths the inactive rows enter dW_hr's GEMM)
    ms = (np.zeros if ns is not None else np.empty)((T, B, H), dt) if w_hr is not None else None
    tmp = np.empty((B, H), dt)
    tmp4 = np.empty((B, 4 * H), dt)
    hs[T if reverse else 0] = h0
    cs[T if reverse else 0] = c0
    whh_t = _recurrent_weight(w_hh, T, H)
    whr_t = w_hr.T if w_hr is not None else None
    H2, H3 = 2 * H, 3 * H
    with _loop_errstate(fold):
        for t, n, (h_prev, c_prev), (h_new, c_new) in _active_steps(T, reverse, ns, B, hs, cs):
            a = acts[t, :n]
            pre = xp.matmul(h_prev[:n], whh_t, out=tmp4[:n])
            pre += a  # the pre-activations, the sigmoid gates' scaled when folded
            # 1 / (1 + e^-a) over the whole block (contiguous: a call on column slices costs ~3x more) into
            # the activations, then g's columns (a placeholder so far) get their tanh
            if fold:
                np.exp2(pre, out=a)
            else:
                np.multiply(pre, -1, out=a)
                np.exp(a, out=a)
            a += 1
            np.divide(1, a, out=a)
            i, f, g, o = a[:, :H], a[:, H:H2], a[:, H2:H3], a[:, H3:]
            np.tanh(pre[:, H2:H3], out=g)
            c = c_new[:n]
            np.multiply(f, c_prev[:n], out=c)
            np.multiply(i, g, out=tmp[:n])
            c += tmp[:n]
            tc = tcs[t, :n]
            np.tanh(c, out=tc)
            if ms is None:
                np.multiply(o, tc, out=h_new[:n])
            else:
                m = ms[t, :n]
                np.multiply(o, tc, out=m)
                xp.matmul(m, whr_t, out=h_new[:n])
    out_all = hs[:T] if reverse else hs[1:]
    out = out_all if ns is None else _out_mask(out_all, ns, B)
    last = 0 if reverse else T
    saved = dict(x=x, hs=hs, cs=cs, acts=acts, tcs=tcs, ms=ms, w_ih=w_ih, w_hh=w_hh, w_hr=w_hr, ns=ns,
                 reverse=reverse, bias=b_ih is not None)
    return (out, hs[last].copy(), cs[last].copy()), saved


def _lstm_backward(S, gout, gh, gc, need):
    x, hs, cs, acts, tcs, ms = S["x"], S["hs"], S["cs"], S["acts"], S["tcs"], S["ms"]
    w_hh, w_hr, ns, reverse = S["w_hh"], S["w_hr"], S["ns"], S["reverse"]
    T, B, _ = x.shape
    H, P = cs.shape[2], hs.shape[2]
    dt = x.dtype
    k, m_ = _derivative_vectors(H, np.dtype(dt), (True, True, False, True))
    p, _q = _prev_next(reverse)
    dh = gh.astype(dt, copy=True)
    dc = gc.astype(dt, copy=True)
    alloc = np.zeros if ns is not None else np.empty
    da_all = alloc((T, B, 4 * H), dt)
    dhs = alloc((T, B, P), dt) if ms is not None else None  # dL/dh_t, for dW_hr
    tmp = np.empty((B, H), dt)
    tmp4 = np.empty((B, 4 * H), dt)
    H2, H3 = 2 * H, 3 * H
    for t in _steps(T, not reverse):
        n = B if ns is None else ns[t]
        if n == 0:
            continue
        dhn = dh[:n]
        dhn += gout[t, :n]
        if ms is None:
            dm = dhn
        else:
            dhs[t, :n] = dhn
            dm = xp.matmul(dhn, w_hr)
        a = acts[t, :n]
        i, f, g, o = a[:, :H], a[:, H:H2], a[:, H2:H3], a[:, H3:]
        tc = tcs[t, :n]
        d = da_all[t, :n]
        di, df, dg, do = d[:, :H], d[:, H:H2], d[:, H2:H3], d[:, H3:]
        np.multiply(dm, tc, out=do)
        # dc += dm * o * (1 - tanh(c)^2)
        tn = tmp[:n]
        np.multiply(tc, tc, out=tn)
        np.subtract(1, tn, out=tn)
        tn *= o
        tn *= dm
        dcn = dc[:n]
        dcn += tn
        np.multiply(dcn, g, out=di)
        np.multiply(dcn, cs[t + p, :n], out=df)
        np.multiply(dcn, i, out=dg)
        dcn *= f
        # through the activations: derivative k + y * (m - y) per column
        der = tmp4[:n]
        np.subtract(m_, a, out=der)
        der *= a
        der += k
        d *= der
        xp.matmul(d, w_hh, out=dhn)
    h_prev = hs[1:] if reverse else hs[:T]
    grads = _weight_grads(S, x, da_all, da_all, h_prev, dh, need)
    dw_hr = None
    if ms is not None and need[7]:
        dw_hr = xp.matmul(dhs.reshape(T * B, P).T, ms.reshape(T * B, H))
    dx, dh0, dw_ih, dw_hh, db_ih, db_hh = grads
    return dx, dh0, dc, dw_ih, dw_hh, db_ih, db_hh, dw_hr


# ---- GRU ------------------------------------------------------------------------------------------------
def _gru_forward(x, h0, w_ih, w_hh, b_ih, b_hh, ns, reverse):
    T, B, _ = x.shape
    H = h0.shape[1]
    dt = x.dtype
    # the pre-activations of r and z scaled (_folds, else negated each step); the input side only: b_hh
    # stays with W_hh h (r multiplies its n part)
    fold = _folds(T)
    acts = _project(x, w_ih, b_ih, scale_h=H if fold else None)
    ghs = np.empty((T, B, 3 * H), dt)  # W_hh h + b_hh of every step (backward needs its n part, unscaled)
    hs = np.empty((T + 1, B, H), dt)
    tmp = np.empty((B, H), dt)
    hs[T if reverse else 0] = h0
    whh_t = _recurrent_weight(w_hh, T, H)
    if fold and b_hh is not None:
        b_hh = _scaled_gates(b_hh, H)
    H2 = 2 * H
    with _loop_errstate(fold):
        for t, n, (h_prev,), (h_new,) in _active_steps(T, reverse, ns, B, hs):
            a = acts[t, :n]
            gh = ghs[t, :n]
            xp.matmul(h_prev[:n], whh_t, out=gh)
            if b_hh is not None:
                gh += b_hh
            rz = a[:, :H2]
            rz += gh[:, :H2]
            if fold:
                np.exp2(rz, out=rz)
            else:
                rz *= -1  # NOTE: not np.negative, whose float32 loop in NumPy 2.4 reads a strided input
                # as contiguous when the output is strided too and a row is one element wide
                np.exp(rz, out=rz)
            rz += 1
            np.divide(1, rz, out=rz)
            r, z, nn = a[:, :H], a[:, H:H2], a[:, H2:]
            tn = tmp[:n]
            np.multiply(r, gh[:, H2:], out=tn)
            nn += tn
            np.tanh(nn, out=nn)
            # h' = n + z * (h - n)
            np.subtract(h_prev[:n], nn, out=tn)
            tn *= z
            np.add(nn, tn, out=h_new[:n])
    out_all = hs[:T] if reverse else hs[1:]
    out = out_all if ns is None else _out_mask(out_all, ns, B)
    saved = dict(x=x, hs=hs, acts=acts, ghs=ghs, w_ih=w_ih, w_hh=w_hh, ns=ns, reverse=reverse,
                 bias=b_ih is not None)
    return (out, hs[0 if reverse else T].copy()), saved


def _gru_backward(S, gout, gh, need):
    x, hs, acts, ghs, w_hh, ns, reverse = S["x"], S["hs"], S["acts"], S["ghs"], S["w_hh"], S["ns"], S["reverse"]
    T, B, _ = x.shape
    H = hs.shape[2]
    dt = x.dtype
    p, _q = _prev_next(reverse)
    dh = gh.astype(dt, copy=True)
    alloc = np.zeros if ns is not None else np.empty
    dgi_all = alloc((T, B, 3 * H), dt)  # grads of the input-side pre-activations
    dgh_all = alloc((T, B, 3 * H), dt)  # grads of W_hh h + b_hh
    tmp = np.empty((B, H), dt)
    tmp2 = np.empty((B, 2 * H), dt)
    H2 = 2 * H
    for t in _steps(T, not reverse):
        n = B if ns is None else ns[t]
        if n == 0:
            continue
        dhn = dh[:n]
        dhn += gout[t, :n]
        a = acts[t, :n]
        r, z, nn = a[:, :H], a[:, H:H2], a[:, H2:]
        h_prev = hs[t + p, :n]
        dgi = dgi_all[t, :n]
        dgh = dgh_all[t, :n]
        dar, daz, dan = dgi[:, :H], dgi[:, H:H2], dgi[:, H2:]
        tn = tmp[:n]
        # dan = dh * (1 - z) * (1 - n^2)
        np.multiply(nn, nn, out=dan)
        np.subtract(1, dan, out=dan)
        dan *= dhn
        np.multiply(dan, z, out=tn)
        dan -= tn
        # daz (before the sigmoid) = dh * (h - n);  dar (before the sigmoid) = dan * (W_hn h + b_hn)
        np.subtract(h_prev, nn, out=daz)
        daz *= dhn
        np.multiply(dan, ghs[t, :n, H2:], out=dar)
        # through the sigmoids of r and z: (1 - y) y, PyTorch's form (1 - y is exact; y - y^2 loses digits
        # as y nears 1)
        rz = a[:, :H2]
        der = tmp2[:n]
        np.subtract(1, rz, out=der)
        der *= rz
        drz = dgi[:, :H2]
        drz *= der
        dgh[:, :H2] = drz
        np.multiply(dan, r, out=dgh[:, H2:])
        # dh_prev = dh * z + dgh @ W_hh
        np.multiply(dhn, z, out=tn)
        xp.matmul(dgh, w_hh, out=dhn)
        dhn += tn
    h_prev = hs[1:] if reverse else hs[:T]
    return _weight_grads(S, x, dgi_all, dgh_all, h_prev, dh, need)


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


def composed_layer(mode, x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, w_hr=None, ns=None, reverse=False):
    """The fused layer's result computed step by step with ordinary Tensor ops (slow; the reference
    the fused op is tested against, and what its double backward differentiates).

    ``ns`` are the active rows per step (sorted lengths), as in the fused op."""
    from .shape import stack
    T, B = x.shape[0], x.shape[1]
    outs = [None] * T
    h, c = h0, c0
    for t in _steps(T, reverse):
        h_new, c_new = _composed_cell(mode, x[t], h, c, w_ih, w_hh, b_ih, b_hh, w_hr)
        if ns is not None and ns[t] < B:
            keep = _make((np.arange(B) < ns[t]).astype(x._data.dtype)[:, None])
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
    """The fused tanh RNN layer (see :class:`_RecurrentLayer`): h' = tanh(W_ih x + b_ih + W_hh h + b_hh)."""

    mode = "RNN_TANH"

    @staticmethod
    def _kernel(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, ns, reverse):
        return _rnn_forward(False, x, h0, w_ih, w_hh, b_ih, b_hh, ns, reverse)

    @staticmethod
    def _backward_kernel(S, gout, gh, gc, need):
        dx, dh0, dw_ih, dw_hh, db_ih, db_hh = _rnn_backward(S, gout, gh, need)
        return dx, dh0, None, dw_ih, dw_hh, db_ih, db_hh, None


class RNNReluLayer(RNNTanhLayer):
    """The fused ReLU RNN layer: h' = relu(W_ih x + b_ih + W_hh h + b_hh)."""

    mode = "RNN_RELU"

    @staticmethod
    def _kernel(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, ns, reverse):
        return _rnn_forward(True, x, h0, w_ih, w_hh, b_ih, b_hh, ns, reverse)


class LSTMLayer(_RecurrentLayer):
    """The fused LSTM layer (gates i, f, g, o; optional projection W_hr)."""

    mode = "LSTM"

    @staticmethod
    def _kernel(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, ns, reverse):
        return _lstm_forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, ns, reverse)

    @staticmethod
    def _backward_kernel(S, gout, gh, gc, need):
        B, H = S["cs"].shape[1:]
        g_c = _grad_array(gc, (B, H), S["x"].dtype)
        return _lstm_backward(S, gout, gh, g_c, need)


class GRULayer(_RecurrentLayer):
    """The fused GRU layer (gates r, z, n; n = tanh(W_in x + b_in + r * (W_hn h + b_hn)))."""

    mode = "GRU"

    @staticmethod
    def _kernel(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, ns, reverse):
        return _gru_forward(x, h0, w_ih, w_hh, b_ih, b_hh, ns, reverse)

    @staticmethod
    def _backward_kernel(S, gout, gh, gc, need):
        dx, dh0, dw_ih, dw_hh, db_ih, db_hh = _gru_backward(S, gout, gh, need)
        return dx, dh0, None, dw_ih, dw_hh, db_ih, db_hh, None


_LAYER_OPS = {"RNN_TANH": RNNTanhLayer, "RNN_RELU": RNNReluLayer, "LSTM": LSTMLayer, "GRU": GRULayer}


def _save(ctx, S, *tensors):
    """Save ``tensors`` and the kernel's buffers through save_for_backward: the engine then frees the
    buffers with the graph after backward (unless retain_graph) and checks the versions of the tensors.
    Nothing to do when no graph is recorded (the sampling loop under no_grad)."""
    if not state.enabled:
        return
    ctx.n_saved = len(tensors)
    ctx.keys = tuple(k for k, v in S.items() if isinstance(v, np.ndarray))
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


def _shape(t):
    return None if t is None else t._data.shape


def recurrent_layer(mode, input, hx, cx, w_ih, w_hh, b_ih=None, b_hh=None, w_hr=None, lengths=None,
                    reverse=False):
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
    _check(input.ndim == 3, lambda: f"{name}: input must be (T, B, I), got shape {_shape(input)}")
    T, B, I = _shape(input)
    _check(T > 0, lambda: f"{name}: expected sequence length to be larger than 0, got input of shape {_shape(input)}")
    G = _GATES[mode]
    _check(w_ih.ndim == 2 and w_ih.shape[1] == I and w_ih.shape[0] % G == 0,
           lambda: f"{name}: weight_ih of shape {_shape(w_ih)} does not fit input of shape {_shape(input)}: "
           f"expected ({G}*hidden_size, {I})")
    H = w_ih.shape[0] // G
    H_out = w_hr.shape[0] if w_hr is not None else H
    _check(_shape(w_hh) == (G * H, H_out), lambda: f"{name}: weight_hh has shape {_shape(w_hh)}, expected "
           f"{(G * H, H_out)}")
    if w_hr is not None:
        _check(mode == "LSTM" and _shape(w_hr) == (H_out, H),
               lambda: f"{name}: weight_hr of shape {_shape(w_hr)} must be (proj_size, {H}) and is LSTM only")
    for bname, b in (("bias_ih", b_ih), ("bias_hh", b_hh)):
        _check(b is None or _shape(b) == (G * H,), lambda: f"{name}: {bname} has shape {_shape(b)}, expected "
               f"{(G * H,)}")
    _check(_shape(hx) == (B, H_out), lambda: f"{name}: hx has shape {_shape(hx)}, expected {(B, H_out)} for input of "
           f"shape {_shape(input)}")
    if mode == "LSTM":
        _check(cx is not None and _shape(cx) == (B, H), lambda: f"{name}: cx has shape "
               f"{None if cx is None else _shape(cx)}, expected {(B, H)}")
    else:
        cx = None
    dt = input._data.dtype
    for t in (hx, cx, w_ih, w_hh, b_ih, b_hh, w_hr):
        _check(t is None or t._data.dtype == dt, lambda: f"{name}: input dtype {input.dtype} and a state or weight "
               f"of dtype {None if t is None else t.dtype} (shape {None if t is None else _shape(t)}) differ")
    op = _LAYER_OPS[mode]
    if lengths is None:
        return op.apply(input, hx, cx, w_ih, w_hh, b_ih, b_hh, w_hr, None, bool(reverse))
    lens = np.asarray(lengths._data if isinstance(lengths, Tensor) else lengths).astype(np.int64)
    _check(lens.shape == (B,), lambda: f"{name}: expected {B} lengths for input of shape {_shape(input)}, got "
           f"shape {lens.shape}")
    _check(bool(((lens >= 0) & (lens <= T)).all()), lambda: f"{name}: lengths must lie in [0, {T}], got "
           f"{lens.tolist()}")
    order = None
    if np.any(lens[:-1] < lens[1:]):  # not sorted decreasingly: sort the batch, run, unsort
        order = np.argsort(-lens, kind="stable")
        lens = lens[order]
        idx = _make(order)
        input = input.index_select(1, idx)
        hx = hx.index_select(0, idx)
        cx = cx.index_select(0, idx) if cx is not None else None
    ns = (lens[None, :] > np.arange(T)[:, None]).sum(1)
    res = op.apply(input, hx, cx, w_ih, w_hh, b_ih, b_hh, w_hr, None if (ns == B).all() else ns, bool(reverse))
    if order is None:
        return res
    inv = _make(np.argsort(order))
    return (res[0].index_select(1, inv),) + tuple(r.index_select(0, inv) for r in res[1:])


def rnn_tanh_layer(input, hx, w_ih, w_hh, b_ih=None, b_hh=None, lengths=None, reverse=False):
    """``recurrent_layer('RNN_TANH', ...)``: (output, h_T)."""
    return recurrent_layer("RNN_TANH", input, hx, None, w_ih, w_hh, b_ih, b_hh, None, lengths, reverse)


def rnn_relu_layer(input, hx, w_ih, w_hh, b_ih=None, b_hh=None, lengths=None, reverse=False):
    """``recurrent_layer('RNN_RELU', ...)``: (output, h_T)."""
    return recurrent_layer("RNN_RELU", input, hx, None, w_ih, w_hh, b_ih, b_hh, None, lengths, reverse)


def lstm_layer(input, hx, cx, w_ih, w_hh, b_ih=None, b_hh=None, w_hr=None, lengths=None, reverse=False):
    """``recurrent_layer('LSTM', ...)``: (output, h_T, c_T)."""
    return recurrent_layer("LSTM", input, hx, cx, w_ih, w_hh, b_ih, b_hh, w_hr, lengths, reverse)


def gru_layer(input, hx, w_ih, w_hh, b_ih=None, b_hh=None, lengths=None, reverse=False):
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
        res = ctx._backward_kernel(S, np.zeros((1, B, P), dt), gh._data, gc, need)
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
           lambda: f"{name}: input of shape {_shape(input)} does not fit weight_ih of shape {_shape(w_ih)}: expected "
           f"(batch, {w_ih.shape[1]})")
    H = w_hh.shape[1]
    _check(_shape(hx) == (input.shape[0], H), lambda: f"{name}: hidden of shape {_shape(hx)} does not fit input of "
           f"shape {_shape(input)}: expected {(input.shape[0], H)}")
    _check(w_ih.shape[0] == G * H and _shape(w_hh) == (G * H, H), lambda: f"{name}: weight_ih {_shape(w_ih)} and "
           f"weight_hh {_shape(w_hh)} do not fit hidden size {H}")


def rnn_tanh_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """h' = tanh(W_ih x + b_ih + W_hh h + b_hh), one op. input (B, I), hx (B, H) -> (B, H).

    Example::

        >>> from nnzoo.ops.rnn import rnn_tanh_cell
        >>> rnn_tanh_cell(nnzoo.ones(2, 3), nnzoo.zeros(2, 4), nnzoo.zeros(4, 3), nnzoo.zeros(4, 4))
        tensor([[0., 0., 0., 0.],
                [0., 0., 0., 0.]])
    """
    _cell_checks("rnn_tanh_cell", input, hx, w_ih, w_hh, 1)
    return RNNTanhCellStep.apply(input, hx, None, w_ih, w_hh, b_ih, b_hh)


def rnn_relu_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """h' = relu(W_ih x + b_ih + W_hh h + b_hh), one op. input (B, I), hx (B, H) -> (B, H)."""
    _cell_checks("rnn_relu_cell", input, hx, w_ih, w_hh, 1)
    return RNNReluCellStep.apply(input, hx, None, w_ih, w_hh, b_ih, b_hh)


def lstm_cell(input, hx, cx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One LSTM step, one op: (h', c') with c' = f c + i g, h' = o tanh(c'); input (B, I), hx, cx (B, H)."""
    _cell_checks("lstm_cell", input, hx, w_ih, w_hh, 4)
    _check(_shape(cx) == _shape(hx), lambda: f"lstm_cell: cx of shape {_shape(cx)} and hx of shape {_shape(hx)} differ")
    return LSTMCellStep.apply(input, hx, cx, w_ih, w_hh, b_ih, b_hh)


def gru_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One GRU step, one op: h' = (1 - z) n + z h; input (B, I), hx (B, H) -> (B, H)."""
    _cell_checks("gru_cell", input, hx, w_ih, w_hh, 3)
    return GRUCellStep.apply(input, hx, None, w_ih, w_hh, b_ih, b_hh)
