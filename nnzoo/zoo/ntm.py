"""The neural Turing machine (Graves, Wayne & Danihelka 2014): a controller network that reads and writes an
external memory matrix through differentiable attention ("heads").

At each step t the controller (an LSTM, or a feed-forward layer) reads ``[x_t, r_{t-1}]`` (the input and the
previous read vectors) and emits, through one linear layer, every head's parameters. Each head addresses the
memory ``M_{t-1}`` (N slots of width M) in four stages:

    content      w^c = softmax_n(beta * cos(k, M_n))             beta = softplus(.) > 0
    interpolate  w^g = g w^c + (1 - g) w_{t-1}                   g = sigmoid(.) in (0, 1)
    shift        w~_n = sum_j w^g_{n - j} s_j, j in -S..S        s = softmax(.), circular (indices mod N)
    sharpen      w_n = w~_n^gamma / sum_m w~_m^gamma             gamma = 1 + softplus(.) >= 1

A read head returns ``r = sum_n w_n M_n``; a write head erases and adds:
``M_t = M_{t-1} * prod_h (1 - w_h e_h^T) + sum_h w_h a_h^T`` (``e = sigmoid(.)``, ``a`` unconstrained). Every head
addresses the memory as it was before this step's writes (read then write, as the paper's Figure 1), and the
output is ``y_t = W [h_t, r_t] + b`` (logits of the output bits).

The model reads an input sequence (T_in steps), then runs ``out_len`` more steps on zero input and returns the
logits of those steps: the copy, repeat-copy and associative-recall tasks of the paper (data generators and
training in :mod:`nnzoo.recipes.ntm`; ``nnzoo train ntm-copy``).

NOTE: per-op overhead of the autograd dominates at these sizes (a batch of 16, N = 128, M = 20), so all heads
(read and write) are addressed together as one (B, H, N) batch, one linear layer emits all head parameters, and
the shift is one gather: a time step records ~50 ops, 2.9 ms forward and backward at batch 16 on one core.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import nnzoo

from .. import nn
from ..nn import functional as F

__all__ = ["NTM", "NTMConfig", "address"]


@dataclass
class NTMConfig:
    input_size: int = 9          # 8 data bits + the delimiter channel (copy task)
    output_size: int = 8
    controller: str = "lstm"     # 'lstm' or 'feedforward' (one tanh layer)
    controller_size: int = 100
    memory_n: int = 128          # N slots
    memory_m: int = 20           # M numbers per slot
    read_heads: int = 1
    write_heads: int = 1
    shift_range: int = 1         # shifts -S..S: 3 shifts for S = 1


def address(k, beta, g, s, gamma, w_prev, memory, shift_index, eps: float = 1e-8):
    """One addressing step for H heads at once: content, interpolation, circular shift, sharpening.

    Args:
        k: keys (B, H, M); beta: key strengths (B, H, 1) > 0; g: gates (B, H, 1) in (0, 1); s: shift weights
            (B, H, 2S+1) summing to 1 (shift -S first); gamma: sharpening (B, H, 1) >= 1.
        w_prev: the previous weightings (B, H, N); memory: (B, N, M).
        shift_index: int64 (N, 2S+1), ``[n, j] = (n - (j - S)) mod N`` (see :meth:`NTM.make_shift_index`).

    Returns:
        the weightings (B, H, N), each row summing to 1.
    """
    k_hat = k / (nnzoo.norm(k, 2, -1, keepdim=True) + eps)                      # (B, H, M)
    m_hat = memory / (nnzoo.norm(memory, 2, -1, keepdim=True) + eps)            # (B, N, M)
    cos = nnzoo.bmm(k_hat, m_hat.transpose(1, 2))                               # (B, H, N)
    wc = F.softmax(beta * cos, dim=-1)                                          # content weighting
    wg = g * wc + (1 - g) * w_prev                                              # interpolation
    shifted = (wg[:, :, shift_index] * s.unsqueeze(2)).sum(-1)                  # (B, H, N, 2S+1) -> (B, H, N)
    sharp = (shifted + 1e-16) ** gamma                                          # sharpening
    return sharp / sharp.sum(-1, keepdim=True)


class NTM(nn.Module):
    """A neural Turing machine with an LSTM or feed-forward controller, ``read_heads`` read heads and
    ``write_heads`` write heads on an N x M memory (see the module's docstring for the equations).

    Args:
        config (NTMConfig): sizes; keyword arguments override its fields.

    Shape: input (T_in, B, input_size); ``out_len`` output steps; output logits (out_len, B, output_size).
    With ``trace=True`` also a dict of the steps' read and write weightings (T, B, R|W, N), read vectors
    (T, B, R, M), add vectors (T, B, W, M) and erase vectors over all T_in + out_len steps (detached).

    Example::

        >>> model = NTM(input_size=3, output_size=2, controller_size=8, memory_n=10, memory_m=4)
        >>> model(nnzoo.zeros(5, 2, 3), out_len=4).shape
        nnzoo.Size([4, 2, 2])
    """

    def __init__(self, config: NTMConfig | None = None, **overrides) -> None:
        super().__init__()
        self.config = c = NTMConfig(**{**asdict(config or NTMConfig()), **overrides})
        if c.controller not in ("lstm", "feedforward"):
            raise ValueError(f"NTM: controller must be 'lstm' or 'feedforward', got {c.controller!r}")
        if c.read_heads < 1 or c.write_heads < 0 or c.shift_range < 0 or 2 * c.shift_range + 1 > c.memory_n:
            raise ValueError(f"NTM: need read_heads >= 1, write_heads >= 0, 0 <= 2 shift_range + 1 <= memory_n; "
                             f"got {c.read_heads}, {c.write_heads}, {c.shift_range} (memory_n {c.memory_n})")
        heads, m, shifts = c.read_heads + c.write_heads, c.memory_m, 2 * c.shift_range + 1
        ctrl_in = c.input_size + c.read_heads * m
        if c.controller == "lstm":
            self.controller = nn.LSTMCell(ctrl_in, c.controller_size)
            self.h0 = nn.Parameter(nnzoo.randn(1, c.controller_size) * 0.05)   # learned initial state
            self.c0 = nn.Parameter(nnzoo.randn(1, c.controller_size) * 0.05)
        else:
            self.controller = nn.Linear(ctrl_in, c.controller_size)
        self.head_width = m + 3 + shifts            # key, beta, g, shift, gamma
        self.heads = nn.Linear(c.controller_size, heads * self.head_width + c.write_heads * 2 * m)
        self.output = nn.Linear(c.controller_size + c.read_heads * m, c.output_size)
        self.register_buffer("memory_bias", nnzoo.empty(c.memory_n, m))         # the initial memory
        self.register_buffer("read_bias", nnzoo.empty(c.read_heads, m))         # the initial read vectors
        self.register_buffer("shift_index", self.make_shift_index(c.memory_n, c.shift_range), persistent=False)
        self.reset_parameters()

    @staticmethod
    def make_shift_index(n: int, shift_range: int) -> nnzoo.Tensor:
        """int64 (n, 2S+1): ``[i, j] = (i - (j - S)) mod n``, so that ``w[..., index] @ s`` is the circular
        convolution ``sum_j w[i - shift_j] s_j`` with the shifts -S..S."""
        i = nnzoo.arange(n).unsqueeze(1)
        j = nnzoo.arange(2 * shift_range + 1).unsqueeze(0)
        return (i - (j - shift_range)) % n

    def reset_parameters(self) -> None:
        """NOTE: the widely used PyTorch NTM's initialisation: the controller uniform in
        +-5/sqrt(inputs + units), Xavier for the head (gain 1.4) and output layers with N(0, 0.01) biases, a fixed
        initial memory uniform in +-1/sqrt(N + M) and initial read vectors N(0, 0.01)."""
        c = self.config
        with nnzoo.no_grad():
            if c.controller == "lstm":
                bound = 5 / math.sqrt(self.controller.input_size + c.controller_size)
                for p in (self.controller.weight_ih, self.controller.weight_hh):
                    nn.init.uniform_(p, -bound, bound)
                nn.init.zeros_(self.controller.bias_ih)
                nn.init.zeros_(self.controller.bias_hh)
            for layer, gain in ((self.heads, 1.4), (self.output, 1.0)):
                nn.init.xavier_uniform_(layer.weight, gain=gain)
                nn.init.normal_(layer.bias, std=0.01)
            stdev = 1 / math.sqrt(c.memory_n + c.memory_m)
            nn.init.uniform_(self.memory_bias, -stdev, stdev)
            nn.init.normal_(self.read_bias, std=0.01)

    def initial_state(self, batch: int) -> tuple:
        """(h, c, reads (B, R*M), weightings (B, R+W, N), memory (B, N, M)) at t = 0."""
        c = self.config
        h = cc = None
        if c.controller == "lstm":
            h, cc = self.h0.expand(batch, -1), self.c0.expand(batch, -1)
        reads = self.read_bias.reshape(1, -1).expand(batch, -1)
        w = nnzoo.zeros(batch, c.read_heads + c.write_heads, c.memory_n, dtype=self.memory_bias.dtype)
        memory = self.memory_bias.unsqueeze(0).expand(batch, -1, -1)
        return h, cc, reads, w, memory

    def step(self, x, state: tuple, trace: list | None = None) -> tuple:
        """One time step: input (B, input_size) -> (controller output (B, C), reads (B, R*M), new state)."""
        c = self.config
        h, cc, reads, w_prev, memory = state
        b, m, r, heads = x.shape[0], c.memory_m, c.read_heads, c.read_heads + c.write_heads
        inp = nnzoo.cat([x, reads], dim=1)                                      # (B, X + R*M)
        if c.controller == "lstm":
            h, cc = self.controller(inp, (h, cc))                               # (B, C)
        else:
            h = nnzoo.tanh(self.controller(inp))
        p = self.heads(h)                                                       # (B, H*(M+3+2S+1) + W*2M)
        hp = p[:, :heads * self.head_width].reshape(b, heads, self.head_width)  # (B, H, M+3+2S+1)
        k = hp[..., :m]
        beta = F.softplus(hp[..., m:m + 1])
        g = nnzoo.sigmoid(hp[..., m + 1:m + 2])
        s = F.softmax(hp[..., m + 2:-1], dim=-1)
        gamma = 1 + F.softplus(hp[..., -1:])
        w = address(k, beta, g, s, gamma, w_prev, memory, self.shift_index)    # (B, H, N)
        w_read = w[:, :r]                                                       # (B, R, N)
        read = nnzoo.bmm(w_read, memory)                                        # (B, R, M)
        erase = add = None
        if c.write_heads:
            ea = p[:, heads * self.head_width:].reshape(b, c.write_heads, 2 * m)
            erase, add = nnzoo.sigmoid(ea[..., :m]), ea[..., m:]               # (B, W, M) each
            w_write = w[:, r:].transpose(1, 2)                                  # (B, N, W)
            keep = None
            for i in range(c.write_heads):                                      # prod_h (1 - w_h e_h^T)
                ki = 1 - nnzoo.bmm(w_write[:, :, i:i + 1], erase[:, i:i + 1])
                keep = ki if keep is None else keep * ki
            memory = memory * keep + nnzoo.bmm(w_write, add)                    # (B, N, M)
        reads = read.reshape(b, r * m)
        if trace is not None:
            trace.append((w.detach(), read.detach(), None if add is None else add.detach(),
                          None if erase is None else erase.detach()))
        return h, reads, (h, cc, reads, w, memory)

    def forward(self, x, out_len: int, trace: bool = False):
        """Read ``x`` (T_in, B, input_size), then run ``out_len`` steps on zero input; the logits of those
        steps (out_len, B, output_size), and with ``trace`` the dict described in the class docstring."""
        t_in, b, _ = x.shape
        state = self.initial_state(b)
        steps: list | None = [] if trace else None
        for t in range(t_in):
            _, _, state = self.step(x[t], state, steps)
        zero = nnzoo.zeros(b, self.config.input_size, dtype=x.dtype)
        outs = []
        for _ in range(out_len):
            h, reads, state = self.step(zero, state, steps)
            outs.append(self.output(nnzoo.cat([h, reads], dim=1)))              # (B, Y)
        logits = nnzoo.stack(outs) if outs else nnzoo.zeros(0, b, self.config.output_size, dtype=x.dtype)
        if not trace:
            return logits
        r = self.config.read_heads
        ws = nnzoo.stack([s[0] for s in steps])                                 # (T, B, H, N)
        info = {"read_weights": ws[:, :, :r], "write_weights": ws[:, :, r:],
                "reads": nnzoo.stack([s[1] for s in steps])}
        if self.config.write_heads:
            info["adds"] = nnzoo.stack([s[2] for s in steps])
            info["erases"] = nnzoo.stack([s[3] for s in steps])
        return logits, info
