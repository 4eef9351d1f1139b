"""The fused time loops of the recurrent layers (RNN tanh / relu, LSTM with optional projection, GRU): one
layer and one direction over a whole sequence, forward and backprop through time, on arrays.

The Op classes and the equations are in :mod:`nnzoo.ops.rnn`; this is how they are made fast (the cuDNN
recipe, through ``backend.xp``):

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
- compiled kernels (:mod:`nnzoo.kernels.jit`: Numba, where installed and ``jit.use`` allows): the
  element-wise part of each LSTM and GRU step, forward and backward, and of each tanh RNN step's backward,
  is ONE kernel call per step instead of 5-16 NumPy passes (``_lstm_cell``, ``_gru_cell`` and their
  ``*_backward``); the GEMMs stay in BLAS and the NumPy loops stay as the reference and the fallback. Their
  e^x, sigmoid and tanh are written out below (range reduction and polynomial, vectorized by LLVM, no
  -log2(e) folding needed). NOTE: measured per step at (32, 256), float32, one thread, against the NumPy
  step: LSTM forward 1.7x, backward 2.5x; GRU 2.6x and 9x; tanh RNN backward 2.7x; at batch 1: 3.6-9.6x.

Variable lengths (``ns``): with the lengths sorted in decreasing order, at step t only the first
n_t = #{b : len_b > t} rows are active (``ns[t]``, a host array of T ints, or None when all rows are);
the other rows keep their state and their output is 0.

Each ``*_forward`` returns ``(outputs, saved)``: the outputs (out (T, B, H_out), h_T[, c_T]) and a dict of
the arrays and flags its ``*_backward`` needs. Each ``*_backward(saved, gout, gh[, gc], need)`` returns the
gradients (dx, dh0[, dc0], dW_ih, dW_hh, db_ih, db_hh[, dW_hr]), None where ``need`` (the op's
needs_input_grad, in the order x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr) is False.
"""
import contextlib
import functools
import math

import numpy as np

from ..backend import xp
from . import jit

__all__ = ["steps", "rnn_forward", "rnn_backward", "lstm_forward", "lstm_backward", "gru_forward",
           "gru_backward"]

# host: a scalar constant (-log2(e), folded into the sigmoid gates' weights)
_NEG_LOG2E = -np.log2(np.e)


# ---- small helpers on arrays ------------------------------------------------------------------------
def steps(T, reverse):
    """The time steps in processing order."""
    return range(T - 1, -1, -1) if reverse else range(T)


def _active_steps(T, reverse, ns, B, *states):
    """The forward loop's steps with their active rows: yields ``(t, n, prevs, news)`` for each step that has
    active rows, ``prevs``/``news`` the views ``state[t + p]``/``state[t + q]`` of each (T+1, B, .) buffer in
    ``states``. Rows n: (sequences already ended) carry their state over; a step with n = 0 is skipped."""
    p, q = _prev_next(reverse)
    for t in steps(T, reverse):
        n = B if ns is None else ns[t]
        prevs, news = [s[t + p] for s in states], [s[t + q] for s in states]
        if n < B:
            for prev, new in zip(prevs, news):
                new[n:] = prev[n:]
        if n:
            yield t, n, prevs, news


def _compiled(*arrays):
    """Whether the compiled kernels run the loops on these arrays (None, an absent bias, is left out):
    :func:`nnzoo.kernels.jit.use`."""
    return jit.use(*(a for a in arrays if a is not None))


def _prev_next(reverse):
    """Offsets into the (T+1, B, H) state buffer: step t reads state[t + p] and writes state[t + q]."""
    return (1, 0) if reverse else (0, 1)


def _project(x, w_ih, b_ih, b_hh=None, scale_h=None):
    """The input projections of all steps in one GEMM: (T, B, I) -> (T, B, G), biases added. With
    ``scale_h`` = H, those of the sigmoid gates come out times -log2(e) (:func:`_scaled_gates`)."""
    T, B, I = x.shape  # noqa: E741 (I: the input size, PyTorch's name)
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
    out = xp.multiply(w, w.dtype.type(_NEG_LOG2E))
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
    return xp.ascontiguousarray((w_hh if H is None else _scaled_gates(w_hh, H)).T)


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
    k = xp.ones(n * H, dtype)
    m = xp.zeros(n * H, dtype)
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
    mask = (xp.arange(B)[None, :] < xp.asarray(ns)[:, None]).astype(out_all.dtype)
    return out_all * mask.reshape(T, B, 1)


