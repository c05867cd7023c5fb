"""Sorting, order statistics, unique values, set operations and histograms.

See ``chainrule.ops.extra`` for the invariant these compositions keep.
"""
import numpy as np

from ..core.trace import Tracer, concrete
from . import elementwise as E
from . import indexing as I
from . import reduction as R
from . import shape as S
from ._util import as_operand, dtype_of, normalize_axes, normalize_axis, shape_of
from .extra import _batched, _float, _op, _static, _traced, make_exporter
from .nondiff import argpartition, argsort

__all__ = []
_export = make_exporter(__all__)


# ---------------------------------------------------------------------------------------------------------
# Sorting and order statistics
# ---------------------------------------------------------------------------------------------------------

@_export
def take_along_axis(arr, indices, axis=-1):
    """Elements of ``arr`` at ``indices`` along ``axis`` (NumPy's ``take_along_axis``); differentiable in
    ``arr``, and ``indices`` may be batched under ``vmap``.

    >>> x = np.array([[10.0, 30.0, 20.0]])
    >>> take_along_axis(x, np.array([[2, 0]]), axis=1)
    array([[20., 10.]])
    """
    arr = as_operand(arr)
    if not _traced(arr, indices):
        return np.take_along_axis(arr, np.asarray(indices), axis)
    if axis is None:
        arr, axis = S.ravel(arr), 0
    nd = arr.ndim
    if len(shape_of(as_operand(indices))) != nd:
        raise ValueError(f"take_along_axis: `indices` (shape {shape_of(as_operand(indices))}) and `arr` (shape "
                         f"{tuple(arr.shape)}) must have the same number of dimensions")
    axis = normalize_axis(axis, nd)
    idx = tuple(indices if d == axis else np.arange(arr.shape[d]).reshape([-1 if k == d else 1 for k in range(nd)])
                for d in range(nd))
    return I.getitem(arr, idx)


@_export
def sort(a, axis=-1, kind=None, order=None, *, stable=None):
    """``a`` sorted along ``axis`` (flattened when ``axis`` is None); the gradient flows back through the sorting
    permutation.

    >>> import chainrule as cr
    >>> cr.grad(lambda x: sort(x)[0] * 10 + sort(x)[-1])(np.array([3.0, 1.0, 2.0]))
    array([ 1., 10.,  0.])
    """
    a = as_operand(a)
    if not _traced(a):
        return np.sort(a, axis=axis, kind=kind, order=order, stable=stable)
    if order is not None:
        raise NotImplementedError("sort: the `order` argument (structured arrays) is not supported for traced values")
    if axis is None:
        a, axis = S.ravel(a), -1
    return take_along_axis(a, argsort(a, axis=axis, kind="stable"), axis)


@_export
def msort(a):
    """``a`` sorted along its first axis (the ``numpy.msort`` of NumPy 1.x, kept for HIPS-autograd programs).

    >>> msort(np.array([[2.0], [1.0]]))
    array([[1.],
           [2.]])
    """
    return sort(a, axis=0)


@_export
def sort_complex(a):
    """``a`` sorted by real part, then imaginary part, as a complex array.

    >>> sort_complex(np.array([2.0, 1.0]))
    array([1.+0.j, 2.+0.j])
    """
    a = as_operand(a)
    if not _traced(a):
        return np.sort_complex(a)
    out = sort(a)
    dt = np.result_type(dtype_of(out), np.complex64)
    return E.astype(out, dt)


@_export
def partition(a, kth, axis=-1, kind="introselect", order=None):
    """``a`` rearranged so that the element at each ``kth`` position is the one a full sort would put there,
    smaller ones before it and larger ones after; differentiable through that permutation.

    >>> float(partition(np.array([3.0, 1.0, 2.0]), 1)[1])
    2.0
    """
    a = as_operand(a)
    if not _traced(a):
        return np.partition(a, kth, axis=axis, kind=kind, order=order)
    if axis is None:
        a, axis = S.ravel(a), -1
    return take_along_axis(a, argpartition(a, kth, axis=axis), axis)


def _check_real(a, name):
    if np.issubdtype(dtype_of(a), np.complexfloating):
        raise TypeError(f"{name}: a must be an array of real numbers (got dtype {dtype_of(a)}), as in NumPy")


