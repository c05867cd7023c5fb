"""Jacobians and curvature: jacfwd, jacrev, hessian, hvp, vhp.

- Every Jacobian (forward and reverse, argnums an int or a tuple, pytree inputs and outputs, has_aux) against
  a finite-difference Jacobian assembled column by column from ``chainrule.testing.numerical_jvp``, with JAX's
  nesting: the output's structure, each leaf holding the structure of the differentiated arguments, each block
  of shape ``out.shape + in.shape``.
- One Hessian computed six ways (jacfwd(jacrev), jacrev(jacfwd), jacrev(jacrev), jacfwd(jacfwd), hvp against
  the basis vectors, hessian) against its closed form; vhp equals hvp for a symmetric Hessian.
- chunk_size gives the same Jacobians and Hessians, and lowers the peak memory (tracemalloc).
"""
import gc
import tracemalloc

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.core.tree import tree_flatten, tree_map, tree_unflatten
from chainrule.testing import numerical_jvp

pytestmark = pytest.mark.filterwarnings("error:vmap:UserWarning")  # no op may fall back to a loop


# ---------------------------------------------------------------------------------------------------------
# The finite-difference reference
# ---------------------------------------------------------------------------------------------------------

def fd_jacobian(f, args, argnums=0, has_aux=False):
    """The Jacobian of ``f`` by central differences, nested the way jacfwd/jacrev nest it."""
    if has_aux:
        f_main = lambda *a: f(*a)[0]  # noqa: E731
    else:
        f_main = f
    single = isinstance(argnums, int)
    nums = (argnums,) if single else tuple(argnums)
    dyn = tuple(args[i] for i in nums)

    def partial(*d):
        full = list(args)
        for i, v in zip(nums, d):
            full[i] = v
        return f_main(*full)

    out_leaves, out_tree = tree_flatten(f_main(*args))
    in_leaves, in_tree = tree_flatten(dyn)
    blocks = [[np.zeros(np.shape(o) + np.shape(x)) for x in in_leaves] for o in out_leaves]
    for k, x in enumerate(in_leaves):
        for j in np.ndindex(np.shape(x)):
            basis = [np.zeros(np.shape(v)) for v in in_leaves]
            basis[k][j] = 1.0
            column = numerical_jvp(partial, dyn, tree_unflatten(in_tree, basis))
            for o, col in enumerate(tree_flatten(column)[0]):
                blocks[o][k][(Ellipsis,) + j] = col
    per_out = []
    for row in blocks:
        per_arg = tree_unflatten(in_tree, row)
        per_out.append(per_arg[0] if single else per_arg)
    return tree_unflatten(out_tree, per_out)


def assert_same_tree(got, want, rtol=1e-7, atol=1e-8, dtype=None):
    g_leaves, g_tree = tree_flatten(got)
    w_leaves, w_tree = tree_flatten(want)
    assert g_tree == w_tree, (g_tree, w_tree)
    for g, w in zip(g_leaves, w_leaves):
        assert np.shape(g) == np.shape(w), (np.shape(g), np.shape(w))
        if dtype is not None:
            assert np.asarray(g).dtype == dtype
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)


# ---------------------------------------------------------------------------------------------------------
# Jacobians against finite differences
# ---------------------------------------------------------------------------------------------------------

_r = np.random.default_rng(0)
_A = _r.standard_normal((3, 4))
_x4 = _r.standard_normal(4)
_y3 = _r.standard_normal(3)
_M = _r.standard_normal((2, 3))
_params = {"w": _r.standard_normal((3, 2)), "b": _r.standard_normal(3), "s": np.float64(0.7)}


def _f_vec(x):
    return cnp.sin(_A @ x) * cnp.sum(x ** 2)


def _f_two(x, y):
    return cnp.tanh(_A @ x + y) * y[::-1]


def _f_matrix(m, y):
    return cnp.exp(m * 0.5) @ y * m.T[:, :1]  # (3, 2) @... a (3,)->(2,) product, times a (3, 1) slice


def _f_tree(p, x):
    h = cnp.tanh(p["w"] @ x[:2] + p["b"]) * p["s"]
    return {"h": h, "stats": (cnp.sum(h ** 2), cnp.outer(h, x[:2]))}


def _f_aux(x, y):
    out = cnp.sin(x) * cnp.sum(y)
    return out, {"norm": cnp.sum(x ** 2), "tag": "aux"}


