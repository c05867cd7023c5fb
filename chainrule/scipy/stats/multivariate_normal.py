"""The multivariate normal distribution, ``scipy.stats.multivariate_normal``'s ``logpdf``, ``pdf`` and ``entropy``
with SciPy's signatures ``(x, mean=None, cov=1, allow_singular=False)``, differentiable in ``x``, ``mean`` and
``cov``.

``cov`` may be a scalar (``cov * I``), a vector (a diagonal) or a full matrix; ``x`` has the components along its
last axis and the result is squeezed as SciPy squeezes it. A full ``cov`` is factored by Cholesky (a
``LinAlgError`` with SciPy's message when it is not positive definite); with ``allow_singular=True`` it goes through
``eigh`` instead, with SciPy's cut-off for negligible eigenvalues (pseudo-determinant and pseudo-inverse, ``-inf``
off the support).

>>> import numpy as np
>>> from chainrule.scipy.stats import multivariate_normal
>>> round(float(multivariate_normal.logpdf(np.zeros(2), cov=np.eye(2))), 6)  # -log(2 pi)
-1.837877
"""
import numpy as np

from ...core.trace import Tracer
from ...ops import elementwise as E
from ...ops import reduction as R
from ...ops import shape as S
from ...ops.linalg import diagonal, matmul
from ._common import LOG_2PI, all_true, floats

__all__ = ["logpdf", "pdf", "entropy"]


def _process(mean, cov):
    """``(dim, mean, cov, kind)`` following SciPy's ``_process_parameters`` (kind: 'scalar', 'diag' or 'full')."""
    if mean is None:
        mean, cov = None, floats(1.0 if cov is None else cov)[0]
        dim = 1 if cov.ndim < 2 else cov.shape[0]
        mean = np.zeros(dim, cov.dtype)
    else:
        mean, cov = floats(mean, 1.0 if cov is None else cov)
        dim = int(np.prod(mean.shape))
        if dim == 1 and mean.ndim != 1:
            mean = S.reshape(mean, (1,))
    if mean.ndim != 1 or mean.shape[0] != dim:
        raise ValueError(f"multivariate_normal: array 'mean' must be a vector of length {dim}")
    if dim == 1 and cov.ndim != 0:
        if int(np.prod(cov.shape)) != 1:
            raise ValueError(f"multivariate_normal: cov of shape {tuple(cov.shape)} does not fit a 1-dimensional "
                             f"distribution")
        cov = S.reshape(cov, ())
    if cov.ndim == 0:
        return dim, mean, cov, "scalar"
    if cov.ndim == 1:
        if cov.shape[0] != dim:
            raise ValueError(f"multivariate_normal: dimension mismatch: diagonal 'cov' has length {cov.shape[0]}, "
                             f"but 'mean' is a vector of length {dim}")
        return dim, mean, cov, "diag"
    if cov.ndim == 2:
        if cov.shape[0] != cov.shape[1]:
            raise ValueError(f"multivariate_normal: array 'cov' must be square if it is two dimensional, but "
                             f"cov.shape = {tuple(cov.shape)}")
        if cov.shape != (dim, dim):
            raise ValueError(f"multivariate_normal: dimension mismatch: array 'cov' is of shape "
                             f"{tuple(cov.shape)}, but 'mean' is a vector of length {dim}")
        return dim, mean, cov, "full"
    raise ValueError(f"multivariate_normal: array 'cov' must be at most two-dimensional, but cov.ndim = {cov.ndim}")


def _quantiles(x, dim, dtype):
    x = floats(x)[0]
    if x.dtype != dtype:
        x, _ = floats(x, np.zeros((), dtype))
    if x.ndim == 0:
        x = S.reshape(x, (1,))
    elif x.ndim == 1:
        x = S.reshape(x, (x.shape[0], 1) if dim == 1 else (1, x.shape[0]))
    if x.shape[-1] != dim:
        raise ValueError(f"multivariate_normal: x has {x.shape[-1]} components along its last axis but the "
                         f"distribution has dimension {dim}")
    return x


def _squeeze(out):
    return S.squeeze(out) if out.ndim else out


def _not_pd():
    return np.linalg.LinAlgError("multivariate_normal: when `allow_singular is False`, the input matrix must be "
                                 "symmetric positive definite.")


def _eps(s):
    """SciPy's cut-off for negligible eigenvalues (``_eigvalsh_to_eps``), per matrix, as a constant."""
    factor = 1e3 if s.dtype == np.float32 else 1e6
    return E.stop_gradient(R.max(E.abs(s), axis=-1, keepdims=True)) * (factor * float(np.finfo(s.dtype).eps))


