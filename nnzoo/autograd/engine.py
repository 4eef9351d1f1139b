"""The backward pass: an iterative walk of the graph in dependency order (no recursion, so a chain of
100,000 ops backprops fine). ``backward`` accumulates into leaves' ``.grad``; ``grad`` returns the
gradients of chosen inputs and leaves ``.grad`` alone.

Around the walk, PyTorch's engine hooks: a leaf's post-accumulate-grad hooks run right after its ``.grad`` was
updated (``Tensor.register_post_accumulate_grad_hook``), and the callbacks queued during a pass
(``Variable._execution_engine.queue_callback``) run once when it finishes.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np

from ..tensor import SparseNotImplementedError, Tensor
from . import anomaly_mode
from .grad_mode import state


def backward(tensors: Tensor | Sequence[Tensor], grad_tensors: Tensor | Sequence[Tensor | None] | None = None,
             retain_graph: bool | None = None, create_graph: bool = False,
             inputs: Tensor | Sequence[Tensor] | None = None) -> None:
    """Compute the gradients of ``tensors`` (w.r.t. every leaf) and accumulate them into ``.grad``."""
    tensors, grads = _roots(tensors, grad_tensors, "backward")
    if retain_graph is None:
        retain_graph = create_graph
    targets = None
    if inputs is not None:
        inputs = _as_tuple(inputs)
        targets = [_input_edge(t, i) for i, t in enumerate(inputs)]
    finish = None
    if targets is not None:  # backward(inputs=...): accumulate only into these, when the walk is done

        def finish(captured):
            for t, g in zip(inputs, captured):
                if g is not None:
                    if not create_graph:
                        g = g.detach()
                    t.grad = g if t.grad is None else t.grad + g
                    edge = t._accum if t.grad_fn is None else None
                    if edge is not None and edge[0]._post_hooks:
                        edge[0].run_post_hooks()
    _execute(tensors, grads, retain_graph, create_graph, targets, accumulate=targets is None, finish=finish)


def grad(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor],
         grad_outputs: Tensor | Sequence[Tensor | None] | None = None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool = False) -> tuple[Tensor | None, ...]:
    """Return d(outputs)/d(inputs) as a tuple, without touching ``.grad``.

    With ``create_graph=True`` the results are themselves differentiable (higher-order gradients).

    Example::

        >>> x = nnzoo.tensor(2.0, requires_grad=True)
        >>> g, = nnzoo.autograd.grad(x ** 3, x, create_graph=True)   # 3x^2 = 12
        >>> nnzoo.autograd.grad(g, x)[0]                             # 6x = 12
        tensor(12.)
    """
    outputs, grads = _roots(outputs, grad_outputs, "grad")
    if retain_graph is None:
        retain_graph = create_graph
    inputs = _as_tuple(inputs)
    targets = [_input_edge(t, i) for i, t in enumerate(inputs)]
    result = _execute(outputs, grads, retain_graph, create_graph, targets, accumulate=False)
    for i, g in enumerate(result):
        if g is None and not allow_unused:
            raise RuntimeError(f"grad: input {i} (shape {tuple(inputs[i].shape)}) was not used to compute "
                               "the outputs; pass allow_unused=True to get None for it")
    if not create_graph:
        result = [None if g is None else g.detach() for g in result]
    return tuple(result)


def _as_tuple(x):
    return (x,) if isinstance(x, Tensor) else tuple(x)


def _input_edge(t, i):
    if not isinstance(t, Tensor) or not t.requires_grad:
        raise RuntimeError(f"grad: input {i} does not require grad")
    return t._edge()


def _roots(tensors, grad_tensors, fname):
    tensors = _as_tuple(tensors)
    if grad_tensors is None:
        grad_tensors = (None,) * len(tensors)
    else:
        grad_tensors = _as_tuple(grad_tensors) if not isinstance(grad_tensors, (list, tuple)) \
            else tuple(grad_tensors)
    if len(grad_tensors) != len(tensors):
        raise RuntimeError(f"{fname}: got {len(tensors)} tensors but {len(grad_tensors)} gradients")
    grads = []
    for i, (t, g) in enumerate(zip(tensors, grad_tensors)):
        if not t.requires_grad:
            raise RuntimeError(
                f"{fname}: element {i} of the tensors does not require grad and has no grad_fn: it was "
                "computed from tensors without requires_grad=True (or under no_grad()), so there is "
                "nothing to differentiate")
        if g is None:
            if t.numel() != 1:
                raise RuntimeError(
                    f"{fname}: grad can be created implicitly only for scalar outputs, but the output has "
                    f"shape {tuple(t.shape)}; pass gradient= (e.g. out.backward(torch.ones_like(out)))")
            g = Tensor._make(np.ones(t.shape, dtype=t._data.dtype))
        else:
            if not isinstance(g, Tensor):
                g = Tensor._make(np.asarray(g, dtype=t._data.dtype))
            if g.shape != t.shape:
                raise RuntimeError(f"{fname}: gradient of shape {tuple(g.shape)} given for an output of "
                                   f"shape {tuple(t.shape)}")
            if g._data.dtype != t._data.dtype:
                g = g.to(t.dtype)
        grads.append(g)
    return tensors, grads


def _dependencies(roots):
    """How many edges lead into each node reachable from ``roots`` (iterative DFS)."""
    deps = {}
    root_set = set(roots)
    stack = list(root_set)
    while stack:
        node = stack.pop()
        for e in node.next_functions:
            if e is not None:
                m = e[0]
                if m in deps:
                    deps[m] += 1
                else:  # first visit
                    deps[m] = 1
                    if m not in root_set:
                        stack.append(m)
    return deps


def _needed(roots, deps, target_nodes):
    """The nodes from which some target node can be reached (the only ones grad() must run)."""
    remaining = dict(deps)
    order, ready = [], [n for n in set(roots) if remaining.get(n, 0) == 0]
    while ready:
        n = ready.pop()
        order.append(n)
        for e in n.next_functions:
            if e is not None:
                remaining[e[0]] -= 1
                if remaining[e[0]] == 0:
                    ready.append(e[0])
    needed = set()
    for n in reversed(order):
        if n in target_nodes or any(e is not None and e[0] in needed for e in n.next_functions):
            needed.add(n)
    return needed


class _Callbacks(threading.local):
    """The callbacks queued by each backward pass running in this thread, innermost pass last."""

    def __init__(self):
        self.stack = []


_callbacks = _Callbacks()


class _ExecutionEngine:
    """``torch.autograd.Variable._execution_engine``: the engine object; ``queue_callback`` is what it offers."""

    def queue_callback(self, callback: Callable[[], None]) -> None:
        """Run ``callback()`` once when the backward pass now running finishes (after every node ran and every
        ``.grad`` was accumulated), in the order queued; a callback may queue more. Only during a backward
        pass (from a hook or a custom Function's backward): elsewhere it raises, as PyTorch.

        Example::

            >>> from nnzoo.autograd import Variable
            >>> w = nnzoo.ones(2, requires_grad=True)
            >>> y = (w * 3).sum()
            >>> _ = y.register_hook(lambda g: Variable._execution_engine.queue_callback(lambda: print(w.grad)))
            >>> y.backward()
            tensor([3., 3.])
        """
        stack = _callbacks.stack
        if not stack:
            raise RuntimeError("Final callbacks can only be installed during backward pass.")
        stack[-1].append(callback)

    def run_backward(self, tensors: Sequence[Tensor], grad_tensors: Sequence[Tensor | None], keep_graph: bool,
                     create_graph: bool, inputs: Sequence[Tensor] = (), allow_unreachable: bool = True,
                     accumulate_grad: bool = True) -> tuple[Tensor | None, ...] | None:
        """PyTorch's low-level entry point: ``backward`` when ``accumulate_grad``, else ``grad`` of ``inputs``."""
        if accumulate_grad:
            backward(tensors, grad_tensors, keep_graph, create_graph, inputs or None)
            return None
        return grad(tensors, inputs, grad_tensors, keep_graph, create_graph, allow_unused=allow_unreachable)


execution_engine = _ExecutionEngine()


def _execute(tensors, grads, retain_graph, create_graph, targets, accumulate, finish=None):
    root_edges = [t._edge() for t in tensors]
    roots = [e[0] for e in root_edges]
    deps = _dependencies(roots)
    buffers = {}
    owned = set()  # ids of arrays made by _accumulate that only a slot of `buffers` holds (see there)
    fresh = set()  # storage handed to a leaf's .grad in this pass (see AccumulateGrad)
    for (node, nr), g in zip(root_edges, grads):
        if not create_graph:
            base = g._data if g._data.base is None else g._data.base
            fresh.add(id(base))  # a user's gradient= tensor is never stored as .grad itself
        _add(buffers, node, nr, g)
    captured = [None] * len(targets) if targets is not None else None
    target_at = {}
    if targets is not None:
        for i, (node, nr) in enumerate(targets):
            target_at.setdefault(node, []).append((nr, i))
        needed = _needed(roots, deps, target_at)
    ready = [n for n in set(roots) if deps.get(n, 0) == 0]
    anomaly = anomaly_mode.state.enabled
    prev = state.enabled
    state.enabled = create_graph
    queued = []
    _callbacks.stack.append(queued)
    try:
        while ready:
            node = ready.pop()
            buf = buffers.pop(node, None)
            if buf is not None:
                if owned:  # handed on from here: no longer the engine's alone
                    for g in buf:
                        if g is not None:
                            owned.discard(id(g._data))
                if node._pre_hooks is not None:
                    _run_hooks(node, buf)
                if node._retained is not None:
                    _retain(node, buf)
                if targets is not None and node in target_at:
                    for nr, i in target_at[node]:
                        captured[i] = buf[nr]
            if node._is_accumulator:
                if buf is not None and accumulate:
                    try:
                        node.accumulate(buf[0], create_graph, fresh)
                    except SparseNotImplementedError:  # a sparse gradient, or a sparse .grad (nnzoo.sparse)
                        _accumulate_sparse(node, buf[0], create_graph, fresh)
                    if node._post_hooks:
                        node.run_post_hooks()
                continue
            edges = node.next_functions
            if buf is not None and (targets is None or node in needed):
                if node._n_out > 1 and node._materialize_grads:
                    buf = [g if g is not None else Tensor._make(np.zeros(shape, dtype))
                           for g, (shape, dtype) in zip(buf, node._out_meta)]
                if anomaly:
                    in_grads = _checked_backward(node, buf)
                elif node._array_forward:  # built-in op: trusted to return one gradient per input
                    in_grads = node.backward(node, *buf)
                    if type(in_grads) is not tuple:
                        in_grads = (in_grads,)
                else:
                    in_grads = node._run_backward(buf)
                if not retain_graph:
                    node._saved = None
                    node._freed = True
                for e, g in zip(edges, in_grads):
                    if e is not None:
                        m = e[0]
                        if g is not None:  # _add, inlined: this loop runs once per edge
                            mbuf = buffers.get(m)
                            if mbuf is None:
                                mbuf = buffers[m] = [None] * m._n_out
                            old = mbuf[e[1]]
                            if old is None:
                                mbuf[e[1]] = g
                            elif create_graph:
                                mbuf[e[1]] = old + g
                            else:
                                mbuf[e[1]] = _accumulate(old, g, owned)
                        d = deps[m] - 1
                        deps[m] = d
                        if d == 0:
                            ready.append(m)
            else:  # no gradient reached this node (or grad() does not need it): just release its inputs
                for e in edges:
                    if e is not None:
                        m = e[0]
                        d = deps[m] - 1
                        deps[m] = d
                        if d == 0:
                            ready.append(m)
        if finish is not None:
            finish(captured)
        i = 0
        while i < len(queued):  # a callback may queue more: they run too, in order
            queued[i]()
            i += 1
    finally:
        _callbacks.stack.pop()
        state.enabled = prev
    return captured


def _checked_backward(node, buf):
    """A node's backward under anomaly detection: an error (with ``check_nan``, a NaN in a returned gradient)
    first warns with the stack that created the node in forward, as PyTorch."""
    try:
        if node._array_forward:
            in_grads = node.backward(node, *buf)
            if type(in_grads) is not tuple:
                in_grads = (in_grads,)
        else:
            in_grads = node._run_backward(buf)
        if anomaly_mode.state.check_nan:
            for i, g in enumerate(in_grads):
                if g is None or (node.next_functions[i] if i < len(node.next_functions) else None) is None:
                    continue
                try:
                    a = g._data
                except SparseNotImplementedError:  # a sparse gradient: its values
                    a = g._sp_values
                if a.dtype.kind in "fc" and np.isnan(a).any():
                    raise RuntimeError(f"Function '{node.name()}' returned nan values in its {i}th output.")
    except Exception:
        anomaly_mode.warn_forward_trace(node)
        raise
    return in_grads


def _accumulate(old, g, owned):
    """``old + g`` for two gradients reaching the same input (no graph recorded), the same values as the Add op.

    NOTE: a sum this pass made and still holds only in its buffer (``owned``) takes the next gradient in
    place: a node used many times (seq2seq's encoder states, read at every decoder step: 94 of its 122
    accumulations a step, 4.4M elements) then costs one new array, not one a use. Every other ``old`` may
    be shared (Add's backward hands the same gradient to both inputs) and is never written.
    """
    # NOTE: every path that returns a new tensor drops ``old``'s id from ``owned``: the new tensor replaces
    # ``old`` in its slot, ``old``'s array may then be freed, and a later array (a shared or read-only one)
    # could reuse its id and be written in place
    try:
        a, b = old._data, g._data
    except SparseNotImplementedError:  # one of them is a sparse gradient
        from ..sparse import sum_grads
        if type(old) is Tensor:
            owned.discard(id(old._data))
        return sum_grads(old, g)
    if type(a) is not np.ndarray or type(b) is not np.ndarray or a.shape != b.shape or a.dtype != b.dtype:
        owned.discard(id(a))
        return old + g  # broadcasting, promotion, another array type: the op's rules
    if id(a) in owned:
        np.add(a, b, out=a)
        return old
    out = np.add(a, b, out=np.empty_like(a))  # out=: a 0-d sum stays an array
    owned.add(id(out))
    return Tensor._make(out)


def _accumulate_sparse(node, g, create_graph, fresh):
    """AccumulateGrad when the gradient or the leaf's ``.grad`` is sparse (PyTorch's rules, nnzoo.sparse)."""
    var = node.variable()
    if var is not None:
        from ..sparse import accumulate_grad
        accumulate_grad(var, g, create_graph, fresh)


def _add(buffers, node, nr, g):
    buf = buffers.get(node)
    if buf is None:
        buf = buffers[node] = [None] * node._n_out
    old = buf[nr]
    buf[nr] = g if old is None else old + g


def _run_hooks(node, buf):
    for nr, hooks in node._pre_hooks.items():
        if buf[nr] is None:
            continue
        for hook in list(hooks.values()):
            new = hook(buf[nr])
            if new is not None:
                buf[nr] = new


def _retain(node, buf):
    for nr, ref in node._retained.items():
        t = ref()
        if t is not None and buf[nr] is not None:
            g = buf[nr] if state.enabled else buf[nr].detach()
            t.grad = g if t.grad is None else t.grad + g
