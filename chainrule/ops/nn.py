"""Fused primitives for neural-network layers: ``softmax``, ``log_softmax``, mean/variance normalisation
(``normalize_p`` and its VJP), and ``linear``.

Each could be written as a composition of other ops; they are primitives because they sit on every training step
and a single NumPy impl is several times faster than the composition's chain of full-size temporaries (measured in
``benchmarks/nn.py``). Their rules are written with chainrule ops as usual, so they differentiate again to any
order and batch under ``vmap``.

NOTE: [normalisation is self-adjoint]
``xhat = (x - mean(x)) / sqrt(var(x) + eps)`` over ``axes`` has the Jacobian ``r (I - 11^T/n - xhat xhat^T/n)``
(``r`` the reciprocal standard deviation), which is symmetric. So one primitive, ``normalize_vjp_p(g, x)``,
applying that matrix to ``g``, is both the JVP and the VJP of ``normalize_p``, and is its own VJP in ``g``. Its
derivative in ``x`` (needed only for second order) differentiates the same formula written with chainrule ops.
"""
import numpy as np

from ..core.primitive import SAVE_INPUTS, SAVE_NONE, SAVE_OUT, Primitive
from ..interpreters.batching import move_to_front
from . import elementwise as E
from . import reduction as R
from . import shape as S
from ._util import as_operand, normalize_axis, normalize_axes

__all__ = ["softmax", "log_softmax", "softmax_cross_entropy", "normalize", "linear", "gelu", "layer_norm",
           "batch_norm_train", "unstack"]


def _shift_axis_batch(prim, key):
    """Batch rule for a one-operand op with an axis parameter ``key`` (negative or non-negative ints)."""
    bind = prim.bind

    def batch(size, vals, dims, **p):
        x = move_to_front(vals[0], dims[0])
        a = p[key]
        if isinstance(a, tuple):
            p[key] = tuple(i + 1 if i >= 0 else i for i in a)
        else:
            p[key] = a + 1 if a >= 0 else a
        return bind(x, **p), 0

    prim.batch = batch
    return prim


# ---------------------------------------------------------------------------------------------------------
# softmax / log_softmax
# ---------------------------------------------------------------------------------------------------------

