"""chainrule.scipy.linalg against scipy.linalg: values, derivatives against finite differences in forward and
reverse mode to order 2 (every rule is written with the same primitives, so second derivatives are closed-form
chains), closed forms, vmap against a loop, float32 preservation and errors."""
import numpy as np
import pytest

pytest.importorskip("scipy")
import scipy.linalg as sl

import chainrule as cr
import chainrule.scipy.linalg as csl
from chainrule.testing import check_grads, check_vmap

RNG = np.random.default_rng(0)
N = 3
A = RNG.standard_normal((N, N))
SPD = A @ A.T + N * np.eye(N)
LOW = np.tril(RNG.standard_normal((N, N))) + 3 * np.eye(N)
B = RNG.standard_normal((N, 2))
BATCH = RNG.standard_normal((4, N, N)) + 3 * np.eye(N)


@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("trans", [0, "T", 2])
@pytest.mark.parametrize("unit", [False, True])
def test_solve_triangular(lower, trans, unit):
    a = LOW if lower else LOW.T.copy()
    f = lambda a_, b_: csl.solve_triangular(a_, b_, trans=trans, lower=lower, unit_diagonal=unit)  # noqa: E731
    np.testing.assert_allclose(f(a, B), sl.solve_triangular(a, B, trans=trans, lower=lower, unit_diagonal=unit),
                               rtol=1e-12)
    np.testing.assert_allclose(f(a, B[:, 0]), sl.solve_triangular(a, B[:, 0], trans=trans, lower=lower,
                                                                  unit_diagonal=unit), rtol=1e-12)
    check_grads(f, (a, B), order=2)
    # only the triangle that is read gets a cotangent
    g = cr.grad(lambda a_: f(a_, B).sum())(a)
    unread = np.triu(np.ones((N, N)), 0 if unit else 1) if lower else np.tril(np.ones((N, N)), 0 if unit else -1)
    assert np.all(g[unread.astype(bool)] == 0)


def test_solve_triangular_batched_and_vmap():
    lows = np.tril(BATCH)
    bs = RNG.standard_normal((4, N, 2))
    np.testing.assert_allclose(csl.solve_triangular(lows, bs, lower=True),
                               np.stack([sl.solve_triangular(l_, b_, lower=True) for l_, b_ in zip(lows, bs)]),
                               rtol=1e-12)
    f = lambda a_, b_: csl.solve_triangular(a_, b_, lower=True)  # noqa: E731
    check_vmap(f, (lows, bs))
    check_vmap(f, (lows, B), in_axes=(0, None))
    check_vmap(f, (LOW, bs[:, :, 0]), in_axes=(None, 0))
    check_vmap(cr.grad(lambda a_, b_: f(a_, b_).sum()), (lows, bs))


def test_solve_triangular_complex():
    a = LOW + 1j * np.tril(RNG.standard_normal((N, N)))
    b = B + 1j * RNG.standard_normal(B.shape)
    for trans in (0, 1, 2):
        np.testing.assert_allclose(csl.solve_triangular(a, b, trans=trans, lower=True),
                                   sl.solve_triangular(a, b, trans=trans, lower=True), rtol=1e-12)
        # first order, both modes: the complex case uses the same rules as the real one, checked to order 2 above
        check_grads(lambda a_, b_: csl.solve_triangular(a_, b_, trans=trans, lower=True), (a, b), order=1)


def test_solve_sylvester():
    a, b = SPD, A + 4 * np.eye(N)
    q = RNG.standard_normal((N, N))
    np.testing.assert_allclose(csl.solve_sylvester(a, b, q), sl.solve_sylvester(a, b, q), rtol=1e-10)
    check_grads(csl.solve_sylvester, (a, b, q), order=2)
    # rectangular q
    b2 = np.array([[2.0, 1.0], [0.0, 3.0]])
    q2 = RNG.standard_normal((N, 2))
    np.testing.assert_allclose(csl.solve_sylvester(a, b2, q2), sl.solve_sylvester(a, b2, q2), rtol=1e-10)
    check_grads(csl.solve_sylvester, (a, b2, q2), order=1)  # same rules as the square case (order 2 above)
    check_vmap(csl.solve_sylvester, (BATCH, BATCH + 1, RNG.standard_normal((4, N, N))))
    with pytest.raises(ValueError, match=r"solve_sylvester: q must have shape \(\.\.\., 3, 2\)"):
        csl.solve_sylvester(a, b2, q)


@pytest.mark.parametrize("name", ["sqrtm", "expm", "logm"])
def test_matrix_functions(name):
    f, ref = getattr(csl, name), getattr(sl, name)
    np.testing.assert_allclose(f(SPD), ref(SPD), rtol=1e-10, atol=1e-12)
    check_grads(f, (SPD,), order=2)
    # a non-symmetric matrix: first order in both modes (the second order above already covers the rules)
    m = A + 4 * np.eye(N)
    np.testing.assert_allclose(f(m), ref(m), rtol=1e-10, atol=1e-12)
    check_grads(f, (m,), order=1)
    check_vmap(f, (BATCH + 2 * np.eye(N),))
    m32 = SPD.astype(np.float32)
    assert f(m32).dtype == np.float32
    assert cr.grad(lambda a: f(a).sum())(m32).dtype == np.float32


