"""Sparse COO tensors, as far as sparse gradients need them (``nn.Embedding(sparse=True)``, ``SparseAdam``).

A sparse COO tensor of ``size`` holds ``indices`` (sparse_dim, nnz) int64 and ``values`` (nnz, *dense_size):
entry ``k`` puts ``values[k]`` at position ``indices[:, k]``; repeated positions add up (an *uncoalesced*
tensor). ``coalesce()`` sorts the positions and sums the repeats (a sorted segment sum,
:func:`nnzoo.kernels.index.coalesce_rows`, no ``np.add.at``). PyTorch's names throughout: ``is_sparse``,
``layout`` (``nnzoo.sparse_coo``), ``_indices()``/``_values()`` (any tensor), ``indices()``/``values()``
(coalesced only), ``_nnz()``, ``sparse_dim()``, ``dense_dim()``, ``to_dense()``.

What a sparse tensor supports: ``+``/``add_``/``sub`` with another sparse tensor (the entries are
concatenated, the result uncoalesced), ``dense + sparse`` and ``dense.add_(sparse, alpha=...)`` (dense
results), ``mul``/``div`` by a scalar, ``neg``, ``norm()``, ``sum()``, ``clone()``, ``zero_()``, ``detach()``,
``to(dtype)``, printing as PyTorch prints it. Any other op raises ``NotImplementedError`` naming the op and
``'SparseCPU'`` (as PyTorch). Sparse tensors do not record autograd graphs: they are gradients.

NOTE: ``SparseTensor`` subclasses ``Tensor`` (so ``isinstance(g, Tensor)`` holds, and Python calls
``SparseTensor.__radd__`` before ``Tensor.__add__`` for ``dense + sparse``) and shadows ``_data`` with a
property that raises: the dense Tensor's code is unchanged, and a dense op handed a sparse tensor fails at its
first read of the array, with the op's name. PyTorch merges two sparse tensors whose values are contiguous with
a two-pointer walk over their indices (the result's nnz then depends on the order of the indices) and
concatenates otherwise; nnzoo always concatenates. ``coalesce()`` and ``to_dense()`` agree either way.

Example::

    >>> s = nnzoo.sparse_coo_tensor([[0, 2, 0]], [[1., 2.], [3., 4.], [5., 6.]], (4, 2))
    >>> s.coalesce()._values()
    tensor([[6., 8.],
            [3., 4.]])
    >>> (nnzoo.zeros(4, 2) + s)[0]
    tensor([6., 8.])
"""
from __future__ import annotations

import math
import numbers
import os
import re
import sys
from typing import Any

import numpy as np

from . import dtypes
from .autograd.grad_mode import state
from .kernels import index as K
from .tensor import Size, SparseNotImplementedError, Tensor, _wrap_dim, sparse_coo

__all__ = ["SparseTensor", "sparse_coo_tensor"]

_PKG = os.path.dirname(os.path.abspath(__file__))
_ENTRY = tuple(os.path.join(_PKG, p) for p in ("tensor.py", "functional.py", "ops" + os.sep, "nn" + os.sep))


def _op_name() -> str:
    """The op a dense code path was running when it read a sparse tensor's array: the outermost frame of
    ``tensor.py``, ``ops/``, ``functional.py`` or ``nn/`` on the stack (else the innermost nnzoo frame)."""
    f = sys._getframe(2)
    inner = outer = None
    while f is not None:
        fn = f.f_code.co_filename
        if fn.startswith(_PKG) and not fn.endswith("sparse.py"):
            inner = inner or f.f_code.co_name
            if fn.startswith(_ENTRY):
                outer = f.f_code.co_name
        f = f.f_back
    name = outer or inner or "op"
    return name.strip("_") if name.startswith("__") else name


def _no_array(self):
    raise SparseNotImplementedError(
        f"{_op_name()}: not implemented for 'SparseCPU' (the tensor is a sparse COO tensor; sparse tensors "
        "support +, add_, sub, mul/div by a scalar, neg, norm, sum, clone, coalesce and to_dense: call "
        ".to_dense() first)")


