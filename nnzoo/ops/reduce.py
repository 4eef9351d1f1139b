"""Reductions along dims (sum, mean, prod, max/min, var/std, logsumexp, norm, ...), the scans
(cumsum, cumprod), the fused softmax / log_softmax, plus ``sum_to``: the one place broadcasting is undone.

``dim`` follows PyTorch everywhere: an int, a tuple/list of ints, or None (all dims); an empty tuple
also means all dims. ``keepdim=True`` keeps the reduced dims with size 1.

Every backward first brings the output gradient back to the "kept" shape (reduced dims of size 1)
with ``_unreduce`` and then lets broadcasting spread it over the input.
"""
from __future__ import annotations

import builtins
import itertools
import math
import warnings
from collections import namedtuple

import numpy as np

from .. import dtypes
from ..autograd.function import Op
from ..autograd.grad_mode import state
from ..backend import xp
from ..kernels import softmax as _K
from ..kernels.linalg import reduce_to
from ..tensor import Tensor, _wrap_dim

_make = Tensor._make

__all__ = ["sum", "mean", "prod", "max", "min", "amax", "amin", "argmax", "argmin", "all", "any",
           "var", "std", "logsumexp", "norm", "cumsum", "cumprod", "softmax", "log_softmax"]

# What max(input, dim) / min(input, dim) return: a (values, indices) namedtuple, as
# torch.return_types.max / torch.return_types.min.
max_result = namedtuple("max", ["values", "indices"])
min_result = namedtuple("min", ["values", "indices"])


def sum_to(grad: Tensor, shape: tuple[int, ...]) -> Tensor:
    """Sum ``grad`` down to ``shape`` (undoing a broadcast): every binary op's backward calls this. In a
    first-order backward (grad mode off) the sum runs by BLAS where :func:`nnzoo.kernels.linalg.reduce_to`
    applies (measured there)."""
    gshape = grad._data.shape
    if gshape == shape:
        return grad
    if not state.enabled:
        out = reduce_to(grad._data, shape)
        if out is not None:
            return Tensor._make(out)
    lead = len(gshape) - len(shape)
    kept = tuple(i + lead for i, s in enumerate(shape) if s == 1 and gshape[i + lead] != 1)
    if not kept:  # only leading dims were added (a bias): one sum, no reshape
        return Sum.apply(grad, tuple(range(lead)), False)
    out = Sum.apply(grad, tuple(range(lead)) + kept, True)
    return _shape.Reshape.apply(out, shape) if lead else out


# ---- helpers -----------------------------------------------------------------------------------------
def _dims(dim, ndim, op):
    """Normalise ``dim`` (None, int, or sequence; empty means all) to a sorted tuple of non-negative dims.

    A 0-d tensor accepts dim 0 / -1 (as in PyTorch) and reduces over nothing: the result is ().
    """
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (int, np.integer)):
        d = _wrap_dim(int(dim), ndim, op)
        return (d,) if ndim else ()
    dim = tuple(dim)
    if not dim:
        return tuple(range(ndim))
    dims = sorted(_wrap_dim(int(d), ndim, op) for d in dim)
    for a, b in itertools.pairwise(dims):
        if a == b:
            raise RuntimeError(f"{op}: dim {a} appears multiple times in the list of dims")
    return tuple(dims) if ndim else ()


def _dim1(dim, ndim, op):
    """One int dim, wrapped (scans, softmax, max(dim)); 0-d tensors accept 0 and -1."""
    if not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{op}: dim must be a single int, got {dim!r}")
    return _wrap_dim(int(dim), ndim, op)


def _keep_shape(shape, dims):
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


def _numel(shape, dims):
    n = 1
    for d in dims:
        n *= shape[d]
    return n


def _unreduce(grad, shape, dims, keepdim):
    """An output-shaped tensor reshaped to the kept shape, so that it broadcasts against the input."""
    if keepdim or not dims:
        return grad
    return _shape.Reshape.apply(grad, _keep_shape(shape, dims))


def _expand(grad, shape):
    """``grad.expand(shape)`` for a shape known to be valid (backward passes skip the checks)."""
    return grad if grad._data.shape == shape else _shape.Expand.apply(grad, shape)


def _check_nonempty(x, dims, op):
    """Max-like reductions have no identity: a reduced dim of size 0 is an error, as in PyTorch."""
    for d in dims:
        if x.shape[d] == 0:
            raise IndexError(f"{op}(): Expected reduction dim {d} to have non-zero size (input shape "
                             f"{tuple(x.shape)})")


def _cast(input, dtype, int_to_long=False):
    """Apply a ``dtype=`` argument; with ``int_to_long`` integer/bool inputs accumulate in int64."""
    if dtype is not None:
        return input.to(dtype)
    if int_to_long and input._data.dtype.kind in "biu":
        return input.to(dtypes.int64)
    return input


def _float_default(input):
    """Integer inputs of float-valued reductions (logsumexp) become the default float dtype."""
    return input if input._data.dtype.kind == "f" else input.to(dtypes.get_default_dtype())


def _const(arr):
    return _make(arr)


