"""Transform benchmarks: vmap, Jacobians and Hessian-vector products, side by side with the peers in one run.

1. Per-example gradients of a linear model (squared error, 128 features), batch 64:
   chainrule ``vmap(grad)`` vs a Python loop of ``grad``, ``torch.func.vmap(grad)``, JAX ``vmap(grad)``.
   Targets: vmap at least 5x faster than the loop, and no slower than torch.func.
2. Full Jacobian of ``tanh(A @ x)``, R^100 -> R^100, by ``jacrev`` and ``jacfwd``: vs torch.func, HIPS
   autograd's ``jacobian`` and JAX. Targets: no slower than torch.func, at least 5x faster than autograd.
3. Hessian-vector product of ``sum(tanh(A @ x))`` with A 1000x1000 (forward-over-reverse): vs the analytic NumPy
   computation, PyTorch (double backward) and JAX. Targets: at most 2x analytic NumPy, faster than PyTorch.

Run from the repository root: ``python -m benchmarks.transforms`` (``--quick`` for fewer repeats).
"""
import argparse
import os
import sys

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

import chainrule as cr  # noqa: E402
import chainrule.numpy as cnp  # noqa: E402
from benchmarks.common import environment_summary, load_note, measure_rounds, print_table, try_import  # noqa: E402


def _load_peers():
    autograd = try_import("autograd", "skipping HIPS autograd")
    torch = try_import("torch", "skipping PyTorch")
    if torch is not None:
        torch.set_default_dtype(torch.float64)
    jax = try_import("jax", "skipping JAX")
    if jax is not None:
        jax.config.update("jax_enable_x64", True)
        jax.config.update("jax_platforms", "cpu")
    return {"autograd": autograd, "torch": torch, "jax": jax}


def _same(name, got, want, rtol=1e-8):
    got = np.asarray(got)
    if got.shape != want.shape or not np.allclose(got, want, rtol=rtol, atol=1e-10):
        raise AssertionError(f"{name} disagrees with the reference")


def _ratio_line(label, num, den, target):
    r = num.median / den.median
    print(f"  {label}: {r:.2f}x  ({target})")


# ---------------------------------------------------------------------------------------------------------

def per_example(peers, repeats):
    rng = np.random.default_rng(0)
    B, D = 64, 128
    w = rng.standard_normal(D)
    X = rng.standard_normal((B, D))
    Y = rng.standard_normal(B)
    want = 2 * (X @ w - Y)[:, None] * X

    def loss(w, x, y):
        return (cnp.dot(x, w) - y) ** 2

    per_ex = cr.vmap(cr.grad(loss), in_axes=(None, 0, 0))
    g = cr.grad(loss)
    loop = lambda: np.stack([g(w, X[i], Y[i]) for i in range(B)])  # noqa: E731
    _same("chainrule vmap(grad)", per_ex(w, X, Y), want)
    _same("chainrule loop", loop(), want)
    fns = {"chainrule vmap(grad)": lambda: per_ex(w, X, Y), "chainrule loop of grad": loop}

    torch = peers["torch"]
    if torch is not None:
        from torch.func import grad as tgrad, vmap as tvmap
        tw, tX, tY = (torch.from_numpy(a) for a in (w, X, Y))
        tf = tvmap(tgrad(lambda w, x, y: (x @ w - y) ** 2), in_dims=(None, 0, 0))
        _same("torch.func", tf(tw, tX, tY).numpy(), want)
        fns["torch.func vmap(grad)"] = lambda: tf(tw, tX, tY)
    jax = peers["jax"]
    if jax is not None:
        import jax.numpy as jnp
        jf = jax.vmap(jax.grad(lambda w, x, y: (x @ w - y) ** 2), in_axes=(None, 0, 0))
        jj = jax.jit(jf)
        jw, jX, jY = (jnp.asarray(a) for a in (w, X, Y))
        _same("jax", np.asarray(jf(jw, jX, jY)), want)
        fns["jax vmap(grad) (no jit)"] = lambda: jf(jw, jX, jY).block_until_ready()
        fns["jax vmap(grad) (jit)"] = lambda: jj(jw, jX, jY).block_until_ready()
    t = measure_rounds(fns, repeats=repeats)
    print_table(f"1. Per-example gradients, linear model, batch {B}, {D} features (float64)", t,
                baseline="chainrule vmap(grad)", unit="ms")
    by = {x.name: x for x in t}
    _ratio_line("loop / vmap (speed-up)", by["chainrule loop of grad"], by["chainrule vmap(grad)"], "target >= 5x")
    if "torch.func vmap(grad)" in by:
        _ratio_line("chainrule / torch.func", by["chainrule vmap(grad)"], by["torch.func vmap(grad)"],
                    "target <= 1x")


