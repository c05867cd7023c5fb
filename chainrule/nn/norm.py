"""Normalisation layers: ``BatchNorm1d/2d/3d``, ``LayerNorm``, ``GroupNorm``, ``RMSNorm``, ``InstanceNorm1d/2d``.

NOTE: [running statistics under transforms]
BatchNorm updates its running statistics in place (the buffer Tensors keep their identity, as in PyTorch) when
they are concrete. Inside a functional transform over the model (``grad(loss)(model, ...)``) the buffers seen by
``forward`` are traced values in a copy of the model; the update then rebinds the copy's buffers, and the caller's
model is unchanged (as in JAX, state changes are visible only through what the function returns).
"""
import numpy as np

from ..core.trace import Tracer
from ..tensor import Tensor
from . import functional as F
from .module import Module, Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LayerNorm", "GroupNorm", "RMSNorm", "InstanceNorm1d",
           "InstanceNorm2d"]


def _dt(dtype):
    return np.dtype(np.float32 if dtype is None else dtype)


def _update(module, name, value):
    """Store a new value of buffer ``name``: in place when both are concrete, else rebind (see NOTE)."""
    current = module._buffers[name]
    traced = isinstance(value, Tracer) and not isinstance(value, Tensor)
    if not traced and isinstance(value, Tensor) and isinstance(value.data, Tracer):
        traced = True
    if traced or not isinstance(current, (Tensor, np.ndarray)) or isinstance(current, Tracer) and \
            not isinstance(current, Tensor):
        module._buffers[name] = value
    else:
        F._assign_inplace(current, value)


class _NormBase(Module):
    _expected = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, device=None,
                 dtype=None):
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        dt = _dt(dtype)
        if affine:
            self.weight = Parameter(np.ones(num_features, dt))
            self.bias = Parameter(np.zeros(num_features, dt))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(num_features, dt)))
            self.register_buffer("running_var", Tensor(np.ones(num_features, dt)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self):
        if self.track_running_stats:
            for name, v in (("running_mean", 0), ("running_var", 1), ("num_batches_tracked", 0)):
                buf = self._buffers[name]
                buf.data = np.full_like(buf.data, v)

    def reset_parameters(self):
        self.reset_running_stats()
        if self.affine:
            self.weight.data = np.ones_like(self.weight.data)
            self.bias.data = np.zeros_like(self.bias.data)

    def _check_input_dim(self, input):
        nd = len(input.shape)
        if nd not in self._expected:
            raise ValueError(f"{type(self).__name__}: expected {' or '.join(f'{d}D' for d in self._expected)} input "
                             f"(got {nd}D input of shape {tuple(input.shape)})")
        if input.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__}: expected {self.num_features} channels (dimension 1) but the "
                             f"input of shape {tuple(input.shape)} has {input.shape[1]}")

    def forward(self, input):
        self._check_input_dim(input)
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            nbt = self._buffers["num_batches_tracked"]
            if nbt is not None:
                if isinstance(nbt, Tensor):
                    nbt.data = nbt.data + 1
                else:
                    self._buffers["num_batches_tracked"] = nbt + 1
                if self.momentum is None:
                    count = int(np.asarray(nbt.data if isinstance(nbt, Tensor) else nbt))
                    momentum = 1.0 / max(count, 1)
        use_batch = self.training or (self.running_mean is None and self.running_var is None)
        track = not self.training or self.track_running_stats
        rm = self.running_mean if track else None
        rv = self.running_var if track else None
        y, new_mean, new_var = F._batch_norm(input, rm, rv, self.weight, self.bias, use_batch, momentum, self.eps)
        if new_mean is not None:
            _update(self, "running_mean", new_mean)
            _update(self, "running_var", new_var)
        return y

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_NormBase):
    """Batch normalisation over ``(N, C)`` or ``(N, C, L)``: batch statistics in training (running statistics
    updated with ``momentum``, variance unbiased), running statistics in eval mode.

    >>> import chainrule as cr
    >>> bn = BatchNorm1d(3)
    >>> bn(cr.randn(8, 3)).shape, bn.num_batches_tracked.item()
    ((8, 3), 1)
    """

    _expected = (2, 3)


class BatchNorm2d(_NormBase):
    """Batch normalisation over ``(N, C, H, W)`` (statistics per channel).

    >>> import chainrule as cr
    >>> BatchNorm2d(4).eval()(cr.ones(2, 4, 3, 3)).shape
    (2, 4, 3, 3)
    """

    _expected = (4,)


class BatchNorm3d(_NormBase):
    """Batch normalisation over ``(N, C, D, H, W)``."""

    _expected = (5,)


class _InstanceNorm(_NormBase):
    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False, track_running_stats=False, device=None,
                 dtype=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype)

    def forward(self, input):
        nd = len(input.shape)
        if nd not in self._expected:
            raise ValueError(f"{type(self).__name__}: expected {self._expected[0]}D or {self._expected[1]}D input, got "
                             f"shape {tuple(input.shape)}")
        unbatched = nd == self._expected[0]
        x = input
        if unbatched:
            from ..ops import shape as S
            x = S.expand_dims(x, 0)
        use_stats = self.training or not self.track_running_stats
        y = F.instance_norm(x, self.running_mean if self.track_running_stats else None,
                            self.running_var if self.track_running_stats else None, self.weight, self.bias,
                            use_stats, self.momentum if self.momentum is not None else 0.1, self.eps)
        if unbatched:
            from ..ops import shape as S
            y = S.squeeze(y, 0)
        return y


class InstanceNorm1d(_InstanceNorm):
    """Instance normalisation over ``(N, C, L)`` (or ``(C, L)``)."""

    _expected = (2, 3)


class InstanceNorm2d(_InstanceNorm):
    """Instance normalisation over ``(N, C, H, W)`` (or ``(C, H, W)``)."""

    _expected = (3, 4)


class LayerNorm(Module):
    """Normalise over the trailing ``normalized_shape`` dimensions, with a learned per-element scale and shift.

    >>> import chainrule as cr
    >>> LayerNorm(4)(cr.randn(2, 3, 4)).shape
    (2, 3, 4)
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, device=None, dtype=None):
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        dt = _dt(dtype)
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dt))
            if bias:
                self.bias = Parameter(np.zeros(self.normalized_shape, dt))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class GroupNorm(Module):
    """Normalise groups of channels of ``(N, C, *)``, with a per-channel scale and shift.

    >>> import chainrule as cr
    >>> GroupNorm(2, 4)(cr.randn(3, 4, 5)).shape
    (3, 4, 5)
    """

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None, dtype=None):
        super().__init__()
        if num_channels % num_groups:
            raise ValueError("num_channels must be divisible by num_groups")
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        dt = _dt(dtype)
        if affine:
            self.weight = Parameter(np.ones(num_channels, dt))
            self.bias = Parameter(np.zeros(num_channels, dt))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, input):
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class RMSNorm(Module):
    """``x / sqrt(mean(x^2) + eps) * weight`` over the trailing ``normalized_shape`` dimensions.

    >>> import chainrule as cr
    >>> RMSNorm(4)(cr.randn(2, 4)).shape
    (2, 4)
    """

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, device=None, dtype=None):
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, _dt(dtype)))
        else:
            self.register_parameter("weight", None)

    def forward(self, input):
        return F.rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
