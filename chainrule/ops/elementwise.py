"""Elementwise primitives: unary math, binary arithmetic, where/clip, casts, and non-differentiable predicates.

Each primitive's impl, derivative formula (one formula serves JVP and VJP, see ``def_unary``) and batch rule
stand together. Traced operands of n-ary ops are broadcast and promoted explicitly (``_util.prepare_operands``).
"""
import math

import numpy as np

from ..core.primitive import (SAVE_ALL, SAVE_INPUTS, SAVE_NONE, SAVE_OUT, Primitive, def_elementwise, def_linear,
                              def_nondiff, def_unary)
from ..core.trace import Tracer
from ..interpreters.batching import def_broadcasting, def_vectorized
from ._util import prepare_operands

__all__ = []


def _export(fn, name=None, example=None):
    name = name or fn.__name__
    fn.__name__ = name
    fn.__qualname__ = name
    if fn.__doc__ is None:
        x = example or "0.5"
        fn.__doc__ = (f"Elementwise ``numpy.{name}``, differentiable in forward and reverse mode and batchable.\n\n"
                      f">>> import numpy as np, chainrule.numpy as cnp\n"
                      f">>> bool(np.allclose(cnp.{name}({x}), np.{name}({x})))\nTrue\n")
    globals()[name] = fn
    __all__.append(name)
    return fn


# ---------------------------------------------------------------------------------------------------------
# Unary ops
# ---------------------------------------------------------------------------------------------------------

def _unary(name, impl, rule, example=None, saves=SAVE_INPUTS):
    p = Primitive(name, impl)
    def_unary(p, rule, saves)
    def_vectorized(p)
    bind = p.bind
    _export(lambda x: bind(x), name, example)
    globals()[name + "_p"] = p
    return p


_LN2 = math.log(2.0)
_LN10 = math.log(10.0)

_unary("exp", np.exp, lambda g, x, out: g * out, saves=SAVE_OUT)
_unary("expm1", np.expm1, lambda g, x, out: g * (out + 1), saves=SAVE_OUT)
_unary("log", np.log, lambda g, x, out: g / x)
_unary("log1p", np.log1p, lambda g, x, out: g / (x + 1))
_unary("log2", np.log2, lambda g, x, out: g / (x * _LN2))
_unary("log10", np.log10, lambda g, x, out: g / (x * _LN10))
_unary("sqrt", np.sqrt, lambda g, x, out: g / (out * 2), saves=SAVE_OUT)
_unary("square", np.square, lambda g, x, out: g * (x * 2))
_unary("reciprocal", np.reciprocal, lambda g, x, out: -(g * (out * out)), saves=SAVE_OUT)
_unary("sin", np.sin, lambda g, x, out: g * cos(x))
_unary("cos", np.cos, lambda g, x, out: -(g * sin(x)))
_unary("tan", np.tan, lambda g, x, out: g * (out * out + 1), saves=SAVE_OUT)
_unary("arcsin", np.arcsin, lambda g, x, out: g / sqrt(1 - x * x))
_unary("arccos", np.arccos, lambda g, x, out: -(g / sqrt(1 - x * x)))
_unary("arctan", np.arctan, lambda g, x, out: g / (x * x + 1))
_unary("sinh", np.sinh, lambda g, x, out: g * cosh(x))
_unary("cosh", np.cosh, lambda g, x, out: g * sinh(x))
_unary("tanh", np.tanh, lambda g, x, out: g * (1 - out * out), saves=SAVE_OUT)
_unary("arcsinh", np.arcsinh, lambda g, x, out: g / sqrt(x * x + 1))
_unary("arccosh", np.arccosh, lambda g, x, out: g / sqrt(x * x - 1), example="1.5")
_unary("arctanh", np.arctanh, lambda g, x, out: g / (1 - x * x))


def _abs_rule(g, x, out):
    return g * sign(x)  # real inputs; complex ones get their own JVP and VJP (NOTE: [complex abs] below)


abs_p = _unary("absolute", np.absolute, _abs_rule)
absolute_p = abs_p
abs = _export(lambda x: abs_p.bind(x), "abs")  # noqa: A001 - NumPy's name

