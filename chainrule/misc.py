"""HIPS autograd's ``misc``: ``flatten`` (a pytree to one vector and back, differentiably) and the simple
optimizers of ``autograd.misc.optimizers`` (``sgd``, ``rmsprop``, ``adam``), which also import as
``chainrule.misc.optimizers``.

>>> import numpy as np
>>> flat, unflatten = flatten({"b": np.ones(2), "a": [np.zeros((1, 2)), 3.0]})
>>> flat
array([0., 0., 3., 1., 1.])
>>> unflatten(flat)["b"]
array([1., 1.])
"""
import functools
import sys
import types

import numpy as np

from .core.tree import tree_flatten, tree_unflatten
from .ops import shape as _S

__all__ = ["flatten", "flatten_func", "sgd", "rmsprop", "adam", "optimizers"]


def flatten(value):
    """``(vector, unflatten)``: every array or scalar of a nested tuple/list/dict (dict keys in sorted order)
    raveled and concatenated, and the function that rebuilds the structure from such a vector. Both directions
    are differentiable; mixed dtypes are promoted to one.

    >>> v, unflatten = flatten((np.ones(2), 5.0))
    >>> unflatten(v * 2)
    (array([2., 2.]), 10.0)
    """
    leaves, tree = tree_flatten(value)
    shapes = [tuple(np.shape(x)) if not hasattr(x, "shape") else tuple(x.shape) for x in leaves]
    scalars = [not hasattr(x, "shape") for x in leaves]
    sizes = [int(np.prod(s, dtype=np.int64)) for s in shapes]
    parts = [_S.ravel(x if hasattr(x, "shape") else np.asarray(x)) for x in leaves]
    flat = _S.concatenate(parts) if parts else np.array([])

    def unflatten(vector):
        out, start = [], 0
        for shape, n, scalar in zip(shapes, sizes, scalars):
            piece = _S.reshape(vector[start:start + n], shape)
            out.append(_python_scalar(piece) if scalar else piece)
            start += n
        return tree_unflatten(tree, out)

    return flat, unflatten


def _python_scalar(piece):
    return float(piece) if isinstance(piece, (np.ndarray, np.generic)) and np.isrealobj(piece) else piece


def flatten_func(func, example):
    """``(flat_func, unflatten, flat_example)``: ``func`` (of a pytree shaped like ``example``) as a function of a
    flat vector, returning a flat vector.

    >>> f, unflatten, x0 = flatten_func(lambda t, s: {"y": t["x"] * s}, {"x": np.ones(2)})
    >>> f(x0, 3.0)
    array([3., 3.])
    """
    flat_example, unflatten = flatten(example)

    def flat_func(x, *args):
        return flatten(func(unflatten(x), *args))[0]

    return flat_func, unflatten, flat_example


def _on_trees(optimize):
    """An optimizer of flat vectors as one of pytrees: ``grad(x, i)`` and the result are shaped like ``x0``."""
    @functools.wraps(optimize)
    def run(grad, x0, callback=None, *args, **kwargs):
        flat0, unflatten = flatten(x0)

        def flat_grad(x, i):
            return flatten(grad(unflatten(x), i))[0]

        def flat_callback(x, i, g):
            return callback(unflatten(x), i, unflatten(g))

        return unflatten(optimize(flat_grad, flat0, flat_callback if callback is not None else None, *args,
                                  **kwargs))

    return run


@_on_trees
def sgd(grad, x, callback=None, num_iters=200, step_size=0.1, mass=0.9):
    """Gradient descent with momentum; ``grad(x, i)`` gets the iteration number ``i``.

    >>> float(sgd(lambda x, i: 2 * x, 1.0, num_iters=300))  # minimise x ** 2
    0.0
    """
    velocity = np.zeros(len(x))
    for i in range(num_iters):
        g = grad(x, i)
        if callback:
            callback(x, i, g)
        velocity = mass * velocity - (1.0 - mass) * g
        x = x + step_size * velocity
    return x


@_on_trees
def rmsprop(grad, x, callback=None, num_iters=100, step_size=0.1, gamma=0.9, eps=1e-8):
    """Steps scaled by a running root-mean-square of the gradient.

    >>> abs(float(rmsprop(lambda x, i: 2 * x, 1.0, num_iters=300, step_size=0.01))) < 0.05
    True
    """
    avg_sq = np.ones(len(x))
    for i in range(num_iters):
        g = grad(x, i)
        if callback:
            callback(x, i, g)
        avg_sq = avg_sq * gamma + g ** 2 * (1 - gamma)
        x = x - step_size * g / (np.sqrt(avg_sq) + eps)
    return x


@_on_trees
def adam(grad, x, callback=None, num_iters=100, step_size=0.001, b1=0.9, b2=0.999, eps=1e-8):
    """Adam (Kingma and Ba): momentum and RMS scaling with bias-corrected moment estimates.

    >>> abs(float(adam(lambda x, i: 2 * x, 1.0, num_iters=500, step_size=0.05))) < 0.05
    True
    """
    m = np.zeros(len(x))
    v = np.zeros(len(x))
    for i in range(num_iters):
        g = grad(x, i)
        if callback:
            callback(x, i, g)
        m = (1 - b1) * g + b1 * m
        v = (1 - b2) * g ** 2 + b2 * v
        m_hat = m / (1 - b1 ** (i + 1))
        v_hat = v / (1 - b2 ** (i + 1))
        x = x - step_size * m_hat / (np.sqrt(v_hat) + eps)
    return x


# ``from chainrule.misc.optimizers import adam`` works as with autograd (Python finds the entry in sys.modules).
optimizers = types.ModuleType(__name__ + ".optimizers", "autograd.misc.optimizers' sgd, rmsprop and adam.")
optimizers.sgd, optimizers.rmsprop, optimizers.adam = sgd, rmsprop, adam
optimizers.flatten = flatten
sys.modules[optimizers.__name__] = optimizers
