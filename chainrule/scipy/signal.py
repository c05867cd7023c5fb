"""``chainrule.scipy.signal``: N-dimensional ``convolve`` and ``correlate`` with SciPy's semantics (modes
'full', 'same', 'valid'; methods 'auto', 'direct', 'fft'), differentiable in both inputs and batchable.

One primitive, ``convolve_p(x, y, mode, method, nbatch)`` with ``mode`` 'full' or 'valid' (``x`` then at least
as large as ``y`` in every dimension); 'same' is a centred slice of 'full' and ``correlate`` a convolution with the
reversed (conjugated) second input. Convolution is bilinear, so the JVP is ``conv(dx, y) + conv(x, dy)``, and the
transposes stay inside the family (``flip`` reverses the convolved axes):

- full:  ``x_bar = conv(g, flip(y), 'valid')``, ``y_bar = conv(g, flip(x), 'valid')``;
- valid: ``x_bar = conv(g, flip(y), 'full')``,  ``y_bar = conv(flip(x), g, 'valid')``.

Under ``vmap`` the mapped axis becomes a leading batch axis (``nbatch`` counts them); the impl convolves each
batch element with SciPy (a loop over whole convolutions, never over elements).

>>> import numpy as np, chainrule as cr
>>> from chainrule.scipy import signal
>>> signal.convolve(np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 0.5]))
array([0. , 1. , 2.5, 4. , 1.5])
"""
import numpy as np
import scipy.signal as _ss

from ..core.primitive import Primitive
from ..core.trace import Tracer
from ..interpreters.batching import move_to_front
from ..ops import elementwise as E
from ..ops import shape as S
from ..ops._util import as_operand, shape_of

__all__ = ["convolve", "correlate", "fftconvolve"]

_MODES = ("full", "valid", "same")
_METHODS = ("auto", "direct", "fft")


def _convolve_impl(x, y, mode, method, nbatch):
    if nbatch == 0:
        return _ss.convolve(x, y, mode=mode, method=method)
    batch = x.shape[:nbatch]
    outs = [_ss.convolve(x[i], y[i], mode=mode, method=method) for i in np.ndindex(batch)]
    return np.stack(outs).reshape(batch + outs[0].shape)


convolve_p = Primitive("convolve", _convolve_impl)


def _flip(x, nbatch):
    return S.flip(x, tuple(range(nbatch, len(shape_of(x)))))


def _convolve_jvp(primals, tangents, **params):
    x, y = primals
    dx, dy = tangents
    bind = convolve_p.bind
    out = bind(x, y, **params)
    t = None if dx is None else bind(dx, y, **params)
    if dy is not None:
        t2 = bind(x, dy, **params)
        t = t2 if t is None else t + t2
    return out, t


def _convolve_vjp(g, out, x, y, mode, method, nbatch):
    bind = convolve_p.bind
    p = dict(method=method, nbatch=nbatch)
    if mode == "full":
        return bind(g, _flip(y, nbatch), mode="valid", **p), bind(g, _flip(x, nbatch), mode="valid", **p)
    return bind(g, _flip(y, nbatch), mode="full", **p), bind(_flip(x, nbatch), g, mode="valid", **p)


def _convolve_batch(size, vals, dims, mode, method, nbatch):
    x, y = (move_to_front(v, d, size) for v, d in zip(vals, dims))
    return convolve_p.bind(x, y, mode=mode, method=method, nbatch=nbatch + 1), 0


convolve_p.jvp = _convolve_jvp
convolve_p.vjp = _convolve_vjp
convolve_p.batch = _convolve_batch


def _operands(name, in1, in2, mode, method):
    if mode not in _MODES:
        raise ValueError(f"{name}: acceptable mode flags are 'valid', 'same', or 'full', got {mode!r}")
    if method not in _METHODS:
        raise ValueError(f"{name}: acceptable method flags are 'auto', 'direct', or 'fft', got {method!r}")
    x, y = (as_operand(v) for v in (in1, in2))
    x, y = (v if isinstance(v, Tracer) else np.asarray(v) for v in (x, y))
    sx, sy = shape_of(x), shape_of(y)
    if len(sx) != len(sy):
        raise ValueError(f"{name}: in1 and in2 should have the same dimensionality, got shapes {sx} and {sy}")
    if isinstance(x, Tracer) or isinstance(y, Tracer):
        dt = np.result_type(x.dtype, y.dtype)
        x, y = (E.astype(v, dt) if v.dtype != dt else v for v in (x, y))
    return x, y, sx, sy


def convolve(in1, in2, mode="full", method="auto"):
    """The N-dimensional convolution of ``in1`` and ``in2`` (same number of dimensions), as
    ``scipy.signal.convolve``: 'full' (all overlaps), 'valid' (complete overlaps only; one input must be at least
    as large as the other in every dimension) or 'same' (the size of ``in1``, centred on 'full').

    >>> import numpy as np
    >>> convolve(np.array([1.0, 2.0, 3.0]), np.array([1.0, 1.0]), mode="valid")
    array([3., 5.])
    """
    x, y, sx, sy = _operands("convolve", in1, in2, mode, method)
    if len(sx) == 0:
        return x * y
    if 0 in sx or 0 in sy:
        return np.array([])
    if mode == "valid":
        if all(a >= b for a, b in zip(sx, sy)):
            pass
        elif all(b >= a for a, b in zip(sx, sy)):
            x, y = y, x
        else:
            raise ValueError(f"convolve: for 'valid' mode, one must be at least as large as the other in every "
                             f"dimension, got shapes {sx} and {sy}")
        return convolve_p.bind(x, y, mode="valid", method=method, nbatch=0)
    out = convolve_p.bind(x, y, mode="full", method=method, nbatch=0)
    if mode == "same":
        full = shape_of(out)
        out = out[tuple(slice((f - s) // 2, (f - s) // 2 + s) for f, s in zip(full, sx))]
    return out


def _conj(x):
    if np.issubdtype(x.dtype, np.complexfloating):
        from ..ops.decomp import conj
        return conj(x)
    return x


def correlate(in1, in2, mode="full", method="auto"):
    """The N-dimensional cross-correlation, as ``scipy.signal.correlate``:
    ``z[k] = sum_l in1[l] conj(in2[l - k + N - 1])``, i.e. ``convolve(in1, flip(conj(in2)), mode)``.

    >>> import numpy as np
    >>> correlate(np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.5]))
    array([0.5, 2. , 3.5, 3. ])
    """
    x, y, sx, sy = _operands("correlate", in1, in2, mode, method)
    if len(sx) == 0:
        return x * _conj(y)
    if 0 in sx or 0 in sy:
        return np.array([])
    return convolve(x, _conj(S.flip(y)), mode, method)


def fftconvolve(in1, in2, mode="full", axes=None):
    """``convolve(in1, in2, mode, method='fft')`` (only ``axes=None``, all axes, is supported).

    >>> import numpy as np
    >>> bool(np.allclose(fftconvolve(np.ones(3), np.ones(2)), [1.0, 2.0, 2.0, 1.0]))
    True
    """
    if axes is not None:
        raise NotImplementedError("fftconvolve: only axes=None is supported; use vmap to convolve along some axes")
    return convolve(in1, in2, mode, method="fft")
