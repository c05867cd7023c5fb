"""``chainrule.nn.functional``: activations, losses, normalisation, convolution, pooling, attention, dropout.

Invariant: every function here is a composition of chainrule ops (or binds the convolution/pooling primitives of
``chainrule.ops.conv`` and the fused primitives of ``chainrule.ops.nn``), so it works on NumPy arrays, Tensors and
traced values alike, under every transform, to any order. Argument names, defaults and semantics follow
``torch.nn.functional``. Losses are written in numerically stable forms (log-softmax, softplus): logits of
magnitude 1e4 give finite values and gradients.
"""
import math
import warnings

import numpy as np

from ..core.trace import Tracer, concrete
from ..ops import conv as CV
from ..ops import elementwise as E
from ..ops import linalg as L
from ..ops import nn as NN
from ..ops import reduction as R
from ..ops import shape as S
from ..ops import special as SP
from ..ops._util import as_operand
from ..tensor import Tensor, _wrap

__all__ = [
    # activations
    "relu", "relu6", "leaky_relu", "elu", "selu", "celu", "gelu", "silu", "mish", "softplus", "sigmoid", "tanh",
    "hardtanh", "hardsigmoid", "hardswish", "logsigmoid", "softsign", "tanhshrink", "softmax", "log_softmax",
    "softmin", "glu",
    # layers
    "linear", "bilinear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "max_pool1d",
    "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool2d",
    "embedding", "one_hot", "pad", "dropout", "dropout1d", "dropout2d", "scaled_dot_product_attention",
    # normalisation
    "layer_norm", "batch_norm", "group_norm", "instance_norm", "rms_norm", "normalize",
    # losses
    "cross_entropy", "nll_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits", "mse_loss",
    "l1_loss", "smooth_l1_loss", "huber_loss", "hinge_embedding_loss", "multi_margin_loss", "kl_div",
    "cosine_similarity", "cosine_embedding_loss", "margin_ranking_loss", "soft_margin_loss", "poisson_nll_loss",
    "gaussian_nll_loss",
]


def _shape(x):
    return tuple(x.shape) if hasattr(x, "shape") else np.shape(x)


def _ndim(x):
    return len(_shape(x))


def _op(x):
    x = as_operand(x)
    return x if hasattr(x, "dtype") else np.asarray(x)


def _is_float(x):
    return np.issubdtype(x.dtype, np.inexact)


def _like_input(arr, ref):
    """A constant ``arr`` as a Tensor when ``ref`` is (or is traced through) a Tensor, else as it is."""
    r = ref
    while isinstance(r, Tracer) and not isinstance(r, Tensor):
        r = r.concrete_value()
    return _wrap(arr) if isinstance(r, Tensor) else arr


def _rng(generator=None):
    from .init import _rng as rng
    return rng(generator)


# ---------------------------------------------------------------------------------------------------------
# Activations
# ---------------------------------------------------------------------------------------------------------

def relu(input, inplace=False):
    """``max(x, 0)`` (gradient 0 at 0).

    >>> import numpy as np
    >>> relu(np.array([-1.0, 2.0]))
    array([0., 2.])
    """
    return SP.relu(_op(input))


def relu6(input, inplace=False):
    """``min(max(x, 0), 6)``.

    >>> import numpy as np
    >>> relu6(np.array([-1.0, 3.0, 9.0])).tolist()
    [0.0, 3.0, 6.0]
    """
    return hardtanh(input, 0.0, 6.0)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """``x`` clipped to ``[min_val, max_val]``.

    >>> import numpy as np
    >>> hardtanh(np.array([-2.0, 0.5, 2.0])).tolist()
    [-1.0, 0.5, 1.0]
    """
    return E.clip(_op(input), min_val, max_val)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """``x`` where ``x > 0``, else ``negative_slope * x``.

    >>> import numpy as np
    >>> leaky_relu(np.array([-1.0, 2.0]), 0.1)
    array([-0.1,  2. ])
    """
    x = _op(input)
    return E.where(x > 0, x, x * negative_slope)


def elu(input, alpha=1.0, inplace=False):
    """``x`` where ``x > 0``, else ``alpha * (exp(x) - 1)`` (never overflows: the exponential only sees x <= 0).

    >>> import numpy as np
    >>> bool(np.allclose(elu(np.array([-1.0, 1.0])), [np.expm1(-1.0), 1.0]))
    True
    """
    x = _op(input)
    return E.where(x > 0, x, E.expm1(E.minimum(x, 0)) * alpha)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input, inplace=False):
    """``scale * elu(x, alpha)`` with the self-normalising constants.

    >>> round(float(selu(1.0)), 6)
    1.050701
    """
    return elu(input, _SELU_ALPHA) * _SELU_SCALE


