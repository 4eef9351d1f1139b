"""PyTorch's ``.pt`` files, read and written without PyTorch.

The zip format (``torch.save`` since PyTorch 1.6), an uncompressed zip archive whose entries sit in one
folder (``archive/``):

* ``data.pkl``: the object, pickled (protocol 2); each tensor is a call of ``torch._utils._rebuild_tensor_v2``
  with (storage, storage offset, size, stride, requires_grad, hooks), its storage a *persistent id*
  ``("storage", torch.FloatStorage, key, location, numel)``;
* ``data/<key>``: each storage's bytes, raw, in the byte order of ``byteorder`` (``little``/``big``);
* ``version`` (``3``), ``.format_version``, ``.storage_alignment`` (storages start at multiples of 64
  bytes in the file, padded in the zip's extra field), ``.data/serialization_id``.

The legacy format (``_use_new_zipfile_serialization=False``, before 1.6) is a run of pickles in one file: a
magic number, a protocol version, a dict of system information, the object (storages as persistent ids
``("storage", type, key, location, numel, view)``), the list of storage keys, then each storage as a
little-endian int64 element count and its bytes.

:func:`load` reads both with :class:`~nnzoo.serialization.unpickler.SafeUnpickler` and the allowlist of
:mod:`~nnzoo.serialization.torch_types` (``weights_only=True``), or with Python's unpickler, PyTorch's names
mapped to nnzoo's (``weights_only=False``: for trusted files only). :func:`save` writes the zip format.

Example::

    >>> import io
    >>> from nnzoo.serialization import pt
    >>> buf = io.BytesIO()
    >>> pt.save({"w": nnzoo.arange(3.0)}, buf)
    >>> pt.load(buf.getvalue(), weights_only=True)
    {'w': tensor([0., 1., 2.])}
"""
from __future__ import annotations

import io
import os
import pickle
import struct
import sys
import zipfile
import zlib
from collections import OrderedDict
from typing import Any, BinaryIO

import numpy as np

from .. import dtypes
from ..autograd.arrays import array
from ..tensor import Size, Tensor
from .torch_modules import is_torch_module_state, resolve, set_module_state
from .torch_types import (
    Storage,
    StorageType,
    TorchDtype,
    Unsupported,
    numpy_dtype,
    storage_type_for,
    torch_globals,
    weights_only_globals,
)
from .unpickler import Malformed, Refused, SafeUnpickler
from .user_globals import user_allowed_globals

__all__ = ["load", "save", "kind_of", "MAGIC_NUMBER"]

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C  # the legacy format's first pickle
_PROTOCOL_VERSION = 1001
_ALIGNMENT = 64
_PT_VERSION = b"3\n"
# the legacy format starts with MAGIC_NUMBER pickled as LONG1 (after PROTO, and FRAME from protocol 4)
_LEGACY_START = b"\x8a\x0a" + MAGIC_NUMBER.to_bytes(10, "little")


def kind_of(start: bytes, names: list[str] | None) -> str | None:
    """``"zip"`` for torch.save's zip format (``names``: the zip's entry names), ``"legacy"`` for the legacy
    format, ``"torchscript"`` for a ``torch.jit.save`` archive, None for anything else; from the first bytes."""
    if start.startswith(b"PK\x03\x04") and names is not None:
        parts = [n.split("/") for n in names]
        if not any(p[-1] == "data.pkl" for p in parts):
            return None
        if any(p[-1] == "constants.pkl" or "code" in p[:-1] for p in parts):
            return "torchscript"
        return "zip"
    if len(start) >= 2 and start[0] == 0x80 and 2 <= start[1] <= 5 and _LEGACY_START in start[2:24]:
        return "legacy"
    return None


# ---- reading --------------------------------------------------------------------------------------------
def _unpickle(data: bytes | BinaryIO, weights_only: bool, persistent_load) -> Any:
    if weights_only:
        allowed, callables = weights_only_globals()
        user = user_allowed_globals()  # outside load(): a bad entry's ValueError/TypeError reaches the caller
        try:
            return SafeUnpickler(data, allowed, callables, persistent_load, user_allowed=user,
                                 resolve=_marked_torch_global, build=_build_module).load()
        except Refused as e:
            raise _explained(e) from None
    raw = data if isinstance(data, bytes) else data.getvalue()
    f = io.BytesIO(data) if isinstance(data, bytes) else data
    if _TORCH_MODULE_MARK in raw:
        return _TorchModuleUnpickler(f, persistent_load).load()
    return _TrustedUnpickler(f, persistent_load).load()


