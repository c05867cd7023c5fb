"""Operators and array methods for traced values.

Invariant: every operator or method on a Tracer is a call of the same chainrule function that the NumPy face
exposes, so a user function behaves identically whether it is written with methods, operators, or
``chainrule.numpy`` calls, and whichever transform is tracing it.
"""
import numpy as np

from ..core.trace import Tracer, concrete
from . import elementwise as E
from . import indexing as I
from . import reduction as R
from . import shape as S


def _linalg():
    from . import linalg
    return linalg


def _r(f):
    return lambda self, other: f(other, self)


def _ufunc_table():
    table = {}
    for name in dir(E):
        fn = getattr(E, name)
        uf = getattr(np, name, None)
        if isinstance(uf, np.ufunc) and callable(fn):
            table[uf] = fn
    table[np.matmul] = lambda a, b: _linalg().matmul(a, b)
    return table


_UFUNCS = None
_REDUCERS = {np.add: R.sum, np.multiply: R.prod, np.maximum: R.max, np.minimum: R.min}


def _array_ufunc(self, ufunc, method, *inputs, **kwargs):
    """NumPy ufuncs called on a traced value dispatch to chainrule (``numpy.sin(tracer)`` works)."""
    global _UFUNCS
    if _UFUNCS is None:
        _UFUNCS = _ufunc_table()
    if kwargs.get("out") is not None:
        raise TypeError(f"numpy.{ufunc.__name__}: the out= argument cannot take a traced value (chainrule arrays "
                        f"are immutable)")
    if method == "__call__":
        fn = _UFUNCS.get(ufunc)
        if fn is not None and not kwargs:
            return fn(*inputs)
    elif method == "reduce" and ufunc in _REDUCERS and len(inputs) == 1:
        return _REDUCERS[ufunc](inputs[0], axis=kwargs.get("axis", 0), keepdims=kwargs.get("keepdims", False))
    elif method == "accumulate" and ufunc in (np.add, np.multiply) and len(inputs) == 1:
        f = R.cumsum if ufunc is np.add else R.cumprod
        return f(inputs[0], axis=kwargs.get("axis", 0))
    return NotImplemented


def _array(self, dtype=None, copy=None):
    raise TypeError(
        f"Cannot convert a traced value ({type(self).__name__} of shape {self.shape}) to a NumPy array inside a "
        f"transform. Use chainrule.numpy functions on it (or numpy ufuncs, which dispatch), or stop_gradient / "
        f"return it first.")


def _bool(self):
    return bool(concrete(self))


def _iter(self):
    if not self.shape:
        raise TypeError("iteration over a 0-d traced value")
    return (self[i] for i in range(self.shape[0]))


