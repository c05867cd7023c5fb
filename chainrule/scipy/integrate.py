"""``chainrule.scipy.integrate``: ``odeint`` with derivatives with respect to the initial state, the time points
and extra arguments; ``trapezoid`` as a composition.

``odeint_p(y0, t, *args, call)`` is one primitive (impl: ``scipy.integrate.odeint``, LSODA) on a flat state. The
dynamics ``call.fun(y, t, *args)`` is the user's function written with chainrule operations, so the rules can
differentiate it:

- JVP (forward sensitivities): the state is augmented with the tangent ``s``, ``ds/dt = df/dy s + df/dargs a_dot``
  (one ``jvp`` of the dynamics), started at ``s(t0) = y0_dot - f(y0, t0) t0_dot``; the output tangent at ``t_i``
  is ``s(t_i) + f(y_i, t_i) t_i_dot``.
- VJP (adjoint method, as in HIPS autograd and JAX): from the last time point back to the first, the state
  ``[y, lambda, args_bar]`` is integrated backward, ``dlambda/dt = -lambda^T df/dy``,
  ``dargs_bar/dt = -lambda^T df/dargs`` (one ``vjp`` of the dynamics), and the output cotangent ``g_i`` is added to
  ``lambda`` at each ``t_i``. Time cotangents: ``t_i_bar = <g_i, f(y_i, t_i)>`` for ``i > 0`` and
  ``t_0_bar = -<lambda(t0) - g_0, f(y0, t0)>``.
- vmap: the batch is one larger ODE whose dynamics is the vmapped dynamics (a mapped ``t`` falls back to a loop).

Both rules bind ``odeint_p`` again with new dynamics built from chainrule transforms, so derivatives nest to any
order (each order integrates a larger system). Their accuracy is that of the integration: tighten ``rtol`` and
``atol`` when comparing them with finite differences.

>>> import numpy as np, chainrule as cr
>>> from chainrule.scipy.integrate import odeint
>>> decay = lambda y, t, k: -k * y
>>> t = np.array([0.0, 1.0])
>>> round(float(cr.grad(lambda k: odeint(decay, 1.0, t, k, rtol=1e-10, atol=1e-10)[-1])(0.5)), 6)  # -t e^(-kt)
-0.606531
"""
import numpy as np
import scipy.integrate as _si

from ..core.primitive import Primitive
from ..core.trace import Tracer, concrete
from ..interpreters.batching import move_to_front
from ..ops import elementwise as E
from ..ops import reduction as R
from ..ops import shape as S
from ..ops._util import as_operand, shape_of

__all__ = ["odeint", "trapezoid"]


class _Dynamics:
    """Parameters of one ``odeint_p`` call: the flat dynamics ``fun(y, t, *args)`` and the solver options.
    Identity-hashed; a fresh object is made per face call and per rule."""

    __slots__ = ("fun", "options")

    def __init__(self, fun, options):
        self.fun = fun
        self.options = options

    def with_fun(self, fun):
        return _Dynamics(fun, self.options)


def _odeint_impl(y0, t, *args, dyn):
    dtype = y0.dtype

    def rhs(y, tt):
        out = dyn.fun(y.astype(dtype), tt, *args)
        if isinstance(out, Tracer):
            raise TypeError("odeint: the dynamics returned a traced value while being integrated: it closes over a "
                            "value that a transform is tracing. Pass such values through odeint's extra arguments "
                            "(odeint(func, y0, t, *args)) instead.")
        return np.asarray(out, np.float64)

    with np.errstate(all="ignore"):
        ys = _si.odeint(rhs, np.asarray(y0, np.float64), np.asarray(t, np.float64), **dyn.options)
    return ys.astype(dtype)


odeint_p = Primitive("odeint", _odeint_impl)


def _vmap_f(dyn, ys, t, args):
    from ..transforms import vmap
    return vmap(dyn.fun, in_axes=(0, 0) + (None,) * len(args))(ys, E.astype(t, ys.dtype), *args)


def _zeros(x):
    return np.zeros(shape_of(x), x.dtype)


# --- forward mode --------------------------------------------------------------------------------------------

def _odeint_jvp(primals, tangents, dyn):
    from ..transforms import jvp
    y0, t, *args = primals
    y0_dot, t_dot, *args_dot = tangents
    n = y0.shape[0]
    live = [i for i, a in enumerate(args_dot) if a is not None]

    def fun_aug(z, tt, *a):
        y, s = z[:n], z[n:]
        base, dots = a[:len(args)], a[len(args):]
        full = [_zeros(b) for b in base]
        for i, d in zip(live, dots):
            full[i] = d
        f, f_dot = jvp(lambda yy, *aa: dyn.fun(yy, tt, *aa), (y,) + tuple(base), (s,) + tuple(full))
        return S.concatenate([f, f_dot])

    s0 = _zeros(y0) if y0_dot is None else y0_dot
    if t_dot is not None:
        s0 = s0 - dyn.fun(y0, t[0], *args) * E.astype(t_dot[0], y0.dtype)
    zs = odeint_p.bind(S.concatenate([y0, s0]), t, *args, *[args_dot[i] for i in live], dyn=dyn.with_fun(fun_aug))
    ys, ss = zs[:, :n], zs[:, n:]
    if t_dot is not None:
        ss = ss + _vmap_f(dyn, ys, t, args) * S.expand_dims(E.astype(t_dot, ys.dtype), -1)
    return ys, ss


