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


def embedding_bag(input: Tensor, weight: Tensor, offsets: Tensor | None = None, max_norm: float | None = None,
                  norm_type: float = 2, scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights: Tensor | None = None, include_last_offset: bool = False,
                  padding_idx: int | None = None) -> Tensor:
    """Sums, means or maxima of bags of embedding rows, without the (N, D) lookup per bag being kept by the caller
    (PyTorch's ``F.embedding_bag``).

    Bags: the rows of a 2-D ``input`` (offsets None), or the runs ``input[offsets[i]:offsets[i + 1]]`` of a 1-D one
    (the last bag runs to the end, or ``offsets[-1]`` is the end with ``include_last_offset``). Entries equal to
    ``padding_idx`` are left out of their bag (a mean divides by the bag's other entries). An empty bag is zeros.

    out[b] = sum_i w_i * weight[input_i] (mode 'sum'; w = per_sample_weights or 1), the mean of the rows ('mean'),
    or their elementwise maximum ('max'). Derivatives: d/dweight scatters each bag's gradient to its rows (times w,
    divided by the bag size for 'mean', to the arg-max row per element for 'max'); d/dw_i = weight[input_i] .
    grad[b]. Composed from the embedding op (sparse=True gives a sparse weight gradient) and a segment sum
    (``index_add``) per bag.

    Shape: output (B, embedding_dim).
    """
    from . import index as _index
    from .nn import embedding
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"embedding_bag: mode has to be one of sum, mean or max, got {mode!r}")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(f"embedding_bag: per_sample_weights was not None. per_sample_weights is only "
                                  f"supported for mode='sum' (got mode='{mode}'). Please open a feature request on "
                                  "GitHub.")
    if sparse and mode == "max":
        raise ValueError("max mode does not support sparse weights")
    if scale_grad_by_freq and sparse:
        raise RuntimeError("embedding_backward: scale_grad_by_freq not supported with sparse gradients")
    idx = input._data
    if idx.ndim == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated is a mini-batch of "
                             "fixed length sequences.")
        b, length = idx.shape
        bag = xp.repeat(xp.arange(b), length)
        flat = idx.reshape(-1)
        psw = None if per_sample_weights is None else per_sample_weights.reshape(-1)
    elif idx.ndim == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        off = offsets._data.astype(xp.intp)
        if off.ndim != 1:
            raise ValueError("offsets has to be a 1D Tensor")
        if include_last_offset:
            ends, off = off[1:], off[:-1]
        else:
            ends = xp.append(off[1:], idx.shape[0])
        b = off.shape[0]
        flat = idx
        counts = xp.maximum(ends - off, 0)
        bag = xp.repeat(xp.arange(b), counts)
        pos = xp.concatenate([xp.arange(s, s + c) for s, c in zip(off.tolist(), counts.tolist())]) \
            if b else xp.zeros(0, xp.intp)  # host: one range per bag
        flat = idx[pos]
        psw = None if per_sample_weights is None else per_sample_weights[_make(pos)]
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {idx.ndim}")
    n, d = weight.shape
    if padding_idx is not None:
        padding_idx = padding_idx % n
        keep = flat != padding_idx
        if not keep.all():
            sel = xp.flatnonzero(keep)
            flat, bag = flat[sel], bag[sel]
            psw = None if psw is None else psw[_make(sel)]
    rows = embedding(_make(flat), weight, None, max_norm, norm_type, scale_grad_by_freq, sparse)  # (m, d)
    if psw is not None:
        rows = rows * psw.reshape(-1, 1)
    if mode == "max":
        cnt = xp.bincount(bag, minlength=b)
        width = int(cnt.max()) if cnt.size else 0
        if width == 0:  # every bag empty
            return _index.index_add(rows.new_zeros(b, d), 0, _make(bag), rows)
        start = xp.cumsum(cnt) - cnt
        slot = bag * width + (xp.arange(bag.shape[0]) - start[bag])
        fill = xp.full((b * width, 1), -xp.inf, dtype=rows._data.dtype)
        fill[slot] = 0  # host: the occupied slots of the (bag, slot) grid
        grid = _index.index_add(rows.new_zeros(b * width, d), 0, _make(slot), rows) + _make(fill)
        out = grid.reshape(b, width, d).amax(1)
        if (cnt == 0).any():
            out = out.masked_fill(_make((cnt == 0).reshape(-1, 1)), 0.0)
        return out
    out = _index.index_add(rows.new_zeros(b, d), 0, _make(bag), rows)
    if mode == "mean":
        cnt = xp.bincount(bag, minlength=b).astype(out._data.dtype)
        out = out / _make(xp.maximum(cnt, 1).reshape(-1, 1))
    return out
