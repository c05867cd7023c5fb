"""User-defined derivative rules (``custom_jvp``, ``custom_vjp``) and rematerialisation (``checkpoint``).

Invariant: each wraps the user's function in one primitive call whose parameters carry the user's callables;
the primitive's rules call those callables, so the same mechanism works under every transform and at any depth:

- ``custom_jvp``: forward mode calls the user's JVP; reverse mode transposes it (the VJP of the linear map
  ``t -> jvp(x, t)`` is obtained by reverse-differentiating it with respect to ``t``).
- ``custom_vjp``: reverse mode runs ``fwd`` and keeps only its residuals, then calls ``bwd``; forward mode
  transposes ``bwd`` the same way. Both therefore need their rules written with chainrule operations to be
  differentiated in the *other* mode; within their own mode any NumPy code works.
- ``checkpoint``: reverse mode evaluates the function one level down (so none of its intermediates are
  recorded), saves only its inputs, and re-runs it under ``vjp`` when the cotangent arrives.

Under ``vmap`` each primitive re-binds itself with its callables vectorised by ``vmap``.
"""
import functools

import numpy as np

from .core.primitive import Primitive
from .core.tree import tree_flatten, tree_unflatten
from .core.zeros import zeros_like_value

__all__ = ["custom_jvp", "custom_vjp", "checkpoint", "remat"]


def _split_args(args, nondiff_argnums):
    static = tuple(args[i] for i in nondiff_argnums)
    dyn = tuple(a for i, a in enumerate(args) if i not in nondiff_argnums)
    return static, dyn


class _Call:
    """Parameters of one custom call: the user's callables and the input/output structures.

    Identity-hashed (a fresh object per call) and mutable in one respect: ``out_tree`` is filled in the first
    time the user's function runs, at whatever level that happens.
    """

    __slots__ = ("fun", "rule", "bwd", "static", "argnums", "in_tree", "out_tree", "name")

    def __init__(self, fun, rule, bwd, static, in_tree, name, argnums=()):
        self.fun, self.rule, self.bwd = fun, rule, bwd
        self.static, self.argnums, self.in_tree, self.out_tree, self.name = static, argnums, in_tree, None, name

    def args(self, leaves):
        return tree_unflatten(self.in_tree, leaves)

    def full_args(self, leaves):
        """All positional arguments: the static ones back at their positions among the dynamic ones."""
        args = list(self.args(leaves))
        for i, v in sorted(zip(self.argnums, self.static)):
            args.insert(i, v)
        return args

    def flat_out(self, out):
        leaves, tree = tree_flatten(out)
        if self.out_tree is None:
            self.out_tree = tree
        return leaves


def _zeros_for(primals, tangents):
    return [zeros_like_value(p) if t is None else t for p, t in zip(primals, tangents)]


def _transpose(linear_fn, primals_like, cts):
    """``cts`` pulled back through the linear function ``linear_fn`` (evaluated at zeros shaped like
    ``primals_like``)."""
    from .transforms import vjp
    _, f = vjp(linear_fn, *[zeros_like_value(p) for p in primals_like])
    return f(list(cts))


def _vmapped(fn, size, in_axes):
    from .transforms import vmap
    return vmap(fn, in_axes=in_axes, axis_size=size)


# ---------------------------------------------------------------------------------------------------------
# custom_jvp
# ---------------------------------------------------------------------------------------------------------

def _cjvp_impl(*leaves, call):
    return call.flat_out(call.fun(*call.full_args(leaves)))


def _cjvp_jvp(primals, tangents, call):
    ts = _zeros_for(primals, tangents)
    out, t_out = call.rule(*call.static, call.args(primals), call.args(ts))
    out_flat = call.flat_out(out)
    t_flat, t_tree = tree_flatten(t_out)
    if len(t_flat) != len(out_flat):
        raise TypeError(f"custom_jvp rule of {call.name}: the tangent output has structure {t_tree} but the primal "
                        f"output has structure {call.out_tree}")
    where = f"custom_jvp rule of {call.name}"
    return out_flat, [_conform(t, o, where, f"tangent output {i}") for i, (t, o) in enumerate(zip(t_flat, out_flat))]


