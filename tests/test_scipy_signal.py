"""chainrule.scipy.signal: convolve/correlate against scipy.signal for every mode and method, 1-D to 3-D, odd and
even sizes, swapped 'valid' inputs and complex values; derivatives to order 2 in forward and reverse mode (the
rules are convolutions again, so higher orders are exercised like the first); vmap against a loop; float32."""
import numpy as np
import pytest

pytest.importorskip("scipy")
import scipy.signal as ss

import chainrule as cr
import chainrule.scipy.signal as csig
from chainrule.testing import check_grads, check_vmap

RNG = np.random.default_rng(0)

SHAPES = [((7,), (3,)), ((6,), (4,)), ((3,), (5,)), ((5, 4), (2, 3)), ((4, 6), (3, 2)), ((3, 4, 5), (2, 2, 3))]


@pytest.mark.parametrize("fname", ["convolve", "correlate"])
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("s1,s2", SHAPES, ids=[f"{a}x{b}" for a, b in SHAPES])
def test_values(fname, mode, s1, s2):
    x, y = RNG.standard_normal(s1), RNG.standard_normal(s2)
    ours, ref = getattr(csig, fname), getattr(ss, fname)
    for method in ("direct", "fft"):
        np.testing.assert_allclose(ours(x, y, mode, method), ref(x, y, mode, method), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("fname", ["convolve", "correlate"])
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_complex_values(fname, mode):
    x = RNG.standard_normal((5, 3)) + 1j * RNG.standard_normal((5, 3))
    y = RNG.standard_normal((2, 3)) + 1j * RNG.standard_normal((2, 3))
    ours, ref = getattr(csig, fname), getattr(ss, fname)
    np.testing.assert_allclose(ours(x, y, mode), ref(x, y, mode), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours(y, x, mode), ref(y, x, mode), rtol=1e-10, atol=1e-12)
    # first order, both modes: the rules are the real case's (checked to order 2 below) plus a linear conj
    check_grads(lambda a, b: ours(a, b, mode), (x, y), order=1)


@pytest.mark.parametrize("fname", ["convolve", "correlate"])
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("s1,s2", [((6,), (3,)), ((3,), (4,)), ((4, 3), (2, 3))])
def test_derivatives(fname, mode, s1, s2):
    f = getattr(csig, fname)
    x, y = RNG.standard_normal(s1), RNG.standard_normal(s2)
    check_grads(lambda a, b: f(a, b, mode), (x, y), order=2)


def test_closed_form_gradient():
    # d/dx sum(w * convolve(x, y, 'valid')) is correlate(w, y, 'full')
    x, y = RNG.standard_normal(8), RNG.standard_normal(3)
    w = RNG.standard_normal(6)
    g = cr.grad(lambda a: (w * csig.convolve(a, y, "valid")).sum())(x)
    np.testing.assert_allclose(g, ss.correlate(w, y, "full"), rtol=1e-12)


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_vmap(mode):
    xs, ys = RNG.standard_normal((4, 6, 3)), RNG.standard_normal((4, 2, 3))
    check_vmap(lambda a, b: csig.convolve(a, b, mode), (xs, ys))
    check_vmap(lambda a, b: csig.correlate(a, b, mode), (xs, ys[0]), in_axes=(0, None))
    check_vmap(lambda a, b: csig.convolve(a, b, mode), (xs[0], ys), in_axes=(None, 0))
    check_vmap(cr.grad(lambda a, b: (csig.convolve(a, b, mode) ** 2).sum(), argnums=(0, 1)), (xs, ys))


def test_float32_and_promotion():
    x, y = RNG.standard_normal(6).astype(np.float32), RNG.standard_normal(3).astype(np.float32)
    assert csig.convolve(x, y).dtype == np.float32
    gx, gy = cr.grad(lambda a, b: csig.correlate(a, b, "same").sum(), argnums=(0, 1))(x, y)
    assert gx.dtype == gy.dtype == np.float32
    gx = cr.grad(lambda a: csig.convolve(a, y.astype(np.float64)).sum())(x)
    assert gx.dtype == np.float32


def test_scalars_and_fftconvolve():
    assert float(csig.convolve(np.float64(2.0), np.float64(3.0))) == 6.0
    x, y = RNG.standard_normal((4, 4)), RNG.standard_normal((2, 3))
    np.testing.assert_allclose(csig.fftconvolve(x, y, "same"), ss.fftconvolve(x, y, "same"), rtol=1e-10)


def test_errors():
    with pytest.raises(ValueError, match=r"convolve: in1 and in2 should have the same dimensionality, got shapes "
                                         r"\(3,\) and \(2, 2\)"):
        csig.convolve(np.ones(3), np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"for 'valid' mode, one must be at least as large as the other in every "
                                         r"dimension, got shapes \(3, 2\) and \(2, 3\)"):
        csig.convolve(np.ones((3, 2)), np.ones((2, 3)), "valid")
    with pytest.raises(ValueError, match="correlate: acceptable mode flags"):
        csig.correlate(np.ones(3), np.ones(2), "middle")
    with pytest.raises(ValueError, match="convolve: acceptable method flags"):
        csig.convolve(np.ones(3), np.ones(2), method="slow")
