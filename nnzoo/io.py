"""Checkpoints: ``nnzoo.save`` / ``nnzoo.load``, in the safetensors format or in PyTorch's own ``.pt`` format.

Two formats:

* ``.pt`` / ``.pth`` paths: PyTorch's zip format, the file ``torch.save`` writes (see
  :mod:`nnzoo.serialization`), readable by ``torch.load(weights_only=True)``; ``nnzoo.load`` reads any
  ``torch.save`` file (zip or legacy format, recognised by its first bytes whatever its name) without
  PyTorch, through an unpickler that admits only what PyTorch's ``weights_only=True`` admits, so nothing in
  the file runs. As in PyTorch 2.6+, any object can be saved (a whole model is pickled), and a file whose
  pickle names anything else loads only when those globals are marked safe
  (``nnzoo.serialization.safe_globals([...])``: the model's classes) or with the explicit
  ``weights_only=False`` (trusted files only);
* every other path: a safetensors file with digests, described below, which never holds a pickle.

A safetensors checkpoint is one safetensors file (https://github.com/huggingface/safetensors):

* every Tensor in ``obj`` is stored as a safetensors tensor, named by its path in ``obj`` with the parts
  joined by ``"."`` (``{'model': {'fc.weight': w}}`` stores ``w`` as ``"model.fc.weight"``). A flat
  state dict ``{name: Tensor}`` is therefore stored under exactly its own keys, so
  ``safetensors.torch.load_file`` reads it as the same ``name -> tensor`` mapping;
* the structure around the tensors (dicts, lists, tuples, numbers, strings, bools, None) is stored as
  JSON in the safetensors header metadata under the key ``"nnzoo"``, with ``"format": "pt"`` beside it
  like the files ``safetensors.torch.save_file`` writes. Dict keys keep their type (``int`` keys of an
  optimizer's ``state`` come back as ints), tuples stay tuples, ``nan``/``inf`` floats survive.

A file without ``"nnzoo"`` metadata (for example one written by ``safetensors.torch.save_file`` from a
PyTorch ``state_dict``) loads as a flat ``dict`` of Tensors, keys in sorted order.

Integrity (format version 2). Safetensors has no checksum (nor has ``torch.save``), so a flipped byte in
a tensor's data would load silently as a changed weight. The ``"nnzoo"`` JSON therefore holds, beside
``"version": 2`` and ``"obj"``, a ``"tensors"`` record ``{name: {"dtype", "shape", "sha256"}}``: a second
copy of each tensor's safetensors dtype and shape, and the SHA-256 of its data bytes as stored (C
order, little-endian). The metadata key ``"nnzoo_sha256"`` holds the SHA-256 of the ``"nnzoo"`` string
itself. For ``{"w": nnzoo.ones(2), "epoch": 3}`` the ``"nnzoo"`` string is::

    {"version":2,"obj":{"D":[["w",{"T":"w"}],["epoch",3]]},
     "tensors":{"w":{"dtype":"F32","shape":[2],"sha256":"80b8fd6d...809d"}}}

(one line in the file). ``load`` checks, before it returns anything:

* the ``"nnzoo"`` string against ``"nnzoo_sha256"`` (so the structure, the numbers in it and the
  tensor record are as saved), and that neither key is there without the other;
* that the header's tensors are exactly the recorded ones, with the recorded dtypes and shapes;
* each tensor's data against its SHA-256 (``verify=False`` skips only this step, the one that costs
  time: SHA-256 runs at about 1.1-1.4 GB/s on one core, and large checkpoints are hashed on up to 8
  threads; the other checks cost next to nothing). ``save`` computes the same digests.

Any mismatch raises :class:`CheckpointError` naming the file (and the tensor, for data), so a checkpoint
either loads exactly as it was saved or not at all. Files of format version 1 (nnzoo before the digest)
and files without nnzoo metadata have nothing to check against and load as before. The digests guard
against accidents (bad disks, truncated copies, bit flips), not against someone who rewrites both the
data and the digests: for that, sign or hash the whole file out of band.

Nesting: ``obj`` may nest dicts, lists and tuples at most 100 deep (``save`` raises ``ValueError``
beyond, ``load`` a ``CheckpointError``), which keeps both directions clear of Python's recursion limit.

Neither: ``load`` recognises other files by their first bytes (a ``torch.jit.save`` archive, a plain
pickle, another zip) and says what they are and how to convert them, without unpickling or running
anything. With the default ``weights_only=True``, nothing in ``load`` executes code from a file.

Saving to a path is atomic: the bytes go to a temporary file in the same directory, which is flushed,
``fsync``-ed and then renamed over ``f`` with ``os.replace``. A process that dies in the middle of a save
leaves the previous checkpoint untouched (and at worst a stray ``.<name>.<random>.tmp`` file); an
exception during the save removes the temporary file.

Tensors are saved by value: a non-contiguous view is written as a contiguous copy, and tensors that
share memory (views of one another, or the same tensor at two places in ``obj``) are written as
independent copies, so they no longer share memory after ``load``. ``nn.Parameter`` and
``requires_grad`` are not recorded: every loaded tensor is a plain leaf Tensor, as with
``safetensors``. NumPy arrays in ``obj`` are saved like tensors and come back as Tensors; NumPy scalars
come back as Python numbers.
"""
from __future__ import annotations

