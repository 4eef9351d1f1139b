"""``torch.compile`` and ``torch.compiler`` on nnzoo: eager no-ops.

nnzoo runs every op eagerly (NumPy calls, no graph capture), so ``compile(model)`` returns the model (or
function) itself: ``model = torch.compile(model)`` and ``@torch.compile`` / ``@torch.compile(mode=...)`` run
unchanged, just not faster. NOTE: PyTorch wraps a compiled module (its state_dict keys gain ``_orig_mod.``);
nnzoo's keys stay the module's own.

Example::

    >>> model = nnzoo.nn.Linear(2, 1)
    >>> nnzoo.compile(model) is model
    True
    >>> @nnzoo.compile(mode="reduce-overhead")
    ... def double(x):
    ...     return 2 * x
    >>> double(nnzoo.tensor([1.0]))
    tensor([2.])
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["compile", "disable", "is_compiling", "is_dynamo_compiling", "reset"]


def compile(model: Callable | None = None, *, fullgraph: bool = False, dynamic: bool | None = None,
            backend: str | Callable | None = None, mode: str | None = None, options: dict[str, Any] | None = None,
            disable: bool = False, **kwargs: Any) -> Callable:
    """``model`` itself (an eager no-op); without ``model``, a decorator that returns its function itself."""
    if model is None:
        return lambda fn: fn
    if not callable(model):
        raise RuntimeError("compile: model must be a callable (an nn.Module or a function)")
    return model


def disable(fn: Callable | None = None, recursive: bool = True, *, reason: str | None = None) -> Callable:
    """``torch.compiler.disable``: the function itself (nothing is compiled anyway)."""
    if fn is None:
        return lambda f: f
    return fn


def is_compiling() -> bool:
    return False


is_dynamo_compiling = is_compiling


def reset() -> None:
    """Does nothing (no compilation cache)."""