# ---- compiled kernels (Numba; see nnzoo/kernels/jit.py) -------------------------------------------------
# The helpers take T, the kernel's float type (``a.dtype.type``), so that every constant and every step is
# computed in the arrays' precision: float32 math in float32 (8 lanes of a vector), float64 in float64.
# ``single`` (1 + 1e-10 rounds to 1 in float32 only) is a constant LLVM folds, so each precision keeps only
# its own branch. NOTE: without Intel's SVML Numba calls libm's scalar expf/tanhf: an LSTM step's gate block
# (32, 1024) took 790 us that way against NumPy's 80 us. These range reductions and polynomials are plain
# arithmetic that LLVM vectorizes: on 32768 float32 values e^x takes 14 us (NumPy's AVX-512 exp 14 us) and
# tanh 20 us (NumPy 9 us). Largest relative errors against long double over 6 million points in [-100, 100]
# and down to 1e-30, in units of the roundoff u (2^-24 / 2^-53 for float32 / float64): tanh 3.3 / 3.5 u,
# sigmoid 2.7 / 3.1 u (NumPy's float32 tanh: 1.8 u); tests/kernels/test_rnn_compiled.py holds them to 4 u.
@jit.helper
def _expm1_parts(v, T):
    """(q, s) with e^v = s (1 + q), s = 2^k and q = e^r - 1, v = k ln2 + r, |r| <= ln2 / 2 (ln2 in two parts,
    so that k ln2 is exact; Cephes' expf polynomial in float32, the Taylor series to r^13 in float64). s is
    built in the exponent bits from k clamped to the floats' range: 0 below it (e^v then under the smallest
    normal float), inf above (e^v then within a factor 2 of the largest float or past it); NaN stays NaN."""
    single = T(1) + T(1e-10) == T(1)
    if single:
        lo, hi, c1, c2 = T(-88.0), T(89.0), T(0.693359375), T(-2.12194440e-4)
        magic = T(12582912.0)  # 1.5 * 2^23: (x + magic) - magic rounds x to an integer
    else:
        lo, hi, c1, c2 = T(-709.0), T(710.0), T(6.93145751953125e-1), T(1.42860682030941723212e-6)
        magic = T(6755399441055744.0)  # 1.5 * 2^52
    xk = v if v > lo else lo  # NaN -> lo: k stays an integer (converting NaN to one is undefined)
    xk = xk if xk < hi else hi
    k = (xk * T(1.4426950408889634) + magic) - magic
    x = lo if v < lo else v  # NaN and +inf pass on through r
    r = (x - k * c1) - k * c2
    if single:
        p = T(1.9875691500e-4)
        p = p * r + T(1.3981999507e-3)
        p = p * r + T(8.3334519073e-3)
        p = p * r + T(4.1665795894e-2)
        p = p * r + T(1.6666665459e-1)
        p = p * r + T(5.0000001201e-1)
        s = T(np.int32((np.int32(k) + 127) << 23).view(np.float32))
    else:
        p = T(1.0 / 6227020800.0)
        p = p * r + T(1.0 / 479001600.0)
        p = p * r + T(1.0 / 39916800.0)
        p = p * r + T(1.0 / 3628800.0)
        p = p * r + T(1.0 / 362880.0)
        p = p * r + T(1.0 / 40320.0)
        p = p * r + T(1.0 / 5040.0)
        p = p * r + T(1.0 / 720.0)
        p = p * r + T(1.0 / 120.0)
        p = p * r + T(1.0 / 24.0)
        p = p * r + T(1.0 / 6.0)
        p = p * r + T(0.5)
        s = T(np.int64((np.int64(k) + 1023) << 52).view(np.float64))
    return p * r * r + r, s


@jit.helper
def _exp(v, T):
    """e^v in T (see :func:`_expm1_parts`)."""
    q, s = _expm1_parts(v, T)
    return (q + T(1)) * s


@jit.helper
def _sigmoid(v, T):
    """1 / (1 + e^-v), PyTorch's form (0 where e^-v overflows)."""
    # host: np.divide in a compiled helper: a division without Python's zero check (which stops vectorizing)
    return np.divide(T(1), T(1) + _exp(-v, T))