negative_p = Primitive("negative", np.negative)
def_linear(negative_p, lambda g, x: negative(g))
def_vectorized(negative_p)


@_export
def negative(x):
    return negative_p.bind(x)


positive = _export(lambda x: x, "positive")

# integer_pow: x ** n for a Python int n; cheaper and exact at x == 0, unlike the general power.
integer_pow_p = Primitive("integer_pow", lambda x, n: x ** n)


def _integer_pow_rule(g, x, out, n):
    if n == 0:
        return None
    if n == 1:
        return g
    if n == 2:
        return g * (x * 2)
    return g * (integer_pow(x, n - 1) * n)


def _integer_pow_jvp(primals, tangents, n):
    x, = primals
    return integer_pow_p.bind(x, n=n), _integer_pow_rule(tangents[0], x, None, n)


integer_pow_p.jvp = _integer_pow_jvp
integer_pow_p.vjp = (lambda g, out, x, n: _integer_pow_rule(g, x, out, n),)
integer_pow_p.saves = SAVE_INPUTS
integer_pow_p.batch = lambda size, vals, dims, n: (integer_pow_p.bind(vals[0], n=n), dims[0])


def integer_pow(x, n):
    """``x ** n`` for an integer ``n``.

    >>> import chainrule as cr
    >>> float(cr.grad(lambda x: integer_pow(x, 3))(2.0))
    12.0
    """
    return integer_pow_p.bind(x, n=int(n))


# ---------------------------------------------------------------------------------------------------------
# Binary ops
# ---------------------------------------------------------------------------------------------------------

def _binary(name, impl, rule_x, rule_y, promote=True, saves=SAVE_INPUTS):
    p = Primitive(name, impl)
    def_elementwise(p, rule_x, rule_y, saves=saves)
    def_broadcasting(p)
    bind = p.bind

    def face(x, y):
        if isinstance(x, Tracer) or isinstance(y, Tracer):
            x, y = prepare_operands(name, (x, y), None if promote else ())
        return bind(x, y)

    _export(face, name, example="0.5, 0.25")
    globals()[name + "_p"] = p
    return p


def _pow_x(g, out, x, y):
    return where(y == 0, 0, g * (y * power(x, y - 1)))


def _pow_y(g, out, x, y):
    # A Python-scalar base would make ``where`` return a float64 array: keep the output's dtype.
    return g * (out * astype(log(where(x == 0, 1, x)), out.dtype))


def _balanced(x, y):
    # d max(x, y) / dx: 1 where x wins, 1/2 on ties (so the two halves add up to the whole), 0 elsewhere.
    return where(x > y, 1.0, where(x == y, 0.5, 0.0))


_binary("add", np.add, lambda g, out, x, y: g, lambda g, out, x, y: g, saves=SAVE_NONE)
_binary("subtract", np.subtract, lambda g, out, x, y: g, lambda g, out, x, y: -g, saves=SAVE_NONE)
_binary("multiply", np.multiply, lambda g, out, x, y: g * y, lambda g, out, x, y: g * x)
_binary("divide", np.true_divide, lambda g, out, x, y: g / y, lambda g, out, x, y: -(g * out / y), saves=SAVE_ALL)
_binary("power", np.power, _pow_x, _pow_y, saves=SAVE_ALL)
_binary("maximum", np.maximum, lambda g, out, x, y: where(x > y, g, where(x == y, g * 0.5, 0)),
        lambda g, out, x, y: where(y > x, g, where(x == y, g * 0.5, 0)))
_binary("minimum", np.minimum, lambda g, out, x, y: where(x < y, g, where(x == y, g * 0.5, 0)),
        lambda g, out, x, y: where(y < x, g, where(x == y, g * 0.5, 0)))
_binary("arctan2", np.arctan2, lambda g, out, y, x: g * x / (x * x + y * y),
        lambda g, out, y, x: -(g * y) / (x * x + y * y))
_binary("logaddexp", np.logaddexp, lambda g, out, x, y: g * exp(x - out), lambda g, out, x, y: g * exp(y - out),
        saves=SAVE_ALL)