def _scalar(other, op):
    """A Python number or a 0-d dense tensor as a number; else a clear error."""
    if isinstance(other, numbers.Number) and not isinstance(other, bool):
        return other
    if isinstance(other, Tensor) and not other.is_sparse and other.dim() == 0:
        return other.item()
    kind = "a sparse tensor" if isinstance(other, SparseTensor) else (
        f"a dense tensor of shape {tuple(other.shape)}" if isinstance(other, Tensor) else type(other).__name__)
    raise NotImplementedError(f"{op}: a sparse COO tensor can be multiplied or divided by a number or a 0-d "
                              f"tensor only, not by {kind} (not implemented for 'SparseCPU')")


class SparseTensor(Tensor):
    """A sparse COO tensor: made by :func:`sparse_coo_tensor`, or as the ``.grad`` of an embedding table
    looked up with ``sparse=True``. See the module docstring for what it supports."""

    __slots__ = ("_sp_indices", "_sp_values", "_sp_size", "_sp_coalesced")

    _data = property(_no_array)
    is_sparse = True
    layout = sparse_coo

    # ---- construction ----------------------------------------------------------------------------
    @staticmethod
    def _new(indices: np.ndarray, values: np.ndarray, size: tuple[int, ...], coalesced: bool,
             requires_grad: bool = False) -> SparseTensor:
        """Wrap ``indices`` (sparse_dim, nnz) int64 and ``values`` (nnz, *dense) without checks or copies."""
        t = object.__new__(SparseTensor)
        t._sp_indices, t._sp_values, t._sp_size, t._sp_coalesced = indices, values, tuple(size), coalesced
        t.requires_grad = requires_grad
        t.grad = None
        t.grad_fn = None
        t._output_nr = 0
        t._vc = [0]
        t._accum = None
        return t

    def _like(self, indices, values, coalesced):
        return SparseTensor._new(indices, values, self._sp_size, coalesced)

    # ---- metadata --------------------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self._sp_size)

    def size(self, dim: int | None = None) -> Size | int:
        if dim is None:
            return Size(self._sp_size)
        return self._sp_size[_wrap_dim(dim, len(self._sp_size), "size")]

    @property
    def dtype(self) -> dtypes.dtype:
        return dtypes.from_numpy(self._sp_values.dtype)

    @property
    def ndim(self) -> int:
        return len(self._sp_size)

    def dim(self) -> int:
        return len(self._sp_size)

    ndimension = dim

    def numel(self) -> int:
        return math.prod(self._sp_size)

    nelement = numel

    def element_size(self) -> int:
        return self._sp_values.itemsize

    def is_floating_point(self) -> bool:
        return self._sp_values.dtype.kind == "f"

    def __len__(self) -> int:
        if not self._sp_size:
            raise TypeError("len() of a 0-d tensor")
        return self._sp_size[0]

    def sparse_dim(self) -> int:
        """The number of sparse dimensions (rows of ``indices``)."""
        return self._sp_indices.shape[0]

    def dense_dim(self) -> int:
        """The number of dense dimensions (those of each value, after the first axis of ``values``)."""
        return self._sp_values.ndim - 1

    def _nnz(self) -> int:
        """The number of stored entries (repeats counted while uncoalesced)."""
        return self._sp_values.shape[0]

    def is_coalesced(self) -> bool:
        """Whether the indices are known sorted and distinct."""
        return self._sp_coalesced

    def _coalesced_(self, coalesced: bool) -> SparseTensor:
        self._sp_coalesced = bool(coalesced)
        return self

    def _indices(self) -> Tensor:
        """The (sparse_dim, nnz) int64 indices, shared (uncoalesced ones as stored)."""
        return Tensor._make(self._sp_indices)

    def _values(self) -> Tensor:
        """The (nnz, *dense) values, shared (uncoalesced ones as stored)."""
        return Tensor._make(self._sp_values)

    def indices(self) -> Tensor:
        """The indices of a coalesced tensor (PyTorch refuses them on an uncoalesced one)."""
        if not self._sp_coalesced:
            raise RuntimeError("Cannot get indices on an uncoalesced tensor, please call .coalesce() first")
        return self._indices()

    def values(self) -> Tensor:
        """The values of a coalesced tensor (PyTorch refuses them on an uncoalesced one)."""
        if not self._sp_coalesced:
            raise RuntimeError("Cannot get values on an uncoalesced tensor, please call .coalesce() first")
        return self._values()

    def numpy(self, *, force: bool = False) -> np.ndarray:
        raise NotImplementedError("numpy(): not implemented for 'SparseCPU'; call .to_dense().numpy()")

    def item(self) -> Any:
        raise NotImplementedError("item(): not implemented for 'SparseCPU'")

    def tolist(self) -> Any:
        raise NotImplementedError("tolist(): not implemented for 'SparseCPU'; call .to_dense().tolist()")

    def __bool__(self):
        raise NotImplementedError("bool(): not implemented for 'SparseCPU'")

    def __repr__(self) -> str:
        def inner(arr, indent):
            body = repr(Tensor._make(arr))
            body = re.sub(r", dtype=nnzoo\.\w+\)$", ")", body)
            return body.replace("\n", "\n" + " " * indent)
        extra = f"size={self._sp_size}, nnz={self._nnz()}"
        if self._sp_values.dtype not in (np.float32, np.int64, np.bool_):
            extra += f", dtype={self.dtype}"
        extra += f", layout={sparse_coo}"
        if self.grad_fn is not None:
            extra += f", grad_fn={self.grad_fn!r}"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return (f"tensor(indices={inner(self._sp_indices, 15)},\n"
                f"       values={inner(self._sp_values, 14)},\n"
                f"       {extra})")

    # ---- conversions -----------------------------------------------------------------------------
    def _keys(self) -> tuple[np.ndarray, int]:
        """Each entry's flat position over the sparse dims, and the number of such positions."""
        sizes = self._sp_size[:self.sparse_dim()]
        idx = self._sp_indices
        if len(sizes) == 1:
            return idx[0], sizes[0]
        return np.ravel_multi_index(tuple(idx), sizes), math.prod(sizes)

    def coalesce(self) -> SparseTensor:
        """This tensor with sorted, distinct indices and the values of repeats summed (itself if coalesced)."""
        if self._sp_coalesced:
            return self
        key, n = self._keys()
        keys, vals = K.coalesce_rows(key, self._sp_values, n)
        sizes = self._sp_size[:self.sparse_dim()]
        idx = keys[None, :] if len(sizes) == 1 else np.stack(np.unravel_index(keys, sizes))
        out = SparseTensor._new(idx.astype(np.int64, copy=False), vals, self._sp_size, True, self.requires_grad)
        return out

    def to_dense(self, dtype: dtypes.dtype | None = None, *, masked_grad: bool | None = None) -> Tensor:
        """The dense tensor: zeros plus every entry's values at its position (repeats summed in order)."""
        vals = self._sp_values if dtype is None else self._sp_values.astype(dtypes.to_numpy(dtype))
        out = np.zeros(self._sp_size, dtype=vals.dtype)
        self._add_into(out, 1)
        return Tensor._make(out)

    def _add_into(self, out: np.ndarray, alpha) -> None:
        """out += alpha * self, in place (out: a C-contiguous array of this tensor's size)."""
        if not self._nnz():
            return
        key, n = self._keys()
        vals = self._sp_values
        if vals.dtype != out.dtype:
            vals = vals.astype(out.dtype)
        q = math.prod(self._sp_size[self.sparse_dim():])
        K.index_add_rows_(out.reshape(n, q), key, vals.reshape(-1, q), alpha)

    def to(self, *args: Any, dtype: dtypes.dtype | None = None, **kwargs: Any) -> SparseTensor:
        for a in args:
            if isinstance(a, dtypes.dtype):
                dtype = a
        if dtype is None or dtypes.to_numpy(dtype) == self._sp_values.dtype:
            return self
        return self._like(self._sp_indices, self._sp_values.astype(dtypes.to_numpy(dtype)), self._sp_coalesced)

    def float(self) -> SparseTensor:
        return self.to(dtypes.float32)

    def double(self) -> SparseTensor:
        return self.to(dtypes.float64)

    def to_sparse(self, sparse_dim: int | None = None) -> SparseTensor:
        return self

    # ---- autograd flags --------------------------------------------------------------------------
    def requires_grad_(self, requires_grad: bool = True) -> SparseTensor:
        if requires_grad and self._sp_values.dtype.kind != "f":
            raise RuntimeError(f"only floating point tensors can require gradients, not {self.dtype}")
        self.requires_grad = requires_grad
        return self

    def detach(self) -> SparseTensor:
        t = self._like(self._sp_indices, self._sp_values, self._sp_coalesced)
        t._vc = self._vc
        return t

    def detach_(self) -> SparseTensor:
        self.grad_fn = None
        self.requires_grad = False
        return self

    def clone(self, *, memory_format: Any = None) -> SparseTensor:
        return self._like(self._sp_indices.copy(), self._sp_values.copy(), self._sp_coalesced)

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        new = self.clone()
        new.requires_grad = self.requires_grad
        memo[id(self)] = new
        return new

    # ---- arithmetic ------------------------------------------------------------------------------
    def _check_same(self, other, op):
        if other._sp_size != self._sp_size:
            raise RuntimeError(f"{op}: expected sizes of 'self' and 'other' to match, but "
                               f"{list(self._sp_size)} != {list(other._sp_size)}")
        if other.sparse_dim() != self.sparse_dim():
            raise RuntimeError(f"{op}: the two sparse tensors have {self.sparse_dim()} and {other.sparse_dim()} "
                               "sparse dimensions")

    def _sum_with(self, other, alpha, op):
        """self + alpha * other for two sparse tensors: the entries concatenated (uncoalesced)."""
        self._check_same(other, op)
        dt = np.result_type(self._sp_values, other._sp_values)
        ov = other._sp_values if alpha == 1 else other._sp_values * np.asarray(alpha, dtype=dt)
        if not other._nnz():
            return self._sp_indices, self._sp_values.astype(dt), self._sp_coalesced
        if not self._nnz():
            return other._sp_indices, ov.astype(dt, copy=ov is other._sp_values), other._sp_coalesced
        idx = np.concatenate([self._sp_indices, other._sp_indices], axis=1)
        vals = np.concatenate([self._sp_values.astype(dt, copy=False), ov.astype(dt, copy=False)])
        return idx, vals, False

    def add(self, other: Tensor | float, alpha: float = 1) -> SparseTensor:
        """sparse + alpha * sparse (concatenated entries); PyTorch refuses sparse + dense."""
        if isinstance(other, SparseTensor):
            return self._like(*self._sum_with(other, alpha, "add"))
        raise RuntimeError("add(sparse, dense) is not supported. Use add(dense, sparse) instead.")

    def __add__(self, other):
        return self.add(other)

    def __radd__(self, other):
        """dense + sparse: a dense tensor (Python asks the subclass first)."""
        if isinstance(other, Tensor):
            return _dense_plus_sparse(other, self, 1)
        raise RuntimeError("add(sparse, dense) is not supported. Use add(dense, sparse) instead.")

    def sub(self, other: Tensor | float, alpha: float = 1) -> SparseTensor:
        return self.add(other, -alpha)

    def __sub__(self, other):
        return self.sub(other)

    def __rsub__(self, other):
        if isinstance(other, Tensor):
            return _dense_plus_sparse(other, self, -1)
        raise RuntimeError("sub(sparse, dense) is not supported")

    def add_(self, other: Tensor | float, alpha: float = 1) -> SparseTensor:
        """In place: this tensor's entries followed by ``alpha * other``'s (sparse only)."""
        if not isinstance(other, SparseTensor):
            raise RuntimeError("add_(sparse, dense) is not supported: a sparse tensor stays sparse; use "
                               "dense.add_(sparse) or dense + sparse")
        self._sp_indices, self._sp_values, self._sp_coalesced = self._sum_with(other, alpha, "add_")
        self._vc[0] += 1
        return self

    __iadd__ = add_

    def sub_(self, other: Tensor | float, alpha: float = 1) -> SparseTensor:
        return self.add_(other, -alpha)

    __isub__ = sub_

    def mul(self, other: Tensor | float) -> SparseTensor:
        """The values times a number (or a 0-d tensor); the indices shared, coalescedness kept."""
        s = _scalar(other, "mul")
        return self._like(self._sp_indices, self._sp_values * _cast(s, self._sp_values), self._sp_coalesced)

    __mul__ = __rmul__ = mul

    def mul_(self, other: Tensor | float) -> SparseTensor:
        s = _scalar(other, "mul_")
        np.multiply(self._sp_values, _cast(s, self._sp_values), out=self._sp_values, casting="same_kind")
        self._vc[0] += 1
        return self

    __imul__ = mul_

    def div(self, other: Tensor | float, rounding_mode: str | None = None) -> SparseTensor:
        s = _scalar(other, "div")
        vals = self._sp_values
        if vals.dtype.kind != "f":
            vals = vals.astype(dtypes.get_default_dtype().np)
        return self._like(self._sp_indices, vals / _cast(s, vals), self._sp_coalesced)

    __truediv__ = div

    def div_(self, other: Tensor | float) -> SparseTensor:
        s = _scalar(other, "div_")
        np.true_divide(self._sp_values, _cast(s, self._sp_values), out=self._sp_values, casting="same_kind")
        self._vc[0] += 1
        return self

    __itruediv__ = div_

    def neg(self) -> SparseTensor:
        return self._like(self._sp_indices, -self._sp_values, self._sp_coalesced)

    __neg__ = neg

    def zero_(self) -> SparseTensor:
        """Drop every entry (nnz 0), in place, as PyTorch's sparse ``zero_``."""
        self._sp_indices = np.zeros((self.sparse_dim(), 0), dtype=np.int64)
        self._sp_values = np.zeros((0,) + self._sp_values.shape[1:], dtype=self._sp_values.dtype)
        self._sp_coalesced = True
        self._vc[0] += 1
        return self

    def norm(self, p: float | str | None = "fro", dim: Any = None, keepdim: bool = False,
             dtype: dtypes.dtype | None = None) -> Tensor:
        """The p-norm of all elements (of the coalesced values): 'fro'/2 (default), 1, inf, -inf, 0 or any p."""
        if dim is not None:
            raise NotImplementedError("norm(dim=...): not implemented for 'SparseCPU'")
        v = self.coalesce()._sp_values.ravel()
        if dtype is not None:
            v = v.astype(dtypes.to_numpy(dtype))
        p = 2.0 if p in ("fro", None) else float(p)
        a = np.abs(v)
        if p == 2.0:
            r = np.sqrt(v.dot(v)) if v.size else 0.0
        elif p == math.inf:
            r = a.max() if a.size else 0.0
        elif p == -math.inf:
            r = a.min() if a.size else 0.0
        elif p == 0:
            r = np.count_nonzero(a)
        elif p == 1:
            r = a.sum()
        else:
            r = (a ** p).sum() ** (1.0 / p)
        return Tensor._make(np.asarray(r, dtype=v.dtype))

    def sum(self, dim: Any = None, keepdim: bool = False, dtype: dtypes.dtype | None = None) -> Tensor:
        """The sum of all elements (a 0-d dense tensor)."""
        if dim is not None:
            raise NotImplementedError("sum(dim=...): not implemented for 'SparseCPU'")
        v = self._sp_values if dtype is None else self._sp_values.astype(dtypes.to_numpy(dtype))
        return Tensor._make(np.asarray(v.sum(), dtype=v.dtype))


