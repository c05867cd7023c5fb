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
    if np.iscomplexobj(g) or np.issubdtype(x.dtype, np.complexfloating):
        raise NotImplementedError("abs of complex values is not differentiable yet")
    return g * sign(x)


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
    if np.issubdtype(x.dtype, np.complexfloating) and not np.issubdtype(dtype, np.complexfloating):
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
    if not np.issubdtype(dtype, np.inexact):
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
