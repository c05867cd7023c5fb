"""JAX-style transforms over pytrees: grad, value_and_grad, vjp, jvp, linearize, vmap, stop_gradient.

Each invocation of a transform opens one Trace (one level) and closes it when it returns, so transforms nest to
any depth and a value from an enclosing transform is a constant to an inner one.
"""
import functools
import numbers
import warnings

import numpy as np

from .core import backend
from .core.trace import Tracer
from .core.tree import broadcast_prefix, tree_flatten, tree_map, tree_structure, tree_unflatten
from .core.zeros import zeros_like_value
from .interpreters.batching import BatchTrace, BatchTracer
from .interpreters.forward import JVPTrace, JVPTracer
from .interpreters.reverse import ReverseTrace, ReverseTracer, backward_pass
from .ops import shape as S
from .ops.elementwise import stop_gradient  # noqa: F401 - re-exported

__all__ = ["grad", "value_and_grad", "vjp", "jvp", "linearize", "vmap", "stop_gradient", "jacfwd", "jacrev",
           "hessian", "hvp", "vhp"]


def _as_value(x, where):
    if isinstance(x, Tracer) or backend.is_array(x):
        return x
    if isinstance(x, (bool, numbers.Number)):
        return np.asarray(x)
    raise TypeError(f"{where}: argument of type {type(x).__name__} is not an array, a scalar or a pytree of them")


def _is_inexact(x):
    return x.dtype.kind in "fc"  # floating or complex (np.issubdtype costs microseconds on a hot path)


def _shape_dtype(x):
    return f"shape {tuple(x.shape)} and dtype {x.dtype}"


# ---------------------------------------------------------------------------------------------------------
# vjp / grad
# ---------------------------------------------------------------------------------------------------------

def _split_aux(out, has_aux, name):
    if not has_aux:
        return out, None
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise TypeError(f"{name}: with has_aux=True the function must return a pair (output, aux), got "
                        f"{type(out).__name__}")
    return out[0], out[1]


def _lower(trace, x):
    """A value as seen from below ``trace``: its own tracers are replaced by their primal values."""
    if type(x) is ReverseTracer and x._trace is trace:
        return x.primal
    if type(x) is JVPTracer and x._trace is trace:
        return x.primal
    return x


def vjp(fun, *primals, has_aux=False):
    """Evaluate ``fun(*primals)`` and return ``(out, vjp_fn)``; ``vjp_fn(ct)`` gives one cotangent per primal.

    >>> import numpy as np
    >>> out, f_vjp = vjp(lambda x: x * x, np.array([1.0, 2.0]))
    >>> f_vjp(np.ones(2))
    (array([2., 4.]),)
    """
    return _vjp(fun, primals, has_aux, "vjp")


def _vjp(fun, primals, has_aux, name, once=False):
    """``vjp`` under the name ``name``; with ``once``, the returned function frees the graph as it runs (it
    may then be called only once: what ``grad`` needs, with half the peak memory)."""
    flat, in_tree = tree_flatten(primals)
    flat = [_as_value(x, name) for x in flat]
    trace = ReverseTrace(name)
    try:
        args = [trace.new_leaf(x) if _is_inexact(x) else x for x in flat]
        out = fun(*tree_unflatten(in_tree, args))
    finally:
        trace.close()
    out, aux = _split_aux(out, has_aux, "vjp")
    out_flat, out_tree = tree_flatten(out)
    refs = [o.ref if type(o) is ReverseTracer and o._trace is trace else None for o in out_flat]
    out_vals = [_lower(trace, o) for o in out_flat]
    leaves = [a.ref if type(a) is ReverseTracer else None for a in args]

    def vjp_fn(ct):
        ct_flat, ct_tree = tree_flatten(ct)
        if ct_tree != out_tree:
            raise ValueError(f"vjp: the cotangent's structure {ct_tree} does not match the output's {out_tree}")
        seeds = []
        for i, (ref, c, o) in enumerate(zip(refs, ct_flat, out_vals)):
            c = _as_value(c, "vjp")
            if tuple(c.shape) != tuple(np.shape(o)):
                raise ValueError(f"vjp: cotangent {i} has shape {tuple(c.shape)} but the output has shape "
                                 f"{tuple(np.shape(o))}")
            seeds.append((ref, c))
        results = backward_pass(seeds, free=once)
        cts = []
        for leaf, x in zip(leaves, flat):
            g = results.get(leaf) if leaf is not None else None
            cts.append(zeros_like_value(x) if g is None else g)
        return tree_unflatten(in_tree, cts)

    vjp_fn.independent = all(r is None for r in refs)  # the output does not depend on the inputs
    out_val = tree_unflatten(out_tree, out_vals)
    if has_aux:
        return out_val, vjp_fn, tree_map(lambda a: _lower(trace, a), aux)
    return out_val, vjp_fn


