"""Making tensors: ``tensor`` from data, and the deterministic factories (zeros, arange, eye, ...)."""
from __future__ import annotations

import math
import operator
from itertools import chain
from typing import TYPE_CHECKING, Any

import numpy as np

from . import dtypes
from ._device import device as _Device
from .tensor import Tensor, _check_device

if TYPE_CHECKING:
    from collections.abc import Sequence

_make = Tensor._make

__all__ = ["tensor", "as_tensor", "from_numpy", "zeros", "ones", "full", "empty", "arange", "linspace",
           "logspace", "eye", "zeros_like", "ones_like", "full_like", "empty_like"]


def _finish(arr, requires_grad):
    t = _make(arr)
    if requires_grad:
        t.requires_grad_()
    return t


# ---- tensor(data): PyTorch's dtype inference for Python data ------------------------------------------
_SEQUENCES = (list, tuple, range)


def _leaf_dtype(kind):
    """The dtype PyTorch gives one Python or NumPy scalar type."""
    if kind is bool or kind is np.bool_:
        return dtypes.bool
    if kind is int:
        return dtypes.int64
    if kind is float:
        return dtypes.get_default_dtype()
    if issubclass(kind, (np.integer, np.floating)):
        return dtypes.from_numpy(np.dtype(kind))
    if issubclass(kind, str):
        raise TypeError(f"tensor: invalid data type {kind.__name__!r}: expected numbers, not text")
    raise RuntimeError(f"tensor: could not infer dtype of {kind.__name__}")


def _infer(data):
    """(dtype, whether tensors are inside) of nested sequence ``data``, checking that it is rectangular.

    The dtype is the one PyTorch infers: Python floats -> the default dtype (float32), ints -> int64,
    bools -> bool; NumPy scalars, arrays and tensors inside keep their dtype; mixed items promote
    (``[1, 2.5]`` is float32). The walk goes level by level, a few C-speed passes per level.
    """
    level, depth, has_tensor = [data], 0, False
    while True:
        kinds = set(map(type, level))
        has_tensor = has_tensor or any(issubclass(k, Tensor) for k in kinds)
        nested = [issubclass(k, _SEQUENCES) for k in kinds]
        if any(nested) and not all(nested):
            # lists mixed with arrays at one level: walk the arrays like lists (their items keep the dtype)
            level = [list(_array(x)) if isinstance(x, (Tensor, np.ndarray)) and x.ndim else x for x in level]
            kinds = set(map(type, level))
            if not all(issubclass(k, _SEQUENCES) for k in kinds):
                raise TypeError(f"tensor: ragged nested sequence: at dim {depth} some items are sequences and "
                                "some are not")
        elif not all(nested):
            break
        lengths = set(map(len, level))
        if len(lengths) > 1:
            want = len(level[0])
            got = next(n for n in map(len, level) if n != want)
            raise ValueError(f"tensor: ragged nested sequence: expected sequence of length {want} at dim "
                             f"{depth} (got {got}); every list at one nesting level needs the same length")
        level = list(chain.from_iterable(level))
        depth += 1
        if not level:  # an empty list: the default float dtype, as in PyTorch
            return dtypes.get_default_dtype(), has_tensor
    result = None
    for kind in kinds:
        if issubclass(kind, (Tensor, np.ndarray)):
            arrays = [x for x in level if isinstance(x, kind)]
            all_arrays = [x for x in level if isinstance(x, (Tensor, np.ndarray))]
            shapes = {tuple(x.shape) for x in all_arrays}
            mixed = len(all_arrays) < len(level)
            if len(shapes) > 1 or (mixed and shapes != {()}):
                raise ValueError(f"tensor: ragged nested sequence: at dim {depth} the items are arrays/tensors of "
                                 f"shapes {sorted(shapes)}{' mixed with numbers' if mixed else ''}")
            d = None
            for x in arrays:
                dx = dtypes.from_numpy(_array(x).dtype)
                d = dx if d is None else dtypes.promote_types(d, dx)
        else:
            d = _leaf_dtype(kind)
        result = d if result is None else dtypes.promote_types(result, d)
    return result, has_tensor


def _array(x):
    return x._data if isinstance(x, Tensor) else x


