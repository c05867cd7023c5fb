"""The Tensor face: construction, factories, introspection, operators, indexing, in-place operations and the
NumPy/PyTorch-style methods, each checked for values (against NumPy) and gradients (against finite differences
or closed forms); Tensors with chainrule.numpy and with the functional transforms."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.tensor import randperm
from chainrule.testing import check_grads

RNG = np.random.default_rng(0)


def fd_grad(f, x, eps=1e-6):
    """Central finite differences of the scalar function ``f`` (array -> float) at the float64 array ``x``."""
    x = np.asarray(x, dtype=np.float64)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = eps
        g[i] = (f(x + e) - f(x - e)) / (2 * eps)
    return g


def check_tensor_grads(fn, *arrays, rtol=1e-5, atol=1e-6):
    """``fn`` maps Tensors to a Tensor. Compare each input's ``.grad`` after ``backward`` of a random weighting of
    the output with finite differences of the same scalar, computed from Tensors that do not require grad."""
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    ts = [cr.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*ts)
    w = np.random.default_rng(1).standard_normal(out.shape)
    (out * cr.tensor(w)).sum().backward()
    for k, (t, a) in enumerate(zip(ts, arrays)):
        def scalar(v, k=k):
            args = [cr.tensor(v if j == k else arrays[j]) for j in range(len(arrays))]
            return float((fn(*args).detach().numpy() * w).sum())
        want = fd_grad(scalar, a)
        assert t.grad is not None, f"input {k} got no gradient"
        assert t.grad.dtype == np.float64 and t.grad.shape == a.shape
        np.testing.assert_allclose(t.grad.numpy(), want, rtol=rtol, atol=atol, err_msg=f"input {k}")


# ---------------------------------------------------------------------------------------------------------
# Construction and factories
# ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("data, dtype", [
    (1.5, np.float32), ([1.0, 2.0], np.float32), ([[1, 2.5]], np.float32), (3, np.int64), ([1, 2], np.int64),
    ([True, False], np.bool_), (1 + 2j, np.complex64), (np.ones(2), np.float64), (np.ones(2, np.float16), np.float16),
    (np.arange(3, dtype=np.int32), np.int32), (np.float64(2.0), np.float64),
])
def test_tensor_dtype_rules(data, dtype):
    t = cr.tensor(data)
    assert t.dtype == dtype
    np.testing.assert_array_equal(t.numpy(), np.asarray(data))


def test_tensor_copies_and_explicit_dtype():
    a = np.ones(3)
    t = cr.tensor(a)
    a[0] = 5.0
    assert t[0].item() == 1.0                          # tensor() copies
    assert cr.from_numpy(a).numpy()[0] == 5.0           # from_numpy shares
    assert cr.tensor([1, 2], dtype=cr.float64).dtype == np.float64
    assert cr.tensor([cr.tensor(1.0), cr.tensor(2.0)]).tolist() == [1.0, 2.0]
    assert cr.tensor(cr.tensor([1.0], dtype=cr.float64)).dtype == np.float64
    t = cr.as_tensor(a)
    assert cr.as_tensor(t) is t


def test_requires_grad_rules():
    t = cr.tensor([1.0], requires_grad=True)
    assert t.requires_grad and t.is_leaf and t.grad is None and t.grad_fn is None
    with pytest.raises(RuntimeError, match="only Tensors of floating point and complex dtype can require gradients"):
        cr.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="only Tensors of floating point .* dtype int64"):
        cr.arange(3).requires_grad_()
    with pytest.raises(RuntimeError, match="only Tensors of floating point"):
        cr.zeros(2, dtype=cr.int64, requires_grad=True)
    y = t * 2
    with pytest.raises(RuntimeError, match="you can only change requires_grad flags of leaf variables"):
        y.requires_grad_(False)
    t.requires_grad = False
    assert not t.requires_grad
    with pytest.raises(TypeError, match="traced by a transform"):
        cr.grad(lambda v: cr.tensor(v).sum())(np.ones(2))


@pytest.mark.parametrize("make, shape, dtype, values", [
    (lambda **k: cr.zeros(2, 3, **k), (2, 3), np.float32, np.zeros((2, 3))),
    (lambda **k: cr.zeros((2, 3), **k), (2, 3), np.float32, np.zeros((2, 3))),
    (lambda **k: cr.ones(4, **k), (4,), np.float32, np.ones(4)),
    (lambda **k: cr.empty(2, **k), (2,), np.float32, None),
    (lambda **k: cr.full((2,), 1.5, **k), (2,), np.float32, np.full(2, 1.5)),
    (lambda **k: cr.arange(0.0, 1.0, 0.25, **k), (4,), np.float32, np.arange(0, 1, 0.25)),
    (lambda **k: cr.linspace(0, 1, 5, **k), (5,), np.float32, np.linspace(0, 1, 5)),
    (lambda **k: cr.eye(3, **k), (3, 3), np.float32, np.eye(3)),
    (lambda **k: cr.eye(2, 3, **k), (2, 3), np.float32, np.eye(2, 3)),
    (lambda **k: cr.rand(3, 2, **k), (3, 2), np.float32, None),
    (lambda **k: cr.randn(5, **k), (5,), np.float32, None),
    (lambda **k: cr.zeros_like(cr.ones(2, 2, dtype=cr.float64), **k), (2, 2), np.float64, np.zeros((2, 2))),
    (lambda **k: cr.ones_like(np.zeros(3), **k), (3,), np.float64, np.ones(3)),
    (lambda **k: cr.full_like(cr.zeros(2), 7.0, **k), (2,), np.float32, np.full(2, 7.0)),
    (lambda **k: cr.empty_like(cr.zeros(2), **k), (2,), np.float32, None),
    (lambda **k: cr.rand_like(cr.zeros(2, 3), **k), (2, 3), np.float32, None),
    (lambda **k: cr.randn_like(cr.zeros(4, dtype=cr.float64), **k), (4,), np.float64, None),
])
@pytest.mark.parametrize("requires_grad", [False, True])
def test_factories(make, shape, dtype, values, requires_grad):
    t = make(requires_grad=requires_grad)
    assert isinstance(t, cr.Tensor) and t.shape == shape and t.dtype == dtype
    assert t.requires_grad is requires_grad and t.is_leaf
    if values is not None:
        np.testing.assert_allclose(t.detach().numpy(), values, rtol=1e-6)


def test_factory_integer_defaults():
    assert cr.arange(4).dtype == np.int64 and cr.arange(4).tolist() == [0, 1, 2, 3]
    assert cr.arange(1, 7, 2).tolist() == [1, 3, 5]
    assert cr.full((2,), 3).dtype == np.int64
    assert cr.full((2,), True).dtype == np.bool_
    assert cr.zeros(2, dtype=cr.float64).dtype == np.float64
    assert cr.randint(0, 5, (10,)).dtype == np.int64
    assert sorted(randperm(5).tolist()) == [0, 1, 2, 3, 4]


def test_random_is_seedable():
    cr.manual_seed(123)
    a, b = cr.rand(4), cr.randn(3)
    cr.manual_seed(123)
    np.testing.assert_array_equal(a.numpy(), cr.rand(4).numpy())
    np.testing.assert_array_equal(b.numpy(), cr.randn(3).numpy())
    g1, g2 = cr.Generator(7), cr.Generator().manual_seed(7)
    np.testing.assert_array_equal(cr.randn(5, generator=g1).numpy(), cr.randn(5, generator=g2).numpy())
    assert not np.array_equal(cr.randn(5, generator=g1).numpy(), cr.randn(5, generator=cr.Generator(8)).numpy())
    u = cr.rand(1000, generator=cr.Generator(0)).numpy()
    assert 0 <= u.min() and u.max() < 1 and abs(u.mean() - 0.5) < 0.05
    n = cr.randn(2000, generator=cr.Generator(0), dtype=cr.float64).numpy()
    assert n.dtype == np.float64 and abs(n.std() - 1) < 0.1


# ---------------------------------------------------------------------------------------------------------
# Introspection
# ---------------------------------------------------------------------------------------------------------

def test_introspection():
    a = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    t = cr.tensor(a)
    assert t.shape == (2, 3) and t.ndim == 2 and t.dim() == 2 and t.dtype == np.float32
    assert t.size == 6 and t.size() == (2, 3) and t.size(1) == 3 and t.numel() == 6
    np.testing.assert_array_equal(t.T.numpy(), a.T)
    assert isinstance(t.numpy(), np.ndarray) and t.tolist() == a.tolist()
    assert len(t) == 2
    rows = list(t)
    assert len(rows) == 2 and all(isinstance(r, cr.Tensor) for r in rows)
    np.testing.assert_array_equal(rows[1].numpy(), a[1])
    assert t.sum().item() == 15.0 and isinstance(t.sum().item(), float)
    with pytest.raises(RuntimeError, match="a Tensor with 6 elements cannot be converted to Scalar"):
        t.item()
    with pytest.raises(TypeError, match="len"):
        len(cr.tensor(1.0))
    assert float(cr.tensor(2.5)) == 2.5 and int(cr.tensor(3)) == 3
    assert f"{cr.tensor(2.0):.2f}" == "2.00"


def test_repr():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == "tensor([1., 2.], requires_grad=True)"
    assert repr(x * 2) == "tensor([2., 4.], grad_fn=<MulBackward0>)"
    assert repr((x * 2).sum()) == "tensor(6., grad_fn=<SumBackward0>)"
    assert repr(cr.tensor([1, 2])) == "tensor([1, 2])"
    assert repr(cr.tensor([1.0], dtype=cr.float64)) == "tensor([1.], dtype=float64)"
    with cr.no_grad():
        assert repr(x * 2) == "tensor([2., 4.])"


def test_numpy_refuses_tensor_that_requires_grad():
    x = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Can't call numpy\(\) on Tensor that requires grad"):
        x.numpy()
    with pytest.raises(RuntimeError, match="requires grad"):
        np.asarray(x)
    assert x.detach().numpy()[0] == 1.0


# ---------------------------------------------------------------------------------------------------------
# Operators
# ---------------------------------------------------------------------------------------------------------

A = RNG.uniform(0.5, 2.0, (3, 4))
B = RNG.uniform(0.5, 2.0, (3, 4))

BINARY = {
    "add": (lambda a, b: a + b, np.add), "sub": (lambda a, b: a - b, np.subtract),
    "mul": (lambda a, b: a * b, np.multiply), "div": (lambda a, b: a / b, np.divide),
    "pow": (lambda a, b: a ** b, np.power), "maximum": (lambda a, b: a.maximum(b), np.maximum),
    "minimum": (lambda a, b: a.minimum(b), np.minimum),
}


@pytest.mark.parametrize("name", list(BINARY))
@pytest.mark.parametrize("other", ["tensor", "broadcast", "scalar", "rscalar", "array"])
def test_binary_operator_values_and_grads(name, other):
    op, ref = BINARY[name]
    if other == "tensor":
        np.testing.assert_allclose(op(cr.tensor(A), cr.tensor(B)).numpy(), ref(A, B))
        check_tensor_grads(op, A, B)
    elif other == "broadcast":
        b = B[0]
        np.testing.assert_allclose(op(cr.tensor(A), cr.tensor(b)).numpy(), ref(A, b))
        check_tensor_grads(op, A, b)
    elif other == "scalar":
        np.testing.assert_allclose(op(cr.tensor(A), 1.5).numpy(), ref(A, 1.5))
        check_tensor_grads(lambda a: op(a, 1.5), A)
        check_tensor_grads(lambda a: op(a, 2), A)
    elif other == "rscalar" and name not in ("maximum", "minimum"):
        np.testing.assert_allclose(op(1.5, cr.tensor(A)).numpy(), ref(1.5, A))
        check_tensor_grads(lambda a: op(1.5, a), A)
    elif other == "array":
        np.testing.assert_allclose(op(cr.tensor(A), B).numpy(), ref(A, B))
        check_tensor_grads(lambda a: op(a, B), A)
        if name not in ("maximum", "minimum"):
            out = op(B, cr.tensor(A))   # NumPy array on the left dispatches to the Tensor
            assert isinstance(out, cr.Tensor)
            np.testing.assert_allclose(out.numpy(), ref(B, A))


def test_operator_closed_forms():
    x = cr.tensor([1.0, 2.0, 3.0], dtype=cr.float64, requires_grad=True)
    y = cr.tensor([4.0, 5.0, 6.0], dtype=cr.float64, requires_grad=True)
    (x * y + x / y - x ** 2 + 2 ** x - (-y) + abs(x - 5)).sum().backward()
    xv, yv = x.detach().numpy(), y.detach().numpy()
    np.testing.assert_allclose(x.grad.numpy(), yv + 1 / yv - 2 * xv + 2 ** xv * np.log(2) - 1)
    np.testing.assert_allclose(y.grad.numpy(), xv - xv / yv ** 2 + 1)


def test_floordiv_mod_matmul_neg_abs():
    a = cr.tensor(A)
    np.testing.assert_allclose((a // 0.7).numpy(), A // 0.7)
    np.testing.assert_allclose((a % 0.7).numpy(), A % 0.7)
    np.testing.assert_allclose((-a).numpy(), -A)
    np.testing.assert_allclose(abs(a - 1).numpy(), np.abs(A - 1))
    np.testing.assert_allclose((a @ cr.tensor(B.T)).numpy(), A @ B.T)
    np.testing.assert_allclose(a.matmul(cr.tensor(B[0])).numpy(), A @ B[0])
    check_tensor_grads(lambda a, b: a @ b, A, B.T)
    check_tensor_grads(lambda a, b: a.matmul(b), A, B[0])
    check_tensor_grads(lambda a: a % 0.7, A)
    check_tensor_grads(lambda a: -a, A)
    check_tensor_grads(lambda a: abs(a - 1.25), A)
    x = cr.tensor(A, requires_grad=True)
    assert not (x // 0.7).requires_grad   # floor division is not differentiable


@pytest.mark.parametrize("sa, sb", [((3, 1), (1, 4)), ((3, 4), (4,)), ((4,), (3, 4)), ((1,), (2, 3, 4)),
                                     ((2, 1, 4), (3, 1))])
@pytest.mark.parametrize("which", ["both", "left", "right"])
@pytest.mark.parametrize("name", ["add", "sub", "mul", "div"])
def test_broadcasting_binary_ops(sa, sb, which, name):
    op, ref = BINARY[name]
    a, b = RNG.uniform(0.5, 2.0, sa), RNG.uniform(0.5, 2.0, sb)
    out = op(cr.tensor(a, requires_grad=which != "right"), cr.tensor(b, requires_grad=which != "left"))
    np.testing.assert_allclose(out.detach().numpy(), ref(a, b))
    if which == "both":
        check_tensor_grads(op, a, b)
    elif which == "left":
        check_tensor_grads(lambda x: op(x, cr.tensor(b)), a)
    else:
        check_tensor_grads(lambda y: op(cr.tensor(a), y), b)
    with pytest.raises(ValueError, match=r"operands could not be broadcast together: shapes \(3,\) and \(4,\)"):
        op(cr.ones(3, requires_grad=True), cr.ones(4, requires_grad=True))


@pytest.mark.parametrize("sa, sb", [((4,), (4, 3)), ((4,), (4,)), ((3, 4), (4,)), ((3, 4), (4, 2)),
                                     ((2, 3, 4), (4, 5)), ((5, 4), (2, 4, 3))])
@pytest.mark.parametrize("which", ["both", "left", "right", "array"])
def test_matmul_shapes_and_gradients(sa, sb, which):
    a, b = RNG.standard_normal(sa), RNG.standard_normal(sb)
    out = cr.tensor(a, requires_grad=which != "right") @ (b if which == "array" else
                                                          cr.tensor(b, requires_grad=which != "left"))
    np.testing.assert_allclose(out.detach().numpy(), a @ b, rtol=1e-12)
    if which == "both":
        check_tensor_grads(lambda x, y: x @ y, a, b)
    elif which in ("left", "array"):
        check_tensor_grads(lambda x: x @ (b if which == "array" else cr.tensor(b)), a)
    else:
        check_tensor_grads(lambda y: cr.tensor(a) @ y, b)
        check_tensor_grads(lambda y: a @ y, b)   # NumPy array on the left
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 3\) and \(2, 3\) are not aligned"):
        cr.ones(2, 3, requires_grad=which != "right") @ cr.ones(2, 3, requires_grad=which == "right")


@pytest.mark.parametrize("op, ref", [
    (lambda a, b: a < b, np.less), (lambda a, b: a <= b, np.less_equal), (lambda a, b: a > b, np.greater),
    (lambda a, b: a >= b, np.greater_equal), (lambda a, b: a == b, np.equal), (lambda a, b: a != b, np.not_equal),
])
def test_comparisons_are_boolean_and_not_differentiable(op, ref):
    x = cr.tensor(A, requires_grad=True)
    for other, raw in ((cr.tensor(B), B), (1.0, 1.0), (B, B), (cr.tensor(B[0]), B[0])):
        out = op(x, other)
        assert out.dtype == np.bool_ and not out.requires_grad and out.is_leaf
        np.testing.assert_array_equal(out.numpy(), ref(A, raw))
    assert (x == None) is False and (x != None) is True  # noqa: E711


def test_fast_paths_agree_with_general_path():
    """Tensor operators take shortcuts (NOTE: [Tensor fast paths]); dtypes and values must match NumPy's."""
    f32 = cr.tensor([1.0, 2.0])
    i64 = cr.tensor([1, 2])
    f64 = cr.tensor([1.0], dtype=cr.float64)
    cases = [(f32 + 1, np.float32), (f32 * 2.5, np.float32), (i64 + 1, np.int64), (i64 * 2.5, np.float64),
             (i64 / 2, np.float64), (f32 + np.ones(2), np.float64), (f32 + f64, np.float64),
             (f32 + np.float64(1.0), np.float64), (f32 ** 2, np.float32), (i64 ** 2, np.int64),
             (2.0 ** f32, np.float32), (True + f32, np.float32),
             (f32 + [1.0, 2.0], np.float64)]  # a list is a float64 array, as in NumPy
    for out, dtype in cases:
        assert isinstance(out, cr.Tensor) and out.dtype == dtype, (out, dtype)
    # The same dtypes when something is recorded (the recording fast paths).
    g32 = cr.tensor([1.0, 2.0], requires_grad=True)
    cases = [(g32 + 1, np.float32), (g32 * 2.5, np.float32), (g32 + np.ones(2), np.float64), (g32 + f64, np.float64),
             (g32 + np.float64(1.0), np.float64), (g32 ** 2, np.float32), (2.0 ** g32, np.float32),
             (g32 @ cr.ones(2, 3), np.float32), (g32 @ cr.ones(2, 3, dtype=cr.float64), np.float64)]
    for out, dtype in cases:
        assert isinstance(out, cr.Tensor) and out.dtype == dtype, (out, dtype)
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    for out in (x + 1, 1 + x, x * 2, x - x, x / cr.tensor([2.0]), x + np.ones(2, np.float32), x ** 3):
        assert out.requires_grad and out.dtype == np.float32
    y = x * np.float64(2.0)   # promotes: recorded through astype, gradient comes back as float32
    assert y.dtype == np.float64
    y.sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [2.0, 2.0]


