"""``chainrule.scipy.linalg``: SciPy's linear algebra, differentiable in forward and reverse mode and batchable.

Primitives defined here (impl: ``scipy.linalg``, which accepts stacks of matrices), each with JVP, VJP and a batch
rule that moves the mapped axis to the front:

- ``solve_triangular``: ``dx = op(A)^-1 (db - op(tri(dA)) x)``; VJP by a solve with the transposed operator.
- ``solve_sylvester`` (``AX + XB = Q``): ``dX`` solves the same equation with ``dQ - dA X - X dB``; the VJP solves
  the transposed one, ``A^T L + L B^T = G``.
- ``sqrtm``: differentiating ``X X = A`` gives the Sylvester equation ``X dX + dX X = dA``.
- ``expm`` and ``logm``: the Frechet derivative of a primary matrix function ``f`` is the top-right block of
  ``f([[A, E], [0, A]])``; its transpose is the Frechet derivative at ``A^T`` (NOTE: [block Frechet]).
- ``lu_factor``: the LU derivative ``F = L^-1 P dA U^-1``, ``dL = L tril(F, -1)``, ``dU = triu(F) U``.
- ``solve_banded``: as a solve, with the band storage handled by shifted rows (NOTE: [band storage]).

``cholesky``, ``cho_factor``/``cho_solve``, ``lu_solve``, ``eigh`` (also generalized), ``solve``, ``inv`` and
``det`` are compositions on these and on ``chainrule.numpy.linalg``. Complex values follow the convention of
``chainrule.ops.decomp`` (VJPs are transposes under the bilinear pairing, as in JAX and HIPS autograd).

>>> import numpy as np, chainrule as cr
>>> import chainrule.scipy.linalg as csl
>>> float(cr.grad(lambda a: csl.expm(a)[0, 0])(np.zeros((2, 2)))[0, 0])  # d exp(a)/da at 0
1.0
"""
import importlib
import warnings

import numpy as np
import scipy.linalg as _sl

from ..core.primitive import Primitive
from ..core.trace import Tracer, concrete
from ..interpreters.batching import move_to_front
from ..ops import elementwise as E
from ..ops import reduction as R
from ..ops import shape as S
from ..ops.linalg import matmul
from ..ops._util import as_operand, shape_of

__all__ = ["solve_triangular", "solve_sylvester", "solve_banded", "sqrtm", "expm", "logm", "cholesky", "cho_factor",
           "cho_solve", "lu_factor", "lu_solve", "eigh", "solve", "inv", "det", "LinAlgError"]

LinAlgError = np.linalg.LinAlgError

# NOTE: `from ..numpy import linalg` could hand back NumPy's own linalg (chainrule.numpy forwards unknown
# attributes to NumPy until its submodule is imported), so the submodule is imported by its full name.
_nla = importlib.import_module("chainrule.numpy.linalg")


# ---------------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------------

def _T(x):
    return S.swapaxes(x, -1, -2)


def _is_complex(x):
    return np.issubdtype(x.dtype, np.complexfloating)


def _conj(x):
    if not _is_complex(x):
        return x
    from ..ops.decomp import conj
    return conj(x)


def _tri(x, lower, k=0):
    """``x`` times the constant mask ``tril(ones, k)`` (``triu(ones, -k)`` when not ``lower``)."""
    n = x.shape[-1]
    ones = np.ones((x.shape[-2], n), np.finfo(x.dtype).dtype)
    return x * (np.tril(ones, k) if lower else np.triu(ones, -k))


def _front_all(prim):
    """Batch rule for a primitive whose operands share leading batch dimensions: every operand gets the mapped
    axis at the front (unmapped ones are broadcast), so the impl sees one more batch dimension."""
    bind = prim.bind

    def batch(size, vals, dims, **params):
        vals = [move_to_front(v, d, size) for v, d in zip(vals, dims)]
        return bind(*vals, **params), 0

    prim.batch = batch
    return prim


def _over_batch(fn, nargs):
    """``fn`` on single matrices, applied to operands with leading batch dimensions (all operands have the same
    ones, and two core dimensions): one SciPy call per matrix, results stacked. SciPy >= 1.15 loops over batches
    the same way internally; doing it here keeps older SciPy versions working."""
    def impl(*args, **params):
        mats, rest = args[:nargs], args[nargs:]
        batch = np.shape(mats[0])[:-2]
        if not batch:
            return fn(*args, **params)
        outs = [fn(*[m[i] for m in mats], *rest, **params) for i in np.ndindex(batch)]
        if isinstance(outs[0], (list, tuple)):
            return [np.stack([o[k] for o in outs]).reshape(batch + np.shape(outs[0][k])) for k in range(len(outs[0]))]
        return np.stack(outs).reshape(batch + np.shape(outs[0]))
    impl.__name__ = getattr(fn, "__name__", "impl")
    return impl


