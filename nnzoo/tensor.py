"""``Tensor``: an n-dimensional array plus what autograd needs (``requires_grad``, ``grad``, the node
that made it). Operators and methods forward to the op functions in ``nnzoo.ops``; the math lives
there, one op family per file."""
from __future__ import annotations

import math
import mmap
import numbers
import os
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import dtypes
from ._device import _CPU, NotCompiledError
from ._device import check as _device_check
from ._device import device as _Device

_ndarray = np.ndarray
# the builtins under names that Tensor's methods float(), int() and bool() do not shadow (as PyTorch's stubs)
_int, _float, _bool = int, float, bool


class SparseNotImplementedError(NotImplementedError):
    """A dense op was handed a sparse COO tensor (see :mod:`nnzoo.sparse`): PyTorch's "not implemented for
    'SparseCPU'"."""


class layout:
    """How a tensor stores its elements: ``nnzoo.strided`` (dense) or ``nnzoo.sparse_coo`` (PyTorch's names)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"nnzoo.{self.name}"

    def __reduce__(self):
        return self.name


strided = layout("strided")
sparse_coo = layout("sparse_coo")


class Tensor:
    """An n-dimensional array that records the ops applied to it when it requires grad.

    Make tensors with ``nnzoo.tensor(data)`` or a factory (``nnzoo.zeros``, ``nnzoo.randn``, ...).
    ``Tensor(data)`` (float32) and ``Tensor(*sizes)`` (uninitialised) work as in PyTorch.

    Example::

        >>> x = nnzoo.tensor([1.0, 2.0, 3.0], requires_grad=True)
        >>> y = (x * x).sum()
        >>> y.backward()
        >>> x.grad
        tensor([2., 4., 6.])
    """

    __slots__ = ("_data", "requires_grad", "grad", "grad_fn", "_output_nr", "_vc", "_accum",
                 "__weakref__")
    is_sparse = False  # a dense tensor (nnzoo.sparse.SparseTensor says True)
    layout = strided
    __array_ufunc__ = None  # NumPy defers to our reflected operators: np.float32(2) * t is a Tensor
    __array_priority__ = 1000

    def __init__(self, *args: Any, dtype: dtypes.dtype | None = None, requires_grad: _bool = False) -> None:
        if len(args) == 1 and not isinstance(args[0], numbers.Integral):
            arr = np.array(args[0]._data if isinstance(args[0], Tensor) else args[0],
                           dtype=dtypes.to_numpy(dtype) or dtypes.get_default_dtype().np)
        else:
            sizes = args[0] if len(args) == 1 and not isinstance(args[0], numbers.Integral) else args
            arr = np.empty(tuple(sizes), dtype=dtypes.to_numpy(dtype) or dtypes.get_default_dtype().np)
        self._data = arr
        self.requires_grad = False
        self.grad = None
        self.grad_fn = None
        self._output_nr = 0
        self._vc = [0]
        self._accum = None
        if requires_grad:
            self.requires_grad_()

    @staticmethod
    def _make(arr, requires_grad=False, grad_fn=None, output_nr=0):
        """Wrap an array without copying (the fast path every op uses)."""
        t = _new(Tensor)
        t._data = arr if type(arr) is _ndarray else np.asarray(arr)
        t.requires_grad = requires_grad
        t.grad = None
        t.grad_fn = grad_fn
        t._output_nr = output_nr
        t._vc = [0]
        t._accum = None
        return t

    def _edge(self):
        """(node, output index) that gradients for this tensor flow into."""
        if self.grad_fn is not None:
            return self.grad_fn, self._output_nr
        edge = self._accum  # a leaf's edge (its AccumulateGrad node, 0), made once
        if edge is None:
            edge = self._accum = (AccumulateGrad(self), 0)
        return edge

    # ---- metadata ------------------------------------------------------------------------------
    @property
    def shape(self):
        return Size(self._data.shape)

    def size(self, dim: _int | None = None) -> Size | _int:
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_wrap_dim(dim, self._data.ndim, "size")]

    @property
    def dtype(self):
        return dtypes.from_numpy(self._data.dtype)

    @property
    def ndim(self):
        return self._data.ndim

    def dim(self) -> _int:
        return self._data.ndim

    ndimension = dim

    def numel(self) -> _int:
        return self._data.size

    nelement = numel

    def element_size(self) -> _int:
        return self._data.itemsize

    @property
    def device(self) -> _Device:
        """Where the tensor lives: always ``device(type='cpu')`` (nnzoo computes on the CPU)."""
        return _CPU

    @property
    def is_leaf(self):
        return self.grad_fn is None

    @property
    def is_cuda(self) -> _bool:
        return False

    @property
    def is_xpu(self) -> _bool:
        return False

    @property
    def is_mps(self) -> _bool:
        return False

    @property
    def is_meta(self) -> _bool:
        return False

    @property
    def is_cpu(self) -> _bool:
        return True

    def get_device(self) -> _int:
        """The CUDA ordinal of the tensor's device; -1 for the CPU, as in PyTorch."""
        return -1

    def is_floating_point(self) -> _bool:
        return self._data.dtype.kind == "f" or _is_bf16(self._data.dtype)

    def is_contiguous(self) -> _bool:
        return self._data.flags.c_contiguous

    def stride(self, dim: _int | None = None) -> tuple[_int, ...] | _int:
        st = tuple(s // self._data.itemsize for s in self._data.strides)
        return st if dim is None else st[_wrap_dim(dim, self._data.ndim, "stride")]

    @property
    def _version(self):
        return self._vc[0]

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    # ---- data access ---------------------------------------------------------------------------
    def numpy(self, *, force: _bool = False) -> np.ndarray:
        """The underlying NumPy array (shared memory, as in PyTorch)."""
        if self.requires_grad and not force:
            raise RuntimeError("numpy(): can't call numpy() on a tensor that requires grad; use "
                               "tensor.detach().numpy()")
        return self._data

    def __array__(self, dtype=None, copy=None):
        return self._data if dtype is None else self._data.astype(dtype)

    def item(self) -> _float | _int | _bool:
        if self._data.size != 1:
            raise RuntimeError(f"item(): a tensor with {self._data.size} elements cannot be converted "
                               "to a Python scalar")
        return self._data.item()

    def tolist(self) -> Any:
        return self._data.tolist()

    @property
    def data(self):
        """A tensor sharing this one's memory, detached from the graph (PyTorch's ``.data``)."""
        t = Tensor._make(self._data)
        t._vc = self._vc
        return t

    @data.setter
    def data(self, value):
        self._data = value._data if isinstance(value, Tensor) else np.asarray(value)

    def __repr__(self):
        arr = self._data
        body = _format_array(arr)
        extra = ""
        if arr.dtype not in (np.float32, np.int64, np.bool_) or (arr.size == 0 and arr.dtype != np.float32):
            extra += f", dtype={self.dtype}"
        if arr.size == 0 and arr.ndim != 1:
            extra = f", size={tuple(arr.shape)}" + extra
        if self.grad_fn is not None:
            extra += f", grad_fn={self.grad_fn!r}"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of a tensor with {self._data.size} elements is ambiguous")
        return bool(self._data)

    def __int__(self):
        return int(self.item())

    def __float__(self):
        return float(self.item())

    def __index__(self):
        if self._data.dtype.kind not in "iu" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self._data)

    def __hash__(self):
        return id(self)

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __reduce_ex__(self, protocol):
        raise TypeError("nnzoo tensors are not pickled: save them with nnzoo.save (safetensors)")

    def __deepcopy__(self, memo):
        """``copy.deepcopy``: a new leaf with a copy of the data, ``requires_grad`` and ``.grad`` (copied), of the
        same class (a Parameter stays a Parameter). As in PyTorch only leaves can be deep-copied, so
        ``copy.deepcopy(model)`` works and a graph is never copied."""
        if id(self) in memo:
            return memo[id(self)]
        if self.grad_fn is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support the deepcopy "
                               "protocol at the moment; detach() it first")
        new = Tensor._make(self._data.copy())
        if type(self) is not Tensor:
            new = type(self)(new, requires_grad=self.requires_grad)
        else:
            new.requires_grad = self.requires_grad
        memo[id(self)] = new
        if self.grad is not None:
            new.grad = self.grad.__deepcopy__(memo)
        return new

    # ---- autograd --------------------------------------------------------------------------------
    def backward(self, gradient: Tensor | None = None, retain_graph: _bool | None = None, create_graph: _bool = False,
                 inputs: Sequence[Tensor] | None = None) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``; a non-scalar needs ``gradient``."""
        engine.backward(self, gradient, retain_graph, create_graph, inputs)

    def requires_grad_(self, requires_grad: _bool = True) -> Tensor:
        if self.grad_fn is not None and not requires_grad:
            raise RuntimeError("requires_grad_(False) on a non-leaf tensor: use detach() instead")
        if requires_grad and self._data.dtype.kind != "f":
            if _is_bf16(self._data.dtype):  # NOTE: nnzoo's autograd computes in float16/32/64 (see dtypes' doc)
                raise RuntimeError("requires_grad on a bfloat16 tensor: nnzoo's bfloat16 is a storage and cast dtype, "
                                   "its ops are not differentiated; convert with .float() first")
            raise RuntimeError(f"only floating point tensors can require gradients, not {self.dtype}")
        self.requires_grad = requires_grad
        return self

    def detach(self) -> Tensor:
        t = Tensor._make(self._data)
        t._vc = self._vc
        return t

    def detach_(self) -> Tensor:
        self.grad_fn = None
        self.requires_grad = False
        return self

    def retain_grad(self) -> None:
        if not self.requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad")
        if self.grad_fn is None:
            return
        node = self.grad_fn
        if node._retained is None:
            node._retained = {}
        node._retained[self._output_nr] = weakref.ref(self)

    @property
    def retains_grad(self):
        node = self.grad_fn
        return node is not None and node._retained is not None and self._output_nr in node._retained

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> RemovableHandle:
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned tensor replaces it. Returns a
        handle whose ``remove()`` unregisters the hook."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        node, nr = self._edge()
        return node.register_prehook(nr, hook)

    def register_post_accumulate_grad_hook(self, hook: Callable[[Tensor], None]) -> RemovableHandle:
        """Call ``hook(self)`` after a backward pass accumulated this leaf's gradient into ``.grad``.

        Hooks of one leaf run in registration order, after its ``register_hook`` hooks and the accumulation, in
        the pass's grad mode (off unless ``create_graph=True``); ``autograd.grad`` accumulates nothing and calls
        none. The hook may change the tensor and its ``.grad`` in place (an optimizer step fused into backward);
        it must return None. Leaves only, as PyTorch.

        Args:
            hook: ``hook(param) -> None``.

        Returns:
            A handle whose ``remove()`` unregisters the hook.

        Example::

            >>> v = nnzoo.zeros(3, requires_grad=True)
            >>> h = v.register_post_accumulate_grad_hook(lambda p: p.add_(p.grad, alpha=-0.01))
            >>> v.backward(nnzoo.tensor([1., 2., 3.]))
            >>> v
            tensor([-0.0100, -0.0200, -0.0300], requires_grad=True)
        """
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        node = self._edge()[0]
        if node._post_hooks is None:
            node._post_hooks = OrderedDict()
        handle = RemovableHandle(node._post_hooks)
        node._post_hooks[handle.id] = hook
        return handle

    # ---- dtype conversion and copies ---------------------------------------------------------------
    def to(self, *args: Any, dtype: dtypes.dtype | None = None, **kwargs: Any) -> Tensor:
        """The tensor with another dtype and/or on another device, as PyTorch's ``to``.

        ``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other)`` (other's dtype and device), each with
        ``non_blocking=`` and ``copy=``. A cast is differentiable; with the same dtype (and no ``copy=True``) the
        tensor itself comes back. The CPU is the only device that holds tensors: ``"cpu"``, ``device("cpu")`` and
        None are accepted, a CUDA device raises as a CPU-only PyTorch build does.

        Example::

            >>> x = nnzoo.ones(2)
            >>> x.to("cpu") is x
            True
            >>> x.to(nnzoo.device("cpu"), nnzoo.float64).dtype
            nnzoo.float64
        """
        dtype, copy = _to_args(args, dtype, kwargs)
        if dtype is None or dtype.np == self._data.dtype:
            return self.clone() if copy else self
        return _arith.cast(self, dtype)

    def type(self, dtype: dtypes.dtype | None = None, non_blocking: _bool = False) -> Tensor | str:
        """Without ``dtype``, the legacy type name (``'nnzoo.FloatTensor'``); with one, ``to(dtype)``."""
        if dtype is None:
            return f"nnzoo.{_TYPE_NAMES[self.dtype.name]}Tensor"
        return self.to(dtype)

    def float(self) -> Tensor:
        return self.to(dtypes.float32)

    def double(self) -> Tensor:
        return self.to(dtypes.float64)

    def half(self) -> Tensor:
        return self.to(dtypes.float16)

    def bfloat16(self) -> Tensor:
        """The tensor as ``nnzoo.bfloat16`` (rounded to nearest even, as PyTorch)."""
        return self.to(dtypes.bfloat16)

    def long(self) -> Tensor:
        return self.to(dtypes.int64)

    def int(self) -> Tensor:
        return self.to(dtypes.int32)

    def bool(self) -> Tensor:
        return self.to(dtypes.bool)

    def type_as(self, other: Tensor) -> Tensor:
        return self.to(other.dtype)

    def cpu(self, memory_format: Any = None) -> Tensor:
        """The tensor on the CPU: the tensor itself, as every nnzoo tensor lives there."""
        return self

    def cuda(self, device: _int | str | _Device | None = None, non_blocking: _bool = False,
             memory_format: Any = None) -> Tensor:
        """Raises as a CPU-only PyTorch build does: nnzoo has no CUDA device (``nnzoo.cuda.is_available()`` is
        False)."""
        _device_check("cuda" if device is None else device, "to")
        raise NotCompiledError("Torch not compiled with CUDA enabled")  # a CPU device named: not CUDA

    def xpu(self, device: _int | str | _Device | None = None, non_blocking: _bool = False,
            memory_format: Any = None) -> Tensor:
        """Raises as a PyTorch build without XPU does."""
        _device_check("xpu" if device is None else device, "to")
        raise NotCompiledError("Torch not compiled with XPU enabled")

    def to_sparse(self, sparse_dim: _int | None = None) -> Tensor:
        """A sparse COO copy holding the nonzero elements (of the first ``sparse_dim`` dims: rows with any
        nonzero value; default all dims), coalesced."""
        return _sparse.from_dense(self, sparse_dim)

    def clone(self) -> Tensor:
        return _arith.clone(self)

    def contiguous(self) -> Tensor:
        return self if self._data.flags.c_contiguous else _arith.clone(self)

    # ---- shared memory (torch.multiprocessing) ------------------------------------------------------
    def share_memory_(self) -> Tensor:
        """Move the values into memory shared with processes started later; a no-op when already shared.

        The array behind the tensor becomes a C-contiguous copy (same dtype, shape and values) in a shared
        mapping: a ``memfd_create`` file mapped ``MAP_SHARED`` (an anonymous ``MAP_SHARED`` mmap where the OS
        has no memfd). A process forked afterwards maps the same pages, so its in-place writes (an optimizer
        step on a shared model) are seen by this process. ``nnzoo.multiprocessing`` passes the mapping's file
        descriptor when it pickles a tensor (a ``Queue``, a ``Process``'s arguments under the "spawn" start
        method), so spawned processes share it too, as PyTorch's "file_descriptor" strategy does.
        NOTE: tensors made from the old array before the call (``t.data``, views) keep the old memory.

        Example::

            >>> t = nnzoo.arange(4.0).share_memory_()
            >>> t.is_shared(), t
            (True, tensor([0., 1., 2., 3.]))
        """
        if _shared_mapping_of(self._data) is None:
            self._data = _shared_copy(self._data)
        return self

    def is_shared(self) -> _bool:
        """Whether the values live in shared memory (``share_memory_``, or received from another process)."""
        return _shared_mapping_of(self._data) is not None

    def new_tensor(self, data: Any, dtype: dtypes.dtype | None = None, device: str | _Device | None = None,
                   requires_grad: _bool = False) -> Tensor:
        return creation.tensor(data, dtype=dtype or self.dtype, device=_device_check(device),
                               requires_grad=requires_grad)

    def new_zeros(self, *size: _int | Sequence[_int], dtype: dtypes.dtype | None = None,
                  device: str | _Device | None = None, requires_grad: _bool = False) -> Tensor:
        return creation.zeros(*size, dtype=dtype or self.dtype, device=_device_check(device),
                              requires_grad=requires_grad)

    def new_ones(self, *size: _int | Sequence[_int], dtype: dtypes.dtype | None = None,
                  device: str | _Device | None = None, requires_grad: _bool = False) -> Tensor:
        return creation.ones(*size, dtype=dtype or self.dtype, device=_device_check(device),
                              requires_grad=requires_grad)

    def new_full(self, size: Sequence[_int], fill_value: _float, dtype: dtypes.dtype | None = None,
                 device: str | _Device | None = None, requires_grad: _bool = False) -> Tensor:
        return creation.full(size, fill_value, dtype=dtype or self.dtype, device=_device_check(device),
                             requires_grad=requires_grad)

    def new_empty(self, *size: _int | Sequence[_int], dtype: dtypes.dtype | None = None,
                  device: str | _Device | None = None, requires_grad: _bool = False) -> Tensor:
        return creation.empty(*size, dtype=dtype or self.dtype, device=_device_check(device),
                              requires_grad=requires_grad)

    # ---- in-place ops ------------------------------------------------------------------------------
    # Outside the graph (no_grad, or nothing requires grad) they write straight into the memory.
    # Inside it, PyTorch's semantics: the op is recorded as usual and the tensor, keeping its memory
    # (views see the change), takes the op's node as its new history; a leaf that requires grad may
    # not be changed. Every write bumps the version counter, so a node that saved the old values
    # raises at backward instead of using the overwritten ones.
    def _inplace(self, name, fn):
        """Compute ``fn(self)`` (a Tensor, array or number) and write it into this tensor."""
        if not state.enabled:
            return self._write(name, fn(self))
        if self.requires_grad and self.grad_fn is None:
            raise RuntimeError(
                f"{name}: a leaf tensor that requires grad can't be changed in place while grad mode is "
                "on; wrap the update in nnzoo.no_grad() (as optimizers do) or use the out-of-place form")
        if self.grad_fn is not None and self.grad_fn._forbid_inplace:
            raise RuntimeError(
                f"Output {self._output_nr} of {type(self.grad_fn).__name__} is a view and is being modified inplace. "
                "This view was created inside a custom Function (or because an input was returned as-is) and the "
                "autograd logic to handle view+inplace would override the custom backward associated with the custom "
                "Function, leading to incorrect gradients. This behavior is forbidden. You can fix this by cloning "
                "the output of the custom Function.")
        # the op sees an alias (same memory and version counter) so that, if it saved its input for
        # backward, that one reference can be swapped for a copy of the values before they are overwritten
        alias = Tensor._make(self._data, self.requires_grad, self.grad_fn, self._output_nr)
        alias._vc = self._vc
        result = fn(alias)
        if not (isinstance(result, Tensor) and result.requires_grad):
            return self._write(name, result)
        node = result.grad_fn
        for saved in node._saved or ():
            if saved is not None and saved.tensor is alias:
                keep = _arith.clone(alias)
                saved.tensor, saved.version = keep, keep._vc[0]
        self._write(name, result)
        self.grad_fn, self._output_nr, self.requires_grad = node, result._output_nr, True
        return self

    def _write(self, name, value):
        """Copy ``value`` (broadcast, cast within its kind) into this tensor's memory; bump the version."""
        arr = value._data if isinstance(value, Tensor) else value
        shape = np.shape(arr)
        if shape != self._data.shape and np.broadcast_shapes(shape, self._data.shape) != self._data.shape:
            raise RuntimeError(f"{name}: result of shape {tuple(shape)} can't be written into a tensor of "
                               f"shape {tuple(self._data.shape)}")
        # PyTorch writes any integer result into any integer tensor (wrapping, e.g. uint8 ^= int64); NumPy's
        # same_kind refuses signed into unsigned
        ints = type(arr) is np.ndarray and arr.dtype.kind in "iu" and self._data.dtype.kind in "iu"
        try:
            np.copyto(self._data, arr, casting="unsafe" if ints else "same_kind")
        except TypeError:
            raise RuntimeError(f"{name}: result type {np.result_type(arr)} can't be cast to the tensor's "
                               f"dtype {self.dtype}") from None
        except ValueError as e:
            raise RuntimeError(f"{name}: {e}") from None
        self._vc[0] += 1
        return self

    def _ufunc_inplace(self, name, ufunc, op, other):
        if state.enabled and (self.requires_grad or getattr(other, "requires_grad", False)):
            return self._inplace(name, lambda t: op(t, other))
        o = other._data if isinstance(other, Tensor) else other
        try:
            ufunc(self._data, o, out=self._data, casting="same_kind")
        except TypeError:  # NumPy's UFuncTypeError: e.g. a float result into an integer tensor
            raise RuntimeError(f"{name}: result type can't be cast to the tensor's dtype {self.dtype}") \
                from None
        except ValueError as e:
            raise RuntimeError(f"{name}: shapes {tuple(self.shape)} and {tuple(np.shape(o))}: {e}") from None
        self._vc[0] += 1
        return self

    def add_(self, other: Tensor | _float, alpha: _float = 1) -> Tensor:
        try:
            return self._ufunc_inplace("add_", np.add, _arith.add, other if alpha == 1 else other * alpha)
        except SparseNotImplementedError:  # dense.add_(sparse): a scatter-add (nnzoo.sparse)
            if not other.is_sparse:
                raise
            return _sparse.add_dense_(self, other, alpha)

    def sub_(self, other: Tensor | _float, alpha: _float = 1) -> Tensor:
        try:
            return self._ufunc_inplace("sub_", np.subtract, _arith.sub, other if alpha == 1 else other * alpha)
        except SparseNotImplementedError:
            if not other.is_sparse:
                raise
            return _sparse.add_dense_(self, other, -alpha)

    def mul_(self, other: Tensor | _float) -> Tensor:
        return self._ufunc_inplace("mul_", np.multiply, _arith.mul, other)

    def div_(self, other: Tensor | _float) -> Tensor:
        return self._ufunc_inplace("div_", np.true_divide, _arith.div, other)

    __iadd__ = add_
    __isub__ = sub_
    __imul__ = mul_
    __itruediv__ = div_

    def pow_(self, exponent: Tensor | _float) -> Tensor:
        return self._inplace("pow_", lambda t: t.pow(exponent))

    def zero_(self) -> Tensor:
        return self._inplace("zero_", lambda t: _constant_like(t, 0))

    def fill_(self, value: Any) -> Tensor:
        return self._inplace("fill_", lambda t: _constant_like(t, value))

    def copy_(self, src: Tensor | _float) -> Tensor:
        return self._inplace("copy_", lambda t: _constant_like(t, src))

    def clamp_(self, min: _float | Tensor | None = None, max: _float | Tensor | None = None) -> Tensor:
        return self._inplace("clamp_", lambda t: t.clamp(min, max))

    clip_ = clamp_

    def uniform_(self, a: _float = 0.0, b: _float = 1.0, generator: nz_random.Generator | None = None) -> Tensor:
        draw = nz_random._gen(generator).uniform(a, b, self._data.shape)
        return self._inplace("uniform_", lambda t: _constant_like(t, draw))

    def normal_(self, mean: _float = 0.0, std: _float = 1.0, generator: nz_random.Generator | None = None) -> Tensor:
        draw = nz_random._gen(generator).normal(mean, std, self._data.shape)
        return self._inplace("normal_", lambda t: _constant_like(t, draw))

    def bernoulli(self, p: _float | Tensor | None = None, *, generator: nz_random.Generator | None = None) -> Tensor:
        return nz_random.bernoulli(self, p, generator=generator)

    def multinomial(self, num_samples: _int, replacement: _bool = False, *,
                    generator: nz_random.Generator | None = None) -> Tensor:
        return nz_random.multinomial(self, num_samples, replacement, generator=generator)

    def bernoulli_(self, p: _float | Tensor = 0.5, generator: nz_random.Generator | None = None) -> Tensor:
        draw = nz_random._gen(generator).random(self._data.shape) < p
        return self._inplace("bernoulli_", lambda t: _constant_like(t, draw))

    def masked_fill_(self, mask: Tensor, value: Any) -> Tensor:
        return self._inplace("masked_fill_", lambda t: t.masked_fill(mask, value))

    def exp_(self) -> Tensor:
        return self._inplace("exp_", lambda t: t.exp())

    def relu_(self) -> Tensor:
        return self._inplace("relu_", lambda t: t.relu())

    def sigmoid_(self) -> Tensor:
        return self._inplace("sigmoid_", lambda t: t.sigmoid())

    def tanh_(self) -> Tensor:
        return self._inplace("tanh_", lambda t: t.tanh())

    def __setitem__(self, key, value):
        _index.setitem(self, _range_key(key), value)

    # ---- arithmetic ------------------------------------------------------------------------------
    def __add__(self, other):
        return _arith._binary(_arith.Add, self, other)

    def __radd__(self, other):
        return _arith._binary(_arith.Add, other, self)

    def __sub__(self, other):
        return _arith._binary(_arith.Sub, self, other)

    def __rsub__(self, other):
        return _arith._binary(_arith.Sub, other, self)

    def __mul__(self, other):
        return _arith._binary(_arith.Mul, self, other)

    def __rmul__(self, other):
        return _arith._binary(_arith.Mul, other, self)

    def __truediv__(self, other):
        return _arith.div(self, other)

    def __rtruediv__(self, other):
        return _arith.div(other, self)

    def __floordiv__(self, other):
        return _arith.div(self, other, rounding_mode="floor")

    def __rfloordiv__(self, other):
        return _arith.div(other, self, rounding_mode="floor")

    def __mod__(self, other):
        return _arith.remainder(self, other)

    def __pow__(self, other):
        return _arith.pow(self, other)

    def __rpow__(self, other):
        return _arith.pow(other, self)

    def __matmul__(self, other):
        return _linalg.matmul(self, other)

    def __rmatmul__(self, other):
        return _linalg.matmul(other, self)

    def __neg__(self):
        return _arith.neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _unary.abs(self)

    def __eq__(self, other):
        return _arith.eq(self, other)

    def __ne__(self, other):
        return _arith.ne(self, other)

    def __lt__(self, other):
        return _arith.lt(self, other)

    def __le__(self, other):
        return _arith.le(self, other)

    def __gt__(self, other):
        return _arith.gt(self, other)

    def __ge__(self, other):
        return _arith.ge(self, other)

    def __and__(self, other):
        return _arith.bitwise_and(self, other)

    def __rand__(self, other):
        return _arith.bitwise_and(other, self)

    def __or__(self, other):
        return _arith.bitwise_or(self, other)

    def __ror__(self, other):
        return _arith.bitwise_or(other, self)

    def __xor__(self, other):
        return _arith.bitwise_xor(self, other)

    def __rxor__(self, other):
        return _arith.bitwise_xor(other, self)

    def __lshift__(self, other):
        return _arith.bitwise_left_shift(self, other)

    def __rlshift__(self, other):
        return _arith.bitwise_left_shift(other, self)

    def __rshift__(self, other):
        return _arith.bitwise_right_shift(self, other)

    def __rrshift__(self, other):
        return _arith.bitwise_right_shift(other, self)

    def __invert__(self):
        if self._data.dtype.kind == "f":
            raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type tensors")
        return _arith.bitwise_not(self)

    def __getitem__(self, key):
        return _index.getitem(self, _range_key(key))

    def __format__(self, format_spec: str) -> str:
        """``f"{t:.2f}"``: a 0-dim tensor formats as its Python number; any other tensor only with an empty
        spec (its repr), else the TypeError PyTorch raises."""
        if self._data.ndim == 0 and type(self) is Tensor:
            return self.item().__format__(format_spec)
        return object.__format__(self, format_spec)

    def add(self, other: Tensor | _float, alpha: _float = 1) -> Tensor:
        return _arith.add(self, other, alpha=alpha)

    def sub(self, other: Tensor | _float, alpha: _float = 1) -> Tensor:
        return _arith.sub(self, other, alpha=alpha)

    subtract = sub

    def mul(self, other: Tensor | _float) -> Tensor:
        return _arith.mul(self, other)

    multiply = mul

    def div(self, other: Tensor | _float, rounding_mode: str | None = None) -> Tensor:
        return _arith.div(self, other, rounding_mode=rounding_mode)

    divide = true_divide = div

    def remainder(self, other: Tensor | _float) -> Tensor:
        return _arith.remainder(self, other)

    def pow(self, exponent: Tensor | _float) -> Tensor:
        return _arith.pow(self, exponent)

    def neg(self) -> Tensor:
        return _arith.neg(self)

    negative = neg

    def maximum(self, other: Tensor | _float) -> Tensor:
        return _arith.maximum(self, other)

    def minimum(self, other: Tensor | _float) -> Tensor:
        return _arith.minimum(self, other)

    def eq(self, other: Tensor | _float) -> Tensor:
        return _arith.eq(self, other)

    def ne(self, other: Tensor | _float) -> Tensor:
        return _arith.ne(self, other)

    def lt(self, other: Tensor | _float) -> Tensor:
        return _arith.lt(self, other)

    def le(self, other: Tensor | _float) -> Tensor:
        return _arith.le(self, other)

    def gt(self, other: Tensor | _float) -> Tensor:
        return _arith.gt(self, other)

    def ge(self, other: Tensor | _float) -> Tensor:
        return _arith.ge(self, other)

    def equal(self, other: Tensor) -> _bool:
        return _arith.equal(self, other)

    def allclose(self, other: Tensor, rtol: _float = 1e-05, atol: _float = 1e-08, equal_nan: _bool = False) -> _bool:
        return _arith.allclose(self, other, rtol, atol, equal_nan)

    def isclose(self, other: Tensor, rtol: _float = 1e-05, atol: _float = 1e-08, equal_nan: _bool = False) -> Tensor:
        return _arith.isclose(self, other, rtol, atol, equal_nan)

    def logical_not(self) -> Tensor:
        return _arith.logical_not(self)

    def logical_and(self, other: Tensor | _float) -> Tensor:
        return _arith.logical_and(self, other)

    def logical_or(self, other: Tensor | _float) -> Tensor:
        return _arith.logical_or(self, other)

    def logical_xor(self, other: Tensor | _float) -> Tensor:
        return _arith.logical_xor(self, other)

    def bitwise_not(self) -> Tensor:
        return _arith.bitwise_not(self)

    def bitwise_and(self, other: Tensor | _float) -> Tensor:
        return _arith.bitwise_and(self, other)

    def bitwise_or(self, other: Tensor | _float) -> Tensor:
        return _arith.bitwise_or(self, other)

    def bitwise_xor(self, other: Tensor | _float) -> Tensor:
        return _arith.bitwise_xor(self, other)

    def bitwise_left_shift(self, other: Tensor | _float) -> Tensor:
        return _arith.bitwise_left_shift(self, other)

    def bitwise_right_shift(self, other: Tensor | _float) -> Tensor:
        return _arith.bitwise_right_shift(self, other)

    # in place (PyTorch's &=, |=, ^=, <<=, >>= change the tensor, not the name)
    def bitwise_not_(self) -> Tensor:
        return self._inplace("bitwise_not_", _arith.bitwise_not)

    def bitwise_and_(self, other: Tensor | _float) -> Tensor:
        return self._inplace("bitwise_and_", lambda t: _arith.bitwise_and(t, other))

    def bitwise_or_(self, other: Tensor | _float) -> Tensor:
        return self._inplace("bitwise_or_", lambda t: _arith.bitwise_or(t, other))

    def bitwise_xor_(self, other: Tensor | _float) -> Tensor:
        return self._inplace("bitwise_xor_", lambda t: _arith.bitwise_xor(t, other))

    def bitwise_left_shift_(self, other: Tensor | _float) -> Tensor:
        return self._inplace("bitwise_left_shift_", lambda t: _arith.bitwise_left_shift(t, other))

    def bitwise_right_shift_(self, other: Tensor | _float) -> Tensor:
        return self._inplace("bitwise_right_shift_", lambda t: _arith.bitwise_right_shift(t, other))

    __iand__ = bitwise_and_
    __ior__ = bitwise_or_
    __ixor__ = bitwise_xor_
    __ilshift__ = bitwise_left_shift_
    __irshift__ = bitwise_right_shift_

    def where(self, condition: Tensor, other: Tensor | _float) -> Tensor:
        return _arith.where(condition, self, other)

    def isnan(self) -> Tensor:
        return Tensor._make(np.isnan(self._data))

    def isinf(self) -> Tensor:
        return Tensor._make(np.isinf(self._data))

    def isfinite(self) -> Tensor:
        return Tensor._make(np.isfinite(self._data))

    # ---- unary math ------------------------------------------------------------------------------
    def abs(self) -> Tensor:
        return _unary.abs(self)

    absolute = abs

    def exp(self) -> Tensor:
        return _unary.exp(self)

    def log(self) -> Tensor:
        return _unary.log(self)

    def log1p(self) -> Tensor:
        return _unary.log1p(self)

    def sqrt(self) -> Tensor:
        return _unary.sqrt(self)

    def rsqrt(self) -> Tensor:
        return _unary.rsqrt(self)

    def expm1(self) -> Tensor:
        return _unary.expm1(self)

    def log2(self) -> Tensor:
        return _unary.log2(self)

    def log10(self) -> Tensor:
        return _unary.log10(self)

    def reciprocal(self) -> Tensor:
        return _unary.reciprocal(self)

    def square(self) -> Tensor:
        return _unary.square(self)

    def tan(self) -> Tensor:
        return _unary.tan(self)

    def erf(self) -> Tensor:
        return _unary.erf(self)

    def erfc(self) -> Tensor:
        return _unary.erfc(self)

    def trunc(self) -> Tensor:
        return _unary.trunc(self)

    fix = trunc

    def clamp_min(self, min: _float | Tensor) -> Tensor:
        return _unary.clamp_min(self, min)

    def clamp_max(self, max: _float | Tensor) -> Tensor:
        return _unary.clamp_max(self, max)

    def sin(self) -> Tensor:
        return _unary.sin(self)

    def cos(self) -> Tensor:
        return _unary.cos(self)

    def tanh(self) -> Tensor:
        return _unary.tanh(self)

    def sigmoid(self) -> Tensor:
        return _unary.sigmoid(self)

    def relu(self) -> Tensor:
        return _unary.relu(self)

    def clamp(self, min: _float | Tensor | None = None, max: _float | Tensor | None = None) -> Tensor:
        return _unary.clamp(self, min, max)

    clip = clamp

    def sign(self) -> Tensor:
        return _unary.sign(self)

    def floor(self) -> Tensor:
        return _unary.floor(self)

    def ceil(self) -> Tensor:
        return _unary.ceil(self)

    def round(self, decimals: _int = 0) -> Tensor:
        return _unary.round(self, decimals=decimals)

    # ---- reductions --------------------------------------------------------------------------------
    def sum(self, dim: _int | tuple[_int, ...] | None = None, keepdim: _bool = False,
            dtype: dtypes.dtype | None = None) -> Tensor:
        return _reduce.sum(self, dim, keepdim, dtype=dtype)

    def mean(self, dim: _int | tuple[_int, ...] | None = None, keepdim: _bool = False,
             dtype: dtypes.dtype | None = None) -> Tensor:
        return _reduce.mean(self, dim, keepdim, dtype=dtype)

    def prod(self, dim: _int | None = None, keepdim: _bool = False, dtype: dtypes.dtype | None = None) -> Tensor:
        return _reduce.prod(self, dim, keepdim, dtype=dtype)

    def max(self, dim: _int | None = None, keepdim: _bool = False) -> Tensor | tuple[Tensor, Tensor]:
        return _reduce.max(self, dim, keepdim)

    def min(self, dim: _int | None = None, keepdim: _bool = False) -> Tensor | tuple[Tensor, Tensor]:
        return _reduce.min(self, dim, keepdim)

    def amax(self, dim: _int | tuple[_int, ...] = (), keepdim: _bool = False) -> Tensor:
        return _reduce.amax(self, dim, keepdim)

    def amin(self, dim: _int | tuple[_int, ...] = (), keepdim: _bool = False) -> Tensor:
        return _reduce.amin(self, dim, keepdim)

    def argmax(self, dim: _int | None = None, keepdim: _bool = False) -> Tensor:
        return _reduce.argmax(self, dim, keepdim)

    def argmin(self, dim: _int | None = None, keepdim: _bool = False) -> Tensor:
        return _reduce.argmin(self, dim, keepdim)

    def sort(self, dim: _int = -1, descending: _bool = False, *, stable: _bool = False) -> tuple[Tensor, Tensor]:
        return _sort.sort(self, dim, descending, stable=stable)

    def argsort(self, dim: _int = -1, descending: _bool = False, *, stable: _bool = False) -> Tensor:
        return _sort.argsort(self, dim, descending, stable=stable)

    def msort(self) -> Tensor:
        return _sort.msort(self)

    def topk(self, k: _int, dim: _int = -1, largest: _bool = True, sorted: _bool = True) -> tuple[Tensor, Tensor]:
        return _sort.topk(self, k, dim, largest, sorted)

    def kthvalue(self, k: _int, dim: _int = -1, keepdim: _bool = False) -> tuple[Tensor, Tensor]:
        return _sort.kthvalue(self, k, dim, keepdim)

    def var(self, dim: _int | tuple[_int, ...] | None = None, unbiased: _bool | None = None, keepdim: _bool = False, *,
            correction: _float | None = None) -> Tensor:
        return _reduce.var(self, dim, unbiased, keepdim, correction=correction)

    def std(self, dim: _int | tuple[_int, ...] | None = None, unbiased: _bool | None = None, keepdim: _bool = False, *,
            correction: _float | None = None) -> Tensor:
        return _reduce.std(self, dim, unbiased, keepdim, correction=correction)

    def logsumexp(self, dim: _int | tuple[_int, ...], keepdim: _bool = False) -> Tensor:
        return _reduce.logsumexp(self, dim, keepdim)

    def norm(self, p: _float | str | None = "fro", dim: _int | tuple[_int, ...] | None = None, keepdim: _bool = False,
             dtype: dtypes.dtype | None = None) -> Tensor:
        return _reduce.norm(self, p, dim, keepdim, dtype=dtype)

    def cumsum(self, dim: _int, *, dtype: dtypes.dtype | None = None) -> Tensor:
        return _reduce.cumsum(self, dim, dtype=dtype)

    def cumprod(self, dim: _int, *, dtype: dtypes.dtype | None = None) -> Tensor:
        return _reduce.cumprod(self, dim, dtype=dtype)

    def softmax(self, dim: _int, dtype: dtypes.dtype | None = None) -> Tensor:
        return _reduce.softmax(self, dim, dtype=dtype)

    def log_softmax(self, dim: _int, dtype: dtypes.dtype | None = None) -> Tensor:
        return _reduce.log_softmax(self, dim, dtype=dtype)

    def all(self, dim: _int | tuple[_int, ...] | None = None, keepdim: _bool = False) -> Tensor:
        return _reduce.all(self, dim, keepdim)

    def any(self, dim: _int | tuple[_int, ...] | None = None, keepdim: _bool = False) -> Tensor:
        return _reduce.any(self, dim, keepdim)

    # ---- shape -----------------------------------------------------------------------------------------
    def reshape(self, *shape: _int | Sequence[_int]) -> Tensor:
        return _shape.reshape(self, *shape)

    def view(self, *shape: _int | Sequence[_int]) -> Tensor:
        if len(shape) == 1 and isinstance(shape[0], dtypes.dtype):
            raise NotImplementedError("view(dtype) is not supported; use to(dtype)")
        return _shape.view(self, *shape)

    def view_as(self, other: Tensor) -> Tensor:
        return _shape.view(self, other.shape)

    def reshape_as(self, other: Tensor) -> Tensor:
        return _shape.reshape(self, other.shape)

    def flatten(self, start_dim: _int = 0, end_dim: _int = -1) -> Tensor:
        return _shape.flatten(self, start_dim, end_dim)

    def unflatten(self, dim: _int, sizes: Sequence[_int]) -> Tensor:
        return _shape.unflatten(self, dim, sizes)

    def transpose(self, dim0: _int, dim1: _int) -> Tensor:
        return _shape.transpose(self, dim0, dim1)

    swapaxes = swapdims = transpose

    def permute(self, *dims: _int | Sequence[_int]) -> Tensor:
        return _shape.permute(self, *dims)

    def t(self) -> Tensor:
        return _shape.t(self)

    @property
    def T(self):
        return _shape.permute(self, *range(self.ndim - 1, -1, -1))

    @property
    def mT(self):
        return _shape.transpose(self, -2, -1)

    def squeeze(self, dim: _int | tuple[_int, ...] | None = None) -> Tensor:
        return _shape.squeeze(self, dim)

    def unsqueeze(self, dim: _int) -> Tensor:
        return _shape.unsqueeze(self, dim)

    def expand(self, *sizes: _int | Sequence[_int]) -> Tensor:
        return _shape.expand(self, *sizes)

    def expand_as(self, other: Tensor) -> Tensor:
        return _shape.expand(self, other.shape)

    def broadcast_to(self, shape: Sequence[_int]) -> Tensor:
        return _shape.broadcast_to(self, shape)

    def repeat(self, *sizes: _int | Sequence[_int]) -> Tensor:
        return _shape.repeat(self, *sizes)

    def tile(self, *dims: _int | Sequence[_int]) -> Tensor:
        return _shape.tile(self, *dims)

    def movedim(self, source: _int | Sequence[_int], destination: _int | Sequence[_int]) -> Tensor:
        return _shape.movedim(self, source, destination)

    moveaxis = movedim

    def fliplr(self) -> Tensor:
        return _shape.fliplr(self)

    def flipud(self) -> Tensor:
        return _shape.flipud(self)

    def tensor_split(self, indices_or_sections: _int | Sequence[_int] | Tensor, dim: _int = 0) -> tuple[Tensor, ...]:
        return _shape.tensor_split(self, indices_or_sections, dim)

    def flip(self, *dims: _int | Sequence[_int]) -> Tensor:
        return _shape.flip(self, *dims)

    def roll(self, shifts: _int | Sequence[_int], dims: _int | Sequence[_int] | None = None) -> Tensor:
        return _shape.roll(self, shifts, dims)

    def split(self, split_size_or_sections: _int | Sequence[_int], dim: _int = 0) -> tuple[Tensor, ...]:
        return _shape.split(self, split_size_or_sections, dim)

    def chunk(self, chunks: _int, dim: _int = 0) -> tuple[Tensor, ...]:
        return _shape.chunk(self, chunks, dim)

    def unbind(self, dim: _int = 0) -> tuple[Tensor, ...]:
        return _shape.unbind(self, dim)

    def narrow(self, dim: _int, start: _int, length: _int) -> Tensor:
        return _shape.narrow(self, dim, start, length)

    def tril(self, diagonal: _int = 0) -> Tensor:
        return _shape.tril(self, diagonal)

    def triu(self, diagonal: _int = 0) -> Tensor:
        return _shape.triu(self, diagonal)

    def diagonal(self, offset: _int = 0, dim1: _int = 0, dim2: _int = 1) -> Tensor:
        return _shape.diagonal(self, offset, dim1, dim2)

    # ---- indexing ------------------------------------------------------------------------------------
    def gather(self, dim: _int, index: Tensor) -> Tensor:
        return _index.gather(self, dim, index)

    def scatter(self, dim: _int, index: Tensor, src: Tensor | _float | None = None, *, value: _float | None = None,
                reduce: str | None = None) -> Tensor:
        return _index.scatter(self, dim, index, src, value=value, reduce=reduce)

    def scatter_add(self, dim: _int, index: Tensor, src: Tensor) -> Tensor:
        return _index.scatter_add(self, dim, index, src)

    def index_select(self, dim: _int, index: Tensor) -> Tensor:
        return _index.index_select(self, dim, index)

    def masked_fill(self, mask: Tensor, value: _float | Tensor) -> Tensor:
        return _index.masked_fill(self, mask, value)

    def take_along_dim(self, indices: Tensor, dim: _int | None = None) -> Tensor:
        return _index.take_along_dim(self, indices, dim)

    def nonzero(self, *, as_tuple: _bool = False) -> Tensor | tuple[Tensor, ...]:
        return _index.nonzero(self, as_tuple=as_tuple)

    def masked_select(self, mask: Tensor) -> Tensor:
        return _index.masked_select(self, mask)

    def index_add(self, dim: _int, index: Tensor, source: Tensor, *, alpha: _float = 1) -> Tensor:
        return _index.index_add(self, dim, index, source, alpha=alpha)

    def argwhere(self) -> Tensor:
        return _index.argwhere(self)

    # ---- linear algebra --------------------------------------------------------------------------------
    def matmul(self, other: Tensor) -> Tensor:
        return _linalg.matmul(self, other)

    def mm(self, other: Tensor) -> Tensor:
        return _linalg.mm(self, other)

    def bmm(self, other: Tensor) -> Tensor:
        return _linalg.bmm(self, other)

    def outer(self, other: Tensor) -> Tensor:
        return _linalg.outer(self, other)

    ger = outer

    def mv(self, vec: Tensor) -> Tensor:
        return _linalg.mv(self, vec)

    def dot(self, other: Tensor) -> Tensor:
        return _linalg.dot(self, other)

    # ---- more math, and the in-place forms of the elementwise ops (issue 15) -------------------------
    # Each in-place form computes the out-of-place op and writes it back through _inplace, so autograd's
    # version counter and in-place rules hold as for add_/mul_/clamp_.
    def sinh(self) -> Tensor:
        return _unary.sinh(self)

    def cosh(self) -> Tensor:
        return _unary.cosh(self)

    def asin(self) -> Tensor:
        return _unary.asin(self)

    def acos(self) -> Tensor:
        return _unary.acos(self)

    def atan(self) -> Tensor:
        return _unary.atan(self)

    def asinh(self) -> Tensor:
        return _unary.asinh(self)

    def acosh(self) -> Tensor:
        return _unary.acosh(self)

    def atanh(self) -> Tensor:
        return _unary.atanh(self)

    arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh

    def deg2rad(self) -> Tensor:
        return _unary.deg2rad(self)

    def rad2deg(self) -> Tensor:
        return _unary.rad2deg(self)

    def sinc(self) -> Tensor:
        return _unary.sinc(self)

    def frac(self) -> Tensor:
        return _unary.frac(self)

    def logit(self, eps: _float | None = None) -> Tensor:
        return _unary.logit(self, eps)

    def nan_to_num(self, nan: _float = 0.0, posinf: _float | None = None, neginf: _float | None = None) -> Tensor:
        return _unary.nan_to_num(self, nan, posinf, neginf)

    def atan2(self, other: Tensor | _float) -> Tensor:
        return _pointwise.atan2(self, other)

    arctan2 = atan2

    def hypot(self, other: Tensor | _float) -> Tensor:
        return _pointwise.hypot(self, other)

    def logaddexp(self, other: Tensor | _float) -> Tensor:
        return _pointwise.logaddexp(self, other)

    def logaddexp2(self, other: Tensor | _float) -> Tensor:
        return _pointwise.logaddexp2(self, other)

    def fmod(self, other: Tensor | _float) -> Tensor:
        return _pointwise.fmod(self, other)

    def floor_divide(self, other: Tensor | _float) -> Tensor:
        return _arith.floor_divide(self, other)

    def addcmul(self, tensor1: Tensor, tensor2: Tensor, *, value: _float = 1) -> Tensor:
        return _pointwise.addcmul(self, tensor1, tensor2, value=value)

    def addcdiv(self, tensor1: Tensor, tensor2: Tensor, *, value: _float = 1) -> Tensor:
        return _pointwise.addcdiv(self, tensor1, tensor2, value=value)

    def lerp(self, end: Tensor, weight: _float | Tensor) -> Tensor:
        return _pointwise.lerp(self, end, weight)

    def addmm(self, mat1: Tensor, mat2: Tensor, *, beta: _float = 1, alpha: _float = 1) -> Tensor:
        return _linalg.addmm(self, mat1, mat2, beta=beta, alpha=alpha)

    def addmv(self, mat: Tensor, vec: Tensor, *, beta: _float = 1, alpha: _float = 1) -> Tensor:
        return _linalg.addmv(self, mat, vec, beta=beta, alpha=alpha)

    def addbmm(self, batch1: Tensor, batch2: Tensor, *, beta: _float = 1, alpha: _float = 1) -> Tensor:
        return _linalg.addbmm(self, batch1, batch2, beta=beta, alpha=alpha)

    def baddbmm(self, batch1: Tensor, batch2: Tensor, *, beta: _float = 1, alpha: _float = 1) -> Tensor:
        return _linalg.baddbmm(self, batch1, batch2, beta=beta, alpha=alpha)

    def abs_(self) -> Tensor:
        return self._inplace("abs_", _unary.abs)

    absolute_ = abs_

    def neg_(self) -> Tensor:
        return self._inplace("neg_", _arith.neg)

    negative_ = neg_

    def sqrt_(self) -> Tensor:
        return self._inplace("sqrt_", _unary.sqrt)

    def rsqrt_(self) -> Tensor:
        return self._inplace("rsqrt_", _unary.rsqrt)

    def reciprocal_(self) -> Tensor:
        return self._inplace("reciprocal_", _unary.reciprocal)

    def square_(self) -> Tensor:
        return self._inplace("square_", _unary.square)

    def log_(self) -> Tensor:
        return self._inplace("log_", _unary.log)

    def log1p_(self) -> Tensor:
        return self._inplace("log1p_", _unary.log1p)

    def log2_(self) -> Tensor:
        return self._inplace("log2_", _unary.log2)

    def log10_(self) -> Tensor:
        return self._inplace("log10_", _unary.log10)

    def expm1_(self) -> Tensor:
        return self._inplace("expm1_", _unary.expm1)

    def sin_(self) -> Tensor:
        return self._inplace("sin_", _unary.sin)

    def cos_(self) -> Tensor:
        return self._inplace("cos_", _unary.cos)

    def tan_(self) -> Tensor:
        return self._inplace("tan_", _unary.tan)

    def sinh_(self) -> Tensor:
        return self._inplace("sinh_", _unary.sinh)

    def cosh_(self) -> Tensor:
        return self._inplace("cosh_", _unary.cosh)

    def asin_(self) -> Tensor:
        return self._inplace("asin_", _unary.asin)

    def acos_(self) -> Tensor:
        return self._inplace("acos_", _unary.acos)

    def atan_(self) -> Tensor:
        return self._inplace("atan_", _unary.atan)

    def asinh_(self) -> Tensor:
        return self._inplace("asinh_", _unary.asinh)

    def acosh_(self) -> Tensor:
        return self._inplace("acosh_", _unary.acosh)

    def atanh_(self) -> Tensor:
        return self._inplace("atanh_", _unary.atanh)

    arcsin_, arccos_, arctan_, arcsinh_, arccosh_, arctanh_ = asin_, acos_, atan_, asinh_, acosh_, atanh_

    def erf_(self) -> Tensor:
        return self._inplace("erf_", _unary.erf)

    def erfc_(self) -> Tensor:
        return self._inplace("erfc_", _unary.erfc)

    def sign_(self) -> Tensor:
        return self._inplace("sign_", _unary.sign)

    def floor_(self) -> Tensor:
        return self._inplace("floor_", _unary.floor)

    def ceil_(self) -> Tensor:
        return self._inplace("ceil_", _unary.ceil)

    def trunc_(self) -> Tensor:
        return self._inplace("trunc_", _unary.trunc)

    fix_ = trunc_

    def frac_(self) -> Tensor:
        return self._inplace("frac_", _unary.frac)

    def round_(self, decimals: _int = 0) -> Tensor:
        return self._inplace("round_", lambda t: _unary.round(t, decimals=decimals))

    def clamp_min_(self, min: _float | Tensor) -> Tensor:
        return self._inplace("clamp_min_", lambda t: _unary.clamp_min(t, min))

    def clamp_max_(self, max: _float | Tensor) -> Tensor:
        return self._inplace("clamp_max_", lambda t: _unary.clamp_max(t, max))

    def deg2rad_(self) -> Tensor:
        return self._inplace("deg2rad_", _unary.deg2rad)

    def rad2deg_(self) -> Tensor:
        return self._inplace("rad2deg_", _unary.rad2deg)

    def sinc_(self) -> Tensor:
        return self._inplace("sinc_", _unary.sinc)

    def logit_(self, eps: _float | None = None) -> Tensor:
        return self._inplace("logit_", lambda t: _unary.logit(t, eps))

    def nan_to_num_(self, nan: _float = 0.0, posinf: _float | None = None, neginf: _float | None = None) -> Tensor:
        return self._inplace("nan_to_num_", lambda t: _unary.nan_to_num(t, nan, posinf, neginf))

    def atan2_(self, other: Tensor | _float) -> Tensor:
        return self._inplace("atan2_", lambda t: _pointwise.atan2(t, other))

    arctan2_ = atan2_

    def hypot_(self, other: Tensor | _float) -> Tensor:
        return self._inplace("hypot_", lambda t: _pointwise.hypot(t, other))

    def fmod_(self, other: Tensor | _float) -> Tensor:
        return self._inplace("fmod_", lambda t: _pointwise.fmod(t, other))

    def remainder_(self, other: Tensor | _float) -> Tensor:
        return self._inplace("remainder_", lambda t: _arith.remainder(t, other))

    def floor_divide_(self, other: Tensor | _float) -> Tensor:
        return self._inplace("floor_divide_", lambda t: _arith.floor_divide(t, other))

    def addcmul_(self, tensor1: Tensor, tensor2: Tensor, *, value: _float = 1) -> Tensor:
        return self._inplace("addcmul_", lambda t: _pointwise.addcmul(t, tensor1, tensor2, value=value))

    def addcdiv_(self, tensor1: Tensor, tensor2: Tensor, *, value: _float = 1) -> Tensor:
        return self._inplace("addcdiv_", lambda t: _pointwise.addcdiv(t, tensor1, tensor2, value=value))

    def lerp_(self, end: Tensor, weight: _float | Tensor) -> Tensor:
        return self._inplace("lerp_", lambda t: _pointwise.lerp(t, end, weight))

    def addmm_(self, mat1: Tensor, mat2: Tensor, *, beta: _float = 1, alpha: _float = 1) -> Tensor:
        return self._inplace("addmm_", lambda t: _linalg.addmm(t, mat1, mat2, beta=beta, alpha=alpha))

    def addmv_(self, mat: Tensor, vec: Tensor, *, beta: _float = 1, alpha: _float = 1) -> Tensor:
        return self._inplace("addmv_", lambda t: _linalg.addmv(t, mat, vec, beta=beta, alpha=alpha))

    def addbmm_(self, batch1: Tensor, batch2: Tensor, *, beta: _float = 1, alpha: _float = 1) -> Tensor:
        return self._inplace("addbmm_", lambda t: _linalg.addbmm(t, batch1, batch2, beta=beta, alpha=alpha))

    def baddbmm_(self, batch1: Tensor, batch2: Tensor, *, beta: _float = 1, alpha: _float = 1) -> Tensor:
        return self._inplace("baddbmm_", lambda t: _linalg.baddbmm(t, batch1, batch2, beta=beta, alpha=alpha))
    # ---- more indexing (issue 15): in-place scatter/index forms, selections, diagonals, counts ----------
    def scatter_(self, dim: _int, index: Tensor, src: Tensor | _float | None = None, *, value: _float | None = None,
                 reduce: str | None = None) -> Tensor:
        return self._inplace("scatter_", lambda t: _index.scatter(t, dim, index, src, value=value, reduce=reduce))

    def scatter_add_(self, dim: _int, index: Tensor, src: Tensor) -> Tensor:
        return self._inplace("scatter_add_", lambda t: _index.scatter_add(t, dim, index, src))

    def scatter_reduce(self, dim: _int, index: Tensor, src: Tensor, reduce: str, *,
                       include_self: _bool = True) -> Tensor:
        return _index.scatter_reduce(self, dim, index, src, reduce, include_self=include_self)

    def scatter_reduce_(self, dim: _int, index: Tensor, src: Tensor, reduce: str, *,
                        include_self: _bool = True) -> Tensor:
        return self._inplace("scatter_reduce_",
                             lambda t: _index.scatter_reduce(t, dim, index, src, reduce, include_self=include_self))

    def index_add_(self, dim: _int, index: Tensor, source: Tensor, *, alpha: _float = 1) -> Tensor:
        return self._inplace("index_add_", lambda t: _index.index_add(t, dim, index, source, alpha=alpha))

    def index_copy(self, dim: _int, index: Tensor, source: Tensor) -> Tensor:
        return _index.index_copy(self, dim, index, source)

    def index_copy_(self, dim: _int, index: Tensor, source: Tensor) -> Tensor:
        return self._inplace("index_copy_", lambda t: _index.index_copy(t, dim, index, source))

    def index_fill(self, dim: _int, index: Tensor, value: _float | Tensor) -> Tensor:
        return _index.index_fill(self, dim, index, value)

    def index_fill_(self, dim: _int, index: Tensor, value: _float | Tensor) -> Tensor:
        return self._inplace("index_fill_", lambda t: _index.index_fill(t, dim, index, value))

    def take(self, index: Tensor) -> Tensor:
        return _index.take(self, index)

    def repeat_interleave(self, repeats: _int | Tensor, dim: _int | None = None, *,
                          output_size: _int | None = None) -> Tensor:
        return _index.repeat_interleave(self, repeats, dim, output_size=output_size)

    def rot90(self, k: _int = 1, dims: Sequence[_int] = (0, 1)) -> Tensor:
        return _index.rot90(self, k, dims)

    def diag(self, diagonal: _int = 0) -> Tensor:
        return _index.diag(self, diagonal)

    def diag_embed(self, offset: _int = 0, dim1: _int = -2, dim2: _int = -1) -> Tensor:
        return _index.diag_embed(self, offset, dim1, dim2)

    def diagflat(self, offset: _int = 0) -> Tensor:
        return _index.diagflat(self, offset)

    def trace(self) -> Tensor:
        return _index.trace(self)

    def count_nonzero(self, dim: _int | tuple[_int, ...] | None = None) -> Tensor:
        return _index.count_nonzero(self, dim)

    def bincount(self, weights: Tensor | None = None, minlength: _int = 0) -> Tensor:
        return _index.bincount(self, weights, minlength)

    def nansum(self, dim: _int | tuple[_int, ...] | None = None, keepdim: _bool = False, *,
               dtype: dtypes.dtype | None = None) -> Tensor:
        return _index.nansum(self, dim, keepdim, dtype=dtype)

    def nanmean(self, dim: _int | tuple[_int, ...] | None = None, keepdim: _bool = False, *,
                dtype: dtypes.dtype | None = None) -> Tensor:
        return _index.nanmean(self, dim, keepdim, dtype=dtype)

    def median(self, dim: _int | None = None, keepdim: _bool = False) -> Tensor | tuple[Tensor, Tensor]:
        return _index.median(self, dim, keepdim)

    def cummax(self, dim: _int) -> tuple[Tensor, Tensor]:
        return _index.cummax(self, dim)

    def cummin(self, dim: _int) -> tuple[Tensor, Tensor]:
        return _index.cummin(self, dim)
    # ---- end of the issue-15 math block --------------------------------------------------------------


class Size(tuple):
    """A tensor's shape: a tuple (``torch.Size``)."""

    __slots__ = ()

    def __repr__(self):
        return f"nnzoo.Size({list(self)})"

    def numel(self):
        return math.prod(self)


def _constant_like(t, value):
    """``value`` (a number, array or Tensor) as the new content of ``t``: the gradient to t's old
    values is zero, a Tensor value gets the gradient (fill_/copy_/zero_ inside the graph)."""
    if state.enabled and (t.requires_grad or (isinstance(value, Tensor) and value.requires_grad)):
        if not isinstance(value, Tensor):
            value = Tensor._make(np.asarray(value, dtype=t._data.dtype))
        return _arith.where(Tensor._make(np.ones(t.shape, dtype=bool)), value, t)
    return value._data if isinstance(value, Tensor) else value


def _format_array(arr):
    """Elements printed the way PyTorch prints them: integral floats as ``1.``, others with 4 decimals,
    or in scientific notation when magnitudes are extreme or far apart; all padded to one width."""
    if arr.size == 0:
        return "[]"
    if _is_bf16(arr.dtype):  # printed through float32, which holds every bfloat16 value exactly
        arr = arr.astype(np.float32)
    if arr.dtype.kind != "f" or arr.size > 1000:  # big tensors: NumPy's summary with 4 decimals
        return np.array2string(arr, separator=", ", prefix="tensor(", precision=4, threshold=1000,
                               edgeitems=3)
    vals = arr.astype(np.float64)
    finite = np.abs(vals[np.isfinite(vals)])
    nonzero = finite[finite != 0]
    big, small = (finite.max(), nonzero.min()) if nonzero.size else (0.0, 0.0)
    if np.all(finite == np.round(finite)) and big < 1e8:
        fmt = "{:.0f}."
    elif big > 1e8 or (nonzero.size and (small < 1e-4 or big / small > 1e3)):
        fmt = "{:.4e}"
    else:
        fmt = "{:.4f}"
    strs = np.array([fmt.format(v) if np.isfinite(v) else str(v) for v in vals.flat], dtype=object)
    width = max(len(x) for x in strs)
    strs = np.array([x.rjust(width) for x in strs], dtype=object).reshape(arr.shape)
    return np.array2string(strs, separator=", ", prefix="tensor(", formatter={"all": str},
                           max_line_width=80)


def _wrap_dim(dim, ndim, op):
    """A dim in [-ndim, ndim) turned non-negative, with an error naming the op otherwise."""
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"{op}: dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                         f"but got {dim})")
    return dim % n


