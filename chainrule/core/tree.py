"""Pytrees: nested containers whose leaves are arrays.

Invariant: ``tree_unflatten(tree_structure(t), tree_leaves(t))`` rebuilds ``t``. Containers are tuples, lists,
dicts (flattened in sorted-key order, as JAX does), namedtuples, ``None`` (a node with no children) and any class
registered with ``register_pytree_node``. Everything else is a leaf.
"""
from collections import namedtuple


class TreeDef:
    """The structure of a pytree: a node type, its static data and its children's structures."""

    __slots__ = ("kind", "aux", "children", "num_leaves")

    def __init__(self, kind, aux, children):
        self.kind = kind
        self.aux = aux
        self.children = children
        self.num_leaves = 1 if kind is None else sum(c.num_leaves for c in children)

    def __eq__(self, other):
        return (isinstance(other, TreeDef) and self.kind is other.kind and self.aux == other.aux
                and self.children == other.children)

    def __hash__(self):
        return hash((self.kind, self.num_leaves))

    def __repr__(self):
        if self.kind is None:
            return "*"
        name = getattr(self.kind, "__name__", str(self.kind))
        inner = ", ".join(map(repr, self.children))
        return f"{name}({inner})" if self.aux in (None, ()) else f"{name}[{self.aux}]({inner})"


_LEAF = TreeDef(None, None, ())
_registry = {}


def register_pytree_node(cls, flatten, unflatten):
    """Make ``cls`` a container: ``flatten(obj) -> (children, aux)``, ``unflatten(aux, children) -> obj``.

    >>> class Pair:
    ...     def __init__(self, a, b): self.a, self.b = a, b
    >>> register_pytree_node(Pair, lambda p: ((p.a, p.b), None), lambda aux, ch: Pair(*ch))
    >>> tree_leaves(Pair(1.0, (2.0, 3.0)))
    [1.0, 2.0, 3.0]
    """
    _registry[cls] = (flatten, unflatten)


def _dict_flatten(d):
    keys = sorted(d, key=_sort_key)
    return [d[k] for k in keys], tuple(keys)


def _sort_key(k):
    return (type(k).__name__, k) if not isinstance(k, (int, float)) else ("", k)


register_pytree_node(tuple, lambda t: (t, None), lambda aux, ch: tuple(ch))
register_pytree_node(list, lambda t: (t, None), lambda aux, ch: list(ch))
register_pytree_node(dict, _dict_flatten, lambda keys, ch: dict(zip(keys, ch)))
register_pytree_node(type(None), lambda t: ((), None), lambda aux, ch: None)


def _node_of(x):
    t = type(x)
    entry = _registry.get(t)
    if entry is not None:
        return t, entry
    if isinstance(x, tuple) and hasattr(x, "_fields"):  # namedtuple
        return namedtuple, (lambda nt: (tuple(nt), type(nt)), lambda cls, ch: cls(*ch))
    return None, None


def tree_flatten(tree, is_leaf=None):
    """``(leaves, treedef)`` of a pytree.

    >>> leaves, tdef = tree_flatten({"b": (1, 2), "a": [3]})
    >>> leaves
    [3, 1, 2]
    """
    leaves = []
    return leaves, _flatten(tree, leaves, is_leaf)


def _flatten(x, leaves, is_leaf):
    if is_leaf is not None and is_leaf(x):
        leaves.append(x)
        return _LEAF
    kind, entry = _node_of(x)
    if kind is None:
        leaves.append(x)
        return _LEAF
    children, aux = entry[0](x)
    return TreeDef(kind, aux, tuple(_flatten(c, leaves, is_leaf) for c in children))


def tree_unflatten(treedef, leaves):
    """Rebuild a pytree from its structure and a flat sequence of leaves."""
    it = iter(leaves)
    out = _unflatten(treedef, it)
    if next(it, _sentinel) is not _sentinel:
        raise ValueError(f"tree_unflatten: too many leaves for structure {treedef}")
    return out


_sentinel = object()


def _unflatten(td, it):
    if td.kind is None:
        leaf = next(it, _sentinel)
        if leaf is _sentinel:
            raise ValueError("tree_unflatten: too few leaves for the structure")
        return leaf
    children = [_unflatten(c, it) for c in td.children]
    if td.kind is namedtuple:
        return td.aux(*children)
    return _registry[td.kind][1](td.aux, children)


def tree_leaves(tree, is_leaf=None):
    return tree_flatten(tree, is_leaf)[0]


def tree_structure(tree, is_leaf=None):
    return tree_flatten(tree, is_leaf)[1]


def tree_map(f, tree, *rest, is_leaf=None):
    """Apply ``f`` leafwise over one or more pytrees of the same structure.

    >>> tree_map(lambda a, b: a + b, (1, [2]), (10, [20]))
    (11, [22])
    """
    leaves, td = tree_flatten(tree, is_leaf)
    others = []
    for r in rest:
        rl, rtd = tree_flatten(r, is_leaf)
        if rtd != td:
            raise ValueError(f"tree_map: structures differ: {td} and {rtd}")
        others.append(rl)
    return tree_unflatten(td, [f(*xs) for xs in zip(leaves, *others)])


def broadcast_prefix(prefix, tree, is_leaf=None, what="prefix", against="argument"):
    """Expand ``prefix`` (a pytree whose leaves stand for whole subtrees) to one entry per leaf of ``tree``.

    >>> broadcast_prefix((0, None), ([1, 2], 3))
    [0, 0, None]
    """
    out = []
    todo = [(prefix, tree)]
    while todo:
        p, t = todo.pop()
        pkind, pentry = _node_of(p) if p is not None else (None, None)
        if pkind is None:
            out.extend([p] * tree_structure(t, is_leaf).num_leaves)
            continue
        tkind, tentry = _node_of(t)
        pch, paux = pentry[0](p)
        if tkind is None:
            raise ValueError(f"{what} {p!r} is a container but the matching {against} is a leaf {type(t).__name__}")
        tch, taux = tentry[0](t)
        if pkind is not tkind or len(pch) != len(tch) or (pkind is dict and paux != taux):
            raise ValueError(f"{what} structure {tree_structure(p)} does not match the {against}s' structure "
                             f"{tree_structure(t)}")
        todo.extend(reversed(list(zip(pch, tch))))
    return out
