"""PyTorch's pickled types as nnzoo rebuilds them: the allowlist of ``weights_only`` loading.

A ``torch.save`` pickle names a few globals of PyTorch: ``torch._utils._rebuild_tensor_v2`` (a tensor:
storage, offset, size, stride, requires_grad), the storage classes (``torch.FloatStorage``: the dtype of a
storage), ``torch.nn.parameter.Parameter`` / ``torch._utils._rebuild_parameter``, ``torch.Size``,
``torch.device``, the dtypes (``torch.float32``), and of Python ``collections.OrderedDict`` and a few
builtins. :func:`weights_only_globals` maps exactly the names that PyTorch 2.13's ``weights_only=True``
unpickler admits (``torch/_weights_only_unpickler.py``) to nnzoo's own objects; nothing of PyTorch is
imported. Names PyTorch admits but nnzoo cannot represent (quantized, sparse, nested, meta tensors, dtypes
nnzoo lacks) are in the table too, and raise :class:`Unsupported` when a file uses them.

NOTE: one addition to PyTorch's list: NumPy arrays and scalars of numeric dtypes (``numpy.ndarray`` via
``numpy.core.multiarray._reconstruct``, ``numpy.dtype``, ``numpy.core.multiarray.scalar``, under both the
NumPy 1 and NumPy 2 module names). PyTorch admits them only after ``add_safe_globals``; here they are
rebuilt by nnzoo's code below from their bytes (never by calling NumPy's unpickling functions), and only for
bool, integer, float and complex dtypes (an array of Python objects is refused), so a ``torch.save``-d
array or ``np.float64`` score loads as NumPy, as ``torch.load`` returns it.

Example::

    >>> from nnzoo.serialization.torch_types import weights_only_globals
    >>> allowed, callables = weights_only_globals()
    >>> allowed["torch.float32"], allowed["torch.Size"]((2, 3))
    (nnzoo.float32, nnzoo.Size([2, 3]))
"""
from __future__ import annotations

import codecs
import math
from collections import Counter, OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import dtypes
from ..autograd.arrays import wrap
from ..tensor import Size, Tensor
from .unpickler import Malformed, Pending

__all__ = ["Unsupported", "StorageType", "TorchDtype", "Storage", "weights_only_globals", "torch_globals",
           "numpy_dtype", "storage_type_for", "TORCH_DTYPES", "TENSOR_REBUILDS"]


class Unsupported(Exception):
    """The file holds something ``weights_only`` admits but nnzoo has no such thing for (a complex or
    quantized tensor, a sparse one)."""


# ---- dtypes -----------------------------------------------------------------------------------------------
TORCH_DTYPES = ("float64", "float32", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8",
                "bool", "complex128", "complex64", "complex32", "uint16", "uint32", "uint64",
                "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu",
                "float4_e2m1fn_x2", "qint8", "quint8", "qint32", "quint4x2", "quint2x4",
                "bits1x8", "bits2x4", "bits4x2", "bits8", "bits16",
                *(f"uint{i}" for i in range(1, 8)), *(f"int{i}" for i in range(1, 8)))
_NUMPY_NAMES = {"float64", "float32", "float16", "int64", "int32", "int16", "int8", "uint8", "bool",
                "complex128", "complex64", "uint16", "uint32", "uint64"}
_ML_DTYPES_NAMES = {"bfloat16", "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz",
                    "float8_e8m0fnu"}


def numpy_dtype(name: str) -> np.dtype | None:
    """The NumPy dtype holding torch dtype ``name``'s values (bfloat16 and float8 via ml_dtypes), or None."""
    if name in _NUMPY_NAMES:
        return np.dtype(name)
    if name in _ML_DTYPES_NAMES:
        try:
            import ml_dtypes
        except ImportError:  # pragma: no cover - ml_dtypes is a dependency
            return None
        found = getattr(ml_dtypes, name, None)
        return None if found is None else np.dtype(found)
    return None


