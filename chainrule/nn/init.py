"""Parameter initialisation, in place, with PyTorch's names, fan computations and gains.

Invariant: every function fills its argument in place (a Tensor's data, or a NumPy array's contents), keeps its
shape and dtype, returns it, and draws from chainrule's default generator (seeded by ``chainrule.manual_seed``)
unless a ``generator`` is given, so ``manual_seed(s)`` followed by building a model is reproducible.
"""
import math
import warnings

import numpy as np

import sys
from ..core.trace import Tracer
from ..tensor import Tensor

__all__ = ["calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "eye_",
           "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_",
           "sparse_"]


def _rng(generator=None):
    """The NumPy generator behind ``generator`` or behind chainrule's default generator."""
    if generator is not None:
        return generator._rng if hasattr(generator, "_rng") else generator
    return sys.modules["chainrule.tensor"]._default_generator._rng


def _shape_dtype(tensor, name):
    if isinstance(tensor, Tensor):
        return tuple(tensor.shape), tensor.dtype
    if isinstance(tensor, Tracer):
        raise TypeError(f"init.{name}: cannot initialise a traced value in place")
    if isinstance(tensor, np.ndarray):
        return tensor.shape, tensor.dtype
    raise TypeError(f"init.{name}: expected a Tensor or a NumPy array, got {type(tensor).__name__}")


