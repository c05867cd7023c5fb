"""NumPy's own functions on traced values: ``__array_function__`` dispatch to ``chainrule.numpy``.

Invariant: a NumPy function called with a traced value (a Tracer or a Tensor among its array arguments) runs the
``chainrule.numpy`` function of the same name and submodule, or raises a ``TypeError`` that names the function.
It never runs NumPy's code on the traced value's data, which would return a result cut off from the
derivative (silently constant). The table pairs every public NumPy function with the chainrule function that
``chainrule.numpy`` (``.linalg``, ``.fft``) defines under the same name; it is built on first use, once the
submodules are imported, and rebuilt when they change (``refresh``).

Ufuncs (``numpy.sin``) dispatch through ``__array_ufunc__`` instead (``chainrule.ops.methods``).
"""
import numpy as np

from ..core.trace import Tracer

_TABLE = None

# Functions that write into their arguments: traced values are immutable.
_IN_PLACE = {"put", "place", "putmask", "copyto", "fill_diagonal", "put_along_axis", "ndarray.fill"}


def _entries(np_mod, cr_mod, prefix):
    out = {}
    own = vars(cr_mod)
    for name in dir(np_mod):
        if name.startswith("_"):
            continue
        f = getattr(np_mod, name, None)
        if f is None or isinstance(f, (type, np.ufunc)) or not callable(f):
            continue
        g = own.get(name)
        if g is None or g is f or not callable(g) or isinstance(g, type):
            continue
        out[f] = g
    return out


def refresh():
    """Rebuild the dispatch table (after a submodule such as ``chainrule.numpy.linalg`` gains functions)."""
    global _TABLE
    import chainrule.numpy as cnp
    table = _entries(np, cnp, "")
    for sub in ("linalg", "fft"):
        mod = getattr(cnp, sub, None)
        if mod is not None and hasattr(np, sub):
            table.update(_entries(getattr(np, sub), mod, sub + "."))
    _TABLE = table
    return table


def _qualname(func):
    mod = getattr(func, "__module__", "") or ""
    name = getattr(func, "__name__", repr(func))
    for sub in ("linalg", "fft", "random"):
        if f".{sub}" in mod or mod.endswith(sub):
            return f"numpy.{sub}.{name}"
    return f"numpy.{name}"


def array_function(self, func, types, args, kwargs):
    """``Tracer.__array_function__``: run the chainrule version of ``func`` or raise a TypeError naming it."""
    table = _TABLE if _TABLE is not None else refresh()
    impl = table.get(func)
    if impl is None:
        name = _qualname(func)
        short = name.rsplit(".", 1)[-1]
        if short in _IN_PLACE:
            raise TypeError(f"{name} writes into its argument, but traced values are immutable: use "
                            f"chainrule.numpy.index_update(x, idx, y) or x.at[idx].set(y) to build the updated "
                            f"array instead.")
        raise TypeError(f"{name} is not supported on traced values: chainrule.numpy has no implementation of it, "
                        f"and NumPy's own would return a result cut off from the derivative. Use a chainrule.numpy "
                        f"function instead, or compute it outside the transformed function.")
    return impl(*args, **kwargs)


def _setitem(self, idx, value):
    raise TypeError(f"Traced values are immutable: item assignment (x[{idx!r}] = ...) is not supported inside a "
                    f"transform. Use x.at[idx].set(value) or chainrule.numpy.index_update(x, idx, value), which "
                    f"return the updated array.")


def _complex_parts():
    from ..ops import elementwise as E
    return {"real": property(lambda self: E.real(self)), "imag": property(lambda self: E.imag(self)),
            "conj": lambda self: E.conjugate(self), "conjugate": lambda self: E.conjugate(self)}


def install():
    """Give ``Tracer`` (and so ``Tensor``, unless it overrides them) ``__array_function__``, an informative
    ``__setitem__``, and the complex-part attributes of NumPy arrays (``x.real``, ``x.imag``, ``x.conj()``) where
    the operator/method table does not define them."""
    Tracer.__array_function__ = array_function
    if "__setitem__" not in vars(Tracer):
        Tracer.__setitem__ = _setitem
    for name, attr in _complex_parts().items():
        if not hasattr(Tracer, name):
            setattr(Tracer, name, attr)
