"""The computation graph behind a tensor: as an indented tree of backward nodes (:func:`graph_text`), as a picture
(:func:`graph_svg`, :func:`graph_png`), and as the data of backprop done by hand (:func:`backprop_trace`: the
forward values and, on every edge, the local gradient, the upstream gradient and their product).

Node names are PyTorch's (``AddBackward0``, ``MulBackward0``, ``AccumulateGrad``'s leaves by their names), as
nnzoo's ``grad_fn`` names are. Expressions typed as text (the backprop stepper of ``nnzoo serve``) are parsed
with :mod:`ast` against a whitelist of operators and functions, never evaluated by Python.
"""
from __future__ import annotations

import ast
import html
import math
import os
import re
import shutil
import subprocess

__all__ = ["graph_text", "graph_svg", "graph_png", "graph_dot", "backprop_trace", "parse_expression",
           "ExpressionError", "LECTURE_CIRCUITS", "FUNCTIONS"]


def graph_text(tensor, names=None, max_nodes=200):
    """The graph that produced ``tensor``, one node per line, inputs indented under their consumer.

    ``names`` maps leaf tensors to labels (e.g. ``{x: "x"}``). A node reached twice is drawn once and
    then referred to as "(see above)". Walked iteratively, so deep graphs are fine (``max_nodes`` caps
    the output).

    Example::

        >>> x = nnzoo.tensor(2.0, requires_grad=True)
        >>> print(graph_text(x * x + 1, {x: "x"}))
        AddBackward0
        └─ MulBackward0
           ├─ x (leaf, shape ())
           └─ x (leaf, shape ())
    """
    labels = {id(t): n for t, n in (names or {}).items()}
    if tensor.grad_fn is None:
        return _leaf_label(tensor, labels)
    lines, seen = [], set()
    stack = [(tensor.grad_fn, "", "", True)]
    while stack and len(lines) < max_nodes:
        node, prefix, branch, _ = stack.pop()
        if node is None:
            continue
        var = getattr(node, "variable", None)
        if var is not None:  # AccumulateGrad: a leaf
            leaf = var()
            lines.append(prefix + branch + (_leaf_label(leaf, labels) if leaf is not None else "leaf"))
            continue
        if id(node) in seen:
            lines.append(prefix + branch + node.name() + " (see above)")
            continue
        seen.add(id(node))
        lines.append(prefix + branch + node.name())
        children = [e[0] for e in node.next_functions if e is not None]
        child_prefix = prefix + ("" if not branch else ("   " if branch.startswith("└") else "│  "))
        for i, child in reversed(list(enumerate(children))):
            last = i == len(children) - 1
            stack.append((child, child_prefix, "└─ " if last else "├─ ", last))
    if stack:
        lines.append(f"... (graph truncated at {max_nodes} nodes)")
    return "\n".join(lines)


def _leaf_label(t, labels):
    name = labels.get(id(t), "leaf")
    return f"{name} (leaf, shape {tuple(t.shape)})"


# ---- the graph as data: nodes in backward order, edges child -> consumer -------------------------------------
def _is_leaf_node(node):
    return getattr(node, "variable", None) is not None


