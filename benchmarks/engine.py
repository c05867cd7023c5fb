"""Engine benchmarks: chainrule's reverse mode side by side with NumPy and the peers, in one run.

1. Recording overhead: the gradient of a chain of 200 tiny elementwise ops on a shape-(10,) float64 array,
   reported as microseconds per op. Floor: the same chain in plain NumPy, no differentiation.
   Target: chainrule at most 0.5x HIPS autograd's time per op.
2. Large elementwise: ``value_and_grad`` of ``sum(tanh(x)*sin(x) + exp(-x**2))`` on 1e6 float64 elements.
   Limit: a hand-written NumPy forward + analytic backward. Target: chainrule at most 1.15x the hand-written
   version and faster than HIPS autograd.

Every implementation's value and gradient is checked against an independent NumPy reference before timing.
Peers (autograd, torch, jax) are optional; a missing one is skipped with a note.

Run from the repository root: ``python -m benchmarks.engine`` (or ``python benchmarks/engine.py``).
Workload 2 is also run in a fresh process (see NOTE [allocator state]). Options: ``--quick`` for fewer repeats.
"""
import os
import sys

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

import chainrule as cr  # noqa: E402
import chainrule.numpy as cnp  # noqa: E402
from benchmarks.common import environment_summary, load_note, measure_rounds, print_table, try_import  # noqa: E402

N_BLOCKS = 50                 # each block is 4 ops: sin, multiply, multiply, add
N_OPS = 4 * N_BLOCKS          # 200 recorded ops (plus the final sum)
SMALL_SHAPE = (10,)
LARGE_N = 1_000_000


def _load_peers():
    autograd = try_import("autograd", "skipping HIPS autograd")
    anp = try_import("autograd.numpy", "skipping HIPS autograd") if autograd else None
    torch = try_import("torch", "skipping PyTorch")
    jax = try_import("jax", "skipping JAX")
    jnp = None
    if jax is not None:
        jax.config.update("jax_enable_x64", True)   # float64, like everyone else
        jax.config.update("jax_platforms", "cpu")
        jnp = try_import("jax.numpy", "skipping JAX")
        if jnp is None:
            jax = None
    return {"autograd": autograd, "anp": anp, "torch": torch, "jax": jax, "jnp": jnp}


def _check(name, value, grad, ref_value, ref_grad):
    value = float(np.asarray(value))
    grad = np.asarray(grad)
    if not (np.allclose(value, ref_value, rtol=1e-10, atol=1e-12)
            and np.allclose(grad, ref_grad, rtol=1e-9, atol=1e-12)):
        raise AssertionError(f"{name}: value/gradient disagree with the NumPy reference "
                             f"(value {value} vs {ref_value}, max |grad diff| {np.abs(grad - ref_grad).max()})")


# ---------------------------------------------------------------------------------------------------------
# Workload 1: recording overhead on a chain of tiny ops
# ---------------------------------------------------------------------------------------------------------

def chain_reference(x):
    """Value and gradient of the chain, by hand (forward-mode derivative carried alongside)."""
    dx = np.ones_like(x)
    for _ in range(N_BLOCKS):
        dx = np.cos(x) * 1.01 * dx + 0.5 * dx
        x = np.sin(x) * 1.01 + x * 0.5
    return x.sum(), dx


