"""A character-level GPT: a decoder-only Transformer (Radford et al. 2018), after Karpathy's nanoGPT ``model.py``.

idx (B, T) -> token embedding + learned position embedding -> n_layer blocks, each
``x = x + attn(ln_1(x)); x = x + mlp(ln_2(x))`` (pre-LayerNorm; causal multi-head self-attention: position t
attends to positions 0..t only; MLP 4x wide with GELU) -> final LayerNorm -> LM head whose weight *is* the
token embedding's (weight tying) -> logits (B, T, V), the scores of the next token at every position; the loss
is their cross-entropy against the inputs shifted by one. The parameter names are nanoGPT's
(``transformer.h.0.attn.c_attn.weight``, ...), so a nanoGPT state_dict of the same sizes loads unchanged.

Recipe ``char-gpt`` (``nnzoo train char-gpt``, then ``nnzoo sample --run runs/char-gpt --prompt "ROMEO:"``):
nanoGPT's small CPU configuration on the bundled Shakespeare corpus (the char-RNN's vocabulary and splits):
4 layers, 4 heads, embedding 128, context 64, dropout 0; batches of 12 random windows; 2000 iterations
(10 "epochs" of ``eval_interval`` = 200 batches, validated after each on a fixed set of random windows of the
validation split); AdamW at 1e-3, decayed per iteration by cosine to 1e-4; gradients clipped to norm 1.
"""
import math
from dataclasses import asdict, dataclass

import numpy as np

from .. import nn
from ..autograd.grad_mode import no_grad
from ..creation import arange, tensor
from ..nn import functional as F
from ..ops.shape import cat
from ..random import Generator
from ..train.callbacks import Callback
from ..train.metrics import BitsPerCharacter
from . import Recipe, register
from .char_rnn import shakespeare_streams
from .char_rnn import WORKS_RULE, sample_text, save_sample, shakespeare_vocab
from ..nn.utils import evaluating
from .generate import encode_prompt, sample_next

__all__ = ["GPT", "GPTConfig", "CausalSelfAttention", "MLP", "Block", "RandomWindows", "random_windows",
           "window_starts", "CosineDecay"]


@dataclass
class GPTConfig:
    vocab_size: int = 88
    block_size: int = 64      # the longest context
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = True         # biases in the Linears and LayerNorms


class CausalSelfAttention(nn.Module):
    """softmax(q k^T / sqrt(d) + causal mask) v over ``n_head`` heads, q, k, v from one fused Linear.

    Shape: (B, T, C) -> (B, T, C).
    """

    def __init__(self, config):
        super().__init__()
        if config.n_embd % config.n_head:
            raise ValueError(f"CausalSelfAttention: n_embd {config.n_embd} is not divisible by n_head "
                             f"{config.n_head}")
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)  # q, k, v of all heads
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)      # the heads mixed back
        self.attn_dropout_p = config.dropout
        self.resid_dropout = nn.Dropout(config.dropout)
        self.n_head, self.n_embd = config.n_head, config.n_embd

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)              # 3 x (B, T, C)
        hs = C // self.n_head
        q = q.view(B, T, self.n_head, hs).transpose(1, 2)                # (B, nh, T, hs)
        k = k.view(B, T, self.n_head, hs).transpose(1, 2)                # (B, nh, T, hs)
        v = v.view(B, T, self.n_head, hs).transpose(1, 2)                # (B, nh, T, hs)
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.attn_dropout_p if self.training else 0.0,
                                           is_causal=True)               # (B, nh, T, hs)
        y = y.transpose(1, 2).contiguous().view(B, T, C)                 # (B, T, C): heads side by side
        return self.resid_dropout(self.c_proj(y))                        # (B, T, C)


class MLP(nn.Module):
    """Linear(C, 4C) -> GELU -> Linear(4C, C) -> dropout, applied at every position."""

    def __init__(self, config):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):                                                # x (B, T, C)
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))        # (B, T, C)


