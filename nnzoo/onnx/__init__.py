"""``torch.onnx`` for nnzoo: :func:`export` writes a model as an ONNX graph that onnxruntime runs.

The exporter traces at the level of nnzoo's ops (:mod:`nnzoo.onnx.trace`): the forward runs under a
recorder that sees every op applied, so functional code in a custom ``forward`` (``x.view(B, -1)``,
``torch.flatten``, ``+``, ``F.relu``, indexing) exports as well as the layers do. Each op becomes an ONNX node
or a small subgraph (:mod:`nnzoo.onnx.ops`); work that depends only on parameters and constants is folded
into initializers. The forward runs a second time with the dynamic axes longer and the inputs perturbed:
the dims that change are dynamic in the graph, and anything computed from the inputs outside the ops (which
the graph could not reproduce) is refused with a clear error rather than frozen. The model is exported in
eval mode (dropout off, BatchNorm on its running statistics), as ``torch.onnx.export`` does by default.

Supported (opset 17 and up; default 18):

* layers: Linear, Conv1d/Conv2d (groups, dilation, 'same'), ConvTranspose1d/2d,
  MaxPool1d/2d, AvgPool1d/2d, AdaptiveAvgPool1d/2d, BatchNorm1d/2d (eval), LayerNorm, GroupNorm,
  Dropout (identity in eval), Embedding (Gather), Flatten/Unflatten, RNN/LSTM/GRU (ONNX's RNN/LSTM/GRU per
  layer and direction: batch_first, bidirectional, several layers, given or zero initial states) and their
  cells, MultiheadAttention, TransformerEncoder/DecoderLayer and the Transformer, Sequential/ModuleList;
* activations: ReLU, LeakyReLU, ELU, GELU (exact and tanh), SiLU, Sigmoid, Tanh, Softplus, LogSigmoid,
  Hardtanh/ReLU6, Softmax, LogSoftmax;
* tensor ops: + - * / ** max/min, where, masked_fill, clamp, exp/log/sqrt/rsqrt/erf/abs/..., matmul/@,
  einsum, sum/mean/prod/amax/amin/max(dim)/min(dim)/var/std/logsumexp/norm (p = 1, 2), cumsum,
  view/reshape/flatten, permute/transpose, expand, repeat, flip, cat, stack, split/chunk, unbind, narrow,
  pad (constant, reflect, replicate), tril/triu, gather, basic indexing and one index tensor,
  scaled_dot_product_attention (no dropout).

Not supported (an :class:`UnsupportedOperatorError` names the op): LSTM projections (``proj_size``), packed
sequences, boolean-mask indexing, custom ``autograd.Function``s, data-dependent values computed outside the
ops (comparisons, ``.item()``), and ops with no converter yet (each error says which).
Fully masked attention rows give NaN in the exported graph where nnzoo's ``scaled_dot_product_attention``
gives 0.

Example::

    >>> import io, nnzoo
    >>> model = nnzoo.nn.Sequential(nnzoo.nn.Linear(4, 3), nnzoo.nn.ReLU())
    >>> proto = nnzoo.onnx.export(model, (nnzoo.randn(2, 4),), io.BytesIO(), input_names=["x"],
    ...                           output_names=["y"], dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
    >>> [n.op_type for n in proto.graph.node]
    ['Gemm', 'Relu', 'Identity']
"""
from __future__ import annotations

import inspect
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import onnx
from onnx import helper

from ..autograd.arrays import array, wrap
from ..autograd.grad_mode import enable_grad
from ..nn.module import Module
from ..tensor import Tensor
from .graph import Builder, UnsupportedOperatorError
from .ops import convert
from .trace import Recorder, Ref

__all__ = ["export", "UnsupportedOperatorError", "is_in_onnx_export", "DEFAULT_OPSET"]

DEFAULT_OPSET = 18
_exporting = False
# torch.onnx.export's options that choose between its own exporters or tune them: accepted, no effect here
_TORCH_ONLY = {"dynamo", "external_data", "custom_translation_table", "report", "optimize", "verify", "profile",
               "dump_exported_program", "artifacts_dir", "keep_initializers_as_inputs", "training",
               "operator_export_type", "custom_opsets", "export_modules_as_functions", "autograd_inlining",
               "fallback"}