def _whitener(dim, cov, kind, allow_singular):
    """``(whiten, log_pdet, rank, support)``: ``whiten(dev)`` maps deviations (..., dim) so that the squared norm
    is the Mahalanobis distance; ``support(dev)`` is None or the mask of points in the support."""
    if kind in ("scalar", "diag"):
        ok = cov > 0
        if not all_true(ok):
            if not allow_singular or not all_true(cov >= 0):
                if not all_true(cov >= 0):
                    raise ValueError("multivariate_normal: the input matrix must be symmetric positive semidefinite.")
                raise _not_pd()
        var = cov if kind == "diag" else S.broadcast_to(cov, (dim,))
        keep = var > 0
        if all_true(keep):
            inv_sd = 1 / E.sqrt(var)
            return (lambda dev: dev * inv_sd), R.sum(E.log(var)), dim, None
        safe = E.where(keep, var, 1)
        inv_sd = E.where(keep, 1 / E.sqrt(safe), 0)
        log_pdet = R.sum(E.where(keep, E.log(safe), 0))
        rank = R.sum(E.astype(keep, var.dtype))
        return ((lambda dev: dev * inv_sd), log_pdet, rank,
                lambda dev: R.sum(E.where(keep, 0, dev * dev), axis=-1) == 0)
    if not allow_singular:
        from ...numpy.linalg import cholesky, eigh
        try:
            low = cholesky(cov)
        except np.linalg.LinAlgError:
            raise _not_pd() from None
        from ..linalg import solve_triangular

        def whiten(dev):
            flat = S.reshape(dev, (-1, dim))
            z = solve_triangular(low, S.transpose(flat), lower=True, check_finite=False)
            return S.reshape(S.transpose(z), dev.shape)
        return whiten, 2 * R.sum(E.log(diagonal(low))), dim, None
    from ...numpy.linalg import cholesky, eigh
    s, u = eigh(cov)
    eps = _eps(s)
    if not all_true(s >= -eps):
        raise ValueError("multivariate_normal: the input matrix must be symmetric positive semidefinite.")
    keep = s > eps
    safe = E.where(keep, s, 1)
    scaled = u * E.where(keep, 1 / E.sqrt(safe), 0)
    log_pdet = R.sum(E.where(keep, E.log(safe), 0))
    rank = R.sum(E.astype(keep, s.dtype))
    if all_true(keep):
        return (lambda dev: matmul(dev, scaled)), log_pdet, rank, None
    null = E.stop_gradient(u * E.astype(~keep, s.dtype))
    tol = E.stop_gradient(eps * 1e3)

    def support(dev):
        r = matmul(E.stop_gradient(dev), null)
        return E.sqrt(R.sum(r * r, axis=-1)) < tol[..., 0]
    return (lambda dev: matmul(dev, scaled)), log_pdet, rank, support


def logpdf(x, mean=None, cov=1, allow_singular=False):
    """``-(rank log(2 pi) + log det(cov) + maha) / 2`` with ``maha = (x - mean)^T cov^-1 (x - mean)``.

    >>> import numpy as np
    >>> round(float(logpdf(np.array([1.0, 0.0]), np.zeros(2), 2.0)), 6)  # -log(4 pi) - 1/4
    -2.781024
    """
    dim, mean, cov, kind = _process(mean, cov)
    x = _quantiles(x, dim, mean.dtype)
    whiten, log_pdet, rank, support = _whitener(dim, cov, kind, allow_singular)
    dev = x - mean
    z = whiten(dev)
    maha = R.sum(z * z, axis=-1)
    out = -0.5 * (rank * LOG_2PI + log_pdet + maha)
    if support is not None:
        out = E.where(support(dev), out, -np.inf)
    return _squeeze(out)


def pdf(x, mean=None, cov=1, allow_singular=False):
    """The multivariate normal density.

    >>> import numpy as np
    >>> round(float(pdf(np.zeros(2), np.zeros(2))), 6)  # 1 / (2 pi)
    0.159155
    """
    return E.exp(logpdf(x, mean, cov, allow_singular))


def entropy(mean=None, cov=1):
    """The differential entropy ``(rank (1 + log(2 pi)) + log pdet(cov)) / 2``. As in SciPy a singular ``cov`` is
    allowed (pseudo-determinant over its range; Cholesky is tried first, ``eigh`` used when it fails).

    >>> import numpy as np
    >>> round(float(entropy(cov=np.eye(2))), 6)  # 1 + log(2 pi)
    2.837877
    """
    dim, mean, cov, kind = _process(mean, cov)
    try:
        _, log_pdet, rank, _ = _whitener(dim, cov, kind, False)
    except np.linalg.LinAlgError:
        _, log_pdet, rank, _ = _whitener(dim, cov, kind, True)
    return 0.5 * (rank * (LOG_2PI + 1) + log_pdet)
