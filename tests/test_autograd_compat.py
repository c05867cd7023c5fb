"""The HIPS-autograd drop-in: its differential operators, ``builtins``, ``extend``, ``misc`` and ``test_util`` on
chainrule, its behaviour at the edges, and classic autograd programs run after swapping the imports.

Derivatives are checked against finite differences and closed forms, never against chainrule itself.
"""
import warnings

import numpy as onp
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import builtins as ag_builtins
from chainrule.extend import (defjvp, defjvp_argnum, def_linear, defvjp, defvjp_argnum, notrace_primitive,
                              primitive, vspace)
from chainrule.misc import flatten, flatten_func
from chainrule.testing import check_grads as cr_check_grads
from chainrule.testing import numerical_grad
from chainrule.test_util import check_grads, combo_check

X = onp.array([0.3, -1.2, 0.8])
M = onp.array([[0.5, -0.3], [1.1, 0.4], [-0.7, 0.9]])


def f_scalar(x, y):
    return cnp.sum(cnp.sin(x) * y ** 2)


# ---------------------------------------------------------------------------------------------------------
# The operators
# ---------------------------------------------------------------------------------------------------------

def test_grad_argnum_int_tuple_list_and_keyword():
    y = onp.array([1.0, 2.0, -0.5])
    gx = onp.cos(X) * y ** 2
    gy = 2 * onp.sin(X) * y
    onp.testing.assert_allclose(cr.grad(f_scalar)(X, y), gx)
    onp.testing.assert_allclose(cr.grad(f_scalar, 1)(X, y), gy)
    onp.testing.assert_allclose(cr.grad(f_scalar, argnum=1)(X, y), gy)
    for argnum in [(0, 1), [0, 1]]:
        g = cr.grad(f_scalar, argnum)(X, y)
        assert isinstance(g, tuple) and len(g) == 2
        onp.testing.assert_allclose(g[0], gx)
        onp.testing.assert_allclose(g[1], gy)


def test_value_and_grad_and_grad_and_aux():
    y = onp.array([1.0, 2.0, -0.5])
    v, g = cr.value_and_grad(f_scalar, 1)(X, y)
    onp.testing.assert_allclose(v, onp.sum(onp.sin(X) * y ** 2))
    onp.testing.assert_allclose(g, 2 * onp.sin(X) * y)
    g, aux = cr.grad_and_aux(lambda x: (cnp.sum(x ** 2), {"n": x.shape[0]}))(X)
    onp.testing.assert_allclose(g, 2 * X)
    assert aux == {"n": 3}


def test_elementwise_grad_and_deriv():
    onp.testing.assert_allclose(cr.elementwise_grad(cnp.tanh)(X), 1 - onp.tanh(X) ** 2)
    onp.testing.assert_allclose(cr.elementwise_grad(lambda x, y: x * y, 1)(X, 2 * X), X)
    onp.testing.assert_allclose(cr.deriv(cnp.tanh)(X), 1 - onp.tanh(X) ** 2)
    onp.testing.assert_allclose(cr.deriv(lambda t: t ** 3)(2.0), 12.0)
    # deriv is forward mode: sum of the Jacobian's columns
    onp.testing.assert_allclose(cr.deriv(lambda x: M @ x)(onp.zeros(2)), M.sum(1))
    with pytest.raises(TypeError, match="Elementwise_grad only applies to real-output functions"):
        cr.elementwise_grad(lambda x: x * 1j)(X)


def test_jacobian_shapes_and_values():
    J = cr.jacobian(lambda x: cnp.dot(M, x) ** 2)(onp.array([0.5, -1.0]))
    onp.testing.assert_allclose(J, 2 * (M @ [0.5, -1.0])[:, None] * M)
    J = cr.jacobian(lambda a: cnp.sin(a))(M)
    assert J.shape == M.shape + M.shape
    onp.testing.assert_allclose(J.reshape(6, 6), onp.diag(onp.cos(M).ravel()))
    Ja, Jb = cr.jacobian(lambda a, b: a * b, (0, 1))(X, 2 * X)
    onp.testing.assert_allclose(Ja, onp.diag(2 * X))
    onp.testing.assert_allclose(Jb, onp.diag(X))
    onp.testing.assert_allclose(cr.jacobian(lambda t: t ** 3)(2.0), 12.0)


