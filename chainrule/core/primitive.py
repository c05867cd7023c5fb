"""Primitives, ``bind`` and the rule registries.

Invariant: a Primitive is a name, an ``impl`` on backend arrays, and rules that are written with chainrule
operations (so every rule is itself differentiable and batchable):

- ``jvp(primals, tangents, **params) -> (out, out_dot)``; a tangent of ``None`` is a symbolic zero.
- ``vjp``: either a tuple with one function per positional argument, ``f_i(g, out, *primals, **params)``
  returning that argument's cotangent (``None`` entries for arguments that are never differentiable), or one
  joint function ``f(g, out, *primals, **params)`` returning a tuple of cotangents. Rules return ``None`` for
  a zero cotangent.
- ``batch(axis_size, values, dims, **params) -> (out, out_dim)``; a dim of ``None`` means "not mapped".
- ``saves``: what the VJP reads besides shapes and dtypes: ``SAVE_INPUTS``, ``SAVE_OUT``, both (``SAVE_ALL``, the
  default) or neither (``SAVE_NONE``, every linear op). Reverse mode keeps only that; the rest is replaced by an
  ``Aval`` (shape and dtype), so a long forward pass does not hold every intermediate array.
- ``reverse_fwd(primals, params) -> (out, saved)`` (optional): under reverse mode, compute the output and the
  values the VJP will receive in place of the primals (custom_vjp's residuals; checkpoint saves only inputs).

Arrays are positional arguments; metadata (axis, shape, dtype, index) are keyword parameters.
"""
from .trace import Shaped, Tracer

SAVE_NONE, SAVE_INPUTS, SAVE_OUT, SAVE_ALL = 0, 1, 2, 3


class Aval(Shaped):
    """The shape and dtype of a value that reverse mode chose not to keep (see ``Primitive.saves``)."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape, dtype):
        self.shape = shape
        self.dtype = dtype

    def __repr__(self):
        return f"Aval(shape={self.shape}, dtype={self.dtype})"


class Primitive:
    """An operation the engine knows how to evaluate, differentiate and batch.

    >>> import numpy as np
    >>> twice_p = Primitive("twice", lambda x: 2 * x)
    >>> _ = def_linear(twice_p, lambda g, x: twice_p.bind(g))
    >>> twice_p.bind(np.arange(3.0))
    array([0., 2., 4.])
    """

    __slots__ = ("name", "impl", "jvp", "vjp", "batch", "reverse_fwd", "multiple_results", "nondiff", "saves",
                 "__weakref__")

    def __init__(self, name, impl, *, multiple_results=False, nondiff=False):
        self.name = name
        self.impl = impl
        self.jvp = None
        self.vjp = None
        self.batch = None
        self.reverse_fwd = None
        self.saves = SAVE_ALL
        self.multiple_results = multiple_results
        self.nondiff = nondiff

    def bind(self, *args, **params):
        top = None
        level = -1
        for a in args:
            if isinstance(a, Tracer):
                t = a._trace
                if not t.alive:
                    raise t.escaped(a)
                if t.level > level:
                    top, level = t, t.level
        if top is None:
            return self.impl(*args, **params)
        return top.process(self, args, params)

    def __repr__(self):
        return f"<primitive {self.name}>"


class MissingRuleError(NotImplementedError):
    """An operation was transformed that has no rule for that transform."""


def missing_rule(prim, kind, detail=""):
    return MissingRuleError(
        f"Differentiation rule for '{prim.name}' not implemented: it has no {kind} rule{detail}. "
        f"Register one on chainrule primitive {prim.name!r}, or wrap the computation in custom_vjp/custom_jvp.")


# ---------------------------------------------------------------------------------------------------------
# Family helpers: each fills several rule slots from one formula.
# ---------------------------------------------------------------------------------------------------------

def def_unary(prim, rule, saves=SAVE_ALL):
    """An elementwise unary op from ``rule(g, x, out) -> g * f'(x)``.

    For an elementwise op the Jacobian is diagonal, so the same formula gives the JVP (with a tangent) and the
    VJP (with a cotangent).
    """
    bind = prim.bind

    def jvp(primals, tangents, **params):
        x, = primals
        out = bind(x, **params)
        return out, rule(tangents[0], x, out)

    prim.jvp = jvp
    prim.vjp = (lambda g, out, x, **params: rule(g, x, out),)
    prim.saves = saves
    return prim


def def_elementwise(prim, *rules, saves=SAVE_ALL):
    """An elementwise n-ary op from one ``rule_i(g, out, *primals) -> g * d out / d x_i`` per argument.

    ``None`` marks an argument with no derivative (a condition, say). Operands have equal shapes (the NumPy
    face broadcasts traced operands explicitly), so each rule serves as JVP term and VJP alike.
    """
    bind = prim.bind

    def jvp(primals, tangents, **params):
        out = bind(*primals, **params)
        total = None
        for rule, t in zip(rules, tangents):
            if t is None or rule is None:
                continue
            term = rule(t, out, *primals, **params)
            total = term if total is None else total + term
        return out, total

    prim.jvp = jvp
    prim.vjp = tuple(rules)
    prim.saves = saves
    return prim


def def_linear(prim, *transposes):
    """A linear op: the JVP applies the op to the tangents; the VJP is the given transpose(s).

    Each ``transpose_i(g, *primals, **params)`` maps the output cotangent to argument i's cotangent.
    Zero tangents are materialised only when some other tangent is non-zero.
    """
    from .zeros import zeros_like_value
    bind = prim.bind

    def jvp(primals, tangents, **params):
        out = bind(*primals, **params)
        ts = [zeros_like_value(p) if t is None else t for p, t in zip(primals, tangents)]
        return out, bind(*ts, **params)

    prim.jvp = jvp
    prim.vjp = tuple((lambda g, out, *primals, _t=t, **params: _t(g, *primals, **params)) if t else None
                     for t in transposes)
    prim.saves = SAVE_NONE
    return prim


def def_nondiff(prim):
    """An op with no derivative (floor, argmax, comparisons): transforms of differentiation pass it through."""
    prim.nondiff = True
    return prim