def _cjvp_vjp(g, out, *primals, call):
    def tangent_map(*ts):
        return tree_flatten(call.rule(*call.static, call.args(primals), call.args(ts))[1])[0]
    return _transpose(tangent_map, primals, g)


def _rebind_batched(prim, call, size, vals, dims, rule=None, bwd=None):
    """The batch rule of all three custom calls: bind ``prim`` again one level down with the user's function
    vectorised by ``vmap`` (and the rules built by ``rule(dims_tree)`` / ``bwd``); every output is batched at 0."""
    dims_tree = tuple(tree_unflatten(call.in_tree, dims))
    fun = _vmapped(lambda *a: call.fun(*call.full_args(tree_flatten(a)[0])), size, dims_tree)
    new = _Call(fun, None if rule is None else rule(dims_tree), bwd, (), call.in_tree, call.name)
    out = prim.bind(*vals, call=new)
    call.out_tree = new.out_tree
    return out, 0


def _cjvp_batch(size, vals, dims, call):
    def rule(dims_tree):
        return lambda primals, tangents: _vmapped(lambda p, t: call.rule(*call.static, p, t), size,
                                                  (dims_tree, dims_tree))(primals, tangents)
    return _rebind_batched(custom_jvp_call_p, call, size, vals, dims, rule)


custom_jvp_call_p = Primitive("custom_jvp_call", _cjvp_impl, multiple_results=True)
custom_jvp_call_p.jvp = _cjvp_jvp
custom_jvp_call_p.vjp = _cjvp_vjp
custom_jvp_call_p.batch = _cjvp_batch


class custom_jvp:
    """A function with a user-defined forward-mode rule (used by every transform, reverse mode included).

    >>> import chainrule as cr, chainrule.numpy as cnp
    >>> @custom_jvp
    ... def log1pexp(x):
    ...     return cnp.log1p(cnp.exp(x))
    >>> @log1pexp.defjvp
    ... def log1pexp_jvp(primals, tangents):
    ...     x, = primals
    ...     t, = tangents
    ...     return log1pexp(x), t * (1 - 1 / (1 + cnp.exp(x)))
    >>> float(cr.grad(log1pexp)(0.0))  # reverse mode runs the custom JVP, transposed
    0.5
    """

    def __init__(self, fun, nondiff_argnums=()):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.jvp = None

    def defjvp(self, jvp):
        """Register ``jvp(*nondiff_args, primals, tangents) -> (out, tangent_out)``; returns ``jvp``."""
        self.jvp = jvp
        return jvp

    def __call__(self, *args):
        if self.jvp is None:
            raise AttributeError(f"custom_jvp function {self.__name__} has no JVP rule: call .defjvp(rule) first")
        static, dyn = _split_args(args, self.nondiff_argnums)
        leaves, in_tree = tree_flatten(dyn)
        call = _Call(self.fun, self.jvp, None, static, in_tree, self.__name__, self.nondiff_argnums)
        out = custom_jvp_call_p.bind(*leaves, call=call)
        return tree_unflatten(call.out_tree, out)


# ---------------------------------------------------------------------------------------------------------
# custom_vjp
# ---------------------------------------------------------------------------------------------------------

def _cvjp_impl(*leaves, call):
    return call.flat_out(call.fun(*call.full_args(leaves)))


def _cvjp_fwd(primals, params):
    call = params["call"]
    res = call.rule(*call.full_args(primals))
    if not (isinstance(res, tuple) and len(res) == 2):
        raise TypeError(f"custom_vjp fwd of {call.name} must return a pair (output, residuals), got "
                        f"{type(res).__name__}")
    out, residuals = res
    return call.flat_out(out), (residuals, primals)


