"""The rest of NumPy's differentiable functions, as compositions of chainrule primitives: this module (selection
and masking, creation from values, functional helpers, dtype queries) and its siblings ``sorting``,
``statistics``, ``calculus`` and ``joining``, which share the helpers defined here.

Invariant: every such function is NumPy's function when no argument is traced (same result, NumPy's own code),
and a composition of chainrule operations otherwise, so it is differentiable in both modes to any order and
batchable without rules of its own. Index arithmetic that does not depend on the values (window positions,
masks, interpolation weights of constant coordinates) is computed with NumPy on shapes; index arithmetic that
does (``sort``'s permutation, ``interp``'s segments) goes through non-differentiable primitives
(``ops.nondiff``), which ``vmap`` batches. Arguments that chainrule treats as constants (indices, weights,
spacings, quantile levels) go through ``_static``, which refuses values that vary across a ``vmap`` batch
rather than mixing the batch's elements.
"""
import numpy as np

from ..core.trace import Tracer, concrete
from . import elementwise as E
from . import indexing as I
from . import shape as S
from ._util import as_operand, dtype_of, normalize_axis, shape_of

__all__ = []

_NoValue = np._NoValue


def make_exporter(names):
    """A decorator that lists a function in ``names`` (a module's ``__all__``)."""
    def export(fn):
        names.append(fn.__name__)
        return fn
    return export


_export = make_exporter(__all__)


def _traced(*xs):
    """Whether any argument (or any entry of a list/tuple argument) is traced."""
    for x in xs:
        if isinstance(x, Tracer):
            return True
        if isinstance(x, (list, tuple)) and _traced(*x):
            return True
    return False


def _batched(x):
    while isinstance(x, Tracer):
        if type(x).__name__ == "BatchTracer":
            return True
        x = x.concrete_value()
    return False


def _static(x, name, what):
    """The plain value of an argument chainrule treats as a constant (indices, weights, spacings, levels).

    A traced value is used through its concrete value (its derivative, if any, is not taken); one that varies
    across a ``vmap`` batch is refused with an error naming the function, since its concrete value mixes the
    batch's elements.
    """
    if isinstance(x, (list, tuple)):
        return type(x)(_static(v, name, what) for v in x)
    if _batched(x):
        raise NotImplementedError(f"{name}: {what} must be the same for every element of a vmap batch (it is "
                                  f"used as a constant); call {name} in a loop instead")
    return concrete(x)


def _op(x):
    """Tracers and arrays as they are; Python scalars and lists as NumPy arrays (for their ``ndim``/``shape``)."""
    from ..core.backend import is_array
    return x if isinstance(x, Tracer) or is_array(x) else np.asarray(x)


def _float(x):
    """``x`` with an inexact dtype (integers and booleans become float64)."""
    x = as_operand(x)
    return x if np.issubdtype(dtype_of(x), np.inexact) else E.astype(x, np.float64)


def _along(ndim, axis, sl):
    """An index selecting ``sl`` along ``axis`` of an array of rank ``ndim``."""
    return (slice(None),) * axis + (sl,)


def _size(shape):
    n = 1
    for d in shape:
        n *= d
    return n


# ---------------------------------------------------------------------------------------------------------
# Selection and masking
# ---------------------------------------------------------------------------------------------------------

@_export
def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """``x`` with NaN, +inf and -inf replaced by finite numbers; the replaced entries get a zero gradient.

    >>> nan_to_num(np.array([np.nan, 1.0]))
    array([0., 1.])
    """
    if not _traced(x):
        return np.nan_to_num(x, copy=copy, nan=nan, posinf=posinf, neginf=neginf)
    x = as_operand(x)
    dt = dtype_of(x)
    if not np.issubdtype(dt, np.inexact):
        return x

    def fix(r):
        info = np.finfo(dtype_of(r))
        hi = info.max if posinf is None else posinf
        lo = -info.max if neginf is None else neginf
        return E.where(E.isnan(r), nan, E.where(r == np.inf, hi, E.where(r == -np.inf, lo, r)))

    if np.issubdtype(dt, np.complexfloating):
        return fix(E.real(x)) + fix(E.imag(x)) * 1j
    return fix(x)


