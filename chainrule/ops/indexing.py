"""Indexing: ``x[idx]`` and its out-of-place updates ``index_update`` / ``index_add`` (``x.at[idx].set/add``).

Invariant: an index is normalised once, in ``normalize_index``, to a tuple whose entries are ints, slices,
``None``, ``Ellipsis`` or integer arrays (boolean masks become their ``nonzero`` integer arrays). Index values
are never differentiated: traced indices are replaced by their concrete values.
"""
import numpy as np

from ..core import backend
from ..core.primitive import Primitive, def_linear, def_nondiff
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
            if isinstance(i, BatchTracer) or any(isinstance(j, BatchTracer) for j in _tracer_chain(i)):
                raise NotImplementedError("indexing with a batched (vmapped) index array is not supported yet")
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


def _tracer_chain(x):
    while isinstance(x, Tracer):
        yield x
        x = x.concrete_value()


def _is_basic(idx):
    return not any(isinstance(i, np.ndarray) for i in idx)


# --- getitem ------------------------------------------------------------------------------------------------

getitem_p = Primitive("getitem", lambda x, idx: x[idx])
def_linear(getitem_p, lambda g, x, idx: index_add(zeros_like_value(x), idx, g))


def _advanced_first(idx):
    """Whether NumPy puts the advanced-index dimensions first (advanced indices not next to each other)."""
    has_array = any(isinstance(i, np.ndarray) for i in idx)
    if not has_array:
        return False
    pos = [k for k, i in enumerate(idx) if isinstance(i, np.ndarray) or isinstance(i, int)]
    return pos[-1] - pos[0] + 1 != len(pos)


def _getitem_batch(size, vals, dims, idx):
    x = move_to_front(vals[0], dims[0])
    new = (slice(None),) + idx
    out = getitem_p.bind(x, idx=new)
    if _advanced_first(new):
        arrays = [i for i in idx if isinstance(i, np.ndarray)]
        return out, len(np.broadcast_shapes(*[a.shape for a in arrays]))
    return out, 0


getitem_p.batch = _getitem_batch


def getitem(x, idx):
    """``x[idx]`` with NumPy's basic and advanced indexing.

    >>> import numpy as np
    >>> getitem(np.arange(5.0), np.array([0, 0, 3]))
    array([0., 0., 3.])
    """
    x = as_operand(x)
    idx = normalize_index(idx, x.shape)
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


def _update_batch(prim):
    def batch(size, vals, dims, idx):
        x, y = vals
        dx, dy = dims
        x = move_to_front(x, dx, size)
        new = (slice(None),) + idx
        if dy is None:
            return prim.bind(x, y, idx=new), 0
        y = move_to_front(y, dy)
        if _advanced_first(new):
            arrays = [i for i in idx if isinstance(i, np.ndarray)]
            from .shape import moveaxis
            y = moveaxis(y, 0, len(np.broadcast_shapes(*[a.shape for a in arrays])))
        return prim.bind(x, y, idx=new), 0

    prim.batch = batch


_update_batch(index_add_p)
_update_batch(index_set_p)


def _update(prim, x, idx, y):
    x = as_operand(x)
    idx = normalize_index(idx, x.shape)
    y = as_operand(y)
    if isinstance(x, Tracer) or isinstance(y, Tracer):
        from .elementwise import astype
        from .shape import broadcast_to
        _check_index(x, idx)
        target = _indexed_shape(x.shape, idx)
        y, = prepare_operands(prim.name, (y,))
        if isinstance(y, Tracer):
            y = broadcast_to(astype(y, x.dtype) if y.dtype != x.dtype else y, target)
        else:
            y = backend.asarray(y, like=concrete(x))  # a constant Python scalar: rules need its shape and dtype
    return prim.bind(x, y, idx=idx)


def index_update(x, idx, y):
    """A copy of ``x`` with ``x[idx]`` replaced by ``y`` (differentiable in ``x`` and ``y``).

    >>> import numpy as np
    >>> index_update(np.zeros(3), 1, 5.0)
    array([0., 5., 0.])
    """
    return _update(index_set_p, x, idx, y)


def index_add(x, idx, y):
    """A copy of ``x`` with ``y`` added at ``idx``; repeated indices accumulate.

    >>> import numpy as np
    >>> index_add(np.zeros(3), np.array([1, 1]), 1.0)
    array([0., 2., 0.])
    """
    return _update(index_add_p, x, idx, y)


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
    """
    return np.nonzero(concrete(as_operand(a)))


def flatnonzero(a):
    """Indices of the non-zero elements of the flattened array."""
    return np.flatnonzero(concrete(as_operand(a)))


def argwhere(a):
    """Indices of the non-zero elements, grouped by element."""
    return np.argwhere(concrete(as_operand(a)))
