"""Discrete Fourier transforms: three linear primitives (complex-to-complex ``fft``, real-to-complex ``rfft``,
complex-to-real ``irfft``, each over any set of axes, with NumPy's ``norm``) and NumPy's ``numpy.fft`` functions
composed on them: ``n``/``s`` padding and cropping are differentiable ``pad``/slice ops applied before the
transform, ``hfft``/``ihfft`` are conjugated ``irfft``/``rfft``, and the shifts are rolls.

Invariants of the primitives (the faces establish them): ``axes`` is a tuple of distinct non-negative axes; the
operand already has the transform's sizes (``irfft_p``'s last axis holds ``n // 2 + 1`` coefficients for ``n``
outputs); ``fft_p`` and ``irfft_p`` take complex operands, ``rfft_p`` real ones.

NOTE: [fft transposes]
Cotangents use the bilinear pairing ``Re(sum(u * v))`` (see NOTE: [complex convention] in ``ops/decomp.py``).
- The DFT matrix is symmetric, so under that pairing ``fft_p`` is its own transpose, for every ``norm`` and for
  the inverse transform alike (no conjugation, no swapping of fft and ifft).
- ``rfft_p`` is a full transform whose negative frequencies are dropped. Its transpose maps a half spectrum ``g``
  to ``Re(sum_k g_k exp(-2 pi i j k / n))`` over the kept ``k`` only, which is the unnormalised c2r transform of
  ``conj(g)`` with the DC term (and the Nyquist term, for even ``n``) weighted 1 and the others 1/2, because c2r
  counts every interior coefficient twice (once for its mirror image). The other axes are full transforms.
- ``irfft_p`` reads each interior coefficient twice and the DC/Nyquist ones once (their imaginary parts are
  ignored), so its transpose is ``conj(rfft(g))`` weighted 1, 2, ..., 2, (1), times the transform's scale.
Odd and even ``n`` differ only in whether a Nyquist coefficient exists.
"""
import numpy as np

from ..core.primitive import Primitive, def_linear
from ..core.trace import Tracer
from ..interpreters.batching import move_to_front
from . import elementwise as E
from . import shape as S
from ._util import as_operand, normalize_axis

__all__ = ["fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2", "irfft2", "rfftn", "irfftn",
           "hfft", "ihfft", "fftshift", "ifftshift", "fftfreq", "rfftfreq"]

_NORMS = ("backward", "ortho", "forward")
_SWAP = {"backward": "forward", "ortho": "ortho", "forward": "backward"}


def _conj(x):
    return E.conjugate(x)


def _scale(norm, n, inverse):
    """The factor a transform of ``n`` points applies under ``norm`` (NumPy: backward scales the inverse)."""
    if norm == "ortho":
        return 1.0 / np.sqrt(n)
    if (norm == "backward") == inverse:
        return 1.0 / n
    return 1.0


def _size(shape, axes):
    n = 1
    for a in axes:
        n *= shape[a]
    return n


def _last_weights(n, dtype, ndim, axis, interior):
    """Weights along the last transformed axis of a half spectrum: 1 for DC (and Nyquist when ``n`` is even),
    ``interior`` for the rest; shaped to broadcast along ``axis`` of an array of rank ``ndim``."""
    k = n // 2 + 1
    w = np.full(k, interior, dtype=np.finfo(dtype).dtype)
    w[0] = 1
    if n % 2 == 0:
        w[-1] = 1
    return w.reshape((k,) + (1,) * (ndim - 1 - axis))


def _shift_axes_batch(prim):
    bind = prim.bind

    def batch(size, vals, dims, axes, **params):
        return bind(move_to_front(vals[0], dims[0]), axes=tuple(a + 1 for a in axes), **params), 0

    prim.batch = batch
    return prim


# --- complex-to-complex -------------------------------------------------------------------------------------

def _fft_impl(x, axes, inverse, norm):
    return (np.fft.ifftn if inverse else np.fft.fftn)(x, axes=axes, norm=norm)


fft_p = _shift_axes_batch(Primitive("fft", _fft_impl))
def_linear(fft_p, lambda g, x, axes, inverse, norm: fft_p.bind(g, axes=axes, inverse=inverse, norm=norm))


# --- real-to-complex ----------------------------------------------------------------------------------------

rfft_p = _shift_axes_batch(Primitive("rfft", lambda x, axes, norm: np.fft.rfftn(x, axes=axes, norm=norm)))


