"""HIPS autograd's extension API: turn a Python function into a chainrule primitive and give it derivatives.

>>> import numpy as np
>>> import chainrule as cr, chainrule.numpy as cnp
>>> @primitive
... def logsumexp(x):
...     m = np.max(x)
...     return m + np.log(np.sum(np.exp(x - m)))
>>> defvjp(logsumexp, lambda ans, x: lambda g: g * cnp.exp(x - ans))
>>> cr.grad(logsumexp)(np.array([0.0, 0.0]))
array([0.5, 0.5])

Invariant: a function decorated with ``primitive`` is one chainrule ``Primitive`` whose ``impl`` runs the
function on plain values (NumPy code works inside it) and whose rules call the registered makers:

- ``defvjp(fun, maker_0, maker_1, ...)``: ``maker_i(ans, *args, **kwargs)`` returns ``g -> cotangent of arg i``
  (``None`` for a zero derivative), as in autograd; ``defvjp_argnum(fun, maker(argnum, ans, args, kwargs))``.
- ``defjvp(fun, jvp_0, ...)``: ``jvp_i(g, ans, *args, **kwargs)`` returns the output's tangent for tangent ``g``
  of arg i (``'same'`` for a linear argument, ``None`` for zero); ``defjvp_argnum``; ``def_linear(fun)``.
- A primitive with only VJPs gets its forward mode by transposing them, and one with only JVPs its reverse mode
  by transposing those, so either set gives both modes, provided the rules are written with chainrule
  operations (``chainrule.numpy``); higher orders likewise differentiate the rules themselves.
- Outputs may be pytrees (a tuple of arrays); cotangents and tangents then have the same structure.
- ``vmap`` evaluates a primitive once per batch element (the engine's loop fallback, with its warning).
- ``notrace_primitive(fun)``: a function whose result is never differentiated (it sees plain values).
"""
import functools
import itertools

import numpy as np

from .core.primitive import MissingRuleError, Primitive
from .core.trace import Tracer, concrete
from .core.tree import tree_flatten, tree_map, tree_unflatten

__all__ = ["primitive", "defvjp", "defjvp", "defvjp_argnum", "defjvp_argnum", "def_linear", "notrace_primitive",
           "register_notrace", "vspace", "VSpace", "Box"]

Box = Tracer
_MAX_ARGS = 64


class _Rules:
    """The derivative rules registered for one primitive."""

    __slots__ = ("name", "vjps", "vjp_argnum", "jvps", "jvp_argnum", "prim", "fun", "linear")

    def __init__(self, name):
        self.name = name
        self.vjps, self.jvps = {}, {}
        self.vjp_argnum = self.jvp_argnum = None
        self.linear = set()  # argnums whose JVP is the primitive itself ('same', def_linear): not transposable

    def vjp_maker(self, i):
        if i in self.vjps:
            return self.vjps[i]
        if self.vjp_argnum is not None:
            return lambda ans, *args, **kwargs: self.vjp_argnum(i, ans, args, kwargs)
        return None

    def jvp_fn(self, i):
        if i in self.jvps:
            return self.jvps[i]
        if self.jvp_argnum is not None:
            return lambda g, ans, *args, **kwargs: self.jvp_argnum(i, g, ans, args, kwargs)
        return None


class _Call:
    """One call's keyword arguments and output structure (filled in when the function first runs)."""

    __slots__ = ("kwargs", "out_tree")

    def __init__(self, kwargs):
        self.kwargs, self.out_tree = kwargs, None

    def flat(self, out):
        leaves, tree = tree_flatten(out)
        if self.out_tree is None:
            self.out_tree = tree
        return leaves

    def tree(self, leaves):
        return tree_unflatten(self.out_tree, list(leaves))


def _zeros(like):
    return np.zeros(np.shape(like), like.dtype if hasattr(like, "dtype") else np.result_type(like))


def _flat_tangent(call, t, outs):
    """A tangent/cotangent tree from a user rule, flattened like the output (None and zero leaves filled in)."""
    if t is None:
        return [_zeros(o) for o in outs]
    leaves = call.flat(t) if call.out_tree is None else tree_flatten(t)[0]
    if len(leaves) != len(outs):
        raise TypeError(f"a rule returned {len(leaves)} value(s) for an output with {len(outs)} array(s)")
    return [_zeros(o) if x is None else x for x, o in zip(leaves, outs)]


def _transpose(linear_fn, like, cts):
    from .transforms import vjp
    _, f = vjp(linear_fn, *[_zeros(x) for x in like])
    return f(list(cts))


def _written_with_chainrule(rules, kind, err):
    return MissingRuleError(
        f"{kind} of primitive {rules.name!r} is obtained by transposing its other rules, which therefore must be "
        f"written with chainrule operations (chainrule.numpy), not raw NumPy: {err}. Register the rule directly "
        f"with {'defjvp' if kind == 'JVP' else 'defvjp'} instead.")


