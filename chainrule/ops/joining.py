"""Joining, splitting and rearranging arrays.

See ``chainrule.ops.extra`` for the invariant these compositions keep.
"""
import numpy as np

from . import elementwise as E
from . import indexing as I
from . import linalg as L
from . import shape as S
from ._util import as_operand, dtype_of, normalize_axis, shape_of
from .extra import _along, _size, _static, _traced, make_exporter

__all__ = []
_export = make_exporter(__all__)


# ---------------------------------------------------------------------------------------------------------
# Joining, splitting, rearranging
# ---------------------------------------------------------------------------------------------------------

@_export
def append(arr, values, axis=None):
    """``values`` appended to ``arr`` (both flattened when ``axis`` is None).

    >>> append(np.array([1.0]), np.array([[2.0, 3.0]]))
    array([1., 2., 3.])
    """
    if not _traced(arr, values):
        return np.append(arr, values, axis)
    arr, values = as_operand(arr), as_operand(values)
    if axis is None:
        return S.concatenate([S.ravel(arr), S.ravel(values)])
    return S.concatenate([arr, values], axis=axis)


def _cast_all(arrays, dtype):
    return [E.astype(as_operand(a), dtype) for a in arrays] if dtype is not None else arrays


@_export
def hstack(tup, *, dtype=None, casting="same_kind"):
    """Arrays stacked horizontally (along axis 1, or axis 0 for 1-D inputs).

    >>> hstack([np.ones(2), np.zeros(1)])
    array([1., 1., 0.])
    """
    if not _traced(list(tup)):
        return np.hstack(tup, dtype=dtype, casting=casting)
    arrs = [S.atleast_1d(as_operand(a)) for a in tup]
    arrs = _cast_all(arrs, dtype)
    return S.concatenate(arrs, axis=0 if arrs and arrs[0].ndim == 1 else 1)


@_export
def vstack(tup, *, dtype=None, casting="same_kind"):
    """Arrays stacked vertically (along axis 0, 1-D inputs as rows).

    >>> vstack([np.ones(2), np.zeros(2)]).shape
    (2, 2)
    """
    if not _traced(list(tup)):
        return np.vstack(tup, dtype=dtype, casting=casting)
    return S.concatenate(_cast_all([S.atleast_2d(as_operand(a)) for a in tup], dtype), axis=0)


row_stack = vstack
__all__.append("row_stack")


@_export
def dstack(tup):
    """Arrays stacked along the third axis.

    >>> dstack([np.ones(2), np.zeros(2)]).shape
    (1, 2, 2)
    """
    if not _traced(list(tup)):
        return np.dstack(tup)
    return S.concatenate([S.atleast_3d(as_operand(a)) for a in tup], axis=2)


@_export
def column_stack(tup):
    """1-D arrays as columns of a 2-D array (2-D arrays are stacked as they are).

    >>> column_stack([np.ones(2), np.zeros(2)])
    array([[1., 0.],
           [1., 0.]])
    """
    if not _traced(list(tup)):
        return np.column_stack(tup)
    cols = []
    for a in tup:
        a = as_operand(a)
        cols.append(S.reshape(a, (-1, 1)) if a.ndim < 2 else a)
    return S.concatenate(cols, axis=1)


@_export
def block(arrays):
    """An array assembled from nested lists of blocks (the innermost lists are joined along the last axis).

    >>> block([[np.ones((1, 1)), np.zeros((1, 1))]])
    array([[1., 0.]])
    """
    if not _traced(arrays):
        return np.block(arrays)
    depth = 0
    probe = arrays
    while isinstance(probe, list):
        if not probe:
            raise ValueError("block: lists cannot be empty")
        depth += 1
        probe = probe[0]
    leaves = []
    todo = [arrays]
    while todo:
        o = todo.pop()
        if isinstance(o, list):
            todo.extend(o)
        else:
            leaves.append(as_operand(o))
    nd = max([depth] + [len(shape_of(x)) for x in leaves])

    def build(x, level):
        if isinstance(x, list):
            return S.concatenate([build(e, level + 1) for e in x], axis=-(depth - level))
        x = as_operand(x)
        s = shape_of(x)
        return S.reshape(x, (1,) * (nd - len(s)) + s) if len(s) < nd else x

    return build(arrays, 0)


