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
from . import special as SP


def _linalg():
    from . import linalg
    return linalg


def _r(f):
    return lambda self, other: f(other, self)


def _ufunc_table():
    """Every NumPy ufunc that ``chainrule.numpy`` implements (rather than passes through), mapped to it."""
    import chainrule.numpy as cnp
    table = {}
    for name in dir(np):
        uf = getattr(np, name, None)
        if not isinstance(uf, np.ufunc):
            continue
        fn = getattr(cnp, name, None)
        if callable(fn) and fn is not uf:
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
    detail = f" with arguments {sorted(kwargs)}" if kwargs else ""
    raise TypeError(f"numpy.{ufunc.__name__}.{method}{detail} is not supported on traced values by chainrule; "
                    f"call the chainrule.numpy function instead")


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
    cls.size = property(lambda self: Size(self.shape))
    cls.mT = property(lambda self: S.swapaxes(self, -1, -2))
    cls.at = property(lambda self: I.at(self))
    for name, fn in _METHODS.items():
        setattr(cls, name, fn)
    return cls


# ---------------------------------------------------------------------------------------------------------
# Methods. Each accepts NumPy's argument names (axis, keepdims) and PyTorch's (dim, keepdim).
# ---------------------------------------------------------------------------------------------------------

def _torch_style(x):
    """Whether ``x`` is (or traces) a Tensor: decides the few methods whose NumPy and PyTorch meanings differ."""
    from ..tensor import Tensor
    while True:
        if isinstance(x, Tensor):
            return True
        if not isinstance(x, Tracer):
            return False
        x = x.concrete_value()


def _axis(axis, dim):
    return dim if dim is not None else axis


def _keep(keepdims, keepdim):
    return bool(keepdim) if keepdim is not None else bool(keepdims)


def _shape_arg(shape):
    return tuple(shape[0]) if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)) else tuple(shape)


class Size(int):
    """``x.size`` is the element count (NumPy) and ``x.size()`` the shape (PyTorch); ``x.size(d)`` one dim.

    >>> s = Size((2, 3))
    >>> s == 6, s(), s(1)
    (True, (2, 3), 3)
    """

    def __new__(cls, shape):
        n = 1
        for d in shape:
            n *= d
        obj = super().__new__(cls, n)
        obj._shape = tuple(shape)
        return obj

    def __call__(self, dim=None):
        return self._shape if dim is None else self._shape[dim]


def _to(self, *args, dtype=None, **kwargs):
    """PyTorch's ``to``: a dtype (or a value whose dtype to take); device 'cpu' only."""
    for a in args:
        if isinstance(a, str):
            if a != "cpu":
                raise NotImplementedError(f"to: device {a!r} is not supported (CPU only)")
        elif hasattr(a, "dtype") and not isinstance(a, (type, np.dtype)):
            dtype = a.dtype
        else:
            dtype = a
    return self if dtype is None else E.astype(self, dtype)


def _alpha(fn):
    return lambda self, other, *, alpha=1: fn(self, other if alpha == 1 else E.multiply(other, alpha))


class _MinMax(tuple):
    """``(values, indices)``, as PyTorch's ``max(dim=...)`` returns."""

    @property
    def values(self):
        return self[0]

    @property
    def indices(self):
        return self[1]


def _no_out(name, out):
    if out is not None:
        raise TypeError(f"{name}: the out= argument is not supported (chainrule arrays are immutable)")


def _extremum(reduce, arg):
    """``max``/``min``: NumPy's ``(axis=None, out=None, keepdims=False)`` gives values; PyTorch's ``dim`` (by
    keyword, or positionally on a Tensor) gives ``(values, indices)``; another array gives the elementwise
    extremum."""
    def method(self, *args, axis=None, keepdims=False, dim=None, keepdim=None, out=None, initial=None,
               where=None):
        _no_out(reduce.__name__, out)
        if initial is not None or where is not None:
            raise TypeError(f"{reduce.__name__}: initial= and where= are not supported")
        if len(args) > 2:
            raise TypeError(f"{reduce.__name__}() takes at most 2 positional arguments ({len(args)} given)")
        if args:
            first = args[0]
            if isinstance(first, Tracer) or isinstance(first, np.ndarray):
                return E.maximum(self, first) if reduce is R.max else E.minimum(self, first)
            if len(args) == 2:
                keepdims = bool(args[1])
            if isinstance(first, (int, np.integer)) and _torch_style(self):
                dim = first  # PyTorch: t.max(1) is t.max(dim=1)
            else:
                axis = first
        k = _keep(keepdims, keepdim)
        if dim is not None:
            return _MinMax((reduce(self, dim, k), arg(self, dim, k)))
        return reduce(self, axis, k)
    return method