def test_hessian_autograd_style():
    def f(x, y):
        return cnp.sum(x ** 3 * y)

    y = onp.array([1.0, 2.0, 3.0])
    onp.testing.assert_allclose(cr.hessian(f)(X, y), onp.diag(6 * X * y))
    onp.testing.assert_allclose(cr.hessian(f, 1)(X, y), onp.zeros((3, 3)))
    # autograd's hessian is jacobian(jacobian(fun)): a non-scalar output adds its shape in front
    H = cr.hessian(lambda x: x ** 3)(X)
    assert H.shape == (3, 3, 3)
    onp.testing.assert_allclose(onp.einsum("iii->i", H), 6 * X)


def test_hessian_argnum_keyword():
    onp.testing.assert_allclose(cr.hessian(lambda x, y: cnp.sum(x * y ** 3), argnum=1)(X, X), onp.diag(6 * X * X))


def test_ones_like_zeros_like_are_constants():
    g = cr.grad(lambda x: cnp.sum(cnp.ones_like(x) * x + cnp.zeros_like(x)))(X)
    onp.testing.assert_array_equal(g, onp.ones(3))
    out = cr.vmap(lambda x: cnp.ones_like(x) * x)(onp.stack([X, 2 * X]))
    onp.testing.assert_array_equal(out, onp.stack([X, 2 * X]))


def test_holomorphic_grad():
    z = onp.array(0.3 + 0.7j)
    onp.testing.assert_allclose(cr.holomorphic_grad(lambda z: cnp.sin(z) * z)(z), onp.cos(z) * z + onp.sin(z))
    onp.testing.assert_allclose(cr.holomorphic_grad(lambda z: cnp.exp(z ** 2))(z), 2 * z * onp.exp(z ** 2))
    with pytest.warns(UserWarning, match="Input to holomorphic_grad is not complex"):
        onp.testing.assert_allclose(cr.holomorphic_grad(cnp.sin)(0.5), onp.cos(0.5))


def test_make_vjp_make_jvp():
    vjp_fn, ans = cr.make_vjp(lambda a, x: cnp.dot(a, x), 1)(M, onp.array([1.0, -1.0]))
    onp.testing.assert_allclose(ans, M @ [1.0, -1.0])
    onp.testing.assert_allclose(vjp_fn(onp.array([1.0, 0.0, 2.0])), M.T @ [1.0, 0.0, 2.0])
    vjp_fn, _ = cr.make_vjp(lambda a, x: cnp.dot(a, x), (0, 1))(M, onp.array([1.0, -1.0]))
    ga, gx = vjp_fn(onp.ones(3))
    onp.testing.assert_allclose(ga, onp.ones((3, 1)) * [1.0, -1.0])
    onp.testing.assert_allclose(gx, M.sum(0))
    val, tan = cr.make_jvp(lambda x: cnp.sin(x) * 2)(X)(onp.ones(3))
    onp.testing.assert_allclose(val, 2 * onp.sin(X))
    onp.testing.assert_allclose(tan, 2 * onp.cos(X))


def test_hessian_vector_products():
    A = onp.array([[2.0, 0.5, 0.0], [0.5, 1.0, -0.3], [0.0, -0.3, 3.0]])

    def f(x):
        return 0.5 * cnp.dot(x, cnp.dot(A, x)) + cnp.sum(x ** 4)

    H = A + onp.diag(12 * X ** 2)
    v = onp.array([1.0, -2.0, 0.5])
    hvp_fn, g = cr.make_hvp(f)(X)
    onp.testing.assert_allclose(g, A @ X + 4 * X ** 3)
    onp.testing.assert_allclose(hvp_fn(v), H @ v)
    onp.testing.assert_allclose(cr.hessian_tensor_product(f)(X, v), H @ v)
    onp.testing.assert_allclose(cr.hessian_vector_product(f)(X, v), H @ v)
    V = onp.stack([v, 2 * v])
    # A matrix of vectors: every axis of the tensor is contracted
    onp.testing.assert_allclose(cr.hessian_tensor_product(lambda x: f(x[0]) + f(x[1]))(onp.stack([X, X]), V),
                                onp.stack([H @ v, H @ (2 * v)]))


