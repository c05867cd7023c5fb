"""chainrule.scipy.special: values against SciPy, derivatives against finite differences (forward and reverse mode,
order 2: every derivative rule is a closed form built from differentiable ops, so the second derivative is a
chain of closed forms too), vmap against a loop, float32 preservation and the errors for derivatives that have no
closed form."""
import math

import numpy as np
import pytest

pytest.importorskip("scipy")
import scipy.special as sc

import chainrule as cr
import chainrule.scipy.special as csp
from chainrule import MissingRuleError
from chainrule.testing import check_grads, check_vmap

RNG = np.random.default_rng(0)


def _uniform(lo, hi, shape=(3,)):
    return RNG.uniform(lo, hi, shape)


# name, input domain (lo, hi) for the differentiated argument
UNARY = [
    ("gammaln", (0.5, 3.0)), ("gamma", (0.5, 3.0)), ("rgamma", (0.5, 3.0)), ("digamma", (0.5, 3.0)),
    ("erf", (-1.0, 1.0)), ("erfc", (-1.0, 1.0)), ("erfinv", (-0.8, 0.8)), ("erfcinv", (0.2, 1.8)),
    ("ndtr", (-2.0, 2.0)), ("log_ndtr", (-3.0, 2.0)), ("ndtri", (0.1, 0.9)), ("entr", (0.2, 2.0)),
    ("expit", (-2.0, 2.0)), ("logit", (0.1, 0.9)),
    ("i0", (-2.0, 2.0)), ("i1", (-2.0, 2.0)), ("i0e", (0.2, 2.0)), ("i1e", (-2.0, -0.2)),
    ("j0", (0.3, 3.0)), ("j1", (-3.0, 3.0)), ("y0", (0.5, 3.0)), ("y1", (0.5, 3.0)),
]

# name, constant first argument (an order or shape parameter), domain of the differentiated second argument
WITH_CONSTANT = [
    ("polygamma", 1, (0.5, 3.0)), ("polygamma", 2, (0.5, 3.0)),
    ("gammainc", 2.5, (0.3, 3.0)), ("gammaincc", 0.7, (0.3, 3.0)),
    ("iv", 1.5, (0.2, 2.0)), ("iv", 0, (-2.0, 2.0)), ("ive", 2, (-2.0, -0.2)), ("ive", 0.5, (0.2, 2.0)),
    ("jv", 1.5, (0.3, 3.0)), ("jn", 3, (-3.0, 3.0)), ("yv", 0.5, (0.5, 3.0)), ("yn", 2, (0.5, 3.0)),
    ("stdtr", 3.5, (-2.0, 2.0)),
]

BINARY = [("beta", (0.5, 3.0), (0.5, 3.0)), ("betaln", (0.5, 3.0), (0.5, 3.0)),
          ("xlogy", (-2.0, 2.0), (0.2, 3.0)), ("xlog1py", (-2.0, 2.0), (-0.8, 3.0))]


@pytest.mark.parametrize("name,dom", UNARY, ids=[u[0] for u in UNARY])
def test_unary(name, dom):
    f = getattr(csp, name)
    x = _uniform(*dom)
    np.testing.assert_allclose(f(x), getattr(sc, name)(x), rtol=1e-12)
    check_grads(f, (x,), order=2)
    check_vmap(f, (x,))
    x32 = x.astype(np.float32)
    assert f(x32).dtype == np.float32
    g = cr.grad(lambda v: f(v).sum())(x32)
    assert g.dtype == np.float32 and g.shape == x32.shape


@pytest.mark.parametrize("name,c,dom", WITH_CONSTANT, ids=[f"{w[0]}-{w[1]}" for w in WITH_CONSTANT])
def test_with_constant_parameter(name, c, dom):
    f = getattr(csp, name)
    x = _uniform(*dom)
    ref = getattr(sc, name)(c, x)
    np.testing.assert_allclose(f(c, x), ref, rtol=1e-12)
    check_grads(lambda v: f(c, v), (x,), order=2)
    check_vmap(lambda v: f(c, v), (x,))
    x32 = x.astype(np.float32)
    assert f(c, x32).dtype == np.float32
    assert cr.grad(lambda v: f(c, v).sum())(x32).dtype == np.float32


@pytest.mark.parametrize("name,da,db", BINARY, ids=[b[0] for b in BINARY])
def test_binary(name, da, db):
    f = getattr(csp, name)
    a, b = _uniform(*da), _uniform(*db)
    np.testing.assert_allclose(f(a, b), getattr(sc, name)(a, b), rtol=1e-12)
    check_grads(f, (a, b), order=2)
    check_vmap(f, (a, b))
    check_vmap(f, (a, b[0]), in_axes=(0, None))
    a32, b32 = a.astype(np.float32), b.astype(np.float32)
    ga, gb = cr.grad(lambda u, v: f(u, v).sum(), argnums=(0, 1))(a32, b32)
    assert f(a32, b32).dtype == ga.dtype == gb.dtype == np.float32


