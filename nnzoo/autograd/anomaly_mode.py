"""Anomaly detection (``torch.autograd.detect_anomaly``): while it is on, every graph node remembers the stack
that created it in forward, and the backward engine, when a node's backward fails, warns with that stack
("Error detected in DivBackward0. Traceback of forward call that caused the error: ...") before the error
propagates; with ``check_nan`` a backward that returns NaN is such an error.

NOTE: PyTorch checks NaN only (``isnan``), not inf: an infinite gradient passes, as it does there.
NOTE: the switch is process-wide (PyTorch's ``AnomalyMode`` is a global, not a thread-local). When it is off,
the only cost is one attribute test per recorded node and one per backward pass (see
tests/autograd/test_anomaly.py, which times an MLP's backward both ways).
"""
from __future__ import annotations

import functools
import linecache
import os
import sys
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled", "is_anomaly_check_nan_enabled",
           "set_anomaly_enabled"]


class _AnomalyState:
    enabled = False
    check_nan = True


state = _AnomalyState()

_PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# the frames that stand for PyTorch's C++ (the op machinery): dropped from the end of a recorded stack, so its
# last line is the one that called the op; nn and functional frames stay, as torch's Python frames do
_INTERNAL = tuple(os.path.join(_PKG, p) for p in ("autograd" + os.sep, "ops" + os.sep, "kernels" + os.sep,
                                                    "tensor.py", "sparse.py"))


def is_anomaly_enabled() -> bool:
    """Whether anomaly detection is on."""
    return state.enabled


def is_anomaly_check_nan_enabled() -> bool:
    """Whether anomaly detection (when on) raises on NaN gradients."""
    return state.check_nan


def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    """``torch.set_anomaly_enabled``: switch anomaly detection on or off at once."""
    state.enabled = bool(enabled)
    state.check_nan = bool(check_nan)


class _AnomalyContext:
    """Switches anomaly detection for a ``with`` block (or a decorated function) and restores it after."""

    mode = True
    check_nan = True

    def __enter__(self) -> None:
        self._prev = (state.enabled, state.check_nan)
        set_anomaly_enabled(self.mode, self.check_nan)

    def __exit__(self, *exc: object) -> None:
        state.enabled, state.check_nan = self._prev

    def __call__(self, fn: F) -> F:
        mode, check_nan = self.mode, self.check_nan

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            prev = (state.enabled, state.check_nan)
            set_anomaly_enabled(mode, check_nan)
            try:
                return fn(*args, **kwargs)
            finally:
                state.enabled, state.check_nan = prev
        return wrapper


class detect_anomaly(_AnomalyContext):
    """Anomaly detection for the block: nodes recorded inside remember where their forward op was called,
    and a failing backward (with ``check_nan``, also one that returns NaN) warns with that traceback.

    A context manager, and (beyond PyTorch, whose class is not callable) a decorator.

    Args:
        check_nan: raise ``RuntimeError("Function 'XBackward0' returned nan values in its 0th output.")``
            when a node's backward returns a NaN. Default: True.

    Example::

        >>> x = nnzoo.zeros(1, requires_grad=True)
        >>> with nnzoo.autograd.detect_anomaly():
        ...     y = (x / x).sum()            # 0/0: the forward line the warning will show
        ...     y.backward()                 # doctest: +SKIP
        RuntimeError: Function 'DivBackward0' returned nan values in its 0th output.
    """

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime and should only "
                      "be enabled for debugging.", stacklevel=2)


class set_detect_anomaly(_AnomalyContext):
    """``set_detect_anomaly(mode, check_nan=True)``: switches anomaly detection on or off at once, and, used as a
    context manager (or decorator), restores the previous setting at the end of the block."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self.mode, self.check_nan = bool(mode), bool(check_nan)
        self._prev = (state.enabled, state.check_nan)
        set_anomaly_enabled(mode, check_nan)

    def __enter__(self) -> None:
        pass

    def __call__(self, fn: F) -> F:
        state.enabled, state.check_nan = self._prev  # as a decorator: on only while fn runs
        return super().__call__(fn)


# ---- used by function.py (recording) and engine.py (checking) -------------------------------------------
def record_stack() -> tuple[tuple[str, int, str], ...]:
    """The caller's stack as (file, line, function) from the outermost frame, without the op machinery's frames
    at its end. Cheap: the source lines are read only if a warning is shown."""
    frames = []
    f = sys._getframe(1)
    while f is not None:
        frames.append((f.f_code.co_filename, f.f_lineno, f.f_code.co_name))
        f = f.f_back
    i = 0
    while i < len(frames) - 1 and frames[i][0].startswith(_INTERNAL):
        i += 1
    return tuple(reversed(frames[i:]))


def format_stack(stack: tuple[tuple[str, int, str], ...]) -> str:
    """``traceback.format_stack``'s layout for a recorded stack."""
    out = []
    for filename, lineno, name in stack:
        out.append(f'  File "{filename}", line {lineno}, in {name}\n')
        line = linecache.getline(filename, lineno).strip()
        if line:
            out.append(f"    {line}\n")
    return "".join(out)


def warn_forward_trace(node: Any) -> None:
    """The warning PyTorch gives when a node's backward fails under anomaly detection."""
    stack = getattr(node, "_anomaly_trace", None)
    name = node.name()
    if stack is None:
        msg = (f"Error detected in {name}. No forward pass information available. Enable detect anomaly "
               "during forward pass for more information.")
    else:
        msg = f"Error detected in {name}. Traceback of forward call that caused the error:\n{format_stack(stack)}"
    warnings.warn(msg.rstrip("\n"), stacklevel=_outside_nnzoo())


def _outside_nnzoo() -> int:
    """The ``stacklevel`` of the first caller outside nnzoo (the user's ``backward()`` line)."""
    level, f = 1, sys._getframe(1)
    while f is not None and f.f_code.co_filename.startswith(_PKG + os.sep):
        level += 1
        f = f.f_back
    return level