class TorchDtype:
    """A torch dtype that nnzoo has no dtype for (``torch.complex64``): kept by name, so that a file holding
    one (as a value, not a tensor) loads and saves back unchanged."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"torch.{self.name}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TorchDtype) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("TorchDtype", self.name))


def _dtype_object(name: str) -> Any:
    d = getattr(dtypes, name, None)
    return d if isinstance(d, dtypes.dtype) and d.name == name else TorchDtype(name)


def _dtype_name(d: Any) -> str:
    if isinstance(d, (dtypes.dtype, TorchDtype)):
        return d.name
    raise Malformed(f"expected a dtype, got {type(d).__name__}")


# ---- storages ---------------------------------------------------------------------------------------------
_STORAGES = {"Double": "float64", "Float": "float32", "Half": "float16", "Long": "int64", "Int": "int32",
             "Short": "int16", "Char": "int8", "Byte": "uint8", "Bool": "bool", "BFloat16": "bfloat16",
             "ComplexDouble": "complex128", "ComplexFloat": "complex64", "QInt8": "qint8", "QInt32": "qint32",
             "QUInt8": "quint8", "QUInt4x2": "quint4x2", "QUInt2x4": "quint2x4"}
_CUDA_STORAGES = ("BFloat16", "Bool", "Byte", "Char", "ComplexDouble", "ComplexFloat", "Double", "Float",
                  "Half", "Int", "Long", "Short")
_TENSOR_CLASSES = ("BFloat16", "Bool", "Byte", "Char", "Double", "Float", "Half", "Int", "Long", "Short")


class StorageType:
    """``torch.FloatStorage`` and friends: the dtype of a storage's elements (``torch.storage.UntypedStorage``:
    bytes, whose dtype the tensor gives)."""

    __slots__ = ("name", "dtype_name", "untyped")

    def __init__(self, name: str, dtype_name: str | None) -> None:
        self.name, self.dtype_name, self.untyped = name, dtype_name or "uint8", dtype_name is None

    def __repr__(self) -> str:
        return f"torch.{self.name}"


_STORAGE_TYPES = {k + "Storage": StorageType(k + "Storage", v) for k, v in _STORAGES.items()}
_UNTYPED = StorageType("UntypedStorage", None)
_BY_DTYPE = {t.dtype_name: t for t in _STORAGE_TYPES.values()}


def storage_type_for(dtype_name: str) -> StorageType:
    """The storage class ``torch.save`` names for a tensor of this dtype (``UntypedStorage`` for the dtypes
    that have no legacy storage class, which then go through ``_rebuild_tensor_v3``)."""
    return _BY_DTYPE.get(dtype_name, _UNTYPED)


class Storage:
    """One storage of a file (``archive/data/<key>``) as a tensor's rebuild sees it. ``fetch(key, nbytes)``
    returns its bytes, read once per key (``Storage`` objects of one key share them, so views of one
    storage share memory after loading, as in PyTorch)."""

    __slots__ = ("type", "key", "numel", "_fetch")

    def __init__(self, storage_type: StorageType, key: str, numel: int,
                 fetch: Callable[[str, int, np.dtype], np.ndarray]) -> None:
        if type(numel) is not int or numel < 0:
            raise Malformed(f"storage {key!r} has a bad size {numel!r:.40}")
        self.type, self.key, self.numel, self._fetch = storage_type, key, numel, fetch

    def elements(self, dtype_name: str) -> np.ndarray:
        """The storage as a flat, writable array of ``dtype_name``."""
        np_dtype = numpy_dtype(dtype_name)
        if np_dtype is None:
            raise Unsupported(f"a tensor of dtype torch.{dtype_name}, which nnzoo has no dtype for")
        if self.type.untyped:
            nbytes = self.numel
            if nbytes % np_dtype.itemsize:
                raise Malformed(f"storage {self.key!r} holds {nbytes} bytes, not a whole number of "
                                f"{dtype_name} elements")
        else:
            nbytes = self.numel * np_dtype.itemsize
        return self._fetch(self.key, nbytes, np_dtype)


# ---- tensors ----------------------------------------------------------------------------------------------
def _ints(x: Any, what: str) -> tuple[int, ...]:
    if not isinstance(x, (tuple, list)) or not all(type(i) is int and i >= 0 for i in x):
        raise Malformed(f"a tensor's {what} is not a sequence of non-negative ints: {x!r:.80}")
    return tuple(x)


def _tensor(storage: Any, offset: Any, size: Any, stride: Any, requires_grad: Any, dtype_name: str) -> Tensor:
    if not isinstance(storage, Storage):
        raise Malformed(f"a tensor's storage is a {type(storage).__name__}")
    if type(offset) is not int or offset < 0:
        raise Malformed(f"a tensor's storage offset is {offset!r:.40}")
    size, stride = _ints(size, "size"), _ints(stride, "stride")
    if len(size) != len(stride):
        raise Malformed(f"a tensor's size {size} and stride {stride} differ in length")
    flat = storage.elements(dtype_name)
    try:
        nn_dtype = dtypes.from_numpy(flat.dtype)
    except TypeError:
        raise Unsupported(f"a tensor of dtype torch.{dtype_name}, which nnzoo has no dtype for") from None
    if 0 in size:
        arr = np.empty(size, dtype=flat.dtype)
    else:
        last = offset + sum((n - 1) * s for n, s in zip(size, stride))
        if last >= flat.size:
            raise Malformed(f"a tensor of size {size} and stride {stride} at offset {offset} reads past the end "
                            f"of its storage ({flat.size} elements)")
        numel = math.prod(size)
        contiguous = [math.prod(size[i + 1:]) for i in range(len(size))]
        if all(n == 1 or s == c for n, s, c in zip(size, stride, contiguous)):
            arr = flat[offset:offset + numel].reshape(size)  # a view: shares the storage
        else:
            item = flat.dtype.itemsize
            arr = np.lib.stride_tricks.as_strided(flat[offset:], shape=size,
                                                  strides=tuple(s * item for s in stride))
    t = wrap(arr)
    if requires_grad is True:
        if not nn_dtype.is_floating_point:
            raise Malformed(f"an integer tensor ({nn_dtype}) saved with requires_grad=True")
        t.requires_grad_(True)
    return t


def _rebuild_tensor(storage, storage_offset, size, stride):
    return _tensor(storage, storage_offset, size, stride, False, _storage_dtype(storage))


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks, metadata=None):
    _no_metadata(metadata)
    return _tensor(storage, storage_offset, size, stride, requires_grad, _storage_dtype(storage))


def _rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype, metadata=None):
    _no_metadata(metadata)
    return _tensor(storage, storage_offset, size, stride, requires_grad, _dtype_name(dtype))


def _storage_dtype(storage: Any) -> str:
    if not isinstance(storage, Storage):
        raise Malformed(f"a tensor's storage is a {type(storage).__name__}")
    return storage.type.dtype_name


def _no_metadata(metadata: Any) -> None:
    if metadata:  # the conjugate / negative bits of a complex view
        raise Unsupported(f"a tensor with metadata {metadata!r:.80} (a conjugate or negated view)")


def _parameter(data: Any = None, requires_grad: Any = True) -> Tensor:
    from ..nn.parameter import Parameter
    if data is None:
        return Parameter()
    if not isinstance(data, Tensor):
        raise Malformed(f"a Parameter of a {type(data).__name__}")
    return Parameter(data, requires_grad=requires_grad is True)


def _rebuild_parameter(data, requires_grad, backward_hooks):
    return _parameter(data, requires_grad)


def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    if state:
        raise Unsupported("a Parameter with Python attributes")
    return _parameter(data, requires_grad)


def _rebuild_device_tensor_from_cpu_tensor(data, dtype, device, requires_grad):
    if not isinstance(data, Tensor):
        raise Malformed(f"a device tensor of a {type(data).__name__}")
    if data.dtype is not dtype:
        raise Unsupported(f"a device tensor stored as {data.dtype} for dtype {dtype}")
    return data.requires_grad_(True) if requires_grad is True else data


def _rebuild_from_type_v2(func, new_type, args, state):
    if not any(func is f for f in TENSOR_REBUILDS) or not isinstance(args, tuple):
        raise Malformed(f"_rebuild_from_type_v2 with {func!r:.60}")
    if new_type is not _TENSOR and new_type is not _parameter:
        raise Unsupported(f"a tensor subclass {new_type!r:.60}")
    if state:
        raise Unsupported("a tensor with Python attributes")
    out = func(*args)
    if new_type is _parameter and not _is_parameter(out):
        out = _parameter(out, out.requires_grad)
    return out


def _is_parameter(t: Any) -> bool:
    from ..nn.parameter import Parameter
    return isinstance(t, Parameter)


def _unsupported(kind: str) -> Callable[..., Any]:
    def rebuild(*args: Any) -> Any:
        raise Unsupported(f"a {kind}, which nnzoo has no such tensor for")
    rebuild.__name__ = rebuild.__qualname__ = f"_rebuild_{kind.replace(' ', '_')}"
    return rebuild


TENSOR_REBUILDS = (_rebuild_tensor, _rebuild_tensor_v2, _rebuild_tensor_v3, _rebuild_parameter,
                   _rebuild_parameter_with_state, _rebuild_device_tensor_from_cpu_tensor)


class _Marker:
    """An allowed global that a pickle may name but never call (``torch.Tensor``, ``torch.FloatTensor``, a
    quantization scheme)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


