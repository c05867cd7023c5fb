"""chainrule.nn training-step benchmarks: chainrule side by side with hand-written NumPy and PyTorch (CPU, eager).

One training step = forward + backward + an SGD update of every parameter, float32:

1. MLP 784-512-512-10 (ReLU), batch 128, cross-entropy.                          Target: <= 1.2x hand NumPy.
2. CNN conv3x3(8)-relu-maxpool2-conv3x3(16)-relu-linear(10), batch 32 of 1x28x28 ('same' padding),
   cross-entropy.                                                                  Target: <= 1.2x hand NumPy.
3. Transformer block (pre-norm: LayerNorm, 4-head self-attention d=128, LayerNorm, MLP 128-512-128 with GELU,
   residuals), sequence 64, batch 8, mean-squared-error loss.                      Target: <= 1.2x hand NumPy.

chainrule runs PyTorch style (``loss.backward()``, then ``p -= lr * p.grad`` under ``no_grad``) and, as a second
row, JAX style (``value_and_grad(loss_fn)(model)`` and a ``tree_map`` update). The hand-written NumPy versions are
what a careful person would write: im2col with the same channel-major layout (col2im and the max-pool gradient
loop over the kernel taps, as chainrule's do), analytic backward passes, in-place updates. Before timing, every implementation's loss and updated parameters after one step are checked against the
hand-written version (and PyTorch's, when installed).

Run from the repository root: ``python -m benchmarks.nn`` (``--quick`` for fewer repeats, ``--only mlp,cnn`` to
pick workloads, ``--threads N`` for N BLAS and PyTorch threads (default 1, ``0`` for the libraries' defaults),
``--default-malloc`` to leave glibc's allocator thresholds alone, see NOTE: [allocator state]).
"""
import math
import os
import sys

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _pin_threads(argv):
    """``--threads N`` (default 1; 0 leaves the libraries' defaults): set the BLAS thread count before NumPy is
    imported (it is read at load time). One thread by default: the comparison is about the engine, and
    multi-threaded BLAS on a small shared machine mostly measures the scheduler (a 7-MFLOP GEMM was seen taking 8 ms
    with two threads and 0.2 ms with one)."""
    n = argv[argv.index("--threads") + 1] if "--threads" in argv else "1"
    if n == "0":
        return None
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = n
    return int(n)


_THREADS = _pin_threads(sys.argv)


def _pin_malloc(argv):
    """NOTE: [allocator state] A training step allocates and frees many arrays of a few MB. glibc's adaptive
    thresholds decide whether that memory goes back to the OS between steps (the next step then page-faults it in
    again, ~2 us per 4 KiB page on a VM: thousands per step, for every implementation alike, swamping the
    compute being compared). Unless ``--default-malloc`` is given, the thresholds are pinned high (mallopt) so
    every implementation is timed on its compute; the faults/step column shows the state each row ran in."""
    if "--default-malloc" in argv:
        return False
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
        ok = libc.mallopt(-3, 512 * 1024 * 1024) and libc.mallopt(-1, 1024 * 1024 * 1024)  # M_MMAP/M_TRIM_THRESHOLD
        return bool(ok)
    except OSError:
        return False


_MALLOC_PINNED = _pin_malloc(sys.argv)

import numpy as np  # noqa: E402
from numpy.lib.stride_tricks import sliding_window_view  # noqa: E402

import chainrule as cr  # noqa: E402
from chainrule import nn  # noqa: E402
from chainrule.nn import functional as F  # noqa: E402
from benchmarks.common import environment_summary, load_note, measure_rounds, print_table, try_import  # noqa: E402

LR = 0.01


# ---------------------------------------------------------------------------------------------------------
# Shared: parameters as NumPy arrays, copied into every implementation
# ---------------------------------------------------------------------------------------------------------

