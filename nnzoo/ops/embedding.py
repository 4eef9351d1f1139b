"""Embedding lookups with a sparse weight gradient, and ``embedding_bag`` (sums, means or maxima of bags of
looked-up rows). The dense-gradient ``embedding`` op lives in :mod:`nnzoo.ops.nn`."""
from __future__ import annotations

from ..autograd.function import Op
from ..backend import xp
from ..sparse import SparseTensor
from ..tensor import Tensor

_make = Tensor._make


def sparse_weight_grad(grad, idx, n, padding_idx):
    """The weight gradient of a lookup as a sparse COO tensor (PyTorch's form): indices = the looked-up ids in
    order (those equal to ``padding_idx`` dropped), values = the matching rows of ``grad``; uncoalesced."""
    d = grad.shape[-1]
    lin = idx.reshape(-1)
    rows = grad.reshape(-1, d)
    if padding_idx is not None:
        keep = lin != padding_idx
        if not keep.all():
            lin, rows = lin[keep], rows[keep]
    ids = lin.astype(xp.int64)  # a copy (or the masked copy): the grad never aliases the caller's index tensor
    if ids is lin:
        ids = lin.copy()
    return SparseTensor._new(ids.reshape(1, -1), rows, (n, d), ids.shape[0] <= 1)


class SparseEmbedding(Op):
    """out = weight[idx];  dweight = a sparse COO tensor with one entry per looked-up id (the rows of grad),
    padding_idx's entries dropped (``embedding(..., sparse=True)``). Its own gradient is not recorded: PyTorch
    cannot differentiate it either."""

    torch_name = "EmbeddingBackward0"

    @staticmethod
    def forward(ctx, weight, idx, padding_idx):
        ctx.idx, ctx.padding_idx, ctx.n = idx, padding_idx, weight.shape[0]
        return xp.take(weight, idx, axis=0)

    @staticmethod
    def backward(ctx, grad):
        return sparse_weight_grad(grad._data, ctx.idx, ctx.n, ctx.padding_idx), None, None
