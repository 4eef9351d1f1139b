"""Pooling, interpolation, local response normalisation and pixel shuffle against torch.nn.functional through
the table-driven harness (forward, backward, float32/float64, non-contiguous inputs and float64 finite
differences, double backward), over grids of kernel sizes, strides, paddings, dilations, ceil_mode, divisors,
adaptive output sizes and interpolation sizes/scales; then indices and unpooling, ties, sweeps of the
interpolation index arithmetic, dtypes and the error messages.

Max pooling inputs are random permutations scaled by 1/8: no ties (the gradient is then unique) and no two
values closer than the finite differences' step."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from helpers import OpCase, S, V, cases_params, check_op, check_same_result_or_error

import nnzoo
import nnzoo.nn.functional as NF

rng = np.random.default_rng(5)


def perm(*shape):
    """A tie-free differentiable input: a random permutation of 0..n-1, divided by 8."""
    return V(rng.permutation(int(np.prod(shape))).reshape(shape) / 8.0, grad=True)


def F(name, *args, **kw):
    """fn(lib, *tensors) calling lib.nn.functional.<name>(*tensors, *args, **kw) in both libraries."""
    def fn(lib, *ts):
        return getattr(lib.nn.functional, name)(*ts, *args, **kw)
    return fn


def case(label, name, inputs, *args, **kw):
    return OpCase(label, F(name, *args, **kw), inputs)


def _kw(**kw):
    return ",".join(f"{k}={v}" for k, v in kw.items()).replace(" ", "")


CASES = []

# ---- max_pool2d: (kernel_size, stride, padding, dilation, ceil_mode) ---------------------------------------
MAX2D = [
    (2, None, 0, 1, False), (2, None, 0, 1, True), (2, 1, 1, 1, False), (3, 2, 0, 1, False),
    (3, 2, 0, 1, True), (3, 2, 1, 1, False), (3, 2, 1, 1, True), (3, 1, 1, 1, False), (1, 2, 0, 1, False),
    ((2, 3), (1, 2), (1, 0), 1, False), (3, 2, 1, 2, False), (3, 1, 0, 2, True), (2, 3, 1, 1, True),
    ((3, 2), (2, 3), (1, 1), (1, 2), True), (4, 3, 2, 1, True), (5, 2, 2, 1, False),
]
for k, s, p, d, c in MAX2D:
    kw = dict(kernel_size=k, stride=s, padding=p, dilation=d, ceil_mode=c)
    for shape in ((2, 3, 7, 8), (3, 6, 5)):
        CASES.append(case(f"max_pool2d[{_kw(**kw)}]{shape}", "max_pool2d", [perm(*shape)], **kw))
for k, s, p, d, c in MAX2D[::3]:
    kw = dict(kernel_size=k, stride=s, padding=p, dilation=d, ceil_mode=c, return_indices=True)
    CASES.append(case(f"max_pool2d_indices[{_kw(**kw)}]", "max_pool2d", [perm(2, 3, 7, 8)], **kw))

# ---- max_pool1d: (kernel_size, stride, padding, dilation, ceil_mode) ---------------------------------------
MAX1D = [(2, None, 0, 1, False), (3, 2, 1, 1, False), (3, 2, 1, 1, True), (3, 1, 1, 2, False),
         (4, 3, 2, 2, True), (1, 3, 0, 1, False), (5, 2, 2, 1, True)]
for k, s, p, d, c in MAX1D:
    kw = dict(kernel_size=k, stride=s, padding=p, dilation=d, ceil_mode=c)
    for shape in ((2, 3, 11), (3, 10)):
        CASES.append(case(f"max_pool1d[{_kw(**kw)}]{shape}", "max_pool1d", [perm(*shape)], **kw))
    CASES.append(case(f"max_pool1d_indices[{_kw(**kw)}]", "max_pool1d", [perm(2, 3, 11)], **kw,
                      return_indices=True))

# ---- avg_pool2d: (kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override) -----------
AVG2D = [
    (2, None, 0, False, True, None), (3, 2, 0, False, True, None), (3, 2, 1, False, True, None),
    (3, 2, 1, False, False, None), (3, 2, 1, True, True, None), (3, 2, 1, True, False, None),
    (3, 2, 0, True, True, None), ((2, 3), (1, 2), (1, 1), False, False, None), (3, 1, 1, False, True, 5),
    (2, 3, 1, True, True, None), (4, 3, 2, True, False, None), (2, None, 0, False, True, 3),
    ((3, 1), 1, (1, 0), True, True, None),
]
for k, s, p, c, cip, dv in AVG2D:
    kw = dict(kernel_size=k, stride=s, padding=p, ceil_mode=c, count_include_pad=cip, divisor_override=dv)
    for shape in ((2, 3, 7, 8), (3, 6, 5)):
        CASES.append(case(f"avg_pool2d[{_kw(**kw)}]{shape}", "avg_pool2d", [S(*shape)], **kw))

# ---- avg_pool1d: (kernel_size, stride, padding, ceil_mode, count_include_pad) ------------------------------
for k, s, p, c, cip in [(2, None, 0, False, True), (3, 2, 1, False, True), (3, 2, 1, True, False),
                        (4, 3, 2, True, True), (3, 1, 1, False, False)]:
    kw = dict(kernel_size=k, stride=s, padding=p, ceil_mode=c, count_include_pad=cip)
    for shape in ((2, 3, 11), (3, 10)):
        CASES.append(case(f"avg_pool1d[{_kw(**kw)}]{shape}", "avg_pool1d", [S(*shape)], **kw))

# ---- adaptive pooling: sizes that divide the input, that do not, None, identity, bigger than the input ----
for o in (1, 2, 3, (4, 3), (None, 5), (7, 8), (5, 6), (9, 10), (7, None)):
    for shape in ((2, 3, 7, 8), (3, 9, 6)):
        CASES.append(case(f"adaptive_avg_pool2d[{o}]{shape}", "adaptive_avg_pool2d", [S(*shape)], o))
        CASES.append(case(f"adaptive_max_pool2d[{o}]{shape}", "adaptive_max_pool2d", [perm(*shape)], o))
    CASES.append(case(f"adaptive_max_pool2d_indices[{o}]", "adaptive_max_pool2d", [perm(2, 3, 7, 8)], o,
                      return_indices=True))
for o in (1, 3, 4, 7, 10):
    for shape in ((2, 3, 7), (3, 8)):
        CASES.append(case(f"adaptive_avg_pool1d[{o}]{shape}", "adaptive_avg_pool1d", [S(*shape)], o))

# ---- local response norm ------------------------------------------------------------------------------------
LRN = [(1, 1e-4, 0.75, 1.0), (2, 0.1, 0.75, 1.0), (3, 0.5, 0.6, 2.0), (5, 1e-4, 0.75, 2.0), (5, 0.3, 1.0, 1.0),
       (8, 0.2, 0.5, 1.5)]
for size, alpha, beta, k in LRN:
    for shape in ((2, 6, 4, 5), (2, 5, 7), (2, 4, 3, 2, 2)):
        CASES.append(case(f"local_response_norm[{size},{alpha},{beta},{k}]{shape}", "local_response_norm",
                          [S(*shape)], size, alpha, beta, k))

# ---- interpolate ------------------------------------------------------------------------------------------
INTERP_3D = [dict(scale_factor=2), dict(size=7), dict(size=3), dict(scale_factor=1.7), dict(scale_factor=0.6),
             dict(scale_factor=2.5, recompute_scale_factor=True)]
INTERP_4D = [dict(scale_factor=2), dict(size=(5, 7)), dict(size=(3, 11)), dict(scale_factor=(2.3, 0.6)),
             dict(scale_factor=0.5), dict(scale_factor=1.5, recompute_scale_factor=True), dict(size=(6, 8))]
for kw in INTERP_3D:
    for mode, ac in (("nearest", None), ("nearest-exact", None), ("linear", False), ("linear", True),
                     ("area", None)):
        CASES.append(case(f"interpolate[{_kw(**kw)},{mode},{ac}]3d", "interpolate", [S(2, 3, 6)], **kw,
                          mode=mode, align_corners=ac))
for kw in INTERP_4D:
    for mode, ac in (("nearest", None), ("nearest-exact", None), ("bilinear", False), ("bilinear", True),
                     ("area", None)):
        CASES.append(case(f"interpolate[{_kw(**kw)},{mode},{ac}]4d", "interpolate", [S(2, 3, 6, 8)], **kw,
                          mode=mode, align_corners=ac))

# long axes (n_in * n_out > 65536): the backward's segment sums instead of the dense tap matrix
CASES += [
    case("interpolate_long_linear", "interpolate", [S(1, 2, 300)], size=301, mode="linear"),
    case("interpolate_long_linear_corners", "interpolate", [S(1, 2, 300)], size=450, mode="linear",
         align_corners=True),
    case("interpolate_long_nearest", "interpolate", [S(1, 2, 200)], size=500),
    case("interpolate_long_nearest_exact_down", "interpolate", [S(1, 2, 700)], scale_factor=0.3,
         mode="nearest-exact"),
    case("interpolate_long_bilinear", "interpolate", [S(1, 1, 3, 260)], size=(5, 300), mode="bilinear"),
]

# ---- pixel shuffle ------------------------------------------------------------------------------------------
CASES += [
    case("pixel_shuffle_4d", "pixel_shuffle", [S(2, 8, 3, 4)], 2),
    case("pixel_shuffle_3d", "pixel_shuffle", [S(18, 2, 3)], 3),
    case("pixel_shuffle_5d", "pixel_shuffle", [S(2, 2, 8, 3, 2)], 2),
    case("pixel_shuffle_1", "pixel_shuffle", [S(2, 3, 2, 2)], 1),
    case("pixel_unshuffle_4d", "pixel_unshuffle", [S(2, 3, 4, 6)], 2),
    case("pixel_unshuffle_3d", "pixel_unshuffle", [S(2, 6, 6)], 3),
    case("pixel_unshuffle_5d", "pixel_unshuffle", [S(2, 1, 2, 4, 4)], 2),
]


# ---- max_unpool2d: gradients through pool -> unpool --------------------------------------------------------
def unpool_case(label, shape, k, s=None, p=0, output_size=None, fd=True):
    def fn(lib, x):
        f = lib.nn.functional
        out, idx = f.max_pool2d(x, k, s, p, return_indices=True)
        return f.max_unpool2d(out * 2, idx, k, s, p, output_size=output_size)
    return OpCase(label, fn, [perm(*shape)], fd=fd)


CASES += [
    unpool_case("max_unpool2d_2x2", (2, 3, 6, 8), 2),
    # NOTE: overlapping windows can share a maximum: unpooling then writes it once but its gradient reaches both
    # windows (torch's too), so finite differences disagree with both libraries by design
    unpool_case("max_unpool2d_3x3s2p1", (2, 3, 7, 7), 3, 2, 1, fd=False),
    unpool_case("max_unpool2d_output_size", (2, 3, 7, 9), 2, output_size=(7, 9)),
    unpool_case("max_unpool2d_output_size_4", (2, 3, 7, 9), 2, output_size=(2, 3, 7, 9)),
    unpool_case("max_unpool2d_unbatched", (3, 6, 6), (2, 3), (2, 3)),
]


@cases_params(CASES)
def test_op(case):
    check_op(case)


# ================================================================================================
# ties, indices, round trips
# ================================================================================================
TIES = V(rng.integers(0, 3, size=(2, 3, 7, 8)).astype(float), grad=True)  # many equal maxima, as after relu


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=3, stride=1, dilation=2, ceil_mode=True),
                                dict(kernel_size=(2, 3), stride=(2, 1))])
def test_max_pool2d_ties_go_to_the_first_maximum(kw):
    check_op(OpCase(f"ties{kw}", F("max_pool2d", **kw, return_indices=True), [TIES], fd=False))


def test_adaptive_max_pool2d_ties():
    check_op(OpCase("adaptive_ties", F("adaptive_max_pool2d", (3, 5), return_indices=True), [TIES], fd=False))


def test_relu_then_pool_gradient_matches_torch():
    """All-zero windows after a relu: the first zero gets the gradient, as in torch."""
    x = rng.standard_normal((4, 3, 8, 8)) - 0.8
    gs = []
    for lib in (nnzoo, torch):
        t = lib.tensor(x, requires_grad=True)
        lib.nn.functional.max_pool2d(lib.nn.functional.relu(t), 2).pow(2).sum().backward()
        xt = lib.tensor(x)
        out = lib.nn.functional.max_pool2d(lib.nn.functional.relu(xt), 2, return_indices=True)[1]
        gs.append((t.grad.numpy(), out.numpy()))
    np.testing.assert_allclose(gs[0][0], gs[1][0], rtol=1e-12, atol=0)
    np.testing.assert_array_equal(gs[0][1], gs[1][1])


def test_max_unpool2d_round_trip_matches_torch():
    x = rng.standard_normal((2, 4, 9, 10))
    for k, s, p in [(2, 2, 0), (3, 2, 1), (3, 3, 1), ((2, 3), (2, 3), 0)]:
        res = []
        for lib in (nnzoo, torch):
            f = lib.nn.functional
            out, idx = f.max_pool2d(lib.tensor(x), k, s, p, return_indices=True)
            res.append(f.max_unpool2d(out, idx, k, s, p, output_size=x.shape[-2:]).numpy())
        np.testing.assert_array_equal(res[0], res[1])


def test_nan_propagates_through_max_pooling():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    x[0, 0, 1, 1] = np.nan
    out = NF.max_pool2d(nnzoo.tensor(x), 2).numpy()
    np.testing.assert_array_equal(out, TF.max_pool2d(torch.tensor(x), 2).numpy())


def _pooled_index_and_grad(lib, call, x):
    """(output, indices, input gradient of the output's sum) of a max pooling ``call(F, t)``."""
    t = lib.tensor(x, requires_grad=True)
    out, idx = call(lib.nn.functional, t)
    grad, = lib.autograd.grad(out, t, grad_outputs=lib.ones_like(out))
    return out, idx, grad


@pytest.mark.parametrize("call", [
    lambda F, x: F.max_pool2d(x, 3, return_indices=True),
    lambda F, x: F.max_pool2d(x, 2, stride=1, padding=1, return_indices=True),
    lambda F, x: F.max_pool1d(x[0], 3, return_indices=True),
    lambda F, x: F.adaptive_max_pool2d(x, (2, 1), return_indices=True),
])
def test_nan_wins_max_pooling_with_torchs_index_and_gradient(call):
    """Found by the fuzzer: a window holding NaN gives the index of its *last* NaN in row-major order
    (PyTorch's kernels take every NaN they meet as the new maximum), and its gradient goes there."""
    nan = np.nan
    x = np.array([[[[1.0, nan, 2.0], [nan, 5.0, nan], [0.0, 1.0, 2.0]]]])
    check_same_result_or_error(lambda lib: _pooled_index_and_grad(lib, call, x))


def test_adaptive_max_pool2d_empty_batch():
    """Found by the fuzzer: an empty batch raised (a reshape of 0 elements with -1)."""
    x = nnzoo.zeros(0, 2, 3, 3, requires_grad=True)
    out = NF.adaptive_max_pool2d(x, (2, 1))
    assert tuple(out.shape) == (0, 2, 2, 1)
    out.sum().backward()
    assert tuple(x.grad.shape) == (0, 2, 3, 3)


# ================================================================================================
# interpolation index arithmetic: exact agreement over many sizes and scales (forward only)
# ================================================================================================
def _interp_both(x, **kw):
    return (NF.interpolate(nnzoo.tensor(x), **kw).numpy(), TF.interpolate(torch.tensor(x), **kw).numpy())


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
def test_nearest_indices_match_torch_everywhere(mode):
    for dtype in (np.float32, np.float64):
        for n in range(1, 14):
            x = np.arange(n, dtype=dtype).reshape(1, 1, n)
            for o in range(1, 30):
                a, b = _interp_both(x, size=o, mode=mode)
                np.testing.assert_array_equal(a, b, err_msg=f"{mode} {n} -> {o}")
            for sc in (0.3, 0.5, 0.7, 1 / 3, 1.1, 1.5, 1.7, 2.0, 2.5, 3.0, 2.9):
                if int(n * sc) >= 1:
                    a, b = _interp_both(x, scale_factor=sc, mode=mode)
                    np.testing.assert_array_equal(a, b, err_msg=f"{mode} {n} x {sc}")


@pytest.mark.parametrize("align_corners", [False, True])
def test_linear_weights_match_torch_everywhere(align_corners):
    for dtype, tol in ((np.float32, 1e-6), (np.float64, 1e-14)):
        for n in range(1, 12):
            x = rng.standard_normal((1, 2, n)).astype(dtype)
            for o in list(range(1, 25)):
                a, b = _interp_both(x, size=o, mode="linear", align_corners=align_corners)
                np.testing.assert_allclose(a, b, rtol=tol, atol=tol, err_msg=f"{n} -> {o}")
            for sc in (0.4, 0.5, 1.3, 2.0, 2.7):
                if int(n * sc) >= 1:
                    a, b = _interp_both(x, scale_factor=sc, mode="linear", align_corners=align_corners)
                    np.testing.assert_allclose(a, b, rtol=tol, atol=tol, err_msg=f"{n} x {sc}")


# ================================================================================================
# dtypes, shapes, no-grad path
# ================================================================================================
@pytest.mark.parametrize("fn", [
    lambda f, x: f.max_pool2d(x, 3, 2, 1), lambda f, x: f.avg_pool2d(x, 2),
    lambda f, x: f.adaptive_avg_pool2d(x, 3),
    lambda f, x: f.adaptive_max_pool2d(x, 3), lambda f, x: f.interpolate(x, scale_factor=2, mode="bilinear"),
    lambda f, x: f.local_response_norm(x, 3), lambda f, x: f.max_pool1d(x.flatten(2), 3),
])
def test_float32_stays_float32(fn):
    x = nnzoo.randn(2, 3, 6, 6, requires_grad=True)
    out = fn(NF, x)
    out.sum().backward()
    assert out.dtype == nnzoo.float32 and x.grad.dtype == nnzoo.float32


def test_no_grad_forward_records_nothing_and_matches():
    x = rng.standard_normal((2, 3, 9, 9)).astype(np.float32)
    with nnzoo.no_grad():
        y = NF.max_pool2d(nnzoo.tensor(x, requires_grad=True), 3, 2)
    assert y.grad_fn is None and not y.requires_grad
    np.testing.assert_array_equal(y.numpy(), TF.max_pool2d(torch.tensor(x), 3, 2).numpy())


def test_integer_max_pooling_matches_torch():
    x = rng.integers(-50, 50, size=(2, 3, 7, 7))
    for kw in (dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1)):
        a = NF.max_pool2d(nnzoo.tensor(x), **kw)
        b = TF.max_pool2d(torch.tensor(x), **kw)
        assert a.dtype == nnzoo.int64
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_output_does_not_alias_the_input():
    x = nnzoo.randn(1, 2, 3, 3)
    for y in (NF.max_pool2d(x, 1), NF.avg_pool2d(x, 1), NF.adaptive_avg_pool2d(x, 3),
              NF.interpolate(x, size=(3, 3))):
        y.numpy()[...] = 7
        assert not np.any(x.numpy() == 7)


