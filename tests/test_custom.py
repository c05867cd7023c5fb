"""User-defined derivative rules (custom_jvp, custom_vjp) and rematerialisation (checkpoint).

The custom rules here differ observably from the derivative of the code they decorate, so every check below
fails if a transform ignores the rule:

- ``log1pexp`` (custom_jvp): ``where(x < 30, log1p(exp(x)), x)`` differentiates to nan at x = 1000 (the
  discarded branch's ``0 * exp(1000)``); its rule ``t * sigmoid(x)`` gives 1.
- ``ste_round`` (custom_jvp, a non-differentiable argument): rounding with a straight-through derivative of 1.
- ``spike`` (custom_vjp): ``sign(x)``, whose derivative is 0, with the surrogate gradient ``1 / (1 + |x|)**2``.
- ``clip_gradient`` (custom_vjp, two non-differentiable arguments): the identity with its cotangent clipped.
- ``affine`` (custom_vjp): pytree arguments and outputs, pytree residuals, a ``None`` cotangent.

Each is checked under grad, value_and_grad, jvp, vjp, jacfwd, jacrev, hessian, grad of grad, and vmap
(vmap of grad included) against closed forms. checkpoint gives the same derivatives, recomputes its function in
the backward pass, and holds less memory between the forward and the backward pass.
"""
import gc
import tracemalloc

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import checkpoint, custom_jvp, custom_vjp
from chainrule.ops.special import sigmoid
from chainrule.testing import check_grads

pytestmark = pytest.mark.filterwarnings("error:vmap:UserWarning")  # no op may fall back to a loop


def _sig(x):
    return 1 / (1 + np.exp(-x))


# ---------------------------------------------------------------------------------------------------------
# custom_jvp: log1pexp
# ---------------------------------------------------------------------------------------------------------

def _log1pexp_naive(x):
    return cnp.where(x < 30, cnp.log1p(cnp.exp(x)), x)


@custom_jvp
def log1pexp(x):
    return cnp.where(x < 30, cnp.log1p(cnp.exp(x)), x)


@log1pexp.defjvp
def _log1pexp_jvp(primals, tangents):
    x, = primals
    t, = tangents
    return log1pexp(x), t * sigmoid(x)


_XS = np.array([-3.0, 0.0, 0.5, 2.0, 1000.0])


@pytest.fixture
def no_overflow_warnings():
    # The discarded branch of where overflows at x = 1000; the value is right and that is not what is tested.
    with np.errstate(over="ignore"):
        yield


def test_log1pexp_naive_derivative_is_nan_but_the_rule_is_stable(no_overflow_warnings):
    with np.errstate(invalid="ignore"):
        assert np.isnan(cr.grad(_log1pexp_naive)(1000.0))
    assert float(cr.grad(log1pexp)(1000.0)) == 1.0
    assert float(log1pexp(1000.0)) == 1000.0