_TENSOR = _Marker("torch.Tensor")


# ---- the other allowed globals -----------------------------------------------------------------------------
def _device(spec: Any, index: Any = None) -> Any:
    if not isinstance(spec, str) or (index is not None and type(index) is not int):
        raise Malformed(f"torch.device({spec!r:.40}, {index!r:.20})")
    import nnzoo
    device = getattr(nnzoo, "device", None)
    if device is None:  # nnzoo without a device type: the device's name
        return spec if index is None else f"{spec}:{index}"
    return device(spec) if index is None else device(spec, index)


def _size(dims: Any = ()) -> Size:
    return Size(_ints(dims, "torch.Size"))


def _encode(obj: Any, encoding: Any = "utf-8") -> bytes:
    """``_codecs.encode`` as protocol-2 pickles use it for bytes: a str and a text encoding."""
    if not isinstance(obj, str) or encoding not in ("latin1", "latin-1", "utf-8", "utf8", "ascii"):
        raise Malformed(f"_codecs.encode({type(obj).__name__}, {encoding!r:.20})")
    return codecs.encode(obj, encoding)


def _bytearray(source: Any = b"", encoding: Any = None) -> bytearray:
    if isinstance(source, str) and isinstance(encoding, str):
        return bytearray(_encode(source, encoding))
    if isinstance(source, (bytes, bytearray)) and encoding is None:
        return bytearray(source)
    raise Malformed(f"bytearray({type(source).__name__})")