# ---------------------------------------------------------------------------------------------------------
# Indexing
# ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("idx", [
    (slice(1, None),), (1,), (slice(None), 2), (Ellipsis, slice(0, 4, 2)), (np.array([0, 2, 2]),),
    (np.array([0, 1]), np.array([3, 3])), (None, 1), "mask", "tensor_index", "tensor_mask",
], ids=str)
def test_indexing(idx):
    a = A.copy()
    mask = A > 1.0
    if isinstance(idx, str):
        idx_t, idx_np = {"mask": (mask, mask), "tensor_index": (cr.tensor([2, 0, 2]), np.array([2, 0, 2])),
                         "tensor_mask": (cr.tensor(mask), mask)}[idx]
    else:
        idx_t = idx_np = idx
    np.testing.assert_allclose(cr.tensor(a)[idx_t].numpy(), a[idx_np])
    check_tensor_grads(lambda t: t[idx_t], a)


def test_indexing_gradient_accumulates_repeats():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[cr.tensor([0, 0, 2])].sum().backward()
    assert x.grad.tolist() == [2.0, 0.0, 1.0]


# ---------------------------------------------------------------------------------------------------------
# In-place operations
# ---------------------------------------------------------------------------------------------------------

def test_inplace_values_and_versions():
    t = cr.tensor([1.0, 2.0])
    v = t._version
    t += 1
    t -= 0.5
    t *= 4
    t /= 2
    assert t.tolist() == [3.0, 5.0] and t._version == v + 4 and t.dtype == np.float32
    t[0] = 10.0
    assert t.tolist() == [10.0, 5.0]
    t.zero_()
    assert t.tolist() == [0.0, 0.0]
    t.fill_(3)
    assert t.tolist() == [3.0, 3.0] and t._version == v + 7
    i = cr.tensor([1, 2])
    i += 1
    assert i.dtype == np.int64
    with pytest.raises(RuntimeError, match="result type float64 can't be cast to the desired output type int64"):
        i += 0.5
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        t += cr.ones(3, 2)


