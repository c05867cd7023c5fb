"""Composition of transforms: nesting, modes, pytrees, aux outputs, long chains."""
import collections
import sys

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import grad, jvp, linearize, stop_gradient, value_and_grad, vjp


# ---------------------------------------------------------------------------------------------------------
# Nesting and levels
# ---------------------------------------------------------------------------------------------------------

def test_no_perturbation_confusion():
    assert grad(lambda x: grad(lambda y: x * y)(x))(5.0) == 1.0
    # The forward-mode version of the same trap.
    d = jvp(lambda x: jvp(lambda y: x * y, (x,), (1.0,))[1], (5.0,), (1.0,))[1]
    assert d == 1.0
    # Mixed: outer forward, inner reverse, and the other way round.
    assert jvp(lambda x: grad(lambda y: x * y)(x), (5.0,), (1.0,))[1] == 1.0
    assert grad(lambda x: jvp(lambda y: x * y, (x,), (1.0,))[1])(5.0) == 1.0


def _f(x):
    return cnp.sin(x) * cnp.exp(x ** 2) / (1 + x ** 2)


def _f2_closed(x):
    h = np.exp(x ** 2) / (1 + x ** 2)
    a = 2 * x ** 3 / (1 + x ** 2)
    da = (6 * x ** 2 + 2 * x ** 4) / (1 + x ** 2) ** 2
    return h * (-np.sin(x) + 2 * np.cos(x) * a + np.sin(x) * (a * a + da))


def _tan(f):
    """x -> f'(x) in forward mode."""
    return lambda x: jvp(f, (x,), (cnp.ones_like(x),))[1]


@pytest.mark.parametrize("x0", [-1.3, -0.2, 0.0, 0.7, 1.1])
def test_second_derivative_four_ways(x0):
    x = np.float64(x0)
    want = _f2_closed(x0)
    rev_rev = grad(grad(_f))(x)
    fwd_rev = jvp(grad(_f), (x,), (1.0,))[1]
    rev_fwd = grad(_tan(_f))(x)
    fwd_fwd = _tan(_tan(_f))(x)
    for name, got in [("rev-rev", rev_rev), ("fwd-rev", fwd_rev), ("rev-fwd", rev_fwd), ("fwd-fwd", fwd_fwd)]:
        assert np.shape(got) == (), name
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12, err_msg=name)
    # And against a finite difference of the first derivative (the closed form is right).
    eps = 1e-6
    fd = (grad(_f)(x + eps) - grad(_f)(x - eps)) / (2 * eps)
    np.testing.assert_allclose(want, fd, rtol=1e-6, atol=1e-6)


def test_second_derivative_on_arrays():
    x = np.array([-0.5, 0.3, 1.2])
    want = _f2_closed(x)
    rev_rev = grad(lambda x: cnp.sum(grad(lambda x: cnp.sum(_f(x)))(x)))(x)
    fwd_rev = jvp(grad(lambda x: cnp.sum(_f(x))), (x,), (np.ones(3),))[1]
    rev_fwd = grad(lambda x: cnp.sum(_tan(_f)(x)))(x)
    fwd_fwd = _tan(_tan(_f))(x)
    for got in (rev_rev, fwd_rev, rev_fwd, fwd_fwd):
        np.testing.assert_allclose(got, want, rtol=1e-10)


@pytest.mark.parametrize("x0", [0.0, 0.4, 2.5])
def test_third_derivative_of_sin(x0):
    want = -np.cos(x0)
    assert np.isclose(grad(grad(grad(cnp.sin)))(x0), want, rtol=1e-12, atol=1e-14)
    assert np.isclose(_tan(_tan(_tan(cnp.sin)))(np.float64(x0)), want, rtol=1e-12, atol=1e-14)
    assert np.isclose(grad(_tan(grad(cnp.sin)))(np.float64(x0)), want, rtol=1e-12, atol=1e-14)
    assert np.isclose(_tan(grad(_tan(cnp.sin)))(np.float64(x0)), want, rtol=1e-12, atol=1e-14)
    # Fourth derivative brings it back to sin.
    assert np.isclose(grad(grad(grad(grad(cnp.sin))))(x0), np.sin(x0), rtol=1e-12, atol=1e-14)