def _cast(s, arr):
    """A Python number as a 0-d array of ``arr``'s dtype (a weak scalar, as PyTorch)."""
    if isinstance(s, float) and arr.dtype.kind != "f":
        return s
    return np.asarray(s, dtype=arr.dtype)


def _dense_plus_sparse(dense: Tensor, sp: SparseTensor, alpha) -> Tensor:
    """dense + alpha * sp, a new dense tensor (recorded through to_dense() when ``dense`` needs a graph)."""
    if tuple(dense.shape) != sp._sp_size:
        raise RuntimeError(f"add: expected sizes of 'self' and 'other' to match, but {list(dense.shape)} != "
                           f"{list(sp._sp_size)}")
    if state.enabled and dense.requires_grad:
        return dense + sp.to_dense() * alpha
    arr = dense._data
    dt = np.result_type(arr, sp._sp_values)
    out = np.array(arr, dtype=dt, order="C", copy=True)
    sp._add_into(out, alpha)
    return Tensor._make(out)


def add_dense_(dense: Tensor, sp: SparseTensor, alpha: float = 1) -> Tensor:
    """``dense.add_(sp, alpha=alpha)``: scatter-add the sparse entries into the dense tensor, in place."""
    if tuple(dense.shape) != sp._sp_size:
        raise RuntimeError(f"add_: expected sizes of 'self' and 'other' to match, but {list(dense.shape)} != "
                           f"{list(sp._sp_size)}")
    if state.enabled and (dense.requires_grad or sp.requires_grad):
        return dense._inplace("add_", lambda t: t + sp.to_dense() * alpha)
    arr = dense._data
    if np.result_type(arr, sp._sp_values) != arr.dtype and arr.dtype.kind != "f":
        raise RuntimeError(f"add_: result type {sp.dtype} can't be cast to the tensor's dtype {dense.dtype}")
    if arr.flags.c_contiguous:
        sp._add_into(arr, alpha)
    else:
        tmp = np.ascontiguousarray(arr)
        sp._add_into(tmp, alpha)
        arr[...] = tmp
    dense._vc[0] += 1
    return dense