def _move_to_last(a, axis):
    """``a`` with the axes in ``axis`` (None for all) merged into one last axis: ``(x, rest_shape, axes)``."""
    nd = a.ndim
    axes = normalize_axes(axis, nd)
    rest = [i for i in range(nd) if i not in axes]
    x = S.transpose(a, rest + list(axes))
    rest_shape = tuple(a.shape[i] for i in rest)
    return S.reshape(x, rest_shape + (-1,)), rest_shape, axes


@_export
def quantile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False, *, weights=None,
             interpolation=None):
    """The ``q``-th quantiles of ``a`` along ``axis`` (``q`` in [0, 1], a constant); differentiable in ``a``.
    Methods 'linear' (the default), 'lower', 'higher', 'nearest' and 'midpoint' are supported for traced values.

    >>> float(quantile(np.array([1.0, 2.0, 3.0, 4.0]), 0.5))
    2.5
    """
    a = as_operand(a)
    if not _traced(a):
        kw = {} if weights is None else {"weights": weights}
        return np.quantile(a, q, axis=axis, out=out, overwrite_input=overwrite_input, method=method,
                           keepdims=keepdims, **kw)
    if interpolation is not None:
        method = interpolation
    if weights is not None or method not in ("linear", "lower", "higher", "nearest", "midpoint"):
        raise NotImplementedError(f"quantile: method={method!r}" + (" with weights" if weights is not None else "")
                                  + " is not supported for traced values; use method='linear', 'lower', 'higher', "
                                  "'nearest' or 'midpoint'")
    if out is not None:
        raise TypeError("quantile: the out= argument cannot take a traced value (chainrule arrays are immutable)")
    q = np.asarray(_static(q, "quantile", "q"), dtype=np.float64)
    _check_real(a, "quantile")
    if np.any((q < 0) | (q > 1)):
        raise ValueError("quantile: quantiles must be in the range [0, 1]")
    a = _float(a)
    nd = a.ndim
    x, rest, axes = _move_to_last(a, axis)
    n = x.shape[-1]
    if n == 0:
        raise ValueError(f"quantile: cannot take a quantile of an empty axis (shape {tuple(a.shape)})")
    s = sort(x, axis=-1)
    pos = q * (n - 1)
    lo = np.floor(pos).astype(np.intp)
    hi = np.minimum(lo + 1, n - 1)
    if method == "lower":
        res = s[..., lo]
    elif method == "higher":
        res = s[..., np.ceil(pos).astype(np.intp)]
    elif method == "nearest":
        res = s[..., np.around(pos).astype(np.intp)]
    elif method == "midpoint":
        res = (s[..., lo] + s[..., np.ceil(pos).astype(np.intp)]) * 0.5
    else:
        w = (pos - lo).astype(dtype_of(s).type(0).real.dtype)
        slo, shi = s[..., lo], s[..., hi]
        res = slo + (shi - slo) * w
    k = q.ndim
    if k:
        res = S.moveaxis(res, tuple(range(len(rest), len(rest) + k)), tuple(range(k)))
    if keepdims:
        res = S.reshape(res, q.shape + tuple(1 if i in axes else a.shape[i] for i in range(nd)))
    return res


@_export
def percentile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False, *, weights=None,
               interpolation=None):
    """The ``q``-th percentiles of ``a`` (``q`` in [0, 100]); see ``quantile``.

    >>> float(percentile(np.array([1.0, 2.0, 3.0]), 50))
    2.0
    """
    if not _traced(a):
        kw = {} if weights is None else {"weights": weights}
        return np.percentile(a, q, axis=axis, out=out, overwrite_input=overwrite_input, method=method,
                             keepdims=keepdims, **kw)
    return quantile(a, np.asarray(_static(q, "percentile", "q"), dtype=np.float64) / 100.0, axis, out,
                    overwrite_input, method,
                    keepdims, weights=weights, interpolation=interpolation)


