"""The differentiable neural computer (Graves et al. 2016, "Hybrid computing using a neural network with dynamic
external memory", Nature 538): an LSTM controller that reads and writes an external memory matrix through
differentiable attention, batched.

At each step t the controller sees the input x_t and the R words read at t-1, and emits an output part v_t and
an interface vector xi_t that is split as in the paper (Methods, "Interface parameters"):

    xi_t = [k^r_t (R x W), beta^r_t (R), k^w_t (W), beta^w_t (1), e_t (W), v_t (W), f_t (R), g^a_t (1),
            g^w_t (1), pi_t (3 x R)]

with oneplus(x) = 1 + softplus(x) on the strengths, sigmoids on the erase vector e and the free, allocation and
write gates f, g^a, g^w, and a softmax over each read head's three read modes pi (backward, content, forward).
The memory access then runs, in the paper's order:

    usage        u_t = (u_{t-1} + w^w_{t-1} - u_{t-1} o w^w_{t-1}) o psi_t,  psi_t = prod_i (1 - f^i_t w^r_{t-1,i})
    allocation   a_t[phi_j] = (1 - u_t[phi_j]) prod_{i<j} u_t[phi_i]     (phi: the slots sorted by usage, ascending)
    content      C(M, k, beta)[n] = softmax_n(beta cos(k, M[n]))
    write        w^w_t = g^w_t (g^a_t a_t + (1 - g^a_t) C(M_{t-1}, k^w_t, beta^w_t))
    memory       M_t = M_{t-1} o (1 - w^w_t e_t^T) + w^w_t v_t^T
    precedence   p_t = (1 - sum_n w^w_t[n]) p_{t-1} + w^w_t
    link         L_t[i, j] = (1 - w^w_t[i] - w^w_t[j]) L_{t-1}[i, j] + w^w_t[i] p_{t-1}[j],  L_t[i, i] = 0
    directions   f^i_t = L_t w^r_{t-1,i},  b^i_t = L_t^T w^r_{t-1,i}
    read         w^r_{t,i} = pi_t[i,0] b^i_t + pi_t[i,1] C(M_t, k^r_{t,i}, beta^r_{t,i}) + pi_t[i,2] f^i_t
    read words   r^i_t = M_t^T w^r_{t,i}

and the output is y_t = W_y [h_t; r_t] (one linear layer on the controller output and the new reads, as
DeepMind's implementation does; the paper's v_t + W_r r_t is the same map). One write head, as in the paper.

The usage update takes no gradient through the write weights (as in DeepMind's ``addressing.Freeness``), and
the allocation weighting takes its gradient through the sorted usage values, not through the sort order.
DeepMind's ``clip_value`` (controller output, state and model output clipped to +-20) is kept.

The helpers below (:func:`content_weights`, :func:`update_usage`, :func:`allocation_weights`,
:func:`update_link`, :func:`directional_weights`, :func:`erase_and_write`) are the addressing, each a function
of tensors so that tests can check them one by one; :class:`DNC` is the recurrent model, and
:class:`SequenceLSTM` the plain LSTM it is compared with.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import nnzoo

from .. import nn
from ..nn import functional as F

__all__ = ["DNCConfig", "DNCState", "DNC", "SequenceLSTM", "content_weights", "update_usage",
           "allocation_weights", "update_link", "directional_weights", "erase_and_write", "interface_size",
           "lstm_hidden_for_params"]

EPSILON = 1e-6  # DeepMind's _EPSILON: keeps norms and usage away from 0


@dataclass
class DNCConfig:
    """The DNC's sizes (defaults: DeepMind's ``train.py`` small setting).

    Args:
        input_size: width of x_t.
        output_size: width of y_t.
        hidden_size: LSTM controller width.
        memory_size: N, the number of memory slots.
        word_size: W, the width of a slot.
        num_reads: R, the read heads (one write head).
        clip_value: controller output/state and model output are clipped to +-clip_value (0: off).
    """

    input_size: int = 6
    output_size: int = 5
    hidden_size: int = 64
    memory_size: int = 16
    word_size: int = 16
    num_reads: int = 4
    clip_value: float = 20.0


class DNCState(NamedTuple):
    """The recurrent state between steps (B: batch, H: controller, R: read heads, N: slots, W: word size)."""

    h: nnzoo.Tensor            # (B, H) controller hidden state
    c: nnzoo.Tensor            # (B, H) controller cell state
    reads: nnzoo.Tensor        # (B, R, W) words read at t-1
    memory: nnzoo.Tensor       # (B, N, W)
    usage: nnzoo.Tensor        # (B, N)
    link: nnzoo.Tensor         # (B, N, N) L[i, j]: how much slot i was written right after slot j
    precedence: nnzoo.Tensor   # (B, N)
    read_weights: nnzoo.Tensor  # (B, R, N)
    write_weights: nnzoo.Tensor  # (B, N)


def interface_size(word_size: int, num_reads: int) -> int:
    """Length of the interface vector: R*W + 3W + 5R + 3 (paper, one write head)."""
    return num_reads * word_size + 3 * word_size + 5 * num_reads + 3


# ---- addressing ------------------------------------------------------------------------------------------------

def content_weights(memory: nnzoo.Tensor, keys: nnzoo.Tensor, strengths: nnzoo.Tensor) -> nnzoo.Tensor:
    """Content addressing C(M, k, beta)[n] = softmax_n(beta * cos(k, M[n])).

    Args:
        memory: (B, N, W).
        keys: (B, H, W), one key per head.
        strengths: (B, H), beta >= 1 (already through oneplus).

    Returns:
        (B, H, N) weightings, each row summing to 1.

    NOTE: cos = k.M[n] / (sqrt(|k|^2 + eps) sqrt(|M[n]|^2 + eps) + eps), DeepMind's form: an empty (zero) slot
    gets similarity 0 and a finite gradient.
    """
    dot = keys @ memory.transpose(1, 2)                                    # (B, H, N)
    mnorm = ((memory * memory).sum(-1) + EPSILON).sqrt()                   # (B, N)
    knorm = ((keys * keys).sum(-1) + EPSILON).sqrt()                       # (B, H)
    sim = dot / (knorm.unsqueeze(2) * mnorm.unsqueeze(1) + EPSILON)        # (B, H, N)
    return F.softmax(sim * strengths.unsqueeze(2), dim=-1)


def update_usage(usage: nnzoo.Tensor, write_weights: nnzoo.Tensor, free_gates: nnzoo.Tensor,
                 read_weights: nnzoo.Tensor) -> nnzoo.Tensor:
    """u_t = (u + w^w - u o w^w) o prod_i (1 - f_i w^r_i): writing at t-1 raises usage, a read head whose free
    gate is open releases the slots it read.

    Args:
        usage: (B, N) u_{t-1}.
        write_weights: (B, N) w^w_{t-1} (no gradient flows through it, as in DeepMind's implementation).
        free_gates: (B, R) f_t in [0, 1].
        read_weights: (B, R, N) w^r_{t-1}.

    Returns:
        (B, N) u_t.
    """
    w = write_weights.detach()
    usage = usage + w - usage * w
    retention = (1 - free_gates.unsqueeze(2) * read_weights).prod(dim=1)   # (B, N) psi_t
    return usage * retention


def allocation_weights(usage: nnzoo.Tensor) -> nnzoo.Tensor:
    """The allocation weighting a_t: the slots sorted by usage ascending (phi), a[phi_j] = (1 - u[phi_j])
    prod_{i<j} u[phi_i], put back in slot order.

    Args:
        usage: (B, N) u_t in [0, 1].

    Returns:
        (B, N) a_t (sums to at most 1; the least used slot gets the most).

    NOTE: as in DeepMind's ``Freeness._allocation``, usage is first mapped to eps + (1 - eps) u so that the
    cumulative product never reaches exactly 0, and the gradient flows through the sorted usage values only
    (the permutation is a constant of the step).
    """
    usage = EPSILON + (1 - EPSILON) * usage
    order = nnzoo.argsort(usage.detach(), dim=-1)                          # (B, N) phi, ascending usage
    sorted_usage = nnzoo.take_along_dim(usage, order, dim=-1)              # (B, N)
    ones = nnzoo.ones_like(sorted_usage[:, :1])
    exclusive = nnzoo.cumprod(nnzoo.cat([ones, sorted_usage[:, :-1]], dim=1), dim=1)  # prod_{i<j} u[phi_i]
    sorted_alloc = (1 - sorted_usage) * exclusive
    return nnzoo.take_along_dim(sorted_alloc, nnzoo.argsort(order, dim=-1), dim=-1)   # back to slot order


def update_link(link: nnzoo.Tensor, precedence: nnzoo.Tensor,
                write_weights: nnzoo.Tensor) -> tuple[nnzoo.Tensor, nnzoo.Tensor]:
    """The temporal link matrix and precedence weighting after a write.

    L_t[i, j] = (1 - w[i] - w[j]) L_{t-1}[i, j] + w[i] p_{t-1}[j] with a zero diagonal, then
    p_t = (1 - sum w) p_{t-1} + w.

    Args:
        link: (B, N, N) L_{t-1}.
        precedence: (B, N) p_{t-1}.
        write_weights: (B, N) w^w_t.

    Returns:
        (L_t (B, N, N), p_t (B, N)).
    """
    n = link.shape[-1]
    wi, wj = write_weights.unsqueeze(2), write_weights.unsqueeze(1)        # (B, N, 1), (B, 1, N)
    off_diagonal = 1 - nnzoo.eye(n, dtype=link.dtype)                     # (N, N)
    link = ((1 - wi - wj) * link + wi * precedence.unsqueeze(1)) * off_diagonal
    precedence = (1 - write_weights.sum(-1, keepdim=True)) * precedence + write_weights
    return link, precedence


def directional_weights(link: nnzoo.Tensor, read_weights: nnzoo.Tensor) -> tuple[nnzoo.Tensor, nnzoo.Tensor]:
    """Forward f_i = L w^r_i (the slots written right after those read) and backward b_i = L^T w^r_i.

    Args:
        link: (B, N, N) L_t.
        read_weights: (B, R, N) w^r_{t-1}.

    Returns:
        (forward (B, R, N), backward (B, R, N)).
    """
    forward = read_weights @ link.transpose(1, 2)                          # f[r, i] = sum_j L[i, j] w[r, j]
    backward = read_weights @ link                                         # b[r, j] = sum_i L[i, j] w[r, i]
    return forward, backward


def erase_and_write(memory: nnzoo.Tensor, write_weights: nnzoo.Tensor, erase: nnzoo.Tensor,
                    values: nnzoo.Tensor) -> nnzoo.Tensor:
    """M_t = M_{t-1} o (1 - w e^T) + w v^T.

    Args:
        memory: (B, N, W).
        write_weights: (B, N).
        erase: (B, W) in [0, 1].
        values: (B, W).

    Returns:
        (B, N, W) M_t.
    """
    w = write_weights.unsqueeze(2)                                         # (B, N, 1)
    return memory * (1 - w * erase.unsqueeze(1)) + w * values.unsqueeze(1)


def _oneplus(x: nnzoo.Tensor) -> nnzoo.Tensor:
    return 1 + F.softplus(x)


# ---- the model ------------------------------------------------------------------------------------------------

class DNC(nn.Module):
    """A differentiable neural computer: LSTM controller, one write head, R read heads (see the module docstring
    for the equations).

    Args:
        config: a :class:`DNCConfig`.

    Shape:
        forward: x (T, B, input_size) -> (y (T, B, output_size), final DNCState); time-major, like DeepMind's
        ``dynamic_rnn(time_major=True)``.

    Example::

        >>> m = DNC(DNCConfig(input_size=6, output_size=5))
        >>> y, state = m(nnzoo.zeros(7, 2, 6))
        >>> tuple(y.shape), tuple(state.memory.shape)
        ((7, 2, 5), (2, 16, 16))
    """

    def __init__(self, config: DNCConfig) -> None:
        super().__init__()
        self.config = c = config
        self.controller = nn.LSTMCell(c.input_size + c.num_reads * c.word_size, c.hidden_size)
        self.interface = nn.Linear(c.hidden_size, interface_size(c.word_size, c.num_reads))
        self.output = nn.Linear(c.hidden_size + c.num_reads * c.word_size, c.output_size)
        self.trace: list[dict] | None = None   # set to [] to record weightings per step (pictures)

    def initial_state(self, batch_size: int) -> DNCState:
        """The zero state: empty memory, no usage, no links, no previous reads or writes."""
        c = self.config
        dtype = self.interface.weight.dtype
        z = lambda *s: nnzoo.zeros(*s, dtype=dtype)  # noqa: E731
        b, n, r, w = batch_size, c.memory_size, c.num_reads, c.word_size
        return DNCState(z(b, c.hidden_size), z(b, c.hidden_size), z(b, r, w), z(b, n, w), z(b, n), z(b, n, n),
                        z(b, n), z(b, r, n), z(b, n))

    def _split(self, xi: nnzoo.Tensor) -> dict:
        """The interface vector split into its named parts, each through its squashing function."""
        c = self.config
        b, r, w = xi.shape[0], c.num_reads, c.word_size
        sizes = [r * w, r, w, 1, w, w, r, 1, 1, 3 * r]
        parts, start = [], 0
        for s in sizes:
            parts.append(xi[:, start:start + s])
            start += s
        rk, rs, wk, ws, er, wv, fg, ag, wg, rm = parts
        return {"read_keys": rk.reshape(b, r, w), "read_strengths": _oneplus(rs),
                "write_key": wk.unsqueeze(1), "write_strength": _oneplus(ws),
                "erase": F.sigmoid(er), "write_vector": wv, "free_gates": F.sigmoid(fg),
                "allocation_gate": F.sigmoid(ag), "write_gate": F.sigmoid(wg),
                "read_modes": F.softmax(rm.reshape(b, r, 3), dim=-1)}      # (B, R, 3): backward, content, forward

    def _clip(self, x: nnzoo.Tensor) -> nnzoo.Tensor:
        v = self.config.clip_value
        return x.clamp(-v, v) if v else x

    def step(self, x: nnzoo.Tensor, state: DNCState) -> tuple[nnzoo.Tensor, DNCState]:
        """One time step: x (B, input_size) -> (y (B, output_size), next state)."""
        b = x.shape[0]
        h, c = self.controller(nnzoo.cat([x, state.reads.reshape(b, -1)], dim=1), (state.h, state.c))
        h, c = self._clip(h), self._clip(c)
        p = self._split(self.interface(h))

        usage = update_usage(state.usage, state.write_weights, p["free_gates"], state.read_weights)
        alloc = allocation_weights(usage)                                              # (B, N)
        write_content = content_weights(state.memory, p["write_key"], p["write_strength"])[:, 0]  # (B, N)
        ga, gw = p["allocation_gate"], p["write_gate"]                                 # (B, 1)
        write_weights = gw * (ga * alloc + (1 - ga) * write_content)                   # (B, N)
        memory = erase_and_write(state.memory, write_weights, p["erase"], p["write_vector"])
        link, precedence = update_link(state.link, state.precedence, write_weights)

        forward, backward = directional_weights(link, state.read_weights)              # (B, R, N)
        read_content = content_weights(memory, p["read_keys"], p["read_strengths"])    # (B, R, N)
        modes = p["read_modes"]
        read_weights = (modes[:, :, 0:1] * backward + modes[:, :, 1:2] * read_content
                        + modes[:, :, 2:3] * forward)                                  # (B, R, N)
        reads = read_weights @ memory                                                  # (B, R, W)
        y = self._clip(self.output(nnzoo.cat([h, reads.reshape(b, -1)], dim=1)))
        if self.trace is not None:
            self.trace.append({"usage": usage, "write_weights": write_weights, "read_weights": read_weights,
                               "link": link, "read_modes": modes, "allocation_gate": ga, "write_gate": gw,
                               "free_gates": p["free_gates"]})
        return y, DNCState(h, c, reads, memory, usage, link, precedence, read_weights, write_weights)

    def forward(self, x: nnzoo.Tensor, state: DNCState | None = None) -> tuple[nnzoo.Tensor, DNCState]:
        """Run a whole sequence, time-major: x (T, B, input_size) -> (y (T, B, output_size), final state)."""
        if state is None:
            state = self.initial_state(x.shape[1])
        ys = []
        for t in range(x.shape[0]):
            y, state = self.step(x[t], state)
            ys.append(y)
        return nnzoo.stack(ys, dim=0), state


class SequenceLSTM(nn.Module):
    """The baseline: an ``nn.LSTM`` (time-major) and a linear read-out at every step.

    Shape:
        forward: x (T, B, input_size) -> (y (T, B, output_size), (h, c)).
    """

    def __init__(self, input_size: int, output_size: int, hidden_size: int, num_layers: int = 1) -> None:
        super().__init__()
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers=num_layers)
        self.output = nn.Linear(hidden_size, output_size)

    def forward(self, x: nnzoo.Tensor, state=None):
        h, state = self.lstm(x, state)                                     # (T, B, hidden)
        return self.output(h), state


def lstm_hidden_for_params(input_size: int, output_size: int, params: int, num_layers: int = 1) -> int:
    """The hidden width whose :class:`SequenceLSTM` has the parameter count nearest ``params``.

    One layer has 4H(I + H + 2) + O(H + 1) parameters (torch's two bias vectors); the quadratic in H is solved
    and rounded, with more layers searched by counting."""
    def count(h):
        n, i = 0, input_size
        for _ in range(num_layers):
            n += 4 * h * (i + h + 2)
            i = h
        return n + output_size * (h + 1)
    guess = max(1, int(math.sqrt(params / (4 * num_layers))))
    return min(range(max(1, guess // 2), guess * 2 + 2), key=lambda h: abs(count(h) - params))
