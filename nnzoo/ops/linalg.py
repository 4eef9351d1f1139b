"""Matrix products: matmul (batched, broadcasting), mm, bmm, outer, einsum."""
from ..autograd.function import Op
from ..backend import xp
from ..tensor import Tensor
from .reduce import sum_to

_make = Tensor._make

__all__ = ["matmul"]


class MatMul(Op):
    """a @ b for operands of at least 2 dims (1-D operands are lifted by ``matmul``)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return xp.matmul(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = sum_to(grad @ b.mT, a.shape)
        if ctx.needs_input_grad[1]:
            gb = sum_to(a.mT @ grad, b.shape)
        return ga, gb


def _check_matmul(a, b, op):
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(f"{op}: both arguments need at least 1 dimension, got shapes {tuple(a.shape)} "
                           f"and {tuple(b.shape)}")
    ka = a.shape[-1]
    kb = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if ka != kb:
        raise RuntimeError(f"{op}: {tuple(a.shape)} @ {tuple(b.shape)}: inner dimensions {ka} and {kb} differ")


def matmul(input, other):
    """Matrix product with NumPy/PyTorch semantics: 1-D operands are vectors, leading dims broadcast.

    Shape: (..., n, k) @ (..., k, m) -> (..., n, m).
    """
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):
        raise TypeError(f"matmul: expected two tensors, got {type(input).__name__} and {type(other).__name__}")
    _check_matmul(input, other, "matmul")
    if input._data.dtype != other._data.dtype:
        raise RuntimeError(f"matmul: expected both operands to have the same dtype, got {input.dtype} "
                           f"and {other.dtype}")
    if input.ndim >= 2 and other.ndim >= 2:
        return MatMul.apply(input, other)
    a = input.unsqueeze(0) if input.ndim == 1 else input
    b = other.unsqueeze(-1) if other.ndim == 1 else other
    out = MatMul.apply(a, b)
    if other.ndim == 1:
        out = out.squeeze(-1)
    if input.ndim == 1:
        out = out.squeeze(-2)
    return out
