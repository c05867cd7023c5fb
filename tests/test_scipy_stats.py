"""chainrule.scipy.stats against scipy.stats: values (inside and outside the support, invalid parameters), derivatives
against finite differences in forward and reverse mode to order 2 (densities and distribution functions are
compositions of closed-form special functions, so second derivatives are closed-form chains too), vmap against a
loop, float32 preservation, and the errors for derivatives without a closed form."""
import numpy as np
import pytest

pytest.importorskip("scipy")
import scipy.stats as ss

import chainrule as cr
import chainrule.scipy.stats as cst
from chainrule import MissingRuleError
from chainrule.testing import check_grads, check_vmap

RNG = np.random.default_rng(0)

# distribution, shape parameters, x values inside the support (loc=0.3, scale=1.7 are applied on top)
CONTINUOUS = [
    ("norm", (), RNG.uniform(-2.0, 2.0, 4)),
    ("t", (3.5,), RNG.uniform(-2.0, 2.0, 4)),
    ("beta", (2.5, 1.5), RNG.uniform(0.1, 0.9, 4)),
    ("gamma", (2.5,), RNG.uniform(0.2, 3.0, 4)),
    ("chi2", (3.0,), RNG.uniform(0.2, 3.0, 4)),
]
FUNCS = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"]
LOC, SCALE = 0.3, 1.7


@pytest.mark.parametrize("name,shapes,z", CONTINUOUS, ids=[c[0] for c in CONTINUOUS])
def test_values_match_scipy(name, shapes, z):
    x = LOC + SCALE * z
    # points outside the support and a loc/scale pair per point (broadcasting)
    x_wide = np.concatenate([x, [-5.0, 5.0, 0.3]])
    for fn in FUNCS:
        ours, ref = getattr(getattr(cst, name), fn), getattr(getattr(ss, name), fn)
        np.testing.assert_allclose(ours(x, *shapes, loc=LOC, scale=SCALE), ref(x, *shapes, loc=LOC, scale=SCALE),
                                   rtol=1e-10, err_msg=fn)
        np.testing.assert_allclose(ours(x_wide, *shapes, LOC, SCALE), ref(x_wide, *shapes, LOC, SCALE),
                                   rtol=1e-10, err_msg=fn)
        np.testing.assert_allclose(ours(z, *shapes), ref(z, *shapes), rtol=1e-10, err_msg=fn)
        # invalid scale gives nan, as in SciPy
        assert np.isnan(ours(x[0], *shapes, LOC, -1.0)), fn


@pytest.mark.parametrize("name,shapes,z", CONTINUOUS, ids=[c[0] for c in CONTINUOUS])
def test_logpdf_derivatives_in_every_argument(name, shapes, z):
    logpdf = getattr(cst, name).logpdf
    x = LOC + SCALE * z
    args = (x,) + tuple(np.full(4, s) for s in shapes) + (np.full(4, LOC), np.full(4, SCALE))
    check_grads(logpdf, args, order=2)
    check_vmap(logpdf, args)
    check_vmap(lambda v: logpdf(v, *shapes, LOC, SCALE), (x,))


@pytest.mark.parametrize("name,shapes,z", CONTINUOUS, ids=[c[0] for c in CONTINUOUS])
@pytest.mark.parametrize("fn", ["cdf", "logcdf", "sf", "logsf"])
def test_distribution_function_derivatives(name, shapes, z, fn):
    f = getattr(getattr(cst, name), fn)
    x = LOC + SCALE * z
    check_grads(lambda v, lo, sc: f(v, *shapes, lo, sc), (x, np.full(4, LOC), np.full(4, SCALE)), order=2)
    check_vmap(lambda v: f(v, *shapes, LOC, SCALE), (x,))


def test_cdf_derivative_is_density():
    x = RNG.uniform(0.2, 3.0, 5)
    for name, shapes in [("norm", ()), ("t", (2.5,)), ("gamma", (1.7,)), ("chi2", (3.0,)), ("beta", (2.0, 3.0))]:
        xx = x / 4 if name == "beta" else x
        d = cr.vmap(cr.grad(lambda v: getattr(cst, name).cdf(v, *shapes, 0.1, 1.3)))(xx)
        np.testing.assert_allclose(d, getattr(ss, name).pdf(xx, *shapes, 0.1, 1.3), rtol=1e-10, err_msg=name)


@pytest.mark.parametrize("name,shapes", [("t", (3.0,)), ("beta", (2.0, 2.0)), ("gamma", (2.0,)), ("chi2", (3.0,))])
def test_shape_derivative_of_cdf_is_refused(name, shapes):
    f = getattr(cst, name).cdf
    with pytest.raises(MissingRuleError, match="the derivative with respect to (df|a|b) has no closed form"):
        cr.grad(lambda s: f(0.4, s, *shapes[1:]))(shapes[0])


