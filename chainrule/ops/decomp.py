"""Matrix decompositions and solvers: ``solve``, ``inv``, ``det``, ``slogdet``, ``cholesky``, ``eigh``, ``eig``,
``svd``, ``qr`` and ``pinv`` as primitives (impl: ``numpy.linalg``), with ``eigvalsh``, ``eigvals``, ``svdvals``,
``lstsq`` and the non-differentiable ``matrix_rank`` on top. Norms, ``cond``, ``matrix_power``, ``multi_dot``,
``tensorsolve`` and ``tensorinv`` are compositions in ``chainrule.numpy.linalg``.

Invariants of the primitives (their faces establish them):

- operands are stacks of matrices, ``(*batch, m, n)``, of one inexact dtype; ``solve_p(a, b)`` has ``b`` of shape
  ``(*batch, n, k)`` with exactly ``a``'s batch dimensions (the face promotes a vector and broadcasts the batch);
- every rule is written with chainrule operations, and the rules of ``solve``/``inv``/``det`` are written with the
  ``solve``/``inv`` primitives themselves, so every derivative is differentiable again, to any order;
- every primitive batches by moving the mapped axis to the front (they all accept leading batch dimensions), so
  ``vmap`` never loops; ``solve`` with only the right-hand side mapped folds the batch into its columns.

NOTE: [complex rules]
Cotangents follow the bilinear convention of JAX and HIPS autograd (NOTE: [complex convention] in
``ops/elementwise.py``): for a holomorphic op (solve, inv, det, eig) the VJP is the real-case formula with plain
transposes, no conjugates. The published rules for non-holomorphic ops (Cholesky, eigh, SVD, QR, pinv) are usually
stated for the Hermitian pairing ``Re(sum(conj(u) * v))``; their VJPs below are written in that form, as an
``adjoint``, and wrapped as ``conj(adjoint(conj(g)))``, which is the same map under the bilinear pairing (and free
on real data, where conj is the identity).

NOTE: [triangle conventions]
``cholesky`` and ``eigh`` read one triangle of their input, as NumPy does (``cholesky``: the lower one, the upper
one with ``upper=True``; ``eigh``: ``UPLO``), plus the real part of the diagonal. Their derivatives are those of
that function: the unread triangle gets a zero cotangent and the read one twice the symmetric part. For inputs
built symmetrically (``B @ B.T``) this gives the same gradients as the symmetrised convention of JAX/autograd.

NOTE: [gauges]
Some outputs are defined only up to a gauge: eigenvectors of ``eigh``/``eig`` (a sign, or a complex phase; ``eig``
vectors are normalised to unit 2-norm), singular vectors of complex ``svd`` (a common phase of ``u[:, i]`` and
``vh[i]``), and the extra columns of ``svd(full_matrices=True)`` / ``qr(mode='complete')`` (any orthonormal basis of
the orthogonal complement). The derivatives returned pick one gauge: eigenvectors move orthogonally to themselves
(``Re(v_i^H dv_i) = 0``), complex singular vector phases move with ``u`` (``v^H dv`` has a zero diagonal), and the
complement basis moves only as much as orthogonality forces (``U_perp^H dU_perp = 0``). Derivatives of functions
that do not depend on the gauge (``u @ diag(s) @ vh``, ``abs(v) ** 2``, ``v @ v^H`` projectors, ...) are exact;
derivatives of the raw gauge-dependent entries are not those of NumPy's (arbitrary, LAPACK-specific) choice.
Degenerate eigenvalues / singular values make the eigenvector / singular-vector derivatives undefined: the
coupling term of exactly equal pairs is set to zero (so eigenvalue- and singular-value-only functions, like
``eigvalsh`` or ``norm(x, 2)``, stay finite there).
"""
import collections

import numpy as np

from ..core.primitive import Primitive, def_nondiff
from ..core.trace import Tracer, concrete
from ..interpreters.batching import move_to_front
from . import elementwise as E
from . import reduction as R
from . import shape as S
from .linalg import diagonal as _diagonal, matmul
from ._util import as_operand, shape_of

__all__ = ["solve", "inv", "det", "slogdet", "cholesky", "eigh", "eigvalsh", "eig", "eigvals", "svd", "svdvals",
           "qr", "pinv", "lstsq", "matrix_rank", "LinAlgError"]

LinAlgError = np.linalg.LinAlgError

EighResult = collections.namedtuple("EighResult", ["eigenvalues", "eigenvectors"])
EigResult = collections.namedtuple("EigResult", ["eigenvalues", "eigenvectors"])
SVDResult = collections.namedtuple("SVDResult", ["U", "S", "Vh"])
QRResult = collections.namedtuple("QRResult", ["Q", "R"])
SlogdetResult = collections.namedtuple("SlogdetResult", ["sign", "logabsdet"])


# ---------------------------------------------------------------------------------------------------------
# Complex helpers and small matrix helpers (all chainrule ops, so rules built from them are differentiable)
# ---------------------------------------------------------------------------------------------------------

