"""chainrule.nn layers: output shapes, gradients against finite differences (float64, small sizes), and values and
gradients against independent NumPy references written here (Conv2d, pooling, BatchNorm, LayerNorm, LSTM, GRU,
attention). Where PyTorch is installed, state dicts are also carried over to torch.nn and outputs compared."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.testing import check_grads

rng = np.random.default_rng(0)


def rand(*shape):
    return rng.standard_normal(shape)


def params_of(module):
    """The module's parameters as plain float64 arrays, by name."""
    return {k: np.array(v.data, dtype=np.float64) for k, v in module.named_parameters()}


def run(module, params, *args, **kwargs):
    return nn.functional_call(module, params, args, kwargs)


def fd_grads(fun, arrays, eps=1e-6):
    """Central finite differences of the scalar NumPy function ``fun(arrays)`` with respect to every array."""
    grads = {}
    for name, a in arrays.items():
        g = np.zeros_like(a)
        flat, gflat = a.reshape(-1), g.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + eps
            up = fun(arrays)
            flat[i] = old - eps
            down = fun(arrays)
            flat[i] = old
            gflat[i] = (up - down) / (2 * eps)
        grads[name] = g
    return grads


def grads_of(module, params, x, weights_out, extra=None):
    """Gradients of ``sum(out * weights_out)`` with respect to the input and every parameter."""
    def loss(x, params):
        out = run(module, params, x)
        out = out[0] if isinstance(out, tuple) else out
        return cr.numpy.sum(out * weights_out)
    return cr.grad(loss, argnums=(0, 1))(x, params)


def check_layer(module, x, order=1, modes=("rev",)):
    """Finite-difference check of the layer's derivatives in its input and parameters (float64)."""
    module.double()
    params = params_of(module)

    def f(x, params):
        out = run(module, params, x)
        return out[0] if isinstance(out, tuple) else out
    check_grads(f, (x, params), order=order, modes=modes)
    return f(x, params)


# ---------------------------------------------------------------------------------------------------------
# Shapes and finite-difference gradients, every layer
# ---------------------------------------------------------------------------------------------------------

