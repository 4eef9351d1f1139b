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

Recipes ``date-translator`` (the attention GRU) and ``date-transformer``: human-readable dates to ISO dates
(``"saturday 9 may 2018" -> "2018-05-09"``) from :func:`~nnzoo.data.datasets.dates.dates`, character by
character; tested on 1,000 freshly generated dates whose text never occurs in training, by the exact match
and the per-character accuracy of the greedy decoding. ``nnzoo translate "saturday 9 may 2018"`` runs
:func:`translate` on the trained model. Data hyper-parameters: ``locales`` (comma-separated Babel names, '' for
all 8 of ``DATE_LOCALES``), ``formats`` ('|'-separated, since CLDR patterns hold commas; '' for all 18 of
``DATE_FORMATS``), ``n_train`` / ``n_val`` / ``n_test`` and ``data_seed``. The recipes use the full mixture;
about 0.25% of its dates (en_US's M/d/yy with day and month both <= 12) read two ways, so no model reaches 100%.

Measured (``python -m benchmarks.date_translation``: 1 BLAS thread on a shared 2-core machine, defaults, seed 0):
``date-translator`` 99.6% exact match, 99.88% characters on the 1,000 test dates after 97 s of training (3 epochs);
``date-transformer`` 99.2% and 99.85% after 241 s (6 epochs).
"""
import functools
from dataclasses import asdict, dataclass

import numpy as np

from .. import nn
from ..autograd.grad_mode import no_grad
from ..creation import full, tensor, zeros_like
from ..ops.shape import cat, stack
from ..random import rand
from ..tensor import Tensor
from ..nn.utils import evaluating
from . import Recipe, register

__all__ = ["Seq2Seq", "Seq2SeqConfig", "TransformerSeq2Seq", "TransformerSeq2SeqConfig", "SequenceLoss",
           "token_accuracy", "translation_scores", "date_vocabs", "date_splits", "translate",
           "attention_figure"]

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
        B, L = src.shape
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


# ---- loss and metrics --------------------------------------------------------------------------------------------
class SequenceLoss(nn.Module):
    """Mean cross-entropy of (B, T, V) logits against (B, T) targets over the non-padding positions."""

    def __init__(self, pad_index=0):
        super().__init__()
        self.pad_index = pad_index
        self.loss = nn.CrossEntropyLoss(ignore_index=pad_index)

    def forward(self, logits, target):
        return self.loss(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))


def token_accuracy(logits, target, pad_index=0):
    """The fraction of non-padding target tokens that are the argmax of their (teacher-forced) logits.

    Example::

        >>> from nnzoo.zoo.seq2seq import token_accuracy
        >>> token_accuracy(nnzoo.tensor([[[0.0, 1.0], [1.0, 0.0], [0.0, 1.0]]]), nnzoo.tensor([[1, 1, 0]]))
        0.5
    """
    t = _array(target)
    keep = t != pad_index
    return float((_array(logits).argmax(-1) == t)[keep].mean())


def translation_scores(predictions, targets):
    """Exact match (the fraction of predicted strings equal to their target) and per-character accuracy
    (characters of the targets that the prediction has at the same position, over all target characters;
    a prediction's missing characters count as wrong).

    Example::

        >>> from nnzoo.zoo.seq2seq import translation_scores
        >>> translation_scores(["2018-05-09", "2018-05-1"], ["2018-05-09", "2018-05-10"])
        {'exact_match': 0.5, 'char_accuracy': 0.95}
    """
    if len(predictions) != len(targets):
        raise ValueError(f"translation_scores: {len(predictions)} predictions for {len(targets)} targets")
    exact = sum(p == t for p, t in zip(predictions, targets))
    right = sum(sum(a == b for a, b in zip(p, t)) for p, t in zip(predictions, targets))
    total = sum(len(t) for t in targets)
    return {"exact_match": exact / max(len(targets), 1), "char_accuracy": right / max(total, 1)}


# ---- the date-translation data -------------------------------------------------------------------------------------
def _split(text, sep):
    return tuple(s for s in text.split(sep) if s) if text else ()


def _locales_formats(config):
    from ..data.datasets.dates import DATE_FORMATS, DATE_LOCALES
    locales, formats = _split(config.get("locales", ""), ","), _split(config.get("formats", ""), "|")
    return locales or DATE_LOCALES, formats or DATE_FORMATS


@functools.lru_cache(maxsize=8)
def date_vocabs(locales, formats):
    """(source, target) character vocabularies of the date task, a function of the locales and formats only
    (so a trained model's vocabularies are rebuilt from its config): the characters of every 5th day of 2000
    (all months, all weekdays, all digits) written in every locale and format, lower-cased; and '0'-'9', '-'.
    Both have the specials <pad> <unk> <bos> <eos> at 0-3.

    Example::

        >>> from nnzoo.zoo.seq2seq import date_vocabs
        >>> src, tgt = date_vocabs(("en_GB",), ("d MMMM y",))
        >>> tgt.itos[4:], "y" in src, src.encode("9 may 2018")[:2] == [src["9"], src[" "]]
        (['-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], True, True)
    """
    import datetime
    from babel import Locale
    from babel.dates import format_date
    from ..data import Vocab
    days = [datetime.date(2000, 1, 1) + datetime.timedelta(days=5 * k) for k in range(73)]
    text = "".join(format_date(d, fmt, locale=Locale.parse(loc)).lower()
                   for loc in locales for fmt in formats for d in days)
    return Vocab.chars(text), Vocab(sorted("0123456789-"), tokenizer="char")


def _fresh(n, seed, locales, formats, unseen):
    """n pairs from dates(seed, seed + 1000, ...) whose source text is not in ``unseen``."""
    from ..data.datasets.dates import dates
    out, k = [], 0
    while len(out) < n:
        out += [p for p in dates(2 * n, seed=seed + 1000 * k, locales=locales, formats=formats) if p[0] not in unseen]
        k += 1
    return out[:n]


@functools.lru_cache(maxsize=4)
def _date_pairs(n_train, n_val, n_test, data_seed, locales, formats):
    from ..data.datasets.dates import dates
    train = dates(n_train, seed=data_seed, locales=locales, formats=formats)
    seen = {s for s, _ in train}
    val = _fresh(n_val, data_seed + 1, locales, formats, seen)
    test = _fresh(n_test, data_seed + 2, locales, formats, seen | {s for s, _ in val})
    return train, val, test


def date_splits(config):
    """(train, val, test) lists of (text, iso) pairs: ``n_train`` dates drawn with ``data_seed``; validation
    and test sets of fresh dates (other seeds) whose text occurs in no earlier split (checked here)."""
    locales, formats = _locales_formats(config)
    return _date_pairs(config["n_train"], config["n_val"], config["n_test"], config["data_seed"], locales, formats)


def _encode_pairs(pairs, src_vocab, tgt_vocab):
    """TensorDataset of src (N, L) padded, lengths (N,), tgt_in (N, T) = <bos> y, tgt_out (N, T) = y <eos>."""
    from ..data import TensorDataset
    src = [src_vocab.encode(s) for s, _ in pairs]
    tgt = [tgt_vocab.encode(t) for _, t in pairs]
    L, T = max(map(len, src)), max(map(len, tgt)) + 1
    S = np.full((len(pairs), L), src_vocab.pad_index, dtype=np.int64)
    Ti = np.full((len(pairs), T), tgt_vocab.pad_index, dtype=np.int64)
    To = Ti.copy()
    for k, (s, t) in enumerate(zip(src, tgt)):
        S[k, :len(s)] = s
        Ti[k, :len(t) + 1] = [tgt_vocab.bos_index] + t
        To[k, :len(t) + 1] = t + [tgt_vocab.eos_index]
    lengths = np.array([len(s) for s in src], dtype=np.int64)
    return TensorDataset(tensor(S), tensor(lengths), tensor(Ti), tensor(To))


def _load(config):
    src_vocab, tgt_vocab = date_vocabs(*_locales_formats(config))
    return tuple(_encode_pairs(p, src_vocab, tgt_vocab) for p in date_splits(config))


def _loaders(config, data, seed):
    from ..data import DataLoader
    from ..random import Generator
    train, val, test = data
    return (DataLoader(train, batch_size=config["batch_size"], shuffle=True, generator=Generator().manual_seed(seed)),
            DataLoader(val, batch_size=500), DataLoader(test, batch_size=500))


def _batch(batch):
    """((src, lengths, tgt_in), tgt_out) with src cut to the batch's longest source."""
    src, lengths, tgt_in, tgt_out = batch
    return (src[:, :int(_array(lengths).max())], lengths, tgt_in), tgt_out


def _vocabs(config):
    return date_vocabs(*_locales_formats(config))


def _build_attention(config):
    src, tgt = _vocabs(config)
    return Seq2Seq(src_vocab=len(src), tgt_vocab=len(tgt), embed=config["embed"], enc_hidden=config["enc_hidden"],
                   dec_hidden=config["dec_hidden"], attn_hidden=config["attn_hidden"], cell=config["cell"],
                   teacher_forcing=config["teacher_forcing"], pad_index=src.pad_index, bos_index=tgt.bos_index,
                   eos_index=tgt.eos_index, max_len=12)


def _build_transformer(config):
    src, tgt = _vocabs(config)
    return TransformerSeq2Seq(src_vocab=len(src), tgt_vocab=len(tgt), d_model=config["d_model"],
                              nhead=config["nhead"], layers=config["layers"],
                              dim_feedforward=config["dim_feedforward"], dropout=config["dropout"],
                              norm_first=config["norm_first"], positions=config["positions"],
                              pad_index=src.pad_index, bos_index=tgt.bos_index, eos_index=tgt.eos_index, max_len=12)


def _decode_batch(model, texts, config):
    """Greedy translations of a list of texts, and the attention weights (None for the Transformer)."""
    src_vocab, tgt_vocab = _vocabs(config)
    ds = _encode_pairs([(t.lower(), "") for t in texts], src_vocab, tgt_vocab)
    src, lengths = ds.tensors[0], ds.tensors[1]
    with evaluating(model):
        out = model.greedy(src, lengths)
    tokens, weights = out if isinstance(out, tuple) else (out, None)
    return tgt_vocab.decode(tokens, skip_specials=True, stop_at_eos=True), weights


@functools.lru_cache(maxsize=8)
def longest_date(locales, formats):
    """The length of the longest date text the locales and formats write (lower-cased): every month with
    every weekday and a two-digit day (the 22nd-28th of each month of 2000), so the longest month and
    weekday names meet: 38 for the date recipes' defaults (all locales and formats)."""
    import datetime
    from babel import Locale
    from babel.dates import format_date
    days = [datetime.date(2000, month, day) for month in range(1, 13) for day in range(22, 29)]
    return max(len(format_date(d, fmt, locale=Locale.parse(loc))) for loc in locales for fmt in formats for d in days)


# how many characters beyond the longest date the recipes write ``source_text`` keeps (spellings of a
# date a little longer than the trained formats); more is cut
_SOURCE_MARGIN = 10


def source_text(config, text):
    """``text`` made fit for a date model trained with ``config``: lower-cased, runs of white space made one
    space, characters outside the source vocabulary dropped, and the rest cut to ``longest_date`` of the
    config's locales and formats plus 10 characters (a bound on what the recipe's data can hold).

    Returns:
        (str, list of str): the text to translate (maybe empty) and notes on what was dropped or cut.

    Example::

        >>> from nnzoo.zoo.seq2seq import source_text
        >>> source_text({"locales": "en_GB", "formats": "d MMMM y"}, "Saturday 9 May 2018 ☺")
        ('saturday 9 may 2018', ["dropped 1 character outside the model's vocabulary: '☺'"])
    """
    src_vocab, _ = _vocabs(config)
    clean = " ".join(str(text).lower().split())
    unknown = [ch for ch in clean if ch != " " and ch not in src_vocab]
    notes = []
    if unknown:
        kinds = list(dict.fromkeys(unknown))
        shown = ", ".join(map(repr, kinds[:8])) + (f" and {len(kinds) - 8} more" if len(kinds) > 8 else "")
        notes.append(f"dropped {len(unknown)} character{'s' if len(unknown) > 1 else ''} outside the model's "
                     f"vocabulary: {shown}")
        clean = " ".join("".join(ch for ch in clean if ch == " " or ch in src_vocab).split())
    limit = longest_date(*_locales_formats(config)) + _SOURCE_MARGIN
    if len(clean) > limit:
        notes.append(f"cut the text to its first {limit} characters (the longest date the model was trained on "
                     f"has {limit - _SOURCE_MARGIN}): {clean[:limit]!r}")
        clean = clean[:limit].rstrip()
    return clean, notes


def translate(model, config, text):
    """The model's (greedy) translation of one text: ``translate(model, config, "saturday 9 may 2018")`` ->
    ``'2018-05-09'`` for a trained date translator (``config`` is the run's, for the vocabularies)."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"translate: expected a non-empty str, got {text!r}")
    return _decode_batch(model, [text.strip()], config)[0][0]


def attention_figure(weights, source, output, title=None):
    """A heat-map of attention weights (output characters x input characters) as a matplotlib Figure.

    Args:
        weights: (len(output), >= len(source)) array; source, output: the strings (or token lists).
    """
    from ..viz.plots import _figure
    w = np.asarray(weights)[:len(output), :len(source)]
    output = list(output)[:w.shape[0]]
    fig = _figure(figsize=(max(3.0, 0.28 * len(source) + 1.0), max(2.5, 0.28 * len(output) + 1.0)))
    ax = fig.add_subplot()
    im = ax.imshow(w, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(source)), [("␣" if ch == " " else ch) for ch in source])
    ax.set_yticks(range(len(output)), output)
    ax.set_xlabel("input characters")
    ax.set_ylabel("output characters")
    if title:
        ax.set_title(title, fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return fig


def _finish(model, config, data, out_dir):
    """Greedy exact match and character accuracy on the test (and validation) dates, examples, heat-maps."""
    from ..viz.plots import save_figure
    train_pairs, val_pairs, test_pairs = date_splits(config)
    seen = {s for s, _ in train_pairs}
    if any(s in seen for s, _ in test_pairs) or any(s in seen for s, _ in val_pairs):
        raise RuntimeError("date recipe: a test or validation date also occurs in the training set")
    result = {}
    for name, pairs in (("val", val_pairs), ("test", test_pairs)):
        preds = []
        for k in range(0, len(pairs), 500):
            preds += _decode_batch(model, [s for s, _ in pairs[k:k + 500]], config)[0]
        scores = translation_scores(preds, [t for _, t in pairs])
        result[f"{name}_exact_match"], result[f"{name}_char_accuracy"] = scores["exact_match"], scores["char_accuracy"]
        if name == "test":
            result["test_errors"] = [(s, t, p) for (s, t), p in zip(pairs, preds) if p != t][:20]
    examples = [test_pairs[k][0] for k in range(0, len(test_pairs), max(1, len(test_pairs) // 6))][:6]
    examples = ["saturday 9 may 2018"] + examples
    outputs, weights = _decode_batch(model, examples, config)
    result["examples"] = list(zip(examples, outputs))
    result["parameters"] = sum(p.numel() for p in model.parameters())
    figures = []
    if weights is not None:
        for k in range(min(4, len(examples))):
            out = outputs[k] + "⟨eos⟩"
            fig = attention_figure(_array(weights)[k], examples[k], list(outputs[k]) + ["<eos>"],
                                   title=f"{examples[k]!r} -> {outputs[k]!r}")
            path = save_figure(fig, out_dir / f"attention_{k}.png")
            figures.append((str(path), f"attention: {examples[k]!r} -> {out}"))
    result["figures"] = figures
    return result


_DATA_DEFAULTS = {"locales": "", "formats": "", "n_train": 50000, "n_val": 1000, "n_test": 1000, "data_seed": 0}


def _known_locales(text, config=None):
    from babel import Locale
    try:
        return all(Locale.parse(name) for name in _split(text, ","))
    except Exception:   # babel's UnknownLocaleError and ValueError for a malformed name
        return False


def _writable_formats(text, config):
    """Every format writes a date in every locale of the config (Babel fails on, e.g., time-zone fields)."""
    import datetime
    from babel.dates import format_date
    locales, formats = _locales_formats(config) if _known_locales(config.get("locales", "")) else ((), ())
    try:
        return all(format_date(datetime.date(2000, 9, 27), f, locale=loc) for loc in locales for f in formats)
    except Exception:   # whatever Babel raises for a pattern it cannot write
        return False


def _data_rules():
    """The data hyper-parameters with rules of their own (see Recipe.constraints)."""
    from ..data.datasets.dates import DATE_FORMATS, DATE_LOCALES
    return {"locales": (_known_locales, f"'' (all of {','.join(DATE_LOCALES)}) or comma-separated Babel locale "
                                        "names, e.g. en_GB,fr_FR"),
            "formats": (_writable_formats, f"'' (the {len(DATE_FORMATS)} default formats) or |-separated Babel "
                                           "date formats, e.g. 'd MMMM y|short'")}

register(Recipe(
    name="date-translator",
    description="human-readable dates -> ISO dates: bi-GRU encoder, GRU decoder with Bahdanau attention",
    build_model=_build_attention,
    load_data=_load,
    loss=SequenceLoss,
    defaults={**_DATA_DEFAULTS, "embed": 32, "enc_hidden": 64, "dec_hidden": 128, "attn_hidden": 64, "cell": "gru",
              "teacher_forcing": 1.0, "epochs": 3, "lr": 3e-3, "batch_size": 128, "optimizer": "adam",
              "clip_grad_norm": 1.0},
    metrics=(token_accuracy,),
    loaders=_loaders,
    trainer_options={"batch_fn": _batch},
    finish=_finish,
    constraints={**_data_rules(), "cell": (lambda v, c: v in _ENCODERS, " or ".join(_ENCODERS)),
                 "teacher_forcing": (lambda v, c: 0 <= v <= 1, "a number in [0, 1]")},
))

register(Recipe(
    name="date-transformer",
    description="human-readable dates -> ISO dates with a Transformer encoder-decoder",
    build_model=_build_transformer,
    load_data=_load,
    loss=SequenceLoss,
    defaults={**_DATA_DEFAULTS, "d_model": 64, "nhead": 4, "layers": 2, "dim_feedforward": 256, "dropout": 0.0,
              "norm_first": True, "positions": "sinusoidal", "epochs": 6, "lr": 2e-3, "batch_size": 128,
              "optimizer": "adam", "clip_grad_norm": 1.0},
    metrics=(token_accuracy,),
    loaders=_loaders,
    trainer_options={"batch_fn": _batch},
    finish=_finish,
    constraints={**_data_rules(), "positions": (lambda v, c: v in ("sinusoidal", "learned"), "sinusoidal or learned"),
                 "d_model": (lambda v, c: v >= 1 and v % c["nhead"] == 0,
                             "an integer >= 1, a multiple of nhead ({nhead})")},
))
