"""chainrule.optim.lr_scheduler: closed forms, PyTorch agreement (when torch is installed), checkpoints."""
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim
from chainrule.optim import lr_scheduler as S
from chainrule.serialization import load, save

try:
    import torch
except Exception:  # torch is optional
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed")
N = 30


def _opt(lr=1.0, cls=optim.SGD, groups=1, **kw):
    params = [cr.tensor([1.0], requires_grad=True) for _ in range(groups)]
    return cls([{"params": [p], "lr": lr * (i + 1)} for i, p in enumerate(params)], lr=lr, **kw)


def _trace(opt, sched, n=N):
    """The lr of every group after construction and after each of n steps."""
    out = [list(sched.get_last_lr())]
    for _ in range(n):
        opt.step()
        sched.step()
        out.append(list(sched.get_last_lr()))
        assert out[-1] == [g["lr"] for g in opt.param_groups]
    return np.array(out)


# ---------------------------------------------------------------------------------------------------------
# Closed forms, written out
# ---------------------------------------------------------------------------------------------------------

T = np.arange(N + 1)
CLOSED = [
    (lambda o: S.StepLR(o, step_size=4, gamma=0.5), lambda b, t: b * 0.5 ** (t // 4)),
    (lambda o: S.MultiStepLR(o, milestones=[3, 7, 7, 20], gamma=0.1),
     lambda b, t: b * 0.1 ** ((t >= 3) + 2 * (t >= 7) + (t >= 20))),
    (lambda o: S.ExponentialLR(o, gamma=0.9), lambda b, t: b * 0.9 ** t),
    (lambda o: S.CosineAnnealingLR(o, T_max=10, eta_min=0.1),
     lambda b, t: 0.1 + (b - 0.1) * (1 + np.cos(np.pi * t / 10)) / 2),
    (lambda o: S.LinearLR(o, start_factor=0.2, end_factor=0.9, total_iters=8),
     lambda b, t: b * (0.2 + 0.7 * np.minimum(t, 8) / 8)),
    (lambda o: S.ConstantLR(o, factor=0.5, total_iters=4), lambda b, t: b * np.where(t < 4, 0.5, 1.0)),
    (lambda o: S.PolynomialLR(o, total_iters=12, power=2.0), lambda b, t: b * (1 - np.minimum(t, 12) / 12) ** 2),
    (lambda o: S.LambdaLR(o, lambda e: 1 / (1 + e)), lambda b, t: b / (1 + t)),
    (lambda o: S.MultiplicativeLR(o, lambda e: 0.95), lambda b, t: b * 0.95 ** t),
    (lambda o: S.WarmupCosineLR(o, warmup_steps=5, total_steps=25, eta_min=0.01, warmup_start_factor=0.1),
     lambda b, t: np.where(t < 5, b * (0.1 + 0.9 * t / 5),
                           0.01 + (b - 0.01) * (1 + np.cos(np.pi * np.minimum(1, (t - 5) / 20))) / 2)),
    (lambda o: S.CosineAnnealingWarmRestarts(o, T_0=4, T_mult=2, eta_min=0.05),
     lambda b, t: 0.05 + (b - 0.05) * (1 + np.cos(np.pi * _sgdr(t, 4, 2)[0] / _sgdr(t, 4, 2)[1])) / 2),
]


def _sgdr(t, T0, mult):
    t = np.asarray(t)
    cur, period = t.copy(), np.full_like(t, T0)
    for i, e in enumerate(t):
        c, p = e, T0
        while c >= p:
            c, p = c - p, p * mult
        cur[i], period[i] = c, p
    return cur, period


@pytest.mark.parametrize("make,formula", CLOSED, ids=[f"closed{i}" for i in range(len(CLOSED))])
def test_matches_closed_form(make, formula):
    opt = _opt(lr=0.5, groups=2)
    got = _trace(opt, make(opt))
    for g, base in enumerate([0.5, 1.0]):
        np.testing.assert_allclose(got[:, g], formula(base, T), rtol=1e-12, atol=1e-15)


def test_one_cycle_closed_form_and_momentum():
    opt = _opt(lr=0.1, momentum=0.9)
    sched = S.OneCycleLR(opt, max_lr=2.0, total_steps=N + 1, pct_start=0.25)
    lrs, moms = [sched.get_last_lr()[0]], [opt.param_groups[0]["momentum"]]
    for _ in range(N):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr()[0])
        moms.append(opt.param_groups[0]["momentum"])
    up = 0.25 * (N + 1) - 1
    t = np.arange(N + 1)
    cos = lambda a, b, pct: b + (a - b) / 2 * (np.cos(np.pi * pct) + 1)  # noqa: E731
    initial, final = 2.0 / 25, 2.0 / 25 / 1e4
    expected = np.where(t <= up, cos(initial, 2.0, t / up), cos(2.0, final, (t - up) / (N - up)))
    expected_m = np.where(t <= up, cos(0.95, 0.85, t / up), cos(0.85, 0.95, (t - up) / (N - up)))
    np.testing.assert_allclose(lrs, expected, rtol=1e-12)
    np.testing.assert_allclose(moms, expected_m, rtol=1e-12)
    opt.step()
    sched.step()  # epoch N + 1 = total_steps is the last one allowed
    with pytest.raises(ValueError, match=f"Tried to step {N + 2} times. The specified number of total steps is "
                                         f"{N + 1}"):
        sched.step()


def test_one_cycle_cycles_adam_beta1():
    opt = _opt(lr=0.1, cls=optim.Adam)
    S.OneCycleLR(opt, max_lr=1.0, total_steps=10)
    assert opt.param_groups[0]["betas"] == (0.95, 0.999)


def test_sequential_warmup_then_cosine():
    opt = _opt(lr=1.0)
    warm = S.LinearLR(opt, start_factor=0.1, total_iters=5)
    decay = S.CosineAnnealingLR(opt, T_max=N - 5)
    got = _trace(opt, S.SequentialLR(opt, [warm, decay], milestones=[5]))[:, 0]
    t = np.arange(N + 1)
    expected = np.where(t < 5, 0.1 + 0.9 * t / 5, (1 + np.cos(np.pi * (t - 5) / (N - 5))) / 2)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)