def _argsort(self, axis, descending=False):
    from . import nondiff
    return nondiff.argsort(E.negative(self) if descending else self, axis=axis, kind="stable")


def _sort(self, axis=-1, kind=None, order=None, *, dim=None, descending=False, stable=None):
    """PyTorch's ``sort``: ``(values, indices)`` along ``dim`` (NumPy's in-place ``sort`` cannot apply to an
    immutable traced value)."""
    from .sorting import take_along_axis
    axis = _axis(axis, dim)
    idx = _argsort(self, axis, descending)
    return _MinMax((take_along_axis(self, idx, axis), idx))


def _split(self, size_or_sizes, dim):
    """PyTorch's ``split``: pieces of ``size`` along ``dim`` (the last may be shorter), or of the given sizes."""
    n = self.shape[dim]
    if isinstance(size_or_sizes, (int, np.integer)):
        bounds = list(range(0, n, int(size_or_sizes)))[1:]
    else:
        sizes = [int(s) for s in size_or_sizes]
        if sum(sizes) != n:
            raise ValueError(f"split: sizes {sizes} do not add up to {n}, the length of dimension {dim}")
        bounds = list(np.cumsum(sizes)[:-1])
    return tuple(S.split(self, bounds, axis=dim))


def _var(ddof_default_torch):
    def method(self, axis=None, dtype=None, out=None, ddof=None, keepdims=False, *, dim=None, keepdim=None,
               unbiased=None, correction=None):
        _no_out("var/std", out)
        if isinstance(axis, bool) and unbiased is None:  # PyTorch's positional var(unbiased)
            axis, unbiased = None, axis
        if ddof is None:
            if correction is not None:
                ddof = correction
            elif unbiased is not None:
                ddof = int(unbiased)
            else:
                ddof = 1 if (dim is not None or _torch_style(self)) else 0
        return ddof_default_torch(self, _axis(axis, dim), dtype, ddof, _keep(keepdims, keepdim))
    return method


def _transpose(self, *axes):
    if len(axes) == 1 and not isinstance(axes[0], (int, np.integer)):
        axes = tuple(axes[0]) if axes[0] is not None else ()
    if len(axes) == 2 and (self.ndim != 2 or _torch_style(self)):
        return S.swapaxes(self, *axes)  # PyTorch's transpose(dim0, dim1)
    return S.transpose(self, axes or None)


def _squeeze(self, axis=None, *, dim=None):
    axis = _axis(axis, dim)
    if axis is not None and _torch_style(self):
        # PyTorch: squeezing a dimension whose size is not 1 leaves it alone.
        axes = axis if isinstance(axis, (tuple, list)) else (axis,)
        nd = self.ndim
        axis = tuple(a for a in axes if self.shape[int(a) % nd] == 1) if nd else None
        if axis == ():
            return self
    return S.squeeze(self, axis)