def test_inplace_ops_are_differentiable():
    w = cr.tensor([1.0, 2.0, 3.0], dtype=cr.float64, requires_grad=True)
    u = w * 1.0
    u += w ** 2           # u = w + w^2
    u *= 3                # u = 3 w + 3 w^2
    u -= w                # 2 w + 3 w^2
    u /= 2                # w + 1.5 w^2
    u[0] = w[1] * 5       # u[0] = 5 w1
    u.sum().backward()
    wv = np.array([1.0, 2.0, 3.0])
    expect = 1 + 3 * wv
    expect[0] = 0.0
    expect[1] += 5
    np.testing.assert_allclose(w.grad.numpy(), expect)
    assert u.grad_fn is not None and not u.is_leaf


def test_setitem_makes_untracked_tensor_part_of_the_graph():
    w = cr.tensor([2.0], requires_grad=True)
    buf = cr.zeros(3)
    buf[1:2] = w * 3
    assert buf.requires_grad and not buf.is_leaf
    (buf * cr.tensor([1.0, 10.0, 100.0])).sum().backward()
    assert w.grad.tolist() == [30.0]


def test_zero_and_fill_on_graph_tensor_give_zero_gradient():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    u = w * 1
    u.zero_()
    assert u.requires_grad
    (u * 3 + w).sum().backward()
    assert w.grad.tolist() == [1.0, 1.0]
    w.grad = None
    v = w * 1
    v.fill_(7.0)
    (v * w).sum().backward()
    assert v.tolist() == [7.0, 7.0] and w.grad.tolist() == [7.0, 7.0]


