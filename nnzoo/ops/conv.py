"""Convolution: ``conv1d``, ``conv2d``, ``conv_transpose1d``, ``conv_transpose2d``, ``unfold``, ``fold``.

Two array kernels do all the work, on 4-D arrays (a 1-D convolution is a 2-D one with H = 1):

* ``_conv_forward``: out[n, o, p, q] = sum_{c, i, j} w[o, c, i, j] x_pad[n, c, p*sh + i*dh, q*sw + j*dw] + b[o];
* ``_conv_backward``: its adjoints, gw[o, c, i, j] = sum_{n, p, q} g[n, o, p, q] x_pad[n, c, p*sh + i*dh, ...]
  and gx = col2im(W^T g) (the input gradient is also the forward of conv_transpose).

Each copies windows of the input (strided views) once and runs ONE GEMM per chunk of the batch; where
windows overlap, the kernel's offsets are added back with vectorised slice-adds (never ``np.add.at``). Two
layouts of the windows, chosen per call by the memory they move (see ``_use_row_shift``):

* full im2col: cols (C*kh*kw, n*OH*OW), out = W (O, C*kh*kw) @ cols;
* row-shift: windows over the kernel *columns* only, cw (C*kw, n*Hp*OW) for every padded row r = (n, h);
  Y = W_r (kh*O, C*kw) @ cw holds, for each kernel row i, what input row r gives; output row p is then
  sum_i Y[i, p + i*dh]: kh shifted adds of output-sized arrays. The copy is kh times smaller (3x for 3x3
  kernels) for a kh times taller GEMM output; it needs stride 1 along H.

A stride-1 input gradient is computed as a forward correlation of g with the flipped kernel (see
``_grad_input_by_correlation``), and the weight gradient then from the windows of g that correlation copies
(``_WeightGradFromWindows``). A bias rides in the forward GEMM as one more column of the weight matrix
against a row of ones in the windows.

Three ops use the kernels and are each other's backward, so double backward works: ``Conv`` (backward:
``ConvTranspose`` for the input, ``ConvWeight`` for the weight), ``ConvTranspose`` (backward: ``Conv`` and
``ConvWeight``), ``ConvWeight`` (backward: ``Conv`` and ``ConvTranspose``). A first-order backward (grad mode
off while it runs) calls the kernels directly, sharing the work between the input and weight gradients.
``Unfold`` and ``Fold`` (im2col / col2im) are each other's backward too.
"""
import math
import threading
from collections import namedtuple

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..autograd.function import Op
from ..autograd.grad_mode import state
from ..tensor import Tensor
from . import shape as _shape

_make = Tensor._make

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "unfold", "fold"]

# The geometry of one 2-D convolution (a 1-D one has H = 1, kernel height 1):
# stride (sh, sw), padding ((top, bottom), (left, right)), dilation (dh, dw), groups.
Spec = namedtuple("Spec", ["stride", "padding", "dilation", "groups"])

# NOTE: the batch is processed in chunks whose largest temporary (windows or GEMM output) holds about this
# many elements: ~2 MB in float32 stays in this machine's L2/L3 caches, and the copies, shifted adds and
# GEMMs on cached data run 1.5-2x faster than on a whole batch of 64 images (measured on the VGG shapes).
_CHUNK_ELEMS = 1 << 19
_KEEP_BYTES = 32 << 20  # the largest scratch buffer kept between calls (see _Scratch)
# NOTE: the weight gradient from the correlation's windows (_WeightGradFromWindows) multiplies them by x's
# C/G channels: with 3 of them (an RGB layer that needs its input gradient) that GEMM is too thin and the
# separate windows of x won (7-16% faster at 32x32, 3->6 5x5 and 3->32 3x3); from 8 channels on it wins.
_FUSED_MIN_CHANNELS = 8


def _out_len(n, k, stride, pad_lo, pad_hi, dilation):
    return (n + pad_lo + pad_hi - dilation * (k - 1) - 1) // stride + 1


def _use_row_shift(g_in, g_out, kh, kw, sh):
    """Row-shift layout (windows over kernel columns, kh shifted adds) or full im2col?

    Memory moved per output pixel, in elements: full im2col writes and reads C*kh*kw window values and
    writes O outputs; row-shift writes and reads C*kw window values and kh*O GEMM outputs. NOTE: measured
    on the CIFAR/VGG shapes this picks the faster one (3->32 3x3: im2col; 3->6 5x5, 32->32 3x3: row-shift)."""
    if sh != 1 or kh == 1:
        return False
    return 2 * g_in * kw + 2 * kh * g_out < 2 * g_in * kh * kw + g_out


