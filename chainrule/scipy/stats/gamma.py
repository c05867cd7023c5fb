"""The gamma distribution, ``scipy.stats.gamma``'s functions: ``pdf``, ``logpdf``, ``cdf``, ``logcdf``, ``sf``,
``logsf`` with signature ``(x, a, loc=0, scale=1)``.

``logpdf``/``pdf`` are differentiable in every argument; the distribution functions in ``x``, ``loc`` and
``scale`` only (``gammainc`` has no closed-form derivative in ``a``: asking raises ``MissingRuleError``).

>>> from chainrule.scipy.stats import gamma
>>> round(float(gamma.cdf(1.0, 1.0)), 6)  # 1 - exp(-1)
0.632121
"""
import numpy as np

from ...ops import elementwise as E
from ...ops.scipy_special import gammainc, gammaincc, gammaln, xlogy
from ._common import both, floats, inside, positive, restrict, standardize

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"]

_NAN = float("nan")


def _prepare(x, a, loc, scale):
    x, a, loc, scale = floats(x, a, loc, scale)
    a, ok_a = positive(a)
    z, log_scale, ok = standardize(x, loc, scale)
    return z, a, log_scale, both(ok_a, ok)


def logpdf(x, a, loc=0, scale=1):
    """``(a-1) log z - z - gammaln(a) - log(scale)`` with ``z = (x - loc) / scale``; ``-inf`` for ``z < 0``.

    >>> float(logpdf(1.0, 1.0))
    -1.0
    """
    z, a, log_scale, ok = _prepare(x, a, loc, scale)
    z, support = inside(z, 0.0)
    with np.errstate(divide="ignore"):
        out = xlogy(a - 1, z) - z - gammaln(a) - log_scale
    return restrict(ok, restrict(support, out, -np.inf), _NAN)


def pdf(x, a, loc=0, scale=1):
    """The gamma density.

    >>> round(float(pdf(1.0, 1.0)), 6)
    0.367879
    """
    return E.exp(logpdf(x, a, loc, scale))


def _clipped(x, a, loc, scale):
    z, a, _, ok = _prepare(x, a, loc, scale)
    return E.where(z < 0, 0.0, z), a, ok


def cdf(x, a, loc=0, scale=1):
    """The gamma distribution function ``gammainc(a, z)`` (0 for ``z < 0``).

    >>> float(cdf(-1.0, 2.0))
    0.0
    """
    z, a, ok = _clipped(x, a, loc, scale)
    return restrict(ok, gammainc(a, z), _NAN)


def sf(x, a, loc=0, scale=1):
    """The survival function ``gammaincc(a, z)``.

    >>> round(float(sf(1.0, 1.0)), 6)
    0.367879
    """
    z, a, ok = _clipped(x, a, loc, scale)
    return restrict(ok, gammaincc(a, z), _NAN)


def logcdf(x, a, loc=0, scale=1):
    """``log(cdf)``.

    >>> round(float(logcdf(1.0, 1.0)), 6)
    -0.458675
    """
    with np.errstate(divide="ignore"):
        return E.log(cdf(x, a, loc, scale))


def logsf(x, a, loc=0, scale=1):
    """``log(sf)``.

    >>> float(logsf(2.0, 1.0))
    -2.0
    """
    with np.errstate(divide="ignore"):
        return E.log(sf(x, a, loc, scale))