def test_matrix_function_closed_forms():
    # d/dt expm(t A) = A expm(t A); d/dt logm(I + t E) at 0 = E; sqrtm(A)^2 = A differentiates to identity
    _, t = cr.jvp(lambda s: csl.expm(s * A), (0.7,), (1.0,))
    np.testing.assert_allclose(t, A @ sl.expm(0.7 * A), rtol=1e-10)
    e = RNG.standard_normal((N, N))
    _, t = cr.jvp(csl.logm, (np.eye(N),), (e,))
    np.testing.assert_allclose(t, e, rtol=1e-8, atol=1e-10)
    _, t = cr.jvp(lambda a: csl.sqrtm(a) @ csl.sqrtm(a), (SPD,), (e,))
    np.testing.assert_allclose(t, e, rtol=1e-8, atol=1e-10)
    # commuting case: d trace(expm(A)) / dA = expm(A)^T
    np.testing.assert_allclose(cr.grad(lambda a: csl.expm(a).trace())(A), sl.expm(A).T, rtol=1e-10)
    # expm of a complex matrix, forward and reverse
    c = A + 1j * RNG.standard_normal((N, N))
    np.testing.assert_allclose(csl.expm(c), sl.expm(c), rtol=1e-10)
    check_grads(csl.expm, (c,), order=1)  # the real case is checked to order 2 in test_matrix_functions


def test_lu():
    lu, piv = csl.lu_factor(A)
    ref_lu, ref_piv = sl.lu_factor(A)
    np.testing.assert_allclose(lu, ref_lu, rtol=1e-12)
    np.testing.assert_array_equal(piv, ref_piv)
    check_grads(lambda a: csl.lu_factor(a)[0], (A,), order=2)
    for trans in (0, 1, 2):
        np.testing.assert_allclose(csl.lu_solve((lu, piv), B, trans=trans), sl.lu_solve((ref_lu, ref_piv), B,
                                                                                          trans=trans), rtol=1e-12)
        check_grads(lambda a, b: csl.lu_solve(csl.lu_factor(a), b, trans=trans), (A, B), order=2)
    np.testing.assert_allclose(csl.lu_solve((lu, piv), B[:, 0]), np.linalg.solve(A, B[:, 0]), rtol=1e-12)
    # solve through the factorisation: gradient of sum(A^-1 b) w.r.t. A is -A^-T 1 x^T
    x = np.linalg.solve(A, B[:, 0])
    np.testing.assert_allclose(cr.grad(lambda a: csl.lu_solve(csl.lu_factor(a), B[:, 0]).sum())(A),
                               -np.outer(np.linalg.solve(A.T, np.ones(N)), x), rtol=1e-10)
    check_vmap(lambda a: csl.lu_factor(a), (BATCH,))
    check_vmap(lambda a, b: csl.lu_solve(csl.lu_factor(a), b), (BATCH, RNG.standard_normal((4, N))))
    with pytest.raises(ValueError, match=r"lu_factor: expected a square matrix .* got shape \(3, 2\)"):
        csl.lu_factor(B)


def _band(a, l, u):
    n = a.shape[0]
    ab = np.zeros((l + u + 1, n))
    for i in range(n):
        for j in range(max(0, i - l), min(n, i + u + 1)):
            ab[u + i - j, j] = a[i, j]
    return ab


@pytest.mark.parametrize("l,u", [(1, 1), (1, 2), (0, 1), (2, 0), (4, 4)])
def test_solve_banded(l, u):
    n = 5
    full = RNG.standard_normal((n, n)) + 6 * np.eye(n)
    full = np.triu(np.tril(full, u), -l)
    ab = _band(full, l, u)
    b = RNG.standard_normal((n, 2))
    np.testing.assert_allclose(csl.solve_banded((l, u), ab, b), sl.solve_banded((l, u), ab, b), rtol=1e-12)
    np.testing.assert_allclose(csl.solve_banded((l, u), ab, b[:, 0]), np.linalg.solve(full, b[:, 0]), rtol=1e-12)
    f = lambda ab_, b_: csl.solve_banded((l, u), ab_, b_)  # noqa: E731
    check_grads(f, (ab, b), order=2)
    # the band cotangent is the band of the dense solve's cotangent -A^-T g x^T
    g = cr.grad(lambda ab_: f(ab_, b[:, 0]).sum())(ab)
    dense = -np.outer(np.linalg.solve(full.T, np.ones(n)), np.linalg.solve(full, b[:, 0]))
    np.testing.assert_allclose(g, _band(dense, l, u), rtol=1e-10, atol=1e-14)
    check_vmap(f, (np.stack([ab, 2 * ab]), np.stack([b, -b])))
    check_vmap(f, (ab, np.stack([b, -b])), in_axes=(None, 0))


