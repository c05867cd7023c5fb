"""chainrule.nn.functional: values against independent NumPy references, gradients against finite differences,
numerical stability, vmap, and error messages."""
import itertools
import math

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.testing import check_grads, check_vmap

rng = np.random.default_rng(0)


def rand(*shape):
    return rng.standard_normal(shape)


def away_from_zero(*shape):
    x = rand(*shape)
    return np.where(np.abs(x) < 0.1, 0.5, x)


# ---------------------------------------------------------------------------------------------------------
# Activations
# ---------------------------------------------------------------------------------------------------------

def _erf(x):
    return np.vectorize(math.erf)(x)


ACTIVATIONS = [
    ("relu", lambda x: F.relu(x), lambda x: np.maximum(x, 0)),
    ("relu6", lambda x: F.relu6(x * 4), lambda x: np.clip(x * 4, 0, 6)),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    ("elu", lambda x: F.elu(x, 1.5), lambda x: np.where(x > 0, x, 1.5 * np.expm1(x))),
    ("selu", F.selu, lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(x))),
    ("celu", lambda x: F.celu(x, 2.0), lambda x: np.where(x > 0, x, 2.0 * np.expm1(x / 2.0))),
    ("gelu", F.gelu, lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(2)))),
    ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"),
     lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))),
    ("silu", F.silu, lambda x: x / (1 + np.exp(-x))),
    ("mish", F.mish, lambda x: x * np.tanh(np.log1p(np.exp(x)))),
    ("softplus", lambda x: F.softplus(x, beta=2.0), lambda x: np.log1p(np.exp(2 * x)) / 2),
    ("sigmoid", F.sigmoid, lambda x: 1 / (1 + np.exp(-x))),
    ("tanh", F.tanh, np.tanh),
    ("hardtanh", lambda x: F.hardtanh(x * 3), lambda x: np.clip(x * 3, -1, 1)),
    ("logsigmoid", F.logsigmoid, lambda x: -np.log1p(np.exp(-x))),
    ("softsign", F.softsign, lambda x: x / (1 + np.abs(x))),
    ("softmax", lambda x: F.softmax(x, dim=-1), lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True)),
    ("log_softmax", lambda x: F.log_softmax(x, dim=0),
     lambda x: x - np.log(np.exp(x).sum(0, keepdims=True))),
    ("softmin", lambda x: F.softmin(x, dim=1), lambda x: np.exp(-x) / np.exp(-x).sum(1, keepdims=True)),
]


