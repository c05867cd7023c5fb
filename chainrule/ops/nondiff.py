"""NumPy functions without a derivative (sorting permutations, searches, predicates, histograms) that accept
traced values and return plain results.

Invariant: each function here is one non-differentiable primitive (``def_nondiff``) whose ``impl`` calls the
NumPy function itself, so its result is NumPy's, bit for bit. Differentiation transforms pass such a primitive
through and return its result untraced; ``vmap`` uses the batch rule named by ``batch``:

- ``"elementwise"``: the result is elementwise in the array arguments (``isclose``, ``isneginf``);
- ``"axis"``: one array argument and an ``axis`` argument (``argsort``, ``nanargmax``);
- ``("vector", k)``: elementwise in argument ``k`` when every other array argument is unmapped
  (``searchsorted(a, v)`` in ``v``, ``digitize(x, bins)`` in ``x``); otherwise a loop;
- ``None``: a loop over the batch (the engine's fallback, with its one-time warning).

(``unique``, ``histogram`` and the set operations return values taken from their input, so they are
differentiable compositions in ``ops.sorting``, not primitives here.)

Arguments are split once into traced arrays (the primitive's positional operands) and everything else, kept
in a hashable ``_Call`` parameter with the places the operands go back to.
"""
import inspect

import numpy as np

from ..core.primitive import Primitive, def_nondiff
from ..core.trace import Tracer
from ..core.tree import tree_flatten, tree_unflatten
from ..interpreters.batching import loop_fallback, move_to_front

__all__ = []


class _Call:
    """The non-traced part of one call: the argument tree, its constant leaves, the operands' leaf positions."""

    __slots__ = ("tree", "consts", "slots")

    def __init__(self, tree, consts, slots):
        self.tree, self.consts, self.slots = tree, consts, slots

    def rebuild(self, operands):
        leaves = list(self.consts)
        for k, v in zip(self.slots, operands):
            leaves[k] = v
        return tree_unflatten(self.tree, leaves)

    def with_consts(self, updates):
        consts = list(self.consts)
        for k, v in updates.items():
            consts[k] = v
        return _Call(self.tree, tuple(consts), self.slots)


def _split(args, kwargs):
    leaves, tree = tree_flatten((tuple(args), dict(kwargs)))
    slots = tuple(i for i, x in enumerate(leaves) if isinstance(x, Tracer))
    operands = [leaves[i] for i in slots]
    consts = tuple(None if isinstance(x, Tracer) else x for x in leaves)
    return operands, _Call(tree, consts, slots)


def _logical_ndim(v, d):
    return np.ndim(v) - (d is not None)


def _elementwise_batch(prim):
    """Operands line up from the right; each mapped one moves its batch axis to the front, padded with size-1
    axes to the rank of the broadcast result, so NumPy pairs batch elements with batch elements."""
    def batch(size, vals, dims, call):
        args, kwargs = call.rebuild([None] * len(vals))
        const_ranks = [np.ndim(x) for x in tree_flatten((args, kwargs))[0] if x is not None and np.ndim(x)]
        rank = max([_logical_ndim(v, d) for v, d in zip(vals, dims)] + const_ranks)
        from .shape import reshape
        new = []
        for v, d in zip(vals, dims):
            if d is None:
                new.append(v)
                continue
            v = move_to_front(v, d)
            nd = v.ndim - 1
            new.append(reshape(v, (size,) + (1,) * (rank - nd) + tuple(v.shape[1:])))
        return prim.bind(*new, call=call), 0
    return batch


def _axis_batch(prim, fn):
    sig = inspect.signature(fn)

    def batch(size, vals, dims, call):
        if len(vals) != 1:
            return loop_fallback(prim, size, vals, dims, {"call": call})
        x = move_to_front(vals[0], dims[0])
        args, kwargs = call.rebuild([x])
        bound = sig.bind(*args, **kwargs)
        bound.apply_defaults()
        axis = bound.arguments.get("axis")
        if bound.arguments.get("keepdims") is True and axis is None:
            return loop_fallback(prim, size, vals, dims, {"call": call})
        if axis is None:
            from .shape import reshape
            bound.arguments["a"] = reshape(x, (size, -1))
            bound.arguments["axis"] = 1
        else:
            bound.arguments["axis"] = int(axis) % (x.ndim - 1) + 1
        operands, new_call = _split(bound.args, bound.kwargs)
        return prim.bind(*operands, call=new_call), 0
    return batch


def _vector_batch(prim, k):
    def batch(size, vals, dims, call):
        leaves_pos = call.slots
        # which flattened leaf is positional argument k? (args are flattened first, one leaf per array argument)
        mapped = [s for s, d in zip(leaves_pos, dims) if d is not None]
        if mapped != [k]:
            return loop_fallback(prim, size, vals, dims, {"call": call})
        return prim.bind(*vals, call=call), dims[list(leaves_pos).index(k)]
    return batch


