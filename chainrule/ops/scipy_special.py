"""Special-function primitives backed by ``scipy.special`` (imported only by ``chainrule.scipy``).

Invariant: every primitive here is elementwise. Its ``impl`` calls the SciPy ufunc and casts the result to the
result dtype of its *value* arguments (orders such as ``n`` in ``jn(n, x)`` never widen it), so float32 in gives
float32 out even where SciPy would widen (``polygamma``, ``beta(2, x)``). Derivative rules are the classical
closed forms, written with chainrule ops (mostly these same primitives), so they differentiate again to any order
and batch under ``vmap``.

NOTE: [derivatives without a closed form]
SciPy has no closed form for some parameter derivatives: ``gammainc``/``gammaincc`` with respect to ``a``,
``betainc`` with respect to ``a`` and ``b``, the Bessel functions with respect to their order, ``polygamma`` with
respect to ``n`` (an integer) and ``stdtr`` with respect to ``df``. Those rules raise ``MissingRuleError`` naming
the function and the argument; differentiating with respect to the other arguments works as usual (an argument
that is not traced never reaches its rule).
"""
import math

import numpy as np
import scipy.special as _sc

from ..core.primitive import MissingRuleError, Primitive, def_elementwise, def_nondiff, def_unary
from ..core.trace import Tracer
from ..interpreters.batching import def_broadcasting, def_vectorized
from . import elementwise as E
from ._util import as_operand, prepare_operands

__all__ = ["gammaln", "gamma", "rgamma", "gammasgn", "digamma", "psi", "polygamma", "beta", "betaln", "betainc",
           "gammainc", "gammaincc", "erf", "erfc", "erfinv", "erfcinv", "ndtr", "log_ndtr", "ndtri", "xlogy",
           "xlog1py", "entr", "i0", "i1", "i0e", "i1e", "iv", "ive", "j0", "j1", "jv", "jn", "y0", "y1", "yv",
           "yn", "stdtr"]

_SQRT_PI = math.sqrt(math.pi)
_SQRT_2PI = math.sqrt(2.0 * math.pi)


def _is_inexact(a):
    if isinstance(a, float):
        return True
    dt = getattr(a, "dtype", None)
    return dt is not None and np.issubdtype(dt, np.inexact)


def result_dtype(args):
    """The floating dtype of an elementwise special function of ``args`` (Python floats are weak, integers alone
    give float64)."""
    inexact = [a for a in args if _is_inexact(a)]
    if not inexact:
        return np.dtype(np.float64)
    return np.result_type(*inexact)


def _impl(fn, promote):
    def impl(*args):
        out = fn(*args)
        dt = result_dtype([args[i] for i in promote])
        return out if out.dtype == dt else out.astype(dt)
    return impl


def _no_rule(fname, argname, hint):
    def rule(g, out, *primals, **params):
        raise MissingRuleError(
            f"chainrule.scipy.special.{fname}: the derivative with respect to {argname} has no closed form in "
            f"SciPy and is not implemented; {hint}")
    return rule


def _unary(name, fn, rule, doc):
    p = Primitive(name, _impl(fn, (0,)))
    def_unary(p, rule)
    def_vectorized(p)
    bind = p.bind

    def face(x):
        return bind(as_operand(x))

    face.__name__ = face.__qualname__ = name
    face.__doc__ = doc
    globals()[name + "_p"] = p
    globals()[name] = face
    return p


def _nary(name, fn, rules, doc, promote=None):
    n = len(rules)
    promote = tuple(range(n)) if promote is None else promote
    p = Primitive(name, _impl(fn, promote))
    def_elementwise(p, *rules)
    def_broadcasting(p)
    bind = p.bind

    def face(*args):
        if len(args) != n:
            raise TypeError(f"{name}() takes {n} arguments ({len(args)} given)")
        args = [as_operand(a) for a in args]
        if any(isinstance(a, Tracer) for a in args):
            # Constants in value positions become arrays of the result dtype, so the derivative rules (which
            # evaluate functions of them, e.g. gammaln(a)) never widen float32 with a float64 NumPy scalar.
            dt = result_dtype([args[i] for i in promote])
            args = [np.asarray(a, dt) if i in promote and not isinstance(a, Tracer) else a
                    for i, a in enumerate(args)]
            args = prepare_operands(name, args, promote)
        return bind(*args)

    face.__name__ = face.__qualname__ = name
    face.__doc__ = doc
    globals()[name + "_p"] = p
    globals()[name] = face
    return p