def _iscomplex(x):
    return np.issubdtype(x.dtype, np.complexfloating)


def _real_dtype(dtype):
    return np.finfo(dtype).dtype


def conj(x):
    """Complex conjugate (the identity on real data)."""
    return E.conjugate(x)


def real(x):
    """Real part (the identity on real data)."""
    return E.real(x)


def imag(x):
    """Imaginary part."""
    return E.imag(x)


def _T(x):
    return S.swapaxes(x, -1, -2)


def _H(x):
    return conj(S.swapaxes(x, -1, -2))


def _diag(x):
    return _diagonal(x, 0, -2, -1)


def _eye(n, dtype):
    return np.eye(n, dtype=_real_dtype(dtype))


def _diag_embed(v):
    """``(..., n)`` -> ``(..., n, n)`` with ``v`` on the diagonal."""
    return S.expand_dims(v, -1) * _eye(v.shape[-1], v.dtype)


def _mask(x, lower, k):
    """``x`` times the constant triangular mask ``tril(ones, k)`` (or ``triu`` when ``lower`` is False)."""
    m, n = x.shape[-2:]
    ones = np.ones((m, n), _real_dtype(x.dtype))
    return x * (np.tril(ones, k) if lower else np.triu(ones, k))


def _sym_from_triangle(x, lower):
    """The Hermitian matrix that a routine reading one triangle of ``x`` (and its diagonal's real part) sees."""
    strict = _mask(x, lower, -1 if lower else 1)
    return strict + _H(strict) + _diag_embed(real(_diag(x)))


def _sym_from_triangle_T(c, lower):
    """Adjoint of ``_sym_from_triangle`` (the same under the bilinear and the Hermitian pairing)."""
    return _mask(c + _H(c), lower, -1 if lower else 1) + _diag_embed(real(_diag(c)))


def _pair_recip(w):
    """``F[..., i, j] = 1 / (w_j - w_i)``, and 0 where ``w_i == w_j`` (the diagonal, and exact degeneracies).

    The double ``where`` keeps every derivative finite: the division never sees a zero.
    """
    d = S.expand_dims(w, -2) - S.expand_dims(w, -1)
    zero = E.equal(d, 0)
    return E.where(zero, 0, 1 / E.where(zero, 1, d))


def _safe_recip(s):
    zero = E.equal(s, 0)
    return E.where(zero, 0, 1 / E.where(zero, 1, s))


def _front_batch(prim):
    """Batch rule for a primitive of one stack of matrices: the mapped axis becomes one more batch dimension."""
    bind = prim.bind
    prim.batch = lambda size, vals, dims, **params: (bind(move_to_front(vals[0], dims[0]), **params), 0)
    return prim


def _any_traced(*xs):
    return any(isinstance(x, Tracer) for x in xs)


def _dtype_for(name, *xs):
    """The inexact dtype a linalg routine computes in (ints promote to float64, as in NumPy)."""
    dt = np.result_type(*[x.dtype for x in xs])
    if not np.issubdtype(dt, np.inexact):
        return np.dtype(np.float64)
    if dt == np.float16 or dt.itemsize > 16 or dt == np.longdouble:
        raise TypeError(f"{name}: array type {dt} is unsupported in linalg")
    return dt


def _as_matrix(name, a, square=False):
    """``a`` as an operand of a matrix routine: at least 2-D (and square if asked), of an inexact dtype."""
    a = as_operand(a)
    if not isinstance(a, Tracer):
        a = np.asarray(a)
    shape = shape_of(a)
    if len(shape) < 2:
        raise LinAlgError(f"{name}: {len(shape)}-dimensional array given (shape {shape}); the array must be at "
                          f"least two-dimensional")
    if square and shape[-1] != shape[-2]:
        raise LinAlgError(f"{name}: last 2 dimensions of the array must be square, got shape {shape}")
    dt = _dtype_for(name, a)
    if a.dtype != dt:
        a = E.astype(a, dt) if isinstance(a, Tracer) else a.astype(dt)
    return a


# ---------------------------------------------------------------------------------------------------------
# solve, inv, det, slogdet
# ---------------------------------------------------------------------------------------------------------

solve_p = Primitive("solve", np.linalg.solve)


def _solve_jvp(primals, tangents):
    a, b = primals
    da, db = tangents
    x = solve_p.bind(a, b)
    rhs = db
    if da is not None:
        t = matmul(da, x)
        rhs = -t if rhs is None else rhs - t
    return x, solve_p.bind(a, rhs)


def _solve_vjp(g, x, a, b):
    gb = solve_p.bind(_T(a), g)
    return -matmul(gb, _T(x)), gb


def _solve_batch(size, vals, dims):
    a, b = vals
    da, db = dims
    if da is None:
        # Only the right-hand sides are mapped: fold the batch into the columns, one solve for all.
        r = b.ndim - 1                                   # logical rank of b: (*batch, n, k)
        b = S.moveaxis(b, db, r - 1)                     # (*batch, n, size, k)
        lead, n, k = tuple(b.shape[:r - 2]), b.shape[r - 2], b.shape[r]
        x = solve_p.bind(a, S.reshape(b, lead + (n, size * k)))
        return S.reshape(x, lead + (n, size, k)), r - 1
    return solve_p.bind(move_to_front(a, da), move_to_front(b, db, size)), 0


