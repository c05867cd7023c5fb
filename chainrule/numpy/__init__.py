"""``chainrule.numpy``: NumPy's functions, differentiable.

Functions chainrule knows are its own ops (they work on arrays, traced values and Tensors alike); everything
else in NumPy's namespace (constants, dtypes, creation functions) passes through unchanged.

>>> import chainrule.numpy as cnp
>>> from chainrule import grad
>>> float(grad(lambda x: cnp.sum(cnp.tanh(x) ** 2))(cnp.array(0.5)))
0.7268619813835873
"""
import numpy as _np

from ..core.trace import Tracer as _Tracer
from ..ops import elementwise as _E, shape as _S, reduction as _R, indexing as _I, linalg as _L
from ..ops.elementwise import *  # noqa: F401,F403
from ..ops.shape import *  # noqa: F401,F403
from ..ops.reduction import *  # noqa: F401,F403
from ..ops.indexing import *  # noqa: F401,F403
from ..ops.linalg import *  # noqa: F401,F403
from ..ops.elementwise import abs, round, around, power, where, clip, astype, stop_gradient  # noqa: F401
from ..ops.reduction import sum, max, min, any, all  # noqa: F401
from ..ops.indexing import at, getitem  # noqa: F401


def _contains_tracer(obj):
    todo = [obj]
    while todo:
        o = todo.pop()
        if isinstance(o, _Tracer):
            return True
        if isinstance(o, (list, tuple)):
            todo.extend(o)
    return False


def array(object, dtype=None, copy=True, ndmin=0):
    """An array from ``object``; lists that contain traced values are stacked differentiably.

    >>> array([1.0, 2.0])
    array([1., 2.])
    """
    if _contains_tracer(object):
        def build(o):
            if isinstance(o, (list, tuple)):
                return _S.stack([build(e) for e in o])
            return o if isinstance(o, _Tracer) else _np.asarray(o)
        out = build(object)
        if dtype is not None:
            out = _E.astype(out, dtype)
        return out
    return _np.array(object, dtype=dtype, copy=copy, ndmin=ndmin)


def asarray(a, dtype=None):
    """``a`` as an array (traced values are returned as they are).

    >>> asarray([1, 2]).dtype
    dtype('int64')
    """
    if isinstance(a, _Tracer):
        return a if dtype is None else _E.astype(a, dtype)
    if _contains_tracer(a):
        return array(a, dtype)
    return _np.asarray(a, dtype=dtype)


def zeros_like(a, dtype=None, shape=None):
    """Zeros with the shape and dtype of ``a`` (a constant: it does not depend on ``a``'s values)."""
    return _np.zeros(a.shape if shape is None else shape, dtype=a.dtype if dtype is None else dtype) \
        if isinstance(a, _Tracer) else _np.zeros_like(a, dtype=dtype, shape=shape)


def ones_like(a, dtype=None, shape=None):
    """Ones with the shape and dtype of ``a`` (a constant)."""
    return _np.ones(a.shape if shape is None else shape, dtype=a.dtype if dtype is None else dtype) \
        if isinstance(a, _Tracer) else _np.ones_like(a, dtype=dtype, shape=shape)


def __getattr__(name):
    try:
        return getattr(_np, name)
    except AttributeError:
        raise AttributeError(f"module 'chainrule.numpy' has no attribute {name!r} (nor does numpy)") from None