def _softmax_xent(logits, y):
    """Mean cross-entropy and its gradient with respect to the logits."""
    n = logits.shape[0]
    m = logits.max(axis=1, keepdims=True)
    e = np.exp(logits - m)
    s = e.sum(axis=1, keepdims=True)
    loss = float(np.mean(np.log(s[:, 0]) + m[:, 0] - logits[np.arange(n), y]))
    g = e / s
    g[np.arange(n), y] -= 1
    g /= n
    return loss, g


def _model_arrays(model):
    return {k: np.array(v.data, copy=True) for k, v in model.state_dict().items()}


def _load(model, arrays):
    model.load_state_dict({k: v.copy() for k, v in arrays.items()})
    return model


def _chainrule_steps(model, loss_of, data):
    """PyTorch-style and JAX-style training steps for ``model`` (a chainrule Module) and ``loss_of(model, *data)``.

    PyTorch style: Parameters and Tensor inputs, ``loss.backward()``, in-place SGD under ``no_grad``. JAX style:
    the same model holding NumPy arrays (``tree_map`` over the module), NumPy inputs, ``value_and_grad`` of the
    loss with respect to the whole model and a ``tree_map`` update that returns the next model.
    """
    params = list(model.parameters())
    tensors = tuple(cr.tensor(d) for d in data)

    def torch_style():
        for p in params:
            p.grad = None
        loss = loss_of(model, *tensors)
        loss.backward()
        with cr.no_grad():
            for p in params:
                p -= LR * p.grad
        return loss

    state = {"model": cr.tree_map(lambda p: np.array(p.data), model)}
    value_and_grad = cr.value_and_grad(loss_of)

    def jax_style():
        m = state["model"]
        loss, grads = value_and_grad(m, *data)
        state["model"] = cr.tree_map(lambda p, g: p - LR * g, m, grads)
        return loss

    return torch_style, jax_style, state


def _torch_step(tmodel, loss_of, torch):
    params = list(tmodel.parameters())

    def step():
        for p in params:
            p.grad = None
        loss = loss_of(tmodel)
        loss.backward()
        with torch.no_grad():
            for p in params:
                p.sub_(LR * p.grad)
        return loss

    return step


def _check_close(name, got, want, rtol=2e-3, atol=2e-5):
    for k in want:
        a, b = np.asarray(got[k], dtype=np.float64), np.asarray(want[k], dtype=np.float64)
        if a.shape != b.shape or not np.allclose(a, b, rtol=rtol, atol=atol):
            err = np.abs(a - b).max() if a.shape == b.shape else f"shapes {a.shape} vs {b.shape}"
            raise AssertionError(f"{name}: parameter {k} after one step differs from the hand-written NumPy step "
                                 f"(max abs diff {err})")


def _torch_model_from(arrays, build, torch):
    tmodel = build()
    tmodel.load_state_dict({k: torch.tensor(v) for k, v in arrays.items()})
    return tmodel


# ---------------------------------------------------------------------------------------------------------
# 1. MLP
# ---------------------------------------------------------------------------------------------------------

class _NumpyMLP:
    def __init__(self, arrays):
        self.w = [arrays[f"{i}.weight"].copy() for i in (0, 2, 4)]
        self.b = [arrays[f"{i}.bias"].copy() for i in (0, 2, 4)]

    def step(self, x, y):
        w, b = self.w, self.b
        h1 = x @ w[0].T
        h1 += b[0]
        a1 = np.maximum(h1, 0)
        h2 = a1 @ w[1].T
        h2 += b[1]
        a2 = np.maximum(h2, 0)
        logits = a2 @ w[2].T
        logits += b[2]
        loss, g = _softmax_xent(logits, y)
        gw2, gb2 = g.T @ a2, g.sum(0)
        g = g @ w[2]
        g *= h2 > 0
        gw1, gb1 = g.T @ a1, g.sum(0)
        g = g @ w[1]
        g *= h1 > 0
        gw0, gb0 = g.T @ x, g.sum(0)
        for p, gp in zip(w + b, (gw0, gw1, gw2, gb0, gb1, gb2)):
            p -= LR * gp
        return loss

    def arrays(self):
        out = {}
        for i, k in enumerate((0, 2, 4)):
            out[f"{k}.weight"], out[f"{k}.bias"] = self.w[i], self.b[i]
        return out