@_export
def array_split(ary, indices_or_sections, axis=0):
    """Split into sub-arrays along ``axis``; unlike ``split`` the sections need not be equal.

    >>> [p.shape for p in array_split(np.arange(5.0), 2)]
    [(3,), (2,)]
    """
    if not _traced(ary):
        return np.array_split(ary, indices_or_sections, axis)
    return S._split(ary, indices_or_sections, axis, equal=False)


@_export
def hsplit(ary, indices_or_sections):
    """Split horizontally (along axis 1, or axis 0 for 1-D arrays).

    >>> [p.shape for p in hsplit(np.ones((2, 4)), 2)]
    [(2, 2), (2, 2)]
    """
    if not _traced(ary):
        return np.hsplit(ary, indices_or_sections)
    ary = as_operand(ary)
    if ary.ndim == 0:
        raise ValueError("hsplit only works on arrays of 1 or more dimensions")
    return S.split(ary, indices_or_sections, axis=1 if ary.ndim > 1 else 0)


@_export
def vsplit(ary, indices_or_sections):
    """Split vertically (along axis 0) an array of two or more dimensions.

    >>> [p.shape for p in vsplit(np.ones((4, 2)), 2)]
    [(2, 2), (2, 2)]
    """
    if not _traced(ary):
        return np.vsplit(ary, indices_or_sections)
    ary = as_operand(ary)
    if ary.ndim < 2:
        raise ValueError("vsplit only works on arrays of 2 or more dimensions")
    return S.split(ary, indices_or_sections, axis=0)


@_export
def dsplit(ary, indices_or_sections):
    """Split along the third axis an array of three or more dimensions.

    >>> [p.shape for p in dsplit(np.ones((1, 1, 4)), 2)]
    [(1, 1, 2), (1, 1, 2)]
    """
    if not _traced(ary):
        return np.dsplit(ary, indices_or_sections)
    ary = as_operand(ary)
    if ary.ndim < 3:
        raise ValueError("dsplit only works on arrays of 3 or more dimensions")
    return S.split(ary, indices_or_sections, axis=2)


@_export
def unstack(x, /, *, axis=0):
    """The slices of ``x`` along ``axis``, as a tuple.

    >>> [p.shape for p in unstack(np.ones((2, 3)))]
    [(3,), (3,)]
    """
    if not _traced(x):
        return np.unstack(x, axis=axis)
    x = as_operand(x)
    axis = normalize_axis(axis, x.ndim)
    return tuple(x[_along(x.ndim, axis, i)] for i in range(x.shape[axis]))


@_export
def rollaxis(a, axis, start=0):
    """``a`` with ``axis`` rolled back until it lies before position ``start``.

    >>> rollaxis(np.ones((2, 3, 4)), 2).shape
    (4, 2, 3)
    """
    if not _traced(a):
        return np.rollaxis(a, axis, start)
    a = as_operand(a)
    n = a.ndim
    axis = normalize_axis(axis, n)
    if start < 0:
        start += n
    if not 0 <= start < n + 1:
        raise np.exceptions.AxisError(f"rollaxis: 'start' arg requires {-n} <= start < {n + 1}, but {start} was "
                                      f"passed in")
    if axis < start:
        start -= 1
    if axis == start:
        return a
    axes = list(range(n))
    axes.remove(axis)
    axes.insert(start, axis)
    return S.transpose(a, axes)