def _tri_mask(m, k, upper, name):
    m = as_operand(m)
    if m.ndim == 0:
        raise ValueError(f"{name}: input must be at least 1-d")
    if m.ndim == 1:
        m = S.broadcast_to(m, (m.shape[0], m.shape[0]))
    lower = np.tri(m.shape[-2], m.shape[-1], k - 1 if upper else k, dtype=bool)
    return E.where(lower, 0, m) if upper else E.where(lower, m, 0)


@_export
def triu(m, k=0):
    """``m`` with the elements below the ``k``-th diagonal zeroed (over the last two axes).

    >>> triu(np.ones((2, 2)))
    array([[1., 1.],
           [0., 1.]])
    """
    if not _traced(m):
        return np.triu(m, k)
    return _tri_mask(m, int(k), True, "triu")


@_export
def tril(m, k=0):
    """``m`` with the elements above the ``k``-th diagonal zeroed (over the last two axes).

    >>> tril(np.ones((2, 2)))
    array([[1., 0.],
           [1., 1.]])
    """
    if not _traced(m):
        return np.tril(m, k)
    return _tri_mask(m, int(k), False, "tril")


@_export
def select(condlist, choicelist, default=0):
    """Elements from ``choicelist`` where the matching condition first holds, else ``default``.

    >>> x = np.array([-1.0, 0.5, 3.0])
    >>> select([x < 0, x > 1], [-x, x * 10], default=0.0)
    array([ 1.,  0., 30.])
    """
    if not _traced(condlist, choicelist, default):
        return np.select(condlist, choicelist, default)
    if len(condlist) != len(choicelist):
        raise ValueError("select: list of cases must be same length as list of conditions")
    if not condlist:
        raise ValueError("select with an empty condition list is not possible")
    out = default
    for cond, choice in zip(condlist[::-1], choicelist[::-1]):
        out = E.where(cond, choice, out)
    shape = np.broadcast_shapes(*[shape_of(as_operand(c)) for c in list(condlist) + list(choicelist)])
    return S.broadcast_to(as_operand(out), shape)


@_export
def piecewise(x, condlist, funclist, *args, **kw):
    """A piecewise-defined function: ``funclist[i](x)`` (or a constant) where ``condlist[i]`` holds, later
    conditions taking precedence; one extra function is the default. Each function is evaluated on all of ``x``.

    >>> x = np.array([-2.0, 3.0])
    >>> piecewise(x, [x < 0, x >= 0], [lambda v: -v, lambda v: v * v])
    array([2., 9.])
    """
    if not _traced(x, condlist):
        return np.piecewise(x, condlist, funclist, *args, **kw)
    x = as_operand(x)
    if not isinstance(condlist, (list, tuple)) or (condlist and not isinstance(condlist[0], (list, tuple, np.ndarray,
                                                                                             Tracer))):
        condlist = [condlist]
    conds = list(condlist)
    if len(funclist) == len(conds) + 1:
        any_cond = conds[0]
        for c in conds[1:]:
            any_cond = E.logical_or(any_cond, c)
        conds = [E.logical_not(any_cond)] + conds
        funclist = [funclist[-1]] + list(funclist[:-1])
    elif len(funclist) != len(conds):
        raise ValueError(f"piecewise: with {len(conds)} condition(s), either {len(conds)} or {len(conds) + 1} "
                         f"functions are expected")
    out = E.multiply(x, 0)
    for cond, fn in zip(conds, funclist):
        val = fn(x, *args, **kw) if callable(fn) else fn
        out = E.where(cond, val, out)
    return E.astype(out, dtype_of(x)) if dtype_of(as_operand(out)) != dtype_of(x) else out


