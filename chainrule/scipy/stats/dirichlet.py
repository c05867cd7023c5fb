"""The Dirichlet distribution, ``scipy.stats.dirichlet``'s ``pdf`` and ``logpdf`` with signature ``(x, alpha)``,
differentiable in ``x`` and ``alpha``.

As in SciPy the components run along the *first* axis of ``x``: ``x`` has shape ``(K,)`` or ``(K, N)`` for ``K``
concentration parameters (or ``K - 1`` components, the last one then being ``1 - sum``); inputs are checked with
SciPy's messages.

>>> import numpy as np
>>> from chainrule.scipy.stats import dirichlet
>>> round(float(dirichlet.logpdf(np.array([0.2, 0.3, 0.5]), np.array([1.0, 2.0, 3.0]))), 6)
1.504077
"""
import numpy as np

from ...core.trace import concrete
from ...ops import elementwise as E
from ...ops import reduction as R
from ...ops import shape as S
from ...ops.scipy_special import gammaln, xlogy
from ._common import floats

__all__ = ["logpdf", "pdf"]


def _check(x, alpha):
    a = np.asarray(concrete(alpha))
    if np.min(a) <= 0:
        raise ValueError("dirichlet: all parameters must be greater than 0")
    if alpha.ndim != 1:
        raise ValueError(f"dirichlet: parameter vector 'alpha' must be one dimensional, but alpha.shape = "
                         f"{tuple(alpha.shape)}")
    k = alpha.shape[0]
    if x.ndim not in (1, 2) or x.shape[0] not in (k, k - 1):
        raise ValueError(f"dirichlet: 'x' must have either the same number of entries as, or one entry fewer than, "
                         f"parameter vector 'alpha' along its first axis, but alpha.shape = {tuple(alpha.shape)} "
                         f"and x.shape = {tuple(x.shape)}")
    if x.shape[0] == k - 1:
        x = S.concatenate([x, 1 - R.sum(x, axis=0, keepdims=True)], axis=0)
    xs = E.stop_gradient(x)
    xc = np.asarray(concrete(xs))
    if np.min(xc) < 0:
        raise ValueError("dirichlet: each entry in 'x' must be greater than or equal to zero")
    if np.max(xc) > 1:
        raise ValueError("dirichlet: each entry in 'x' must be smaller or equal one")
    a_col = alpha if x.ndim == 1 else S.reshape(alpha, (k, 1))
    if not np.all(np.asarray(concrete(~((xs == 0) & (E.stop_gradient(a_col) < 1))))):
        raise ValueError("dirichlet: each entry in 'x' must be greater than zero if its alpha is less than one")
    if not np.all(np.asarray(concrete(E.abs(R.sum(xs, axis=0) - 1) <= 1e-9))):
        raise ValueError("dirichlet: the input vector 'x' must lie within the normal simplex (its entries along the "
                         "first axis must sum to 1)")
    return x, a_col


def logpdf(x, alpha):
    """``sum((alpha - 1) log x) - (sum(gammaln(alpha)) - gammaln(sum(alpha)))`` over the first axis.

    >>> import numpy as np
    >>> float(logpdf(np.array([0.5, 0.5]), np.array([1.0, 1.0])))
    0.0
    """
    x, alpha = floats(x, alpha)
    x, a_col = _check(x, alpha)
    log_b = R.sum(gammaln(alpha)) - gammaln(R.sum(alpha))
    out = R.sum(xlogy(a_col - 1, x), axis=0) - log_b
    return S.squeeze(out) if out.ndim else out


def pdf(x, alpha):
    """The Dirichlet density.

    >>> import numpy as np
    >>> float(pdf(np.array([0.25, 0.75]), np.array([2.0, 1.0])))  # Beta(2, 1) density 2x at x = 0.25
    0.5
    """
    return E.exp(logpdf(x, alpha))
