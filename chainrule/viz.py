"""Pictures of computation graphs: Graphviz DOT text, with no dependency.

Two sources of graphs, one format:

- ``graph_of(tensor)``: the graph a Tensor result recorded on the tape (what ``.backward()`` would walk),
  found through ``grad_fn`` and each node's parents.
- ``trace_graph(f, *args)``: run ``f`` once under a reverse-mode trace (as ``grad`` would) and keep the
  ``Node``s it recorded; every floating-point leaf of ``args`` is an input.

Both return a ``Graph`` (plain lists of nodes and edges); ``to_dot`` turns it (or a Tensor directly) into DOT
text and ``render`` hands that text to Graphviz's ``dot`` program when it is installed.

Invariant: graphs are walked with an explicit stack (no recursion, whatever the depth) and every node is visited
once; nodes are listed in the order they were created (their ``key``), so the text is deterministic.

>>> import chainrule as cr
>>> x = cr.tensor([1.0, 2.0], requires_grad=True)
>>> g = graph_of((x * x).sum(), names={"x": x})
>>> [n.label for n in g.nodes]
['x\\n(2,) float32', 'multiply\\n(2,) float32', 'sum\\n() float32']
>>> len(g.edges)
3
"""
import shutil
import subprocess

from .core.primitive import Aval
from .core.trace import Tracer
from .core.tree import tree_flatten, tree_unflatten
from .interpreters.reverse import Node, ReverseTrace, ReverseTracer

__all__ = ["Graph", "GraphNode", "graph_of", "trace_graph", "to_dot", "render"]

FORMATS = ("svg", "png", "pdf")

# Node kinds and how they are drawn.
_STYLE = {
    "input": 'shape=ellipse, style=filled, fillcolor="#cfe2ff"',
    "op": 'shape=box, style="rounded,filled", fillcolor="#f2f2f2"',
    "const": 'shape=box, style="dashed", fontcolor="#666666", color="#999999"',
}
_OUTPUT_STYLE = 'penwidth=2.5, color="#2e7d32"'


class GraphNode:
    """One node of a ``Graph``: ``kind`` is ``'input'`` (a leaf), ``'op'`` or ``'const'``; ``output`` marks a
    result the graph was drawn from; ``op`` is the primitive's name (None for inputs and constants).

    >>> import chainrule as cr
    >>> graph_of(cr.tensor([1.0], requires_grad=True).exp()).nodes[1]
    GraphNode('n1', 'op', 'exp\\n(1,) float32', output)
    """

    __slots__ = ("id", "kind", "op", "label", "output")

    def __init__(self, id, kind, op, label, output=False):
        self.id, self.kind, self.op, self.label, self.output = id, kind, op, label, output

    def __repr__(self):
        return f"GraphNode({self.id!r}, {self.kind!r}, {self.label!r}{', output' if self.output else ''})"


class Graph:
    """Nodes and edges of a computation graph; ``edges`` are ``(source_id, target_id, label)``, one per
    argument an operation received from another node (so ``x * x`` has two edges from ``x``, labelled by
    argument position).

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> g = graph_of(x * x)
    >>> g, g.edges
    (<Graph: 2 nodes, 2 edges>, [('n0', 'n1', '0'), ('n0', 'n1', '1')])
    >>> g.to_dot().splitlines()[-2]
    '  n0 -> n1 [label="1"];'
    """

    def __init__(self, nodes, edges):
        self.nodes = nodes
        self.edges = edges

    def __repr__(self):
        return f"<Graph: {len(self.nodes)} nodes, {len(self.edges)} edges>"

    def to_dot(self, name="chainrule", rankdir="TB"):
        """The graph as Graphviz DOT text (see ``chainrule.viz.to_dot``)."""
        lines = [f"digraph {_quote(name)} {{", f"  rankdir={rankdir};",
                 '  node [fontname="Helvetica", fontsize=11];', '  edge [fontname="Helvetica", fontsize=9];']
        for n in self.nodes:
            style = _STYLE[n.kind] + (", " + _OUTPUT_STYLE if n.output else "")
            lines.append(f"  {n.id} [label={_quote(n.label)}, {style}];")
        for src, dst, label in self.edges:
            lines.append(f"  {src} -> {dst}" + (f" [label={_quote(label)}];" if label else ";"))
        lines.append("}")
        return "\n".join(lines) + "\n"

    def render(self, path, format="svg"):
        """Draw the graph into ``path`` with Graphviz (see ``chainrule.viz.render``)."""
        return _run_dot(self.to_dot(), path, format)