class Block(nn.Module):
    """One pre-LayerNorm Transformer block: x + attn(ln_1(x)), then + mlp(ln_2(x))."""

    def __init__(self, config):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x):                                                # x (B, T, C)
        x = x + self.attn(self.ln_1(x))                                  # (B, T, C)
        return x + self.mlp(self.ln_2(x))                                # (B, T, C)


class GPT(nn.Module):
    """A decoder-only Transformer language model: logits[b, t] scores the token after idx[b, :t + 1].

    Args:
        config (GPTConfig): the sizes; keyword arguments override its fields.

    Shape: idx (B, T) int64 token ids with T <= block_size, optional targets (B, T) (-1 = ignored);
    output (logits (B, T, vocab_size), the mean cross-entropy of the logits against targets, or None).

    Initialisation (nanoGPT, after GPT-2): every Linear and Embedding weight N(0, 0.02), biases 0, the
    residual projections (``c_proj``) N(0, 0.02 / sqrt(2 n_layer)), since 2 n_layer of them add into the
    residual stream; LayerNorms 1 and 0. The LM head shares the token embedding's weight.

    Example::

        >>> model = GPT(vocab_size=10, block_size=8, n_layer=1, n_head=2, n_embd=16)
        >>> logits, loss = model(nnzoo.zeros(3, 5, dtype=nnzoo.int64), nnzoo.ones(3, 5, dtype=nnzoo.int64))
        >>> tuple(logits.shape), model.lm_head.weight is model.transformer.wte.weight
        ((3, 5, 10), True)
    """

    def __init__(self, config=None, **overrides):
        super().__init__()
        self.config = c = GPTConfig(**{**asdict(config or GPTConfig()), **overrides})
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(c.vocab_size, c.n_embd),                      # token embedding
            wpe=nn.Embedding(c.block_size, c.n_embd),                      # position embedding
            drop=nn.Dropout(c.dropout),
            h=nn.ModuleList([Block(c) for _ in range(c.n_layer)]),
            ln_f=nn.LayerNorm(c.n_embd, bias=c.bias),
        ))
        self.lm_head = nn.Linear(c.n_embd, c.vocab_size, bias=False)
        self.transformer.wte.weight = self.lm_head.weight                 # weight tying (one Parameter)
        self.apply(self._init_weights)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * c.n_layer))

    @staticmethod
    def _init_weights(module):
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def get_num_params(self, non_embedding=True):
        """The number of parameters (the tied head counted once), less the position embedding by default."""
        n = sum(p.numel() for p in self.parameters())
        return n - self.transformer.wpe.weight.numel() if non_embedding else n

    def forward(self, idx, targets=None):
        B, T = idx.size()
        if T > self.config.block_size:
            raise ValueError(f"GPT: a sequence of length {T} is longer than block_size {self.config.block_size}")
        pos = arange(0, T, dtype=idx.dtype)                               # (T,)
        tok_emb = self.transformer.wte(idx)                               # (B, T, C)
        pos_emb = self.transformer.wpe(pos)                               # (T, C)
        x = self.transformer.drop(tok_emb + pos_emb)                      # (B, T, C)
        for block in self.transformer.h:
            x = block(x)                                                  # (B, T, C)
        x = self.transformer.ln_f(x)                                      # (B, T, C)
        logits = self.lm_head(x)                                          # (B, T, V)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-1)
        return logits, loss

    @no_grad()
    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None, generator=None, exclude=None):
        """Append ``max_new_tokens`` tokens to every row of ``idx`` (B, T), each drawn from softmax(logits /
        temperature) of the last position (over the ``top_k`` likeliest if given; temperature 0 is greedy;
        ids in ``exclude`` never drawn), the context cropped to the last ``block_size`` tokens.

        Returns:
            Tensor: (B, T + max_new_tokens).
        """
        bs = self.config.block_size
        for _ in range(max_new_tokens):
            idx_cond = idx if idx.size(1) <= bs else idx[:, -bs:]          # (B, <= block_size)
            logits, _ = self(idx_cond)                                    # (B, T', V)
            nxt = sample_next(logits[:, -1, :], temperature, top_k, generator, exclude)  # B ids
            idx = cat([idx, tensor(nxt, dtype=idx.dtype).view(-1, 1)], dim=1)         # (B, T + 1)
        return idx

    def sample(self, vocab, prompt="\n", length=500, temperature=1.0, top_k=None, generator=None):
        """Write ``length`` characters after ``prompt`` (in eval mode): :meth:`generate` on the encoded prompt,
        never drawing the vocabulary's special tokens. Characters the vocabulary lacks read as its unknown
        token.

        Returns:
            str: the prompt followed by the sampled characters.
        """
        ids, specials = encode_prompt(vocab, prompt)
        with evaluating(self):
            out = self.generate(tensor([ids]), length, temperature, top_k, generator, exclude=specials)
        return prompt + vocab.decode(out[0, len(ids):].tolist())


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