def test_log1pexp_every_transform(no_overflow_warnings):
    x = _XS
    d1 = _sig(x)
    d2 = _sig(x) * (1 - _sig(x))
    value = np.where(x < 30, np.log1p(np.exp(np.minimum(x, 30))), x)
    np.testing.assert_allclose(cr.vmap(cr.grad(log1pexp))(x), d1, rtol=1e-12)
    for xi, gi, hi in zip(x, d1, d2):
        assert np.isclose(cr.grad(log1pexp)(xi), gi, rtol=1e-12)
        v, g = cr.value_and_grad(log1pexp)(xi)
        assert np.isclose(v, np.log1p(np.exp(xi)) if xi < 30 else xi) and np.isclose(g, gi, rtol=1e-12)
        assert np.isclose(cr.grad(cr.grad(log1pexp))(xi), hi, rtol=1e-10, atol=1e-300)
    out, t = cr.jvp(log1pexp, (x,), (np.full(5, 2.0),))
    np.testing.assert_allclose(out, value, rtol=1e-12)
    np.testing.assert_allclose(t, 2 * d1, rtol=1e-12)
    out, f_vjp = cr.vjp(log1pexp, x)
    np.testing.assert_allclose(f_vjp(np.full(5, 3.0))[0], 3 * d1, rtol=1e-12)
    for jac in (cr.jacfwd, cr.jacrev):
        np.testing.assert_allclose(jac(log1pexp)(x), np.diag(d1), rtol=1e-12)
    np.testing.assert_allclose(cr.hessian(lambda x: cnp.sum(log1pexp(x)))(x), np.diag(d2), rtol=1e-10, atol=1e-300)
    # vmap: of the function, of jvp, and of vjp
    np.testing.assert_allclose(cr.vmap(log1pexp)(x), value, rtol=1e-12)
    np.testing.assert_allclose(cr.vmap(lambda x: cr.jvp(log1pexp, (x,), (1.0,))[1])(x), d1, rtol=1e-12)
    np.testing.assert_allclose(cr.vmap(cr.grad(cr.grad(log1pexp)))(x), d2, rtol=1e-10, atol=1e-300)
    np.testing.assert_allclose(cr.vmap(cr.vmap(cr.grad(log1pexp)))(x.reshape(1, 5)), d1[None], rtol=1e-12)


def test_log1pexp_away_from_overflow_check_grads():
    # where the naive code is fine, the rule agrees with finite differences to second order
    check_grads(log1pexp, (np.array([-2.0, 0.3, 4.0]),), order=2, modes=("fwd", "rev"))
    check_grads(cr.vmap(log1pexp), (np.array([[-2.0, 0.3], [1.0, 4.0]]),), order=2, modes=("fwd", "rev"))


def test_log1pexp_float32(no_overflow_warnings):
    x = _XS.astype(np.float32)
    assert cr.grad(lambda x: cnp.sum(log1pexp(x)))(x).dtype == np.float32
    assert cr.jvp(log1pexp, (x,), (np.ones(5, np.float32),))[1].dtype == np.float32


# ---------------------------------------------------------------------------------------------------------
# custom_jvp: a non-differentiable argument, pytrees
# ---------------------------------------------------------------------------------------------------------

def _round_fun(decimals, x):
    return cnp.round(x, decimals)


ste_round = custom_jvp(_round_fun, nondiff_argnums=(0,))


@ste_round.defjvp
def _ste_round_jvp(decimals, primals, tangents):
    return ste_round(decimals, primals[0]), tangents[0]  # straight through


def test_custom_jvp_nondiff_argnums():
    x = np.array([-1.26, 0.04, 0.71, 2.49])
    r = np.round(x, 1)
    # d/dx [ste_round(x) * x] = x + round(x) (the naive derivative would be round(x))
    np.testing.assert_allclose(cr.grad(lambda x: cnp.sum(ste_round(1, x) * x))(x), x + r, rtol=1e-14)
    np.testing.assert_allclose(cr.vmap(cr.grad(lambda x: ste_round(1, x) * x))(x), x + r, rtol=1e-14)
    v, g = cr.value_and_grad(lambda x: cnp.sum(ste_round(1, x) ** 2))(x)
    np.testing.assert_allclose(v, np.sum(r ** 2))
    np.testing.assert_allclose(g, 2 * r, rtol=1e-14)
    np.testing.assert_allclose(cr.jvp(lambda x: ste_round(1, x), (x,), (x,))[1], x)
    np.testing.assert_allclose(cr.vjp(lambda x: ste_round(1, x), x)[1](np.ones(4))[0], np.ones(4))
    for jac in (cr.jacfwd, cr.jacrev):
        np.testing.assert_array_equal(jac(lambda x: ste_round(1, x))(x), np.eye(4))
    # second order: d2/dx2 sum(ste_round(x)^2) = 2
    np.testing.assert_allclose(cr.hessian(lambda x: cnp.sum(ste_round(1, x) ** 2))(x), 2 * np.eye(4))
    assert float(cr.grad(cr.grad(lambda x: ste_round(1, x) ** 2))(0.73)) == 2.0
    np.testing.assert_allclose(cr.vmap(lambda x: ste_round(2, x), in_axes=0)(x), np.round(x, 2))
    # the static argument really is static: a different value selects a different rounding
    np.testing.assert_allclose(ste_round(0, x), np.round(x))


