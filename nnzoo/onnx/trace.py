"""The recorder behind :func:`nnzoo.onnx.export`: run a model's forward once and keep every op it applied.

While a :class:`Recorder` is active, ``Function.apply``/``apply2`` (the one door every nnzoo op goes
through) append an :class:`Event` (the Op class, its arguments, its outputs) to a list, and the in-place
writes of ``Tensor`` (``x += y``, ``relu_``, ``inplace=True`` activations) rebind the written tensor to the
op that computed the new values. Tensors become numbered :class:`Value` records: the model's inputs, its
parameters and buffers (by state-dict name), constants made outside the ops (``zeros``, ``arange``, a
``detach()``), and op outputs. A value is *live* when it depends on an input; the graph builder emits nodes
for live events only, and folds the rest into constants (``do_constant_folding``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..autograd.arrays import array
from ..autograd.function import Function
from ..tensor import Tensor


@dataclass
class Value:
    """One tensor of the trace: where it comes from, its shape and dtype, and its array when it is constant."""

    kind: str  # "input", "param", "const" or "op"
    shape: tuple
    dtype: np.dtype
    live: bool
    data: np.ndarray | None = None  # constants and folded op outputs: a copy of the values
    name: str | None = None  # inputs and parameters: their name


@dataclass
class Ref:
    """An argument of an event that is a tensor: the index of its Value."""

    index: int


@dataclass
class Event:
    """One op application: its class, its arguments (tensors as Refs) and its outputs (Value indices)."""

    cls: type
    args: list
    outs: list = field(default_factory=list)
    live: bool = False


class Recorder:
    """Context manager that records the ops run inside it (see the module docstring).

    Args:
        inputs: the model's input tensors, in order, with their names.
        params: ``{name: tensor}`` of the model's parameters and buffers.
        live_params: whether parameters count as live (no constant folding through them).
    """

    def __init__(self, inputs: list[tuple[str, Tensor]], params: dict[str, Tensor], live_params: bool) -> None:
        self.values: list[Value] = []
        self.events: list[Event] = []
        self._ids: dict[int, int] = {}
        self._arrays: dict[int, int] = {}  # id of a tensor's array -> its Value (ops such as embedding get arrays)
        self._keep: list[Any] = []  # the tensors seen, kept alive so that their ids stay unique
        self._param_data = {id(array(t)): (n, t) for n, t in params.items()}
        self._live_params = live_params
        for name, t in inputs:
            a = array(t)
            self._ids[id(t)] = self._arrays[id(a)] = self._new(Value("input", a.shape, a.dtype, True, None, name))
            self._keep.append(t)

    # ---- values ------------------------------------------------------------------------------------
    def _new(self, v: Value) -> int:
        self.values.append(v)
        return len(self.values) - 1

    def ref(self, t: Tensor) -> int:
        """The Value index of ``t``, registering it as a parameter or a constant when it is new."""
        k = self._ids.get(id(t))
        if k is not None:
            return k
        a = array(t)
        hit = self._param_data.get(id(a))
        if hit is not None and hit[1].shape == t.shape:
            k = self._new(Value("param", a.shape, a.dtype, self._live_params, a.copy(), hit[0]))
        else:
            k = self._new(Value("const", a.shape, a.dtype, False, a.copy()))
        self._ids[id(t)] = k
        self._keep.append(t)
        return k

    def output(self, t: Tensor, live: bool) -> int:
        a = array(t)
        k = self._new(Value("op", a.shape, a.dtype, live, None if live else a.copy()))
        self._ids[id(t)] = self._arrays[id(a)] = k
        self._keep.append(t)
        return k

    # ---- the hooks -----------------------------------------------------------------------------------
    def record(self, cls: type, args: tuple, out: Any) -> None:
        refs = [Ref(self.ref(a)) if isinstance(a, Tensor) else
                Ref(self._arrays[id(a)]) if isinstance(a, np.ndarray) and id(a) in self._arrays else a for a in args]
        live = any(isinstance(r, Ref) and self.values[r.index].live for r in refs)
        ev = Event(cls, refs, live=live)
        outs = out if isinstance(out, tuple) else (out,)
        ev.outs = [self.output(o, live) for o in outs]
        self.events.append(ev)

    def rebind(self, target: Tensor, value: Any) -> None:
        """``target`` was written in place with ``value``: from now on it stands for that value."""
        if isinstance(value, Tensor) and id(value) in self._ids and tuple(value.shape) == tuple(target.shape) \
                and array(value).dtype == array(target).dtype:
            self._ids[id(target)] = self._ids[id(value)]
            self._keep.append(target)
            return
        if isinstance(value, Tensor) and id(value) in self._ids and self.values[self._ids[id(value)]].live:
            raise NotImplementedError("nnzoo.onnx.export: an in-place write that broadcasts or casts its "
                                      f"result (shape {tuple(value.shape)} into {tuple(target.shape)}) is not "
                                      "supported; use the out-of-place form")
        self._ids.pop(id(target), None)  # a constant write (fill_, zero_, copy_ of a constant): a new constant
        self.ref(target)

    # ---- patching ------------------------------------------------------------------------------------
    def __enter__(self) -> Recorder:
        rec = self
        self._saved = (Function.__dict__["apply"], Function.__dict__["apply2"], Tensor._write, Tensor._ufunc_inplace)
        apply, apply2, write = self._saved[0].__func__, self._saved[1].__func__, self._saved[2]

        def traced_apply(cls, *args):
            if not cls._array_forward:
                raise NotImplementedError(f"nnzoo.onnx.export: the custom autograd.Function {cls.__name__} "
                                          "cannot be exported (only nnzoo's built-in ops are)")
            out = apply(cls, *args)
            rec.record(cls, args, out)
            return out

        def traced_apply2(cls, a, b):
            out = apply2(cls, a, b)
            rec.record(cls, (a, b), out)
            return out

        def traced_write(t, name, value):
            res = write(t, name, value)
            rec.rebind(t, value)
            return res

        def traced_ufunc_inplace(t, name, ufunc, op, other):
            return t._write(name, op(t, other))

        Function.apply = classmethod(traced_apply)
        Function.apply2 = classmethod(traced_apply2)
        Tensor._write = traced_write
        Tensor._ufunc_inplace = traced_ufunc_inplace
        return self

    def __exit__(self, *exc: Any) -> None:
        Function.apply, Function.apply2, Tensor._write, Tensor._ufunc_inplace = self._saved
