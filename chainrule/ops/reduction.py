"""Reductions and scans: sum, prod, max/min, cumsum, cumprod as primitives; mean, var, std, logsumexp as
compositions; argmax/argmin/any/all as non-differentiable primitives.

Axis parameters are normalised to a sorted tuple of non-negative ints before binding.
"""
import numpy as np

from ..core.primitive import Primitive, def_linear, def_nondiff
from ..core.trace import Tracer, concrete
from ..interpreters.batching import move_to_front
from . import shape as S
from ._util import as_operand, normalize_axes, normalize_axis

__all__ = ["sum", "prod", "max", "min", "amax", "amin", "mean", "var", "std", "cumsum", "cumprod", "logsumexp",
           "argmax", "argmin", "any", "all", "count_nonzero"]

_builtin_sum = sum
_builtin_max = max


def _kept_shape(shape, axes):
    return tuple(1 if i in axes else d for i, d in enumerate(shape))


def _expand_back(g, x_shape, axes, keepdims):
    """A cotangent of a reduction, given back the rank of the input (size 1 on the reduced axes)."""
    if keepdims:
        return g
    return S.reshape(g, _kept_shape(x_shape, axes))


def _shift_batch(prim):
    bind = prim.bind

    def batch(size, vals, dims, axes, keepdims, **params):
        x = move_to_front(vals[0], dims[0])
        return bind(x, axes=tuple(a + 1 for a in axes), keepdims=keepdims, **params), 0

    prim.batch = batch
    return prim


# --- sum ----------------------------------------------------------------------------------------------------

sum_p = Primitive("sum", lambda x, axes, keepdims: np.sum(x, axis=axes, keepdims=keepdims))
def_linear(sum_p, lambda g, x, axes, keepdims: S.broadcast_to(_expand_back(g, x.shape, axes, keepdims), x.shape))
_shift_batch(sum_p)


def _prep(a, axis):
    a = as_operand(a)
    return a, normalize_axes(axis, len(a.shape) if hasattr(a, "shape") else 0)


def sum(a, axis=None, dtype=None, keepdims=False):  # noqa: A001 - NumPy's name
    """Sum of elements over ``axis`` (an int, a tuple, or None for all).

    >>> import numpy as np
    >>> sum(np.ones((2, 3)), axis=1)
    array([3., 3.])
    """
    a, axes = _prep(a, axis)
    if dtype is not None:
        from .elementwise import astype
        a = astype(a, dtype)
    return sum_p.bind(a, axes=axes, keepdims=bool(keepdims))


def mean(a, axis=None, dtype=None, keepdims=False):
    """Arithmetic mean over ``axis``.

    >>> import numpy as np
    >>> mean(np.array([1.0, 2.0, 6.0]))
    3.0
    """
    a, axes = _prep(a, axis)
    if dtype is None and not np.issubdtype(a.dtype, np.inexact):
        dtype = np.float64
    n = 1
    for ax in axes:
        n *= a.shape[ax]
    return sum(a, axes, dtype, keepdims) / n


def var(a, axis=None, dtype=None, ddof=0, keepdims=False):
    """Variance over ``axis`` with ``ddof`` delta degrees of freedom.

    >>> import numpy as np
    >>> float(var(np.array([1.0, 3.0]), ddof=1))
    2.0
    """
    a, axes = _prep(a, axis)
    if dtype is not None:
        from .elementwise import astype
        a = astype(a, dtype)
    n = 1
    for ax in axes:
        n *= a.shape[ax]
    centered = a - mean(a, axes, keepdims=True)
    if np.issubdtype(a.dtype, np.complexfloating):
        from .elementwise import imag, real
        re, im = real(centered), imag(centered)
        sq = re * re + im * im  # |centered| ** 2: the variance of complex values is real, as in NumPy
    else:
        sq = centered * centered
    return sum(sq, axes, keepdims=keepdims) / _builtin_max(n - ddof, 0)


def std(a, axis=None, dtype=None, ddof=0, keepdims=False):
    """Standard deviation over ``axis``.

    >>> import numpy as np
    >>> float(std(np.array([1.0, 3.0])))
    1.0
    """
    from .elementwise import sqrt
    return sqrt(var(a, axis, dtype, ddof, keepdims))


# --- prod ---------------------------------------------------------------------------------------------------

def _others_product(x, axes):
    """For each element, the product of the other elements of its reduction group (exact with zeros)."""
    nd = x.ndim
    rest = [i for i in range(nd) if i not in axes]
    xt = S.transpose(x, rest + list(axes))
    lead = xt.shape[:len(rest)]
    n = 1
    for ax in axes:
        n *= x.shape[ax]
    flat = S.reshape(xt, lead + (n,))
    ones = np.ones(lead + (1,), dtype=x.dtype)
    left = S.concatenate([ones, cumprod(flat[..., :-1], axis=-1)], axis=-1)
    rev = S.flip(flat, -1)
    right = S.flip(S.concatenate([ones, cumprod(rev[..., :-1], axis=-1)], axis=-1), -1)
    w = S.reshape(left * right, xt.shape)
    return S.transpose(w, tuple(np.argsort(rest + list(axes))))