@custom_jvp
def polar(p):
    """(r, theta) -> {"xy": (x, y)}; its rule scales the angle's tangent by 2 (observably not the naive one)."""
    return {"xy": (p["r"] * cnp.cos(p["theta"]), p["r"] * cnp.sin(p["theta"]))}


@polar.defjvp
def _polar_jvp(primals, tangents):
    p, = primals
    t, = tangents
    r, th = p["r"], p["theta"]
    dth = 2.0 * t["theta"]
    dx = t["r"] * cnp.cos(th) - r * cnp.sin(th) * dth
    dy = t["r"] * cnp.sin(th) + r * cnp.cos(th) * dth
    return polar(p), {"xy": (dx, dy)}


def test_custom_jvp_pytrees():
    p = {"r": np.array([1.5, 2.0]), "theta": np.array([0.3, -1.1])}
    r, th = p["r"], p["theta"]

    def loss(p):
        x, y = polar(p)["xy"]
        return cnp.sum(x + y)

    g = cr.grad(loss)(p)
    np.testing.assert_allclose(g["r"], np.cos(th) + np.sin(th), rtol=1e-13)
    np.testing.assert_allclose(g["theta"], 2 * r * (np.cos(th) - np.sin(th)), rtol=1e-13)
    tangent = {"r": np.ones(2), "theta": np.ones(2)}
    out, t = cr.jvp(polar, (p,), (tangent,))
    np.testing.assert_allclose(t["xy"][0], np.cos(th) - 2 * r * np.sin(th), rtol=1e-13)
    j = cr.jacrev(polar)(p)
    np.testing.assert_allclose(j["xy"][1]["theta"], np.diag(2 * r * np.cos(th)), rtol=1e-13)
    assert_same(cr.jacfwd(polar)(p), j)
    per_example = cr.vmap(cr.grad(loss))({"r": r[:, None], "theta": th[:, None]})
    np.testing.assert_allclose(per_example["theta"][:, 0], g["theta"], rtol=1e-13)


def assert_same(a, b, rtol=1e-12):
    la, ta = cr.tree_flatten(a)
    lb, tb = cr.tree_flatten(b)
    assert ta == tb
    for x, y in zip(la, lb):
        np.testing.assert_allclose(x, y, rtol=rtol, atol=1e-14)


# ---------------------------------------------------------------------------------------------------------
# custom_vjp: a surrogate gradient (linear bwd, residuals), checked under every transform
# ---------------------------------------------------------------------------------------------------------

@custom_vjp
def spike(x):
    return cnp.sign(x)


def _spike_fwd(x):
    return spike(x), x


def _spike_bwd(x, g):
    return (g / (1 + cnp.abs(x)) ** 2,)


spike.defvjp(_spike_fwd, _spike_bwd)

_XV = np.array([-1.5, -0.2, 0.4, 2.0])


def _spike_closed_forms(x):
    sg = 1 / (1 + np.abs(x)) ** 2  # the surrogate derivative of spike
    d1 = x * sg + np.sign(x)  # d/dx [spike(x) * x]
    d2 = 2 * sg - 2 * np.abs(x) * sg / (1 + np.abs(x))
    return sg, d1, d2