def _bwd_cts(call, residuals, primals, g_leaves):
    cts = call.bwd(*call.static, residuals, tree_unflatten(call.out_tree, list(g_leaves)))
    if not isinstance(cts, tuple):
        raise TypeError(f"custom_vjp bwd of {call.name} must return a tuple with one entry per differentiable "
                        f"argument, got {type(cts).__name__}")
    n_args = len(call.in_tree.children)
    if len(cts) != n_args:
        raise TypeError(f"custom_vjp bwd of {call.name} returned {len(cts)} cotangents for {n_args} "
                        f"differentiable arguments")
    leaves = []
    for sub_ct, sub_def in zip(cts, call.in_tree.children):
        if sub_ct is None:
            leaves.extend([None] * sub_def.num_leaves)
        else:
            leaves.extend(tree_flatten(sub_ct)[0])
    return [zeros_like_value(p) if c is None else _conform(c, p, f"custom_vjp bwd of {call.name}", f"cotangent {i}")
            for i, (c, p) in enumerate(zip(leaves, primals))]


def _conform(value, like, where, what):
    """``value`` checked to have ``like``'s shape and given ``like``'s dtype: a rule's outputs follow the values
    they stand for (a float64 rule result for a float32 input comes back float32; a wrong shape is an error)."""
    from .ops.elementwise import astype
    shape = tuple(np.shape(value)) if not hasattr(value, "shape") else tuple(value.shape)
    if shape != tuple(like.shape):
        raise ValueError(f"{where}: {what} has shape {shape} but must have the shape {tuple(like.shape)} of the value "
                         f"it stands for")
    dtype = value.dtype if hasattr(value, "dtype") else np.result_type(value)
    if dtype != like.dtype:
        if np.issubdtype(dtype, np.complexfloating) and not np.issubdtype(like.dtype, np.complexfloating):
            raise TypeError(f"{where}: {what} is complex ({dtype}) but the value it stands for is {like.dtype}")
        value = astype(value if hasattr(value, "dtype") else np.asarray(value), like.dtype)
    return value


def _cvjp_vjp(g, out, residuals, primals, call):
    return _bwd_cts(call, residuals, primals, g)


def _cvjp_jvp(primals, tangents, call):
    out_flat, (residuals, _) = _cvjp_fwd(primals, {"call": call})
    ts = _zeros_for(primals, tangents)
    t_out = _transpose(lambda *gs: _bwd_cts(call, residuals, primals, gs), out_flat, ts)
    return out_flat, list(t_out)


def _cvjp_batch(size, vals, dims, call):
    # Every operand is given the batch axis (unmapped ones broadcast): the vectorised bwd then returns batched
    # cotangents for all of them, and the broadcast's own VJP sums those of the unmapped operands.
    from .interpreters.batching import move_to_front
    vals = [move_to_front(v, d, size) for v, d in zip(vals, dims)]
    fwd = lambda dims_tree: _vmapped(lambda *a: call.rule(*call.full_args(tree_flatten(a)[0])),  # noqa: E731
                                     size, dims_tree)
    bwd = _vmapped(lambda res, g: call.bwd(*call.static, res, g), size, (0, 0))
    return _rebind_batched(custom_vjp_call_p, call, size, vals, [0] * len(vals), fwd, bwd)


custom_vjp_call_p = Primitive("custom_vjp_call", _cvjp_impl, multiple_results=True)
custom_vjp_call_p.reverse_fwd = _cvjp_fwd
custom_vjp_call_p.vjp = _cvjp_vjp
custom_vjp_call_p.jvp = _cvjp_jvp
custom_vjp_call_p.batch = _cvjp_batch