# a pickled torch.nn.Module's __dict__ holds this key; nnzoo's modules do not have it
_TORCH_MODULE_MARK = b"_backward_hooks"


def _marked_torch_global(module: str, name: str) -> Any:
    """``weights_only``: nnzoo's object for a ``torch.*`` global (in nnzoo's modules already imported), so
    that marking ``nnzoo.nn.Linear`` safe admits ``torch.nn.modules.linear.Linear``, as marking PyTorch's
    class does in PyTorch (``torch.nn.Linear`` is nnzoo's under ``nnzoo run``)."""
    if module != "torch" and not module.startswith("torch."):
        return None
    return resolve(module, name, import_modules=False)


def _build_module(inst: Any, state: Any) -> bool:
    """``BUILD`` of an nnzoo module from the state ``torch.save`` wrote (True when done here)."""
    if is_torch_module_state(inst, state):
        set_module_state(inst, state)
        return True
    return False


def _explained(e: Refused) -> Refused:
    """A refused ``torch.*`` class that nnzoo has (a whole pickled PyTorch model): say how it loads."""
    if e.why or not e.name.startswith("torch."):
        return e
    module, _, name = e.name.rpartition(".")
    obj = resolve(module, name, import_modules=False)
    if obj is None or not isinstance(obj, type):
        return e
    return Refused(e.name, f"it is a class of a whole pickled PyTorch model, which nnzoo rebuilds as "
                           f"{obj.__module__}.{obj.__qualname__} with weights_only=False, as torch.load does, or "
                           f"with weights_only=True once its classes are marked safe (nnzoo.serialization."
                           f"add_safe_globals([{obj.__qualname__}, ...]) or safe_globals([...]))")


class _TorchNames:
    """``weights_only=False``: PyTorch's names mapped to nnzoo's objects, for Python's unpicklers: the tensors,
    storages, dtypes, sizes and devices of the allowlist, and any other ``torch.*`` global through
    :func:`~nnzoo.serialization.torch_modules.resolve` (its namesake under ``nnzoo``); a PyTorch global nnzoo
    has no counterpart for is refused, naming it. Every other global is imported as Python's unpickler does."""

    _table: dict[str, Any] | None = None

    def _setup(self, persistent_load) -> None:
        self._pl = persistent_load
        if _TorchNames._table is None:
            _TorchNames._table = torch_globals()

    def find_class(self, module: str, name: str) -> Any:
        full = f"{module}.{name}"
        if full in self._table:
            return self._table[full]
        if module == "torch" or module.startswith("torch."):
            found = resolve(module, name)
            if found is None:
                raise Unsupported(f"a PyTorch object ({full}) that nnzoo has no equivalent for (nnzoo rebuilds "
                                  "PyTorch's tensors, and its classes and functions that nnzoo has under the "
                                  "same name: save the model's state_dict in PyTorch and load that into an "
                                  "nnzoo model)")
            return found
        return super().find_class(module, name)

    def persistent_load(self, pid: Any) -> Any:
        return self._pl(pid)


class _TrustedUnpickler(_TorchNames, pickle.Unpickler):
    """``weights_only=False``: Python's unpickler (it imports and runs what the file names), with PyTorch's
    names mapped to nnzoo's (:class:`_TorchNames`)."""

    def __init__(self, file: BinaryIO, persistent_load) -> None:
        super().__init__(file, encoding="utf-8")
        self._setup(persistent_load)