def workload_mlp(peers, repeats):
    torch = peers["torch"]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 784)).astype(np.float32)
    y = rng.integers(0, 10, 128)
    cr.manual_seed(0)

    def build():
        return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))

    arrays = _model_arrays(build())
    ref = _NumpyMLP(arrays)
    ref.step(x, y)
    want = ref.arrays()
    return _run_workload("MLP 784-512-512-10, batch 128", build, arrays, want, _xent_loss, (x, y),
                         lambda: _NumpyMLP(arrays), lambda r: r.step(x, y), peers, repeats,
                         torch_build=None if torch is None else lambda: torch.nn.Sequential(
                             torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512), torch.nn.ReLU(),
                             torch.nn.Linear(512, 10)),
                         torch_loss=None if torch is None else _torch_loss(torch, x, y,
                                                                          lambda t: t.nn.functional.cross_entropy))


def _xent_loss(m, x, y):
    return F.cross_entropy(m(x), y)


def _torch_loss(torch, x, y, fn_of):
    xt, yt = torch.tensor(x), torch.tensor(y)
    fn = fn_of(torch)
    return lambda m: fn(m(xt), yt)


# ---------------------------------------------------------------------------------------------------------
# 2. CNN
# ---------------------------------------------------------------------------------------------------------

def _im2col3x3(x):
    """``x`` (N, C, H, W) in any memory layout -> zero-padded channel-major columns (C*9, N*H*W)."""
    n, c, h, w = x.shape
    xp = np.zeros((c, n, h + 2, w + 2), x.dtype)
    xp[:, :, 1:-1, 1:-1] = x.transpose(1, 0, 2, 3)
    win = sliding_window_view(xp, (3, 3), axis=(2, 3))               # (C, N, H, W, 3, 3)
    return win.transpose(0, 4, 5, 1, 2, 3).reshape(c * 9, n * h * w)


def _col2im3x3(dcols, c, n, h, w):
    """The adjoint of ``_im2col3x3``: (C*9, N*H*W) -> (C, N, H, W) (channel-major)."""
    d = dcols.reshape(c, 3, 3, n, h, w)
    out = np.zeros((c, n, h + 2, w + 2), dcols.dtype)
    for i in range(3):
        for j in range(3):
            out[:, :, i:i + h, j:j + w] += d[:, i, j]
    return out[:, :, 1:-1, 1:-1]


