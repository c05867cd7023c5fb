"""``chainrule.numpy.linalg``: NumPy's ``linalg`` namespace, differentiable in forward and reverse mode (to any
order) and batchable with ``vmap``, on stacks of matrices, real and complex.

Decompositions and solvers are primitives with their own rules (``chainrule.ops.decomp``); the norms, ``cond``,
``matrix_power``, ``multi_dot``, ``tensorsolve``, ``tensorinv`` and the small NumPy 2 helpers defined here are
compositions of them and of the other ops, so they need no rules of their own. Read the notes in
``chainrule.ops.decomp`` for the complex convention (JAX's and autograd's), the triangle read by ``cholesky`` and
``eigh``, and the gauge of eigenvectors and singular vectors. Anything else (``LinAlgError``) is NumPy's own.

>>> import numpy as np, chainrule as cr
>>> import chainrule.numpy.linalg as la
>>> a = np.array([[2.0, 1.0], [1.0, 3.0]])
>>> float(la.det(a))
5.0
>>> cr.grad(lambda a: la.slogdet(a)[1])(a)  # inv(a).T
array([[ 0.6, -0.2],
       [-0.2,  0.4]])
"""
import numpy as _np

from ..core.trace import Tracer as _Tracer
from ..ops import elementwise as _E, linalg as _L, reduction as _R, shape as _S
from ..ops.decomp import (  # noqa: F401
    LinAlgError, cholesky, det, eig, eigh, eigvals, eigvalsh, inv, lstsq, matrix_rank, pinv, qr, slogdet, solve,
    svd, svdvals)
from ..ops.decomp import _as_matrix, _iscomplex, _real_dtype, conj as _conj, real as _real
from ..ops._util import as_operand as _as_operand, normalize_axis as _normalize_axis, \
    normalize_axes as _normalize_axes, shape_of as _shape_of

__all__ = ["LinAlgError", "cholesky", "cond", "det", "eig", "eigh", "eigvals", "eigvalsh", "inv", "lstsq",
           "matrix_norm", "matrix_power", "matrix_rank", "matrix_transpose", "multi_dot", "norm", "pinv", "qr",
           "slogdet", "solve", "svd", "svdvals", "tensorinv", "tensorsolve", "vecdot", "vector_norm", "matmul",
           "tensordot", "outer", "diagonal", "trace"]


def matmul(x1, x2, /):
    """Matrix product (NumPy 2's ``linalg.matmul``, the same as ``numpy.matmul``).

    >>> import numpy as np
    >>> matmul(np.ones((2, 3)), np.ones(3))
    array([3., 3.])
    """
    return _L.matmul(x1, x2)


def tensordot(x1, x2, /, *, axes=2):
    """``numpy.tensordot`` with ``axes`` keyword-only (NumPy 2's ``linalg.tensordot``).

    >>> import numpy as np
    >>> tensordot(np.ones((2, 3)), np.ones((3, 4)), axes=1).shape
    (2, 4)
    """
    return _L.tensordot(x1, x2, axes)


def outer(x1, x2, /):
    """Outer product of two 1-D arrays (NumPy 2's ``linalg.outer``, which rejects other ranks).

    >>> import numpy as np
    >>> outer(np.array([1.0, 2.0]), np.array([1.0, 0.0, 1.0])).shape
    (2, 3)
    """
    x1, x2 = _as_operand(x1), _as_operand(x2)
    if _np.ndim(x1) != 1 or _np.ndim(x2) != 1:
        raise ValueError(f"outer: input arrays must be one-dimensional, got shapes {_np.shape(x1)} and "
                         f"{_np.shape(x2)}" if not isinstance(x1, _Tracer) and not isinstance(x2, _Tracer) else
                         f"outer: input arrays must be one-dimensional, got shapes {tuple(x1.shape)} and "
                         f"{tuple(x2.shape)}")
    return _L.outer(x1, x2)


def diagonal(x, /, *, offset=0):
    """Diagonals of the matrices in a stack (over the last two axes).

    >>> import numpy as np
    >>> diagonal(np.arange(8.0).reshape(2, 2, 2))
    array([[0., 3.],
           [4., 7.]])
    """
    return _L.diagonal(x, offset, -2, -1)


def trace(x, /, *, offset=0, dtype=None):
    """Traces of the matrices in a stack (over the last two axes).

    >>> import numpy as np
    >>> trace(np.stack([np.eye(2), 2 * np.eye(2)]))
    array([2., 4.])
    """
    out = _L.trace(x, offset, -2, -1)
    if dtype is not None:
        from ..ops.elementwise import astype
        out = astype(out, dtype)
    return out


# ---------------------------------------------------------------------------------------------------------
# Norms and condition numbers (compositions)
# ---------------------------------------------------------------------------------------------------------

