"""Checking derivatives and batching against independent computations.

``check_grads`` compares forward mode with central finite differences and reverse mode with forward mode through
the dot-product (transpose) identity ``<u, J v> == <J^T u, v>``, recursively to any order. ``check_vmap`` compares
``vmap`` with a Python loop. Both raise ``AssertionError`` with the place and the size of a mismatch.
"""
import numpy as np

from .core.tree import tree_flatten, tree_unflatten
from .transforms import jvp, vjp, vmap

__all__ = ["check_grads", "check_jvp", "check_vjp", "check_vmap", "numerical_jvp", "numerical_grad"]

_DEFAULT_EPS = {np.dtype(np.float64): 1e-6, np.dtype(np.complex128): 1e-6,
                np.dtype(np.float32): 1e-4, np.dtype(np.complex64): 1e-4}
_DEFAULT_TOL = {np.dtype(np.float64): 1e-5, np.dtype(np.complex128): 1e-5,
                np.dtype(np.float32): 2e-2, np.dtype(np.complex64): 2e-2, np.dtype(np.float16): 1e-1}


def _wide(x):
    """``x`` at double precision (finite differences are taken there whatever the input precision)."""
    x = np.asarray(x)
    if np.issubdtype(x.dtype, np.complexfloating):
        return x.astype(np.complex128)
    if np.issubdtype(x.dtype, np.floating):
        return x.astype(np.float64)
    return x


def _flat(tree):
    return [np.asarray(x) for x in tree_flatten(tree)[0]]


def _tol(dtypes, given):
    if given is not None:
        return given
    return max(_DEFAULT_TOL.get(np.dtype(d), 1e-5) for d in dtypes) if dtypes else 1e-5


def _random_like(rng, x):
    x = np.asarray(x)
    if np.issubdtype(x.dtype, np.complexfloating):
        return (rng.standard_normal(x.shape) + 1j * rng.standard_normal(x.shape)).astype(x.dtype)
    if np.issubdtype(x.dtype, np.floating):
        return rng.standard_normal(x.shape).astype(x.dtype)
    return np.zeros(x.shape, x.dtype)


def _inner(a_list, b_list):
    total = 0.0
    for a, b in zip(a_list, b_list):
        total += np.real(np.sum(np.asarray(a, dtype=np.complex128) * np.asarray(b, dtype=np.complex128)))
    return float(total)


def _assert_close(name, got, want, atol, rtol):
    got_flat, want_flat = _flat(got), _flat(want)
    if len(got_flat) != len(want_flat):
        raise AssertionError(f"{name}: {len(got_flat)} outputs but expected {len(want_flat)}")
    for i, (g, w) in enumerate(zip(got_flat, want_flat)):
        if g.shape != w.shape:
            raise AssertionError(f"{name}: output {i} has shape {g.shape}, expected {w.shape}")
        if not np.allclose(g, w, atol=atol, rtol=rtol, equal_nan=True):
            err = np.max(np.abs(g.astype(np.complex128) - w.astype(np.complex128))) if g.size else 0.0
            raise AssertionError(f"{name}: output {i} differs (max abs error {err:.3g}, atol={atol}, rtol={rtol})\n"
                                 f"got:\n{g}\nexpected:\n{w}")


def numerical_jvp(f, primals, tangents, eps=None):
    """Central-difference estimate of ``J(primals) @ tangents``, evaluated at double precision."""
    flat, tree = tree_flatten(tuple(primals))
    tflat = tree_flatten(tuple(tangents))[0]
    wide = [_wide(x) for x in flat]
    if eps is None:
        # Inputs are widened to double precision, but a function may compute (and return) single precision:
        # then the step has to be large enough to rise above its rounding.
        outs = _flat(f(*tree_unflatten(tree, wide)))
        dtypes = [x.dtype for x in outs if np.issubdtype(x.dtype, np.inexact)]
        eps = max((_DEFAULT_EPS.get(d, 1e-6) for d in dtypes), default=1e-6)
    plus = [x + eps * _wide(t) if np.issubdtype(x.dtype, np.inexact) else x for x, t in zip(wide, tflat)]
    minus = [x - eps * _wide(t) if np.issubdtype(x.dtype, np.inexact) else x for x, t in zip(wide, tflat)]
    fp = f(*tree_unflatten(tree, plus))
    fm = f(*tree_unflatten(tree, minus))
    fp_flat, out_tree = tree_flatten(fp)
    fm_flat = tree_flatten(fm)[0]
    return tree_unflatten(out_tree, [(_wide(a) - _wide(b)) / (2 * eps) for a, b in zip(fp_flat, fm_flat)])


def numerical_grad(f, x, eps=1e-6):
    """Central-difference gradient of a scalar function of one array (for tests of small inputs)."""
    x = _wide(x)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = eps
        g[i] = (float(f(x + e)) - float(f(x - e))) / (2 * eps)
    return g