solve_p.jvp = _solve_jvp
solve_p.vjp = _solve_vjp
solve_p.batch = _solve_batch


def solve(a, b):
    """Solve ``a @ x = b`` (NumPy's ``linalg.solve``: ``b`` is a vector when 1-D, else a stack of matrices; batch
    dimensions broadcast).

    >>> import numpy as np, chainrule as cr
    >>> solve(np.array([[2.0, 0.0], [0.0, 4.0]]), np.array([1.0, 1.0]))
    array([0.5 , 0.25])
    >>> cr.grad(lambda a: solve(a, np.ones(1))[0])(np.array([[2.0]]))  # d(1/a)/da
    array([[-0.25]])
    """
    a = _as_matrix("solve", a, square=True)
    b = as_operand(b)
    if not isinstance(b, Tracer):
        b = np.asarray(b)
    sa, sb = shape_of(a), shape_of(b)
    n = sa[-1]
    vector = len(sb) == 1
    if len(sb) == 0 or sb[-1 if vector else -2] != n:
        raise ValueError(f"solve: shapes {sa} and {sb} do not fit: b must have {n} rows (b is a vector when 1-D, "
                         f"else a stack of (n, k) matrices)")
    try:
        batch = np.broadcast_shapes(sa[:-2], () if vector else sb[:-2])
    except ValueError:
        raise ValueError(f"solve: batch dimensions of shapes {sa} and {sb} cannot be broadcast together") from None
    dt = _dtype_for("solve", a, b)
    if not _any_traced(a, b):
        return np.linalg.solve(a.astype(dt, copy=False), b.astype(dt, copy=False))
    a = S.broadcast_to(E.astype(a, dt), batch + (n, n))
    b = E.astype(b, dt)
    b = S.broadcast_to(S.reshape(b, (n, 1)) if vector else b, batch + (n, 1 if vector else sb[-1]))
    x = solve_p.bind(a, b)
    return S.reshape(x, batch + (n,)) if vector else x


inv_p = _front_batch(Primitive("inv", np.linalg.inv))
inv_p.jvp = lambda primals, tangents: _inv_jvp(primals[0], tangents[0])
inv_p.vjp = (lambda g, x, a: -matmul(_T(x), matmul(g, _T(x))),)


def _inv_jvp(a, da):
    x = inv_p.bind(a)
    return x, -matmul(x, matmul(da, x))


def inv(a):
    """Inverse of a square matrix (or of each matrix of a stack).

    >>> import numpy as np
    >>> inv(np.array([[2.0, 0.0], [0.0, 4.0]]))
    array([[0.5 , 0.  ],
           [0.  , 0.25]])
    """
    return inv_p.bind(_as_matrix("inv", a, square=True))


def _trace_solve(a, da):
    """``tr(a^-1 da)`` per matrix of the stack."""
    return R.sum(_diag(solve_p.bind(a, da)), -1)


det_p = _front_batch(Primitive("det", np.linalg.det))


def _det_jvp(primals, tangents):
    a, = primals
    d = det_p.bind(a)
    return d, d * _trace_solve(a, tangents[0])


det_p.jvp = _det_jvp
det_p.vjp = (lambda g, d, a: S.expand_dims(g * d, (-1, -2)) * _T(inv_p.bind(a)),)


def det(a):
    """Determinant (of each matrix of a stack). Its derivative, ``det(a) * inv(a).T``, needs ``a`` invertible.

    >>> import numpy as np, chainrule as cr
    >>> float(det(np.array([[2.0, 1.0], [1.0, 3.0]])))
    5.0
    >>> cr.grad(det)(np.array([[2.0, 1.0], [1.0, 3.0]]))
    array([[ 3., -1.],
           [-1.,  2.]])
    """
    return det_p.bind(_as_matrix("det", a, square=True))


slogdet_p = _front_batch(Primitive("slogdet", lambda a: list(np.linalg.slogdet(a)), multiple_results=True))


def _slogdet_jvp(primals, tangents):
    a, = primals
    sign, logabs = slogdet_p.bind(a)
    t = _trace_solve(a, tangents[0])
    if not _iscomplex(a):
        return [sign, logabs], [None, t]
    return [sign, logabs], [sign * (imag(t) * 1j), real(t)]


def _slogdet_vjp(g, out, a):
    g_sign, g_logabs = g
    sign, _ = out
    c = g_logabs
    if _iscomplex(a):
        c = c + imag(g_sign * sign) * 1j
    return (S.expand_dims(c, (-1, -2)) * _T(inv_p.bind(a)),)


slogdet_p.jvp = _slogdet_jvp
slogdet_p.vjp = _slogdet_vjp