def _get_layout(name: Any) -> Any:
    return _Marker(f"torch.{name}")


# ---- NumPy arrays and scalars (see the NOTE above) ---------------------------------------------------------
def _numeric(dt: Any) -> np.dtype:
    if not isinstance(dt, np.dtype) or dt.kind not in "biufc" or dt.fields is not None or dt.subdtype is not None:
        raise Unsupported(f"a NumPy array or scalar of dtype {dt!r:.40} (only bool, integer, float and complex "
                          "NumPy values load with weights_only)")
    return dt


class _PendingDtype(Pending):
    def __init__(self, dt: np.dtype) -> None:
        self.dt = dt

    def finish(self, state: Any) -> np.dtype:
        if not isinstance(state, tuple) or len(state) < 5 or state[1] not in ("<", ">", "|", "=") \
                or any(s is not None for s in state[2:5]):
            raise Unsupported(f"a NumPy dtype with state {state!r:.80}")
        return self.dt.newbyteorder(state[1]) if state[1] in "<>" else self.dt


def _np_dtype(spec: Any, align: Any = False, copy: Any = False) -> _PendingDtype:
    if not isinstance(spec, str) or len(spec) > 8:
        raise Malformed(f"numpy.dtype({spec!r:.40})")
    try:
        dt = np.dtype(spec)
    except TypeError:
        raise Malformed(f"numpy.dtype({spec!r:.40})") from None
    return _PendingDtype(_numeric(dt))


def _raw_bytes(raw: Any) -> bytes:
    if isinstance(raw, str):
        return raw.encode("latin-1")
    if isinstance(raw, (bytes, bytearray)):
        return bytes(raw)
    raise Unsupported("a NumPy array of Python objects")


class _PendingArray(Pending):
    def finish(self, state: Any) -> np.ndarray:
        if isinstance(state, tuple) and len(state) == 5:
            state = state[1:]
        if not isinstance(state, tuple) or len(state) != 4:
            raise Malformed(f"a NumPy array's state {state!r:.80}")
        shape, dt, fortran, raw = state
        shape, dt, raw = _ints(shape, "NumPy shape"), _numeric(dt), _raw_bytes(raw)
        if len(raw) != math.prod(shape) * dt.itemsize:
            raise Malformed(f"a NumPy array of shape {shape} and dtype {dt} with {len(raw)} bytes of data")
        arr = np.frombuffer(raw, dtype=dt).reshape(shape, order="F" if fortran is True else "C")
        return arr.astype(dt.newbyteorder("="), order="K")  # a copy, in native byte order as NumPy unpickles it


