"""Helpers shared by the op families: explicit broadcasting and promotion, axis normalisation.

NOTE: [explicit broadcasting]
NumPy broadcasts implicitly; derivative rules would then each have to un-broadcast their cotangents. Instead,
whenever a traced value takes part in an n-ary elementwise op, ``prepare_operands`` first casts it to the result
dtype (``astype``, whose VJP casts back) and broadcasts it to the result shape (``broadcast_to``, whose VJP is a
sum). Rules can then assume operands of one shape and dtype. Untraced operands need no cotangent, so they are
left for NumPy to broadcast; with nothing traced this function is never called (the fast path).
"""
import numbers

import numpy as np

from ..core.backend import is_array
from ..core.trace import Tracer

_SCALARS = (int, float, complex, bool)


def as_operand(x):
    """Tracers, arrays and Python scalars pass through; anything else (a list, say) becomes an array."""
    if isinstance(x, Tracer) or is_array(x) or isinstance(x, _SCALARS):
        return x
    if isinstance(x, numbers.Number):
        return x
    return np.asarray(x)


def prepare_operands(name, args, promote=None):
    """Cast and broadcast the traced operands of an elementwise op (see NOTE above).

    ``promote`` lists the argument positions whose dtypes take part in promotion (default: all).
    """
    if promote is None and _uniform(args):
        return args
    return _prepare(name, args, promote)


def _uniform(args):
    """True when nothing needs casting or broadcasting: every array operand has one shape and dtype, and every
    Python scalar is weak enough not to change that dtype (NumPy 2's promotion rules)."""
    ref = None
    for a in args:
        if type(a) in _SCALARS:
            continue
        if not (isinstance(a, Tracer) or is_array(a)):
            return False
        if ref is None:
            ref = a
        elif a.shape != ref.shape or a.dtype != ref.dtype:
            return False
    if ref is None:
        return False
    kind = ref.dtype.kind
    for a in args:
        t = type(a)
        if (t is float and kind not in "fc") or (t is complex and kind != "c") or (t is int and kind == "b"):
            return False
    return True


def _prepare(name, args, promote):
    from . import shape as S
    from .elementwise import astype
    args = [as_operand(a) for a in args]
    shapes = [() if isinstance(a, _SCALARS) else a.shape for a in args]
    first = shapes[0]
    if all(s == first for s in shapes):
        out_shape = first
    else:
        try:
            out_shape = np.broadcast_shapes(*shapes)
        except ValueError:
            shown = " and ".join(str(tuple(s)) for s in shapes)
            raise ValueError(f"{name}: operands could not be broadcast together: shapes {shown}") from None
    idx = range(len(args)) if promote is None else promote
    dtype = np.result_type(*[args[i].dtype if isinstance(args[i], Tracer) else args[i] for i in idx])
    out = []
    for i, (a, s) in enumerate(zip(args, shapes)):
        if _needs_cotangent(a):
            if (promote is None or i in promote) and a.dtype != dtype:
                a = astype(a, dtype)
            if s != out_shape:
                a = S.broadcast_to(a, out_shape)
        out.append(a)
    return out


def _needs_cotangent(a):
    """Any tracer may need a cotangent, except a Tensor outside every graph (``_ref is None``): that one is a
    constant like a plain array, and NumPy may broadcast it."""
    return isinstance(a, Tracer) and getattr(a, "_ref", True) is not None


def normalize_axis(axis, ndim, name="axis"):
    """A non-negative int for ``axis`` in an array of rank ``ndim``; a clear error when out of range."""
    a = int(axis)
    if not -ndim <= a < ndim:
        raise np.exceptions.AxisError(f"{name} {axis} is out of bounds for array of dimension {ndim}")
    return a % ndim


def normalize_axes(axis, ndim):
    """A sorted tuple of non-negative axes; ``None`` means all axes."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (tuple, list)):
        axes = tuple(sorted(normalize_axis(a, ndim) for a in axis))
        if len(set(axes)) != len(axes):
            raise ValueError(f"duplicate value in 'axis': {axis}")
        return axes
    return (normalize_axis(axis, ndim),)


def shape_of(x):
    return () if isinstance(x, _SCALARS) else tuple(x.shape)


def dtype_of(x):
    return x.dtype if hasattr(x, "dtype") else np.result_type(x)