def slogdet(a):
    """Sign and natural log of the absolute value of the determinant: ``SlogdetResult(sign, logabsdet)``.

    The sign of a real matrix has derivative zero; the sign of a complex one (a unit complex number) is
    differentiable.

    >>> import numpy as np, chainrule as cr
    >>> sign, logabsdet = slogdet(np.array([[-2.0, 0.0], [0.0, 3.0]]))
    >>> float(sign), round(float(logabsdet), 6)
    (-1.0, 1.791759)
    >>> cr.grad(lambda a: slogdet(a)[1])(np.array([[2.0, 1.0], [1.0, 3.0]]))  # inv(a).T
    array([[ 0.6, -0.2],
           [-0.2,  0.4]])
    """
    a = _as_matrix("slogdet", a, square=True)
    return SlogdetResult(*slogdet_p.bind(a))


# ---------------------------------------------------------------------------------------------------------
# Cholesky
# ---------------------------------------------------------------------------------------------------------

cholesky_p = _front_batch(Primitive("cholesky", lambda a, upper: np.linalg.cholesky(a, upper=upper)))


def _phi(x):
    """The lower triangle of ``x`` with half its diagonal (Murray 2016's Phi)."""
    n = x.shape[-1]
    return x * (np.tril(np.ones((n, n), _real_dtype(x.dtype)), -1) + 0.5 * _eye(n, x.dtype))


def _cholesky_jvp(primals, tangents, upper):
    a, = primals
    c = cholesky_p.bind(a, upper=upper)
    l_ = _H(c) if upper else c
    da = _sym_from_triangle(tangents[0], not upper)
    y = solve_p.bind(l_, da)                             # L^-1 dA
    x = _H(solve_p.bind(l_, _H(y)))                      # L^-1 dA L^-H
    dl = matmul(l_, _phi(x))
    return c, (_H(dl) if upper else dl)


def _cholesky_vjp(g, c, a, upper):
    l_ = _H(c) if upper else c
    gl = _T(g) if upper else conj(g)                     # Hermitian-pairing cotangent of L
    p = _phi(matmul(_H(l_), gl))
    lh = _H(l_)
    z = solve_p.bind(lh, p)                              # L^-H P
    s = _H(solve_p.bind(lh, _H(z)))                      # L^-H P L^-1
    return conj(_sym_from_triangle_T(s, not upper))


cholesky_p.jvp = _cholesky_jvp
cholesky_p.vjp = (_cholesky_vjp,)


def cholesky(a, /, *, upper=False):
    """Cholesky factor of a Hermitian positive-definite matrix: lower ``L`` with ``a = L @ L^H`` (upper ``U`` with
    ``a = U^H @ U`` when ``upper=True``). Only the triangle NumPy reads is used (NOTE: [triangle conventions]).

    >>> import numpy as np, chainrule as cr
    >>> cholesky(np.array([[4.0, 2.0], [2.0, 5.0]]))
    array([[2., 0.],
           [1., 2.]])
    >>> float(cr.grad(lambda a: cholesky(a)[0, 0])(np.array([[4.0, 2.0], [2.0, 5.0]]))[0, 0])  # 1 / (2 sqrt(4))
    0.25
    """
    return cholesky_p.bind(_as_matrix("cholesky", a, square=True), upper=bool(upper))


# ---------------------------------------------------------------------------------------------------------
# eigh / eigvalsh
# ---------------------------------------------------------------------------------------------------------

eigh_p = _front_batch(Primitive("eigh", lambda a, lower: list(np.linalg.eigh(a, "L" if lower else "U")),
                                multiple_results=True))


def _eigh_jvp(primals, tangents, lower):
    a, = primals
    w, v = eigh_p.bind(a, lower=lower)
    m = matmul(_H(v), matmul(_sym_from_triangle(tangents[0], lower), v))
    return [w, v], [real(_diag(m)), matmul(v, _pair_recip(w) * m)]


def _eigh_vjp(g, out, a, lower):
    gw, gv = g
    w, v = out
    inner = _diag_embed(gw) + _pair_recip(w) * matmul(_H(v), conj(gv))
    c = matmul(v, matmul(inner, _H(v)))
    return (conj(_sym_from_triangle_T(c, lower)),)


eigh_p.jvp = _eigh_jvp
eigh_p.vjp = _eigh_vjp


def _uplo(name, UPLO):
    u = str(UPLO).upper()
    if u not in ("L", "U"):
        raise ValueError(f"{name}: UPLO argument must be 'L' or 'U', got {UPLO!r}")
    return u == "L"


def eigh(a, UPLO="L"):
    """Eigenvalues (ascending) and orthonormal eigenvectors of a Hermitian matrix: ``EighResult(eigenvalues,
    eigenvectors)``. Only the ``UPLO`` triangle is read (NOTE: [triangle conventions]); eigenvectors carry a
    gauge (NOTE: [gauges]).

    >>> import numpy as np, chainrule as cr
    >>> eigh(np.array([[2.0, 1.0], [1.0, 2.0]])).eigenvalues
    array([1., 3.])
    >>> cr.grad(lambda a: eigh(a).eigenvalues[1])(np.array([[2.0, 1.0], [1.0, 2.0]]))  # v v^T, lower triangle
    array([[0.5, 0. ],
           [1. , 0.5]])
    """
    a = _as_matrix("eigh", a, square=True)
    return EighResult(*eigh_p.bind(a, lower=_uplo("eigh", UPLO)))


