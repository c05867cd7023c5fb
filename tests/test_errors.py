"""The errors a user gets: right type, and a message that says what went wrong and where."""
import re

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import grad, jvp, vjp, vmap


# ---------------------------------------------------------------------------------------------------------
# grad's preconditions
# ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(3,), (1,), (2, 2)])
def test_grad_of_non_scalar_output(shape):
    with pytest.raises(TypeError, match=r"scalar.*" + re.escape(str(shape)) + r".*vjp.*jacrev"):
        grad(lambda x: x * 2.0)(np.ones(shape))


def test_grad_of_non_scalar_pytree_output():
    with pytest.raises(TypeError, match=r"scalar.*list.*vjp"):
        grad(lambda x: [x, x])(1.0)


@pytest.mark.parametrize("arg", [np.array(3), 3, np.array([1, 2], dtype=np.int32)])
def test_grad_wrt_integer_input(arg):
    dtype = str(np.asarray(arg).dtype)
    with pytest.raises(TypeError, match=rf"grad requires real- or complex-valued inputs.*{dtype}"):
        grad(lambda x: cnp.sum(x * 2.0))(arg)


def test_grad_wrt_integer_input_in_argnums_and_pytree():
    with pytest.raises(TypeError, match=r"int64 for argument 1"):
        grad(lambda x, y: x * y, argnums=(0, 1))(2.0, 3)
    with pytest.raises(TypeError, match=r"int64"):
        grad(lambda d: d["a"] * 1.0)({"a": np.array(2)})
    # An integer argument that is not differentiated is fine.
    assert grad(lambda x, n: x * n)(2.0, 3) == 3.0


def test_grad_of_integer_output():
    with pytest.raises(TypeError, match=r"real-valued outputs.*int64"):
        grad(lambda x: cnp.argmax(x))(np.array([1.0, 3.0]))


# ---------------------------------------------------------------------------------------------------------
# Shape errors name the op and both shapes
# ---------------------------------------------------------------------------------------------------------

BINARY_FACES = {
    "add": lambda x, y: x + y,
    "subtract": cnp.subtract,
    "multiply": lambda x, y: x * y,
    "divide": cnp.divide,
    "power": cnp.power,
    "maximum": cnp.maximum,
    "arctan2": cnp.arctan2,
    "logaddexp": cnp.logaddexp,
    "greater": lambda x, y: x > y,
}


def _under(transform, f, x):
    if transform == "grad":
        return grad(lambda x: cnp.sum(f(x)))(x)
    if transform == "jvp":
        return jvp(f, (x,), (np.ones_like(x),))
    if transform == "vjp":
        return vjp(f, x)
    if transform == "vmap":
        return vmap(f)(x[None])


@pytest.mark.parametrize("transform", ["grad", "jvp", "vjp", "vmap"])
@pytest.mark.parametrize("name", list(BINARY_FACES))
def test_binary_op_incompatible_shapes(name, transform):
    op = BINARY_FACES[name]
    y = np.ones((2, 4))
    x = np.full(3, 0.5)
    with pytest.raises(ValueError, match=rf"{name}.*\(3,\).*\(2, 4\)"):
        _under(transform, lambda x: op(x, y), x)
    # The other operand order reports the shapes in that order.
    with pytest.raises(ValueError, match=rf"{name}.*\(2, 4\).*\(3,\)"):
        _under(transform, lambda x: op(y, x), x)


def test_where_and_clip_incompatible_shapes():
    with pytest.raises(ValueError, match=r"where.*\(2,\).*\(3,\)"):
        grad(lambda x: cnp.sum(cnp.where(np.array([True, False]), x, 0.0)))(np.ones(3))
    with pytest.raises(ValueError, match=r"clip.*\(3,\).*\(2,\)"):
        grad(lambda x: cnp.sum(cnp.clip(x, np.zeros(2), 1.0)))(np.ones(3))


@pytest.mark.parametrize("transform", ["none", "grad", "jvp", "vmap"])
def test_reshape_to_incompatible_size(transform):
    f = lambda x: cnp.reshape(x, (4, 2))  # noqa: E731
    with pytest.raises(ValueError, match=r"reshape.*size 6.*\(6,\).*\(4, 2\)"):
        if transform == "none":
            f(np.ones(6))
        else:
            _under(transform, f, np.ones(6))
    with pytest.raises(ValueError, match=r"reshape.*size 6.*\(4, -1\)"):
        grad(lambda x: cnp.sum(x.reshape(4, -1)))(np.ones(6))
    with pytest.raises(ValueError, match=r"reshape.*one unknown dimension"):
        grad(lambda x: cnp.sum(x.reshape(-1, -1)))(np.ones(6))


