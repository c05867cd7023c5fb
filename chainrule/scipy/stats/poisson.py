"""The Poisson distribution, ``scipy.stats.poisson``'s functions: ``pmf``, ``logpmf``, ``cdf``, ``logcdf``,
``sf``, ``logsf`` with signature ``(k, mu, loc=0)``, differentiable in ``mu``. ``k`` is a count: it is treated as a
constant (its derivative is zero wherever the function is defined) and takes ``mu``'s dtype.

>>> import chainrule as cr
>>> from chainrule.scipy.stats import poisson
>>> float(cr.grad(lambda mu: poisson.logpmf(3, mu))(2.0))  # k / mu - 1
0.5
"""
import numpy as np

from ...core.trace import Tracer
from ...ops import elementwise as E
from ...ops.scipy_special import gammainc, gammaincc, gammaln, xlogy
from ._common import all_true, floats, restrict

__all__ = ["logpmf", "pmf", "cdf", "logcdf", "sf", "logsf"]

_NAN = float("nan")


def _prepare(k, mu, loc):
    """``k - loc`` (a constant count) and ``mu``, in ``mu``'s floating dtype: counts never widen the result."""
    mu, = floats(mu)
    k, loc = (E.astype(v, mu.dtype) if isinstance(v, Tracer) else np.asarray(v, mu.dtype) for v in (k, loc))
    return E.stop_gradient(k - loc), mu


def _mu_ok(mu):
    ok = mu >= 0
    if all_true(ok):
        return mu, None
    return E.where(ok, mu, 1), ok


def logpmf(k, mu, loc=0):
    """``k log(mu) - mu - gammaln(k + 1)`` at ``k - loc``; ``-inf`` where that is not a non-negative integer.

    >>> round(float(logpmf(0, 2.0)), 6)
    -2.0
    """
    k, mu = _prepare(k, mu, loc)
    mu, ok = _mu_ok(mu)
    valid = (k >= 0) & (E.floor(k) == k)
    if all_true(valid):
        valid = None
    else:
        k = E.where(valid, k, 0)
    out = xlogy(k, mu) - mu - gammaln(k + 1)
    return restrict(ok, restrict(valid, out, -np.inf), _NAN)


def pmf(k, mu, loc=0):
    """The Poisson probability mass function.

    >>> round(float(pmf(1, 2.0)), 6)  # 2 exp(-2)
    0.270671
    """
    return E.exp(logpmf(k, mu, loc))


def _counts(k, mu, loc):
    k, mu = _prepare(k, mu, loc)
    k = E.floor(k)
    mu, ok = _mu_ok(mu)
    below = k < 0
    if all_true(~below):
        below = None
    else:
        k = E.where(below, 0, k)
    return k, mu, ok, below


def cdf(k, mu, loc=0):
    """``P(K <= k) = gammaincc(floor(k) + 1, mu)`` (0 for ``k < 0``).

    >>> round(float(cdf(1, 2.0)), 6)  # 3 exp(-2)
    0.406006
    """
    k, mu, ok, below = _counts(k, mu, loc)
    out = gammaincc(k + 1, mu)
    if below is not None:
        out = E.where(below, 0.0, out)
    return restrict(ok, out, _NAN)


def sf(k, mu, loc=0):
    """``P(K > k) = gammainc(floor(k) + 1, mu)`` (1 for ``k < 0``).

    >>> round(float(sf(1, 2.0)), 6)
    0.593994
    """
    k, mu, ok, below = _counts(k, mu, loc)
    out = gammainc(k + 1, mu)
    if below is not None:
        out = E.where(below, 1.0, out)
    return restrict(ok, out, _NAN)


def logcdf(k, mu, loc=0):
    """``log(cdf)``.

    >>> round(float(logcdf(0, 2.0)), 6)
    -2.0
    """
    with np.errstate(divide="ignore"):
        return E.log(cdf(k, mu, loc))


def logsf(k, mu, loc=0):
    """``log(sf)``.

    >>> round(float(logsf(-1, 2.0)), 6)
    0.0
    """
    with np.errstate(divide="ignore"):
        return E.log(sf(k, mu, loc))