@pytest.mark.parametrize("name,fn,ref", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation_values_and_gradients(name, fn, ref):
    x = away_from_zero(3, 4)
    np.testing.assert_allclose(fn(x), ref(x), rtol=1e-6, atol=1e-7)
    check_grads(fn, (x,), order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("name,fn,ref", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation_float32_in_float32_out(name, fn, ref):
    x = away_from_zero(3, 4).astype(np.float32)
    y, g = cr.vjp(fn, x)
    assert y.dtype == np.float32
    assert g(np.ones_like(y))[0].dtype == np.float32


def test_activations_on_tensors_record():
    x = cr.tensor([[-1.0, 2.0, 3.0]], requires_grad=True)
    F.softmax(F.gelu(F.leaky_relu(x)), dim=1).sum().backward()
    assert x.grad.shape == (1, 3)


def test_relu_gradient_at_zero_is_zero():
    assert float(cr.grad(lambda x: F.relu(x))(0.0)) == 0.0


def test_softmax_stable_for_huge_logits():
    x = np.array([[1e4, -1e4, 0.0]])
    p = F.softmax(x, dim=1)
    np.testing.assert_allclose(p, [[1.0, 0.0, 0.0]])
    g = cr.grad(lambda x: F.log_softmax(x, dim=1)[0, 1])(x)
    assert np.isfinite(g).all()
    np.testing.assert_allclose(g, [[-1.0, 1.0, 0.0]], atol=1e-12)


def test_softmax_dim_none_warns_and_picks_pytorch_default():
    x = rand(2, 3)
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        y = F.softmax(x)
    np.testing.assert_allclose(np.asarray(y).sum(1), 1.0)


def test_softplus_threshold_is_linear():
    np.testing.assert_allclose(F.softplus(np.array([30.0])), [30.0])


def test_glu():
    x = rand(2, 6)
    np.testing.assert_allclose(F.glu(x), x[:, :3] / (1 + np.exp(-x[:, 3:])))
    with pytest.raises(ValueError, match="glu: halving dimension must be even"):
        F.glu(rand(2, 5))


# ---------------------------------------------------------------------------------------------------------
# Losses
# ---------------------------------------------------------------------------------------------------------

def _np_log_softmax(x, axis=1):
    m = x.max(axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis, keepdims=True))


def _np_cross_entropy(x, t, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """Independent reference: explicit loops over samples (and extra dims) for class-index targets."""
    c = x.shape[1]
    logp = _np_log_softmax(x, 1)
    w = np.ones(c) if weight is None else weight
    xs = np.moveaxis(logp, 1, -1).reshape(-1, c)
    ts = t.reshape(-1)
    losses, wsum = [], 0.0
    for lp, ti in zip(xs, ts):
        if ti == ignore_index:
            losses.append(0.0)
            continue
        nll = -w[ti] * lp[ti]
        smooth = -(w * lp).sum() / c
        losses.append((1 - label_smoothing) * nll + label_smoothing * smooth)
        wsum += w[ti]
    losses = np.array(losses).reshape(t.shape)
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / wsum


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_class_indices(reduction, label_smoothing, weighted):
    x = rand(5, 4)
    t = np.array([0, 3, 1, -100, 2])
    w = np.array([0.5, 1.0, 2.0, 1.5]) if weighted else None
    got = F.cross_entropy(x, t, weight=w, reduction=reduction, label_smoothing=label_smoothing)
    want = _np_cross_entropy(x, t, w, -100, reduction, label_smoothing)
    np.testing.assert_allclose(got, want, rtol=1e-10)
    check_grads(lambda x: F.cross_entropy(x, t, weight=w, reduction=reduction, label_smoothing=label_smoothing),
                (x,), order=2, modes=("fwd", "rev"))


def test_cross_entropy_spatial_layout_and_ignore_index():
    x = rand(2, 3, 4, 5)
    t = rng.integers(0, 3, (2, 4, 5))
    t[0, 1, 2] = 7
    got = F.cross_entropy(x, t, ignore_index=7, reduction="none")
    assert got.shape == (2, 4, 5)
    np.testing.assert_allclose(got, _np_cross_entropy(x, t, ignore_index=7, reduction="none"), rtol=1e-10)
    np.testing.assert_allclose(F.cross_entropy(x, t, ignore_index=7),
                               _np_cross_entropy(x, t, ignore_index=7), rtol=1e-10)
    check_grads(lambda x: F.cross_entropy(x, t, ignore_index=7), (x,), order=1)


def test_cross_entropy_probability_targets():
    x = rand(4, 3)
    p = np.exp(_np_log_softmax(rand(4, 3)))
    want = -(p * _np_log_softmax(x)).sum(1).mean()
    np.testing.assert_allclose(F.cross_entropy(x, p), want, rtol=1e-10)
    smoothed = p * 0.9 + 0.1 / 3
    np.testing.assert_allclose(F.cross_entropy(x, p, label_smoothing=0.1),
                               -(smoothed * _np_log_softmax(x)).sum(1).mean(), rtol=1e-10)
    # differentiable in both arguments
    check_grads(lambda x, p: F.cross_entropy(x, p), (x, p), order=2, modes=("fwd", "rev"))


def test_cross_entropy_unbatched():
    x = rand(4)
    np.testing.assert_allclose(F.cross_entropy(x, np.array(2)), -_np_log_softmax(x[None])[0, 2], rtol=1e-12)


def test_cross_entropy_matches_closed_form_gradient():
    x = rand(3, 5)
    t = np.array([1, 0, 4])
    onehot = np.eye(5)[t]
    p = np.exp(_np_log_softmax(x))
    np.testing.assert_allclose(cr.grad(lambda x: F.cross_entropy(x, t))(x), (p - onehot) / 3, rtol=1e-10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_losses_stable_for_logits_of_magnitude_1e4(dtype):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]], dtype=dtype)
    t = np.array([1, 0])
    for loss in (lambda x: F.cross_entropy(x, t), lambda x: F.cross_entropy(x, t, label_smoothing=0.1),
                 lambda x: F.binary_cross_entropy_with_logits(x, np.ones_like(x)),
                 lambda x: F.binary_cross_entropy_with_logits(x, np.zeros_like(x), pos_weight=np.ones(3) * 2),
                 lambda x: F.soft_margin_loss(x, np.ones_like(x)),
                 lambda x: F.kl_div(F.log_softmax(x, dim=1), np.full(x.shape, 1 / 3), reduction="batchmean"),
                 lambda x: F.softplus(x).sum(), lambda x: F.logsigmoid(x).sum()):
        value, g = cr.value_and_grad(loss)(x)
        assert np.isfinite(value) and np.isfinite(g).all()
        assert g.dtype == dtype
    np.testing.assert_allclose(F.cross_entropy(x, t, reduction="none"), [2e4, 2e4 + np.log(2)], rtol=1e-6)
    np.testing.assert_allclose(F.binary_cross_entropy_with_logits(x[:1], np.ones((1, 3), dtype), reduction="none"),
                               [[0.0, 1e4, np.log(2)]], rtol=1e-6)


def test_cross_entropy_masked_logits():
    x = np.array([[2.0, -np.inf, 1.0]])
    loss, g = cr.value_and_grad(lambda x: F.cross_entropy(x, np.array([0])))(x)
    np.testing.assert_allclose(loss, np.log1p(np.exp(-1.0)))
    assert g[0, 1] == 0 and np.isfinite(g).all()


def test_cross_entropy_errors():
    with pytest.raises(IndexError, match="Target 5 is out of bounds"):
        F.cross_entropy(rand(2, 3), np.array([0, 5]))
    with pytest.raises(ValueError, match="expected target of shape \\(2,\\) for input of shape \\(2, 3\\)"):
        F.cross_entropy(rand(2, 3), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="probability target of shape \\(2, 4\\) must match"):
        F.cross_entropy(rand(2, 3), rand(2, 4))
    with pytest.raises(ValueError, match="banana is not a valid value for reduction"):
        F.cross_entropy(rand(2, 3), np.array([0, 1]), reduction="banana")


def test_nll_loss():
    logp = _np_log_softmax(rand(4, 3))
    t = np.array([2, 0, 1, 1])
    w = np.array([1.0, 2.0, 3.0])
    want = -(w[t] * logp[np.arange(4), t]).sum() / w[t].sum()
    np.testing.assert_allclose(F.nll_loss(logp, t, weight=w), want)
    check_grads(lambda lp: F.nll_loss(lp, t, weight=w), (logp,), order=2)


def test_binary_cross_entropy():
    p = 1 / (1 + np.exp(-rand(3, 4)))
    t = rng.uniform(size=(3, 4))
    w = rng.uniform(size=(4,))
    want = -(w * (t * np.log(p) + (1 - t) * np.log(1 - p)))
    np.testing.assert_allclose(F.binary_cross_entropy(p, t, weight=w, reduction="none"), want)
    np.testing.assert_allclose(F.binary_cross_entropy(p, t), -(t * np.log(p) + (1 - t) * np.log(1 - p)).mean())
    check_grads(lambda p: F.binary_cross_entropy(p, t), (p,), order=2)
    # probabilities of exactly 0 and 1: the logarithms are floored at -100, as in PyTorch
    np.testing.assert_allclose(F.binary_cross_entropy(np.array([0.0, 1.0]), np.array([1.0, 0.0]), reduction="none"),
                               [100.0, 100.0])


def test_binary_cross_entropy_with_logits_and_pos_weight():
    x = rand(3, 4)
    t = rng.uniform(size=(3, 4))
    pw = np.array([1.0, 2.0, 0.5, 3.0])
    sig = 1 / (1 + np.exp(-x))
    want = -(pw * t * np.log(sig) + (1 - t) * np.log(1 - sig))
    np.testing.assert_allclose(F.binary_cross_entropy_with_logits(x, t, pos_weight=pw, reduction="none"), want)
    check_grads(lambda x, t: F.binary_cross_entropy_with_logits(x, t, pos_weight=pw), (x, t), order=2)


REGRESSION = [
    ("mse", lambda a, b, r: F.mse_loss(a, b, reduction=r), lambda d: d ** 2),
    ("l1", lambda a, b, r: F.l1_loss(a, b, reduction=r), np.abs),
    ("smooth_l1", lambda a, b, r: F.smooth_l1_loss(a, b, reduction=r, beta=0.5),
     lambda d: np.where(np.abs(d) < 0.5, 0.5 * d ** 2 / 0.5, np.abs(d) - 0.25)),
    ("huber", lambda a, b, r: F.huber_loss(a, b, reduction=r, delta=0.5),
     lambda d: np.where(np.abs(d) < 0.5, 0.5 * d ** 2, 0.5 * (np.abs(d) - 0.25))),
]


@pytest.mark.parametrize("name,fn,ref", REGRESSION, ids=[r[0] for r in REGRESSION])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_regression_losses(name, fn, ref, reduction):
    a, b = rand(3, 4), rand(3, 4)
    want = ref(a - b)
    want = {"none": want, "sum": want.sum(), "mean": want.mean()}[reduction]
    np.testing.assert_allclose(fn(a, b, reduction), want, rtol=1e-12)
    check_grads(lambda a, b: fn(a, b, reduction), (a, b), order=1 if name != "mse" else 2)


def test_regression_loss_warns_on_broadcasting():
    with pytest.warns(UserWarning, match="different to the input size"):
        F.mse_loss(rand(3, 1), rand(3))


def test_l1_gradient_zero_where_equal():
    assert float(cr.grad(lambda a: F.l1_loss(a, np.array([1.0])))(np.array([1.0]))[0]) == 0.0


def test_hinge_embedding_loss():
    x = rand(6)
    y = np.array([1, -1, 1, -1, -1, 1.0])
    want = np.where(y == 1, x, np.maximum(0, 0.7 - x))
    np.testing.assert_allclose(F.hinge_embedding_loss(x, y, margin=0.7, reduction="none"), want)
    np.testing.assert_allclose(F.hinge_embedding_loss(x, y, margin=0.7), want.mean())


def test_multi_margin_loss():
    x = rand(4, 5)
    t = np.array([0, 4, 2, 2])
    w = rng.uniform(size=5)
    for p in (1, 2):
        want = []
        for xi, ti in zip(x, t):
            terms = [max(0.0, 1.0 - xi[ti] + xi[j]) ** p for j in range(5) if j != ti]
            want.append(w[ti] * sum(terms) / 5)
        np.testing.assert_allclose(F.multi_margin_loss(x, t, p=p, weight=w, reduction="none"), want)
    check_grads(lambda x: F.multi_margin_loss(x, t, p=2), (x,), order=1)


def test_kl_div():
    logq = _np_log_softmax(rand(3, 4))
    p = np.exp(_np_log_softmax(rand(3, 4)))
    p[0, 0] = 0.0
    point = np.where(p > 0, p * (np.log(np.where(p > 0, p, 1)) - logq), 0.0)
    np.testing.assert_allclose(F.kl_div(logq, p, reduction="sum"), point.sum())
    np.testing.assert_allclose(F.kl_div(logq, p, reduction="batchmean"), point.sum() / 3)
    np.testing.assert_allclose(F.kl_div(logq, p), point.mean())
    lp = np.log(np.exp(_np_log_softmax(rand(3, 4))))
    np.testing.assert_allclose(F.kl_div(logq, lp, reduction="none", log_target=True), np.exp(lp) * (lp - logq))
    check_grads(lambda q: F.kl_div(q, p, reduction="batchmean"), (logq,), order=2)


def test_cosine_similarity():
    a, b = rand(3, 5), rand(3, 5)
    want = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    np.testing.assert_allclose(F.cosine_similarity(a, b), want)
    check_grads(lambda a, b: F.cosine_similarity(a, b, dim=1), (a, b), order=2)
    # a zero vector: finite value (0) and gradient
    val, g = cr.value_and_grad(lambda a: F.cosine_similarity(a, b[:1]).sum())(np.zeros((1, 5)))
    assert val == 0 and np.isfinite(g).all()


def test_cosine_embedding_and_margin_ranking():
    a, b = rand(4, 3), rand(4, 3)
    y = np.array([1, -1, 1, -1])
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    np.testing.assert_allclose(F.cosine_embedding_loss(a, b, y, margin=0.1, reduction="none"),
                               np.where(y == 1, 1 - cos, np.maximum(0, cos - 0.1)))
    x1, x2 = rand(4), rand(4)
    np.testing.assert_allclose(F.margin_ranking_loss(x1, x2, y, margin=0.2),
                               np.maximum(0, -y * (x1 - x2) + 0.2).mean())


def test_gaussian_and_poisson_nll():
    x, t, v = rand(5), rand(5), rng.uniform(0.5, 2, 5)
    np.testing.assert_allclose(F.gaussian_nll_loss(x, t, v), (0.5 * (np.log(v) + (x - t) ** 2 / v)).mean())
    np.testing.assert_allclose(F.poisson_nll_loss(x, np.abs(t)), (np.exp(x) - np.abs(t) * x).mean())


# ---------------------------------------------------------------------------------------------------------
# Dropout
# ---------------------------------------------------------------------------------------------------------

def test_dropout_statistics_and_gradient():
    cr.manual_seed(3)
    x = np.ones((200, 50))
    y = np.asarray(F.dropout(x, 0.3))
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.02
    np.testing.assert_allclose(y[kept], 1 / 0.7)
    cr.manual_seed(3)
    g = cr.grad(lambda x: F.dropout(x, 0.3).sum())(x)
    np.testing.assert_allclose(g, y)     # the same mask again: the gradient is the mask / (1 - p)


def test_dropout_identity_modes_and_errors():
    x = rand(4, 4)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    np.testing.assert_array_equal(F.dropout(x, 1.0), np.zeros_like(x))
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got 1.5"):
        F.dropout(x, 1.5)


def test_dropout2d_zeroes_whole_channels():
    cr.manual_seed(0)
    y = np.asarray(F.dropout2d(np.ones((4, 6, 3, 3)), 0.5))
    per_channel = y.reshape(4, 6, 9)
    assert ((per_channel == 0).all(-1) | (per_channel == 2).all(-1)).all()


# ---------------------------------------------------------------------------------------------------------
# Linear, convolution, pooling (against direct NumPy references)
# ---------------------------------------------------------------------------------------------------------

def test_linear():
    x, w, b = rand(2, 3, 4), rand(5, 4), rand(5)
    np.testing.assert_allclose(F.linear(x, w, b), x @ w.T + b)
    check_grads(F.linear, (x, w, b), order=2)
    check_grads(lambda x, w: F.linear(x, w), (rand(4), w), order=1)
    with pytest.raises(ValueError, match=r"linear: input of shape \(2, 3\) and weight of shape \(5, 4\)"):
        F.linear(rand(2, 3), w)


def conv_reference(x, w, b, stride, padding, dilation, groups):
    """Direct definition: a loop over output positions (fine in a test), NCHW, any spatial rank."""
    r = w.ndim - 2
    xp = np.pad(x, ((0, 0), (0, 0)) + tuple(padding))
    k = w.shape[2:]
    out = tuple((n + lo + hi - d * (kk - 1) - 1) // s + 1
                for n, (lo, hi), d, kk, s in zip(x.shape[2:], padding, dilation, k, stride))
    o = w.shape[0]
    cin = x.shape[1] // groups
    y = np.zeros((x.shape[0], o) + out)
    for pos in itertools.product(*[range(n) for n in out]):
        sl = tuple(slice(p * s, p * s + d * (kk - 1) + 1, d) for p, s, d, kk in zip(pos, stride, dilation, k))
        for oc in range(o):
            g = oc // (o // groups)
            patch = xp[(slice(None), slice(g * cin, (g + 1) * cin)) + sl]
            y[(slice(None), oc) + pos] = (patch * w[oc]).reshape(x.shape[0], -1).sum(1)
    if b is not None:
        y += b.reshape((-1,) + (1,) * r)
    return y


CONV2D_CASES = [
    dict(stride=1, padding=0, dilation=1, groups=1),
    dict(stride=2, padding=1, dilation=1, groups=1),
    dict(stride=(1, 2), padding=(2, 1), dilation=(2, 1), groups=2),
    dict(stride=1, padding="same", dilation=2, groups=1),
    dict(stride=3, padding="valid", dilation=1, groups=4),
]


@pytest.mark.parametrize("case", CONV2D_CASES, ids=[str(c) for c in CONV2D_CASES])
def test_conv2d_against_reference(case):
    x, w, b = rand(2, 4, 7, 6), rand(4, 4 // case["groups"], 3, 2), rand(4)
    y = F.conv2d(x, w, b, **case)
    stride = case["stride"] if isinstance(case["stride"], tuple) else (case["stride"],) * 2
    dil = case["dilation"] if isinstance(case["dilation"], tuple) else (case["dilation"],) * 2
    pad = case["padding"]
    if pad == "same":
        pad = tuple(((d * (k - 1)) // 2, d * (k - 1) - (d * (k - 1)) // 2) for d, k in zip(dil, (3, 2)))
    elif pad == "valid":
        pad = ((0, 0), (0, 0))
    else:
        pad = tuple((p, p) for p in (pad if isinstance(pad, tuple) else (pad, pad)))
    np.testing.assert_allclose(y, conv_reference(x, w, b, stride, pad, dil, case["groups"]), rtol=1e-10)
    if case["padding"] == "same":
        assert y.shape[2:] == x.shape[2:]
    check_grads(lambda x, w, b: F.conv2d(x, w, b, **case), (x, w, b), order=2, modes=("fwd", "rev"))


def test_conv2d_gradients_against_closed_form():
    x, w = rand(2, 3, 5, 5), rand(4, 3, 3, 3)
    g = rand(2, 4, 3, 3)
    _, f = cr.vjp(lambda x, w: F.conv2d(x, w), x, w)
    gx, gw = f(g)
    # weight gradient: correlate input with output cotangent; input gradient: full convolution with the kernel.
    want_w = np.zeros_like(w)
    want_x = np.zeros_like(x)
    for i in range(3):
        for j in range(3):
            want_w[:, :, i, j] = np.einsum("nchw,nohw->oc", x[:, :, i:i + 3, j:j + 3], g)
            want_x[:, :, i:i + 3, j:j + 3] += np.einsum("nohw,oc->nchw", g, w[:, :, i, j])
    np.testing.assert_allclose(gw, want_w, rtol=1e-10)
    np.testing.assert_allclose(gx, want_x, rtol=1e-10)


def test_conv1d_and_conv3d():
    x, w, b = rand(2, 3, 9), rand(2, 3, 4), rand(2)
    np.testing.assert_allclose(F.conv1d(x, w, b, stride=2, padding=1, dilation=2),
                               conv_reference(x, w, b, (2,), ((1, 1),), (2,), 1), rtol=1e-10)
    check_grads(lambda x, w: F.conv1d(x, w, stride=2), (x, w), order=2)
    x3, w3 = rand(1, 2, 4, 3, 4), rand(3, 2, 2, 2, 2)
    np.testing.assert_allclose(F.conv3d(x3, w3, padding=1), conv_reference(x3, w3, None, (1,) * 3, ((1, 1),) * 3,
                                                                           (1,) * 3, 1), rtol=1e-10)


def test_conv_unbatched_input():
    x, w = rand(3, 6, 6), rand(2, 3, 3, 3)
    np.testing.assert_allclose(F.conv2d(x, w), F.conv2d(x[None], w)[0])


def test_conv2d_float32_stays_float32():
    x, w, b = rand(2, 3, 6, 6).astype(np.float32), rand(4, 3, 3, 3).astype(np.float32), rand(4).astype(np.float32)
    y, f = cr.vjp(lambda x, w, b: F.conv2d(x, w, b, padding=1), x, w, b)
    assert y.dtype == np.float32
    assert all(c.dtype == np.float32 for c in f(np.ones_like(y)))


def test_conv2d_vmap():
    xs, w = rand(3, 2, 2, 5, 5), rand(3, 2, 3, 3)
    check_vmap(lambda x: F.conv2d(x, w, padding=1), (xs,))
    check_vmap(lambda x, w: F.conv2d(x, w, stride=2), (xs, rand(3, 3, 2, 3, 3)))       # batched weights too
    check_vmap(cr.grad(lambda w, x: (F.conv2d(x, w) ** 2).sum()), (w, xs), in_axes=(None, 0))   # per-example


def test_conv_transpose2d():
    x, w, b = rand(2, 4, 3, 4), rand(4, 3, 3, 2), rand(6)
    y = F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1, groups=2, dilation=1)
    assert y.shape == (2, 6, 6, 7)     # (in - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1
    # the transposed convolution is the adjoint of conv2d in its input: <conv_t(x), z> == <x, conv(z)>
    z = rand(*y.shape)
    lhs = ((np.asarray(y) - b.reshape(-1, 1, 1)) * z).sum()
    conv = F.conv2d(z, w, stride=2, padding=1, groups=2)
    np.testing.assert_allclose(lhs, (x * conv).sum(), rtol=1e-10)
    check_grads(lambda x, w: F.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1, groups=2), (x, w),
                order=2)
    check_grads(lambda x, w: F.conv_transpose1d(x, w, stride=3), (rand(1, 2, 4), rand(2, 3, 2)), order=1)


def test_conv_errors():
    with pytest.raises(ValueError, match=r"conv2d: input of shape \(1, 3, 5, 5\) has 3 channels, but the weight of "
                                         r"shape \(2, 4, 3, 3\) with groups=1 expects 4 channels"):
        F.conv2d(rand(1, 3, 5, 5), rand(2, 4, 3, 3))
    with pytest.raises(ValueError, match=r"conv2d: expected input of shape \(N, C, \*, \*\) with 4 dimensions"):
        F.conv2d(rand(5, 5), rand(2, 1, 3, 3))
    with pytest.raises(ValueError, match="padding='same' is not supported for strided convolutions"):
        F.conv2d(rand(1, 1, 5, 5), rand(1, 1, 3, 3), stride=2, padding="same")
    with pytest.raises(ValueError, match="is smaller than the dilated kernel"):
        F.conv2d(rand(1, 1, 2, 2), rand(1, 1, 3, 3))
    with pytest.raises(ValueError, match="out_channels 3 .* is not divisible by groups=2"):
        F.conv2d(rand(1, 4, 5, 5), rand(3, 2, 3, 3), groups=2)


def pool_reference(x, k, s, p, op, count_include_pad=True):
    """Direct definition over output positions; -inf (max) or zero (avg) padding."""
    fill = -np.inf if op == "max" else 0.0
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=fill)
    valid = np.pad(np.ones(x.shape[2:]), p)
    oh, ow = (x.shape[2] + 2 * p - k) // s + 1, (x.shape[3] + 2 * p - k) // s + 1
    y = np.zeros(x.shape[:2] + (oh, ow))
    for i in range(oh):
        for j in range(ow):
            win = xp[:, :, i * s:i * s + k, j * s:j * s + k]
            if op == "max":
                y[:, :, i, j] = win.max((2, 3))
            else:
                n = k * k if count_include_pad else valid[i * s:i * s + k, j * s:j * s + k].sum()
                y[:, :, i, j] = win.sum((2, 3)) / n
    return y


def max_pool_grad_reference(x, g, k, s, p):
    """The gradient goes to the first maximum (row-major) of each window."""
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=-np.inf)
    gx = np.zeros_like(xp)
    for n, c, i, j in itertools.product(*[range(d) for d in g.shape]):
        win = xp[n, c, i * s:i * s + k, j * s:j * s + k]
        a, b = np.unravel_index(np.argmax(win), win.shape)
        gx[n, c, i * s + a, j * s + b] += g[n, c, i, j]
    return gx[:, :, p:p + x.shape[2], p:p + x.shape[3]]