class _TorchModuleUnpickler(_TorchNames, pickle._Unpickler):
    """:class:`_TrustedUnpickler` for a pickle that holds PyTorch modules: the ``BUILD`` of an nnzoo module from
    PyTorch's ``__dict__`` goes through :func:`~nnzoo.serialization.torch_modules.set_module_state`.

    NOTE: Python's pure-Python unpickler (``pickle._Unpickler``, the one whose opcodes a subclass can take
    over): it unpickled a 9 MB pickle 3.3x slower than the C one (0.46 s against 0.14 s), and is used only
    for a pickle in which a PyTorch module's fields appear (a model's pickle is small: the tensors' data
    are outside it)."""

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, file: BinaryIO, persistent_load) -> None:
        super().__init__(file, encoding="utf-8")
        self._setup(persistent_load)

    def load_build(self) -> None:
        if len(self.stack) > 1 and _build_module(self.stack[-2], self.stack[-1]):
            self.stack.pop()
            return
        super().load_build()

    dispatch[pickle.BUILD[0]] = load_build


def _storage_id(pid: Any, n: int) -> tuple[StorageType, str, int]:
    if not isinstance(pid, tuple) or len(pid) != n or pid[0] not in ("storage", b"storage"):
        raise Malformed(f"a persistent id that is not a storage: {pid!r:.80}")
    storage_type, key, _location, numel = pid[1:5]
    if not isinstance(storage_type, StorageType) or not isinstance(key, str):
        raise Malformed(f"a bad storage id {pid!r:.80}")
    return storage_type, key, numel


class _Storages:
    """The storages of one file: their bytes read once per key, typed views of them shared."""

    def __init__(self, read_bytes, big_endian: bool) -> None:
        self._read_bytes = read_bytes  # (key, nbytes) -> writable uint8 array
        self._big = big_endian
        self._raw: dict[str, np.ndarray] = {}
        self._typed: dict[tuple[str, str, int], np.ndarray] = {}

    def fetch(self, key: str, nbytes: int, dtype: np.dtype) -> np.ndarray:
        raw = self._raw.get(key)
        if raw is None:
            raw = self._raw[key] = self._read_bytes(key, nbytes)
        if raw.size < nbytes:
            raise Malformed(f"storage {key!r} is used with {nbytes} bytes but holds {raw.size}")
        raw = raw[:nbytes]
        if self._big == (sys.byteorder == "little") and dtype.itemsize > 1:
            # NOTE: a file of the other byte order is converted on load; its views then stop sharing memory
            cached = self._typed.get((key, dtype.str, nbytes))
            if cached is None:
                swapped = dtype.newbyteorder(">" if self._big else "<")
                cached = self._typed[(key, dtype.str, nbytes)] = raw.view(swapped).astype(dtype)
            return cached
        return raw.view(dtype)


def _local_data_offset(fh: BinaryIO, info: zipfile.ZipInfo) -> int:
    fh.seek(info.header_offset)
    head = fh.read(30)
    if len(head) != 30 or head[:4] != b"PK\x03\x04":
        raise Malformed(f"a bad zip entry header for {info.filename!r}")
    name_len, extra_len = struct.unpack("<HH", head[26:30])
    return info.header_offset + 30 + name_len + extra_len


def _load_zip(z: zipfile.ZipFile, fh: BinaryIO | None, weights_only: bool, verify: bool) -> Any:
    names = z.namelist()
    prefix = next((n[:-len("data.pkl")] for n in names if n.endswith("data.pkl") and n.count("/") == 1), None)
    if prefix is None:
        raise Malformed("no <archive>/data.pkl in the zip")
    order = z.read(prefix + "byteorder") if prefix + "byteorder" in names else b"little"
    if order not in (b"little", b"big"):
        raise Malformed(f"unknown byte order {order!r:.20}")

    def read_bytes(key: str, nbytes: int) -> np.ndarray:
        try:
            info = z.getinfo(f"{prefix}data/{key}")
        except KeyError:
            raise Malformed(f"the pickle refers to storage {key!r}, which is not in the archive") from None
        if info.file_size != nbytes:
            raise Malformed(f"storage {key!r} holds {info.file_size} bytes where its tensors need {nbytes}")
        if info.compress_type != zipfile.ZIP_STORED or fh is None:
            return np.frombuffer(bytearray(z.read(info)), dtype=np.uint8)  # zipfile checks the CRC-32
        out = np.empty(nbytes, dtype=np.uint8)
        fh.seek(_local_data_offset(fh, info))
        if fh.readinto(memoryview(out)) != nbytes:
            raise Malformed(f"storage {key!r} is truncated")
        if verify and zlib.crc32(out) != info.CRC:
            raise Malformed(f"the data of storage {key!r} does not match its CRC-32 (changed bytes on disk or "
                            "in a copy)")
        return out

    storages = _Storages(read_bytes, order == b"big")

    def persistent_load(pid: Any) -> Storage:
        storage_type, key, numel = _storage_id(pid, 5)
        return Storage(storage_type, key, numel, storages.fetch)

    return _unpickle(z.read(prefix + "data.pkl"), weights_only, persistent_load)