def test_tensor_jacobian_product_and_ggnvp():
    u = onp.array([1.0, 0.5, -2.0])
    onp.testing.assert_allclose(cr.tensor_jacobian_product(lambda x: cnp.dot(M, x))(onp.ones(2), u), u @ M)
    onp.testing.assert_allclose(cr.vector_jacobian_product(lambda x: cnp.dot(M, x))(onp.ones(2), u), u @ M)
    v = onp.array([0.3, -1.0])
    # default g = 0.5 * |y|^2: the product is J^T J v
    onp.testing.assert_allclose(cr.make_ggnvp(lambda x: cnp.dot(M, x))(onp.ones(2))(v), M.T @ M @ v)
    W = onp.diag([1.0, 2.0, 3.0])
    ggnvp = cr.make_ggnvp(lambda x: cnp.sin(cnp.dot(M, x)), lambda y: 0.5 * cnp.dot(y, cnp.dot(W, y)))
    J = onp.cos(M @ onp.ones(2))[:, None] * M
    onp.testing.assert_allclose(ggnvp(onp.ones(2))(v), J.T @ W @ J @ v)


def test_grad_named_and_multigrad_dict():
    def f(x, y, scale=2.0):
        return scale * cnp.sum(x * y)

    onp.testing.assert_allclose(cr.grad_named(f, "y")(X, X + 1), 2 * X)
    with pytest.raises(ValueError, match="has no positional argument named 'z'"):
        cr.grad_named(f, "z")
    g = cr.multigrad_dict(f)(X, y=X + 1)
    assert list(g) == ["x", "y", "scale"]
    onp.testing.assert_allclose(g["x"], 2 * (X + 1))
    onp.testing.assert_allclose(g["y"], 2 * X)
    onp.testing.assert_allclose(g["scale"], onp.sum(X * (X + 1)))

    def h(a, *rest, **kw):
        return a * rest[0] + kw["b"] ** 2

    g = cr.multigrad_dict(h)(2.0, 3.0, b=5.0)
    assert g["a"] == 3.0 and g["rest"] == (2.0,) and g["kw"] == {"b": 10.0}


def test_checkpoint_autograd_style():
    f = cr.checkpoint(lambda x: cnp.sum(cnp.sin(cnp.cos(x))))
    onp.testing.assert_allclose(cr.grad(f)(X), -onp.cos(onp.cos(X)) * onp.sin(X))


# ---------------------------------------------------------------------------------------------------------
# Behaviour at the edges
# ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("op", ["elementwise_grad", "jacobian", "make_vjp"])
def test_constant_functions_warn_and_give_zeros(op):
    x = onp.ones((2, 3), onp.float32)
    with pytest.warns(UserWarning, match="Output seems independent of input"):
        if op == "make_vjp":
            out = cr.make_vjp(lambda x: onp.ones(2))(x)[0](onp.ones(2))
        elif op == "jacobian":
            out = cr.jacobian(lambda x: onp.ones(2))(x)
        else:
            out = cr.elementwise_grad(lambda x: onp.ones(2))(x)
    expected = onp.zeros((2, 2, 3) if op == "jacobian" else (2, 3))
    onp.testing.assert_array_equal(out, expected)
    assert out.dtype == onp.float32


def test_grad_of_constant_function_warns():
    with pytest.warns(UserWarning, match="Output seems independent of input"):
        g = cr.grad(lambda x: 3.0)(onp.ones(2))
    onp.testing.assert_array_equal(g, onp.zeros(2))


