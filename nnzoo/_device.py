"""PyTorch's device model on a CPU-only build: ``nnzoo.device`` and the checks every factory and ``.to()`` run.

nnzoo computes on the CPU (NumPy). As in a CPU-only PyTorch build, every device *name* PyTorch knows can be
written (``device("cuda", 0)``, ``device("cuda:1")``), but only the CPU holds tensors: asking for a CUDA tensor
raises the error such a build raises (an ``AssertionError``, "Torch not compiled with CUDA enabled"; nnzoo's
is also a ``RuntimeError``), and an integer device (an accelerator index) raises the RuntimeError PyTorch
raises when no accelerator is present.
"""
from __future__ import annotations

from typing import Any

__all__ = ["device", "get_default_device", "set_default_device"]

# the device types PyTorch's parser accepts, in its order (its error message lists them)
_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve", "fpga", "maia", "xla",
          "lazy", "vulkan", "mps", "meta", "hpu", "mtia", "privateuseone")
_NO_ACCELERATOR = "Cannot access accelerator device when none is available."


class NotCompiledError(AssertionError, RuntimeError):
    """A device nnzoo was not built for (CUDA, XPU). PyTorch's CPU build raises an AssertionError here; this
    one is also a RuntimeError, the type nnzoo's device errors had before."""


class device:
    """Where a tensor lives: a type (``"cpu"``, ``"cuda"``, ...) and an optional index.

    ``device("cpu")``, ``device("cuda", 0)``, ``device("cuda:1")``, ``device(type="cuda", index=1)`` or a copy of a
    device. Every type PyTorch names can be written; only ``"cpu"`` holds tensors in nnzoo (see the module doc).
    Devices are equal when type and index are; as a context manager (``with nnzoo.device("cpu"):``) it is the
    default device of the factories inside, as in PyTorch. nnzoo extension: a device also equals its string
    (``t.device == "cpu"``), which PyTorch's does not.

    Args:
        type (str | device): the device type, optionally with ``:index``.
        index (int, optional): the device ordinal (not allowed when ``type`` has one).

    Example::

        >>> d = nnzoo.device("cuda:1")
        >>> d.type, d.index, str(d)
        ('cuda', 1, 'cuda:1')
        >>> nnzoo.zeros(2).device
        device(type='cpu')
    """

    __slots__ = ("_type", "_index", "_saved")

    def __init__(self, type: str | device | int, index: int | None = None) -> None:
        if isinstance(type, device):
            if index is not None:
                raise RuntimeError("device(): an index can't be given with a device")
            self._type, self._index = type._type, type._index
            return
        if isinstance(type, int) and not isinstance(type, bool):
            raise RuntimeError(_NO_ACCELERATOR)
        if not isinstance(type, str):
            raise TypeError(f"device(): expected a str, a device or an int, got {type.__class__.__name__}")
        name, sep, tail = type.partition(":")
        if name not in _TYPES:
            raise RuntimeError(f"Expected one of {', '.join(_TYPES)} device type at start of device string: {type}")
        if sep:
            if index is not None:
                raise RuntimeError(f"type (string) must not include an index because index was passed explicitly: "
                                   f"{type}")
            if not tail.isdigit() or (len(tail) > 1 and tail[0] == "0"):
                raise RuntimeError(f"Invalid device string: '{type}'")
            index = int(tail)
        if index is not None:
            index = int(index)
            if index < 0:
                raise RuntimeError("Device index must not be negative")
        self._type, self._index = name, index

    @property
    def type(self) -> str:
        return self._type

    @property
    def index(self) -> int | None:
        return self._index

    def __str__(self) -> str:
        return self._type if self._index is None else f"{self._type}:{self._index}"

    def __repr__(self) -> str:
        index = "" if self._index is None else f", index={self._index}"
        return f"device(type='{self._type}'{index})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, device):
            return self._type == other._type and self._index == other._index
        if isinstance(other, str):
            return str(self) == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(str(self))  # equal to its string's hash, as it compares equal to it

    def __reduce__(self):
        return (device, (str(self),))

    def __enter__(self) -> device:
        global _default
        self._saved = _default
        _default = None if self == _CPU else self
        return self

    def __exit__(self, *exc: Any) -> None:
        global _default
        _default = self._saved


_CPU = device("cpu")
_default = None  # the default device when it is not the CPU (set_default_device, with device(...))
_PARSED: dict[str, device] = {}


def set_default_device(device: str | device | int | None) -> None:
    """The device the factories use when ``device=`` is left out (None: the CPU). Setting a CUDA device is
    allowed, as in PyTorch's CPU build; the factories then raise."""
    global _default
    _default = None if device is None else _parse(device)
    if _default == _CPU:
        _default = None


def get_default_device() -> device:
    """The device factories use when ``device=`` is left out (``device(type='cpu')`` unless set)."""
    return _CPU if _default is None else _default


def _parse(dev):
    if isinstance(dev, device):
        return dev
    if isinstance(dev, str):
        parsed = _PARSED.get(dev)
        if parsed is None:
            parsed = _PARSED[dev] = device(dev)
        return parsed
    return device(dev)


def check(dev: str | device | int | None, op: str = "factory") -> device:
    """The device ``dev`` names (None: the default one) if tensors can live there, that is the CPU; otherwise the
    error a CPU-only PyTorch build raises. ``op`` is "factory" (making a tensor) or "to" (moving one)."""
    if dev is None:
        if _default is None:
            return _CPU
        dev = _default
    d = _parse(dev)
    kind = d._type
    if kind == "cpu":
        return _CPU
    if kind == "cuda":
        raise NotCompiledError(f"Torch not compiled with CUDA enabled: device '{d}' is not available (nnzoo runs on "
                               "the CPU; check nnzoo.cuda.is_available() first, as with a CPU-only PyTorch build)")
    if kind == "xpu":
        raise NotCompiledError(f"Torch not compiled with XPU enabled: device '{d}' is not available (nnzoo runs on "
                               "the CPU)")
    if kind == "mps" and op == "to":
        raise RuntimeError(f"PyTorch is not linked with support for mps devices: device '{d}' is not available "
                           "(nnzoo runs on the CPU)")
    raise NotImplementedError(f"device '{d}' is not available: nnzoo makes tensors on the CPU only")