def _array(x):
    x = as_operand(x)
    return x if isinstance(x, Tracer) else np.asarray(x)


def _dtype(name, *xs):
    dt = np.result_type(*[x.dtype for x in xs])
    if not np.issubdtype(dt, np.inexact):
        return np.dtype(np.float64)
    if dt == np.float16 or dt == np.longdouble or dt == np.clongdouble:
        raise TypeError(f"{name}: array type {dt} is not supported")
    return dt


def _cast(x, dt):
    if x.dtype == dt:
        return x
    return E.astype(x, dt) if isinstance(x, Tracer) else x.astype(dt)


def _check_finite(name, *xs):
    for x in xs:
        if not np.all(np.isfinite(np.asarray(concrete(x)))):
            raise ValueError(f"{name}: array must not contain infs or NaNs")


def _square(name, a):
    a = _array(a)
    shape = shape_of(a)
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise ValueError(f"{name}: expected a square matrix (or a stack of them), got shape {shape}")
    return a


def _broadcast_batch(name, *pairs):
    """Broadcast the leading (batch) dimensions of operands given as ``(x, core_ndim)`` explicitly."""
    shapes = [shape_of(x) for x, _ in pairs]
    try:
        batch = np.broadcast_shapes(*[s[:len(s) - k] for s, (_, k) in zip(shapes, pairs)])
    except ValueError:
        shown = " and ".join(str(s) for s in shapes)
        raise ValueError(f"{name}: batch dimensions of shapes {shown} cannot be broadcast together") from None
    out = []
    for s, (x, k) in zip(shapes, pairs):
        want = tuple(batch) + s[len(s) - k:]
        if s != want:
            x = S.broadcast_to(x, want)
        out.append(x)
    return out


_TRANS = {0: 0, 1: 1, 2: 2, "N": 0, "T": 1, "C": 2, "n": 0, "t": 1, "c": 2}


# ---------------------------------------------------------------------------------------------------------
# solve_triangular
# ---------------------------------------------------------------------------------------------------------

def _st_impl(a, b, lower, trans, unit_diagonal):
    return _sl.solve_triangular(a, b, trans=trans, lower=lower, unit_diagonal=unit_diagonal, check_finite=False)


solve_triangular_p = _front_all(Primitive("solve_triangular", _over_batch(_st_impl, 2)))


def _st_tri(x, lower, unit_diagonal):
    return _tri(x, lower, -1 if unit_diagonal else 0)


def _st_jvp(primals, tangents, lower, trans, unit_diagonal):
    a, b = primals
    da, db = tangents
    bind = solve_triangular_p.bind
    x = bind(a, b, lower=lower, trans=trans, unit_diagonal=unit_diagonal)
    rhs = db
    if da is not None:
        da = _st_tri(da, lower, unit_diagonal)
        term = matmul(_T(da) if trans else da, x)
        rhs = -term if rhs is None else rhs - term
    return x, bind(a, rhs, lower=lower, trans=trans, unit_diagonal=unit_diagonal)


def _st_vjp(g, x, a, b, lower, trans, unit_diagonal):
    gb = solve_triangular_p.bind(a, g, lower=lower, trans=1 - trans, unit_diagonal=unit_diagonal)
    ga = matmul(x, _T(gb)) if trans else matmul(gb, _T(x))
    return -_st_tri(ga, lower, unit_diagonal), gb


solve_triangular_p.jvp = _st_jvp
solve_triangular_p.vjp = _st_vjp