def _topological(root, max_nodes):
    """The nodes reachable from ``root`` (a grad_fn), each before every node it feeds into backward: the order
    in which backprop visits them (root first). Iterative depth-first search: deep graphs are fine."""
    order, state = [], {}
    stack = [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if id(node) in state:
            continue
        state[id(node)] = True
        if len(state) > max_nodes:
            raise ValueError(f"backprop_trace: the graph has more than {max_nodes} nodes (max_nodes)")
        stack.append((node, True))
        if not _is_leaf_node(node):
            for e in node.next_functions:
                if e is not None and id(e[0]) not in state:
                    stack.append((e[0], False))
    return order[::-1]


# short symbols the stepper draws in its gates (the lecture's circuit notation)
_SYMBOLS = {"AddBackward0": "+", "SubBackward0": "−", "MulBackward0": "×", "DivBackward0": "÷", "NegBackward0": "−x",
            "PowBackward0": "xⁿ", "PowBackward1": "xʸ", "ExpBackward0": "exp", "LogBackward0": "log",
            "SigmoidBackward0": "σ", "TanhBackward0": "tanh", "ReluBackward0": "relu", "SqrtBackward0": "√",
            "AbsBackward0": "|x|", "SinBackward0": "sin", "CosBackward0": "cos", "MaximumBackward0": "max",
            "MinimumBackward0": "min", "ReciprocalBackward0": "1/x"}


def _plain(t, max_values):
    """A tensor's values as JSON-ready Python: a float for a scalar, nested lists up to ``max_values`` numbers,
    else None (too big to show)."""
    if t is None:
        return None
    if t.numel() > max_values:
        return None
    return t.detach().double().tolist()


class _Graph:
    """The graph behind ``root`` with its nodes numbered, leaves named, and one backward pass done by hand:
    ``upstream[node]`` (d root / d node's output) and, per edge, the gradient it carries."""

    def __init__(self, root, names=None, values=None, max_nodes=500):
        from ..autograd.grad_mode import no_grad
        from ..creation import ones_like
        self.root = root
        labels = {id(t): n for t, n in (names or {}).items()}
        self.nodes = _topological(root.grad_fn, max_nodes)
        self.index = {id(n): i for i, n in enumerate(self.nodes)}
        self.values = values or {}              # id(grad_fn) -> the Tensor it produced (when known)
        self.leaf_names, self.leaf_tensors = {}, {}
        for n in self.nodes:
            if _is_leaf_node(n):
                leaf = n.variable()
                self.leaf_tensors[id(n)] = leaf
                self.leaf_names[id(n)] = labels.get(id(leaf), "leaf") if leaf is not None else "leaf"
        self.values[id(root.grad_fn)] = root
        # backprop by hand, in the engine's order: each node's backward called with the sum of what its consumers
        # sent it (its upstream gradient); what it returns for input i is the product sent down edge i
        self.upstream, self.sent, self.local = {}, {}, {}
        self.upstream[id(root.grad_fn)] = ones_like(root.detach())
        with no_grad():
            for n in self.nodes:
                up = self.upstream.get(id(n))
                if _is_leaf_node(n) or up is None:
                    continue
                try:
                    grads = n._run_backward([up])
                    scalar = up.numel() == 1
                    ones = n._run_backward([ones_like(up)]) if scalar else None
                except RuntimeError as e:  # the graph was freed by an earlier backward()
                    raise ValueError(f"backprop_trace: cannot run the backward of {n.name()} ({e}); build the "
                                     "graph again, or call backward(retain_graph=True)") from None
                for i, e in enumerate(n.next_functions):
                    if e is None or grads[i] is None:
                        continue
                    child, g = e[0], grads[i]
                    self.sent[(id(n), i)] = g
                    if ones is not None and ones[i] is not None and ones[i].numel() == 1:
                        self.local[(id(n), i)] = ones[i]
                    prev = self.upstream.get(id(child))
                    self.upstream[id(child)] = g if prev is None else prev + g

    def label(self, n):
        return self.leaf_names[id(n)] if _is_leaf_node(n) else n.name()

    def out_shape(self, n):
        """The shape of what node ``n`` produced (its leaf's shape; else the shape of its upstream gradient)."""
        if _is_leaf_node(n):
            leaf = self.leaf_tensors[id(n)]
            return tuple(leaf.shape) if leaf is not None else None
        up = self.upstream.get(id(n))
        return tuple(up.shape) if up is not None else None

    def value(self, n):
        if _is_leaf_node(n):
            return self.leaf_tensors[id(n)]
        return self.values.get(id(n))

    def edges(self):
        """``(consumer, input index, child)`` for every edge, consumers in backward order."""
        for n in self.nodes:
            if _is_leaf_node(n):
                continue
            for i, e in enumerate(n.next_functions):
                if e is not None:
                    yield n, i, e[0]


def backprop_trace(expr_or_tensor, values=None, names=None, max_values=64, max_nodes=500):
    """Backprop on a computation graph as data: the forward value of every node and, on every edge, the local
    gradient, the upstream gradient and their product ("local gradient × upstream gradient", the notes' rule),
    each computed by nnzoo's autograd (every node's own backward, called in the engine's order).

    Args:
        expr_or_tensor: a scalar expression as text, ``"(x + y) * z"`` (parsed by :func:`parse_expression`:
            ``+ - * / **`` (``^`` too), unary minus and the functions of :data:`FUNCTIONS`), the name of one of
            :data:`LECTURE_CIRCUITS`, or a Tensor with a ``grad_fn`` (its graph as recorded).
        values: for an expression, the variables' values ``{"x": -2, ...}``; they may also follow the
            expression after ``;`` (``"(x + y) * z; x=-2, y=5, z=-4"``).
        names: for a Tensor, labels of its leaves ``{x: "x"}``.
        max_values: tensors with more elements than this are traced without their values (None).
        max_nodes: refuse graphs larger than this.

    Returns:
        dict: ``nodes`` (``id``, ``name`` (PyTorch's node name, or the leaf's label), ``kind`` ('op' or 'leaf'),
        ``symbol`` (the gate's sign, e.g. '+'), ``value``, ``shape``, ``grad`` (d output / d node)), ``edges``
        (``source`` (the input's node), ``target`` (its consumer), ``input`` (the argument's position), ``shape``,
        ``value`` (the forward value carried), ``local`` (d target / d source for scalars, else None),
        ``upstream`` (d output / d target), ``product`` (what backward sends down the edge: local × upstream)),
        ``output`` (the output's node id), ``forward`` (node ids, inputs before their consumers) and
        ``backward`` (op node ids in the order backprop visits them), ``expression`` (the text, if given).
        A leaf's ``grad`` is the sum of the products on its edges, as ``x.grad`` after ``backward()``.

    Raises:
        ExpressionError: an expression outside the whitelist, a variable without a value, a result that is not
            a finite number.
        ValueError: a tensor without a graph, or a graph whose saved tensors were freed.

    Example::

        >>> t = backprop_trace("(x + y) * z", {"x": -2, "y": 5, "z": -4})
        >>> {n["name"]: n["grad"] for n in t["nodes"] if n["kind"] == "leaf"}
        {'x': -4.0, 'y': -4.0, 'z': 3.0}
        >>> [(e["local"], e["upstream"], e["product"]) for e in t["edges"] if e["target"] == t["output"]]
        [(-4.0, 1.0, -4.0), (3.0, 1.0, 3.0)]
    """
    from ..tensor import Tensor
    text = None
    if isinstance(expr_or_tensor, str):
        text = expr_or_tensor
        if text in LECTURE_CIRCUITS and values is None:
            text, values = LECTURE_CIRCUITS[text]["expression"], LECTURE_CIRCUITS[text]["values"]
        root, leaves, made = parse_expression(text, values)
        names = {t: n for n, t in leaves.items()}
        if root.grad_fn is None:
            raise ExpressionError("the expression has no variable to differentiate: use at least one name, "
                                  "e.g. x * 2; x = 3")
    elif isinstance(expr_or_tensor, Tensor):
        root, made = expr_or_tensor, {}
        if root.grad_fn is None:
            raise ValueError("backprop_trace: the tensor has no grad_fn (a leaf, or made without grad): compute "
                             "it from tensors with requires_grad=True")
    else:
        raise TypeError("backprop_trace: expected an expression (str) or a Tensor, got "
                        f"{type(expr_or_tensor).__name__}")
    g = _Graph(root, names, made, max_nodes)
    nodes = []
    for i, n in enumerate(g.nodes):
        leaf = _is_leaf_node(n)
        up = g.upstream.get(id(n))
        nodes.append({"id": i, "name": g.label(n), "kind": "leaf" if leaf else "op",
                      "symbol": g.label(n) if leaf else _SYMBOLS.get(n.name(), n.name().replace("Backward0", "")),
                      "value": _plain(g.value(n), max_values), "shape": _list(g.out_shape(n)),
                      "grad": _plain(up, max_values)})
    edges = []
    for n, i, child in g.edges():
        up = g.upstream.get(id(n))
        edges.append({"id": len(edges), "source": g.index[id(child)], "target": g.index[id(n)], "input": i,
                      "shape": _list(g.out_shape(child)), "value": _plain(g.value(child), max_values),
                      "local": _plain(g.local.get((id(n), i)), max_values),
                      "upstream": _plain(up, max_values), "product": _plain(g.sent.get((id(n), i)), max_values)})
    trace = {"nodes": nodes, "edges": edges, "output": 0,
             "forward": list(range(len(nodes)))[::-1],
             "backward": [x["id"] for x in nodes if x["kind"] == "op"]}
    if text is not None:
        trace["expression"] = text
        bad = [x["name"] for x in nodes if not _finite(x["value"]) or not _finite(x["grad"])]
        if bad:
            raise ExpressionError(f"the expression is not finite at these values (at {bad[0]}): choose other values")
    return trace


def _list(shape):
    return None if shape is None else list(shape)


def _finite(v):
    if v is None:
        return True
    if isinstance(v, list):
        return all(_finite(x) for x in v)
    return math.isfinite(v)


# ---- expressions typed as text: ast with a whitelist, never eval ---------------------------------------------
class ExpressionError(ValueError):
    """An expression the backprop stepper cannot take; the message says what is allowed."""


def _function_table():
    import nnzoo
    return {"exp": (1, nnzoo.exp), "log": (1, nnzoo.log), "sqrt": (1, nnzoo.sqrt), "abs": (1, nnzoo.abs),
            "sin": (1, nnzoo.sin), "cos": (1, nnzoo.cos), "tanh": (1, nnzoo.tanh), "sigmoid": (1, nnzoo.sigmoid),
            "relu": (1, nnzoo.relu), "max": (2, nnzoo.maximum), "min": (2, nnzoo.minimum)}


# the functions an expression may call, with their number of arguments
FUNCTIONS = {"exp": 1, "log": 1, "sqrt": 1, "abs": 1, "sin": 1, "cos": 1, "tanh": 1, "sigmoid": 1, "relu": 1,
             "max": 2, "min": 2}

# the notes' worked examples (the syllabus' backprop section)
LECTURE_CIRCUITS = {
    "add-mul": {"title": "f = (x + y) z", "expression": "(x + y) * z", "values": {"x": -2, "y": 5, "z": -4}},
    "sigmoid-neuron": {"title": "the sigmoid neuron f(w, x) = 1 / (1 + exp(-(w0 x0 + w1 x1 + w2)))",
                       "expression": "1 / (1 + exp(-(w0*x0 + w1*x1 + w2)))",
                       "values": {"w0": 2, "x0": -1, "w1": -3, "x1": -2, "w2": -3}},
    "square-square": {"title": "y = x², z = y²: dz/dx = 4x³", "expression": "(x**2)**2", "values": {"x": 2}},
}

_MAX_CHARS = 300          # an expression's length; keeps ast's recursion and the graph small
_MAX_OPS = 60             # operators and calls
_NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]{0,15}\Z")
_BINOPS = {ast.Add: "__add__", ast.Sub: "__sub__", ast.Mult: "__mul__", ast.Div: "__truediv__",
           ast.Pow: "__pow__", ast.BitXor: "__pow__"}
