"""Linear algebra: ``matmul`` is the primitive; dot, tensordot, inner, outer, vdot, trace, diagonal, diag and
einsum are built on it and on the shape/indexing primitives.
"""
import numpy as np

from ..core.primitive import Primitive
from ..core.trace import Tracer
from ..interpreters.batching import move_to_front
from . import shape as S
from ._util import as_operand, normalize_axis

__all__ = ["matmul", "dot", "tensordot", "inner", "outer", "vdot", "trace", "diagonal", "diag"]


def _swap(x):
    return S.swapaxes(x, -1, -2)


matmul_p = Primitive("matmul", np.matmul)


def _matmul_jvp(primals, tangents):
    a, b = primals
    ta, tb = tangents
    out = matmul_p.bind(a, b)
    t = None
    if ta is not None:
        t = matmul(ta, b)
    if tb is not None:
        tb = matmul(a, tb)
        t = tb if t is None else t + tb
    return out, t


def _unbroadcast_batch(ct, shape):
    """Sum a matmul cotangent over batch axes that its operand (untraced-broadcast by NumPy) does not have."""
    if tuple(ct.shape) == tuple(shape):
        return ct
    from .reduction import sum as sum_
    lead = len(ct.shape) - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, d in enumerate(shape[:-2]) if d == 1 and ct.shape[lead + i] != 1)
    return S.reshape(sum_(ct, axis=axes, keepdims=True), shape) if axes else ct


matmul_p.jvp = _matmul_jvp
matmul_p.vjp = (lambda g, out, a, b: _unbroadcast_batch(matmul(g, _swap(b)), a.shape),
                lambda g, out, a, b: _unbroadcast_batch(matmul(_swap(a), g), b.shape))


def _matmul_batch(size, vals, dims):
    a, b = vals
    da, db = dims
    a = move_to_front(a, da) if da is not None else a
    b = move_to_front(b, db) if db is not None else b
    # Unmapped operands line up from the right; a mapped operand of lower logical rank than the other needs
    # explicit singleton axes after its batch axis so the batch axis is not matched against core dims.
    ra = a.ndim - (da is not None)
    rb = b.ndim - (db is not None)
    r = max(ra, rb)
    if da is not None and ra < r:
        a = S.reshape(a, (size,) + (1,) * (r - ra) + tuple(a.shape[1:]))
    if db is not None and rb < r:
        b = S.reshape(b, (size,) + (1,) * (r - rb) + tuple(b.shape[1:]))
    if da is None:
        a = S.reshape(a, (1,) * (r - ra + 1) + tuple(a.shape)) if a.ndim <= r else a
    if db is None:
        b = S.reshape(b, (1,) * (r - rb + 1) + tuple(b.shape)) if b.ndim <= r else b
    return matmul_p.bind(a, b), 0


matmul_p.batch = _matmul_batch


def matmul(a, b):
    """Matrix product with NumPy's rules (1-D operands promoted, batch dimensions broadcast).

    >>> import numpy as np
    >>> matmul(np.ones((2, 3)), np.ones(3))
    array([3., 3.])
    """
    a, b = as_operand(a), as_operand(b)
    if not (isinstance(a, Tracer) or isinstance(b, Tracer)):
        return np.matmul(a, b)
    from .elementwise import astype
    sa, sb = tuple(a.shape), tuple(b.shape)
    if not sa or not sb:
        raise ValueError(f"matmul: input operand does not have enough dimensions (shapes {sa} and {sb}); "
                         f"use multiply for scalars")
    if sa[-1] != (sb[0] if len(sb) == 1 else sb[-2]):
        raise ValueError(f"matmul: shapes {sa} and {sb} are not aligned: {sa[-1]} (last dim of the first) != "
                         f"{sb[0] if len(sb) == 1 else sb[-2]} ({'only' if len(sb) == 1 else 'second-to-last'} "
                         f"dim of the second)")
    squeeze = []
    if len(sa) == 1:
        a = S.reshape(a, (1,) + sa)
        squeeze.append(-2)
    if len(sb) == 1:
        b = S.reshape(b, sb + (1,))
        squeeze.append(-1)
    try:
        batch = np.broadcast_shapes(tuple(a.shape[:-2]), tuple(b.shape[:-2]))
    except ValueError:
        raise ValueError(f"matmul: batch dimensions of shapes {sa} and {sb} cannot be broadcast together") from None
    dtype = np.result_type(a.dtype, b.dtype)
    if isinstance(a, Tracer):
        a = astype(a, dtype)
        if tuple(a.shape[:-2]) != batch:
            a = S.broadcast_to(a, batch + tuple(a.shape[-2:]))
    if isinstance(b, Tracer):
        b = astype(b, dtype)
        if tuple(b.shape[:-2]) != batch:
            b = S.broadcast_to(b, batch + tuple(b.shape[-2:]))
    out = matmul_p.bind(a, b)
    if squeeze:
        out = S.squeeze(out, tuple(out.ndim + s for s in squeeze))
    return out


