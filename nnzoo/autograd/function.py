"""``Function``: one differentiable op, forward and backward side by side. An applied Function is
also the graph node that records the op (its ``grad_fn``), as in PyTorch.

Two kinds of subclasses share this base:

* built-in ops subclass :class:`Op`: ``forward(ctx, *arrays)`` works on raw NumPy arrays (no
  Tensor overhead), and ``backward(ctx, grad)`` on Tensors, written with Tensor ops so that a
  second derivative (``create_graph=True``) is just another graph;
* user functions subclass :class:`Function` exactly like ``torch.autograd.Function``: ``forward``
  receives the Tensors themselves and runs with grad off.

``ctx.save_for_backward(...)`` takes arrays (or Tensors) of the forward; an item that is an input
comes back from ``ctx.saved_tensors`` as that input Tensor, an item that is an output comes back as
the output (rebuilt on demand, so the node holds no reference cycle to its own output), anything
else as a constant. Every saved input/output remembers its version: an in-place change between
forward and backward raises instead of giving a wrong gradient.
"""
from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from ..tensor import Tensor
from . import anomaly_mode
from .grad_mode import state
from .hooks import RemovableHandle

_make = Tensor._make
_new = object.__new__
_anomaly = anomaly_mode.state
_ndarray = np.ndarray
_asarray = np.asarray


class _Saved:
    """One item of ``save_for_backward``: a Tensor plus the version it had, or an output's parts."""

    __slots__ = ("tensor", "version", "data", "vc", "output_nr")

    def unpack(self, node):
        t = self.tensor
        if t is None:  # one of the node's own outputs: rebuild it pointing at the node
            t = _make(self.data, True, node, self.output_nr)
            t._vc = self.vc
        if t._vc[0] != self.version:
            raise RuntimeError(
                f"{node.name()}: one of the tensors saved for its backward (shape {tuple(t.shape)}) was "
                f"modified by an in-place operation: it was at version {self.version} and is now at "
                f"version {t._vc[0]}. Use the out-of-place form (e.g. x = x + y instead of x += y) "
                "or clone() the tensor before changing it.")
        return t