_SIGNS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**", ast.BitXor: "^",
          ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.LShift: "<<", ast.RShift: ">>", ast.BitOr: "|",
          ast.BitAnd: "&"}


def _number(text, what):
    """A finite float from text such as ``-2`` or ``0.5`` (parsed by ast: a number with an optional sign)."""
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        node = None
    sign = 1.0
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        sign = -1.0 if isinstance(node.op, ast.USub) else 1.0
        node = node.operand
    if not (isinstance(node, ast.Constant) and type(node.value) in (int, float)):
        raise ExpressionError(f"{what}: expected a number, got {text.strip()[:40]!r}")
    v = sign * float(node.value)
    if not math.isfinite(v) or abs(v) > 1e6:
        raise ExpressionError(f"{what}: expected a finite number of at most 1e6 in size, got {text.strip()[:40]!r}")
    return v


def _split_values(text):
    """``"(x + y) * z; x=-2, y=5"`` -> ``("(x + y) * z", {"x": -2.0, "y": 5.0})``."""
    expr, _, rest = text.partition(";")
    values = {}
    for item in re.split(r"[;,]", rest):
        if not item.strip():
            continue
        name, eq, number = item.partition("=")
        name = name.strip()
        if not eq or not _NAME.match(name):
            raise ExpressionError(f"values: expected name=number after ';', e.g. 'x=-2, y=5', got {item.strip()!r}")
        values[name] = _number(number, f"value of {name}")
    return expr, values