import hashlib
import io
import json
import math
import numbers
import os
import pickle
import reprlib
import secrets
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from typing import Any, BinaryIO

import numpy as np

from . import dtypes, serialization
from .autograd.arrays import array, wrap
from .tensor import Tensor

__all__ = ["save", "load", "dumps_json", "CheckpointError", "WeightsOnlyError"]

_FORMAT_VERSION = 2  # 2: per-tensor SHA-256 and a digest of the metadata; 1: neither (still loads)
_META_KEY = "nnzoo"
_DIGEST_KEY = "nnzoo_sha256"  # SHA-256 of the "nnzoo" metadata string
# safetensors dtype codes nnzoo can hold (the ones NumPy and nnzoo share).
_ST_DTYPES = {"BOOL": "bool", "U8": "uint8", "I8": "int8", "I16": "int16", "I32": "int32",
              "I64": "int64", "F16": "float16", "F32": "float32", "F64": "float64"}
_ST_CODES = {v: k for k, v in _ST_DTYPES.items()}  # NumPy dtype name -> safetensors code
_MAX_HEADER = 100_000_000  # the limit safetensors itself enforces
_MAX_DEPTH = 100  # dicts/lists/tuples nested in one another; each level is up to 3 JSON levels deep
_THREADED_HASH_BYTES = 16 * 2**20  # from this many tensor bytes, hash the tensors on several threads
_TORCH_SUFFIXES = (".pt", ".pth")  # save writes PyTorch's zip format to these paths, safetensors elsewhere


def _safetensors():
    try:
        import safetensors
        import safetensors.numpy
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("nnzoo.save/nnzoo.load need the 'safetensors' package: "
                          "pip install safetensors (or pip install nnzoo[io])") from None
    return safetensors


# ---- obj <-> (tensors, JSON structure) ----------------------------------------------------------
# The JSON structure: JSON scalars (null, true/false, ints, finite floats, strings) stand for themselves;
# every JSON object is a one-key tag: {"T": name} a tensor, {"F": "nan"|"inf"|"-inf"} a non-finite float,
# {"D": [[key, value], ...]} a dict, {"L": [...]} a list, {"U": [...]} a tuple.

_where_repr = reprlib.Repr()  # dict keys in error messages: bounded in length and depth (a key may nest)
_where_repr.maxstring = _where_repr.maxother = 80


class _Encoder:
    def __init__(self):
        self.tensors = {}  # safetensors name -> contiguous NumPy array
        self._active = set()  # ids of the containers on the current path (cycle check)

    def _name(self, path):
        base = ".".join(path) if path else "tensor"
        name, n = base, 0
        while name in self.tensors or name == "__metadata__":  # "__metadata__" is reserved
            n += 1
            name = f"{base}#{n}"
        return name

    def encode(self, obj, path, where, depth=0):
        """The JSON node for ``obj``; ``depth`` counts the dicts/lists/tuples around it."""
        if isinstance(obj, (Tensor, np.ndarray)):
            if path is None:
                raise TypeError(f"nnzoo.save: a tensor cannot be a dict key (at {where})")
            arr = array(obj) if isinstance(obj, Tensor) else obj
            dtypes.from_numpy(arr.dtype)  # TypeError for dtypes nnzoo does not support
            if not arr.flags.c_contiguous or not arr.dtype.isnative:
                arr = np.array(arr, dtype=arr.dtype.newbyteorder("="), order="C")
            name = self._name(path)
            self.tensors[name] = arr
            return {"T": name}
        if isinstance(obj, np.generic):
            obj = obj.item()
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, numbers.Integral):
            return int(obj)
        if isinstance(obj, numbers.Real) and not isinstance(obj, numbers.Integral):
            x = float(obj)
            return x if math.isfinite(x) else {"F": repr(x)}
        if isinstance(obj, (dict, list, tuple)):
            if id(obj) in self._active:
                raise ValueError(f"nnzoo.save: obj contains a reference cycle (at {where})")
            depth += 1
            if depth > _MAX_DEPTH:
                at = where if len(where) <= 200 else where[:100] + " ... " + where[-60:]
                raise ValueError(f"nnzoo.save: obj is nested more than {_MAX_DEPTH} levels deep (dicts, "
                                 f"lists and tuples inside one another, at {at}); a checkpoint holds at "
                                 f"most {_MAX_DEPTH} levels")
            self._active.add(id(obj))
            try:
                if isinstance(obj, dict):
                    items = []
                    for k, v in obj.items():
                        k_repr = _where_repr.repr(k)
                        key = self.encode(k, None, f"{where}, key {k_repr}", depth)
                        sub = None if path is None else path + [str(k)]
                        items.append([key, self.encode(v, sub, f"{where}[{k_repr}]", depth)])
                    return {"D": items}
                sub = (lambda i: None) if path is None else (lambda i: path + [str(i)])
                vals = [self.encode(v, sub(i), f"{where}[{i}]", depth) for i, v in enumerate(obj)]
                return {"L": vals} if isinstance(obj, list) else {"U": vals}
            finally:
                self._active.discard(id(obj))
        raise TypeError(f"nnzoo.save: cannot save an object of type {type(obj).__name__} (at {where}); "
                        "a checkpoint holds Tensors, numbers, strings, bools, None and dicts, lists "
                        "and tuples of them (never pickle)")