@jit.helper
def _tanh(v, T):
    """tanh(v) = E / (E + 2) with E = e^2|v| - 1 (as 2^k q + (2^k - 1): relative accuracy down to v -> 0,
    where 1 - 2 / (e^2|v| + 1) would cancel), v's sign copied (tanh(-0) = -0); 1 once e^2|v| overflows."""
    single = T(1) + T(1e-10) == T(1)
    a = abs(v)
    q, s = _expm1_parts(a + a, T)
    e = s * q + (s - T(1))
    t = np.divide(e, e + T(2))  # host: compiled helper (np.divide: see _sigmoid)
    t = T(1) if a > (T(44.0) if single else T(355.0)) else t
    return math.copysign(t, v)


@jit.kernel()
def _lstm_cell(gh, a, c_prev, c, tc, h):
    """One LSTM step's element-wise part, the compiled twin of :func:`lstm_forward`'s NumPy loop body: gh
    (n, 4H) = h_prev W_hh^T, a (n, 4H) the input projections, overwritten with the activations (i, f, g, o);
    writes c = f c_prev + i g, tc = tanh(c) and h = o tc (the NumPy path's float operations in its order).
    NOTE: a few arrays per inner loop, each a view from its first element, so that LLVM vectorizes them
    (one loop over all seven arrays, or a loop over range(2 H, 3 H), ran scalar: 3-7x slower than NumPy)."""
    T = a.dtype.type
    n, H = c.shape
    for b in range(n):
        i, f, g, o = a[b, :H], a[b, H:2 * H], a[b, 2 * H:3 * H], a[b, 3 * H:]
        gi, gf, gg, go = gh[b, :H], gh[b, H:2 * H], gh[b, 2 * H:3 * H], gh[b, 3 * H:]
        for j in range(H):
            i[j] = _sigmoid(i[j] + gi[j], T)
        for j in range(H):
            f[j] = _sigmoid(f[j] + gf[j], T)
        for j in range(H):
            g[j] = _tanh(g[j] + gg[j], T)
        for j in range(H):
            o[j] = _sigmoid(o[j] + go[j], T)
        cb, cp = c[b], c_prev[b]
        for j in range(H):
            cb[j] = f[j] * cp[j] + i[j] * g[j]
        tb, hb = tc[b], h[b]
        for j in range(H):
            t = _tanh(cb[j], T)
            tb[j] = t
            hb[j] = o[j] * t


@jit.kernel()
def _lstm_cell_backward(dm, a, tc, c_prev, dc, d):
    """One LSTM step of the backward, the compiled twin of :func:`lstm_backward`'s loop body: from dm (n, H)
    (= dh, or dh W_hr), the saved activations a (n, 4H), tanh(c) and c_prev, carries dc (n, H) back (dc f)
    and writes d (n, 4H), the gradients of the four pre-activations (the NumPy path's operations in its
    order: sigma' = s (1 - s), tanh' = 1 - y^2)."""
    T = a.dtype.type
    n, H = dc.shape
    one = T(1)
    for b in range(n):
        for j in range(H):
            i = a[b, j]
            f = a[b, H + j]
            g = a[b, 2 * H + j]
            o = a[b, 3 * H + j]
            m = dm[b, j]
            t = tc[b, j]
            c = dc[b, j] + ((one - t * t) * o) * m
            d[b, j] = (c * g) * (i * (one - i))
            d[b, H + j] = (c * c_prev[b, j]) * (f * (one - f))
            d[b, 2 * H + j] = (c * i) * (one - g * g)
            d[b, 3 * H + j] = (m * t) * (o * (one - o))
            dc[b, j] = c * f


@jit.kernel()
def _gru_cell(gh, b_hh, bias, a, h_prev, h):
    """One GRU step's element-wise part, the compiled twin of :func:`_gru_steps_numpy`'s loop body: gh (n, 3H)
    = h_prev W_hh^T, to which b_hh is added when ``bias`` (kept: the backward reads its n part); a (n, 3H) the
    input projections, overwritten with the activations (r, z, n); writes h = n + z (h_prev - n)."""
    T = a.dtype.type
    n, H = h.shape
    for b in range(n):
        g = gh[b]
        if bias:
            for j in range(3 * H):
                g[j] = g[j] + b_hh[j]
        r, z, nn = a[b, :H], a[b, H:2 * H], a[b, 2 * H:]
        gr, gz, gn = g[:H], g[H:2 * H], g[2 * H:]
        for j in range(H):
            r[j] = _sigmoid(r[j] + gr[j], T)
        for j in range(H):
            z[j] = _sigmoid(z[j] + gz[j], T)
        for j in range(H):
            nn[j] = _tanh(nn[j] + r[j] * gn[j], T)
        hb, hp = h[b], h_prev[b]
        for j in range(H):
            hb[j] = nn[j] + (hp[j] - nn[j]) * z[j]


