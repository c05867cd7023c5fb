"""chainrule.scipy.integrate.odeint: values against scipy.integrate.odeint, derivatives with respect to the initial
state, the time points and extra arguments against closed forms (exponential decay) and finite differences
(Lotka-Volterra with two parameters) in forward mode (sensitivity equations) and reverse mode (adjoint method),
second derivatives on the decay problem, vmap against a loop, float32, errors; and trapezoid.

Tolerances: the derivatives are themselves integrated numerically, so they are compared at the accuracy the
integrator is asked for (rtol = atol = 1e-10), with check tolerances of 1e-5 to 1e-4. Second derivatives are
checked too (they integrate the sensitivity/adjoint systems of the sensitivity/adjoint systems): against the closed
form on the decay problem in all four mode combinations, and by finite differences on both problems."""
import numpy as np
import pytest

pytest.importorskip("scipy")
import scipy.integrate as si

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.scipy.integrate import odeint, trapezoid
from chainrule.testing import check_grads, check_vmap

TOL = dict(rtol=1e-10, atol=1e-10)


def decay(y, t, k):
    return -k * y


def lotka_volterra(y, t, a, b):
    return cnp.stack([a * y[0] - y[0] * y[1], -b * y[1] + y[0] * y[1]])


def test_values_match_scipy():
    t = np.linspace(0.0, 2.0, 5)
    y0 = np.array([1.0, 0.5])
    ref = si.odeint(lambda y, tt, a, b: [a * y[0] - y[0] * y[1], -b * y[1] + y[0] * y[1]], y0, t, args=(1.1, 0.7),
                    **TOL)
    np.testing.assert_allclose(odeint(lotka_volterra, y0, t, 1.1, 0.7, **TOL), ref, rtol=1e-8)
    np.testing.assert_allclose(odeint(lotka_volterra, y0, t, args=(1.1, 0.7), **TOL), ref, rtol=1e-8)
    np.testing.assert_allclose(odeint(lotka_volterra, y0, t, (1.1, 0.7), Dfun=None, **TOL), ref, rtol=1e-8)
    np.testing.assert_allclose(odeint(lambda tt, y, a, b: lotka_volterra(y, tt, a, b), y0, t, 1.1, 0.7, tfirst=True,
                                      **TOL), ref, rtol=1e-8)
    # a state of any shape, and a func returning a list
    ys = odeint(lambda y, tt: [y[1], -y[0]], np.array([1.0, 0.0]), t, **TOL)
    np.testing.assert_allclose(ys[:, 0], np.cos(t), rtol=1e-8, atol=1e-9)
    ys = odeint(decay, np.ones((2, 2)), t, 0.3, **TOL)
    assert ys.shape == (5, 2, 2)
    np.testing.assert_allclose(ys[:, 1, 1], np.exp(-0.3 * t), rtol=1e-8)