prod_p = Primitive("prod", lambda x, axes, keepdims: np.prod(x, axis=axes, keepdims=keepdims))


def _prod_vjp(g, out, x, axes, keepdims):
    g = S.broadcast_to(_expand_back(g, x.shape, axes, keepdims), x.shape)
    return g * _others_product(x, axes)


def _prod_jvp(primals, tangents, axes, keepdims):
    x, = primals
    out = prod_p.bind(x, axes=axes, keepdims=keepdims)
    return out, sum(tangents[0] * _others_product(x, axes), axes, keepdims=keepdims)


prod_p.vjp = (_prod_vjp,)
prod_p.saves = 1  # inputs only
prod_p.jvp = _prod_jvp
_shift_batch(prod_p)


def prod(a, axis=None, dtype=None, keepdims=False):
    """Product of elements over ``axis``; the gradient is exact where elements are zero.

    >>> import numpy as np
    >>> prod(np.array([2.0, 3.0]))
    6.0
    """
    a, axes = _prep(a, axis)
    if dtype is not None:
        from .elementwise import astype
        a = astype(a, dtype)
    return prod_p.bind(a, axes=axes, keepdims=bool(keepdims))


# --- max / min ----------------------------------------------------------------------------------------------

def _extremum(name, impl):
    p = Primitive(name, lambda x, axes, keepdims: impl(x, axis=axes, keepdims=keepdims))

    def weights(x, out, axes, keepdims):
        # Ties share the derivative equally, so the weights of each group add up to one.
        from .elementwise import astype, equal
        hit = astype(equal(x, _expand_back(out, x.shape, axes, keepdims)), x.dtype)
        return hit / sum(hit, axes, keepdims=True)

    def vjp(g, out, x, axes, keepdims):
        g = S.broadcast_to(_expand_back(g, x.shape, axes, keepdims), x.shape)
        return g * weights(x, out, axes, keepdims)

    def jvp(primals, tangents, axes, keepdims):
        x, = primals
        out = p.bind(x, axes=axes, keepdims=keepdims)
        return out, sum(tangents[0] * weights(x, out, axes, keepdims), axes, keepdims=keepdims)

    p.vjp = (vjp,)
    p.jvp = jvp
    _shift_batch(p)
    return p


max_p = _extremum("max", np.max)
min_p = _extremum("min", np.min)


def max(a, axis=None, keepdims=False):  # noqa: A001 - NumPy's name
    """Maximum over ``axis``; tied maxima share the gradient equally.

    >>> import numpy as np
    >>> max(np.array([1.0, 5.0, 2.0]))
    5.0
    """
    a, axes = _prep(a, axis)
    _check_nonempty("max", a, axes)
    return max_p.bind(a, axes=axes, keepdims=bool(keepdims))


def min(a, axis=None, keepdims=False):  # noqa: A001 - NumPy's name
    """Minimum over ``axis``; tied minima share the gradient equally.

    >>> import numpy as np
    >>> min(np.array([1.0, 5.0, 2.0]))
    1.0
    """
    a, axes = _prep(a, axis)
    _check_nonempty("min", a, axes)
    return min_p.bind(a, axes=axes, keepdims=bool(keepdims))


def _check_nonempty(name, a, axes):
    for ax in axes:
        if a.shape[ax] == 0:
            raise ValueError(f"{name}: zero-size array (shape {tuple(a.shape)}) to reduction operation along axis "
                             f"{ax}, which has no identity")


amax = max
amin = min


# --- scans --------------------------------------------------------------------------------------------------

def _scan_batch(prim):
    bind = prim.bind
    prim.batch = lambda size, vals, dims, axis: (bind(move_to_front(vals[0], dims[0]), axis=axis + 1), 0)
    return prim


def _reverse_cumsum(g, axis):
    return S.flip(cumsum(S.flip(g, axis), axis), axis)


cumsum_p = Primitive("cumsum", lambda x, axis: np.cumsum(x, axis=axis))
def_linear(cumsum_p, lambda g, x, axis: _reverse_cumsum(g, axis))
_scan_batch(cumsum_p)


def cumsum(a, axis=None, dtype=None):
    """Cumulative sum along ``axis`` (over the flattened array when ``axis`` is None).

    >>> import numpy as np
    >>> cumsum(np.array([1.0, 2.0, 3.0]))
    array([1., 3., 6.])
    """
    return _scan(cumsum_p, a, axis, dtype)


def _scan(prim, a, axis, dtype):
    a = as_operand(a)
    if axis is None:
        a = S.ravel(a)
        axis = 0
    if dtype is not None:
        from .elementwise import astype
        a = astype(a, dtype)
    return prim.bind(a, axis=normalize_axis(axis, a.ndim))


cumprod_p = Primitive("cumprod", lambda x, axis: np.cumprod(x, axis=axis))