_binary("remainder", np.remainder, lambda g, out, x, y: g, lambda g, out, x, y: -(g * floor_divide(x, y)))
true_divide = divide
mod = remainder
__all__ += ["true_divide", "mod"]

_pow_face = power


def power(x, y):
    """``x ** y`` elementwise; differentiable in both arguments (a Python int exponent uses ``integer_pow``).

    >>> import chainrule as cr
    >>> float(cr.grad(lambda y: power(2.0, y))(3.0))  # 8 * log(2)
    5.545177444479562
    """
    if type(y) is int and isinstance(x, Tracer):
        return integer_pow(x, y)
    return _pow_face(x, y)


# ---------------------------------------------------------------------------------------------------------
# where, clip
# ---------------------------------------------------------------------------------------------------------

where_p = Primitive("where", np.where)
def_elementwise(where_p, None, lambda g, out, c, x, y: where(c, g, 0), lambda g, out, c, x, y: where(c, 0, g),
                saves=SAVE_INPUTS)
def_broadcasting(where_p)


def where(condition, x=None, y=None):
    """Elements of ``x`` where ``condition`` holds, else of ``y``; with one argument, ``nonzero(condition)``.

    >>> import numpy as np
    >>> where(np.array([True, False]), 1.0, 2.0)
    array([1., 2.])
    """
    if x is None and y is None:
        from .indexing import nonzero
        return nonzero(condition)
    if isinstance(condition, Tracer) or isinstance(x, Tracer) or isinstance(y, Tracer):
        condition, x, y = prepare_operands("where", (condition, x, y), promote=(1, 2))
    return where_p.bind(condition, x, y)


clip_p = Primitive("clip", np.clip)
def_elementwise(clip_p,
                lambda g, out, x, lo, hi: where((x >= lo) & (x <= hi), g, 0),
                lambda g, out, x, lo, hi: where(x < lo, g, 0),
                lambda g, out, x, lo, hi: where((x > hi) & (x >= lo), g, 0))
def_broadcasting(clip_p)


def clip(a, a_min=None, a_max=None):
    """``a`` limited to ``[a_min, a_max]``; the gradient flows to whichever bound is active.

    >>> import numpy as np
    >>> clip(np.array([-2.0, 0.5, 3.0]), -1, 1)
    array([-1. ,  0.5,  1. ])
    """
    lo = -np.inf if a_min is None else a_min
    hi = np.inf if a_max is None else a_max
    if isinstance(a, Tracer) or isinstance(lo, Tracer) or isinstance(hi, Tracer):
        a, lo, hi = prepare_operands("clip", (a, lo, hi), promote=(0,))
    return clip_p.bind(a, lo, hi)


# ---------------------------------------------------------------------------------------------------------
# Casts and stop_gradient
# ---------------------------------------------------------------------------------------------------------

def _astype_impl(x, dtype):
    if x.dtype.kind == "c" and dtype.kind != "c":
        x = x.real
    return x.astype(dtype)


astype_p = Primitive("astype", _astype_impl)
def_linear(astype_p, lambda g, x, dtype: astype(g, x.dtype))
def_vectorized(astype_p)


def astype(x, dtype):
    """``x`` converted to ``dtype``; the cotangent is converted back to ``x``'s dtype.

    Casting to an integer or boolean dtype cuts the gradient (the result is not differentiable).

    >>> import numpy as np
    >>> astype(np.ones(2), np.float32).dtype
    dtype('float32')
    """
    dtype = np.dtype(dtype)
    if not hasattr(x, "dtype"):
        x = np.asarray(x)
    if x.dtype == dtype:
        return x
    if dtype.kind not in "fc":
        x = stop_gradient(x)
    return astype_p.bind(x, dtype=dtype)


stop_gradient_p = def_nondiff(Primitive("stop_gradient", lambda x: x))
def_vectorized(stop_gradient_p)


def stop_gradient(x):
    """``x`` treated as a constant by every differentiation transform (batching still sees it).

    >>> import chainrule as cr
    >>> float(cr.grad(lambda x: x * stop_gradient(x))(3.0))
    3.0
    """
    return stop_gradient_p.bind(x)


