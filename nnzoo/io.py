"""Checkpoints: ``nnzoo.save`` / ``nnzoo.load`` in the safetensors format, never pickle.

A checkpoint is one safetensors file (https://github.com/huggingface/safetensors):

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
import json
import math
import numbers
import os
import secrets

import numpy as np

from . import dtypes
from .tensor import Tensor

__all__ = ["save", "load", "dumps_json", "CheckpointError"]

_FORMAT_VERSION = 1
_META_KEY = "nnzoo"
# safetensors dtype codes nnzoo can hold (the ones NumPy and nnzoo share).
_ST_DTYPES = {"BOOL": "bool", "U8": "uint8", "I8": "int8", "I16": "int16", "I32": "int32",
              "I64": "int64", "F16": "float16", "F32": "float32", "F64": "float64"}
_MAX_HEADER = 100_000_000  # the limit safetensors itself enforces


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

    def encode(self, obj, path, where):
        if isinstance(obj, (Tensor, np.ndarray)):
            if path is None:
                raise TypeError(f"nnzoo.save: a tensor cannot be a dict key (at {where})")
            arr = obj._data if isinstance(obj, Tensor) else obj
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
            self._active.add(id(obj))
            try:
                if isinstance(obj, dict):
                    items = []
                    for k, v in obj.items():
                        key = self.encode(k, None, f"{where}, key {k!r}")
                        sub = None if path is None else path + [str(k)]
                        items.append([key, self.encode(v, sub, f"{where}[{k!r}]")])
                    return {"D": items}
                sub = (lambda i: None) if path is None else (lambda i: path + [str(i)])
                vals = [self.encode(v, sub(i), f"{where}[{i}]") for i, v in enumerate(obj)]
                return {"L": vals} if isinstance(obj, list) else {"U": vals}
            finally:
                self._active.discard(id(obj))
        raise TypeError(f"nnzoo.save: cannot save an object of type {type(obj).__name__} (at {where}); "
                        "a checkpoint holds Tensors, numbers, strings, bools, None and dicts, lists "
                        "and tuples of them (never pickle)")


def _decode(node, tensors):
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if not isinstance(node, dict) or len(node) != 1:
        raise ValueError(f"unexpected node {node!r}")
    (tag, val), = node.items()
    if tag == "T":
        return Tensor._make(tensors[val])
    if tag == "F":
        if val not in ("nan", "inf", "-inf"):
            raise ValueError(f"unexpected float {val!r}")
        return float(val)
    if tag == "D":
        return {_decode(k, tensors): _decode(v, tensors) for k, v in val}
    if tag == "L":
        return [_decode(v, tensors) for v in val]
    if tag == "U":
        return tuple(_decode(v, tensors) for v in val)
    raise ValueError(f"unknown tag {tag!r}")


# ---- save ---------------------------------------------------------------------------------------
def save(obj, f):
    """Save ``obj`` (a state dict, an optimizer state dict, or dicts/lists/tuples of those) to ``f``.

    The file is a safetensors file; tensors are stored under their path in ``obj`` and the rest of the
    structure as JSON metadata (see the module docstring). Writing to a path is atomic: a crash in the
    middle of ``save`` leaves the previous file at ``f`` intact.

    Args:
        obj: Tensors, Python numbers, strings, bools, None, and dicts (keys: str, int, float, bool, None
            or tuples of them), lists and tuples nesting them.
        f (str, os.PathLike or a binary file object): where to write. A file object gets the bytes with
            one ``f.write`` (no atomicity: that is the caller's file).

    Example::

        >>> model = nnzoo.nn.Linear(3, 2)
        >>> nnzoo.save({"model": model.state_dict(), "epoch": 3}, "ckpt.safetensors")
        >>> ckpt = nnzoo.load("ckpt.safetensors")
        >>> ckpt["epoch"], sorted(ckpt["model"])
        (3, ['bias', 'weight'])
    """
    st = _safetensors()
    enc = _Encoder()
    structure = enc.encode(obj, [], "obj")
    metadata = {"format": "pt",
                _META_KEY: json.dumps({"version": _FORMAT_VERSION, "obj": structure},
                                      allow_nan=False, separators=(",", ":"))}
    if hasattr(f, "write"):
        f.write(st.numpy.save(enc.tensors, metadata=metadata))
        return
    atomic_write(f, lambda tmp: st.numpy.save_file(enc.tensors, tmp, metadata=metadata))


def dumps_json(obj, note_key="non_finite", **kwargs):
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


def atomic_write(path, content):
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
    """A file that is not a valid nnzoo/safetensors checkpoint: truncated, damaged, or not safetensors.
    The message names the file. A ``RuntimeError``, as PyTorch's ``torch.load`` raises for such files."""


class _Corrupt(Exception):
    pass


def _parse_header(head, size):
    """The JSON header of a safetensors file from its first bytes (``head``) and total ``size``."""
    if size < 8:
        raise _Corrupt("file too small for a header")
    n = int.from_bytes(head[:8], "little")
    if n > _MAX_HEADER or 8 + n > size:
        raise _Corrupt("truncated header?")
    try:
        header = json.loads(bytes(head[8:8 + n]).decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _Corrupt("the header is not valid JSON") from None
    if not isinstance(header, dict):
        raise _Corrupt("the header is not a JSON object")
    return header


def _check_dtypes(header):
    for name, info in header.items():
        if name == "__metadata__":
            continue
        code = info.get("dtype") if isinstance(info, dict) else None
        if code not in _ST_DTYPES:
            raise TypeError(f"nnzoo.load: tensor {name!r} has the safetensors dtype {code!r}, which nnzoo "
                            "does not support (supported: " + ", ".join(_ST_DTYPES.values()) + ")")


def _check_map_location(map_location):
    if map_location is None or str(map_location) == "cpu":
        return
    raise RuntimeError(f"nnzoo.load: map_location={map_location!r} is not supported; nnzoo tensors live "
                       "on the CPU, use map_location=None or 'cpu'")


def load(f, map_location=None, *, weights_only=True, mmap=None):
    """Load an object saved by :func:`save`, or a state dict from any safetensors file.

    A file with nnzoo metadata comes back with its exact structure (dicts with their key types, lists,
    tuples, numbers, strings, None); any other safetensors file (e.g. ``safetensors.torch.save_file``
    of a PyTorch ``state_dict``) comes back as a ``dict`` of Tensors. Nothing is unpickled, ever.

    Args:
        f (str, os.PathLike or a binary file object): the checkpoint.
        map_location: ``None`` or ``'cpu'`` (accepted for PyTorch compatibility; anything else is an
            error, since nnzoo tensors live on the CPU).
        weights_only, mmap: accepted for PyTorch compatibility and ignored (loading never runs code).

    Raises:
        CheckpointError: (a ``RuntimeError``) the file is not a valid safetensors checkpoint (truncated,
            damaged, not safetensors).
        TypeError: the file holds a tensor of a dtype nnzoo does not have (e.g. bfloat16).

    Example::

        >>> nnzoo.save({"w": nnzoo.ones(2)}, "w.safetensors")
        >>> nnzoo.load("w.safetensors")
        {'w': tensor([1., 1.])}
    """
    _check_map_location(map_location)
    st = _safetensors()
    if hasattr(f, "read"):
        label = repr(getattr(f, "name", "<file object>"))
        data = f.read()
        try:
            header = _parse_header(data, len(data))
            _check_dtypes(header)
            tensors = st.numpy.load(data)
        except (_Corrupt, st.SafetensorError) as e:
            raise CheckpointError(f"nnzoo.load: {label} is not a valid nnzoo/safetensors checkpoint ({e})") \
                from None
    else:
        path = os.fspath(f)
        label = repr(path)
        with open(path, "rb") as fh:  # FileNotFoundError / IsADirectoryError as they are
            size = os.fstat(fh.fileno()).st_size
            head = fh.read(8)
            if len(head) == 8:
                head += fh.read(min(int.from_bytes(head, "little"), _MAX_HEADER + 1))
        try:
            header = _parse_header(head, size)
            _check_dtypes(header)
            with st.safe_open(path, framework="np") as sf:
                tensors = {k: sf.get_tensor(k) for k in sf.keys()}
        except (_Corrupt, st.SafetensorError) as e:
            raise CheckpointError(f"nnzoo.load: {label} is not a valid nnzoo/safetensors checkpoint ({e})") \
                from None
    for k, arr in tensors.items():
        if not arr.flags.writeable:  # nnzoo tensors own writable memory (in-place ops, optimizers)
            tensors[k] = arr.copy()
    meta = header.get("__metadata__")
    if not isinstance(meta, dict) or _META_KEY not in meta:
        return {k: Tensor._make(tensors[k]) for k in sorted(tensors)}
    try:
        doc = json.loads(meta[_META_KEY])
        if doc.get("version") != _FORMAT_VERSION:
            raise ValueError(f"unknown nnzoo checkpoint version {doc.get('version')!r}")
        return _decode(doc["obj"], tensors)
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise CheckpointError(f"nnzoo.load: {label} has damaged nnzoo metadata ({type(e).__name__}: {e})") \
            from None
