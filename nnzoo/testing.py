"""``torch.testing``: ``assert_close`` (and the deprecated ``assert_allclose``) with PyTorch's default
tolerances per dtype, its rules for containers and scalars, and its error messages.

The default tolerances (the looser of the two inputs' dtypes):

    ========== ======== ======
    dtype      rtol     atol
    ========== ======== ======
    float16    1e-3     1e-5
    bfloat16   1.6e-2   1e-5
    float32    1.3e-6   1e-5
    float64    1e-7     1e-7
    other      0.0      0.0
    ========== ======== ======
"""
from __future__ import annotations

import collections.abc
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from . import dtypes
from .tensor import Size, Tensor

__all__ = ["assert_close", "assert_allclose"]

_DTYPE_PRECISIONS = {dtypes.float16: (1e-3, 1e-5), dtypes.bfloat16: (1.6e-2, 1e-5), dtypes.float32: (1.3e-6, 1e-5),
                     dtypes.float64: (1e-7, 1e-7)}
# the scalar types as PyTorch maps them to dtypes for their tolerances
_NUMBER_DTYPES = {bool: dtypes.bool, int: dtypes.int64, float: dtypes.float64}


class _Mismatch(Exception):
    def __init__(self, kind: type[Exception], msg: str) -> None:
        super().__init__(msg)
        self.kind, self.msg = kind, msg


def _tolerances(*ds: dtypes.dtype, rtol: float | None, atol: float | None,
                precisions: dict | None = None) -> tuple[float, float]:
    if (rtol is None) ^ (atol is None):
        raise _Mismatch(ValueError, "Both 'rtol' and 'atol' must be either specified or omitted, "
                                    f"but got no {'rtol' if rtol is None else 'atol'}.")
    if rtol is not None:
        return rtol, atol
    table = precisions or _DTYPE_PRECISIONS
    rtols, atols = zip(*[table.get(d, (0.0, 0.0)) for d in ds])
    return max(rtols), max(atols)


def _mismatch_msg(identifier: str, extra: str, abs_diff: Any, abs_idx: Any, atol: float, rel_diff: Any,
                  rel_idx: Any, rtol: float) -> str:
    """PyTorch's mismatch message: a header, ``extra``, the greatest absolute and relative differences."""
    equality = rtol == 0 and atol == 0

    def line(kind, diff, idx, tol):
        if idx is None:
            msg = f"{kind.title()} difference: {diff}"
        else:
            msg = f"Greatest {kind} difference: {diff} at index {idx}"
        return msg + ("" if equality else f" (up to {tol} allowed)") + "\n"

    msg = f"{identifier} are not {'equal' if equality else 'close'}!\n\n"
    if extra:
        msg += f"{extra.strip()}\n"
    msg += line("absolute", abs_diff, abs_idx, atol) + line("relative", rel_diff, rel_idx, rtol)
    return msg.strip()


def _fail(msg: str, user_msg: str | Callable[[str], str] | None) -> None:
    if callable(user_msg):
        msg = user_msg(msg)
    elif user_msg is not None:
        msg = user_msg
    raise _Mismatch(AssertionError, msg)


def _compare_numbers(actual: Any, expected: Any, rtol, atol, equal_nan, check_dtype, msg) -> None:
    if isinstance(actual, bool) and isinstance(expected, bool):
        if actual is not expected:
            _fail(f"Booleans mismatch: {actual} is not {expected}", msg)
        return
    if check_dtype and type(actual) is not type(expected):
        raise _Mismatch(AssertionError, f"The (d)types do not match: {type(actual)} != {type(expected)}.")
    rtol, atol = _tolerances(_NUMBER_DTYPES[type(actual)], _NUMBER_DTYPES[type(expected)], rtol=rtol, atol=atol)
    if actual == expected or (equal_nan and actual != actual and expected != expected):
        return
    if abs(actual - expected) <= atol + rtol * abs(expected):
        return
    abs_diff = abs(actual - expected)
    rel_diff = float("inf") if expected == 0 else abs_diff / abs(expected)
    _fail(_mismatch_msg("Scalars", f"Expected {expected} but got {actual}.", abs_diff, None, atol, rel_diff, None,
                        rtol), msg)


def _as_dtype(a: np.ndarray) -> dtypes.dtype:
    return dtypes.from_numpy(a.dtype)


