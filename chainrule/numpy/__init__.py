"""``chainrule.numpy``: NumPy's namespace, differentiable.

- Differentiable functions are chainrule operations: they take arrays, traced values and Tensors alike, and
  have forward-mode, reverse-mode and batching rules (to any order).
- Functions without a derivative (``argsort``, ``nonzero``, ``floor``, ``isfinite``, ``shape``, ...) accept
  traced values and return plain results.
- Constants, dtypes and helpers (``pi``, ``newaxis``, ``float32``, ``r_``, ``s_``, ``index_exp``, ...) are
  NumPy's own; so are functions chainrule does not implement, which raise a ``TypeError`` naming the function
  when handed a traced value (never a silently constant result).
- ``chainrule.numpy.linalg``, ``.fft`` and ``.random`` mirror NumPy's submodules.

NumPy's own functions dispatch here too: ``numpy.sin(x)``, ``numpy.sum(x)`` or ``numpy.dot(A, x)`` on a traced
value run the chainrule operation (through ``__array_ufunc__`` / ``__array_function__``).

Complex numbers follow HIPS autograd's (and JAX's) convention; see ``chainrule.ops.elementwise`` (NOTE:
[complex convention]) and docs/complex.md.

>>> import chainrule.numpy as cnp
>>> from chainrule import grad
>>> float(grad(lambda x: cnp.sum(cnp.tanh(x) ** 2))(cnp.array(0.5)))
0.7268619813835873
"""
import numpy as _np

from ..core.trace import Tracer as _Tracer
from ..ops import elementwise as _E, shape as _S
from ..ops.elementwise import *  # noqa: F401,F403
from ..ops.shape import *  # noqa: F401,F403
from ..ops.reduction import *  # noqa: F401,F403
from ..ops.indexing import *  # noqa: F401,F403
from ..ops.linalg import *  # noqa: F401,F403
from ..ops.nondiff import *  # noqa: F401,F403
from ..ops.extra import *  # noqa: F401,F403
from ..ops.sorting import *  # noqa: F401,F403
from ..ops.statistics import *  # noqa: F401,F403
from ..ops.calculus import *  # noqa: F401,F403
from ..ops.joining import *  # noqa: F401,F403
from ..ops.elementwise import abs, round, around, power, where, clip, astype, stop_gradient, divmod, pow  # noqa
from ..ops.reduction import sum, max, min, any, all  # noqa: F401
from ..ops.indexing import at, getitem  # noqa: F401
from ..ops.extra import copy  # noqa: F401
from . import random  # noqa: F401

try:  # the submodules are imported lazily by Python too; import them here so that cnp.linalg always works
    from . import linalg, fft  # noqa: F401
except ImportError:  # pragma: no cover - a partial checkout
    pass


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


def ascontiguousarray(a, dtype=None, *, like=None):
    """``a`` as an array (traced values are returned as they are, cast to ``dtype`` if given).

    >>> ascontiguousarray([1.0]).flags["C_CONTIGUOUS"]
    True
    """
    if isinstance(a, _Tracer) or _contains_tracer(a):
        return asarray(a, dtype)
    return _np.ascontiguousarray(a, dtype=dtype)


asanyarray = asarray
asfortranarray = ascontiguousarray


def zeros_like(a, dtype=None, order="K", subok=True, shape=None, *, device=None):
    """Zeros with the shape and dtype of ``a`` (a constant: it does not depend on ``a``'s values).

    >>> zeros_like(_np.ones(2))
    array([0., 0.])
    """
    if isinstance(a, _Tracer):
        return _np.zeros(a.shape if shape is None else shape, dtype=a.dtype if dtype is None else dtype)
    return _np.zeros_like(a, dtype=dtype, order=order, subok=subok, shape=shape)


def ones_like(a, dtype=None, order="K", subok=True, shape=None, *, device=None):
    """Ones with the shape and dtype of ``a`` (a constant).

    >>> ones_like(_np.zeros(2))
    array([1., 1.])
    """
    if isinstance(a, _Tracer):
        return _np.ones(a.shape if shape is None else shape, dtype=a.dtype if dtype is None else dtype)
    return _np.ones_like(a, dtype=dtype, order=order, subok=subok, shape=shape)


def __getattr__(name):
    try:
        return getattr(_np, name)
    except AttributeError:
        raise AttributeError(f"module 'chainrule.numpy' has no attribute {name!r} (nor does numpy)") from None


from ._dispatch import install as _install  # noqa: E402

_install()