def test_float32():
    x = np.array([0.2, 0.5, 0.7], np.float32)
    for name, shapes in [("norm", ()), ("t", (3.0,)), ("beta", (2.0, 2.0)), ("gamma", (2.0,)), ("chi2", (3.0,))]:
        for fn in FUNCS:
            f = getattr(getattr(cst, name), fn)
            assert f(x, *shapes).dtype == np.float32, (name, fn)
            g = cr.grad(lambda v: f(v, *shapes).sum())(x)
            assert g.dtype == np.float32, (name, fn)


def test_norm_quantiles_and_tails():
    q = np.array([0.1, 0.5, 0.8])
    np.testing.assert_allclose(cst.norm.ppf(q, 1.0, 2.0), ss.norm.ppf(q, 1.0, 2.0), rtol=1e-12)
    np.testing.assert_allclose(cst.norm.isf(q, 1.0, 2.0), ss.norm.isf(q, 1.0, 2.0), rtol=1e-12)
    check_grads(cst.norm.ppf, (q, np.ones(3), np.full(3, 2.0)), order=2)
    # far tails stay finite and accurate in log space, and so do their gradients
    np.testing.assert_allclose(cst.norm.logcdf(-40.0), ss.norm.logcdf(-40.0), rtol=1e-12)
    np.testing.assert_allclose(cst.norm.logsf(40.0), ss.norm.logsf(40.0), rtol=1e-12)
    assert float(cr.grad(cst.norm.logcdf)(-40.0)) == pytest.approx(40.0, rel=1e-3)


def test_poisson():
    k = np.array([0.0, 1.0, 3.0, 7.0])
    mu = np.array([0.5, 2.0, 3.5, 6.0])
    for fn in ["logpmf", "pmf", "cdf", "logcdf", "sf", "logsf"]:
        ours, ref = getattr(cst.poisson, fn), getattr(ss.poisson, fn)
        np.testing.assert_allclose(ours(k, mu), ref(k, mu), rtol=1e-10, err_msg=fn)
        np.testing.assert_allclose(ours(k, mu, 1), ref(k, mu, 1), rtol=1e-10, err_msg=fn)
        odd = np.array([-1.0, 1.5, 2.5, 0.0])
        np.testing.assert_allclose(ours(odd, mu), ref(odd, mu), rtol=1e-10, err_msg=fn)
        check_grads(lambda m: ours(k, m), (mu,), order=2)
        check_vmap(ours, (k, mu))
    np.testing.assert_allclose(cst.poisson.logpmf(0, 0.0), 0.0)
    assert np.isnan(cst.poisson.pmf(1, -1.0))
    # d/dmu logpmf = k / mu - 1 and d/dmu cdf(k) = -pmf(k)
    np.testing.assert_allclose(cr.grad(lambda m: cst.poisson.logpmf(k, m).sum())(mu), k / mu - 1, rtol=1e-12)
    np.testing.assert_allclose(cr.grad(lambda m: cst.poisson.cdf(k, m).sum())(mu), -ss.poisson.pmf(k, mu),
                               rtol=1e-10)
    assert cst.poisson.logpmf(k, mu.astype(np.float32)).dtype == np.float32


def test_dirichlet():
    alpha = np.array([1.5, 2.0, 3.0])
    x = np.array([0.2, 0.3, 0.5])
    xs = RNG.dirichlet(alpha, 4).T  # components along the first axis, as in SciPy
    for fn in ["logpdf", "pdf"]:
        ours, ref = getattr(cst.dirichlet, fn), getattr(ss.dirichlet, fn)
        np.testing.assert_allclose(ours(x, alpha), ref(x, alpha), rtol=1e-12)
        np.testing.assert_allclose(ours(xs, alpha), ref(xs, alpha), rtol=1e-12)
        np.testing.assert_allclose(ours(x[:2], alpha), ref(x[:2], alpha), rtol=1e-12)
    # K - 1 free components keep finite-difference steps on the simplex
    check_grads(cst.dirichlet.logpdf, (x[:2], alpha), order=2)
    check_grads(cst.dirichlet.logpdf, (xs[:2], alpha), order=2)
    check_vmap(cst.dirichlet.logpdf, (xs[:2].T.copy(), np.stack([alpha, alpha + 1, alpha * 2, alpha]),))
    # d/dalpha logpdf = log x - digamma(alpha) + digamma(sum alpha)
    from scipy.special import digamma
    np.testing.assert_allclose(cr.grad(cst.dirichlet.logpdf, argnums=1)(x, alpha),
                               np.log(x) - digamma(alpha) + digamma(alpha.sum()), rtol=1e-12)


@pytest.mark.parametrize("x,alpha,message", [
    (np.array([0.2, 0.8]), np.array([1.0, -1.0]), "all parameters must be greater than 0"),
    (np.array([0.2, 0.8]), np.ones((2, 2)), "parameter vector 'alpha' must be one dimensional"),
    (np.array([0.2, 0.3, 0.1, 0.4]), np.ones(2), r"alpha.shape = \(2,\) and x.shape = \(4,\)"),
    (np.array([-0.2, 1.2]), np.ones(2), "greater than or equal to zero"),
    (np.array([0.2, 0.7]), np.ones(2), "must lie within the normal simplex"),
    (np.array([0.0, 1.0]), np.array([0.5, 2.0]), "greater than zero if its alpha is less than one"),
])
def test_dirichlet_errors(x, alpha, message):
    with pytest.raises(ValueError, match=message):
        cst.dirichlet.logpdf(x, alpha)