def _compare_arrays(actual: np.ndarray, expected: np.ndarray, rtol, atol, equal_nan, check_dtype, msg) -> None:
    da, de = _as_dtype(actual), _as_dtype(expected)
    rtol, atol = _tolerances(da, de, rtol=rtol, atol=atol)
    if actual.shape != expected.shape:
        raise _Mismatch(AssertionError, f"The values for attribute 'shape' do not match: {Size(actual.shape)} != "
                                        f"{Size(expected.shape)}.")
    if check_dtype and da is not de:
        raise _Mismatch(AssertionError, f"The values for attribute 'dtype' do not match: {da} != {de}.")
    if da is not de:  # compared in the promoted dtype, as PyTorch
        common = dtypes.to_numpy(dtypes.promote_types(da, de))
        actual, expected = actual.astype(common), expected.astype(common)
    floating = actual.dtype.kind in "fc" or da in _DTYPE_PRECISIONS
    a = actual if floating else actual.astype(np.int64)
    e = expected if floating else expected.astype(np.int64)
    if a.dtype.kind not in "fc" and a.dtype != np.int64:  # bfloat16 and the like: compare in float32
        a, e = a.astype(np.float32), e.astype(np.float32)
    with np.errstate(all="ignore"):
        if rtol == 0 and atol == 0 and not floating:
            matches = a == e
        else:
            matches = np.isclose(a, e, rtol=rtol, atol=atol, equal_nan=equal_nan)
        if matches.all():
            return
        if actual.ndim == 0:
            actual_v, expected_v = a.item(), e.item()
            abs_diff = abs(actual_v - expected_v)
            rel_diff = float("inf") if expected_v == 0 else abs_diff / abs(expected_v)
            _fail(_mismatch_msg("Scalars", f"Expected {expected_v} but got {actual_v}.", abs_diff, None, atol,
                                rel_diff, None, rtol), msg)
        total = matches.size
        wrong = total - int(matches.sum())
        extra = f"Mismatched elements: {wrong} / {total} ({wrong / total:.1%})"
        abs_diff = np.abs(a - e).ravel()
        abs_diff[matches.ravel()] = 0
        rel_diff = abs_diff / np.abs(e).ravel()
        if not floating:  # PyTorch divides integers into the default float dtype
            rel_diff = rel_diff.astype(np.float32)
        rel_diff[matches.ravel()] = 0
    ia, ir = int(np.argmax(abs_diff)), int(np.argmax(rel_diff))  # the first greatest (NaN counts as greatest)

    def index(flat):
        return tuple(int(i) for i in np.unravel_index(flat, matches.shape))

    _fail(_mismatch_msg("Tensor-likes", extra, abs_diff[ia].item(), index(ia), atol, rel_diff[ir].item(), index(ir),
                        rtol), msg)


def _is_number(x: Any) -> bool:
    return isinstance(x, (bool, int, float, np.number, np.bool_)) and not isinstance(x, complex)


def _number(x: Any) -> Any:
    return x.item() if isinstance(x, (np.number, np.bool_)) else x


def _compare(actual: Any, expected: Any, path: str, **kw: Any) -> None:
    try:
        if actual is None or expected is None:
            if actual is not expected:
                raise _Mismatch(AssertionError, f"None mismatch: {actual} is not {expected}")
            return
        if isinstance(actual, Tensor) and isinstance(expected, Tensor):
            return _compare_arrays(actual.detach().numpy(), expected.detach().numpy(), **kw)
        if isinstance(actual, np.ndarray) and isinstance(expected, np.ndarray):
            return _compare_arrays(actual, expected, **kw)
        if _is_number(actual) and _is_number(expected):
            return _compare_numbers(_number(actual), _number(expected), **kw)
    except _Mismatch as m:
        if path:
            m.msg += f"\n\nThe failure occurred for item {path}"
        raise
    strings = (str, bytes)
    if isinstance(actual, collections.abc.Mapping) and isinstance(expected, collections.abc.Mapping):
        ka, ke = set(actual), set(expected)
        if ka != ke:
            raise _Mismatch(AssertionError, "The keys of the mappings do not match:\n"
                                            f"Missing keys in the actual mapping: {sorted(ke - ka)}\n"
                                            f"Additional keys in the actual mapping: {sorted(ka - ke)}")
        for k in actual:
            _compare(actual[k], expected[k], f"{path}[{k!r}]", **kw)
        return
    if (isinstance(actual, collections.abc.Sequence) and isinstance(expected, collections.abc.Sequence)
            and not isinstance(actual, strings) and not isinstance(expected, strings)):
        if len(actual) != len(expected):
            raise _Mismatch(AssertionError,
                            f"The length of the sequences mismatch: {len(actual)} != {len(expected)}")
        for i, (a, e) in enumerate(zip(actual, expected)):
            _compare(a, e, f"{path}[{i}]", **kw)
        return
    raise _Mismatch(TypeError, f"No comparison pair was able to handle inputs of type {type(actual)} and "
                               f"{type(expected)}.")


