"""chainrule.numpy.fft: values and dtypes against NumPy, derivatives against finite differences to second order in
forward and reverse mode for every transform with ``n``/``s`` padding and cropping, odd and even lengths, several
axes and the three norms, real and complex input; closed forms (the VJP of an FFT is an FFT; Parseval), HIPS
autograd on a real-input pipeline, vmap against a loop, float32/complex64 kept, and errors."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
import chainrule.numpy.fft as cfft
from chainrule.testing import check_grads, check_vmap

MODES = ("fwd", "rev")
NORMS = [None, "ortho", "forward"]
pytestmark = pytest.mark.filterwarnings("error:vmap:UserWarning")


def rand(shape, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed + 7 * len(shape) + sum(shape))
    x = rng.standard_normal(shape)
    if np.issubdtype(dtype, np.complexfloating):
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(dtype)


def check_all(f, want_fn, x):
    """Value and dtype against NumPy (plain and traced), then derivatives to order 2 in both modes."""
    want = want_fn(x)
    for got in (f(x), cr.vjp(f, x)[0]):
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    check_grads(f, (x,), order=2, modes=MODES)


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("n", [None, 3, 4, 8, 7])
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("name", ["fft", "ifft", "irfft", "hfft"])
def test_1d_complex_input(name, dtype, n, norm):
    x = rand((2, 5), dtype)
    check_all(lambda x: getattr(cfft, name)(x, n, norm=norm), lambda x: getattr(np.fft, name)(x, n, norm=norm), x)
    y = rand((5, 2), dtype, 1)  # along axis 0
    check_all(lambda y: getattr(cfft, name)(y, n, axis=0, norm=norm),
              lambda y: getattr(np.fft, name)(y, n, axis=0, norm=norm), y)


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("n", [None, 3, 4, 8, 7])
@pytest.mark.parametrize("length", [5, 6])
@pytest.mark.parametrize("name", ["rfft", "ihfft"])
def test_1d_real_input(name, length, n, norm):
    x = rand((2, length))
    check_all(lambda x: getattr(cfft, name)(x, n, norm=norm), lambda x: getattr(np.fft, name)(x, n, norm=norm), x)


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("s", [None, (3, 4), (4, 5), (2, 6)])
def test_nd(s, norm):
    z = rand((3, 2, 4), np.complex128)
    x = rand((3, 2, 5))
    for name, arg in [("fftn", z), ("ifftn", z), ("rfftn", x), ("irfftn", z)]:
        check_all(lambda a: getattr(cfft, name)(a, s, axes=(0, 2), norm=norm),
                  lambda a: getattr(np.fft, name)(a, s, axes=(0, 2), norm=norm), arg)
    for name, arg in [("fft2", z), ("ifft2", z), ("rfft2", x), ("irfft2", z)]:
        check_all(lambda a: getattr(cfft, name)(a, s, norm=norm), lambda a: getattr(np.fft, name)(a, s, norm=norm),
                  arg)


def test_nd_defaults():
    z = rand((2, 3, 4), np.complex128)
    x = rand((2, 3, 5))
    check_all(cfft.fftn, np.fft.fftn, z)
    check_all(cfft.ifftn, np.fft.ifftn, z)
    check_all(cfft.rfftn, np.fft.rfftn, x)
    check_all(cfft.irfftn, np.fft.irfftn, z)
    check_all(lambda z: cfft.fftn(z, axes=(2, 0)), lambda z: np.fft.fftn(z, axes=(2, 0)), z)
    check_all(lambda x: cfft.rfftn(x, axes=(2, 0)), lambda x: np.fft.rfftn(x, axes=(2, 0)), x)
    check_all(lambda z: cfft.irfftn(z, s=(3, -1), axes=(0, 1)),
              lambda z: np.fft.irfftn(z, s=(3, 4), axes=(0, 1)), z)
    check_all(lambda z: cfft.fftn(z, axes=(1, 1)), lambda z: np.fft.fftn(z, axes=(1, 1)), z)  # repeated axis


def test_integer_and_real_inputs():
    i = np.arange(6)
    check_all(lambda x: cfft.fft(x * 1.0), np.fft.fft, i)
    assert cfft.fft(i).dtype == np.complex128 and cfft.rfft(i).dtype == np.complex128
    x = rand((6,))
    check_all(cfft.irfft, np.fft.irfft, x)  # a real half spectrum is read as complex


@pytest.mark.parametrize("name", ["fftshift", "ifftshift"])
@pytest.mark.parametrize("axes", [None, 1, (0, 1), -1])
def test_shifts(name, axes):
    check_all(lambda x: getattr(cfft, name)(x, axes), lambda x: getattr(np.fft, name)(x, axes), rand((3, 4, 5)))


def test_freqs_are_numpys():
    np.testing.assert_array_equal(cfft.fftfreq(5, 0.1), np.fft.fftfreq(5, 0.1))
    np.testing.assert_array_equal(cfft.rfftfreq(6), np.fft.rfftfreq(6))


# ---------------------------------------------------------------------------------------------------------
# Closed forms and conventions
# ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("norm", NORMS)
def test_vjp_of_fft_is_fft(norm):
    # The DFT matrix is symmetric, so under the bilinear pairing the VJP of fft (and of ifft) is the same map.
    x, g = rand((6,), np.complex128), rand((6,), np.complex128, 1)
    np.testing.assert_allclose(cr.vjp(lambda x: cfft.fft(x, norm=norm), x)[1](g)[0], np.fft.fft(g, norm=norm),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cr.vjp(lambda x: cfft.ifft(x, norm=norm), x)[1](g)[0], np.fft.ifft(g, norm=norm),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("n", [6, 7])
def test_parseval(n):
    # sum |rfft(x)|^2 weights each interior bin twice in Parseval's identity; with ortho norm and full fft,
    # sum |fft(x)|^2 = sum x^2, so the gradient is 2 x.
    x = rand((n,))
    g = cr.grad(lambda x: cnp.sum(cnp.real(cfft.fft(x, norm="ortho") * cnp.conj(cfft.fft(x, norm="ortho")))))(x)
    np.testing.assert_allclose(g, 2 * x, rtol=1e-12)
    w = np.full(n // 2 + 1, 2.0)
    w[0] = 1
    if n % 2 == 0:
        w[-1] = 1
    f = lambda x: cnp.sum(cnp.real(cfft.rfft(x, norm="ortho") * cnp.conj(cfft.rfft(x, norm="ortho"))) * w)
    np.testing.assert_allclose(cr.grad(f)(x), 2 * x, rtol=1e-12)


def test_matches_autograd():
    ag = pytest.importorskip("autograd")
    anp = pytest.importorskip("autograd.numpy")
    x = rand((3, 8))
    k = rand((3, 5), np.complex128, 1)
    f_cr = lambda x: cnp.sum(cfft.irfft(cfft.rfft(x) * k, 8) ** 2) + cnp.sum(cnp.real(cfft.fft(x) * k[0, 0]))
    f_ag = lambda x: anp.sum(anp.fft.irfft(anp.fft.rfft(x) * k, 8) ** 2) + anp.sum(anp.real(anp.fft.fft(x) * k[0, 0]))
    np.testing.assert_allclose(cr.grad(f_cr)(x), ag.grad(f_ag)(x), rtol=1e-10, atol=1e-12)


def test_complex_gradient_convention():
    # f(z) = |fft(z)_1|^2 = |sum_j z_j w^j|^2 has the JAX/autograd gradient 2 conj(fft(z)_1) w^j (w = e^{-2 pi i/n}),
    # the conjugate of the steepest-ascent direction.
    z = rand((4,), np.complex128)
    g = cr.grad(lambda z: cnp.real(cfft.fft(z)[1] * cnp.conj(cfft.fft(z)[1])))(z)
    w = np.exp(-2j * np.pi * np.arange(4) / 4)
    np.testing.assert_allclose(g, 2 * np.conj(np.fft.fft(z)[1]) * w, rtol=1e-12)


def test_third_order():
    check_grads(lambda x: cfft.irfft(cfft.rfft(x) ** 2), (rand((5,)),), order=3, modes=MODES)


# ---------------------------------------------------------------------------------------------------------
# vmap, float32, errors
# ---------------------------------------------------------------------------------------------------------

VMAP_CASES = [
    ("fft", lambda x: cfft.fft(x, 6), np.complex128, 1),
    ("ifftn", lambda x: cfft.ifftn(x, axes=(0, 1)), np.complex128, 2),
    ("rfft", lambda x: cfft.rfft(x, 5, axis=0), np.float64, 1),
    ("rfft2", cfft.rfft2, np.float64, 0),
    ("irfft", lambda x: cfft.irfft(x, 7), np.complex128, 0),
    ("irfftn", lambda x: cfft.irfftn(x, axes=(1, 0)), np.complex128, 1),
    ("hfft", cfft.hfft, np.complex128, 0),
    ("ihfft", cfft.ihfft, np.float64, 1),
    ("fftshift", cfft.fftshift, np.float64, 1),
]


@pytest.mark.parametrize("name,f,dtype,axis", VMAP_CASES, ids=[c[0] for c in VMAP_CASES])
def test_vmap(name, f, dtype, axis):
    check_vmap(f, (rand((3, 4, 5), dtype),), in_axes=axis, atol=1e-12, rtol=1e-12)


def test_vmap_of_grad():
    f = lambda x: cnp.sum(cfft.irfft(cfft.rfft(x) ** 2, 6))
    check_vmap(cr.grad(f), (rand((3, 6)),), atol=1e-12, rtol=1e-12)


F32_CASES = [
    ("fft", lambda x: cfft.fft(x, 6), np.float32, np.complex64),
    ("fftn", lambda x: cfft.fftn(x, norm="ortho"), np.complex64, np.complex64),
    ("rfft", lambda x: cfft.rfft(x, 5), np.float32, np.complex64),
    ("irfft", lambda x: cfft.irfft(x, 6, norm="forward"), np.complex64, np.float32),
    ("hfft", cfft.hfft, np.complex64, np.float32),
    ("ihfft", cfft.ihfft, np.float32, np.complex64),
    ("irfft2", cfft.irfft2, np.complex64, np.float32),
]


@pytest.mark.parametrize("name,f,dtype,out_dtype", F32_CASES, ids=[c[0] for c in F32_CASES])
def test_single_precision(name, f, dtype, out_dtype):
    x = rand((2, 4), dtype)
    out, f_vjp = cr.vjp(f, x)
    assert out.dtype == out_dtype
    ct, = f_vjp(out)
    assert ct.dtype == dtype and ct.shape == x.shape
    _, t = cr.jvp(f, (x,), (np.ones_like(x),))
    assert t.dtype == out_dtype
    check_grads(f, (x,), order=2, modes=MODES)


def test_errors():
    x = rand((4,))
    with pytest.raises(ValueError, match='Invalid norm value bad; should be "backward", "ortho" or "forward"'):
        cr.grad(lambda x: cnp.real(cfft.fft(x, norm="bad")[0]))(x)
    with pytest.raises(ValueError, match=r"Invalid number of FFT data points \(0\) specified"):
        cr.grad(lambda x: cnp.real(cfft.fft(x, 0)[0]))(x)
    with pytest.raises(TypeError, match="rfft: input must be real, got dtype complex128"):
        cr.grad(lambda z: cnp.real(cfft.rfft(z)[0]))(rand((4,), np.complex128))
    with pytest.raises(ValueError, match=r"fftn: shape s=\(2,\) and axes=\(0, 1\) must have the same length"):
        cr.grad(lambda x: cnp.real(cnp.sum(cfft.fftn(x, (2,), (0, 1)))))(rand((2, 2)))
    with pytest.raises(ValueError, match=r"rfftn: repeated axes \(0, 0\)"):
        cr.grad(lambda x: cnp.real(cnp.sum(cfft.rfftn(x, axes=(0, 0)))))(rand((2, 2)))
    with pytest.raises(AttributeError, match="chainrule.numpy.fft' has no attribute 'nope'"):
        cfft.nope