@jit.kernel()
def _gru_cell_backward(dh, a, h_prev, gh, dgi, dgh, dhz):
    """One GRU step of the backward, the compiled twin of :func:`_gru_cell_backward_numpy`: from dh (n, H),
    the saved activations a (n, 3H), h_prev and gh = W_hh h_prev + b_hh, writes the gradients of the input-side
    pre-activations dgi (n, 3H), of gh dgh (n, 3H), and dh z (dhz, the part of dh_prev that skips W_hh)."""
    n, H = dh.shape
    one = a.dtype.type(1)
    for b in range(n):
        r, z, nn = a[b, :H], a[b, H:2 * H], a[b, 2 * H:]
        dr, dz, dn = dgi[b, :H], dgi[b, H:2 * H], dgi[b, 2 * H:]
        d, hp, gn = dh[b], h_prev[b], gh[b, 2 * H:]
        for j in range(H):
            x = (one - nn[j] * nn[j]) * d[j]
            dn[j] = x - x * z[j]
        for j in range(H):
            dz[j] = ((hp[j] - nn[j]) * d[j]) * ((one - z[j]) * z[j])
        for j in range(H):
            dr[j] = (dn[j] * gn[j]) * ((one - r[j]) * r[j])
        hr, hz, hn = dgh[b, :H], dgh[b, H:2 * H], dgh[b, 2 * H:]
        for j in range(H):
            hr[j] = dr[j]
            hz[j] = dz[j]
            hn[j] = dn[j] * r[j]
        c = dhz[b]
        for j in range(H):
            c[j] = d[j] * z[j]


@jit.kernel()
def _rnn_tanh_cell_backward(dh, h, da):
    """One tanh RNN step of the backward: da = (1 - h^2) dh (the NumPy loop's operations in its order).
    NOTE: its forward twin, h = tanh(a + gh), was dropped: 0.69x NumPy's at (32, 256), whose AVX-512 tanh
    beats this file's 8-lane one when there is nothing to fuse; this one does 4 NumPy passes in 1 (2.7x)."""
    one = h.dtype.type(1)
    n, H = h.shape
    for b in range(n):
        db, hb, ab = dh[b], h[b], da[b]
        for j in range(H):
            ab[j] = (one - hb[j] * hb[j]) * db[j]


# ---- RNN (tanh / relu) --------------------------------------------------------------------------------
def rnn_forward(relu, x, h0, w_ih, w_hh, b_ih, b_hh, ns, reverse):
    """The tanh (``relu`` False) or ReLU RNN over all steps: ((out (T, B, H), h_T), saved)."""
    T, B, _ = x.shape
    H = h0.shape[1]
    a_all = _project(x, w_ih, b_ih, b_hh)
    hs = xp.empty((T + 1, B, H), x.dtype)
    hs[T if reverse else 0] = h0
    whh_t = _recurrent_weight(w_hh, T)
    tmp = xp.empty((B, H), x.dtype)
    for t, n, (h_prev,), (h_new,) in _active_steps(T, reverse, ns, B, hs):
        a = a_all[t, :n]
        a += xp.matmul(h_prev[:n], whh_t, out=tmp[:n])
        if relu:
            xp.maximum(a, 0, out=h_new[:n])
        else:
            xp.tanh(a, out=h_new[:n])
    out_all = hs[:T] if reverse else hs[1:]
    out = out_all if ns is None else _out_mask(out_all, ns, B)
    h_t = hs[0 if reverse else T].copy()
    saved = dict(x=x, hs=hs, w_ih=w_ih, w_hh=w_hh, relu=relu, ns=ns, reverse=reverse, bias=b_ih is not None)
    return (out, h_t), saved