def celu(input, alpha=1.0, inplace=False):
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``.

    >>> round(float(celu(-1.0, alpha=2.0)), 6)
    -0.786939
    """
    x = _op(input)
    return E.where(x > 0, x, E.expm1(E.minimum(x, 0) / alpha) * alpha)


def gelu(input, approximate="none"):
    """Gaussian error linear unit: ``x * Phi(x)`` (``approximate='tanh'``: PyTorch's tanh approximation).

    >>> import numpy as np
    >>> bool(np.allclose(gelu(np.array([1.0])), [0.8413447460685429]))
    True
    """
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return NN.gelu(_op(input), approximate == "tanh")


def silu(input, inplace=False):
    """``x * sigmoid(x)`` (swish).

    >>> round(float(silu(1.0)), 6)
    0.731059
    """
    x = _op(input)
    return x * SP.sigmoid(x)


def mish(input, inplace=False):
    """``x * tanh(softplus(x))``.

    >>> round(float(mish(1.0)), 6)
    0.865098
    """
    x = _op(input)
    return x * E.tanh(SP.softplus(x))


def softplus(input, beta=1.0, threshold=20.0):
    """``log(1 + exp(beta * x)) / beta``, linear where ``beta * x > threshold`` (as PyTorch).

    >>> round(float(softplus(0.0)), 6)
    0.693147
    """
    x = _op(input)
    bx = x * beta if beta != 1 else x
    sp = SP.softplus(bx)
    if beta != 1:
        sp = sp / beta
    return E.where(bx > threshold, x, sp)


def sigmoid(input):
    """The logistic function.

    >>> float(sigmoid(0.0))
    0.5
    """
    return SP.sigmoid(_op(input))


def tanh(input):
    """The hyperbolic tangent.

    >>> float(tanh(0.0))
    0.0
    """
    return E.tanh(_op(input))


def hardsigmoid(input, inplace=False):
    """``clip(x / 6 + 1 / 2, 0, 1)``.

    >>> float(hardsigmoid(0.0))
    0.5
    """
    return E.clip(_op(input) / 6 + 0.5, 0.0, 1.0)


def hardswish(input, inplace=False):
    """``x * hardsigmoid(x)``.

    >>> float(hardswish(3.0))
    3.0
    """
    x = _op(input)
    return x * hardsigmoid(x)


def logsigmoid(input):
    """``log(sigmoid(x)) = -softplus(-x)``, stable for large ``|x|``.

    >>> float(logsigmoid(-1e4))
    -10000.0
    """
    return -SP.softplus(-_op(input))


def softsign(input):
    """``x / (1 + |x|)``.

    >>> float(softsign(1.0))
    0.5
    """
    x = _op(input)
    return x / (E.abs(x) + 1)


def tanhshrink(input):
    """``x - tanh(x)``.

    >>> float(tanhshrink(0.0))
    0.0
    """
    x = _op(input)
    return x - E.tanh(x)


def _softmax_dim(ndim, dim, name):
    if dim is None:
        warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X "
                      f"as an argument.", stacklevel=3)
        return 0 if ndim in (0, 1, 3) else 1
    return dim


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """Probabilities along ``dim`` (computed from a stable log-softmax).

    >>> import numpy as np
    >>> softmax(np.array([0.0, 0.0]), dim=0)
    array([0.5, 0.5])
    """
    x = _op(input)
    if dtype is not None:
        x = E.astype(x, dtype)
    return NN.softmax(x, _softmax_dim(_ndim(x), dim, "softmax"))


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """``x - logsumexp(x, dim)``.

    >>> import numpy as np
    >>> bool(np.allclose(np.exp(log_softmax(np.array([1e4, 0.0]), dim=0)), [1.0, 0.0]))
    True
    """
    x = _op(input)
    if dtype is not None:
        x = E.astype(x, dtype)
    return NN.log_softmax(x, _softmax_dim(_ndim(x), dim, "log_softmax"))


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """``softmax(-x, dim)``.

    >>> import numpy as np
    >>> softmin(np.array([0.0, 0.0]), dim=0).tolist()
    [0.5, 0.5]
    """
    return softmax(-_op(input), dim, dtype=dtype)


def glu(input, dim=-1):
    """Gated linear unit: the first half of ``input`` along ``dim`` times the sigmoid of the second half.

    >>> import numpy as np
    >>> glu(np.array([2.0, 0.0])).tolist()
    [1.0]
    """
    x = _op(input)
    n = _shape(x)[dim]
    if n % 2:
        raise ValueError(f"glu: halving dimension must be even, but dimension {dim} is size {n}")
    a, b = S.split(x, 2, axis=dim)
    return a * SP.sigmoid(b)


# ---------------------------------------------------------------------------------------------------------
# Linear and convolution layers
# ---------------------------------------------------------------------------------------------------------

def linear(input, weight, bias=None):
    """``input @ weight.T + bias`` over the last axis of ``input`` (any number of leading axes).

    >>> import numpy as np
    >>> linear(np.ones((2, 3)), np.ones((4, 3)), np.zeros(4)).shape
    (2, 4)
    """
    x, w = _op(input), _op(weight)
    xs, ws = _shape(x), _shape(w)
    if len(ws) != 2 or not xs or xs[-1] != ws[1]:
        raise ValueError(f"linear: input of shape {xs} and weight of shape {ws} do not fit (expected weight "
                         f"(out_features, {xs[-1] if xs else '?'}))")
    return NN.linear(x, w, None if bias is None else _op(bias))


def bilinear(input1, input2, weight, bias=None):
    """``y_k = x1 @ weight[k] @ x2 + bias_k``.

    >>> import numpy as np
    >>> bilinear(np.ones((1, 2)), np.ones((1, 3)), np.ones((4, 2, 3))).tolist()
    [[6.0, 6.0, 6.0, 6.0]]
    """
    y = L.einsum("...i,kij,...j->...k", _op(input1), _op(weight), _op(input2))
    return y if bias is None else y + _op(bias)


def _unbatched(x, r):
    """Whether ``x`` lacks the batch axis (``r + 1`` dimensions), and ``x`` with it added."""
    if _ndim(x) == r + 1:
        return True, S.expand_dims(x, 0)
    return False, x


def _conv(name, r, input, weight, bias, stride, padding, dilation, groups):
    x = _op(input)
    squeeze, x = _unbatched(x, r)
    y = CV.conv_general(x, _op(weight), None if bias is None else _op(bias), stride, padding, dilation, groups,
                        name=name)
    return S.squeeze(y, 0) if squeeze else y


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution (cross-correlation) of ``(N, C, L)`` with ``(O, C/groups, K)``.

    >>> import numpy as np
    >>> conv1d(np.ones((1, 1, 5)), np.ones((1, 1, 3))).tolist()
    [[[3.0, 3.0, 3.0]]]
    """
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation) of ``(N, C, H, W)`` with ``(O, C/groups, kH, kW)``; ``padding`` may
    be an int, a pair, ``'valid'`` or ``'same'``.

    >>> import numpy as np
    >>> conv2d(np.ones((1, 1, 4, 4)), np.ones((2, 1, 3, 3)), padding="same").shape
    (1, 2, 4, 4)
    """
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D convolution of ``(N, C, D, H, W)`` with ``(O, C/groups, kD, kH, kW)``.

    >>> import numpy as np
    >>> conv3d(np.ones((1, 1, 3, 3, 3)), np.ones((2, 1, 2, 2, 2))).shape
    (1, 2, 2, 2, 2)
    """
    return _conv("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)


def _conv_transpose(name, r, input, weight, bias, stride, padding, output_padding, groups, dilation):
    x = _op(input)
    squeeze, x = _unbatched(x, r)
    y = CV.conv_transpose_general(x, _op(weight), None if bias is None else _op(bias), stride, padding,
                                  output_padding, groups, dilation, name=name)
    return S.squeeze(y, 0) if squeeze else y


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """1-D transposed convolution; ``weight`` is ``(C_in, C_out/groups, K)``.

    >>> import numpy as np
    >>> conv_transpose1d(np.ones((1, 1, 2)), np.ones((1, 1, 2))).tolist()
    [[[1.0, 2.0, 1.0]]]
    """
    return _conv_transpose("conv_transpose1d", 1, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """2-D transposed convolution (the gradient of conv2d with respect to its input); ``weight`` is
    ``(C_in, C_out/groups, kH, kW)``.

    >>> import numpy as np
    >>> conv_transpose2d(np.ones((1, 1, 3, 3)), np.ones((1, 2, 2, 2)), stride=2).shape
    (1, 2, 6, 6)
    """
    return _conv_transpose("conv_transpose2d", 2, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


def _pair(v, r):
    return (v,) * r if isinstance(v, (int, np.integer)) else tuple(v)


def _pool(fn, r, input, kernel_size, *args, **kwargs):
    x = _op(input)
    squeeze, x = _unbatched(x, r)
    y = fn(x, _pair(kernel_size, r), *args, **kwargs)
    return S.squeeze(y, 0) if squeeze else y


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over windows of ``(N, C, L)``.

    >>> import numpy as np
    >>> max_pool1d(np.array([[[1.0, 3.0, 2.0, 0.0]]]), 2).tolist()
    [[[3.0, 2.0]]]
    """
    if return_indices:
        raise NotImplementedError("max_pool1d: return_indices=True is not supported")
    return _pool(CV.max_pool, 1, input, kernel_size, None if stride is None else _pair(stride, 1), padding,
                 dilation, ceil_mode)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over windows of ``(N, C, H, W)``; the gradient goes to the first maximum of each window.

    >>> import numpy as np
    >>> max_pool2d(np.arange(16.0).reshape(1, 1, 4, 4), 2).tolist()
    [[[[5.0, 7.0], [13.0, 15.0]]]]
    """
    if return_indices:
        raise NotImplementedError("max_pool2d: return_indices=True is not supported")
    return _pool(CV.max_pool, 2, input, kernel_size, None if stride is None else _pair(stride, 2), padding,
                 dilation, ceil_mode)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """Mean over windows of ``(N, C, L)``.

    >>> import numpy as np
    >>> avg_pool1d(np.array([[[1.0, 3.0, 2.0, 0.0]]]), 2).tolist()
    [[[2.0, 1.0]]]
    """
    return _pool(CV.avg_pool, 1, input, kernel_size, None if stride is None else _pair(stride, 1), padding,
                 ceil_mode, count_include_pad)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Mean over windows of ``(N, C, H, W)``.

    >>> import numpy as np
    >>> avg_pool2d(np.arange(16.0).reshape(1, 1, 4, 4), 2).tolist()
    [[[[2.5, 4.5], [10.5, 12.5]]]]
    """
    return _pool(CV.avg_pool, 2, input, kernel_size, None if stride is None else _pair(stride, 2), padding,
                 ceil_mode, count_include_pad, divisor_override)


def _adaptive_matrix(n, m, dtype):
    """``(m, n)`` averaging matrix of adaptive pooling: row i averages ``[floor(i*n/m), ceil((i+1)*n/m))``."""
    i = np.arange(m)
    start = (i * n) // m
    end = -((-(i + 1) * n) // m)
    cols = np.arange(n)
    inside = (cols[None, :] >= start[:, None]) & (cols[None, :] < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def _adaptive_sizes(x, output_size, r, name):
    spatial = _shape(x)[-r:]
    out = _pair(output_size, r)
    out = tuple(s if o is None else int(o) for o, s in zip(out, spatial))
    if any(o < 1 for o in out):
        raise ValueError(f"{name}: output_size must be positive, got {output_size}")
    return spatial, out


def adaptive_avg_pool1d(input, output_size):
    """Average pooling to a fixed output length (PyTorch's window boundaries).

    >>> import numpy as np
    >>> adaptive_avg_pool1d(np.array([[[1.0, 2.0, 3.0, 4.0]]]), 2).tolist()
    [[[1.5, 3.5]]]
    """
    x = _op(input)
    (n,), (m,) = _adaptive_sizes(x, output_size, 1, "adaptive_avg_pool1d")
    dt = x.dtype if _is_float(x) else np.float64
    return L.matmul(x, _adaptive_matrix(n, m, dt).T)


def adaptive_avg_pool2d(input, output_size):
    """Average pooling to a fixed output size: a separable product with two constant averaging matrices.

    >>> import numpy as np
    >>> adaptive_avg_pool2d(np.arange(16.0).reshape(1, 1, 4, 4), 1).tolist()
    [[[[7.5]]]]
    """
    x = _op(input)
    if _ndim(x) not in (3, 4):
        raise ValueError(f"adaptive_avg_pool2d: expected a 3-D or 4-D input, got shape {_shape(x)}")
    (h, w), (oh, ow) = _adaptive_sizes(x, output_size, 2, "adaptive_avg_pool2d")
    dt = x.dtype if _is_float(x) else np.float64
    if (oh, ow) == (1, 1):
        return R.mean(x, axis=(-2, -1), keepdims=True)
    if h % oh == 0 and w % ow == 0:
        return avg_pool2d(x, (h // oh, w // ow))
    ah, aw = _adaptive_matrix(h, oh, dt), _adaptive_matrix(w, ow, dt)
    return L.einsum("...hw,ph,qw->...pq", x, ah, aw)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max pooling to a fixed output size (input sizes must be multiples of the output size).

    >>> import numpy as np
    >>> adaptive_max_pool2d(np.arange(16.0).reshape(1, 1, 4, 4), 1).tolist()
    [[[[15.0]]]]
    """
    x = _op(input)
    (h, w), (oh, ow) = _adaptive_sizes(x, output_size, 2, "adaptive_max_pool2d")
    if h % oh or w % ow:
        raise NotImplementedError(f"adaptive_max_pool2d: input size {(h, w)} is not a multiple of the output size "
                                  f"{(oh, ow)}")
    return max_pool2d(x, (h // oh, w // ow), return_indices=return_indices)


# ---------------------------------------------------------------------------------------------------------
# Embedding, one_hot, pad, dropout
# ---------------------------------------------------------------------------------------------------------

def _indices(x, name):
    idx = np.asarray(concrete(x.data if isinstance(x, Tensor) else x))
    if not np.issubdtype(idx.dtype, np.integer):
        raise TypeError(f"{name}: expected integer indices, got dtype {idx.dtype}")
    return idx


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
              sparse=False):
    """Rows of ``weight`` picked by the integer ``input``; the row ``padding_idx`` gets no gradient. With
    ``max_norm``, referenced rows longer than ``max_norm`` are rescaled in place first (as PyTorch does).

    >>> import numpy as np
    >>> embedding(np.array([2, 0]), np.arange(6.0).reshape(3, 2)).tolist()
    [[4.0, 5.0], [0.0, 1.0]]
    """
    idx = _indices(input, "embedding")
    w = _op(weight)
    n = _shape(w)[0]
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise IndexError(f"embedding: index out of range in self (indices in [{idx.min()}, {idx.max()}] for a "
                         f"weight with {n} rows)")
    if max_norm is not None:
        _renorm_rows(weight, np.unique(idx % n), max_norm, norm_type)
    out = w[idx]
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise ValueError(f"embedding: padding_idx {padding_idx} must be within num_embeddings {n}")
        hit = (idx % n) == (padding_idx % n)
        if hit.any():
            out = E.where(hit[..., None], E.stop_gradient(out), out)
    return out


def _renorm_rows(weight, rows, max_norm, norm_type):
    data = weight.data if isinstance(weight, Tensor) else weight
    if isinstance(data, Tracer):
        raise NotImplementedError("embedding: max_norm renormalises the weight in place and cannot be traced")
    sub = data[rows]
    norms = np.sum(np.abs(sub) ** norm_type, axis=1) ** (1.0 / norm_type)
    scale = np.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0).astype(data.dtype)
    data[rows] = sub * scale[:, None]


def one_hot(tensor, num_classes=-1):
    """``(..., num_classes)`` int64 array with a one at each index (not differentiable).

    >>> import numpy as np
    >>> one_hot(np.array([0, 2]), 3).tolist()
    [[1, 0, 0], [0, 0, 1]]
    """
    idx = _indices(tensor, "one_hot")
    if num_classes == -1:
        num_classes = int(idx.max()) + 1 if idx.size else 0
    if idx.size and (idx.min() < 0 or idx.max() >= num_classes):
        raise ValueError(f"one_hot: class values must be in [0, {num_classes}), got values in "
                         f"[{idx.min()}, {idx.max()}]")
    out = (idx[..., None] == np.arange(num_classes)).astype(np.int64)
    return _like_input(out, tensor)


def pad(input, pad, mode="constant", value=None):
    """Pad the last ``len(pad) // 2`` dimensions; ``pad`` lists ``(left, right)`` pairs starting from the last
    dimension (PyTorch's order). Modes: 'constant', 'reflect', 'replicate', 'circular'.

    >>> import numpy as np
    >>> pad(np.ones((1, 2)), (1, 2)).tolist()
    [[0.0, 1.0, 1.0, 0.0, 0.0]]
    """
    x = _op(input)
    pad = tuple(int(p) for p in pad)
    nd = _ndim(x)
    if len(pad) % 2 or len(pad) // 2 > nd:
        raise ValueError(f"pad: padding length {len(pad)} must be even and at most twice the number of dimensions "
                         f"({nd})")
    width = [(0, 0)] * nd
    for i in range(len(pad) // 2):
        width[nd - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    if any(lo < 0 or hi < 0 for lo, hi in width):
        # Negative padding crops.
        crop = tuple(slice(max(-lo, 0), n - max(-hi, 0)) for (lo, hi), n in zip(width, _shape(x)))
        x = x[crop]
        width = [(max(lo, 0), max(hi, 0)) for lo, hi in width]
    modes = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}
    if mode not in modes:
        raise ValueError(f"pad: unsupported padding mode {mode!r}; use one of {sorted(modes)}")
    if mode == "constant":
        return S.pad(x, width, constant_values=0 if value is None else value)
    return S.pad(x, width, mode=modes[mode])


def _dropout_mask(shape, p, dtype, generator=None):
    keep = _rng(generator).random(shape) >= p
    return (keep / (1.0 - p)).astype(dtype)


def dropout(input, p=0.5, training=True, inplace=False, generator=None):
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)`` (identity when not
    ``training``). Masks come from chainrule's default generator.

    >>> import numpy as np
    >>> dropout(np.ones(3), 0.5, training=False).tolist()
    [1.0, 1.0, 1.0]
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    x = _op(input)
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * np.zeros((), x.dtype)
    return x * _dropout_mask(_shape(x), p, x.dtype, generator)


def _channel_dropout(x, p, training, batched_ndim, name):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    x = _op(x)
    if not training or p == 0.0:
        return x
    shape = _shape(x)
    nd = len(shape)
    if nd not in (batched_ndim, batched_ndim - 1):
        raise ValueError(f"{name}: expected {batched_ndim - 1}-D or {batched_ndim}-D input, got shape {shape}")
    lead = 2 if nd == batched_ndim else 1
    mask_shape = shape[:lead] + (1,) * (nd - lead)
    if p == 1.0:
        return x * np.zeros((), x.dtype)
    return x * _dropout_mask(mask_shape, p, x.dtype)


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of ``(N, C, L)`` with probability ``p``.

    >>> import numpy as np
    >>> dropout1d(np.ones((2, 3, 4)), 0.5, training=False).shape
    (2, 3, 4)
    """
    return _channel_dropout(input, p, training, 3, "dropout1d")


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of ``(N, C, H, W)`` with probability ``p``.

    >>> import numpy as np
    >>> dropout2d(np.ones((1, 2, 2, 2)), 0.0).tolist() == np.ones((1, 2, 2, 2)).tolist()
    True
    """
    return _channel_dropout(input, p, training, 4, "dropout2d")


# ---------------------------------------------------------------------------------------------------------
# Attention
# ---------------------------------------------------------------------------------------------------------

def _attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=False,
               training=True):
    """``(output, weights)`` of scaled dot-product attention."""
    q, k, v = _op(query), _op(key), _op(value)
    qs, ks, vs = _shape(q), _shape(k), _shape(v)
    if len(qs) < 2 or len(ks) < 2 or len(vs) < 2 or qs[-1] != ks[-1] or ks[-2] != vs[-2]:
        raise ValueError(f"scaled_dot_product_attention: query {qs}, key {ks} and value {vs} do not fit (expected "
                         f"(..., L, E), (..., S, E), (..., S, Ev))")
    if enable_gqa and len(qs) >= 3 and ks[-3] != qs[-3]:
        rep = qs[-3] // ks[-3]
        k = S.repeat(k, rep, axis=-3)
        v = S.repeat(v, rep, axis=-3)
    n_q, n_k = qs[-2], ks[-2]
    scale = 1.0 / math.sqrt(qs[-1]) if scale is None else scale
    scores = L.matmul(q * scale, S.swapaxes(k, -1, -2))
    if is_causal:
        if attn_mask is not None:
            raise ValueError("scaled_dot_product_attention: explicit attn_mask should not be set when "
                             "is_causal=True")
        attn_mask = np.tril(np.ones((n_q, n_k), dtype=bool))
    if attn_mask is not None:
        m = _op(attn_mask)
        if m.dtype == np.bool_:
            scores = E.where(np.asarray(concrete(m.data if isinstance(m, Tensor) else m)), scores, -np.inf)
        else:
            scores = scores + m
    weights = NN.softmax(scores, -1)
    if dropout_p > 0.0 and training:
        weights = dropout(weights, dropout_p)
    return L.matmul(weights, v), weights


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 enable_gqa=False):
    """``softmax(q @ k^T * scale + mask) @ v`` over the last two axes, ``scale = 1/sqrt(E)`` by default.

    ``attn_mask`` is boolean (True = may attend) or additive (float); ``is_causal`` applies a lower-triangular
    mask; ``dropout_p`` drops attention weights (always applied when positive, as in PyTorch).

    >>> import numpy as np
    >>> q = k = v = np.eye(2)[None]
    >>> scaled_dot_product_attention(q, k, v, is_causal=True)[0, 0].tolist()
    [1.0, 0.0]
    """
    return _attention(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa)[0]


# ---------------------------------------------------------------------------------------------------------
# Normalisation
# ---------------------------------------------------------------------------------------------------------

def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the trailing ``normalized_shape`` axes (biased variance), then scale and shift.

    >>> import numpy as np
    >>> bool(np.allclose(layer_norm(np.array([[1.0, 3.0]]), (2,)), [[-1.0, 1.0]], atol=1e-4))
    True
    """
    x = _op(input)
    ns = _pair(normalized_shape, 1)
    xs = _shape(x)
    if tuple(xs[len(xs) - len(ns):]) != tuple(ns):
        raise ValueError(f"layer_norm: input of shape {xs} does not end with normalized_shape {ns}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and _shape(t) != tuple(ns):
            raise ValueError(f"layer_norm: {name} of shape {_shape(t)} does not match normalized_shape {ns}")
    return NN.layer_norm(x, len(ns), None if weight is None else _op(weight), None if bias is None else _op(bias),
                         eps)


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """``x / sqrt(mean(x^2) + eps)`` over the trailing ``normalized_shape`` axes, times ``weight``
    (``eps`` defaults to the dtype's machine epsilon, as in PyTorch).

    >>> import numpy as np
    >>> bool(np.allclose(rms_norm(np.array([[3.0, 4.0]]), (2,)), [[3 / 12.5 ** 0.5, 4 / 12.5 ** 0.5]]))
    True
    """
    x = _op(input)
    ns = _pair(normalized_shape, 1)
    if eps is None:
        eps = float(np.finfo(x.dtype if _is_float(x) else np.float32).eps)
    axes = tuple(range(-len(ns), 0))
    y = x * E.reciprocal(E.sqrt(R.mean(x * x, axis=axes, keepdims=True) + eps))
    return y if weight is None else y * _op(weight)


def _channel_shape(x, v):
    """``v`` (shape (C,)) reshaped to broadcast against ``x`` (N, C, *S)."""
    return S.reshape(v, (-1,) + (1,) * (_ndim(x) - 2))


def _batch_stats_update(x, axes, running_mean, running_var, momentum, n):
    """New running statistics from the batch (no gradient flows into them)."""
    xs = E.stop_gradient(x)
    mean = R.mean(xs, axis=axes)
    var = R.var(xs, axis=axes) * (n / max(n - 1, 1))
    new_mean = running_mean * (1 - momentum) + mean * momentum
    new_var = running_var * (1 - momentum) + var * momentum
    return new_mean, new_var


def _batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps):
    """``(output, new_running_mean, new_running_var)``; the new statistics are None when not updated."""
    xs = _shape(x)
    if len(xs) < 2:
        raise ValueError(f"batch_norm: expected input with at least 2 dimensions (N, C, ...), got shape {xs}")
    c = xs[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        if t is not None and _shape(t) != (c,):
            raise ValueError(f"batch_norm: {name} of shape {_shape(t)} does not match the {c} channels of the input "
                             f"of shape {xs}")
    axes = (0,) + tuple(range(2, len(xs)))
    new_mean = new_var = None
    if training:
        n = xs[0] * int(np.prod(xs[2:], dtype=np.int64))
        if n <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size {xs}")
        y = NN.batch_norm_train(x, axes, eps)
        if running_mean is not None and running_var is not None:
            new_mean, new_var = _batch_stats_update(x, axes, running_mean, running_var, momentum, n)
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: running_mean and running_var are required when not training")
        y = (x - _channel_shape(x, running_mean)) * _channel_shape(x, E.reciprocal(E.sqrt(running_var + eps)))
    if weight is not None:
        y = y * _channel_shape(x, weight)
    if bias is not None:
        y = y + _channel_shape(x, bias)
    return y, new_mean, new_var


def _assign_inplace(target, value):
    """Write a new running statistic into ``target`` in place (a Tensor or a NumPy array)."""
    value = concrete(value.data if isinstance(value, Tensor) else value)
    while isinstance(value, Tensor):
        value = value.data
    if isinstance(target, Tensor):
        target.data = np.asarray(value, dtype=target.dtype)
        target._version += 1
    elif isinstance(target, np.ndarray):
        target[...] = value
    else:
        raise TypeError(f"batch_norm: cannot update running statistics of type {type(target).__name__} in place")


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """Normalise each channel of ``(N, C, ...)``: with batch statistics when ``training`` (and then update
    ``running_mean``/``running_var`` in place: ``(1 - momentum) * running + momentum * batch``, the variance
    unbiased), else with the running statistics.

    >>> import numpy as np
    >>> x = np.array([[1.0], [3.0]])
    >>> rm, rv = np.zeros(1), np.ones(1)
    >>> bool(np.allclose(batch_norm(x, rm, rv, training=True), [[-1.0], [1.0]], atol=1e-4)), rm.tolist()
    (True, [0.2])
    """
    x = _op(input)
    y, new_mean, new_var = _batch_norm(x, running_mean, running_var, None if weight is None else _op(weight),
                                       None if bias is None else _op(bias), training, momentum, eps)
    if new_mean is not None:
        _assign_inplace(running_mean, new_mean)
        _assign_inplace(running_var, new_var)
    return y


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,
                  momentum=0.1, eps=1e-5):
    """Normalise each (sample, channel) slice of ``(N, C, *S)`` over its spatial axes.

    >>> import numpy as np
    >>> bool(np.allclose(instance_norm(np.array([[[1.0, 3.0]]])), [[[-1.0, 1.0]]], atol=1e-4))
    True
    """
    x = _op(input)
    xs = _shape(x)
    if not use_input_stats:
        return batch_norm(x, running_mean, running_var, weight, bias, False, momentum, eps)
    axes = tuple(range(2, len(xs)))
    y = NN.batch_norm_train(x, axes, eps)
    if running_mean is not None and running_var is not None:
        n = int(np.prod(xs[2:], dtype=np.int64))
        xs_ = E.stop_gradient(x)
        mean = R.mean(R.mean(xs_, axis=axes), axis=0)
        var = R.mean(R.var(xs_, axis=axes), axis=0) * (n / max(n - 1, 1))
        _assign_inplace(running_mean, running_mean * (1 - momentum) + mean * momentum)
        _assign_inplace(running_var, running_var * (1 - momentum) + var * momentum)
    if weight is not None:
        y = y * _channel_shape(x, _op(weight))
    if bias is not None:
        y = y + _channel_shape(x, _op(bias))
    return y


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalise ``(N, C, *S)`` over groups of ``C / num_groups`` channels (and all spatial positions), then
    scale and shift per channel.

    >>> import numpy as np
    >>> group_norm(np.arange(8.0).reshape(1, 4, 2), 2).shape
    (1, 4, 2)
    """
    x = _op(input)
    xs = _shape(x)
    if len(xs) < 2:
        raise ValueError(f"group_norm: expected input (N, C, ...), got shape {xs}")
    n, c = xs[0], xs[1]
    if c % num_groups:
        raise ValueError(f"group_norm: the number of channels {c} must be divisible by num_groups={num_groups}")
    g = S.reshape(x, (n, num_groups, -1))
    y = S.reshape(NN.layer_norm(g, 1, None, None, eps), xs)
    if weight is not None:
        y = y * _channel_shape(x, _op(weight))
    if bias is not None:
        y = y + _channel_shape(x, _op(bias))
    return y


def normalize(input, p=2.0, dim=1, eps=1e-12):
    """``x / max(||x||_p, eps)`` along ``dim``.

    >>> import numpy as np
    >>> normalize(np.array([[3.0, 4.0]])).tolist()
    [[0.6, 0.8]]
    """
    x = _op(input)
    return x / _norm(x, p, dim, eps, keepdims=True)


def _norm(x, p, dim, eps, keepdims):
    """``max(||x||_p, eps)`` along ``dim``, with a finite gradient at 0 (the clamp happens under the root)."""
    if p == 2:
        return E.sqrt(E.maximum(R.sum(x * x, axis=dim, keepdims=keepdims), eps * eps))
    s = R.sum(E.abs(x) ** p, axis=dim, keepdims=keepdims)
    return E.maximum(s, eps ** p) ** (1.0 / p)


# Losses live in _losses.py (re-exported here, at the end, because they use the helpers above).
from ._losses import *  # noqa: E402,F401,F403