def test_grad_of_closure_over_outer_variable():
    # d/dx [ d/dy sin(x y) at y = c ] = d/dx [x cos(x c)] = cos(x c) - x c sin(x c)
    c = 0.7

    def outer(x):
        return grad(lambda y: cnp.sin(x * y))(c)

    x = 1.3
    np.testing.assert_allclose(outer(x), x * np.cos(x * c))
    np.testing.assert_allclose(grad(outer)(x), np.cos(x * c) - x * c * np.sin(x * c))
    np.testing.assert_allclose(jvp(outer, (x,), (1.0,))[1], np.cos(x * c) - x * c * np.sin(x * c))

    # The inner function closes over a value of the outer grad and over a constant array.
    w = np.array([1.0, 2.0])

    def loss(x):
        inner = grad(lambda v: cnp.sum(v * x * w))(np.zeros(2))  # = x * w
        return cnp.sum(inner ** 2)  # = x^2 * |w|^2

    np.testing.assert_allclose(grad(loss)(3.0), 2 * 3.0 * 5.0)


# ---------------------------------------------------------------------------------------------------------
# grad's options
# ---------------------------------------------------------------------------------------------------------

def _g3(x, y, z):
    return cnp.sum(x * y ** 2 + cnp.sin(z) * x)


def test_grad_argnums_tuple_and_alias():
    x, y, z = np.array([1.0, 2.0]), np.array([3.0, -1.0]), np.array([0.5, 0.25])
    gx, gz = grad(_g3, argnums=(0, 2))(x, y, z)
    np.testing.assert_allclose(gx, y ** 2 + np.sin(z))
    np.testing.assert_allclose(gz, np.cos(z) * x)
    gy = grad(_g3, argnums=1)(x, y, z)
    np.testing.assert_allclose(gy, 2 * x * y)
    gy_alias = grad(_g3, argnum=1)(x, y, z)  # HIPS autograd's spelling
    np.testing.assert_allclose(gy_alias, gy)
    (gy2,) = grad(_g3, argnums=(1,))(x, y, z)  # a tuple gives a tuple, even of one
    np.testing.assert_allclose(gy2, gy)
    gz_neg = grad(_g3, argnums=-1)(x, y, z)
    np.testing.assert_allclose(gz_neg, gz)
    # keyword arguments pass through undifferentiated
    np.testing.assert_allclose(grad(lambda x, *, k: cnp.sum(k * x))(x, k=3.0), [3.0, 3.0])


def test_has_aux():
    def f(x):
        return cnp.sum(x ** 2), {"norm": cnp.sqrt(cnp.sum(x ** 2)), "n": 2}

    x = np.array([3.0, 4.0])
    g, aux = grad(f, has_aux=True)(x)
    np.testing.assert_allclose(g, 2 * x)
    assert aux["n"] == 2 and np.isclose(aux["norm"], 5.0)
    assert not isinstance(aux["norm"], cr.core.trace.Tracer)  # aux comes back as a plain value
    (val, aux2), g2 = value_and_grad(f, has_aux=True)(x)
    assert np.isclose(val, 25.0) and np.isclose(aux2["norm"], 5.0)
    np.testing.assert_allclose(g2, 2 * x)
    out, f_vjp, aux3 = vjp(lambda x: (x * 2, x.sum()), x, has_aux=True)
    np.testing.assert_allclose(out, 2 * x)
    assert np.isclose(aux3, 7.0)
    np.testing.assert_allclose(f_vjp(np.ones(2))[0], [2.0, 2.0])
    out, t, aux4 = jvp(lambda x: (x * 2, x.sum()), (x,), (np.ones(2),), has_aux=True)
    np.testing.assert_allclose(t, [2.0, 2.0])
    assert np.isclose(aux4, 7.0)


def test_value_and_grad():
    x = np.array([0.5, -1.0, 2.0])
    val, g = value_and_grad(lambda x: cnp.sum(cnp.exp(x)))(x)
    np.testing.assert_allclose(val, np.sum(np.exp(x)))
    np.testing.assert_allclose(g, np.exp(x))
    assert not isinstance(val, cr.core.trace.Tracer)
    val, (gx, gy) = value_and_grad(lambda x, y: cnp.sum(x * y), argnums=(0, 1))(x, 2 * x)
    np.testing.assert_allclose(val, 2 * np.sum(x * x))
    np.testing.assert_allclose(gx, 2 * x)
    np.testing.assert_allclose(gy, x)


# ---------------------------------------------------------------------------------------------------------
# Pytrees
# ---------------------------------------------------------------------------------------------------------

Point = collections.namedtuple("Point", ["x", "y"])


class Params:
    """A user class registered as a pytree node (``w`` and ``b`` are children, ``name`` is static)."""

    def __init__(self, w, b, name="p"):
        self.w, self.b, self.name = w, b, name


cr.register_pytree_node(Params, lambda p: ((p.w, p.b), p.name), lambda name, ch: Params(ch[0], ch[1], name))