def is_in_onnx_export() -> bool:
    """True while :func:`export` runs the model's forward (``torch.onnx.is_in_onnx_export``)."""
    return _exporting


def export(model: Module, args: Tensor | tuple[Any, ...] = (), f: str | os.PathLike | Any | None = None, *,
           kwargs: dict[str, Any] | None = None, verbose: bool | None = None,
           input_names: Sequence[str] | None = None, output_names: Sequence[str] | None = None,
           opset_version: int | None = None,
           dynamic_axes: Mapping[str, Mapping[int, str]] | Mapping[str, Sequence[int]] | None = None,
           dynamic_shapes: Mapping[str, Any] | None = None, export_params: bool = True,
           do_constant_folding: bool = True, **options: Any) -> onnx.ModelProto:
    """Export ``model`` run on ``args`` as an ONNX model: ``torch.onnx.export``'s signature.

    graph = the ops ``model(*args)`` applies, one ONNX node (or a few) each, parameters as initializers.

    Args:
        model: the Module (exported in eval mode; its mode is restored afterwards).
        args: the example input: a Tensor or a tuple of positional arguments (a trailing dict: keyword ones).
        f: a path or a binary file object to write the model to; None: only return it.
        kwargs: keyword arguments of the forward.
        verbose: print the graph.
        input_names, output_names: names of the graph's inputs (the tensors among ``args``, in order) and
            outputs (the tensors of the forward's result, flattened); default: the forward's argument names
            and ``output`` / ``output_0``, ``output_1``, ...
        opset_version: the ONNX opset (>= 17; default 18).
        dynamic_axes: ``{name: [axis, ...]}`` or ``{name: {axis: "dim_name"}}``: axes that may have another size
            at run time.
        dynamic_shapes: the dynamo exporter's form, ``{forward_arg_name: {axis: name}}``, used as dynamic_axes.
        export_params: store the parameters in the model (False: they become graph inputs).
        do_constant_folding: fold the ops on parameters and constants into initializers.

    Returns:
        The ``onnx.ModelProto`` (``onnx.checker.check_model`` has passed on it).

    Shape:
        The graph's inputs and outputs have the example's shapes, the dynamic axes symbolic.

    Example::

        >>> import io
        >>> m = nnzoo.nn.Linear(3, 2)
        >>> len(nnzoo.onnx.export(m, nnzoo.randn(1, 3), io.BytesIO()).graph.initializer)
        2
    """
    unknown = set(options) - _TORCH_ONLY
    if unknown:
        raise TypeError(f"export() got an unexpected keyword argument {sorted(unknown)[0]!r}")
    opset = DEFAULT_OPSET if opset_version is None else int(opset_version)
    if not 17 <= opset <= onnx.defs.onnx_opset_version():
        raise ValueError(f"nnzoo.onnx.export: opset_version {opset} is not supported (17 to "
                         f"{onnx.defs.onnx_opset_version()})")
    pos, kw = _split_args(args, kwargs)
    pos, kw = _traceable(pos, kw, {})
    names = _input_names(model, pos, kw, input_names)
    if dynamic_axes is None and dynamic_shapes is not None:
        dynamic_axes = {k: v for k, v in dynamic_shapes.items() if isinstance(v, Mapping)}
    axes = _normalise_axes(dynamic_axes)
    inputs = [(n, t) for n, t in zip(names, _tensors(pos, kw))]
    params = dict(model.named_parameters())
    params.update(dict(model.named_buffers()))
    live_params = not (export_params and do_constant_folding)

    global _exporting
    was_training = model.training
    model.eval()
    _exporting = True
    try:
        r1, out1 = _trace(model, pos, kw, inputs, params, live_params)
        pos2, kw2, sources_by_size = _second_inputs(pos, kw, names, axes)
        inputs2 = [(n, t) for n, t in zip(names, _tensors(pos2, kw2))]
        r2, out2 = _trace(model, pos2, kw2, inputs2, params, live_params)
    finally:
        _exporting = False
        model.train(was_training)
    _check_same_ops(r1, r2)

    sources = {}
    for (name, axis), pair in sources_by_size.items():
        sources.setdefault(pair, (name, axis))
    g = Builder(r1, r2, opset, sources)
    for ev, ev2 in zip(r1.events, r2.events):
        if ev.live:
            g.event, g.event2 = ev, ev2
            convert(g)
    g.event = g.event2 = None

    flat1, flat2 = _flatten(out1), _flatten(out2)
    if not flat1:
        raise RuntimeError("nnzoo.onnx.export: the model's forward returned no tensor")
    outs = list(output_names or [])
    outs += ["output" if len(flat1) == 1 else f"output_{i}" for i in range(len(outs), len(flat1))]
    outputs = []
    for name, t1, t2 in zip(outs, flat1, flat2):
        ref = Ref(r1.ref(t1))
        r2.ref(t2)
        g.nodes.append(helper.make_node("Identity", [g.name(ref)], [name], name=f"output_{name}"))
        dims = list(zip(array(t1).shape, array(t2).shape))
        outputs.append(_value_info(name, array(t1).dtype, dims, axes.get(name, {})))
    graph_inputs = []
    for name, t in inputs:
        a = array(t)
        graph_inputs.append(_value_info(name, a.dtype, [(n, n) for n in a.shape], axes.get(name, {}),
                                        mark=axes.get(name, {})))
    for pname in g.graph_inputs:
        a = array(params[pname])
        graph_inputs.append(helper.make_tensor_value_info(pname, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape))
    graph = helper.make_graph(g.nodes, type(model).__name__, graph_inputs, outputs, initializer=g.initializers)
    opsets = [helper.make_opsetid("", opset)]
    proto = helper.make_model(graph, opset_imports=opsets, producer_name="nnzoo",
                              ir_version=helper.find_min_ir_version_for(opsets))
    onnx.checker.check_model(proto)
    if verbose:
        print(helper.printable_graph(proto.graph))
    if isinstance(f, (str, os.PathLike)):
        onnx.save(proto, os.fspath(f))
    elif f is not None:
        f.write(proto.SerializeToString())
    return proto


