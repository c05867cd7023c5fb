"""The normal distribution, ``scipy.stats.norm``'s functions: ``pdf``, ``logpdf``, ``cdf``, ``logcdf``, ``sf``,
``logsf``, ``ppf``, ``isf``, differentiable in every argument (``x``/``q``, ``loc``, ``scale``).

>>> import chainrule as cr
>>> from chainrule.scipy.stats import norm
>>> float(cr.grad(norm.logpdf)(1.0))  # d/dx of -x^2/2
-1.0
"""
from ...ops import elementwise as E
from ...ops.scipy_special import log_ndtr, ndtr, ndtri
from ._common import HALF_LOG_2PI, floats, positive, restrict, standardize

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"]

_NAN = float("nan")


def logpdf(x, loc=0, scale=1):
    """Log of the normal density ``-((x - loc) / scale)**2 / 2 - log(scale) - log(2 pi) / 2``; ``nan`` for
    ``scale <= 0``.

    >>> round(float(logpdf(0.0)), 6)
    -0.918939
    """
    x, loc, scale = floats(x, loc, scale)
    z, log_scale, ok = standardize(x, loc, scale)
    return restrict(ok, -0.5 * (z * z) - log_scale - HALF_LOG_2PI, _NAN)


def pdf(x, loc=0, scale=1):
    """The normal density.

    >>> round(float(pdf(0.0)), 6)
    0.398942
    """
    return E.exp(logpdf(x, loc, scale))


def _std(x, loc, scale):
    x, loc, scale = floats(x, loc, scale)
    z, _, ok = standardize(x, loc, scale)
    return z, ok


def cdf(x, loc=0, scale=1):
    """The normal distribution function ``ndtr((x - loc) / scale)``.

    >>> float(cdf(0.0))
    0.5
    """
    z, ok = _std(x, loc, scale)
    return restrict(ok, ndtr(z), _NAN)


def logcdf(x, loc=0, scale=1):
    """``log(cdf)``, accurate far into the left tail (``log_ndtr``).

    >>> round(float(logcdf(-40.0)), 3)
    -804.608
    """
    z, ok = _std(x, loc, scale)
    return restrict(ok, log_ndtr(z), _NAN)


def sf(x, loc=0, scale=1):
    """The survival function ``1 - cdf``, computed as ``ndtr(-z)``.

    >>> float(sf(0.0))
    0.5
    """
    z, ok = _std(x, loc, scale)
    return restrict(ok, ndtr(-z), _NAN)


def logsf(x, loc=0, scale=1):
    """``log(sf)``, accurate far into the right tail.

    >>> round(float(logsf(40.0)), 3)
    -804.608
    """
    z, ok = _std(x, loc, scale)
    return restrict(ok, log_ndtr(-z), _NAN)


def ppf(q, loc=0, scale=1):
    """The quantile function ``loc + scale * ndtri(q)`` (inverse of ``cdf``).

    >>> float(ppf(0.5, loc=2.0))
    2.0
    """
    q, loc, scale = floats(q, loc, scale)
    scale, ok = positive(scale)
    return restrict(ok, loc + scale * ndtri(q), _NAN)


def isf(q, loc=0, scale=1):
    """The inverse survival function ``loc - scale * ndtri(q)``.

    >>> float(isf(0.5))
    0.0
    """
    q, loc, scale = floats(q, loc, scale)
    scale, ok = positive(scale)
    return restrict(ok, loc - scale * ndtri(q), _NAN)