def parse_expression(text, values=None):
    """Build a scalar expression typed as text with nnzoo tensors (float64), recording its graph.

    The text is parsed by :func:`ast.parse` and only these nodes are built: numbers, variable names,
    ``+ - * / **`` (``^`` is read as ``**``), unary ``-``/``+``, and calls of :data:`FUNCTIONS` by name. Nothing
    is evaluated by Python: attribute access, subscripts, keywords, comparisons, lambdas and every other
    construct raise :class:`ExpressionError`. Values may follow the expression after ``;``.

    Args:
        text: the expression, at most 300 characters.
        values: ``{name: number}``, merged over those given in the text.

    Returns:
        (output, leaves, made): the output Tensor, ``{name: leaf Tensor}`` (requires_grad, float64), and
        ``{id(grad_fn): Tensor}`` for each operation's output (the forward values the graph does not keep).

    Example::

        >>> out, leaves, _ = parse_expression("x * y + 1; x = 3, y = -2")
        >>> out.item(), sorted(leaves)
        (-5.0, ['x', 'y'])
    """
    import nnzoo
    if not isinstance(text, str):
        raise ExpressionError(f"expression: expected text, got {type(text).__name__}")
    if len(text) > _MAX_CHARS:
        raise ExpressionError(f"expression: at most {_MAX_CHARS} characters, got {len(text)}")
    expr, given = _split_values(text)
    for name, v in (values or {}).items():
        if not isinstance(name, str) or not _NAME.match(name):
            raise ExpressionError(f"values: {str(name)[:20]!r} is not a variable name (letters, digits, _)")
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ExpressionError(f"value of {name}: expected a number, got {type(v).__name__}")
        try:
            given[name] = _number(repr(float(v)), f"value of {name}")
        except OverflowError:       # an integer beyond float64
            raise ExpressionError(f"value of {name}: expected a finite number of at most 1e6 in size") from None
    if not expr.strip():
        raise ExpressionError("expression: empty; type one, e.g. (x + y) * z; x=-2, y=5, z=-4")
    try:
        # NOTE: "^" is replaced before parsing: as Python's xor it binds looser than "+", so x^2 + 1 would read x^3
        tree = ast.parse(expr.strip().replace("^", "**"), mode="eval")
    except SyntaxError as e:
        raise ExpressionError(f"expression: not a formula ({e.msg} at column {e.offset})") from None
    except (ValueError, RecursionError, MemoryError):
        raise ExpressionError("expression: not a formula") from None
    functions = _function_table()
    leaves, made, count = {}, {}, [0]

    def const(v):
        return nnzoo.tensor(v, dtype=nnzoo.float64)

    def record(t):
        if t.grad_fn is not None:
            made[id(t.grad_fn)] = t
        count[0] += 1
        if count[0] > _MAX_OPS:
            raise ExpressionError(f"expression: at most {_MAX_OPS} operations")
        return t

    def build(node):
        if isinstance(node, ast.Constant):
            if type(node.value) not in (int, float):
                raise ExpressionError(f"expression: only numbers and names, got {node.value!r}"[:120])
            return _number(repr(node.value), "a number in the expression")
        if isinstance(node, ast.Name):
            if node.id in FUNCTIONS:
                raise ExpressionError(f"expression: {node.id} is a function: call it, e.g. {node.id}(x)")
            if not _NAME.match(node.id):
                raise ExpressionError(f"expression: {node.id[:20]!r} is too long a name (16 characters at most)")
            if node.id not in leaves:
                if node.id not in given:
                    raise ExpressionError(f"expression: give a value for {node.id}, e.g. '; {node.id}=1'")
                leaves[node.id] = nnzoo.tensor(given[node.id], dtype=nnzoo.float64, requires_grad=True)
            return leaves[node.id]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            x = build(node.operand)
            if isinstance(node.op, ast.UAdd):
                return x
            return -x if isinstance(x, float) else record(-x)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            a, b = build(node.left), build(node.right)
            if isinstance(a, float) and isinstance(b, float):     # constants: computed by nnzoo, no node
                return float(getattr(const(a), _BINOPS[type(node.op)])(const(b)).item())
            if isinstance(b, float) and type(node.op) in (ast.Pow, ast.BitXor) and abs(b) > 16:
                raise ExpressionError("expression: exponents of at most 16 in size")
            if isinstance(a, float):       # 1 / t, 2 - t: the tensor's reflected operator, as PyTorch records it
                op = _BINOPS[type(node.op)].replace("__", "__r", 1)
                return record(getattr(b, op)(a))
            return record(getattr(a, _BINOPS[type(node.op)])(b))
        if isinstance(node, ast.BinOp):
            raise ExpressionError(f"expression: the operator {_SIGNS.get(type(node.op), '?')} is not allowed "
                                  "(use + - * / ** and functions)")
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else None
            if name not in functions or node.keywords:
                raise ExpressionError(f"expression: unknown function; allowed: {', '.join(FUNCTIONS)}")
            arity, fn = functions[name]
            if len(node.args) != arity or any(isinstance(a, ast.Starred) for a in node.args):
                raise ExpressionError(f"expression: {name} takes {arity} argument{'s' if arity > 1 else ''}")
            args = [build(a) for a in node.args]
            if all(isinstance(a, float) for a in args):
                return float(fn(*[const(a) for a in args]).item())
            args = [const(a) if isinstance(a, float) else a for a in args]
            return record(fn(*args))
        what = type(node).__name__
        raise ExpressionError(f"expression: {what} is not allowed (numbers, names, + - * / **, unary -, and "
                              f"the functions {', '.join(FUNCTIONS)})")

    try:
        out = build(tree.body)
    except RecursionError:
        raise ExpressionError("expression: nested too deeply") from None
    if isinstance(out, float):
        out = const(out)
    unused = sorted(set(given) - set(leaves) - set(values or {}))
    if unused:
        raise ExpressionError(f"values: {', '.join(unused)} do not appear in the expression")
    return out, leaves, made