@_export
def choose(a, choices, out=None, mode="raise"):
    """Elements of ``choices[a[i]][i]`` (``a`` integer indices, not differentiated); differentiable in the
    choices.

    >>> choose(np.array([1, 0]), [np.array([1.0, 2.0]), np.array([10.0, 20.0])])
    array([10.,  2.])
    """
    if not _traced(a, choices):
        return np.choose(a, choices, out=out, mode=mode)
    choices = [as_operand(c) for c in choices]
    a = as_operand(a)
    n = len(choices)
    if not isinstance(a, Tracer):
        ac = np.asarray(a)
        if mode == "raise" and (np.any(ac < 0) or np.any(ac >= n)):
            raise ValueError("choose: invalid entry in choice array")
        a = ac % n if mode == "wrap" else (np.clip(ac, 0, n - 1) if mode == "clip" else ac)
    shape = np.broadcast_shapes(shape_of(a), *[shape_of(c) for c in choices])
    dt = np.result_type(*[dtype_of(c) for c in choices])
    stacked = S.stack([S.broadcast_to(E.astype(c, dt), shape) for c in choices])
    idx = S.expand_dims(S.broadcast_to(a, shape), 0)
    from .sorting import take_along_axis
    return take_along_axis(stacked, idx, 0)[0]


@_export
def compress(condition, a, axis=None, out=None):
    """The slices of ``a`` along ``axis`` where ``condition`` (a constant) is true.

    >>> compress([True, False, True], np.array([1.0, 2.0, 3.0]))
    array([1., 3.])
    """
    if not _traced(a):
        return np.compress(condition, a, axis=axis, out=out)
    idx = np.nonzero(np.asarray(_static(condition, "compress", "the condition"), dtype=bool).ravel())[0]
    if axis is None:
        return I.take(S.ravel(a), idx)
    return I.take(a, idx, axis=axis)


@_export
def extract(condition, arr):
    """The elements of ``arr`` where ``condition`` (a constant) is true, flattened.

    >>> extract(np.array([True, False]), np.array([1.0, 2.0]))
    array([1.])
    """
    if not _traced(arr):
        return np.extract(condition, arr)
    cond = np.asarray(_static(condition, "extract", "the condition"))
    return I.take(S.ravel(arr), np.nonzero(cond.ravel())[0])


@_export
def bincount(x, weights=None, minlength=0):
    """Occurrences of each non-negative integer in ``x``, or the sums of ``weights`` per value (differentiable in
    ``weights``).

    >>> bincount(np.array([0, 2, 2]), weights=np.array([1.0, 0.5, 0.25]))
    array([1.  , 0.  , 0.75])
    """
    if not _traced(x, weights):
        return np.bincount(x, weights, minlength)
    xc = np.asarray(_static(x, "bincount", "the integer inputs"))
    if weights is None:
        return np.bincount(xc, None, minlength)
    n = max(int(xc.max()) + 1 if xc.size else 0, int(minlength))
    w = E.astype(as_operand(weights), np.float64)
    return I.index_add(np.zeros(n), xc, w)


@_export
def real_if_close(a, tol=100):
    """``real(a)`` when every imaginary part is within ``tol`` machine epsilons of zero, else ``a``.

    >>> real_if_close(np.array([1.0 + 1e-20j]))
    array([1.])
    """
    if not _traced(a):
        return np.real_if_close(a, tol)
    a = as_operand(a)
    if not np.issubdtype(dtype_of(a), np.complexfloating):
        return a
    t = float(tol)
    if t > 1:
        t *= np.finfo(dtype_of(a)).eps
    if np.all(np.abs(np.imag(concrete(a))) < t):
        return E.real(a)
    return a


@_export
def trim_zeros(filt, trim="fb", axis=None):
    """``filt`` without its leading (``'f'``) and/or trailing (``'b'``) zeros.

    >>> trim_zeros(np.array([0.0, 1.0, 2.0, 0.0]))
    array([1., 2.])
    """
    if not _traced(filt):
        return np.trim_zeros(filt, trim) if axis is None else np.trim_zeros(filt, trim, axis)
    f = as_operand(filt)
    if _batched(f):
        raise NotImplementedError("trim_zeros: vmap is not supported (the result's length depends on the values)")
    nz = np.nonzero(np.asarray(concrete(f)))[0]
    if nz.size == 0:
        return f[0:0]
    start = nz[0] if "f" in trim.lower() else 0
    stop = nz[-1] + 1 if "b" in trim.lower() else f.shape[0]
    return f[int(start):int(stop)]