def test_inplace_on_leaf_requiring_grad_is_refused_but_allowed_under_no_grad():
    w = cr.tensor([1.0], requires_grad=True)
    for op in (lambda: w.add_(1), lambda: w.__iadd__(1), lambda: w.__setitem__(0, 2.0), lambda: w.zero_(),
               lambda: w.fill_(2.0), lambda: w.mul_(2)):
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place "
                                               "operation"):
            op()
    with cr.no_grad():
        w -= 0.5
        w.mul_(4)
    assert w.tolist() == [2.0] and w.requires_grad and w.is_leaf


# ---------------------------------------------------------------------------------------------------------
# Methods: NumPy-style (axis, keepdims) and PyTorch-style (dim, keepdim)
# ---------------------------------------------------------------------------------------------------------

X = RNG.uniform(0.5, 2.0, (3, 4))
Y = RNG.uniform(0.5, 2.0, (3, 4))
X3 = RNG.uniform(0.5, 2.0, (2, 3, 4))
IDX = np.array([[0, 3], [1, 1], [2, 0]])
IDX0 = np.array([[0, 2, 1, 0], [2, 2, 0, 1]])
W = X + np.arange(12).reshape(3, 4) * 0.1   # distinct values: max/min/argmax have a unique winner


def _scatter_add_ref(a, dim, idx, src):
    out = a.copy()
    grid = list(np.indices(idx.shape, sparse=True))
    grid[dim] = idx
    np.add.at(out, tuple(grid), src)
    return out


