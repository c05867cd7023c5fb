"""chainrule.numpy.linalg: values against NumPy, derivatives against finite differences to second order in forward
and reverse mode (``check_grads``) on square, batched, wide and tall, real and complex inputs, closed forms and
HIPS autograd where they pin down conventions, vmap against a Python loop (``check_vmap``, never a loop fallback),
float32 kept float32, and errors that name the operation and the shapes.

Gauge-dependent outputs (eigenvectors, singular vectors, the extra columns of full/complete factors) are checked
through gauge-invariant functions of them, or raw where the gauge is discrete (real, unit-norm vectors).
"""
import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
import chainrule.numpy.linalg as la
from chainrule.testing import check_grads, check_vmap

MODES = ("fwd", "rev")
pytestmark = pytest.mark.filterwarnings("error:vmap:UserWarning")


def rand(shape, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed + 7 * len(shape) + sum(shape))
    x = rng.standard_normal(shape)
    if np.issubdtype(dtype, np.complexfloating):
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(dtype)


def well(shape, dtype=np.float64, seed=0):
    """A well-conditioned square matrix (stack)."""
    return (rand(shape, dtype, seed) + 2 * shape[-1] ** 0.5 * np.eye(shape[-1])).astype(dtype)


def hpd(shape, dtype=np.float64, seed=0):
    """A Hermitian positive-definite matrix (stack) with well separated eigenvalues."""
    b = rand(shape, dtype, seed)
    n = shape[-1]
    return (b @ np.conj(np.swapaxes(b, -1, -2)) + np.diag(np.arange(1.0, n + 1) * n)).astype(dtype)


def abs2(x):
    return cnp.real(x * cnp.conj(x))


def H(x):
    return cnp.conj(cnp.swapaxes(x, -1, -2))


def check_all(f, args, want_fn=None, rtol=1e-10, order=2):
    """Value against NumPy (plain and traced), then derivatives to ``order`` in forward and reverse mode."""
    if want_fn is not None:
        as_tuple = (lambda v: v if isinstance(v, tuple) else (v,))
        want = as_tuple(want_fn(*args))
        for got in (f(*args), cr.vjp(f, *args)[0]):
            got = as_tuple(got)
            assert len(got) == len(want)
            for g, w in zip(got, want):
                assert np.shape(g) == np.shape(w) and np.asarray(g).dtype == np.asarray(w).dtype
                np.testing.assert_allclose(g, w, rtol=rtol, atol=rtol)
    check_grads(f, args, order=order, modes=MODES)


def check_float32(f, args):
    """float32 (complex64) operands give float32 values, tangents and cotangents, and good derivatives."""
    out, f_vjp = cr.vjp(f, *args)
    outs = out if isinstance(out, tuple) else (out,)
    for o in outs:
        assert np.asarray(o).dtype in (np.float32, np.complex64), np.asarray(o).dtype
    cts = f_vjp(out)
    for a, ct in zip(args, cts):
        assert ct.dtype == a.dtype and ct.shape == a.shape
    _, t = cr.jvp(f, tuple(args), tuple(np.ones_like(a) for a in args))
    for o, tt in zip(outs, t if isinstance(t, tuple) else (t,)):
        assert np.asarray(tt).dtype == np.asarray(o).dtype
    check_grads(f, args, order=1, modes=MODES)


DTYPES = [np.float64, np.complex128]


# ---------------------------------------------------------------------------------------------------------
# solve, inv, det, slogdet
# ---------------------------------------------------------------------------------------------------------

SOLVE_SHAPES = [((3, 3), (3,)), ((3, 3), (3, 2)), ((2, 3, 3), (3,)), ((2, 3, 3), (2, 3, 1)),
                ((2, 1, 3, 3), (4, 3, 2)), ((3, 3), (2, 3, 2))]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sa,sb", SOLVE_SHAPES)
def test_solve(sa, sb, dtype):
    check_all(la.solve, [well(sa, dtype), rand(sb, dtype, 1)], np.linalg.solve)