LAYERS = [
    ("Linear", lambda: nn.Linear(4, 3), (2, 5, 4), (2, 5, 3)),
    ("Linear-nobias", lambda: nn.Linear(4, 3, bias=False), (2, 4), (2, 3)),
    ("Bilinear", None, None, None),
    ("Conv1d", lambda: nn.Conv1d(2, 3, 3, stride=2, padding=1), (2, 2, 7), (2, 3, 4)),
    ("Conv2d", lambda: nn.Conv2d(2, 4, (3, 2), stride=(2, 1), padding=1, dilation=(1, 2)), (2, 2, 6, 5), (2, 4, 3, 5)),
    ("Conv2d-groups-same", lambda: nn.Conv2d(4, 4, 3, padding="same", groups=2, bias=False), (1, 4, 5, 5),
     (1, 4, 5, 5)),
    ("Conv2d-reflect", lambda: nn.Conv2d(2, 2, 3, padding=1, padding_mode="reflect"), (1, 2, 4, 4), (1, 2, 4, 4)),
    ("Conv2d-circular", lambda: nn.Conv2d(2, 2, 3, padding=2, padding_mode="circular"), (1, 2, 4, 4),
     (1, 2, 6, 6)),
    ("Conv3d", lambda: nn.Conv3d(1, 2, 2), (1, 1, 3, 3, 3), (1, 2, 2, 2, 2)),
    ("ConvTranspose1d", lambda: nn.ConvTranspose1d(2, 3, 3, stride=2), (2, 2, 4), (2, 3, 9)),
    ("ConvTranspose2d", lambda: nn.ConvTranspose2d(2, 4, 3, stride=2, padding=1, output_padding=1, groups=2),
     (1, 2, 3, 3), (1, 4, 6, 6)),
    ("MaxPool1d", lambda: nn.MaxPool1d(2), (2, 3, 6), (2, 3, 3)),
    ("MaxPool2d", lambda: nn.MaxPool2d(3, 2, 1), (2, 2, 6, 6), (2, 2, 3, 3)),
    ("AvgPool1d", lambda: nn.AvgPool1d(3, 1), (1, 2, 5), (1, 2, 3)),
    ("AvgPool2d", lambda: nn.AvgPool2d(2, padding=1, count_include_pad=False), (1, 2, 5, 5), (1, 2, 3, 3)),
    ("AdaptiveAvgPool1d", lambda: nn.AdaptiveAvgPool1d(3), (2, 2, 7), (2, 2, 3)),
    ("AdaptiveAvgPool2d", lambda: nn.AdaptiveAvgPool2d((2, 3)), (1, 2, 5, 7), (1, 2, 2, 3)),
    ("AdaptiveMaxPool2d", lambda: nn.AdaptiveMaxPool2d(2), (1, 2, 4, 4), (1, 2, 2, 2)),
    ("BatchNorm1d", lambda: nn.BatchNorm1d(3), (5, 3), (5, 3)),
    ("BatchNorm1d-3d", lambda: nn.BatchNorm1d(3, affine=False), (4, 3, 2), (4, 3, 2)),
    ("BatchNorm2d", lambda: nn.BatchNorm2d(2), (3, 2, 2, 2), (3, 2, 2, 2)),
    ("LayerNorm", lambda: nn.LayerNorm((3, 4)), (2, 3, 4), (2, 3, 4)),
    ("GroupNorm", lambda: nn.GroupNorm(2, 4), (2, 4, 3), (2, 4, 3)),
    ("RMSNorm", lambda: nn.RMSNorm(4), (3, 4), (3, 4)),
    ("InstanceNorm2d", lambda: nn.InstanceNorm2d(2, affine=True), (2, 2, 3, 3), (2, 2, 3, 3)),
    ("Embedding", None, None, None),
    ("RNN", lambda: nn.RNN(3, 4, num_layers=2), (5, 2, 3), (5, 2, 4)),
    ("RNN-relu-bidir", lambda: nn.RNN(3, 2, nonlinearity="relu", bidirectional=True, batch_first=True), (2, 4, 3),
     (2, 4, 4)),
    ("LSTM", lambda: nn.LSTM(3, 4, num_layers=2, bidirectional=True), (4, 2, 3), (4, 2, 8)),
    ("GRU", lambda: nn.GRU(3, 4, num_layers=2, batch_first=True), (2, 4, 3), (2, 4, 4)),
    ("LSTM-unbatched", lambda: nn.LSTM(3, 2), (4, 3), (4, 2)),
    ("RNNCell", lambda: nn.RNNCell(3, 4), (2, 3), (2, 4)),
    ("LSTMCell", lambda: nn.LSTMCell(3, 4), (2, 3), (2, 4)),
    ("GRUCell", lambda: nn.GRUCell(3, 4), (2, 3), (2, 4)),
    ("MultiheadAttention", None, None, None),
    ("TransformerEncoderLayer", lambda: nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True),
     (2, 3, 8), (2, 3, 8)),
    ("TransformerEncoderLayer-normfirst-gelu",
     lambda: nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, norm_first=True, activation="gelu"), (3, 2, 8),
     (3, 2, 8)),
    ("ResidualBlock", lambda: nn.ResidualBlock(2, 3, stride=2), (2, 2, 4, 4), (2, 3, 2, 2)),
    ("Residual", lambda: nn.Residual(nn.Sequential(nn.Linear(3, 3), nn.Tanh()), nn.ReLU()), (2, 3), (2, 3)),
    ("Flatten", lambda: nn.Flatten(), (2, 3, 4), (2, 12)),
    ("Unflatten", lambda: nn.Unflatten(1, (2, 3)), (2, 6), (2, 2, 3)),
    ("Identity", lambda: nn.Identity(3), (2, 3), (2, 3)),
    ("PReLU", lambda: nn.PReLU(3), (2, 3, 4), (2, 3, 4)),
    ("Sequential-MLP", lambda: nn.Sequential(nn.Linear(3, 5), nn.GELU(), nn.Linear(5, 2), nn.LogSoftmax(dim=1)),
     (4, 3), (4, 2)),
]
LAYERS = [case for case in LAYERS if case[1] is not None]

ACTIVATION_MODULES = [nn.ReLU(), nn.ReLU6(), nn.LeakyReLU(0.1), nn.ELU(0.5), nn.SELU(), nn.CELU(), nn.GELU("tanh"),
                      nn.SiLU(), nn.Mish(), nn.Softplus(2.0), nn.Sigmoid(), nn.Tanh(), nn.Hardtanh(), nn.Hardsigmoid(),
                      nn.Hardswish(), nn.LogSigmoid(), nn.Softsign(), nn.Tanhshrink(), nn.Softmax(dim=1),
                      nn.LogSoftmax(dim=1), nn.Softmin(dim=1), nn.GLU(dim=1), nn.Threshold(0.1, -1.0)]


@pytest.mark.parametrize("name,make,in_shape,out_shape", LAYERS, ids=[c[0] for c in LAYERS])
def test_layer_shape_and_gradients(name, make, in_shape, out_shape):
    cr.manual_seed(0)
    module = make()
    x32 = rand(*in_shape).astype(np.float32)
    out = module(cr.tensor(x32))
    out = out[0] if isinstance(out, tuple) else out
    assert out.shape == out_shape
    assert out.dtype == np.float32
    x = rand(*in_shape)
    if "MaxPool" in name:
        x = x + np.arange(x.size).reshape(x.shape) * 0.1   # distinct values: the max is differentiable there
    check_layer(module, x)


