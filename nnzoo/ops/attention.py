"""Attention math: ``scaled_dot_product_attention`` and ``multi_head_attention_forward`` (PyTorch's
``F.*``), stateless; ``nn.MultiheadAttention`` and the Transformer layers call them.

NOTE: the attention core softmax(q k^T * scale + mask) v is one fused op (``ScaledDotProductAttention``)
with a hand-written backward, instead of the composition matmul -> scale -> mask -> softmax -> dropout ->
matmul (``sdpa_composed`` below, kept as the reference). Fused, the (..., L, S) score matrix is made
once and rewritten in place (scale, mask, softmax), the backward needs no saved intermediate but the
probabilities, and the graph has one node instead of seven. Measured on the Transformer benchmark's
attention (32 x 4 heads, 64 x 64, head dim 32, float32), forward + backward on one core: 4.4 ms fused,
5.7 ms composed.
tests/ops/test_attention.py checks the fused op against the composed form, forward and backward, and
against PyTorch. The fused op's array code (the probabilities, the first-order backward) is in
:mod:`nnzoo.kernels.attention`.
"""
from __future__ import annotations

import math

import numpy as np

from .._args import shapes_str
from ..autograd.function import Op
from ..autograd.grad_mode import state
from ..backend import xp
from ..kernels import attention as K
from ..random import _gen
from ..tensor import Tensor
from . import shape as _shape
from .index import masked_fill
from .linalg import matmul
from .nn import dropout as _dropout
from .nn import linear
from .reduce import softmax, sum_to

_make = Tensor._make

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward", "sdpa_composed"]


def _mT(t):
    return _shape.transpose(t, -1, -2)


# ---- the fused op ------------------------------------------------------------------------------------
class ScaledDotProductAttention(Op):
    """out = (softmax(q k^T * scale + mask) * keep) v, the softmax over the last dim (keys).

    q (..., L, E), k (..., S, E), v (..., S, Ev); mask None, a bool array (True = take part) or a float
    array/Tensor added to the scores, broadcastable to (..., L, S); keep is dropout's kept-and-rescaled
    mask (or None). With ``safe`` a row whose scores are all -inf (fully masked) gives probabilities 0
    (PyTorch's SDPA); without, NaN (a plain softmax, what MultiheadAttention with need_weights gives).
    With ``weights`` the op also returns the (dropped-out) probabilities as a second output.

    Backward, with P the probabilities, Pd = P * keep and g the output gradient (gw the weights'):
        dv = Pd^T g;  dPd = g v^T + gw;  dP = dPd * keep;  dS = P * (dP - sum(dP * P, keys));
        dmask = dS;  dq = dS k * scale;  dk = dS^T q * scale   (each summed over broadcast dims).
    """

    @staticmethod
    def forward(ctx, q, k, v, mask, dropout_p, scale, safe, weights):
        p = K.probabilities(q, k, mask, scale, safe)
        keep = None
        if dropout_p > 0.0:
            if dropout_p >= 1.0:
                keep = xp.zeros(p.shape, dtype=p.dtype)
            else:
                keep = (_gen(None).random(p.shape, dtype=p.dtype) >= dropout_p).astype(p.dtype)
                keep *= p.dtype.type(1.0 / (1.0 - dropout_p))
        pd = p if keep is None else p * keep
        out_shape = xp.broadcast_shapes(pd.shape[:-2], v.shape[:-2]) + (pd.shape[-2], v.shape[-1])
        out = K.matmul_like(pd, v, q, out_shape) if out_shape == q.shape else xp.matmul(pd, v)
        ctx.scale, ctx.keep, ctx.safe = scale, keep, safe
        ctx.shapes = q.shape, k.shape, v.shape, None if mask is None else mask.shape
        ctx.mask = mask if mask is not None and mask.dtype == np.bool_ else None
        ctx.save_for_backward(q, k, v, None if mask is None or mask.dtype == np.bool_ else mask, p)
        return (out, pd) if weights else out

    @staticmethod
    def backward(ctx, grad, grad_weights=None):
        q, k, v, fmask, p = ctx.saved_tensors
        need = ctx.needs_input_grad
        if not state.enabled:  # first-order backward: plain arrays, no graph to build
            gw = None if grad_weights is None else grad_weights._data
            grads = K.sdpa_backward(q._data, k._data, v._data, p._data, ctx.keep, grad._data, gw, ctx.scale,
                                    ctx.shapes, need)
            return tuple(None if a is None else _make(a) for a in grads) + (None, None, None, None)
        # a graph of the backward (double backward): the probabilities recomputed with Tensor ops so
        # that they, too, are differentiable in q, k and the mask
        mask = fmask if fmask is not None else (None if ctx.mask is None else _make(ctx.mask))
        p = _probabilities(q, k, mask, ctx.scale, ctx.safe)
        keep = None if ctx.keep is None else _make(ctx.keep)
        pd = p if keep is None else p * keep
        sq, sk, sv, sm = ctx.shapes
        gq = gk = gv = gm = None
        if need[2]:
            gv = sum_to(matmul(_mT(pd), grad), sv)
        if need[0] or need[1] or need[3]:
            dp = matmul(grad, _mT(v))
            if grad_weights is not None:
                dp = dp + grad_weights
            if keep is not None:
                dp = dp * keep
            t = dp * p
            ds = t - p * t.sum(-1, keepdim=True)
            if need[3]:
                gm = sum_to(ds, sm)
            ds = ds * ctx.scale
            if need[0]:
                gq = sum_to(matmul(ds, k), sq)
            if need[1]:
                gk = sum_to(matmul(_mT(ds), q), sk)
        return gq, gk, gv, gm, None, None, None, None


