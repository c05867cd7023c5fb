"""Losses of ``chainrule.nn.functional`` (re-exported there): PyTorch's names, arguments and ``reduction``
semantics, in numerically stable forms (log-softmax, softplus), so logits of magnitude 1e4 give finite values and
gradients. Every loss is a composition of chainrule ops and works on arrays, Tensors and traced values alike.
"""
import math
import numbers
import warnings

import numpy as np

from ..core.trace import concrete
from ..ops import elementwise as E
from ..ops import nn as NN
from ..ops import reduction as R
from ..ops import shape as S
from ..ops import special as SP
from ..tensor import Tensor
from .functional import _channel_shape, _indices, _is_float, _ndim, _norm, _op, _shape

__all__ = [
    "cross_entropy",
    "nll_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "mse_loss",
    "l1_loss",
    "smooth_l1_loss",
    "huber_loss",
    "hinge_embedding_loss",
    "multi_margin_loss",
    "kl_div",
    "cosine_similarity",
    "cosine_embedding_loss",
    "margin_ranking_loss",
    "soft_margin_loss",
    "poisson_nll_loss",
    "gaussian_nll_loss",
]


# ---------------------------------------------------------------------------------------------------------
# Losses
# ---------------------------------------------------------------------------------------------------------

_REDUCTIONS = ("none", "mean", "sum")


def _reduction_arg(reduction, size_average=None, reduce=None, name="loss"):
    if size_average is not None or reduce is not None:
        if reduce is False:
            return "none"
        return "mean" if size_average is None or size_average else "sum"
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction (use 'none', 'mean' or 'sum')")
    return reduction


def _reduce(loss, reduction):
    if reduction == "none":
        return loss
    if reduction == "sum":
        return R.sum(loss)
    return R.mean(loss)


def _match(input, target, name):
    x, t = _op(input), _op(target)
    if _shape(x) != _shape(t):
        warnings.warn(f"{name}: using a target size ({_shape(t)}) that is different to the input size "
                      f"({_shape(x)}). This will likely lead to incorrect results due to broadcasting.",
                      stacklevel=3)
    return x, t


def _class_coefficients(target, input_shape, dtype, weight, ignore_index, label_smoothing, name):
    """For class-index targets: the constant ``coef`` (input-shaped) with loss ``-sum_c coef * logp`` per
    element, and the per-element target weights (0 where ignored), for the 'mean' denominator."""
    t = _indices(target, name)
    c = input_shape[1]
    expect = (input_shape[0],) + tuple(input_shape[2:])
    if t.shape != expect:
        raise ValueError(f"{name}: expected target of shape {expect} for input of shape {tuple(input_shape)}, got "
                         f"{t.shape}")
    valid = t != ignore_index
    bad = valid & ((t < 0) | (t >= c))
    if bad.any():
        raise IndexError(f"{name}: Target {int(t[bad].flat[0])} is out of bounds (number of classes {c})")
    safe = np.where(valid, t, 0)
    classes = np.arange(c).reshape((1, c) + (1,) * (len(input_shape) - 2))
    onehot = (safe[:, None] == classes)
    if weight is None:
        w_c = np.ones(c, dtype=dtype)
    else:
        w_c = np.asarray(concrete(weight.data if isinstance(weight, Tensor) else weight), dtype=dtype)
        if w_c.shape != (c,):
            raise ValueError(f"{name}: weight must have shape ({c},), got {w_c.shape}")
    wb = w_c.reshape(classes.shape)
    coef = onehot * wb * (1.0 - label_smoothing)
    if label_smoothing:
        coef = coef + wb * (label_smoothing / c)
    coef = (coef * valid[:, None]).astype(dtype)
    per_elem_weight = (w_c[safe] * valid).astype(dtype)
    return coef, per_elem_weight


def _weighted_nll(logp, target, weight, ignore_index, reduction, label_smoothing, name, logits=False):
    """``-sum_c coef * logp`` per element, reduced; with ``logits``, ``logp`` is the logits and the log-softmax is
    fused into one primitive. For 'mean' the denominator is folded into the coefficients."""
    shape = _shape(logp)
    dtype = logp.dtype
    coef, denom_w = _class_coefficients(target, shape, dtype, weight, ignore_index, label_smoothing, name)
    if reduction == "mean":
        total = denom_w.sum()
        coef = coef / dtype.type(total) if total != 0 else coef * dtype.type(np.nan)
    loss = NN.softmax_cross_entropy(logp, coef, 1) if logits else -R.sum(logp * coef, axis=1)
    return loss if reduction == "none" else R.sum(loss)


