"""chainrule.optim: every optimizer against its formula written out here (and torch.optim when installed),
functional vs stateful agreement, dtypes, param groups, closures, checkpoints, clipping, convergence."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import optim
from chainrule.optim import functional as F
from chainrule.optim.clip import (clip_by_global_norm, clip_by_value, clip_grad_norm_, clip_grad_value_,
                                  global_norm)
from chainrule.serialization import load, save

try:
    import torch
except Exception:  # torch is optional
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed")


# ---------------------------------------------------------------------------------------------------------
# Reference formulas, written out independently of the implementation (float64 NumPy, loops over steps)
# ---------------------------------------------------------------------------------------------------------

def ref_sgd(p, grads, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, maximize=False):
    buf = None
    for g in grads:
        g = -g if maximize else g
        g = g + weight_decay * p
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        p = p - lr * g
    return p


def ref_adam(p, grads, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, maximize=False,
             decoupled=False):
    b1, b2 = betas
    m = v = vmax = 0 * p
    for t, g in enumerate(grads, 1):
        g = -g if maximize else g
        if decoupled:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        vmax = np.maximum(vmax, v)
        m_hat = m / (1 - b1 ** t)
        v_hat = (vmax if amsgrad else v) / (1 - b2 ** t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return p


def ref_adamw(p, grads, weight_decay=1e-2, **kw):
    return ref_adam(p, grads, weight_decay=weight_decay, decoupled=True, **kw)


def ref_rmsprop(p, grads, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                maximize=False):
    v = g_avg = buf = 0 * p
    for g in grads:
        g = -g if maximize else g
        g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g ** 2
        g_avg = alpha * g_avg + (1 - alpha) * g
        denom = np.sqrt(v - g_avg ** 2 if centered else v) + eps
        if momentum:
            buf = momentum * buf + g / denom
            p = p - lr * buf
        else:
            p = p - lr * g / denom
    return p


def ref_adagrad(p, grads, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                maximize=False):
    s = 0 * p + initial_accumulator_value
    for t, g in enumerate(grads, 1):
        g = -g if maximize else g
        g = g + weight_decay * p
        s = s + g ** 2
        p = p - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(s) + eps)
    return p


def ref_lion(p, grads, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0, maximize=False):
    b1, b2 = betas
    m = 0 * p
    for g in grads:
        g = -g if maximize else g
        p = p * (1 - lr * weight_decay) - lr * np.sign(b1 * m + (1 - b1) * g)
        m = b2 * m + (1 - b2) * g
    return p


CASES = [
    ("SGD", ref_sgd, dict(lr=0.1)),
    ("SGD", ref_sgd, dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.05)),
    ("SGD", ref_sgd, dict(lr=0.05, momentum=0.8, nesterov=True, maximize=True)),
    ("Adam", ref_adam, dict(lr=0.05)),
    ("Adam", ref_adam, dict(lr=0.05, betas=(0.8, 0.9), amsgrad=True, weight_decay=0.1, maximize=True)),
    ("AdamW", ref_adamw, dict(lr=0.05)),
    ("AdamW", ref_adamw, dict(lr=0.05, weight_decay=0.3, amsgrad=True)),
    ("RMSprop", ref_rmsprop, dict(lr=0.01)),
    ("RMSprop", ref_rmsprop, dict(lr=0.01, alpha=0.9, momentum=0.7, centered=True, weight_decay=0.1)),
    ("Adagrad", ref_adagrad, dict(lr=0.1)),
    ("Adagrad", ref_adagrad, dict(lr=0.1, lr_decay=0.05, initial_accumulator_value=0.2, weight_decay=0.1,
                                  maximize=True)),
    ("Lion", ref_lion, dict(lr=0.01)),
    ("Lion", ref_lion, dict(lr=0.01, betas=(0.8, 0.95), weight_decay=0.5)),
]
IDS = [f"{name}-{i}" for i, (name, _, _) in enumerate(CASES)]
FUNCTIONAL = {"SGD": F.sgd, "Adam": F.adam, "AdamW": F.adamw, "RMSprop": F.rmsprop, "Adagrad": F.adagrad,
              "Lion": F.lion}
STEPS = 6


def _problem(dtype, seed=0, shape=(3, 4)):
    rng = np.random.default_rng(seed)
    p0 = rng.standard_normal(shape).astype(dtype)
    grads = [rng.standard_normal(shape).astype(dtype) for _ in range(STEPS)]
    return p0, grads


def _run_stateful(name, kw, p0, grads):
    w = cr.tensor(p0, requires_grad=True)
    opt = getattr(optim, name)([w], **kw)
    for g in grads:
        w.grad = cr.tensor(g)
        opt.step()
    return w, opt


def _run_functional(name, kw, p0, grads):
    opt = FUNCTIONAL[name](**kw)
    params = {"w": p0.copy()}
    state = opt.init(params)
    for g in grads:
        params, state = opt.update({"w": g}, state, params)
    return params["w"], state


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,ref,kw", CASES, ids=IDS)
def test_matches_formula(name, ref, kw, dtype):
    p0, grads = _problem(dtype)
    expected = ref(p0.astype(np.float64), [g.astype(np.float64) for g in grads], **kw)
    w, opt = _run_stateful(name, kw, p0, grads)
    assert w.dtype == dtype and w.is_leaf and w.requires_grad
    tol = dict(rtol=1e-11, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-5, atol=2e-6)
    if name == "Lion":  # a sign flip of a near-zero coordinate in float32 would move by 2 * lr: compare in float64
        tol = dict(rtol=1e-11, atol=1e-12) if dtype == np.float64 else dict(rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(w.data, expected, **tol)
    for s in opt.state[w].values():
        if isinstance(s, cr.Tensor):
            assert s.dtype == dtype and s.shape == p0.shape


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,ref,kw", CASES, ids=IDS)
def test_functional_and_stateful_identical(name, ref, kw, dtype):
    p0, grads = _problem(dtype, seed=1)
    w, opt = _run_stateful(name, kw, p0, grads)
    pf, state = _run_functional(name, kw, p0, grads)
    assert pf.dtype == dtype
    np.testing.assert_array_equal(w.data, pf)  # bit for bit: the same per-leaf function
    for k, v in opt.state[w].items():
        expected = state[k]["w"]
        if isinstance(v, cr.Tensor):
            np.testing.assert_array_equal(v.data, expected)
            assert expected.dtype == dtype
        else:
            assert v == expected


TORCH_CASES = [c for c in CASES if c[0] != "Lion"]


@needs_torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,ref,kw", TORCH_CASES, ids=[i for i in IDS if not i.startswith("Lion")])
def test_matches_torch(name, ref, kw, dtype):
    p0, grads = _problem(dtype, seed=2)
    w, _ = _run_stateful(name, kw, p0, grads)
    tw = torch.tensor(p0.copy(), requires_grad=True)
    topt = getattr(torch.optim, name)([tw], **kw)
    for g in grads:
        tw.grad = torch.tensor(g)
        topt.step()
    tol = dict(rtol=1e-12, atol=1e-14) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(w.data, tw.detach().numpy(), **tol)


@needs_torch
@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_defaults_match_torch(name):
    import inspect
    mine = inspect.signature(getattr(optim, name)).parameters
    theirs = inspect.signature(getattr(torch.optim, name)).parameters
    for key, param in mine.items():
        if key == "params":
            continue
        assert key in theirs, key
        assert param.default == theirs[key].default, key


# ---------------------------------------------------------------------------------------------------------
# Stateful API
# ---------------------------------------------------------------------------------------------------------

def test_step_skips_params_without_grad_and_records_nothing():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    b = cr.tensor([3.0], requires_grad=True)
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = cr.tensor([1.0, -1.0])
    opt.step()
    assert b.data.tolist() == [3.0] and b not in opt.state
    assert a.is_leaf and a.grad_fn is None and a.requires_grad
    np.testing.assert_allclose(a.data, [0.9, 2.1], rtol=1e-6)


def test_zero_grad():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    w.grad = cr.tensor([3.0, 4.0])
    opt.zero_grad(set_to_none=False)
    assert w.grad is not None and w.grad.data.tolist() == [0.0, 0.0] and not w.grad.requires_grad
    opt.zero_grad()
    assert w.grad is None


def test_closure_is_called_with_grad_enabled_and_its_loss_returned():
    w = cr.tensor([2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.25)
    seen = []

    def closure():
        seen.append(cr.is_grad_enabled())
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with cr.no_grad():
        loss = opt.step(closure)
    assert seen == [True]
    assert float(loss.item()) == 4.0
    np.testing.assert_allclose(w.data, [1.0])  # 2 - 0.25 * 4


def test_param_groups_per_group_options():
    p0, grads = _problem(np.float64, seed=3, shape=(2,))
    a, b = cr.tensor(p0, requires_grad=True), cr.tensor(p0, requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5, "momentum": 0.9}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[0]["momentum"] == 0 and opt.param_groups[1]["momentum"] == 0.9
    for g in grads:
        a.grad, b.grad = cr.tensor(g), cr.tensor(g)
        opt.step()
    np.testing.assert_allclose(a.data, ref_sgd(p0, grads, lr=0.1), rtol=1e-12)
    np.testing.assert_allclose(b.data, ref_sgd(p0, grads, lr=0.5, momentum=0.9), rtol=1e-12)


def test_add_param_group_and_errors():
    a, b = cr.tensor([1.0], requires_grad=True), cr.tensor([2.0], requires_grad=True)
    opt = optim.Adam([a], lr=0.1)
    opt.add_param_group({"params": [b], "lr": 0.01, "betas": (0.5, 0.6)})
    assert opt.param_groups[1]["eps"] == 1e-8 and opt.param_groups[1]["betas"] == (0.5, 0.6)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        optim.SGD([np.ones(2)], lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD([{"params": {a}}], lr=0.1)
    with pytest.raises(TypeError, match="should be an iterable of Tensors"):
        optim.SGD(a, lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([a * 2], lr=0.1)


def test_named_parameters():
    a = cr.tensor([1.0], requires_grad=True)
    opt = optim.SGD([("weight", a)], lr=0.1)
    assert opt.param_groups[0]["param_names"] == ["weight"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["weight"]


@pytest.mark.parametrize("make,match", [
    (lambda p: optim.SGD(p, lr=-1.0), "Invalid learning rate: -1.0"),
    (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "Nesterov momentum requires a momentum and zero dampening"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=-0.5), "Invalid momentum value: -0.5"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.9)), "Invalid beta parameter at index 0: 1.0"),
    (lambda p: optim.Adam(p, eps=-1.0), "Invalid epsilon value: -1.0"),
    (lambda p: optim.AdamW(p, weight_decay=-0.1), "Invalid weight_decay value: -0.1"),
    (lambda p: optim.RMSprop(p, alpha=-0.1), "Invalid alpha value: -0.1"),
    (lambda p: optim.Adagrad(p, lr_decay=-1), "Invalid lr_decay value: -1"),
    (lambda p: optim.Lion(p, betas=(0.9, 1.5)), "Invalid beta parameter at index 1: 1.5"),
    (lambda p: optim.SGD([{"params": p, "lr": -2.0}], lr=0.1), "Invalid learning rate: -2.0"),
])
def test_invalid_hyperparameters(make, match):
    with pytest.raises(ValueError, match=match):
        make([cr.tensor([1.0], requires_grad=True)])


def test_gradient_shape_and_dtype_handling():
    w = cr.tensor(np.ones(3, np.float32), requires_grad=True)
    opt = optim.Adam([w], lr=0.1)
    w.grad = cr.tensor(np.ones(3, np.float64))  # cast to the parameter's dtype, as PyTorch's in-place update does
    opt.step()
    assert w.dtype == np.float32 and opt.state[w]["exp_avg"].dtype == np.float32
    w.grad = cr.tensor(np.ones(4, np.float32))
    with pytest.raises(RuntimeError, match=r"Adam.step: the gradient of a parameter has shape \(4,\) but the "
                                           r"parameter has shape \(3,\)"):
        opt.step()


def test_numpy_scalar_hyperparameters_keep_float32():
    w = cr.tensor(np.ones(2, np.float32), requires_grad=True)
    opt = optim.SGD([w], lr=np.float64(0.1), momentum=np.float64(0.5))
    assert type(opt.param_groups[0]["lr"]) is float
    w.grad = cr.tensor(np.ones(2, np.float32))
    opt.step()
    assert w.dtype == np.float32 and opt.state[w]["momentum_buffer"].dtype == np.float32


def test_complex_parameters_are_optimized_as_real_pairs():
    rng = np.random.default_rng(4)
    z0 = (rng.standard_normal(3) + 1j * rng.standard_normal(3)).astype(np.complex128)
    gz = [(rng.standard_normal(3) + 1j * rng.standard_normal(3)) for _ in range(4)]
    w = cr.tensor(z0, requires_grad=True)
    opt = optim.Adam([w], lr=0.1, amsgrad=True)
    for g in gz:
        w.grad = cr.tensor(g)
        opt.step()
    as_pairs = lambda z: np.stack([z.real, z.imag], -1)  # noqa: E731
    expected = ref_adam(as_pairs(z0), [as_pairs(g) for g in gz], lr=0.1, amsgrad=True)
    np.testing.assert_allclose(np.stack([w.data.real, w.data.imag], -1), expected, rtol=1e-12)
    assert w.dtype == np.complex128 and opt.state[w]["exp_avg"].dtype == np.complex128


def test_adagrad_state_exists_before_the_first_step():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.Adagrad([w], initial_accumulator_value=0.5)
    assert opt.state[w]["step"] == 0
    np.testing.assert_array_equal(opt.state[w]["sum"].data, [0.5, 0.5])


def test_repr():
    opt = optim.SGD([cr.tensor([1.0], requires_grad=True)], lr=0.1)
    assert repr(opt).startswith("SGD (\nParameter Group 0\n    dampening: 0\n")


# ---------------------------------------------------------------------------------------------------------
# Checkpoints
# ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,kw", [("SGD", dict(lr=0.1, momentum=0.9, dampening=0.2)),
                                     ("Adam", dict(lr=0.05, amsgrad=True)), ("AdamW", dict(lr=0.05)),
                                     ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True)),
                                     ("Adagrad", dict(lr=0.1, lr_decay=0.1)), ("Lion", dict(lr=0.01))])
@pytest.mark.parametrize("via_file", [False, True])
def test_resume_is_bit_for_bit(name, kw, via_file, tmp_path):
    rng = np.random.default_rng(5)
    p0 = {"a": rng.standard_normal((2, 3)).astype(np.float32), "b": rng.standard_normal(4)}
    grads = [{k: rng.standard_normal(v.shape).astype(v.dtype) for k, v in p0.items()} for _ in range(7)]

    def make(values):
        ps = [cr.tensor(values["a"], requires_grad=True), cr.tensor(values["b"], requires_grad=True)]
        return ps, getattr(optim, name)([{"params": ps[:1]}, {"params": ps[1:], "lr": kw["lr"] / 2}], **kw)

    def train(ps, opt, gs):
        for g in gs:
            ps[0].grad, ps[1].grad = cr.tensor(g["a"]), cr.tensor(g["b"])
            opt.step()

    ps, opt = make(p0)
    train(ps, opt, grads[:4])
    checkpoint = {"model": {"a": ps[0].detach(), "b": ps[1].detach()}, "optim": opt.state_dict()}
    if via_file:
        save(checkpoint, tmp_path / "ckpt.npz")
    train(ps, opt, grads[4:])

    if via_file:
        checkpoint = load(tmp_path / "ckpt.npz")
    ps2, opt2 = make({k: v.data for k, v in checkpoint["model"].items()})
    opt2.load_state_dict(checkpoint["optim"])
    train(ps2, opt2, grads[4:])
    for x, y in zip(ps, ps2):
        assert x.dtype == y.dtype
        np.testing.assert_array_equal(x.data, y.data)
    for x, y in zip(ps, ps2):
        for k, v in opt.state[x].items():
            w = opt2.state[y][k]
            if isinstance(v, cr.Tensor):
                assert v.dtype == w.dtype
                np.testing.assert_array_equal(v.data, w.data)
            else:
                assert v == w


def test_state_dict_layout_and_snapshot():
    a, b = cr.tensor([1.0], requires_grad=True), cr.tensor([2.0, 3.0], requires_grad=True)
    opt = optim.Adam([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    a.grad, b.grad = cr.tensor([1.0]), cr.tensor([1.0, 1.0])
    opt.step()
    sd = opt.state_dict()
    assert set(sd) == {"state", "param_groups"}
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1]]
    assert sd["param_groups"][1]["lr"] == 0.5 and sd["param_groups"][0]["betas"] == (0.9, 0.999)
    assert sd["state"][1]["step"] == 1 and sd["state"][1]["exp_avg"].shape == (2,)
    before = sd["state"][0]["exp_avg"].data.copy()
    opt.step()  # a later step must not change the snapshot
    np.testing.assert_array_equal(sd["state"][0]["exp_avg"].data, before)


def test_load_state_dict_errors():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.Adam([a], lr=0.1)
    a.grad = cr.tensor([1.0, 1.0])
    opt.step()
    sd = opt.state_dict()
    with pytest.raises(ValueError, match="different number of parameter groups"):
        optim.Adam([{"params": [cr.tensor([1.0, 2.0], requires_grad=True)]},
                    {"params": [cr.tensor([1.0], requires_grad=True)]}]).load_state_dict(sd)
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        optim.Adam([cr.tensor([1.0, 2.0], requires_grad=True),
                    cr.tensor([1.0], requires_grad=True)]).load_state_dict(sd)
    with pytest.raises(ValueError, match=r"'exp_avg' has shape \(2,\) but the parameter has shape \(3,\)"):
        optim.Adam([cr.tensor([1.0, 2.0, 3.0], requires_grad=True)]).load_state_dict(sd)
    with pytest.raises(ValueError, match=r"missing keys \['max_exp_avg_sq'\], unexpected keys \[\]"):
        sd_ams = dict(sd, param_groups=[dict(sd["param_groups"][0], amsgrad=True)])
        optim.Adam([cr.tensor([1.0, 2.0], requires_grad=True)]).load_state_dict(sd_ams)
    with pytest.raises(ValueError, match=r"does not match SGD with these options: missing keys "
                                         r"\['momentum_buffer'\], unexpected keys \['exp_avg', 'exp_avg_sq'\]"):
        optim.SGD([cr.tensor([1.0, 2.0], requires_grad=True)], momentum=0.9).load_state_dict(sd)


def test_load_state_dict_casts_to_parameter_dtype():
    a = cr.tensor(np.ones(2, np.float64), requires_grad=True)
    opt = optim.Adam([a], lr=0.1)
    a.grad = cr.tensor(np.ones(2))
    opt.step()
    b = cr.tensor(np.ones(2, np.float32), requires_grad=True)
    opt2 = optim.Adam([b], lr=0.1)
    opt2.load_state_dict(opt.state_dict())
    assert opt2.state[b]["exp_avg"].dtype == np.float32 and opt2.state[b]["step"] == 1


# ---------------------------------------------------------------------------------------------------------
# Functional API
# ---------------------------------------------------------------------------------------------------------

def test_functional_on_nested_pytrees_and_overrides():
    params = {"layer": [np.ones(2), np.zeros((2, 2))], "bias": np.float64(0.5)}
    grads = {"layer": [np.full(2, 2.0), np.ones((2, 2))], "bias": np.float64(1.0)}
    opt = F.sgd(lr=0.1, momentum=0.5)
    state = opt.init(params)
    assert set(state) == {"step", "momentum_buffer"} and state["step"] == {"layer": [0, 0], "bias": 0}
    new, state2 = opt.update(grads, state, params)
    np.testing.assert_allclose(new["layer"][0], [0.8, 0.8])
    new_lr, _ = opt.update(grads, state, params, lr=1.0)  # a per-call override (how schedules plug in)
    np.testing.assert_allclose(new_lr["layer"][0], [-1.0, -1.0])
    assert state["step"]["bias"] == 0 and state2["step"]["bias"] == 1  # the input state was not mutated
    assert opt.hyperparams["lr"] == 0.1


def test_functional_state_round_trips_through_save(tmp_path):
    opt = F.adam(lr=0.1)
    params = {"w": np.ones(3, np.float32)}
    state = opt.init(params)
    params, state = opt.update({"w": np.ones(3, np.float32)}, state, params)
    save({"params": params, "state": state}, tmp_path / "f.npz")
    back = load(tmp_path / "f.npz")
    p1, s1 = opt.update({"w": np.ones(3, np.float32)}, state, params)
    p2, s2 = opt.update({"w": np.ones(3, np.float32)}, back["state"], back["params"])
    np.testing.assert_array_equal(p1["w"], p2["w"])
    assert p2["w"].dtype == np.float32 and s2["step"]["w"] == 2


def test_functional_errors():
    opt = F.adam()
    params = {"w": np.ones(2)}
    state = opt.init(params)
    with pytest.raises(ValueError, match=r"adam.update: grads have structure"):
        opt.update({"v": np.ones(2)}, state, params)
    with pytest.raises(ValueError, match=r"missing keys \['max_exp_avg_sq'\]"):
        opt.update({"w": np.ones(2)}, state, params, amsgrad=True)
    with pytest.raises(ValueError, match=r"gradient leaf 0 has shape \(3,\) but its parameter has shape \(2,\)"):
        opt.update({"w": np.ones(3)}, state, params)
    with pytest.raises(TypeError, match="parameter leaf 0 is a ndarray of dtype int64"):
        opt.init({"w": np.arange(3)})
    with pytest.raises(TypeError, match=r"unexpected hyperparameters \['momentum'\]"):
        F.FunctionalOptimizer(optim.rules.ADAM, momentum=0.9)
    with pytest.raises(ValueError, match="Invalid learning rate: -0.1"):
        F.sgd(lr=-0.1)


def test_hypergradient_through_an_update_step():
    # loss(w - lr * g) with w, g fixed: d/dlr = -g . grad_loss(w - lr * g); for loss = sum(x^2)/2 that is
    # -g . (w - lr * g)
    w, g = np.array([1.0, -2.0, 0.5]), np.array([0.3, 0.1, -0.4])
    opt = F.sgd(lr=0.0)
    state = opt.init(w)

    def loss_after_step(lr):
        new, _ = opt.update(g, state, w, lr=lr)
        return cnp.sum(new ** 2) / 2

    lr = 0.7
    np.testing.assert_allclose(cr.grad(loss_after_step)(lr), -g @ (w - lr * g), rtol=1e-12)


def test_vmap_over_a_batch_of_parameter_sets():
    opt = F.adam(lr=0.1, amsgrad=True)

    def two_steps(p, g):
        state = opt.init(p)
        p, state = opt.update(g, state, p)
        return opt.update(g * 0.5, state, p)[0]

    rng = np.random.default_rng(8)
    P, G = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    expected = np.stack([ref_adam(p, [g, g * 0.5], lr=0.1, amsgrad=True) for p, g in zip(P, G)])
    np.testing.assert_allclose(cr.vmap(two_steps)(P, G), expected, rtol=1e-12)


# ---------------------------------------------------------------------------------------------------------
# Convergence: linear regression with every optimizer, stateful and functional
# ---------------------------------------------------------------------------------------------------------

def _regression(dtype):
    rng = np.random.default_rng(6)
    X = rng.standard_normal((64, 3)).astype(dtype)
    w_true = np.array([1.5, -2.0, 0.5], dtype)
    y = X @ w_true + dtype(0.3)
    return X, y, w_true


CONVERGE = [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(lr=0.05)), ("AdamW", dict(lr=0.05, weight_decay=0)),
            ("RMSprop", dict(lr=0.01)), ("Adagrad", dict(lr=0.5)), ("Lion", dict(lr=0.01, betas=(0.9, 0.9)))]


@pytest.mark.parametrize("name,kw", CONVERGE)
def test_linear_regression_converges_stateful(name, kw):
    X, y, w_true = _regression(np.float32)
    w = cr.tensor(np.zeros(3, np.float32), requires_grad=True)
    b = cr.tensor(np.zeros((), np.float32), requires_grad=True)
    opt = getattr(optim, name)([w, b], **kw)
    for _ in range(300):
        r = X @ w.data + b.data - y  # the gradient of mean squared error / 2, by hand
        w.grad, b.grad = cr.tensor(X.T @ r / len(y)), cr.tensor(r.mean())
        opt.step()
    assert w.dtype == np.float32
    np.testing.assert_allclose(w.data, w_true, atol=0.05)
    np.testing.assert_allclose(b.data, 0.3, atol=0.05)


@pytest.mark.parametrize("name,kw", CONVERGE)
def test_linear_regression_converges_functional(name, kw):
    X, y, w_true = _regression(np.float64)
    params = {"w": np.zeros(3), "b": np.zeros(())}
    loss = lambda p: cnp.mean((X @ p["w"] + p["b"] - y) ** 2) / 2  # noqa: E731
    opt = FUNCTIONAL[name](**kw)
    state = opt.init(params)
    first = loss(params)
    for _ in range(300):
        params, state = opt.update(cr.grad(loss)(params), state, params)
    assert loss(params) < 1e-2 * first
    np.testing.assert_allclose(params["w"], w_true, atol=0.05)


def test_training_with_backward():
    X, y, w_true = _regression(np.float32)
    Xt, yt = cr.tensor(X), cr.tensor(y)
    w = cr.tensor(np.zeros(3, np.float32), requires_grad=True)
    opt = optim.Adam([w], lr=0.05)
    for _ in range(200):
        opt.zero_grad()
        loss = ((Xt @ w - yt) ** 2).mean()
        loss.backward()
        opt.step()
    np.testing.assert_allclose(w.data, w_true, atol=0.35)  # the intercept 0.3 is not modelled


def test_nn_linear_smoke():
    nn = pytest.importorskip("chainrule.nn")
    if not hasattr(nn, "Linear"):
        pytest.skip("chainrule.nn.Linear not available")
    model = nn.Linear(3, 1)
    opt = optim.SGD(model.parameters(), lr=0.1)
    X, y, _ = _regression(np.float32)
    Xt, yt = cr.tensor(X), cr.tensor(y.reshape(-1, 1))
    losses = []
    for _ in range(50):
        opt.zero_grad()
        loss = ((model(Xt) - yt) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(float(loss.item()))
    assert losses[-1] < 0.05 * losses[0]


def test_functional_on_an_nn_module_pytree():
    nn = pytest.importorskip("chainrule.nn")
    if not hasattr(nn, "Linear"):
        pytest.skip("chainrule.nn.Linear not available")
    X, y, _ = _regression(np.float32)
    model = nn.Linear(3, 1)
    loss = lambda m: cnp.mean((m(X) - y.reshape(-1, 1)) ** 2)  # noqa: E731
    opt = F.adam(lr=0.05)
    state = opt.init(model)
    first = float(loss(model))
    for _ in range(100):
        model, state = opt.update(cr.grad(loss)(model), state, model)
    assert type(model) is nn.Linear and float(loss(model)) < 0.05 * first


# ---------------------------------------------------------------------------------------------------------
# Gradient clipping
# ---------------------------------------------------------------------------------------------------------

def _with_grads(*grads):
    ps = []
    for g in grads:
        p = cr.tensor(np.zeros_like(g), requires_grad=True)
        p.grad = cr.tensor(g)
        ps.append(p)
    return ps


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf")])
def test_clip_grad_norm(norm_type):
    g1, g2 = np.array([3.0, -4.0], np.float32), np.array([[1.0, 2.0], [-2.0, 0.5]], np.float32)
    flat = np.concatenate([g1.ravel(), g2.ravel()]).astype(np.float64)
    expected = np.linalg.norm(flat, ord=norm_type)
    ps = _with_grads(g1, g2)
    total = clip_grad_norm_(ps, max_norm=1.0, norm_type=norm_type)
    assert isinstance(total, cr.Tensor) and total.dtype == np.float32
    np.testing.assert_allclose(float(total.item()), expected, rtol=1e-6)
    coef = 1.0 / (expected + 1e-6)
    np.testing.assert_allclose(ps[0].grad.data, g1 * coef, rtol=1e-6)
    np.testing.assert_allclose(ps[1].grad.data, g2 * coef, rtol=1e-6)
    assert ps[0].grad.dtype == np.float32
    ps = _with_grads(g1, g2)  # below the threshold: unchanged
    clip_grad_norm_(ps, max_norm=100.0, norm_type=norm_type)
    np.testing.assert_array_equal(ps[0].grad.data, g1)


def test_clip_grad_norm_shared_gradient_buffers_are_scaled_once():
    g = np.array([3.0, 4.0])
    a, b = cr.tensor([0.0, 0.0], requires_grad=True), cr.tensor([0.0, 0.0], requires_grad=True)
    a.grad, b.grad = cr.from_numpy(g), cr.from_numpy(g)  # both gradients are one array
    total = clip_grad_norm_([a, b, cr.tensor([1.0], requires_grad=True)], 1.0)
    np.testing.assert_allclose(float(total.item()), np.sqrt(50.0))
    np.testing.assert_allclose(a.grad.data, g / (np.sqrt(50.0) + 1e-6))
    np.testing.assert_allclose(b.grad.data, g / (np.sqrt(50.0) + 1e-6))
    np.testing.assert_array_equal(g, [3.0, 4.0])  # the original buffer was not written into


def test_clip_grad_norm_nonfinite_and_empty():
    ps = _with_grads(np.array([np.inf, 1.0]))
    with pytest.raises(RuntimeError, match="The total norm of order 2.0 for gradients from `parameters` is "
                                           "non-finite"):
        clip_grad_norm_(ps, 1.0, error_if_nonfinite=True)
    assert float(clip_grad_norm_([cr.tensor([1.0], requires_grad=True)], 1.0).item()) == 0.0


def test_clip_grad_value():
    ps = _with_grads(np.array([-3.0, 0.5, 2.0], np.float32))
    assert clip_grad_value_(ps, 1.0) is None
    np.testing.assert_array_equal(ps[0].grad.data, [-1.0, 0.5, 1.0])
    assert ps[0].grad.dtype == np.float32


@needs_torch
def test_clipping_matches_torch():
    rng = np.random.default_rng(7)
    gs = [rng.standard_normal(s) for s in [(3,), (2, 4)]]
    for norm_type in (2.0, 1.5, float("inf")):
        ps = _with_grads(*gs)
        tps = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in gs]
        for t, g in zip(tps, gs):
            t.grad = torch.tensor(g)
        total = clip_grad_norm_(ps, 0.5, norm_type)
        ttotal = torch.nn.utils.clip_grad_norm_(tps, 0.5, norm_type)
        np.testing.assert_allclose(float(total.item()), ttotal.item(), rtol=1e-12)
        for p, t in zip(ps, tps):
            np.testing.assert_allclose(p.grad.data, t.grad.numpy(), rtol=1e-12)


def test_pure_clipping_on_pytrees():
    tree = {"a": np.array([3.0]), "b": [np.array([4.0])]}
    np.testing.assert_allclose(global_norm(tree), 5.0)
    clipped, norm = clip_by_global_norm(tree, 2.5)
    np.testing.assert_allclose(clipped["a"], [1.5], rtol=1e-6)
    np.testing.assert_allclose(clipped["b"][0], [2.0], rtol=1e-6)
    assert clip_by_value(tree, 3.5)["b"][0].tolist() == [3.5]
    # differentiable: d/dx of the clipped norm-scaled value through a traced tree
    f = lambda x: clip_by_global_norm({"x": x}, 1.0)[0]["x"][0]  # noqa: E731  x / |x| for |x| > 1
    x = np.array([3.0, 4.0])
    np.testing.assert_allclose(cr.grad(f)(x), [1 / 5 - 9 / 125, -12 / 125], rtol=1e-5)