def _t(self):
    if self.ndim > 2:
        raise ValueError(f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
    return S.transpose(self) if self.ndim == 2 else self


def _norm(self, p="fro", dim=None, keepdim=False, *, axis=None, keepdims=None, ord=None):
    dim = _axis(axis, dim)
    keep = _keep(keepdim, keepdims)
    p = ord if ord is not None else p
    if p in ("fro", 2, 2.0, None):
        return E.sqrt(R.sum(E.square(E.abs(self)) if np.iscomplexobj(concrete(self)) else self * self, dim,
                            keepdims=keep))
    if p in (1, 1.0):
        return R.sum(E.abs(self), dim, keepdims=keep)
    if p in (np.inf, float("inf")):
        return R.max(E.abs(self), dim, keep)
    return E.power(R.sum(E.power(E.abs(self), p), dim, keepdims=keep), 1.0 / p)


def _flatten(self, start_dim=0, end_dim=-1):
    if isinstance(start_dim, str):  # NumPy's flatten(order)
        return S.ravel(self, start_dim)
    nd = self.ndim
    if nd == 0:
        return S.reshape(self, (1,))
    s, e = start_dim % nd, end_dim % nd
    shape = tuple(self.shape)
    return S.reshape(self, shape[:s] + (-1,) + shape[e + 1:])


def _repeat(self, *args, axis=None):
    if _torch_style(self) and axis is None:
        return S.tile(self, _shape_arg(args))  # PyTorch's repeat is NumPy's tile
    return S.repeat(self, args[0], axis if axis is not None else (args[1] if len(args) > 1 else None))


def _expand(self, *sizes):
    sizes = _shape_arg(sizes)
    lead = len(sizes) - self.ndim
    full = tuple(self.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
    return S.broadcast_to(self, full)


def _index_grid(shape, dim, index):
    idx = list(np.indices(index.shape, sparse=True))
    idx[dim] = index
    return tuple(idx)


def _gather(self, dim, index):
    index = np.asarray(concrete(index))
    return I.getitem(self, _index_grid(self.shape, dim % self.ndim, index))


def _scatter_add(self, dim, index, src):
    index = np.asarray(concrete(index))
    src = src[tuple(slice(0, n) for n in index.shape)] if tuple(src.shape) != index.shape else src
    return I.index_add(self, _index_grid(self.shape, dim % self.ndim, index), src)


def _roll(self, shifts, dims=None):
    if dims is None:
        return S.reshape(_roll(S.ravel(self), shifts, 0), self.shape)
    shifts = shifts if isinstance(shifts, (tuple, list)) else (shifts,)
    dims = dims if isinstance(dims, (tuple, list)) else (dims,)
    out = self
    for sh, d in zip(shifts, dims):
        n = self.shape[d]
        out = I.take(out, (np.arange(n) - sh) % n, axis=d)
    return out


def _unfold(self, dimension, size, step):
    d = dimension % self.ndim
    n = (self.shape[d] - size) // step + 1
    idx = np.arange(n)[:, None] * step + np.arange(size)[None, :]
    out = I.take(self, idx, axis=d)  # (..., n, size, ...)
    return S.moveaxis(out, d + 1, -1)


def _pad_method(self, pad_width, mode="constant", value=0, constant_values=None):
    return S.pad(self, pad_width, mode=mode, constant_values=value if constant_values is None else constant_values)


_METHODS = {
    "reshape": lambda self, *shape, order="C": S.reshape(self, _shape_arg(shape), order),
    "view": lambda self, *shape: S.reshape(self, _shape_arg(shape)),
    "transpose": _transpose,
    "permute": lambda self, *dims: S.transpose(self, _shape_arg(dims)),
    "ravel": lambda self, order="C": S.ravel(self, order),
    "flatten": _flatten,
    "squeeze": _squeeze,
    "t": _t,
    "norm": _norm,
    "unsqueeze": lambda self, dim: S.expand_dims(self, dim),
    "swapaxes": lambda self, a, b: S.swapaxes(self, a, b),
    "movedim": lambda self, source, destination: S.moveaxis(self, source, destination),
    "expand": _expand,
    "expand_as": lambda self, other: S.broadcast_to(self, other.shape),
    "view_as": lambda self, other: S.reshape(self, other.shape),
    "repeat": _repeat,
    "flip": lambda self, dims=None, *, axis=None: S.flip(self, _axis(dims, axis)),
    "roll": _roll,
    "unfold": _unfold,
    "pad": _pad_method,
    "sum": lambda self, axis=None, dtype=None, keepdims=False, *, dim=None, keepdim=None, out=None: R.sum(
        self, _axis(axis, dim), dtype, _keep(keepdims, keepdim)) if out is None else _no_out("sum", out),
    "prod": lambda self, axis=None, dtype=None, keepdims=False, *, dim=None, keepdim=None, out=None: R.prod(
        self, _axis(axis, dim), dtype, _keep(keepdims, keepdim)) if out is None else _no_out("prod", out),
    "mean": lambda self, axis=None, dtype=None, keepdims=False, *, dim=None, keepdim=None, out=None: R.mean(
        self, _axis(axis, dim), dtype, _keep(keepdims, keepdim)) if out is None else _no_out("mean", out),
    "var": _var(R.var),
    "std": _var(R.std),
    "max": _extremum(R.max, R.argmax),
    "min": _extremum(R.min, R.argmin),
    "amax": lambda self, axis=None, keepdims=False, *, dim=None, keepdim=None: R.max(
        self, _axis(axis, dim), _keep(keepdims, keepdim)),
    "amin": lambda self, axis=None, keepdims=False, *, dim=None, keepdim=None: R.min(
        self, _axis(axis, dim), _keep(keepdims, keepdim)),
    "sort": _sort,
    "split": lambda self, split_size_or_sections, dim=0: _split(self, split_size_or_sections, dim),
    "chunk": lambda self, chunks, dim=0: _split(self, -(-self.shape[dim] // chunks), dim),
    "unbind": lambda self, dim=0: tuple(S.squeeze(p, dim) for p in _split(self, 1, dim)),
    "argsort": lambda self, axis=-1, kind=None, order=None, *, dim=None, descending=False: _argsort(
        self, _axis(axis, dim), descending),
    "repeat_interleave": lambda self, repeats, dim=None: S.repeat(self, repeats, dim),
    "argmax": lambda self, axis=None, out=None, *, keepdims=False, dim=None, keepdim=None: R.argmax(
        self, _axis(axis, dim), _keep(keepdims or out is True, keepdim)) if out in (None, True, False) else _no_out(
        "argmax", out),
    "argmin": lambda self, axis=None, out=None, *, keepdims=False, dim=None, keepdim=None: R.argmin(
        self, _axis(axis, dim), _keep(keepdims or out is True, keepdim)) if out in (None, True, False) else _no_out(
        "argmin", out),
    "logsumexp": lambda self, axis=None, keepdims=False, *, dim=None, keepdim=None: R.logsumexp(
        self, _axis(axis, dim), _keep(keepdims, keepdim)),
    "softmax": lambda self, axis=-1, *, dim=None: SP.softmax(self, _axis(axis, dim)),
    "log_softmax": lambda self, axis=-1, *, dim=None: SP.log_softmax(self, _axis(axis, dim)),
    "cumsum": lambda self, axis=None, dtype=None, out=None, *, dim=None: R.cumsum(
        self, _axis(axis, dim), dtype) if out is None else _no_out("cumsum", out),
    "cumprod": lambda self, axis=None, dtype=None, out=None, *, dim=None: R.cumprod(
        self, _axis(axis, dim), dtype) if out is None else _no_out("cumprod", out),
    "any": lambda self, axis=None, out=None, keepdims=False, *, dim=None, keepdim=None, where=None: R.any(
        self, _axis(axis, dim), _keep(keepdims, keepdim)) if out is None else _no_out("any", out),
    "all": lambda self, axis=None, out=None, keepdims=False, *, dim=None, keepdim=None, where=None: R.all(
        self, _axis(axis, dim), _keep(keepdims, keepdim)) if out is None else _no_out("all", out),
    "exp": E.exp, "log": E.log, "log1p": E.log1p, "expm1": E.expm1, "log2": E.log2, "log10": E.log10,
    "sqrt": E.sqrt, "rsqrt": lambda self: E.reciprocal(E.sqrt(self)), "square": E.square, "abs": E.abs,
    "neg": E.negative, "negative": E.negative, "reciprocal": E.reciprocal, "sign": E.sign,
    "sin": E.sin, "cos": E.cos, "tan": E.tan, "sinh": E.sinh, "cosh": E.cosh, "tanh": E.tanh,
    "arcsin": E.arcsin, "arccos": E.arccos, "arctan": E.arctan, "asin": E.arcsin, "acos": E.arccos,
    "atan": E.arctan, "floor": E.floor, "ceil": E.ceil,
    "sigmoid": SP.sigmoid, "relu": SP.relu, "softplus": SP.softplus,
    "pow": E.power, "add": _alpha(E.add), "sub": _alpha(E.subtract), "mul": E.multiply, "div": E.divide,
    "subtract": _alpha(E.subtract), "multiply": E.multiply, "divide": E.divide, "true_divide": E.divide,
    "maximum": E.maximum, "minimum": E.minimum, "matmul": lambda self, other: _linalg().matmul(self, other),
    "mm": lambda self, other: _linalg().matmul(self, other),
    "dot": lambda self, b: _linalg().dot(self, b),
    "clip": lambda self, min=None, max=None, out=None, **kw: E.clip(self, min, max) if out is None else _no_out(
        "clip", out),
    "clamp": lambda self, min=None, max=None: E.clip(self, min, max),
    "where": lambda self, condition, other: E.where(condition, self, other),
    "masked_fill": lambda self, mask, value: E.where(mask, value, self),
    "gather": _gather,
    "scatter_add": _scatter_add,
    "index_select": lambda self, dim, index: I.take(self, np.asarray(concrete(index)), axis=dim),
    "astype": lambda self, dtype: E.astype(self, dtype),
    "round": lambda self, decimals=0: E.round(self, decimals),
    "trace": lambda self, offset=0, axis1=0, axis2=1: _linalg().trace(self, offset, axis1, axis2),
    "diagonal": lambda self, offset=0, axis1=0, axis2=1: _linalg().diagonal(self, offset, axis1, axis2),
    "item": lambda self: concrete(self).item(),
    "tolist": lambda self: concrete(self).tolist(),
    # PyTorch spellings, so Tensor code runs unchanged under the transforms.
    "dim": lambda self: len(self.shape),
    "numel": lambda self: int(np.prod(self.shape, dtype=np.int64)),
    "to": _to,
    "type_as": lambda self, other: E.astype(self, other.dtype),
    "float": lambda self: E.astype(self, np.float32),
    "double": lambda self: E.astype(self, np.float64),
    "long": lambda self: E.astype(self, np.int64),
    "int": lambda self: E.astype(self, np.int32),
    "bool": lambda self: E.astype(self, np.bool_),
    "detach": lambda self: E.stop_gradient(self),
    "clone": lambda self: self,
    "contiguous": lambda self: self,
    "cpu": lambda self: self,
    "bmm": lambda self, other: _linalg().matmul(self, other),
}


install_methods(Tracer)