def _cumprod_partials(x, axis):
    """``C[..., i, j] = prod_{k <= j, k != i} x_k`` for ``j >= i`` and 0 otherwise (exact with zeros)."""
    from .elementwise import where
    xm = S.moveaxis(x, axis, -1)
    n = xm.shape[-1]
    eye = np.eye(n, dtype=bool)
    rows = where(eye, 1, S.expand_dims(xm, -2))
    return cumprod(rows, axis=-1) * np.triu(np.ones((n, n), dtype=x.dtype))


def _has_zero(x):
    return bool(np.any(concrete(x) == 0))


def _cumprod_vjp(g, out, x, axis):
    if not _has_zero(x):
        return _reverse_cumsum(g * out, axis) / x
    c = _cumprod_partials(x, axis)
    gm = S.expand_dims(S.moveaxis(g, axis, -1), -2)
    return S.moveaxis(sum(gm * c, -1), -1, axis)


def _cumprod_jvp(primals, tangents, axis):
    x, = primals
    t = tangents[0]
    out = cumprod_p.bind(x, axis=axis)
    if not _has_zero(x):
        return out, out * cumsum(t / x, axis)
    c = _cumprod_partials(x, axis)
    tm = S.expand_dims(S.moveaxis(t, axis, -1), -1)
    return out, S.moveaxis(sum(tm * c, -2), -1, axis)


cumprod_p.vjp = (_cumprod_vjp,)
cumprod_p.jvp = _cumprod_jvp
_scan_batch(cumprod_p)


def cumprod(a, axis=None, dtype=None):
    """Cumulative product along ``axis``; the gradient is exact where elements are zero.

    >>> import numpy as np
    >>> cumprod(np.array([1.0, 2.0, 3.0]))
    array([1., 2., 6.])
    """
    return _scan(cumprod_p, a, axis, dtype)


# --- logsumexp ----------------------------------------------------------------------------------------------

def logsumexp(a, axis=None, keepdims=False, b=None):
    """``log(sum(b * exp(a)))`` over ``axis``, computed stably.

    >>> import numpy as np
    >>> float(logsumexp(np.array([0.0, 0.0])))  # log 2
    0.6931471805599453
    """
    from .elementwise import exp, log, stop_gradient, where, isfinite
    a, axes = _prep(a, axis)
    m = stop_gradient(max(a, axes, keepdims=True))
    m = where(isfinite(m), m, 0)
    e = exp(a - m)
    if b is not None:
        e = e * b
    out = log(sum(e, axes, keepdims=True)) + m
    return out if keepdims else S.squeeze(out, axes)


# --- non-differentiable reductions --------------------------------------------------------------------------

def _arg_reduction(name, impl):
    p = def_nondiff(Primitive(name, lambda x, axis, keepdims: impl(x, axis=axis, keepdims=keepdims)))

    def batch(size, vals, dims, axis, keepdims):
        x = move_to_front(vals[0], dims[0])
        if axis is None:
            out = p.bind(S.reshape(x, (size, -1)), axis=1, keepdims=False)
            if keepdims:
                out = S.reshape(out, (size,) + (1,) * (vals[0].ndim - 1))
            return out, 0
        return p.bind(x, axis=axis + 1, keepdims=keepdims), 0

    p.batch = batch

    def face(a, axis=None, keepdims=False):
        a = as_operand(a)
        if axis is not None:
            axis = normalize_axis(axis, a.ndim)
        return p.bind(a, axis=axis, keepdims=bool(keepdims))

    face.__name__ = name
    face.__doc__ = (f"Indices of the {name[3:]}imum values along ``axis`` (not differentiable).\n\n"
                    f">>> import numpy as np\n>>> int({name}(np.array([3.0, 7.0, 1.0])))\n"
                    f"{int(getattr(np, name)(np.array([3.0, 7.0, 1.0])))}\n")
    return p, face


argmax_p, argmax = _arg_reduction("argmax", np.argmax)
argmin_p, argmin = _arg_reduction("argmin", np.argmin)


def _bool_reduction(name, impl):
    p = def_nondiff(Primitive(name, lambda x, axes, keepdims: impl(x, axis=axes, keepdims=keepdims)))
    _shift_batch(p)

    def face(a, axis=None, keepdims=False):
        a, axes = _prep(a, axis)
        return p.bind(a, axes=axes, keepdims=bool(keepdims))

    face.__name__ = name
    face.__doc__ = (f"Whether {name} elements along ``axis`` are true (not differentiable).\n\n"
                    f">>> import numpy as np\n>>> bool({name}(np.array([True, False])))\n"
                    f"{bool(getattr(np, name)(np.array([True, False])))}\n")
    return p, face


any_p, any = _bool_reduction("any", np.any)  # noqa: A001
all_p, all = _bool_reduction("all", np.all)  # noqa: A001


def count_nonzero(a, axis=None, keepdims=False):
    """Number of non-zero elements along ``axis`` (not differentiable)."""
    from .elementwise import not_equal
    return sum(not_equal(a, 0), axis, dtype=np.int64, keepdims=keepdims)