def _lift_unbatched(input, target, is_index):
    """PyTorch's unbatched form: input ``(C,)`` with a scalar index target (or a ``(C,)`` probability target)."""
    x = _op(input)
    if _ndim(x) == 1:
        x = S.expand_dims(x, 0)
        t = _op(target)
        t = S.expand_dims(t, 0) if not is_index else np.reshape(_indices(t, "cross_entropy"), (1,))
        return x, t, True
    return x, target, False


def _is_index_target(target):
    t = target.data if isinstance(target, Tensor) else target
    t = concrete(t)
    return np.issubdtype(np.asarray(t).dtype if not hasattr(t, "dtype") else t.dtype, np.integer)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean",
                  label_smoothing=0.0):
    """Cross entropy between logits ``input`` ``(N, C)`` or ``(N, C, d1, ...)`` (or ``(C,)``) and ``target``:
    class indices ``(N, d1, ...)`` (with ``ignore_index``) or class probabilities shaped like ``input``.
    ``weight`` rescales classes; ``label_smoothing`` mixes the target with the uniform distribution. 'mean'
    divides by the total weight of the non-ignored targets (index targets) or by the number of elements.

    >>> import numpy as np
    >>> round(float(cross_entropy(np.array([[2.0, 0.0]]), np.array([0]))), 6)
    0.126928
    >>> float(cross_entropy(np.array([[1e4, -1e4]]), np.array([1])))  # stable
    20000.0
    """
    reduction = _reduction_arg(reduction, size_average, reduce)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
    is_index = _is_index_target(target)
    x, target, unbatched = _lift_unbatched(input, target, is_index)
    if _ndim(x) < 2:
        raise ValueError(f"cross_entropy: expected input of shape (N, C, ...), got {_shape(x)}")
    if is_index:
        out = _weighted_nll(x, target, weight, ignore_index, reduction, label_smoothing, "cross_entropy",
                            logits=True)
    else:
        t = _op(target)
        if _shape(t) != _shape(x):
            raise ValueError(f"cross_entropy: probability target of shape {_shape(t)} must match the input shape "
                             f"{_shape(x)}")
        c = _shape(x)[1]
        if label_smoothing:
            t = t * (1.0 - label_smoothing) + label_smoothing / c
        if weight is not None:
            t = t * _channel_shape(x, _op(weight)) if _ndim(x) > 2 else t * _op(weight)
        out = _reduce(NN.softmax_cross_entropy(x, t, 1), reduction)
    if unbatched and reduction == "none":
        out = S.squeeze(out, 0)
    return out


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    """Negative log-likelihood of class-index targets given log-probabilities ``input`` ``(N, C, ...)``.

    >>> import numpy as np
    >>> float(nll_loss(np.log(np.array([[0.5, 0.5]])), np.array([1])))
    0.6931471805599453
    """
    reduction = _reduction_arg(reduction, size_average, reduce)
    x, target, unbatched = _lift_unbatched(input, target, True)
    out = _weighted_nll(x, target, weight, ignore_index, reduction, 0.0, "nll_loss")
    if unbatched and reduction == "none":
        out = S.squeeze(out, 0)
    return out