def eigvalsh(a, UPLO="L"):
    """Eigenvalues (ascending) of a Hermitian matrix (finite derivatives at degenerate eigenvalues too).

    >>> import numpy as np
    >>> eigvalsh(np.array([[2.0, 1.0], [1.0, 2.0]]))
    array([1., 3.])
    """
    a = _as_matrix("eigvalsh", a, square=True)
    if not isinstance(a, Tracer):
        return np.linalg.eigvalsh(a, UPLO)
    return eigh_p.bind(a, lower=_uplo("eigvalsh", UPLO))[0]


# ---------------------------------------------------------------------------------------------------------
# eig / eigvals
# ---------------------------------------------------------------------------------------------------------

eig_p = _front_batch(Primitive("eig", lambda a: list(np.linalg.eig(a)), multiple_results=True))


def _eig_normalize_T(gv, v):
    """Transpose of ``dv -> dv - v * Re(sum(conj(v) * dv, axis=-2))`` (which keeps columns at unit norm)."""
    if not _iscomplex(v):
        return gv - v * R.sum(gv * v, -2, keepdims=True)
    return gv - conj(v) * real(R.sum(gv * v, -2, keepdims=True))


def _eig_jvp(primals, tangents):
    a, = primals
    w, v = eig_p.bind(a)
    m = solve_p.bind(v, matmul(tangents[0], v))          # V^-1 dA V
    dw = _diag(m)
    dv = matmul(v, _pair_recip(w) * m)
    dv = dv - v * real(R.sum(conj(v) * dv, -2, keepdims=True))
    return [w, v], [dw, dv]


def _eig_vjp(g, out, a):
    gw, gv = g
    w, v = out
    k = _diag_embed(gw) + _pair_recip(w) * matmul(_T(v), _eig_normalize_T(gv, v))
    ct = solve_p.bind(_T(v), matmul(k, _T(v)))          # V^-T K V^T
    return (real(ct) if not _iscomplex(a) else ct,)


eig_p.jvp = _eig_jvp
eig_p.vjp = _eig_vjp


def eig(a):
    """Eigenvalues and unit-norm right eigenvectors of a general square matrix: ``EigResult(eigenvalues,
    eigenvectors)``. As in NumPy, a real matrix whose eigenvalues are all real gives real results, else complex
    ones (a stack, or a ``vmap`` batch, is real only if every matrix's spectrum is). Eigenvectors carry a phase gauge (NOTE: [gauges]); eigenvalues are differentiable where distinct.

    >>> import numpy as np, chainrule as cr
    >>> eig(np.array([[2.0, 0.0], [0.0, 3.0]])).eigenvalues
    array([2., 3.])
    >>> cr.grad(lambda a: eig(a).eigenvalues[0])(np.array([[2.0, 1.0], [0.0, 3.0]]))  # left x right eigenvector
    array([[ 1.,  0.],
           [-1.,  0.]])
    """
    a = _as_matrix("eig", a, square=True)
    return EigResult(*eig_p.bind(a))


def eigvals(a):
    """Eigenvalues of a general square matrix.

    >>> import numpy as np
    >>> eigvals(np.array([[0.0, -1.0], [1.0, 0.0]]))
    array([0.+1.j, 0.-1.j])
    """
    a = _as_matrix("eigvals", a, square=True)
    if not isinstance(a, Tracer):
        return np.linalg.eigvals(a)
    return eig_p.bind(a)[0]


# ---------------------------------------------------------------------------------------------------------
# SVD
# ---------------------------------------------------------------------------------------------------------

svd_p = _front_batch(Primitive("svd", lambda a, full_matrices: list(np.linalg.svd(a, full_matrices)),
                               multiple_results=True))


def _svd_thin(u, vh, m, n, full):
    k = min(m, n)
    return (u[..., :k] if full and m > k else u), (vh[..., :k, :] if full and n > k else vh)


