"""nnzoo's dtypes and PyTorch's type-promotion rules.

A :class:`dtype` wraps a NumPy dtype. Promotion follows PyTorch, not NumPy: a float tensor combined
with an integer tensor keeps the float tensor's dtype (NumPy would widen int64 + float32 to float64),
zero-dim tensors and Python scalars only raise the *category* (bool < integer < float), never the width.
"""
from __future__ import annotations

import builtins

import numpy as np


class dtype:
    """A tensor element type, e.g. ``nnzoo.float32``."""

    __slots__ = ("name", "np", "is_floating_point", "is_signed", "itemsize", "category")

    def __init__(self, name: str, np_dtype: np.dtype | type | str) -> None:
        self.name = name
        self.np = np.dtype(np_dtype)
        self.is_floating_point = self.np.kind == "f"
        self.is_signed = self.np.kind in "fi"
        self.itemsize = self.np.itemsize
        self.category = {"b": 0, "u": 1, "i": 1, "f": 2}[self.np.kind]

    @property
    def is_complex(self):
        return False

    def __repr__(self):
        return f"nnzoo.{self.name}"

    def __reduce__(self):
        return self.name


float16 = dtype("float16", np.float16)
float32 = dtype("float32", np.float32)
float64 = dtype("float64", np.float64)
uint8 = dtype("uint8", np.uint8)
int8 = dtype("int8", np.int8)
int16 = dtype("int16", np.int16)
int32 = dtype("int32", np.int32)
int64 = dtype("int64", np.int64)
bool = dtype("bool", np.bool_)

half, float, double = float16, float32, float64
short, int, long = int16, int32, int64

ALL = (float16, float32, float64, uint8, int8, int16, int32, int64, bool)
_FROM_NP = {d.np: d for d in ALL}

_default_float = float32


def from_numpy(np_dtype):
    """The nnzoo dtype for a NumPy dtype; TypeError for dtypes nnzoo does not support."""
    try:
        return _FROM_NP[np_dtype]
    except KeyError:
        pass
    try:
        return _FROM_NP[np.dtype(np_dtype)]
    except (KeyError, TypeError):
        raise TypeError(f"nnzoo does not support the NumPy dtype {np_dtype!r}; supported: "
                        + ", ".join(d.name for d in ALL)) from None


def to_numpy(d):
    """A NumPy dtype from an nnzoo dtype, a NumPy dtype, a Python type or a name."""
    if type(d) is dtype:
        return d.np
    if d is None:
        return None
    if d is builtins.float:
        return _default_float.np
    if d is builtins.int:
        return np.dtype(np.int64)
    if d is builtins.bool:
        return np.dtype(np.bool_)
    return from_numpy(d).np


def get_default_dtype() -> dtype:
    return _default_float


def set_default_dtype(d: dtype) -> None:
    """Set the dtype of tensors made from Python floats (float32 or float64)."""
    global _default_float
    if d not in (float16, float32, float64):
        raise TypeError(f"set_default_dtype: only floating point dtypes are allowed, got {d}")
    _default_float = d


def promote_types(a: dtype, b: dtype) -> dtype:
    """The dtype two tensors of dtypes ``a`` and ``b`` combine into (PyTorch's rule)."""
    if a is b:
        return a
    if a.category != b.category:
        return a if a.category > b.category else b
    return _FROM_NP[np.promote_types(a.np, b.np)]


def _scalar_category(x):
    if isinstance(x, (builtins.bool, np.bool_)):
        return 0
    if isinstance(x, (builtins.int, np.integer)):
        return 1
    if isinstance(x, (builtins.float, np.floating)):
        return 2
    raise TypeError(f"expected a Tensor or a Python number, got {type(x).__name__}")


_DEFAULT_FOR_CATEGORY = {0: lambda: bool, 1: lambda: int64, 2: lambda: _default_float}


def result_type(*operands):
    """The dtype an op over tensors and Python scalars produces, following PyTorch.

    Dimensioned tensors decide first; zero-dim tensors, then Python scalars, only change the result
    when they belong to a higher category (bool < integer < float), and then with their own dtype
    (zero-dim) or the default dtype of that category (scalars).
    """
    dim_t = zero_t = None
    scalar_cat = -1
    for x in operands:
        d = getattr(x, "dtype", None)
        if type(d) is dtype:
            if x.ndim:
                dim_t = d if dim_t is None else promote_types(dim_t, d)
            else:
                zero_t = d if zero_t is None else promote_types(zero_t, d)
        else:
            scalar_cat = max(scalar_cat, _scalar_category(x))
    res = dim_t
    if zero_t is not None and (res is None or zero_t.category > res.category):
        res = zero_t
    if scalar_cat >= 0 and (res is None or scalar_cat > res.category):
        res = _DEFAULT_FOR_CATEGORY[scalar_cat]()
    return res
