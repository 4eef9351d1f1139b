"""nnzoo's dtypes and PyTorch's type-promotion rules.

A :class:`dtype` wraps a NumPy dtype. Promotion follows PyTorch, not NumPy: a float tensor combined
with an integer tensor keeps the float tensor's dtype (NumPy would widen int64 + float32 to float64),
zero-dim tensors and Python scalars only raise the *category* (bool < integer < float), never the width.

``bfloat16`` is NumPy's through ``ml_dtypes`` (the package JAX uses; ``pip install 'nnzoo[dtypes]'``): a
storage and cast dtype. Tensors can be made in it (``tensor(..., dtype=bfloat16)``, ``.to(bfloat16)``,
``.bfloat16()``, rounding to nearest even as PyTorch), printed, indexed, compared, saved and converted back
with ``.float()``; it promotes as PyTorch's (with float16 to float32, with integers to bfloat16). NOTE: nnzoo
does not compute in bfloat16: its ops are written for float16/32/64, so arithmetic on bfloat16 tensors is not
supported (some elementwise ops give bfloat16 through ml_dtypes' ufuncs, others float32 or an error) and such a
tensor cannot require grad; convert with ``.float()`` to compute. Without ml_dtypes, ``nnzoo.bfloat16`` exists
but any use of it raises an ImportError saying what to install.
"""
from __future__ import annotations

import builtins

import numpy as np

# NOTE: ml_dtypes is imported on the first use of bfloat16, not with nnzoo: its import alone takes ~0.55 s
# (measured: import nnzoo 0.85 s with it, 0.3 s without), which every `nnzoo` command and script would pay.
_ml_dtypes = None


def _load_ml_dtypes():
    """The ml_dtypes module (imported once); a clear ImportError when the optional package is missing."""
    global _ml_dtypes
    if _ml_dtypes is None:
        try:
            import ml_dtypes
        except ImportError:
            raise ImportError("nnzoo.bfloat16 needs the ml_dtypes package: pip install 'nnzoo[dtypes]' "
                              "(or pip install ml_dtypes)") from None
        _ml_dtypes = ml_dtypes
    return _ml_dtypes


class dtype:
    """A tensor element type, e.g. ``nnzoo.float32``."""

    __slots__ = ("name", "np", "is_floating_point", "is_signed", "itemsize", "category")

    def __init__(self, name: str, np_dtype: np.dtype | type | str) -> None:
        self.name = name
        self.np = np.dtype(np_dtype)
        kind = self.np.kind
        self.is_floating_point = kind == "f"
        self.is_signed = kind in "fi"
        self.itemsize = self.np.itemsize
        self.category = {"b": 0, "u": 1, "i": 1, "f": 2}[kind]

    @property
    def is_complex(self):
        return False

    def __repr__(self):
        return f"nnzoo.{self.name}"

    def __reduce__(self):
        return self.name


class _BFloat16(dtype):
    """``nnzoo.bfloat16``: a floating dtype whose NumPy dtype (ml_dtypes' bfloat16, NumPy kind "V") is
    resolved on first use; without ml_dtypes that use raises a clear ImportError."""

    __slots__ = ("_np",)

    def __init__(self) -> None:
        self.name, self.is_floating_point, self.is_signed, self.itemsize, self.category = \
            "bfloat16", True, True, 2, 2
        self._np = None

    @property
    def np(self):
        if self._np is None:
            self._np = np.dtype(_load_ml_dtypes().bfloat16)
            _FROM_NP[self._np] = self
        return self._np


float16 = dtype("float16", np.float16)
float32 = dtype("float32", np.float32)
float64 = dtype("float64", np.float64)
uint8 = dtype("uint8", np.uint8)
int8 = dtype("int8", np.int8)
int16 = dtype("int16", np.int16)
int32 = dtype("int32", np.int32)
int64 = dtype("int64", np.int64)
bool = dtype("bool", np.bool_)
bfloat16 = _BFloat16()

half, float, double = float16, float32, float64
short, int, long = int16, int32, int64

ALL = (float16, float32, float64, uint8, int8, int16, int32, int64, bool, bfloat16)
_FROM_NP = {d.np: d for d in ALL if d is not bfloat16}  # bfloat16 joins when its NumPy dtype is first resolved

_default_float = float32


def from_numpy(np_dtype):
    """The nnzoo dtype for a NumPy dtype; TypeError for dtypes nnzoo does not support."""
    try:
        return _FROM_NP[np_dtype]
    except KeyError:
        pass
    try:
        npd = np.dtype(np_dtype)
        if npd.name == "bfloat16" and npd.kind == "V":  # ml_dtypes' (already imported: an array or dtype has it)
            bfloat16.np  # noqa: B018 (resolving it registers it)
        return _FROM_NP[npd]
    except (KeyError, TypeError):
        raise TypeError(f"nnzoo does not support the NumPy dtype {np_dtype!r}; supported: "
                        + ", ".join(d.name for d in ALL)) from None


def to_numpy(d):
    """A NumPy dtype from an nnzoo dtype, a NumPy dtype, a Python type or a name."""
    if isinstance(d, dtype):
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
        if isinstance(d, dtype):
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


class finfo:
    """Machine limits of a floating point dtype (``torch.finfo``): ``bits``, ``eps``, ``max``, ``min``, ``tiny``
    (= ``smallest_normal``), ``resolution`` and ``dtype`` (its name), as Python numbers.

    Args:
        type (dtype): a floating point dtype; the default dtype when left out.

    Example::

        >>> nnzoo.finfo(nnzoo.float32).eps
        1.1920928955078125e-07
        >>> nnzoo.finfo(nnzoo.bfloat16).bits
        16
    """

    def __init__(self, type: dtype | None = None) -> None:
        d = _default_float if type is None else _as_dtype(type)
        if not d.is_floating_point:
            raise TypeError("nnzoo.finfo() requires a floating point input type. Use nnzoo.iinfo to handle "
                            f"'{d}'")
        info = _load_ml_dtypes().finfo(d.np) if d is bfloat16 else np.finfo(d.np)
        self.bits = d.itemsize * 8
        self.eps = builtins.float(info.eps)
        self.max = builtins.float(info.max)
        self.min = builtins.float(info.min)
        self.tiny = self.smallest_normal = builtins.float(info.smallest_normal)
        self.resolution = 10.0 ** -info.precision  # as torch: a power of ten (ml_dtypes gives 0.0100098)
        self.dtype = d.name

    def __repr__(self):
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, eps={self.eps:g}, "
                f"smallest_normal={self.smallest_normal:g}, tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:
    """Limits of an integer dtype (``torch.iinfo``): ``bits``, ``min``, ``max`` and ``dtype`` (its name).

    Example::

        >>> nnzoo.iinfo(nnzoo.uint8).max
        255
    """

    def __init__(self, type: dtype) -> None:
        d = _as_dtype(type)
        if d.is_floating_point:
            raise TypeError(f"nnzoo.iinfo() requires an integer input type. Use nnzoo.finfo to handle '{d}'")
        info = np.iinfo(d.np) if d is not bool else np.iinfo(np.uint8)
        self.bits, self.min, self.max, self.dtype = d.itemsize * 8, builtins.int(info.min), builtins.int(info.max), \
            d.name

    def __repr__(self):
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"


def _as_dtype(d):
    """An nnzoo dtype from a dtype, Python type (``float`` is float64 here, as torch.finfo reads it) or NumPy dtype."""
    if d is builtins.float:
        return float64
    return d if isinstance(d, dtype) else from_numpy(to_numpy(d))