def rnn_backward(S, gout, gh, need):
    """BPTT of the tanh / relu RNN: (dx, dh0, dW_ih, dW_hh, db_ih, db_hh).

    NOTE: relu's derivative is PyTorch's threshold_backward: the gradient is zeroed where h' <= 0 and passed
    elsewhere, NaN states included (h' = max(a, 0) is >= 0 or NaN, so the mask is h' != 0; h' > 0 would stop
    the gradient at a NaN state). The loop applies it as a product with the mask, as fast as the old h' > 0
    test, but where the gradient is +-inf or NaN at a masked position that product is NaN instead of 0. It
    can only then put a NaN into the pre-activation gradients, so when they hold one the loop is run again
    with a select (xp.where; a relu layer of 256 at T=100 is ~18% slower with it on every step); otherwise
    the product's result is the exact one."""
    da_all, dh = _rnn_bptt(S, gout, gh, select=False)
    if S["relu"] and da_all.size and xp.isnan(da_all.max()):  # max propagates NaN: one pass, < 1.5% of a step
        da_all, dh = _rnn_bptt(S, gout, gh, select=True)
    x, hs = S["x"], S["hs"]
    h_prev = hs[1:] if S["reverse"] else hs[:x.shape[0]]
    return _weight_grads(S, x, da_all, da_all, h_prev, dh, need)


def _rnn_bptt(S, gout, gh, select):
    """The reverse time loop: (the pre-activation gradients (T, B, H), dh0). ``select``: relu's mask applied
    with xp.where (exact for non-finite gradients) instead of a product (see :func:`rnn_backward`)."""
    x, hs, w_hh, ns, reverse = S["x"], S["hs"], S["w_hh"], S["ns"], S["reverse"]
    T, B, _ = x.shape
    H = hs.shape[2]
    _p, q = _prev_next(reverse)
    dh = gh.astype(x.dtype, copy=True)
    da_all = xp.zeros((T, B, H), x.dtype) if ns is not None else xp.empty((T, B, H), x.dtype)
    compiled = not S["relu"] and _compiled(x, hs)
    for t in steps(T, not reverse):
        n = B if ns is None else ns[t]
        if n == 0:
            continue
        dhn = dh[:n]
        dhn += gout[t, :n]
        h_new = hs[t + q, :n]
        da = da_all[t, :n]
        if compiled:
            _rnn_tanh_cell_backward(dhn, h_new, da)
        elif S["relu"]:
            if select:
                da[...] = xp.where(h_new != 0, dhn, 0)
            else:
                xp.multiply(dhn, h_new != 0, out=da)
        else:  # d tanh = 1 - h'^2
            xp.multiply(h_new, h_new, out=da)
            xp.subtract(1, da, out=da)
            da *= dhn
        xp.matmul(da, w_hh, out=dhn)
    return da_all, dh


def _weight_grads(S, x, dgi, dgh, h_prev, dh0, need):
    """The GEMMs after the loop: dx, dW_ih, dW_hh, db_ih, db_hh from the stacked pre-activation grads
    (dgi for the input side, dgh for the recurrent side; the same array except in GRU)."""
    T, B, I = x.shape  # noqa: E741 (I: the input size, PyTorch's name)
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
def lstm_forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, ns, reverse):
    """The LSTM over all steps (with the projection W_hr when given): ((out (T, B, P), h_T, c_T), saved)."""
    T, B, _ = x.shape
    H, P = c0.shape[1], h0.shape[1]
    dt = x.dtype
    compiled = _compiled(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr)
    # pre-activations, those of the sigmoid gates i, f, o scaled (_folds), turned into activations in place
    fold = _folds(T) and not compiled
    acts = _project(x, w_ih, b_ih, b_hh, H if fold else None)
    hs = xp.empty((T + 1, B, P), dt)
    cs = xp.empty((T + 1, B, H), dt)
    tcs = xp.empty((T, B, H), dt)  # tanh(c_t)
    # o * tanh(c_t) before the projection (zeros: with lengths the inactive rows enter dW_hr's GEMM)
    ms = (xp.zeros if ns is not None else xp.empty)((T, B, H), dt) if w_hr is not None else None
    tmp = xp.empty((B, H), dt)
    tmp4 = xp.empty((B, 4 * H), dt)
    hs[T if reverse else 0] = h0
    cs[T if reverse else 0] = c0
    whh_t = _recurrent_weight(w_hh, T, H if fold else None)
    whr_t = w_hr.T if w_hr is not None else None
    steps_ = _lstm_steps_compiled if compiled else _lstm_steps_numpy
    steps_(T, reverse, ns, B, H, fold, hs, cs, acts, tcs, ms, tmp, tmp4, whh_t, whr_t)
    out_all = hs[:T] if reverse else hs[1:]
    out = out_all if ns is None else _out_mask(out_all, ns, B)
    last = 0 if reverse else T
    saved = dict(x=x, hs=hs, cs=cs, acts=acts, tcs=tcs, ms=ms, w_ih=w_ih, w_hh=w_hh, w_hr=w_hr, ns=ns,
                 reverse=reverse, bias=b_ih is not None)
    return (out, hs[last].copy(), cs[last].copy()), saved


