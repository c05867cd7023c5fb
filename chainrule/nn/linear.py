"""Linear layers and shape helpers: ``Identity``, ``Linear``, ``Bilinear``, ``Flatten``, ``Unflatten``."""
import math

import numpy as np

from . import functional as F
from . import init
from .module import Module, Parameter

__all__ = ["Identity", "Linear", "Bilinear", "Flatten", "Unflatten", "LazyLinear"]


def _param(shape, dtype):
    return Parameter(np.zeros(shape, dtype=np.dtype(np.float32 if dtype is None else dtype)))


class Identity(Module):
    """Returns its input (any arguments to the constructor are ignored).

    >>> import chainrule as cr
    >>> Identity(54, unused="x")(cr.ones(2)).tolist()
    [1.0, 1.0]
    """

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Linear(Module):
    """``y = x @ weight.T + bias`` with ``weight`` ``(out_features, in_features)``; PyTorch's initialisation
    (``U(-1/sqrt(in), 1/sqrt(in))`` for both).

    >>> import chainrule as cr
    >>> Linear(3, 2)(cr.ones(4, 3)).shape
    (4, 2)
    """

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = _param((out_features, in_features), dtype)
        if bias:
            self.bias = _param((out_features,), dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1]
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class LazyLinear(Linear):
    """Not supported: chainrule modules need their input size at construction."""

    def __init__(self, *args, **kwargs):
        raise NotImplementedError("LazyLinear is not supported; pass in_features to Linear")


class Bilinear(Module):
    """``y_k = x1 @ weight[k] @ x2 + bias_k``."""

    def __init__(self, in1_features, in2_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in1_features, self.in2_features, self.out_features = in1_features, in2_features, out_features
        self.weight = _param((out_features, in1_features, in2_features), dtype)
        if bias:
            self.bias = _param((out_features,), dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1 / math.sqrt(self.weight.shape[1])
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class Flatten(Module):
    """Flatten dimensions ``start_dim`` through ``end_dim`` into one.

    >>> import chainrule as cr
    >>> Flatten()(cr.ones(2, 3, 4)).shape
    (2, 12)
    """

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input):
        from ..ops import shape as S
        shape = tuple(input.shape)
        nd = len(shape)
        if nd == 0:
            return S.reshape(input, (1,))
        s, e = self.start_dim % nd, self.end_dim % nd
        return S.reshape(input, shape[:s] + (-1,) + shape[e + 1:])

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Expand dimension ``dim`` into ``unflattened_size``.

    >>> import chainrule as cr
    >>> Unflatten(1, (2, 3))(cr.ones(4, 6)).shape
    (4, 2, 3)
    """

    def __init__(self, dim, unflattened_size):
        super().__init__()
        self.dim = dim
        self.unflattened_size = tuple(unflattened_size)

    def forward(self, input):
        from ..ops import shape as S
        shape = tuple(input.shape)
        d = self.dim % len(shape)
        return S.reshape(input, shape[:d] + self.unflattened_size + shape[d + 1:])

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
