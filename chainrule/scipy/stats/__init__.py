"""``chainrule.scipy.stats``: the log-densities and distribution functions of SciPy's distributions,
differentiable and batchable. Each distribution is a module with SciPy's function names and signatures:
``norm``, ``t``, ``beta``, ``gamma``, ``chi2``, ``poisson``, ``dirichlet``, ``multivariate_normal``.

Distribution functions (``cdf``, ``sf`` and their logs) are differentiable in ``x``, ``loc`` and ``scale``; for
``t``, ``beta``, ``gamma`` and ``chi2`` not in the shape parameter, whose derivative has no closed form in SciPy
(``MissingRuleError`` names the special function and argument). Densities differentiate in every argument.

>>> import chainrule as cr
>>> from chainrule.scipy import stats
>>> float(cr.grad(lambda s: stats.norm.logpdf(0.0, scale=s))(2.0))  # -1/s
-0.5
"""
from . import beta, chi2, dirichlet, gamma, multivariate_normal, norm, poisson, t  # noqa: F401

__all__ = ["norm", "t", "beta", "gamma", "chi2", "poisson", "dirichlet", "multivariate_normal"]