def test_chained_scheduler_multiplies():
    opt = _opt(lr=1.0)
    a = S.ExponentialLR(opt, gamma=0.9)
    b = S.StepLR(opt, step_size=3, gamma=0.5)
    got = _trace(opt, S.ChainedScheduler([a, b]))[:, 0]
    np.testing.assert_allclose(got, 0.9 ** T * 0.5 ** (T // 3), rtol=1e-12)


def test_reduce_on_plateau():
    opt = _opt(lr=1.0)
    sched = S.ReduceLROnPlateau(opt, factor=0.5, patience=2, cooldown=1, min_lr=0.2)
    lrs = []
    for loss in [5, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 3]:
        sched.step(loss)
        lrs.append(sched.get_last_lr()[0])
    assert lrs == [1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25]
    for _ in range(10):
        sched.step(10.0)
    assert sched.get_last_lr() == [0.2]


# ---------------------------------------------------------------------------------------------------------
# PyTorch agreement
# ---------------------------------------------------------------------------------------------------------

TORCH_CASES = [
    ("StepLR", dict(step_size=3, gamma=0.7)),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 11], gamma=0.5)),
    ("ExponentialLR", dict(gamma=0.93)),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.05)),  # runs past T_max: PyTorch keeps oscillating
    ("LinearLR", dict(start_factor=0.25, end_factor=0.75, total_iters=6)),
    ("ConstantLR", dict(factor=0.3, total_iters=4)),
    ("PolynomialLR", dict(total_iters=9, power=1.5)),
    ("CosineAnnealingWarmRestarts", dict(T_0=3, T_mult=2, eta_min=0.01)),
    ("OneCycleLR", dict(max_lr=[1.0, 3.0], total_steps=N + 1, three_phase=True)),
    ("OneCycleLR", dict(max_lr=2.0, epochs=4, steps_per_epoch=8, anneal_strategy="linear")),
]


@needs_torch
@pytest.mark.parametrize("name,kw", TORCH_CASES, ids=[c[0] + str(i) for i, c in enumerate(TORCH_CASES)])
def test_matches_torch(name, kw):
    opt = _opt(lr=0.5, groups=2, momentum=0.9)
    got = _trace(opt, getattr(S, name)(opt, **kw))
    tparams = [torch.zeros(1, requires_grad=True) for _ in range(2)]
    topt = torch.optim.SGD([{"params": [p], "lr": 0.5 * (i + 1)} for i, p in enumerate(tparams)], lr=0.5,
                           momentum=0.9)
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, **kw)
    expected = [list(tsched.get_last_lr())]
    for _ in range(N):
        topt.step()
        tsched.step()
        expected.append(list(tsched.get_last_lr()))
    np.testing.assert_allclose(got, np.array(expected, dtype=np.float64), rtol=1e-13, atol=1e-16)
    assert [g.get("momentum") for g in opt.param_groups] == [g.get("momentum") for g in topt.param_groups]