def workload_chain(peers, repeats):
    x0 = np.linspace(-1.0, 1.0, SMALL_SHAPE[0])
    ref_value, ref_grad = chain_reference(x0)
    impls = {}   # name -> (callable for timing, callable returning (value, grad) for checking)

    def chain_np(x):
        for _ in range(N_BLOCKS):
            x = np.sin(x) * 1.01 + x * 0.5
        return x.sum()
    impls["numpy forward (floor)"] = (lambda: chain_np(x0), None)

    def chain_cr(x):
        for _ in range(N_BLOCKS):
            x = cnp.sin(x) * 1.01 + x * 0.5
        return cnp.sum(x)
    cr_grad = cr.grad(chain_cr)
    impls["chainrule grad"] = (lambda: cr_grad(x0), lambda: cr.value_and_grad(chain_cr)(x0))

    autograd, anp = peers["autograd"], peers["anp"]
    if autograd is not None:
        def chain_ag(x):
            for _ in range(N_BLOCKS):
                x = anp.sin(x) * 1.01 + x * 0.5
            return anp.sum(x)
        ag_grad = autograd.grad(chain_ag)
        impls["autograd grad"] = (lambda: ag_grad(x0), lambda: autograd.value_and_grad(chain_ag)(x0))

    torch = peers["torch"]
    if torch is not None:
        def torch_grad():
            x = torch.from_numpy(x0).requires_grad_(True)
            y = x
            for _ in range(N_BLOCKS):
                y = torch.sin(y) * 1.01 + y * 0.5
            y = y.sum()
            y.backward()
            return y.detach(), x.grad
        impls["torch eager .backward()"] = (torch_grad, lambda: tuple(t.numpy() for t in torch_grad()))

    jax, jnp = peers["jax"], peers["jnp"]
    if jax is not None:
        def chain_jax(x):
            for _ in range(N_BLOCKS):
                x = jnp.sin(x) * 1.01 + x * 0.5
            return jnp.sum(x)
        jax_grad = jax.grad(chain_jax)
        xj = jnp.asarray(x0)
        impls["jax grad (no jit)"] = (lambda: jax_grad(xj).block_until_ready(),
                                      lambda: jax.value_and_grad(chain_jax)(xj))

    assert np.allclose(chain_np(x0), ref_value)
    for name, (_, check) in impls.items():
        if check is not None:
            _check(name, *check(), ref_value, ref_grad)

    timings = measure_rounds({name: fn for name, (fn, _) in impls.items()}, repeats=repeats, warmup=5)
    print_table(f"Workload 1: gradient of a chain of {N_OPS} elementwise ops on shape {SMALL_SHAPE} float64 "
                f"(+1 final sum), time PER OP = total / {N_OPS}",
                timings, baseline="autograd grad" if autograd is not None else "chainrule grad",
                unit="us", per=N_OPS)
    by = {t.name: t for t in timings}
    floor = by["numpy forward (floor)"].median
    c = by["chainrule grad"].median
    print(f"  chainrule overhead above the NumPy floor: {(c - floor) / N_OPS * 1e6:.2f} us per op")
    if "autograd grad" in by:
        r = c / by["autograd grad"].median
        print(f"  chainrule / autograd per-op ratio: {r:.2f}x  (target <= 0.50x: {'MET' if r <= 0.5 else 'NOT MET'})")
    return timings


# ---------------------------------------------------------------------------------------------------------
# Workload 2: one large elementwise function
# ---------------------------------------------------------------------------------------------------------

def large_handwritten(x):
    """``sum(tanh(x)*sin(x) + exp(-x**2))`` and its gradient by hand, with as few temporaries as NumPy allows.

    d/dx = (1 - t^2) sin(x) + t cos(x) - 2 x e,  with t = tanh(x), e = exp(-x^2).
    """
    t = np.tanh(x)
    s = np.sin(x)
    e = np.square(x)
    np.negative(e, out=e)
    np.exp(e, out=e)                 # e = exp(-x^2)
    buf = np.multiply(t, s)
    buf += e
    value = buf.sum()
    g = np.cos(x)
    g *= t                           # t cos x
    np.multiply(t, t, out=buf)
    np.subtract(1.0, buf, out=buf)
    buf *= s                         # (1 - t^2) sin x
    g += buf
    np.multiply(x, e, out=buf)
    buf *= 2.0
    g -= buf                         # - 2 x e
    return value, g