def test_betainc_in_x():
    a, b = 1.7, 0.8
    x = _uniform(0.1, 0.9)
    np.testing.assert_allclose(csp.betainc(a, b, x), sc.betainc(a, b, x), rtol=1e-12)
    check_grads(lambda v: csp.betainc(a, b, v), (x,), order=2)
    check_vmap(lambda v: csp.betainc(a, b, v), (x,))
    # the derivative is the beta density
    dens = x ** (a - 1) * (1 - x) ** (b - 1) / sc.beta(a, b)
    np.testing.assert_allclose(cr.vmap(cr.grad(lambda v: csp.betainc(a, b, v)))(x), dens, rtol=1e-10)
    # batched a and b with x (all mapped) against a loop
    check_vmap(csp.betainc, (_uniform(0.5, 2.0), _uniform(0.5, 2.0), x))


def test_closed_forms():
    x = np.array([0.7, 1.3, 2.9])
    np.testing.assert_allclose(cr.vmap(cr.grad(csp.gammaln))(x), sc.digamma(x), rtol=1e-12)
    np.testing.assert_allclose(cr.vmap(cr.grad(csp.digamma))(x), sc.polygamma(1, x), rtol=1e-12)
    np.testing.assert_allclose(cr.vmap(cr.grad(cr.grad(csp.gammaln)))(x), sc.polygamma(1, x), rtol=1e-12)
    np.testing.assert_allclose(cr.vmap(cr.grad(csp.i0))(x), sc.i1(x), rtol=1e-12)
    np.testing.assert_allclose(cr.vmap(cr.grad(csp.j0))(x), -sc.j1(x), rtol=1e-12)
    y = np.array([-0.5, 0.1, 0.6])
    np.testing.assert_allclose(cr.vmap(cr.grad(csp.erfinv))(y), math.sqrt(math.pi) / 2 * np.exp(sc.erfinv(y) ** 2),
                               rtol=1e-12)
    np.testing.assert_allclose(cr.vmap(cr.grad(lambda v: csp.gammainc(2.0, v)))(x), x * np.exp(-x), rtol=1e-12)
    # Bessel derivatives at 0 are finite (the recurrence form has no 1/x)
    assert float(cr.grad(csp.i1)(0.0)) == 0.5
    assert float(cr.grad(csp.j1)(0.0)) == 0.5


def test_polygamma_batched_order():
    n = np.array([0, 1, 2])
    x = np.array([0.7, 1.3, 2.9])
    np.testing.assert_allclose(csp.polygamma(n, x), sc.polygamma(n, x), rtol=1e-12)
    check_vmap(csp.polygamma, (n, x))
    check_vmap(lambda k, v: cr.grad(lambda w: csp.polygamma(k, w))(v), (n, x))


def test_xlogy_at_zero():
    # x == 0 gives 0 whatever y; the y-derivative there is 0 and the x-derivative log(y)
    assert float(csp.xlogy(0.0, 0.0)) == 0.0
    gx, gy = cr.grad(csp.xlogy, argnums=(0, 1))(0.0, 2.0)
    assert float(gx) == pytest.approx(math.log(2.0)) and float(gy) == 0.0
    assert float(cr.grad(csp.xlogy, argnums=1)(0.0, 0.0)) == 0.0
    # d2/dx dy = 1/y also at x == 0
    assert float(cr.grad(cr.grad(csp.xlogy, argnums=1))(0.0, 2.0)) == pytest.approx(0.5)


@pytest.mark.parametrize("fn,argnum,message", [
    (lambda a, x: csp.gammainc(a, x), 0, r"gammainc: the derivative with respect to a "),
    (lambda a, x: csp.gammaincc(a, x), 0, r"gammaincc: the derivative with respect to a "),
    (lambda a, x: csp.betainc(a, 2.0, x), 0, r"betainc: the derivative with respect to a "),
    (lambda b, x: csp.betainc(2.0, b, x), 0, r"betainc: the derivative with respect to b "),
    (lambda v, x: csp.iv(v, x), 0, r"iv: the derivative with respect to v \(the order\)"),
    (lambda v, x: csp.jv(v, x), 0, r"jv: the derivative with respect to v"),
    (lambda v, x: csp.ive(v, x), 0, r"ive: the derivative with respect to v"),
    (lambda v, x: csp.yv(v, x), 0, r"yv: the derivative with respect to v"),
    (lambda d, x: csp.stdtr(d, x), 0, r"stdtr: the derivative with respect to df"),
])
def test_no_closed_form_errors(fn, argnum, message):
    with pytest.raises(MissingRuleError, match=message):
        cr.grad(fn, argnums=argnum)(1.5, 0.4)
    with pytest.raises(MissingRuleError, match=message):
        cr.jvp(lambda p: fn(p, 0.4), (1.5,), (1.0,))
    # the other argument still differentiates, in both modes
    g = cr.grad(fn, argnums=1)(1.5, 0.4)
    _, t = cr.jvp(lambda x: fn(1.5, x), (0.4,), (1.0,))
    assert np.isfinite(g) and float(g) == pytest.approx(float(t))