@_export
def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """The median along ``axis``; with an even count, the mean of the two middle values.

    >>> float(median(np.array([3.0, 1.0, 4.0, 2.0])))
    2.5
    """
    if not _traced(a):
        return np.median(a, axis=axis, out=out, overwrite_input=overwrite_input, keepdims=keepdims)
    a = as_operand(a)
    if not np.issubdtype(dtype_of(a), np.complexfloating):
        return quantile(a, 0.5, axis=axis, out=out, keepdims=keepdims)
    # NumPy's median of complex values: the mean of the middle element(s) in lexicographic order.
    x, rest, axes = _move_to_last(a, axis)
    n = x.shape[-1]
    s = sort(x, axis=-1)
    res = (s[..., (n - 1) // 2] + s[..., n // 2]) * 0.5
    if keepdims:
        res = S.reshape(res, tuple(1 if i in axes else a.shape[i] for i in range(a.ndim)))
    return res


@_export
def ptp(a, axis=None, out=None, keepdims=False):
    """Range (maximum minus minimum) along ``axis``.

    >>> float(ptp(np.array([3.0, 1.0, 4.0])))
    3.0
    """
    if not _traced(a):
        return np.ptp(a, axis=axis, out=out, keepdims=keepdims)
    return R.max(a, axis, keepdims) - R.min(a, axis, keepdims)


@_export
def nanquantile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False, *, weights=None,
                interpolation=None):
    """``quantile`` ignoring NaNs (NaN for an all-NaN slice); method 'linear' for traced values. The count of
    valid entries may differ between slices (and between the elements of a ``vmap`` batch).

    >>> float(nanquantile(np.array([1.0, np.nan, 3.0, 2.0]), 0.5))
    2.0
    """
    if not _traced(a):
        kw = {} if weights is None else {"weights": weights}
        return np.nanquantile(a, q, axis=axis, out=out, overwrite_input=overwrite_input, method=method,
                              keepdims=keepdims, **kw)
    if interpolation is not None:
        method = interpolation
    if weights is not None or method != "linear":
        raise NotImplementedError(f"nanquantile: method={method!r}" + (" with weights" if weights is not None else "")
                                  + " is not supported for traced values; use method='linear'")
    q = np.asarray(_static(q, "nanquantile", "q"), dtype=np.float64)
    a = _float(a)
    _check_real(a, "nanquantile")
    if np.any((q < 0) | (q > 1)):
        raise ValueError("nanquantile: quantiles must be in the range [0, 1]")
    nd = a.ndim
    x, rest, axes = _move_to_last(a, axis)
    s = sort(x, axis=-1)  # NaNs sort last
    count = R.sum(E.logical_not(E.isnan(x)), -1, keepdims=True)                  # rest + (1,)
    k = q.ndim
    last = S.reshape(E.maximum(count - 1, 0), tuple(rest) + (1,) * k)
    pos = E.stop_gradient(E.astype(last, dtype_of(s)) * q.astype(dtype_of(s)))  # rest + q.shape
    lo = E.astype(E.floor(pos), np.intp)
    hi = E.minimum(lo + 1, last)
    w = pos - E.floor(pos)
    flat = tuple(rest) + (-1,)
    slo = S.reshape(take_along_axis(s, S.reshape(lo, flat), -1), pos.shape)
    shi = S.reshape(take_along_axis(s, S.reshape(hi, flat), -1), pos.shape)
    res = E.where(S.reshape(count, tuple(rest) + (1,) * k) == 0, np.nan, slo + (shi - slo) * w)
    if k:
        res = S.moveaxis(res, tuple(range(len(rest), len(rest) + k)), tuple(range(k)))
    if keepdims:
        res = S.reshape(res, q.shape + tuple(1 if i in axes else a.shape[i] for i in range(nd)))
    return res


@_export
def nanpercentile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False, *,
                  weights=None, interpolation=None):
    """``percentile`` ignoring NaNs; see ``nanquantile``.

    >>> float(nanpercentile(np.array([1.0, np.nan, 3.0]), 50))
    2.0
    """
    if not _traced(a):
        kw = {} if weights is None else {"weights": weights}
        return np.nanpercentile(a, q, axis=axis, out=out, overwrite_input=overwrite_input, method=method,
                                keepdims=keepdims, **kw)
    return nanquantile(a, np.asarray(_static(q, "nanpercentile", "q"), dtype=np.float64) / 100.0, axis, out,
                       overwrite_input, method, keepdims, weights=weights, interpolation=interpolation)


