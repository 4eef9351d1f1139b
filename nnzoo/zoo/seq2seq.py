"""Sequence to sequence with attention: read a sequence, write another one, one token at a time.

The notes' encoder-decoder (Bahdanau et al., 2014)::

    h_1 .. h_L  = bidirectional RNN over the embedded source        the encoder states, h_j = [->h_j; <-h_j]
    s_0         = tanh(W_b [->h_L; <-h_1])                          the decoder's first state
    e_ij        = v^T tanh(W1 h_j + W2 s_{i-1}),  alpha_i = softmax_j(e_i)    (padding masked: alpha = 0 there)
    c_i         = sum_j alpha_ij h_j                                the context of output step i
    s_i         = cell([embedding(y_{i-1}); c_i], s_{i-1})          a GRU or LSTM cell
    p(y_i | y_<i, x) = softmax(W_o [s_i; c_i] + b_o)

Training feeds the true previous token y_{i-1} (teacher forcing) with probability ``teacher_forcing`` at each
step (one draw per step for the whole batch), else the model's own argmax. Decoding starts from <bos> and
appends the argmax (greedy, batched) or keeps the ``beam_width`` best prefixes (beam search) until <eos> or a
length limit. :class:`TransformerSeq2Seq` does the same task with ``nn.Transformer`` (no recurrence).

Trained by the recipes ``date-translator`` (the attention GRU) and ``date-transformer``
(:mod:`nnzoo.recipes.seq2seq`): human-readable dates to ISO dates (``"saturday 9 may 2018" -> "2018-05-09"``),
character by character; ``nnzoo translate "saturday 9 may 2018"`` runs a trained one.
"""
from dataclasses import asdict, dataclass

import numpy as np

from .. import nn
from ..autograd.grad_mode import no_grad
from ..creation import full, tensor, zeros_like
from ..ops.shape import cat, stack
from ..random import rand
from ..tensor import Tensor

__all__ = ["Seq2Seq", "Seq2SeqConfig", "TransformerSeq2Seq", "TransformerSeq2SeqConfig"]

_ENCODERS = {"gru": nn.GRU, "lstm": nn.LSTM}
_CELLS = {"gru": nn.GRUCell, "lstm": nn.LSTMCell}


def _array(t):
    return t._data if isinstance(t, Tensor) else np.asarray(t)


def _source_mask(src, lengths):
    """(B, L) bool, True on the first lengths[b] positions of row b (the real tokens), False on padding."""
    B, L = src.shape
    if lengths is None:
        return np.ones((B, L), dtype=bool)
    return np.arange(L)[None, :] < _array(lengths).reshape(B, 1)


# ---- the attention encoder-decoder -----------------------------------------------------------------------------
@dataclass
class Seq2SeqConfig:
    src_vocab: int = 64
    tgt_vocab: int = 16
    embed: int = 32            # both embeddings
    enc_hidden: int = 64       # per direction: the encoder states h_j are 2 * enc_hidden wide
    dec_hidden: int = 128
    attn_hidden: int = 64      # width of the tanh layer of the attention
    cell: str = "gru"          # 'gru' or 'lstm' (encoder and decoder)
    pad_index: int = 0         # the vocabularies' special tokens (nnzoo.data.Vocab's order)
    bos_index: int = 2
    eos_index: int = 3
    teacher_forcing: float = 1.0   # probability of feeding the true previous token at a training step
    max_len: int = 12          # decoding stops after this many tokens (<eos> included)