def check_jvp(f, args, atol=None, rtol=None, eps=None, rng=None):
    """Forward mode against central differences; tangent dtypes must equal output dtypes."""
    rng = rng or np.random.default_rng(0)
    args = tuple(args)
    tangents = tuple(_tree_random(rng, a) for a in args)
    out, t_out = jvp(f, args, tangents)
    for o, t in zip(_flat(out), _flat(t_out)):
        if np.issubdtype(o.dtype, np.inexact) and o.dtype != t.dtype:
            raise AssertionError(f"check_jvp: tangent dtype {t.dtype} differs from output dtype {o.dtype}")
    dtypes = [a.dtype for a in _flat(args) + _flat(out) if np.issubdtype(a.dtype, np.inexact)]
    tol = _tol(dtypes, atol)
    _assert_close("check_jvp (primal output)", out, f(*args), tol, rtol if rtol is not None else tol)
    t_num = numerical_jvp(f, args, tangents, eps)
    _assert_close("check_jvp (tangent vs finite differences)", t_out, t_num, tol, rtol if rtol is not None else tol)


def check_vjp(f, args, atol=None, rtol=None, eps=None, rng=None):
    """Reverse mode against finite differences via ``<u, J v> == <J^T u, v>``; cotangents keep input dtypes."""
    rng = rng or np.random.default_rng(1)
    args = tuple(args)
    out, f_vjp = vjp(f, *args)
    u = _tree_random(rng, out)
    cts = f_vjp(u)
    for a, c in zip(_flat(args), _flat(cts)):
        if c.shape != a.shape:
            raise AssertionError(f"check_vjp: cotangent shape {c.shape} differs from input shape {a.shape}")
        if np.issubdtype(a.dtype, np.inexact) and c.dtype != a.dtype:
            raise AssertionError(f"check_vjp: cotangent dtype {c.dtype} differs from input dtype {a.dtype}")
    v = tuple(_tree_random(rng, a) for a in args)
    t_num = numerical_jvp(f, args, v, eps)
    lhs = _inner(_flat(u), _flat(t_num))
    rhs = _inner(_flat(cts), _flat(v))
    dtypes = [a.dtype for a in _flat(args) + _flat(out) if np.issubdtype(a.dtype, np.inexact)]
    tol = _tol(dtypes, atol)
    scale = max(1.0, abs(lhs), abs(rhs))
    if not abs(lhs - rhs) <= tol * scale + (rtol or 0) * scale:
        raise AssertionError(f"check_vjp: <u, J v> = {lhs!r} by finite differences but <J^T u, v> = {rhs!r} by "
                             f"reverse mode (tolerance {tol})")


def _tree_random(rng, tree):
    flat, tree_def = tree_flatten(tree)
    return tree_unflatten(tree_def, [_random_like(rng, x) for x in flat])


def check_grads(f, args, order=2, modes=("fwd", "rev"), atol=None, rtol=None, eps=None):
    """Check ``f``'s derivatives at ``args`` to ``order`` in the given modes.

    Order k > 1 checks the derivative functions themselves (a JVP in a fixed direction for "fwd", a VJP with a
    fixed cotangent for "rev"), so every mixed combination of modes is exercised.

    >>> import numpy as np, chainrule.numpy as cnp
    >>> check_grads(lambda x: cnp.sin(x) * x, (np.array([0.3, 1.2]),), order=2)
    """
    if isinstance(modes, str):
        modes = (modes,)
    args = tuple(args)
    for mode in modes:
        if mode in ("fwd", "forward"):
            check_jvp(f, args, atol, rtol, eps)
            if order > 1:
                v = tuple(_tree_random(np.random.default_rng(2), a) for a in args)
                check_grads(lambda *a: jvp(f, a, v)[1], args, order - 1, modes, atol, rtol, eps)
        elif mode in ("rev", "reverse"):
            check_vjp(f, args, atol, rtol, eps)
            if order > 1:
                out = f(*args)
                u = _tree_random(np.random.default_rng(3), out)
                check_grads(lambda *a: vjp(f, *a)[1](u), args, order - 1, modes, atol, rtol, eps)
        else:
            raise ValueError(f"check_grads: unknown mode {mode!r}; use 'fwd' and/or 'rev'")


def check_vmap(f, args, in_axes=0, out_axes=0, atol=1e-6, rtol=1e-6):
    """``vmap(f, in_axes, out_axes)(*args)`` against a Python loop over the mapped axis, stacked at ``out_axes``.

    >>> import numpy as np, chainrule.numpy as cnp
    >>> check_vmap(lambda x: cnp.sum(x ** 2), (np.ones((3, 2)),))
    """
    args = tuple(args)
    axes = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
    sizes = {np.shape(a)[ax] for a, ax in zip(args, axes) if ax is not None}
    if len(sizes) != 1:
        raise ValueError(f"check_vmap: mapped arguments must share one size, got {sizes}")
    n = sizes.pop()
    got = vmap(f, in_axes, out_axes)(*args)
    rows = []
    for i in range(n):
        rows.append(f(*[a if ax is None else np.take(np.asarray(a), i, axis=ax) for a, ax in zip(args, axes)]))
    row_flat = [tree_flatten(r)[0] for r in rows]
    out_tree = tree_flatten(rows[0])[1]
    oaxes = out_axes if isinstance(out_axes, (tuple, list)) else (out_axes,) * len(row_flat[0])
    want = tree_unflatten(out_tree, [np.stack([np.asarray(r[k]) for r in row_flat], axis=oaxes[k])
                                     for k in range(len(row_flat[0]))])
    for g, w in zip(_flat(got), _flat(want)):
        if g.dtype != w.dtype:
            raise AssertionError(f"check_vmap: dtype {g.dtype} under vmap but {w.dtype} in the loop")
    _assert_close("check_vmap (vmap vs loop)", got, want, atol, rtol)