def test_custom_vjp_surrogate_gradient_every_transform():
    x = _XV
    sg, d1, d2 = _spike_closed_forms(x)
    f = lambda x: cnp.sum(spike(x) * x)  # noqa: E731
    # the naive derivative of sign is zero: the rule is in use
    np.testing.assert_allclose(cr.grad(lambda x: cnp.sum(cnp.sign(x) * x))(x), np.sign(x))
    np.testing.assert_allclose(cr.grad(f)(x), d1, rtol=1e-14)
    v, g = cr.value_and_grad(f)(x)
    assert np.isclose(v, np.sum(np.abs(x))) and np.allclose(g, d1, rtol=1e-14)
    out, f_vjp = cr.vjp(spike, x)
    np.testing.assert_array_equal(out, np.sign(x))
    np.testing.assert_allclose(f_vjp(np.full(4, 2.0))[0], 2 * sg, rtol=1e-14)
    # forward mode transposes the (linear) bwd: the same derivative
    out, t = cr.jvp(spike, (x,), (np.full(4, 3.0),))
    np.testing.assert_allclose(t, 3 * sg, rtol=1e-14)
    for jac in (cr.jacfwd, cr.jacrev):
        np.testing.assert_allclose(jac(spike)(x), np.diag(sg), rtol=1e-14)
    # second order, every combination of modes
    for name, h in [("hessian", cr.hessian(f)(x)), ("rev-rev", cr.jacrev(cr.jacrev(f))(x)),
                    ("fwd-fwd", cr.jacfwd(cr.jacfwd(f))(x)), ("rev-fwd", cr.jacrev(cr.jacfwd(f))(x))]:
        np.testing.assert_allclose(h, np.diag(d2), rtol=1e-12, atol=1e-15, err_msg=name)
    for xi, hi in zip(x, d2):
        assert np.isclose(cr.grad(cr.grad(lambda x: spike(x) * x))(xi), hi, rtol=1e-12)
    # vmap of the function, of grad, of jvp, and nested
    np.testing.assert_array_equal(cr.vmap(spike)(x), np.sign(x))
    np.testing.assert_allclose(cr.vmap(cr.grad(lambda x: spike(x) * x))(x), d1, rtol=1e-14)
    np.testing.assert_allclose(cr.vmap(lambda x: cr.jvp(spike, (x,), (1.0,))[1])(x), sg, rtol=1e-14)
    np.testing.assert_allclose(cr.vmap(cr.vmap(cr.grad(lambda x: spike(x) * x)))(x.reshape(2, 2)),
                               d1.reshape(2, 2), rtol=1e-14)
    np.testing.assert_allclose(cr.vmap(cr.hessian(lambda x: spike(x) * x))(x), d2, rtol=1e-12)


def test_custom_vjp_float32():
    x = _XV.astype(np.float32)
    assert cr.grad(lambda x: cnp.sum(spike(x) * x))(x).dtype == np.float32
    assert cr.jvp(spike, (x,), (np.ones(4, np.float32),))[1].dtype == np.float32


# ---------------------------------------------------------------------------------------------------------
# custom_vjp: non-differentiable arguments (a clipped gradient)
# ---------------------------------------------------------------------------------------------------------

def _clip_fun(lo, hi, x):
    return x


clip_gradient = custom_vjp(_clip_fun, nondiff_argnums=(0, 1))
clip_gradient.defvjp(lambda lo, hi, x: (x, None), lambda lo, hi, res, g: (cnp.clip(g, lo, hi),))