def _make_rules(rules, prim):
    def vjp_rule(i):
        def rule(g, out, *primals, call):
            ans, gt = call.tree(out), call.tree(g)
            maker = rules.vjp_maker(i)
            if maker is not None:
                return maker(ans, *primals, **call.kwargs)(gt)
            jvp_i = rules.jvp_fn(i)
            if jvp_i is None or i in rules.linear or "all" in rules.linear:
                raise MissingRuleError(f"VJP of {rules.name} wrt argnum {i} not defined" + (
                    " (a linear JVP applies the primitive itself, which cannot give its own transpose: register "
                    "the transpose with defvjp)" if jvp_i is not None else ""))
            try:
                return _transpose(lambda t: _flat_tangent(call, jvp_i(t, ans, *primals, **call.kwargs), out),
                                  [primals[i]], g)[0]
            except TypeError as e:
                raise _written_with_chainrule(rules, "VJP", e) from e
        return rule

    def jvp_rule(primals, tangents, call):
        outs = prim.bind(*primals, call=call)
        ans = call.tree(outs)
        active = [i for i, t in enumerate(tangents) if t is not None]
        if all(rules.jvp_fn(i) is not None for i in active):
            total = None
            for i in active:
                t = _flat_tangent(call, rules.jvp_fn(i)(tangents[i], ans, *primals, **call.kwargs), outs)
                total = t if total is None else [a + b for a, b in zip(total, t)]
            return outs, total
        for i in active:
            if rules.vjp_maker(i) is None:
                raise MissingRuleError(f"JVP of {rules.name} wrt argnum {i} not defined")
        fns = [rules.vjp_maker(i)(ans, *primals, **call.kwargs) for i in active]

        def pull(*gs):
            gt = call.tree(gs)
            return [_zeros(primals[i]) if c is None else c for i, c in zip(active, (f(gt) for f in fns))]

        try:
            t_out = _transpose(pull, outs, [tangents[i] for i in active])
        except TypeError as e:
            raise _written_with_chainrule(rules, "JVP", e) from e
        return outs, list(t_out)

    prim.vjp = tuple(vjp_rule(i) for i in range(_MAX_ARGS))
    prim.jvp = jvp_rule


def primitive(f_raw):
    """Make ``f_raw`` (a function of plain NumPy values) a chainrule primitive; give it derivatives with
    ``defvjp``/``defjvp``. Called without traced arguments it is ``f_raw`` itself.

    >>> import numpy as np, chainrule as cr
    >>> @primitive
    ... def cube(x):
    ...     return x ** 3
    >>> defvjp(cube, lambda ans, x: lambda g: g * 3 * x ** 2)
    >>> float(cr.grad(cube)(2.0))
    12.0
    """
    rules = _Rules(getattr(f_raw, "__name__", "primitive"))

    def impl(*args, call):
        return call.flat(f_raw(*args, **call.kwargs))

    prim = Primitive(rules.name, impl, multiple_results=True)
    _make_rules(rules, prim)
    rules.prim = prim

    @functools.wraps(f_raw)
    def f_wrapped(*args, **kwargs):
        if not any(isinstance(a, Tracer) for a in args):
            return f_raw(*args, **kwargs)
        call = _Call(kwargs)
        outs = prim.bind(*args, call=call)
        return call.tree(outs)

    rules.fun = f_wrapped
    f_wrapped.fun = f_raw
    f_wrapped._chainrule_rules = rules
    f_wrapped.prim = prim
    return f_wrapped


def _rules_of(fun, who):
    rules = getattr(fun, "_chainrule_rules", None)
    if rules is None:
        raise TypeError(f"{who}: {getattr(fun, '__name__', fun)!r} is not a primitive; decorate it with "
                        f"chainrule.extend.primitive first")
    return rules


def defvjp(fun, *vjpmakers, argnums=None):
    """Register VJP makers, one per argument (``argnums`` picks which): ``maker(ans, *args, **kwargs)`` returns a
    function from the output's cotangent to that argument's cotangent; ``None`` means a zero derivative."""
    rules = _rules_of(fun, "defvjp")
    for i, maker in zip(itertools.count() if argnums is None else argnums, vjpmakers):
        if maker is None:
            maker = (lambda ans, *args, **kwargs: lambda g: None)
        elif not callable(maker):
            raise TypeError(f"defvjp: bad VJP {maker!r} for {rules.name!r}")
        rules.vjps[i] = maker


def defvjp_argnum(fun, vjpmaker):
    """Register one VJP maker for every argument: ``vjpmaker(argnum, ans, args, kwargs)`` returns ``g -> ct``."""
    _rules_of(fun, "defvjp_argnum").vjp_argnum = vjpmaker