class custom_vjp:
    """A function with a user-defined reverse-mode rule.

    ``fwd(*args) -> (out, residuals)`` and ``bwd(*nondiff_args, residuals, g) -> tuple of cotangents`` (one per
    differentiable argument; ``None`` for zero).

    >>> import chainrule as cr, chainrule.numpy as cnp
    >>> @custom_vjp
    ... def clip_gradient(x):
    ...     return x
    >>> clip_gradient.defvjp(lambda x: (x, None), lambda res, g: (cnp.clip(g, -1.0, 1.0),))
    >>> float(cr.grad(lambda x: 5.0 * clip_gradient(x))(2.0))
    1.0
    """

    def __init__(self, fun, nondiff_argnums=()):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.fwd = self.bwd = None

    def defvjp(self, fwd, bwd):
        """Register the forward pass (saving residuals) and the backward pass."""
        self.fwd, self.bwd = fwd, bwd

    def __call__(self, *args):
        if self.fwd is None:
            raise AttributeError(f"custom_vjp function {self.__name__} has no VJP rule: call .defvjp(fwd, bwd) "
                                 f"first")
        static, dyn = _split_args(args, self.nondiff_argnums)
        leaves, in_tree = tree_flatten(dyn)
        call = _Call(self.fun, self.fwd, self.bwd, static, in_tree, self.__name__, self.nondiff_argnums)
        out = custom_vjp_call_p.bind(*leaves, call=call)
        return tree_unflatten(call.out_tree, out)


# ---------------------------------------------------------------------------------------------------------
# checkpoint
# ---------------------------------------------------------------------------------------------------------

def _ckpt_impl(*leaves, call):
    return call.flat_out(call.fun(*call.full_args(leaves)))


def _ckpt_fwd(primals, params):
    # Evaluated one level down: nothing inside is recorded at this level; only the inputs are saved.
    return checkpoint_call_p.bind(*primals, **params), primals


def _ckpt_vjp(g, out, *primals, call):
    from .transforms import vjp
    _, f = vjp(lambda *xs: call.flat_out(call.fun(*call.full_args(xs))), *primals)
    return f(list(g))


def _ckpt_jvp(primals, tangents, call):
    from .transforms import jvp
    ts = _zeros_for(primals, tangents)
    out, t_out = jvp(lambda *xs: call.flat_out(call.fun(*call.full_args(xs))), tuple(primals), tuple(ts))
    return out, t_out


def _ckpt_batch(size, vals, dims, call):
    return _rebind_batched(checkpoint_call_p, call, size, vals, dims)


checkpoint_call_p = Primitive("checkpoint", _ckpt_impl, multiple_results=True)
checkpoint_call_p.reverse_fwd = _ckpt_fwd
checkpoint_call_p.vjp = _ckpt_vjp
checkpoint_call_p.jvp = _ckpt_jvp
checkpoint_call_p.batch = _ckpt_batch


def checkpoint(fun, static_argnums=()):
    """``fun`` whose intermediates are recomputed during the backward pass instead of being stored.

    >>> import numpy as np, chainrule as cr, chainrule.numpy as cnp
    >>> f = checkpoint(lambda x: cnp.sum(cnp.sin(cnp.sin(x))))
    >>> bool(np.allclose(cr.grad(f)(np.ones(3)), cr.grad(lambda x: cnp.sum(cnp.sin(cnp.sin(x))))(np.ones(3))))
    True
    """
    static_argnums = tuple(static_argnums)

    @functools.wraps(fun)
    def wrapped(*args):
        static, dyn = _split_args(args, static_argnums)
        leaves, in_tree = tree_flatten(dyn)
        if _only_tensors(leaves):
            # PyTorch-style use: the Tensor face's checkpoint also gives closed-over Tensors their gradients.
            from .utils import checkpoint as tensor_checkpoint
            return tensor_checkpoint(fun, *args)
        call = _Call(fun, None, None, static, in_tree, getattr(fun, "__name__", "checkpoint"), static_argnums)
        out = checkpoint_call_p.bind(*leaves, call=call)
        return tree_unflatten(call.out_tree, out)

    return wrapped


def _only_tensors(leaves):
    from .core.trace import Tracer
    from .tensor import Tensor
    return any(isinstance(v, Tensor) for v in leaves) and not any(
        isinstance(v, Tracer) and not isinstance(v, Tensor) for v in leaves)


remat = checkpoint
