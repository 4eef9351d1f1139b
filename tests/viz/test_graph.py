"""nnzoo.viz.graph: backprop_trace against torch's autograd, the whitelist parser, graph_svg / graph_png."""
import math
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import torch

import nnzoo
from nnzoo.viz import backprop_trace, graph_png, graph_svg
from nnzoo.viz.graph import LECTURE_CIRCUITS, ExpressionError, parse_expression


def _torch_grads(expr, values):
    """The leaves' gradients by torch for an expression of the stepper's grammar (written here in torch)."""
    leaves = {k: torch.tensor(float(v), dtype=torch.float64, requires_grad=True) for k, v in values.items()}
    env = {**leaves, "exp": torch.exp, "sigmoid": torch.sigmoid}
    out = eval(expr, {"__builtins__": {}}, env)  # test oracle only: the expression is a constant of this file
    out.backward()
    return out.item(), {k: t.grad.item() for k, t in leaves.items()}


def _leaf_grads(trace):
    return {n["name"]: n["grad"] for n in trace["nodes"] if n["kind"] == "leaf"}


@pytest.mark.parametrize("name", sorted(LECTURE_CIRCUITS))
def test_lecture_circuits_match_torch(name):
    c = LECTURE_CIRCUITS[name]
    trace = backprop_trace(name)
    value, grads = _torch_grads(c["expression"], c["values"])
    assert trace["nodes"][trace["output"]]["value"] == pytest.approx(value)
    assert _leaf_grads(trace) == pytest.approx(grads)


def test_add_mul_circuit_is_the_lectures():
    # f = (x + y) z at x=-2, y=5, z=-4: q = x + y = 3, f = -12; df/dx = df/dy = z = -4, df/dz = q = 3
    trace = backprop_trace("add-mul")
    by_id = {n["id"]: n for n in trace["nodes"]}
    assert by_id[trace["output"]]["name"] == "MulBackward0"          # torch's names for the same graph
    x, y, z = (torch.tensor(v, requires_grad=True) for v in (-2.0, 5.0, -4.0))
    f = (x + y) * z
    assert by_id[trace["output"]]["name"] == f.grad_fn.name()
    assert sorted(n["name"] for n in trace["nodes"] if n["kind"] == "op") == \
        sorted([f.grad_fn.name(), f.grad_fn.next_functions[0][0].name()])
    f.backward()
    assert _leaf_grads(trace) == {"x": x.grad.item(), "y": y.grad.item(), "z": z.grad.item()}


def test_every_edge_is_local_times_upstream_and_leaves_sum_their_edges():
    trace = backprop_trace("sigmoid-neuron")
    nodes = {n["id"]: n for n in trace["nodes"]}
    for e in trace["edges"]:
        assert e["product"] == pytest.approx(e["local"] * e["upstream"])
        assert e["upstream"] == pytest.approx(nodes[e["target"]]["grad"])
        assert e["value"] == pytest.approx(nodes[e["source"]]["value"])
    for n in trace["nodes"]:   # a node's gradient is the sum of what its consumers send it
        sent = [e["product"] for e in trace["edges"] if e["source"] == n["id"]]
        if sent:
            assert n["grad"] == pytest.approx(sum(sent))
    # the forward order puts inputs before consumers, backward visits consumers first
    seen = set()
    for i in trace["forward"]:
        assert all(e["source"] in seen for e in trace["edges"] if e["target"] == i)
        seen.add(i)


def test_fan_out_accumulates_like_backward():
    trace = backprop_trace("x * x + x; x = 3")
    x = nnzoo.tensor(3.0, dtype=nnzoo.float64, requires_grad=True)
    (x * x + x).backward()
    assert _leaf_grads(trace) == {"x": pytest.approx(x.grad.item())}     # 2x + 1 = 7