@pytest.mark.parametrize("k,s,p", [(2, 2, 0), (3, 2, 1), (3, 1, 1), (2, 3, 0)])
def test_max_pool2d_values_and_gradients(k, s, p):
    x = rand(2, 3, 7, 7)
    y = F.max_pool2d(x, k, s, p)
    np.testing.assert_allclose(y, pool_reference(x, k, s, p, "max"))
    g = rand(*y.shape)
    gx = cr.vjp(lambda x: F.max_pool2d(x, k, s, p), x)[1](g)[0]
    np.testing.assert_allclose(gx, max_pool_grad_reference(x, g, k, s, p))
    check_grads(lambda x: F.max_pool2d(x, k, s, p), (x,), order=2)


def test_max_pool_ties_route_to_first_maximum():
    x = np.zeros((1, 1, 2, 4))
    x[0, 0, :, 2:] = 1.0
    g = cr.grad(lambda x: F.max_pool2d(x, 2).sum())(x)
    np.testing.assert_array_equal(g[0, 0], [[1, 0, 1, 0], [0, 0, 0, 0]])


def test_max_pool_channel_major_input():
    # a convolution output is channel-major in memory; pooling follows that layout and must give the same result
    x = np.ascontiguousarray(rand(2, 3, 6, 6).transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    assert x.strides[0] < x.strides[1]
    np.testing.assert_allclose(F.max_pool2d(x, 2), pool_reference(np.ascontiguousarray(x), 2, 2, 0, "max"))
    g = rand(2, 3, 3, 3)
    np.testing.assert_allclose(cr.vjp(lambda x: F.max_pool2d(x, 2), x)[1](g)[0],
                               max_pool_grad_reference(np.ascontiguousarray(x), g, 2, 2, 0))


@pytest.mark.parametrize("k,s,p,cip", [(2, 2, 0, True), (3, 2, 1, True), (3, 2, 1, False), (2, 1, 1, False)])
def test_avg_pool2d(k, s, p, cip):
    x = rand(2, 2, 6, 5)
    np.testing.assert_allclose(F.avg_pool2d(x, k, s, p, count_include_pad=cip),
                               pool_reference(x, k, s, p, "avg", cip), rtol=1e-12)
    check_grads(lambda x: F.avg_pool2d(x, k, s, p, count_include_pad=cip), (x,), order=2)


def test_pool1d_and_ceil_mode():
    x = rand(2, 3, 9)
    np.testing.assert_allclose(F.max_pool1d(x, 3, 2), np.stack([x[..., i:i + 3].max(-1) for i in range(0, 7, 2)], -1))
    np.testing.assert_allclose(F.avg_pool1d(x, 2), (x[..., 0:8:2] + x[..., 1:8:2]) / 2)
    # ceil_mode keeps the partial last window (PyTorch's shape rule)
    assert F.max_pool2d(rand(1, 1, 5, 5), 2, ceil_mode=True).shape == (1, 1, 3, 3)
    check_grads(lambda x: F.max_pool1d(x, 2, ceil_mode=True), (x,), order=1)


def test_pool_vmap():
    xs = rand(3, 2, 2, 6, 6)
    check_vmap(lambda x: F.max_pool2d(x, 3, 2, 1), (xs,))
    check_vmap(lambda x: F.avg_pool2d(x, 2), (xs,))
    check_vmap(cr.grad(lambda x: (F.max_pool2d(x, 2) ** 2).sum()), (xs,))


def test_adaptive_avg_pool2d():
    x = rand(2, 3, 7, 5)
    y = F.adaptive_avg_pool2d(x, (3, 2))
    want = np.zeros((2, 3, 3, 2))
    for i in range(3):
        for j in range(2):
            h0, h1 = (i * 7) // 3, -(-((i + 1) * 7) // 3)
            w0, w1 = (j * 5) // 2, -(-((j + 1) * 5) // 2)
            want[:, :, i, j] = x[:, :, h0:h1, w0:w1].mean((2, 3))
    np.testing.assert_allclose(y, want)
    np.testing.assert_allclose(F.adaptive_avg_pool2d(x, 1), x.mean((2, 3), keepdims=True))
    check_grads(lambda x: F.adaptive_avg_pool2d(x, (3, 2)), (x,), order=2)


# ---------------------------------------------------------------------------------------------------------
# Normalisation
# ---------------------------------------------------------------------------------------------------------

def test_layer_norm():
    x, w, b = rand(3, 4, 5), rand(5), rand(5)
    mu = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True)
    np.testing.assert_allclose(F.layer_norm(x, (5,), w, b, eps=1e-5), (x - mu) / np.sqrt(var + 1e-5) * w + b)
    check_grads(lambda x, w, b: F.layer_norm(x, (5,), w, b), (x, w, b), order=2)
    x2 = rand(2, 3, 4)
    mu2, var2 = x2.mean((1, 2), keepdims=True), x2.var((1, 2), keepdims=True)
    np.testing.assert_allclose(F.layer_norm(x2, (3, 4)), (x2 - mu2) / np.sqrt(var2 + 1e-5))
    with pytest.raises(ValueError, match=r"layer_norm: input of shape \(2, 3, 4\) does not end with "
                                         r"normalized_shape \(3,\)"):
        F.layer_norm(x2, (3,))


