"""Tensor-face benchmarks: chainrule's imperative autograd side by side with PyTorch eager (CPU) and NumPy.

(a) Recording + backward: a chain of 200 tiny ops on shape-(10,) float32 Tensors, forward then ``.backward()``,
    reported per op. Two chains: ``y = sin(y) * 1.01 + y * 0.5`` (unary and scalar ops) and
    ``y = tanh(y * w) + y`` (Tensor-Tensor ops with a second leaf ``w``). Target: chainrule no slower than PyTorch.
(b) Nothing recorded: both chains on Tensors that do not require grad (and on Tensors that do, under
    ``no_grad()``), per op, against the same chains of bare NumPy calls. Target: within 2x of NumPy.

Every implementation's value and gradient is checked against a NumPy reference before timing. PyTorch is
optional (skipped with a note when absent). Run from the repository root: ``python -m benchmarks.tensor``
(``--quick`` for fewer repeats).
"""
import os
import sys

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

import chainrule as cr  # noqa: E402
from benchmarks.common import environment_summary, load_note, measure_rounds, print_table, try_import  # noqa: E402
from benchmarks.engine import N_BLOCKS as N_BLOCKS_A  # noqa: E402 - chain A is the engine benchmark's chain
from benchmarks.engine import chain_reference as reference_a  # noqa: E402

N_BLOCKS_B = 67   # chain B: 3 ops per block (multiply, tanh, add)
OPS_A = 4 * N_BLOCKS_A
OPS_B = 3 * N_BLOCKS_B
SHAPE = (10,)


def _close(name, got, want, rtol=2e-5):
    got = np.asarray(got, dtype=np.float64)
    if not np.allclose(got, want, rtol=rtol, atol=1e-6):
        raise AssertionError(f"{name}: result disagrees with the NumPy reference (max |diff| "
                             f"{np.abs(got - want).max():.3g})")


# ---------------------------------------------------------------------------------------------------------
# References (float64, derivatives carried forward by hand)
# ---------------------------------------------------------------------------------------------------------

def reference_b(x, w):
    """Value of sum(chain) and its gradients with respect to x and w (forward-mode, one direction each)."""
    dx = np.ones_like(x)           # d y / d x (elementwise: the chain acts elementwise)
    dw = np.zeros_like(x)          # d y / d w (also elementwise)
    y = x
    for _ in range(N_BLOCKS_B):
        t = np.tanh(y * w)
        s = 1 - t * t
        dx = s * w * dx + dx
        dw = s * (y + w * dw) + dw
        y = t + y
    return y.sum(), dx, dw


# ---------------------------------------------------------------------------------------------------------
# (a) recording + backward
# ---------------------------------------------------------------------------------------------------------

def chain_a(x):
    for _ in range(N_BLOCKS_A):
        x = x.sin() * 1.01 + x * 0.5
    return x


def chain_b(x, w):
    for _ in range(N_BLOCKS_B):
        x = (x * w).tanh() + x
    return x


def workload_backward(torch, repeats):
    x0 = np.linspace(-1.0, 1.0, SHAPE[0]).astype(np.float32)
    w0 = np.linspace(0.5, 1.5, SHAPE[0]).astype(np.float32)
    ref_a = reference_a(x0.astype(np.float64))
    ref_b = reference_b(x0.astype(np.float64), w0.astype(np.float64))

    def cr_a():
        x = cr.tensor(x0, requires_grad=True)
        y = chain_a(x).sum()
        y.backward()
        return y, x.grad

    def cr_b():
        x = cr.tensor(x0, requires_grad=True)
        w = cr.tensor(w0, requires_grad=True)
        y = chain_b(x, w).sum()
        y.backward()
        return y, x.grad, w.grad

    impls_a = {"chainrule Tensor": cr_a}
    impls_b = {"chainrule Tensor": cr_b}
    y, g = cr_a()
    _close("chain A value", y.item(), ref_a[0])
    _close("chain A grad", g.numpy(), ref_a[1])
    y, gx, gw = cr_b()
    _close("chain B value", y.item(), ref_b[0])
    _close("chain B grad x", gx.numpy(), ref_b[1])
    _close("chain B grad w", gw.numpy(), ref_b[2])

    if torch is not None:
        def torch_a():
            x = torch.from_numpy(x0).requires_grad_(True)
            y = chain_a(x).sum()
            y.backward()
            return y, x.grad

        def torch_b():
            x = torch.from_numpy(x0).requires_grad_(True)
            w = torch.from_numpy(w0).requires_grad_(True)
            y = chain_b(x, w).sum()
            y.backward()
            return y, x.grad, w.grad

        y, g = torch_a()
        _close("torch chain A", g.numpy(), ref_a[1])
        y, gx, gw = torch_b()
        _close("torch chain B", gw.numpy(), ref_b[2])
        impls_a["torch eager"] = torch_a
        impls_b["torch eager"] = torch_b

    base = "torch eager" if torch is not None else "chainrule Tensor"
    ta = measure_rounds(impls_a, repeats=repeats, warmup=5)
    print_table(f"(a1) forward + .backward() of y = sin(y)*1.01 + y*0.5, {OPS_A} ops on shape {SHAPE} float32, "
                f"time PER OP", ta, baseline=base, unit="us", per=OPS_A)
    tb = measure_rounds(impls_b, repeats=repeats, warmup=5)
    print_table(f"(a2) forward + .backward() of y = tanh(y*w) + y, {OPS_B} ops on shape {SHAPE} float32 "
                f"(x and w require grad), time PER OP", tb, baseline=base, unit="us", per=OPS_B)
    if torch is not None:
        for label, ts in (("a1", ta), ("a2", tb)):
            by = {t.name: t.median for t in ts}
            r = by["chainrule Tensor"] / by["torch eager"]
            print(f"  ({label}) chainrule / torch per-op ratio: {r:.2f}x  (target <= 1.00x: "
                  f"{'MET' if r <= 1.0 else 'NOT MET'})")
    return ta, tb


