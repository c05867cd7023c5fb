"""chainrule.viz: DOT text for recorded (Tensor) and traced (function) graphs."""
import re
import shutil

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import viz


def _nodes(dot):
    """``{id: label}`` of the node statements in DOT text."""
    return dict(re.findall(r'^\s+(\w+) \[label="([^"]*)"', dot, flags=re.M))


def _edges(dot):
    return re.findall(r"^\s+(\w+) -> (\w+)", dot, flags=re.M)


def test_tensor_graph_labels_edges_and_marks():
    x = cr.tensor(np.ones((2, 3)), requires_grad=True)
    w = cr.tensor(np.ones((3, 4), np.float32), requires_grad=True)
    y = (x.float() @ w).tanh().sum()
    dot = viz.to_dot(y, names={"x": x, "w": w})
    nodes = _nodes(dot)
    labels = list(nodes.values())
    assert labels == [r"x\n(2, 3) float64", r"w\n(3, 4) float32", r"astype\n(2, 3) float32",
                      r"matmul\n(2, 4) float32", r"tanh\n(2, 4) float32", r"sum\n() float32"]
    assert len(_edges(dot)) == 5
    # Leaves are drawn as inputs, the result as the output.
    ids = {label.split(r"\n")[0]: nid for nid, label in nodes.items()}
    assert re.search(rf"^\s+{ids['x']} \[.*shape=ellipse", dot, flags=re.M)
    assert re.search(rf"^\s+{ids['sum']} \[.*penwidth=2.5", dot, flags=re.M)
    assert not re.search(rf"^\s+{ids['tanh']} \[.*penwidth", dot, flags=re.M)
    assert dot.startswith('digraph "chainrule" {') and dot.rstrip().endswith("}")


def test_graph_object_kinds_and_repeated_argument_edges():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    g = viz.graph_of(x * x)
    assert [n.kind for n in g.nodes] == ["input", "op"]
    assert [n.output for n in g.nodes] == [False, True]
    assert g.nodes[0].label == "input\n(2,) float32"     # unnamed leaves are called "input"
    # x * x: one edge per argument, labelled by position.
    assert g.edges == [("n0", "n1", "0"), ("n0", "n1", "1")]


def test_constants_shown_on_request():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    c = cr.tensor([3.0, 4.0])                       # does not require grad: a constant
    y = x * c + 2.0
    assert [n.kind for n in viz.graph_of(y).nodes] == ["input", "op", "op"]
    g = viz.graph_of(y, show_constants=True)
    consts = [n for n in g.nodes if n.kind == "const"]
    assert [n.label for n in consts] == ["const\n(2,) float32", "const\n() float"]
    assert len(g.edges) == 4
    assert "style=\"dashed\"" in viz.to_dot(g)


def test_named_intermediate_results():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = x.sin()
    g = viz.graph_of((h * 2).sum(), names={"x": x, "hidden": h})
    assert [n.label for n in g.nodes] == ["x\n(2,) float32", "hidden = sin\n(2,) float32",
                                          "multiply\n(2,) float32", "sum\n() float32"]


def test_several_outputs_and_multiple_result_ops():
    x = cr.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    vals, idx = x.max(dim=1)                        # one node with two results
    s = vals.sum()
    g = viz.graph_of([vals, s])
    outs = [n for n in g.nodes if n.output]
    assert [n.label.split(" = ")[0] for n in outs] == ["out 0", "out 1"]
    assert any("(2,) float64" in n.label for n in outs)


def test_function_trace_labels_inputs_by_argument_path():
    def loss(params, x, n_steps):
        h = cnp.tanh(x @ params["w"] + params["b"])
        return cnp.mean(h ** 2) * n_steps

    params = {"w": np.ones((3, 2), np.float32), "b": np.zeros(2, np.float32)}
    g = viz.trace_graph(loss, params, np.ones((5, 3), np.float32), 4)
    inputs = [n.label for n in g.nodes if n.kind == "input"]
    assert inputs == ["params['b']\n(2,) float32", "params['w']\n(3, 2) float32", "x\n(5, 3) float32"]
    ops = [n.label for n in g.nodes if n.kind == "op"]
    assert ops == ["matmul\n(5, 2) float32", "broadcast_to\n(5, 2) float32", "add\n(5, 2) float32",
                   "tanh\n(5, 2) float32", "integer_pow\n(5, 2) float32", "sum\n() float32",
                   "divide\n() float32", "multiply\n() float32"]
    assert g.nodes[-1].output and not any(n.output for n in g.nodes[:-1])
    # One edge per traced argument: matmul 2, broadcast 1, add 2, then one each (the constants are not drawn).
    assert len(g.edges) == 10
    assert ("n2", "n3", "0") in g.edges and ("n1", "n3", "1") in g.edges     # x @ w


def test_trace_graph_tuples_namedtuples_and_custom_rules():
    from collections import namedtuple
    P = namedtuple("P", ["a", "b"])

    @cr.custom_vjp
    def f(x):
        return cnp.sin(x)
    f.defvjp(lambda x: (cnp.sin(x), x), lambda x, g: (g * cnp.cos(x),))

    g = viz.trace_graph(lambda p, pair: f(p.a) * p.b + pair[1], P(np.ones(2), np.ones(2)),
                        (np.ones(2), np.ones(2)))
    inputs = [n.label.split("\n")[0] for n in g.nodes if n.kind == "input"]
    assert inputs == ["p.a", "p.b", "pair[1]"]       # pair[0] is unused, so not in the graph
    assert any(n.label.startswith("custom_vjp_call: f\n") for n in g.nodes)


def test_deep_chain_has_no_recursion_limit():
    x = cr.tensor([0.5], requires_grad=True)
    y = x
    for _ in range(3000):          # deeper than Python's default recursion limit
        y = y * 1.0001
    g = viz.graph_of(y)
    assert len(g.nodes) == 3001 and len(g.edges) == 3000
    assert g.nodes[0].kind == "input" and g.nodes[-1].output


def test_dot_escapes_quotes_in_names():
    x = cr.tensor([1.0], requires_grad=True)
    dot = viz.to_dot(x.exp(), names={'my "x"': x}, rankdir="LR")
    assert r'label="my \"x\"\n(1,) float32"' in dot
    assert "rankdir=LR;" in dot


def test_errors():
    with pytest.raises(ValueError, match="graph_of: output 0 .* does not require grad"):
        viz.graph_of(cr.tensor([1.0]))
    with pytest.raises(TypeError, match="expected a Tensor.*trace_graph"):
        viz.to_dot(np.ones(3))
    with pytest.raises(ValueError, match="does not depend on any floating-point input"):
        viz.trace_graph(lambda x: np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match="format must be one of"):
        viz.render(cr.tensor([1.0], requires_grad=True).exp(), "g.gif", format="gif")


def test_render_without_dot_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="Graphviz's 'dot' program was not found.*Install Graphviz"):
        viz.render(cr.tensor([1.0], requires_grad=True).exp(), tmp_path / "g.svg")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' is not installed")
@pytest.mark.parametrize("fmt, magic", [("svg", b"<svg"), ("png", b"\x89PNG")])
def test_render_writes_a_picture(tmp_path, fmt, magic):
    g = viz.trace_graph(lambda x: cnp.sum(cnp.sin(x)), np.ones(3))
    path = viz.render(g, tmp_path / f"g.{fmt}", format=fmt)
    data = open(path, "rb").read()
    assert magic in data[:200]