def test_solve_third_order_and_closed_form():
    a, b = well((3, 3)), rand((3,), seed=1)
    check_grads(la.solve, (a, b), order=3, modes=MODES)
    # d/db of c . solve(a, b) is solve(a.T, c); d/da is -outer(that, x)
    c = rand((3,), seed=2)
    ga, gb = cr.grad(lambda a, b: cnp.sum(c * la.solve(a, b)), argnums=(0, 1))(a, b)
    lam = np.linalg.solve(a.T, c)
    np.testing.assert_allclose(gb, lam, rtol=1e-12)
    np.testing.assert_allclose(ga, -np.outer(lam, np.linalg.solve(a, b)), rtol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 3), (2, 3, 3), (1, 1)])
def test_inv(shape, dtype):
    check_all(la.inv, [well(shape, dtype)], np.linalg.inv)


def test_inv_third_order():
    check_grads(la.inv, (well((2, 2)),), order=3, modes=MODES)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 3), (2, 3, 3), (1, 1)])
def test_det(shape, dtype):
    check_all(la.det, [rand(shape, dtype)], np.linalg.det)


def test_det_closed_form_and_complex_convention():
    a = rand((3, 3))
    np.testing.assert_allclose(cr.grad(la.det)(a), np.linalg.det(a) * np.linalg.inv(a).T, rtol=1e-12)
    # For complex a, |det a|^2 has df = Re(2 |det|^2 tr(a^-1 da)): the JAX/autograd gradient is 2 |det|^2 a^-T
    # (no conjugation; PyTorch's convention would give its conjugate).
    z = rand((3, 3), np.complex128)
    g = cr.grad(lambda z: abs2(la.det(z)))(z)
    np.testing.assert_allclose(g, 2 * abs(np.linalg.det(z)) ** 2 * np.linalg.inv(z).T, rtol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 3), (2, 3, 3)])
def test_slogdet(shape, dtype):
    a = rand(shape, dtype)
    check_all(lambda a: tuple(la.slogdet(a)), [a], lambda a: tuple(np.linalg.slogdet(a)))
    res = la.slogdet(a)
    assert type(res).__name__ == "SlogdetResult" and res.sign.shape == shape[:-2]


def test_slogdet_hessian_closed_form():
    # d^2/dt^2 log|det(a + t v)| = -tr(a^-1 v a^-1 v), via forward-over-reverse
    a, v = well((3, 3)), rand((3, 3), seed=4)
    g = lambda a: cr.grad(lambda a: la.slogdet(a)[1])(a)
    _, hv = cr.jvp(g, (a,), (v,))
    ai = np.linalg.inv(a)
    np.testing.assert_allclose(np.sum(hv * v), -np.trace(ai @ v @ ai @ v), rtol=1e-10)


# ---------------------------------------------------------------------------------------------------------
# cholesky
# ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 3), (2, 3, 3), (1, 1)])
def test_cholesky(shape, dtype, upper):
    check_all(lambda a: la.cholesky(a, upper=upper), [hpd(shape, dtype)],
              lambda a: np.linalg.cholesky(a, upper=upper))


def test_cholesky_reads_one_triangle():
    a = hpd((3, 3))
    g = cr.grad(lambda a: cnp.sum(la.cholesky(a) ** 2))(a)
    assert np.all(np.triu(g, 1) == 0) and np.any(np.tril(g, -1) != 0)
    gu = cr.grad(lambda a: cnp.sum(la.cholesky(a, upper=True) ** 2))(a)
    assert np.all(np.tril(gu, -1) == 0)
    # through a symmetric construction the convention does not matter: sum(L**2) = trace(a) = sum(b**2) + const
    b = rand((3, 3))
    gb = cr.grad(lambda b: cnp.sum(la.cholesky(b @ b.T + 3 * np.eye(3)) ** 2))(b)
    np.testing.assert_allclose(gb, 2 * b, rtol=1e-10)