def _quote(s):
    """A DOT string literal: backslashes and quotes escaped, line breaks written as DOT's ``\\n``."""
    s = str(s).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{s}"'


def _describe(v):
    """``'(2, 3) float32'`` for anything with a shape and dtype (arrays, Avals, tracers); ``'?'`` otherwise."""
    shape = getattr(v, "shape", None)
    dtype = getattr(v, "dtype", None)
    if shape is None or dtype is None:
        if isinstance(v, (bool, int, float, complex)):
            return f"() {type(v).__name__}"
        return "?"
    return f"{tuple(shape)} {dtype}"


def _op_name(node):
    """The primitive's name, with the user's function or class name for custom rules and ``Function``s."""
    name = node.prim.name
    params = node.params or {}
    for key in ("call", "spec"):
        inner = getattr(params.get(key), "name", None)
        if inner:
            return f"{name}: {inner}"
    return name


def _out_description(node, index=None):
    out = node.out
    if out is None:
        return "(freed)"     # the backward pass released it
    if node.prim is not None and node.prim.multiple_results:
        if index is not None:
            return _describe(out[index])
        return ", ".join(_describe(o) for o in out)
    return _describe(out)


def _leaf_value(node):
    t = getattr(node, "tensor", None)
    if t is not None:                     # a Tensor leaf (AccumulateGrad) keeps a weak reference
        t = t()
        return None if t is None else t.data
    return node.out


def _build(roots, leaf_names, show_constants):
    """Walk back from ``roots`` (``[(ref, label_or_None)]``, a ref being a Node or ``(Node, i)``) to the leaves."""
    seen = {}          # Node -> True once pushed
    order = []
    stack = []
    for ref, _ in roots:
        node = ref[0] if type(ref) is tuple else ref
        if node not in seen:
            seen[node] = True
            stack.append(node)
    while stack:
        node = stack.pop()
        order.append(node)
        for p in node.parents:
            if p is None:
                continue
            pn = p[0] if type(p) is tuple else p
            if pn not in seen:
                seen[pn] = True
                stack.append(pn)
    order.sort(key=lambda n: -n.key)      # creation order: keys decrease as nodes are made
    ids = {node: f"n{i}" for i, node in enumerate(order)}
    out_nodes = {(ref[0] if type(ref) is tuple else ref): label for ref, label in roots}
    nodes, edges = [], []
    n_const = 0
    for node in order:
        nid = ids[node]
        is_out = node in out_nodes
        if node.prim is None:
            name = leaf_names.get(node) or "input"
            label = f"{name}\n{_describe(_leaf_value(node))}"
            nodes.append(GraphNode(nid, "input", None, label, is_out))
            continue
        op = _op_name(node)
        label = f"{op}\n{_out_description(node)}"
        if node in leaf_names:                 # a named intermediate result
            label = f"{leaf_names[node]} = {label}"
        if is_out and out_nodes[node]:
            label = f"{out_nodes[node]} = {label}"
        nodes.append(GraphNode(nid, "op", node.prim.name, label, is_out))
        many = len(node.parents) > 1
        for i, p in enumerate(node.parents):
            if p is None:
                if show_constants and node.primals is not None and i < len(node.primals):
                    cid = f"c{n_const}"
                    n_const += 1
                    nodes.append(GraphNode(cid, "const", None, f"const\n{_describe(node.primals[i])}"))
                    edges.append((cid, nid, str(i) if many else ""))
                continue
            if type(p) is tuple:
                pn, k = p
                label = f"{i} <- out {k}" if many else f"out {k}"
            else:
                pn, label = p, (str(i) if many else "")
            edges.append((ids[pn], nid, label))
    return Graph(nodes, edges)