class Function:
    """Base of every differentiable op; subclass it for a custom op (``torch.autograd.Function``).

    Example::

        >>> class Square(nnzoo.autograd.Function):
        ...     @staticmethod
        ...     def forward(ctx, x):
        ...         ctx.save_for_backward(x)
        ...         return x * x
        ...     @staticmethod
        ...     def backward(ctx, grad):
        ...         x, = ctx.saved_tensors
        ...         return 2 * x * grad
        >>> x = nnzoo.tensor([3.0], requires_grad=True)
        >>> Square.apply(x).sum().backward(); x.grad
        tensor([6.])
    """

    _array_forward = False  # Op sets True: forward gets raw arrays
    is_view = False  # the output shares memory (and version counter) with the first input
    next_functions = ()
    needs_input_grad = ()
    _n_out = 1
    _saved = ()
    _freed = False
    _pre_hooks = None  # {output_nr: OrderedDict(handle id -> hook(grad) -> grad | None)}
    _retained = None  # {output_nr: weakref to a non-leaf Tensor that called retain_grad()}
    _non_diff = None
    _is_accumulator = False
    _materialize_grads = True  # gradients of outputs that got none are zeros when backward runs (set_materialize_grads)
    _forbid_inplace = False  # outputs may not be changed in place with grad on (the module backward hooks' identity)

    # ---- the user-facing ctx API ------------------------------------------------------------
    _to_save = None

    def save_for_backward(self, *items: Tensor | None) -> None:
        self._to_save = items

    @property
    def saved_tensors(self) -> tuple[Tensor | None, ...]:
        if self._freed:
            raise RuntimeError(
                f"{self.name()}: trying to backward through the graph a second time (or to use saved "
                "tensors after they were freed). The first backward frees the graph; call "
                "backward(retain_graph=True) the first time if you need to backward twice.")
        return tuple(None if s is None else s.unpack(self) for s in self._saved)

    def set_materialize_grads(self, value: bool) -> None:
        """With False, backward receives None (not zeros) for the outputs that got no gradient (PyTorch's)."""
        self._materialize_grads = bool(value)

    def mark_non_differentiable(self, *tensors: Tensor) -> None:
        self._non_diff = {id(t._data if isinstance(t, Tensor) else t) for t in tensors}

    torch_name = None  # the name PyTorch gives the node it records for the same call, if not <class>Backward0

    def name(self) -> str:
        """The node's name, PyTorch's where PyTorch records one node for the same call (``AddmmBackward0`` for
        a linear layer on 2-D input, ``ConvolutionBackward0``): ``torch_name`` (set by the class, or by the
        forward for the call), else the table ``TORCH_NAMES`` (ops whose file sets none), else
        ``<class name>Backward0``."""
        n = self.torch_name
        if n is None:
            cls = type(self)
            n = TORCH_NAMES.get(f"{cls.__module__}.{cls.__qualname__}") or cls.__name__ + "Backward0"
        return n

    def register_hook(self, hook: Callable[..., Any]) -> RemovableHandle:
        """Hook called with the gradients of this node's outputs (used by ``Tensor.register_hook``)."""
        return self.register_prehook(0, hook)

    def register_prehook(self, output_nr: int, hook: Callable[..., Any]) -> RemovableHandle:
        """``hook(grad)`` runs when the gradient of output ``output_nr`` is complete, before this node's backward;
        a returned tensor replaces the gradient. Returns the handle that removes it."""
        if self._pre_hooks is None:
            self._pre_hooks = {}
        hooks = self._pre_hooks.get(output_nr)
        if hooks is None:
            hooks = self._pre_hooks[output_nr] = OrderedDict()
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        return handle

    def __repr__(self):
        return f"<{self.name()}>"

    # ---- forward: run the op and, if any input requires grad, record the node ----------------
    @staticmethod
    def forward(ctx: Any, *args: Any) -> Any:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> Any:
        raise NotImplementedError(f"{ctx.name()}: backward is not implemented")

    @classmethod
    def apply(cls, *args: Any) -> Any:
        if not cls._array_forward:
            return cls._apply_user(args)
        ctx = _new(cls)
        need = False
        arrays = []
        for a in args:
            if isinstance(a, Tensor):
                arrays.append(a._data)
                if a.requires_grad:
                    need = True
            else:
                arrays.append(a)
        try:
            out = cls.forward(ctx, *arrays)
        except ValueError as e:  # NumPy's shape errors, restated with the op's name and shapes
            raise _shape_error(cls, args, e) from None
        if need and state.enabled:
            return ctx._record(args, out)
        if type(out) is tuple:
            res = tuple(_make(o) for o in out)
            if cls.is_view:
                for r in res:
                    r._vc = args[0]._vc
            return res
        # the no-grad fast path: Tensor._make inlined
        t = _new(Tensor)
        t._data = out if type(out) is _ndarray else _asarray(out)
        t.requires_grad = False
        t.grad = t.grad_fn = t._accum = None
        t._output_nr = 0
        t._vc = args[0]._vc if cls.is_view else [0]
        return t

    @classmethod
    def apply2(cls, a: Tensor, b: Tensor) -> Tensor:
        """``apply(a, b)`` for an op on two Tensors: the binary operators' path.

        NOTE: the same steps as ``apply`` without its argument loop; per-op Python overhead decides
        the speed of small models, and + - * / run more often than anything else."""
        ctx = _new(cls)
        try:
            out = cls.forward(ctx, a._data, b._data)
        except ValueError as e:
            raise _shape_error(cls, (a, b), e) from None
        if (a.requires_grad or b.requires_grad) and state.enabled:
            return ctx._record((a, b), out)
        t = _new(Tensor)
        t._data = out if type(out) is _ndarray else _asarray(out)
        t.requires_grad = False
        t.grad = t.grad_fn = t._accum = None
        t._output_nr = 0
        t._vc = [0]
        return t

    @classmethod
    def _apply_user(cls, args):
        """torch.autograd.Function semantics: forward gets the Tensors themselves, with grad off."""
        ctx = _new(cls)
        need = state.enabled and any(isinstance(a, Tensor) and a.requires_grad for a in args)
        ctx.needs_input_grad = tuple(need and isinstance(a, Tensor) and a.requires_grad for a in args)
        prev = state.enabled
        state.enabled = False
        try:
            out = cls.forward(ctx, *args)
        finally:
            state.enabled = prev
        out = tuple(o._data for o in out) if type(out) is tuple else out._data
        if not need:
            return tuple(_make(o) for o in out) if type(out) is tuple else _make(out)
        res = ctx._record(args, out)
        ctx._in_shapes = tuple(a.shape if isinstance(a, Tensor) else None for a in args)
        return res

    def _record(self, args, out):
        """Make this node the grad_fn of the outputs: edges to the inputs, saved tensors."""
        if _anomaly.enabled:  # detect_anomaly: remember where the forward op was called
            self._anomaly_trace = anomaly_mode.record_stack()
        edges = []
        needs = []
        for a in args:
            if isinstance(a, Tensor) and a.requires_grad:
                fn = a.grad_fn
                edges.append((fn, a._output_nr) if fn is not None else (a._accum or a._edge()))
                needs.append(True)
            else:
                edges.append(None)
                needs.append(False)
        self.next_functions = edges
        if self._array_forward:
            self.needs_input_grad = needs
        non_diff = self._non_diff
        if type(out) is tuple:
            res = tuple(_make(o, True, self, i) if _differentiable(o, non_diff) else _make(o)
                        for i, o in enumerate(out))
            self._n_out = len(res)
            self._out_meta = tuple((r.shape, r._data.dtype) for r in res)
            outs, raws = res, out
        else:
            raw = out
            if type(out) is not _ndarray:  # NumPy gives scalars for 0-d results
                out = _asarray(out)
            if out.dtype.kind == "f" and (non_diff is None or id(out) not in non_diff):
                t = _new(Tensor)
                t._data = out
                t.requires_grad = True
                t.grad_fn = self
                t.grad = t._accum = None
                t._output_nr = 0
                t._vc = [0]
                res = t
            else:
                res = _make(out)
            outs, raws = (res,), (raw,)
        if self.is_view:
            for r in outs:
                r._vc = args[0]._vc
        if self._to_save is not None:
            self._saved = tuple(_pack(item, args, outs, raws) for item in self._to_save)
            self._to_save = None
        return res

    # ---- called by the engine ------------------------------------------------------------------
    def _run_backward(self, grads):
        out = type(self).backward(self, *grads)
        if type(out) is not tuple:
            out = (out,)
        n = len(self.next_functions)
        if len(out) < n:
            raise RuntimeError(f"{self.name()}: backward returned {len(out)} gradients, but forward "
                               f"took {n} inputs")
        if not self._array_forward:
            out = tuple(self._check_user_grad(i, g) for i, g in enumerate(out[:n]))
        return out

    def _check_user_grad(self, i, g):
        if g is None or self.next_functions[i] is None:
            return None
        if not isinstance(g, Tensor):
            g = _make(np.asarray(g))
        if g.shape != self._in_shapes[i]:
            raise RuntimeError(f"{self.name()}: backward returned a gradient of shape {tuple(g.shape)} "
                               f"for input {i}, whose shape is {tuple(self._in_shapes[i])}")
        return g