def _argnums(argnums, argnum, nargs, name):
    if argnum is not None:
        argnums = argnum
    single = isinstance(argnums, (int, np.integer))
    nums = (int(argnums),) if single else tuple(int(a) for a in argnums)
    for a in nums:
        if not -nargs <= a < nargs:
            raise ValueError(f"{name}: argnums {a} is out of range for a function called with {nargs} positional "
                             f"argument(s)")
    return single, tuple(a % nargs for a in nums)


def value_and_grad(fun, argnums=0, has_aux=False, *, argnum=None, allow_int=False, _name="value_and_grad"):
    """A function returning ``(fun(*args), gradient)``; with ``has_aux``, ``((out, aux), gradient)``.

    >>> import numpy as np
    >>> value_and_grad(lambda x: (x ** 2).sum())(np.array([1.0, 2.0]))
    (5.0, array([2., 4.]))
    """
    name = _name

    @functools.wraps(fun)
    def value_and_grad_f(*args, **kwargs):
        single, nums = _argnums(argnums, argnum, len(args), name)
        dyn = []
        for i in nums:
            for leaf in tree_flatten(args[i])[0]:
                leaf_v = _as_value(leaf, name)
                if not _is_inexact(leaf_v) and not allow_int:
                    raise TypeError(
                        f"grad requires real- or complex-valued inputs (input dtype that is a sub-dtype of "
                        f"np.inexact), but got {leaf_v.dtype} for argument {i}. If you want to use integer-valued "
                        f"inputs, use vjp or set allow_int to True.")
            dyn.append(args[i])

        def partial(*dyn_args):
            full = list(args)
            for i, v in zip(nums, dyn_args):
                full[i] = v
            return fun(*full, **kwargs)

        res = _vjp(partial, tuple(dyn), has_aux, name, once=True)
        out, f_vjp = res[0], res[1]
        o = _as_value(out, name) if not isinstance(out, (tuple, list, dict)) else None
        if o is None or o.shape != ():
            shape = o.shape if o is not None else type(out).__name__
            raise TypeError(f"Gradient only defined for scalar-output functions. Output had shape: {shape}. "
                            f"For a non-scalar output use vjp, jacrev or jacfwd.")
        if o.dtype.kind == "c":
            raise TypeError(f"grad requires real-valued outputs (output dtype that is a sub-dtype of np.floating), "
                            f"but got {o.dtype}. For holomorphic differentiation use holomorphic_grad; for "
                            f"complex outputs in general use vjp.")
        if o.dtype.kind != "f":
            raise TypeError(f"grad requires real-valued outputs, but got {o.dtype}")
        if f_vjp.independent:
            warnings.warn("Output seems independent of input.", UserWarning, stacklevel=2)
        g = f_vjp(backend.ones((), o.dtype, like=out))
        g = g[0] if single else g
        if has_aux:
            return (out, res[2]), g
        return out, g

    return value_and_grad_f


def grad(fun, argnums=0, has_aux=False, *, argnum=None, allow_int=False):
    """The gradient of a scalar function with respect to argument(s) ``argnums``.

    ``argnum`` is accepted as an alias (HIPS autograd's name). With ``has_aux`` the function returns
    ``(output, aux)`` and the gradient function returns ``(gradient, aux)``.

    >>> import chainrule.numpy as cnp
    >>> float(grad(cnp.sin)(0.0))
    1.0
    >>> float(grad(lambda x: grad(lambda y: x * y)(x))(5.0))  # no perturbation confusion
    1.0
    """
    vg = value_and_grad(fun, argnums, has_aux, argnum=argnum, allow_int=allow_int, _name="grad")

    @functools.wraps(fun)
    def grad_f(*args, **kwargs):
        (out, g) = vg(*args, **kwargs)
        if has_aux:
            return g, out[1]
        return g

    return grad_f


