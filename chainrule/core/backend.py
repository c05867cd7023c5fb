"""The backend seam: the one place that chooses the array library.

Invariant: primitive ``impl`` functions call NumPy functions, which dispatch to CuPy through NumPy's
``__array_ufunc__`` / ``__array_function__`` protocols when the data lives on a GPU. Only array *creation*
(which has no argument to dispatch on) needs the seam; it goes through ``zeros``/``ones``/``asarray`` here,
which follow the array library of a ``like`` value.
"""
import numpy as np

try:  # CuPy is optional; without it every array is a NumPy array.
    import cupy as _cupy  # pragma: no cover
except Exception:  # pragma: no cover - the usual case on CPU-only machines
    _cupy = None


def namespace(x):
    """The array module (``numpy`` or ``cupy``) that owns ``x``."""
    if _cupy is not None and isinstance(x, _cupy.ndarray):  # pragma: no cover
        return _cupy
    return np


def zeros(shape, dtype, like=None):
    return namespace(like).zeros(shape, dtype)


def ones(shape, dtype, like=None):
    return namespace(like).ones(shape, dtype)


def asarray(x, dtype=None, like=None):
    return namespace(like if like is not None else x).asarray(x, dtype=dtype)


def is_array(x):
    """True for a NumPy/CuPy array or NumPy scalar (anything with shape and dtype)."""
    return isinstance(x, (np.ndarray, np.generic)) or (_cupy is not None and isinstance(x, _cupy.ndarray))