def test_gradient_keeps_dtype_and_shape():
    for x in [onp.ones((2, 1), onp.float32), onp.ones(3), onp.float32(2.0), onp.array(1.5), onp.ones(2, onp.complex64)]:
        for op in (cr.grad, cr.elementwise_grad):
            g = op(lambda x: cnp.sum(cnp.abs(x) ** 2))(x)
            assert onp.shape(g) == onp.shape(x) and onp.asarray(g).dtype == onp.asarray(x).dtype, (op, x)
    g = cr.jacobian(lambda x: x * 2)(onp.ones(2, onp.float32))
    assert g.dtype == onp.float32


def test_grad_of_complex_or_vector_output_raises():
    with pytest.raises(TypeError, match="real-valued outputs"):
        cr.grad(lambda x: cnp.sum(x) * 1j)(X)
    with pytest.raises(TypeError, match="scalar-output"):
        cr.grad(lambda x: x * 2)(X)


def test_assignment_into_traced_array_raises():
    def f(x):
        x[0] = 1.0
        return cnp.sum(x)

    with pytest.raises(TypeError, match="immutable"):
        cr.grad(f)(X)


# ---------------------------------------------------------------------------------------------------------
# builtins, containers
# ---------------------------------------------------------------------------------------------------------

def test_builtins_isinstance_and_type_see_through_tracers():
    seen = []

    def f(x):
        seen.append((ag_builtins.isinstance(x, onp.ndarray), ag_builtins.type(x), isinstance(x, onp.ndarray)))
        return cnp.sum(x)

    cr.grad(f)(X)
    assert seen == [(True, onp.ndarray, False)]
    assert ag_builtins.isinstance(1.0, float) and not ag_builtins.isinstance(1.0, int)
    assert ag_builtins.list is list and ag_builtins.tuple is tuple and ag_builtins.dict is dict


def test_containers_are_differentiable():
    def f(params):
        w, (b, c) = params["w"], params["bc"]
        return cnp.sum(w ** 2) * b + c

    g = cr.grad(f)({"w": X, "bc": ag_builtins.tuple([2.0, 1.0])})
    onp.testing.assert_allclose(g["w"], 4 * X)
    assert isinstance(g["bc"], tuple) and g["bc"][0] == onp.sum(X ** 2) and g["bc"][1] == 1.0
    g = cr.grad(lambda xs: xs[0] * xs[1])(ag_builtins.list([2.0, 3.0]))
    assert isinstance(g, list) and g == [3.0, 2.0]


# ---------------------------------------------------------------------------------------------------------
# extend: user primitives
# ---------------------------------------------------------------------------------------------------------

@primitive
def _logsumexp(x, axis=None):
    m = onp.max(x, axis=axis, keepdims=True)
    return onp.squeeze(m, axis) + onp.log(onp.sum(onp.exp(x - m), axis=axis))


def _lse_vjp(ans, x, axis=None):
    return lambda g: cnp.expand_dims(g, axis if axis is not None else ()) * cnp.exp(
        x - cnp.expand_dims(ans, axis if axis is not None else ()))


defvjp(_logsumexp, _lse_vjp)


def test_primitive_with_vjp_all_orders_and_modes():
    x = onp.array([[0.3, -1.0, 0.5], [1.2, 0.1, -0.4]])
    assert isinstance(_logsumexp(x), float) or onp.ndim(_logsumexp(x)) == 0  # plain call: NumPy code
    onp.testing.assert_allclose(cr.grad(_logsumexp)(x), onp.exp(x - onp.log(onp.exp(x).sum())))
    cr_check_grads(lambda x: _logsumexp(x, axis=1), (x,), order=2, modes=("fwd", "rev"))  # fwd by transposition


def test_primitive_with_jvp_only_and_tuple_outputs():
    @primitive
    def polar(x):
        return onp.cos(x), onp.sin(x)

    defjvp(polar, lambda g, ans, x: (-g * ans[1], g * ans[0]))
    cr_check_grads(lambda x: polar(x)[0] * polar(x)[1] ** 2, (X,), order=2)  # rev by transposition
    c, s = polar(X)
    onp.testing.assert_allclose(c, onp.cos(X))