@needs_torch
def test_sequential_and_chained_match_torch():
    def build(lib, opt):
        warm = lib.LinearLR(opt, start_factor=0.2, total_iters=4)
        cos = lib.CosineAnnealingLR(opt, T_max=12)
        seq = lib.SequentialLR(opt, [warm, cos], milestones=[4])
        return seq

    opt = _opt(lr=0.5)
    got = _trace(opt, build(S, opt), n=14)[:, 0]
    topt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.5)
    tsched = build(torch.optim.lr_scheduler, topt)
    expected = [tsched.get_last_lr()[0]]
    for _ in range(14):
        topt.step()
        tsched.step()
        expected.append(tsched.get_last_lr()[0])
    np.testing.assert_allclose(got, expected, rtol=1e-13)


# ---------------------------------------------------------------------------------------------------------
# Checkpoints, warnings, errors
# ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda o: S.MultiStepLR(o, milestones=[2, 6], gamma=0.5),
    lambda o: S.CosineAnnealingLR(o, T_max=9),
    lambda o: S.OneCycleLR(o, max_lr=1.0, total_steps=20),
    lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.5, total_iters=3), S.ExponentialLR(o, 0.9)], [3]),
    lambda o: S.WarmupCosineLR(o, warmup_steps=3, total_steps=15),
    lambda o: S.ReduceLROnPlateau(o, patience=1),
], ids=["multistep", "cosine", "onecycle", "sequential", "warmupcosine", "plateau"])
def test_resume_from_saved_state(make, tmp_path):
    def advance(opt, sched, k, start):
        out = []
        for i in range(start, start + k):
            opt.step()
            sched.step(float(10 - i % 3)) if isinstance(sched, S.ReduceLROnPlateau) else sched.step()
            out.append(list(sched.get_last_lr()))
        return out

    opt = _opt(lr=0.3, momentum=0.9)
    sched = make(opt)
    advance(opt, sched, 6, 0)
    save({"optim": opt.state_dict(), "sched": sched.state_dict()}, tmp_path / "s.npz")
    reference = advance(opt, sched, 8, 6)

    opt2 = _opt(lr=0.3, momentum=0.9)
    sched2 = make(opt2)
    ckpt = load(tmp_path / "s.npz")
    sched2.load_state_dict(ckpt["sched"])
    opt2.load_state_dict(ckpt["optim"])
    assert advance(opt2, sched2, 8, 6) == reference


def test_warns_when_stepped_before_the_optimizer():
    opt = _opt()
    sched = S.StepLR(opt, step_size=2)
    with pytest.warns(UserWarning, match=r"Detected call of `lr_scheduler.step\(\)` before `optimizer.step\(\)`"):
        sched.step()
    opt2 = _opt()
    sched2 = S.StepLR(opt2, step_size=2)
    opt2.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched2.step()


def test_step_with_epoch_uses_closed_form():
    opt = _opt(lr=1.0)
    sched = S.ExponentialLR(opt, gamma=0.5)
    opt.step()
    with pytest.warns(UserWarning, match="epoch parameter"):
        sched.step(3)
    assert sched.get_last_lr() == [0.125]


def test_errors():
    opt = _opt()
    with pytest.raises(ValueError, match="Starting multiplicative factor expected to be greater than 0"):
        S.LinearLR(opt, start_factor=0.0)
    with pytest.raises(ValueError, match="You must define either total_steps OR"):
        S.OneCycleLR(opt, max_lr=1.0)
    with pytest.raises(ValueError, match="max_lr must have the same length as optimizer.param_groups"):
        S.OneCycleLR(opt, max_lr=[1.0, 2.0], total_steps=5)
    with pytest.raises(TypeError, match="is not an Optimizer"):
        S.StepLR(object(), step_size=1)
    with pytest.raises(KeyError, match="initial_lr"):
        S.StepLR(_opt(), step_size=1, last_epoch=3)
    with pytest.raises(ValueError, match="number of schedulers provided to be one more than the number of "
                                         "milestone points"):
        S.SequentialLR(opt, [S.StepLR(opt, 2)], milestones=[3])
    with pytest.raises(ValueError, match="expects all schedulers to belong to the same optimizer"):
        S.SequentialLR(opt, [S.StepLR(opt, 2), S.StepLR(_opt(), 2)], milestones=[3])
    with pytest.raises(ValueError, match="warmup_steps"):
        S.WarmupCosineLR(opt, warmup_steps=5, total_steps=3)


def test_functional_schedule_via_override():
    # The functional optimizers take a per-call lr: any scheduler's closed form drives them.
    from chainrule.optim import functional as F
    opt = F.sgd(lr=1.0)
    params = np.array([0.0])
    state = opt.init(params)
    for t in range(4):
        params, state = opt.update(np.array([1.0]), state, params, lr=1 / (t + 1))
    np.testing.assert_allclose(params, [-sum(1 / (t + 1) for t in range(4))])
