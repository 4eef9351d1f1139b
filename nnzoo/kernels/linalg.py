"""Matrix products on arrays: matmul with the outer-product fast path, and one GEMM over all leading dims.

The Ops (:mod:`nnzoo.ops.linalg`, :mod:`nnzoo.ops.nn`) hold the derivatives and call these.
"""
from ..backend import xp

__all__ = ["matmul", "matmul_rows"]


def matmul(a, b):
    """xp.matmul(a, b), except an outer product (inner dimension 1) as a broadcast multiply.

    NOTE: NumPy hands a K = 1 product to its generic loop: (64, 30, 1) @ (64, 1, 128) took 385 us against
    77 us as a * b, and (1920, 1) @ (1, 64) 234 us against 64 us (the attention seq2seq's backward has
    both). The broadcast gives the same shape and dtype and, with one term per sum, the same values."""
    if a.ndim >= 2 and b.ndim >= 2 and a.shape[-1] == 1 and b.shape[-2] == 1:
        out = a * b
        if out.dtype == xp.result_type(a, b):
            return out
    return xp.matmul(a, b)


def matmul_rows(a, m):
    """a (*, k) @ m (k, n) as ONE GEMM over all leading dims.

    NOTE: NumPy's matmul of a 3-D array with a 2-D one runs one GEMM per leading index: (32, 64, 128) @
    (128, 384) took 6.2 ms against 2.7 ms as a single (2048, 128) @ (128, 384). Rows of ``a`` merge without a
    copy when ``a`` is C-contiguous over its leading dims; otherwise the batched form is used."""
    if a.ndim <= 2:
        return matmul(a, m)
    lead = a.shape[:-1]
    try:
        flat = a.view()
        flat.shape = (-1, a.shape[-1])  # raises instead of copying when the rows do not merge
    except AttributeError:
        return matmul(a, m)
    return matmul(flat, m).reshape(lead + (m.shape[1],))