def _searchsorted_batch(prim):
    """``searchsorted(a, v)``: with only ``v`` mapped, one call serves the whole batch; with ``a`` mapped, the
    insertion index is the number of entries of the sorted ``a`` below ``v`` (or at most ``v`` for
    ``side='right'``), counted with batchable comparisons."""
    vector = _vector_batch(prim, 1)

    def batch(size, vals, dims, call):
        args, kwargs = call.rebuild([None] * len(vals))
        if call.slots[:1] != (0,) or len(args) > 2 or kwargs.get("sorter") is not None or dims[0] is None:
            return vector(size, vals, dims, call)
        from . import elementwise as E
        from .reduction import sum as sum_
        from .shape import expand_dims, reshape
        side = args[2] if len(args) > 2 else kwargs.get("side", "left")
        a_val = move_to_front(vals[0], dims[0])                                  # (B, n)
        if len(vals) > 1:
            v_val = move_to_front(vals[1], dims[1], size)                        # (B, *v)
        else:
            v_val = np.broadcast_to(np.asarray(call.consts[1]), (size,) + np.shape(call.consts[1]))
        vshape = tuple(np.shape(v_val))[1:]
        a_b = reshape(a_val, (size,) + (1,) * len(vshape) + (a_val.shape[-1],))
        below = E.less(a_b, expand_dims(v_val, -1)) if side == "left" else E.less_equal(a_b, expand_dims(v_val, -1))
        return sum_(below, -1, dtype=np.intp), 0
    return batch


def nondiff_function(fn, name=None, batch=None):
    """``fn`` (a NumPy function) as a non-differentiable chainrule function: it takes traced values and returns
    plain (untraced) results under differentiation; ``batch`` picks its ``vmap`` rule (see the module docstring).

    >>> import chainrule as cr
    >>> argsort_ = nondiff_function(np.argsort, batch="axis")
    >>> cr.grad(lambda x: x[argsort_(x)[-1]])(np.array([3.0, 1.0, 2.0]))
    array([1., 0., 0.])
    """
    name = name or fn.__name__
    def impl(*operands, call):
        args, kwargs = call.rebuild(operands)
        return fn(*args, **kwargs)

    prim = def_nondiff(Primitive(name, impl))
    if batch == "elementwise":
        prim.batch = _elementwise_batch(prim)
    elif batch == "axis":
        prim.batch = _axis_batch(prim, fn)
    elif isinstance(batch, tuple) and batch[0] == "vector":
        prim.batch = _vector_batch(prim, batch[1])

    def face(*args, **kwargs):
        operands, call = _split(args, kwargs)
        if not operands:
            return fn(*args, **kwargs)
        return prim.bind(*operands, call=call)

    face.__name__ = face.__qualname__ = name
    face.__doc__ = (f"``numpy.{name}``, accepting traced values; it has no derivative, so its result is never "
                    f"traced for differentiation.\n\nSee NumPy's documentation for the arguments.\n")
    face.prim = prim
    return face


def _define(fn, batch=None, name=None):
    name = name or fn.__name__
    f = nondiff_function(fn, name, batch)
    globals()[name] = f
    __all__.append(name)
    return f


for _fn in (np.argsort, np.argpartition, np.nanargmax, np.nanargmin):
    _define(_fn, "axis")
for _fn in (np.isclose, np.isneginf, np.isposinf, np.isreal, np.iscomplex):
    _define(_fn, "elementwise")
_define(np.isin, ("vector", 0))
searchsorted = _define(np.searchsorted)
searchsorted.prim.batch = _searchsorted_batch(searchsorted.prim)
_define(np.digitize, ("vector", 0))
for _fn in (np.allclose, np.array_equal, np.array_equiv, np.lexsort, np.array2string, np.array_repr, np.array_str,
            np.packbits, np.unpackbits):
    _define(_fn)

# Docstring examples: each one is checked by the doctest run against NumPy's own result.
_EXAMPLES = {
    "argsort": "np.array([3.0, 1.0, 2.0])",
    "argpartition": "np.array([3.0, 1.0, 2.0]), 1",
    "nanargmax": "np.array([1.0, np.nan, 3.0])",
    "nanargmin": "np.array([1.0, np.nan, 3.0])",
    "isclose": "np.array([1.0, 2.0]), 1.0",
    "isneginf": "np.array([-np.inf, 1.0])",
    "isposinf": "np.array([np.inf, 1.0])",
    "isreal": "np.array([1.0 + 0j, 1j])",
    "iscomplex": "np.array([1.0 + 0j, 1j])",
    "isin": "np.array([1.0, 2.0]), [2.0]",
    "searchsorted": "np.array([1.0, 2.0, 3.0]), 2.5",
    "digitize": "np.array([0.5, 1.5]), np.array([0.0, 1.0, 2.0])",
    "allclose": "np.array([1.0]), np.array([1.0 + 1e-12])",
    "array_equal": "np.array([1.0, 2.0]), np.array([1.0, 2.0])",
    "array_equiv": "np.array([1.0, 1.0]), 1.0",
    "lexsort": "(np.array([1.0, 0.0]), np.array([0.0, 0.0]))",
    "array2string": "np.array([1.0, 2.0])",
    "array_repr": "np.array([1.0, 2.0])",
    "array_str": "np.array([1.0, 2.0])",
    "packbits": "np.array([1, 0, 1], np.uint8)",
    "unpackbits": "np.array([5], np.uint8)",
}
for _name, _call in _EXAMPLES.items():
    with np.printoptions(legacy="1.25"):  # NumPy scalars print as plain numbers, as in the doctest run
        _want = repr(eval(f"np.{_name}({_call})"))  # noqa: S307 - a fixed table of literals
    globals()[_name].__doc__ = (
        f"``numpy.{_name}``, accepting traced values; it has no derivative, so its result is never traced for "
        f"differentiation (see NumPy's documentation for the arguments).\n\n"
        f">>> import numpy as np\n>>> {_name}({_call})\n{_want}\n")