def _rfft_transpose(g, x, axes, norm):
    n = x.shape[axes[-1]]
    w = _last_weights(n, g.dtype, g.ndim, axes[-1], 0.5)
    out = irfft_p.bind(_conj(g) * w, axes=axes, n=n, norm="forward")
    scale = _scale(norm, _size(x.shape, axes), False)
    return out if scale == 1.0 else out * scale


def_linear(rfft_p, _rfft_transpose)


# --- complex-to-real ----------------------------------------------------------------------------------------

def _irfft_impl(x, axes, n, norm):
    s = tuple(x.shape[a] for a in axes[:-1]) + (n,)
    return np.fft.irfftn(x, s=s, axes=axes, norm=norm)


irfft_p = _shift_axes_batch(Primitive("irfft", _irfft_impl))


def _irfft_transpose(g, x, axes, n, norm):
    w = _last_weights(n, g.dtype, g.ndim, axes[-1], 2.0)
    total = _size(x.shape, axes[:-1]) * n
    scale = _scale(norm, total, True)
    out = _conj(rfft_p.bind(g, axes=axes, norm="backward")) * w
    return out if scale == 1.0 else out * scale


def_linear(irfft_p, _irfft_transpose)


# ---------------------------------------------------------------------------------------------------------
# Faces
# ---------------------------------------------------------------------------------------------------------

def _norm(norm):
    if norm is None:
        return "backward"
    if norm not in _NORMS:
        raise ValueError(f'Invalid norm value {norm}; should be "backward", "ortho" or "forward".')
    return norm


def _operand(a):
    a = as_operand(a)
    return a if isinstance(a, Tracer) else np.asarray(a)


def _complex_dtype(dtype):
    return np.result_type(dtype, np.complex64) if np.issubdtype(dtype, np.inexact) else np.dtype(np.complex128)


def _real_dtype(dtype):
    if np.issubdtype(dtype, np.complexfloating):
        raise TypeError(f"rfft: input must be real, got dtype {dtype} (use fft for complex input)")
    return np.dtype(dtype) if np.issubdtype(dtype, np.floating) else np.dtype(np.float64)


def _resize(x, axis, n):
    """``x`` cropped or zero-padded along ``axis`` to length ``n`` (NumPy's ``n``/``s`` semantics)."""
    m = x.shape[axis]
    if n == m:
        return x
    if n < m:
        return x[(slice(None),) * axis + (slice(0, n),)]
    return S.pad(x, tuple((0, n - m) if i == axis else (0, 0) for i in range(x.ndim)))


def _axes_and_sizes(name, x, s, axes, default_last=None):
    """Normalised ``axes`` and the sizes ``s`` (with NumPy's defaults: all axes, or the last ``len(s)``)."""
    nd = x.ndim
    if axes is None:
        axes = tuple(range(nd)) if s is None else tuple(range(nd - len(s), nd))
    elif isinstance(axes, (int, np.integer)):
        axes = (axes,)
    axes = tuple(normalize_axis(a, nd) for a in axes)
    if s is None:
        sizes = [x.shape[a] for a in axes]
        if default_last is not None and axes:
            sizes[-1] = default_last(x.shape[axes[-1]])
    else:
        if isinstance(s, (int, np.integer)):
            s = (s,)
        if len(s) != len(axes):
            raise ValueError(f"{name}: shape s={tuple(s)} and axes={axes} must have the same length")
        sizes = []
        for i, (n, a) in enumerate(zip(s, axes)):
            n = int(n)
            if n == -1:
                n = x.shape[a] if (default_last is None or i < len(axes) - 1) else default_last(x.shape[a])
            sizes.append(n)
    for n in sizes:
        if n < 1:
            raise ValueError(f"Invalid number of FFT data points ({n}) specified.")
    return axes, tuple(sizes)


def _c2c(name, a, s, axes, norm, inverse):
    x = _operand(a)
    norm = _norm(norm)
    axes, sizes = _axes_and_sizes(name, x, s, axes)
    if not isinstance(x, Tracer):
        f = np.fft.ifftn if inverse else np.fft.fftn
        return f(x, s=sizes, axes=axes, norm=norm)
    x = E.astype(x, _complex_dtype(x.dtype))
    for ax, n in zip(axes, sizes):
        x = _resize(x, ax, n)
    if not axes:
        return x
    if len(set(axes)) == len(axes):
        return fft_p.bind(x, axes=axes, inverse=inverse, norm=norm)
    for ax in reversed(axes):  # repeated axes: one transform per entry, as NumPy does
        x = fft_p.bind(x, axes=(ax,), inverse=inverse, norm=norm)
    return x


