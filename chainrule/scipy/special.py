"""``chainrule.scipy.special``: SciPy's special functions, differentiable in forward and reverse mode and batchable.

Elementwise functions are primitives (``chainrule.ops.scipy_special``) whose derivative rules are the closed forms
(``gammaln' = digamma``, ``digamma' = polygamma(1, .)``, Bessel recurrences, ``erfinv' = sqrt(pi)/2
exp(erfinv^2)``, ...); ``logsumexp``, ``softmax``, ``log_softmax`` and ``multigammaln`` are compositions.

Not differentiable (no closed form in SciPy; asking raises ``MissingRuleError`` naming function and argument):
``gammainc``/``gammaincc`` in ``a``, ``betainc`` in ``a`` and ``b``, ``iv``/``ive``/``jv``/``jn``/``yv``/``yn``
in the order, ``polygamma`` in ``n``, ``stdtr`` in ``df``.

>>> import chainrule as cr
>>> import chainrule.scipy.special as csp
>>> round(float(cr.grad(lambda x: csp.gammaln(x) + csp.erf(x))(1.0)), 6)  # digamma(1) + 2 exp(-1) / sqrt(pi)
-0.162108
"""
import math

import numpy as np

from ..core.trace import Tracer
from ..ops import elementwise as _E
from ..ops import reduction as _R
from ..ops import shape as _S
from ..ops._util import as_operand, dtype_of, normalize_axes, shape_of
from ..ops.scipy_special import (beta, betainc, betaln, digamma, entr, erf, erfc, erfcinv, erfinv, gamma,  # noqa: F401
                                  gammainc, gammaincc, gammaln, gammasgn, i0, i0e, i1, i1e, iv, ive, j0, j1, jn, jv,
                                  log_ndtr, ndtr, ndtri, polygamma, psi, rgamma, stdtr, xlog1py, xlogy, y0, y1, yn,
                                  yv)
from ..ops.special import expit, logit  # noqa: F401

__all__ = ["beta", "betainc", "betaln", "gamma", "gammaln", "gammasgn", "rgamma", "gammainc", "gammaincc",
           "digamma", "psi", "polygamma", "multigammaln", "erf", "erfc", "erfinv", "erfcinv", "ndtr", "log_ndtr",
           "ndtri", "expit", "logit", "logsumexp", "xlogy", "xlog1py", "entr", "softmax", "log_softmax", "i0", "i1",
           "i0e", "i1e", "iv", "ive", "j0", "j1", "jv", "jn", "y0", "y1", "yv", "yn", "stdtr"]


def _floating(a):
    """``a`` as an array or traced value of a floating dtype (integers become float64)."""
    if not isinstance(a, Tracer):
        a = np.asarray(a)
    if not np.issubdtype(a.dtype, np.inexact):
        a = _E.astype(a, np.float64)
    return a


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    """``log(sum(b * exp(a)))`` over ``axis``, computed stably (SciPy's signature and semantics).

    Entries whose weight ``b`` is 0 are ignored (even infinite ones). With ``return_sign=True`` the result is
    ``(log|s|, sign(s))`` so negative weights may be used; otherwise a negative sum gives ``nan``.

    >>> import numpy as np
    >>> round(float(logsumexp(np.array([1.0, 2.0]), b=np.array([1.0, -1.0]), return_sign=True)[0]), 6)
    1.541325
    """
    a = _floating(a)
    if b is not None:
        b = as_operand(b)
        sa, sb = shape_of(a), shape_of(b)
        try:
            shape = np.broadcast_shapes(sa, sb)
        except ValueError:
            raise ValueError(f"logsumexp: a of shape {sa} and b of shape {sb} cannot be broadcast together") from None
        if sa != shape:
            a = _S.broadcast_to(a, shape)
        if sb != shape:
            b = _S.broadcast_to(b, shape)
        a = _E.where(b != 0, a, -np.inf)
    if len(shape_of(a)) == 0:
        a = _S.reshape(a, (1,))
        if b is not None:
            b = _S.reshape(b, (1,))
    axes = normalize_axes(axis, len(shape_of(a)))
    shape = shape_of(a)
    if math.prod(shape) == 0:
        kept = tuple(1 if i in axes else d for i, d in enumerate(shape))
        out = np.full(kept, -np.inf, dtype_of(a))
        sgn = np.sign(out)
    else:
        m = _E.stop_gradient(_R.max(a, axis=axes, keepdims=True))
        m = _E.where(_E.isfinite(m), m, 0)
        e = _E.exp(a - m)
        if b is not None:
            e = e * b
        s = _R.sum(e, axis=axes, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            if return_sign:
                sgn = _E.sign(s)
                out = _E.log(_E.abs(s)) + m
            else:
                out = _E.log(s) + m
    if not keepdims:
        out = _S.squeeze(out, axes)
        if return_sign:
            sgn = _S.squeeze(sgn, axes)
    return (out, sgn) if return_sign else out


def log_softmax(x, axis=None):
    """``x - logsumexp(x, axis)``; as in SciPy the default ``axis=None`` normalises over all elements.

    >>> import numpy as np
    >>> bool(np.allclose(np.exp(log_softmax(np.array([1.0, 2.0]))).sum(), 1.0))
    True
    """
    x = _floating(x)
    return x - logsumexp(x, axis=axis, keepdims=True)


def softmax(x, axis=None):
    """``exp(x) / sum(exp(x))`` along ``axis`` (all elements when ``axis`` is None, as in SciPy).

    >>> import numpy as np
    >>> softmax(np.array([[0.0, 0.0], [0.0, 0.0]]))
    array([[0.25, 0.25],
           [0.25, 0.25]])
    """
    return _E.exp(log_softmax(x, axis))


def multigammaln(a, d):
    """The log of the multivariate gamma function of dimension ``d``:
    ``d (d-1)/4 log(pi) + sum_{j=0}^{d-1} gammaln(a - j/2)``. Requires ``a > (d-1)/2`` (a ``ValueError``
    otherwise, as in SciPy).

    >>> import numpy as np
    >>> round(float(multigammaln(3.0, 2)), 6)
    1.550195
    """
    if not (isinstance(d, (int, np.integer)) and not isinstance(d, bool)) or d < 1:
        raise ValueError(f"multigammaln: d should be a positive integer (dimension), got {d!r}")
    a = _floating(a)
    from ..core.trace import concrete
    if np.any(np.asarray(concrete(a)) <= 0.5 * (d - 1)):
        raise ValueError(f"multigammaln: condition a > 0.5 * (d-1) = {0.5 * (d - 1)} not met")
    offsets = (np.arange(d) * 0.5).astype(dtype_of(a))
    shifted = _S.expand_dims(a, -1) - offsets
    return _R.sum(gammaln(shifted), axis=-1) + d * (d - 1) * 0.25 * math.log(math.pi)
