"""PyTorch-style autograd on Tensors: backward, autograd.grad, hooks, grad modes (thread-local), anomaly
detection, custom Function classes (also under grad, jvp and vmap), checkpoint, the errors a user gets, and
memory: graphs are released after backward and a training loop keeps memory flat."""
import gc
import threading
import tracemalloc
import weakref

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import autograd
from chainrule.autograd import Function
from chainrule.testing import check_grads
from chainrule.utils import checkpoint


def leaf(values, dtype=cr.float64):
    return cr.tensor(values, dtype=dtype, requires_grad=True)


# ---------------------------------------------------------------------------------------------------------
# backward
# ---------------------------------------------------------------------------------------------------------

def test_backward_closed_form_and_grad_is_none_until_computed():
    x = leaf([0.5, 1.5])
    w = leaf([2.0, -1.0])
    assert x.grad is None and w.grad is None
    y = ((x * w).tanh() + x.exp() * w).sum()
    assert w.grad is None
    y.backward()
    xv, wv = np.array([0.5, 1.5]), np.array([2.0, -1.0])
    t = np.tanh(xv * wv)
    np.testing.assert_allclose(x.grad.numpy(), (1 - t * t) * wv + np.exp(xv) * wv)
    np.testing.assert_allclose(w.grad.numpy(), (1 - t * t) * xv + np.exp(xv))
    assert x.grad.dtype == np.float64 and not x.grad.requires_grad


def test_float32_in_float32_gradients_out():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (x.exp() * 2.5 + x.sin() / 3).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.numpy(), np.exp([1.0, 2.0]) * 2.5 + np.cos([1.0, 2.0]) / 3, rtol=1e-6)


def test_gradient_accumulates_over_two_backward_calls():
    x = leaf([1.0, 2.0])
    (x * x).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2 + 3, 4 + 3])
    x.grad = None
    y = (x ** 3).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * 3 * np.array([1.0, 4.0]))


def test_backward_of_non_scalar_with_gradient():
    x = leaf([1.0, 2.0, 3.0])
    y = x * x
    y.backward(cr.tensor([1.0, 0.0, 2.0], dtype=cr.float64))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 0.0, 12.0])
    x.grad = None
    autograd.backward([x * 2, (x * x).sum()], grad_tensors=[np.ones(3), None])
    np.testing.assert_allclose(x.grad.numpy(), 2 + 2 * np.array([1.0, 2.0, 3.0]))


def test_backward_inputs_restricts_accumulation():
    x, w = leaf([1.0]), leaf([2.0])
    h = x * w
    h.retain_grad()
    (h * h).sum().backward(inputs=[w])
    assert x.grad is None and w.grad.tolist() == [2 * 2 * 1 * 1.0]
    h2 = x * w
    (h2 * 3).sum().backward(inputs=[h2, x])
    assert h2.grad.tolist() == [3.0] and x.grad.tolist() == [6.0]


def test_is_leaf_grad_fn_name_and_next_functions():
    x = leaf([1.0, 2.0])
    c = cr.tensor([3.0, 4.0], dtype=cr.float64)
    y = x * c
    z = y.exp().sum()
    assert x.is_leaf and c.is_leaf and not y.is_leaf and not z.is_leaf
    assert x.grad_fn is None and c.grad_fn is None
    assert y.grad_fn.name() == "MulBackward0" and z.grad_fn.name() == "SumBackward0"
    (exp_node, _), = z.grad_fn.next_functions
    assert exp_node.name() == "ExpBackward0"
    assert exp_node.next_functions[0][0] is y.grad_fn
    acc, none = y.grad_fn.next_functions
    assert acc[0].name() == "AccumulateGrad" and acc[0].variable is x and none == (None, 0)
    with cr.no_grad():
        n = x * 2
    assert n.is_leaf and not n.requires_grad and n.grad_fn is None


def test_retain_grad():
    x = leaf([1.0, 2.0])
    h = x * 3
    h.retain_grad()
    assert h.retains_grad
    u = h * h
    (u.sum()).backward()
    np.testing.assert_allclose(h.grad.numpy(), 2 * h.detach().numpy())
    np.testing.assert_allclose(x.grad.numpy(), 18 * x.detach().numpy())
    g = x * 1
    autograd.grad((g * 2).sum(), x)
    assert g.grad is None   # autograd.grad never fills .grad
    with pytest.raises(RuntimeError, match="can't retain_grad on Tensor that has requires_grad=False"):
        cr.ones(2).retain_grad()