class _NumpyCNN:
    def __init__(self, arrays):
        self.w1, self.b1 = arrays["0.weight"].copy(), arrays["0.bias"].copy()
        self.w2, self.b2 = arrays["3.weight"].copy(), arrays["3.bias"].copy()
        self.w3, self.b3 = arrays["6.weight"].copy(), arrays["6.bias"].copy()

    def step(self, x, y):
        n = x.shape[0]
        cols1 = _im2col3x3(x)                                          # (9, N*784)
        h1 = self.w1.reshape(8, -1) @ cols1
        h1 += self.b1[:, None]
        a1 = np.maximum(h1, 0).reshape(8, n, 28, 28)                   # channel-major
        t = (a1[:, :, 0::2, 0::2], a1[:, :, 0::2, 1::2], a1[:, :, 1::2, 0::2], a1[:, :, 1::2, 1::2])
        p1 = np.maximum(np.maximum(t[0], t[1]), np.maximum(t[2], t[3]))  # (8, N, 14, 14)
        cols2 = _im2col3x3(p1.transpose(1, 0, 2, 3))                    # (72, N*196)
        h2 = self.w2.reshape(16, -1) @ cols2
        h2 += self.b2[:, None]
        a2 = np.maximum(h2, 0)                                         # (16, N*196)
        f = a2.reshape(16, n, 196).transpose(1, 0, 2).reshape(n, -1)   # (N, 3136), NCHW order
        logits = f @ self.w3.T
        logits += self.b3
        loss, g = _softmax_xent(logits, y)
        gw3, gb3 = g.T @ f, g.sum(0)
        gf = (g @ self.w3).reshape(n, 16, 196).transpose(1, 0, 2).reshape(16, -1)
        gh2 = gf * (h2 > 0)
        gw2, gb2 = (gh2 @ cols2.T).reshape(self.w2.shape), gh2.sum(1)
        gp1 = _col2im3x3(self.w2.reshape(16, -1).T @ gh2, 8, n, 14, 14)  # (8, N, 14, 14)
        ga1 = np.zeros_like(a1)
        taken = np.zeros(p1.shape, bool)
        for k, (i, j) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1))):     # the first maximum gets the gradient
            hit = (t[k] == p1) & ~taken
            taken |= hit
            ga1[:, :, i::2, j::2] = gp1 * hit
        gh1 = ga1.reshape(8, -1) * (h1 > 0)
        gw1, gb1 = (gh1 @ cols1.T).reshape(self.w1.shape), gh1.sum(1)
        for p, gp in ((self.w1, gw1), (self.b1, gb1), (self.w2, gw2), (self.b2, gb2), (self.w3, gw3),
                      (self.b3, gb3)):
            p -= LR * gp
        return loss

    def arrays(self):
        return {"0.weight": self.w1, "0.bias": self.b1, "3.weight": self.w2, "3.bias": self.b2,
                "6.weight": self.w3, "6.bias": self.b3}


def workload_cnn(peers, repeats):
    torch = peers["torch"]
    rng = np.random.default_rng(1)
    x = rng.standard_normal((32, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, 32)
    cr.manual_seed(0)

    def build():
        return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, padding=1),
                             nn.ReLU(), nn.Flatten(), nn.Linear(16 * 14 * 14, 10))

    arrays = _model_arrays(build())
    ref = _NumpyCNN(arrays)
    ref.step(x, y)
    want = ref.arrays()

    def torch_build():
        t = torch.nn
        return t.Sequential(t.Conv2d(1, 8, 3, padding=1), t.ReLU(), t.MaxPool2d(2), t.Conv2d(8, 16, 3, padding=1),
                            t.ReLU(), t.Flatten(), t.Linear(16 * 14 * 14, 10))

    return _run_workload("CNN conv(8)-pool-conv(16)-linear, batch 32x1x28x28", build, arrays, want, _xent_loss,
                         (x, y), lambda: _NumpyCNN(arrays), lambda r: r.step(x, y),
                         peers, repeats, torch_build=None if torch is None else torch_build,
                         torch_loss=None if torch is None else _torch_loss(torch, x, y,
                                                                          lambda t: t.nn.functional.cross_entropy))


# ---------------------------------------------------------------------------------------------------------
# 3. Transformer block
# ---------------------------------------------------------------------------------------------------------

def _erf(x):
    import scipy.special
    return scipy.special.erf(x)