@pytest.mark.parametrize("module", ACTIVATION_MODULES, ids=[type(m).__name__ for m in ACTIVATION_MODULES])
def test_activation_modules(module):
    x = rand(2, 4, 3)
    x = np.where(np.abs(x) < 0.2, 0.5, x)
    out = module(x)
    assert out.shape == ((2, 2, 3) if isinstance(module, nn.GLU) else (2, 4, 3))
    check_grads(lambda x: module(x), (x,), order=2)


def test_bilinear_and_embedding_and_mha_shapes():
    cr.manual_seed(0)
    bil = nn.Bilinear(3, 4, 2)
    x1, x2 = rand(5, 3), rand(5, 4)
    out = bil(x1, x2).detach()
    np.testing.assert_allclose(out, np.einsum("ni,kij,nj->nk", x1, bil.weight.data, x2) + bil.bias.data, rtol=1e-6)
    emb = nn.Embedding(7, 3, padding_idx=2)
    assert (emb.weight.data[2] == 0).all()
    assert emb(np.array([[1, 2], [3, 6]])).shape == (2, 2, 3)
    emb.double()
    g = cr.grad(lambda p: (run(emb, p, np.array([2, 2, 4])) ** 2).sum())(params_of(emb))["weight"]
    assert (g[2] == 0).all() and (g[4] != 0).all()
    mha = nn.MultiheadAttention(6, 3, kdim=4, vdim=5)
    out, w = mha(cr.randn(2, 3, 6), cr.randn(4, 3, 4), cr.randn(4, 3, 5))
    assert out.shape == (2, 3, 6) and w.shape == (3, 2, 4)
    assert mha(cr.randn(2, 3, 6), cr.randn(4, 3, 4), cr.randn(4, 3, 5), need_weights=False)[1] is None


def test_decoder_layer_gradients():
    cr.manual_seed(0)
    dec = nn.TransformerDecoderLayer(4, 2, 8, dropout=0.0, batch_first=True).double()
    tgt, mem = rand(2, 3, 4), rand(2, 5, 4)
    assert dec(tgt, mem).shape == (2, 3, 4)
    params = params_of(dec)
    check_grads(lambda t, m, p: run(dec, p, t, m, tgt_is_causal=True), (tgt, mem, params), order=1, modes=("rev",))


def test_embedding_from_pretrained_is_frozen():
    emb = nn.Embedding.from_pretrained(np.eye(3, dtype=np.float32))
    assert not emb.weight.requires_grad
    np.testing.assert_array_equal(emb(np.array([1])).numpy(), [[0, 1, 0]])


def test_dropout_layer_modes():
    cr.manual_seed(0)
    d = nn.Dropout(0.5)
    x = cr.ones(1000)
    y = d(x)
    assert 400 < int((y.numpy() == 0).sum()) < 600
    d.eval()
    np.testing.assert_array_equal(d(x).numpy(), x.numpy())