def solve_triangular(a, b, trans=0, lower=False, unit_diagonal=False, overwrite_b=False, check_finite=True):
    """Solve ``op(a) x = b`` for triangular ``a`` (``op`` is the identity, transpose or conjugate transpose for
    ``trans`` 0/'N', 1/'T', 2/'C'). Only the ``lower`` (or upper) triangle of ``a`` is read (and not its diagonal
    when ``unit_diagonal``), so its cotangent lies in that triangle too. ``b`` is a vector when it has one
    dimension fewer than ``a`` and a matrix otherwise; leading dimensions are batch dimensions.

    >>> import numpy as np
    >>> solve_triangular(np.array([[2.0, 0.0], [1.0, 1.0]]), np.array([2.0, 3.0]), lower=True)
    array([1., 2.])
    """
    if trans not in _TRANS:
        raise ValueError(f"solve_triangular: trans must be 0, 1, 2 or 'N', 'T', 'C', got {trans!r}")
    trans = _TRANS[trans]
    a, b = _square("solve_triangular", a), _array(b)
    sa, sb = shape_of(a), shape_of(b)
    vector = len(sb) == len(sa) - 1
    if vector:
        b = S.expand_dims(b, -1)
    if len(shape_of(b)) < 2 or shape_of(b)[-2] != sa[-1]:
        raise ValueError(f"solve_triangular: shapes of a {sa} and b {sb} are incompatible")
    if check_finite:
        _check_finite("solve_triangular", a, b)
    dt = _dtype("solve_triangular", a, b)
    a, b = _broadcast_batch("solve_triangular", (_cast(a, dt), 2), (_cast(b, dt), 2))
    if trans == 2:
        a, trans = _conj(a), 1
    x = solve_triangular_p.bind(a, b, lower=bool(lower), trans=trans, unit_diagonal=bool(unit_diagonal))
    return x[..., 0] if vector else x


# ---------------------------------------------------------------------------------------------------------
# solve_sylvester
# ---------------------------------------------------------------------------------------------------------

solve_sylvester_p = _front_all(Primitive("solve_sylvester", _over_batch(_sl.solve_sylvester, 3)))


def _sylvester_jvp(primals, tangents):
    a, b, q = primals
    da, db, dq = tangents
    x = solve_sylvester_p.bind(a, b, q)
    rhs = dq
    for term in (None if da is None else matmul(da, x), None if db is None else matmul(x, db)):
        if term is not None:
            rhs = -term if rhs is None else rhs - term
    return x, solve_sylvester_p.bind(a, b, rhs)


def _sylvester_vjp(g, x, a, b, q):
    lam = solve_sylvester_p.bind(_T(a), _T(b), g)
    return -matmul(lam, _T(x)), -matmul(_T(x), lam), lam


solve_sylvester_p.jvp = _sylvester_jvp
solve_sylvester_p.vjp = _sylvester_vjp


def solve_sylvester(a, b, q):
    """Solve the Sylvester equation ``a x + x b = q`` (Bartels-Stewart), differentiable in all three operands.

    >>> import numpy as np
    >>> solve_sylvester(np.eye(2), np.eye(2), np.eye(2))
    array([[0.5, 0. ],
           [0. , 0.5]])
    """
    a, b, q = _square("solve_sylvester", a), _square("solve_sylvester", b), _array(q)
    sa, sb, sq = shape_of(a), shape_of(b), shape_of(q)
    if len(sq) < 2 or sq[-2:] != (sa[-1], sb[-1]):
        raise ValueError(f"solve_sylvester: q must have shape (..., {sa[-1]}, {sb[-1]}) for a of shape {sa} and b of "
                         f"shape {sb}, got {sq}")
    dt = _dtype("solve_sylvester", a, b, q)
    a, b, q = _broadcast_batch("solve_sylvester", (_cast(a, dt), 2), (_cast(b, dt), 2), (_cast(q, dt), 2))
    return solve_sylvester_p.bind(a, b, q)


# ---------------------------------------------------------------------------------------------------------
# Matrix functions: sqrtm, expm, logm
# ---------------------------------------------------------------------------------------------------------

def _real_if_real_input(name, fn):
    """The impl of a matrix function: SciPy's result, cast back to the input's dtype when it is real (float32 stays
    float32); a real input with a genuinely complex result keeps the complex result."""
    def impl(a, **params):
        out = np.asarray(fn(a, **params))
        if not _is_complex(a) and _is_complex(out):
            return out
        return out.astype(a.dtype, copy=False)
    impl.__name__ = name
    return impl


def _to_input_dtype(ct, a):
    """A cotangent for real ``a`` from a possibly complex expression (a real input with a complex result)."""
    if _is_complex(ct) and not _is_complex(a):
        return E.astype(ct, a.dtype)
    return ct


sqrtm_p = _front_all(Primitive("sqrtm", _real_if_real_input("sqrtm", _over_batch(_sl.sqrtm, 1))))


def _sqrtm_jvp(primals, tangents):
    a, = primals
    x = sqrtm_p.bind(a)
    da = tangents[0]
    if _is_complex(x) and not _is_complex(da):
        da = E.astype(da, x.dtype)
    return x, solve_sylvester_p.bind(x, x, da)


