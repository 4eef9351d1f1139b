"""scaled_dot_product_attention (nnzoo/ops/attention.py): torch parity forward and backward through the op
harness (double backward included), the fused op against its composed reference, fully masked rows, dropout,
errors."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from helpers import OpCase, S, V, cases_params, check_op
from torch.nn.attention import SDPBackend, sdpa_kernel

import nnzoo
from nnzoo.ops.attention import ScaledDotProductAttention, scaled_dot_product_attention, sdpa_composed


def sdpa_case(name, q, k, v, *extra, **kw):
    """An OpCase calling SDPA on (q, k, v[, attn_mask]) with keyword options ``kw`` in both libraries."""
    def fn(lib, *ts):
        mask = ts[3] if len(ts) > 3 else None
        if lib is nnzoo:
            return scaled_dot_product_attention(ts[0], ts[1], ts[2], attn_mask=mask, **kw)
        # NOTE: torch's math kernel, its reference: the flash kernel it picks on CPU for some inputs has no
        # double backward, which the harness checks
        with sdpa_kernel(SDPBackend.MATH):
            return TF.scaled_dot_product_attention(ts[0], ts[1], ts[2], attn_mask=mask, **kw)
    return OpCase(name, fn, [q, k, v, *extra])


_RNG = np.random.default_rng(7)
_BOOL_MASK = _RNG.random((4, 6)) > 0.3
_BOOL_MASK[:, 0] = True  # every query sees at least one key
_BOOL_BATCH_MASK = _RNG.random((2, 1, 4, 6)) > 0.5
_BOOL_BATCH_MASK[..., 2] = True

CASES = [
    sdpa_case("basic_4d", S(2, 3, 4, 5), S(2, 3, 6, 5), S(2, 3, 6, 5)),
    sdpa_case("ev_ne_e", S(2, 3, 4, 5), S(2, 3, 6, 5), S(2, 3, 6, 7)),
    sdpa_case("unbatched_2d", S(4, 5), S(6, 5), S(6, 3)),
    sdpa_case("three_dims", S(3, 4, 5), S(3, 6, 5), S(3, 6, 2)),
    sdpa_case("five_dims", S(2, 2, 2, 3, 4), S(2, 2, 2, 5, 4), S(2, 2, 2, 5, 4)),
    sdpa_case("broadcast_batch", S(1, 4, 5), S(3, 6, 5), S(6, 7)),
    sdpa_case("lq_gt_lk", S(2, 7, 3), S(2, 4, 3), S(2, 4, 3)),
    sdpa_case("causal_square", S(2, 2, 5, 4), S(2, 2, 5, 4), S(2, 2, 5, 4), is_causal=True),
    sdpa_case("causal_lq_lt_lk", S(2, 4, 3), S(2, 6, 3), S(2, 6, 5), is_causal=True),
    sdpa_case("scale", S(2, 3, 4, 5), S(2, 3, 6, 5), S(2, 3, 6, 5), scale=0.7),
    sdpa_case("bool_mask_2d", S(2, 3, 4, 5), S(2, 3, 6, 5), S(2, 3, 6, 5), V(_BOOL_MASK)),
    sdpa_case("bool_mask_batch", S(2, 3, 4, 5), S(2, 3, 6, 5), S(2, 3, 6, 5), V(_BOOL_BATCH_MASK)),
    sdpa_case("float_mask", S(2, 3, 4, 5), S(2, 3, 6, 5), S(2, 3, 6, 5), S(4, 6, grad=False)),
    sdpa_case("float_mask_grad", S(2, 3, 4, 5), S(2, 3, 6, 5), S(2, 3, 6, 5), S(3, 1, 6)),
    sdpa_case("gqa", S(2, 6, 4, 5), S(2, 3, 6, 5), S(2, 3, 6, 7), enable_gqa=True),
    sdpa_case("gqa_one_kv_head", S(2, 4, 3, 5), S(2, 1, 6, 5), S(2, 1, 6, 5), enable_gqa=True),
]


@cases_params(CASES)
def test_sdpa_matches_torch(case):
    check_op(case)


def _fully_masked_case():
    mask = np.ones((4, 6), dtype=bool)
    mask[1] = False  # query 1 may attend to nothing
    return mask


@pytest.mark.parametrize("kind", ["bool", "float"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fully_masked_rows_give_zeros_like_torch(kind, dtype):
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal(s).astype(dtype) for s in ((2, 4, 5), (2, 6, 5), (2, 6, 3)))
    keep = _fully_masked_case()
    mask = keep if kind == "bool" else np.where(keep, 0.0, -np.inf).astype(dtype)
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    nq, nk, nv = (nnzoo.tensor(a, requires_grad=True) for a in (q, k, v))
    out_t = TF.scaled_dot_product_attention(tq, tk, tv, attn_mask=torch.tensor(mask))
    out_n = scaled_dot_product_attention(nq, nk, nv, attn_mask=nnzoo.tensor(mask))
    assert np.all(out_n.detach().numpy()[:, 1] == 0)
    np.testing.assert_allclose(out_n.detach().numpy(), out_t.detach().numpy(), rtol=1e-5, atol=1e-6)
    u = rng.standard_normal(out_t.shape).astype(dtype)
    (out_t * torch.tensor(u)).sum().backward()
    (out_n * nnzoo.tensor(u)).sum().backward()
    for a, b in ((nq, tq), (nk, tk), (nv, tv)):
        assert np.all(np.isfinite(a.grad.numpy()))
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-4, atol=1e-5)


# ---- the fused op against the composition it replaces ---------------------------------------------------
@pytest.mark.parametrize("mask_kind", [None, "bool", "float", "causal", "fully_masked"])
def test_fused_matches_composed(mask_kind):
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(s) for s in ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7))]
    mask, causal = None, mask_kind == "causal"
    if mask_kind == "bool":
        mask = nnzoo.tensor(_BOOL_MASK)
    elif mask_kind == "float":
        mask = nnzoo.tensor(rng.standard_normal((3, 4, 6)), requires_grad=True)
    elif mask_kind == "fully_masked":
        mask = nnzoo.tensor(_fully_masked_case())
    u = nnzoo.tensor(rng.standard_normal((2, 3, 4, 7)))
    grads = []
    for fn in (lambda *a, **kw: scaled_dot_product_attention(*a, **kw),
               lambda *a, **kw: sdpa_composed(*a, **kw)[0]):
        ins = [nnzoo.tensor(a, requires_grad=True) for a in arrays]
        if mask is not None and mask.requires_grad:
            mask.grad = None
        out = fn(*ins, attn_mask=mask, is_causal=causal)
        (out * u).sum().backward()
        grads.append([out.detach().numpy()] + [t.grad.numpy() for t in ins]
                     + ([mask.grad.numpy()] if mask is not None and mask.requires_grad else []))
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_fused_dropout_matches_composed_with_the_same_mask():
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal(s) for s in ((2, 4, 5), (2, 6, 5), (2, 6, 3))]
    p = 0.4
    nnzoo.manual_seed(123)
    ins = [nnzoo.tensor(a, requires_grad=True) for a in arrays]
    out = scaled_dot_product_attention(*ins, dropout_p=p)
    out.sum().backward()
    # the same random numbers, drawn again: the kept-and-rescaled mask the fused op used
    nnzoo.manual_seed(123)
    keep = (nnzoo.rand(2, 4, 6, dtype=nnzoo.float64) >= p).double() / (1 - p)
    ref_ins = [nnzoo.tensor(a, requires_grad=True) for a in arrays]
    ref, _ = sdpa_composed(*ref_ins, keep=keep)
    ref.sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-12, atol=1e-12)
    for a, b in zip(ins, ref_ins):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_dropout_statistics():
    """Each probability is zeroed with probability p and the rest scaled by 1 / (1 - p): with v = I the output
    is the dropped-out probability matrix itself."""
    n, p = 64, 0.3
    nnzoo.manual_seed(0)
    q = nnzoo.zeros(200, n, 4)  # uniform probabilities 1 / n
    k = nnzoo.zeros(200, n, 4)
    v = nnzoo.eye(n).expand(200, n, n)
    out = scaled_dot_product_attention(q, k, v, dropout_p=p).numpy()
    kept = out != 0
    assert abs(1 - kept.mean() - p) < 0.01
    np.testing.assert_allclose(out[kept], 1 / n / (1 - p), rtol=1e-6)
    assert abs(out.sum(-1).mean() - 1) < 0.01  # unbiased: the rows still sum to 1 on average
    np.testing.assert_array_equal(scaled_dot_product_attention(q, k, v, dropout_p=1.0).numpy(), 0)
    np.testing.assert_array_equal(scaled_dot_product_attention(q, k, v, dropout_p=0.0).numpy(),
                                  scaled_dot_product_attention(q, k, v).numpy())


def test_probabilities_sum_to_one_and_are_zero_where_masked():
    rng = np.random.default_rng(3)
    q, k, v = (nnzoo.tensor(rng.standard_normal(s)) for s in ((2, 4, 5), (2, 6, 5), (2, 6, 5)))
    _, p = sdpa_composed(q, k, v, attn_mask=nnzoo.tensor(_BOOL_MASK))
    p = p.numpy()
    np.testing.assert_allclose(p.sum(-1), 1.0, rtol=1e-12)
    assert np.all(p[:, ~_BOOL_MASK] == 0.0)
    # the fused op's weights output (MultiheadAttention's need_weights path) is the same matrix
    _, w = ScaledDotProductAttention.apply(q, k, v, _BOOL_MASK, 0.0, 1 / math.sqrt(5), True, True)
    np.testing.assert_allclose(w.numpy(), p, rtol=1e-12)


def test_errors_name_the_problem():
    q, k, v = nnzoo.randn(2, 4, 5), nnzoo.randn(2, 6, 5), nnzoo.randn(2, 6, 3)
    with pytest.raises(RuntimeError, match="Explicit attn_mask should not be set when is_causal=True"):
        scaled_dot_product_attention(q, k, v, attn_mask=nnzoo.ones(4, 6, dtype=nnzoo.bool), is_causal=True)
    with pytest.raises(RuntimeError, match=r"query \(2, 4, 5\) and key \(2, 6, 4\)"):
        scaled_dot_product_attention(q, nnzoo.randn(2, 6, 4), v)
    with pytest.raises(RuntimeError, match=r"key \(2, 6, 5\) and value \(2, 5, 3\)"):
        scaled_dot_product_attention(q, k, nnzoo.randn(2, 5, 3))
    with pytest.raises(RuntimeError, match="same dtype"):
        scaled_dot_product_attention(q, k.double(), v)
    with pytest.raises(RuntimeError, match="attn_mask dtype"):
        scaled_dot_product_attention(q, k, v, attn_mask=nnzoo.zeros(4, 6, dtype=nnzoo.float64))
    with pytest.raises(RuntimeError, match="does not broadcast"):
        scaled_dot_product_attention(q, k, v, attn_mask=nnzoo.zeros(3, 6))
    with pytest.raises(RuntimeError, match="do not broadcast"):
        scaled_dot_product_attention(nnzoo.randn(3, 4, 5), k, v)
    with pytest.raises(ValueError, match="dropout probability"):
        scaled_dot_product_attention(q, k, v, dropout_p=1.5)


# ---- the packed self-attention's gradients without concatenation ------------------------------------------------
def test_shared_grads_and_joined_last():
    """shared_grads places dq, dk, dv in one fresh array at q, k, v's offsets (only for disjoint views of one
    array); joined_last gives back that array for consecutive blocks and refuses anything else."""
    from nnzoo.kernels.attention import joined_last, shared_grads
    qkv = np.arange(2 * 3 * 12, dtype=np.float32).reshape(2, 3, 12)
    q, k, v = qkv[..., :4], qkv[..., 4:8], qkv[..., 8:]
    outs = shared_grads(q, k, v)
    assert outs is not None
    for o, a in zip(outs, (q, k, v)):
        o[...] = a  # writes land in the same places of the fresh array
    joined = joined_last(list(outs))
    np.testing.assert_array_equal(joined, qkv)
    assert joined.base is outs[0].base
    assert shared_grads(q, q, v) is None  # the same view twice
    assert shared_grads(q, qkv[..., 2:6], v) is None  # overlapping views
    assert shared_grads(q, k, v.copy()) is None  # another base
    assert joined_last([outs[0], outs[2], outs[1]]) is None  # not consecutive
    assert joined_last([q.copy(), k.copy(), v.copy()]) is None


def test_packed_self_attention_backward_matches_concatenation(monkeypatch):
    """nn.MultiheadAttention's self-attention gradients through the zero-copy path equal those through the
    concatenation (the path taken when joined_last refuses)."""
    from nnzoo.kernels import attention as KA
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 7, 16)).astype(np.float32)
    m = nnzoo.nn.MultiheadAttention(16, 4, batch_first=True)
    grads = []
    for refuse in (False, True):
        if refuse:
            monkeypatch.setattr(KA, "joined_last", lambda parts: None)
        xt = nnzoo.tensor(x, requires_grad=True)
        m.zero_grad()
        (m(xt, xt, xt)[0] ** 2).sum().backward()
        grads.append([xt.grad.numpy().copy(), m.in_proj_weight.grad.numpy().copy()])
    for a, b in zip(*grads):
        np.testing.assert_array_equal(a, b)