class _NumpyBlock:
    """Pre-norm encoder block: x + attn(ln1(x)); then + mlp(ln2(.)); loss = mean((out - target)^2)."""

    d, heads, eps = 128, 4, 1e-5

    def __init__(self, arrays):
        self.p = {k: v.copy() for k, v in arrays.items()}

    def _ln(self, x, w, b):
        mu = x.mean(-1, keepdims=True)
        c = x - mu
        rstd = 1.0 / np.sqrt((c * c).mean(-1, keepdims=True) + self.eps)
        xh = c * rstd
        return xh * w + b, (xh, rstd)

    def _ln_back(self, g, cache, w):
        xh, rstd = cache
        gw, gb = (g * xh).reshape(-1, xh.shape[-1]).sum(0), g.reshape(-1, g.shape[-1]).sum(0)
        gx = g * w
        gx = rstd * (gx - gx.mean(-1, keepdims=True) - xh * (gx * xh).mean(-1, keepdims=True))
        return gx, gw, gb

    def step(self, x, target):
        p = self.p
        bsz, t, d = x.shape
        h, dh = self.heads, d // self.heads
        n = bsz * t
        x2 = x.reshape(n, d)
        ln1, c1 = self._ln(x2, p["norm1.weight"], p["norm1.bias"])
        qkv = ln1 @ p["self_attn.in_proj_weight"].T
        qkv += p["self_attn.in_proj_bias"]
        qkv = qkv.reshape(bsz, t, 3, h, dh).transpose(2, 0, 3, 1, 4)      # (3, B, H, T, dh)
        q, k, v = qkv[0] * (1.0 / math.sqrt(dh)), qkv[1], qkv[2]
        s = q @ k.transpose(0, 1, 3, 2)
        s -= s.max(-1, keepdims=True)
        a = np.exp(s)
        a /= a.sum(-1, keepdims=True)
        o = (a @ v).transpose(0, 2, 1, 3).reshape(n, d)
        attn = o @ p["self_attn.out_proj.weight"].T
        attn += p["self_attn.out_proj.bias"]
        r1 = x2 + attn
        ln2, c2 = self._ln(r1, p["norm2.weight"], p["norm2.bias"])
        f1 = ln2 @ p["linear1.weight"].T
        f1 += p["linear1.bias"]
        cdf = 0.5 * (1.0 + _erf(f1 * np.float32(1 / np.sqrt(2))))
        act = f1 * cdf
        f2 = act @ p["linear2.weight"].T
        f2 += p["linear2.bias"]
        out = r1 + f2
        diff = out - target.reshape(n, d)
        loss = float(np.mean(diff * diff))
        g = diff * np.float32(2.0 / diff.size)
        grads = {}
        grads["linear2.weight"], grads["linear2.bias"] = g.T @ act, g.sum(0)
        gact = g @ p["linear2.weight"]
        pdf = np.exp(-0.5 * f1 * f1) * np.float32(1 / np.sqrt(2 * np.pi))
        gf1 = gact * (cdf + f1 * pdf)
        grads["linear1.weight"], grads["linear1.bias"] = gf1.T @ ln2, gf1.sum(0)
        gln2 = gf1 @ p["linear1.weight"]
        gr1, grads["norm2.weight"], grads["norm2.bias"] = self._ln_back(gln2, c2, p["norm2.weight"])
        gr1 += g
        grads["self_attn.out_proj.weight"], grads["self_attn.out_proj.bias"] = gr1.T @ o, gr1.sum(0)
        go = (gr1 @ p["self_attn.out_proj.weight"]).reshape(bsz, t, h, dh).transpose(0, 2, 1, 3)
        ga = go @ v.transpose(0, 1, 3, 2)
        gv = a.transpose(0, 1, 3, 2) @ go
        gs = a * (ga - (ga * a).sum(-1, keepdims=True))
        gq = (gs @ k) * (1.0 / math.sqrt(dh))
        gk = gs.transpose(0, 1, 3, 2) @ q
        gqkv = np.stack([gq, gk, gv]).transpose(1, 3, 0, 2, 4).reshape(n, 3 * d)
        grads["self_attn.in_proj_weight"], grads["self_attn.in_proj_bias"] = gqkv.T @ ln1, gqkv.sum(0)
        gln1 = gqkv @ p["self_attn.in_proj_weight"]
        _, grads["norm1.weight"], grads["norm1.bias"] = self._ln_back(gln1, c1, p["norm1.weight"])
        for k, gk_ in grads.items():
            p[k] -= LR * gk_
        return loss

    def arrays(self):
        return self.p