def test_logsumexp_matches_scipy():
    a = RNG.standard_normal((3, 4))
    b = RNG.uniform(-1.0, 1.0, (3, 4))
    for kw in [{}, {"axis": 0}, {"axis": 1, "keepdims": True}, {"axis": (0, 1)}, {"b": np.abs(b)},
               {"axis": 1, "b": np.abs(b)}]:
        np.testing.assert_allclose(csp.logsumexp(a, **kw), sc.logsumexp(a, **kw), rtol=1e-12)
    out, sign = csp.logsumexp(a, axis=1, b=b, return_sign=True)
    ref_out, ref_sign = sc.logsumexp(a, axis=1, b=b, return_sign=True)
    np.testing.assert_allclose(out, ref_out, rtol=1e-12)
    np.testing.assert_array_equal(sign, ref_sign)
    # zero weights ignore their entries, even infinite ones
    a_inf = np.array([np.inf, 0.0, 1.0])
    np.testing.assert_allclose(csp.logsumexp(a_inf, b=np.array([0.0, 1.0, 1.0])), np.log(1 + np.e))
    assert float(csp.logsumexp(np.array([-np.inf, -np.inf]))) == -np.inf
    # stable for large inputs
    assert float(csp.logsumexp(np.array([1000.0, 1000.0]))) == pytest.approx(1000 + math.log(2))
    assert csp.logsumexp(a.astype(np.float32), axis=0).dtype == np.float32


def test_logsumexp_derivatives():
    a = RNG.standard_normal((3, 4))
    b = RNG.uniform(0.2, 1.0, (3, 4))
    check_grads(lambda x: csp.logsumexp(x, axis=1), (a,), order=2)
    check_grads(lambda x, w: csp.logsumexp(x, axis=0, b=w), (a, b), order=2)
    bs = RNG.uniform(-1.0, 1.0, (3, 4))
    check_grads(lambda x, w: csp.logsumexp(x, axis=1, b=w, return_sign=True)[0], (a, bs), order=2)
    # the gradient of logsumexp is softmax
    np.testing.assert_allclose(cr.grad(lambda x: csp.logsumexp(x))(a), sc.softmax(a), rtol=1e-12)
    check_vmap(lambda x: csp.logsumexp(x, axis=0), (a,))
    check_vmap(lambda x, w: csp.logsumexp(x, b=w, return_sign=True), (a, bs))


def test_logsumexp_bad_shapes():
    with pytest.raises(ValueError, match=r"logsumexp: a of shape \(3,\) and b of shape \(2,\)"):
        csp.logsumexp(np.ones(3), b=np.ones(2))


def test_softmax_family():
    x = RNG.standard_normal((2, 3))
    np.testing.assert_allclose(csp.softmax(x), sc.softmax(x), rtol=1e-12)
    np.testing.assert_allclose(csp.softmax(x, axis=1), sc.softmax(x, axis=1), rtol=1e-12)
    np.testing.assert_allclose(csp.log_softmax(x), sc.log_softmax(x), rtol=1e-12)
    np.testing.assert_allclose(csp.log_softmax(x, axis=0), sc.log_softmax(x, axis=0), rtol=1e-12)
    check_grads(lambda v: csp.softmax(v, axis=1), (x,), order=2)
    check_grads(csp.log_softmax, (x,), order=2)
    check_vmap(lambda v: csp.softmax(v, axis=0), (x,))
    assert csp.softmax(x.astype(np.float32)).dtype == np.float32


def test_multigammaln():
    a = np.array([2.1, 3.0, 4.5])
    np.testing.assert_allclose(csp.multigammaln(a, 3), sc.multigammaln(a, 3), rtol=1e-12)
    check_grads(lambda v: csp.multigammaln(v, 3), (a,), order=2)
    check_vmap(lambda v: csp.multigammaln(v, 2), (a,))
    # d/da = sum_j digamma(a - j/2)
    np.testing.assert_allclose(cr.grad(lambda v: csp.multigammaln(v, 2))(3.0), sc.digamma(3.0) + sc.digamma(2.5))
    assert csp.multigammaln(a.astype(np.float32), 2).dtype == np.float32
    with pytest.raises(ValueError, match=r"multigammaln: condition a > 0.5 \* \(d-1\) = 1.0 not met"):
        csp.multigammaln(np.array([0.9]), 3)
    with pytest.raises(ValueError, match="multigammaln: d should be a positive integer"):
        csp.multigammaln(3.0, 1.5)


def test_nondifferentiable_gammasgn():
    x = np.array([-1.5, 0.5, 2.0])
    np.testing.assert_array_equal(csp.gammasgn(x), sc.gammasgn(x))
    g = cr.grad(lambda v: (csp.gammasgn(v) * v).sum())(x)
    np.testing.assert_array_equal(g, sc.gammasgn(x))


def test_lazy_submodules():
    import chainrule.scipy as csc
    assert csc.special is csp
    with pytest.raises(AttributeError, match="chainrule.scipy' has no attribute 'nope'"):
        csc.nope