def test_requires_grad_toggle_and_detach():
    x = cr.tensor([2.0])
    assert not (x * 2).requires_grad
    x.requires_grad_()
    y = x * x
    assert y.requires_grad
    y.backward()
    assert x.grad.tolist() == [4.0]
    d = y.detach()
    assert not d.requires_grad and d.is_leaf


# ---------------------------------------------------------------------------------------------------------
# Hooks
# ---------------------------------------------------------------------------------------------------------

def test_hooks_run_and_can_replace_the_gradient():
    x = leaf([1.0, 2.0])
    seen = []
    x.register_hook(lambda g: seen.append(("leaf", g.tolist())))
    h = x * 2
    handle = h.register_hook(lambda g: g * 10)      # replaces the gradient flowing into h
    h.register_hook(lambda g: seen.append(("h", g.tolist())))
    (h * h).sum().backward()
    # d/dh = 2h = [4, 8]; x10 -> [40, 80]; dh/dx = 2 -> [80, 160]
    assert seen == [("h", [40.0, 80.0]), ("leaf", [80.0, 160.0])]
    np.testing.assert_allclose(x.grad.numpy(), [80.0, 160.0])
    handle.remove()
    x.grad = None
    h = x * 2
    (h * h).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [8.0, 16.0])


def test_leaf_hook_replaces_accumulated_gradient_and_post_accumulate_hook():
    x = leaf([1.0, 2.0])
    x.register_hook(lambda g: g + 100)
    calls = []
    x.register_post_accumulate_grad_hook(lambda t: calls.append(t.grad.tolist()))
    (x * 1).sum().backward()
    (x * 1).sum().backward()
    assert calls == [[101.0, 101.0], [202.0, 202.0]]
    y = x * 2
    with pytest.raises(RuntimeError, match="post accumulate grad hooks cannot be registered on non-leaf tensors"):
        y.register_post_accumulate_grad_hook(print)
    with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that doesn't require gradient"):
        cr.ones(1).register_hook(print)
    with pytest.raises(RuntimeError, match=r"returned a gradient of shape \(3,\) for a Tensor of shape \(2,\)"):
        z = leaf([1.0, 2.0])
        z.register_hook(lambda g: cr.ones(3))
        z.sum().backward()


def test_hooks_also_run_in_autograd_grad():
    x = leaf([3.0])
    x.register_hook(lambda g: g * 0.5)
    g, = autograd.grad((x * x).sum(), x)
    assert g.tolist() == [3.0] and x.grad is None


# ---------------------------------------------------------------------------------------------------------
# autograd.grad
# ---------------------------------------------------------------------------------------------------------

def test_autograd_grad_multiple_inputs_and_grad_outputs():
    x, y = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    gx, gy = autograd.grad([x * y], [x, y], grad_outputs=[cr.tensor([1.0, 10.0], dtype=cr.float64)])
    assert gx.tolist() == [3.0, 40.0] and gy.tolist() == [1.0, 20.0]
    assert x.grad is None and y.grad is None
    h = x * y
    gh, = autograd.grad((h * h).sum(), h)        # a non-leaf input
    np.testing.assert_allclose(gh.numpy(), 2 * h.detach().numpy())


def test_allow_unused():
    x, unused = leaf([1.0]), leaf([2.0])
    y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="appears to not have been used in the graph. Set allow_unused=True"):
        autograd.grad(y, [x, unused], retain_graph=True)
    gx, gu = autograd.grad(y, [x, unused], allow_unused=True, retain_graph=True)
    assert gx.tolist() == [2.0] and gu is None
    gx, gu = autograd.grad(y, [x, unused], materialize_grads=True)
    assert gu.tolist() == [0.0]
    with pytest.raises(RuntimeError, match="does not require grad"):
        autograd.grad((x * 2).sum(), [cr.ones(1)])


def _f(v):
    return (v.sin() * v ** 2).sum() + (v[0] * v[1]).exp() + v.tanh().prod()