def _decode(node, tensors, depth=0):
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if not isinstance(node, dict) or len(node) != 1:
        raise ValueError(f"unexpected node {node!r:.80}")
    (tag, val), = node.items()
    if tag == "T":
        return wrap(tensors[val])
    if tag == "F":
        if val not in ("nan", "inf", "-inf"):
            raise ValueError(f"unexpected float {val!r:.80}")
        return float(val)
    if tag not in ("D", "L", "U"):
        raise ValueError(f"unknown tag {tag!r:.80}")
    depth += 1
    if depth > _MAX_DEPTH:
        raise ValueError(f"the structure is nested more than {_MAX_DEPTH} levels deep (nnzoo.save writes at "
                         f"most {_MAX_DEPTH})")
    if tag == "D":
        return {_decode(k, tensors, depth): _decode(v, tensors, depth) for k, v in val}
    if tag == "L":
        return [_decode(v, tensors, depth) for v in val]
    return tuple(_decode(v, tensors, depth) for v in val)


# ---- digests ------------------------------------------------------------------------------------
def _sha256(arr):
    """Hex SHA-256 of a C-contiguous array's bytes as safetensors stores them (little-endian)."""
    if arr.dtype.byteorder == ">" or (arr.dtype.byteorder == "=" and sys.byteorder == "big"):
        arr = arr.astype(arr.dtype.newbyteorder("<"))
    return hashlib.sha256(arr).hexdigest()  # reads the buffer in place, no copy


def _sha256_all(arrays):
    """``{name: _sha256(array)}``. Large sets are hashed on up to 8 threads, biggest first: hashlib
    releases the GIL while it hashes, so this scales with cores (SHA-256 runs at ~1.4 GB/s a core)."""
    names = sorted(arrays, key=lambda k: -arrays[k].nbytes)
    workers = min(len(names), os.cpu_count() or 1, 8)
    if workers < 2 or sum(a.nbytes for a in arrays.values()) < _THREADED_HASH_BYTES:
        return {k: _sha256(arrays[k]) for k in names}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return dict(zip(names, pool.map(lambda k: _sha256(arrays[k]), names)))