# ---------------------------------------------------------------------------------------------------------
# jvp / vjp argument checks
# ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("tshape", [(2,), (3, 1), ()])
def test_jvp_tangent_shape_mismatch(tshape):
    with pytest.raises(ValueError, match=rf"jvp.*equal shapes.*argument 0.*\(3,\).*{re.escape(str(tshape))}"):
        jvp(lambda x: x * 2.0, (np.ones(3),), (np.ones(tshape),))


def test_jvp_tangent_structure_and_dtype_mismatch():
    with pytest.raises(ValueError, match=r"jvp.*same tree structure"):
        jvp(lambda x, y: x * y, (1.0, 2.0), (1.0,))
    with pytest.raises(TypeError, match=r"jvp.*dtype.*float64.*complex128"):
        jvp(lambda x: x * 2.0, (np.ones(2),), (np.ones(2) * 1j,))
    with pytest.raises(TypeError, match=r"jvp: primals and tangents must be tuples"):
        jvp(lambda x: x, np.ones(2), np.ones(2))


def test_vjp_cotangent_shape_mismatch():
    _, f_vjp = vjp(lambda x: x * 2.0, np.ones(3))
    with pytest.raises(ValueError, match=r"vjp: cotangent 0 has shape \(2,\).*output has shape \(3,\)"):
        f_vjp(np.ones(2))


# ---------------------------------------------------------------------------------------------------------
# vmap
# ---------------------------------------------------------------------------------------------------------

def test_vmap_inconsistent_axis_sizes():
    with pytest.raises(ValueError, match=r"inconsistent sizes.*size 3.*\(3, 2\).*size 4.*\(4, 2\)"):
        vmap(lambda x, y: x + y)(np.ones((3, 2)), np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"inconsistent sizes.*size 3.*axis 0.*size 5.*axis 1"):
        vmap(lambda x, y: x + y, in_axes=(0, 1))(np.ones((3, 2)), np.ones((2, 5)))
    with pytest.raises(ValueError, match=r"inconsistent sizes.*size 2.*size 3"):
        vmap(lambda t: t["a"] + t["b"])({"a": np.ones(2), "b": np.ones(3)})


# ---------------------------------------------------------------------------------------------------------
# Escaped tracers
# ---------------------------------------------------------------------------------------------------------

def _leak(transform):
    store = []

    def f(x):
        store.append(x)
        return cnp.sum(x * 2.0)

    x = np.array([1.0, 2.0])
    if transform == "grad":
        grad(f)(x)
    elif transform == "value_and_grad":
        cr.value_and_grad(f)(x)
    elif transform == "vjp":
        vjp(f, x)
    elif transform == "jvp":
        jvp(f, (x,), (x,))
    elif transform == "vmap":
        vmap(f)(np.ones((3, 2)))
    return store[0]


@pytest.mark.parametrize("transform", ["vjp", "jvp", "vmap"])
def test_escaped_tracer(transform):
    leaked = _leak(transform)
    msg = rf"traced by `{transform}` was used after `{transform}` returned"
    with pytest.raises(cr.EscapedTracerError, match=msg):
        leaked * 2.0
    with pytest.raises(cr.EscapedTracerError, match=msg):
        cnp.sin(leaked)
    # Also when it reaches a later, live transform.
    with pytest.raises(cr.EscapedTracerError, match=msg):
        grad(lambda y: cnp.sum(y * leaked))(np.ones(2))


@pytest.mark.parametrize("transform", ["grad", "value_and_grad"])
def test_escaped_tracer_names_grad(transform):
    leaked = _leak(transform)
    with pytest.raises(cr.EscapedTracerError, match=rf"traced by `{transform}` was used after"):
        leaked * 2.0


def test_escaped_tracer_from_grad_is_an_error():
    # Whatever name it carries, using a tracer leaked from grad is an EscapedTracerError.
    leaked = _leak("grad")
    with pytest.raises(cr.EscapedTracerError, match=r"escaped its transform"):
        leaked + 1.0


def test_tracer_escaping_inner_transform_into_outer():
    def outer(x):
        box = []
        grad(lambda y: box.append(y) or y * x)(x)
        return box[0] * x  # the inner tracer is dead, even though the outer transform is live

    with pytest.raises(cr.EscapedTracerError, match=r"escaped"):
        grad(outer)(2.0)


# ---------------------------------------------------------------------------------------------------------
# Missing rules
# ---------------------------------------------------------------------------------------------------------

def test_missing_rule_names_the_op_and_rule():
    p = cr.Primitive("my_op", lambda x: x * 3)
    with pytest.raises(cr.MissingRuleError, match=r"'my_op'.*JVP"):
        jvp(lambda x: p.bind(x), (1.0,), (1.0,))
    with pytest.raises(cr.MissingRuleError, match=r"'my_op'.*VJP"):
        grad(lambda x: p.bind(x))(1.0)
    assert p.bind(np.float64(2.0)) == 6.0  # untraced, the impl runs