JAC_CASES = [
    ("vector", _f_vec, (_x4,), 0),
    ("scalar-in", lambda t: cnp.stack([cnp.sin(t), t ** 3, cnp.exp(t)]), (np.float64(0.4),), 0),
    ("scalar-out", lambda x: cnp.sum(cnp.cos(x) * x), (_x4,), 0),
    ("scalar-scalar", lambda t: t ** 3 * cnp.sin(t), (np.float64(1.3),), 0),
    ("two-args-argnum0", _f_two, (_x4, _y3), 0),
    ("two-args-argnum1", _f_two, (_x4, _y3), 1),
    ("two-args-argnum-neg", _f_two, (_x4, _y3), -1),
    ("two-args-tuple", _f_two, (_x4, _y3), (0, 1)),
    ("two-args-tuple-reversed", _f_two, (_x4, _y3), (1, 0)),
    ("two-args-tuple-single", _f_two, (_x4, _y3), (1,)),
    ("matrix-in", lambda m: cnp.sum(cnp.sin(m), axis=0) * m[0], (_M,), 0),
    ("matrix-out", lambda x: cnp.outer(cnp.sin(x), x[:2]), (_x4,), 0),
    ("matrix-in-out", lambda m: cnp.tanh(m.T @ m), (_M,), 0),
    ("pytree-in", _f_tree, (_params, _x4), 0),
    ("pytree-in-tuple", _f_tree, (_params, _x4), (0, 1)),
    ("pytree-out-arg1", _f_tree, (_params, _x4), 1),
    ("list-out", lambda x: [x[0] * x[1], cnp.cumsum(x)], (_x4,), 0),
    ("tuple-arg", lambda t: cnp.sin(t[0]) * cnp.sum(t[1]), ((_y3, _x4),), 0),
]


@pytest.mark.parametrize("jac", [cr.jacfwd, cr.jacrev], ids=["jacfwd", "jacrev"])
@pytest.mark.parametrize("name,f,args,argnums", JAC_CASES, ids=[c[0] for c in JAC_CASES])
def test_jacobian_against_finite_differences(jac, name, f, args, argnums):
    got = jac(f, argnums=argnums)(*args)
    assert_same_tree(got, fd_jacobian(f, args, argnums), rtol=1e-6, atol=1e-7, dtype=np.float64)


@pytest.mark.parametrize("name,f,args,argnums", JAC_CASES, ids=[c[0] for c in JAC_CASES])
def test_jacfwd_equals_jacrev(name, f, args, argnums):
    assert_same_tree(cr.jacfwd(f, argnums=argnums)(*args), cr.jacrev(f, argnums=argnums)(*args),
                     rtol=1e-12, atol=1e-14)


def test_jacobian_nesting_follows_jax():
    """Output structure outside, argument structure inside, blocks of shape out.shape + in.shape."""
    for jac in (cr.jacfwd, cr.jacrev):
        j = jac(_f_tree, argnums=(0, 1))(_params, _x4)
        assert set(j) == {"h", "stats"}
        h_wrt_params, h_wrt_x = j["h"]
        assert set(h_wrt_params) == {"w", "b", "s"}
        assert h_wrt_params["w"].shape == (3, 3, 2)
        assert h_wrt_params["b"].shape == (3, 3)
        assert h_wrt_params["s"].shape == (3,)
        assert h_wrt_x.shape == (3, 4)
        (sq_p, sq_x), (outer_p, outer_x) = j["stats"]
        assert sq_p["w"].shape == (3, 2) and sq_x.shape == (4,)
        assert outer_p["w"].shape == (3, 2, 3, 2) and outer_x.shape == (3, 2, 4)
        # a one-element argnums tuple keeps the tuple
        j = jac(_f_two, argnums=(1,))(_x4, _y3)
        assert isinstance(j, tuple) and len(j) == 1 and j[0].shape == (3, 3)
        # a scalar function of a scalar gives a scalar
        assert np.shape(jac(lambda t: t ** 2)(np.float64(3.0))) == ()
        # closed forms: d(x0 x1)/dx = (x1, x0); d(A x)/dx = A
        np.testing.assert_allclose(jac(lambda x: x[0] * x[1])(np.array([2.0, 3.0])), [3.0, 2.0])
        np.testing.assert_allclose(jac(lambda x: _A @ x)(_x4), _A, rtol=1e-14)


@pytest.mark.parametrize("jac", [cr.jacfwd, cr.jacrev], ids=["jacfwd", "jacrev"])
def test_jacobian_has_aux(jac):
    for argnums in (0, (0, 1)):
        j, aux = jac(_f_aux, argnums=argnums, has_aux=True)(_x4, _y3)
        assert_same_tree(j, fd_jacobian(_f_aux, (_x4, _y3), argnums, has_aux=True), rtol=1e-6, atol=1e-7)
        assert aux["tag"] == "aux"
        assert not isinstance(aux["norm"], cr.core.trace.Tracer)
        np.testing.assert_allclose(aux["norm"], np.sum(_x4 ** 2), rtol=1e-14)
    # closed form: d sin(x) sum(y) / dx = diag(cos x) sum(y)
    j, _ = jac(_f_aux, has_aux=True)(_x4, _y3)
    np.testing.assert_allclose(j, np.diag(np.cos(_x4)) * _y3.sum(), rtol=1e-13)


