"""A tour of chainrule in one screen: gradients, forward mode, higher order, vmap.

Run with ``python -m chainrule.examples.quickstart``.
"""
import numpy as np

import chainrule as cr
import chainrule.numpy as cnp


def loss(w, x, y):
    """Logistic-regression negative log likelihood."""
    logits = x @ w
    return cnp.mean(cnp.logaddexp(0.0, logits) - y * logits)


def main():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 3))
    w_true = np.array([1.5, -2.0, 0.5])
    y = (x @ w_true + 0.3 * rng.standard_normal(200) > 0).astype(np.float64)

    w = np.zeros(3)
    step = cr.value_and_grad(loss)
    for it in range(200):
        value, g = step(w, x, y)
        w = w - 1.0 * g
    print(f"logistic regression: loss {value:.4f}, weights {np.round(w, 2)}")

    # Forward mode: a directional derivative without building a graph.
    _, slope = cr.jvp(lambda w: loss(w, x, y), (w,), (np.ones(3),))
    print(f"directional derivative along (1, 1, 1): {float(slope):.2e}")

    # Higher order: the third derivative of sin is -cos.
    d3 = cr.grad(cr.grad(cr.grad(cnp.sin)))(0.5)
    print(f"d^3/dx^3 sin(0.5) = {float(d3):.6f} (-cos(0.5) = {-np.cos(0.5):.6f})")

    # vmap of grad: per-example gradients in one vectorised call.
    per_example = cr.vmap(cr.grad(loss), in_axes=(None, 0, 0))(w, x[:, None, :], y[:, None])
    print(f"per-example gradients: shape {per_example.shape}, mean equals the full gradient: "
          f"{np.allclose(per_example.mean(0), cr.grad(loss)(w, x, y))}")


if __name__ == "__main__":
    main()
