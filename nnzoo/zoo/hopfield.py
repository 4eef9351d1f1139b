"""The Hopfield network: an associative memory of +-1 patterns stored by Hebb's rule, recalled by descending an
energy.

N binary units s_i in {-1, +1}, symmetric weights with a zero diagonal, no thresholds:

    storage (Hebb's rule):   W = (1/N) sum_mu xi^mu xi^mu^T,  W_ii = 0      (P patterns xi^mu)
    update of unit i:        s_i <- sign(h_i),  h_i = sum_j W_ij s_j        (s_i kept when h_i = 0)
    energy:                  E(s) = -1/2 s^T W s

Asynchronous recall updates one unit at a time (a random order per sweep): a flip of unit i changes the energy
by dE = -(s_i' - s_i) h_i <= 0 (s_i' has the sign of h_i), so E never increases and the net stops in a fixed
point, a local minimum of E.
Synchronous recall updates every unit at once (s <- sign(W s)); it may end in a
2-cycle instead of a fixed point.

Capacity (Amit, Gutfreund & Sompolinsky 1985): for random patterns and large N, the stored patterns stay near
(~1.6% wrong bits) stable fixed points up to P = 0.138 N; beyond it recall collapses.
"""
from __future__ import annotations

import nnzoo

from .. import nn
from ..autograd.arrays import array, wrap
from ..backend import xp

__all__ = ["Hopfield", "overlap", "async_recall_", "TIE"]

# NOTE: a field |h_i| <= TIE counts as 0 (s_i kept). Hebbian fields of +-1 patterns are multiples of 1/N, and a
# zero one summed in float32 in another order comes out as +-1e-8 (async and sync then disagree on a tie); any
# nonzero field is >= 1/N >> TIE for N up to 10^4.
TIE = 1e-5


def overlap(states: nnzoo.Tensor, patterns: nnzoo.Tensor) -> nnzoo.Tensor:
    """m = s . xi / N per row: 1 for the pattern itself, -1 for its negative, ~0 for an unrelated state."""
    return (states * patterns).sum(-1) / states.shape[-1]