def _unfold_ref(a, dim, size, step):
    win = np.lib.stride_tricks.sliding_window_view(a, size, axis=dim)
    return np.take(win, np.arange(0, win.shape[dim], step), axis=dim)


METHODS = [
    # (id, method on one Tensor, NumPy reference, input)
    ("sum", lambda t: t.sum(), lambda a: a.sum(), X),
    ("sum-dim", lambda t: t.sum(dim=1), lambda a: a.sum(1), X),
    ("sum-axis-keepdims", lambda t: t.sum(axis=0, keepdims=True), lambda a: a.sum(0, keepdims=True), X),
    ("sum-dims-keepdim", lambda t: t.sum(dim=(0, 2), keepdim=True), lambda a: a.sum((0, 2), keepdims=True), X3),
    ("mean-dim", lambda t: t.mean(dim=1), lambda a: a.mean(1), X),
    ("mean-axis", lambda t: t.mean(axis=0, keepdims=True), lambda a: a.mean(0, keepdims=True), X),
    ("max", lambda t: t.max(), lambda a: a.max(), W),
    ("max-dim", lambda t: t.max(dim=1).values, lambda a: a.max(1), W),
    ("max-positional", lambda t: t.max(0)[0], lambda a: a.max(0), W),
    ("max-axis", lambda t: t.max(axis=1, keepdims=True), lambda a: a.max(1, keepdims=True), W),
    ("min-dim", lambda t: t.min(dim=0, keepdim=True).values, lambda a: a.min(0, keepdims=True), W),
    ("min-axis", lambda t: t.min(axis=1), lambda a: a.min(1), W),
    ("amax", lambda t: t.amax(dim=1), lambda a: a.max(1), W),
    ("prod", lambda t: t.prod(dim=1), lambda a: a.prod(1), X),
    ("prod-axis", lambda t: t.prod(axis=0, keepdims=True), lambda a: a.prod(0, keepdims=True), X),
    ("var", lambda t: t.var(), lambda a: a.var(ddof=1), X),
    ("var-dim-biased", lambda t: t.var(dim=1, unbiased=False), lambda a: a.var(1), X),
    ("var-axis-ddof", lambda t: t.var(axis=0, ddof=0, keepdims=True), lambda a: a.var(0, keepdims=True), X),
    ("var-correction", lambda t: t.var(dim=0, correction=0), lambda a: a.var(0), X),
    ("std", lambda t: t.std(dim=1), lambda a: a.std(1, ddof=1), X),
    ("std-axis", lambda t: t.std(axis=0, ddof=0), lambda a: a.std(0), X),
    ("logsumexp", lambda t: t.logsumexp(dim=1), lambda a: np.log(np.exp(a).sum(1)), X),
    ("logsumexp-axis", lambda t: t.logsumexp(axis=0, keepdims=True),
     lambda a: np.log(np.exp(a).sum(0, keepdims=True)), X),
    ("softmax", lambda t: t.softmax(dim=1), lambda a: np.exp(a) / np.exp(a).sum(1, keepdims=True), X),
    ("softmax-axis", lambda t: t.softmax(axis=0), lambda a: np.exp(a) / np.exp(a).sum(0, keepdims=True), X),
    ("log_softmax", lambda t: t.log_softmax(dim=0), lambda a: a - np.log(np.exp(a).sum(0, keepdims=True)), X),
    ("log_softmax-default", lambda t: t.log_softmax(-1), lambda a: a - np.log(np.exp(a).sum(-1, keepdims=True)), X),
    ("reshape", lambda t: t.reshape(4, 3), lambda a: a.reshape(4, 3), X),
    ("reshape-tuple", lambda t: t.reshape((2, -1)), lambda a: a.reshape(2, -1), X),
    ("view", lambda t: t.view(-1), lambda a: a.reshape(-1), X),
    ("view-2", lambda t: t.view(6, 2), lambda a: a.reshape(6, 2), X),
    ("expand", lambda t: t[:, :1].expand(3, 5), lambda a: np.broadcast_to(a[:, :1], (3, 5)), X),
    ("expand-minus-one", lambda t: t[:1].expand(2, -1, -1), lambda a: np.broadcast_to(a[:1], (2, 1, 4)), X),
    ("permute", lambda t: t.permute(2, 0, 1), lambda a: a.transpose(2, 0, 1), X3),
    ("permute-tuple", lambda t: t.permute((1, 0)), lambda a: a.T, X),
    ("transpose-2d", lambda t: t.transpose(0, 1), lambda a: a.T, X),
    ("transpose-3d", lambda t: t.transpose(0, 2), lambda a: a.swapaxes(0, 2), X3),
    ("T", lambda t: t.T, lambda a: a.T, X),
    ("flatten", lambda t: t.flatten(), lambda a: a.reshape(-1), X3),
    ("flatten-start", lambda t: t.flatten(1), lambda a: a.reshape(2, 12), X3),
    ("flatten-range", lambda t: t.flatten(0, 1), lambda a: a.reshape(6, 4), X3),
    ("squeeze", lambda t: t[:1].squeeze(), lambda a: a[0], X),
    ("squeeze-dim", lambda t: t[:, :1].squeeze(dim=1), lambda a: a[:, 0], X),
    ("squeeze-non-one", lambda t: t.squeeze(0), lambda a: a, X),
    ("unsqueeze", lambda t: t.unsqueeze(0), lambda a: a[None], X),
    ("unsqueeze-neg", lambda t: t.unsqueeze(-1), lambda a: a[..., None], X),
    ("repeat", lambda t: t.repeat(2, 3), lambda a: np.tile(a, (2, 3)), X),
    ("gather", lambda t: t.gather(1, cr.tensor(IDX)), lambda a: np.take_along_axis(a, IDX, 1), X),
    ("gather-dim0", lambda t: t.gather(0, cr.tensor(IDX0)), lambda a: np.take_along_axis(a, IDX0, 0), X),
    ("scatter_add", lambda t: t.scatter_add(1, cr.tensor(IDX), cr.ones(3, 2, dtype=cr.float64) * 2),
     lambda a: _scatter_add_ref(a, 1, IDX, np.full((3, 2), 2.0)), X),
    ("index_select", lambda t: t.index_select(1, cr.tensor([3, 0, 3])), lambda a: a[:, [3, 0, 3]], X),
    ("masked_fill", lambda t: t.masked_fill(cr.tensor(X > 1), -1.0), lambda a: np.where(X > 1, -1.0, a), X),
    ("where", lambda t: t.where(cr.tensor(X > 1), 0.5), lambda a: np.where(X > 1, a, 0.5), X),
    ("clamp", lambda t: t.clamp(min=0.8, max=1.5), lambda a: np.clip(a, 0.8, 1.5), X),
    ("clamp-min", lambda t: t.clamp(min=1.0), lambda a: np.maximum(a, 1.0), X),
    ("clip", lambda t: t.clip(0.8, 1.5), lambda a: np.clip(a, 0.8, 1.5), X),
    ("exp", lambda t: t.exp(), np.exp, X),
    ("log", lambda t: t.log(), np.log, X),
    ("sqrt", lambda t: t.sqrt(), np.sqrt, X),
    ("tanh", lambda t: t.tanh(), np.tanh, X),
    ("sigmoid", lambda t: t.sigmoid(), lambda a: 1 / (1 + np.exp(-a)), X),
    ("relu", lambda t: (t - 1.2).relu(), lambda a: np.maximum(a - 1.2, 0), X),
    ("sin-cos", lambda t: t.sin() * t.cos(), lambda a: np.sin(a) * np.cos(a), X),
    ("pad", lambda t: t.pad(((1, 0), (2, 1))), lambda a: np.pad(a, ((1, 0), (2, 1))), X),
    ("pad-value", lambda t: t.pad(1, value=3.0), lambda a: np.pad(a, 1, constant_values=3.0), X),
    ("roll", lambda t: t.roll(1, 0), lambda a: np.roll(a, 1, 0), X),
    ("roll-multi", lambda t: t.roll((1, -2), (0, 1)), lambda a: np.roll(a, (1, -2), (0, 1)), X),
    ("roll-flat", lambda t: t.roll(5), lambda a: np.roll(a, 5), X),
    ("unfold", lambda t: t.unfold(1, 2, 1), lambda a: _unfold_ref(a, 1, 2, 1), X),
    ("unfold-step", lambda t: t.unfold(1, 2, 2), lambda a: _unfold_ref(a, 1, 2, 2), X),
    ("unfold-dim0", lambda t: t.unfold(0, 2, 1), lambda a: _unfold_ref(a, 0, 2, 1), X),
    ("maximum", lambda t: t.maximum(cr.tensor(Y)), lambda a: np.maximum(a, Y), X),
    ("minimum", lambda t: t.minimum(cr.tensor(Y)), lambda a: np.minimum(a, Y), X),
    ("matmul", lambda t: t.matmul(cr.tensor(Y.T)), lambda a: a @ Y.T, X),
    ("astype", lambda t: t.astype(np.float32), lambda a: a.astype(np.float32), X),
    ("to", lambda t: t.to(cr.float32), lambda a: a.astype(np.float32), X),
    ("clone", lambda t: t.clone() * 2, lambda a: a * 2, X),
    ("cumsum", lambda t: t.cumsum(dim=1), lambda a: a.cumsum(1), X),
    ("norm", lambda t: t.norm(), np.linalg.norm, X),
    ("t", lambda t: t.t(), lambda a: a.T, X),
]