# ---------------------------------------------------------------------------------------------------------
# Creation from values: linspace and friends, full
# ---------------------------------------------------------------------------------------------------------

@_export
def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0, *, device=None):
    """``num`` evenly spaced samples from ``start`` to ``stop``; differentiable in the endpoints (arrays of
    endpoints give one sequence per entry, along ``axis``).

    >>> import chainrule as cr
    >>> cr.grad(lambda b: linspace(0.0, b, 5)[1])(2.0)
    0.25
    """
    if not _traced(start, stop):
        return np.linspace(start, stop, num, endpoint, retstep, dtype, axis, device=device)
    num = int(num)
    if num < 0:
        raise ValueError(f"linspace: number of samples, {num}, must be non-negative")
    start, stop = _float(start), _float(stop)
    dt = np.result_type(dtype_of(start), dtype_of(stop), float)
    start, stop = E.astype(start, dt), E.astype(stop, dt)
    bshape = np.broadcast_shapes(shape_of(start), shape_of(stop))
    start, stop = S.broadcast_to(start, bshape), S.broadcast_to(stop, bshape)
    div = num - 1 if endpoint else num
    delta = stop - start
    steps = np.arange(num, dtype=dt).reshape((num,) + (1,) * len(bshape))
    if div > 0:
        step = delta / div
        y = start + steps * step
        if endpoint and num > 1:
            y = I.index_update(y, -1, stop)
    else:
        step = delta * np.nan
        y = start + steps * delta
    y = S.moveaxis(y, 0, axis) if bshape else y
    if dtype is not None:
        dtype = np.dtype(dtype)
        if np.issubdtype(dtype, np.integer):
            y = E.floor(y)
        y = E.astype(y, dtype)
    return (y, step) if retstep else y


@_export
def logspace(start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0):
    """``base ** linspace(start, stop)``; differentiable in the endpoints and the base.

    >>> logspace(0.0, 2.0, 3)
    array([  1.,  10., 100.])
    """
    if not _traced(start, stop, base):
        return np.logspace(start, stop, num, endpoint, base, dtype, axis)
    y = linspace(start, stop, num, endpoint, axis=axis)
    out = E.power(base, y)
    return E.astype(out, dtype) if dtype is not None else out


@_export
def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """Numbers spaced evenly on a log scale from ``start`` to ``stop`` (both of one sign, or complex).

    >>> geomspace(1.0, 100.0, 3)
    array([  1.,  10., 100.])
    """
    if not _traced(start, stop):
        return np.geomspace(start, stop, num, endpoint, dtype, axis)
    start, stop = _float(start), _float(stop)
    if np.issubdtype(np.result_type(dtype_of(start), dtype_of(stop)), np.complexfloating):
        out = E.exp(linspace(E.log(start), E.log(stop), num, endpoint, axis=0))
    else:
        s0, s1 = np.sign(concrete(start)), np.sign(concrete(stop))
        if np.any(s0 == 0) or np.any(s1 == 0):
            raise ValueError("geomspace: a sequence cannot include zero")
        if np.any(s0 != s1):
            raise NotImplementedError("geomspace of traced endpoints with different signs is not supported")
        sign = E.sign(E.stop_gradient(start))
        out = E.exp(linspace(E.log(start * sign), E.log(stop * sign), num, endpoint, axis=0)) * sign
    if num > 0:
        out = I.index_update(out, 0, S.broadcast_to(start, shape_of(out)[1:]))
        if endpoint and num > 1:
            out = I.index_update(out, -1, S.broadcast_to(stop, shape_of(out)[1:]))
    out = S.moveaxis(out, 0, axis) if out.ndim > 1 else out
    return E.astype(out, dtype) if dtype is not None else out


@_export
def full(shape, fill_value, dtype=None, order="C", *, device=None, like=None):
    """An array of ``shape`` filled with ``fill_value`` (differentiable in ``fill_value``).

    >>> import chainrule as cr
    >>> float(cr.grad(lambda v: full((2, 3), v).sum())(1.0))
    6.0
    """
    if not _traced(fill_value):
        return np.full(shape, fill_value, dtype, order, device=device, like=like)
    v = as_operand(fill_value)
    if dtype is not None:
        v = E.astype(v, dtype)
    shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(d) for d in shape)
    return S.broadcast_to(v, shape)