def test_tensor_input_matches_torch():
    a = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    b = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    (torch.tanh(a @ b) * 2).sum().backward()
    x = nnzoo.tensor(a.detach().numpy(), requires_grad=True)
    w = nnzoo.tensor(b.detach().numpy(), requires_grad=True)
    trace = backprop_trace((nnzoo.tanh(x @ w) * 2).sum(), names={x: "x", w: "w"})
    grads = _leaf_grads(trace)
    np.testing.assert_allclose(grads["x"], a.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(grads["w"], b.grad.numpy(), rtol=1e-12)
    shapes = {(trace["nodes"][e["source"]]["name"], trace["nodes"][e["target"]]["name"]): e["shape"]
              for e in trace["edges"]}
    assert shapes[("x", "MatMulBackward0")] == [2, 3] and shapes[("TanhBackward0", "MulBackward0")] == [2, 4]


def test_freed_graph_and_leaf_are_refused():
    x = nnzoo.tensor(2.0, requires_grad=True)
    y = x * x
    y.backward()
    with pytest.raises(ValueError, match="retain_graph"):
        backprop_trace(y)
    with pytest.raises(ValueError, match="no grad_fn"):
        backprop_trace(x)


@pytest.mark.parametrize("text", [
    "__import__('os').system('true'); x=1", "x.real; x=1", "x[0]; x=1", "(lambda: 1)()", "x if x else 1; x=1",
    "x < 1; x=1", "open('f')", "exp(x, y=1); x=1", "x // 2; x=1", "'a' + x; x=1", "x @ x; x=1", "[x]; x=1",
    "exp; x=1", "y * 2", "x*2; x=nan", "x*2; x=1e400", "x*2; x=abc", "x ** 1000; x=2", "x" + "+x" * 200 + "; x=1",
    "(" * 120 + "x" + ")" * 120 + "; x=1", "x + 1; x=1, q=2", "", "2 * 3", "log(x); x=-1", "x*2; 1x=3",
])
def test_parser_refuses_everything_outside_the_whitelist(text):
    with pytest.raises(ExpressionError):
        backprop_trace(text)


def test_values_outside_float64_are_refused():
    with pytest.raises(ExpressionError, match="value of x"):
        backprop_trace("x + 1", {"x": 10 ** 400})
    with pytest.raises(ExpressionError, match="value of x"):
        backprop_trace("x + 1", {"x": True})


def test_parser_reads_the_usual_notation():
    out, leaves, _ = parse_expression("x^2 + max(x, 1) - sigmoid(-x) / 2; x = 0.5")
    x = torch.tensor(0.5, dtype=torch.float64)
    expected = x ** 2 + torch.maximum(x, torch.tensor(1.0, dtype=torch.float64)) - torch.sigmoid(-x) / 2
    assert out.item() == pytest.approx(expected.item()) and list(leaves) == ["x"]
    out, _, _ = parse_expression("x * y", {"x": 2, "y": -1.5})
    assert out.item() == -3.0


def _torch_chain(t):
    """Node names of torch's graph, output first (depth-first over next_functions)."""
    names, stack, seen = [], [t.grad_fn], set()
    while stack:
        n = stack.pop()
        if n is None or id(n) in seen:
            continue
        seen.add(id(n))
        names.append(n.name())
        stack.extend(e[0] for e in n.next_functions)
    return names


def test_graph_svg_draws_torchs_names_and_shapes(tmp_path):
    x = nnzoo.ones(2, 3, requires_grad=True)
    w = nnzoo.ones(3, 4, requires_grad=True)
    y = (nnzoo.relu(x.matmul(w)) * 2).sum()
    svg = graph_svg(y, {x: "x", w: "w"}, path=tmp_path / "g.svg", engine="own")
    root = ET.fromstring(svg)                    # well-formed XML
    ns = "{http://www.w3.org/2000/svg}"
    texts = [t.text for t in root.iter(ns + "text")]
    tx = torch.ones(2, 3, requires_grad=True)
    ty = (torch.relu(tx @ torch.ones(3, 4, requires_grad=True)) * 2).sum()
    for name in {"SumBackward0", "MulBackward0", "ReluBackward0"}:   # PyTorch's names, where torch records them
        assert name in _torch_chain(ty) and name in texts
    assert "x" in texts and "w" in texts
    assert "(2, 3)" in texts and "(3, 4)" in texts and "(2, 4)" in texts     # shapes on edges
    assert len(list(root.iter(ns + "line"))) == 5                        # x, w -> mm -> relu -> mul -> sum
    assert (tmp_path / "g.svg").read_text() == svg


def test_graph_png_writes_a_png(tmp_path):
    x = nnzoo.tensor(3.0, requires_grad=True)
    path = graph_png(x * x + 1, tmp_path / "g.png", {x: "x"}, engine="own")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_graph_svg_after_backward_keeps_the_leaves():
    x = nnzoo.tensor([1.0, 2.0], requires_grad=True)
    y = (x * 3).sum()
    y.backward()
    svg = graph_svg(y, {x: "x"}, engine="own")
    assert "MulBackward0" in svg and "(2,)" in svg and math.isfinite(len(svg))


def test_graph_svg_hands_dot_text_to_graphviz_when_installed(tmp_path, monkeypatch):
    """With a `dot` on the PATH (a stand-in here that records its input), graph_svg asks graphviz for the SVG."""
    import os
    import sys
    seen = tmp_path / "input.dot"
    fake = tmp_path / "dot"
    fake.write_text(f"#!{sys.executable}\nimport sys\nopen({str(seen)!r}, 'w').write(sys.stdin.read())\n"
                    "print('<svg xmlns=\"http://www.w3.org/2000/svg\"><text>from dot</text></svg>')\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    x = nnzoo.ones(2, 3, requires_grad=True)
    svg = graph_svg((x * 2).sum(), {x: "x"})
    assert "from dot" in svg
    text = seen.read_text()
    assert text.startswith("digraph") and "SumBackward0" in text and "MulBackward0" in text
    assert '[label="(2, 3)"]' in text                      # the edges carry shapes
    assert "from dot" not in graph_svg((x * 2).sum(), {x: "x"}, engine="own")