def test_batch_norm_training_updates_running_stats_in_place():
    x = rand(6, 3, 2, 2)
    rm, rv = np.zeros(3), np.ones(3)
    w, b = rand(3), rand(3)
    y = F.batch_norm(x, rm, rv, w, b, training=True, momentum=0.1)
    mu = x.mean((0, 2, 3))
    var = x.var((0, 2, 3))
    want = (x - mu[:, None, None]) / np.sqrt(var[:, None, None] + 1e-5) * w[:, None, None] + b[:, None, None]
    np.testing.assert_allclose(y, want)
    np.testing.assert_allclose(rm, 0.1 * mu)
    np.testing.assert_allclose(rv, 0.9 + 0.1 * var * 24 / 23)      # unbiased variance in the running estimate
    y_eval = F.batch_norm(x, rm, rv, w, b, training=False)
    np.testing.assert_allclose(y_eval, (x - rm[:, None, None]) / np.sqrt(rv[:, None, None] + 1e-5)
                               * w[:, None, None] + b[:, None, None])
    check_grads(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), (x, w, b), order=2)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        F.batch_norm(rand(1, 3), None, None, training=True)


def test_group_instance_rms_norm():
    x = rand(2, 4, 3)
    g = x.reshape(2, 2, 6)
    want = ((g - g.mean(-1, keepdims=True)) / np.sqrt(g.var(-1, keepdims=True) + 1e-5)).reshape(2, 4, 3)
    w, b = rand(4), rand(4)
    np.testing.assert_allclose(F.group_norm(x, 2, w, b), want * w[:, None] + b[:, None])
    check_grads(lambda x, w: F.group_norm(x, 2, w), (x, w), order=1)
    inst = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(F.instance_norm(x), inst)
    np.testing.assert_allclose(F.rms_norm(x, (3,), eps=1e-6), x / np.sqrt((x ** 2).mean(-1, keepdims=True) + 1e-6))
    check_grads(lambda x: F.rms_norm(x, (3,), w[:3]), (x,), order=2)