def _svd_jvp(primals, tangents, full_matrices):
    a, = primals
    da, = tangents
    u, s, vh = svd_p.bind(a, full_matrices=full_matrices)
    m, n = a.shape[-2:]
    k = min(m, n)
    U, Vh = _svd_thin(u, vh, m, n, full_matrices)
    V = _H(Vh)
    dp = matmul(_H(U), matmul(da, V))                    # U^H dA V
    ds = real(_diag(dp))
    f = _pair_recip(s * s)                               # 1 / (s_j^2 - s_i^2)
    s_inv = S.expand_dims(_safe_recip(s), -2)            # as a row: X * s_inv == X @ diag(1/s)
    dps = dp * S.expand_dims(s, -2)                      # dP S
    sdp = S.expand_dims(s, -1) * dp                      # S dP
    du = matmul(U, f * (dps + _H(dps)))
    dv = matmul(V, f * (sdp + _H(sdp)))
    if _iscomplex(a):                                    # the phase gauge moves with U (NOTE: [gauges])
        du = du + U * (S.expand_dims(imag(_diag(dp)), -2) * s_inv) * 1j
    if m > k:
        du = du + (matmul(da, V) - matmul(U, dp)) * s_inv
    if n > k:
        dv = dv + (matmul(_H(da), U) - matmul(V, _H(dp))) * s_inv
    if full_matrices and m > k:
        du = S.concatenate([du, -matmul(U, matmul(_H(du), u[..., k:]))], -1)
    if full_matrices and n > k:
        dv = S.concatenate([dv, -matmul(V, matmul(_H(dv), _H(vh[..., k:, :])))], -1)
    return [u, s, vh], [du, ds, _H(dv)]


def _svd_vjp(g, out, a, full_matrices):
    gu, gs, gvh = g
    u, s, vh = out
    m, n = a.shape[-2:]
    k = min(m, n)
    U, Vh = _svd_thin(u, vh, m, n, full_matrices)
    V = _H(Vh)
    gu, gv = conj(gu), _T(gvh)                           # Hermitian-pairing cotangents of U and V
    if full_matrices and m > k:
        gu = gu[..., :k] - matmul(u[..., k:], matmul(_H(gu[..., k:]), U))
    if full_matrices and n > k:
        gv = gv[..., :k] - matmul(_H(vh[..., k:, :]), matmul(_H(gv[..., k:]), V))
    ju = matmul(_H(U), gu)
    jv = matmul(_H(V), gv)
    f = _pair_recip(s * s)
    s_inv = _safe_recip(s)
    inner = (_diag_embed(gs) + (f * (ju - _H(ju))) * S.expand_dims(s, -2)
             + S.expand_dims(s, -1) * (f * (jv - _H(jv))))
    if _iscomplex(a):
        inner = inner + _diag_embed(imag(_diag(ju)) * s_inv) * 1j
    ct = matmul(U, matmul(inner, Vh))
    if m > k:
        ct = ct + matmul((gu - matmul(U, ju)) * S.expand_dims(s_inv, -2), Vh)
    if n > k:
        ct = ct + matmul(U * S.expand_dims(s_inv, -2), _H(gv - matmul(V, jv)))
    return (conj(ct),)


svd_p.jvp = _svd_jvp
svd_p.vjp = _svd_vjp


def svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    """Singular value decomposition ``a = U @ diag(S) @ Vh``: ``SVDResult(U, S, Vh)``, or the singular values
    (descending) alone with ``compute_uv=False``. Wide, square, tall and batched inputs, real or complex.
    Singular vectors carry a gauge (NOTE: [gauges]); ``hermitian=True`` is accepted and computes the general SVD.

    >>> import numpy as np, chainrule as cr
    >>> svd(np.array([[3.0, 0.0], [0.0, -4.0]]), compute_uv=False)
    array([4., 3.])
    >>> cr.grad(lambda a: svd(a, compute_uv=False)[0])(np.array([[3.0, 0.0], [0.0, -4.0]]))  # u_0 v_0^T
    array([[ 0.,  0.],
           [ 0., -1.]])
    """
    a = _as_matrix("svd", a)
    if not isinstance(a, Tracer):
        return np.linalg.svd(a, full_matrices, compute_uv, hermitian) if not compute_uv else \
            SVDResult(*np.linalg.svd(a, full_matrices, compute_uv, hermitian))
    if not compute_uv:
        return svd_p.bind(a, full_matrices=False)[1]
    return SVDResult(*svd_p.bind(a, full_matrices=bool(full_matrices)))


def svdvals(x, /):
    """Singular values (descending) of a matrix or stack of matrices (NumPy 2's ``linalg.svdvals``).

    >>> import numpy as np
    >>> svdvals(np.diag([1.0, -2.0]))
    array([2., 1.])
    """
    return svd(x, compute_uv=False)


# ---------------------------------------------------------------------------------------------------------
# QR
# ---------------------------------------------------------------------------------------------------------

qr_p = _front_batch(Primitive("qr", lambda a, complete: list(np.linalg.qr(a, "complete" if complete else "reduced")),
                              multiple_results=True))


def _skew_part(c):
    """``tril(C, -1) - tril(C, -1)^H + i Im(diag C)``: the skew-Hermitian ``Q^H dQ`` of the QR rule."""
    low = _mask(c, True, -1)
    out = low - _H(low)
    if _iscomplex(c):
        out = out + _diag_embed(imag(_diag(c))) * 1j
    return out


def _skew_part_T(mm):
    """Adjoint of ``_skew_part`` under the Hermitian pairing."""
    out = _mask(mm - _H(mm), True, -1)
    if _iscomplex(mm):
        out = out + _diag_embed(imag(_diag(mm))) * 1j
    return out


