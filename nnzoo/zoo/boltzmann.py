"""The Boltzmann machine (Ackley, Hinton & Sejnowski 1985): stochastic binary units, fully (or as a mask says)
and symmetrically connected, sampled by Gibbs sampling under simulated annealing, trained by the Boltzmann
learning rule.

Units s_i in {0, 1}, symmetric weights W (zero diagonal), biases b; the energy and the stochastic update at
temperature T:

    E(s) = -1/2 s^T W s - b.s
    p(s_i = 1 | the others) = sigmoid((W_i.s + b_i) / T)       (Gibbs sampling: one unit at a time)

At equilibrium the states follow p(s) ~ exp(-E(s) / T). Simulated annealing runs the sampler through a falling
schedule of temperatures to reach low-energy states without getting stuck.

Learning rule (Ackley-Hinton-Sejnowski): with the visible units clamped to the environment's vectors ("plus"
phase) and free ("minus" phase), collect the co-occurrence probabilities p_ij = <s_i s_j> at equilibrium at the
final temperature; then

    dW_ij = eps (p_ij+ - p_ij-)        (``rule='sign'``: eps sign(p_ij+ - p_ij-), the paper's fixed-size steps)
    db_i  = eps (p_i+ - p_i-)

which follows the gradient of G = KL(environment || free-running machine) on the visible units (times T).

A machine here is a *stack* of ``n_nets`` independent machines of the same shape (weights (M, N, N)), sampled
side by side: the 4-2-4 encoder's 20 runs are one stack.
"""
from __future__ import annotations

import nnzoo

from .. import nn
from ..autograd.arrays import array, bump_version
from ..backend import xp

__all__ = ["BoltzmannMachine", "encoder_connectivity", "ANNEALING_1985"]

# the encoder simulations' schedule (time units, temperature); statistics for 10 more time units at T = 10
ANNEALING_1985 = ((2, 20.0), (2, 15.0), (2, 12.0), (4, 10.0))


def encoder_connectivity(n_visible: int, n_hidden: int) -> nnzoo.Tensor:
    """The connections of the n-h-n encoder (units V1 = 0..n-1, H = n..n+h-1, V2 = the last n): every pair within
    V1, within H, within V2, and V1-H and H-V2; no V1-V2 connection, no self-connection. A (N, N) 0/1 mask."""
    n = 2 * n_visible + n_hidden
    group = [0] * n_visible + [1] * n_hidden + [2] * n_visible
    mask = [[float(i != j and abs(group[i] - group[j]) <= 1) for j in range(n)] for i in range(n)]
    return nnzoo.tensor(mask)


