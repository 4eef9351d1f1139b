"""Convolution ops (conv1d/2d, conv_transpose1d/2d, unfold, fold) against PyTorch through the harness
(forward and backward in float32/float64, non-contiguous inputs, float64 finite differences) over a grid of
shapes, strides, paddings ('same' included), dilations, groups, output_padding; both window layouts of the
kernels and the batch chunking; double backward against torch (the harness's step 5); error messages."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from helpers import OpCase, S, cases_params, check_op

import nnzoo
import nnzoo.nn.functional as F
from nnzoo.kernels import conv as conv_ops


def CONV(name, fn, x, w, bias=True, **kw):
    """An OpCase for F.<fn>(x, w, b, **kw) in both libraries (b of size out_channels when ``bias``)."""
    if fn.startswith("conv_transpose"):
        n_out = w[1] * kw.get("groups", 1)
    else:
        n_out = w[0]
    inputs = [S(*x), S(*w)] + ([S(n_out)] if bias else [])

    def call(m, *t):
        f = getattr(F if m is nnzoo else TF, fn)
        return f(t[0], t[1], t[2] if bias else None, **kw)
    return OpCase(name, call, inputs)


# Which kernel layout a case uses: row-shift needs stride 1 along H and kh*O/G < C/G*kw*(kh-1);
# the others run the full im2col (see nnzoo.ops.conv._use_row_shift).
CONV2D = [
    CONV("conv2d_basic", "conv2d", (2, 3, 7, 6), (4, 3, 3, 3)),
    CONV("conv2d_padding", "conv2d", (2, 3, 5, 5), (4, 3, 3, 3), padding=1),
    CONV("conv2d_padding_pair", "conv2d", (2, 3, 5, 6), (2, 3, 3, 2), padding=(2, 1)),
    CONV("conv2d_stride2", "conv2d", (2, 3, 7, 7), (4, 3, 3, 3), stride=2),  # the notes' 7x7, 3x3, stride 2
    CONV("conv2d_stride_pair", "conv2d", (2, 2, 8, 9), (3, 2, 3, 2), stride=(2, 3), padding=1),
    CONV("conv2d_stride_w_only_row_shift", "conv2d", (2, 8, 6, 9), (2, 8, 3, 3), stride=(1, 2), padding=1),
    CONV("conv2d_dilation", "conv2d", (2, 3, 8, 8), (2, 3, 3, 3), dilation=2),
    CONV("conv2d_dilation_row_shift", "conv2d", (2, 8, 8, 7), (3, 8, 3, 2), dilation=(2, 3), padding=(2, 1)),
    CONV("conv2d_groups", "conv2d", (2, 4, 6, 6), (6, 2, 3, 3), groups=2),
    CONV("conv2d_groups_row_shift", "conv2d", (2, 16, 5, 6), (4, 4, 3, 3), groups=4, padding=1),
    CONV("conv2d_depthwise", "conv2d", (2, 4, 6, 5), (4, 1, 3, 3), groups=4, padding=1),
    CONV("conv2d_depthwise_multiplier", "conv2d", (2, 3, 6, 6), (6, 1, 3, 3), groups=3, stride=2),
    CONV("conv2d_same_odd", "conv2d", (2, 3, 6, 5), (4, 3, 3, 3), padding="same"),
    CONV("conv2d_same_even_asymmetric", "conv2d", (2, 3, 6, 5), (4, 3, 4, 2), padding="same"),
    CONV("conv2d_same_dilated", "conv2d", (2, 8, 7, 7), (2, 8, 2, 3), padding="same", dilation=(3, 2)),
    CONV("conv2d_valid", "conv2d", (2, 3, 5, 5), (2, 3, 2, 2), padding="valid"),
    CONV("conv2d_1x1", "conv2d", (2, 5, 4, 3), (3, 5, 1, 1)),
    CONV("conv2d_1x1_stride2", "conv2d", (2, 5, 5, 5), (3, 5, 1, 1), stride=2),
    CONV("conv2d_5x5_row_shift", "conv2d", (2, 3, 9, 8), (6, 3, 5, 5)),  # CIFAR Net's conv1, scaled down
    CONV("conv2d_kernel_is_input", "conv2d", (3, 2, 4, 3), (5, 2, 4, 3)),
    CONV("conv2d_no_bias", "conv2d", (2, 3, 5, 5), (4, 3, 3, 3), bias=False, padding=1),
    CONV("conv2d_no_bias_row_shift", "conv2d", (2, 8, 5, 5), (2, 8, 3, 3), bias=False, padding=1),
    CONV("conv2d_unbatched", "conv2d", (3, 6, 5), (4, 3, 3, 3), padding=1),
    CONV("conv2d_unbatched_row_shift", "conv2d", (8, 6, 5), (2, 8, 3, 3), padding=(0, 1)),
    CONV("conv2d_everything", "conv2d", (3, 6, 9, 10), (4, 3, 3, 2), stride=(2, 1), padding=(1, 2),
         dilation=(1, 2), groups=2),
    CONV("conv2d_batch1_tall", "conv2d", (1, 2, 11, 3), (2, 2, 5, 1), padding=(2, 0)),
    # padding beyond the kernel's extent: the input gradient by correlation crops the output gradient
    CONV("conv2d_padding_beyond_kernel", "conv2d", (2, 3, 4, 5), (2, 3, 2, 2), padding=(2, 3)),
]

CONV1D = [
    CONV("conv1d_basic", "conv1d", (2, 3, 9), (4, 3, 3)),
    CONV("conv1d_stride_padding", "conv1d", (2, 3, 10), (4, 3, 4), stride=3, padding=2),
    CONV("conv1d_dilation_causal_like", "conv1d", (2, 4, 12), (4, 4, 2), dilation=4, padding=4),
    CONV("conv1d_groups", "conv1d", (2, 6, 8), (9, 2, 3), groups=3),
    CONV("conv1d_depthwise", "conv1d", (2, 5, 8), (5, 1, 3), groups=5, padding="same"),
    CONV("conv1d_same_even", "conv1d", (2, 3, 7), (2, 3, 4), padding="same"),
    CONV("conv1d_same_dilated", "conv1d", (2, 3, 9), (2, 3, 3), padding="same", dilation=3),
    CONV("conv1d_no_bias", "conv1d", (2, 3, 6), (2, 3, 1), bias=False),
    CONV("conv1d_unbatched", "conv1d", (3, 8), (4, 3, 3), padding=1),
]

CONV_T = [
    CONV("conv_transpose2d_basic", "conv_transpose2d", (2, 3, 4, 5), (3, 2, 3, 3)),
    CONV("conv_transpose2d_stride2_outpad", "conv_transpose2d", (2, 3, 4, 4), (3, 2, 3, 3), stride=2,
         padding=1, output_padding=1),
    CONV("conv_transpose2d_stride_pair", "conv_transpose2d", (2, 2, 3, 4), (2, 3, 2, 3), stride=(2, 3),
         padding=(0, 1), output_padding=(1, 2)),
    CONV("conv_transpose2d_dilation", "conv_transpose2d", (2, 2, 4, 3), (2, 3, 3, 2), dilation=(2, 1),
         padding=1),
    # output_padding may reach dilation - 1 > stride - 1: rows no window of the transposed conv reaches
    CONV("conv_transpose2d_outpad_below_dilation", "conv_transpose2d", (2, 2, 3, 3), (2, 2, 2, 2),
         dilation=3, output_padding=2),
    CONV("conv_transpose2d_groups", "conv_transpose2d", (2, 4, 3, 3), (4, 3, 3, 3), groups=2, stride=2),
    CONV("conv_transpose2d_row_shift", "conv_transpose2d", (2, 2, 4, 4), (2, 8, 3, 3), padding=1),
    CONV("conv_transpose2d_padding_beyond_kernel", "conv_transpose2d", (2, 3, 7, 6), (3, 2, 3, 2),
         padding=(2, 1), dilation=(1, 2)),
    CONV("conv_transpose2d_no_bias", "conv_transpose2d", (2, 3, 3, 3), (3, 4, 2, 2), bias=False, stride=2),
    CONV("conv_transpose2d_unbatched", "conv_transpose2d", (3, 3, 4), (3, 2, 3, 3), stride=2),
    CONV("conv_transpose1d_basic", "conv_transpose1d", (2, 3, 5), (3, 4, 3)),
    CONV("conv_transpose1d_stride_outpad", "conv_transpose1d", (2, 4, 5), (4, 2, 3), stride=3, padding=1,
         output_padding=2, groups=2),
    CONV("conv_transpose1d_dilation", "conv_transpose1d", (2, 2, 4), (2, 3, 2), dilation=3, bias=False),
    CONV("conv_transpose1d_unbatched", "conv_transpose1d", (3, 6), (3, 2, 4), stride=2, padding=1),
]


def UNFOLD(name, x, *args, **kw):
    return OpCase(name, lambda m, a: (F if m is nnzoo else TF).unfold(a, *args, **kw), [S(*x)])


def FOLD(name, cols, *args, **kw):
    return OpCase(name, lambda m, a: (F if m is nnzoo else TF).fold(a, *args, **kw), [S(*cols)])


FOLDS = [
    UNFOLD("unfold_basic", (2, 3, 4, 5), 2),
    UNFOLD("unfold_all_options", (2, 2, 7, 6), (2, 3), dilation=(2, 1), padding=(1, 2), stride=(2, 3)),
    UNFOLD("unfold_unbatched", (3, 5, 4), (3, 2), padding=1),
    FOLD("fold_basic", (2, 3 * 4, 12), (4, 5), 2),
    FOLD("fold_all_options", (2, 2 * 6, 12), (7, 6), (2, 3), dilation=(2, 1), padding=(1, 2), stride=(2, 3)),
    FOLD("fold_unbatched", (2 * 6, 9), (3, 4), (3, 2), padding=1, stride=(1, 2)),
]


@cases_params(CONV2D + CONV1D + CONV_T + FOLDS)
@pytest.mark.filterwarnings("ignore:Using padding=.same.")
def test_against_torch(case):
    check_op(case)


CHUNKED = [c for c in CONV2D + CONV_T if c.name in (
    "conv2d_everything", "conv2d_dilation_row_shift", "conv2d_groups_row_shift", "conv2d_stride2",
    "conv_transpose2d_stride2_outpad", "conv_transpose2d_row_shift")]


@cases_params(CHUNKED)
def test_batch_chunks(case, monkeypatch):
    """The kernels work on chunks of the batch; a tiny chunk budget makes every image its own chunk."""
    monkeypatch.setattr(conv_ops, "_CHUNK_ELEMS", 1)
    check_op(case)


def test_chunks_with_a_ragged_last_chunk(monkeypatch):
    """5 images in chunks of 2 (the last holds one): same values and gradients as one chunk, and as torch."""
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((5, 8, 6, 7)), rng.standard_normal((4, 8, 3, 3))
    per_image = max(8 * 3, 3 * 4) * 8 * 7  # row-shift layout: the windows of one image
    monkeypatch.setattr(conv_ops, "_CHUNK_ELEMS", per_image)  # doubled for a GEMM inner dim 8 * 3 < 64
    assert conv_ops._chunk(5, per_image, 8 * 3) == 2
    xn, wn = nnzoo.tensor(x, requires_grad=True), nnzoo.tensor(w, requires_grad=True)
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    yn, yt = F.conv2d(xn, wn, padding=1), TF.conv2d(xt, wt, padding=1)
    np.testing.assert_allclose(yn.detach().numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-10)
    u = rng.standard_normal(yt.shape)
    (yn * nnzoo.tensor(u)).sum().backward()
    (yt * torch.tensor(u)).sum().backward()
    np.testing.assert_allclose(xn.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(wn.grad.numpy(), wt.grad.numpy(), rtol=1e-10, atol=1e-10)


def test_layout_choice():
    """The cost model picks full im2col for few input channels and row-shift for the wide 3x3/5x5 layers."""
    assert not conv_ops._use_row_shift(3, 32, 3, 3, 1)  # VGG's first conv
    assert conv_ops._use_row_shift(3, 6, 5, 5, 1)  # CIFAR Net conv1
    assert conv_ops._use_row_shift(32, 32, 3, 3, 1)
    assert not conv_ops._use_row_shift(32, 32, 3, 3, 2)  # strided along H
    assert not conv_ops._use_row_shift(32, 32, 1, 1, 1)


# The weight gradient from the correlation's windows of g (stride 1, padding within the dilated kernel):
# (x shape, w shape, conv kwargs, which layout the correlation over g uses)
FUSED_WGRAD = [
    ((3, 8, 7, 6), (4, 8, 3, 3), dict(padding=1), True),
    ((3, 8, 6, 9), (6, 4, 3, 2), dict(padding="same", dilation=(2, 3), groups=2), True),
    ((2, 6, 7, 7), (6, 6, 4, 2), dict(padding="same"), True),  # even kernel: padding (1, 2) and (0, 1)
    ((3, 8, 6, 5), (2, 8, 3, 3), dict(padding=1), False),  # 2 output channels: im2col over g
    ((2, 12, 5, 6), (3, 4, 3, 3), dict(padding=1, groups=3), False),
    ((3, 3, 9), (4, 3, 3), dict(padding=2, dilation=2), False),  # conv1d: a kernel of height 1, im2col
]


@pytest.mark.parametrize("xs,ws,kw,row_shift", FUSED_WGRAD, ids=[str(i) for i in range(len(FUSED_WGRAD))])
@pytest.mark.parametrize("budget", [None, "ragged"])
@pytest.mark.filterwarnings("ignore:Using padding=.same.")
def test_weight_grad_from_the_correlation_windows(xs, ws, kw, row_shift, budget, monkeypatch):
    """dL/dw computed from the windows of g that the input gradient's correlation copies (one pass
    over x): equal to torch's in float64, with one chunk and with chunks of 2 images (a ragged last one),
    in the window layout the case is meant to exercise."""
    monkeypatch.setattr(conv_ops, "_FUSED_MIN_CHANNELS", 1)  # small test shapes take the path too
    calls = []
    seen = conv_ops._WeightGradFromWindows.__call__

    def spy(self, s, m, win, rs):
        calls.append((m, rs))
        return seen(self, s, m, win, rs)
    monkeypatch.setattr(conv_ops._WeightGradFromWindows, "__call__", spy)
    if budget:  # two images a chunk: 3 images give chunks of 2 and 1
        monkeypatch.setattr(conv_ops, "_chunk", lambda n, per_image, k: min(n, 2))
    rng = np.random.default_rng(sum(xs))
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    fn = "conv2d" if len(xs) == 4 else "conv1d"
    xn, wn = nnzoo.tensor(x, requires_grad=True), nnzoo.tensor(w, requires_grad=True)
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    yn, yt = getattr(F, fn)(xn, wn, **kw), getattr(TF, fn)(xt, wt, **kw)
    u = rng.standard_normal(tuple(yt.shape))
    (yn * nnzoo.tensor(u)).sum().backward()
    (yt * torch.tensor(u)).sum().backward()
    np.testing.assert_allclose(wn.grad.numpy(), wt.grad.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(xn.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-10)
    assert calls and all(rs == row_shift for _, rs in calls)
    assert [m for m, _ in calls] == ([2] * (xs[0] // 2) + [1] * (xs[0] % 2) if budget else [xs[0]])


def test_few_input_channels_keep_the_separate_weight_gradient(monkeypatch):
    """Below _FUSED_MIN_CHANNELS input channels a group, the weight gradient is not taken from the
    correlation's windows (a thin GEMM there); both paths give torch's gradients."""
    calls = []
    monkeypatch.setattr(conv_ops._WeightGradFromWindows, "__call__", lambda *a: calls.append(a))
    rng = np.random.default_rng(7)
    x, w = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3))
    xn, wn = nnzoo.tensor(x, requires_grad=True), nnzoo.tensor(w, requires_grad=True)
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    F.conv2d(xn, wn, padding=1).square().sum().backward()
    TF.conv2d(xt, wt, padding=1).square().sum().backward()
    np.testing.assert_allclose(wn.grad.numpy(), wt.grad.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(xn.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-10)
    assert not calls and 3 < conv_ops._FUSED_MIN_CHANNELS


def test_float32_stays_float32():
    x = nnzoo.randn(2, 3, 6, 6, requires_grad=True)
    w = nnzoo.randn(4, 3, 3, 3, requires_grad=True)
    y = F.conv2d(x, w, padding=1)
    y.sum().backward()
    assert y.dtype == nnzoo.float32 and x.grad.dtype == nnzoo.float32 and w.grad.dtype == nnzoo.float32
    assert F.conv_transpose2d(y, w).dtype == nnzoo.float32


def test_unfold_gemm_is_conv():
    """conv2d = weight (O, C*k*k) @ unfold(x): the identity the kernels are built on, in nnzoo alone."""
    rng = np.random.default_rng(4)
    x, w = nnzoo.tensor(rng.standard_normal((2, 3, 6, 7))), nnzoo.tensor(rng.standard_normal((5, 3, 3, 2)))
    cols = F.unfold(x, (3, 2), padding=1, stride=2)  # (2, 18, L)
    y = (w.reshape(5, -1) @ cols).reshape(2, 5, 3, 4)
    np.testing.assert_allclose(y.numpy(), F.conv2d(x, w, padding=1, stride=2).numpy(), rtol=1e-12, atol=1e-12)


# ---- errors -------------------------------------------------------------------------------------------
def _t(*shape, dtype=None):
    return nnzoo.zeros(*shape, dtype=dtype)


ERRORS = [
    (lambda: F.conv2d(_t(8, 4, 32, 32), _t(16, 3, 3, 3)),
     r"conv2d: input \(8, 4, 32, 32\) has 4 channels but weight \(16, 3, 3, 3\) expects 3 \(groups=1\)"),
    (lambda: F.conv2d(_t(2, 4, 5, 5), _t(8, 2, 3, 3), groups=4), r"expects 8 \(groups=4\)"),
    (lambda: F.conv2d(_t(2, 4, 5, 5), _t(5, 2, 3, 3), groups=2), r"5 output channels.*not divisible by groups=2"),
    (lambda: F.conv2d(_t(2, 3), _t(4, 3, 3, 3)), r"conv2d: expected a 3-D \(unbatched\) or 4-D \(batched\) input"),
    (lambda: F.conv2d(_t(1, 3, 5, 5), _t(4, 3, 3)), r"conv2d: expected a 4-D weight"),
    (lambda: F.conv2d(_t(1, 3, 5, 5), _t(4, 3, 3, 3), stride=2, padding="same"),
     r"padding='same' is not supported for strided convolutions"),
    (lambda: F.conv2d(_t(1, 3, 5, 5), _t(4, 3, 3, 3), padding="full"), r"invalid padding string 'full'"),
    (lambda: F.conv2d(_t(1, 3, 5, 5), _t(4, 3, 3, 3), padding=-1), r"negative padding"),
    (lambda: F.conv2d(_t(1, 3, 5, 5), _t(4, 3, 3, 3), stride=0), r"non-positive stride"),
    (lambda: F.conv2d(_t(1, 3, 5, 5), _t(4, 3, 3, 3), dilation=(1, 0)), r"dilation should be greater than zero"),
    (lambda: F.conv2d(_t(1, 3, 2, 5), _t(4, 3, 3, 3)),
     r"conv2d: input \(1, 3, 2, 5\) padded to 2 along spatial dim 0 is smaller than the dilated kernel size 3"),
    (lambda: F.conv2d(_t(1, 3, 5, 5), _t(4, 3, 3, 3), _t(3)), r"bias of shape \(3,\) does not match the 4"),
    (lambda: F.conv2d(_t(1, 3, 5, 5), _t(4, 3, 3, 3, dtype=nnzoo.float64)), r"dtype .* differ"),
    (lambda: F.conv2d(_t(1, 3, 5, 5), _t(4, 3, 3, 3), stride=(1, 2, 3)), r"stride must be an int or a tuple of 2"),
    (lambda: F.conv2d(np.zeros((1, 3, 5, 5)), _t(4, 3, 3, 3)), r"argument 'input' must be Tensor"),
    (lambda: F.conv1d(_t(2, 4, 9), _t(4, 3, 3)), r"conv1d: input \(2, 4, 9\) has 4 channels but weight"),
    (lambda: F.conv_transpose2d(_t(1, 3, 4, 4), _t(4, 2, 3, 3)),
     r"conv_transpose2d: input \(1, 3, 4, 4\) has 3 channels but weight \(4, 2, 3, 3\) expects 4"),
    (lambda: F.conv_transpose2d(_t(1, 4, 4, 4), _t(4, 2, 3, 3), stride=2, output_padding=2),
     r"output padding must be smaller than either stride or dilation"),
    (lambda: F.conv_transpose2d(_t(1, 4, 4, 4), _t(4, 2, 3, 3), padding="same"), r"padding must be an int"),
    (lambda: F.conv_transpose2d(_t(1, 4, 1, 1), _t(4, 2, 1, 1), padding=1), r"negative output size"),
    (lambda: F.unfold(_t(3, 4), 2), r"unfold: expected a 3-D \(unbatched\) or 4-D \(batched\) input"),
    (lambda: F.unfold(_t(1, 1, 2, 2), 3), r"unfold: .* gives no block"),
    (lambda: F.fold(_t(1, 12, 5), (4, 5), 2), r"fold: .* to be 3 \* 4 = 12 blocks, but got 5"),
    (lambda: F.fold(_t(1, 10, 12), (4, 5), 2), r"fold: expected size of input's dim 1 \(10"),
]


@pytest.mark.parametrize("fn,match", ERRORS, ids=[str(i) for i in range(len(ERRORS))])
def test_errors_name_the_op_and_shapes(fn, match):
    with pytest.raises((RuntimeError, ValueError, TypeError), match=match):
        fn()


def test_torch_rejects_the_same_arguments():
    """The main argument errors above (bar the message wording) are errors in PyTorch too."""
    z = torch.zeros
    for call in (lambda: TF.conv2d(z(8, 4, 32, 32), z(16, 3, 3, 3)),
                 lambda: TF.conv2d(z(1, 3, 5, 5), z(4, 3, 3, 3), stride=2, padding="same"),
                 lambda: TF.conv2d(z(1, 3, 2, 5), z(4, 3, 3, 3)),
                 lambda: TF.conv_transpose2d(z(1, 4, 4, 4), z(4, 2, 3, 3), stride=2, output_padding=2),
                 lambda: TF.fold(z(1, 12, 5), (4, 5), 2)):
        with pytest.raises(RuntimeError):
            call()


@pytest.mark.parametrize("batch", [(0,), (1,), ()])
def test_conv_transpose_with_an_empty_output_matches_torch(batch):
    """Found by the fuzzer: an output length of 0 ((L-1) s - 2p + d (k-1) + o + 1 = 0) is an empty tensor with
    zero gradients in PyTorch; nnzoo raised."""
    res = []
    for lib in (nnzoo, torch):
        x = lib.ones(*batch, 3, 1, requires_grad=True)
        w = lib.ones(3, 1, 2, requires_grad=True)
        b = lib.ones(3, requires_grad=True)
        y = lib.nn.functional.conv_transpose1d(x, w, b, stride=3, padding=1, groups=3)
        res.append([tuple(y.shape)] + [g.numpy() for g in lib.autograd.grad(y.sum(), [x, w, b])])
    assert res[0][0] == res[1][0]
    for got, want in zip(res[0][1:], res[1][1:]):
        np.testing.assert_array_equal(got, want)