def test_create_graph_double_backward_equals_hessian():
    x0 = np.array([0.3, -0.8, 1.1])
    H = cr.hessian(_f)(x0)
    x = leaf(x0)
    g, = autograd.grad(_f(x), x, create_graph=True)
    assert g.requires_grad
    rows = [autograd.grad(g[i], x, retain_graph=True)[0].numpy() for i in range(3)]
    np.testing.assert_allclose(np.stack(rows), H, rtol=1e-10)
    # The same through .backward(create_graph=True): x.grad is differentiable.
    x2 = leaf(x0)
    _f(x2).backward(create_graph=True)
    assert x2.grad.requires_grad
    v = np.array([1.0, -2.0, 0.5])
    hv, = autograd.grad((x2.grad * cr.tensor(v)).sum(), x2)
    np.testing.assert_allclose(hv.numpy(), H @ v, rtol=1e-10)
    # Third order against nested transforms.
    x3 = leaf(x0)
    g, = autograd.grad(_f(x3), x3, create_graph=True)
    gg, = autograd.grad(g.sum(), x3, create_graph=True)
    ggg, = autograd.grad(gg[1], x3)
    want = cr.jacfwd(lambda v: cr.hessian(_f)(v).sum(axis=0)[1])(x0)
    np.testing.assert_allclose(ggg.numpy(), want, rtol=1e-9)


def test_gradients_match_finite_differences_for_tensor_code():
    def f(v):
        return (v.softmax(dim=0) * v.log1p()).sum() / v.std() + v.max() * v.mean()
    x0 = np.array([0.2, 0.9, 0.4, 1.7])
    x = leaf(x0)
    f(x).backward()
    eps = 1e-6
    fd = np.array([(f(cr.tensor(x0 + eps * e)).item() - f(cr.tensor(x0 - eps * e)).item()) / (2 * eps)
                   for e in np.eye(4)])
    np.testing.assert_allclose(x.grad.numpy(), fd, rtol=1e-6)


def test_is_grads_batched():
    x = leaf([1.0, 2.0])
    y = x * x
    g, = autograd.grad(y, x, grad_outputs=[np.eye(2)], is_grads_batched=True)
    np.testing.assert_allclose(g.numpy(), np.diag([2.0, 4.0]))


# ---------------------------------------------------------------------------------------------------------
# Grad modes
# ---------------------------------------------------------------------------------------------------------

def test_grad_mode_context_managers_and_decorators():
    x = leaf([1.0])
    with autograd.no_grad():
        assert not (x * 2).requires_grad and not cr.is_grad_enabled()
        with autograd.enable_grad():
            assert (x * 2).requires_grad
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad

    @cr.no_grad()
    def f1(v):
        return v * 2

    @cr.no_grad
    def f2(v):
        return v * 2

    @cr.inference_mode()
    def f3(v):
        assert autograd.is_inference_mode_enabled()
        return v * 2

    @cr.set_grad_enabled(False)
    def f4(v):
        return v * 2

    assert cr.is_grad_enabled()   # decorating does not change the mode
    for f in (f1, f2, f3, f4):
        assert not f(x).requires_grad
        assert cr.is_grad_enabled()
    with cr.no_grad():
        @cr.enable_grad()
        def g(v):
            return v * 2
        assert g(x).requires_grad
    cr.set_grad_enabled(False)     # a plain call takes effect at once
    try:
        assert not (x * 2).requires_grad
    finally:
        cr.set_grad_enabled(True)
    with cr.set_grad_enabled(False):
        assert not cr.is_grad_enabled()
    assert cr.is_grad_enabled()
    with cr.inference_mode(False):
        assert (x * 2).requires_grad
    with cr.inference_mode():
        assert not (x * 2).requires_grad


def test_grad_mode_restored_after_exception():
    with pytest.raises(ValueError):
        with cr.no_grad():
            raise ValueError
    assert cr.is_grad_enabled()