def _check_distinct(name, axes):
    if len(set(axes)) != len(axes):
        raise ValueError(f"{name}: repeated axes {axes} are not supported on traced values")


def _r2c(name, a, s, axes, norm):
    x = _operand(a)
    norm = _norm(norm)
    axes, sizes = _axes_and_sizes(name, x, s, axes)
    if not isinstance(x, Tracer):
        return np.fft.rfftn(x, s=sizes, axes=axes, norm=norm)
    _check_distinct(name, axes)
    x = E.astype(x, _real_dtype(x.dtype))
    for ax, n in zip(axes, sizes):
        x = _resize(x, ax, n)
    return rfft_p.bind(x, axes=axes, norm=norm)


def _c2r(name, a, s, axes, norm):
    x = _operand(a)
    norm = _norm(norm)
    axes, sizes = _axes_and_sizes(name, x, s, axes, default_last=lambda m: 2 * (m - 1))
    if not isinstance(x, Tracer):
        return np.fft.irfftn(x, s=sizes, axes=axes, norm=norm)
    _check_distinct(name, axes)
    x = E.astype(x, _complex_dtype(x.dtype))
    for ax, n in zip(axes[:-1], sizes[:-1]):
        x = _resize(x, ax, n)
    n = sizes[-1]
    x = _resize(x, axes[-1], n // 2 + 1)
    return irfft_p.bind(x, axes=axes, n=n, norm=norm)


def fft(a, n=None, axis=-1, norm=None):
    """One-dimensional discrete Fourier transform (``n`` crops or zero-pads the input along ``axis``).

    >>> import numpy as np
    >>> fft(np.array([1.0, 0.0, 0.0, 0.0]))
    array([1.+0.j, 1.+0.j, 1.+0.j, 1.+0.j])
    """
    return _c2c("fft", a, None if n is None else (n,), (axis,), norm, False)


def ifft(a, n=None, axis=-1, norm=None):
    """One-dimensional inverse discrete Fourier transform.

    >>> import numpy as np
    >>> ifft(np.array([4.0, 0.0, 0.0, 0.0]))
    array([1.+0.j, 1.+0.j, 1.+0.j, 1.+0.j])
    """
    return _c2c("ifft", a, None if n is None else (n,), (axis,), norm, True)


def fftn(a, s=None, axes=None, norm=None):
    """N-dimensional discrete Fourier transform over ``axes`` (all by default), input resized to ``s``.

    >>> import numpy as np
    >>> fftn(np.ones((2, 2))).real
    array([[4., 0.],
           [0., 0.]])
    """
    return _c2c("fftn", a, s, axes, norm, False)


def ifftn(a, s=None, axes=None, norm=None):
    """N-dimensional inverse discrete Fourier transform.

    >>> import numpy as np
    >>> ifftn(np.array([[4.0, 0.0], [0.0, 0.0]])).real
    array([[1., 1.],
           [1., 1.]])
    """
    return _c2c("ifftn", a, s, axes, norm, True)


def fft2(a, s=None, axes=(-2, -1), norm=None):
    """Two-dimensional discrete Fourier transform (over the last two axes by default).

    >>> import numpy as np
    >>> fft2(np.ones((2, 2))).real
    array([[4., 0.],
           [0., 0.]])
    """
    return _c2c("fft2", a, s, axes, norm, False)


def ifft2(a, s=None, axes=(-2, -1), norm=None):
    """Two-dimensional inverse discrete Fourier transform.

    >>> import numpy as np
    >>> ifft2(np.array([[4.0, 0.0], [0.0, 0.0]])).real
    array([[1., 1.],
           [1., 1.]])
    """
    return _c2c("ifft2", a, s, axes, norm, True)


def rfft(a, n=None, axis=-1, norm=None):
    """Discrete Fourier transform of real input: the ``n // 2 + 1`` non-negative frequencies.

    >>> import numpy as np
    >>> rfft(np.array([1.0, 1.0, 1.0, 1.0]))
    array([4.+0.j, 0.+0.j, 0.+0.j])
    """
    return _r2c("rfft", a, None if n is None else (n,), (axis,), norm)


def irfft(a, n=None, axis=-1, norm=None):
    """Inverse of ``rfft``: ``n`` real outputs (default ``2 * (m - 1)`` for ``m`` input coefficients).

    >>> import numpy as np
    >>> irfft(np.array([4.0, 0.0, 0.0]))
    array([1., 1., 1., 1.])
    """
    return _c2r("irfft", a, None if n is None else (n,), (axis,), norm)


def rfftn(a, s=None, axes=None, norm=None):
    """N-dimensional discrete Fourier transform of real input (half spectrum along the last of ``axes``).

    >>> import numpy as np
    >>> rfftn(np.ones((2, 4))).shape
    (2, 3)
    """
    return _r2c("rfftn", a, s, axes, norm)


def irfftn(a, s=None, axes=None, norm=None):
    """Inverse of ``rfftn``.

    >>> import numpy as np
    >>> irfftn(np.ones((2, 3))).shape
    (2, 4)
    """
    return _c2r("irfftn", a, s, axes, norm)


def rfft2(a, s=None, axes=(-2, -1), norm=None):
    """Two-dimensional discrete Fourier transform of real input.

    >>> import numpy as np
    >>> rfft2(np.ones((2, 4))).shape
    (2, 3)
    """
    return _r2c("rfft2", a, s, axes, norm)


def irfft2(a, s=None, axes=(-2, -1), norm=None):
    """Inverse of ``rfft2``.

    >>> import numpy as np
    >>> irfft2(np.ones((2, 3))).shape
    (2, 4)
    """
    return _c2r("irfft2", a, s, axes, norm)


def hfft(a, n=None, axis=-1, norm=None):
    """Transform of a signal with Hermitian symmetry (given by its first half): ``n`` real outputs, as NumPy's
    ``irfft(conj(a))`` with the opposite normalisation.

    >>> import numpy as np
    >>> hfft(np.array([1.0, 0.0, 0.0]))
    array([1., 1., 1., 1.])
    """
    x = _operand(a)
    if not isinstance(x, Tracer):
        return np.fft.hfft(x, n, axis, norm)
    x = E.astype(x, _complex_dtype(x.dtype))
    return irfft(_conj(x), n, axis, _SWAP[_norm(norm)])


def ihfft(a, n=None, axis=-1, norm=None):
    """Inverse of ``hfft``: the half spectrum of a real signal's Hermitian counterpart, ``conj(rfft(a))`` with
    the opposite normalisation.

    >>> import numpy as np
    >>> ihfft(np.array([1.0, 1.0, 1.0, 1.0]))
    array([1.-0.j, 0.-0.j, 0.-0.j])
    """
    x = _operand(a)
    if not isinstance(x, Tracer):
        return np.fft.ihfft(x, n, axis, norm)
    return _conj(rfft(x, n, axis, _SWAP[_norm(norm)]))


def _roll(x, shifts, axes):
    for ax, k in zip(axes, shifts):
        n = x.shape[ax]
        k %= n if n else 1
        if k:
            lead = (slice(None),) * ax
            x = S.concatenate([x[lead + (slice(n - k, None),)], x[lead + (slice(0, n - k),)]], ax)
    return x


def _shift(name, x, axes, sign):
    x = _operand(x)
    if not isinstance(x, Tracer):
        return (np.fft.fftshift if sign > 0 else np.fft.ifftshift)(x, axes)
    nd = x.ndim
    if axes is None:
        axes = tuple(range(nd))
    elif isinstance(axes, (int, np.integer)):
        axes = (axes,)
    axes = tuple(normalize_axis(a, nd) for a in axes)
    return _roll(x, [sign * (x.shape[a] // 2) for a in axes], axes)


def fftshift(x, axes=None):
    """Move the zero-frequency term to the centre (a roll by ``n // 2`` along each of ``axes``).

    >>> import numpy as np
    >>> fftshift(np.array([0.0, 1.0, 2.0, -2.0, -1.0]))
    array([-2., -1.,  0.,  1.,  2.])
    """
    return _shift("fftshift", x, axes, 1)


def ifftshift(x, axes=None):
    """Inverse of ``fftshift`` (a roll by ``-(n // 2)``).

    >>> import numpy as np
    >>> ifftshift(np.array([-2.0, -1.0, 0.0, 1.0, 2.0]))
    array([ 0.,  1.,  2., -2., -1.])
    """
    return _shift("ifftshift", x, axes, -1)


def fftfreq(n, d=1.0, device=None):
    """Sample frequencies of an ``n``-point transform (a constant: NumPy's own).

    >>> fftfreq(4)
    array([ 0.  ,  0.25, -0.5 , -0.25])
    """
    return np.fft.fftfreq(n, d, device=device)


def rfftfreq(n, d=1.0, device=None):
    """Sample frequencies of an ``n``-point real transform (a constant: NumPy's own).

    >>> rfftfreq(4)
    array([0.  , 0.25, 0.5 ])
    """
    return np.fft.rfftfreq(n, d, device=device)