sqrtm_p.jvp = _sqrtm_jvp
sqrtm_p.vjp = (lambda g, x, a: _to_input_dtype(solve_sylvester_p.bind(_T(x), _T(x), g), a),)


def sqrtm(A):
    """The principal matrix square root. Its derivative solves the Sylvester equation ``X dX + dX X = dA``.

    >>> import numpy as np
    >>> sqrtm(np.array([[4.0, 0.0], [0.0, 9.0]]))
    array([[2., 0.],
           [0., 3.]])
    """
    a = _square("sqrtm", A)
    return sqrtm_p.bind(_cast(a, _dtype("sqrtm", a)))


# NOTE: [block Frechet]
# For a primary matrix function f (a power series with real coefficients, or its analytic continuation: exp,
# log, sqrt), f([[A, E], [0, A]]) = [[f(A), L_f(A, E)], [0, f(A)]], where L_f(A, E) is the Frechet derivative, the
# JVP. The map E -> L_f(A, E) has transpose E -> L_f(A^T, E) under the bilinear pairing, so the VJP is the same
# construction at A^T. L_f is linear in E, so E is divided by a constant (its largest magnitude) before the call
# and the result multiplied back: the block matrix stays well scaled whatever the size of the tangent, and the
# derivative is unchanged (the constant does not depend on the input). Everything is chainrule ops and one more
# call of the same primitive, so the rule differentiates again.

def _frechet(prim, a, e, **params):
    n = a.shape[-1]
    c = float(np.max(np.abs(np.asarray(concrete(e))))) if e.size else 0.0
    if c == 0.0 or not np.isfinite(c):
        c = 1.0
    e = e * (1.0 / c)
    if _is_complex(a) and not _is_complex(e):
        e = E.astype(e, a.dtype)
    elif _is_complex(e) and not _is_complex(a):
        a = E.astype(a, e.dtype)
    zero = np.zeros(shape_of(a), a.dtype)
    big = S.concatenate([S.concatenate([a, e], axis=-1), S.concatenate([zero, a], axis=-1)], axis=-2)
    return prim.bind(big, **params)[..., :n, n:] * c


expm_p = _front_all(Primitive("expm", _real_if_real_input("expm", _sl.expm)))  # SciPy batches expm itself
expm_p.jvp = lambda primals, tangents: (expm_p.bind(primals[0]), _frechet(expm_p, primals[0], tangents[0]))
expm_p.vjp = (lambda g, out, a: _to_input_dtype(_frechet(expm_p, _T(a), g), a),)


def expm(A):
    """The matrix exponential (Pade approximation with scaling and squaring). Derivatives are Frechet derivatives
    from the block-triangular construction (NOTE: [block Frechet]).

    >>> import numpy as np
    >>> expm(np.zeros((2, 2)))
    array([[1., 0.],
           [0., 1.]])
    """
    a = _square("expm", A)
    return expm_p.bind(_cast(a, _dtype("expm", a)))


def _logm_impl(a, quiet):
    # SciPy warns when its error estimate for logm is large. Its estimate is pessimistic for the block matrices of
    # the Frechet derivative (repeated eigenvalues by construction), so those internal calls are quiet.
    with warnings.catch_warnings():
        if quiet:
            warnings.simplefilter("ignore", RuntimeWarning)
        with np.errstate(all="ignore"):
            # single precision is computed in double (SciPy's float32 path is less accurate and warns)
            return _sl.logm(a.astype(np.complex128 if _is_complex(a) else np.float64))


logm_p = _front_all(Primitive("logm", _real_if_real_input("logm", _over_batch(_logm_impl, 1))))
logm_p.jvp = lambda primals, tangents, quiet: (logm_p.bind(primals[0], quiet=quiet),
                                               _frechet(logm_p, primals[0], tangents[0], quiet=True))
logm_p.vjp = (lambda g, out, a, quiet: _to_input_dtype(_frechet(logm_p, _T(a), g, quiet=True), a),)


def logm(A, disp=True):
    """The principal matrix logarithm (``expm(logm(A)) == A``); derivatives as for ``expm`` (NOTE: [block
    Frechet]). ``disp`` is accepted for SciPy compatibility and ignored.

    >>> import numpy as np
    >>> logm(np.eye(2))
    array([[0., 0.],
           [0., 0.]])
    """
    a = _square("logm", A)
    return logm_p.bind(_cast(a, _dtype("logm", a)), quiet=False)


