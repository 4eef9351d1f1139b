"""The stateless math of the basic layers: ``linear``, ``bilinear``, the dropout family and ``embedding``.

The layers in ``nnzoo.nn`` own the parameters and call these; ``nnzoo.nn.functional`` re-exports them.
Forwards work on arrays, backwards are written with Tensor ops (so double backward works).
"""
from __future__ import annotations

from ..autograd.function import Op
from ..autograd.grad_mode import state
from ..backend import xp
from ..kernels import jit
from ..kernels import nn as K
from ..kernels.index import index_add_rows_
from ..kernels.linalg import addmm_rows, sum_rows
from ..random import Generator, _gen
from ..tensor import Tensor
from . import shape as _shape
from .linalg import matmul

_make = Tensor._make

__all__ = ["linear", "bilinear", "dropout", "dropout1d", "dropout2d", "alpha_dropout", "embedding"]


def _check_tensor(x, op, name="input"):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument '{name}' must be Tensor, not {type(x).__name__}")


# ---- linear ----------------------------------------------------------------------------------------
_LINEAR_NAMES = {False: "AddmmBackward0", True: "MmBackward0"}


class Linear(Op):
    """y = x W^T + b, x (*, in), W (out, in), b (out,).

    dx = g W;  dW = g^T x (leading dims flattened);  db = sum of g over the leading dims.
    NOTE: one op instead of transpose + matmul + add: three graph nodes fewer per layer call. The forward adds
    the bias inside the GEMM (``kernels.linalg.addmm_rows``) and the first-order backward sums db as a GEMV
    (``kernels.linalg.sum_rows``): measured there.
    """

    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        # the node's name as PyTorch's for 2-D input (addmm / mm); on other inputs torch records view + addmm
        ctx.torch_name = _LINEAR_NAMES[b is None] if x.ndim == 2 else None
        return addmm_rows(x, w, b)

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        if not state.enabled:  # first-order backward: plain arrays, no graph to build
            gx, gw, _ = K.linear_backward(x._data, w._data, grad._data, need[:2])
            gb = sum_rows(grad._data) if len(need) > 2 and need[2] else None
            return tuple(None if g is None else _make(g) for g in (gx, gw, gb))
        n_out, n_in = w._data.shape
        gx = gw = gb = None
        if need[0]:
            gx = matmul(grad, w)
        if need[1]:
            g2 = _shape.reshape(grad, -1, n_out)
            gw = matmul(_shape.t(g2), _shape.reshape(x, -1, n_in))
        if len(need) > 2 and need[2]:
            gb = grad.sum(tuple(range(grad.ndim - 1))) if grad.ndim > 1 else grad
        return gx, gw, gb


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = input @ weight^T + bias.

    Args:
        input: (*, in_features); weight: (out_features, in_features); bias: (out_features,) or None.

    Shape: output (*, out_features).

    Example::

        >>> from nnzoo.ops.nn import linear
        >>> linear(nnzoo.ones(2, 3), nnzoo.ones(4, 3)).shape
        nnzoo.Size([2, 4])
    """
    _check_tensor(input, "linear")
    _check_tensor(weight, "linear", "weight")
    if weight.ndim != 2 or input.ndim < 1 or input.shape[-1] != weight.shape[1]:
        raise RuntimeError(f"linear: input of shape {tuple(input.shape)} and weight of shape "
                           f"{tuple(weight.shape)}: the last dim of input must equal weight's dim 1 "
                           "(in_features)")
    if bias is not None and tuple(bias.shape) not in ((weight.shape[0],), ()):
        raise RuntimeError(f"linear: bias of shape {tuple(bias.shape)} does not match out_features "
                           f"{weight.shape[0]}")
    if input._data.dtype != weight._data.dtype:
        raise RuntimeError(f"linear: input dtype {input.dtype} and weight dtype {weight.dtype} differ "
                           f"(shapes {tuple(input.shape)} and {tuple(weight.shape)})")
    return Linear.apply(input, weight, bias)


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y_k = x1^T A_k x2 + b_k, x1 (*, in1), x2 (*, in2), A (out, in1, in2), b (out,).

    Composed from einsum (whose backward gives every gradient).

    Example::

        >>> from nnzoo.ops.nn import bilinear
        >>> bilinear(nnzoo.ones(2, 3), nnzoo.ones(2, 4), nnzoo.ones(5, 3, 4)).shape
        nnzoo.Size([2, 5])
    """
    from .linalg import einsum
    for name, t in (("input1", input1), ("input2", input2), ("weight", weight)):
        _check_tensor(t, "bilinear", name)
    if weight.ndim != 3 or input1.shape[-1] != weight.shape[1] or input2.shape[-1] != weight.shape[2] \
            or input1.shape[:-1] != input2.shape[:-1]:
        raise RuntimeError(f"bilinear: input1 {tuple(input1.shape)}, input2 {tuple(input2.shape)} and weight "
                           f"{tuple(weight.shape)} do not fit: expected (*, in1), (*, in2), (out, in1, in2)")
    lead = input1.shape[:-1]
    x1 = _shape.reshape(input1, -1, input1.shape[-1])
    x2 = _shape.reshape(input2, -1, input2.shape[-1])
    out = einsum("bi,kij,bj->bk", x1, weight, x2)
    if bias is not None:
        out = out + bias
    return _shape.reshape(out, *lead, weight.shape[0])