# ---------------------------------------------------------------------------------------------------------
# jvp / linearize
# ---------------------------------------------------------------------------------------------------------

def jvp(fun, primals, tangents, has_aux=False):
    """``(fun(*primals), J @ tangents)``: forward-mode derivative along ``tangents``.

    >>> import numpy as np, chainrule.numpy as cnp
    >>> jvp(cnp.sin, (0.0,), (2.0,))
    (0.0, 2.0)
    """
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp: primals and tangents must be tuples or lists with one entry per positional "
                        f"argument, got {type(primals).__name__} and {type(tangents).__name__}")
    flat, in_tree = tree_flatten(tuple(primals))
    t_flat, t_tree = tree_flatten(tuple(tangents))
    if in_tree != t_tree:
        raise ValueError(f"jvp: primal and tangent arguments must have the same tree structure; got {in_tree} and "
                         f"{t_tree}")
    flat = [_as_value(x, "jvp") for x in flat]
    t_flat = [_as_value(t, "jvp") for t in t_flat]
    for i, (x, t) in enumerate(zip(flat, t_flat)):
        if tuple(x.shape) != tuple(t.shape):
            raise ValueError(f"jvp: primal and tangent arguments must have equal shapes; argument {i} has primal "
                             f"{_shape_dtype(x)} and tangent {_shape_dtype(t)}")
        if _is_inexact(x) and x.dtype != t.dtype:
            if isinstance(t, np.ndarray) and t.shape == () or np.can_cast(t.dtype, x.dtype, "same_kind"):
                t_flat[i] = t.astype(x.dtype) if not isinstance(t, Tracer) else t.astype(x.dtype)
            else:
                raise TypeError(f"jvp: primal and tangent dtypes must match; argument {i} has primal dtype "
                                f"{x.dtype} and tangent dtype {t.dtype}")
    trace = JVPTrace("jvp")
    try:
        args = [JVPTracer(trace, x, t) if _is_inexact(x) else x for x, t in zip(flat, t_flat)]
        out = fun(*tree_unflatten(in_tree, args))
    finally:
        trace.close()
    out, aux = _split_aux(out, has_aux, "jvp")
    out_flat, out_tree = tree_flatten(out)
    outs, touts = [], []
    for o in out_flat:
        if type(o) is JVPTracer and o._trace is trace:
            outs.append(o.primal)
            touts.append(zeros_like_value(o.primal) if o.tangent is None else o.tangent)
        else:
            o = _as_value(o, "jvp")
            outs.append(o)
            touts.append(zeros_like_value(o))
    res = tree_unflatten(out_tree, outs), tree_unflatten(out_tree, touts)
    if has_aux:
        return res + (tree_map(lambda a: _lower(trace, a), aux),)
    return res


def linearize(fun, *primals):
    """``(fun(*primals), f_jvp)`` where ``f_jvp(*tangents)`` is the JVP at ``primals``.

    NOTE: [linearize recomputes] every tracer here carries concrete values, so there is no partial evaluation
    to split the linear part from the primal computation: ``f_jvp`` evaluates a JVP at the stored primals.
    Results are exact; each call costs one forward-mode pass.

    >>> import chainrule.numpy as cnp
    >>> out, f_jvp = linearize(cnp.sin, 0.0)
    >>> float(f_jvp(3.0))
    3.0
    """
    out = fun(*primals)

    def f_jvp(*tangents):
        return jvp(fun, primals, tangents)[1]

    return out, f_jvp


# ---------------------------------------------------------------------------------------------------------
# vmap
# ---------------------------------------------------------------------------------------------------------