@_export
def rot90(m, k=1, axes=(0, 1)):
    """``m`` rotated by 90 degrees ``k`` times in the plane of ``axes``.

    >>> rot90(np.array([[1.0, 2.0], [3.0, 4.0]]))
    array([[2., 4.],
           [1., 3.]])
    """
    if not _traced(m):
        return np.rot90(m, k, axes)
    m = as_operand(m)
    if len(axes) != 2:
        raise ValueError("rot90: len(axes) must be 2")
    a0, a1 = normalize_axis(axes[0], m.ndim), normalize_axis(axes[1], m.ndim)
    if a0 == a1:
        raise ValueError("rot90: axes must be different")
    k %= 4
    if k == 0:
        return m
    if k == 2:
        return S.flip(S.flip(m, a0), a1)
    perm = list(range(m.ndim))
    perm[a0], perm[a1] = perm[a1], perm[a0]
    if k == 1:
        return S.transpose(S.flip(m, a1), perm)
    return S.flip(S.transpose(m, perm), a1)


@_export
def roll(a, shift, axis=None):
    """``a`` with its elements shifted cyclically by ``shift`` along ``axis`` (of the flattened array when None).

    >>> roll(np.array([1.0, 2.0, 3.0]), 1)
    array([3., 1., 2.])
    """
    if not _traced(a):
        return np.roll(a, shift, axis)
    a = as_operand(a)
    if axis is None:
        return S.reshape(roll(S.ravel(a), shift, 0), tuple(a.shape))
    shifts, axes = np.broadcast_arrays(np.asarray(shift), np.asarray(axis))
    total = {}
    for sh, ax in zip(shifts.ravel(), axes.ravel()):
        ax = normalize_axis(int(ax), a.ndim)
        total[ax] = total.get(ax, 0) + int(sh)
    for ax, sh in total.items():
        n = a.shape[ax]
        s = sh % n if n else 0
        if s:
            a = S.concatenate([a[_along(a.ndim, ax, slice(n - s, None))], a[_along(a.ndim, ax, slice(0, n - s))]],
                              axis=ax)
    return a