@_export
def nanmedian(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """The median ignoring NaNs.

    >>> float(nanmedian(np.array([4.0, np.nan, 1.0, 3.0])))
    3.0
    """
    if not _traced(a):
        return np.nanmedian(a, axis=axis, out=out, overwrite_input=overwrite_input, keepdims=keepdims)
    return nanquantile(a, 0.5, axis=axis, keepdims=keepdims)


# ---------------------------------------------------------------------------------------------------------
# Unique values and set operations: NumPy finds the positions (on plain values); the values are gathered
# from the traced input, so they are differentiable. Their number depends on the values, so vmap refuses them.
# ---------------------------------------------------------------------------------------------------------

def _plain(x, name, ragged=True):
    x = _op(x)
    if _batched(x):
        why = ("the shape of its result depends on the values, so the batch elements' results would not stack"
               if ragged else "it computes its counts from plain values")
        raise NotImplementedError(f"vmap of numpy.{name} is not supported: {why}. Call it in a loop.")
    return x, np.asarray(concrete(x))


@_export
def unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None, *, equal_nan=True,
           **kwargs):
    """The sorted unique elements of ``ar`` (or sub-arrays along ``axis``), with NumPy's optional indices and
    counts; the values are differentiable (each is its first occurrence in ``ar``).

    >>> unique(np.array([3.0, 1.0, 3.0]))
    array([1., 3.])
    """
    if not _traced(ar):
        return np.unique(ar, return_index, return_inverse, return_counts, axis, equal_nan=equal_nan, **kwargs)
    ar, c = _plain(ar, "unique")
    res = np.unique(c, True, return_inverse, return_counts, axis, equal_nan=equal_nan, **kwargs)
    index = res[1]
    values = I.take(S.ravel(ar), index) if axis is None else I.take(ar, index, axis=axis)
    out = [values] + ([index] if return_index else []) + list(res[2:])
    return tuple(out) if len(out) > 1 else values


def _unique_values_of(ar, values_c, name):
    """The entries of the traced ``ar`` equal to each of ``values_c`` (first occurrences)."""
    ar, c = _plain(ar, name)
    flat = c.ravel()
    uniq, first = np.unique(flat, return_index=True)
    pos = first[np.minimum(np.searchsorted(uniq, values_c), len(uniq) - 1)] if len(uniq) else first
    return I.take(S.ravel(ar), pos)


@_export
def unique_values(x):
    """The unique elements of ``x`` (NumPy 2's array-API function); differentiable values.

    >>> unique_values(np.array([2.0, 1.0, 2.0]))
    array([1., 2.])
    """
    if not _traced(x):
        return np.unique_values(x)
    return _unique_values_of(x, np.unique_values(_plain(x, "unique_values")[1]), "unique_values")


def _unique_result(np_fn, x):
    """NumPy's named-tuple ``unique_*`` result, with its ``values`` made differentiable for traced ``x``."""
    if not _traced(x):
        return np_fn(x)
    res = np_fn(_plain(x, np_fn.__name__)[1])
    return res._replace(values=_unique_values_of(x, res.values, np_fn.__name__))


@_export
def unique_counts(x):
    """``(values, counts)`` of the unique elements of ``x``; differentiable values.

    >>> unique_counts(np.array([2.0, 1.0, 2.0])).counts
    array([1, 2])
    """
    return _unique_result(np.unique_counts, x)


@_export
def unique_inverse(x):
    """``(values, inverse_indices)`` of the unique elements of ``x``; differentiable values.

    >>> unique_inverse(np.array([2.0, 1.0, 2.0])).inverse_indices
    array([1, 0, 1])
    """
    return _unique_result(np.unique_inverse, x)


@_export
def unique_all(x):
    """``(values, indices, inverse_indices, counts)`` of the unique elements of ``x``; differentiable values.

    >>> unique_all(np.array([2.0, 1.0, 2.0])).indices
    array([1, 0])
    """
    return _unique_result(np.unique_all, x)


@_export
def union1d(ar1, ar2):
    """The sorted unique values in either array; differentiable values.

    >>> union1d(np.array([1.0, 3.0]), np.array([2.0, 3.0]))
    array([1., 2., 3.])
    """
    if not _traced(ar1, ar2):
        return np.union1d(ar1, ar2)
    both = S.concatenate([S.ravel(_op(ar1)), S.ravel(_op(ar2))])
    return unique(both)