def _to_args(args, dtype, kwargs):
    """(dtype, copy) asked for by PyTorch-style ``to(...)`` arguments, shared by Tensor.to and nn.Module.to.

    PyTorch's three forms: ``to(device=None, dtype=None, non_blocking=False, copy=False)``,
    ``to(dtype, non_blocking=False, copy=False)`` and ``to(tensor, non_blocking=False, copy=False)``, plus
    ``memory_format=`` (accepted; nnzoo's tensors are always contiguous row-major). The device is checked: the
    CPU passes, any other raises as a CPU-only PyTorch build does. Anything else is a TypeError.
    """
    device = kwargs.pop("device", None)
    flags = []  # non_blocking, copy given positionally
    for i, a in enumerate(args):
        if isinstance(a, dtypes.dtype):
            if dtype is not None and i:
                raise TypeError("to(): the dtype is given twice")
            dtype = a
        elif isinstance(a, Tensor) and i == 0:
            dtype = a.dtype
        elif isinstance(a, _bool):
            flags.append(a)
        elif i == 0 and (isinstance(a, (str, _Device, _int)) or a is None):
            device = a
        else:
            raise TypeError(f"to() received an invalid combination of arguments: {_arg_types(args)}; expected "
                            "to(device=None, dtype=None, non_blocking=False, copy=False), to(dtype, "
                            "non_blocking=False, copy=False) or to(tensor, non_blocking=False, copy=False)")
    if len(flags) > 2:
        raise TypeError(f"to() received an invalid combination of arguments: {_arg_types(args)}")
    copy = kwargs.pop("copy", flags[1] if len(flags) == 2 else False)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to(): unexpected keyword arguments {sorted(kwargs)}")
    _device_check(device, "to")
    return dtype, copy


