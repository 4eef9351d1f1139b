"""The Transformer (Vaswani et al., 2017) with PyTorch's classes, arguments and state_dict keys:
``TransformerEncoderLayer``, ``TransformerDecoderLayer``, ``TransformerEncoder``, ``TransformerDecoder``,
``Transformer``; and the positional encodings ``SinusoidalPositionalEncoding`` and
``LearnedPositionalEncoding``."""
from __future__ import annotations

import copy
import math
from collections.abc import Callable

import numpy as np

from .. import dtypes
from ..autograd.arrays import array, wrap
from ..ops import shape as _shape
from ..ops.attention import _float_mask
from ..ops.unary import gelu, relu
from ..tensor import Tensor
from . import init
from .activation import GELU, ReLU
from .attention import MultiheadAttention
from .container import ModuleList
from .dropout import Dropout
from .embedding import Embedding
from .linear import Linear
from .module import Module
from .norm import LayerNorm

__all__ = ["Transformer", "TransformerEncoder", "TransformerDecoder", "TransformerEncoderLayer",
           "TransformerDecoderLayer", "SinusoidalPositionalEncoding", "LearnedPositionalEncoding"]


def _generate_square_subsequent_mask(sz, device=None, dtype=None):
    """(sz, sz) float mask: 0 on and below the diagonal, -inf above (position i sees 0..i)."""
    np_dtype = (dtype or dtypes.get_default_dtype()).np
    if np_dtype.kind != "f":
        raise TypeError(f"generate_square_subsequent_mask: dtype must be floating, got {dtype}")
    return wrap(np.triu(np.full((sz, sz), -np.inf, dtype=np_dtype), 1))


def _get_seq_len(src, batch_first):
    return src.shape[0] if src.dim() == 2 else src.shape[1 if batch_first else 0]


def _detect_is_causal_mask(mask, is_causal=None, size=None):
    """PyTorch's rule: is_causal=True wins; with is_causal=None a mask equal to the square causal mask of
    ``size`` (bool: True above the diagonal; float: -inf above) counts as causal."""
    make_causal = is_causal is True
    if is_causal is None and mask is not None:
        sz = size if size is not None else mask.shape[-2]
        arr = array(mask)
        if arr.dtype == np.bool_:
            causal = np.triu(np.ones((sz, sz), dtype=bool), 1)
        else:
            causal = np.triu(np.full((sz, sz), -np.inf, dtype=arr.dtype), 1)
        make_causal = arr.shape == causal.shape and bool((arr == causal).all())
    return make_causal


def _get_activation_fn(activation):
    if activation == "relu":
        return relu
    if activation == "gelu":
        return gelu
    raise RuntimeError(f"activation should be relu/gelu, not {activation}")


def _get_clones(module, n):
    """n independent deep copies of ``module`` (same initial values), as PyTorch's ``copy.deepcopy``."""
    return ModuleList([copy.deepcopy(module) for _ in range(n)])


def _rows(x):
    """(..., E) -> (N, E): the rows of a contiguous activation, for one 2-D GEMM per Linear.

    NOTE: NumPy's matmul of a 3-D array by a matrix runs one small GEMM per leading index; flattened, the
    feed-forward block's (32 * 64, 128) @ (128, 512) is one GEMM, 2.3x faster."""
    return _shape.reshape(x, -1, x.shape[-1]) if x.ndim > 2 else x


