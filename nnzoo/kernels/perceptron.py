"""One epoch of Rosenblatt's perceptron rule over a data set, exact, in the order given: compiled and NumPy.

Units c = 0..C-1 (one-vs-rest: all units see the examples in the same order), weights W (C, D), biases b (C,),
targets y_c in {-1, +1}. For each example x in turn, every unit with ``y_c (w_c·x + b_c) <= 0`` (a mistake,
judged with the weights as they are before this example) moves::

    w_c <- w_c + η y_c x,    b_c <- b_c + η y_c

Both paths keep the weights augmented, Wa = [W^T; b] (D + 1, C), the bias being the weight of a constant input 1,
and compute in the weights' dtype; they return the number of mistakes of each unit.

- :func:`epoch_numpy`, the reference and the fallback: the scores of the next ``chunk`` examples at once with the
  current weights (one small matrix product), valid up to the first example some unit gets wrong; the update is
  applied there and the scan restarts after it. One pass of Python (~8 NumPy calls) per mistake.
- the compiled kernel (Numba): the same rule one example at a time, with no Python per example. The score loop
  runs over the input dimension outside and the units inside, one accumulator per unit, so each unit's dot product
  is summed in input order (no reassociation: no ``fastmath``) and the loop over units vectorises.

The two paths differ only in the order of the dot products' sums (BLAS's against input order): on data whose sums
are exact (digits pixels k/16 in float64) they give the same weights bit for bit, as does scikit-learn's
``Perceptron(shuffle=False)``; otherwise up to rounding, which can flip a decision only for a score within
rounding of 0.

NOTE: measured on the 8x8 digits (1,257 examples, 64 inputs, 10 units, 20 epochs in a fresh order each;
OPENBLAS_NUM_THREADS=1, paired in one process on the loaded 2-core machine, benchmarks/classic_supervised.py):
compiled 7.0 ms of CPU (23 ms wall), NumPy path 56 ms (178 ms), scikit-learn's ``Perceptron`` 20 ms (64 ms):
the kernel is ~8x the NumPy path and ~0.35x scikit-learn's time, with the same weights. First use in a
process: ~0.9 s to import Numba and ~0.6 s to load the kernel from the disk cache (plus ~0.6 s to compile it
when the cache is cold).
"""
from __future__ import annotations

import numpy as np

from ..backend import xp
from . import jit

__all__ = ["epoch", "epoch_numpy"]


@jit.kernel()
def _epoch_kernel(X, Y, idx, Wa, lr, mistakes, s, delta):
    """The rule over the examples ``X[idx[k]]`` (targets ``Y[idx[k]]``), k = 0..len(idx)-1, on the augmented
    weights ``Wa`` (D + 1, C) in place; ``mistakes`` (C,) int64 counts; ``s``, ``delta``: (C,) scratch of the
    weights' dtype; ``lr``: η as a scalar of that dtype."""
    D = X.shape[1]
    C = Wa.shape[1]
    for k in range(idx.shape[0]):
        i = idx[k]
        for c in range(C):
            s[c] = 0
        for d in range(D):                        # s_c = sum_d x_d Wa[d, c], in input order
            xd = X[i, d]
            for c in range(C):
                s[c] += xd * Wa[d, c]
        wrong = False
        for c in range(C):
            yc = Y[i, c]
            if yc * (s[c] + Wa[D, c]) <= 0:       # + the bias (the weight of the constant 1)
                delta[c] = lr * yc
                mistakes[c] += 1
                wrong = True
            else:
                delta[c] = 0
        if wrong:
            for d in range(D):
                xd = X[i, d]
                for c in range(C):
                    Wa[d, c] += xd * delta[c]
            for c in range(C):
                Wa[D, c] += delta[c]


def epoch(X, Y, W, b, lr: float = 1.0, order=None, chunk: int = 32):
    """One epoch of the perceptron rule (see the module docstring), weights updated in place.

    Args:
        X: inputs (N, D). Y: ±1 targets (N, C). W: weights (C, D), float32 or float64, written in place.
        b: biases (C,), same dtype, written in place. lr: η. order: the examples' order (an index array or
            anything NumPy indexes rows with; default 0..N-1). chunk: examples scored at once by the NumPy path.

    Returns:
        the number of mistakes (updates) of each unit, int64 (C,).

    NOTE: the compiled kernel runs an epoch of the digits (1,257 x 64, 10 units) in ~0.3 ms of CPU against
    ~2.7 ms for :func:`epoch_numpy` (see the module docstring). X and Y are cast to the weights' dtype first (as
    the NumPy path computes), and ``order`` is resolved by NumPy indexing (bounds checked, negative indices
    wrapped) before the kernel, which checks no bounds.
    """
    dtype = W.dtype
    X = X.astype(dtype, copy=False)
    Y = Y.astype(dtype, copy=False)
    n = len(X)
    if X.ndim != 2 or Y.shape != (n, W.shape[0]) or X.shape[1] != W.shape[1] or b.shape != (W.shape[0],):
        raise ValueError(f"perceptron epoch: X {X.shape}, Y {Y.shape} do not fit weights {W.shape}, bias {b.shape}")
    if jit.use(X, Y, W, b):
        X, Y = xp.ascontiguousarray(X), xp.ascontiguousarray(Y)      # one layout: one compiled version per dtype
        idx = xp.arange(n, dtype=np.int64)
        if order is not None:
            idx = xp.ascontiguousarray(idx[order]).reshape(-1)
        Wa = xp.ascontiguousarray(xp.concatenate([W.T, b[None, :]]))   # (D + 1, C)
        mistakes = xp.zeros(W.shape[0], dtype=np.int64)
        _epoch_kernel(X, Y, idx, Wa, dtype.type(lr), mistakes, xp.empty(W.shape[0], dtype),
                      xp.empty(W.shape[0], dtype))
        W[...] = Wa[:-1].T
        b[...] = Wa[-1]
        return mistakes
    return epoch_numpy(X, Y, W, b, lr, order, chunk)


def epoch_numpy(X, Y, W, b, lr: float = 1.0, order=None, chunk: int = 32):
    """The NumPy reference of :func:`epoch` (same arguments and result): the chunked scan of the module
    docstring, exactly the sequence of one-example updates, one small matrix product per mistake (plus one per
    clean chunk)."""
    if order is not None:
        X, Y = X[order], Y[order]
    Xa = xp.empty((len(X), X.shape[1] + 1), dtype=W.dtype)
    Xa[:, :-1], Xa[:, -1] = X, 1.0                    # (N, D + 1): the bias as a weight on a constant 1
    Wa = xp.concatenate([W.T, b[None, :]])            # (D + 1, C)
    Y = Y.astype(W.dtype, copy=False)
    mistakes = xp.zeros(W.shape[0], dtype=np.int64)
    n, i = len(Xa), 0
    while i < n:
        S = Xa[i:i + chunk] @ Wa                      # (m, C): scores with the current weights
        S *= Y[i:i + chunk]
        wrong = S <= 0                                # (m, C)
        first = wrong.argmax()                        # row-major: in the first row with a mistake
        if not wrong.flat[first]:                     # a clean chunk
            i += chunk
            continue
        k = first // wrong.shape[1]
        i += k                                        # the first example some unit gets wrong
        units = wrong[k]                              # (C,)
        Wa += xp.multiply.outer(Xa[i], (lr * Y[i]) * units)
        mistakes += units
        i += 1
    W[...] = Wa[:-1].T
    b[...] = Wa[-1]
    return mistakes