def workload_transformer(peers, repeats):
    torch = peers["torch"]
    rng = np.random.default_rng(2)
    x = rng.standard_normal((8, 64, 128)).astype(np.float32)
    target = rng.standard_normal((8, 64, 128)).astype(np.float32)
    cr.manual_seed(0)

    def build():
        return nn.TransformerEncoderLayer(128, 4, dim_feedforward=512, dropout=0.0, activation="gelu",
                                          batch_first=True, norm_first=True)

    arrays = _model_arrays(build())
    ref = _NumpyBlock(arrays)
    ref.step(x, target)
    want = ref.arrays()

    def torch_build():
        return torch.nn.TransformerEncoderLayer(128, 4, dim_feedforward=512, dropout=0.0, activation="gelu",
                                                batch_first=True, norm_first=True)

    def torch_loss():
        xx, tg = torch.tensor(x), torch.tensor(target)
        return lambda m: torch.nn.functional.mse_loss(m(xx), tg)

    return _run_workload("Transformer block d=128, 4 heads, seq 64, batch 8", build, arrays, want,
                         lambda m, x, t: F.mse_loss(m(x), t), (x, target), lambda: _NumpyBlock(arrays),
                         lambda r: r.step(x, target), peers, repeats, torch_build=None if torch is None else torch_build,
                         torch_loss=None if torch is None else torch_loss())


# ---------------------------------------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------------------------------------

def _run_workload(title, build, arrays, want, loss_of, data, make_ref, ref_step, peers, repeats, torch_build=None,
                  torch_loss=None):
    torch = peers["torch"]
    # Correctness: one step of each implementation from the same parameters.
    model = _load(build(), arrays)
    torch_style, _, _ = _chainrule_steps(model, loss_of, data)
    torch_style()
    _check_close(f"{title} / chainrule (PyTorch style)", _model_arrays(model), want)
    model = _load(build(), arrays)
    _, jax_style, state = _chainrule_steps(model, loss_of, data)
    jax_style()
    _check_close(f"{title} / chainrule (JAX style)", dict(state["model"].state_dict()), want)
    fns = {}
    ref = make_ref()
    fns["hand-written NumPy"] = lambda: ref_step(ref)
    model = _load(build(), arrays)
    fns["chainrule (PyTorch style)"] = _chainrule_steps(model, loss_of, data)[0]
    fns["chainrule (JAX style)"] = _chainrule_steps(_load(build(), arrays), loss_of, data)[1]
    if torch is not None and torch_build is not None:
        tmodel = _torch_model_from(arrays, torch_build, torch)
        tstep = _torch_step(tmodel, torch_loss, torch)
        tstep()
        got = {k: v.detach().numpy() for k, v in tmodel.state_dict().items()}
        _check_close(f"{title} / PyTorch", got, want)
        tmodel = _torch_model_from(arrays, torch_build, torch)
        fns["PyTorch (CPU, eager)"] = _torch_step(tmodel, torch_loss, torch)
    timings = measure_rounds(fns, repeats=repeats, warmup=3)
    print_table(f"{title}: one training step (forward + backward + SGD update), float32", timings,
                baseline="hand-written NumPy", faults=True)
    return timings


WORKLOADS = {"mlp": workload_mlp, "cnn": workload_cnn, "transformer": workload_transformer}


def main(argv):
    quick = "--quick" in argv
    only = None
    if "--only" in argv:
        only = argv[argv.index("--only") + 1].split(",")
    torch = try_import("torch", "skipping PyTorch")
    if torch is not None and _THREADS is not None:
        torch.set_num_threads(_THREADS)
    peers = {"torch": torch}
    print(environment_summary({"torch": torch}))
    if _THREADS is not None:
        print(f"BLAS and PyTorch pinned to {_THREADS} thread(s)")
    print("glibc malloc thresholds pinned (see NOTE: [allocator state])" if _MALLOC_PINNED else
          "default malloc thresholds")
    print(load_note())
    repeats = 10 if quick else 30
    for name, fn in WORKLOADS.items():
        if only is None or name in only:
            fn(peers, repeats)


if __name__ == "__main__":
    main(sys.argv[1:])