def test_grad_mode_is_thread_local():
    x = leaf([1.0])
    entered, release = threading.Event(), threading.Event()
    results = {}

    def no_grad_thread():
        with cr.no_grad():
            entered.set()
            release.wait(5)
            results["inside"] = (x * 2).requires_grad

    def grad_thread():
        entered.wait(5)
        results["other"] = (x * 2).requires_grad   # recorded while the other thread is in no_grad
        results["other_mode"] = cr.is_grad_enabled()
        release.set()

    threads = [threading.Thread(target=no_grad_thread), threading.Thread(target=grad_thread)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == {"inside": False, "other": True, "other_mode": True}
    # And the other way round: a new thread starts with grad mode on, whatever this thread's mode.
    with cr.no_grad():
        t = threading.Thread(target=lambda: results.__setitem__("fresh", (x * 2).requires_grad))
        t.start()
        t.join(10)
        assert not (x * 2).requires_grad
    assert results["fresh"] is True


# ---------------------------------------------------------------------------------------------------------
# Anomaly detection
# ---------------------------------------------------------------------------------------------------------

def _make_nan_graph(x):
    return (x.sqrt() * 0.0).sum()   # d sqrt/dx = inf at 0; times 0 -> nan in backward


def test_detect_anomaly_names_the_op_and_where_it_was_created():
    x = leaf([0.0, 1.0])
    with np.errstate(all="ignore"), autograd.detect_anomaly():
        y = _make_nan_graph(x)
        with pytest.raises(RuntimeError, match=r"Function 'SqrtBackward0' returned nan values") as info:
            y.backward()
    msg = str(info.value)
    assert "'sqrt'" in msg and "test_autograd.py" in msg and "_make_nan_graph" in msg
    assert "x.sqrt() * 0.0" in msg
    # Without anomaly mode the NaN passes silently.
    x.grad = None
    with np.errstate(all="ignore"):
        _make_nan_graph(x).backward()
    assert np.isnan(x.grad.numpy()[0])


def test_set_detect_anomaly_and_decorator():
    x = leaf([0.0])
    with autograd.set_detect_anomaly(True):
        assert autograd.is_anomaly_enabled()
        y = _make_nan_graph(x)
    assert not autograd.is_anomaly_enabled()
    with np.errstate(all="ignore"), autograd.set_detect_anomaly(True):
        with pytest.raises(RuntimeError, match="SqrtBackward0"):
            y.backward()

    @autograd.detect_anomaly()
    def run():
        with np.errstate(all="ignore"):
            _make_nan_graph(leaf([0.0])).backward()
    with pytest.raises(RuntimeError, match="returned nan values"):
        run()


# ---------------------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------------------

def test_backward_twice_through_a_freed_graph():
    x = leaf([1.0])
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time .* retain_graph=True"):
        y.backward()


def test_inplace_modification_of_a_saved_tensor():
    x = leaf([1.0, 2.0])
    h = x * 2
    y = h * h              # multiply saves h
    h.mul_(3)
    with pytest.raises(RuntimeError, match=r"modified by an inplace operation: input 0 of MulBackward0 .* changed by "
                                           r"'mul_' after 'multiply' saved it; it is now at version 1"):
        y.sum().backward()
    h = x * 2
    y = h.sin()
    h[0] = 5.0
    with pytest.raises(RuntimeError, match=r"input 0 of SinBackward0 .* changed by 'setitem'"):
        y.sum().backward()
    # Modifying an input whose value the rule does not read (exp keeps its output) is fine, as is modifying it
    # before it is used.
    h = x * 2
    y = h.exp()
    h += 1
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp([2.0, 4.0]))
    x.grad = None
    h = x * 2
    h += 1
    (h * h).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 4 * np.array([3.0, 5.0]))


def test_inplace_on_leaf_error():
    w = leaf([1.0])
    with pytest.raises(RuntimeError, match=r"a leaf Variable that requires grad is being used in an in-place "
                                           r"operation \(sub_\)"):
        w -= 1


def test_backward_on_non_scalar_without_gradient():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"grad can be implicitly created only for scalar outputs \(tensor 0 has "
                                           r"shape \(2,\)\)"):
        (x * 2).backward()
    with pytest.raises(RuntimeError, match=r"Mismatch in shape: grad_output\[0\] has a shape of \(3,\)"):
        (x * 2).backward(np.ones(3))