@pytest.mark.parametrize("fn, ref, x", [m[1:] for m in METHODS], ids=[m[0] for m in METHODS])
def test_method_values_and_gradients(fn, ref, x):
    out = fn(cr.tensor(x))
    want = ref(x)
    assert isinstance(out, cr.Tensor)
    assert out.shape == np.shape(want)
    rtol = 1e-6
    np.testing.assert_allclose(out.numpy(), want, rtol=rtol, atol=1e-7)
    if out.dtype == np.float64:
        check_tensor_grads(fn, x)


@pytest.mark.parametrize("cast", [lambda t: t.astype(np.float32), lambda t: t.to(cr.float32), lambda t: t.float(),
                                  lambda t: cr.numpy.astype(t, "float32")])
def test_cast_gradient_comes_back_in_the_input_dtype(cast):
    x = cr.tensor(X, requires_grad=True)
    y = cast(x)
    assert y.dtype == np.float32 and y.requires_grad
    (y * cr.tensor(Y, dtype=cr.float32)).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_allclose(x.grad.numpy(), Y.astype(np.float32), rtol=1e-7)
    assert not x.to(cr.int64).requires_grad   # an integer cast cuts the graph


@pytest.mark.parametrize("fn, ref", [
    (lambda t: t.argmax(), lambda a: a.argmax()), (lambda t: t.argmax(dim=1), lambda a: a.argmax(1)),
    (lambda t: t.argmax(axis=0, keepdims=True), lambda a: a.argmax(0, keepdims=True)),
    (lambda t: t.argmin(dim=1, keepdim=True), lambda a: a.argmin(1, keepdims=True)),
    (lambda t: t.argmin(axis=0), lambda a: a.argmin(0)), (lambda t: t.max(dim=1).indices, lambda a: a.argmax(1)),
    (lambda t: t.min(1)[1], lambda a: a.argmin(1)),
])
def test_arg_methods(fn, ref):
    out = fn(cr.tensor(W, requires_grad=True))
    assert not out.requires_grad and out.dtype.kind == "i"
    np.testing.assert_array_equal(out.numpy(), ref(W))