# PyTorch's names of the nodes that nnzoo's fused ops stand for, where the op's class sets no ``torch_name``
# (tests/autograd/test_node_names.py compares the chains of a few networks with torch's).
TORCH_NAMES = {
    "nnzoo.ops.conv.Conv": "ConvolutionBackward0",
    "nnzoo.ops.conv.ConvTranspose": "ConvolutionBackward0",
    "nnzoo.ops.pool.MaxPool": "MaxPool2DWithIndicesBackward0",
    "nnzoo.ops.pool.AvgPool": "AvgPool2DBackward0",
    "nnzoo.ops.norm.LayerNorm": "NativeLayerNormBackward0",
    "nnzoo.ops.shape.Reshape": "ViewBackward0",
}


class Op(Function):
    """Base of nnzoo's built-in ops: ``forward(ctx, *arrays)`` on raw arrays, backward on Tensors."""

    _array_forward = True


class AccumulateGrad(Function):
    """The graph node of a leaf that requires grad: adds incoming gradients into ``leaf.grad``."""

    _is_accumulator = True
    _post_hooks = None  # OrderedDict(handle id -> hook(leaf)): Tensor.register_post_accumulate_grad_hook

    def __init__(self, leaf):
        self.variable = weakref.ref(leaf)

    def run_post_hooks(self) -> None:
        """Call the leaf's post-accumulate-grad hooks, in registration order, after its ``.grad`` was updated."""
        var = self.variable()
        if var is None:
            return
        for hook in list(self._post_hooks.values()):
            res = hook(var)
            if res is None or res is var:  # PyTorch lets the leaf itself through (``p.add_(...)`` returns it)
                continue
            if not isinstance(res, Tensor):
                raise TypeError(f"expected Variable, but hook returned '{type(res).__name__}'")
            raise RuntimeError("Tensor post accumulate grad hooks should return None.")

    def accumulate(self, g, create_graph, fresh):
        var = self.variable()
        if var is None:
            return
        if g.shape != var.shape:
            raise RuntimeError(f"AccumulateGrad: gradient of shape {tuple(g.shape)} for a leaf of shape "
                               f"{tuple(var.shape)}")
        if g._data.dtype != var._data.dtype:
            g = g.to(var.dtype)
        if create_graph:
            var.grad = g if var.grad is None else var.grad + g
            return
        old = var.grad
        if old is None:
            arr = g._data
            base = arr if arr.base is None else arr.base
            # NOTE: one backward can route the very same array to several leaves (add's backward
            # returns its grad twice) or hand out a read-only broadcast view; .grad must own its memory.
            if id(base) in fresh or not arr.flags.writeable:
                arr = arr.copy()
                base = arr
            fresh.add(id(base))
            var.grad = _make(arr)
        elif old.requires_grad or not old._data.flags.writeable:
            var.grad = _make(old._data + g._data)
        else:
            np.add(old._data, g._data, out=old._data)
            old._vc[0] += 1

    @classmethod
    def name(cls):
        return "AccumulateGrad"