@pytest.mark.parametrize("jac", [cr.jacfwd, cr.jacrev], ids=["jacfwd", "jacrev"])
def test_jacobian_float32(jac):
    x = _x4.astype(np.float32)
    a32 = _A.astype(np.float32)
    f = lambda x: cnp.sin(a32 @ x) * cnp.sum(x ** 2)  # noqa: E731 - float32 throughout
    j = jac(f)(x)
    assert j.dtype == np.float32 and j.shape == (3, 4)
    np.testing.assert_allclose(j, jac(_f_vec)(_x4), rtol=1e-4, atol=1e-5)
    j = jac(_f_tree, argnums=(0, 1))(tree_map(lambda a: np.asarray(a, np.float32), _params), x)
    assert all(np.asarray(leaf).dtype == np.float32 for leaf in tree_flatten(j)[0])


@pytest.mark.parametrize("jac", [cr.jacfwd, cr.jacrev], ids=["jacfwd", "jacrev"])
def test_jacobian_errors(jac):
    name = jac.__name__
    with pytest.raises(TypeError, match=f"{name} requires real- or complex-valued inputs.*int64"):
        jac(lambda x: x * 2)(np.arange(3))
    with pytest.raises(ValueError, match="argnums 2 is out of range for a function called with 2 positional"):
        jac(_f_two, argnums=2)(_x4, _y3)


# ---------------------------------------------------------------------------------------------------------
# One Hessian, six ways
# ---------------------------------------------------------------------------------------------------------

_B = _r.standard_normal((4, 4))


def _f_scalar(x):
    return cnp.sum(cnp.sin(x) * (_B @ x)) + cnp.sum(x ** 3) * x[0]


def _hessian_closed_form(x):
    # f = sum_i sin(x_i) (Bx)_i + x_0 sum_i x_i^3
    bx = _B @ x
    h = np.diag(-np.sin(x) * bx) + np.cos(x)[:, None] * _B + (np.cos(x)[:, None] * _B).T
    h += np.diag(6 * x * x[0])
    h[0, :] += 3 * x ** 2
    h[:, 0] += 3 * x ** 2
    return h


def test_hessian_six_ways_against_the_closed_form():
    x = _x4
    want = _hessian_closed_form(x)
    n = x.size
    ways = {
        "jacfwd(jacrev)": cr.jacfwd(cr.jacrev(_f_scalar))(x),
        "jacrev(jacfwd)": cr.jacrev(cr.jacfwd(_f_scalar))(x),
        "jacrev(jacrev)": cr.jacrev(cr.jacrev(_f_scalar))(x),
        "jacfwd(jacfwd)": cr.jacfwd(cr.jacfwd(_f_scalar))(x),
        "hvp on the basis": np.stack([cr.hvp(_f_scalar, (x,), (e,)) for e in np.eye(n)], axis=1),
        "hessian": cr.hessian(_f_scalar)(x),
    }
    for name, h in ways.items():
        assert np.shape(h) == (n, n), name
        np.testing.assert_allclose(h, want, rtol=1e-12, atol=1e-12, err_msg=name)
    # the closed form is right: against finite differences of the gradient
    fd = fd_jacobian(cr.grad(_f_scalar), (x,))
    np.testing.assert_allclose(want, fd, rtol=1e-6, atol=1e-6)