# ---------------------------------------------------------------------------------------------------------
# Non-differentiable elementwise ops: zero derivative, results are never traced for differentiation.
# ---------------------------------------------------------------------------------------------------------

def _nondiff(name, impl, nargs):
    p = def_nondiff(Primitive(name, impl))
    bind = p.bind
    if nargs == 1:
        def_vectorized(p)
        face = (lambda x: bind(x))
    else:
        def_broadcasting(p)

        def face(x, y):
            if isinstance(x, Tracer) or isinstance(y, Tracer):
                x, y = prepare_operands(name, (x, y))
            return bind(x, y)
    example = None
    if nargs == 2:
        example = "6, 3" if name.startswith("bitwise") else "0.5, 0.25"
    _export(face, name, example=example)
    globals()[name + "_p"] = p
    return p


for _name in ["sign", "floor", "ceil", "trunc", "rint", "isfinite", "isnan", "isinf", "logical_not", "signbit"]:
    _nondiff(_name, getattr(np, _name), 1)
for _name in ["equal", "not_equal", "less", "less_equal", "greater", "greater_equal", "logical_and",
              "logical_or", "logical_xor", "floor_divide", "bitwise_and", "bitwise_or", "bitwise_xor"]:
    _nondiff(_name, getattr(np, _name), 2)
fix = trunc  # noqa: F821 - defined by the loop above
__all__.append("fix")

round_p = def_nondiff(Primitive("round", lambda x, decimals: np.round(x, decimals)))
round_p.batch = lambda size, vals, dims, decimals: (round_p.bind(vals[0], decimals=decimals), dims[0])


def round(a, decimals=0):  # noqa: A001 - NumPy's name
    """``a`` rounded to ``decimals`` places (derivative zero almost everywhere, so not differentiated).

    >>> import numpy as np
    >>> round(np.array([1.26]), 1)
    array([1.3])
    """
    return round_p.bind(a, decimals=int(decimals))


around = round
round_ = round
__all__ += ["round", "around"]


# ---------------------------------------------------------------------------------------------------------
# Complex parts: real, imag, conj (linear primitives), angle; abs of complex values
# ---------------------------------------------------------------------------------------------------------
#
# NOTE: [complex convention]
# Cotangents pair with tangents bilinearly, <u, v> = sum(Re(u * v)), the convention of HIPS autograd and JAX:
# the VJP of a holomorphic f is ``g * f'(z)`` (no conjugation, so every real rule above serves complex inputs
# unchanged), and for a real-valued f(z) with z = x + iy, ``grad(f)(z) = df/dx - i df/dy`` (the conjugate of the
# direction of steepest ascent). Non-holomorphic ops (real, imag, conj, abs, angle) carry separate JVP and VJP
# rules written for that pairing. See docs/complex.md.

def _is_complex(x):
    dt = x.dtype if hasattr(x, "dtype") else np.result_type(x)
    return np.dtype(dt).kind == "c"


def _operand(x):
    """Tracers and arrays as they are; anything else (a Python scalar, a list) as a NumPy array."""
    from ..core.backend import is_array
    return x if isinstance(x, Tracer) or is_array(x) else np.asarray(x)


real_p = Primitive("real", np.real)
def_linear(real_p, lambda g, x: astype(g, x.dtype) if _is_complex(x) else g)
def_vectorized(real_p)

imag_p = Primitive("imag", np.imag)
def_linear(imag_p, lambda g, x: astype(g, x.dtype) * -1j if _is_complex(x) else None)
def_vectorized(imag_p)

conjugate_p = Primitive("conjugate", np.conjugate)
def_linear(conjugate_p, lambda g, x: conjugate_p.bind(g))
def_vectorized(conjugate_p)


@_export
def real(val):
    """The real part of ``val`` (``val`` itself when it is real); differentiable, complex inputs included.

    >>> real(np.array([1 + 2j]))
    array([1.])
    """
    val = _operand(val)
    return real_p.bind(val) if _is_complex(val) else val


