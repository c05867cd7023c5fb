"""The chi-squared distribution, ``scipy.stats.chi2``'s functions: ``pdf``, ``logpdf``, ``cdf``, ``logcdf``,
``sf``, ``logsf`` with signature ``(x, df, loc=0, scale=1)``: the gamma distribution with shape ``df / 2`` and
scale ``2 * scale``.

``logpdf``/``pdf`` are differentiable in every argument; the distribution functions in ``x``, ``loc`` and
``scale`` only (not ``df``: see ``chainrule.scipy.special.gammainc``).

>>> from chainrule.scipy.stats import chi2
>>> round(float(chi2.cdf(2.0, 2.0)), 6)  # 1 - exp(-1)
0.632121
"""
from . import gamma as _gamma
from ._common import floats

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"]


def _as_gamma(x, df, loc, scale):
    x, df, loc, scale = floats(x, df, loc, scale)
    return x, df * 0.5, loc, scale * 2


def logpdf(x, df, loc=0, scale=1):
    """Log of the chi-squared density.

    >>> round(float(logpdf(2.0, 2.0)), 6)  # log(exp(-1) / 2)
    -1.693147
    """
    return _gamma.logpdf(*_as_gamma(x, df, loc, scale))


def pdf(x, df, loc=0, scale=1):
    """The chi-squared density.

    >>> float(pdf(0.0, 2.0))
    0.5
    """
    return _gamma.pdf(*_as_gamma(x, df, loc, scale))


def cdf(x, df, loc=0, scale=1):
    """The chi-squared distribution function ``gammainc(df / 2, z / 2)``.

    >>> float(cdf(0.0, 3.0))
    0.0
    """
    return _gamma.cdf(*_as_gamma(x, df, loc, scale))


def sf(x, df, loc=0, scale=1):
    """The survival function ``gammaincc(df / 2, z / 2)``.

    >>> round(float(sf(2.0, 2.0)), 6)
    0.367879
    """
    return _gamma.sf(*_as_gamma(x, df, loc, scale))


def logcdf(x, df, loc=0, scale=1):
    """``log(cdf)``.

    >>> round(float(logcdf(2.0, 2.0)), 6)
    -0.458675
    """
    return _gamma.logcdf(*_as_gamma(x, df, loc, scale))


def logsf(x, df, loc=0, scale=1):
    """``log(sf)``.

    >>> float(logsf(4.0, 2.0))
    -2.0
    """
    return _gamma.logsf(*_as_gamma(x, df, loc, scale))