class TransformerEncoderLayer(Module):
    """x = norm1(x + SelfAttention(x)); x = norm2(x + FeedForward(x)), FeedForward(x) = linear2(dropout(
    activation(linear1(x)))) (post-norm); with norm_first: x = x + SelfAttention(norm1(x));
    x = x + FeedForward(norm2(x)). Dropout after the attention (dropout1) and the feed-forward (dropout2).

    Args:
        d_model: model width; nhead: heads; dim_feedforward: hidden width of the feed-forward block.
        dropout: dropout everywhere (attention probabilities included). activation: "relu", "gelu" or a
        callable. layer_norm_eps: LayerNorm's eps. batch_first: (B, T, E) instead of (T, B, E).
        norm_first: pre-norm. bias: biases in the Linear and LayerNorm layers.

    forward(src, src_mask=None, src_key_padding_mask=None, is_causal=False): masks as
    ``MultiheadAttention``'s attn_mask / key_padding_mask (bool True = not attended, or float, added).

    Example::

        >>> from nnzoo import nn
        >>> from nnzoo.nn.transformer import TransformerEncoderLayer
        >>> layer = TransformerEncoderLayer(d_model=16, nhead=4, dim_feedforward=32, batch_first=True)
        >>> layer(nnzoo.randn(2, 5, 16)).shape
        nnzoo.Size([2, 5, 16])
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: str | Callable[[Tensor], Tensor] = relu, layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False, bias: bool = True, device: str | None = None,
                 dtype: dtypes.dtype | None = None) -> None:
        super().__init__()
        kw = dict(device=device, dtype=dtype)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                            **kw)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **kw)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **kw)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        if isinstance(activation, str):
            activation = _get_activation_fn(activation)
        if activation is relu or isinstance(activation, ReLU):
            self.activation_relu_or_gelu = 1
        elif activation is gelu or isinstance(activation, GELU):
            self.activation_relu_or_gelu = 2
        else:
            self.activation_relu_or_gelu = 0
        self.activation = activation

    def forward(self, src: Tensor, src_mask: Tensor | None = None, src_key_padding_mask: Tensor | None = None,
                is_causal: bool = False) -> Tensor:
        src_key_padding_mask = _float_mask(src_key_padding_mask, array(src).dtype, "src_key_padding_mask")
        src_mask = _float_mask(src_mask, array(src).dtype, "src_mask")
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal=is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal=is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal=False):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask, need_weights=False,
                           is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x):
        h = self.linear2(self.dropout(self.activation(self.linear1(_rows(x)))))
        return _shape.reshape(self.dropout2(h), *x.shape)


class TransformerDecoderLayer(Module):
    """x = norm1(x + SelfAttention(x)); x = norm2(x + CrossAttention(x, memory)); x = norm3(x + FeedForward(x))
    (post-norm); with norm_first each block sees normK(x) and adds to x. Arguments as
    ``TransformerEncoderLayer``; ``multihead_attn`` attends from the target to the memory.

    forward(tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
    memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False).

    Example::

        >>> from nnzoo.nn.transformer import TransformerDecoderLayer
        >>> layer = TransformerDecoderLayer(d_model=16, nhead=4, dim_feedforward=32)
        >>> layer(nnzoo.randn(5, 2, 16), nnzoo.randn(7, 2, 16)).shape
        nnzoo.Size([5, 2, 16])
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: str | Callable[[Tensor], Tensor] = relu, layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False, bias: bool = True, device: str | None = None,
                 dtype: dtypes.dtype | None = None) -> None:
        super().__init__()
        kw = dict(device=device, dtype=dtype)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, batch_first=batch_first, bias=bias,
                                            **kw)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, batch_first=batch_first,
                                                 bias=bias, **kw)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **kw)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **kw)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.dropout3 = Dropout(dropout)
        self.activation = _get_activation_fn(activation) if isinstance(activation, str) else activation

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask: Tensor | None = None, memory_mask: Tensor | None = None,
                tgt_key_padding_mask: Tensor | None = None, memory_key_padding_mask: Tensor | None = None,
                tgt_is_causal: bool = False, memory_is_causal: bool = False) -> Tensor:
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask, memory_key_padding_mask, memory_is_causal)
            x = x + self._ff_block(self.norm3(x))
        else:
            x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
            x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask, memory_is_causal))
            x = self.norm3(x + self._ff_block(x))
        return x

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal=False):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask, is_causal=is_causal,
                           need_weights=False)[0]
        return self.dropout1(x)

    def _mha_block(self, x, mem, attn_mask, key_padding_mask, is_causal=False):
        x = self.multihead_attn(x, mem, mem, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                                is_causal=is_causal, need_weights=False)[0]
        return self.dropout2(x)

    def _ff_block(self, x):
        h = self.linear2(self.dropout(self.activation(self.linear1(_rows(x)))))
        return _shape.reshape(self.dropout3(h), *x.shape)