def _move_out(x, bdim, axis, size, trace):
    if type(x) is BatchTracer and x._trace is trace:
        rank = x.ndim + 1
        if axis is None:
            raise ValueError("vmap: an output depends on the mapped inputs, but its out_axes entry is None")
        if not -rank <= axis < rank:
            raise ValueError(f"vmap: out_axes {axis} is out of range for an output of rank {rank} (shape "
                             f"{(size,) + tuple(x.shape)} with the mapped axis)")
        return S.moveaxis(x.val, x.bdim, axis % rank)
    x = _as_value(x, "vmap")
    if axis is None:
        return x
    rank = x.ndim + 1
    if not -rank <= axis < rank:
        raise ValueError(f"vmap: out_axes {axis} is out of range for an output of rank {rank}")
    axis %= rank
    return S.broadcast_to(S.expand_dims(x, axis), tuple(x.shape[:axis]) + (size,) + tuple(x.shape[axis:]))


def vmap(fun, in_axes=0, out_axes=0, axis_size=None, chunk_size=None):
    """Vectorise ``fun`` over a mapped axis of its arguments.

    ``in_axes``: an int, None, or a tuple with one entry (a pytree prefix) per positional argument.
    ``out_axes``: likewise for the outputs. ``chunk_size`` evaluates the batch in chunks to bound memory.

    >>> import numpy as np
    >>> vmap(lambda x, y: x @ y, in_axes=(0, None))(np.ones((4, 3)), np.ones(3))
    array([3., 3., 3., 3.])
    """
    if isinstance(in_axes, list):
        in_axes = tuple(in_axes)
    if chunk_size is not None and (not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1):
        raise ValueError(f"vmap: chunk_size must be a positive integer or None, got {chunk_size!r}")

    @functools.wraps(fun)
    def vmapped(*args):
        if isinstance(in_axes, tuple) and len(in_axes) != len(args):
            raise ValueError(f"vmap: in_axes has {len(in_axes)} entries but the function was called with "
                             f"{len(args)} positional arguments")
        flat, in_tree = tree_flatten(args)
        prefix = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
        axes = broadcast_prefix(prefix, args, what="vmap in_axes")
        flat = [_as_value(x, "vmap") for x in flat]
        sizes = {}
        norm = []
        for i, (x, ax) in enumerate(zip(flat, axes)):
            if ax is None:
                norm.append(None)
                continue
            if not isinstance(ax, (int, np.integer)):
                raise TypeError(f"vmap: in_axes entries must be ints or None, got {ax!r}")
            if not -x.ndim <= ax < x.ndim:
                raise ValueError(f"vmap was requested to map argument leaf {i} along axis {ax}, which implies that "
                                 f"its rank should be at least {ax + 1 if ax >= 0 else -ax}, but it is only "
                                 f"{x.ndim} (its shape is {tuple(x.shape)})")
            ax = int(ax) % x.ndim
            norm.append(ax)
            sizes.setdefault(x.shape[ax], []).append(f"argument leaf {i} (axis {ax}, shape {tuple(x.shape)})")
        if len(sizes) > 1:
            detail = "; ".join(f"size {s}: " + ", ".join(v) for s, v in sizes.items())
            raise ValueError(f"vmap got inconsistent sizes for the mapped axis: {detail}")
        if not sizes:
            if axis_size is None:
                raise ValueError("vmap must have at least one non-None value in in_axes, or be given axis_size")
            size = int(axis_size)
        else:
            size = next(iter(sizes))
            if axis_size is not None and int(axis_size) != size:
                raise ValueError(f"vmap: axis_size={axis_size} but the mapped arguments have size {size}")
        if chunk_size is not None and size > chunk_size:
            return _chunked(args, flat, in_tree, norm, size)
        return _run(flat, in_tree, norm, size)

    def _run(flat, in_tree, norm, size):
        trace = BatchTrace("vmap", size)
        try:
            args = [x if ax is None else BatchTracer(trace, x, ax) for x, ax in zip(flat, norm)]
            out = fun(*tree_unflatten(in_tree, args))
            out_flat, out_tree = tree_flatten(out)
            oaxes = broadcast_prefix(out_axes, out, what="vmap out_axes", against="output")
            res = [_move_out(o, None, ax, size, trace) for o, ax in zip(out_flat, oaxes)]
        finally:
            trace.close()
        return tree_unflatten(out_tree, res)

    def _chunked(args, flat, in_tree, norm, size):
        pieces = []
        for start in range(0, size, chunk_size):
            sl = slice(start, min(start + chunk_size, size))
            part = [x if ax is None else x[(slice(None),) * ax + (sl,)] for x, ax in zip(flat, norm)]
            pieces.append(_run(part, in_tree, norm, sl.stop - sl.start))
        out_tree = tree_structure(pieces[0])
        leaves = [tree_flatten(p)[0] for p in pieces]
        oaxes = broadcast_prefix(out_axes, pieces[0], what="vmap out_axes", against="output")
        joined = []
        for k, ax in enumerate(oaxes):
            parts = [lv[k] for lv in leaves]
            joined.append(parts[0] if ax is None else S.concatenate(parts, axis=ax))
        return tree_unflatten(out_tree, joined)

    return vmapped


