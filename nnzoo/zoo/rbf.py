"""Radial basis function networks (Broomhead & Lowe 1988; Moody & Darken 1989): one layer of Gaussian bumps,
then a linear read-out.

    φ_k(x) = exp(-‖x - c_k‖² / (2 σ_k²)),        f(x) = W φ(x) + b

Trained in the classic two stages, each by its own rule:

1. **Centres** c_k by k-means on the inputs (unsupervised; :func:`kmeans`, Lloyd's algorithm with k-means++
   seeding, on nnzoo tensors), or given (Haykin's XOR construction puts two centres at (1, 1) and (-1, -1)).
2. **Widths** by the nearest-centre rule: σ_k = scale · min_{j≠k} ‖c_k - c_j‖ (:meth:`RBFNetwork.set_widths`).
3. **Output weights** against targets T (one-hot, or ±1 for one output) minimising ½‖[Φ 1] [W b]ᵀ - T‖²: in
   closed form by least squares, [W b]ᵀ = [Φ 1]⁺ T (:meth:`RBFNetwork.fit_least_squares`), or by gradient
   descent on the same squared error with nnzoo's autograd (:meth:`RBFNetwork.fit_gradient`).

Read top-down: :func:`kmeans`, :class:`RBFNetwork`, :func:`rbf_parameter_count`.

Example::

    >>> X = nnzoo.tensor([[1.0, 1.0], [-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0]]); y = nnzoo.tensor([0, 0, 1, 1])
    >>> net = RBFNetwork(2, 2, 2)
    >>> net.set_centres(X[:2]); _ = net.set_widths(scale=0.5 ** 0.5)   # Haykin's XOR: two centres
    >>> _ = net.fit_least_squares(X, y)
    >>> net(X).argmax(dim=1).tolist()
    [0, 0, 1, 1]
"""
from __future__ import annotations

import math

import numpy as np

import nnzoo

from .. import nn
from ..autograd.arrays import array, as_array, assign_, wrap

__all__ = ["kmeans", "RBFNetwork", "rbf_parameter_count", "one_hot_targets"]


def _sq_distances(x, c):
    """‖x_i - c_k‖² (N, K) of points x (N, D) and centres c (K, D), clamped at 0 (rounding)."""
    d2 = (x * x).sum(dim=1, keepdim=True) + (c * c).sum(dim=1).reshape(1, -1) - 2 * (x @ c.T)  # (N, K)
    return d2.clamp_min(0.0)