def _sign(arr):
    """sign(x) as a constant array of x's dtype (the derivative of sign is 0 almost everywhere).
    NOTE: sign(nan) is 0, as PyTorch's sgn (NumPy gives nan): the 1- and inf-norms send no gradient
    to a NaN element."""
    out = xp.sign(arr).astype(arr.dtype, copy=False)
    nan = xp.isnan(out)
    return xp.where(nan, 0, out).astype(arr.dtype, copy=False) if nan.any() else out


# ---- sum and mean -----------------------------------------------------------------------------------
class Sum(Op):
    """out = sum_i x_i over ``dims``;  dx = broadcast(g)."""

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        return x.sum(axis=dims, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        return _expand(_unreduce(grad, ctx.shape, ctx.dims, ctx.keepdim), ctx.shape), None, None


def sum(input: Tensor, dim: int | tuple[int, ...] | None = None, keepdim: bool = False, *,
        dtype: dtypes.dtype | None = None) -> Tensor:
    """Sum over ``dim`` (all dims when None); integer and bool inputs sum to int64 as in PyTorch.

    Example::

        >>> nnzoo.tensor([[1., 2.], [3., 4.]]).sum(1)
        tensor([3., 7.])
    """
    input = _cast(input, dtype, int_to_long=True)
    out = Sum.apply(input, _dims(dim, input.ndim, "sum"), keepdim)
    if dim is not None and out.grad_fn is not None:
        out.grad_fn.torch_name = "SumBackward1"  # PyTorch's node for sum(dim); sum() records SumBackward0
    return out


class Mean(Op):
    """out = (1/N) sum_i x_i over ``dims``;  dx = broadcast(g) / N."""

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        ctx.n = _numel(x.shape, dims)
        if ctx.n == 0:  # NOTE: the mean of nothing is nan, as in PyTorch (NumPy would also warn)
            return xp.full(xp.sum(x, axis=dims, keepdims=keepdim).shape, xp.nan, dtype=x.dtype)
        if x.dtype.itemsize < 4:  # float16: NumPy's mean accumulates in float32
            return xp.mean(x, axis=dims, keepdims=keepdim)
        out = xp.asarray(x.sum(axis=dims, keepdims=keepdim))
        out /= ctx.n
        return out

    @staticmethod
    def backward(ctx, grad):
        g = _unreduce(grad, ctx.shape, ctx.dims, ctx.keepdim)
        g = g / ctx.n if ctx.n else g * float("nan")  # on the small reduced gradient, then broadcast
        return _expand(g, ctx.shape), None, None


def mean(input: Tensor, dim: int | tuple[int, ...] | None = None, keepdim: bool = False, *,
         dtype: dtypes.dtype | None = None) -> Tensor:
    """Mean over ``dim`` (all dims when None); floating point inputs only, as in PyTorch.

    Example::

        >>> nnzoo.tensor([[1., 2.], [3., 4.]]).mean(0)
        tensor([2., 3.])
    """
    input = _cast(input, dtype)
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be floating point, "
                           f"got {input.dtype}")
    return Mean.apply(input, _dims(dim, input.ndim, "mean"), keepdim)


# ---- scans: cumsum and cumprod ----------------------------------------------------------------------
def _scan(fn, x, d, reverse):
    """``fn`` (np.cumsum / np.cumprod) along ``d``; ``reverse`` scans from the end (out_i = f(x_i..x_n))."""
    if x.ndim == 0:
        return fn(x.reshape(1), 0).reshape(())
    if reverse:
        return xp.flip(fn(xp.flip(x, d), d), d)
    return fn(x, d)


class CumSum(Op):
    """y_i = sum_{j<=i} x_j (``reverse``: sum_{j>=i});  dx = the opposite scan of g."""

    @staticmethod
    def forward(ctx, x, d, reverse):
        ctx.d, ctx.reverse = d, reverse
        return _scan(xp.cumsum, x, d, reverse)

    @staticmethod
    def backward(ctx, grad):
        return CumSum.apply(grad, ctx.d, not ctx.reverse), None, None


def cumsum(input: Tensor, dim: int, *, dtype: dtypes.dtype | None = None) -> Tensor:
    """Cumulative sum along ``dim``; integer and bool inputs give int64, as in PyTorch.

    Example::

        >>> nnzoo.tensor([1., 2., 3.]).cumsum(0)
        tensor([1., 3., 6.])
    """
    input = _cast(input, dtype, int_to_long=True)
    return CumSum.apply(input, _dim1(dim, input.ndim, "cumsum"), False)


class Shift(Op):
    """Shift by one along ``d``, filling with ``fill``: out_i = x_{i-1}, out_0 = fill (``reverse``:
    out_i = x_{i+1}, out_{n-1} = fill). Linear, so dx is the opposite shift of g filled with 0.
    Used for the exclusive cumulative products of prod's backward."""

    @staticmethod
    def forward(ctx, x, d, reverse, fill):
        ctx.d, ctx.reverse = d, reverse
        shape = x.shape
        x1 = x.reshape(1) if x.ndim == 0 else x
        out = xp.empty_like(x1)
        if x1.shape[d] == 0:
            return out.reshape(shape)
        o, xi = xp.moveaxis(out, d, -1), xp.moveaxis(x1, d, -1)
        if reverse:
            o[..., -1] = fill
            o[..., :-1] = xi[..., 1:]
        else:
            o[..., 0] = fill
            o[..., 1:] = xi[..., :-1]
        return out.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return Shift.apply(grad, ctx.d, not ctx.reverse, 0), None, None, None