def workload_large(peers, repeats, title="Workload 2"):
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal(LARGE_N)
    ref_value = np.sum(np.tanh(x0) * np.sin(x0) + np.exp(-x0 ** 2))
    t = np.tanh(x0)
    ref_grad = (1 - t * t) * np.sin(x0) + t * np.cos(x0) - 2 * x0 * np.exp(-x0 ** 2)
    impls = {"numpy hand-written": (lambda: large_handwritten(x0))}

    def f_cr(x):
        return cnp.sum(cnp.tanh(x) * cnp.sin(x) + cnp.exp(-x ** 2))
    cr_vg = cr.value_and_grad(f_cr)
    impls["chainrule value_and_grad"] = lambda: cr_vg(x0)

    autograd, anp = peers["autograd"], peers["anp"]
    if autograd is not None:
        ag_vg = autograd.value_and_grad(lambda x: anp.sum(anp.tanh(x) * anp.sin(x) + anp.exp(-x ** 2)))
        impls["autograd value_and_grad"] = lambda: ag_vg(x0)

    torch = peers["torch"]
    if torch is not None:
        def torch_vg():
            x = torch.from_numpy(x0).requires_grad_(True)
            y = torch.sum(torch.tanh(x) * torch.sin(x) + torch.exp(-x ** 2))
            y.backward()
            return y.detach().numpy(), x.grad.numpy()
        impls["torch eager .backward()"] = torch_vg

    jax, jnp = peers["jax"], peers["jnp"]
    if jax is not None:
        def f_jax(x):
            return jnp.sum(jnp.tanh(x) * jnp.sin(x) + jnp.exp(-x ** 2))
        xj = jnp.asarray(x0)
        jax_vg = jax.value_and_grad(f_jax)
        jax_vg_jit = jax.jit(jax.value_and_grad(f_jax))
        impls["jax value_and_grad (no jit)"] = lambda: jax.block_until_ready(jax_vg(xj))
        impls["jax value_and_grad (jit)"] = lambda: jax.block_until_ready(jax_vg_jit(xj))

    for name, fn in impls.items():
        _check(name, *fn(), ref_value, ref_grad)

    timings = measure_rounds(impls, repeats=repeats, warmup=3)
    print_table(f"{title}: value_and_grad of sum(tanh(x)*sin(x) + exp(-x**2)), x: {LARGE_N:.0e} float64",
                timings, baseline="numpy hand-written", unit="ms", faults=True)
    by = {t.name: t for t in timings}
    c = by["chainrule value_and_grad"].median
    r = c / by["numpy hand-written"].median
    print(f"  chainrule / hand-written NumPy: {r:.2f}x  (target <= 1.15x: {'MET' if r <= 1.15 else 'NOT MET'})")
    if "autograd value_and_grad" in by:
        r = c / by["autograd value_and_grad"].median
        print(f"  chainrule / autograd:           {r:.2f}x  (target < 1.00x: {'MET' if r < 1.0 else 'NOT MET'})")
    return timings


def _large_in_fresh_process(quick):
    """Workload 2 again in a new interpreter that loads only NumPy, chainrule and autograd.

    NOTE: [allocator state]
    Each call allocates and frees arrays of 8 MB. Whether glibc hands that memory back to the OS between calls
    (so the next call page-faults it in again) depends on its adaptive mmap/trim thresholds, i.e. on what the
    process allocated before. After the peers have run, the thresholds are high and no call faults; in a fresh
    process, as in a user's program, they are low and the implementation that touches the most fresh memory
    pays for it. Both are reported; the faults/call column shows which state a row was measured in.
    """
    import subprocess
    cmd = [sys.executable, os.path.abspath(__file__), "--fresh-large"] + (["--quick"] if quick else [])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    res = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    print(res.stdout, end="")
    if res.returncode != 0:
        print(f"[skip] the fresh-process run failed:\n{res.stderr}")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    quick = "--quick" in argv
    if "--fresh-large" in argv:
        autograd = try_import("autograd", "skipping HIPS autograd")
        peers = {"autograd": autograd, "anp": try_import("autograd.numpy", "") if autograd else None,
                 "torch": None, "jax": None, "jnp": None}
        workload_large(peers, repeats=6 if quick else 30,
                       title="Workload 2, fresh process (NumPy, chainrule, autograd only)")
        return
    peers = _load_peers()
    print(environment_summary({k: peers[k] for k in ("autograd", "torch", "jax")}))
    print(f"at start: {load_note()}")
    workload_chain(peers, repeats=10 if quick else 60)
    workload_large(peers, repeats=6 if quick else 30)
    _large_in_fresh_process(quick)
    print(f"\nat end: {load_note()}")


if __name__ == "__main__":
    main()