class BoltzmannMachine(nn.Module):
    """A stack of ``n_nets`` Boltzmann machines of ``n_units`` binary units (see the module docstring).

    Args:
        n_units: N.
        connectivity: a symmetric (N, N) 0/1 mask of the allowed connections (default: all pairs; the diagonal
            is always 0).
        n_nets: M, independent machines sampled and trained side by side. Default: 1.

    Buffers: ``weight`` (M, N, N) and ``bias`` (M, N), zero at the start (as in the paper); ``connectivity``.

    Example::

        >>> bm = BoltzmannMachine(10, encoder_connectivity(4, 2))
        >>> bm.energy(nnzoo.ones(1, 3, 10)).shape
        nnzoo.Size([1, 3])
    """

    def __init__(self, n_units: int, connectivity: nnzoo.Tensor | None = None, n_nets: int = 1) -> None:
        super().__init__()
        self.n_units, self.n_nets = n_units, n_nets
        mask = nnzoo.ones(n_units, n_units) if connectivity is None else connectivity.float()
        if tuple(mask.shape) != (n_units, n_units) or not bool((mask == mask.t()).all()):
            raise ValueError(f"BoltzmannMachine: connectivity must be a symmetric ({n_units}, {n_units}) mask")
        self.register_buffer("connectivity", mask * (1 - nnzoo.eye(n_units)))         # (N, N)
        self.register_buffer("weight", nnzoo.zeros(n_nets, n_units, n_units))         # (M, N, N)
        self.register_buffer("bias", nnzoo.zeros(n_nets, n_units))                      # (M, N)

    def extra_repr(self) -> str:
        return f"n_units={self.n_units}, n_nets={self.n_nets}"

    def energy(self, states: nnzoo.Tensor) -> nnzoo.Tensor:
        """E(s) = -1/2 s^T W s - b.s for states (M, B, N) -> (M, B)."""
        s = states.float()
        return -0.5 * ((s @ self.weight) * s).sum(-1) - (s * self.bias.unsqueeze(1)).sum(-1)

    def anneal(self, states: nnzoo.Tensor, clamp: nnzoo.Tensor | None = None,
               schedule=ANNEALING_1985, stats_sweeps: int = 10, stats_temperature: float | None = None,
               generator: nnzoo.Generator | None = None) -> tuple[nnzoo.Tensor, nnzoo.Tensor, nnzoo.Tensor]:
        """Simulated annealing by Gibbs sampling, then equilibrium statistics.

        Args:
            states: the starting states (M, B, N) of 0/1; the clamped units keep their values.
            clamp: a 0/1 mask broadcastable to (M, B, N) of the units held fixed (None: all free).
            schedule: ((sweeps, temperature), ...): a sweep ("time unit") updates every free unit once, in a
                random order.
            stats_sweeps: sweeps at the final temperature (``stats_temperature``, default the schedule's last)
                over which the statistics are collected (after each sweep).
            generator: the random generator.

        Returns:
            (final states (M, B, N), co-occurrences <s_i s_j> (M, N, N) averaged over the B chains and the
            statistics sweeps, activities <s_i> (M, B, N) of each chain averaged over the statistics sweeps).
        """
        S = array(states.float()).copy()                                             # (M, B, N)
        fixed = None if clamp is None else xp.broadcast_to(array(clamp.float()), S.shape) > 0
        W, b = array(self.weight), array(self.bias)
        temp = stats_temperature if stats_temperature is not None else schedule[-1][1]
        plan = [t for sweeps, t in schedule for _ in range(sweeps)] + [temp] * stats_sweeps
        co = xp.zeros_like(W)
        act = xp.zeros_like(S)
        for k, t in enumerate(plan):
            for i in nnzoo.randperm(self.n_units, generator=generator).tolist():
                field = xp.matmul(S, W[:, i, :, None])[..., 0] + b[:, i, None]        # (M, B)
                u = array(nnzoo.rand(*field.shape, generator=generator))
                new = (u * (1.0 + xp.exp(-field / t)) < 1.0).astype(S.dtype)        # u < sigmoid(field / t)
                S[..., i] = new if fixed is None else xp.where(fixed[..., i], S[..., i], new)
            if k >= len(plan) - stats_sweeps:
                co += xp.matmul(S.transpose(0, 2, 1), S) / S.shape[1]
                act += S
        n = max(stats_sweeps, 1)
        return nnzoo.from_numpy(S), nnzoo.from_numpy(co / n), nnzoo.from_numpy(act / n)

    def learn_(self, plus: tuple, minus: tuple, eps: float, rule: str = "linear",
               active: nnzoo.Tensor | None = None) -> None:
        """The Boltzmann learning rule in place: W += eps (p+ - p-) (``rule='sign'``: eps sign(p+ - p-)) on the
        allowed connections, b likewise with the activities.

        Args:
            plus, minus: the (co-occurrences, activities) of :meth:`anneal` in the clamped and the free phase.
            eps: the step.
            rule: ``'linear'`` or ``'sign'``.
            active: a (M,) 0/1 mask of the machines that learn (finished runs stop); None: all.
        """
        if rule not in ("linear", "sign"):
            raise ValueError(f"BoltzmannMachine.learn_: rule must be 'linear' or 'sign', got {rule!r}")
        with nnzoo.no_grad():
            dw = plus[0] - minus[0]                                                  # (M, N, N)
            db = plus[1].mean(1) - minus[1].mean(1)                                  # (M, N)
            if rule == "sign":
                dw, db = dw.sign(), db.sign()
            on = nnzoo.ones(self.n_nets) if active is None else active.float()
            W, b = array(self.weight), array(self.bias)
            W += eps * array(dw * self.connectivity * on.reshape(-1, 1, 1))
            b += eps * array(db * on.reshape(-1, 1))
            bump_version(self.weight)
            bump_version(self.bias)
