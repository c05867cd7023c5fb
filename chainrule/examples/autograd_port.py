"""A HIPS-autograd program, ported by changing its imports: Gaussian-process regression whose kernel
hyperparameters are fitted by maximising the marginal likelihood with ``scipy.optimize.minimize``.

Written in autograd's idiom (``import autograd.numpy as np``, ``value_and_grad`` handed to ``minimize`` with
``jac=True``). To run it under HIPS autograd, swap the five ``chainrule`` imports below for

    import autograd.numpy as np
    import autograd.numpy.random as npr
    from autograd.numpy.linalg import solve
    import autograd.scipy.stats.multivariate_normal as mvn
    from autograd import value_and_grad

and nothing else. (The test suite does exactly that and checks both give the same numbers.)

Run with ``python -m chainrule.examples.autograd_port`` (needs SciPy for ``minimize``).
"""
import chainrule.numpy as np
import chainrule.numpy.random as npr
from chainrule.numpy.linalg import solve
import chainrule.scipy.stats.multivariate_normal as mvn
from chainrule import value_and_grad

from scipy.optimize import minimize


def gaussian_process(kernel, n_kernel_params):
    """The pieces of a GP model with a constant mean and Gaussian observation noise.

    Parameters are packed in one vector: ``[mean, log noise variance, kernel parameters...]``.
    Returns ``(number of parameters, predict, log_marginal_likelihood)``.
    """
    def split(params):
        mean = params[0]
        noise_variance = np.exp(params[1]) + 1e-4
        return mean, noise_variance, params[2:]

    def predict(params, x, y, x_new):
        """Posterior mean and covariance of the latent function at ``x_new``."""
        mean, noise_variance, kernel_params = split(params)
        k_train = kernel(kernel_params, x, x) + noise_variance * np.eye(len(y))
        k_cross = kernel(kernel_params, x, x_new)
        k_new = kernel(kernel_params, x_new, x_new)
        weights = solve(k_train, k_cross)              # K^-1 k_*, one column per new point
        post_mean = mean + np.dot(weights.T, y - mean)
        post_cov = k_new - np.dot(weights.T, k_cross)
        return post_mean, post_cov

    def log_marginal_likelihood(params, x, y):
        """log p(y | x, params): y is jointly Gaussian with covariance K(x, x) + noise * I."""
        mean, noise_variance, kernel_params = split(params)
        k_train = kernel(kernel_params, x, x) + noise_variance * np.eye(len(y))
        return mvn.logpdf(y, mean * np.ones(len(y)), k_train)

    return n_kernel_params + 2, predict, log_marginal_likelihood


def squared_exponential(kernel_params, a, b):
    """``s^2 exp(-|a - b|^2 / 2)`` with a lengthscale per input dimension; parameters are logs."""
    variance = np.exp(kernel_params[0])
    lengthscales = np.exp(kernel_params[1:])
    a, b = a / lengthscales, b / lengthscales
    sq_dist = np.sum((np.expand_dims(a, 1) - np.expand_dims(b, 0)) ** 2, axis=2)
    return variance * np.exp(-0.5 * sq_dist)


def noisy_data(n=24, noise=0.1, seed=0):
    """A wiggly 1-D function observed on two intervals with a gap between them."""
    rs = npr.RandomState(seed)
    x = np.concatenate([np.linspace(-2.0, -0.5, n // 2), np.linspace(0.8, 2.0, n - n // 2)])
    y = np.sin(2.0 * x) + 0.3 * x + noise * rs.randn(n)
    return x.reshape((n, 1)), y


def fit(x, y, seed=0, verbose=True):
    """Maximise the log marginal likelihood over all hyperparameters; returns ``(params, scipy result)``."""
    n_params, predict, log_marginal_likelihood = gaussian_process(squared_exponential, n_kernel_params=2)

    def objective(params):
        return -log_marginal_likelihood(params, x, y)

    def report(params):
        if verbose:
            print(f"  log marginal likelihood {log_marginal_likelihood(params, x, y):9.4f}")

    init = 0.1 * npr.RandomState(seed).randn(n_params)
    result = minimize(value_and_grad(objective), init, jac=True, method="CG", callback=report)
    return result.x, result


def main():
    x, y = noisy_data()
    print("Fitting GP hyperparameters by maximising the marginal likelihood...")
    params, result = fit(x, y)
    _, predict, log_marginal_likelihood = gaussian_process(squared_exponential, n_kernel_params=2)
    print(f"done after {result.nit} iterations: log marginal likelihood "
          f"{log_marginal_likelihood(params, x, y):.4f}")
    print(f"mean {params[0]:.3f}, noise std {np.sqrt(np.exp(params[1]) + 1e-4):.3f}, "
          f"signal std {np.exp(params[2] / 2):.3f}, lengthscale {np.exp(params[3]):.3f}")
    x_new = np.linspace(-2.0, 2.0, 5).reshape((5, 1))
    mean, cov = predict(params, x, y, x_new)
    for xi, m, s in zip(x_new[:, 0], mean, np.sqrt(np.diag(cov))):
        print(f"  f({xi:5.2f}) = {m:6.3f} +- {2 * s:.3f}   (true {np.sin(2 * xi) + 0.3 * xi:6.3f})")
    return params, result


if __name__ == "__main__":
    main()
