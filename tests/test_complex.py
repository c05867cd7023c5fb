"""Complex numbers end to end: elementwise ops, reductions, products and the NumPy breadth on complex inputs and
outputs, in forward and reverse mode to order 2 and under vmap, and the gradient convention.

The convention (HIPS autograd's and JAX's, docs/complex.md): cotangents pair with tangents bilinearly,
``<u, v> = sum(Re(u * v))``, which is the pairing ``chainrule.testing.check_vjp`` uses; so for a real-valued
``f(z)`` with ``z = x + iy``, ``grad(f)(z) = df/dx - i df/dy``, and for a holomorphic ``f``, ``vjp`` with
cotangent 1 gives ``f'(z)``. Both facts are checked against finite differences taken separately along the
real and imaginary axes.
"""
import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.interpreters import batching
from chainrule.testing import check_grads, check_vmap

pytestmark = pytest.mark.filterwarnings("error:vmap:UserWarning")


@pytest.fixture(autouse=True)
def _fresh_fallback_warnings(monkeypatch):
    monkeypatch.setattr(batching, "_warned", set())


def _c(shape, lo=0.3, hi=0.9, seed=0, quadrant=1):
    """Complex test values with real and imaginary parts in [lo, hi] (signs by ``quadrant``)."""
    r = np.random.default_rng(seed + 11 * len(shape) + sum(shape))
    re, im = r.uniform(lo, hi, shape), r.uniform(lo, hi, shape)
    sx, sy = {1: (1, 1), 2: (-1, 1), 3: (-1, -1), 4: (1, -1)}[quadrant]
    return sx * re + 1j * sy * im


CASES = []


def case(id, f, args, order=2, vmap=True):
    CASES.append((id, f, tuple(args), order, vmap))


Z23, W23 = _c((2, 3)), _c((2, 3), seed=1, quadrant=4)

UNARY = ["exp", "expm1", "log", "log1p", "log2", "log10", "sqrt", "square", "reciprocal", "sin", "cos", "tan",
         "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh", "negative",
         "positive", "exp2", "sinc", "abs", "absolute", "real", "imag", "conj", "conjugate", "angle", "sign"]
for _name in UNARY:
    for _s in [(), (2, 3)]:
        case(f"{_name}-{_s}", getattr(cnp, _name), [_c(_s, seed=2)])
case("abs-third-quadrant", cnp.abs, [_c((3,), quadrant=3)])
case("angle-deg-second-quadrant", lambda z: cnp.angle(z, deg=True), [_c((3,), quadrant=2)])

for _name in ["add", "subtract", "multiply", "divide", "true_divide", "power", "float_power"]:
    case(f"{_name}", getattr(cnp, _name), [Z23, W23])
    case(f"{_name}-bcast", getattr(cnp, _name), [_c((3,), seed=3), W23])
case("mixed-real-complex", lambda x, z: x * z + x / z, [np.array([0.5, -1.2, 2.0]), Z23])
case("power-real-exponent", lambda z: z ** 2.5 + z ** 3 + 2.0 ** z, [Z23])
case("where", lambda z, w: cnp.where(np.array([True, False, True]), z, w), [Z23, W23])
case("operators", lambda z: (z * 1j - 2) / (z + 3) * z.conj() + z.real * z.imag, [Z23])

for _name in ["sum", "prod", "mean", "var", "std"]:
    for _ax in [None, 0, 1, (0, 1)]:
        for _kd in [False, True]:
            case(f"{_name}-axis{_ax}-kd{_kd}",
                 lambda z, _f=getattr(cnp, _name), _ax=_ax, _kd=_kd: _f(z, axis=_ax, keepdims=_kd), [Z23])
case("var-ddof1", lambda z: cnp.var(z, axis=1, ddof=1), [Z23])
for _name in ["cumsum", "cumprod"]:
    for _ax in [None, 0, 1]:
        case(f"{_name}-axis{_ax}", lambda z, _f=getattr(cnp, _name), _ax=_ax: _f(z, axis=_ax), [Z23])
case("cumprod-with-zero", lambda z: cnp.cumprod(z), [np.array([0.5 + 1j, 0.0, 2 - 1j])], order=1)
case("average-weights", lambda z, w: cnp.average(z, axis=1, weights=w), [Z23, np.array([0.5, 1.0, 2.0])])
case("nansum-nanmean", lambda z: cnp.nansum(z) + cnp.nanmean(z, axis=0), [Z23])
case("logsumexp-free", lambda z: cnp.log(cnp.sum(cnp.exp(z))), [Z23])