class CumProd(Op):
    """y_i = prod_{j<=i} x_j (``reverse``: prod_{j>=i}).

    dx_i = sum_{k>=i} g_k prod_{j<=k, j!=i} x_j. Without zeros that is revcumsum(g * y)_i / x_i.

    NOTE: zeros. Along one slice let z be the first zero. Before z the division formula still holds
    (y_k = 0 from z on); at z, dx_z = sum_{k>=z} g_k y'_k with y' the cumprod of x with x_z set to 1;
    after z every term holds the factor x_z = 0. That O(n) rule is exact, but its own derivative
    is not the second derivative of cumprod (after z it is a constant 0), so when a graph of the
    backward is being built (``create_graph=True``) and zeros are present, the exact O(n^2) form
    dx_i = sum_{k>=i} g_k P[i, k], P = cumprod along k of x with x_i replaced by 1, is used instead
    (PyTorch makes the same switch).

    NOTE: infinities, as PyTorch. Along a dimension of length 1 (or a 0-d input) cumprod is the
    identity and dx = g, even at x = inf (the division form gave inf / inf = nan). In the O(n) zero
    rule the terms are PyTorch's: before z only the g_k y_k with k < z are summed (a y_k = 0 * inf =
    nan after z does not leak back), and at z the prefix y_{z-1} multiplies the sum over k up to the
    second zero z2 of g_k prod_{z<j<=k} x_j (so an infinite prefix gives +-inf, not inf - inf).
    Elsewhere PyTorch's arithmetic is kept, nan included (e.g. revcumsum(g y) / x = inf / inf at an
    infinite x of a longer slice without zeros, or 0 * inf at z when an inf lies between z and z2).
    """

    @staticmethod
    def forward(ctx, x, d, reverse):
        ctx.d, ctx.reverse = d, reverse
        y = _scan(xp.cumprod, x, d, reverse)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        d, rev = ctx.d, ctx.reverse
        if x.ndim == 0 or x.shape[d] == 1:  # the identity
            return grad, None, None
        is_zero = x._data == 0
        if not is_zero.any():
            return CumSum.apply(grad * y, d, not rev) / x, None, None
        if state.enabled:
            return _cumprod_grad_exact(grad, x, d, rev), None, None
        count = _scan(xp.cumsum, is_zero, d, rev)  # zeros met so far, in scan order
        before = count == 0
        first = is_zero & (count == 1)
        head = CumSum.apply(_arith.where(before, grad * y, 0.0), d, not rev)
        head = _arith.where(before, head / _arith.where(before, x, 1.0), 0.0)
        # at z: y_{z-1} * sum_{z<=k<z2} g_k prod_{z<j<=k} x_j (z2 the second zero), in PyTorch's order
        to_second = count == 1
        partial = CumProd.apply(_arith.where(to_second & ~first, x, 1.0), d, rev)
        at_zero = (partial * _arith.where(to_second, grad, 0.0)).sum(d, keepdim=True)
        at_zero = at_zero * Shift.apply(y, d, rev, 1.0)
        return head + _arith.where(first, at_zero, 0.0), None, None


def _cumprod_grad_exact(grad, x, d, rev):
    """dx_i = sum_{k>=i} g_k prod_{j<=k, j!=i} x_j as Tensor ops over an (..., n, n) table (O(n^2))."""
    n = x.shape[d]
    xt = x.transpose(d, -1)  # (..., n)
    gt = grad.transpose(d, -1)
    eye = xp.eye(n, dtype=bool)
    table = _arith.where(eye, 1.0, xt.unsqueeze(-2))  # [..., i, k] = x_k, with x_i replaced by 1
    prods = CumProd.apply(table, table.ndim - 1, rev)  # [..., i, k] = prod_{j<=k, j!=i} x_j
    k_ge_i = xp.triu(xp.ones((n, n), dtype=bool))
    mask = k_ge_i.T if rev else k_ge_i  # reverse scan: k <= i
    out = sum(_arith.where(mask, gt.unsqueeze(-2) * prods, 0.0), -1)
    return out.transpose(d, -1)


def cumprod(input: Tensor, dim: int, *, dtype: dtypes.dtype | None = None) -> Tensor:
    """Cumulative product along ``dim`` (correct gradient with zeros in the input).

    Example::

        >>> nnzoo.cumprod(nnzoo.tensor([1., 2., 3.]), 0)
        tensor([1., 2., 6.])
    """
    input = _cast(input, dtype, int_to_long=True)
    return CumProd.apply(input, _dim1(dim, input.ndim, "cumprod"), False)


