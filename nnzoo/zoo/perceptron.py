"""The perceptron (Rosenblatt 1958): the notes' single threshold unit and its mistake-driven learning rule.

A unit computes ŷ = sign(w·x + b). Rosenblatt's rule visits the examples one at a time and changes the weights
only on a mistake::

    if y (w·x + b) <= 0:   w <- w + η y x,   b <- b + η y          (y in {-1, +1})

Starting from w = 0, b = 0 the learning rate η only scales the weights, so it changes neither the predictions
nor the number of mistakes. Novikoff's theorem (1962): if some unit vector u of the augmented space (w, b)
separates the data with margin γ = min_i y_i u·(x_i, 1) > 0 and every ‖(x_i, 1)‖ <= R, the rule makes at most
(R/γ)² mistakes, in any order, however many epochs; :func:`max_margin` finds the u with the largest γ (the
tightest bound) and :func:`novikoff_bound` evaluates it. On data no line separates (XOR) the rule never stops
making mistakes.

Several classes: one-vs-rest, one unit per class trained on its own ±1 targets (class c against the others),
all units visiting the examples in the same order; the prediction is the class of the largest score w_c·x + b_c,
as scikit-learn's ``Perceptron`` does.

Read top-down: :class:`Perceptron` (``forward``, :meth:`~Perceptron.step`: the rule on one example on nnzoo
tensors; :meth:`~Perceptron.fit_epoch`: the same rule over an epoch, exact and fast, by the compiled kernel
``nnzoo.kernels.perceptron``), :func:`signed_targets`, :func:`max_margin`, :func:`novikoff_bound`.

Example::

    >>> X = nnzoo.tensor([[2.0, 1.0], [1.0, 3.0], [-1.0, -2.0], [-2.0, -1.0]]); y = nnzoo.tensor([1.0, 1.0, -1.0, -1.0])
    >>> p = Perceptron(2)
    >>> [int(p.fit_epoch(X, y.reshape(-1, 1)).sum()) for _ in range(3)]
    [1, 0, 0]
"""
from __future__ import annotations

import numpy as np

from .. import nn
from ..autograd.arrays import array, as_array, bump_version, wrap
from ..kernels import perceptron as perceptron_kernel

__all__ = ["Perceptron", "signed_targets", "max_margin", "novikoff_bound"]


def signed_targets(y, num_units: int):
    """The ±1 target matrix (N, num_units) of labels ``y``: for one unit, y > 0 is +1 and anything else -1
    (labels {0, 1} or {-1, +1}); for several, one-vs-rest: +1 in the column of the example's class index."""
    y = as_array(y).reshape(-1)
    if num_units == 1:
        return wrap(np.where(y > 0, 1.0, -1.0).astype(np.float32).reshape(-1, 1))
    t = -np.ones((len(y), num_units), dtype=np.float32)
    t[np.arange(len(y)), y.astype(np.int64)] = 1.0
    return wrap(t)


class Perceptron(nn.Module):
    """``out_features`` threshold units (one for two classes; one per class, one-vs-rest, for more) trained by
    Rosenblatt's rule (see the module docstring). Weights start at zero.

    Args:
        in_features: size of one input. out_features: number of units. Default: 1.
        lr: η, the step of the rule. Default: 1.0 (scikit-learn's ``eta0``).

    Shape: input (N, in_features); output (N, out_features), the scores w·x + b.

    Example::

        >>> Perceptron(64, 10)(nnzoo.zeros(5, 64)).shape
        nnzoo.Size([5, 10])
    """

    def __init__(self, in_features: int, out_features: int = 1, lr: float = 1.0) -> None:
        super().__init__()
        self.in_features, self.out_features, self.lr = in_features, out_features, lr
        self.weight = nn.Parameter(wrap(np.zeros((out_features, in_features), dtype=np.float32)),
                                   requires_grad=False)
        self.bias = nn.Parameter(wrap(np.zeros(out_features, dtype=np.float32)), requires_grad=False)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, lr={self.lr}"

    def forward(self, x):                                 # (N, in_features)
        return x @ self.weight.T + self.bias              # (N, out_features)

    def predict(self, x):
        """Labels: ±1 (as float) for one unit, the class index of the largest score for several."""
        scores = self(x)                                  # (N, out_features)
        if self.out_features == 1:
            return (scores[:, 0] > 0).float() * 2 - 1     # (N,)
        return scores.argmax(dim=1)                       # (N,)

    def step(self, x, y):
        """Rosenblatt's rule on one example, on nnzoo tensors: every unit with y_c (w_c·x + b_c) <= 0 moves by
        η y_c x (and its bias by η y_c). ``x``: (in_features,); ``y``: (out_features,) of ±1. Returns the
        (out_features,) bool tensor of the units that erred (and were updated)."""
        wrong = y * (self.weight @ x + self.bias) <= 0    # (C,)
        delta = wrong.float() * y * self.lr               # (C,)
        self.weight.add_(delta.reshape(-1, 1) * x.reshape(1, -1))
        self.bias.add_(delta)
        return wrong

    def fit_epoch(self, X, Y, order=None, chunk: int = 32):
        """One epoch of Rosenblatt's rule over the examples ``X`` (N, in_features) with ±1 targets ``Y``
        (N, out_features) (see :func:`signed_targets`), in ``order`` (a permutation; default 0..N-1).

        Exactly the sequence of :meth:`step` calls, in one pass: ``nnzoo.kernels.perceptron.epoch``, a compiled
        kernel (one example at a time, no Python per example) or, without Numba or with ``NNZOO_KERNELS=numpy``,
        its NumPy reference: the scores of the next ``chunk`` examples at once with the current weights, valid up
        to the first example a unit gets wrong, the update applied there and the scan restarted after it.

        Returns:
            the number of mistakes (updates) of each unit in this epoch, an int64 array (out_features,).

        NOTE: measured on the 8x8 digits (1,257 examples, 10 units, 20 epochs, OPENBLAS_NUM_THREADS=1, paired in
        one process): one ``step`` per example on tensors takes ~70 ms an epoch, the NumPy scan ~2.7 ms of CPU
        (one pass of Python, ~8 NumPy calls, per mistake), the compiled kernel ~0.3 ms, against ~1.1 ms for
        scikit-learn's ``Perceptron`` (its Cython loop and its per-fit overhead). The weights are written back in
        place (``bump_version``), outside autograd.
        """
        X, Y = as_array(X), as_array(Y)
        if order is not None:
            order = as_array(order)
        W, b = array(self.weight), array(self.bias)       # (C, D), (C,): updated in place
        mistakes = perceptron_kernel.epoch(X, Y, W, b, self.lr, order, chunk)
        bump_version(self.weight)
        bump_version(self.bias)
        return mistakes