# ---------------------------------------------------------------------------------------------------------
# Cholesky
# ---------------------------------------------------------------------------------------------------------

def cholesky(a, lower=False, overwrite_a=False, check_finite=True):
    """The Cholesky factor of a Hermitian positive-definite matrix: upper ``U`` with ``a = U^H U`` by default (as in
    SciPy), lower ``L`` with ``a = L L^H`` when ``lower=True``.

    >>> import numpy as np
    >>> cholesky(np.array([[4.0, 2.0], [2.0, 5.0]]))
    array([[2., 1.],
           [0., 2.]])
    """
    a = _square("cholesky", a)
    if check_finite:
        _check_finite("cholesky", a)
    return _nla.cholesky(a, upper=not lower)


def cho_factor(a, lower=False, overwrite_a=False, check_finite=True):
    """``(c, lower)`` for ``cho_solve``; unlike SciPy the other triangle of ``c`` is zero rather than arbitrary.

    >>> import numpy as np
    >>> c, low = cho_factor(np.array([[4.0, 2.0], [2.0, 5.0]]))
    >>> low
    False
    """
    return cholesky(a, lower=lower, check_finite=check_finite), bool(lower)


def cho_solve(c_and_lower, b, overwrite_b=False, check_finite=True):
    """Solve ``a x = b`` given ``(c, lower)`` from ``cho_factor``: two triangular solves.

    >>> import numpy as np
    >>> a = np.array([[4.0, 2.0], [2.0, 5.0]])
    >>> bool(np.allclose(cho_solve(cho_factor(a), np.array([1.0, 2.0])), np.linalg.solve(a, [1.0, 2.0])))
    True
    """
    c, lower = c_and_lower
    if lower:
        y = solve_triangular(c, b, lower=True, check_finite=check_finite)
        return solve_triangular(c, y, trans=2, lower=True, check_finite=False)
    y = solve_triangular(c, b, trans=2, lower=False, check_finite=check_finite)
    return solve_triangular(c, y, lower=False, check_finite=False)


# ---------------------------------------------------------------------------------------------------------
# LU
# ---------------------------------------------------------------------------------------------------------

def _perm_from_piv(piv):
    """LAPACK pivots (row ``i`` swapped with row ``piv[i]``, in order) as a permutation ``perm`` with
    ``a[perm] == L @ U``. One vectorised swap per row (over any batch dimensions)."""
    piv = np.asarray(piv)
    n = piv.shape[-1]
    perm = np.array(np.broadcast_to(np.arange(n), piv.shape))
    for i in range(n):
        j = piv[..., i:i + 1]
        here = perm[..., i:i + 1].copy()
        perm[..., i:i + 1] = np.take_along_axis(perm, j, -1)
        np.put_along_axis(perm, j, here, -1)
    return perm


def _lu_factor_one(a):
    lu, piv = _sl.lu_factor(a, check_finite=False)
    return [lu, piv]


def _lu_factor_impl(a):
    lu, piv = _over_batch(_lu_factor_one, 1)(a)
    return [lu, piv, _perm_from_piv(piv)]


lu_factor_p = _front_all(Primitive("lu_factor", _lu_factor_impl, multiple_results=True))
perm_from_piv_p = _front_all(Primitive("perm_from_piv", _perm_from_piv))
perm_from_piv_p.nondiff = True


def _perm_matrix(perm, dtype):
    """``P`` with ``P @ a == a[perm]`` (a one-hot matrix built with batched comparisons)."""
    n = perm.shape[-1]
    return E.astype(S.expand_dims(perm, -1) == np.arange(n), dtype)


def _lu_parts(lu):
    n = lu.shape[-1]
    eye = np.eye(n, dtype=np.finfo(lu.dtype).dtype)
    return _tri(lu, True, -1) + eye, _tri(lu, False)


def _lu_jvp(primals, tangents):
    a, = primals
    lu, piv, perm = lu_factor_p.bind(a)
    low, up = _lu_parts(lu)
    pda = matmul(_perm_matrix(perm, a.dtype), tangents[0])
    f = solve_triangular_p.bind(low, pda, lower=True, trans=0, unit_diagonal=True)             # L^-1 P dA
    f = _T(solve_triangular_p.bind(up, _T(f), lower=False, trans=1, unit_diagonal=False))       # ... U^-1
    dlu = matmul(low, _tri(f, True, -1)) + matmul(_tri(f, False), up)
    return [lu, piv, perm], [dlu, None, None]


