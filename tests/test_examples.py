"""Smoke tests for the runnable examples (``chainrule/examples``): each checks that an example actually learned
or computed the right thing, on a reduced budget. One section per example, tests named
``test_<example>_...``; add a section per new example."""
import importlib.util
import types

import numpy as np
import pytest

import chainrule as cr


# ---------------------------------------------------------------------------------------------------------
# functional_mlp
# ---------------------------------------------------------------------------------------------------------

def test_functional_mlp_learns_the_spirals(capsys):
    from chainrule.examples import functional_mlp as ex
    test_acc = ex.main(["--steps", "150"])
    out = capsys.readouterr().out
    assert test_acc > 0.95
    assert "held-out accuracy" in out


def test_functional_mlp_pieces():
    from chainrule.examples import functional_mlp as ex
    x, y = ex.make_spirals(n_per_class=20)
    assert x.shape == (60, 2) and x.dtype == np.float32 and sorted(set(y)) == [0, 1, 2]
    params = ex.init_params()
    # vmap of the single-example model equals the model applied example by example.
    batched = ex.batched_logits(params, x)
    looped = np.stack([ex.logits_one(params, xi) for xi in x])
    assert batched.shape == (60, 3) and np.allclose(batched, looped, rtol=1e-5, atol=1e-6)
    # Gradients are a dict shaped like params, float32 like the parameters.
    loss, grads = cr.value_and_grad(ex.loss_fn)(params, x, y)
    assert abs(float(loss) - np.log(3)) < 0.5
    assert sorted(grads) == sorted(params)
    for k in params:
        assert grads[k].shape == params[k].shape and grads[k].dtype == np.float32


# ---------------------------------------------------------------------------------------------------------
# per_example_gradients
# ---------------------------------------------------------------------------------------------------------

def test_per_example_gradients_vmap_matches_loop_and_clipping():
    from chainrule.examples import per_example_gradients as ex
    x, y = ex.make_data(16, seed=3)
    params = ex.init_params(seed=3)
    fast = ex.per_example_grads(params, x, y)
    slow = ex.per_example_grads_loop(params, x, y)
    for k in params:
        assert fast[k].shape == (16,) + np.shape(params[k])
        np.testing.assert_allclose(fast[k], slow[k], rtol=1e-12, atol=1e-14)
    # Closed form for the output bias: d/db2 of logaddexp(0, z) - y z is sigmoid(z) - y.
    z = np.tanh(x @ params["w1"] + params["b1"]) @ params["w2"] + params["b2"]
    np.testing.assert_allclose(fast["b2"], 1 / (1 + np.exp(-z)) - y, rtol=1e-12)
    # Clipping: every norm at most C, directions unchanged, small gradients untouched.
    norms = ex.per_example_norms(fast)
    c = float(np.median(norms))
    clipped = ex.clip_per_example(fast, c)
    new = ex.per_example_norms(clipped)
    assert np.all(new <= c * (1 + 1e-12))
    small = norms <= c
    np.testing.assert_allclose(new[small], norms[small])
    np.testing.assert_allclose(clipped["w1"][~small] * norms[~small, None, None] / c, fast["w1"][~small])
    # Without noise, the DP gradient is the mean of the clipped per-example gradients.
    g = ex.dp_gradient(params, x, y, c, 0.0, np.random.default_rng(0))
    for k in params:
        np.testing.assert_allclose(g[k], clipped[k].mean(0))


def test_per_example_gradients_main_trains_privately(capsys):
    from chainrule.examples import per_example_gradients as ex
    acc = ex.main(["--steps", "200"])
    out = capsys.readouterr().out
    assert "vmap and loop agree" in out and "after clipping to C=1: max 1.000" in out
    assert acc > 0.75        # DP-SGD with sigma=0.5 still learns (chance is 0.5)


# ---------------------------------------------------------------------------------------------------------
# curvature
# ---------------------------------------------------------------------------------------------------------

