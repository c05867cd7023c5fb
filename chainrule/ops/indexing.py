"""Indexing: ``x[idx]`` and its out-of-place updates ``index_update`` / ``index_add`` (``x.at[idx].set/add``).

Invariant: an index is normalised once, in ``normalize_index``, to a tuple whose entries are ints, slices,
``None``, ``Ellipsis`` or integer arrays (boolean masks become their ``nonzero`` integer arrays). Index values
are never differentiated: traced indices are replaced by their concrete values, except those that depend on a
``vmap`` (they differ from one batch element to the next), which stay traced.

Two sets of primitives share the rules: ``getitem``/``index_add``/``index_update`` carry a static index as a
parameter (the usual case, and the fast one), while ``gather``/``scatter_add``/``scatter`` take the index arrays
as positional operands so that they can be batched (see NOTE: [batched indices]).
"""
import numpy as np

from ..core import backend
from ..core.primitive import SAVE_INPUTS, Primitive, def_linear, def_nondiff
from ..core.trace import Tracer, concrete
from ..core.zeros import zeros_like_value
from ..interpreters.batching import BatchTracer, move_to_front
from ._util import as_operand, prepare_operands

__all__ = ["take", "nonzero", "index_update", "index_add", "flatnonzero", "argwhere"]


def normalize_index(idx, shape):
    """A tuple index with masks turned into integer arrays and traced index values made concrete."""
    if not isinstance(idx, tuple):
        idx = (idx,)
    out = []
    for i in idx:
        if isinstance(i, Tracer):
            if _is_batched(i):
                # Its value differs across a vmap's batch: it stays traced (NOTE: [batched indices]).
                if i.dtype == bool:
                    out.extend(_batched_mask_index(i))
                    continue
                if not np.issubdtype(i.dtype, np.integer):
                    raise IndexError(f"indexing: arrays used as indices must be of integer (or boolean) type, "
                                     f"got {i.dtype}")
                out.append(i)
                continue
            i = concrete(i)
        if isinstance(i, (list,)):
            i = np.asarray(i)
        if isinstance(i, np.ndarray) or isinstance(i, np.generic) and not isinstance(i, (np.integer, np.bool_)):
            if i.dtype == bool:
                # A 0-d mask (x[True]) adds an axis, as NumPy does; it has no nonzero() form, so it stays as is.
                out.extend(np.nonzero(i) if i.ndim else (i,))
                continue
            if not np.issubdtype(i.dtype, np.integer):
                raise IndexError(f"indexing: arrays used as indices must be of integer (or boolean) type, "
                                 f"got {i.dtype}")
            out.append(i)
        elif isinstance(i, (np.integer,)):
            out.append(int(i))
        elif isinstance(i, (bool, np.bool_)):
            out.append(np.asarray(i))
        else:
            out.append(i)
    return tuple(out)


def _is_batched(x):
    """Whether ``x`` depends on a vmap: a BatchTracer anywhere in its stack of tracers."""
    while isinstance(x, Tracer):
        if isinstance(x, BatchTracer):
            return True
        x = x.concrete_value()
    return False


def _has_traced(idx):
    return any(isinstance(i, Tracer) for i in idx)


def _is_basic(idx):
    return not any(isinstance(i, np.ndarray) for i in idx)


# --- index layout -------------------------------------------------------------------------------------------

class _Slot:
    """In the index of a gather/scatter primitive: "positional index operand ``k``" (an integer array)."""

    __slots__ = ("k",)

    def __init__(self, k):
        self.k = k

    def __eq__(self, other):
        return type(other) is _Slot and other.k == self.k

    def __hash__(self):
        return hash((_Slot, self.k))

    def __repr__(self):
        return f"<index operand {self.k}>"


def _to_spec(idx):
    """``idx`` with every array entry (static or traced) replaced by a ``_Slot``: ``(spec, arrays)``."""
    spec, arrays = [], []
    for i in idx:
        if isinstance(i, (np.ndarray, Tracer)):
            spec.append(_Slot(len(arrays)))
            arrays.append(i)
        else:
            spec.append(i)
    return tuple(spec), arrays


def _resolve(spec, arrays):
    """The NumPy index that ``spec`` stands for, given its index operands."""
    return tuple(arrays[e.k] if type(e) is _Slot else e for e in spec)