# ---- save ---------------------------------------------------------------------------------------
def save(obj: Any, f: str | os.PathLike | BinaryIO) -> None:
    """Save ``obj`` (a state dict, an optimizer state dict, or dicts/lists/tuples of those) to ``f``.

    To a ``.pt``/``.pth`` path, a file object whose ``name`` ends so, or a file object without a name
    (``io.BytesIO``, as in ``torch.save(obj, buffer)``) the file is PyTorch's zip format,
    what ``torch.save`` writes: ``torch.load(f, weights_only=True)`` reads state dicts, optimizer state
    dicts and containers of tensors and primitives from it; ``obj`` may also be any picklable object (a
    whole model), which is then loaded back, as in PyTorch 2.6+, with its classes marked safe
    (``nnzoo.serialization.safe_globals``) or with ``weights_only=False``.

    Anywhere else (other paths, file objects named otherwise) the file is a safetensors file; tensors are
    stored under their path in ``obj`` and the rest of the structure as JSON metadata, with the SHA-256 of
    every tensor's data and of the metadata itself so that :func:`load` refuses a damaged file (see the
    module docstring). Writing to a path is
    atomic in both formats: a crash in the middle of ``save`` leaves the previous file at ``f`` intact.

    Args:
        obj: Tensors, Python numbers, strings, bools, None, and dicts (keys: str, int, float, bool, None
            or tuples of them), lists and tuples nesting them, at most 100 levels deep (a ``.pt`` file
            takes anything picklable).
        f (str, os.PathLike or a binary file object): where to write. A file object gets the bytes with
            one ``f.write`` (no atomicity: that is the caller's file).

    Raises:
        TypeError: ``obj`` holds something a safetensors checkpoint cannot (a set, a module, an arbitrary
            object).
        ValueError: ``obj`` contains a reference cycle or is nested more than 100 levels deep.

    Example::

        >>> model = nnzoo.nn.Linear(3, 2)
        >>> nnzoo.save({"model": model.state_dict(), "epoch": 3}, "ckpt.safetensors")
        >>> ckpt = nnzoo.load("ckpt.safetensors")
        >>> ckpt["epoch"], sorted(ckpt["model"])
        (3, ['bias', 'weight'])
    """
    # a file object without a name (io.BytesIO) gets torch's format: torch.save(obj, buffer) is the idiom
    if (_is_torch_name(getattr(f, "name", None)) or not isinstance(getattr(f, "name", None), str)) \
            if hasattr(f, "write") else _is_torch_name(f):
        if hasattr(f, "write"):
            buf = io.BytesIO()
            serialization.save(obj, buf)
            f.write(buf.getvalue())
            return

        def write_pt(tmp):
            with open(tmp, "wb") as fh:
                serialization.save(obj, fh)

        atomic_write(f, write_pt)
        return
    st = _safetensors()
    enc = _Encoder()
    structure = enc.encode(obj, [], "obj")
    digests = _sha256_all(enc.tensors)
    record = {name: {"dtype": _ST_CODES[arr.dtype.name], "shape": list(arr.shape), "sha256": digests[name]}
              for name, arr in enc.tensors.items()}
    doc = json.dumps({"version": _FORMAT_VERSION, "obj": structure, "tensors": record},
                     allow_nan=False, separators=(",", ":"))  # ASCII (ensure_ascii)
    metadata = {"format": "pt", _META_KEY: doc, _DIGEST_KEY: hashlib.sha256(doc.encode()).hexdigest()}
    if hasattr(f, "write"):
        f.write(st.numpy.save(enc.tensors, metadata=metadata))
        return
    atomic_write(f, lambda tmp: st.numpy.save_file(enc.tensors, tmp, metadata=metadata))


def _is_torch_name(name: Any) -> bool:
    """Whether ``save`` writes PyTorch's format to this path (a ``.pt``/``.pth`` suffix)."""
    if isinstance(name, os.PathLike):
        name = os.fspath(name)
    return isinstance(name, str) and name.lower().endswith(_TORCH_SUFFIXES)


def dumps_json(obj: Any, note_key: str = "non_finite", **kwargs) -> str:
    """``json.dumps`` that always writes strict JSON: NaN and infinite floats become ``null``.

    Python's ``json`` writes ``NaN`` and ``Infinity``, which strict parsers (browsers, ``jq``, most
    languages) reject. Here each non-finite float (Python or NumPy) is written as ``null``; when ``obj``
    is a dict and something was replaced, ``obj[note_key]`` in the output lists where (``"test.loss"``,
    ``"history.val_loss[3]"``) so a reader can tell a missing value from a diverged one. NumPy scalars
    and arrays are written as numbers and lists; anything else JSON cannot hold is written with ``str``.

    Args:
        obj: what to write.
        note_key (str or None): the key of the note in a dict ``obj``; None writes no note.
        **kwargs: passed to ``json.dumps`` (``indent``, ``ensure_ascii``, ...).

    Example::

        >>> from nnzoo.io import dumps_json
        >>> dumps_json({"loss": float("nan"), "acc": 0.5})
        '{"loss": null, "acc": 0.5, "non_finite": "NaN or infinite, written as null: loss"}'
    """
    replaced = []

    def clean(node, where):
        if isinstance(node, (bool, np.bool_)):
            return bool(node)
        if isinstance(node, numbers.Integral):
            return int(node)
        if isinstance(node, numbers.Real):
            value = float(node)
            if math.isfinite(value):
                return value
            replaced.append(where or "(top)")
            return None
        if isinstance(node, np.ndarray):
            return clean(node.tolist(), where)
        if isinstance(node, dict):
            return {k if isinstance(k, str) else str(k): clean(v, f"{where}.{k}" if where else str(k))
                    for k, v in node.items()}
        if isinstance(node, (list, tuple)):
            return [clean(v, f"{where}[{i}]") for i, v in enumerate(node)]
        if node is None or isinstance(node, str):
            return node
        return str(node)

    out = clean(obj, "")
    if replaced and note_key is not None and isinstance(out, dict):
        out[note_key] = "NaN or infinite, written as null: " + ", ".join(replaced)
    return json.dumps(out, allow_nan=False, **kwargs)


