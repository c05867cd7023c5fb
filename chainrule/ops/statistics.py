"""Statistics: weighted averages, NaN-aware reductions, cumulative sums and products, covariance.

See ``chainrule.ops.extra`` for the invariant these compositions keep.
"""
import numpy as np

from . import elementwise as E
from . import linalg as L
from . import reduction as R
from . import shape as S
from ._util import as_operand, dtype_of, normalize_axis, shape_of
from .extra import _NoValue, _float, _size, _static, _traced, make_exporter

__all__ = []
_export = make_exporter(__all__)


# ---------------------------------------------------------------------------------------------------------
# Statistics: average, NaN-aware reductions, cov, corrcoef
# ---------------------------------------------------------------------------------------------------------

@_export
def average(a, axis=None, weights=None, returned=False, *, keepdims=False):
    """Weighted average along ``axis``; differentiable in ``a`` and in ``weights``. With ``returned``, also the
    sum of the weights.

    >>> float(average(np.array([1.0, 3.0]), weights=np.array([3.0, 1.0])))
    1.5
    """
    if not _traced(a, weights):
        kw = {} if keepdims is False else {"keepdims": keepdims}
        return np.average(a, axis=axis, weights=weights, returned=returned, **kw)
    a = _float(a)
    nd = a.ndim
    if weights is None:
        avg = R.mean(a, axis, keepdims=keepdims)
        scl = np.asarray(_size(a.shape) / _size(shape_of(avg)), dtype=dtype_of(avg))
        scl = S.broadcast_to(scl, shape_of(avg))
    else:
        w = as_operand(weights)
        if shape_of(w) != tuple(a.shape):
            if axis is None:
                raise TypeError("average: axis must be specified when the shapes of a and weights differ")
            if isinstance(axis, (tuple, list)):
                raise TypeError("average: a single axis must be specified when the shapes of a and weights differ")
            if w.ndim != 1 or w.shape[0] != a.shape[normalize_axis(axis, nd)]:
                raise ValueError(f"average: weights of shape {shape_of(w)} differ from a's shape {tuple(a.shape)} "
                                 f"and do not match its length along axis {axis}")
            ax = normalize_axis(axis, nd)
            w = S.reshape(w, tuple(-1 if i == ax else 1 for i in range(nd)))
        scl = R.sum(S.broadcast_to(w, a.shape) if shape_of(w) != tuple(a.shape) else w, axis, keepdims=keepdims)
        avg = R.sum(a * w, axis, keepdims=keepdims) / scl
    if returned:
        if shape_of(scl) != shape_of(avg):
            scl = S.broadcast_to(scl, shape_of(avg))
        return avg, scl
    return avg


def _nan_filled(a, value):
    a = as_operand(a)
    if not np.issubdtype(dtype_of(a), np.inexact):
        return a, None
    nan = E.isnan(a)
    return E.where(nan, value, a), nan


@_export
def nansum(a, axis=None, dtype=None, out=None, keepdims=False, initial=_NoValue, where=_NoValue):
    """Sum treating NaNs as zero; NaN entries get a zero gradient.

    >>> float(nansum(np.array([1.0, np.nan, 2.0])))
    3.0
    """
    if not _traced(a):
        return np.nansum(a, axis=axis, dtype=dtype, out=out, keepdims=keepdims, initial=initial, where=where)
    return R.sum(_nan_filled(a, 0)[0], axis, dtype, keepdims)


@_export
def nanprod(a, axis=None, dtype=None, out=None, keepdims=False, initial=_NoValue, where=_NoValue):
    """Product treating NaNs as one.

    >>> float(nanprod(np.array([2.0, np.nan, 3.0])))
    6.0
    """
    if not _traced(a):
        return np.nanprod(a, axis=axis, dtype=dtype, out=out, keepdims=keepdims, initial=initial, where=where)
    return R.prod(_nan_filled(a, 1)[0], axis, dtype, keepdims)


def _nan_count(nan, axis, keepdims, dtype):
    return R.sum(E.logical_not(nan), axis, dtype=dtype, keepdims=keepdims)


@_export
def nanmean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=_NoValue):
    """Mean of the non-NaN entries.

    >>> float(nanmean(np.array([1.0, np.nan, 3.0])))
    2.0
    """
    if not _traced(a):
        return np.nanmean(a, axis=axis, dtype=dtype, out=out, keepdims=keepdims, where=where)
    a = _float(a)
    filled, nan = _nan_filled(a, 0)
    total = R.sum(filled, axis, dtype, keepdims)
    return total / _nan_count(nan, axis, keepdims, dtype_of(total).type(0).real.dtype)


