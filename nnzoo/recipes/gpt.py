"""Recipe of :mod:`nnzoo.zoo.gpt`: ``nnzoo train char-gpt``, then ``nnzoo sample --run runs/char-gpt``.

nanoGPT's small CPU configuration (``config/train_shakespeare_char.py`` with its CPU overrides) on the bundled
Shakespeare corpus (the char-RNN's vocabulary and splits): 4 layers, 4 heads, embedding 128, context 64,
dropout 0; batches of 12 random windows; 2000 iterations (10 "epochs" of ``eval_interval`` = 200 batches,
validated after each on a fixed set of random windows of the validation split); gradients clipped to norm 1.
The optimizer and schedule are nanoGPT's (``model.py``'s ``configure_optimizers``, ``train.py``'s ``get_lr``):
AdamW at 1e-3 with betas (0.9, 0.99), weight decay 0.1 on the parameters of 2 or more dimensions only (the
matrices and embeddings; biases and LayerNorm weights undecayed), the lr warmed up linearly over 100 iterations
and then decayed by cosine to 1e-4 at the last iteration, stepped every iteration.
"""
from __future__ import annotations

import numpy as np

from .. import nn, optim
from ..creation import tensor
from ..optim.lr_scheduler import CosineAnnealingLR, LinearLR, SequentialLR
from ..random import Generator
from ..train.metrics import BitsPerCharacter
from ..zoo.gpt import GPT
from . import Recipe, register
from .char_rnn import WORKS_RULE, config_works, sample_text, save_sample, shakespeare_streams, shakespeare_vocab

__all__ = ["RandomWindows", "random_windows", "window_starts", "make_optimizer", "make_scheduler"]


# ---- data: random windows of a token stream -----------------------------------------------------------------
def window_starts(n_tokens, batch_size, block_size, rng):
    """``batch_size`` uniformly drawn window offsets in [0, n_tokens - block_size) of a stream of ``n_tokens``
    (each window needs block_size inputs and the token after them); ``rng`` a ``numpy.random.Generator``."""
    if n_tokens <= block_size:
        raise ValueError(f"window_starts: a stream of {n_tokens} tokens has no window of {block_size} + 1")
    return rng.integers(0, n_tokens - block_size, size=batch_size)       # (B,)


def random_windows(stream, batch_size, block_size, rng):
    """(inputs, targets), two (B, T) arrays: ``stream[i:i + T]`` and ``stream[i + 1:i + 1 + T]`` at
    ``batch_size`` random offsets i of the 1-D int array ``stream`` (nanoGPT's ``get_batch``)."""
    ix = window_starts(len(stream), batch_size, block_size, rng)          # (B,)
    cols = ix[:, None] + np.arange(block_size)                            # (B, T)
    return stream[cols], stream[cols + 1]


class RandomWindows:
    """``batches`` batches of random (input, target) windows per pass, drawn from ``generator`` (so a Trainer
    checkpoints the stream: a resumed run draws the batches an uninterrupted one would), or, with
    ``fixed=True``, the same batches every pass (a validation set of random windows).

    Example::

        >>> loader = RandomWindows(nnzoo.arange(100), batch_size=4, block_size=8, batches=3)
        >>> [tuple(x.shape) for x, y in loader], len(loader)
        ([(4, 8), (4, 8), (4, 8)], 3)
    """

    def __init__(self, stream, batch_size, block_size, batches, generator=None, fixed=False):
        self.stream = np.asarray(stream.numpy() if hasattr(stream, "numpy") else stream)
        self.batch_size, self.block_size, self.batches = batch_size, block_size, batches
        self.generator = generator if generator is not None else Generator().manual_seed(0)
        self._fixed = [self._draw() for _ in range(batches)] if fixed else None

    def _draw(self):
        x, y = random_windows(self.stream, self.batch_size, self.block_size, self.generator._rng)
        return tensor(x), tensor(y)

    def __len__(self):
        return self.batches

    def __iter__(self):
        if self._fixed is not None:
            return iter(self._fixed)
        return (self._draw() for _ in range(self.batches))


# ---- nanoGPT's optimizer and learning-rate schedule --------------------------------------------------------
def make_optimizer(config: dict, model: nn.Module) -> optim.AdamW:
    """nanoGPT's ``configure_optimizers``: AdamW at ``lr`` with betas (``beta1``, ``beta2``), two param groups:
    the parameters of 2 or more dimensions (Linear weights, embeddings) decayed by ``weight_decay``, the others
    (biases, LayerNorm weights) not. The tied embedding / LM head weight is one parameter, in the first group.

    Example::

        >>> from nnzoo.zoo.gpt import GPT
        >>> model = GPT(vocab_size=10, block_size=8, n_layer=1, n_head=2, n_embd=16)
        >>> opt = make_optimizer({"lr": 1e-3, "weight_decay": 0.1, "beta1": 0.9, "beta2": 0.99}, model)
        >>> [(len(g["params"]), g["weight_decay"], g["betas"]) for g in opt.param_groups]
        [(6, 0.1, (0.9, 0.99)), (10, 0.0, (0.9, 0.99))]
    """
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": config["weight_decay"]},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    return optim.AdamW(groups, lr=config["lr"], betas=(config["beta1"], config["beta2"]))