def _tensor_ref(t, where):
    from .tensor import Tensor
    if not isinstance(t, Tensor):
        raise TypeError(f"{where}: expected a Tensor (or a list of Tensors), got {type(t).__name__}; to draw a "
                        f"function's graph use chainrule.viz.trace_graph(f, *args)")
    return t._ref


def graph_of(outputs, names=None, show_constants=False):
    """The recorded graph behind Tensor result(s) ``outputs`` (a Tensor or a list/tuple of Tensors).

    ``names`` maps a name to a Tensor of the graph (for example ``dict(model.named_parameters())``) to label
    it: leaves are then called by that name, and named intermediate results are labelled ``name = op``.
    Tensors that do not require grad are not part of the graph; with ``show_constants=True`` each operation's
    constant arguments appear as dashed boxes. Draw it before ``backward()``: without ``retain_graph`` the
    backward pass frees what the nodes hold (their shapes then read ``(freed)``).

    >>> import chainrule as cr
    >>> w = cr.tensor([[1.0, 2.0]], requires_grad=True)
    >>> g = graph_of(w.sum(), names={"w": w})
    >>> g.nodes[0].label, g.nodes[1].kind, g.nodes[1].output
    ('w\\n(1, 2) float32', 'op', True)
    """
    many = isinstance(outputs, (list, tuple))
    outs = list(outputs) if many else [outputs]
    roots = []
    for i, t in enumerate(outs):
        ref = _tensor_ref(t, "graph_of")
        if ref is None:
            raise ValueError(f"graph_of: output {i} (shape {tuple(t.shape)}) does not require grad, so no graph "
                             f"was recorded for it; create the inputs with requires_grad=True")
        roots.append((ref, f"out {i}" if many else None))
    leaf_names = {}
    for name, t in (names or {}).items():
        ref = _tensor_ref(t, "graph_of names")
        if ref is not None:
            leaf_names[ref[0] if type(ref) is tuple else ref] = name
    return _build(roots, leaf_names, show_constants)


def _leaf_paths(treedef, argnames):
    """A readable path for each leaf of a flattened ``args`` tuple: ``params['w']``, ``x``, ``batch[1]``.

    Walks the TreeDef with an explicit stack, children in flattening order."""
    paths = []
    stack = [(child, argnames[i] if i < len(argnames) else f"arg{i}")
             for i, child in reversed(list(enumerate(treedef.children)))]
    while stack:
        td, path = stack.pop()
        if td.kind is None:
            paths.append(path)
            continue
        if td.kind is dict:
            keys = td.aux
        elif isinstance(td.aux, type) and hasattr(td.aux, "_fields"):   # namedtuple
            keys = td.aux._fields
        else:
            keys = None
        for j in reversed(range(len(td.children))):
            if keys is not None and isinstance(keys[j], str) and td.kind is not dict:
                sub = f"{path}.{keys[j]}"
            elif keys is not None:
                sub = f"{path}[{keys[j]!r}]"
            else:
                sub = f"{path}[{j}]"
            stack.append((td.children[j], sub))
    return paths


def _argnames(f, n):
    import inspect
    try:
        params = list(inspect.signature(f).parameters.values())
    except (TypeError, ValueError):
        return [f"arg{i}" for i in range(n)]
    names = []
    for i in range(n):
        if i < len(params) and params[i].kind in (params[i].POSITIONAL_ONLY, params[i].POSITIONAL_OR_KEYWORD):
            names.append(params[i].name)
        elif params and params[-1].kind is params[-1].VAR_POSITIONAL and i >= len(params) - 1:
            names.append(f"{params[-1].name}[{i - len(params) + 1}]")
        else:
            names.append(f"arg{i}")
    return names