def _abs2(x):
    """``|x| ** 2`` (real)."""
    return _real(x * _conj(x)) if _iscomplex(x) else x * x


def _inexact(x):
    return x if _np.issubdtype(x.dtype, _np.inexact) else _E.astype(x, _np.float64)


def _vector_norm(x, ord, axis, keepdims):
    if ord is None or ord == 2:
        return _E.sqrt(_R.sum(_abs2(x), axis, keepdims=keepdims))
    if isinstance(ord, str):
        raise ValueError(f"norm: invalid norm order {ord!r} for vectors")
    if ord == _np.inf:
        return _R.max(_E.abs(x), axis, keepdims=keepdims)
    if ord == -_np.inf:
        return _R.min(_E.abs(x), axis, keepdims=keepdims)
    if ord == 0:
        return _R.sum(_E.astype(_E.not_equal(x, 0), _real_dtype(x.dtype)), axis, keepdims=keepdims)
    if ord == 1:
        return _R.sum(_E.abs(x), axis, keepdims=keepdims)
    ord = float(ord)
    return _E.power(_R.sum(_E.power(_E.abs(x), ord), axis, keepdims=keepdims), 1.0 / ord)


def _matrix_norm(x, ord, row, col, keepdims):
    if row == col:
        raise ValueError(f"norm: duplicate axes given ({row}, {col})")
    if ord in (2, -2, "nuc"):
        s = svdvals(_S.moveaxis(x, (row, col), (-2, -1)))
        out = _R.max(s, -1) if ord == 2 else (_R.min(s, -1) if ord == -2 else _R.sum(s, -1))
    elif ord in (1, -1):
        red = _R.max if ord == 1 else _R.min
        out = red(_R.sum(_E.abs(x), row), col - 1 if col > row else col)
    elif ord in (_np.inf, -_np.inf):
        red = _R.max if ord == _np.inf else _R.min
        out = red(_R.sum(_E.abs(x), col), row - 1 if row > col else row)
    elif ord in (None, "fro", "f"):
        out = _E.sqrt(_R.sum(_abs2(x), (row, col)))
    else:
        raise ValueError(f"norm: invalid norm order {ord!r} for matrices")
    if keepdims:
        out = _S.reshape(out, tuple(1 if i in (row, col) else d for i, d in enumerate(x.shape)))
    return out


def norm(x, ord=None, axis=None, keepdims=False):
    """Matrix or vector norm with NumPy's ``ord`` (vectors: None/2, inf, -inf, 0, 1, any p; matrices: None/'fro',
    'nuc', inf, -inf, 1, -1, 2, -2), ``axis`` (an int for vectors, a pair for matrices, None) and ``keepdims``;
    real or complex ``x`` (the result is real). Non-smooth points (a zero vector for the 2-norm, ties of max/min)
    get NumPy-style one-sided choices: ``sqrt``'s derivative at 0 is infinite, ties share the gradient.

    >>> import numpy as np, chainrule as cr
    >>> float(norm(np.array([3.0, 4.0])))
    5.0
    >>> cr.grad(norm)(np.array([3.0, 4.0]))
    array([0.6, 0.8])
    >>> float(norm(np.array([[1.0, 2.0], [3.0, 4.0]]), 1))  # largest column sum of |x|
    6.0
    """
    x = _as_operand(x)
    if not isinstance(x, _Tracer):
        return _np.linalg.norm(x, ord, axis, keepdims)
    x = _inexact(x)
    nd = x.ndim
    if axis is None:
        if ord is None or (ord in ("f", "fro") and nd == 2) or (ord == 2 and nd == 1):
            out = _E.sqrt(_R.sum(_abs2(x)))
            return _S.reshape(out, (1,) * nd) if keepdims else out
        if nd not in (1, 2):
            raise ValueError(f"norm: improper number of dimensions to norm: ord={ord!r} needs a 1-D or 2-D array "
                             f"(or an axis), got shape {_shape_of(x)}")
        axis = tuple(range(nd))
    elif not isinstance(axis, (tuple, list)):
        axis = (axis,)
    axis = tuple(_normalize_axis(a, nd) for a in axis)
    if len(axis) == 1:
        return _vector_norm(x, ord, axis[0], keepdims)
    if len(axis) == 2:
        return _matrix_norm(x, ord, axis[0], axis[1], keepdims)
    raise ValueError(f"norm: improper number of dimensions to norm: axis={axis} names {len(axis)} axes (1 for a "
                     f"vector norm, 2 for a matrix norm)")