def atomic_write(path: str | os.PathLike, content: str | bytes) -> None:
    """Write a file so that a crash at any moment leaves either the old file or the new one, whole.

    The bytes go to a temporary file in the same directory (``.<name>.<random>.tmp``), are flushed to
    disk (``fsync``), and the temporary file is renamed over ``path`` with ``os.replace``; the directory
    is then synced (best effort) so the rename survives a power cut. An exception removes the
    temporary file. The new file gets the permissions ``open()`` would give it (the umask applies).

    Args:
        path (str or os.PathLike): the file to (re)write.
        content: ``bytes``, ``str`` (written as UTF-8), or a function ``writer(tmp_path)`` that writes the
            file itself (e.g. a library's ``save_file``).

    Example::

        >>> from nnzoo.io import atomic_write
        >>> atomic_write("notes.txt", "first")
        >>> atomic_write("notes.txt", "second"); open("notes.txt").read()
        'second'
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies, as for open()
    try:
        mode = os.fstat(fd).st_mode & 0o777
        if callable(content):
            os.close(fd)
            content(tmp)
            os.chmod(tmp, mode)  # a writer may recreate the file (safetensors makes it 0o600)
            fd = os.open(tmp, os.O_WRONLY)
        else:
            view = memoryview(content.encode("utf-8") if isinstance(content, str) else content)
            while view:  # os.write may write less than asked
                view = view[os.write(fd, view):]
        try:
            os.fsync(fd)  # the data is on disk before the rename makes it the file
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable (best effort: not every platform can fsync a directory)
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


# ---- load ---------------------------------------------------------------------------------------
class CheckpointError(RuntimeError):
    """A file that is not a valid nnzoo/safetensors checkpoint: truncated, damaged (a digest does not
    match), or not safetensors (a PyTorch pickle, say). The message names the file, and the tensor when one
    tensor's data is damaged. A ``RuntimeError``, as PyTorch's ``torch.load`` raises for such files."""


class WeightsOnlyError(CheckpointError, pickle.UnpicklingError):
    """A PyTorch file whose pickle names a global that ``weights_only`` loading does not admit (a whole pickled
    model, or a payload that would run code). Both a :class:`CheckpointError` and the
    ``pickle.UnpicklingError`` that ``torch.load`` raises; the message names the global."""


class _Corrupt(Exception):
    """Why a file is refused: the message goes right after the file's name."""


def _invalid(why):
    return _Corrupt(f"is not a valid nnzoo/safetensors checkpoint ({why})")


def _damaged_metadata(why):
    return _Corrupt(f"has damaged nnzoo metadata ({why})")


def _parse_header(head, size):
    """The JSON header of a safetensors file from its first bytes (``head``) and total ``size``."""
    if size < 8:
        raise _invalid("file too small for a header")
    n = int.from_bytes(head[:8], "little")
    if n > _MAX_HEADER or 8 + n > size or 8 + n > len(head):
        raise _invalid("truncated header?")
    try:
        header = json.loads(bytes(head[8:8 + n]).decode("utf-8"))
    except RecursionError:
        raise _invalid("the header's JSON is nested too deeply") from None
    except (UnicodeDecodeError, ValueError):
        raise _invalid("the header is not valid JSON") from None
    if not isinstance(header, dict):
        raise _invalid("the header is not a JSON object")
    return header


def _is_int_list(x):
    return isinstance(x, list) and all(type(i) is int and i >= 0 for i in x)


def _check_entries(header):
    """Each header entry has the safetensors form (the bytes themselves are checked by safetensors)."""
    for name, info in header.items():
        if name == "__metadata__":
            if not isinstance(info, dict) or not all(isinstance(v, str) for v in info.values()):
                raise _invalid("its __metadata__ is not a map of strings")
        elif not (isinstance(info, dict) and isinstance(info.get("dtype"), str)
                  and _is_int_list(info.get("shape")) and _is_int_list(info.get("data_offsets"))
                  and len(info["data_offsets"]) == 2):
            raise _invalid(f"the header entry of tensor {name!r:.200} is malformed")