def _chunk(n, per_image, k):
    """Images per chunk: the largest temporary of a chunk (per_image elements an image) near _CHUNK_ELEMS.

    NOTE: a GEMM with a short inner dimension k (< 64) gains little from cached operands while every chunk
    costs its BLAS calls' fixed overhead: those layers (CIFAR Net's, VGG's first) take twice the budget
    (measured 10-20% faster at 2 threads; the wide VGG layers are 10% slower with it)."""
    budget = _CHUNK_ELEMS * (2 if k < 64 else 1)
    return max(1, min(n, budget // max(per_image, 1)))


class _Scratch:
    """Scratch arrays of one kernel call, reused by all its chunks and kept for the next call: ``get(name,
    shape)`` is a view of the first prod(shape) elements of one buffer per (thread, dtype, name).

    NOTE: allocating the window copy and the GEMM output afresh costs more than the work on them (2 of 4 ms
    for CIFAR Net's conv1): glibc hands such 0.1-32 MB blocks back to the OS when they are freed, and they
    come back as fresh pages that fault on first touch (~1000 faults a call). Buffers up to _KEEP_BYTES stay
    alive between calls, one set per thread; a kernel may call another kernel only while it holds no
    scratch view (``_conv_backward`` computes the correlation form of gx before its own chunk loop)."""

    _local = threading.local()

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)
        kept = getattr(self._local, "bufs", None)
        if kept is None:
            kept = self._local.bufs = {}
        self.bufs = kept

    def get(self, name, shape, zero=False):
        size = math.prod(shape)
        key = (self.dtype.char, name)
        buf = self.bufs.get(key)
        if buf is None or buf.size < size:
            buf = np.empty(size, dtype=self.dtype)
            if size * self.dtype.itemsize <= _KEEP_BYTES:
                self.bufs[key] = buf
        out = buf[:size].reshape(shape)
        if zero:
            out.fill(0)
        return out


def _to_c_major(x, groups, pad, buf):
    """Copy x (m, C, H, W) into the zero-bordered buffer buf (G, C/G, >=m, Hp, Wp); return its first m images."""
    m, c, h, w = x.shape
    (pt, _), (pl, _) = pad
    xc = buf[:, :, :m]
    xc[:, :, :, pt:pt + h, pl:pl + w] = x.reshape(m, groups, c // groups, h, w).transpose(1, 2, 0, 3, 4)
    return xc


def _with_ones_row(scratch, groups, rows, cols, ones):
    """A (G, rows + ones, cols) scratch matrix whose last row is all ones when ``ones``: the windows of a
    conv with a bias, whose weight matrix carries the bias as its last column (see ``_weight_matrix``).

    NOTE: the bias then costs one more GEMM row instead of a pass over the output (0.45 of 13 ms in VGG's
    32->32 forward)."""
    mat = scratch.get("windows", (groups, rows + ones, cols))
    if ones:
        mat[:, rows] = 1
    return mat


def _row_windows(x, groups, spec, kw, hp, ow, scratch, ones=False):
    """cw[g, c, j, n, h, q] = x_pad[n, (g, c), h, q*sw + j*dw] over all padded rows h < Hp, as the matrix
    (G, C/G*kw, m*Hp*OW) (plus a row of ones with ``ones``), copied straight from x (m, C, H, W): kw strided
    copies plus zeroed borders.

    NOTE: copying from x itself, not from a padded channel-major copy of it, saves one pass over the input
    (measured 0.6 ms of 18 in VGG's 32->32 forward)."""
    m, c, h, w = x.shape
    cg = c // groups
    (pt, _), (pl, _) = spec.padding
    sw, dw = spec.stride[1], spec.dilation[1]
    mat = _with_ones_row(scratch, groups, cg * kw, m * hp * ow, ones)
    cw = mat[:, :cg * kw].reshape(groups, cg, kw, m, hp, ow)
    cw[..., :pt, :] = 0
    cw[..., pt + h:, :] = 0
    xv = x.reshape(m, groups, cg, h, w).transpose(1, 2, 0, 3, 4)  # (G, C/G, m, H, W)
    for j in range(kw):
        off = j * dw - pl  # output column q reads input column q*sw + off
        lo = min(max(0, -(off // sw)), ow)  # first q with q*sw + off >= 0
        hi = max(min(ow, (w - 1 - off) // sw + 1), lo)  # one past the last q with q*sw + off < w
        rows = cw[:, :, j, :, pt:pt + h]
        rows[..., :lo] = 0
        rows[..., hi:] = 0
        if hi > lo:
            rows[..., lo:hi] = xv[..., lo * sw + off:(hi - 1) * sw + off + 1:sw]
    return mat


def _full_windows(xc, kh, kw, oh, ow, stride, dilation, scratch, ones=False):
    """cols[g, c, i, j, n, p, q] = xc[g, c, n, p*sh + i*dh, q*sw + j*dw], copied: (G, C*kh*kw, m*OH*OW)
    (plus a row of ones with ``ones``)."""
    G, Cg, m = xc.shape[:3]
    (sh, sw), (dh, dw) = stride, dilation
    s = xc.strides
    win = as_strided(xc, (G, Cg, kh, kw, m, oh, ow),
                     (s[0], s[1], dh * s[3], dw * s[4], s[2], sh * s[3], sw * s[4]))
    mat = _with_ones_row(scratch, G, Cg * kh * kw, m * oh * ow, ones)
    np.copyto(mat[:, :Cg * kh * kw].reshape(win.shape), win)
    return mat


def _geometry(x_hw, w_shape, spec, out_hw=None):
    (H, W), (kh, kw) = x_hw, w_shape[2:]
    (sh, sw), ((pt, pb), (pl, pr)), (dh, dw) = spec.stride, spec.padding, spec.dilation
    if out_hw is None:
        out_hw = (_out_len(H, kh, sh, pt, pb, dh), _out_len(W, kw, sw, pl, pr, dw))
    return H + pt + pb, W + pl + pr, out_hw[0], out_hw[1]


def _weight_matrix(w, G, row_shift, b=None):
    """w (O, C/G, kh, kw) as the GEMM's matrix: (G, O/G, C/G*kh*kw), or for row-shift (G, kh*O/G, C/G*kw)
    with rows (i, o) and columns (c, j). With a bias b (O,), one more column: b in the rows of o (row-shift:
    of (0, o), so that each output gets it once), 0 elsewhere; the windows then end with a row of ones."""
    O, Cg, kh, kw = w.shape
    if row_shift:
        wm = w.reshape(G, O // G, Cg, kh, kw).transpose(0, 3, 1, 2, 4).reshape(G, kh * (O // G), Cg * kw)
    else:
        wm = w.reshape(G, O // G, Cg * kh * kw)
    if b is None:
        return np.ascontiguousarray(wm)
    aug = np.zeros(wm.shape[:2] + (wm.shape[2] + 1,), dtype=wm.dtype)
    aug[:, :, :-1] = wm
    aug[:, :O // G, -1] = b.reshape(G, O // G)
    return aug


def _conv_forward(x, w, b, spec, out_hw=None, on_windows=None):
    """out (N, O, OH, OW) = conv of x (N, C, H, W) with w (O, C/G, kh, kw), plus b (O,) when given.

    ``out_hw`` may ask for fewer output rows/cols than the input allows (conv_transpose's backward when its
    output_padding reaches past the last window). ``on_windows(s, m, windows, row_shift)``, when given, is
    called with every chunk's window matrix (images s..s+m) before the chunk's GEMM (see
    ``_WeightGradFromWindows``)."""
    N, C, H, W = x.shape
    O, Cg, kh, kw = w.shape
    G = spec.groups
    Og = O // G
    Hp, Wp, OH, OW = _geometry((H, W), w.shape, spec, out_hw)
    sh, dh = spec.stride[0], spec.dilation[0]
    out = np.empty((N, O, OH, OW), dtype=x.dtype)
    if out.size == 0:
        return out
    row_shift = _use_row_shift(Cg, Og, kh, kw, sh)
    wm = _weight_matrix(w, G, row_shift, b)
    ones = b is not None
    if row_shift:
        nb = _chunk(N, G * max(Cg * kw, kh * Og) * Hp * OW, Cg * kw)
    else:
        nb = _chunk(N, G * Cg * kh * kw * OH * OW, Cg * kh * kw)
    scratch = _Scratch(x.dtype)
    if not row_shift:  # zero borders, reused by every chunk
        buf = scratch.get("padded", (G, Cg, nb, Hp, Wp), zero=True)
    for s in range(0, N, nb):
        m = min(nb, N - s)
        o = out[s:s + m].reshape(m, G, Og, OH, OW).transpose(1, 2, 0, 3, 4)  # a (G, Og, m, OH, OW) view
        if row_shift:
            cw = _row_windows(x[s:s + m], G, spec, kw, Hp, OW, scratch, ones)
            if on_windows is not None:
                on_windows(s, m, cw, True)
            y = np.matmul(wm, cw, out=scratch.get("gemm", (G, kh * Og, cw.shape[2])))
            y = y.reshape(G, kh, Og, m, Hp, OW)
            # out row p takes kernel row i from padded row p + i*dh of the same image
            np.add(y[:, 0, :, :, 0:OH], y[:, 1, :, :, dh:dh + OH], out=o)
            for i in range(2, kh):
                o += y[:, i, :, :, i * dh:i * dh + OH]
        else:
            xc = _to_c_major(x[s:s + m], G, spec.padding, buf)
            cols = _full_windows(xc, kh, kw, OH, OW, spec.stride, spec.dilation, scratch, ones)
            if on_windows is not None:
                on_windows(s, m, cols, False)
            y = np.matmul(wm, cols, out=scratch.get("gemm", (G, Og, cols.shape[2])))
            o[...] = y.reshape(G, Og, m, OH, OW)
    return out


def _grad_input_by_correlation(g, w, spec, x_hw, x=None):
    """The input gradient of a stride-1 conv as a forward conv: gx = conv(g, w flipped and transposed)
    with padding d*(k-1) - p (negative: crop g). Returns (gx, gw): with x given, no padding larger than the
    dilated kernel and at least _FUSED_MIN_CHANNELS input channels a group, also the weight gradient from
    the same windows of g (else gw is None).

    gx[c, h, q] = sum_{o, i, j} w[o, c, i, j] g[o, h + p - i*d, q + p - j*d] is a correlation of g with
    w[o, c, k-1-i, k-1-j]. NOTE: the col2im form adds the kernel's column offsets with runs of only OW
    elements (2.5x slower than the forward's row-shift adds, measured); this reuses the forward kernel, and
    is used when its GEMM is no larger: (H + d*(k-1)) * W <= Hp * OW columns, true for 'same'-style padding
    (VGG's 3x3 pad 1: 8-10% faster backward), false for unpadded convs (CIFAR Net's 5x5: 1.8x the GEMM)."""
    N, O, OH, OW = g.shape
    _, Cg, kh, kw = w.shape
    G = spec.groups
    Og = O // G
    H, W = x_hw
    ((pt, _), (pl, _)), (dh, dw) = spec.padding, spec.dilation
    wt = w.reshape(G, Og, Cg, kh, kw)[:, :, :, ::-1, ::-1].transpose(0, 2, 1, 3, 4).reshape(G * Cg, Og, kh, kw)
    top, left = dh * (kh - 1) - pt, dw * (kw - 1) - pl
    bottom, right = H + dh * (kh - 1) - top - OH, W + dw * (kw - 1) - left - OW
    corr = Spec((1, 1), ((max(top, 0), max(bottom, 0)), (max(left, 0), max(right, 0))), spec.dilation, G)
    if x is not None and min(top, bottom, left, right) >= 0 and Cg >= _FUSED_MIN_CHANNELS:
        collect = _WeightGradFromWindows(x, G, Og, kh, kw, dh, H + dh * (kh - 1))
        return _conv_forward(g, wt, None, corr, (H, W), collect), collect.result()
    # negative padding: the rows/cols of g that no input pixel reaches are cropped
    g = g[:, :, max(-top, 0):OH + min(bottom, 0), max(-left, 0):OW + min(right, 0)]
    return _conv_forward(g, wt, None, corr, (H, W)), None


class _WeightGradFromWindows:
    """The weight gradient of a stride-1 conv from the windows of g that its input gradient's correlation
    (``_grad_input_by_correlation``) copies anyway: one pass over x instead of the windows of x and kh
    shifted copies of g (measured 9-12% faster backward for VGG's 32->32 and 32->64 3x3 convs at batch 64,
    3% for 64->64).

    With g padded by d*(k-1) - p, gw[o, c, i, j] = sum_{n, r, u} g_pad[n, o, r + (kh-1-i)*dh, u + (kw-1-j)*dw]
    x[n, c, r, u]. The correlation's row-shift windows are cw[(o, j'), (n, h', u)] = g_pad[n, o, h', u + j'*dw]
    over Hp' = H + dh*(kh-1) rows an image, so with x laid out on the same (n, h', u) grid (zero rows h' >= H),
    gw[:, :, i, kw-1-j'] = cw[(o, j'), l + (kh-1-i)*dh*W] @ x[c, l]^T: kh GEMMs on shifted views of cw (the
    shift never leaves an image where x is not zero). Full im2col windows cols[(o, i', j'), (n, r, u)] give
    gw[:, :, kh-1-i', kw-1-j'] = cols @ x^T in one GEMM."""

    def __init__(self, x, groups, og, kh, kw, dh, hp):
        self.x, self.G, self.Og, self.kh, self.kw, self.dh, self.hp = x, groups, og, kh, kw, dh, hp
        self.acc = None  # the gradient so far, laid out as the windows give it (see result)
        self.rows = None  # row-shift: x on the windows' row grid, zero rows past each image
        self.scratch = _Scratch(x.dtype)

    def __call__(self, s, m, win, row_shift):
        x, G, Og, kh, kw = self.x, self.G, self.Og, self.kh, self.kw
        _, C, H, W = x.shape
        Cg = C // G
        xv = x[s:s + m].reshape(m, G, Cg, H, W).transpose(1, 2, 0, 3, 4)  # (G, Cg, m, H, W)
        if not row_shift:
            xm = self.scratch.get("xrows", (G, Cg, m, H, W))
            np.copyto(xm, xv)
            part = np.matmul(win, xm.reshape(G, Cg, m * H * W).transpose(0, 2, 1),
                             out=self.scratch.get("gw", (G, Og * kh * kw, Cg)))
            if self.acc is None:
                self.acc = np.zeros(part.shape, dtype=part.dtype)
            self.acc += part
            return
        if self.acc is None:
            self.acc = np.zeros((G, kh, Og * kw, Cg), dtype=win.dtype)
            self.rows = self.scratch.get("xrows", (G, Cg, m, self.hp, W), zero=True)  # rows >= H stay 0
        xr = self.rows[:, :, :m]
        xr[:, :, :, :H] = xv
        L = m * self.hp * W
        xr = xr.reshape(G, Cg, L)
        part = self.scratch.get("gw", (G, Og * kw, Cg))
        for i in range(kh):
            shift = (kh - 1 - i) * self.dh * W
            np.matmul(win[:, :, shift:], xr[:, :, :L - shift].transpose(0, 2, 1), out=part)
            self.acc[:, i] += part

    def result(self):
        G, Og, kh, kw = self.G, self.Og, self.kh, self.kw
        Cg = self.x.shape[1] // G
        if self.acc.ndim == 4:  # (G, i, (o, j'), c), j' = kw-1-j
            gw = self.acc.reshape(G, kh, Og, kw, Cg)[:, :, :, ::-1].transpose(0, 2, 4, 1, 3)
        else:  # (G, (o, i', j'), c), i' = kh-1-i, j' = kw-1-j
            gw = self.acc.reshape(G, Og, kh, kw, Cg)[:, :, ::-1, ::-1].transpose(0, 1, 4, 2, 3)
        return np.ascontiguousarray(gw).reshape(G * Og, Cg, kh, kw)


def _weight_grad_gemm(g2, win, m, scratch):
    """g2 (G, M, m*L) @ win (G, K, m*L)^T: the weight gradient's GEMM over a chunk of m images.

    NOTE: with a tiny output (M*K < 1024: CIFAR Net's conv1 30x15, VGG's first conv 32x27) the one GEMM
    with a 35000-long inner dimension runs at ~20 GF/s in OpenBLAS; m per-image GEMMs (a batched matmul,
    summed) run 2-3x faster, as OpenBLAS takes small products without packing. Larger outputs: one GEMM."""
    G, M, n = g2.shape
    K = win.shape[1]
    if M * K >= 1024 or m == 1:
        return np.matmul(g2, win.transpose(0, 2, 1), out=scratch.get("gw", (G, M, K)))
    L = n // m
    g_img = g2.reshape(G, M, m, L).transpose(0, 2, 1, 3)  # (G, m, M, L)
    win_img = win.reshape(G, K, m, L).transpose(0, 2, 3, 1)  # (G, m, L, K)
    per_image = np.matmul(g_img, win_img, out=scratch.get("gw", (G, m, M, K)))
    return per_image.sum(axis=1)


def _conv_backward(g, x, w, spec, need_x=True, need_w=True, x_hw=None):
    """(gx, gw) of conv for the output gradient g (N, O, OH, OW); x may be None when need_w is False,
    ``x_hw`` then gives the input size.

    gw = g (O, n*OH*OW) @ windows^T summed over chunks. gx: for stride 1 (and padding that keeps the GEMM
    no larger) a forward correlation of g with the flipped kernel; otherwise col2im(W^T @ g) with kh*kw (or
    kw) slice-adds. In the row-shift layout both use gs[i, o, (n, h)] = g[n, o, h - i*dh] (zero outside):
    gw_r = gs @ cw^T and gcw = W_r^T @ gs, whose kw column offsets are added back into the padded gx."""
    N, O, OH, OW = g.shape
    _, Cg, kh, kw = w.shape
    G = spec.groups
    Og, C = O // G, Cg * G
    H, W = x.shape[2:] if x_hw is None else x_hw
    Hp, Wp, _, _ = _geometry((H, W), w.shape, spec, (OH, OW))
    (sh, sw), (dh, dw) = spec.stride, spec.dilation
    (pt, _), (pl, _) = spec.padding
    dtype = g.dtype
    gx = None
    if need_x and sh == 1 and sw == 1 and (H + dh * (kh - 1)) * W <= Hp * OW:
        gx, gw = _grad_input_by_correlation(g, w, spec, (H, W), x if need_w else None)
        need_x = False
        if not need_w or gw is not None:
            return gx, gw
    elif need_x:
        gx = np.empty((N, C, H, W), dtype=dtype)
    row_shift = _use_row_shift(Cg, Og, kh, kw, sh)
    wm = _weight_matrix(w, G, row_shift)
    if row_shift:
        nb = _chunk(N, G * max(Cg * kw, kh * Og) * Hp * OW, Cg * kw)
        gw = np.zeros((G, kh * Og, Cg * kw), dtype=dtype) if need_w else None
    else:
        nb = _chunk(N, G * Cg * kh * kw * OH * OW, Cg * kh * kw)
        gw = np.zeros((G, Og, Cg * kh * kw), dtype=dtype) if need_w else None
    scratch = _Scratch(dtype)
    xbuf = scratch.get("padded", (G, Cg, nb, Hp, Wp), zero=True) if need_w and not row_shift else None
    gsbuf = scratch.get("shifted", (G, kh, Og, nb, Hp, OW), zero=True) if row_shift else None
    wmt = wm.transpose(0, 2, 1) if need_x else None
    for s in range(0, N, nb):
        m = min(nb, N - s)
        gm = g[s:s + m].reshape(m, G, Og, OH, OW).transpose(1, 2, 0, 3, 4)  # (G, Og, m, OH, OW)
        if row_shift:
            gs = gsbuf[:, :, :, :m]
            for i in range(kh):  # rows outside [i*dh, i*dh + OH) stay zero
                gs[:, i, :, :, i * dh:i * dh + OH] = gm
            g2 = gs.reshape(G, kh * Og, m * Hp * OW) if m == nb else \
                np.ascontiguousarray(gs).reshape(G, kh * Og, m * Hp * OW)
        else:
            g2 = scratch.get("grad", (G, Og, m, OH, OW))
            np.copyto(g2, gm)
            g2 = g2.reshape(G, Og, m * OH * OW)
        if need_w:
            if row_shift:
                win = _row_windows(x[s:s + m], G, spec, kw, Hp, OW, scratch)
            else:
                xc = _to_c_major(x[s:s + m], G, spec.padding, xbuf)
                win = _full_windows(xc, kh, kw, OH, OW, spec.stride, spec.dilation, scratch)
            gw += _weight_grad_gemm(g2, win, m, scratch)
        if need_x:
            gxc = scratch.get("gxc", (G, Cg, m, Hp, Wp), zero=True)
            if row_shift:
                gcw = np.matmul(wmt, g2, out=scratch.get("gemm", (G, Cg * kw, g2.shape[2])))
                gcw = gcw.reshape(G, Cg, kw, m, Hp, OW)
                for j in range(kw):
                    gxc[..., j * dw:j * dw + sw * (OW - 1) + 1:sw] += gcw[:, :, j]
            else:
                gcols = np.matmul(wmt, g2, out=scratch.get("gemm", (G, Cg * kh * kw, g2.shape[2])))
                gcols = gcols.reshape(G, Cg, kh, kw, m, OH, OW)
                for i in range(kh):
                    for j in range(kw):
                        gxc[:, :, :, i * dh:i * dh + sh * (OH - 1) + 1:sh,
                            j * dw:j * dw + sw * (OW - 1) + 1:sw] += gcols[:, :, i, j]
            gx[s:s + m].reshape(m, G, Cg, H, W).transpose(1, 2, 0, 3, 4)[...] = \
                gxc[:, :, :, pt:pt + H, pl:pl + W]
    if need_w:
        if row_shift:
            gw = gw.reshape(G, kh, Og, Cg, kw).transpose(0, 2, 3, 1, 4)
        gw = np.ascontiguousarray(gw).reshape(w.shape)
    return gx, gw


def _bias_grad(g):
    """g summed over the batch and the spatial dims. NOTE: for a contiguous g the spatial sums are one
    matrix-vector product (3.5x faster than NumPy's sum over axes (0, 2, 3) at (64, 32, 32, 32))."""
    n, o = g.shape[:2]
    if g.ndim < 3 or not g.flags.c_contiguous or g.size == 0:
        return g.sum(axis=(0,) + tuple(range(2, g.ndim)))
    per_plane = g.reshape(n * o, -1) @ np.ones(g.size // (n * o), dtype=g.dtype)
    return per_plane.reshape(n, o).sum(axis=0)


# ---- 1-D inputs run as 2-D with H = 1 -------------------------------------------------------------------
def _as4d(a):
    return a if a.ndim == 4 else a.reshape(a.shape[:2] + (1,) + a.shape[2:])


def _like(a, ndim):
    return a if ndim == 4 else a.reshape(a.shape[:2] + a.shape[3:])


def _hw(shape):
    return tuple(shape[2:]) if len(shape) == 4 else (1, shape[2])


# ---- the ops -----------------------------------------------------------------------------------------------
class Conv(Op):
    """y = conv(x, w) + b (x (N, C, *spatial), w (O, C/G, *k)).

    dx = conv_transpose(g, w) (col2im of W^T g);  dw = g correlated with the windows of x;  db = sum of g
    over N and the spatial dims. ``out_hw`` fixes the output size (None: the natural one)."""

    @staticmethod
    def forward(ctx, x, w, b, spec, out_hw):
        ctx.spec = spec
        ctx.save_for_backward(x, w)
        out = _conv_forward(_as4d(x), _as4d(w), b, spec, out_hw)
        return _like(out, x.ndim)

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        spec = ctx.spec
        gb = None
        if not state.enabled:  # first-order backward: one pass over the windows for both gradients
            gx, gw = _conv_backward(_as4d(grad._data), _as4d(x._data), _as4d(w._data), spec, need[0], need[1])
            gx = None if gx is None else _make(_like(gx, x.ndim))
            gw = None if gw is None else _make(gw.reshape(w.shape))
            if len(need) > 2 and need[2]:
                gb = _make(_bias_grad(grad._data))
            return gx, gw, gb, None, None
        gx = ConvTranspose.apply(grad, w, None, spec, _hw(x.shape)) if need[0] else None
        gw = ConvWeight.apply(grad, x, spec, tuple(w.shape)) if need[1] else None
        if len(need) > 2 and need[2]:
            gb = grad.sum((0,) + tuple(range(2, grad.ndim)))
        return gx, gw, gb, None, None


class ConvTranspose(Op):
    """y = conv_transpose(x, w) + b: the input gradient of conv (x (N, C_in, *), w (C_in, C_out/G, *k)),
    with the output size ``out_hw`` given.

    dx = conv(g, w);  dw = the weight gradient of conv with x as its output gradient and g as its input."""

    @staticmethod
    def forward(ctx, x, w, b, spec, out_hw):
        ctx.spec = spec
        ctx.save_for_backward(x, w)
        y, _ = _conv_backward(_as4d(x), None, _as4d(w), spec, need_w=False, x_hw=out_hw)
        if b is not None:
            y += b.reshape(1, -1, 1, 1)
        return _like(y, x.ndim)

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        spec = ctx.spec
        gx = gw = gb = None
        if not state.enabled:
            g4 = _as4d(grad._data)
            if need[0]:
                gx = _make(_like(_conv_forward(g4, _as4d(w._data), None, spec, _hw(x.shape)), x.ndim))
            if need[1]:
                _, gw = _conv_backward(_as4d(x._data), g4, _as4d(w._data), spec, need_x=False)
                gw = _make(gw.reshape(w.shape))
            if len(need) > 2 and need[2]:
                gb = _make(_bias_grad(grad._data))
            return gx, gw, gb, None, None
        if need[0]:
            gx = Conv.apply(grad, w, None, spec, _hw(x.shape))
        if need[1]:
            gw = ConvWeight.apply(x, grad, spec, tuple(w.shape))
        if len(need) > 2 and need[2]:
            gb = grad.sum((0,) + tuple(range(2, grad.ndim)))
        return gx, gw, gb, None, None


class ConvWeight(Op):
    """gw = the weight gradient of conv: gw[o, c, i, j] = sum g[n, o, p, q] x_pad[n, c, p*s + i*d, q*s + j*d].

    It is linear in g and in x: d g = conv(x, dgw);  d x = conv_transpose(g, dgw)."""

    @staticmethod
    def forward(ctx, g, x, spec, w_shape):
        ctx.spec = spec
        ctx.save_for_backward(g, x)
        w4 = w_shape if len(w_shape) == 4 else w_shape[:2] + (1,) + w_shape[2:]
        _, gw = _conv_backward(_as4d(g), _as4d(x), np.empty(w4, dtype=g.dtype), spec, need_x=False)
        return gw.reshape(w_shape)

    @staticmethod
    def backward(ctx, dgw):
        g, x = ctx.saved_tensors
        need = ctx.needs_input_grad
        spec = ctx.spec
        dg = Conv.apply(x, dgw, None, spec, _hw(g.shape)) if need[0] else None
        dx = ConvTranspose.apply(g, dgw, None, spec, _hw(x.shape)) if need[1] else None
        return dg, dx, None, None


# ---- argument handling ---------------------------------------------------------------------------------
def _tuple(v, n, op, name):
    if isinstance(v, (tuple, list)):
        if len(v) == 1:
            v = tuple(v) * n
        if len(v) != n or not all(isinstance(e, (int, np.integer)) for e in v):
            raise ValueError(f"{op}: {name} must be an int or a tuple of {n} ints, got {v!r}")
        return tuple(int(e) for e in v)
    if not isinstance(v, (int, np.integer)):
        raise TypeError(f"{op}: {name} must be an int or a tuple of {n} ints, got {v!r}")
    return (int(v),) * n


def _check_tensor(t, op, name):
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}(): argument '{name}' must be Tensor, not {type(t).__name__}")


def _shp(t):
    return tuple(t.shape)


def _batched(input, op, nsp, what="input"):
    """(input as batched, whether it was unbatched); checks the number of dims."""
    if input.ndim == nsp + 2:
        return input, False
    if input.ndim == nsp + 1:
        return _shape.unsqueeze(input, 0), True
    raise RuntimeError(f"{op}: expected a {nsp + 1}-D (unbatched) or {nsp + 2}-D (batched) {what}, got "
                       f"{what} of shape {_shp(input)}")


def _check_common(input, weight, bias, op, nsp, stride, dilation, groups):
    _check_tensor(input, op, "input")
    _check_tensor(weight, op, "weight")
    if weight.ndim != nsp + 2:
        raise RuntimeError(f"{op}: expected a {nsp + 2}-D weight, got weight of shape {_shp(weight)}")
    if input._data.dtype != weight._data.dtype:
        raise RuntimeError(f"{op}: input dtype {input.dtype} and weight dtype {weight.dtype} differ (shapes "
                           f"{_shp(input)} and {_shp(weight)})")
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"{op}: expected a floating-point input, got {input.dtype}")
    if bias is not None:
        _check_tensor(bias, op, "bias")
        if bias._data.dtype != input._data.dtype:
            raise RuntimeError(f"{op}: bias dtype {bias.dtype} differs from the input dtype {input.dtype}")
    if not isinstance(groups, (int, np.integer)) or groups < 1:
        raise RuntimeError(f"{op}: groups must be a positive integer, got {groups!r}")
    if any(s <= 0 for s in stride):
        raise RuntimeError(f"{op}: non-positive stride is not supported, got stride={stride}")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"{op}: dilation should be greater than zero, got dilation={dilation}")


def _spec(nsp, stride, padding, dilation, groups):
    """A Spec for the 4-D kernels; a 1-D conv gets a unit H dimension."""
    if nsp == 1:
        return Spec((1, stride[0]), ((0, 0), padding[0]), (1, dilation[0]), groups)
    return Spec(stride, padding, dilation, groups)


def _conv(input, weight, bias, stride, padding, dilation, groups, op, nsp):
    _check_tensor(input, op, "input")
    x, unbatched = _batched(input, op, nsp)
    stride = _tuple(stride, nsp, op, "stride")
    dilation = _tuple(dilation, nsp, op, "dilation")
    _check_common(x, weight, bias, op, nsp, stride, dilation, groups)
    k = _shp(weight)[2:]
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0),) * nsp
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError(f"{op}: padding='same' is not supported for strided convolutions "
                                   f"(stride={stride})")
            # NOTE: PyTorch's 'same': total padding d*(k-1) per dim, the odd one extra at the end (right/bottom)
            pads = tuple((d * (kk - 1) // 2, d * (kk - 1) - d * (kk - 1) // 2) for d, kk in zip(dilation, k))
        else:
            raise ValueError(f"{op}: invalid padding string {padding!r}, should be one of {{'valid', 'same'}}")
    else:
        p = _tuple(padding, nsp, op, "padding")
        if any(v < 0 for v in p):
            raise RuntimeError(f"{op}: negative padding is not supported, got padding={p}")
        pads = tuple((v, v) for v in p)
    n, c = _shp(x)[:2]
    o, cg = _shp(weight)[:2]
    if o % groups:
        raise RuntimeError(f"{op}: weight {_shp(weight)} has {o} output channels, which is not divisible by "
                           f"groups={groups}")
    if c != cg * groups:
        raise RuntimeError(f"{op}: input {_shp(input)} has {c} channels but weight {_shp(weight)} expects "
                           f"{cg * groups} (groups={groups})")
    if bias is not None and _shp(bias) != (o,):
        raise RuntimeError(f"{op}: bias of shape {_shp(bias)} does not match the {o} output channels of weight "
                           f"{_shp(weight)}")
    sizes = _shp(x)[2:]
    for dim, (size, kk, (lo, hi), d) in enumerate(zip(sizes, k, pads, dilation)):
        if size + lo + hi < d * (kk - 1) + 1:
            raise RuntimeError(f"{op}: input {_shp(input)} padded to {size + lo + hi} along spatial dim {dim} "
                               f"is smaller than the dilated kernel size {d * (kk - 1) + 1} (kernel {k}, "
                               f"dilation {dilation})")
    out = Conv.apply(x, weight, bias, _spec(nsp, stride, pads, dilation, groups), None)
    return _shape.squeeze(out, 0) if unbatched else out


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """out[n, o, l] = bias[o] + sum_{c, k} weight[o, c, k] input_pad[n, g*C/G + c, l*stride + k*dilation]
    (cross-correlation, as in PyTorch; g the group of o).

    Args:
        input: (N, C_in, L) or unbatched (C_in, L). weight: (C_out, C_in/groups, kL). bias: (C_out,) or None.
        stride, dilation: int or (int,). padding: int, (int,), 'valid' (= 0) or 'same' (output length =
            input length; stride must be 1; the odd extra element of padding goes at the end).
        groups: split the channels into ``groups`` independent convolutions (= C_in for depthwise).

    Shape: output (N, C_out, L_out), L_out = (L + 2*padding - dilation*(kL-1) - 1) // stride + 1.

    Example::

        >>> from nnzoo.ops.conv import conv1d
        >>> conv1d(nnzoo.ones(2, 3, 10), nnzoo.ones(4, 3, 3), padding=1).shape
        nnzoo.Size([2, 4, 10])
    """
    return _conv(input, weight, bias, stride, padding, dilation, groups, "conv1d", 1)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """out[n, o, p, q] = bias[o] + sum_{c, i, j} weight[o, c, i, j] input_pad[n, g*C/G + c, p*sH + i*dH,
    q*sW + j*dW] (cross-correlation, as in PyTorch).

    Args:
        input: (N, C_in, H, W) or unbatched (C_in, H, W). weight: (C_out, C_in/groups, kH, kW).
        bias: (C_out,) or None. stride, dilation: int or (int, int).
        padding: int, (int, int), 'valid' (= 0) or 'same' (output size = input size; stride must be 1;
            an odd total padding puts the extra row/column at the bottom/right, as PyTorch).
        groups: split the channels into ``groups`` independent convolutions (= C_in for depthwise).

    Shape: output (N, C_out, H_out, W_out), H_out = (H + 2*padding - dilation*(kH-1) - 1) // stride + 1.

    Example::

        >>> from nnzoo.ops.conv import conv2d
        >>> conv2d(nnzoo.ones(1, 3, 7, 7), nnzoo.ones(2, 3, 3, 3), stride=2).shape  # 7x7, 3x3, stride 2
        nnzoo.Size([1, 2, 3, 3])
    """
    return _conv(input, weight, bias, stride, padding, dilation, groups, "conv2d", 2)


def _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, op, nsp):
    _check_tensor(input, op, "input")
    x, unbatched = _batched(input, op, nsp)
    stride = _tuple(stride, nsp, op, "stride")
    dilation = _tuple(dilation, nsp, op, "dilation")
    _check_common(x, weight, bias, op, nsp, stride, dilation, groups)
    if isinstance(padding, str):
        raise ValueError(f"{op}: padding must be an int or a tuple of ints for a transposed convolution, got "
                         f"{padding!r}")
    pad = _tuple(padding, nsp, op, "padding")
    opad = _tuple(output_padding, nsp, op, "output_padding")
    if any(v < 0 for v in pad):
        raise RuntimeError(f"{op}: negative padding is not supported, got padding={pad}")
    for op_, s, d in zip(opad, stride, dilation):
        if op_ < 0 or op_ >= max(s, d):
            raise RuntimeError(f"{op}: output padding must be smaller than either stride or dilation, got "
                               f"output_padding={opad}, stride={stride}, dilation={dilation}")
    c = _shp(x)[1]
    cin, cg_out = _shp(weight)[:2]
    if cin % groups:
        raise RuntimeError(f"{op}: weight {_shp(weight)} has {cin} input channels, which is not divisible by "
                           f"groups={groups}")
    if c != cin:
        raise RuntimeError(f"{op}: input {_shp(input)} has {c} channels but weight {_shp(weight)} expects {cin} "
                           f"(groups={groups})")
    if bias is not None and _shp(bias) != (cg_out * groups,):
        raise RuntimeError(f"{op}: bias of shape {_shp(bias)} does not match the {cg_out * groups} output "
                           f"channels of weight {_shp(weight)} (groups={groups})")
    k = _shp(weight)[2:]
    sizes = _shp(x)[2:]
    out = tuple((n - 1) * s - 2 * p + d * (kk - 1) + o + 1
                for n, s, p, d, kk, o in zip(sizes, stride, pad, dilation, k, opad))
    if any(v < 0 for v in out):
        raise RuntimeError(f"{op}: input {_shp(input)} with weight {_shp(weight)}, stride {stride}, padding "
                           f"{pad}, dilation {dilation} gives a negative output size {out}")
    if any(v == 0 for v in out):  # NOTE: PyTorch returns the empty output (every gradient 0) rather than raising
        y = (x.sum() + weight.sum() + (0.0 if bias is None else bias.sum())) * 0.0
        y = _shape.broadcast_to(y, (_shp(x)[0], cg_out * groups) + out)
        return _shape.squeeze(y, 0) if unbatched else y
    # The weight of conv_transpose (C_in, C_out/G, *k) is the weight of the conv it transposes.
    spec = _spec(nsp, stride, tuple((p, p) for p in pad), dilation, groups)
    out_hw = out if nsp == 2 else (1,) + out
    y = ConvTranspose.apply(x, weight, bias, spec, out_hw)
    return _shape.squeeze(y, 0) if unbatched else y


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """The transpose (adjoint) of conv1d, a.k.a. "deconvolution": every input element scatters
    weight[c, o, :] * x into the output at l*stride + k*dilation - padding.

    Args:
        input: (N, C_in, L) or unbatched (C_in, L). weight: (C_in, C_out/groups, kL). bias: (C_out,) or None.
        stride, padding, dilation: those of the conv being transposed. output_padding: extra length added
            at the end of the output (< stride or dilation) to pick among the sizes a strided conv maps
            to the same length.

    Shape: output (N, C_out, L_out), L_out = (L-1)*stride - 2*padding + dilation*(kL-1) + output_padding + 1.

    Example::

        >>> from nnzoo.ops.conv import conv_transpose1d
        >>> conv_transpose1d(nnzoo.ones(1, 4, 5), nnzoo.ones(4, 2, 3), stride=2).shape
        nnzoo.Size([1, 2, 11])
    """
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation,
                           "conv_transpose1d", 1)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """The transpose (adjoint) of conv2d, a.k.a. "deconvolution": the input gradient of conv2d as a layer.

    Args:
        input: (N, C_in, H, W) or unbatched (C_in, H, W). weight: (C_in, C_out/groups, kH, kW).
        bias: (C_out,) or None. stride, padding, dilation: those of the conv being transposed (int or pair).
        output_padding: extra rows/cols at the bottom/right (< stride or dilation).

    Shape: output (N, C_out, H_out, W_out), H_out = (H-1)*sH - 2*pH + dH*(kH-1) + output_padding + 1.

    Example::

        >>> from nnzoo.ops.conv import conv_transpose2d
        >>> conv_transpose2d(nnzoo.ones(1, 4, 3, 3), nnzoo.ones(4, 2, 3, 3), stride=2, padding=1,
        ...                  output_padding=1).shape
        nnzoo.Size([1, 2, 6, 6])
    """
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation,
                           "conv_transpose2d", 2)


# ---- unfold / fold: im2col and col2im as ops ----------------------------------------------------------------
class Unfold(Op):
    """cols[n, (c, i, j), (p, q)] = x_pad[n, c, p*sH + i*dH, q*sW + j*dW];  backward: fold (col2im)."""

    @staticmethod
    def forward(ctx, x, k, dilation, padding, stride):
        ctx.args = (k, dilation, padding, stride)
        ctx.hw = x.shape[2:]
        n, c, h, w = x.shape
        (kh, kw), (dh, dw), (ph, pw), (sh, sw) = k, dilation, padding, stride
        oh, ow = _out_len(h, kh, sh, ph, ph, dh), _out_len(w, kw, sw, pw, pw, dw)
        xp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=x.dtype)
        xp[:, :, ph:ph + h, pw:pw + w] = x
        s = xp.strides
        win = as_strided(xp, (n, c, kh, kw, oh, ow), (s[0], s[1], dh * s[2], dw * s[3], sh * s[2], sw * s[3]))
        return np.ascontiguousarray(win).reshape(n, c * kh * kw, oh * ow)

    @staticmethod
    def backward(ctx, grad):
        k, dilation, padding, stride = ctx.args
        return Fold.apply(grad, ctx.hw, k, dilation, padding, stride), None, None, None, None


class Fold(Op):
    """out = col2im(cols): each column's kh*kw values summed back at their window positions;
    backward: unfold."""

    @staticmethod
    def forward(ctx, cols, out_hw, k, dilation, padding, stride):
        ctx.args = (k, dilation, padding, stride)
        (h, w), (kh, kw), (dh, dw), (ph, pw), (sh, sw) = out_hw, k, dilation, padding, stride
        n = cols.shape[0]
        c = cols.shape[1] // (kh * kw)
        oh, ow = _out_len(h, kh, sh, ph, ph, dh), _out_len(w, kw, sw, pw, pw, dw)
        cols = cols.reshape(n, c, kh, kw, oh, ow)
        out = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
        for i in range(kh):
            for j in range(kw):
                out[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh,
                    j * dw:j * dw + sw * (ow - 1) + 1:sw] += cols[:, :, i, j]
        return out[:, :, ph:ph + h, pw:pw + w].copy() if ph or pw else out

    @staticmethod
    def backward(ctx, grad):
        return (Unfold.apply(grad, *ctx.args),) + (None,) * 5


def _fold_args(kernel_size, dilation, padding, stride, op):
    k = _tuple(kernel_size, 2, op, "kernel_size")
    d = _tuple(dilation, 2, op, "dilation")
    p = _tuple(padding, 2, op, "padding")
    s = _tuple(stride, 2, op, "stride")
    if any(v <= 0 for v in k + d + s) or any(v < 0 for v in p):
        raise RuntimeError(f"{op}: kernel_size, dilation and stride must be positive and padding non-negative, "
                           f"got kernel_size={k}, dilation={d}, padding={p}, stride={s}")
    return k, d, p, s


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """im2col: every sliding kernel_size block of the (zero-padded) input as a column.

    out[n, c*kH*kW + i*kW + j, p*W_out + q] = input_pad[n, c, p*sH + i*dH, q*sW + j*dW].

    Args:
        input: (N, C, H, W) or unbatched (C, H, W). kernel_size, dilation, padding, stride: int or pair.

    Shape: output (N, C*kH*kW, L), L = H_out * W_out with H_out = (H + 2*pH - dH*(kH-1) - 1) // sH + 1.

    Example::

        >>> from nnzoo.ops.conv import unfold
        >>> unfold(nnzoo.ones(2, 3, 4, 5), kernel_size=(2, 3)).shape
        nnzoo.Size([2, 18, 9])
    """
    op = "unfold"
    _check_tensor(input, op, "input")
    if input.ndim not in (3, 4):
        raise RuntimeError(f"{op}: expected a 3-D (unbatched) or 4-D (batched) input, got shape {_shp(input)}")
    k, d, p, s = _fold_args(kernel_size, dilation, padding, stride, op)
    x = input if input.ndim == 4 else _shape.unsqueeze(input, 0)
    h, w = _shp(x)[2:]
    oh, ow = _out_len(h, k[0], s[0], p[0], p[0], d[0]), _out_len(w, k[1], s[1], p[1], p[1], d[1])
    if oh <= 0 or ow <= 0:
        raise RuntimeError(f"{op}: input {_shp(input)} with kernel_size={k}, dilation={d}, padding={p}, "
                           f"stride={s} gives no block (output size {oh} x {ow})")
    out = Unfold.apply(x, k, d, p, s)
    return out if input.ndim == 4 else _shape.squeeze(out, 0)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """col2im, the adjoint of unfold: sums each column's kH*kW values back into their block of the output
    (overlapping blocks add up).

    Args:
        input: (N, C*kH*kW, L) or unbatched (C*kH*kW, L). output_size: (H, W) of the output (int or pair).
        kernel_size, dilation, padding, stride: those of the unfold it inverts; L must equal H_out * W_out.

    Shape: output (N, C, H, W).

    Example::

        >>> from nnzoo.ops.conv import fold, unfold
        >>> fold(unfold(nnzoo.ones(1, 1, 3, 3), 2), (3, 3), 2)  # how many 2x2 blocks cover each pixel
        tensor([[[[1., 2., 1.],
                  [2., 4., 2.],
                  [1., 2., 1.]]]])
    """
    op = "fold"
    _check_tensor(input, op, "input")
    if input.ndim not in (2, 3):
        raise RuntimeError(f"{op}: expected a 2-D (unbatched) or 3-D (batched) input, got shape {_shp(input)}")
    hw = _tuple(output_size, 2, op, "output_size")
    k, d, p, s = _fold_args(kernel_size, dilation, padding, stride, op)
    x = input if input.ndim == 3 else _shape.unsqueeze(input, 0)
    ckk, length = _shp(x)[1:]
    if ckk % (k[0] * k[1]):
        raise RuntimeError(f"{op}: expected size of input's dim 1 ({ckk}, input shape {_shp(input)}) to be "
                           f"divisible by the product of kernel_size {k} = {k[0] * k[1]}")
    oh, ow = _out_len(hw[0], k[0], s[0], p[0], p[0], d[0]), _out_len(hw[1], k[1], s[1], p[1], p[1], d[1])
    if oh <= 0 or ow <= 0 or oh * ow != length:
        raise RuntimeError(f"{op}: given output_size={hw}, kernel_size={k}, dilation={d}, padding={p}, "
                           f"stride={s}, expected the last dim of input {_shp(input)} to be {max(oh, 0)} * "
                           f"{max(ow, 0)} = {max(oh, 0) * max(ow, 0)} blocks, but got {length}")
    out = Fold.apply(x, hw, k, d, p, s)
    return out if input.ndim == 3 else _shape.squeeze(out, 0)