@_export
def intersect1d(ar1, ar2, assume_unique=False, return_indices=False):
    """The sorted values in both arrays; each value's derivative is split evenly between its two occurrences.

    >>> intersect1d(np.array([1.0, 3.0, 2.0]), np.array([2.0, 3.0, 5.0]))
    array([2., 3.])
    """
    if not _traced(ar1, ar2):
        return np.intersect1d(ar1, ar2, assume_unique, return_indices)
    (a1, c1), (a2, c2) = _plain(ar1, "intersect1d"), _plain(ar2, "intersect1d")
    _, i1, i2 = np.intersect1d(c1, c2, assume_unique, return_indices=True)
    values = (I.take(S.ravel(a1), i1) + I.take(S.ravel(a2), i2)) * 0.5
    return (values, i1, i2) if return_indices else values


@_export
def setdiff1d(ar1, ar2, assume_unique=False):
    """The values of ``ar1`` not in ``ar2`` (sorted and unique unless ``assume_unique``); differentiable in
    ``ar1``.

    >>> setdiff1d(np.array([3.0, 1.0, 2.0]), np.array([2.0]))
    array([1., 3.])
    """
    if not _traced(ar1, ar2):
        return np.setdiff1d(ar1, ar2, assume_unique)
    (a1, c1), (_, c2) = _plain(ar1, "setdiff1d"), _plain(ar2, "setdiff1d")
    if assume_unique:
        pos = np.arange(c1.size)
        vals = c1.ravel()
    else:
        vals, pos = np.unique(c1.ravel(), return_index=True)
    keep = ~np.isin(vals, c2)
    return I.take(S.ravel(a1), pos[keep])


@_export
def setxor1d(ar1, ar2, assume_unique=False):
    """The sorted values in exactly one of the arrays; differentiable.

    >>> setxor1d(np.array([1.0, 2.0]), np.array([2.0, 3.0]))
    array([1., 3.])
    """
    if not _traced(ar1, ar2):
        return np.setxor1d(ar1, ar2, assume_unique)
    (a1, c1), (a2, c2) = _plain(ar1, "setxor1d"), _plain(ar2, "setxor1d")
    u1, p1 = np.unique(c1.ravel(), return_index=True)
    u2, p2 = np.unique(c2.ravel(), return_index=True)
    vals = np.concatenate([u1, u2])
    pos = np.concatenate([p1, c1.size + p2])
    order = np.argsort(vals, kind="mergesort")
    vals, pos = vals[order], pos[order]
    single = np.ones(len(vals), bool)
    dup = vals[1:] == vals[:-1]
    single[1:] &= ~dup
    single[:-1] &= ~dup
    both = S.concatenate([S.ravel(a1), S.ravel(a2)])
    return I.take(both, pos[single])


# ---------------------------------------------------------------------------------------------------------
# Histograms: counts come from NumPy on plain values (they are piecewise constant); weights and bin edges
# computed from the data's range are differentiable.
# ---------------------------------------------------------------------------------------------------------

def _edges(a, bins, rng, name):
    """Bin edges as chainrule values: ``bins + 1`` evenly spaced from the data's range (differentiable in its
    minimum and maximum) or from ``rng``, or the given edges."""
    if isinstance(bins, str):
        raise NotImplementedError(f"{name}: bins={bins!r} (a data-dependent rule) is not differentiable; give a "
                                  f"number of bins or the edges")
    if np.ndim(_static(bins, name, "bins")) == 1:
        return _op(bins)
    n = int(bins)
    if rng is not None:
        lo, hi = float(rng[0]), float(rng[1])
        return np.linspace(lo, hi, n + 1)
    flat = S.ravel(a)
    if flat.shape[0] == 0:
        lo, hi = 0.0, 1.0
    else:
        lo, hi = R.min(flat), R.max(flat)
        same = E.stop_gradient(lo == hi)
        lo, hi = E.where(same, lo - 0.5, lo), E.where(same, hi + 0.5, hi)
    from .extra import linspace
    return linspace(lo, hi, n + 1)