# --- reverse mode: the adjoint method -----------------------------------------------------------------------

def _odeint_vjp(g, ys, y0, t, *args, dyn):
    from ..transforms import vjp
    n = y0.shape[0]
    sizes = [int(np.prod(shape_of(a))) for a in args]
    bounds = np.cumsum([2 * n] + sizes)

    def fun_adj(z, tt, *a):
        y, lam = z[:n], z[n:2 * n]
        f, pull = vjp(lambda yy, *aa: dyn.fun(yy, tt, *aa), y, *a)
        cts = pull(lam)
        parts = [f, -cts[0]] + [-S.reshape(c, (-1,)) for c in cts[1:]]
        return S.concatenate(parts)

    adj = dyn.with_fun(fun_adj)
    f_all = _vmap_f(dyn, ys, t, args)                     # f(y_i, t_i) at every output
    t_bar_i = R.sum(g * f_all, axis=-1)                   # <g_i, f(y_i, t_i)>
    lam = g[-1]
    a_bar = [np.zeros(s, y0.dtype) for s in sizes]
    for i in range(t.shape[0] - 1, 0, -1):
        z0 = S.concatenate([ys[i], lam] + a_bar)
        z1 = odeint_p.bind(z0, S.stack([t[i], t[i - 1]]), *args, dyn=adj)[-1]
        lam = z1[n:2 * n] + g[i - 1]
        a_bar = [z1[lo:hi] for lo, hi in zip(bounds[:-1], bounds[1:])]
    t0_bar = -R.sum((lam - g[0]) * f_all[0])
    t_bar = S.concatenate([S.expand_dims(t0_bar, 0), t_bar_i[1:]])
    arg_cts = [E.astype(S.reshape(b, shape_of(a)), a.dtype) for b, a in zip(a_bar, args)]
    return (lam, E.astype(t_bar, t.dtype)) + tuple(arg_cts)


# --- vmap ----------------------------------------------------------------------------------------------------

def _odeint_batch(size, vals, dims, dyn):
    from ..transforms import vmap
    y0, t, *args = vals
    d_y0, d_t, *d_args = dims
    if d_t is not None:
        # Different time grids cannot share one integration: one call per batch element.
        from ..interpreters.batching import take_index
        outs = []
        for k in range(size):
            vs = [v if d is None else take_index(v, d, k) for v, d in zip(vals, dims)]
            outs.append(odeint_p.bind(*vs, dyn=dyn))
        return S.stack(outs), 0
    y0 = move_to_front(y0, d_y0, size)                    # (B, n)
    n = y0.shape[1]
    args = [a if d is None else move_to_front(a, d) for a, d in zip(args, d_args)]
    axes = (0, None) + tuple(None if d is None else 0 for d in d_args)

    def fun_b(y, tt, *a):
        out = vmap(dyn.fun, in_axes=axes)(S.reshape(y, (size, n)), tt, *a)
        return S.reshape(out, (-1,))

    ys = odeint_p.bind(S.reshape(y0, (-1,)), t, *args, dyn=dyn.with_fun(fun_b))
    return S.reshape(ys, (ys.shape[0], size, n)), 1


odeint_p.jvp = _odeint_jvp
odeint_p.vjp = _odeint_vjp
odeint_p.batch = _odeint_batch


# --- the face ------------------------------------------------------------------------------------------------

def _as_float(x, dtype=None):
    x = as_operand(x)
    if not isinstance(x, Tracer):
        x = np.asarray(x)
    if dtype is None:
        dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.dtype(np.float64)
    if x.dtype != dtype:
        x = E.astype(x, dtype) if isinstance(x, Tracer) else x.astype(dtype)
    return x


def _wrap_func(func, shape, dtype, tfirst):
    from ..numpy import array as _array

    def fun(y, tt, *args):
        y = S.reshape(y, shape)
        out = func(tt, y, *args) if tfirst else func(y, tt, *args)
        if isinstance(out, (list, tuple)):
            out = _array(out)
        out = as_operand(out)
        if not isinstance(out, Tracer):
            out = np.asarray(out)
        if shape_of(out) != tuple(shape):
            raise ValueError(f"odeint: func returned shape {shape_of(out)} but the state y0 has shape {tuple(shape)}")
        if out.dtype != dtype:
            out = E.astype(out, dtype)
        return S.reshape(out, (-1,))
    return fun