def jacobian(peers, repeats):
    rng = np.random.default_rng(1)
    n = 100
    A = rng.standard_normal((n, n)) / np.sqrt(n)
    x = rng.standard_normal(n)
    t = np.tanh(A @ x)
    want = (1 - t ** 2)[:, None] * A

    f = lambda x: cnp.tanh(A @ x)  # noqa: E731
    jr, jf = cr.jacrev(f), cr.jacfwd(f)
    _same("chainrule jacrev", jr(x), want)
    _same("chainrule jacfwd", jf(x), want)
    fns = {"chainrule jacrev": lambda: jr(x), "chainrule jacfwd": lambda: jf(x)}
    torch = peers["torch"]
    if torch is not None:
        from torch.func import jacfwd as tjf, jacrev as tjr
        tA, tx = torch.from_numpy(A), torch.from_numpy(x)
        g = lambda x: torch.tanh(tA @ x)  # noqa: E731
        tr, tf = tjr(g), tjf(g)
        _same("torch jacrev", tr(tx).numpy(), want)
        fns["torch.func jacrev"] = lambda: tr(tx)
        fns["torch.func jacfwd"] = lambda: tf(tx)
    autograd = peers["autograd"]
    if autograd is not None:
        import autograd.numpy as anp
        aj = autograd.jacobian(lambda x: anp.tanh(anp.dot(A, x)))
        _same("autograd jacobian", aj(x), want)
        fns["autograd jacobian"] = lambda: aj(x)
    jax = peers["jax"]
    if jax is not None:
        import jax.numpy as jnp
        jA, jx = jnp.asarray(A), jnp.asarray(x)
        h = lambda x: jnp.tanh(jA @ x)  # noqa: E731
        jjr = jax.jacrev(h)
        fns["jax jacrev (no jit)"] = lambda: jjr(jx).block_until_ready()
        jjit = jax.jit(jjr)
        fns["jax jacrev (jit)"] = lambda: jjit(jx).block_until_ready()
    t = measure_rounds(fns, repeats=repeats)
    print_table(f"2. Full Jacobian of tanh(A @ x), R^{n} -> R^{n} (float64)", t, baseline="chainrule jacrev",
                unit="ms")
    by = {x.name: x for x in t}
    if "torch.func jacrev" in by:
        _ratio_line("chainrule jacrev / torch.func jacrev", by["chainrule jacrev"], by["torch.func jacrev"],
                    "target <= 1x")
        _ratio_line("chainrule jacfwd / torch.func jacfwd", by["chainrule jacfwd"], by["torch.func jacfwd"],
                    "target <= 1x")
    if "autograd jacobian" in by:
        _ratio_line("autograd / chainrule jacrev (speed-up)", by["autograd jacobian"], by["chainrule jacrev"],
                    "target >= 5x")
        _ratio_line("autograd / chainrule jacfwd (speed-up)", by["autograd jacobian"], by["chainrule jacfwd"],
                    "target >= 5x")


def hvp(peers, repeats):
    rng = np.random.default_rng(2)
    n = 1000
    A = rng.standard_normal((n, n)) / np.sqrt(n)
    x = rng.standard_normal(n)
    v = rng.standard_normal(n)

    def analytic():
        t = np.tanh(A @ x)
        return A.T @ (-2 * t * (1 - t * t) * (A @ v))

    want = analytic()
    f = lambda x: cnp.sum(cnp.tanh(A @ x))  # noqa: E731
    _same("chainrule hvp", cr.hvp(f, (x,), (v,)), want)
    fns = {"numpy analytic": analytic, "chainrule hvp (fwd-over-rev)": lambda: cr.hvp(f, (x,), (v,))}
    torch = peers["torch"]
    if torch is not None:
        tA, tv = torch.from_numpy(A), torch.from_numpy(v)

        def torch_hvp():
            tx = torch.from_numpy(x).requires_grad_(True)
            g, = torch.autograd.grad(torch.tanh(tA @ tx).sum(), tx, create_graph=True)
            hv, = torch.autograd.grad(g, tx, grad_outputs=tv)
            return hv
        _same("torch hvp", torch_hvp().numpy(), want)
        fns["torch double backward"] = torch_hvp
    jax = peers["jax"]
    if jax is not None:
        import jax.numpy as jnp
        jA, jx, jv = jnp.asarray(A), jnp.asarray(x), jnp.asarray(v)
        jfun = lambda x: jnp.sum(jnp.tanh(jA @ x))  # noqa: E731
        jh = lambda: jax.jvp(jax.grad(jfun), (jx,), (jv,))[1].block_until_ready()  # noqa: E731
        fns["jax jvp(grad) (no jit)"] = jh
    t = measure_rounds(fns, repeats=repeats)
    print_table(f"3. Hessian-vector product of sum(tanh(A @ x)), A {n}x{n} (float64)", t,
                baseline="numpy analytic", unit="ms")
    by = {x.name: x for x in t}
    _ratio_line("chainrule / analytic NumPy", by["chainrule hvp (fwd-over-rev)"], by["numpy analytic"],
                "target <= 2x")
    if "torch double backward" in by:
        _ratio_line("chainrule / PyTorch", by["chainrule hvp (fwd-over-rev)"], by["torch double backward"],
                    "target < 1x")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a smoke run, noisier figures)")
    args = parser.parse_args(argv)
    repeats = 9 if args.quick else 30
    peers = _load_peers()
    print(environment_summary({k: v for k, v in peers.items()}))
    print(load_note())
    per_example(peers, repeats)
    jacobian(peers, repeats)
    hvp(peers, repeats)


if __name__ == "__main__":
    main()