def test_decay_closed_forms():
    y0, t, k = np.array([1.0, 2.0]), np.array([0.3, 0.7, 1.5]), np.array(0.4)
    f = lambda y0_, t_, k_: odeint(decay, y0_, t_, k_, **TOL)[-1].sum()  # noqa: E731
    span = t[-1] - t[0]
    e = np.exp(-k * span)
    gy, gt, gk = cr.grad(f, argnums=(0, 1, 2))(y0, t, k)
    np.testing.assert_allclose(gy, [e, e], rtol=1e-8)
    np.testing.assert_allclose(gt, [k * e * y0.sum(), 0.0, -k * e * y0.sum()], rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(gk, -span * e * y0.sum(), rtol=1e-8)
    _, tangent = cr.jvp(f, (y0, t, k), (np.ones(2), np.array([1.0, 0.0, 2.0]), np.array(0.5)))
    want = 2 * e + k * e * y0.sum() - 2 * k * e * y0.sum() - 0.5 * span * e * y0.sum()
    np.testing.assert_allclose(tangent, want, rtol=1e-8)
    # second derivatives in k, every combination of modes: T^2 e^(-kT) sum(y0)
    want2 = span ** 2 * e * y0.sum()
    fk = lambda q: f(y0, t, q)  # noqa: E731
    np.testing.assert_allclose(cr.grad(cr.grad(fk))(k), want2, rtol=1e-7)
    np.testing.assert_allclose(cr.jacfwd(cr.grad(fk))(k), want2, rtol=1e-7)
    np.testing.assert_allclose(cr.grad(lambda q: cr.jvp(fk, (q,), (np.array(1.0),))[1])(k), want2, rtol=1e-7)
    np.testing.assert_allclose(cr.jacfwd(cr.jacfwd(fk))(k), want2, rtol=1e-7)


def test_decay_second_order_check():
    f = lambda y0_, t_, k_: odeint(decay, y0_, t_, k_, **TOL)  # noqa: E731
    check_grads(f, (np.array([1.0]), np.array([0.0, 0.7]), np.array(0.4)), order=2, atol=1e-4)


def test_lotka_volterra_two_parameters():
    y0, t = np.array([1.0, 0.5]), np.array([0.0, 0.5, 1.2])
    f = lambda y0_, t_, a, b: odeint(lotka_volterra, y0_, t_, a, b, **TOL)  # noqa: E731
    check_grads(f, (y0, t, np.array(1.1), np.array(0.7)), order=1, atol=1e-5)
    check_grads(f, (y0, t, np.array(1.1), np.array(0.7)), order=2, atol=1e-4)


def test_adjoint_matches_forward_sensitivities():
    y0, t = np.array([1.0, 0.5]), np.linspace(0.0, 1.5, 4)
    f = lambda p: odeint(lotka_volterra, y0, t, p[0], p[1], **TOL)[-1]  # noqa: E731
    p = np.array([1.1, 0.7])
    np.testing.assert_allclose(cr.jacrev(f)(p), cr.jacfwd(f)(p), rtol=1e-6, atol=1e-8)


def test_vmap():
    y0, t = np.array([1.0, 0.5]), np.array([0.0, 0.5, 1.2])
    f = lambda y0_, t_, a, b: odeint(lotka_volterra, y0_, t_, a, b, **TOL)  # noqa: E731
    check_vmap(lambda y: f(y, t, 1.1, 0.7), (np.array([[1.0, 0.5], [0.8, 0.3], [1.2, 0.1]]),), atol=1e-7)
    check_vmap(lambda a, y: f(y, t, a, 0.7), (np.array([1.0, 1.2]), np.array([[1.0, 0.5], [0.8, 0.3]])), atol=1e-7)
    check_vmap(lambda tt: f(y0, tt, 1.1, 0.7), (np.array([[0.0, 1.0], [0.0, 2.0]]),), atol=1e-7)
    check_vmap(cr.grad(lambda a: f(y0, t, a, 0.7)[-1, 0]), (np.array([1.0, 1.2]),), atol=1e-6)


def test_float32():
    y0, t = np.array([1.0, 0.5], np.float32), np.array([0.0, 0.5], np.float32)
    ys = odeint(lotka_volterra, y0, t, np.float32(1.1), np.float32(0.7))
    assert ys.dtype == np.float32
    gy, gt, ga = cr.grad(lambda y, tt, a: odeint(lotka_volterra, y, tt, a, np.float32(0.7))[-1].sum(),
                         argnums=(0, 1, 2))(y0, t, np.float32(1.1))
    assert gy.dtype == gt.dtype == ga.dtype == np.float32


def test_errors():
    t = np.array([0.0, 1.0])
    with pytest.raises(TypeError, match="odeint: the dynamics returned a traced value .* closes over"):
        cr.grad(lambda k: odeint(lambda y, tt: -k * y, np.array([1.0]), t)[-1, 0])(0.5)
    with pytest.raises(ValueError, match=r"odeint: func returned shape \(3,\) but the state y0 has shape \(2,\)"):
        odeint(lambda y, tt: cnp.ones(3), np.ones(2), t)
    with pytest.raises(ValueError, match="odeint: the time points t must be strictly increasing or strictly"):
        odeint(decay, np.ones(2), np.array([0.0, 1.0, 0.5]), 0.3)
    with pytest.raises(TypeError, match="odeint: option Dfun=.* is not supported"):
        odeint(decay, np.ones(2), t, 0.3, Dfun=lambda y, tt, k: -k)
    with pytest.raises(TypeError, match=r"odeint: unsupported options \['tcrit'\]"):
        odeint(decay, np.ones(2), t, 0.3, tcrit=[0.5])
    with pytest.raises(TypeError, match="either positionally or as args"):
        odeint(decay, np.ones(2), t, 0.3, args=(0.3,))


def test_trapezoid():
    x = np.linspace(0.0, 1.0, 7)
    y = np.stack([x ** 2, np.sin(x)])
    np.testing.assert_allclose(trapezoid(y, x), si.trapezoid(y, x), rtol=1e-12)
    np.testing.assert_allclose(trapezoid(y, dx=0.5, axis=0), si.trapezoid(y, dx=0.5, axis=0), rtol=1e-12)
    check_grads(lambda a, b: trapezoid(a, b), (y, x), order=2)
    check_vmap(lambda a: trapezoid(a, x), (y,))
