"""Differences, integrals, interpolation, products, convolutions and polynomials.

See ``chainrule.ops.extra`` for the invariant these compositions keep.
"""
import math

import numpy as np

from ..core.trace import Tracer
from . import elementwise as E
from . import indexing as I
from . import linalg as L
from . import reduction as R
from . import shape as S
from ._util import as_operand, dtype_of, normalize_axes, normalize_axis, shape_of
from .extra import _NoValue, _along, _float, _op, _size, _static, _traced, make_exporter
from .nondiff import argsort, searchsorted

__all__ = []
_export = make_exporter(__all__)


# ---------------------------------------------------------------------------------------------------------
# Differences, integrals, interpolation
# ---------------------------------------------------------------------------------------------------------

@_export
def diff(a, n=1, axis=-1, prepend=_NoValue, append=_NoValue):
    """The ``n``-th discrete difference along ``axis`` (with optional values prepended/appended first).

    >>> diff(np.array([1.0, 4.0, 9.0]))
    array([3., 5.])
    """
    if not _traced(a, prepend if prepend is not _NoValue else None, append if append is not _NoValue else None):
        return np.diff(a, n=n, axis=axis, prepend=prepend, append=append)
    a = as_operand(a)
    if n < 0:
        raise ValueError(f"diff: order must be non-negative but got {n}")
    if a.ndim == 0:
        raise ValueError("diff: requires input that is at least one dimensional")
    axis = normalize_axis(axis, a.ndim)
    parts = []
    for extra in (prepend, append):
        if extra is _NoValue:
            parts.append(None)
            continue
        extra = _op(extra)
        if extra.ndim == 0:
            shape = list(a.shape)
            shape[axis] = 1
            extra = S.broadcast_to(extra, tuple(shape))
        parts.append(extra)
    if parts[0] is not None or parts[1] is not None:
        a = S.concatenate([p for p in (parts[0], a, parts[1]) if p is not None], axis=axis)
    for _ in range(n):
        a = a[_along(a.ndim, axis, slice(1, None))] - a[_along(a.ndim, axis, slice(None, -1))]
    return a


@_export
def ediff1d(ary, to_end=None, to_begin=None):
    """Differences between consecutive elements of the flattened array, with optional values around them.

    >>> ediff1d(np.array([1.0, 2.0, 4.0]), to_begin=0.0)
    array([0., 1., 2.])
    """
    if not _traced(ary, to_end, to_begin):
        return np.ediff1d(ary, to_end, to_begin)
    d = diff(S.ravel(ary))
    parts = [S.ravel(E.astype(as_operand(to_begin), dtype_of(d)))] if to_begin is not None else []
    parts.append(d)
    if to_end is not None:
        parts.append(S.ravel(E.astype(as_operand(to_end), dtype_of(d))))
    return S.concatenate(parts) if len(parts) > 1 else d


def _spacing(arg, n, name):
    """A scalar step, or a 1-D array of the ``n - 1`` steps between given coordinates (uniform steps collapse to
    a scalar, as in NumPy). Spacings are constants: they are not differentiated."""
    arg = np.asarray(_static(arg, name, "the spacing"))
    if arg.ndim == 0:
        return float(arg)
    if arg.ndim != 1:
        raise ValueError(f"{name}: distances must be either scalars or 1d")
    if arg.shape[0] != n:
        raise ValueError(f"{name}: when 1d, distances must match the length of the corresponding dimension")
    d = np.diff(arg.astype(np.float64))
    return float(d[0]) if np.all(d == d[0]) else d