# ---------------------------------------------------------------------------------------------------------
# Jacobians and curvature
# ---------------------------------------------------------------------------------------------------------

def _dyn_partial(fun, args, kwargs, nums):
    def partial(*dyn_args):
        full = list(args)
        for i, v in zip(nums, dyn_args):
            full[i] = v
        return fun(*full, **kwargs)
    return partial


def _basis(leaves, dtype_of):
    """Stacked one-hot directions: leaf k gets shape (total, *leaf.shape); row r is 1 at flat position r."""
    sizes = [int(np.prod(np.shape(x), dtype=np.int64)) for x in leaves]
    total = sum(sizes)
    out = []
    start = 0
    for x, n in zip(leaves, sizes):
        e = np.zeros((total, n), dtype=dtype_of(x))
        e[np.arange(start, start + n), np.arange(n)] = 1
        out.append(e.reshape((total,) + tuple(np.shape(x))))
        start += n
    return out, sizes


def _check_jac_inputs(name, leaves):
    for x in leaves:
        x = _as_value(x, name)
        if not _is_inexact(x):
            raise TypeError(f"{name} requires real- or complex-valued inputs (input dtype that is a sub-dtype of "
                            f"np.inexact), but got {x.dtype}.")


def jacrev(fun, argnums=0, has_aux=False, chunk_size=None, *, argnum=None):
    """The Jacobian of ``fun`` by reverse mode: ``vmap`` of ``vjp`` over the rows of the identity.

    The result is nested like JAX's: the output's structure, each leaf holding the structure of the
    differentiated arguments, each Jacobian block of shape ``out.shape + in.shape``. ``chunk_size`` bounds how many
    rows are pulled back at once.

    >>> import numpy as np, chainrule.numpy as cnp
    >>> jacrev(lambda x: cnp.sin(x) * 2)(np.zeros(2))
    array([[2., 0.],
           [0., 2.]])
    """
    @functools.wraps(fun)
    def jac(*args, **kwargs):
        single, nums = _argnums(argnums, argnum, len(args), "jacrev")
        dyn = tuple(args[i] for i in nums)
        _check_jac_inputs("jacrev", tree_flatten(dyn)[0])
        res = vjp(_dyn_partial(fun, args, kwargs, nums), *dyn, has_aux=has_aux)
        out, f_vjp = res[0], res[1]
        out_leaves, out_tree = tree_flatten(out)
        out_leaves = [_as_value(o, "jacrev") for o in out_leaves]
        basis, sizes = _basis(out_leaves, lambda o: o.dtype if _is_inexact(o) else np.float64)
        cts = vmap(lambda *b: f_vjp(tree_unflatten(out_tree, list(b))), chunk_size=chunk_size)(*basis)
        in_leaves, in_tree = tree_flatten(dyn)
        ct_leaves = tree_flatten(cts)[0]
        blocks = []
        start = 0
        for o, n in zip(out_leaves, sizes):
            row = [S.reshape(c[start:start + n], tuple(o.shape) + tuple(np.shape(x)))
                   for c, x in zip(ct_leaves, in_leaves)]
            per_arg = tree_unflatten(in_tree, row)
            blocks.append(per_arg[0] if single else per_arg)
            start += n
        result = tree_unflatten(out_tree, blocks)
        return (result, res[2]) if has_aux else result

    return jac


