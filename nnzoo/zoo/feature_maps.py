"""The notes' feature maps: a linear predictor ``f(x) = w·φ(x)`` is linear in its weights, not in its input.

With a feature map φ a linear predictor fits curves and draws curved decision boundaries. The maps here
(Tensor in, Tensor out, differentiable nnzoo ops):

- 1-D inputs (n, 1), :data:`FEATURE_MAPS`: φ(x) = [1, x] (a line), [1, x, x², x³] (a cubic), [1, x, sin(3x)]
  (a line plus a sine);
- 2-D points (n, 2): :func:`linear_features` φ(x) = [1, x1, x2] and :func:`quadratic_features`
  φ(x) = [1, x1, x2, x1², x1·x2, x2²], whose boundary φ(x)·w = 0 is a conic.

The lesson that fits them, chooses among them by the validation loss and draws them is
:mod:`nnzoo.recipes.feature_maps` (``python -m nnzoo.recipes.feature_maps [out_dir]``).
"""
from ..creation import ones_like
from ..ops.shape import cat

__all__ = ["FEATURE_MAPS", "linear_features", "quadratic_features"]


# ---- feature maps: Tensor (n, 1) or (n, 2) -> Tensor (n, d), differentiable nnzoo ops -----------------
def _line(x):
    return cat([ones_like(x), x], dim=1)  # (n, 2)


def _cubic(x):
    return cat([ones_like(x), x, x ** 2, x ** 3], dim=1)  # (n, 4)


def _sine(x):
    return cat([ones_like(x), x, (3 * x).sin()], dim=1)  # (n, 3)


FEATURE_MAPS = {"[1, x]": _line, "[1, x, x², x³]": _cubic, "[1, x, sin(3x)]": _sine}


def linear_features(X):
    """φ(x) = [1, x1, x2] for 2-D points ``X`` (n, 2) -> (n, 3)."""
    return cat([ones_like(X[:, :1]), X], dim=1)


def quadratic_features(X):
    """φ(x) = [1, x1, x2, x1², x1·x2, x2²] for 2-D points ``X`` (n, 2) -> (n, 6).

    Example::

        >>> quadratic_features(nnzoo.tensor([[2.0, 3.0]]))
        tensor([[1., 2., 3., 4., 6., 9.]])
    """
    x1, x2 = X[:, :1], X[:, 1:2]  # (n, 1) each
    return cat([ones_like(x1), x1, x2, x1 * x1, x1 * x2, x2 * x2], dim=1)