_LOG_FLOOR = math.exp(-100.0)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """``-(t log p + (1 - t) log(1 - p))`` with the logarithms floored at -100 (as PyTorch), for probabilities
    ``input``.

    >>> import numpy as np
    >>> round(float(binary_cross_entropy(np.array([0.5]), np.array([1.0]))), 6)
    0.693147
    """
    reduction = _reduction_arg(reduction, size_average, reduce)
    p, t = _match(input, target, "binary_cross_entropy")
    floor = max(_LOG_FLOOR, float(np.finfo(p.dtype).tiny)) if _is_float(p) else _LOG_FLOOR
    log_p = E.maximum(E.log(E.maximum(p, floor)), -100.0)
    log_q = E.maximum(E.log(E.maximum(1 - p, floor)), -100.0)
    loss = -(t * log_p + (1 - t) * log_q)
    if weight is not None:
        loss = loss * _op(weight)
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None, reduction="mean",
                                     pos_weight=None):
    """Sigmoid + binary cross entropy in one stable expression: ``(1 - t) x + (1 + (pw - 1) t) softplus(-x)``.

    >>> import numpy as np
    >>> float(binary_cross_entropy_with_logits(np.array([-1e4]), np.array([1.0])))
    10000.0
    """
    reduction = _reduction_arg(reduction, size_average, reduce)
    x, t = _match(input, target, "binary_cross_entropy_with_logits")
    sp = SP.softplus(-x)
    if pos_weight is None:
        loss = (1 - t) * x + sp
    else:
        loss = (1 - t) * x + (1 + (_op(pos_weight) - 1) * t) * sp
    if weight is not None:
        loss = loss * _op(weight)
    return _reduce(loss, reduction)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean squared error.

    >>> import numpy as np
    >>> float(mse_loss(np.array([1.0, 3.0]), np.array([0.0, 0.0])))
    5.0
    """
    reduction = _reduction_arg(reduction, size_average, reduce)
    x, t = _match(input, target, "mse_loss")
    d = x - t
    loss = d * d
    if weight is not None:
        loss = loss * _op(weight)
    return _reduce(loss, reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean absolute error (gradient 0 where input equals target).

    >>> import numpy as np
    >>> float(l1_loss(np.array([1.0, -3.0]), np.array([0.0, 0.0])))
    2.0
    """
    reduction = _reduction_arg(reduction, size_average, reduce)
    x, t = _match(input, target, "l1_loss")
    loss = E.abs(x - t)
    if weight is not None:
        loss = loss * _op(weight)
    return _reduce(loss, reduction)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """``0.5 d^2 / beta`` where ``|d| < beta``, else ``|d| - beta / 2``.

    >>> import numpy as np
    >>> float(smooth_l1_loss(np.array([0.5, 3.0]), np.array([0.0, 0.0]), reduction="sum"))
    2.625
    """
    reduction = _reduction_arg(reduction, size_average, reduce)
    if beta < 0:
        raise ValueError("smooth_l1_loss does not support negative values for beta.")
    x, t = _match(input, target, "smooth_l1_loss")
    d = x - t
    a = E.abs(d)
    if beta == 0:
        return _reduce(a, reduction)
    loss = E.where(a < beta, d * d * (0.5 / beta), a - 0.5 * beta)
    return _reduce(loss, reduction)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """``0.5 d^2`` where ``|d| < delta``, else ``delta (|d| - delta / 2)``.

    >>> import numpy as np
    >>> float(huber_loss(np.array([0.5, 3.0]), np.array([0.0, 0.0]), reduction="sum", delta=2.0))
    4.125
    """
    reduction = _reduction_arg(reduction)
    x, t = _match(input, target, "huber_loss")
    d = x - t
    a = E.abs(d)
    loss = E.where(a < delta, d * d * 0.5, (a - 0.5 * delta) * delta)
    if weight is not None:
        loss = loss * _op(weight)
    return _reduce(loss, reduction)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None, reduction="mean"):
    """For targets in {1, -1}: ``x`` where the target is 1, ``max(0, margin - x)`` where it is -1.

    >>> import numpy as np
    >>> float(hinge_embedding_loss(np.array([0.3, 0.2]), np.array([1.0, -1.0]), reduction="sum"))
    1.1
    """
    reduction = _reduction_arg(reduction, size_average, reduce)
    x, t = _op(input), _op(target)
    tc = np.asarray(concrete(t.data if isinstance(t, Tensor) else t))
    margin_part = E.where(tc != 1, SP.relu(margin - x), 0.0)
    self_part = E.where(tc != -1, x, 0.0)
    return _reduce(margin_part + self_part, reduction)


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None, reduce=None,
                      reduction="mean"):
    """Multi-class hinge loss: ``sum_{i != y} max(0, margin - x[y] + x[i])^p / C`` per sample (``p`` 1 or 2,
    ``weight`` scales by the target class).

    >>> import numpy as np
    >>> round(float(multi_margin_loss(np.array([[0.1, 0.2, 0.4, 0.8]]), np.array([3]))), 6)
    0.325
    """
    reduction = _reduction_arg(reduction, size_average, reduce)
    if p not in (1, 2):
        raise ValueError("multi_margin_loss: only p == 1 and p == 2 supported")
    x = _op(input)
    unbatched = _ndim(x) == 1
    if unbatched:
        x = S.expand_dims(x, 0)
    t = np.reshape(_indices(target, "multi_margin_loss"), (-1,))
    n, c = _shape(x)
    if t.shape != (n,):
        raise ValueError(f"multi_margin_loss: expected target of shape ({n},), got {t.shape}")
    if (t < 0).any() or (t >= c).any():
        raise IndexError(f"multi_margin_loss: target out of bounds for {c} classes")
    onehot = (t[:, None] == np.arange(c)).astype(x.dtype)
    xy = R.sum(x * onehot, axis=1, keepdims=True)
    h = SP.relu(x - xy + margin) * (1 - onehot)
    if p == 2:
        h = h * h
    if weight is not None:
        w = np.asarray(concrete(weight.data if isinstance(weight, Tensor) else weight), dtype=x.dtype)
        h = h * w[t][:, None]
    loss = R.sum(h, axis=1) / c
    if unbatched and reduction == "none":
        loss = S.squeeze(loss, 0)
    return _reduce(loss, reduction)