def test_normalize():
    x = rand(3, 4)
    np.testing.assert_allclose(F.normalize(x, dim=1), x / np.linalg.norm(x, axis=1, keepdims=True))
    np.testing.assert_allclose(F.normalize(x, p=1, dim=0), x / np.abs(x).sum(0, keepdims=True))
    check_grads(lambda x: F.normalize(x, dim=1), (x,), order=2)


def test_norm_vmap():
    xs = rand(3, 2, 4, 5)
    check_vmap(lambda x: F.layer_norm(x, (5,)), (xs,))
    check_vmap(cr.grad(lambda x: (F.layer_norm(x, (5,)) ** 3).sum()), (xs,))
    check_vmap(lambda x: F.batch_norm(x, None, None, training=True), (xs,))


# ---------------------------------------------------------------------------------------------------------
# Attention
# ---------------------------------------------------------------------------------------------------------

def sdpa_reference(q, k, v, mask=None, causal=False, scale=None):
    s = q @ np.swapaxes(k, -1, -2) * (1 / np.sqrt(q.shape[-1]) if scale is None else scale)
    if causal:
        mask = np.tril(np.ones(s.shape[-2:], bool))
    if mask is not None:
        s = np.where(mask, s, -np.inf) if mask.dtype == bool else s + mask
    s = s - s.max(-1, keepdims=True)
    a = np.exp(s)
    a /= a.sum(-1, keepdims=True)
    return a @ v


