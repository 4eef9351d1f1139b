"""``torch.serialization.add_safe_globals`` and friends: the globals a user trusts for ``weights_only`` loading.

``weights_only=True`` loading admits PyTorch's allowlist (:mod:`~nnzoo.serialization.torch_types`) and,
beyond it, the objects marked safe here: a pickle may then name them, call them (``REDUCE``), create an
instance of a marked class (``NEWOBJ``: ``cls.__new__(cls, *args)``, no ``__init__``) and set that instance's
state (``BUILD``: its ``__setstate__``, or an update of its ``__dict__`` and slots), exactly as PyTorch 2.13's
``torch/_weights_only_unpickler.py`` does. That is how a whole model saved with ``nnzoo.save(model, "m.pt")``
loads without ``weights_only=False``: mark its classes (the model's own and the layers it holds).

Each item is an object, found in a pickle under ``f"{obj.__module__}.{obj.__qualname__}"``, or a pair
``(obj, "module.qualname")`` naming it explicitly. Globals of the modules ``sys``, ``os``, ``posix`` and
``nt`` stay refused even when marked, as in PyTorch.

NOTE: the marked set is process-wide mutable state, as PyTorch's is (its API is a global list):
:class:`safe_globals` adds its items on entry and removes them on exit (also an item that was marked before
the block: PyTorch's behaviour).

Example::

    >>> import nnzoo
    >>> from nnzoo import serialization
    >>> model = nnzoo.nn.Sequential(nnzoo.nn.Linear(2, 1))
    >>> nnzoo.save(model, "whole.pt")
    >>> serialization.get_unsafe_globals_in_checkpoint("whole.pt")
    ['nnzoo.nn.container.Sequential', 'nnzoo.nn.linear.Linear']
    >>> with serialization.safe_globals([nnzoo.nn.Sequential, nnzoo.nn.Linear]):
    ...     nnzoo.load("whole.pt")
    Sequential(
      (0): Linear(in_features=2, out_features=1, bias=True)
    )
    >>> serialization.get_safe_globals()
    []
"""
from __future__ import annotations

import io
import os
import pickletools
import zipfile
from collections.abc import Callable
from types import TracebackType
from typing import Any, BinaryIO

__all__ = ["add_safe_globals", "get_safe_globals", "clear_safe_globals", "safe_globals",
           "get_unsafe_globals_in_checkpoint", "user_allowed_globals"]

SafeGlobal = Callable[..., Any] | tuple[Callable[..., Any], str]

_marked: set[Any] = set()


def add_safe_globals(safe_globals: list[SafeGlobal]) -> None:
    """Mark ``safe_globals`` as safe for ``weights_only`` loading: a pickle may name, call and instantiate them.

    Args:
        safe_globals: objects (functions, classes), or ``(obj, "module.qualname")`` pairs giving the name a
            pickle uses for ``obj`` (else ``f"{obj.__module__}.{obj.__qualname__}"``).

    Example::

        >>> import nnzoo
        >>> nnzoo.serialization.add_safe_globals([nnzoo.nn.Linear])
        >>> nnzoo.serialization.get_safe_globals() == [nnzoo.nn.Linear]
        True
        >>> nnzoo.serialization.clear_safe_globals()
    """
    global _marked
    _marked = _marked.union(set(safe_globals))


def get_safe_globals() -> list[SafeGlobal]:
    """The globals marked safe with :func:`add_safe_globals` or :class:`safe_globals` (in no set order).

    Example::

        >>> import nnzoo
        >>> nnzoo.serialization.get_safe_globals()
        []
    """
    return list(_marked)


def clear_safe_globals() -> None:
    """Forget every global marked safe.

    Example::

        >>> import nnzoo
        >>> nnzoo.serialization.add_safe_globals([nnzoo.nn.ReLU])
        >>> nnzoo.serialization.clear_safe_globals()
        >>> nnzoo.serialization.get_safe_globals()
        []
    """
    global _marked
    _marked = set()


def _remove_safe_globals(safe_globals: list[SafeGlobal]) -> None:
    global _marked
    _marked = _marked - set(safe_globals)


