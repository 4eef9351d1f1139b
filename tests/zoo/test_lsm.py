"""Liquid state machine: the simulation against a NumPy event-by-event twin (Markram's synapse recursion written
with the inter-spike intervals), the integrate-and-fire neuron's firing period against theory, the readout state
as the exponentially filtered spike trains."""
import math

import numpy as np
import pytest

import nnzoo
from nnzoo.zoo.lsm import LSM


def _reference(lsm, inputs, v0):
    """The liquid simulated synapse by synapse with Markram, Wang & Tsodyks' recursion over inter-spike intervals."""
    B, T, _C = inputs.shape
    N, dt = lsm.N, lsm.dt
    pre = lsm._pre.numpy()
    U = lsm.U.numpy().astype(np.float64)
    Dm = -dt / np.log(lsm.decay_D.numpy().astype(np.float64))  # the time constants back from the decays
    Fm = -dt / np.log(lsm.decay_F.numpy().astype(np.float64))
    A = lsm.A.numpy().astype(np.float64)
    route = lsm._route.numpy()
    col = route.argmax(1)
    dsyn = lsm.decay_syn.numpy().astype(np.float64)
    refr_len = lsm.refractory.numpy()
    states, rasters = np.zeros((B, T, N)), np.zeros((B, T, N))
    for b in range(B):
        v, refr, cur, trace = v0[b].astype(np.float64).copy(), np.zeros(N), np.zeros(2 * N), np.zeros(N)
        last, u_prev, R_prev = np.full(len(pre), -1), np.zeros(len(pre)), np.ones(len(pre))
        spikes = np.zeros(N)
        for t in range(T):
            s = np.concatenate([spikes, inputs[b, t]])[pre]
            amp = np.zeros(len(pre))
            for e in np.nonzero(s)[0]:
                if last[e] < 0:
                    u, R = U[e], 1.0
                else:
                    delta = (t - last[e]) * dt
                    u = U[e] + u_prev[e] * (1 - U[e]) * math.exp(-delta / Fm[e])
                    R = 1 + (R_prev[e] - u_prev[e] * R_prev[e] - 1) * math.exp(-delta / Dm[e])
                amp[e] = A[e] * u * R * s[e]
                last[e], u_prev[e], R_prev[e] = t, u, R
            cur = cur * dsyn + np.bincount(col, weights=amp, minlength=2 * N)
            drive = cur[:N] + cur[N:] + lsm.background
            v = drive + (v - drive) * math.exp(-dt / lsm.tau_m)
            resting = refr > 0
            v[resting] = lsm.reset
            spikes = ((v >= lsm.threshold) & ~resting).astype(float)
            v[spikes > 0] = lsm.reset
            refr = np.where(spikes > 0, refr_len, np.maximum(refr - dt, 0))
            trace = trace * math.exp(-dt / lsm.tau_readout) + spikes
            states[b, t], rasters[b, t] = trace, spikes
    return states, rasters


def test_simulation_matches_the_event_by_event_twin():
    lsm = LSM(2, grid=(4, 3, 2), input_connectivity=0.6, seed=3, dtype=nnzoo.float64)
    rng = np.random.default_rng(0)
    inputs = (rng.random((2, 120, 2)) < 0.08).astype(np.float64)
    v0 = rng.uniform(13.5, 15.0, (2, lsm.N))
    out = lsm.run(nnzoo.tensor(inputs), record=True, initial_v=nnzoo.tensor(v0))
    states, rasters = _reference(lsm, inputs, v0)
    assert rasters.sum() > 20  # the liquid does fire: the synapses were exercised
    np.testing.assert_array_equal(out["spikes"].numpy(), rasters)
    np.testing.assert_allclose(out["states"].numpy(), states, rtol=1e-10, atol=1e-12)
    assert out["rates"] == pytest.approx(rasters.mean() * 1000 / lsm.dt)


def test_lif_firing_period_is_the_theoretical_one():
    # no synapses (inputs never spike); a background current above threshold fires every t_ref + tau ln(...) ms
    current = 20.0
    lsm = LSM(1, grid=(1, 1, 1), inhibitory=0.0, background=current, dt=0.1, seed=0, dtype=nnzoo.float64)
    T = 1000
    out = lsm.run(nnzoo.zeros(1, T, 1, dtype=nnzoo.float64), record=True,
                  initial_v=nnzoo.full((1, lsm.N), lsm.reset, dtype=nnzoo.float64))
    times = np.nonzero(out["spikes"].numpy()[0, :, 0])[0] * lsm.dt
    period = 3.0 + lsm.tau_m * math.log((current - lsm.reset) / (current - lsm.threshold))
    assert np.diff(times).mean() == pytest.approx(period, abs=2 * lsm.dt)


def test_construction_follows_the_paper():
    lsm = LSM(4, seed=0)
    assert lsm.N == 135 and (~lsm.excitatory).sum() == 27
    A = lsm.A.numpy()[: lsm.n_recurrent]
    pre = lsm._pre.numpy()[: lsm.n_recurrent]
    assert np.all(A[lsm.excitatory[pre]] > 0) and np.all(A[~lsm.excitatory[pre]] < 0)  # Dale's law
    assert 0 < lsm.n_recurrent < 0.2 * lsm.N ** 2
    with pytest.raises(ValueError, match="channels"):
        lsm.run(nnzoo.zeros(1, 5, 3))