# ---------------------------------------------------------------------------------------------------------
# Gamma family
# ---------------------------------------------------------------------------------------------------------

_unary("gammaln", _sc.gammaln, lambda g, x, out: g * digamma(x), """\
``log|Gamma(x)|``; its derivative is ``digamma(x)``.

>>> import chainrule as cr
>>> round(float(cr.grad(gammaln)(3.0)), 6)  # digamma(3) = 1.5 - euler_gamma
0.922784
""")

_unary("gamma", _sc.gamma, lambda g, x, out: g * (out * digamma(x)), """\
The gamma function; ``gamma'(x) = gamma(x) * digamma(x)``.

>>> import chainrule as cr
>>> float(gamma(4.0))
6.0
""")

_unary("rgamma", _sc.rgamma, lambda g, x, out: -(g * (out * digamma(x))), """\
``1 / gamma(x)``; ``rgamma'(x) = -rgamma(x) * digamma(x)`` (not finite at the poles of gamma, where rgamma is 0).

>>> float(rgamma(4.0))
0.16666666666666666
""")

gammasgn_p = def_nondiff(Primitive("gammasgn", _impl(_sc.gammasgn, (0,))))
def_vectorized(gammasgn_p)


def gammasgn(x):
    """The sign of ``gamma(x)`` (piecewise constant: its derivative is zero).

    >>> float(gammasgn(-1.5))
    1.0
    """
    return gammasgn_p.bind(as_operand(x))


_unary("digamma", _sc.digamma, lambda g, x, out: g * polygamma(1, x), """\
The logarithmic derivative of gamma, ``psi(x)``; its derivative is ``polygamma(1, x)``.

>>> round(float(digamma(1.0)), 6)  # -euler_gamma
-0.577216
""")
psi = digamma


def _polygamma_impl(n, x):
    return _sc.polygamma(n, x)


_nary("polygamma", _polygamma_impl,
      (_no_rule("polygamma", "n (the integer order)", "n is an integer; differentiate with respect to x only."),
       lambda g, out, n, x: g * polygamma(n + 1, x)), """\
The n-th derivative of ``digamma``; ``d/dx polygamma(n, x) = polygamma(n + 1, x)``. ``n`` (integers) does not
change the output dtype.

>>> import chainrule as cr
>>> round(float(cr.grad(lambda x: polygamma(1, x))(1.0)), 6)  # -2 zeta(3)
-2.404114
""", promote=(1,))


def _digamma_diff(a, b):
    return digamma(a) - digamma(a + b)


_nary("beta", _sc.beta, (lambda g, out, a, b: g * (out * _digamma_diff(a, b)),
                         lambda g, out, a, b: g * (out * _digamma_diff(b, a))), """\
The beta function ``B(a, b) = gamma(a) gamma(b) / gamma(a + b)``, differentiable in both arguments.

>>> float(beta(2.0, 3.0))
0.08333333333333333
""")

_nary("betaln", _sc.betaln, (lambda g, out, a, b: g * _digamma_diff(a, b),
                             lambda g, out, a, b: g * _digamma_diff(b, a)), """\
``log|B(a, b)|``; ``d/da = digamma(a) - digamma(a + b)``.

>>> round(float(betaln(2.0, 3.0)), 6)
-2.484907
""")


def _betainc_dx(g, out, a, b, x):
    # The integrand of the regularized incomplete beta function: x^(a-1) (1-x)^(b-1) / B(a, b).
    return g * E.exp(xlogy(a - 1, x) + xlog1py(b - 1, -x) - betaln(a, b))


