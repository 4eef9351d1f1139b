"""The computation graph behind a tensor, drawn as an indented tree of backward nodes."""


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
