"""Echo state network (ESN, Jaeger 2001): a fixed random recurrent reservoir and a linear readout trained in
closed form.

The reservoir is never trained. Its state x (N units) follows the leaky-integrator update::

    x(t+1) = (1 - a) x(t) + a tanh(W x(t) + W_in u(t+1) + b)

with W a sparse random N x N matrix (``rc_connectivity`` of its entries drawn from N(0, 1)) rescaled to the
spectral radius rho (its largest eigenvalue modulus; rho near 1 gives long fading memory: the echo state
property), W_in sparse +-``input_scaling`` (``input_connectivity`` of its entries), a the leak rate. Only the
readout y = x W_out + b_out is learned, by ridge regression on the states collected while the reservoir is driven
by the true inputs (teacher forcing), after a ``warmup`` that washes out the initial state::

    W_out = (X_c^T X_c + lambda I)^-1 X_c^T Y_c,    b_out = mean(Y) - mean(X) W_out

(X_c, Y_c the centred states and targets). Free-running generation feeds each prediction back as the next input,
so a one-step predictor becomes a generator of the series.

The initialisation and the update are reservoirpy's (``Reservoir``: ``normal`` W, ``bernoulli`` W_in, zero bias;
``Ridge`` with a fitted bias), so the two are comparable on the same settings; the random numbers differ.

Example::

    >>> import nnzoo
    >>> from nnzoo.zoo.esn import ESN
    >>> t = nnzoo.arange(600, dtype=nnzoo.float64) * 0.1
    >>> u = t.sin().reshape(-1, 1)
    >>> esn = ESN(50, spectral_radius=0.9, leak_rate=0.5, ridge=1e-6, seed=0).fit(u[:-1], u[1:], warmup=50)
    >>> pred = esn.predict(u[1:-1])   # the state carries on from the fit's end: 50 steps wash that out
    >>> float(((pred[50:] - u[52:]) ** 2).mean()) < 1e-6
    True
"""
from __future__ import annotations

import numpy as np

from ..autograd.arrays import array, wrap
from ..autograd.grad_mode import no_grad
from ..backend import xp
from ..creation import tensor, zeros
from ..dtypes import float64
from ..ops.shape import cat
from ..random import Generator, rand, randn
from ..tensor import Tensor

__all__ = ["ESN", "spectral_radius", "ridge_readout"]


def spectral_radius(W: Tensor) -> float:
    """The largest eigenvalue modulus of the square ``W``.

    NOTE: nnzoo has no eigen-solver yet: LAPACK's ``geev`` on the host (``numpy.linalg.eigvals``); N <= a few
    thousand units takes well under a second.
    """
    return float(np.max(np.abs(np.linalg.eigvals(W.numpy()))))  # host: eigenvalues (no nnzoo.linalg yet)


def ridge_readout(X: Tensor, Y: Tensor, ridge: float, fit_bias: bool = True) -> tuple[Tensor, Tensor]:
    """The ridge-regression readout of states ``X`` (T, N) to targets ``Y`` (T, O): W_out = (X_c^T X_c + ridge I)^-1
    X_c^T Y_c and b = mean(Y) - mean(X) W_out (X_c, Y_c centred; uncentred and b = 0 without ``fit_bias``).

    NOTE: the Gram matrices are nnzoo matmuls; the N x N symmetric solve runs on the host (``numpy.linalg.solve``:
    nnzoo has no linalg module yet).

    Returns:
        (W_out (N, O), b (O,)).
    """
    with no_grad():
        if fit_bias:
            xm, ym = X.mean(0), Y.mean(0)
            Xc, Yc = X - xm, Y - ym
        else:
            Xc, Yc = X, Y
        A = Xc.T @ Xc  # (N, N)
        B = Xc.T @ Yc  # (N, O)
        A_np = A.numpy() + ridge * np.eye(A.shape[0])
        W = tensor(np.linalg.solve(A_np, B.numpy()), dtype=X.dtype)  # host: the N x N solve
        b = (ym - xm @ W) if fit_bias else zeros(Y.shape[1], dtype=X.dtype)
    return W, b