@_export
def gradient(f, *varargs, axis=None, edge_order=1):
    """The gradient of sampled values by second-order central differences (first or second order at the edges),
    as ``numpy.gradient``; differentiable in ``f`` (spacings and coordinates are constants).

    >>> gradient(np.array([1.0, 4.0, 9.0, 16.0]))
    array([3., 4., 6., 7.])
    """
    if not _traced(f):
        return np.gradient(f, *varargs, axis=axis, edge_order=edge_order)
    f = _float(f)
    nd = f.ndim
    axes = normalize_axes(axis, nd) if axis is not None else tuple(range(nd))
    if axis is not None and not isinstance(axis, (tuple, list)):
        axes = (normalize_axis(axis, nd),)
    if len(varargs) == 0:
        spacings = [1.0] * len(axes)
    elif len(varargs) == 1 and len(shape_of(_op(varargs[0]))) == 0:
        spacings = [varargs[0]] * len(axes)
    elif len(varargs) == len(axes):
        spacings = list(varargs)
    else:
        raise TypeError("gradient: invalid number of arguments")
    if edge_order not in (1, 2):
        raise ValueError("gradient: 'edge_order' greater than 2 not supported")
    dt = dtype_of(f)
    rdt = np.empty((), dt).real.dtype
    outs = []
    for ax, sp in zip(axes, spacings):
        n = f.shape[ax]
        if n < edge_order + 1:
            raise ValueError("gradient: shape of array too small to calculate a numerical gradient, at least "
                             "(edge_order + 1) elements are required")
        h = _spacing(sp, n, "gradient")
        sl = lambda s: f[_along(nd, ax, s)]  # noqa: E731
        col = lambda c: np.asarray(c, rdt).reshape([-1 if i == ax else 1 for i in range(nd)])  # noqa: E731
        parts = []
        uniform = isinstance(h, float)
        # first point
        if edge_order == 1:
            d0 = h if uniform else h[0]
            parts.append((sl(slice(1, 2)) - sl(slice(0, 1))) / d0)
        else:
            if uniform:
                a, b, c = -1.5 / h, 2.0 / h, -0.5 / h
            else:
                dx1, dx2 = h[0], h[1]
                a = -(2.0 * dx1 + dx2) / (dx1 * (dx1 + dx2))
                b = (dx1 + dx2) / (dx1 * dx2)
                c = -dx1 / (dx2 * (dx1 + dx2))
            parts.append(sl(slice(0, 1)) * a + sl(slice(1, 2)) * b + sl(slice(2, 3)) * c)
        # interior
        if n > 2:
            if uniform:
                parts.append((sl(slice(2, None)) - sl(slice(None, -2))) / (2.0 * h))
            else:
                dx1, dx2 = h[:-1], h[1:]
                a = -dx2 / (dx1 * (dx1 + dx2))
                b = (dx2 - dx1) / (dx1 * dx2)
                c = dx1 / (dx2 * (dx1 + dx2))
                parts.append(sl(slice(None, -2)) * col(a) + sl(slice(1, -1)) * col(b) + sl(slice(2, None)) * col(c))
        # last point
        if edge_order == 1:
            dn = h if uniform else h[-1]
            parts.append((sl(slice(-1, None)) - sl(slice(-2, -1))) / dn)
        else:
            if uniform:
                a, b, c = 0.5 / h, -2.0 / h, 1.5 / h
            else:
                dx1, dx2 = h[-2], h[-1]
                a = dx2 / (dx1 * (dx1 + dx2))
                b = -(dx2 + dx1) / (dx1 * dx2)
                c = (2.0 * dx2 + dx1) / (dx2 * (dx1 + dx2))
            parts.append(sl(slice(-3, -2)) * a + sl(slice(-2, -1)) * b + sl(slice(-1, None)) * c)
        outs.append(S.concatenate(parts, axis=ax))
    return outs[0] if len(outs) == 1 else tuple(outs)


@_export
def trapezoid(y, x=None, dx=1.0, axis=-1):
    """Integral of ``y`` along ``axis`` by the trapezoidal rule (sample points ``x`` or spacing ``dx``);
    differentiable in ``y`` and ``x``.

    >>> float(trapezoid(np.array([1.0, 2.0, 3.0])))
    4.0
    """
    if not _traced(y, x, dx):
        return np.trapezoid(y, x, dx, axis)
    y = _float(y)
    nd = y.ndim
    axis = normalize_axis(axis, nd)
    if x is None:
        d = dx
    else:
        x = as_operand(x)
        if x.ndim == 1:
            d = diff(x)
            d = S.reshape(d, tuple(-1 if i == axis else 1 for i in range(nd)))
        else:
            d = diff(x, axis=axis)
    avg = (y[_along(nd, axis, slice(1, None))] + y[_along(nd, axis, slice(None, -1))]) * 0.5
    return R.sum(d * avg, axis)


