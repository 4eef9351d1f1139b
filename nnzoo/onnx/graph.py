"""The graph builder of :func:`nnzoo.onnx.export`: ONNX nodes, initializers and shapes from two traces.

The forward runs twice (:mod:`nnzoo.onnx.trace`): with the example inputs, and with every dynamic axis
longer and the values perturbed. A dim that differs between the two runs is dynamic; a shape that an op
takes as an argument (a reshape's target, the zeros of an RNN's initial state) is then built at run time
from ``Shape(input)`` where one of its dims follows an input's dynamic axis. A constant whose values differ
between the runs was computed from the inputs outside nnzoo's ops (a comparison, ``.item()``): the export
refuses it rather than freezing the first run's values.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper

from .trace import Event, Recorder, Ref

INT64_MAX = np.iinfo(np.int64).max


class UnsupportedOperatorError(RuntimeError):
    """An op (or a use of it) that :func:`nnzoo.onnx.export` cannot express in ONNX."""


class Builder:
    """Collects the nodes of one graph. ``r1``/``r2`` are the two traces; ``sources`` maps a dynamic dim's
    (size in run 1, size in run 2) to the graph input and axis it comes from."""

    def __init__(self, r1: Recorder, r2: Recorder, opset: int, sources: dict[tuple[int, int], tuple[str, int]]):
        self.r1, self.r2, self.opset, self.sources = r1, r2, opset, sources
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.names = {k: v.name for k, v in enumerate(r1.values) if v.kind == "input"}  # Value index -> ONNX name
        self.graph_inputs: list[str] = []
        self._n = 0
        self._consts: dict[tuple, str] = {}
        self.event: Event | None = None
        self.event2: Event | None = None

    # ---- naming ----------------------------------------------------------------------------------------
    def fresh(self, hint: str) -> str:
        self._n += 1
        return f"/{hint}_{self._n}"

    def node(self, op_type: str, inputs: list[str], n_out: int = 1, **attrs: Any) -> Any:
        """Add a node; returns its output name (a list of them when ``n_out > 1``)."""
        outs = [self.fresh(f"{op_type}_out") for _ in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=self.fresh(op_type)[1:], **attrs))
        return outs[0] if n_out == 1 else outs

    def const(self, arr: Any, dtype: Any = None) -> str:
        """An initializer holding ``arr`` (small ones shared by value)."""
        a = np.asarray(arr, dtype=dtype)
        key = (a.dtype.str, a.shape, a.tobytes()) if a.size <= 16 else None
        if key is not None and key in self._consts:
            return self._consts[key]
        name = self.fresh("Constant")[1:]
        self.initializers.append(numpy_helper.from_array(a.copy(order="C"), name))
        if key is not None:
            self._consts[key] = name
        return name

    def ints(self, values: Any) -> str:
        return self.const(np.asarray(list(values), dtype=np.int64).reshape(-1))

    # ---- the current event's arguments ----------------------------------------------------------------------
    @property
    def op(self) -> str:
        return self.event.cls.__name__ if self.event is not None else "export"

    def value(self, ref: Ref, run: int = 1):
        return (self.r1 if run == 1 else self.r2).values[ref.index]

    def shape(self, ref: Ref) -> tuple:
        return tuple(self.value(ref).shape)

    def dims(self, ref: Ref) -> list[tuple[int, int]]:
        """(size in run 1, size in run 2) of each dim of a value."""
        return list(zip(self.value(ref, 1).shape, self.value(ref, 2).shape))

    def dtype(self, ref: Ref) -> np.dtype:
        return self.value(ref).dtype

    def arg(self, i: int) -> Any:
        """The ONNX name of tensor argument ``i`` of the current event (a Python number or array argument
        becomes a constant of the op's dtype)."""
        a = self.event.args[i]
        if isinstance(a, Ref):
            return self.name(a)
        if a is None:
            return ""
        number = isinstance(a, (bool, int, float, np.number))
        return self.raw_const(a, self.event2.args[i], self.out_dtype() if number else None)

    def out_dtype(self) -> np.dtype:
        return self.r1.values[self.event.outs[0]].dtype

    def raw_const(self, a1: Any, a2: Any, dtype: Any) -> str:
        """A Python number or array argument as a constant; it must be the same in both runs."""
        x1, x2 = np.asarray(a1), np.asarray(a2)
        if x1.shape != x2.shape or not np.array_equal(x1, x2, equal_nan=True):
            raise UnsupportedOperatorError(
                f"{self.op}: an argument of shape {x1.shape} changes with the inputs (shape {x2.shape} in a run "
                "with other sizes/values): it is computed from the inputs outside nnzoo's ops and cannot be "
                "exported as a constant")
        return self.const(x1, dtype=dtype)

    def const_value(self, ref: Ref) -> np.ndarray | None:
        """The array of a value known at export time (a parameter or a folded constant), else None."""
        v = self.value(ref)
        return None if v.live else v.data

    def name(self, ref: Ref) -> str:
        k = ref.index
        if k in self.names:
            return self.names[k]
        v1, v2 = self.r1.values[k], self.r2.values[k]
        if v1.kind == "param":
            name = v1.name
            if v1.live:
                self.graph_inputs.append(name)
            else:
                self.initializers.append(numpy_helper.from_array(v1.data.copy(order="C"), name))
        elif v1.live:
            raise AssertionError(f"nnzoo.onnx: value {k} is used before the node that computes it")
        elif v1.shape == v2.shape:
            if not np.array_equal(v1.data, v2.data, equal_nan=True):
                raise UnsupportedOperatorError(
                    f"{self.op}: a tensor of shape {tuple(v1.shape)} that depends on the input values is computed "
                    "outside nnzoo's differentiable ops (a comparison, an integer op, .item() or a NumPy "
                    "round trip) and cannot be exported; compute it with tensor ops (e.g. torch.where)")
            name = self.const(v1.data)
        else:
            name = self.dynamic_fill(k)
        self.names[k] = name
        return name

    def dynamic_fill(self, k: int) -> str:
        """A constant whose shape follows a dynamic axis: ConstantOfShape when it holds one value."""
        v1, v2 = self.r1.values[k], self.r2.values[k]
        d1, d2 = v1.data, v2.data
        if d1.size == 0 or not (np.all(d1 == d1.flat[0]) and np.all(d2 == d1.flat[0])):
            raise UnsupportedOperatorError(
                f"{self.op}: a constant of shape {tuple(v1.shape)} (made outside nnzoo's ops, e.g. by arange or a "
                "mask) changes shape with a dynamic axis; only constant-filled tensors (zeros, ones, full) can "
                "follow a dynamic axis")
        shape = self.shape_tensor(list(zip(v1.shape, v2.shape)))
        fill = numpy_helper.from_array(np.asarray([d1.flat[0]], dtype=d1.dtype), "value")
        return self.node("ConstantOfShape", [shape], value=fill)

    # ---- shapes ---------------------------------------------------------------------------------------------
    def shape_tensor(self, dims: list[tuple[int, int]], fallback: Any = None) -> str:
        """An int64 shape for ``dims`` ((run-1 size, run-2 size) each): static sizes as constants, dynamic ones
        from the graph input they follow, else ``fallback(i)`` (an int such as -1 or 0) or an error."""
        if all(a == b for a, b in dims):
            return self.ints(a for a, _ in dims)
        parts = []
        for i, (a, b) in enumerate(dims):
            if a == b:
                parts.append(self.ints([a]))
            elif (a, b) in self.sources:
                inp, axis = self.sources[(a, b)]
                parts.append(self.node("Gather", [self.node("Shape", [inp]), self.ints([axis])], axis=0))
            elif fallback is not None:
                parts.append(self.ints([fallback(i)]))
            else:
                raise UnsupportedOperatorError(
                    f"{self.op}: dim {i} of a shape argument ({a} here) follows the dynamic axes but is not the "
                    "size of an input's dynamic axis; it cannot be exported as dynamic")
        return self.node("Concat", parts, axis=0)

    # ---- helpers for the converters -----------------------------------------------------------------------
    def reduce(self, op_type: str, x: str, axes: Any, keepdims: bool) -> str:
        """A Reduce* node (axes None: all); axes are an input from opset 18 (ReduceSum: 13), before an attribute."""
        if axes is None:
            return self.node(op_type, [x], keepdims=int(keepdims))
        axes = [int(a) for a in axes]
        if op_type == "ReduceSum" or self.opset >= 18:
            return self.node(op_type, [x, self.ints(axes)], keepdims=int(keepdims))
        return self.node(op_type, [x], keepdims=int(keepdims), axes=axes)

    def scalar(self, v: Any, dtype: Any) -> str:
        return self.const(np.asarray(v, dtype=dtype))

    def unsqueeze(self, x: str, axes: list[int]) -> str:
        return self.node("Unsqueeze", [x, self.ints(axes)])

    def squeeze(self, x: str, axes: list[int]) -> str:
        return self.node("Squeeze", [x, self.ints(axes)])

    def bind(self, outs: Any) -> None:
        """Name the current event's outputs: one ONNX name per output."""
        outs = [outs] if isinstance(outs, str) else list(outs)
        if len(outs) != len(self.event.outs):
            raise AssertionError(f"{self.op}: {len(outs)} ONNX outputs for {len(self.event.outs)} values")
        for k, name in zip(self.event.outs, outs):
            self.names[k] = name
