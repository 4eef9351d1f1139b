"""Liquid state machine (LSM, Maass, Natschlaeger & Markram 2002): a fixed spiking reservoir of leaky
integrate-and-fire neurons joined by dynamic synapses, read by a linear readout of its filtered spike trains.

The liquid: N neurons on a 3-D grid (15 x 3 x 3 = 135 in the paper), 20% of them inhibitory; neuron a connects to
b with probability C exp(-(D(a, b) / lambda)^2) (D the grid distance, lambda = 2; C = 0.3 E->E, 0.2 E->I, 0.4 I->E,
0.1 I->I). Each input channel connects to each neuron with probability ``input_connectivity``.

A neuron (membrane time constant tau_m = 30 ms, input resistance 1 MOhm, so currents in nA move V in mV)::

    tau_m dV/dt = -V + I_syn(t) + I_b,      a spike when V >= 15 mV, then V = 13.5 mV for the refractory period
                                            (3 ms excitatory, 2 ms inhibitory); I_b = 13.5 nA

Synaptic currents decay exponentially (tau_s = 3 ms after an excitatory spike, 6 ms after an inhibitory one) and
jump at each presynaptic spike by the dynamic synapse's amplitude (Markram, Wang & Tsodyks 1998; Tsodyks-Markram
short-term plasticity), for the n-th spike of a train with interval Delta_n before the next::

    A_n = A u_n R_n,   u_1 = U, R_1 = 1
    u_{n+1} = U + u_n (1 - U) exp(-Delta_n / F)           (facilitation)
    R_{n+1} = 1 + (R_n - u_n R_n - 1) exp(-Delta_n / D)   (depression: the resources used recover with D)

with U, D, F and the weight A drawn per synapse around the paper's means for its type (E->E U 0.5, D 1.1 s,
F 0.05 s, A 30 nA; E->I 0.05, 0.125 s, 1.2 s, 60 nA; I->E 0.25, 0.7 s, 0.02 s, -19 nA; I->I 0.32, 0.144 s, 0.06 s,
-19 nA; input synapses A 18 nA to excitatory and 9 nA to inhibitory neurons, with the E->E and E->I dynamics).

The readout sees each neuron's spike train filtered by an exponential kernel, r(t) = sum_spikes exp(-(t - t_s) /
tau_r) (tau_r = 30 ms): the liquid state x(t); it is linear, trained by ridge regression on the states at the
readout times (one-vs-rest targets for a classification).

Simulated in steps of ``dt`` (1 ms by default; the membrane moves by the exact exponential step for the current
held over the step) for a batch of inputs at once; the synapses are an edge list (pre, post), their states (B, E)
tensors.

Example::

    >>> import nnzoo
    >>> from nnzoo.zoo.lsm import LSM
    >>> lsm = LSM(input_channels=2, seed=0)
    >>> spikes = (nnzoo.rand(4, 50, 2, generator=nnzoo.Generator().manual_seed(0)) < 0.05).float()  # (B, T, C)
    >>> states = lsm.run(spikes)["states"]
    >>> tuple(states.shape)
    (4, 50, 135)
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd.grad_mode import no_grad
from ..creation import full, tensor, zeros
from ..dtypes import float32
from ..ops.arith import where
from ..ops.shape import stack
from ..tensor import Tensor

__all__ = ["LSM", "SYNAPSE_TYPES"]

# the paper's means per connection type (pre, post): connection scale C, U, D (s), F (s), A (nA)
SYNAPSE_TYPES = {
    ("E", "E"): dict(C=0.3, U=0.5, D=1.1, F=0.05, A=30.0),
    ("E", "I"): dict(C=0.2, U=0.05, D=0.125, F=1.2, A=60.0),
    ("I", "E"): dict(C=0.4, U=0.25, D=0.7, F=0.02, A=-19.0),
    ("I", "I"): dict(C=0.1, U=0.32, D=0.144, F=0.06, A=-19.0),
}


class LSM:
    """A liquid of leaky integrate-and-fire neurons with dynamic synapses (see the module's docstring).

    Args:
        input_channels: the number of input spike trains.
        grid: the liquid's 3-D shape (N = the product).
        inhibitory: the fraction of inhibitory neurons.
        lam: lambda, the connection length scale (grid units).
        input_connectivity: the probability that a channel connects to a neuron.
        dt: the time step (ms).
        tau_m, threshold, reset, background: the neuron (ms, mV, mV, nA).
        refractory_e, refractory_i: refractory periods (ms).
        tau_syn_e, tau_syn_i: synaptic current decays (ms).
        tau_readout: the readout's exponential filter (ms).
        noise: the SD (nA) of a white noise current added at each step (0: none).
        seed: the liquid's random construction and its initial membrane potentials.
    """

    def __init__(self, input_channels: int, grid: tuple[int, int, int] = (15, 3, 3), inhibitory: float = 0.2,
                 lam: float = 2.0, input_connectivity: float = 0.3, dt: float = 1.0, tau_m: float = 30.0,
                 threshold: float = 15.0, reset: float = 13.5, background: float = 13.5, refractory_e: float = 3.0,
                 refractory_i: float = 2.0, tau_syn_e: float = 3.0, tau_syn_i: float = 6.0, tau_readout: float = 30.0,
                 noise: float = 0.0, seed: int = 0, dtype=float32):
        if input_channels < 1 or dt <= 0 or not 0 <= inhibitory < 1:
            raise ValueError(f"LSM: need input_channels >= 1, dt > 0, 0 <= inhibitory < 1; got {input_channels}, {dt}, "
                             f"{inhibitory}")
        self.input_channels, self.grid, self.dt, self.dtype = input_channels, tuple(grid), dt, dtype
        self.tau_m, self.threshold, self.reset, self.background, self.noise = tau_m, threshold, reset, background, noise
        self.tau_readout, self.seed = tau_readout, seed
        rng = np.random.default_rng(seed)  # host: the liquid's construction (a few thousand draws, once)
        N = int(np.prod(grid))
        self.N = N
        exc = np.ones(N, dtype=bool)
        exc[rng.choice(N, round(inhibitory * N), replace=False)] = False
        self.excitatory = exc
        pos = np.stack(np.unravel_index(np.arange(N), grid), axis=1).astype(np.float64)  # (N, 3)
        dist2 = ((pos[:, None, :] - pos[None, :, :]) ** 2).sum(-1)  # (N, N)
        kind = np.where(exc, "E", "I")
        pre, post, U, D, F, A = [], [], [], [], [], []

        def add(p, q, params, amp):  # per-synapse values around the type's means (Maass: SD 50% of the mean)
            n = len(p)
            pre.append(p)
            post.append(q)
            for out, mean in ((U, params["U"]), (D, params["D"] * 1000.0), (F, params["F"] * 1000.0)):
                out.append(np.clip(rng.normal(mean, 0.5 * mean, n), 0.1 * mean, 2 * mean))
            A.append(amp * np.clip(rng.gamma(1 / 0.7 ** 2, 0.7 ** 2, n), 0.05, None))  # gamma, CV 0.7, mean |A|

        for (a, b), params in SYNAPSE_TYPES.items():
            mask = (kind[:, None] == a) & (kind[None, :] == b) & ~np.eye(N, dtype=bool)
            prob = params["C"] * np.exp(-dist2 / lam ** 2)
            p, q = np.nonzero(mask & (rng.random((N, N)) < prob))
            add(p, q, params, params["A"])
        for c in range(input_channels):  # the inputs are presynaptic 'neurons' N..N+C-1
            q = np.nonzero(rng.random(N) < input_connectivity)[0]
            for target, params, amp in ((exc, SYNAPSE_TYPES[("E", "E")], 18.0),
                                        (~exc, SYNAPSE_TYPES[("E", "I")], 9.0)):
                qq = q[target[q]]
                add(np.full(len(qq), N + c), qq, params, amp)
        pre, post = np.concatenate(pre), np.concatenate(post)
        self.n_synapses = len(pre)
        self.n_recurrent = int(np.sum(pre < N))
        self._pre = tensor(pre, dtype=None)  # (E,) int64
        self.U = tensor(np.concatenate(U), dtype=dtype)  # (E,)
        self.decay_F = tensor(np.exp(-dt / np.concatenate(F)), dtype=dtype)  # (E,)
        self.decay_D = tensor(np.exp(-dt / np.concatenate(D)), dtype=dtype)  # (E,)
        self.A = tensor(np.concatenate(A), dtype=dtype)  # (E,) signed amplitudes (nA)
        # routing: an excitatory presynaptic spike feeds the post neuron's fast current (column post), an inhibitory
        # one its slow current (column N + post): one (E, 2N) matmul per step
        pre_exc = np.concatenate([exc, np.ones(input_channels, dtype=bool)])[pre]
        route = np.zeros((len(pre), 2 * N))
        route[np.arange(len(pre)), post + np.where(pre_exc, 0, N)] = 1.0
        self._route = tensor(route, dtype=dtype)  # (E, 2N)
        self.decay_syn = tensor(np.concatenate([np.full(N, math.exp(-dt / tau_syn_e)),
                                                np.full(N, math.exp(-dt / tau_syn_i))]), dtype=dtype)  # (2N,)
        self.refractory = tensor(np.where(exc, refractory_e, refractory_i), dtype=dtype)  # (N,)
        self._rng = rng

    def run(self, inputs: Tensor, record: bool = False, initial_v: Tensor | None = None) -> dict:
        """Simulate the liquid driven by the input spikes ``inputs`` (B, T, C) (spike counts per step).

        Args:
            inputs: (B, T, C).
            record: also return every step's spikes (B, T, N) (for a raster plot).
            initial_v: (B, N) initial membrane potentials (default: uniform in [reset, threshold], drawn from the
                liquid's generator, as in the paper).

        Returns:
            ``{"states": (B, T, N) the exponentially filtered spike trains x(t), "rates": the mean firing rate (Hz),
            "spikes": (B, T, N) when record}``.
        """
        B, T, C = inputs.shape
        if C != self.input_channels:
            raise ValueError(f"LSM.run: inputs have {C} channels, the liquid takes {self.input_channels}")
        N, dt, dtype = self.N, self.dt, self.dtype
        inputs = inputs.to(dtype)
        if initial_v is None:
            initial_v = tensor(self._rng.uniform(self.reset, self.threshold, (B, N)), dtype=dtype)
        decay_m, decay_r = math.exp(-dt / self.tau_m), math.exp(-dt / self.tau_readout)
        E = self.n_synapses
        with no_grad():
            v = initial_v.clone()  # (B, N) membrane potential (mV)
            refr = zeros(B, N, dtype=dtype)  # (B, N) refractory time left (ms)
            current = zeros(B, 2 * N, dtype=dtype)  # (B, 2N) fast (excitatory) and slow (inhibitory) currents
            w = zeros(B, E, dtype=dtype)  # (B, E) u_n (1 - U) decayed: u at the next spike = U + w
            R = full((B, E), 1.0, dtype=dtype)  # (B, E) available resources
            trace = zeros(B, N, dtype=dtype)  # (B, N) the readout's filtered spike trains
            spikes = zeros(B, N, dtype=dtype)
            states, record_spikes, total = [], [], 0.0
            for t in range(T):
                # synapses: the spikes of the last step (liquid) and of this step (inputs) arrive
                pre_spikes = _cat1(spikes, inputs[:, t]).index_select(1, self._pre)  # (B, E)
                u = self.U + w
                amp = self.A * u * R * pre_spikes  # (B, E) A u_n R_n on a spike, else 0
                w = w + pre_spikes * (u * (1 - self.U) - w)
                R = R - pre_spikes * u * R
                w = w * self.decay_F  # facilitation fades towards U ...
                R = 1 - (1 - R) * self.decay_D  # ... and the resources recover
                current = current * self.decay_syn + amp @ self._route  # (B, 2N)
                drive = current[:, :N] + current[:, N:] + self.background  # (B, N) nA
                if self.noise:
                    from ..random import randn
                    drive = drive + self.noise * randn(B, N, dtype=dtype)
                # the membrane: exact exponential step towards R I (R = 1 MOhm), held at reset while refractory
                v = drive + (v - drive) * decay_m
                resting = refr > 0
                v = where(resting, self.reset, v)
                spikes = ((v >= self.threshold) & ~resting).to(dtype)  # (B, N)
                v = where(spikes > 0, self.reset, v)
                refr = where(spikes > 0, self.refractory, (refr - dt).clamp(min=0))
                trace = trace * decay_r + spikes
                states.append(trace)
                total += float(spikes.sum())
                if record:
                    record_spikes.append(spikes)
            out = {"states": stack(states, 1), "rates": total / (B * N * T * dt / 1000.0)}
            if record:
                out["spikes"] = stack(record_spikes, 1)
            return out

    def __repr__(self) -> str:
        return (f"LSM(N={self.N}, grid={self.grid}, input_channels={self.input_channels}, "
                f"synapses={self.n_synapses} ({self.n_recurrent} recurrent), dt={self.dt})")


def _cat1(a: Tensor, b: Tensor) -> Tensor:
    from ..ops.shape import cat
    return cat([a, b], 1)