# ---- the graph as a picture ----------------------------------------------------------------------------------
def _shape_text(shape):
    return "" if shape is None else str(tuple(shape))


def _picture_graph(tensor, names, max_nodes):
    """Nodes (label, kind) and edges (source, target, shape text) of the graph behind ``tensor``."""
    if tensor.grad_fn is None:
        raise ValueError("graph_svg: the tensor has no grad_fn (a leaf, or made without grad): compute it from "
                         "tensors with requires_grad=True")
    try:
        g = _Graph(tensor, names, None, max_nodes)
        shapes = g.out_shape
    except ValueError:      # the graph was freed by backward(): draw it without the shapes of op outputs
        g = None
    if g is None:
        nodes = _topological(tensor.grad_fn, max_nodes)
        labels = {id(t): n for t, n in (names or {}).items()}
        index = {id(n): i for i, n in enumerate(nodes)}

        def label(n):
            return (labels.get(id(n.variable()), "leaf") if n.variable() is not None else "leaf") \
                if _is_leaf_node(n) else n.name()

        def shapes(n):
            return tuple(n.variable().shape) if _is_leaf_node(n) and n.variable() is not None else None
        edge_list = [(n, i, e[0]) for n in nodes if not _is_leaf_node(n)
                     for i, e in enumerate(n.next_functions) if e is not None]
    else:
        nodes, index, label, edge_list = g.nodes, g.index, g.label, list(g.edges())
    out_nodes = []
    for n in nodes:
        text = label(n)
        if _is_leaf_node(n):
            text += "\n" + _shape_text(shapes(n))
        out_nodes.append((text, "leaf" if _is_leaf_node(n) else "op"))
    out_edges = [(index[id(c)], index[id(n)], _shape_text(shapes(c))) for n, _, c in edge_list]
    out_nodes[0] = (out_nodes[0][0] + "\n" + _shape_text(shapes(nodes[0])), out_nodes[0][1])
    return out_nodes, out_edges