def test_custom_vjp_clipped_gradient():
    x = np.array([0.1, 0.2, 2.0, -3.0])
    f = lambda x: cnp.sum(3.0 * clip_gradient(-1.0, 1.0, x) ** 2)  # noqa: E731
    want = np.clip(6 * x, -1, 1)  # the naive gradient would be 6 x
    np.testing.assert_allclose(cr.grad(f)(x), want, rtol=1e-14)
    v, g = cr.value_and_grad(f)(x)
    assert np.isclose(v, 3 * np.sum(x ** 2)) and np.allclose(g, want)
    np.testing.assert_allclose(cr.vjp(lambda x: 5.0 * clip_gradient(-1.0, 1.0, x), x)[1](np.ones(4))[0], np.ones(4))
    np.testing.assert_allclose(cr.jacrev(lambda x: 5.0 * clip_gradient(-0.5, 2.0, x))(x), 2.0 * np.eye(4))
    np.testing.assert_allclose(cr.vmap(cr.grad(lambda x: 3.0 * clip_gradient(-1.0, 1.0, x) ** 2))(x), want)
    u = np.array([0.1, -0.5, 2.0, 0.15])
    got = cr.vmap(lambda x, u: cr.vjp(lambda x: 5.0 * clip_gradient(-1.0, 1.0, x), x)[1](u)[0])(x, u)
    np.testing.assert_allclose(got, np.clip(5 * u, -1, 1))
    # other bounds, in vmap with per-example data
    np.testing.assert_allclose(cr.vmap(cr.grad(lambda x: 3.0 * clip_gradient(-0.1, 0.5, x) ** 2))(x),
                               np.clip(6 * x, -0.1, 0.5))
    # grad of grad: the clip is piecewise linear, d/dx clip(6x) = 6 where unclipped
    np.testing.assert_allclose(cr.grad(cr.grad(lambda x: 3.0 * clip_gradient(-1.0, 1.0, x) ** 2))(0.1), 6.0)
    np.testing.assert_allclose(cr.grad(cr.grad(lambda x: 3.0 * clip_gradient(-1.0, 1.0, x) ** 2))(2.0), 0.0)


# ---------------------------------------------------------------------------------------------------------
# custom_vjp: pytree arguments, outputs and residuals; a None cotangent
# ---------------------------------------------------------------------------------------------------------

@custom_vjp
def affine(p, x):
    return {"y": p["a"] * x + p["b"], "z": (cnp.sin(p["b"]),)}


def _affine_fwd(p, x):
    return affine(p, x), {"p": p, "x": x}


def _affine_bwd(res, g):
    # a rule that doubles the gradient for "a" and gives x none at all (observably not the naive derivative)
    p, x = res["p"], res["x"]
    gb = cnp.sum(g["y"]) + g["z"][0] * cnp.cos(p["b"])
    return {"a": 2.0 * g["y"] * x, "b": gb}, None


affine.defvjp(_affine_fwd, _affine_bwd)

_P = {"a": np.array([1.0, 2.0]), "b": np.float64(0.3)}
_X2 = np.array([3.0, -4.0])


def _affine_loss(p, x):
    out = affine(p, x)
    return cnp.sum(out["y"] ** 2) + out["z"][0]


def test_custom_vjp_pytrees_and_none_cotangent():
    p, x = _P, _X2
    y = p["a"] * x + p["b"]
    gp, gx = cr.grad(_affine_loss, argnums=(0, 1))(p, x)
    np.testing.assert_allclose(gp["a"], 2 * (2 * y) * x, rtol=1e-14)
    np.testing.assert_allclose(gp["b"], np.sum(2 * y) + np.cos(p["b"]), rtol=1e-14)
    np.testing.assert_array_equal(gx, np.zeros(2))  # bwd said None: a zero of x's shape and dtype
    assert gx.dtype == x.dtype
    (v, _), g = cr.value_and_grad(lambda p: (_affine_loss(p, x), 0), has_aux=True)(p)
    assert np.isclose(v, np.sum(y ** 2) + np.sin(p["b"]))
    # vjp with a pytree cotangent
    out, f_vjp = cr.vjp(affine, p, x)
    ct_p, ct_x = f_vjp({"y": np.ones(2), "z": (np.float64(2.0),)})
    np.testing.assert_allclose(ct_p["a"], 2 * x)
    np.testing.assert_allclose(ct_p["b"], 2 + 2 * np.cos(p["b"]))
    # forward mode transposes the bwd: the tangent of y is 2 x t_a + t_b (the rule's, not the naive x t_a)
    t = {"a": np.array([1.0, 0.5]), "b": np.float64(1.0)}
    out, t_out = cr.jvp(lambda p: affine(p, x), (p,), (t,))
    np.testing.assert_allclose(t_out["y"], 2 * x * t["a"] + 1.0, rtol=1e-14)
    np.testing.assert_allclose(t_out["z"][0], np.cos(p["b"]), rtol=1e-14)
    # jacfwd agrees with jacrev (both follow the rule)
    assert_same(cr.jacfwd(lambda a: affine({"a": a, "b": p["b"]}, x)["y"])(p["a"]),
                cr.jacrev(lambda a: affine({"a": a, "b": p["b"]}, x)["y"])(p["a"]))
    np.testing.assert_allclose(cr.jacrev(lambda a: affine({"a": a, "b": p["b"]}, x)["y"])(p["a"]), np.diag(2 * x))