class safe_globals:  # PyTorch's name (a context manager used like a function)
    """Context manager: ``safe_globals`` are marked safe inside the block (:func:`add_safe_globals`), and
    unmarked on leaving it.

    Args:
        safe_globals: objects, or ``(obj, "module.qualname")`` pairs, as for :func:`add_safe_globals`.

    Example::

        >>> import nnzoo
        >>> with nnzoo.serialization.safe_globals([nnzoo.nn.Linear]):
        ...     nnzoo.serialization.get_safe_globals() == [nnzoo.nn.Linear]
        True
        >>> nnzoo.serialization.get_safe_globals()
        []
    """

    def __init__(self, safe_globals: list[SafeGlobal]) -> None:
        self.safe_globals = safe_globals

    def __enter__(self) -> None:
        add_safe_globals(self.safe_globals)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        _remove_safe_globals(self.safe_globals)


def user_allowed_globals() -> dict[str, Any]:
    """``"module.qualname" -> object`` for the marked globals (what a pickle names them by).

    Raises ValueError for a tuple that is not a pair and TypeError for a pair whose name is not a str, as
    PyTorch does when it loads."""
    table: dict[str, Any] = {}
    for item in _marked:
        if isinstance(item, tuple):
            if len(item) != 2:
                raise ValueError("Expected tuple of length 2 (global, str of callable full path), but got tuple "
                                 f"of length: {len(item)}")
            if type(item[1]) is not str:
                raise TypeError("Expected second item in tuple to be str of callable full path, but got: "
                                f"{type(item[1])}")
            obj, name = item
            table[name] = obj
        else:
            table[f"{item.__module__}.{item.__qualname__}"] = item
    return table


def _pickle_globals(data: bytes) -> set[str]:
    """The globals a pickle names with ``GLOBAL`` (read statically: nothing is built or imported)."""
    from .unpickler import _PY2_MODULES
    found = set()
    for op, arg, _ in pickletools.genops(data):
        if op.name == "GLOBAL":
            module, name = arg.split(" ", 1)
            found.add(f"{_PY2_MODULES.get(module, module)}.{name}")
    return found


def get_unsafe_globals_in_checkpoint(f: str | os.PathLike | BinaryIO) -> list[str]:
    """The globals a ``torch.save``-format file names that ``weights_only`` loading would refuse: neither in
    the default allowlist nor marked safe (sorted).

    As PyTorch's, this reads the pickle statically (a global whose name the pickle builds on the stack is not
    listed) and takes only the zip format.

    Args:
        f: a path, or a binary file object, of a file written by ``torch.save`` / ``nnzoo.save`` to ``.pt``.

    Raises:
        ValueError: ``f`` is not a ``torch.save`` zip archive (or is a TorchScript one).

    Example::

        >>> import nnzoo
        >>> nnzoo.save(nnzoo.nn.ReLU(), "relu.pt")
        >>> nnzoo.serialization.get_unsafe_globals_in_checkpoint("relu.pt")
        ['nnzoo.nn.activation.ReLU']
    """
    from .pt import kind_of
    from .torch_types import weights_only_globals
    if hasattr(f, "read"):
        data = f.read()
    else:
        with open(os.fspath(f), "rb") as fh:
            data = fh.read()
    if not data.startswith(b"PK\x03\x04"):
        raise ValueError("Expected input to be a checkpoint returned by torch.save")
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = z.namelist()
        kind = kind_of(data[:16], names)
        if kind == "torchscript":
            raise ValueError("Expected input to be a checkpoint returned by torch.save but got a torchscript "
                             "checkpoint")
        pkl = next((n for n in names if n.endswith("data.pkl") and n.count("/") == 1), None)
        if kind != "zip" or pkl is None:
            raise ValueError("Expected input to be a checkpoint returned by torch.save")
        found = _pickle_globals(z.read(pkl))
    user = user_allowed_globals()
    safe = set(weights_only_globals()[0]) | set(user)
    return sorted(name for name in found - safe if not _marked_under_torch_name(name, user))


def _marked_under_torch_name(name: str, user: dict[str, Any]) -> bool:
    """Whether ``name`` is a PyTorch name (``torch.nn.modules.linear.Linear``) of a marked nnzoo object."""
    from .pt import _marked_torch_global
    module, _, attr = name.rpartition(".")
    obj = _marked_torch_global(module, attr)
    return obj is not None and any(obj is v for v in user.values())
