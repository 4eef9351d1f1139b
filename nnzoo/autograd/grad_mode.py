"""Whether ops record a graph: ``no_grad``, ``enable_grad``, ``set_grad_enabled`` (thread-local, as in PyTorch)."""
from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])  # a decorated function keeps its type


class _State(threading.local):
    enabled = True


state = _State()


def is_grad_enabled() -> bool:
    return state.enabled


class _GradModeContext:
    """Base of the grad-mode switches: a context manager that also works as a decorator."""

    mode = True

    def __enter__(self):
        self._prev = state.enabled
        state.enabled = self.mode

    def __exit__(self, *exc):
        state.enabled = self._prev
        return False

    def __call__(self, fn: F) -> F:
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            prev = state.enabled
            state.enabled = mode
            try:
                return fn(*args, **kwargs)
            finally:
                state.enabled = prev
        return wrapper


class no_grad(_GradModeContext):
    """Ops inside record no graph: results have ``requires_grad=False``.

    Example::

        >>> w = nnzoo.ones(3, requires_grad=True)
        >>> with nnzoo.no_grad():
        ...     (w * 2).requires_grad
        False
    """

    mode = False


class enable_grad(_GradModeContext):
    """Re-enables graph recording inside a ``no_grad`` block."""

    mode = True


class set_grad_enabled(_GradModeContext):
    """``set_grad_enabled(False)`` is ``no_grad()``; takes effect at once, like PyTorch's, and also as a context."""

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
        self._prev = state.enabled
        state.enabled = self.mode

    def __enter__(self):
        pass

    def __call__(self, fn: F) -> F:
        state.enabled = self._prev  # used as a decorator: switch only while fn runs
        return super().__call__(fn)


class inference_mode(_GradModeContext):
    """PyTorch's inference mode; here the same as ``no_grad`` (``inference_mode(False)`` enables grad)."""

    def __init__(self, mode: bool = True) -> None:
        self.mode = not mode
