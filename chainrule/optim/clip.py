"""Gradient clipping: PyTorch's in-place ``clip_grad_norm_`` / ``clip_grad_value_`` (``torch.nn.utils``) and the
pure pytree versions they are built on (``global_norm``, ``clip_by_global_norm``, ``clip_by_value``).

Invariant: the formulas live in the pure functions, written with chainrule operations (so they run on arrays,
Tensors and traced values); the in-place functions gather ``p.grad`` arrays, call them, and store the results
with the gradient Tensors' in-place ``copy_`` (which rebinds their data: several leaves' gradients may share
one array, so none is ever written into).
"""
import math
import types
import warnings

import numpy as np

from .. import numpy as cnp
from ..autograd import no_grad
from ..core.trace import Tracer
from ..core.tree import tree_flatten, tree_unflatten
from ..tensor import Tensor, from_numpy

__all__ = ["global_norm", "clip_by_global_norm", "clip_by_value", "get_total_norm", "clip_grads_with_norm_",
           "clip_grad_norm_", "clip_grad_value_"]


def _leaf_norm(x, p):
    if getattr(x, "shape", None) is None:
        x = cnp.asarray(x)
    a = cnp.abs(x)
    if math.prod(x.shape) == 0:
        return cnp.zeros((), dtype=a.dtype)
    if p == math.inf:
        return cnp.max(a)
    if p == -math.inf:
        return cnp.min(a)
    if p == 0:
        return cnp.astype(cnp.sum(a != 0), a.dtype)
    if p == 1:
        return cnp.sum(a)
    if p == 2:
        return cnp.sqrt(cnp.sum(a * a))
    return cnp.sum(a ** p) ** (1.0 / p)


def _combine(norms, p):
    if len(norms) == 1:
        return norms[0]
    return _leaf_norm(cnp.stack(norms), p)


def global_norm(tree, norm_type=2.0):
    """The ``norm_type``-norm of all leaves of ``tree`` taken together, as if concatenated into one vector.

    >>> import numpy as np
    >>> float(global_norm({"a": np.array([3.0]), "b": np.array([[4.0]])}))
    5.0
    """
    p = float(norm_type)
    leaves = tree_flatten(tree)[0]
    if not leaves:
        return np.zeros((), np.float32)
    norms = [_leaf_norm(x, p) for x in leaves]
    dtype = np.result_type(*[n.dtype for n in norms])
    return _combine([n if n.dtype == dtype else cnp.astype(n, dtype) for n in norms], p)


def _check_finite(total, p):
    if isinstance(total, Tracer) and not isinstance(total, Tensor):
        return
    value = float(total.data if isinstance(total, Tensor) else total)
    if not math.isfinite(value):
        raise RuntimeError(f"The total norm of order {p} for gradients from `parameters` is non-finite, so it "
                           f"cannot be clipped. To disable this error and scale the gradients by the non-finite "
                           f"norm anyway, set `error_if_nonfinite=False`")


def _scale_coef(max_norm, total):
    return cnp.minimum(float(max_norm) / (total + 1e-6), 1.0)