def test_curvature_newton_cg_beats_gradient_descent():
    from chainrule.examples import curvature as ex
    x, y = ex.make_problem(n=300, d=10, seed=2)
    w, newton = ex.newton_cg(x, y, steps=12)
    _, gd = ex.gradient_descent(x, y, steps=100)
    assert newton[-1] < 1e-10 and len(newton) <= 10          # quadratic convergence within a few steps
    assert gd[-1] > 1e3 * newton[-1]
    # The optimum satisfies the first-order condition computed independently with NumPy.
    p = 1 / (1 + np.exp(-x @ w))
    np.testing.assert_allclose(x.T @ (p - y) / len(y) + ex.L2 * w, 0.0, atol=1e-9)


def test_curvature_conjugate_gradient_and_levenberg_marquardt(capsys):
    from chainrule.examples import curvature as ex
    a = np.array([[4.0, 1.0], [1.0, 3.0]])
    np.testing.assert_allclose(ex.conjugate_gradient(lambda v: a @ v, np.array([1.0, 2.0])),
                               np.linalg.solve(a, [1.0, 2.0]))
    t, obs = ex.make_curve()
    theta, hist = ex.levenberg_marquardt(t, obs, [1.0, 0.3, 0.0])
    np.testing.assert_allclose(theta, [2.5, 1.3, 0.5], atol=0.05)
    assert hist[-1] < 1e-3 * hist[0]
    newton, gd, _ = ex.main(["--gd-steps", "50"])
    assert "hessian matches the closed form: True; hvp matches H @ v: True" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------------------
# autograd_port
# ---------------------------------------------------------------------------------------------------------

def test_autograd_port_fits_the_hyperparameters(capsys):
    pytest.importorskip("scipy")
    from chainrule.examples import autograd_port as ex
    x, y = ex.noisy_data()
    _, _, lml = ex.gaussian_process(ex.squared_exponential, 2)
    params, result = ex.main()
    assert result.success or result.nit > 3
    assert lml(params, x, y) > lml(0.1 * np.random.RandomState(0).randn(4), x, y) + 5
    # The gradient handed to scipy agrees with finite differences at the optimum and elsewhere.
    from chainrule.testing import check_grads
    check_grads(lambda p: lml(p, x, y), (params,), order=1, modes=("rev",))
    check_grads(lambda p: lml(p, x, y), (np.array([0.1, -1.0, 0.2, -0.3]),), order=2, modes=("fwd", "rev"))
    assert "log marginal likelihood" in capsys.readouterr().out


def test_autograd_port_runs_unchanged_under_hips_autograd():
    """The example's source with only its imports switched to HIPS autograd gives the same fit."""
    pytest.importorskip("scipy")
    pytest.importorskip("autograd")
    from chainrule.examples import autograd_port as ex
    src = open(importlib.util.find_spec("chainrule.examples.autograd_port").origin).read()
    body = src.split('"""', 2)[2]                          # the code, without the module docstring
    swapped = body.replace("import chainrule.", "import autograd.").replace("from chainrule.", "from autograd.")
    swapped = swapped.replace("from chainrule import", "from autograd import")
    assert "chainrule" not in swapped
    assert len(swapped.splitlines()) == len(body.splitlines())
    changed = [a for a, b in zip(body.splitlines(), swapped.splitlines()) if a != b]
    assert len(changed) == 5 and all(line.startswith(("import ", "from ")) for line in changed)
    mod = types.ModuleType("autograd_port_under_autograd")
    exec(compile(swapped, mod.__name__, "exec"), mod.__dict__)
    x, y = ex.noisy_data()
    p_ag, _ = mod.fit(x, y, verbose=False)
    p_cr, _ = ex.fit(x, y, verbose=False)
    np.testing.assert_allclose(p_cr, p_ag, rtol=1e-7, atol=1e-9)