def graph_dot(tensor, names=None, max_nodes=500):
    """The graph behind ``tensor`` in graphviz's DOT language (inputs at the top, the output at the bottom, as
    torchviz draws it): op nodes by PyTorch's names, leaves by ``names`` with their shapes, shapes on the edges."""
    nodes, edges = _picture_graph(tensor, names, max_nodes)
    lines = ["digraph nnzoo {", '  node [fontname="Helvetica", fontsize=11];', '  edge [fontname="Helvetica", '
             'fontsize=9];']
    for i, (text, kind) in enumerate(nodes):
        style = 'shape=box, style=filled, fillcolor="#cfe8ff"' if kind == "leaf" else \
            'shape=box, style="rounded,filled", fillcolor="#eeeeee"'
        lines.append(f'  n{i} [label="{_dot_escape(text)}", {style}];')
    for s, t, shape in edges:
        lines.append(f'  n{s} -> n{t} [label="{_dot_escape(shape)}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_escape(text):
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _layout(nodes, edges):
    """A layered layout of a DAG (Sugiyama's scheme, simplified): each node's layer is its longest distance
    from the output (inputs end up on top), nodes within a layer ordered by the mean position of their
    consumers (a few downward sweeps), then centred. Returns ``{node: (layer, x position)}`` and the layers."""
    consumers = {i: [] for i in range(len(nodes))}
    for s, t, _ in edges:
        consumers[s].append(t)
    depth = [0] * len(nodes)
    # nodes are in backward order (each before its inputs): one pass gives the longest path from the output
    inputs = {i: [] for i in range(len(nodes))}
    for s, t, _ in edges:
        inputs[t].append(s)
    for t in range(len(nodes)):
        for s in inputs[t]:
            depth[s] = max(depth[s], depth[t] + 1)
    n_layers = max(depth) + 1
    layers = [[] for _ in range(n_layers)]
    for i in range(len(nodes)):
        layers[depth[i]].append(i)
    pos = {i: float(k) for layer in layers for k, i in enumerate(layer)}
    for _ in range(4):          # barycentre sweeps from the output upwards
        for layer in layers[1:]:
            layer.sort(key=lambda i: sum(pos[c] for c in consumers[i]) / max(1, len(consumers[i])))
            for k, i in enumerate(layer):
                pos[i] = float(k) - (len(layer) - 1) / 2
        layers[0].sort(key=lambda i: pos[i])
    return pos, depth, layers


def _svg_own(nodes, edges):
    """The SVG of the graph with :func:`_layout` (inputs on top, output at the bottom)."""
    pos, depth, layers = _layout(nodes, edges)
    box_w, box_h, gap_x, gap_y = 150, 40, 30, 70
    widest = max(len(layer) for layer in layers)
    width = widest * (box_w + gap_x) + gap_x
    n_layers = len(layers)
    height = n_layers * (box_h + gap_y) + gap_y - 30

    def centre(i):
        x = width / 2 + pos[i] * (box_w + gap_x)
        y = gap_y / 2 + (n_layers - 1 - depth[i]) * (box_h + gap_y) + box_h / 2
        return x, y

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
             f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="Helvetica, Arial, sans-serif">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
             'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>']
    for s, t, shape in edges:
        (x1, y1), (x2, y2) = centre(s), centre(t)
        y1, y2 = y1 + box_h / 2, y2 - box_h / 2
        parts.append(f'<line class="edge" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="#555" '
                     'stroke-width="1.2" marker-end="url(#arrow)"/>')
        if shape:
            parts.append(f'<text class="shape" x="{(x1 + x2) / 2 + 4:.1f}" y="{(y1 + y2) / 2 + 3:.1f}" '
                         f'font-size="10" fill="#666">{html.escape(shape)}</text>')
    for i, (text, kind) in enumerate(nodes):
        x, y = centre(i)
        fill = "#cfe8ff" if kind == "leaf" else "#eeeeee"
        rx = 2 if kind == "leaf" else 10
        parts.append(f'<g class="node {kind}"><rect x="{x - box_w / 2:.1f}" y="{y - box_h / 2:.1f}" '
                     f'width="{box_w}" height="{box_h}" rx="{rx}" fill="{fill}" stroke="#333"/>')
        lines = text.split("\n")
        for k, line in enumerate(lines):
            dy = (k - (len(lines) - 1) / 2) * 13 + 4
            size = 12 if k == 0 else 10
            parts.append(f'<text x="{x:.1f}" y="{y + dy:.1f}" font-size="{size}" text-anchor="middle">'
                         f'{html.escape(line)}</text>')
        parts.append("</g>")
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def graph_svg(tensor, names=None, path=None, max_nodes=500, engine="auto"):
    """The computation graph behind ``tensor`` as an SVG picture: op nodes by PyTorch's names
    (``AddBackward0``), leaves by ``names`` with their shapes, each edge labelled with the shape of the tensor
    it carries; inputs at the top, the output at the bottom (torchviz's orientation).

    Args:
        tensor: a Tensor with a ``grad_fn``.
        names: labels of leaf tensors, ``{x: "x"}``.
        path: if given, the SVG is also written there.
        max_nodes: refuse graphs larger than this.
        engine: ``'dot'`` (graphviz, must be installed), ``'own'`` (nnzoo's layered layout), or ``'auto'``
            (graphviz's ``dot`` when it is on the PATH, else nnzoo's).

    Returns:
        str: the SVG document.

    NOTE: edge shapes of op outputs come from one backward pass by hand (the upstream gradient has the
    output's shape), so the graph must still hold its saved tensors; after ``backward()`` without
    ``retain_graph=True`` only the leaves' shapes are drawn.

    Example::

        >>> x = nnzoo.ones(2, 3, requires_grad=True)
        >>> svg = graph_svg((x * 2).sum(), {x: "x"}, engine="own")
        >>> "SumBackward0" in svg and "MulBackward0" in svg and "(2, 3)" in svg
        True
    """
    if engine not in ("auto", "dot", "own"):
        raise ValueError(f"graph_svg: engine must be 'auto', 'dot' or 'own', got {engine!r}")
    dot = shutil.which("dot")
    if engine == "dot" and dot is None:
        raise RuntimeError("graph_svg: engine='dot' needs graphviz's `dot` on the PATH (apt install graphviz)")
    if dot is not None and engine != "own":
        svg = subprocess.run([dot, "-Tsvg"], input=graph_dot(tensor, names, max_nodes), capture_output=True,
                             text=True, check=True, timeout=60).stdout
    else:
        svg = _svg_own(*_picture_graph(tensor, names, max_nodes))
    if path is not None:
        with open(os.fspath(path), "w", encoding="utf-8") as f:
            f.write(svg)
    return svg


