"""The API from before PyTorch 0.4 merged ``Variable`` into ``Tensor``, which old tutorials still use:
``Variable(t, requires_grad=True)`` and the typed constructors ``FloatTensor``, ``LongTensor``, ....

Both return plain Tensors; ``isinstance`` answers as in PyTorch (every tensor is a ``Variable``; a
``FloatTensor`` is a float32 tensor).
"""
from __future__ import annotations

import numbers
from typing import Any

from .. import dtypes
from ..tensor import Size, Tensor
from .engine import execution_engine

__all__ = ["Variable", "FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor", "ShortTensor",
           "CharTensor", "ByteTensor", "BoolTensor"]


class _VariableMeta(type):
    def __instancecheck__(cls, other: object) -> bool:
        return isinstance(other, Tensor)


class Variable(metaclass=_VariableMeta):
    """``Variable(data, requires_grad=False)``: a new tensor sharing ``data``'s values, a leaf of the graph
    (``data.detach()``) that requires grad as asked. Every tensor is an instance of ``Variable``.

    Args:
        data: the tensor to wrap.
        requires_grad: whether the new leaf records operations for autograd. Default: False.
        volatile: ignored (it became ``no_grad`` in PyTorch 0.4).

    Example::

        >>> from nnzoo.autograd import Variable
        >>> v = Variable(nnzoo.ones(2), requires_grad=True)
        >>> (v * 3).sum().backward()
        >>> v.grad
        tensor([3., 3.])
    """

    _execution_engine = execution_engine  # queue_callback(fn): fn runs when the running backward pass ends

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = False, volatile: bool = False) -> Tensor:
        if data is None:
            return Tensor(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        return data.detach().requires_grad_(requires_grad)


class _LegacyTensorMeta(type):
    def __instancecheck__(cls, other: object) -> bool:
        return isinstance(other, Tensor) and other.dtype == cls.dtype

    def __repr__(cls) -> str:
        return f"<class 'nnzoo.{cls.__name__}'>"


class _LegacyTensor(metaclass=_LegacyTensorMeta):
    """``XTensor(*sizes)`` (uninitialised), ``XTensor(size)`` of a ``Size``, ``XTensor(data)`` from a sequence
    or array, ``XTensor()`` (empty), ``XTensor(tensor)`` of the same dtype: PyTorch's legacy constructors."""

    dtype: dtypes.dtype
    is_cuda = False

    def __new__(cls, *args: Any, device: Any = None) -> Tensor:
        if len(args) == 1 and not isinstance(args[0], numbers.Integral):
            data = args[0]
            if isinstance(data, Size):
                return Tensor(*data, dtype=cls.dtype)
            if isinstance(data, Tensor):
                if data.dtype != cls.dtype:
                    raise TypeError(f"{cls.__name__}: expected a tensor of dtype {cls.dtype}, got one of {data.dtype}")
                return data.detach()
            if not hasattr(data, "__len__"):
                raise TypeError(f"new(): data must be a sequence (got {type(data).__name__})")
            return Tensor(data, dtype=cls.dtype)
        return Tensor(*args, dtype=cls.dtype) if args else Tensor(0, dtype=cls.dtype)


def _legacy(name: str, dtype: dtypes.dtype) -> type:
    doc = (f"Legacy constructor of {dtype} tensors (``nnzoo.{name}(2, 3)``, ``nnzoo.{name}([1, 2])``); "
           f"``isinstance(t, nnzoo.{name})`` is ``t.dtype == {dtype}``.")
    return _LegacyTensorMeta(name, (_LegacyTensor,), {"dtype": dtype, "__doc__": doc, "__module__": __name__})


FloatTensor = _legacy("FloatTensor", dtypes.float32)
DoubleTensor = _legacy("DoubleTensor", dtypes.float64)
HalfTensor = _legacy("HalfTensor", dtypes.float16)
LongTensor = _legacy("LongTensor", dtypes.int64)
IntTensor = _legacy("IntTensor", dtypes.int32)
ShortTensor = _legacy("ShortTensor", dtypes.int16)
CharTensor = _legacy("CharTensor", dtypes.int8)
ByteTensor = _legacy("ByteTensor", dtypes.uint8)
BoolTensor = _legacy("BoolTensor", dtypes.bool)
