"""Levels, traces and tracers.

Invariant: every Tracer belongs to exactly one Trace. A Trace created while another is alive gets a higher
level, so nesting order is level order. ``Primitive.bind`` hands an operation to the highest-level trace among
its arguments; values of lower levels are constants to that trace and are passed one level down untouched.
A trace is closed when its transform returns; using one of its tracers afterwards raises
``EscapedTracerError`` naming the transform.

NOTE: [no dynamic trace stack]
Every chainrule tracer carries a concrete value, so there is nothing to stage out and no "current trace" is
needed: dispatch is decided by the arguments alone. Levels come from one global counter, which keeps them
ordered by creation (hence by nesting) without any per-thread stack to maintain.
"""
import itertools

_levels = itertools.count(1)


class EscapedTracerError(RuntimeError):
    """A traced value was used after the transform that traced it had returned."""


class Trace:
    """One invocation of a transform. Subclasses implement ``process(prim, args, params)``."""

    __slots__ = ("level", "alive", "transform")

    def __init__(self, transform):
        self.level = next(_levels)
        self.alive = True
        self.transform = transform

    def process(self, prim, args, params):  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self):
        self.alive = False

    def escaped(self, tracer):
        return EscapedTracerError(
            f"A value traced by `{self.transform}` was used after `{self.transform}` returned "
            f"(a tracer escaped its transform: {type(tracer).__name__} with shape {tracer.shape}). "
            f"Return it from the function instead of storing it in an outer variable.")

    def __repr__(self):
        state = "alive" if self.alive else "closed"
        return f"<{type(self).__name__} of {self.transform} at level {self.level}, {state}>"


class Shaped:
    """``ndim`` and ``size`` derived from ``shape`` (shared by tracers and abstract values)."""

    __slots__ = ()

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        n = 1
        for d in self.shape:
            n *= d
        return n


class Tracer(Shaped):
    """A value being traced by one Trace. Operators and array methods are installed by ``chainrule.ops.methods``.

    Subclasses define ``shape`` and ``dtype`` and a way to get at their value one level down.
    """

    __slots__ = ("_trace",)
    __array_priority__ = 1000

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of unsized object (a 0-d traced value)")
        return self.shape[0]

    def __hash__(self):
        raise TypeError(f"unhashable type: traced value ({type(self).__name__})")


class PrimalTracer(Tracer):
    """A tracer whose value one level down is its ``primal`` (reverse and forward mode; not vmap, whose value
    carries an extra axis)."""

    __slots__ = ("primal",)

    @property
    def shape(self):
        return self.primal.shape

    @property
    def dtype(self):
        return self.primal.dtype

    def concrete_value(self):
        return self.primal

    def __repr__(self):
        return f"{type(self).__name__}<{self._trace.transform}>({self.primal!r})"


def concrete(x):
    """The raw value underneath any stack of tracers (for shape logic and non-differentiable decisions)."""
    while isinstance(x, Tracer):
        x = x.concrete_value()
    return x