def trace_graph(f, *args, show_constants=False, **kwargs):
    """Run ``f(*args, **kwargs)`` under a reverse-mode trace and return the ``Graph`` of what it computed.

    Every floating-point leaf of ``args`` (a pytree) is an input, labelled by its argument name and path
    (``params['w']``); integer leaves and ``kwargs`` are constants. The output(s) are marked.

    >>> import numpy as np, chainrule.numpy as cnp
    >>> g = trace_graph(lambda x, y: cnp.sum(cnp.sin(x) * y), np.ones(3), np.ones(3))
    >>> [n.label.split("\\n")[0] for n in g.nodes]
    ['x', 'y', 'sin', 'multiply', 'sum']
    """
    import numpy as np
    flat, tree = tree_flatten(args)
    paths = _leaf_paths(tree, _argnames(f, len(args)))
    trace = ReverseTrace("chainrule.viz.trace_graph")
    leaf_names = {}
    traced = []
    try:
        for x, path in zip(flat, paths):
            v = x if isinstance(x, Tracer) or hasattr(x, "dtype") else np.asarray(x)
            if np.issubdtype(v.dtype, np.inexact):
                t = trace.new_leaf(v)
                leaf_names[t.ref] = path
                traced.append(t)
            else:
                traced.append(x)
        out = f(*tree_unflatten(tree, traced), **kwargs)
    finally:
        trace.close()
    out_flat, _ = tree_flatten(out)
    roots = []
    for i, o in enumerate(out_flat):
        if type(o) is ReverseTracer and o._trace is trace:
            roots.append((o.ref, f"out {i}" if len(out_flat) > 1 else None))
    if not roots:
        raise ValueError("trace_graph: the function's output does not depend on any floating-point input, so "
                         "there is no graph to draw")
    return _build(roots, leaf_names, show_constants)


def _as_graph(target, names, show_constants):
    if isinstance(target, Graph):
        return target
    if isinstance(target, Node):
        return _build([(target, None)], {}, show_constants)
    return graph_of(target, names=names, show_constants=show_constants)


def to_dot(target, names=None, show_constants=False, rankdir="TB", name="chainrule"):
    """Graphviz DOT text for ``target``: a ``Graph`` (from ``trace_graph``/``graph_of``), a Tensor result or
    a list of them.

    Operations are boxes labelled with the op name and the output's shape and dtype; inputs (leaves) are blue
    ellipses; the results drawn from have a thick green border. ``rankdir="LR"`` lays the graph out left to right.

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> print(to_dot(x.exp().sum(), names={"x": x}))  # doctest: +ELLIPSIS
    digraph "chainrule" {
      rankdir=TB;
    ...
      n0 [label="x\\n(3,) float32", shape=ellipse, ...];
      n1 [label="exp\\n(3,) float32", shape=box, ...];
      n2 [label="sum\\n() float32", shape=box, ..., penwidth=2.5, color="#2e7d32"];
      n0 -> n1;
      n1 -> n2;
    }
    <BLANKLINE>
    """
    return _as_graph(target, names, show_constants).to_dot(name=name, rankdir=rankdir)


def _run_dot(text, path, format):
    if format not in FORMATS:
        raise ValueError(f"render: format must be one of {FORMATS}, got {format!r}")
    exe = shutil.which("dot")
    if exe is None:
        raise RuntimeError("render: Graphviz's 'dot' program was not found on PATH. Install Graphviz (for "
                           "example `apt install graphviz`, `brew install graphviz` or `conda install graphviz`), "
                           "or write chainrule.viz.to_dot(...) to a .dot file and open it with any DOT viewer.")
    path = str(path)
    res = subprocess.run([exe, f"-T{format}", "-o", path], input=text, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"render: dot failed with exit status {res.returncode}: {res.stderr.strip()}")
    return path


def render(target, path, format="svg", names=None, show_constants=False, rankdir="TB"):
    """Draw ``target`` (as for ``to_dot``) into the file ``path`` with Graphviz's ``dot``; returns ``path``.

    ``format`` is ``"svg"``, ``"png"`` or ``"pdf"``. Raises a RuntimeError explaining how to install Graphviz
    when ``dot`` is not on PATH.

    >>> import chainrule as cr, shutil, tempfile, os
    >>> x = cr.tensor([1.0], requires_grad=True)
    >>> if shutil.which("dot"):
    ...     with tempfile.TemporaryDirectory() as d:
    ...         _ = render(x.exp(), os.path.join(d, "g.svg"))
    """
    text = to_dot(target, names=names, show_constants=show_constants, rankdir=rankdir)
    return _run_dot(text, path, format)