class ESN:
    """An echo state network: reservoir + ridge readout.

    Args:
        units: N, the reservoir's size.
        input_dim, output_dim: the sizes of u and y.
        spectral_radius: rho, the largest eigenvalue modulus W is rescaled to.
        leak_rate: a in (0, 1].
        input_scaling: the magnitude of W_in's non-zero entries.
        input_connectivity, rc_connectivity: the fractions of non-zero entries of W_in and W.
        bias_scaling: b ~ U(-bias_scaling, bias_scaling) (0: no bias, reservoirpy's default).
        ridge: lambda, the readout's L2 penalty.
        seed: the seed of the reservoir's random matrices.
        dtype: float64 by default (the ridge solve is ill-conditioned at lambda = 1e-5).
    """

    def __init__(self, units: int, input_dim: int = 1, output_dim: int = 1, spectral_radius: float = 1.25,
                 leak_rate: float = 0.3, input_scaling: float = 1.0, input_connectivity: float = 0.1,
                 rc_connectivity: float = 0.1, bias_scaling: float = 0.0, ridge: float = 1e-5, seed: int = 0,
                 dtype=float64):
        if units < 1 or not 0 < leak_rate <= 1 or spectral_radius < 0 or ridge < 0:
            raise ValueError(f"ESN: need units >= 1, 0 < leak_rate <= 1, spectral_radius >= 0, ridge >= 0; got "
                             f"units={units}, leak_rate={leak_rate}, spectral_radius={spectral_radius}, ridge={ridge}")
        for name, v in (("input_connectivity", input_connectivity), ("rc_connectivity", rc_connectivity)):
            if not 0 < v <= 1:
                raise ValueError(f"ESN: {name} must lie in (0, 1], got {v}")
        self.units, self.input_dim, self.output_dim = units, input_dim, output_dim
        self.leak_rate, self.ridge, self.dtype = leak_rate, ridge, dtype
        self.target_spectral_radius = spectral_radius
        g = Generator().manual_seed(seed)
        with no_grad():
            mask = rand(units, units, generator=g, dtype=dtype) < rc_connectivity
            W = randn(units, units, generator=g, dtype=dtype) * mask.to(dtype)  # (N, N) sparse normal
            rho = _radius(W)  # (the argument spectral_radius hides the module's function here)
            self.W = W * (spectral_radius / rho if rho > 0 else 0.0)
            mask = rand(units, input_dim, generator=g, dtype=dtype) < input_connectivity
            signs = (rand(units, input_dim, generator=g, dtype=dtype) < 0.5).to(dtype) * 2 - 1
            self.W_in = signs * mask.to(dtype) * input_scaling  # (N, D) sparse +-input_scaling
            self.bias = (rand(units, generator=g, dtype=dtype) * 2 - 1) * bias_scaling  # (N,)
        self.state = zeros(units, dtype=dtype)  # (N,)
        self.W_out: Tensor | None = None  # (N, O)
        self.b_out: Tensor | None = None  # (O,)

    # ---- the reservoir -------------------------------------------------------------------------------------------
    def reset(self) -> None:
        """Set the reservoir's state to zero."""
        self.state = zeros(self.units, dtype=self.dtype)

    def run_reservoir(self, u) -> Tensor:
        """Drive the reservoir with the inputs ``u`` (T, D) from its current state; returns the states (T, N) and
        keeps the last one.

        NOTE: the input projections of all T steps are one matmul before the loop; the loop itself runs on the
        arrays behind the tensors (``nnzoo.autograd.arrays``, ``backend.xp``: nothing here is differentiated), one
        GEMV and three element-wise passes a step: 1,600 steps of 100 units took 25 ms against 100 ms as seven
        tensor ops a step (:meth:`run_reservoir_tensors`, the reference it is tested against).
        """
        u = _as_tensor(u, self.dtype).reshape(-1, self.input_dim)
        a = self.leak_rate
        with no_grad():
            drive = array(u @ self.W_in.T + self.bias)  # (T, N)
            WT = xp.ascontiguousarray(array(self.W).T)  # (N, N)
            x = array(self.state).reshape(1, -1)  # (1, N)
            states = xp.empty((drive.shape[0], self.units), dtype=drive.dtype)
            for t in range(drive.shape[0]):
                x = x + a * (xp.tanh(x @ WT + drive[t]) - x)  # (1, N)
                states[t] = x[0]
            self.state = wrap(x.reshape(-1).copy())
            return wrap(states)

    def run_reservoir_tensors(self, u) -> Tensor:
        """:meth:`run_reservoir` written with tensor ops, one step after the other: the reference of the array
        loop."""
        u = _as_tensor(u, self.dtype).reshape(-1, self.input_dim)
        a = self.leak_rate
        with no_grad():
            drive = u @ self.W_in.T + self.bias  # (T, N)
            WT = self.W.T
            x = self.state.reshape(1, -1)  # (1, N)
            states = []
            for t in range(drive.shape[0]):
                x = x + a * ((x @ WT + drive[t]).tanh() - x)  # (1, N)
                states.append(x)
            self.state = x.reshape(-1)
            return cat(states, 0) if states else zeros(0, self.units, dtype=self.dtype)

    # ---- the readout ---------------------------------------------------------------------------------------------
    def fit(self, u, y, warmup: int = 0, reset: bool = True) -> ESN:
        """Teacher forcing: drive the reservoir with the true inputs ``u`` (T, D) (from zero when ``reset``), drop the
        first ``warmup`` states, and fit the ridge readout to the targets ``y`` (T, O). Returns self."""
        if reset:
            self.reset()
        X = self.run_reservoir(u)[warmup:]  # (T - warmup, N)
        Y = _as_tensor(y, self.dtype).reshape(-1, self.output_dim)[warmup:]  # (T - warmup, O)
        self.W_out, self.b_out = ridge_readout(X, Y, self.ridge)
        return self

    def readout(self, states: Tensor) -> Tensor:
        """y = x W_out + b_out for states (T, N): (T, O)."""
        if self.W_out is None:
            raise RuntimeError("ESN: fit the readout before predicting")
        with no_grad():
            return states @ self.W_out + self.b_out

    def predict(self, u) -> Tensor:
        """One-step predictions for the inputs ``u`` (T, D), continuing from the current state: (T, O)."""
        return self.readout(self.run_reservoir(u))

    def generate(self, n_steps: int, u0) -> Tensor:
        """Free-running generation: feed each prediction back as the next input (output_dim == input_dim), starting
        with the input ``u0`` (D,) from the current state. Returns the n_steps predictions (n_steps, O)."""
        if self.output_dim != self.input_dim:
            raise ValueError(f"ESN.generate: the output ({self.output_dim}) must feed the input ({self.input_dim})")
        u = _as_tensor(u0, self.dtype).reshape(1, self.input_dim)
        a = self.leak_rate
        out = []
        with no_grad():
            WT, WinT = self.W.T, self.W_in.T
            x = self.state.reshape(1, -1)
            for _ in range(n_steps):
                x = x + a * ((x @ WT + u @ WinT + self.bias).tanh() - x)  # (1, N)
                u = x @ self.W_out + self.b_out  # (1, O)
                out.append(u)
            self.state = x.reshape(-1)
            return cat(out, 0)

    def __repr__(self) -> str:
        return (f"ESN(units={self.units}, spectral_radius={self.target_spectral_radius}, leak_rate={self.leak_rate}, "
                f"ridge={self.ridge})")


def _radius(W: Tensor) -> float:
    return spectral_radius(W)


def _as_tensor(x, dtype) -> Tensor:
    if isinstance(x, Tensor):
        return x.to(dtype) if x.dtype != dtype else x
    return tensor(np.asarray(x), dtype=dtype)