def _differentiable(arr, non_diff):
    return arr.dtype.kind == "f" and (non_diff is None or id(arr) not in non_diff)


def _pack(item, args, outs, raws):
    if item is None:
        return None
    data = item._data if isinstance(item, Tensor) else item
    s = _Saved()
    s.data = s.vc = None
    for a in args:
        if isinstance(a, Tensor) and (a is item or a._data is data):
            s.tensor, s.version = a, a._vc[0]
            return s
    for i, (o, r) in enumerate(zip(outs, raws)):
        if o._data is data or r is data:
            s.tensor, s.data, s.vc, s.output_nr, s.version = None, o._data, o._vc, i, o._vc[0]
            return s
    if isinstance(item, Tensor):
        const = item.detach()
    elif isinstance(item, (int, float)) and not isinstance(item, bool):
        # NOTE: a Python number is "weak" (it took the tensor's dtype in forward), so it is saved in
        # the dtype of the op's outputs: backward then multiplies same-dtype tensors (no promotion)
        const = _make(np.asarray(item, dtype=outs[0]._data.dtype if outs[0]._data.dtype.kind == "f"
                                 else None))
    else:
        const = _make(np.asarray(data))
    s.tensor, s.version = const, const._vc[0]
    return s


def _shape_error(cls, args, err):
    shapes = ", ".join(str(tuple(a.shape)) for a in args if isinstance(a, Tensor))
    return RuntimeError(f"{cls.__name__.lower()}: shapes {shapes}: {err}")
