"""The compiled convolution kernels (nnzoo/kernels/conv.py) against the NumPy path they replace.

Each case runs the same call under ``jit.mode("compiled")`` and ``jit.mode("numpy")``: the array kernels
(``conv_forward``, ``conv_backward`` with either or both gradients, the transpose's ``x_hw`` form) and the ops
(conv1d/conv2d/conv_transpose2d forward and backward, first-order and with ``create_graph``). Both window
layouts (row-shift and full im2col), the correlation form of the input gradient, strides, dilations,
asymmetric padding, groups, batch 1, odd sizes, non-contiguous inputs and an empty batch. The torch parity
of both paths is tests/ops/test_conv.py and tests/nn/test_conv.py (run with NNZOO_KERNELS=numpy and without).
"""
import numpy as np
import pytest
from helpers import both_modes as _both

import nnzoo
import nnzoo.nn.functional as F
from nnzoo.autograd.arrays import array
from nnzoo.kernels import conv as K

pytest.importorskip("numba")

rng = np.random.default_rng(16)
TOL = {np.float32: 1e-5, np.float64: 1e-12}

# (x shape, w shape, stride, padding ((top, bottom), (left, right)), dilation, groups)
CASES = [
    ((2, 3, 7, 6), (4, 3, 3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1),  # full im2col; gx by correlation
    ((2, 8, 6, 7), (4, 8, 3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1),  # row-shift; gx and gw by correlation
    ((3, 6, 9, 8), (6, 3, 3, 2), (2, 3), ((0, 1), (2, 0)), (2, 1), 2),  # strided, dilated, groups: col2im
    ((1, 4, 5, 5), (2, 4, 1, 1), (1, 1), ((0, 0), (0, 0)), (1, 1), 1),  # 1x1, batch 1
    ((2, 8, 7, 7), (8, 2, 5, 3), (1, 1), ((2, 2), (1, 1)), (1, 2), 4),
    ((3, 6, 11, 9), (16, 6, 5, 5), (1, 1), ((0, 0), (0, 0)), (1, 1), 1),  # CIFAR Net's conv2: row-shift col2im
    ((1, 3, 13, 10), (6, 3, 5, 5), (1, 1), ((0, 0), (0, 0)), (1, 1), 1),  # CIFAR Net's conv1, batch 1
    ((2, 8, 9, 7), (3, 8, 3, 2), (1, 2), ((2, 1), (0, 3)), (2, 3), 1),  # row-shift with a column stride
    ((2, 2, 3, 4), (3, 2, 2, 3), (1, 1), ((4, 3), (3, 5)), (1, 1), 1),  # padding past the kernel: crops
    ((5, 32, 6, 6), (16, 32, 3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1),  # wide channels
    ((2, 8, 5, 7), (3, 8, 3, 3), (1, 1), ((4, 0), (3, 1)), (1, 2), 1),  # row-shift, ow = W: flat plane copies
    ((1, 3, 4, 5), (8, 3, 3, 3), (1, 1), ((3, 2), (2, 2)), (1, 2), 1),  # full im2col, ow = W: flat copies
]
IDS = [str(i) for i in range(len(CASES))]


def _close(a, b, dtype):
    assert a.shape == b.shape and a.dtype == b.dtype
    scale = max(float(np.abs(b).max()), 1.0) if b.size else 1.0
    np.testing.assert_allclose(a, b, rtol=0, atol=TOL[dtype] * scale)



@pytest.mark.parametrize("split", [False, True], ids=["whole", "split"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("xs,ws,stride,padding,dilation,groups", CASES, ids=IDS)
def test_array_kernels_compiled_equal_numpy(xs, ws, stride, padding, dilation, groups, dtype, split, monkeypatch):
    # split: every compiled call of two or more images runs as two halves of the batch on two threads
    # (threads.pair, serial kernels, partial weight gradients added); whole: never (one call, parallel kernels)
    monkeypatch.setattr(K, "_SPLIT_MIN_MACS", 0 if split else 1 << 62)
    x = rng.standard_normal(xs).astype(dtype)
    w = rng.standard_normal(ws).astype(dtype)
    b = rng.standard_normal(ws[0]).astype(dtype)
    spec = K.Spec(stride, padding, dilation, groups)
    for bias in (None, b):
        got, want = _both(K.conv_forward, x, w, bias, spec)
        _close(got, want, dtype)
    g = rng.standard_normal(want.shape).astype(dtype)
    for need_x, need_w in ((True, True), (True, False), (False, True)):
        got, want = _both(K.conv_backward, g, x, w, spec, need_x, need_w)
        for a, e in zip(got, want):
            assert (a is None) == (e is None)
            if a is not None:
                _close(a, e, dtype)
    # conv_transpose's forward: the input gradient with only the input size known
    got, want = _both(lambda: K.conv_backward(g, None, w, spec, need_w=False, x_hw=xs[2:]))
    _close(got[0], want[0], dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_array_kernels_take_non_contiguous_inputs_and_empty_batches(dtype):
    spec = K.Spec((1, 1), ((1, 1), (1, 1)), (1, 1), 1)
    x = np.asfortranarray(rng.standard_normal((2, 8, 6, 7)).astype(dtype))  # strides of a transposed layout
    w = rng.standard_normal((4, 3, 8, 3)).astype(dtype).transpose(0, 2, 1, 3)  # (4, 8, 3, 3), a view
    b = rng.standard_normal(8).astype(dtype)[::2]
    got, want = _both(lambda: K.conv_forward(x, w, b, spec))
    _close(got, want, dtype)
    g = rng.standard_normal(want.shape[::-1]).astype(dtype).T  # a transposed view
    got, want = _both(lambda: K.conv_backward(g, x, w, spec))
    _close(got[0], want[0], dtype)
    _close(got[1], want[1], dtype)
    x0 = np.zeros((0, 8, 6, 7), dtype=dtype)
    got, want = _both(lambda: K.conv_forward(x0, w, b, spec))
    assert got.shape == want.shape == (0, 4, 6, 7)
    g0 = np.zeros((0, 4, 6, 7), dtype=dtype)
    got, want = _both(lambda: K.conv_backward(g0, x0, w, spec))
    assert got[0].shape == (0, 8, 6, 7)
    _close(got[1], want[1], dtype)


def _grads(fn, arrays, create_graph=False):
    """fn's output and the gradients of sum(out * r) for the leaves made of ``arrays``, under the current mode."""
    leaves = [nnzoo.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*leaves)
    r = nnzoo.tensor(np.cos(np.arange(out.numel())).reshape(out.shape).astype(arrays[0].dtype))
    grads = nnzoo.autograd.grad((out * r).sum(), leaves, create_graph=create_graph)
    if create_graph:  # double backward: differentiate the gradients' squared norms
        second = nnzoo.autograd.grad(sum((gr * gr).sum() for gr in grads), leaves, allow_unused=True)
        grads = list(grads) + [gr for gr in second if gr is not None]  # the bias's is None
    return [array(out)] + [array(gr) for gr in grads]


OPS = [
    ("conv2d_cifar1", lambda x, w, b: F.conv2d(x, w, b), (2, 3, 12, 11), (6, 3, 5, 5)),
    ("conv2d_vgg", lambda x, w, b: F.conv2d(x, w, b, padding=1), (2, 16, 7, 8), (8, 16, 3, 3)),
    ("conv2d_strided_groups", lambda x, w, b: F.conv2d(x, w, b, stride=2, dilation=(1, 2), groups=2, padding=1),
     (1, 4, 9, 10), (6, 2, 3, 3)),
    ("conv1d", lambda x, w, b: F.conv1d(x, w, b, padding=2, dilation=2), (3, 5, 17), (4, 5, 3)),
    ("conv_transpose2d", lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1),
     (2, 6, 5, 4), (6, 3, 3, 3)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("create_graph", [False, True], ids=["first_order", "double_backward"])
@pytest.mark.parametrize("name,fn,xs,ws", OPS, ids=[o[0] for o in OPS])
def test_ops_forward_backward_compiled_equal_numpy(name, fn, xs, ws, create_graph, dtype):
    n_out = ws[1] if name.startswith("conv_transpose") else ws[0]
    arrays = [rng.standard_normal(s).astype(dtype) for s in (xs, ws, (n_out,))]
    got, want = _both(lambda: _grads(fn, arrays, create_graph))
    for a, e in zip(got, want):
        _close(a, e, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv2d_layer_on_a_permuted_input(dtype):
    conv = nnzoo.nn.Conv2d(5, 7, 3, padding=1).to(nnzoo.float64 if dtype == np.float64 else nnzoo.float32)
    base = rng.standard_normal((6, 9, 2, 5)).astype(dtype)  # permuted below into (2, 5, 6, 9): not contiguous

    def run():
        x = nnzoo.tensor(base, requires_grad=True)
        conv.zero_grad()
        y = conv(x.permute(2, 3, 0, 1))
        (y * y).sum().backward()
        return [array(y), array(x.grad), array(conv.weight.grad), array(conv.bias.grad)]
    got, want = _both(run)
    for a, e in zip(got, want):
        _close(a, e, dtype)


def _random_geometry(r):
    """A random valid conv geometry: sizes, kernel, stride, dilation, asymmetric padding, groups."""
    groups = int(r.choice([1, 1, 2, 3]))
    cg, og = int(r.integers(1, 5)), int(r.integers(1, 5))
    kh, kw = int(r.integers(1, 5)), int(r.integers(1, 5))
    sh, sw = int(r.choice([1, 1, 2, 3])), int(r.choice([1, 1, 2]))
    dh, dw = int(r.choice([1, 1, 2])), int(r.choice([1, 2, 3]))
    pad = tuple(tuple(int(v) for v in r.integers(0, 4, 2)) for _ in range(2))
    h = max(1, dh * (kh - 1) + 1 - sum(pad[0]) + int(r.integers(0, 6)))
    w = max(1, dw * (kw - 1) + 1 - sum(pad[1]) + int(r.integers(0, 6)))
    n = int(r.integers(1, 4))
    return (n, cg * groups, h, w), (og * groups, cg, kh, kw), (sh, sw), pad, (dh, dw), groups


def test_windows_and_col2im_kernels_equal_their_numpy_passes_on_random_geometries():
    """The window copy and col2im kernels against the NumPy passes they replace, bitwise (copies and the
    same order of additions), over random strides, dilations, paddings and groups; both layouts."""
    r = np.random.default_rng(7)
    for _ in range(40):
        xs, ws, stride, pad, dil, groups = _random_geometry(r)
        x = r.standard_normal(xs)
        spec = K.Spec(stride, pad, dil, groups)
        G, Cg, (kh, kw) = groups, ws[1], ws[2:]
        Hp, Wp, OH, OW = K._geometry(xs[2:], ws, spec)
        scratch = K._Scratch(x.dtype)
        # full im2col windows
        want = K._full_windows(K._to_c_major(x, G, pad, np.zeros((G, Cg, xs[0], Hp, Wp))), kh, kw, OH, OW,
                               stride, dil, scratch).copy()
        got = np.full(want.shape, np.nan)
        K._windows_kernel(x, 0, got, kh, kw, OH, OW, stride[0], stride[1], dil[0], dil[1], pad[0][0], pad[1][0])
        np.testing.assert_array_equal(got, want)
        # row-shift windows: the case kh = 1 over the padded rows
        want = K._row_windows(x, G, spec, kw, Hp, OW, scratch).copy()
        got = np.full(want.shape, np.nan)
        K._windows_kernel(x, 0, got, 1, kw, Hp, OW, 1, stride[1], 0, dil[1], pad[0][0], pad[1][0])
        np.testing.assert_array_equal(got, want)
        # col2im of full-im2col columns, against the NumPy slice-adds (K.col2im's loop, with groups folded in)
        cols = r.standard_normal((G, Cg * kh * kw, xs[0] * OH * OW))
        gx = np.full(xs, np.nan)
        K._col2im_kernel(cols, kh, kw, OH, OW, stride[0], stride[1], dil[0], dil[1], pad[0][0], pad[1][0], gx, 0)
        ref = np.zeros((G, Cg, xs[0], Hp, Wp))
        c6 = cols.reshape(G, Cg, kh, kw, xs[0], OH, OW)
        for i in range(kh):
            for j in range(kw):
                ref[..., i * dil[0]:i * dil[0] + stride[0] * (OH - 1) + 1:stride[0],
                    j * dil[1]:j * dil[1] + stride[1] * (OW - 1) + 1:stride[1]] += c6[:, :, i, j]
        ref = ref[..., pad[0][0]:pad[0][0] + xs[2], pad[1][0]:pad[1][0] + xs[3]]
        np.testing.assert_array_equal(gx, ref.transpose(2, 0, 1, 3, 4).reshape(xs))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_random_geometries_compiled_equal_numpy(dtype):
    r = np.random.default_rng(11)
    for _ in range(25):
        xs, ws, stride, pad, dil, groups = _random_geometry(r)
        x, w = r.standard_normal(xs).astype(dtype), r.standard_normal(ws).astype(dtype)
        b = r.standard_normal(ws[0]).astype(dtype)
        spec = K.Spec(stride, pad, dil, groups)
        got, want = _both(K.conv_forward, x, w, b, spec)
        _close(got, want, dtype)
        g = r.standard_normal(want.shape).astype(dtype)
        got, want = _both(K.conv_backward, g, x, w, spec)
        _close(got[0], want[0], dtype)
        _close(got[1], want[1], dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("xs,ws,stride,padding,dilation,groups", CASES, ids=IDS)
def test_two_thread_split_equals_numpy(xs, ws, stride, padding, dilation, groups, dtype, monkeypatch):
    """Every compiled call split into two halves of the batch on two threads (threshold 0): the forward, both
    gradients (the weight gradient's two partial sums, the correlation's window collector forked and merged)
    equal the NumPy path."""
    from nnzoo.kernels import threads
    monkeypatch.setattr(K, "_SPLIT_MIN_MACS", 0)
    calls = []
    pair = threads.pair
    monkeypatch.setattr(threads, "pair", lambda fa, fb: calls.append(1) or pair(fa, fb))
    x = rng.standard_normal((2 * xs[0] + 1,) + xs[1:]).astype(dtype)  # an odd batch: unequal halves
    w = rng.standard_normal(ws).astype(dtype)
    b = rng.standard_normal(ws[0]).astype(dtype)
    spec = K.Spec(stride, padding, dilation, groups)
    got, want = _both(K.conv_forward, x, w, b, spec)
    _close(got, want, dtype)
    g = rng.standard_normal(want.shape).astype(dtype)
    got, want = _both(K.conv_backward, g, x, w, spec, True, True)
    for a, e in zip(got, want):
        _close(a, e, dtype)
    assert calls or not threads.available()


def test_split_halves_run_on_two_threads_with_serial_kernels(monkeypatch):
    """A VGG-sized call (above _SPLIT_MIN_MACS) goes through threads.pair: each half runs the serial kernels
    (no parallel launch from inside a pair) and the result equals the NumPy path."""
    from nnzoo.kernels import threads
    if not threads.available():
        pytest.skip("one CPU: pair runs its halves one after the other")
    seen = []
    real = K._windows_kernel.serial

    class Spy:
        def __call__(self, *args):
            seen.append(threads.in_pair())
            return real(*args)
    monkeypatch.setattr(K._windows_kernel, "serial", Spy())
    x = rng.standard_normal((8, 16, 16, 16)).astype(np.float32)
    w = rng.standard_normal((16, 16, 3, 3)).astype(np.float32)
    spec = K.Spec((1, 1), ((1, 1), (1, 1)), (1, 1), 1)
    assert 8 * 16 * 16 * 16 * 16 * 9 >= K._SPLIT_MIN_MACS
    got, want = _both(K.conv_forward, x, w, None, spec)
    _close(got, want, np.float32)
    assert seen and all(seen)
    g = rng.standard_normal(want.shape).astype(np.float32)
    got, want = _both(K.conv_backward, g, x, w, spec)
    _close(got[0], want[0], np.float32)
    _close(got[1], want[1], np.float32)