def _lstm_steps_numpy(T, reverse, ns, B, H, fold, hs, cs, acts, tcs, ms, tmp, tmp4, whh_t, whr_t):
    """The forward time loop on NumPy (the reference): fills hs, cs, tcs (and ms) and turns acts into the
    activations, step by step."""
    H2, H3 = 2 * H, 3 * H
    with _loop_errstate(fold):
        for t, n, (h_prev, c_prev), (h_new, c_new) in _active_steps(T, reverse, ns, B, hs, cs):
            a = acts[t, :n]
            pre = xp.matmul(h_prev[:n], whh_t, out=tmp4[:n])
            pre += a  # the pre-activations, the sigmoid gates' scaled when folded
            # 1 / (1 + e^-a) over the whole block (contiguous: a call on column slices costs ~3x more) into
            # the activations, then g's columns (a placeholder so far) get their tanh
            if fold:
                xp.exp2(pre, out=a)
            else:
                xp.multiply(pre, -1, out=a)
                xp.exp(a, out=a)
            a += 1
            xp.divide(1, a, out=a)
            i, f, g, o = a[:, :H], a[:, H:H2], a[:, H2:H3], a[:, H3:]
            xp.tanh(pre[:, H2:H3], out=g)
            c = c_new[:n]
            xp.multiply(f, c_prev[:n], out=c)
            xp.multiply(i, g, out=tmp[:n])
            c += tmp[:n]
            tc = tcs[t, :n]
            xp.tanh(c, out=tc)
            if ms is None:
                xp.multiply(o, tc, out=h_new[:n])
            else:
                m = ms[t, :n]
                xp.multiply(o, tc, out=m)
                xp.matmul(m, whr_t, out=h_new[:n])


def _lstm_steps_compiled(T, reverse, ns, B, H, fold, hs, cs, acts, tcs, ms, tmp, tmp4, whh_t, whr_t):
    """The forward time loop with the element-wise part of each step as one compiled kernel
    (:func:`_lstm_cell`); the GEMMs stay in BLAS."""
    for t, n, (h_prev, c_prev), (h_new, c_new) in _active_steps(T, reverse, ns, B, hs, cs):
        pre = xp.matmul(h_prev[:n], whh_t, out=tmp4[:n])
        m = h_new[:n] if ms is None else ms[t, :n]
        _lstm_cell(pre, acts[t, :n], c_prev[:n], c_new[:n], tcs[t, :n], m)
        if ms is not None:
            xp.matmul(m, whr_t, out=h_new[:n])


def lstm_backward(S, gout, gh, gc, need):
    """BPTT of the LSTM: (dx, dh0, dc0, dW_ih, dW_hh, db_ih, db_hh, dW_hr); dh and dc are carried back."""
    x, hs, cs, acts, tcs, ms = S["x"], S["hs"], S["cs"], S["acts"], S["tcs"], S["ms"]
    w_hh, w_hr, ns, reverse = S["w_hh"], S["w_hr"], S["ns"], S["reverse"]
    T, B, _ = x.shape
    H, P = cs.shape[2], hs.shape[2]
    dt = x.dtype
    compiled = _compiled(x, acts)
    p, _q = _prev_next(reverse)
    dh = gh.astype(dt, copy=True)
    dc = gc.astype(dt, copy=True)
    alloc = xp.zeros if ns is not None else xp.empty
    da_all = alloc((T, B, 4 * H), dt)
    dhs = alloc((T, B, P), dt) if ms is not None else None  # dL/dh_t, for dW_hr
    tmp = xp.empty((B, H), dt)
    tmp4 = xp.empty((B, 4 * H), dt)
    for t in steps(T, not reverse):
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
        d = da_all[t, :n]
        if compiled:
            _lstm_cell_backward(dm, acts[t, :n], tcs[t, :n], cs[t + p, :n], dc[:n], d)
        else:
            _lstm_cell_backward_numpy(dm, acts[t, :n], tcs[t, :n], cs[t + p, :n], dc[:n], d, tmp[:n], tmp4[:n])
        xp.matmul(d, w_hh, out=dhn)
    h_prev = hs[1:] if reverse else hs[:T]
    grads = _weight_grads(S, x, da_all, da_all, h_prev, dh, need)
    dw_hr = None
    if ms is not None and need[7]:
        dw_hr = xp.matmul(dhs.reshape(T * B, P).T, ms.reshape(T * B, H))
    dx, dh0, dw_ih, dw_hh, db_ih, db_hh = grads
    return dx, dh0, dc, dw_ih, dw_hh, db_ih, db_hh, dw_hr


