"""``chainrule.numpy.random``: NumPy's ``random`` module.

Sampling functions are NumPy's own (``seed``, ``rand``, ``randn``, ``randint``, ``RandomState``,
``default_rng``, ...), sharing NumPy's global state, so seeded programs draw the same numbers as with NumPy.
Their results are constants. Three samplers are differentiable in their parameters by reparameterisation:
``normal(loc, scale)`` is ``loc + scale * standard_normal()``, ``uniform(low, high)`` is
``low + (high - low) * random_sample()`` and ``exponential(scale)`` is ``scale * standard_exponential()``,
drawing from the same stream as NumPy. Any other sampler handed a traced parameter raises a TypeError naming it.

>>> import chainrule as cr, chainrule.numpy as cnp
>>> cnp.random.seed(0)
>>> float(cr.grad(lambda mu: cnp.random.normal(mu, 2.0))(1.0))
1.0
"""
import numpy as _np
import numpy.random as _npr

from ..core.trace import Tracer as _Tracer
from ..core.tree import tree_leaves as _leaves

__all__ = [n for n in getattr(_npr, "__all__", []) if not n.startswith("_")]

# NumPy's names first (plain, constant samplers and the generator classes) ...
globals().update({n: getattr(_npr, n) for n in __all__ if hasattr(_npr, n)})


def _any_traced(*args, **kwargs):
    return any(isinstance(x, _Tracer) for x in _leaves((args, kwargs)))


def _shape(size, *params):
    if size is not None:
        return (int(size),) if isinstance(size, (int, _np.integer)) else tuple(int(d) for d in size)
    return _np.broadcast_shapes(*[tuple(getattr(p, "shape", _np.shape(p))) for p in params])


def _reject(name):
    fn = getattr(_npr, name)

    def sampler(*args, **kwargs):
        if _any_traced(*args, **kwargs):
            raise TypeError(f"numpy.random.{name} is not differentiable in its parameters and does not accept "
                            f"traced values; only normal, uniform and exponential are reparameterised in "
                            f"chainrule.numpy.random.")
        return fn(*args, **kwargs)

    sampler.__name__ = sampler.__qualname__ = name
    sampler.__doc__ = (f"``numpy.random.{name}`` (NumPy's sampler and global state; see NumPy's documentation). "
                       f"Its samples are constants; it rejects traced parameters.")
    return sampler


for _name in list(__all__):
    _obj = getattr(_npr, _name, None)
    if callable(_obj) and not isinstance(_obj, type) and _name not in ("normal", "uniform", "exponential"):
        globals()[_name] = _reject(_name)


def normal(loc=0.0, scale=1.0, size=None):
    """Samples of N(``loc``, ``scale`` ** 2): NumPy's draws, differentiable in ``loc`` and ``scale``.

    >>> seed(0); a = normal(1.0, 2.0, 3); seed(0)
    >>> bool(_np.allclose(a, _npr.normal(1.0, 2.0, 3)))
    True
    """
    if not _any_traced(loc, scale):
        return _npr.normal(loc, scale, size)
    return loc + scale * _npr.standard_normal(_shape(size, loc, scale))


def uniform(low=0.0, high=1.0, size=None):
    """Samples of U[``low``, ``high``): NumPy's draws, differentiable in ``low`` and ``high``.

    >>> seed(0); a = uniform(1.0, 2.0, 3); seed(0)
    >>> bool(_np.allclose(a, _npr.uniform(1.0, 2.0, 3)))
    True
    """
    if not _any_traced(low, high):
        return _npr.uniform(low, high, size)
    return low + (high - low) * _npr.random_sample(_shape(size, low, high))


def exponential(scale=1.0, size=None):
    """Samples of the exponential distribution with mean ``scale``, differentiable in ``scale``.

    >>> seed(0); a = exponential(2.0, 3); seed(0)
    >>> bool(_np.allclose(a, _npr.exponential(2.0, 3)))
    True
    """
    if not _any_traced(scale):
        return _npr.exponential(scale, size)
    return scale * _npr.standard_exponential(_shape(size, scale))


def __getattr__(name):
    try:
        return getattr(_npr, name)
    except AttributeError:
        raise AttributeError(f"module 'chainrule.numpy.random' has no attribute {name!r} (nor does numpy.random)") \
            from None