def test_custom_vjp_pytrees_second_order():
    """Hessian of sum(y**2) in a: with the rule's dy/da = 2x, the gradient is 2 * (2 y) * x, whose derivative
    through the rule again is 8 x**2 (rev-over-rev and fwd-over-rev agree)."""
    x = _X2

    def f(a):
        return cnp.sum(affine({"a": a, "b": np.float64(0.3)}, x)["y"] ** 2)

    want = np.diag(8 * x ** 2)
    np.testing.assert_allclose(cr.hessian(f)(_P["a"]), want, rtol=1e-13)
    np.testing.assert_allclose(cr.jacrev(cr.jacrev(f))(_P["a"]), want, rtol=1e-13)
    np.testing.assert_allclose(cr.grad(lambda a: cr.grad(f)(a)[0])(_P["a"]), want[0], rtol=1e-13)


def test_custom_vjp_pytrees_under_vmap():
    rng = np.random.default_rng(0)
    ps = {"a": rng.standard_normal((3, 2)), "b": rng.standard_normal(3)}
    xs = rng.standard_normal((3, 2))
    per_example = cr.vmap(cr.grad(_affine_loss, argnums=(0, 1)))(ps, xs)
    for i in range(3):
        gp, gx = cr.grad(_affine_loss, argnums=(0, 1))({"a": ps["a"][i], "b": ps["b"][i]}, xs[i])
        np.testing.assert_allclose(per_example[0]["a"][i], gp["a"], rtol=1e-14)
        np.testing.assert_allclose(per_example[0]["b"][i], gp["b"], rtol=1e-14)
        np.testing.assert_array_equal(per_example[1][i], gx)
    # the parameters shared (in_axes None), the data mapped: per-example parameter gradients
    got = cr.vmap(cr.grad(_affine_loss), in_axes=(None, 0))(_P, xs)
    for i in range(3):
        np.testing.assert_allclose(got["a"][i], cr.grad(_affine_loss)(_P, xs[i])["a"], rtol=1e-14)


def test_custom_vjp_grad_of_vmap_over_an_unmapped_input():
    @custom_vjp
    def mul(a, b):
        return a * b

    mul.defvjp(lambda a, b: (a * b, (a, b)), lambda res, g: (g * res[1], g * res[0]))
    a, b = np.ones((2, 3)), np.arange(3.0)
    g = cr.grad(lambda b: cnp.sum(cr.vmap(mul, in_axes=(0, None))(a, b)))(b)
    assert np.shape(g) == (3,)
    np.testing.assert_allclose(g, a.sum(axis=0))


def test_custom_vjp_bwd_cotangent_shape_and_dtype():
    @custom_vjp
    def double(x):
        return x * 2

    double.defvjp(lambda x: (x * 2, None), lambda res, g: (g * np.float64(2.0),))
    g = cr.grad(lambda x: cnp.sum(double(x)))(np.ones(3, np.float32))
    assert g.dtype == np.float32  # converted to the primal's dtype
    double.defvjp(lambda x: (x * 2, None), lambda res, g: (2.0,))
    with pytest.raises((ValueError, TypeError), match="shape"):
        cr.grad(lambda x: cnp.sum(double(x)))(np.ones(3))