def accumulate_grad(var: Tensor, g: Tensor, create_graph: bool, fresh: set) -> None:
    """AccumulateGrad for a sparse gradient, or into a sparse ``.grad`` (PyTorch's rules): no grad yet -> the
    sparse gradient itself (values copied unless this pass owns them); sparse + sparse -> concatenated in place;
    dense + sparse -> scattered into the dense grad in place; sparse + dense -> a new dense grad."""
    if tuple(g.shape) != tuple(var.shape):
        raise RuntimeError(f"AccumulateGrad: gradient of shape {tuple(g.shape)} for a leaf of shape "
                           f"{tuple(var.shape)}")
    if g.dtype != var.dtype:
        g = g.to(var.dtype)
    old = var.grad
    if old is None:
        if isinstance(g, SparseTensor):
            vals = g._sp_values
            base = vals if vals.base is None else vals.base
            if not create_graph and (id(base) in fresh or not vals.flags.writeable):
                vals = vals.copy()
                base = vals
            fresh.add(id(base))
            var.grad = SparseTensor._new(g._sp_indices, vals, g._sp_size, g._sp_coalesced)
        else:
            var.grad = g.detach() if not create_graph else g
        return
    if create_graph or old.requires_grad:
        var.grad = (g + old) if isinstance(old, SparseTensor) and not isinstance(g, SparseTensor) else old + g
        return
    if isinstance(old, SparseTensor):
        if isinstance(g, SparseTensor):
            old.add_(g)
        else:
            var.grad = g + old
    else:
        if old._data.flags.writeable:
            add_dense_(old, g)
        else:
            var.grad = old + g


