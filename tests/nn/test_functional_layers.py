"""The functional math of the layers (linear, bilinear, embedding, the norms) against PyTorch through the
table-driven harness: forward, backward, finite differences and double backward."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from helpers import OpCase, S, V, cases_params, check_op

import nnzoo
from nnzoo.ops import nn as NF
from nnzoo.ops import norm as NN

IDX = np.array([[1, 0, 3], [3, 3, 2]])

CASES = [
    OpCase("linear", lambda m, x, w, b: NF.linear(x, w, b) if m is nnzoo else TF.linear(x, w, b),
           [S(5, 3), S(4, 3), S(4)]),
    OpCase("linear_nobias", lambda m, x, w: NF.linear(x, w) if m is nnzoo else TF.linear(x, w),
           [S(2, 5, 3), S(4, 3)]),
    OpCase("linear_1d_input", lambda m, x, w, b: NF.linear(x, w, b) if m is nnzoo else TF.linear(x, w, b),
           [S(3), S(4, 3), S(4)]),
    OpCase("bilinear", lambda m, a, b, w, c: NF.bilinear(a, b, w, c) if m is nnzoo else TF.bilinear(a, b, w, c),
           [S(4, 3), S(4, 2), S(5, 3, 2), S(5)]),
    OpCase("bilinear_batched", lambda m, a, b, w: NF.bilinear(a, b, w) if m is nnzoo else TF.bilinear(a, b, w),
           [S(2, 4, 3), S(2, 4, 2), S(5, 3, 2)], noncontig=False),
    OpCase("embedding", lambda m, i, w: NF.embedding(i, w) if m is nnzoo else TF.embedding(i, w),
           [V(IDX), S(5, 3)]),
    OpCase("embedding_padding_idx",
           lambda m, i, w: NF.embedding(i, w, padding_idx=3) if m is nnzoo else TF.embedding(i, w, padding_idx=3),
           [V(IDX), S(5, 3)], fd=False),  # the padding row's gradient is zeroed on purpose
    OpCase("embedding_scale_grad_by_freq",
           lambda m, i, w: (NF.embedding(i, w, scale_grad_by_freq=True) if m is nnzoo
                            else TF.embedding(i, w, scale_grad_by_freq=True)),
           [V(IDX), S(5, 3)], fd=False,  # a rescaled gradient, not the derivative
           no_double="torch's embedding double backward ignores scale_grad_by_freq (it differentiates the "
                     "unscaled gradient); nnzoo's differentiates the rescaled gradient it returns"),
    OpCase("layer_norm", lambda m, x, w, b: (NN.layer_norm(x, (4,), w, b) if m is nnzoo
                                             else TF.layer_norm(x, (4,), w, b)), [S(3, 5, 4), S(4), S(4)]),
    OpCase("layer_norm_2d_shape_noaffine", lambda m, x: (NN.layer_norm(x, (5, 4), eps=1e-3) if m is nnzoo
                                                         else TF.layer_norm(x, (5, 4), eps=1e-3)), [S(3, 5, 4)]),
    OpCase("group_norm", lambda m, x, w, b: (NN.group_norm(x, 2, w, b) if m is nnzoo
                                             else TF.group_norm(x, 2, w, b)), [S(3, 6, 5), S(6), S(6)]),
    OpCase("group_norm_4d", lambda m, x: (NN.group_norm(x, 3, eps=1e-3) if m is nnzoo
                                          else TF.group_norm(x, 3, eps=1e-3)), [S(2, 6, 3, 2)]),
    OpCase("batch_norm_train", lambda m, x, w, b: (NN.batch_norm(x, None, None, w, b, True) if m is nnzoo
                                                   else TF.batch_norm(x, None, None, w, b, True)),
           [S(6, 3), S(3), S(3)]),
    OpCase("batch_norm_train_4d", lambda m, x, w, b: (NN.batch_norm(x, None, None, w, b, True, eps=1e-3)
                                                      if m is nnzoo else
                                                      TF.batch_norm(x, None, None, w, b, True, eps=1e-3)),
           [S(2, 3, 4, 2), S(3), S(3)]),
    OpCase("batch_norm_eval", lambda m, x, rm, rv, w, b: (NN.batch_norm(x, rm, rv, w, b, False) if m is nnzoo
                                                          else TF.batch_norm(x, rm, rv, w, b, False)),
           [S(4, 3, 2), S(3, grad=False), S(3, low=0.5, high=2.0, grad=False), S(3), S(3)]),
]


@cases_params(CASES)
def test_op(case):
    check_op(case)


def test_batch_norm_running_stats_update():
    """running = (1 - m) running + m batch, with the unbiased batch variance (torch's rule)."""
    x = np.random.default_rng(0).standard_normal((5, 3, 2))
    rm, rv = np.zeros(3), np.ones(3)
    nm, nv = nnzoo.tensor(rm), nnzoo.tensor(rv)
    tm, tv = torch.tensor(rm), torch.tensor(rv)
    for _ in range(3):
        NN.batch_norm(nnzoo.tensor(x), nm, nv, training=True, momentum=0.3)
        TF.batch_norm(torch.tensor(x), tm, tv, training=True, momentum=0.3)
    np.testing.assert_allclose(nm.numpy(), tm.numpy(), rtol=1e-12)
    np.testing.assert_allclose(nv.numpy(), tv.numpy(), rtol=1e-12)


def test_embedding_max_norm_renormalises_in_place_like_torch():
    w = np.random.default_rng(1).standard_normal((6, 4)) * 3
    nw, tw = nnzoo.tensor(w), torch.tensor(w)
    idx = np.array([[0, 2, 2], [5, 0, 1]])
    out_n = NF.embedding(nnzoo.tensor(idx), nw, max_norm=1.5, norm_type=3.0)
    out_t = TF.embedding(torch.tensor(idx), tw, max_norm=1.5, norm_type=3.0)
    np.testing.assert_allclose(out_n.numpy(), out_t.numpy(), rtol=1e-12)
    np.testing.assert_allclose(nw.numpy(), tw.numpy(), rtol=1e-12)  # rows 3, 4 untouched, the others renormed


@pytest.mark.parametrize("fn,kw", [(NF.dropout, {}), (NF.dropout1d, {}), (NF.dropout2d, {})])
def test_dropout_family_masks_scale_and_gradient(fn, kw):
    shape = (64, 16, 8) if fn is not NF.dropout2d else (64, 16, 4, 2)
    x = nnzoo.ones(shape, dtype=nnzoo.float64, requires_grad=True)
    y = fn(x, p=0.25, training=True, generator=nnzoo.Generator().manual_seed(3))
    vals = np.unique(y.detach().numpy())
    np.testing.assert_allclose(vals, [0.0, 1 / 0.75])
    kept = y.detach().numpy() != 0
    assert abs(kept.mean() - 0.75) < 0.02
    if fn is not NF.dropout:  # whole channels: constant over the trailing dims
        per_channel = kept.reshape(shape[0], shape[1], -1)[..., :1].reshape(shape[:2] + (1,) * (len(shape) - 2))
        assert np.all(kept == per_channel)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), y.detach().numpy())  # d(x * mask / (1 - p))/dx = mask / (1 - p)
    assert fn(x, p=0.25, training=False) is x
    assert not np.any(fn(x, p=1.0).detach().numpy())