def _lu_vjp(g, out, a):
    lu, piv, perm = out
    glu = g[0]
    low, up = _lu_parts(lu)
    fbar = _tri(matmul(_T(low), glu), True, -1) + _tri(matmul(glu, _T(up)), False)
    y = solve_triangular_p.bind(low, fbar, lower=True, trans=1, unit_diagonal=True)            # L^-T Fbar
    z = _T(solve_triangular_p.bind(up, _T(y), lower=False, trans=0, unit_diagonal=False))       # ... U^-T
    return (matmul(_T(_perm_matrix(perm, a.dtype)), z),)


lu_factor_p.jvp = _lu_jvp
lu_factor_p.vjp = _lu_vjp


def lu_factor(a, overwrite_a=False, check_finite=True):
    """LU factorisation with partial pivoting, SciPy's packed form ``(lu, piv)``: ``lu`` holds ``U`` and the strict
    lower part of the unit-lower ``L``, ``piv`` the LAPACK row interchanges. Differentiable in ``a`` (square
    matrices, or stacks of them).

    >>> import numpy as np
    >>> lu, piv = lu_factor(np.array([[1.0, 2.0], [3.0, 4.0]]))
    >>> piv
    array([1, 1], dtype=int32)
    """
    a = _square("lu_factor", a)
    if check_finite:
        _check_finite("lu_factor", a)
    lu, piv, _ = lu_factor_p.bind(_cast(a, _dtype("lu_factor", a)))
    return lu, piv


def lu_solve(lu_and_piv, b, trans=0, overwrite_b=False, check_finite=True):
    """Solve ``op(a) x = b`` from ``lu_factor``'s ``(lu, piv)`` (``trans`` as in ``solve_triangular``);
    differentiable in ``lu`` and ``b``.

    >>> import numpy as np
    >>> a = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> bool(np.allclose(lu_solve(lu_factor(a), np.array([1.0, 1.0])), np.linalg.solve(a, [1.0, 1.0])))
    True
    """
    if trans not in _TRANS:
        raise ValueError(f"lu_solve: trans must be 0, 1, 2 or 'N', 'T', 'C', got {trans!r}")
    trans = _TRANS[trans]
    lu, piv = lu_and_piv
    lu, b = _square("lu_solve", lu), _array(b)
    sl_, sb = shape_of(lu), shape_of(b)
    vector = len(sb) == len(sl_) - 1
    if vector:
        b = S.expand_dims(b, -1)
    if len(shape_of(b)) < 2 or shape_of(b)[-2] != sl_[-1]:
        raise ValueError(f"lu_solve: shapes of lu {sl_} and b {sb} are incompatible")
    if check_finite:
        _check_finite("lu_solve", lu, b)
    dt = _dtype("lu_solve", lu, b)
    lu, b = _cast(lu, dt), _cast(b, dt)
    p = _perm_matrix(perm_from_piv_p.bind(piv), dt)
    if trans == 0:
        y = solve_triangular(lu, matmul(p, b), lower=True, unit_diagonal=True, check_finite=False)
        x = solve_triangular(lu, y, lower=False, check_finite=False)
    else:
        y = solve_triangular(lu, b, trans=trans, lower=False, check_finite=False)
        y = solve_triangular(lu, y, trans=trans, lower=True, unit_diagonal=True, check_finite=False)
        x = matmul(_T(p), y)
    return x[..., 0] if vector else x


# ---------------------------------------------------------------------------------------------------------
# solve_banded
# ---------------------------------------------------------------------------------------------------------

# NOTE: [band storage]
# SciPy stores a banded matrix as ab[u + i - j, j] = a[i, j]: row r of ab is the diagonal with offset s = u - r
# (a[i, i + s]), aligned by column. Every band operation here is a sum over those l + u + 1 rows of shifted
# (sliced and zero-padded) rows, so it is made of chainrule ops and costs O(n (l + u)) per right-hand side,
# like the solve. Entries of ab outside the band (the unused corners) are never read, and get zero cotangent.

def _shift_rows(x, s, axis):
    """``y[i] = x[i + s]`` along ``axis`` (a negative axis), zero where ``i + s`` falls outside."""
    n = x.shape[axis]
    if abs(s) >= n:
        return x * 0
    pad = [(0, 0)] * x.ndim
    idx = [slice(None)] * x.ndim
    if s >= 0:
        idx[axis] = slice(s, None)
        pad[axis] = (0, s)
    else:
        idx[axis] = slice(None, n + s)
        pad[axis] = (-s, 0)
    return S.pad(x[tuple(idx)], pad)