def defjvp(fun, *jvpfuns, argnums=None):
    """Register JVPs, one per argument: ``jvp(g, ans, *args, **kwargs)`` returns the output's tangent for tangent
    ``g`` of that argument; ``'same'`` for an argument the function is linear in; ``None`` for zero."""
    rules = _rules_of(fun, "defjvp")
    for i, jf in zip(itertools.count() if argnums is None else argnums, jvpfuns):
        if jf is None:
            jf = (lambda g, ans, *args, **kwargs: None)
        elif isinstance(jf, str) and jf == "same":
            jf = (lambda g, ans, *args, _i=i, **kwargs: rules.fun(*_subval(args, _i, g), **kwargs))
            rules.linear.add(i)
        elif not callable(jf):
            raise TypeError(f"defjvp: bad JVP {jf!r} for {rules.name!r}")
        rules.jvps[i] = jf


def defjvp_argnum(fun, jvpmaker):
    """Register one JVP for every argument: ``jvpmaker(argnum, g, ans, args, kwargs)``."""
    _rules_of(fun, "defjvp_argnum").jvp_argnum = jvpmaker


def _subval(args, i, v):
    return args[:i] + (v,) + args[i + 1:]


def def_linear(fun):
    """Declare ``fun`` linear in each argument: its JVP applies ``fun`` to the tangent (as in autograd, the
    reverse mode still needs ``defvjp``).

    >>> import numpy as np, chainrule as cr
    >>> @primitive
    ... def scale(x, a):
    ...     return x * a
    >>> def_linear(scale)
    >>> cr.jvp(lambda x: scale(x, 3.0), (1.0,), (1.0,))
    (3.0, 3.0)
    """
    rules = _rules_of(fun, "def_linear")
    rules.jvp_argnum = lambda argnum, g, ans, args, kwargs: rules.fun(*_subval(args, argnum, g), **kwargs)
    rules.linear.add("all")


def notrace_primitive(f_raw):
    """``f_raw`` evaluated on plain values: its result is never differentiated (like autograd's
    ``notrace_primitive``).

    >>> import chainrule as cr
    >>> shape_of = notrace_primitive(lambda x: x.shape)
    >>> cr.grad(lambda x: x.sum() * len(shape_of(x)))(np.ones(2))
    array([1., 1.])
    """
    name = getattr(f_raw, "__name__", "notrace_primitive")
    prim = Primitive(name, lambda *args, call: f_raw(*args, **call.kwargs), nondiff=True)

    @functools.wraps(f_raw)
    def f_wrapped(*args, **kwargs):
        if not any(isinstance(a, Tracer) for a in args):
            return f_raw(*args, **kwargs)
        return prim.bind(*args, call=_Call(kwargs))

    f_wrapped.fun = f_raw
    f_wrapped.prim = prim
    return f_wrapped


def register_notrace(trace_type, primitive_fun):
    """Make a ``primitive`` non-differentiable (autograd's ``register_notrace``; ``trace_type`` is ignored)."""
    prim = getattr(primitive_fun, "prim", None)
    if prim is None:
        raise TypeError(f"register_notrace: {primitive_fun!r} is not a primitive")
    prim.nondiff = True


class VSpace:
    """The vector space of a value, as autograd's ``vspace``: shape, dtype, size, zeros/ones/randn."""

    def __init__(self, value):
        v = value
        self.shape = tuple(np.shape(v)) if not isinstance(v, Tracer) else tuple(v.shape)
        self.dtype = v.dtype if hasattr(v, "dtype") else np.result_type(v)

    @property
    def iscomplex(self):
        return bool(np.issubdtype(self.dtype, np.complexfloating))

    @property
    def size(self):
        n = int(np.prod(self.shape, dtype=np.int64))
        return 2 * n if self.iscomplex else n

    @property
    def ndim(self):
        return len(self.shape)

    def zeros(self):
        return np.zeros(self.shape, self.dtype)

    def ones(self):
        return np.ones(self.shape, self.dtype) * (1 + 1j if self.iscomplex else 1)

    def randn(self):
        r = np.random.randn(*self.shape)
        if self.iscomplex:
            r = r + 1j * np.random.randn(*self.shape)
        return np.asarray(r).astype(self.dtype)

    def standard_basis(self):
        for idx in np.ndindex(*self.shape):
            for v in ((1.0, 1j) if self.iscomplex else (1.0,)):
                e = np.zeros(self.shape, self.dtype)
                e[idx] = v
                yield e

    def __eq__(self, other):
        return isinstance(other, VSpace) and (self.shape, self.dtype) == (other.shape, other.dtype)

    def __repr__(self):
        return f"VSpace(shape={self.shape}, dtype={self.dtype})"


def vspace(value):
    """The ``VSpace`` of an array or traced value (pytrees give a tree of them).

    >>> vspace(np.zeros((2, 3))).size
    6
    """
    if isinstance(value, (list, tuple, dict)):
        return tree_map(VSpace, value)
    return VSpace(value if isinstance(value, Tracer) else concrete(value))