def kmeans(X, k: int, iterations: int = 100, generator: nnzoo.Generator | None = None, tol: float = 0.0):
    """Lloyd's k-means on nnzoo tensors: greedy k-means++ seeding (Arthur & Vassilvitskii 2007; of 2 + ln k
    candidates drawn ∝ D(x)², the one that lowers the potential most, as scikit-learn does), then alternate
    assigning each point to its nearest centre and moving each centre to the mean of its points, until no
    assignment changes (or ``iterations``). A centre left with no point stays where it was.

    Args:
        X: points (N, D). k: number of centres (<= N). iterations: Lloyd steps at most.
        generator: the random stream of the seeding. tol: also stop when the inertia improves by less than
            ``tol`` (relative).

    Returns:
        (centres (k, D) Tensor, labels (N,) int64 Tensor, inertia Σ ‖x - c_label‖² (float), iterations run).
    """
    with nnzoo.no_grad():
        X = X.reshape(len(X), -1).float() if X.dtype != nnzoo.float64 else X.reshape(len(X), -1)
        n = len(X)
        if not 1 <= k <= n:
            raise ValueError(f"kmeans: k must be in [1, {n}] (the number of points), got {k}")
        first = int(nnzoo.randint(0, n, (1,), generator=generator))
        centres = [X[first]]
        d2 = _sq_distances(X, X[first:first + 1])[:, 0]                      # (N,)
        trials = 2 + int(math.log(k))                                       # greedy k-means++ (scikit-learn's)
        for _ in range(1, k):                                               # candidates drawn with P(x) ∝ D(x)²
            weights = d2 if float(d2.sum()) > 0 else nnzoo.ones_like(d2)
            candidates = nnzoo.multinomial(weights, trials, replacement=True, generator=generator)  # (trials,)
            trial_d2 = nnzoo.minimum(d2.reshape(-1, 1), _sq_distances(X, X[candidates]))  # (N, trials)
            best = int(trial_d2.sum(dim=0).argmin())                        # the one that lowers Σ D² most
            centres.append(X[int(candidates[best])])
            d2 = trial_d2[:, best]
        C = nnzoo.stack(centres)                                            # (K, D)
        labels, inertia, previous, steps = None, float("inf"), float("inf"), 0
        while steps < iterations:
            steps += 1
            dist = _sq_distances(X, C)                                      # (N, K)
            new_labels = dist.argmin(dim=1)                                 # (N,)
            inertia = float(dist.min(dim=1).values.sum())
            if labels is not None and bool((new_labels == labels).all()):
                break
            labels = new_labels
            member = nnzoo.nn.functional.one_hot(labels, k).to(X.dtype)     # (N, K)
            counts = member.sum(dim=0)                                      # (K,)
            sums = member.T @ X                                             # (K, D)
            C = nnzoo.where(counts.reshape(-1, 1) > 0, sums / counts.clamp_min(1).reshape(-1, 1), C)
            if tol > 0 and previous - inertia <= tol * inertia:
                break
            previous = inertia
        labels = _sq_distances(X, C).argmin(dim=1)
    return C, labels, inertia, steps


def one_hot_targets(y, out_features: int):
    """Least-squares targets of labels ``y``: one-hot rows (N, C), or for one output y itself as ±1 (N, 1)."""
    y = as_array(y).reshape(-1)
    if out_features == 1:
        return wrap(np.where(y > 0, 1.0, -1.0).astype(np.float32).reshape(-1, 1))
    return wrap(np.eye(out_features, dtype=np.float32)[y.astype(np.int64)])


def rbf_parameter_count(in_features: int, num_centres: int, out_features: int) -> int:
    """Numbers an RBF network learns: centres K·D, widths K, output weights and biases (K + 1)·C."""
    return num_centres * in_features + num_centres + (num_centres + 1) * out_features