# ================================================================================================
# errors
# ================================================================================================
@pytest.mark.parametrize("call, match", [
    (lambda: NF.max_pool2d(nnzoo.randn(1, 1, 2, 2), 3),
     r"max_pool2d: kernel \(3, 3\) is larger than the padded input \(2, 2\)"),
    (lambda: NF.max_pool1d(nnzoo.randn(1, 1, 4), 3, dilation=2),
     r"max_pool1d: kernel 3 \(dilated: 5\) is larger than the padded input 4"),
    (lambda: NF.max_pool2d(nnzoo.randn(1, 1, 5, 5), 3, padding=2),
     r"max_pool2d: padding \(2, 2\) should be at most half of kernel_size \(3, 3\)"),
    (lambda: NF.avg_pool2d(nnzoo.randn(1, 1, 5, 5), 2, stride=0), r"avg_pool2d: stride must be positive"),
    (lambda: NF.max_pool2d(nnzoo.randn(5, 5), 2),
     r"max_pool2d: expected a 3-D \(C, H, W\) or 4-D \(N, C, H, W\) input, got shape \(5, 5\)"),
    (lambda: NF.max_pool2d(nnzoo.randn(1, 0, 4, 4), 2), r"max_pool2d: expected an input with non-empty"),
    (lambda: NF.max_pool2d(nnzoo.randn(1, 1, 4, 4), (2, 2, 2)), r"max_pool2d: kernel_size must be an int or a"),
    (lambda: NF.avg_pool2d(nnzoo.ones(1, 1, 4, 4, dtype=nnzoo.int64), 2),
     r"avg_pool2d: expected a floating-point input"),
    (lambda: NF.adaptive_avg_pool2d(nnzoo.randn(1, 1, 4, 4), (2, 2, 2)), r"adaptive_avg_pool2d: output_size"),
    (lambda: NF.max_unpool2d(nnzoo.randn(1, 1, 2, 2), nnzoo.zeros(1, 1, 2, 2, dtype=nnzoo.int64), 2,
                             output_size=(7, 7)), r'max_unpool2d: invalid output_size "\(7, 7\)"'),
    (lambda: NF.max_unpool2d(nnzoo.randn(1, 1, 2, 2), nnzoo.full((1, 1, 2, 2), 16, dtype=nnzoo.int64), 2),
     r"max_unpool2d: found an invalid max index 16 \(output planes are of size 4x4\)"),
    (lambda: NF.max_unpool2d(nnzoo.randn(1, 1, 2, 2), nnzoo.zeros(1, 1, 2, 2), 2),
     r"max_unpool2d: expected integer indices"),
    (lambda: NF.interpolate(nnzoo.randn(1, 1, 4), size=2, scale_factor=2), r"only one of size or scale_factor"),
    (lambda: NF.interpolate(nnzoo.randn(1, 1, 4)), r"either size or scale_factor"),
    (lambda: NF.interpolate(nnzoo.randn(1, 1, 4), size=2, align_corners=True), r"align_corners option"),
    (lambda: NF.interpolate(nnzoo.randn(1, 1, 4), size=2, mode="bilinear"), r"bilinear mode needs 4D input"),
    (lambda: NF.interpolate(nnzoo.randn(1, 1, 4, 4), size=2, mode="bicubic"),
     r"mode 'bicubic' is not implemented"),
    (lambda: NF.interpolate(nnzoo.randn(1, 1, 4), scale_factor=0.1), r"sizes should be greater than 0"),
    (lambda: NF.pixel_shuffle(nnzoo.randn(1, 5, 2, 2), 2),
     r"pixel_shuffle: the channel dim 5 .* not divisible"),
    (lambda: NF.pixel_unshuffle(nnzoo.randn(1, 1, 5, 4), 2), r"pixel_unshuffle: the height 5 and width 4"),
])
def test_errors(call, match):
    with pytest.raises((RuntimeError, ValueError, NotImplementedError, TypeError), match=match):
        call()