def tensordot(a, b, axes=2):
    """Sum of products over the given axes of ``a`` and ``b`` (NumPy's ``tensordot``), via one matmul.

    >>> import numpy as np
    >>> tensordot(np.ones((2, 3)), np.ones((3, 4)), axes=1).shape
    (2, 4)
    """
    a, b = as_operand(a), as_operand(b)
    if not (isinstance(a, Tracer) or isinstance(b, Tracer)):
        return np.tensordot(a, b, axes)
    if isinstance(axes, (int, np.integer)):
        n = int(axes)
        ax_a = list(range(a.ndim - n, a.ndim))
        ax_b = list(range(n))
    else:
        ax_a, ax_b = axes
        ax_a = [ax_a] if isinstance(ax_a, (int, np.integer)) else list(ax_a)
        ax_b = [ax_b] if isinstance(ax_b, (int, np.integer)) else list(ax_b)
    ax_a = [normalize_axis(x, a.ndim) for x in ax_a]
    ax_b = [normalize_axis(x, b.ndim) for x in ax_b]
    if len(ax_a) != len(ax_b) or any(a.shape[i] != b.shape[j] for i, j in zip(ax_a, ax_b)):
        raise ValueError(f"tensordot: shape-mismatch for sum: shapes {tuple(a.shape)} and {tuple(b.shape)} with "
                         f"axes {ax_a} and {ax_b}")
    free_a = [i for i in range(a.ndim) if i not in ax_a]
    free_b = [i for i in range(b.ndim) if i not in ax_b]
    k = 1
    for i in ax_a:
        k *= a.shape[i]
    ma = S.reshape(S.transpose(a, free_a + ax_a), (-1, k))
    mb = S.reshape(S.transpose(b, ax_b + free_b), (k, -1))
    out_shape = tuple(a.shape[i] for i in free_a) + tuple(b.shape[i] for i in free_b)
    return S.reshape(matmul(ma, mb), out_shape)


def dot(a, b):
    """NumPy's ``dot``: scalar product, matrix product, or sum over the last axis of ``a`` and the second-to-last
    of ``b``.

    >>> import numpy as np
    >>> dot(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    11.0
    """
    a, b = as_operand(a), as_operand(b)
    if not (isinstance(a, Tracer) or isinstance(b, Tracer)):
        return np.dot(a, b)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if b.ndim <= 2 and a.ndim <= 2:
        return matmul(a, b)
    return tensordot(a, b, axes=([a.ndim - 1], [max(b.ndim - 2, 0)]))


def inner(a, b):
    """Sum of products over the last axes of ``a`` and ``b``.

    >>> import numpy as np
    >>> inner(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    11.0
    """
    a, b = as_operand(a), as_operand(b)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    return tensordot(a, b, axes=([a.ndim - 1], [b.ndim - 1]))


def outer(a, b):
    """Outer product of two vectors (inputs are flattened).

    >>> import numpy as np
    >>> outer(np.array([1.0, 2.0]), np.array([1.0, 0.0, 1.0])).shape
    (2, 3)
    """
    return S.expand_dims(S.ravel(a), 1) * S.expand_dims(S.ravel(b), 0)


def vdot(a, b):
    """Dot product of the flattened inputs (the first conjugated when complex).

    >>> import numpy as np
    >>> vdot(np.ones((2, 2)), np.ones((2, 2)))
    4.0
    """
    from .reduction import sum as sum_
    a, b = S.ravel(a), S.ravel(b)
    if np.issubdtype(a.dtype, np.complexfloating):
        raise NotImplementedError("vdot of complex arrays is not supported yet")
    return sum_(a * b)


def diagonal(a, offset=0, axis1=0, axis2=1):
    """The given diagonal of ``a`` (as a new last axis, like NumPy).

    >>> import numpy as np
    >>> diagonal(np.arange(4.0).reshape(2, 2))
    array([0., 3.])
    """
    a = as_operand(a)
    if not isinstance(a, Tracer):
        return np.diagonal(a, offset, axis1, axis2)
    if a.ndim < 2:
        raise ValueError(f"diagonal: requires an array of at least two dimensions, got shape {tuple(a.shape)}")
    axis1, axis2 = normalize_axis(axis1, a.ndim), normalize_axis(axis2, a.ndim)
    if axis1 == axis2:
        raise ValueError("diagonal: axis1 and axis2 cannot be the same")
    x = S.moveaxis(a, (axis1, axis2), (-2, -1))
    n1, n2 = x.shape[-2], x.shape[-1]
    if offset >= 0:
        k = max(0, min(n1, n2 - offset))
        rows, cols = np.arange(k), np.arange(k) + offset
    else:
        k = max(0, min(n1 + offset, n2))
        rows, cols = np.arange(k) - offset, np.arange(k)
    return x[..., rows, cols]


def trace(a, offset=0, axis1=0, axis2=1):
    """Sum along the given diagonal.

    >>> import numpy as np
    >>> trace(np.eye(3))
    3.0
    """
    from .reduction import sum as sum_
    return sum_(diagonal(a, offset, axis1, axis2), axis=-1)


def diag(v, k=0):
    """The ``k``-th diagonal of a 2-D ``v``, or a 2-D array with 1-D ``v`` on its ``k``-th diagonal.

    >>> import numpy as np
    >>> diag(np.array([1.0, 2.0]))
    array([[1., 0.],
           [0., 2.]])
    """
    from .indexing import index_update
    v = as_operand(v)
    if v.ndim == 2:
        return diagonal(v, k)
    if v.ndim != 1:
        raise ValueError(f"diag: input must be 1-d or 2-d, got shape {tuple(v.shape)}")
    n = v.shape[0] + abs(k)
    idx = np.arange(v.shape[0])
    rows, cols = (idx, idx + k) if k >= 0 else (idx - k, idx)
    return index_update(np.zeros((n, n), dtype=v.dtype), (rows, cols), v)