@_export
def resize(a, new_shape):
    """A new array of shape ``new_shape`` filled with repeated copies of ``a``'s elements.

    >>> resize(np.array([1.0, 2.0]), (3,))
    array([1., 2., 1.])
    """
    if not _traced(a):
        return np.resize(a, new_shape)
    a = as_operand(a)
    new_shape = (int(new_shape),) if isinstance(new_shape, (int, np.integer)) else tuple(int(d) for d in new_shape)
    total = _size(new_shape)
    flat = S.ravel(a)
    if total == 0 or flat.shape[0] == 0:
        return np.zeros(new_shape, dtype_of(a))
    reps = -(-total // flat.shape[0])
    return S.reshape(S.tile(flat, reps)[:total], new_shape)


@_export
def delete(arr, obj, axis=None):
    """``arr`` without the sub-arrays at indices ``obj`` (ints, a slice or a mask; constants) along ``axis``.

    >>> delete(np.array([1.0, 2.0, 3.0]), 1)
    array([1., 3.])
    """
    if not _traced(arr):
        return np.delete(arr, obj, axis)
    arr = as_operand(arr)
    if axis is None:
        arr, axis = S.ravel(arr), 0
    axis = normalize_axis(axis, arr.ndim)
    obj = obj if isinstance(obj, slice) else np.asarray(_static(obj, "delete", "obj"))
    keep = np.delete(np.arange(arr.shape[axis]), obj)
    return I.take(arr, keep, axis=axis)


@_export
def insert(arr, obj, values, axis=None):
    """``arr`` with ``values`` inserted before the indices ``obj`` (constants) along ``axis``; differentiable in
    ``arr`` and ``values``.

    >>> insert(np.array([1.0, 2.0]), 1, 5.0)
    array([1., 5., 2.])
    """
    if not _traced(arr, values):
        return np.insert(arr, obj, values, axis)
    arr, values = as_operand(arr), as_operand(values)
    if axis is None:
        arr, axis = S.ravel(arr), 0
    nd = arr.ndim
    axis = normalize_axis(axis, nd)
    n = arr.shape[axis]
    dt = dtype_of(arr)
    if isinstance(obj, slice):
        obj = np.arange(*obj.indices(n))
    idx = np.asarray(_static(obj, "insert", "obj"))
    vs = shape_of(values)
    v = S.reshape(values, (1,) * (nd - len(vs)) + vs) if len(vs) < nd else values
    if idx.ndim == 0:
        i = int(idx)
        if not -n <= i <= n:
            raise IndexError(f"insert: index {i} is out of bounds for axis {axis} with size {n}")
        i %= n + 1
        v = S.moveaxis(v, 0, axis)
        target = list(arr.shape)
        target[axis] = v.shape[axis]
        v = S.broadcast_to(E.astype(v, dt), tuple(target))
        return S.concatenate([arr[_along(nd, axis, slice(0, i))], v, arr[_along(nd, axis, slice(i, None))]],
                             axis=axis)
    idx = idx.astype(np.intp).ravel()
    k = idx.shape[0]
    idx = np.where(idx < 0, idx + n, idx)
    order = np.argsort(idx, kind="mergesort")
    pos = idx.copy()
    pos[order] += np.arange(k)
    target = list(arr.shape)
    target[axis] = k
    v = S.broadcast_to(E.astype(v, dt), tuple(target))
    src = np.empty(n + k, np.intp)
    is_new = np.zeros(n + k, bool)
    is_new[pos] = True
    src[pos] = n + np.arange(k)
    src[~is_new] = np.arange(n)
    return I.take(S.concatenate([arr, v], axis=axis), src, axis=axis)


@_export
def meshgrid(*xi, copy=True, sparse=False, indexing="xy"):
    """Coordinate arrays from coordinate vectors ('xy' Cartesian or 'ij' matrix indexing).

    >>> [g.shape for g in meshgrid(np.arange(3.0), np.arange(2.0))]
    [(2, 3), (2, 3)]
    """
    if not _traced(list(xi)):
        return np.meshgrid(*xi, copy=copy, sparse=sparse, indexing=indexing)
    if indexing not in ("xy", "ij"):
        raise ValueError("meshgrid: valid values for `indexing` are 'xy' and 'ij'")
    nd = len(xi)
    s0 = (1,) * nd
    out = [S.reshape(as_operand(x), s0[:i] + (-1,) + s0[i + 1:]) for i, x in enumerate(xi)]
    if indexing == "xy" and nd > 1:
        out[0] = S.reshape(out[0], (1, -1) + s0[2:])
        out[1] = S.reshape(out[1], (-1, 1) + s0[2:])
    if not sparse:
        out = list(broadcast_arrays(*out))
    return tuple(out)


@_export
def broadcast_arrays(*args, subok=False):
    """The arguments broadcast against each other.

    >>> [a.shape for a in broadcast_arrays(np.ones(3), np.ones((2, 1)))]
    [(2, 3), (2, 3)]
    """
    if not _traced(list(args)):
        return np.broadcast_arrays(*args, subok=subok)
    args = [as_operand(a) for a in args]
    shape = np.broadcast_shapes(*[shape_of(a) for a in args])
    return tuple(S.broadcast_to(a, shape) for a in args)


@_export
def diagflat(v, k=0):
    """A 2-D array with the flattened ``v`` on its ``k``-th diagonal.

    >>> diagflat(np.array([[1.0, 2.0]]))
    array([[1., 0.],
           [0., 2.]])
    """
    if not _traced(v):
        return np.diagflat(v, k)
    return L.diag(S.ravel(v), k)


@_export
def make_diagonal(D, offset=0, axis1=0, axis2=1):
    """Diagonal matrices from the last axis of ``D`` (HIPS autograd's inverse of ``diagonal``).

    >>> make_diagonal(np.array([1.0, 2.0]))
    array([[1., 0.],
           [0., 2.]])
    """
    if offset != 0 or (axis1, axis2) not in ((0, 1), (-2, -1), (-1, -2)):
        raise NotImplementedError("make_diagonal: only offset=0 and the last two axes are supported")
    D = as_operand(D)
    n = shape_of(D)[-1]
    return S.expand_dims(D, -1) * np.eye(n, dtype=dtype_of(D))