class RBFNetwork(nn.Module):
    """Gaussian units around ``num_centres`` centres, then a Linear read-out (see the module docstring).

    The centres and widths are buffers of the first stage (set by :meth:`set_centres` / :meth:`fit_centres` and
    :meth:`set_widths`); the read-out ``output`` (``nn.Linear(num_centres, out_features)``) is fitted by
    :meth:`fit_least_squares` or :meth:`fit_gradient`.

    Args:
        in_features: D. num_centres: K. out_features: C (classes; 1 for a ±1 output).

    Shape: input (N, *) with D elements per sample; :meth:`features` (N, K); output (N, C).
    """

    def __init__(self, in_features: int, num_centres: int, out_features: int) -> None:
        super().__init__()
        self.in_features, self.num_centres, self.out_features = in_features, num_centres, out_features
        self.register_buffer("centres", nnzoo.zeros(num_centres, in_features))
        self.register_buffer("widths", nnzoo.ones(num_centres))
        self.output = nn.Linear(num_centres, out_features)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, num_centres={self.num_centres}"

    def features(self, x):
        """φ(x) (N, K): exp(-‖x - c_k‖² / (2 σ_k²))."""
        x = x.reshape(len(x), -1)                                             # (N, D)
        d2 = _sq_distances(x, self.centres)                                   # (N, K)
        return (-d2 / (2 * self.widths * self.widths)).exp()                  # (N, K)

    def forward(self, x):               # (N, *)
        return self.output(self.features(x))   # (N, C)

    # ---- stage 1: centres and widths ---------------------------------------------------------------------
    def set_centres(self, centres) -> None:
        """Put the centres (K, D) (given ones, e.g. Haykin's XOR centres)."""
        assign_(self.centres, as_array(centres).reshape(self.num_centres, self.in_features))

    def fit_centres(self, X, generator: nnzoo.Generator | None = None, iterations: int = 100) -> dict:
        """Centres by :func:`kmeans` on the inputs; returns ``{"inertia", "iterations"}``."""
        C, _, inertia, steps = kmeans(X.reshape(len(X), -1), self.num_centres, iterations, generator)
        self.set_centres(C)
        return {"inertia": inertia, "iterations": steps}

    def set_widths(self, scale: float = 1.0):
        """The nearest-centre rule: σ_k = scale · min_{j≠k} ‖c_k - c_j‖ (σ = scale when K = 1; a centre that
        coincides with another gets the smallest positive width). Returns the widths (K,)."""
        with nnzoo.no_grad():
            c = self.centres
            d = _sq_distances(c, c).sqrt()                                     # (K, K)
            d = d.masked_fill(nnzoo.eye(len(c)) > 0, float("inf"))             # not itself
            nearest = d.min(dim=1).values if len(c) > 1 else nnzoo.ones(1)    # (K,)
            positive = nearest[nearest > 0]
            floor = float(positive.min()) if positive.numel() else 1.0
            assign_(self.widths, (nearest.clamp_min(floor) * scale).numpy())
        return self.widths

    # ---- stage 2: output weights -------------------------------------------------------------------------
    def design_matrix(self, X):
        """[Φ 1] (N, K + 1) in float64: the features and a column of ones for the bias."""
        with nnzoo.no_grad():
            phi = self.features(X).double()                                   # (N, K)
            return nnzoo.cat([phi, nnzoo.ones(len(phi), 1, dtype=nnzoo.float64)], dim=1)

    def fit_least_squares(self, X, y) -> float:
        """Output weights in closed form: [W b]ᵀ = [Φ 1]⁺ T (the minimum-norm least-squares solution) for the
        targets T of labels ``y`` (:func:`one_hot_targets`). Returns the mean squared error ½‖[Φ 1]θ - T‖²/N.

        NOTE: solved by SVD (``numpy.linalg.lstsq`` on the design matrix's array): nnzoo has no linear solver;
        the normal equations would square Φ's condition number, large when wide Gaussians overlap.
        """
        A = array(self.design_matrix(X))                                       # (N, K + 1)
        T = np.asarray(array(one_hot_targets(y, self.out_features)), dtype=np.float64)  # (N, C)
        theta, *_ = np.linalg.lstsq(A, T, rcond=None)                          # (K + 1, C)
        assign_(self.output.weight, theta[:-1].T)
        assign_(self.output.bias, theta[-1])
        return float(0.5 * ((A @ theta - T) ** 2).sum() / len(A))

    def fit_gradient(self, X, y, epochs: int = 500, lr: float = 0.05, batch_size: int | None = None,
                     generator: nnzoo.Generator | None = None) -> list[float]:
        """Output weights by gradient descent (Adam) on the same objective, ½‖[Φ 1]θ - T‖²/N, the gradient taken
        by nnzoo's autograd through ``output``; the centres and widths stay fixed. Full batch unless
        ``batch_size``. Returns the objective after each epoch."""
        with nnzoo.no_grad():
            phi = self.features(X)                                            # (N, K): fixed
        T = one_hot_targets(y, self.out_features)                             # (N, C)
        opt = nnzoo.optim.Adam(self.output.parameters(), lr=lr)
        n, history = len(phi), []
        for _ in range(epochs):
            order = nnzoo.randperm(n, generator=generator) if batch_size else None
            for start in range(0, n, batch_size or n):
                idx = order[start:start + batch_size] if batch_size else slice(None)
                err = self.output(phi[idx]) - T[idx]                          # (B, C)
                loss = 0.5 * (err * err).sum() / len(err)
                opt.zero_grad()
                loss.backward()
                opt.step()
            with nnzoo.no_grad():
                err = self.output(phi) - T
                history.append(float(0.5 * (err * err).sum() / n))
        return history