def _softmax_impl(x, axis):
    m = np.max(x, axis=axis, keepdims=True)
    if m.dtype.kind == "f" and not np.isfinite(m).all():
        m = np.where(np.isfinite(m), m, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        e = np.exp(x - m)
        e /= np.sum(e, axis=axis, keepdims=True)
    return e


def _log_softmax_impl(x, axis):
    m = np.max(x, axis=axis, keepdims=True)
    if m.dtype.kind == "f" and not np.isfinite(m).all():
        m = np.where(np.isfinite(m), m, 0)
    s = x - m
    with np.errstate(divide="ignore"):
        s -= np.log(np.sum(np.exp(s), axis=axis, keepdims=True))
    return s


softmax_p = Primitive("softmax", _softmax_impl)
log_softmax_p = Primitive("log_softmax", _log_softmax_impl)


def _softmax_lin(t, out, axis):
    # d softmax . t = y * (t - sum(y * t)); the same matrix is symmetric, so this serves JVP and VJP.
    return out * (t - R.sum(t * out, axis=axis, keepdims=True))


softmax_p.vjp = (lambda g, out, x, axis: _softmax_lin(g, out, axis),)


def _softmax_jvp(primals, tangents, axis):
    out = softmax_p.bind(primals[0], axis=axis)
    return out, _softmax_lin(tangents[0], out, axis)


softmax_p.jvp = _softmax_jvp
softmax_p.saves = SAVE_OUT
_shift_axis_batch(softmax_p, "axis")

log_softmax_p.vjp = (lambda g, out, x, axis: g - E.exp(out) * R.sum(g, axis=axis, keepdims=True),)


def _log_softmax_jvp(primals, tangents, axis):
    out = log_softmax_p.bind(primals[0], axis=axis)
    t = tangents[0]
    return out, t - R.sum(E.exp(out) * t, axis=axis, keepdims=True)


log_softmax_p.jvp = _log_softmax_jvp
log_softmax_p.saves = SAVE_OUT
_shift_axis_batch(log_softmax_p, "axis")


# ---------------------------------------------------------------------------------------------------------
# cross entropy: -sum(coef * log_softmax(x)) along an axis, in one primitive
# ---------------------------------------------------------------------------------------------------------

def _xent_impl(x, coef, axis):
    with np.errstate(invalid="ignore"):
        terms = _log_softmax_impl(x, axis) * coef
    if not np.isfinite(terms).all():
        # A -inf logit (a masked class) with zero weight contributes nothing, not 0 * -inf.
        terms = np.where(coef != 0, terms, 0)
    return -np.sum(terms, axis=axis)


softmax_cross_entropy_p = Primitive("softmax_cross_entropy", _xent_impl)


def _xent_dx(x, coef, axis):
    """``softmax(x) * sum(coef) - coef``: the derivative of the loss in ``x`` along ``axis``."""
    csum = R.sum(coef, axis=axis, keepdims=True)
    return softmax_p.bind(x, axis=axis) * csum - coef


def _xent_grad_formula(g, x, coef, axis):
    return S.expand_dims(g, axis) * _xent_dx(x, coef, axis)


def _xent_grad_impl(g, x, coef, axis):
    p = _softmax_impl(x, axis)
    p *= np.sum(coef, axis=axis, keepdims=True)
    p -= coef
    p *= np.expand_dims(g, axis)
    return p


# The VJP in x as one primitive (one impl instead of a handful of ops on every training step); its own
# derivatives, needed only for second order, differentiate the same formula written with chainrule ops.
softmax_xent_grad_p = Primitive("softmax_cross_entropy_grad", _xent_grad_impl)


def _xent_grad_vjp(ct, out, g, x, coef, axis):
    from ..transforms import vjp
    return vjp(lambda g_, x_, c_: _xent_grad_formula(g_, x_, c_, axis), g, x, coef)[1](ct)


def _xent_grad_jvp(primals, tangents, axis):
    from ..core.zeros import zeros_like_value
    from ..transforms import jvp
    out = softmax_xent_grad_p.bind(*primals, axis=axis)
    ts = tuple(zeros_like_value(p) if t is None else t for p, t in zip(primals, tangents))
    return out, jvp(lambda g_, x_, c_: _xent_grad_formula(g_, x_, c_, axis), tuple(primals), ts)[1]


def _xent_grad_batch(size, vals, dims, axis):
    vals = [move_to_front(v, d, size) for v, d in zip(vals, dims)]
    return softmax_xent_grad_p.bind(*vals, axis=axis if axis < 0 else axis + 1), 0


softmax_xent_grad_p.vjp = _xent_grad_vjp
softmax_xent_grad_p.jvp = _xent_grad_jvp
softmax_xent_grad_p.batch = _xent_grad_batch
softmax_xent_grad_p.saves = SAVE_INPUTS

softmax_cross_entropy_p.vjp = (
    lambda g, out, x, coef, axis: softmax_xent_grad_p.bind(g, x, coef, axis=axis),
    lambda g, out, x, coef, axis: -(S.expand_dims(g, axis) * log_softmax_p.bind(x, axis=axis)),
)


def _xent_jvp(primals, tangents, axis):
    x, coef = primals
    tx, tc = tangents
    out = softmax_cross_entropy_p.bind(x, coef, axis=axis)
    t = None if tx is None else R.sum(tx * _xent_dx(x, coef, axis), axis=axis)
    if tc is not None:
        u = -R.sum(tc * log_softmax_p.bind(x, axis=axis), axis=axis)
        t = u if t is None else t + u
    return out, t


def _xent_batch(size, vals, dims, axis):
    x, coef = (move_to_front(v, d, size) for v, d in zip(vals, dims))
    return softmax_cross_entropy_p.bind(x, coef, axis=axis if axis < 0 else axis + 1), 0


softmax_cross_entropy_p.jvp = _xent_jvp
softmax_cross_entropy_p.batch = _xent_batch
softmax_cross_entropy_p.saves = SAVE_INPUTS


def softmax_cross_entropy(x, coef, axis=-1):
    """``-sum(coef * log_softmax(x), axis)`` as one primitive (cross entropy with class weights, label smoothing
    and ignored targets all folded into ``coef``); stable for large logits.

    >>> import numpy as np
    >>> float(softmax_cross_entropy(np.array([1e4, -1e4]), np.array([0.0, 1.0])))
    20000.0
    """
    x = _float(x)
    coef = as_operand(coef)
    if tuple(coef.shape) != tuple(x.shape):
        coef = S.broadcast_to(coef, tuple(x.shape))
    if coef.dtype != x.dtype:
        coef = E.astype(coef, x.dtype)
    return softmax_cross_entropy_p.bind(x, coef, axis=_axis_param(x, axis))


def _axis_param(x, axis):
    nd = len(x.shape)
    return normalize_axis(axis, nd) - nd     # negative: unchanged when a batch axis is added in front


def _float(x):
    x = as_operand(x)
    if not hasattr(x, "dtype"):
        x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.inexact):
        x = E.astype(x, np.float64)
    return x