def test_requires_grad_on_integer_tensor():
    with pytest.raises(RuntimeError, match="only Tensors of floating point and complex dtype can require gradients "
                                           r"\(this one has dtype int64\)"):
        cr.tensor([1, 2]).requires_grad_()


def test_backward_on_tensor_that_does_not_require_grad():
    with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad and does not have a grad_fn"):
        cr.ones(1).sum().backward()


# ---------------------------------------------------------------------------------------------------------
# Memory
# ---------------------------------------------------------------------------------------------------------

def test_saved_values_are_released_after_backward():
    x = cr.randn(1000, dtype=cr.float64, requires_grad=True)
    h = x * 2
    y = (h * h.sin()).sum()            # multiply and sin save h
    ref = weakref.ref(h)
    data_ref = weakref.ref(h.data)
    del h
    gc.collect()
    assert ref() is not None and data_ref() is not None     # the graph keeps it alive
    y.backward()
    gc.collect()
    assert ref() is None and data_ref() is None              # released by backward, although y is still alive
    assert y.requires_grad


def test_backward_releases_memory_tracemalloc():
    x = cr.randn(200_000, dtype=cr.float64, requires_grad=True)   # 1.6 MB per array
    tracemalloc.start()
    try:
        y = x
        for _ in range(5):
            y = (y * 1.01).sin()      # sin saves its input: five 1.6 MB arrays held by the graph
        loss = y.sum()
        held = tracemalloc.get_traced_memory()[0]
        loss.backward()
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert held - after > 5 * 1.6e6 * 0.9, (held, after)


def test_retain_graph_keeps_the_graph():
    x = cr.randn(1000, dtype=cr.float64, requires_grad=True)
    h = x * 2
    y = (h * h).sum()
    ref = weakref.ref(h)
    del h
    y.backward(retain_graph=True)
    gc.collect()
    assert ref() is not None
    y.backward()
    gc.collect()
    assert ref() is None


def test_training_loop_memory_is_flat():
    rng = np.random.default_rng(0)
    X = cr.tensor(rng.standard_normal((64, 8)).astype(np.float32))
    Y = cr.tensor(rng.standard_normal((64, 1)).astype(np.float32))
    g = cr.Generator(0)
    W1 = (cr.randn(8, 16, generator=g) * 0.3).requires_grad_()
    b1 = cr.zeros(16, requires_grad=True)
    W2 = (cr.randn(16, 1, generator=g) * 0.3).requires_grad_()
    b2 = cr.zeros(1, requires_grad=True)
    params = [W1, b1, W2, b2]

    def step():
        h = (X @ W1 + b1).relu()
        loss = ((h @ W2 + b2 - Y) ** 2).mean()
        loss.backward()
        with cr.no_grad():
            for p in params:
                p -= 0.05 * p.grad
                p.grad = None
        return loss.item()

    first = step()
    gc.collect()
    tracemalloc.start()
    try:
        for i in range(1000):
            last = step()
            if i == 99:
                gc.collect()
                at_100 = tracemalloc.get_traced_memory()[0]
        gc.collect()
        at_1000 = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert last < first * 0.5                       # it trains
    assert at_1000 <= at_100 + 32_000, (at_100, at_1000)   # allocator caches settle; a leak grows per step


# ---------------------------------------------------------------------------------------------------------
# Custom Function
# ---------------------------------------------------------------------------------------------------------

