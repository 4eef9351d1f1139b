"""Convolution kernels: the array code of ``nnzoo.ops.conv`` (forward and backward of every convolution,
im2col and col2im). Arrays in, arrays out; the Op classes and the argument checks live in ``nnzoo.ops.conv``.

Two array kernels do all the work, on 4-D arrays (a 1-D convolution is a 2-D one with H = 1):

* ``conv_forward``: out[n, o, p, q] = sum_{c, i, j} w[o, c, i, j] x_pad[n, c, p*sh + i*dh, q*sw + j*dw] + b[o];
* ``conv_backward``: its adjoints, gw[o, c, i, j] = sum_{n, p, q} g[n, o, p, q] x_pad[n, c, p*sh + i*dh, ...]
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

Compiled path (``jit.use``: Numba installed, float32/float64 NumPy arrays, not ``NNZOO_KERNELS=numpy``): the
same layouts, chunks and GEMMs (BLAS), with the passes around the GEMMs compiled and split over the cores by
(image, channel): the windows copied straight from x (no padded copy, ``_windows_kernel``), the row-shift
sums written into ``out`` in one pass (``_row_shift_sum_kernel``), g packed into the GEMM's layout with its
kh shifted copies (``_pack_kernel``), col2im written into gx in place (``_col2im_kernel``); the
correlation's weight gradient runs one stacked GEMM (``_WeightGradFromWindows._call_compiled``). The NumPy
passes are the reference (tests/kernels/test_conv_compiled.py compares the two). NOTE: measured on one core
(CPU time, paired): the passes 1.1-3.1x faster, the conv layers of CIFAR Net and VGG 1.05-1.30x, their training
steps 1.23x and 1.09x with only the conv kernels switched; the GEMMs are the rest of the time.
"""
from __future__ import annotations

import math
import threading
from collections import namedtuple

import numpy as np

from ..backend import xp
from . import jit, threads
from .jit import prange

__all__ = ["Spec", "conv_forward", "conv_backward", "bias_grad", "im2col", "col2im", "out_len", "as4d", "like"]

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


def out_len(n: int, k: int, stride: int, pad_lo: int, pad_hi: int, dilation: int) -> int:
    """The number of windows along one axis: (n + pad_lo + pad_hi - dilation (k - 1) - 1) // stride + 1."""
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


# NOTE: a compiled conv call of at least this many multiply-adds (N*O*OH*OW*C/G*kh*kw) runs its two halves of
# the batch on two threads (``threads.pair``), each with serial kernels and one-thread BLAS; see _split.
_SPLIT_MIN_MACS = 1 << 20


def _split(n, macs_per_image):
    """Run a compiled conv call as two halves of the batch on two threads?

    NOTE: measured at two threads on the CNN steps (2 cores): OpenBLAS's two-thread GEMMs on these skinny
    shapes scale 1.1-1.4x and Numba's parallel copies hand work to the second core at every pass; the CIFAR
    Net's step ran 7.9 ms with one thread of each and 11.6 ms with two. Each thread doing the whole layer on
    half the batch keeps both cores busy through the GEMMs and the copies alike. Each half runs chunks of half
    the usual images, so that the two threads' scratch buffers (one set per thread) together stay the size of
    one unsplit call's (peak memory, VGG step: +14.5 MB with whole chunks)."""
    return n >= 2 and n * macs_per_image >= _SPLIT_MIN_MACS and threads.available()


class _Scratch:
    """Scratch arrays of one kernel call, reused by all its chunks and kept for the next call: ``get(name,
    shape)`` is a view of the first prod(shape) elements of one buffer per (thread, dtype, name).

    NOTE: allocating the window copy and the GEMM output afresh costs more than the work on them (2 of 4 ms
    for CIFAR Net's conv1): glibc hands such 0.1-32 MB blocks back to the OS when they are freed, and they
    come back as fresh pages that fault on first touch (~1000 faults a call). Buffers up to _KEEP_BYTES stay
    alive between calls, one set per thread; a kernel may call another kernel only while it holds no
    scratch view (``conv_backward`` computes the correlation form of gx before its own chunk loop)."""

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
            buf = xp.empty(size, dtype=self.dtype)
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
    win = xp.lib.stride_tricks.as_strided(xc, (G, Cg, kh, kw, m, oh, ow),
                     (s[0], s[1], dh * s[3], dw * s[4], s[2], sh * s[3], sw * s[4]))
    mat = _with_ones_row(scratch, G, Cg * kh * kw, m * oh * ow, ones)
    xp.copyto(mat[:, :Cg * kh * kw].reshape(win.shape), win)
    return mat


