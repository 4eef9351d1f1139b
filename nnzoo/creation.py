"""Making tensors: ``tensor`` from data, and the deterministic factories (zeros, arange, eye, ...)."""
import numbers

import numpy as np

from . import dtypes
from .tensor import Tensor

_make = Tensor._make

__all__ = ["tensor", "as_tensor", "from_numpy", "zeros", "ones", "full", "empty", "arange", "linspace",
           "logspace", "eye", "zeros_like", "ones_like", "full_like", "empty_like"]


def _finish(arr, requires_grad):
    t = _make(arr)
    if requires_grad:
        t.requires_grad_()
    return t


def _infer_np_dtype(arr):
    """PyTorch's inference for Python data: floats -> default float dtype, ints -> int64."""
    k = arr.dtype.kind
    if k == "f":
        return dtypes.get_default_dtype().np
    if k in "iu":
        return np.dtype(np.int64)
    if k == "b":
        return arr.dtype
    raise TypeError(f"tensor: can't make a tensor from data of NumPy kind {arr.dtype!r}")


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new tensor holding a copy of ``data`` (nested lists, numbers, NumPy arrays or tensors).

    Python floats become ``float32`` (the default dtype); a NumPy array keeps its dtype.

    Example::

        >>> nnzoo.tensor([[1, 2], [3, 4]]).dtype
        nnzoo.int64
    """
    if isinstance(data, Tensor):
        arr = np.array(data._data, dtype=dtypes.to_numpy(dtype))
    elif isinstance(data, np.ndarray):
        dtypes.from_numpy(data.dtype)  # rejects unsupported dtypes with a clear error
        arr = np.array(data, dtype=dtypes.to_numpy(dtype))
    else:
        if isinstance(data, (list, tuple)) and _has_tensor(data):
            data = _unwrap(data)
        arr = np.array(data)
        if dtype is None:
            if arr.dtype == object:
                raise TypeError(f"tensor: could not infer a dtype from {type(data).__name__} data "
                                "(ragged nested lists, or objects that are not numbers?)")
            arr = arr.astype(_infer_np_dtype(arr), copy=False)
        else:
            arr = arr.astype(dtypes.to_numpy(dtype), copy=False)
    return _finish(arr, requires_grad)


def _has_tensor(seq):
    return any(isinstance(x, Tensor) or isinstance(x, (list, tuple)) and _has_tensor(x) for x in seq)


def _unwrap(seq):
    return [x._data if isinstance(x, Tensor) else _unwrap(x) if isinstance(x, (list, tuple)) else x for x in seq]


def as_tensor(data, dtype=None, device=None):
    """Like ``tensor`` but shares memory with a NumPy array or tensor when no conversion is needed."""
    if isinstance(data, Tensor):
        return data if dtype is None or data.dtype is dtype else data.to(dtype)
    if isinstance(data, np.ndarray) and (dtype is None or data.dtype == dtypes.to_numpy(dtype)):
        dtypes.from_numpy(data.dtype)
        return _make(data)
    return tensor(data, dtype=dtype)


def from_numpy(array):
    """A tensor sharing memory with ``array`` (changes to one show in the other)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a NumPy array, got {type(array).__name__}")
    dtypes.from_numpy(array.dtype)
    return _make(array)


def _size(size):
    if len(size) == 1 and not isinstance(size[0], numbers.Integral):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, numbers.Integral) or s < 0:
            raise RuntimeError(f"invalid size {tuple(size)}: sizes must be non-negative integers")
    return tuple(int(s) for s in size)


def _np_dtype(dtype):
    return dtypes.to_numpy(dtype) if dtype is not None else dtypes.get_default_dtype().np


def zeros(*size, dtype=None, device=None, requires_grad=False):
    return _finish(np.zeros(_size(size), dtype=_np_dtype(dtype)), requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False):
    return _finish(np.ones(_size(size), dtype=_np_dtype(dtype)), requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False):
    return _finish(np.empty(_size(size), dtype=_np_dtype(dtype)), requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    """A tensor of ``size`` filled with ``fill_value``; the dtype follows the value (int -> int64)."""
    if dtype is None:
        dtype = dtypes.result_type(fill_value)
    return _finish(np.full(_size((size,)), fill_value, dtype=dtypes.to_numpy(dtype)), requires_grad)


def _like(input, dtype):
    return input.shape, (dtype.np if dtype is not None else input._data.dtype)


def zeros_like(input, dtype=None, device=None, requires_grad=False):
    shape, dt = _like(input, dtype)
    return _finish(np.zeros(shape, dtype=dt), requires_grad)


def ones_like(input, dtype=None, device=None, requires_grad=False):
    shape, dt = _like(input, dtype)
    return _finish(np.ones(shape, dtype=dt), requires_grad)


def empty_like(input, dtype=None, device=None, requires_grad=False):
    shape, dt = _like(input, dtype)
    return _finish(np.empty(shape, dtype=dt), requires_grad)


def full_like(input, fill_value, dtype=None, device=None, requires_grad=False):
    shape, dt = _like(input, dtype)
    return _finish(np.full(shape, fill_value, dtype=dt), requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    """Values from ``start`` to ``end`` (exclusive) by ``step``; int64 unless a bound or step is a float."""
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    if vals[2] == 0:
        raise RuntimeError("arange: step must be nonzero")
    if dtype is None:
        dtype = dtypes.result_type(*vals)
    n = max(0, int(np.ceil((vals[1] - vals[0]) / vals[2])))
    arr = (vals[0] + vals[2] * np.arange(n, dtype=np.float64 if dtype.is_floating_point else np.int64))
    return _finish(arr.astype(dtype.np), requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    if steps < 0:
        raise RuntimeError("linspace: number of steps must be non-negative")
    return _finish(np.linspace(start, end, int(steps)).astype(_np_dtype(dtype)), requires_grad)


def logspace(start, end, steps, base=10.0, dtype=None, device=None, requires_grad=False):
    return _finish((base ** np.linspace(start, end, int(steps))).astype(_np_dtype(dtype)), requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    """The n x m identity matrix (m defaults to n)."""
    return _finish(np.eye(n, n if m is None else m, dtype=_np_dtype(dtype)), requires_grad)
