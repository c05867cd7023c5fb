"""Forward mode (JVP).

Invariant: a JVPTracer pairs a value one level down with its tangent (``None`` is a symbolic zero, never
materialised here). When every tangent of an operation is zero the primitive binds straight below and its
result is not a tracer of this trace, so work that does not depend on the perturbation costs nothing extra.
"""
from ..core.primitive import missing_rule
from ..core.trace import PrimalTracer, Trace


class JVPTracer(PrimalTracer):
    """A value traced by forward mode: its value one level down and its tangent."""

    __slots__ = ("tangent",)

    def __init__(self, trace, primal, tangent):
        self._trace = trace
        self.primal = primal
        self.tangent = tangent


class JVPTrace(Trace):
    __slots__ = ()

    def process(self, prim, args, params):
        primals = []
        tangents = []
        nonzero = False
        for a in args:
            if type(a) is JVPTracer and a._trace is self:
                primals.append(a.primal)
                t = a.tangent
                tangents.append(t)
                if t is not None:
                    nonzero = True
            else:
                primals.append(a)
                tangents.append(None)
        if prim.nondiff or not nonzero:
            return prim.bind(*primals, **params)
        rule = prim.jvp
        if rule is None:
            raise missing_rule(prim, "JVP")
        out, t_out = rule(primals, tangents, **params)
        if prim.multiple_results:
            if t_out is None:
                return out
            return [o if t is None else JVPTracer(self, o, t) for o, t in zip(out, t_out)]
        if t_out is None:
            return out
        return JVPTracer(self, out, t_out)