def _load_legacy(data: bytes, weights_only: bool) -> Any:
    f = io.BytesIO(data)
    plain = SafeUnpickler(f, {}, [])  # the header pickles hold numbers, strings, dicts
    if plain.load() != MAGIC_NUMBER:
        raise Malformed("not a legacy torch.save file (bad magic number)")
    if plain.load() != _PROTOCOL_VERSION:
        raise Malformed("an unknown legacy protocol version")
    info = plain.load()
    big = isinstance(info, dict) and info.get("little_endian") is False
    # The storages' bytes follow the object: the tensors are made over empty buffers, filled afterwards.
    buffers: dict[str, np.ndarray] = {}
    types: dict[str, StorageType] = {}

    def empty(key: str, nbytes: int) -> np.ndarray:
        if nbytes > len(data):
            raise Malformed(f"storage {key!r} is larger than the file")
        buffers[key] = np.empty(nbytes, dtype=np.uint8)
        return buffers[key]

    storages = _Storages(empty, False)  # _Storages asks once per key

    def persistent_load(pid: Any) -> Any:
        if isinstance(pid, tuple) and pid[:1] in (("module",), (b"module",)) and not weights_only:
            return pid[1]  # a whole module saved with its source code: the class
        storage_type, key, numel = _storage_id(pid, 6)
        if types.setdefault(key, storage_type) is not storage_type:
            raise Malformed(f"storage {key!r} is used with two dtypes")
        return _legacy_storage(pid, storage_type, key, numel, storages.fetch)

    obj = _unpickle(f, weights_only, persistent_load)
    keys = plain.load()
    if not isinstance(keys, list) or not set(types) <= set(keys):
        raise Malformed("the storage list does not hold the storages the object uses")
    pos = f.tell()
    for key in keys:
        if pos + 8 > len(data):
            raise Malformed("the file ends before its storages")
        count = int.from_bytes(data[pos:pos + 8], "little", signed=True)
        item = _itemsize(types[key]) if key in types else 1
        end = pos + 8 + count * item
        if count < 0 or end > len(data):
            raise Malformed(f"storage {key!r} is truncated")
        buf = buffers.get(key)
        if buf is not None:
            if buf.size != count * item:
                raise Malformed(f"storage {key!r} holds {count * item} bytes where its tensors need {buf.size}")
            buf[:] = np.frombuffer(data, dtype=np.uint8, count=buf.size, offset=pos + 8)
            if big == (sys.byteorder == "little") and item > 1:  # NOTE: the other byte order, swapped in place
                buf.view(np.dtype(f"u{item}")).byteswap(inplace=True)
        pos = end
    return obj


def _itemsize(storage_type: StorageType) -> int:
    d = numpy_dtype(storage_type.dtype_name)
    if d is None:
        raise Unsupported(f"a storage of dtype torch.{storage_type.dtype_name}, which nnzoo has no dtype for")
    return d.itemsize


def _legacy_storage(pid: tuple, storage_type: StorageType, key: str, numel: int, fetch) -> Storage:
    """A legacy storage id: the root storage, or a view of ``size`` elements at ``offset`` in it."""
    view = pid[5]
    if view is None:
        return Storage(storage_type, key, numel, fetch)
    if not (isinstance(view, tuple) and len(view) == 3 and all(type(v) is int and v >= 0 for v in view[1:])):
        raise Malformed(f"a bad storage view {view!r:.80}")
    _, offset, size = view
    if type(numel) is not int or offset + size > numel:
        raise Malformed("a storage view reaches past its storage")

    def fetch_view(k: str, nbytes: int, dtype: np.dtype) -> np.ndarray:
        return fetch(k, numel * dtype.itemsize, dtype)[offset:offset + size]

    return Storage(storage_type, key, size, fetch_view)