def _band_matvec(ab, x, l, u):
    """``a @ x`` for ``a`` in band storage ``ab`` (..., l+u+1, n) and ``x`` (..., n, k)."""
    y = None
    for r in range(l + u + 1):
        s = u - r
        term = _shift_rows(S.expand_dims(ab[..., r, :], -1) * x, s, -2)  # row i: a[i, i+s] x[i+s]
        y = term if y is None else y + term
    return y


def _band_transpose(ab, l, u):
    """Band storage of ``a^T`` (which has ``u`` sub- and ``l`` superdiagonals)."""
    rows = []
    for rt in range(l + u + 1):
        s = l - rt                                       # offset of this row in a^T: a^T[i, i+s] = a[i+s, i]
        rows.append(_shift_rows(ab[..., u + s, :], -s, -1))
    return S.stack(rows, axis=-2)


def _band_outer(gb, x, l, u):
    """The band part of ``gb @ x^T`` in band storage: row r, column j holds ``sum_k gb[j - s, k] x[j, k]``."""
    rows = []
    for r in range(l + u + 1):
        s = u - r
        rows.append(R.sum(_shift_rows(gb, -s, -2) * x, axis=-1))
    return S.stack(rows, axis=-2)


def _solve_banded_impl(ab, b, l, u):
    return _sl.solve_banded((l, u), ab, b, check_finite=False)


solve_banded_p = _front_all(Primitive("solve_banded", _over_batch(_solve_banded_impl, 2)))


def _solve_banded_jvp(primals, tangents, l, u):
    ab, b = primals
    dab, db = tangents
    x = solve_banded_p.bind(ab, b, l=l, u=u)
    rhs = db
    if dab is not None:
        term = _band_matvec(dab, x, l, u)
        rhs = -term if rhs is None else rhs - term
    return x, solve_banded_p.bind(ab, rhs, l=l, u=u)


def _solve_banded_vjp(g, x, ab, b, l, u):
    gb = solve_banded_p.bind(_band_transpose(ab, l, u), g, l=u, u=l)
    return -_band_outer(gb, x, l, u), gb


solve_banded_p.jvp = _solve_banded_jvp
solve_banded_p.vjp = _solve_banded_vjp


def solve_banded(l_and_u, ab, b, overwrite_ab=False, overwrite_b=False, check_finite=True):
    """Solve ``a x = b`` for a banded ``a`` with ``l`` sub- and ``u`` superdiagonals in SciPy's band storage
    ``ab[u + i - j, j] == a[i, j]`` (shape ``(l + u + 1, n)``); ``b`` has shape ``(n,)`` or ``(n, k)``.
    Differentiable in ``ab`` (its band entries) and ``b``.

    >>> import numpy as np
    >>> ab = np.array([[0.0, 1.0, 1.0], [4.0, 4.0, 4.0], [1.0, 1.0, 0.0]])
    >>> solve_banded((1, 1), ab, np.array([5.0, 6.0, 5.0]))
    array([1., 1., 1.])
    """
    l, u = (int(v) for v in l_and_u)
    ab, b = _array(ab), _array(b)
    sab, sb = shape_of(ab), shape_of(b)
    if len(sab) != 2 or sab[0] != l + u + 1:
        raise ValueError(f"solve_banded: invalid values for the number of lower and upper diagonals: l+u+1 "
                         f"({l + u + 1}) does not equal ab.shape[0] ({sab[0] if sab else None}); ab has shape {sab}")
    if len(sb) not in (1, 2) or sb[0] != sab[1]:
        raise ValueError(f"solve_banded: shapes of ab {sab} and b {sb} are not compatible")
    if check_finite:
        _check_finite("solve_banded", ab, b)
    vector = len(sb) == 1
    if vector:
        b = S.expand_dims(b, -1)
    dt = _dtype("solve_banded", ab, b)
    x = solve_banded_p.bind(_cast(ab, dt), _cast(b, dt), l=l, u=u)
    return x[..., 0] if vector else x


# ---------------------------------------------------------------------------------------------------------
# eigh and the NumPy-backed solvers
# ---------------------------------------------------------------------------------------------------------

def _hermitian_from(a, lower):
    """The Hermitian matrix SciPy sees when it reads only one triangle of ``a`` (real part of the diagonal)."""
    strict = _tri(a, lower, -1)
    diag = _tri(_tri(a, True), False)
    if _is_complex(diag):
        from ..ops.decomp import real
        diag = E.astype(real(diag), diag.dtype)
    return strict + _conj(_T(strict)) + diag