def _arg_types(args):
    return "(" + ", ".join(type(a).__name__ for a in args) + ")"


# the factories' and to()'s device check: the CPU device, or the error a CPU-only PyTorch build raises
_check_device = _device_check

_TYPE_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16", "int64": "Long",
               "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}
def _is_bf16(dt):
    """Whether a NumPy dtype is ml_dtypes' bfloat16 (kind "V"), without importing ml_dtypes for the answer."""
    return dt.kind == "V" and dt.name == "bfloat16"


def _range_key(key):
    """An index key with every ``range`` (alone, in a tuple or in a list) made a list, as PyTorch reads it."""
    if type(key) is range:
        return list(key)
    if type(key) is tuple and any(type(k) is range for k in key):
        return tuple(list(k) if type(k) is range else k for k in key)
    if type(key) is list and any(type(k) is range for k in key):
        return [list(k) if type(k) is range else k for k in key]
    return key


# ---- the shared mappings behind share_memory_ ------------------------------------------------------------
# each live mapping -> (its file descriptor, -1 without memfd; the address of its first byte)
_SHARED_MAPPINGS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _register_mapping(mm: mmap.mmap, fd: int) -> None:
    """Remember a shared mapping (and close its descriptor when the mapping is freed)."""
    if fd >= 0:
        weakref.finalize(mm, os.close, fd)
    _SHARED_MAPPINGS[mm] = (fd, np.frombuffer(mm, np.uint8).__array_interface__["data"][0])