def test_defvjp_argnums_argnum_and_kwargs():
    @primitive
    def scaled(x, y, power=2):
        return x * y ** power

    defvjp(scaled, lambda ans, x, y, power=2: lambda g: g * y ** power,
           lambda ans, x, y, power=2: lambda g: g * x * power * y ** (power - 1))
    onp.testing.assert_allclose(cr.grad(scaled, (0, 1))(2.0, 3.0, power=3), (27.0, 54.0))

    @primitive
    def mul(x, y):
        return x * y

    defvjp_argnum(mul, lambda argnum, ans, args, kwargs: lambda g: g * args[1 - argnum])
    defjvp_argnum(mul, lambda argnum, g, ans, args, kwargs: g * args[1 - argnum])
    cr_check_grads(mul, (X, 2 * X + 1), order=2)

    @primitive
    def only_first(x, y):
        return x + y

    defvjp(only_first, lambda ans, x, y: lambda g: g, argnums=(0,))
    with pytest.raises(NotImplementedError, match="VJP of only_first wrt argnum 1 not defined"):
        cr.grad(only_first, 1)(1.0, 2.0)


def test_def_linear_and_same():
    @primitive
    def twice(x):
        return 2 * x

    def_linear(twice)
    defvjp(twice, lambda ans, x: lambda g: twice(g))
    cr_check_grads(lambda x: twice(x) ** 2, (X,), order=2)

    @primitive
    def only_jvp(x):
        return 3 * x

    defjvp(only_jvp, "same")
    onp.testing.assert_allclose(cr.jvp(only_jvp, (X,), (onp.ones(3),))[1], 3 * onp.ones(3))
    with pytest.raises(NotImplementedError, match="register the transpose with defvjp"):
        cr.grad(lambda x: cnp.sum(only_jvp(x)))(X)


def test_transposition_needs_chainrule_ops():
    @primitive
    def sq(x):
        return x ** 2

    defvjp(sq, lambda ans, x: lambda g: onp.asarray(g) * 2 * x)  # raw NumPy on the cotangent
    onp.testing.assert_allclose(cr.grad(lambda x: cnp.sum(sq(x)))(X), 2 * X)  # reverse mode: any NumPy code
    with pytest.raises(NotImplementedError, match="written with chainrule operations"):
        cr.jvp(sq, (X,), (onp.ones(3),))


def test_defvjp_on_a_plain_function_is_an_error():
    with pytest.raises(TypeError, match="is not a primitive"):
        defvjp(onp.sin, lambda ans, x: lambda g: g)


def test_notrace_primitive_and_vspace():
    count = notrace_primitive(lambda x: int(onp.sum(x > 0)))
    onp.testing.assert_allclose(cr.grad(lambda x: cnp.sum(x) * count(x))(X), 2 * onp.ones(3))
    vs = vspace(onp.zeros((2, 3)))
    assert vs.shape == (2, 3) and vs.size == 6 and vs.zeros().shape == (2, 3)
    assert vspace(onp.zeros(2, complex)).size == 4 and vspace(onp.zeros(2, complex)).iscomplex


# ---------------------------------------------------------------------------------------------------------
# misc, test_util
# ---------------------------------------------------------------------------------------------------------

def test_flatten_roundtrip_and_differentiable():
    tree = {"b": onp.ones((2, 2)), "a": [onp.arange(3.0), 2.5]}
    flat, unflatten = flatten(tree)
    onp.testing.assert_array_equal(flat, [0.0, 1.0, 2.0, 2.5, 1.0, 1.0, 1.0, 1.0])
    back = unflatten(flat)
    assert back["a"][1] == 2.5 and back["b"].shape == (2, 2)

    def loss(v):
        t = unflatten(v)
        return cnp.sum(t["b"] ** 2) + t["a"][1] * cnp.sum(t["a"][0])

    g = cr.grad(loss)(flat)
    onp.testing.assert_allclose(g, numerical_grad(loss, flat))
    onp.testing.assert_allclose(cr.grad(lambda t: cnp.sum(flatten(t)[0] ** 2))(tree)["b"], 2 * onp.ones((2, 2)))
    f, unflat, x0 = flatten_func(lambda t, s: {"y": t["x"] * s}, {"x": onp.ones(2)})
    onp.testing.assert_array_equal(f(x0, 3.0), [3.0, 3.0])
    empty, unflatten_empty = flatten([])
    assert empty.shape == (0,) and unflatten_empty(empty) == []


