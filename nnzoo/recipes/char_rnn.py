"""Recipe of :mod:`nnzoo.zoo.char_rnn`: ``nnzoo train char-rnn``, then ``nnzoo sample --prompt "ROMEO:"``.

The bundled Shakespeare corpus (42 works, 4.55 M training characters, each work split 90/5/5) read as B long
columns in chunks of T steps (truncated backpropagation through time, the hidden state carried from chunk to
chunk), a 2-layer LSTM of 256 with a 64-wide embedding, T = 100, B = 32, Adam 2e-3, gradients clipped to norm 5;
the loss the cross-entropy of every step's scores against the next character. The Shakespeare data and the
sampling hooks here serve the char-GPT recipe too.
"""
from __future__ import annotations

import functools

from .. import nn
from ..data.sequence import BPTTLoader
from ..ops.loss import cross_entropy
from ..train.metrics import BitsPerCharacter
from ..zoo.char_rnn import CharRNN
from . import Recipe, register

__all__ = ["shakespeare_vocab", "shakespeare_streams", "sequence_cross_entropy", "SequenceLoss", "sample_text",
           "save_sample", "WORKS_RULE"]

_CELLS = ("rnn", "lstm", "gru")


def sequence_cross_entropy(logits, target):
    """Mean cross-entropy of (T, B, V) scores against (T, B) next characters (nats per character)."""
    return cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))


class SequenceLoss(nn.Module):
    """:func:`sequence_cross_entropy` as a loss module (the recipe's ``loss``)."""

    def forward(self, logits, target):
        return sequence_cross_entropy(logits, target)


# ---- the data: Shakespeare, read as columns (truncated BPTT) ---------------------------------------------------
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


def config_works(config: dict) -> str | None:
    """The Shakespeare works a config names (its ``works`` setting), or None for the whole text."""
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
    vocab = shakespeare_vocab(config_works(config))
    names = _work_names(config_works(config))
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
    vocab = shakespeare_vocab(config_works(config))
    return CharRNN(vocab_size=len(vocab), embed=config["embed"], hidden=config["hidden"],
                   layers=config["layers"], cell=config["cell"], dropout=config["dropout"])


def sample_text(model, config, prompt, length, temperature, top_k, generator=None):
    """A Shakespeare model's ``sample`` with the corpus vocabulary of its config: the recipes' ``sample`` hook
    (``nnzoo sample``), shared by the char-RNN and the char-GPT."""
    return model.sample(shakespeare_vocab(config_works(config)), prompt, length, temperature, top_k, generator)


def save_sample(model, config, data, out_dir):
    """The recipes' ``finish`` hook: ``vocab.json`` and 500 characters after "ROMEO:" (temperature 0.8, seed 0)
    in ``sample.txt``; returns ``{"sample": text}`` for the run's result."""
    from ..io import atomic_write
    from ..random import Generator
    vocab = shakespeare_vocab(config_works(config))
    vocab.save(out_dir / "vocab.json")
    text = model.sample(vocab, "ROMEO:", length=500, temperature=0.8, generator=Generator().manual_seed(0))
    atomic_write(out_dir / "sample.txt", text)
    return {"sample": text}


register(Recipe(
    name="char-rnn",
    description="character-level LSTM language model on the Shakespeare corpus (truncated BPTT)",
    build_model=_build,
    load_data=shakespeare_streams,
    loss=SequenceLoss,
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