def _adv_info(a, shape=None):
    """``(broadcast shape, consumes an axis)`` of an index array: a 0-d mask adds an axis of length 1 (True) or
    0 (False) and consumes none, as in NumPy."""
    shape = tuple(a.shape) if shape is None else tuple(shape)
    if a.dtype == bool and not shape:
        return ((1,) if bool(concrete(a)) else (0,)), False
    return shape, True


def _layout(spec, infos, ndim):
    """Where NumPy puts the dimensions of the advanced indices when ``spec`` indexes an array of rank ``ndim``.

    ``infos[k]`` is ``_adv_info`` of index operand k. Returns ``(first, p, r)``: whether those dimensions go
    first (the advanced indices, ints included, are not next to each other: a slice, ``None`` or ``...`` lies
    between them), how many result dimensions precede them otherwise, and how many there are. Meaningful
    only when ``spec`` holds at least one index operand.
    """
    pos = [k for k, e in enumerate(spec) if type(e) is _Slot or isinstance(e, int)]
    r = len(np.broadcast_shapes(*[infos[e.k][0] for e in spec if type(e) is _Slot]))
    if pos[-1] - pos[0] + 1 != len(pos):
        return True, 0, r
    consumed = sum(1 for e in spec if isinstance(e, (int, slice)) or type(e) is _Slot and infos[e.k][1])
    p = 0
    for e in spec[:pos[0]]:
        p += ndim - consumed if e is Ellipsis else 1
    return False, p, r


# --- getitem ------------------------------------------------------------------------------------------------

getitem_p = Primitive("getitem", lambda x, idx: x[idx])
def_linear(getitem_p, lambda g, x, idx: index_add(zeros_like_value(x), idx, g))


def _getitem_batch(size, vals, dims, idx):
    x = move_to_front(vals[0], dims[0])
    new = (slice(None),) + idx
    out = getitem_p.bind(x, idx=new)
    spec, arrays = _to_spec(new)
    if arrays:
        first, _, r = _layout(spec, [_adv_info(a) for a in arrays], x.ndim)
        if first:
            return out, r
    return out, 0


getitem_p.batch = _getitem_batch


def getitem(x, idx):
    """``x[idx]`` with NumPy's basic and advanced indexing.

    Under ``vmap`` the index arrays may themselves be batched (``vmap(lambda x, i: x[i])(xs, idxs)``).

    >>> import numpy as np
    >>> getitem(np.arange(5.0), np.array([0, 0, 3]))
    array([0., 0., 3.])
    """
    x = as_operand(x)
    idx = normalize_index(idx, x.shape)
    if _has_traced(idx):
        spec, arrays = _to_spec(idx)
        _check_index(x, _probe(spec, arrays))
        return gather_p.bind(x, *arrays, spec=spec)
    if not isinstance(x, Tracer):
        return x[idx]
    _check_index(x, idx)
    return getitem_p.bind(x, idx=idx)


def _check_index(x, idx):
    try:
        np.broadcast_to(np.empty((), dtype=np.int8), x.shape)[idx]
    except IndexError as e:
        raise IndexError(f"indexing an array of shape {tuple(x.shape)}: {e}") from None


def _indexed_shape(shape, idx):
    return np.broadcast_to(np.empty((), dtype=np.int8), shape)[idx].shape


def _probe(spec, arrays, dims=None):
    """A concrete stand-in for an index with traced arrays (zeros of their shapes), to check and size it. With
    ``dims`` (batch rules), index operand k stands for one batch element of ``arrays[k]``."""
    if dims is not None:
        arrays = [a if d is None and not isinstance(a, Tracer) else np.zeros(_logical_shape(a, d), np.intp)
                  for a, d in zip(arrays, dims)]
    return tuple(np.zeros(a.shape, np.intp) if isinstance(a, Tracer) else a for a in _resolve(spec, arrays))


# --- index_add / index_update -------------------------------------------------------------------------------

def _copy(x):
    # A 0-d result arrives as a NumPy scalar (np.float64), which is immutable: copy it into a 0-d array.
    return np.array(x) if isinstance(x, np.generic) else x.copy()


def _index_add_impl(x, y, idx):
    out = _copy(x)
    if _is_basic(idx):
        out[idx] += y
    else:
        np.add.at(out, idx, y)
    return out


def _index_set_impl(x, y, idx):
    out = _copy(x)
    out[idx] = y
    return out