def test_misc_optimizers_minimise_a_quadratic_on_a_tree():
    from chainrule.misc.optimizers import adam, rmsprop, sgd

    target = {"w": onp.array([1.0, -2.0]), "b": 0.5}

    def objective(p, i):
        return cnp.sum((p["w"] - target["w"]) ** 2) + (p["b"] - target["b"]) ** 2

    g = cr.grad(objective)
    for opt, kw in [(adam, {"step_size": 0.1, "num_iters": 300}), (sgd, {"step_size": 0.1, "num_iters": 300}),
                    (rmsprop, {"step_size": 0.05, "num_iters": 300})]:
        p = opt(g, {"w": onp.zeros(2), "b": 0.0}, **kw)
        onp.testing.assert_allclose(p["w"], target["w"], atol=0.05)
        assert abs(p["b"] - 0.5) < 0.05


def test_check_grads_autograd_convention_and_detects_errors():
    check_grads(lambda x, y: cnp.sum(cnp.sin(x) * y), modes=["fwd", "rev"], order=2)(X, 2 * X)
    check_grads(lambda x, y: cnp.sum(cnp.sin(x) * y), argnum=1, order=1)(X, 2 * X)
    check_grads(lambda x, y: cnp.sum(cnp.sin(x) * y), (0, 1))(X, 2 * X)
    check_grads(cnp.tanh, X)  # the older form check_grads(fun, *args)

    @primitive
    def wrong(x):
        return onp.sin(x)

    defvjp(wrong, lambda ans, x: lambda g: g * cnp.sin(x))  # should be cos
    with pytest.raises(AssertionError):
        check_grads(wrong, modes=["rev"], order=1)(X)
    with pytest.raises(ValueError, match="unknown mode"):
        check_grads(cnp.sin, modes=["sideways"])(X)


def test_combo_check_runs_every_combination():
    calls = []

    def f(x, axis=None):
        calls.append((onp.shape(x), axis))
        return cnp.sum(cnp.sin(x), axis=axis)

    combo_check(f, [0], order=1)([onp.ones(3), onp.ones((2, 2))], axis=[None, 0])
    assert {(s, a) for s, a in calls} == {((3,), None), ((3,), 0), ((2, 2), None), ((2, 2), 0)}


# ---------------------------------------------------------------------------------------------------------
# Classic autograd programs, written the autograd way
# ---------------------------------------------------------------------------------------------------------

def test_logistic_regression():
    import chainrule.numpy as np
    from chainrule import grad

    def sigmoid(x):
        return 0.5 * (np.tanh(x / 2.0) + 1)

    def logistic_predictions(weights, inputs):
        return sigmoid(np.dot(inputs, weights))

    inputs = np.array([[0.52, 1.12, 0.77], [0.88, -1.08, 0.15], [0.52, 0.06, -1.30], [0.74, -2.49, 1.39]])
    targets = np.array([True, True, False, True])

    def training_loss(weights):
        preds = logistic_predictions(weights, inputs)
        label_probabilities = preds * targets + (1 - preds) * (1 - targets)
        return -np.sum(np.log(label_probabilities))

    training_gradient_fun = grad(training_loss)
    weights = np.array([0.0, 0.0, 0.0])
    onp.testing.assert_allclose(training_gradient_fun(weights), numerical_grad(training_loss, weights), rtol=1e-6)
    start = training_loss(weights)
    for _ in range(100):
        weights -= training_gradient_fun(weights) * 0.01
    assert training_loss(weights) < 0.5 * start
    onp.testing.assert_allclose(training_gradient_fun(weights), numerical_grad(training_loss, weights), rtol=1e-6)


