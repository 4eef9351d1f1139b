"""``torch.nn.modules.utils``: the argument helpers PyTorch code imports (``_pair`` and friends) and
``consume_prefix_in_state_dict_if_present``, with PyTorch's (unchecked) semantics."""
from __future__ import annotations

import collections.abc
from collections.abc import Callable
from itertools import repeat
from typing import Any

__all__ = ["consume_prefix_in_state_dict_if_present"]


def _ntuple(n: int, name: str = "parse") -> Callable[[Any], tuple]:
    """A parser: an iterable becomes a tuple of its items, anything else ``n`` copies of itself."""
    def parse(x: Any) -> tuple:
        if isinstance(x, collections.abc.Iterable):
            return tuple(x)
        return tuple(repeat(x, n))

    parse.__name__ = name
    return parse


_single = _ntuple(1, "_single")
_pair = _ntuple(2, "_pair")
_triple = _ntuple(3, "_triple")
_quadruple = _ntuple(4, "_quadruple")


def _reverse_repeat_tuple(t: tuple, n: int) -> tuple:
    """``t`` reversed, each item repeated ``n`` times: a Conv's padding as ``F.pad`` takes it."""
    return tuple(x for x in reversed(t) for _ in range(n))


def consume_prefix_in_state_dict_if_present(state_dict: dict[str, Any], prefix: str) -> None:
    """Strips ``prefix`` from the keys of ``state_dict`` in place, where present: a ``DataParallel`` model's
    ``state_dict`` loads into the bare model after ``consume_prefix_in_state_dict_if_present(sd, "module.")``.

    Args:
        state_dict: the state dict (changed in place).
        prefix: the prefix to strip.

    Example::

        >>> sd = {"module.weight": 1, "module.bias": 2}
        >>> consume_prefix_in_state_dict_if_present(sd, "module.")
        >>> sd
        {'weight': 1, 'bias': 2}
    """
    for key in list(state_dict.keys()):
        if key.startswith(prefix):
            state_dict[key[len(prefix):]] = state_dict.pop(key)
    metadata = getattr(state_dict, "_metadata", None)
    if metadata is not None:
        for key in list(metadata.keys()):
            if key and (key == prefix.replace(".", "") or key.startswith(prefix)):
                metadata[key[len(prefix):]] = metadata.pop(key)