def test_custom_jvp_rule_tangent_shape_is_checked():
    @custom_jvp
    def sq(x):
        return x ** 2

    sq.defjvp(lambda p, t: (p[0] ** 2, 2.0))  # a scalar tangent for a vector output: a user error
    with pytest.raises((ValueError, TypeError), match="shape"):
        cr.jvp(sq, (np.ones(3),), (np.ones(3),))


# ---------------------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------------------

def test_custom_rule_errors():
    @custom_jvp
    def f(x):
        return x

    with pytest.raises(AttributeError, match="custom_jvp function f has no JVP rule: call .defjvp"):
        f(1.0)

    @custom_vjp
    def g(x):
        return x * 2

    with pytest.raises(AttributeError, match="custom_vjp function g has no VJP rule: call .defvjp"):
        g(1.0)
    g.defvjp(lambda x: x * 2, lambda res, ct: (ct,))
    with pytest.raises(TypeError, match="custom_vjp fwd of g must return a pair"):
        cr.grad(g)(1.0)
    g.defvjp(lambda x: (x * 2, None), lambda res, ct: ct)
    with pytest.raises(TypeError, match="custom_vjp bwd of g must return a tuple with one entry per"):
        cr.grad(g)(1.0)
    g.defvjp(lambda x: (x * 2, None), lambda res, ct: (ct, ct))
    with pytest.raises(TypeError, match="custom_vjp bwd of g returned 2 cotangents for 1 differentiable"):
        cr.grad(g)(1.0)


# ---------------------------------------------------------------------------------------------------------
# checkpoint
# ---------------------------------------------------------------------------------------------------------

def _block(x):
    for _ in range(4):
        x = cnp.sin(x) * cnp.cos(x) + x * 0.5
    return x


def _loss(block):
    return lambda x: cnp.sum(block(x) ** 2)


def test_checkpoint_same_gradients_and_hessians():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(5)
    ck = checkpoint(_block)
    np.testing.assert_allclose(cr.grad(_loss(ck))(x), cr.grad(_loss(_block))(x), rtol=1e-14)
    v1, g1 = cr.value_and_grad(_loss(ck))(x)
    v2, g2 = cr.value_and_grad(_loss(_block))(x)
    assert v1 == v2 and np.allclose(g1, g2, rtol=1e-14)
    np.testing.assert_allclose(cr.hessian(_loss(ck))(x), cr.hessian(_loss(_block))(x), rtol=1e-12)
    np.testing.assert_allclose(cr.jacrev(ck)(x), cr.jacfwd(_block)(x), rtol=1e-12)
    np.testing.assert_allclose(cr.grad(cr.grad(lambda t: cnp.sum(ck(t))))(0.7),
                               cr.grad(cr.grad(lambda t: cnp.sum(_block(t))))(0.7), rtol=1e-12)
    check_grads(ck, (x,), order=2, modes=("fwd", "rev"))
    # nested checkpoints and pytrees in and out
    nested = checkpoint(lambda d: {"u": checkpoint(_block)(d["x"]) * d["y"], "v": (d["y"],)})
    d = {"x": x, "y": rng.standard_normal(5)}
    f1 = lambda d: cnp.sum(nested(d)["u"]) + cnp.sum(nested(d)["v"][0] ** 2)  # noqa: E731
    f2 = lambda d: cnp.sum(_block(d["x"]) * d["y"]) + cnp.sum(d["y"] ** 2)  # noqa: E731
    assert_same(cr.grad(f1)(d), cr.grad(f2)(d), rtol=1e-14)