# ---------------------------------------------------------------------------------------------------------
# eigh, eigvalsh
# ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("uplo", ["L", "U"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 3), (2, 3, 3)])
def test_eigh_values_and_projectors(shape, dtype, uplo):
    a = hpd(shape, dtype)
    check_all(lambda a: la.eigh(a, uplo)[0], [a], lambda a: np.linalg.eigh(a, uplo)[0])
    check_all(lambda a: la.eigvalsh(a, uplo), [a], lambda a: np.linalg.eigvalsh(a, uplo))
    c = np.arange(1.0, shape[-1] + 1) ** 2

    def weighted_projector(a):  # sum_i c_i v_i v_i^H: independent of each eigenvector's sign or phase
        w, v = la.eigh(a, uplo)
        return cnp.matmul(v * c, H(v))
    check_grads(weighted_projector, (a,), order=2, modes=MODES)
    check_grads(lambda a: abs2(la.eigh(a, uplo)[1]), (a,), order=2, modes=MODES)


def test_eigh_real_vectors_raw():
    a = hpd((2, 3, 3))
    check_all(lambda a: tuple(la.eigh(a)), [a], lambda a: tuple(np.linalg.eigh(a)))


def test_eigvalsh_degenerate_is_finite():
    g = cr.grad(lambda a: cnp.sum(la.eigvalsh(a) ** 2))(np.eye(3))  # sum of squares = ||a||_F^2 (lower part)
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(g, 2 * np.eye(3), atol=1e-12)