def test_layer_errors():
    with pytest.raises(ValueError, match="BatchNorm2d: expected 4D input \\(got 3D input of shape \\(2, 3, 4\\)\\)"):
        nn.BatchNorm2d(3)(cr.randn(2, 3, 4))
    with pytest.raises(ValueError, match="BatchNorm1d: expected 3 channels .* has 4"):
        nn.BatchNorm1d(3)(cr.randn(2, 4))
    with pytest.raises(ValueError, match="LSTM: input.size\\(-1\\) must be equal to input_size. Expected 3, got 2"):
        nn.LSTM(3, 4)(cr.randn(5, 1, 2))
    with pytest.raises(ValueError, match="embed_dim \\(6\\) must be divisible by num_heads \\(4\\)"):
        nn.MultiheadAttention(6, 4)
    with pytest.raises(ValueError, match="Conv2d: in_channels must be divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        nn.Conv2d(3, 4, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="MultiheadAttention: the shape of the 2D attn_mask is \\(2, 2\\)"):
        nn.MultiheadAttention(4, 2)(cr.randn(3, 1, 4), cr.randn(3, 1, 4), cr.randn(3, 1, 4),
                                    attn_mask=np.zeros((2, 2), bool))


# ---------------------------------------------------------------------------------------------------------
# Independent NumPy references: values and gradients
# ---------------------------------------------------------------------------------------------------------

def np_conv2d(x, w, b, stride, pad):
    """im2col convolution (zero padding, square stride)."""
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    n, c, h, wd = xp.shape
    o, _, kh, kw = w.shape
    oh, ow = (h - kh) // stride + 1, (wd - kw) // stride + 1
    cols = np.empty((n, oh, ow, c, kh, kw))
    for i in range(oh):
        for j in range(ow):
            cols[:, i, j] = xp[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
    y = cols.reshape(n, oh, ow, -1) @ w.reshape(o, -1).T + b
    return y.transpose(0, 3, 1, 2), cols


def np_conv2d_backward(g, x, w, cols, stride, pad):
    n, o, oh, ow = g.shape
    gm = g.transpose(0, 2, 3, 1).reshape(-1, o)
    gw = (gm.T @ cols.reshape(gm.shape[0], -1)).reshape(w.shape)
    gb = g.sum((0, 2, 3))
    dcols = (gm @ w.reshape(o, -1)).reshape(cols.shape)
    kh, kw = w.shape[2:]
    gxp = np.zeros((x.shape[0], x.shape[1], x.shape[2] + 2 * pad, x.shape[3] + 2 * pad))
    for i in range(oh):
        for j in range(ow):
            gxp[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw] += dcols[:, i, j]
    return gxp[:, :, pad:pad + x.shape[2], pad:pad + x.shape[3]], gw, gb


def test_conv2d_matches_numpy_reference():
    cr.manual_seed(1)
    conv = nn.Conv2d(3, 4, 3, stride=2, padding=1).double()
    p = params_of(conv)
    x = rand(2, 3, 7, 6)
    want, cols = np_conv2d(x, p["weight"], p["bias"], 2, 1)
    np.testing.assert_allclose(run(conv, p, x), want, rtol=1e-10)
    g = rand(*want.shape)
    gx, gp = grads_of(conv, p, x, g)
    wx, ww, wb = np_conv2d_backward(g, x, p["weight"], cols, 2, 1)
    np.testing.assert_allclose(gx, wx, rtol=1e-10)
    np.testing.assert_allclose(gp["weight"], ww, rtol=1e-10)
    np.testing.assert_allclose(gp["bias"], wb, rtol=1e-10)


def test_conv2d_tensor_face_backward_matches_reference():
    cr.manual_seed(2)
    conv = nn.Conv2d(2, 3, 3, padding=1)
    x = rand(2, 2, 5, 5).astype(np.float32)
    xt = cr.tensor(x, requires_grad=True)
    g = rand(2, 3, 5, 5).astype(np.float32)
    (conv(xt) * cr.tensor(g)).sum().backward()
    w, b = conv.weight.data.astype(np.float64), conv.bias.data.astype(np.float64)
    want, cols = np_conv2d(x.astype(np.float64), w, b, 1, 1)
    wx, ww, wb = np_conv2d_backward(g.astype(np.float64), x, w, cols, 1, 1)
    np.testing.assert_allclose(xt.grad.numpy(), wx, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(conv.weight.grad.numpy(), ww, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(conv.bias.grad.numpy(), wb, rtol=1e-4, atol=1e-4)
    assert conv.weight.grad.dtype == np.float32


def np_max_pool(x, k, s):
    n, c, h, w = x.shape
    oh, ow = (h - k) // s + 1, (w - k) // s + 1
    y = np.empty((n, c, oh, ow))
    arg = np.empty((n, c, oh, ow), dtype=int)
    for i in range(oh):
        for j in range(ow):
            win = x[:, :, i * s:i * s + k, j * s:j * s + k].reshape(n, c, -1)
            y[:, :, i, j] = win.max(-1)
            arg[:, :, i, j] = win.argmax(-1)
    return y, arg


def test_pooling_matches_numpy_reference():
    x = rand(2, 3, 7, 7)
    pool = nn.MaxPool2d(3, stride=2)
    y, arg = np_max_pool(x, 3, 2)
    np.testing.assert_allclose(pool(x), y)
    g = rand(*y.shape)
    gx = cr.vjp(pool, x)[1](g)[0]
    want = np.zeros_like(x)
    for n in range(2):
        for c in range(3):
            for i in range(3):
                for j in range(3):
                    a, b = divmod(arg[n, c, i, j], 3)
                    want[n, c, i * 2 + a, j * 2 + b] += g[n, c, i, j]
    np.testing.assert_allclose(gx, want)
    avg = nn.AvgPool2d(2)
    ya = (x[:, :, 0:6:2, 0:6:2] + x[:, :, 1:6:2, 0:6:2] + x[:, :, 0:6:2, 1:6:2] + x[:, :, 1:6:2, 1:6:2]) / 4
    np.testing.assert_allclose(avg(x), ya)
    ga = cr.vjp(avg, x)[1](np.ones_like(ya))[0]
    want_a = np.zeros_like(x)
    want_a[:, :, :6, :6] = 0.25
    np.testing.assert_allclose(ga, want_a)


def np_batch_norm_train(x, w, b, eps):
    axes = (0, 2, 3)
    mu = x.mean(axes, keepdims=True)
    var = x.var(axes, keepdims=True)
    xh = (x - mu) / np.sqrt(var + eps)
    return xh * w[:, None, None] + b[:, None, None], xh, var


def test_batch_norm_matches_numpy_reference():
    cr.manual_seed(3)
    bn = nn.BatchNorm2d(3, momentum=0.2).double()
    bn.weight.data = rand(3)
    bn.bias.data = rand(3)
    p = params_of(bn)
    x = rand(4, 3, 2, 3)
    want, xh, var = np_batch_norm_train(x, p["weight"], p["bias"], 1e-5)
    g = rand(*x.shape)
    gx, gp = grads_of(bn, p, x, g)      # one training-mode call: updates the running statistics
    bn_check = nn.BatchNorm2d(3).double()
    np.testing.assert_allclose(run(bn_check, p, x), want, rtol=1e-10)
    m = 4 * 2 * 3
    gxh = g * p["weight"][:, None, None]
    axes = (0, 2, 3)
    want_gx = (gxh - gxh.mean(axes, keepdims=True) - xh * (gxh * xh).mean(axes, keepdims=True)) / np.sqrt(var + 1e-5)
    np.testing.assert_allclose(gx, want_gx, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(gp["weight"], (g * xh).sum(axes), rtol=1e-10)
    np.testing.assert_allclose(gp["bias"], g.sum(axes), rtol=1e-10)
    # running statistics: momentum update with the unbiased variance; then eval mode uses them
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.2 * x.mean(axes), rtol=1e-10)
    np.testing.assert_allclose(bn.running_var.numpy(), 0.8 + 0.2 * x.var(axes) * m / (m - 1), rtol=1e-10)
    assert bn.num_batches_tracked.item() == 1
    bn.eval()
    rm, rv = bn.running_mean.numpy(), bn.running_var.numpy()
    np.testing.assert_allclose(run(bn, p, x), (x - rm[:, None, None]) / np.sqrt(rv[:, None, None] + 1e-5)
                               * p["weight"][:, None, None] + p["bias"][:, None, None], rtol=1e-10)
    assert bn.num_batches_tracked.item() == 1


def test_batch_norm_cumulative_average_when_momentum_is_none():
    bn = nn.BatchNorm1d(2, momentum=None).double()
    xs = [rand(5, 2) for _ in range(3)]
    for x in xs:
        bn(x)
    np.testing.assert_allclose(bn.running_mean.numpy(), np.mean([x.mean(0) for x in xs], axis=0), rtol=1e-10)


def test_batch_norm_under_grad_leaves_caller_model_unchanged():
    bn = nn.BatchNorm1d(2).double()
    x = rand(6, 2)
    cr.grad(lambda m: (m(x) ** 2).sum())(bn)
    np.testing.assert_array_equal(bn.running_mean.numpy(), [0.0, 0.0])


def test_layer_norm_matches_numpy_reference():
    cr.manual_seed(4)
    ln = nn.LayerNorm(5).double()
    ln.weight.data, ln.bias.data = rand(5), rand(5)
    p = params_of(ln)
    x = rand(2, 3, 5)
    mu, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    xh = (x - mu) / np.sqrt(var + 1e-5)
    np.testing.assert_allclose(run(ln, p, x), xh * p["weight"] + p["bias"], rtol=1e-10)
    g = rand(*x.shape)
    gx, gp = grads_of(ln, p, x, g)
    gxh = g * p["weight"]
    want = (gxh - gxh.mean(-1, keepdims=True) - xh * (gxh * xh).mean(-1, keepdims=True)) / np.sqrt(var + 1e-5)
    np.testing.assert_allclose(gx, want, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(gp["weight"], (g * xh).sum((0, 1)), rtol=1e-10)
    np.testing.assert_allclose(gp["bias"], g.sum((0, 1)), rtol=1e-10)


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def np_lstm(x, p, layers, hidden):
    """Multi-layer LSTM (L, N, in), PyTorch's gate order (i, f, g, o); returns (output, h_n, c_n)."""
    inp = x
    hs, cs = [], []
    for layer in range(layers):
        w_ih, w_hh = p[f"weight_ih_l{layer}"], p[f"weight_hh_l{layer}"]
        b = p[f"bias_ih_l{layer}"] + p[f"bias_hh_l{layer}"]
        h = np.zeros((x.shape[1], hidden))
        c = np.zeros_like(h)
        outs = []
        for t in range(x.shape[0]):
            z = inp[t] @ w_ih.T + h @ w_hh.T + b
            i, f, gg, o = np.split(z, 4, axis=1)
            c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(gg)
            h = _sigmoid(o) * np.tanh(c)
            outs.append(h)
        inp = np.stack(outs)
        hs.append(h)
        cs.append(c)
    return inp, np.stack(hs), np.stack(cs)


def np_gru(x, p, layers, hidden, h0):
    """Multi-layer GRU (L, N, in), PyTorch's gate order (r, z, n)."""
    inp = x
    hs = []
    for layer in range(layers):
        w_ih, w_hh = p[f"weight_ih_l{layer}"], p[f"weight_hh_l{layer}"]
        b_ih, b_hh = p[f"bias_ih_l{layer}"], p[f"bias_hh_l{layer}"]
        h = h0[layer]
        outs = []
        for t in range(x.shape[0]):
            gi = inp[t] @ w_ih.T + b_ih
            gh = h @ w_hh.T + b_hh
            ir, iz, in_ = np.split(gi, 3, axis=1)
            hr, hz, hn = np.split(gh, 3, axis=1)
            r, z = _sigmoid(ir + hr), _sigmoid(iz + hz)
            n = np.tanh(in_ + r * hn)
            h = (1 - z) * n + z * h
            outs.append(h)
        inp = np.stack(outs)
        hs.append(h)
    return inp, np.stack(hs)


def test_lstm_matches_numpy_reference():
    cr.manual_seed(5)
    lstm = nn.LSTM(3, 4, num_layers=2).double()
    p = params_of(lstm)
    x = rand(5, 2, 3)
    out, (h, c) = run(lstm, p, x)
    want, wh, wc = np_lstm(x, p, 2, 4)
    np.testing.assert_allclose(out, want, rtol=1e-10)
    np.testing.assert_allclose(h, wh, rtol=1e-10)
    np.testing.assert_allclose(c, wc, rtol=1e-10)
    r_out, r_h, r_c = rand(*want.shape), rand(*wh.shape), rand(*wc.shape)

    def loss_np(arrays):
        o, hh, cc = np_lstm(arrays["x"], arrays, 2, 4)
        return (o * r_out).sum() + (hh * r_h).sum() + (cc * r_c).sum()

    def loss_cr(x, params):
        o, (hh, cc) = run(lstm, params, x)
        return cr.numpy.sum(o * r_out) + cr.numpy.sum(hh * r_h) + cr.numpy.sum(cc * r_c)

    gx, gp = cr.grad(loss_cr, argnums=(0, 1))(x, p)
    want_g = fd_grads(loss_np, dict(p, x=x.copy()))
    np.testing.assert_allclose(gx, want_g["x"], rtol=1e-6, atol=1e-8)
    for k in p:
        np.testing.assert_allclose(gp[k], want_g[k], rtol=1e-6, atol=1e-8, err_msg=k)


def test_gru_matches_numpy_reference():
    cr.manual_seed(6)
    gru = nn.GRU(3, 4, num_layers=2, batch_first=True).double()
    p = params_of(gru)
    x = rand(2, 4, 3)                       # batch first
    h0 = rand(2, 2, 4)
    out, h = run(gru, p, x, h0)
    want, wh = np_gru(x.transpose(1, 0, 2), p, 2, 4, h0)
    np.testing.assert_allclose(out, want.transpose(1, 0, 2), rtol=1e-10)
    np.testing.assert_allclose(h, wh, rtol=1e-10)
    r_out, r_h = rand(*out.shape), rand(*h.shape)

    def loss_np(arrays):
        o, hh = np_gru(arrays["x"].transpose(1, 0, 2), arrays, 2, 4, arrays["h0"])
        return (o.transpose(1, 0, 2) * r_out).sum() + (hh * r_h).sum()

    def loss_cr(x, h0, params):
        o, hh = run(gru, params, x, h0)
        return cr.numpy.sum(o * r_out) + cr.numpy.sum(hh * r_h)

    gx, gh0, gp = cr.grad(loss_cr, argnums=(0, 1, 2))(x, h0, p)
    want_g = fd_grads(loss_np, dict(p, x=x.copy(), h0=h0.copy()))
    np.testing.assert_allclose(gx, want_g["x"], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(gh0, want_g["h0"], rtol=1e-6, atol=1e-8)
    for k in p:
        np.testing.assert_allclose(gp[k], want_g[k], rtol=1e-6, atol=1e-8, err_msg=k)


def test_lstm_initial_state_and_parameter_names():
    lstm = nn.LSTM(2, 3, num_layers=2, bidirectional=True)
    assert [n for n, _ in lstm.named_parameters()][:5] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0",
                                                           "bias_hh_l0", "weight_ih_l0_reverse"]
    assert lstm.weight_ih_l1.shape == (12, 6)
    h0, c0 = cr.randn(4, 5, 3), cr.randn(4, 5, 3)
    out, (h, c) = lstm(cr.randn(7, 5, 2), (h0, c0))
    assert out.shape == (7, 5, 6) and h.shape == (4, 5, 3) and c.shape == (4, 5, 3)
    with pytest.raises(ValueError, match="LSTM: expected hidden size \\(4, 5, 3\\), got \\(2, 5, 3\\)"):
        lstm(cr.randn(7, 5, 2), (cr.randn(2, 5, 3), cr.randn(2, 5, 3)))


def np_mha(q_in, k_in, v_in, p, heads, mask=None):
    """Multi-head attention, (L, N, E) layout, PyTorch's packed in-projection."""
    e = q_in.shape[-1]
    w, b = p["in_proj_weight"], p["in_proj_bias"]
    q = q_in @ w[:e].T + b[:e]
    k = k_in @ w[e:2 * e].T + b[e:2 * e]
    v = v_in @ w[2 * e:].T + b[2 * e:]
    lq, n, _ = q.shape
    ls = k.shape[0]
    dh = e // heads

    def split(t, length):
        return t.reshape(length, n, heads, dh).transpose(1, 2, 0, 3)

    q, k, v = split(q, lq), split(k, ls), split(v, ls)
    s = q @ k.transpose(0, 1, 3, 2) / np.sqrt(dh)
    if mask is not None:
        s = np.where(mask, -np.inf, s)
    s = s - s.max(-1, keepdims=True)
    a = np.exp(s)
    a /= a.sum(-1, keepdims=True)
    o = (a @ v).transpose(2, 0, 1, 3).reshape(lq, n, e)
    return o @ p["out_proj.weight"].T + p["out_proj.bias"], a.mean(1)


def test_attention_matches_numpy_reference():
    cr.manual_seed(7)
    mha = nn.MultiheadAttention(6, 2).double()
    p = params_of(mha)
    p["in_proj_bias"] = rand(18)
    p["out_proj.bias"] = rand(6)
    q, k, v = rand(3, 2, 6), rand(4, 2, 6), rand(4, 2, 6)
    mask = np.zeros((3, 4), bool)
    mask[0, 3] = True
    out, w = run(mha, p, q, k, v, attn_mask=mask)
    want, want_w = np_mha(q, k, v, p, 2, mask)
    np.testing.assert_allclose(out, want, rtol=1e-10)
    np.testing.assert_allclose(w, want_w.transpose(0, 1, 2), rtol=1e-10)
    r = rand(*want.shape)

    def loss_np(arrays):
        return (np_mha(arrays["q"], arrays["k"], arrays["v"], arrays, 2, mask)[0] * r).sum()

    def loss_cr(q, k, v, params):
        return cr.numpy.sum(run(mha, params, q, k, v, attn_mask=mask)[0] * r)

    gq, gk, gv, gp = cr.grad(loss_cr, argnums=(0, 1, 2, 3))(q, k, v, p)
    want_g = fd_grads(loss_np, dict(p, q=q.copy(), k=k.copy(), v=v.copy()))
    for got, name in ((gq, "q"), (gk, "k"), (gv, "v")):
        np.testing.assert_allclose(got, want_g[name], rtol=1e-6, atol=1e-8)
    for name in p:
        np.testing.assert_allclose(gp[name], want_g[name], rtol=1e-6, atol=1e-8, err_msg=name)


def test_self_attention_fast_path_matches_general_path():
    cr.manual_seed(8)
    mha = nn.MultiheadAttention(4, 2, batch_first=True).double()
    p = params_of(mha)
    x = rand(2, 5, 4)
    out_self = run(mha, p, x, x, x, is_causal=True)[0]                   # one packed projection
    out_gen = run(mha, p, x, x.copy(), x.copy(), is_causal=True)[0]      # three projections
    np.testing.assert_allclose(out_self, out_gen, rtol=1e-12)
    kp = np.array([[False, False, False, True, True], [False] * 5])
    out, w = run(mha, p, x, x, x, key_padding_mask=kp)
    assert np.allclose(np.asarray(w)[0, :, 3:], 0)


# ---------------------------------------------------------------------------------------------------------
# PyTorch parity (parameters carried over through state dicts)
# ---------------------------------------------------------------------------------------------------------

def _to_torch(module, tmodule, torch):
    sd = {k: torch.tensor(np.asarray(v.data, dtype=np.float64)) for k, v in module.state_dict().items()}
    tmodule.double().load_state_dict(sd)
    return tmodule


PARITY = [
    ("LSTM", lambda: nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True),
     lambda t: t.nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True), (2, 5, 3)),
    ("GRU", lambda: nn.GRU(3, 4, num_layers=2), lambda t: t.nn.GRU(3, 4, num_layers=2), (5, 2, 3)),
    ("RNN", lambda: nn.RNN(3, 4, nonlinearity="relu"), lambda t: t.nn.RNN(3, 4, nonlinearity="relu"), (5, 2, 3)),
    ("Conv2d", lambda: nn.Conv2d(3, 4, 3, stride=2, padding=1, groups=1),
     lambda t: t.nn.Conv2d(3, 4, 3, stride=2, padding=1), (2, 3, 7, 7)),
    ("ConvTranspose2d", lambda: nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1, groups=2),
     lambda t: t.nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1, groups=2), (1, 4, 3, 3)),
    ("TransformerEncoderLayer", lambda: nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True),
     lambda t: t.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True), (2, 5, 8)),
    ("TransformerDecoderLayer", None, None, None),
]
PARITY = [c for c in PARITY if c[1] is not None]