def graph_png(tensor, path, names=None, max_nodes=500, dpi=100, engine="auto"):
    """The picture of :func:`graph_svg` as a PNG file: graphviz's ``dot -Tpng`` when installed, else nnzoo's
    layout drawn with matplotlib (the ``viz`` extra). Returns ``path``.

    Example::

        >>> x = nnzoo.tensor(3.0, requires_grad=True)
        >>> graph_png(x * x + 1, "graph.png", {x: "x"})
        'graph.png'
    """
    dot = shutil.which("dot")
    if engine == "dot" and dot is None:
        raise RuntimeError("graph_png: engine='dot' needs graphviz's `dot` on the PATH (apt install graphviz)")
    if dot is not None and engine != "own":
        subprocess.run([dot, "-Tpng", "-Gdpi=" + str(int(dpi)), "-o", os.fspath(path)],
                       input=graph_dot(tensor, names, max_nodes), text=True, check=True, timeout=60)
        return path
    from matplotlib.patches import FancyBboxPatch

    from .plots import _figure, save_figure
    nodes, edges = _picture_graph(tensor, names, max_nodes)
    pos, depth, layers = _layout(nodes, edges)
    widest, n_layers = max(len(layer) for layer in layers), len(layers)
    fig = _figure(figsize=(max(3.0, 1.9 * widest), max(2.0, 1.1 * n_layers)))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(-widest / 2 - 0.1, widest / 2 + 0.1)
    ax.set_ylim(-0.6, n_layers - 0.4)
    ax.set_axis_off()
    xy = {i: (pos[i], float(depth[i])) for i in range(len(nodes))}     # inputs on top
    w, h = 0.8, 0.42
    for s, t, shape in edges:
        (x1, y1), (x2, y2) = xy[s], xy[t]
        ax.annotate("", xy=(x2, y2 + h / 2), xytext=(x1, y1 - h / 2),
                    arrowprops=dict(arrowstyle="-|>", color="#555", lw=1), zorder=1)
        if shape:
            ax.text((x1 + x2) / 2 + 0.03, (y1 + y2) / 2, shape, fontsize=7, color="#666")
    for i, (text, kind) in enumerate(nodes):
        x, y = xy[i]
        ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02",
                                    fc="#cfe8ff" if kind == "leaf" else "#eeeeee", ec="#333", zorder=3))
        ax.text(x, y, text, ha="center", va="center", fontsize=8, zorder=4)
    return save_figure(fig, path, dpi)