index_add_p = Primitive("index_add", _index_add_impl)
def_linear(index_add_p, lambda g, x, y, idx: g, lambda g, x, y, idx: getitem_p.bind(g, idx=idx))
index_set_p = Primitive("index_update", _index_set_impl)
def_linear(index_set_p, lambda g, x, y, idx: index_update(g, idx, 0), lambda g, x, y, idx: getitem_p.bind(g, idx=idx))


def _logical_shape(v, d):
    s = tuple(np.shape(v))
    return s if d is None else s[:d] + s[d + 1:]


def _update_batch(prim):
    def batch(size, vals, dims, idx):
        x, y = vals
        dx, dy = dims
        x_shape = _logical_shape(x, dx)
        x = move_to_front(x, dx, size)
        new = (slice(None),) + idx
        spec, arrays = _to_spec(new)
        first, _, r = _layout(spec, [_adv_info(a) for a in arrays], x.ndim) if arrays else (False, 0, 0)
        if dy is None:
            if not first and not isinstance(y, Tracer):
                return prim.bind(x, y, idx=new), 0  # NumPy lines y up with x[new] from the right
            # A lower-level tracer is broadcast explicitly (its own rules assume y has x[new]'s shape).
            from .shape import broadcast_to
            y = move_to_front(broadcast_to(y, _indexed_shape(x_shape, idx)), None, size)
            dy = 0
        y = move_to_front(y, dy)
        if first:
            from .shape import moveaxis
            y = moveaxis(y, 0, r)
        return prim.bind(x, y, idx=new), 0

    prim.batch = batch


_update_batch(index_add_p)
_update_batch(index_set_p)


def _update(prim, x, idx, y):
    x = as_operand(x)
    idx = normalize_index(idx, x.shape)
    y = as_operand(y)
    traced_idx = _has_traced(idx)
    if traced_idx:
        spec, arrays = _to_spec(idx)
        probe = _probe(spec, arrays)
    else:
        probe = idx
    if isinstance(x, Tracer) or isinstance(y, Tracer) or traced_idx:
        from .elementwise import astype
        from .shape import broadcast_to
        _check_index(x, probe)
        target = _indexed_shape(x.shape, probe)
        y, = prepare_operands(prim.name, (y,))
        if isinstance(y, Tracer):
            y = broadcast_to(astype(y, x.dtype) if y.dtype != x.dtype else y, target)
        else:
            y = backend.asarray(y, like=concrete(x))  # a constant Python scalar: rules need its shape and dtype
    if traced_idx:
        scatter = scatter_add_p if prim is index_add_p else scatter_p
        return scatter.bind(x, y, *arrays, spec=spec)
    return prim.bind(x, y, idx=idx)


def index_update(x, idx, y):
    """A copy of ``x`` with ``x[idx]`` replaced by ``y`` (differentiable in ``x`` and ``y``).

    >>> import numpy as np
    >>> index_update(np.zeros(3), 1, 5.0)
    array([0., 5., 0.])
    """
    return _masked_update(False, x, idx, y)


def index_add(x, idx, y):
    """A copy of ``x`` with ``y`` added at ``idx``; repeated indices accumulate.

    >>> import numpy as np
    >>> index_add(np.zeros(3), np.array([1, 1]), 1.0)
    array([0., 2., 0.])
    """
    return _masked_update(True, x, idx, y)


# --- batched indices: gather / scatter_add / scatter --------------------------------------------------------
#
# NOTE: [batched indices]
# Under vmap an index array may differ from one batch element to the next. Such an index cannot be a static
# parameter, so it travels as a positional operand of ``gather_p(x, *arrays, spec)``,
# ``scatter_add_p(x, y, *arrays, spec)`` or ``scatter_p(x, y, *arrays, spec)``, where ``spec`` is the index with
# each array replaced by a ``_Slot``. Index operands are integers and never differentiated.
#
# The batch rule moves the batch axis of ``x`` (and ``y``) to the front and, when some index operand is
# batched, adds one more advanced index in front: ``arange(size)`` shaped ``(size, 1, ..., 1)``, with every
# batched index operand moved to the front and right-aligned to the same rank. NumPy then pairs batch element b
# of ``x`` with batch element b of each index, in one fancy-indexing call. The result has the batch axis and the
# advanced dimensions first, ``(size, *adv, *rest)``; where one example's result puts the advanced dimensions
# after ``p`` sliced ones (advanced indices next to each other), a transpose moves them back into place (and the
# scatter rules move ``y``'s axes the other way).
#
# A batched boolean mask is turned into integer index arrays (its ``nonzero``, computed with batchable ops),
# which needs the same number of selected elements in every batch element: otherwise the result would be
# ragged and a clear error says so. ``index_update``/``index_add`` through a single batched mask with a value
# that does not vary along the selection are computed with ``where`` instead, which has no such restriction.