# ---- the composed reference --------------------------------------------------------------------------
def _probabilities(q, k, mask, scale, safe):
    """softmax(q k^T * scale + mask) with Tensor ops (mask: None, bool Tensor True = take part, or float
    Tensor added); with ``safe``, rows that are entirely -inf give 0 instead of NaN."""
    s = matmul(q, _mT(k)) * scale
    if mask is not None:
        if mask._data.dtype == np.bool_:
            s = masked_fill(s, _make(~mask._data), float("-inf"))
        else:
            s = s + mask
    if not safe:
        return softmax(s, -1)
    dead = xp.isneginf(s._data).all(axis=-1, keepdims=True)
    if not dead.any():
        return softmax(s, -1)
    s = masked_fill(s, _make(dead), 0.0)  # NOTE: softmax of a row of -inf is NaN, and so is its gradient
    return masked_fill(softmax(s, -1), _make(dead), 0.0)


def sdpa_composed(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None = None,
                  dropout_p: float = 0.0, is_causal: bool = False, scale: float | None = None, safe: bool = True,
                  keep: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """The reference composition of ``scaled_dot_product_attention`` from primitives (matmul, masked_fill,
    softmax, mul): what the fused op must equal. ``keep`` is an explicit dropout mask (kept and rescaled)
    instead of ``dropout_p``. Returns (output, probabilities after dropout).

    Example::

        >>> from nnzoo.ops.attention import sdpa_composed
        >>> out, p = sdpa_composed(nnzoo.ones(2, 3), nnzoo.ones(4, 3), nnzoo.ones(4, 5))
        >>> out.shape, p.sum(-1)
        (nnzoo.Size([2, 5]), tensor([1., 1.]))
    """
    e = query.shape[-1]
    scale = 1.0 / math.sqrt(e) if scale is None else scale
    if is_causal:
        attn_mask = _make(xp.tri(query.shape[-2], key.shape[-2], dtype=bool))
    p = _probabilities(query, key, attn_mask, scale, safe)
    if keep is not None:
        p = p * keep
    elif dropout_p > 0.0:
        p = _dropout(p, dropout_p)
    return matmul(p, value), p


# ---- scaled_dot_product_attention ------------------------------------------------------------------
def _check_sdpa(query, key, value, attn_mask, dropout_p):
    op = "scaled_dot_product_attention"
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}(): argument '{name}' must be Tensor, not {type(t).__name__}")
        if t.ndim < 2:
            raise RuntimeError(f"{op}: {name} must have at least 2 dims (..., seq, features), got shape "
                               f"{tuple(t.shape)}")
    dq, dk, dv = query._data.dtype, key._data.dtype, value._data.dtype
    if not dq == dk == dv:
        raise RuntimeError(f"{op}: expected query, key, and value to have the same dtype, but got query.dtype: "
                           f"{query.dtype} key.dtype: {key.dtype} and value.dtype: {value.dtype} instead")
    if dq.kind != "f":
        raise RuntimeError(f"{op}: expected floating-point query, key and value, got {query.dtype}")
    if query.shape[-1] != key.shape[-1]:
        raise RuntimeError(f"{op}: query {tuple(query.shape)} and key {tuple(key.shape)}: the last dims "
                           f"(embedding sizes) {query.shape[-1]} and {key.shape[-1]} differ")
    if key.shape[-2] != value.shape[-2]:
        raise RuntimeError(f"{op}: key {tuple(key.shape)} and value {tuple(value.shape)}: the sequence "
                           f"lengths {key.shape[-2]} and {value.shape[-2]} differ")
    try:
        # host: shape arithmetic
        batch = np.broadcast_shapes(query.shape[:-2], key.shape[:-2], value.shape[:-2])
    except ValueError:
        raise RuntimeError(f"{op}: the batch dims of query, key and value ({shapes_str(query, key, value, sep=', ')}) "
                           "do not broadcast") from None
    if attn_mask is not None:
        # host: the dtype of a mask given as a list or a NumPy array
        md = attn_mask._data.dtype if isinstance(attn_mask, Tensor) else np.asarray(attn_mask).dtype
        if md != np.bool_ and md != dq:
            raise RuntimeError(f"{op}: expected attn_mask dtype to be bool or float or to match query dtype, "
                               f"but got attn_mask.dtype: {md} and query.dtype: {dq} instead")
        scores = batch + (query.shape[-2], key.shape[-2])
        try:
            np.broadcast_shapes(scores, tuple(attn_mask.shape))  # host: shape arithmetic
        except ValueError:
            raise RuntimeError(f"{op}: attn_mask of shape {tuple(attn_mask.shape)} does not broadcast to the "
                               f"attention scores' shape {scores}") from None
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {dropout_p}")