def _tree_loss(tree):
    d = tree["dict"]
    return (cnp.sum(d["a"] ** 2) + 3.0 * d["b"]
            + cnp.sum(tree["list"][0] * tree["list"][1])
            + tree["tuple"][0] * 2.0
            + cnp.sum(cnp.sin(tree["nt"].x)) + tree["nt"].y ** 3
            + cnp.sum(tree["params"].w * tree["params"].b))


def _tree():
    return {
        "dict": {"a": np.array([1.0, -2.0]), "b": np.float64(0.5)},
        "list": [np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0])],
        "tuple": (np.float64(1.5), None),
        "nt": Point(x=np.array([0.1, 0.2]), y=np.float64(2.0)),
        "params": Params(np.array([[1.0, 2.0]]), np.array([3.0, 4.0]), name="layer"),
        "none": None,
    }


def _tree_grad_closed(t):
    return {
        "dict": {"a": 2 * t["dict"]["a"], "b": 3.0},
        "list": [t["list"][1], t["list"][0]],
        "tuple": (2.0, None),
        "nt": Point(x=np.cos(t["nt"].x), y=3 * t["nt"].y ** 2),
        "params": Params(np.broadcast_to(t["params"].b, (1, 2)), t["params"].w[0], name="layer"),
        "none": None,
    }


def _assert_tree_close(got, want):
    gl, gt = cr.tree_flatten(got)
    wl, wt = cr.tree_flatten(want)
    assert gt == wt, (gt, wt)
    for g, w in zip(gl, wl):
        assert np.shape(g) == np.shape(w)
        np.testing.assert_allclose(g, w, rtol=1e-12)


def test_grad_of_pytree_inputs():
    t = _tree()
    g = grad(_tree_loss)(t)
    assert isinstance(g["nt"], Point) and isinstance(g["params"], Params) and g["params"].name == "layer"
    assert g["none"] is None and g["tuple"][1] is None
    assert isinstance(g["list"], list) and isinstance(g["tuple"], tuple)
    _assert_tree_close(g, _tree_grad_closed(t))
    # A pytree in a non-first argument, with argnums.
    ga = grad(lambda s, tr: s * _tree_loss(tr), argnums=1)(2.0, t)
    _assert_tree_close(ga, cr.tree_map(lambda v: 2 * np.asarray(v), _tree_grad_closed(t)))


def test_jvp_and_vjp_on_pytrees():
    t = _tree()
    tangent = cr.tree_map(lambda v: np.ones_like(v), t)
    out, t_out = jvp(_tree_loss, (t,), (tangent,))
    np.testing.assert_allclose(out, _tree_loss(t))
    want = sum(np.sum(g) for g in cr.tree_leaves(_tree_grad_closed(t)))
    np.testing.assert_allclose(t_out, want)

    def f(tree):  # pytree -> pytree
        return {"s": cnp.sum(tree["list"][0] * tree["nt"].y), "p": Point(tree["dict"]["a"] * 2, tree["nt"].x)}

    out, f_vjp = vjp(f, t)
    assert isinstance(out["p"], Point)
    ct = {"s": np.float64(1.0), "p": Point(np.array([1.0, 10.0]), np.array([100.0, 1000.0]))}
    (g,) = f_vjp(ct)
    np.testing.assert_allclose(g["list"][0], [2.0, 2.0, 2.0])
    np.testing.assert_allclose(g["list"][1], np.zeros(3))
    np.testing.assert_allclose(g["nt"].y, 6.0)
    np.testing.assert_allclose(g["nt"].x, [100.0, 1000.0])  # out["p"].y is tree["nt"].x
    np.testing.assert_allclose(g["dict"]["a"], [2.0, 20.0])
    assert g["params"].name == "layer" and not np.any(g["params"].w)
    # Forward mode on the same pytree-to-pytree function.
    o2, t2 = jvp(f, (t,), (tangent,))
    np.testing.assert_allclose(t2["s"], 3 * 2.0 + 6.0)
    assert isinstance(t2["p"], Point)
    np.testing.assert_allclose(t2["p"].x, [2.0, 2.0])
    np.testing.assert_allclose(t2["p"].y, [1.0, 1.0])


def test_vjp_multiple_args_and_outputs():
    x, y = np.array([1.0, 2.0]), np.array(3.0)
    out, f_vjp = vjp(lambda x, y: (x * y, cnp.sum(x) + y), x, y)
    gx, gy = f_vjp((np.array([1.0, 1.0]), np.float64(2.0)))
    np.testing.assert_allclose(gx, [3.0 + 2.0, 3.0 + 2.0])
    np.testing.assert_allclose(gy, 3.0 + 2.0)