def test_eigh_matches_autograd():
    ag = pytest.importorskip("autograd")
    anp = pytest.importorskip("autograd.numpy")
    a = hpd((3, 3))
    c = np.arange(1.0, 4.0)
    f_cr = lambda a: cnp.sum(la.eigh(a)[0] * c) + cnp.sum(la.eigh(a)[1] ** 4)
    f_ag = lambda a: anp.sum(anp.linalg.eigh(a)[0] * c) + anp.sum(anp.linalg.eigh(a)[1] ** 4)
    np.testing.assert_allclose(cr.grad(f_cr)(a), ag.grad(f_ag)(a), rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------------------------------------------------
# eig, eigvals
# ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 3), (2, 3, 3)])
def test_eig(shape, dtype):
    a = rand(shape, dtype, seed=3)  # a real 3x3 with a complex pair, or complex
    check_all(lambda a: la.eig(a)[0], [a], lambda a: np.linalg.eig(a)[0])
    check_all(la.eigvals, [a], np.linalg.eigvals)
    check_grads(lambda a: abs2(la.eig(a)[1]), (a,), order=2, modes=MODES)  # |v_ij|^2: phase-free


def test_eig_real_spectrum_raw_vectors():
    a = np.diag([1.0, 2.0, 4.0]) + 0.3 * rand((3, 3), seed=5)
    w, v = np.linalg.eig(a)
    assert w.dtype == np.float64  # NumPy's real result for a real spectrum, kept
    check_all(lambda a: tuple(la.eig(a)), [a], lambda a: tuple(np.linalg.eig(a)))


def test_eig_closed_form():
    # d lambda = u^T da v / (u^T v) with u, v the left and right eigenvectors
    a = rand((3, 3), seed=6)
    w, v = np.linalg.eig(a)
    u = np.linalg.inv(v).T
    k = int(np.argmax(w.real))
    g = cr.grad(lambda a: cnp.real(la.eigvals(a)[k]))(a)
    np.testing.assert_allclose(g, np.real(np.outer(u[:, k], v[:, k])), rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------------------------------------------------
# svd
# ---------------------------------------------------------------------------------------------------------

SVD_SHAPES = [(3, 3), (4, 3), (3, 4), (2, 4, 2), (2, 2, 3), (5, 2)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SVD_SHAPES)
def test_svd_values(shape, dtype):
    check_all(lambda a: la.svd(a, compute_uv=False), [rand(shape, dtype)],
              lambda a: np.linalg.svd(a, compute_uv=False))
    check_all(la.svdvals, [rand(shape, dtype)], np.linalg.svdvals)


@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SVD_SHAPES)
def test_svd_gauge_invariant(shape, dtype, full):
    a = rand(shape, dtype)
    k = min(shape[-2:])

    def f(a):
        u, s, vh = la.svd(a, full_matrices=full)
        rec = cnp.matmul(u[..., :k] * s[..., None, :] ** 2, vh[..., :k, :])   # U S^2 V^H
        pu = cnp.matmul(u[..., :, k:], H(u[..., :, k:]))                     # complement projectors (full)
        pv = cnp.matmul(H(vh[..., k:, :]), vh[..., k:, :])
        return rec, pu, pv, abs2(u[..., :k]), abs2(vh[..., :k, :])
    check_grads(f, (a,), order=2, modes=MODES)
    u, s, vh = la.svd(a, full_matrices=full)
    np.testing.assert_allclose(np.asarray(u).shape, np.linalg.svd(a, full_matrices=full)[0].shape)


@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("shape", [(3, 3), (4, 3), (3, 4), (2, 3, 2)])
def test_svd_real_raw(shape, full):
    # real singular vectors are unique up to sign (a discrete gauge), as is a single complement column
    check_all(lambda a: tuple(la.svd(a, full_matrices=full)), [rand(shape)],
              lambda a: tuple(np.linalg.svd(a, full_matrices=full)))


def test_svd_matches_autograd():
    ag = pytest.importorskip("autograd")
    anp = pytest.importorskip("autograd.numpy")
    a = rand((4, 3))
    w = rand((4, 3), seed=9)
    f_cr = lambda a: cnp.sum(w * cnp.matmul(la.svd(a, False)[0], la.svd(a, False)[2])) + \
        cnp.sum(la.svd(a, compute_uv=False) ** 3)
    f_ag = lambda a: anp.sum(w * anp.dot(anp.linalg.svd(a, False)[0], anp.linalg.svd(a, False)[2])) + \
        anp.sum(anp.linalg.svd(a, compute_uv=False) ** 3)
    np.testing.assert_allclose(cr.grad(f_cr)(a), ag.grad(f_ag)(a), rtol=1e-9, atol=1e-12)


def test_svd_nuclear_norm_closed_form():
    a = rand((3, 4))
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    np.testing.assert_allclose(cr.grad(lambda a: cnp.sum(la.svd(a, compute_uv=False)))(a), u @ vh, rtol=1e-10)


# ---------------------------------------------------------------------------------------------------------
# qr
# ---------------------------------------------------------------------------------------------------------

QR_SHAPES = [(3, 3), (4, 3), (3, 4), (2, 4, 2), (2, 2, 4), (5, 2)]


@pytest.mark.parametrize("mode", ["reduced", "r"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", QR_SHAPES)
def test_qr(shape, dtype, mode):
    # LAPACK's R has a real diagonal: the gauge is discrete, so Q and R are checked raw
    want = (lambda a: tuple(np.linalg.qr(a, mode))) if mode != "r" else (lambda a: np.linalg.qr(a, mode))
    got = (lambda a: tuple(la.qr(a, mode))) if mode != "r" else (lambda a: la.qr(a, mode))
    check_all(got, [rand(shape, dtype)], want, rtol=1e-9)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", QR_SHAPES)
def test_qr_complete(shape, dtype):
    a = rand(shape, dtype)
    m, n = shape[-2:]
    k = min(m, n)

    def f(a):
        q, r = la.qr(a, "complete")
        return q[..., :k], r, cnp.matmul(q[..., k:], H(q[..., k:]))  # the complement through its projector
    check_grads(f, (a,), order=2, modes=MODES)
    q, r = la.qr(a, "complete")
    wq, wr = np.linalg.qr(a, "complete")
    np.testing.assert_allclose(q, wq, atol=1e-12)
    np.testing.assert_allclose(r, wr, atol=1e-12)


def test_qr_closed_form():
    # R[0, 0] = +-|a[:, 0]| (LAPACK's sign), so its gradient is a[:, 0] / R[0, 0] in column 0 and zero elsewhere
    a = rand((4, 3))
    r00 = np.linalg.qr(a, "r")[0, 0]
    g = cr.grad(lambda a: la.qr(a, "r")[0, 0])(a)
    want = np.zeros_like(a)
    want[:, 0] = a[:, 0] / r00
    np.testing.assert_allclose(g, want, rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------------------------------------------------
# pinv, lstsq
# ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 3), (4, 3), (3, 4), (2, 4, 3)])
def test_pinv(shape, dtype):
    check_all(la.pinv, [rand(shape, dtype)], np.linalg.pinv, rtol=1e-9)


def test_pinv_options():
    b = rand((3, 3))
    sym = lambda b: b + b.T
    check_all(lambda b: la.pinv(sym(b), hermitian=True), [b], lambda b: np.linalg.pinv(b + b.T, hermitian=True),
              rtol=1e-9)
    a = rand((4, 3))
    check_all(lambda a: la.pinv(a, rcond=1e-8), [a], lambda a: np.linalg.pinv(a, rcond=1e-8), rtol=1e-9)
    check_all(lambda a: la.pinv(a, rtol=1e-8), [a], lambda a: np.linalg.pinv(a, rtol=1e-8), rtol=1e-9)


@pytest.mark.parametrize("sa,sb", [((4, 3), (4,)), ((5, 2), (5, 3)), ((2, 3), (2,)), ((3, 3), (3, 2))])
@pytest.mark.parametrize("dtype", DTYPES)
def test_lstsq(sa, sb, dtype):
    a, b = rand(sa, dtype), rand(sb, dtype, 1)

    def f(a, b):
        x, res, rank, s = la.lstsq(a, b)
        return x, res, s
    check_all(f, [a, b], lambda a, b: tuple(np.linalg.lstsq(a, b)[i] for i in (0, 1, 3)), rtol=1e-9)
    _, _, rank, _ = cr.vjp(lambda a: la.lstsq(a, b), a)[0]
    assert int(rank) == np.linalg.lstsq(a, b)[2]


# ---------------------------------------------------------------------------------------------------------
# norm, vector_norm, matrix_norm, cond
# ---------------------------------------------------------------------------------------------------------

VECTOR_ORDS = [None, 2, 1, np.inf, -np.inf, 3, 0.5, -1]
MATRIX_ORDS = [None, "fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ord", VECTOR_ORDS)
def test_vector_norms(ord, dtype):
    x = rand((2, 4), dtype)
    check_all(lambda x: la.norm(x, ord, axis=1), [x], lambda x: np.linalg.norm(x, ord, axis=1))
    check_all(lambda x: la.norm(x, ord, axis=0, keepdims=True), [x],
              lambda x: np.linalg.norm(x, ord, axis=0, keepdims=True))
    check_all(lambda x: la.norm(x[0], ord), [x], lambda x: np.linalg.norm(x[0], ord))


def test_vector_norm_zero_order():
    x = np.array([[1.0, 0.0, -2.0], [0.0, 0.0, 3.0]])
    check_all(lambda x: la.norm(x, 0, axis=1), [x], lambda x: np.linalg.norm(x, 0, axis=1))
    np.testing.assert_array_equal(cr.grad(lambda x: cnp.sum(la.norm(x, 0, axis=1)))(x), 0 * x)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ord", MATRIX_ORDS)
def test_matrix_norms(ord, dtype):
    x = rand((3, 4), dtype)
    check_all(lambda x: la.norm(x, ord), [x], lambda x: np.linalg.norm(x, ord))
    y = rand((2, 3, 4), dtype, seed=1)
    for axis in [(1, 2), (2, 0), (0, 1)]:
        check_all(lambda y: la.norm(y, ord, axis=axis), [y], lambda y: np.linalg.norm(y, ord, axis=axis))
    check_all(lambda y: la.norm(y, ord, axis=(2, 1), keepdims=True), [y],
              lambda y: np.linalg.norm(y, ord, axis=(2, 1), keepdims=True))


def test_norm_defaults_and_namespaces():
    x = rand((2, 3, 4))
    check_all(la.norm, [x], np.linalg.norm)
    check_all(lambda x: la.norm(x, keepdims=True), [x], lambda x: np.linalg.norm(x, keepdims=True))
    check_all(lambda x: la.vector_norm(x, axis=(0, 2), ord=3), [x],
              lambda x: np.linalg.vector_norm(x, axis=(0, 2), ord=3))
    check_all(lambda x: la.vector_norm(x, keepdims=True), [x], lambda x: np.linalg.vector_norm(x, keepdims=True))
    check_all(lambda x: la.matrix_norm(x, ord="nuc"), [x], lambda x: np.linalg.matrix_norm(x, ord="nuc"))
    np.testing.assert_allclose(cr.grad(la.norm)(x), x / np.linalg.norm(x), rtol=1e-12)
    z = rand((4,), np.complex128)
    np.testing.assert_allclose(cr.grad(la.norm)(z), np.conj(z) / np.linalg.norm(z), rtol=1e-12)  # JAX's convention


@pytest.mark.parametrize("p", [None, 2, -2, "fro", "nuc", 1, -1, np.inf])
def test_cond(p):
    check_all(lambda a: la.cond(a, p), [well((2, 3, 3))], lambda a: np.linalg.cond(a, p), rtol=1e-9)


# ---------------------------------------------------------------------------------------------------------
# matrix_power, multi_dot, tensorsolve, tensorinv, matrix_rank and the small helpers
# ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [0, 1, 2, 3, 5, -1, -2])
def test_matrix_power(n):
    a = well((2, 3, 3)) / 3
    check_all(lambda a: la.matrix_power(a, n), [a], lambda a: np.linalg.matrix_power(a, n))


@pytest.mark.parametrize("shapes", [[(2, 3), (3, 4), (4, 2)], [(3,), (3, 4), (4, 2), (2,)], [(5, 2), (2, 3)],
                                    [(2,), (2, 6), (6, 3), (3, 1)], [(4, 1), (1, 4), (4, 2), (2,)]])
def test_multi_dot(shapes):
    args = [rand(s, seed=i) for i, s in enumerate(shapes)]
    check_all(lambda *xs: la.multi_dot(list(xs)), args, lambda *xs: np.linalg.multi_dot(list(xs)))


def test_tensorsolve_tensorinv():
    a = well((6, 6)).reshape(2, 3, 6)
    b = rand((2, 3), seed=1)
    check_all(la.tensorsolve, [a, b], np.linalg.tensorsolve)
    a2 = np.moveaxis(a, 0, 2)  # (3, 6, 2): axes=(0,) puts axis 0 last again
    check_all(lambda a, b: la.tensorsolve(a, b, axes=(0,)), [np.moveaxis(a, 2, 0).reshape(6, 2, 3), b],
              lambda a, b: np.linalg.tensorsolve(a, b, axes=(0,)))
    del a2
    t = well((6, 6)).reshape(2, 3, 6)
    check_all(lambda t: la.tensorinv(t, ind=2), [t], lambda t: np.linalg.tensorinv(t, ind=2))
    check_all(lambda t: la.tensorinv(t, ind=1), [well((4, 4)).reshape(4, 2, 2)],
              lambda t: np.linalg.tensorinv(t, ind=1))


def test_matrix_rank():
    a = np.array([[1.0, 2.0], [2.0, 4.0]])
    assert int(la.matrix_rank(a)) == 1
    stack = np.stack([a, np.eye(2), np.zeros((2, 2))])
    np.testing.assert_array_equal(cr.vmap(la.matrix_rank)(stack), [1, 2, 0])
    # a differentiated function may use it: the rank is a constant
    g = cr.grad(lambda x: la.matrix_rank(x) * cnp.sum(x ** 2))(np.eye(2))
    np.testing.assert_allclose(g, 4 * np.eye(2))


def test_small_helpers():
    x, y = rand((2, 3, 4)), rand((2, 3, 4), seed=1)
    check_all(la.matrix_transpose, [x], np.linalg.matrix_transpose)
    check_all(la.vecdot, [x, y], np.linalg.vecdot)
    z1, z2 = rand((3,), np.complex128), rand((3,), np.complex128, 1)
    check_all(la.vecdot, [z1, z2], np.linalg.vecdot)
    check_all(la.matmul, [x, rand((4, 2))], np.linalg.matmul)
    check_all(lambda a, b: la.tensordot(a, b, axes=1), [x, rand((4, 2))],
              lambda a, b: np.linalg.tensordot(a, b, axes=1))
    check_all(la.outer, [rand((3,)), rand((2,), seed=1)], np.linalg.outer)
    check_all(lambda x: la.diagonal(x, offset=1), [x], lambda x: np.linalg.diagonal(x, offset=1))
    check_all(la.trace, [x], np.linalg.trace)
    assert la.LinAlgError is np.linalg.LinAlgError


# ---------------------------------------------------------------------------------------------------------
# vmap (never a loop fallback: see pytestmark) and vmap of grad
# ---------------------------------------------------------------------------------------------------------

VMAP_CASES = [
    ("solve a,b", la.solve, lambda: (well((4, 3, 3)), rand((4, 3, 2))), 0),
    ("solve b only", la.solve, lambda: (well((3, 3)), rand((4, 3, 2))), (None, 0)),
    ("solve b only, inner axis", la.solve, lambda: (well((2, 3, 3)), rand((2, 3, 1, 4))), (None, 3)),
    ("solve b only, vector", la.solve, lambda: (well((3, 3)), rand((3, 4))), (None, 1)),
    ("solve a only", la.solve, lambda: (well((4, 3, 3)), rand((3,))), (0, None)),
    ("inv", la.inv, lambda: (well((4, 3, 3)),), 0),
    ("det", la.det, lambda: (rand((3, 2, 2, 2)),), 1),
    ("slogdet", lambda a: tuple(la.slogdet(a)), lambda: (rand((4, 3, 3), np.complex128),), 0),
    ("cholesky", la.cholesky, lambda: (hpd((4, 3, 3)),), 0),
    ("eigh", lambda a: tuple(la.eigh(a)), lambda: (hpd((4, 3, 3)),), 0),
    ("eig", la.eigvals, lambda: (rand((4, 3, 3), np.complex128),), 0),
    ("svd", lambda a: tuple(la.svd(a)), lambda: (rand((4, 4, 3)),), 0),
    ("svd wide", lambda a: la.svd(a, compute_uv=False), lambda: (rand((3, 2, 4)),), 2),
    ("qr", lambda a: tuple(la.qr(a)), lambda: (rand((4, 4, 3)),), 0),
    ("qr wide", lambda a: la.qr(a, "r"), lambda: (rand((4, 2, 3)),), 0),
    ("pinv", la.pinv, lambda: (rand((4, 3, 2)),), 0),
    ("norm nuc", lambda a: la.norm(a, "nuc"), lambda: (rand((4, 3, 2)),), 0),
    ("lstsq", lambda a, b: la.lstsq(a, b)[0], lambda: (rand((4, 3, 2)), rand((4, 3))), 0),
]


@pytest.mark.parametrize("name,f,make,in_axes", VMAP_CASES, ids=[c[0] for c in VMAP_CASES])
def test_vmap(name, f, make, in_axes):
    check_vmap(f, make(), in_axes=in_axes, atol=1e-10, rtol=1e-10)


def test_vmap_of_grad():
    f = lambda a: la.slogdet(a)[1] + cnp.sum(la.svd(a, compute_uv=False))
    check_vmap(cr.grad(f), (well((3, 3, 3)),), atol=1e-10, rtol=1e-10)
    check_vmap(lambda a: cr.jvp(la.cholesky, (a,), (np.eye(3),))[1], (hpd((3, 3, 3)),), atol=1e-10, rtol=1e-10)


# ---------------------------------------------------------------------------------------------------------
# float32
# ---------------------------------------------------------------------------------------------------------

F32_CASES = [
    ("solve", la.solve, lambda dt: (well((2, 3, 3), dt), rand((2, 3, 2), dt))),
    ("inv", la.inv, lambda dt: (well((3, 3), dt),)),
    ("det", la.det, lambda dt: (well((2, 3, 3), dt),)),
    ("slogdet", lambda a: la.slogdet(a)[1], lambda dt: (well((3, 3), dt),)),
    ("cholesky", la.cholesky, lambda dt: (hpd((3, 3), dt),)),
    ("eigh", lambda a: la.eigh(a)[0], lambda dt: (hpd((3, 3), dt),)),
    ("eig", lambda a: abs2(la.eigvals(a)), lambda dt: (rand((3, 3), dt),)),
    ("svd", lambda a: (la.svd(a, compute_uv=False), abs2(la.svd(a)[0][:, :3])), lambda dt: (rand((4, 3), dt),)),
    ("qr", lambda a: tuple(la.qr(a)), lambda dt: (rand((4, 3), dt),)),
    ("pinv", la.pinv, lambda dt: (rand((3, 2), dt),)),
    ("norm", lambda a: la.norm(a, 2), lambda dt: (rand((3, 2), dt),)),
    ("norm vec", lambda a: la.norm(a, 3, axis=0), lambda dt: (rand((3, 2), dt),)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.complex64])
@pytest.mark.parametrize("name,f,make", F32_CASES, ids=[c[0] for c in F32_CASES])
def test_single_precision(name, f, make, dtype):
    check_float32(f, make(dtype))


# ---------------------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------------------

def test_errors_name_op_and_shapes():
    a = rand((2, 3))
    for fn in (la.cholesky, la.inv, la.det, la.eigh, la.eig, la.slogdet):
        name = fn.__name__
        with pytest.raises(la.LinAlgError, match=rf"{name}: last 2 dimensions .* square, got shape \(2, 3\)"):
            fn(a)
        with pytest.raises(la.LinAlgError, match=rf"{name}: last 2 dimensions .* square, got shape \(2, 3\)"):
            cr.grad(lambda a: cnp.sum(fn(a)[0] if name in ("eigh", "eig", "slogdet") else fn(a)))(a)
    with pytest.raises(la.LinAlgError, match=r"svd: 1-dimensional array given \(shape \(3,\)\)"):
        la.svd(np.ones(3))
    with pytest.raises(ValueError, match=r"solve: shapes \(3, 3\) and \(4,\) do not fit"):
        la.solve(well((3, 3)), np.ones(4))
    with pytest.raises(ValueError, match=r"solve: batch dimensions of shapes \(2, 3, 3\) and \(4, 3, 1\)"):
        cr.grad(lambda a: cnp.sum(la.solve(a, np.ones((4, 3, 1)))))(well((2, 3, 3)))
    with pytest.raises(ValueError, match="eigh: UPLO argument must be 'L' or 'U', got 'X'"):
        la.eigh(hpd((2, 2)), "X")
    with pytest.raises(ValueError, match="qr: unrecognized mode 'full'"):
        la.qr(a, "full")
    with pytest.raises(ValueError, match=r"norm: invalid norm order 'fro' for vectors"):
        cr.grad(lambda x: la.norm(x, "fro", axis=0))(np.ones(3))
    with pytest.raises(ValueError, match=r"norm: invalid norm order 3 for matrices"):
        cr.grad(lambda x: la.norm(x, 3))(np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"norm: improper number of dimensions .* shape \(2, 2, 2\)"):
        cr.grad(lambda x: la.norm(x, 1))(np.ones((2, 2, 2)))
    with pytest.raises(TypeError, match="matrix_power: exponent must be an integer"):
        cr.grad(lambda x: cnp.sum(la.matrix_power(x, 1.5)))(np.eye(2))
    with pytest.raises(ValueError, match="multi_dot: shapes \\(2, 3\\) and \\(2, 2\\)"):
        cr.grad(lambda x: cnp.sum(la.multi_dot([x, np.ones((2, 2)), np.ones(2)])))(np.ones((2, 3)))
    with pytest.raises(la.LinAlgError, match=r"lstsq: 3-dimensional array given \(shape \(2, 3, 3\)\)"):
        cr.grad(lambda x: cnp.sum(la.lstsq(x, np.ones(3))[0]))(np.ones((2, 3, 3)))
    with pytest.raises(NotImplementedError, match="qr: mode='raw'"):
        cr.grad(lambda x: cnp.sum(la.qr(x, "raw")[0]))(np.ones((2, 2)))


def test_namespace_falls_through_to_numpy():
    assert la.LinAlgError is np.linalg.LinAlgError
    with pytest.raises(AttributeError, match="chainrule.numpy.linalg' has no attribute 'nope'"):
        la.nope
