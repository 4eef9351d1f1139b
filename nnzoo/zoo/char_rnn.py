"""The character-level language model of the notes: read a text one character at a time, predict the next.

x_t (a character) -> embedding (or one-hot) -> h_t = f_W(h_{t-1}, x_t) through an RNN / LSTM / GRU stack ->
y_t = W_hy h_t, the scores of the next character; the loss is the cross-entropy of every y_t against
x_{t+1}. Training reads the corpus as B long columns in chunks of T steps (truncated backpropagation
through time: the hidden state is carried from one chunk to the next, the gradient stops at the chunk's
start). Sampling feeds each sampled character back in as the next input.

Trained by the recipe ``char-rnn`` (:mod:`nnzoo.recipes.char_rnn`; ``nnzoo train char-rnn``, then
``nnzoo sample --prompt "ROMEO:"``) on the bundled Shakespeare corpus.
"""
from dataclasses import asdict, dataclass

from .. import nn
from ..autograd.grad_mode import no_grad
from ..creation import tensor
from ..nn.utils import evaluating
from .generate import encode_prompt, sample_next

__all__ = ["CharRNN", "CharRNNConfig"]

_CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


@dataclass
class CharRNNConfig:
    vocab_size: int = 88
    embed: int = 64          # 0: one-hot inputs instead of a learned embedding
    hidden: int = 256
    layers: int = 2
    cell: str = "lstm"       # 'rnn' (tanh), 'lstm' or 'gru'
    dropout: float = 0.0     # between the recurrent layers


class CharRNN(nn.Module):
    """Embedding (or one-hot) -> RNN/LSTM/GRU stack -> Linear: next-character scores at every step.

    Args:
        config (CharRNNConfig): sizes and the cell; keyword arguments override its fields.

    Shape: input (T, B) int64 character ids, optional state (as the recurrent layer's h_0 / (h_0, c_0));
    output (logits (T, B, vocab_size), state).

    Example::

        >>> model = CharRNN(vocab_size=10, embed=8, hidden=16, layers=1)
        >>> logits, (h, c) = model(nnzoo.zeros(5, 3, dtype=nnzoo.int64))
        >>> tuple(logits.shape), tuple(h.shape)
        ((5, 3, 10), (1, 3, 16))
    """

    def __init__(self, config=None, **overrides):
        super().__init__()
        self.config = c = CharRNNConfig(**{**asdict(config or CharRNNConfig()), **overrides})
        if c.cell not in _CELLS:
            raise ValueError(f"CharRNN: cell must be one of {', '.join(_CELLS)}, got {c.cell!r}")
        self.embedding = nn.Embedding(c.vocab_size, c.embed) if c.embed else None
        width = c.embed or c.vocab_size
        self.rnn = _CELLS[c.cell](width, c.hidden, num_layers=c.layers, dropout=c.dropout if c.layers > 1 else 0.0)
        self.head = nn.Linear(c.hidden, c.vocab_size)

    def forward(self, x, state=None):           # x (T, B) character ids
        if self.embedding is not None:
            e = self.embedding(x)                # (T, B, embed)
        else:
            e = nn.functional.one_hot(x, self.config.vocab_size).to(self.head.weight.dtype)  # (T, B, V)
        out, state = self.rnn(e, state)          # (T, B, hidden)
        return self.head(out), state             # (T, B, V)

    @no_grad()
    def sample(self, vocab, prompt="\n", length=500, temperature=1.0, top_k=None, generator=None):
        """Write ``length`` characters after ``prompt``: run the prompt through, then draw each next
        character from softmax(logits / temperature) (over the ``top_k`` likeliest, if given; temperature 0 is
        greedy) and feed it back in. Characters the vocabulary lacks read as its unknown token; the
        vocabulary's special tokens (padding, unknown, ...) are never drawn.

        Returns:
            str: the prompt followed by the sampled characters.
        """
        ids, specials = encode_prompt(vocab, prompt)
        with evaluating(self):
            logits, state = self(tensor(ids).reshape(-1, 1))    # (len(prompt), 1, V)
            last = logits[-1, 0]
            out = []
            for _ in range(length):
                nxt = sample_next(last, temperature, top_k, generator, exclude=specials)
                out.append(nxt)
                logits, state = self(tensor([[nxt]]), state)    # (1, 1, V)
                last = logits[0, 0]
        return prompt + vocab.decode(out)