@pytest.mark.parametrize("mask_kind", [None, "bool", "additive", "causal"])
def test_scaled_dot_product_attention(mask_kind):
    q, k, v = rand(2, 3, 4, 6), rand(2, 3, 5, 6), rand(2, 3, 5, 2)
    mask = None
    if mask_kind == "bool":
        mask = rng.uniform(size=(4, 5)) > 0.3
        mask[:, 0] = True
    elif mask_kind == "additive":
        mask = rand(4, 5)
    causal = mask_kind == "causal"
    if causal:
        k, v = k[:, :, :4], v[:, :, :4]
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal)
    np.testing.assert_allclose(out, sdpa_reference(q, k, v, mask, causal), rtol=1e-10)
    check_grads(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal),
                (q, k, v), order=2 if mask_kind is None else 1)


def test_sdpa_scale_and_dropout():
    q, k, v = rand(1, 3, 4), rand(1, 5, 4), rand(1, 5, 2)
    np.testing.assert_allclose(F.scaled_dot_product_attention(q, k, v, scale=0.3),
                               sdpa_reference(q, k, v, scale=0.3), rtol=1e-10)
    cr.manual_seed(1)
    dropped = np.asarray(F.scaled_dot_product_attention(q, k, np.eye(5)[None], dropout_p=0.5))
    assert ((dropped == 0) | (dropped > 0)).all() and (dropped == 0).any()
    with pytest.raises(ValueError, match="explicit attn_mask should not be set when is_causal=True"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((3, 5), bool), is_causal=True)