def tensor(data: Any, dtype: dtypes.dtype | None = None, device: str | _Device | None = None,
           requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (nested lists, numbers, NumPy arrays or tensors).

    The dtype, unless given, follows PyTorch: Python floats become the default dtype (float32), ints
    int64, bools bool; a NumPy array or scalar keeps its dtype (float64 stays float64); mixed data
    promotes. Nested lists must be rectangular.

    Example::

        >>> nnzoo.tensor([[1, 2], [3, 4]]).dtype
        nnzoo.int64
        >>> nnzoo.tensor([1, 2.5]).dtype
        nnzoo.float32
    """
    _check_device(device)
    if isinstance(data, Tensor):
        arr = np.array(data._data, dtype=dtypes.to_numpy(dtype))
    elif isinstance(data, (np.ndarray, np.generic)):
        if dtype is None:
            dtypes.from_numpy(np.asarray(data).dtype)  # rejects unsupported dtypes with a clear error
        arr = np.array(data, dtype=dtypes.to_numpy(dtype))
    else:
        inferred, has_tensor = _infer(data)
        target = dtypes.to_numpy(dtype) if dtype is not None else inferred.np
        if has_tensor and isinstance(data, _SEQUENCES):
            data = _unwrap(data)
        try:
            with np.errstate(over="ignore"):
                arr = np.array(data, dtype=target)
        except (OverflowError, ValueError) as e:
            raise RuntimeError(f"tensor: value cannot be converted to {dtypes.from_numpy(target)}: {e}") from None
    return _finish(arr, requires_grad)


def _unwrap(seq):
    return [x._data if isinstance(x, Tensor) else _unwrap(x) if isinstance(x, _SEQUENCES) else x for x in seq]


def as_tensor(data: Any, dtype: dtypes.dtype | None = None, device: str | _Device | None = None) -> Tensor:
    """Like ``tensor`` but shares memory with a NumPy array or tensor when no conversion is needed."""
    _check_device(device)
    if isinstance(data, Tensor):
        return data if dtype is None or data.dtype is dtype else data.to(dtype)
    if isinstance(data, np.ndarray) and (dtype is None or data.dtype == dtypes.to_numpy(dtype)):
        dtypes.from_numpy(data.dtype)
        return _make(data)
    return tensor(data, dtype=dtype)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array`` (changes to one show in the other)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a NumPy array, got {type(array).__name__}")
    dtypes.from_numpy(array.dtype)
    return _make(array)


# ---- factories ---------------------------------------------------------------------------------------
def _size(size, op="size"):
    """A shape from ``f(2, 3)``, ``f((2, 3))`` or ``f([2, 3])`` (also ``nnzoo.Size`` and 0-dim int tensors)."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    try:
        shape = tuple(operator.index(s) for s in size)
    except TypeError:
        raise TypeError(f"{op}(): size must be ints or one tuple/list of ints, got "
                        f"{tuple(type(s).__name__ for s in size)}") from None
    if any(s < 0 for s in shape):
        raise RuntimeError(f"{op}: sizes must be non-negative, got {shape}")
    return shape


def _sizes(sizes, size, op):
    """``zeros(2, 3)`` / ``zeros((2, 3))`` / ``zeros(size=(2, 3))``."""
    if size is not None:
        if sizes:
            raise TypeError(f"{op}(): size given both positionally and as a keyword")
        sizes = (size,)
    elif not sizes:
        raise TypeError(f"{op}(): missing the size argument")
    return _size(sizes, op)


def _np_dtype(dtype):
    return dtypes.to_numpy(dtype) if dtype is not None else dtypes.get_default_dtype().np


def zeros(*sizes: int, size: int | Sequence[int] | None = None, dtype: dtypes.dtype | None = None,
          device: str | _Device | None = None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros: ``zeros(2, 3)``, ``zeros((2, 3))`` or ``zeros(size=(2, 3))``."""
    _check_device(device)
    return _finish(np.zeros(_sizes(sizes, size, "zeros"), dtype=_np_dtype(dtype)), requires_grad)


def ones(*sizes: int, size: int | Sequence[int] | None = None, dtype: dtypes.dtype | None = None,
         device: str | _Device | None = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones: ``ones(2, 3)``, ``ones((2, 3))`` or ``ones(size=(2, 3))``."""
    _check_device(device)
    return _finish(np.ones(_sizes(sizes, size, "ones"), dtype=_np_dtype(dtype)), requires_grad)


def empty(*sizes: int, size: int | Sequence[int] | None = None, dtype: dtypes.dtype | None = None,
          device: str | _Device | None = None, requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor (whatever the memory held)."""
    _check_device(device)
    return _finish(np.empty(_sizes(sizes, size, "empty"), dtype=_np_dtype(dtype)), requires_grad)


def _scalar(value):
    return value.item() if isinstance(value, Tensor) else value


def full(size: Sequence[int], fill_value: float | bool | Tensor, dtype: dtypes.dtype | None = None,
         device: str | _Device | None = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value``.

    The dtype follows the value's kind as PyTorch does: bool -> bool, int -> int64, float -> the
    default dtype (a 0-dim tensor counts as a plain number).
    """
    _check_device(device)
    value = _scalar(fill_value)
    if dtype is None:
        dtype = dtypes.result_type(value)
    return _finish(np.full(_size((size,), "full"), value, dtype=dtypes.to_numpy(dtype)), requires_grad)


def _like(input, dtype, device):
    _check_device(device)
    return input.shape, (dtypes.to_numpy(dtype) if dtype is not None else input._data.dtype)


def zeros_like(input: Tensor, dtype: dtypes.dtype | None = None, device: str | _Device | None = None,
               requires_grad: bool = False) -> Tensor:
    shape, dt = _like(input, dtype, device)
    return _finish(np.zeros(shape, dtype=dt), requires_grad)


def ones_like(input: Tensor, dtype: dtypes.dtype | None = None, device: str | _Device | None = None,
              requires_grad: bool = False) -> Tensor:
    shape, dt = _like(input, dtype, device)
    return _finish(np.ones(shape, dtype=dt), requires_grad)


def empty_like(input: Tensor, dtype: dtypes.dtype | None = None, device: str | _Device | None = None,
               requires_grad: bool = False) -> Tensor:
    shape, dt = _like(input, dtype, device)
    return _finish(np.empty(shape, dtype=dt), requires_grad)


def full_like(input: Tensor, fill_value: float | bool | Tensor, dtype: dtypes.dtype | None = None,
              device: str | _Device | None = None, requires_grad: bool = False) -> Tensor:
    """A tensor shaped like ``input`` filled with ``fill_value``; the dtype is ``input``'s unless given."""
    shape, dt = _like(input, dtype, device)
    return _finish(np.full(shape, _scalar(fill_value), dtype=dt), requires_grad)


def arange(start: float, end: float | None = None, step: float = 1, *, dtype: dtypes.dtype | None = None,
           device: str | _Device | None = None, requires_grad: bool = False) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive) by ``step``: ``arange(end)`` or ``arange(start, end, step)``.

    The dtype is int64 when all of start, end, step are integers, else the default float dtype.
    The length is ceil((end - start) / step), computed in float64 for floating dtypes (so
    ``arange(0, 1, 0.1)`` has 10 values), and after truncating the bounds and step to integers for an
    integer ``dtype`` (``arange(0, 2.5, dtype=int64)`` is [0, 1]), as in PyTorch.

    Example::

        >>> nnzoo.arange(1, 2.5, 0.5)
        tensor([1.0000, 1.5000, 2.0000])
    """
    _check_device(device)
    if end is None:
        start, end = 0, start
    start, end, step = _scalar(start), _scalar(end), _scalar(step)
    if dtype is None:
        dtype = dtypes.result_type(start, end, step)
        if dtype is dtypes.bool:
            dtype = dtypes.int64
    if dtype is dtypes.bool:
        raise RuntimeError("arange: not implemented for bool tensors")
    if not all(math.isfinite(v) for v in (start, end, step)):
        raise RuntimeError(f"arange: unsupported range: {start} -> {end} (step {step})")
    if not dtypes.from_numpy(dtypes.to_numpy(dtype)).is_floating_point:  # bfloat16 is NumPy kind "V"
        start, end, step = int(start), int(end), int(step)
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError(f"arange: upper bound and lower bound inconsistent with step sign: start={start}, "
                           f"end={end}, step={step}")
    if isinstance(step, int) and isinstance(start, int) and isinstance(end, int):
        n = -((start - end) // step)  # exact ceil((end - start) / step) for integers
        arr = start + step * np.arange(n, dtype=np.int64)
    else:
        n = math.ceil((end - start) / step)
        arr = start + step * np.arange(n, dtype=np.float64)
    return _finish(arr.astype(dtypes.to_numpy(dtype), copy=False), requires_grad)


def _steps(steps, op):
    try:
        steps = operator.index(steps)
    except TypeError:
        raise TypeError(f"{op}(): steps must be an int, got {type(steps).__name__}") from None
    if steps < 0:
        raise RuntimeError(f"{op}: number of steps must be non-negative, got {steps}")
    return steps


def linspace(start: float, end: float, steps: int, *, dtype: dtypes.dtype | None = None,
             device: str | _Device | None = None, requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive (default float dtype)."""
    _check_device(device)
    vals = np.linspace(_scalar(start), _scalar(end), _steps(steps, "linspace"))
    return _finish(vals.astype(_np_dtype(dtype)), requires_grad)


def logspace(start: float, end: float, steps: int, base: float = 10.0, *, dtype: dtypes.dtype | None = None,
             device: str | _Device | None = None, requires_grad: bool = False) -> Tensor:
    """``steps`` values ``base ** x`` for x evenly spaced from ``start`` to ``end`` inclusive."""
    _check_device(device)
    vals = base ** np.linspace(_scalar(start), _scalar(end), _steps(steps, "logspace"))
    return _finish(vals.astype(_np_dtype(dtype)), requires_grad)


def eye(n: int, m: int | None = None, *, dtype: dtypes.dtype | None = None, device: str | _Device | None = None,
        requires_grad: bool = False) -> Tensor:
    """The n x m identity matrix (m defaults to n)."""
    _check_device(device)
    m = n if m is None else m
    if n < 0 or m < 0:
        raise RuntimeError(f"eye: n and m must be non-negative, got n={n}, m={m}")
    return _finish(np.eye(n, m, dtype=_np_dtype(dtype)), requires_grad)