def _geometry(x_hw, w_shape, spec, out_hw=None):
    (H, W), (kh, kw) = x_hw, w_shape[2:]
    (sh, sw), ((pt, pb), (pl, pr)), (dh, dw) = spec.stride, spec.padding, spec.dilation
    if out_hw is None:
        out_hw = (out_len(H, kh, sh, pt, pb, dh), out_len(W, kw, sw, pl, pr, dw))
    return H + pt + pb, W + pl + pr, out_hw[0], out_hw[1]


def _weight_matrix(w, G, row_shift, b=None):
    """w (O, C/G, kh, kw) as the GEMM's matrix: (G, O/G, C/G*kh*kw), or for row-shift (G, kh*O/G, C/G*kw)
    with rows (i, o) and columns (c, j). With a bias b (O,), one more column: b in the rows of o (row-shift:
    of (0, o), so that each output gets it once), 0 elsewhere; the windows then end with a row of ones."""
    O, Cg, kh, kw = w.shape  # noqa: E741 (O: output channels, as in the docstrings)
    if row_shift:
        wm = w.reshape(G, O // G, Cg, kh, kw).transpose(0, 3, 1, 2, 4).reshape(G, kh * (O // G), Cg * kw)
    else:
        wm = w.reshape(G, O // G, Cg * kh * kw)
    if b is None:
        return xp.ascontiguousarray(wm)
    aug = xp.zeros(wm.shape[:2] + (wm.shape[2] + 1,), dtype=wm.dtype)
    aug[:, :, :-1] = wm
    aug[:, :O // G, -1] = b.reshape(G, O // G)
    return aug


def conv_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, spec: Spec, out_hw: tuple[int, int] | None = None,
                 on_windows=None) -> np.ndarray:
    """out (N, O, OH, OW) = conv of x (N, C, H, W) with w (O, C/G, kh, kw), plus b (O,) when given.

    ``out_hw`` may ask for fewer output rows/cols than the input allows (conv_transpose's backward when its
    output_padding reaches past the last window). ``on_windows(s, m, windows, row_shift)``, when given, is
    called with every chunk's window matrix (images s..s+m) before the chunk's GEMM (see
    ``_WeightGradFromWindows``)."""
    N, _, H, W = x.shape
    O, Cg, kh, kw = w.shape  # noqa: E741
    G = spec.groups
    Og = O // G
    Hp, Wp, OH, OW = _geometry((H, W), w.shape, spec, out_hw)
    sh, dh = spec.stride[0], spec.dilation[0]
    out = xp.empty((N, O, OH, OW), dtype=x.dtype)
    if out.size == 0:
        return out
    row_shift = _use_row_shift(Cg, Og, kh, kw, sh)
    wm = _weight_matrix(w, G, row_shift, b)
    ones = b is not None
    if row_shift:
        nb = _chunk(N, G * max(Cg * kw, kh * Og) * Hp * OW, Cg * kw)
    else:
        nb = _chunk(N, G * Cg * kh * kw * OH * OW, Cg * kh * kw)
    if jit.use(x, w):
        x = xp.ascontiguousarray(x)
        args = (wm, (kh, kw), spec, row_shift, nb, Hp, out)
        if _split(N, O * OH * OW * Cg * kh * kw):
            h, args = N // 2, (wm, (kh, kw), spec, row_shift, max(1, nb // 2), Hp, out)  # scratch: see _split
            other = on_windows.fork() if on_windows is not None else None
            threads.pair(lambda: _forward_compiled(x, 0, h, *args, other, ones),
                         lambda: _forward_compiled(x, h, N, *args, on_windows, ones))
            if other is not None:
                on_windows.merge(other)
        else:
            _forward_compiled(x, 0, N, *args, on_windows, ones)
        return out
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
            y = xp.matmul(wm, cw, out=scratch.get("gemm", (G, kh * Og, cw.shape[2])))
            y = y.reshape(G, kh, Og, m, Hp, OW)
            # out row p takes kernel row i from padded row p + i*dh of the same image
            xp.add(y[:, 0, :, :, 0:OH], y[:, 1, :, :, dh:dh + OH], out=o)
            for i in range(2, kh):
                o += y[:, i, :, :, i * dh:i * dh + OH]
        else:
            xc = _to_c_major(x[s:s + m], G, spec.padding, buf)
            cols = _full_windows(xc, kh, kw, OH, OW, spec.stride, spec.dilation, scratch, ones)
            if on_windows is not None:
                on_windows(s, m, cols, False)
            y = xp.matmul(wm, cols, out=scratch.get("gemm", (G, Og, cols.shape[2])))
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
    _, O, OH, OW = g.shape  # noqa: E741
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
        return conv_forward(g, wt, None, corr, (H, W), collect), collect.result()
    # negative padding: the rows/cols of g that no input pixel reaches are cropped
    g = g[:, :, max(-top, 0):OH + min(bottom, 0), max(-left, 0):OW + min(right, 0)]
    return conv_forward(g, wt, None, corr, (H, W)), None


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
        self.compiled = jit.use(x)
        if self.compiled:
            x = xp.ascontiguousarray(x)
        self.x, self.G, self.Og, self.kh, self.kw, self.dh, self.hp = x, groups, og, kh, kw, dh, hp
        self.acc = None  # the gradient so far, laid out as the windows give it (see result)
        self.stacked = False  # compiled row-shift: acc is (G, (o, j'), (i', c)), see _call_compiled
        self.rows = None  # row-shift: x on the windows' row grid, zero rows past each image
        self._scratch = None  # made by the thread that first uses it (scratch buffers are per thread)

    @property
    def scratch(self):
        if self._scratch is None:
            self._scratch = _Scratch(self.x.dtype)
        return self._scratch

    def fork(self):
        """An empty collector for the same x, to run on another thread (see ``conv_forward``'s split)."""
        return _WeightGradFromWindows(self.x, self.G, self.Og, self.kh, self.kw, self.dh, self.hp)

    def merge(self, other):
        """Add a fork's gradient so far into this one."""
        if other.acc is None:
            return
        if self.acc is None:
            self.acc, self.stacked = other.acc, other.stacked
        else:
            self.acc += other.acc

    def __call__(self, s, m, win, row_shift):
        if self.compiled:
            self._call_compiled(s, m, win, row_shift)
            return
        x, G, Og, kh, kw = self.x, self.G, self.Og, self.kh, self.kw
        _, C, H, W = x.shape
        Cg = C // G
        xv = x[s:s + m].reshape(m, G, Cg, H, W).transpose(1, 2, 0, 3, 4)  # (G, Cg, m, H, W)
        if not row_shift:
            xm = self.scratch.get("xrows", (G, Cg, m, H, W))
            xp.copyto(xm, xv)
            part = xp.matmul(win, xm.reshape(G, Cg, m * H * W).transpose(0, 2, 1),
                             out=self.scratch.get("gw", (G, Og * kh * kw, Cg)))
            if self.acc is None:
                self.acc = xp.zeros(part.shape, dtype=part.dtype)
            self.acc += part
            return
        if self.acc is None:
            self.acc = xp.zeros((G, kh, Og * kw, Cg), dtype=win.dtype)
            self.rows = self.scratch.get("xrows", (G, Cg, m, self.hp, W), zero=True)  # rows >= H stay 0
        xr = self.rows[:, :, :m]
        xr[:, :, :, :H] = xv
        L = m * self.hp * W
        xr = xr.reshape(G, Cg, L)
        part = self.scratch.get("gw", (G, Og * kw, Cg))
        for i in range(kh):
            shift = (kh - 1 - i) * self.dh * W
            xp.matmul(win[:, :, shift:], xr[:, :, :L - shift].transpose(0, 2, 1), out=part)
            self.acc[:, i] += part

    def _call_compiled(self, s, m, win, row_shift):
        """The row-shift form stacks x's kh row-shifted copies xs[(i', c), (n, h', u)] = x[n, c, h' - i'*dh, u]
        (0 off the image) and runs ONE GEMM cw @ xs^T, whose column block i' is the i = kh-1-i' term.
        NOTE: one GEMM with kh*C/G columns instead of kh with C/G: 10-20% faster on VGG's 3x3 layers (the
        thin products run at 80-88 GF/s on one core, the stacked one at 97-119), for one more copy of x."""
        x, G, Og, kh, kw, dh, hp = self.x, self.G, self.Og, self.kh, self.kw, self.dh, self.hp
        _, C, H, W = x.shape
        Cg = C // G
        if row_shift:
            xs = self.scratch.get("xrows", (G, kh * Cg, m * hp * W))
            _pack_kernel(x, s, kh, dh, hp, xs)
            shape = (G, Og * kw, kh * Cg)
            self.stacked = True
        else:
            xs = self.scratch.get("xrows", (G, Cg, m * H * W))
            _pack_kernel(x, s, 1, 0, H, xs)
            shape = (G, Og * kh * kw, Cg)
        part = xp.matmul(win, xs.transpose(0, 2, 1), out=self.scratch.get("gw", shape))
        if self.acc is None:
            self.acc = xp.zeros(shape, dtype=part.dtype)
        self.acc += part

    def result(self):
        G, Og, kh, kw = self.G, self.Og, self.kh, self.kw
        Cg = self.x.shape[1] // G
        if self.acc is None:  # an empty batch: no chunk ran
            return xp.zeros((G * Og, Cg, kh, kw), dtype=self.x.dtype)
        if self.stacked:  # (G, (o, j'), (i', c)), i' = kh-1-i, j' = kw-1-j
            gw = self.acc.reshape(G, Og, kw, kh, Cg)[:, :, ::-1, ::-1].transpose(0, 1, 4, 3, 2)
        elif self.acc.ndim == 4:  # (G, i, (o, j'), c), j' = kw-1-j
            gw = self.acc.reshape(G, kh, Og, kw, Cg)[:, :, :, ::-1].transpose(0, 2, 4, 1, 3)
        else:  # (G, (o, i', j'), c), i' = kh-1-i, j' = kw-1-j
            gw = self.acc.reshape(G, Og, kh, kw, Cg)[:, :, ::-1, ::-1].transpose(0, 1, 4, 2, 3)
        return xp.ascontiguousarray(gw).reshape(G * Og, Cg, kh, kw)


def _weight_grad_gemm(g2, win, m, scratch):
    """g2 (G, M, m*L) @ win (G, K, m*L)^T: the weight gradient's GEMM over a chunk of m images.

    NOTE: with a tiny output (M*K < 1024: CIFAR Net's conv1 30x15, VGG's first conv 32x27) the one GEMM
    with a 35000-long inner dimension runs at ~20 GF/s in OpenBLAS; m per-image GEMMs (a batched matmul,
    summed) run 2-3x faster, as OpenBLAS takes small products without packing. Larger outputs: one GEMM."""
    G, M, n = g2.shape
    K = win.shape[1]
    if M * K >= 1024 or m == 1:
        return xp.matmul(g2, win.transpose(0, 2, 1), out=scratch.get("gw", (G, M, K)))
    L = n // m
    g_img = g2.reshape(G, M, m, L).transpose(0, 2, 1, 3)  # (G, m, M, L)
    win_img = win.reshape(G, K, m, L).transpose(0, 2, 3, 1)  # (G, m, L, K)
    per_image = xp.matmul(g_img, win_img, out=scratch.get("gw", (G, m, M, K)))
    return per_image.sum(axis=1)


def conv_backward(g: np.ndarray, x: np.ndarray | None, w: np.ndarray, spec: Spec, need_x: bool = True,
                  need_w: bool = True,
                  x_hw: tuple[int, int] | None = None) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(gx, gw) of conv for the output gradient g (N, O, OH, OW); x may be None when need_w is False,
    ``x_hw`` then gives the input size.

    gw = g (O, n*OH*OW) @ windows^T summed over chunks. gx: for stride 1 (and padding that keeps the GEMM
    no larger) a forward correlation of g with the flipped kernel; otherwise col2im(W^T @ g) with kh*kw (or
    kw) slice-adds. In the row-shift layout both use gs[i, o, (n, h)] = g[n, o, h - i*dh] (zero outside):
    gw_r = gs @ cw^T and gcw = W_r^T @ gs, whose kw column offsets are added back into the padded gx."""
    N, O, OH, OW = g.shape  # noqa: E741
    _, Cg, kh, kw = w.shape
    G = spec.groups
    Og, C = O // G, Cg * G
    H, W = x.shape[2:] if x_hw is None else x_hw
    Hp, Wp, _, _ = _geometry((H, W), w.shape, spec, (OH, OW))
    sh, sw = spec.stride
    dh = spec.dilation[0]
    dtype = g.dtype
    gx = None
    if need_x and sh == 1 and sw == 1 and (H + dh * (kh - 1)) * W <= Hp * OW:
        gx, gw = _grad_input_by_correlation(g, w, spec, (H, W), x if need_w else None)
        need_x = False
        if not need_w or gw is not None:
            return gx, gw
    elif need_x:
        gx = xp.empty((N, C, H, W), dtype=dtype)
    row_shift = _use_row_shift(Cg, Og, kh, kw, sh)
    wm = _weight_matrix(w, G, row_shift)
    if row_shift:
        nb = _chunk(N, G * max(Cg * kw, kh * Og) * Hp * OW, Cg * kw)
        gw = xp.zeros((G, kh * Og, Cg * kw), dtype=dtype) if need_w else None
    else:
        nb = _chunk(N, G * Cg * kh * kw * OH * OW, Cg * kh * kw)
        gw = xp.zeros((G, Og, Cg * kh * kw), dtype=dtype) if need_w else None
    gx_ = gx if need_x else None
    if jit.use(g, w) and (not need_w or jit.use(x)):
        g, x = xp.ascontiguousarray(g), xp.ascontiguousarray(x) if need_w else None
        args = (wm, (kh, kw), spec, row_shift, nb, Hp, gx_)
        if _split(N, O * OH * OW * Cg * kh * kw):
            h, args = N // 2, (wm, (kh, kw), spec, row_shift, max(1, nb // 2), Hp, gx_)  # scratch: see _split
            gw2 = xp.zeros_like(gw) if need_w else None
            threads.pair(lambda: _backward_compiled(g, x, 0, h, *args, gw2),
                         lambda: _backward_compiled(g, x, h, N, *args, gw))
            if need_w:
                gw += gw2
        else:
            _backward_compiled(g, x, 0, N, *args, gw)
    else:
        _backward_numpy(g, x, wm, (kh, kw), spec, row_shift, nb, (Hp, Wp), gx_, gw)
    if need_w:
        if row_shift:
            gw = gw.reshape(G, kh, Og, Cg, kw).transpose(0, 2, 3, 1, 4)
        gw = xp.ascontiguousarray(gw).reshape(w.shape)
    return gx, gw


def _backward_numpy(g, x, wm, k, spec, row_shift, nb, hwp, gx, gw):
    """conv_backward's chunk loop in NumPy: adds the weight gradient into gw (when not None) and writes the
    input gradient into gx (when not None), for the weight matrix wm of ``_weight_matrix``."""
    N, O, OH, OW = g.shape  # noqa: E741
    kh, kw = k
    Hp, Wp = hwp
    G = spec.groups
    Og = O // G
    Cg = wm.shape[2] // (kw if row_shift else kh * kw)
    (sh, sw), (dh, dw) = spec.stride, spec.dilation
    (pt, _), (pl, _) = spec.padding
    need_x, need_w = gx is not None, gw is not None
    scratch = _Scratch(g.dtype)
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
                xp.ascontiguousarray(gs).reshape(G, kh * Og, m * Hp * OW)
        else:
            g2 = scratch.get("grad", (G, Og, m, OH, OW))
            xp.copyto(g2, gm)
            g2 = g2.reshape(G, Og, m * OH * OW)
        if need_w:
            if row_shift:
                win = _row_windows(x[s:s + m], G, spec, kw, Hp, OW, scratch)
            else:
                xc = _to_c_major(x[s:s + m], G, spec.padding, xbuf)
                win = _full_windows(xc, kh, kw, OH, OW, spec.stride, spec.dilation, scratch)
            gw += _weight_grad_gemm(g2, win, m, scratch)
        if need_x:
            H, W = gx.shape[2:]
            gxc = scratch.get("gxc", (G, Cg, m, Hp, Wp), zero=True)
            if row_shift:
                gcw = xp.matmul(wmt, g2, out=scratch.get("gemm", (G, Cg * kw, g2.shape[2])))
                gcw = gcw.reshape(G, Cg, kw, m, Hp, OW)
                for j in range(kw):
                    gxc[..., j * dw:j * dw + sw * (OW - 1) + 1:sw] += gcw[:, :, j]
            else:
                gcols = xp.matmul(wmt, g2, out=scratch.get("gemm", (G, Cg * kh * kw, g2.shape[2])))
                gcols = gcols.reshape(G, Cg, kh, kw, m, OH, OW)
                for i in range(kh):
                    for j in range(kw):
                        gxc[:, :, :, i * dh:i * dh + sh * (OH - 1) + 1:sh,
                            j * dw:j * dw + sw * (OW - 1) + 1:sw] += gcols[:, :, i, j]
            gx[s:s + m].reshape(m, G, Cg, H, W).transpose(1, 2, 0, 3, 4)[...] = \
                gxc[:, :, :, pt:pt + H, pl:pl + W]


def _backward_compiled(g, x, lo, hi, wm, k, spec, row_shift, nb, hp, gx, gw):
    """_backward_numpy with compiled copies: g packed straight into the GEMM's layout (and its kh shifted
    copies), the windows of x copied from x itself, and col2im writing gx in place (no padded buffer)."""
    _, O, OH, OW = g.shape  # noqa: E741
    kh, kw = k
    G = spec.groups
    Og = O // G
    Cg = wm.shape[2] // (kw if row_shift else kh * kw)
    (sh, sw), ((pt, _), (pl, _)), (dh, dw) = spec.stride, spec.padding, spec.dilation
    wmt = wm.transpose(0, 2, 1) if gx is not None else None
    scratch = _Scratch(g.dtype)
    for s in range(lo, hi, nb):
        m = min(nb, hi - s)
        if row_shift:
            g2 = scratch.get("shifted", (G, kh * Og, m * hp * OW))
            _pack_kernel(g, s, kh, dh, hp, g2)
        else:
            g2 = scratch.get("grad", (G, Og, m * OH * OW))
            _pack_kernel(g, s, 1, 0, OH, g2)
        if gw is not None:
            if row_shift:
                win = scratch.get("windows", (G, Cg * kw, m * hp * OW))
                _windows_kernel(x, s, win, 1, kw, hp, OW, 1, sw, 0, dw, pt, pl)
            else:
                win = scratch.get("windows", (G, Cg * kh * kw, m * OH * OW))
                _windows_kernel(x, s, win, kh, kw, OH, OW, sh, sw, dh, dw, pt, pl)
            gw += _weight_grad_gemm(g2, win, m, scratch)
        if gx is not None:
            cols = xp.matmul(wmt, g2, out=scratch.get("gemm", (G, wmt.shape[1], g2.shape[2])))
            if row_shift:
                _col2im_kernel(cols, 1, kw, hp, OW, 1, sw, 0, dw, pt, pl, gx, s)
            else:
                _col2im_kernel(cols, kh, kw, OH, OW, sh, sw, dh, dw, pt, pl, gx, s)


def bias_grad(g: np.ndarray) -> np.ndarray:
    """g summed over the batch and the spatial dims. NOTE: for a contiguous g the spatial sums are one
    matrix-vector product (3.5x faster than NumPy's sum over axes (0, 2, 3) at (64, 32, 32, 32))."""
    n, o = g.shape[:2]
    if g.ndim < 3 or not g.flags.c_contiguous or g.size == 0:
        return g.sum(axis=(0,) + tuple(range(2, g.ndim)))
    per_plane = g.reshape(n * o, -1) @ xp.ones(g.size // (n * o), dtype=g.dtype)
    return per_plane.reshape(n, o).sum(axis=0)


# ---- 1-D inputs run as 2-D with H = 1 -------------------------------------------------------------------
def as4d(a: np.ndarray) -> np.ndarray:
    """A 3-D (N, C, L) array as (N, C, 1, L); a 4-D one unchanged."""
    return a if a.ndim == 4 else a.reshape(a.shape[:2] + (1,) + a.shape[2:])


def like(a: np.ndarray, ndim: int) -> np.ndarray:
    """The inverse of :func:`as4d` for an ``ndim``-D original."""
    return a if ndim == 4 else a.reshape(a.shape[:2] + a.shape[3:])


# ---- im2col / col2im: the arrays of unfold and fold ---------------------------------------------------------
def im2col(x: np.ndarray, k: tuple[int, int], dilation: tuple[int, int], padding: tuple[int, int],
           stride: tuple[int, int]) -> np.ndarray:
    """cols[n, (c, i, j), (p, q)] = x_pad[n, c, p*sH + i*dH, q*sW + j*dW] for x (N, C, H, W): (N, C*kH*kW, L)."""
    n, c, h, w = x.shape
    (kh, kw), (dh, dw), (ph, pw), (sh, sw) = k, dilation, padding, stride
    oh, ow = out_len(h, kh, sh, ph, ph, dh), out_len(w, kw, sw, pw, pw, dw)
    xpad = xp.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=x.dtype)
    xpad[:, :, ph:ph + h, pw:pw + w] = x
    s = xpad.strides
    win = xp.lib.stride_tricks.as_strided(xpad, (n, c, kh, kw, oh, ow),
                                          (s[0], s[1], dh * s[2], dw * s[3], sh * s[2], sw * s[3]))
    return xp.ascontiguousarray(win).reshape(n, c * kh * kw, oh * ow)


def col2im(cols: np.ndarray, out_hw: tuple[int, int], k: tuple[int, int], dilation: tuple[int, int],
           padding: tuple[int, int], stride: tuple[int, int]) -> np.ndarray:
    """The adjoint of :func:`im2col`: each column's kH*kW values of cols (N, C*kH*kW, L) summed back at
    their window positions of an (N, C, H, W) image, (H, W) = out_hw (kh*kw slice-adds, no np.add.at)."""
    (h, w), (kh, kw), (dh, dw), (ph, pw), (sh, sw) = out_hw, k, dilation, padding, stride
    n = cols.shape[0]
    c = cols.shape[1] // (kh * kw)
    oh, ow = out_len(h, kh, sh, ph, ph, dh), out_len(w, kw, sw, pw, pw, dw)
    cols = cols.reshape(n, c, kh, kw, oh, ow)
    out = xp.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            out[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh,
                j * dw:j * dw + sw * (ow - 1) + 1:sw] += cols[:, :, i, j]
    return out[:, :, ph:ph + h, pw:pw + w].copy() if ph or pw else out


def _forward_compiled(x, lo, hi, wm, k, spec, row_shift, nb, hp, out, on_windows, ones):
    """conv_forward's chunk loop over images lo..hi with compiled copies: the windows copied from x itself (no
    padded copy of x) and the row-shift GEMM's output summed into ``out`` in one pass; the same windows and
    GEMMs as the NumPy path."""
    scratch = _Scratch(x.dtype)
    C = x.shape[1]
    G = spec.groups
    Cg = C // G
    OH, OW = out.shape[2:]
    kh, kw = k
    (sh, sw), ((pt, _), (pl, _)), (dh, dw) = spec.stride, spec.padding, spec.dilation
    for s in range(lo, hi, nb):
        m = min(nb, hi - s)
        if row_shift:
            win = _with_ones_row(scratch, G, Cg * kw, m * hp * OW, ones)
            _windows_kernel(x, s, win, 1, kw, hp, OW, 1, sw, 0, dw, pt, pl)
        else:
            win = _with_ones_row(scratch, G, Cg * kh * kw, m * OH * OW, ones)
            _windows_kernel(x, s, win, kh, kw, OH, OW, sh, sw, dh, dw, pt, pl)
        if on_windows is not None:
            on_windows(s, m, win, row_shift)
        y = xp.matmul(wm, win, out=scratch.get("gemm", (G, wm.shape[1], win.shape[2])))
        if row_shift:
            _row_shift_sum_kernel(y, kh, dh, hp, out, s)
        else:  # NOTE: NumPy's strided copy, as fast as a compiled one on one core (0.19 ms for VGG's first conv)
            Og = wm.shape[1]
            out[s:s + m].reshape(m, G, Og, OH, OW).transpose(1, 2, 0, 3, 4)[...] = y.reshape(G, Og, m, OH, OW)


# ---- compiled kernels (Numba): the window copies, shifted sums and col2im adds, prange over (image, channel) --
# NOTE: the kernels index flat views with unsigned offsets (f[U(base + q)]): an int64 index that Numba cannot
# prove non-negative takes a negative-index wraparound test per element, which stops LLVM from vectorising
# the row loops (measured 3x slower for the window copies, and slower than NumPy's strided copies); slicing
# a view per row instead costs more than the copy of a 30-element row. All arrays are C-contiguous.
U = np.uint64


@jit.kernel(parallel=True)
def _windows_kernel(x, s, mat, kh, kw, oh, ow, sh, sw, dh, dw, pt, pl):
    """mat[g, (c*kh + i)*kw + j, (n*oh + p)*ow + q] = x_pad[s + n, g*Cg + c, p*sh + i*dh, q*sw + j*dw] (0 in
    the padding) for the chunk's m = mat.shape[2] // (oh*ow) images; rows past Cg*kh*kw (the row of ones) are
    left alone. The full im2col windows; the row-shift windows are the case kh = 1, oh = Hp, sh = 1, dh = 0.

    NOTE: with stride 1 and ow = W (VGG's 'same' padding) each (c, i, j) block is one shifted flat copy of
    the plane and a fix-up of the border columns: rows of 16-32 elements are too short for the vectorised
    row loop (LLVM's vector body takes 64 floats), the flat copy vectorises."""
    C, H, W = x.shape[1], x.shape[2], x.shape[3]
    rows, R = mat.shape[1], mat.shape[2]
    cg = C // mat.shape[0]
    m = R // (oh * ow)
    flat = sh == 1 and sw == 1 and ow == W
    xf = x.reshape(x.size)
    mf = mat.reshape(mat.size)
    for t in prange(m * C):
        n = t // C
        ch = t - n * C
        g = ch // cg
        c = ch - g * cg
        xb = ((s + n) * C + ch) * H * W
        for i in range(kh):
            for j in range(kw):
                off = j * dw - pl  # output column q reads input column q*sw + off
                lo = min(max(0, -(off // sw)), ow)
                hi = max(min(ow, (W - 1 - off) // sw + 1), lo)
                db = (g * rows + (c * kh + i) * kw + j) * R + n * oh * ow
                if flat:  # output rows p0 <= p < p1 read input rows p + i*dh - pt
                    p0 = min(max(0, pt - i * dh), oh)
                    p1 = max(min(oh, H + pt - i * dh), p0)
                    s0 = (p0 + i * dh - pt) * W + off  # the flat source of output (p0, 0); may be -1..
                    n_ = (p1 - p0) * W
                    a = min(max(0, -s0), n_)
                    b = max(min(n_, H * W - s0), a)
                    for k in range(p0 * W + a):
                        mf[U(db + k)] = 0
                    d = U(db + p0 * W + a)
                    sb = U(xb + s0 + a)
                    for k in range(b - a):
                        mf[d + U(k)] = xf[sb + U(k)]
                    for k in range(p0 * W + b, oh * W):
                        mf[U(db + k)] = 0
                    for p in range(p0, p1):  # the columns that read past a row's ends
                        d = U(db + p * W)
                        for q in range(lo):
                            mf[d + U(q)] = 0
                        for q in range(hi, ow):
                            mf[d + U(q)] = 0
                    continue
                for p in range(oh):
                    d = U(db + p * ow)
                    hh = p * sh + i * dh - pt
                    if hh < 0 or hh >= H:
                        for q in range(ow):
                            mf[d + U(q)] = 0
                        continue
                    for q in range(lo):
                        mf[d + U(q)] = 0
                    d2 = d + U(lo)
                    sb = U(xb + hh * W + lo * sw + off)
                    if sw == 1:
                        for q in range(hi - lo):
                            mf[d2 + U(q)] = xf[sb + U(q)]
                    else:
                        for q in range(hi - lo):
                            mf[d2 + U(q)] = xf[sb + U(q * sw)]
                    for q in range(hi, ow):
                        mf[d + U(q)] = 0


@jit.kernel(parallel=True)
def _row_shift_sum_kernel(y, kh, dh, hp, out, s):
    """out[s + n, g*Og + o, p, q] = y[g, o, a + q] + y[g, Og + o, a + dh*OW + q] + ... over the kh kernel rows
    (a = (n*hp + p)*OW; the NumPy path's order of additions): the row-shift forward's kh shifted adds, as
    flat loops over each output plane (its rows are consecutive in every y[g, i*Og + o])."""
    rows, R = y.shape[1], y.shape[2]
    og = rows // kh
    O, L = out.shape[1], out.shape[2] * out.shape[3]  # noqa: E741
    OW = out.shape[3]
    m = R // (hp * OW)
    yf = y.reshape(y.size)
    of = out.reshape(out.size)
    for t in prange(m * O):
        n = t // O
        oc = t - n * O
        g = oc // og
        o = oc - g * og
        d = U(((s + n) * O + oc) * L)
        yb = (g * rows + o) * R + n * hp * OW
        a0 = U(yb)
        a1 = U(yb + og * R + dh * OW)
        for k in range(L):
            of[d + U(k)] = yf[a0 + U(k)] + yf[a1 + U(k)]
        for i in range(2, kh):
            ai = U(yb + i * og * R + i * dh * OW)
            for k in range(L):
                of[d + U(k)] += yf[ai + U(k)]


@jit.kernel(parallel=True)
def _pack_kernel(g, s, kh, dh, hp, gs):
    """gs[gg, i*Og + o, (n*hp + h)*OW + q] = g[s + n, gg*Og + o, h - i*dh, q] (0 where h - i*dh is no output
    row) for i < kh: with kh = 1 and hp = OH, g's chunk in the (G, Og, m*OH*OW) layout of the GEMM."""
    O, OH, OW = g.shape[1], g.shape[2], g.shape[3]  # noqa: E741
    rows, R = gs.shape[1], gs.shape[2]
    og = O // gs.shape[0]
    m = R // (hp * OW)
    L = OH * OW
    gf = g.reshape(g.size)
    sf = gs.reshape(gs.size)
    for t in prange(m * O):
        n = t // O
        oc = t - n * O
        gg = oc // og
        o = oc - gg * og
        a = U(((s + n) * O + oc) * L)
        for i in range(kh):
            db = (gg * rows + i * og + o) * R + n * hp * OW
            top = min(i * dh, hp) * OW  # rows h < i*dh and h >= i*dh + OH are zero
            body = min(L, hp * OW - top)
            for k in range(top):
                sf[U(db + k)] = 0
            d = U(db + top)
            for k in range(body):
                sf[d + U(k)] = gf[a + U(k)]
            for k in range(top + body, hp * OW):
                sf[U(db + k)] = 0


@jit.kernel(parallel=True)
def _col2im_kernel(cols, kh, kw, oh, ow, sh, sw, dh, dw, pt, pl, gx, s):
    """gx[s + n, g*Cg + c, h, w] = the sum of cols[g, (c*kh + i)*kw + j, (n*oh + p)*ow + q] over the (i, j, p, q)
    with p*sh + i*dh = h + pt and q*sw + j*dw = w + pl, added in the order of (i, j) (the NumPy path's order of
    slice-adds). The row-shift layout's col2im is the case kh = 1, dh = 0, sh = 1, oh = Hp."""
    C, H, W = gx.shape[1], gx.shape[2], gx.shape[3]
    rows, R = cols.shape[1], cols.shape[2]
    cg = C // cols.shape[0]
    m = R // (oh * ow)
    cf = cols.reshape(cols.size)
    xf = gx.reshape(gx.size)
    for t in prange(m * C):
        n = t // C
        ch = t - n * C
        g = ch // cg
        c = ch - g * cg
        xb = ((s + n) * C + ch) * H * W
        for k in range(H * W):
            xf[U(xb + k)] = 0
        for i in range(kh):
            for j in range(kw):
                off = j * dw - pl  # column q lands on input column q*sw + off
                lo = min(max(0, -(off // sw)), ow)
                hi = max(min(ow, (W - 1 - off) // sw + 1), lo)
                cb = (g * rows + (c * kh + i) * kw + j) * R + n * oh * ow + lo
                for p in range(oh):
                    hh = p * sh + i * dh - pt
                    if hh < 0 or hh >= H:
                        continue
                    a = U(cb + p * ow)
                    d = U(xb + hh * W + lo * sw + off)
                    if sw == 1:
                        for q in range(hi - lo):
                            xf[d + U(q)] += cf[a + U(q)]
                    else:
                        for q in range(hi - lo):
                            xf[d + U(q * sw)] += cf[a + U(q)]


_windows_kernel = threads.split_aware(_windows_kernel)
_row_shift_sum_kernel = threads.split_aware(_row_shift_sum_kernel)
_pack_kernel = threads.split_aware(_pack_kernel)
_col2im_kernel = threads.split_aware(_col2im_kernel)