_NO_AB = "differentiate with respect to x only (the integration limit)."
_nary("betainc", _sc.betainc, (_no_rule("betainc", "a", _NO_AB), _no_rule("betainc", "b", _NO_AB), _betainc_dx),
      """\
The regularized incomplete beta function ``I_x(a, b)``. Differentiable with respect to ``x`` only: SciPy has no
closed form for the derivatives in ``a`` and ``b``, so asking for them raises ``MissingRuleError``.

>>> import chainrule as cr
>>> float(cr.grad(lambda x: betainc(1.0, 1.0, x))(0.3))  # I_x(1, 1) = x
1.0
""")


def _gammainc_dx(g, out, a, x):
    # The integrand of the regularized lower incomplete gamma function: x^(a-1) e^(-x) / gamma(a).
    return g * E.exp(xlogy(a - 1, x) - x - gammaln(a))


_NO_A = "differentiate with respect to x only."
_nary("gammainc", _sc.gammainc, (_no_rule("gammainc", "a", _NO_A), _gammainc_dx), """\
The regularized lower incomplete gamma function ``P(a, x)``. Differentiable with respect to ``x`` only (SciPy
has no closed form for the derivative in ``a``; asking for it raises ``MissingRuleError``).

>>> import chainrule as cr
>>> round(float(cr.grad(lambda x: gammainc(1.0, x))(0.5)), 6)  # P(1, x) = 1 - exp(-x)
0.606531
""")

_nary("gammaincc", _sc.gammaincc, (_no_rule("gammaincc", "a", _NO_A),
                                   lambda g, out, a, x: -_gammainc_dx(g, out, a, x)), """\
The regularized upper incomplete gamma function ``Q(a, x) = 1 - P(a, x)``; differentiable with respect to ``x``
only (as ``gammainc``).

>>> round(float(gammaincc(1.0, 0.5)), 6)
0.606531
""")


# ---------------------------------------------------------------------------------------------------------
# Error function and the normal distribution
# ---------------------------------------------------------------------------------------------------------

_unary("erf", _sc.erf, lambda g, x, out: g * ((2 / _SQRT_PI) * E.exp(-(x * x))), """\
The error function; ``erf'(x) = 2 / sqrt(pi) * exp(-x**2)``.

>>> import chainrule as cr
>>> round(float(cr.grad(erf)(0.0)), 6)
1.128379
""")

_unary("erfc", _sc.erfc, lambda g, x, out: g * ((-2 / _SQRT_PI) * E.exp(-(x * x))), """\
``1 - erf(x)``, accurate where erf is close to 1.

>>> float(erfc(0.0))
1.0
""")

_unary("erfinv", _sc.erfinv, lambda g, x, out: g * ((_SQRT_PI / 2) * E.exp(out * out)), """\
The inverse of ``erf``; ``erfinv'(x) = sqrt(pi) / 2 * exp(erfinv(x)**2)``.

>>> import chainrule as cr
>>> round(float(cr.grad(erfinv)(0.0)), 6)
0.886227
""")

_unary("erfcinv", _sc.erfcinv, lambda g, x, out: g * ((-_SQRT_PI / 2) * E.exp(out * out)), """\
The inverse of ``erfc``; ``erfcinv'(x) = -sqrt(pi) / 2 * exp(erfcinv(x)**2)``.

>>> float(erfcinv(1.0))
0.0
""")

_unary("ndtr", _sc.ndtr, lambda g, x, out: g * (E.exp(x * x * -0.5) / _SQRT_2PI), """\
The standard normal CDF; its derivative is the standard normal density.

>>> float(ndtr(0.0))
0.5
""")

_unary("log_ndtr", _sc.log_ndtr, lambda g, x, out: g * (E.exp(x * x * -0.5 - out) / _SQRT_2PI), """\
``log(ndtr(x))``, accurate far into the left tail; its derivative ``pdf(x) / cdf(x)`` is formed in log space.

>>> import chainrule as cr
>>> round(float(cr.grad(log_ndtr)(-30.0)), 3)  # about -x in the far left tail
30.033
""")