# ---- prod ---------------------------------------------------------------------------------------------
class Prod(Op):
    """out = prod_i x_i along ``dim`` (None: all);  dx_i = g * prod_{j != i} x_j.

    NOTE: zeros. Without zeros dx = g * out / x (PyTorch's form). With zeros the division is 0/0, so
    dx_i = g * L_i * R_i with L, R the exclusive cumulative products from the left and the right
    (prod_{j<i} x_j and prod_{j>i} x_j): exact, no division, and differentiable again.
    """

    @staticmethod
    def forward(ctx, x, dim, keepdim):
        ctx.dim, ctx.keepdim = dim, keepdim
        if dim is None:
            out = xp.prod(x)
            out = xp.reshape(out, (1,) * x.ndim) if keepdim else out
        else:
            out = xp.prod(x, axis=dim, keepdims=keepdim)
        out = xp.asarray(out)  # a 0-d array, not a NumPy scalar: saved outputs are matched by identity
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        if x.ndim == 0:
            return grad, None, None
        dims = tuple(range(x.ndim)) if ctx.dim is None else (ctx.dim,)
        g = _unreduce(grad, x.shape, dims, ctx.keepdim)
        if not (x._data == 0).any():
            return g * (_unreduce(out, x.shape, dims, ctx.keepdim) / x), None, None
        if ctx.dim is None:
            if not state.enabled and int((x._data == 0).sum()) > 1:
                # NOTE: PyTorch's shortcut: two zeros make every prod_{j != i} x_j zero, so dx = 0, even where
                # an inf or NaN elsewhere would make the exclusive products 0 * inf = nan
                return _make(xp.zeros(x._data.shape, dtype=g._data.dtype)), None, None
            flat = x.reshape(-1)
            return g * _exclusive_prods(flat, 0).reshape(x.shape), None, None
        return g * _exclusive_prods(x, ctx.dim), None, None


def _exclusive_prods(x, d):
    """prod_{j != i} x_j along ``d`` for every i, as (exclusive left cumprod) * (exclusive right cumprod)."""
    left = CumProd.apply(Shift.apply(x, d, False, 1), d, False)
    right = CumProd.apply(Shift.apply(x, d, True, 1), d, True)
    return left * right


def prod(input: Tensor, dim: int | None = None, keepdim: bool = False, *, dtype: dtypes.dtype | None = None) -> Tensor:
    """Product of all elements, or along one int ``dim``; integer and bool inputs give int64.

    Example::

        >>> nnzoo.tensor([[1., 2.], [3., 4.]]).prod(1)
        tensor([ 2., 12.])
    """
    if dim is not None and not isinstance(dim, (int, np.integer)):
        raise TypeError(f"prod(): dim must be a single int (torch.prod reduces one dim or all), got {dim!r}")
    input = _cast(input, dtype, int_to_long=True)
    if dim is not None:
        dim = _wrap_dim(int(dim), input.ndim, "prod")
        if input.ndim == 0:
            return Prod.apply(input, None, False)
    return Prod.apply(input, dim, keepdim)


# ---- max / min family --------------------------------------------------------------------------------
class AMax(Op):
    """out = max (``largest``) or min of x over ``dims``.

    NOTE: ties. The gradient is shared evenly among the elements equal to the result in each reduced
    slice: dx = g * [x == out] / count, as PyTorch's amax/amin. For the full ``max()``/``min()``
    (``nan_ties``) a nan result sends the gradient to the nan elements, as PyTorch does.
    """

    @staticmethod
    def forward(ctx, x, dims, keepdim, largest, nan_ties):
        ctx.dims, ctx.keepdim, ctx.nan_ties = dims, keepdim, nan_ties
        out = xp.asarray((xp.max if largest else xp.min)(x, axis=dims, keepdims=keepdim))
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        xa = x._data
        o = xp.reshape(out._data, _keep_shape(xa.shape, ctx.dims)) if not ctx.keepdim else out._data
        mask = xa == o
        if ctx.nan_ties:
            mask |= xp.isnan(xa) & xp.isnan(o)
        weight = mask / xp.sum(mask, axis=ctx.dims, keepdims=True)
        g = _unreduce(grad, xa.shape, ctx.dims, ctx.keepdim)
        return g * _const(weight.astype(xa.dtype, copy=False)), None, None, None, None


class MaxDim(Op):
    """(values, indices) of the max (``largest``) or min along one dim; the first index wins ties.

    dx = g scattered to the returned index (one-hot along ``d``), as PyTorch's max(dim).
    """

    @staticmethod
    def forward(ctx, x, d, keepdim, largest):
        ctx.d, ctx.keepdim = d, keepdim
        ctx.shape = x.shape
        if x.ndim == 0:
            return x.copy(), xp.zeros((), dtype=np.int64)
        idx = (xp.argmax if largest else xp.argmin)(x, axis=d, keepdims=True)
        ctx.idx = idx
        values = xp.take_along_axis(x, idx, axis=d)
        if not keepdim:
            values, idx = xp.squeeze(values, d), xp.squeeze(idx, d)
        return values, idx.astype(np.int64, copy=False)

    @staticmethod
    def backward(ctx, grad, grad_indices=None):
        if not ctx.shape:
            return grad, None, None, None
        g = grad if ctx.keepdim else grad.unsqueeze(ctx.d)
        onehot = xp.zeros(ctx.shape, dtype=grad._data.dtype)
        xp.put_along_axis(onehot, ctx.idx, 1, axis=ctx.d)
        return g * _const(onehot), None, None, None