def load(source: str | os.PathLike | bytes, weights_only: bool = True, verify: bool = True) -> Any:
    """The object in a ``torch.save`` file (zip or legacy format), from a path or the file's bytes;
    ``verify`` checks each storage read from a path against its CRC-32.

    Raises :class:`~nnzoo.serialization.unpickler.Refused` (a global ``weights_only`` does not admit),
    :class:`~nnzoo.serialization.unpickler.Malformed` (a damaged file),
    :class:`~nnzoo.serialization.torch_types.Unsupported` (a tensor nnzoo cannot hold)."""
    if isinstance(source, (bytes, bytearray)):
        start = bytes(source[:16])
        if start.startswith(b"PK\x03\x04"):
            with zipfile.ZipFile(io.BytesIO(source)) as z:
                return _load_zip(z, None, weights_only, verify)
        return _load_legacy(bytes(source), weights_only)
    with open(source, "rb") as fh:
        start = fh.read(16)
        fh.seek(0)
        if start.startswith(b"PK\x03\x04"):
            with zipfile.ZipFile(fh) as z:
                return _load_zip(z, fh, weights_only, verify)
        return _load_legacy(fh.read(), weights_only)


# ---- writing --------------------------------------------------------------------------------------------
class _Global:
    """A global to write by name (``torch._utils._rebuild_tensor_v2``) without importing its module."""

    __slots__ = ("module", "name")

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    def __reduce_ex__(self, protocol: int) -> str:
        return self.name  # pickle then calls save_global, which _TorchPickler writes itself

    def __call__(self, *args: Any) -> Any:  # pickle's save_reduce wants a callable; this one is only named
        raise TypeError(f"{self.module}.{self.name} is a name written into a pickle, not a function")


class _StorageRef:
    __slots__ = ("key", "type", "numel")

    def __init__(self, key: str, storage_type: StorageType, numel: int) -> None:
        self.key, self.type, self.numel = key, storage_type, numel


class _Data:
    """A Parameter's data: pickled as a plain tensor without requires_grad (as PyTorch's ``param.data``)."""

    __slots__ = ("arr",)

    def __init__(self, arr: np.ndarray) -> None:
        self.arr = arr