def _gather_impl(x, *arrays, spec):
    return x[_resolve(spec, arrays)]


def _scatter_add_impl(x, y, *arrays, spec):
    out = _copy(x)
    np.add.at(out, _resolve(spec, arrays), y)
    return out


def _scatter_impl(x, y, *arrays, spec):
    out = _copy(x)
    out[_resolve(spec, arrays)] = y
    return out


gather_p = Primitive("gather", _gather_impl)
scatter_add_p = Primitive("scatter_add", _scatter_add_impl)
scatter_p = Primitive("scatter", _scatter_impl)


def _gather_jvp(primals, tangents, spec):
    x, *arrays = primals
    return gather_p.bind(x, *arrays, spec=spec), gather_p.bind(tangents[0], *arrays, spec=spec)


def _gather_vjp(g, out, x, *arrays, spec):
    return scatter_add_p.bind(zeros_like_value(x), g, *arrays, spec=spec)


gather_p.jvp = _gather_jvp
gather_p.vjp = (_gather_vjp,)
gather_p.saves = SAVE_INPUTS  # the index operands


def _scatter_jvp(prim):
    def jvp(primals, tangents, spec):
        x, y, *arrays = primals
        tx, ty = tangents[:2]
        tx = zeros_like_value(x) if tx is None else tx
        ty = zeros_like_value(y) if ty is None else ty
        return prim.bind(x, y, *arrays, spec=spec), prim.bind(tx, ty, *arrays, spec=spec)
    return jvp


def _scatter_vjp_y(g, out, x, y, *arrays, spec):
    return gather_p.bind(g, *arrays, spec=spec)


def _scatter_vjp_x(g, out, x, y, *arrays, spec):
    return scatter_p.bind(g, np.zeros((), g.dtype), *arrays, spec=spec)


scatter_add_p.jvp = _scatter_jvp(scatter_add_p)
scatter_add_p.vjp = (lambda g, out, x, y, *arrays, spec: g, _scatter_vjp_y)
scatter_add_p.saves = SAVE_INPUTS
scatter_p.jvp = _scatter_jvp(scatter_p)
scatter_p.vjp = (_scatter_vjp_x, _scatter_vjp_y)
scatter_p.saves = SAVE_INPUTS


def _batch_index(size, x, dx, arrays, adims, spec):
    """The batch rule's common part: ``x`` with its batch axis in front and the index that pairs it with the
    batched index operands. Returns ``(x, arrays, spec, perm)`` where ``perm`` (or None) carries
    ``x[spec]``'s layout ``(size, *adv, *pre, *rest)`` to the per-example layout ``(size, *pre, *adv, *rest)``.
    """
    from .shape import reshape
    ndim = len(_logical_shape(x, dx))
    infos = [_adv_info(a, _logical_shape(a, d)) for a, d in zip(arrays, adims)]
    first, p, r = _layout(spec, infos, ndim)
    x = move_to_front(x, dx, size)
    if all(d is None for d in adims):
        # Only x is batched: a leading full slice keeps batch element b with b.
        new = (slice(None),) + spec
        first_new, _, r_new = _layout(new, infos, ndim + 1)
        return x, list(arrays), new, ("first", r_new) if first_new else None
    new_arrays = []
    for a, d, (shape, _) in zip(arrays, adims, infos):
        if d is not None:
            a = reshape(move_to_front(a, d), (size,) + (1,) * (r - len(shape)) + tuple(shape))
        new_arrays.append(a)
    new_arrays.append(np.arange(size).reshape((size,) + (1,) * r))
    new = (_Slot(len(arrays)),) + spec
    if first or p == 0:
        return x, new_arrays, new, None
    out_rank = len(_indexed_shape(_logical_shape(x, 0), _probe(spec, arrays, adims))) + 1
    perm = (0,) + tuple(range(1 + r, 1 + r + p)) + tuple(range(1, 1 + r)) + tuple(range(1 + r + p, out_rank))
    return x, new_arrays, new, perm