def _repeat_kv(t, groups):
    """(..., Hk, S, E) -> (..., Hk * groups, S, E), each head repeated ``groups`` times in a row
    (``repeat_interleave`` along the heads: query head h uses key/value head h // groups)."""
    shape = tuple(t.shape)
    t = _shape.unsqueeze(t, -3)
    t = _shape.expand(t, *(shape[:-2] + (groups,) + shape[-2:]))
    return _shape.reshape(t, *(shape[:-3] + (shape[-3] * groups,) + shape[-2:]))


def _as_mask(attn_mask):
    """A bool mask as a raw array (a constant), a float mask as the Tensor itself (it may need a grad)."""
    if attn_mask is None:
        return None
    if not isinstance(attn_mask, Tensor):
        return xp.asarray(attn_mask)
    return attn_mask._data if attn_mask._data.dtype == np.bool_ else attn_mask


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None = None,
                                 dropout_p: float = 0.0, is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(Q K^T * scale + mask) V, with dropout on the probabilities; scale defaults to 1/sqrt(E).

    Args:
        query (..., L, E), key (..., S, E), value (..., S, Ev): batch dims broadcast.
        attn_mask: bool (True = the position takes part) or float (added to the scores), broadcastable
            to (..., L, S). A row that masks every key gives zeros (PyTorch's behaviour).
        dropout_p: dropout on the attention probabilities (always applied when > 0: pass 0.0 in eval).
        is_causal: query i attends to keys 0..i only (top-left aligned when L != S); not with attn_mask.
        scale: the factor of the scores (default 1 / sqrt(E)).
        enable_gqa: grouped-query attention: key/value with Hk heads (dim -3) serve Hq = g * Hk query heads.

    Shape: output (..., L, Ev).

    Example::

        >>> import nnzoo.nn.functional as F
        >>> from nnzoo.ops.attention import scaled_dot_product_attention
        >>> q, k, v = nnzoo.randn(2, 4, 5, 8), nnzoo.randn(2, 4, 6, 8), nnzoo.randn(2, 4, 6, 3)
        >>> scaled_dot_product_attention(q, k, v, is_causal=True).shape
        nnzoo.Size([2, 4, 5, 3])
    """
    if enable_gqa and all(isinstance(t, Tensor) and t.ndim >= 3 for t in (query, key, value)):
        hq, hk, hv = query.shape[-3], key.shape[-3], value.shape[-3]
        if hq % hk or hq % hv:
            raise RuntimeError(f"scaled_dot_product_attention: with enable_gqa the number of query heads {hq} "
                               f"must be a multiple of the key heads {hk} and value heads {hv}")
        if hk != hq:
            key = _repeat_kv(key, hq // hk)
        if hv != hq:
            value = _repeat_kv(value, hq // hv)
    _check_sdpa(query, key, value, attn_mask, dropout_p)
    if is_causal:
        if attn_mask is not None:
            raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set when "
                               "is_causal=True")
        attn_mask = xp.tri(query.shape[-2], key.shape[-2], dtype=bool)
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    return ScaledDotProductAttention.apply(query, key, value, _as_mask(attn_mask), float(dropout_p), scale,
                                           True, False)


# ---- multi-head attention ------------------------------------------------------------------------------
def _float_mask(mask, dtype, name):
    """PyTorch's canonical mask: a bool mask (True = masked out) becomes 0 / -inf of ``dtype``; a float
    mask is kept (as a Tensor)."""
    if mask is None:
        return None
    if not isinstance(mask, Tensor):
        mask = _make(xp.asarray(mask))
    kind = mask._data.dtype.kind
    if kind == "b":
        arr = xp.zeros(mask._data.shape, dtype=dtype)
        arr[mask._data] = -xp.inf
        return _make(arr)
    if kind != "f":
        raise AssertionError(f"only bool and floating types of {name} are supported")
    return mask


def _heads(x, n_heads, batch_first):
    """(B, T, E) if batch_first else (T, B, E) -> (B, H, T, E / H), a view."""
    if batch_first:
        b, t, e = x.shape
        return _shape.transpose(_shape.reshape(x, b, t, n_heads, e // n_heads), 1, 2)
    t, b, e = x.shape
    return _shape.permute(_shape.reshape(x, t, b, n_heads, e // n_heads), 1, 2, 0, 3)


def _merge_heads(o, batch_first):
    """(B, H, T, D) -> (B, T, H * D) if batch_first else (T, B, H * D)."""
    b, h, t, d = o.shape
    if batch_first:
        return _shape.reshape(_shape.transpose(o, 1, 2), b, t, h * d)
    return _shape.reshape(_shape.permute(o, 2, 0, 1, 3), t, b, h * d)


def _linear_2d(x, w, b):
    """linear() on the rows of x: (..., in) -> (..., out) through one 2-D GEMM.

    NOTE: NumPy's matmul of a 3-D array by a matrix runs one small GEMM per leading index; flattened to
    2-D it is one GEMM, 2.3x faster for (32, 64, 128) @ (128, 384). The reshapes are views when x is
    contiguous (else reshape copies, which costs less than the per-slice GEMMs)."""
    if x.ndim == 2:
        return linear(x, w, b)
    lead = tuple(x.shape[:-1])
    return _shape.reshape(linear(_shape.reshape(x, -1, x.shape[-1]), w, b), *lead, w.shape[0])


class _PackedSplit(Op):
    """q, k, v = the three equal column blocks of the packed self-attention projection qkv (..., 3E), as views
    (``chunk(qkv, 3, -1)``). Backward: the gradients' common array when they already are its consecutive blocks
    (the attention backward writes them so, :func:`nnzoo.kernels.attention.shared_grads`), else their
    concatenation, as ``chunk``'s.

    NOTE: without it the backward concatenated dq, dk, dv into a new (B, T, 3E) array each layer (~400 us at
    transformer_step's (32, 64, 384))."""

    is_view = True

    @staticmethod
    def forward(ctx, x):
        e = x.shape[-1] // 3
        return x[..., :e], x[..., e:2 * e], x[..., 2 * e:]

    @staticmethod
    def backward(ctx, *grads):
        if not state.enabled:
            joined = K.joined_last([g._data for g in grads])
            if joined is not None:
                return (_make(joined),)
        return (_shape.Cat.apply(grads[0].ndim - 1, None, *grads),)


def _in_projection(query, key, value, embed_dim, in_proj_weight, in_proj_bias, q_proj_weight,
                   k_proj_weight, v_proj_weight, separate):
    """q, k, v = the input projections. Self-attention (query is key is value) runs one GEMM for all three
    (PyTorch's packed in_proj_weight (3E, E)) and splits its output; encoder-decoder attention (key is
    value) one for q and one for k, v."""
    e = embed_dim
    if separate:
        bq = bk = bv = None
        if in_proj_bias is not None:
            bq, bk, bv = _shape.chunk(in_proj_bias, 3)
        return (_linear_2d(query, q_proj_weight, bq), _linear_2d(key, k_proj_weight, bk),
                _linear_2d(value, v_proj_weight, bv))
    w, b = in_proj_weight, in_proj_bias
    if key is value and query is key:
        qkv = _linear_2d(query, w, b)
        return _PackedSplit.apply(qkv) if qkv.shape[-1] == 3 * e else _shape.chunk(qkv, 3, -1)
    if key is value:
        wq, wkv = _shape.split(w, [e, 2 * e])
        bq, bkv = (None, None) if b is None else _shape.split(b, [e, 2 * e])
        kv = _linear_2d(key, wkv, bkv)
        return (_linear_2d(query, wq, bq),) + tuple(_shape.chunk(kv, 2, -1))
    wq, wk, wv = _shape.chunk(w, 3)
    bq = bk = bv = None
    if b is not None:
        bq, bk, bv = _shape.chunk(b, 3)
    return _linear_2d(query, wq, bq), _linear_2d(key, wk, bk), _linear_2d(value, wv, bv)


def _check_mha_shapes(query, key, value, key_padding_mask, attn_mask, num_heads):
    """PyTorch's _mha_shape_check: returns whether the input is batched (3-D) or not (2-D)."""
    if query.dim() == 3:
        if key.dim() != 3 or value.dim() != 3:
            raise AssertionError("For batched (3-D) `query`, expected `key` and `value` to be 3-D but found "
                                 f"{key.dim()}-D and {value.dim()}-D tensors respectively")
        if key_padding_mask is not None and key_padding_mask.dim() != 2:
            raise AssertionError("For batched (3-D) `query`, expected `key_padding_mask` to be `None` or 2-D "
                                 f"but found {key_padding_mask.dim()}-D tensor instead")
        if attn_mask is not None and attn_mask.dim() not in (2, 3):
            raise AssertionError("For batched (3-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D but "
                                 f"found {attn_mask.dim()}-D tensor instead")
        return True
    if query.dim() == 2:
        if key.dim() != 2 or value.dim() != 2:
            raise AssertionError("For unbatched (2-D) `query`, expected `key` and `value` to be 2-D but found "
                                 f"{key.dim()}-D and {value.dim()}-D tensors respectively")
        if key_padding_mask is not None and key_padding_mask.dim() != 1:
            raise AssertionError("For unbatched (2-D) `query`, expected `key_padding_mask` to be `None` or 1-D "
                                 f"but found {key_padding_mask.dim()}-D tensor instead")
        if attn_mask is not None:
            if attn_mask.dim() not in (2, 3):
                raise AssertionError("For unbatched (2-D) `query`, expected `attn_mask` to be `None`, 2-D or "
                                     f"3-D but found {attn_mask.dim()}-D tensor instead")
            want = (num_heads, query.shape[0], key.shape[0])
            if attn_mask.dim() == 3 and tuple(attn_mask.shape) != want:
                raise AssertionError(f"Expected `attn_mask` shape to be {want} but got {tuple(attn_mask.shape)}")
        return False
    raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but received {query.dim()}-D "
                         "query tensor")


def _mha(query, key, value, embed_dim_to_check, num_heads, in_proj_weight, in_proj_bias, bias_k, bias_v,
         add_zero_attn, dropout_p, out_proj_weight, out_proj_bias, training=True, key_padding_mask=None,
         need_weights=True, attn_mask=None, use_separate_proj_weight=False, q_proj_weight=None,
         k_proj_weight=None, v_proj_weight=None, average_attn_weights=True, is_causal=False,
         batch_first=False):
    """multi_head_attention_forward in either layout: (B, T, E) when batch_first, else (T, B, E)."""
    batched = _check_mha_shapes(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not batched:  # pretend batched: a batch of one (keeping which of query, key, value are the same)
        bdim = 0 if batch_first else 1
        same_qk, same_kv = query is key, key is value
        query = _shape.unsqueeze(query, bdim)
        key = query if same_qk else _shape.unsqueeze(key, bdim)
        value = key if same_kv else _shape.unsqueeze(value, bdim)
        if key_padding_mask is not None:
            key_padding_mask = _shape.unsqueeze(key_padding_mask, 0)
    bd, sd = (0, 1) if batch_first else (1, 0)
    bsz, tgt_len, embed_dim = query.shape[bd], query.shape[sd], query.shape[2]
    src_len = key.shape[sd]
    dtype = query._data.dtype
    key_padding_mask = _float_mask(key_padding_mask, dtype, "key_padding_mask")
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the Transformer module "
                           "method `generate_square_subsequent_mask` to create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None  # the hint alone: SDPA's causal mask
    else:
        attn_mask = _float_mask(attn_mask, dtype, "attn_mask")
        if key_padding_mask is not None:
            is_causal = False
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if tuple(key.shape[:2]) != tuple(value.shape[:2]):
            raise AssertionError(f"key's sequence and batch dims {tuple(key.shape[:2])} do not match value's "
                                 f"{tuple(value.shape[:2])}")
    elif tuple(key.shape) != tuple(value.shape):
        raise AssertionError(f"key shape {tuple(key.shape)} does not match value shape {tuple(value.shape)}")

    q, k, v = _in_projection(query, key, value, embed_dim, in_proj_weight, in_proj_bias, q_proj_weight,
                             k_proj_weight, v_proj_weight, use_separate_proj_weight)

    if attn_mask is not None:  # -> (1 or B, 1 or H, L, S), broadcastable to the scores
        if attn_mask.dim() == 2:
            if tuple(attn_mask.shape) != (tgt_len, src_len):
                raise RuntimeError(f"The shape of the 2D attn_mask is {tuple(attn_mask.shape)}, but should be "
                                   f"{(tgt_len, src_len)}.")
            attn_mask = _shape.reshape(attn_mask, 1, 1, tgt_len, src_len)
        elif attn_mask.dim() == 3:
            if tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src_len):
                raise RuntimeError(f"The shape of the 3D attn_mask is {tuple(attn_mask.shape)}, but should be "
                                   f"{(bsz * num_heads, tgt_len, src_len)}.")
            attn_mask = _shape.reshape(attn_mask, bsz, num_heads, tgt_len, src_len)
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.dim()} is not supported")

    if bias_k is not None and bias_v is not None:  # one more key/value: the learned biases
        k = _shape.cat([k, _bias_row(bias_k, bsz, batch_first)], sd)
        v = _shape.cat([v, _bias_row(bias_v, bsz, batch_first)], sd)
        attn_mask = _pad_last(attn_mask)
        key_padding_mask = _pad_last(key_padding_mask)
    elif bias_k is not None or bias_v is not None:
        raise AssertionError("bias_k is set but bias_v is None" if bias_k is not None else
                             "bias_v is set but bias_k is None")

    q, k, v = (_heads(t, num_heads, batch_first) for t in (q, k, v))  # (B, H, T, D)
    if add_zero_attn:  # one more key/value of zeros
        zeros = _make(xp.zeros((bsz, num_heads, 1, head_dim), dtype=dtype))
        k = _shape.cat([k, zeros], 2)
        v = _shape.cat([v, zeros], 2)
        attn_mask = _pad_last(attn_mask)
        key_padding_mask = _pad_last(key_padding_mask)
    src_len = k.shape[2]
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (bsz, src_len):
            raise AssertionError(f"Expected key_padding_mask of shape {(bsz, src_len)}, but got "
                                 f"{tuple(key_padding_mask.shape)}")
        kpm = _shape.reshape(key_padding_mask, bsz, 1, 1, src_len)
        attn_mask = kpm if attn_mask is None else attn_mask + kpm
    if not training:
        dropout_p = 0.0

    scale = 1.0 / math.sqrt(head_dim)
    mask = attn_mask
    if is_causal and mask is None:
        mask = xp.tri(tgt_len, src_len, dtype=bool)
    res = ScaledDotProductAttention.apply(q, k, v, mask, float(dropout_p), scale, not need_weights,
                                          need_weights)
    out, weights = res if need_weights else (res, None)
    out = _linear_2d(_merge_heads(out, batch_first), out_proj_weight, out_proj_bias)
    if need_weights and average_attn_weights:
        weights = weights.mean(1)
    if not batched:
        out = _shape.squeeze(out, bd)
        if weights is not None:
            weights = _shape.squeeze(weights, 0)
    return out, weights