def vector_norm(x, /, *, axis=None, keepdims=False, ord=2):
    """Vector norm over ``axis`` (an int, a tuple of axes treated as one flattened vector, or None for all).

    >>> import numpy as np
    >>> float(vector_norm(np.array([[3.0], [4.0]])))
    5.0
    """
    x = _as_operand(x)
    if not isinstance(x, _Tracer):
        return _np.linalg.vector_norm(x, axis=axis, keepdims=keepdims, ord=ord)
    x = _inexact(x)
    shape = _shape_of(x)
    axes = _normalize_axes(axis, len(shape))
    rest = tuple(i for i in range(len(shape)) if i not in axes)
    flat = _S.reshape(_S.transpose(x, rest + axes), tuple(shape[i] for i in rest) + (-1,))
    out = _vector_norm(flat, ord, len(rest), False)
    if keepdims:
        out = _S.reshape(out, tuple(1 if i in axes else d for i, d in enumerate(shape)))
    return out


def matrix_norm(x, /, *, keepdims=False, ord="fro"):
    """Matrix norm over the last two axes (NumPy 2's ``linalg.matrix_norm``).

    >>> import numpy as np
    >>> float(matrix_norm(np.eye(2), ord="nuc"))
    2.0
    """
    return norm(x, ord, (-2, -1), keepdims)


def cond(x, p=None):
    """Condition number: ``s_max / s_min`` for ``p`` None/2 (``s_min / s_max`` for -2), else
    ``norm(x, p) * norm(inv(x), p)`` over the last two axes.

    >>> import numpy as np
    >>> float(cond(np.diag([1.0, 4.0])))
    4.0
    """
    x = _as_operand(x)
    if not isinstance(x, _Tracer):
        return _np.linalg.cond(x, p)
    x = _as_matrix("cond", x)
    if p is None or p == 2 or p == -2:
        s = svdvals(x)
        return s[..., -1] / s[..., 0] if p == -2 else s[..., 0] / s[..., -1]
    x = _as_matrix("cond", x, square=True)
    return norm(x, p, (-2, -1)) * norm(inv(x), p, (-2, -1))


# ---------------------------------------------------------------------------------------------------------
# matrix_power, multi_dot, tensorsolve, tensorinv, small helpers
# ---------------------------------------------------------------------------------------------------------

def matrix_power(a, n):
    """``a`` raised to the integer power ``n`` by repeated squaring (``inv(a)`` first for negative ``n``).

    >>> import numpy as np
    >>> matrix_power(np.array([[1.0, 1.0], [0.0, 1.0]]), 3)
    array([[1., 3.],
           [0., 1.]])
    """
    a = _as_operand(a)
    if not isinstance(a, _Tracer):
        return _np.linalg.matrix_power(a, n)
    try:
        n = int(n.__index__())
    except (AttributeError, TypeError):
        raise TypeError(f"matrix_power: exponent must be an integer, got {n!r}") from None
    shape = _shape_of(a)
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise LinAlgError(f"matrix_power: last 2 dimensions of the array must be square, got shape {shape}")
    if n == 0:
        return _np.broadcast_to(_np.eye(shape[-1], dtype=a.dtype), shape).copy()
    if n < 0:
        a = inv(a)
        n = -n
    result, power = None, a
    while True:
        if n & 1:
            result = power if result is None else _L.matmul(result, power)
        n >>= 1
        if not n:
            return result
        power = _L.matmul(power, power)


def _chain_order(dims):
    """Optimal parenthesisation of a matrix chain with dimensions ``dims`` (matrix i is dims[i] x dims[i+1]):
    ``split[i][j]`` is where the product of matrices i..j is best split (classic O(n^3) dynamic programme over the
    shapes; n is the number of matrices, not their sizes)."""
    n = len(dims) - 1
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = None
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if cost[i][j] is None or c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k
    return split