def test_local_response_norm_needs_three_dims():
    with pytest.raises(ValueError, match=r"local_response_norm: expected an input with 3 or more dims"):
        NF.local_response_norm(nnzoo.randn(2, 3), 2)
    with pytest.raises(TypeError, match=r"max_pool2d\(\): argument 'input' must be Tensor"):
        NF.max_pool2d(np.zeros((1, 1, 2, 2)), 2)


@pytest.mark.parametrize("shape,size,name", [((2, 3, 7), 4, "adaptive_avg_pool1d"),
                                             ((1, 3, 7, 5), (5, None), "adaptive_avg_pool2d"),
                                             ((1, 2, 5, 7), (3, 4), "adaptive_avg_pool2d")])
def test_adaptive_avg_pool_with_infinities_sums_only_each_window(shape, size, name):
    """Found by the fuzzer: the window means as matrix products multiplied inf/NaN by the zeros outside each
    window (NaN everywhere); now only each window's entries are summed, forward and backward, as PyTorch."""
    g = np.random.default_rng(5)
    x = g.standard_normal(shape)
    mask = g.random(shape) < 0.3
    x[mask] = g.choice([np.inf, -np.inf, np.nan, 1e4], int(mask.sum()))
    u = g.standard_normal(TF.__dict__[name](torch.tensor(x), size).shape)
    u.flat[0] = np.inf
    res = []
    for lib in (nnzoo, torch):
        xt = lib.tensor(x, requires_grad=True)
        y = getattr(lib.nn.functional, name)(xt, size)
        grad, = lib.autograd.grad(y, xt, grad_outputs=lib.tensor(u))
        res.append((y.detach().numpy(), grad.numpy()))
    for got, want in zip(*res):
        np.testing.assert_allclose(got, want, rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize("call", [
    lambda F, x: F.max_pool1d(x[0], 3, stride=3, padding=1, dilation=2, ceil_mode=True, return_indices=True),
    lambda F, x: F.max_pool1d(x[0], 3, stride=2, padding=1, return_indices=True),
    lambda F, x: F.max_pool2d(x, (3, 2), stride=(2, 3), padding=1, ceil_mode=True, return_indices=True),
    lambda F, x: F.max_pool2d(x, 3, stride=1, padding=1, return_indices=True),
])
def test_max_pool_window_of_minus_infinities_takes_its_first_input_element(call):
    """Found by the fuzzer: where every input value of a window is -inf the padding won the first-maximum
    search (index clipped to element 0, no gradient); PyTorch's search starts at the window's first input
    element, which gets the index and the gradient."""
    inf = np.inf
    x = np.array([[[[1.0, -inf, -1e4], [-inf, -inf, 1.0], [-inf, -inf, -inf]],
                   [[-inf, -inf, -inf], [-inf, 0.0, -inf], [2.0, -inf, -inf]]]])
    check_same_result_or_error(lambda lib: _pooled_index_and_grad(lib, call, x))
