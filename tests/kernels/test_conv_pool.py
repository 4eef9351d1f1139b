"""The convolution, pooling and interpolation kernels on raw arrays (no Tensor, no autograd): each against a
NumPy reference written here from its definition, and each backward kernel against its forward through the
adjoint identity <A x, y> = <x, A^T y>."""
import numpy as np
import pytest

from nnzoo.kernels import conv as K
from nnzoo.kernels import interpolate as KI
from nnzoo.kernels import pool as KP

rng = np.random.default_rng(14)


def _conv_reference(x, w, b, stride, padding, dilation, groups):
    """out[n, o, p, q] = b[o] + sum_{c, i, j} w[o, c, i, j] x_pad[n, g C/G + c, p sh + i dh, q sw + j dw]."""
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    (sh, sw), ((pt, pb), (pl, pr)), (dh, dw) = stride, padding, dilation
    xp = np.zeros((n, c, h + pt + pb, wd + pl + pr))
    xp[:, :, pt:pt + h, pl:pl + wd] = x
    oh = (h + pt + pb - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + pl + pr - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, o, oh, ow))
    og = o // groups
    for oc in range(o):
        g = oc // og
        for i in range(kh):
            for j in range(kw):
                patch = xp[:, g * cg:(g + 1) * cg, i * dh:i * dh + sh * (oh - 1) + 1:sh,
                           j * dw:j * dw + sw * (ow - 1) + 1:sw]
                out[:, oc] += np.einsum("ncpq,c->npq", patch, w[oc, :, i, j])
    return out if b is None else out + b[None, :, None, None]


# (x shape, w shape, stride, padding, dilation, groups): both window layouts, strides, groups, odd padding
CONVS = [
    ((2, 3, 7, 6), (4, 3, 3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1),  # full im2col (3 input channels)
    ((2, 8, 6, 7), (4, 8, 3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1),  # row-shift
    ((3, 6, 9, 8), (6, 3, 3, 2), (2, 3), ((0, 1), (2, 0)), (2, 1), 2),
    ((1, 4, 5, 5), (2, 4, 1, 1), (1, 1), ((0, 0), (0, 0)), (1, 1), 1),
    ((2, 8, 7, 7), (8, 2, 5, 3), (1, 1), ((2, 2), (1, 1)), (1, 2), 4),
]


@pytest.mark.parametrize("xs,ws,stride,padding,dilation,groups", CONVS, ids=[str(i) for i in range(len(CONVS))])
@pytest.mark.parametrize("bias", [False, True])
def test_conv_forward_and_its_adjoints(xs, ws, stride, padding, dilation, groups, bias):
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    b = rng.standard_normal(ws[0]) if bias else None
    spec = K.Spec(stride, padding, dilation, groups)
    y = K.conv_forward(x, w, b, spec)
    np.testing.assert_allclose(y, _conv_reference(x, w, b, stride, padding, dilation, groups), rtol=1e-12, atol=1e-12)
    g = rng.standard_normal(y.shape)
    gx, gw = K.conv_backward(g, x, w, spec)
    y0 = K.conv_forward(x, w, None, spec)
    # <conv(x, w), g> is linear in x and in w: its gradients are gx and gw
    np.testing.assert_allclose(np.vdot(y0, g), np.vdot(x, gx), rtol=1e-10)
    np.testing.assert_allclose(np.vdot(y0, g), np.vdot(w, gw), rtol=1e-10)
    if bias:
        np.testing.assert_allclose(K.bias_grad(g), g.sum(axis=(0, 2, 3)), rtol=1e-12)
    only_x, none = K.conv_backward(g, None, w, spec, need_w=False, x_hw=xs[2:])
    assert none is None
    np.testing.assert_allclose(only_x, gx, rtol=1e-12, atol=1e-12)


def test_im2col_and_col2im_are_adjoint():
    x = rng.standard_normal((2, 3, 7, 6))
    args = ((2, 3), (2, 1), (1, 2), (2, 1))  # kernel, dilation, padding, stride
    cols = K.im2col(x, *args)
    oh, ow = K.out_len(7, 2, 2, 1, 1, 2), K.out_len(6, 3, 1, 2, 2, 1)
    assert cols.shape == (2, 3 * 2 * 3, oh * ow)
    c = rng.standard_normal(cols.shape)
    np.testing.assert_allclose(np.vdot(cols, c), np.vdot(x, K.col2im(c, (7, 6), *args)), rtol=1e-12)


def _axes(shape, k, s, p, d=1):
    return [KP.Axis(k, s, d, p, n, (n + 2 * p - d * (k - 1) - 1) // s + 1) for n in shape]


@pytest.mark.parametrize("k,s,p,d", [(2, 2, 0, 1), (3, 2, 1, 1), (3, 1, 1, 2), (1, 1, 0, 1)])
def test_max_pool_against_windows_and_scatter_gather_adjoint(k, s, p, d):
    x = rng.permutation(2 * 5 * 7).reshape(2, 5, 7).astype(np.float64)  # no ties
    ah, aw = _axes((5, 7), k, s, p, d)
    out, sel = KP.max_pool(x, ah, aw, True)
    xp = np.full((2, 5 + 2 * p, 7 + 2 * p), -np.inf)
    xp[:, p:p + 5, p:p + 7] = x
    want = np.full((2, ah.n_out, aw.n_out), -np.inf)
    for i in range(k):
        for j in range(k):
            want = np.maximum(want, xp[:, ah.window(i), aw.window(j)])
    np.testing.assert_array_equal(out, want)
    assert not np.may_share_memory(out, x)
    g, v = rng.standard_normal(out.shape), rng.standard_normal(x.shape)
    np.testing.assert_allclose(np.vdot(KP.max_pool_scatter(g, sel, ah, aw), v),
                               np.vdot(g, KP.max_pool_gather(v, sel, ah, aw)), rtol=1e-12)
    # the gather through the winners is the max pooling itself
    np.testing.assert_array_equal(KP.max_pool_gather(x, sel, ah, aw), out)


@pytest.mark.parametrize("k,s,p", [(2, 2, 0), (3, 2, 1), (5, 1, 2)])
def test_avg_pool_sums_and_its_spread_is_the_adjoint(k, s, p):
    x = rng.standard_normal((3, 6, 5))
    ah, aw = _axes((6, 5), k, s, p)
    out = KP.avg_pool(x, ah, aw, 1.0)
    xp = np.zeros((3, 6 + 2 * p, 5 + 2 * p))
    xp[:, p:p + 6, p:p + 5] = x
    want = sum(xp[:, ah.window(i), aw.window(j)] for i in range(k) for j in range(k))
    np.testing.assert_allclose(out, want, rtol=1e-12)
    g = rng.standard_normal(out.shape)
    np.testing.assert_allclose(np.vdot(out, g), np.vdot(x, KP.avg_pool_spread(g, ah, aw, 1.0)), rtol=1e-12)


@pytest.mark.parametrize("n_in,n_out", [(4, 9), (9, 4), (1, 3), (300, 500)])  # the last: segment sums, no GEMM
def test_resample_adjoint(n_in, n_out):
    x = rng.standard_normal((2, 3, n_in))
    taps_w = KI.linear_taps(n_in, n_out, None, False, np.dtype(np.float64))
    taps_h = KI.nearest_taps(3, 5, None, False)
    y = KI.resample(x, taps_h, taps_w)
    assert y.shape == (2, 5, n_out)
    g = rng.standard_normal(y.shape)
    np.testing.assert_allclose(np.vdot(y, g), np.vdot(x, KI.resample_adjoint(g, taps_h, taps_w, 3, n_in)), rtol=1e-10)