def _nnzoo_doc(header):
    """The decoded ``"nnzoo"`` metadata (a dict with ``"version"`` and ``"obj"``, and for version 2 a checked
    ``"tensors"`` record), or None for a file without nnzoo metadata. Checks the metadata's digest."""
    meta = header.get("__metadata__", {})
    text, digest = meta.get(_META_KEY), meta.get(_DIGEST_KEY)
    if text is None and digest is None:
        return None
    if text is None:
        raise _damaged_metadata(f"{_DIGEST_KEY!r} is there but {_META_KEY!r} is missing")
    if digest is not None and hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest() != digest:
        raise _damaged_metadata(f"it does not match its SHA-256 digest ({_DIGEST_KEY!r})")
    try:
        doc = json.loads(text)
    except RecursionError:
        raise _damaged_metadata(f"nested too deeply to decode; nnzoo.save writes at most {_MAX_DEPTH} "
                                "levels") from None
    except ValueError as e:
        raise _damaged_metadata(f"not JSON: {e}") from None
    version = doc.get("version") if isinstance(doc, dict) else None
    if type(version) is not int or not 1 <= version <= _FORMAT_VERSION:
        raise _damaged_metadata(f"unknown nnzoo checkpoint version {version!r:.40}; this nnzoo reads "
                                f"versions 1 to {_FORMAT_VERSION}")
    if version >= 2:
        if digest is None:
            raise _damaged_metadata(f"version {version} without its digest {_DIGEST_KEY!r}")
        record = doc.get("tensors")
        if not isinstance(record, dict) or not all(
                isinstance(r, dict) and isinstance(r.get("dtype"), str) and _is_int_list(r.get("shape"))
                and isinstance(r.get("sha256"), str) for r in record.values()):
            raise _damaged_metadata("no valid 'tensors' record")
    return doc


def _check_record(header, record):
    """The header's tensors are exactly the recorded ones, with the recorded dtypes and shapes."""
    names = [k for k in header if k != "__metadata__"]
    missing = [k for k in record if k not in header or k == "__metadata__"]
    extra = [k for k in names if k not in record]
    if missing or extra:
        missing, extra = (", ".join(map(repr, keys)) or "none" for keys in (missing, extra))
        raise _Corrupt(f"is damaged: its header's tensors do not match those saved (missing: {missing}; "
                       f"not saved: {extra})")
    for name in names:
        h, r = header[name], record[name]
        if h["dtype"] != r["dtype"] or h["shape"] != r["shape"]:
            raise _Corrupt(f"is damaged: the header gives tensor {name!r} the dtype {h['dtype']} and shape "
                           f"{tuple(h['shape'])}, but it was saved as {r['dtype']} {tuple(r['shape'])}")


def _check_dtypes(header, label):
    for name, info in header.items():
        if name == "__metadata__":
            continue
        code = info["dtype"]
        if code not in _ST_DTYPES:
            raise TypeError(f"nnzoo.load: {label}: tensor {name!r} has the safetensors dtype {code!r:.40}, "
                            "which nnzoo does not support (supported: " + ", ".join(_ST_DTYPES.values()) + ")")


def _foreign_file(start, open_zip, label, stem):
    """What a file that failed to parse as safetensors is, from its first bytes (``start``) and, for a zip
    archive, the names in its directory; None when it is nothing recognised. Nothing is unpickled."""
    to_st = f"'{stem}.safetensors'"
    never = ("nnzoo never unpickles files other than torch.save's, and those only as weights_only allows "
             "(unpickling a file can run any code in it)")
    if start.startswith(b"PK\x03\x04"):
        try:
            with open_zip() as z:  # reads the zip's directory of names, nothing else
                parts = [name.split("/") for name in z.namelist()]
        except Exception:  # best effort: a damaged zip is described by its first bytes alone
            return ("is not a valid nnzoo/safetensors checkpoint (it starts like a zip archive, as PyTorch's "
                    "torch.save files do, but is not a readable one)")
        if not any(p[-1] == "data.pkl" for p in parts):
            return "is a zip archive (not one of torch.save: no data.pkl), not a safetensors checkpoint"
        if any(p[-1] == "constants.pkl" or "code" in p[:-1] for p in parts):
            return (f"is a TorchScript archive (torch.jit.save: a compiled program with its weights), not "
                    f"a safetensors checkpoint; nnzoo never runs or unpickles it. In PyTorch, write its "
                    f"weights with safetensors.torch.save_file(torch.jit.load({label}).state_dict(), "
                    f"{to_st}) (or torch.save its state_dict), then nnzoo.load that file")
        return None  # pragma: no cover - torch.save's zip archives are loaded before this is asked
    if len(start) >= 2 and start[0] == 0x80 and 2 <= start[1] <= 5:  # the PROTO opcode of pickle 2-5
        return f"is a Python pickle file, not a safetensors checkpoint; {never}"
    return None


def _torch_kind(start, open_zip):
    """``serialization.kind_of`` for a file: ``"zip"``, ``"legacy"``, ``"torchscript"`` or None."""
    names = None
    if start.startswith(b"PK\x03\x04"):
        try:
            with open_zip() as z:
                names = z.namelist()
        except Exception:  # not a readable zip: the safetensors path says what it is
            return None
    return serialization.kind_of(start, names)


