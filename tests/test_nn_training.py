"""Training actually learns: small models fit small synthetic tasks, trained PyTorch style (``loss.backward()`` and a
hand-written SGD step under ``no_grad``) and JAX style (``value_and_grad`` of a loss of the model, and a
``tree_map`` update of the whole model)."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F


def sgd_step(model, lr):
    """A tiny SGD optimizer (chainrule.optim is tested on its own)."""
    with cr.no_grad():
        for p in model.parameters():
            p -= lr * p.grad
            p.grad = None


def train_torch_style(model, loss_of, steps, lr):
    losses = []
    for _ in range(steps):
        loss = loss_of(model)
        loss.backward()
        sgd_step(model, lr)
        losses.append(loss.item())
    return losses


def as_arrays(model):
    """The same model holding plain NumPy arrays (the natural state for JAX-style training)."""
    return cr.tree_map(lambda p: np.array(p.data), model)


def train_jax_style(model, loss_of, steps, lr):
    value_and_grad = cr.value_and_grad(loss_of)
    losses = []
    for _ in range(steps):
        loss, grads = value_and_grad(model)
        assert type(grads) is type(model)
        model = cr.tree_map(lambda p, g: p - lr * g, model, grads)
        losses.append(float(loss))
    return model, losses


def blobs(n_per_class=100, seed=0):
    rng = np.random.default_rng(seed)
    centers = np.array([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])
    x = np.concatenate([c + 0.6 * rng.standard_normal((n_per_class, 2)) for c in centers]).astype(np.float32)
    y = np.repeat(np.arange(3), n_per_class)
    return x, y


def test_mlp_fits_synthetic_classification():
    cr.manual_seed(0)
    x, y = blobs()
    model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 3))
    xt, yt = cr.tensor(x), cr.tensor(y)
    losses = train_torch_style(model, lambda m: F.cross_entropy(m(xt), yt), steps=150, lr=0.3)
    with cr.no_grad():
        acc = (model(xt).numpy().argmax(1) == y).mean()
    assert acc > 0.95, (acc, losses[-1])
    assert losses[-1] < 0.5 * losses[0]


def test_mlp_fits_jax_style():
    cr.manual_seed(0)
    x, y = blobs(seed=1)
    model = as_arrays(nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 3)))
    model, losses = train_jax_style(model, lambda m: F.cross_entropy(m(x), y), steps=150, lr=0.3)
    assert (np.asarray(model(x)).argmax(1) == y).mean() > 0.95


def bars(n=64, seed=0):
    """8x8 images with a horizontal (class 0) or vertical (class 1) bar, plus noise."""
    rng = np.random.default_rng(seed)
    x = 0.3 * rng.standard_normal((n, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 2, n)
    pos = rng.integers(1, 7, n)
    for i in range(n):
        if y[i] == 0:
            x[i, 0, pos[i], 1:7] += 1.0
        else:
            x[i, 0, 1:7, pos[i]] += 1.0
    return x, y


def small_cnn():
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 8, 3, padding=1),
                         nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 2))


@pytest.mark.parametrize("style", ["torch", "jax"])
def test_cnn_learns(style):
    cr.manual_seed(1)
    x, y = bars()
    model = small_cnn()
    if style == "torch":
        xt, yt = cr.tensor(x), cr.tensor(y)
        losses = train_torch_style(model, lambda m: F.cross_entropy(m(xt), yt), steps=100, lr=0.5)
    else:
        _, losses = train_jax_style(as_arrays(model), lambda m: F.cross_entropy(m(x), y), steps=100, lr=0.5)
    assert losses[-1] < 0.5 * losses[0], (losses[0], losses[-1])


class SeqRegressor(nn.Module):
    """LSTM over the sequence, a linear head on the last hidden state."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(2, 16, batch_first=True)
        self.head = nn.Linear(16, 1)

    def forward(self, x):
        out, (h, c) = self.lstm(x)
        return self.head(h[0])