def _new_shared_mapping(nbytes: int) -> tuple[mmap.mmap, int]:
    """A fresh MAP_SHARED mapping of at least one byte and its descriptor (-1 without memfd_create)."""
    size = max(nbytes, 1)
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("nnzoo-shared", os.MFD_CLOEXEC)
        os.ftruncate(fd, size)
        mm = mmap.mmap(fd, size)  # MAP_SHARED is mmap's default
    else:
        fd, mm = -1, mmap.mmap(-1, size)
    _register_mapping(mm, fd)
    return mm, fd


def _shared_copy(arr: np.ndarray) -> np.ndarray:
    """A C-contiguous copy of ``arr`` in a new shared mapping."""
    mm, _ = _new_shared_mapping(arr.nbytes)
    out = np.ndarray(arr.shape, arr.dtype, buffer=mm)
    out[...] = arr
    return out


def _shared_mapping_of(arr: np.ndarray) -> tuple[mmap.mmap, int, int] | None:
    """(mapping, descriptor, address of its first byte) when ``arr`` lives in a shared mapping, else None."""
    base = arr.base
    while base is not None:
        if isinstance(base, mmap.mmap):
            info = _SHARED_MAPPINGS.get(base)
            return None if info is None else (base, *info)
        base = base.obj if isinstance(base, memoryview) else getattr(base, "base", None)
    return None


_new = object.__new__

# The op modules import Tensor from here, so they are imported after the class exists.
from . import creation  # noqa: E402
from . import random as nz_random  # noqa: E402
from . import sparse as _sparse  # noqa: E402
from .autograd import engine  # noqa: E402
from .autograd.function import AccumulateGrad  # noqa: E402
from .autograd.grad_mode import state  # noqa: E402
from .autograd.hooks import RemovableHandle  # noqa: E402
from .ops import arith as _arith  # noqa: E402
from .ops import index as _index  # noqa: E402
from .ops import linalg as _linalg  # noqa: E402
from .ops import pointwise as _pointwise  # noqa: E402
from .ops import reduce as _reduce  # noqa: E402
from .ops import shape as _shape  # noqa: E402
from .ops import sort as _sort  # noqa: E402
from .ops import unary as _unary  # noqa: E402