def _counts(sample, edges, weights):
    """The histogram of the plain ``sample`` (N, D) over per-dimension ``edges``: NumPy's counts, or the sums of
    ``weights`` per bin (differentiable in the weights)."""
    plain_edges = [np.asarray(concrete(e)) for e in edges]
    if weights is None or not _traced(weights):
        w = None if weights is None else np.asarray(weights)
        if len(plain_edges) == 1:
            return np.histogram(sample[:, 0], plain_edges[0], weights=w)[0]
        return np.histogramdd(sample, bins=plain_edges, weights=w)[0]
    idx = []
    keep = np.ones(sample.shape[0], bool)
    for d, e in enumerate(plain_edges):
        nb = len(e) - 1
        i = np.searchsorted(e, sample[:, d], side="right") - 1
        i[sample[:, d] == e[-1]] = nb - 1  # the last bin is closed
        keep &= (i >= 0) & (i < nb)
        idx.append(i)
    w = E.astype(S.ravel(_op(weights)), np.result_type(dtype_of(_op(weights)), np.float64))
    shape = tuple(len(e) - 1 for e in plain_edges)
    return I.index_add(np.zeros(shape, dtype_of(w)), tuple(i[keep] for i in idx), I.take(w, np.nonzero(keep)[0]))


def _density(hist, edges):
    widths = [e[1:] - e[:-1] if isinstance(e, Tracer) else np.diff(e) for e in edges]
    total = R.sum(hist)
    out = hist / total
    for d, w in enumerate(widths):
        out = out / S.reshape(w, tuple(-1 if k == d else 1 for k in range(len(widths))))
    return out


@_export
def histogram_bin_edges(a, bins=10, range=None, weights=None):  # noqa: A002 - NumPy's name
    """The bin edges ``histogram`` would use; differentiable in ``a``'s minimum and maximum when the range comes
    from the data.

    >>> histogram_bin_edges(np.array([0.0, 2.0]), bins=2)
    array([0., 1., 2.])
    """
    if not _traced(a, bins, range):
        return np.histogram_bin_edges(a, bins, range, weights)
    a, _ = _plain(a, "histogram_bin_edges", ragged=False)
    return _edges(a, bins, range, "histogram_bin_edges")


@_export
def histogram(a, bins=10, range=None, density=None, weights=None):  # noqa: A002 - NumPy's name
    """``(hist, bin_edges)`` as NumPy computes them. Counts are piecewise constant (derivative zero); sums of
    ``weights``, densities and edges from the data's range are differentiable.

    >>> histogram(np.array([0.0, 0.5, 2.0]), bins=2)
    (array([2, 1]), array([0., 1., 2.]))
    """
    if not _traced(a, bins, range, weights):
        return np.histogram(a, bins, range, density, weights)
    a, c = _plain(a, "histogram", ragged=False)
    edges = _edges(a, bins, range, "histogram")
    hist = _counts(c.reshape(-1, 1), [edges], weights)
    if density:
        hist = _density(hist, [edges])
    return hist, edges


@_export
def histogramdd(sample, bins=10, range=None, density=None, weights=None):  # noqa: A002 - NumPy's name
    """``(hist, edges)`` of an (N, D) sample; see ``histogram`` for what is differentiable.

    >>> histogramdd(np.array([[0.0, 0.0], [1.0, 2.0]]), bins=2)[0]
    array([[1., 0.],
           [0., 1.]])
    """
    if not _traced(sample, bins, range, weights):
        return np.histogramdd(sample, bins, range, density, weights)
    s, c = _plain(sample, "histogramdd", ragged=False)
    if c.ndim == 1:
        s, c = S.reshape(s, (-1, 1)), c.reshape(-1, 1)
    D = c.shape[1]
    bins_d = list(bins) if isinstance(bins, (list, tuple)) and len(bins) == D else [bins] * D
    ranges = range if range is not None else [None] * D
    edges = [_edges(s[:, d], b, r, "histogramdd") for d, (b, r) in enumerate(zip(bins_d, ranges))]
    hist = _counts(c, edges, weights)
    if density:
        hist = _density(hist, edges)
    return hist, edges


@_export
def histogram2d(x, y, bins=10, range=None, density=None, weights=None):  # noqa: A002 - NumPy's name
    """``(hist, xedges, yedges)``; see ``histogram`` for what is differentiable.

    >>> histogram2d(np.array([0.0, 1.0]), np.array([0.0, 2.0]), bins=2)[0]
    array([[1., 0.],
           [0., 1.]])
    """
    if not _traced(x, y, bins, range, weights):
        return np.histogram2d(x, y, bins, range, density, weights)
    if not isinstance(bins, (list, tuple)) or len(bins) != 2 or np.ndim(bins[0]) > 1:
        bins = [bins, bins]
    hist, edges = histogramdd(S.stack([S.ravel(_op(x)), S.ravel(_op(y))], axis=1), bins, range, density, weights)
    return hist, edges[0], edges[1]