def test_alpha_dropout_keeps_zero_mean_unit_variance_and_matches_formula():
    g = nnzoo.Generator().manual_seed(0)
    x = nnzoo.randn(200000, dtype=nnzoo.float64, generator=g, requires_grad=True)
    y = NF.alpha_dropout(x, p=0.2, training=True, generator=g)
    yt = y.detach().numpy()
    assert abs(yt.mean()) < 0.02 and abs(yt.std() - 1) < 0.02
    # kept entries are a * x + b; the torch values of a and b, recomputed from torch's own eval on p
    alpha = -1.7580993408473766
    a = ((1 - 0.2) * (1 + 0.2 * alpha ** 2)) ** -0.5
    b = -a * alpha * 0.2
    kept = np.isclose(yt, a * x.detach().numpy() + b)
    np.testing.assert_allclose(yt[~kept], a * alpha + b)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.where(kept, a, 0.0))
    assert torch.nn.AlphaDropout(0.2).p == 0.2  # the same public name and argument


def test_errors_name_the_op_and_shapes():
    with pytest.raises(RuntimeError, match=r"linear.*\(2, 3\).*\(4, 5\)"):
        NF.linear(nnzoo.ones(2, 3), nnzoo.ones(4, 5))
    with pytest.raises(IndexError, match="embedding"):
        NF.embedding(nnzoo.tensor([7]), nnzoo.ones(3, 2))
    with pytest.raises(RuntimeError, match="layer_norm"):
        NN.layer_norm(nnzoo.ones(2, 3), (4,))
    with pytest.raises(RuntimeError, match="group_norm"):
        NN.group_norm(nnzoo.ones(2, 3), 2)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        NN.batch_norm(nnzoo.ones(1, 3), None, None, training=True)
    with pytest.raises(ValueError, match="dropout probability"):
        NF.dropout(nnzoo.ones(2), p=1.5)


def test_linear_on_3d_and_non_contiguous_inputs_matches_torch():
    # the forward and the first-order backward merge the leading dims into one GEMM when they can
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 5, 6)).astype(np.float32)
    w = rng.standard_normal((3, 6)).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)
    for xa in (x, x.transpose(1, 0, 2)):  # contiguous, then rows that do not merge without a copy
        xn = nnzoo.tensor(np.ascontiguousarray(xa)).transpose(0, 1) if xa is not x else nnzoo.tensor(xa)
        xn = xn.detach().requires_grad_()
        xt = torch.tensor(xn.detach().numpy(), requires_grad=True)
        wn, wt = nnzoo.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
        yn = nnzoo.nn.functional.linear(xn, wn, nnzoo.tensor(b))
        yt = torch.nn.functional.linear(xt, wt, torch.tensor(b))
        np.testing.assert_allclose(yn.detach().numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-6)
        g = rng.standard_normal(yt.shape).astype(np.float32)
        yn.backward(nnzoo.tensor(g))
        yt.backward(torch.tensor(g))
        np.testing.assert_allclose(xn.grad.numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(wn.grad.numpy(), wt.grad.numpy(), rtol=1e-5, atol=1e-5)