_unary("ndtri", _sc.ndtri, lambda g, x, out: g * (_SQRT_2PI * E.exp(out * out * 0.5)), """\
The inverse of ``ndtr`` (the standard normal quantile function).

>>> float(ndtri(0.5))
0.0
""")


# ---------------------------------------------------------------------------------------------------------
# x log y, entropy
# ---------------------------------------------------------------------------------------------------------

def _safe_ratio(x, y):
    # x / y, taken as 0 where x == 0 and y == 0 (the limit of x log y's y-derivative at x = 0). Away from that
    # point it is exactly x / y, so it differentiates correctly in both arguments.
    return x / E.where((x == 0) & (y == 0), 1, y)


_nary("xlogy", _sc.xlogy, (lambda g, out, x, y: g * E.log(y), lambda g, out, x, y: g * _safe_ratio(x, y)), """\
``x * log(y)``, defined as 0 where ``x == 0`` (whatever ``y``).

>>> float(xlogy(0.0, 0.0))
0.0
""")

_nary("xlog1py", _sc.xlog1py, (lambda g, out, x, y: g * E.log1p(y),
                               lambda g, out, x, y: g * _safe_ratio(x, y + 1)), """\
``x * log1p(y)``, defined as 0 where ``x == 0``.

>>> float(xlog1py(0.0, -1.0))
0.0
""")

_unary("entr", _sc.entr, lambda g, x, out: -(g * (E.log(x) + 1)), """\
Elementwise entropy ``-x log x`` (0 at 0, ``-inf`` for negative x); derivative ``-(log x + 1)``.

>>> round(float(entr(0.5)), 6)
0.346574
""")


# ---------------------------------------------------------------------------------------------------------
# Bessel functions. Derivatives with respect to the argument follow from the recurrences
#   I_v' = (I_{v-1} + I_{v+1}) / 2,   J_v' = (J_{v-1} - J_{v+1}) / 2,   Y_v' = (Y_{v-1} - Y_{v+1}) / 2,
# and for the scaled ive(v, x) = iv(v, x) exp(-|x|): ive' = (ive_{v-1} + ive_{v+1}) / 2 - sign(x) ive.
# ---------------------------------------------------------------------------------------------------------

_NO_V = "differentiate with respect to x only (the order is treated as a constant)."

_unary("i0", _sc.i0, lambda g, x, out: g * i1(x), """\
The modified Bessel function of the first kind of order 0; ``i0' = i1``.

>>> float(i0(0.0))
1.0
""")

_unary("i1", _sc.i1, lambda g, x, out: g * ((i0(x) + iv(2, x)) * 0.5), """\
The modified Bessel function of the first kind of order 1; ``i1' = (i0 + iv(2, .)) / 2``.

>>> import chainrule as cr
>>> float(cr.grad(i1)(0.0))
0.5
""")

_unary("i0e", _sc.i0e, lambda g, x, out: g * (i1e(x) - E.sign(x) * out), """\
Exponentially scaled ``i0``: ``i0(x) * exp(-|x|)``.

>>> float(i0e(0.0))
1.0
""")

_unary("i1e", _sc.i1e, lambda g, x, out: g * ((i0e(x) + ive(2, x)) * 0.5 - E.sign(x) * out), """\
Exponentially scaled ``i1``: ``i1(x) * exp(-|x|)``.

>>> float(i1e(0.0))
0.0
""")

_nary("iv", _sc.iv, (_no_rule("iv", "v (the order)", _NO_V),
                     lambda g, out, v, x: g * ((iv(v - 1, x) + iv(v + 1, x)) * 0.5)), """\
The modified Bessel function of the first kind of real order ``v``; differentiable with respect to ``x`` (the
derivative in ``v`` has no closed form and raises ``MissingRuleError``).

>>> import chainrule as cr
>>> float(cr.grad(lambda x: iv(1, x))(0.0))
0.5
""", promote=(1,))