# ---- dropout family ---------------------------------------------------------------------------------
def _check_p(p, op):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")


def _apply_mask(input, keep, scale, inplace, op):
    """input * keep * scale, keep a bool array broadcastable to the input."""
    m = (keep * input._data.dtype.type(scale)).astype(input._data.dtype, copy=False)
    mask = _make(m)
    if inplace:
        return input._inplace(op + "_", lambda t: t * mask)
    return input * mask


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False, *,
            generator: Generator | None = None) -> Tensor:
    """Zero each element with probability p and scale the rest by 1 / (1 - p) (identity when not training).

    Example::

        >>> from nnzoo.ops.nn import dropout
        >>> dropout(nnzoo.ones(4), p=0.0)
        tensor([1., 1., 1., 1.])
    """
    _check_tensor(input, "dropout")
    _check_p(p, "dropout")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        keep = xp.zeros(input.shape, dtype=bool)
        return _apply_mask(input, keep, 0.0, inplace, "dropout")
    keep = _gen(generator).random(input.shape) >= p
    return _apply_mask(input, keep, 1.0 / (1.0 - p), inplace, "dropout")


def _channel_dropout(input, p, training, inplace, op, ndims, generator):
    _check_tensor(input, op)
    _check_p(p, op)
    if input.ndim not in ndims:
        raise RuntimeError(f"{op}: expected a {ndims[0]}-D (unbatched) or {ndims[1]}-D (batched) input, "
                           f"got shape {tuple(input.shape)}")
    if not training or p == 0.0:
        return input
    batched = input.ndim == ndims[1]
    mshape = (input.shape[:2] if batched else input.shape[:1]) + (1,) * (input.ndim - (2 if batched else 1))
    if p == 1.0:
        return _apply_mask(input, xp.zeros(mshape, dtype=bool), 0.0, inplace, op)
    keep = _gen(generator).random(mshape) >= p
    return _apply_mask(input, keep, 1.0 / (1.0 - p), inplace, op)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False, *,
              generator: Generator | None = None) -> Tensor:
    """Zero whole channels of (N, C, L) or (C, L) inputs with probability p; scale by 1 / (1 - p)."""
    return _channel_dropout(input, p, training, inplace, "dropout1d", (2, 3), generator)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False, *,
              generator: Generator | None = None) -> Tensor:
    """Zero whole channels of (N, C, H, W) or (C, H, W) inputs with probability p; scale by 1 / (1 - p).

    NOTE: a 3-D input is taken as unbatched (C, H, W); PyTorch warns and, for historical reasons,
    treats it as (N, C, L) instead."""
    return _channel_dropout(input, p, training, inplace, "dropout2d", (3, 4), generator)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False, *,
                  generator: Generator | None = None) -> Tensor:
    """Dropout for SELU networks: dropped elements take the value alpha' = -scale * alpha, then an affine
    map a * x + b restores zero mean and unit variance:

        a = ((1 - p) (1 + p alpha'^2))^(-1/2),  b = -a alpha' p.
    """
    _check_tensor(input, "alpha_dropout")
    _check_p(p, "alpha_dropout")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0 if not inplace else input.mul_(0.0)
    alpha = -_SELU_SCALE * _SELU_ALPHA
    a = ((1 - p) * (1 + p * alpha * alpha)) ** -0.5
    b = -a * alpha * p
    keep = _gen(generator).random(input.shape) >= p
    dt = input._data.dtype.type
    mult = _make((keep * dt(a)).astype(input._data.dtype, copy=False))
    add = _make(((~keep) * dt(a * alpha) + dt(b)).astype(input._data.dtype, copy=False))
    if inplace:
        return input._inplace("alpha_dropout_", lambda t: t * mult + add)
    return input * mult + add