@_export
def imag(val):
    """The imaginary part of ``val`` (zeros when it is real); differentiable.

    >>> imag(np.array([1 + 2j]))
    array([2.])
    """
    return imag_p.bind(_operand(val))


@_export
def conjugate(x):
    """The complex conjugate of ``x`` (``x`` itself when it is real); differentiable.

    >>> conjugate(np.array([1 + 2j]))
    array([1.-2.j])
    """
    x = _operand(x)
    return conjugate_p.bind(x) if _is_complex(x) else x


conj = _export(lambda x: conjugate(x), "conj")
conj.__doc__ = conjugate.__doc__.replace("conjugate(np", "conj(np")


@_export
def angle(z, deg=False):
    """The argument of the complex number ``z`` (radians, or degrees with ``deg``); differentiable for complex
    ``z`` (zero derivative for real ``z``, whose angle is 0 or pi).

    >>> float(angle(1j))
    1.5707963267948966
    """
    z = _operand(z)
    if _is_complex(z):
        a = arctan2(imag(z), real(z))
    else:
        a = stop_gradient(arctan2(np.zeros((), z.dtype if np.issubdtype(z.dtype, np.inexact) else np.float64),
                                  z))
    return a * (180.0 / math.pi) if deg else a


# NOTE: [complex abs]
# For real x, d|x| = sign(x) dx serves as JVP and VJP alike. For complex z, |z| is real and not holomorphic:
# the JVP is Re(conj(z) dz) / |z| and the VJP (see NOTE: [complex convention]) is g * conj(z) / |z|. Both are
# 0 at z == 0, as for real inputs.

def _nonzero_or_one(r):
    return where(r == 0, 1, r)


def _abs_jvp(primals, tangents):
    x, = primals
    t = tangents[0]
    out = abs_p.bind(x)
    if _is_complex(x):
        return out, real(conjugate(x) * t) / _nonzero_or_one(out)
    return out, t * sign(x)


def _abs_vjp(g, out, x):
    if _is_complex(x):
        return g * (conjugate(x) / _nonzero_or_one(abs_p.bind(x)))
    return g * sign(x)


abs_p.jvp = _abs_jvp
abs_p.vjp = (_abs_vjp,)
abs_p.saves = SAVE_INPUTS


# ---------------------------------------------------------------------------------------------------------
# More unary math: exp2, cbrt, fabs, sinc, deg2rad/rad2deg
# ---------------------------------------------------------------------------------------------------------

_unary("exp2", np.exp2, lambda g, x, out: g * (out * _LN2), saves=SAVE_OUT)
_unary("cbrt", np.cbrt, lambda g, x, out: g / (out * out * 3), saves=SAVE_OUT)
_unary("fabs", np.fabs, lambda g, x, out: g * sign(x))


def _sinc_rule(g, x, out):
    # d sinc(x) / dx = (cos(pi x) - sinc(x)) / x, which tends to 0 at x == 0.
    zero = x == 0
    return g * where(zero, 0, (cos(x * math.pi) - out) / where(zero, 1, x))


sinc_p = _unary("sinc", np.sinc, _sinc_rule, saves=SAVE_ALL)
sinc.__doc__ = ("The normalised sinc function ``sin(pi x) / (pi x)`` (1 at 0); differentiable.\n\n"  # noqa: F821
                ">>> float(sinc(0.0))\n1.0\n")


def _scaled(name, factor):
    def face(x):
        x = _operand(x)
        if not np.issubdtype(x.dtype, np.inexact):
            x = astype(x, np.float64)
        return x * factor
    face.__doc__ = (f"Elementwise ``numpy.{name}`` (multiplication by a constant); differentiable.\n\n"
                    f">>> round(float({name}(1.0)), 6)\n{round(float(getattr(np, name)(1.0)), 6)}\n")
    return _export(face, name)


_scaled("deg2rad", math.pi / 180.0)
_scaled("radians", math.pi / 180.0)
_scaled("rad2deg", 180.0 / math.pi)
_scaled("degrees", 180.0 / math.pi)