# ---- helpers ---------------------------------------------------------------------------------------------------
def _split_args(args, kwargs):
    pos = list(args) if isinstance(args, (tuple, list)) else [args]
    kw = dict(kwargs or {})
    if pos and isinstance(pos[-1], dict):  # torch's legacy form: a trailing dict holds keyword arguments
        kw.update(pos.pop())
    return pos, kw


def _leaves(a):
    """The tensors of an argument, nested tuples/lists/dicts flattened (torch's order)."""
    if isinstance(a, Tensor):
        return [a]
    if isinstance(a, (tuple, list)):
        return [t for x in a for t in _leaves(x)]
    if isinstance(a, Mapping):
        return [t for x in a.values() for t in _leaves(x)]
    return []


def _tensors(pos, kw):
    seen, out = set(), []
    for t in _leaves(list(pos) + list(kw.values())):
        if id(t) not in seen:  # the same tensor passed twice is one graph input
            seen.add(id(t))
            out.append(t)
    return out


def _map(a, fn):
    if isinstance(a, Tensor):
        return fn(a)
    if isinstance(a, (tuple, list)) and not hasattr(a, "_fields"):
        return type(a)(_map(x, fn) for x in a)
    if isinstance(a, dict):
        return {k: _map(x, fn) for k, x in a.items()}
    return a


def _traceable(pos, kw, memo, fn=None):
    """Copies of the input tensors that require grad (floats), so that the traced forward takes the recorded
    path of every op (some skip ops on arrays when nothing requires grad); a tensor passed twice stays one."""
    def copy(t):
        if id(t) not in memo:
            a = array(t) if fn is None else fn(t)
            memo[id(t)] = wrap(np.array(a, copy=True), a.dtype.kind == "f")
        return memo[id(t)]
    return [_map(a, copy) for a in pos], {k: _map(v, copy) for k, v in kw.items()}