def test_vhp_equals_hvp_for_a_symmetric_hessian():
    rng = np.random.default_rng(1)
    x, v = _x4, rng.standard_normal(4)
    hv = cr.hvp(_f_scalar, (x,), (v,))
    vh = cr.vhp(_f_scalar, (x,), (v,))
    np.testing.assert_allclose(vh, hv, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(hv, _hessian_closed_form(x) @ v, rtol=1e-12, atol=1e-12)
    # several arguments: products keep the arguments' structure
    f2 = lambda a, b: cnp.sum(cnp.sin(a) * b ** 2)  # noqa: E731
    a, b = rng.standard_normal(3), rng.standard_normal(3)
    ta, tb = rng.standard_normal(3), rng.standard_normal(3)
    hv = cr.hvp(f2, (a, b), (ta, tb))
    vh = cr.vhp(f2, (a, b), (ta, tb))
    # H = [[-sin(a) b^2, 2 b cos a], [2 b cos a, 2 sin a]] (diagonal blocks)
    want_a = -np.sin(a) * b ** 2 * ta + 2 * b * np.cos(a) * tb
    want_b = 2 * b * np.cos(a) * ta + 2 * np.sin(a) * tb
    for got in (hv, vh):
        np.testing.assert_allclose(got[0], want_a, rtol=1e-12)
        np.testing.assert_allclose(got[1], want_b, rtol=1e-12)


def test_hessian_of_a_pytree_function():
    """hessian of f(params) nests {k1: {k2: block}} with blocks of shape k1.shape + k2.shape."""
    p = {"a": np.array([0.3, -0.8]), "c": np.float64(1.7)}

    def f(p):
        return cnp.sum(p["a"] ** 2) * p["c"] ** 3

    h = cr.hessian(f)(p)
    assert set(h) == {"a", "c"} and set(h["a"]) == {"a", "c"}
    a, c = p["a"], p["c"]
    np.testing.assert_allclose(h["a"]["a"], 2 * c ** 3 * np.eye(2), rtol=1e-13)
    np.testing.assert_allclose(h["a"]["c"], 6 * a * c ** 2, rtol=1e-13)
    np.testing.assert_allclose(h["c"]["a"], 6 * a * c ** 2, rtol=1e-13)
    np.testing.assert_allclose(h["c"]["c"], 6 * c * np.sum(a ** 2), rtol=1e-13)
    # argnums tuple: ((H00, H01), (H10, H11))
    h = cr.hessian(lambda x, y: cnp.sum(x ** 2 * y), argnums=(0, 1))(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    np.testing.assert_allclose(h[0][0], np.diag([6.0, 8.0]))
    np.testing.assert_allclose(h[0][1], np.diag([2.0, 4.0]))
    np.testing.assert_allclose(h[1][0], np.diag([2.0, 4.0]))
    np.testing.assert_allclose(h[1][1], np.zeros((2, 2)))
    # has_aux
    h, aux = cr.hessian(lambda x: (cnp.sum(x ** 3), x * 2), has_aux=True)(np.array([1.0, 2.0]))
    np.testing.assert_allclose(h, np.diag([6.0, 12.0]))
    np.testing.assert_allclose(aux, [2.0, 4.0])


# ---------------------------------------------------------------------------------------------------------
# chunk_size
# ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("chunk_size", [1, 3, 4, 100])
def test_chunk_size_gives_the_same_jacobians(chunk_size):
    args = (_params, _x4)
    for jac in (cr.jacfwd, cr.jacrev):
        ref = jac(_f_tree, argnums=(0, 1))(*args)
        got = jac(_f_tree, argnums=(0, 1), chunk_size=chunk_size)(*args)
        assert_same_tree(got, ref, rtol=1e-14, atol=1e-15)
    ref = cr.hessian(_f_scalar)(_x4)
    np.testing.assert_allclose(cr.hessian(_f_scalar, chunk_size=chunk_size)(_x4), ref, rtol=1e-14, atol=1e-15)
    j, aux = cr.jacrev(_f_aux, has_aux=True, chunk_size=chunk_size)(_x4, _y3)
    np.testing.assert_allclose(j, cr.jacrev(_f_aux, has_aux=True)(_x4, _y3)[0], rtol=1e-14)


_N = 128
_W = np.random.default_rng(2).standard_normal((_N, _N)) / _N


def _wide(x):
    """R^N -> R^N whose Jacobian row (or column) costs an N x N intermediate."""
    return cnp.sum(cnp.tanh(cnp.outer(x, x) + _W) * _W, axis=1)


def _peak_bytes(fn, *args):
    gc.collect()
    tracemalloc.start()
    try:
        out = fn(*args)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak, out


@pytest.mark.parametrize("name", ["jacfwd", "jacrev", "hessian"])
def test_chunking_lowers_peak_memory(name):
    x = np.random.default_rng(3).standard_normal(_N) * 0.5
    if name == "hessian":
        f, make = (lambda x: cnp.sum(_wide(x))), cr.hessian
    else:
        f, make = _wide, getattr(cr, name)
    peak_all, j_all = _peak_bytes(make(f), x)
    peak_chunked, j_chunked = _peak_bytes(make(f, chunk_size=8), x)
    np.testing.assert_allclose(j_chunked, j_all, rtol=1e-13, atol=1e-15)
    # Unchunked, the N rows' N x N intermediates (8 * N**3 bytes each) live at once; chunked, 8 rows' do.
    assert peak_all > 8 * _N ** 3
    assert peak_chunked < 0.5 * peak_all, (peak_chunked, peak_all)