# ---- embedding ----------------------------------------------------------------------------------------
class Embedding(Op):
    """out = weight[idx];  dweight = segment sums of the rows of grad by index, with rows of ``padding_idx``
    left at zero and, with ``scale_grad_by_freq``, each row divided by its index's count in the batch
    (:func:`nnzoo.kernels.nn.embedding_backward`)."""

    @staticmethod
    def forward(ctx, weight, idx, padding_idx, scale_grad_by_freq):
        ctx.idx, ctx.padding_idx, ctx.scale = idx, padding_idx, scale_grad_by_freq
        ctx.n = weight.shape[0]
        return xp.take(weight, idx, axis=0)

    @staticmethod
    def backward(ctx, grad):
        return EmbeddingBackward.apply(grad, ctx.idx, ctx.n, ctx.padding_idx, ctx.scale), None, None, None


class EmbeddingBackward(Op):
    """The weight gradient of embedding as an op, so that its own gradient (a gather) exists:
    d(dweight)/d(grad) picks dweight's rows back by index (times the row weights)."""

    @staticmethod
    def forward(ctx, grad, idx, n, padding_idx, scale):
        ctx.idx = idx
        if padding_idx is None and not scale and grad.ndim and jit.use(grad):
            # NOTE: the compiled scatter-add (PyTorch's loop, in order) instead of the sorted segment sums, whose
            # passes grow with the rows per index: transformer_step's (2048, 128) into 65 rows 448 -> 24 us,
            # seq2seq_step's (1920, 32) into 48 rows 135 -> 8 us (one process, paired)
            d = grad.shape[-1]
            dw = xp.zeros((n, d), grad.dtype)
            index_add_rows_(dw, idx.reshape(-1), grad.reshape(-1, d))
            ctx.w = None
            return dw
        dw, ctx.w = K.embedding_backward(grad, idx, n, padding_idx, scale)
        return dw

    @staticmethod
    def backward(ctx, gw):
        g = _make(xp.take(gw._data, ctx.idx, axis=0)) if not gw.requires_grad else gw[_make(ctx.idx)]
        if ctx.w is not None:
            g = g * _make(ctx.w.reshape(ctx.idx.shape + (1,)))
        return g, None, None, None, None


def _renorm_rows(weight, idx, max_norm, norm_type):
    """Rows of ``weight`` used by ``idx`` with a norm above max_norm are scaled in place to max_norm
    (factor max_norm / (norm + 1e-7), as PyTorch), outside the graph."""
    if K.renorm_rows_(weight._data, idx, max_norm, norm_type):
        weight._vc[0] += 1


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None, max_norm: float | None = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` picked by the integer ``input``: out[..., :] = weight[input[...], :].

    Args:
        input: integer tensor of any shape; weight: (num_embeddings, embedding_dim).
        padding_idx: this row gets no gradient. max_norm: rows looked up whose norm exceeds it are
        renormalised in place (NOTE: this modifies ``weight``, as in PyTorch).
        sparse: the weight's gradient is a sparse COO tensor (one entry per looked-up id, padding_idx's dropped;
        see :mod:`nnzoo.sparse`), for ``optim.SGD``, ``optim.SparseAdam`` and ``optim.Adagrad``.

    Shape: output (*input.shape, embedding_dim).

    Example::

        >>> from nnzoo.ops.nn import embedding
        >>> embedding(nnzoo.tensor([[0, 2]]), nnzoo.eye(3)).shape
        nnzoo.Size([1, 2, 3])
    """
    _check_tensor(input, "embedding")
    _check_tensor(weight, "embedding", "weight")
    if input._data.dtype.kind not in "iu":
        raise RuntimeError(f"embedding: expected an integer index tensor (Long or Int), got {input.dtype}")
    if weight.ndim != 2:
        raise RuntimeError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got shape "
                           f"{tuple(weight.shape)}")
    n = weight.shape[0]
    idx = input._data.astype(xp.intp, copy=False)
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        bad = idx.min() if idx.min() < 0 else idx.max()
        raise IndexError(f"embedding: index {bad} is out of range for a weight with {n} rows")
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise ValueError(f"embedding: padding_idx {padding_idx} must be within num_embeddings {n}")
        padding_idx = padding_idx % n
    if max_norm is not None:
        _renorm_rows(weight, idx, max_norm, norm_type)
    if sparse and weight.requires_grad:
        if scale_grad_by_freq:
            raise RuntimeError("embedding_backward: scale_grad_by_freq not supported with sparse gradients")
        from .embedding import SparseEmbedding  # the sparse-gradient op (nnzoo.ops.embedding)
        return SparseEmbedding.apply(weight, idx, padding_idx)
    return Embedding.apply(weight, idx, padding_idx, scale_grad_by_freq)