def test_scatter_add_gradient_to_source():
    src = RNG.uniform(size=(3, 2))
    check_tensor_grads(lambda t, s: t.scatter_add(1, cr.tensor(IDX), s), X, src)


def test_where_and_maximum_functions_and_stack_cat():
    cond = X > 1.0
    check_tensor_grads(lambda a, b: cnp.where(cr.tensor(cond), a, b), X, Y)
    for stack in (cr.stack, cnp.stack):
        out = stack([cr.tensor(X), cr.tensor(Y)], 1)
        np.testing.assert_allclose(out.numpy(), np.stack([X, Y], 1))
        check_tensor_grads(lambda a, b: stack([a, b * 2], 1), X, Y)
    out = cr.cat([cr.tensor(X), cr.tensor(Y[:1])], dim=0)
    np.testing.assert_allclose(out.numpy(), np.concatenate([X, Y[:1]]))
    check_tensor_grads(lambda a, b: cr.cat([a, b], dim=1), X, Y)
    check_tensor_grads(lambda a, b: cr.stack([a, b], dim=-1), X, Y)


def test_detach_and_clone():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.is_leaf
    c = x.clone()
    assert c.requires_grad and c.grad_fn.name() == "CloneBackward0"
    (c * 3 + d).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


# ---------------------------------------------------------------------------------------------------------
# chainrule.numpy and the transforms on Tensors and Tensor-method functions
# ---------------------------------------------------------------------------------------------------------