def _xlogy(t):
    """``t * log(t)`` with ``0 log 0 = 0`` (and no warning)."""
    pos = t > 0
    return E.where(pos, t * E.log(E.where(pos, t, 1.0)), 0.0)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """KL divergence ``sum target * (log target - input)`` with ``input`` log-probabilities (and ``target`` too
    when ``log_target``). Reductions: 'mean' (over all elements), 'batchmean' (sum / batch size), 'sum', 'none'.

    >>> import numpy as np
    >>> float(kl_div(np.log(np.array([0.5, 0.5])), np.array([0.5, 0.5]), reduction="sum"))
    0.0
    """
    if reduction not in ("none", "mean", "sum", "batchmean"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    x, t = _op(input), _op(target)
    if log_target:
        loss = E.exp(t) * (t - x)
    else:
        loss = _xlogy(t) - t * x
    if reduction == "batchmean":
        return R.sum(loss) / (_shape(x)[0] if _ndim(x) else 1)
    return _reduce(loss, reduction)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """Cosine of the angle between ``x1`` and ``x2`` along ``dim``; each norm is clamped below by ``eps``.

    >>> import numpy as np
    >>> float(cosine_similarity(np.array([1.0, 0.0]), np.array([1.0, 1.0]), dim=0))
    0.7071067811865475
    """
    a, b = _op(x1), _op(x2)
    na = _norm(a, 2, dim, eps, keepdims=True)
    nb = _norm(b, 2, dim, eps, keepdims=True)
    return R.sum((a / na) * (b / nb), axis=dim)


def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None, reduction="mean"):
    """``1 - cos`` for target 1, ``max(0, cos - margin)`` for target -1 (cosine along the last axis).

    >>> import numpy as np
    >>> float(cosine_embedding_loss(np.array([[1.0, 0.0]]), np.array([[1.0, 0.0]]), np.array([1])))
    0.0
    """
    reduction = _reduction_arg(reduction, size_average, reduce)
    cos = cosine_similarity(input1, input2, dim=-1, eps=1e-12)
    t = np.asarray(concrete(_op(target).data if isinstance(target, Tensor) else _op(target)))
    loss = E.where(t == 1, 1 - cos, SP.relu(cos - margin))
    return _reduce(loss, reduction)


def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None, reduction="mean"):
    """``max(0, -y (x1 - x2) + margin)``.

    >>> import numpy as np
    >>> float(margin_ranking_loss(np.array([1.0]), np.array([2.0]), np.array([1.0])))
    1.0
    """
    reduction = _reduction_arg(reduction, size_average, reduce)
    return _reduce(SP.relu(-_op(target) * (_op(input1) - _op(input2)) + margin), reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """``log(1 + exp(-y x))``, stable.

    >>> import numpy as np
    >>> round(float(soft_margin_loss(np.array([0.0]), np.array([1.0]))), 6)
    0.693147
    """
    reduction = _reduction_arg(reduction, size_average, reduce)
    return _reduce(SP.softplus(-_op(target) * _op(input)), reduction)


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8, reduce=None,
                     reduction="mean"):
    """Poisson negative log-likelihood (``exp(x) - t x`` for log-rate input).

    >>> import numpy as np
    >>> float(poisson_nll_loss(np.array([0.0]), np.array([2.0])))
    1.0
    """
    reduction = _reduction_arg(reduction, size_average, reduce)
    x, t = _op(input), _op(target)
    loss = E.exp(x) - t * x if log_input else x - t * E.log(x + eps)
    if full:
        tc = t
        stirling = tc * E.log(E.where(tc > 1, tc, 1.0)) - tc + 0.5 * E.log(E.where(tc > 1, tc, 1.0) * (2 * math.pi))
        loss = loss + E.where(tc > 1, stirling, 0.0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """``0.5 (log(max(var, eps)) + (x - t)^2 / max(var, eps))`` (+ ``0.5 log(2 pi)`` when ``full``).

    >>> import numpy as np
    >>> float(gaussian_nll_loss(np.array([1.0]), np.array([3.0]), np.array([1.0])))
    2.0
    """
    reduction = _reduction_arg(reduction)
    x, t, v = _op(input), _op(target), _op(var)
    v = E.maximum(v, eps)
    d = x - t
    loss = 0.5 * (E.log(v) + d * d / v)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def _is_number(x):
    return isinstance(x, numbers.Number)