class TransformerEncoder(Module):
    """A stack of ``num_layers`` copies of ``encoder_layer`` (``layers.0``, ``layers.1``, ...), then ``norm``
    if given.

    ``enable_nested_tensor`` and ``mask_check`` are accepted for PyTorch compatibility; nnzoo has no nested
    tensors, so padded positions are computed (and returned) like the others.

    forward(src, mask=None, src_key_padding_mask=None, is_causal=None): is_causal=None detects a square
    causal ``mask``.

    Example::

        >>> from nnzoo.nn.transformer import TransformerEncoder, TransformerEncoderLayer
        >>> layer = TransformerEncoderLayer(16, 4, 32, batch_first=True)
        >>> encoder = TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        >>> encoder(nnzoo.randn(2, 5, 16)).shape
        nnzoo.Size([2, 5, 16])
    """

    def __init__(self, encoder_layer: TransformerEncoderLayer, num_layers: int, norm: Module | None = None,
                 enable_nested_tensor: bool = True, mask_check: bool = True) -> None:
        super().__init__()
        self.layers = _get_clones(encoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm
        self.enable_nested_tensor = enable_nested_tensor
        self.use_nested_tensor = False
        self.mask_check = mask_check

    def forward(self, src: Tensor, mask: Tensor | None = None, src_key_padding_mask: Tensor | None = None,
                is_causal: bool | None = None) -> Tensor:
        src_key_padding_mask = _float_mask(src_key_padding_mask, array(src).dtype, "src_key_padding_mask")
        mask = _float_mask(mask, array(src).dtype, "mask")
        batch_first = self.layers[0].self_attn.batch_first
        is_causal = _detect_is_causal_mask(mask, is_causal, _get_seq_len(src, batch_first))
        output = src
        for mod in self.layers:
            output = mod(output, src_mask=mask, is_causal=is_causal, src_key_padding_mask=src_key_padding_mask)
        if self.norm is not None:
            output = self.norm(output)
        return output


class TransformerDecoder(Module):
    """A stack of ``num_layers`` copies of ``decoder_layer``, then ``norm`` if given.

    forward(tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
    memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False).

    Example::

        >>> from nnzoo.nn.transformer import TransformerDecoder, TransformerDecoderLayer
        >>> decoder = TransformerDecoder(TransformerDecoderLayer(16, 4, 32), num_layers=2)
        >>> decoder(nnzoo.randn(5, 2, 16), nnzoo.randn(7, 2, 16)).shape
        nnzoo.Size([5, 2, 16])
    """

    def __init__(self, decoder_layer: TransformerDecoderLayer, num_layers: int, norm: Module | None = None) -> None:
        super().__init__()
        self.layers = _get_clones(decoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask: Tensor | None = None, memory_mask: Tensor | None = None,
                tgt_key_padding_mask: Tensor | None = None, memory_key_padding_mask: Tensor | None = None,
                tgt_is_causal: bool | None = None, memory_is_causal: bool = False) -> Tensor:
        output = tgt
        seq_len = _get_seq_len(tgt, self.layers[0].self_attn.batch_first)
        tgt_is_causal = _detect_is_causal_mask(tgt_mask, tgt_is_causal, seq_len)
        for mod in self.layers:
            output = mod(output, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                         tgt_key_padding_mask=tgt_key_padding_mask,
                         memory_key_padding_mask=memory_key_padding_mask, tgt_is_causal=tgt_is_causal,
                         memory_is_causal=memory_is_causal)
        if self.norm is not None:
            output = self.norm(output)
        return output


class Transformer(Module):
    """The encoder-decoder Transformer: memory = encoder(src), output = decoder(tgt, memory), each a stack of
    layers followed by a LayerNorm.

    Args: d_model=512, nhead=8, num_encoder_layers=6, num_decoder_layers=6, dim_feedforward=2048,
    dropout=0.1, activation=relu, custom_encoder=None, custom_decoder=None, layer_norm_eps=1e-5,
    batch_first=False, norm_first=False, bias=True (PyTorch's).

    Initialisation: xavier_uniform_ on every parameter with more than one dim (PyTorch's).

    Shape: src (S, B, E), tgt (T, B, E) ((B, S, E), (B, T, E) with batch_first); output like tgt.

    Example::

        >>> from nnzoo.nn.transformer import Transformer
        >>> model = Transformer(d_model=16, nhead=4, num_encoder_layers=1, num_decoder_layers=1,
        ...                     dim_feedforward=32, batch_first=True)
        >>> tgt_mask = Transformer.generate_square_subsequent_mask(3)
        >>> model(nnzoo.randn(2, 5, 16), nnzoo.randn(2, 3, 16), tgt_mask=tgt_mask).shape
        nnzoo.Size([2, 3, 16])
    """

    def __init__(self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6, num_decoder_layers: int = 6,
                 dim_feedforward: int = 2048, dropout: float = 0.1, activation: str | Callable[[Tensor], Tensor] = relu,
                 custom_encoder: Module | None = None, custom_decoder: Module | None = None,
                 layer_norm_eps: float = 1e-5, batch_first: bool = False, norm_first: bool = False, bias: bool = True,
                 device: str | None = None, dtype: dtypes.dtype | None = None) -> None:
        super().__init__()
        kw = dict(device=device, dtype=dtype)
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            encoder_layer = TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout, activation,
                                                    layer_norm_eps, batch_first, norm_first, bias, **kw)
            encoder_norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
            self.encoder = TransformerEncoder(encoder_layer, num_encoder_layers, encoder_norm)
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            decoder_layer = TransformerDecoderLayer(d_model, nhead, dim_feedforward, dropout, activation,
                                                    layer_norm_eps, batch_first, norm_first, bias, **kw)
            decoder_norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
            self.decoder = TransformerDecoder(decoder_layer, num_decoder_layers, decoder_norm)
        self._reset_parameters()
        self.d_model = d_model
        self.nhead = nhead
        self.batch_first = batch_first

    def forward(self, src: Tensor, tgt: Tensor, src_mask: Tensor | None = None, tgt_mask: Tensor | None = None,
                memory_mask: Tensor | None = None, src_key_padding_mask: Tensor | None = None,
                tgt_key_padding_mask: Tensor | None = None, memory_key_padding_mask: Tensor | None = None,
                src_is_causal: bool | None = None, tgt_is_causal: bool | None = None,
                memory_is_causal: bool = False) -> Tensor:
        is_batched = src.dim() == 3
        bdim = 0 if self.batch_first else 1
        if is_batched and src.shape[bdim] != tgt.shape[bdim]:
            raise RuntimeError(f"the batch number of src and tgt must be equal (src {tuple(src.shape)}, tgt "
                               f"{tuple(tgt.shape)}, batch_first={self.batch_first})")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise RuntimeError(f"the feature number of src and tgt must be equal to d_model={self.d_model} "
                               f"(src {tuple(src.shape)}, tgt {tuple(tgt.shape)})")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask, tgt_is_causal=tgt_is_causal,
                            memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device: str | None = None,
                                        dtype: dtypes.dtype | None = None) -> Tensor:
        """(sz, sz) float mask, -inf above the diagonal and 0 elsewhere: position i attends to 0..i.

        Example::

            >>> from nnzoo.nn.transformer import Transformer
            >>> Transformer.generate_square_subsequent_mask(3)
            tensor([[  0., -inf, -inf],
                    [  0.,   0., -inf],
                    [  0.,   0.,   0.]])
        """
        return _generate_square_subsequent_mask(sz, device=device, dtype=dtype)

    def _reset_parameters(self):
        for p in self.parameters():
            if p.dim() > 1:
                init.xavier_uniform_(p)