# ---------------------------------------------------------------------------------------------------------
# More binary math: hypot, logaddexp2, fmod, fmax/fmin, copysign, float_power, heaviside, ldexp
# ---------------------------------------------------------------------------------------------------------

_binary("hypot", np.hypot, lambda g, out, x, y: g * x / _nonzero_or_one(out),
        lambda g, out, x, y: g * y / _nonzero_or_one(out), saves=SAVE_ALL)
_binary("logaddexp2", np.logaddexp2, lambda g, out, x, y: g * exp2(x - out),  # noqa: F821
        lambda g, out, x, y: g * exp2(y - out), saves=SAVE_ALL)  # noqa: F821
# fmod(x, y) = x - trunc(x / y) * y, with trunc piecewise constant.
_binary("fmod", np.fmod, lambda g, out, x, y: g, lambda g, out, x, y: -(g * trunc(x / y)))  # noqa: F821


@_export
def fmax(x1, x2):
    """Elementwise maximum that ignores NaNs (a NaN loses unless both are NaN); ties share the gradient.

    >>> fmax(np.array([1.0, np.nan]), np.array([2.0, 3.0]))
    array([2., 3.])
    """
    return where(isnan(x2), x1, where(isnan(x1), x2, maximum(x1, x2)))  # noqa: F821


@_export
def fmin(x1, x2):
    """Elementwise minimum that ignores NaNs; ties share the gradient.

    >>> fmin(np.array([1.0, np.nan]), np.array([2.0, 3.0]))
    array([1., 3.])
    """
    return where(isnan(x2), x1, where(isnan(x1), x2, minimum(x1, x2)))  # noqa: F821


def _result_dtype(*xs):
    from ._util import dtype_of
    dt = np.result_type(*[x if type(x) in (int, float, complex, bool) else dtype_of(x) for x in xs])
    return dt if np.issubdtype(dt, np.inexact) else np.dtype(np.float64)


@_export
def copysign(x1, x2):
    """``|x1|`` with the sign of ``x2``; differentiable in ``x1``.

    >>> copysign(np.array([1.5, -2.0]), -1.0)
    array([-1.5, -2. ])
    """
    x1, x2 = _operand(x1), _operand(x2)
    dt = _result_dtype(x1, x2)
    a = astype(abs(x1), dt)
    return where(signbit(x2), -a, a)  # noqa: F821


@_export
def float_power(x1, x2):
    """``x1 ** x2`` computed in double precision (complex128 for complex inputs), as ``numpy.float_power``.

    >>> float(float_power(2, 3))
    8.0
    """
    x1, x2 = _operand(x1), _operand(x2)
    dt = np.complex128 if _is_complex(x1) or _is_complex(x2) else np.float64
    return power(astype(x1, dt), astype(x2, dt))


@_export
def heaviside(x1, x2):
    """The Heaviside step: 0 for ``x1 < 0``, ``x2`` at 0, 1 for ``x1 > 0``. Its derivative in ``x1`` is zero;
    it is differentiable in ``x2`` (which it returns where ``x1 == 0``).

    >>> heaviside(np.array([-1.0, 0.0, 2.0]), 0.5)
    array([0. , 0.5, 1. ])
    """
    x1, x2 = _operand(x1), _operand(x2)
    dt = _result_dtype(x1, x2)
    x1 = stop_gradient(x1)
    out = where(x1 < 0, 0, where(x1 > 0, 1, x2))
    out = where(isnan(x1), np.nan, out)  # noqa: F821
    return astype(out, dt)


@_export
def ldexp(x1, x2):
    """``x1 * 2 ** x2`` for integer ``x2``; differentiable in ``x1``.

    >>> float(ldexp(1.5, 2))
    6.0
    """
    x1 = _operand(x1)
    dt = x1.dtype if np.issubdtype(x1.dtype, np.inexact) else np.dtype(np.float64)
    return astype(x1, dt) * astype(exp2(astype(stop_gradient(_operand(x2)), dt)), dt)  # noqa: F821