def softmax(x, axis=-1):
    """``exp(x) / sum(exp(x))`` along ``axis``, stable for large logits (one fused primitive).

    >>> import numpy as np
    >>> softmax(np.array([0.0, 0.0]))
    array([0.5, 0.5])
    """
    x = _float(x)
    return softmax_p.bind(x, axis=_axis_param(x, axis))


def log_softmax(x, axis=-1):
    """``x - logsumexp(x)`` along ``axis`` (one fused primitive).

    >>> import numpy as np
    >>> bool(np.allclose(log_softmax(np.array([1e4, 0.0])), [0.0, -1e4]))
    True
    """
    x = _float(x)
    return log_softmax_p.bind(x, axis=_axis_param(x, axis))


# ---------------------------------------------------------------------------------------------------------
# normalisation (NOTE: [normalisation is self-adjoint])
# ---------------------------------------------------------------------------------------------------------

def _stats(x, axes, eps):
    m = np.mean(x, axis=axes, keepdims=True)
    c = x - m
    var = np.mean(np.square(c), axis=axes, keepdims=True)
    rstd = 1.0 / np.sqrt(var + eps)
    return c, rstd.astype(x.dtype, copy=False)


def _normalize_impl(x, axes, eps):
    c, rstd = _stats(x, axes, eps)
    c *= rstd
    return c


def _normalize_vjp_impl(g, x, axes, eps):
    c, rstd = _stats(x, axes, eps)
    c *= rstd                                            # xhat
    gm = np.mean(g, axis=axes, keepdims=True)
    gx = np.mean(g * c, axis=axes, keepdims=True)
    c *= gx
    out = g - gm
    out -= c
    out *= rstd
    return out


normalize_p = Primitive("normalize", _normalize_impl)
normalize_vjp_p = Primitive("normalize_vjp", _normalize_vjp_impl)


def _normalize_formula(g, x, axes, eps):
    """``normalize_vjp`` written with chainrule ops (differentiated for second-order rules)."""
    m = R.mean(x, axes, keepdims=True)
    c = x - m
    rstd = E.reciprocal(E.sqrt(R.mean(c * c, axes, keepdims=True) + eps))
    xh = c * rstd
    return rstd * (g - R.mean(g, axes, keepdims=True) - xh * R.mean(g * xh, axes, keepdims=True))


normalize_p.vjp = (lambda g, out, x, axes, eps: normalize_vjp_p.bind(g, x, axes=axes, eps=eps),)
normalize_p.jvp = lambda primals, tangents, axes, eps: (
    normalize_p.bind(primals[0], axes=axes, eps=eps),
    normalize_vjp_p.bind(tangents[0], primals[0], axes=axes, eps=eps))


def _nvjp_dx(ct, out, g, x, axes, eps):
    from ..transforms import vjp
    return vjp(lambda x_: _normalize_formula(g, x_, axes, eps), x)[1](ct)[0]


normalize_vjp_p.vjp = (lambda ct, out, g, x, axes, eps: normalize_vjp_p.bind(ct, x, axes=axes, eps=eps),
                       _nvjp_dx)