@_export
def full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None, *, device=None):
    """An array with the shape and dtype of ``a`` filled with ``fill_value`` (differentiable in ``fill_value``;
    ``a``'s values do not matter).

    >>> full_like(np.zeros(2), 3.0)
    array([3., 3.])
    """
    if not _traced(a, fill_value):
        return np.full_like(a, fill_value, dtype, order, subok, shape, device=device)
    a = as_operand(a)
    shape = shape_of(a) if shape is None else shape
    dtype = dtype_of(a) if dtype is None else dtype
    if not isinstance(fill_value, Tracer):
        return np.full(shape, fill_value, dtype)
    return full(shape, fill_value, dtype)


@_export
def empty_like(prototype, dtype=None, order="K", subok=True, shape=None, *, device=None):
    """An uninitialised (here: zero) array with the shape and dtype of ``prototype`` (a constant).

    >>> empty_like(np.ones(2)).shape
    (2,)
    """
    if not _traced(prototype):
        return np.empty_like(prototype, dtype, order, subok, shape, device=device)
    return np.zeros(shape_of(prototype) if shape is None else shape,
                    dtype_of(prototype) if dtype is None else dtype)


# ---------------------------------------------------------------------------------------------------------
# Functional helpers
# ---------------------------------------------------------------------------------------------------------

@_export
def apply_along_axis(func1d, axis, arr, *args, **kwargs):
    """``func1d`` applied to the 1-D slices of ``arr`` along ``axis``, vectorised with ``vmap`` (so ``func1d``
    must be written with chainrule operations, without Python control flow on values).

    >>> apply_along_axis(lambda v: v[0] + v[-1], 1, np.array([[1.0, 2.0], [3.0, 4.0]]))
    array([3., 7.])
    """
    if not _traced(arr):
        return np.apply_along_axis(func1d, axis, arr, *args, **kwargs)
    from ..transforms import vmap
    arr = as_operand(arr)
    nd = arr.ndim
    axis = normalize_axis(axis, nd)
    x = S.moveaxis(arr, axis, -1)
    lead = tuple(x.shape[:-1])
    flat = S.reshape(x, (-1, x.shape[-1]))
    res = vmap(lambda row: func1d(row, *args, **kwargs))(flat)
    res = as_operand(res)
    out_shape = tuple(res.shape[1:])
    res = S.reshape(res, lead + out_shape)
    k = len(out_shape)
    if k:
        res = S.moveaxis(res, tuple(range(len(lead), len(lead) + k)), tuple(range(axis, axis + k)))
    return res


@_export
def apply_over_axes(func, a, axes):
    """``func(a, axis)`` applied for each axis in turn, keeping the rank (reduced axes kept with size one).

    >>> apply_over_axes(lambda x, ax: x.sum(axis=ax), np.ones((2, 3)), [0, 1])
    array([[6.]])
    """
    if not _traced(a):
        return np.apply_over_axes(func, a, axes)
    val = as_operand(a)
    n = val.ndim
    for ax in np.atleast_1d(np.asarray(axes)):
        ax = int(ax) % n
        res = func(val, ax)
        if shape_of(res) and len(shape_of(res)) == n:
            val = res
        else:
            val = S.expand_dims(res, ax)
    return val


@_export
def copy(a, order="K", subok=False):
    """A copy of ``a`` (traced values are immutable, so for them this is ``a`` itself).

    >>> copy(np.array([1.0]))
    array([1.])
    """
    if isinstance(a, Tracer):
        return a
    return np.copy(a, order=order, subok=subok)


@_export
def iscomplexobj(x):
    """Whether ``x`` has a complex dtype (traced values included).

    >>> iscomplexobj(np.array([1j]))
    True
    """
    if isinstance(x, Tracer):
        return bool(np.issubdtype(x.dtype, np.complexfloating))
    return np.iscomplexobj(x)


