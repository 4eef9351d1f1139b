"""``RemovableHandle``: what every hook registration returns (``torch.utils.hooks.RemovableHandle``); its
``remove()`` takes the hook out of the dict it was registered in."""
from __future__ import annotations

import itertools
import weakref
from collections.abc import Callable
from typing import Any

__all__ = ["RemovableHandle"]


class RemovableHandle:
    """A registered hook's handle: ``remove()`` unregisters it (a second ``remove()`` does nothing); also a
    context manager that removes the hook on exit.

    Args:
        hooks_dict: the dict (an ``OrderedDict``) the hook is stored in under ``handle.id``.
        extra_dict: further dicts (or one) from which ``remove()`` also drops ``handle.id`` (PyTorch keeps a
            hook's flags, such as ``with_kwargs``, there).

    Example::

        >>> w = nnzoo.ones(2, requires_grad=True)
        >>> h = w.register_hook(lambda g: g * 2)
        >>> h.remove()
    """

    _next_id = itertools.count()

    def __init__(self, hooks_dict: Any, *, extra_dict: Any = None) -> None:
        self.hooks_dict_ref = _ref(hooks_dict)
        self.id = next(RemovableHandle._next_id)
        if extra_dict is None:
            extra_dict = ()
        elif not isinstance(extra_dict, (list, tuple)):
            extra_dict = (extra_dict,)
        self.extra_dict_ref = tuple(_ref(d) for d in extra_dict)

    def remove(self) -> None:
        for ref in (self.hooks_dict_ref, *self.extra_dict_ref):
            d = ref()
            if d is not None:
                d.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def _ref(d: Any) -> Callable[[], Any]:
    """A weak reference to ``d`` where it takes one (an ``OrderedDict``), else a strong one (a plain dict)."""
    try:
        return weakref.ref(d)
    except TypeError:
        return lambda: d
