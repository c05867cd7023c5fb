"""Activation-style special functions: sigmoid (expit), relu, softplus, logit, softmax, log_softmax.

sigmoid and relu are primitives (they sit on every training hot path and have one-line rules); the rest are
numerically stable compositions.
"""
import numpy as np

from ..core.primitive import SAVE_INPUTS, SAVE_OUT, Primitive, def_unary
from ..interpreters.batching import def_vectorized
from . import elementwise as E
from . import reduction as R

__all__ = ["sigmoid", "expit", "relu", "softplus", "logit", "softmax", "log_softmax"]


def _sigmoid_impl(x):
    # 0.5 * (1 + tanh(x / 2)) never overflows and keeps float32 as float32.
    return (np.tanh(x * 0.5) + 1) * 0.5


sigmoid_p = Primitive("sigmoid", _sigmoid_impl)
def_unary(sigmoid_p, lambda g, x, out: g * (out * (1 - out)), SAVE_OUT)
def_vectorized(sigmoid_p)


def sigmoid(x):
    """The logistic function ``1 / (1 + exp(-x))``, computed without overflow.

    >>> float(sigmoid(0.0))
    0.5
    """
    return sigmoid_p.bind(x)


expit = sigmoid

relu_p = Primitive("relu", lambda x: np.maximum(x, 0))
# NOTE: [relu's mask] a multiply by the boolean mask costs a fraction of where(x > 0, g, 0) on large arrays; the
# one difference is that a non-finite incoming gradient at an inactive position gives nan rather than 0.
def_unary(relu_p, lambda g, x, out: g * (x > 0), SAVE_INPUTS)
def_vectorized(relu_p)


def relu(x):
    """``max(x, 0)``; the derivative at 0 is taken as 0 (as PyTorch does).

    >>> import numpy as np
    >>> relu(np.array([-1.0, 2.0]))
    array([0., 2.])
    """
    return relu_p.bind(x)


def softplus(x):
    """``log(1 + exp(x))``, stable for large ``|x|``.

    >>> round(float(softplus(0.0)), 6)
    0.693147
    """
    return E.logaddexp(x, 0.0)


def logit(p):
    """The inverse of sigmoid: ``log(p / (1 - p))``.

    >>> float(logit(0.5))
    0.0
    """
    return E.log(p) - E.log1p(-p)


# softmax and log_softmax are the fused primitives of ops/nn.py (one definition each).
from .nn import log_softmax, softmax  # noqa: E402,F401