class Cube(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return 3 * x ** 2 * g


class ScaledExp(Function):
    """exp(a * x) with a non-Tensor argument; saves its output; defines jvp; uses needs_input_grad."""

    @staticmethod
    def forward(ctx, x, a):
        y = (x * a).exp()
        ctx.a = a
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        y, = ctx.saved_tensors
        assert ctx.needs_input_grad == (True, False)
        return g * ctx.a * y, None

    @staticmethod
    def jvp(ctx, x_dot, a_dot):
        y, = ctx.saved_tensors
        return x_dot * ctx.a * y


class SortWithIndices(Function):
    """Two outputs, one of them marked non-differentiable."""

    @staticmethod
    def forward(ctx, x):
        idx = x.detach().numpy().argsort() if isinstance(x, cr.Tensor) else cnp.argsort(x)
        idx = cr.tensor(np.asarray(idx)) if isinstance(x, cr.Tensor) else idx
        ctx.mark_non_differentiable(idx)
        ctx.idx = idx
        return x[idx], idx

    @staticmethod
    def backward(ctx, g, g_idx):
        return cnp.zeros_like(g).at[ctx.idx].set(g) if not isinstance(g, cr.Tensor) else \
            cr.zeros_like(g).scatter_add(0, ctx.idx, g)


def test_function_on_tensors():
    x = leaf([1.0, 2.0])
    y = Cube.apply(x)
    assert y.grad_fn.name() == "CubeBackward"
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 12.0])
    x.grad = None
    y = ScaledExp.apply(x, 0.5)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 0.5 * np.exp(0.5 * np.array([1.0, 2.0])))
    s, idx = SortWithIndices.apply(leaf([3.0, 1.0, 2.0]))
    assert s.tolist() == [1.0, 2.0, 3.0] and idx.tolist() == [1, 2, 0]
    assert s.requires_grad and not idx.requires_grad
    with cr.no_grad():
        assert not Cube.apply(x).requires_grad


def test_function_double_backward():
    x = leaf([0.5, 2.0])
    g, = autograd.grad(Cube.apply(x).sum(), x, create_graph=True)
    gg, = autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), 6 * np.array([0.5, 2.0]))
    # A saved *output* is the recorded output in backward, so double backward goes through it.
    x = leaf([0.3, -0.4])
    g, = autograd.grad(ScaledExp.apply(x, 2.0).sum(), x, create_graph=True)
    gg, = autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), 4 * np.exp(2 * np.array([0.3, -0.4])))


def test_function_under_grad_jvp_vmap():
    x0 = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(cr.grad(lambda v: Cube.apply(v).sum())(x0), 3 * x0 ** 2)
    out, t = cr.jvp(Cube.apply, (x0,), (np.array([1.0, 0.0, 2.0]),))   # forward mode by transposing backward
    assert isinstance(t, np.ndarray)
    np.testing.assert_allclose(t, 3 * x0 ** 2 * [1.0, 0.0, 2.0])
    out, t = cr.jvp(lambda v: ScaledExp.apply(v, 0.5), (x0,), (np.ones(3),))   # the class's own jvp
    np.testing.assert_allclose(t, 0.5 * np.exp(0.5 * x0))
    xs = np.array([[1.0, 2.0], [3.0, 4.0], [-1.0, 0.5]])
    np.testing.assert_allclose(cr.vmap(Cube.apply)(xs), xs ** 3)
    np.testing.assert_allclose(cr.vmap(cr.grad(lambda v: Cube.apply(v).sum()))(xs), 3 * xs ** 2)
    np.testing.assert_allclose(cr.grad(lambda v: cr.vmap(Cube.apply)(v).sum())(xs), 3 * xs ** 2)
    np.testing.assert_allclose(cr.vmap(lambda v: ScaledExp.apply(v, 2.0), in_axes=1)(xs), np.exp(2 * xs).T)
    np.testing.assert_allclose(cr.grad(lambda v: cr.vmap(lambda r: ScaledExp.apply(r, 2.0))(v).sum())(xs),
                               2 * np.exp(2 * xs))
    np.testing.assert_allclose(cr.hessian(lambda v: Cube.apply(v).sum())(x0), np.diag(6 * x0))
    check_grads(lambda v: Cube.apply(v), (x0,), order=2, modes=("fwd", "rev"))
    check_grads(lambda v: ScaledExp.apply(v, 0.7), (x0,), order=1, modes=("fwd", "rev"))
    # An unmapped argument next to a mapped one: its cotangent is summed over the batch.
    w0 = np.array([1.0, 2.0])
    g = cr.grad(lambda w: cr.vmap(lambda r: Cube.apply(r * w), in_axes=0)(xs).sum())(w0)
    np.testing.assert_allclose(g, (3 * (xs * w0) ** 2 * xs).sum(0))


