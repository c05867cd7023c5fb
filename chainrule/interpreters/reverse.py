"""Reverse mode: recording nodes and the backward pass.

Invariant: a Node is created after the nodes of all its inputs, so its ``key`` (a decreasing counter) orders
nodes for the backward pass: popping the smallest key from a heap visits every node after all of its consumers.
The walk is iterative (no recursion, whatever the graph's depth) and a node's cotangent is dropped from the
table as soon as the node has been processed.

The same ``Node`` format and ``backward_pass`` serve the functional transforms (``ReverseTrace``) and the
Tensor face's always-on tape (``chainrule.tensor``).
"""
import heapq
import itertools

from numpy import add as _np_add, ndarray as _ndarray

from ..core import primitive as _primitive
from ..core.primitive import Aval, missing_rule
from ..core.trace import PrimalTracer, Trace, Tracer
from ..core.zeros import zeros_like_value

_keys = itertools.count(0, -1)


class Node:
    """One recorded application of a primitive (or a leaf, when ``prim`` is None).

    ``parents[i]`` is None (argument i is a constant), a Node (single-output parent) or ``(Node, index)``.
    """

    __slots__ = ("prim", "params", "parents", "primals", "out", "key", "hooks", "__weakref__")

    def __init__(self, prim, params, parents, primals, out):
        self.prim = prim
        self.params = params
        self.parents = parents
        self.primals = primals
        self.out = out
        self.key = next(_keys)
        self.hooks = None

    def __repr__(self):
        return f"<Node {'leaf' if self.prim is None else self.prim.name}>"


class FreedGraphError(RuntimeError):
    """Backward through a graph whose saved values were already released."""


def _accumulate(cts, heap, ref, g, owned):
    if type(ref) is tuple:
        node, i = ref
        slot = cts.get(node)
        if slot is None:
            slot = cts[node] = [None] * len(node.out)
            heapq.heappush(heap, (node.key, node))
        slot[i] = g if slot[i] is None else slot[i] + g
    else:
        old = cts.get(ref)
        if old is None:
            if ref not in cts:
                heapq.heappush(heap, (ref.key, ref))
            cts[ref] = g
        elif ref in owned and type(g) is _ndarray and g.dtype == old.dtype and g.shape == old.shape:
            # NOTE: [in-place accumulation] ``old`` was allocated by an earlier accumulation into this very
            # slot, so nothing else can see it: adding in place saves one full-size temporary per fan-in.
            _np_add(old, g, out=old)
        else:
            new = old + g
            cts[ref] = new
            if type(new) is _ndarray:
                owned.add(ref)


def backward_pass(seeds, *, free=False, leaf_hook=None, capture=None, unpack=None, check=None):
    """Propagate cotangents from ``seeds`` (``[(ref, g), ...]``) back to the leaves.

    Returns ``{leaf_node: cotangent}`` plus the cotangents of the nodes in ``capture`` (an optional set).
    With ``free=True`` each node's saved values are released once used (a second pass then raises).
    ``leaf_hook(node, g)`` is called per reached leaf instead of collecting it. ``unpack(node) -> (out, saved)``
    lets the Tensor face check and convert saved values before a rule sees them; ``check(node, ct)`` sees every
    cotangent a rule produces (anomaly detection).
    """
    cts = {}
    heap = []
    owned = set()
    for ref, g in seeds:
        if ref is not None and g is not None:
            _accumulate(cts, heap, ref, g, owned)
    results = {}
    while heap:
        node = heapq.heappop(heap)[1]
        g = cts.pop(node)
        if node.hooks:
            for hook in node.hooks:
                new = hook(g)
                if new is not None:
                    g = new
        prim = node.prim
        if capture is not None and node in capture:
            results[node] = g
        if prim is None:
            if leaf_hook is not None:
                leaf_hook(node, g)
            else:
                results[node] = g
            continue
        if node.primals is None:
            raise FreedGraphError(
                f"Trying to backward through the graph a second time (through '{prim.name}'): its saved values "
                f"were freed after the first backward. Pass retain_graph=True to the first backward call.")
        if unpack is None:
            out, primals = node.out, node.primals
        else:
            out, primals = unpack(node)
        if prim.multiple_results:
            g = [zeros_like_value(o) if gi is None else gi for gi, o in zip(g, out)]
        params = node.params
        parents = node.parents
        rule = prim.vjp
        if type(rule) is tuple:
            for i, ref in enumerate(parents):
                if ref is None:
                    continue
                r = rule[i] if i < len(rule) else None
                if r is None:
                    raise missing_rule(prim, "VJP", f" for argument {i}")
                c = r(g, out, *primals, **params)
                if c is not None:
                    if check is not None:
                        check(node, c)
                    _accumulate(cts, heap, ref, c, owned)
        elif rule is None:
            raise missing_rule(prim, "VJP")
        else:
            cs = rule(g, out, *primals, **params)
            for ref, c in zip(parents, cs):
                if ref is not None and c is not None:
                    if check is not None:
                        check(node, c)
                    _accumulate(cts, heap, ref, c, owned)
        if free:
            node.primals = None
            node.out = None
    return results


# NOTE: [dropping unsaved values]
# Replacing a value by an Aval costs an allocation, which pays only for big arrays: arrays with at most
# DROP_THRESHOLD elements, and values traced one level down, are kept. The test suite sets the threshold to 0 so
# every rule is exercised with its unsaved arrays really missing.
DROP_THRESHOLD = 4096


def _drop(v):
    return Aval(v.shape, v.dtype) if type(v) is _ndarray and v.size > DROP_THRESHOLD else v


def drop_unsaved(prim, saved, out):
    """``(saved, out)`` with what ``prim``'s VJP does not read replaced by Avals (see ``Primitive.saves``)."""
    s = prim.saves
    if not s & _primitive.SAVE_INPUTS:
        saved = [_drop(p) for p in saved]
    if not s & _primitive.SAVE_OUT:
        out = [_drop(o) for o in out] if prim.multiple_results else _drop(out)
    return saved, out


class ReverseTracer(PrimalTracer):
    """A value traced by reverse mode: its value one level down and the node (or (node, i)) that made it."""

    __slots__ = ("ref",)

    def __init__(self, trace, primal, ref):
        self._trace = trace
        self.primal = primal
        self.ref = ref


class ReverseTrace(Trace):
    """Records a Node per primitive applied to its tracers; the values themselves are computed one level down."""

    __slots__ = ()

    def new_leaf(self, x):
        return ReverseTracer(self, x, Node(None, None, (), (), x))

    def process(self, prim, args, params):
        primals = []
        parents = []
        lower = False  # is any value still traced one level down?
        for a in args:
            if type(a) is ReverseTracer and a._trace is self:
                p = a.primal
                primals.append(p)
                parents.append(a.ref)
            else:
                p = a
                primals.append(a)
                parents.append(None)
            if not lower and isinstance(p, Tracer):
                lower = True
        if prim.reverse_fwd is None:
            out = prim.bind(*primals, **params) if lower else prim.impl(*primals, **params)
            saved = primals
        else:
            out, saved = prim.reverse_fwd(primals, params)
        if prim.nondiff:
            return out
        if prim.saves != 3:
            saved, kept_out = drop_unsaved(prim, saved, out)
        else:
            kept_out = out
        node = Node(prim, params, parents, saved, kept_out)
        if prim.multiple_results:
            return [ReverseTracer(self, o, (node, i)) for i, o in enumerate(out)]
        return ReverseTracer(self, out, node)