class Seq2Seq(nn.Module):
    """Bidirectional RNN encoder, RNN-cell decoder with additive (Bahdanau) attention, output Linear.

    e_ij = v^T tanh(W1 h_j + W2 s_{i-1}), alpha_i = softmax_j(e_i), c_i = sum_j alpha_ij h_j,
    s_i = cell([emb(y_{i-1}); c_i], s_{i-1}), logits_i = W_o [s_i; c_i] + b_o.

    Args:
        config (Seq2SeqConfig): sizes, the cell, the special token ids; keyword arguments override its fields.

    Shape: ``forward(src, src_lengths, tgt_in)``: src (B, L) int64 source ids, padded with ``pad_index``
    after each row's src_lengths[b] tokens (None: no padding); tgt_in (B, T) int64, <bos> then the target
    (the decoder's inputs); output logits (B, T, tgt_vocab) of the next tokens (the target then <eos>).

    Example::

        >>> from nnzoo.zoo.seq2seq import Seq2Seq
        >>> model = Seq2Seq(src_vocab=20, tgt_vocab=10, embed=8, enc_hidden=8, dec_hidden=16, attn_hidden=8)
        >>> src = nnzoo.tensor([[5, 6, 7], [8, 9, 0]]); lengths = nnzoo.tensor([3, 2])
        >>> model(src, lengths, nnzoo.tensor([[2, 4], [2, 5]])).shape
        nnzoo.Size([2, 2, 10])
        >>> tokens, weights = model.greedy(src, lengths, max_len=4)   # stops early if every row wrote <eos>
        >>> tokens.shape[0], tokens.shape[1] <= 4, weights.shape[2], float(weights[1, 0, 2])  # padding: weight 0
        (2, True, 3, 0.0)
    """

    def __init__(self, config=None, **overrides):
        super().__init__()
        self.config = c = Seq2SeqConfig(**{**asdict(config or Seq2SeqConfig()), **overrides})
        if c.cell not in _ENCODERS:
            raise ValueError(f"Seq2Seq: cell must be one of {', '.join(_ENCODERS)}, got {c.cell!r}")
        self.lstm = c.cell == "lstm"
        E2 = 2 * c.enc_hidden
        self.src_embedding = nn.Embedding(c.src_vocab, c.embed, padding_idx=c.pad_index)
        self.encoder = _ENCODERS[c.cell](c.embed, c.enc_hidden, batch_first=True, bidirectional=True)
        self.bridge = nn.Linear(E2, c.dec_hidden)
        self.tgt_embedding = nn.Embedding(c.tgt_vocab, c.embed, padding_idx=c.pad_index)
        self.attention = nn.BahdanauAttention(c.dec_hidden, E2, c.attn_hidden)
        self.decoder = _CELLS[c.cell](c.embed + E2, c.dec_hidden)
        self.out = nn.Linear(c.dec_hidden + E2, c.tgt_vocab)

    # ---- the encoder ----------------------------------------------------------------------------------------
    def encode(self, src, src_lengths=None):
        """The encoder states, their attention projections, the source mask and the decoder's first state.

        Returns:
            memory (B, L, 2*enc_hidden) (0 on padding), keys = W1 memory (B, L, attn_hidden), mask (B, L) bool
            (True on real tokens), state: s_0 (B, dec_hidden), or (s_0, 0) for an LSTM.
        """
        if src.ndim != 2:
            raise ValueError(f"Seq2Seq.encode: expected src of shape (B, L), got {tuple(src.shape)}")
        L = src.shape[1]
        mask = _source_mask(src, src_lengths)
        x = self.src_embedding(src)                                     # (B, L, E)
        if src_lengths is None or mask.all():
            memory, h_n = self.encoder(x)                               # (B, L, 2He)
        else:
            # NOTE: packed, so the backward direction starts at each row's last real token, not on padding:
            # a row's states do not depend on how much padding its batch has
            packed = nn.utils.rnn.pack_padded_sequence(x, _array(src_lengths), batch_first=True,
                                                       enforce_sorted=False)
            memory, h_n = self.encoder(packed)
            memory, _ = nn.utils.rnn.pad_packed_sequence(memory, batch_first=True, total_length=L)
        if self.lstm:
            h_n = h_n[0]
        s0 = self.bridge(cat([h_n[0], h_n[1]], 1)).tanh()               # (B, Hd): [->h_L; <-h_1]
        state = (s0, zeros_like(s0)) if self.lstm else s0
        keys = self.attention.project_keys(memory)                      # (B, L, A), once for all steps
        return memory, keys, Tensor._make(mask), state

    # ---- one decoder step ------------------------------------------------------------------------------------
    def step(self, emb, state, memory, keys, mask):
        """One output step: attend with s_{i-1}, then update the cell on [emb(y_{i-1}); c_i].

        Returns:
            state (s_i, or (s_i, cell_i)), features [s_i; c_i] (B, dec_hidden + 2*enc_hidden) for the output
            layer, attention weights alpha_i (B, L).
        """
        s = state[0] if self.lstm else state                            # (B, Hd)
        context, alpha = self.attention(s, memory, mask=mask, projected_keys=keys)  # (B, 2He), (B, L)
        state = self.decoder(cat([emb, context], 1), state)            # (B, Hd)
        s = state[0] if self.lstm else state
        return state, cat([s, context], 1), alpha

    def forward(self, src, src_lengths, tgt_in, teacher_forcing=None, generator=None):
        """Logits (B, T, tgt_vocab) for the T decoder inputs ``tgt_in`` (<bos> first).

        In training mode each step after the first feeds the true token tgt_in[:, i] with probability
        ``teacher_forcing`` (default: the config's), else the argmax of the previous step's logits; one draw
        per step for the whole batch, from ``generator`` (default: nnzoo's default generator, so
        ``nnzoo.manual_seed`` fixes them). In eval mode every step is teacher-forced.
        """
        ratio = self.config.teacher_forcing if teacher_forcing is None else teacher_forcing
        if not 0.0 <= ratio <= 1.0:
            raise ValueError(f"Seq2Seq: teacher_forcing must be in [0, 1], got {ratio}")
        memory, keys, mask, state = self.encode(src, src_lengths)
        T = tgt_in.shape[1]
        forced = np.ones(T, dtype=bool)
        if self.training and ratio < 1.0 and T > 1:
            forced[1:] = _array(rand(T - 1, generator=generator, dtype=None)) < ratio
        emb = self.tgt_embedding(tgt_in).unbind(1)                      # T x (B, E)
        feats, y = [], None
        for i in range(T):
            e = emb[i] if forced[i] else self.tgt_embedding(y)          # (B, E)
            state, feat, _ = self.step(e, state, memory, keys, mask)    # feat (B, Hd + 2He)
            feats.append(feat)
            if i + 1 < T and not forced[i + 1]:
                with no_grad():
                    y = self.out(feat).argmax(-1)                       # (B,) the model's own guess
        return self.out(stack(feats, 1))                                # (B, T, V): one GEMM for all steps

    # ---- decoding --------------------------------------------------------------------------------------------
    @no_grad()
    def greedy(self, src, src_lengths=None, max_len=None):
        """Batched greedy decoding: start from <bos>, append the argmax, until every row has written <eos>
        (or ``max_len`` tokens, default the config's).

        Returns:
            tokens (B, T) int64 (<eos> included; <pad> after it), weights (B, T, L) the attention of every
            output step over the source (0 after <eos> and on padding).
        """
        c = self.config
        max_len = max_len or c.max_len
        memory, keys, mask, state = self.encode(src, src_lengths)
        B = src.shape[0]
        y = full((B,), c.bos_index, dtype=src.dtype)
        done = np.zeros(B, dtype=bool)
        tokens, weights = [], []
        for _ in range(max_len):
            state, feat, alpha = self.step(self.tgt_embedding(y), state, memory, keys, mask)
            nxt = np.where(done, c.pad_index, _array(self.out(feat).argmax(-1)))   # (B,)
            tokens.append(nxt)
            weights.append(np.where(done[:, None], 0.0, _array(alpha)).astype(_array(alpha).dtype))
            done |= nxt == c.eos_index
            if done.all():
                break
            y = tensor(nxt)
        return tensor(np.stack(tokens, 1)), tensor(np.stack(weights, 1))

    @no_grad()
    def beam_search(self, src, src_lengths=None, beam_width=5, alpha=0.6, max_len=None):
        """Beam search, one source row at a time: keep the ``beam_width`` most likely prefixes; a prefix
        that writes <eos> is finished; stop when none is left (or after ``max_len`` steps); return the
        finished one with the best length-normalised score log P(y) / lp(y), Wu et al. (2016)'s
        lp(y) = ((5 + |y|) / 6) ** alpha (|y| counts <eos>; alpha = 0: the raw log-probability).

        With ``beam_width=1`` this is greedy decoding.

        Returns:
            a list of B tuples (tokens: list of int, <eos> included if written; weights: (len(tokens), L_b)
            array, the attention of each output step over the row's L_b real source tokens; score: float).
        """
        c = self.config
        max_len = max_len or c.max_len
        if beam_width < 1:
            raise ValueError(f"Seq2Seq.beam_search: beam_width must be >= 1, got {beam_width}")
        lengths = _array(src_lengths) if src_lengths is not None else np.full(src.shape[0], src.shape[1])
        results = []
        for b in range(src.shape[0]):
            n = int(lengths[b])
            memory, keys, mask, state = self.encode(src[b:b + 1, :n])  # (1, n, 2He)
            beams = [[]]                           # the alive prefixes (token lists)
            attn = np.zeros((1, 0, n))             # their attention rows (k, t, n)
            scores = np.zeros(1)                   # their log-probabilities
            finished = []                          # (normalised score, tokens, weights, score)
            for t in range(max_len):
                k = len(beams)
                prev = [bs[-1] if bs else c.bos_index for bs in beams]
                state, feat, a = self.step(self.tgt_embedding(tensor(prev)), state, memory.expand(k, n, -1),
                                           keys.expand(k, n, -1), mask.expand(k, n))
                z = _array(self.out(feat)).astype(np.float64)                  # (k, V)
                logp = z - z.max(1, keepdims=True)
                logp -= np.log(np.exp(logp).sum(1, keepdims=True))
                cand = (scores[:, None] + logp).ravel()                        # (k * V,)
                # NOTE: a stable sort keeps the lowest token id among equal scores, as argmax does
                best = np.argsort(-cand, kind="stable")[:beam_width]
                parent, token = np.divmod(best, logp.shape[1])
                attn = np.concatenate([attn[parent], _array(a).astype(np.float64)[parent][:, None]], 1)
                keep = []
                for j, (p, tok) in enumerate(zip(parent, token)):
                    seq = beams[p] + [int(tok)]
                    if tok == c.eos_index or t == max_len - 1:
                        finished.append((cand[best[j]] / ((5 + len(seq)) / 6) ** alpha, seq, attn[j],
                                         float(cand[best[j]])))
                    else:
                        keep.append((j, seq))
                if not keep:
                    break
                idx = np.array([j for j, _ in keep])
                beams, attn, scores = [s for _, s in keep], attn[idx], cand[best[idx]]
                rows = tensor(parent[idx])
                state = (state[0].index_select(0, rows), state[1].index_select(0, rows)) if self.lstm \
                    else state.index_select(0, rows)
            _, seq, weights, score = max(finished, key=lambda f: f[0])
            results.append((seq, weights, score))
        return results


