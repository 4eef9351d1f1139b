"""A character-level GPT: a decoder-only Transformer (Radford et al. 2018), after Karpathy's nanoGPT ``model.py``.

idx (B, T) -> token embedding + learned position embedding -> n_layer blocks, each
``x = x + attn(ln_1(x)); x = x + mlp(ln_2(x))`` (pre-LayerNorm; causal multi-head self-attention: position t
attends to positions 0..t only; MLP 4x wide with GELU) -> final LayerNorm -> LM head whose weight *is* the
token embedding's (weight tying) -> logits (B, T, V), the scores of the next token at every position; the loss
is their cross-entropy against the inputs shifted by one. The parameter names are nanoGPT's
(``transformer.h.0.attn.c_attn.weight``, ...), so a nanoGPT state_dict of the same sizes loads unchanged.

Trained by the recipe ``char-gpt`` (:mod:`nnzoo.recipes.gpt`: ``nnzoo train char-gpt``, then
``nnzoo sample --run runs/char-gpt --prompt "ROMEO:"``): nanoGPT's small CPU configuration and its optimizer
and schedule on the bundled Shakespeare corpus.
"""
import math
from dataclasses import asdict, dataclass

from .. import nn
from ..autograd.grad_mode import no_grad
from ..creation import arange, tensor
from ..nn import functional as F
from ..nn.utils import evaluating
from ..ops.shape import cat
from .generate import encode_prompt, sample_next

__all__ = ["GPT", "GPTConfig", "CausalSelfAttention", "MLP", "Block"]


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
        T = idx.size(1)                                                   # idx (B, T)
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