def multi_dot(arrays, *, out=None):
    """Product of two or more matrices in the cheapest order; the first may be 1-D (a row vector) and the last
    1-D (a column vector), as in NumPy.

    >>> import numpy as np
    >>> multi_dot([np.ones(2), np.ones((2, 3)), np.ones(3)])
    6.0
    """
    if out is not None:
        raise TypeError("multi_dot: out= is not supported (chainrule arrays are immutable)")
    arrays = [_as_operand(x) for x in arrays]
    if not any(isinstance(x, _Tracer) for x in arrays):
        return _np.linalg.multi_dot(arrays)
    if len(arrays) < 2:
        raise ValueError(f"multi_dot: expecting at least two arrays, got {len(arrays)}")
    first_1d, last_1d = arrays[0].ndim == 1, arrays[-1].ndim == 1
    if first_1d:
        arrays[0] = _S.reshape(arrays[0], (1, -1))
    if last_1d:
        arrays[-1] = _S.reshape(arrays[-1], (-1, 1))
    for i, x in enumerate(arrays):
        if x.ndim != 2:
            raise LinAlgError(f"multi_dot: array {i} has shape {_shape_of(x)}; arrays must be 2-D (the first and "
                              f"last may be 1-D)")
    for i in range(len(arrays) - 1):
        if arrays[i].shape[1] != arrays[i + 1].shape[0]:
            raise ValueError(f"multi_dot: shapes {_shape_of(arrays[i])} and {_shape_of(arrays[i + 1])} (arrays {i} "
                             f"and {i + 1}) are not aligned")
    split = _chain_order([arrays[0].shape[0]] + [x.shape[1] for x in arrays])
    # Evaluate the parenthesisation with an explicit stack (no recursion).
    results = {}
    todo = [(0, len(arrays) - 1, False)]
    while todo:
        i, j, ready = todo.pop()
        if i == j:
            results[(i, j)] = arrays[i]
        elif ready:
            k = split[i][j]
            results[(i, j)] = _L.matmul(results.pop((i, k)), results.pop((k + 1, j)))
        else:
            k = split[i][j]
            todo += [(i, j, True), (i, k, False), (k + 1, j, False)]
    res = results[(0, len(arrays) - 1)]
    if first_1d and last_1d:
        return _S.reshape(res, ())
    if first_1d:
        return _S.reshape(res, (-1,))
    if last_1d:
        return _S.reshape(res, (-1,))
    return res


def tensorsolve(a, b, axes=None):
    """Solve ``tensordot(a, x, axes=x.ndim) = b`` for ``x`` (NumPy's ``linalg.tensorsolve``).

    >>> import numpy as np
    >>> tensorsolve(np.eye(4).reshape(2, 2, 2, 2), np.arange(4.0).reshape(2, 2)).shape
    (2, 2)
    """
    a, b = _as_operand(a), _as_operand(b)
    if not (isinstance(a, _Tracer) or isinstance(b, _Tracer)):
        return _np.linalg.tensorsolve(a, b, axes)
    an = a.ndim
    if axes is not None:
        allaxes = list(range(an))
        for k in axes:
            allaxes.remove(k % an)
            allaxes.insert(an, k % an)
        a = _S.transpose(a, allaxes)
    oldshape = tuple(a.shape[-(an - b.ndim):]) if an > b.ndim else ()
    prod = int(_np.prod(oldshape)) if oldshape else 1
    if int(_np.prod(a.shape)) != prod ** 2:
        raise LinAlgError(f"tensorsolve: input arrays must satisfy prod(a.shape[b.ndim:]) == "
                          f"prod(a.shape[:b.ndim]); got a of shape {_shape_of(a)} and b of shape {_shape_of(b)}")
    return _S.reshape(solve(_S.reshape(a, (prod, prod)), _S.ravel(b)), oldshape)


def tensorinv(a, ind=2):
    """The inverse of an N-d array with respect to ``tensordot(·, ·, ind)`` (NumPy's ``linalg.tensorinv``).

    >>> import numpy as np
    >>> tensorinv(np.eye(4).reshape(4, 2, 2), ind=1).shape
    (2, 2, 4)
    """
    a = _as_operand(a)
    if not isinstance(a, _Tracer):
        return _np.linalg.tensorinv(a, ind)
    if ind <= 0:
        raise ValueError(f"tensorinv: invalid ind argument {ind} (must be a positive integer)")
    oldshape = _shape_of(a)
    invshape = oldshape[ind:] + oldshape[:ind]
    prod = int(_np.prod(oldshape[ind:]))
    return _S.reshape(inv(_S.reshape(a, (prod, -1))), invshape)


def matrix_transpose(x, /):
    """Swap the last two axes (NumPy 2's ``linalg.matrix_transpose``).

    >>> import numpy as np
    >>> matrix_transpose(np.ones((3, 1, 2))).shape
    (3, 2, 1)
    """
    x = _as_operand(x)
    if len(_shape_of(x)) < 2:
        raise ValueError(f"matrix_transpose: input array must be at least 2-dimensional, got shape {_shape_of(x)}")
    return _S.swapaxes(x, -1, -2)


def vecdot(x1, x2, /, *, axis=-1):
    """Vector dot product over ``axis``, conjugating ``x1`` (NumPy 2's ``linalg.vecdot``).

    >>> import numpy as np
    >>> float(vecdot(np.array([1.0, 2.0]), np.array([3.0, 4.0])))
    11.0
    """
    x1, x2 = _as_operand(x1), _as_operand(x2)
    if not (isinstance(x1, _Tracer) or isinstance(x2, _Tracer)):
        return _np.linalg.vecdot(x1, x2, axis=axis)
    return _R.sum(_conj(x1) * x2, axis)


def __getattr__(name):
    try:
        return getattr(_np.linalg, name)
    except AttributeError:
        raise AttributeError(f"module 'chainrule.numpy.linalg' has no attribute {name!r} (nor does "
                             f"numpy.linalg)") from None
