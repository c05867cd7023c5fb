"""``chainrule.scipy``: SciPy's functions, differentiable (an optional part: ``pip install chainrule[scipy]``).

Subpackages mirror SciPy's: ``special``, ``stats``, ``linalg``, ``signal``, ``integrate``. They are imported on
first use, and only this package (never chainrule's core) imports SciPy.

>>> import chainrule as cr
>>> import chainrule.scipy as csp
>>> round(float(cr.grad(csp.special.gammaln)(1.0)), 6)  # digamma(1) = -euler_gamma
-0.577216
"""
import importlib

try:
    import scipy as _scipy  # noqa: F401
except ImportError as e:  # pragma: no cover - exercised only without SciPy
    raise ImportError("chainrule.scipy needs SciPy, an optional dependency: pip install 'chainrule[scipy]'") from e

_SUBMODULES = ("special", "stats", "linalg", "signal", "integrate")
__all__ = list(_SUBMODULES)


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'chainrule.scipy' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SUBMODULES))