_frexp_exponent_p = def_nondiff(Primitive("frexp_exponent", lambda x: np.frexp(x)[1]))
def_vectorized(_frexp_exponent_p)


@_export
def frexp(x):
    """``(mantissa, exponent)`` with ``x == mantissa * 2 ** exponent``; the mantissa is differentiable.

    >>> frexp(8.0)
    (0.5, 4)
    """
    x = _operand(x)
    e = _frexp_exponent_p.bind(x)
    return x * astype(exp2(astype(-e, x.dtype)), x.dtype), e  # noqa: F821


@_export
def modf(x):
    """``(fractional part, integral part)``, both with the sign of ``x``; the fractional part has derivative 1.

    >>> modf(np.array([-1.5, 2.25]))
    (array([-0.5 ,  0.25]), array([-1.,  2.]))
    """
    x = _operand(x)
    t = trunc(x)  # noqa: F821
    return x - t, t


@_export
def divmod(x1, x2):  # noqa: A001 - NumPy's name
    """``(floor_divide(x1, x2), remainder(x1, x2))``; the remainder is differentiable.

    >>> divmod(np.array([7.0]), 2.0)
    (array([3.]), array([1.]))
    """
    return floor_divide(x1, x2), remainder(x1, x2)  # noqa: F821


_nondiff("spacing", np.spacing, 1)
_nextafter_p = _nondiff("nextafter", np.nextafter, 2)
_nextafter_plain = nextafter  # noqa: F821


@_export
def nextafter(x1, x2):
    """The next floating-point value after ``x1`` towards ``x2``; its derivative is that of ``x1`` itself
    (1 in ``x1``, 0 in ``x2``), the step being a rounding-level constant.

    >>> bool(nextafter(1.0, 2.0) > 1.0)
    True
    """
    out = _nextafter_plain(x1, x2)
    if not isinstance(x1, Tracer):
        return out
    x1 = prepare_operands("nextafter", (x1, x2))[0]
    return out + where(isfinite(x1), x1 - stop_gradient(x1), 0)  # noqa: F821 - adds exactly 0
for _name, _args in [("invert", "6"), ("bitwise_not", "6"), ("bitwise_count", "6"), ("gcd", "6, 4"),
                     ("lcm", "6, 4"), ("left_shift", "6, 1"), ("right_shift", "6, 1")]:
    _nondiff(_name, getattr(np, _name), _args.count(",") + 1)
    globals()[_name].__doc__ = (f"Elementwise ``numpy.{_name}`` on integers (not differentiable).\n\n"
                                f">>> int({_name}({_args}))\n{int(getattr(np, _name)(*eval(f'({_args},)')))}\n")
_nondiff("isnat", np.isnat, 1)
isnat.__doc__ = "Elementwise ``numpy.isnat`` for datetimes (not differentiable).\n"  # noqa: F821

# NumPy 2's array-API names for the same ufuncs.
acos, asin, atan = arccos, arcsin, arctan  # noqa: F821
acosh, asinh, atanh = arccosh, arcsinh, arctanh  # noqa: F821
atan2 = arctan2  # noqa: F821
pow = power  # noqa: A001
bitwise_invert = invert  # noqa: F821
bitwise_left_shift, bitwise_right_shift = left_shift, right_shift  # noqa: F821
__all__ += ["acos", "asin", "atan", "acosh", "asinh", "atanh", "atan2", "pow", "bitwise_invert",
            "bitwise_left_shift", "bitwise_right_shift"]


_sign_real = sign  # noqa: F821 - the non-differentiable primitive defined above


def _sign(x):
    """The sign of ``x``: -1, 0 or 1 for real ``x`` (not differentiable); ``x / |x|`` (0 at 0) for complex ``x``,
    as in NumPy 2, which is differentiable.

    >>> sign(np.array([-2.0, 0.0, 3.0]))
    array([-1.,  0.,  1.])
    """
    x = _operand(x)
    if _is_complex(x):
        r = abs(x)
        return where(r == 0, 0, x / astype(_nonzero_or_one(r), x.dtype))
    return _sign_real(x)


_sign.__name__ = _sign.__qualname__ = "sign"
sign = _sign
