"""vmap's batch trace.

Invariant: a BatchTracer holds a value one level down with one extra axis, at position ``bdim``, that runs over
the batch; the logical value (what the user's function sees) is that array with the axis removed. Values that
do not depend on the mapped inputs are not tracers at all ("not mapped", dim ``None``). A primitive with no batch
rule is evaluated once per batch element and the results stacked: correct first, with a one-time warning per
primitive, so vmap never refuses a function that works unbatched.
"""
import warnings

from ..core.trace import Trace, Tracer


class BatchTracer(Tracer):
    __slots__ = ("val", "bdim")

    def __init__(self, trace, val, bdim):
        self._trace = trace
        self.val = val
        self.bdim = bdim

    @property
    def shape(self):
        s = self.val.shape
        d = self.bdim
        return s[:d] + s[d + 1:]

    @property
    def dtype(self):
        return self.val.dtype

    def concrete_value(self):
        return self.val

    def __bool__(self):
        raise TypeError(
            "vmap: the truth value of a batched value is ambiguous (Python control flow on a mapped value). "
            "Use chainrule.numpy.where, or call the function in a loop.")

    def __repr__(self):
        return f"BatchTracer<{self._trace.transform}, axis {self.bdim}>({self.val!r})"


_warned = set()


class BatchTrace(Trace):
    __slots__ = ("axis_size",)

    def __init__(self, transform, axis_size):
        super().__init__(transform)
        self.axis_size = axis_size

    def process(self, prim, args, params):
        vals = []
        dims = []
        for a in args:
            if type(a) is BatchTracer and a._trace is self:
                vals.append(a.val)
                dims.append(a.bdim)
            else:
                vals.append(a)
                dims.append(None)
        rule = prim.batch
        if rule is None:
            out, out_dim = loop_fallback(prim, self.axis_size, vals, dims, params)
        else:
            out, out_dim = rule(self.axis_size, vals, dims, **params)
        if prim.multiple_results:
            if not isinstance(out_dim, (list, tuple)):
                out_dim = [out_dim] * len(out)
            return [o if d is None else BatchTracer(self, o, d) for o, d in zip(out, out_dim)]
        if out_dim is None:
            return out
        return BatchTracer(self, out, out_dim)


def loop_fallback(prim, size, vals, dims, params):
    """Evaluate ``prim`` once per batch element and stack the results along axis 0."""
    from ..ops import shape as S
    if prim.name not in _warned:
        _warned.add(prim.name)
        warnings.warn(f"vmap: primitive '{prim.name}' has no batch rule; falling back to a loop over the batch "
                      f"({size} calls). Results are correct but slower.", stacklevel=4)
    outs = []
    for i in range(size):
        args = [v if d is None else take_index(v, d, i) for v, d in zip(vals, dims)]
        outs.append(prim.bind(*args, **params))
    if prim.multiple_results:
        return [S.stack([o[k] for o in outs]) for k in range(len(outs[0]))], 0
    return S.stack(outs), 0


def take_index(x, d, i):
    """``x`` indexed with integer ``i`` along axis ``d``."""
    return x[(slice(None),) * d + (i,)]


# ---------------------------------------------------------------------------------------------------------
# Family helpers for batch rules.
# ---------------------------------------------------------------------------------------------------------

def move_to_front(x, d, size=None):
    """``x`` with its batch axis ``d`` moved to position 0; an unmapped ``x`` is broadcast when ``size`` is given."""
    from ..ops import shape as S
    if d is None:
        if size is None:
            return x
        return S.broadcast_to(S.expand_dims(x, 0), (size,) + tuple(x.shape))
    if d == 0:
        return x
    return S.moveaxis(x, d, 0)


def def_vectorized(prim):
    """Batch rule for an op that acts independently on every element (one mapped argument)."""
    bind = prim.bind
    prim.batch = lambda size, vals, dims, **params: (bind(*vals, **params), dims[0])
    return prim


def def_broadcasting(prim):
    """Batch rule for an elementwise n-ary op: mapped operands move their batch axis to the front and
    unmapped ones line up from the right, as NumPy broadcasting does."""
    bind = prim.bind

    def batch(size, vals, dims, **params):
        first = None
        same = True
        for v, d in zip(vals, dims):
            if d is not None:
                if first is None:
                    first = (d, v.ndim)
                elif (d, v.ndim) != first:
                    same = False
        if same and all(d is not None for d in dims):
            return bind(*vals, **params), first[0]
        if same and first[0] == 0:
            return bind(*broadcast_lower(vals), **params), 0
        vals = [move_to_front(v, d) if d is not None else v for v, d in zip(vals, dims)]
        return bind(*broadcast_lower(vals), **params), 0

    prim.batch = batch
    return prim


def broadcast_lower(vals):
    """Explicitly broadcast operands that are tracers of lower levels (NOTE: [explicit broadcasting] in
    ops/_util.py): NumPy may line up an unmapped operand against a batched one, but a lower trace must see
    operands of one shape so its rules need not un-broadcast."""
    if not any(isinstance(v, Tracer) for v in vals):
        return vals
    import numpy as np
    from ..ops import shape as S
    shapes = [tuple(np.shape(v)) if not isinstance(v, Tracer) else tuple(v.shape) for v in vals]
    out_shape = np.broadcast_shapes(*shapes)
    return [S.broadcast_to(v, out_shape) if isinstance(v, Tracer) and s != out_shape else v
            for v, s in zip(vals, shapes)]