@_export
def isrealobj(x):
    """Whether ``x`` does not have a complex dtype (traced values included).

    >>> isrealobj(np.array([1.0]))
    True
    """
    return not iscomplexobj(x)


def _dtype_or_value(x):
    return x.dtype if isinstance(x, Tracer) else x


@_export
def result_type(*arrays_and_dtypes):
    """The dtype NumPy's promotion gives the arguments (traced values count by their dtype).

    >>> result_type(np.float32, 1.0)
    dtype('float32')
    """
    return np.result_type(*[_dtype_or_value(x) for x in arrays_and_dtypes])


@_export
def can_cast(from_, to, casting="safe"):
    """Whether ``from_`` (a dtype or a traced value's dtype) can be cast to ``to``.

    >>> can_cast(np.float32, np.float64)
    True
    """
    return np.can_cast(_dtype_or_value(from_), to, casting)


@_export
def einsum_path(subscripts, *operands, optimize="greedy"):
    """NumPy's contraction order for an einsum (computed from the operands' shapes alone).

    >>> einsum_path("ij,jk->ik", np.ones((2, 3)), np.ones((3, 4)))[0]
    ['einsum_path', (0, 1)]
    """
    stand_ins = [np.zeros(x.shape, x.dtype) if isinstance(x, Tracer) else x for x in operands]
    return np.einsum_path(subscripts, *stand_ins, optimize=optimize)


@_export
def may_share_memory(a, b, max_work=None):
    """Whether ``a`` and ``b`` might share memory (traced values never do).

    >>> may_share_memory(np.ones(1), np.ones(1))
    False
    """
    if _traced(a, b):
        return False
    return np.may_share_memory(a, b, max_work)


@_export
def shares_memory(a, b, max_work=None):
    """Whether ``a`` and ``b`` share memory (traced values never do).

    >>> shares_memory(np.ones(1), np.ones(1))
    False
    """
    if _traced(a, b):
        return False
    return np.shares_memory(a, b, max_work)


@_export
def asarray_chkfinite(a, dtype=None, order=None):
    """``a`` as an array, raising ``ValueError`` if it holds infinities or NaNs (traced values included).

    >>> asarray_chkfinite([1.0, 2.0])
    array([1., 2.])
    """
    if not _traced(a):
        return np.asarray_chkfinite(a, dtype, order)
    a = _op(a)
    c = np.asarray(concrete(a))
    if np.issubdtype(c.dtype, np.inexact) and not np.isfinite(c).all():
        raise ValueError("array must not contain infs or NaNs")
    return a if dtype is None else E.astype(a, dtype)


@_export
def require(a, dtype=None, requirements=None, *, like=None):
    """``a`` as an array meeting the memory ``requirements`` (a traced value meets them as it is).

    >>> require(np.ones(2), requirements="C").flags["C_CONTIGUOUS"]
    True
    """
    if not _traced(a):
        return np.require(a, dtype, requirements)
    return a if dtype is None else E.astype(a, dtype)


@_export
def isfortran(a):
    """Whether ``a`` is Fortran-ordered and not C-ordered (never, for a traced value).

    >>> isfortran(np.ones((2, 2)))
    False
    """
    return False if isinstance(a, Tracer) else np.isfortran(a)


def _shape_only(fn, doc):
    def f(arr, *args, **kwargs):
        arr = _op(arr)
        return fn(np.empty(shape_of(arr), dtype=np.int8) if isinstance(arr, Tracer) else arr, *args, **kwargs)
    f.__name__ = f.__qualname__ = fn.__name__
    f.__doc__ = doc
    globals()[f.__name__] = f
    return _export(f)


_shape_only(np.diag_indices_from, """The indices of the main diagonal of ``arr`` (from its shape; traced values
included).

>>> diag_indices_from(np.ones((2, 2)))
(array([0, 1]), array([0, 1]))
""")
_shape_only(np.tril_indices_from, """The indices of the lower triangle of ``arr`` (from its shape).

>>> tril_indices_from(np.ones((2, 2)))
(array([0, 1, 1]), array([0, 0, 1]))
""")
_shape_only(np.triu_indices_from, """The indices of the upper triangle of ``arr`` (from its shape).

>>> triu_indices_from(np.ones((2, 2)))
(array([0, 0, 1]), array([0, 1, 1]))
""")