def clip_by_global_norm(tree, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """``(clipped, total_norm)``: every leaf times ``min(max_norm / (total_norm + 1e-6), 1)``, PyTorch's rule.

    >>> import numpy as np
    >>> clipped, norm = clip_by_global_norm([np.array([3.0, 4.0])], 1.0)
    >>> float(norm), clipped[0].round(4)
    (5.0, array([0.6, 0.8]))
    """
    leaves, treedef = tree_flatten(tree)
    total = global_norm(leaves, norm_type)
    if error_if_nonfinite:
        _check_finite(total, float(norm_type))
    if not leaves:
        return tree, total
    coef = _scale_coef(max_norm, total)
    out = [x * (coef if coef.dtype == x.dtype or np.issubdtype(x.dtype, np.complexfloating)
                else cnp.astype(coef, x.dtype)) for x in leaves]
    return tree_unflatten(treedef, out), total


def clip_by_value(tree, clip_value):
    """Every leaf clamped to ``[-clip_value, clip_value]``.

    >>> import numpy as np
    >>> clip_by_value({"g": np.array([-3.0, 0.5, 2.0])}, 1.0)
    {'g': array([-1. ,  0.5,  1. ])}
    """
    c = float(clip_value)
    leaves, treedef = tree_flatten(tree)
    return tree_unflatten(treedef, [cnp.clip(x, -c, c) for x in leaves])


# ---------------------------------------------------------------------------------------------------------
# torch.nn.utils-style, in place on p.grad
# ---------------------------------------------------------------------------------------------------------

def _params_list(parameters, name):
    if isinstance(parameters, Tensor):
        return [parameters]
    is_generator = isinstance(parameters, types.GeneratorType)
    parameters = list(parameters)
    if is_generator and not parameters:
        warnings.warn(f"`parameters` is an empty generator, no gradient clipping will occur ({name}).",
                      stacklevel=3)
    return parameters


def _raw(t):
    return t.data if isinstance(t, Tensor) else t


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The norm of a list of Tensors taken together (PyTorch's ``torch.nn.utils.get_total_norm``), as a Tensor.

    >>> import chainrule as cr
    >>> get_total_norm([cr.tensor([3.0]), cr.tensor([4.0])])
    tensor(5.)
    """
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    total = global_norm([_raw(t) for t in tensors], norm_type)
    if error_if_nonfinite:
        _check_finite(total, float(norm_type))
    return from_numpy(np.asarray(total))


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scale every ``p.grad`` by ``min(max_norm / (total_norm + 1e-6), 1)``, in place.

    >>> import chainrule as cr
    >>> w = cr.tensor([0.0], requires_grad=True)
    >>> w.grad = cr.tensor([4.0])
    >>> clip_grads_with_norm_([w], max_norm=2.0, total_norm=get_total_norm([w.grad]))
    >>> round(w.grad.item(), 5)
    2.0
    """
    params = [p for p in _params_list(parameters, "clip_grads_with_norm_") if p.grad is not None]
    if not params:
        return
    coef = np.asarray(_scale_coef(max_norm, np.asarray(_raw(total_norm))))
    with no_grad():
        for p in params:
            g = p.grad.data
            p.grad.copy_(g * coef.astype(g.real.dtype))


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Clip the gradients of ``parameters`` in place so their joint norm is at most ``max_norm``; returns the
    total norm before clipping (a 0-d Tensor). PyTorch's ``torch.nn.utils.clip_grad_norm_``.

    >>> import chainrule as cr
    >>> w = cr.tensor([0.0, 0.0], requires_grad=True)
    >>> (w * cr.tensor([3.0, 4.0])).sum().backward()
    >>> clip_grad_norm_([w], max_norm=1.0)
    tensor(5.)
    >>> [round(g, 5) for g in w.grad.tolist()]
    [0.6, 0.8]
    """
    params = _params_list(parameters, "clip_grad_norm_")
    total = get_total_norm([p.grad for p in params if p.grad is not None], norm_type, error_if_nonfinite)
    clip_grads_with_norm_(params, max_norm, total)
    return total


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every ``p.grad`` to ``[-clip_value, clip_value]``, in place (PyTorch's ``clip_grad_value_``).

    >>> import chainrule as cr
    >>> w = cr.tensor([0.0, 0.0], requires_grad=True)
    >>> (w * cr.tensor([-3.0, 0.5])).sum().backward()
    >>> clip_grad_value_([w], 1.0)
    >>> w.grad
    tensor([-1. ,  0.5])
    """
    params = [p for p in _params_list(parameters, "clip_grad_value_") if p.grad is not None]
    clipped = clip_by_value([p.grad.data for p in params], clip_value)
    with no_grad():
        for p, g in zip(params, clipped):
            p.grad.copy_(g)