def install_methods(cls):
    """Give ``cls`` NumPy's operators and array methods, all routed through chainrule functions."""
    L = _linalg
    ops = {
        "__add__": E.add, "__radd__": _r(E.add), "__sub__": E.subtract, "__rsub__": _r(E.subtract),
        "__mul__": E.multiply, "__rmul__": _r(E.multiply), "__truediv__": E.divide,
        "__rtruediv__": _r(E.divide), "__pow__": E.power, "__rpow__": _r(E.power),
        "__floordiv__": E.floor_divide, "__rfloordiv__": _r(E.floor_divide), "__mod__": E.remainder,
        "__rmod__": _r(E.remainder), "__matmul__": lambda a, b: L().matmul(a, b),
        "__rmatmul__": lambda a, b: L().matmul(b, a), "__lt__": E.less, "__le__": E.less_equal,
        "__gt__": E.greater, "__ge__": E.greater_equal, "__eq__": E.equal, "__ne__": E.not_equal,
        "__and__": E.logical_and, "__or__": E.logical_or, "__xor__": E.logical_xor,
        "__rand__": _r(E.logical_and), "__ror__": _r(E.logical_or),
    }
    for name, fn in ops.items():
        setattr(cls, name, fn)
    cls.__neg__ = lambda self: E.negative(self)
    cls.__pos__ = lambda self: self
    cls.__abs__ = lambda self: E.abs(self)
    cls.__invert__ = lambda self: E.logical_not(self)
    cls.__getitem__ = lambda self, idx: I.getitem(self, idx)
    cls.__iter__ = _iter
    cls.__bool__ = cls.__dict__.get("__bool__", _bool)
    cls.__float__ = lambda self: float(concrete(self))
    cls.__int__ = lambda self: int(concrete(self))
    cls.__complex__ = lambda self: complex(concrete(self))
    cls.__index__ = lambda self: int(concrete(self))
    cls.__array_ufunc__ = _array_ufunc
    cls.__array__ = _array
    cls.__hash__ = None

    cls.T = property(lambda self: S.transpose(self))
    cls.mT = property(lambda self: S.swapaxes(self, -1, -2))
    cls.at = property(lambda self: I.at(self))
    cls.reshape = lambda self, *shape, order="C": S.reshape(
        self, shape[0] if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)) else shape, order)
    cls.transpose = lambda self, *axes: S.transpose(
        self, (axes[0] if len(axes) == 1 and not isinstance(axes[0], (int, np.integer)) else axes) or None)
    cls.ravel = lambda self, order="C": S.ravel(self, order)
    cls.flatten = lambda self, order="C": S.ravel(self, order)
    cls.squeeze = lambda self, axis=None: S.squeeze(self, axis)
    cls.swapaxes = lambda self, a, b: S.swapaxes(self, a, b)
    cls.repeat = lambda self, repeats, axis=None: S.repeat(self, repeats, axis)
    cls.sum = lambda self, axis=None, dtype=None, keepdims=False: R.sum(self, axis, dtype, keepdims)
    cls.prod = lambda self, axis=None, dtype=None, keepdims=False: R.prod(self, axis, dtype, keepdims)
    cls.mean = lambda self, axis=None, dtype=None, keepdims=False: R.mean(self, axis, dtype, keepdims)
    cls.var = lambda self, axis=None, dtype=None, ddof=0, keepdims=False: R.var(self, axis, dtype, ddof, keepdims)
    cls.std = lambda self, axis=None, dtype=None, ddof=0, keepdims=False: R.std(self, axis, dtype, ddof, keepdims)
    cls.max = lambda self, axis=None, keepdims=False: R.max(self, axis, keepdims)
    cls.min = lambda self, axis=None, keepdims=False: R.min(self, axis, keepdims)
    cls.argmax = lambda self, axis=None, keepdims=False: R.argmax(self, axis, keepdims)
    cls.argmin = lambda self, axis=None, keepdims=False: R.argmin(self, axis, keepdims)
    cls.cumsum = lambda self, axis=None, dtype=None: R.cumsum(self, axis, dtype)
    cls.cumprod = lambda self, axis=None, dtype=None: R.cumprod(self, axis, dtype)
    cls.any = lambda self, axis=None, keepdims=False: R.any(self, axis, keepdims)
    cls.all = lambda self, axis=None, keepdims=False: R.all(self, axis, keepdims)
    cls.clip = lambda self, min=None, max=None: E.clip(self, min, max)
    cls.astype = lambda self, dtype: E.astype(self, dtype)
    cls.round = lambda self, decimals=0: E.round(self, decimals)
    cls.dot = lambda self, b: L().dot(self, b)
    cls.trace = lambda self, offset=0, axis1=0, axis2=1: L().trace(self, offset, axis1, axis2)
    cls.diagonal = lambda self, offset=0, axis1=0, axis2=1: L().diagonal(self, offset, axis1, axis2)
    cls.copy = lambda self: self
    cls.item = lambda self: concrete(self).item()
    cls.tolist = lambda self: concrete(self).tolist()
    return cls


install_methods(Tracer)
