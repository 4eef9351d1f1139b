"""The character-level language model of the notes: read a text one character at a time, predict the next.

x_t (a character) -> embedding (or one-hot) -> h_t = f_W(h_{t-1}, x_t) through an RNN / LSTM / GRU stack ->
y_t = W_hy h_t, the scores of the next character; the loss is the cross-entropy of every y_t against
x_{t+1}. Training reads the corpus as B long columns in chunks of T steps (truncated backpropagation
through time: the hidden state is carried from one chunk to the next, the gradient stops at the chunk's
start). Sampling feeds each sampled character back in as the next input.

Recipe ``char-rnn`` (``nnzoo train char-rnn``, then ``nnzoo sample --prompt "ROMEO:"``): the bundled
Shakespeare corpus (42 works, 4.55 M training characters, each work split 90/5/5), a 2-layer LSTM of 256
with a 64-wide embedding, T = 100, B = 32, Adam 2e-3, gradients clipped to norm 5.
"""
import functools
from dataclasses import asdict, dataclass

from .. import nn
from ..autograd.grad_mode import no_grad
from ..creation import tensor
from ..data.sequence import BPTTLoader
from ..ops.loss import cross_entropy
from ..train.metrics import BitsPerCharacter
from . import Recipe, register
from ..nn.utils import evaluating
from .generate import encode_prompt, sample_next

__all__ = ["CharRNN", "CharRNNConfig", "shakespeare_vocab", "shakespeare_streams", "sequence_cross_entropy",
           "sample_text", "save_sample"]

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


def sequence_cross_entropy(logits, target):
    """Mean cross-entropy of (T, B, V) scores against (T, B) next characters (nats per character)."""
    return cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))


class _SequenceLoss(nn.Module):
    def forward(self, logits, target):
        return sequence_cross_entropy(logits, target)


# ---- the recipe: Shakespeare, truncated BPTT ----------------------------------------------------------------
@functools.lru_cache(maxsize=4)
def shakespeare_vocab(works=None):
    """The character vocabulary of the corpus's training split (of ``works``, a comma-separated string, or all
    42 works), deterministic: the same characters in the same order every time."""
    from ..data import Vocab
    from ..data.datasets.shakespeare import shakespeare
    return Vocab.chars(shakespeare("train", works=_work_names(works)))


def _work_names(works):
    """The ``works`` hyper-parameter ('' or comma-separated names) as shakespeare()'s argument."""
    return works.split(",") if works else None


def _works(config):
    return config.get("works") or None


def _known_works(works, config=None):
    from ..data.datasets.shakespeare import shakespeare_works
    return all(name in shakespeare_works() for name in _work_names(works) or ())


# the hyper-parameters of the Shakespeare recipes with rules of their own (see Recipe.constraints)
WORKS_RULE = (_known_works, "'' (all 42 works) or comma-separated work names, e.g. hamlet,sonnets "
                            "(nnzoo.data.datasets.shakespeare.shakespeare_works() lists them)")


def shakespeare_streams(config):
    """The char-level recipes' data (char-rnn, char-gpt): three 1-D int64 streams (train, valid, test) of
    ``shakespeare_vocab`` codes for the config's ``works``, the training one cut to ``train_chars`` and the
    other two to ``eval_chars`` when > 0."""
    from ..data.datasets.shakespeare import shakespeare
    vocab = shakespeare_vocab(_works(config))
    names = _work_names(_works(config))
    streams = []
    for split, limit in (("train", config.get("train_chars", 0)), ("valid", config.get("eval_chars", 0)),
                         ("test", config.get("eval_chars", 0))):
        text = shakespeare(split, works=names)
        if limit:
            text = text[:limit]
        streams.append(vocab.encode(text, as_tensor=True))
    return tuple(streams)


def _loaders(config, data, seed):
    train, val, test = data
    B, T = config["batch_size"], config["bptt"]
    return BPTTLoader(train, B, T), BPTTLoader(val, B, T), BPTTLoader(test, B, T)


def _build(config):
    vocab = shakespeare_vocab(_works(config))
    return CharRNN(vocab_size=len(vocab), embed=config["embed"], hidden=config["hidden"],
                   layers=config["layers"], cell=config["cell"], dropout=config["dropout"])


def sample_text(model, config, prompt, length, temperature, top_k, generator=None):
    """A Shakespeare model's ``sample`` with the corpus vocabulary of its config: the recipes' ``sample`` hook
    (``nnzoo sample``), shared by the char-RNN and the char-GPT."""
    return model.sample(shakespeare_vocab(_works(config)), prompt, length, temperature, top_k, generator)


def save_sample(model, config, data, out_dir):
    """The recipes' ``finish`` hook: ``vocab.json`` and 500 characters after "ROMEO:" (temperature 0.8, seed 0)
    in ``sample.txt``; returns ``{"sample": text}`` for the run's result."""
    from ..io import atomic_write
    from ..random import Generator
    vocab = shakespeare_vocab(_works(config))
    vocab.save(out_dir / "vocab.json")
    text = model.sample(vocab, "ROMEO:", length=500, temperature=0.8, generator=Generator().manual_seed(0))
    atomic_write(out_dir / "sample.txt", text)
    return {"sample": text}


register(Recipe(
    name="char-rnn",
    description="character-level LSTM language model on the Shakespeare corpus (truncated BPTT)",
    build_model=_build,
    load_data=shakespeare_streams,
    loss=_SequenceLoss,
    defaults={"cell": "lstm", "embed": 64, "hidden": 256, "layers": 2, "dropout": 0.0, "bptt": 100,
              "batch_size": 32, "lr": 2e-3, "optimizer": "adam", "epochs": 2, "clip_grad_norm": 5.0,
              "works": "", "train_chars": 0, "eval_chars": 0},
    metrics=(BitsPerCharacter(class_dim=-1),),
    loaders=_loaders,
    trainer_options={"carry_state": True},
    finish=save_sample,
    sample=sample_text,
    constraints={"works": WORKS_RULE, "embed": (lambda v, c: v >= 0, "an integer >= 0 (0: one-hot inputs)"),
                 "cell": (lambda v, c: v in _CELLS, " or ".join(_CELLS)),
                 # B columns of at least 2 characters: one input and its next-character target
                 **{key: (lambda v, c: v == 0 or v >= 2 * c["batch_size"],
                          "0 (all) or at least 2 x batch_size characters (batch_size is {batch_size})")
                    for key in ("train_chars", "eval_chars")}},
))