def _np_reconstruct(cls: Any, shape: Any = (0,), typecode: Any = b"b") -> _PendingArray:
    if cls is not _NDARRAY:
        raise Unsupported(f"a NumPy array subclass {cls!r:.60}")
    return _PendingArray()


def _np_scalar(dt: Any, data: Any = None) -> Any:
    dt = _numeric(dt)
    raw = _raw_bytes(data)
    if len(raw) != dt.itemsize:
        raise Malformed(f"a NumPy {dt} scalar of {len(raw)} bytes")
    return np.frombuffer(raw, dtype=dt)[0]


_NDARRAY = _Marker("numpy.ndarray")


# ---- the tables ---------------------------------------------------------------------------------------------
def torch_globals() -> dict[str, Any]:
    """PyTorch 2.13's ``weights_only`` allowlist, by name, mapped to nnzoo's objects."""
    table: dict[str, Any] = {
        "collections.OrderedDict": OrderedDict, "collections.Counter": Counter,
        "torch.nn.parameter.Parameter": _parameter, "torch.serialization._get_layout": _get_layout,
        "torch.Size": _size, "torch.Tensor": _TENSOR, "torch.device": _device, "_codecs.encode": _encode,
        "builtins.bytearray": _bytearray, "builtins.set": set, "builtins.complex": complex,
        "torch._tensor._rebuild_from_type_v2": _rebuild_from_type_v2,
        "torch.storage.UntypedStorage": _UNTYPED, "torch.storage.TypedStorage": _Marker("torch.storage.TypedStorage"),
    }
    for name in TORCH_DTYPES:
        table[f"torch.{name}"] = _dtype_object(name)
    for t in _STORAGE_TYPES.values():
        table[f"torch.{t.name}"] = t
    for k in _CUDA_STORAGES:  # a CUDA storage loads on the CPU, the only device nnzoo has
        table[f"torch.cuda.{k}Storage"] = _STORAGE_TYPES[k + "Storage"]
    for prefix in ("torch", "torch.cuda"):
        for k in _TENSOR_CLASSES:
            table[f"{prefix}.{k}Tensor"] = _Marker(f"{prefix}.{k}Tensor")
        for k in _TENSOR_CLASSES[:1] + _TENSOR_CLASSES[2:]:
            table[f"{prefix}.sparse.{k}Tensor"] = _Marker(f"{prefix}.sparse.{k}Tensor")
    for q in ("per_tensor_affine", "per_tensor_symmetric", "per_channel_affine", "per_channel_symmetric",
              "per_channel_affine_float_qparams"):
        table[f"torch.{q}"] = _Marker(f"torch.{q}")
    for f in TENSOR_REBUILDS:
        table[f"torch._utils.{f.__name__}"] = f
    for kind in ("qtensor", "sparse tensor", "meta tensor no storage", "nested tensor", "wrapper subclass",
                 "device tensor from numpy"):
        f = _unsupported(kind)
        table[f"torch._utils.{f.__name__}"] = f
    return table


def numpy_globals() -> dict[str, Any]:
    """The NumPy reconstructors nnzoo admits in addition (see the NOTE in the module docstring)."""
    table: dict[str, Any] = {"numpy.ndarray": _NDARRAY, "numpy.dtype": _np_dtype}
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        table[f"{module}._reconstruct"] = _np_reconstruct
        table[f"{module}.scalar"] = _np_scalar
    return table


def weights_only_globals() -> tuple[dict[str, Any], list[Any]]:
    """``(allowed, callables)`` for :class:`~nnzoo.serialization.unpickler.SafeUnpickler`: every name
    ``weights_only`` loading admits, and the objects among them a pickle may call."""
    allowed = {**torch_globals(), **numpy_globals()}
    callables = [v for v in allowed.values() if callable(v) and not isinstance(v, (_Marker, StorageType))]
    return allowed, callables