def _load_torch(source, label, weights_only, verify):
    """``serialization.load`` with its errors turned into nnzoo.load's, naming the file."""
    try:
        return serialization.load(source, weights_only=weights_only, verify=verify)
    except serialization.Refused as e:
        trust = "pass weights_only=False only if you trust the file (unpickling it can run any code in it)"
        short = e.name.rsplit(".", 1)[-1]
        if e.why:  # refused even when marked safe (a global of os or sys)
            hint = f"{e.why}; {trust}"
        elif e.name.startswith("torch."):
            hint = ("it is a PyTorch name: with weights_only=False nnzoo rebuilds it as its nnzoo namesake "
                    f"where nnzoo has one; {trust}; or save the model's state_dict in PyTorch and load that")
        else:
            hint = (f"if you trust this class/function, allowlist it with nnzoo.serialization.add_safe_globals("
                    f"[{short}]) or the nnzoo.serialization.safe_globals([{short}]) context manager "
                    f"(torch.serialization's under nnzoo run); {trust}")
        raise WeightsOnlyError(
            f"nnzoo.load: refusing to load {label}: its pickle names {e.name}, which weights_only loading does "
            f"not allow (it admits tensors, storages, dtypes, sizes, devices, OrderedDicts and Python's "
            f"containers and primitives, as torch.load(weights_only=True) does); {hint}") from None
    except serialization.Malformed as e:
        raise CheckpointError(f"nnzoo.load: {label} is a damaged PyTorch checkpoint ({e})") from None
    except serialization.Unsupported as e:
        raise TypeError(f"nnzoo.load: {label} holds {e}") from None
    except (zipfile.BadZipFile, EOFError, pickle.UnpicklingError) as e:
        raise CheckpointError(f"nnzoo.load: {label} is a damaged PyTorch checkpoint ({type(e).__name__}: {e})") \
            from None


def _check_map_location(map_location):
    if map_location is None or str(map_location) == "cpu":
        return
    raise RuntimeError(f"nnzoo.load: map_location={map_location!r} is not supported; nnzoo tensors live "
                       "on the CPU, use map_location=None or 'cpu'")