# ---- positional encodings -----------------------------------------------------------------------------
def _sinusoids(max_len, d_model):
    """PE[pos, 2i] = sin(pos / 10000^(2i / d_model)), PE[pos, 2i + 1] = cos(pos / 10000^(2i / d_model))."""
    pos = np.arange(max_len, dtype=np.float64)[:, None]
    inv_freq = np.exp(np.arange(0, d_model, 2, dtype=np.float64) * (-math.log(10000.0) / d_model))
    pe = np.zeros((max_len, d_model))
    pe[:, 0::2] = np.sin(pos * inv_freq)
    pe[:, 1::2] = np.cos(pos * inv_freq[: d_model // 2])
    return pe


def _add_positions(x, pe, batch_first, op):
    """x + pe[:T], pe (max_len, E) broadcast over the batch, for (T, B, E), (B, T, E) or unbatched (T, E)."""
    seq = x.shape[1] if (batch_first and x.ndim == 3) else x.shape[0]
    if seq > pe.shape[0]:
        raise RuntimeError(f"{op}: the sequence length {seq} of input {tuple(x.shape)} exceeds max_len "
                           f"{pe.shape[0]}")
    p = pe[:seq]  # (T, E)
    if x.ndim == 3 and not batch_first:
        p = _shape.unsqueeze(p, 1)  # (T, 1, E)
    return x + p


class SinusoidalPositionalEncoding(Module):
    """x + PE[:T], PE[pos, 2i] = sin(pos / 10000^(2i/d)), PE[pos, 2i+1] = cos(pos / 10000^(2i/d)) (Vaswani et
    al., 2017), then dropout.

    Args: d_model; max_len (5000): the longest sequence; dropout (0.1); batch_first (False): input (B, T, E)
    instead of (T, B, E). The table ``pe`` (max_len, d_model) is a non-persistent buffer (not in the
    state_dict: it is a function of the arguments).

    Example::

        >>> from nnzoo.nn.transformer import SinusoidalPositionalEncoding
        >>> pe = SinusoidalPositionalEncoding(8, max_len=50, dropout=0.0)
        >>> pe(nnzoo.zeros(3, 2, 8))[1, 0, :2]      # sin(1), cos(1)
        tensor([0.8415, 0.5403])
    """

    def __init__(self, d_model: int, max_len: int = 5000, dropout: float = 0.1, batch_first: bool = False,
                 device: str | None = None, dtype: dtypes.dtype | None = None) -> None:
        super().__init__()
        self.d_model, self.max_len, self.batch_first = d_model, max_len, batch_first
        self.dropout = Dropout(dropout)
        np_dtype = (dtype or dtypes.get_default_dtype()).np
        self.register_buffer("pe", wrap(_sinusoids(max_len, d_model).astype(np_dtype)), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(_add_positions(x, self.pe, self.batch_first, "SinusoidalPositionalEncoding"))

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, max_len={self.max_len}, batch_first={self.batch_first}"


class LearnedPositionalEncoding(Module):
    """x + P[:T], P (max_len, d_model) a learned table (an ``Embedding`` of the positions), then dropout.

    Args: d_model; max_len (5000); dropout (0.1); batch_first (False). Parameter: ``embedding.weight``
    (max_len, d_model), N(0, 1) as any Embedding.

    Example::

        >>> from nnzoo.nn.transformer import LearnedPositionalEncoding
        >>> pe = LearnedPositionalEncoding(8, max_len=50, batch_first=True)
        >>> pe(nnzoo.zeros(2, 3, 8)).shape
        nnzoo.Size([2, 3, 8])
    """

    def __init__(self, d_model: int, max_len: int = 5000, dropout: float = 0.1, batch_first: bool = False,
                 device: str | None = None, dtype: dtypes.dtype | None = None) -> None:
        super().__init__()
        self.d_model, self.max_len, self.batch_first = d_model, max_len, batch_first
        self.embedding = Embedding(max_len, d_model, device=device, dtype=dtype)
        self.dropout = Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(_add_positions(x, self.embedding.weight, self.batch_first, "LearnedPositionalEncoding"))

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, max_len={self.max_len}, batch_first={self.batch_first}"
