"""Per-example gradients with ``vmap(grad(...))``, and DP-SGD built on them.

Differentially private SGD (Abadi et al., 2016) needs the gradient of every example separately: each one is
clipped to norm at most ``C``, the clipped gradients are summed, Gaussian noise of scale ``sigma * C`` is added
and the result is divided by the batch size. A Python loop of ``grad`` gives per-example gradients one at a
time; ``vmap(grad(loss_one), in_axes=(None, 0, 0))`` gives all of them in one vectorised call. This program
checks that the two agree, times them, and trains a small classifier with DP-SGD.

Run with ``python -m chainrule.examples.per_example_gradients`` (a few seconds).

>>> x, y = make_data(n=8, seed=0)
>>> params = init_params(seed=0)
>>> g = per_example_grads(params, x, y)
>>> g["w1"].shape, g["b2"].shape          # one gradient per example, stacked on a leading axis
((8, 10, 16), (8,))
"""
import argparse
import time

import numpy as np

import chainrule as cr
import chainrule.numpy as cnp

N_FEATURES = 10
N_HIDDEN = 16


def make_data(n=512, seed=0):
    """Binary classification: the label is the sign of a fixed nonlinear function of 10 Gaussian features."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, N_FEATURES))
    score = x[:, 0] + 0.8 * x[:, 1] * x[:, 2] - 0.6 * x[:, 3] + 0.3 * np.sin(3 * x[:, 4])
    return x, (score > 0).astype(np.float64)


def init_params(seed=0):
    rng = np.random.default_rng(seed)
    return {"w1": rng.standard_normal((N_FEATURES, N_HIDDEN)) / np.sqrt(N_FEATURES), "b1": np.zeros(N_HIDDEN),
            "w2": rng.standard_normal(N_HIDDEN) / np.sqrt(N_HIDDEN), "b2": np.zeros(())}


def loss_one(params, x, y):
    """Logistic loss of ONE example: ``x`` of shape (10,), ``y`` a 0/1 scalar."""
    h = cnp.tanh(x @ params["w1"] + params["b1"])
    logit = h @ params["w2"] + params["b2"]
    return cnp.logaddexp(0.0, logit) - y * logit


# All per-example gradients at once: params shared (None), examples mapped along axis 0.
per_example_grads = cr.vmap(cr.grad(loss_one), in_axes=(None, 0, 0))


def per_example_grads_loop(params, x, y):
    """The same thing with a Python loop: one ``grad`` call per example, stacked."""
    g = cr.grad(loss_one)
    grads = [g(params, x[i], y[i]) for i in range(len(y))]
    return {k: np.stack([gi[k] for gi in grads]) for k in params}


def per_example_norms(grads):
    """The Euclidean norm of each example's whole gradient (all parameter leaves together)."""
    return np.sqrt(sum(np.sum(g.reshape(g.shape[0], -1) ** 2, axis=1) for g in cr.tree_leaves(grads)))


def clip_per_example(grads, clip_norm):
    """Scale each example's gradient so its norm is at most ``clip_norm``.

    >>> g = {"w": np.array([[3.0, 4.0], [0.3, 0.4]])}          # two examples, norms 5 and 0.5
    >>> per_example_norms(clip_per_example(g, 1.0))
    array([1. , 0.5])
    """
    norms = per_example_norms(grads)
    factor = np.minimum(1.0, clip_norm / np.maximum(norms, 1e-12))
    return cr.tree_map(lambda g: g * factor.reshape((-1,) + (1,) * (g.ndim - 1)), grads)


def dp_gradient(params, x, y, clip_norm, noise_multiplier, rng):
    """DP-SGD's gradient estimate: clip per example, sum, add N(0, (sigma C)^2) noise, divide by the batch."""
    clipped = clip_per_example(per_example_grads(params, x, y), clip_norm)
    b = len(y)
    if noise_multiplier == 0:
        return cr.tree_map(lambda g: g.sum(0) / b, clipped)
    return cr.tree_map(
        lambda g: (g.sum(0) + noise_multiplier * clip_norm * rng.standard_normal(g.shape[1:])) / b, clipped)


def accuracy(params, x, y):
    logits = np.tanh(x @ params["w1"] + params["b1"]) @ params["w2"] + params["b2"]
    return float(np.mean((logits > 0) == (y > 0.5)))


def train_dp_sgd(steps=300, batch=64, lr=0.5, clip_norm=1.0, noise_multiplier=0.5, seed=0, verbose=True):
    """Train with DP-SGD on minibatches; returns ``(params, test accuracy)``."""
    x, y = make_data(2048, seed=seed)
    x_test, y_test = make_data(1024, seed=seed + 1)
    params = init_params(seed)
    rng = np.random.default_rng(seed)
    for step in range(steps):
        idx = rng.choice(len(y), batch, replace=False)
        g = dp_gradient(params, x[idx], y[idx], clip_norm, noise_multiplier, rng)
        params = cr.tree_map(lambda p, gi: p - lr * gi, params, g)
        if verbose and (step % 100 == 0 or step == steps - 1):
            print(f"  step {step:4d}  train accuracy {accuracy(params, x, y):.3f}")
    return params, accuracy(params, x_test, y_test)


def _best_of(fn, repeats=5):
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(description="Per-example gradients and DP-SGD with vmap(grad).")
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--noise", type=float, default=0.5, help="noise multiplier sigma")
    args = parser.parse_args(argv)

    x, y = make_data(128)
    params = init_params()
    fast = per_example_grads(params, x, y)
    slow = per_example_grads_loop(params, x, y)
    err = max(float(np.max(np.abs(fast[k] - slow[k]))) for k in params)
    print(f"per-example gradients of a batch of {len(y)}: vmap and loop agree (max |diff| {err:.1e})")
    mean_grad = cr.grad(lambda p: cnp.mean(cr.vmap(loss_one, in_axes=(None, 0, 0))(p, x, y)))(params)
    print("their mean equals the gradient of the mean loss:",
          all(np.allclose(fast[k].mean(0), mean_grad[k]) for k in params))
    t_vmap = _best_of(lambda: per_example_grads(params, x, y))
    t_loop = _best_of(lambda: per_example_grads_loop(params, x, y), repeats=2)
    print(f"vmap(grad): {t_vmap * 1e3:.1f} ms, loop of grad: {t_loop * 1e3:.1f} ms "
          f"({t_loop / t_vmap:.0f}x faster)")

    norms = per_example_norms(fast)
    clipped_norms = per_example_norms(clip_per_example(fast, 1.0))
    print(f"per-example gradient norms: median {np.median(norms):.3f}, max {norms.max():.3f}; "
          f"after clipping to C=1: max {clipped_norms.max():.3f}")

    print(f"DP-SGD (C=1, sigma={args.noise}, batch 64):")
    _, test_acc = train_dp_sgd(steps=args.steps, noise_multiplier=args.noise)
    print(f"held-out accuracy with DP-SGD: {test_acc:.3f}")
    _, plain_acc = train_dp_sgd(steps=args.steps, clip_norm=np.inf, noise_multiplier=0.0, verbose=False)
    print(f"held-out accuracy with plain SGD (no clipping, no noise): {plain_acc:.3f}")
    return test_acc


if __name__ == "__main__":
    main()