def sums(n=32, t=6, seed=0):
    """Target: the sum over time of the first feature minus the second."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, t, 2)).astype(np.float32)
    return x, (x[:, :, 0] - x[:, :, 1]).sum(1, keepdims=True) / 2


@pytest.mark.parametrize("style", ["torch", "jax"])
def test_lstm_learns(style):
    cr.manual_seed(2)
    x, y = sums()
    model = SeqRegressor()
    if style == "torch":
        xt, yt = cr.tensor(x), cr.tensor(y)
        losses = train_torch_style(model, lambda m: F.mse_loss(m(xt), yt), steps=60, lr=0.3)
    else:
        _, losses = train_jax_style(as_arrays(model), lambda m: F.mse_loss(m(x), y), steps=60, lr=0.3)
    assert losses[-1] < 0.5 * losses[0], (losses[0], losses[-1])


class TinyTransformer(nn.Module):
    """Token embedding, one encoder layer, a per-token linear head."""

    def __init__(self, vocab=6, d=16):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.pos = nn.Parameter(cr.randn(1, 5, d) * 0.1)
        self.layer = nn.TransformerEncoderLayer(d, 2, 32, dropout=0.0, batch_first=True)
        self.head = nn.Linear(d, vocab)

    def forward(self, tokens):
        return self.head(self.layer(self.embed(tokens) + self.pos))


def first_token_task(n=32, seed=0):
    """Every position must predict the sequence's first token (information has to flow through attention)."""
    rng = np.random.default_rng(seed)
    tokens = rng.integers(0, 6, (n, 5))
    return tokens, np.repeat(tokens[:, :1], 5, axis=1)


@pytest.mark.parametrize("style", ["torch", "jax"])
def test_transformer_learns(style):
    cr.manual_seed(3)
    tokens, target = first_token_task()
    model = TinyTransformer()

    def loss_of(m):
        logits = m(tokens)                                  # (N, T, vocab)
        return F.cross_entropy(logits.transpose(0, 2, 1) if style == "jax" else logits.permute(0, 2, 1), target)

    if style == "torch":
        losses = train_torch_style(model, loss_of, steps=60, lr=0.3)
    else:
        _, losses = train_jax_style(as_arrays(model), loss_of, steps=60, lr=0.3)
    assert losses[-1] < 0.5 * losses[0], (losses[0], losses[-1])


def test_both_styles_follow_the_same_trajectory():
    """One engine under both faces: from the same parameters, PyTorch-style and JAX-style SGD agree step by step."""
    x, y = bars(16, seed=3)
    cr.manual_seed(6)
    model = small_cnn()
    start = as_arrays(model)
    xt, yt = cr.tensor(x), cr.tensor(y)
    torch_losses = train_torch_style(model, lambda m: F.cross_entropy(m(xt), yt), steps=5, lr=0.5)
    final, jax_losses = train_jax_style(start, lambda m: F.cross_entropy(m(x), y), steps=5, lr=0.5)
    np.testing.assert_allclose(torch_losses, jax_losses, rtol=1e-5)
    for (name, p), q in zip(model.named_parameters(), cr.tree_leaves(final)):
        np.testing.assert_allclose(p.detach().numpy(), q, rtol=1e-4, atol=1e-6, err_msg=name)


def test_batchnorm_and_dropout_model_trains_and_evaluates():
    cr.manual_seed(4)
    x, y = blobs(50, seed=2)
    model = nn.Sequential(nn.Linear(2, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 3))
    xt, yt = cr.tensor(x), cr.tensor(y)
    losses = train_torch_style(model, lambda m: F.cross_entropy(m(xt), yt), steps=80, lr=0.3)
    assert losses[-1] < 0.5 * losses[0]
    assert model[1].num_batches_tracked.item() == 80
    model.eval()
    with cr.no_grad():
        assert (model(xt).numpy().argmax(1) == y).mean() > 0.9


def test_jax_style_step_does_not_chain_graphs():
    """A JAX-style loop on a model of arrays keeps plain arrays as leaves (no graph carried between steps)."""
    cr.manual_seed(5)
    model = as_arrays(nn.Linear(3, 1))
    x = np.ones((4, 3), np.float32)
    model, _ = train_jax_style(model, lambda m: (m(x) ** 2).mean(), steps=3, lr=0.1)
    assert all(isinstance(p, np.ndarray) and p.dtype == np.float32 for p in cr.tree_leaves(model))