def _gather_batch(size, vals, dims, spec):
    from .shape import transpose
    x, arrays = vals[0], vals[1:]
    x, arrays, new, perm = _batch_index(size, x, dims[0], arrays, dims[1:], spec)
    out = gather_p.bind(x, *arrays, spec=new)
    if perm is None:
        return out, 0
    if perm[0] == "first":
        return out, perm[1]
    return transpose(out, perm), 0


def _scatter_batch(prim):
    def batch(size, vals, dims, spec):
        from .shape import broadcast_to, moveaxis, transpose
        x, y, arrays = vals[0], vals[1], vals[2:]
        dx, dy = dims[0], dims[1]
        x_shape = _logical_shape(x, dx)
        target = _indexed_shape(x_shape, _probe(spec, arrays, dims[2:]))
        x, arrays, new, perm = _batch_index(size, x, dx, arrays, dims[2:], spec)
        if dy is None:
            y = move_to_front(broadcast_to(y, target), None, size)
        else:
            y = move_to_front(y, dy)
        if perm is not None:
            if perm[0] == "first":
                y = moveaxis(y, 0, perm[1])
            else:
                y = transpose(y, tuple(np.argsort(perm)))
        return prim.bind(x, y, *arrays, spec=new), 0
    return batch


gather_p.batch = _gather_batch
scatter_add_p.batch = _scatter_batch(scatter_add_p)
scatter_p.batch = _scatter_batch(scatter_p)