@_export
def nanvar(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=_NoValue, mean=_NoValue,
           correction=_NoValue):
    """Variance of the non-NaN entries (``ddof`` delta degrees of freedom); real for complex input.

    >>> float(nanvar(np.array([1.0, np.nan, 3.0])))
    1.0
    """
    if not _traced(a):
        return np.nanvar(a, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims, where=where, mean=mean,
                         correction=correction)
    if correction is not _NoValue:
        ddof = correction
    a = _float(a)
    if dtype is not None:
        a = E.astype(a, dtype)
    filled, nan = _nan_filled(a, 0)
    rdt = np.empty((), dtype_of(a)).real.dtype
    count = _nan_count(nan, axis, True, rdt)
    centered = E.where(nan, 0, a - R.sum(filled, axis, keepdims=True) / count)
    sq = E.real(centered) ** 2 + E.imag(centered) ** 2 if np.issubdtype(dtype_of(a), np.complexfloating) \
        else centered * centered
    n = _nan_count(nan, axis, keepdims, rdt)
    return R.sum(sq, axis, keepdims=keepdims) / E.maximum(n - ddof, 0)


@_export
def nanstd(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=_NoValue, mean=_NoValue,
           correction=_NoValue):
    """Standard deviation of the non-NaN entries.

    >>> float(nanstd(np.array([1.0, np.nan, 3.0])))
    1.0
    """
    if not _traced(a):
        return np.nanstd(a, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims, where=where, mean=mean,
                         correction=correction)
    return E.sqrt(nanvar(a, axis, dtype, None, ddof, keepdims, correction=correction))


def _nan_extremum(reduce, fill, a, axis, keepdims):
    filled, nan = _nan_filled(a, fill)
    m = reduce(filled, axis, keepdims)
    if nan is None:
        return m
    return E.where(R.all(nan, axis, keepdims), np.nan, m)


@_export
def nanmax(a, axis=None, out=None, keepdims=False, initial=_NoValue, where=_NoValue):
    """Maximum ignoring NaNs (NaN where a slice is all NaN).

    >>> float(nanmax(np.array([1.0, np.nan, 3.0])))
    3.0
    """
    if not _traced(a):
        return np.nanmax(a, axis=axis, out=out, keepdims=keepdims, initial=initial, where=where)
    return _nan_extremum(R.max, -np.inf, a, axis, keepdims)


@_export
def nanmin(a, axis=None, out=None, keepdims=False, initial=_NoValue, where=_NoValue):
    """Minimum ignoring NaNs (NaN where a slice is all NaN).

    >>> float(nanmin(np.array([1.0, np.nan, 3.0])))
    1.0
    """
    if not _traced(a):
        return np.nanmin(a, axis=axis, out=out, keepdims=keepdims, initial=initial, where=where)
    return _nan_extremum(R.min, np.inf, a, axis, keepdims)


@_export
def nancumsum(a, axis=None, dtype=None, out=None):
    """Cumulative sum treating NaNs as zero.

    >>> nancumsum(np.array([1.0, np.nan, 2.0]))
    array([1., 1., 3.])
    """
    if not _traced(a):
        return np.nancumsum(a, axis=axis, dtype=dtype, out=out)
    return R.cumsum(_nan_filled(a, 0)[0], axis, dtype)


@_export
def nancumprod(a, axis=None, dtype=None, out=None):
    """Cumulative product treating NaNs as one.

    >>> nancumprod(np.array([2.0, np.nan, 3.0]))
    array([2., 2., 6.])
    """
    if not _traced(a):
        return np.nancumprod(a, axis=axis, dtype=dtype, out=out)
    return R.cumprod(_nan_filled(a, 1)[0], axis, dtype)


def _cumulative(scan, identity, x, axis, dtype, include_initial, name):
    x = as_operand(x)
    if axis is None:
        if x.ndim != 1:
            raise ValueError(f"{name}: axis must be specified for an array of {x.ndim} dimensions")
        axis = 0
    axis = normalize_axis(axis, x.ndim)
    out = scan(x, axis, dtype)
    if include_initial:
        shape = list(out.shape)
        shape[axis] = 1
        out = S.concatenate([np.full(shape, identity, dtype_of(out)), out], axis=axis)
    return out