def test_vjp_fn_callable_twice():
    x = np.array([0.3, -1.2, 2.0])
    out, f_vjp = vjp(lambda x: cnp.tanh(x) * cnp.exp(x), x)
    ct = np.array([1.0, 2.0, -1.0])
    g1 = f_vjp(ct)[0]
    g2 = f_vjp(ct)[0]
    want = ct * ((1 - np.tanh(x) ** 2) * np.exp(x) + np.tanh(x) * np.exp(x))
    np.testing.assert_allclose(g1, want)
    np.testing.assert_array_equal(g1, g2)
    np.testing.assert_allclose(f_vjp(2 * ct)[0], 2 * want)  # and linear in the cotangent


def test_linearize():
    x = np.array([0.5, 1.5])

    def f(x):
        return cnp.sin(x) * x

    out, f_jvp = linearize(f, x)
    np.testing.assert_allclose(out, np.sin(x) * x)
    t = np.array([1.0, -2.0])
    want = (np.cos(x) * x + np.sin(x)) * t
    np.testing.assert_allclose(f_jvp(t), want)
    np.testing.assert_allclose(f_jvp(3 * t), 3 * want)
    np.testing.assert_allclose(f_jvp(t), jvp(f, (x,), (t,))[1])
    out2, f_jvp2 = linearize(lambda a, b: a * b, 2.0, 3.0)
    assert out2 == 6.0 and np.isclose(f_jvp2(1.0, 0.0), 3.0) and np.isclose(f_jvp2(0.0, 1.0), 2.0)


def test_stop_gradient():
    assert grad(lambda x: x * stop_gradient(x))(3.0) == 3.0
    assert jvp(lambda x: x * stop_gradient(x), (3.0,), (1.0,))[1] == 3.0
    # Second order: stop_gradient(x) stays a constant at every level.
    assert grad(grad(lambda x: stop_gradient(x) * x ** 2))(3.0) == 6.0
    assert grad(grad(lambda x: stop_gradient(x ** 2) * x))(3.0) == 0.0
    np.testing.assert_array_equal(stop_gradient(np.array([1.0, 2.0])), [1.0, 2.0])
    g = grad(lambda x: cnp.sum(stop_gradient(x) * x + stop_gradient(x * x)))(np.array([1.0, 2.0]))
    np.testing.assert_allclose(g, [1.0, 2.0])
    # Under vmap it passes values through.
    np.testing.assert_allclose(cr.vmap(lambda x: stop_gradient(x) * 2)(np.arange(3.0)), [0.0, 2.0, 4.0])


def test_vmap_of_grad_and_grad_of_vmap():
    xs = np.array([0.1, 0.5, -1.2])
    f = lambda x: cnp.sin(x) * x  # noqa: E731
    per_example = cr.vmap(grad(f))(xs)
    np.testing.assert_allclose(per_example, np.cos(xs) * xs + np.sin(xs))
    g = grad(lambda x: cnp.sum(cr.vmap(f)(x)))(xs)
    np.testing.assert_allclose(g, per_example)


# ---------------------------------------------------------------------------------------------------------
# Long chains: iterative graph walks
# ---------------------------------------------------------------------------------------------------------

N_CHAIN = 100_000
A, B = 1.000001, 1e-3


def _chain(x):
    # 100,000 elementwise primitives: 50,000 multiplications and 50,000 additions.
    for _ in range(N_CHAIN // 2):
        x = x * A + B
    return x


def _chain_closed(x0):
    n = N_CHAIN // 2
    an = A ** n
    return an * x0 + B * (an - 1) / (A - 1), an


def test_long_chain_reverse_mode():
    x0 = np.array([0.5, -1.0, 2.0])
    val, g = value_and_grad(lambda x: cnp.sum(_chain(x)))(x0)
    want_val, want_d = _chain_closed(x0)
    assert sys.getrecursionlimit() < N_CHAIN  # a recursive walk would hit it
    np.testing.assert_allclose(val, np.sum(want_val), rtol=1e-9)
    np.testing.assert_allclose(g, np.full(3, want_d), rtol=1e-9)


def test_long_chain_forward_mode():
    x0 = np.array([0.5, -1.0, 2.0])
    out, t = jvp(_chain, (x0,), (np.array([1.0, 2.0, 3.0]),))
    want_val, want_d = _chain_closed(x0)
    np.testing.assert_allclose(out, want_val, rtol=1e-9)
    np.testing.assert_allclose(t, want_d * np.array([1.0, 2.0, 3.0]), rtol=1e-9)
