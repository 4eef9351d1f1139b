"""Attention layers: ``MultiheadAttention`` (PyTorch's, same parameters and state_dict keys), and the
additive (``BahdanauAttention``) and multiplicative (``LuongAttention``) attention of the seq2seq papers.

NOTE: the seq2seq modules own their weights in ``Linear`` submodules (their state_dict keys) but apply them
through ``_linear_2d``: one 2-D GEMM over all rows instead of NumPy's one GEMM per leading index of a 3-D/4-D
input."""
from __future__ import annotations

import numpy as np

from .. import creation, dtypes
from ..autograd.arrays import as_array, wrap
from ..ops import shape as _shape
from ..ops.attention import _linear_2d, _mha
from ..ops.index import masked_fill
from ..ops.linalg import matmul
from ..ops.reduce import softmax
from ..ops.unary import tanh
from ..tensor import Tensor
from . import init
from .linear import Linear
from .module import Module
from .parameter import Parameter

__all__ = ["MultiheadAttention", "BahdanauAttention", "LuongAttention"]


class NonDynamicallyQuantizableLinear(Linear):
    """A plain ``Linear`` (PyTorch's name for MultiheadAttention's ``out_proj``; quantization does not exist
    here)."""


class MultiheadAttention(Module):
    """MultiHead(Q, K, V) = concat(head_1, ..., head_h) W_o^T + b_o, head_i = softmax(Q_i K_i^T / sqrt(d)) V_i,
    with Q_i, K_i, V_i the i-th slices of the projections Q W_q^T + b_q, K W_k^T + b_k, V W_v^T + b_v.

    Args:
        embed_dim: model width E (split into num_heads heads of E / num_heads).
        num_heads: number of heads.
        dropout: dropout on the attention probabilities (training only). bias: biases of the projections.
        add_bias_kv: learn one more key and value (``bias_k``, ``bias_v``) appended to the sequence.
        add_zero_attn: append a key and value of zeros.
        kdim, vdim: key / value feature sizes (default embed_dim); when they differ from embed_dim the
            projections are separate ``q_proj_weight``, ``k_proj_weight``, ``v_proj_weight`` instead of the
            packed ``in_proj_weight`` (3E, E).
        batch_first: inputs and outputs are (B, T, E) instead of (T, B, E).

    forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False) -> (output, weights): key_padding_mask (B, S) and attn_mask
    (L, S) or (B * num_heads, L, S), bool (True = not attended) or float (added to the scores); weights
    (B, L, S) averaged over the heads, (B, num_heads, L, S) with average_attn_weights=False, or None with
    need_weights=False. Unbatched inputs (L, E) work too.

    Initialisation (PyTorch's): xavier_uniform_ on the input projections, zeros on their bias and on
    out_proj's bias, xavier_normal_ on bias_k / bias_v.

    Shape: query (L, B, E) or (B, L, E) with batch_first; key (S, B, kdim); value (S, B, vdim).

    Example::

        >>> from nnzoo.nn.attention import MultiheadAttention
        >>> mha = MultiheadAttention(16, 4, batch_first=True)
        >>> x = nnzoo.randn(2, 5, 16)
        >>> out, weights = mha(x, x, x)
        >>> out.shape, weights.shape
        (nnzoo.Size([2, 5, 16]), nnzoo.Size([2, 5, 5]))
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, device: str | None = None,
                 dtype: dtypes.dtype | None = None) -> None:
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got embed_dim={embed_dim} and "
                             f"num_heads={num_heads} instead")
        super().__init__()
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != embed_dim:
            raise AssertionError("embed_dim must be divisible by num_heads")

        def empty(*shape):
            return Parameter(creation.empty(*shape, dtype=dtype, device=device))

        if not self._qkv_same_embed_dim:
            self.q_proj_weight = empty(embed_dim, embed_dim)
            self.k_proj_weight = empty(embed_dim, self.kdim)
            self.v_proj_weight = empty(embed_dim, self.vdim)
            self.register_parameter("in_proj_weight", None)
        else:
            self.in_proj_weight = empty(3 * embed_dim, embed_dim)
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        if bias:
            self.in_proj_bias = empty(3 * embed_dim)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias, device=device, dtype=dtype)
        if add_bias_kv:
            self.bias_k = empty(1, 1, embed_dim)
            self.bias_v = empty(1, 1, embed_dim)
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self):
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
        if self.bias_v is not None:
            init.xavier_normal_(self.bias_v)

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Tensor | None = None,
                need_weights: bool = True, attn_mask: Tensor | None = None, average_attn_weights: bool = True,
                is_causal: bool = False) -> tuple[Tensor, Tensor | None]:
        batched = query.dim() == 3
        return _mha(query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight, self.in_proj_bias,
                    self.bias_k, self.bias_v, self.add_zero_attn, self.dropout, self.out_proj.weight,
                    self.out_proj.bias, training=self.training, key_padding_mask=key_padding_mask,
                    need_weights=need_weights, attn_mask=attn_mask,
                    use_separate_proj_weight=not self._qkv_same_embed_dim, q_proj_weight=self.q_proj_weight,
                    k_proj_weight=self.k_proj_weight, v_proj_weight=self.v_proj_weight,
                    average_attn_weights=average_attn_weights, is_causal=is_causal,
                    batch_first=self.batch_first and batched)


# ---- seq2seq attention ------------------------------------------------------------------------------
def _check_attention_inputs(op, query, keys, values, mask, query_dim, key_dim):
    if query.ndim not in (2, 3) or query.shape[-1] != query_dim:
        raise RuntimeError(f"{op}: expected query of shape (B, {query_dim}) or (B, Lq, {query_dim}), got "
                           f"{tuple(query.shape)}")
    if keys.ndim != 3 or keys.shape[-1] != key_dim or keys.shape[0] != query.shape[0]:
        raise RuntimeError(f"{op}: expected keys of shape ({query.shape[0]}, Lk, {key_dim}), got "
                           f"{tuple(keys.shape)} (query {tuple(query.shape)})")
    if values is not None and (values.ndim != 3 or tuple(values.shape[:2]) != tuple(keys.shape[:2])):
        raise RuntimeError(f"{op}: expected values of shape {tuple(keys.shape[:2])} + (Dv,), got "
                           f"{tuple(values.shape)} (keys {tuple(keys.shape)})")
    if mask is not None and tuple(mask.shape) != tuple(keys.shape[:2]):
        raise RuntimeError(f"{op}: expected a mask of shape {tuple(keys.shape[:2])} (B, Lk), got "
                           f"{tuple(mask.shape)}")


def _attend(scores, values, mask, single):
    """weights = softmax over the keys of the scores (B, Lq, Lk), with invalid keys (mask False) at -inf
    (weight exactly 0); context = weights @ values. A query of one step (``single``) drops the Lq dim."""
    if mask is not None:
        valid = as_array(mask)
        if valid.dtype != np.bool_:
            raise RuntimeError(f"attention: the mask must be bool (True = valid key), got {valid.dtype}")
        scores = masked_fill(scores, wrap(~valid[:, None, :]), float("-inf"))
    weights = softmax(scores, -1)  # (B, Lq, Lk)
    context = matmul(weights, values)  # (B, Lq, Dv)
    if single:
        return _shape.squeeze(context, 1), _shape.squeeze(weights, 1)
    return context, weights


class BahdanauAttention(Module):
    """Additive attention (Bahdanau et al., 2014): e_ij = v^T tanh(W1 h_j + W2 s_i), alpha_i = softmax_j(e_i),
    c_i = sum_j alpha_ij h_j (h: the keys, the encoder states; s: the query, the decoder state).

    Args:
        query_dim: size of s; key_dim: size of h; hidden_dim: size of the tanh layer.

    Parameters: ``w1`` (Linear(key_dim, hidden_dim), no bias), ``w2`` (Linear(query_dim, hidden_dim), its bias
    the one bias of the tanh layer), ``v`` (Linear(hidden_dim, 1), no bias).

    forward(query, keys, values=None, mask=None, projected_keys=None) -> (context, weights): values default
    to the keys; mask (B, Lk) bool, True = a valid key (padding gets weight exactly 0; a query with no valid
    key gets NaN, like any softmax of nothing). ``projected_keys = attn.project_keys(keys)`` computed once
    saves recomputing W1 h at every decoder step.

    Shape: query (B, Dq) or (B, Lq, Dq); keys (B, Lk, Dk); values (B, Lk, Dv);
    context (B, Dv) or (B, Lq, Dv); weights (B, Lk) or (B, Lq, Lk).

    Example::

        >>> from nnzoo.nn.attention import BahdanauAttention
        >>> attn = BahdanauAttention(8, 6, 10)
        >>> context, weights = attn(nnzoo.randn(2, 8), nnzoo.randn(2, 7, 6))
        >>> context.shape, weights.shape, weights.detach().sum(-1)
        (nnzoo.Size([2, 6]), nnzoo.Size([2, 7]), tensor([1.0000, 1.0000]))
    """

    def __init__(self, query_dim: int, key_dim: int, hidden_dim: int, device: str | None = None,
                 dtype: dtypes.dtype | None = None) -> None:
        super().__init__()
        self.query_dim, self.key_dim, self.hidden_dim = query_dim, key_dim, hidden_dim
        self.w1 = Linear(key_dim, hidden_dim, bias=False, device=device, dtype=dtype)
        self.w2 = Linear(query_dim, hidden_dim, device=device, dtype=dtype)
        self.v = Linear(hidden_dim, 1, bias=False, device=device, dtype=dtype)

    def project_keys(self, keys: Tensor) -> Tensor:
        """W1 h for every key: (B, Lk, hidden_dim)."""
        return _linear_2d(keys, self.w1.weight, None)

    def forward(self, query: Tensor, keys: Tensor, values: Tensor | None = None, mask: Tensor | None = None,
                projected_keys: Tensor | None = None) -> tuple[Tensor, Tensor]:
        _check_attention_inputs("BahdanauAttention", query, keys, values, mask, self.query_dim, self.key_dim)
        single = query.ndim == 2
        if single:
            query = _shape.unsqueeze(query, 1)  # (B, 1, Dq)
        wh = self.project_keys(keys) if projected_keys is None else projected_keys  # (B, Lk, H)
        ws = _linear_2d(query, self.w2.weight, self.w2.bias)  # (B, Lq, H)
        hidden = tanh(_shape.unsqueeze(wh, 1) + _shape.unsqueeze(ws, 2))  # (B, Lq, Lk, H)
        scores = _shape.squeeze(_linear_2d(hidden, self.v.weight, None), -1)  # (B, Lq, Lk)
        return _attend(scores, keys if values is None else values, mask, single)

    def extra_repr(self) -> str:
        return f"query_dim={self.query_dim}, key_dim={self.key_dim}, hidden_dim={self.hidden_dim}"


class LuongAttention(Module):
    """Multiplicative attention (Luong et al., 2015): alpha_i = softmax_j(score(s_i, h_j)), c_i = sum_j alpha_ij h_j,
    with score 'dot': s^T h;  'general': s^T W h;  'concat': v^T tanh(W [s; h]).

    Args:
        query_dim, key_dim: sizes of s and h ('dot' needs them equal).
        score: 'dot', 'general' or 'concat'.
        hidden_dim: size of the tanh layer of 'concat' (default query_dim).

    Parameters: 'general' ``linear`` (Linear(key_dim, query_dim), no bias); 'concat' ``linear``
    (Linear(query_dim + key_dim, hidden_dim), no bias; its first query_dim columns act on s) and ``v``
    (Linear(hidden_dim, 1), no bias).

    forward(query, keys, values=None, mask=None) -> (context, weights), as ``BahdanauAttention``.

    Example::

        >>> from nnzoo.nn.attention import LuongAttention
        >>> attn = LuongAttention(8, 8, score="general")
        >>> context, weights = attn(nnzoo.randn(2, 3, 8), nnzoo.randn(2, 5, 8))
        >>> context.shape, weights.shape
        (nnzoo.Size([2, 3, 8]), nnzoo.Size([2, 3, 5]))
    """

    def __init__(self, query_dim: int, key_dim: int, score: str = "dot", hidden_dim: int | None = None,
                 device: str | None = None, dtype: dtypes.dtype | None = None) -> None:
        super().__init__()
        if score not in ("dot", "general", "concat"):
            raise ValueError(f"LuongAttention: score must be 'dot', 'general' or 'concat', got {score!r}")
        if score == "dot" and query_dim != key_dim:
            raise ValueError(f"LuongAttention: score='dot' needs query_dim == key_dim, got {query_dim} and {key_dim}")
        self.query_dim, self.key_dim, self.score = query_dim, key_dim, score
        self.hidden_dim = hidden_dim if hidden_dim is not None else query_dim
        kw = dict(bias=False, device=device, dtype=dtype)
        if score == "general":
            self.linear = Linear(key_dim, query_dim, **kw)
        elif score == "concat":
            self.linear = Linear(query_dim + key_dim, self.hidden_dim, **kw)
            self.v = Linear(self.hidden_dim, 1, **kw)

    def forward(self, query: Tensor, keys: Tensor, values: Tensor | None = None,
                mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        _check_attention_inputs("LuongAttention", query, keys, values, mask, self.query_dim, self.key_dim)
        single = query.ndim == 2
        if single:
            query = _shape.unsqueeze(query, 1)  # (B, 1, Dq)
        if self.score == "dot":
            scores = matmul(query, _shape.transpose(keys, 1, 2))  # (B, Lq, Lk)
        elif self.score == "general":
            scores = matmul(query, _shape.transpose(_linear_2d(keys, self.linear.weight, None), 1, 2))
        else:
            # W [s; h] = W_s s + W_h h: the two halves of W, without building every (s, h) concatenation
            w_s, w_h = _shape.split(self.linear.weight, [self.query_dim, self.key_dim], 1)
            ws = matmul(query, _shape.t(w_s))  # (B, Lq, H)
            wh = matmul(keys, _shape.t(w_h))  # (B, Lk, H)
            hidden = tanh(_shape.unsqueeze(ws, 2) + _shape.unsqueeze(wh, 1))  # (B, Lq, Lk, H)
            scores = _shape.squeeze(_linear_2d(hidden, self.v.weight, None), -1)
        return _attend(scores, keys if values is None else values, mask, single)

    def extra_repr(self) -> str:
        extra = f", hidden_dim={self.hidden_dim}" if self.score == "concat" else ""
        return f"query_dim={self.query_dim}, key_dim={self.key_dim}, score={self.score!r}{extra}"