def jacfwd(fun, argnums=0, has_aux=False, chunk_size=None, *, argnum=None):
    """The Jacobian of ``fun`` by forward mode: ``vmap`` of ``jvp`` over the columns of the identity.

    Same nesting and block shapes as ``jacrev``; ``chunk_size`` bounds how many columns are pushed at once.

    >>> import numpy as np, chainrule.numpy as cnp
    >>> jacfwd(lambda x: x[::-1] * 3)(np.zeros(2))
    array([[0., 3.],
           [3., 0.]])
    """
    @functools.wraps(fun)
    def jac(*args, **kwargs):
        single, nums = _argnums(argnums, argnum, len(args), "jacfwd")
        dyn = tuple(args[i] for i in nums)
        in_leaves, in_tree = tree_flatten(dyn)
        _check_jac_inputs("jacfwd", in_leaves)
        in_leaves = [_as_value(x, "jacfwd") for x in in_leaves]
        f = _dyn_partial(fun, args, kwargs, nums)
        basis, sizes = _basis(in_leaves, lambda x: x.dtype)

        def push(*b):
            res = jvp(f, dyn, tree_unflatten(in_tree, list(b)), has_aux=has_aux)
            return res[1]

        t_out = vmap(push, chunk_size=chunk_size)(*basis)
        out_leaves_t, out_tree = tree_flatten(t_out)
        blocks = []
        for t in out_leaves_t:
            row = []
            start = 0
            for x, n in zip(in_leaves, sizes):
                piece = t[start:start + n]  # (n, *out.shape)
                piece = S.moveaxis(piece, 0, -1)
                row.append(S.reshape(piece, tuple(piece.shape[:-1]) + tuple(np.shape(x))))
                start += n
            per_arg = tree_unflatten(in_tree, row)
            blocks.append(per_arg[0] if single else per_arg)
        result = tree_unflatten(out_tree, blocks)
        if has_aux:
            aux = jvp(f, dyn, tree_map(lambda x: np.zeros(np.shape(x), x.dtype), dyn), has_aux=True)[2]
            return result, aux
        return result

    return jac


def hessian(fun, argnums=0, has_aux=False, chunk_size=None, *, argnum=None):
    """The Hessian of a scalar function: ``jacfwd(jacrev(fun))``.

    >>> import numpy as np, chainrule.numpy as cnp
    >>> hessian(lambda x: cnp.sum(x ** 3))(np.array([1.0, 2.0]))
    array([[ 6.,  0.],
           [ 0., 12.]])
    """
    if argnum is not None:
        argnums = argnum
    return jacfwd(jacrev(fun, argnums, has_aux, chunk_size), argnums, has_aux, chunk_size)


def hvp(fun, primals, tangents):
    """Hessian-vector product of a scalar function by forward-over-reverse: ``jvp(grad(fun), primals, tangents)``.

    Returns the product with the structure of ``primals`` (one entry per argument, or the single array when
    ``fun`` takes one argument).

    >>> import numpy as np, chainrule.numpy as cnp
    >>> hvp(lambda x: cnp.sum(x ** 3), (np.array([1.0, 2.0]),), (np.ones(2),))
    array([ 6., 12.])
    """
    primals, tangents = tuple(primals), tuple(tangents)
    nums = 0 if len(primals) == 1 else tuple(range(len(primals)))
    return jvp(grad(fun, argnums=nums), primals, tangents)[1]


def vhp(fun, primals, tangents):
    """Vector-Hessian product by reverse-over-reverse (equal to ``hvp`` for a symmetric Hessian).

    >>> import numpy as np, chainrule.numpy as cnp
    >>> vhp(lambda x: cnp.sum(x ** 3), (np.array([1.0, 2.0]),), (np.ones(2),))
    array([ 6., 12.])
    """
    primals, tangents = tuple(primals), tuple(tangents)
    nums = 0 if len(primals) == 1 else tuple(range(len(primals)))
    _, f_vjp = vjp(grad(fun, argnums=nums), *primals)
    ct = f_vjp(tangents[0] if len(primals) == 1 else tangents)
    return ct[0] if len(primals) == 1 else ct