def _fill(tensor, values):
    """Write ``values`` into ``tensor`` in place (outside autograd, as PyTorch's ``torch.no_grad`` init does)."""
    if isinstance(tensor, Tensor):
        tensor.data = np.asarray(values, dtype=tensor.dtype).reshape(tensor.shape)
        tensor._version += 1
    else:
        tensor[...] = values
    return tensor


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for an activation (PyTorch's table): 1 for linear/conv/sigmoid, 5/3 for tanh,
    sqrt(2) for relu, sqrt(2 / (1 + slope^2)) for leaky_relu, 3/4 for selu.

    >>> round(calculate_gain("relu"), 4)
    1.4142
    """
    linear = {"linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
              "conv_transpose3d", "sigmoid"}
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, (int, float)):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor):
    shape = tuple(tensor.shape)
    if len(shape) < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions "
                         f"(shape {shape})")
    receptive = int(np.prod(shape[2:], dtype=np.int64)) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def _fan(tensor, mode):
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Fill with samples from U(a, b).

    >>> import chainrule as cr
    >>> t = uniform_(cr.empty(1000), -1, 1)
    >>> bool((t.numpy() >= -1).all() and (t.numpy() < 1).all())
    True
    """
    shape, _ = _shape_dtype(tensor, "uniform_")
    return _fill(tensor, _rng(generator).uniform(a, b, size=shape))


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Fill with samples from N(mean, std^2).

    >>> import chainrule as cr
    >>> t = normal_(cr.empty(10000), 2.0, 0.5)
    >>> round(float(t.numpy().mean()), 1), round(float(t.numpy().std()), 1)
    (2.0, 0.5)
    """
    shape, _ = _shape_dtype(tensor, "normal_")
    return _fill(tensor, _rng(generator).normal(mean, std, size=shape))


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """Fill with samples from N(mean, std^2) truncated to ``[a, b]`` (absolute bounds, as in PyTorch).

    Sampled by inverting the normal CDF over the kept interval, so it works even for narrow intervals far out.

    >>> import chainrule as cr
    >>> t = trunc_normal_(cr.empty(1000), std=1.0, a=-0.5, b=0.5)
    >>> bool((abs(t.numpy()) <= 0.5).all())
    True
    """
    shape, _ = _shape_dtype(tensor, "trunc_normal_")
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. The distribution of values may "
                      "be incorrect.", stacklevel=2)
    lo = _norm_cdf((a - mean) / std)
    hi = _norm_cdf((b - mean) / std)
    u = _rng(generator).uniform(lo, hi, size=shape)
    z = _norm_ppf(u)
    return _fill(tensor, np.clip(mean + std * z, a, b))


def _norm_cdf(x):
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _norm_ppf(p):
    """The standard normal quantile function, vectorised over ``p`` (Acklam's rational approximation: relative
    error below 1.2e-9, far below what initialisation needs)."""
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-300, 1 - 1e-16)
    a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02,
         -3.066479806614716e+01, 2.506628277459239e+00]
    b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01,
         -1.328068155288572e+01]
    c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00,
         4.374664141464968e+00, 2.938163982698783e+00]
    d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
    low = p < 0.02425
    high = p > 1 - 0.02425
    q = np.sqrt(-2 * np.log(np.where(low, p, 0.5)))
    z_low = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / \
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    q = np.sqrt(-2 * np.log(np.where(high, 1 - p, 0.5)))
    z_high = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / \
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    q = p - 0.5
    r = q * q
    z_mid = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / \
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
    return np.where(low, z_low, np.where(high, z_high, z_mid))


def constant_(tensor, val):
    """Fill with ``val``.

    >>> import chainrule as cr
    >>> constant_(cr.empty(2), 3.0)
    tensor([3., 3.])
    """
    shape, _ = _shape_dtype(tensor, "constant_")
    return _fill(tensor, np.full(shape, val))


def ones_(tensor):
    """Fill with ones.

    >>> import chainrule as cr
    >>> ones_(cr.empty(2))
    tensor([1., 1.])
    """
    return constant_(tensor, 1.0)


def zeros_(tensor):
    """Fill with zeros.

    >>> import numpy as np
    >>> zeros_(np.ones(2))
    array([0., 0.])
    """
    return constant_(tensor, 0.0)


def eye_(tensor):
    """Fill a 2-D tensor with the identity matrix.

    >>> import chainrule as cr
    >>> eye_(cr.empty(2, 2))
    tensor([[1., 0.],
            [0., 1.]])
    """
    shape, _ = _shape_dtype(tensor, "eye_")
    if len(shape) != 2:
        raise ValueError(f"Only tensors with 2 dimensions are supported (got shape {shape})")
    return _fill(tensor, np.eye(*shape))


def dirac_(tensor, groups=1):
    """Fill a 3-, 4- or 5-D convolution weight with the Dirac delta (identity convolution per group).

    >>> import chainrule as cr
    >>> dirac_(cr.empty(1, 1, 3)).tolist()
    [[[0.0, 1.0, 0.0]]]
    """
    shape, _ = _shape_dtype(tensor, "dirac_")
    if len(shape) not in (3, 4, 5):
        raise ValueError(f"Only tensors with 3, 4, or 5 dimensions are supported (got shape {shape})")
    if shape[0] % groups:
        raise ValueError("dim 0 must be divisible by groups")
    out_per = shape[0] // groups
    n = min(out_per, shape[1])
    w = np.zeros(shape)
    centre = tuple(k // 2 for k in shape[2:])
    g = np.repeat(np.arange(groups), n)
    i = np.tile(np.arange(n), groups)
    w[(g * out_per + i, i) + centre] = 1
    return _fill(tensor, w)


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """Glorot uniform: U(-a, a) with ``a = gain * sqrt(6 / (fan_in + fan_out))``.

    >>> import chainrule as cr
    >>> bool(abs(xavier_uniform_(cr.empty(3, 5)).numpy()).max() <= (6 / 8) ** 0.5)
    True
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    a = math.sqrt(3.0) * gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    """Glorot normal: N(0, std^2) with ``std = gain * sqrt(2 / (fan_in + fan_out))``.

    >>> import chainrule as cr
    >>> xavier_normal_(cr.empty(3, 5)).shape
    (3, 5)
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)), generator)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He uniform: U(-bound, bound) with ``bound = gain * sqrt(3 / fan)``, ``gain = calculate_gain(nonlinearity,
    a)``. Layers use ``a=sqrt(5)``, which gives ``bound = 1 / sqrt(fan_in)`` (PyTorch's default).

    >>> import chainrule as cr
    >>> w = kaiming_uniform_(cr.empty(4, 25), a=5 ** 0.5)
    >>> bool(abs(w.numpy()).max() <= 0.2)
    True
    """
    if 0 in tuple(tensor.shape):
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    fan = _fan(tensor, mode)
    bound = math.sqrt(3.0) * calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He normal: N(0, std^2) with ``std = gain / sqrt(fan)``.

    >>> import chainrule as cr
    >>> w = kaiming_normal_(cr.empty(200, 100), nonlinearity="relu")
    >>> round(float(w.numpy().std()), 2)
    0.14
    """
    if 0 in tuple(tensor.shape):
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    fan = _fan(tensor, mode)
    return normal_(tensor, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(fan), generator)


def orthogonal_(tensor, gain=1.0, generator=None):
    """Fill with a (semi-)orthogonal matrix (the tensor viewed as ``(shape[0], -1)``), times ``gain``.

    >>> import numpy as np, chainrule as cr
    >>> q = orthogonal_(cr.empty(3, 5)).numpy()
    >>> bool(np.allclose(q @ q.T, np.eye(3), atol=1e-6))
    True
    """
    shape, _ = _shape_dtype(tensor, "orthogonal_")
    if len(shape) < 2:
        raise ValueError(f"Only tensors with 2 or more dimensions are supported (got shape {shape})")
    rows = shape[0]
    cols = int(np.prod(shape[1:], dtype=np.int64))
    if rows * cols == 0:
        return tensor
    flat = _rng(generator).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, gain * q.reshape(shape))


def sparse_(tensor, sparsity, std=0.01, generator=None):
    """Fill a 2-D tensor with N(0, std^2) values and zero a fraction ``sparsity`` of each column.

    >>> import chainrule as cr
    >>> [int((c == 0).sum()) for c in sparse_(cr.empty(4, 2), 0.5).numpy().T]
    [2, 2]
    """
    shape, _ = _shape_dtype(tensor, "sparse_")
    if len(shape) != 2:
        raise ValueError(f"Only tensors with 2 dimensions are supported (got shape {shape})")
    rows, cols = shape
    rng = _rng(generator)
    w = rng.normal(0.0, std, size=shape)
    n_zero = int(math.ceil(sparsity * rows))
    order = np.argsort(rng.random((rows, cols)), axis=0)[:n_zero]
    w[order, np.arange(cols)[None, :]] = 0
    return _fill(tensor, w)