case("matmul", lambda a, b: a @ b.T, [Z23, W23])
case("dot", lambda a, b: cnp.dot(a, b.T), [Z23, W23])
case("einsum", lambda a, b: cnp.einsum("ij,kj->ik", a, b), [Z23, W23])
case("vdot", cnp.vdot, [Z23, W23])
case("inner", cnp.inner, [Z23, W23])
case("outer", cnp.outer, [Z23[0], W23[1]])
case("tensordot", lambda a, b: cnp.tensordot(a, b, axes=([1], [1])), [Z23, W23])
case("trace-diagonal", lambda a: cnp.trace(a[:, :2]) + cnp.sum(cnp.diagonal(a)), [Z23])
case("vecdot", cnp.vecdot, [Z23, W23])
case("kron", cnp.kron, [Z23[0], W23[1]])
case("cross", cnp.cross, [Z23, W23])
case("convolve", lambda a, b: cnp.convolve(a[0], b[1], "full"), [Z23, W23])
case("correlate", lambda a, b: cnp.correlate(a[0], b[1, :2], "full"), [Z23, W23])

case("reshape-transpose-flip", lambda z: cnp.flip(cnp.transpose(cnp.reshape(z, (3, 2))), 0), [Z23])
case("concatenate-stack", lambda z, w: cnp.concatenate([z, cnp.stack([w[0], w[1]])], axis=1), [Z23, W23])
case("getitem-index-update", lambda z, w: cnp.at(z)[0, [0, 2]].set(w[1, :2] * 2)[:, 1:], [Z23, W23])
case("roll-rot90-triu", lambda z: cnp.triu(cnp.rot90(cnp.roll(z, 1, axis=1))), [Z23])
case("sort", lambda z: cnp.sort(z, axis=1), [Z23])
case("interp-complex-values", lambda fp: cnp.interp(np.array([0.5, 1.7]), np.array([0.0, 1.0, 2.0]), fp),
     [Z23[0]])
case("nan_to_num", cnp.nan_to_num, [Z23])
case("linspace", lambda a, b: cnp.linspace(a, b, 4), [Z23[0, 0], W23[0, 0]])
case("cov", cnp.cov, [Z23])
case("diff-gradient-trapezoid", lambda z: cnp.diff(z) @ np.ones(2) + cnp.sum(cnp.gradient(z, axis=1), axis=1)
     + cnp.trapezoid(z), [Z23])
case("fft", lambda z: cnp.fft.fft(z, axis=1), [Z23])
case("linalg-solve", lambda a, b: cnp.linalg.solve(a[:, :2] + 2 * np.eye(2), b[:, 0]), [Z23, W23])

IDS = [c[0] for c in CASES]
assert len(set(IDS)) == len(IDS)


@pytest.mark.parametrize("id,f,args,order,vmap", CASES, ids=IDS)
def test_grads(id, f, args, order, vmap):
    check_grads(f, args, order=order, modes=("fwd", "rev"))