def _nvjp_jvp(primals, tangents, axes, eps):
    from ..transforms import jvp
    g, x = primals
    tg, tx = tangents
    out = normalize_vjp_p.bind(g, x, axes=axes, eps=eps)
    t = None if tg is None else normalize_vjp_p.bind(tg, x, axes=axes, eps=eps)
    if tx is not None:
        u = jvp(lambda x_: _normalize_formula(g, x_, axes, eps), (x,), (tx,))[1]
        t = u if t is None else t + u
    return out, t


normalize_vjp_p.jvp = _nvjp_jvp


def _normalize_batch(size, vals, dims, axes, eps):
    x = move_to_front(vals[0], dims[0])
    return normalize_p.bind(x, axes=tuple(a + 1 for a in axes), eps=eps), 0


def _nvjp_batch(size, vals, dims, axes, eps):
    g, x = (move_to_front(v, d, size) for v, d in zip(vals, dims))
    return normalize_vjp_p.bind(g, x, axes=tuple(a + 1 for a in axes), eps=eps), 0


normalize_p.batch = _normalize_batch
normalize_vjp_p.batch = _nvjp_batch
normalize_p.saves = SAVE_INPUTS
normalize_vjp_p.saves = SAVE_INPUTS


def normalize(x, axes, eps=1e-5):
    """``(x - mean) / sqrt(var + eps)`` over ``axes`` (biased variance), one fused primitive.

    >>> import numpy as np
    >>> bool(np.allclose(normalize(np.array([[1.0, 3.0]]), -1), [[-1.0, 1.0]], atol=1e-4))
    True
    """
    x = _float(x)
    return normalize_p.bind(x, axes=normalize_axes(axes, len(x.shape)), eps=float(eps))


def layer_norm(x, n_axes, weight=None, bias=None, eps=1e-5):
    """Normalisation over the last ``n_axes`` axes, then ``* weight + bias``.

    >>> import numpy as np
    >>> bool(np.allclose(layer_norm(np.array([[1.0, 3.0]]), 1, np.array([2.0, 2.0])), [[-2.0, 2.0]], atol=1e-4))
    True
    """
    x = _float(x)
    nd = len(x.shape)
    y = normalize_p.bind(x, axes=tuple(range(nd - n_axes, nd)), eps=float(eps))
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def batch_norm_train(x, axes, eps=1e-5):
    """Normalisation with the batch statistics over ``axes`` (BatchNorm in training mode, without the affine).

    >>> import numpy as np
    >>> bool(np.allclose(batch_norm_train(np.array([[1.0], [3.0]]), (0,)), [[-1.0], [1.0]], atol=1e-4))
    True
    """
    return normalize(x, axes, eps)


# ---------------------------------------------------------------------------------------------------------
# linear
# ---------------------------------------------------------------------------------------------------------

def _linear_impl(x, w, b=None):
    y = np.matmul(x, w.T)
    if b is not None:
        y += b
    return y


linear_p = Primitive("linear", _linear_impl)


def _linear_vjp_x(g, out, x, w, b=None):
    from .linalg import matmul_p
    return matmul_p.bind(g, w)


def _linear_vjp_w(g, out, x, w, b=None):
    from .linalg import matmul_p
    return matmul_p.bind(S.transpose(g), x)


linear_p.vjp = (_linear_vjp_x, _linear_vjp_w, lambda g, out, x, w, b=None: R.sum(g, axis=0))


def _linear_jvp(primals, tangents):
    x, w = primals[:2]
    out = linear_p.bind(*primals)
    tx, tw = tangents[:2]
    t = None if tx is None else linear_p.bind(tx, w)
    if tw is not None:
        u = linear_p.bind(x, tw)
        t = u if t is None else t + u
    if len(tangents) > 2 and tangents[2] is not None:
        u = S.broadcast_to(tangents[2], tuple(out.shape))
        t = u if t is None else t + u
    return out, t


