"""Student's t distribution, ``scipy.stats.t``'s functions: ``pdf``, ``logpdf``, ``cdf``, ``logcdf``, ``sf``,
``logsf`` with signature ``(x, df, loc=0, scale=1)``.

``logpdf``/``pdf`` are differentiable in every argument; the distribution functions (``cdf``, ``sf`` and their
logs) in ``x``, ``loc`` and ``scale`` but not ``df`` (``stdtr`` has no closed-form derivative in ``df``; asking
for it raises ``MissingRuleError``).

>>> from chainrule.scipy.stats import t
>>> float(t.cdf(0.0, 4.0))
0.5
"""
import math

import numpy as np

from ...ops import elementwise as E
from ...ops.scipy_special import gammaln, stdtr
from ._common import both, floats, positive, restrict, standardize

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"]

_NAN = float("nan")
_LOG_PI = math.log(math.pi)


def _prepare(x, df, loc, scale):
    x, df, loc, scale = floats(x, df, loc, scale)
    df, ok_df = positive(df)
    z, log_scale, ok = standardize(x, loc, scale)
    return z, df, log_scale, both(ok, ok_df)


def logpdf(x, df, loc=0, scale=1):
    """Log of the t density with ``df`` degrees of freedom; ``nan`` for ``df <= 0`` or ``scale <= 0``.

    >>> round(float(logpdf(0.0, 1.0)), 6)  # Cauchy: -log(pi)
    -1.14473
    """
    z, df, log_scale, ok = _prepare(x, df, loc, scale)
    half = (df + 1) * 0.5
    out = (gammaln(half) - gammaln(df * 0.5) - 0.5 * (E.log(df) + _LOG_PI) - half * E.log1p(z * z / df)
           - log_scale)
    return restrict(ok, out, _NAN)


def pdf(x, df, loc=0, scale=1):
    """The t density.

    >>> round(float(pdf(0.0, 1.0)), 6)  # Cauchy: 1/pi
    0.31831
    """
    return E.exp(logpdf(x, df, loc, scale))


def cdf(x, df, loc=0, scale=1):
    """The t distribution function, ``stdtr(df, z)``.

    >>> round(float(cdf(1.0, 1.0)), 6)  # Cauchy: 3/4
    0.75
    """
    z, df, _, ok = _prepare(x, df, loc, scale)
    return restrict(ok, stdtr(df, z), _NAN)


def sf(x, df, loc=0, scale=1):
    """The survival function ``stdtr(df, -z)``.

    >>> round(float(sf(1.0, 1.0)), 6)
    0.25
    """
    z, df, _, ok = _prepare(x, df, loc, scale)
    return restrict(ok, stdtr(df, -z), _NAN)


def logcdf(x, df, loc=0, scale=1):
    """``log(cdf)``.

    >>> round(float(logcdf(1.0, 1.0)), 6)
    -0.287682
    """
    with np.errstate(divide="ignore"):
        return E.log(cdf(x, df, loc, scale))


def logsf(x, df, loc=0, scale=1):
    """``log(sf)``.

    >>> round(float(logsf(-1.0, 1.0)), 6)
    -0.287682
    """
    with np.errstate(divide="ignore"):
        return E.log(sf(x, df, loc, scale))