@_export
def cumulative_sum(x, /, *, axis=None, dtype=None, out=None, include_initial=False):
    """Cumulative sum along ``axis`` (NumPy 2's array-API form; ``include_initial`` prepends a zero).

    >>> cumulative_sum(np.array([1.0, 2.0]), include_initial=True)
    array([0., 1., 3.])
    """
    if not _traced(x):
        return np.cumulative_sum(x, axis=axis, dtype=dtype, out=out, include_initial=include_initial)
    return _cumulative(R.cumsum, 0, x, axis, dtype, include_initial, "cumulative_sum")


@_export
def cumulative_prod(x, /, *, axis=None, dtype=None, out=None, include_initial=False):
    """Cumulative product along ``axis`` (``include_initial`` prepends a one).

    >>> cumulative_prod(np.array([2.0, 3.0]), include_initial=True)
    array([1., 2., 6.])
    """
    if not _traced(x):
        return np.cumulative_prod(x, axis=axis, dtype=dtype, out=out, include_initial=include_initial)
    return _cumulative(R.cumprod, 1, x, axis, dtype, include_initial, "cumulative_prod")


@_export
def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None, *, dtype=None):
    """Covariance matrix of the variables in the rows (``rowvar``) or columns of ``m``; frequency and
    analytic weights are constants.

    >>> cov(np.array([[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]]))
    array([[ 1., -1.],
           [-1.,  1.]])
    """
    if not _traced(m, y):
        return np.cov(m, y, rowvar, bias, ddof, fweights, aweights, dtype=dtype)
    m = as_operand(m)
    if m.ndim > 2:
        raise ValueError(f"cov: m has more than 2 dimensions (shape {tuple(m.shape)})")
    dt = np.result_type(dtype_of(m), np.float64) if dtype is None else np.dtype(dtype)
    if y is not None:
        dt = np.result_type(dt, dtype_of(as_operand(y)))
    X = E.astype(S.atleast_2d(m), dt)
    if not rowvar and X.shape[0] != 1:
        X = S.transpose(X)
    if X.shape[0] == 0:
        return np.array([]).reshape(0, 0)
    if y is not None:
        Y = E.astype(S.atleast_2d(as_operand(y)), dt)
        if not rowvar and Y.shape[0] != 1:
            Y = S.transpose(Y)
        X = S.concatenate([X, Y], axis=0)
    if ddof is None:
        ddof = 0 if bias else 1
    w = None
    if fweights is not None:
        w = np.asarray(_static(fweights, "cov", "fweights"), dtype=float)
    if aweights is not None:
        aw = np.asarray(_static(aweights, "cov", "aweights"), dtype=float)
        w = aw if w is None else w * aw
    n = X.shape[1]
    if w is None:
        avg = R.mean(X, axis=1)
        fact = n - ddof
    else:
        w_sum = w.sum()
        avg = R.sum(X * w, axis=1) / w_sum
        if ddof == 0:
            fact = w_sum
        elif aweights is None:
            fact = w_sum - ddof
        else:
            fact = w_sum - ddof * np.sum(w * aw) / w_sum
    fact = max(float(fact), 0.0)
    X = X - S.expand_dims(avg, 1)
    XT = S.transpose(X if w is None else X * w)
    c = L.matmul(X, E.conjugate(XT)) / fact
    return S.squeeze(c)


@_export
def corrcoef(x, y=None, rowvar=True, *, dtype=None):
    """Pearson correlation coefficients of the variables in ``x`` (and ``y``); see ``cov``.

    >>> corrcoef(np.array([[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]]))
    array([[ 1., -1.],
           [-1.,  1.]])
    """
    if not _traced(x, y):
        return np.corrcoef(x, y, rowvar, dtype=dtype)
    c = cov(x, y, rowvar, dtype=dtype)
    if c.ndim == 0:
        return c / c
    d = L.diagonal(c)
    sd = E.sqrt(E.real(d))
    c = c / S.expand_dims(sd, 1) / S.expand_dims(sd, 0)
    if np.issubdtype(dtype_of(c), np.complexfloating):
        return E.clip(E.real(c), -1, 1) + E.clip(E.imag(c), -1, 1) * 1j
    return E.clip(c, -1, 1)