def _batched_mask_index(mask):
    """Integer index arrays equivalent to a batched boolean ``mask`` (its ``nonzero``), built from batchable ops.

    Every batch element must select the same number of elements; otherwise the result would be ragged.
    """
    from .elementwise import astype, where
    from .reduction import cumsum, sum as sum_
    from .shape import reshape
    counts = np.unique(np.asarray(concrete(sum_(mask))))
    if counts.size > 1:
        raise ValueError(
            f"vmap: a boolean mask selects a different number of elements in different batch elements (counts "
            f"{counts.tolist()}), so the result would be ragged. Use where(mask, x, y), or index_update/index_add "
            f"with a value that does not vary along the selection, or loop over the batch.")
    n = int(counts[0]) if counts.size else 0
    if mask.ndim == 0:
        return (np.asarray(n > 0),)
    shape = tuple(mask.shape)
    m = 1
    for d in shape:
        m *= d
    flat = reshape(mask, (m,))
    rank = cumsum(astype(flat, np.intp)) - 1  # position of each selected element among the selected
    dest = where(flat, rank, n)  # unselected elements go to a spare slot, dropped below
    pos = index_add(np.zeros(n + 1, np.intp), dest, np.arange(m, dtype=np.intp))[:n]
    coords = []
    stride = m
    for d in shape:
        stride //= d
        coords.append((pos // stride) % d)
    return tuple(coords)


def _masked_update(add, x, idx, y):
    """``index_add``/``index_update``; a batched boolean mask with a value constant along the selection is
    computed with ``where`` (no restriction on how many elements each batch element selects)."""
    prim = index_add_p if add else index_set_p
    parts = idx if isinstance(idx, tuple) else (idx,)
    masks = [k for k, i in enumerate(parts) if isinstance(i, Tracer) and i.dtype == bool and _is_batched(i)]
    if len(masks) != 1 or not all(isinstance(i, slice) and i == slice(None) or i is Ellipsis or k == masks[0]
                                  for k, i in enumerate(parts)) or sum(i is Ellipsis for i in parts) > 1:
        return _update(prim, x, idx, y)
    from .elementwise import where
    from .shape import broadcast_to, reshape
    x = as_operand(x)
    mask = parts[masks[0]]
    k = mask.ndim
    n_rest = sum(1 for i in parts if i is not Ellipsis) - 1
    nd = len(x.shape)
    # The axes before the mask: the full slices before it, or everything an Ellipsis before it stands for.
    before = masks[0] if Ellipsis not in parts[:masks[0]] else nd - k - (n_rest - (masks[0] - 1))
    if before < 0 or before + k > nd or tuple(x.shape[before:before + k]) != tuple(mask.shape):
        return _update(prim, x, idx, y)
    lead, rest = tuple(x.shape[:before]), tuple(x.shape[before + k:])
    y_shape = tuple(np.shape(y))
    try:
        # y against one example's selection (lead, count, rest): it must not vary along the count axis.
        fits = np.broadcast_shapes(y_shape, lead + (1,) + rest) == lead + (1,) + rest
    except ValueError:
        fits = False
    if not fits:
        return _update(prim, x, idx, y)
    y = as_operand(y)
    if hasattr(y, "dtype") and y.dtype != x.dtype:
        from .elementwise import astype
        y = astype(y, x.dtype)
    if len(y_shape) > len(rest):
        y = reshape(y, y_shape[:len(y_shape) - len(rest) - 1] + y_shape[len(y_shape) - len(rest):])
    y = broadcast_to(y, lead + rest) if tuple(np.shape(y)) != lead + rest else y
    y = reshape(y, lead + (1,) * k + rest)
    m = reshape(mask, (1,) * before + tuple(mask.shape) + (1,) * len(rest))
    if add:
        return x + where(m, y, 0)
    return where(m, y, x)


class _IndexHelper:
    """``x.at[idx].set(y)`` / ``.add(y)`` / ``.get()``, as in JAX."""

    __slots__ = ("x",)

    def __init__(self, x):
        self.x = x

    def __getitem__(self, idx):
        return _IndexRef(self.x, idx)


class _IndexRef:
    __slots__ = ("x", "idx")

    def __init__(self, x, idx):
        self.x, self.idx = x, idx

    def set(self, y):
        return index_update(self.x, self.idx, y)

    def add(self, y):
        return index_add(self.x, self.idx, y)

    def get(self):
        return getitem(self.x, self.idx)


def at(x):
    """JAX-style out-of-place updates for any array: ``at(x)[idx].set(y)``.

    >>> import numpy as np
    >>> at(np.zeros(2))[0].add(3.0)
    array([3., 0.])
    """
    return _IndexHelper(x)


# --- take, nonzero ------------------------------------------------------------------------------------------

def take(a, indices, axis=None):
    """Elements of ``a`` at ``indices`` along ``axis`` (of the flattened array when ``axis`` is None).

    >>> import numpy as np
    >>> take(np.array([[1.0, 2.0], [3.0, 4.0]]), [1], axis=1)
    array([[2.],
           [4.]])
    """
    from .shape import ravel
    from ._util import normalize_axis
    a = as_operand(a)
    if not (isinstance(indices, Tracer) and _is_batched(indices)):
        indices = np.asarray(concrete(indices))
    if axis is None:
        return getitem(ravel(a), indices)
    axis = normalize_axis(axis, a.ndim)
    return getitem(a, (slice(None),) * axis + (indices,))


nonzero_p = def_nondiff(Primitive("nonzero", lambda x: np.nonzero(x)))


def nonzero(a):
    """Indices of the non-zero elements, one integer array per axis (not differentiable).

    >>> import numpy as np
    >>> nonzero(np.array([0.0, 2.0, 3.0]))
    (array([1, 2]),)

    Under ``vmap`` every batch element must have the same number of non-zero elements (the result would
    otherwise be ragged); the indices are then batched.
    """
    a = as_operand(a)
    if isinstance(a, Tracer) and _is_batched(a):
        from .elementwise import not_equal
        if a.ndim == 0:
            raise ValueError("nonzero: calling nonzero on 0d arrays is not allowed; use atleast_1d(a).nonzero()")
        return _batched_mask_index(a if a.dtype == bool else not_equal(a, 0))
    return np.nonzero(concrete(a))


def flatnonzero(a):
    """Indices of the non-zero elements of the flattened array.

    >>> import numpy as np
    >>> flatnonzero(np.array([[0.0, 2.0], [3.0, 0.0]]))
    array([1, 2])
    """
    a = as_operand(a)
    if isinstance(a, Tracer) and _is_batched(a):
        from .shape import ravel
        return nonzero(ravel(a))[0]
    return np.flatnonzero(concrete(a))


def argwhere(a):
    """Indices of the non-zero elements, grouped by element: shape ``(count, a.ndim)``.

    >>> import numpy as np
    >>> argwhere(np.array([[0.0, 2.0], [3.0, 0.0]]))
    array([[0, 1],
           [1, 0]])
    """
    a = as_operand(a)
    if isinstance(a, Tracer) and _is_batched(a) and a.ndim > 0:
        from .shape import stack
        return stack(list(nonzero(a)), axis=1)
    return np.argwhere(concrete(a))