def _input_names(model, pos, kw, given):
    try:
        params = [p.name for p in inspect.signature(model.forward).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    names = []
    seen = set()
    for i, a in enumerate(pos):
        leaves = [t for t in _leaves(a) if id(t) not in seen]
        seen.update(id(t) for t in leaves)
        base = params[i] if i < len(params) else f"input_{i}"
        names += [base] if isinstance(a, Tensor) else [f"{base}_{j}" for j in range(len(leaves))]
    for k, v in kw.items():
        leaves = [t for t in _leaves(v) if id(t) not in seen]
        seen.update(id(t) for t in leaves)
        names += [k] if isinstance(v, Tensor) else [f"{k}_{j}" for j in range(len(leaves))]
    given = list(given or [])
    names = given + names[len(given):]
    if len(set(names)) != len(names):
        raise ValueError(f"nnzoo.onnx.export: input names must be unique, got {names}")
    return names


def _normalise_axes(dynamic_axes):
    """{name: {axis: dim name}} from either of torch's forms."""
    out = {}
    for name, spec in (dynamic_axes or {}).items():
        if isinstance(spec, Mapping):
            out[name] = {int(a): str(d) for a, d in spec.items()}
        else:
            out[name] = {int(a): f"{name}_dynamic_axes_{i + 1}" for i, a in enumerate(spec)}
    return out


def _trace(model, pos, kw, inputs, params, live_params):
    with enable_grad(), Recorder(inputs, params, live_params) as rec:
        out = model(*pos, **kw)
    return rec, out


def _second_inputs(pos, kw, names, axes):
    """The inputs of the second run: each dynamic axis longer (by 1, 2, ... per distinct dim; axes that share a
    dim name, or a size when unnamed, grow together) and the values perturbed (floats scaled and shifted,
    integers and booleans rolled, so indices stay valid)."""
    grow, sources = {}, {}
    name_of = {id(t): n for n, t in zip(names, _tensors(pos, kw))}

    def second(t):
        name = name_of[id(t)]
        a = new = array(t)
        for axis, dim in sorted(axes.get(name, {}).items()):
            axis = axis % a.ndim
            tag = dim if not dim.startswith(f"{name}_dynamic_axes_") else ("size", a.shape[axis])
            inc = grow.setdefault(tag, len(grow) + 1)
            n = new.shape[axis]
            if n == 0:
                raise ValueError(f"nnzoo.onnx.export: input {name!r} has size 0 along dynamic axis {axis}")
            new = np.concatenate([new, np.take(new, np.arange(inc) % n, axis=axis)], axis=axis)
            sources[(name, axis)] = (a.shape[axis], a.shape[axis] + inc)
        if new.dtype.kind == "f":
            return new * new.dtype.type(0.75) + new.dtype.type(0.125)
        return np.roll(new.reshape(-1), 1).reshape(new.shape) if new.size > 1 else new

    pos2, kw2 = _traceable(pos, kw, {}, second)
    return pos2, kw2, sources


def _check_same_ops(r1, r2):
    ops1 = [e.cls.__name__ for e in r1.events]
    ops2 = [e.cls.__name__ for e in r2.events]
    if ops1 != ops2:
        i = next((i for i, (a, b) in enumerate(zip(ops1, ops2)) if a != b), min(len(ops1), len(ops2)))
        raise UnsupportedOperatorError(
            "nnzoo.onnx.export: the forward ran different ops when the dynamic axes had other sizes or the "
            f"inputs other values (op {i}: {ops1[i] if i < len(ops1) else 'end'} vs "
            f"{ops2[i] if i < len(ops2) else 'end'}): its control flow depends on the inputs, which a traced "
            "graph cannot express")
    for e1, e2 in zip(r1.events, r2.events):
        if [isinstance(a, Ref) for a in e1.args] != [isinstance(a, Ref) for a in e2.args]:
            raise UnsupportedOperatorError(f"nnzoo.onnx.export: {e1.cls.__name__} got tensor arguments in one run "
                                           "and other values in the other")


def _flatten(out):
    if isinstance(out, Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flatten(o)]
    if isinstance(out, Mapping):
        return [t for o in out.values() for t in _flatten(o)]
    return []


def _value_info(name, dtype, dims, names, mark=None):
    shape = []
    for i, (a, b) in enumerate(dims):
        if i in names or a != b or (mark and i in mark):
            shape.append(names.get(i, f"{name}_dim_{i}"))
        else:
            shape.append(int(a))
    return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(np.dtype(dtype)), shape)