def test_neural_network():
    import chainrule.numpy as np
    import chainrule.numpy.random as npr
    from chainrule import grad
    from chainrule.misc.optimizers import adam
    from chainrule.scipy.special import logsumexp

    def init_random_params(scale, layer_sizes, rs=npr.RandomState(0)):
        return [(scale * rs.randn(m, n), scale * rs.randn(n)) for m, n in zip(layer_sizes[:-1], layer_sizes[1:])]

    def neural_net_predict(params, inputs):
        for W, b in params:
            outputs = np.dot(inputs, W) + b
            inputs = np.tanh(outputs)
        return outputs - logsumexp(outputs, axis=1, keepdims=True)

    def log_posterior(params, inputs, targets, L2_reg):
        log_prior = -L2_reg * sum(np.sum(W ** 2) + np.sum(b ** 2) for W, b in params)
        log_lik = np.sum(neural_net_predict(params, inputs) * targets)
        return log_prior + log_lik

    rs = npr.RandomState(1)
    inputs = rs.randn(20, 4)
    labels = (inputs[:, 0] + inputs[:, 1] > 0).astype(int)
    targets = np.eye(2)[labels]
    params = init_random_params(0.3, [4, 5, 2])

    def objective(params, i):
        return -log_posterior(params, inputs, targets, 0.01)

    g = grad(objective)(params, 0)
    flat, unflatten = flatten(params)
    onp.testing.assert_allclose(flatten(g)[0], numerical_grad(lambda v: objective(unflatten(v), 0), flat),
                                rtol=1e-5, atol=1e-8)
    trained = adam(grad(objective), params, step_size=0.05, num_iters=60)
    assert objective(trained, 0) < 0.5 * objective(params, 0)


def test_gaussian_process_marginal_likelihood():
    import chainrule.numpy as np
    from chainrule import grad, value_and_grad

    def rbf_covariance(kernel_params, x, xp):
        output_scale = np.exp(kernel_params[0])
        lengthscales = np.exp(kernel_params[1:])
        diffs = np.expand_dims(x / lengthscales, 1) - np.expand_dims(xp / lengthscales, 0)
        return output_scale * np.exp(-0.5 * np.sum(diffs ** 2, axis=2))

    def log_marginal_likelihood(params, x, y):
        mean, noise_scale, cov_params = params[0], np.exp(params[1]) + 0.0001, params[2:]
        cov_y_y = rbf_covariance(cov_params, x, x) + noise_scale * np.eye(len(y))
        r = y - mean
        sign, logdet = np.linalg.slogdet(cov_y_y)
        return -0.5 * (np.dot(r, np.linalg.solve(cov_y_y, r)) + logdet + len(y) * np.log(2 * np.pi))

    rs = onp.random.RandomState(0)
    x = onp.linspace(-3, 3, 8).reshape(-1, 1)
    y = onp.cos(x[:, 0]) + rs.randn(8) * 0.1
    params = onp.array([0.1, -1.0, 0.2, 0.3])
    objective = lambda p: -log_marginal_likelihood(p, x, y)  # noqa: E731
    g = grad(objective)(params)
    onp.testing.assert_allclose(g, numerical_grad(objective, params), rtol=1e-5, atol=1e-7)
    v0 = objective(params)
    for _ in range(30):
        v, g = value_and_grad(objective)(params)
        params = params - 0.05 * g
    assert objective(params) < v0


def test_complex_convention_matches_autograd_if_installed():
    autograd = pytest.importorskip("autograd")
    import autograd.numpy as anp

    z = onp.array([0.3 + 0.7j, -1.1 + 0.2j])

    def make(m):
        return lambda z: m.sum(m.abs(m.sin(z) * m.conj(z)) ** 2 + m.real(z * m.exp(z)) * m.imag(z))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = autograd.grad(make(anp))(z)
    onp.testing.assert_allclose(cr.grad(make(cnp))(z), want, rtol=1e-12)