class Hopfield(nn.Module):
    """A Hopfield network of ``n_units`` +-1 units (see the module docstring for the rules).

    The weights are a buffer (``weight``, (N, N)): they are stored by :meth:`store`, not trained by gradients.

    Args:
        n_units: N.

    Example::

        >>> net = Hopfield(64)
        >>> xi = nnzoo.where(nnzoo.rand(3, 64) < 0.5, -1.0, 1.0)
        >>> net.store(xi)
        >>> bool((net.recall(xi)[0] == xi).all())
        True
    """

    def __init__(self, n_units: int) -> None:
        super().__init__()
        self.n_units = n_units
        self.register_buffer("weight", nnzoo.zeros(n_units, n_units))    # (N, N)
        self.n_patterns = 0

    def extra_repr(self) -> str:
        return f"n_units={self.n_units}, n_patterns={self.n_patterns}"

    def store(self, patterns: nnzoo.Tensor) -> None:
        """Add ``patterns`` (P, N) of +-1 to the memory by Hebb's rule: W += (1/N) xi^T xi, diagonal kept 0."""
        if patterns.dim() != 2 or patterns.shape[1] != self.n_units:
            raise ValueError(f"Hopfield.store: patterns must be (P, {self.n_units}), got {tuple(patterns.shape)}")
        with nnzoo.no_grad():
            xi = patterns.to(self.weight.dtype)
            hebb = xi.t() @ xi / self.n_units                                # (N, N)
            self.weight.add_(hebb * (1 - nnzoo.eye(self.n_units, dtype=hebb.dtype)))
        self.n_patterns += patterns.shape[0]

    def energy(self, states: nnzoo.Tensor) -> nnzoo.Tensor:
        """E(s) = -1/2 s^T W s per row of ``states`` (B, N) -> (B,)."""
        s = states.to(self.weight.dtype)
        return -0.5 * ((s @ self.weight) * s).sum(-1)

    def forward(self, states: nnzoo.Tensor) -> nnzoo.Tensor:
        """One synchronous update of every unit: s <- sign(W s) (s_i kept where h_i = 0)."""
        s = states.to(self.weight.dtype)
        h = s @ self.weight                                                  # (B, N)
        return nnzoo.where(h > TIE, 1.0, nnzoo.where(h < -TIE, -1.0, s))

    def recall(self, states: nnzoo.Tensor, mode: str = "async", max_sweeps: int = 100,
               generator: nnzoo.Generator | None = None, energies: list | None = None
               ) -> tuple[nnzoo.Tensor, int]:
        """Run the network from ``states`` (B, N) until no unit changes (or ``max_sweeps``).

        Args:
            states: the starting states (B, N) of +-1 (e.g. corrupted patterns), recalled side by side.
            mode: ``'async'``: one unit at a time in a random order per sweep (energy descent, ends in a fixed
                point); ``'sync'``: every unit at once (may end in a 2-cycle: stops when the state repeats).
            max_sweeps: the most sweeps (an async sweep visits each unit once).
            generator: the random order of the async updates.
            energies: a list to append the energy of every state (B,) to: after each unit update in async
                mode, after each step in sync mode (the energy-descent picture and test).

        Returns:
            (final states (B, N), number of sweeps run).
        """
        if mode not in ("async", "sync"):
            raise ValueError(f"Hopfield.recall: mode must be 'async' or 'sync', got {mode!r}")
        with nnzoo.no_grad():
            s = states.to(self.weight.dtype).clone()
            if energies is not None:
                energies.append(self.energy(s))
            if mode == "sync":
                previous = None
                for sweep in range(1, max_sweeps + 1):
                    new = self(s)
                    if energies is not None:
                        energies.append(self.energy(new))
                    if bool((new == s).all()) or (previous is not None and bool((new == previous).all())):
                        return new, sweep
                    previous, s = s, new
                return s, max_sweeps
            track = None
            if energies is not None:
                energy = [array(energies[-1]).copy()]

                def track(S, i, h, old):
                    # NOTE: dE = -(s_i' - s_i) h_i exactly (zero diagonal): no O(N^2) energy per unit update
                    energy[0] = energy[0] - (S[..., i] - old) * h
                    energies.append(wrap(energy[0]))
            sweeps = async_recall_(array(self.weight), array(s), max_sweeps, generator, track)
            return s, sweeps


def async_recall_(W, S, max_sweeps: int = 100, generator: nnzoo.Generator | None = None, on_update=None) -> int:
    """Asynchronous recall in place on arrays: ``S`` (..., B, N) of +-1 under weights ``W`` (..., N, N), a stack
    of networks (leading dims: T independent networks, each recalling B states) updated side by side, one unit
    at a time in a random order per sweep, until a sweep changes nothing. ``on_update(S)`` runs after each
    unit's update as ``on_update(S, i, h, old)`` (the unit, its field and its value before). Returns the number of
    sweeps run.

    NOTE: the capacity curve runs ~10 trials of each (N, P) as one stack: one Python iteration per unit for all
    of them, since the per-iteration overhead (~20 us of NumPy calls) and not the arithmetic is the cost.
    """
    n = W.shape[-1]
    for sweep in range(1, max_sweeps + 1):
        before = S.copy()
        for i in nnzoo.randperm(n, generator=generator).tolist():
            h = xp.matmul(S, W[..., i, :, None])[..., 0]              # (..., B): W is symmetric, row i = column i
            old = S[..., i].copy() if on_update is not None else None
            S[..., i] = xp.where(abs(h) > TIE, xp.sign(h), S[..., i])  # s_i kept where h_i = 0
            if on_update is not None:
                on_update(S, i, h, old)
        if (S == before).all():
            return sweep
    return max_sweeps