def make_scheduler(config: dict, optimizer: optim.Optimizer, steps_per_epoch: int) -> tuple[SequentialLR, str]:
    """nanoGPT's ``get_lr``, stepped after every iteration: over the first W = ``warmup_iters`` iterations
    lr (it + 1) / (W + 1) (``LinearLR`` from 1 / (W + 1)), then from ``lr`` at iteration W down the cosine
    min_lr + (lr - min_lr) (1 + cos(pi (it - W) / (N - W))) / 2 to ``min_lr`` at the last iteration N =
    ``epochs`` x ``steps_per_epoch`` (``CosineAnnealingLR``), the two joined by ``SequentialLR``.

    Returns:
        (scheduler, ``'batch'``).
    """
    iters, warmup = config["epochs"] * steps_per_epoch, config["warmup_iters"]
    cosine = CosineAnnealingLR(optimizer, T_max=iters - warmup, eta_min=config["min_lr"])
    if not warmup:
        return SequentialLR(optimizer, [cosine], milestones=[]), "batch"
    warm = LinearLR(optimizer, start_factor=1 / (warmup + 1), end_factor=1.0, total_iters=warmup)
    return SequentialLR(optimizer, [warm, cosine], milestones=[warmup]), "batch"


# ---- the recipe: the model computes its loss ----------------------------------------------------------------
def _loaders(config, data, seed):
    train, val, test = data
    B, T = config["batch_size"], config["block_size"]
    return (RandomWindows(train, B, T, config["eval_interval"], Generator().manual_seed(seed)),
            RandomWindows(val, B, T, config["eval_batches"], Generator().manual_seed(seed + 1), fixed=True),
            RandomWindows(test, B, T, config["eval_batches"], Generator().manual_seed(seed + 2), fixed=True))


def _build(config):
    return GPT(vocab_size=len(shakespeare_vocab(config_works(config))), block_size=config["block_size"],
               n_layer=config["n_layer"], n_head=config["n_head"], n_embd=config["n_embd"],
               dropout=config["dropout"], bias=config["bias"])


def _with_targets(batch):
    x, y = batch
    return (x, y), y                    # the model gets the targets and computes its loss


class _ModelLoss(nn.Module):
    def forward(self, output, target):  # output = (logits, loss)
        return output[1]


class _BitsPerCharacter(BitsPerCharacter):
    def __init__(self):
        super().__init__(class_dim=-1)

    def update(self, output, target):
        super().update(output[0], target)


def _finish(model, config, data, out_dir):
    return {**save_sample(model, config, data, out_dir), "iterations": config["epochs"] * config["eval_interval"]}


register(Recipe(
    name="char-gpt",
    description="character-level GPT (decoder-only Transformer) on the Shakespeare corpus",
    build_model=_build,
    load_data=shakespeare_streams,
    loss=_ModelLoss,
    defaults={"block_size": 64, "n_layer": 4, "n_head": 4, "n_embd": 128, "dropout": 0.0, "bias": True,
              "batch_size": 12, "epochs": 10, "eval_interval": 200, "eval_batches": 50, "lr": 1e-3,
              "optimizer": "adamw", "weight_decay": 0.1, "beta1": 0.9, "beta2": 0.99, "warmup_iters": 100,
              "min_lr": 1e-4, "clip_grad_norm": 1.0, "works": "", "train_chars": 0, "eval_chars": 0},
    metrics=(_BitsPerCharacter(),),
    loaders=_loaders,
    make_optimizer=make_optimizer,
    make_scheduler=make_scheduler,
    trainer_options={"batch_fn": _with_targets},
    finish=_finish,
    sample=sample_text,
    constraints={"works": WORKS_RULE,
                 **{key: (lambda v, c: v == 0 or v > c["block_size"],
                          "0 (all) or more characters than block_size ({block_size})")
                    for key in ("train_chars", "eval_chars")},
                 "n_embd": (lambda v, c: v >= 1 and v % c["n_head"] == 0,
                            "an integer >= 1, a multiple of n_head ({n_head})"),
                 # nanoGPT's recipe is AdamW with its own schedule: the keys of the others do not apply
                 "optimizer": (lambda v, c: v.lower() == "adamw", "adamw (nanoGPT's optimizer)"),
                 "plateau_patience": (lambda v, c: not v, "0 or null (the schedule is nanoGPT's warm-up and cosine)"),
                 **{key: (lambda v, c: 0 <= v < 1, "a number in [0, 1)") for key in ("beta1", "beta2")},
                 "warmup_iters": (lambda v, c: 0 <= v < c["epochs"] * c["eval_interval"],
                                  "an integer >= 0, fewer than the iterations (epochs x eval_interval: "
                                  "{epochs} x {eval_interval})"),
                 "min_lr": (lambda v, c: 0 <= v <= c["lr"], "a finite number >= 0, at most lr ({lr})")},
))