class _TorchPickler(pickle._Pickler):
    """Python's pickler (its pure-Python implementation, ``pickle._Pickler``: the one whose ``save_global``
    a subclass can take over) writing nnzoo tensors, parameters, dtypes, sizes and devices under PyTorch's
    names, and the tensors' storages as persistent ids, as ``torch.save`` does."""

    def __init__(self, file: BinaryIO) -> None:
        super().__init__(file, protocol=2)
        self.storages: dict[str, np.ndarray] = {}  # key -> the bytes to write (a uint8 view)
        self._keys: dict[tuple[int, str], tuple[_StorageRef, np.ndarray]] = {}
        self._globals: dict[tuple[str, str], _Global] = {}
        from ..nn.parameter import Parameter
        self._parameter = Parameter
        import nnzoo
        self._device = getattr(nnzoo, "device", None)

    def _global(self, module: str, name: str) -> _Global:
        g = self._globals.get((module, name))
        if g is None:
            g = self._globals[(module, name)] = _Global(module, name)
        return g

    def save_global(self, obj: Any, name: str | None = None) -> None:
        if isinstance(obj, _Global):
            module, name = obj.module, obj.name
        elif isinstance(obj, (dtypes.dtype, TorchDtype)):
            module, name = "torch", obj.name
        elif isinstance(obj, StorageType):
            module, name = ("torch.storage" if obj.untyped else "torch"), obj.name
        else:
            return super().save_global(obj, name)
        self.write(pickle.GLOBAL + module.encode("utf-8") + b"\n" + name.encode("utf-8") + b"\n")
        self.memoize(obj)

    def persistent_id(self, obj: Any) -> Any:
        if type(obj) is _StorageRef:
            return ("storage", obj.type, obj.key, "cpu", obj.numel)
        return None

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, Tensor):
            if isinstance(obj, self._parameter):
                return (self._global("torch._utils", "_rebuild_parameter"),
                        (_Data(array(obj)), obj.requires_grad, OrderedDict()))
            return self._tensor(array(obj), obj.requires_grad)
        if type(obj) is _Data:
            return self._tensor(obj.arr, False)
        if isinstance(obj, (dtypes.dtype, TorchDtype, StorageType)):
            return obj.name  # written by save_global as torch.<name>
        if type(obj) is Size:
            return (self._global("torch", "Size"), (tuple(obj),))
        if self._device is not None and isinstance(obj, self._device):
            return (self._global("torch", "device"), (str(obj),))
        return NotImplemented

    def _tensor(self, arr: np.ndarray, requires_grad: bool) -> tuple:
        ref, offset, stride = self._storage(arr)
        args = (ref, offset, tuple(arr.shape), stride, requires_grad, OrderedDict())
        if ref.type.untyped:  # a dtype without a legacy storage class: bytes plus the dtype
            return (self._global("torch._utils", "_rebuild_tensor_v3"), args + (_torch_dtype(arr.dtype),))
        return (self._global("torch._utils", "_rebuild_tensor_v2"), args)

    def _storage(self, arr: np.ndarray) -> tuple[_StorageRef, int, tuple[int, ...]]:
        """The storage ``arr`` lives in: the array that owns its memory, written once however many tensors
        view it (views stay views in the file, as with ``torch.save``), or a contiguous copy."""
        item = arr.dtype.itemsize
        root = arr
        while isinstance(root.base, np.ndarray):
            root = root.base
        ptr, root_ptr = arr.__array_interface__["data"][0], root.__array_interface__["data"][0]
        if (arr.size and arr.dtype.isnative and root.flags.c_contiguous and root.nbytes % item == 0
                and (ptr - root_ptr) % item == 0 and ptr >= root_ptr
                and all(s >= 0 and s % item == 0 for s in arr.strides)):
            offset, stride = (ptr - root_ptr) // item, tuple(s // item for s in arr.strides)
        else:
            root = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("="))
            offset, stride = 0, tuple(s // item for s in root.strides)
        found = self._keys.get((id(root), arr.dtype.str))
        if found is None:
            key = str(len(self.storages))
            dtype_name = dtypes.from_numpy(arr.dtype.newbyteorder("=")).name
            storage_type = storage_type_for(dtype_name)
            numel = root.nbytes if storage_type.untyped else root.nbytes // item
            self.storages[key] = root.reshape(-1).view(np.uint8)
            found = self._keys[(id(root), arr.dtype.str)] = (_StorageRef(key, storage_type, numel), root)
        return found[0], offset, stride


def _torch_dtype(np_dtype: np.dtype) -> Any:
    return dtypes.from_numpy(np_dtype.newbyteorder("="))


def _add(z: zipfile.ZipFile, name: str, data: bytes | np.ndarray) -> None:
    """One stored (uncompressed) entry whose data starts at a multiple of 64 bytes in the file, padded with
    an extra field as PyTorch's writer does."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    nbytes = len(data) if isinstance(data, bytes) else data.nbytes
    info.file_size = nbytes
    zip64 = nbytes * 1.05 > zipfile.ZIP64_LIMIT  # zipfile then adds a 20-byte zip64 field after ours
    start = z.fp.tell() + 30 + len(name.encode("utf-8")) + 4 + (20 if zip64 else 0)
    pad = -start % _ALIGNMENT
    info.extra = b"FB" + pad.to_bytes(2, "little") + b"Z" * pad
    with z.open(info, "w", force_zip64=zip64) as w:
        w.write(memoryview(data) if isinstance(data, bytes) else memoryview(data).cast("B"))


def save(obj: Any, f: BinaryIO) -> None:
    """Write ``obj`` in ``torch.save``'s zip format to the binary file object ``f``."""
    buf = io.BytesIO()
    pickler = _TorchPickler(buf)
    pickler.dump(obj)
    with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as z:
        _add(z, "archive/data.pkl", buf.getvalue())
        _add(z, "archive/.format_version", b"1")
        _add(z, "archive/.storage_alignment", str(_ALIGNMENT).encode())
        _add(z, "archive/byteorder", sys.byteorder.encode())
        for key, data in pickler.storages.items():
            _add(z, f"archive/data/{key}", data)
        _add(z, "archive/version", _PT_VERSION)
