"""JAX-style training of a small MLP: parameters as a pytree, ``value_and_grad``, a pure Adam update, ``vmap``.

The data set is three interleaved spirals in the plane (made with NumPy), a classic that a linear model
cannot separate. The model is written for ONE example (a 2-vector in, 3 logits out); ``vmap`` turns it into a
batched model for training and evaluation, with no batch dimension anywhere in its code.

Run with ``python -m chainrule.examples.functional_mlp`` (a few seconds); ``--steps N`` trains longer.

>>> params, history = train(steps=5, seed=0, verbose=False)
>>> sorted(params)
['b0', 'b1', 'b2', 'w0', 'w1', 'w2']
>>> bool(history[-1] < history[0])    # the loss went down
True
"""
import argparse
import time

import numpy as np

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.optim import functional as optim


def make_spirals(n_per_class=100, n_classes=3, noise=0.2, seed=0):
    """``(x, y)``: ``n_classes`` noisy spiral arms in 2-D (``x`` float32 of shape (N, 2), ``y`` int labels).

    >>> x, y = make_spirals(n_per_class=5)
    >>> x.shape, x.dtype, sorted(set(y.tolist()))
    ((15, 2), dtype('float32'), [0, 1, 2])
    """
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for k in range(n_classes):
        r = np.linspace(0.05, 1.0, n_per_class)
        theta = np.linspace(k * 4.0, (k + 1) * 4.0, n_per_class) + noise * rng.standard_normal(n_per_class)
        xs.append(np.stack([r * np.sin(theta), r * np.cos(theta)], axis=1))
        ys.append(np.full(n_per_class, k))
    x = np.concatenate(xs).astype(np.float32)
    y = np.concatenate(ys)
    order = rng.permutation(len(y))
    return x[order], y[order]


def init_params(sizes=(2, 64, 64, 3), seed=0):
    """A dict of float32 arrays ``w0, b0, w1, b1, ...`` (Glorot-uniform weights, zero biases)."""
    rng = np.random.default_rng(seed)
    params = {}
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        bound = np.sqrt(6.0 / (n_in + n_out))
        params[f"w{i}"] = rng.uniform(-bound, bound, (n_in, n_out)).astype(np.float32)
        params[f"b{i}"] = np.zeros(n_out, np.float32)
    return params


def logits_one(params, x):
    """The network on ONE input ``x`` of shape (2,): tanh hidden layers, linear output of shape (n_classes,).

    >>> logits_one(init_params(), np.zeros(2, np.float32))   # zero biases: zero input gives zero logits
    array([0., 0., 0.], dtype=float32)
    """
    n_layers = len(params) // 2
    h = x
    for i in range(n_layers - 1):
        h = cnp.tanh(h @ params[f"w{i}"] + params[f"b{i}"])
    return h @ params[f"w{n_layers - 1}"] + params[f"b{n_layers - 1}"]


# vmap maps the single-example model over a batch: params are shared (None), inputs mapped along axis 0.
batched_logits = cr.vmap(logits_one, in_axes=(None, 0))


def log_softmax(z):
    z = z - cnp.max(z, axis=-1, keepdims=True)
    return z - cnp.log(cnp.sum(cnp.exp(z), axis=-1, keepdims=True))


def loss_fn(params, x, y):
    """Mean cross-entropy of the batch ``(x, y)``."""
    logp = log_softmax(batched_logits(params, x))
    return -cnp.mean(logp[np.arange(len(y)), y])


def accuracy(params, x, y):
    """Fraction of correctly classified examples (evaluated with the vmapped model)."""
    return float(np.mean(np.argmax(batched_logits(params, x), axis=1) == y))


def train(steps=250, lr=0.01, seed=0, verbose=True):
    """Full-batch Adam on the spirals; returns ``(params, loss_history)``."""
    x, y = make_spirals(seed=seed)
    params = init_params(seed=seed)
    opt = optim.adam(lr=lr)
    state = opt.init(params)
    step_fn = cr.value_and_grad(loss_fn)
    history = []
    for step in range(steps):
        loss, grads = step_fn(params, x, y)          # grads: a dict shaped like params
        params, state = opt.update(grads, state, params)
        history.append(float(loss))
        if verbose and (step % 100 == 0 or step == steps - 1):
            print(f"step {step:4d}  loss {float(loss):.4f}  train accuracy {accuracy(params, x, y):.3f}")
    return params, history


def main(argv=None):
    parser = argparse.ArgumentParser(description="Train an MLP on three spirals, JAX style.")
    parser.add_argument("--steps", type=int, default=250)
    parser.add_argument("--lr", type=float, default=0.01)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    params, _ = train(steps=args.steps, lr=args.lr)
    x_test, y_test = make_spirals(seed=1)                # fresh noise: a held-out set
    test_acc = accuracy(params, x_test, y_test)
    print(f"held-out accuracy {test_acc:.3f}  ({time.perf_counter() - t0:.1f} s)")
    print("parameter shapes:", {k: v.shape for k, v in params.items()})
    return test_acc


if __name__ == "__main__":
    main()