def load(f: str | os.PathLike | BinaryIO, map_location: str | None = None, *, weights_only: bool = True,
         mmap: bool | None = None, verify: bool = True) -> Any:
    """Load an object saved by :func:`save` or by ``torch.save``, or a state dict from any safetensors file.

    The format is recognised by the file's first bytes, whatever its name:

    * a ``torch.save`` file (the zip format, or the legacy one): loaded without PyTorch. Tensors come back
      as nnzoo tensors with their dtypes, shapes, ``requires_grad`` flags and shared storages (two views of
      one storage stay views of one array), ``nn.Parameter`` as :class:`~nnzoo.nn.Parameter`, NumPy arrays
      as NumPy arrays. With ``weights_only=True`` (the default, as in PyTorch 2.6+) the pickle may name only
      what ``torch.load(weights_only=True)`` admits (see :mod:`nnzoo.serialization`) and the globals marked
      safe with ``nnzoo.serialization.add_safe_globals`` / ``safe_globals`` (a whole model's classes);
      anything else (an unmarked class, or code) raises :class:`WeightsOnlyError` naming it, before
      anything runs;
    * a safetensors file with nnzoo metadata: its exact structure (dicts with their key types, lists,
      tuples, numbers, strings, None); any other safetensors file (e.g. ``safetensors.torch.save_file``
      of a PyTorch ``state_dict``) comes back as a ``dict`` of Tensors. Nothing is unpickled.

    A safetensors file written by this nnzoo carries SHA-256 digests (see the module docstring): its
    metadata, its header's tensor list, dtypes and shapes, and every tensor's data are checked against
    them, so a damaged file raises :class:`CheckpointError` instead of loading changed values; a ``.pt``
    file's storages are checked against the CRC-32 its zip archive records.

    Args:
        f (str, os.PathLike or a binary file object): the checkpoint.
        map_location: ``None`` or ``'cpu'`` (accepted for PyTorch compatibility; anything else is an
            error, since nnzoo tensors live on the CPU). Tensors that PyTorch saved from a GPU load on
            the CPU.
        weights_only (bool): for PyTorch files, admit only tensors, storages, dtypes, sizes, devices,
            ``OrderedDict`` and Python's containers and primitives (and NumPy arrays of numbers), and the
            globals marked safe (``nnzoo.serialization.safe_globals``). ``False``
            unpickles anything (a whole model saved with ``nnzoo.save(model, "m.pt")``): **only for files
            you trust**, unpickling can run any code. Ignored for safetensors files. Default: True.
        mmap: accepted for PyTorch compatibility and ignored.
        verify (bool): check each tensor's data against its saved SHA-256 (about 90 ms per 100 MB on one
            core), or a ``.pt`` file's storages against their CRC-32.
            ``False`` skips only that check, for speed on huge files; the metadata and header checks,
            which cost next to nothing, always run. Default: True.

    Raises:
        CheckpointError: (a ``RuntimeError``) the file is not a valid checkpoint: truncated, damaged (a
            digest does not match; the message names the tensor), neither safetensors nor ``torch.save``'s
            (a TorchScript archive or a plain pickle gets a message saying what it is).
        WeightsOnlyError: (a ``CheckpointError`` and a ``pickle.UnpicklingError``) a PyTorch file whose
            pickle names a global that ``weights_only`` loading does not admit (nor marked safe).
        TypeError: the file holds a tensor of a dtype nnzoo does not have (e.g. complex64).

    Example::

        >>> nnzoo.save({"w": nnzoo.ones(2)}, "w.safetensors")
        >>> nnzoo.load("w.safetensors")
        {'w': tensor([1., 1.])}
        >>> nnzoo.save(nnzoo.nn.Linear(2, 1), "model.pt")  # a whole model: pickled
        >>> with nnzoo.serialization.safe_globals([nnzoo.nn.Linear]):  # its class, trusted
        ...     nnzoo.load("model.pt")
        Linear(in_features=2, out_features=1, bias=True)
        >>> nnzoo.load("model.pt", weights_only=False)
        Linear(in_features=2, out_features=1, bias=True)
    """
    _check_map_location(map_location)
    if hasattr(f, "read"):
        name = getattr(f, "name", None)
        label = repr(name if isinstance(name, str) else "<file object>")
        stem = os.path.splitext(os.path.basename(name))[0] if isinstance(name, str) else "checkpoint"
        data = f.read()
        start, head, size = data[:32], data, len(data)
        open_zip = lambda: zipfile.ZipFile(io.BytesIO(data))  # noqa: E731
    else:
        path = os.fspath(f)
        label = repr(path)
        stem = os.path.splitext(os.path.basename(path))[0]
        data = None
        with open(path, "rb") as fh:  # FileNotFoundError / IsADirectoryError as they are
            size = os.fstat(fh.fileno()).st_size
            start = fh.read(32)
            head = start[:8]
            n = int.from_bytes(head, "little")
            if len(head) == 8 and n <= _MAX_HEADER and 8 + n <= size:  # else _parse_header says why
                fh.seek(8)
                head += fh.read(n)
        open_zip = lambda: zipfile.ZipFile(path)  # noqa: E731
    if _torch_kind(start, open_zip) in ("zip", "legacy"):
        return _load_torch(path if data is None else data, label, weights_only, verify)
    st = _safetensors()
    try:
        try:
            header = _parse_header(head, size)
        except _Corrupt:
            what = _foreign_file(start, open_zip, label, stem)
            if what is None:
                raise
            raise _Corrupt(what) from None
        _check_entries(header)
        doc = _nnzoo_doc(header)
        record = doc.get("tensors") if doc is not None and doc["version"] >= 2 else None
        if record is not None:
            _check_record(header, record)
        _check_dtypes(header, label)
        if data is not None:
            tensors = st.numpy.load(data)
        else:
            with st.safe_open(path, framework="np") as sf:
                tensors = {k: sf.get_tensor(k) for k in sf.keys()}
        if record is not None and verify:
            digests = _sha256_all(tensors)
            for name in tensors:  # the first damaged tensor in file order
                if name not in record or digests[name] != record[name]["sha256"]:  # (or the file changed)
                    raise _Corrupt(f"is damaged: the data of tensor {name!r} does not match the SHA-256 "
                                   "digest saved with it (changed bytes on disk or in a copy)")
    except _Corrupt as e:
        raise CheckpointError(f"nnzoo.load: {label} {e}") from None
    except st.SafetensorError as e:
        raise CheckpointError(f"nnzoo.load: {label} is not a valid nnzoo/safetensors checkpoint ({e})") \
            from None
    for k, arr in tensors.items():
        if not arr.flags.writeable:  # nnzoo tensors own writable memory (in-place ops, optimizers)
            tensors[k] = arr.copy()
    if doc is None:
        return {k: wrap(tensors[k]) for k in sorted(tensors)}
    try:
        return _decode(doc["obj"], tensors)
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as e:
        raise CheckpointError(f"nnzoo.load: {label} has damaged nnzoo metadata ({type(e).__name__}: {e})") \
            from None
