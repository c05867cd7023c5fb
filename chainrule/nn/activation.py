"""Activations as modules (each calls the function of the same name in ``chainrule.nn.functional``)."""
import numpy as np

from . import functional as F
from .module import Module, Parameter

__all__ = ["ReLU", "ReLU6", "LeakyReLU", "ELU", "SELU", "CELU", "GELU", "SiLU", "Mish", "Softplus", "Sigmoid",
           "Tanh", "Hardtanh", "Hardsigmoid", "Hardswish", "LogSigmoid", "Softsign", "Tanhshrink", "Softmax",
           "LogSoftmax", "Softmin", "GLU", "PReLU", "Threshold"]


class _Stateless(Module):
    _fn = None

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return type(self)._fn(input)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class ReLU(_Stateless):
    """``max(x, 0)``.

    >>> import chainrule as cr
    >>> ReLU()(cr.tensor([-1.0, 2.0]))
    tensor([0., 2.])
    """

    _fn = staticmethod(F.relu)


class ReLU6(_Stateless):
    """``min(max(x, 0), 6)``."""

    _fn = staticmethod(F.relu6)


class SELU(_Stateless):
    """Scaled ELU with the self-normalising constants."""

    _fn = staticmethod(F.selu)


class SiLU(_Stateless):
    """``x * sigmoid(x)``."""

    _fn = staticmethod(F.silu)


class Mish(_Stateless):
    """``x * tanh(softplus(x))``."""

    _fn = staticmethod(F.mish)


class Hardsigmoid(_Stateless):
    """``clip(x / 6 + 1/2, 0, 1)``."""

    _fn = staticmethod(F.hardsigmoid)


class Hardswish(_Stateless):
    """``x * hardsigmoid(x)``."""

    _fn = staticmethod(F.hardswish)


class _NoArgs(Module):
    _fn = None

    def forward(self, input):
        return type(self)._fn(input)


class Sigmoid(_NoArgs):
    """The logistic function."""

    _fn = staticmethod(F.sigmoid)


class Tanh(_NoArgs):
    """The hyperbolic tangent."""

    _fn = staticmethod(F.tanh)


class LogSigmoid(_NoArgs):
    """``log(sigmoid(x))``, stable."""

    _fn = staticmethod(F.logsigmoid)


class Softsign(_NoArgs):
    """``x / (1 + |x|)``."""

    _fn = staticmethod(F.softsign)


class Tanhshrink(_NoArgs):
    """``x - tanh(x)``."""

    _fn = staticmethod(F.tanhshrink)


class LeakyReLU(Module):
    """``x`` for ``x > 0``, else ``negative_slope * x``."""

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ELU(Module):
    """``x`` for ``x > 0``, else ``alpha * (exp(x) - 1)``."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, input):
        return F.elu(input, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class CELU(ELU):
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``."""

    def forward(self, input):
        return F.celu(input, self.alpha)


class GELU(Module):
    """Gaussian error linear unit (``approximate='tanh'`` for the tanh approximation)."""

    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, input):
        return F.gelu(input, self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class Softplus(Module):
    """``log(1 + exp(beta x)) / beta`` (linear above ``threshold``)."""

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, input):
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class Hardtanh(Module):
    """``x`` clipped to ``[min_val, max_val]``."""

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False):
        super().__init__()
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, input):
        return F.hardtanh(input, self.min_val, self.max_val)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}"


class Threshold(Module):
    """``x`` where ``x > threshold``, else ``value``."""

    def __init__(self, threshold, value, inplace=False):
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def forward(self, input):
        from ..ops import elementwise as E
        return E.where(input > self.threshold, input, self.value)

    def extra_repr(self):
        return f"threshold={self.threshold}, value={self.value}"


class _DimModule(Module):
    _fn = None

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return type(self)._fn(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class Softmax(_DimModule):
    """Softmax along ``dim``.

    >>> import chainrule as cr
    >>> Softmax(dim=-1)(cr.zeros(2))
    tensor([0.5, 0.5])
    """

    _fn = staticmethod(F.softmax)


class LogSoftmax(_DimModule):
    """Log-softmax along ``dim``."""

    _fn = staticmethod(F.log_softmax)


class Softmin(_DimModule):
    """Softmax of ``-x`` along ``dim``."""

    _fn = staticmethod(F.softmin)


class GLU(Module):
    """Gated linear unit along ``dim``."""

    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return F.glu(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class PReLU(Module):
    """``x`` for ``x >= 0``, else ``weight * x`` with a learned slope (one, or one per channel)."""

    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None):
        super().__init__()
        self.num_parameters = num_parameters
        self.weight = Parameter(np.full((num_parameters,), init, dtype=np.dtype(dtype or np.float32)))

    def forward(self, input):
        from ..ops import elementwise as E
        from ..ops import shape as S
        w = self.weight
        nd = len(input.shape)
        if self.num_parameters > 1 and nd >= 2:
            w = S.reshape(w, (-1,) + (1,) * (nd - 2))
        return E.where(input >= 0, input, input * w)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"