def test_sdpa_vmap():
    q, k, v = rand(3, 2, 4, 6), rand(3, 2, 5, 6), rand(3, 2, 5, 3)
    check_vmap(F.scaled_dot_product_attention, (q, k, v))


# ---------------------------------------------------------------------------------------------------------
# Embedding, one_hot, pad
# ---------------------------------------------------------------------------------------------------------

def test_embedding_and_padding_idx_gradient():
    w = rand(6, 3)
    idx = np.array([[1, 0, 5], [0, 2, 2]])
    np.testing.assert_array_equal(F.embedding(idx, w), w[idx])
    g = cr.grad(lambda w: (F.embedding(idx, w, padding_idx=0) ** 2).sum())(w)
    want = np.zeros_like(w)
    for i in idx.ravel():
        if i != 0:
            want[i] += 2 * w[i]
    np.testing.assert_allclose(g, want)
    with pytest.raises(IndexError, match="embedding: index out of range"):
        F.embedding(np.array([6]), w)


def test_embedding_max_norm_renormalises_rows():
    w = np.array([[3.0, 4.0], [0.3, 0.4]])
    F.embedding(np.array([0, 1]), w, max_norm=1.0)
    np.testing.assert_allclose(np.linalg.norm(w, axis=1), [1.0, 0.5], rtol=1e-6)