def test_checkpoint_under_vmap_and_jvp():
    rng = np.random.default_rng(1)
    xs = rng.standard_normal((4, 3))
    ck = checkpoint(_block)
    np.testing.assert_allclose(cr.vmap(ck)(xs), cr.vmap(_block)(xs), rtol=1e-14)
    np.testing.assert_allclose(cr.vmap(cr.grad(_loss(ck)))(xs), cr.vmap(cr.grad(_loss(_block)))(xs), rtol=1e-14)
    np.testing.assert_allclose(cr.grad(lambda xs: cnp.sum(cr.vmap(ck)(xs)))(xs),
                               cr.grad(lambda xs: cnp.sum(cr.vmap(_block)(xs)))(xs), rtol=1e-14)
    out1, t1 = cr.jvp(ck, (xs[0],), (xs[1],))
    out2, t2 = cr.jvp(_block, (xs[0],), (xs[1],))
    np.testing.assert_allclose(out1, out2, rtol=1e-14)
    np.testing.assert_allclose(t1, t2, rtol=1e-14)
    np.testing.assert_allclose(cr.vmap(lambda x: cr.jvp(ck, (x,), (x,))[1])(xs),
                               cr.vmap(lambda x: cr.jvp(_block, (x,), (x,))[1])(xs), rtol=1e-14)
    np.testing.assert_allclose(cr.jacfwd(ck)(xs[0]), cr.jacrev(_block)(xs[0]), rtol=1e-12)
    # an argument unmapped under vmap
    f = checkpoint(lambda w, x: cnp.sin(w * x))
    g = cr.grad(lambda w: cnp.sum(cr.vmap(f, in_axes=(None, 0))(w, xs)))(xs[0])
    np.testing.assert_allclose(g, np.sum(np.cos(xs[0] * xs) * xs, axis=0), rtol=1e-13)


def test_checkpoint_static_argnums():
    calls = []

    def power_chain(x, n, scale):
        calls.append(n)
        for _ in range(n):
            x = cnp.sin(x) * scale
        return x

    ck = checkpoint(power_chain, static_argnums=(1, 2))
    x = np.array([0.3, -0.4])
    for n in (1, 3):
        np.testing.assert_allclose(cr.grad(lambda x: cnp.sum(ck(x, n, 2.0)))(x),
                                   cr.grad(lambda x: cnp.sum(power_chain(x, n, 2.0)))(x), rtol=1e-14)
    # n = 1: d/dx [2 sin x] = 2 cos x
    np.testing.assert_allclose(cr.grad(lambda x: cnp.sum(ck(x, 1, 2.0)))(x), 2 * np.cos(x), rtol=1e-14)
    assert all(isinstance(n, int) for n in calls)  # the static argument is never traced
    np.testing.assert_allclose(cr.vmap(cr.grad(lambda x: ck(x, 1, 3.0)))(x), 3 * np.cos(x), rtol=1e-14)


def test_checkpoint_recomputes_in_the_backward_pass():
    calls = {"n": 0}

    def counted(x):
        calls["n"] += 1
        return cnp.sin(x) * x

    x = np.array([0.5, 1.5])
    cr.grad(lambda x: cnp.sum(counted(x)))(x)
    assert calls["n"] == 1
    calls["n"] = 0
    out, f_vjp = cr.vjp(lambda x: cnp.sum(checkpoint(counted)(x)), x)
    assert calls["n"] == 1  # the forward pass
    g = f_vjp(1.0)[0]
    assert calls["n"] == 2  # run again when the cotangent arrives
    np.testing.assert_allclose(g, np.cos(x) * x + np.sin(x), rtol=1e-14)


def _held_between_passes(loss, x):
    """Bytes allocated (and still held) by the forward pass when vjp returns, before the backward pass."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        out, f_vjp = cr.vjp(loss, x)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    return held, f_vjp


def test_checkpoint_holds_less_memory_between_forward_and_backward():
    x = np.random.default_rng(2).standard_normal(50_000)  # 400 kB per intermediate
    held_plain, vjp_plain = _held_between_passes(_loss(_block), x)
    held_ckpt, vjp_ckpt = _held_between_passes(_loss(checkpoint(_block)), x)
    # Without checkpoint the pass keeps intermediates of the block; with it, about its input and output.
    assert held_plain > 4 * x.nbytes, held_plain
    assert held_ckpt < 0.5 * held_plain, (held_ckpt, held_plain)
    np.testing.assert_allclose(vjp_ckpt(1.0)[0], vjp_plain(1.0)[0], rtol=1e-14)