def _max_min(input, dim, keepdim, other, largest):
    name = "max" if largest else "min"
    if other is not None:
        dim = other
    if isinstance(dim, Tensor):
        return (_arith.maximum if largest else _arith.minimum)(input, dim)
    if dim is None:
        if input._data.size == 0:
            raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
                               "Specify the reduction dim with the 'dim' argument.")
        return AMax.apply(input, tuple(range(input.ndim)), False, largest, True)
    d = _dim1(dim, input.ndim, name)
    if input.ndim:
        _check_nonempty(input, (d,), name)
    values, indices = MaxDim.apply(input, d, keepdim, largest)
    # detach: the int64 indices are not part of the graph (no grad_fn), as in PyTorch
    return (max_result if largest else min_result)(values, indices.detach())


def max(input: Tensor, dim: int | None = None, keepdim: bool = False, *,
        other: Tensor | None = None) -> Tensor | tuple[Tensor, Tensor]:
    """``max(input)``: the largest element (0-d); ``max(input, dim, keepdim=False)``: a
    ``(values, indices)`` namedtuple along ``dim``; ``max(input, other)``: elementwise ``maximum``.

    Gradient: the full reduction shares it evenly among tied maxima; ``max(dim)`` sends it to the
    returned index (the first maximum), exactly as PyTorch.

    Example::

        >>> v, i = nnzoo.tensor([[1., 5.], [7., 2.]]).max(1)
        >>> v, i
        (tensor([5., 7.]), tensor([1, 0]))
    """
    return _max_min(input, dim, keepdim, other, True)


def min(input: Tensor, dim: int | None = None, keepdim: bool = False, *,
        other: Tensor | None = None) -> Tensor | tuple[Tensor, Tensor]:
    """The smallest element, a ``(values, indices)`` namedtuple along ``dim``, or elementwise
    ``minimum`` with a tensor; see :func:`max`."""
    return _max_min(input, dim, keepdim, other, False)


def _amax_amin(input, dim, keepdim, largest):
    name = "amax" if largest else "amin"
    dims = _dims(dim, input.ndim, name)
    if input._data.size == 0 and input.ndim and not isinstance(dim, int) and len(tuple(dim)) == 0:
        raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
                           "Specify the reduction dim with the 'dim' argument.")
    _check_nonempty(input, dims, name)
    return AMax.apply(input, dims, keepdim, largest, False)


def amax(input: Tensor, dim: int | tuple[int, ...] = (), keepdim: bool = False) -> Tensor:
    """Max over ``dim`` (an int or a tuple; () means all); ties share the gradient evenly.

    Example::

        >>> nnzoo.tensor([[1., 5.], [7., 2.]]).amax(0)
        tensor([7., 5.])
    """
    return _amax_amin(input, dim, keepdim, True)


def amin(input: Tensor, dim: int | tuple[int, ...] = (), keepdim: bool = False) -> Tensor:
    """Min over ``dim`` (an int or a tuple; () means all); ties share the gradient evenly."""
    return _amax_amin(input, dim, keepdim, False)


def _arg(input, dim, keepdim, largest):
    name = "argmax" if largest else "argmin"
    fn = xp.argmax if largest else xp.argmin
    x = input._data
    if x.dtype == np.bool_:
        raise RuntimeError(f"{name}(): does not support bool input")
    if dim is None:
        if x.size == 0:
            raise IndexError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0.")
        idx = xp.asarray(fn(x), dtype=np.int64)
        return _make(idx.reshape((1,) * x.ndim) if keepdim else idx)
    d = _dim1(dim, x.ndim, name)
    if x.ndim == 0:
        return _make(xp.zeros((), dtype=np.int64))
    _check_nonempty(input, (d,), name)
    return _make(xp.asarray(fn(x, axis=d, keepdims=keepdim), dtype=np.int64))


def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index (int64) of the max along ``dim``, or into the flattened tensor when ``dim`` is None.

    Example::

        >>> nnzoo.tensor([[1., 5.], [7., 2.]]).argmax(1)
        tensor([1, 0])
    """
    return _arg(input, dim, keepdim, True)


def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index (int64) of the min along ``dim``, or into the flattened tensor when ``dim`` is None."""
    return _arg(input, dim, keepdim, False)


def _logical(input, dim, keepdim, fn, name):
    x = input._data
    out = fn(x, axis=_dims(dim, x.ndim, name), keepdims=keepdim)
    # PyTorch keeps uint8 for uint8 inputs, every other dtype gives bool
    return _make(xp.asarray(out, dtype=np.uint8 if x.dtype == np.uint8 else np.bool_))


def all(input: Tensor, dim: int | tuple[int, ...] | None = None, keepdim: bool = False) -> Tensor:
    """True where every element along ``dim`` (all dims when None) is non-zero."""
    return _logical(input, dim, keepdim, xp.all, "all")


def any(input: Tensor, dim: int | tuple[int, ...] | None = None, keepdim: bool = False) -> Tensor:
    """True where some element along ``dim`` (all dims when None) is non-zero."""
    return _logical(input, dim, keepdim, xp.any, "any")


