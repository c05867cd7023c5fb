"""Shape primitives (reshape, transpose, broadcast_to, concatenate, pad) and the compositions built on them.

All of these are linear, so their JVP applies the op to the tangent and their VJP is the transposed op.
"""
import numpy as np

from ..core.primitive import Primitive, def_linear
from ..core.trace import Tracer
from ..core.zeros import zeros_like_value
from ..interpreters.batching import move_to_front
from ._util import as_operand, normalize_axis, normalize_axes

__all__ = ["reshape", "ravel", "transpose", "swapaxes", "moveaxis", "broadcast_to", "expand_dims", "squeeze",
           "concatenate", "stack", "split", "repeat", "tile", "flip", "fliplr", "flipud", "pad", "atleast_1d",
           "atleast_2d", "atleast_3d", "shape", "ndim", "size"]


def _shape_of(x):
    return tuple(x.shape) if hasattr(x, "shape") else np.shape(x)


def _resolve_shape(size, newshape, old):
    if isinstance(newshape, (int, np.integer)):
        newshape = (int(newshape),)
    newshape = tuple(int(d) for d in newshape)
    if newshape.count(-1) > 1:
        raise ValueError(f"reshape: can only specify one unknown dimension, got {newshape}")
    if -1 in newshape:
        known = 1
        for d in newshape:
            if d != -1:
                known *= d
        if known == 0 or size % known:
            raise ValueError(f"reshape: cannot reshape array of size {size} (shape {old}) into shape {newshape}")
        newshape = tuple(size // known if d == -1 else d for d in newshape)
    n = 1
    for d in newshape:
        n *= d
    if n != size:
        raise ValueError(f"reshape: cannot reshape array of size {size} (shape {old}) into shape {newshape}")
    return newshape


# --- reshape ------------------------------------------------------------------------------------------------

reshape_p = Primitive("reshape", lambda x, shape: np.reshape(x, shape))
def_linear(reshape_p, lambda g, x, shape: reshape(g, x.shape))
reshape_p.batch = lambda size, vals, dims, shape: (
    reshape_p.bind(move_to_front(vals[0], dims[0]), shape=(size,) + shape), 0)


def reshape(a, newshape, order="C"):
    """``a`` with a new shape (one entry may be -1).

    >>> import numpy as np
    >>> reshape(np.arange(6.0), (2, -1)).shape
    (2, 3)
    """
    if order != "C":
        raise NotImplementedError("reshape: only order='C' is supported")
    a = as_operand(a)
    old = _shape_of(a)
    size = 1
    for d in old:
        size *= d
    shape_ = _resolve_shape(size, newshape, old)
    if shape_ == old:
        return a
    return reshape_p.bind(a, shape=shape_)


def ravel(a, order="C"):
    """``a`` flattened to one dimension.

    >>> import numpy as np
    >>> ravel(np.ones((2, 2))).shape
    (4,)
    """
    return reshape(a, (-1,), order)


def expand_dims(a, axis):
    """``a`` with new size-1 axes inserted at ``axis`` (an int or tuple).

    >>> import numpy as np
    >>> expand_dims(np.ones(3), 0).shape
    (1, 3)
    """
    a = as_operand(a)
    old = _shape_of(a)
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    nd = len(old) + len(axes)
    axes = sorted(normalize_axis(ax, nd) for ax in axes)
    shape_ = list(old)
    for ax in axes:
        shape_.insert(ax, 1)
    return reshape(a, tuple(shape_))


def squeeze(a, axis=None):
    """``a`` without the size-1 axes named by ``axis`` (all of them by default).

    >>> import numpy as np
    >>> squeeze(np.ones((1, 3, 1))).shape
    (3,)
    """
    a = as_operand(a)
    old = _shape_of(a)
    if axis is None:
        axes = [i for i, d in enumerate(old) if d == 1]
    else:
        axes = normalize_axes(axis, len(old))
        for ax in axes:
            if old[ax] != 1:
                raise ValueError(f"squeeze: cannot select an axis to squeeze out which has size not equal to one "
                                 f"(axis {ax} of shape {old})")
    return reshape(a, tuple(d for i, d in enumerate(old) if i not in axes))


# --- transpose ----------------------------------------------------------------------------------------------

transpose_p = Primitive("transpose", lambda x, axes: np.transpose(x, axes))
def_linear(transpose_p, lambda g, x, axes: transpose(g, tuple(np.argsort(axes))))


def _transpose_batch(size, vals, dims, axes):
    d = dims[0]
    perm = (d,) + tuple(a + (a >= d) for a in axes)
    return transpose_p.bind(vals[0], axes=perm), 0


transpose_p.batch = _transpose_batch


def transpose(a, axes=None):
    """``a`` with its axes permuted (reversed by default).

    >>> import numpy as np
    >>> transpose(np.ones((2, 3, 4)), (1, 0, 2)).shape
    (3, 2, 4)
    """
    a = as_operand(a)
    nd = len(_shape_of(a))
    if axes is None:
        axes = tuple(range(nd))[::-1]
    else:
        axes = tuple(normalize_axis(ax, nd) for ax in axes)
        if sorted(axes) != list(range(nd)):
            raise ValueError(f"transpose: axes {axes} are not a permutation of the {nd} axes of shape "
                             f"{_shape_of(a)}")
    if axes == tuple(range(nd)):
        return a
    return transpose_p.bind(a, axes=axes)


def swapaxes(a, axis1, axis2):
    """``a`` with two axes interchanged.

    >>> import numpy as np
    >>> swapaxes(np.ones((2, 3)), 0, 1).shape
    (3, 2)
    """
    nd = len(_shape_of(a))
    perm = list(range(nd))
    i, j = normalize_axis(axis1, nd), normalize_axis(axis2, nd)
    perm[i], perm[j] = perm[j], perm[i]
    return transpose(a, perm)


def moveaxis(a, source, destination):
    """``a`` with axes moved from ``source`` to ``destination`` (ints or sequences).

    >>> import numpy as np
    >>> moveaxis(np.ones((2, 3, 4)), 0, -1).shape
    (3, 4, 2)
    """
    nd = len(_shape_of(a))
    src = [normalize_axis(s, nd) for s in (source if isinstance(source, (tuple, list)) else (source,))]
    dst = [normalize_axis(s, nd) for s in (destination if isinstance(destination, (tuple, list)) else (destination,))]
    if len(src) != len(dst):
        raise ValueError("moveaxis: `source` and `destination` arguments must have the same number of elements")
    order = [n for n in range(nd) if n not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(a, order)


# --- broadcast_to -------------------------------------------------------------------------------------------

def _broadcast_transpose(g, x, shape):
    from .reduction import sum as sum_
    xs = _shape_of(x)
    lead = len(shape) - len(xs)
    axes = tuple(range(lead)) + tuple(lead + i for i, d in enumerate(xs) if d == 1 and shape[lead + i] != 1)
    if axes:
        g = sum_(g, axis=axes, keepdims=True)
    return reshape(g, xs)


broadcast_to_p = Primitive("broadcast_to", lambda x, shape: np.broadcast_to(x, shape))
def_linear(broadcast_to_p, _broadcast_transpose)


def _broadcast_batch(size, vals, dims, shape):
    x = move_to_front(vals[0], dims[0])
    xs = x.shape[1:]
    x = reshape(x, (size,) + (1,) * (len(shape) - len(xs)) + tuple(xs))
    return broadcast_to_p.bind(x, shape=(size,) + shape), 0


broadcast_to_p.batch = _broadcast_batch


def broadcast_to(array, shape):
    """``array`` broadcast to ``shape`` (its VJP sums over the broadcast axes).

    >>> import numpy as np
    >>> broadcast_to(np.ones(3), (2, 3)).shape
    (2, 3)
    """
    array = as_operand(array)
    shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(d) for d in shape)
    old = _shape_of(array)
    if old == shape:
        return array
    try:
        if np.broadcast_shapes(old, shape) != shape:
            raise ValueError
    except ValueError:
        raise ValueError(f"broadcast_to: cannot broadcast an array of shape {old} to shape {shape}") from None
    return broadcast_to_p.bind(array, shape=shape)


# --- concatenate --------------------------------------------------------------------------------------------

concatenate_p = Primitive("concatenate", lambda *xs, axis: np.concatenate(xs, axis))


def _concatenate_jvp(primals, tangents, axis):
    out = concatenate_p.bind(*primals, axis=axis)
    ts = [zeros_like_value(p) if t is None else t for p, t in zip(primals, tangents)]
    return out, concatenate_p.bind(*ts, axis=axis)


def _concatenate_vjp(g, out, *xs, axis):
    cts = []
    start = 0
    pre = (slice(None),) * axis
    for x in xs:
        n = x.shape[axis]
        cts.append(g[pre + (slice(start, start + n),)])
        start += n
    return cts


def _concatenate_batch(size, vals, dims, axis):
    vals = [move_to_front(v, d, size) for v, d in zip(vals, dims)]
    return concatenate_p.bind(*vals, axis=axis + 1), 0


concatenate_p.saves = 0  # the VJP reads only the operands' shapes
concatenate_p.jvp = _concatenate_jvp
concatenate_p.vjp = _concatenate_vjp
concatenate_p.batch = _concatenate_batch


def concatenate(arrays, axis=0):
    """Join a sequence of arrays along an existing axis (``axis=None`` flattens them first).

    >>> import numpy as np
    >>> concatenate([np.ones(2), np.zeros(3)]).shape
    (5,)
    """
    arrays = [as_operand(a) for a in arrays]
    if not arrays:
        raise ValueError("concatenate: need at least one array to concatenate")
    if axis is None:
        arrays = [ravel(a) for a in arrays]
        axis = 0
    if not any(isinstance(a, Tracer) for a in arrays):
        return concatenate_p.impl(*arrays, axis=axis)
    from .elementwise import astype
    shapes = [_shape_of(a) for a in arrays]
    nd = len(shapes[0])
    if nd == 0:
        raise ValueError("concatenate: zero-dimensional arrays cannot be concatenated")
    axis = normalize_axis(axis, nd)
    for s in shapes:
        if len(s) != nd or s[:axis] + s[axis + 1:] != shapes[0][:axis] + shapes[0][axis + 1:]:
            raise ValueError(f"concatenate: all the input array dimensions except for the concatenation axis "
                             f"must match exactly; got shapes {shapes} along axis {axis}")
    dtype = np.result_type(*[a.dtype for a in arrays])
    arrays = [astype(a, dtype) for a in arrays]
    return concatenate_p.bind(*arrays, axis=axis)


def stack(arrays, axis=0):
    """Join arrays of one shape along a new axis.

    >>> import numpy as np
    >>> stack([np.ones(2), np.zeros(2)], axis=1).shape
    (2, 2)
    """
    arrays = [as_operand(a) for a in arrays]
    if not arrays:
        raise ValueError("stack: need at least one array to stack")
    shapes = {_shape_of(a) for a in arrays}
    if len(shapes) > 1:
        raise ValueError(f"stack: all input arrays must have the same shape, got {sorted(shapes)}")
    nd = len(next(iter(shapes))) + 1
    axis = normalize_axis(axis, nd)
    return concatenate([expand_dims(a, axis) for a in arrays], axis=axis)


def split(ary, indices_or_sections, axis=0):
    """Split into sub-arrays along ``axis`` (equal sections, or at the given indices).

    >>> import numpy as np
    >>> [p.shape for p in split(np.arange(6.0), 3)]
    [(2,), (2,), (2,)]
    """
    return _split(ary, indices_or_sections, axis, equal=True)


def _split(ary, indices_or_sections, axis, equal):
    ary = as_operand(ary)
    shp = _shape_of(ary)
    axis = normalize_axis(axis, len(shp))
    n = shp[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        if k <= 0:
            raise ValueError("split: number of sections must be larger than 0")
        if equal and n % k:
            raise ValueError(f"split: array of size {n} along axis {axis} does not divide into {k} equal sections")
        q, r = divmod(n, k)
        bounds = [0]
        for i in range(k):
            bounds.append(bounds[-1] + q + (1 if i < r else 0))
    else:
        bounds = [0] + [int(i) for i in indices_or_sections] + [n]
    pre = (slice(None),) * axis
    return [ary[pre + (slice(bounds[i], bounds[i + 1]),)] for i in range(len(bounds) - 1)]


def repeat(a, repeats, axis=None):
    """Repeat each element of ``a`` (``repeats`` an int or one count per element).

    >>> import numpy as np
    >>> repeat(np.array([1.0, 2.0]), 2)
    array([1., 1., 2., 2.])
    """
    a = as_operand(a)
    if axis is None:
        a = ravel(a)
        axis = 0
    shp = _shape_of(a)
    axis = normalize_axis(axis, len(shp))
    if isinstance(repeats, (int, np.integer)) or np.ndim(repeats) == 0 and np.size(repeats) == 1:
        r = int(repeats)
        x = expand_dims(a, axis + 1)
        x = broadcast_to(x, shp[:axis + 1] + (r,) + shp[axis + 1:])
        return reshape(x, shp[:axis] + (shp[axis] * r,) + shp[axis + 1:])
    from .indexing import take
    idx = np.repeat(np.arange(shp[axis]), np.asarray(repeats))
    return take(a, idx, axis=axis)


def tile(A, reps):
    """``A`` repeated ``reps`` times along each axis.

    >>> import numpy as np
    >>> tile(np.array([1.0, 2.0]), 2)
    array([1., 2., 1., 2.])
    """
    A = as_operand(A)
    reps = (int(reps),) if isinstance(reps, (int, np.integer)) else tuple(int(r) for r in reps)
    shp = _shape_of(A)
    nd = max(len(reps), len(shp))
    shp = (1,) * (nd - len(shp)) + shp
    reps = (1,) * (nd - len(reps)) + reps
    x = reshape(A, tuple(v for s in shp for v in (1, s)))
    x = broadcast_to(x, tuple(v for r, s in zip(reps, shp) for v in (r, s)))
    return reshape(x, tuple(r * s for r, s in zip(reps, shp)))


def flip(m, axis=None):
    """``m`` with the order of elements reversed along ``axis`` (all axes by default).

    >>> import numpy as np
    >>> flip(np.array([1.0, 2.0, 3.0]))
    array([3., 2., 1.])
    """
    m = as_operand(m)
    nd = len(_shape_of(m))
    axes = normalize_axes(axis, nd)
    return m[tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(nd))]


def fliplr(m):
    """``m`` reversed along axis 1."""
    return flip(m, 1)


def flipud(m):
    """``m`` reversed along axis 0."""
    return flip(m, 0)


# --- pad ----------------------------------------------------------------------------------------------------

def _pad_impl(x, pad_width, value):
    return np.pad(x, pad_width, mode="constant", constant_values=value)


pad_p = Primitive("pad", _pad_impl)


def _pad_transpose(g, x, pad_width, value):
    return g[tuple(slice(lo, lo + n) for (lo, _), n in zip(pad_width, x.shape))]


def_linear(pad_p, _pad_transpose)
pad_p.jvp = lambda primals, tangents, pad_width, value: (
    pad_p.bind(primals[0], pad_width=pad_width, value=value), pad_p.bind(tangents[0], pad_width=pad_width, value=0))
pad_p.batch = lambda size, vals, dims, pad_width, value: (
    pad_p.bind(move_to_front(vals[0], dims[0]), pad_width=((0, 0),) + pad_width, value=value), 0)


def _normalize_pad_width(pad_width, nd):
    pw = np.broadcast_to(np.asarray(pad_width, dtype=int), (nd, 2)) if nd else np.zeros((0, 2), int)
    if (pw < 0).any():
        raise ValueError(f"pad: index can't contain negative values, got pad_width={pad_width}")
    return tuple((int(a), int(b)) for a, b in pw)


def pad(array, pad_width, mode="constant", constant_values=0):
    """``array`` padded; modes 'constant', 'edge', 'reflect', 'symmetric' and 'wrap' are differentiable.

    >>> import numpy as np
    >>> pad(np.array([1.0, 2.0]), 1)
    array([0., 1., 2., 0.])
    """
    array = as_operand(array)
    shp = _shape_of(array)
    pw = _normalize_pad_width(pad_width, len(shp))
    if mode == "constant":
        if isinstance(constant_values, Tracer) or np.ndim(constant_values) != 0:
            raise NotImplementedError("pad: constant_values must be a scalar constant")
        return pad_p.bind(array, pad_width=pw, value=constant_values)
    if mode not in ("edge", "reflect", "symmetric", "wrap"):
        raise ValueError(f"pad: mode {mode!r} is not supported; use one of 'constant', 'edge', 'reflect', "
                         f"'symmetric', 'wrap'")
    from .indexing import take
    # Every non-constant mode is a gather: padding the index vector 0..n-1 with the same mode says which
    # source element lands at each output position.
    for ax, (lo, hi) in enumerate(pw):
        if lo or hi:
            idx = np.pad(np.arange(shp[ax]), (lo, hi), mode=mode)
            array = take(array, idx, axis=ax)
    return array


# --- atleast_*, shape queries --------------------------------------------------------------------------------

def atleast_1d(*arys):
    """Each input viewed with at least one dimension."""
    res = [reshape(a, (1,)) if len(_shape_of(as_operand(a))) == 0 else as_operand(a) for a in arys]
    return res[0] if len(res) == 1 else res


def atleast_2d(*arys):
    """Each input viewed with at least two dimensions (new axes in front)."""
    res = []
    for a in arys:
        a = as_operand(a)
        s = _shape_of(a)
        res.append(reshape(a, (1,) * (2 - len(s)) + s) if len(s) < 2 else a)
    return res[0] if len(res) == 1 else res


def atleast_3d(*arys):
    """Each input viewed with at least three dimensions (NumPy's placement of the new axes)."""
    res = []
    for a in arys:
        a = as_operand(a)
        s = _shape_of(a)
        if len(s) == 0:
            a = reshape(a, (1, 1, 1))
        elif len(s) == 1:
            a = reshape(a, (1, s[0], 1))
        elif len(s) == 2:
            a = reshape(a, s + (1,))
        res.append(a)
    return res[0] if len(res) == 1 else res


def shape(a):
    """The shape of ``a`` (works on traced values)."""
    return _shape_of(as_operand(a))


def ndim(a):
    """The number of dimensions of ``a``."""
    return len(shape(a))


def size(a, axis=None):
    """The number of elements of ``a`` (along ``axis`` if given)."""
    s = shape(a)
    if axis is not None:
        return s[axis]
    n = 1
    for d in s:
        n *= d
    return n