@_export
def ix_(*args):
    """Open-mesh index arrays from 1-D sequences (traced integer arrays, batched ones included, are reshaped).

    >>> [a.shape for a in ix_([0, 1], [2, 0, 1])]
    [(2, 1), (1, 3)]
    """
    if not _traced(list(args)):
        return np.ix_(*args)
    n = len(args)
    out = []
    for k, a in enumerate(args):
        a = _op(a)
        if a.ndim != 1:
            raise ValueError("Cross index must be 1 dimensional")
        if a.dtype == bool:
            a = np.nonzero(np.asarray(_static(a, "ix_", "a boolean index")))[0]
        out.append(S.reshape(a, (1,) * k + (-1,) + (1,) * (n - k - 1)))
    return tuple(out)


@_export
def common_type(*arrays):
    """The inexact scalar type common to the arrays (traced values count by their dtype).

    >>> common_type(np.ones(1, np.float32), np.ones(1, np.int8))
    <class 'numpy.float64'>
    """
    return np.common_type(*[np.empty(0, a.dtype) if isinstance(a, Tracer) else a for a in arrays])


@_export
def min_scalar_type(a):
    """The smallest dtype holding ``a`` (for a traced value: its own dtype unless it is a scalar).

    >>> min_scalar_type(10)
    dtype('uint8')
    """
    return np.min_scalar_type(concrete(a) if isinstance(a, Tracer) and not shape_of(a) else
                              (np.empty(0, a.dtype) if isinstance(a, Tracer) else a))


@_export
def unravel_index(indices, shape, order="C"):
    """The coordinate arrays that the flat ``indices`` address in an array of ``shape`` (integer arithmetic, so
    batched indices work under ``vmap``).

    >>> unravel_index(np.array([5, 1]), (2, 3))
    (array([1, 0]), array([2, 1]))
    """
    if not _traced(indices):
        return np.unravel_index(indices, shape, order)
    shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(d) for d in shape)
    size = _size(shape)
    idx = np.asarray(_static(indices, "unravel_index", "the bounds check")) if not _batched(indices) else None
    if idx is not None and np.any((idx < 0) | (idx >= size)):
        raise ValueError(f"unravel_index: index {idx.max() if np.any(idx >= size) else idx.min()} is out of bounds "
                         f"for array with size {size}")
    dims = shape if order == "C" else shape[::-1]
    out = []
    rem = _op(indices)
    for d in dims[::-1]:
        out.append(E.remainder(rem, d))
        rem = E.floor_divide(rem, d)
    out = out[::-1]
    return tuple(out if order == "C" else out[::-1])


@_export
def ravel_multi_index(multi_index, dims, mode="raise", order="C"):
    """The flat indices of the coordinate arrays ``multi_index`` in an array of shape ``dims`` (integer
    arithmetic, batchable).

    >>> ravel_multi_index((np.array([1, 0]), np.array([2, 1])), (2, 3))
    array([5, 1])
    """
    if not _traced(list(multi_index)):
        return np.ravel_multi_index(multi_index, dims, mode, order)
    dims = tuple(int(d) for d in dims)
    modes = (mode,) * len(dims) if isinstance(mode, str) else tuple(mode)
    coords = []
    for c, d, md in zip(multi_index, dims, modes):
        c = _op(c)
        if md == "wrap":
            c = E.remainder(c, d)
        elif md == "clip":
            c = E.clip(c, 0, d - 1)
        elif not _batched(c):
            cc = np.asarray(concrete(c))
            if np.any((cc < 0) | (cc >= d)):
                raise ValueError("ravel_multi_index: invalid entry in coordinates array")
        coords.append(c)
    order_dims = list(range(len(dims))) if order == "C" else list(range(len(dims)))[::-1]
    flat = 0
    for k in order_dims:
        flat = flat * dims[k] + coords[k]
    return flat