trapz = trapezoid
__all__.append("trapz")


@_export
def interp(x, xp, fp, left=None, right=None, period=None):
    """One-dimensional piecewise-linear interpolation of the points ``(xp, fp)`` at ``x``; differentiable in
    ``fp`` (the values), in ``x`` (the slope of its segment) and in ``xp``.

    >>> interp(np.array([0.5, 1.5]), np.array([0.0, 1.0, 2.0]), np.array([0.0, 10.0, 0.0]))
    array([5., 5.])
    """
    if not _traced(x, xp, fp, left, right):
        return np.interp(x, xp, fp, left, right, period)
    x, xp, fp = _op(x), _op(xp), _op(fp)
    for name, v in (("x", x), ("xp", xp)):
        if np.issubdtype(dtype_of(v), np.complexfloating):
            raise TypeError(f"interp: {name} must be real (complex sample points are not supported, as in NumPy); "
                            f"got dtype {dtype_of(v)}")
    if xp.ndim != 1 or fp.ndim != 1:
        raise ValueError(f"interp: data points must be 1-D sequences (xp has shape {shape_of(xp)}, fp has shape "
                         f"{shape_of(fp)})")
    if xp.shape[0] != fp.shape[0]:
        raise ValueError(f"interp: fp and xp are not of the same length ({fp.shape[0]} and {xp.shape[0]})")
    if xp.shape[0] == 0:
        raise ValueError("interp: array of sample points is empty")
    out_dt = np.complex128 if np.issubdtype(dtype_of(fp), np.complexfloating) else np.float64
    x, xp, fp = E.astype(x, np.float64), E.astype(xp, np.float64), E.astype(fp, out_dt)
    if period is not None:
        period = abs(float(_static(period, "interp", "period")))
        if period == 0:
            raise ValueError("interp: period must be a non-zero value")
        left = right = None
        x = E.remainder(x, period)
        xp = E.remainder(xp, period)
        order = argsort(xp)
        from .sorting import take_along_axis
        xp, fp = take_along_axis(xp, order, 0), take_along_axis(fp, order, 0)
        xp = S.concatenate([xp[-1:] - period, xp, xp[0:1] + period])
        fp = S.concatenate([fp[-1:], fp, fp[0:1]])
    n = xp.shape[0]
    if n == 1:
        mid = S.broadcast_to(fp[0], shape_of(x))
    else:
        i = E.clip(searchsorted(xp, x, side="right") - 1, 0, n - 2)
        j = i + 1
        x0, x1 = I.getitem(xp, i), I.getitem(xp, j)  # (i may be batched under vmap while xp is a plain array)
        y0, y1 = I.getitem(fp, i), I.getitem(fp, j)
        mid = y0 + (y1 - y0) * ((x - x0) / (x1 - x0))
    lo = fp[0] if left is None else left
    hi = fp[-1] if right is None else right
    return E.where(x < xp[0], lo, E.where(x > xp[-1], hi, mid))


@_export
def unwrap(p, discont=None, axis=-1, *, period=2 * math.pi):
    """Phases unwrapped by adding multiples of ``period`` where consecutive values jump by more than
    ``discont``; the added multiples are constants, so the derivative is the identity.

    >>> unwrap(np.array([0.0, 6.0]))
    array([ 0.        , -0.28318531])
    """
    if not _traced(p):
        return np.unwrap(p, discont, axis, period=period)
    p = _float(p)
    nd = p.ndim
    axis = normalize_axis(axis, nd)
    dd = diff(p, axis=axis)
    if discont is None:
        discont = period / 2
    high = period / 2
    ddmod = E.remainder(dd + high, period) - high
    ddmod = E.where((ddmod == -high) & (dd > 0), high, ddmod)
    correct = E.where(E.abs(dd) < discont, 0, ddmod - dd)
    correct = E.stop_gradient(correct)
    shape = list(p.shape)
    shape[axis] = 1
    total = S.concatenate([np.zeros(shape, dtype_of(p)), R.cumsum(correct, axis)], axis=axis)
    return p + total