def max_margin(X, y, iterations: int = 2000, tol: float = 1e-7) -> tuple[np.ndarray, float]:
    """The maximum-margin separator through the origin of the augmented points (x, 1): the hard-margin SVM
    min ½‖u‖² s.t. y_i u·(x_i, 1) >= 1, solved in its dual (max Σα - ½‖Σ α_i y_i (x_i, 1)‖², α >= 0) by exact
    coordinate ascent (liblinear's dual method with C = ∞; with no free bias the dual has no equality
    constraint).

    Args:
        X: points (N, D). y: labels ±1 (N,). iterations: passes over the data at most. tol: stop when no α moves
            the objective's gradient by more than this.

    Returns:
        (u, γ): the unit vector u (D + 1,) (w then b) and its margin γ = min_i y_i u·(x_i, 1) (negative when the
        data are not separable: then no bound holds). Any u's γ is a lower bound of the best margin, so the
        bound (R/γ)² computed from it is valid even before convergence.
    """
    X = np.asarray(as_array(X), dtype=np.float64)
    y = np.asarray(as_array(y), dtype=np.float64).reshape(-1)
    A = np.hstack([X, np.ones((len(X), 1))]) * y[:, None]     # rows y_i (x_i, 1)
    sq = (A * A).sum(axis=1)
    alpha = np.zeros(len(A))
    u = np.zeros(A.shape[1])
    for _ in range(iterations):
        # only coordinates that can move: α_i > 0, or a violated constraint (the others stay at 0)
        active = np.flatnonzero((alpha > 0) | (A @ u < 1.0))
        largest = 0.0
        for i in active:
            g = A[i] @ u - 1.0                                 # the dual's gradient in α_i, negated
            new = max(0.0, alpha[i] - g / sq[i])
            if new != alpha[i]:
                largest = max(largest, abs(new - alpha[i]) * sq[i])
                u += (new - alpha[i]) * A[i]
                alpha[i] = new
        if largest < tol:
            break
    u = u / np.linalg.norm(u)
    return u, float((A @ u).min())


def novikoff_bound(X, u: np.ndarray | None = None, gamma: float | None = None, y=None) -> dict:
    """Novikoff's mistake bound (R/γ)² of the perceptron (with bias) on the points ``X``.

    R = max_i ‖(x_i, 1)‖; γ is given, or the margin of ``u`` on (X, y), or (with neither) that of
    :func:`max_margin`. Returns ``{"R", "gamma", "bound"}`` (bound = inf when γ <= 0: not separable).
    """
    X = np.asarray(as_array(X), dtype=np.float64)
    R = float(np.sqrt((X * X).sum(axis=1).max() + 1.0))
    if gamma is None:
        if u is None:
            u, gamma = max_margin(X, y)
        else:
            A = np.hstack([X, np.ones((len(X), 1))]) * np.asarray(as_array(y), dtype=np.float64).reshape(-1, 1)
            gamma = float((A @ (u / np.linalg.norm(u))).min())
    return {"R": R, "gamma": float(gamma), "bound": (R / gamma) ** 2 if gamma > 0 else float("inf")}
