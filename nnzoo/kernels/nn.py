"""The basic layers' array code: linear's first-order backward, embedding's weight gradient as a weighted
segment sum, and max_norm's in-place renorm.

The Ops (:mod:`nnzoo.ops.nn`) hold the derivatives.
"""
import math

from ..backend import xp
from .index import segment_sum
from .linalg import matmul_rows

__all__ = ["linear_backward", "embedding_backward", "renorm_rows_"]


def linear_backward(x, w, g, need):
    """Linear's gradients (dx = g W, dW = g^T x over the flattened leading dims, db = g summed over them)
    as arrays, for a backward that records nothing; ``need`` says which of (x, W, b) are wanted."""
    gx = gw = gb = None
    if need[0]:
        gx = matmul_rows(g, w)
    if need[1]:
        n_out, n_in = w.shape
        gw = xp.matmul(g.reshape(-1, n_out).T, x.reshape(-1, n_in))
    if len(need) > 2 and need[2]:
        gb = g.sum(tuple(range(g.ndim - 1))) if g.ndim > 1 else g
    return gx, gw, gb


def embedding_backward(grad, idx, n, padding_idx, scale):
    """dweight (n, d) = segment sums of the rows of ``grad`` (*idx.shape, d) by index, with rows of
    ``padding_idx`` left at zero and, with ``scale`` (scale_grad_by_freq), each row divided by its index's
    count in the batch. Returns (dweight, w): w the (idx.size,) weights the rows were multiplied by, or None
    when none were (embedding's double backward needs them)."""
    d = grad.shape[-1]
    lin = idx.reshape(-1)
    rows = grad.reshape(-1, d)
    factor = None
    if scale:
        counts = xp.bincount(lin, minlength=n)
        factor = (1.0 / counts[lin]).astype(grad.dtype)
    w = None
    if padding_idx is not None or factor is not None:
        w = xp.ones(lin.shape, dtype=grad.dtype) if factor is None else factor
        if padding_idx is not None:
            w = w * (lin != padding_idx)
        rows = rows * w[:, None]
    return segment_sum(rows, lin, n), w


def renorm_rows_(w, idx, max_norm, norm_type):
    """Rows of the array ``w`` used by ``idx`` with a norm above max_norm are scaled in place to max_norm
    (factor max_norm / (norm + 1e-7), as PyTorch). Returns whether any row changed."""
    rows = xp.unique(idx)
    sub = w[rows]
    if norm_type == math.inf:
        norms = xp.abs(sub).max(axis=1)
    else:
        norms = (xp.abs(sub) ** norm_type).sum(axis=1) ** (1.0 / norm_type)
    big = norms > max_norm
    if not big.any():
        return False
    w[rows[big]] = sub[big] * (max_norm / (norms[big] + 1e-7))[:, None].astype(w.dtype)
    return True
