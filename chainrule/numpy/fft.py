"""``chainrule.numpy.fft``: NumPy's ``fft`` namespace, differentiable in forward and reverse mode (to any order)
and batchable with ``vmap``, with NumPy's ``n``/``s``, ``axes`` and ``norm`` ("backward", "ortho", "forward").

The transforms are three linear primitives (``chainrule.ops.fft``); every transform is its own kind of linear map,
so the derivative of an FFT is an FFT (see NOTE: [fft transposes] there for the real-input cases).

>>> import numpy as np, chainrule as cr
>>> import chainrule.numpy.fft as cfft
>>> x = np.array([1.0, 2.0, 3.0, 4.0])
>>> cr.grad(lambda x: cfft.irfft(cfft.rfft(x) * np.array([1.0, 0.0, 0.0]))[0])(x)  # the mean: 1/4 each
array([0.25, 0.25, 0.25, 0.25])
"""
import numpy as _np

from ..ops.fft import (  # noqa: F401
    fft, fft2, fftfreq, fftn, fftshift, hfft, ifft, ifft2, ifftn, ifftshift, ihfft, irfft, irfft2, irfftn, rfft,
    rfft2, rfftfreq, rfftn)

__all__ = ["fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2", "irfft2", "rfftn", "irfftn",
           "hfft", "ihfft", "fftshift", "ifftshift", "fftfreq", "rfftfreq"]


def __getattr__(name):
    try:
        return getattr(_np.fft, name)
    except AttributeError:
        raise AttributeError(f"module 'chainrule.numpy.fft' has no attribute {name!r} (nor does numpy.fft)") \
            from None