def _bias_row(bias, bsz, batch_first):
    """bias_k / bias_v (1, 1, E) repeated over the batch: (B, 1, E) if batch_first else (1, B, E)."""
    e = bias.shape[-1]
    return _shape.expand(bias, bsz, 1, e) if batch_first else _shape.expand(bias, 1, bsz, e)


def _pad_last(mask):
    """A float mask with one more key (a 0 column) at the end."""
    if mask is None:
        return None
    return _shape.pad(mask, (0, 1))


def multi_head_attention_forward(
        query: Tensor, key: Tensor, value: Tensor, embed_dim_to_check: int, num_heads: int,
        in_proj_weight: Tensor | None, in_proj_bias: Tensor | None, bias_k: Tensor | None, bias_v: Tensor | None,
        add_zero_attn: bool, dropout_p: float, out_proj_weight: Tensor, out_proj_bias: Tensor | None,
        training: bool = True, key_padding_mask: Tensor | None = None, need_weights: bool = True,
        attn_mask: Tensor | None = None, use_separate_proj_weight: bool = False, q_proj_weight: Tensor | None = None,
        k_proj_weight: Tensor | None = None, v_proj_weight: Tensor | None = None, static_k: Tensor | None = None,
        static_v: Tensor | None = None, average_attn_weights: bool = True,
        is_causal: bool = False) -> tuple[Tensor, Tensor | None]:
    """Multi-head attention, PyTorch's functional form: heads_i = SDPA(q W_q^i, k W_k^i, v W_v^i), output
    concat(heads) W_o^T + b_o. Sequence-first layout; see ``nn.MultiheadAttention`` for the arguments.

    Masks: key_padding_mask (B, S) and attn_mask (L, S) or (B * H, L, S), bool (True = masked out) or
    float (added). Returns (output, weights): weights (B, L, S) averaged over heads, (B, H, L, S) with
    average_attn_weights=False, None with need_weights=False.

    Shape: query (L, B, E) or (L, E); key (S, B, kdim); value (S, B, vdim); output (L, B, E).

    Example::

        >>> from nnzoo.ops.attention import multi_head_attention_forward
        >>> x, w, o = nnzoo.randn(5, 2, 8), nnzoo.randn(24, 8), nnzoo.randn(8, 8)
        >>> out, weights = multi_head_attention_forward(x, x, x, 8, 2, w, None, None, None, False, 0.0, o, None)
        >>> out.shape, weights.shape
        (nnzoo.Size([5, 2, 8]), nnzoo.Size([2, 5, 5]))
    """
    if static_k is not None or static_v is not None:
        raise NotImplementedError("multi_head_attention_forward: static_k / static_v are not supported")
    return _mha(query, key, value, embed_dim_to_check, num_heads, in_proj_weight, in_proj_bias, bias_k, bias_v,
                add_zero_attn, dropout_p, out_proj_weight, out_proj_bias, training, key_padding_mask,
                need_weights, attn_mask, use_separate_proj_weight, q_proj_weight, k_proj_weight, v_proj_weight,
                average_attn_weights, is_causal, batch_first=False)
