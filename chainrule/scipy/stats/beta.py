"""The beta distribution, ``scipy.stats.beta``'s functions: ``pdf``, ``logpdf``, ``cdf``, ``logcdf``, ``sf``,
``logsf`` with signature ``(x, a, b, loc=0, scale=1)`` and support ``[loc, loc + scale]``.

``logpdf``/``pdf`` are differentiable in every argument; the distribution functions in ``x``, ``loc`` and
``scale`` only (``betainc`` has no closed-form derivative in ``a`` or ``b``: asking raises ``MissingRuleError``).

>>> from chainrule.scipy.stats import beta
>>> float(beta.cdf(0.5, 2.0, 2.0))
0.5
"""
import numpy as np

from ...ops import elementwise as E
from ...ops.scipy_special import betainc, betaln, xlog1py, xlogy
from ._common import both, floats, inside, positive, restrict, standardize

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"]

_NAN = float("nan")


def _prepare(x, a, b, loc, scale):
    x, a, b, loc, scale = floats(x, a, b, loc, scale)
    a, ok_a = positive(a)
    b, ok_b = positive(b)
    z, log_scale, ok = standardize(x, loc, scale)
    return z, a, b, log_scale, both(both(ok_a, ok_b), ok)


def logpdf(x, a, b, loc=0, scale=1):
    """``(a-1) log z + (b-1) log(1-z) - betaln(a, b) - log(scale)`` with ``z = (x - loc) / scale``; ``-inf``
    outside ``[0, 1]``, ``nan`` for invalid parameters.

    >>> round(float(logpdf(0.5, 2.0, 2.0)), 6)  # log 1.5
    0.405465
    """
    z, a, b, log_scale, ok = _prepare(x, a, b, loc, scale)
    z, support = inside(z, 0.0, 1.0)
    with np.errstate(divide="ignore"):
        out = xlogy(a - 1, z) + xlog1py(b - 1, -z) - betaln(a, b) - log_scale
    return restrict(ok, restrict(support, out, -np.inf), _NAN)


def pdf(x, a, b, loc=0, scale=1):
    """The beta density.

    >>> float(pdf(0.5, 2.0, 2.0))
    1.5
    """
    return E.exp(logpdf(x, a, b, loc, scale))


def _clipped(x, a, b, loc, scale):
    z, a, b, _, ok = _prepare(x, a, b, loc, scale)
    z = E.where(z < 0, 0.0, E.where(z > 1, 1.0, z))
    return z, a, b, ok


def cdf(x, a, b, loc=0, scale=1):
    """The beta distribution function ``betainc(a, b, z)`` (0 below the support, 1 above).

    >>> float(cdf(0.25, 1.0, 1.0))
    0.25
    """
    z, a, b, ok = _clipped(x, a, b, loc, scale)
    return restrict(ok, betainc(a, b, z), _NAN)


def sf(x, a, b, loc=0, scale=1):
    """The survival function ``betainc(b, a, 1 - z)`` (accurate where ``cdf`` is close to 1).

    >>> float(sf(0.25, 1.0, 1.0))
    0.75
    """
    z, a, b, ok = _clipped(x, a, b, loc, scale)
    return restrict(ok, betainc(b, a, 1 - z), _NAN)


def logcdf(x, a, b, loc=0, scale=1):
    """``log(cdf)``.

    >>> round(float(logcdf(0.25, 1.0, 1.0)), 6)
    -1.386294
    """
    with np.errstate(divide="ignore"):
        return E.log(cdf(x, a, b, loc, scale))


def logsf(x, a, b, loc=0, scale=1):
    """``log(sf)``.

    >>> round(float(logsf(0.75, 1.0, 1.0)), 6)
    -1.386294
    """
    with np.errstate(divide="ignore"):
        return E.log(sf(x, a, b, loc, scale))