def test_function_errors():
    class Wrong(Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(RuntimeError, match=r"function WrongBackward returned an incorrect number of gradients "
                                           r"\(expected 2, got 1\)"):
        Wrong.apply(leaf([1.0]), leaf([2.0])).sum().backward()

    class BadShape(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return cr.ones(5)

    with pytest.raises(RuntimeError, match=r"returned an invalid gradient at index 0 - got shape \(5,\) but expected "
                                           r"shape \(2,\)"):
        BadShape.apply(leaf([1.0, 2.0])).sum().backward()

    x = leaf([1.0, 2.0])
    h = x * 1
    y = Cube.apply(h)
    h.add_(1)
    with pytest.raises(RuntimeError, match="saved tensor 0 .* is at version 1; expected version 0"):
        y.sum().backward()


def test_once_differentiable_and_setup_context_style():
    class NpSin(Function):
        @staticmethod
        def forward(x):
            return x.sin()

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0])

        @staticmethod
        @autograd.once_differentiable
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return cr.tensor(np.cos(x.detach().numpy())) * g

    x = leaf([0.2, 0.4])
    NpSin.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.cos([0.2, 0.4]))


# ---------------------------------------------------------------------------------------------------------
# checkpoint
# ---------------------------------------------------------------------------------------------------------

def _block(x, w, counter):
    counter.append(1)
    return ((x @ w).tanh() * 2).sin()


def test_checkpoint_matches_and_recomputes():
    rng = np.random.default_rng(0)
    x0, w0 = rng.standard_normal((3, 4)), rng.standard_normal((4, 4))
    x, w = leaf(x0), leaf(w0)
    calls = []
    _block(_block(x, w, calls), w, calls).sum().backward()
    gx, gw = x.grad.numpy(), w.grad.numpy()
    x, w = leaf(x0), leaf(w0)
    calls = []
    y = checkpoint(lambda v: _block(_block(v, w, calls), w, calls), x)   # w is closed over
    assert len(calls) == 2 and y.grad_fn.name() == "CheckpointBackward0"
    y.sum().backward()
    assert len(calls) == 4                                           # recomputed in backward
    np.testing.assert_allclose(x.grad.numpy(), gx, rtol=1e-12)
    np.testing.assert_allclose(w.grad.numpy(), gw, rtol=1e-12)
    # autograd.grad through a checkpoint (here both Tensors are explicit arguments).
    xr, wr = leaf(x0), leaf(w0)
    rx, rw = autograd.grad(_block(xr, wr, []).sum(), [xr, wr])
    x, w = leaf(x0), leaf(w0)
    ggx, ggw = autograd.grad(checkpoint(_block, x, w, []).sum(), [x, w])
    np.testing.assert_allclose(ggx.numpy(), rx.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ggw.numpy(), rw.numpy(), rtol=1e-12)
    assert x.grad is None and w.grad is None


def test_checkpoint_saves_only_inputs():
    x = cr.randn(1000, dtype=cr.float64, requires_grad=True)
    inner = []

    def seg(v):
        h = v * 2
        inner.append(weakref.ref(h))
        return (h.sin() * h).sum()

    y = checkpoint(seg, x)
    gc.collect()
    assert inner[0]() is None            # the intermediate was not kept by the graph
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * (np.cos(2 * x.detach().numpy()) * 2 * x.detach().numpy()
                                                     + np.sin(2 * x.detach().numpy())), rtol=1e-12)


def test_checkpoint_double_backward_and_rng():
    x0 = np.array([0.3, -0.7])
    x = leaf(x0)
    g, = autograd.grad(checkpoint(_f, x), x, create_graph=True)
    H = np.stack([autograd.grad(g[i], x, retain_graph=True)[0].numpy() for i in range(2)])
    np.testing.assert_allclose(H, cr.hessian(_f)(x0), rtol=1e-10)
    # Random draws inside the segment are replayed identically during the recomputation.
    x = leaf(np.ones(5))
    y = checkpoint(lambda v: v * cr.rand(5, dtype=cr.float64), x)
    mask = y.detach().numpy()
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), mask)


def test_checkpoint_under_transforms():
    x0 = np.array([0.3, -0.7])
    np.testing.assert_allclose(cr.grad(lambda v: checkpoint(_f, v))(x0), cr.grad(_f)(x0), rtol=1e-12)
    with cr.no_grad():
        assert not checkpoint(_f, leaf(x0)).requires_grad