# ---- var and std ---------------------------------------------------------------------------------
class Var(Op):
    """var = sum_i (x_i - mean)^2 / (N - correction);  std = sqrt(var).

    NOTE: two passes (mean first, then squared deviations), never E[x^2] - E[x]^2, which cancels
    catastrophically when |mean| >> std. The divisor is max(0, N - correction) as in PyTorch (so
    N <= correction gives inf or nan).
    dvar/dx = g * 2 (x - mean) / (N - correction);  dstd/dx = dvar/dx with g / (2 std), 0 where std == 0.
    """

    @staticmethod
    def forward(ctx, x, dims, correction, keepdim, take_sqrt, whole=False):
        ctx.dims, ctx.correction, ctx.keepdim, ctx.take_sqrt = dims, correction, keepdim, take_sqrt
        ctx.whole = whole  # no dim given (or a 0-d input): PyTorch's backward differs at N <= correction
        n = _numel(x.shape, dims)
        with np.errstate(invalid="ignore", divide="ignore"):
            dev = xp.asarray(x - (xp.mean(x, axis=dims, keepdims=True) if n else 0))
            xp.multiply(dev, dev, out=dev)
            out = xp.sum(dev, axis=dims, keepdims=keepdim) / x.dtype.type(builtins.max(0, n - correction))
            out = xp.asarray(xp.sqrt(out) if take_sqrt else out)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        dims, keepdim = ctx.dims, ctx.keepdim
        dof = _numel(x.shape, dims) - ctx.correction
        scale = 2.0 / dof if dof != 0 else math.inf
        g = _unreduce(grad, x.shape, dims, keepdim)
        if ctx.take_sqrt:
            s = _unreduce(out, x.shape, dims, keepdim)
            zero = s._data == 0
            if zero.any():  # NOTE: PyTorch's subgradient: 0 where std == 0
                g = _arith.where(zero, 0.0, g / (2 * _arith.where(zero, 1.0, s)))
            else:
                g = g / (2 * s)
        dev = x - mean(x, dims, keepdim=True)
        if dof <= 0 and ctx.whole:
            # NOTE: PyTorch's rule when no dim is given (or the input is 0-d) and N <= correction: 2 / dof is
            # taken as inf, so dx = g * (nan where x == mean, else inf), whatever the sign of x - mean
            at_mean = x._data == xp.mean(x._data, axis=dims, keepdims=True)  # x == mean, inf == inf included
            inf_or_nan = xp.where(at_mean, math.nan, math.inf).astype(x._data.dtype)
            return g * _const(inf_or_nan), None, None, None, None, None
        return g * scale * dev, None, None, None, None, None


def _var_std(input, dim, unbiased, keepdim, correction, take_sqrt):
    name = "std" if take_sqrt else "var"
    if isinstance(dim, bool):  # var(x, False): the legacy positional unbiased
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise TypeError(f"{name}(): pass either unbiased or correction, not both")
    if correction is None:
        correction = 0 if unbiased is False else 1
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"{name}(): std and var only support floating point dtypes, got {input.dtype}")
    dims = _dims(dim, input.ndim, name)
    if _numel(input.shape, dims) - correction <= 0:
        warnings.warn(f"{name}(): degrees of freedom is <= 0. Correction should be strictly less than the "
                      "reduction factor (input numel divided by output numel).", UserWarning, stacklevel=3)
    return Var.apply(input, dims, correction, keepdim, take_sqrt, dim is None or input.ndim == 0)


def var(input: Tensor, dim: int | tuple[int, ...] | None = None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: float | None = None) -> Tensor:
    """Variance over ``dim`` with Bessel's correction by default (``correction=1``; ``unbiased=False``
    or ``correction=0`` for the population variance), as PyTorch.

    Example::

        >>> nnzoo.tensor([1., 2., 3., 4.]).var()
        tensor(1.6667)
    """
    return _var_std(input, dim, unbiased, keepdim, correction, False)


def std(input: Tensor, dim: int | tuple[int, ...] | None = None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: float | None = None) -> Tensor:
    """Standard deviation: sqrt of :func:`var` (same ``dim``/``unbiased``/``correction`` rules).

    Example::

        >>> nnzoo.tensor([2., 4.]).std(correction=0)
        tensor(1.)
    """
    return _var_std(input, dim, unbiased, keepdim, correction, True)


# ---- logsumexp ---------------------------------------------------------------------------------------
class LogSumExp(Op):
    """out = log sum_i exp(x_i) over ``dims``;  dx = g * exp(x - out) (the softmax).

    NOTE: stability. exp overflows for x > 88 (float32), so compute m + log sum exp(x - m) with
    m = max x: every exponent is <= 0. An infinite m (a slice of all -inf, or holding +inf) is
    replaced by 0, so an all -inf slice gives -inf (not nan) and a +inf gives +inf, as PyTorch.
    """

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        ctx.dims, ctx.keepdim = dims, keepdim
        m = xp.max(x, axis=dims, keepdims=True, initial=-xp.inf)
        m = xp.where(xp.isfinite(m), m, xp.zeros((), dtype=x.dtype))
        e = xp.asarray(x - m)
        xp.exp(e, out=e)
        with np.errstate(divide="ignore"):
            out = xp.asarray(xp.log(xp.sum(e, axis=dims, keepdims=True)) + m)
        if not keepdim:
            out = out.reshape(tuple(s for i, s in enumerate(x.shape) if i not in dims))
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        g = _unreduce(grad, x.shape, ctx.dims, ctx.keepdim)
        return g * (x - _unreduce(out, x.shape, ctx.dims, ctx.keepdim)).exp(), None, None