def _spd(n, seed=0):
    b = np.random.default_rng(seed).standard_normal((n, n))
    return b @ b.T + n * np.eye(n)


def test_multivariate_normal_values():
    mean = np.array([0.5, -1.0, 2.0])
    cov = _spd(3)
    x = RNG.standard_normal((4, 3))
    mvn, ref = cst.multivariate_normal, ss.multivariate_normal
    for args in [(x, mean, cov), (x[0], mean, cov), (x, mean, 2.0), (x, mean, np.array([1.0, 2.0, 3.0])),
                 (x, None, cov), (np.array([0.3, 0.4]), 1.0, 2.0), (0.3, 1.0, 2.0)]:
        np.testing.assert_allclose(mvn.logpdf(*args), ref.logpdf(*args), rtol=1e-10)
        np.testing.assert_allclose(mvn.pdf(*args), ref.pdf(*args), rtol=1e-10)
        np.testing.assert_allclose(mvn.logpdf(*args, allow_singular=True), ref.logpdf(*args, allow_singular=True),
                                   rtol=1e-10)
    for c in [cov, 2.0, np.array([1.0, 2.0, 3.0])]:
        np.testing.assert_allclose(mvn.entropy(mean, c), ref.entropy(mean, c), rtol=1e-12)
    assert mvn.logpdf(x.astype(np.float32), mean.astype(np.float32), cov.astype(np.float32)).dtype == np.float32


def test_multivariate_normal_singular():
    u = np.random.default_rng(3).standard_normal((3, 2))
    cov = u @ u.T  # rank 2
    mean = np.array([0.1, 0.2, 0.3])
    inside = mean + (u @ np.array([[0.3, -0.2], [1.0, 0.5]])).T
    outside = mean + np.linalg.svd(u)[0][:, 2] * 2.0  # along the null direction of cov
    pts = np.vstack([inside, outside])
    np.testing.assert_allclose(cst.multivariate_normal.logpdf(pts, mean, cov, allow_singular=True),
                               ss.multivariate_normal.logpdf(pts, mean, cov, allow_singular=True), rtol=1e-8)
    np.testing.assert_allclose(cst.multivariate_normal.entropy(mean, cov), ss.multivariate_normal.entropy(mean, cov),
                               rtol=1e-8)
    with pytest.raises(np.linalg.LinAlgError, match="must be symmetric positive definite"):
        cst.multivariate_normal.logpdf(pts, mean, cov)
    with pytest.raises(ValueError, match="must be symmetric positive semidefinite"):
        cst.multivariate_normal.logpdf(pts, mean, -_spd(3), allow_singular=True)


def test_multivariate_normal_derivatives():
    mean = np.array([0.5, -1.0, 2.0])
    cov = _spd(3)
    x = RNG.standard_normal((2, 3))
    mvn = cst.multivariate_normal
    check_grads(mvn.logpdf, (x, mean, cov), order=2)
    check_grads(lambda v, m, d: mvn.logpdf(v, m, d), (x, mean, np.array([1.0, 2.0, 3.0])), order=2)
    check_grads(lambda c: mvn.logpdf(x, mean, c, allow_singular=True), (cov,), order=2)
    check_grads(lambda c: mvn.entropy(mean, c), (cov,), order=2)
    # closed forms: d/dx = -cov^-1 (x - mean); d/dcov (symmetric input) of entropy = cov^-1 / 2
    np.testing.assert_allclose(cr.grad(lambda v: mvn.logpdf(v, mean, cov))(x[0]),
                               -np.linalg.solve(cov, x[0] - mean), rtol=1e-10)
    g = cr.grad(lambda b: mvn.entropy(mean, b @ b.T))(np.linalg.cholesky(cov))
    np.testing.assert_allclose(g, np.linalg.inv(cov) @ np.linalg.cholesky(cov), rtol=1e-10, atol=1e-14)
    covs = np.stack([cov, _spd(3, 1), _spd(3, 2)])
    check_vmap(lambda v, c: mvn.logpdf(v, mean, c), (RNG.standard_normal((3, 3)), covs))
    check_vmap(lambda c: mvn.entropy(mean, c), (covs,))
    check_vmap(lambda m: mvn.logpdf(x, m, cov), (RNG.standard_normal((3, 3)),))


@pytest.mark.parametrize("mean,cov,message", [
    (np.zeros(2), np.eye(3), r"array 'cov' is of shape \(3, 3\), but 'mean' is a vector of length 2"),
    (np.zeros(2), np.ones((2, 3)), "must be square"),
    (np.zeros((2, 2)), np.eye(4), "'mean' must be a vector of length 4"),
    (np.zeros(2), np.ones(3), "diagonal 'cov' has length 3"),
])
def test_multivariate_normal_errors(mean, cov, message):
    with pytest.raises(ValueError, match=message):
        cst.multivariate_normal.logpdf(np.zeros(2), mean, cov)
