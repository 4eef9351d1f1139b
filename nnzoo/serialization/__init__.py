"""PyTorch's ``.pt``/``.pth`` files without PyTorch: :func:`nnzoo.load` reads them, :func:`nnzoo.save` writes them.

Five small modules:

* :mod:`~nnzoo.serialization.unpickler`: a pickle reader that only builds what an allowlist admits;
* :mod:`~nnzoo.serialization.torch_types`: that allowlist, PyTorch 2.13's ``weights_only`` one, each name
  mapped to nnzoo's own rebuild of it (tensors, parameters, storages, dtypes, sizes, devices);
* :mod:`~nnzoo.serialization.user_globals`: ``add_safe_globals``, ``safe_globals`` and friends, the globals a
  user trusts beyond the allowlist (the classes of a whole pickled model, say), as in PyTorch;
* :mod:`~nnzoo.serialization.torch_modules`: whole models saved by PyTorch (``torch.save(model)``): their
  ``torch.*`` classes mapped to nnzoo's namesakes and their pickled ``__dict__`` rebuilt as nnzoo modules;
* :mod:`~nnzoo.serialization.pt`: the file formats (the zip archive of ``torch.save`` since PyTorch 1.6, read
  and written; the legacy format before it, read).

``nnzoo.load(path)`` recognises such a file by its first bytes, whatever its name, and with the default
``weights_only=True`` loads it without running anything in it; a file whose pickle names any other global (a
whole pickled model, or a malicious payload) is refused with an error that names the global, unless that
global was marked safe with :func:`add_safe_globals` / :class:`safe_globals`.
``weights_only=False`` unpickles it with Python's unpickler: for files you trust only.

Example::

    >>> import nnzoo
    >>> nnzoo.save({"w": nnzoo.ones(2), "step": 3}, "ckpt.pt")  # readable by torch.load(weights_only=True)
    >>> nnzoo.load("ckpt.pt")
    {'w': tensor([1., 1.]), 'step': 3}
"""
from __future__ import annotations

from .pt import kind_of, load, save
from .torch_types import Unsupported
from .unpickler import Malformed, Refused
from .user_globals import (
    add_safe_globals,
    clear_safe_globals,
    get_safe_globals,
    get_unsafe_globals_in_checkpoint,
    safe_globals,
)

__all__ = ["load", "save", "kind_of", "Refused", "Malformed", "Unsupported", "add_safe_globals",
           "get_safe_globals", "clear_safe_globals", "safe_globals", "get_unsafe_globals_in_checkpoint"]