_nary("ive", _sc.ive, (_no_rule("ive", "v (the order)", _NO_V),
                       lambda g, out, v, x: g * ((ive(v - 1, x) + ive(v + 1, x)) * 0.5 - E.sign(x) * out)), """\
Exponentially scaled ``iv``: ``iv(v, x) * exp(-|x|)``; differentiable with respect to ``x``.

>>> float(ive(0, 0.0))
1.0
""", promote=(1,))

_unary("j0", _sc.j0, lambda g, x, out: -(g * j1(x)), """\
The Bessel function of the first kind of order 0; ``j0' = -j1``.

>>> float(j0(0.0))
1.0
""")

_unary("j1", _sc.j1, lambda g, x, out: g * ((j0(x) - jv(2, x)) * 0.5), """\
The Bessel function of the first kind of order 1; ``j1' = (j0 - jv(2, .)) / 2``.

>>> import chainrule as cr
>>> float(cr.grad(j1)(0.0))
0.5
""")

_nary("jv", _sc.jv, (_no_rule("jv", "v (the order)", _NO_V),
                     lambda g, out, v, x: g * ((jv(v - 1, x) - jv(v + 1, x)) * 0.5)), """\
The Bessel function of the first kind of real order ``v``; differentiable with respect to ``x``.

>>> float(jv(0, 0.0))
1.0
""", promote=(1,))

_unary("y0", _sc.y0, lambda g, x, out: -(g * y1(x)), """\
The Bessel function of the second kind of order 0; ``y0' = -y1``.

>>> round(float(y0(1.0)), 6)
0.088257
""")

_unary("y1", _sc.y1, lambda g, x, out: g * ((y0(x) - yv(2, x)) * 0.5), """\
The Bessel function of the second kind of order 1; ``y1' = (y0 - yv(2, .)) / 2``.

>>> round(float(y1(1.0)), 6)
-0.781213
""")

_nary("yv", _sc.yv, (_no_rule("yv", "v (the order)", _NO_V),
                     lambda g, out, v, x: g * ((yv(v - 1, x) - yv(v + 1, x)) * 0.5)), """\
The Bessel function of the second kind of real order ``v``; differentiable with respect to ``x``.

>>> round(float(yv(0, 1.0)), 6)
0.088257
""", promote=(1,))

_nary("yn", _sc.yn, (_no_rule("yn", "n (the integer order)", _NO_V),
                     lambda g, out, n, x: g * ((yn(n - 1, x) - yn(n + 1, x)) * 0.5)), """\
The Bessel function of the second kind of integer order ``n``; differentiable with respect to ``x``.

>>> round(float(yn(1, 1.0)), 6)
-0.781213
""", promote=(1,))


def jn(n, x):
    """The Bessel function of the first kind of integer order ``n`` (SciPy's alias of ``jv``).

    >>> round(float(jn(1, 1.0)), 6)
    0.440051
    """
    return jv(n, x)


# ---------------------------------------------------------------------------------------------------------
# Student's t distribution function
# ---------------------------------------------------------------------------------------------------------

def _t_density(df, t):
    # The Student t density, in log space: lgamma((df+1)/2) - lgamma(df/2) - log(df pi)/2 - (df+1)/2 log1p(t^2/df).
    half = (df + 1) * 0.5
    return E.exp(gammaln(half) - gammaln(df * 0.5) - 0.5 * E.log(df * math.pi) - half * E.log1p(t * t / df))


_nary("stdtr", _sc.stdtr, (_no_rule("stdtr", "df", "differentiate with respect to t only."),
                           lambda g, out, df, t: g * _t_density(df, t)), """\
The CDF of Student's t distribution with ``df`` degrees of freedom; differentiable with respect to ``t`` (its
derivative is the t density), not ``df``.

>>> float(stdtr(3.0, 0.0))
0.5
""")