def sum_grads(old: Tensor, g: Tensor) -> Tensor:
    """Two gradients reaching the same input, one of them sparse (the engine's buffers): a new tensor."""
    if isinstance(old, SparseTensor) and not isinstance(g, SparseTensor):
        return g + old
    return old + g


def sparse_coo_tensor(indices: Any, values: Any, size: Any = None, *, dtype: dtypes.dtype | None = None,
                      device: Any = None, pin_memory: bool = False, requires_grad: bool = False,
                      check_invariants: bool | None = None, is_coalesced: bool | None = None) -> SparseTensor:
    """A sparse COO tensor with entries ``values[k]`` at ``indices[:, k]`` (PyTorch's ``torch.sparse_coo_tensor``).

    Args:
        indices: (sparse_dim, nnz) integers. values: (nnz, *dense_size), any dtype (default: inferred as
            ``nnzoo.tensor`` does). size: the full size (default: one past the largest index in each sparse
            dimension, then the dense dims).
        is_coalesced: declare the indices sorted and distinct (not checked), as PyTorch.

    Shape: ``size`` = (*sparse sizes, *values.shape[1:]).

    Example::

        >>> nnzoo.sparse_coo_tensor([[0, 1]], [1., 2.], (3,)).to_dense()
        tensor([1., 2., 0.])
    """
    from .creation import tensor as _tensor
    idx = indices._data if isinstance(indices, Tensor) else np.asarray(indices)
    if idx.dtype.kind not in "iu":
        if idx.size == 0:
            idx = idx.astype(np.int64)
        else:
            raise RuntimeError(f"sparse_coo_tensor: indices must be an int64 tensor, got {idx.dtype}")
    idx = np.array(idx, dtype=np.int64, copy=True) if isinstance(indices, Tensor) else idx.astype(np.int64)
    if isinstance(values, Tensor):
        vals = values._data if dtype is None else values._data.astype(dtypes.to_numpy(dtype))
        vals = vals.copy() if vals is values._data else vals
    else:
        vals = _tensor(values, dtype=dtype)._data
    if idx.ndim == 1 and idx.size == 0:
        idx = idx.reshape(1, 0)
    if idx.ndim != 2:
        raise RuntimeError(f"sparse_coo_tensor: indices must be sparse_dim x nnz, but got: {list(idx.shape)}")
    if vals.ndim == 0:
        raise RuntimeError("sparse_coo_tensor: values must have at least one dimension (nnz)")
    sd, nnz = idx.shape
    if vals.shape[0] != nnz:
        raise RuntimeError(f"sparse_coo_tensor: number of dimensions must be nnz... indices have {nnz} entries, "
                           f"values have {vals.shape[0]}")
    if nnz and idx.min() < 0:
        raise RuntimeError(f"sparse_coo_tensor: found negative index {int(idx.min())}")
    if size is None:
        sizes = tuple(int(m) + 1 for m in idx.max(axis=1)) if nnz else (0,) * sd
        size = sizes + tuple(vals.shape[1:])
    size = tuple(int(s) for s in size)
    if len(size) != sd + vals.ndim - 1:
        raise RuntimeError(f"sparse_coo_tensor: number of dimensions must be sparse_dim ({sd}) + dense_dim "
                           f"({vals.ndim - 1}), but got {len(size)}")
    if tuple(vals.shape[1:]) != size[sd:]:
        raise RuntimeError(f"sparse_coo_tensor: values has incorrect size, expected {[nnz, *size[sd:]]}, got "
                           f"{list(vals.shape)}")
    if nnz:
        top = idx.max(axis=1)
        for d in range(sd):
            if top[d] >= size[d]:
                raise RuntimeError(f"sparse_coo_tensor: size is inconsistent with indices: for dim {d}, size is "
                                   f"{size[d]} but found index {int(top[d])}")
    coalesced = nnz <= 1 if is_coalesced is None else bool(is_coalesced)
    t = SparseTensor._new(idx, vals, size, coalesced)
    if requires_grad:
        t.requires_grad_()
    return t


def from_dense(t: Tensor, sparse_dim: int | None = None) -> SparseTensor:
    """``t.to_sparse(sparse_dim)``: the positions (over the first ``sparse_dim`` dims) holding any nonzero."""
    arr = t._data
    sd = arr.ndim if sparse_dim is None else int(sparse_dim)
    if not 0 <= sd <= arr.ndim:
        raise RuntimeError(f"to_sparse: sparse_dim {sd} must be in [0, {arr.ndim}]")
    lead = arr.reshape(arr.shape[:sd] + (-1,)) if sd < arr.ndim else arr
    mask = (lead != 0).any(axis=-1) if sd < arr.ndim else arr != 0
    idx = np.stack(np.nonzero(mask)).astype(np.int64) if sd else np.zeros((0, 1), np.int64)
    vals = arr[tuple(idx)].copy() if sd else arr[None].copy()
    return SparseTensor._new(idx.reshape(sd, -1), vals, arr.shape, True)
