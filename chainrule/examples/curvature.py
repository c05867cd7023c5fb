"""Second-order optimisation: Newton-CG with Hessian-vector products, Gauss-Newton with ``jacfwd``.

1. Newton's method on L2-regularised logistic regression with badly scaled features. The Newton direction
   solves ``H d = -g``; conjugate gradients needs only products ``H v``, which ``hvp`` computes by
   forward-over-reverse differentiation without ever forming ``H``. Newton-CG reaches machine-precision
   gradients in a handful of steps; gradient descent, with the best fixed step size for this problem, is still
   far away after hundreds.
2. Levenberg-Marquardt (damped Gauss-Newton) for a nonlinear least-squares curve fit: the Jacobian of the
   residuals comes from ``jacfwd`` (forward mode: 3 parameters, so 3 passes), and ``J^T J`` is the Gauss-Newton
   curvature.

Run with ``python -m chainrule.examples.curvature`` (about a second).

>>> x, y = make_problem(n=200, d=5, seed=0)
>>> w, history = newton_cg(x, y, steps=8)
>>> history[-1] < 1e-10        # gradient norm after 8 Newton steps
True
"""
import argparse

import numpy as np

import chainrule as cr
import chainrule.numpy as cnp

L2 = 1e-3


def make_problem(n=1000, d=20, seed=0):
    """Logistic-regression data whose features have scales from 0.1 to 10 (an ill-conditioned Hessian)."""
    rng = np.random.default_rng(seed)
    scales = np.logspace(-1, 1, d)
    x = rng.standard_normal((n, d)) * scales
    w_true = rng.standard_normal(d) / scales
    y = (rng.random(n) < 1 / (1 + np.exp(-x @ w_true))).astype(np.float64)
    return x, y


def loss(w, x, y):
    """Mean logistic loss plus ``L2/2 * |w|^2``."""
    z = x @ w
    return cnp.mean(cnp.logaddexp(0.0, z) - y * z) + 0.5 * L2 * cnp.sum(w * w)


def conjugate_gradient(matvec, b, tol=1e-12, max_iter=100):
    """Solve ``A u = b`` for symmetric positive definite ``A`` given only ``matvec(v) = A v``.

    >>> a = np.array([[4.0, 1.0], [1.0, 3.0]])
    >>> conjugate_gradient(lambda v: a @ v, np.array([1.0, 2.0])).round(6)
    array([0.090909, 0.636364])
    """
    u = np.zeros_like(b)
    r = b.copy()
    p = r.copy()
    rr = r @ r
    for _ in range(max_iter):
        if np.sqrt(rr) <= tol * np.sqrt(b @ b):
            break
        ap = matvec(p)
        alpha = rr / (p @ ap)
        u += alpha * p
        r -= alpha * ap
        rr_new = r @ r
        p = r + (rr_new / rr) * p
        rr = rr_new
    return u


def newton_cg(x, y, steps=10):
    """Newton's method, each direction found by CG on Hessian-vector products. Returns ``(w, grad norms)``."""
    f = lambda w: loss(w, x, y)            # noqa: E731
    w = np.zeros(x.shape[1])
    history = []
    for step in range(steps + 1):
        g = cr.grad(f)(w)
        history.append(float(np.linalg.norm(g)))
        if step == steps or history[-1] < 1e-14:
            break
        d = conjugate_gradient(lambda v: cr.hvp(f, (w,), (v,)), -g)
        w = w + d
    return w, history


def gradient_descent(x, y, steps=500):
    """Gradient descent with step 1/L, L the largest Hessian eigenvalue at the start. Returns grad norms."""
    f = lambda w: loss(w, x, y)            # noqa: E731
    w = np.zeros(x.shape[1])
    lipschitz = np.linalg.eigvalsh(cr.hessian(f)(w)).max()
    history = []
    for _ in range(steps):
        g = cr.grad(f)(w)
        history.append(float(np.linalg.norm(g)))
        w = w - g / lipschitz
    return w, history


# ---------------------------------------------------------------------------------------------------------
# Levenberg-Marquardt with jacfwd
# ---------------------------------------------------------------------------------------------------------

def make_curve(n=60, seed=0):
    """Noisy samples of ``a * exp(-b t) + c`` with ``(a, b, c) = (2.5, 1.3, 0.5)``."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 4.0, n)
    return t, 2.5 * np.exp(-1.3 * t) + 0.5 + 0.02 * rng.standard_normal(n)


def residuals(theta, t, obs):
    a, b, c = theta[0], theta[1], theta[2]
    return a * cnp.exp(-b * t) + c - obs


def levenberg_marquardt(t, obs, theta0, steps=20, damping=1e-2):
    """Damped Gauss-Newton: ``(J^T J + mu diag(J^T J)) d = -J^T r`` with ``J = jacfwd(residuals)``."""
    theta = np.asarray(theta0, dtype=np.float64)
    jac = cr.jacfwd(residuals)
    cost = lambda th: 0.5 * float(np.sum(np.asarray(residuals(th, t, obs)) ** 2))  # noqa: E731
    history = [cost(theta)]
    for _ in range(steps):
        r = np.asarray(residuals(theta, t, obs))
        j = jac(theta, t, obs)                       # (n_residuals, 3)
        jtj = j.T @ j
        d = np.linalg.solve(jtj + damping * np.diag(np.diag(jtj)), -j.T @ r)
        if cost(theta + d) < history[-1]:
            theta, damping = theta + d, damping / 3      # accept: trust the quadratic model more
        else:
            damping *= 4                                 # reject: damp towards gradient descent
        history.append(cost(theta))
    return theta, history


def main(argv=None):
    parser = argparse.ArgumentParser(description="Newton-CG with hvp, Levenberg-Marquardt with jacfwd.")
    parser.add_argument("--gd-steps", type=int, default=500)
    args = parser.parse_args(argv)

    x, y = make_problem()
    f = lambda w: loss(w, x, y)            # noqa: E731
    w0 = np.random.default_rng(1).standard_normal(x.shape[1])
    h = cr.hessian(f)(w0)                                  # jacfwd(jacrev(f)): the full 20 x 20 Hessian
    p = 1 / (1 + np.exp(-x @ w0))
    h_exact = (x * (p * (1 - p))[:, None]).T @ x / len(y) + L2 * np.eye(x.shape[1])
    v = np.ones(x.shape[1])
    print(f"hessian matches the closed form: {np.allclose(h, h_exact)}; hvp matches H @ v: "
          f"{np.allclose(cr.hvp(f, (w0,), (v,)), h_exact @ v)}; condition number {np.linalg.cond(h):.1e}")

    w_newton, newton_hist = newton_cg(x, y)
    _, gd_hist = gradient_descent(x, y, steps=args.gd_steps)
    print("gradient norm per Newton-CG step: " + ", ".join(f"{g:.1e}" for g in newton_hist))
    print(f"gradient descent after {len(gd_hist)} steps: gradient norm {gd_hist[-1]:.1e}")

    t, obs = make_curve()
    theta, lm_hist = levenberg_marquardt(t, obs, theta0=[1.0, 0.3, 0.0])
    print(f"Levenberg-Marquardt curve fit: (a, b, c) = {np.round(theta, 3)} (true 2.5, 1.3, 0.5), cost "
          f"{lm_hist[0]:.3f} -> {lm_hist[-1]:.2e}")
    return newton_hist, gd_hist, theta


if __name__ == "__main__":
    main()