def logsumexp(input: Tensor, dim: int | tuple[int, ...], keepdim: bool = False) -> Tensor:
    """log(sum(exp(input))) over ``dim`` (an int or a tuple), computed stably.

    Example::

        >>> nnzoo.tensor([1000., 1000.], dtype=nnzoo.float64).logsumexp(0)
        tensor(1000.6931, dtype=nnzoo.float64)
    """
    input = _float_default(input)
    return LogSumExp.apply(input, _dims(dim, input.ndim, "logsumexp"), keepdim)


# ---- norm -----------------------------------------------------------------------------------------
class Norm(Op):
    """Vector p-norm over ``dims``: (sum_i |x_i|^p)^(1/p); p = inf / -inf: max / min |x_i|;
    p = 0: the number of non-zeros.

    dx = g * sign(x) |x|^(p-1) / out^(p-1)  (p = 2: g * x / out;  p = 1: g * sign(x);  p = +-inf: the
    sign times the evenly shared tie mask of amax/amin |x|;  p = 0: no gradient).
    NOTE: at out == 0 the gradient is 0 (PyTorch's subgradient; p = 2 at the zero vector), and for
    p < 1 the elements equal to 0 get 0 instead of inf.
    """

    @staticmethod
    def forward(ctx, x, p, dims, keepdim):
        ctx.p, ctx.dims, ctx.keepdim = p, dims, keepdim
        kw = dict(axis=dims, keepdims=keepdim)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            if p != 0 and _numel(x.shape, dims) == 1:
                # NOTE: the norm of one element is |x| (PyTorch too), not (|x|^p)^(1/p), which underflows to 0
                # for a subnormal or tiny x (and overflows for a huge one)
                out = xp.abs(x)
                if not keepdim:
                    out = out.reshape(tuple(n for i, n in enumerate(x.shape) if i not in dims))
            elif p == 2:
                out = xp.sqrt(xp.sum(xp.square(x), **kw))
            elif p == 1:
                out = xp.sum(xp.abs(x), **kw)
            elif p == math.inf:
                out = xp.max(xp.abs(x), **kw)
            elif p == -math.inf:
                out = xp.min(xp.abs(x), **kw)
            elif p == 0:
                out = xp.sum(x != 0, **kw)
            else:
                out = xp.sum(xp.abs(x) ** p, **kw) ** (1.0 / p)
        out = xp.asarray(out, dtype=x.dtype)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        p, dims, keepdim = ctx.p, ctx.dims, ctx.keepdim
        if p == 0:
            return None, None, None, None
        xa = x._data
        g = _unreduce(grad, xa.shape, dims, keepdim)
        o = _unreduce(out, xa.shape, dims, keepdim)
        sgn = _sign(xa)
        if p == 1:
            return g * _const(sgn), None, None, None
        if math.isinf(p):
            # NOTE: the tie mask counts NaN elements as maxima (PyTorch: a NaN norm came from them), so a
            # NaN norm shares its gradient among its NaN elements, whose sign is 0: all zeros, not 0/0
            absx = xp.abs(xa)
            mask = (absx == o._data) | xp.isnan(absx)
            weight = sgn * (mask / xp.sum(mask, axis=dims, keepdims=True))
            return g * _const(weight.astype(xa.dtype, copy=False)), None, None, None
        o_zero = o._data == 0
        o_safe = _arith.where(o_zero, 1.0, o) if o_zero.any() else o
        if p == 2:
            # NOTE: x / out first (|x / out| <= 1), as PyTorch: g / out overflows for a tiny norm (1 / 1e-40)
            ratio = x / o_safe
            if o_zero.any():
                ratio = _arith.where(o_zero, 0.0, ratio)
            return g * ratio, None, None, None
        absx = x * _const(sgn)
        x_zero = xa == 0
        if p < 1 and x_zero.any():
            term = _arith.where(x_zero, 0.0, _const(sgn) * _arith.where(x_zero, 1.0, absx) ** (p - 1))
        else:
            term = _const(sgn) * absx ** (p - 1)
        scale = g * o_safe ** (1 - p)
        if o_zero.any():
            scale = _arith.where(o_zero, 0.0, scale)
        return scale * term, None, None, None


def norm(input: Tensor, p: float | str | None = "fro", dim: int | tuple[int, ...] | None = None, keepdim: bool = False,
         dtype: dtypes.dtype | None = None) -> Tensor:
    """The norm of ``input`` as ``torch.norm``: a vector p-norm over ``dim`` (all elements when None).

    ``p``: 'fro' (= 2 over at most 2 dims), any positive or negative float, ``inf``, ``-inf``, or 0
    (the count of non-zeros). The nuclear norm ('nuc') is not implemented.

    Example::

        >>> nnzoo.tensor([3., 4.]).norm()
        tensor(5.)
    """
    input = _cast(input, dtype)
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"norm: expected a floating point tensor as input, got {input.dtype}")
    if isinstance(p, str):
        if p == "fro":
            if dim is not None and not isinstance(dim, (int, np.integer)) and len(tuple(dim)) > 2:
                raise RuntimeError(f"norm: p='fro' takes at most 2 dims, got dim={tuple(dim)}")
            p = 2
        elif p == "nuc":
            raise NotImplementedError("norm: the nuclear norm (p='nuc') is not implemented")
        else:
            raise ValueError(f"norm: p must be 'fro', 'nuc' or a number, got {p!r}")
    elif p is None:
        p = 2
    return Norm.apply(input, float(p), _dims(dim, input.ndim, "norm"), keepdim)