@pytest.mark.parametrize("name,make,make_torch,shape", PARITY, ids=[c[0] for c in PARITY])
def test_pytorch_parity(name, make, make_torch, shape):
    torch = pytest.importorskip("torch")
    cr.manual_seed(9)
    module = make().double()
    tmodule = _to_torch(module, make_torch(torch), torch)
    tmodule.eval()
    x = rand(*shape)
    p = params_of(module)

    def f(x):
        out = run(module, p, x)
        return out[0] if isinstance(out, tuple) else out
    out = f(x)
    xt = torch.tensor(x, requires_grad=True)
    tout = tmodule(xt)
    tout = tout[0] if isinstance(tout, tuple) else tout
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=1e-9, atol=1e-10)
    r = rand(*tout.shape)
    (tout * torch.tensor(r)).sum().backward()
    gx = cr.grad(lambda x: cr.numpy.sum(f(x) * r))(x)
    np.testing.assert_allclose(gx, xt.grad.numpy(), rtol=1e-8, atol=1e-10)


def test_pytorch_parity_batchnorm_and_mha_weights():
    torch = pytest.importorskip("torch")
    cr.manual_seed(10)
    bn = nn.BatchNorm2d(3).double()
    tbn = _to_torch(bn, torch.nn.BatchNorm2d(3), torch)
    x = rand(4, 3, 2, 2)
    np.testing.assert_allclose(run(bn, params_of(bn), x), tbn(torch.tensor(x)).detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(bn.running_var.numpy(), tbn.running_var.numpy(), rtol=1e-12)
    mha = nn.MultiheadAttention(6, 3).double()
    tmha = _to_torch(mha, torch.nn.MultiheadAttention(6, 3), torch)
    q, k = rand(2, 3, 6), rand(4, 3, 6)
    kp = np.array([[False, False, True, False]] * 3)
    out, w = run(mha, params_of(mha), q, k, k, key_padding_mask=kp)
    tout, tw = tmha(torch.tensor(q), torch.tensor(k), torch.tensor(k), key_padding_mask=torch.tensor(kp))
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(w, tw.detach().numpy(), rtol=1e-9, atol=1e-12)


def test_second_order_through_the_tensor_face_matches_the_functional_face():
    """A gradient penalty (the weight gradient of |d loss / d x|^2) through convolution, pooling, GELU, LayerNorm
    and cross entropy: ``autograd.grad(create_graph=True)`` then ``backward`` equals nested ``grad``, which is
    itself checked against finite differences."""
    import chainrule.nn.functional as F
    x, w = rand(2, 2, 5, 5), rand(3, 2, 3, 3)

    def loss(x, w):
        h = F.max_pool2d(F.gelu(F.conv2d(x, w, padding=1)), 2)
        h = F.layer_norm(h, (2,))
        return F.cross_entropy(h.reshape(2, -1)[:, :4], np.array([1, 3]))

    def penalty(x, w):
        return cr.numpy.sum(cr.grad(loss, argnums=0)(x, w) ** 2)

    want = cr.grad(penalty, argnums=1)(x, w)
    check_grads(lambda w: penalty(x, w), (w,), order=1, modes=("rev",))
    xt, wt = cr.tensor(x, requires_grad=True), cr.tensor(w, requires_grad=True)
    gx, = cr.autograd.grad(loss(xt, wt), [xt], create_graph=True)
    (gx ** 2).sum().backward()
    np.testing.assert_allclose(wt.grad.numpy(), want, rtol=1e-10, atol=1e-12)