def odeint(func, y0, t, *args, rtol=None, atol=None, mxstep=0, hmax=0.0, h0=0.0, hmin=0.0, tfirst=False, **kwargs):
    """Integrate ``dy/dt = func(y, t, *args)`` from ``y(t[0]) = y0`` and return ``y`` at every time in ``t`` (shape
    ``(len(t),) + y0.shape``), with ``scipy.integrate.odeint`` (LSODA) underneath.

    Differentiable in forward and reverse mode with respect to ``y0``, ``t`` and the extra arguments, and batchable
    with ``vmap``. ``func`` must be written with chainrule operations (``chainrule.numpy``) and receive every
    value to differentiate through its arguments (not a closure). Extra arguments are given positionally (JAX's
    style), or as one tuple, positionally or as ``args=(...)`` (SciPy's and HIPS autograd's); they are arrays or
    scalars. ``tfirst=True`` calls ``func(t, y, ...)``.
    ``rtol``, ``atol``, ``mxstep``, ``hmax``, ``h0``, ``hmin`` are passed to SciPy (also for the sensitivity and
    adjoint integrations).

    >>> import numpy as np
    >>> ys = odeint(lambda y, t: -y, np.array([1.0, 2.0]), np.array([0.0, 1.0]), rtol=1e-10, atol=1e-10)
    >>> bool(np.allclose(ys[-1], np.exp(-1.0) * np.array([1.0, 2.0])))
    True
    """
    extra = kwargs.pop("args", None)
    for name, default in (("Dfun", None), ("full_output", 0), ("printmessg", 0)):
        if name in kwargs and not kwargs[name] == default:
            raise TypeError(f"odeint: option {name}={kwargs[name]!r} is not supported (the Jacobian comes from "
                            f"differentiating func; only the solution is returned)")
        kwargs.pop(name, None)
    if kwargs:
        raise TypeError(f"odeint: unsupported options {sorted(kwargs)} (supported: args, rtol, atol, mxstep, hmax, "
                        f"h0, hmin, tfirst)")
    if extra is None and len(args) == 1 and isinstance(args[0], tuple):
        extra, args = args[0], ()               # SciPy's positional args=(...) tuple
    if extra is not None:
        if args:
            raise TypeError("odeint: give the extra arguments either positionally or as args=(...), not both")
        args = tuple(extra) if isinstance(extra, (tuple, list)) else (extra,)
    if not callable(func):
        raise TypeError(f"odeint: func must be callable, got {type(func).__name__}")
    y0 = _as_float(y0)
    t = _as_float(t, y0.dtype)
    if len(shape_of(t)) != 1 or shape_of(t)[0] < 1:
        raise ValueError(f"odeint: t must be a 1-D sequence of time points, got shape {shape_of(t)}")
    tc = np.asarray(concrete(t))
    if tc.ndim == 1 and tc.size > 1 and not (np.all(np.diff(tc) > 0) or np.all(np.diff(tc) < 0)):
        raise ValueError("odeint: the time points t must be strictly increasing or strictly decreasing")
    args = tuple(_as_float(a) for a in args)
    shape = shape_of(y0)
    options = dict(rtol=rtol, atol=atol, mxstep=mxstep, hmax=hmax, h0=h0, hmin=hmin)
    dyn = _Dynamics(_wrap_func(func, shape, y0.dtype, tfirst), options)
    ys = odeint_p.bind(S.reshape(y0, (-1,)), t, *args, dyn=dyn)
    return S.reshape(ys, (shape_of(t)[0],) + tuple(shape))


def trapezoid(y, x=None, dx=1.0, axis=-1):
    """The trapezoidal rule along ``axis`` (``scipy.integrate.trapezoid``), a composition.

    >>> import numpy as np
    >>> float(trapezoid(np.array([1.0, 2.0, 3.0])))
    4.0
    """
    y = as_operand(y)
    if not isinstance(y, Tracer):
        y = np.asarray(y)
    nd = len(shape_of(y))
    ax = axis % nd
    lo = tuple(slice(None, -1) if i == ax else slice(None) for i in range(nd))
    hi = tuple(slice(1, None) if i == ax else slice(None) for i in range(nd))
    if x is None:
        d = dx
    else:
        x = as_operand(x)
        if not isinstance(x, Tracer):
            x = np.asarray(x)
        if len(shape_of(x)) == 1:
            d = x[1:] - x[:-1]
            shape = [1] * nd
            shape[ax] = shape_of(d)[0]
            d = S.reshape(d, tuple(shape))
        else:
            d = x[hi] - x[lo]
    return R.sum(d * (y[hi] + y[lo]) * 0.5, axis=ax)