# ---- the learning-rate schedule as a callback ---------------------------------------------------------------
class CosineDecay(Callback):
    """After every optimizer step t (1, 2, ...): lr_t = min_lr + (lr - min_lr) (1 + cos(pi t / T)) / 2, T the
    total number of steps of the fit (epochs x batches per epoch), min_lr = ``min_lr_ratio`` x lr.

    NOTE: a callback, because ``run_recipe`` builds the optimizer itself and passes a scheduler only for
    ``plateau_patience``. It reads the step from ``trainer.global_step``, which the Trainer checkpoints, so a
    resumed run continues the same schedule. Equal to ``CosineAnnealingLR(optimizer, T, min_lr)`` stepped per
    batch.
    """

    def __init__(self, min_lr_ratio=0.1):
        self.min_lr_ratio = min_lr_ratio

    def on_fit_start(self, trainer):
        for group in trainer.optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.total = trainer.epochs * len(trainer.train_loader)

    def on_batch_end(self, trainer, batch_idx, logs):
        t = min(trainer.global_step, self.total)
        for group in trainer.optimizer.param_groups:
            lr0 = group["initial_lr"]
            lo = self.min_lr_ratio * lr0
            group["lr"] = lo + (lr0 - lo) * (1 + math.cos(math.pi * t / self.total)) / 2


# ---- the recipe -----------------------------------------------------------------------------------------------
def _works(config):
    return config.get("works") or None


def _loaders(config, data, seed):
    train, val, test = data
    B, T = config["batch_size"], config["block_size"]
    return (RandomWindows(train, B, T, config["eval_interval"], Generator().manual_seed(seed)),
            RandomWindows(val, B, T, config["eval_batches"], Generator().manual_seed(seed + 1), fixed=True),
            RandomWindows(test, B, T, config["eval_batches"], Generator().manual_seed(seed + 2), fixed=True))


def _build(config):
    return GPT(vocab_size=len(shakespeare_vocab(_works(config))), block_size=config["block_size"],
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
              "optimizer": "adamw", "weight_decay": 0.1, "clip_grad_norm": 1.0,
              "works": "", "train_chars": 0, "eval_chars": 0},
    metrics=(_BitsPerCharacter(),),
    loaders=_loaders,
    trainer_options={"batch_fn": _with_targets, "callbacks": [CosineDecay(min_lr_ratio=0.1)]},
    finish=_finish,
    sample=sample_text,
    constraints={"works": WORKS_RULE,
                 **{key: (lambda v, c: v == 0 or v > c["block_size"],
                          "0 (all) or more characters than block_size ({block_size})")
                    for key in ("train_chars", "eval_chars")},
                 "n_embd": (lambda v, c: v >= 1 and v % c["n_head"] == 0,
                            "an integer >= 1, a multiple of n_head ({n_head})")},
))