def test_solve_banded_errors():
    with pytest.raises(ValueError, match=r"l\+u\+1 \(3\) does not equal ab.shape\[0\] \(2\)"):
        csl.solve_banded((1, 1), np.ones((2, 3)), np.ones(3))
    with pytest.raises(ValueError, match=r"shapes of ab \(3, 3\) and b \(4,\) are not compatible"):
        csl.solve_banded((1, 1), np.ones((3, 3)), np.ones(4))


def test_cholesky_family():
    np.testing.assert_allclose(csl.cholesky(SPD), sl.cholesky(SPD), rtol=1e-12)
    np.testing.assert_allclose(csl.cholesky(SPD, lower=True), sl.cholesky(SPD, lower=True), rtol=1e-12)
    check_grads(lambda a: csl.cholesky(a), (SPD,), order=2)
    for lower in (True, False):
        c = csl.cho_factor(SPD, lower=lower)
        np.testing.assert_allclose(csl.cho_solve(c, B), sl.cho_solve(sl.cho_factor(SPD, lower=lower), B),
                                   rtol=1e-12)
        # first order: cholesky and solve_triangular are checked to second order on their own
        check_grads(lambda a, b: csl.cho_solve(csl.cho_factor(a @ a.T, lower=lower), b), (SPD, B), order=1)
    check_vmap(lambda a: csl.cholesky(a @ np.swapaxes(a, -1, -2)), (BATCH,))


def test_eigh():
    w, v = csl.eigh(SPD)
    np.testing.assert_allclose(w, sl.eigh(SPD)[0], rtol=1e-12)
    np.testing.assert_allclose(np.abs(v), np.abs(sl.eigh(SPD)[1]), rtol=1e-10)
    m = RNG.standard_normal((N, N))
    bmat = m @ m.T + np.eye(N)
    np.testing.assert_allclose(csl.eigh(SPD, bmat, eigvals_only=True), sl.eigh(SPD, bmat, eigvals_only=True),
                               rtol=1e-10)
    w2, v2 = csl.eigh(SPD, bmat)
    np.testing.assert_allclose(v2.T @ bmat @ v2, np.eye(N), atol=1e-12)
    np.testing.assert_allclose(SPD @ v2, bmat @ v2 * w2, atol=1e-10)
    np.testing.assert_allclose(csl.eigh(SPD, eigvals_only=True, subset_by_index=(1, 2)),
                               sl.eigh(SPD, eigvals_only=True, subset_by_index=(1, 2)), rtol=1e-12)
    # first order: the generalized problem is a composition of cholesky, solve_triangular and eigh, each checked
    # to second order elsewhere
    check_grads(lambda a, b: csl.eigh(a, b, eigvals_only=True), (SPD, bmat), order=1)
    # gauge-invariant use of the eigenvectors
    check_grads(lambda a, b: (lambda wv: (wv[1] * wv[1]).sum(0))(csl.eigh(a, b)), (SPD, bmat), order=1)
    with pytest.raises(NotImplementedError, match="eigh: only the generalized problem type=1"):
        csl.eigh(SPD, bmat, type=2)


def test_numpy_backed_solvers():
    np.testing.assert_allclose(csl.solve(A, B), sl.solve(A, B), rtol=1e-12)
    np.testing.assert_allclose(csl.solve(A, B[:, 0], transposed=True), sl.solve(A, B[:, 0], transposed=True),
                               rtol=1e-12)
    np.testing.assert_allclose(csl.solve(SPD, B, assume_a="pos"), sl.solve(SPD, B, assume_a="pos"), rtol=1e-12)
    np.testing.assert_allclose(csl.inv(A), sl.inv(A), rtol=1e-12)
    np.testing.assert_allclose(csl.det(A), sl.det(A), rtol=1e-12)
    # first order: a composition of cholesky and solve_triangular, both checked to order 2
    check_grads(lambda a, b: csl.solve(a, b, assume_a="pos"), (SPD, B), order=1)


def test_errors():
    with pytest.raises(ValueError, match=r"solve_triangular: shapes of a \(3, 3\) and b \(2,\) are incompatible"):
        csl.solve_triangular(LOW, np.ones(2))
    with pytest.raises(ValueError, match="solve_triangular: trans must be"):
        csl.solve_triangular(LOW, B, trans=3)
    with pytest.raises(ValueError, match="solve_triangular: array must not contain infs or NaNs"):
        csl.solve_triangular(LOW, np.full(3, np.nan))
    with pytest.raises(ValueError, match=r"expm: expected a square matrix .* got shape \(3, 2\)"):
        csl.expm(B)
    with pytest.raises(np.linalg.LinAlgError):
        csl.cholesky(-SPD)