def eigh(a, b=None, *, lower=True, eigvals_only=False, overwrite_a=False, overwrite_b=False, type=1,
         check_finite=True, subset_by_index=None, subset_by_value=None, driver=None):
    """Eigenvalues (ascending) and eigenvectors of a Hermitian ``a``, or of the generalized problem
    ``a v = w b v`` (``type=1``) when ``b`` is given: with ``b = L L^H``, the standard problem for
    ``L^-1 a L^-H``, eigenvectors mapped back by ``L^-H`` (so that ``v^H b v = I``, as in SciPy). ``lower``
    picks the triangle read from ``a`` (and ``b``). ``subset_by_index=(lo, hi)`` keeps eigenpairs lo..hi.
    Eigenvectors carry a sign/phase gauge (see ``chainrule.ops.decomp``).

    >>> import numpy as np
    >>> eigh(np.array([[2.0, 1.0], [1.0, 2.0]]), eigvals_only=True)
    array([1., 3.])
    """
    if type != 1:
        raise NotImplementedError(f"eigh: only the generalized problem type=1 is supported, got type={type}")
    if subset_by_value is not None or driver is not None:
        raise NotImplementedError("eigh: subset_by_value and driver are not supported; use subset_by_index")
    a = _square("eigh", a)
    if check_finite:
        _check_finite("eigh", a)
    dt = _dtype("eigh", a) if b is None else _dtype("eigh", a, _array(b))
    a = _cast(a, dt)
    if b is None:
        w, v = _nla.eigh(a, "L" if lower else "U")
    else:
        b = _cast(_square("eigh", b), dt)
        if shape_of(b)[-1] != shape_of(a)[-1]:
            raise ValueError(f"eigh: wrong b dimensions {shape_of(b)}, should be {shape_of(a)}")
        if check_finite:
            _check_finite("eigh", b)
        low = _nla.cholesky(_hermitian_from(b, lower))
        y = solve_triangular(low, _hermitian_from(a, lower), lower=True, check_finite=False)   # L^-1 a
        c = _conj(_T(solve_triangular(low, _conj(_T(y)), lower=True, check_finite=False)))       # L^-1 a L^-H
        w, v = _nla.eigh(c, "L")
        v = solve_triangular(low, v, trans=2, lower=True, check_finite=False)
    if subset_by_index is not None:
        lo, hi = (int(i) for i in subset_by_index)
        w, v = w[..., lo:hi + 1], v[..., lo:hi + 1]
    return w if eigvals_only else (w, v)


def solve(a, b, lower=False, overwrite_a=False, overwrite_b=False, check_finite=True, assume_a=None,
          transposed=False):
    """Solve ``a x = b`` (``a^T x = b`` when ``transposed``), via ``chainrule.numpy.linalg.solve``; ``assume_a``
    is accepted for SciPy compatibility ('pos' uses a Cholesky solve).

    >>> import numpy as np
    >>> solve(np.array([[2.0, 0.0], [0.0, 4.0]]), np.array([2.0, 2.0]))
    array([1. , 0.5])
    """
    a, b = _square("solve", a), _array(b)
    if check_finite:
        _check_finite("solve", a, b)
    if transposed:
        a = _T(a)
    if assume_a in ("pos", "positive definite") and not transposed:
        return cho_solve(cho_factor(_hermitian_from(a, lower), lower=True, check_finite=False), b, check_finite=False)
    if len(shape_of(a)) == 2 and len(shape_of(b)) == 1:
        return _nla.solve(a, S.expand_dims(b, -1))[..., 0]
    return _nla.solve(a, b)


def inv(a, overwrite_a=False, check_finite=True):
    """The matrix inverse (``chainrule.numpy.linalg.inv``).

    >>> import numpy as np
    >>> inv(np.array([[2.0, 0.0], [0.0, 4.0]]))
    array([[0.5 , 0.  ],
           [0.  , 0.25]])
    """
    a = _square("inv", a)
    if check_finite:
        _check_finite("inv", a)
    return _nla.inv(a)


def det(a, overwrite_a=False, check_finite=True):
    """The determinant (``chainrule.numpy.linalg.det``).

    >>> import numpy as np
    >>> float(det(np.array([[2.0, 1.0], [1.0, 2.0]])))
    3.0
    """
    a = _square("det", a)
    if check_finite:
        _check_finite("det", a)
    return _nla.det(a)