def test_one_hot():
    np.testing.assert_array_equal(F.one_hot(np.array([[0, 2], [1, 1]])), np.eye(3, dtype=np.int64)[[[0, 2], [1, 1]]])
    assert F.one_hot(np.array([1]), 4).dtype == np.int64
    out = F.one_hot(cr.tensor([1, 0]), 2)
    assert isinstance(out, cr.Tensor)
    with pytest.raises(ValueError, match=r"one_hot: class values must be in \[0, 2\)"):
        F.one_hot(np.array([2]), 2)


@pytest.mark.parametrize("mode,np_mode", [("constant", "constant"), ("reflect", "reflect"), ("replicate", "edge"),
                                          ("circular", "wrap")])
def test_pad_modes(mode, np_mode):
    x = rand(1, 2, 4, 5)
    np.testing.assert_allclose(F.pad(x, (1, 2, 2, 1), mode=mode),
                               np.pad(x, ((0, 0), (0, 0), (2, 1), (1, 2)), mode=np_mode))
    check_grads(lambda x: F.pad(x, (1, 2, 2, 1), mode=mode), (x,), order=1)


def test_pad_value_and_negative_crop():
    x = rand(2, 3)
    np.testing.assert_allclose(F.pad(x, (1, 0), value=7.0)[:, 0], 7.0)
    np.testing.assert_allclose(F.pad(x, (-1, 1)), np.pad(x[:, 1:], ((0, 0), (0, 1))))