@pytest.mark.parametrize("id,f,args,order,vmap", [c for c in CASES if c[4]], ids=[c[0] for c in CASES if c[4]])
def test_vmap(id, f, args, order, vmap):
    batched = tuple(np.stack([a, a * (1.02 - 0.01j)]) if np.iscomplexobj(a) else np.stack([a, a * 1.01])
                    for a in map(np.asarray, args))
    check_vmap(f, batched, atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize("name", ["exp", "sin", "sqrt", "log", "abs", "real", "imag", "conj", "angle", "sum",
                                  "var", "tanh"])
def test_values_match_numpy(name):
    z = _c((2, 3), seed=4, quadrant=2)
    want = getattr(np, name)(z)
    got = getattr(cnp, name)(z)
    out, _ = cr.vjp(getattr(cnp, name), z)
    np.testing.assert_allclose(got, want, rtol=1e-14)
    np.testing.assert_allclose(out, want, rtol=1e-14)
    assert np.asarray(out).dtype == np.asarray(want).dtype


def _fd_grad_complex(f, z, eps=1e-6):
    """``df/dx - i df/dy`` for a real-valued ``f`` of a complex array, by central differences."""
    g = np.zeros_like(z)
    for i in np.ndindex(z.shape):
        e = np.zeros_like(z)
        e[i] = eps
        dx = (f(z + e) - f(z - e)) / (2 * eps)
        dy = (f(z + 1j * e) - f(z - 1j * e)) / (2 * eps)
        g[i] = dx - 1j * dy
    return g


REAL_VALUED = [
    ("abs-squared", lambda z: cnp.sum(cnp.abs(z) ** 2)),
    ("abs", lambda z: cnp.sum(cnp.abs(z))),
    ("real-of-holomorphic", lambda z: cnp.sum(cnp.real(cnp.sin(z) * cnp.exp(z)))),
    ("imag", lambda z: cnp.sum(cnp.imag(z ** 3))),
    ("angle", lambda z: cnp.sum(cnp.angle(z) * cnp.abs(z))),
    ("var", lambda z: cnp.var(z)),
    ("conj-product", lambda z: cnp.sum(cnp.real(z * cnp.conj(z) * z[0]))),
    ("vdot-norm", lambda z: cnp.real(cnp.vdot(z, z))),
    ("linalg-norm", lambda z: cnp.linalg.norm(z)),
]


@pytest.mark.parametrize("name,f", REAL_VALUED, ids=[r[0] for r in REAL_VALUED])
def test_gradient_convention_for_real_valued_functions(name, f):
    z = _c((4,), seed=5, quadrant=2)
    g = cr.grad(f)(z)
    assert g.dtype == z.dtype and g.shape == z.shape
    np.testing.assert_allclose(g, _fd_grad_complex(lambda v: float(f(v)), z), rtol=1e-6, atol=1e-8)
    # The steepest-ascent direction is the conjugate: a small step along conj(g) increases f by ~|g|^2 * step.
    step = 1e-6
    gain = f(z + step * np.conj(g)) - f(z)
    np.testing.assert_allclose(gain, step * np.sum(np.abs(g) ** 2), rtol=1e-4)


HOLOMORPHIC = [
    ("sin", cnp.sin, np.cos), ("exp-square", lambda z: cnp.exp(z ** 2), lambda z: 2 * z * np.exp(z ** 2)),
    ("log", cnp.log, lambda z: 1 / z), ("rational", lambda z: (z + 1) / (z - 2), lambda z: -3 / (z - 2) ** 2),
    ("sqrt", cnp.sqrt, lambda z: 0.5 / np.sqrt(z)), ("power", lambda z: z ** (1.5 + 0.5j),
                                                      lambda z: (1.5 + 0.5j) * z ** (0.5 + 0.5j)),
]


@pytest.mark.parametrize("name,f,df", HOLOMORPHIC, ids=[h[0] for h in HOLOMORPHIC])
def test_holomorphic_derivatives(name, f, df):
    z = 0.4 + 0.9j
    np.testing.assert_allclose(cr.holomorphic_grad(f)(z), df(z), rtol=1e-12)
    _, f_vjp = cr.vjp(f, z)
    np.testing.assert_allclose(f_vjp(1.0 + 0j)[0], df(z), rtol=1e-12)
    _, t = cr.jvp(f, (z,), (1.0 + 0j,))
    np.testing.assert_allclose(t, df(z), rtol=1e-12)
    # The finite-difference derivative along any direction agrees: f'(z) is a complex number.
    eps = 1e-7
    for d in (1.0, 1j, (1 + 1j) / np.sqrt(2)):
        np.testing.assert_allclose((f(z + eps * d) - f(z - eps * d)) / (2 * eps * d), df(z), rtol=1e-6)


def test_real_input_through_complex_intermediates():
    x = np.array([0.3, -1.1, 0.7])

    def f(x):
        w = cnp.exp(1j * x) * (1 + 2j)
        return cnp.sum(cnp.abs(w + x) ** 2 + cnp.real(w) * cnp.imag(w))

    g = cr.grad(f)(x)
    assert g.dtype == np.float64
    from chainrule.testing import numerical_grad
    np.testing.assert_allclose(g, numerical_grad(f, x), rtol=1e-6)
    check_grads(f, (x,), order=2)


def test_single_precision_complex_stays_single():
    z = _c((3,), seed=6).astype(np.complex64)
    for f in [cnp.exp, cnp.abs, cnp.real, lambda z: z * 2.0, lambda z: cnp.sum(z), cnp.angle, cnp.var]:
        out = f(z)
        assert np.asarray(out).dtype in (np.complex64, np.float32), f
        g = cr.grad(lambda z: cnp.sum(cnp.abs(f(z))))(z)
        assert g.dtype == np.complex64


def test_jvp_of_non_holomorphic_functions_is_real_linear():
    z = np.array([0.6 + 0.8j])
    for f in [cnp.abs, cnp.conj, cnp.angle, cnp.real, lambda z: z * cnp.conj(z)]:
        t1 = cr.jvp(f, (z,), (np.array([1.0 + 0j]),))[1]
        ti = cr.jvp(f, (z,), (np.array([1j]),))[1]
        t = cr.jvp(f, (z,), (np.array([2.0 - 3j]),))[1]
        np.testing.assert_allclose(t, 2 * t1 - 3 * ti, rtol=1e-12)
    # |z|: d|z| = Re(conj(z) dz) / |z|
    np.testing.assert_allclose(cr.jvp(cnp.abs, (z,), (np.array([1j]),))[1], [0.8])


def test_grad_of_complex_output_raises():
    with pytest.raises(TypeError, match="real-valued outputs"):
        cr.grad(lambda z: cnp.sum(z * z))(Z23)