def _qr_jvp(primals, tangents, complete):
    # Requires m >= n (the face reduces wide matrices to a square QR).
    a, = primals
    da, = tangents
    q, r = qr_p.bind(a, complete=complete)
    m, n = a.shape[-2:]
    q1, r1 = q[..., :n], r[..., :n, :]
    x = _H(solve_p.bind(_H(r1), _H(da)))               # dA R^-1
    c = matmul(_H(q1), x)
    om = _skew_part(c)
    dq = matmul(q1, om - c) + x
    dr = matmul(c - om, r1)
    if complete and m > n:
        dq = S.concatenate([dq, -matmul(q1, matmul(_H(dq), q[..., n:]))], -1)
        dr = S.concatenate([dr, np.zeros(dr.shape[:-2] + (m - n, n), dr.dtype)], -2)
    return [q, r], [dq, dr]


def _qr_vjp(g, out, a, complete):
    gq, gr = g
    q, r = out
    m, n = a.shape[-2:]
    q1, r1 = q[..., :n], r[..., :n, :]
    gq, gr = conj(gq), conj(gr)
    if complete and m > n:
        gq = gq[..., :n] - matmul(q[..., n:], matmul(_H(gq[..., n:]), q1))
        gr = gr[..., :n, :]
    mm = matmul(_H(q1), gq) - matmul(gr, _H(r1))
    b = gq + matmul(q1, _skew_part_T(mm) - mm)
    return (conj(_H(solve_p.bind(r1, _H(b)))),)       # B R^-H


qr_p.jvp = _qr_jvp
qr_p.vjp = _qr_vjp


def qr(a, mode="reduced"):
    """QR decomposition: ``QRResult(Q, R)`` for modes 'reduced' and 'complete', ``R`` alone for mode 'r'.
    Tall, square, wide and batched inputs, real or complex; ``R`` has LAPACK's real diagonal, which fixes the
    gauge, except for the extra columns of 'complete' ``Q`` of a tall matrix (NOTE: [gauges]). Derivatives need
    the leading square block of ``a`` to have full rank.

    >>> import numpy as np, chainrule as cr
    >>> q, r = qr(np.array([[3.0, 1.0], [4.0, 2.0]]))
    >>> bool(np.allclose(q @ r, [[3.0, 1.0], [4.0, 2.0]]))
    True
    >>> float(cr.grad(lambda a: qr(a, mode="r")[0, 0])(np.array([[3.0, 1.0], [4.0, 2.0]]))[1, 0])  # |a[:, 0]|
    -0.8
    """
    if mode not in ("reduced", "complete", "r", "raw"):
        raise ValueError(f"qr: unrecognized mode {mode!r}; use 'reduced', 'complete', 'r' (or 'raw', not "
                         f"differentiable)")
    a = _as_matrix("qr", a)
    if not isinstance(a, Tracer):
        res = np.linalg.qr(a, mode)
        return QRResult(*res) if mode in ("reduced", "complete") else res
    if mode == "raw":
        raise NotImplementedError("qr: mode='raw' (Householder reflectors) is not differentiable; use 'reduced', "
                                  "'complete' or 'r'")
    m, n = a.shape[-2:]
    if m >= n:
        q, r = qr_p.bind(a, complete=mode == "complete")
        return r if mode == "r" else QRResult(q, r)
    # Wide: the QR of the leading square block gives Q; the remaining columns of R are Q^H times those of a.
    q, r1 = qr_p.bind(a[..., :m], complete=False)
    r = S.concatenate([r1, matmul(_H(q), a[..., m:])], -1)
    return r if mode == "r" else QRResult(q, r)


# ---------------------------------------------------------------------------------------------------------
# pinv, lstsq
# ---------------------------------------------------------------------------------------------------------

def _pinv_impl(a, rcond, rtol, hermitian):
    kw = {}
    if rcond is not _NO_VALUE:
        kw["rcond"] = rcond
    if rtol is not _NO_VALUE:
        kw["rtol"] = rtol
    return np.linalg.pinv(a, hermitian=hermitian, **kw)


class _NoValue:
    def __repr__(self):
        return "<no value>"


_NO_VALUE = _NoValue()

pinv_p = _front_batch(Primitive("pinv", _pinv_impl))


def _pinv_jvp(primals, tangents, **params):
    # Golub & Pereyra: dP = -P dA P + P P^H dA^H (I - A P) + (I - P A) dA^H P^H P, exact where the rank is constant.
    a, = primals
    da, = tangents
    p = pinv_p.bind(a, **params)
    dah = _H(da)
    ph = _H(p)
    t = -matmul(p, matmul(da, p))
    t = t + matmul(matmul(p, ph), dah - matmul(dah, matmul(a, p)))
    t = t + matmul(dah - matmul(p, matmul(a, dah)), matmul(ph, p))
    return p, t


def _pinv_vjp(g, p, a, **params):
    gh = _T(g)                                          # (conj g)^H
    ph = _H(p)
    ct = -matmul(ph, matmul(conj(g), ph))
    pph = matmul(p, ph)
    ct = ct + matmul(gh, pph) - matmul(a, matmul(p, matmul(gh, pph)))
    php = matmul(ph, p)
    ct = ct + matmul(php, gh) - matmul(matmul(php, gh), matmul(p, a))
    return (conj(ct),)