def _linear_batch(size, vals, dims):
    x, w = vals[:2]
    dx, dw = dims[:2]
    db = dims[2] if len(dims) > 2 else None
    if dw is None and db is None:
        x = move_to_front(x, dx)
        n = x.shape[1]
        y = linear_p.bind(S.reshape(x, (size * n, x.shape[2])), w, *vals[2:])
        return S.reshape(y, (size, n, y.shape[1])), 0
    from .linalg import matmul
    x = move_to_front(x, dx, size)
    w = move_to_front(w, dw, size)
    y = matmul(x, S.swapaxes(w, -1, -2))
    if len(vals) > 2:
        b = move_to_front(vals[2], db, size)
        y = y + S.expand_dims(b, 1)
    return y, 0


linear_p.jvp = _linear_jvp
linear_p.batch = _linear_batch
linear_p.saves = SAVE_INPUTS


def linear(x, w, b=None):
    """``x @ w.T + b`` for ``x`` of any rank >= 1 (leading axes are folded into one matrix product).

    >>> import numpy as np
    >>> linear(np.ones((2, 3)), np.ones((4, 3)), np.zeros(4)).shape
    (2, 4)
    """
    x, w = _float(x), as_operand(w)
    b = None if b is None else as_operand(b)
    dt = np.result_type(x.dtype, w.dtype, *(() if b is None else (b.dtype,)))
    x, w = E.astype(x, dt), E.astype(w, dt)
    if b is not None:
        b = E.astype(b, dt)
    args = (w,) if b is None else (w, b)
    shape = tuple(x.shape)
    if len(shape) == 2:
        return linear_p.bind(x, *args)
    x2 = S.reshape(x, (-1, shape[-1]))
    y = linear_p.bind(x2, *args)
    return S.reshape(y, shape[:-1] + (w.shape[0],))


# ---------------------------------------------------------------------------------------------------------
# gelu
# ---------------------------------------------------------------------------------------------------------

_SQRT_2_OVER_PI = float(np.sqrt(2.0 / np.pi))


def gelu(x, tanh_approximation=False):
    """``x * Phi(x)`` (exact, with erf from ``chainrule.ops.scipy_special``, which needs SciPy) or PyTorch's tanh
    approximation ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``.

    >>> round(float(gelu(1.0, tanh_approximation=True)), 6)
    0.841192
    """
    x = _float(x)
    if tanh_approximation:
        inner = (x + x * x * x * 0.044715) * _SQRT_2_OVER_PI
        return x * (E.tanh(inner) + 1) * 0.5
    try:
        from .scipy_special import erf
    except ImportError as e:  # pragma: no cover - SciPy is installed with the test extras
        raise ImportError("gelu(approximate='none') needs SciPy for erf; install scipy or use "
                          "approximate='tanh'") from e
    return x * (erf(x * 0.7071067811865476) + 1) * 0.5


# ---------------------------------------------------------------------------------------------------------
# unstack: the slices along an axis, as one primitive (its VJP is a single stack)
# ---------------------------------------------------------------------------------------------------------

def _unstack_impl(x, axis):
    pre = (slice(None),) * axis
    return [x[pre + (i,)] for i in range(x.shape[axis])]


unstack_p = Primitive("unstack", _unstack_impl, multiple_results=True)
unstack_p.vjp = lambda g, out, x, axis: (S.stack(g, axis),)
unstack_p.jvp = lambda primals, tangents, axis: (unstack_p.bind(primals[0], axis=axis),
                                                 unstack_p.bind(tangents[0], axis=axis))
unstack_p.saves = SAVE_NONE
unstack_p.batch = lambda size, vals, dims, axis: (unstack_p.bind(move_to_front(vals[0], dims[0]), axis=axis + 1),
                                                  0)


def unstack(x, axis=0):
    """The slices of ``x`` along ``axis`` as a list (one primitive: slicing a sequence step by step would cost a
    full-size cotangent per slice in reverse mode; this costs one ``stack``).

    >>> import numpy as np
    >>> [a.tolist() for a in unstack(np.arange(4.0).reshape(2, 2))]
    [[0.0, 1.0], [2.0, 3.0]]
    """
    x = as_operand(x)
    return unstack_p.bind(x, axis=normalize_axis(axis, len(x.shape)))