# ---------------------------------------------------------------------------------------------------------
# (b) nothing recorded
# ---------------------------------------------------------------------------------------------------------

def workload_no_grad(torch, repeats):
    x0 = np.linspace(-1.0, 1.0, SHAPE[0]).astype(np.float32)
    ref = reference_a(x0.astype(np.float64))
    plain = cr.tensor(x0)
    leaf = cr.tensor(x0, requires_grad=True)

    def numpy_chain():
        return chain_np(x0)

    def chain_np(x):
        for _ in range(N_BLOCKS_A):
            x = np.sin(x) * 1.01 + x * 0.5
        return x

    def cr_plain():
        return chain_a(plain)

    def cr_no_grad():
        with cr.no_grad():
            return chain_a(leaf)

    impls = {"numpy (bare calls)": numpy_chain, "chainrule Tensor, no grad": cr_plain,
             "chainrule under no_grad()": cr_no_grad}
    _close("numpy chain", numpy_chain().sum(), ref[0])
    for name in ("chainrule Tensor, no grad", "chainrule under no_grad()"):
        out = impls[name]()
        assert not out.requires_grad, name
        _close(name, out.sum().item(), ref[0])
    xt = torch.from_numpy(x0) if torch is not None else None
    if torch is not None:
        def torch_plain():
            return chain_a(xt)
        _close("torch no grad", torch_plain().sum().item(), ref[0])
        impls["torch eager, no grad"] = torch_plain

    ts = measure_rounds(impls, repeats=repeats, warmup=5)
    print_table(f"(b1) y = sin(y)*1.01 + y*0.5 with nothing recorded, {OPS_A} ops on shape {SHAPE} float32, "
                f"time PER OP", ts, baseline="numpy (bare calls)", unit="us", per=OPS_A)
    _report_b("b1", ts)

    # Chain B: Tensor-Tensor operations, whose bare NumPy calls are cheaper (no Python-scalar conversion).
    w0 = np.linspace(0.5, 1.5, SHAPE[0]).astype(np.float32)
    ref_b = reference_b(x0.astype(np.float64), w0.astype(np.float64))
    w_plain, w_leaf = cr.tensor(w0), cr.tensor(w0, requires_grad=True)

    def numpy_b():
        x = x0
        for _ in range(N_BLOCKS_B):
            x = np.tanh(x * w0) + x
        return x

    def cr_plain_b():
        return chain_b(plain, w_plain)

    def cr_no_grad_b():
        with cr.no_grad():
            return chain_b(leaf, w_leaf)

    impls = {"numpy (bare calls)": numpy_b, "chainrule Tensor, no grad": cr_plain_b,
             "chainrule under no_grad()": cr_no_grad_b}
    for name, fn in impls.items():
        out = fn()
        _close(name, np.asarray(out.detach().numpy() if isinstance(out, cr.Tensor) else out).sum(), ref_b[0])
    if torch is not None:
        wt = torch.from_numpy(w0)
        impls["torch eager, no grad"] = lambda: chain_b(xt, wt)
    ts2 = measure_rounds(impls, repeats=repeats, warmup=5)
    print_table(f"(b2) y = tanh(y*w) + y with nothing recorded, {OPS_B} ops on shape {SHAPE} float32, "
                f"time PER OP", ts2, baseline="numpy (bare calls)", unit="us", per=OPS_B)
    _report_b("b2", ts2)
    return ts, ts2


def _report_b(label, ts):
    by = {t.name: t.median for t in ts}
    for name in ("chainrule Tensor, no grad", "chainrule under no_grad()"):
        r = by[name] / by["numpy (bare calls)"]
        print(f"  ({label}) {name} / numpy: {r:.2f}x  (target <= 2.00x: {'MET' if r <= 2.0 else 'NOT MET'})")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    quick = "--quick" in argv
    torch = try_import("torch", "the PyTorch columns are skipped")
    if torch is not None:
        torch.manual_seed(0)
    print(environment_summary({"torch": torch}))
    print(f"at start: {load_note()}")
    repeats = 9 if quick else 45
    workload_backward(torch, repeats)
    workload_no_grad(torch, repeats)
    print(f"\nat end: {load_note()}")


if __name__ == "__main__":
    main()