def assert_close(actual: Any, expected: Any, *, allow_subclasses: bool = True, rtol: float | None = None,
                 atol: float | None = None, equal_nan: bool = False, check_device: bool = True,
                 check_dtype: bool = True, check_layout: bool = True, check_stride: bool = False,
                 msg: str | Callable[[str], str] | None = None) -> None:
    """Asserts ``actual`` and ``expected`` are close: |actual - expected| <= atol + rtol * |expected|
    elementwise, with equal shapes (and dtypes, with ``check_dtype``); containers compared item by item.

    Args:
        actual: a Tensor, NumPy array, Python scalar, or a sequence or mapping of them.
        expected: the same kind of object as ``actual``.
        rtol: the relative tolerance; give both or neither (then the table in the module docstring).
        atol: the absolute tolerance.
        equal_nan: NaNs compare equal. Default: False.
        check_dtype: the dtypes must be equal; if not checked, both are promoted to a common dtype.
        msg: a message to raise instead, or a callable that maps the default message to one.
        allow_subclasses, check_device, check_layout, check_stride: accepted for PyTorch's signature (one
            device, one layout).

    Raises:
        AssertionError: the values, shapes or dtypes differ (the message names the greatest differences,
            their indices and, in a container, the item).
        ValueError: only one of rtol and atol given.
        TypeError: inputs of a kind that cannot be compared.

    Example::

        >>> assert_close(nnzoo.tensor([1.0, 2.0]), nnzoo.tensor([1.0, 2.0 + 1e-6]))
        >>> assert_close(nnzoo.tensor([1.0, 2.0]), nnzoo.tensor([1.0, 2.5]))
        Traceback (most recent call last):
            ...
        AssertionError: Tensor-likes are not close!
        <BLANKLINE>
        Mismatched elements: 1 / 2 (50.0%)
        Greatest absolute difference: 0.5 at index (1,) (up to 1e-05 allowed)
        Greatest relative difference: 0.20000000298023224 at index (1,) (up to 1.3e-06 allowed)
    """
    try:
        _compare(actual, expected, "", rtol=rtol, atol=atol, equal_nan=equal_nan, check_dtype=check_dtype, msg=msg)
    except _Mismatch as m:
        raise m.kind(m.msg) from None


def assert_allclose(actual: Any, expected: Any, rtol: float | None = None, atol: float | None = None,
                    equal_nan: bool = True, msg: str = "") -> None:
    """Deprecated since PyTorch 1.12 (a FutureWarning, as there): ``assert_close`` without the dtype check,
    NaNs equal, non-tensors made tensors and older default tolerances (float16 1e-3/1e-3, float32 1e-4/1e-5,
    float64 1e-5/1e-8).

    Example::

        >>> import warnings
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     assert_allclose(nnzoo.tensor([1.0]), [1.00001])
    """
    warnings.warn("`torch.testing.assert_allclose()` is deprecated since 1.12 and will be removed in a future "
                  "release. Please use `torch.testing.assert_close()` instead. You can find detailed upgrade "
                  "instructions in https://github.com/pytorch/pytorch/issues/61844.", FutureWarning, stacklevel=2)
    from .creation import tensor
    if not isinstance(actual, Tensor):
        actual = tensor(actual)
    if not isinstance(expected, Tensor):
        expected = tensor(expected, dtype=actual.dtype)
    if rtol is None and atol is None:
        rtol, atol = _tolerances(actual.dtype, expected.dtype, rtol=None, atol=None, precisions={
            dtypes.float16: (1e-3, 1e-3), dtypes.float32: (1e-4, 1e-5), dtypes.float64: (1e-5, 1e-8)})
    assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan, check_dtype=False, msg=msg or None)