# ---------------------------------------------------------------------------------------------------------
# Products and convolutions
# ---------------------------------------------------------------------------------------------------------

@_export
def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Cross product of 3-vectors (or 2-vectors, giving the z-component) along the given axes.

    >>> cross(np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]))
    array([0., 0., 1.])
    """
    if not _traced(a, b):
        return np.cross(a, b, axisa, axisb, axisc, axis)
    a, b = as_operand(a), as_operand(b)
    if axis is not None:
        axisa = axisb = axisc = axis
    a = S.moveaxis(a, axisa, -1)
    b = S.moveaxis(b, axisb, -1)
    na, nb = a.shape[-1], b.shape[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError(f"cross: incompatible dimensions for cross product (dimension must be 2 or 3; got {na} "
                         f"and {nb})")
    a0, a1 = a[..., 0], a[..., 1]
    b0, b1 = b[..., 0], b[..., 1]
    z = a0 * b1 - a1 * b0
    if na == 2 and nb == 2:
        return z
    if na == 3 and nb == 3:
        a2, b2 = a[..., 2], b[..., 2]
        comps = [a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, z]
    elif na == 2:
        b2 = b[..., 2]
        comps = [a1 * b2, -(a0 * b2), z]
    else:
        a2 = a[..., 2]
        comps = [-(a2 * b1), a2 * b0, z]
    shape = np.broadcast_shapes(*[shape_of(c) for c in comps])
    c = S.stack([S.broadcast_to(c, shape) for c in comps], axis=-1)
    return S.moveaxis(c, -1, axisc)


@_export
def kron(a, b):
    """Kronecker product: blocks ``a[i, j] * b``, for inputs of any rank.

    >>> kron(np.array([1.0, 2.0]), np.array([1.0, 10.0]))
    array([ 1., 10.,  2., 20.])
    """
    if not _traced(a, b):
        return np.kron(a, b)
    a, b = as_operand(a), as_operand(b)
    nd = max(a.ndim, b.ndim)
    sa = (1,) * (nd - a.ndim) + tuple(a.shape)
    sb = (1,) * (nd - b.ndim) + tuple(b.shape)
    a = S.reshape(a, tuple(v for d in sa for v in (d, 1)))
    b = S.reshape(b, tuple(v for d in sb for v in (1, d)))
    return S.reshape(a * b, tuple(x * y for x, y in zip(sa, sb)))


def _conv_full(a, v):
    """Full discrete convolution of 1-D ``a`` and ``v`` (``len(v) <= len(a)``) as one gather and one product:
    row k of the window matrix holds the ``len(v)`` entries of the zero-padded ``a`` that meet ``v`` reversed."""
    n, m = a.shape[0], v.shape[0]
    ap = S.pad(a, (m - 1, m - 1))
    idx = np.arange(n + m - 1)[:, None] + np.arange(m)[None, :]
    return L.matmul(ap[idx], S.flip(v, 0))


def _conv(a, v, mode, name):
    a, v = as_operand(a), as_operand(v)
    if a.ndim != 1 or v.ndim != 1:
        raise ValueError(f"{name}: object too deep for desired array (inputs must be 1-D, got shapes "
                         f"{shape_of(a)} and {shape_of(v)})")
    if a.shape[0] == 0 or v.shape[0] == 0:
        raise ValueError(f"{name}: inputs cannot be empty")
    if v.shape[0] > a.shape[0]:
        a, v = v, a
    dt = np.result_type(dtype_of(a), dtype_of(v))
    a, v = E.astype(a, dt), E.astype(v, dt)
    n, m = a.shape[0], v.shape[0]
    full = _conv_full(a, v)
    if mode == "full":
        return full
    if mode == "same":
        start = (m - 1) // 2
        return full[start:start + n]
    if mode == "valid":
        return full[m - 1:n]
    raise ValueError(f"{name}: mode must be one of 'full', 'same', 'valid', got {mode!r}")


@_export
def convolve(a, v, mode="full"):
    """Discrete linear convolution of two 1-D sequences; differentiable in both.

    >>> convolve(np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 0.5]))
    array([0. , 1. , 2.5, 4. , 1.5])
    """
    if not _traced(a, v):
        return np.convolve(a, v, mode)
    return _conv(a, v, mode, "convolve")


@_export
def correlate(a, v, mode="valid"):
    """Cross-correlation of two 1-D sequences, ``c[k] = sum_n a[n + k] * conj(v[n])``; differentiable in both.

    >>> correlate(np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 0.5]))
    array([3.5])
    """
    if not _traced(a, v):
        return np.correlate(a, v, mode)
    a, v = as_operand(a), as_operand(v)
    if v.ndim == 1 and a.ndim == 1 and v.shape[0] > a.shape[0]:
        # NumPy swaps the operands, then reverses and conjugates the result.
        return E.conjugate(S.flip(_conv(v, E.conjugate(S.flip(a, 0)), mode, "correlate"), 0))
    return _conv(a, E.conjugate(S.flip(v, 0)) if v.ndim == 1 else v, mode, "correlate")


vdot = _export(L.vdot)  # one definition, in ops/linalg.py


@_export
def vecdot(x1, x2, /, *, axis=-1):
    """Dot products of vectors along ``axis`` (the first argument conjugated), broadcasting the rest.

    >>> float(vecdot(np.array([1.0, 2.0]), np.array([3.0, 4.0])))
    11.0
    """
    if not _traced(x1, x2):
        return np.vecdot(x1, x2, axis=axis)
    return R.sum(E.conjugate(as_operand(x1)) * x2, axis)


@_export
def matvec(x1, x2, /):
    """Matrix-vector products over the last axes, broadcasting the rest.

    >>> matvec(np.eye(2), np.array([1.0, 2.0]))
    array([1., 2.])
    """
    if not _traced(x1, x2):
        return np.matvec(x1, x2)
    return L.matmul(x1, S.expand_dims(as_operand(x2), -1))[..., 0]


@_export
def vecmat(x1, x2, /):
    """Vector-matrix products over the last axes (the vector conjugated), broadcasting the rest.

    >>> vecmat(np.array([1.0, 2.0]), np.eye(2))
    array([1., 2.])
    """
    if not _traced(x1, x2):
        return np.vecmat(x1, x2)
    return L.matmul(S.expand_dims(E.conjugate(as_operand(x1)), -2), x2)[..., 0, :]


@_export
def matrix_transpose(x, /):
    """``x`` with its last two axes swapped.

    >>> matrix_transpose(np.ones((2, 3))).shape
    (3, 2)
    """
    return S.swapaxes(x, -1, -2)


@_export
def permute_dims(a, axes=None):
    """NumPy 2's name for ``transpose``.

    >>> permute_dims(np.ones((2, 3))).shape
    (3, 2)
    """
    return S.transpose(a, axes)


@_export
def concat(arrays, /, *, axis=0):
    """NumPy 2's name for ``concatenate``.

    >>> concat([np.ones(1), np.zeros(1)])
    array([1., 0.])
    """
    return S.concatenate(arrays, axis=axis)


@_export
def vander(x, N=None, increasing=False):
    """The Vandermonde matrix of the 1-D ``x``: columns are powers of ``x`` (decreasing unless ``increasing``).

    >>> vander(np.array([2.0, 3.0]), 3)
    array([[4., 2., 1.],
           [9., 3., 1.]])
    """
    if not _traced(x):
        return np.vander(x, N, increasing)
    x = as_operand(x)
    if x.ndim != 1:
        raise ValueError("vander: x must be a one-dimensional array or sequence")
    N = x.shape[0] if N is None else int(N)
    cols = [E.integer_pow(x, k) if k else E.astype(np.ones(x.shape[0]), dtype_of(x)) for k in range(N)]
    if not increasing:
        cols = cols[::-1]
    if not cols:
        return np.zeros((x.shape[0], 0), dtype_of(x))
    return S.stack(cols, axis=1)


@_export
def polyval(p, x):
    """The polynomial with coefficients ``p`` (highest power first) at ``x``, by Horner's scheme.

    >>> float(polyval(np.array([1.0, 0.0, -1.0]), 3.0))
    8.0
    """
    if not _traced(p, x):
        return np.polyval(p, x)
    p = as_operand(p)
    x = as_operand(x)
    y = E.multiply(x, 0) if isinstance(x, Tracer) else np.zeros_like(x, dtype=np.result_type(x, np.float64))
    for k in range(p.shape[0]):
        y = y * x + p[k]
    return y


def _poly_pair(a1, a2):
    a1, a2 = S.atleast_1d(as_operand(a1)), S.atleast_1d(as_operand(a2))
    n = max(a1.shape[0], a2.shape[0])
    return S.pad(a1, (n - a1.shape[0], 0)), S.pad(a2, (n - a2.shape[0], 0))


@_export
def polyadd(a1, a2):
    """Sum of two polynomials (coefficient arrays, highest power first).

    >>> polyadd(np.array([1.0, 2.0]), np.array([1.0, 0.0, 0.0]))
    array([1., 1., 2.])
    """
    if not _traced(a1, a2):
        return np.polyadd(a1, a2)
    x, y = _poly_pair(a1, a2)
    return x + y


@_export
def polysub(a1, a2):
    """Difference of two polynomials.

    >>> polysub(np.array([1.0, 2.0]), np.array([1.0, 0.0]))
    array([0., 2.])
    """
    if not _traced(a1, a2):
        return np.polysub(a1, a2)
    x, y = _poly_pair(a1, a2)
    return x - y


@_export
def polymul(a1, a2):
    """Product of two polynomials (the convolution of their coefficients).

    >>> polymul(np.array([1.0, 1.0]), np.array([1.0, -1.0]))
    array([ 1.,  0., -1.])
    """
    if not _traced(a1, a2):
        return np.polymul(a1, a2)
    return convolve(S.atleast_1d(as_operand(a1)), S.atleast_1d(as_operand(a2)))


@_export
def polyder(p, m=1):
    """The ``m``-th derivative of a polynomial.

    >>> polyder(np.array([1.0, 1.0, 1.0]))
    array([2., 1.])
    """
    if not _traced(p):
        return np.polyder(p, m)
    p = _float(p)
    for _ in range(int(m)):
        n = p.shape[0] - 1
        p = p[:-1] * np.arange(n, 0, -1, dtype=np.float64).astype(dtype_of(p))
    return p


@_export
def polyint(p, m=1, k=None):
    """The ``m``-th antiderivative of a polynomial (integration constants ``k``, zero by default).

    >>> polyint(np.array([3.0, 2.0]))
    array([1.5, 2. , 0. ])
    """
    if not _traced(p, k):
        return np.polyint(p, m, k)
    p = _float(p)
    m = int(m)
    ks = np.zeros(m) if k is None else k
    ks = [ks[i] for i in range(m)] if len(shape_of(_op(ks))) else [ks] * m
    for i in range(m):
        n = p.shape[0]
        p = p / np.arange(n, 0, -1, dtype=np.float64).astype(dtype_of(p))
        p = S.concatenate([p, S.reshape(E.astype(as_operand(ks[i]), dtype_of(p)), (1,))])
    return p


@_export
def poly(seq_of_zeros):
    """The coefficients of the monic polynomial with the given roots (or of a square matrix's characteristic
    polynomial); differentiable, complex roots included.

    >>> poly(np.array([1.0, 2.0]))
    array([ 1., -3.,  2.])
    """
    if not _traced(seq_of_zeros):
        return np.poly(seq_of_zeros)
    z = _op(seq_of_zeros)
    if z.ndim == 2 and z.shape[0] == z.shape[1] and z.shape[0] > 0:
        from ..numpy import linalg as LA
        z = LA.eigvals(z)
    elif z.ndim != 1:
        raise ValueError("poly: input must be 1d or non-empty square 2d array.")
    coeffs = np.ones(1, dtype_of(z))
    for k in range(z.shape[0]):
        coeffs = convolve(coeffs, S.stack([E.astype(np.ones((), dtype_of(z)), dtype_of(z)), -z[k]]))
    if np.issubdtype(dtype_of(z), np.complexfloating):
        zc = np.asarray(_static(z, "poly", "the roots"))
        if np.all(np.sort(zc[zc.imag > 0]) == np.sort(np.conj(zc[zc.imag < 0]))):
            coeffs = E.real(coeffs)  # conjugate pairs: real coefficients, as NumPy returns
    return coeffs


@_export
def roots(p):
    """The roots of the polynomial with coefficients ``p`` (the eigenvalues of its companion matrix), as NumPy;
    differentiable in ``p`` where the roots are simple.

    >>> np.sort(roots(np.array([1.0, -3.0, 2.0])))
    array([1., 2.])
    """
    if not _traced(p):
        return np.roots(p)
    p = _op(p)
    if p.ndim != 1:
        raise ValueError("roots: input must be a rank-1 array.")
    pc = np.asarray(_static(p, "roots", "the positions of the non-zero coefficients"))
    nz = np.nonzero(pc)[0]
    if len(nz) == 0:
        return np.array([])
    trailing = len(pc) - nz[-1] - 1
    p = p[int(nz[0]):int(nz[-1]) + 1]
    n = p.shape[0]
    if n > 1:
        from ..numpy import linalg as LA
        first_row = -p[1:] / p[0]
        companion = S.concatenate([S.expand_dims(first_row, 0), np.eye(n - 2, n - 1, dtype=dtype_of(first_row))],
                                  axis=0) if n > 2 else S.reshape(first_row, (1, 1))
        r = LA.eigvals(companion)
    else:
        r = np.zeros(0, dtype_of(p))
    return S.concatenate([r, np.zeros(trailing, dtype_of(r))]) if trailing else r


@_export
def polyfit(x, y, deg, rcond=None, full=False, w=None, cov=False):
    """Least-squares polynomial fit of degree ``deg`` (coefficients, highest power first), differentiable in
    ``x``, ``y`` and ``w``; ``full``/``cov`` outputs are not supported for traced values.

    >>> polyfit(np.array([0.0, 1.0, 2.0]), np.array([1.0, 3.0, 5.0]), 1)
    array([2., 1.])
    """
    if not _traced(x, y, w):
        return np.polyfit(x, y, deg, rcond, full, w, cov)
    if full or cov:
        raise NotImplementedError("polyfit: full=True and cov=True are not supported for traced values")
    from ..numpy import linalg as LA
    x, y = _float(x), _float(y)
    A = vander(x, int(deg) + 1)
    if w is not None:
        w = _op(w)
        A = A * S.expand_dims(w, 1)
        y = y * (w if y.ndim == 1 else S.expand_dims(w, 1))
    scale = E.stop_gradient(E.sqrt(R.sum(A * A, axis=0)))  # NumPy scales the columns for conditioning
    coef = LA.lstsq(A / scale, y, rcond=rcond)[0]
    return coef / (scale if coef.ndim == 1 else S.expand_dims(scale, 1))


@_export
def polydiv(u, v):
    """``(quotient, remainder)`` of polynomial division, as NumPy computes it; differentiable in both.

    >>> polydiv(np.array([1.0, -3.0, 2.0]), np.array([1.0, -1.0]))
    (array([ 1., -2.]), array([0.]))
    """
    if not _traced(u, v):
        return np.polydiv(u, v)
    u, v = S.atleast_1d(_float(u)), S.atleast_1d(_float(v))
    dt = np.result_type(dtype_of(u), dtype_of(v))
    u, v = E.astype(u, dt), E.astype(v, dt)
    m, n = u.shape[0] - 1, v.shape[0] - 1
    q = np.zeros(max(m - n + 1, 1), dt)
    r = u
    for k in range(m - n + 1):
        d = r[k] / v[0]
        q = I.index_update(q, k, d)
        r = I.index_add(r, slice(k, k + n + 1), -(d * v))
    rc = np.asarray(_static(r, "polydiv", "the remainder's leading zeros"))
    start = 0
    while start < rc.shape[0] - 1 and np.allclose(rc[start], 0, rtol=1e-14):
        start += 1
    return q, r[start:]
