"""The extreme learning machine (Huang, Zhu & Siew 2006): a random hidden layer that is never trained, and a
linear read-out fitted in closed form by ridge regression.

    H = g(X Aᵀ + a)            (N, L): A (L, D) and a (L,) drawn once at random, g the activation
    β = argmin ‖H β - T‖² + α‖β‖² = (HᵀH + α I)⁻¹ HᵀT      (L, C)
    f(x) = g(x Aᵀ + a) β

T holds one-hot rows (a class's column of ±1 codes, as scikit-learn's ``RidgeClassifier`` uses, gives the same
argmax: the codes differ by a column of ones shared by all classes). The normal equations are solved in the
primal (L x L) when N >= L and in the dual, β = Hᵀ(HHᵀ + α I)⁻¹T (N x N), when the hidden layer is wider than
the data; both are the same β.

Read top-down: :func:`ridge_solve`, :class:`ELM`.

Example::

    >>> X = nnzoo.randn(100, 5); y = (X[:, 0] > 0).long()
    >>> elm = ELM(5, 200, 2, alpha=1e-2)
    >>> _ = elm.fit(X, y)
    >>> float((elm(X).argmax(dim=1) == y).float().mean()) > 0.9
    True
"""
from __future__ import annotations

import math

import numpy as np

import nnzoo

from .. import nn
from ..autograd.arrays import array, as_array, assign_, wrap

__all__ = ["ridge_solve", "ELM"]

ACTIVATIONS = ("sigmoid", "tanh", "relu")


def ridge_solve(H, T, alpha: float):
    """β = (HᵀH + α I)⁻¹ HᵀT, the ridge-regression weights without intercept (scikit-learn's ``Ridge(alpha,
    fit_intercept=False)``), for features H (N, L) and targets T (N, C).

    The Gram matrix HᵀH (or HHᵀ, in the dual form when L > N) is a matrix product of nnzoo tensors in H's dtype;
    the symmetric positive definite system is solved in float64.

    NOTE: the solve is ``numpy.linalg.solve`` on the Gram matrix's array (nnzoo has no linear solver); it costs
    L³/3 flops against the product's N·L², under 5% of the fit for Fashion-MNIST (N = 60,000, L = 4,000).

    Returns:
        β, a float64 Tensor (L, C).
    """
    with nnzoo.no_grad():
        if alpha < 0:
            raise ValueError(f"ridge_solve: alpha must be >= 0, got {alpha}")
        n, width = H.shape
        if width <= n:                                         # primal: (L, L)
            G = np.asarray(array(H.T @ H), dtype=np.float64)
            G[np.diag_indices_from(G)] += alpha
            rhs = np.asarray(array(H.T @ T.to(H.dtype)), dtype=np.float64)   # (L, C)
            return wrap(np.linalg.solve(G, rhs))
        G = np.asarray(array(H @ H.T), dtype=np.float64)       # dual: (N, N)
        G[np.diag_indices_from(G)] += alpha
        z = np.linalg.solve(G, np.asarray(as_array(T), dtype=np.float64))     # (N, C)
        return wrap(np.asarray(as_array(H), dtype=np.float64).T @ z)


class ELM(nn.Module):
    """An extreme learning machine (see the module docstring): ``hidden`` (``nn.Linear(in_features,
    hidden_size)``, random and frozen), the activation, then ``output`` (``nn.Linear(hidden_size, out_features,
    bias=False)``) fitted by :meth:`fit`.

    Args:
        in_features: D. hidden_size: L, the number of random units. out_features: C, the classes.
        activation: ``'sigmoid'``, ``'tanh'`` or ``'relu'``. Default: ``'sigmoid'``.
        alpha: the ridge penalty α. Default: 1.0.
        weight_scale: the hidden weights are N(0, weight_scale² / D) (unit-variance pre-activations for
            standardised inputs at weight_scale 1), the biases N(0, 1). Default: 1.0.
        generator: the random stream of the hidden layer.

    Shape: input (N, *) with D elements per sample; :meth:`features` (N, L); output (N, C).

    Example::

        >>> ELM(64, 1000, 10)(nnzoo.zeros(5, 1, 8, 8)).shape
        nnzoo.Size([5, 10])
    """

    def __init__(self, in_features: int, hidden_size: int, out_features: int, activation: str = "sigmoid",
                 alpha: float = 1.0, weight_scale: float = 1.0, generator: nnzoo.Generator | None = None) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"ELM: activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")
        self.in_features, self.hidden_size, self.out_features = in_features, hidden_size, out_features
        self.activation, self.alpha, self.weight_scale = activation, alpha, weight_scale
        self.hidden = nn.Linear(in_features, hidden_size)
        self.output = nn.Linear(hidden_size, out_features, bias=False)
        with nnzoo.no_grad():
            std = weight_scale / math.sqrt(in_features)
            assign_(self.hidden.weight, nnzoo.randn(hidden_size, in_features, generator=generator) * std)
            assign_(self.hidden.bias, nnzoo.randn(hidden_size, generator=generator))
        self.hidden.requires_grad_(False)

    def extra_repr(self) -> str:
        return f"activation={self.activation!r}, alpha={self.alpha}"

    def features(self, x, batch_size: int = 8192):
        """H = g(x Aᵀ + a) (N, L), computed ``batch_size`` rows at a time (no graph)."""
        x = x.reshape(len(x), -1)                              # (N, D)
        g = getattr(nnzoo, self.activation)
        with nnzoo.no_grad():
            parts = [g(self.hidden(x[i:i + batch_size])) for i in range(0, len(x), batch_size)]
        return parts[0] if len(parts) == 1 else nnzoo.cat(parts)   # (N, L)

    def forward(self, x):                                       # (N, *)
        return self.output(getattr(nnzoo, self.activation)(self.hidden(x.reshape(len(x), -1))))  # (N, C)

    def fit(self, X, y, features=None):
        """Fit the read-out: β = :func:`ridge_solve` (H, one-hot(y), α). ``features``: H, when already computed.
        Returns β (L, C) in float64."""
        H = self.features(X) if features is None else features
        T = nnzoo.nn.functional.one_hot(nnzoo.as_tensor(as_array(y)).long().reshape(-1), self.out_features)
        beta = ridge_solve(H, T.to(H.dtype), self.alpha)       # (L, C)
        assign_(self.output.weight, array(beta).T)
        return beta