def test_chainrule_numpy_accepts_and_returns_tensors():
    x = cr.tensor(X, requires_grad=True)
    for out in (cnp.sin(x), cnp.sum(x, axis=0), cnp.exp(x) @ cnp.ones(4), cnp.concatenate([x, x]),
                cnp.reshape(x, (12,)), cnp.maximum(x, 1.0), cnp.mean(x), np.sin(x), np.sum(x)):
        assert isinstance(out, cr.Tensor) and out.requires_grad
    cnp.sum(cnp.tanh(x) * cnp.sin(x)).backward()
    np.testing.assert_allclose(x.grad.numpy(), (1 - np.tanh(X) ** 2) * np.sin(X) + np.tanh(X) * np.cos(X))


def _mlp_loss(w, x):
    """A function written with Tensor methods only."""
    h = (x @ w).tanh()
    return h.softmax(dim=-1).log().mean() + (w * w).sum(dim=0).sqrt().sum()


def _as_tensor(v):
    return v if isinstance(v, cr.core.trace.Tracer) else cr.from_numpy(v)


def test_transforms_accept_functions_written_with_tensor_methods():
    w = RNG.standard_normal((4, 3))
    x = RNG.standard_normal((5, 4))
    # Under a transform the function receives tracers (which have the Tensor methods); called directly by
    # check_grads' finite differences it gets a Tensor.
    check_grads(lambda w: _mlp_loss(_as_tensor(w), cr.tensor(x)), (w,), order=2, modes=("fwd", "rev"))
    g = cr.grad(_mlp_loss)(w, x)
    t = cr.tensor(w, requires_grad=True)
    _mlp_loss(t, cr.tensor(x)).backward()
    np.testing.assert_allclose(t.grad.numpy(), g, rtol=1e-10)
    per_example = cr.vmap(cr.grad(_mlp_loss), in_axes=(None, 0))(w, x[:, None, :])
    for i in range(5):
        np.testing.assert_allclose(per_example[i], cr.grad(_mlp_loss)(w, x[i:i + 1]), rtol=1e-10)
    # Tensors passed to a transform: values and gradients as for arrays.
    gt = cr.grad(_mlp_loss)(cr.tensor(w), cr.tensor(x))
    assert isinstance(gt, cr.Tensor)
    np.testing.assert_allclose(gt.numpy(), g, rtol=1e-10)
    _, tangent = cr.jvp(lambda w: _mlp_loss(w, x), (w,), (np.ones_like(w),))
    np.testing.assert_allclose(tangent, g.sum(), rtol=1e-8)


def _torch_style(x):
    """PyTorch spellings that tracers understand as well."""
    n, d = x.size(0), x.dim()
    y = x.float().to(cr.float64).add(x, alpha=2).sub(x.detach(), alpha=0.5) * x.clone().contiguous()
    return y.sum() / (n * x.numel()) + d + x.size()[0]


def test_pytorch_spellings_under_transforms():
    x0 = np.array([0.5, -1.0, 2.0])
    want = 5.5 * x0 / 9                           # d/dx of (3 x - 0.5 stop(x)) x / 9
    np.testing.assert_allclose(cr.grad(_torch_style)(x0), want)
    x = cr.tensor(x0, requires_grad=True)
    _torch_style(x).backward()
    np.testing.assert_allclose(x.grad.numpy(), want)
    np.testing.assert_allclose(cr.vmap(_torch_style)(np.stack([x0, x0])), [_torch_style(cr.tensor(x0)).item()] * 2)


def test_grad_of_tensor_that_requires_grad_records_the_transform():
    """A transform over a Tensor that requires grad is itself recorded: its result can be backpropagated."""
    x = cr.tensor([0.3, 0.7], dtype=cr.float64, requires_grad=True)
    g = cr.grad(lambda v: (v.sin() * v).sum())(x)     # g = cos(x) x + sin(x)
    assert g.requires_grad
    g.sum().backward()                                 # d/dx = -sin(x) x + 2 cos(x)
    xv = np.array([0.3, 0.7])
    np.testing.assert_allclose(x.grad.numpy(), -np.sin(xv) * xv + 2 * np.cos(xv))


def test_sort_returns_values_and_indices_and_differentiates():
    t = cr.tensor([3.0, 1.0, 2.0], requires_grad=True)
    values, indices = t.sort(descending=True)
    np.testing.assert_array_equal(values.detach().numpy(), [3.0, 2.0, 1.0])
    np.testing.assert_array_equal(indices.numpy(), [0, 2, 1])
    (values * cr.tensor([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), [1.0, 3.0, 2.0])  # each weight lands on its source element


def test_repeat_interleave_matches_numpy_repeat():
    t = cr.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    out = t.repeat_interleave(2, dim=0)
    np.testing.assert_array_equal(out.detach().numpy(), np.repeat(t.detach().numpy(), 2, axis=0))
    out.sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), np.full((2, 2), 2.0))


def test_split_chunk_unbind_follow_pytorch():
    t = cr.arange(10.0).reshape(2, 5)
    assert [p.shape for p in t.split(2, dim=1)] == [(2, 2), (2, 2), (2, 1)]
    assert [p.shape for p in t.split([1, 4], dim=1)] == [(2, 1), (2, 4)]
    assert [p.shape for p in t.chunk(2, dim=1)] == [(2, 3), (2, 2)]
    rows = t.unbind(0)
    assert len(rows) == 2 and rows[1].shape == (5,)
    np.testing.assert_array_equal(rows[1].numpy(), np.arange(5.0, 10.0))
    with pytest.raises(ValueError, match="do not add up to 5"):
        t.split([1, 1], dim=1)
    w = cr.tensor(np.arange(6.0), requires_grad=True)
    a, b = w.split(3)
    (a * 2 + b * 3).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [2, 2, 2, 3, 3, 3])