pinv_p.jvp = _pinv_jvp
pinv_p.vjp = _pinv_vjp


def pinv(a, rcond=None, hermitian=False, *, rtol=_NO_VALUE):
    """Moore-Penrose pseudo-inverse (NumPy's cut-off arguments). The derivative is exact where the rank does not
    change (no singular value crosses the cut-off). With ``hermitian=True`` it is the derivative for Hermitian
    perturbations (build the input symmetrically, e.g. ``b + b.T``, to differentiate in all directions).

    >>> import numpy as np
    >>> pinv(np.array([[1.0, 0.0], [0.0, 0.0]]))
    array([[1., 0.],
           [0., 0.]])
    """
    a = _as_matrix("pinv", a)
    for name, v in (("rcond", rcond), ("rtol", rtol)):
        if np.ndim(v) != 0 and v is not _NO_VALUE:
            v = np.asarray(v)
            if isinstance(a, Tracer):
                raise NotImplementedError(f"pinv: an array {name} is not supported on traced values; pass a scalar")
    if not isinstance(a, Tracer):
        return _pinv_impl(a, rcond, rtol, hermitian)
    norm = (lambda v: v if v is None or v is _NO_VALUE else float(v))
    return pinv_p.bind(a, rcond=norm(rcond), rtol=norm(rtol), hermitian=bool(hermitian))


def lstsq(a, b, rcond=None):
    """Least-squares solution of ``a @ x = b``: ``(x, residuals, rank, s)`` as in NumPy (2-D ``a``; ``b`` 1-D or
    2-D). ``x`` is ``pinv(a, rcond) @ b``, so it is differentiable in ``a`` and ``b`` where the rank is constant;
    ``residuals`` and ``s`` are differentiable, ``rank`` is an integer.

    >>> import numpy as np
    >>> x, res, rank, s = lstsq(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), np.array([1.0, 1.0, 2.0]))
    >>> x, int(rank)
    (array([1., 1.]), 2)
    """
    a = as_operand(a)
    b = as_operand(b)
    if not _any_traced(a, b):
        return np.linalg.lstsq(a, b, rcond)
    if a.ndim != 2:
        raise LinAlgError(f"lstsq: {a.ndim}-dimensional array given (shape {shape_of(a)}); a must be "
                          f"two-dimensional")
    if b.ndim not in (1, 2) or b.shape[0] != a.shape[0]:
        raise LinAlgError(f"lstsq: incompatible dimensions: a has shape {shape_of(a)}, b has shape {shape_of(b)} "
                          f"(b must be 1-D or 2-D with {a.shape[0]} rows)")
    m, n = a.shape
    dt = _dtype_for("lstsq", a, b)
    a, b = E.astype(a, dt), E.astype(b, dt)
    if rcond is None:
        rcond = np.finfo(dt).eps * max(m, n)
    x = matmul(pinv(a, rcond=float(rcond)), b)
    s = svdvals(a)
    rank = E.astype(R.sum(E.greater(s, float(rcond) * R.max(s))), np.int32) if min(m, n) else np.int32(0)
    if bool(np.all(concrete(rank) == n)) and m > n:
        resid = b - matmul(a, x)
        residuals = R.sum(real(resid * conj(resid)), 0)
        if b.ndim == 1:
            residuals = S.reshape(residuals, (1,))
    else:
        residuals = np.empty((0,), _real_dtype(dt))
    return x, residuals, rank, s


# ---------------------------------------------------------------------------------------------------------
# matrix_rank (not differentiable)
# ---------------------------------------------------------------------------------------------------------

matrix_rank_p = _front_batch(def_nondiff(Primitive(
    "matrix_rank", lambda a, tol, hermitian, rtol: np.asarray(np.linalg.matrix_rank(a, tol, hermitian, rtol=rtol)))))


def matrix_rank(A, tol=None, hermitian=False, *, rtol=None):
    """Rank of a matrix (or of each matrix of a stack) by SVD; an integer, so not differentiated.

    >>> import numpy as np
    >>> int(matrix_rank(np.array([[1.0, 2.0], [2.0, 4.0]])))
    1
    """
    A = as_operand(A)
    if not isinstance(A, Tracer):
        return np.linalg.matrix_rank(A, tol, hermitian, rtol=rtol)
    if A.ndim < 2:
        return E.astype(E.logical_not(R.all(E.equal(A, 0))), np.int64)
    for name, v in (("tol", tol), ("rtol", rtol)):
        if np.ndim(v) != 0:
            raise NotImplementedError(f"matrix_rank: an array {name} is not supported on traced values; pass a "
                                      f"scalar")
    fl = (lambda v: None if v is None else float(v))
    return matrix_rank_p.bind(A, tol=fl(tol), hermitian=bool(hermitian), rtol=fl(rtol))
