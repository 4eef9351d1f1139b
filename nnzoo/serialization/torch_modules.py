"""Whole PyTorch models in nnzoo: PyTorch's classes named in a pickle mapped to nnzoo's, their state rebuilt.

``torch.save(model, "m.pt")`` pickles the model object itself: the pickle names PyTorch's classes
(``torch.nn.modules.linear.Linear``, ``torch.nn.modules.container.Sequential``, the user's own class from
``__main__``), creates each with ``cls.__new__(cls)`` and sets its state (``BUILD``) to the module's
``__dict__``: ``training``, ``_parameters``, ``_buffers``, ``_modules``, the hook dictionaries of
``torch.nn.Module.__init__``, and the layer's own fields (``in_features``, ``stride``, ``_flat_weights_names``).
Loading such a file runs code (``weights_only=False``: the user's explicit consent, as in PyTorch), and two
things make it an nnzoo model:

* :func:`resolve`: a ``torch.*`` global is looked up under ``nnzoo`` by the same path (nnzoo mirrors
  PyTorch's module layout: ``torch.nn.modules.linear.Linear`` -> ``nnzoo.nn.modules.linear.Linear``), then in
  the parent packages (``nnzoo.nn.modules``, ``nnzoo.nn``); ``torch._C._nn.gelu`` and the other compiled
  functions under ``torch._C`` are looked up where PyTorch exposes them (``torch.nn.functional``, ``torch``).
  None when nnzoo has no such object (the caller refuses the file, naming the PyTorch class);
* :func:`set_module_state`: the ``BUILD`` of an nnzoo module from PyTorch's ``__dict__``: the parameter,
  buffer and submodule tables become nnzoo's ``OrderedDict`` s; the bookkeeping fields of
  ``torch.nn.Module.__init__`` that nnzoo's ``Module`` has no counterpart for (backward and state-dict hooks)
  are dropped, with a warning when they held hooks; fields that are computed properties on the nnzoo class
  (``_flat_weights`` of the recurrent layers) are dropped; fields nnzoo's ``Module`` needs and an older
  PyTorch did not write are added empty; everything else (the layer's own fields, which nnzoo names as
  PyTorch does, and the attributes of the user's own class) is kept as saved.

NOTE: no nnzoo ``__init__`` runs (as in PyTorch, which does not call it when unpickling either): nnzoo's
layers keep the fields PyTorch's keep, under the same names (``tests/test_pt_whole_model.py`` checks that a
PyTorch layer's ``__dict__`` has every field of its nnzoo namesake, for the layers of the zoo), so the saved
fields are what the nnzoo layer needs; no random initialisation is spent and the random state is untouched.

Example::

    >>> from nnzoo.serialization.torch_modules import resolve
    >>> resolve("torch.nn.modules.linear", "Linear")
    <class 'nnzoo.nn.linear.Linear'>
"""
from __future__ import annotations

import importlib
import sys
import warnings
from collections import OrderedDict
from typing import Any

__all__ = ["resolve", "is_torch_module_state", "set_module_state", "TORCH_MODULE_FIELDS"]

# the compiled functions PyTorch pickles by their C module: where its Python API exposes them
_C_MODULES = {"torch._C._nn": "torch.nn.functional", "torch._C._VariableFunctions": "torch",
              "torch._C._VariableFunctionsClass": "torch", "torch._C._linalg": "torch.linalg",
              "torch._C._special": "torch.special", "torch._C._fft": "torch.fft"}

# the fields torch.nn.Module.__init__ sets (PyTorch 2.13), in its order
TORCH_MODULE_FIELDS = ("training", "_parameters", "_buffers", "_non_persistent_buffers_set",
                       "_backward_pre_hooks", "_backward_hooks", "_is_full_backward_hook", "_forward_hooks",
                       "_forward_hooks_with_kwargs", "_forward_hooks_always_called", "_forward_pre_hooks",
                       "_forward_pre_hooks_with_kwargs", "_state_dict_hooks", "_state_dict_pre_hooks",
                       "_load_state_dict_pre_hooks", "_load_state_dict_post_hooks", "_modules")
_TABLES = ("_parameters", "_buffers", "_modules")


def resolve(module: str, name: str, import_modules: bool = True) -> Any:
    """nnzoo's object for the PyTorch global ``module.name`` (``torch.nn.modules.rnn``, ``LSTM``), or None.

    Looks in ``nnzoo.<the path under torch>`` and then in its parent packages down to the first level
    (``nnzoo.nn``; ``nnzoo`` itself only for a global of ``torch``). With ``import_modules=False`` only
    modules already imported are looked in (nothing named by a file is imported: for ``weights_only``
    loading). Module paths with a private component (``__main__``, ``_private``) are not looked in, apart
    from the ``torch._C`` modules mapped to their public places.
    """
    module = _C_MODULES.get(module, module)
    parts = module.split(".")
    if parts[0] != "torch" or any(not p.isidentifier() or p.startswith("_") for p in parts[1:]) \
            or not all(a.isidentifier() for a in name.split(".")):
        return None
    under = parts[1:]
    for i in range(len(under), 0 if under else -1, -1):
        path = ".".join(["nnzoo", *under[:i]])
        mod = sys.modules.get(path)
        if mod is None and import_modules:
            try:
                mod = importlib.import_module(path)
            except ImportError:
                mod = None
        if mod is None:
            continue
        obj: Any = mod
        for attr in name.split("."):
            obj = getattr(obj, attr, None)
            if obj is None:
                break
        if obj is not None:
            return obj
    return None


def _module_class() -> type:
    from ..nn.module import Module
    return Module


def is_torch_module_state(inst: Any, state: Any) -> bool:
    """Whether ``BUILD`` sets an nnzoo module (``inst``) from a state that ``torch.save`` wrote (a dict with
    the fields of ``torch.nn.Module.__init__``; nnzoo's own modules pickle without its backward hooks)."""
    return isinstance(inst, _module_class()) and isinstance(state, dict) and "_parameters" in state \
        and "_backward_hooks" in state


def set_module_state(inst: Any, state: dict) -> None:
    """``BUILD`` of the nnzoo module ``inst`` from PyTorch's pickled ``__dict__`` (see the module docstring);
    through the class's ``__setstate__`` when it has one."""
    cls = type(inst)
    fresh = _module_class()().__dict__  # nnzoo's Module fields, empty
    out: dict[str, Any] = {}
    dropped = []
    for key, value in state.items():
        if not isinstance(key, str):
            continue
        if key in _TABLES and isinstance(value, dict):
            value = OrderedDict(value)
        elif key in TORCH_MODULE_FIELDS and key not in fresh:
            if value:
                dropped.append(key)
            continue
        elif isinstance(getattr(cls, key, None), property):
            continue  # computed by the nnzoo class (an RNN's _flat_weights)
        out[key] = value
    for key, value in fresh.items():
        out.setdefault(key, value)
    if dropped:
        warnings.warn(f"nnzoo.load: the PyTorch {cls.__name__} in this file was saved with hooks "
                      f"({', '.join(dropped)}) that nnzoo's modules do not have; they are dropped",
                      stacklevel=3)
    setstate = getattr(inst, "__setstate__", None)
    if setstate is not None:
        setstate(out)
    else:
        inst.__dict__.update(out)