# ---- softmax and log_softmax (fused) --------------------------------------------------------------
# NOTE: softmax and log_softmax are fused ops (one node each), not the composition
# exp(x - logsumexp(x)): one pass of NumPy work and one graph node instead of five, which matters in
# every classifier and attention layer. Both subtract the max first so exp never overflows.
# tests/ops/test_reduce.py checks them against the composed form, forward and backward. The array work
# (NumPy, and compiled kernels over the last dim) is in nnzoo/kernels/softmax.py.
class Softmax(Op):
    """y = exp(x - max) / sum exp(x - max) along ``d``;  dx = y * (g - sum(g * y))."""

    @staticmethod
    def forward(ctx, x, d):
        ctx.d = d
        y = _K.softmax(x, d if x.ndim else None)  # a slice of all -inf gives nan, as in PyTorch
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        y, = ctx.saved_tensors
        return SoftmaxBackward.apply(grad, y, ctx.d), None


class SoftmaxBackward(Op):
    """out = y * (g - sum(g * y)) along ``d`` (softmax's backward as one op: ~3 fewer op calls).

    Its own backward (for second derivatives), with S(.) the keepdim sum along d:
    d/dg = y * (h - S(h * y));  d/dy = h * (g - S(g * y)) - g * S(h * y)."""

    @staticmethod
    def forward(ctx, g, y, d):
        ctx.d = d
        ctx.save_for_backward(g, y)
        return _K.softmax_backward(g, y, d if y.ndim else None)

    @staticmethod
    def backward(ctx, h):
        g, y = ctx.saved_tensors
        d = ctx.d
        hy = sum(h * y, d, keepdim=True)
        gg = y * (h - hy) if ctx.needs_input_grad[0] else None
        gy = h * (g - sum(g * y, d, keepdim=True)) - g * hy if ctx.needs_input_grad[1] else None
        return gg, gy, None


class LogSoftmax(Op):
    """y = x - max - log sum exp(x - max) along ``d``;  dx = g - exp(y) * sum(g)."""

    @staticmethod
    def forward(ctx, x, d):
        ctx.d = d
        y = _K.log_softmax(x, d if x.ndim else None)  # all -inf: nan, as in PyTorch
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        y, = ctx.saved_tensors
        return LogSoftmaxBackward.apply(grad, y, ctx.d), None


class LogSoftmaxBackward(Op):
    """out = g - exp(y) * sum(g) along ``d`` (log_softmax's backward as one op).

    Its own backward, with p = exp(y) and S(.) the keepdim sum along d:
    d/dg = h - S(h * p);  d/dy = -h * p * S(g)."""

    @staticmethod
    def forward(ctx, g, y, d):
        ctx.d = d
        ctx.save_for_backward(g, y)
        return _K.log_softmax_backward(g, y, d if y.ndim else None)

    @staticmethod
    def backward(ctx, h):
        g, y = ctx.saved_tensors
        d = ctx.d
        p = y.exp()
        gg = h - sum(h * p, d, keepdim=True) if ctx.needs_input_grad[0] else None
        gy = -h * p * sum(g, d, keepdim=True) if ctx.needs_input_grad[1] else None
        return gg, gy, None


def _softmax_input(input, dim, dtype, name):
    input = _cast(input, dtype)
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"{name}: expected a floating point input, got {input.dtype} (pass dtype=...)")
    return input, _dim1(dim, input.ndim, name)


def softmax(input: Tensor, dim: int, dtype: dtypes.dtype | None = None) -> Tensor:
    """exp(x_i) / sum_j exp(x_j) along ``dim`` (fused and stable); ``dtype`` casts the input first.

    Example::

        >>> nnzoo.tensor([1., 2., 3.]).softmax(0)
        tensor([0.0900, 0.2447, 0.6652])
    """
    input, d = _softmax_input(input, dim, dtype, "softmax")
    return Softmax.apply(input, d)


def log_softmax(input: Tensor, dim: int, dtype: dtypes.dtype | None = None) -> Tensor:
    """x_i - log sum_j exp(x_j) along ``dim`` (fused and stable); ``dtype`` casts the input first.

    Example::

        >>> nnzoo.tensor([1., 2., 3.]).log_softmax(0)
        tensor([-2.4076, -1.4076, -0.4076])
    """
    input, d = _softmax_input(input, dim, dtype, "log_softmax")
    return LogSoftmax.apply(input, d)


from . import arith as _arith  # noqa: E402  (arith imports sum_to from here)
from . import shape as _shape  # noqa: E402  (shape imports this module)