def _lstm_cell_backward_numpy(dm, a, tc, c_prev, dc, d, tmp, tmp4):
    """One LSTM step of the backward on NumPy, the reference of :func:`_lstm_cell_backward` (same arguments,
    and two scratch buffers (n, H), (n, 4H))."""
    H = dc.shape[1]
    H2, H3 = 2 * H, 3 * H
    k, m_ = _derivative_vectors(H, np.dtype(a.dtype), (True, True, False, True))
    i, f, g, o = a[:, :H], a[:, H:H2], a[:, H2:H3], a[:, H3:]
    di, df, dg, do = d[:, :H], d[:, H:H2], d[:, H2:H3], d[:, H3:]
    xp.multiply(dm, tc, out=do)
    # dc += dm * o * (1 - tanh(c)^2)
    tn = tmp
    xp.multiply(tc, tc, out=tn)
    xp.subtract(1, tn, out=tn)
    tn *= o
    tn *= dm
    dc += tn
    xp.multiply(dc, g, out=di)
    xp.multiply(dc, c_prev, out=df)
    xp.multiply(dc, i, out=dg)
    dc *= f
    # through the activations: derivative k + y * (m - y) per column
    der = tmp4
    xp.subtract(m_, a, out=der)
    der *= a
    der += k
    d *= der


# ---- GRU ------------------------------------------------------------------------------------------------
def gru_forward(x, h0, w_ih, w_hh, b_ih, b_hh, ns, reverse):
    """The GRU over all steps: ((out (T, B, H), h_T), saved)."""
    T, B, _ = x.shape
    H = h0.shape[1]
    dt = x.dtype
    compiled = _compiled(x, h0, w_ih, w_hh, b_ih, b_hh)
    # the pre-activations of r and z scaled (_folds, else negated each step); the input side only: b_hh
    # stays with W_hh h (r multiplies its n part)
    fold = _folds(T) and not compiled
    acts = _project(x, w_ih, b_ih, scale_h=H if fold else None)
    ghs = xp.empty((T, B, 3 * H), dt)  # W_hh h + b_hh of every step (backward needs its n part, unscaled)
    hs = xp.empty((T + 1, B, H), dt)
    tmp = xp.empty((B, H), dt)
    hs[T if reverse else 0] = h0
    whh_t = _recurrent_weight(w_hh, T, H if fold else None)
    if compiled:
        _gru_steps_compiled(T, reverse, ns, B, H, acts, ghs, hs, whh_t, b_hh)
    else:
        if fold and b_hh is not None:
            b_hh = _scaled_gates(b_hh, H)
        _gru_steps_numpy(T, reverse, ns, B, H, fold, acts, ghs, hs, tmp, whh_t, b_hh)
    out_all = hs[:T] if reverse else hs[1:]
    out = out_all if ns is None else _out_mask(out_all, ns, B)
    saved = dict(x=x, hs=hs, acts=acts, ghs=ghs, w_ih=w_ih, w_hh=w_hh, ns=ns, reverse=reverse,
                 bias=b_ih is not None)
    return (out, hs[0 if reverse else T].copy()), saved


def _gru_steps_numpy(T, reverse, ns, B, H, fold, acts, ghs, hs, tmp, whh_t, b_hh):
    """The forward time loop on NumPy (the reference): fills hs and ghs and turns acts into the activations,
    step by step (b_hh scaled like whh_t when folded)."""
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
                xp.exp2(rz, out=rz)
            else:
                rz *= -1  # NOTE: not xp.negative, whose float32 loop in NumPy 2.4 reads a strided input
                # as contiguous when the output is strided too and a row is one element wide
                xp.exp(rz, out=rz)
            rz += 1
            xp.divide(1, rz, out=rz)
            r, z, nn = a[:, :H], a[:, H:H2], a[:, H2:]
            tn = tmp[:n]
            xp.multiply(r, gh[:, H2:], out=tn)
            nn += tn
            xp.tanh(nn, out=nn)
            # h' = n + z * (h - n)
            xp.subtract(h_prev[:n], nn, out=tn)
            tn *= z
            xp.add(nn, tn, out=h_new[:n])