# ---- the same task with a Transformer ---------------------------------------------------------------------------
@dataclass
class TransformerSeq2SeqConfig:
    src_vocab: int = 64
    tgt_vocab: int = 16
    d_model: int = 64
    nhead: int = 4
    layers: int = 2            # encoder layers and decoder layers
    dim_feedforward: int = 256
    dropout: float = 0.1
    norm_first: bool = False   # pre-norm layers (LayerNorm before each block) instead of post-norm
    positions: str = "sinusoidal"  # or 'learned'
    max_positions: int = 128
    pad_index: int = 0
    bos_index: int = 2
    eos_index: int = 3
    max_len: int = 12


class TransformerSeq2Seq(nn.Module):
    """Embeddings + positions -> ``nn.Transformer`` (batch_first) -> Linear.

    NOTE: no sqrt(d_model) scaling of the embeddings: Vaswani et al. scale embeddings initialised with std
    d_model^-1/2; ``nn.Embedding`` starts at N(0, 1), already the size of the positional terms (in [-1, 1]).
    Scaled by sqrt(64) = 8 they drowned the positions and the model confused digit orders (1957 -> 1975): on
    the dates (6 epochs, dropout 0, pre-norm, Adam 2e-3) 85.7% test exact match with the scaling, 99.2% without.

    The encoder ignores source padding (``src_key_padding_mask``, also the decoder's
    ``memory_key_padding_mask``); the decoder's self-attention is causal (``tgt_mask``) and ignores target
    padding (``tgt_key_padding_mask``).

    Shape: as :class:`Seq2Seq`: ``forward(src, src_lengths, tgt_in)`` -> logits (B, T, tgt_vocab).

    Example::

        >>> from nnzoo.zoo.seq2seq import TransformerSeq2Seq
        >>> model = TransformerSeq2Seq(src_vocab=20, tgt_vocab=10, d_model=16, nhead=2, dim_feedforward=32)
        >>> src = nnzoo.tensor([[5, 6, 7], [8, 9, 0]]); lengths = nnzoo.tensor([3, 2])
        >>> model(src, lengths, nnzoo.tensor([[2, 4], [2, 5]])).shape
        nnzoo.Size([2, 2, 10])
        >>> tokens = model.eval().greedy(src, lengths, max_len=4)
        >>> tokens.shape[0], tokens.shape[1] <= 4
        (2, True)
    """

    def __init__(self, config=None, **overrides):
        super().__init__()
        self.config = c = TransformerSeq2SeqConfig(**{**asdict(config or TransformerSeq2SeqConfig()), **overrides})
        if c.positions not in ("sinusoidal", "learned"):
            raise ValueError(f"TransformerSeq2Seq: positions must be 'sinusoidal' or 'learned', got {c.positions!r}")
        self.src_embedding = nn.Embedding(c.src_vocab, c.d_model, padding_idx=c.pad_index)
        self.tgt_embedding = nn.Embedding(c.tgt_vocab, c.d_model, padding_idx=c.pad_index)
        Positions = nn.SinusoidalPositionalEncoding if c.positions == "sinusoidal" else nn.LearnedPositionalEncoding
        self.src_positions = Positions(c.d_model, c.max_positions, c.dropout, batch_first=True)
        self.tgt_positions = Positions(c.d_model, c.max_positions, c.dropout, batch_first=True)
        self.transformer = nn.Transformer(c.d_model, c.nhead, c.layers, c.layers, c.dim_feedforward, c.dropout,
                                          batch_first=True, norm_first=c.norm_first)
        self.out = nn.Linear(c.d_model, c.tgt_vocab)

    def encode(self, src, src_lengths=None):
        """memory (B, L, d_model) and the source padding mask (B, L) bool, True on padding (PyTorch's sense)."""
        pad = Tensor._make(~_source_mask(src, src_lengths))
        x = self.src_positions(self.src_embedding(src))                                         # (B, L, D)
        return self.transformer.encoder(x, src_key_padding_mask=pad), pad

    def decode(self, tgt_in, memory, src_pad):
        """Logits (B, T, V) of the next token after every prefix of tgt_in (B, T)."""
        T = tgt_in.shape[1]
        causal = nn.Transformer.generate_square_subsequent_mask(T)                             # (T, T)
        y = self.tgt_positions(self.tgt_embedding(tgt_in))                                      # (B, T, D)
        h = self.transformer.decoder(y, memory, tgt_mask=causal, tgt_is_causal=True,
                                     tgt_key_padding_mask=Tensor._make(_array(tgt_in) == self.config.pad_index),
                                     memory_key_padding_mask=src_pad)                           # (B, T, D)
        return self.out(h)

    def forward(self, src, src_lengths, tgt_in):
        memory, src_pad = self.encode(src, src_lengths)
        return self.decode(tgt_in, memory, src_pad)

    @no_grad()
    def greedy(self, src, src_lengths=None, max_len=None):
        """Batched greedy decoding (the decoder re-reads the whole prefix at each step); tokens (B, T) int64,
        <eos> included, <pad> after it."""
        c = self.config
        max_len = max_len or c.max_len
        memory, src_pad = self.encode(src, src_lengths)
        B = src.shape[0]
        ys = np.full((B, 1), c.bos_index, dtype=np.int64)
        done = np.zeros(B, dtype=bool)
        for _ in range(max_len):
            logits = self.decode(tensor(ys), memory, src_pad)                                   # (B, t, V)
            nxt = np.where(done, c.pad_index, _array(logits[:, -1].argmax(-1)))
            ys = np.concatenate([ys, nxt[:, None]], 1)
            done |= nxt == c.eos_index
            if done.all():
                break
        return tensor(ys[:, 1:])
