"""Image captioning: a CNN reads the image, an LSTM writes its caption one word at a time.

Both models share the encoder, a small CNN whose last feature map (B, C, h, w) holds L = h * w annotation vectors
a_1 .. a_L of C numbers, one per image region (Xu et al. 2015's notation). The decoders differ in how they
see the image:

**Show and Tell** (Vinyals et al. 2015, :class:`ShowAndTell`): the image as one vector, the LSTM's first state::

    f           = W_f flatten(a) + b_f                                   the image's feature vector
    h_0, c_0    = tanh(W_h f), tanh(W_c f)
    h_t, c_t    = LSTM(E y_{t-1}, (h_{t-1}, c_{t-1}))
    p(y_t | y_<t, image) = softmax(W_o dropout(h_t) + b_o)

**Show, Attend and Tell** (Xu et al. 2015, :class:`ShowAttendTell`): soft attention over the regions at every
step::

    h_0, c_0    = tanh(W_h mean_i a_i), tanh(W_c mean_i a_i)
    e_ti        = v^T tanh(W_a a_i + W_s h_{t-1}),  alpha_t = softmax_i(e_t)       where to look for word t
    z_t         = beta_t * sum_i alpha_ti a_i,  beta_t = sigmoid(W_b h_{t-1})      (the gate: ``gate=True``)
    h_t, c_t    = LSTMCell([E y_{t-1}; z_t], (h_{t-1}, c_{t-1}))
    p(y_t | y_<t, image) = softmax(L_o dropout(E y_{t-1} + L_h h_t + L_z z_t))      the deep output layer

and the doubly stochastic regulariser lambda * sum_i (1 - sum_t alpha_ti)^2 (each region looked at about once
over the caption; :func:`attention_regulariser`).

Training feeds the true previous word (teacher forcing); :meth:`~_Captioner.greedy` (batched) and
:meth:`~_Captioner.beam_search` write captions, the attention model with its alpha_t per generated word.
Trained by the recipes ``caption`` and ``caption-attention`` (:mod:`nnzoo.recipes.caption`) on generated scenes.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .. import nn
from ..autograd.arrays import array, assign_
from ..autograd.grad_mode import no_grad
from ..creation import full, tensor
from ..ops.shape import cat, stack
from ..tensor import Tensor

__all__ = ["CaptionConfig", "CaptionEncoder", "ShowAndTell", "ShowAttendTell", "attention_regulariser"]


@dataclass
class CaptionConfig:
    vocab: int = 32                 # words, specials included
    image_size: int = 48            # side of the square input images
    in_channels: int = 3
    channels: tuple = (32, 64, 64)  # one conv stage (3x3 conv, ReLU, 2x2 max-pool) per entry
    coords: bool = True             # two coordinate channels (x, y in [-1, 1]) appended to the image
    batch_norm: bool = True         # BatchNorm2d after each convolution
    embed: int = 64                 # word embedding
    hidden: int = 256               # LSTM state
    attn_hidden: int = 128          # width of the attention's tanh layer
    gate: bool = True               # the attention's gating scalar beta_t
    dropout: float = 0.0            # before the output layer
    forget_bias: float = 1.0        # the LSTM's forget-gate bias at initialisation (b_ih + b_hh; PyTorch's: ~0)
    pad_index: int = 0              # the vocabulary's special tokens (nnzoo.data.Vocab's order)
    bos_index: int = 2
    eos_index: int = 3
    max_len: int = 32               # decoding stops after this many words (<eos> included)


def _config(config, overrides):
    c = CaptionConfig(**{**asdict(config or CaptionConfig()), **overrides})
    c.channels = tuple(c.channels)
    if c.image_size % (2 ** len(c.channels)):
        raise ValueError(f"caption: image_size {c.image_size} must be a multiple of 2 ** len(channels) = "
                         f"{2 ** len(c.channels)}")
    return c


class CaptionEncoder(nn.Module):
    """The CNN: [coordinate channels,] then per stage Conv2d(3x3, padding 1), [BatchNorm2d,] ReLU, MaxPool2d(2).

    NOTE: without batch norm the features barely differ between images at initialisation: Show and Tell's first
    state h_0 varied across a batch of scenes by 0.005 (standard deviation), 0.18 with it. The attention model
    (default recipe, seed 0) reached a loss of 0.44 per word and 1% exact match after 300 steps without batch
    norm (and forget bias 0), 0.07 and 78% with both. Both models use it.

    NOTE: the coordinate channels (CoordConv, Liu et al. 2018) let a region's features say where the region is:
    a convolution is translation-equivariant, and the captions name positions. Both models get them.

    Shape: images (B, in_channels, S, S) -> feature map (B, channels[-1], S / 2^k, S / 2^k).
    """

    def __init__(self, config: CaptionConfig) -> None:
        super().__init__()
        self.coords = config.coords
        layers, c_in = [], config.in_channels + (2 if config.coords else 0)
        for c_out in config.channels:
            layers += [nn.Conv2d(c_in, c_out, 3, padding=1)] + ([nn.BatchNorm2d(c_out)] if config.batch_norm else []) \
                + [nn.ReLU(), nn.MaxPool2d(2)]
            c_in = c_out
        self.net = nn.Sequential(*layers)
        S = config.image_size
        ramp = np.linspace(-1.0, 1.0, S, dtype=np.float32)
        grid = np.stack([np.broadcast_to(ramp[None, :], (S, S)), np.broadcast_to(ramp[:, None], (S, S))])
        self.register_buffer("grid", tensor(grid[None]), persistent=False)   # (1, 2, S, S): x, y

    def forward(self, images: Tensor) -> Tensor:
        if self.coords:
            B = images.shape[0]
            images = cat([images, self.grid.expand(B, -1, -1, -1).to(images.dtype)], 1)   # (B, C + 2, S, S)
        return self.net(images)                                                            # (B, C', h, w)


def _forget_bias(b_ih: Tensor, b_hh: Tensor, value: float) -> None:
    """Set the forget gate's total bias (PyTorch's gate order i, f, g, o) to ``value``: b_ih's slice to value,
    b_hh's to 0.

    NOTE: Show and Tell carries the image in the LSTM's first state only; with PyTorch's initialisation (forget
    bias ~0, f ~ 0.5) that state halves at every word. A bias of 1 (Gers et al. 2000, Jozefowicz et al. 2015)
    keeps more of it; alone it did not get Show and Tell off its plateau (what did: a smaller learning rate, see
    :mod:`nnzoo.recipes.caption`). Both models use it.
    """
    H = b_ih.shape[0] // 4
    f_ih, f_hh = array(b_ih).copy(), array(b_hh).copy()
    f_ih[H:2 * H], f_hh[H:2 * H] = value, 0.0
    assign_(b_ih, f_ih)
    assign_(b_hh, f_hh)


class _Captioner(nn.Module):
    """What both captioners share: the encoder, the embedding, teacher-forced training and the decoding loops.

    A subclass defines ``start(images) -> (state, memory)`` and ``step(words, state, memory) -> (logits, state,
    alpha)`` (alpha None without attention), and ``select(state, memory, rows)`` to reorder beams.
    """

    def __init__(self, config: CaptionConfig) -> None:
        super().__init__()
        self.config = c = config
        self.encoder = CaptionEncoder(c)
        self.feature_size = c.image_size // 2 ** len(c.channels)          # h = w
        self.embedding = nn.Embedding(c.vocab, c.embed, padding_idx=c.pad_index)
        self.drop = nn.Dropout(c.dropout)

    @no_grad()
    def greedy(self, images: Tensor, max_len: int | None = None) -> tuple:
        """Batched greedy decoding: start from <bos>, append the argmax, until every caption has <eos> (or
        ``max_len`` words, default the config's).

        Returns:
            tokens (B, T) int64 (<eos> included, <pad> after it) and the attention weights (B, T, L) of every
            generated word over the L regions (0 after <eos>; None for a model without attention).
        """
        c = self.config
        max_len = max_len or c.max_len
        state, memory = self.start(images)
        B = images.shape[0]
        y = full((B,), c.bos_index, dtype=np.int64)
        done = np.zeros(B, dtype=bool)
        tokens, weights = [], []
        for _ in range(max_len):
            logits, state, alpha = self.step(y, state, memory)
            nxt = np.where(done, c.pad_index, array(logits.argmax(-1)))                  # (B,)
            tokens.append(nxt)
            if alpha is not None:
                weights.append(np.where(done[:, None], 0.0, array(alpha)).astype(array(alpha).dtype))
            done |= nxt == c.eos_index
            if done.all():
                break
            y = tensor(nxt)
        return tensor(np.stack(tokens, 1)), (tensor(np.stack(weights, 1)) if weights else None)

    @no_grad()
    def beam_search(self, images: Tensor, beam_width: int = 3, alpha: float = 0.0, max_len: int | None = None) -> list:
        """Beam search, one image at a time: keep the ``beam_width`` most likely prefixes; a prefix that writes
        <eos> is finished; stop when none is left (or after ``max_len`` steps) and return the finished caption
        with the best score log P(y) / lp(y), lp(y) = ((5 + |y|) / 6) ** alpha (Wu et al. 2016; |y| counts
        <eos>; alpha = 0: the raw log-probability). ``beam_width=1`` is greedy decoding.

        Returns:
            a list of B tuples (tokens: list of int, <eos> included if written; weights: (len(tokens), L) array
            of the attention per word, or None without attention; score: the log-probability).
        """
        c = self.config
        max_len = max_len or c.max_len
        if beam_width < 1:
            raise ValueError(f"{type(self).__name__}.beam_search: beam_width must be >= 1, got {beam_width}")
        results = []
        for b in range(images.shape[0]):
            state, memory = self.start(images[b:b + 1])
            beams, scores = [[]], np.zeros(1)
            attn = None                            # (k, t, L): the alive prefixes' attention rows
            finished = []                          # (normalised score, tokens, weights, score)
            for t in range(max_len):
                prev = tensor(np.array([bs[-1] if bs else c.bos_index for bs in beams], dtype=np.int64))
                logits, state, a = self.step(prev, state, memory)
                z = array(logits).astype(np.float64)                                       # (k, V)
                logp = z - z.max(1, keepdims=True)
                logp -= np.log(np.exp(logp).sum(1, keepdims=True))
                cand = (scores[:, None] + logp).ravel()
                # NOTE: a stable sort keeps the lowest word id among equal scores, as argmax does
                best = np.argsort(-cand, kind="stable")[:beam_width]
                parent, token = np.divmod(best, logp.shape[1])
                if a is not None:
                    rows = array(a).astype(np.float64)[parent][:, None]                  # (k', 1, L)
                    attn = rows if attn is None else np.concatenate([attn[parent], rows], 1)
                keep = []
                for j, (p, tok) in enumerate(zip(parent, token)):
                    seq = beams[p] + [int(tok)]
                    if tok == c.eos_index or t == max_len - 1:
                        finished.append((cand[best[j]] / ((5 + len(seq)) / 6) ** alpha, seq,
                                         None if attn is None else attn[j], float(cand[best[j]])))
                    else:
                        keep.append((j, seq))
                if not keep:
                    break
                idx = np.array([j for j, _ in keep])
                beams, scores = [s for _, s in keep], cand[best[idx]]
                attn = None if attn is None else attn[idx]
                state, memory = self.select(state, memory, tensor(parent[idx]))
            _, seq, weights, score = max(finished, key=lambda f: f[0])
            results.append((seq, weights, score))
        return results


class ShowAndTell(_Captioner):
    """CNN encoder, the image's feature vector as the LSTM's initial state, an output Linear (Vinyals et al.
    2015): f = W_f flatten(a) + b_f, (h_0, c_0) = (tanh(W_h f), tanh(W_c f)),
    h_t = LSTM(E y_{t-1}, h_{t-1}), p(y_t) = softmax(W_o h_t + b_o).

    Args:
        config (CaptionConfig): sizes and special tokens; keyword arguments override its fields (``feature``:
            the width of f, default ``hidden``).

    Shape: ``forward(images, words_in)``: images (B, in_channels, S, S), words_in (B, T) int64 (<bos> then the
    caption); output logits (B, T, vocab) of the next words (the caption then <eos>).

    Example::

        >>> from nnzoo.zoo.caption import ShowAndTell
        >>> model = ShowAndTell(vocab=12, image_size=16, channels=(4, 8), embed=8, hidden=16)
        >>> images = nnzoo.rand(2, 3, 16, 16)
        >>> model(images, nnzoo.tensor([[2, 5, 6], [2, 7, 0]])).shape
        nnzoo.Size([2, 3, 12])
        >>> tokens, weights = model.greedy(images, max_len=4)
        >>> tokens.shape[0], tokens.shape[1] <= 4, weights is None
        (2, True, True)
    """

    def __init__(self, config: CaptionConfig | None = None, feature: int | None = None, **overrides) -> None:
        c = _config(config, overrides)
        super().__init__(c)
        L = self.feature_size ** 2
        self.feature = nn.Linear(c.channels[-1] * L, feature or c.hidden)
        self.init_h = nn.Linear(feature or c.hidden, c.hidden)
        self.init_c = nn.Linear(feature or c.hidden, c.hidden)
        self.lstm = nn.LSTM(c.embed, c.hidden, batch_first=True)
        _forget_bias(self.lstm.bias_ih_l0, self.lstm.bias_hh_l0, c.forget_bias)
        self.out = nn.Linear(c.hidden, c.vocab)

    def start(self, images: Tensor) -> tuple:
        """The first state ((1, B, H), (1, B, H)) from the image's feature vector; no memory."""
        f = self.feature(self.encoder(images).flatten(1))                  # (B, F)
        h0, c0 = self.init_h(f).tanh(), self.init_c(f).tanh()              # (B, H)
        return (h0.unsqueeze(0), c0.unsqueeze(0)), None

    def step(self, words: Tensor, state: tuple, memory=None) -> tuple:
        """One word: logits (B, vocab) of the next word after ``words`` (B,), the new state, no attention."""
        h, state = self.lstm(self.embedding(words).unsqueeze(1), state)   # (B, 1, H)
        return self.out(self.drop(h[:, 0])), state, None

    def select(self, state: tuple, memory, rows: Tensor) -> tuple:
        return (state[0].index_select(1, rows), state[1].index_select(1, rows)), memory

    def forward(self, images: Tensor, words_in: Tensor) -> Tensor:
        state, _ = self.start(images)
        h, _ = self.lstm(self.embedding(words_in), state)                  # (B, T, H): one fused LSTM call
        return self.out(self.drop(h))                                      # (B, T, V)


class ShowAttendTell(_Captioner):
    """CNN encoder, an LSTM decoder with soft (additive) attention over the L regions of the feature map and a deep
    output layer (Xu et al. 2015): alpha_t = softmax(v^T tanh(W_a a + W_s h_{t-1})), z_t = beta_t sum_i alpha_ti a_i,
    h_t = LSTMCell([E y_{t-1}; z_t], h_{t-1}), p(y_t) = softmax(L_o(E y_{t-1} + L_h h_t + L_z z_t)).

    Args:
        config (CaptionConfig): sizes, ``gate``, special tokens; keyword arguments override its fields.

    Shape: ``forward(images, words_in, return_attention=False)``: as :class:`ShowAndTell`; with
    ``return_attention`` also the weights (B, T, L) of every step over the L = h * w regions (row-major).

    Example::

        >>> from nnzoo.zoo.caption import ShowAttendTell
        >>> model = ShowAttendTell(vocab=12, image_size=16, channels=(4, 8), embed=8, hidden=16, attn_hidden=8)
        >>> images = nnzoo.rand(2, 3, 16, 16)
        >>> logits, alphas = model(images, nnzoo.tensor([[2, 5, 6], [2, 7, 0]]), return_attention=True)
        >>> logits.shape, alphas.shape
        (nnzoo.Size([2, 3, 12]), nnzoo.Size([2, 3, 16]))
        >>> tokens, weights = model.greedy(images, max_len=4)
        >>> weights.shape[2]
        16
    """

    def __init__(self, config: CaptionConfig | None = None, **overrides) -> None:
        c = _config(config, overrides)
        super().__init__(c)
        D = c.channels[-1]
        self.init_h = nn.Linear(D, c.hidden)
        self.init_c = nn.Linear(D, c.hidden)
        self.attention = nn.BahdanauAttention(c.hidden, D, c.attn_hidden)
        self.gate = nn.Linear(c.hidden, 1) if c.gate else None
        self.cell = nn.LSTMCell(c.embed + D, c.hidden)
        _forget_bias(self.cell.bias_ih, self.cell.bias_hh, c.forget_bias)
        self.out_h = nn.Linear(c.hidden, c.embed)                          # L_h
        self.out_z = nn.Linear(D, c.embed, bias=False)                     # L_z
        self.out = nn.Linear(c.embed, c.vocab)                             # L_o

    def start(self, images: Tensor) -> tuple:
        """The first state (h_0, c_0) from the mean annotation, and the memory: the annotations (B, L, D) and
        their attention projections W_a a (B, L, attn_hidden)."""
        fmap = self.encoder(images)                                        # (B, D, h, w)
        a = fmap.flatten(2).transpose(1, 2)                                # (B, L, D), regions row-major
        mean = a.mean(1)                                                   # (B, D)
        state = (self.init_h(mean).tanh(), self.init_c(mean).tanh())      # (B, H) each
        return state, (a, self.attention.project_keys(a))

    def _step(self, emb: Tensor, state: tuple, memory: tuple) -> tuple:
        a, keys = memory
        h = state[0]
        z, alpha = self.attention(h, a, projected_keys=keys)               # (B, D), (B, L)
        if self.gate is not None:
            z = self.gate(h).sigmoid() * z                                 # beta_t: how much to look
        state = self.cell(cat([emb, z], 1), state)                         # (B, H)
        deep = emb + self.out_h(state[0]) + self.out_z(z)                  # (B, E)
        return deep, state, alpha

    def step(self, words: Tensor, state: tuple, memory: tuple) -> tuple:
        """One word: logits (B, vocab) of the next word after ``words`` (B,), the new state, alpha_t (B, L)."""
        deep, state, alpha = self._step(self.embedding(words), state, memory)
        return self.out(self.drop(deep)), state, alpha

    def select(self, state: tuple, memory: tuple, rows: Tensor) -> tuple:
        a, keys = memory
        return ((state[0].index_select(0, rows), state[1].index_select(0, rows)),
                (a.index_select(0, rows), keys.index_select(0, rows)))

    def forward(self, images: Tensor, words_in: Tensor, return_attention: bool = False):
        state, memory = self.start(images)
        emb = self.embedding(words_in).unbind(1)                           # T x (B, E)
        deeps, alphas = [], []
        for e in emb:
            deep, state, alpha = self._step(e, state, memory)
            deeps.append(deep)
            alphas.append(alpha)
        logits = self.out(self.drop(stack(deeps, 1)))                      # (B, T, V): one GEMM for all steps
        return (logits, stack(alphas, 1)) if return_attention else logits


def attention_regulariser(alphas: Tensor, words_out: Tensor, pad_index: int = 0) -> Tensor:
    """Xu et al.'s doubly stochastic penalty, mean over the batch: sum_i (1 - sum_t alpha_ti)^2, the sum over t
    running over the real words of each caption (padding steps left out).

    Args:
        alphas: (B, T, L) attention weights; words_out: (B, T) the targets (``pad_index`` marks padding).

    Example::

        >>> from nnzoo.zoo.caption import attention_regulariser
        >>> alphas = nnzoo.tensor([[[1.0, 0.0], [0.0, 1.0]]])   # each region looked at once
        >>> float(attention_regulariser(alphas, nnzoo.tensor([[5, 3]])))
        0.0
    """
    keep = (words_out != pad_index).to(alphas.dtype).unsqueeze(-1)         # (B, T, 1)
    seen = (alphas * keep).sum(1)                                          # (B, L)
    return ((1.0 - seen) ** 2).sum(1).mean()