def _gru_steps_compiled(T, reverse, ns, B, H, acts, ghs, hs, whh_t, b_hh):
    """The forward time loop with the element-wise part of each step as one compiled kernel
    (:func:`_gru_cell`); the GEMM stays in BLAS."""
    bias = b_hh is not None
    b = b_hh if bias else xp.empty(0, ghs.dtype)  # a placeholder of the right type, not read
    for t, n, (h_prev,), (h_new,) in _active_steps(T, reverse, ns, B, hs):
        gh = xp.matmul(h_prev[:n], whh_t, out=ghs[t, :n])
        _gru_cell(gh, b, bias, acts[t, :n], h_prev[:n], h_new[:n])


def gru_backward(S, gout, gh, need):
    """BPTT of the GRU: (dx, dh0, dW_ih, dW_hh, db_ih, db_hh); the input-side and recurrent-side
    pre-activation gradients differ (r multiplies W_hn h + b_hn), so each gets its own stacked buffer."""
    x, hs, acts, ghs, w_hh, ns, reverse = S["x"], S["hs"], S["acts"], S["ghs"], S["w_hh"], S["ns"], S["reverse"]
    T, B, _ = x.shape
    H = hs.shape[2]
    dt = x.dtype
    compiled = _compiled(x, acts)
    p, _q = _prev_next(reverse)
    dh = gh.astype(dt, copy=True)
    alloc = xp.zeros if ns is not None else xp.empty
    dgi_all = alloc((T, B, 3 * H), dt)  # grads of the input-side pre-activations
    dgh_all = alloc((T, B, 3 * H), dt)  # grads of W_hh h + b_hh
    tmp = xp.empty((B, H), dt)
    tmp2 = xp.empty((B, 2 * H), dt)
    for t in steps(T, not reverse):
        n = B if ns is None else ns[t]
        if n == 0:
            continue
        dhn = dh[:n]
        dhn += gout[t, :n]
        dgi = dgi_all[t, :n]
        dgh = dgh_all[t, :n]
        tn = tmp[:n]
        if compiled:
            _gru_cell_backward(dhn, acts[t, :n], hs[t + p, :n], ghs[t, :n], dgi, dgh, tn)
        else:
            _gru_cell_backward_numpy(dhn, acts[t, :n], hs[t + p, :n], ghs[t, :n], dgi, dgh, tn, tmp2[:n])
        # dh_prev = dh * z + dgh @ W_hh
        xp.matmul(dgh, w_hh, out=dhn)
        dhn += tn
    h_prev = hs[1:] if reverse else hs[:T]
    return _weight_grads(S, x, dgi_all, dgh_all, h_prev, dh, need)


def _gru_cell_backward_numpy(dhn, a, h_prev, gh, dgi, dgh, tn, tmp2):
    """One GRU step of the backward on NumPy, the reference of :func:`_gru_cell_backward` (same arguments,
    and a scratch buffer (n, 2H))."""
    H = dhn.shape[1]
    H2 = 2 * H
    r, z, nn = a[:, :H], a[:, H:H2], a[:, H2:]
    dar, daz, dan = dgi[:, :H], dgi[:, H:H2], dgi[:, H2:]
    # dan = dh * (1 - z) * (1 - n^2)
    xp.multiply(nn, nn, out=dan)
    xp.subtract(1, dan, out=dan)
    dan *= dhn
    xp.multiply(dan, z, out=tn)
    dan -= tn
    # daz (before the sigmoid) = dh * (h - n);  dar (before the sigmoid) = dan * (W_hn h + b_hn)
    xp.subtract(h_prev, nn, out=daz)
    daz *= dhn
    xp.multiply(dan, gh[:, H2:], out=dar)
    # through the sigmoids of r and z: (1 - y) y, PyTorch's form (1 - y is exact; y - y^2 loses digits
    # as y nears 1)
    rz = a[:, :H2]
    der = tmp2
    xp.subtract(1, rz, out=der)
    der *= rz
    drz = dgi[:, :H2]
    drz *= der
    dgh[:, :H2] = drz
    xp.multiply(dan, r, out=dgh[:, H2:])
    xp.multiply(dhn, z, out=tn)
